//! Other names and identifiers on a person's record: aliases and street names, NHS number
//! (validated by its modulus 11 check digit), unique pupil number (DfE check letter), police
//! national computer id (format), local ids, UK phone numbers (normalised to E.164) and social
//! media handles. Each value is parsed into one canonical form, so the same number typed two ways
//! is stored once and can be matched.

use crate::error::{Error, Result};
use crate::person::text_enum;

text_enum!(
    /// What kind of name or identifier.
    IdentifierKind {
        Alias => "alias", "Other name";
        StreetName => "street_name", "Street name or nickname";
        NhsNumber => "nhs_number", "NHS number";
        Upn => "upn", "Unique pupil number";
        Pnc => "pnc", "Police national computer id";
        LocalId => "local_id", "Local id";
        Phone => "phone", "Phone number";
        Handle => "handle", "Social media handle";
    }
);

/// The value without spaces, in capitals.
fn compact_upper(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// NHS number: ten digits, the last a modulus 11 check digit over the first nine with weights
/// 10 down to 2 (NHS Data Dictionary, "NHS Number").
pub fn nhs_number(raw: &str) -> Result<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let bad = || {
        Error::validation(
            "value",
            "Enter a real NHS number: 10 digits, like 943 476 5919",
        )
    };
    if digits.len() != 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = d
        .iter()
        .take(9)
        .zip((2..=10).rev())
        .map(|(x, w)| x * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return Err(bad()),
        c => c,
    };
    if d.get(9) != Some(&check) {
        return Err(bad());
    }
    Ok(format!(
        "{} {} {}",
        &digits[0..3],
        &digits[3..6],
        &digits[6..10]
    ))
}

/// The DfE's check-letter alphabet for unique pupil numbers (no I, O, S).
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// Unique pupil number: a check letter, then 11 digits and a final digit (or, for a temporary
/// UPN, a letter); the check letter is the sum of each later character's value times its
/// position (2 to 13), modulo 23, in [`UPN_LETTERS`] (DfE, "Unique pupil numbers (UPN)", 2021).
pub fn upn(raw: &str) -> Result<String> {
    let s = compact_upper(raw);
    let bad = || {
        Error::validation(
            "value",
            "Enter a real unique pupil number: 13 characters, like A801200109001",
        )
    };
    let b = s.as_bytes();
    if b.len() != 13 || !b[1..12].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let value = |c: u8| -> Option<u32> {
        if c.is_ascii_digit() {
            Some(u32::from(c - b'0'))
        } else {
            UPN_LETTERS
                .iter()
                .position(|l| *l == c)
                .and_then(|p| u32::try_from(p).ok())
        }
    };
    let mut sum = 0u32;
    for (i, c) in b.iter().enumerate().skip(1) {
        let weight = u32::try_from(i + 1).map_err(|_| bad())?;
        sum += value(*c).ok_or_else(bad)? * weight;
    }
    let expected = UPN_LETTERS[usize::try_from(sum % 23).map_err(|_| bad())?];
    if b[0] != expected {
        return Err(bad());
    }
    Ok(s)
}

/// Police national computer id: two-digit year, a slash, up to seven digits and a letter
/// (`02/123456X`); the format only, as the check character's rule is not published.
pub fn pnc(raw: &str) -> Result<String> {
    let s = compact_upper(raw);
    let bad = || {
        Error::validation(
            "value",
            "Enter a police national computer id like 02/123456X",
        )
    };
    let (year, rest) = s.split_once('/').ok_or_else(bad)?;
    // Split off the last character, not the last byte: it may be any character (found by
    // fuzzing: `02/1É` used to panic).
    let mut chars = rest.chars();
    let letter = chars.next_back();
    let serial = chars.as_str();
    let ok = year.len() == 2
        && year.chars().all(|c| c.is_ascii_digit())
        && (1..=7).contains(&serial.len())
        && serial.chars().all(|c| c.is_ascii_digit())
        && letter.is_some_and(|c| c.is_ascii_uppercase());
    if ok { Ok(s) } else { Err(bad()) }
}

/// A UK phone number in E.164 (`+447700900123`): 0 or +44 (or 0044) then ten digits.
pub fn phone(raw: &str) -> Result<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let bad = || {
        Error::validation(
            "value",
            "Enter a UK phone number, like 07700 900123 or +44 7700 900123",
        )
    };
    let national = if let Some(r) = digits.strip_prefix("+44") {
        r.strip_prefix('0').unwrap_or(r).to_string()
    } else if let Some(r) = digits.strip_prefix("0044") {
        r.to_string()
    } else if let Some(r) = digits.strip_prefix('0') {
        r.to_string()
    } else {
        return Err(bad());
    };
    if national.len() != 10
        || !national.chars().all(|c| c.is_ascii_digit())
        || national.starts_with('0')
    {
        return Err(bad());
    }
    Ok(format!("+44{national}"))
}

/// A name, street name, local id or handle: trimmed, 1 to 100 characters, no control characters.
fn text(raw: &str, what: &str) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
        return Err(Error::validation(
            "value",
            &format!("Enter the {what} (100 characters or fewer)"),
        ));
    }
    Ok(t.to_string())
}

/// Parse a value of this kind into its stored form, or say what is wrong.
pub fn parse(kind: IdentifierKind, raw: &str) -> Result<String> {
    match kind {
        IdentifierKind::NhsNumber => nhs_number(raw),
        IdentifierKind::Upn => upn(raw),
        IdentifierKind::Pnc => pnc(raw),
        IdentifierKind::Phone => phone(raw),
        IdentifierKind::Alias => text(raw, "other name").and_then(|t| {
            if t.chars().all(crate::person::name_char) {
                Ok(t)
            } else {
                Err(Error::validation(
                    "value",
                    "An other name must only include letters, spaces, hyphens, apostrophes and full stops",
                ))
            }
        }),
        IdentifierKind::StreetName => text(raw, "street name"),
        IdentifierKind::LocalId => text(raw, "local id"),
        IdentifierKind::Handle => {
            let t = text(raw, "handle")?;
            if t.chars().any(char::is_whitespace) {
                return Err(Error::validation(
                    "value",
                    "A handle has no spaces, like @name or name on Snapchat",
                ));
            }
            Ok(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_need_their_check_digit() {
        assert_eq!(nhs_number("943 476 5919").unwrap(), "943 476 5919");
        assert_eq!(nhs_number("9434765919").unwrap(), "943 476 5919");
        assert_eq!(nhs_number("401-023-2137").unwrap(), "401 023 2137");
        assert!(nhs_number("943 476 5918").is_err(), "wrong check digit");
        assert!(nhs_number("943 476 591").is_err(), "too short");
        assert!(nhs_number("94347659x9").is_err());
        // 100000001 gives check 10, so no tenth digit makes it valid.
        for last in 0..=9 {
            assert!(nhs_number(&format!("100000001{last}")).is_err());
        }
    }

    #[test]
    fn upns_need_their_check_letter() {
        // A801200109001: the DfE guide's worked example shape; compute its check letter here.
        let body = "801200109001";
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, c)| u32::from(c - b'0') * (i as u32 + 2))
            .sum();
        let letter = UPN_LETTERS[(sum % 23) as usize] as char;
        let good = format!("{letter}{body}");
        assert_eq!(upn(&good.to_lowercase()).unwrap(), good);
        let wrong = if letter == 'A' { 'B' } else { 'A' };
        assert!(upn(&format!("{wrong}{body}")).is_err());
        assert!(upn("A80120010900").is_err(), "12 characters");
    }

    #[test]
    fn numbers_are_recognised_by_their_checks() {
        assert_eq!(
            recognise("9434765919").unwrap(),
            (IdentifierKind::NhsNumber, "943 476 5919".into())
        );
        assert_eq!(recognise("07700 900123").unwrap().0, IdentifierKind::Phone);
        assert!(recognise("12345").is_err());
    }

    #[test]
    fn pnc_phone_and_text() {
        assert_eq!(pnc("02/123456x").unwrap(), "02/123456X");
        assert!(
            pnc("2002/123456X").is_err() && pnc("02/123456").is_err() && pnc("02123456X").is_err()
        );
        // A multi-byte last character is refused, not a panic (found by fuzzing).
        assert!(pnc("02/1É").is_err() && pnc("02/İ").is_err() && pnc("02/").is_err());
        assert_eq!(phone("07700 900123").unwrap(), "+447700900123");
        assert_eq!(phone("+44 (0)7700 900123").unwrap(), "+447700900123");
        assert_eq!(phone("0044 7700 900123").unwrap(), "+447700900123");
        assert!(phone("7700 900123").is_err() && phone("07700 90012").is_err());
        assert_eq!(
            parse(IdentifierKind::StreetName, "  Little K ").unwrap(),
            "Little K"
        );
        assert!(parse(IdentifierKind::Handle, "two words").is_err());
        assert!(parse(IdentifierKind::Alias, "").is_err());
    }
}

/// A number typed to find someone: an NHS number, a unique pupil number or a UK phone number,
/// recognised in that order, in its canonical form.
pub fn recognise(raw: &str) -> Result<(IdentifierKind, String)> {
    nhs_number(raw)
        .map(|v| (IdentifierKind::NhsNumber, v))
        .or_else(|_| upn(raw).map(|v| (IdentifierKind::Upn, v)))
        .or_else(|_| phone(raw).map(|v| (IdentifierKind::Phone, v)))
        .map_err(|_| {
            Error::validation(
                "identifier",
                "Enter a real NHS number, unique pupil number or UK phone number, or leave it blank",
            )
        })
}

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::Actor;
use crate::cases::event;
use crate::ports::{AuditLog, CaseRepo, PersonRepo, ProfileRepo};
use crate::profile::may_edit_person;
use time::OffsetDateTime;
use uuid::Uuid;

/// One name or identifier on a record, with who added it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PersonIdentifier {
    pub id: Uuid,
    pub person_id: Uuid,
    pub kind: IdentifierKind,
    /// The canonical form (see [`parse`]).
    pub value: String,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// Add a name or identifier to a person's record the actor may change. The value is checked
/// and stored in its canonical form; the same kind and value twice is refused. Audited as an
/// alteration (the kind only: the value stays in the record, not the log).
pub async fn add_identifier<R: PersonRepo + CaseRepo + ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    kind: Option<IdentifierKind>,
    raw: &str,
) -> Result<PersonIdentifier> {
    let now = ctx.clock.now();
    may_edit_person(ctx, tx, key, actor, person_id, "person.identifier.add").await?;
    let kind = kind.ok_or_else(|| {
        Error::validation("kind", "Select what kind of name or identifier this is")
    })?;
    let value = parse(kind, raw)?;
    if tx
        .identifiers(person_id)
        .await?
        .iter()
        .any(|i| i.kind == kind && i.value == value)
    {
        return Err(Error::validation("value", "This is already on the record"));
    }
    let ident = PersonIdentifier {
        id: ctx.ids.new_id(),
        person_id,
        kind,
        value,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
    };
    tx.insert_identifier(&ident).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "person.identifier.add",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(format!("{{\"kind\":\"{}\"}}", kind.as_str()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(ident)
}
