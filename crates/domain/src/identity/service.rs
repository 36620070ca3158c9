//! Sign-in, second factor and sessions (security guide AUTH-03, AUTH-05, AUTH-08, AUTH-09,
//! SESS-01..03). Every outcome appends an `authn` audit event in the same transaction.
//!
//! Argon2 is deliberately outside these functions: the web layer runs `password::verify` (or
//! `verify_dummy` for an unknown account) on a bounded blocking pool between
//! [`lookup_for_sign_in`] and [`finish_sign_in`], so no transaction is held open while hashing.

use crate::Ctx;
use crate::audit::{Category, ChainKey, NewEvent, Outcome};
use crate::error::{Error, Result};
use crate::identity::model::{Email, Session, SessionPolicy, SessionStage, User, UserStatus};
use crate::identity::totp;
use crate::ports::{AuditLog, IdentityRepo, SessionRepo, ThrottleRepo};
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Failures allowed per account-and-address pair in [`THROTTLE_WINDOW`] before a pause.
pub const PAIR_LIMIT: i64 = 10;
/// Failures allowed per account (from any address) in the window; beyond it the pause doubles
/// with each failure, capped at [`MAX_PAUSE`], so nobody can lock an officer out for good.
pub const ACCOUNT_LIMIT: i64 = 30;
/// Failures allowed per address (any account) in the window.
pub const ADDRESS_LIMIT: i64 = 100;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
pub const MAX_PAUSE: Duration = Duration::minutes(15);
pub const RECOVERY_CODES: usize = 10;

/// 256 bits from the OS CSPRNG, base64url without padding (SESS-01, CRY-04).
pub fn random_token() -> Result<String> {
    let mut b = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|_| Error::store("the OS random source failed"))?;
    Ok(base64url(&b))
}

fn base64url(b: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(b)
}

/// What is stored for a token: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A fresh session and the token for its cookie (shown to the browser only).
pub struct Issued {
    pub session: Session,
    pub token: String,
}

fn issue(
    ctx: &Ctx,
    user: Option<&User>,
    stage: SessionStage,
    mfa_at: Option<OffsetDateTime>,
) -> Result<Issued> {
    let token = random_token()?;
    let now = ctx.clock.now();
    Ok(Issued {
        session: Session {
            id: ctx.ids.new_id(),
            token_hash: hash_token(&token),
            user_id: user.map(|u| u.id),
            stage,
            csrf_secret: random_token()?,
            created_at: now,
            last_seen_at: now,
            mfa_at,
            revoked_at: None,
        },
        token,
    })
}

/// Compare two secrets in constant time (CSRF tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The form token for a pre-sign-in cookie nonce: a MAC under a key derived from the instance
/// key, so the sign-in form is protected (a signed double-submit cookie) without storing a
/// session for every visitor.
pub fn pre_sign_in_token(key: &ChainKey, nonce: &str) -> String {
    use hmac::Mac;
    let derived = key.derive("pre-sign-in-csrf");
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&derived);
    let mut m = <hmac::Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    m.update(nonce.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// How often a session's last-seen time is written: idle timeouts are enforced to within this.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Find the live session for a cookie token. Expired (idle or absolute) or revoked sessions,
/// and sessions of disabled users, are `None`. Read-only: call [`touch`] when
/// [`needs_touch`] says so.
pub async fn resolve<R: SessionRepo + IdentityRepo>(
    ctx: &Ctx,
    tx: &mut R,
    token: &str,
    policy: SessionPolicy,
) -> Result<Option<(Session, Option<User>)>> {
    let Some(s) = tx.find_session(&hash_token(token)).await? else {
        return Ok(None);
    };
    if !s.live(ctx.clock.now(), policy) {
        return Ok(None);
    }
    let user = match s.user_id {
        Some(id) => match tx.get_user(id).await? {
            Some(u) if u.status != UserStatus::Disabled => Some(u),
            _ => return Ok(None),
        },
        None => None,
    };
    Ok(Some((s, user)))
}

/// Is the session's last-seen time old enough to be worth a write?
pub fn needs_touch(ctx: &Ctx, s: &Session) -> bool {
    ctx.clock.now() - s.last_seen_at >= TOUCH_INTERVAL
}

/// Record activity on a session (the idle timeout restarts).
pub async fn touch<R: SessionRepo>(ctx: &Ctx, tx: &mut R, s: &Session) -> Result<()> {
    let mut s = s.clone();
    s.last_seen_at = ctx.clock.now();
    tx.update_session(&s).await
}

/// Where the request came from, for audit and throttling.
#[derive(Debug, Clone)]
pub struct Origin {
    pub addr: String,
}

fn authn_event(
    ctx: &Ctx,
    action: &str,
    outcome: Outcome,
    user: Option<&User>,
    session: Option<&Session>,
    origin: &Origin,
) -> NewEvent {
    NewEvent {
        actor_user: user.map(|u| u.id),
        actor_org: user.map(|u| u.org_id),
        session_hash: session.map(|s| sha_hex(&s.token_hash)),
        source_addr: Some(origin.addr.clone()),
        target_type: user.map(|_| "user".to_string()),
        target_id: user.map(|u| u.id),
        ..NewEvent::new(ctx.clock.now(), Category::Authn, action, outcome)
    }
}

fn throttle_keys(email: &str, addr: &str) -> [(String, i64); 3] {
    [
        (sha_hex(&format!("pair:{email}|{addr}")), PAIR_LIMIT),
        (sha_hex(&format!("acct:{email}")), ACCOUNT_LIMIT),
        (sha_hex(&format!("addr:{addr}")), ADDRESS_LIMIT),
    ]
}

/// Seconds to wait before another attempt, if any (AUTH-03).
pub async fn throttled<R: ThrottleRepo>(
    ctx: &Ctx,
    tx: &mut R,
    email: &str,
    origin: &Origin,
) -> Result<Option<i64>> {
    let now = ctx.clock.now();
    let mut wait = Duration::ZERO;
    for (key, limit) in throttle_keys(&email.trim().to_lowercase(), &origin.addr) {
        let (n, last) = tx.failures_since(&key, now - THROTTLE_WINDOW).await?;
        if n >= limit
            && let Some(last) = last
        {
            // One window's pause at the limit, doubling for each failure past it, capped.
            let over = u32::try_from((n - limit).min(8)).unwrap_or(8);
            let pause = (Duration::minutes(1) * 2i32.pow(over)).min(MAX_PAUSE);
            let until = last + pause;
            if until > now {
                wait = wait.max(until - now);
            }
        }
    }
    Ok((wait > Duration::ZERO).then(|| wait.whole_seconds().max(1)))
}

/// The account for a sign-in attempt (active accounts only), read before hashing.
pub async fn lookup_for_sign_in<R: IdentityRepo>(tx: &mut R, email: &str) -> Result<Option<User>> {
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    Ok(tx
        .find_user_by_email(&email)
        .await?
        .filter(|u| u.status == UserStatus::Active && u.password_hash.is_some()))
}

pub enum SignIn {
    /// Password accepted: the pre-login session is replaced by this one, awaiting the second factor.
    Accepted(Issued),
    /// Wrong password or unknown account: the same answer either way (AUTH-09).
    Refused,
}

/// Record the outcome of a password check made outside the transaction.
#[allow(clippy::too_many_arguments)]
pub async fn finish_sign_in<R: IdentityRepo + SessionRepo + ThrottleRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    email: &str,
    user: Option<User>,
    password_ok: bool,
    rehash: Option<String>,
    previous: Option<&Session>,
    origin: &Origin,
) -> Result<SignIn> {
    let now = ctx.clock.now();
    let folded = email.trim().to_lowercase();
    match user {
        Some(mut u) if password_ok => {
            if let Some(h) = rehash {
                u.password_hash = Some(h);
                u.updated_at = now;
                tx.update_user(&u).await?;
            }
            for (k, _) in throttle_keys(&folded, &origin.addr).iter().take(2) {
                tx.clear_failures(k).await?;
            }
            // Rotate: the pre-login session ends, a new token is issued (SESS-01).
            if let Some(old) = previous {
                let mut old = old.clone();
                old.revoked_at = Some(now);
                tx.update_session(&old).await?;
            }
            let issued = issue(ctx, Some(&u), SessionStage::PasswordOk, None)?;
            tx.insert_session(&issued.session).await?;
            let e = authn_event(
                ctx,
                "authn.password",
                Outcome::Success,
                Some(&u),
                Some(&issued.session),
                origin,
            );
            tx.append(key, ctx.ids.new_id(), &e).await?;
            Ok(SignIn::Accepted(issued))
        }
        user => {
            for (k, _) in throttle_keys(&folded, &origin.addr) {
                tx.record_failure(&k, now, now - THROTTLE_WINDOW).await?;
            }
            let e = authn_event(
                ctx,
                "authn.password",
                Outcome::Failure,
                user.as_ref(),
                previous,
                origin,
            );
            tx.append(key, ctx.ids.new_id(), &e).await?;
            Ok(SignIn::Refused)
        }
    }
}

/// Start (or restart) TOTP enrolment: a new secret, unconfirmed until a code is checked.
pub async fn begin_enrolment<R: IdentityRepo>(
    ctx: &Ctx,
    tx: &mut R,
    user: &mut User,
) -> Result<Vec<u8>> {
    if user.mfa_enrolled() {
        return Err(Error::Conflict(
            "an authenticator is already enrolled".into(),
        ));
    }
    if let Some(s) = &user.totp_secret {
        return Ok(s.clone());
    }
    let mut secret = vec![0u8; totp::SECRET_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut secret)
        .map_err(|_| Error::store("the OS random source failed"))?;
    user.totp_secret = Some(secret.clone());
    user.updated_at = ctx.clock.now();
    tx.update_user(user).await?;
    Ok(secret)
}

/// Full sign-in after the second factor: a rotated session with `mfa_at` set.
pub struct SecondFactor {
    pub issued: Issued,
    /// Recovery codes, shown once, when this completed an enrolment.
    pub recovery_codes: Vec<String>,
}

async fn promote<R: SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    session: &Session,
    user: &User,
    action: &str,
    origin: &Origin,
) -> Result<Issued> {
    let now = ctx.clock.now();
    let mut old = session.clone();
    old.revoked_at = Some(now);
    tx.update_session(&old).await?;
    let issued = issue(ctx, Some(user), SessionStage::Full, Some(now))?;
    tx.insert_session(&issued.session).await?;
    let e = authn_event(
        ctx,
        action,
        Outcome::Success,
        Some(user),
        Some(&issued.session),
        origin,
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(issued)
}

/// Confirm enrolment with a code from the new authenticator.
pub async fn confirm_enrolment<R: IdentityRepo + SessionRepo + ThrottleRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    session: &Session,
    mut user: User,
    code: &str,
    origin: &Origin,
) -> Result<Option<SecondFactor>> {
    let Some(secret) = user.totp_secret.clone() else {
        return Ok(None);
    };
    let now = ctx.clock.now();
    let Some(step) = totp::check(&secret, code, now, user.totp_last_step) else {
        mfa_failed(ctx, tx, key, "authn.mfa_enrol", session, &user, origin).await?;
        return Ok(None);
    };
    user.totp_last_step = Some(step);
    user.mfa_enrolled_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut b = [0u8; 10];
        rand::rngs::OsRng
            .try_fill_bytes(&mut b)
            .map_err(|_| Error::store("the OS random source failed"))?;
        let c = data_encoding::BASE32_NOPAD.encode(&b).to_lowercase();
        codes.push(format!(
            "{}-{}-{}-{}",
            &c[0..4],
            &c[4..8],
            &c[8..12],
            &c[12..16]
        ));
    }
    let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
    tx.set_recovery_codes(user.id, &hashes, now).await?;
    let issued = promote(ctx, tx, key, session, &user, "authn.mfa_enrol", origin).await?;
    Ok(Some(SecondFactor {
        issued,
        recovery_codes: codes,
    }))
}

fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    sha_hex(&format!("recovery:{normal}"))
}

/// Check a TOTP code (or a recovery code) for an enrolled user.
pub async fn verify_second_factor<R: IdentityRepo + SessionRepo + ThrottleRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    session: &Session,
    mut user: User,
    code: &str,
    origin: &Origin,
) -> Result<Option<SecondFactor>> {
    let now = ctx.clock.now();
    let Some(secret) = user.totp_secret.clone().filter(|_| user.mfa_enrolled()) else {
        return Ok(None);
    };
    if let Some(step) = totp::check(&secret, code, now, user.totp_last_step) {
        user.totp_last_step = Some(step);
        user.updated_at = now;
        tx.update_user(&user).await?;
        let issued = promote(ctx, tx, key, session, &user, "authn.mfa", origin).await?;
        return Ok(Some(SecondFactor {
            issued,
            recovery_codes: Vec::new(),
        }));
    }
    if code.trim().len() > 6
        && tx
            .use_recovery_code(user.id, &recovery_hash(code), now)
            .await?
    {
        let issued = promote(
            ctx,
            tx,
            key,
            session,
            &user,
            "authn.mfa_recovery_code",
            origin,
        )
        .await?;
        return Ok(Some(SecondFactor {
            issued,
            recovery_codes: Vec::new(),
        }));
    }
    mfa_failed(ctx, tx, key, "authn.mfa", session, &user, origin).await?;
    Ok(None)
}

/// A wrong second-factor code counts against the same throttles as a wrong password, so the
/// 10^6 codes cannot be tried at speed once a password is known.
async fn mfa_failed<R: ThrottleRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    action: &str,
    session: &Session,
    user: &User,
    origin: &Origin,
) -> Result<()> {
    let now = ctx.clock.now();
    for (k, _) in throttle_keys(user.email.as_str(), &origin.addr) {
        tx.record_failure(&k, now, now - THROTTLE_WINDOW).await?;
    }
    let e = authn_event(
        ctx,
        action,
        Outcome::Failure,
        Some(user),
        Some(session),
        origin,
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// Change the password (already checked and hashed outside the transaction): every other
/// session of the user ends, and this one is replaced by a fresh token (SESS-03, AUTH-07).
pub async fn change_password<R: IdentityRepo + SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    session: &Session,
    mut user: User,
    new_hash: String,
    origin: &Origin,
) -> Result<Issued> {
    let now = ctx.clock.now();
    user.password_hash = Some(new_hash);
    user.password_changed_at = Some(now);
    user.updated_at = now;
    tx.update_user(&user).await?;
    tx.revoke_user_sessions(user.id, now, None).await?;
    let issued = issue(
        ctx,
        Some(&user),
        SessionStage::Full,
        session.mfa_at.or(Some(now)),
    )?;
    tx.insert_session(&issued.session).await?;
    let e = authn_event(
        ctx,
        "authn.password_change",
        Outcome::Success,
        Some(&user),
        Some(&issued.session),
        origin,
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(issued)
}

/// End this session (SESS-03), or all of the user's sessions.
pub async fn sign_out<R: SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    session: &Session,
    user: Option<&User>,
    everywhere: bool,
    origin: &Origin,
) -> Result<()> {
    let now = ctx.clock.now();
    let mut s = session.clone();
    s.revoked_at = Some(now);
    tx.update_session(&s).await?;
    if let (true, Some(u)) = (everywhere, user) {
        tx.revoke_user_sessions(u.id, now, None).await?;
    }
    let action = if everywhere {
        "authn.sign_out_everywhere"
    } else {
        "authn.sign_out"
    };
    let e = authn_event(ctx, action, Outcome::Success, user, Some(session), origin);
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            data_encoding::BASE64URL_NOPAD
                .decode(a.as_bytes())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn pre_sign_in_tokens_depend_on_key_and_nonce() {
        let k1 = ChainKey::from_bytes([1; 32]);
        let k2 = ChainKey::from_bytes([2; 32]);
        assert_eq!(pre_sign_in_token(&k1, "n"), pre_sign_in_token(&k1, "n"));
        assert_ne!(pre_sign_in_token(&k1, "n"), pre_sign_in_token(&k1, "m"));
        assert_ne!(pre_sign_in_token(&k1, "n"), pre_sign_in_token(&k2, "n"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn recovery_codes_normalise() {
        assert_eq!(
            recovery_hash("abcd-efgh-ijkl-mnop"),
            recovery_hash(" ABCD EFGH IJKL MNOP ")
        );
    }
}
