//! Pages and JSON API for `mace_domain::referrals`: the service directory (`/services`), a
//! child's referrals (`/children/{id}/referrals`, making one with a chosen minimum of
//! information), a referral with its history and status changes (`/referrals/{id}`), and the
//! referral work list (`/work/referrals`: updates on referrals made, the organisation's incoming
//! referrals, and the referrals the viewer made). The services decide and audit; handlers only
//! shape what is shown.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, title_for};
use crate::cases::{as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format::{self, plural};
use crate::forms::{Choice, kept_pairs, refused, whole_number};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use mace_domain::authz::Actor;
use mace_domain::identity::model::{Organisation, User};
use mace_domain::ports::IdentityRepo;
use mace_domain::referrals::{
    self, ChildReferrals, Referral, ReferralInput, ReferralOptions, ReferralStatus, ReferralView,
    Service, ServiceInput, ServiceKind, ShareItem, Timer, WorkLine, WorkReferrals,
};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(services).post(service_create))
        .route("/services/new", get(service_new))
        .route("/services/{id}", get(service))
        .route(
            "/services/{id}/edit",
            get(service_edit).post(service_update),
        )
        .route("/children/{id}/referrals", get(child).post(send))
        .route("/children/{id}/referrals/new", get(referral_form))
        .route("/referrals/{id}", get(referral))
        .route("/referrals/{id}/status", post(status))
        .route("/work/referrals", get(work))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(api_services).post(api_create_service))
        .route("/services/{id}", get(api_service).put(api_update_service))
        .route("/children/{id}/referrals", get(api_child).post(api_send))
        .route("/referrals/{id}", get(api_referral))
        .route("/referrals/{id}/status", post(api_status))
        .route("/work/referrals", get(api_work))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_services, api_create_service, api_service, api_update_service, api_child, api_send,
          api_referral, api_status, api_work),
    components(schemas(ServiceDto, NewServiceDto, ReferralDto, ReferralSummaryDto, TimerDto,
                       SharedItemDto, ReferralStepDto, NewReferralDto, StatusChangeDto,
                       ChildReferralsDto, NotificationDto, WorkReferralDto, WorkReferralsDto)),
    tags((name = "referrals", description = "The service directory, referrals and the referral work list"))
)]
pub(crate) struct Doc;

// --- shared helpers -------------------------------------------------------------------------------

type Posted = Vec<(String, String)>;

fn value<'a>(f: &'a Posted, k: &str) -> &'a str {
    f.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn kept(f: &Posted) -> FormState {
    kept_pairs(f.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// A duration in words, to the hour: `3 hours`, `2 days 4 hours`.
fn span(d: time::Duration) -> String {
    let mins = d.whole_minutes().max(0);
    if mins < 60 {
        return plural(mins, "minute");
    }
    let hours = d.whole_hours();
    if hours < 24 {
        return plural(hours, "hour");
    }
    let (days, rest) = (hours / 24, hours % 24);
    if rest == 0 {
        plural(days, "day")
    } else {
        format!("{} {}", plural(days, "day"), plural(rest, "hour"))
    }
}

/// A timer as a tag: (text, class).
fn timer_tag(t: Timer) -> (String, &'static str) {
    match t {
        Timer::Met { at, late: false } => {
            (format!("Met {}", format::date_time(at)), "govuk-tag--green")
        }
        Timer::Met { at, late: true } => (
            format!("Met late, {}", format::date_time(at)),
            "govuk-tag--orange",
        ),
        Timer::Stopped => ("Not needed".into(), "govuk-tag--grey"),
        Timer::DueIn(d) => (format!("Due in {}", span(d)), "govuk-tag--blue"),
        Timer::Overdue(d) => (format!("Overdue by {}", span(d)), "govuk-tag--red"),
    }
}

fn status_class(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Sent => "govuk-tag--blue",
        ReferralStatus::Acknowledged => "govuk-tag--light-blue",
        ReferralStatus::Accepted => "govuk-tag--green",
        ReferralStatus::Declined => "govuk-tag--red",
        ReferralStatus::Closed => "govuk-tag--grey",
        ReferralStatus::Withdrawn => "govuk-tag--purple",
    }
}

/// The label of a status as an action the viewer takes.
fn move_label(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Acknowledged => "Acknowledge: we have received it and will decide",
        ReferralStatus::Accepted => "Accept the referral",
        ReferralStatus::Declined => "Decline the referral (give the reason)",
        ReferralStatus::Closed => "Close: the work has ended (record the outcome)",
        ReferralStatus::Withdrawn => "Withdraw the referral (give the reason)",
        ReferralStatus::Sent => "Sent",
    }
}

// --- the service directory ------------------------------------------------------------------------

pub struct ServiceRow {
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub org: String,
    pub ages: String,
    pub areas: String,
    pub accepting: bool,
}

#[derive(Template)]
#[template(path = "referrals/services.html")]
pub struct ServicesPage {
    pub layout: Layout,
    pub services: Vec<ServiceRow>,
    pub may_add: bool,
    pub notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
    pub service: Option<String>,
}

fn org_names(orgs: &[Organisation]) -> HashMap<Uuid, String> {
    orgs.iter().map(|o| (o.id, o.name.clone())).collect()
}

fn org_of(names: &HashMap<Uuid, String>, id: Uuid) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| "Unknown organisation".into())
}

async fn directory(
    state: &AppState,
    auth: &Auth,
) -> Result<(Vec<Service>, Vec<Organisation>, Actor), WebError> {
    as_user(state, auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            let s = referrals::list_services(tx).await?;
            let o = tx.list_orgs().await?;
            Ok((s, o, actor))
        })
    })
    .await
}

pub(crate) async fn services(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let (list, orgs, actor) = directory(&state, &auth).await?;
    let names = org_names(&orgs);
    let page = ServicesPage {
        layout: Layout::from_ctx(&state, ctx, "Services"),
        services: list
            .iter()
            .map(|s| ServiceRow {
                id: s.id,
                name: s.name.clone(),
                kind: s.kind.label(),
                org: org_of(&names, s.org_id),
                ages: s.ages(),
                areas: s.area_words(),
                accepting: s.accepting,
            })
            .collect(),
        may_add: referrals::may_manage(&actor, None),
        notice: match q.done.as_deref() {
            Some("added") => Some("The service has been added to the directory."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "referrals/service.html")]
pub struct ServicePage {
    pub layout: Layout,
    pub s: Service,
    pub kind: &'static str,
    pub org: String,
    pub ages: String,
    pub areas: String,
    pub may_edit: bool,
    pub notice: Option<&'static str>,
}

pub(crate) async fn service(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let (s, org, actor) = as_user(&state, &auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            let s = referrals::get_service(tx, id).await?;
            let org = tx
                .get_org(s.org_id)
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            Ok((s, org, actor))
        })
    })
    .await?;
    let page = ServicePage {
        layout: Layout::from_ctx(&state, ctx, &s.name),
        kind: s.kind.label(),
        ages: s.ages(),
        areas: s.area_words(),
        may_edit: referrals::may_manage(&actor, Some(&s)),
        org,
        s,
        notice: match q.done.as_deref() {
            Some("saved") => Some("The service has been updated."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "referrals/service_form.html")]
pub struct ServiceFormPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub action_url: String,
    pub back: String,
    pub form: FormState,
    pub csrf: String,
    pub kinds: Vec<Choice>,
    pub orgs: Vec<Choice>,
}

fn service_form_state(s: &Service) -> FormState {
    let num = |v: Option<i32>| v.map(|a| a.to_string()).unwrap_or_default();
    let yes = |b: bool| if b { "yes" } else { "" };
    FormState::kept(&[
        ("name", &s.name),
        ("kind", s.kind.as_str()),
        ("org_id", &s.org_id.to_string()),
        ("description", &s.description),
        ("email", &s.email),
        ("phone", &s.phone),
        ("how_to_refer", &s.how_to_refer),
        ("min_age", &num(s.min_age)),
        ("max_age", &num(s.max_age)),
        ("open_case_required", yes(s.open_case_required)),
        ("areas", &s.areas.join(" ")),
        ("ack_hours", &s.ack_hours.to_string()),
        ("decide_days", &s.decide_days.to_string()),
        ("accepting", yes(s.accepting)),
    ])
}

fn render_service_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    orgs: &[Organisation],
    edit: Option<Uuid>,
    form: FormState,
) -> Result<String, WebError> {
    let heading = if edit.is_some() {
        "Change the service"
    } else {
        "Add a service"
    };
    let kinds = ServiceKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_string(),
                k.label().to_string(),
                form.value("kind") == k.as_str(),
            )
        })
        .collect();
    let org_choices = orgs
        .iter()
        .map(|o| {
            (
                o.id.to_string(),
                o.name.clone(),
                form.value("org_id") == o.id.to_string(),
            )
        })
        .collect();
    let page = ServiceFormPage {
        layout: Layout::from_ctx(state, ctx, &title_for(&form, heading)),
        heading,
        action_url: match edit {
            Some(id) => format!("/services/{id}/edit"),
            None => "/services".into(),
        },
        back: match edit {
            Some(id) => format!("/services/{id}"),
            None => "/services".into(),
        },
        csrf: auth.session.csrf_secret.clone(),
        kinds,
        orgs: org_choices,
        form,
    };
    Ok(page.render()?)
}

pub(crate) async fn service_new(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let (_, orgs, actor) = directory(&state, &auth).await?;
    if !referrals::may_manage(&actor, None) {
        return Err(WebError::Domain(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        }));
    }
    let form = FormState::kept(&[
        ("accepting", "yes"),
        ("ack_hours", "8"),
        ("decide_days", "5"),
    ]);
    let html = render_service_form(&state, ctx, &auth, &orgs, None, form)?;
    Ok(Html(html).into_response())
}

pub(crate) async fn service_edit(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (s, orgs, actor) = as_user(&state, &auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            let s = referrals::get_service(tx, id).await?;
            Ok((s, tx.list_orgs().await?, actor))
        })
    })
    .await?;
    if !referrals::may_manage(&actor, Some(&s)) {
        return Err(WebError::Domain(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        }));
    }
    let html = render_service_form(&state, ctx, &auth, &orgs, Some(id), service_form_state(&s))?;
    Ok(Html(html).into_response())
}

fn age_of(form: &mut FormState, f: &Posted, field: &str) -> Option<i32> {
    let message = "Enter a whole number of years, like 13";
    whole_number(form, value(f, field), field, message)
}

fn number_of(form: &mut FormState, f: &Posted, field: &str, unit: &str) -> Option<i32> {
    let message = format!("Enter a whole number of working {unit}");
    whole_number(form, value(f, field), field, message)
}

fn service_input(form: &mut FormState, f: &Posted) -> ServiceInput {
    ServiceInput {
        name: value(f, "name").into(),
        kind: ServiceKind::parse(value(f, "kind")),
        org_id: Uuid::parse_str(value(f, "org_id").trim()).ok(),
        description: value(f, "description").into(),
        email: value(f, "email").into(),
        phone: value(f, "phone").into(),
        how_to_refer: value(f, "how_to_refer").into(),
        min_age: age_of(form, f, "min_age"),
        max_age: age_of(form, f, "max_age"),
        open_case_required: value(f, "open_case_required") == "yes",
        areas: value(f, "areas").into(),
        ack_hours: number_of(form, f, "ack_hours", "hours"),
        decide_days: number_of(form, f, "decide_days", "days"),
        accepting: value(f, "accepting") == "yes",
    }
}

async fn save_service(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    edit: Option<Uuid>,
    f: Posted,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = service_input(&mut form, &f);
    let done = if form.has_errors() {
        Err(WebError::Domain(Error::Validation(Vec::new())))
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let input = input.clone();
            Box::pin(async move {
                match edit {
                    Some(id) => referrals::update_service(&ctx, tx, &key, &actor, id, &input).await,
                    None => referrals::create_service(&ctx, tx, &key, &actor, &input).await,
                }
            })
        })
        .await
    };
    match done {
        Ok(s) => Ok(Redirect::to(&match edit {
            Some(_) => format!("/services/{}?done=saved", s.id),
            None => "/services?done=added".to_string(),
        })
        .into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let (_, orgs, _) = directory(&state, &auth).await?;
            let html = render_service_form(&state, ctx, &auth, &orgs, edit, form)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn service_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    save_service(state, ctx, auth, None, f).await
}

pub(crate) async fn service_update(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    save_service(state, ctx, auth, Some(id), f).await
}

// --- a child's referrals --------------------------------------------------------------------------

pub struct ChildRow {
    pub id: Uuid,
    pub service: String,
    pub org: String,
    pub sent: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "referrals/child.html")]
pub struct ChildPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub rows: Vec<ChildRow>,
    pub may_refer: bool,
    pub notice: Option<&'static str>,
}

pub(crate) async fn child(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let c = match as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::child_referrals(&ctx, tx, &key, &actor, id).await })
    })
    .await
    {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let child_name = name(&c.child);
    let page = ChildPage {
        layout: Layout::from_ctx(&state, ctx, &format!("Referrals: {child_name}")),
        id,
        name: child_name,
        rows: c
            .referrals
            .iter()
            .map(|(r, service, org)| ChildRow {
                id: r.id,
                service: service.clone(),
                org: org.clone(),
                sent: format::date_time(r.sent_at),
                status: r.status.label(),
                status_class: status_class(r.status),
                overdue: r.overdue(c.now),
            })
            .collect(),
        may_refer: c.may_refer,
        notice: match q.done.as_deref() {
            Some("sent") => Some("The referral has been sent."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

/// A service offered on the referral form.
pub struct ServiceChoice {
    pub id: String,
    pub name: String,
    pub org: String,
    pub chosen: bool,
    pub eligible: bool,
    pub why: String,
    pub targets: String,
}

/// A shareable item: (code, label, value shown, checked).
pub struct ShareChoice {
    pub code: String,
    pub label: String,
    pub value: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "referrals/form.html")]
pub struct ReferralFormPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub form: FormState,
    pub csrf: String,
    pub services: Vec<ServiceChoice>,
    pub items: Vec<ShareChoice>,
    pub concerns: Vec<ShareChoice>,
    /// The eligibility of the service chosen, when one is.
    pub chosen: Option<(bool, String)>,
}

fn targets(s: &Service) -> String {
    format!(
        "Acknowledges within {} and decides within {}",
        plural(i64::from(s.ack_hours), "working hour"),
        plural(i64::from(s.decide_days), "working day")
    )
}

fn render_referral_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    o: &ReferralOptions,
    form: FormState,
) -> Result<String, WebError> {
    let chosen_id = form.value("service_id").to_string();
    let services: Vec<ServiceChoice> = o
        .services
        .iter()
        .map(|s| ServiceChoice {
            id: s.service.id.to_string(),
            name: s.service.name.clone(),
            org: s.org_name.clone(),
            chosen: chosen_id == s.service.id.to_string(),
            eligible: s.eligibility.is_eligible(),
            why: s.eligibility.message(),
            targets: targets(&s.service),
        })
        .collect();
    let chosen = services
        .iter()
        .find(|s| s.chosen)
        .map(|s| (s.eligible, s.why.clone()));
    let items = o
        .items
        .iter()
        .map(|(item, v)| ShareChoice {
            code: item.as_str().into(),
            label: item.label().into(),
            value: v.clone().unwrap_or_else(|| "Nothing recorded".into()),
            checked: form.value(&format!("share_{}", item.as_str())) == "yes",
        })
        .collect();
    let concerns = o
        .concerns
        .iter()
        .map(|(c, line)| ShareChoice {
            code: c.id.to_string(),
            label: format!("Concern raised {}", format::date(c.created_at)),
            value: line.clone(),
            checked: form.value(&format!("concern_{}", c.id)) == "yes",
        })
        .collect();
    let title = title_for(&form, "Make a referral");
    let page = ReferralFormPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id: o.child.id,
        name: name(&o.child),
        csrf: auth.session.csrf_secret.clone(),
        services,
        items,
        concerns,
        chosen,
        form,
    };
    Ok(page.render()?)
}

async fn options(state: &AppState, auth: &Auth, id: Uuid) -> Result<ReferralOptions, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::referral_options(&ctx, tx, &key, &actor, id).await })
    })
    .await
}

pub(crate) async fn referral_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let o = match options(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let mut form = FormState::default();
    if let Some(s) = q.service.as_deref().and_then(|s| Uuid::parse_str(s).ok()) {
        form.values.insert("service_id".into(), s.to_string());
    }
    // The minimum to identify the child is offered ticked; everything else is the referrer's
    // choice.
    form.values.insert("share_identity".into(), "yes".into());
    let html = render_referral_form(&state, ctx, &auth, &o, form)?;
    Ok(Html(html).into_response())
}

const CHOOSE_LISTED_SERVICE: &str = "Choose a service from the list";

pub(crate) async fn send(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    // The "Check eligibility" button sends `check=yes`; any other value is not the button.
    let check = match value(&f, "check") {
        "" => false,
        "yes" => true,
        _ => {
            return Err(Error::validation(
                "check",
                "Choose ‘Check eligibility’ or ‘Send referral’",
            )
            .into());
        }
    };
    // A service is one of the radios (an id); anything else is refused, not read as none.
    let service_id = match value(&f, "service_id").trim() {
        "" => None,
        s => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => {
                form.errors
                    .push(FieldError::new("service_id", CHOOSE_LISTED_SERVICE));
                None
            }
        },
    };
    let input = ReferralInput {
        service_id,
        items: ShareItem::ALL
            .iter()
            .copied()
            .filter(|i| value(&f, &format!("share_{}", i.as_str())) == "yes")
            .collect(),
        concern_ids: f
            .iter()
            .filter(|(k, v)| k.starts_with("concern_") && v == "yes")
            .filter_map(|(k, _)| Uuid::parse_str(&k["concern_".len()..]).ok())
            .collect(),
        reason: value(&f, "reason").into(),
    };
    // "Check eligibility" only shows the form again for the service chosen, with anything
    // typed that no referral could hold.
    if check || form.has_errors() {
        let o = match options(&state, &auth, id).await {
            Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
            other => other?,
        };
        if let Some(sid) = service_id
            && !o.services.iter().any(|s| s.service.id == sid)
        {
            form.errors
                .push(FieldError::new("service_id", CHOOSE_LISTED_SERVICE));
        }
        if let Err(Error::Validation(errs)) = referrals::check_unsent(&input) {
            form.errors.extend(errs);
        }
        let html = render_referral_form(&state, ctx, &auth, &o, form.clone())?;
        return Ok(if form.has_errors() {
            form_reply(StatusCode::UNPROCESSABLE_ENTITY, html)
        } else {
            Html(html).into_response()
        });
    }
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { referrals::make_referral(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await;
    match done {
        Ok(r) => Ok(Redirect::to(&format!("/referrals/{}?done=sent", r.id)).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            let o = match options(&state, &auth, id).await {
                Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
                other => other?,
            };
            let html = render_referral_form(&state, ctx, &auth, &o, form)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

// --- one referral ---------------------------------------------------------------------------------

pub struct StepRow {
    pub status: &'static str,
    pub status_class: &'static str,
    pub when: String,
    pub by: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "referrals/referral.html")]
pub struct ReferralPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child_id: Uuid,
    pub name: String,
    pub service_id: Uuid,
    pub service: String,
    pub from_org: String,
    pub to_org: String,
    pub referrer: String,
    pub sent: String,
    pub reason: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub ack: (String, &'static str),
    pub ack_due: String,
    pub decision: (String, &'static str),
    pub decision_due: String,
    pub shared: Vec<(String, String)>,
    pub steps: Vec<StepRow>,
    pub moves: Vec<Choice>,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

fn referral_page(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    v: &ReferralView,
    form: FormState,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let r = &v.referral;
    let child_name = name(&v.child);
    let title = title_for(&form, &format!("Referral to {}", v.service.name));
    let page = ReferralPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id: r.id,
        child_id: r.person_id,
        name: child_name,
        service_id: v.service.id,
        service: v.service.name.clone(),
        from_org: v.from_org_name.clone(),
        to_org: v.to_org_name.clone(),
        referrer: v.referrer_name.clone(),
        sent: format::date_time(r.sent_at),
        reason: r.reason.clone(),
        status: r.status.label(),
        status_class: status_class(r.status),
        ack: timer_tag(r.ack_timer(v.now)),
        ack_due: format::date_time(r.ack_due_at),
        decision: timer_tag(r.decision_timer(v.now)),
        decision_due: format::date_time(r.decision_due_at),
        shared: v
            .shared
            .iter()
            .map(|s| (s.label.clone(), s.value.clone()))
            .collect(),
        steps: v
            .events
            .iter()
            .map(|e| StepRow {
                status: e.status.label(),
                status_class: status_class(e.status),
                when: format::date_time(e.at),
                by: v.person(e.user_id).to_string(),
                note: e.note.clone(),
            })
            .collect(),
        moves: v
            .may_move_to
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    move_label(*s).to_string(),
                    form.value("status") == s.as_str(),
                )
            })
            .collect(),
        csrf: auth.session.csrf_secret.clone(),
        form,
        notice,
    };
    Ok(page.render()?)
}

async fn load_referral(state: &AppState, auth: &Auth, id: Uuid) -> Result<ReferralView, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::open_referral(&ctx, tx, &key, &actor, id).await })
    })
    .await
}

pub(crate) async fn referral(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let v = match load_referral(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let notice = match q.done.as_deref() {
        Some("sent") => Some("The referral has been sent. You will be told when it moves on."),
        Some("status") => Some("The referral has been updated."),
        _ => None,
    };
    let html = referral_page(&state, ctx, &auth, &v, FormState::default(), notice)?;
    Ok(Html(html).into_response())
}

pub(crate) async fn status(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let to = ReferralStatus::parse(value(&f, "status"));
    let note = value(&f, "note").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(
            async move { referrals::change_status(&ctx, tx, &key, &actor, id, to, &note).await },
        )
    })
    .await;
    let code = match done {
        Ok(_) => {
            return Ok(Redirect::to(&format!("/referrals/{id}?done=status")).into_response());
        }
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(WebError::Domain(Error::Conflict(why))) => {
            let mut chars = why.chars();
            let message = match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => "This change cannot be made.".into(),
            };
            form.errors.push(FieldError::new("status", message));
            StatusCode::CONFLICT
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        Err(e) => return Err(e),
    };
    let v = match load_referral(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let html = referral_page(&state, ctx, &auth, &v, form, None)?;
    Ok(form_reply(code, html))
}

// --- the work list --------------------------------------------------------------------------------

pub struct WorkRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub child: String,
    pub service: String,
    pub org: String,
    pub sent: String,
    pub age: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub overdue: bool,
}

pub struct NoteRow {
    pub referral_id: Uuid,
    pub message: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "referrals/work.html")]
pub struct WorkPage {
    pub layout: Layout,
    pub notes: Vec<NoteRow>,
    pub incoming: Vec<WorkRow>,
    pub made: Vec<WorkRow>,
    pub waiting: usize,
    pub overdue: usize,
}

fn work_row(l: &WorkLine) -> WorkRow {
    WorkRow {
        id: l.referral.id,
        child_id: l.child.id,
        child: name(&l.child),
        service: l.service_name.clone(),
        org: l.org_name.clone(),
        sent: format::date_time(l.referral.sent_at),
        age: span(l.age),
        status: l.referral.status.label(),
        status_class: status_class(l.referral.status),
        overdue: l.overdue,
    }
}

pub(crate) async fn work(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let w = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::work_referrals(&ctx, tx, &key, &actor, true).await })
    })
    .await?;
    let page = WorkPage {
        layout: Layout::from_ctx(&state, ctx, "Referrals"),
        notes: w
            .unread
            .iter()
            .map(|n| NoteRow {
                referral_id: n.referral_id,
                message: n.message.clone(),
                when: format::date_time(n.created_at),
            })
            .collect(),
        waiting: w
            .incoming
            .iter()
            .filter(|l| l.referral.status.is_open())
            .count(),
        overdue: w.incoming.iter().filter(|l| l.overdue).count(),
        incoming: w.incoming.iter().map(work_row).collect(),
        made: w.made.iter().map(work_row).collect(),
    };
    Ok(Html(page.render()?).into_response())
}

// --- JSON API -------------------------------------------------------------------------------------

/// A service in the directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceDto {
    pub id: Uuid,
    pub name: String,
    /// `exploitation`, `front_door`, `sexual_health`, `substance_misuse`, `group_programme` or
    /// `other`.
    pub kind: String,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub description: String,
    pub email: String,
    pub phone: String,
    pub how_to_refer: String,
    /// Youngest age taken, in whole years on the referral date.
    pub min_age: Option<i32>,
    /// Oldest age taken, in whole years on the referral date.
    pub max_age: Option<i32>,
    /// Only children whose case an organisation holds.
    pub open_case_required: bool,
    /// Postcode districts covered; empty: anywhere.
    pub areas: Vec<String>,
    /// Acknowledge within this many working hours (Monday to Friday, 09:00-17:00 UK time, not
    /// bank holidays).
    pub acknowledge_within_working_hours: i32,
    /// Accept or decline within this many working days.
    pub decide_within_working_days: i32,
    /// Taking referrals now.
    pub accepting: bool,
}

fn service_dto(s: &Service, names: &HashMap<Uuid, String>) -> ServiceDto {
    ServiceDto {
        id: s.id,
        name: s.name.clone(),
        kind: s.kind.as_str().into(),
        organisation_id: s.org_id,
        organisation_name: org_of(names, s.org_id),
        description: s.description.clone(),
        email: s.email.clone(),
        phone: s.phone.clone(),
        how_to_refer: s.how_to_refer.clone(),
        min_age: s.min_age,
        max_age: s.max_age,
        open_case_required: s.open_case_required,
        areas: s.areas.clone(),
        acknowledge_within_working_hours: s.ack_hours,
        decide_within_working_days: s.decide_days,
        accepting: s.accepting,
    }
}

/// A service to add, or its new values.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewServiceDto {
    pub name: String,
    /// See [`ServiceDto::kind`].
    pub kind: String,
    pub organisation_id: Uuid,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub how_to_refer: String,
    #[serde(default)]
    pub min_age: Option<i32>,
    #[serde(default)]
    pub max_age: Option<i32>,
    #[serde(default)]
    pub open_case_required: bool,
    /// Postcode districts, like `SS1`.
    #[serde(default)]
    pub areas: Vec<String>,
    /// 1 to 80.
    pub acknowledge_within_working_hours: i32,
    /// 1 to 60.
    pub decide_within_working_days: i32,
    #[serde(default = "yes")]
    pub accepting: bool,
}

fn yes() -> bool {
    true
}

impl NewServiceDto {
    fn input(self) -> Result<ServiceInput, WebError> {
        Ok(ServiceInput {
            name: self.name,
            kind: Some(
                ServiceKind::parse(self.kind.trim())
                    .ok_or_else(|| Error::validation("kind", "Not a kind of service mace knows"))?,
            ),
            org_id: Some(self.organisation_id),
            description: self.description,
            email: self.email,
            phone: self.phone,
            how_to_refer: self.how_to_refer,
            min_age: self.min_age,
            max_age: self.max_age,
            open_case_required: self.open_case_required,
            areas: self.areas.join(" "),
            ack_hours: Some(self.acknowledge_within_working_hours),
            decide_days: Some(self.decide_within_working_days),
            accepting: self.accepting,
        })
    }
}

async fn api_names(state: &AppState, user: &User) -> Result<HashMap<Uuid, String>, WebError> {
    let orgs = with_actor(state, user, None, false, move |tx, _ctx, _key, _actor| {
        Box::pin(async move { tx.list_orgs().await })
    })
    .await?;
    Ok(org_names(&orgs))
}

/// Every service in the directory (anyone signed in).
#[utoipa::path(get, path = "/api/v1/services", tag = "referrals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The services, by name", body = [ServiceDto], content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_services(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let list = with_actor(
        &state,
        &c.user,
        None,
        false,
        move |tx, _ctx, _key, _actor| Box::pin(async move { referrals::list_services(tx).await }),
    )
    .await?;
    let names = api_names(&state, &c.user).await?;
    let dto: Vec<ServiceDto> = list.iter().map(|s| service_dto(s, &names)).collect();
    Ok(json_response(StatusCode::OK, &dto))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service's id")),
    responses(
        (status = 200, description = "The service", body = ServiceDto, content_type = "application/json"),
        (status = 404, description = "No such service", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_service(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let s = with_actor(
        &state,
        &c.user,
        None,
        false,
        move |tx, _ctx, _key, _actor| Box::pin(async move { referrals::get_service(tx, id).await }),
    )
    .await?;
    let names = api_names(&state, &c.user).await?;
    Ok(json_response(StatusCode::OK, &service_dto(&s, &names)))
}

/// Add a service (partnership administrators and managers). Audited.
#[utoipa::path(post, path = "/api/v1/services", tag = "referrals",
    security(("bearer" = [])),
    request_body(content = NewServiceDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = ServiceDto, content_type = "application/json"),
        (status = 403, description = "The caller may not manage services", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create_service(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewServiceDto>,
) -> Result<Response, WebError> {
    let input = body.input()?;
    let s = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { referrals::create_service(&ctx, tx, &key, &actor, &input).await })
    })
    .await?;
    let names = api_names(&state, &c.user).await?;
    Ok(json_response(StatusCode::CREATED, &service_dto(&s, &names)))
}

/// Change a service (partnership administrators and managers; the running organisation's team
/// manager for its own). Audited.
#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service's id")),
    request_body(content = NewServiceDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = ServiceDto, content_type = "application/json"),
        (status = 403, description = "The caller may not manage this service", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such service", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_update_service(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewServiceDto>,
) -> Result<Response, WebError> {
    let input = body.input()?;
    let s = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { referrals::update_service(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let names = api_names(&state, &c.user).await?;
    Ok(json_response(StatusCode::OK, &service_dto(&s, &names)))
}

/// A response-time target as it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimerDto {
    /// `due`, `overdue`, `met`, `met_late` or `not_needed`.
    pub state: String,
    /// RFC 3339.
    pub due_at: String,
    /// When it was met, if it was.
    pub met_at: Option<String>,
    /// Seconds until due (`due`) or past due (`overdue`); 0 otherwise.
    pub seconds: i64,
}

fn timer_dto(t: Timer, due: OffsetDateTime) -> TimerDto {
    let (state, met_at, seconds) = match t {
        Timer::Met { at, late } => (if late { "met_late" } else { "met" }, Some(at), 0),
        Timer::Stopped => ("not_needed", None, 0),
        Timer::DueIn(d) => ("due", None, d.whole_seconds()),
        Timer::Overdue(d) => ("overdue", None, d.whole_seconds()),
    };
    TimerDto {
        state: state.into(),
        due_at: crate::cases_api::rfc3339(due),
        met_at: met_at.map(crate::cases_api::rfc3339),
        seconds,
    }
}

/// A referral in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralSummaryDto {
    pub id: Uuid,
    pub child_id: Uuid,
    pub service_id: Uuid,
    pub service_name: String,
    pub from_organisation_id: Uuid,
    pub to_organisation_id: Uuid,
    /// The other side's name: the receiving organisation, or the referring one in an inbox.
    pub organisation_name: String,
    pub referrer_id: Uuid,
    /// RFC 3339.
    pub sent_at: String,
    /// `sent`, `acknowledged`, `accepted`, `declined`, `closed` or `withdrawn`.
    pub status: String,
    pub acknowledgement: TimerDto,
    pub decision: TimerDto,
    /// Past a target still unmet.
    pub overdue: bool,
}

fn summary_dto(r: &Referral, service: &str, org: &str, now: OffsetDateTime) -> ReferralSummaryDto {
    ReferralSummaryDto {
        id: r.id,
        child_id: r.person_id,
        service_id: r.service_id,
        service_name: service.into(),
        from_organisation_id: r.from_org_id,
        to_organisation_id: r.to_org_id,
        organisation_name: org.into(),
        referrer_id: r.created_by,
        sent_at: crate::cases_api::rfc3339(r.sent_at),
        status: r.status.as_str().into(),
        acknowledgement: timer_dto(r.ack_timer(now), r.ack_due_at),
        decision: timer_dto(r.decision_timer(now), r.decision_due_at),
        overdue: r.overdue(now),
    }
}

/// One item of what the referral shared, as frozen when it was sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SharedItemDto {
    /// `identity`, `address`, `school`, `concern`, `risk_level` or `plan`.
    pub item: String,
    pub label: String,
    pub value: String,
}

/// One step of a referral.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralStepDto {
    pub status: String,
    pub note: String,
    pub user_id: Uuid,
    pub user_name: String,
    pub organisation_id: Uuid,
    /// RFC 3339.
    pub at: String,
}

/// A referral with what it shared and its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralDto {
    pub summary: ReferralSummaryDto,
    pub from_organisation_name: String,
    pub to_organisation_name: String,
    pub referrer_name: String,
    /// Why the referral was made (always shared).
    pub reason: String,
    pub decline_reason: Option<String>,
    pub outcome: Option<String>,
    pub shared: Vec<SharedItemDto>,
    /// Oldest first.
    pub history: Vec<ReferralStepDto>,
    /// Statuses the caller may move it to now.
    pub may_move_to: Vec<String>,
}

fn referral_dto(v: &ReferralView) -> ReferralDto {
    let r = &v.referral;
    ReferralDto {
        summary: summary_dto(r, &v.service.name, &v.to_org_name, v.now),
        from_organisation_name: v.from_org_name.clone(),
        to_organisation_name: v.to_org_name.clone(),
        referrer_name: v.referrer_name.clone(),
        reason: r.reason.clone(),
        decline_reason: r.decline_reason.clone(),
        outcome: r.outcome.clone(),
        shared: v
            .shared
            .iter()
            .map(|s| SharedItemDto {
                item: s.item.clone(),
                label: s.label.clone(),
                value: s.value.clone(),
            })
            .collect(),
        history: v
            .events
            .iter()
            .map(|e| ReferralStepDto {
                status: e.status.as_str().into(),
                note: e.note.clone(),
                user_id: e.user_id,
                user_name: v.person(e.user_id).into(),
                organisation_id: e.org_id,
                at: crate::cases_api::rfc3339(e.at),
            })
            .collect(),
        may_move_to: v.may_move_to.iter().map(|s| s.as_str().into()).collect(),
    }
}

/// A child's referrals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildReferralsDto {
    pub child_id: Uuid,
    /// Newest first.
    pub referrals: Vec<ReferralSummaryDto>,
}

fn child_dto(c: &ChildReferrals) -> ChildReferralsDto {
    ChildReferralsDto {
        child_id: c.child.id,
        referrals: c
            .referrals
            .iter()
            .map(|(r, s, o)| summary_dto(r, s, o, c.now))
            .collect(),
    }
}

/// A child's referrals (needs the right to open the record). Audited.
#[utoipa::path(get, path = "/api/v1/children/{id}/referrals", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "The child's referrals", body = ChildReferralsDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_child(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let list = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::child_referrals(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &child_dto(&list)))
}

/// A referral to send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewReferralDto {
    pub service_id: Uuid,
    /// What to share besides the reason: any of `identity`, `address`, `school`, `risk_level`,
    /// `plan` (the minimum necessary).
    #[serde(default)]
    pub share: Vec<String>,
    /// The child's concerns to share.
    #[serde(default)]
    pub concern_ids: Vec<Uuid>,
    /// Why the referral is made (at least 10 characters; always shared).
    pub reason: String,
}

/// Send a referral for a child (needs the right to change the record). Refused with the reasons
/// when the service's eligibility rules are not met. Audited as a disclosure.
#[utoipa::path(post, path = "/api/v1/children/{id}/referrals", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewReferralDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Sent", body = ReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not eligible, missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_send(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewReferralDto>,
) -> Result<Response, WebError> {
    let mut items = Vec::new();
    for s in &body.share {
        items.push(
            ShareItem::parse(s.trim())
                .ok_or_else(|| Error::validation("share", "Not an item mace can share"))?,
        );
    }
    let input = ReferralInput {
        service_id: Some(body.service_id),
        items,
        concern_ids: body.concern_ids,
        reason: body.reason,
    };
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move {
            let r = referrals::make_referral(&ctx, tx, &key, &actor, id, &input).await?;
            referrals::open_referral(&ctx, tx, &key, &actor, r.id).await
        })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &referral_dto(&v)))
}

/// A referral with what it shared and its history (needs the right to open the child's record:
/// the referring and receiving organisations have it). Audited.
#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "The referral", body = ReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_referral(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::open_referral(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &referral_dto(&v)))
}

/// A status change.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StatusChangeDto {
    /// `acknowledged`, `accepted`, `declined`, `closed` (the receiving service) or `withdrawn`
    /// (the referring organisation).
    pub status: String,
    /// The reason (declined, withdrawn) or outcome (closed), at least 10 characters; optional
    /// otherwise.
    #[serde(default)]
    pub note: String,
}

/// Move a referral on. Only legal moves: sent → acknowledged, accepted, declined or withdrawn;
/// acknowledged → accepted, declined or withdrawn; accepted → closed. Audited; the referrer is
/// notified.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/status", tag = "referrals",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = StatusChangeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = ReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller is not the receiving service (or, to withdraw, the referring organisation)", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Not a legal move from the current status", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing reason or outcome", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_status(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<StatusChangeDto>,
) -> Result<Response, WebError> {
    let to = Some(
        ReferralStatus::parse(body.status.trim())
            .ok_or_else(|| Error::validation("status", "Not a referral status mace knows"))?,
    );
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let note = body.note.clone();
        Box::pin(async move {
            referrals::change_status(&ctx, tx, &key, &actor, id, to, &note).await?;
            referrals::open_referral(&ctx, tx, &key, &actor, id).await
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &referral_dto(&v)))
}

/// An update on a referral the caller made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: Uuid,
    pub referral_id: Uuid,
    pub message: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A referral in the work list, with its child.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkReferralDto {
    pub child_name: String,
    /// Seconds since it was sent.
    pub age_seconds: i64,
    pub referral: ReferralSummaryDto,
}

/// The caller's referral work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkReferralsDto {
    /// Unread updates on referrals the caller made, newest first (the API leaves them unread;
    /// the page marks them read).
    pub notifications: Vec<NotificationDto>,
    /// Referrals to the caller's organisation: waiting ones first, oldest first; then the rest,
    /// newest first.
    pub incoming: Vec<WorkReferralDto>,
    /// Referrals the caller made, newest first.
    pub made: Vec<WorkReferralDto>,
}

fn work_dto(w: &WorkReferrals) -> WorkReferralsDto {
    let line = |l: &WorkLine| WorkReferralDto {
        child_name: name(&l.child),
        age_seconds: l.age.whole_seconds(),
        referral: summary_dto(&l.referral, &l.service_name, &l.org_name, w.now),
    };
    WorkReferralsDto {
        notifications: w
            .unread
            .iter()
            .map(|n| NotificationDto {
                id: n.id,
                referral_id: n.referral_id,
                message: n.message.clone(),
                created_at: crate::cases_api::rfc3339(n.created_at),
            })
            .collect(),
        incoming: w.incoming.iter().map(line).collect(),
        made: w.made.iter().map(line).collect(),
    }
}

/// The caller's referral work list: the organisation's incoming referrals (with age and
/// overdue flags) and the referrals the caller made, filtered by the caller's access in the
/// query. Audited.
#[utoipa::path(get, path = "/api/v1/work/referrals", tag = "referrals",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The work list", body = WorkReferralsDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_work(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let w = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { referrals::work_referrals(&ctx, tx, &key, &actor, false).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &work_dto(&w)))
}
