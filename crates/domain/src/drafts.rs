//! Concern drafts: the form as the professional types it, saved as they go (the page saves it
//! in the background every few seconds, or with a "Save as draft" button without JavaScript),
//! so no work is lost to a session timeout. One draft per author and child; only its author
//! reads it; saving and reading are audited like any other record of a child.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor};
use crate::cases::{MAX_CHILDREN_PER_CONCERN, child, event};
use crate::error::{Error, Result};
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
}
