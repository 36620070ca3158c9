//! Partner intelligence to police: submissions from any professional (structured persons,
//! vehicles, phones, places, handles and businesses, with free text, linked to children), the
//! submitter's receipt and status, police grading on the 3x5x2 model, sanitised sharing as the
//! handling code allows, and linking what a report names to resolved entities.
//!
//! Partners submit raw information and need not judge whether it matters (`shared/guide/domain.md`
//! §4.3). Grading belongs to police (§4.4, §13.3 rule 5): only a police intelligence officer
//! grades, links and shares; a police analyst may read. The submitter sees what they sent and
//! its status (received, assessed, actioned), never anything police added. A sanitised copy
//! leaves police only after grading, as a recorded decision naming its recipients (rule 6), and
//! a C handling code carries its conditions wherever the copy goes.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, OrgType, Role, Scope};
use crate::cases::{self, InvolvementReason, event, record_refusal};
use crate::error::{Error, Result};
use crate::identity::model::Organisation;
use crate::person::{Person, PersonKind, text_enum};
use crate::ports::{
    AuditLog, CaseRepo, HotspotRepo, IdentityRepo, NetworkRepo, PersonRepo, ProfileRepo,
};
use crate::validate::{Errors, optional_text, text};
use serde::Serialize;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

text_enum!(
    /// What an item of a report names.
    ItemKind {
        Person => "person", "Person or nickname";
        Vehicle => "vehicle", "Vehicle";
        Phone => "phone", "Phone number";
        Postcode => "postcode", "Postcode";
        Place => "place", "Place";
        Handle => "handle", "Social media handle";
        Business => "business", "Business";
    }
);

text_enum!(
    /// What a resolved entity is: an item's kind, or a child the report is about.
    EntityKind {
        Child => "child", "Child";
        Person => "person", "Person";
        Vehicle => "vehicle", "Vehicle";
        Phone => "phone", "Phone number";
        Postcode => "postcode", "Postcode";
        Place => "place", "Place";
        Handle => "handle", "Social media handle";
        Business => "business", "Business";
    }
);

impl From<ItemKind> for EntityKind {
    fn from(k: ItemKind) -> Self {
        match k {
            ItemKind::Person => Self::Person,
            ItemKind::Vehicle => Self::Vehicle,
            ItemKind::Phone => Self::Phone,
            ItemKind::Postcode => Self::Postcode,
            ItemKind::Place => Self::Place,
            ItemKind::Handle => Self::Handle,
            ItemKind::Business => Self::Business,
        }
    }
}

text_enum!(
    /// How the submitter knows what they report.
    HowKnown {
        SawOrHeard => "saw_or_heard", "I saw or heard it myself";
        ToldByChild => "told_by_child", "A child or young person told me";
        ToldByOther => "told_by_other", "Someone else told me";
        Records => "records", "From records, messages or documents";
        Other => "other", "Another way";
    }
);

text_enum!(
    /// Where a report stands, as the submitter sees it.
    IntelStatus {
        Received => "received", "Received";
        Assessed => "assessed", "Assessed";
        Actioned => "actioned", "Actioned";
    }
);

text_enum!(
    /// 3x5x2, the 3: how reliable the source is.
    SourceEvaluation {
        Reliable => "1", "1 – Reliable";
        Untested => "2", "2 – Untested";
        NotReliable => "3", "3 – Not reliable";
    }
);

text_enum!(
    /// 3x5x2, the 5: how the information is known to the source.
    IntelAssessment {
        KnownDirectly => "A", "A – Known directly to the source";
        Corroborated => "B", "B – Known indirectly but corroborated";
        KnownIndirectly => "C", "C – Known indirectly";
        NotKnown => "D", "D – Not known";
        SuspectedFalse => "E", "E – Suspected to be false";
    }
);

text_enum!(
    /// 3x5x2, the 2: whether and how it may be shared.
    HandlingCode {
        Permitted => "P", "P – Lawful sharing permitted";
        Conditions => "C", "C – Lawful sharing permitted with conditions";
    }
);

impl IntelStatus {
    /// What happens next, as the submitter is told.
    pub fn next_steps(self) -> &'static str {
        match self {
            Self::Received => {
                "The police intelligence unit will assess what you sent. You do not need to do anything else."
            }
            Self::Assessed => {
                "The police intelligence unit has assessed what you sent and added it to what police know."
            }
            Self::Actioned => "Police have acted on what you sent. Thank you for sharing it.",
        }
    }
}

/// The longest narrative.
pub const NARRATIVE_MAX: usize = 10_000;
/// The most items on one report.
pub const ITEMS_MAX: usize = 50;
pub const VALUE_MAX: usize = 200;
pub const DETAIL_MAX: usize = 500;
pub const TEXT_MAX: usize = 5_000;

/// The legal basis recorded with each disclosure (the same as referrals').
pub const LEGAL_BASIS: &str = crate::referrals::LEGAL_BASIS;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: Uuid,
    /// `INT-<year>-<6 digits>`.
    pub reference: String,
    pub submitted_by: Uuid,
    pub submitted_org: Uuid,
    pub submitted_at: OffsetDateTime,
    pub observed_from: Option<OffsetDateTime>,
    pub observed_to: Option<OffsetDateTime>,
    pub how_known: HowKnown,
    pub narrative: String,
    pub status: IntelStatus,
    pub status_at: OffsetDateTime,
    pub source_evaluation: Option<SourceEvaluation>,
    pub intelligence_assessment: Option<IntelAssessment>,
    pub handling_code: Option<HandlingCode>,
    pub handling_conditions: String,
    pub sanitised: String,
    pub graded_by: Option<Uuid>,
    pub graded_at: Option<OffsetDateTime>,
    pub shared_by: Option<Uuid>,
    pub shared_at: Option<OffsetDateTime>,
    pub action_note: String,
}

impl Report {
    pub fn graded(&self) -> bool {
        self.graded_at.is_some() && self.handling_code.is_some()
    }
    /// The grade as police write it: `1A P`.
    pub fn grade(&self) -> Option<String> {
        match (
            self.source_evaluation,
            self.intelligence_assessment,
            self.handling_code,
        ) {
            (Some(s), Some(a), Some(h)) => {
                Some(format!("{}{} {}", s.as_str(), a.as_str(), h.as_str()))
            }
            _ => None,
        }
    }
}

/// One thing a report names, as typed, with its normalised key (empty when it did not parse).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: Uuid,
    pub report_id: Uuid,
    pub position: i32,
    pub kind: ItemKind,
    pub value: String,
    pub normalised: String,
    pub detail: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub entity_id: Option<Uuid>,
}

/// A resolved entity: one per (kind, key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub id: Uuid,
    pub kind: EntityKind,
    pub key: String,
    pub label: String,
    pub person_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub created_at: OffsetDateTime,
}

/// An edge of the graph: a report names an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub id: Uuid,
    pub report_id: Uuid,
    pub entity_id: Uuid,
    pub version: i64,
    pub removed_version: Option<i64>,
    pub linked_by: Uuid,
    pub linked_at: OffsetDateTime,
}

/// A status change of a report, for its submitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntelNotification {
    pub id: Uuid,
    pub user_id: Uuid,
    pub report_id: Uuid,
    pub status: IntelStatus,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait IntelligenceRepo: Send {
    /// The highest reference starting with `prefix` (`INT-2026-`), serialised against other
    /// submissions until the transaction ends.
    fn last_intel_reference(
        &mut self,
        prefix: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// The report, the children it is about and its items.
    fn insert_intel_report(
        &mut self,
        r: &Report,
        children: &[Uuid],
        items: &[Item],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Store the status, grading, sharing and action note.
    fn update_intel_report(&mut self, r: &Report) -> impl Future<Output = Result<()>> + Send;
    fn get_intel_report(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<Report>>> + Send;
    /// The children a report is about.
    fn intel_report_children(
        &mut self,
        report_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>>> + Send;
    /// A report's items, in order.
    fn intel_items(&mut self, report_id: Uuid) -> impl Future<Output = Result<Vec<Item>>> + Send;
    /// Store an item's normalised key and entity.
    fn update_intel_item(&mut self, item: &Item) -> impl Future<Output = Result<()>> + Send;
    /// Reports submitted by the user, newest first.
    fn intel_reports_by(
        &mut self,
        user_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Report>>> + Send;
    /// Every report (of one status, if given): received first, then assessed, then actioned;
    /// oldest first within each.
    fn intel_inbox(
        &mut self,
        status: Option<IntelStatus>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Report>>> + Send;
    /// The entity with `e`'s kind and key: inserted as `e` when there is none.
    fn upsert_intel_entity(&mut self, e: &Entity) -> impl Future<Output = Result<Entity>> + Send;
    fn get_intel_entity(&mut self, id: Uuid)
    -> impl Future<Output = Result<Option<Entity>>> + Send;
    /// A report's links, removed ones included, oldest first.
    fn intel_links(&mut self, report_id: Uuid) -> impl Future<Output = Result<Vec<Link>>> + Send;
    /// Link a report to an entity at `l.version`; a removed link is made again.
    fn insert_intel_link(&mut self, l: &Link) -> impl Future<Output = Result<()>> + Send;
    /// Take away a live link at `version`; `false` when there was none.
    fn remove_intel_link(
        &mut self,
        report_id: Uuid,
        entity_id: Uuid,
        version: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Bump the graph's version and return the new one (serialised: the writer lock on SQLite,
    /// the row lock on PostgreSQL).
    fn bump_intel_graph_version(&mut self) -> impl Future<Output = Result<i64>> + Send;
    /// The graph's version as it stands.
    fn intel_graph_version(&mut self) -> impl Future<Output = Result<i64>> + Send;
    fn insert_intel_notification(
        &mut self,
        n: &IntelNotification,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The user's notifications, newest first: unread ones only, or all; at most `limit`.
    fn intel_notifications_for(
        &mut self,
        user_id: Uuid,
        unread_only: bool,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<IntelNotification>>> + Send;
    fn mark_intel_notifications_read(
        &mut self,
        user_id: Uuid,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the intelligence services read and write.
pub trait Repos:
    PersonRepo
    + CaseRepo
    + IdentityRepo
    + ProfileRepo
    + IntelligenceRepo
    + NetworkRepo
    + HotspotRepo
    + AuditLog
{
}

impl<T> Repos for T where
    T: PersonRepo
        + CaseRepo
        + IdentityRepo
        + ProfileRepo
        + IntelligenceRepo
        + NetworkRepo
        + HotspotRepo
        + AuditLog
{
}

// --- who may do what ------------------------------------------------------------------------------

/// May read the police view of reports: a police intelligence officer or analyst.
pub fn is_police_reader(actor: &Actor) -> bool {
    actor.is_police() && actor.any(&[Role::PoliceIntelligenceOfficer, Role::Analyst])
}

/// May grade, link, action and share: a police intelligence officer.
pub fn is_police_assessor(actor: &Actor) -> bool {
    actor.is_police() && actor.has(Role::PoliceIntelligenceOfficer)
}

// --- normalising ----------------------------------------------------------------------------------

fn collapse(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The key an item's value is matched on: a vehicle's compact registration, a phone in E.164, a
/// postcode, a handle without `@`, other text lowercased with its spaces collapsed. Empty when a
/// vehicle, phone or postcode does not parse (a partial registration is still worth reporting).
pub fn normalise(kind: ItemKind, value: &str) -> String {
    match kind {
        ItemKind::Vehicle => crate::vehicle::VehicleRegistration::parse(value)
            .map(|v| v.as_str().to_string())
            .unwrap_or_default(),
        ItemKind::Phone => crate::identifiers::phone(value).unwrap_or_default(),
        ItemKind::Postcode => crate::postcode::Postcode::parse(value)
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        ItemKind::Handle => {
            let t = collapse(value);
            t.trim_start_matches('@').trim().replace(' ', "")
        }
        ItemKind::Person | ItemKind::Place | ItemKind::Business => collapse(value),
    }
}

/// How a key is shown: a registration with its space, others as they are.
pub fn display_key(kind: EntityKind, key: &str) -> String {
    match kind {
        EntityKind::Vehicle => crate::vehicle::VehicleRegistration::parse(key)
            .map(|v| v.display())
            .unwrap_or_else(|_| key.to_string()),
        EntityKind::Handle => format!("@{key}"),
        _ => key.to_string(),
    }
}

// --- submitting -----------------------------------------------------------------------------------

/// One row of the submission's items as typed.
#[derive(Debug, Clone, Default)]
pub struct ItemInput {
    pub kind: Option<ItemKind>,
    pub value: String,
    pub detail: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl ItemInput {
    pub fn is_blank(&self) -> bool {
        self.kind.is_none()
            && self.value.trim().is_empty()
            && self.detail.trim().is_empty()
            && self.latitude.is_none()
            && self.longitude.is_none()
    }
}

/// A submission as typed. Item errors are reported on `item_<row>_<field>` (rows from 0).
#[derive(Debug, Clone, Default)]
pub struct SubmissionInput {
    pub observed_from: Option<OffsetDateTime>,
    pub observed_to: Option<OffsetDateTime>,
    pub how_known: Option<HowKnown>,
    pub narrative: String,
    pub items: Vec<ItemInput>,
    /// The children it is about (each must be a record the submitter may open).
    pub children: Vec<Uuid>,
}

/// Check a submission on its own (before any record is read).
pub fn check_submission(input: &SubmissionInput, now: OffsetDateTime) -> Result<()> {
    let mut errs = Errors::default();
    errs.take(text(
        "narrative",
        &input.narrative,
        10,
        NARRATIVE_MAX,
        "Say what happened or what you know, in at least 10 characters",
    ));
    if input.how_known.is_none() {
        errs.push("how_known", "Select how you know this");
    }
    let slack = time::Duration::minutes(5);
    if input.observed_from.is_some_and(|t| t > now + slack) {
        errs.push("from", "When it was seen must be today or in the past");
    }
    if input.observed_to.is_some_and(|t| t > now + slack) {
        errs.push("to", "When it was last seen must be today or in the past");
    }
    if let (Some(f), Some(t)) = (input.observed_from, input.observed_to)
        && t < f
    {
        errs.push("to", "The end must be the same as or after the start");
    }
    if input.items.len() > ITEMS_MAX {
        errs.push(
            "items",
            &format!("A report can name at most {ITEMS_MAX} things"),
        );
    }
    for (i, it) in input.items.iter().enumerate() {
        if it.is_blank() {
            continue;
        }
        if it.kind.is_none() {
            errs.push(
                &format!("item_{i}_kind"),
                &format!("Select what row {} is", i + 1),
            );
        }
        if it.value.trim().is_empty() {
            errs.push(
                &format!("item_{i}_value"),
                &format!("Enter what row {} names, or clear the row", i + 1),
            );
        } else {
            errs.take(text(
                &format!("item_{i}_value"),
                &it.value,
                1,
                VALUE_MAX,
                "",
            ));
        }
        errs.take(optional_text(
            &format!("item_{i}_detail"),
            &it.detail,
            DETAIL_MAX,
        ));
        match (it.latitude, it.longitude) {
            (None, None) => {}
            (Some(la), Some(lo)) => {
                if !(-90.0..=90.0).contains(&la) || !(-180.0..=180.0).contains(&lo) {
                    errs.push(
                        &format!("item_{i}_latitude"),
                        "Latitude must be between -90 and 90 and longitude between -180 and 180",
                    );
                }
            }
            _ => errs.push(
                &format!("item_{i}_latitude"),
                "Give both latitude and longitude, or neither",
            ),
        }
    }
    errs.done()
}

async fn police_orgs<R: IdentityRepo>(tx: &mut R) -> Result<Vec<Organisation>> {
    Ok(tx
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| o.org_type == OrgType::Police)
        .collect())
}

async fn org_name<R: IdentityRepo>(tx: &mut R, id: Uuid) -> Result<String> {
    Ok(tx
        .get_org(id)
        .await?
        .map(|o| o.name)
        .unwrap_or_else(|| "Unknown organisation".into()))
}

fn recipients(orgs: &[Organisation]) -> String {
    orgs.iter()
        .map(|o| format!("{} ({})", o.name, o.id))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn next_reference<R: IntelligenceRepo>(tx: &mut R, now: OffsetDateTime) -> Result<String> {
    // UK time is GMT at the turn of the year, so the UTC year is the UK one.
    let year = now.year();
    let prefix = format!("INT-{year}-");
    let last = tx.last_intel_reference(&prefix).await?;
    let n = match last {
        None => 1,
        Some(r) => {
            r.strip_prefix(&prefix)
                .and_then(|d| d.parse::<u32>().ok())
                .ok_or_else(|| Error::store("a stored intelligence reference is invalid"))?
                + 1
        }
    };
    if n > 999_999 {
        return Err(Error::store("intelligence references for the year ran out"));
    }
    Ok(format!("{prefix}{n:06}"))
}

/// Submit intelligence to police. Any signed-in professional may; each child named must be a
/// record they may open (a refusal is recorded and nothing is sent). Items are normalised (a
/// value that does not parse keeps an empty key, never refusing the report). Police
/// organisations become involved with the children (as for a referral), each child's
/// chronology says intelligence was shared with police (no content), and the submission is
/// audited as a disclosure to police.
pub async fn submit<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    input: &SubmissionInput,
) -> Result<Report> {
    let now = ctx.clock.now();
    let mut children = Vec::new();
    for c in &input.children {
        if !children.contains(c) {
            children.push(*c);
        }
    }
    for c in &children {
        cases::may_on_child(ctx, tx, key, actor, *c, Action::ViewRecord, "intel.submit").await?;
    }
    check_submission(input, now)?;
    let id = ctx.ids.new_id();
    let reference = next_reference(tx, now).await?;
    let mut items = Vec::new();
    for it in input.items.iter().filter(|i| !i.is_blank()) {
        let Some(kind) = it.kind else { continue };
        let position = i32::try_from(items.len()).map_err(|_| Error::store("too many items"))?;
        items.push(Item {
            id: ctx.ids.new_id(),
            report_id: id,
            position,
            kind,
            value: it.value.trim().to_string(),
            normalised: normalise(kind, &it.value),
            detail: it.detail.trim().to_string(),
            latitude: it.latitude,
            longitude: it.longitude,
            entity_id: None,
        });
    }
    let r = Report {
        id,
        reference,
        submitted_by: actor.user_id,
        submitted_org: actor.org_id,
        submitted_at: now,
        observed_from: input.observed_from,
        observed_to: input.observed_to,
        how_known: input.how_known.unwrap_or(HowKnown::Other),
        narrative: input.narrative.trim().to_string(),
        status: IntelStatus::Received,
        status_at: now,
        source_evaluation: None,
        intelligence_assessment: None,
        handling_code: None,
        handling_conditions: String::new(),
        sanitised: String::new(),
        graded_by: None,
        graded_at: None,
        shared_by: None,
        shared_at: None,
        action_note: String::new(),
    };
    tx.insert_intel_report(&r, &children, &items).await?;
    let police = police_orgs(tx).await?;
    let by = org_name(tx, actor.org_id).await?;
    for c in &children {
        for p in &police {
            cases::involve(ctx, tx, *c, p.id, InvolvementReason::Referral).await?;
        }
        cases::chronicle(
            ctx,
            tx,
            actor,
            *c,
            "intelligence",
            r.id,
            format!("Intelligence was shared with police by {by}."),
        )
        .await?;
    }
    let detail = format!(
        "{{\"report\":\"{}\",\"items\":{},\"children\":{}}}",
        r.id,
        items.len(),
        children.len()
    );
    let targets: Vec<(Uuid, &str)> = if children.is_empty() {
        vec![(r.id, "intel_report")]
    } else {
        children.iter().map(|c| (*c, "person")).collect()
    };
    for (target, kind) in targets {
        let mut e = event(
            ctx,
            actor,
            Category::Disclosure,
            "intel.submit",
            Outcome::Success,
            target,
            kind,
        );
        e.recipient = Some(recipients(&police));
        e.legal_basis = Some(LEGAL_BASIS.into());
        e.detail = Some(detail.clone());
        tx.append(key, ctx.ids.new_id(), &e).await?;
    }
    Ok(r)
}

// --- the submitter's side -------------------------------------------------------------------------

/// What the submitter typed, as they may see it again: no normalised key, no entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmittedItem {
    pub kind: ItemKind,
    pub value: String,
    pub detail: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A report as its submitter sees it: what they sent and its status. Nothing police added
/// (grading, sanitised text, links, action note) is in this type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmitterView {
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: OffsetDateTime,
    pub observed_from: Option<OffsetDateTime>,
    pub observed_to: Option<OffsetDateTime>,
    pub how_known: HowKnown,
    pub narrative: String,
    pub status: IntelStatus,
    pub status_at: OffsetDateTime,
    pub items: Vec<SubmittedItem>,
    /// The children named, by id and name.
    pub children: Vec<(Uuid, String)>,
}

/// One line of the submitter's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionLine {
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: OffsetDateTime,
    pub status: IntelStatus,
    pub status_at: OffsetDateTime,
}

impl From<&Report> for SubmissionLine {
    fn from(r: &Report) -> Self {
        Self {
            id: r.id,
            reference: r.reference.clone(),
            submitted_at: r.submitted_at,
            status: r.status,
            status_at: r.status_at,
        }
    }
}

/// A notification as the submitter sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusNote {
    pub report_id: Uuid,
    pub reference: String,
    pub status: IntelStatus,
    pub at: OffsetDateTime,
}

/// One line of the police inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxLine {
    pub report: Report,
    pub org_name: String,
    pub children: usize,
    pub items: usize,
}

/// The `/intelligence` page: the viewer's submissions (with unread status changes, marked read
/// when shown) and, for police readers, the inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub notes: Vec<StatusNote>,
    pub mine: Vec<SubmissionLine>,
    /// `None` for anyone who is not a police reader.
    pub inbox: Option<Vec<InboxLine>>,
    pub may_assess: bool,
}

/// The viewer's submissions and notifications, and the police inbox for police readers
/// (filtered by `status`). Audited as a consultation.
pub async fn overview<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    status: Option<IntelStatus>,
    mark_read: bool,
) -> Result<Overview> {
    let now = ctx.clock.now();
    let unread = tx.intel_notifications_for(actor.user_id, true, 100).await?;
    if mark_read && !unread.is_empty() {
        let ids: Vec<Uuid> = unread.iter().map(|n| n.id).collect();
        tx.mark_intel_notifications_read(actor.user_id, &ids, now)
            .await?;
    }
    let own = tx.intel_reports_by(actor.user_id, 500).await?;
    let mut notes = Vec::new();
    for n in &unread {
        let reference = match own.iter().find(|r| r.id == n.report_id) {
            Some(r) => r.reference.clone(),
            None => tx
                .get_intel_report(n.report_id)
                .await?
                .map(|r| r.reference)
                .unwrap_or_default(),
        };
        notes.push(StatusNote {
            report_id: n.report_id,
            reference,
            status: n.status,
            at: n.created_at,
        });
    }
    let inbox = if is_police_reader(actor) {
        Some(inbox_lines(tx, status).await?)
    } else {
        None
    };
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "intel.list");
    e.detail = Some(format!(
        "{{\"mine\":{},\"inbox\":{}}}",
        own.len(),
        inbox.as_ref().map_or(0, Vec::len)
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Overview {
        notes,
        mine: own.iter().map(SubmissionLine::from).collect(),
        inbox,
        may_assess: is_police_assessor(actor),
    })
}

async fn inbox_lines<R: Repos>(tx: &mut R, status: Option<IntelStatus>) -> Result<Vec<InboxLine>> {
    let mut lines = Vec::new();
    for r in tx.intel_inbox(status, 500).await? {
        let org_name = org_name(tx, r.submitted_org).await?;
        let children = tx.intel_report_children(r.id).await?.len();
        let items = tx.intel_items(r.id).await?.len();
        lines.push(InboxLine {
            report: r,
            org_name,
            children,
            items,
        });
    }
    Ok(lines)
}

/// The police inbox alone: police readers only (a refusal is recorded). Audited as a
/// consultation.
pub async fn police_inbox<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    status: Option<IntelStatus>,
) -> Result<Vec<InboxLine>> {
    if !is_police_reader(actor) {
        let mut e = cases::untargeted(ctx, actor, Category::AuthzDenied, "intel.inbox");
        e.outcome = Outcome::Denied;
        e.detail = Some("{\"reason\":\"not_police\"}".into());
        tx.append(key, ctx.ids.new_id(), &e).await?;
        return Err(forbidden());
    }
    let lines = inbox_lines(tx, status).await?;
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "intel.inbox");
    e.detail = Some(format!("{{\"inbox\":{}}}", lines.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(lines)
}

// --- reading a report -----------------------------------------------------------------------------

/// A candidate person for a person item.
#[derive(Debug, Clone, Serialize)]
pub struct PersonCandidate {
    pub person: Person,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// An item with what police see of it.
#[derive(Debug, Clone, Serialize)]
pub struct PoliceItem {
    pub item: Item,
    pub entity: Option<Entity>,
    /// For a person item: people in mace it may be (only those inside the viewer's scope).
    pub candidates: Vec<PersonCandidate>,
}

/// A live or removed link with its entity.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub link: Link,
    pub entity: Entity,
}

/// A report as police see it.
#[derive(Debug, Clone, Serialize)]
pub struct PoliceView {
    pub report: Report,
    pub items: Vec<PoliceItem>,
    pub children: Vec<Person>,
    /// Links, live ones first.
    pub links: Vec<LinkView>,
    pub submitter_name: String,
    pub submitter_org: String,
    pub graded_by: Option<String>,
    pub shared_by: Option<String>,
    /// Organisations a share would reach (involved with the children).
    pub share_recipients: Vec<Organisation>,
    /// The viewer may grade, link, action and share.
    pub may_change: bool,
}

/// A report, in the shape the viewer may see.
#[derive(Debug, Clone, Serialize)]
pub enum ReportView {
    Submitter(SubmitterView),
    Police(Box<PoliceView>),
}

async fn report_or_404<R: IntelligenceRepo>(tx: &mut R, id: Uuid) -> Result<Report> {
    tx.get_intel_report(id).await?.ok_or(Error::NotFound)
}

async fn refuse<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    report_id: Uuid,
) -> Result<()> {
    record_refusal(
        ctx,
        tx,
        key,
        actor,
        action,
        report_id,
        "intel_report",
        Some("{\"reason\":\"not_police\"}".into()),
    )
    .await
}

fn forbidden() -> Error {
    Error::Forbidden {
        reason: "not_police".into(),
    }
}

async fn child_names<R: PersonRepo>(tx: &mut R, ids: &[Uuid]) -> Result<Vec<Person>> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(p) = tx.get_person(*id).await? {
            out.push(p);
        }
    }
    Ok(out)
}

fn person_name(p: &Person) -> String {
    format!("{} {}", p.given_name, p.family_name)
}

/// Adults of concern inside the viewer's scope whose names are like the item's value.
async fn candidates<R: Repos>(
    tx: &mut R,
    actor: &Actor,
    value: &str,
) -> Result<Vec<PersonCandidate>> {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.is_empty() || !value.trim().chars().all(crate::person::name_char) {
        return Ok(Vec::new());
    }
    let probe = crate::matching::Probe {
        given_name: words[0].to_string(),
        family_name: if words.len() > 1 {
            words[words.len() - 1].to_string()
        } else {
            String::new()
        },
        ..Default::default()
    };
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(Vec::new());
    }
    let (family, given, dates) = cases::blocking_keys(&probe);
    let mut pool = Vec::new();
    for kind in [PersonKind::PersonOfConcern, PersonKind::ParentCarer] {
        pool.extend(
            tx.adult_match_pool(&scope, kind, &family, &given, &dates, 500)
                .await?,
        );
    }
    pool.sort_by_key(|p| p.id);
    pool.dedup_by_key(|p| p.id);
    Ok(crate::matching::rank(&probe, pool, 5)
        .into_iter()
        .filter(|c| c.score >= 40)
        .map(|c| PersonCandidate {
            person: c.person,
            score: c.score,
            reasons: c.reasons,
        })
        .collect())
}

async fn user_name<R: IdentityRepo>(tx: &mut R, id: Uuid) -> Result<String> {
    Ok(tx
        .get_user(id)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_else(|| "Unknown person".into()))
}

async fn police_view<R: Repos>(tx: &mut R, actor: &Actor, r: Report) -> Result<PoliceView> {
    let child_ids = tx.intel_report_children(r.id).await?;
    let children = child_names(tx, &child_ids).await?;
    let mut items = Vec::new();
    for item in tx.intel_items(r.id).await? {
        let entity = match item.entity_id {
            Some(e) => tx.get_intel_entity(e).await?,
            None => None,
        };
        let cands = if item.kind == ItemKind::Person {
            candidates(tx, actor, &item.value).await?
        } else {
            Vec::new()
        };
        items.push(PoliceItem {
            item,
            entity,
            candidates: cands,
        });
    }
    let mut links = Vec::new();
    for l in tx.intel_links(r.id).await? {
        if let Some(e) = tx.get_intel_entity(l.entity_id).await? {
            links.push(LinkView { link: l, entity: e });
        }
    }
    links.sort_by_key(|l| (l.link.removed_version.is_some(), l.link.version));
    let submitter_name = user_name(tx, r.submitted_by).await?;
    let submitter_org = org_name(tx, r.submitted_org).await?;
    let graded_by = match r.graded_by {
        Some(u) => Some(user_name(tx, u).await?),
        None => None,
    };
    let shared_by = match r.shared_by {
        Some(u) => Some(user_name(tx, u).await?),
        None => None,
    };
    let share_recipients = involved_orgs(tx, &child_ids).await?;
    Ok(PoliceView {
        report: r,
        items,
        children,
        links,
        submitter_name,
        submitter_org,
        graded_by,
        shared_by,
        share_recipients,
        may_change: is_police_assessor(actor),
    })
}

/// Organisations involved with any of the children, by name.
async fn involved_orgs<R: CaseRepo + IdentityRepo>(
    tx: &mut R,
    children: &[Uuid],
) -> Result<Vec<Organisation>> {
    let mut ids = Vec::new();
    for c in children {
        for i in tx.involvements(*c).await? {
            if !ids.contains(&i.org_id) {
                ids.push(i.org_id);
            }
        }
    }
    let mut out: Vec<Organisation> = tx
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| ids.contains(&o.id))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Open a report: police readers see the police view (an audited read); the submitter sees what
/// they sent and its status; anyone else is refused (recorded).
pub async fn open_report<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
) -> Result<ReportView> {
    let r = report_or_404(tx, id).await?;
    if is_police_reader(actor) {
        let v = police_view(tx, actor, r).await?;
        let mut e = event(
            ctx,
            actor,
            Category::Consultation,
            "intel.view",
            Outcome::Success,
            id,
            "intel_report",
        );
        e.detail = Some("{\"view\":\"police\"}".into());
        tx.append(key, ctx.ids.new_id(), &e).await?;
        return Ok(ReportView::Police(Box::new(v)));
    }
    if r.submitted_by != actor.user_id {
        refuse(ctx, tx, key, actor, "intel.view", id).await?;
        return Err(forbidden());
    }
    let child_ids = tx.intel_report_children(id).await?;
    let children = child_names(tx, &child_ids)
        .await?
        .iter()
        .map(|p| (p.id, person_name(p)))
        .collect();
    let items = tx
        .intel_items(id)
        .await?
        .into_iter()
        .map(|i| SubmittedItem {
            kind: i.kind,
            value: i.value,
            detail: i.detail,
            latitude: i.latitude,
            longitude: i.longitude,
        })
        .collect();
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "intel.view",
        Outcome::Success,
        id,
        "intel_report",
    );
    e.detail = Some("{\"view\":\"submitter\"}".into());
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(ReportView::Submitter(SubmitterView {
        id,
        reference: r.reference,
        submitted_at: r.submitted_at,
        observed_from: r.observed_from,
        observed_to: r.observed_to,
        how_known: r.how_known,
        narrative: r.narrative,
        status: r.status,
        status_at: r.status_at,
        items,
        children,
    }))
}

/// The report for a police change: refused (and recorded) for anyone but a police
/// intelligence officer.
async fn for_change<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    action: &str,
) -> Result<Report> {
    let r = report_or_404(tx, id).await?;
    if !is_police_assessor(actor) {
        refuse(ctx, tx, key, actor, action, id).await?;
        return Err(forbidden());
    }
    Ok(r)
}

async fn set_status<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    r: &mut Report,
    to: IntelStatus,
) -> Result<()> {
    if r.status == to {
        return Ok(());
    }
    let now = ctx.clock.now();
    r.status = to;
    r.status_at = now;
    tx.insert_intel_notification(&IntelNotification {
        id: ctx.ids.new_id(),
        user_id: r.submitted_by,
        report_id: r.id,
        status: to,
        created_at: now,
        read_at: None,
    })
    .await
}

async fn audit_change<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    id: Uuid,
    detail: String,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        action,
        Outcome::Success,
        id,
        "intel_report",
    );
    e.detail = Some(detail);
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

// --- grading --------------------------------------------------------------------------------------

/// A grade as police give it.
#[derive(Debug, Clone, Default)]
pub struct GradeInput {
    pub source_evaluation: Option<SourceEvaluation>,
    pub intelligence_assessment: Option<IntelAssessment>,
    pub handling_code: Option<HandlingCode>,
    /// Required for a C handling code.
    pub conditions: String,
    /// The version that may leave police, with what identifies the source removed.
    pub sanitised: String,
}

/// Grade a report on 3x5x2 (a police intelligence officer only; others are refused and
/// recorded). A received report becomes assessed (its submitter is told).
pub async fn grade<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    input: &GradeInput,
) -> Result<Report> {
    let mut r = for_change(ctx, tx, key, actor, id, "intel.grade").await?;
    let mut errs = Errors::default();
    if input.source_evaluation.is_none() {
        errs.push(
            "source_evaluation",
            "Select the source evaluation (1, 2 or 3)",
        );
    }
    if input.intelligence_assessment.is_none() {
        errs.push(
            "intelligence_assessment",
            "Select the intelligence assessment (A to E)",
        );
    }
    let conditions = match input.handling_code {
        None => {
            errs.push("handling_code", "Select the handling code (P or C)");
            String::new()
        }
        Some(HandlingCode::Conditions) => errs.take(text(
            "conditions",
            &input.conditions,
            5,
            TEXT_MAX,
            "Enter the handling conditions: a C handling code needs them",
        )),
        Some(HandlingCode::Permitted) => {
            errs.take(optional_text("conditions", &input.conditions, TEXT_MAX))
        }
    };
    let sanitised = errs.take(text(
        "sanitised",
        &input.sanitised,
        10,
        TEXT_MAX,
        "Enter the sanitised text, in at least 10 characters: the version that may leave police",
    ));
    errs.done()?;
    let now = ctx.clock.now();
    r.source_evaluation = input.source_evaluation;
    r.intelligence_assessment = input.intelligence_assessment;
    r.handling_code = input.handling_code;
    r.handling_conditions = if input.handling_code == Some(HandlingCode::Conditions) {
        conditions
    } else {
        String::new()
    };
    r.sanitised = sanitised;
    r.graded_by = Some(actor.user_id);
    r.graded_at = Some(now);
    if r.status == IntelStatus::Received {
        set_status(ctx, tx, &mut r, IntelStatus::Assessed).await?;
    }
    tx.update_intel_report(&r).await?;
    audit_change(
        ctx,
        tx,
        key,
        actor,
        "intel.grade",
        id,
        format!("{{\"grade\":\"{}\"}}", r.grade().unwrap_or_default()),
    )
    .await?;
    Ok(r)
}

// --- linking --------------------------------------------------------------------------------------

/// The entity an item is to be linked to: kind, key, label and the person it is.
type Wanted = (EntityKind, String, String, Option<Uuid>);

/// What to do with one item when linking.
#[derive(Debug, Clone, Default)]
pub struct ItemLink {
    pub item_id: Uuid,
    pub link: bool,
    /// A corrected value to link on (normalised again); blank keeps the item's key.
    pub fix: String,
    /// For a person item: one of mace's people it is.
    pub person_id: Option<Uuid>,
}

/// Link a report's items to entities (upserted by kind and key) and its children to child
/// entities, at the next graph version; items no longer linked let go of their entity, and a
/// live link nothing uses any more is removed at the same version. Then the network rules run
/// in the same transaction. A police intelligence officer only. Returns the graph version (the
/// old one when nothing changed).
pub async fn link<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    input: &[ItemLink],
) -> Result<i64> {
    let r = for_change(ctx, tx, key, actor, id, "intel.link").await?;
    let now = ctx.clock.now();
    let items = tx.intel_items(id).await?;
    let mut errs = Errors::default();
    // Decide each item's (kind, key, label, person) before changing anything.
    let mut wanted: Vec<(Item, Option<Wanted>)> = Vec::new();
    for it in &items {
        let choice = input.iter().find(|l| l.item_id == it.id);
        let Some(choice) = choice.filter(|c| c.link) else {
            wanted.push((it.clone(), None));
            continue;
        };
        let field = format!("key_{}", it.id);
        let fixed = choice.fix.trim();
        let key_value = if fixed.is_empty() {
            it.normalised.clone()
        } else {
            let n = normalise(it.kind, fixed);
            if n.is_empty() {
                errs.push(
                    &field,
                    &format!(
                        "{} is not a {} mace can read",
                        crate::validate::short(fixed, 40),
                        it.kind.label().to_lowercase()
                    ),
                );
            }
            n
        };
        if let Some(pid) = choice.person_id {
            match tx.get_person(pid).await? {
                Some(p) => {
                    let kind = if p.kind == PersonKind::Child {
                        EntityKind::Child
                    } else {
                        EntityKind::Person
                    };
                    wanted.push((
                        it.clone(),
                        Some((kind, pid.to_string(), person_name(&p), Some(pid))),
                    ));
                }
                None => errs.push(
                    &format!("person_{}", it.id),
                    "Choose a person from the list, or not a known person",
                ),
            }
            continue;
        }
        if key_value.is_empty() {
            if fixed.is_empty() {
                errs.push(
                    &field,
                    &format!(
                        "Enter the value to link row {} on: it could not be read as typed",
                        it.position + 1
                    ),
                );
            }
            continue;
        }
        let kind = EntityKind::from(it.kind);
        let label = display_key(kind, &key_value);
        wanted.push((it.clone(), Some((kind, key_value, label, None))));
    }
    errs.done()?;
    let children = tx.intel_report_children(id).await?;
    let existing = tx.intel_links(id).await?;
    let live = |entity: Uuid| {
        existing
            .iter()
            .any(|l| l.entity_id == entity && l.removed_version.is_none())
    };
    // Entities the report should be linked to now.
    let mut target: Vec<Uuid> = Vec::new();
    let mut item_updates = Vec::new();
    for (it, w) in wanted {
        let entity_id = match w {
            None => None,
            Some((kind, k, label, person_id)) => {
                let (lat, lon) = match (it.latitude, it.longitude, kind) {
                    (Some(la), Some(lo), _) => (Some(la), Some(lo)),
                    (_, _, EntityKind::Postcode) => match crate::postcode::Postcode::parse(&k) {
                        Ok(p) => match tx.point_of_postcode(&p).await? {
                            Some(at) => (Some(at.lat), Some(at.lon)),
                            None => (None, None),
                        },
                        Err(_) => (None, None),
                    },
                    _ => (None, None),
                };
                let e = tx
                    .upsert_intel_entity(&Entity {
                        id: ctx.ids.new_id(),
                        kind,
                        key: k,
                        label,
                        person_id,
                        latitude: lat,
                        longitude: lon,
                        created_at: now,
                    })
                    .await?;
                if !target.contains(&e.id) {
                    target.push(e.id);
                }
                Some(e.id)
            }
        };
        if it.entity_id != entity_id {
            let mut changed = it.clone();
            changed.entity_id = entity_id;
            item_updates.push(changed);
        }
    }
    for c in &children {
        let label = match tx.get_person(*c).await? {
            Some(p) => person_name(&p),
            None => String::new(),
        };
        let e = tx
            .upsert_intel_entity(&Entity {
                id: ctx.ids.new_id(),
                kind: EntityKind::Child,
                key: c.to_string(),
                label,
                person_id: Some(*c),
                latitude: None,
                longitude: None,
                created_at: now,
            })
            .await?;
        if !target.contains(&e.id) {
            target.push(e.id);
        }
    }
    let to_add: Vec<Uuid> = target.iter().copied().filter(|e| !live(*e)).collect();
    let to_remove: Vec<Uuid> = existing
        .iter()
        .filter(|l| l.removed_version.is_none() && !target.contains(&l.entity_id))
        .map(|l| l.entity_id)
        .collect();
    for it in &item_updates {
        tx.update_intel_item(it).await?;
    }
    if to_add.is_empty() && to_remove.is_empty() {
        if !item_updates.is_empty() {
            audit_change(
                ctx,
                tx,
                key,
                actor,
                "intel.link",
                id,
                format!(
                    "{{\"added\":0,\"removed\":0,\"items\":{}}}",
                    item_updates.len()
                ),
            )
            .await?;
        }
        return tx.intel_graph_version().await;
    }
    let version = tx.bump_intel_graph_version().await?;
    for e in &to_add {
        tx.insert_intel_link(&Link {
            id: ctx.ids.new_id(),
            report_id: r.id,
            entity_id: *e,
            version,
            removed_version: None,
            linked_by: actor.user_id,
            linked_at: now,
        })
        .await?;
    }
    for e in &to_remove {
        tx.remove_intel_link(r.id, *e, version).await?;
    }
    audit_change(
        ctx,
        tx,
        key,
        actor,
        "intel.link",
        id,
        format!(
            "{{\"added\":{},\"removed\":{},\"version\":{version}}}",
            to_add.len(),
            to_remove.len()
        ),
    )
    .await?;
    crate::networks::after_linking(ctx, tx, key, actor, id).await?;
    Ok(version)
}

/// Take one entity off a report at the next graph version (items naming it let go of it).
/// A police intelligence officer only. `NotFound` when the report has no live link to it.
pub async fn unlink<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    entity_id: Uuid,
) -> Result<i64> {
    for_change(ctx, tx, key, actor, id, "intel.unlink").await?;
    let live = tx
        .intel_links(id)
        .await?
        .into_iter()
        .any(|l| l.entity_id == entity_id && l.removed_version.is_none());
    if !live {
        return Err(Error::NotFound);
    }
    let version = tx.bump_intel_graph_version().await?;
    tx.remove_intel_link(id, entity_id, version).await?;
    for mut it in tx.intel_items(id).await? {
        if it.entity_id == Some(entity_id) {
            it.entity_id = None;
            tx.update_intel_item(&it).await?;
        }
    }
    audit_change(
        ctx,
        tx,
        key,
        actor,
        "intel.unlink",
        id,
        format!("{{\"entity\":\"{entity_id}\",\"version\":{version}}}"),
    )
    .await?;
    crate::networks::after_linking(ctx, tx, key, actor, id).await?;
    Ok(version)
}

// --- actioned and shared --------------------------------------------------------------------------

/// Mark a graded report actioned, with a police-only note of what was done (its submitter is
/// told it was actioned, nothing more).
pub async fn action<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    note: &str,
) -> Result<Report> {
    let mut r = for_change(ctx, tx, key, actor, id, "intel.action").await?;
    let note = text(
        "action_note",
        note,
        10,
        TEXT_MAX,
        "Say what police did, in at least 10 characters",
    )?;
    if !r.graded() {
        return Err(Error::Conflict(
            "Grade the report before marking it actioned".into(),
        ));
    }
    r.action_note = note;
    set_status(ctx, tx, &mut r, IntelStatus::Actioned).await?;
    tx.update_intel_report(&r).await?;
    audit_change(
        ctx,
        tx,
        key,
        actor,
        "intel.action",
        id,
        "{\"status\":\"actioned\"}".into(),
    )
    .await?;
    Ok(r)
}

/// The chronology line a shared copy writes (the sanitised text, and the conditions of a C code).
pub fn shared_summary(org: &str, r: &Report) -> String {
    let mut s = format!(
        "Intelligence shared by {org} (sanitised copy): {}",
        r.sanitised
    );
    match r.handling_code {
        Some(HandlingCode::Conditions) => s.push_str(&format!(
            " Handling code C – conditions: {}",
            r.handling_conditions
        )),
        Some(HandlingCode::Permitted) => s.push_str(" Handling code P."),
        None => {}
    }
    s
}

/// Share a graded report's sanitised copy onto each linked child's chronology, with a reason
/// (why, and under which lawful basis). Audited as a disclosure naming the organisations
/// involved with each child. Once only.
pub async fn share<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> Result<Report> {
    let mut r = for_change(ctx, tx, key, actor, id, "intel.share").await?;
    let reason = text(
        "reason",
        reason,
        10,
        TEXT_MAX,
        "Say why you are sharing it and under which lawful basis, in at least 10 characters",
    )?;
    if !r.graded() {
        return Err(Error::Conflict(
            "Grade the report and write its sanitised text before sharing it".into(),
        ));
    }
    if r.shared_at.is_some() {
        return Err(Error::Conflict(
            "The sanitised copy has already been shared".into(),
        ));
    }
    let children = tx.intel_report_children(id).await?;
    if children.is_empty() {
        return Err(Error::Conflict(
            "The report names no child: there is no record to share it onto".into(),
        ));
    }
    let now = ctx.clock.now();
    let by = org_name(tx, actor.org_id).await?;
    let summary = shared_summary(&by, &r);
    for c in &children {
        cases::chronicle(ctx, tx, actor, *c, "intelligence", r.id, summary.clone()).await?;
        let orgs = involved_orgs(tx, &[*c]).await?;
        let mut e = event(
            ctx,
            actor,
            Category::Disclosure,
            "intel.share",
            Outcome::Success,
            *c,
            "person",
        );
        e.recipient = Some(recipients(&orgs));
        e.justification = Some(reason.clone());
        e.legal_basis = Some(LEGAL_BASIS.into());
        e.detail = Some(format!(
            "{{\"report\":\"{}\",\"handling_code\":\"{}\"}}",
            r.id,
            r.handling_code.map(|h| h.as_str()).unwrap_or_default()
        ));
        tx.append(key, ctx.ids.new_id(), &e).await?;
    }
    r.shared_by = Some(actor.user_id);
    r.shared_at = Some(now);
    tx.update_intel_report(&r).await?;
    Ok(r)
}

/// The form to submit intelligence: the children the actor may name (a path child, checked
/// with a refusal recorded, and others in their scope).
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionForm {
    pub child: Option<Person>,
    pub others: Vec<Person>,
}

/// What the submission form offers. With `child`, the actor must be able to open that record
/// (refusals recorded). Audited as a consultation when it lists children.
pub async fn submission_form<R: Repos>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child: Option<Uuid>,
) -> Result<SubmissionForm> {
    let child = match child {
        Some(c) => Some(
            cases::may_on_child(ctx, tx, key, actor, c, Action::ViewRecord, "intel.form")
                .await?
                .0,
        ),
        None => None,
    };
    let others = cases::list_children(ctx, tx, key, actor, "", 100)
        .await?
        .into_iter()
        .filter(|p| child.as_ref().is_none_or(|c| c.id != p.id))
        .collect();
    Ok(SubmissionForm { child, others })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_normalised_by_kind() {
        assert_eq!(normalise(ItemKind::Vehicle, "ma19 xyz"), "MA19XYZ");
        assert_eq!(normalise(ItemKind::Vehicle, "M?19 XYZ"), "");
        assert_eq!(normalise(ItemKind::Phone, "07700 900123"), "+447700900123");
        assert_eq!(normalise(ItemKind::Phone, "0770"), "");
        assert_eq!(normalise(ItemKind::Postcode, "ss1  1aa"), "SS1 1AA");
        assert_eq!(normalise(ItemKind::Handle, " @Tee_Money "), "tee_money");
        assert_eq!(
            normalise(ItemKind::Place, "  The Parade   by the Station "),
            "the parade by the station"
        );
        assert_eq!(display_key(EntityKind::Vehicle, "MA19XYZ"), "MA19 XYZ");
    }

    #[test]
    fn a_submission_is_checked_row_by_row() {
        let now = time::macros::datetime!(2026-11-29 12:00 UTC);
        let input = SubmissionInput {
            how_known: None,
            narrative: "short".into(),
            items: vec![
                ItemInput::default(),
                ItemInput {
                    kind: Some(ItemKind::Vehicle),
                    ..Default::default()
                },
                ItemInput {
                    value: "Tee".into(),
                    latitude: Some(51.5),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let Err(Error::Validation(errs)) = check_submission(&input, now) else {
            panic!("expected errors");
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "narrative",
                "how_known",
                "item_1_value",
                "item_2_kind",
                "item_2_latitude"
            ]
        );
    }
}
