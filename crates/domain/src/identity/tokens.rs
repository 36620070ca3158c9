//! API tokens (security guide AUTH-10, AC-04): opaque, scoped, expiring, stored as hashes only.
//! A token acts as its user: every request it makes is still decided by the policy for that
//! user; its scopes only narrow what it may do (read, or read and write).

use crate::Ctx;
use crate::audit::{Category, ChainKey, NewEvent, Outcome};
use crate::error::{Error, FieldError, Result};
use crate::identity::model::{ApiToken, TokenScope, User, UserStatus};
use crate::identity::service::{hash_token, random_token};
use crate::ports::{AuditLog, IdentityRepo, SessionRepo};
use time::Duration;
use uuid::Uuid;

/// Every token starts with this, so secret scanners and people recognise one.
pub const PREFIX: &str = "mace_";
/// The longest a token may live.
pub const MAX_DAYS: i64 = 90;
/// How often a token's last-used time is written.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// What a new token should be.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub days: i64,
}

impl NewToken {
    /// Check the request; every problem is reported at once.
    pub fn validate(&self) -> Result<()> {
        let mut errs = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errs.push(FieldError::new(
                "name",
                "Enter a name for the token, such as the system that will use it (100 characters or fewer)",
            ));
        }
        if self.scopes.is_empty() {
            errs.push(FieldError::new("scopes", "Choose what the token may do"));
        }
        if !(1..=MAX_DAYS).contains(&self.days) {
            errs.push(FieldError::new(
                "days",
                format!("Choose when the token expires: between 1 and {MAX_DAYS} days"),
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errs))
        }
    }
}

fn event(ctx: &Ctx, user: &User, action: &str, token: Uuid) -> NewEvent {
    NewEvent {
        actor_user: Some(user.id),
        actor_org: Some(user.org_id),
        target_type: Some("api_token".into()),
        target_id: Some(token),
        ..NewEvent::new(ctx.clock.now(), Category::Admin, action, Outcome::Success)
    }
}

/// Create a token for `user`. The secret is returned once and never stored.
pub async fn create<R: SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    user: &User,
    new: &NewToken,
) -> Result<(ApiToken, String)> {
    new.validate()?;
    if user.status != UserStatus::Active {
        return Err(Error::Forbidden {
            reason: "inactive account".into(),
        });
    }
    let secret = format!("{PREFIX}{}", random_token()?);
    let now = ctx.clock.now();
    let mut scopes = new.scopes.clone();
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    let token = ApiToken {
        id: ctx.ids.new_id(),
        user_id: user.id,
        name: new.name.trim().to_string(),
        token_hash: hash_token(&secret),
        scopes,
        created_at: now,
        expires_at: now + Duration::days(new.days),
        last_used_at: None,
        revoked_at: None,
    };
    tx.insert_api_token(&token).await?;
    let mut e = event(ctx, user, "api_token.create", token.id);
    e.detail = Some(format!(
        "{{\"scopes\":\"{}\",\"days\":{}}}",
        token
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        new.days
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok((token, secret))
}

/// Revoke one of the user's own tokens.
pub async fn revoke<R: SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    user: &User,
    token_id: Uuid,
) -> Result<()> {
    if !tx
        .revoke_api_token(user.id, token_id, ctx.clock.now())
        .await?
    {
        return Err(Error::NotFound);
    }
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(ctx, user, "api_token.revoke", token_id),
    )
    .await?;
    Ok(())
}

/// The live token and its (active) user for a bearer secret; `None` for anything else.
pub async fn resolve<R: SessionRepo + IdentityRepo>(
    ctx: &Ctx,
    tx: &mut R,
    secret: &str,
) -> Result<Option<(ApiToken, User)>> {
    if !secret.starts_with(PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let Some(t) = tx.find_api_token(&hash_token(secret)).await? else {
        return Ok(None);
    };
    if !t.live(ctx.clock.now()) {
        return Ok(None);
    }
    match tx.get_user(t.user_id).await? {
        Some(u) if u.status == UserStatus::Active => Ok(Some((t, u))),
        _ => Ok(None),
    }
}

/// Is the token's last-used time old enough to be worth a write?
pub fn needs_touch(ctx: &Ctx, t: &ApiToken) -> bool {
    t.last_used_at
        .is_none_or(|at| ctx.clock.now() - at >= TOUCH_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_problem() {
        let bad = NewToken {
            name: " ".into(),
            scopes: vec![],
            days: 91,
        };
        let Err(Error::Validation(errs)) = bad.validate() else {
            panic!("invalid")
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "scopes", "days"]);
        let good = NewToken {
            name: "Case export".into(),
            scopes: vec![TokenScope::Read],
            days: 90,
        };
        assert!(good.validate().is_ok());
        assert!(NewToken { days: 0, ..good }.validate().is_err());
    }
}
