-- Identity, sessions, API tokens, sign-in throttling and the hash-chained audit log (PostgreSQL).
-- Keep in step with ../sqlite/0002_identity_audit.sql.

CREATE TABLE organisations (
    id          UUID        NOT NULL PRIMARY KEY,
    name        TEXT        NOT NULL,
    name_folded TEXT        NOT NULL UNIQUE,
    org_type    TEXT        NOT NULL CHECK (org_type IN ('school', 'childrens_social_care', 'police', 'health', 'specialist_service', 'voluntary_sector', 'local_authority', 'partnership')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE teams (
    id         UUID        NOT NULL PRIMARY KEY,
    org_id     UUID        NOT NULL REFERENCES organisations (id),
    name       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE users (
    id                  UUID        NOT NULL PRIMARY KEY,
    org_id              UUID        NOT NULL REFERENCES organisations (id),
    team_id             UUID        REFERENCES teams (id),
    email               TEXT        NOT NULL UNIQUE,
    display_name        TEXT        NOT NULL,
    roles               TEXT        NOT NULL,
    status              TEXT        NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash       TEXT,
    password_changed_at TIMESTAMPTZ,
    totp_secret         BYTEA,
    totp_last_step      BIGINT,
    mfa_enrolled_at     TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX users_org_idx ON users (org_id);

CREATE TABLE recovery_codes (
    user_id    UUID        NOT NULL REFERENCES users (id),
    code_hash  TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    id           UUID        NOT NULL PRIMARY KEY,
    token_hash   TEXT        NOT NULL UNIQUE,
    user_id      UUID        REFERENCES users (id),
    stage        TEXT        NOT NULL CHECK (stage IN ('anonymous', 'password_ok', 'full')),
    csrf_secret  TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    mfa_at       TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_tokens (
    id           UUID        NOT NULL PRIMARY KEY,
    user_id      UUID        NOT NULL REFERENCES users (id),
    name         TEXT        NOT NULL,
    token_hash   TEXT        NOT NULL UNIQUE,
    scopes       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE auth_failures (
    id           UUID        NOT NULL PRIMARY KEY,
    throttle_key TEXT        NOT NULL,
    at           TIMESTAMPTZ NOT NULL
);

CREATE INDEX auth_failures_key_idx ON auth_failures (throttle_key, at);

CREATE TABLE audit_events (
    seq           BIGINT      NOT NULL PRIMARY KEY,
    id            UUID        NOT NULL UNIQUE,
    at            TIMESTAMPTZ NOT NULL,
    category      TEXT        NOT NULL,
    action        TEXT        NOT NULL,
    outcome       TEXT        NOT NULL,
    actor_user    UUID,
    actor_org     UUID,
    actor_role    TEXT,
    session_hash  TEXT,
    source_addr   TEXT,
    target_type   TEXT,
    target_id     UUID,
    justification TEXT,
    recipient     TEXT,
    legal_basis   TEXT,
    detail        TEXT,
    prev_hash     BYTEA       NOT NULL,
    hash          BYTEA       NOT NULL
);

CREATE INDEX audit_events_target_idx ON audit_events (target_id, seq);
CREATE INDEX audit_events_category_idx ON audit_events (category, seq);

CREATE TABLE audit_head (
    id   BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA  NOT NULL,
    mac  BYTEA  NOT NULL
);

-- Nobody edits or deletes audit events through mace; `mace audit verify` detects tampering by
-- anyone who bypasses this trigger (for example a superuser).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
