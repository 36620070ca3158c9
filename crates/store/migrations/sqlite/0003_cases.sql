-- Children's records: involvement (the legitimate relationship), allocation, markings,
-- break-glass grants, concerns with triage, and the chronology (SQLite).
-- Keep in step with ../postgres/0003_cases.sql.

CREATE TABLE involvements (
    person_id  BLOB    NOT NULL REFERENCES people (id),
    org_id     BLOB    NOT NULL REFERENCES organisations (id),
    reason     TEXT    NOT NULL CHECK (reason IN ('raised_concern', 'holds_case', 'referral', 'plan_action', 'mace_item', 'recorded')),
    is_lead    INTEGER NOT NULL CHECK (is_lead IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (person_id, org_id, reason)
) STRICT;

CREATE INDEX involvements_org_idx ON involvements (org_id, person_id);

CREATE TABLE allocations (
    person_id  BLOB    NOT NULL REFERENCES people (id),
    user_id    BLOB    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    ended_at   INTEGER,
    PRIMARY KEY (person_id, user_id)
) STRICT;

CREATE INDEX allocations_user_idx ON allocations (user_id, person_id);

CREATE TABLE record_markings (
    person_id  BLOB    NOT NULL REFERENCES people (id),
    marking    TEXT    NOT NULL CHECK (marking IN ('police_only', 'staff_involved')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (person_id, marking)
) STRICT;

CREATE TABLE restricted_clearances (
    person_id  BLOB    NOT NULL REFERENCES people (id),
    user_id    BLOB    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (person_id, user_id)
) STRICT;

CREATE TABLE break_glass (
    id         BLOB    NOT NULL PRIMARY KEY,
    person_id  BLOB    NOT NULL REFERENCES people (id),
    user_id    BLOB    NOT NULL REFERENCES users (id),
    org_id     BLOB    NOT NULL REFERENCES organisations (id),
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX break_glass_user_idx ON break_glass (user_id, person_id, expires_at);
CREATE INDEX break_glass_person_idx ON break_glass (person_id, created_at);

CREATE TABLE concerns (
    id                 BLOB    NOT NULL PRIMARY KEY,
    person_id          BLOB    NOT NULL REFERENCES people (id),
    raised_by_user     BLOB    NOT NULL REFERENCES users (id),
    raised_by_org      BLOB    NOT NULL REFERENCES organisations (id),
    status             TEXT    NOT NULL CHECK (status IN ('submitted', 'triaged')),
    observed_at        INTEGER,
    location           TEXT    NOT NULL,
    narrative          TEXT    NOT NULL,
    exploitation_types TEXT    NOT NULL,
    child_words        TEXT    NOT NULL,
    others_present     TEXT    NOT NULL,
    actions_taken      TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    decision           TEXT,
    rationale          TEXT,
    decided_by         BLOB    REFERENCES users (id),
    decided_at         INTEGER
) STRICT;

CREATE INDEX concerns_triage_idx ON concerns (raised_by_org, status, created_at);
CREATE INDEX concerns_raiser_idx ON concerns (raised_by_user, created_at);
CREATE INDEX concerns_person_idx ON concerns (person_id);

CREATE TABLE chronology (
    id          BLOB    NOT NULL PRIMARY KEY,
    person_id   BLOB    NOT NULL REFERENCES people (id),
    kind        TEXT    NOT NULL,
    source_id   BLOB    NOT NULL,
    org_id      BLOB    NOT NULL REFERENCES organisations (id),
    event_at    INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    summary     TEXT    NOT NULL
) STRICT;

CREATE INDEX chronology_person_idx ON chronology (person_id, event_at);
CREATE INDEX people_given_idx ON people (given_name_folded);
