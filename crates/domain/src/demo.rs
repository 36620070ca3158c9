//! Synthetic demo data: reproducible from a seed, UK-style, never real people, never graphic.
//!
//! Names are drawn independently from lists of common given names and surnames, so a generated
//! person is a random combination, not anyone in particular. Postcodes are well-formed codes in
//! the Southend, Essex and Thurrock districts; they name areas, not people.

use crate::person::{Gender, NewPerson, PersonKind, PersonName};
use crate::postcode::Postcode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Date, Duration};

const GIVEN_FEMALE: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Sophia", "Grace",
    "Freya", "Poppy", "Ella", "Evie", "Chloe", "Kayleigh", "Jessica", "Ruby", "Millie", "Daisy",
    "Amira", "Zara", "Maya", "Leah", "Hannah", "Courtney", "Shannon", "Megan", "Aaliyah", "Niamh",
];
const GIVEN_MALE: &[&str] = &[
    "Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Muhammad", "Jack", "Charlie", "Oscar",
    "Jacob", "Thomas", "Alfie", "Riley", "Joshua", "Kyle", "Callum", "Tyler", "Connor", "Reece",
    "Jayden", "Kai", "Ethan", "Mason", "Robert", "Daniel", "Samuel", "Aaron", "Ibrahim", "Dylan",
];
const FAMILY: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper",
    "Ward", "Morris", "King", "Harris", "Baker", "Begum", "Okafor", "Nowak", "Kowalski", "Ahmed",
    "Murphy", "O'Brien", "Mensah", "Campbell", "Phillips", "Mitchell", "Carter",
];
/// Postcode districts across Southend (SS), Essex (CM, CO) and Thurrock (RM).
const DISTRICTS: &[&str] = &[
    "SS0", "SS1", "SS2", "SS3", "SS9", "SS13", "SS14", "SS16", "CM1", "CM2", "CM7", "CM20", "CO1",
    "CO2", "CO15", "RM16", "RM17", "RM18", "RM19", "RM20",
];
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// Generate `n` synthetic people, the same for the same `seed`. `today` anchors ages.
pub fn people(seed: u64, n: usize, today: Date) -> Vec<NewPerson> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| person(&mut rng, today)).collect()
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &'a [&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn person(rng: &mut ChaCha8Rng, today: Date) -> NewPerson {
    // Mostly children, as in a partnership's records; ages match the role.
    let roll = rng.random_range(0..100);
    let (kind, min_age, max_age) = match roll {
        0..70 => (PersonKind::Child, 10, 17),
        70..85 => (PersonKind::ParentCarer, 28, 55),
        85..95 => (PersonKind::PersonOfConcern, 18, 40),
        _ => (PersonKind::Professional, 23, 60),
    };
    let gender = match rng.random_range(0..100) {
        0..48 => Gender::Female,
        48..96 => Gender::Male,
        96..98 => Gender::NonBinary,
        _ => Gender::NotKnown,
    };
    let given = match gender {
        Gender::Female => pick(rng, GIVEN_FEMALE),
        Gender::Male => pick(rng, GIVEN_MALE),
        _ => {
            if rng.random_bool(0.5) {
                pick(rng, GIVEN_FEMALE)
            } else {
                pick(rng, GIVEN_MALE)
            }
        }
    };
    let family = pick(rng, FAMILY);
    let age_days = rng.random_range(min_age * 365..(max_age + 1) * 365);
    let dob = today - Duration::days(i64::from(age_days));
    // A few persons of concern are known only by an estimated age.
    let dob_approximate = kind == PersonKind::PersonOfConcern && rng.random_bool(0.4);
    let postcode = {
        let district = pick(rng, DISTRICTS);
        let digit = rng.random_range(1..10);
        let l1 = INWARD_LETTERS[rng.random_range(0..INWARD_LETTERS.len())] as char;
        let l2 = INWARD_LETTERS[rng.random_range(0..INWARD_LETTERS.len())] as char;
        Postcode::parse(&format!("{district} {digit}{l1}{l2}")).ok()
    };
    NewPerson {
        kind,
        // The lists hold only valid names, so these parses cannot fail; fall back defensively.
        given_name: PersonName::parse("given_name", given).unwrap_or_else(|_| {
            PersonName::parse("given_name", "Alex").unwrap_or_else(|_| unreachable_name())
        }),
        family_name: PersonName::parse("family_name", family).unwrap_or_else(|_| {
            PersonName::parse("family_name", "Smith").unwrap_or_else(|_| unreachable_name())
        }),
        date_of_birth: Some(dob),
        dob_approximate,
        gender,
        postcode,
    }
}

fn unreachable_name() -> PersonName {
    PersonName(String::from("Alex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::person::age_on;
    use time::macros::date;

    #[test]
    fn same_seed_same_people_and_different_seed_differs() {
        let today = date!(2026 - 11 - 23);
        assert_eq!(people(7, 50, today), people(7, 50, today));
        assert_ne!(people(7, 50, today), people(8, 50, today));
    }

    #[test]
    fn people_are_plausible() {
        let today = date!(2026 - 11 - 23);
        let ps = people(1, 500, today);
        assert_eq!(ps.len(), 500);
        let children = ps.iter().filter(|p| p.kind == PersonKind::Child).count();
        assert!(children > 250, "mostly children, got {children}");
        for p in &ps {
            assert!(p.postcode.is_some());
            let age = age_on(p.date_of_birth.unwrap_or(today), today);
            match p.kind {
                PersonKind::Child => assert!((10..=17).contains(&age), "child aged {age}"),
                _ => assert!(age >= 18, "adult aged {age}"),
            }
        }
    }
}
