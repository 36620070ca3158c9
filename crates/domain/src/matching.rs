//! Finding a child's existing record before creating one: candidates scored with reasons a
//! person can check ("same date of birth", "Kayley is a spelling of Kayleigh").
//!
//! This is the first, explainable scorer used by the "find the child" step. The probabilistic
//! matcher measured against Splink on the labelled linkage set is separate work (issue 4 note).

use crate::person::{Person, fold};
use serde::Serialize;
use time::{Date, Month};

/// Given names that are the same name for matching (nicknames, short forms, common spellings).
/// Each line is one group.
const NAME_GROUPS: &[&[&str]] = &[
    &["robert", "bob", "bobby", "rob", "robbie", "bert"],
    &["william", "will", "bill", "billy", "liam", "willy"],
    &[
        "elizabeth",
        "liz",
        "lizzie",
        "beth",
        "betty",
        "eliza",
        "libby",
        "elisabeth",
    ],
    &[
        "katherine",
        "catherine",
        "kathryn",
        "kate",
        "katie",
        "cathy",
        "kat",
        "kitty",
    ],
    &["kayleigh", "kayley", "kaylee", "kayla", "kailey", "caley"],
    &["jessica", "jess", "jessie"],
    &["joseph", "joe", "joey"],
    &["james", "jim", "jimmy", "jamie"],
    &["michael", "mike", "mikey", "mick"],
    &["thomas", "tom", "tommy"],
    &["daniel", "dan", "danny"],
    &["alexander", "alex", "alexandra", "sasha", "lex"],
    &["mohammed", "muhammad", "mohammad", "mohamed", "mo"],
    &["charlotte", "charlie", "lottie"],
    &["samuel", "sam", "sammy", "samantha"],
    &["rebecca", "becky", "becca"],
    &["jennifer", "jenny", "jen"],
    &["anthony", "tony", "ant"],
    &["christopher", "chris", "kit"],
    &["nathan", "nathaniel", "nate"],
    &["sophie", "sophia", "soph"],
    &["olivia", "liv", "livvy"],
    &["jayden", "jaden", "jaiden", "jaydon"],
    &["leah", "lea", "leia"],
    &["aaliyah", "aliyah", "aleah"],
];

fn same_given_name(a: &str, b: &str) -> bool {
    NAME_GROUPS.iter().any(|g| g.contains(&a) && g.contains(&b))
}

/// The group of a folded given name among the nickname groups (1-based), 0 when it is in none.
pub fn given_name_group(name: &str) -> u16 {
    NAME_GROUPS
        .iter()
        .position(|g| g.contains(&name))
        .map_or(0, |i| i as u16 + 1)
}

/// What the professional typed to find the child.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<Date>,
    /// Where the child lives (or lived): a child who moved is found at an earlier postcode.
    pub postcode: Option<crate::postcode::Postcode>,
    /// An identifier the professional knows (NHS number, pupil number, phone), canonical.
    pub identifier: Option<(crate::identifiers::IdentifierKind, String)>,
}

/// What the store found linking candidates to the probe beyond their names and dates.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Records carrying the probe's identifier.
    pub same_identifier: std::collections::HashSet<uuid::Uuid>,
    /// Records with a previous address at the probe's postcode.
    pub lived_at_postcode: std::collections::HashSet<uuid::Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub person: Person,
    /// 0 to 100.
    pub score: u32,
    pub reasons: Vec<String>,
}

fn letters(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// American Soundex, for "sounds like" on family names.
pub fn soundex(s: &str) -> String {
    let code = |c: char| match c {
        'b' | 'f' | 'p' | 'v' => '1',
        'c' | 'g' | 'j' | 'k' | 'q' | 's' | 'x' | 'z' => '2',
        'd' | 't' => '3',
        'l' => '4',
        'm' | 'n' => '5',
        'r' => '6',
        _ => '0',
    };
    let s: Vec<char> = letters(s)
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    let Some(first) = s.first() else {
        return String::new();
    };
    let mut out = first.to_ascii_uppercase().to_string();
    let mut last = code(*first);
    for c in &s[1..] {
        let d = code(*c);
        if d != '0' && d != last {
            out.push(d);
        }
        if !matches!(c, 'h' | 'w') {
            last = d;
        }
        if out.len() == 4 {
            break;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

/// The date with day and month swapped, when that is a real date and differs.
pub fn swapped(d: Date) -> Option<Date> {
    let month = Month::try_from(d.day()).ok()?;
    let day = u8::from(d.month());
    Date::from_calendar_date(d.year(), month, day)
        .ok()
        .filter(|s| *s != d)
}

fn name_part(typed: &str, stored: &str, label: &str, reasons: &mut Vec<String>) -> f64 {
    let (a, b) = (letters(typed), letters(stored));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        reasons.push(format!("same {label}"));
        return 1.0;
    }
    if label == "first name" && same_given_name(&a, &b) {
        reasons.push(format!(
            "{} and {} are forms of the same first name",
            cap(typed),
            cap(stored)
        ));
        return 0.85;
    }
    let jw = strsim::jaro_winkler(&a, &b);
    if jw >= 0.88 {
        reasons.push(format!(
            "{label} spelt similarly ({} / {})",
            cap(typed),
            cap(stored)
        ));
        return jw * 0.85;
    }
    if soundex(&a) == soundex(&b) {
        reasons.push(format!(
            "{label} sounds the same ({} / {})",
            cap(typed),
            cap(stored)
        ));
        return 0.7;
    }
    if b.starts_with(&a) && a.len() >= 2 {
        reasons.push(format!("{label} starts with {}", cap(typed)));
        return 0.5;
    }
    0.0
}

fn cap(s: &str) -> String {
    s.trim().to_string()
}

/// Score one stored child against what was typed. Names count for up to 60 points, the date of
/// birth for up to 40.
pub fn score(probe: &Probe, p: &Person) -> Candidate {
    score_known(probe, p, &Known::default())
}

/// [`score`], with what else links the record to the probe: a shared identifier is close to
/// certain (at least 95 points, whatever the names say: a typing error in a name is likelier
/// than two children with one NHS number); the same postcode, now or before, adds up to 8
/// points to a record whose names already agree in part.
pub fn score_known(probe: &Probe, p: &Person, known: &Known) -> Candidate {
    let mut reasons = Vec::new();
    let given = name_part(&probe.given_name, &p.given_name, "first name", &mut reasons);
    let family = name_part(
        &probe.family_name,
        &p.family_name,
        "last name",
        &mut reasons,
    );
    // A family name typed as the given name and the other way round.
    let crossed = if given + family < 1.0 {
        let mut r = Vec::new();
        let x = name_part(&probe.given_name, &p.family_name, "last name", &mut r)
            + name_part(&probe.family_name, &p.given_name, "first name", &mut r);
        if x >= 1.5 {
            reasons.push("first and last names swapped".into());
            x * 0.8
        } else {
            0.0
        }
    } else {
        0.0
    };
    let names = (given + family).max(crossed) / 2.0;
    let dob = match (probe.date_of_birth, p.date_of_birth) {
        (Some(a), Some(b)) if a == b => {
            reasons.push("same date of birth".into());
            1.0
        }
        (Some(a), Some(b)) if swapped(a) == Some(b) => {
            reasons.push("date of birth with day and month swapped".into());
            0.8
        }
        (Some(a), Some(b)) if p.dob_approximate && (a.year() - b.year()).abs() <= 1 => {
            reasons.push("recorded age is approximate and close".into());
            0.6
        }
        (Some(a), Some(b)) if a.year() == b.year() && a.month() == b.month() => {
            reasons.push("same month and year of birth".into());
            0.5
        }
        (Some(a), Some(b)) if a.year() == b.year() => {
            reasons.push("same year of birth".into());
            0.3
        }
        (Some(_), Some(_)) => 0.0,
        _ => 0.35,
    };
    let mut raw = names * 60.0 + dob * 40.0;
    if let Some(pc) = &probe.postcode
        && names > 0.0
    {
        if p.postcode.as_ref() == Some(pc) {
            reasons.push("same postcode".into());
            raw += 8.0;
        } else if known.lived_at_postcode.contains(&p.id) {
            reasons.push(format!("lived at {} before moving", pc.as_str()));
            raw += 8.0;
        } else if p.postcode.as_ref().map(|x| x.outward()) == Some(pc.outward()) {
            reasons.push("same postcode district".into());
            raw += 3.0;
        }
    }
    if let Some((kind, _)) = &probe.identifier
        && known.same_identifier.contains(&p.id)
    {
        reasons.insert(0, format!("{} matches", kind.label()));
        raw = raw.max(95.0);
    }
    Candidate {
        person: p.clone(),
        score: raw.round().clamp(0.0, 100.0) as u32,
        reasons,
    }
}

/// The candidates worth showing, best first: at least 45 points, at most `limit`.
pub fn rank(probe: &Probe, pool: Vec<Person>, limit: usize) -> Vec<Candidate> {
    rank_known(probe, pool, &Known::default(), limit)
}

/// [`rank`] with what else links records to the probe (see [`score_known`]).
pub fn rank_known(probe: &Probe, pool: Vec<Person>, known: &Known, limit: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = pool
        .iter()
        .map(|p| score_known(probe, p, known))
        .filter(|c| c.score >= 45)
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.person.family_name.cmp(&b.person.family_name))
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::{Gender, PersonKind};
    use time::OffsetDateTime;
    use time::macros::date;
    use uuid::Uuid;

    fn p(given: &str, family: &str, dob: Date) -> Person {
        Person {
            id: Uuid::nil(),
            kind: PersonKind::Child,
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: Some(dob),
            dob_approximate: false,
            gender: Gender::Female,
            postcode: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn soundex_classics() {
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Rupert"), "R163");
        assert_eq!(soundex("Ashcraft"), "A261");
        assert_eq!(soundex("Tymczak"), "T522");
        assert_eq!(soundex("Pfister"), "P236");
    }

    #[test]
    fn misspellings_nicknames_and_swapped_dates_still_match() {
        let kayleigh = p("Kayleigh", "Robinson", date!(2011 - 04 - 09));
        let probe = Probe {
            given_name: "Kayley".into(),
            family_name: "Robinsen".into(),
            date_of_birth: Some(date!(2011 - 09 - 04)),
            ..Probe::default()
        };
        let c = score(&probe, &kayleigh);
        assert!(c.score >= 75, "{c:?}");
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("forms of the same first name")),
            "{:?}",
            c.reasons
        );
        assert!(
            c.reasons.iter().any(|r| r.contains("spelt similarly")),
            "{:?}",
            c.reasons
        );
        assert!(
            c.reasons.iter().any(|r| r.contains("swapped")),
            "{:?}",
            c.reasons
        );

        let other = p("Jordan", "Clarke", date!(2009 - 01 - 30));
        assert!(score(&probe, &other).score < 45);
        let ranked = rank(&probe, vec![other, kayleigh], 10);
        assert_eq!(ranked.len(), 1);
        assert_eq!(ranked[0].person.given_name, "Kayleigh");
    }

    #[test]
    fn swapped_names() {
        let c = score(
            &Probe {
                given_name: "Hussain".into(),
                family_name: "Amira".into(),
                date_of_birth: None,
                ..Probe::default()
            },
            &p("Amira", "Hussain", date!(2010 - 02 - 03)),
        );
        assert!(
            c.reasons
                .iter()
                .any(|r| r == "first and last names swapped"),
            "{c:?}"
        );
        assert!(c.score >= 45);
    }

    #[test]
    fn moved_addresses_and_shared_identifiers_count() {
        use crate::identifiers::IdentifierKind;
        use crate::postcode::Postcode;
        let mut moved = p("Tia", "Okafor", date!(2012 - 03 - 14));
        moved.id = Uuid::from_u128(7);
        moved.postcode = Postcode::parse("CM1 1AA").ok();
        let probe = Probe {
            given_name: "Tia".into(),
            family_name: "Okafor".into(),
            date_of_birth: None,
            postcode: Postcode::parse("SS1 1AA").ok(),
            identifier: None,
        };
        let before = score(&probe, &moved);
        let mut known = Known::default();
        known.lived_at_postcode.insert(moved.id);
        let after = score_known(&probe, &moved, &known);
        assert_eq!(after.score, before.score + 8, "{after:?}");
        assert!(
            after
                .reasons
                .iter()
                .any(|r| r == "lived at SS1 1AA before moving")
        );

        // A shared NHS number outweighs a mistyped name.
        let probe = Probe {
            given_name: "Tiah".into(),
            family_name: "Okafo".into(),
            identifier: Some((IdentifierKind::NhsNumber, "943 476 5919".into())),
            ..Probe::default()
        };
        let mut known = Known::default();
        known.same_identifier.insert(moved.id);
        let c = score_known(&probe, &moved, &known);
        assert!(c.score >= 95, "{c:?}");
        assert_eq!(c.reasons[0], "NHS number matches");
        let stranger = p("Tia", "Okafor", date!(2012 - 03 - 14));
        assert!(
            !score_known(&probe, &stranger, &known)
                .reasons
                .iter()
                .any(|r| r.contains("NHS"))
        );
    }

    #[test]
    fn swapped_dates_only_when_real() {
        assert_eq!(swapped(date!(2011 - 04 - 09)), Some(date!(2011 - 09 - 04)));
        assert_eq!(swapped(date!(2011 - 04 - 25)), None);
        assert_eq!(swapped(date!(2011 - 04 - 04)), None);
    }
}
