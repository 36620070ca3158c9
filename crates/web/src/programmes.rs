//! Group programmes in the browser and the API (issue 6, items 3 and 6): the list of programmes
//! (`/programmes`), creating a programme and its cohorts, a cohort's page (sessions for everyone
//! signed in; its children only for the running organisation, each view audited), adding a
//! child (eligibility and capacity checked with reasons), attendance per session, a child's
//! place (withdrawal) and outcome, and a child's programmes on their record
//! (`/children/{id}/programmes`). The services are [`mace_domain::programmes`].

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, page_reply, title_for};
use crate::cases::{as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::forms::{
    Choice, DoneQuery, Posted, change_unless_invalid, kept, refused, value, whole_number,
};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use mace_domain::person::{Gender, Person};
use mace_domain::programmes::{
    self, Attendance, ChildProgrammes, CohortInput, CohortMember, CohortView, MemberLine,
    MemberStatus, OutcomeInput, Programme, ProgrammeInput, ProgrammeLine, ProgrammeOutcome,
    ProgrammeView, SessionInput,
};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/programmes", get(list))
        .route(
            "/programmes/new",
            get(programme_form).post(programme_create),
        )
        .route("/programmes/{id}", get(programme))
        .route(
            "/programmes/{id}/cohorts",
            get(cohort_form).post(cohort_create),
        )
        .route("/cohorts/{id}", get(cohort))
        .route("/cohorts/{id}/members", post(member_add))
        .route(
            "/programme-sessions/{id}/attendance",
            get(attendance_form).post(attendance_record),
        )
        .route(
            "/programme-members/{id}/status",
            get(status_form).post(status_set),
        )
        .route(
            "/programme-members/{id}/outcome",
            get(outcome_form).post(outcome_record),
        )
        .route("/children/{id}/programmes", get(child).post(child_offer))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/programmes", get(api_list).post(api_create))
        .route("/programmes/{id}", get(api_get))
        .route("/programmes/{id}/cohorts", post(api_create_cohort))
        .route("/cohorts/{id}", get(api_cohort))
        .route("/cohorts/{id}/members", post(api_add_member))
        .route("/programme-sessions/{id}/attendance", post(api_attendance))
        .route("/programme-members/{id}/outcome", post(api_outcome))
        .route("/programme-members/{id}/status", post(api_status))
        .route("/children/{id}/programmes", get(api_child))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_create_cohort, api_cohort, api_add_member,
          api_attendance, api_outcome, api_status, api_child),
    components(schemas(ProgrammeDto, ProgrammesDto, NewProgrammeDto, ProgrammeDetailDto,
                       CohortSummaryDto, NewCohortDto, NewSessionDto, SessionDto, CohortDto,
                       MemberDto, MarkDto, PlaceDto, NewMemberDto, AttendanceSheetDto,
                       RecordedDto, OutcomeDto, StatusDto, ChildPlaceDto, ChildProgrammesDto)),
    tags((name = "programmes", description = "Group programmes: cohorts, sessions, attendance, eligibility and outcomes")),
)]
pub(crate) struct Doc;

// --- shared helpers -------------------------------------------------------------------------------

/// A whole number typed in a box: blank is `None`; anything else not a number is an error.
fn number(form: &mut FormState, f: &Posted, field: &str, what: &str) -> Option<i32> {
    let message = format!("{what} must be a whole number");
    whole_number(form, value(f, field), field, message)
}

fn uuid_of(f: &Posted, k: &str) -> Option<Uuid> {
    Uuid::parse_str(value(f, k).trim()).ok()
}

fn status_class(s: MemberStatus) -> &'static str {
    match s {
        MemberStatus::Offered => "govuk-tag--grey",
        MemberStatus::Attending => "govuk-tag--blue",
        MemberStatus::Completed => "govuk-tag--green",
        MemberStatus::Withdrew => "govuk-tag--purple",
    }
}

/// A programme's rules in words, for lists and pages.
pub struct ProgrammeSummary {
    pub id: Uuid,
    pub name: String,
    pub org: String,
    pub description: String,
    pub ages: String,
    pub genders: String,
    pub area: String,
    pub sessions: i32,
    pub capacity: i32,
    pub service: Option<String>,
    pub service_id: Option<Uuid>,
}

fn summary(l: &ProgrammeLine) -> ProgrammeSummary {
    let p = &l.programme;
    ProgrammeSummary {
        id: p.id,
        name: p.name.clone(),
        org: l.org_name.clone(),
        description: p.description.clone(),
        ages: p.ages(),
        genders: p.genders_text(),
        area: p.area_text(),
        sessions: p.session_count,
        capacity: p.capacity,
        service: l.service_name.clone(),
        service_id: p.service_id,
    }
}

// --- the list and a programme ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "programmes/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub programmes: Vec<ProgrammeSummary>,
    pub may_create: bool,
    pub notice: Option<&'static str>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let (lines, may_create) = as_user(&state, &auth, false, |tx, _ctx, _key, actor| {
        Box::pin(async move { programmes::list_programmes(tx, &actor).await })
    })
    .await?;
    let page = ListPage {
        layout: Layout::from_ctx(&state, ctx, "Group programmes"),
        programmes: lines.iter().map(summary).collect(),
        may_create,
        notice: None,
    };
    Ok(Html(page.render()?).into_response())
}

pub struct CohortRowView {
    pub id: Uuid,
    pub start: String,
    pub venue: String,
    pub facilitators: String,
    pub places: String,
}

#[derive(Template)]
#[template(path = "programmes/programme.html")]
pub struct ProgrammePage {
    pub layout: Layout,
    pub p: ProgrammeSummary,
    pub cohorts: Vec<CohortRowView>,
    pub may_add_cohort: bool,
    pub notice: Option<&'static str>,
}

async fn load_programme(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<ProgrammeView, WebError> {
    as_user(state, auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move { programmes::programme_view(tx, &actor, id).await })
    })
    .await
}

pub(crate) async fn programme(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let v = load_programme(&state, &auth, id).await?;
    let capacity = v.line.programme.capacity;
    let page = ProgrammePage {
        layout: Layout::from_ctx(&state, ctx, &v.line.programme.name),
        p: summary(&v.line),
        cohorts: v
            .cohorts
            .iter()
            .map(|c| CohortRowView {
                id: c.cohort.id,
                start: format::day(c.cohort.start_on),
                venue: c.cohort.venue.clone(),
                facilitators: c.cohort.facilitators.clone(),
                places: format!("{} of {capacity}", c.places_taken),
            })
            .collect(),
        may_add_cohort: v.may_add_cohort,
        notice: match q.done.as_deref() {
            Some("created") => Some("The programme has been added."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

// --- creating a programme -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "programmes/programme_form.html")]
pub struct ProgrammeFormPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    pub orgs: Vec<Choice>,
    pub services: Vec<Choice>,
    pub genders: Vec<Choice>,
}

async fn show_programme_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (orgs, services) = as_user(&state, &auth, false, |tx, _ctx, _key, actor| {
        Box::pin(async move { programmes::programme_choices(tx, &actor).await })
    })
    .await?;
    if orgs.is_empty() {
        let page = crate::people::PersonRefusedPage {
            layout: Layout::from_ctx(&state, ctx, "You cannot add programmes"),
        };
        return Ok(form_reply(StatusCode::FORBIDDEN, page.render()?));
    }
    let page = ProgrammeFormPage {
        layout: Layout::from_ctx(&state, ctx, &title_for(&form, "Add a group programme")),
        orgs: orgs
            .iter()
            .map(|o| {
                (
                    o.id.to_string(),
                    o.name.clone(),
                    form.value("org_id") == o.id.to_string(),
                )
            })
            .collect(),
        services: services
            .iter()
            .map(|(id, n)| {
                (
                    id.to_string(),
                    n.clone(),
                    form.value("service_id") == id.to_string(),
                )
            })
            .collect(),
        genders: Gender::ALL
            .iter()
            .filter(|g| !matches!(g, Gender::NotKnown | Gender::NotStated))
            .map(|g| {
                (
                    g.as_str().to_string(),
                    g.label().to_string(),
                    form.value(&format!("gender_{}", g.as_str())) == "yes",
                )
            })
            .collect(),
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn programme_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let mut form = FormState::default();
    form.values
        .insert("org_id".into(), auth.user.org_id.to_string());
    show_programme_form(state, ctx, auth, form, StatusCode::OK).await
}

pub(crate) async fn programme_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = ProgrammeInput {
        name: value(&f, "name").into(),
        org_id: uuid_of(&f, "org_id"),
        description: value(&f, "description").into(),
        min_age: number(&mut form, &f, "min_age", "The youngest age"),
        max_age: number(&mut form, &f, "max_age", "The oldest age"),
        genders: Gender::ALL
            .iter()
            .filter(|g| value(&f, &format!("gender_{}", g.as_str())) == "yes")
            .copied()
            .collect(),
        districts: vec![value(&f, "districts").to_string()],
        session_count: number(&mut form, &f, "session_count", "The number of sessions"),
        capacity: number(&mut form, &f, "capacity", "The number of places"),
        service_id: uuid_of(&f, "service_id"),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                programmes::create_programme(&ctx, tx, &key, &actor, &input)
                    .await
                    .map(|p| p.id)
            })
        },
    )
    .await;
    match done {
        Ok(id) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/programmes/{id}?done=created")).into_response())
        }
        Ok(_) => {
            show_programme_form(state, ctx, auth, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            show_programme_form(state, ctx, auth, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => {
            let page = crate::people::PersonRefusedPage {
                layout: Layout::from_ctx(&state, ctx, "You cannot add this programme"),
            };
            Ok(form_reply(StatusCode::FORBIDDEN, page.render()?))
        }
        Err(e) => Err(e),
    }
}

// --- creating a cohort ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "programmes/cohort_form.html")]
pub struct CohortFormPage {
    pub layout: Layout,
    pub p: ProgrammeSummary,
    pub form: FormState,
    pub csrf: String,
}

async fn show_cohort_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let v = load_programme(&state, &auth, id).await?;
    if !v.may_add_cohort {
        return refused(&state, ctx);
    }
    let page = CohortFormPage {
        layout: Layout::from_ctx(&state, ctx, &title_for(&form, "Add a cohort")),
        p: summary(&v.line),
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn cohort_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    show_cohort_form(state, ctx, auth, id, FormState::default(), StatusCode::OK).await
}

fn field_of_cohort(domain: &str) -> String {
    match domain {
        "start_on" => "start-day".into(),
        "sessions" => "topics".into(),
        other => other.into(),
    }
}

pub(crate) async fn cohort_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = CohortInput {
        start_on: form.date(
            "start",
            (
                value(&f, "start-day"),
                value(&f, "start-month"),
                value(&f, "start-year"),
            ),
            "The date of the first session",
            None,
        ),
        venue: value(&f, "venue").into(),
        facilitators: value(&f, "facilitators").into(),
        topics: value(&f, "topics")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        sessions: Vec::new(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                programmes::create_cohort(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|(c, _)| c.id)
            })
        },
    )
    .await;
    match done {
        Ok(cid) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/cohorts/{cid}?done=created")).into_response())
        }
        Ok(_) => {
            show_cohort_form(state, ctx, auth, id, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(
                errs.into_iter()
                    .map(|e| FieldError::new(field_of_cohort(&e.field), e.message)),
            );
            show_cohort_form(state, ctx, auth, id, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

// --- a cohort -------------------------------------------------------------------------------------

pub struct SessionRowView {
    pub id: Uuid,
    pub number: i32,
    pub day: String,
    pub topic: String,
    pub held: bool,
}

pub struct MemberRowView {
    pub id: Uuid,
    pub child_id: Uuid,
    pub name: String,
    pub age: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub withdrew: bool,
    pub completed: bool,
    /// The mark for each session, in session order ("" when none).
    pub marks: Vec<&'static str>,
    pub attended: usize,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "programmes/cohort.html")]
pub struct CohortPage {
    pub layout: Layout,
    pub id: Uuid,
    pub programme_id: Uuid,
    pub programme: String,
    pub org: String,
    pub start: String,
    pub venue: String,
    pub facilitators: String,
    pub places: String,
    pub full: bool,
    pub sessions: Vec<SessionRowView>,
    pub members: Vec<MemberRowView>,
    pub hidden: usize,
    pub may_run: bool,
    pub candidates: Vec<Choice>,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

fn member_row(l: &MemberLine, v: &CohortView) -> MemberRowView {
    let m = &l.member;
    MemberRowView {
        id: m.id,
        child_id: l.child.id,
        name: name(&l.child),
        age: l
            .child
            .age_on(v.cohort.start_on)
            .map(|a| a.to_string())
            .unwrap_or_else(|| "Not known".into()),
        status: m.status.label(),
        status_class: status_class(m.status),
        withdrew: m.status == MemberStatus::Withdrew,
        completed: m.status == MemberStatus::Completed,
        marks: v
            .sessions
            .iter()
            .map(|s| l.at(s.id).map(Attendance::label).unwrap_or(""))
            .collect(),
        attended: l
            .attendance
            .iter()
            .filter(|(_, a)| *a == Attendance::Attended)
            .count(),
        outcome: match (m.status, m.outcome) {
            (MemberStatus::Withdrew, _) => m.withdraw_reason.clone().unwrap_or_default(),
            (_, Some(o)) => format!("{}: {}", o.label(), m.outcome_note),
            _ => String::new(),
        },
    }
}

/// The cohort as the viewer sees it and, for the running organisation, the children they may
/// offer a place (their own list of children, audited by the service that reads it).
async fn load_cohort(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<(CohortView, Vec<Person>), WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let v = programmes::open_cohort(&ctx, tx, &key, &actor, id).await?;
            let candidates = if v.may_run {
                mace_domain::cases::list_children(&ctx, tx, &key, &actor, "", 500).await?
            } else {
                Vec::new()
            };
            Ok((v, candidates))
        })
    })
    .await
}

async fn show_cohort(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    form: FormState,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (v, candidates) = load_cohort(&state, &auth, id).await?;
    let in_cohort: Vec<Uuid> = v.members.iter().map(|m| m.child.id).collect();
    let page = CohortPage {
        layout: Layout::from_ctx(
            &state,
            ctx,
            &title_for(
                &form,
                &format!(
                    "{}: cohort starting {}",
                    v.programme.name,
                    format::day(v.cohort.start_on)
                ),
            ),
        ),
        id: v.cohort.id,
        programme_id: v.programme.id,
        programme: v.programme.name.clone(),
        org: v.org_name.clone(),
        start: format::day(v.cohort.start_on),
        venue: v.cohort.venue.clone(),
        facilitators: v.cohort.facilitators.clone(),
        places: format!("{} of {}", v.places_taken, v.programme.capacity),
        full: v.places_taken >= i64::from(v.programme.capacity),
        sessions: v
            .sessions
            .iter()
            .map(|s| SessionRowView {
                id: s.id,
                number: s.number,
                day: format::day(s.held_on),
                topic: s.topic.clone(),
                held: s.held_on <= v.today,
            })
            .collect(),
        members: v.members.iter().map(|l| member_row(l, &v)).collect(),
        hidden: v.hidden,
        may_run: v.may_run,
        candidates: candidates
            .iter()
            .filter(|c| !in_cohort.contains(&c.id))
            .map(|c| {
                let age = c
                    .age_on(v.cohort.start_on)
                    .map(|a| format!("{a} at the start"))
                    .unwrap_or_else(|| "age not known".into());
                (
                    c.id.to_string(),
                    format!("{} ({age})", name(c)),
                    form.value("person_id") == c.id.to_string(),
                )
            })
            .collect(),
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn cohort(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_deref() {
        Some("created") => Some("The cohort has been added with its sessions."),
        Some("added") => Some("The child has been offered a place."),
        Some("attendance") => Some("Attendance has been recorded."),
        Some("status") => Some("The child's place has been updated."),
        Some("outcome") => Some("The outcome has been recorded."),
        _ => None,
    };
    show_cohort(
        state,
        ctx,
        auth,
        id,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn member_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let Some(person) = uuid_of(&f, "person_id") else {
        form.errors.push(FieldError::new(
            "person_id",
            "Choose a child to offer a place",
        ));
        return show_cohort(
            state,
            ctx,
            auth,
            id,
            form,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            programmes::add_member(&ctx, tx, &key, &actor, id, person)
                .await
                .map(|_| ())
        })
    })
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/cohorts/{id}?done=added")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            show_cohort(
                state,
                ctx,
                auth,
                id,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

// --- attendance -----------------------------------------------------------------------------------

pub struct SheetRow {
    pub member_id: Uuid,
    pub name: String,
    pub status: &'static str,
    pub choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "programmes/attendance.html")]
pub struct AttendancePage {
    pub layout: Layout,
    pub cohort_id: Uuid,
    pub session_id: Uuid,
    pub programme: String,
    pub heading: String,
    pub topic: String,
    pub rows: Vec<SheetRow>,
    pub hidden: usize,
    pub form: FormState,
    pub csrf: String,
}

async fn show_attendance(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    sid: Uuid,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let got = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::session_sheet(&ctx, tx, &key, &actor, sid).await })
    })
    .await;
    let (s, v) = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let heading = format!("Session {}, {}", s.number, format::day(s.held_on));
    let rows = v
        .members
        .iter()
        .map(|l| {
            let field = format!("m_{}", l.member.id);
            let chosen = if form.values.contains_key(&field) {
                form.value(&field).to_string()
            } else {
                l.at(s.id)
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default()
            };
            SheetRow {
                member_id: l.member.id,
                name: name(&l.child),
                status: l.member.status.label(),
                choices: Attendance::ALL
                    .iter()
                    .map(|a| (a.as_str().into(), a.label().into(), chosen == a.as_str()))
                    .collect(),
            }
        })
        .collect();
    let page = AttendancePage {
        layout: Layout::from_ctx(&state, ctx, &title_for(&form, "Record attendance")),
        cohort_id: v.cohort.id,
        session_id: s.id,
        programme: v.programme.name.clone(),
        heading,
        topic: s.topic.clone(),
        rows,
        hidden: v.hidden,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn attendance_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(sid): Path<Uuid>,
) -> Result<Response, WebError> {
    show_attendance(state, ctx, auth, sid, FormState::default(), StatusCode::OK).await
}

pub(crate) async fn attendance_record(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(sid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let marks: Vec<(Uuid, Attendance)> = f
        .iter()
        .filter_map(|(k, v)| {
            let id = Uuid::parse_str(k.strip_prefix("m_")?).ok()?;
            Some((id, Attendance::parse(v.trim())?))
        })
        .collect();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let marks = marks.clone();
        Box::pin(async move {
            let cohort = tx_cohort_of_session(tx, sid).await?;
            programmes::record_attendance(&ctx, tx, &key, &actor, sid, &marks).await?;
            Ok(cohort)
        })
    })
    .await;
    match done {
        Ok(cid) => Ok(Redirect::to(&format!("/cohorts/{cid}?done=attendance")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            show_attendance(
                state,
                ctx,
                auth,
                sid,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

async fn tx_cohort_of_session(tx: &mut mace_store::Tx, sid: Uuid) -> mace_domain::Result<Uuid> {
    use mace_domain::ports::ProgrammeRepo;
    Ok(tx.get_session(sid).await?.ok_or(Error::NotFound)?.cohort_id)
}

// --- a child's place and outcome ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "programmes/member_form.html")]
pub struct MemberFormPage {
    pub layout: Layout,
    pub kind: &'static str,
    pub heading: &'static str,
    pub member_id: Uuid,
    pub cohort_id: Uuid,
    pub child: String,
    pub programme: String,
    pub status: &'static str,
    pub attended: usize,
    pub statuses: Vec<Choice>,
    pub outcomes: Vec<Choice>,
    pub form: FormState,
    pub csrf: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MemberForm {
    Status,
    Outcome,
}

impl MemberForm {
    fn action(self) -> &'static str {
        match self {
            Self::Status => "programme.member.status",
            Self::Outcome => "programme.outcome",
        }
    }
}

async fn show_member_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    mid: Uuid,
    kind: MemberForm,
    form: Option<FormState>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let action = kind.action();
    let got = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::member_sheet(&ctx, tx, &key, &actor, mid, action).await })
    })
    .await;
    let (l, cohort, p) = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let m = &l.member;
    let form = form.unwrap_or_else(|| {
        let before = m.safety_before.map(|r| r.to_string()).unwrap_or_default();
        let after = m.safety_after.map(|r| r.to_string()).unwrap_or_default();
        FormState::kept(&[
            ("status", m.status.as_str()),
            ("reason", m.withdraw_reason.as_deref().unwrap_or_default()),
            ("outcome", m.outcome.map(|o| o.as_str()).unwrap_or_default()),
            ("note", &m.outcome_note),
            ("safety_before", &before),
            ("safety_after", &after),
        ])
    });
    let (kind_code, heading) = match kind {
        MemberForm::Status => ("status", "Change a child's place"),
        MemberForm::Outcome => ("outcome", "Record the outcome"),
    };
    let page = MemberFormPage {
        layout: Layout::from_ctx(&state, ctx, &title_for(&form, heading)),
        kind: kind_code,
        heading,
        member_id: m.id,
        cohort_id: cohort.id,
        child: name(&l.child),
        programme: p.name.clone(),
        status: m.status.label(),
        attended: l
            .attendance
            .iter()
            .filter(|(_, a)| *a == Attendance::Attended)
            .count(),
        statuses: [
            MemberStatus::Offered,
            MemberStatus::Attending,
            MemberStatus::Withdrew,
        ]
        .iter()
        .map(|s| {
            (
                s.as_str().into(),
                s.label().into(),
                form.value("status") == s.as_str(),
            )
        })
        .collect(),
        outcomes: ProgrammeOutcome::ALL
            .iter()
            .map(|o| {
                (
                    o.as_str().into(),
                    o.label().into(),
                    form.value("outcome") == o.as_str(),
                )
            })
            .collect(),
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn status_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(mid): Path<Uuid>,
) -> Result<Response, WebError> {
    show_member_form(
        state,
        ctx,
        auth,
        mid,
        MemberForm::Status,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn outcome_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(mid): Path<Uuid>,
) -> Result<Response, WebError> {
    show_member_form(
        state,
        ctx,
        auth,
        mid,
        MemberForm::Outcome,
        None,
        StatusCode::OK,
    )
    .await
}

async fn finish_member(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    mid: Uuid,
    kind: MemberForm,
    mut form: FormState,
    done: Result<CohortMember, WebError>,
) -> Result<Response, WebError> {
    match done {
        Ok(m) if !form.has_errors() => {
            let what = match kind {
                MemberForm::Status => "status",
                MemberForm::Outcome => "outcome",
            };
            Ok(Redirect::to(&format!("/cohorts/{}?done={what}", m.cohort_id)).into_response())
        }
        Ok(_) => {
            show_member_form(
                state,
                ctx,
                auth,
                mid,
                kind,
                Some(form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            show_member_form(
                state,
                ctx,
                auth,
                mid,
                kind,
                Some(form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

pub(crate) async fn status_set(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(mid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let form = kept(&f);
    let status = MemberStatus::parse(value(&f, "status"));
    let reason = value(&f, "reason").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let reason = reason.clone();
        Box::pin(async move {
            programmes::set_status(&ctx, tx, &key, &actor, mid, status, &reason).await
        })
    })
    .await;
    finish_member(state, ctx, auth, mid, MemberForm::Status, form, done).await
}

pub(crate) async fn outcome_record(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(mid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = OutcomeInput {
        outcome: ProgrammeOutcome::parse(value(&f, "outcome")),
        note: value(&f, "note").into(),
        safety_before: number(&mut form, &f, "safety_before", "The rating before"),
        safety_after: number(&mut form, &f, "safety_after", "The rating after"),
    };
    let done = if form.has_errors() {
        Err(WebError::Domain(Error::Validation(Vec::new())))
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let input = input.clone();
            Box::pin(async move {
                programmes::record_outcome(&ctx, tx, &key, &actor, mid, &input).await
            })
        })
        .await
    };
    finish_member(state, ctx, auth, mid, MemberForm::Outcome, form, done).await
}

// --- a child's programmes -------------------------------------------------------------------------

pub struct PlaceView {
    pub cohort_id: Uuid,
    pub programme: String,
    pub org: String,
    pub start: String,
    pub venue: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub attendance: String,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "programmes/child.html")]
pub struct ChildPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub places: Vec<PlaceView>,
    pub offerable: Vec<Choice>,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

fn attendance_words(sessions: i64, attended: i64, absent: i64, excused: i64) -> String {
    let mut s = format!("{attended} of {sessions} sessions attended");
    if absent > 0 || excused > 0 {
        s.push_str(&format!(" ({absent} absent, {excused} excused)"));
    }
    s
}

async fn show_child(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    form: FormState,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let got = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::child_programmes(&ctx, tx, &key, &actor, id).await })
    })
    .await;
    let c: ChildProgrammes = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let child = name(&c.child);
    let page = ChildPage {
        layout: Layout::from_ctx(
            &state,
            ctx,
            &title_for(&form, &format!("Group programmes: {child}")),
        ),
        id,
        places: c
            .places
            .iter()
            .map(|p| PlaceView {
                cohort_id: p.cohort.id,
                programme: p.programme.name.clone(),
                org: p.org_name.clone(),
                start: format::day(p.cohort.start_on),
                venue: p.cohort.venue.clone(),
                status: p.member.status.label(),
                status_class: status_class(p.member.status),
                attendance: attendance_words(p.sessions, p.attended, p.absent, p.excused),
                outcome: match (p.member.status, p.member.outcome) {
                    (MemberStatus::Withdrew, _) => format!(
                        "Withdrew: {}",
                        p.member.withdraw_reason.clone().unwrap_or_default()
                    ),
                    (_, Some(o)) => {
                        let mut s = format!("{}: {}", o.label(), p.member.outcome_note);
                        if let (Some(b), Some(a)) = (p.member.safety_before, p.member.safety_after)
                        {
                            s.push_str(&format!(" Feeling safe: {b} out of 10 before, {a} after."));
                        }
                        s
                    }
                    _ => String::new(),
                },
            })
            .collect(),
        offerable: c
            .offerable
            .iter()
            .map(|o| {
                (
                    o.cohort.id.to_string(),
                    format!(
                        "{}, starting {} at {}",
                        o.programme.name,
                        format::day(o.cohort.start_on),
                        o.cohort.venue
                    ),
                    form.value("cohort_id") == o.cohort.id.to_string(),
                )
            })
            .collect(),
        name: child,
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

pub(crate) async fn child(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_deref() {
        Some("added") => Some("A place has been offered."),
        _ => None,
    };
    show_child(
        state,
        ctx,
        auth,
        id,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn child_offer(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let Some(cid) = uuid_of(&f, "cohort_id") else {
        form.errors.push(FieldError::new(
            "cohort_id",
            "Choose a cohort to offer a place on",
        ));
        return show_child(
            state,
            ctx,
            auth,
            id,
            form,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            programmes::add_member(&ctx, tx, &key, &actor, cid, id)
                .await
                .map(|_| ())
        })
    })
    .await;
    match done {
        Ok(()) => {
            Ok(Redirect::to(&format!("/children/{id}/programmes?done=added")).into_response())
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(
                errs.into_iter()
                    .map(|e| FieldError::new("cohort_id", e.message)),
            );
            show_child(
                state,
                ctx,
                auth,
                id,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

// --- API ------------------------------------------------------------------------------------------

/// A group programme and its eligibility rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeDto {
    pub id: Uuid,
    pub name: String,
    /// The running organisation.
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub description: String,
    /// Eligible ages in whole years on the cohort's start date, both inclusive.
    pub min_age: i32,
    pub max_age: i32,
    /// Eligible genders (`female`, `male`, `non_binary`, …); empty: any.
    pub genders: Vec<String>,
    /// Eligible postcode districts (outward codes); empty: any.
    pub districts: Vec<String>,
    /// Weekly sessions in a cohort.
    pub session_count: i32,
    /// Children per cohort.
    pub capacity: i32,
    /// The directory service children are referred through.
    pub service_id: Option<Uuid>,
    pub service_name: Option<String>,
}

fn programme_dto(l: &ProgrammeLine) -> ProgrammeDto {
    let p: &Programme = &l.programme;
    ProgrammeDto {
        id: p.id,
        name: p.name.clone(),
        organisation_id: p.org_id,
        organisation_name: l.org_name.clone(),
        description: p.description.clone(),
        min_age: p.min_age,
        max_age: p.max_age,
        genders: p.genders.iter().map(|g| g.as_str().to_string()).collect(),
        districts: p.districts.clone(),
        session_count: p.session_count,
        capacity: p.capacity,
        service_id: p.service_id,
        service_name: l.service_name.clone(),
    }
}

/// Every group programme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammesDto {
    pub programmes: Vec<ProgrammeDto>,
}

/// Every group programme, by name (no personal data).
#[utoipa::path(get, path = "/api/v1/programmes", tag = "programmes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The programmes", body = ProgrammesDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_list(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let (lines, _) = with_actor(&state, &c.user, None, false, |tx, _ctx, _key, actor| {
        Box::pin(async move { programmes::list_programmes(tx, &actor).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &ProgrammesDto {
            programmes: lines.iter().map(programme_dto).collect(),
        },
    ))
}

/// A programme to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProgrammeDto {
    pub name: String,
    /// The running organisation (a team manager may only choose their own).
    pub organisation_id: Uuid,
    pub description: String,
    /// 0 to 25.
    pub min_age: i32,
    /// 0 to 25, at least `min_age`.
    pub max_age: i32,
    /// Person gender codes; empty or absent: any.
    #[serde(default)]
    pub genders: Vec<String>,
    /// Postcode districts such as `CO15`; empty or absent: anywhere.
    #[serde(default)]
    pub districts: Vec<String>,
    /// 1 to 52 weekly sessions.
    pub session_count: i32,
    /// 1 to 100 children per cohort.
    pub capacity: i32,
    /// A service in the directory.
    #[serde(default)]
    pub service_id: Option<Uuid>,
}

/// Create a programme (partnership administrators and managers; a team manager for their own
/// organisation). Refusals are recorded.
#[utoipa::path(post, path = "/api/v1/programmes", tag = "programmes",
    security(("bearer" = [])),
    request_body(content = NewProgrammeDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = ProgrammeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not create programmes for that organisation", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewProgrammeDto>,
) -> Result<Response, WebError> {
    let mut genders = Vec::new();
    for g in &body.genders {
        genders.push(
            Gender::parse(g.trim())
                .ok_or_else(|| Error::validation("genders", "Not a gender mace knows"))?,
        );
    }
    let input = ProgrammeInput {
        name: body.name,
        org_id: Some(body.organisation_id),
        description: body.description,
        min_age: Some(body.min_age),
        max_age: Some(body.max_age),
        genders,
        districts: body.districts,
        session_count: Some(body.session_count),
        capacity: Some(body.capacity),
        service_id: body.service_id,
    };
    let id = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            programmes::create_programme(&ctx, tx, &key, &actor, &input)
                .await
                .map(|p| p.id)
        })
    })
    .await?;
    let v = api_programme(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::CREATED, &v.programme))
}

/// A cohort in a programme's list (a count of places, never names).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortSummaryDto {
    pub id: Uuid,
    /// `YYYY-MM-DD`.
    pub start_on: String,
    pub venue: String,
    pub facilitators: String,
    /// Children holding a place (not withdrawn).
    pub places_taken: i64,
}

/// A programme with its cohorts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeDetailDto {
    pub programme: ProgrammeDto,
    pub cohorts: Vec<CohortSummaryDto>,
}

async fn api_programme(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<ProgrammeDetailDto, WebError> {
    let v = with_actor(state, user, None, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move { programmes::programme_view(tx, &actor, id).await })
    })
    .await?;
    Ok(ProgrammeDetailDto {
        programme: programme_dto(&v.line),
        cohorts: v
            .cohorts
            .iter()
            .map(|c| CohortSummaryDto {
                id: c.cohort.id,
                start_on: format::iso(c.cohort.start_on),
                venue: c.cohort.venue.clone(),
                facilitators: c.cohort.facilitators.clone(),
                places_taken: c.places_taken,
            })
            .collect(),
    })
}

/// A programme and its cohorts (no personal data).
#[utoipa::path(get, path = "/api/v1/programmes/{id}", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "The programme", body = ProgrammeDetailDto, content_type = "application/json"),
        (status = 404, description = "No such programme", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_get(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_programme(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// One session to plan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionDto {
    /// `YYYY-MM-DD`, on or after the cohort's start.
    pub held_on: String,
    #[serde(default)]
    pub topic: String,
}

/// A cohort to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCohortDto {
    /// `YYYY-MM-DD`: the first session.
    pub start_on: String,
    pub venue: String,
    /// Who facilitates, as written.
    pub facilitators: String,
    /// The sessions; absent or empty: the programme's number of sessions, weekly from the start.
    #[serde(default)]
    pub sessions: Vec<NewSessionDto>,
}

/// Add a cohort to a programme (whoever may create the programme, or its running organisation's
/// case workers). Refusals are recorded.
#[utoipa::path(post, path = "/api/v1/programmes/{id}/cohorts", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The programme's id")),
    request_body(content = NewCohortDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = CohortDto, content_type = "application/json"),
        (status = 403, description = "The caller does not run the programme", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such programme", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create_cohort(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewCohortDto>,
) -> Result<Response, WebError> {
    let mut sessions = Vec::new();
    for s in &body.sessions {
        sessions.push(SessionInput {
            held_on: format::parse_iso("sessions", Some(&s.held_on))?,
            topic: s.topic.clone(),
        });
    }
    let input = CohortInput {
        start_on: format::parse_iso("start_on", Some(&body.start_on))?,
        venue: body.venue,
        facilitators: body.facilitators,
        topics: Vec::new(),
        sessions,
    };
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            let (cohort, _) = programmes::create_cohort(&ctx, tx, &key, &actor, id, &input).await?;
            programmes::open_cohort(&ctx, tx, &key, &actor, cohort.id).await
        })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &cohort_dto(&v)))
}

/// A session of a cohort.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDto {
    pub id: Uuid,
    pub number: i32,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub topic: String,
}

/// One session's mark for a child.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkDto {
    /// A session (in a cohort) or a member (on an attendance sheet).
    #[serde(alias = "member_id")]
    pub id: Uuid,
    /// `attended`, `absent` or `excused`.
    pub attendance: String,
}

/// A child's place on a cohort.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceDto {
    /// The member's id (for attendance, status and outcome).
    pub id: Uuid,
    pub cohort_id: Uuid,
    pub child_id: Uuid,
    /// `offered`, `attending`, `completed` or `withdrew`.
    pub status: String,
    pub withdraw_reason: Option<String>,
    /// `positive_change`, `some_change`, `no_change` or `further_support`.
    pub outcome: Option<String>,
    pub outcome_note: String,
    /// How safe the child said they felt, 1 to 10, at the start and at the end.
    pub safety_before: Option<i32>,
    pub safety_after: Option<i32>,
}

fn place_dto(m: &CohortMember) -> PlaceDto {
    PlaceDto {
        id: m.id,
        cohort_id: m.cohort_id,
        child_id: m.person_id,
        status: m.status.as_str().into(),
        withdraw_reason: m.withdraw_reason.clone(),
        outcome: m.outcome.map(|o| o.as_str().into()),
        outcome_note: m.outcome_note.clone(),
        safety_before: m.safety_before,
        safety_after: m.safety_after,
    }
}

/// A member of a cohort, as the running organisation sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberDto {
    pub place: PlaceDto,
    pub child_name: String,
    /// Age on the cohort's start date, when the date of birth is known.
    pub age_at_start: Option<i32>,
    /// One mark per session recorded (`id` is the session's).
    pub attendance: Vec<MarkDto>,
}

/// A cohort with its sessions and, for the running organisation, its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CohortDto {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub programme_name: String,
    pub start_on: String,
    pub venue: String,
    pub facilitators: String,
    pub capacity: i32,
    pub places_taken: i64,
    pub sessions: Vec<SessionDto>,
    /// The children the caller may see: only the running organisation's people who may open
    /// each child's record (each one audited as a consultation).
    pub members: Vec<MemberDto>,
    /// Members not shown to the caller (counted, never named).
    pub members_hidden: usize,
}

fn cohort_dto(v: &CohortView) -> CohortDto {
    CohortDto {
        id: v.cohort.id,
        programme_id: v.programme.id,
        programme_name: v.programme.name.clone(),
        start_on: format::iso(v.cohort.start_on),
        venue: v.cohort.venue.clone(),
        facilitators: v.cohort.facilitators.clone(),
        capacity: v.programme.capacity,
        places_taken: v.places_taken,
        sessions: v
            .sessions
            .iter()
            .map(|s| SessionDto {
                id: s.id,
                number: s.number,
                held_on: format::iso(s.held_on),
                topic: s.topic.clone(),
            })
            .collect(),
        members: v
            .members
            .iter()
            .map(|l| MemberDto {
                place: place_dto(&l.member),
                child_name: name(&l.child),
                age_at_start: l.child.age_on(v.cohort.start_on),
                attendance: l
                    .attendance
                    .iter()
                    .map(|(s, a)| MarkDto {
                        id: *s,
                        attendance: a.as_str().into(),
                    })
                    .collect(),
            })
            .collect(),
        members_hidden: v.hidden,
    }
}

/// A cohort: sessions for anyone signed in; its children only for the running organisation's
/// people who may open each child's record (each child shown audited).
#[utoipa::path(get, path = "/api/v1/cohorts/{id}", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The cohort's id")),
    responses(
        (status = 200, description = "The cohort", body = CohortDto, content_type = "application/json"),
        (status = 404, description = "No such cohort", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_cohort(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::open_cohort(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &cohort_dto(&v)))
}

/// A child to offer a place.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberDto {
    pub child_id: Uuid,
}

/// Offer a child a place: the caller runs the programme and may change the child's record; the
/// child must be eligible on the start date (age, gender, area) and a place free. The reasons
/// come back as field errors on `person_id`.
#[utoipa::path(post, path = "/api/v1/cohorts/{id}/members", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The cohort's id")),
    request_body(content = NewMemberDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Offered", body = PlaceDto, content_type = "application/json"),
        (status = 403, description = "The caller does not run the programme or may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such cohort or child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not eligible, already in the cohort, or the cohort is full", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_member(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewMemberDto>,
) -> Result<Response, WebError> {
    let child = body.child_id;
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::add_member(&ctx, tx, &key, &actor, id, child).await })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &place_dto(&m)))
}

/// A session's attendance.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceSheetDto {
    /// One mark per member (`member_id`, `attendance`).
    pub marks: Vec<MarkDto>,
}

/// How many marks were recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordedDto {
    pub recorded: usize,
}

/// Record a session's attendance (the running organisation, once the session has taken place).
/// A mark recorded again replaces the earlier one.
#[utoipa::path(post, path = "/api/v1/programme-sessions/{id}/attendance", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    request_body(content = AttendanceSheetDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = RecordedDto, content_type = "application/json"),
        (status = 403, description = "The caller does not run the programme or may not change a child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such session", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not valid, or the session is in the future", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_attendance(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(sid): Path<Uuid>,
    Json(body): Json<AttendanceSheetDto>,
) -> Result<Response, WebError> {
    let mut marks = Vec::new();
    for m in &body.marks {
        marks.push((
            m.id,
            Attendance::parse(m.attendance.trim())
                .ok_or_else(|| Error::validation("attendance", "Not an attendance mace knows"))?,
        ));
    }
    let n = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let marks = marks.clone();
        Box::pin(
            async move { programmes::record_attendance(&ctx, tx, &key, &actor, sid, &marks).await },
        )
    })
    .await?;
    Ok(json_response(StatusCode::OK, &RecordedDto { recorded: n }))
}

/// The outcome of a child's place.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeDto {
    /// `positive_change`, `some_change`, `no_change` or `further_support`.
    pub outcome: String,
    /// A short note (up to 1,000 characters).
    pub note: String,
    /// 1 to 10: how safe the child said they felt at the start.
    #[serde(default)]
    pub safety_before: Option<i32>,
    /// 1 to 10: how safe the child said they feel at the end.
    #[serde(default)]
    pub safety_after: Option<i32>,
}

/// Record that a child completed the programme, with the outcome.
#[utoipa::path(post, path = "/api/v1/programme-members/{id}/outcome", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The member's id")),
    request_body(content = OutcomeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = PlaceDto, content_type = "application/json"),
        (status = 403, description = "The caller does not run the programme or may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such member", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_outcome(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(mid): Path<Uuid>,
    Json(body): Json<OutcomeDto>,
) -> Result<Response, WebError> {
    let input = OutcomeInput {
        outcome: Some(
            ProgrammeOutcome::parse(body.outcome.trim())
                .ok_or_else(|| Error::validation("outcome", "Not an outcome mace knows"))?,
        ),
        note: body.note,
        safety_before: body.safety_before,
        safety_after: body.safety_after,
    };
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(
            async move { programmes::record_outcome(&ctx, tx, &key, &actor, mid, &input).await },
        )
    })
    .await?;
    Ok(json_response(StatusCode::OK, &place_dto(&m)))
}

/// A change to a child's place.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusDto {
    /// `offered`, `attending` or `withdrew` (completion comes with the outcome).
    pub status: String,
    /// Why the child withdrew (required then).
    #[serde(default)]
    pub reason: String,
}

/// Change where a child's place stands.
#[utoipa::path(post, path = "/api/v1/programme-members/{id}/status", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The member's id")),
    request_body(content = StatusDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = PlaceDto, content_type = "application/json"),
        (status = 403, description = "The caller does not run the programme or may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such member", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_status(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(mid): Path<Uuid>,
    Json(body): Json<StatusDto>,
) -> Result<Response, WebError> {
    let status = Some(
        MemberStatus::parse(body.status.trim())
            .ok_or_else(|| Error::validation("status", "Not a status mace knows"))?,
    );
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let reason = body.reason.clone();
        Box::pin(async move {
            programmes::set_status(&ctx, tx, &key, &actor, mid, status, &reason).await
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &place_dto(&m)))
}

/// A cohort a child is in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildPlaceDto {
    pub place: PlaceDto,
    pub programme_id: Uuid,
    pub programme_name: String,
    pub organisation_name: String,
    pub start_on: String,
    pub venue: String,
    pub sessions: i64,
    pub attended: i64,
    pub absent: i64,
    pub excused: i64,
}

/// A child's group programmes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildProgrammesDto {
    pub child_id: Uuid,
    /// Newest first.
    pub places: Vec<ChildPlaceDto>,
}

/// The cohorts a child is in (needs the right to open the record). Audited.
#[utoipa::path(get, path = "/api/v1/children/{id}/programmes", tag = "programmes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "The child's places", body = ChildProgrammesDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_child(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let p = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { programmes::child_programmes(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    let dto = ChildProgrammesDto {
        child_id: id,
        places: p
            .places
            .iter()
            .map(|x| ChildPlaceDto {
                place: place_dto(&x.member),
                programme_id: x.programme.id,
                programme_name: x.programme.name.clone(),
                organisation_name: x.org_name.clone(),
                start_on: format::iso(x.cohort.start_on),
                venue: x.cohort.venue.clone(),
                sessions: x.sessions,
                attended: x.attended,
                absent: x.absent,
                excused: x.excused,
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}
