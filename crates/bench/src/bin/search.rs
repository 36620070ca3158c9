//! Full-text search over a million synthetic case notes, top 10, filtered by the viewer's
//! access: mace's real `CaseRepo::search_text` (SQLite FTS5 through mace-store, the scope
//! predicate inside the query) against tantivy (PyPI), alternately in one run.
//!
//! `crates/bench/setup-peers.sh && cargo run --release -p mace-bench --bin search`
//! Options: `--notes N` (1000000) `--children N` (50000) `--queries N` per class (50)
//! `--rounds N` (5) `--viewer school|police` `--seed N` (7) `--rebuild` `--no-peer`
//! `--data DIR` (target/bench-data/search-…).
//!
//! The corpus (people.tsv, notes.tsv, queries.tsv, manifest.json) and both indexes live in the
//! data directory and are reused by later runs with the same sizes and seed (`--rebuild` makes
//! them again); the build times printed are those measured when they were made.

use anyhow::{Context, Result, bail};
use mace_bench::{peak_rss_mib, peer_python, quantile};
use mace_domain::authz::{Marking, OrgType, Role, Scope};
use mace_domain::cases::{
    BreakGlassGrant, ChronologyEntry, Concern, ConcernStatus, ExploitationType, Involvement,
    InvolvementReason,
};
use mace_domain::identity::model::{Email, Organisation, User, UserStatus};
use mace_domain::person::{Gender, Person, PersonKind};
use mace_domain::ports::{CaseRepo, IdentityRepo, PersonRepo};
use mace_store::{DbConfig, Store};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::macros::{date, datetime};
use uuid::Uuid;

/// The corpus's time span: notes recorded from `START` to just before `NOW`.
const START: OffsetDateTime = datetime!(2019-01-01 08:00:00 UTC);
const NOW: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);
/// Notes per write transaction while loading.
const BATCH: usize = 25_000;
/// Results of each kind (concerns, chronology notes), as the brief's "top 10".
const TOP: i64 = 10;

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Clone, Copy, PartialEq, Eq)]
enum ViewerKind {
    School,
    Police,
}

impl ViewerKind {
    fn name(self) -> &'static str {
        match self {
            ViewerKind::School => "school",
            ViewerKind::Police => "police",
        }
    }
}

struct Args {
    notes: usize,
    children: usize,
    queries: usize,
    rounds: usize,
    viewer: ViewerKind,
    seed: u64,
    rebuild: bool,
    peer: bool,
    data: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        notes: 1_000_000,
        children: 50_000,
        queries: 50,
        rounds: 5,
        viewer: ViewerKind::School,
        seed: 7,
        rebuild: false,
        peer: true,
        data: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--notes" => a.notes = it.next().context("--notes N")?.parse()?,
            "--children" => a.children = it.next().context("--children N")?.parse()?,
            "--queries" => a.queries = it.next().context("--queries N")?.parse()?,
            "--rounds" => a.rounds = it.next().context("--rounds N")?.parse()?,
            "--seed" => a.seed = it.next().context("--seed N")?.parse()?,
            "--viewer" => {
                a.viewer = match it.next().context("--viewer school|police")?.as_str() {
                    "school" => ViewerKind::School,
                    "police" => ViewerKind::Police,
                    other => bail!("unknown viewer {other} (school or police)"),
                }
            }
            "--data" => a.data = Some(it.next().context("--data DIR")?.into()),
            "--rebuild" => a.rebuild = true,
            "--no-peer" => a.peer = false,
            "--bench" => {} // passed by `cargo bench`
            other => bail!("unknown argument {other}"),
        }
    }
    if a.children < 1_000 || a.notes < 1_000 {
        bail!("use at least 1,000 children and 1,000 notes");
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Vocabulary: synthetic UK names and places, safeguarding wording (factual, never graphic,
// never blaming the child; every template is checked with `mace_domain::language`).

const CHILD_GIVEN: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Sophia", "Grace",
    "Freya", "Poppy", "Ella", "Evie", "Chloe", "Kayleigh", "Jessica", "Ruby", "Millie", "Daisy",
    "Amira", "Zara", "Maya", "Leah", "Hannah", "Courtney", "Shannon", "Megan", "Aaliyah", "Niamh",
    "Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Muhammad", "Jack", "Charlie", "Oscar",
    "Jacob", "Thomas", "Alfie", "Riley", "Joshua", "Kyle", "Callum", "Tyler", "Connor", "Reece",
    "Jayden", "Kai", "Ethan", "Mason", "Robert", "Daniel", "Samuel", "Aaron", "Ibrahim", "Dylan",
];

const COMMON_FAMILY: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Cooper",
    "Ward", "Morris", "King", "Harris", "Baker", "Begum", "Okafor", "Nowak", "Kowalski", "Ahmed",
    "Murphy", "Mensah", "Campbell", "Phillips", "Mitchell", "Carter", "Lewis", "Scott", "Young",
    "Allen", "Bennett", "Shaw",
];

const ADULT_GIVEN: &[&str] = &[
    "Darren",
    "Lee",
    "Wayne",
    "Jason",
    "Craig",
    "Dean",
    "Marcus",
    "Shane",
    "Kevin",
    "Ryan",
    "Jamal",
    "Tariq",
    "Adam",
    "Liam",
    "Mark",
    "Paul",
    "Scott",
    "Gary",
    "Stuart",
    "Nathan",
    "Karen",
    "Michelle",
    "Leanne",
    "Donna",
    "Kerry",
    "Nicola",
    "Stacey",
    "Tracey",
    "Gemma",
    "Danielle",
    "Ayesha",
    "Precious",
    "Agnieszka",
    "Bogdan",
    "Florin",
    "Kwame",
    "Emeka",
    "Luca",
];

/// Synthetic surnames: prefix + suffix (about a thousand), so the tail is genuinely rare.
const SUR_PREFIX: &[&str] = &[
    "Ash", "Black", "Brad", "Brook", "Cal", "Carr", "Dun", "Ell", "Fair", "Fen", "Gar", "Hal",
    "Hart", "Kel", "Lang", "Mar", "Mel", "Nor", "Pen", "Rad", "Red", "Stan", "Thorn", "Tre", "Wal",
    "Whit", "Wick", "Brom", "Cres", "Dal", "Fox", "Grim", "Hay", "Kings", "Lox", "Mount", "Orm",
    "Quen", "Rus", "Sal",
];
const SUR_SUFFIX: &[&str] = &[
    "ford", "ley", "ton", "well", "wood", "by", "combe", "ham", "ridge", "field", "stone", "worth",
    "more", "wick", "den", "hurst", "ington", "shaw", "thwaite", "cott", "bury", "dale", "brook",
    "lock", "mere", "hay",
];

const PLACES: &[&str] = &[
    "Southend Central station",
    "Southend Victoria station",
    "Leigh-on-Sea station",
    "Westcliff seafront",
    "Chalkwell Park",
    "Priory Park",
    "the Royals shopping centre",
    "the bus station on Chichester Road",
    "a takeaway on London Road",
    "a hotel near Southend Airport",
    "the multistorey behind the High Street",
    "Shoebury Common",
    "Canvey Island seafront",
    "Basildon town centre",
    "Pitsea station",
    "Wickford station",
    "Rayleigh Weir",
    "Hadleigh Country Park",
    "Eastwood Park",
    "Benfleet station",
    "Thorpe Bay",
    "Hamlet Court Road",
    "Southchurch Park",
    "a flat on Queensway",
    "Victoria Avenue",
    "Sutton Road",
    "the skate park on Marine Parade",
    "Chelmsford bus station",
    "Laindon shopping centre",
    "Grays station",
];

const TOWNS: &[&str] = &[
    "London",
    "Chelmsford",
    "Colchester",
    "Ipswich",
    "Basildon",
    "Luton",
    "Romford",
    "Stratford",
    "Norwich",
    "Cambridge",
    "Harlow",
    "Clacton",
];

const COLOURS: &[&str] = &[
    "grey",
    "silver",
    "black",
    "white",
    "blue",
    "red",
    "dark green",
];
const MAKES: &[&str] = &[
    "Ford Focus",
    "Vauxhall Corsa",
    "Volkswagen Golf",
    "BMW 3 Series",
    "Audi A3",
    "Toyota Prius",
    "Mercedes C-Class",
    "Nissan Qashqai",
    "Kia Sportage",
    "Peugeot 208",
    "Ford Transit van",
    "Seat Leon",
];
const TIMES: &[&str] = &[
    "4pm", "5.30pm", "7pm", "8.45pm", "9pm", "10.30pm", "11pm", "midnight", "1am", "6am",
];

const CONCERN_SENTENCES: &[&str] = &[
    "{c} was seen getting into {v} near {p} at about {t}.",
    "{c} was collected from school by an adult staff did not know, driving {v}.",
    "{c} was reported missing from home overnight and returned the next morning; {c} did not want to say where they had been.",
    "Staff noticed {c} has a new phone and new trainers that the family say they did not buy.",
    "{c} was seen with older males near {p} during school hours.",
    "{c}'s attendance has dropped sharply this half term and they have missed several mornings.",
    "A member of the public reported that {c} was at {p} late in the evening with {a}.",
    "{c} has been receiving frequent calls from {ph} during the school day.",
    "{c} appeared tired and withdrawn in lessons and said they had been out late.",
    "Friends say {c} has been travelling to {town} by train on weekday evenings.",
    "{c} was found at {p} by officers after being reported missing.",
    "{a} has been seen waiting outside the school gates in {v}.",
    "{c} had a large amount of cash and could not explain where it came from.",
    "{c} is thought to be in contact online with an adult using the name {a}.",
    "{c} told a teacher they owe money to {a} and have been asked to carry bags to {town} to pay it back.",
    "{c} was stopped at {p} with a second phone; {ph} was saved in it under the name {a}.",
    "{c} has new friends who are much older and has stopped seeing school friends.",
    "{c} arrived at school in a taxi paid for by someone the family do not know.",
];

const CHILD_WORDS: &[&str] = &[
    "\"I was just with my mates.\"",
    "\"{a} looks after me.\"",
    "\"I don't want to talk about it.\"",
    "\"I have to go when they call.\"",
    "\"I owe them money.\"",
    "\"I'm fine, it's nothing.\"",
    "\"They give me lifts home.\"",
    "\"I didn't go to {town}.\"",
];

const OTHERS_PRESENT: &[&str] = &[
    "{a}",
    "{a} and two males not known to staff",
    "two older males, not known",
    "a friend from school",
    "{a}, driver of {v}",
];

const ACTIONS: &[&str] = &[
    "DSL informed and concern logged; parents contacted.",
    "Referral made to the children's social care front door.",
    "Police informed through 101; vehicle details passed on.",
    "Return home interview requested.",
    "Discussed at the weekly safeguarding meeting; plan to monitor.",
    "Information shared with the exploitation team.",
];

/// Chronology notes by the author organisation's type.
fn entry_sentences(t: OrgType) -> &'static [&'static str] {
    match t {
        OrgType::Police => &[
            "Missing person report for {c}; located at {p} by officers and returned home.",
            "Vehicle {r} stopped at {p}; {a} was driving and {c} was a passenger. Intelligence report submitted.",
            "Intelligence received linking {ph} to {a}; shared with partners.",
            "Welfare check at the home address; {c} present and safe.",
            "{c} spoken to with an appropriate adult present; treated as a potential victim of exploitation.",
            "{v} seen at {p} on several evenings; the registered keeper is {a}.",
        ],
        OrgType::ChildrensSocialCare => &[
            "Home visit completed; {c} seen alone and spoke about school and friends.",
            "Strategy discussion with police and school; section 47 enquiries agreed.",
            "Child and family assessment started; parents engaged.",
            "Return home interview completed after a missing episode; {c} said they had stayed near {p}.",
            "Core group meeting held; safety plan reviewed.",
            "Parent reported {c} missing overnight; {c} came home the next day by train from {town}.",
        ],
        OrgType::School => &[
            "Attendance meeting with parent; {c} attendance is below 80 percent this term.",
            "{c} spoke to the DSL about worries at home.",
            "Safety plan reviewed with {c} and a parent; agreed check-ins each morning.",
            "Staff saw {c} leave at lunchtime in {v}.",
            "{c} was absent without explanation; a parent said {c} stayed with {a}.",
        ],
        OrgType::Health => &[
            "Seen at the emergency department with a minor injury; safeguarding referral made.",
            "School nurse drop-in; {c} asked for help with sleep.",
            "Missed appointment; follow-up letter sent and GP informed.",
            "Sexual health clinic contact; safeguarding assessment completed and shared with the lead professional.",
        ],
        OrgType::SpecialistService => &[
            "Exploitation worker met {c} at {p}; talked about safe routes home.",
            "Disruption plan agreed for {a}; information shared with police.",
            "{c} attended a session on online safety and healthy relationships.",
            "{c} mentioned being given a new phone by {a}; number {ph}.",
        ],
        OrgType::VoluntarySector => &[
            "Youth worker session with {c} at the youth centre; positive engagement.",
            "Mentor took {c} to a football session at {p}.",
            "{c} did not attend the youth centre this week; text sent to {ph}.",
        ],
        _ => &[
            "Youth justice worker met {c}; National Referral Mechanism referral discussed.",
            "Housing officer visited the family; concerns about adults visiting the flat.",
            "{c} was seen at {p} with {a} by a community safety officer.",
        ],
    }
}

/// Closing lines most notes carry: what makes "safeguarding" and "informed" very common words.
const CLOSINGS: &[&str] = &[
    "Safeguarding lead informed.",
    "Lead professional informed; safeguarding record updated.",
    "Recorded on the safeguarding chronology; parents informed.",
    "Safeguarding plan updated and partners informed.",
];

/// Two-word queries of middling selectivity, and very common words.
const TWO_WORD: &[&str] = &[
    "grey car",
    "silver car",
    "train station",
    "missing overnight",
    "new phone",
    "older males",
    "home visit",
    "school gates",
    "strategy discussion",
    "youth centre",
    "return interview",
    "section 47",
];
const COMMON: &[&str] = &["safeguarding", "informed"];

const CLASSES: [&str; 4] = ["rare surname", "vehicle reg", "two words", "common word"];

/// Organisations: (name, type, share of children involved). Schools come last; every child
/// attends exactly one of them.
const ORGS: &[(&str, OrgType, f64)] = &[
    ("Essex Police", OrgType::Police, 0.25),
    (
        "Southend Children's Social Care",
        OrgType::ChildrensSocialCare,
        0.35,
    ),
    ("Mid and South Essex NHS Trust", OrgType::Health, 0.30),
    (
        "Exploitation and Missing Service",
        OrgType::SpecialistService,
        0.10,
    ),
    (
        "Off the Streets Youth Project",
        OrgType::VoluntarySector,
        0.08,
    ),
    ("Youth Justice Service", OrgType::LocalAuthority, 0.10),
];
const SCHOOLS: &[&str] = &[
    "Chalkwell Hall Academy",
    "Belfairs High School",
    "Shoeburyness Academy",
    "Westborough High School",
    "Cecil Jones College",
    "Southchurch Hall Academy",
    "Eastwood Park School",
    "Thorpe Bay College",
    "Priory Park Academy",
    "Leigh Marshes School",
    "Hadleigh Ridge Academy",
    "Canvey Sands High School",
];
/// The school whose safeguarding lead is the `school` viewer.
const VIEWER_SCHOOL: usize = 3;

fn org_count() -> usize {
    ORGS.len() + SCHOOLS.len()
}
fn org_id(i: usize) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | (i as u128 + 1))
}
fn org_type(i: usize) -> OrgType {
    ORGS.get(i).map_or(OrgType::School, |o| o.1)
}
fn org_name(i: usize) -> String {
    ORGS.get(i).map_or_else(
        || SCHOOLS.get(i - ORGS.len()).unwrap_or(&"School").to_string(),
        |o| o.0.to_string(),
    )
}
/// The practitioner at each organisation who raises its concerns and writes its notes.
fn author_id(i: usize) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0001_0000 | (i as u128 + 1))
}
fn viewer_id(v: ViewerKind) -> Uuid {
    Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0002_0000
            | match v {
                ViewerKind::School => 1,
                ViewerKind::Police => 2,
            },
    )
}
fn viewer_org(v: ViewerKind) -> usize {
    match v {
        ViewerKind::School => ORGS.len() + VIEWER_SCHOOL,
        ViewerKind::Police => 0,
    }
}

/// A cumulative Zipf table over `n` ranks with exponent `s`.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let mut acc = 0.0;
    let mut v: Vec<f64> = (1..=n)
        .map(|k| {
            acc += 1.0 / (k as f64).powf(s);
            acc
        })
        .collect();
    for x in &mut v {
        *x /= acc;
    }
    v
}
fn draw(rng: &mut ChaCha8Rng, table: &[f64]) -> usize {
    let u: f64 = rng.random();
    table
        .partition_point(|&c| c < u)
        .min(table.len().saturating_sub(1))
}
fn one<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list.get(rng.random_range(0..list.len()))
        .copied()
        .unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// The corpus

struct ChildRec {
    id: Uuid,
    given: &'static str,
    family: &'static str,
    orgs: Vec<usize>,
    marking: Option<Marking>,
}

struct Vehicle {
    desc: String,
    reg: String,
}

/// Who may see what, per viewer (the same rule as `authz::scope_admits`).
struct Access {
    allocated: Vec<usize>,
    glass_active: Vec<usize>,
    glass_expired: Vec<usize>,
    cleared: Vec<usize>,
}

struct World {
    children: Vec<ChildRec>,
    adults: Vec<(String, usize)>, // full name, surname index
    surnames: Vec<String>,
    vehicles: Vec<Vehicle>,
    access: [Access; 2],
}

fn vidx(v: ViewerKind) -> usize {
    match v {
        ViewerKind::School => 0,
        ViewerKind::Police => 1,
    }
}

impl World {
    fn new(rng: &mut ChaCha8Rng, n_children: usize) -> World {
        let mut surnames: Vec<String> = COMMON_FAMILY.iter().map(|s| s.to_string()).collect();
        let mut synthetic: Vec<String> = SUR_PREFIX
            .iter()
            .flat_map(|p| SUR_SUFFIX.iter().map(move |s| format!("{p}{s}")))
            .collect();
        synthetic.shuffle(rng);
        surnames.extend(synthetic);
        let sur_table = zipf(surnames.len(), 1.0);
        let adults = (0..40_000)
            .map(|_| {
                let s = draw(rng, &sur_table);
                let name = format!(
                    "{} {}",
                    one(rng, ADULT_GIVEN),
                    surnames.get(s).map_or("", String::as_str)
                );
                (name, s)
            })
            .collect();
        let letters = b"ABCDEFGHJKLMNOPRSTUVWXY";
        let vehicles = (0..30_000)
            .map(|_| {
                let l = |rng: &mut ChaCha8Rng| {
                    *letters
                        .get(rng.random_range(0..letters.len()))
                        .unwrap_or(&b'X') as char
                };
                let age = if rng.random_bool(0.5) {
                    rng.random_range(51..75)
                } else {
                    rng.random_range(2..25)
                };
                let reg = format!(
                    "{}{}{:02} {}{}{}",
                    l(rng),
                    l(rng),
                    age,
                    l(rng),
                    l(rng),
                    l(rng)
                );
                let desc = format!("a {} car ({}, {reg})", one(rng, COLOURS), one(rng, MAKES));
                Vehicle { desc, reg }
            })
            .collect();
        let school0 = ORGS.len();
        let children = (0..n_children)
            .map(|_| {
                let mut orgs = vec![school0 + rng.random_range(0..SCHOOLS.len())];
                for (i, (_, _, share)) in ORGS.iter().enumerate() {
                    if rng.random_bool(*share) {
                        orgs.push(i);
                    }
                }
                let m: f64 = rng.random();
                let marking = if m < 0.02 {
                    Some(Marking::PoliceOnly)
                } else if m < 0.025 {
                    Some(Marking::StaffInvolved)
                } else {
                    None
                };
                ChildRec {
                    id: v7(rng, START),
                    given: one(rng, CHILD_GIVEN),
                    family: one(rng, COMMON_FAMILY),
                    orgs,
                    marking,
                }
            })
            .collect::<Vec<_>>();
        let access = [ViewerKind::School, ViewerKind::Police].map(|v| {
            let org = viewer_org(v);
            let mut outside: Vec<usize> = (0..n_children)
                .filter(|&p| children.get(p).is_some_and(|c| !c.orgs.contains(&org)))
                .collect();
            outside.shuffle(rng);
            let inside_restricted: Vec<usize> = (0..n_children)
                .filter(|&p| {
                    children.get(p).is_some_and(|c| {
                        c.orgs.contains(&org) && c.marking == Some(Marking::StaffInvolved)
                    })
                })
                .collect();
            let mut take = |n: usize| outside.drain(..n.min(outside.len())).collect::<Vec<_>>();
            Access {
                allocated: take(if v == ViewerKind::School { 8 } else { 30 }),
                glass_active: take(2),
                glass_expired: take(2),
                cleared: inside_restricted.into_iter().take(2).collect(),
            }
        });
        World {
            children,
            adults,
            surnames,
            vehicles,
            access,
        }
    }

    /// Is the record in the viewer's scope (`authz::scope_admits`)?
    fn admits(&self, v: ViewerKind, p: usize) -> bool {
        let Some(c) = self.children.get(p) else {
            return false;
        };
        let a = &self.access[vidx(v)];
        let related = c.orgs.contains(&viewer_org(v))
            || a.allocated.contains(&p)
            || a.glass_active.contains(&p);
        related
            && match c.marking {
                None => true,
                Some(Marking::PoliceOnly) => v == ViewerKind::Police,
                Some(Marking::StaffInvolved) => a.cleared.contains(&p),
            }
    }
}

/// A UUIDv7 at `t` with seeded random bits (mace's keys are UUIDv7).
fn v7(rng: &mut ChaCha8Rng, t: OffsetDateTime) -> Uuid {
    let ms = u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
}

/// Counts of what a template mentioned, for choosing queries and reporting selectivity.
#[derive(Default)]
struct Mentions {
    surnames: Vec<usize>,
    vehicles: Vec<usize>,
}

/// Fill `{c}` child, `{a}` adult, `{v}` vehicle, `{r}` registration, `{p}` place, `{ph}` phone,
/// `{t}` time, `{town}`.
fn fill(
    tpl: &str,
    rng: &mut ChaCha8Rng,
    w: &World,
    tables: &Tables,
    child: &str,
    out: &mut String,
    m: &mut Mentions,
) {
    let mut rest = tpl;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or(""));
        let after = rest.get(open + 1..).unwrap_or("");
        let Some(close) = after.find('}') else {
            out.push_str(rest.get(open..).unwrap_or(""));
            return;
        };
        match after.get(..close).unwrap_or("") {
            "c" => out.push_str(child),
            "a" => {
                let i = draw(rng, &tables.adults);
                if let Some((name, s)) = w.adults.get(i) {
                    out.push_str(name);
                    m.surnames.push(*s);
                }
            }
            key @ ("v" | "r") => {
                let i = draw(rng, &tables.vehicles);
                if let Some(v) = w.vehicles.get(i) {
                    out.push_str(if key == "v" { &v.desc } else { &v.reg });
                    m.vehicles.push(i);
                }
            }
            "p" => out.push_str(one(rng, PLACES)),
            "ph" => {
                let _ = write!(out, "07700 900{:03}", rng.random_range(0..1000));
            }
            "t" => out.push_str(one(rng, TIMES)),
            "town" => out.push_str(one(rng, TOWNS)),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
}

struct Tables {
    adults: Vec<f64>,
    vehicles: Vec<f64>,
    children: Vec<f64>,
}

enum Note {
    Concern(Box<Concern>),
    Entry(ChronologyEntry),
}

/// Every searchable text a note carries, joined (for counting words).
fn note_text(n: &Note) -> String {
    match n {
        Note::Concern(c) => format!(
            "{} {} {} {} {}",
            c.narrative, c.child_words, c.others_present, c.actions_taken, c.location
        ),
        Note::Entry(e) => e.summary.clone(),
    }
}

fn make_note(
    rng: &mut ChaCha8Rng,
    w: &World,
    tables: &Tables,
    i: usize,
    total: usize,
    m: &mut Mentions,
) -> (usize, Note) {
    let span = (NOW - START).whole_seconds() as f64 - 86_400.0;
    let recorded = START
        + time::Duration::seconds_f64(span * i as f64 / total as f64 + rng.random_range(0.0..60.0));
    let event = recorded - time::Duration::seconds(rng.random_range(0..3 * 86_400));
    let p = draw(rng, &tables.children);
    let Some(child) = w.children.get(p) else {
        return (0, Note::Entry(empty_entry()));
    };
    let author_org = *child
        .orgs
        .get(rng.random_range(0..child.orgs.len()))
        .unwrap_or(&0);
    let id = v7(rng, recorded);
    let mut text = String::with_capacity(400);
    if rng.random_bool(0.2) {
        let k = rng.random_range(2..=3);
        for j in 0..k {
            if j > 0 {
                text.push(' ');
            }
            fill(
                one(rng, CONCERN_SENTENCES),
                rng,
                w,
                tables,
                child.given,
                &mut text,
                m,
            );
        }
        if rng.random_bool(0.85) {
            text.push(' ');
            text.push_str(one(rng, CLOSINGS));
        }
        let field = |rng: &mut ChaCha8Rng, list: &[&str], p: f64, m: &mut Mentions| {
            let mut s = String::new();
            if rng.random_bool(p) {
                fill(one(rng, list), rng, w, tables, child.given, &mut s, m);
            }
            s
        };
        let child_words = field(rng, CHILD_WORDS, 0.6, m);
        let others_present = field(rng, OTHERS_PRESENT, 0.5, m);
        let actions_taken = field(rng, ACTIONS, 0.9, m);
        let location = one(rng, PLACES).to_string();
        let types = [
            ExploitationType::Criminal,
            ExploitationType::Sexual,
            ExploitationType::CountyLines,
            ExploitationType::Online,
        ];
        let et = types
            .get(rng.random_range(0..types.len()))
            .copied()
            .unwrap_or(ExploitationType::Other);
        return (
            p,
            Note::Concern(Box::new(Concern {
                id,
                person_id: child.id,
                raised_by_user: author_id(author_org),
                raised_by_org: org_id(author_org),
                status: ConcernStatus::Submitted,
                observed_at: Some(event),
                location,
                narrative: text,
                exploitation_types: vec![et],
                indicators: vec![],
                group_id: None,
                front_door_org: None,
                child_words,
                others_present,
                actions_taken,
                created_at: recorded,
                decision: None,
                rationale: None,
                decided_by: None,
                decided_at: None,
            })),
        );
    }
    let k = if rng.random_bool(0.3) { 2 } else { 1 };
    let pool = entry_sentences(org_type(author_org));
    for j in 0..k {
        if j > 0 {
            text.push(' ');
        }
        fill(one(rng, pool), rng, w, tables, child.given, &mut text, m);
    }
    if rng.random_bool(0.85) {
        text.push(' ');
        text.push_str(one(rng, CLOSINGS));
    }
    let mk: f64 = rng.random();
    let marking = if mk < 0.01 {
        Some(Marking::PoliceOnly)
    } else if mk < 0.012 {
        Some(Marking::StaffInvolved)
    } else {
        None
    };
    let kinds = [
        "note",
        "note",
        "home_visit",
        "strategy_discussion",
        "missing_episode",
    ];
    (
        p,
        Note::Entry(ChronologyEntry {
            id,
            person_id: child.id,
            kind: one(rng, &kinds).to_string(),
            source_id: id,
            org_id: org_id(author_org),
            event_at: event,
            recorded_at: recorded,
            summary: text,
            marking,
        }),
    )
}

fn empty_entry() -> ChronologyEntry {
    ChronologyEntry {
        id: Uuid::nil(),
        person_id: Uuid::nil(),
        kind: "note".into(),
        source_id: Uuid::nil(),
        org_id: Uuid::nil(),
        event_at: START,
        recorded_at: START,
        summary: String::new(),
        marking: None,
    }
}

/// Every template, filled once, must pass mace's own language check.
fn check_language(rng: &mut ChaCha8Rng, w: &World, tables: &Tables) -> Result<()> {
    let mut all: Vec<&str> = Vec::new();
    all.extend(CONCERN_SENTENCES);
    all.extend(CHILD_WORDS);
    all.extend(OTHERS_PRESENT);
    all.extend(ACTIONS);
    all.extend(CLOSINGS);
    for t in [
        OrgType::Police,
        OrgType::ChildrensSocialCare,
        OrgType::School,
        OrgType::Health,
        OrgType::SpecialistService,
        OrgType::VoluntarySector,
        OrgType::LocalAuthority,
    ] {
        all.extend(entry_sentences(t));
    }
    for tpl in all {
        let mut s = String::new();
        fill(
            tpl,
            rng,
            w,
            tables,
            "Amira",
            &mut s,
            &mut Mentions::default(),
        );
        let found = mace_domain::language::check(&s);
        if !found.is_empty() {
            bail!("template flagged by mace's language check: {s}");
        }
    }
    Ok(())
}

fn tsv(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

const QUERY_WORDS: &[&str] = &[
    "grey",
    "car",
    "silver",
    "train",
    "station",
    "missing",
    "overnight",
    "new",
    "phone",
    "older",
    "males",
    "home",
    "visit",
    "school",
    "gates",
    "strategy",
    "discussion",
    "youth",
    "centre",
    "return",
    "interview",
    "section",
    "47",
    "safeguarding",
    "informed",
];

fn word_mask(text: &str, bits: &HashMap<&'static str, u32>) -> u32 {
    let mut m = 0u32;
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        if let Some(b) = bits.get(w.to_lowercase().as_str()) {
            m |= 1 << b;
        }
    }
    m
}

/// Generate the corpus, write it, and load it into a fresh mace SQLite database through the
/// store's ports. Returns the manifest.
async fn build(dir: &Path, a: &Args) -> Result<Value> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let t_gen = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let w = World::new(&mut rng, a.children);
    let mut child_weights = zipf(a.children, 0.6);
    // Children in a random order of need, so neither schools nor id order line up with it.
    let mut order: Vec<usize> = (0..a.children).collect();
    order.shuffle(&mut rng);
    let dens: Vec<f64> = {
        let mut prev = 0.0;
        let d: Vec<f64> = child_weights
            .iter()
            .map(|c| {
                let x = c - prev;
                prev = *c;
                x
            })
            .collect();
        let mut shuffled = vec![0.0; a.children];
        for (rank, &p) in order.iter().enumerate() {
            if let (Some(slot), Some(x)) = (shuffled.get_mut(p), d.get(rank)) {
                *slot = *x;
            }
        }
        shuffled
    };
    let mut acc = 0.0;
    for (c, d) in child_weights.iter_mut().zip(&dens) {
        acc += d;
        *c = acc;
    }
    let tables = Tables {
        adults: zipf(w.adults.len(), 0.9),
        vehicles: zipf(w.vehicles.len(), 0.8),
        children: child_weights,
    };
    check_language(&mut rng, &w, &tables)?;

    // people.tsv
    let mut people = BufWriter::new(std::fs::File::create(dir.join("people.tsv"))?);
    for (i, c) in w.children.iter().enumerate() {
        let orgs: Vec<String> = c.orgs.iter().map(usize::to_string).collect();
        writeln!(
            people,
            "{i}\t{}\t{}\t{}\t{}\t{}",
            c.id,
            c.given,
            c.family,
            orgs.join(" "),
            c.marking.map_or("", |m| m.as_str())
        )?;
    }
    people.flush()?;

    let store = open_store(dir).await?;
    let t_load = Instant::now();
    load_people(&store, &w).await?;
    let mut load_time = t_load.elapsed();

    let bits: HashMap<&'static str, u32> = QUERY_WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u32))
        .collect();
    let mut mask_counts: HashMap<u32, [usize; 3]> = HashMap::new();
    let mut sur_counts = vec![[0usize; 3]; w.surnames.len()];
    let mut veh_counts = vec![[0usize; 3]; w.vehicles.len()];
    let mut notes_out = BufWriter::new(std::fs::File::create(dir.join("notes.tsv"))?);
    let (mut n_concerns, mut n_entries, mut text_bytes) = (0usize, 0usize, 0usize);
    let mut batch: Vec<Note> = Vec::with_capacity(BATCH);
    let mut gen_time = t_gen.elapsed() - load_time;
    let mut last_report = Instant::now();
    for i in 0..a.notes {
        let t0 = Instant::now();
        let mut m = Mentions::default();
        let (p, note) = make_note(&mut rng, &w, &tables, i, a.notes, &mut m);
        let text = note_text(&note);
        text_bytes += text.len();
        // Which viewers see it (counts for the report: [all, school, police]).
        let entry_marking = match &note {
            Note::Entry(e) => e.marking,
            Note::Concern(_) => None,
        };
        let seen = [ViewerKind::School, ViewerKind::Police].map(|v| {
            w.admits(v, p)
                && match entry_marking {
                    None => true,
                    Some(Marking::PoliceOnly) => v == ViewerKind::Police,
                    Some(Marking::StaffInvolved) => w.access[vidx(v)].cleared.contains(&p),
                }
        });
        let bump = |c: &mut [usize; 3]| {
            c[0] += 1;
            c[1] += usize::from(seen[0]);
            c[2] += usize::from(seen[1]);
        };
        bump(mask_counts.entry(word_mask(&text, &bits)).or_default());
        for s in m.surnames.iter().collect::<HashSet<_>>() {
            if let Some(c) = sur_counts.get_mut(*s) {
                bump(c);
            }
        }
        for v in m.vehicles.iter().collect::<HashSet<_>>() {
            if let Some(c) = veh_counts.get_mut(*v) {
                bump(c);
            }
        }
        if i % 20 == 0 && !mace_domain::language::check(&text).is_empty() {
            bail!("a generated note was flagged by mace's language check: {text}");
        }
        let line = match &note {
            Note::Concern(c) => {
                n_concerns += 1;
                format!(
                    "{}\tconcern\t{p}\t\t{}\t{}\t{}\t{}\t{}",
                    c.id,
                    tsv(&c.narrative),
                    tsv(&c.child_words),
                    tsv(&c.others_present),
                    tsv(&c.actions_taken),
                    tsv(&c.location)
                )
            }
            Note::Entry(e) => {
                n_entries += 1;
                format!(
                    "{}\tnote\t{p}\t{}\t{}\t\t\t\t",
                    e.id,
                    e.marking.map_or("", |m| m.as_str()),
                    tsv(&e.summary)
                )
            }
        };
        writeln!(notes_out, "{line}")?;
        batch.push(note);
        gen_time += t0.elapsed();
        if batch.len() == BATCH || i + 1 == a.notes {
            let t1 = Instant::now();
            load_notes(&store, std::mem::take(&mut batch)).await?;
            load_time += t1.elapsed();
            if last_report.elapsed() > Duration::from_secs(15) {
                println!(
                    "  … {} notes loaded ({:.0} s loading so far)",
                    i + 1,
                    load_time.as_secs_f64()
                );
                last_report = Instant::now();
            }
        }
    }
    notes_out.flush()?;
    store.close().await;

    // Selectivity of the fixed words, [all, school viewer, police viewer].
    let df = |q: &str| -> [usize; 3] {
        let need = word_mask(q, &bits);
        let mut c = [0usize; 3];
        for (mask, n) in &mask_counts {
            if mask & need == need {
                for k in 0..3 {
                    c[k] += n[k];
                }
            }
        }
        c
    };
    let words: BTreeMap<String, [usize; 3]> = TWO_WORD
        .iter()
        .chain(COMMON)
        .map(|q| (q.to_string(), df(q)))
        .collect();
    // Rare surnames: in 5 to 200 notes in all. Vehicles: registrations seen in two notes or more.
    let rare: BTreeMap<String, [usize; 3]> = w
        .surnames
        .iter()
        .zip(&sur_counts)
        .filter(|(_, c)| (5..=200).contains(&c[0]))
        .map(|(s, c)| (s.clone(), *c))
        .collect();
    let regs: BTreeMap<String, [usize; 3]> = w
        .vehicles
        .iter()
        .zip(&veh_counts)
        .filter(|(_, c)| c[0] >= 2)
        .map(|(v, c)| (v.reg.clone(), *c))
        .collect();
    let access = |v: ViewerKind| {
        let x = &w.access[vidx(v)];
        json!({
            "org": viewer_org(v),
            "org_id": org_id(viewer_org(v)).to_string(),
            "user_id": viewer_id(v).to_string(),
            "police": v == ViewerKind::Police,
            "allocated": x.allocated,
            "glass_active": x.glass_active,
            "glass_expired": x.glass_expired,
            "cleared": x.cleared,
            "children_in_scope": (0..a.children).filter(|&p| w.admits(v, p)).count(),
        })
    };
    let manifest = json!({
        "seed": a.seed,
        "notes": a.notes,
        "children": a.children,
        "concerns": n_concerns,
        "entries": n_entries,
        "text_mib": text_bytes as f64 / 1048576.0,
        "generate_s": gen_time.as_secs_f64(),
        "load_s": load_time.as_secs_f64(),
        "load_path": "ports (insert_person, insert_involvement, insert_concern, insert_chronology, …) in write transactions of 25,000 rows; FTS5 kept by the migration's triggers",
        "viewers": { "school": access(ViewerKind::School), "police": access(ViewerKind::Police) },
        "words": words,
        "rare": rare,
        "regs": regs,
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

async fn open_store(dir: &Path) -> Result<Store> {
    let store = Store::open(&DbConfig::Sqlite {
        path: dir.join("mace.db"),
    })
    .await?;
    store.migrate().await?;
    Ok(store)
}

async fn load_people(store: &Store, w: &World) -> Result<()> {
    let orgs: Vec<Organisation> = (0..org_count())
        .map(|i| Organisation {
            id: org_id(i),
            name: org_name(i),
            org_type: org_type(i),
            created_at: START,
        })
        .collect();
    let user = |id: Uuid, org: usize, role: Role, email: String| -> Result<User> {
        Ok(User {
            id,
            org_id: org_id(org),
            team_id: None,
            email: Email::parse(&email).map_err(|e| anyhow::anyhow!("{e:?}"))?,
            display_name: format!("{} ({})", role.label(), org_name(org)),
            roles: vec![role],
            status: UserStatus::Active,
            password_hash: None,
            password_changed_at: None,
            totp_secret: None,
            totp_last_step: None,
            mfa_enrolled_at: None,
            created_at: START,
            updated_at: START,
        })
    };
    let mut users = Vec::new();
    for i in 0..org_count() {
        users.push(user(
            author_id(i),
            i,
            Role::Practitioner,
            format!("practitioner{i}@org{i}.example"),
        )?);
    }
    users.push(user(
        viewer_id(ViewerKind::School),
        viewer_org(ViewerKind::School),
        Role::DesignatedSafeguardingLead,
        "dsl@school.example".into(),
    )?);
    users.push(user(
        viewer_id(ViewerKind::Police),
        viewer_org(ViewerKind::Police),
        Role::PoliceIntelligenceOfficer,
        "pio@police.example".into(),
    )?);
    let mut dob_rng = ChaCha8Rng::seed_from_u64(1);
    let people: Vec<(Person, Vec<Involvement>, Option<Marking>)> = w
        .children
        .iter()
        .map(|c| {
            let person = Person {
                id: c.id,
                kind: PersonKind::Child,
                given_name: c.given.into(),
                family_name: c.family.into(),
                date_of_birth: date!(2008 - 09 - 01)
                    .checked_add(time::Duration::days(dob_rng.random_range(0..2900))),
                dob_approximate: false,
                gender: if dob_rng.random_bool(0.5) {
                    Gender::Female
                } else {
                    Gender::Male
                },
                postcode: None,
                created_at: START,
                updated_at: START,
            };
            let lead = if c.orgs.contains(&1) { 1 } else { c.orgs[0] };
            let inv = c
                .orgs
                .iter()
                .map(|&o| Involvement {
                    person_id: c.id,
                    org_id: org_id(o),
                    reason: match org_type(o) {
                        OrgType::School => InvolvementReason::Recorded,
                        OrgType::ChildrensSocialCare => InvolvementReason::HoldsCase,
                        _ => InvolvementReason::RaisedConcern,
                    },
                    is_lead: o == lead,
                    created_at: START,
                })
                .collect();
            (person, inv, c.marking)
        })
        .collect();
    let people = Arc::new(people);
    let (orgs, users) = (Arc::new(orgs), Arc::new(users));
    let grants: Arc<Vec<(Uuid, usize, Access)>> = Arc::new(
        [ViewerKind::School, ViewerKind::Police]
            .iter()
            .map(|&v| {
                let x = &w.access[vidx(v)];
                let ids = |l: &[usize]| l.to_vec();
                (
                    viewer_id(v),
                    viewer_org(v),
                    Access {
                        allocated: ids(&x.allocated),
                        glass_active: ids(&x.glass_active),
                        glass_expired: ids(&x.glass_expired),
                        cleared: ids(&x.cleared),
                    },
                )
            })
            .collect(),
    );
    let child_ids: Arc<Vec<Uuid>> = Arc::new(w.children.iter().map(|c| c.id).collect());
    store
        .write(move |tx| {
            let (orgs, users, people, grants, child_ids) = (
                orgs.clone(),
                users.clone(),
                people.clone(),
                grants.clone(),
                child_ids.clone(),
            );
            Box::pin(async move {
                for o in orgs.iter() {
                    tx.insert_org(o).await?;
                }
                for u in users.iter() {
                    tx.insert_user(u).await?;
                }
                for (p, inv, marking) in people.iter() {
                    tx.insert_person(p).await?;
                    for i in inv {
                        tx.insert_involvement(i).await?;
                    }
                    if let Some(m) = marking {
                        tx.set_marking(p.id, *m, START).await?;
                    }
                }
                let pid = |i: &usize| child_ids.get(*i).copied().unwrap_or_default();
                for (n, (user, org, acc)) in grants.iter().enumerate() {
                    for p in &acc.allocated {
                        tx.allocate(pid(p), *user, START).await?;
                    }
                    for p in &acc.cleared {
                        tx.clear_for_restricted(pid(p), *user, START).await?;
                    }
                    for (k, (p, active)) in acc
                        .glass_active
                        .iter()
                        .map(|p| (p, true))
                        .chain(acc.glass_expired.iter().map(|p| (p, false)))
                        .enumerate()
                    {
                        let created = if active {
                            NOW - time::Duration::hours(2)
                        } else {
                            NOW - time::Duration::days(30)
                        };
                        tx.insert_break_glass(&BreakGlassGrant {
                            id: Uuid::from_u128(
                                0x0190_0000_0000_7000_8000_0003_0000_0000
                                    | ((n as u128) << 16)
                                    | k as u128,
                            ),
                            person_id: pid(p),
                            user_id: *user,
                            org_id: org_id(*org),
                            reason: "Urgent welfare check requested by the duty officer".into(),
                            created_at: created,
                            expires_at: created + time::Duration::hours(24),
                        })
                        .await?;
                    }
                }
                Ok(())
            })
        })
        .await?;
    Ok(())
}

async fn load_notes(store: &Store, batch: Vec<Note>) -> Result<()> {
    let batch = Arc::new(batch);
    store
        .write(move |tx| {
            let batch = batch.clone();
            Box::pin(async move {
                for n in batch.iter() {
                    match n {
                        Note::Concern(c) => tx.insert_concern(c).await?,
                        Note::Entry(e) => tx.insert_chronology(e).await?,
                    }
                }
                Ok(())
            })
        })
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Queries

struct Query {
    class: usize,
    text: String,
    /// Notes with every word, [all, school viewer, police viewer] (counted on exact words,
    /// before stemming).
    matches: [usize; 3],
}

fn counts(v: &Value) -> [usize; 3] {
    let g = |i: usize| v.get(i).and_then(Value::as_u64).unwrap_or(0) as usize;
    [g(0), g(1), g(2)]
}

/// The query mix. Surnames and registrations are ones the viewer has at least one note about
/// (people look up what they have seen); the two-word and common-word lists are fixed.
fn queries(manifest: &Value, per_class: usize, seed: u64, vi: usize) -> Result<Vec<Query>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0f5e_a4c4);
    let table = |k: &str| -> Result<Vec<(String, [usize; 3])>> {
        Ok(manifest
            .get(k)
            .and_then(Value::as_object)
            .with_context(|| format!("manifest has no {k}"))?
            .iter()
            .map(|(q, c)| (q.clone(), counts(c)))
            .collect())
    };
    let seen = |t: Vec<(String, [usize; 3])>| -> Vec<(String, [usize; 3])> {
        t.into_iter().filter(|(_, c)| c[vi] > 0).collect()
    };
    let (rare, regs, words) = (seen(table("rare")?), seen(table("regs")?), table("words")?);
    if rare.is_empty() || regs.is_empty() {
        bail!("the corpus has no rare surnames or registrations to query");
    }
    let fixed = |list: &[&str]| -> Vec<(String, [usize; 3])> {
        list.iter()
            .map(|q| {
                let c = words
                    .iter()
                    .find(|(w, _)| w == q)
                    .map_or([0; 3], |(_, c)| *c);
                (q.to_string(), c)
            })
            .collect()
    };
    let pools = [rare, regs, fixed(TWO_WORD), fixed(COMMON)];
    let mut out = Vec::new();
    for (class, pool) in pools.iter().enumerate() {
        for _ in 0..per_class {
            if let Some((text, matches)) = pool.get(rng.random_range(0..pool.len())) {
                out.push(Query {
                    class,
                    text: text.clone(),
                    matches: *matches,
                });
            }
        }
    }
    out.shuffle(&mut rng);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Running

struct RoundResult {
    lat: Vec<Duration>,
    ids: Vec<Vec<String>>,
}

async fn mace_round(
    store: &Store,
    scope: &Scope,
    user: Uuid,
    qs: &[(Vec<String>, usize)],
    limit: i64,
) -> Result<RoundResult> {
    let mut lat = Vec::with_capacity(qs.len());
    let mut ids = Vec::with_capacity(qs.len());
    for (terms, _) in qs {
        let (scope, terms) = (scope.clone(), terms.clone());
        let t = Instant::now();
        let hits = store
            .read(move |tx| {
                let (scope, terms) = (scope.clone(), terms.clone());
                Box::pin(async move { tx.search_text(&scope, user, &terms, limit).await })
            })
            .await?;
        lat.push(t.elapsed());
        ids.push(hits.iter().map(|h| h.id.to_string()).collect());
    }
    Ok(RoundResult { lat, ids })
}

/// How the tantivy peer applies the viewer's access: (command, label, what it does).
const MODES: [(&str, &str, &str); 2] = [
    (
        "ids",
        "tantivy, allowed-ids filter",
        "a term set of the viewer's allowed child ids (from the access data, as mace's scope SQL would give them), built once per viewer",
    ),
    (
        "orgs",
        "tantivy, org-field filter",
        "involved organisations and record markings indexed into every note (reindex a child's notes when they change); filter on the viewer's organisation + allocations",
    ),
];

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(dir: &Path, viewer: ViewerKind, rebuild: bool) -> Result<(Peer, Value)> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/search_tantivy.py");
        let mut cmd = Command::new(peer_python());
        cmd.arg(&script).arg(dir).arg(viewer.name());
        if rebuild {
            cmd.arg("--rebuild");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the tantivy peer (run crates/bench/setup-peers.sh first)")?;
        let stdin = child.stdin.take().context("peer stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("peer stdout")?);
        let mut p = Peer {
            child,
            stdin,
            stdout,
        };
        let hello = p.line()?;
        Ok((p, hello))
    }

    fn line(&mut self) -> Result<Value> {
        let mut s = String::new();
        if self.stdout.read_line(&mut s)? == 0 {
            bail!("the tantivy peer stopped (see its messages above)");
        }
        Ok(serde_json::from_str(&s)?)
    }

    fn round(&mut self, mode: &str) -> Result<(RoundResult, Value)> {
        writeln!(self.stdin, "round {mode}")?;
        self.stdin.flush()?;
        let v = self.line()?;
        let lat = v
            .get("lat_ms")
            .and_then(Value::as_array)
            .context("peer round without lat_ms")?
            .iter()
            .map(|x| Duration::from_secs_f64(x.as_f64().unwrap_or(f64::NAN) / 1000.0))
            .collect();
        let ids = v
            .get("ids")
            .and_then(Value::as_array)
            .context("peer round without ids")?
            .iter()
            .map(|l| {
                l.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        Ok((RoundResult { lat, ids }, v))
    }

    fn stop(mut self) -> Result<()> {
        writeln!(self.stdin, "quit")?;
        self.stdin.flush()?;
        self.child.wait()?;
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50/p95/p99 in ms of the latencies of one class (`None`: every class).
fn pcts(rounds: &[RoundResult], qs: &[(Vec<String>, usize)], class: Option<usize>) -> [f64; 3] {
    let mut v: Vec<Duration> = rounds
        .iter()
        .flat_map(|r| {
            r.lat
                .iter()
                .zip(qs)
                .filter(|(_, (_, c))| class.is_none_or(|k| k == *c))
                .map(|(d, _)| *d)
        })
        .collect();
    v.sort();
    [0.5, 0.95, 0.99].map(|q| ms(quantile(&v, q)))
}

fn round_p95(r: &RoundResult) -> f64 {
    let mut v = r.lat.clone();
    v.sort();
    ms(quantile(&v, 0.95))
}

/// Every hit must be one the viewer may see: checked against the corpus's own access data
/// (people.tsv, notes.tsv and the manifest), not against either engine. Returns (hits checked,
/// hits not visible).
fn check_access(
    dir: &Path,
    viewer: &Value,
    police: bool,
    ids: &HashSet<&String>,
) -> Result<(usize, usize)> {
    let list = |k: &str| -> HashSet<usize> {
        viewer
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|x| x as usize))
                    .collect()
            })
            .unwrap_or_default()
    };
    let org = viewer
        .get("org")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX)
        .to_string();
    let (allocated, glass, cleared) = (list("allocated"), list("glass_active"), list("cleared"));
    let mut admitted = HashSet::new();
    for line in BufReader::new(std::fs::File::open(dir.join("people.tsv"))?).lines() {
        let line = line?;
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(idx), Some(orgs), Some(marking)) = (f.first(), f.get(4), f.get(5)) else {
            bail!("people.tsv: bad line");
        };
        let p: usize = idx.parse()?;
        let related =
            orgs.split(' ').any(|o| o == org) || allocated.contains(&p) || glass.contains(&p);
        let marked_ok = match *marking {
            "police_only" => police,
            "staff_involved" => cleared.contains(&p),
            _ => true,
        };
        if related && marked_ok {
            admitted.insert(p);
        }
    }
    let (mut checked, mut bad) = (0, 0);
    for line in BufReader::new(std::fs::File::open(dir.join("notes.tsv"))?).lines() {
        let line = line?;
        let mut f = line.splitn(5, '\t');
        let (Some(id), Some(_kind), Some(person), Some(marking)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            bail!("notes.tsv: bad line");
        };
        if !ids.contains(&id.to_string()) {
            continue;
        }
        let p: usize = person.parse()?;
        let entry_ok = match marking {
            "police_only" => police,
            "staff_involved" => cleared.contains(&p),
            _ => true,
        };
        checked += 1;
        bad += usize::from(!(admitted.contains(&p) && entry_ok));
    }
    Ok((checked, bad))
}

fn mib(bytes: f64) -> f64 {
    bytes / 1048576.0
}

/// Sizes of the SQLite database's tables and indexes (dbstat), in bytes: (FTS5 shadow
/// tables, everything), and the SQLite version.
async fn sqlite_sizes(db: &Path) -> Result<(f64, f64, String)> {
    use sqlx::sqlite::SqliteConnectOptions;
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts).await?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&pool)
        .await?;
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            .fetch_all(&pool)
            .await?;
    pool.close().await;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    let fts: i64 = rows
        .iter()
        .filter(|r| r.0.starts_with("concerns_fts") || r.0.starts_with("chronology_fts"))
        .map(|r| r.1)
        .sum();
    Ok((fts as f64, total as f64, version))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = a.data.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "target/bench-data/search-n{}-c{}-s{}",
            a.notes, a.children, a.seed
        ))
    });
    let manifest_path = dir.join("manifest.json");
    let (manifest, built_now) = if !a.rebuild && manifest_path.exists() {
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
        (m, false)
    } else {
        println!(
            "search: generating {} notes over {} children (seed {}) into {} and loading them into mace …",
            a.notes,
            a.children,
            a.seed,
            dir.display()
        );
        (build(&dir, &a).await?, true)
    };
    let num = |k: &str| manifest.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let viewer = manifest
        .get("viewers")
        .and_then(|v| v.get(a.viewer.name()))
        .context("manifest has no viewer")?;
    let in_scope = viewer
        .get("children_in_scope")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let vi = vidx(a.viewer) + 1;
    let qs = queries(&manifest, a.queries, a.seed, vi)?;
    {
        let mut f = BufWriter::new(std::fs::File::create(dir.join("queries.tsv"))?);
        for q in &qs {
            writeln!(f, "{}\t{}", q.class, q.text)?;
        }
        f.flush()?;
    }
    let terms: Vec<(Vec<String>, usize)> = qs
        .iter()
        .map(|q| Ok((mace_domain::search::terms(&q.text)?, q.class)))
        .collect::<Result<_>>()?;

    let db = dir.join("mace.db");
    let (fts_bytes, db_bytes, sqlite_version) = sqlite_sizes(&db).await?;
    println!(
        "search: {} notes ({} concerns, {} chronology notes; {:.0} MiB of text) about {} children across {} organisations; seed {}{}",
        manifest.get("notes").and_then(Value::as_u64).unwrap_or(0),
        manifest
            .get("concerns")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        manifest.get("entries").and_then(Value::as_u64).unwrap_or(0),
        num("text_mib"),
        a.children,
        org_count(),
        a.seed,
        if built_now {
            ""
        } else {
            " (corpus and indexes reused from an earlier run; --rebuild to remake)"
        }
    );
    println!(
        "viewer: {} ({}), scope = its organisation's involvements + {} allocations + {} active break-glass grants, minus markings: {} of {} children ({:.1} %)",
        a.viewer.name(),
        org_name(viewer_org(a.viewer)),
        viewer
            .get("allocated")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        viewer
            .get("glass_active")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        in_scope,
        a.children,
        100.0 * in_scope as f64 / a.children as f64
    );
    println!(
        "queries: {} per class, each round the same {} in a fixed shuffled order; top {TOP} concerns + top {TOP} notes per query",
        a.queries,
        qs.len()
    );
    for (c, name) in CLASSES.iter().enumerate() {
        let mut all: Vec<usize> = qs
            .iter()
            .filter(|q| q.class == c)
            .map(|q| q.matches[0])
            .collect();
        let mut vis: Vec<usize> = qs
            .iter()
            .filter(|q| q.class == c)
            .map(|q| q.matches[vi])
            .collect();
        all.sort_unstable();
        vis.sort_unstable();
        let med = |v: &[usize]| v.get(v.len() / 2).copied().unwrap_or(0);
        let example = qs
            .iter()
            .find(|q| q.class == c)
            .map_or("", |q| q.text.as_str());
        println!(
            "  {name:<13} e.g. {example:<22} notes matching (median) ≈ {:>7} of all, ≈ {:>6} visible to the viewer",
            med(&all),
            med(&vis)
        );
    }
    println!(
        "mace build (generate {:.1} s, load {:.1} s: {}); SQLite {sqlite_version}: database {:.0} MiB, FTS5 tables {:.0} MiB",
        num("generate_s"),
        num("load_s"),
        manifest
            .get("load_path")
            .and_then(Value::as_str)
            .unwrap_or(""),
        mib(db_bytes),
        mib(fts_bytes)
    );

    let store = Store::open(&DbConfig::Sqlite { path: db.clone() }).await?;
    let scope = Scope::Related {
        org_id: org_id(viewer_org(a.viewer)),
        user_id: viewer_id(a.viewer),
        now: NOW,
        police: a.viewer == ViewerKind::Police,
    };
    let user = viewer_id(a.viewer);

    let mut peer = None;
    if a.peer {
        let (p, hello) = Peer::start(&dir, a.viewer, built_now)?;
        let f = |k: &str| hello.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        println!(
            "tantivy {} (Python {}) build: {:.1} s{} with {} indexing threads; two indexes (concerns, notes) {:.0} MiB ({} docs, {} segments); viewer's allowed children: {}",
            hello.get("version").and_then(Value::as_str).unwrap_or("?"),
            hello.get("python").and_then(Value::as_str).unwrap_or("?"),
            f("build_s"),
            if hello.get("reused").and_then(Value::as_bool) == Some(true) {
                " (reused)"
            } else {
                ""
            },
            hello.get("threads").and_then(Value::as_u64).unwrap_or(0),
            mib(f("index_bytes")),
            hello.get("docs").and_then(Value::as_u64).unwrap_or(0),
            hello.get("segments").and_then(Value::as_u64).unwrap_or(0),
            hello.get("allowed").and_then(Value::as_u64).unwrap_or(0),
        );
        for (_, name, how) in MODES {
            println!("  {name}: {how}");
        }
        peer = Some(p);
    }

    // Warm-up, then A B A B …
    println!(
        "\nwarm-up round, then {} rounds: mace, then tantivy with each filter, alternately",
        a.rounds
    );
    mace_round(&store, &scope, user, &terms, TOP).await?;
    let mut peer_last = Value::Null;
    if let Some(p) = peer.as_mut() {
        for (mode, _, _) in MODES {
            p.round(mode)?;
        }
    }
    let mut mace_rounds = Vec::new();
    let mut peer_rounds: Vec<Vec<RoundResult>> = MODES.iter().map(|_| Vec::new()).collect();
    for round in 1..=a.rounds {
        let m = mace_round(&store, &scope, user, &terms, TOP).await?;
        let [p50, p95, _] = pcts(std::slice::from_ref(&m), &terms, None);
        print!("round {round}: mace p50 {p50:6.2} p95 {p95:6.2} ms");
        mace_rounds.push(m);
        if let Some(p) = peer.as_mut() {
            for ((mode, name, _), rounds) in MODES.iter().zip(peer_rounds.iter_mut()) {
                let (r, v) = p.round(mode)?;
                let [q50, q95, _] = pcts(std::slice::from_ref(&r), &terms, None);
                print!(" | {name} p50 {q50:6.2} p95 {q95:6.2} ms");
                rounds.push(r);
                peer_last = v;
            }
        }
        println!();
    }

    println!(
        "\nlatency per query (ms), all {} measured rounds pooled",
        a.rounds
    );
    println!(
        "  {:<13} {:<30} {:>8} {:>8} {:>8}   p95 ratio",
        "class", "engine", "p50", "p95", "p99"
    );
    let engines: Vec<(&str, &[RoundResult])> =
        std::iter::once(("mace (SQLite FTS5)", &mace_rounds[..]))
            .chain(
                MODES
                    .iter()
                    .zip(&peer_rounds)
                    .filter(|_| peer.is_some())
                    .map(|((_, name, _), r)| (*name, &r[..])),
            )
            .collect();
    for (c, class) in CLASSES
        .iter()
        .enumerate()
        .map(|(c, n)| (Some(c), *n))
        .chain([(None, "overall")])
    {
        let m = pcts(&mace_rounds, &terms, c);
        for (k, (name, rounds)) in engines.iter().enumerate() {
            let p = pcts(rounds, &terms, c);
            println!(
                "  {:<13} {name:<30} {:>8.2} {:>8.2} {:>8.2}   {}",
                if k == 0 { class } else { "" },
                p[0],
                p[1],
                p[2],
                if k == 0 {
                    String::new()
                } else {
                    format!("mace/tantivy {:.2}x", m[1] / p[1])
                }
            );
        }
    }
    let m95 = mace_bench::summary(&mace_rounds.iter().map(round_p95).collect::<Vec<_>>());
    println!("  overall p95 per round (median, min–max):");
    for (name, rounds) in &engines {
        let s = mace_bench::summary(&rounds.iter().map(round_p95).collect::<Vec<_>>());
        println!(
            "    {name:<30} {:6.2} ms ({:.2}–{:.2}){}",
            s.median,
            s.min,
            s.max,
            if rounds.as_ptr() == mace_rounds.as_ptr() {
                String::new()
            } else {
                format!("; ratio mace / this {:.2}x", m95.median / s.median)
            }
        );
    }
    let overall = pcts(&mace_rounds, &terms, None);
    println!(
        "  target p95 < 20 ms for mace: {} ({:.2} ms pooled)",
        if overall[1] < 20.0 { "met" } else { "MISSED" },
        overall[1]
    );

    // Results: how many hits, and whether the engines return the same records.
    if let Some(m) = mace_rounds.last() {
        println!("\nresults (last round): mean hits per query; agreement of result sets");
        for (c, name) in CLASSES.iter().enumerate() {
            let idx: Vec<usize> = (0..terms.len()).filter(|&i| terms[i].1 == c).collect();
            let mean = |r: &RoundResult| {
                idx.iter()
                    .map(|&i| r.ids.get(i).map_or(0, Vec::len))
                    .sum::<usize>() as f64
                    / idx.len().max(1) as f64
            };
            let agree = |x: &RoundResult, y: &RoundResult| {
                let (mut same, mut jac) = (0usize, 0.0f64);
                for &i in &idx {
                    let a: HashSet<&String> = x.ids.get(i).into_iter().flatten().collect();
                    let b: HashSet<&String> = y.ids.get(i).into_iter().flatten().collect();
                    same += usize::from(a == b);
                    let union = a.union(&b).count();
                    jac += if union == 0 {
                        1.0
                    } else {
                        a.intersection(&b).count() as f64 / union as f64
                    };
                }
                format!(
                    "identical {same}/{}, Jaccard {:.2}",
                    idx.len(),
                    jac / idx.len().max(1) as f64
                )
            };
            let mut line = format!("  {name:<13} mace {:5.1} hits", mean(m));
            if let (Some(t_ids), Some(t_orgs)) = (
                peer_rounds.first().and_then(|r| r.last()),
                peer_rounds.get(1).and_then(|r| r.last()),
            ) {
                let _ = write!(
                    line,
                    ", tantivy {:5.1}; mace vs tantivy: {}; tantivy ids vs orgs filter: {}",
                    mean(t_ids),
                    agree(m, t_ids),
                    agree(t_ids, t_orgs)
                );
            }
            println!("{line}");
        }
    }

    if peer.is_some() {
        println!(
            "  (sets differ where a word is common: mace's SQLite path then returns the newest matches the viewer may see, tantivy the best BM25 scores over all of them)"
        );
    }

    // Access: every hit each engine returned in its last round, against the corpus's data.
    for (name, rounds) in &engines {
        if let Some(r) = rounds.last() {
            let ids: HashSet<&String> = r.ids.iter().flatten().collect();
            let (checked, bad) = check_access(&dir, viewer, a.viewer == ViewerKind::Police, &ids)?;
            println!(
                "  access check, {name}: {checked} distinct hits, {bad} outside what the viewer may see{}",
                if checked == ids.len() {
                    ""
                } else {
                    " (some ids not found in the corpus!)"
                }
            );
        }
    }

    // The search page asks for more than 10 of each kind.
    let page = mace_round(&store, &scope, user, &terms, mace_domain::search::LIMIT).await?;
    let mut line = String::new();
    for (c, class) in CLASSES
        .iter()
        .enumerate()
        .map(|(c, n)| (Some(c), *n))
        .chain([(None, "overall")])
    {
        let p = pcts(std::slice::from_ref(&page), &terms, c);
        let _ = write!(line, "{class} {:.2}/{:.2}; ", p[0], p[1]);
    }
    println!(
        "\nmace with the search page's limit ({} of each kind), one round, p50/p95 ms: {}",
        mace_domain::search::LIMIT,
        line.trim_end_matches("; ")
    );

    // mace's floor: a read transaction that runs no query (pool, BEGIN, ROLLBACK).
    let mut floor = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        store.read(|_tx| Box::pin(async { Ok(()) })).await?;
        floor.push(t.elapsed());
    }
    floor.sort();
    println!(
        "
mace's floor, an empty read transaction (pool, BEGIN, ROLLBACK through sqlx's worker thread): p50 {:.2} ms, p95 {:.2} ms",
        ms(quantile(&floor, 0.5)),
        ms(quantile(&floor, 0.95))
    );

    // What a tantivy integration would also pay: the viewer's allowed set, from mace.
    let mut fetch = Vec::new();
    for _ in 0..10 {
        let scope = scope.clone();
        let t = Instant::now();
        let n = store
            .read(move |tx| {
                let scope = scope.clone();
                Box::pin(async move { tx.list_children(&scope, "", 1_000_000).await })
            })
            .await?
            .len();
        fetch.push((t.elapsed(), n));
    }
    fetch.sort();
    if let Some((d, n)) = fetch.get(fetch.len() / 2) {
        println!(
            "fetching the viewer's allowed children from mace (list_children, the same scope SQL): {n} ids, median {:.1} ms",
            ms(*d)
        );
    }
    store.close().await;

    println!("\nresources");
    println!(
        "  mace {} (mace-store, sqlx, SQLite {sqlite_version}): one query at a time on a current-thread tokio runtime, SQLite on its connection's worker thread; peak RSS {:.0} MiB{}",
        env!("CARGO_PKG_VERSION"),
        peak_rss_mib().unwrap_or(f64::NAN),
        if built_now {
            " (this process also generated and loaded the corpus)"
        } else {
            ""
        }
    );
    if let Some(p) = peer {
        println!(
            "  tantivy: searches one at a time from Python (one search thread; indexing with the threads above); peak RSS {:.0} MiB",
            peer_last
                .get("peak_rss_mib")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN)
        );
        p.stop()?;
    }
    Ok(())
}
