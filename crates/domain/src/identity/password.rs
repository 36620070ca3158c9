//! Passwords (security guide AUTH-01, AUTH-02, AUTH-09, CRY-03).
//!
//! - At least 15 characters, at most 256, checked exactly as typed: no trimming, no case folding,
//!   no composition rules, no expiry.
//! - Rejected when `zxcvbn` (a maintained strength estimator with its own dictionaries of common
//!   and breached-style passwords) scores it below 3, taking the user's own name, e-mail and
//!   organisation, and the service's name, as context words.
//! - Hashed with Argon2id (m = 19 MiB, t = 2, p = 1 at least); a stored hash with weaker
//!   parameters is re-hashed on the next successful sign-in.
//! - Unknown users are checked against a dummy hash so their timing matches a wrong password.

use crate::error::FieldError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LEN: usize = 15;
pub const MAX_LEN: usize = 256;

/// Argon2id parameters. The defaults are OWASP's minimum for Argon2id; `stronger()` is what new
/// deployments should raise to as hardware allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl HashParams {
    fn argon2(self) -> Result<Argon2<'static>, argon2::Error> {
        Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(self.m_kib, self.t, self.p, None)?,
        ))
    }
}

/// Check a proposed password. `context` holds words an attacker would try first (the user's
/// name, e-mail, organisation).
pub fn check_new(password: &str, context: &[&str]) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(FieldError::new(
            "password",
            format!("Password must be {MIN_LEN} characters or more"),
        ));
    }
    if len > MAX_LEN {
        return Err(FieldError::new(
            "password",
            format!("Password must be {MAX_LEN} characters or fewer"),
        ));
    }
    let mut inputs: Vec<&str> = vec![
        "mace",
        "safeguarding",
        "partnership",
        "exploitation",
        "password",
    ];
    inputs.extend(context.iter().copied().filter(|w| !w.is_empty()));
    // Split e-mail addresses and names into their parts too.
    let parts: Vec<String> = context
        .iter()
        .flat_map(|w| w.split(|c: char| !c.is_alphanumeric()))
        .filter(|p| p.len() >= 3)
        .map(str::to_lowercase)
        .collect();
    inputs.extend(parts.iter().map(String::as_str));
    if only_context(password, &inputs) {
        return Err(FieldError::new(
            "password",
            "Password must not be made of your name, e-mail, organisation or the service's name with numbers or symbols",
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        return Err(FieldError::new(
            "password",
            "Choose a password that is harder to guess: avoid common passwords, your name, your organisation and simple patterns. A few unrelated words work well",
        ));
    }
    Ok(())
}

/// True when nothing much is left after removing context words, digits and punctuation: for
/// example "Kayleigh.Turner1990" for Kayleigh Turner.
fn only_context(password: &str, words: &[&str]) -> bool {
    let mut rest = password.to_lowercase();
    let mut words: Vec<String> = words
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.len() >= 3)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    for w in &words {
        rest = rest.replace(w.as_str(), "");
    }
    rest.chars().filter(|c| c.is_alphabetic()).count() < 4
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Hash a password with a fresh random salt from the OS.
pub fn hash(password: &str, params: HashParams) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let a = params.argon2().map_err(|_| HashError)?;
    a.hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, and the stored hash is weaker than `params`: store this new hash.
    YesRehash(String),
}

pub fn verify(password: &str, stored: &str, params: HashParams) -> Verified {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verified::No;
    };
    // Verify with the parameters recorded in the hash itself.
    if Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verified::No;
    }
    if needs_rehash(&parsed, params) {
        match hash(password, params) {
            Ok(h) => Verified::YesRehash(h),
            Err(_) => Verified::Yes,
        }
    } else {
        Verified::Yes
    }
}

fn needs_rehash(parsed: &PasswordHash<'_>, want: HashParams) -> bool {
    if parsed.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(parsed) {
        Ok(p) => p.m_cost() < want.m_kib || p.t_cost() < want.t || p.p_cost() < want.p,
        Err(_) => true,
    }
}

/// Spend the same work as a real check, for an unknown user (AUTH-09).
pub fn verify_dummy(password: &str, params: HashParams) {
    // A fixed, valid Argon2id hash of a random string with the default parameters.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$S0pS2mI7Hq3Vt2Y1mX0Z5o8E8yY0m3Qqz8cQ0b9p1ZQ";
    let _ = verify(password, DUMMY, params);
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: HashParams = HashParams {
        m_kib: 1024,
        t: 1,
        p: 1,
    };

    #[test]
    fn length_rules_auth_01() {
        assert!(
            check_new("aB3$aB3$aB3$aB", &[]).is_err(),
            "14 characters is too short"
        );
        assert!(check_new("plum-violin-harbour-77", &[]).is_ok());
        let long = "correct horse battery staple ".repeat(3);
        assert!(
            check_new(&long, &[]).is_ok(),
            "a 87-character passphrase is accepted"
        );
        assert!(check_new(&"x".repeat(MAX_LEN + 1), &[]).is_err());
    }

    #[test]
    fn common_and_context_passwords_rejected_auth_02() {
        for weak in [
            "passwordpassword",
            "123456789012345",
            "qwertyuiopasdfgh",
            "iloveyouiloveyou1",
        ] {
            assert!(check_new(weak, &[]).is_err(), "{weak}");
        }
        assert!(check_new("MaceSafeguarding2026", &[]).is_err());
        assert!(
            check_new(
                "kayleigh.turner1990",
                &["kayleigh.turner@school.example", "Kayleigh Turner"]
            )
            .is_err()
        );
    }

    #[test]
    fn exact_match_only() {
        let pw =
            "plum-violin-harbour-77-and-a-long-tail-of-words-beyond-seventy-two-characters-xyz";
        let h = hash(pw, FAST).unwrap();
        assert_eq!(verify(pw, &h, FAST), Verified::Yes);
        assert_eq!(
            verify(&pw[..72], &h, FAST),
            Verified::No,
            "no truncation at 72"
        );
        assert_eq!(
            verify(&pw.to_uppercase(), &h, FAST),
            Verified::No,
            "case matters"
        );
        assert_eq!(
            verify(&format!(" {pw}"), &h, FAST),
            Verified::No,
            "no trimming"
        );
    }

    #[test]
    fn weaker_hashes_upgrade_cry_03() {
        let pw = "plum-violin-harbour-77";
        let weak = hash(pw, FAST).unwrap();
        match verify(pw, &weak, HashParams::default()) {
            Verified::YesRehash(new) => {
                assert!(new.contains("m=19456,t=2,p=1"), "{new}");
                assert_eq!(verify(pw, &new, HashParams::default()), Verified::Yes);
            }
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[test]
    fn default_params_meet_the_minimum() {
        let h = hash("plum-violin-harbour-77", HashParams::default()).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$S0pS2mI7Hq3Vt2Y1mX0Z5o8E8yY0m3Qqz8cQ0b9p1ZQ"
        )
        .is_ok());
    }
}
