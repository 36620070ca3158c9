//! Children's records as the partnership works on them: who is involved (the legitimate
//! relationship), concerns and their triage, the chronology, break-glass access, and the views
//! over the audit log ("who has seen this record", the privacy officer's queue).
//!
//! Every service here decides with [`crate::authz::decide`] first and appends its audit event in
//! the caller's transaction. A refused read is itself recorded (`authz_denied`) and returned as a
//! value, not an error, so that the event commits.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Event, NewEvent, Outcome};
use crate::authz::{self, Action, Actor, Decision, Reason, RecordFacts, Scope};
use crate::error::{Error, FieldError, Result};
use crate::person::{self, NewPerson, Person, PersonKind, text_enum};
use crate::ports::{AuditLog, CaseRepo, IdentityRepo, MergeRepo, PersonRepo};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// Why an organisation is involved with a child: each is a legitimate relationship.
    InvolvementReason {
        RaisedConcern => "raised_concern", "Raised a concern";
        HoldsCase => "holds_case", "Holds the case";
        Referral => "referral", "Received a referral";
        PlanAction => "plan_action", "Owns a plan action";
        MaceItem => "mace_item", "Listed for a MACE meeting";
        Recorded => "recorded", "Created the record";
    }
);

text_enum!(
    /// Forms of exploitation a concern may be about.
    ExploitationType {
        Sexual => "sexual", "Child sexual exploitation";
        Criminal => "criminal", "Child criminal exploitation";
        CountyLines => "county_lines", "County lines";
        Trafficking => "trafficking", "Trafficking or modern slavery";
        Online => "online", "Online exploitation";
        Other => "other", "Other or not yet known";
    }
);

text_enum!(
    /// Signs a professional may have noticed when raising a concern: the common indicators of
    /// sexual and criminal exploitation in the regional screening tools (West Midlands, Wiltshire
    /// and Tees, Kent and Medway; see `shared/guide/domain.md` §1.6) and the Home Office's
    /// county lines guidance. The full, versioned framework is the risk assessment's.
    ConcernIndicator {
        Missing => "missing", "Going missing or staying out late";
        OlderAssociates => "older_associates", "Associating with older people or unknown adults";
        GiftsMoney => "gifts_money", "Unexplained money, gifts, clothes or phones";
        Vehicles => "vehicles", "Getting into or out of cars driven by unknown adults";
        Locations => "locations", "Seen at places of concern (hotels, stations, takeaways, parks)";
        Online => "online", "Online contact with unknown adults, or images shared";
        Substances => "substances", "Drug or alcohol use";
        Education => "education", "Missing school, exclusion or a sudden drop in attendance";
        Injuries => "injuries", "Unexplained injuries";
        SexualHealth => "sexual_health", "Sexual health concerns";
        Behaviour => "behaviour", "Sudden change in behaviour, mood or friendships";
        Weapons => "weapons", "Carrying weapons or drugs";
        TravelOutOfArea => "travel_out_of_area", "Found or travelling out of the area";
        DebtControl => "debt_control", "Owing money or being controlled by others";
    }
);

text_enum!(
    ConcernStatus {
        Submitted => "submitted", "Waiting for triage";
        Triaged => "triaged", "Triaged";
    }
);

text_enum!(
    /// What the triager decided.
    TriageDecision {
        NoFurtherAction => "no_further_action", "No further action";
        AdviceGiven => "advice_given", "Advice given";
        Monitor => "monitor", "Monitor";
        RiskAssessment => "risk_assessment", "Risk assessment needed";
        ReferCsc => "refer_csc", "Refer to children's social care";
        ReferExploitationService => "refer_exploitation_service", "Refer to the exploitation service";
        ShareWithPolice => "share_with_police", "Share with police";
    }
);

/// A concern waiting this long for triage is marked overdue: safeguarding leads are expected to
/// act on a concern the same working day, and children's social care decides on a referral
/// within one working day (Working Together 2023); 24 hours is the simple bound mace shows.
pub const TRIAGE_DUE: Duration = Duration::hours(24);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Involvement {
    pub person_id: Uuid,
    pub org_id: Uuid,
    pub reason: InvolvementReason,
    /// The lead organisation triages concerns and sees who has opened the record.
    pub is_lead: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakGlassGrant {
    pub id: Uuid,
    pub person_id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub reason: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Concern {
    pub id: Uuid,
    pub person_id: Uuid,
    pub raised_by_user: Uuid,
    pub raised_by_org: Uuid,
    pub status: ConcernStatus,
    /// When what is described happened (may be approximate: the narrative says so).
    pub observed_at: Option<OffsetDateTime>,
    pub location: String,
    pub narrative: String,
    pub exploitation_types: Vec<ExploitationType>,
    pub indicators: Vec<ConcernIndicator>,
    pub child_words: String,
    pub others_present: String,
    pub actions_taken: String,
    /// Concerns raised together about several children share this id (one concern per child).
    pub group_id: Option<Uuid>,
    /// The children's social care front door the raiser also sent it to, if any.
    pub front_door_org: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub decision: Option<TriageDecision>,
    pub rationale: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<OffsetDateTime>,
}

impl Concern {
    /// How long it has waited (or waited) for triage.
    pub fn waiting(&self, now: OffsetDateTime) -> Duration {
        self.decided_at.unwrap_or(now) - self.created_at
    }
    pub fn overdue(&self, now: OffsetDateTime) -> bool {
        self.status == ConcernStatus::Submitted && self.waiting(now) > TRIAGE_DUE
    }
}

/// One line of a child's chronology, from any module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChronologyEntry {
    pub id: Uuid,
    pub person_id: Uuid,
    /// `concern`, `triage`, … (the module that wrote it).
    pub kind: String,
    pub source_id: Uuid,
    pub org_id: Uuid,
    /// When it happened.
    pub event_at: OffsetDateTime,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
    pub summary: String,
    /// A marking on this entry alone: only viewers who pass it see the entry at all.
    pub marking: Option<authz::Marking>,
}

/// May this viewer see this chronology entry of a record they may open? A marked entry is left
/// out for everyone else (not shown as a blank, whose existence can itself be telling).
pub fn entry_visible(actor: &Actor, facts: &RecordFacts, e: &ChronologyEntry) -> bool {
    match e.marking {
        None => true,
        Some(authz::Marking::PoliceOnly) => actor.is_police(),
        Some(authz::Marking::StaffInvolved) => facts.viewer_cleared_for_restricted,
    }
}

/// Build the policy's actor from the signed-in user.
pub fn actor(
    user: &crate::identity::model::User,
    org_type: authz::OrgType,
    mfa_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Actor {
    Actor {
        user_id: user.id,
        org_id: user.org_id,
        org_type,
        roles: user.roles.clone(),
        mfa_at,
        now,
    }
}

/// The policy's actor for a signed-in user, with their organisation's type.
pub async fn load_actor<R: IdentityRepo>(
    tx: &mut R,
    user: &crate::identity::model::User,
    mfa_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<Actor> {
    let org = tx
        .get_org(user.org_id)
        .await?
        .ok_or_else(|| Error::store("a user's organisation is missing"))?;
    Ok(actor(user, org.org_type, mfa_at, now))
}

pub(crate) fn event(
    ctx: &Ctx,
    actor: &Actor,
    category: Category,
    action: &str,
    outcome: Outcome,
    target: Uuid,
    target_type: &str,
) -> NewEvent {
    NewEvent {
        actor_user: Some(actor.user_id),
        actor_org: Some(actor.org_id),
        actor_role: Some(
            actor
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        target_type: Some(target_type.into()),
        target_id: Some(target),
        ..NewEvent::new(ctx.clock.now(), category, action, outcome)
    }
}

/// An event about the actor's own activity rather than one record (a list, a queue, a review).
pub(crate) fn untargeted(ctx: &Ctx, actor: &Actor, category: Category, action: &str) -> NewEvent {
    let mut e = event(
        ctx,
        actor,
        category,
        action,
        Outcome::Success,
        actor.user_id,
        "user",
    );
    e.target_type = None;
    e.target_id = None;
    e
}

/// Record a refusal (`authz_denied`) of `action` on a target, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_refusal<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    target: Uuid,
    target_type: &str,
    detail: Option<String>,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::AuthzDenied,
        action,
        Outcome::Denied,
        target,
        target_type,
    );
    e.detail = detail;
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// Write an entry on a person's chronology: happening now, by the actor's organisation.
pub(crate) async fn chronicle<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person_id: Uuid,
    kind: &str,
    source_id: Uuid,
    summary: String,
) -> Result<()> {
    let now = ctx.clock.now();
    tx.insert_chronology(&ChronologyEntry {
        id: ctx.ids.new_id(),
        person_id,
        kind: kind.into(),
        source_id,
        org_id: actor.org_id,
        event_at: now,
        recorded_at: now,
        summary,
        marking: None,
    })
    .await
}

/// Append an alteration of a person's record, with its detail, in the caller's transaction.
pub(crate) async fn audit_alteration<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    person_id: Uuid,
    detail: String,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        action,
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(detail);
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

pub(crate) fn detail_reason(d: Decision) -> Option<String> {
    Some(format!("{{\"reason\":\"{}\"}}", d.reason.as_str()))
}

/// Record that the actor consulted the person's record for `action`, with the decision's reason.
pub(crate) async fn record_consultation<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
    person_id: Uuid,
    d: Decision,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        action,
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = detail_reason(d);
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// The outcome of asking to open a child's record.
pub enum Opened {
    Allowed {
        person: Person,
        /// Other names and identifiers on the record.
        identifiers: Vec<crate::identifiers::PersonIdentifier>,
        chronology: Vec<ChronologyEntry>,
        decision: Decision,
        facts: RecordFacts,
    },
    /// The record was merged into another, which the viewer should open instead.
    Merged { into: Uuid },
    /// Refused and recorded. `may_break_glass` says whether the break-glass route is open.
    Denied {
        reason: Reason,
        may_break_glass: bool,
    },
}

pub(crate) async fn child<R: PersonRepo>(tx: &mut R, id: Uuid) -> Result<Person> {
    match tx.get_person(id).await? {
        Some(p) if p.kind == PersonKind::Child => Ok(p),
        _ => Err(Error::NotFound),
    }
}

/// What deciding to open a record found, before anything is read.
pub enum ViewVerdict {
    Allowed,
    Merged {
        into: Uuid,
    },
    Denied {
        reason: Reason,
        may_break_glass: bool,
    },
}

/// Decide whether the actor may open a child's record, and audit it either way: the short,
/// writing half of [`open_record`]. A page that must not hold the single writer while it reads
/// (SQLite) runs this in a write transaction and then [`load_record`] in a read one.
pub async fn authorize_view<R: PersonRepo + CaseRepo + MergeRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<ViewVerdict> {
    child(tx, person_id).await?;
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    if !d.allow {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "record.view",
            person_id,
            "person",
            detail_reason(d),
        )
        .await?;
        let may_break_glass = d.reason == Reason::NoRelationship && actor.reads_case_data();
        return Ok(ViewVerdict::Denied {
            reason: d.reason,
            may_break_glass,
        });
    }
    if let Some(into) = tx.merged_into(person_id).await? {
        return Ok(ViewVerdict::Merged { into });
    }
    record_consultation(ctx, tx, key, actor, "record.view", person_id, d).await?;
    Ok(ViewVerdict::Allowed)
}

/// Read a child's record and chronology for an actor whose view [`authorize_view`] has just
/// allowed and audited. Decides again on the facts it reads (so access withdrawn in between is
/// refused) and appends nothing.
pub async fn load_record<R: PersonRepo + CaseRepo + MergeRepo>(
    ctx: &Ctx,
    tx: &mut R,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Opened> {
    let person = child(tx, person_id).await?;
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    if !d.allow {
        return Ok(Opened::Denied {
            reason: d.reason,
            may_break_glass: false,
        });
    }
    if let Some(into) = tx.merged_into(person_id).await? {
        return Ok(Opened::Merged { into });
    }
    let chronology = tx
        .list_chronology(person_id)
        .await?
        .into_iter()
        .filter(|e| entry_visible(actor, &facts, e))
        .collect();
    Ok(Opened::Allowed {
        identifiers: tx.identifiers(person_id).await?,
        person,
        chronology,
        decision: d,
        facts,
    })
}

/// Open a child's record and chronology in one transaction: decided, and audited either way.
pub async fn open_record<R: PersonRepo + CaseRepo + MergeRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Opened> {
    match authorize_view(ctx, tx, key, actor, person_id).await? {
        ViewVerdict::Allowed => load_record(ctx, tx, actor, person_id).await,
        ViewVerdict::Merged { into } => Ok(Opened::Merged { into }),
        ViewVerdict::Denied {
            reason,
            may_break_glass,
        } => Ok(Opened::Denied {
            reason,
            may_break_glass,
        }),
    }
}

/// Children the actor may see, filtered in the query by the policy's scope; `query` narrows by
/// name. Audited as a consultation (the list shows personal data).
pub async fn list_children<R: CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    query: &str,
    limit: i64,
) -> Result<Vec<Person>> {
    let query = list_query(query)?;
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(Vec::new());
    }
    let rows = tx
        .list_children(&scope, &person::fold(&query), limit)
        .await?;
    let mut e = untargeted(ctx, actor, Category::Consultation, "record.list");
    e.detail = Some(format!("{{\"results\":{}}}", rows.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(rows)
}

/// The longest start of a name the children list searches for (a name is at most 100).
pub const LIST_QUERY_MAX: usize = 100;

/// The start of a name to list children by: trimmed, at most [`LIST_QUERY_MAX`] characters
/// (longer can match no name, and is refused rather than cut short); blank lists them all.
pub fn list_query(q: &str) -> Result<String> {
    let q = q.trim();
    if q.chars().count() > LIST_QUERY_MAX {
        return Err(Error::validation("q", "Search for 100 characters or fewer"));
    }
    Ok(q.to_string())
}

/// A break-glass reason: trimmed, 20 to 2,000 characters.
pub fn break_glass_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if n < 20 {
        Err(Error::validation(
            "reason",
            "Explain why you need to open this record now, in at least 20 characters",
        ))
    } else if n > 2000 {
        Err(Error::validation(
            "reason",
            "The reason must be 2,000 characters or fewer",
        ))
    } else {
        Ok(reason)
    }
}

/// Break the glass: open a record without a relationship, for a stated reason, for
/// [`authz::BREAK_GLASS_WINDOW`]. Needs a recent second factor; alerts the record's lead
/// organisation and the privacy officers (through the audit events they review).
pub async fn break_glass<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    reason: &str,
) -> Result<std::result::Result<BreakGlassGrant, Reason>> {
    child(tx, person_id).await?;
    let reason = break_glass_reason(reason)?;
    let d = authz::decide(actor, Action::BreakGlass, None);
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    // Markings still apply: break-glass only replaces the missing relationship.
    let after = RecordFacts {
        break_glass_active: true,
        ..facts.clone()
    };
    let record = authz::decide(actor, Action::ViewRecord, Some(&after));
    if !d.allow || !record.allow {
        let refused = if d.allow { record.reason } else { d.reason };
        let mut e = event(
            ctx,
            actor,
            Category::BreakGlass,
            "record.break_glass",
            Outcome::Denied,
            person_id,
            "person",
        );
        e.justification = Some(reason.to_string());
        e.detail = Some(format!("{{\"reason\":\"{}\"}}", refused.as_str()));
        tx.append(key, ctx.ids.new_id(), &e).await?;
        return Ok(Err(refused));
    }
    let now = ctx.clock.now();
    let grant = BreakGlassGrant {
        id: ctx.ids.new_id(),
        person_id,
        user_id: actor.user_id,
        org_id: actor.org_id,
        reason: reason.to_string(),
        created_at: now,
        expires_at: now + authz::BREAK_GLASS_WINDOW,
    };
    tx.insert_break_glass(&grant).await?;
    let mut e = event(
        ctx,
        actor,
        Category::BreakGlass,
        "record.break_glass",
        Outcome::Success,
        person_id,
        "person",
    );
    e.justification = Some(reason.to_string());
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Ok(grant))
}

/// How many children the blocking step hands to the scorer at most.
const MATCH_POOL: i64 = 5_000;

/// Search before create: children across the partnership who may be the one described, best
/// first, each with its score and reasons. Open to anyone who may raise a concern; a candidate
/// shows only what identifies a child (name, date of birth, postcode district), and the search
/// is audited with its result count.
pub async fn find_children<R: PersonRepo + crate::ports::ProfileRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    probe: &crate::matching::Probe,
) -> Result<Vec<crate::matching::Candidate>> {
    check_probe(actor, probe)?;
    let (family, given, dates) = blocking_keys(probe);
    let mut pool = tx.match_pool(&family, &given, &dates, MATCH_POOL).await?;
    // Moved addresses and shared identifiers: children found by what is known of them, not only
    // by name, join the pool with what links them.
    let mut known = crate::matching::Known::default();
    if let Some((kind, value)) = &probe.identifier {
        for p in tx.children_with_identifier(*kind, value).await? {
            known.same_identifier.insert(p.id);
            pool.push(p);
        }
    }
    if let Some(pc) = &probe.postcode {
        for (p, current) in tx.children_at_postcode(pc).await? {
            if !current {
                known.lived_at_postcode.insert(p.id);
            }
            pool.push(p);
        }
    }
    pool.sort_by_key(|p| p.id);
    pool.dedup_by_key(|p| p.id);
    let found = crate::matching::rank_known(probe, pool, &known, 10);
    let mut e = untargeted(ctx, actor, Category::Consultation, "person.search");
    e.detail = Some(format!("{{\"results\":{}}}", found.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(found)
}

/// Who may search before create, and what a search needs: a name, within bounds.
pub(crate) fn check_probe(actor: &Actor, probe: &crate::matching::Probe) -> Result<()> {
    let d = authz::decide(actor, Action::RaiseConcern, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let mut errs = Vec::new();
    if probe.given_name.trim().is_empty() && probe.family_name.trim().is_empty() {
        errs.push(FieldError::new(
            "given_name",
            "Enter the first name or last name",
        ));
    }
    if probe.given_name.chars().count() > 100 || probe.family_name.chars().count() > 100 {
        errs.push(FieldError::new(
            "family_name",
            "Names must be 100 characters or fewer",
        ));
    }
    // A name searched for is held to what a recorded name may hold ([`crate::person::name_char`]):
    // anything else can find no one, and is refused rather than searched for.
    for (field, name) in [
        ("given_name", &probe.given_name),
        ("family_name", &probe.family_name),
    ] {
        if !name.trim().chars().all(crate::person::name_char) {
            errs.push(FieldError::new(
                field,
                "Names must only include letters, spaces, hyphens, apostrophes and full stops",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errs))
    }
}

/// The blocking keys of a search: the initials of each name and the date of birth with its
/// day/month swap.
pub(crate) fn blocking_keys(probe: &crate::matching::Probe) -> (String, String, Vec<time::Date>) {
    let initial = |s: &str| {
        person::fold(s)
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default()
    };
    let mut dates = Vec::new();
    if let Some(d) = probe.date_of_birth {
        dates.push(d);
        dates.extend(crate::matching::swapped(d));
    }
    (
        initial(&probe.family_name),
        initial(&probe.given_name),
        dates,
    )
}

/// May the actor add this marking to a record they can open? "Police only" by the police;
/// "staff involved" by a safeguarding lead or team manager of the record's lead organisation.
pub fn may_mark(actor: &Actor, facts: &RecordFacts, marking: authz::Marking) -> bool {
    use crate::authz::{Marking, Role};
    match marking {
        Marking::PoliceOnly => actor.is_police() && actor.reads_case_data(),
        Marking::StaffInvolved => {
            facts.org_is_lead && actor.any(&[Role::DesignatedSafeguardingLead, Role::TeamManager])
        }
    }
}

/// Add a sensitivity marking to a child's record. Whoever adds "staff involved" is cleared for
/// it, so they keep access; everyone else then needs a clearance. Audited as an alteration.
pub async fn mark_record<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    marking: authz::Marking,
) -> Result<()> {
    child(tx, person_id).await?;
    let now = ctx.clock.now();
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, now)
        .await?;
    let d = authz::decide(actor, Action::EditRecord, Some(&facts));
    if !d.allow || !may_mark(actor, &facts, marking) {
        let detail = format!("{{\"marking\":\"{}\"}}", marking.as_str());
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "record.mark",
            person_id,
            "person",
            Some(detail),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: "may not mark this record".into(),
        });
    }
    if marking == authz::Marking::StaffInvolved {
        tx.clear_for_restricted(person_id, actor.user_id, now)
            .await?;
    }
    tx.set_marking(person_id, marking, now).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "record.mark",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(format!("{{\"marking\":\"{}\"}}", marking.as_str()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// The facts of a child's record the actor may change (`Action::EditRecord`); otherwise the
/// refusal of `action` is recorded and `Forbidden` returned. `NotFound` for no such child.
pub(crate) async fn may_edit<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    action: &str,
) -> Result<RecordFacts> {
    may_on_child(ctx, tx, key, actor, person_id, Action::EditRecord, action)
        .await
        .map(|(_, facts)| facts)
}

/// The child and the facts of their record when the actor may do `decision` on it; otherwise
/// the refusal of `action` is recorded and `Forbidden` returned. `NotFound` for no such child.
pub(crate) async fn may_on_child<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    decision: Action,
    action: &str,
) -> Result<(Person, RecordFacts)> {
    let person = child(tx, person_id).await?;
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    let d = authz::decide(actor, decision, Some(&facts));
    if !d.allow {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            action,
            person_id,
            "person",
            detail_reason(d),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    Ok((person, facts))
}

/// A correction is never made by changing what was recorded: it is added as an addendum beside
/// the entry it corrects (kind `addendum`, `source_id` the corrected entry), so the chronology
/// shows both what was first written and what is now known.
pub const ADDENDUM_KIND: &str = "addendum";

/// Add a correction to one chronology entry the actor can see on a record they may change.
/// The addendum carries the entry's marking, so it is seen by exactly those who see the entry.
/// Audited as an alteration of the record.
pub async fn add_addendum<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
    entry_id: Uuid,
    text: &str,
) -> Result<ChronologyEntry> {
    let now = ctx.clock.now();
    let facts = may_edit(ctx, tx, key, actor, person_id, "chronology.addendum").await?;
    let Some(entry) =
        tx.list_chronology(person_id).await?.into_iter().find(|e| {
            e.id == entry_id && e.kind != ADDENDUM_KIND && entry_visible(actor, &facts, e)
        })
    else {
        return Err(Error::NotFound);
    };
    let text = text.trim();
    let n = text.chars().count();
    if !(10..=5_000).contains(&n) {
        return Err(Error::Validation(vec![FieldError::new(
            "text",
            "Write the correction in 10 to 5,000 characters: what was wrong and what is right",
        )]));
    }
    let addendum = ChronologyEntry {
        id: ctx.ids.new_id(),
        person_id,
        kind: ADDENDUM_KIND.into(),
        source_id: entry.id,
        org_id: actor.org_id,
        event_at: now,
        recorded_at: now,
        summary: text.to_string(),
        marking: entry.marking,
    };
    tx.insert_chronology(&addendum).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "chronology.addendum",
        Outcome::Success,
        person_id,
        "person",
    );
    e.detail = Some(format!(
        "{{\"entry\":\"{}\",\"addendum\":\"{}\"}}",
        entry.id, addendum.id
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(addendum)
}

/// What a viewer narrows a chronology to. Dates are the viewer's local calendar dates, both
/// ends included.
#[derive(Debug, Clone, Default)]
pub struct ChronologyFilter {
    /// A kind (`concern`, `triage`, `merge`…); `None` or empty for every kind.
    pub kind: Option<String>,
    pub agency: Option<Uuid>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

/// One chronology entry with the corrections added to it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronologyItem<'a> {
    pub entry: &'a ChronologyEntry,
    pub addenda: Vec<&'a ChronologyEntry>,
}

impl ChronologyFilter {
    fn matches(&self, e: &ChronologyEntry, local: &impl Fn(OffsetDateTime) -> time::Date) -> bool {
        let day = local(e.event_at);
        self.kind
            .as_deref()
            .is_none_or(|k| k.is_empty() || e.kind == k)
            && self.agency.is_none_or(|a| e.org_id == a)
            && self.from.is_none_or(|f| day >= f)
            && self.to.is_none_or(|t| day <= t)
    }

    /// The entries that pass, each with its addenda (an addendum goes wherever its entry goes,
    /// whatever its own date or agency). `local` gives an instant's calendar date.
    pub fn apply<'a>(
        &self,
        entries: &'a [ChronologyEntry],
        local: impl Fn(OffsetDateTime) -> time::Date,
    ) -> Vec<ChronologyItem<'a>> {
        let mut items: Vec<ChronologyItem<'a>> = entries
            .iter()
            .filter(|e| e.kind != ADDENDUM_KIND && self.matches(e, &local))
            .map(|entry| ChronologyItem {
                entry,
                addenda: Vec::new(),
            })
            .collect();
        for a in entries.iter().filter(|e| e.kind == ADDENDUM_KIND) {
            if let Some(item) = items.iter_mut().find(|i| i.entry.id == a.source_id) {
                item.addenda.push(a);
            }
        }
        items
    }
}

/// A concern as a professional writes it.
#[derive(Debug, Clone, Default)]
pub struct NewConcern {
    pub observed_at: Option<OffsetDateTime>,
    pub location: String,
    pub narrative: String,
    pub exploitation_types: Vec<ExploitationType>,
    pub indicators: Vec<ConcernIndicator>,
    /// Also send it to the partnership's children's social care front door.
    pub to_front_door: bool,
    pub child_words: String,
    pub others_present: String,
    pub actions_taken: String,
}

fn bounded(field: &str, label: &str, s: &str, max: usize, errs: &mut Vec<FieldError>) -> String {
    let t = s.trim();
    if t.chars().count() > max {
        errs.push(FieldError::new(
            field,
            format!("{label} must be {max} characters or fewer"),
        ));
    }
    t.to_string()
}

impl NewConcern {
    pub fn validate(&self, now: OffsetDateTime) -> Result<NewConcern> {
        let mut errs = Vec::new();
        let narrative = bounded(
            "narrative",
            "What you saw or heard",
            &self.narrative,
            20_000,
            &mut errs,
        );
        if narrative.is_empty() {
            errs.push(FieldError::new(
                "narrative",
                "Describe what you saw or heard",
            ));
        }
        if self.exploitation_types.is_empty() {
            errs.push(FieldError::new(
                "exploitation_types",
                "Select the kinds of exploitation you are worried about, or ‘Other or not yet known’",
            ));
        }
        if let Some(t) = self.observed_at
            && t > now
        {
            errs.push(FieldError::new(
                "observed_at",
                "The date it happened must be today or in the past",
            ));
        }
        let out = NewConcern {
            observed_at: self.observed_at,
            location: bounded(
                "location",
                "Where it happened",
                &self.location,
                500,
                &mut errs,
            ),
            narrative,
            exploitation_types: self.exploitation_types.clone(),
            indicators: self.indicators.clone(),
            to_front_door: self.to_front_door,
            child_words: bounded(
                "child_words",
                "The child's own words",
                &self.child_words,
                10_000,
                &mut errs,
            ),
            others_present: bounded(
                "others_present",
                "Who else was there",
                &self.others_present,
                2_000,
                &mut errs,
            ),
            actions_taken: bounded(
                "actions_taken",
                "What you have already done",
                &self.actions_taken,
                5_000,
                &mut errs,
            ),
        };
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(Error::Validation(errs))
        }
    }
}

pub(crate) async fn involve<R: CaseRepo>(
    ctx: &Ctx,
    tx: &mut R,
    person_id: Uuid,
    org_id: Uuid,
    reason: InvolvementReason,
) -> Result<()> {
    let has_lead = tx.lead_org(person_id).await?.is_some();
    tx.insert_involvement(&Involvement {
        person_id,
        org_id,
        reason,
        is_lead: !has_lead,
        created_at: ctx.clock.now(),
    })
    .await
}

/// Create a child's record (after search before create). The creator's organisation becomes
/// involved, and the lead if nobody else is.
pub async fn create_child<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    new: NewPerson,
) -> Result<Person> {
    create_person(
        ctx,
        tx,
        key,
        actor,
        NewPerson {
            kind: PersonKind::Child,
            ..new
        },
    )
    .await
}

/// Create a person's record of any kind (after search before create); a child's involves the
/// creator's organisation (the lead if nobody else is). Audited as a collection.
pub(crate) async fn create_person<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    new: NewPerson,
) -> Result<Person> {
    let d = authz::decide(actor, Action::CreatePerson, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let p = person::create(ctx, tx, new).await?;
    if p.kind == PersonKind::Child {
        involve(ctx, tx, p.id, actor.org_id, InvolvementReason::Recorded).await?;
    }
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(
            ctx,
            actor,
            Category::Collection,
            "person.create",
            Outcome::Success,
            p.id,
            "person",
        ),
    )
    .await?;
    Ok(p)
}

/// The child a concern is about, for the concern form: only someone who may raise concerns
/// sees it, and the look is audited (it shows a name and date of birth).
pub async fn concern_subject<R: PersonRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<Person> {
    let d = authz::decide(actor, Action::RaiseConcern, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let person = child(tx, person_id).await?;
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(
            ctx,
            actor,
            Category::Consultation,
            "person.summary",
            Outcome::Success,
            person_id,
            "person",
        ),
    )
    .await?;
    Ok(person)
}

/// The most children one concern may be raised about together.
pub const MAX_CHILDREN_PER_CONCERN: usize = 10;

/// The meta key holding the partnership's children's social care front door (an
/// organisation's id): concerns a raiser sends there wait in its triage queue too.
pub const FRONT_DOOR_KEY: &str = "front_door_org";

/// The partnership's children's social care front door, if one is set.
pub async fn front_door<R: crate::ports::MetaRepo>(tx: &mut R) -> Result<Option<Uuid>> {
    Ok(tx
        .get_meta(FRONT_DOOR_KEY)
        .await?
        .and_then(|v| Uuid::parse_str(&v).ok()))
}

/// Raise a concern about one or more children (one concern per child, sharing a group id when
/// there are several). The raiser's organisation becomes involved with each child; each concern
/// waits in the raiser's lead's triage queue, and in the front door's when the raiser sends it
/// there (the front door becomes involved too); each child's chronology gains an entry; the
/// raiser's draft for the first child is discarded.
pub async fn raise_concern<R: PersonRepo + CaseRepo + crate::ports::MetaRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_ids: &[Uuid],
    new: &NewConcern,
) -> Result<Vec<Concern>> {
    let d = authz::decide(actor, Action::RaiseConcern, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for id in person_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_CHILDREN_PER_CONCERN {
        return Err(Error::validation(
            "children",
            &format!("A concern is about 1 to {MAX_CHILDREN_PER_CONCERN} children"),
        ));
    }
    let mut children = Vec::with_capacity(ids.len());
    for id in &ids {
        children.push(child(tx, *id).await?);
    }
    let now = ctx.clock.now();
    let new = new.validate(now)?;
    let front_door_org = if new.to_front_door {
        match front_door(tx).await? {
            Some(org) => Some(org),
            None => {
                return Err(Error::validation(
                    "to_front_door",
                    "No children's social care front door is set up for this partnership",
                ));
            }
        }
    } else {
        None
    };
    let group_id = (children.len() > 1).then(|| ctx.ids.new_id());
    let mut raised = Vec::with_capacity(children.len());
    for person in &children {
        let concern = Concern {
            id: ctx.ids.new_id(),
            person_id: person.id,
            raised_by_user: actor.user_id,
            raised_by_org: actor.org_id,
            status: ConcernStatus::Submitted,
            observed_at: new.observed_at,
            location: new.location.clone(),
            narrative: new.narrative.clone(),
            exploitation_types: new.exploitation_types.clone(),
            indicators: new.indicators.clone(),
            child_words: new.child_words.clone(),
            others_present: new.others_present.clone(),
            actions_taken: new.actions_taken.clone(),
            group_id,
            front_door_org,
            created_at: now,
            decision: None,
            rationale: None,
            decided_by: None,
            decided_at: None,
        };
        tx.insert_concern(&concern).await?;
        involve(
            ctx,
            tx,
            person.id,
            actor.org_id,
            InvolvementReason::RaisedConcern,
        )
        .await?;
        if let Some(org) = front_door_org {
            involve(ctx, tx, person.id, org, InvolvementReason::Referral).await?;
        }
        tx.insert_chronology(&ChronologyEntry {
            id: ctx.ids.new_id(),
            person_id: person.id,
            kind: "concern".into(),
            source_id: concern.id,
            org_id: actor.org_id,
            event_at: concern.observed_at.unwrap_or(now),
            recorded_at: now,
            summary: format!(
                "Concern raised: {}{}",
                concern
                    .exploitation_types
                    .iter()
                    .map(|t| t.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                if front_door_org.is_some() {
                    " (also sent to the children's social care front door)"
                } else {
                    ""
                }
            ),
            marking: None,
        })
        .await?;
        let mut e = event(
            ctx,
            actor,
            Category::Collection,
            "concern.create",
            Outcome::Success,
            concern.id,
            "concern",
        );
        if let Some(org) = front_door_org {
            e.detail = Some(format!("{{\"front_door\":\"{org}\"}}"));
        }
        tx.append(key, ctx.ids.new_id(), &e).await?;
        raised.push(concern);
    }
    tx.delete_draft(actor.user_id, ids[0]).await?;
    Ok(raised)
}

/// May the actor triage this concern? Safeguarding leads, team managers and social workers of
/// the organisation that raised it, or of the front door it was sent to.
fn can_triage(actor: &Actor, c: &Concern) -> bool {
    (actor.org_id == c.raised_by_org || c.front_door_org == Some(actor.org_id)) && triager(actor)
}

/// Does the actor hold a role that triages concerns?
fn triager(actor: &Actor) -> bool {
    use crate::authz::Role;
    [
        Role::DesignatedSafeguardingLead,
        Role::TeamManager,
        Role::SocialWorker,
    ]
    .iter()
    .any(|r| actor.has(*r))
}

/// Who may read a concern: whoever raised it, and those who may open the child's record.
/// `None` when refused (recorded; shown as "not found", since a concern's existence is itself
/// sensitive). The flag says whether the actor may triage it.
pub async fn open_concern<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    concern_id: Uuid,
) -> Result<Option<(Concern, Person, bool)>> {
    let c = tx.get_concern(concern_id).await?.ok_or(Error::NotFound)?;
    let allowed = c.raised_by_user == actor.user_id || {
        let facts = tx
            .record_facts(c.person_id, actor.user_id, actor.org_id, ctx.clock.now())
            .await?;
        authz::decide(actor, Action::ViewRecord, Some(&facts)).allow
    };
    if !allowed {
        record_refusal(ctx, tx, key, actor, "concern.view", c.id, "concern", None).await?;
        return Ok(None);
    }
    let person = child(tx, c.person_id).await?;
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(
            ctx,
            actor,
            Category::Consultation,
            "concern.view",
            Outcome::Success,
            c.id,
            "concern",
        ),
    )
    .await?;
    let triage = can_triage(actor, &c);
    Ok(Some((c, person, triage)))
}

/// The other concerns raised together with `c` (about other children): how many there are,
/// and those the actor may see (they raised them, or may open that child's record), with the
/// child. Each child shown is audited as a look at their summary.
pub async fn concern_group<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    c: &Concern,
) -> Result<(usize, Vec<(Uuid, Person)>)> {
    let Some(group) = c.group_id else {
        return Ok((0, Vec::new()));
    };
    let others: Vec<Concern> = tx
        .concerns_in_group(group)
        .await?
        .into_iter()
        .filter(|o| o.id != c.id)
        .collect();
    let mut shown = Vec::new();
    for o in &others {
        let visible = o.raised_by_user == actor.user_id || {
            let facts = tx
                .record_facts(o.person_id, actor.user_id, actor.org_id, ctx.clock.now())
                .await?;
            authz::decide(actor, Action::ViewRecord, Some(&facts)).allow
        };
        if visible {
            let person = child(tx, o.person_id).await?;
            tx.append(
                key,
                ctx.ids.new_id(),
                &event(
                    ctx,
                    actor,
                    Category::Consultation,
                    "person.summary",
                    Outcome::Success,
                    person.id,
                    "person",
                ),
            )
            .await?;
            shown.push((o.id, person));
        }
    }
    Ok((others.len(), shown))
}

/// Record the triage decision on a submitted concern.
pub async fn triage<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    concern_id: Uuid,
    decision: Option<TriageDecision>,
    rationale: &str,
) -> Result<Concern> {
    let mut c = tx.get_concern(concern_id).await?.ok_or(Error::NotFound)?;
    if !can_triage(actor, &c) {
        record_refusal(ctx, tx, key, actor, "concern.triage", c.id, "concern", None).await?;
        return Err(Error::Forbidden {
            reason: "not a triager for the raising organisation".into(),
        });
    }
    if c.status != ConcernStatus::Submitted {
        return Err(Error::Conflict(
            "this concern has already been triaged".into(),
        ));
    }
    let mut errs = Vec::new();
    if decision.is_none() {
        errs.push(FieldError::new("decision", "Select a decision"));
    }
    let rationale = rationale.trim();
    if rationale.is_empty() {
        errs.push(FieldError::new(
            "rationale",
            "Explain the reasons for your decision",
        ));
    } else if rationale.chars().count() > 10_000 {
        errs.push(FieldError::new(
            "rationale",
            "The reasons must be 10,000 characters or fewer",
        ));
    }
    let Some(decision) = decision.filter(|_| errs.is_empty()) else {
        return Err(Error::Validation(errs));
    };
    let now = ctx.clock.now();
    c.status = ConcernStatus::Triaged;
    c.decision = Some(decision);
    c.rationale = Some(rationale.to_string());
    c.decided_by = Some(actor.user_id);
    c.decided_at = Some(now);
    tx.update_concern(&c).await?;
    tx.insert_chronology(&ChronologyEntry {
        id: ctx.ids.new_id(),
        person_id: c.person_id,
        kind: "triage".into(),
        source_id: c.id,
        org_id: actor.org_id,
        event_at: now,
        recorded_at: now,
        summary: format!("Concern triaged: {}", decision.label()),
        marking: None,
    })
    .await?;
    let mut e = event(
        ctx,
        actor,
        Category::Alteration,
        "concern.triage",
        Outcome::Success,
        c.id,
        "concern",
    );
    e.detail = Some(format!("{{\"decision\":\"{}\"}}", decision.as_str()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(c)
}

/// A concern in a list, with the child's name (lists are already scoped).
#[derive(Debug, Clone)]
pub struct ConcernRow {
    pub concern: Concern,
    pub child_name: String,
}

/// The triage queue for the actor's organisation (oldest first), if the actor triages.
pub async fn triage_queue<R: CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Option<Vec<ConcernRow>>> {
    if !triager(actor) {
        return Ok(None);
    }
    let rows = tx.concerns_for_triage(actor.org_id).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "concern.queue",
        Outcome::Success,
        actor.org_id,
        "organisation",
    );
    e.detail = Some(format!("{{\"results\":{}}}", rows.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Some(rows))
}

/// Concerns the actor raised, newest first, with their outcomes.
pub async fn my_concerns<R: CaseRepo>(tx: &mut R, actor: &Actor) -> Result<Vec<ConcernRow>> {
    tx.concerns_raised_by(actor.user_id).await
}

/// One line of "who has seen this record".
#[derive(Debug, Clone)]
pub struct AccessLine {
    pub event: Event,
    pub user_name: Option<String>,
    pub org_name: Option<String>,
}

async fn name_events<R: IdentityRepo>(tx: &mut R, events: Vec<Event>) -> Result<Vec<AccessLine>> {
    let mut users = std::collections::HashMap::new();
    let mut orgs = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let user_name = match e.body.actor_user {
            Some(id) => {
                if let std::collections::hash_map::Entry::Vacant(v) = users.entry(id) {
                    v.insert(tx.get_user(id).await?.map(|u| u.display_name));
                }
                users.get(&id).cloned().flatten()
            }
            None => None,
        };
        let org_name = match e.body.actor_org {
            Some(id) => {
                if let std::collections::hash_map::Entry::Vacant(v) = orgs.entry(id) {
                    v.insert(tx.get_org(id).await?.map(|o| o.name));
                }
                orgs.get(&id).cloned().flatten()
            }
            None => None,
        };
        out.push(AccessLine {
            event: e,
            user_name,
            org_name,
        });
    }
    Ok(out)
}

/// Who has opened (or tried to open) a child's record, newest first: for the record's lead and
/// privacy officers. Looking is itself recorded.
pub async fn who_has_seen<R: PersonRepo + CaseRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    person_id: Uuid,
) -> Result<(Person, Vec<AccessLine>)> {
    let person = child(tx, person_id).await?;
    let facts = tx
        .record_facts(person_id, actor.user_id, actor.org_id, ctx.clock.now())
        .await?;
    let d = authz::decide(actor, Action::ViewRecordAccessLog, Some(&facts));
    if !d.allow {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "record.access_log",
            person_id,
            "person",
            None,
        )
        .await?;
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let events = tx.audit_for_target(person_id, 500).await?;
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(
            ctx,
            actor,
            Category::Consultation,
            "record.access_log",
            Outcome::Success,
            person_id,
            "person",
        ),
    )
    .await?;
    Ok((person, name_events(tx, events).await?))
}

/// The privacy officer's queue: break-glass use and refused access, newest first.
pub async fn privacy_queue<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<AccessLine>> {
    let d = authz::decide(actor, Action::ViewPrivacyQueue, None);
    if !d.allow {
        return Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        });
    }
    let events = tx
        .audit_by_category(&[Category::BreakGlass, Category::AuthzDenied], 200)
        .await?;
    let e = untargeted(ctx, actor, Category::Consultation, "audit.privacy_queue");
    tx.append(key, ctx.ids.new_id(), &e).await?;
    name_events(tx, events).await
}

/// Break-glass alerts for the actor's organisation as a record lead (for its safeguarding leads
/// and managers): someone outside the relationship opened one of its children's records.
pub async fn lead_alerts<R: CaseRepo>(
    tx: &mut R,
    actor: &Actor,
    since: OffsetDateTime,
) -> Result<Vec<BreakGlassGrant>> {
    if !actor.reads_case_data() {
        return Ok(Vec::new());
    }
    tx.break_glass_on_led_records(actor.org_id, since).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn concerns_need_a_narrative_and_a_type() {
        let now = datetime!(2026-11-23 10:00 UTC);
        let Err(Error::Validation(errs)) = NewConcern::default().validate(now) else {
            panic!()
        };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["narrative", "exploitation_types"]);
        let ok = NewConcern {
            narrative: "  Seen getting into a car with an adult  ".into(),
            exploitation_types: vec![ExploitationType::Sexual],
            ..NewConcern::default()
        };
        assert_eq!(
            ok.validate(now).unwrap().narrative,
            "Seen getting into a car with an adult"
        );
        let future = NewConcern {
            observed_at: Some(now + Duration::days(1)),
            ..ok
        };
        assert!(future.validate(now).is_err());
    }

    #[test]
    fn overdue_after_a_day_waiting() {
        let t = datetime!(2026-11-23 10:00 UTC);
        let c = Concern {
            id: Uuid::nil(),
            person_id: Uuid::nil(),
            raised_by_user: Uuid::nil(),
            raised_by_org: Uuid::nil(),
            status: ConcernStatus::Submitted,
            observed_at: None,
            location: String::new(),
            narrative: "x".into(),
            exploitation_types: vec![],
            indicators: vec![],
            group_id: None,
            front_door_org: None,
            child_words: String::new(),
            others_present: String::new(),
            actions_taken: String::new(),
            created_at: t,
            decision: None,
            rationale: None,
            decided_by: None,
            decided_at: None,
        };
        assert!(!c.overdue(t + Duration::hours(23)));
        assert!(c.overdue(t + Duration::hours(25)));
    }

    fn entry(id: u128, kind: &str, org: Uuid, day: u8) -> ChronologyEntry {
        let at = time::Date::from_calendar_date(2026, time::Month::November, day)
            .unwrap()
            .with_hms(10, 0, 0)
            .unwrap()
            .assume_utc();
        ChronologyEntry {
            id: Uuid::from_u128(id),
            person_id: Uuid::nil(),
            kind: kind.into(),
            source_id: Uuid::nil(),
            org_id: org,
            event_at: at,
            recorded_at: at,
            summary: String::new(),
            marking: None,
        }
    }

    #[test]
    fn chronology_filters_by_kind_agency_and_date_and_keeps_addenda_with_their_entry() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut fix = entry(9, ADDENDUM_KIND, b, 20);
        fix.source_id = Uuid::from_u128(10);
        let all = [
            entry(10, "concern", a, 1),
            entry(11, "triage", a, 2),
            entry(12, "concern", b, 10),
            fix,
        ];
        let local = |t: OffsetDateTime| t.date();
        let ids = |f: ChronologyFilter| -> Vec<u128> {
            f.apply(&all, local)
                .iter()
                .map(|i| i.entry.id.as_u128())
                .collect()
        };
        assert_eq!(ids(ChronologyFilter::default()), vec![10, 11, 12]);
        let kind = |k: &str| ChronologyFilter {
            kind: Some(k.into()),
            ..ChronologyFilter::default()
        };
        assert_eq!(ids(kind("")), vec![10, 11, 12]);
        assert_eq!(ids(kind("concern")), vec![10, 12]);
        assert_eq!(ids(kind(ADDENDUM_KIND)), Vec::<u128>::new());
        let by_b = ChronologyFilter {
            kind: Some("concern".into()),
            agency: Some(b),
            ..ChronologyFilter::default()
        };
        assert_eq!(ids(by_b), vec![12]);
        let d = |day| time::Date::from_calendar_date(2026, time::Month::November, day).unwrap();
        let window = ChronologyFilter {
            from: Some(d(2)),
            to: Some(d(10)),
            ..ChronologyFilter::default()
        };
        assert_eq!(ids(window), vec![11, 12]);
        // The correction (by agency b, dated the 20th) goes with the entry it corrects, which
        // is by agency a on the 1st, whatever the filter says about the correction itself.
        let first = ChronologyFilter {
            agency: Some(a),
            to: Some(d(1)),
            ..ChronologyFilter::default()
        };
        let items = first.apply(&all, local);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].addenda.len(), 1);
        assert_eq!(items[0].addenda[0].id.as_u128(), 9);
    }
}
