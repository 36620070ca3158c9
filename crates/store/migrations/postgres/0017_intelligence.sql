-- Partner intelligence to police (postgres; keep in step with ../sqlite/0017_intelligence.sql).
-- A report is submitted by any professional; police grade it on the 3x5x2 model, sanitise what
-- may be shared and link what it names to entities. The graph of reports and entities
-- (intel_links) carries a version number so the in-memory network can catch up incrementally.
-- Times are timestamptz.
CREATE TABLE intel_reports (
    id                      UUID       NOT NULL PRIMARY KEY,
    -- The submitter's receipt: INT-<year>-<6 digits>.
    reference               TEXT    NOT NULL UNIQUE,
    submitted_by            UUID       NOT NULL REFERENCES users (id),
    submitted_org           UUID       NOT NULL REFERENCES organisations (id),
    submitted_at            TIMESTAMPTZ NOT NULL,
    -- When what is reported was seen or happened (either may be empty).
    observed_from           TIMESTAMPTZ,
    observed_to             TIMESTAMPTZ,
    how_known               TEXT    NOT NULL CHECK (how_known IN ('saw_or_heard', 'told_by_child', 'told_by_other', 'records', 'other')),
    narrative               TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('received', 'assessed', 'actioned')),
    status_at               TIMESTAMPTZ NOT NULL,
    -- Police grading (3x5x2): empty until assessed.
    source_evaluation       TEXT    CHECK (source_evaluation IN ('1', '2', '3')),
    intelligence_assessment TEXT    CHECK (intelligence_assessment IN ('A', 'B', 'C', 'D', 'E')),
    handling_code           TEXT    CHECK (handling_code IN ('P', 'C')),
    handling_conditions     TEXT    NOT NULL,
    sanitised               TEXT    NOT NULL,
    graded_by               UUID       REFERENCES users (id),
    graded_at               TIMESTAMPTZ,
    -- The sanitised copy released to partners (onto the linked children's records).
    shared_by               UUID       REFERENCES users (id),
    shared_at               TIMESTAMPTZ,
    -- Police-only note of what was done.
    action_note             TEXT    NOT NULL
);

CREATE INDEX intel_reports_status_idx ON intel_reports (status, submitted_at);
CREATE INDEX intel_reports_submitter_idx ON intel_reports (submitted_by, submitted_at);

-- Children the report is about (known to the submitter).
CREATE TABLE intel_report_children (
    report_id   UUID    NOT NULL REFERENCES intel_reports (id),
    person_id   UUID    NOT NULL REFERENCES people (id),
    merged_from UUID   ,
    PRIMARY KEY (report_id, person_id)
);

CREATE INDEX intel_report_children_person_idx ON intel_report_children (person_id);

-- What the report names, as the submitter typed it, with the normalised key (empty when it
-- does not parse) and, once police link it, the entity.
CREATE TABLE intel_items (
    id         UUID       NOT NULL PRIMARY KEY,
    report_id  UUID       NOT NULL REFERENCES intel_reports (id),
    position   INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('person', 'vehicle', 'phone', 'postcode', 'place', 'handle', 'business')),
    value      TEXT    NOT NULL,
    normalised TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    latitude   DOUBLE PRECISION,
    longitude  DOUBLE PRECISION,
    entity_id  UUID   ,
    UNIQUE (report_id, position)
);

-- Resolved entities: one per (kind, key). A child is an entity too (key: the person's id), and
-- a named person may be resolved to one of mace's people.
CREATE TABLE intel_entities (
    id         UUID       NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('child', 'person', 'vehicle', 'phone', 'postcode', 'place', 'handle', 'business')),
    key        TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    person_id  UUID       REFERENCES people (id),
    latitude   DOUBLE PRECISION,
    longitude  DOUBLE PRECISION,
    created_at TIMESTAMPTZ NOT NULL,
    merged_from UUID   ,
    UNIQUE (kind, key)
);

CREATE INDEX intel_entities_person_idx ON intel_entities (person_id);

-- The graph's edges: a report names an entity. `version` is the graph version at which the
-- link was made, `removed_version` the one at which it was taken away.
CREATE TABLE intel_links (
    id              UUID       NOT NULL PRIMARY KEY,
    report_id       UUID       NOT NULL REFERENCES intel_reports (id),
    entity_id       UUID       NOT NULL REFERENCES intel_entities (id),
    version         BIGINT  NOT NULL,
    removed_version BIGINT ,
    linked_by       UUID       NOT NULL REFERENCES users (id),
    linked_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (report_id, entity_id)
);

CREATE INDEX intel_links_version_idx ON intel_links (version);
CREATE INDEX intel_links_entity_idx ON intel_links (entity_id);

-- One row: the graph's version, bumped (under the writer lock / a row lock) by every change to
-- intel_links, so versions are gap-free and in commit order.
CREATE TABLE intel_graph_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);

INSERT INTO intel_graph_version (id, version) VALUES (1, 0);

-- The submitter's notifications: a status changed (never any police content).
CREATE TABLE intel_notifications (
    id         UUID       NOT NULL PRIMARY KEY,
    user_id    UUID       NOT NULL REFERENCES users (id),
    report_id  UUID       NOT NULL REFERENCES intel_reports (id),
    status     TEXT    NOT NULL CHECK (status IN ('received', 'assessed', 'actioned')),
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ
);

CREATE INDEX intel_notifications_user_idx ON intel_notifications (user_id, created_at);
