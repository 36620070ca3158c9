//! Missing episodes in the browser and the API (issue 6, items 5 and 6): the child's missing
//! page (episodes, return home interviews due and overdue, prompts to review risk), recording an
//! episode, the child found and returned, each step of the return home interview, resolving a
//! prompt, the work list (`/work/missing`) and the partnership's places of concern
//! (`/places-of-concern`). The services are [`mace_domain::missing`]; handlers only shape what
//! is shown.
//!
//! Times are typed in UK time (a date and a time of day) and stored in UTC.
//! [`open_prompts_for_child`] and [`open_prompts_for_work`] give the record page and `/work` a
//! banner of open prompts (`missing/banner.html`).

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, page_reply, title_for};
use crate::cases::{as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::forms::{
    Choice, DoneQuery, Posted, capitalised, change_unless_invalid, choices, date_of, field_errors,
    invalid, kept, refused, value,
};
use crate::names::Names;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, patch, post};
use axum::{Form, Json, Router};
use mace_domain::missing::{
    self, ChildMissing, Episode, EpisodeCategory, EpisodeInput, FoundBy, FoundInput, Interviewer,
    MissingRisk, MissingWork, PlaceInput, PlaceOfConcern, Prompt, Reporter, RhiState, RhiStep,
};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};
use utoipa::ToSchema;
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/missing", get(child_page))
        .route(
            "/children/{id}/missing/new",
            get(episode_form).post(episode_create),
        )
        .route(
            "/missing-episodes/{id}/found",
            get(found_form).post(found_save),
        )
        .route(
            "/missing-episodes/{id}/interview/{step}",
            get(interview_form).post(interview_save),
        )
        .route(
            "/missing-prompts/{id}/resolve",
            get(resolve_form).post(resolve_save),
        )
        .route("/work/missing", get(work_page))
        .route("/places-of-concern", get(places_page).post(place_add))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/missing", get(api_child).post(api_create))
        .route("/children/{id}/missing/prompts", get(api_prompts))
        .route("/missing-episodes/{id}", patch(api_found))
        .route(
            "/missing-episodes/{id}/return-interview",
            post(api_interview),
        )
        .route("/missing-prompts/{id}/resolve", post(api_resolve))
        .route("/work/missing", get(api_work))
        .route("/places-of-concern", get(api_places).post(api_add_place))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_child, api_create, api_prompts, api_found, api_interview, api_resolve, api_work,
          api_places, api_add_place),
    components(schemas(EpisodeDto, ReturnInterviewDto, PromptDto, ChildMissingDto, NewEpisodeDto,
                       FoundDto, InterviewStepDto, ResolvePromptDto, WorkEpisodeDto, WorkPromptDto,
                       WorkMissingDto, PlaceOfConcernDto, NewPlaceOfConcernDto)),
    tags((name = "missing", description = "Missing episodes, return home interviews, prompts to review risk and places of concern"))
)]
pub(crate) struct Doc;

// --- times ----------------------------------------------------------------------------------------

/// A UK civil date and time of day as the UTC instant (BST when it is in force).
pub(crate) fn from_uk(date: Date, hour: u8, minute: u8) -> Option<OffsetDateTime> {
    let local = date.with_hms(hour, minute, 0).ok()?;
    let bst = UtcOffset::from_hms(1, 0, 0).ok()?;
    let as_bst = local.assume_offset(bst).to_offset(UtcOffset::UTC);
    if format::uk(as_bst).offset() == bst {
        Some(as_bst)
    } else {
        Some(local.assume_utc())
    }
}

/// A time of day as typed: `21:30`, `9:30pm`, `9pm`, `21.30`, `0930`.
pub(crate) fn parse_clock(s: &str) -> Option<(u8, u8)> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let (t, ampm) = if let Some(x) = t.strip_suffix("am") {
        (x.to_string(), Some(false))
    } else if let Some(x) = t.strip_suffix("pm") {
        (x.to_string(), Some(true))
    } else {
        (t, None)
    };
    let (h, m) = if let Some((h, m)) = t.split_once([':', '.']) {
        (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)
    } else if t.len() == 4 && ampm.is_none() {
        (t[..2].parse::<u8>().ok()?, t[2..].parse::<u8>().ok()?)
    } else {
        (t.parse::<u8>().ok()?, 0)
    };
    if m > 59 {
        return None;
    }
    let h = match ampm {
        None if h <= 23 => h,
        Some(pm) if (1..=12).contains(&h) => (h % 12) + if pm { 12 } else { 0 },
        _ => return None,
    };
    Some((h, m))
}

/// A time in UK local parts for a form: (day, month, year, time).
fn uk_parts(t: OffsetDateTime) -> (String, String, String, String) {
    let t = format::uk(t);
    (
        t.day().to_string(),
        u8::from(t.month()).to_string(),
        t.year().to_string(),
        format!("{:02}:{:02}", t.hour(), t.minute()),
    )
}

fn put_time(form: &mut FormState, prefix: &str, t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        let (d, m, y, c) = uk_parts(t);
        form.values.insert(format!("{prefix}-day"), d);
        form.values.insert(format!("{prefix}-month"), m);
        form.values.insert(format!("{prefix}-year"), y);
        form.values.insert(format!("{prefix}-time"), c);
    }
}

/// The API's RFC 3339 time (blank is `None`), truncated to microseconds.
pub(crate) fn parse_time(
    field: &str,
    s: Option<&str>,
) -> mace_domain::Result<Option<OffsetDateTime>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| Some(mace_domain::clock::normalise(t)))
            .map_err(|_| {
                Error::validation(field, &format!("{field} must be an RFC 3339 date and time"))
            }),
    }
}

fn rfc(t: OffsetDateTime) -> String {
    crate::cases_api::rfc3339(t)
}

// --- views ----------------------------------------------------------------------------------------

/// The interview's state as a tag: (text, class).
fn rhi_tag(s: RhiState) -> (String, &'static str) {
    match s {
        RhiState::StillMissing => ("Still missing".into(), "govuk-tag--red"),
        RhiState::Due { due_at, offered } => (
            format!(
                "Interview {}due by {}",
                if offered { "offered, " } else { "" },
                format::date_time(due_at)
            ),
            "govuk-tag--yellow",
        ),
        RhiState::Overdue { due_at, offered } => (
            format!(
                "Interview {}overdue: was due by {}",
                if offered { "offered, " } else { "" },
                format::date_time(due_at)
            ),
            "govuk-tag--red",
        ),
        RhiState::Held { in_time: true } => {
            ("Interview held within 72 hours".into(), "govuk-tag--green")
        }
        RhiState::Held { in_time: false } => (
            "Interview held after 72 hours".into(),
            "govuk-tag--turquoise",
        ),
        RhiState::Declined => ("Interview declined by the child".into(), "govuk-tag--grey"),
        RhiState::NotOffered => ("Interview not offered".into(), "govuk-tag--grey"),
    }
}

/// A label/value row of a summary list.
pub type Row = (&'static str, String);

/// A link an episode offers: (href, text).
pub type Link = (String, &'static str);

/// One episode as shown.
pub struct EpisodeView {
    pub id: Uuid,
    pub heading: String,
    pub open: bool,
    pub tag: (String, &'static str),
    pub rows: Vec<Row>,
    pub interview: Vec<Row>,
    pub links: Vec<Link>,
}

fn yes_no(b: bool) -> String {
    if b { "Yes" } else { "No" }.into()
}

fn episode_view(e: &Episode, names: &Names, now: OffsetDateTime, may_edit: bool) -> EpisodeView {
    let state = e.rhi_state(now);
    let mut rows: Vec<Row> = vec![
        ("Kind", e.category.label().to_string()),
        ("Reported", format::date_time(e.reported_at)),
        (
            "Reported by",
            if e.reporter_name.is_empty() {
                e.reported_by.label().to_string()
            } else {
                format!("{} ({})", e.reported_by.label(), e.reporter_name)
            },
        ),
        ("Police risk level", e.risk.label().to_string()),
    ];
    if !e.police_reference.is_empty() {
        rows.push(("Police reference", e.police_reference.clone()));
    }
    if e.from_care {
        rows.push(("Missing from care", e.placement.clone()));
    }
    if let Some(t) = e.found_at {
        rows.push(("Found", format::date_time(t)));
    }
    if let Some(t) = e.returned_at {
        rows.push(("Returned", format::date_time(t)));
    }
    if let Some(d) = e.duration() {
        rows.push(("Missing for", missing::duration_words(d)));
    }
    if !e.is_open() {
        rows.push((
            "Where found",
            match &e.found_postcode {
                Some(p) => format!("{} ({p})", e.found_where),
                None => e.found_where.clone(),
            },
        ));
        if !e.found_with.is_empty() {
            rows.push(("With", e.found_with.clone()));
        }
        if let Some(b) = e.found_by {
            rows.push(("Found by", b.label().to_string()));
        }
        rows.push((
            "Harm noted",
            if e.harm.is_empty() {
                "None recorded".into()
            } else {
                e.harm.clone()
            },
        ));
    }
    rows.push(("Recorded by", names.org(e.org_id)));
    let r = &e.rhi;
    let mut interview: Vec<Row> = Vec::new();
    if let Some(due) = e.rhi_due_at() {
        interview.push(("Due by", format::date_time(due)));
    }
    if let Some(t) = r.offered_at {
        let by = r.offered_by.map(|b| b.label()).unwrap_or("");
        let who = if r.offered_name.is_empty() {
            by.to_string()
        } else {
            format!("{by} ({})", r.offered_name)
        };
        interview.push(("Offered", format!("{} by {who}", format::date_time(t))));
    }
    if let Some(t) = r.declined_at {
        interview.push(("Declined by the child", format::date_time(t)));
    }
    if let Some(t) = r.held_at {
        let by = r.held_by.map(|b| b.label()).unwrap_or("");
        let who = if r.interviewer.is_empty() {
            by.to_string()
        } else {
            format!("{by} ({})", r.interviewer)
        };
        interview.push(("Held", format!("{} by {who}", format::date_time(t))));
        interview.push((
            "Independent of the placement and local authority",
            yes_no(r.independent.unwrap_or(false)),
        ));
        interview.push(("What the child said", r.child_said.clone()));
        if !r.follow_up.is_empty() {
            interview.push(("Follow-up", r.follow_up.clone()));
        }
    }
    if let Some(t) = r.not_offered_at {
        interview.push((
            "Decision not to offer",
            format!("{}: {}", format::date_time(t), r.not_offered_reason),
        ));
    }
    let mut links: Vec<Link> = Vec::new();
    if may_edit {
        let base = format!("/missing-episodes/{}", e.id);
        if e.is_open() {
            links.push((
                format!("{base}/found"),
                "Record that the child has been found",
            ));
        } else {
            links.push((format!("{base}/found"), "Correct the found details"));
        }
        if state.is_open() {
            if r.offered_at.is_none() {
                links.push((
                    format!("{base}/interview/offered"),
                    "Record the interview offer",
                ));
            } else if r.declined_at.is_none() {
                links.push((
                    format!("{base}/interview/declined"),
                    "Record that the child declined",
                ));
            }
            links.push((format!("{base}/interview/held"), "Record the interview"));
            if r.offered_at.is_none() {
                links.push((
                    format!("{base}/interview/not-offered"),
                    "Record a decision not to offer an interview",
                ));
            }
        } else if state == RhiState::Declined {
            links.push((
                format!("{base}/interview/held"),
                "Record the interview (the child changed their mind)",
            ));
        }
    }
    EpisodeView {
        id: e.id,
        heading: format!(
            "{} reported {}",
            match e.category {
                EpisodeCategory::Missing => "Missing",
                EpisodeCategory::Absent => "Absent",
                EpisodeCategory::AwayFromPlacement => "Away from placement",
            },
            format::date_time(e.reported_at)
        ),
        open: e.is_open(),
        tag: rhi_tag(state),
        rows,
        interview,
        links,
    }
}

/// An open or resolved prompt as shown.
pub struct PromptView {
    pub id: Uuid,
    pub child_id: Uuid,
    pub reason: &'static str,
    pub detail: String,
    pub raised: String,
    pub open: bool,
    pub resolved: String,
}

fn prompt_view(p: &Prompt, names: &Names) -> PromptView {
    PromptView {
        id: p.id,
        child_id: p.person_id,
        reason: p.reason.label(),
        detail: p.detail.clone(),
        raised: format::date_time(p.raised_at),
        open: p.is_open(),
        resolved: match (p.resolved_at, p.resolved_by) {
            (Some(at), Some(by)) => format!(
                "Resolved {} by {}: {}",
                format::date_time(at),
                names.user(by),
                p.resolution
            ),
            _ => String::new(),
        },
    }
}

// --- the child's page -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "missing/child.html")]
pub struct ChildPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub episodes: Vec<EpisodeView>,
    pub prompts: Vec<PromptView>,
    pub recent: usize,
    pub window: i64,
    pub may_edit: bool,
    pub notice: Option<&'static str>,
}

async fn load(state: &AppState, auth: &Auth, id: Uuid) -> Result<(ChildMissing, Names), WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let m = missing::child_missing(&ctx, tx, &key, &actor, id).await?;
            Ok((m, Names::all(tx).await?))
        })
    })
    .await
}

async fn child_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let (m, names) = match load(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let child = name(&m.child);
    let page = ChildPage {
        layout: Layout::from_ctx(&state, ctx, &format!("Missing episodes: {child}")),
        id,
        name: child,
        episodes: m
            .episodes
            .iter()
            .map(|e| episode_view(e, &names, m.now, m.may_edit))
            .collect(),
        prompts: m.prompts.iter().map(|p| prompt_view(p, &names)).collect(),
        recent: m.recent(),
        window: missing::REPEAT_WINDOW_DAYS,
        may_edit: m.may_edit,
        notice: match q.done.as_deref() {
            Some("recorded") => Some("The missing episode has been recorded."),
            Some("found") => Some("The found and return details have been recorded."),
            Some("interview") => Some("The return home interview has been updated."),
            Some("resolved") => Some("The prompt has been resolved."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

// --- forms ----------------------------------------------------------------------------------------

/// Which form a [`FormPage`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormKind {
    Episode,
    Found,
    Offered,
    Declined,
    Held,
    NotOffered,
    Resolve,
}

impl FormKind {
    fn title(self) -> &'static str {
        match self {
            Self::Episode => "Record a missing episode",
            Self::Found => "Found and returned",
            Self::Offered => "Return home interview offered",
            Self::Declined => "Return home interview declined",
            Self::Held => "Return home interview held",
            Self::NotOffered => "Decision not to offer a return home interview",
            Self::Resolve => "Resolve a prompt to review risk",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Self::Episode => "episode",
            Self::Found => "found",
            Self::Offered => "offered",
            Self::Declined => "declined",
            Self::Held => "held",
            Self::NotOffered => "not_offered",
            Self::Resolve => "resolve",
        }
    }
    fn from_step(s: &str) -> Option<Self> {
        match s {
            "offered" => Some(Self::Offered),
            "declined" => Some(Self::Declined),
            "held" => Some(Self::Held),
            "not-offered" => Some(Self::NotOffered),
            _ => None,
        }
    }
    fn step(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Declined => "declined",
            Self::Held => "held",
            _ => "not-offered",
        }
    }
    /// Domain field → the form's field (times are reported on their day box).
    fn field(domain: &str) -> String {
        match domain {
            "reported_at" => "reported-day".into(),
            "found_at" => "found-day".into(),
            "returned_at" => "returned-day".into(),
            "at" => "at-day".into(),
            other => other.into(),
        }
    }
}

/// An option of a radio group: (code, label, chosen).
fn yes_no_choices(chosen: &str) -> Vec<Choice> {
    vec![
        ("yes".into(), "Yes".into(), chosen == "yes"),
        ("no".into(), "No".into(), chosen == "no"),
    ]
}

#[derive(Template)]
#[template(path = "missing/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub heading: &'static str,
    pub action_url: String,
    pub form: FormState,
    pub csrf: String,
    pub categories: Vec<Choice>,
    pub reporters: Vec<Choice>,
    pub risks: Vec<Choice>,
    pub from_care: Vec<Choice>,
    pub found_by: Vec<Choice>,
    pub interviewers: Vec<Choice>,
    pub independent: Vec<Choice>,
    /// Show the optional "already found" part of a new episode open.
    pub found_open: bool,
    /// What the form is about (the episode or the prompt), for context.
    pub context: String,
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    child: &mace_domain::person::Person,
    kind: FormKind,
    form: FormState,
    action_url: String,
    context: String,
) -> Result<String, WebError> {
    let title = title_for(&form, kind.title());
    let found_open = [
        "found-day",
        "found-time",
        "found_where",
        "found_postcode",
        "found_by",
    ]
    .iter()
    .any(|k| !form.value(k).is_empty());
    let page = FormPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id: child.id,
        name: name(child),
        kind: kind.code(),
        heading: kind.title(),
        action_url,
        categories: choices(
            EpisodeCategory::ALL,
            EpisodeCategory::as_str,
            EpisodeCategory::label,
            form.value("category"),
        ),
        reporters: choices(
            Reporter::ALL,
            Reporter::as_str,
            Reporter::label,
            form.value("reported_by"),
        ),
        risks: choices(
            MissingRisk::ALL,
            MissingRisk::as_str,
            MissingRisk::label,
            form.value("risk"),
        ),
        from_care: yes_no_choices(form.value("from_care")),
        found_by: choices(
            FoundBy::ALL,
            FoundBy::as_str,
            FoundBy::label,
            form.value("found_by"),
        ),
        interviewers: choices(
            Interviewer::ALL,
            Interviewer::as_str,
            Interviewer::label,
            form.value("by"),
        ),
        independent: yes_no_choices(form.value("independent")),
        found_open,
        context,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    Ok(page.render()?)
}

/// A date (three boxes) and a time of day, in UK time: blank is `None`; anything else must be
/// complete and real, or the error is on `<prefix>-day`.
fn when_of(form: &mut FormState, f: &Posted, prefix: &str, label: &str) -> Option<OffsetDateTime> {
    let errors_before = form.errors.len();
    let date = date_of(form, f, prefix, label);
    if form.errors.len() > errors_before {
        return None;
    }
    let clock = value(f, &format!("{prefix}-time")).trim();
    let field = format!("{prefix}-day");
    match (date, clock.is_empty()) {
        (None, true) => None,
        (None, false) => {
            form.errors.push(FieldError::new(
                &field,
                format!("{label} must include a date"),
            ));
            None
        }
        (Some(_), true) => {
            form.errors.push(FieldError::new(
                &field,
                format!("{label} must include a time, like 21:30"),
            ));
            None
        }
        (Some(d), false) => match parse_clock(clock).and_then(|(h, m)| from_uk(d, h, m)) {
            Some(t) => Some(t),
            None => {
                form.errors.push(FieldError::new(
                    &field,
                    format!("{label} must have a real time, like 21:30 or 9:30pm"),
                ));
                None
            }
        },
    }
}

/// What a form page is about: the child (for the heading), the form's URL and context text.
struct Target {
    child: mace_domain::person::Person,
    action_url: String,
    context: String,
    /// Where to go back to.
    back: String,
}

/// Load what a form needs (the read is decided and audited by the service).
async fn target(
    state: &AppState,
    auth: &Auth,
    kind: FormKind,
    id: Uuid,
) -> Result<(Target, ChildMissing), WebError> {
    let (child_id, episode, prompt) = match kind {
        FormKind::Episode => (id, None, None),
        FormKind::Resolve => {
            let p = as_user(state, auth, false, move |tx, _c, _k, _a| {
                Box::pin(async move { missing::prompt_of(tx, id).await })
            })
            .await?;
            (p.person_id, None, Some(p))
        }
        _ => {
            let e = as_user(state, auth, false, move |tx, _c, _k, _a| {
                Box::pin(async move { missing::episode_child(tx, id).await })
            })
            .await?;
            (e.person_id, Some(e), None)
        }
    };
    let (m, _) = load(state, auth, child_id).await?;
    let action_url = match kind {
        FormKind::Episode => format!("/children/{id}/missing/new"),
        FormKind::Found => format!("/missing-episodes/{id}/found"),
        FormKind::Resolve => format!("/missing-prompts/{id}/resolve"),
        k => format!("/missing-episodes/{id}/interview/{}", k.step()),
    };
    let context = match (&episode, &prompt) {
        (Some(e), _) => {
            let mut s = format!(
                "{}, reported {}",
                e.category.label(),
                format::date_time(e.reported_at)
            );
            if let Some(b) = e.back_at() {
                s.push_str(&format!("; back {}", format::date_time(b)));
            }
            s
        }
        (_, Some(p)) => format!("{}: {}", p.reason.label(), p.detail),
        _ => String::new(),
    };
    Ok((
        Target {
            back: format!("/children/{child_id}/missing"),
            child: m.child.clone(),
            action_url,
            context,
        },
        m,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn show_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    kind: FormKind,
    id: Uuid,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (t, m) = match target(&state, &auth, kind, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    if !m.may_edit {
        return Ok(Redirect::to(&t.back).into_response());
    }
    let html = render_form(
        &state,
        ctx,
        &auth,
        &t.child,
        kind,
        form,
        t.action_url,
        t.context,
    )?;
    Ok(page_reply(status, html))
}

/// After a service call: on success back to the child's missing page; on invalid input the
/// form again with what was typed and the errors.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    kind: FormKind,
    id: Uuid,
    mut form: FormState,
    done: Result<Uuid, WebError>,
    what: &str,
) -> Result<Response, WebError> {
    match done {
        Ok(child) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/children/{child}/missing?done={what}")).into_response())
        }
        Ok(_) => {
            show_form(
                state,
                ctx,
                auth,
                kind,
                id,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            field_errors(&mut form, errs, FormKind::field);
            show_form(
                state,
                ctx,
                auth,
                kind,
                id,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Conflict(msg))) => {
            form.errors.push(FieldError::new("form", capitalised(&msg)));
            show_form(state, ctx, auth, kind, id, form, StatusCode::CONFLICT).await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

async fn episode_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let mut form = FormState::default();
    let today = format::uk(state.ctx.clock.now()).date();
    form.values
        .insert("reported-day".into(), today.day().to_string());
    form.values
        .insert("reported-month".into(), u8::from(today.month()).to_string());
    form.values
        .insert("reported-year".into(), today.year().to_string());
    form.values.insert("from_care".into(), "no".into());
    show_form(
        state,
        ctx,
        auth,
        FormKind::Episode,
        id,
        form,
        StatusCode::OK,
    )
    .await
}

fn found_input(form: &mut FormState, f: &Posted) -> FoundInput {
    FoundInput {
        found_at: when_of(form, f, "found", "The time found"),
        returned_at: when_of(form, f, "returned", "The time they returned"),
        found_where: value(f, "found_where").into(),
        found_postcode: value(f, "found_postcode").into(),
        found_with: value(f, "found_with").into(),
        found_by: FoundBy::parse(value(f, "found_by")),
        harm: value(f, "harm").into(),
    }
}

async fn episode_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = EpisodeInput {
        category: EpisodeCategory::parse(value(&f, "category")),
        reported_at: when_of(&mut form, &f, "reported", "The time reported"),
        reported_by: Reporter::parse(value(&f, "reported_by")),
        reporter_name: value(&f, "reporter_name").into(),
        police_reference: value(&f, "police_reference").into(),
        from_care: value(&f, "from_care") == "yes",
        placement: value(&f, "placement").into(),
        risk: MissingRisk::parse(value(&f, "risk")),
        found: found_input(&mut form, &f),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                missing::record_episode(&ctx, tx, &key, &actor, id, &input)
                    .await
                    .map(|e| e.person_id)
            })
        },
    )
    .await;
    finish(
        state,
        ctx,
        auth,
        FormKind::Episode,
        id,
        form,
        done,
        "recorded",
    )
    .await
}

async fn found_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(eid): Path<Uuid>,
) -> Result<Response, WebError> {
    let e = as_user(&state, &auth, false, move |tx, _c, _k, _a| {
        Box::pin(async move { missing::episode_child(tx, eid).await })
    })
    .await?;
    let mut form = FormState::default();
    if e.is_open() {
        let today = format::uk(state.ctx.clock.now()).date();
        form.values
            .insert("found-day".into(), today.day().to_string());
        form.values
            .insert("found-month".into(), u8::from(today.month()).to_string());
        form.values
            .insert("found-year".into(), today.year().to_string());
    } else {
        put_time(&mut form, "found", e.found_at);
        put_time(&mut form, "returned", e.returned_at);
        form.values.insert("found_where".into(), e.found_where);
        form.values.insert(
            "found_postcode".into(),
            e.found_postcode.map(|p| p.to_string()).unwrap_or_default(),
        );
        form.values.insert("found_with".into(), e.found_with);
        form.values.insert(
            "found_by".into(),
            e.found_by
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
        );
        form.values.insert("harm".into(), e.harm);
    }
    show_form(state, ctx, auth, FormKind::Found, eid, form, StatusCode::OK).await
}

async fn found_save(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(eid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = found_input(&mut form, &f);
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                missing::record_found(&ctx, tx, &key, &actor, eid, &input)
                    .await
                    .map(|e| e.person_id)
            })
        },
    )
    .await;
    finish(state, ctx, auth, FormKind::Found, eid, form, done, "found").await
}

async fn interview_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((eid, step)): Path<(Uuid, String)>,
) -> Result<Response, WebError> {
    let kind = FormKind::from_step(&step).ok_or(WebError::NotFound)?;
    show_form(
        state,
        ctx,
        auth,
        kind,
        eid,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

fn step_of(kind: FormKind, form: &mut FormState, f: &Posted) -> RhiStep {
    match kind {
        FormKind::Offered => RhiStep::Offered {
            at: when_of(form, f, "at", "The time offered"),
            by: Interviewer::parse(value(f, "by")),
            name: value(f, "name").into(),
        },
        FormKind::Declined => RhiStep::Declined {
            at: when_of(form, f, "at", "The time the child declined"),
        },
        FormKind::Held => RhiStep::Held {
            at: when_of(form, f, "at", "The time held"),
            by: Interviewer::parse(value(f, "by")),
            interviewer: value(f, "interviewer").into(),
            independent: match value(f, "independent") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            child_said: value(f, "child_said").into(),
            follow_up: value(f, "follow_up").into(),
        },
        _ => RhiStep::NotOffered {
            reason: value(f, "reason").into(),
        },
    }
}

async fn interview_save(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((eid, step)): Path<(Uuid, String)>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let kind = FormKind::from_step(&step).ok_or(WebError::NotFound)?;
    let mut form = kept(&f);
    let step = step_of(kind, &mut form, &f);
    let done = if form.has_errors() {
        invalid()
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let step = step.clone();
            Box::pin(async move {
                missing::record_interview(&ctx, tx, &key, &actor, eid, &step)
                    .await
                    .map(|e| e.person_id)
            })
        })
        .await
    };
    finish(state, ctx, auth, kind, eid, form, done, "interview").await
}

async fn resolve_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(pid): Path<Uuid>,
) -> Result<Response, WebError> {
    show_form(
        state,
        ctx,
        auth,
        FormKind::Resolve,
        pid,
        FormState::default(),
        StatusCode::OK,
    )
    .await
}

async fn resolve_save(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(pid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let form = kept(&f);
    let note = value(&f, "resolution").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(async move {
            missing::resolve_prompt(&ctx, tx, &key, &actor, pid, &note)
                .await
                .map(|p| p.person_id)
        })
    })
    .await;
    finish(
        state,
        ctx,
        auth,
        FormKind::Resolve,
        pid,
        form,
        done,
        "resolved",
    )
    .await
}

// --- banners for the record page and /work -------------------------------------------------------

/// An open prompt to review a child's risk, for a banner.
pub struct PromptBanner {
    pub id: Uuid,
    pub child_id: Uuid,
    /// Set on the work list.
    pub child: String,
    pub reason: &'static str,
    pub detail: String,
    pub raised: String,
}

/// The child's open prompts for a banner on their record page (`missing/banner.html`), for a
/// viewer the record page has already authorised and audited: decided again on the reader,
/// nothing appended. A refused viewer gets no banner.
pub(crate) async fn open_prompts_for_child(
    state: &AppState,
    auth: &Auth,
    child_id: Uuid,
) -> Result<Vec<PromptBanner>, WebError> {
    let got = as_user(state, auth, false, move |tx, ctx, _key, actor| {
        Box::pin(async move { missing::open_prompts_for_child(&ctx, tx, &actor, child_id).await })
    })
    .await;
    let prompts = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return Ok(Vec::new()),
        other => other?,
    };
    Ok(prompts
        .iter()
        .map(|p| PromptBanner {
            id: p.id,
            child_id: p.person_id,
            child: String::new(),
            reason: p.reason.label(),
            detail: p.detail.clone(),
            raised: format::date_time(p.raised_at),
        })
        .collect())
}

/// For the main `/work` page: open prompts of children in the viewer's scope, and how many
/// return home interviews are overdue. Audited as the missing work list.
pub(crate) struct WorkSummary {
    pub prompts: Vec<PromptBanner>,
    pub overdue_interviews: usize,
}

pub(crate) async fn open_prompts_for_work(
    state: &AppState,
    auth: &Auth,
) -> Result<WorkSummary, WebError> {
    let w = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { missing::work(&ctx, tx, &key, &actor).await })
    })
    .await?;
    Ok(WorkSummary {
        overdue_interviews: w
            .interviews
            .iter()
            .filter(|l| matches!(l.state, RhiState::Overdue { .. }))
            .count(),
        prompts: w
            .prompts
            .iter()
            .map(|l| PromptBanner {
                id: l.prompt.id,
                child_id: l.child.id,
                child: name(&l.child),
                reason: l.prompt.reason.label(),
                detail: l.prompt.detail.clone(),
                raised: format::date_time(l.prompt.raised_at),
            })
            .collect(),
    })
}

// --- the work list --------------------------------------------------------------------------------

pub struct WorkRow {
    pub child_id: Uuid,
    pub child: String,
    pub episode_id: Uuid,
    pub reported: String,
    pub back: String,
    pub tag: (String, &'static str),
    pub overdue: bool,
    pub risk: &'static str,
}

fn work_row(l: &missing::EpisodeLine) -> WorkRow {
    WorkRow {
        child_id: l.child.id,
        child: name(&l.child),
        episode_id: l.episode.id,
        reported: format::date_time(l.episode.reported_at),
        back: l
            .episode
            .back_at()
            .map(format::date_time)
            .unwrap_or_default(),
        tag: rhi_tag(l.state),
        overdue: matches!(l.state, RhiState::Overdue { .. }),
        risk: l.episode.risk.label(),
    }
}

#[derive(Template)]
#[template(path = "missing/work.html")]
pub struct WorkPage {
    pub layout: Layout,
    pub interviews: Vec<WorkRow>,
    pub overdue: usize,
    pub still_missing: Vec<WorkRow>,
    pub prompts: Vec<PromptBanner>,
}

async fn work_lists(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa_at: Option<OffsetDateTime>,
) -> Result<MissingWork, WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        Box::pin(async move { missing::work(&ctx, tx, &key, &actor).await })
    })
    .await
}

async fn work_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let w = work_lists(&state, &auth.user, auth.session.mfa_at).await?;
    let interviews: Vec<WorkRow> = w.interviews.iter().map(work_row).collect();
    let page = WorkPage {
        layout: Layout::from_ctx(&state, ctx, "Missing children: interviews and prompts"),
        overdue: interviews.iter().filter(|r| r.overdue).count(),
        interviews,
        still_missing: w.still_missing.iter().map(work_row).collect(),
        prompts: w
            .prompts
            .iter()
            .map(|l| PromptBanner {
                id: l.prompt.id,
                child_id: l.child.id,
                child: name(&l.child),
                reason: l.prompt.reason.label(),
                detail: l.prompt.detail.clone(),
                raised: format::date_time(l.prompt.raised_at),
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

// --- places of concern ----------------------------------------------------------------------------

pub struct PlaceRow {
    pub name: String,
    pub area: String,
    pub note: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "missing/places.html")]
pub struct PlacesPage {
    pub layout: Layout,
    pub places: Vec<PlaceRow>,
    pub may_add: bool,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

async fn render_places(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (places, actor, names) = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let p = missing::list_places(&ctx, tx, &key, &actor).await?;
            Ok((p, actor, Names::all(tx).await?))
        })
    })
    .await?;
    let title = title_for(&form, "Places of concern");
    let page = PlacesPage {
        layout: Layout::from_ctx(state, ctx, &title),
        places: places
            .iter()
            .map(|p| PlaceRow {
                name: p.name.clone(),
                area: p.area(),
                note: p.note.clone(),
                added: format!("{} by {}", format::date(p.created_at), names.org(p.org_id)),
            })
            .collect(),
        may_add: missing::may_add_place(&actor),
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

async fn places_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = (q.done.as_deref() == Some("added")).then_some("The place has been added.");
    render_places(
        &state,
        ctx,
        &auth,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn place_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = PlaceInput {
        name: value(&f, "name").into(),
        postcode: value(&f, "postcode").into(),
        note: value(&f, "note").into(),
        latitude: value(&f, "latitude").into(),
        longitude: value(&f, "longitude").into(),
    };
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { missing::add_place(&ctx, tx, &key, &actor, &input).await })
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/places-of-concern?done=added").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            render_places(
                &state,
                ctx,
                &auth,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// --- API ------------------------------------------------------------------------------------------

/// The return home interview on an episode.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnInterviewDto {
    /// `still_missing`, `due`, `overdue`, `held`, `declined` or `not_offered`.
    pub state: String,
    /// 72 hours after the child's return (RFC 3339), once they are back.
    pub due_at: Option<String>,
    pub offered_at: Option<String>,
    /// `social_worker`, `dedicated_team`, `youth_worker`, `independent_service` or `other`.
    pub offered_by: Option<String>,
    pub offered_name: String,
    pub declined_at: Option<String>,
    pub held_at: Option<String>,
    pub held_by: Option<String>,
    pub interviewer: String,
    /// Independent of the placement and the local authority.
    pub independent: Option<bool>,
    pub child_said: String,
    pub follow_up: String,
    pub not_offered_at: Option<String>,
    pub not_offered_reason: String,
}

/// A missing episode.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EpisodeDto {
    pub id: Uuid,
    pub child_id: Uuid,
    /// `missing`, `absent` or `away_from_placement`.
    pub category: String,
    pub reported_at: String,
    /// `parent`, `carer`, `childrens_home`, `school` or `other`.
    pub reported_by: String,
    pub reporter_name: String,
    pub police_reference: String,
    pub from_care: bool,
    pub placement: String,
    /// `no_apparent_risk`, `low`, `medium` or `high`.
    pub risk_level: String,
    /// The child is still missing.
    pub open: bool,
    pub found_at: Option<String>,
    pub returned_at: Option<String>,
    /// Reported until found (or returned), in minutes.
    pub duration_minutes: Option<i64>,
    pub found_where: String,
    pub found_postcode: Option<String>,
    pub found_with: String,
    /// `police`, `returned_themselves`, `parent_carer` or `other`.
    pub found_by: Option<String>,
    pub harm: String,
    pub return_interview: ReturnInterviewDto,
    pub organisation_id: Uuid,
}

fn episode_dto(e: &Episode, now: OffsetDateTime) -> EpisodeDto {
    let r = &e.rhi;
    EpisodeDto {
        id: e.id,
        child_id: e.person_id,
        category: e.category.as_str().into(),
        reported_at: rfc(e.reported_at),
        reported_by: e.reported_by.as_str().into(),
        reporter_name: e.reporter_name.clone(),
        police_reference: e.police_reference.clone(),
        from_care: e.from_care,
        placement: e.placement.clone(),
        risk_level: e.risk.as_str().into(),
        open: e.is_open(),
        found_at: e.found_at.map(rfc),
        returned_at: e.returned_at.map(rfc),
        duration_minutes: e.duration().map(|d| d.whole_minutes()),
        found_where: e.found_where.clone(),
        found_postcode: e.found_postcode.as_ref().map(|p| p.to_string()),
        found_with: e.found_with.clone(),
        found_by: e.found_by.map(|b| b.as_str().into()),
        harm: e.harm.clone(),
        return_interview: ReturnInterviewDto {
            state: e.rhi_state(now).code().into(),
            due_at: e.rhi_due_at().map(rfc),
            offered_at: r.offered_at.map(rfc),
            offered_by: r.offered_by.map(|b| b.as_str().into()),
            offered_name: r.offered_name.clone(),
            declined_at: r.declined_at.map(rfc),
            held_at: r.held_at.map(rfc),
            held_by: r.held_by.map(|b| b.as_str().into()),
            interviewer: r.interviewer.clone(),
            independent: r.independent,
            child_said: r.child_said.clone(),
            follow_up: r.follow_up.clone(),
            not_offered_at: r.not_offered_at.map(rfc),
            not_offered_reason: r.not_offered_reason.clone(),
        },
        organisation_id: e.org_id,
    }
}

/// A prompt to review a child's risk.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PromptDto {
    pub id: Uuid,
    pub child_id: Uuid,
    pub episode_id: Uuid,
    /// `repeat_missing` or `place_of_concern`.
    pub reason: String,
    pub detail: String,
    pub place_id: Option<Uuid>,
    pub raised_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolution: String,
    /// Where to start a risk assessment for the child.
    pub assessment_url: String,
}

fn prompt_dto(p: &Prompt) -> PromptDto {
    PromptDto {
        id: p.id,
        child_id: p.person_id,
        episode_id: p.episode_id,
        reason: p.reason.as_str().into(),
        detail: p.detail.clone(),
        place_id: p.place_id,
        raised_at: rfc(p.raised_at),
        resolved_at: p.resolved_at.map(rfc),
        resolved_by: p.resolved_by,
        resolution: p.resolution.clone(),
        assessment_url: format!("/children/{}/assessments/new", p.person_id),
    }
}

/// A child's missing episodes and prompts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildMissingDto {
    pub child_id: Uuid,
    /// Newest reported first.
    pub episodes: Vec<EpisodeDto>,
    /// Newest first, open and resolved.
    pub prompts: Vec<PromptDto>,
    /// Episodes reported in the last 90 days.
    pub recent_episodes: usize,
}

async fn api_missing(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<ChildMissingDto, WebError> {
    let m = with_actor(state, user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { missing::child_missing(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(ChildMissingDto {
        child_id: id,
        episodes: m.episodes.iter().map(|e| episode_dto(e, m.now)).collect(),
        prompts: m.prompts.iter().map(prompt_dto).collect(),
        recent_episodes: m.recent(),
    })
}

/// The child's missing episodes and prompts (needs the right to open the record). Audited.
#[utoipa::path(get, path = "/api/v1/children/{id}/missing", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "Episodes and prompts", body = ChildMissingDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_child(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_missing(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// The child's prompts to review risk, open and resolved (needs the right to open the record).
#[utoipa::path(get, path = "/api/v1/children/{id}/missing/prompts", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "The prompts, newest first", body = [PromptDto], content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_prompts(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_missing(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto.prompts))
}

/// The child found (or back) and returned.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct FoundDto {
    /// RFC 3339; not before the report, not in the future.
    pub found_at: String,
    /// RFC 3339; not before `found_at`. The interview clock runs from here, or from `found_at`.
    #[serde(default)]
    pub returned_at: Option<String>,
    pub found_where: String,
    /// A full UK postcode (optional): it is checked against the places of concern.
    #[serde(default)]
    pub found_postcode: Option<String>,
    #[serde(default)]
    pub found_with: String,
    /// `police`, `returned_themselves`, `parent_carer` or `other`.
    pub found_by: String,
    #[serde(default)]
    pub harm: String,
}

fn found_from(body: FoundDto) -> mace_domain::Result<FoundInput> {
    Ok(FoundInput {
        found_at: parse_time("found_at", Some(&body.found_at))?,
        returned_at: parse_time("returned_at", body.returned_at.as_deref())?,
        found_where: body.found_where,
        found_postcode: body.found_postcode.unwrap_or_default(),
        found_with: body.found_with,
        found_by: Some(
            FoundBy::parse(body.found_by.trim())
                .ok_or_else(|| Error::validation("found_by", "Not a value mace knows"))?,
        ),
        harm: body.harm,
    })
}

/// A missing episode to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewEpisodeDto {
    /// `missing`, `absent` or `away_from_placement`.
    pub category: String,
    /// RFC 3339, not in the future.
    pub reported_at: String,
    /// `parent`, `carer`, `childrens_home`, `school` or `other` (which needs `reporter_name`).
    pub reported_by: String,
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub police_reference: String,
    #[serde(default)]
    pub from_care: bool,
    /// Required when `from_care`.
    #[serde(default)]
    pub placement: String,
    /// `no_apparent_risk`, `low`, `medium` or `high`.
    pub risk_level: String,
    /// When the child is already back.
    #[serde(default)]
    pub found: Option<FoundDto>,
}

/// Record a missing episode (needs the right to change the record). Repeat episodes and a
/// place of concern raise prompts.
#[utoipa::path(post, path = "/api/v1/children/{id}/missing", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewEpisodeDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = EpisodeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewEpisodeDto>,
) -> Result<Response, WebError> {
    let bad = |f: &str| Error::validation(f, "Not a value mace knows");
    let input = EpisodeInput {
        category: Some(
            EpisodeCategory::parse(body.category.trim()).ok_or_else(|| bad("category"))?,
        ),
        reported_at: parse_time("reported_at", Some(&body.reported_at))?,
        reported_by: Some(
            Reporter::parse(body.reported_by.trim()).ok_or_else(|| bad("reported_by"))?,
        ),
        reporter_name: body.reporter_name,
        police_reference: body.police_reference,
        from_care: body.from_care,
        placement: body.placement,
        risk: Some(MissingRisk::parse(body.risk_level.trim()).ok_or_else(|| bad("risk_level"))?),
        found: match body.found {
            Some(f) => found_from(f)?,
            None => FoundInput::default(),
        },
    };
    let (e, now) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            let e = missing::record_episode(&ctx, tx, &key, &actor, id, &input).await?;
            Ok((e, ctx.clock.now()))
        })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &episode_dto(&e, now)))
}

/// Record (or correct) that the child was found and returned.
#[utoipa::path(patch, path = "/api/v1/missing-episodes/{id}", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The episode's id")),
    request_body(content = FoundDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = EpisodeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such episode", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_found(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(eid): Path<Uuid>,
    Json(body): Json<FoundDto>,
) -> Result<Response, WebError> {
    let input = found_from(body)?;
    let (e, now) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            let e = missing::record_found(&ctx, tx, &key, &actor, eid, &input).await?;
            Ok((e, ctx.clock.now()))
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &episode_dto(&e, now)))
}

/// A step of the return home interview.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct InterviewStepDto {
    /// `offered`, `declined`, `held` or `not_offered`.
    pub step: String,
    /// RFC 3339: when it was offered, declined or held (not for `not_offered`).
    #[serde(default)]
    pub at: Option<String>,
    /// Who offered or held it: `social_worker`, `dedicated_team`, `youth_worker`,
    /// `independent_service` or `other`.
    #[serde(default)]
    pub by: Option<String>,
    /// The name or role of whoever offered it (`offered`) or held it (`held`).
    #[serde(default)]
    pub name: String,
    /// `held`: independent of the placement and the local authority.
    #[serde(default)]
    pub independent: Option<bool>,
    /// `held`: what the child said.
    #[serde(default)]
    pub child_said: String,
    #[serde(default)]
    pub follow_up: String,
    /// `not_offered`: why (at least 10 characters).
    #[serde(default)]
    pub reason: String,
}

/// Record a step of the episode's return home interview: offered, declined by the child, held,
/// or a decision not to offer one.
#[utoipa::path(post, path = "/api/v1/missing-episodes/{id}/return-interview", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The episode's id")),
    request_body(content = InterviewStepDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = EpisodeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such episode", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The child is not back yet, or the interview is already held or decided against", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_interview(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(eid): Path<Uuid>,
    Json(body): Json<InterviewStepDto>,
) -> Result<Response, WebError> {
    let at = parse_time("at", body.at.as_deref())?;
    let by = match body.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            Interviewer::parse(s)
                .ok_or_else(|| Error::validation("by", "Not a value mace knows"))?,
        ),
    };
    let step = match body.step.trim() {
        "offered" => RhiStep::Offered {
            at,
            by,
            name: body.name,
        },
        "declined" => RhiStep::Declined { at },
        "held" => RhiStep::Held {
            at,
            by,
            interviewer: body.name,
            independent: body.independent,
            child_said: body.child_said,
            follow_up: body.follow_up,
        },
        "not_offered" => RhiStep::NotOffered {
            reason: body.reason,
        },
        _ => return Err(Error::validation("step", "Not a step mace knows").into()),
    };
    let (e, now) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let step = step.clone();
        Box::pin(async move {
            let e = missing::record_interview(&ctx, tx, &key, &actor, eid, &step).await?;
            Ok((e, ctx.clock.now()))
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &episode_dto(&e, now)))
}

/// How a prompt was resolved.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ResolvePromptDto {
    /// What was done, for example "risk assessment started" (at least 10 characters).
    pub resolution: String,
}

/// Resolve a prompt to review a child's risk (needs the right to change the record).
#[utoipa::path(post, path = "/api/v1/missing-prompts/{id}/resolve", tag = "missing",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The prompt's id")),
    request_body(content = ResolvePromptDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Resolved", body = PromptDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such prompt", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already resolved", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No note, or too short", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_resolve(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(pid): Path<Uuid>,
    Json(body): Json<ResolvePromptDto>,
) -> Result<Response, WebError> {
    let p = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let note = body.resolution.clone();
        Box::pin(async move { missing::resolve_prompt(&ctx, tx, &key, &actor, pid, &note).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &prompt_dto(&p)))
}

/// An episode in the work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkEpisodeDto {
    pub child_id: Uuid,
    pub child_name: String,
    pub episode: EpisodeDto,
}

/// An open prompt in the work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkPromptDto {
    pub child_id: Uuid,
    pub child_name: String,
    pub prompt: PromptDto,
}

/// The missing work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkMissingDto {
    /// Return home interviews overdue, then due, soonest first.
    pub interviews: Vec<WorkEpisodeDto>,
    /// Children still missing, longest first.
    pub still_missing: Vec<WorkEpisodeDto>,
    /// Open prompts to review risk, oldest first.
    pub prompts: Vec<WorkPromptDto>,
}

/// Return home interviews due and overdue, children still missing and open prompts, for
/// children the caller may open (filtered in the query). Audited.
#[utoipa::path(get, path = "/api/v1/work/missing", tag = "missing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's missing work list", body = WorkMissingDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_work(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let w = work_lists(&state, &c.user, None).await?;
    let now = state.ctx.clock.now();
    let line = |l: &missing::EpisodeLine| WorkEpisodeDto {
        child_id: l.child.id,
        child_name: name(&l.child),
        episode: episode_dto(&l.episode, now),
    };
    let dto = WorkMissingDto {
        interviews: w.interviews.iter().map(line).collect(),
        still_missing: w.still_missing.iter().map(line).collect(),
        prompts: w
            .prompts
            .iter()
            .map(|l| WorkPromptDto {
                child_id: l.child.id,
                child_name: name(&l.child),
                prompt: prompt_dto(&l.prompt),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}

/// A place of concern.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceOfConcernDto {
    pub id: Uuid,
    pub name: String,
    /// The full postcode, when the place is one address.
    pub postcode: Option<String>,
    /// The postcode district; the whole district when there is no full postcode.
    pub outward_code: String,
    pub note: String,
    /// Where the place is (decimal degrees), when recorded.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub organisation_id: Uuid,
    pub created_at: String,
}

fn place_dto(p: &PlaceOfConcern) -> PlaceOfConcernDto {
    PlaceOfConcernDto {
        id: p.id,
        name: p.name.clone(),
        postcode: p.postcode.as_ref().map(|c| c.to_string()),
        outward_code: p.outward.clone(),
        note: p.note.clone(),
        latitude: p.position.map(|l| l.lat),
        longitude: p.position.map(|l| l.lon),
        organisation_id: p.org_id,
        created_at: rfc(p.created_at),
    }
}

/// The partnership's places of concern (for users who open children's records and partnership
/// managers). Audited.
#[utoipa::path(get, path = "/api/v1/places-of-concern", tag = "missing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The list, by name", body = [PlaceOfConcernDto], content_type = "application/json"),
        (status = 403, description = "The caller's role may not read the list", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_places(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let places = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { missing::list_places(&ctx, tx, &key, &actor).await })
    })
    .await?;
    let dto: Vec<PlaceOfConcernDto> = places.iter().map(place_dto).collect();
    Ok(json_response(StatusCode::OK, &dto))
}

/// A place of concern to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewPlaceOfConcernDto {
    pub name: String,
    /// A full postcode (`SS1 1AA`) or a postcode district (`SS1`).
    pub postcode: String,
    #[serde(default)]
    pub note: String,
    /// Optional: where the place is, in decimal degrees (both or neither; inside the UK).
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// Add a place of concern (police intelligence officers and partnership managers). Audited.
#[utoipa::path(post, path = "/api/v1/places-of-concern", tag = "missing",
    security(("bearer" = [])),
    request_body(content = NewPlaceOfConcernDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = PlaceOfConcernDto, content_type = "application/json"),
        (status = 403, description = "The caller's role may not add places", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_place(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewPlaceOfConcernDto>,
) -> Result<Response, WebError> {
    let coord = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let input = PlaceInput {
        name: body.name,
        postcode: body.postcode,
        note: body.note,
        latitude: coord(body.latitude),
        longitude: coord(body.longitude),
    };
    let p = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { missing::add_place(&ctx, tx, &key, &actor, &input).await })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &place_dto(&p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn clock_times_and_uk_time() {
        assert_eq!(parse_clock("21:30"), Some((21, 30)));
        assert_eq!(parse_clock("9:30pm"), Some((21, 30)));
        assert_eq!(parse_clock("12am"), Some((0, 0)));
        assert_eq!(parse_clock("12.15 PM"), Some((12, 15)));
        assert_eq!(parse_clock("0930"), Some((9, 30)));
        assert_eq!(parse_clock("25:00"), None);
        assert_eq!(parse_clock("13pm"), None);
        assert_eq!(parse_clock("soon"), None);
        // GMT in January, BST in July.
        assert_eq!(
            from_uk(date!(2026 - 01 - 05), 21, 30),
            Some(datetime!(2026-01-05 21:30 UTC))
        );
        assert_eq!(
            from_uk(date!(2026 - 07 - 05), 21, 30),
            Some(datetime!(2026-07-05 20:30 UTC))
        );
    }
}
