-- Service directory and referrals (sqlite; keep in step with ../postgres/0013_referrals.sql).
-- A service is run by an organisation, with contact routes, eligibility rules checked when a
-- referral is made, and response-time targets. A referral from a child's record freezes the
-- information the referrer chose to share (referral_shared), moves through statuses
-- (referral_events keeps each step) and tells the referrer (referral_notifications).
CREATE TABLE services (
    id                 BLOB    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('exploitation', 'front_door', 'sexual_health',
                                                        'substance_misuse', 'group_programme', 'other')),
    org_id             BLOB    NOT NULL REFERENCES organisations (id),
    description        TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    phone              TEXT    NOT NULL,
    how_to_refer       TEXT    NOT NULL,
    -- Eligibility: age in whole years at the referral date (either bound optional), an open case
    -- held by some organisation, and postcode districts (outward codes, space-separated; empty: any).
    min_age            INTEGER,
    max_age            INTEGER,
    open_case_required INTEGER NOT NULL CHECK (open_case_required IN (0, 1)),
    areas              TEXT    NOT NULL,
    -- Response-time targets: acknowledge within N working hours, decide within N working days.
    ack_hours          INTEGER NOT NULL,
    decide_days        INTEGER NOT NULL,
    accepting          INTEGER NOT NULL CHECK (accepting IN (0, 1)),
    created_by         BLOB    NOT NULL REFERENCES users (id),
    created_at         INTEGER NOT NULL,
    updated_by         BLOB    NOT NULL REFERENCES users (id),
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX services_org_idx ON services (org_id);

CREATE TABLE referrals (
    id                BLOB    NOT NULL PRIMARY KEY,
    service_id        BLOB    NOT NULL REFERENCES services (id),
    person_id         BLOB    NOT NULL REFERENCES people (id),
    -- The receiving organisation when sent (the service's organisation then).
    to_org_id         BLOB    NOT NULL REFERENCES organisations (id),
    from_org_id       BLOB    NOT NULL REFERENCES organisations (id),
    created_by        BLOB    NOT NULL REFERENCES users (id),
    sent_at           INTEGER NOT NULL,
    reason            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('sent', 'acknowledged', 'accepted', 'declined',
                                                         'closed', 'withdrawn')),
    ack_due_at        INTEGER NOT NULL,
    decision_due_at   INTEGER NOT NULL,
    acknowledged_at   INTEGER,
    decided_at        INTEGER,
    decline_reason    TEXT,
    closed_at         INTEGER,
    outcome           TEXT,
    updated_at        INTEGER NOT NULL,
    merged_from       BLOB
) STRICT;

CREATE INDEX referrals_person_idx ON referrals (person_id, sent_at);
-- The inbox (by receiving organisation) and "referrals you made".
CREATE INDEX referrals_to_org_idx ON referrals (to_org_id, sent_at);
CREATE INDEX referrals_created_by_idx ON referrals (created_by, sent_at);

-- What was shared, frozen at sending: one row per item, in the order shown.
CREATE TABLE referral_shared (
    referral_id BLOB    NOT NULL REFERENCES referrals (id),
    position    INTEGER NOT NULL,
    item        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    PRIMARY KEY (referral_id, position)
) STRICT;

-- Each step: sent, then every status change, with its note (decline reason, outcome, message).
CREATE TABLE referral_events (
    id          BLOB    NOT NULL PRIMARY KEY,
    referral_id BLOB    NOT NULL REFERENCES referrals (id),
    status      TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    user_id     BLOB    NOT NULL REFERENCES users (id),
    org_id      BLOB    NOT NULL REFERENCES organisations (id),
    at          INTEGER NOT NULL
) STRICT;

CREATE INDEX referral_events_referral_idx ON referral_events (referral_id, at);

CREATE TABLE referral_notifications (
    id          BLOB    NOT NULL PRIMARY KEY,
    user_id     BLOB    NOT NULL REFERENCES users (id),
    referral_id BLOB    NOT NULL REFERENCES referrals (id),
    message     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
) STRICT;

CREATE INDEX referral_notifications_user_idx ON referral_notifications (user_id, created_at);
