//! UK vehicle registration marks ("number plates"): parsed, validated and normalised.
//!
//! A mark is stored in its compact form (capitals, no spaces: `AB12CDE`) and shown with the
//! conventional space (`AB12 CDE`). The shapes accepted, and the letter rules applied, follow
//! the DVLA's guide INF104 "Vehicle registration numbers and number plates" (GOV.UK) and its
//! description of the number formats:
//!
//! - current (since September 2001), `AB12 CDE`: a two-letter local memory tag, a two-digit age
//!   identifier and three random letters. I, Q and Z are not used in the memory tag; I and Q
//!   are not used in the random letters (Z is).
//! - prefix (1983 to 2001), `A123 BCD`: an age letter, 1 to 3 digits, three letters. The age
//!   letters skip I, O, U and Z; Q is the "Q plate" for a vehicle of unknown age or identity.
//! - suffix (1963 to 1983), `ABC 123D`: three letters, 1 to 3 digits, an age letter, which is
//!   never I, O, Q, U or Z.
//! - in both, Q is never one of the three letters (it marks a Q plate only); whether I and Z
//!   appear there is not stated plainly, so they are accepted.
//! - dateless (before 1963), `ABC 123` or `123 ABC`: 1 to 3 letters and 1 to 4 digits, either
//!   way round. Great Britain never used I, Q or Z in these letters (I and Z were Ireland's).
//! - Northern Ireland, `ABZ 1234`: like a dateless mark, but its two-letter county code (the last
//!   two letters) contains I or Z.
//!
//! Nothing else is accepted: a number never begins with 0 (serials start at 1), and the letter
//! groups hold no Q outside a Q plate. Cherished transfers keep these shapes, so every real
//! mark has one of them. The registration is not checked against the DVLA's register: a mark
//! that has this shape may still never have been issued.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which of the UK's formats a registration mark has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationFormat {
    /// `AB12 CDE`, since September 2001.
    Current,
    /// `A123 BCD`, 1983 to 2001 (and Q plates).
    Prefix,
    /// `ABC 123D`, 1963 to 1983.
    Suffix,
    /// `ABC 123` or `123 ABC`, before 1963.
    Dateless,
    /// `ABZ 1234`: Northern Ireland's county codes contain I or Z.
    NorthernIreland,
}

impl RegistrationFormat {
    pub fn label(self) -> &'static str {
        match self {
            RegistrationFormat::Current => "Current format",
            RegistrationFormat::Prefix => "Prefix format",
            RegistrationFormat::Suffix => "Suffix format",
            RegistrationFormat::Dateless => "Dateless format",
            RegistrationFormat::NorthernIreland => "Northern Ireland format",
        }
    }
}

/// A UK vehicle registration mark in its compact form (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VehicleRegistration(String);

/// The longest mark has 7 characters; input longer than this (spaces included) is refused
/// before any other work, so parsing stays cheap whatever is typed or imported.
pub const MAX_INPUT: usize = 32;

const FIELD: &str = "registration";

fn bad(message: &str) -> FieldError {
    FieldError::new(FIELD, message)
}

const GENERAL: &str = "Enter a UK vehicle registration, like AB12 CDE, A123 BCD or ABC 123D";

/// A run of letters or of digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run<'a> {
    Letters(&'a str),
    Digits(&'a str),
}

/// Split a compact mark (ASCII capitals and digits only) into runs of letters and digits.
fn runs(s: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    for i in 1..=b.len() {
        let boundary = i == b.len() || b[i].is_ascii_digit() != b[i - 1].is_ascii_digit();
        if boundary {
            let part = &s[start..i];
            out.push(if b[start].is_ascii_digit() {
                Run::Digits(part)
            } else {
                Run::Letters(part)
            });
            start = i;
        }
    }
    out
}

fn has_any(s: &str, letters: &[u8]) -> bool {
    s.bytes().any(|c| letters.contains(&c))
}

/// A serial number: 1 to `max` digits, not starting with 0.
fn serial(d: &str, max: usize) -> bool {
    (1..=max).contains(&d.len()) && !d.starts_with('0')
}

impl VehicleRegistration {
    /// Parse a registration as typed: any case, with or without spaces.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        if input.len() > MAX_INPUT {
            return Err(bad(GENERAL));
        }
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.is_empty() {
            return Err(bad("Enter the vehicle registration"));
        }
        if !compact.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(
                "A vehicle registration has only letters and numbers, like AB12 CDE",
            ));
        }
        if compact.len() > 7 {
            return Err(bad(
                "A UK vehicle registration has at most 7 letters and numbers",
            ));
        }
        classify(&compact)?;
        Ok(Self(compact))
    }

    /// The compact form: capitals, no spaces (`AB12CDE`). This is the stored and matched form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn format(&self) -> RegistrationFormat {
        // A stored value was classified when it was parsed.
        classify(&self.0).unwrap_or(RegistrationFormat::Dateless)
    }

    /// The form shown to people, with the conventional space: `AB12 CDE`, `A123 BCD`,
    /// `ABC 123D`, `ABC 123`, `123 ABC`.
    pub fn display(&self) -> String {
        let s = &self.0;
        let split = match self.format() {
            // The last three letters stand apart.
            RegistrationFormat::Current | RegistrationFormat::Prefix => s.len().saturating_sub(3),
            // Between the letters and the number (whichever comes first).
            RegistrationFormat::Suffix
            | RegistrationFormat::Dateless
            | RegistrationFormat::NorthernIreland => {
                let first_digit = s.as_bytes().first().is_some_and(u8::is_ascii_digit);
                s.bytes()
                    .position(|c| c.is_ascii_digit() != first_digit)
                    .unwrap_or(s.len())
            }
        };
        match (s.get(..split), s.get(split..)) {
            (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => format!("{a} {b}"),
            _ => s.clone(),
        }
    }
}

/// Which format a compact mark has, or why it has none.
fn classify(s: &str) -> Result<RegistrationFormat, FieldError> {
    use Run::{Digits as D, Letters as L};
    match runs(s).as_slice() {
        // Current: AB12 CDE.
        [L(tag), D(age), L(random)] if tag.len() == 2 && age.len() == 2 && random.len() == 3 => {
            if has_any(tag, b"IQZ") {
                Err(bad(
                    "The first two letters of a registration like AB12 CDE are never I, Q or Z",
                ))
            } else if has_any(random, b"IQ") {
                Err(bad(
                    "The last three letters of a registration like AB12 CDE are never I or Q",
                ))
            } else {
                Ok(RegistrationFormat::Current)
            }
        }
        // Prefix: A123 BCD (Q123 BCD is a Q plate).
        [L(age), D(number), L(letters)] if age.len() == 1 && letters.len() == 3 => {
            if !serial(number, 3) {
                Err(bad(GENERAL))
            } else if has_any(age, b"IOUZ") {
                Err(bad(
                    "The first letter of a registration like A123 BCD is never I, O, U or Z",
                ))
            } else if has_any(letters, b"Q") {
                Err(bad(
                    "The last three letters of a registration like A123 BCD are never Q",
                ))
            } else {
                Ok(RegistrationFormat::Prefix)
            }
        }
        // Suffix: ABC 123D.
        [L(letters), D(number), L(age)] if letters.len() == 3 && age.len() == 1 => {
            if !serial(number, 3) {
                Err(bad(GENERAL))
            } else if has_any(age, b"IOQUZ") {
                Err(bad(
                    "The last letter of a registration like ABC 123D is never I, O, Q, U or Z",
                ))
            } else if has_any(letters, b"Q") {
                Err(bad(
                    "The first three letters of a registration like ABC 123D are never Q",
                ))
            } else {
                Ok(RegistrationFormat::Suffix)
            }
        }
        // Dateless or Northern Ireland, either way round.
        [L(letters), D(number)] | [D(number), L(letters)]
            if (1..=3).contains(&letters.len()) && serial(number, 4) =>
        {
            dateless_or_ni(letters)
        }
        _ => Err(bad(GENERAL)),
    }
}

/// Letters of a dateless mark: Northern Ireland when the county code (the last two letters)
/// contains I or Z; Great Britain otherwise, where I, Q and Z were never used.
fn dateless_or_ni(letters: &str) -> Result<RegistrationFormat, FieldError> {
    let code = &letters[letters.len().saturating_sub(2)..];
    if has_any(letters, b"Q") {
        return Err(bad(
            "The letters of an older registration like ABC 123 are never Q",
        ));
    }
    if code.len() == 2 && has_any(code, b"IZ") {
        return Ok(RegistrationFormat::NorthernIreland);
    }
    if has_any(letters, b"IZ") {
        return Err(bad(
            "I and Z appear in an older registration only in a Northern Ireland code, like ABZ 1234",
        ));
    }
    Ok(RegistrationFormat::Dateless)
}

impl fmt::Display for VehicleRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl TryFrom<String> for VehicleRegistration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        VehicleRegistration::parse(&value).map_err(|e| e.message)
    }
}

impl From<VehicleRegistration> for String {
    fn from(v: VehicleRegistration) -> String {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegistrationFormat::*;

    fn ok(input: &str) -> (String, String, RegistrationFormat) {
        let v = VehicleRegistration::parse(input)
            .unwrap_or_else(|e| panic!("{input:?} refused: {}", e.message));
        (v.as_str().to_string(), v.display(), v.format())
    }

    #[test]
    fn accepts_every_format_and_normalises() {
        for (input, compact, shown, format) in [
            ("AB12 CDE", "AB12CDE", "AB12 CDE", Current),
            ("ab12cde", "AB12CDE", "AB12 CDE", Current),
            ("  bd51 smr ", "BD51SMR", "BD51 SMR", Current),
            ("SR60 BMZ", "SR60BMZ", "SR60 BMZ", Current),
            ("A123 BCD", "A123BCD", "A123 BCD", Prefix),
            ("p7 xyz", "P7XYZ", "P7 XYZ", Prefix),
            ("Q123 ABC", "Q123ABC", "Q123 ABC", Prefix),
            ("ABC 123D", "ABC123D", "ABC 123D", Suffix),
            ("ghj1y", "GHJ1Y", "GHJ 1Y", Suffix),
            ("ABC 123", "ABC123", "ABC 123", Dateless),
            ("A 1", "A1", "A 1", Dateless),
            ("AB 1234", "AB1234", "AB 1234", Dateless),
            ("1234 AB", "1234AB", "1234 AB", Dateless),
            ("1 ABC", "1ABC", "1 ABC", Dateless),
            ("ABZ 1234", "ABZ1234", "ABZ 1234", NorthernIreland),
            ("AZ 123", "AZ123", "AZ 123", NorthernIreland),
            ("OIL 1", "OIL1", "OIL 1", NorthernIreland),
            ("1234 IA", "1234IA", "1234 IA", NorthernIreland),
        ] {
            assert_eq!(ok(input), (compact.into(), shown.into(), format), "{input}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for input in [
            "",
            "   ",
            "AB12 CDEF",    // too long
            "AB12-CDE",     // punctuation
            "ÄB12 CDE",     // not ASCII
            "AB123CDE",     // eight characters
            "IB12 CDE",     // I in the memory tag
            "QB12 CDE",     // Q in the memory tag
            "ZB12 CDE",     // Z in the memory tag
            "AB12 CQE",     // Q in the random letters
            "AB12 CIE",     // I in the random letters
            "A012 BCD",     // a number never starts with 0
            "I123 BCD",     // I is not an age letter
            "O123 BCD",     // nor O
            "U123 BCD",     // nor U
            "Z123 BCD",     // nor Z
            "A1234 BCD",    // prefix numbers have at most 3 digits
            "ABC 123I",     // I is not an age letter
            "ABC 123Q",     // nor Q
            "ABC 0D",       // leading 0
            "ABC 1234D",    // suffix numbers have at most 3 digits
            "ABCD 123",     // four letters
            "AB 12345",     // five digits
            "AB 0",         // no serial 0
            "QAB 123",      // Q in a dateless mark
            "A123 BQD",     // Q among a prefix mark's letters
            "AQC 123D",     // Q among a suffix mark's letters
            "ZAB 123",      // Z outside the Northern Ireland code
            "12AB34",       // digits, letters, digits
            "ABC",          // letters only
            "1234",         // digits only
            "A1B2C3D",      // alternating
            "AB12CD",       // current-like but short
            "ABC12DEF",     // too long
            "a\u{0}b12cde", // control character
        ] {
            assert!(VehicleRegistration::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let msg = |s: &str| VehicleRegistration::parse(s).err().map(|e| e.message);
        assert_eq!(msg(""), Some("Enter the vehicle registration".into()));
        assert!(msg("ZB12 CDE").is_some_and(|m| m.contains("never I, Q or Z")));
        assert!(msg("AB12-CDE").is_some_and(|m| m.contains("only letters and numbers")));
        assert!(msg(&"A".repeat(40)).is_some());
        assert_eq!(
            VehicleRegistration::parse("zb12cde").err().map(|e| e.field),
            Some("registration".into())
        );
    }

    #[test]
    fn display_parses_back_to_the_same_mark() {
        for input in ["AB12CDE", "A1BCD", "ABC1D", "AB1234", "1ABC", "ABZ1234"] {
            let v = VehicleRegistration::parse(input).unwrap();
            assert_eq!(VehicleRegistration::parse(&v.display()).unwrap(), v);
            assert_eq!(v.to_string(), v.display());
        }
    }

    #[test]
    fn serde_uses_the_compact_form() {
        let v: VehicleRegistration = serde_json_like("ab12 cde").unwrap();
        assert_eq!(String::from(v), "AB12CDE");
        assert!(serde_json_like("nonsense plate").is_err());
    }

    fn serde_json_like(s: &str) -> Result<VehicleRegistration, String> {
        VehicleRegistration::try_from(s.to_string())
    }
}
