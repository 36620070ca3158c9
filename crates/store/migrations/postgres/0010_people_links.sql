-- Addresses, schools and relationships between people (postgres; keep in step with
-- ../sqlite/0010_people_links.sql). A merge moves them with the rest of the duplicate's history
-- (merged_from, as 0006; a relationship can move at either end, so it has one tag per end).
CREATE TABLE person_addresses (
    id          UUID    NOT NULL PRIMARY KEY,
    person_id   UUID    NOT NULL REFERENCES people (id),
    line1       TEXT    NOT NULL,
    line2       TEXT    NOT NULL,
    town        TEXT    NOT NULL,
    postcode    TEXT,
    moved_in    DATE,
    moved_out   DATE,
    is_current  BOOLEAN NOT NULL,
    org_id      UUID    NOT NULL REFERENCES organisations (id),
    created_by  UUID    NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    merged_from UUID
);

CREATE INDEX person_addresses_person_idx ON person_addresses (person_id);
-- Moved addresses: search before create finds a child at a postcode they lived at before.
CREATE INDEX person_addresses_postcode_idx ON person_addresses (postcode);
CREATE INDEX people_postcode_idx ON people (postcode);

CREATE TABLE person_schools (
    id            UUID    NOT NULL PRIMARY KEY,
    person_id     UUID    NOT NULL REFERENCES people (id),
    school_name   TEXT    NOT NULL,
    school_org_id UUID    REFERENCES organisations (id),
    started_on    DATE,
    left_on       DATE,
    is_current    BOOLEAN NOT NULL,
    org_id        UUID    NOT NULL REFERENCES organisations (id),
    created_by    UUID    NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL,
    merged_from   UUID
);

CREATE INDEX person_schools_person_idx ON person_schools (person_id);

CREATE TABLE relationships (
    id                  UUID    NOT NULL PRIMARY KEY,
    person_id           UUID    NOT NULL REFERENCES people (id),
    related_id          UUID    NOT NULL REFERENCES people (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('parent', 'carer', 'sibling', 'peer', 'person_of_concern', 'professional')),
    notes               TEXT    NOT NULL,
    org_id              UUID    NOT NULL REFERENCES organisations (id),
    created_by          UUID    NOT NULL REFERENCES users (id),
    created_at          TIMESTAMPTZ NOT NULL,
    merged_from         UUID,
    related_merged_from UUID
);

CREATE INDEX relationships_person_idx ON relationships (person_id);
CREATE INDEX relationships_related_idx ON relationships (related_id);
