//! The National Referral Mechanism for children who may be trafficked: first responder, submission, reasonable and conclusive grounds decisions with their deadlines, the independent child trafficking guardian, and partnership statistics.
//!
//! Practice (`shared/guide/domain.md` §5, §13.1 "NRM Referral", §13.2):
//! - only first responder organisations refer (police, local authorities and their children's
//!   social care, named charities); anyone else goes to the Modern Slavery Helpline;
//! - a child needs no consent: the child is first safeguarded, then referred;
//! - the reasonable grounds (RG) decision is expected within 5 working days of the referral
//!   ([`RG_WORKING_DAYS`], working days skip weekends and England and Wales bank holidays);
//! - the conclusive grounds (CG) decision comes no sooner than 30 calendar days after a positive
//!   RG decision (the recovery period, [`RECOVERY_PERIOD_DAYS`]) and has no target date;
//! - a negative decision may be reconsidered on request; an independent child trafficking
//!   guardian (ICTG) may be appointed.
//!
//! The online Home Office form "cannot save your progress", so [`referral_content`] gathers what
//! mace already knows about the child (details, concerns and indicators, the latest risk level,
//! a narrative drafted from the chronology) for the first responder to copy across.
//!
//! Every step is in the child's chronology (kind `nrm`) and audited; reading needs the right to
//! open the record, recording the right to change it. The partnership statistics are aggregates
//! with small numbers suppressed ([`SUPPRESS_BELOW`]).

use crate::Ctx;
use crate::assessment::{AssessmentStatus, Presence};
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, OrgType, Role, Scope};
use crate::calendar::{add_working_days, working_days_between};
use crate::cases::{self, ConcernIndicator, InvolvementReason, event};
use crate::error::{Error, Result};
use crate::identifiers::PersonIdentifier;
use crate::identity::model::Organisation;
use crate::person::{Person, text_enum};
use crate::ports::{
    AssessmentRepo, AuditLog, CaseRepo, IdentityRepo, PersonRepo, PlanRepo, ProfileRepo,
};
use crate::validate::{Errors, optional_text, required, short, today};
use serde::Serialize;
use std::future::Future;
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// Exploitation types on the referral (NRM guidance; the child form's "criminal services").
    Exploitation {
        Sexual => "sexual", "Sexual exploitation";
        Labour => "labour", "Labour exploitation";
        Criminal => "criminal", "Criminal exploitation";
        DomesticServitude => "domestic_servitude", "Domestic servitude";
        OrganHarvesting => "organ_harvesting", "Organ harvesting";
        Other => "other", "Other";
    }
);

text_enum!(
    /// Where the exploitation happened.
    WhereExploited {
        Uk => "uk", "In the UK";
        Overseas => "overseas", "Overseas";
        Both => "both", "Both in the UK and overseas";
    }
);

text_enum!(
    /// Who decides the referral.
    DecisionMaker {
        Sca => "sca", "Single Competent Authority (SCA)";
        Ieca => "ieca", "Immigration Enforcement Competent Authority (IECA)";
        DevolvedPanel => "devolved_panel", "Devolved child decision-making panel";
    }
);

text_enum!(
    /// A reasonable or conclusive grounds decision.
    Grounds {
        Positive => "positive", "Positive";
        Negative => "negative", "Negative";
    }
);

text_enum!(
    /// Which decision.
    Stage {
        Rg => "rg", "Reasonable grounds";
        Cg => "cg", "Conclusive grounds";
    }
);

text_enum!(
    /// The independent child trafficking guardian's role type.
    IctgRole {
        DirectWorker => "direct_worker", "ICTG Direct Worker";
        RegionalPracticeCoordinator => "regional_practice_coordinator", "Regional Practice Coordinator";
        RegionalPractitioner => "regional_practitioner", "Regional Practitioner";
        Post18Worker => "post_18_worker", "Post-18 Worker";
    }
);

text_enum!(
    /// What came of a reconsideration request.
    ReconsiderationOutcome {
        Pending => "pending", "Awaiting the outcome";
        Upheld => "upheld", "Original decision upheld";
        Overturned => "overturned", "Decision changed to positive";
    }
);

text_enum!(
    /// How the referral ended.
    FinalOutcome {
        ConclusiveGrounds => "conclusive_grounds", "Conclusive grounds decision made";
        NegativeReasonableGrounds => "negative_reasonable_grounds", "Negative reasonable grounds decision, not changed";
        Withdrawn => "withdrawn", "Referral withdrawn";
        Other => "other", "Other";
    }
);

/// The RG decision is expected within this many working days of the referral (domain §5.1).
pub const RG_WORKING_DAYS: u32 = 5;
/// The recovery period: no CG decision until this many calendar days after a positive RG.
pub const RECOVERY_PERIOD_DAYS: i64 = 30;
/// Aggregate counts from 1 to `SUPPRESS_BELOW - 1` are not shown (nor averages over fewer
/// values), so that a small number cannot point to a child.
pub const SUPPRESS_BELOW: i64 = 5;
/// The NRM began in 2009: no referral is dated earlier.
pub const NRM_START: Date = date!(2009 - 04 - 01);

/// When the RG decision is expected: 5 working days after the referral was submitted.
pub fn rg_due(submitted_on: Date) -> Date {
    add_working_days(submitted_on, RG_WORKING_DAYS)
}

/// The end of the recovery period after a positive RG decision: the first day a CG decision
/// may be made.
pub fn recovery_period_end(rg_on: Date) -> Date {
    rg_on + Duration::days(RECOVERY_PERIOD_DAYS)
}

/// The CG-not-before rule: a CG decision dated `cg_on` is allowed after a positive RG on
/// `rg_on` only once the recovery period has ended.
pub fn cg_allowed_on(rg_on: Date, cg_on: Date) -> bool {
    cg_on >= recovery_period_end(rg_on)
}

/// Organisations that may refer as well as the police and local authorities: the named charity
/// first responders (domain §5.1), matched on their name.
pub const NAMED_FIRST_RESPONDERS: &[&str] = &[
    "barnardo",
    "nspcc",
    "salvation army",
    "migrant help",
    "medaille trust",
    "kalayaan",
    "unseen",
    "bawso",
    "new pathways",
    "refugee council",
];

/// May this organisation make an NRM referral? Police forces, local authorities and their
/// children's social care, and voluntary or specialist services that are one of the named charity
/// first responders. Others report to the Modern Slavery Helpline.
pub fn is_first_responder(org: &Organisation) -> bool {
    match org.org_type {
        OrgType::Police | OrgType::LocalAuthority | OrgType::ChildrensSocialCare => true,
        OrgType::VoluntarySector | OrgType::SpecialistService => {
            let folded: String = org
                .name
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || c.is_whitespace())
                .collect();
            NAMED_FIRST_RESPONDERS.iter().any(|n| folded.contains(n))
        }
        OrgType::School | OrgType::Health | OrgType::Partnership => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NrmReferral {
    pub id: Uuid,
    pub person_id: Uuid,
    /// The first responder organisation that made the referral.
    pub first_responder_org_id: Uuid,
    /// The first responder: name and role, as written.
    pub first_responder_name: String,
    pub exploitation: Vec<Exploitation>,
    pub county_lines: bool,
    pub location: WhereExploited,
    pub decision_maker: DecisionMaker,
    pub submitted_on: Date,
    pub home_office_ref: String,
    /// The narrative sent (or to be sent) with the referral.
    pub narrative: String,
    pub rg_decision: Option<Grounds>,
    pub rg_decided_on: Option<Date>,
    pub cg_decision: Option<Grounds>,
    pub cg_decided_on: Option<Date>,
    pub ictg_referred_on: Option<Date>,
    pub ictg_role: Option<IctgRole>,
    pub ictg_name: String,
    pub closed_on: Option<Date>,
    pub final_outcome: Option<FinalOutcome>,
    pub close_note: String,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconsideration {
    pub id: Uuid,
    pub referral_id: Uuid,
    /// The decision asked to be reconsidered (a negative one).
    pub stage: Stage,
    pub requested_on: Date,
    /// Who asked: the first responder or a support provider involved.
    pub requested_by: String,
    pub outcome: ReconsiderationOutcome,
    pub outcome_on: Option<Date>,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Where a referral stands on a day, and what is due next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Due {
    /// Awaiting the RG decision, expected on `on` (`working_days_left` from today; 0: today).
    RgDue {
        on: Date,
        working_days_left: i64,
    },
    /// The RG decision was expected on `on` and has not been recorded.
    RgOverdue {
        on: Date,
        working_days_late: i64,
    },
    /// Positive RG: the recovery period runs until `ends` (no CG decision before).
    RecoveryPeriod {
        ends: Date,
    },
    /// Positive RG and the recovery period over: the CG decision is awaited (no target date).
    CgAwaited {
        since: Date,
    },
    /// A negative decision: a reconsideration may be requested, or the referral closed.
    Negative,
    /// A reconsideration is awaited.
    ReconsiderationPending,
    /// The CG decision is recorded: the referral can be closed.
    Concluded,
    Closed,
}

impl Due {
    pub fn is_overdue(self) -> bool {
        matches!(self, Due::RgOverdue { .. })
    }
}

impl NrmReferral {
    pub fn is_open(&self) -> bool {
        self.closed_on.is_none()
    }

    pub fn rg_due_on(&self) -> Date {
        rg_due(self.submitted_on)
    }

    /// The recovery period's end, after a positive RG decision.
    pub fn recovery_ends(&self) -> Option<Date> {
        match (self.rg_decision, self.rg_decided_on) {
            (Some(Grounds::Positive), Some(d)) => Some(recovery_period_end(d)),
            _ => None,
        }
    }

    /// Where the referral stands on `today`, given its reconsiderations.
    pub fn due(&self, today: Date, reconsiderations: &[Reconsideration]) -> Due {
        if !self.is_open() {
            return Due::Closed;
        }
        if reconsiderations
            .iter()
            .any(|q| q.outcome == ReconsiderationOutcome::Pending)
        {
            return Due::ReconsiderationPending;
        }
        match (self.rg_decision, self.cg_decision) {
            (None, _) => {
                let on = self.rg_due_on();
                if today > on {
                    Due::RgOverdue {
                        on,
                        working_days_late: working_days_between(on, today).max(1),
                    }
                } else {
                    Due::RgDue {
                        on,
                        working_days_left: working_days_between(today, on),
                    }
                }
            }
            (Some(Grounds::Negative), _) | (_, Some(Grounds::Negative)) => Due::Negative,
            (Some(Grounds::Positive), Some(Grounds::Positive)) => Due::Concluded,
            (Some(Grounds::Positive), None) => match self.recovery_ends() {
                Some(ends) if today < ends => Due::RecoveryPeriod { ends },
                Some(ends) => Due::CgAwaited { since: ends },
                None => Due::Negative,
            },
        }
    }
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait NrmRepo: Send {
    fn insert_nrm_referral(&mut self, r: &NrmReferral) -> impl Future<Output = Result<()>> + Send;
    /// Store every field that changes after the referral is recorded (decisions, ICTG,
    /// narrative, closure, `updated_at`).
    fn update_nrm_referral(&mut self, r: &NrmReferral) -> impl Future<Output = Result<()>> + Send;
    fn get_nrm_referral(
        &mut self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<NrmReferral>>> + Send;
    /// A child's referrals, newest submission first.
    fn nrm_referrals_for(
        &mut self,
        person_id: Uuid,
    ) -> impl Future<Output = Result<Vec<NrmReferral>>> + Send;
    fn insert_nrm_reconsideration(
        &mut self,
        q: &Reconsideration,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Store the outcome, its date and `updated_at`.
    fn update_nrm_reconsideration(
        &mut self,
        q: &Reconsideration,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A referral's reconsiderations, oldest first.
    fn nrm_reconsiderations(
        &mut self,
        referral_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Reconsideration>>> + Send;
    /// Open referrals of unmerged children inside `scope` (applied in SQL), each with the child,
    /// oldest submission first; at most `limit`.
    fn open_nrm_referrals(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(NrmReferral, Person)>>> + Send;
    /// Every referral in the partnership, for aggregate statistics only.
    fn all_nrm_referrals(&mut self) -> impl Future<Output = Result<Vec<NrmReferral>>> + Send;
}

// --- helpers --------------------------------------------------------------------------------------

/// A date that must be given, not before `earliest` (with its words) and not after today.
fn day_between(
    errs: &mut Errors,
    field: &str,
    value: Option<Date>,
    missing: &str,
    earliest: Option<(Date, String)>,
    today: Date,
) {
    match value {
        None => errs.push(field, missing),
        Some(d) if d > today => errs.push(field, "The date must be today or in the past"),
        Some(d) => {
            if let Some((e, words)) = earliest
                && d < e
            {
                errs.push(field, &words);
            }
        }
    }
}

fn day_words(d: Date) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())).saturating_sub(1) % 12],
        d.year()
    )
}

fn types_words(r: &NrmReferral) -> String {
    let mut t: Vec<String> = r
        .exploitation
        .iter()
        .map(|e| e.label().to_lowercase())
        .collect();
    if r.county_lines {
        t.push("county lines".into());
    }
    t.join(", ")
}

// --- reading --------------------------------------------------------------------------------------

/// A referral with its reconsiderations and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    pub referral: NrmReferral,
    /// Oldest first.
    pub reconsiderations: Vec<Reconsideration>,
    pub due: Due,
}

async fn view<R: NrmRepo>(tx: &mut R, referral: NrmReferral, today: Date) -> Result<ReferralView> {
    let reconsiderations = tx.nrm_reconsiderations(referral.id).await?;
    Ok(ReferralView {
        due: referral.due(today, &reconsiderations),
        referral,
        reconsiderations,
    })
}

/// A child's NRM referrals as a viewer who may open the record sees them.
#[derive(Debug, Clone, Serialize)]
pub struct ChildNrm {
    pub child: Person,
    /// Newest submission first.
    pub referrals: Vec<ReferralView>,
    /// The viewer may change the record: record referrals, decisions and the rest.
    pub may_edit: bool,
    /// Organisations, for names.
    pub orgs: Vec<Organisation>,
    pub today: Date,
}

impl ChildNrm {
    pub fn org_name(&self, id: Uuid) -> &str {
        self.orgs
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.as_str())
            .unwrap_or("Unknown organisation")
    }
}

/// Decide whether the actor may open the child's record for `action`; a refusal is recorded.
async fn may_view<R: PersonRepo + CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    action: &str,
) -> Result<(Person, authz::RecordFacts, authz::Decision)> {
    let (child, facts) =
        cases::may_on_child(ctx, tx, key, actor, child_id, Action::ViewRecord, action).await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    Ok((child, facts, d))
}

/// A child's NRM referrals, for a viewer who may open the record (decided, refusals recorded;
/// the read audited as a consultation).
pub async fn child_referrals<R: PersonRepo + CaseRepo + IdentityRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ChildNrm> {
    let (child, facts, d) = may_view(ctx, tx, key, actor, child_id, "nrm.view").await?;
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let day = today(ctx);
    let mut referrals = Vec::new();
    for r in tx.nrm_referrals_for(child_id).await? {
        referrals.push(view(tx, r, day).await?);
    }
    cases::record_consultation(ctx, tx, key, actor, "nrm.view", child_id, d).await?;
    Ok(ChildNrm {
        child,
        referrals,
        may_edit,
        orgs: tx.list_orgs().await?,
        today: day,
    })
}

/// One referral for a viewer who may open the child's record (audited as a consultation).
pub async fn get_referral<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
) -> Result<ReferralView> {
    let r = tx
        .get_nrm_referral(referral_id)
        .await?
        .ok_or(Error::NotFound)?;
    let child_id = r.person_id;
    let (_, _, d) = may_view(ctx, tx, key, actor, child_id, "nrm.view").await?;
    let v = view(tx, r, today(ctx)).await?;
    let mut e = event(
        ctx,
        actor,
        Category::Consultation,
        "nrm.view",
        Outcome::Success,
        child_id,
        "person",
    );
    e.detail = Some(format!(
        "{{\"reason\":\"{}\",\"referral\":\"{}\"}}",
        d.reason.as_str(),
        referral_id
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(v)
}

/// The child a referral is about (`NotFound` when there is no such referral). Reads nothing
/// personal: for routing only.
pub async fn referral_child<R: NrmRepo>(tx: &mut R, referral_id: Uuid) -> Result<Uuid> {
    Ok(tx
        .get_nrm_referral(referral_id)
        .await?
        .ok_or(Error::NotFound)?
        .person_id)
}

/// The organisations that may be named as the first responder, by name.
pub async fn first_responder_orgs<R: IdentityRepo>(tx: &mut R) -> Result<Vec<Organisation>> {
    let mut orgs: Vec<Organisation> = tx
        .list_orgs()
        .await?
        .into_iter()
        .filter(is_first_responder)
        .collect();
    orgs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(orgs)
}

// --- recording a referral -------------------------------------------------------------------------

/// A referral as recorded after it was submitted online.
#[derive(Debug, Clone, Default)]
pub struct ReferralInput {
    pub first_responder_org_id: Option<Uuid>,
    pub first_responder_name: String,
    pub exploitation: Vec<Exploitation>,
    pub county_lines: bool,
    pub location: Option<WhereExploited>,
    pub decision_maker: Option<DecisionMaker>,
    pub submitted_on: Option<Date>,
    pub home_office_ref: String,
    pub narrative: String,
}

const FIRST_RESPONDER_ONLY: &str = "Choose a first responder organisation: only the police, local authorities (including children's social care) and named charities may make an NRM referral";

/// Record an NRM referral for a child whose record the actor may change. The first responder
/// organisation must be one that may refer ([`is_first_responder`]); it becomes involved with the
/// child. No consent is asked for: a child is first safeguarded, then referred. In the
/// chronology; audited as an alteration.
pub async fn create_referral<R: PersonRepo + CaseRepo + IdentityRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &ReferralInput,
) -> Result<NrmReferral> {
    cases::may_edit(ctx, tx, key, actor, child_id, "nrm.create").await?;
    let day = today(ctx);
    let mut errs = Errors::default();
    let org = match input.first_responder_org_id {
        None => None,
        Some(id) => tx.get_org(id).await?,
    };
    match &org {
        None => errs.push(
            "first_responder_org_id",
            "Choose the first responder organisation that made the referral",
        ),
        Some(o) if !is_first_responder(o) => {
            errs.push("first_responder_org_id", FIRST_RESPONDER_ONLY)
        }
        Some(_) => {}
    }
    let name = errs.take(required(
        "first_responder_name",
        &input.first_responder_name,
        200,
        "Enter the name and role of the first responder who made the referral",
    ));
    if !name.chars().all(crate::person::name_and_role_char) {
        errs.push(
            "first_responder_name",
            "The first responder's name and role must only include letters, numbers, spaces, brackets and the marks - ' . , &",
        );
    }
    if input.exploitation.is_empty() {
        errs.push(
            "exploitation",
            "Select the types of exploitation the child may have suffered",
        );
    }
    if input.location.is_none() {
        errs.push("location", "Select where the exploitation happened");
    }
    if input.decision_maker.is_none() {
        errs.push("decision_maker", "Select who decides the referral");
    }
    day_between(
        &mut errs,
        "submitted_on",
        input.submitted_on,
        "Enter the date the referral was submitted",
        Some((
            NRM_START,
            "The date submitted must be after the NRM began in April 2009".into(),
        )),
        day,
    );
    let reference = errs.take(required(
        "home_office_ref",
        &input.home_office_ref,
        50,
        "Enter the Home Office reference given when the referral was submitted",
    ));
    if !reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | ' ' | '_'))
    {
        errs.push(
            "home_office_ref",
            "The Home Office reference must only include letters, numbers, spaces, hyphens and slashes",
        );
    }
    let narrative = errs.take(optional_text("narrative", &input.narrative, 20_000));
    errs.done()?;
    let (Some(org), Some(location), Some(decision_maker), Some(submitted_on)) = (
        org,
        input.location,
        input.decision_maker,
        input.submitted_on,
    ) else {
        return Err(Error::validation(
            "first_responder_org_id",
            "Complete the referral",
        ));
    };
    let mut exploitation = input.exploitation.clone();
    exploitation.sort_by_key(|e| Exploitation::ALL.iter().position(|x| x == e));
    exploitation.dedup();
    let now = ctx.clock.now();
    let r = NrmReferral {
        id: ctx.ids.new_id(),
        person_id: child_id,
        first_responder_org_id: org.id,
        first_responder_name: name,
        exploitation,
        county_lines: input.county_lines,
        location,
        decision_maker,
        submitted_on,
        home_office_ref: reference,
        narrative,
        rg_decision: None,
        rg_decided_on: None,
        cg_decision: None,
        cg_decided_on: None,
        ictg_referred_on: None,
        ictg_role: None,
        ictg_name: String::new(),
        closed_on: None,
        final_outcome: None,
        close_note: String::new(),
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
    };
    tx.insert_nrm_referral(&r).await?;
    cases::involve(ctx, tx, child_id, org.id, InvolvementReason::HoldsCase).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "nrm",
        r.id,
        format!(
            "NRM referral submitted on {} by {} to the {} ({}); reasonable grounds decision due by {}",
            day_words(submitted_on),
            org.name,
            decision_maker.label(),
            types_words(&r),
            day_words(r.rg_due_on()),
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.create",
        child_id,
        format!(
            "{{\"referral\":\"{}\",\"first_responder_org\":\"{}\"}}",
            r.id, org.id
        ),
    )
    .await?;
    Ok(r)
}

/// The referral and its child's record, when the actor may change it and the referral is open.
async fn editable<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    action: &str,
) -> Result<NrmReferral> {
    let r = tx
        .get_nrm_referral(referral_id)
        .await?
        .ok_or(Error::NotFound)?;
    cases::may_edit(ctx, tx, key, actor, r.person_id, action).await?;
    if !r.is_open() {
        return Err(Error::Conflict("the NRM referral is closed".into()));
    }
    Ok(r)
}

// --- decisions ------------------------------------------------------------------------------------

/// A reasonable or conclusive grounds decision as received.
#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    pub stage: Option<Stage>,
    pub decision: Option<Grounds>,
    pub decided_on: Option<Date>,
}

/// Record the RG or CG decision on an open referral. An RG decision is dated on or after the
/// submission; a CG decision needs a positive RG and is dated on or after the end of the
/// recovery period (30 calendar days after the RG decision). Each is recorded once (a changed
/// decision is a reconsideration). In the chronology; audited as an alteration.
pub async fn record_decision<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    input: &DecisionInput,
) -> Result<NrmReferral> {
    let mut r = editable(ctx, tx, key, actor, referral_id, "nrm.decision").await?;
    let day = today(ctx);
    let mut errs = Errors::default();
    if input.decision.is_none() {
        errs.push(
            "decision",
            "Select whether the decision was positive or negative",
        );
    }
    match input.stage {
        None => errs.push("stage", "Select which decision was made"),
        Some(Stage::Rg) => {
            if r.rg_decision.is_some() {
                return Err(Error::Conflict(
                    "a reasonable grounds decision is already recorded; record a reconsideration instead"
                        .into(),
                ));
            }
            day_between(
                &mut errs,
                "decided_on",
                input.decided_on,
                "Enter the date of the decision",
                Some((
                    r.submitted_on,
                    format!(
                        "The decision must be on or after the referral was submitted ({})",
                        day_words(r.submitted_on)
                    ),
                )),
                day,
            );
        }
        Some(Stage::Cg) => {
            if r.cg_decision.is_some() {
                return Err(Error::Conflict(
                    "a conclusive grounds decision is already recorded; record a reconsideration instead"
                        .into(),
                ));
            }
            match (r.rg_decision, r.rg_decided_on) {
                (Some(Grounds::Positive), Some(rg_on)) => {
                    let ends = recovery_period_end(rg_on);
                    day_between(
                        &mut errs,
                        "decided_on",
                        input.decided_on,
                        "Enter the date of the decision",
                        Some((
                            ends,
                            format!(
                                "A conclusive grounds decision cannot be made before the recovery period ends on {}",
                                day_words(ends)
                            ),
                        )),
                        day,
                    );
                }
                _ => errs.push(
                    "stage",
                    "A conclusive grounds decision needs a positive reasonable grounds decision first",
                ),
            }
        }
    }
    errs.done()?;
    let (Some(stage), Some(decision), Some(on)) = (input.stage, input.decision, input.decided_on)
    else {
        return Err(Error::validation("stage", "Complete the decision"));
    };
    match stage {
        Stage::Rg => {
            r.rg_decision = Some(decision);
            r.rg_decided_on = Some(on);
        }
        Stage::Cg => {
            r.cg_decision = Some(decision);
            r.cg_decided_on = Some(on);
        }
    }
    r.updated_at = ctx.clock.now();
    tx.update_nrm_referral(&r).await?;
    let mut summary = format!(
        "NRM {} decision: {} ({})",
        stage.label().to_lowercase(),
        decision.label().to_lowercase(),
        day_words(on)
    );
    if stage == Stage::Rg && decision == Grounds::Positive {
        summary.push_str(&format!(
            "; recovery period until {}",
            day_words(recovery_period_end(on))
        ));
    }
    cases::chronicle(ctx, tx, actor, r.person_id, "nrm", r.id, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.decision",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"stage\":\"{}\",\"decision\":\"{}\"}}",
            r.id,
            stage.as_str(),
            decision.as_str()
        ),
    )
    .await?;
    Ok(r)
}

// --- the guardian ---------------------------------------------------------------------------------

/// The referral to the independent child trafficking guardian service.
#[derive(Debug, Clone, Default)]
pub struct IctgInput {
    pub referred_on: Option<Date>,
    /// The role type, once a guardian is appointed.
    pub role: Option<IctgRole>,
    /// The guardian's name, once appointed.
    pub name: String,
}

/// Record (or update) the ICTG referral and, where appointed, the guardian's role and name. In
/// the chronology; audited as an alteration.
pub async fn record_ictg<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    input: &IctgInput,
) -> Result<NrmReferral> {
    let mut r = editable(ctx, tx, key, actor, referral_id, "nrm.ictg").await?;
    let mut errs = Errors::default();
    day_between(
        &mut errs,
        "ictg_referred_on",
        input.referred_on,
        "Enter the date of the referral to the guardian service",
        Some((
            NRM_START,
            "The date must be after the NRM began in April 2009".into(),
        )),
        today(ctx),
    );
    let name = errs.take(optional_text("ictg_name", &input.name, 200));
    if !name.is_empty() && input.role.is_none() {
        errs.push(
            "ictg_role",
            "Select the guardian's role type, or leave the name blank until one is appointed",
        );
    }
    errs.done()?;
    r.ictg_referred_on = input.referred_on;
    r.ictg_role = input.role;
    r.ictg_name = name;
    r.updated_at = ctx.clock.now();
    tx.update_nrm_referral(&r).await?;
    let summary = match r.ictg_role {
        Some(role) if !r.ictg_name.is_empty() => format!(
            "Independent child trafficking guardian: {} ({})",
            r.ictg_name,
            role.label()
        ),
        Some(role) => format!("Independent child trafficking guardian: {}", role.label()),
        None => format!(
            "Referred to the independent child trafficking guardian service ({})",
            r.ictg_referred_on.map(day_words).unwrap_or_default()
        ),
    };
    cases::chronicle(ctx, tx, actor, r.person_id, "nrm", r.id, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.ictg",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"role\":\"{}\"}}",
            r.id,
            r.ictg_role.map(IctgRole::as_str).unwrap_or("")
        ),
    )
    .await?;
    Ok(r)
}

// --- reconsideration ------------------------------------------------------------------------------

/// A request to reconsider a negative decision.
#[derive(Debug, Clone, Default)]
pub struct ReconsiderationInput {
    pub stage: Option<Stage>,
    pub requested_on: Option<Date>,
    pub requested_by: String,
    /// `None` is pending.
    pub outcome: Option<ReconsiderationOutcome>,
    pub outcome_on: Option<Date>,
}

fn negative_on(r: &NrmReferral, stage: Stage) -> Option<Date> {
    match stage {
        Stage::Rg if r.rg_decision == Some(Grounds::Negative) => r.rg_decided_on,
        Stage::Cg if r.cg_decision == Some(Grounds::Negative) => r.cg_decided_on,
        _ => None,
    }
}

/// A decided reconsideration changes the referral: an overturned decision becomes positive
/// from the outcome's date (so a positive RG starts the recovery period then).
fn apply_outcome(r: &mut NrmReferral, q: &Reconsideration) {
    if q.outcome != ReconsiderationOutcome::Overturned {
        return;
    }
    match q.stage {
        Stage::Rg => {
            r.rg_decision = Some(Grounds::Positive);
            r.rg_decided_on = q.outcome_on;
        }
        Stage::Cg => {
            r.cg_decision = Some(Grounds::Positive);
            r.cg_decided_on = q.outcome_on;
        }
    }
}

fn check_outcome(
    errs: &mut Errors,
    outcome: ReconsiderationOutcome,
    outcome_on: Option<Date>,
    requested_on: Option<Date>,
    today: Date,
) {
    if outcome == ReconsiderationOutcome::Pending {
        return;
    }
    day_between(
        errs,
        "outcome_on",
        outcome_on,
        "Enter the date of the outcome",
        requested_on.map(|d| (d, "The outcome must be on or after the request".to_string())),
        today,
    );
}

fn reconsideration_summary(q: &Reconsideration) -> String {
    match q.outcome {
        ReconsiderationOutcome::Pending => format!(
            "Reconsideration of the NRM {} decision requested by {} ({})",
            q.stage.label().to_lowercase(),
            q.requested_by,
            day_words(q.requested_on)
        ),
        o => format!(
            "Reconsideration of the NRM {} decision: {} ({})",
            q.stage.label().to_lowercase(),
            o.label().to_lowercase(),
            q.outcome_on.map(day_words).unwrap_or_default()
        ),
    }
}

/// Record a request to reconsider a negative RG or CG decision, with its outcome if known. An
/// overturned decision becomes positive from the outcome's date. In the chronology; audited as
/// an alteration.
pub async fn add_reconsideration<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    input: &ReconsiderationInput,
) -> Result<Reconsideration> {
    let mut r = editable(ctx, tx, key, actor, referral_id, "nrm.reconsideration").await?;
    let day = today(ctx);
    let mut errs = Errors::default();
    let decided = match input.stage {
        None => {
            errs.push("stage", "Select which decision is to be reconsidered");
            None
        }
        Some(s) => match negative_on(&r, s) {
            None => {
                errs.push(
                    "stage",
                    "Only a negative decision that has been recorded can be reconsidered",
                );
                None
            }
            Some(d) => Some(d),
        },
    };
    day_between(
        &mut errs,
        "requested_on",
        input.requested_on,
        "Enter the date reconsideration was requested",
        decided.map(|d| {
            (
                d,
                format!(
                    "The request must be on or after the decision ({})",
                    day_words(d)
                ),
            )
        }),
        day,
    );
    let by = errs.take(required(
        "requested_by",
        &input.requested_by,
        200,
        "Enter who requested the reconsideration (the first responder or a support provider involved)",
    ));
    let outcome = input.outcome.unwrap_or(ReconsiderationOutcome::Pending);
    check_outcome(
        &mut errs,
        outcome,
        input.outcome_on,
        input.requested_on,
        day,
    );
    if tx
        .nrm_reconsiderations(r.id)
        .await?
        .iter()
        .any(|q| q.outcome == ReconsiderationOutcome::Pending && Some(q.stage) == input.stage)
    {
        return Err(Error::Conflict(
            "a reconsideration of this decision is already awaited".into(),
        ));
    }
    errs.done()?;
    let (Some(stage), Some(requested_on)) = (input.stage, input.requested_on) else {
        return Err(Error::validation("stage", "Complete the request"));
    };
    let now = ctx.clock.now();
    let q = Reconsideration {
        id: ctx.ids.new_id(),
        referral_id: r.id,
        stage,
        requested_on,
        requested_by: by,
        outcome,
        outcome_on: if outcome == ReconsiderationOutcome::Pending {
            None
        } else {
            input.outcome_on
        },
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
    };
    tx.insert_nrm_reconsideration(&q).await?;
    if q.outcome == ReconsiderationOutcome::Overturned {
        apply_outcome(&mut r, &q);
        r.updated_at = now;
        tx.update_nrm_referral(&r).await?;
    }
    cases::chronicle(
        ctx,
        tx,
        actor,
        r.person_id,
        "nrm",
        r.id,
        reconsideration_summary(&q),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.reconsideration",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"reconsideration\":\"{}\",\"stage\":\"{}\",\"outcome\":\"{}\"}}",
            r.id,
            q.id,
            stage.as_str(),
            outcome.as_str()
        ),
    )
    .await?;
    Ok(q)
}

/// Record the outcome of an awaited reconsideration. In the chronology; audited as an
/// alteration.
#[allow(clippy::too_many_arguments)]
pub async fn reconsideration_outcome<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    reconsideration_id: Uuid,
    outcome: Option<ReconsiderationOutcome>,
    outcome_on: Option<Date>,
) -> Result<Reconsideration> {
    let mut r = editable(
        ctx,
        tx,
        key,
        actor,
        referral_id,
        "nrm.reconsideration.outcome",
    )
    .await?;
    let mut q = tx
        .nrm_reconsiderations(r.id)
        .await?
        .into_iter()
        .find(|q| q.id == reconsideration_id)
        .ok_or(Error::NotFound)?;
    if q.outcome != ReconsiderationOutcome::Pending {
        return Err(Error::Conflict(
            "the reconsideration's outcome is already recorded".into(),
        ));
    }
    let mut errs = Errors::default();
    match outcome {
        None | Some(ReconsiderationOutcome::Pending) => {
            errs.push("outcome", "Select the outcome of the reconsideration")
        }
        Some(o) => check_outcome(&mut errs, o, outcome_on, Some(q.requested_on), today(ctx)),
    }
    errs.done()?;
    let Some(outcome) = outcome else {
        return Err(Error::validation("outcome", "Select the outcome"));
    };
    let now = ctx.clock.now();
    q.outcome = outcome;
    q.outcome_on = outcome_on;
    q.updated_at = now;
    tx.update_nrm_reconsideration(&q).await?;
    if q.outcome == ReconsiderationOutcome::Overturned {
        apply_outcome(&mut r, &q);
        r.updated_at = now;
        tx.update_nrm_referral(&r).await?;
    }
    cases::chronicle(
        ctx,
        tx,
        actor,
        r.person_id,
        "nrm",
        r.id,
        reconsideration_summary(&q),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.reconsideration.outcome",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"reconsideration\":\"{}\",\"outcome\":\"{}\"}}",
            r.id,
            q.id,
            outcome.as_str()
        ),
    )
    .await?;
    Ok(q)
}

// --- narrative and closure ------------------------------------------------------------------------

/// Save the referral's narrative (edited from the gathered content). Audited as an alteration;
/// the chronology notes that it changed, not what it says.
pub async fn save_narrative<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    narrative: &str,
) -> Result<NrmReferral> {
    let mut r = editable(ctx, tx, key, actor, referral_id, "nrm.narrative").await?;
    r.narrative = required(
        "narrative",
        narrative,
        20_000,
        "Enter the narrative, or go back without saving",
    )?;
    r.updated_at = ctx.clock.now();
    tx.update_nrm_referral(&r).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        r.person_id,
        "nrm",
        r.id,
        "NRM referral narrative updated".into(),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.narrative",
        r.person_id,
        format!("{{\"referral\":\"{}\"}}", r.id),
    )
    .await?;
    Ok(r)
}

/// How the referral ended.
#[derive(Debug, Clone, Default)]
pub struct CloseInput {
    pub closed_on: Option<Date>,
    pub outcome: Option<FinalOutcome>,
    pub note: String,
}

/// Close a referral with its final outcome. "Conclusive grounds decision made" needs the CG
/// decision recorded; "negative reasonable grounds" a negative RG with no reconsideration
/// awaited; "other" a note. It stays on the record. In the chronology; audited.
pub async fn close_referral<R: PersonRepo + CaseRepo + NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    referral_id: Uuid,
    input: &CloseInput,
) -> Result<NrmReferral> {
    let mut r = editable(ctx, tx, key, actor, referral_id, "nrm.close").await?;
    let pending = tx
        .nrm_reconsiderations(r.id)
        .await?
        .iter()
        .any(|q| q.outcome == ReconsiderationOutcome::Pending);
    let mut errs = Errors::default();
    day_between(
        &mut errs,
        "closed_on",
        input.closed_on,
        "Enter the date the referral ended",
        Some((
            r.submitted_on,
            "The date must be on or after the referral was submitted".into(),
        )),
        today(ctx),
    );
    let note = errs.take(optional_text("close_note", &input.note, 2_000));
    match input.outcome {
        None => errs.push("outcome", "Select the final outcome"),
        Some(FinalOutcome::ConclusiveGrounds) if r.cg_decision.is_none() => errs.push(
            "outcome",
            "Record the conclusive grounds decision before closing with it",
        ),
        Some(FinalOutcome::NegativeReasonableGrounds)
            if r.rg_decision != Some(Grounds::Negative) || pending =>
        {
            errs.push(
                "outcome",
                "This needs a negative reasonable grounds decision with no reconsideration awaited",
            )
        }
        Some(FinalOutcome::Other) if note.is_empty() => {
            errs.push("close_note", "Say how the referral ended")
        }
        _ => {}
    }
    errs.done()?;
    let (Some(closed_on), Some(outcome)) = (input.closed_on, input.outcome) else {
        return Err(Error::validation("outcome", "Select the final outcome"));
    };
    r.closed_on = Some(closed_on);
    r.final_outcome = Some(outcome);
    r.close_note = note;
    r.updated_at = ctx.clock.now();
    tx.update_nrm_referral(&r).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        r.person_id,
        "nrm",
        r.id,
        format!(
            "NRM referral closed: {}{}",
            outcome.label().to_lowercase(),
            if r.close_note.is_empty() {
                String::new()
            } else {
                format!(". {}", short(&r.close_note, 300))
            }
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "nrm.close",
        r.person_id,
        format!(
            "{{\"referral\":\"{}\",\"outcome\":\"{}\"}}",
            r.id,
            outcome.as_str()
        ),
    )
    .await?;
    Ok(r)
}

// --- gathering the referral's content -------------------------------------------------------------

/// A concern recorded about the child, as the referral needs it.
#[derive(Debug, Clone, Serialize)]
pub struct ConcernSummary {
    pub raised_at: OffsetDateTime,
    pub org_name: String,
    pub types: Vec<cases::ExploitationType>,
    pub indicators: Vec<ConcernIndicator>,
    pub location: String,
    pub narrative: String,
    pub child_words: String,
}

/// The latest risk level and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct RiskSummary {
    pub level: String,
    /// "Risk assessment signed off on …" or "Risk management plan agreed on …".
    pub source: String,
    pub on: Date,
}

/// What mace knows that the online referral asks for, for the first responder to copy across.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralContent {
    pub child: Person,
    pub age: Option<i32>,
    pub identifiers: Vec<PersonIdentifier>,
    /// The current address, as one line.
    pub address: Option<String>,
    pub school: Option<String>,
    /// Oldest first.
    pub concerns: Vec<ConcernSummary>,
    /// Indicators present in the latest signed-off risk assessment (labels).
    pub assessment_indicators: Vec<String>,
    pub risk: Option<RiskSummary>,
    /// A narrative drafted from the chronology, oldest first, to check and edit.
    pub narrative_draft: String,
    /// The referral whose narrative this may be saved into (when asked for one of the child's).
    pub referral: Option<NrmReferral>,
    pub may_edit: bool,
}

/// Gather the referral's content from the child's record: a read of personal data, decided on
/// the record and audited as a consultation (`nrm.content`). Entries the viewer may not see
/// (markings) stay out. With `referral_id`, the referral (of this child) is returned too.
#[allow(clippy::too_many_lines)]
pub async fn referral_content<
    R: PersonRepo
        + CaseRepo
        + IdentityRepo
        + ProfileRepo
        + AssessmentRepo
        + PlanRepo
        + NrmRepo
        + AuditLog,
>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    referral_id: Option<Uuid>,
) -> Result<ReferralContent> {
    let (child, facts, d) = may_view(ctx, tx, key, actor, child_id, "nrm.content").await?;
    let referral = match referral_id {
        None => None,
        Some(rid) => match tx.get_nrm_referral(rid).await? {
            Some(r) if r.person_id == child_id => Some(r),
            _ => return Err(Error::NotFound),
        },
    };
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let day = today(ctx);
    let orgs = tx.list_orgs().await?;
    let org_name = |id: Uuid| {
        orgs.iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| "Unknown organisation".into())
    };
    let chronology: Vec<cases::ChronologyEntry> = tx
        .list_chronology(child_id)
        .await?
        .into_iter()
        .filter(|e| cases::entry_visible(actor, &facts, e))
        .collect();
    // The concerns whose chronology entries the viewer may see, read in one query.
    let visible: std::collections::HashSet<Uuid> = chronology
        .iter()
        .filter(|e| e.kind == "concern")
        .map(|e| e.source_id)
        .collect();
    let concerns: Vec<ConcernSummary> = tx
        .concerns_of(child_id)
        .await?
        .into_iter()
        .filter(|c| visible.contains(&c.id))
        .map(|c| ConcernSummary {
            raised_at: c.created_at,
            org_name: org_name(c.raised_by_org),
            types: c.exploitation_types,
            indicators: c.indicators,
            location: c.location,
            narrative: c.narrative,
            child_words: c.child_words,
        })
        .collect();
    // The latest risk level: the newest signed-off assessment or plan, whichever is later.
    let signed_off = tx
        .assessments_for(child_id)
        .await?
        .into_iter()
        .filter(|a| a.status == AssessmentStatus::SignedOff)
        .max_by_key(|a| a.signed_off_at.unwrap_or(a.created_at));
    let mut assessment_indicators = Vec::new();
    let mut risk: Option<RiskSummary> = None;
    if let Some(a) = &signed_off {
        let at = a.signed_off_at.unwrap_or(a.created_at).date();
        risk = Some(RiskSummary {
            level: a.judged_level.label().to_string(),
            source: format!("Risk assessment signed off on {}", day_words(at)),
            on: at,
        });
        if let Some(f) = tx.get_framework(a.framework_id).await? {
            for ans in a.answers.iter().filter(|x| x.presence == Presence::Present) {
                if let Some(i) = f.indicators.iter().find(|i| i.code == ans.code) {
                    assessment_indicators.push(i.label.clone());
                }
            }
        }
    }
    if let Some(p) = tx.plans_for(child_id).await?.into_iter().next()
        && risk.as_ref().is_none_or(|r| p.agreed_on > r.on)
    {
        risk = Some(RiskSummary {
            level: p.risk_level.label().to_string(),
            source: format!("Risk management plan agreed on {}", day_words(p.agreed_on)),
            on: p.agreed_on,
        });
    }
    let address = tx
        .addresses(child_id)
        .await?
        .into_iter()
        .find(|a| a.is_current)
        .map(|a| {
            [
                a.line1,
                a.line2,
                a.town,
                a.postcode.map(|p| p.to_string()).unwrap_or_default(),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
        });
    let school = tx
        .schools(child_id)
        .await?
        .into_iter()
        .next()
        .filter(|s| s.is_current)
        .map(|s| s.school_name);
    let mut draft = String::from(
        "Drafted from the chronology in mace. Check it, add what the child has said and what \
         was seen, and remove anything not needed before copying it into the referral.\n\n",
    );
    for e in &chronology {
        draft.push_str(&format!(
            "{}: {} ({})\n",
            day_words(e.event_at.date()),
            e.summary,
            org_name(e.org_id)
        ));
    }
    for c in &concerns {
        if !c.narrative.is_empty() {
            draft.push_str(&format!(
                "\nConcern raised by {} on {}: {}\n",
                c.org_name,
                day_words(c.raised_at.date()),
                c.narrative
            ));
        }
    }
    let identifiers = tx.identifiers(child_id).await?;
    cases::record_consultation(ctx, tx, key, actor, "nrm.content", child_id, d).await?;
    Ok(ReferralContent {
        age: child.age_on(day),
        child,
        identifiers,
        address,
        school,
        concerns,
        assessment_indicators,
        risk,
        narrative_draft: draft,
        referral,
        may_edit,
    })
}

// --- the lead's list ------------------------------------------------------------------------------

/// One line of the open referrals list.
#[derive(Debug, Clone, Serialize)]
pub struct OpenLine {
    pub referral: NrmReferral,
    pub child: Person,
    pub due: Due,
}

/// Open referrals of children inside the actor's scope (applied in SQL), with what is due:
/// overdue RG decisions first, then by the RG due date. Audited as a consultation.
pub async fn open_referrals<R: NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<OpenLine>> {
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(Vec::new());
    }
    let day = today(ctx);
    let mut lines = Vec::new();
    for (referral, child) in tx.open_nrm_referrals(&scope, 500).await? {
        let qs = tx.nrm_reconsiderations(referral.id).await?;
        lines.push(OpenLine {
            due: referral.due(day, &qs),
            referral,
            child,
        });
    }
    lines.sort_by_key(|l| (!l.due.is_overdue(), l.referral.rg_due_on(), l.referral.id));
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "nrm.list");
    e.detail = Some(format!("{{\"results\":{}}}", lines.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(lines)
}

// --- statistics -----------------------------------------------------------------------------------

/// An aggregate count: `None` when it is from 1 to 4 (suppressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Figure(pub Option<i64>);

impl Figure {
    pub fn of(n: i64) -> Self {
        if n > 0 && n < SUPPRESS_BELOW {
            Figure(None)
        } else {
            Figure(Some(n))
        }
    }
}

/// Days between two events: `None` values when fewer than [`SUPPRESS_BELOW`] referrals have both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub count: Figure,
    pub median: Option<f64>,
    pub mean: Option<f64>,
}

impl Interval {
    fn of(mut days: Vec<i64>) -> Self {
        let n = i64::try_from(days.len()).unwrap_or(i64::MAX);
        if n < SUPPRESS_BELOW {
            return Interval {
                count: Figure::of(n),
                median: None,
                mean: None,
            };
        }
        days.sort_unstable();
        let mid = days.len() / 2;
        #[allow(clippy::cast_precision_loss)]
        let median = if days.len().is_multiple_of(2) {
            (days[mid - 1] + days[mid]) as f64 / 2.0
        } else {
            days[mid] as f64
        };
        #[allow(clippy::cast_precision_loss)]
        let mean = days.iter().sum::<i64>() as f64 / days.len() as f64;
        Interval {
            count: Figure::of(n),
            median: Some(median),
            mean: Some((mean * 10.0).round() / 10.0),
        }
    }
}

/// The partnership's NRM figures: aggregates only, no child, referral or person named.
#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    /// The year of submission the figures are for; `None` for all years.
    pub year: Option<i32>,
    /// Years with referrals, newest first.
    pub years: Vec<i32>,
    pub referrals: Figure,
    pub open: Figure,
    pub rg_positive: Figure,
    pub rg_negative: Figure,
    pub cg_positive: Figure,
    pub cg_negative: Figure,
    /// Open referrals whose RG decision is past its due date today.
    pub rg_overdue: Figure,
    pub county_lines: Figure,
    pub by_exploitation: Vec<(Exploitation, Figure)>,
    pub submission_to_rg: Interval,
    pub rg_to_cg: Interval,
}

/// May the actor see the partnership statistics? Partnership managers and analysts.
pub fn may_see_statistics(actor: &Actor) -> bool {
    actor.any(&[Role::PartnershipManager, Role::Analyst])
}

/// Aggregate the referrals (pure, for [`statistics`]).
pub fn aggregate(all: &[NrmReferral], year: Option<i32>, today: Date) -> Statistics {
    let mut years: Vec<i32> = all.iter().map(|r| r.submitted_on.year()).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    let rs: Vec<&NrmReferral> = all
        .iter()
        .filter(|r| year.is_none_or(|y| r.submitted_on.year() == y))
        .collect();
    let count = |f: &dyn Fn(&NrmReferral) -> bool| {
        Figure::of(i64::try_from(rs.iter().filter(|r| f(r)).count()).unwrap_or(i64::MAX))
    };
    let to_rg = rs
        .iter()
        .filter_map(|r| r.rg_decided_on.map(|d| (d - r.submitted_on).whole_days()))
        .collect();
    let to_cg = rs
        .iter()
        .filter_map(|r| match (r.rg_decided_on, r.cg_decided_on) {
            (Some(a), Some(b)) => Some((b - a).whole_days()),
            _ => None,
        })
        .collect();
    Statistics {
        year,
        years,
        referrals: count(&|_| true),
        open: count(&|r| r.is_open()),
        rg_positive: count(&|r| r.rg_decision == Some(Grounds::Positive)),
        rg_negative: count(&|r| r.rg_decision == Some(Grounds::Negative)),
        cg_positive: count(&|r| r.cg_decision == Some(Grounds::Positive)),
        cg_negative: count(&|r| r.cg_decision == Some(Grounds::Negative)),
        rg_overdue: count(&|r| r.is_open() && r.rg_decision.is_none() && today > r.rg_due_on()),
        county_lines: count(&|r| r.county_lines),
        by_exploitation: Exploitation::ALL
            .iter()
            .map(|e| (*e, count(&|r| r.exploitation.contains(e))))
            .collect(),
        submission_to_rg: Interval::of(to_rg),
        rg_to_cg: Interval::of(to_cg),
    }
}

/// The partnership's NRM statistics for partnership managers and analysts (others are refused
/// and the refusal recorded). Aggregates only, small counts suppressed. Audited.
pub async fn statistics<R: NrmRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    year: Option<i32>,
) -> Result<Statistics> {
    if !may_see_statistics(actor) {
        let mut e = cases::untargeted(ctx, actor, Category::AuthzDenied, "nrm.statistics");
        e.outcome = Outcome::Denied;
        e.detail = Some("{\"reason\":\"not_permitted_for_role\"}".into());
        tx.append(key, ctx.ids.new_id(), &e).await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    }
    let all = tx.all_nrm_referrals().await?;
    let stats = aggregate(&all, year, today(ctx));
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "nrm.statistics");
    e.detail = Some(match year {
        Some(y) => format!("{{\"year\":{y}}}"),
        None => "{}".into(),
    });
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{is_bank_holiday, is_working_day};

    #[test]
    fn working_days_skip_weekends() {
        // Monday 5 January 2026: Tue, Wed, Thu, Fri, then Monday 12th.
        assert_eq!(rg_due(date!(2026 - 01 - 05)), date!(2026 - 01 - 12));
        // Friday 9 January: Mon 12 to Fri 16.
        assert_eq!(rg_due(date!(2026 - 01 - 09)), date!(2026 - 01 - 16));
        // Submitted on a Saturday: the next five working days.
        assert_eq!(rg_due(date!(2026 - 01 - 10)), date!(2026 - 01 - 16));
        assert!(!is_working_day(date!(2026 - 01 - 10)));
        assert!(is_working_day(date!(2026 - 01 - 12)));
        assert_eq!(
            add_working_days(date!(2026 - 01 - 05), 0),
            date!(2026 - 01 - 05)
        );
    }

    #[test]
    fn working_days_skip_bank_holidays() {
        // Easter 2026: Good Friday 3 April and Easter Monday 6 April.
        assert_eq!(rg_due(date!(2026 - 04 - 01)), date!(2026 - 04 - 10));
        // Christmas 2026 (Boxing Day's substitute on Monday 28th) and New Year 2027.
        assert_eq!(rg_due(date!(2026 - 12 - 23)), date!(2027 - 01 - 04));
        // Christmas 2027: both substitutes, 27 and 28 December.
        assert_eq!(rg_due(date!(2027 - 12 - 22)), date!(2027 - 12 - 31));
        // Early May 2025.
        assert_eq!(rg_due(date!(2025 - 05 - 02)), date!(2025 - 05 - 12));
        assert!(is_bank_holiday(date!(2026 - 08 - 31)));
        assert!(!is_working_day(date!(2027 - 03 - 29)));
        assert!(is_working_day(date!(2027 - 03 - 30)));
    }

    #[test]
    fn working_days_between_counts_after_from_up_to_to() {
        assert_eq!(
            working_days_between(date!(2026 - 01 - 12), date!(2026 - 01 - 13)),
            1
        );
        assert_eq!(
            working_days_between(date!(2026 - 01 - 09), date!(2026 - 01 - 12)),
            1
        );
        assert_eq!(
            working_days_between(date!(2026 - 04 - 02), date!(2026 - 04 - 07)),
            1
        );
        assert_eq!(
            working_days_between(date!(2026 - 01 - 13), date!(2026 - 01 - 12)),
            0
        );
    }

    #[test]
    fn the_cg_decision_waits_for_the_recovery_period() {
        let rg = date!(2026 - 01 - 12);
        assert_eq!(recovery_period_end(rg), date!(2026 - 02 - 11));
        assert!(!cg_allowed_on(rg, date!(2026 - 02 - 10)));
        assert!(cg_allowed_on(rg, date!(2026 - 02 - 11)));
        assert!(cg_allowed_on(rg, date!(2026 - 06 - 01)));
    }

    fn referral() -> NrmReferral {
        NrmReferral {
            id: Uuid::from_u128(1),
            person_id: Uuid::from_u128(2),
            first_responder_org_id: Uuid::from_u128(3),
            first_responder_name: "A social worker".into(),
            exploitation: vec![Exploitation::Criminal],
            county_lines: true,
            location: WhereExploited::Uk,
            decision_maker: DecisionMaker::Sca,
            submitted_on: date!(2026 - 01 - 05),
            home_office_ref: "NRM-1".into(),
            narrative: String::new(),
            rg_decision: None,
            rg_decided_on: None,
            cg_decision: None,
            cg_decided_on: None,
            ictg_referred_on: None,
            ictg_role: None,
            ictg_name: String::new(),
            closed_on: None,
            final_outcome: None,
            close_note: String::new(),
            org_id: Uuid::from_u128(3),
            created_by: Uuid::from_u128(4),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn where_a_referral_stands() {
        let mut r = referral();
        assert_eq!(
            r.due(date!(2026 - 01 - 05), &[]),
            Due::RgDue {
                on: date!(2026 - 01 - 12),
                working_days_left: 5
            }
        );
        assert_eq!(
            r.due(date!(2026 - 01 - 12), &[]),
            Due::RgDue {
                on: date!(2026 - 01 - 12),
                working_days_left: 0
            }
        );
        assert_eq!(
            r.due(date!(2026 - 01 - 13), &[]),
            Due::RgOverdue {
                on: date!(2026 - 01 - 12),
                working_days_late: 1
            }
        );
        r.rg_decision = Some(Grounds::Positive);
        r.rg_decided_on = Some(date!(2026 - 01 - 09));
        assert_eq!(
            r.due(date!(2026 - 01 - 13), &[]),
            Due::RecoveryPeriod {
                ends: date!(2026 - 02 - 08)
            }
        );
        assert_eq!(
            r.due(date!(2026 - 02 - 08), &[]),
            Due::CgAwaited {
                since: date!(2026 - 02 - 08)
            }
        );
        r.cg_decision = Some(Grounds::Positive);
        assert_eq!(r.due(date!(2026 - 03 - 01), &[]), Due::Concluded);
        r.closed_on = Some(date!(2026 - 03 - 01));
        assert_eq!(r.due(date!(2026 - 03 - 01), &[]), Due::Closed);
        let mut n = referral();
        n.rg_decision = Some(Grounds::Negative);
        n.rg_decided_on = Some(date!(2026 - 01 - 09));
        assert_eq!(n.due(date!(2026 - 01 - 13), &[]), Due::Negative);
        let q = Reconsideration {
            id: Uuid::from_u128(9),
            referral_id: n.id,
            stage: Stage::Rg,
            requested_on: date!(2026 - 01 - 12),
            requested_by: "The social worker".into(),
            outcome: ReconsiderationOutcome::Overturned,
            outcome_on: Some(date!(2026 - 01 - 20)),
            org_id: Uuid::from_u128(3),
            created_by: Uuid::from_u128(4),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        let mut pending = q.clone();
        pending.outcome = ReconsiderationOutcome::Pending;
        assert_eq!(
            n.due(date!(2026 - 01 - 13), std::slice::from_ref(&pending)),
            Due::ReconsiderationPending
        );
        apply_outcome(&mut n, &q);
        assert_eq!(n.rg_decision, Some(Grounds::Positive));
        assert_eq!(n.recovery_ends(), Some(date!(2026 - 02 - 19)));
    }

    fn org(name: &str, t: OrgType) -> Organisation {
        Organisation {
            id: Uuid::from_u128(7),
            name: name.into(),
            org_type: t,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn only_first_responders_may_refer() {
        assert!(is_first_responder(&org("Estuary Police", OrgType::Police)));
        assert!(is_first_responder(&org(
            "Estuary Children's Social Care",
            OrgType::ChildrensSocialCare
        )));
        assert!(is_first_responder(&org(
            "Estuary Council",
            OrgType::LocalAuthority
        )));
        assert!(is_first_responder(&org(
            "Barnardo's Estuary",
            OrgType::VoluntarySector
        )));
        assert!(is_first_responder(&org(
            "NSPCC Child Trafficking Advice Centre",
            OrgType::SpecialistService
        )));
        assert!(!is_first_responder(&org(
            "Estuary Exploitation Service",
            OrgType::SpecialistService
        )));
        assert!(!is_first_responder(&org(
            "Riverside Academy",
            OrgType::School
        )));
        assert!(!is_first_responder(&org(
            "Estuary NHS Trust",
            OrgType::Health
        )));
        assert!(!is_first_responder(&org(
            "Barnardo's school",
            OrgType::School
        )));
    }

    #[test]
    fn statistics_suppress_small_counts_and_average_days() {
        let mut all = Vec::new();
        for i in 0..6u8 {
            let mut r = referral();
            r.id = Uuid::from_u128(u128::from(i) + 10);
            r.submitted_on = date!(2026 - 01 - 05);
            r.rg_decision = Some(Grounds::Positive);
            r.rg_decided_on = Some(r.submitted_on + Duration::days(i64::from(i) + 2));
            r.county_lines = i < 4;
            all.push(r);
        }
        let mut old = referral();
        old.submitted_on = date!(2025 - 06 - 02);
        all.push(old);
        let s = aggregate(&all, None, date!(2026 - 03 - 01));
        assert_eq!(s.referrals, Figure(Some(7)));
        assert_eq!(s.rg_positive, Figure(Some(6)));
        assert_eq!(s.rg_negative, Figure(Some(0)), "zero is shown");
        assert_eq!(s.county_lines, Figure(Some(5)), "five and over shown");
        assert_eq!(s.rg_overdue, Figure(None), "one overdue: suppressed");
        assert_eq!(s.years, vec![2026, 2025]);
        // 2, 3, 4, 5, 6, 7 days: median 4.5, mean 4.5.
        assert_eq!(s.submission_to_rg.median, Some(4.5));
        assert_eq!(s.submission_to_rg.mean, Some(4.5));
        assert_eq!(s.rg_to_cg.median, None, "no CG decisions");
        let y = aggregate(&all, Some(2025), date!(2026 - 03 - 01));
        assert_eq!(y.referrals, Figure(None));
        assert_eq!(
            y.by_exploitation
                .iter()
                .find(|(e, _)| *e == Exploitation::Criminal)
                .map(|(_, f)| *f),
            Some(Figure(None))
        );
        assert_eq!(Figure::of(0), Figure(Some(0)));
        assert_eq!(Figure::of(4), Figure(None));
        assert_eq!(Figure::of(5), Figure(Some(5)));
    }

    #[test]
    fn codes_round_trip() {
        for e in Exploitation::ALL {
            assert_eq!(Exploitation::parse(e.as_str()), Some(*e));
        }
        for r in IctgRole::ALL {
            assert_eq!(IctgRole::parse(r.as_str()), Some(*r));
        }
        for o in FinalOutcome::ALL {
            assert_eq!(FinalOutcome::parse(o.as_str()), Some(*o));
        }
    }
}
