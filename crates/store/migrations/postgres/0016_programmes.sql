-- Group programmes (postgres; keep in step with ../sqlite/0016_programmes.sql): a programme run
-- by one organisation with its eligibility rules, cohorts with weekly sessions, the children on
-- each cohort (members) and their attendance and outcomes.
CREATE TABLE programmes (
    id            UUID    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    -- The running organisation.
    org_id        UUID    NOT NULL REFERENCES organisations (id),
    description   TEXT    NOT NULL,
    -- Eligibility: age in whole years at the cohort's start date (both inclusive), genders
    -- (person gender codes, space-separated; empty: any) and postcode districts (outward codes,
    -- space-separated; empty: any).
    min_age       INTEGER NOT NULL,
    max_age       INTEGER NOT NULL,
    genders       TEXT    NOT NULL,
    districts     TEXT    NOT NULL,
    session_count INTEGER NOT NULL,
    capacity      INTEGER NOT NULL,
    -- The directory service children are referred through (0013_referrals), if any.
    service_id    UUID    REFERENCES services (id),
    created_by    UUID    NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX programmes_org_idx ON programmes (org_id);

CREATE TABLE programme_cohorts (
    id           UUID    NOT NULL PRIMARY KEY,
    programme_id UUID    NOT NULL REFERENCES programmes (id),
    start_on     DATE    NOT NULL,
    venue        TEXT    NOT NULL,
    facilitators TEXT    NOT NULL,
    created_by   UUID    NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX programme_cohorts_programme_idx ON programme_cohorts (programme_id, start_on);

CREATE TABLE programme_sessions (
    id        UUID    NOT NULL PRIMARY KEY,
    cohort_id UUID    NOT NULL REFERENCES programme_cohorts (id),
    number    INTEGER NOT NULL,
    held_on   DATE    NOT NULL,
    topic     TEXT    NOT NULL
);

CREATE UNIQUE INDEX programme_sessions_number_idx ON programme_sessions (cohort_id, number);

-- A child's place on a cohort. A merge should move these with the duplicate (merged_from, as
-- 0006); the service refuses a second place for the same child on one cohort.
CREATE TABLE programme_members (
    id              UUID    NOT NULL PRIMARY KEY,
    cohort_id       UUID    NOT NULL REFERENCES programme_cohorts (id),
    person_id       UUID    NOT NULL REFERENCES people (id),
    status          TEXT    NOT NULL CHECK (status IN ('offered', 'attending', 'completed', 'withdrew')),
    withdraw_reason TEXT,
    outcome         TEXT    CHECK (outcome IN ('positive_change', 'some_change', 'no_change', 'further_support')),
    outcome_note    TEXT    NOT NULL,
    -- How safe the child said they felt, 1 to 10, at the start and at the end.
    safety_before   INTEGER CHECK (safety_before BETWEEN 1 AND 10),
    safety_after    INTEGER CHECK (safety_after BETWEEN 1 AND 10),
    org_id          UUID    NOT NULL REFERENCES organisations (id),
    added_by        UUID    NOT NULL REFERENCES users (id),
    added_at        TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    merged_from     UUID
);

CREATE INDEX programme_members_cohort_idx ON programme_members (cohort_id, added_at);
CREATE INDEX programme_members_person_idx ON programme_members (person_id, added_at);

CREATE TABLE programme_attendance (
    session_id  UUID    NOT NULL REFERENCES programme_sessions (id),
    member_id   UUID    NOT NULL REFERENCES programme_members (id),
    attendance  TEXT    NOT NULL CHECK (attendance IN ('attended', 'absent', 'excused')),
    recorded_by UUID    NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, member_id)
);

CREATE INDEX programme_attendance_member_idx ON programme_attendance (member_id);
