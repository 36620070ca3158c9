-- Missing episodes (postgres; keep in step with ../sqlite/0014_missing.sql): episodes with what
-- is known of the child's return and the return home interview (RHI) on the same row, prompts
-- to review a child's risk raised by a pattern of episodes, and the partnership's list of places
-- of concern. Times are timestamptz.
CREATE TABLE missing_episodes (
    id                     UUID    NOT NULL PRIMARY KEY,
    person_id              UUID    NOT NULL REFERENCES people (id),
    category               TEXT    NOT NULL CHECK (category IN ('missing', 'absent', 'away_from_placement')),
    reported_at            TIMESTAMPTZ NOT NULL,
    reported_by            TEXT    NOT NULL CHECK (reported_by IN ('parent', 'carer', 'childrens_home', 'school', 'other')),
    reporter_name          TEXT    NOT NULL,
    police_reference       TEXT    NOT NULL,
    from_care              BOOLEAN NOT NULL,
    placement              TEXT    NOT NULL,
    risk                   TEXT    NOT NULL CHECK (risk IN ('no_apparent_risk', 'low', 'medium', 'high')),
    -- Found (located) and returned; both empty while the child is still missing.
    found_at               TIMESTAMPTZ,
    returned_at            TIMESTAMPTZ,
    found_where            TEXT    NOT NULL,
    found_postcode         TEXT,
    found_with             TEXT    NOT NULL,
    found_by               TEXT    CHECK (found_by IN ('police', 'returned_themselves', 'parent_carer', 'other')),
    harm                   TEXT    NOT NULL,
    -- The return home interview: offered, declined, held, or a decision not to offer one.
    rhi_offered_at         TIMESTAMPTZ,
    rhi_offered_by         TEXT    CHECK (rhi_offered_by IN ('social_worker', 'dedicated_team', 'youth_worker', 'independent_service', 'other')),
    rhi_offered_name       TEXT    NOT NULL,
    rhi_declined_at        TIMESTAMPTZ,
    rhi_held_at            TIMESTAMPTZ,
    rhi_held_by            TEXT    CHECK (rhi_held_by IN ('social_worker', 'dedicated_team', 'youth_worker', 'independent_service', 'other')),
    rhi_interviewer        TEXT    NOT NULL,
    rhi_independent        BOOLEAN,
    rhi_child_said         TEXT    NOT NULL,
    rhi_follow_up          TEXT    NOT NULL,
    rhi_not_offered_at     TIMESTAMPTZ,
    rhi_not_offered_reason TEXT    NOT NULL,
    org_id                 UUID    NOT NULL REFERENCES organisations (id),
    created_by             UUID    NOT NULL REFERENCES users (id),
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    -- The merge that moved this episode onto the kept record (undone by unmerge).
    merged_from            UUID
);

-- A child's episodes by report time (the page, and the repeat-missing count).
CREATE INDEX missing_episodes_person_idx ON missing_episodes (person_id, reported_at);
-- The work list: episodes still missing or with an interview still to do.
CREATE INDEX missing_episodes_open_idx ON missing_episodes (reported_at)
    WHERE rhi_held_at IS NULL AND rhi_declined_at IS NULL AND rhi_not_offered_at IS NULL;

CREATE TABLE places_of_concern (
    id         UUID    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    -- A full postcode when the place is one address; otherwise the whole district (outward).
    postcode   TEXT,
    outward    TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    org_id     UUID    NOT NULL REFERENCES organisations (id),
    created_by UUID    NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX places_of_concern_outward_idx ON places_of_concern (outward);

CREATE TABLE missing_prompts (
    id          UUID    NOT NULL PRIMARY KEY,
    person_id   UUID    NOT NULL REFERENCES people (id),
    episode_id  UUID    NOT NULL REFERENCES missing_episodes (id),
    reason      TEXT    NOT NULL CHECK (reason IN ('repeat_missing', 'place_of_concern')),
    detail      TEXT    NOT NULL,
    place_id    UUID    REFERENCES places_of_concern (id),
    raised_at   TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    resolved_by UUID    REFERENCES users (id),
    resolution  TEXT    NOT NULL,
    merged_from UUID
);

CREATE INDEX missing_prompts_person_idx ON missing_prompts (person_id, raised_at);
-- Open prompts for the work list.
CREATE INDEX missing_prompts_open_idx ON missing_prompts (raised_at) WHERE resolved_at IS NULL;
