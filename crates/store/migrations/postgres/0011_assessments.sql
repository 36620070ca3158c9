-- Risk and vulnerabilities assessments (postgres; keep in step with ../sqlite/0011_assessments.sql).
-- The indicator framework is data, versioned: a change makes a new version, and an assessment keeps
-- the version it was made with. Answers are one row per indicator of that version.
CREATE TABLE frameworks (
    id            UUID    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    high_at       INTEGER NOT NULL,
    medium_at     INTEGER NOT NULL,
    review_high   INTEGER NOT NULL,
    review_medium INTEGER NOT NULL,
    review_low    INTEGER NOT NULL,
    review_none   INTEGER NOT NULL,
    change_note   TEXT    NOT NULL,
    created_by    UUID    REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE framework_indicators (
    framework_id UUID    NOT NULL REFERENCES frameworks (id),
    position     INTEGER NOT NULL,
    code         TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    weight       TEXT    NOT NULL CHECK (weight IN ('actual', 'significant', 'moderate', 'vulnerability')),
    PRIMARY KEY (framework_id, code)
);

CREATE TABLE assessments (
    id                  UUID    NOT NULL PRIMARY KEY,
    person_id           UUID    NOT NULL REFERENCES people (id),
    framework_id        UUID    NOT NULL REFERENCES frameworks (id),
    status              TEXT    NOT NULL CHECK (status IN ('submitted', 'signed_off')),
    learning_disability BOOLEAN NOT NULL,
    suggested_level     TEXT    NOT NULL CHECK (suggested_level IN ('none', 'low', 'medium', 'high')),
    judged_level        TEXT    NOT NULL CHECK (judged_level IN ('none', 'low', 'medium', 'high')),
    rationale           TEXT    NOT NULL,
    child_views         TEXT    NOT NULL,
    family_views        TEXT    NOT NULL,
    assessor_id         UUID    NOT NULL REFERENCES users (id),
    assessor_org        UUID    NOT NULL REFERENCES organisations (id),
    created_at          TIMESTAMPTZ NOT NULL,
    signed_off_by       UUID    REFERENCES users (id),
    signed_off_at       TIMESTAMPTZ,
    review_due          DATE,
    merged_from         UUID
);

CREATE INDEX assessments_person_idx ON assessments (person_id, created_at);
CREATE INDEX assessments_status_idx ON assessments (status, review_due);

CREATE TABLE assessment_answers (
    assessment_id UUID NOT NULL REFERENCES assessments (id),
    code          TEXT NOT NULL,
    answer        TEXT NOT NULL CHECK (answer IN ('present', 'not_present', 'not_known')),
    evidence      TEXT NOT NULL,
    source_org    UUID REFERENCES organisations (id),
    observed_on   DATE,
    PRIMARY KEY (assessment_id, code)
);
