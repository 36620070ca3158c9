-- Merging duplicate records, reversibly (PostgreSQL; keep in step with ../sqlite/0006_merges.sql).
-- A merge moves the duplicate's concerns and chronology to the record kept and copies its
-- involvements, allocations, markings and clearances; every moved or copied row carries the
-- merge's id in merged_from, so undoing the merge puts exactly those rows back.
ALTER TABLE people ADD COLUMN merged_into UUID REFERENCES people (id);
ALTER TABLE concerns ADD COLUMN merged_from UUID;
ALTER TABLE chronology ADD COLUMN merged_from UUID;
ALTER TABLE involvements ADD COLUMN merged_from UUID;
ALTER TABLE allocations ADD COLUMN merged_from UUID;
ALTER TABLE record_markings ADD COLUMN merged_from UUID;
ALTER TABLE restricted_clearances ADD COLUMN merged_from UUID;

CREATE INDEX concerns_merged_idx ON concerns (merged_from);
CREATE INDEX chronology_merged_idx ON chronology (merged_from);

CREATE TABLE person_merges (
    id           UUID    NOT NULL PRIMARY KEY,
    survivor_id  UUID    NOT NULL REFERENCES people (id),
    duplicate_id UUID    NOT NULL REFERENCES people (id),
    reason       TEXT    NOT NULL,
    merged_by    UUID    NOT NULL REFERENCES users (id),
    merged_at    TIMESTAMPTZ NOT NULL,
    undone_by    UUID    REFERENCES users (id),
    undone_at    TIMESTAMPTZ,
    undo_reason  TEXT
);

CREATE INDEX person_merges_survivor_idx ON person_merges (survivor_id, merged_at);

-- Pairs a professional has looked at and found to be different children.
CREATE TABLE not_duplicates (
    person_a   UUID    NOT NULL REFERENCES people (id),
    person_b   UUID    NOT NULL REFERENCES people (id),
    decided_by UUID    NOT NULL REFERENCES users (id),
    decided_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_a, person_b)
);
