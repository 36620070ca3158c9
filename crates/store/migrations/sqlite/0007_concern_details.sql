-- Concerns in full (SQLite; keep in step with ../postgres/0007_concern_details.sql): the
-- indicators observed, concerns raised together about several children (one concern per child
-- sharing a group id), routing to the children's social care front door, and drafts saved as
-- the professional types.
ALTER TABLE concerns ADD COLUMN indicators TEXT NOT NULL DEFAULT '';
ALTER TABLE concerns ADD COLUMN group_id BLOB;
ALTER TABLE concerns ADD COLUMN front_door_org BLOB REFERENCES organisations (id);

CREATE INDEX concerns_group_idx ON concerns (group_id);
CREATE INDEX concerns_front_door_idx ON concerns (front_door_org, status, created_at);

-- One draft per author and child; only its author reads it. `fields` is the form as typed
-- (JSON object of strings); `also` the other children, comma-separated ids.
CREATE TABLE concern_drafts (
    user_id    BLOB    NOT NULL REFERENCES users (id),
    person_id  BLOB    NOT NULL REFERENCES people (id),
    also       TEXT    NOT NULL,
    fields     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, person_id)
) STRICT;
