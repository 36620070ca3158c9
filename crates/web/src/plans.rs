//! The multi-agency risk management plan in the browser and the API (issue 5, item 4): the
//! child's plan page (with a print view and a PDF to take to a meeting), agreeing a plan, adding
//! actions, meetings and reviews, updating an action, closing the plan, and the "my actions" work
//! list with plan reviews due and overdue (`/work/actions`). The services are
//! [`mace_domain::plans`]; handlers only shape what is shown.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, page_reply, title_for};
use crate::cases::{as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format::{self, plural};
use crate::forms::{
    Choice, Posted, change_unless_invalid, choices, date_of, field_errors, kept, refused, value,
};
use crate::names::Names;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::authz::Actor;
use mace_domain::plans::{
    self, ActionInput, ActionLine, ActionStatus, ChildPlans, MeetingInput, PlanAction, PlanInput,
    PlanSection, PlanView, ReviewDecision, ReviewInput, ReviewLine, ReviewState, RiskLevel,
};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

// --- names and dates ------------------------------------------------------------------------------

impl Names {
    fn of(p: &ChildPlans) -> Self {
        Self {
            orgs: p.orgs.iter().map(|o| (o.id, o.name.clone())).collect(),
            users: p.users.iter().map(|u| (u.id, u.name.clone())).collect(),
        }
    }
    fn owner(&self, a: &PlanAction) -> String {
        match a.owner_user_id {
            Some(u) => format!("{} ({})", self.user(u), self.org(a.owner_org_id)),
            None => self.org(a.owner_org_id),
        }
    }
}

/// The review's state as a tag: (text, class), or nothing when not yet due.
fn review_tag(s: ReviewState) -> Option<(String, &'static str)> {
    match s {
        ReviewState::Overdue(n) => Some((
            format!("Review overdue by {}", plural(n, "day")),
            "govuk-tag--red",
        )),
        ReviewState::Due(0) => Some(("Review due today".into(), "govuk-tag--orange")),
        ReviewState::Due(n) => Some((
            format!("Review due in {}", plural(n, "day")),
            "govuk-tag--yellow",
        )),
        ReviewState::Scheduled | ReviewState::Closed => None,
    }
}

fn status_class(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::NotStarted => "govuk-tag--grey",
        ActionStatus::InProgress => "govuk-tag--blue",
        ActionStatus::Done => "govuk-tag--green",
        ActionStatus::NotGoingAhead => "govuk-tag--purple",
    }
}

// --- the plan page --------------------------------------------------------------------------------

pub struct ActionRow {
    pub id: Uuid,
    pub description: String,
    pub owner: String,
    pub due: String,
    pub overdue: bool,
    pub status: &'static str,
    pub status_class: &'static str,
    pub outcome: String,
    pub may_update: bool,
}

pub struct SectionView {
    pub code: &'static str,
    pub label: &'static str,
    pub actions: Vec<ActionRow>,
}

pub struct MeetingRow {
    pub held: String,
    pub attendees: String,
    pub orgs: String,
    pub decisions: String,
}

pub struct ReviewRow {
    pub on: String,
    pub decision: &'static str,
    pub changes: String,
    pub next: String,
}

/// One plan as shown.
pub struct PlanBlock {
    pub id: Uuid,
    pub open: bool,
    pub risk: &'static str,
    pub lead: String,
    pub lead_org: String,
    pub agreed: String,
    pub next_review: String,
    pub review_tag: Option<(String, &'static str)>,
    pub danger: String,
    pub goal: String,
    pub closed: String,
    pub close_reason: String,
    pub sections: Vec<SectionView>,
    pub meetings: Vec<MeetingRow>,
    pub reviews: Vec<ReviewRow>,
}

fn block(v: &PlanView, names: &Names, p: &ChildPlans, actor: &Actor) -> PlanBlock {
    let plan = &v.plan;
    let sections = PlanSection::ALL
        .iter()
        .map(|s| SectionView {
            code: s.as_str(),
            label: s.label(),
            actions: v
                .actions
                .iter()
                .filter(|a| a.section == *s)
                .map(|a| ActionRow {
                    id: a.id,
                    description: a.description.clone(),
                    owner: names.owner(a),
                    due: format::day(a.due_on),
                    overdue: a.overdue(p.today),
                    status: a.status.label(),
                    status_class: status_class(a.status),
                    outcome: a.outcome.clone(),
                    may_update: p.may_update(actor, plan, a),
                })
                .collect(),
        })
        .collect();
    PlanBlock {
        id: plan.id,
        open: plan.is_open(),
        risk: plan.risk_level.label(),
        lead: names.user(plan.lead_user_id),
        lead_org: names.org(plan.lead_org_id),
        agreed: format::day(plan.agreed_on),
        next_review: format::day(plan.next_review_on),
        review_tag: review_tag(v.review_state),
        danger: plan.danger_statement.clone(),
        goal: plan.safety_goal.clone(),
        closed: plan.closed_at.map(format::date).unwrap_or_default(),
        close_reason: plan.close_reason.clone().unwrap_or_default(),
        sections,
        meetings: v
            .meetings
            .iter()
            .map(|m| MeetingRow {
                held: format::day(m.held_on),
                attendees: m.attendees.clone(),
                orgs: m
                    .attendee_orgs
                    .iter()
                    .map(|o| names.org(*o))
                    .collect::<Vec<_>>()
                    .join(", "),
                decisions: m.decisions.clone(),
            })
            .collect(),
        reviews: v
            .reviews
            .iter()
            .map(|r| ReviewRow {
                on: format::day(r.reviewed_on),
                decision: r.decision.label(),
                changes: r.changes.clone(),
                next: r.next_review_on.map(format::day).unwrap_or_default(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "plans/plan.html")]
pub struct PlanPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub current: Option<PlanBlock>,
    pub earlier: Vec<PlanBlock>,
    pub may_edit: bool,
    pub print: bool,
    pub notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct PlanQuery {
    pub print: Option<String>,
    /// What was just done (`agreed`, `action`, `updated`, `meeting`, `review`, `closed`).
    pub done: Option<String>,
}

/// The child's plans, the viewer, and the names shown: decided and audited by the service.
async fn load(state: &AppState, auth: &Auth, id: Uuid) -> Result<(ChildPlans, Actor), WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let p = plans::child_plans(&ctx, tx, &key, &actor, id).await?;
            Ok((p, actor))
        })
    })
    .await
}

pub(crate) async fn plan(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    let (p, actor) = match load(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let names = Names::of(&p);
    let child = name(&p.child);
    let page = PlanPage {
        layout: Layout::from_ctx(&state, ctx, &format!("Risk management plan: {child}")),
        id,
        name: child,
        current: p.current.as_ref().map(|v| block(v, &names, &p, &actor)),
        earlier: p
            .earlier
            .iter()
            .map(|v| block(v, &names, &p, &actor))
            .collect(),
        may_edit: p.may_edit,
        print: q.print.is_some(),
        notice: match q.done.as_deref() {
            Some("agreed") => Some("The plan has been agreed."),
            Some("action") => Some("The action has been added to the plan."),
            Some("updated") => Some("The action has been updated."),
            Some("meeting") => Some("The meeting has been recorded."),
            Some("review") => Some("The review has been recorded."),
            Some("closed") => Some("The plan has been closed. It stays on the record."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

// --- forms ----------------------------------------------------------------------------------------

/// Which form a [`FormPage`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Plan,
    Action,
    Update,
    Meeting,
    Review,
    Close,
}

impl FormKind {
    fn title(self) -> &'static str {
        match self {
            Self::Plan => "Agree a risk management plan",
            Self::Action => "Add an action to the plan",
            Self::Update => "Update an action",
            Self::Meeting => "Record a plan meeting",
            Self::Review => "Review the plan",
            Self::Close => "Close the plan",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Action => "action",
            Self::Update => "update",
            Self::Meeting => "meeting",
            Self::Review => "review",
            Self::Close => "close",
        }
    }
    /// Domain field → the form's field (dates are reported on their day box).
    fn field(self, domain: &str) -> String {
        match (self, domain) {
            (Self::Plan, "agreed_on") => "agreed-day".into(),
            (Self::Plan, "next_review_on") => "review-day".into(),
            (Self::Action, "due_on") => "due-day".into(),
            (Self::Meeting, "held_on") => "held-day".into(),
            (Self::Review, "reviewed_on") => "reviewed-day".into(),
            (Self::Review, "next_review_on") => "next-day".into(),
            _ => domain.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "plans/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub heading: &'static str,
    pub action_url: String,
    pub form: FormState,
    pub csrf: String,
    pub risk_levels: Vec<Choice>,
    pub leads: Vec<Choice>,
    pub sections: Vec<Choice>,
    pub orgs: Vec<Choice>,
    pub owners: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub decisions: Vec<Choice>,
    pub attendee_orgs: Vec<Choice>,
    /// The action being updated.
    pub action_text: String,
}

fn render_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    p: &ChildPlans,
    kind: FormKind,
    form: FormState,
    action_id: Option<Uuid>,
) -> Result<String, WebError> {
    let names = Names::of(p);
    let id = p.child.id;
    let leads = p
        .users
        .iter()
        .filter(|u| u.may_hold)
        .map(|u| {
            (
                u.id.to_string(),
                format!("{} ({})", u.name, names.org(u.org_id)),
                form.value("lead_user_id") == u.id.to_string(),
            )
        })
        .collect();
    let owners = p
        .users
        .iter()
        .filter(|u| u.may_hold)
        .map(|u| {
            (
                u.id.to_string(),
                format!("{} ({})", u.name, names.org(u.org_id)),
                form.value("owner_user_id") == u.id.to_string(),
            )
        })
        .collect();
    let orgs = p
        .orgs
        .iter()
        .map(|o| {
            (
                o.id.to_string(),
                o.name.clone(),
                form.value("owner_org_id") == o.id.to_string(),
            )
        })
        .collect();
    let attendee_orgs = p
        .orgs
        .iter()
        .map(|o| {
            (
                o.id.to_string(),
                o.name.clone(),
                form.value(&format!("org_{}", o.id)) == "yes",
            )
        })
        .collect();
    let action_text = action_id
        .and_then(|aid| {
            p.current
                .iter()
                .flat_map(|v| v.actions.iter())
                .find(|a| a.id == aid)
        })
        .map(|a| format!("{} – {}", a.description, names.owner(a)))
        .unwrap_or_default();
    let action_url = match (kind, action_id) {
        (FormKind::Update, Some(aid)) => format!("/plan-actions/{aid}"),
        (FormKind::Plan, _) => format!("/children/{id}/plan/new"),
        (FormKind::Action, _) => format!("/children/{id}/plan/actions"),
        (FormKind::Meeting, _) => format!("/children/{id}/plan/meetings"),
        (FormKind::Review, _) => format!("/children/{id}/plan/reviews"),
        _ => format!("/children/{id}/plan/close"),
    };
    let title = title_for(&form, kind.title());
    let page = FormPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        name: name(&p.child),
        kind: kind.code(),
        heading: kind.title(),
        action_url,
        risk_levels: choices(
            RiskLevel::ALL,
            RiskLevel::as_str,
            RiskLevel::label,
            form.value("risk_level"),
        ),
        leads,
        sections: choices(
            PlanSection::ALL,
            PlanSection::as_str,
            PlanSection::label,
            form.value("section"),
        ),
        orgs,
        owners,
        statuses: choices(
            ActionStatus::ALL,
            ActionStatus::as_str,
            ActionStatus::label,
            form.value("status"),
        ),
        decisions: choices(
            ReviewDecision::ALL,
            ReviewDecision::as_str,
            ReviewDecision::label,
            form.value("decision"),
        ),
        attendee_orgs,
        action_text,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    Ok(page.render()?)
}

/// A chosen record's id: blank is none; anything that is not an id is an error on the field
/// (`message`), never read as none.
fn uuid_of(form: &mut FormState, f: &Posted, k: &str, message: &str) -> Option<Uuid> {
    match value(f, k).trim() {
        "" => None,
        s => Uuid::parse_str(s)
            .map_err(|_| form.errors.push(FieldError::new(k, message)))
            .ok(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn show_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    kind: FormKind,
    form: FormState,
    action_id: Option<Uuid>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (p, _) = match load(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let needs_open = !matches!(kind, FormKind::Plan);
    if needs_open && p.current.is_none() {
        return Ok(Redirect::to(&format!("/children/{id}/plan")).into_response());
    }
    if kind == FormKind::Plan && p.current.is_some() {
        return Ok(Redirect::to(&format!("/children/{id}/plan")).into_response());
    }
    let html = render_form(&state, ctx, &auth, &p, kind, form, action_id)?;
    Ok(page_reply(status, html))
}

/// After a service call: on success go back to the plan; on invalid input show the form again
/// with what was typed and the errors.
#[allow(clippy::too_many_arguments)]
async fn finish<T>(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    kind: FormKind,
    mut form: FormState,
    action_id: Option<Uuid>,
    done: Result<T, WebError>,
    what: &str,
) -> Result<Response, WebError> {
    match done {
        Ok(_) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/children/{id}/plan?done={what}")).into_response())
        }
        Ok(_) => {
            show_form(
                state,
                ctx,
                auth,
                id,
                kind,
                form,
                action_id,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            field_errors(&mut form, errs, |f| kind.field(f));
            show_form(
                state,
                ctx,
                auth,
                id,
                kind,
                form,
                action_id,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

pub(crate) async fn plan_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let mut form = FormState::default();
    let today = format::uk(state.ctx.clock.now()).date();
    form.values
        .insert("agreed-day".into(), today.day().to_string());
    form.values
        .insert("agreed-month".into(), u8::from(today.month()).to_string());
    form.values
        .insert("agreed-year".into(), today.year().to_string());
    // Reviews every 12 weeks unless the people agreeing the plan choose sooner.
    let review = today + time::Duration::weeks(12);
    form.values
        .insert("review-day".into(), review.day().to_string());
    form.values
        .insert("review-month".into(), u8::from(review.month()).to_string());
    form.values
        .insert("review-year".into(), review.year().to_string());
    form.values
        .insert("lead_user_id".into(), auth.user.id.to_string());
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Plan,
        form,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn plan_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = PlanInput {
        risk_level: RiskLevel::parse(value(&f, "risk_level")),
        lead_user_id: uuid_of(
            &mut form,
            &f,
            "lead_user_id",
            "Choose the lead professional",
        ),
        agreed_on: date_of(&mut form, &f, "agreed", "The date agreed"),
        next_review_on: date_of(&mut form, &f, "review", "The next review date"),
        danger_statement: value(&f, "danger_statement").into(),
        safety_goal: value(&f, "safety_goal").into(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                plans::create_plan(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|_| ())
            })
        },
    )
    .await;
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Plan,
        form,
        None,
        done,
        "agreed",
    )
    .await
}

pub(crate) async fn action_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let form = FormState::default();
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Action,
        form,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn action_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = ActionInput {
        section: PlanSection::parse(value(&f, "section")),
        description: value(&f, "description").into(),
        owner_org_id: uuid_of(
            &mut form,
            &f,
            "owner_org_id",
            "Choose the organisation that owns the action",
        ),
        owner_user_id: uuid_of(
            &mut form,
            &f,
            "owner_user_id",
            "Choose the named person from the list, or no one",
        ),
        due_on: date_of(&mut form, &f, "due", "The due date"),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                plans::add_action(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|_| ())
            })
        },
    )
    .await;
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Action,
        form,
        None,
        done,
        "action",
    )
    .await
}

/// The child an action is for (404 when there is no such action).
async fn action_child(state: &AppState, auth: &Auth, aid: Uuid) -> Result<Uuid, WebError> {
    as_user(state, auth, false, move |tx, _ctx, _key, _actor| {
        Box::pin(async move { Ok(plans::action_child(tx, aid).await?.1.person_id) })
    })
    .await
}

pub(crate) async fn update_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(aid): Path<Uuid>,
) -> Result<Response, WebError> {
    let id = action_child(&state, &auth, aid).await?;
    let current = as_user(&state, &auth, false, move |tx, _ctx, _key, _actor| {
        Box::pin(async move { plans::action_child(tx, aid).await.map(|(a, _)| a) })
    })
    .await?;
    let form = FormState::kept(&[
        ("status", current.status.as_str()),
        ("outcome", &current.outcome),
    ]);
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Update,
        form,
        Some(aid),
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(aid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = action_child(&state, &auth, aid).await?;
    let form = kept(&f);
    let status = ActionStatus::parse(value(&f, "status"));
    let outcome = value(&f, "outcome").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let outcome = outcome.clone();
        Box::pin(async move {
            plans::update_action(&ctx, tx, &key, &actor, aid, status, &outcome)
                .await
                .map(|_| ())
        })
    })
    .await;
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Update,
        form,
        Some(aid),
        done,
        "updated",
    )
    .await
}

pub(crate) async fn meeting_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let form = FormState::default();
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Meeting,
        form,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn meeting_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = MeetingInput {
        held_on: date_of(&mut form, &f, "held", "The date of the meeting"),
        attendees: value(&f, "attendees").into(),
        attendee_orgs: f
            .iter()
            .filter(|(k, v)| k.starts_with("org_") && v.as_str() == "yes")
            .filter_map(|(k, _)| Uuid::parse_str(&k["org_".len()..]).ok())
            .collect(),
        decisions: value(&f, "decisions").into(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                plans::add_meeting(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|_| ())
            })
        },
    )
    .await;
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Meeting,
        form,
        None,
        done,
        "meeting",
    )
    .await
}

pub(crate) async fn review_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let form = FormState::default();
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Review,
        form,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn review_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let decision = ReviewDecision::parse(value(&f, "decision"));
    let input = ReviewInput {
        reviewed_on: date_of(&mut form, &f, "reviewed", "The date of the review"),
        changes: value(&f, "changes").into(),
        decision,
        next_review_on: date_of(&mut form, &f, "next", "The next review date"),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                plans::add_review(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|_| ())
            })
        },
    )
    .await;
    let what = if decision == Some(ReviewDecision::Close) {
        "closed"
    } else {
        "review"
    };
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Review,
        form,
        None,
        done,
        what,
    )
    .await
}

pub(crate) async fn close_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let form = FormState::default();
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Close,
        form,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn close(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let form = kept(&f);
    let reason = value(&f, "reason").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let reason = reason.clone();
        Box::pin(async move {
            plans::close_plan(&ctx, tx, &key, &actor, id, &reason)
                .await
                .map(|_| ())
        })
    })
    .await;
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Close,
        form,
        None,
        done,
        "closed",
    )
    .await
}

// --- the PDF --------------------------------------------------------------------------------------

pub(crate) async fn pdf(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let got = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let p = plans::child_plans(&ctx, tx, &key, &actor, id).await?;
            if let Some(v) = &p.current {
                plans::record_export(&ctx, tx, &key, &actor, id, v.plan.id).await?;
            }
            Ok((p, actor))
        })
    })
    .await;
    let (p, actor) = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let Some(current) = &p.current else {
        return Err(WebError::NotFound);
    };
    let names = Names::of(&p);
    let b = block(current, &names, &p, &actor);
    let printed = format::date_time(state.ctx.clock.now());
    let bytes = crate::pdf::plan(&name(&p.child), &b, &printed);
    let mut res = (StatusCode::OK, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"risk-management-plan.pdf\""),
    );
    Ok(res)
}

// --- my actions -----------------------------------------------------------------------------------

pub struct WorkActionRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub child: String,
    pub description: String,
    pub section: &'static str,
    pub due: String,
    pub overdue: bool,
    pub status: &'static str,
    pub status_class: &'static str,
    pub open: bool,
    pub mine: bool,
}

pub struct WorkReviewRow {
    pub child_id: Uuid,
    pub child: String,
    pub due: String,
    pub tag: Option<(String, &'static str)>,
    pub lead: String,
}

#[derive(Template)]
#[template(path = "plans/work.html")]
pub struct WorkPage {
    pub layout: Layout,
    pub actions: Vec<WorkActionRow>,
    pub reviews: Vec<WorkReviewRow>,
    pub overdue: usize,
}

type WorkLists = (Vec<ActionLine>, Vec<ReviewLine>, Names);

async fn work_lists(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa_at: Option<time::OffsetDateTime>,
) -> Result<(WorkLists, Actor), WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let actions = plans::my_actions(&ctx, tx, &key, &actor).await?;
            let reviews = plans::reviews_due(&ctx, tx, &key, &actor).await?;
            let names = Names::all(tx).await?;
            Ok(((actions, reviews, names), actor))
        })
    })
    .await
}

pub(crate) async fn work_actions(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let ((actions, reviews, names), actor) =
        work_lists(&state, &auth.user, auth.session.mfa_at).await?;
    let rows: Vec<WorkActionRow> = actions
        .iter()
        .map(|l| WorkActionRow {
            id: l.action.id,
            child_id: l.child.id,
            child: name(&l.child),
            description: l.action.description.clone(),
            section: l.action.section.label(),
            due: format::day(l.action.due_on),
            overdue: l.overdue,
            status: l.action.status.label(),
            status_class: status_class(l.action.status),
            open: l.action.status.is_open(),
            mine: l.action.owner_user_id == Some(actor.user_id),
        })
        .collect();
    let page = WorkPage {
        layout: Layout::from_ctx(&state, ctx, "My actions and plan reviews"),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        actions: rows,
        reviews: reviews
            .iter()
            .map(|r| WorkReviewRow {
                child_id: r.child.id,
                child: name(&r.child),
                due: format::day(r.plan.next_review_on),
                tag: review_tag(r.state),
                lead: format!(
                    "{} ({})",
                    names.user(r.plan.lead_user_id),
                    names.org(r.plan.lead_org_id)
                ),
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

// --- API ------------------------------------------------------------------------------------------

/// An action on a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanActionDto {
    pub id: Uuid,
    pub plan_id: Uuid,
    /// `child`, `parents_carers`, `evidence` or `disruption`.
    pub section: String,
    pub description: String,
    pub owner_organisation_id: Uuid,
    pub owner_organisation_name: String,
    pub owner_user_id: Option<Uuid>,
    pub owner_user_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// `not_started`, `in_progress`, `done` or `not_going_ahead`.
    pub status: String,
    pub outcome: String,
    /// Still open and past its due date.
    pub overdue: bool,
}

fn action_dto(a: &PlanAction, names: &Names, today: Date) -> PlanActionDto {
    PlanActionDto {
        id: a.id,
        plan_id: a.plan_id,
        section: a.section.as_str().into(),
        description: a.description.clone(),
        owner_organisation_id: a.owner_org_id,
        owner_organisation_name: names.org(a.owner_org_id),
        owner_user_id: a.owner_user_id,
        owner_user_name: a.owner_user_id.map(|u| names.user(u)),
        due_on: format::iso(a.due_on),
        status: a.status.as_str().into(),
        outcome: a.outcome.clone(),
        overdue: a.overdue(today),
    }
}

/// A plan meeting.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanMeetingDto {
    pub id: Uuid,
    pub held_on: String,
    pub attendees: String,
    pub attendee_organisation_ids: Vec<Uuid>,
    pub decisions: String,
}

/// A plan review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanReviewDto {
    pub id: Uuid,
    pub reviewed_on: String,
    pub changes: String,
    /// `continue`, `step_up`, `step_down` or `close`.
    pub decision: String,
    pub next_review_on: Option<String>,
}

/// A risk management plan with its actions, meetings and reviews.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanDto {
    pub id: Uuid,
    pub child_id: Uuid,
    /// `open` or `closed`.
    pub status: String,
    /// `high`, `medium`, `low` or `not_assessed`.
    pub risk_level: String,
    pub assessment_id: Option<Uuid>,
    pub lead_user_id: Uuid,
    pub lead_user_name: String,
    pub lead_organisation_id: Uuid,
    pub lead_organisation_name: String,
    pub agreed_on: String,
    pub next_review_on: String,
    /// `scheduled`, `due` (within 14 days), `overdue` or `closed`.
    pub review_state: String,
    pub danger_statement: String,
    pub safety_goal: String,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    pub actions: Vec<PlanActionDto>,
    pub meetings: Vec<PlanMeetingDto>,
    pub reviews: Vec<PlanReviewDto>,
}

fn review_state_code(s: ReviewState) -> &'static str {
    match s {
        ReviewState::Closed => "closed",
        ReviewState::Scheduled => "scheduled",
        ReviewState::Due(_) => "due",
        ReviewState::Overdue(_) => "overdue",
    }
}

fn plan_dto(v: &PlanView, names: &Names, today: Date) -> PlanDto {
    let p = &v.plan;
    PlanDto {
        id: p.id,
        child_id: p.person_id,
        status: if p.is_open() { "open" } else { "closed" }.into(),
        risk_level: p.risk_level.as_str().into(),
        assessment_id: p.assessment_id,
        lead_user_id: p.lead_user_id,
        lead_user_name: names.user(p.lead_user_id),
        lead_organisation_id: p.lead_org_id,
        lead_organisation_name: names.org(p.lead_org_id),
        agreed_on: format::iso(p.agreed_on),
        next_review_on: format::iso(p.next_review_on),
        review_state: review_state_code(v.review_state).into(),
        danger_statement: p.danger_statement.clone(),
        safety_goal: p.safety_goal.clone(),
        closed_at: p.closed_at.map(crate::cases_api::rfc3339),
        close_reason: p.close_reason.clone(),
        actions: v
            .actions
            .iter()
            .map(|a| action_dto(a, names, today))
            .collect(),
        meetings: v
            .meetings
            .iter()
            .map(|m| PlanMeetingDto {
                id: m.id,
                held_on: format::iso(m.held_on),
                attendees: m.attendees.clone(),
                attendee_organisation_ids: m.attendee_orgs.clone(),
                decisions: m.decisions.clone(),
            })
            .collect(),
        reviews: v
            .reviews
            .iter()
            .map(|r| PlanReviewDto {
                id: r.id,
                reviewed_on: format::iso(r.reviewed_on),
                changes: r.changes.clone(),
                decision: r.decision.as_str().into(),
                next_review_on: r.next_review_on.map(format::iso),
            })
            .collect(),
    }
}

/// A child's plans.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildPlansDto {
    pub child_id: Uuid,
    /// The open plan, if there is one.
    pub current: Option<PlanDto>,
    /// Closed plans, newest first.
    pub earlier: Vec<PlanDto>,
}

async fn api_plans(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<ChildPlansDto, WebError> {
    let p = with_actor(state, user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { plans::child_plans(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    let names = Names::of(&p);
    Ok(ChildPlansDto {
        child_id: id,
        current: p.current.as_ref().map(|v| plan_dto(v, &names, p.today)),
        earlier: p
            .earlier
            .iter()
            .map(|v| plan_dto(v, &names, p.today))
            .collect(),
    })
}

/// The child's risk management plans (needs the right to open the record). Audited.
#[utoipa::path(get, path = "/api/v1/children/{id}/plan", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "The open plan and earlier ones", body = ChildPlansDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_get(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_plans(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// A plan to agree.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanDto {
    /// `high`, `medium`, `low` or `not_assessed`.
    pub risk_level: String,
    /// The lead professional (an active user who can open children's records); their
    /// organisation is the lead agency.
    pub lead_user_id: Uuid,
    /// `YYYY-MM-DD`, today or earlier.
    pub agreed_on: String,
    /// `YYYY-MM-DD`, after `agreed_on` and within 3 months of it.
    pub next_review_on: String,
    #[serde(default)]
    pub danger_statement: String,
    #[serde(default)]
    pub safety_goal: String,
}

/// Agree a plan for a child (needs the right to change the record; one open plan at a time).
#[utoipa::path(post, path = "/api/v1/children/{id}/plan", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewPlanDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Agreed", body = ChildPlansDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The child already has an open plan", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewPlanDto>,
) -> Result<Response, WebError> {
    let input = PlanInput {
        risk_level: Some(
            RiskLevel::parse(body.risk_level.trim())
                .ok_or_else(|| Error::validation("risk_level", "Not a risk level mace knows"))?,
        ),
        lead_user_id: Some(body.lead_user_id),
        agreed_on: format::parse_iso("agreed_on", Some(&body.agreed_on))?,
        next_review_on: format::parse_iso("next_review_on", Some(&body.next_review_on))?,
        danger_statement: body.danger_statement,
        safety_goal: body.safety_goal,
    };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { plans::create_plan(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let dto = api_plans(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::CREATED, &dto))
}

/// An action to add to the open plan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanActionDto {
    /// `child`, `parents_carers`, `evidence` or `disruption`.
    pub section: String,
    pub description: String,
    /// The owning organisation: it becomes involved with the child.
    pub owner_organisation_id: Uuid,
    /// A named person of that organisation (optional).
    #[serde(default)]
    pub owner_user_id: Option<Uuid>,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// Add an action to the child's open plan (needs the right to change the record).
#[utoipa::path(post, path = "/api/v1/children/{id}/plan/actions", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewPlanActionDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = PlanActionDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child, or no open plan", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_action(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewPlanActionDto>,
) -> Result<Response, WebError> {
    let input = ActionInput {
        section: Some(
            PlanSection::parse(body.section.trim())
                .ok_or_else(|| Error::validation("section", "Not a plan section mace knows"))?,
        ),
        description: body.description,
        owner_org_id: Some(body.owner_organisation_id),
        owner_user_id: body.owner_user_id,
        due_on: format::parse_iso("due_on", Some(&body.due_on))?,
    };
    let (a, names, today) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            let a = plans::add_action(&ctx, tx, &key, &actor, id, &input).await?;
            let names = Names::all(tx).await?;
            Ok((a, names, ctx.clock.now().date()))
        })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &action_dto(&a, &names, today),
    ))
}

/// A change to an action's status and outcome.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanActionUpdateDto {
    /// `not_started`, `in_progress`, `done` or `not_going_ahead`.
    pub status: String,
    /// Required when `done` or `not_going_ahead`.
    #[serde(default)]
    pub outcome: String,
}

/// Update an action's status and outcome: by its owning organisation, or the plan's lead
/// professional or agency. Refusals are recorded.
#[utoipa::path(patch, path = "/api/v1/plan-actions/{id}", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The action's id")),
    request_body(content = PlanActionUpdateDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = PlanActionDto, content_type = "application/json"),
        (status = 403, description = "The caller does not own the action or may not change the record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such action", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The plan is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_update_action(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(aid): Path<Uuid>,
    Json(body): Json<PlanActionUpdateDto>,
) -> Result<Response, WebError> {
    let status = Some(
        ActionStatus::parse(body.status.trim())
            .ok_or_else(|| Error::validation("status", "Not an action status mace knows"))?,
    );
    let (a, names, today) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let outcome = body.outcome.clone();
        Box::pin(async move {
            let a = plans::update_action(&ctx, tx, &key, &actor, aid, status, &outcome).await?;
            let names = Names::all(tx).await?;
            Ok((a, names, ctx.clock.now().date()))
        })
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &action_dto(&a, &names, today),
    ))
}

/// A plan meeting to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanMeetingDto {
    /// `YYYY-MM-DD`, today or earlier.
    pub held_on: String,
    /// Who attended, as written.
    pub attendees: String,
    #[serde(default)]
    pub attendee_organisation_ids: Vec<Uuid>,
    pub decisions: String,
}

/// Record a meeting about the child's open plan.
#[utoipa::path(post, path = "/api/v1/children/{id}/plan/meetings", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewPlanMeetingDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = PlanMeetingDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child, or no open plan", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_meeting(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewPlanMeetingDto>,
) -> Result<Response, WebError> {
    let input = MeetingInput {
        held_on: format::parse_iso("held_on", Some(&body.held_on))?,
        attendees: body.attendees,
        attendee_orgs: body.attendee_organisation_ids,
        decisions: body.decisions,
    };
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { plans::add_meeting(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &PlanMeetingDto {
            id: m.id,
            held_on: format::iso(m.held_on),
            attendees: m.attendees,
            attendee_organisation_ids: m.attendee_orgs,
            decisions: m.decisions,
        },
    ))
}

/// A plan review to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanReviewDto {
    /// `YYYY-MM-DD`, today or earlier.
    pub reviewed_on: String,
    /// What changed; when the decision is `close`, the reason (at least 10 characters).
    pub changes: String,
    /// `continue`, `step_up`, `step_down` or `close`.
    pub decision: String,
    /// `YYYY-MM-DD`; required unless closing, within 3 months of the review.
    #[serde(default)]
    pub next_review_on: Option<String>,
}

/// Review the child's open plan (a `close` decision closes it).
#[utoipa::path(post, path = "/api/v1/children/{id}/plan/reviews", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewPlanReviewDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = PlanReviewDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child, or no open plan", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_review(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewPlanReviewDto>,
) -> Result<Response, WebError> {
    let input = ReviewInput {
        reviewed_on: format::parse_iso("reviewed_on", Some(&body.reviewed_on))?,
        changes: body.changes,
        decision: Some(
            ReviewDecision::parse(body.decision.trim())
                .ok_or_else(|| Error::validation("decision", "Not a review decision mace knows"))?,
        ),
        next_review_on: format::parse_iso("next_review_on", body.next_review_on.as_deref())?,
    };
    let r = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { plans::add_review(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &PlanReviewDto {
            id: r.id,
            reviewed_on: format::iso(r.reviewed_on),
            changes: r.changes,
            decision: r.decision.as_str().into(),
            next_review_on: r.next_review_on.map(format::iso),
        },
    ))
}

/// Why the plan is closing.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosePlanDto {
    /// At least 10 characters.
    pub reason: String,
}

/// Close the child's open plan, with a reason. It stays readable.
#[utoipa::path(post, path = "/api/v1/children/{id}/plan/close", tag = "plans",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = ClosePlanDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Closed", body = ChildPlansDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child, or no open plan", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No reason, or too short", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_close(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<ClosePlanDto>,
) -> Result<Response, WebError> {
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let reason = body.reason.clone();
        Box::pin(async move { plans::close_plan(&ctx, tx, &key, &actor, id, &reason).await })
    })
    .await?;
    let dto = api_plans(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// An action in the caller's work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkActionDto {
    pub child_id: Uuid,
    pub child_name: String,
    pub action: PlanActionDto,
}

/// A plan whose review is due within 14 days or overdue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewDueDto {
    pub plan_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub next_review_on: String,
    /// `due` or `overdue`.
    pub state: String,
    /// Days until the review (negative when overdue).
    pub days: i64,
}

/// The caller's work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkActionsDto {
    /// Actions owned by the caller, and by the caller's organisation with no named person, on
    /// open plans of children the caller may open: open ones first by due date.
    pub actions: Vec<WorkActionDto>,
    /// Plans of children the caller may open whose review is due within 14 days or overdue.
    pub reviews_due: Vec<ReviewDueDto>,
}

/// "My actions" and plan reviews due and overdue, filtered by the caller's access in the query.
/// Audited.
#[utoipa::path(get, path = "/api/v1/work/actions", tag = "plans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's actions and reviews due", body = WorkActionsDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_work(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let ((actions, reviews, names), _) = work_lists(&state, &c.user, None).await?;
    let today = state.ctx.clock.now().date();
    let dto = WorkActionsDto {
        actions: actions
            .iter()
            .map(|l| WorkActionDto {
                child_id: l.child.id,
                child_name: name(&l.child),
                action: action_dto(&l.action, &names, today),
            })
            .collect(),
        reviews_due: reviews
            .iter()
            .map(|r| ReviewDueDto {
                plan_id: r.plan.id,
                child_id: r.child.id,
                child_name: name(&r.child),
                next_review_on: format::iso(r.plan.next_review_on),
                state: review_state_code(r.state).into(),
                days: (r.plan.next_review_on - today).whole_days(),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}
