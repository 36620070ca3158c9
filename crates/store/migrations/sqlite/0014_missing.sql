-- Missing episodes (sqlite; keep in step with ../postgres/0014_missing.sql): episodes with what
-- is known of the child's return and the return home interview (RHI) on the same row, prompts
-- to review a child's risk raised by a pattern of episodes, and the partnership's list of places
-- of concern. Times are UTC microseconds.
CREATE TABLE missing_episodes (
    id                     BLOB    NOT NULL PRIMARY KEY,
    person_id              BLOB    NOT NULL REFERENCES people (id),
    category               TEXT    NOT NULL CHECK (category IN ('missing', 'absent', 'away_from_placement')),
    reported_at            INTEGER NOT NULL,
    reported_by            TEXT    NOT NULL CHECK (reported_by IN ('parent', 'carer', 'childrens_home', 'school', 'other')),
    reporter_name          TEXT    NOT NULL,
    police_reference       TEXT    NOT NULL,
    from_care              INTEGER NOT NULL CHECK (from_care IN (0, 1)),
    placement              TEXT    NOT NULL,
    risk                   TEXT    NOT NULL CHECK (risk IN ('no_apparent_risk', 'low', 'medium', 'high')),
    -- Found (located) and returned; both empty while the child is still missing.
    found_at               INTEGER,
    returned_at            INTEGER,
    found_where            TEXT    NOT NULL,
    found_postcode         TEXT,
    found_with             TEXT    NOT NULL,
    found_by               TEXT    CHECK (found_by IN ('police', 'returned_themselves', 'parent_carer', 'other')),
    harm                   TEXT    NOT NULL,
    -- The return home interview: offered, declined, held, or a decision not to offer one.
    rhi_offered_at         INTEGER,
    rhi_offered_by         TEXT    CHECK (rhi_offered_by IN ('social_worker', 'dedicated_team', 'youth_worker', 'independent_service', 'other')),
    rhi_offered_name       TEXT    NOT NULL,
    rhi_declined_at        INTEGER,
    rhi_held_at            INTEGER,
    rhi_held_by            TEXT    CHECK (rhi_held_by IN ('social_worker', 'dedicated_team', 'youth_worker', 'independent_service', 'other')),
    rhi_interviewer        TEXT    NOT NULL,
    rhi_independent        INTEGER CHECK (rhi_independent IN (0, 1)),
    rhi_child_said         TEXT    NOT NULL,
    rhi_follow_up          TEXT    NOT NULL,
    rhi_not_offered_at     INTEGER,
    rhi_not_offered_reason TEXT    NOT NULL,
    org_id                 BLOB    NOT NULL REFERENCES organisations (id),
    created_by             BLOB    NOT NULL REFERENCES users (id),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    -- The merge that moved this episode onto the kept record (undone by unmerge).
    merged_from            BLOB
) STRICT;

-- A child's episodes by report time (the page, and the repeat-missing count).
CREATE INDEX missing_episodes_person_idx ON missing_episodes (person_id, reported_at);
-- The work list: episodes still missing or with an interview still to do.
CREATE INDEX missing_episodes_open_idx ON missing_episodes (reported_at)
    WHERE rhi_held_at IS NULL AND rhi_declined_at IS NULL AND rhi_not_offered_at IS NULL;

CREATE TABLE places_of_concern (
    id         BLOB    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    -- A full postcode when the place is one address; otherwise the whole district (outward).
    postcode   TEXT,
    outward    TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    org_id     BLOB    NOT NULL REFERENCES organisations (id),
    created_by BLOB    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX places_of_concern_outward_idx ON places_of_concern (outward);

CREATE TABLE missing_prompts (
    id          BLOB    NOT NULL PRIMARY KEY,
    person_id   BLOB    NOT NULL REFERENCES people (id),
    episode_id  BLOB    NOT NULL REFERENCES missing_episodes (id),
    reason      TEXT    NOT NULL CHECK (reason IN ('repeat_missing', 'place_of_concern')),
    detail      TEXT    NOT NULL,
    place_id    BLOB    REFERENCES places_of_concern (id),
    raised_at   INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by BLOB    REFERENCES users (id),
    resolution  TEXT    NOT NULL,
    merged_from BLOB
) STRICT;

CREATE INDEX missing_prompts_person_idx ON missing_prompts (person_id, raised_at);
-- Open prompts for the work list.
CREATE INDEX missing_prompts_open_idx ON missing_prompts (raised_at) WHERE resolved_at IS NULL;
