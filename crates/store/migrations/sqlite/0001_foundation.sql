-- mace foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql:
-- same tables, columns, nullability, type families and unique indexes (the parity test checks).
-- Times are INTEGER microseconds since the Unix epoch, UTC; ids are 16-byte UUIDv7 BLOBs.

CREATE TABLE app_meta (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE people (
    id                 BLOB    NOT NULL PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('child', 'parent_carer', 'person_of_concern', 'professional')),
    given_name         TEXT    NOT NULL,
    family_name        TEXT    NOT NULL,
    given_name_folded  TEXT    NOT NULL,
    family_name_folded TEXT    NOT NULL,
    date_of_birth      TEXT,
    dob_approximate    INTEGER NOT NULL CHECK (dob_approximate IN (0, 1)),
    gender             TEXT    NOT NULL CHECK (gender IN ('female', 'male', 'non_binary', 'not_known', 'not_stated')),
    postcode           TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX people_name_idx ON people (family_name_folded, given_name_folded);
