//! The team manager's team work lists (`/work/team`, `GET /api/v1/work/team`): the team's
//! caseload, the members' open plan actions, and assessment reviews due and overdue and
//! assessments awaiting sign-off for the team's children. The service is
//! `mace_domain::teams::team_work`; anyone but a team manager in a team gets 403 (recorded).

use crate::AppState;
use crate::auth::SignedIn;
use crate::cases::{ChildRow, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mace_domain::assessment::{AssessmentLine, REVIEW_REMINDER};
use mace_domain::identity::model::User;
use mace_domain::plans::ActionStatus;
use mace_domain::teams::{self, TeamWork};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

async fn load(
    state: &AppState,
    user: &User,
    mfa_at: Option<OffsetDateTime>,
) -> Result<TeamWork, WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        Box::pin(async move { teams::team_work(&ctx, tx, &key, &actor, REVIEW_REMINDER).await })
    })
    .await
}

pub struct CaseRow {
    pub child: ChildRow,
    pub workers: String,
}

pub struct ActionRow {
    pub child_id: Uuid,
    pub child: String,
    pub description: String,
    pub owner: String,
    pub due: String,
    pub overdue: bool,
    pub status: &'static str,
    pub status_class: &'static str,
}

#[derive(Template)]
#[template(path = "work/team.html")]
pub struct TeamPage {
    pub layout: Layout,
    pub team: String,
    pub members: Vec<String>,
    pub caseload: Vec<CaseRow>,
    pub actions: Vec<ActionRow>,
    pub overdue_actions: usize,
    pub reviews_overdue: Vec<crate::assessments::WorkLine>,
    pub reviews_due: Vec<crate::assessments::WorkLine>,
    pub awaiting: Vec<crate::assessments::WorkLine>,
}

fn status_class(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::NotStarted => "govuk-tag--grey",
        ActionStatus::InProgress => "govuk-tag--blue",
        ActionStatus::Done => "govuk-tag--green",
        ActionStatus::NotGoingAhead => "govuk-tag--purple",
    }
}

pub(crate) async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let w = load(&state, &auth.user, auth.session.mfa_at).await?;
    let review = |l: &AssessmentLine| {
        crate::assessments::work_line(
            &state,
            l,
            l.assessment.review_due.map(format::day).unwrap_or_default(),
        )
    };
    let page = TeamPage {
        layout: Layout::from_ctx(&state, ctx, &format!("{}: team work", w.team.name)),
        team: w.team.name.clone(),
        members: w.members.iter().map(|m| m.name.clone()).collect(),
        caseload: w
            .caseload
            .iter()
            .map(|c| CaseRow {
                child: ChildRow::of(&state, &c.child),
                workers: c
                    .workers
                    .iter()
                    .map(|u| w.member_name(*u).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        actions: w
            .actions
            .iter()
            .map(|l| ActionRow {
                child_id: l.child.id,
                child: name(&l.child),
                description: l.action.description.clone(),
                owner: l
                    .action
                    .owner_user_id
                    .map(|u| w.member_name(u).to_string())
                    .unwrap_or_default(),
                due: format::day(l.action.due_on),
                overdue: l.overdue,
                status: l.action.status.label(),
                status_class: status_class(l.action.status),
            })
            .collect(),
        overdue_actions: w.actions.iter().filter(|l| l.overdue).count(),
        reviews_overdue: w.reviews_overdue.iter().map(review).collect(),
        reviews_due: w.reviews_due.iter().map(review).collect(),
        awaiting: w
            .awaiting_sign_off
            .iter()
            .map(|l| {
                crate::assessments::work_line(&state, l, format::date(l.assessment.created_at))
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

// --- API ---------------------------------------------------------------------------------------

/// A team member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamMemberDto {
    pub id: Uuid,
    pub name: String,
}

/// A child on the team's caseload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamCaseDto {
    pub child: crate::cases_api::ChildDto,
    /// The members the child is allocated to.
    pub allocated_to: Vec<Uuid>,
}

/// An open plan action named to a team member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamActionDto {
    pub action_id: Uuid,
    pub plan_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub description: String,
    pub owner_user_id: Option<Uuid>,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// `not_started` or `in_progress`.
    pub status: String,
    pub overdue: bool,
}

/// The caller's team's work lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamWorkDto {
    pub team_id: Uuid,
    pub team_name: String,
    pub members: Vec<TeamMemberDto>,
    /// Children with an open allocation to a member, that the caller may open.
    pub caseload: Vec<TeamCaseDto>,
    /// Open actions on open plans named to a member, soonest due first.
    pub actions: Vec<TeamActionDto>,
    pub reviews_overdue: Vec<crate::assessments::WorkLineDto>,
    /// Due within 14 days.
    pub reviews_due: Vec<crate::assessments::WorkLineDto>,
    pub awaiting_sign_off: Vec<crate::assessments::WorkLineDto>,
}

fn line_dto(l: &AssessmentLine) -> crate::assessments::WorkLineDto {
    crate::assessments::WorkLineDto {
        assessment_id: l.assessment.id,
        child_id: l.child.id,
        child_name: name(&l.child),
        judged_level: l.assessment.judged_level.as_str().into(),
        review_due: l.assessment.review_due.map(format::iso),
    }
}

/// The caller's team's work lists (team managers in a team only), filtered by the caller's
/// access and the team's membership in the query. Audited; a refusal is recorded.
#[utoipa::path(get, path = "/api/v1/work/team", tag = "assessments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The team's work lists", body = TeamWorkDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "The caller is not a team manager in a team", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_work(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let w = load(&state, &c.user, None).await?;
    let dto = TeamWorkDto {
        team_id: w.team.id,
        team_name: w.team.name.clone(),
        members: w
            .members
            .iter()
            .map(|m| TeamMemberDto {
                id: m.id,
                name: m.name.clone(),
            })
            .collect(),
        caseload: w
            .caseload
            .iter()
            .map(|c| TeamCaseDto {
                child: crate::cases_api::ChildDto::from(&c.child),
                allocated_to: c.workers.clone(),
            })
            .collect(),
        actions: w
            .actions
            .iter()
            .map(|l| TeamActionDto {
                action_id: l.action.id,
                plan_id: l.action.plan_id,
                child_id: l.child.id,
                child_name: name(&l.child),
                description: l.action.description.clone(),
                owner_user_id: l.action.owner_user_id,
                due_on: format::iso(l.action.due_on),
                status: l.action.status.as_str().into(),
                overdue: l.overdue,
            })
            .collect(),
        reviews_overdue: w.reviews_overdue.iter().map(line_dto).collect(),
        reviews_due: w.reviews_due.iter().map(line_dto).collect(),
        awaiting_sign_off: w.awaiting_sign_off.iter().map(line_dto).collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}
