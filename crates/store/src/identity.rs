//! Identity, sessions, API tokens and sign-in throttling, over both engines.

use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::authz::{OrgType, Role};
use mace_domain::identity::model::{
    ApiToken, Email, Organisation, Session, SessionStage, Team, TokenScope, User, UserStatus,
};
use mace_domain::person::fold;
use mace_domain::ports::{IdentityRepo, SessionRepo, ThrottleRepo};
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

fn corrupt(what: &str) -> Error {
    Error::store(format!("stored {what} is invalid"))
}

fn t(x: Option<DbTime>) -> Option<OffsetDateTime> {
    x.map(|d| d.0)
}

// ---- organisations and teams ----------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: Uuid,
    name: String,
    org_type: String,
    created_at: DbTime,
}

impl TryFrom<OrgRow> for Organisation {
    type Error = Error;
    fn try_from(r: OrgRow) -> Result<Self> {
        Ok(Organisation {
            id: r.id,
            name: r.name,
            org_type: OrgType::parse(&r.org_type).ok_or_else(|| corrupt("organisation type"))?,
            created_at: r.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: Uuid,
    org_id: Uuid,
    name: String,
    created_at: DbTime,
}

// ---- users ----------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    org_id: Uuid,
    team_id: Option<Uuid>,
    email: String,
    display_name: String,
    roles: String,
    status: String,
    password_hash: Option<String>,
    password_changed_at: Option<DbTime>,
    totp_secret: Option<Vec<u8>>,
    totp_last_step: Option<i64>,
    mfa_enrolled_at: Option<DbTime>,
    created_at: DbTime,
    updated_at: DbTime,
}

fn roles_to_text(roles: &[Role]) -> String {
    let mut r: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    r.sort_unstable();
    r.dedup();
    r.join(",")
}

impl TryFrom<UserRow> for User {
    type Error = Error;
    fn try_from(r: UserRow) -> Result<Self> {
        let roles = r
            .roles
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Role::parse(s).ok_or_else(|| corrupt("role")))
            .collect::<Result<Vec<_>>>()?;
        Ok(User {
            id: r.id,
            org_id: r.org_id,
            team_id: r.team_id,
            email: Email::parse(&r.email).map_err(|_| corrupt("email"))?,
            display_name: r.display_name,
            roles,
            status: UserStatus::parse(&r.status).ok_or_else(|| corrupt("user status"))?,
            password_hash: r.password_hash,
            password_changed_at: t(r.password_changed_at),
            totp_secret: r.totp_secret,
            totp_last_step: r.totp_last_step,
            mfa_enrolled_at: t(r.mfa_enrolled_at),
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

/// `SELECT <every user column> FROM users <rest>`, as one literal.
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, org_id, team_id, email, display_name, roles, status, password_hash, password_changed_at, ",
            "totp_secret, totp_last_step, mfa_enrolled_at, created_at, updated_at FROM users ",
            $rest
        )
    };
}

impl IdentityRepo for Tx {
    async fn insert_org(&mut self, org: &Organisation) -> Result<()> {
        const SQL: &str = "INSERT INTO organisations (id, name, name_folded, org_type, created_at) VALUES ($1, $2, $3, $4, $5)";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(org.id)
            .bind(&org.name)
            .bind(fold(&org.name))
            .bind(org.org_type.as_str())
            .bind(DbTime(org.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_org(&mut self, id: Uuid) -> Result<Option<Organisation>> {
        const SQL: &str = "SELECT id, name, org_type, created_at FROM organisations WHERE id = $1";
        on_both!(self, |c| sqlx::query_as::<_, OrgRow>(SQL)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?
        .map(Organisation::try_from)
        .transpose()
    }

    async fn list_orgs(&mut self) -> Result<Vec<Organisation>> {
        const SQL: &str =
            "SELECT id, name, org_type, created_at FROM organisations ORDER BY name_folded";
        on_both!(self, |c| sqlx::query_as::<_, OrgRow>(SQL)
            .fetch_all(c)
            .await)
        .map_err(db_err)?
        .into_iter()
        .map(Organisation::try_from)
        .collect()
    }

    async fn insert_team(&mut self, team: &Team) -> Result<()> {
        const SQL: &str =
            "INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(team.id)
            .bind(team.org_id)
            .bind(&team.name)
            .bind(DbTime(team.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn list_teams(&mut self, org_id: Uuid) -> Result<Vec<Team>> {
        const SQL: &str =
            "SELECT id, org_id, name, created_at FROM teams WHERE org_id = $1 ORDER BY name";
        let rows = on_both!(self, |c| sqlx::query_as::<_, TeamRow>(SQL)
            .bind(org_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| Team {
                id: r.id,
                org_id: r.org_id,
                name: r.name,
                created_at: r.created_at.0,
            })
            .collect())
    }

    async fn insert_user(&mut self, u: &User) -> Result<()> {
        const SQL: &str = "INSERT INTO users (id, org_id, team_id, email, display_name, roles, status, password_hash, \
             password_changed_at, totp_secret, totp_last_step, mfa_enrolled_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(u.id)
            .bind(u.org_id)
            .bind(u.team_id)
            .bind(u.email.as_str())
            .bind(&u.display_name)
            .bind(roles_to_text(&u.roles))
            .bind(u.status.as_str())
            .bind(&u.password_hash)
            .bind(u.password_changed_at.map(DbTime))
            .bind(&u.totp_secret)
            .bind(u.totp_last_step)
            .bind(u.mfa_enrolled_at.map(DbTime))
            .bind(DbTime(u.created_at))
            .bind(DbTime(u.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_user(&mut self, u: &User) -> Result<()> {
        const SQL: &str = "UPDATE users SET team_id = $2, email = $3, display_name = $4, roles = $5, status = $6, \
             password_hash = $7, password_changed_at = $8, totp_secret = $9, totp_last_step = $10, \
             mfa_enrolled_at = $11, updated_at = $12 WHERE id = $1";
        let n = on_both!(self, |c| sqlx::query(SQL)
            .bind(u.id)
            .bind(u.team_id)
            .bind(u.email.as_str())
            .bind(&u.display_name)
            .bind(roles_to_text(&u.roles))
            .bind(u.status.as_str())
            .bind(&u.password_hash)
            .bind(u.password_changed_at.map(DbTime))
            .bind(&u.totp_secret)
            .bind(u.totp_last_step)
            .bind(u.mfa_enrolled_at.map(DbTime))
            .bind(DbTime(u.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        if n == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    async fn get_user(&mut self, id: Uuid) -> Result<Option<User>> {
        const SQL: &str = select_users!("WHERE id = $1");
        on_both!(self, |c| sqlx::query_as::<_, UserRow>(SQL)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?
        .map(User::try_from)
        .transpose()
    }

    async fn find_user_by_email(&mut self, email: &Email) -> Result<Option<User>> {
        const SQL: &str = select_users!("WHERE email = $1");
        on_both!(self, |c| sqlx::query_as::<_, UserRow>(SQL)
            .bind(email.as_str())
            .fetch_optional(c)
            .await)
        .map_err(db_err)?
        .map(User::try_from)
        .transpose()
    }

    async fn list_users(&mut self, org_id: Option<Uuid>) -> Result<Vec<User>> {
        const ALL: &str = select_users!("ORDER BY display_name, email");
        const ONE: &str = select_users!("WHERE org_id = $1 ORDER BY display_name, email");
        let rows = match org_id {
            None => on_both!(self, |c| sqlx::query_as::<_, UserRow>(ALL)
                .fetch_all(c)
                .await),
            Some(org) => on_both!(self, |c| sqlx::query_as::<_, UserRow>(ONE)
                .bind(org)
                .fetch_all(c)
                .await),
        }
        .map_err(db_err)?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn count_users(&mut self) -> Result<i64> {
        const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM users";
        on_both!(self, |c| sqlx::query_scalar::<_, i64>(SQL)
            .fetch_one(c)
            .await)
        .map_err(db_err)
    }

    async fn set_recovery_codes(
        &mut self,
        user_id: Uuid,
        code_hashes: &[String],
        at: OffsetDateTime,
    ) -> Result<()> {
        const DEL: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
        const INS: &str = "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, NULL)";
        on_both!(self, |c| sqlx::query(DEL)
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        for h in code_hashes {
            on_both!(self, |c| sqlx::query(INS)
                .bind(user_id)
                .bind(h)
                .bind(DbTime(at))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn use_recovery_code(
        &mut self,
        user_id: Uuid,
        code_hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
        let n = on_both!(self, |c| sqlx::query(SQL)
            .bind(user_id)
            .bind(code_hash)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        Ok(n == 1)
    }
}

// ---- sessions and tokens --------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    token_hash: String,
    user_id: Option<Uuid>,
    stage: String,
    csrf_secret: String,
    created_at: DbTime,
    last_seen_at: DbTime,
    mfa_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: r.id,
            token_hash: r.token_hash,
            user_id: r.user_id,
            stage: SessionStage::parse(&r.stage).ok_or_else(|| corrupt("session stage"))?,
            csrf_secret: r.csrf_secret,
            created_at: r.created_at.0,
            last_seen_at: r.last_seen_at.0,
            mfa_at: t(r.mfa_at),
            revoked_at: t(r.revoked_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    token_hash: String,
    scopes: String,
    created_at: DbTime,
    expires_at: DbTime,
    last_used_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = Error;
    fn try_from(r: TokenRow) -> Result<Self> {
        let scopes = r
            .scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| TokenScope::parse(s).ok_or_else(|| corrupt("token scope")))
            .collect::<Result<Vec<_>>>()?;
        Ok(ApiToken {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            token_hash: r.token_hash,
            scopes,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            last_used_at: t(r.last_used_at),
            revoked_at: t(r.revoked_at),
        })
    }
}

impl SessionRepo for Tx {
    async fn insert_session(&mut self, s: &Session) -> Result<()> {
        const SQL: &str = "INSERT INTO sessions (id, token_hash, user_id, stage, csrf_secret, created_at, last_seen_at, mfa_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(s.id)
            .bind(&s.token_hash)
            .bind(s.user_id)
            .bind(s.stage.as_str())
            .bind(&s.csrf_secret)
            .bind(DbTime(s.created_at))
            .bind(DbTime(s.last_seen_at))
            .bind(s.mfa_at.map(DbTime))
            .bind(s.revoked_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn find_session(&mut self, token_hash: &str) -> Result<Option<Session>> {
        const SQL: &str = "SELECT id, token_hash, user_id, stage, csrf_secret, created_at, last_seen_at, mfa_at, revoked_at \
             FROM sessions WHERE token_hash = $1";
        on_both!(self, |c| sqlx::query_as::<_, SessionRow>(SQL)
            .bind(token_hash)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?
        .map(Session::try_from)
        .transpose()
    }

    async fn update_session(&mut self, s: &Session) -> Result<()> {
        const SQL: &str = "UPDATE sessions SET user_id = $2, stage = $3, csrf_secret = $4, last_seen_at = $5, mfa_at = $6, \
             revoked_at = $7 WHERE id = $1";
        let n = on_both!(self, |c| sqlx::query(SQL)
            .bind(s.id)
            .bind(s.user_id)
            .bind(s.stage.as_str())
            .bind(&s.csrf_secret)
            .bind(DbTime(s.last_seen_at))
            .bind(s.mfa_at.map(DbTime))
            .bind(s.revoked_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        if n == 0 { Err(Error::NotFound) } else { Ok(()) }
    }

    async fn revoke_user_sessions(
        &mut self,
        user_id: Uuid,
        at: OffsetDateTime,
        keep: Option<Uuid>,
    ) -> Result<u64> {
        const ALL: &str =
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
        const EXCEPT: &str = "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $3";
        match keep {
            None => on_both!(self, |c| sqlx::query(ALL)
                .bind(user_id)
                .bind(DbTime(at))
                .execute(c)
                .await
                .map(|r| r.rows_affected())),
            Some(k) => on_both!(self, |c| sqlx::query(EXCEPT)
                .bind(user_id)
                .bind(DbTime(at))
                .bind(k)
                .execute(c)
                .await
                .map(|r| r.rows_affected())),
        }
        .map_err(db_err)
    }

    async fn insert_api_token(&mut self, tk: &ApiToken) -> Result<()> {
        const SQL: &str = "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        let scopes: Vec<&str> = tk.scopes.iter().map(|s| s.as_str()).collect();
        let scopes = scopes.join(",");
        on_both!(self, |c| sqlx::query(SQL)
            .bind(tk.id)
            .bind(tk.user_id)
            .bind(&tk.name)
            .bind(&tk.token_hash)
            .bind(&scopes)
            .bind(DbTime(tk.created_at))
            .bind(DbTime(tk.expires_at))
            .bind(tk.last_used_at.map(DbTime))
            .bind(tk.revoked_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn find_api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>> {
        const SQL: &str = concat!(
            "SELECT id, user_id, name, token_hash, scopes, created_at, expires_at, last_used_at, revoked_at ",
            "FROM api_tokens WHERE token_hash = $1"
        );
        on_both!(self, |c| sqlx::query_as::<_, TokenRow>(SQL)
            .bind(token_hash)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?
        .map(ApiToken::try_from)
        .transpose()
    }

    async fn list_api_tokens(&mut self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        const SQL: &str = concat!(
            "SELECT id, user_id, name, token_hash, scopes, created_at, expires_at, last_used_at, revoked_at ",
            "FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC"
        );
        on_both!(self, |c| sqlx::query_as::<_, TokenRow>(SQL)
            .bind(user_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?
        .into_iter()
        .map(ApiToken::try_from)
        .collect()
    }

    async fn revoke_api_token(
        &mut self,
        user_id: Uuid,
        token_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE api_tokens SET revoked_at = $3 WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL";
        let n = on_both!(self, |c| sqlx::query(SQL)
            .bind(user_id)
            .bind(token_id)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        Ok(n == 1)
    }

    async fn touch_api_token(&mut self, token_id: Uuid, at: OffsetDateTime) -> Result<()> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(token_id)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}

// ---- throttling -----------------------------------------------------------------------------

impl ThrottleRepo for Tx {
    async fn record_failure(
        &mut self,
        key: &str,
        at: OffsetDateTime,
        since: OffsetDateTime,
    ) -> Result<i64> {
        const INS: &str = "INSERT INTO auth_failures (id, throttle_key, at) VALUES ($1, $2, $3)";
        // The row id only has to be unique (nothing refers to it): random bytes suffice.
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        on_both!(self, |c| sqlx::query(INS)
            .bind(id)
            .bind(key)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        Ok(self.failures_since(key, since).await?.0)
    }

    async fn failures_since(
        &mut self,
        key: &str,
        since: OffsetDateTime,
    ) -> Result<(i64, Option<OffsetDateTime>)> {
        const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT), MAX(at) FROM auth_failures WHERE throttle_key = $1 AND at >= $2";
        let (n, last): (i64, Option<DbTime>) = on_both!(self, |c| sqlx::query_as(SQL)
            .bind(key)
            .bind(DbTime(since))
            .fetch_one(c)
            .await)
        .map_err(db_err)?;
        Ok((n, t(last)))
    }

    async fn clear_failures(&mut self, key: &str) -> Result<()> {
        const SQL: &str = "DELETE FROM auth_failures WHERE throttle_key = $1";
        on_both!(self, |c| sqlx::query(SQL)
            .bind(key)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}
