-- Children's records: involvement (the legitimate relationship), allocation, markings,
-- break-glass grants, concerns with triage, and the chronology (PostgreSQL).
-- Keep in step with ../sqlite/0003_cases.sql.

CREATE TABLE involvements (
    person_id  UUID    NOT NULL REFERENCES people (id),
    org_id     UUID    NOT NULL REFERENCES organisations (id),
    reason     TEXT    NOT NULL CHECK (reason IN ('raised_concern', 'holds_case', 'referral', 'plan_action', 'mace_item', 'recorded')),
    is_lead    BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, org_id, reason)
);

CREATE INDEX involvements_org_idx ON involvements (org_id, person_id);

CREATE TABLE allocations (
    person_id  UUID    NOT NULL REFERENCES people (id),
    user_id    UUID    NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    ended_at   TIMESTAMPTZ,
    PRIMARY KEY (person_id, user_id)
);

CREATE INDEX allocations_user_idx ON allocations (user_id, person_id);

CREATE TABLE record_markings (
    person_id  UUID    NOT NULL REFERENCES people (id),
    marking    TEXT    NOT NULL CHECK (marking IN ('police_only', 'staff_involved')),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, marking)
);

CREATE TABLE restricted_clearances (
    person_id  UUID    NOT NULL REFERENCES people (id),
    user_id    UUID    NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, user_id)
);

CREATE TABLE break_glass (
    id         UUID    NOT NULL PRIMARY KEY,
    person_id  UUID    NOT NULL REFERENCES people (id),
    user_id    UUID    NOT NULL REFERENCES users (id),
    org_id     UUID    NOT NULL REFERENCES organisations (id),
    reason     TEXT    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX break_glass_user_idx ON break_glass (user_id, person_id, expires_at);
CREATE INDEX break_glass_person_idx ON break_glass (person_id, created_at);

CREATE TABLE concerns (
    id                 UUID    NOT NULL PRIMARY KEY,
    person_id          UUID    NOT NULL REFERENCES people (id),
    raised_by_user     UUID    NOT NULL REFERENCES users (id),
    raised_by_org      UUID    NOT NULL REFERENCES organisations (id),
    status             TEXT    NOT NULL CHECK (status IN ('submitted', 'triaged')),
    observed_at        TIMESTAMPTZ,
    location           TEXT    NOT NULL,
    narrative          TEXT    NOT NULL,
    exploitation_types TEXT    NOT NULL,
    child_words        TEXT    NOT NULL,
    others_present     TEXT    NOT NULL,
    actions_taken      TEXT    NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    decision           TEXT,
    rationale          TEXT,
    decided_by         UUID    REFERENCES users (id),
    decided_at         TIMESTAMPTZ
);

CREATE INDEX concerns_triage_idx ON concerns (raised_by_org, status, created_at);
CREATE INDEX concerns_raiser_idx ON concerns (raised_by_user, created_at);
CREATE INDEX concerns_person_idx ON concerns (person_id);

CREATE TABLE chronology (
    id          UUID    NOT NULL PRIMARY KEY,
    person_id   UUID    NOT NULL REFERENCES people (id),
    kind        TEXT    NOT NULL,
    source_id   UUID    NOT NULL,
    org_id      UUID    NOT NULL REFERENCES organisations (id),
    event_at    TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    summary     TEXT    NOT NULL
);

CREATE INDEX chronology_person_idx ON chronology (person_id, event_at);
CREATE INDEX people_given_idx ON people (given_name_folded);
