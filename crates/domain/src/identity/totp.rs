//! Time-based one-time passwords (RFC 6238; security guide AUTH-08): SHA-1, six digits, 30 s
//! steps, one step either side accepted, each step usable once per user (the caller stores the
//! last step accepted and passes it back in).

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Secrets are 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// The counter (time step) for an instant.
pub fn step_at(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// HOTP value for one counter (RFC 4226 §5.3).
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut block = [0u8; 64];
    // HMAC keys longer than a block would be hashed first; TOTP secrets here are 20 bytes.
    let n = secret.len().min(64);
    block[..n].copy_from_slice(&secret[..n]);
    let mut mac = <Hmac<Sha1> as hmac::digest::KeyInit>::new(&block.into());
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// Check a code typed at `now`. Returns the step it matched, which must be stored and passed as
/// `last_used` next time so the same code (or an earlier one) cannot be replayed.
pub fn check(
    secret: &[u8],
    code: &str,
    now: OffsetDateTime,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut matched = None;
    // Try every candidate step without stopping early, so timing says nothing about which matched.
    for step in [current - 1, current, current + 1] {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let want = format!(
            "{:0width$}",
            hotp(secret, counter, DIGITS),
            width = DIGITS as usize
        );
        if bool::from(want.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched.filter(|step| last_used.is_none_or(|last| *step > last))
}

pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

pub fn decode_secret(s: &str) -> Option<Vec<u8>> {
    BASE32_NOPAD
        .decode(s.trim().replace(' ', "").to_ascii_uppercase().as_bytes())
        .ok()
}

/// The `otpauth://` URI an authenticator app enrols from.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        encode_secret(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (eight digits; the secret is "12345678901234567890").
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            let counter = u64::try_from(t / 30).unwrap();
            assert_eq!(hotp(secret, counter, 8), want, "t={t}");
        }
    }

    #[test]
    fn window_and_replay() {
        let secret = b"12345678901234567890";
        let now = OffsetDateTime::from_unix_timestamp(1_111_111_111).unwrap();
        let code = |t: i64| format!("{:06}", hotp(secret, u64::try_from(t / 30).unwrap(), 6));
        let step = step_at(now);
        assert_eq!(check(secret, &code(1_111_111_111), now, None), Some(step));
        assert_eq!(
            check(secret, &code(1_111_111_111 - 30), now, None),
            Some(step - 1),
            "one step back ok"
        );
        assert_eq!(
            check(secret, &code(1_111_111_111 - 90), now, None),
            None,
            "t-90s fails"
        );
        assert_eq!(
            check(secret, &code(1_111_111_111), now, Some(step)),
            None,
            "replay fails"
        );
        assert_eq!(
            check(secret, &code(1_111_111_111 - 30), now, Some(step)),
            None,
            "older code after newer fails"
        );
        assert_eq!(check(secret, "12345", now, None), None);
        assert_eq!(check(secret, "abcdef", now, None), None);
    }

    #[test]
    fn secret_round_trip_and_uri() {
        let s = [7u8; SECRET_BYTES];
        assert_eq!(decode_secret(&encode_secret(&s)), Some(s.to_vec()));
        let uri = otpauth_uri("mace", "dsl@school.example", &s);
        assert!(uri.starts_with("otpauth://totp/mace:dsl%40school.example?secret="));
    }
}
