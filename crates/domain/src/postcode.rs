//! UK postcodes: parsed, validated and normalised to the canonical "OUTWARD INWARD" form.
//!
//! Format (Royal Mail / ONS): outward code is one of A9, A99, AA9, AA99, A9A, AA9A; inward code
//! is 9AA, where the inward letters never include C, I, K, M, O or V. GIR 0AA is also valid.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bad = || FieldError::new("postcode", "Enter a real UK postcode, like SS1 2AB");
        if compact.len() < 5 || compact.len() > 7 || !compact.is_ascii() {
            return Err(bad());
        }
        if compact == "GIR0AA" {
            return Ok(Self("GIR 0AA".into()));
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        if !valid_inward(inward) || !valid_outward(outward) {
            return Err(bad());
        }
        Ok(Self(format!("{outward} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code (postcode district), e.g. "SS1".
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }
}

/// The first full postcode written in free text ("outside the chip shop, RM17 6AB"), in
/// either "RM17 6AB" or "RM176AB" form; `None` when there is none.
pub fn find_in(text: &str) -> Option<Postcode> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '.' | ':' | '/'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if let Some(next) = words.get(i + 1)
            && next.len() == 3
            && let Ok(p) = Postcode::parse(&format!("{w} {next}"))
        {
            return Some(p);
        }
        if (5..=7).contains(&w.len())
            && w.chars().any(|c| c.is_ascii_digit())
            && let Ok(p) = Postcode::parse(w)
        {
            return Some(p);
        }
    }
    None
}

fn valid_inward(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3
        && b[0].is_ascii_digit()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() && !b"CIKMOV".contains(c))
}

fn valid_outward(s: &str) -> bool {
    let b = s.as_bytes();
    let a = |i: usize| b.get(i).is_some_and(u8::is_ascii_uppercase);
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    match b.len() {
        2 => a(0) && d(1), // A9
        3 => (a(0) && d(1) && d(2)) || (a(0) && a(1) && d(2)) || (a(0) && d(1) && a(2)), // A99 AA9 A9A
        4 => (a(0) && a(1) && d(2) && d(3)) || (a(0) && a(1) && d(2) && a(3)), // AA99 AA9A
        _ => false,
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Postcode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Postcode::parse(&value).map_err(|e| e.message)
    }
}

impl From<Postcode> for String {
    fn from(p: Postcode) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn finds_a_postcode_written_in_free_text() {
        let found = |t: &str| super::find_in(t).map(|p| p.as_str().to_string());
        assert_eq!(
            found("Outside the chip shop, RM17 6AB, at night"),
            Some("RM17 6AB".into())
        );
        assert_eq!(found("by the station (ss12ab)"), Some("SS1 2AB".into()));
        assert_eq!(found("the parade by the station"), None);
        assert_eq!(found("bus 12 at 21:30"), None);
        assert_eq!(found(""), None);
    }

    use super::*;

    #[test]
    fn accepts_and_normalises_every_shape() {
        for (input, want) in [
            ("ss1 2ab", "SS1 2AB"),
            ("SS12AB", "SS1 2AB"),
            ("  cm1   1aa ", "CM1 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            ("gir 0aa", "GIR 0AA"),
        ] {
            assert_eq!(
                Postcode::parse(input).map(|p| p.0),
                Ok(want.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_malformed() {
        for input in [
            "",
            "SS1",
            "SS1 2A",
            "1SS 2AB",
            "SS1 2CB",
            "SSS1 2AB",
            "SS1 AAB",
            "SS1 2AB X",
            "ŚS1 2AB",
            "SS1-2AB",
        ] {
            assert!(Postcode::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn outward_code() {
        assert_eq!(
            Postcode::parse("RM17 6AB").map(|p| p.outward().to_string()),
            Ok("RM17".into())
        );
    }
}
