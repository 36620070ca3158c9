-- Identity, sessions, API tokens, sign-in throttling and the hash-chained audit log (SQLite).
-- Keep in step with ../postgres/0002_identity_audit.sql.

CREATE TABLE organisations (
    id          BLOB    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    name_folded TEXT    NOT NULL UNIQUE,
    org_type    TEXT    NOT NULL CHECK (org_type IN ('school', 'childrens_social_care', 'police', 'health', 'specialist_service', 'voluntary_sector', 'local_authority', 'partnership')),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE teams (
    id         BLOB    NOT NULL PRIMARY KEY,
    org_id     BLOB    NOT NULL REFERENCES organisations (id),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, name)
) STRICT;

CREATE TABLE users (
    id                  BLOB    NOT NULL PRIMARY KEY,
    org_id              BLOB    NOT NULL REFERENCES organisations (id),
    team_id             BLOB    REFERENCES teams (id),
    email               TEXT    NOT NULL UNIQUE,
    display_name        TEXT    NOT NULL,
    roles               TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash       TEXT,
    password_changed_at INTEGER,
    totp_secret         BLOB,
    totp_last_step      INTEGER,
    mfa_enrolled_at     INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX users_org_idx ON users (org_id);

CREATE TABLE recovery_codes (
    user_id    BLOB    NOT NULL REFERENCES users (id),
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE sessions (
    id           BLOB    NOT NULL PRIMARY KEY,
    token_hash   TEXT    NOT NULL UNIQUE,
    user_id      BLOB    REFERENCES users (id),
    stage        TEXT    NOT NULL CHECK (stage IN ('anonymous', 'password_ok', 'full')),
    csrf_secret  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    mfa_at       INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BLOB    NOT NULL PRIMARY KEY,
    user_id      BLOB    NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE auth_failures (
    id           BLOB    NOT NULL PRIMARY KEY,
    throttle_key TEXT    NOT NULL,
    at           INTEGER NOT NULL
) STRICT;

CREATE INDEX auth_failures_key_idx ON auth_failures (throttle_key, at);

CREATE TABLE audit_events (
    seq           INTEGER NOT NULL PRIMARY KEY,
    id            BLOB    NOT NULL UNIQUE,
    at            INTEGER NOT NULL,
    category      TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    actor_user    BLOB,
    actor_org     BLOB,
    actor_role    TEXT,
    session_hash  TEXT,
    source_addr   TEXT,
    target_type   TEXT,
    target_id     BLOB,
    justification TEXT,
    recipient     TEXT,
    legal_basis   TEXT,
    detail        TEXT,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL
) STRICT;

CREATE INDEX audit_events_target_idx ON audit_events (target_id, seq);
CREATE INDEX audit_events_category_idx ON audit_events (category, seq);

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    mac  BLOB    NOT NULL
) STRICT;

-- Nobody edits or deletes audit events through mace; `mace audit verify` detects tampering by
-- anyone who bypasses these triggers with direct file access.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
