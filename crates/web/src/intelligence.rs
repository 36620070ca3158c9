//! Partner intelligence to police in the browser and the API (issue 7, items 1-3): submitting
//! intelligence (from anywhere, or from a child's record with the child named), the receipt,
//! "your submissions" with status changes, and the police side: the inbox, grading on 3x5x2,
//! linking what a report names to entities, marking it actioned and sharing the sanitised copy.
//! The services are [`mace_domain::intelligence`]; handlers only shape what is shown. A
//! submitter's page is built from [`SubmitterView`], which holds nothing police added.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, page_reply, title_for};
use crate::cases::{as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::forms::{
    Choice, Posted, change_unless_invalid, choices, field_errors, kept, refused, value,
};
use crate::missing::{from_uk, parse_clock, parse_time};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use mace_domain::intelligence::{
    self, GradeInput, HandlingCode, HowKnown, IntelAssessment, IntelStatus, ItemInput, ItemKind,
    ItemLink, Overview, PoliceView, ReportView, SourceEvaluation, SubmissionForm, SubmissionInput,
    SubmitterView,
};
use mace_domain::person::Person;
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/intelligence", get(overview_page))
        .route("/intelligence/new", get(new_form).post(submit))
        .route(
            "/children/{id}/intelligence/new",
            get(child_form).post(child_submit),
        )
        .route("/intelligence/{id}", get(report_page))
        .route("/intelligence/{id}/grade", post(grade))
        .route("/intelligence/{id}/link", post(link))
        .route("/intelligence/{id}/links/{entity_id}/remove", post(unlink))
        .route("/intelligence/{id}/action", post(action))
        .route("/intelligence/{id}/share", post(share))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/intelligence", post(api_submit))
        .route("/intelligence/mine", get(api_mine))
        .route("/intelligence/inbox", get(api_inbox))
        .route("/intelligence/{id}", get(api_get))
        .route("/intelligence/{id}/grade", post(api_grade))
        .route("/intelligence/{id}/links", post(api_link))
        .route(
            "/intelligence/{id}/links/{entity_id}",
            axum::routing::delete(api_unlink),
        )
        .route("/intelligence/{id}/action", post(api_action))
        .route("/intelligence/{id}/share", post(api_share))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_submit, api_mine, api_inbox, api_get, api_grade, api_link, api_unlink, api_action,
          api_share),
    components(schemas(IntelItemInputDto, IntelSubmissionDto, IntelReceiptDto,
                       IntelSubmissionLineDto, IntelNotificationDto, IntelMineDto,
                       IntelInboxLineDto, IntelInboxDto, IntelSubmittedItemDto, IntelChildDto,
                       IntelSubmitterReportDto, IntelCandidateDto, IntelPoliceItemDto,
                       IntelEntityDto, IntelLinkDto, IntelPoliceReportDto, IntelReportDto,
                       IntelGradeDto, IntelLinkItemDto, IntelLinkRequestDto, IntelLinkedDto,
                       IntelActionDto, IntelShareDto)),
    tags((name = "intelligence", description = "Partner intelligence to police: submission, receipt and status, police grading (3x5x2), linking and sanitised sharing"))
)]
pub(crate) struct Doc;

// --- shared ---------------------------------------------------------------------------------------

/// Rows of items the form shows at first, and added by "Add more rows".
const ROWS: usize = 5;

/// A time the submitter gave: the date alone when no time of day was given (stored as the start
/// or the end of the UK day).
fn when(t: Option<OffsetDateTime>) -> String {
    match t {
        None => String::new(),
        Some(t) => {
            let uk = format::uk(t);
            let (h, m) = (uk.hour(), uk.minute());
            if (h, m) == (0, 0) || (h, m) == (23, 59) {
                format::date(t)
            } else {
                format::date_time(t)
            }
        }
    }
}

fn status_class(s: IntelStatus) -> &'static str {
    match s {
        IntelStatus::Received => "govuk-tag--blue",
        IntelStatus::Assessed => "govuk-tag--yellow",
        IntelStatus::Actioned => "govuk-tag--green",
    }
}

/// The words of a status note.
fn note_text(reference: &str, s: IntelStatus) -> String {
    format!(
        "Your intelligence {reference} has been {}.",
        s.label().to_lowercase()
    )
}

fn coord(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

// --- the overview ---------------------------------------------------------------------------------

pub struct NoteRow {
    pub report_id: Uuid,
    pub text: String,
    pub when: String,
}

pub struct MineRow {
    pub id: Uuid,
    pub reference: String,
    pub submitted: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub status_at: String,
}

pub struct InboxRow {
    pub id: Uuid,
    pub reference: String,
    pub submitted: String,
    pub org: String,
    pub children: usize,
    pub items: usize,
    pub status: &'static str,
    pub status_class: &'static str,
    pub grade: String,
}

#[derive(Template)]
#[template(path = "intelligence/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub notes: Vec<NoteRow>,
    pub mine: Vec<MineRow>,
    pub police: bool,
    pub inbox: Vec<InboxRow>,
    pub filters: Vec<(String, String, bool)>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    pub status: Option<String>,
}

fn status_filter(s: Option<&str>) -> Result<Option<IntelStatus>, WebError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("all") => Ok(None),
        Some(s) => IntelStatus::parse(s)
            .map(Some)
            .ok_or_else(|| Error::validation("status", "Not a status mace knows").into()),
    }
}

async fn load_overview(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa: Option<OffsetDateTime>,
    status: Option<IntelStatus>,
    mark_read: bool,
) -> Result<Overview, WebError> {
    with_actor(state, user, mfa, true, move |tx, ctx, key, actor| {
        Box::pin(
            async move { intelligence::overview(&ctx, tx, &key, &actor, status, mark_read).await },
        )
    })
    .await
}

pub(crate) async fn overview_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let status = status_filter(q.status.as_deref())?;
    let o = load_overview(&state, &auth.user, auth.session.mfa_at, status, true).await?;
    let chosen = status.map(|s| s.as_str()).unwrap_or("all");
    let mut filters = vec![("all".to_string(), "All".to_string(), chosen == "all")];
    filters.extend(IntelStatus::ALL.iter().map(|s| {
        (
            s.as_str().to_string(),
            s.label().to_string(),
            chosen == s.as_str(),
        )
    }));
    let page = ListPage {
        layout: Layout::from_ctx(&state, ctx, "Intelligence"),
        notes: o
            .notes
            .iter()
            .map(|n| NoteRow {
                report_id: n.report_id,
                text: note_text(&n.reference, n.status),
                when: format::date_time(n.at),
            })
            .collect(),
        mine: o
            .mine
            .iter()
            .map(|l| MineRow {
                id: l.id,
                reference: l.reference.clone(),
                submitted: format::date(l.submitted_at),
                status: l.status.label(),
                status_class: status_class(l.status),
                status_at: format::date(l.status_at),
            })
            .collect(),
        police: o.inbox.is_some(),
        inbox: o
            .inbox
            .iter()
            .flatten()
            .map(|l| InboxRow {
                id: l.report.id,
                reference: l.report.reference.clone(),
                submitted: format::date_time(l.report.submitted_at),
                org: l.org_name.clone(),
                children: l.children,
                items: l.items,
                status: l.report.status.label(),
                status_class: status_class(l.report.status),
                grade: l.report.grade().unwrap_or_default(),
            })
            .collect(),
        filters,
    };
    Ok(Html(page.render()?).into_response())
}

// --- the submission form --------------------------------------------------------------------------

pub struct ItemRow {
    pub index: usize,
    pub kinds: Vec<Choice>,
    pub kind_name: String,
    pub value_name: String,
    pub detail_name: String,
    pub latitude_name: String,
    pub longitude_name: String,
}

pub struct ChildChoice {
    pub id: Uuid,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "intelligence/form.html")]
pub struct SubmitPage {
    pub layout: Layout,
    pub action_url: String,
    pub back: String,
    /// The child the form was opened from.
    pub child: Option<(Uuid, String)>,
    pub others: Vec<ChildChoice>,
    pub how_known: Vec<Choice>,
    pub rows: Vec<ItemRow>,
    pub form: FormState,
    pub csrf: String,
}

async fn load_form(
    state: &AppState,
    auth: &Auth,
    child: Option<Uuid>,
) -> Result<SubmissionForm, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::submission_form(&ctx, tx, &key, &actor, child).await })
    })
    .await
}

fn rows_in(form: &FormState) -> usize {
    let mut highest = 0;
    for k in form.values.keys() {
        if let Some(rest) = k.strip_prefix("item_")
            && let Some((n, _)) = rest.split_once('_')
            && let Ok(n) = n.parse::<usize>()
            && n < intelligence::ITEMS_MAX
        {
            highest = highest.max(n + 1);
        }
    }
    highest.max(ROWS)
}

fn render_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    f: &SubmissionForm,
    form: FormState,
    rows: usize,
) -> Result<String, WebError> {
    let (action_url, back) = match &f.child {
        Some(c) => (
            format!("/children/{}/intelligence/new", c.id),
            format!("/children/{}", c.id),
        ),
        None => ("/intelligence/new".to_string(), "/intelligence".to_string()),
    };
    let rows = (0..rows.min(intelligence::ITEMS_MAX))
        .map(|i| ItemRow {
            index: i,
            kind_name: format!("item_{i}_kind"),
            value_name: format!("item_{i}_value"),
            detail_name: format!("item_{i}_detail"),
            latitude_name: format!("item_{i}_latitude"),
            longitude_name: format!("item_{i}_longitude"),
            kinds: choices(
                ItemKind::ALL,
                ItemKind::as_str,
                ItemKind::label,
                form.value(&format!("item_{i}_kind")),
            ),
        })
        .collect();
    let title = title_for(&form, "Share intelligence with police");
    let page = SubmitPage {
        layout: Layout::from_ctx(state, ctx, &title),
        action_url,
        back,
        child: f.child.as_ref().map(|c| (c.id, name(c))),
        others: f
            .others
            .iter()
            .map(|p| ChildChoice {
                id: p.id,
                name: name(p),
                checked: form.value(&format!("child_{}", p.id)) == "yes",
            })
            .collect(),
        how_known: choices(
            HowKnown::ALL,
            HowKnown::as_str,
            HowKnown::label,
            form.value("how_known"),
        ),
        rows,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    Ok(page.render()?)
}

async fn show_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    child: Option<Uuid>,
    form: FormState,
    rows: usize,
    status: StatusCode,
) -> Result<Response, WebError> {
    let f = match load_form(&state, &auth, child).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let html = render_form(&state, ctx, &auth, &f, form, rows)?;
    Ok(page_reply(status, html))
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    show_form(
        state,
        ctx,
        auth,
        None,
        FormState::default(),
        ROWS,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn child_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    show_form(
        state,
        ctx,
        auth,
        Some(id),
        FormState::default(),
        ROWS,
        StatusCode::OK,
    )
    .await
}

/// A number typed in a box: blank is `None`; anything else that is not a number is an error.
fn number(form: &mut FormState, f: &Posted, k: &str, message: &str) -> Option<f64> {
    let v = value(f, k).trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && v.len() <= 20 => Some(n),
        _ => {
            form.errors.push(FieldError::new(k, message));
            None
        }
    }
}

/// A date with an optional time of day (`<prefix>-day`, `-month`, `-year`, `-time`): the start
/// of the UK day when no time is given, or its last minute when `end`.
fn moment(
    form: &mut FormState,
    f: &Posted,
    prefix: &str,
    label: &str,
    end: bool,
) -> Option<OffsetDateTime> {
    let date = crate::forms::date_of(form, f, prefix, label)?;
    let clock = value(f, &format!("{prefix}-time")).trim();
    let (h, m) = if clock.is_empty() {
        if end { (23, 59) } else { (0, 0) }
    } else {
        match parse_clock(clock) {
            Some(hm) => hm,
            None => {
                form.errors.push(FieldError::new(
                    format!("{prefix}-time"),
                    format!("{label}: enter the time like 21:30 or 9:30pm, or leave it blank"),
                ));
                return None;
            }
        }
    };
    from_uk(date, h, m)
}

/// The submission as posted, with the form's own errors.
fn submission_of(f: &Posted, child: Option<Uuid>) -> (FormState, SubmissionInput, usize) {
    let mut form = kept(f);
    let rows = rows_in(&form);
    let mut items = Vec::new();
    for i in 0..rows {
        let kind_s = value(f, &format!("item_{i}_kind")).trim();
        let kind = if kind_s.is_empty() {
            None
        } else {
            match ItemKind::parse(kind_s) {
                Some(k) => Some(k),
                None => {
                    form.errors.push(FieldError::new(
                        format!("item_{i}_kind"),
                        format!("Select what row {} is from the list", i + 1),
                    ));
                    None
                }
            }
        };
        let latitude = number(
            &mut form,
            f,
            &format!("item_{i}_latitude"),
            "Enter the latitude as a number, like 51.5383",
        );
        let longitude = number(
            &mut form,
            f,
            &format!("item_{i}_longitude"),
            "Enter the longitude as a number, like 0.7119",
        );
        items.push(ItemInput {
            kind,
            value: value(f, &format!("item_{i}_value")).into(),
            detail: value(f, &format!("item_{i}_detail")).into(),
            latitude,
            longitude,
        });
    }
    let how_s = value(f, "how_known").trim();
    let how_known = HowKnown::parse(how_s);
    if !how_s.is_empty() && how_known.is_none() {
        form.errors
            .push(FieldError::new("how_known", "Select how you know this"));
    }
    let mut children: Vec<Uuid> = child.into_iter().collect();
    for (k, v) in f {
        if let Some(id) = k.strip_prefix("child_") {
            match Uuid::parse_str(id) {
                Ok(id) if v == "yes" => children.push(id),
                Ok(_) => {}
                Err(_) => form
                    .errors
                    .push(FieldError::new("children", "Choose children from the list")),
            }
        }
    }
    let input = SubmissionInput {
        observed_from: moment(&mut form, f, "from", "When it was first seen", false),
        observed_to: moment(&mut form, f, "to", "When it was last seen", true),
        how_known,
        narrative: value(f, "narrative").into(),
        items,
        children,
    };
    (form, input, rows)
}

/// The submission form's query: `more=rows` when "Add more rows" was pressed.
#[derive(Debug, Deserialize, Default)]
pub struct MoreQuery {
    pub more: Option<String>,
}

async fn post_submission(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    child: Option<Uuid>,
    more: bool,
    f: Posted,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let (mut form, input, rows) = submission_of(&f, child);
    if more {
        // Only more rows: nothing is checked or sent yet.
        form.errors.clear();
        let rows = (rows + ROWS).min(intelligence::ITEMS_MAX);
        return show_form(state, ctx, auth, child, form, rows, StatusCode::OK).await;
    }
    if form.has_errors() {
        // Report the domain's checks too, so every problem is listed at once.
        if let Err(Error::Validation(errs)) =
            intelligence::check_submission(&input, state.ctx.clock.now())
        {
            field_errors(&mut form, errs, field_name);
        }
        return show_form(
            state,
            ctx,
            auth,
            child,
            form,
            rows,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { intelligence::submit(&ctx, tx, &key, &actor, &input).await })
    })
    .await;
    match done {
        Ok(r) => {
            Ok(Redirect::to(&format!("/intelligence/{}?done=submitted", r.id)).into_response())
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            field_errors(&mut form, errs, field_name);
            show_form(
                state,
                ctx,
                auth,
                child,
                form,
                rows,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

/// Domain field → the form's field (dates are reported on their day box).
fn field_name(domain: &str) -> String {
    match domain {
        "from" => "from-day".into(),
        "to" => "to-day".into(),
        "items" => "item_0_kind".into(),
        other => other.into(),
    }
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<MoreQuery>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    let more = q.more.as_deref() == Some("rows");
    post_submission(state, ctx, auth, None, more, f).await
}

pub(crate) async fn child_submit(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<MoreQuery>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    let more = q.more.as_deref() == Some("rows");
    post_submission(state, ctx, auth, Some(id), more, f).await
}

// --- a report -------------------------------------------------------------------------------------

pub struct SentItem {
    pub kind: &'static str,
    pub value: String,
    pub detail: String,
    pub place: String,
}

#[derive(Template)]
#[template(path = "intelligence/report.html")]
pub struct SubmitterPage {
    pub layout: Layout,
    pub receipt: bool,
    pub reference: String,
    pub submitted: String,
    pub observed_from: String,
    pub observed_to: String,
    pub how_known: &'static str,
    pub narrative: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub status_at: String,
    pub next_steps: &'static str,
    pub items: Vec<SentItem>,
    pub children: Vec<String>,
}

fn submitter_page(
    state: &AppState,
    ctx: PageContext,
    v: &SubmitterView,
    receipt: bool,
) -> SubmitterPage {
    SubmitterPage {
        layout: Layout::from_ctx(
            state,
            ctx,
            &if receipt {
                "Intelligence sent to police".to_string()
            } else {
                format!("Intelligence {}", v.reference)
            },
        ),
        receipt,
        reference: v.reference.clone(),
        submitted: format::date_time(v.submitted_at),
        observed_from: when(v.observed_from),
        observed_to: when(v.observed_to),
        how_known: v.how_known.label(),
        narrative: v.narrative.clone(),
        status: v.status.label(),
        status_class: status_class(v.status),
        status_at: format::date_time(v.status_at),
        next_steps: v.status.next_steps(),
        items: v
            .items
            .iter()
            .map(|i| SentItem {
                kind: i.kind.label(),
                value: i.value.clone(),
                detail: i.detail.clone(),
                place: match (i.latitude, i.longitude) {
                    (Some(a), Some(b)) => format!("{}, {}", coord(Some(a)), coord(Some(b))),
                    _ => String::new(),
                },
            })
            .collect(),
        children: v.children.iter().map(|(_, n)| n.clone()).collect(),
    }
}

pub struct CandidateRow {
    pub id: Uuid,
    pub name: String,
    pub why: String,
    pub chosen: bool,
}

pub struct PoliceItemRow {
    pub id: Uuid,
    pub position: i32,
    pub kind: &'static str,
    pub is_person: bool,
    pub value: String,
    pub normalised: String,
    pub detail: String,
    pub place: String,
    pub linked_to: String,
    pub link_checked: bool,
    pub fix: String,
    pub candidates: Vec<CandidateRow>,
    pub none_chosen: bool,
}

pub struct LinkRow {
    pub entity_id: Uuid,
    pub kind: &'static str,
    pub label: String,
    pub version: i64,
    pub removed: Option<i64>,
}

#[derive(Template)]
#[template(path = "intelligence/police.html")]
pub struct PolicePage {
    pub layout: Layout,
    pub id: Uuid,
    pub notice: Option<&'static str>,
    pub reference: String,
    pub submitted: String,
    pub submitter: String,
    pub observed_from: String,
    pub observed_to: String,
    pub how_known: &'static str,
    pub narrative: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub status_at: String,
    pub children: Vec<(Uuid, String)>,
    pub items: Vec<PoliceItemRow>,
    pub links: Vec<LinkRow>,
    pub grade: String,
    pub graded: String,
    pub handling_c: bool,
    pub conditions: String,
    pub sanitised: String,
    pub action_note: String,
    pub shared: String,
    pub recipients: Vec<String>,
    pub may_change: bool,
    pub sources: Vec<Choice>,
    pub assessments: Vec<Choice>,
    pub codes: Vec<Choice>,
    pub form: FormState,
    pub csrf: String,
}

/// The police forms' values from the report, with what was just posted over them.
fn police_form(v: &PoliceView, posted: Option<FormState>) -> FormState {
    let r = &v.report;
    let mut form = FormState::default();
    let put = |form: &mut FormState, k: &str, val: &str| {
        form.values.insert(k.to_string(), val.to_string());
    };
    put(
        &mut form,
        "source_evaluation",
        r.source_evaluation.map(|s| s.as_str()).unwrap_or(""),
    );
    put(
        &mut form,
        "intelligence_assessment",
        r.intelligence_assessment.map(|s| s.as_str()).unwrap_or(""),
    );
    put(
        &mut form,
        "handling_code",
        r.handling_code.map(|s| s.as_str()).unwrap_or(""),
    );
    put(&mut form, "conditions", &r.handling_conditions);
    put(&mut form, "sanitised", &r.sanitised);
    put(&mut form, "action_note", &r.action_note);
    if let Some(p) = posted {
        for (k, val) in p.values {
            form.values.insert(k, val);
        }
        form.errors = p.errors;
    }
    form
}

fn police_page(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    v: &PoliceView,
    form: FormState,
    notice: Option<&'static str>,
    posted_link: bool,
) -> PolicePage {
    let r = &v.report;
    let live = |e: Uuid| {
        v.links
            .iter()
            .any(|l| l.entity.id == e && l.link.removed_version.is_none())
    };
    let items = v
        .items
        .iter()
        .map(|p| {
            let it = &p.item;
            let link_key = format!("link_{}", it.id);
            let person_key = format!("person_{}", it.id);
            let chosen_person = if posted_link {
                form.value(&person_key).to_string()
            } else {
                p.entity
                    .as_ref()
                    .and_then(|e| e.person_id)
                    .map(|u| u.to_string())
                    .unwrap_or_default()
            };
            PoliceItemRow {
                id: it.id,
                position: it.position + 1,
                kind: it.kind.label(),
                is_person: it.kind == ItemKind::Person,
                value: it.value.clone(),
                normalised: it.normalised.clone(),
                detail: it.detail.clone(),
                place: match (it.latitude, it.longitude) {
                    (Some(a), Some(b)) => format!("{}, {}", coord(Some(a)), coord(Some(b))),
                    _ => String::new(),
                },
                linked_to: p
                    .entity
                    .as_ref()
                    .filter(|e| live(e.id))
                    .map(|e| format!("{}: {}", e.kind.label(), e.label))
                    .unwrap_or_default(),
                link_checked: if posted_link {
                    form.value(&link_key) == "yes"
                } else {
                    p.entity.is_some() || !it.normalised.is_empty()
                },
                fix: form.value(&format!("key_{}", it.id)).to_string(),
                none_chosen: chosen_person.is_empty(),
                candidates: p
                    .candidates
                    .iter()
                    .map(|c| CandidateRow {
                        id: c.person.id,
                        name: format!("{} ({})", name(&c.person), c.person.kind.label()),
                        why: c.reasons.join("; "),
                        chosen: chosen_person == c.person.id.to_string(),
                    })
                    .collect(),
            }
        })
        .collect();
    PolicePage {
        layout: Layout::from_ctx(
            state,
            ctx,
            &title_for(&form, &format!("Intelligence {}", r.reference)),
        ),
        id: r.id,
        notice,
        reference: r.reference.clone(),
        submitted: format::date_time(r.submitted_at),
        submitter: format!("{} ({})", v.submitter_name, v.submitter_org),
        observed_from: when(r.observed_from),
        observed_to: when(r.observed_to),
        how_known: r.how_known.label(),
        narrative: r.narrative.clone(),
        status: r.status.label(),
        status_class: status_class(r.status),
        status_at: format::date_time(r.status_at),
        children: v
            .children
            .iter()
            .map(|p: &Person| (p.id, name(p)))
            .collect(),
        items,
        links: v
            .links
            .iter()
            .map(|l| LinkRow {
                entity_id: l.entity.id,
                kind: l.entity.kind.label(),
                label: if l.entity.label.is_empty() {
                    l.entity.key.clone()
                } else {
                    l.entity.label.clone()
                },
                version: l.link.version,
                removed: l.link.removed_version,
            })
            .collect(),
        grade: r.grade().unwrap_or_default(),
        graded: match (&v.graded_by, r.graded_at) {
            (Some(by), Some(at)) => format!("{} by {by}", format::date_time(at)),
            _ => String::new(),
        },
        handling_c: r.handling_code == Some(HandlingCode::Conditions),
        conditions: r.handling_conditions.clone(),
        sanitised: r.sanitised.clone(),
        action_note: r.action_note.clone(),
        shared: match (&v.shared_by, r.shared_at) {
            (Some(by), Some(at)) => format!("{} by {by}", format::date_time(at)),
            _ => String::new(),
        },
        recipients: v.share_recipients.iter().map(|o| o.name.clone()).collect(),
        may_change: v.may_change,
        sources: choices(
            SourceEvaluation::ALL,
            SourceEvaluation::as_str,
            SourceEvaluation::label,
            form.value("source_evaluation"),
        ),
        assessments: choices(
            IntelAssessment::ALL,
            IntelAssessment::as_str,
            IntelAssessment::label,
            form.value("intelligence_assessment"),
        ),
        codes: choices(
            HandlingCode::ALL,
            HandlingCode::as_str,
            HandlingCode::label,
            form.value("handling_code"),
        ),
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
}

async fn open(state: &AppState, auth: &Auth, id: Uuid) -> Result<ReportView, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::open_report(&ctx, tx, &key, &actor, id).await })
    })
    .await
}

#[derive(Debug, Deserialize, Default)]
pub struct ReportQuery {
    pub done: Option<String>,
}

fn notice_of(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("graded") => Some("The grading has been saved."),
        Some("linked") => Some("The links have been saved."),
        Some("unlinked") => Some("The link has been removed."),
        Some("actioned") => {
            Some("The report is marked actioned. Its submitter is told, nothing more.")
        }
        Some("shared") => Some("The sanitised copy has been shared onto the children's records."),
        _ => None,
    }
}

async fn show_report(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    posted: Option<FormState>,
    done: Option<&str>,
    posted_link: bool,
) -> Result<Response, WebError> {
    let v = match open(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let failed = posted.as_ref().is_some_and(FormState::has_errors);
    let html = match &v {
        ReportView::Submitter(s) => {
            submitter_page(&state, ctx, s, done == Some("submitted")).render()?
        }
        ReportView::Police(p) => {
            let form = police_form(p, posted);
            police_page(&state, ctx, &auth, p, form, notice_of(done), posted_link).render()?
        }
    };
    Ok(if failed {
        form_reply(StatusCode::UNPROCESSABLE_ENTITY, html)
    } else {
        Html(html).into_response()
    })
}

pub(crate) async fn report_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, WebError> {
    show_report(state, ctx, auth, id, None, q.done.as_deref(), false).await
}

/// After a police change: back to the report, or the report again with the errors on `field`.
#[allow(clippy::too_many_arguments)]
async fn after<T>(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    mut form: FormState,
    done: Result<T, WebError>,
    what: &str,
    conflict_field: &str,
) -> Result<Response, WebError> {
    let posted_link = what == "linked";
    match done {
        Ok(_) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/intelligence/{id}?done={what}")).into_response())
        }
        Ok(_) => show_report(state, ctx, auth, id, Some(form), None, posted_link).await,
        Err(WebError::Domain(Error::Validation(errs))) => {
            if errs.is_empty() && !form.has_errors() {
                form.errors
                    .push(FieldError::new(conflict_field, "Check what you entered"));
            }
            field_errors(&mut form, errs, |f| f.to_string());
            show_report(state, ctx, auth, id, Some(form), None, posted_link).await
        }
        Err(WebError::Domain(Error::Conflict(message))) => {
            form.errors.push(FieldError::new(conflict_field, message));
            show_report(state, ctx, auth, id, Some(form), None, posted_link).await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

/// A choice from a list: blank is `None`; anything not on the list is `message` on the field.
fn pick<T>(
    form: &mut FormState,
    f: &Posted,
    k: &str,
    parse: fn(&str) -> Option<T>,
    message: &str,
) -> Option<T> {
    let v = value(f, k).trim();
    if v.is_empty() {
        return None;
    }
    let p = parse(v);
    if p.is_none() {
        form.errors.push(FieldError::new(k, message));
    }
    p
}

fn grade_input(f: &Posted, form: &mut FormState) -> GradeInput {
    GradeInput {
        source_evaluation: pick(
            form,
            f,
            "source_evaluation",
            SourceEvaluation::parse,
            "Select the source evaluation from the list",
        ),
        intelligence_assessment: pick(
            form,
            f,
            "intelligence_assessment",
            IntelAssessment::parse,
            "Select the intelligence assessment from the list",
        ),
        handling_code: pick(
            form,
            f,
            "handling_code",
            HandlingCode::parse,
            "Select the handling code from the list",
        ),
        conditions: value(f, "conditions").into(),
        sanitised: value(f, "sanitised").into(),
    }
}

pub(crate) async fn grade(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = grade_input(&f, &mut form);
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move { intelligence::grade(&ctx, tx, &key, &actor, id, &input).await })
        },
    )
    .await;
    after(
        state,
        ctx,
        auth,
        id,
        form,
        done,
        "graded",
        "source_evaluation",
    )
    .await
}

/// The link form's choices for each item (`link_<id>`, `key_<id>`, `person_<id>`).
fn link_input(f: &Posted, form: &mut FormState) -> Vec<ItemLink> {
    let mut ids: Vec<Uuid> = Vec::new();
    for k in f.keys() {
        for prefix in ["link_", "key_", "person_"] {
            if let Some(rest) = k.strip_prefix(prefix) {
                match Uuid::parse_str(rest) {
                    Ok(u) if !ids.contains(&u) => ids.push(u),
                    Ok(_) => {}
                    Err(_) => form.errors.push(FieldError::new(
                        "link-form",
                        "Choose what to link from the list",
                    )),
                }
            }
        }
    }
    ids.into_iter()
        .map(|id| {
            let person = value(f, &format!("person_{id}")).trim();
            let person_id = if person.is_empty() {
                None
            } else {
                match Uuid::parse_str(person) {
                    Ok(u) => Some(u),
                    Err(_) => {
                        form.errors.push(FieldError::new(
                            format!("person_{id}"),
                            "Choose a person from the list, or not a known person",
                        ));
                        None
                    }
                }
            };
            ItemLink {
                item_id: id,
                link: value(f, &format!("link_{id}")) == "yes",
                fix: value(f, &format!("key_{id}")).into(),
                person_id,
            }
        })
        .collect()
}

pub(crate) async fn link(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = link_input(&f, &mut form);
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move { intelligence::link(&ctx, tx, &key, &actor, id, &input).await })
        },
    )
    .await;
    after(state, ctx, auth, id, form, done, "linked", "link-form").await
}

pub(crate) async fn unlink(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((id, entity_id)): Path<(Uuid, Uuid)>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::unlink(&ctx, tx, &key, &actor, id, entity_id).await })
    })
    .await;
    after(
        state,
        ctx,
        auth,
        id,
        FormState::default(),
        done,
        "unlinked",
        "link-form",
    )
    .await
}

pub(crate) async fn action(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let form = kept(&f);
    let note = value(&f, "action_note").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(async move { intelligence::action(&ctx, tx, &key, &actor, id, &note).await })
    })
    .await;
    after(state, ctx, auth, id, form, done, "actioned", "action_note").await
}

pub(crate) async fn share(
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
        Box::pin(async move { intelligence::share(&ctx, tx, &key, &actor, id, &reason).await })
    })
    .await;
    after(state, ctx, auth, id, form, done, "shared", "reason").await
}

// --- API ------------------------------------------------------------------------------------------

fn rfc(t: OffsetDateTime) -> String {
    crate::cases_api::rfc3339(t)
}

/// One thing the report names.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelItemInputDto {
    /// `person`, `vehicle`, `phone`, `postcode`, `place`, `handle` or `business`.
    pub kind: String,
    /// As known: a name or nickname, a (partial) registration, a number, a place.
    pub value: String,
    /// A description: "white hatchback", "calls himself T".
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// Intelligence to submit to police.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelSubmissionDto {
    /// What happened or what you know (at least 10 characters).
    pub narrative: String,
    /// `saw_or_heard`, `told_by_child`, `told_by_other`, `records` or `other`.
    pub how_known: String,
    /// RFC 3339: when it was first seen.
    #[serde(default)]
    pub observed_from: Option<String>,
    /// RFC 3339: when it was last seen.
    #[serde(default)]
    pub observed_to: Option<String>,
    #[serde(default)]
    pub items: Vec<IntelItemInputDto>,
    /// Children it is about: records the caller may open.
    #[serde(default)]
    pub children: Vec<Uuid>,
}

/// The receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelReceiptDto {
    pub id: Uuid,
    /// `INT-<year>-<6 digits>`.
    pub reference: String,
    /// `received`.
    pub status: String,
    pub next_steps: String,
}

/// Submit intelligence to police (any signed-in professional). The police organisations become
/// involved with the children named; each child's chronology says intelligence was shared.
#[utoipa::path(post, path = "/api/v1/intelligence", tag = "intelligence",
    security(("bearer" = [])),
    request_body(content = IntelSubmissionDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Sent: the receipt", body = IntelReceiptDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open a child's record named", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_submit(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<IntelSubmissionDto>,
) -> Result<Response, WebError> {
    let mut items = Vec::new();
    for (i, it) in body.items.iter().enumerate() {
        items.push(ItemInput {
            kind: Some(ItemKind::parse(it.kind.trim()).ok_or_else(|| {
                Error::validation(&format!("item_{i}_kind"), "Not an item kind mace knows")
            })?),
            value: it.value.clone(),
            detail: it.detail.clone(),
            latitude: it.latitude,
            longitude: it.longitude,
        });
    }
    let input = SubmissionInput {
        observed_from: parse_time("observed_from", body.observed_from.as_deref())?,
        observed_to: parse_time("observed_to", body.observed_to.as_deref())?,
        how_known: Some(
            HowKnown::parse(body.how_known.trim())
                .ok_or_else(|| Error::validation("how_known", "Not a way of knowing mace knows"))?,
        ),
        narrative: body.narrative,
        items,
        children: body.children,
    };
    let r = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { intelligence::submit(&ctx, tx, &key, &actor, &input).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &IntelReceiptDto {
            id: r.id,
            reference: r.reference,
            status: r.status.as_str().into(),
            next_steps: r.status.next_steps().into(),
        },
    ))
}

/// One of the caller's submissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelSubmissionLineDto {
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: String,
    /// `received`, `assessed` or `actioned`.
    pub status: String,
    pub status_at: String,
}

/// A status change of one of the caller's submissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelNotificationDto {
    pub report_id: Uuid,
    pub reference: String,
    pub status: String,
    pub at: String,
    pub message: String,
}

/// The caller's submissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelMineDto {
    /// Status changes not seen before (now marked read), newest first.
    pub notifications: Vec<IntelNotificationDto>,
    /// Newest first.
    pub submissions: Vec<IntelSubmissionLineDto>,
}

/// The caller's submissions with their status, and status changes not seen before (marked read).
#[utoipa::path(get, path = "/api/v1/intelligence/mine", tag = "intelligence",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's submissions", body = IntelMineDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_mine(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let o = load_overview(&state, &c.user, None, None, true).await?;
    Ok(json_response(
        StatusCode::OK,
        &IntelMineDto {
            notifications: o
                .notes
                .iter()
                .map(|n| IntelNotificationDto {
                    report_id: n.report_id,
                    reference: n.reference.clone(),
                    status: n.status.as_str().into(),
                    at: rfc(n.at),
                    message: note_text(&n.reference, n.status),
                })
                .collect(),
            submissions: o
                .mine
                .iter()
                .map(|l| IntelSubmissionLineDto {
                    id: l.id,
                    reference: l.reference.clone(),
                    submitted_at: rfc(l.submitted_at),
                    status: l.status.as_str().into(),
                    status_at: rfc(l.status_at),
                })
                .collect(),
        },
    ))
}

/// A report in the police inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelInboxLineDto {
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: String,
    pub organisation_name: String,
    pub status: String,
    pub status_at: String,
    /// `1A P` once graded.
    pub grade: Option<String>,
    pub children: usize,
    pub items: usize,
}

/// The police inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelInboxDto {
    /// Received first, then assessed, then actioned; oldest first within each.
    pub reports: Vec<IntelInboxLineDto>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `received`, `assessed` or `actioned`; all when left out.
    pub status: Option<String>,
}

/// The police inbox (police intelligence officers and analysts only; others are refused and
/// recorded).
#[utoipa::path(get, path = "/api/v1/intelligence/inbox", tag = "intelligence",
    security(("bearer" = [])),
    params(InboxQuery),
    responses(
        (status = 200, description = "Reports for police", body = IntelInboxDto, content_type = "application/json"),
        (status = 403, description = "Not a police reader", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not a status", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_inbox(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Query(q): Query<InboxQuery>,
) -> Result<Response, WebError> {
    let status = status_filter(q.status.as_deref())?;
    let inbox = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::police_inbox(&ctx, tx, &key, &actor, status).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &IntelInboxDto {
            reports: inbox
                .iter()
                .map(|l| IntelInboxLineDto {
                    id: l.report.id,
                    reference: l.report.reference.clone(),
                    submitted_at: rfc(l.report.submitted_at),
                    organisation_name: l.org_name.clone(),
                    status: l.report.status.as_str().into(),
                    status_at: rfc(l.report.status_at),
                    grade: l.report.grade(),
                    children: l.children,
                    items: l.items,
                })
                .collect(),
        },
    ))
}

/// What the submitter sent, as they see it again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelSubmittedItemDto {
    pub kind: String,
    pub value: String,
    pub detail: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A child a report is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelChildDto {
    pub id: Uuid,
    pub name: String,
}

/// A report as its submitter sees it: what they sent and its status, nothing police added.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelSubmitterReportDto {
    /// `submitter`.
    pub view: String,
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: String,
    pub observed_from: Option<String>,
    pub observed_to: Option<String>,
    pub how_known: String,
    pub narrative: String,
    pub status: String,
    pub status_at: String,
    pub next_steps: String,
    pub items: Vec<IntelSubmittedItemDto>,
    pub children: Vec<IntelChildDto>,
}

/// A person in mace a person item may be.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelCandidateDto {
    pub person_id: Uuid,
    pub name: String,
    pub score: u32,
    pub reasons: Vec<String>,
}

/// An item as police see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelPoliceItemDto {
    pub id: Uuid,
    pub position: i32,
    pub kind: String,
    pub value: String,
    /// The key it is matched on (empty when it could not be read).
    pub normalised: String,
    pub detail: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub entity_id: Option<Uuid>,
    pub candidates: Vec<IntelCandidateDto>,
}

/// A resolved entity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelEntityDto {
    pub id: Uuid,
    /// `child`, `person`, `vehicle`, `phone`, `postcode`, `place`, `handle` or `business`.
    pub kind: String,
    pub key: String,
    pub label: String,
    pub person_id: Option<Uuid>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A link of the report to an entity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelLinkDto {
    pub entity: IntelEntityDto,
    /// The graph version it was made at.
    pub version: i64,
    /// The graph version it was removed at, if it was.
    pub removed_version: Option<i64>,
}

/// A report as police see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelPoliceReportDto {
    /// `police`.
    pub view: String,
    pub id: Uuid,
    pub reference: String,
    pub submitted_at: String,
    pub submitted_by: Uuid,
    pub submitter_name: String,
    pub submitter_organisation_id: Uuid,
    pub submitter_organisation_name: String,
    pub observed_from: Option<String>,
    pub observed_to: Option<String>,
    pub how_known: String,
    pub narrative: String,
    pub status: String,
    pub status_at: String,
    /// `1`, `2` or `3`.
    pub source_evaluation: Option<String>,
    /// `A` to `E`.
    pub intelligence_assessment: Option<String>,
    /// `P` or `C`.
    pub handling_code: Option<String>,
    pub handling_conditions: String,
    pub sanitised: String,
    pub graded_by: Option<Uuid>,
    pub graded_at: Option<String>,
    pub shared_by: Option<Uuid>,
    pub shared_at: Option<String>,
    pub action_note: String,
    pub children: Vec<IntelChildDto>,
    pub items: Vec<IntelPoliceItemDto>,
    pub links: Vec<IntelLinkDto>,
    /// The caller may grade, link, action and share.
    pub may_change: bool,
}

/// A report in the shape the caller may see: `view` says which.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum IntelReportDto {
    Submitter(Box<IntelSubmitterReportDto>),
    Police(Box<IntelPoliceReportDto>),
}

fn submitter_dto(v: &SubmitterView) -> IntelSubmitterReportDto {
    IntelSubmitterReportDto {
        view: "submitter".into(),
        id: v.id,
        reference: v.reference.clone(),
        submitted_at: rfc(v.submitted_at),
        observed_from: v.observed_from.map(rfc),
        observed_to: v.observed_to.map(rfc),
        how_known: v.how_known.as_str().into(),
        narrative: v.narrative.clone(),
        status: v.status.as_str().into(),
        status_at: rfc(v.status_at),
        next_steps: v.status.next_steps().into(),
        items: v
            .items
            .iter()
            .map(|i| IntelSubmittedItemDto {
                kind: i.kind.as_str().into(),
                value: i.value.clone(),
                detail: i.detail.clone(),
                latitude: i.latitude,
                longitude: i.longitude,
            })
            .collect(),
        children: v
            .children
            .iter()
            .map(|(id, n)| IntelChildDto {
                id: *id,
                name: n.clone(),
            })
            .collect(),
    }
}

fn police_dto(v: &PoliceView) -> IntelPoliceReportDto {
    let r = &v.report;
    IntelPoliceReportDto {
        view: "police".into(),
        id: r.id,
        reference: r.reference.clone(),
        submitted_at: rfc(r.submitted_at),
        submitted_by: r.submitted_by,
        submitter_name: v.submitter_name.clone(),
        submitter_organisation_id: r.submitted_org,
        submitter_organisation_name: v.submitter_org.clone(),
        observed_from: r.observed_from.map(rfc),
        observed_to: r.observed_to.map(rfc),
        how_known: r.how_known.as_str().into(),
        narrative: r.narrative.clone(),
        status: r.status.as_str().into(),
        status_at: rfc(r.status_at),
        source_evaluation: r.source_evaluation.map(|s| s.as_str().into()),
        intelligence_assessment: r.intelligence_assessment.map(|s| s.as_str().into()),
        handling_code: r.handling_code.map(|s| s.as_str().into()),
        handling_conditions: r.handling_conditions.clone(),
        sanitised: r.sanitised.clone(),
        graded_by: r.graded_by,
        graded_at: r.graded_at.map(rfc),
        shared_by: r.shared_by,
        shared_at: r.shared_at.map(rfc),
        action_note: r.action_note.clone(),
        children: v
            .children
            .iter()
            .map(|p| IntelChildDto {
                id: p.id,
                name: name(p),
            })
            .collect(),
        items: v
            .items
            .iter()
            .map(|p| IntelPoliceItemDto {
                id: p.item.id,
                position: p.item.position,
                kind: p.item.kind.as_str().into(),
                value: p.item.value.clone(),
                normalised: p.item.normalised.clone(),
                detail: p.item.detail.clone(),
                latitude: p.item.latitude,
                longitude: p.item.longitude,
                entity_id: p.item.entity_id,
                candidates: p
                    .candidates
                    .iter()
                    .map(|c| IntelCandidateDto {
                        person_id: c.person.id,
                        name: name(&c.person),
                        score: c.score,
                        reasons: c.reasons.clone(),
                    })
                    .collect(),
            })
            .collect(),
        links: v
            .links
            .iter()
            .map(|l| IntelLinkDto {
                entity: IntelEntityDto {
                    id: l.entity.id,
                    kind: l.entity.kind.as_str().into(),
                    key: l.entity.key.clone(),
                    label: l.entity.label.clone(),
                    person_id: l.entity.person_id,
                    latitude: l.entity.latitude,
                    longitude: l.entity.longitude,
                },
                version: l.link.version,
                removed_version: l.link.removed_version,
            })
            .collect(),
        may_change: v.may_change,
    }
}

fn report_dto(v: &ReportView) -> IntelReportDto {
    match v {
        ReportView::Submitter(s) => IntelReportDto::Submitter(Box::new(submitter_dto(s))),
        ReportView::Police(p) => IntelReportDto::Police(Box::new(police_dto(p))),
    }
}

async fn api_open(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<ReportView, WebError> {
    with_actor(state, user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::open_report(&ctx, tx, &key, &actor, id).await })
    })
    .await
}

async fn api_police(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<IntelPoliceReportDto, WebError> {
    match api_open(state, user, id).await? {
        ReportView::Police(p) => Ok(police_dto(&p)),
        ReportView::Submitter(_) => Err(Error::Forbidden {
            reason: "not_police".into(),
        }
        .into()),
    }
}

/// One report: police intelligence officers and analysts see the police shape; its submitter
/// sees what they sent and its status; anyone else is refused (recorded). Every view audited.
#[utoipa::path(get, path = "/api/v1/intelligence/{id}", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id")),
    responses(
        (status = 200, description = "The report", body = IntelReportDto, content_type = "application/json"),
        (status = 403, description = "Neither police nor its submitter", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_get(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let v = api_open(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &report_dto(&v)))
}

/// A grade on 3x5x2.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelGradeDto {
    /// `1`, `2` or `3`.
    pub source_evaluation: String,
    /// `A`, `B`, `C`, `D` or `E`.
    pub intelligence_assessment: String,
    /// `P` or `C`.
    pub handling_code: String,
    /// Required for `C`.
    #[serde(default)]
    pub conditions: String,
    /// The version that may leave police (at least 10 characters).
    pub sanitised: String,
}

/// Grade a report (police intelligence officers only): a received report becomes assessed.
#[utoipa::path(post, path = "/api/v1/intelligence/{id}/grade", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id")),
    request_body(content = IntelGradeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Graded", body = IntelPoliceReportDto, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_grade(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<IntelGradeDto>,
) -> Result<Response, WebError> {
    let input =
        GradeInput {
            source_evaluation: Some(
                SourceEvaluation::parse(body.source_evaluation.trim()).ok_or_else(|| {
                    Error::validation("source_evaluation", "Not a source evaluation (1, 2 or 3)")
                })?,
            ),
            intelligence_assessment: Some(
                IntelAssessment::parse(body.intelligence_assessment.trim()).ok_or_else(|| {
                    Error::validation(
                        "intelligence_assessment",
                        "Not an intelligence assessment (A to E)",
                    )
                })?,
            ),
            handling_code: Some(HandlingCode::parse(body.handling_code.trim()).ok_or_else(
                || Error::validation("handling_code", "Not a handling code (P or C)"),
            )?),
            conditions: body.conditions,
            sanitised: body.sanitised,
        };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { intelligence::grade(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let dto = api_police(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// What to do with one item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelLinkItemDto {
    pub item_id: Uuid,
    /// Link it (`false` lets go of its entity).
    pub link: bool,
    /// A corrected value to link on; left out keeps the item's key.
    #[serde(default)]
    pub fix: String,
    /// For a person item: one of mace's people it is.
    #[serde(default)]
    pub person_id: Option<Uuid>,
}

/// Links to make for a report's items (items left out are not linked).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelLinkRequestDto {
    pub items: Vec<IntelLinkItemDto>,
}

/// The graph version after linking, and the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntelLinkedDto {
    pub version: i64,
    pub report: IntelPoliceReportDto,
}

/// Link a report's items and children to entities at the next graph version (police
/// intelligence officers only).
#[utoipa::path(post, path = "/api/v1/intelligence/{id}/links", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id")),
    request_body(content = IntelLinkRequestDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Linked", body = IntelLinkedDto, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "A value cannot be read", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_link(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<IntelLinkRequestDto>,
) -> Result<Response, WebError> {
    let input: Vec<ItemLink> = body
        .items
        .into_iter()
        .map(|i| ItemLink {
            item_id: i.item_id,
            link: i.link,
            fix: i.fix,
            person_id: i.person_id,
        })
        .collect();
    let version = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { intelligence::link(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let report = api_police(&state, &c.user, id).await?;
    Ok(json_response(
        StatusCode::OK,
        &IntelLinkedDto { version, report },
    ))
}

/// Take an entity off a report at the next graph version (police intelligence officers only).
#[utoipa::path(delete, path = "/api/v1/intelligence/{id}/links/{entity_id}", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id"),
           ("entity_id" = Uuid, Path, description = "The entity's id")),
    responses(
        (status = 200, description = "Removed", body = IntelLinkedDto, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report, or no live link to the entity", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_unlink(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path((id, entity_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, WebError> {
    let version = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { intelligence::unlink(&ctx, tx, &key, &actor, id, entity_id).await })
    })
    .await?;
    let report = api_police(&state, &c.user, id).await?;
    Ok(json_response(
        StatusCode::OK,
        &IntelLinkedDto { version, report },
    ))
}

/// What police did.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelActionDto {
    /// Police only (at least 10 characters).
    pub note: String,
}

/// Mark a graded report actioned (police intelligence officers only). Its submitter is told it
/// was actioned, nothing more.
#[utoipa::path(post, path = "/api/v1/intelligence/{id}/action", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id")),
    request_body(content = IntelActionDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Actioned", body = IntelPoliceReportDto, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Not graded yet", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No note, or too short", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_action(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<IntelActionDto>,
) -> Result<Response, WebError> {
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let note = body.note.clone();
        Box::pin(async move { intelligence::action(&ctx, tx, &key, &actor, id, &note).await })
    })
    .await?;
    let dto = api_police(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// Why the sanitised copy is shared.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntelShareDto {
    /// Why, and under which lawful basis (at least 10 characters).
    pub reason: String,
}

/// Share a graded report's sanitised copy onto the linked children's records (police
/// intelligence officers only; once). Audited as a disclosure naming the recipients.
#[utoipa::path(post, path = "/api/v1/intelligence/{id}/share", tag = "intelligence",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report's id")),
    request_body(content = IntelShareDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Shared", body = IntelPoliceReportDto, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such report", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Not graded, already shared, or no child named", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "No reason, or too short", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_share(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<IntelShareDto>,
) -> Result<Response, WebError> {
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let reason = body.reason.clone();
        Box::pin(async move { intelligence::share(&ctx, tx, &key, &actor, id, &reason).await })
    })
    .await?;
    let dto = api_police(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}
