-- Networks and hotspots (sqlite; keep in step with ../postgres/0018_networks.sql): the
-- emerging-network alert rules police users tune and the alerts they raise, the postcode
-- points that place incidents on the map, and coordinates for places of concern.
CREATE TABLE intel_alert_rules (
    id           BLOB    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    -- The entity kinds the rule watches, comma separated (person, vehicle, phone, postcode, place, handle, business).
    entity_kinds TEXT    NOT NULL,
    min_children INTEGER NOT NULL CHECK (min_children >= 2),
    window_days  INTEGER NOT NULL CHECK (window_days >= 1),
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_by   BLOB    REFERENCES users (id),
    updated_at   INTEGER NOT NULL
) STRICT;

-- The rule the issue names: three or more children linked to the same adult, vehicle or address
-- within 90 days. Police users tune it or add others.
INSERT INTO intel_alert_rules (id, name, entity_kinds, min_children, window_days, enabled, updated_by, updated_at)
VALUES (X'0192f0a0000070008000000000000001', 'Three or more children linked to the same adult, vehicle or address within 90 days',
        'person,vehicle,postcode,place', 3, 90, 1, NULL, 0);

CREATE TABLE intel_alerts (
    id              BLOB    NOT NULL PRIMARY KEY,
    rule_id         BLOB    NOT NULL REFERENCES intel_alert_rules (id),
    entity_id       BLOB    NOT NULL REFERENCES intel_entities (id),
    children        INTEGER NOT NULL,
    fired_at        INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_by BLOB    REFERENCES users (id),
    acknowledged_at INTEGER,
    note            TEXT    NOT NULL,
    UNIQUE (rule_id, entity_id)
) STRICT;

CREATE INDEX intel_alerts_open_idx ON intel_alerts (fired_at) WHERE acknowledged_at IS NULL;

-- Postcode centroids (from the ONS Postcode Directory, imported with `mace postcodes import`).
CREATE TABLE postcode_points (
    postcode  TEXT NOT NULL PRIMARY KEY,
    latitude  REAL NOT NULL,
    longitude REAL NOT NULL
) STRICT;

ALTER TABLE places_of_concern ADD COLUMN latitude REAL;
ALTER TABLE places_of_concern ADD COLUMN longitude REAL;
