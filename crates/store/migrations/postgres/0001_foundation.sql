-- mace foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql.

CREATE TABLE app_meta (
    key        TEXT        NOT NULL PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE people (
    id                 UUID        NOT NULL PRIMARY KEY,
    kind               TEXT        NOT NULL CHECK (kind IN ('child', 'parent_carer', 'person_of_concern', 'professional')),
    given_name         TEXT        NOT NULL,
    family_name        TEXT        NOT NULL,
    given_name_folded  TEXT        NOT NULL,
    family_name_folded TEXT        NOT NULL,
    date_of_birth      DATE,
    dob_approximate    BOOLEAN     NOT NULL,
    gender             TEXT        NOT NULL CHECK (gender IN ('female', 'male', 'non_binary', 'not_known', 'not_stated')),
    postcode           TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX people_name_idx ON people (family_name_folded, given_name_folded);
