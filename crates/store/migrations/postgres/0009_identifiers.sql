-- Other names and identifiers on a person's record (postgres; keep in step with ../sqlite/0009_identifiers.sql):
-- aliases, street names, NHS number, UPN, PNC id, local ids, phones, handles, each in its canonical form.
-- A merge moves them with the rest of the duplicate's history (merged_from, as 0006).
CREATE TABLE person_identifiers (
    id          UUID    NOT NULL PRIMARY KEY,
    person_id   UUID    NOT NULL REFERENCES people (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('alias', 'street_name', 'nhs_number', 'upn', 'pnc', 'local_id', 'phone', 'handle')),
    value       TEXT    NOT NULL,
    org_id      UUID    NOT NULL REFERENCES organisations (id),
    created_by  UUID    NOT NULL REFERENCES users (id),
    created_at  TIMESTAMPTZ NOT NULL,
    merged_from UUID
);

CREATE INDEX person_identifiers_person_idx ON person_identifiers (person_id);
-- Shared identifiers: the same number on two records is a strong sign they are one child.
CREATE INDEX person_identifiers_value_idx ON person_identifiers (kind, value);
