-- The multi-agency risk management plan (postgres; keep in step with ../sqlite/0012_plans.sql):
-- the plan agreed around a child, its actions in four sections, plan meetings and reviews.
-- A child has at most one open plan (the service checks; a merge may briefly leave two, both
-- shown). A merge moves the duplicate's plans (merged_from, as 0006); actions, meetings and
-- reviews belong to their plan and move with it.
CREATE TABLE plans (
    id               UUID    NOT NULL PRIMARY KEY,
    person_id        UUID    NOT NULL REFERENCES people (id),
    risk_level       TEXT    NOT NULL CHECK (risk_level IN ('high', 'medium', 'low', 'not_assessed')),
    -- The signed-off assessment the level came from, when there is one.
    assessment_id    UUID,
    lead_user_id     UUID    NOT NULL REFERENCES users (id),
    lead_org_id      UUID    NOT NULL REFERENCES organisations (id),
    agreed_on        DATE    NOT NULL,
    next_review_on   DATE    NOT NULL,
    danger_statement TEXT    NOT NULL,
    safety_goal      TEXT    NOT NULL,
    org_id           UUID    NOT NULL REFERENCES organisations (id),
    created_by       UUID    NOT NULL REFERENCES users (id),
    created_at       TIMESTAMPTZ NOT NULL,
    closed_at        TIMESTAMPTZ,
    closed_by        UUID    REFERENCES users (id),
    close_reason     TEXT,
    merged_from      UUID
);

CREATE INDEX plans_person_idx ON plans (person_id, created_at);
-- Reviews due and overdue: open plans by review date.
CREATE INDEX plans_review_idx ON plans (next_review_on) WHERE closed_at IS NULL;

CREATE TABLE plan_actions (
    id            UUID    NOT NULL PRIMARY KEY,
    plan_id       UUID    NOT NULL REFERENCES plans (id),
    section       TEXT    NOT NULL CHECK (section IN ('child', 'parents_carers', 'evidence', 'disruption')),
    description   TEXT    NOT NULL,
    owner_org_id  UUID    NOT NULL REFERENCES organisations (id),
    owner_user_id UUID    REFERENCES users (id),
    due_on        DATE    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('not_started', 'in_progress', 'done', 'not_going_ahead')),
    outcome       TEXT    NOT NULL,
    created_by    UUID    NOT NULL REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ
);

CREATE INDEX plan_actions_plan_idx ON plan_actions (plan_id, created_at);
-- "My actions": by named person, and by organisation.
CREATE INDEX plan_actions_owner_user_idx ON plan_actions (owner_user_id, due_on);
CREATE INDEX plan_actions_owner_org_idx ON plan_actions (owner_org_id, due_on);

CREATE TABLE plan_meetings (
    id           UUID    NOT NULL PRIMARY KEY,
    plan_id      UUID    NOT NULL REFERENCES plans (id),
    held_on      DATE    NOT NULL,
    attendees    TEXT    NOT NULL,
    -- The organisations represented: their ids, comma-separated.
    attendee_orgs TEXT   NOT NULL,
    decisions    TEXT    NOT NULL,
    org_id       UUID    NOT NULL REFERENCES organisations (id),
    created_by   UUID    NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX plan_meetings_plan_idx ON plan_meetings (plan_id, held_on);

CREATE TABLE plan_reviews (
    id             UUID    NOT NULL PRIMARY KEY,
    plan_id        UUID    NOT NULL REFERENCES plans (id),
    reviewed_on    DATE    NOT NULL,
    changes        TEXT    NOT NULL,
    decision       TEXT    NOT NULL CHECK (decision IN ('continue', 'step_up', 'step_down', 'close')),
    next_review_on DATE,
    org_id         UUID    NOT NULL REFERENCES organisations (id),
    created_by     UUID    NOT NULL REFERENCES users (id),
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX plan_reviews_plan_idx ON plan_reviews (plan_id, reviewed_on);
