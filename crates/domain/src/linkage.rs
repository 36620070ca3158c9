//! Probabilistic record linkage: the engine behind the partnership-wide duplicate review, and
//! the one measured against Splink on the labelled linkage set (`crates/bench`).
//!
//! The model is Fellegi and Sunter's, as Splink builds it (Linacre et al., "Splink: free software
//! for probabilistic record linkage at scale", International Journal of Population Data Science
//! 2022; <https://moj-analytical-services.github.io/splink/topic_guides/theory/fellegi_sunter.html>):
//! each pair of records is compared field by field into levels ("same date of birth", "date one
//! typing error apart", ...); each level has an m probability (how often true matches land there)
//! and a u probability (how often non-matches do); the match weight of a pair is the log of the
//! prior odds plus the sum of log2(m/u) over the fields. u is estimated from random pairs, m by
//! expectation maximisation on pairs sharing a training key (each session leaves out the fields
//! in its key), and exact matches on names, places and occupations are adjusted for how common
//! the value is (term frequencies). Candidate pairs come from blocking keys; records are then
//! clustered as the connected components of the pairs at or above a probability threshold.
//!
//! Every weight has a reason a person can read, so a candidate duplicate is never a bare number.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use time::{Date, Month};

/// One record as the linkage engine sees it. Empty strings mean "not recorded".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRecord {
    pub given: String,
    pub family: String,
    /// `YYYY-MM-DD`; kept as text so that a typing error ("1862-71-17") still compares.
    pub dob: String,
    pub postcode: String,
    pub place: String,
    pub occupation: String,
    pub gender: String,
}

fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in w.chars() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Interned text: 0 means not recorded.
type Sym = u32;

#[derive(Default)]
struct Interner {
    ids: HashMap<String, Sym>,
    counts: Vec<u32>,
}

impl Interner {
    /// The symbol of a value without counting it; values never seen get one no record has.
    fn lookup(&self, s: &str) -> Sym {
        if s.is_empty() {
            return 0;
        }
        self.ids.get(s).copied().unwrap_or(Sym::MAX)
    }

    fn intern(&mut self, s: &str) -> Sym {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(s) {
            self.counts[id as usize - 1] += 1;
            return id;
        }
        self.counts.push(1);
        let id = self.counts.len() as Sym;
        self.ids.insert(s.to_string(), id);
        id
    }

    /// Share of non-empty values equal to `id`.
    fn freq(&self, id: Sym, total: u32) -> f64 {
        if id == 0 || total == 0 {
            return 1.0;
        }
        // A value never seen in the data set (a probe's): as rare as a value can be.
        let count = self.counts.get(id as usize - 1).copied().unwrap_or(1);
        f64::from(count) / f64::from(total)
    }
}

/// A record prepared for comparison.
#[derive(Debug, Clone)]
struct Prepared {
    given: String,
    family: String,
    given_id: Sym,
    /// The nickname group of the first name (Bob and Robert share one), 0 when none.
    given_group: u16,
    family_id: Sym,
    name_id: Sym,
    dob: String,
    dob_day: Option<i32>,
    postcode: String,
    postcode_id: Sym,
    place_id: Sym,
    occupation_id: Sym,
    gender_id: Sym,
}

fn julian(dob: &str) -> Option<i32> {
    let mut parts = dob.splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d)
        .ok()
        .map(Date::to_julian_day)
}

/// Normalise a record and give each column its symbol (`sym(column, value)`).
fn prepared(r: &LinkRecord, mut sym: impl FnMut(u8, &str) -> Sym) -> Prepared {
    let given = norm(&r.given);
    let family = norm(&r.family);
    let dob = norm(&r.dob);
    let postcode = norm(&r.postcode);
    let full = if given.is_empty() || family.is_empty() {
        String::new()
    } else {
        format!("{given}|{family}")
    };
    Prepared {
        given_id: sym(0, &given),
        given_group: crate::matching::given_name_group(&given),
        family_id: sym(1, &family),
        name_id: sym(2, &full),
        dob_day: julian(&dob),
        postcode_id: sym(3, &postcode),
        place_id: sym(4, &norm(&r.place)),
        occupation_id: sym(5, &norm(&r.occupation)),
        gender_id: sym(6, &norm(&r.gender)),
        given,
        family,
        dob,
        postcode,
    }
}

/// The interned columns of a data set, with value counts for term frequencies.
#[derive(Default)]
struct Columns {
    given: Interner,
    family: Interner,
    name: Interner,
    postcode: Interner,
    place: Interner,
    occupation: Interner,
    gender: Interner,
    totals: [u32; 6],
}

impl Columns {
    fn prepare(&mut self, r: &LinkRecord) -> Prepared {
        let p = prepared(r, |col, v| match col {
            0 => self.given.intern(v),
            1 => self.family.intern(v),
            2 => self.name.intern(v),
            3 => self.postcode.intern(v),
            4 => self.place.intern(v),
            5 => self.occupation.intern(v),
            _ => self.gender.intern(v),
        });
        for (i, id) in [
            p.given_id,
            p.family_id,
            p.name_id,
            p.postcode_id,
            p.place_id,
            p.occupation_id,
        ]
        .into_iter()
        .enumerate()
        {
            if id != 0 {
                self.totals[i] += 1;
            }
        }
        p
    }

    /// A record from outside the data set (a probe), prepared without changing the counts.
    fn probe(&self, r: &LinkRecord) -> Prepared {
        prepared(r, |col, v| match col {
            0 => self.given.lookup(v),
            1 => self.family.lookup(v),
            2 => self.name.lookup(v),
            3 => self.postcode.lookup(v),
            4 => self.place.lookup(v),
            5 => self.occupation.lookup(v),
            _ => self.gender.lookup(v),
        })
    }

    /// How common `a`'s value is, when the column has enough values for that to mean something.
    fn tf(&self, field: TfField, a: &Prepared) -> Option<f64> {
        let total = match field {
            TfField::Given => self.totals[0],
            TfField::Family => self.totals[1],
            TfField::Name => self.totals[2],
            TfField::Postcode => self.totals[3],
            TfField::Place => self.totals[4],
            TfField::Occupation => self.totals[5],
        };
        if total < 1_000 {
            return None;
        }
        Some(match field {
            TfField::Given => self.given.freq(a.given_id, self.totals[0]),
            TfField::Family => self.family.freq(a.family_id, self.totals[1]),
            TfField::Name => self.name.freq(a.name_id, self.totals[2]),
            TfField::Postcode => self.postcode.freq(a.postcode_id, self.totals[3]),
            TfField::Place => self.place.freq(a.place_id, self.totals[4]),
            TfField::Occupation => self.occupation.freq(a.occupation_id, self.totals[5]),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TfField {
    Given,
    Family,
    Name,
    Postcode,
    Place,
    Occupation,
}

/// The fields compared, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    DateOfBirth,
    Postcode,
    Place,
    Occupation,
    Gender,
}

impl Field {
    /// The stored and API form.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::DateOfBirth => "date_of_birth",
            Field::Postcode => "postcode",
            Field::Place => "place",
            Field::Occupation => "occupation",
            Field::Gender => "gender",
        }
    }
}

const FIELDS: [Field; 6] = [
    Field::Name,
    Field::DateOfBirth,
    Field::Postcode,
    Field::Place,
    Field::Occupation,
    Field::Gender,
];

/// Level 0 of every field is "not recorded on one side" and carries no evidence.
fn levels(field: Field) -> &'static [&'static str] {
    match field {
        Field::Name => &[
            "name not recorded",
            "same first and last name",
            "same names, first and last swapped",
            "first and last names spelt almost the same",
            "first and last names spelt similarly",
            "same last name, different or missing first name",
            "same first name, different or missing last name",
            "one record has a single name, found in the other",
            "names differ",
        ],
        Field::DateOfBirth => &[
            "date of birth not recorded",
            "same date of birth",
            "date of birth one typing error apart, or day and month swapped",
            "dates of birth within a month",
            "dates of birth within a year",
            "dates of birth within ten years",
            "dates of birth far apart",
        ],
        Field::Postcode => &[
            "postcode not recorded",
            "same postcode",
            "same postcode sector",
            "same postcode district",
            "same postcode area",
            "postcodes differ",
        ],
        Field::Place => &["place not recorded", "same place", "places differ"],
        Field::Occupation => &[
            "occupation not recorded",
            "same occupation",
            "occupations differ",
        ],
        Field::Gender => &["gender not recorded", "same gender", "genders differ"],
    }
}

const MAX_LEVELS: usize = 9;

fn similar(a: &str, b: &str) -> f64 {
    if a == b {
        1.0
    } else {
        strsim::jaro_winkler(a, b)
    }
}

fn similar_given(a: &Prepared, b: &Prepared) -> f64 {
    if a.given_group != 0 && a.given_group == b.given_group && a.given_id != b.given_id {
        return 0.95;
    }
    similar(&a.given, &b.given)
}

fn name_level(a: &Prepared, b: &Prepared) -> u8 {
    let (ag, af, bg, bf) = (&a.given, &a.family, &b.given, &b.family);
    if (ag.is_empty() && af.is_empty()) || (bg.is_empty() && bf.is_empty()) {
        return 0;
    }
    let both = !af.is_empty() && !bf.is_empty() && !ag.is_empty() && !bg.is_empty();
    if both && a.given_id == b.given_id && a.family_id == b.family_id {
        return 1;
    }
    if both && ag == bf && af == bg {
        return 2;
    }
    if both {
        let (sg, sf) = (similar_given(a, b), similar(af, bf));
        if sg >= 0.92 && sf >= 0.92 {
            return 3;
        }
        if sg >= 0.8 && sf >= 0.8 {
            return 4;
        }
    }
    if !af.is_empty() && a.family_id == b.family_id {
        return 5;
    }
    if !ag.is_empty() && a.given_id == b.given_id {
        return 6;
    }
    // "chitty" on one record, "thomas chitty" on the other.
    let single = |x: &Prepared, y: &Prepared| {
        let only = if x.family.is_empty() {
            &x.given
        } else if x.given.is_empty() {
            &x.family
        } else {
            return false;
        };
        !only.is_empty() && (only == &y.given || only == &y.family)
    };
    if single(a, b) || single(b, a) {
        return 7;
    }
    8
}

fn swapped_day_month(a: &str, b: &str) -> bool {
    a.len() == 10 && b.len() == 10 && a[..4] == b[..4] && a[5..7] == b[8..10] && a[8..10] == b[5..7]
}

fn dob_level(a: &Prepared, b: &Prepared) -> u8 {
    if a.dob.is_empty() || b.dob.is_empty() {
        return 0;
    }
    if a.dob == b.dob {
        return 1;
    }
    if strsim::osa_distance(&a.dob, &b.dob) <= 1 || swapped_day_month(&a.dob, &b.dob) {
        return 2;
    }
    match (a.dob_day, b.dob_day) {
        (Some(x), Some(y)) => {
            let d = (x - y).abs();
            if d <= 31 {
                3
            } else if d <= 366 {
                4
            } else if d <= 3653 {
                5
            } else {
                6
            }
        }
        _ => 6,
    }
}

/// UK postcode pieces from a normalised "outward inward" text: area, district, sector.
fn postcode_parts(p: &str) -> (&str, &str, &str) {
    let compact_len = p.len();
    let (outward, inward) = match p.split_once(' ') {
        Some((o, i)) => (o, i),
        None if compact_len > 3 => p.split_at(compact_len - 3),
        None => (p, ""),
    };
    let area_end = outward
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(outward.len());
    let sector = if inward.is_empty() {
        ""
    } else {
        &p[..outward.len() + usize::from(p.contains(' ')) + 1]
    };
    (&outward[..area_end], outward, sector)
}

fn postcode_level(a: &Prepared, b: &Prepared) -> u8 {
    if a.postcode.is_empty() || b.postcode.is_empty() {
        return 0;
    }
    if a.postcode_id == b.postcode_id {
        return 1;
    }
    let (aa, ad, as_) = postcode_parts(&a.postcode);
    let (ba, bd, bs) = postcode_parts(&b.postcode);
    if !as_.is_empty() && as_ == bs {
        2
    } else if ad == bd {
        3
    } else if !aa.is_empty() && aa == ba {
        4
    } else {
        5
    }
}

fn exact_level(a: Sym, b: Sym) -> u8 {
    match (a, b) {
        (0, _) | (_, 0) => 0,
        _ if a == b => 1,
        _ => 2,
    }
}

/// The comparison vector of a pair: one level per field.
type Gamma = [u8; 6];

fn compare(a: &Prepared, b: &Prepared) -> Gamma {
    [
        name_level(a, b),
        dob_level(a, b),
        postcode_level(a, b),
        exact_level(a.place_id, b.place_id),
        exact_level(a.occupation_id, b.occupation_id),
        exact_level(a.gender_id, b.gender_id),
    ]
}

/// Which value's frequency adjusts an exact level, if any.
fn tf_field(field: usize, level: u8) -> Option<TfField> {
    match (field, level) {
        (0, 1) => Some(TfField::Name),
        (0, 5) => Some(TfField::Family),
        (0, 6) => Some(TfField::Given),
        (2, 1) => Some(TfField::Postcode),
        (3, 1) => Some(TfField::Place),
        (4, 1) => Some(TfField::Occupation),
        _ => None,
    }
}

/// The fitted model: prior and m/u per field and level.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Probability that two records drawn at random are the same person.
    pub prior: f64,
    m: [[f64; MAX_LEVELS]; 6],
    u: [[f64; MAX_LEVELS]; 6],
}

impl Model {
    /// The model used before training, and where a data set is too small to train on: m and u
    /// rounded from training on the public labelled set (`crates/bench`, `--model`), with a
    /// prior of one in ten thousand.
    pub fn untrained() -> Self {
        let mut m = [[0.0; MAX_LEVELS]; 6];
        let mut u = [[0.0; MAX_LEVELS]; 6];
        let table: [(&[f64], &[f64]); 6] = [
            (
                &[0.41, 0.0001, 0.13, 0.13, 0.11, 0.05, 0.03, 0.13],
                &[
                    0.0002, 0.00001, 0.00005, 0.0001, 0.0004, 0.013, 0.00005, 0.986,
                ],
            ),
            (
                &[0.6, 0.33, 0.002, 0.006, 0.03, 0.03],
                &[0.002, 0.02, 0.002, 0.027, 0.21, 0.74],
            ),
            (
                &[0.67, 0.09, 0.04, 0.09, 0.1],
                &[0.00013, 0.0003, 0.0006, 0.012, 0.987],
            ),
            (&[0.83, 0.17], &[0.005, 0.995]),
            (&[0.9, 0.1], &[0.04, 0.96]),
            (&[0.94, 0.06], &[0.72, 0.28]),
        ];
        for (f, (mf, uf)) in table.iter().enumerate() {
            m[f][1..=mf.len()].copy_from_slice(mf);
            u[f][1..=uf.len()].copy_from_slice(uf);
        }
        Self { prior: 1e-4, m, u }
    }

    fn bayes_factor(&self, f: usize, level: u8, tf: Option<f64>) -> f64 {
        let l = level as usize;
        if l == 0 {
            return 1.0;
        }
        let u = match tf {
            Some(t) => t.max(1e-6),
            None => self.u[f][l].max(1e-9),
        };
        self.m[f][l].max(1e-9) / u
    }
}

fn normalise(xs: &mut [f64]) {
    let s: f64 = xs.iter().sum();
    if s > 0.0 {
        for x in xs.iter_mut() {
            *x /= s;
        }
    }
}

/// A data set prepared for linkage.
pub struct Dataset {
    cols: Columns,
    recs: Vec<Prepared>,
}

/// One field's part in a pair's score.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    pub field: Field,
    pub level: &'static str,
    /// log2 of the Bayes factor: positive is evidence for the same person.
    pub weight: f64,
}

/// A scored pair of records (indices into the data set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub probability: f64,
}

/// Options for training and prediction.
#[derive(Debug, Clone)]
pub struct Options {
    /// Random pairs drawn to estimate u.
    pub u_pairs: usize,
    pub seed: u64,
    /// Blocks larger than this are skipped (a very common name and date cannot block).
    pub max_block: usize,
    /// Share of true matches that agree exactly on first name, last name and date of birth
    /// (used to estimate the prior, as Splink's `estimate_probability_two_random_records_match`).
    pub deterministic_recall: f64,
    pub em_iterations: usize,
    /// Pairs at most in one training session (groups are taken in a seeded random order).
    pub em_max_pairs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            u_pairs: 1_000_000,
            seed: 1,
            max_block: 2_000,
            deterministic_recall: 0.7,
            em_iterations: 25,
            em_max_pairs: 2_000_000,
        }
    }
}

fn key_hash(parts: &[&str], rule: u8) -> u64 {
    let mut h = DefaultHasher::new();
    rule.hash(&mut h);
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// The blocking keys of one record: records sharing a key are compared. A name token is either
/// name, so a first and last name entered the wrong way round still meet.
fn blocking_keys(r: &Prepared, out: &mut Vec<u64>) {
    out.clear();
    let tokens: Vec<&str> = [r.given.as_str(), r.family.as_str()]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect();
    for t in &tokens {
        if !r.dob.is_empty() {
            out.push(key_hash(&[t, &r.dob], 1));
        }
        if !r.postcode.is_empty() {
            out.push(key_hash(&[t, &r.postcode], 2));
        }
    }
    if !r.given.is_empty() && !r.family.is_empty() {
        let g: String = r.given.chars().take(3).collect();
        let f: String = r.family.chars().take(4).collect();
        out.push(key_hash(&[&g, &f], 3));
    }
    if r.place_id != 0 && !r.dob.is_empty() {
        out.push(key_hash(&[&r.dob, &r.place_id.to_string()], 4));
    }
    if !r.dob.is_empty() && !r.postcode.is_empty() {
        out.push(key_hash(&[&r.dob, &r.postcode], 5));
    }
    out.sort_unstable();
    out.dedup();
}

impl Dataset {
    pub fn new(records: &[LinkRecord]) -> Self {
        let mut cols = Columns::default();
        let recs = records.iter().map(|r| cols.prepare(r)).collect();
        Self { cols, recs }
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Every blocking key with the records that have it.
    fn blocks(&self) -> HashMap<u64, Vec<u32>> {
        let mut blocks: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut keys = Vec::new();
        for (i, r) in self.recs.iter().enumerate() {
            blocking_keys(r, &mut keys);
            for k in &keys {
                blocks.entry(*k).or_default().push(i as u32);
            }
        }
        blocks
    }

    /// Candidate pairs (i < j) from the blocking keys, without repeats.
    pub fn candidate_pairs(&self, opts: &Options) -> Vec<(u32, u32)> {
        let blocks = self.blocks();
        let mut pairs: Vec<u64> = Vec::new();
        for members in blocks.values() {
            if members.len() < 2 || members.len() > opts.max_block {
                continue;
            }
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    pairs.push((u64::from(i) << 32) | u64::from(j));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .into_iter()
            .map(|p| ((p >> 32) as u32, p as u32))
            .collect()
    }

    /// Train the model on this data set: u from random pairs, the prior from exact agreement on
    /// names and date of birth, m by expectation maximisation in two sessions (pairs with the
    /// same first and last name; pairs with the same date of birth).
    pub fn train(&self, opts: &Options) -> Model {
        let mut model = Model::untrained();
        let n = self.recs.len();
        if n < 2 {
            return model;
        }
        // u: level shares among random pairs (nearly all non-matches).
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut counts = [[0u64; MAX_LEVELS]; 6];
        let total_pairs = (n as u64) * (n as u64 - 1) / 2;
        let samples = opts.u_pairs.min(total_pairs as usize);
        for _ in 0..samples {
            let i = rng.random_range(0..n);
            let mut j = rng.random_range(0..n - 1);
            if j >= i {
                j += 1;
            }
            let g = compare(&self.recs[i], &self.recs[j]);
            for (f, l) in g.iter().enumerate() {
                counts[f][*l as usize] += 1;
            }
        }
        for (f, field) in FIELDS.iter().enumerate() {
            let k = levels(*field).len();
            let seen: u64 = counts[f][1..k].iter().sum();
            if seen >= 1_000 {
                for (u, c) in model.u[f][1..k].iter_mut().zip(&counts[f][1..k]) {
                    // A level never seen among random pairs still gets a small u.
                    *u = (*c as f64 + 0.5) / (seen as f64 + 0.5 * k as f64);
                }
                normalise(&mut model.u[f][1..k]);
            }
        }
        // Prior: pairs agreeing exactly on first name, last name and date of birth, scaled up
        // by how many true matches such a rule finds.
        let mut exact: HashMap<(Sym, Sym, &str), u64> = HashMap::new();
        for r in &self.recs {
            if r.given_id != 0 && r.family_id != 0 && !r.dob.is_empty() {
                *exact
                    .entry((r.given_id, r.family_id, r.dob.as_str()))
                    .or_default() += 1;
            }
        }
        let agreeing: u64 = exact.values().map(|c| c * (c - 1) / 2).sum();
        if agreeing > 0 {
            model.prior =
                (agreeing as f64 / opts.deterministic_recall / total_pairs as f64).clamp(1e-9, 0.5);
        }
        // m: EM sessions, each blind to the fields in its key.
        let mut m_sum = [[0.0; MAX_LEVELS]; 6];
        let mut m_n = [0u32; 6];
        type KeyFn = fn(&Prepared) -> Option<(u64, u64)>;
        let sessions: [(KeyFn, &[usize]); 2] = [
            (
                |r| {
                    (r.given_id != 0 && r.family_id != 0)
                        .then_some((u64::from(r.given_id), u64::from(r.family_id)))
                },
                &[0],
            ),
            (|r| r.dob_day.map(|d| (d as u64, 0)), &[1]),
        ];
        for (key, blind) in sessions {
            let mut groups: HashMap<(u64, u64), Vec<u32>> = HashMap::new();
            for (i, r) in self.recs.iter().enumerate() {
                if let Some(k) = key(r) {
                    groups.entry(k).or_default().push(i as u32);
                }
            }
            let mut groups: Vec<Vec<u32>> = groups
                .into_values()
                .filter(|g| g.len() > 1 && g.len() <= opts.max_block)
                .collect();
            groups.sort_unstable();
            let mut patterns: HashMap<Gamma, f64> = HashMap::new();
            let mut budget = opts.em_max_pairs;
            while !groups.is_empty() {
                let members = groups.swap_remove(rng.random_range(0..groups.len()));
                let pairs = members.len() * (members.len() - 1) / 2;
                if pairs > budget {
                    break;
                }
                budget -= pairs;
                for (x, &i) in members.iter().enumerate() {
                    for &j in &members[x + 1..] {
                        let g = compare(&self.recs[i as usize], &self.recs[j as usize]);
                        *patterns.entry(g).or_default() += 1.0;
                    }
                }
            }
            if patterns.values().sum::<f64>() < 100.0 {
                continue;
            }
            let m = em(&model, &patterns, blind, opts.em_iterations);
            for f in 0..6 {
                if !blind.contains(&f) {
                    for l in 0..MAX_LEVELS {
                        m_sum[f][l] += m[f][l];
                    }
                    m_n[f] += 1;
                }
            }
        }
        for ((m, sum), n) in model.m.iter_mut().zip(&m_sum).zip(m_n) {
            if n > 0 {
                for (x, s) in m.iter_mut().zip(sum) {
                    *x = s / f64::from(n);
                }
            }
        }
        model
    }

    /// The match weight (log2 odds) of a pair, and its reasons when asked for.
    fn weight(&self, model: &Model, i: usize, j: usize, reasons: Option<&mut Vec<Reason>>) -> f64 {
        self.weigh(model, &self.recs[i], &self.recs[j], reasons)
    }

    fn weigh(
        &self,
        model: &Model,
        a: &Prepared,
        b: &Prepared,
        reasons: Option<&mut Vec<Reason>>,
    ) -> f64 {
        let g = compare(a, b);
        let mut w = (model.prior / (1.0 - model.prior)).log2();
        let mut out = reasons;
        for (f, &l) in g.iter().enumerate() {
            let tf = tf_field(f, l).and_then(|t| self.cols.tf(t, a));
            let bf = model.bayes_factor(f, l, tf).log2();
            w += bf;
            if let Some(r) = out.as_deref_mut()
                && l != 0
            {
                r.push(Reason {
                    field: FIELDS[f],
                    level: levels(FIELDS[f])[l as usize],
                    weight: bf,
                });
            }
        }
        w
    }

    /// The probability that records `i` and `j` are the same person, with the reasons.
    pub fn explain(&self, model: &Model, i: usize, j: usize) -> (f64, Vec<Reason>) {
        let mut reasons = Vec::new();
        let w = self.weight(model, i, j, Some(&mut reasons));
        (probability(w), reasons)
    }

    /// Score every candidate pair; keep those at or above `min_probability`.
    pub fn predict(&self, model: &Model, opts: &Options, min_probability: f64) -> Vec<ScoredPair> {
        self.candidate_pairs(opts)
            .into_iter()
            .filter_map(|(a, b)| {
                let p = probability(self.weight(model, a as usize, b as usize, None));
                (p >= min_probability).then_some(ScoredPair {
                    a,
                    b,
                    probability: p,
                })
            })
            .collect()
    }
}

/// A trained model over a data set with its blocking keys: finds the records that may be the
/// same person as a new one without comparing it with everyone.
pub struct Index {
    data: Dataset,
    model: Model,
    blocks: HashMap<u64, Vec<u32>>,
    max_block: usize,
}

/// A record that may be the same person as the probe.
#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub record: u32,
    pub probability: f64,
    pub reasons: Vec<Reason>,
}

impl Index {
    pub fn new(data: Dataset, model: Model, opts: &Options) -> Self {
        let blocks = data.blocks();
        Self {
            data,
            model,
            blocks,
            max_block: opts.max_block,
        }
    }

    /// The records at or above `min_probability`, most likely first, at most `limit`.
    pub fn find(&self, probe: &LinkRecord, min_probability: f64, limit: usize) -> Vec<Match> {
        let p = self.data.cols.probe(probe);
        let mut keys = Vec::new();
        blocking_keys(&p, &mut keys);
        let mut seen: Vec<u32> = Vec::new();
        for k in &keys {
            if let Some(members) = self.blocks.get(k)
                && members.len() <= self.max_block
            {
                seen.extend_from_slice(members);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let mut out: Vec<(u32, f64)> = seen
            .into_iter()
            .filter_map(|i| {
                let w = self
                    .data
                    .weigh(&self.model, &p, &self.data.recs[i as usize], None);
                let prob = probability(w);
                (prob >= min_probability).then_some((i, prob))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out.into_iter()
            .map(|(i, probability)| {
                let mut reasons = Vec::new();
                self.data.weigh(
                    &self.model,
                    &p,
                    &self.data.recs[i as usize],
                    Some(&mut reasons),
                );
                Match {
                    record: i,
                    probability,
                    reasons,
                }
            })
            .collect()
    }
}

fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Expectation maximisation for m, with u fixed, on counted comparison patterns. Fields in
/// `blind` are left out (their agreement was forced by the session's key).
fn em(
    model: &Model,
    patterns: &HashMap<Gamma, f64>,
    blind: &[usize],
    iterations: usize,
) -> [[f64; MAX_LEVELS]; 6] {
    let mut m = model.m;
    let mut lambda = 0.5;
    for _ in 0..iterations {
        let mut new_m = [[0.0; MAX_LEVELS]; 6];
        let mut matches = 0.0;
        let mut total = 0.0;
        for (g, &count) in patterns {
            let mut pm = lambda;
            let mut pu = 1.0 - lambda;
            for (f, &l) in g.iter().enumerate() {
                if l == 0 || blind.contains(&f) {
                    continue;
                }
                pm *= m[f][l as usize].max(1e-12);
                pu *= model.u[f][l as usize].max(1e-12);
            }
            let post = pm / (pm + pu);
            matches += post * count;
            total += count;
            for (f, &l) in g.iter().enumerate() {
                new_m[f][l as usize] += post * count;
            }
        }
        lambda = (matches / total).clamp(1e-6, 1.0 - 1e-6);
        for (f, field) in FIELDS.iter().enumerate() {
            let k = levels(*field).len();
            new_m[f][0] = 0.0;
            let s: f64 = new_m[f][1..k].iter().sum();
            if s > 0.0 && !blind.contains(&f) {
                for l in 1..k {
                    m[f][l] = (new_m[f][l] / s).max(1e-6);
                }
            }
        }
    }
    m
}

/// Cluster records as the connected components of the pairs at or above `threshold`.
/// Returns one cluster number per record (the smallest record index in its cluster).
pub fn cluster(n: usize, pairs: &[ScoredPair], threshold: f64) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for p in pairs.iter().filter(|p| p.probability >= threshold) {
        let (ra, rb) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi as usize] = lo;
        }
    }
    (0..n as u32).map(|i| find(&mut parent, i)).collect()
}

/// Precision, recall and F1 of a clustering against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn f1(precision: f64, recall: f64) -> Scores {
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Scores {
        precision,
        recall,
        f1,
    }
}

/// B-cubed (per-record) and pairwise scores of `predicted` against `truth` (one label per
/// record in each).
pub fn evaluate<P: Hash + Eq, T: Hash + Eq>(predicted: &[P], truth: &[T]) -> (Scores, Scores) {
    let mut cell: HashMap<(&P, &T), u64> = HashMap::new();
    let mut ps: HashMap<&P, u64> = HashMap::new();
    let mut ts: HashMap<&T, u64> = HashMap::new();
    for (p, t) in predicted.iter().zip(truth) {
        *cell.entry((p, t)).or_default() += 1;
        *ps.entry(p).or_default() += 1;
        *ts.entry(t).or_default() += 1;
    }
    let n = predicted.len().min(truth.len()) as f64;
    let (mut bp, mut br, mut tp) = (0.0, 0.0, 0u64);
    for ((p, t), &c) in &cell {
        let c2 = (c * c) as f64;
        bp += c2 / ps[p] as f64;
        br += c2 / ts[t] as f64;
        tp += c * (c - 1) / 2;
    }
    let pairs = |sizes: &mut dyn Iterator<Item = &u64>| sizes.map(|c| c * (c - 1) / 2).sum::<u64>();
    let (pp, tt) = (pairs(&mut ps.values()), pairs(&mut ts.values()));
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (f1(bp / n, br / n), f1(ratio(tp, pp), ratio(tp, tt)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(given: &str, family: &str, dob: &str, postcode: &str) -> LinkRecord {
        LinkRecord {
            given: given.into(),
            family: family.into(),
            dob: dob.into(),
            postcode: postcode.into(),
            ..LinkRecord::default()
        }
    }

    #[test]
    fn levels_read_like_a_person_would_say_them() {
        let d = Dataset::new(&[
            rec("Thomas", "Chitty", "1802-01-01", "HP1 1TQ"),
            rec("Tom", "Chitty", "1802-01-10", "hp1 1tn"),
            rec("chitty", "", "", "hp1 9zz"),
            rec("Chitty", "Thomas", "1802-10-01", "HP2 1AA"),
        ]);
        let g = compare(&d.recs[0], &d.recs[1]);
        assert_eq!(g[0], 3, "nickname and same last name");
        assert_eq!(g[1], 2, "one typing error");
        assert_eq!(g[2], 2, "same sector");
        assert_eq!(compare(&d.recs[0], &d.recs[2])[0], 7);
        assert_eq!(compare(&d.recs[0], &d.recs[2])[2], 3);
        assert_eq!(compare(&d.recs[0], &d.recs[3])[0], 2);
        assert_eq!(
            compare(&d.recs[0], &d.recs[3])[1],
            2,
            "day and month swapped"
        );
        assert_eq!(compare(&d.recs[0], &d.recs[3])[2], 4, "same area");
    }

    #[test]
    fn postcode_parts_split_the_hierarchy() {
        assert_eq!(postcode_parts("tq13 8df"), ("tq", "tq13", "tq13 8"));
        assert_eq!(postcode_parts("b1 1aa"), ("b", "b1", "b1 1"));
        assert_eq!(postcode_parts("b11aa"), ("b", "b1", "b11"));
    }

    /// A synthetic population with planted duplicates: training and clustering recover them.
    #[test]
    fn training_and_clustering_recover_planted_duplicates() {
        let given = [
            "amira", "jayden", "kayleigh", "liam", "olivia", "noah", "isla", "leo", "maya", "zain",
            "ruby", "owen", "freya", "theo", "ella", "ravi",
        ];
        let family = [
            "hussain", "okoye", "harrison", "patel", "smith", "jones", "khan", "taylor", "brown",
            "walker", "wright", "clarke", "evans", "hughes", "wood", "hall", "ali", "green",
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut records = Vec::new();
        let mut truth = Vec::new();
        for person in 0..600u32 {
            let g = given[rng.random_range(0..given.len())];
            let f = family[rng.random_range(0..family.len())];
            let dob = format!(
                "20{:02}-{:02}-{:02}",
                rng.random_range(5..15),
                rng.random_range(1..13),
                rng.random_range(1..29)
            );
            let pc = format!("ss{} {}ab", rng.random_range(1..9), rng.random_range(1..9));
            let copies = 1 + rng.random_range(0..3);
            for c in 0..copies {
                let mut r = rec(g, f, &dob, &pc);
                if c == 1 {
                    r.family = format!("{}e", &f[..f.len() - 1]);
                }
                if c == 2 {
                    r.postcode = String::new();
                }
                records.push(r);
                truth.push(person);
            }
        }
        let d = Dataset::new(&records);
        let opts = Options {
            u_pairs: 200_000,
            ..Options::default()
        };
        let model = d.train(&opts);
        let pairs = d.predict(&model, &opts, 0.1);
        let clusters = cluster(d.len(), &pairs, 0.9);
        let (bcubed, pairwise) = evaluate(&clusters, &truth);
        assert!(bcubed.f1 > 0.95, "{bcubed:?}");
        assert!(pairwise.precision > 0.9, "{pairwise:?}");
        // Explanations name the evidence.
        let (p, reasons) = d.explain(&model, 0, 1);
        assert!(p > 0.0 && !reasons.is_empty());
    }

    #[test]
    fn an_index_finds_a_misspelt_new_record_with_reasons() {
        let records = vec![
            rec("Kayleigh", "Harrison", "2011-04-09", "SS1 2AB"),
            rec("Jayden", "Okoye", "2010-12-01", "SS2 6XY"),
            rec("Amira", "Hussain", "2012-02-03", "SS0 7AA"),
        ];
        let data = Dataset::new(&records);
        let index = Index::new(data, Model::untrained(), &Options::default());
        let found = index.find(
            &rec("kayleigh", "Harrisen", "2011-09-04", "SS1 2AB"),
            0.01,
            5,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].record, 0);
        assert!(
            found[0]
                .reasons
                .iter()
                .any(|r| r.level.contains("day and month swapped")),
            "{found:?}"
        );
        assert!(
            index
                .find(&rec("Noah", "Walker", "2009-01-01", "B1 1AA"), 0.01, 5)
                .is_empty()
        );
    }

    #[test]
    fn evaluation_counts_records_and_pairs() {
        // Truth: {0,1,2} {3}; predicted: {0,1} {2,3}.
        let (b, p) = evaluate(&[0, 0, 1, 1], &["a", "a", "a", "b"]);
        // B-cubed precision: (1 + 1 + 0.5 + 0.5) / 4; recall: (2/3 + 2/3 + 1/3 + 1) / 4.
        assert!((b.precision - 0.75).abs() < 1e-12);
        assert!((b.recall - (8.0 / 3.0) / 4.0).abs() < 1e-12);
        // Pairwise: predicted pairs 2, true pairs 3, both 1.
        assert!((p.precision - 0.5).abs() < 1e-12);
        assert!((p.recall - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn clusters_are_connected_components() {
        let pairs = [
            ScoredPair {
                a: 0,
                b: 1,
                probability: 0.99,
            },
            ScoredPair {
                a: 1,
                b: 3,
                probability: 0.95,
            },
            ScoredPair {
                a: 2,
                b: 4,
                probability: 0.5,
            },
        ];
        assert_eq!(cluster(5, &pairs, 0.9), vec![0, 0, 2, 0, 4]);
        assert_eq!(cluster(5, &pairs, 0.4), vec![0, 0, 2, 0, 2]);
    }
}
