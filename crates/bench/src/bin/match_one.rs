//! Matching one new person against a million existing records, in process: the latency of
//! mace's linkage index (`Index::find`) for probes that are misspelt copies of existing people
//! and for people who are not there, with how often the true record comes first.
//!
//! `cargo run --release -p mace-bench --bin match_one [-- --people 1000000 --probes 20000]`

use anyhow::{Context, Result, bail};
use mace_bench::{peak_rss_mib, quantile};
use mace_domain::linkage::{Dataset, Index, LinkRecord, Options};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const GIVEN: &[&str] = &[
    "oliver",
    "amelia",
    "george",
    "isla",
    "harry",
    "ava",
    "noah",
    "mia",
    "jack",
    "ivy",
    "leo",
    "lily",
    "arthur",
    "isabella",
    "muhammad",
    "rosie",
    "oscar",
    "sophia",
    "charlie",
    "grace",
    "jacob",
    "freya",
    "thomas",
    "willow",
    "henry",
    "florence",
    "william",
    "emily",
    "theo",
    "ella",
    "alfie",
    "poppy",
    "joshua",
    "evie",
    "freddie",
    "elsie",
    "archie",
    "charlotte",
    "ethan",
    "aria",
    "isaac",
    "evelyn",
    "alexander",
    "sienna",
    "joseph",
    "sofia",
    "edward",
    "daisy",
    "samuel",
    "phoebe",
    "max",
    "sophie",
    "logan",
    "alice",
    "lucas",
    "harper",
    "mason",
    "matilda",
    "teddy",
    "ruby",
    "dylan",
    "emilia",
    "jayden",
    "kayleigh",
    "amira",
    "zain",
    "ravi",
    "priya",
    "jordan",
    "tyler",
    "chloe",
    "jessica",
    "bradley",
    "shannon",
    "connor",
    "courtney",
    "kieran",
    "jade",
    "callum",
    "megan",
    "reece",
    "leah",
    "liam",
    "demi",
    "declan",
    "aaliyah",
    "malachi",
    "precious",
    "tariq",
    "aisha",
    "kai",
    "nia",
    "ryan",
    "holly",
    "robert",
    "rebecca",
    "daniel",
    "bethany",
    "michael",
    "katie",
];

const FAMILY: &[&str] = &[
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "robinson",
    "wright",
    "thompson",
    "evans",
    "walker",
    "white",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "lewis",
    "james",
    "phillips",
    "mason",
    "mitchell",
    "rose",
    "davis",
    "rodriguez",
    "cox",
    "alexander",
    "morgan",
    "moore",
    "mills",
    "king",
    "lee",
    "baker",
    "harris",
    "scott",
    "turner",
    "hill",
    "cooper",
    "ward",
    "morris",
    "young",
    "watson",
    "edwards",
    "carter",
    "allen",
    "hughes",
    "anderson",
    "ahmed",
    "ali",
    "hussain",
    "okoye",
    "adeyemi",
    "mensah",
    "begum",
    "singh",
    "kaur",
    "nowak",
    "kowalski",
    "murphy",
    "kelly",
    "obrien",
    "campbell",
    "stewart",
    "macdonald",
    "reid",
    "harrison",
    "shaw",
    "bell",
    "hunt",
    "price",
    "bennett",
    "gray",
    "palmer",
    "holmes",
    "marshall",
    "knight",
    "lloyd",
    "barnes",
    "fisher",
    "russell",
    "dixon",
    "chapman",
    "ellis",
    "webb",
    "pearson",
    "fox",
    "murray",
    "owen",
    "hamilton",
    "graham",
    "wallace",
    "gibson",
    "kennedy",
    "stevens",
    "butler",
    "simpson",
    "west",
    "foster",
    "dawson",
    "fletcher",
    "burton",
    "gordon",
    "hart",
    "day",
    "rahman",
    "uddin",
    "chowdhury",
    "mahmood",
    "iqbal",
    "akhtar",
    "shah",
];

const AREAS: &[&str] = &[
    "ss", "cm", "co", "rm", "ig", "e", "n", "se", "b", "m", "ls", "l",
];

/// Zipf-like pick: early entries are more common, as real names are.
fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    let u: f64 = rng.random();
    let i = ((list.len() as f64) * u * u) as usize;
    list[i.min(list.len() - 1)]
}

fn person(rng: &mut ChaCha8Rng) -> LinkRecord {
    let area = AREAS[rng.random_range(0..AREAS.len())];
    LinkRecord {
        given: pick(rng, GIVEN).into(),
        family: pick(rng, FAMILY).into(),
        dob: format!(
            "{}-{:02}-{:02}",
            rng.random_range(1950..2020),
            rng.random_range(1..13),
            rng.random_range(1..29)
        ),
        postcode: format!(
            "{area}{} {}{}{}",
            rng.random_range(1..30),
            rng.random_range(1..10),
            (b'a' + rng.random_range(0..20u8)) as char,
            (b'a' + rng.random_range(0..20u8)) as char
        ),
        gender: if rng.random_bool(0.5) {
            "female".into()
        } else {
            "male".into()
        },
        ..LinkRecord::default()
    }
}

/// A copy with the errors professionals make: a typing slip, a swapped day and month, a moved
/// address, a missing field.
fn misspelt(rng: &mut ChaCha8Rng, r: &LinkRecord) -> LinkRecord {
    let mut p = r.clone();
    match rng.random_range(0..5) {
        0 => {
            let mut chars: Vec<char> = p.family.chars().collect();
            let i = rng.random_range(0..chars.len());
            chars[i] = (b'a' + rng.random_range(0..26u8)) as char;
            p.family = chars.into_iter().collect();
        }
        1 => {
            if let (Some(y), Some(m), Some(d)) = (p.dob.get(..4), p.dob.get(5..7), p.dob.get(8..10))
                && d <= "12"
            {
                p.dob = format!("{y}-{d}-{m}");
            }
        }
        2 => p.postcode = String::new(),
        3 => p.given = p.given.chars().take(3).collect(),
        _ => p.dob = String::new(),
    }
    p
}

fn main() -> Result<()> {
    let mut people = 1_000_000usize;
    let mut probes = 20_000usize;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--people" => people = it.next().context("--people N")?.parse()?,
            "--probes" => probes = it.next().context("--probes N")?.parse()?,
            "--bench" => {}
            other => bail!("unknown argument {other}"),
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    // One person in ten already has a second, misspelt record, as registers do.
    let mut records: Vec<LinkRecord> = Vec::with_capacity(people);
    while records.len() < people {
        let p = person(&mut rng);
        if rng.random_bool(0.1) && records.len() + 1 < people {
            records.push(misspelt(&mut rng, &p));
        }
        records.push(p);
    }
    let t = Instant::now();
    let data = Dataset::new(&records);
    let opts = Options::default();
    let model = data.train(&opts);
    let trained = t.elapsed();
    let index = Index::new(data, model, &opts);
    let built = t.elapsed();
    println!(
        "match_one: {people} synthetic people (seed 42, one in ten with a misspelt second record), {probes} probes (half misspelt copies, half new people), one thread"
    );
    println!(
        "  prepare + train {:.2} s, blocking index {:.2} s, peak RSS {:.0} MiB",
        trained.as_secs_f64(),
        (built - trained).as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    let mut times: Vec<Duration> = Vec::with_capacity(probes);
    let (mut copies, mut first, mut found_new) = (0usize, 0usize, 0usize);
    for k in 0..probes {
        let (probe, source) = if k % 2 == 0 {
            let i = rng.random_range(0..people);
            (misspelt(&mut rng, &records[i]), Some(i as u32))
        } else {
            (person(&mut rng), None)
        };
        let t = Instant::now();
        let found = index.find(&probe, 0.5, 10);
        times.push(t.elapsed());
        match source {
            Some(i) => {
                copies += 1;
                // A probe may equal another record exactly; count the source anywhere on top.
                let best = found.first().map(|m| m.probability);
                if found
                    .iter()
                    .any(|m| m.record == i && Some(m.probability) == best)
                {
                    first += 1;
                }
            }
            None => found_new += usize::from(!found.is_empty()),
        }
    }
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  latency per probe: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms (target: p99 under 10 ms)",
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99)),
        ms(quantile(&times, 0.999)),
        ms(quantile(&times, 1.0))
    );
    println!(
        "  misspelt copies with the source ranked first: {first} of {copies} ({:.1} %); new people with any candidate at p >= 0.5: {found_new} of {} ",
        100.0 * first as f64 / copies.max(1) as f64,
        probes - copies
    );
    Ok(())
}
