-- National Referral Mechanism referrals for children who may be trafficked (sqlite; keep in step
-- with ../postgres/0015_nrm.sql): the referral made by a first responder organisation, its
-- reasonable and conclusive grounds decisions, the independent child trafficking guardian,
-- closure, and requests to reconsider a negative decision. Deadlines (RG within 5 working days,
-- CG not before RG + 30 days) are computed from the dates with the injected clock, never stored.
CREATE TABLE nrm_referrals (
    id                     BLOB    NOT NULL PRIMARY KEY,
    person_id              BLOB    NOT NULL REFERENCES people (id),
    first_responder_org_id BLOB    NOT NULL REFERENCES organisations (id),
    first_responder_name   TEXT    NOT NULL,
    -- Exploitation type codes, comma-separated (sexual, labour, criminal, ...).
    exploitation           TEXT    NOT NULL,
    county_lines           INTEGER NOT NULL CHECK (county_lines IN (0, 1)),
    location               TEXT    NOT NULL CHECK (location IN ('uk', 'overseas', 'both')),
    decision_maker         TEXT    NOT NULL CHECK (decision_maker IN ('sca', 'ieca', 'devolved_panel')),
    submitted_on           TEXT    NOT NULL,
    home_office_ref        TEXT    NOT NULL,
    narrative              TEXT    NOT NULL,
    rg_decision            TEXT    CHECK (rg_decision IN ('positive', 'negative')),
    rg_decided_on          TEXT,
    cg_decision            TEXT    CHECK (cg_decision IN ('positive', 'negative')),
    cg_decided_on          TEXT,
    ictg_referred_on       TEXT,
    ictg_role              TEXT    CHECK (ictg_role IN ('direct_worker', 'regional_practice_coordinator', 'regional_practitioner', 'post_18_worker')),
    ictg_name              TEXT    NOT NULL,
    closed_on              TEXT,
    final_outcome          TEXT    CHECK (final_outcome IN ('conclusive_grounds', 'negative_reasonable_grounds', 'withdrawn', 'other')),
    close_note             TEXT    NOT NULL,
    org_id                 BLOB    NOT NULL REFERENCES organisations (id),
    created_by             BLOB    NOT NULL REFERENCES users (id),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    -- For a future merge of the child's record (as 0012's plans); not moved yet.
    merged_from            BLOB
) STRICT;

CREATE INDEX nrm_referrals_person_idx ON nrm_referrals (person_id, submitted_on);
-- The open list: open referrals by submission.
CREATE INDEX nrm_referrals_open_idx ON nrm_referrals (submitted_on) WHERE closed_on IS NULL;

CREATE TABLE nrm_reconsiderations (
    id           BLOB    NOT NULL PRIMARY KEY,
    referral_id  BLOB    NOT NULL REFERENCES nrm_referrals (id),
    stage        TEXT    NOT NULL CHECK (stage IN ('rg', 'cg')),
    requested_on TEXT    NOT NULL,
    requested_by TEXT    NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('pending', 'upheld', 'overturned')),
    outcome_on   TEXT,
    org_id       BLOB    NOT NULL REFERENCES organisations (id),
    created_by   BLOB    NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX nrm_reconsiderations_referral_idx ON nrm_reconsiderations (referral_id, requested_on);
