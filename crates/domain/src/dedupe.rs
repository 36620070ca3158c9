//! The partnership-wide duplicate review, and merging and unmerging records.
//!
//! The review runs the linkage engine ([`crate::linkage`]) over every child's record in the
//! partnership, but shows a viewer only the pairs where they may open both records; the rest are
//! counted, never named (their leads see them). Merging keeps one record and folds the other in:
//! its concerns and chronology move, its relationships and markings are copied, and every moved
//! or copied row remembers the merge, so undoing it puts exactly those rows back. Both need the
//! right to change both records, a reason, and land in the audit log as a combination of records.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, RecordFacts};
use crate::cases::{ChronologyEntry, child, event, record_refusal, untargeted};
use crate::error::{Error, Result};
use crate::linkage::{self, Dataset, LinkRecord, Model, Options};
use crate::person::Person;
use crate::ports::{AuditLog, CaseRepo, MergeRepo, PersonRepo};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// A merge of `duplicate_id` into `survivor_id`, and its undoing when that happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonMerge {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub duplicate_id: Uuid,
    pub reason: String,
    pub merged_by: Uuid,
    pub merged_at: OffsetDateTime,
    pub undone_by: Option<Uuid>,
    pub undone_at: Option<OffsetDateTime>,
    pub undo_reason: Option<String>,
}

/// Two records that may be the same child, with why.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicatePair {
    pub a: Person,
    pub b: Person,
    /// 0 to 1.
    pub probability: f64,
    pub reasons: Vec<linkage::Reason>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub pairs: Vec<DuplicatePair>,
    /// Likely duplicates involving a record this viewer may not open (not named here).
    pub hidden: usize,
    /// Records the review looked at.
    pub records: usize,
}

/// Pairs below this probability are not shown.
pub const REVIEW_THRESHOLD: f64 = 0.5;
/// At most this many pairs are shown at once (most likely first).
pub const REVIEW_LIMIT: usize = 100;
/// Records below this count are scored with the untrained model (too few to learn from).
const TRAIN_MIN: usize = 1_000;

pub fn link_record(p: &Person) -> LinkRecord {
    LinkRecord {
        given: p.given_name.clone(),
        family: p.family_name.clone(),
        dob: p
            .date_of_birth
            .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
            .unwrap_or_default(),
        postcode: p
            .postcode
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        gender: match p.gender {
            crate::person::Gender::NotKnown | crate::person::Gender::NotStated => String::new(),
            g => g.as_str().to_string(),
        },
        ..LinkRecord::default()
    }
}

fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b { (a, b) } else { (b, a) }
}

async fn facts<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    cache: &mut HashMap<Uuid, RecordFacts>,
    id: Uuid,
) -> Result<RecordFacts> {
    if let Some(f) = cache.get(&id) {
        return Ok(f.clone());
    }
    let f = tx
        .record_facts(id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    cache.insert(id, f.clone());
    Ok(f)
}

/// Record the refusal and return the error to give.
async fn refuse<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    target: Uuid,
) -> Result<Error> {
    record_refusal(ctx, tx, key, actor, action, target, "person", None).await?;
    Ok(Error::Forbidden {
        reason: format!("{action} refused"),
    })
}

/// The duplicate review for one viewer: likely pairs where they may open both records.
pub async fn review<R: MergeRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Review> {
    if !actor.reads_case_data() {
        return Err(refuse(ctx, tx, key, actor, "duplicates.review", actor.user_id).await?);
    }
    let people = tx.linkage_people().await?;
    let records: Vec<LinkRecord> = people.iter().map(link_record).collect();
    let data = Dataset::new(&records);
    let opts = Options::default();
    let model = if people.len() >= TRAIN_MIN {
        data.train(&opts)
    } else {
        Model::untrained()
    };
    let dismissed: HashSet<(Uuid, Uuid)> = tx.not_duplicates().await?.into_iter().collect();
    let mut scored = data.predict(&model, &opts, REVIEW_THRESHOLD);
    scored.sort_by(|x, y| y.probability.total_cmp(&x.probability));
    // The records this viewer may open, in one query: the policy's scope is the same rule as
    // deciding `ViewRecord` on each (tested against each other).
    let visible: HashSet<Uuid> = tx
        .list_children(&authz::scope(actor), "", i64::MAX)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let (mut pairs, mut hidden) = (Vec::new(), 0);
    for s in scored {
        let (a, b) = (&people[s.a as usize], &people[s.b as usize]);
        if dismissed.contains(&ordered(a.id, b.id)) {
            continue;
        }
        if !(visible.contains(&a.id) && visible.contains(&b.id)) {
            hidden += 1;
            continue;
        }
        if pairs.len() < REVIEW_LIMIT {
            let (probability, reasons) = data.explain(&model, s.a as usize, s.b as usize);
            pairs.push(DuplicatePair {
                a: a.clone(),
                b: b.clone(),
                probability,
                reasons,
            });
        }
    }
    let mut e = untargeted(ctx, actor, Category::Consultation, "duplicates.review");
    e.detail = Some(format!("{{\"shown\":{},\"hidden\":{hidden}}}", pairs.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Review {
        pairs,
        hidden,
        records: people.len(),
    })
}

/// A merge or unmerge reason: trimmed, 10 to 2,000 characters.
pub fn merge_reason(reason: &str) -> Result<String> {
    let t = reason.trim();
    if t.chars().count() < 10 {
        return Err(Error::validation(
            "reason",
            "Say why these are the same child (at least 10 characters)",
        ));
    }
    if t.chars().count() > 2_000 {
        return Err(Error::validation(
            "reason",
            "Reason must be 2,000 characters or fewer",
        ));
    }
    Ok(t.to_string())
}

/// May the actor change both records?
async fn may_edit_both<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    a: Uuid,
    b: Uuid,
) -> Result<bool> {
    let mut cache = HashMap::new();
    for id in [a, b] {
        let f = facts(ctx, tx, actor, &mut cache, id).await?;
        if !authz::decide(actor, Action::EditRecord, Some(&f)).allow {
            return Ok(false);
        }
    }
    Ok(true)
}

fn chronology(
    ctx: &Ctx,
    actor: &Actor,
    person_id: Uuid,
    merge_id: Uuid,
    summary: String,
) -> ChronologyEntry {
    let now = ctx.clock.now();
    ChronologyEntry {
        id: ctx.ids.new_id(),
        person_id,
        kind: "merge".into(),
        source_id: merge_id,
        org_id: actor.org_id,
        event_at: now,
        recorded_at: now,
        summary,
        marking: None,
    }
}

/// Fold `duplicate_id` into `survivor_id`.
pub async fn merge<R: PersonRepo + MergeRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    survivor_id: Uuid,
    duplicate_id: Uuid,
    reason: &str,
) -> Result<PersonMerge> {
    if survivor_id == duplicate_id {
        return Err(Error::validation(
            "duplicate_id",
            "Choose two different records",
        ));
    }
    child(tx, survivor_id).await?;
    let duplicate = child(tx, duplicate_id).await?;
    if !may_edit_both(ctx, tx, actor, survivor_id, duplicate_id).await? {
        return Err(refuse(ctx, tx, key, actor, "person.merge", survivor_id).await?);
    }
    let reason = merge_reason(reason)?;
    for id in [survivor_id, duplicate_id] {
        if tx.merged_into(id).await?.is_some() {
            return Err(Error::Conflict(
                "one of these records has already been merged".into(),
            ));
        }
    }
    let m = PersonMerge {
        id: ctx.ids.new_id(),
        survivor_id,
        duplicate_id,
        reason,
        merged_by: actor.user_id,
        merged_at: ctx.clock.now(),
        undone_by: None,
        undone_at: None,
        undo_reason: None,
    };
    tx.merge_people(&m).await?;
    let entry = chronology(
        ctx,
        actor,
        survivor_id,
        m.id,
        format!(
            "A duplicate record ({} {}) was merged into this record: {}",
            duplicate.given_name, duplicate.family_name, m.reason
        ),
    );
    tx.insert_chronology(&entry).await?;
    for (target, other) in [(survivor_id, duplicate_id), (duplicate_id, survivor_id)] {
        let mut e = event(
            ctx,
            actor,
            Category::Combination,
            "person.merge",
            Outcome::Success,
            target,
            "person",
        );
        e.detail = Some(format!("{{\"merge\":\"{}\",\"with\":\"{other}\"}}", m.id));
        tx.append(key, ctx.ids.new_id(), &e).await?;
    }
    Ok(m)
}

/// Undo a merge: the duplicate record comes back with exactly what it had.
pub async fn unmerge<R: PersonRepo + MergeRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    merge_id: Uuid,
    reason: &str,
) -> Result<PersonMerge> {
    let mut m = tx.get_merge(merge_id).await?.ok_or(Error::NotFound)?;
    if !may_edit_both(ctx, tx, actor, m.survivor_id, m.duplicate_id).await? {
        return Err(refuse(ctx, tx, key, actor, "person.unmerge", m.survivor_id).await?);
    }
    let reason = merge_reason(reason)?;
    if m.undone_at.is_some() {
        return Err(Error::Conflict("this merge has already been undone".into()));
    }
    m.undone_by = Some(actor.user_id);
    m.undone_at = Some(ctx.clock.now());
    m.undo_reason = Some(reason.clone());
    tx.unmerge_people(&m).await?;
    for (person, text) in [
        (
            m.survivor_id,
            format!("A merged record was separated from this record again: {reason}"),
        ),
        (
            m.duplicate_id,
            format!("This record was separated again after being merged: {reason}"),
        ),
    ] {
        tx.insert_chronology(&chronology(ctx, actor, person, m.id, text))
            .await?;
        let mut e = event(
            ctx,
            actor,
            Category::Combination,
            "person.unmerge",
            Outcome::Success,
            person,
            "person",
        );
        e.detail = Some(format!("{{\"merge\":\"{}\"}}", m.id));
        tx.append(key, ctx.ids.new_id(), &e).await?;
    }
    Ok(m)
}

/// Record that two records are different children, so the review stops offering them.
pub async fn not_duplicate<R: PersonRepo + MergeRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    a: Uuid,
    b: Uuid,
) -> Result<()> {
    child(tx, a).await?;
    child(tx, b).await?;
    let mut cache = HashMap::new();
    for id in [a, b] {
        let f = facts(ctx, tx, actor, &mut cache, id).await?;
        if !authz::decide(actor, Action::ViewRecord, Some(&f)).allow {
            return Err(refuse(ctx, tx, key, actor, "duplicates.dismiss", id).await?);
        }
    }
    let (x, y) = ordered(a, b);
    tx.insert_not_duplicate(x, y, actor.user_id, ctx.clock.now())
        .await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "duplicates.dismiss",
        Outcome::Success,
        x,
        "person",
    );
    e.detail = Some(format!("{{\"with\":\"{y}\"}}"));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_required_and_bounded() {
        assert!(merge_reason("same").is_err());
        assert!(merge_reason(&"x".repeat(2_001)).is_err());
        assert_eq!(
            merge_reason("  Same child: school confirmed  ").ok(),
            Some("Same child: school confirmed".into())
        );
    }

    #[test]
    fn pairs_are_ordered() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        assert_eq!(ordered(a, b), (b, a));
        assert_eq!(ordered(b, a), (b, a));
    }
}
