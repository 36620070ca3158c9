//! Organisations, teams, users, sessions and API tokens.

use crate::authz::{OrgType, Role};
use crate::error::FieldError;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub org_type: OrgType,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Invited; has not yet set a password.
    Invited,
    Active,
    /// A leaver or suspended account: every session ends, sign-in refused.
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            UserStatus::Invited,
            UserStatus::Active,
            UserStatus::Disabled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// An e-mail address used as the sign-in name: trimmed, lower-cased, one `@`, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let e = input.trim().to_lowercase();
        let bad = || {
            FieldError::new(
                "email",
                "Enter an email address in the correct format, like name@example.org",
            )
        };
        let (local, domain) = e.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || e.len() > 254
            || e.chars().any(|c| c.is_whitespace() || c.is_control())
            || domain.contains('@')
        {
            return Err(bad());
        }
        Ok(Self(e))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub org_id: Uuid,
    pub team_id: Option<Uuid>,
    pub email: Email,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<OffsetDateTime>,
    /// The TOTP secret once enrolment is confirmed (or pending, with `mfa_enrolled_at` unset).
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    pub mfa_enrolled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    pub fn mfa_enrolled(&self) -> bool {
        self.mfa_enrolled_at.is_some() && self.totp_secret.is_some()
    }
}

/// How far a session has got through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Before sign-in: carries only the CSRF secret for the sign-in form.
    Anonymous,
    /// Password accepted; second factor (or its enrolment) still due. Only `/mfa/*` and sign-out answer.
    PasswordOk,
    /// Fully signed in.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Anonymous => "anonymous",
            SessionStage::PasswordOk => "password_ok",
            SessionStage::Full => "full",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            SessionStage::Anonymous,
            SessionStage::PasswordOk,
            SessionStage::Full,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Session timeouts (SESS-02): idle 15 minutes (up to 30 by configuration), absolute 12 hours,
/// following NIST SP 800-63B's reauthentication guidance for AAL2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(12),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    /// SHA-256 of the cookie token, hex. The token itself is never stored.
    pub token_hash: String,
    pub user_id: Option<Uuid>,
    pub stage: SessionStage,
    pub csrf_secret: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub mfa_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Session {
    /// Still usable at `now` under `policy`?
    pub fn live(&self, now: OffsetDateTime, policy: SessionPolicy) -> bool {
        self.revoked_at.is_none()
            && now - self.last_seen_at <= policy.idle
            && now - self.created_at <= policy.absolute
    }
}

/// What an API token may do. Tokens carry no grants of their own beyond these: every request
/// is still decided by the policy for the token's user (AC-04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Read what the user may read.
    Read,
    /// Create and change what the user may change.
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [TokenScope::Read, TokenScope::Write]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub token_hash: String,
    pub scopes: Vec<TokenScope>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiToken {
    pub fn live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" DSL@School.Example ").map(|e| e.0),
            Ok("dsl@school.example".into())
        );
        for bad in [
            "",
            "no-at",
            "@x.org",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "a@.org",
            "a@org.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_timeouts() {
        let t0 = datetime!(2026-01-05 09:00 UTC);
        let p = SessionPolicy::default();
        let s = Session {
            id: Uuid::nil(),
            token_hash: String::new(),
            user_id: None,
            stage: SessionStage::Full,
            csrf_secret: String::new(),
            created_at: t0,
            last_seen_at: t0,
            mfa_at: Some(t0),
            revoked_at: None,
        };
        assert!(s.live(t0 + Duration::minutes(15), p));
        assert!(
            !s.live(t0 + Duration::minutes(15) + Duration::seconds(1), p),
            "idle + 1 s"
        );
        let active = Session {
            last_seen_at: t0 + Duration::hours(12),
            ..s.clone()
        };
        assert!(active.live(t0 + Duration::hours(12), p));
        assert!(
            !active.live(t0 + Duration::hours(12) + Duration::seconds(1), p),
            "absolute + 1 s while active"
        );
        let revoked = Session {
            revoked_at: Some(t0),
            ..s
        };
        assert!(!revoked.live(t0, p));
    }
}
