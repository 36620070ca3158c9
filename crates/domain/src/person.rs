//! People: children and young people, parents and carers, persons of concern, professionals.
//!
//! The foundation holds the core identity fields; identifiers, aliases, addresses and
//! relationships arrive with the people issue through the same entity.

use crate::Ctx;
use crate::error::{Error, FieldError, Result};
use crate::ports::PersonRepo;
use crate::postcode::Postcode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and API form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    /// What part a person plays in mace's records.
    PersonKind {
        Child => "child", "Child or young person";
        ParentCarer => "parent_carer", "Parent or carer";
        PersonOfConcern => "person_of_concern", "Person of concern";
        Professional => "professional", "Professional";
    }
);

text_enum!(
    Gender {
        Female => "female", "Female";
        Male => "male", "Male";
        NonBinary => "non_binary", "Non-binary";
        NotKnown => "not_known", "Not known";
        NotStated => "not_stated", "Not stated";
    }
);

/// May `c` appear in a person's name? Letters and digits of any script, spaces, apostrophes,
/// hyphens, full stops and commas; no other ASCII punctuation or symbol (`<`, `;`, `/`, `=` …),
/// which no real name needs and markup, query and path injection do (VAL-04: positive
/// validation), and no control character.
pub fn name_char(c: char) -> bool {
    !c.is_control()
        && (!c.is_ascii() || c.is_ascii_alphanumeric() || matches!(c, ' ' | '\'' | '-' | '.' | ','))
}

/// May `c` appear in a person's name and role as written on a form ("Grace Adeyemi, social
/// worker (Estuary CSC)")? What a name may hold ([`name_char`]), and the brackets and ampersand
/// a role or team may ("Children & Families"); still no `<`, `;`, `/`, `=` or quote marks.
pub fn name_and_role_char(c: char) -> bool {
    name_char(c) || matches!(c, '(' | ')' | '&')
}

/// A person's given or family name: trimmed, 1 to 100 characters of [`name_char`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName(pub(crate) String);

impl PersonName {
    pub fn parse(field: &str, input: &str) -> std::result::Result<Self, FieldError> {
        let t = input.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, "Enter a name"));
        }
        if t.chars().count() > 100 {
            return Err(FieldError::new(
                field,
                "Name must be 100 characters or fewer",
            ));
        }
        if t.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "Name must not contain control characters",
            ));
        }
        if !t.chars().all(name_char) {
            return Err(FieldError::new(
                field,
                "Name must only include letters, spaces, hyphens, apostrophes and full stops",
            ));
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Case- and accent-insensitive form kept beside a name for portable lookups.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub kind: PersonKind,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub date_of_birth: Option<Date>,
    /// True when the date of birth is an estimate (for example "about 15").
    pub dob_approximate: bool,
    pub gender: Gender,
    pub postcode: Option<Postcode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: Uuid,
    pub kind: PersonKind,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<Date>,
    pub dob_approximate: bool,
    pub gender: Gender,
    pub postcode: Option<Postcode>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Person {
    /// Age in whole years on `today`, if a date of birth is recorded.
    pub fn age_on(&self, today: Date) -> Option<i32> {
        self.date_of_birth.map(|dob| age_on(dob, today))
    }
}

pub fn age_on(dob: Date, today: Date) -> i32 {
    let mut age = today.year() - dob.year();
    if (today.month() as u8, today.day()) < (dob.month() as u8, dob.day()) {
        age -= 1;
    }
    age
}

/// Create a person record. Dates of birth in the future are refused.
pub async fn create<R: PersonRepo>(ctx: &Ctx, repo: &mut R, new: NewPerson) -> Result<Person> {
    let now = ctx.clock.now();
    if let Some(dob) = new.date_of_birth
        && dob > now.date()
    {
        return Err(Error::validation(
            "date_of_birth",
            "Date of birth must be in the past",
        ));
    }
    let person = Person {
        id: ctx.ids.new_id(),
        kind: new.kind,
        given_name: new.given_name.0,
        family_name: new.family_name.0,
        date_of_birth: new.date_of_birth,
        dob_approximate: new.dob_approximate,
        gender: new.gender,
        postcode: new.postcode,
        created_at: now,
        updated_at: now,
    };
    repo.insert_person(&person).await?;
    Ok(person)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_name_and_role_holds_no_markup_query_or_path() {
        for ok in [
            "Grace Adeyemi, social worker",
            "DC 4521 O'Neill (Estuary Police)",
            "Zoë Smith-Jones, Children & Families",
        ] {
            assert!(ok.chars().all(name_and_role_char), "{ok}");
        }
        for bad in [
            "' OR '1'='1'; --",
            "<b>x</b>",
            "../../etc/passwd",
            "a\u{0}b",
        ] {
            assert!(!bad.chars().all(name_and_role_char), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("given_name", "  Kayleigh ").map(|n| n.0),
            Ok("Kayleigh".into())
        );
        assert!(PersonName::parse("given_name", "   ").is_err());
        assert!(PersonName::parse("given_name", &"a".repeat(101)).is_err());
        assert!(PersonName::parse("given_name", "Bob\u{0}").is_err());
    }

    #[test]
    fn age_counts_birthdays() {
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2026 - 06 - 14)), 15);
        assert_eq!(age_on(date!(2010 - 06 - 15), date!(2026 - 06 - 15)), 16);
    }

    #[test]
    fn enums_round_trip() {
        for k in PersonKind::ALL {
            assert_eq!(PersonKind::parse(k.as_str()), Some(*k));
        }
        for g in Gender::ALL {
            assert_eq!(Gender::parse(g.as_str()), Some(*g));
        }
    }
}
