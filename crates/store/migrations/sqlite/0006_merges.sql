-- Merging duplicate records, reversibly (SQLite; keep in step with ../postgres/0006_merges.sql).
-- A merge moves the duplicate's concerns and chronology to the record kept and copies its
-- involvements, allocations, markings and clearances; every moved or copied row carries the
-- merge's id in merged_from, so undoing the merge puts exactly those rows back.
ALTER TABLE people ADD COLUMN merged_into BLOB REFERENCES people (id);
ALTER TABLE concerns ADD COLUMN merged_from BLOB;
ALTER TABLE chronology ADD COLUMN merged_from BLOB;
ALTER TABLE involvements ADD COLUMN merged_from BLOB;
ALTER TABLE allocations ADD COLUMN merged_from BLOB;
ALTER TABLE record_markings ADD COLUMN merged_from BLOB;
ALTER TABLE restricted_clearances ADD COLUMN merged_from BLOB;

CREATE INDEX concerns_merged_idx ON concerns (merged_from);
CREATE INDEX chronology_merged_idx ON chronology (merged_from);

CREATE TABLE person_merges (
    id           BLOB    NOT NULL PRIMARY KEY,
    survivor_id  BLOB    NOT NULL REFERENCES people (id),
    duplicate_id BLOB    NOT NULL REFERENCES people (id),
    reason       TEXT    NOT NULL,
    merged_by    BLOB    NOT NULL REFERENCES users (id),
    merged_at    INTEGER NOT NULL,
    undone_by    BLOB    REFERENCES users (id),
    undone_at    INTEGER,
    undo_reason  TEXT
) STRICT;

CREATE INDEX person_merges_survivor_idx ON person_merges (survivor_id, merged_at);

-- Pairs a professional has looked at and found to be different children.
CREATE TABLE not_duplicates (
    person_a   BLOB    NOT NULL REFERENCES people (id),
    person_b   BLOB    NOT NULL REFERENCES people (id),
    decided_by BLOB    NOT NULL REFERENCES users (id),
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (person_a, person_b)
) STRICT;
