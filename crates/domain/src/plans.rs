//! The multi-agency risk management plan (issue 5, item 4): what the agencies around a child
//! agree to do, in the four sections of the SET CSE Risk Management Plan (support for the child;
//! work with parents and carers; evidence gathering; disruption of exploiters and locations;
//! `shared/guide/domain.md` §2.1, §2.3), with a lead professional, a review date, and the Merton
//! danger statement and safety goal (§2.2). Plan meetings and reviews are recorded on the plan;
//! closing it needs a reason.
//!
//! A child has at most one open plan; closed plans stay readable. Anyone who may change the
//! child's record agrees the plan and adds actions, meetings and reviews. An action's owning
//! organisation becomes involved with the child (so its people can open the record), sees the
//! action in their work list, and updates its status and outcome; so does the plan's lead agency.
//! Every change is audited in its transaction and the child's chronology shows the plan agreed,
//! each action agreed and finished, meetings, reviews and closure.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{self, Action, Actor, Scope};
use crate::cases::{self, InvolvementReason, event, record_refusal};
use crate::error::{Error, Result};
use crate::identity::model::{Organisation, User, UserStatus};
use crate::person::{Person, text_enum};
use crate::ports::{AuditLog, CaseRepo, IdentityRepo, PersonRepo, PlanRepo};
use crate::validate::{Errors, optional_text, short, text, today};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

text_enum!(
    /// The risk level the plan was agreed at.
    RiskLevel {
        High => "high", "High";
        Medium => "medium", "Medium";
        Low => "low", "Low";
        NotAssessed => "not_assessed", "Not assessed";
    }
);

text_enum!(
    /// The four sections of the plan (SET CSE Risk Management Plan).
    PlanSection {
        Child => "child", "Support for the child";
        ParentsCarers => "parents_carers", "Work with parents and carers";
        Evidence => "evidence", "Evidence gathering";
        Disruption => "disruption", "Disruption of exploiters and locations";
    }
);

text_enum!(
    ActionStatus {
        NotStarted => "not_started", "Not started";
        InProgress => "in_progress", "In progress";
        Done => "done", "Done";
        NotGoingAhead => "not_going_ahead", "Not going ahead";
    }
);

text_enum!(
    /// What a plan review decided.
    ReviewDecision {
        Continue => "continue", "Continue the plan";
        StepUp => "step_up", "Step up";
        StepDown => "step_down", "Step down";
        Close => "close", "Close the plan";
    }
);

impl ActionStatus {
    /// Still to be done (shown first, and overdue once past its date).
    pub fn is_open(self) -> bool {
        matches!(self, Self::NotStarted | Self::InProgress)
    }
}

/// A plan review is "due" this many days before its date (the work list's horizon).
pub const REVIEW_DUE_WITHIN_DAYS: i64 = 14;
/// Reviews at most three months apart (Leicester; Liverpool 12 weeks; domain guide §13.2): the
/// latest next review date accepted, counted from the plan's agreement or review.
pub const MAX_REVIEW_INTERVAL_DAYS: i64 = 92;
/// A closing reason's shortest length.
pub const CLOSE_REASON_MIN: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub id: Uuid,
    pub person_id: Uuid,
    pub risk_level: RiskLevel,
    /// The signed-off assessment the level came from, when linked.
    pub assessment_id: Option<Uuid>,
    pub lead_user_id: Uuid,
    pub lead_org_id: Uuid,
    pub agreed_on: Date,
    pub next_review_on: Date,
    /// The harm suffered and likely if nothing changes (optional; Merton).
    pub danger_statement: String,
    /// What the network must see (optional; Merton).
    pub safety_goal: String,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub closed_by: Option<Uuid>,
    pub close_reason: Option<String>,
}

impl Plan {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// Where the plan's review stands on `today`.
    pub fn review_state(&self, today: Date) -> ReviewState {
        if !self.is_open() {
            return ReviewState::Closed;
        }
        let days = (self.next_review_on - today).whole_days();
        if days < 0 {
            ReviewState::Overdue(-days)
        } else if days <= REVIEW_DUE_WITHIN_DAYS {
            ReviewState::Due(days)
        } else {
            ReviewState::Scheduled
        }
    }
}

/// Where a plan's review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReviewState {
    Closed,
    /// Not due within [`REVIEW_DUE_WITHIN_DAYS`].
    Scheduled,
    /// Due in this many days (0: today).
    Due(i64),
    /// Overdue by this many days.
    Overdue(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanAction {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub section: PlanSection,
    pub description: String,
    pub owner_org_id: Uuid,
    /// A named person of the owning organisation; `None` leaves it to the organisation.
    pub owner_user_id: Option<Uuid>,
    pub due_on: Date,
    pub status: ActionStatus,
    /// What came of it (required once done or not going ahead).
    pub outcome: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

impl PlanAction {
    pub fn overdue(&self, today: Date) -> bool {
        self.status.is_open() && self.due_on < today
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanMeeting {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub held_on: Date,
    /// Who attended, as written.
    pub attendees: String,
    /// The organisations represented.
    pub attendee_orgs: Vec<Uuid>,
    pub decisions: String,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanReview {
    pub id: Uuid,
    pub plan_id: Uuid,
    pub reviewed_on: Date,
    /// What changed since the plan was agreed or last reviewed.
    pub changes: String,
    pub decision: ReviewDecision,
    /// `None` when the review closed the plan.
    pub next_review_on: Option<Date>,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// A plan with everything recorded on it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub plan: Plan,
    /// By section, then due date.
    pub actions: Vec<PlanAction>,
    /// Newest first.
    pub meetings: Vec<PlanMeeting>,
    /// Newest first.
    pub reviews: Vec<PlanReview>,
    pub review_state: ReviewState,
}

/// A child's plans as a viewer who may open the record sees them.
#[derive(Debug, Clone, Serialize)]
pub struct ChildPlans {
    pub child: Person,
    /// The open plan (the newest, if a merge left two).
    pub current: Option<PlanView>,
    /// Closed plans and any other open one, newest first.
    pub earlier: Vec<PlanView>,
    /// The viewer may change the record: agree a plan, add actions, meetings, reviews.
    pub may_edit: bool,
    /// Organisations and users named on the plans, for display.
    pub orgs: Vec<Organisation>,
    pub users: Vec<UserRef>,
    pub today: Date,
}

/// A user as plans name them: lead professionals and action owners.
#[derive(Debug, Clone, Serialize)]
pub struct UserRef {
    pub id: Uuid,
    pub name: String,
    pub org_id: Uuid,
    /// Active and able to open children's records: may lead a plan or own an action by name.
    pub may_hold: bool,
}

impl From<User> for UserRef {
    fn from(u: User) -> Self {
        Self {
            may_hold: u.status == UserStatus::Active && u.roles.iter().any(|r| r.reads_case_data()),
            id: u.id,
            name: u.display_name,
            org_id: u.org_id,
        }
    }
}

impl ChildPlans {
    pub fn org_name(&self, id: Uuid) -> &str {
        self.orgs
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.as_str())
            .unwrap_or("Unknown organisation")
    }

    pub fn user_name(&self, id: Uuid) -> &str {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.as_str())
            .unwrap_or("Unknown person")
    }

    /// May the viewer change this action's status and outcome?
    pub fn may_update(&self, actor: &Actor, plan: &Plan, a: &PlanAction) -> bool {
        self.may_edit && plan.is_open() && may_update_action(actor, plan, a)
    }
}

/// An action's owner organisation, or the plan's lead professional or lead agency.
pub fn may_update_action(actor: &Actor, plan: &Plan, a: &PlanAction) -> bool {
    actor.org_id == a.owner_org_id
        || actor.org_id == plan.lead_org_id
        || actor.user_id == plan.lead_user_id
}

/// One line of "my actions".
#[derive(Debug, Clone, Serialize)]
pub struct ActionLine {
    pub action: PlanAction,
    pub child: Person,
    pub overdue: bool,
}

/// One line of "plan reviews due and overdue".
#[derive(Debug, Clone, Serialize)]
pub struct ReviewLine {
    pub plan: Plan,
    pub child: Person,
    pub state: ReviewState,
}

/// The child's open plan (the newest open one), or `NotFound`.
async fn open_plan_of<R: PlanRepo>(tx: &mut R, child_id: Uuid) -> Result<Plan> {
    tx.plans_for(child_id)
        .await?
        .into_iter()
        .find(Plan::is_open)
        .ok_or(Error::NotFound)
}

async fn active_user_of<R: IdentityRepo>(
    tx: &mut R,
    field: &str,
    user_id: Uuid,
    org_id: Option<Uuid>,
    message: &str,
) -> Result<User> {
    match tx.get_user(user_id).await? {
        Some(u) if UserRef::from(u.clone()).may_hold && org_id.is_none_or(|o| o == u.org_id) => {
            Ok(u)
        }
        _ => Err(Error::validation(field, message)),
    }
}

// --- reading --------------------------------------------------------------------------------------

async fn view<R: PlanRepo>(tx: &mut R, plan: Plan, today: Date) -> Result<PlanView> {
    let mut actions = tx.plan_actions(plan.id).await?;
    actions.sort_by_key(|a| {
        (
            PlanSection::ALL
                .iter()
                .position(|s| *s == a.section)
                .unwrap_or(0),
            a.due_on,
            a.created_at,
        )
    });
    let mut meetings = tx.plan_meetings(plan.id).await?;
    meetings.reverse();
    let mut reviews = tx.plan_reviews(plan.id).await?;
    reviews.reverse();
    Ok(PlanView {
        review_state: plan.review_state(today),
        plan,
        actions,
        meetings,
        reviews,
    })
}

/// A child's plans, for a viewer who may open the record (decided, refusals recorded; the read
/// audited as a consultation).
pub async fn child_plans<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
) -> Result<ChildPlans> {
    let (child, facts) = cases::may_on_child(
        ctx,
        tx,
        key,
        actor,
        child_id,
        Action::ViewRecord,
        "plan.view",
    )
    .await?;
    let d = authz::decide(actor, Action::ViewRecord, Some(&facts));
    let may_edit = authz::decide(actor, Action::EditRecord, Some(&facts)).allow;
    let day = today(ctx);
    let mut current = None;
    let mut earlier = Vec::new();
    for p in tx.plans_for(child_id).await? {
        let v = view(tx, p, day).await?;
        if current.is_none() && v.plan.is_open() {
            current = Some(v);
        } else {
            earlier.push(v);
        }
    }
    cases::record_consultation(ctx, tx, key, actor, "plan.view", child_id, d).await?;
    let users = tx
        .list_users(None)
        .await?
        .into_iter()
        .map(UserRef::from)
        .collect();
    Ok(ChildPlans {
        child,
        current,
        earlier,
        may_edit,
        orgs: tx.list_orgs().await?,
        users,
        today: day,
    })
}

// --- agreeing a plan ------------------------------------------------------------------------------

/// A plan as agreed.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub risk_level: Option<RiskLevel>,
    /// The lead professional; their organisation is the lead agency.
    pub lead_user_id: Option<Uuid>,
    pub agreed_on: Option<Date>,
    pub next_review_on: Option<Date>,
    pub danger_statement: String,
    pub safety_goal: String,
}

fn review_date(
    errs: &mut Errors,
    field: &str,
    next: Option<Date>,
    from: Option<Date>,
    from_words: &str,
) {
    match (next, from) {
        (None, _) => errs.push(field, "Enter the date of the next review"),
        (Some(n), Some(f)) if n <= f => errs.push(
            field,
            &format!("The next review must be after {from_words}"),
        ),
        (Some(n), Some(f)) if (n - f).whole_days() > MAX_REVIEW_INTERVAL_DAYS => errs.push(
            field,
            &format!("The next review must be within 3 months of {from_words}"),
        ),
        _ => {}
    }
}

/// Agree a plan for a child whose record the actor may change. A child has one open plan at a
/// time. The lead professional's organisation becomes involved with the child. In the
/// chronology; audited as an alteration.
pub async fn create_plan<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &PlanInput,
) -> Result<Plan> {
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.create").await?;
    if tx.plans_for(child_id).await?.iter().any(Plan::is_open) {
        return Err(Error::Conflict(
            "this child already has an open plan".into(),
        ));
    }
    let mut errs = Errors::default();
    if input.risk_level.is_none() {
        errs.push("risk_level", "Select the risk level the plan was agreed at");
    }
    let lead = match input.lead_user_id {
        None => {
            errs.push("lead_user_id", "Choose the lead professional");
            None
        }
        Some(id) => errs.take(
            active_user_of(
                tx,
                "lead_user_id",
                id,
                None,
                "Choose the lead professional from the list",
            )
            .await
            .map(Some),
        ),
    };
    match input.agreed_on {
        None => errs.push("agreed_on", "Enter the date the plan was agreed"),
        Some(d) if d > today(ctx) => {
            errs.push("agreed_on", "The date agreed must be today or in the past")
        }
        _ => {}
    }
    review_date(
        &mut errs,
        "next_review_on",
        input.next_review_on,
        input.agreed_on,
        "the date the plan was agreed",
    );
    let danger = errs.take(optional_text(
        "danger_statement",
        &input.danger_statement,
        2_000,
    ));
    let goal = errs.take(optional_text("safety_goal", &input.safety_goal, 2_000));
    errs.done()?;
    let (Some(risk_level), Some(lead), Some(agreed_on), Some(next_review_on)) = (
        input.risk_level,
        lead,
        input.agreed_on,
        input.next_review_on,
    ) else {
        return Err(Error::validation("risk_level", "Complete the plan"));
    };
    let plan = Plan {
        id: ctx.ids.new_id(),
        person_id: child_id,
        risk_level,
        assessment_id: None,
        lead_user_id: lead.id,
        lead_org_id: lead.org_id,
        agreed_on,
        next_review_on,
        danger_statement: danger,
        safety_goal: goal,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: ctx.clock.now(),
        closed_at: None,
        closed_by: None,
        close_reason: None,
    };
    tx.insert_plan(&plan).await?;
    cases::involve(ctx, tx, child_id, lead.org_id, InvolvementReason::HoldsCase).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "plan",
        plan.id,
        format!(
            "Risk management plan agreed (risk level: {}); lead professional {}",
            risk_level.label(),
            lead.display_name
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.create",
        child_id,
        format!(
            "{{\"plan\":\"{}\",\"risk_level\":\"{}\"}}",
            plan.id,
            risk_level.as_str()
        ),
    )
    .await?;
    Ok(plan)
}

// --- actions --------------------------------------------------------------------------------------

/// An action as agreed.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub section: Option<PlanSection>,
    pub description: String,
    pub owner_org_id: Option<Uuid>,
    /// A named person of the owning organisation (optional).
    pub owner_user_id: Option<Uuid>,
    pub due_on: Option<Date>,
}

/// Add an action to the child's open plan. The owning organisation becomes involved with the
/// child (a plan action is a legitimate relationship), so its people can open the record and
/// see the action in their work list. In the chronology; audited as an alteration.
pub async fn add_action<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &ActionInput,
) -> Result<PlanAction> {
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.action.add").await?;
    let plan = open_plan_of(tx, child_id).await?;
    let mut errs = Errors::default();
    if input.section.is_none() {
        errs.push("section", "Select the section of the plan");
    }
    let description = errs.take(text(
        "description",
        &input.description,
        1,
        1_000,
        "Describe the action",
    ));
    let owner = match input.owner_org_id {
        None => None,
        Some(id) => tx.get_org(id).await?,
    };
    if owner.is_none() {
        errs.push(
            "owner_org_id",
            "Choose the organisation that owns the action",
        );
    }
    if let (Some(uid), Some(o)) = (input.owner_user_id, owner.as_ref()) {
        errs.take(
            active_user_of(
                tx,
                "owner_user_id",
                uid,
                Some(o.id),
                "The named person must work for the owning organisation and be able to open children's records",
            )
            .await
            .map(|_| ()),
        );
    }
    if input.due_on.is_none() {
        errs.push("due_on", "Enter the date the action is due");
    }
    errs.done()?;
    let (Some(section), Some(owner), Some(due_on)) = (input.section, owner, input.due_on) else {
        return Err(Error::validation("section", "Complete the action"));
    };
    let now = ctx.clock.now();
    let action = PlanAction {
        id: ctx.ids.new_id(),
        plan_id: plan.id,
        section,
        description,
        owner_org_id: owner.id,
        owner_user_id: input.owner_user_id,
        due_on,
        status: ActionStatus::NotStarted,
        outcome: String::new(),
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    tx.insert_plan_action(&action).await?;
    cases::involve(ctx, tx, child_id, owner.id, InvolvementReason::PlanAction).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "plan_action",
        action.id,
        format!(
            "Plan action agreed for {} ({}): {}",
            owner.name,
            section.label().to_lowercase(),
            short(&action.description, 200)
        ),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.action.add",
        child_id,
        format!(
            "{{\"plan\":\"{}\",\"action\":\"{}\",\"owner_org\":\"{}\"}}",
            plan.id, action.id, owner.id
        ),
    )
    .await?;
    Ok(action)
}

/// The action and the child it is for.
pub async fn action_child<R: PlanRepo>(tx: &mut R, action_id: Uuid) -> Result<(PlanAction, Plan)> {
    let a = tx
        .get_plan_action(action_id)
        .await?
        .ok_or(Error::NotFound)?;
    let p = tx.get_plan(a.plan_id).await?.ok_or(Error::NotFound)?;
    Ok((a, p))
}

/// Update an action's status and outcome: by its owning organisation (or the plan's lead
/// professional or agency), on an open plan of a record they may change. An outcome is
/// required when it is done or not going ahead. Finishing it is in the chronology; audited as
/// an alteration, refusals recorded.
pub async fn update_action<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action_id: Uuid,
    status: Option<ActionStatus>,
    outcome: &str,
) -> Result<PlanAction> {
    let (mut action, plan) = action_child(tx, action_id).await?;
    let child_id = plan.person_id;
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.action.update").await?;
    if !may_update_action(actor, &plan, &action) {
        record_refusal(
            ctx,
            tx,
            key,
            actor,
            "plan.action.update",
            child_id,
            "person",
            Some(format!(
                "{{\"reason\":\"not_action_owner\",\"action\":\"{}\"}}",
                action.id
            )),
        )
        .await?;
        return Err(Error::Forbidden {
            reason: "not_action_owner".into(),
        });
    }
    if !plan.is_open() {
        return Err(Error::Conflict("the plan is closed".into()));
    }
    let status =
        status.ok_or_else(|| Error::validation("status", "Select where the action has got to"))?;
    let outcome = if status.is_open() {
        optional_text("outcome", outcome, 2_000)?
    } else {
        text(
            "outcome",
            outcome,
            1,
            2_000,
            "Say what came of the action, or why it is not going ahead",
        )?
    };
    let now = ctx.clock.now();
    let finished_now = action.status.is_open() && !status.is_open();
    action.status = status;
    action.outcome = outcome;
    action.updated_at = now;
    action.completed_at = if status.is_open() {
        None
    } else {
        action.completed_at.or(Some(now))
    };
    tx.update_plan_action(&action).await?;
    if finished_now {
        let org = tx
            .get_org(action.owner_org_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let word = if status == ActionStatus::Done {
            "done"
        } else {
            "not going ahead"
        };
        cases::chronicle(
            ctx,
            tx,
            actor,
            child_id,
            "plan_action",
            action.id,
            format!(
                "Plan action {word} ({org}): {}. Outcome: {}",
                short(&action.description, 120),
                short(&action.outcome, 300)
            ),
        )
        .await?;
    }
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.action.update",
        child_id,
        format!(
            "{{\"action\":\"{}\",\"status\":\"{}\"}}",
            action.id,
            status.as_str()
        ),
    )
    .await?;
    Ok(action)
}

// --- meetings and reviews -------------------------------------------------------------------------

/// A plan meeting as recorded.
#[derive(Debug, Clone, Default)]
pub struct MeetingInput {
    pub held_on: Option<Date>,
    pub attendees: String,
    pub attendee_orgs: Vec<Uuid>,
    pub decisions: String,
}

/// Record a meeting about the child's open plan. In the chronology; audited as an alteration.
pub async fn add_meeting<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &MeetingInput,
) -> Result<PlanMeeting> {
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.meeting.add").await?;
    let plan = open_plan_of(tx, child_id).await?;
    let mut errs = Errors::default();
    match input.held_on {
        None => errs.push("held_on", "Enter the date of the meeting"),
        Some(d) if d > today(ctx) => errs.push(
            "held_on",
            "The date of the meeting must be today or in the past",
        ),
        _ => {}
    }
    let attendees = errs.take(text(
        "attendees",
        &input.attendees,
        1,
        2_000,
        "Say who attended",
    ));
    let decisions = errs.take(text(
        "decisions",
        &input.decisions,
        1,
        5_000,
        "Record what the meeting decided",
    ));
    let known: Vec<Uuid> = tx.list_orgs().await?.iter().map(|o| o.id).collect();
    if input.attendee_orgs.iter().any(|o| !known.contains(o)) {
        errs.push("attendee_orgs", "Choose organisations from the list");
    }
    errs.done()?;
    let Some(held_on) = input.held_on else {
        return Err(Error::validation(
            "held_on",
            "Enter the date of the meeting",
        ));
    };
    let mut orgs = input.attendee_orgs.clone();
    orgs.sort();
    orgs.dedup();
    let m = PlanMeeting {
        id: ctx.ids.new_id(),
        plan_id: plan.id,
        held_on,
        attendees,
        attendee_orgs: orgs,
        decisions,
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: ctx.clock.now(),
    };
    tx.insert_plan_meeting(&m).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "plan_meeting",
        m.id,
        format!("Plan meeting: {}", short(&m.decisions, 200)),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.meeting.add",
        child_id,
        format!("{{\"plan\":\"{}\",\"meeting\":\"{}\"}}", plan.id, m.id),
    )
    .await?;
    Ok(m)
}

/// A plan review as recorded.
#[derive(Debug, Clone, Default)]
pub struct ReviewInput {
    pub reviewed_on: Option<Date>,
    pub changes: String,
    pub decision: Option<ReviewDecision>,
    /// Required unless the review closes the plan.
    pub next_review_on: Option<Date>,
}

/// Review the child's open plan: what changed and the decision. A review that closes the plan
/// needs what changed written as the reason (at least [`CLOSE_REASON_MIN`] characters); any
/// other sets the next review date. In the chronology; audited as an alteration.
pub async fn add_review<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    input: &ReviewInput,
) -> Result<PlanReview> {
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.review.add").await?;
    let mut plan = open_plan_of(tx, child_id).await?;
    let mut errs = Errors::default();
    match input.reviewed_on {
        None => errs.push("reviewed_on", "Enter the date of the review"),
        Some(d) if d > today(ctx) => errs.push(
            "reviewed_on",
            "The date of the review must be today or in the past",
        ),
        _ => {}
    }
    let closing = input.decision == Some(ReviewDecision::Close);
    let changes = errs.take(text(
        "changes",
        &input.changes,
        if closing { CLOSE_REASON_MIN } else { 1 },
        5_000,
        if closing {
            "Say why the plan can close, in at least 10 characters"
        } else {
            "Say what has changed since the plan was agreed or last reviewed"
        },
    ));
    match input.decision {
        None => errs.push("decision", "Select the review's decision"),
        Some(ReviewDecision::Close) => {}
        Some(_) => review_date(
            &mut errs,
            "next_review_on",
            input.next_review_on,
            input.reviewed_on,
            "the review",
        ),
    }
    errs.done()?;
    let (Some(reviewed_on), Some(decision)) = (input.reviewed_on, input.decision) else {
        return Err(Error::validation("decision", "Complete the review"));
    };
    let now = ctx.clock.now();
    let r = PlanReview {
        id: ctx.ids.new_id(),
        plan_id: plan.id,
        reviewed_on,
        changes,
        decision,
        next_review_on: if closing { None } else { input.next_review_on },
        org_id: actor.org_id,
        created_by: actor.user_id,
        created_at: now,
    };
    tx.insert_plan_review(&r).await?;
    if closing {
        plan.closed_at = Some(now);
        plan.closed_by = Some(actor.user_id);
        plan.close_reason = Some(r.changes.clone());
    } else if let Some(next) = r.next_review_on {
        plan.next_review_on = next;
    }
    tx.update_plan(&plan).await?;
    let summary = match r.next_review_on {
        Some(next) => format!(
            "Plan reviewed: {}. Next review {}",
            decision.label().to_lowercase(),
            next
        ),
        None => format!("Plan reviewed and closed: {}", short(&r.changes, 200)),
    };
    cases::chronicle(ctx, tx, actor, child_id, "plan_review", r.id, summary).await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.review.add",
        child_id,
        format!(
            "{{\"plan\":\"{}\",\"review\":\"{}\",\"decision\":\"{}\"}}",
            plan.id,
            r.id,
            decision.as_str()
        ),
    )
    .await?;
    Ok(r)
}

/// Close the child's open plan, for a reason of at least [`CLOSE_REASON_MIN`] characters. It
/// stays readable. In the chronology; audited as an alteration.
pub async fn close_plan<R: PersonRepo + CaseRepo + PlanRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    reason: &str,
) -> Result<Plan> {
    cases::may_edit(ctx, tx, key, actor, child_id, "plan.close").await?;
    let mut plan = open_plan_of(tx, child_id).await?;
    let reason = text(
        "reason",
        reason,
        CLOSE_REASON_MIN,
        2_000,
        "Say why the plan is closing, in at least 10 characters",
    )?;
    plan.closed_at = Some(ctx.clock.now());
    plan.closed_by = Some(actor.user_id);
    plan.close_reason = Some(reason.clone());
    tx.update_plan(&plan).await?;
    cases::chronicle(
        ctx,
        tx,
        actor,
        child_id,
        "plan",
        plan.id,
        format!("Risk management plan closed: {}", short(&reason, 300)),
    )
    .await?;
    cases::audit_alteration(
        ctx,
        tx,
        key,
        actor,
        "plan.close",
        child_id,
        format!("{{\"plan\":\"{}\"}}", plan.id),
    )
    .await?;
    Ok(plan)
}

/// Record that the actor took the child's plan away as a document (the PDF): audited as an
/// export, after [`child_plans`] has decided and recorded the read.
pub async fn record_export<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    child_id: Uuid,
    plan_id: Uuid,
) -> Result<()> {
    let mut e = event(
        ctx,
        actor,
        Category::Export,
        "plan.pdf",
        Outcome::Success,
        child_id,
        "person",
    );
    e.detail = Some(format!("{{\"plan\":\"{plan_id}\"}}"));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

// --- work lists -----------------------------------------------------------------------------------

/// "My actions": actions owned by the actor, and by the actor's organisation with no named
/// person, on children inside the actor's scope (applied in the query); open ones first by due
/// date, overdue marked. Audited as a consultation.
pub async fn my_actions<R: PlanRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<ActionLine>> {
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(Vec::new());
    }
    let day = today(ctx);
    let rows = tx
        .actions_for_owner(&scope, actor.user_id, actor.org_id, 500)
        .await?;
    let lines: Vec<ActionLine> = rows
        .into_iter()
        .map(|(action, child)| ActionLine {
            overdue: action.overdue(day),
            action,
            child,
        })
        .collect();
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "plan.action.list");
    e.detail = Some(format!("{{\"results\":{}}}", lines.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(lines)
}

/// Open plans of children inside the actor's scope whose review is due within
/// [`REVIEW_DUE_WITHIN_DAYS`] or overdue, soonest first. Audited as a consultation.
pub async fn reviews_due<R: PlanRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<ReviewLine>> {
    let scope = authz::scope(actor);
    if scope == Scope::Nothing {
        return Ok(Vec::new());
    }
    let day = today(ctx);
    let rows = tx
        .plans_due_for_review(&scope, day + Duration::days(REVIEW_DUE_WITHIN_DAYS), 500)
        .await?;
    let lines: Vec<ReviewLine> = rows
        .into_iter()
        .map(|(plan, child)| ReviewLine {
            state: plan.review_state(day),
            plan,
            child,
        })
        .collect();
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "plan.review.list");
    e.detail = Some(format!("{{\"results\":{}}}", lines.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn plan(next: Date) -> Plan {
        Plan {
            id: Uuid::from_u128(1),
            person_id: Uuid::from_u128(2),
            risk_level: RiskLevel::High,
            assessment_id: None,
            lead_user_id: Uuid::from_u128(3),
            lead_org_id: Uuid::from_u128(4),
            agreed_on: date!(2026 - 01 - 05),
            next_review_on: next,
            danger_statement: String::new(),
            safety_goal: String::new(),
            org_id: Uuid::from_u128(4),
            created_by: Uuid::from_u128(3),
            created_at: OffsetDateTime::UNIX_EPOCH,
            closed_at: None,
            closed_by: None,
            close_reason: None,
        }
    }

    #[test]
    fn review_state_counts_days_from_today() {
        let today = date!(2026 - 03 - 01);
        assert_eq!(
            plan(date!(2026 - 04 - 01)).review_state(today),
            ReviewState::Scheduled
        );
        assert_eq!(
            plan(date!(2026 - 03 - 15)).review_state(today),
            ReviewState::Due(14)
        );
        assert_eq!(
            plan(date!(2026 - 03 - 01)).review_state(today),
            ReviewState::Due(0)
        );
        assert_eq!(
            plan(date!(2026 - 02 - 27)).review_state(today),
            ReviewState::Overdue(2)
        );
        let mut closed = plan(date!(2026 - 02 - 27));
        closed.closed_at = Some(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(closed.review_state(today), ReviewState::Closed);
    }

    #[test]
    fn codes_round_trip_and_open_statuses() {
        for s in PlanSection::ALL {
            assert_eq!(PlanSection::parse(s.as_str()), Some(*s));
        }
        for s in RiskLevel::ALL {
            assert_eq!(RiskLevel::parse(s.as_str()), Some(*s));
        }
        for d in ReviewDecision::ALL {
            assert_eq!(ReviewDecision::parse(d.as_str()), Some(*d));
        }
        let open: Vec<_> = ActionStatus::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [&ActionStatus::NotStarted, &ActionStatus::InProgress]);
    }

    #[test]
    fn text_is_bounded_and_required() {
        assert!(text("f", "  ", 1, 10, "missing").is_err());
        assert!(text("f", "short", 10, 100, "too short").is_err());
        assert_eq!(text("f", " ok ", 1, 10, "").ok().as_deref(), Some("ok"));
        assert!(text("f", "line\none", 1, 100, "").is_ok());
        assert!(text("f", "bell\u{7}", 1, 100, "").is_err());
        assert_eq!(short("abcdef", 3), "abc…");
    }
}
