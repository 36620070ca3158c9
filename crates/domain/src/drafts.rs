//! Concern drafts: the form as the professional types it, saved as they go (the page saves it
//! in the background every few seconds, or with a "Save as draft" button without JavaScript),
//! so no work is lost to a session timeout. One draft per author and child; only its author
//! reads it; saving and reading are audited like any other record of a child.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor};
use crate::cases::{MAX_CHILDREN_PER_CONCERN, child, event};
use crate::error::{Error, FieldError, Result};
use crate::ports::{AuditLog, CaseRepo, PersonRepo};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The concern form's fields a draft keeps (checkbox fields are `type_…` and `ind_…`).
pub const DRAFT_TEXT_FIELDS: [&str; 9] = [
    "narrative",
    "observed-day",
    "observed-month",
    "observed-year",
    "location",
    "child_words",
    "others_present",
    "actions_taken",
    "to_front_door",
];

/// The longest a draft field may be (the narrative's own limit).
pub const DRAFT_FIELD_MAX: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernDraft {
    pub user_id: Uuid,
    /// The child the form was opened for.
    pub person_id: Uuid,
    /// Other children added to the same concern.
    pub also: Vec<Uuid>,
    pub fields: BTreeMap<String, String>,
    pub updated_at: OffsetDateTime,
}

/// Is this one of the concern form's fields that a draft keeps?
pub fn kept(name: &str) -> bool {
    DRAFT_TEXT_FIELDS.contains(&name)
        || name
            .strip_prefix("type_")
            .is_some_and(|c| crate::cases::ExploitationType::parse(c).is_some())
        || name
            .strip_prefix("ind_")
            .is_some_and(|c| crate::cases::ConcernIndicator::parse(c).is_some())
}

/// The boxes of the date the concern's events happened, with the range each may hold and the
/// message when it holds anything else. A draft may leave any of them blank (the date may be
/// typed later), but what is typed must be a number the box can hold.
const DATE_PARTS: [(&str, u32, u32, &str); 3] = [
    (
        "observed-day",
        1,
        31,
        "The day it happened must be a number from 1 to 31",
    ),
    (
        "observed-month",
        1,
        12,
        "The month it happened must be a number from 1 to 12",
    ),
    (
        "observed-year",
        1900,
        2200,
        "The year it happened must be a 4-digit year, like 2026",
    ),
];

/// Could `v` be, or become as more digits are typed, a number from `min` to `max` (written
/// plainly or with leading zeros, `05`)? Drafts are saved while the professional types.
fn may_become(v: &str, min: u32, max: u32) -> bool {
    let width = max.to_string().len();
    !v.is_empty()
        && v.len() <= width
        && v.bytes().all(|b| b.is_ascii_digit())
        && (min..=max)
            .any(|n| n.to_string().starts_with(v) || format!("{n:0width$}").starts_with(v))
}

/// Refuse a draft whose date boxes hold something other than a number in range, or the start
/// of one (blank is fine): every error found, on its box.
pub fn date_parts(fields: &BTreeMap<String, String>) -> Result<()> {
    let errs: Vec<FieldError> = DATE_PARTS
        .iter()
        .filter_map(|(name, min, max, message)| {
            let v = fields.get(*name).map(|v| v.trim()).unwrap_or("");
            let ok = v.is_empty() || may_become(v, *min, *max);
            (!ok).then(|| FieldError::new(*name, *message))
        })
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errs))
    }
}

/// Save (or replace) the actor's draft for a child. Unknown fields are dropped; a field over
/// [`DRAFT_FIELD_MAX`] characters is refused, nothing saved.
pub async fn save_draft<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    also: &[Uuid],
    fields: &BTreeMap<String, String>,
) -> Result<ConcernDraft> {
    let d = authz::decide(actor, Action::RaiseConcern, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    child(tx, person_id).await?;
    let mut others = Vec::new();
    for id in also {
        if *id != person_id && !others.contains(id) {
            child(tx, *id).await?;
            others.push(*id);
        }
    }
    if others.len() + 1 > MAX_CHILDREN_PER_CONCERN {
        return Err(Error::validation(
            "children",
            &format!("A concern is about at most {MAX_CHILDREN_PER_CONCERN} children"),
        ));
    }
    if let Some((name, _)) = fields
        .iter()
        .find(|(_, v)| v.chars().count() > DRAFT_FIELD_MAX)
    {
        return Err(Error::validation(
            name,
            "This is too long to save: it must be 20,000 characters or fewer",
        ));
    }
    date_parts(fields)?;
    let draft = ConcernDraft {
        user_id: actor.user_id,
        person_id,
        also: others,
        fields: fields
            .iter()
            .filter(|(k, _)| kept(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        updated_at: ctx.clock.now(),
    };
    tx.save_draft(&draft).await?;
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(
            ctx,
            actor,
            Category::Alteration,
            "concern.draft.save",
            Outcome::Success,
            person_id,
            "person",
        ),
    )
    .await?;
    Ok(draft)
}

/// The actor's own draft for a child, if any (audited when there is one).
pub async fn load_draft<R: CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Option<ConcernDraft>> {
    let draft = tx.get_draft(actor.user_id, person_id).await?;
    if draft.is_some() {
        tx.append(
            key,
            ctx.ids.new_id(),
            &event(
                ctx,
                actor,
                Category::Consultation,
                "concern.draft.view",
                Outcome::Success,
                person_id,
                "person",
            ),
        )
        .await?;
    }
    Ok(draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_keeps_only_the_concern_forms_fields() {
        assert!(kept("narrative") && kept("type_sexual") && kept("ind_missing"));
        assert!(!kept("csrf_token") && !kept("type_nonsense") && !kept("ind_") && !kept("x"));
    }

    #[test]
    fn a_draft_date_box_holds_a_number_in_range_or_nothing() {
        let fields = |d: &str, m: &str, y: &str| {
            BTreeMap::from([
                ("observed-day".to_string(), d.to_string()),
                ("observed-month".to_string(), m.to_string()),
                ("observed-year".to_string(), y.to_string()),
            ])
        };
        assert!(date_parts(&fields("", "", "")).is_ok());
        assert!(date_parts(&fields("3", "", "")).is_ok());
        // Part-typed while the draft is saved in the background.
        assert!(date_parts(&fields("0", "0", "20")).is_ok());
        assert!(date_parts(&fields("05", "09", "199")).is_ok());
        assert!(date_parts(&fields(" 31 ", "12", "2026")).is_ok());
        assert!(date_parts(&BTreeMap::new()).is_ok());
        for (d, m, y, field) in [
            ("abc", "1", "2026", "observed-day"),
            ("32", "1", "2026", "observed-day"),
            ("00", "1", "2026", "observed-day"),
            ("1", "99999", "2026", "observed-month"),
            ("1", "13", "2026", "observed-month"),
            ("1", "1", "../../etc", "observed-year"),
            ("1", "1", "26", "observed-year"),
            ("1", "1", "+2026", "observed-year"),
        ] {
            let Err(Error::Validation(errs)) = date_parts(&fields(d, m, y)) else {
                panic!("{d} {m} {y} was accepted");
            };
            assert_eq!(errs[0].field, field);
        }
    }
}
