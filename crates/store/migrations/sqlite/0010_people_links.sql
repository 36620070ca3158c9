-- Addresses, schools and relationships between people (sqlite; keep in step with
-- ../postgres/0010_people_links.sql). A merge moves them with the rest of the duplicate's history
-- (merged_from, as 0006; a relationship can move at either end, so it has one tag per end).
CREATE TABLE person_addresses (
    id          BLOB    NOT NULL PRIMARY KEY,
    person_id   BLOB    NOT NULL REFERENCES people (id),
    line1       TEXT    NOT NULL,
    line2       TEXT    NOT NULL,
    town        TEXT    NOT NULL,
    postcode    TEXT,
    moved_in    TEXT,
    moved_out   TEXT,
    is_current  INTEGER NOT NULL CHECK (is_current IN (0, 1)),
    org_id      BLOB    NOT NULL REFERENCES organisations (id),
    created_by  BLOB    NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    merged_from BLOB
) STRICT;

CREATE INDEX person_addresses_person_idx ON person_addresses (person_id);
-- Moved addresses: search before create finds a child at a postcode they lived at before.
CREATE INDEX person_addresses_postcode_idx ON person_addresses (postcode);
CREATE INDEX people_postcode_idx ON people (postcode);

CREATE TABLE person_schools (
    id            BLOB    NOT NULL PRIMARY KEY,
    person_id     BLOB    NOT NULL REFERENCES people (id),
    school_name   TEXT    NOT NULL,
    school_org_id BLOB    REFERENCES organisations (id),
    started_on    TEXT,
    left_on       TEXT,
    is_current    INTEGER NOT NULL CHECK (is_current IN (0, 1)),
    org_id        BLOB    NOT NULL REFERENCES organisations (id),
    created_by    BLOB    NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    merged_from   BLOB
) STRICT;

CREATE INDEX person_schools_person_idx ON person_schools (person_id);

CREATE TABLE relationships (
    id                  BLOB    NOT NULL PRIMARY KEY,
    person_id           BLOB    NOT NULL REFERENCES people (id),
    related_id          BLOB    NOT NULL REFERENCES people (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('parent', 'carer', 'sibling', 'peer', 'person_of_concern', 'professional')),
    notes               TEXT    NOT NULL,
    org_id              BLOB    NOT NULL REFERENCES organisations (id),
    created_by          BLOB    NOT NULL REFERENCES users (id),
    created_at          INTEGER NOT NULL,
    merged_from         BLOB,
    related_merged_from BLOB
) STRICT;

CREATE INDEX relationships_person_idx ON relationships (person_id);
CREATE INDEX relationships_related_idx ON relationships (related_id);
