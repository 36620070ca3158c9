//! Pages and JSON API for `mace_domain::nrm`: a child's NRM referrals (`/children/{id}/nrm`),
//! recording a referral, its decisions, the guardian, reconsiderations and closure, gathering the
//! referral's content from the case for the online form, the open referrals list with what is
//! due (`/nrm`) and the partnership statistics (`/nrm/statistics`). The services decide, audit
//! and write the chronology; handlers only shape what is shown.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, page_reply, title_for};
use crate::cases::{as_user, dob, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format::{self, plural};
use crate::forms::{
    Choice, DoneQuery, Posted, capitalised, change_unless_invalid, choices, date_of, field_errors,
    invalid, kept, refused, value,
};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use mace_domain::identity::model::Organisation;
use mace_domain::nrm::{
    self, ChildNrm, CloseInput, DecisionInput, DecisionMaker, Due, Exploitation, Figure,
    FinalOutcome, Grounds, IctgInput, IctgRole, Interval, NrmReferral, ReconsiderationInput,
    ReconsiderationOutcome, ReferralContent, ReferralInput, ReferralView, Stage, Statistics,
    WhereExploited,
};
use mace_domain::ports::IdentityRepo;
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/nrm", get(child_page))
        .route(
            "/children/{id}/nrm/new",
            get(referral_form).post(referral_create),
        )
        .route("/children/{id}/nrm/content", get(content_page))
        .route(
            "/nrm-referrals/{rid}/narrative",
            axum::routing::post(narrative_save),
        )
        .route(
            "/nrm-referrals/{rid}/decision",
            get(decision_form).post(decision_add),
        )
        .route("/nrm-referrals/{rid}/ictg", get(ictg_form).post(ictg_add))
        .route(
            "/nrm-referrals/{rid}/reconsiderations",
            get(reconsideration_form).post(reconsideration_add),
        )
        .route(
            "/nrm-referrals/{rid}/reconsiderations/{qid}",
            get(outcome_form).post(outcome_add),
        )
        .route("/nrm-referrals/{rid}/close", get(close_form).post(close))
        .route("/nrm", get(open_page))
        .route("/nrm/statistics", get(statistics_page))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/children/{id}/nrm", get(api_list).post(api_create))
        .route("/nrm-referrals/{rid}", get(api_get))
        .route(
            "/nrm-referrals/{rid}/decisions",
            axum::routing::post(api_decision),
        )
        .route("/nrm-referrals/{rid}/ictg", axum::routing::post(api_ictg))
        .route(
            "/nrm-referrals/{rid}/reconsiderations",
            axum::routing::post(api_reconsideration),
        )
        .route(
            "/nrm-referrals/{rid}/reconsiderations/{qid}/outcome",
            axum::routing::post(api_reconsideration_outcome),
        )
        .route(
            "/nrm-referrals/{rid}/narrative",
            axum::routing::put(api_narrative),
        )
        .route("/nrm-referrals/{rid}/close", axum::routing::post(api_close))
        .route("/nrm", get(api_open))
        .route("/nrm/statistics", get(api_statistics))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_decision, api_ictg, api_reconsideration,
          api_reconsideration_outcome, api_narrative, api_close, api_open, api_statistics),
    components(schemas(NrmReferralDto, NrmDueDto, ReconsiderationDto, ChildNrmDto,
                       NewNrmReferralDto, NrmDecisionDto, NrmIctgDto, NewReconsiderationDto,
                       ReconsiderationOutcomeDto, NrmNarrativeDto, CloseNrmDto, NrmOpenDto,
                       NrmOpenListDto, NrmStatisticsDto, ExploitationCountDto, IntervalDto)),
    tags((name = "nrm", description = "National Referral Mechanism referrals for children who may be trafficked: decisions, deadlines and statistics"))
)]
pub(crate) struct Doc;

// --- shaping --------------------------------------------------------------------------------------

fn org_name(orgs: &[Organisation], id: Uuid) -> String {
    orgs.iter()
        .find(|o| o.id == id)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| "Unknown organisation".into())
}

/// What is due, in words, with a tag class.
fn due_words(d: Due) -> (String, &'static str) {
    match d {
        Due::RgDue {
            on,
            working_days_left: 0,
        } => (
            format!("RG decision due on {} (today)", format::day(on)),
            "govuk-tag--orange",
        ),
        Due::RgDue {
            on,
            working_days_left,
        } => (
            format!(
                "RG decision due on {} ({} left)",
                format::day(on),
                plural(working_days_left, "working day")
            ),
            "govuk-tag--yellow",
        ),
        Due::RgOverdue {
            on,
            working_days_late,
        } => (
            format!(
                "RG decision overdue: it was due on {} ({} late)",
                format::day(on),
                plural(working_days_late, "working day")
            ),
            "govuk-tag--red",
        ),
        Due::RecoveryPeriod { ends } => (
            format!(
                "Recovery period until {}: no conclusive grounds decision before then",
                format::day(ends)
            ),
            "govuk-tag--blue",
        ),
        Due::CgAwaited { since } => (
            format!(
                "Conclusive grounds decision awaited since {} (no target date)",
                format::day(since)
            ),
            "govuk-tag--grey",
        ),
        Due::Negative => (
            "Negative decision: reconsideration may be requested".into(),
            "govuk-tag--purple",
        ),
        Due::ReconsiderationPending => ("Reconsideration awaited".into(), "govuk-tag--purple"),
        Due::Concluded => (
            "Conclusive grounds decision made: the referral can be closed".into(),
            "govuk-tag--green",
        ),
        Due::Closed => ("Closed".into(), "govuk-tag--grey"),
    }
}

fn due_code(d: Due) -> &'static str {
    match d {
        Due::RgDue { .. } => "rg_due",
        Due::RgOverdue { .. } => "rg_overdue",
        Due::RecoveryPeriod { .. } => "recovery_period",
        Due::CgAwaited { .. } => "cg_awaited",
        Due::Negative => "negative",
        Due::ReconsiderationPending => "reconsideration_pending",
        Due::Concluded => "concluded",
        Due::Closed => "closed",
    }
}

fn decision_words(g: Option<Grounds>, on: Option<Date>) -> String {
    match (g, on) {
        (Some(g), Some(d)) => format!("{} ({})", g.label(), format::day(d)),
        (Some(g), None) => g.label().to_string(),
        _ => "Not yet made".into(),
    }
}

fn exploitation_words(r: &NrmReferral) -> String {
    r.exploitation
        .iter()
        .map(|e| e.label())
        .collect::<Vec<_>>()
        .join(", ")
}

pub struct ReconRow {
    pub id: Uuid,
    pub stage: &'static str,
    pub requested: String,
    pub by: String,
    pub outcome: String,
    pub pending: bool,
}

/// One referral as shown on the child's page.
pub struct ReferralBlock {
    pub id: Uuid,
    pub open: bool,
    pub submitted: String,
    pub first_responder: String,
    pub first_responder_org: String,
    pub exploitation: String,
    pub county_lines: bool,
    pub location: &'static str,
    pub decision_maker: &'static str,
    pub home_office_ref: String,
    pub narrative: String,
    pub rg_due: String,
    pub rg: String,
    pub recovery_ends: String,
    pub cg: String,
    pub ictg: String,
    pub closed: String,
    pub final_outcome: String,
    pub due: String,
    pub due_class: &'static str,
    pub overdue: bool,
    pub reconsiderations: Vec<ReconRow>,
    pub needs_rg: bool,
    pub needs_cg: bool,
    pub may_reconsider: bool,
}

fn block(v: &ReferralView, orgs: &[Organisation]) -> ReferralBlock {
    let r = &v.referral;
    let (due, due_class) = due_words(v.due);
    ReferralBlock {
        id: r.id,
        open: r.is_open(),
        submitted: format::day(r.submitted_on),
        first_responder: r.first_responder_name.clone(),
        first_responder_org: org_name(orgs, r.first_responder_org_id),
        exploitation: exploitation_words(r),
        county_lines: r.county_lines,
        location: r.location.label(),
        decision_maker: r.decision_maker.label(),
        home_office_ref: r.home_office_ref.clone(),
        narrative: r.narrative.clone(),
        rg_due: format::day(r.rg_due_on()),
        rg: decision_words(r.rg_decision, r.rg_decided_on),
        recovery_ends: r.recovery_ends().map(format::day).unwrap_or_default(),
        cg: decision_words(r.cg_decision, r.cg_decided_on),
        ictg: match (r.ictg_referred_on, r.ictg_role) {
            (None, _) => "Not referred".into(),
            (Some(d), None) => format!("Referred on {}; no guardian appointed yet", format::day(d)),
            (Some(d), Some(role)) => format!(
                "Referred on {}; {}{}",
                format::day(d),
                role.label(),
                if r.ictg_name.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.ictg_name)
                }
            ),
        },
        closed: r.closed_on.map(format::day).unwrap_or_default(),
        final_outcome: match r.final_outcome {
            Some(o) if r.close_note.is_empty() => o.label().to_string(),
            Some(o) => format!("{}. {}", o.label(), r.close_note),
            None => String::new(),
        },
        due,
        due_class,
        overdue: v.due.is_overdue(),
        reconsiderations: v
            .reconsiderations
            .iter()
            .map(|q| ReconRow {
                id: q.id,
                stage: q.stage.label(),
                requested: format::day(q.requested_on),
                by: q.requested_by.clone(),
                outcome: match q.outcome_on {
                    Some(d) => format!("{} ({})", q.outcome.label(), format::day(d)),
                    None => q.outcome.label().to_string(),
                },
                pending: q.outcome == ReconsiderationOutcome::Pending,
            })
            .collect(),
        needs_rg: r.rg_decision.is_none(),
        needs_cg: r.rg_decision == Some(Grounds::Positive) && r.cg_decision.is_none(),
        may_reconsider: r.rg_decision == Some(Grounds::Negative)
            || r.cg_decision == Some(Grounds::Negative),
    }
}

// --- the child's page -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "nrm/child.html")]
pub struct ChildPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub referrals: Vec<ReferralBlock>,
    pub may_edit: bool,
    pub notice: Option<&'static str>,
}

async fn load(state: &AppState, auth: &Auth, id: Uuid) -> Result<ChildNrm, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { nrm::child_referrals(&ctx, tx, &key, &actor, id).await })
    })
    .await
}

pub(crate) async fn child_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let c = match load(&state, &auth, id).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let child = name(&c.child);
    let page = ChildPage {
        layout: Layout::from_ctx(&state, ctx, &format!("NRM referrals: {child}")),
        id,
        name: child,
        referrals: c.referrals.iter().map(|v| block(v, &c.orgs)).collect(),
        may_edit: c.may_edit,
        notice: match q.done.as_deref() {
            Some("recorded") => Some("The NRM referral has been recorded."),
            Some("decision") => Some("The decision has been recorded."),
            Some("ictg") => Some("The guardian referral has been recorded."),
            Some("reconsideration") => Some("The reconsideration has been recorded."),
            Some("outcome") => Some("The reconsideration's outcome has been recorded."),
            Some("narrative") => Some("The referral's narrative has been saved."),
            Some("closed") => Some("The referral has been closed. It stays on the record."),
            _ => None,
        },
    };
    Ok(Html(page.render()?).into_response())
}

// --- forms ----------------------------------------------------------------------------------------

/// Which form a [`FormPage`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Referral,
    Decision,
    Ictg,
    Reconsideration,
    Outcome,
    Close,
}

impl FormKind {
    fn title(self) -> &'static str {
        match self {
            Self::Referral => "Record an NRM referral",
            Self::Decision => "Record a decision",
            Self::Ictg => "Record the guardian referral",
            Self::Reconsideration => "Record a reconsideration request",
            Self::Outcome => "Record the reconsideration's outcome",
            Self::Close => "Close the referral",
        }
    }
    fn code(self) -> &'static str {
        match self {
            Self::Referral => "referral",
            Self::Decision => "decision",
            Self::Ictg => "ictg",
            Self::Reconsideration => "reconsideration",
            Self::Outcome => "outcome",
            Self::Close => "close",
        }
    }
    fn done(self) -> &'static str {
        match self {
            Self::Referral => "recorded",
            Self::Close => "closed",
            k => k.code(),
        }
    }
    /// Domain field → the form's field (dates are reported on their day box).
    fn field(self, domain: &str) -> String {
        match domain {
            "submitted_on" => "submitted-day".into(),
            "decided_on" => "decided-day".into(),
            "ictg_referred_on" => "ictg-day".into(),
            "requested_on" => "requested-day".into(),
            "outcome_on" => "outcome-day".into(),
            "closed_on" => "closed-day".into(),
            _ => domain.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "nrm/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub kind: &'static str,
    pub heading: &'static str,
    pub action_url: String,
    pub form: FormState,
    pub csrf: String,
    pub first_responders: Vec<Choice>,
    pub exploitation: Vec<Choice>,
    pub county_lines: Vec<Choice>,
    pub locations: Vec<Choice>,
    pub decision_makers: Vec<Choice>,
    pub stages: Vec<Choice>,
    pub grounds: Vec<Choice>,
    pub ictg_roles: Vec<Choice>,
    pub recon_outcomes: Vec<Choice>,
    pub final_outcomes: Vec<Choice>,
    /// The referral the form is about, in a line.
    pub referral_text: String,
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    c: &ChildNrm,
    responders: &[Organisation],
    kind: FormKind,
    form: FormState,
    rid: Option<Uuid>,
    qid: Option<Uuid>,
) -> Result<String, WebError> {
    let id = c.child.id;
    let referral = rid.and_then(|r| c.referrals.iter().find(|v| v.referral.id == r));
    let referral_text = referral
        .map(|v| {
            format!(
                "Referral submitted on {} by {} (Home Office reference {})",
                format::day(v.referral.submitted_on),
                c.org_name(v.referral.first_responder_org_id),
                v.referral.home_office_ref
            )
        })
        .unwrap_or_default();
    let action_url = match (kind, rid, qid) {
        (FormKind::Referral, _, _) => format!("/children/{id}/nrm/new"),
        (FormKind::Outcome, Some(r), Some(q)) => {
            format!("/nrm-referrals/{r}/reconsiderations/{q}")
        }
        (FormKind::Decision, Some(r), _) => format!("/nrm-referrals/{r}/decision"),
        (FormKind::Ictg, Some(r), _) => format!("/nrm-referrals/{r}/ictg"),
        (FormKind::Reconsideration, Some(r), _) => format!("/nrm-referrals/{r}/reconsiderations"),
        (_, Some(r), _) => format!("/nrm-referrals/{r}/close"),
        _ => format!("/children/{id}/nrm"),
    };
    let title = title_for(&form, kind.title());
    let page = FormPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        name: name(&c.child),
        kind: kind.code(),
        heading: kind.title(),
        action_url,
        first_responders: responders
            .iter()
            .map(|o| {
                (
                    o.id.to_string(),
                    o.name.clone(),
                    form.value("first_responder_org_id") == o.id.to_string(),
                )
            })
            .collect(),
        exploitation: Exploitation::ALL
            .iter()
            .map(|e| {
                (
                    e.as_str().to_string(),
                    e.label().to_string(),
                    form.value(&format!("exp_{}", e.as_str())) == "yes",
                )
            })
            .collect(),
        county_lines: vec![(
            "lines".into(),
            "Yes, there are county lines concerns".into(),
            form.value("county_lines") == "yes",
        )],
        locations: choices(
            WhereExploited::ALL,
            WhereExploited::as_str,
            WhereExploited::label,
            form.value("location"),
        ),
        decision_makers: choices(
            DecisionMaker::ALL,
            DecisionMaker::as_str,
            DecisionMaker::label,
            form.value("decision_maker"),
        ),
        stages: choices(Stage::ALL, Stage::as_str, Stage::label, form.value("stage")),
        grounds: choices(
            Grounds::ALL,
            Grounds::as_str,
            Grounds::label,
            form.value("decision"),
        ),
        ictg_roles: choices(
            IctgRole::ALL,
            IctgRole::as_str,
            IctgRole::label,
            form.value("ictg_role"),
        ),
        recon_outcomes: choices(
            if kind == FormKind::Outcome {
                &ReconsiderationOutcome::ALL[1..]
            } else {
                ReconsiderationOutcome::ALL
            },
            ReconsiderationOutcome::as_str,
            ReconsiderationOutcome::label,
            form.value("outcome"),
        ),
        final_outcomes: choices(
            FinalOutcome::ALL,
            FinalOutcome::as_str,
            FinalOutcome::label,
            form.value("outcome"),
        ),
        referral_text,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    Ok(page.render()?)
}

fn with_today(mut form: FormState, state: &AppState, prefix: &str) -> FormState {
    let today = format::uk(state.ctx.clock.now()).date();
    form.values
        .insert(format!("{prefix}-day"), today.day().to_string());
    form.values.insert(
        format!("{prefix}-month"),
        u8::from(today.month()).to_string(),
    );
    form.values
        .insert(format!("{prefix}-year"), today.year().to_string());
    form
}

/// The child a referral is about, for routing (404 when there is no such referral).
async fn child_of(state: &AppState, auth: &Auth, rid: Uuid) -> Result<Uuid, WebError> {
    as_user(state, auth, false, move |tx, _ctx, _key, _actor| {
        Box::pin(async move { nrm::referral_child(tx, rid).await })
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn show_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    kind: FormKind,
    form: FormState,
    rid: Option<Uuid>,
    qid: Option<Uuid>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let got = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let c = nrm::child_referrals(&ctx, tx, &key, &actor, id).await?;
            let responders = nrm::first_responder_orgs(tx).await?;
            Ok((c, responders))
        })
    })
    .await;
    let (c, responders) = match got {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    let open = rid.and_then(|r| c.referrals.iter().find(|v| v.referral.id == r));
    if kind != FormKind::Referral && !open.is_some_and(|v| v.referral.is_open()) {
        return Ok(Redirect::to(&format!("/children/{id}/nrm")).into_response());
    }
    let html = render_form(&state, ctx, &auth, &c, &responders, kind, form, rid, qid)?;
    Ok(page_reply(status, html))
}

/// After a service call: on success go back to the child's referrals; on invalid input show
/// the form again with what was typed and the errors.
#[allow(clippy::too_many_arguments)]
async fn finish<T>(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Uuid,
    kind: FormKind,
    mut form: FormState,
    rid: Option<Uuid>,
    qid: Option<Uuid>,
    done: Result<T, WebError>,
) -> Result<Response, WebError> {
    let again = |form| {
        show_form(
            state.clone(),
            ctx.clone(),
            auth.clone(),
            id,
            kind,
            form,
            rid,
            qid,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    match done {
        Ok(_) if !form.has_errors() => {
            Ok(Redirect::to(&format!("/children/{id}/nrm?done={}", kind.done())).into_response())
        }
        Ok(_) => again(form).await,
        Err(WebError::Domain(Error::Validation(errs))) => {
            field_errors(&mut form, errs, |f| kind.field(f));
            again(form).await
        }
        Err(WebError::Domain(Error::Conflict(why))) => {
            form.errors.push(FieldError::new(
                match kind {
                    FormKind::Decision | FormKind::Reconsideration => "stage",
                    FormKind::Outcome | FormKind::Close => "outcome",
                    _ => "first_responder_org_id",
                },
                capitalised(&why),
            ));
            again(form).await
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

pub(crate) async fn referral_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let mut form = with_today(FormState::default(), &state, "submitted");
    // The first responder organisation defaults to the user's own, when it may refer.
    form.values.insert(
        "first_responder_org_id".into(),
        auth.user.org_id.to_string(),
    );
    form.values.insert(
        "first_responder_name".into(),
        auth.user.display_name.clone(),
    );
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Referral,
        form,
        None,
        None,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn referral_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let input = ReferralInput {
        first_responder_org_id: Uuid::parse_str(value(&f, "first_responder_org_id").trim()).ok(),
        first_responder_name: value(&f, "first_responder_name").into(),
        exploitation: Exploitation::ALL
            .iter()
            .copied()
            .filter(|e| value(&f, &format!("exp_{}", e.as_str())) == "yes")
            .collect(),
        county_lines: value(&f, "county_lines") == "yes",
        location: WhereExploited::parse(value(&f, "location")),
        decision_maker: DecisionMaker::parse(value(&f, "decision_maker")),
        submitted_on: date_of(&mut form, &f, "submitted", "The date submitted"),
        home_office_ref: value(&f, "home_office_ref").into(),
        narrative: value(&f, "narrative").into(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                nrm::create_referral(&ctx, tx, &key, &actor, id, &input)
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
        FormKind::Referral,
        form,
        None,
        None,
        done,
    )
    .await
}

macro_rules! referral_form_handler {
    ($name:ident, $kind:expr, $date:expr) => {
        pub(crate) async fn $name(
            State(state): State<AppState>,
            ctx: PageContext,
            SignedIn(auth): SignedIn,
            Path(rid): Path<Uuid>,
        ) -> Result<Response, WebError> {
            let id = child_of(&state, &auth, rid).await?;
            let form = match $date {
                Some(prefix) => with_today(FormState::default(), &state, prefix),
                None => FormState::default(),
            };
            show_form(
                state,
                ctx,
                auth,
                id,
                $kind,
                form,
                Some(rid),
                None,
                StatusCode::OK,
            )
            .await
        }
    };
}

referral_form_handler!(decision_form, FormKind::Decision, None::<&str>);
referral_form_handler!(ictg_form, FormKind::Ictg, Some("ictg"));
referral_form_handler!(
    reconsideration_form,
    FormKind::Reconsideration,
    Some("requested")
);
referral_form_handler!(close_form, FormKind::Close, Some("closed"));

pub(crate) async fn decision_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(rid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let mut form = kept(&f);
    let input = DecisionInput {
        stage: Stage::parse(value(&f, "stage")),
        decision: Grounds::parse(value(&f, "decision")),
        decided_on: date_of(&mut form, &f, "decided", "The date of the decision"),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                nrm::record_decision(&ctx, tx, &key, &actor, rid, &input)
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
        FormKind::Decision,
        form,
        Some(rid),
        None,
        done,
    )
    .await
}

pub(crate) async fn ictg_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(rid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let mut form = kept(&f);
    let input = IctgInput {
        referred_on: date_of(&mut form, &f, "ictg", "The date of the referral"),
        role: IctgRole::parse(value(&f, "ictg_role")),
        name: value(&f, "ictg_name").into(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                nrm::record_ictg(&ctx, tx, &key, &actor, rid, &input)
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
        FormKind::Ictg,
        form,
        Some(rid),
        None,
        done,
    )
    .await
}

pub(crate) async fn reconsideration_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(rid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let mut form = kept(&f);
    let input = ReconsiderationInput {
        stage: Stage::parse(value(&f, "stage")),
        requested_on: date_of(&mut form, &f, "requested", "The date requested"),
        requested_by: value(&f, "requested_by").into(),
        outcome: ReconsiderationOutcome::parse(value(&f, "outcome")),
        outcome_on: date_of(&mut form, &f, "outcome", "The date of the outcome"),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                nrm::add_reconsideration(&ctx, tx, &key, &actor, rid, &input)
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
        FormKind::Reconsideration,
        form,
        Some(rid),
        None,
        done,
    )
    .await
}

pub(crate) async fn outcome_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((rid, qid)): Path<(Uuid, Uuid)>,
) -> Result<Response, WebError> {
    let id = child_of(&state, &auth, rid).await?;
    let form = with_today(FormState::default(), &state, "outcome");
    show_form(
        state,
        ctx,
        auth,
        id,
        FormKind::Outcome,
        form,
        Some(rid),
        Some(qid),
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn outcome_add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((rid, qid)): Path<(Uuid, Uuid)>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let mut form = kept(&f);
    let outcome = ReconsiderationOutcome::parse(value(&f, "outcome"));
    let on = date_of(&mut form, &f, "outcome", "The date of the outcome");
    let done = if form.has_errors() {
        invalid()
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            Box::pin(async move {
                nrm::reconsideration_outcome(&ctx, tx, &key, &actor, rid, qid, outcome, on)
                    .await
                    .map(|_| ())
            })
        })
        .await
    };
    finish(
        state,
        ctx,
        auth,
        id,
        FormKind::Outcome,
        form,
        Some(rid),
        Some(qid),
        done,
    )
    .await
}

pub(crate) async fn close(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(rid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let mut form = kept(&f);
    let input = CloseInput {
        closed_on: date_of(&mut form, &f, "closed", "The date the referral ended"),
        outcome: FinalOutcome::parse(value(&f, "outcome")),
        note: value(&f, "close_note").into(),
    };
    let done = change_unless_invalid(
        &state,
        &auth,
        &form,
        input,
        move |tx, ctx, key, actor, input| {
            Box::pin(async move {
                nrm::close_referral(&ctx, tx, &key, &actor, rid, &input)
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
        FormKind::Close,
        form,
        Some(rid),
        None,
        done,
    )
    .await
}

// --- gathering the content ------------------------------------------------------------------------

pub struct ConcernBlock {
    pub raised: String,
    pub org: String,
    pub types: String,
    pub indicators: Vec<&'static str>,
    pub location: String,
    pub narrative: String,
    pub child_words: String,
}

#[derive(Template)]
#[template(path = "nrm/content.html")]
pub struct ContentPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub other_names: String,
    pub dob: String,
    pub age: String,
    pub gender: &'static str,
    pub address: String,
    pub school: String,
    pub references: Vec<(&'static str, String)>,
    pub concerns: Vec<ConcernBlock>,
    pub assessment_indicators: Vec<String>,
    pub risk: String,
    pub form: FormState,
    pub csrf: String,
    /// The referral the narrative may be saved into.
    pub referral: Option<Uuid>,
    pub save_hint: String,
    pub may_save: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct ContentQuery {
    pub referral: Option<Uuid>,
}

fn content_page_of(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    c: &ReferralContent,
    form: Option<FormState>,
) -> Result<String, WebError> {
    use mace_domain::identifiers::IdentifierKind;
    let child = &c.child;
    let names: Vec<String> = c
        .identifiers
        .iter()
        .filter(|i| matches!(i.kind, IdentifierKind::Alias | IdentifierKind::StreetName))
        .map(|i| i.value.clone())
        .collect();
    let references = c
        .identifiers
        .iter()
        .filter(|i| !matches!(i.kind, IdentifierKind::Alias | IdentifierKind::StreetName))
        .map(|i| (i.kind.label(), i.value.clone()))
        .collect();
    let form = form.unwrap_or_else(|| {
        let text = match &c.referral {
            Some(r) if !r.narrative.is_empty() => r.narrative.clone(),
            _ => c.narrative_draft.clone(),
        };
        FormState::kept(&[("narrative", &text)])
    });
    let page = ContentPage {
        layout: Layout::from_ctx(
            state,
            ctx,
            &title_for(&form, "Gather the NRM referral's content"),
        ),
        id: child.id,
        name: name(child),
        other_names: if names.is_empty() {
            "None recorded".into()
        } else {
            names.join(", ")
        },
        dob: dob(child),
        age: c
            .age
            .map(|a| a.to_string())
            .unwrap_or_else(|| "Not known".into()),
        gender: child.gender.label(),
        address: c.address.clone().unwrap_or_else(|| "Not recorded".into()),
        school: c.school.clone().unwrap_or_else(|| "Not recorded".into()),
        references,
        concerns: c
            .concerns
            .iter()
            .map(|k| ConcernBlock {
                raised: format::date(k.raised_at),
                org: k.org_name.clone(),
                types: k
                    .types
                    .iter()
                    .map(|t| t.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                indicators: k.indicators.iter().map(|i| i.label()).collect(),
                location: k.location.clone(),
                narrative: k.narrative.clone(),
                child_words: k.child_words.clone(),
            })
            .collect(),
        assessment_indicators: c.assessment_indicators.clone(),
        risk: c
            .risk
            .as_ref()
            .map(|r| format!("{} ({})", r.level, r.source))
            .unwrap_or_else(|| "No risk level recorded".into()),
        csrf: auth.session.csrf_secret.clone(),
        referral: c.referral.as_ref().map(|r| r.id),
        save_hint: c
            .referral
            .as_ref()
            .map(|r| {
                format!(
                    "Drafted from the chronology. Edit it, then save it to the referral submitted on {} (Home Office reference {})",
                    format::day(r.submitted_on),
                    r.home_office_ref
                )
            })
            .unwrap_or_default(),
        may_save: c.may_edit && c.referral.as_ref().is_some_and(NrmReferral::is_open),
        form,
    };
    Ok(page.render()?)
}

async fn load_content(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
    rid: Option<Uuid>,
) -> Result<ReferralContent, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { nrm::referral_content(&ctx, tx, &key, &actor, id, rid).await })
    })
    .await
}

pub(crate) async fn content_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<ContentQuery>,
) -> Result<Response, WebError> {
    let c = match load_content(&state, &auth, id, q.referral).await {
        Err(WebError::Domain(Error::Forbidden { .. })) => return refused(&state, ctx),
        other => other?,
    };
    Ok(Html(content_page_of(&state, ctx, &auth, &c, None)?).into_response())
}

pub(crate) async fn narrative_save(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(rid): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let id = child_of(&state, &auth, rid).await?;
    let narrative = value(&f, "narrative").to_string();
    let typed = narrative.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let narrative = narrative.clone();
        Box::pin(async move {
            nrm::save_narrative(&ctx, tx, &key, &actor, rid, &narrative)
                .await
                .map(|_| ())
        })
    })
    .await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/children/{id}/nrm?done=narrative")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            let c = load_content(&state, &auth, id, Some(rid)).await?;
            let mut form = FormState::kept(&[("narrative", &typed)]);
            form.errors = errs;
            let html = content_page_of(&state, ctx, &auth, &c, Some(form))?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(WebError::Domain(Error::Forbidden { .. })) => refused(&state, ctx),
        Err(e) => Err(e),
    }
}

// --- the open list --------------------------------------------------------------------------------

pub struct OpenRow {
    pub child_id: Uuid,
    pub child: String,
    pub submitted: String,
    pub first_responder: String,
    pub decision_maker: &'static str,
    pub due: String,
    pub due_class: &'static str,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "nrm/open.html")]
pub struct OpenPage {
    pub layout: Layout,
    pub rows: Vec<OpenRow>,
    pub overdue: usize,
    pub reads_case_data: bool,
}

type OpenLines = (Vec<nrm::OpenLine>, Vec<Organisation>);

async fn open_lines(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa_at: Option<time::OffsetDateTime>,
) -> Result<(OpenLines, bool), WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let lines = nrm::open_referrals(&ctx, tx, &key, &actor).await?;
            Ok(((lines, tx.list_orgs().await?), actor.reads_case_data()))
        })
    })
    .await
}

pub(crate) async fn open_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let ((lines, orgs), reads) = open_lines(&state, &auth.user, auth.session.mfa_at).await?;
    let rows: Vec<OpenRow> = lines
        .iter()
        .map(|l| {
            let (due, due_class) = due_words(l.due);
            OpenRow {
                child_id: l.child.id,
                child: name(&l.child),
                submitted: format::day(l.referral.submitted_on),
                first_responder: org_name(&orgs, l.referral.first_responder_org_id),
                decision_maker: l.referral.decision_maker.label(),
                due,
                due_class,
                overdue: l.due.is_overdue(),
            }
        })
        .collect();
    let page = OpenPage {
        layout: Layout::from_ctx(&state, ctx, "Open NRM referrals"),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        rows,
        reads_case_data: reads,
    };
    Ok(Html(page.render()?).into_response())
}

// --- statistics -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "nrm/statistics.html")]
pub struct StatisticsPage {
    pub layout: Layout,
    pub year: String,
    pub years: Vec<Choice>,
    pub counts: Vec<(&'static str, String)>,
    pub by_exploitation: Vec<(&'static str, String)>,
    pub intervals: Vec<(&'static str, String, String, String)>,
    pub threshold: i64,
}

#[derive(Debug, Deserialize, Default)]
pub struct YearQuery {
    pub year: Option<String>,
}

fn year_of(q: &YearQuery) -> Result<Option<i32>, WebError> {
    match q.year.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| (2009..=2200).contains(y))
            .map(Some)
            .ok_or_else(|| Error::validation("year", "Choose a year from the list").into()),
    }
}

fn figure(f: Figure) -> String {
    match f.0 {
        Some(n) => n.to_string(),
        None => "Fewer than 5".into(),
    }
}

fn days_figure(v: Option<f64>) -> String {
    match v {
        Some(d) => format!("{d:.1} days"),
        None => "Not shown".into(),
    }
}

async fn load_statistics(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa_at: Option<time::OffsetDateTime>,
    year: Option<i32>,
) -> Result<Statistics, WebError> {
    with_actor(state, user, mfa_at, true, move |tx, ctx, key, actor| {
        Box::pin(async move { nrm::statistics(&ctx, tx, &key, &actor, year).await })
    })
    .await
}

pub(crate) async fn statistics_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<YearQuery>,
) -> Result<Response, WebError> {
    let year = year_of(&q)?;
    let s = load_statistics(&state, &auth.user, auth.session.mfa_at, year).await?;
    let interval = |label, i: &Interval| {
        (
            label,
            figure(i.count),
            days_figure(i.median),
            days_figure(i.mean),
        )
    };
    let page = StatisticsPage {
        layout: Layout::from_ctx(&state, ctx, "NRM statistics"),
        year: s.year.map(|y| y.to_string()).unwrap_or_default(),
        years: s
            .years
            .iter()
            .map(|y| (y.to_string(), y.to_string(), s.year == Some(*y)))
            .collect(),
        counts: vec![
            ("Referrals", figure(s.referrals)),
            ("Still open", figure(s.open)),
            (
                "Positive reasonable grounds decisions",
                figure(s.rg_positive),
            ),
            (
                "Negative reasonable grounds decisions",
                figure(s.rg_negative),
            ),
            (
                "Positive conclusive grounds decisions",
                figure(s.cg_positive),
            ),
            (
                "Negative conclusive grounds decisions",
                figure(s.cg_negative),
            ),
            (
                "Reasonable grounds decisions overdue today",
                figure(s.rg_overdue),
            ),
            ("Referrals flagged county lines", figure(s.county_lines)),
        ],
        by_exploitation: s
            .by_exploitation
            .iter()
            .map(|(e, f)| (e.label(), figure(*f)))
            .collect(),
        intervals: vec![
            interval(
                "From submission to the reasonable grounds decision",
                &s.submission_to_rg,
            ),
            interval(
                "From the reasonable grounds to the conclusive grounds decision",
                &s.rg_to_cg,
            ),
        ],
        threshold: nrm::SUPPRESS_BELOW,
    };
    Ok(Html(page.render()?).into_response())
}

// --- API ------------------------------------------------------------------------------------------

/// What is due on a referral.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NrmDueDto {
    /// `rg_due`, `rg_overdue`, `recovery_period`, `cg_awaited`, `negative`,
    /// `reconsideration_pending`, `concluded` or `closed`.
    pub state: String,
    /// The date it concerns (`YYYY-MM-DD`): the RG due date, the recovery period's end, or the
    /// day the CG decision became possible.
    pub date: Option<String>,
    /// Working days left before the RG decision is due, or late (when overdue).
    pub working_days: Option<i64>,
    /// In words, as the pages show it.
    pub text: String,
}

fn due_dto(d: Due) -> NrmDueDto {
    let (date, working_days) = match d {
        Due::RgDue {
            on,
            working_days_left,
        } => (Some(on), Some(working_days_left)),
        Due::RgOverdue {
            on,
            working_days_late,
        } => (Some(on), Some(working_days_late)),
        Due::RecoveryPeriod { ends } => (Some(ends), None),
        Due::CgAwaited { since } => (Some(since), None),
        _ => (None, None),
    };
    NrmDueDto {
        state: due_code(d).into(),
        date: date.map(format::iso),
        working_days,
        text: due_words(d).0,
    }
}

/// A request to reconsider a negative decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconsiderationDto {
    pub id: Uuid,
    /// `rg` or `cg`.
    pub stage: String,
    pub requested_on: String,
    pub requested_by: String,
    /// `pending`, `upheld` or `overturned`.
    pub outcome: String,
    pub outcome_on: Option<String>,
}

/// An NRM referral with its decisions, guardian, reconsiderations and what is due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NrmReferralDto {
    pub id: Uuid,
    pub child_id: Uuid,
    /// `open` or `closed`.
    pub status: String,
    pub first_responder_organisation_id: Uuid,
    pub first_responder_organisation_name: String,
    pub first_responder_name: String,
    /// `sexual`, `labour`, `criminal`, `domestic_servitude`, `organ_harvesting`, `other`.
    pub exploitation: Vec<String>,
    pub county_lines: bool,
    /// `uk`, `overseas` or `both`.
    pub location: String,
    /// `sca`, `ieca` or `devolved_panel`.
    pub decision_maker: String,
    pub submitted_on: String,
    pub home_office_ref: String,
    pub narrative: String,
    /// 5 working days after submission (England and Wales bank holidays skipped).
    pub rg_due_on: String,
    /// `positive` or `negative`.
    pub rg_decision: Option<String>,
    pub rg_decided_on: Option<String>,
    /// 30 calendar days after a positive RG decision: no CG decision before.
    pub recovery_period_ends_on: Option<String>,
    pub cg_decision: Option<String>,
    pub cg_decided_on: Option<String>,
    pub ictg_referred_on: Option<String>,
    /// `direct_worker`, `regional_practice_coordinator`, `regional_practitioner`, `post_18_worker`.
    pub ictg_role: Option<String>,
    pub ictg_name: String,
    pub closed_on: Option<String>,
    /// `conclusive_grounds`, `negative_reasonable_grounds`, `withdrawn` or `other`.
    pub final_outcome: Option<String>,
    pub close_note: String,
    pub due: NrmDueDto,
    pub reconsiderations: Vec<ReconsiderationDto>,
}

fn referral_dto(v: &ReferralView, orgs: &[Organisation]) -> NrmReferralDto {
    let r = &v.referral;
    NrmReferralDto {
        id: r.id,
        child_id: r.person_id,
        status: if r.is_open() { "open" } else { "closed" }.into(),
        first_responder_organisation_id: r.first_responder_org_id,
        first_responder_organisation_name: org_name(orgs, r.first_responder_org_id),
        first_responder_name: r.first_responder_name.clone(),
        exploitation: r.exploitation.iter().map(|e| e.as_str().into()).collect(),
        county_lines: r.county_lines,
        location: r.location.as_str().into(),
        decision_maker: r.decision_maker.as_str().into(),
        submitted_on: format::iso(r.submitted_on),
        home_office_ref: r.home_office_ref.clone(),
        narrative: r.narrative.clone(),
        rg_due_on: format::iso(r.rg_due_on()),
        rg_decision: r.rg_decision.map(|g| g.as_str().into()),
        rg_decided_on: r.rg_decided_on.map(format::iso),
        recovery_period_ends_on: r.recovery_ends().map(format::iso),
        cg_decision: r.cg_decision.map(|g| g.as_str().into()),
        cg_decided_on: r.cg_decided_on.map(format::iso),
        ictg_referred_on: r.ictg_referred_on.map(format::iso),
        ictg_role: r.ictg_role.map(|x| x.as_str().into()),
        ictg_name: r.ictg_name.clone(),
        closed_on: r.closed_on.map(format::iso),
        final_outcome: r.final_outcome.map(|o| o.as_str().into()),
        close_note: r.close_note.clone(),
        due: due_dto(v.due),
        reconsiderations: v
            .reconsiderations
            .iter()
            .map(|q| ReconsiderationDto {
                id: q.id,
                stage: q.stage.as_str().into(),
                requested_on: format::iso(q.requested_on),
                requested_by: q.requested_by.clone(),
                outcome: q.outcome.as_str().into(),
                outcome_on: q.outcome_on.map(format::iso),
            })
            .collect(),
    }
}

/// A child's NRM referrals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildNrmDto {
    pub child_id: Uuid,
    /// Newest submission first.
    pub referrals: Vec<NrmReferralDto>,
}

async fn api_child(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    id: Uuid,
) -> Result<ChildNrmDto, WebError> {
    let c = with_actor(state, user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { nrm::child_referrals(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(ChildNrmDto {
        child_id: id,
        referrals: c
            .referrals
            .iter()
            .map(|v| referral_dto(v, &c.orgs))
            .collect(),
    })
}

/// One referral, as the caller may see it (audited).
async fn api_one(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    rid: Uuid,
) -> Result<NrmReferralDto, WebError> {
    let (v, orgs) = with_actor(state, user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let v = nrm::get_referral(&ctx, tx, &key, &actor, rid).await?;
            Ok((v, tx.list_orgs().await?))
        })
    })
    .await?;
    Ok(referral_dto(&v, &orgs))
}

/// A child's NRM referrals (needs the right to open the record). Audited.
#[utoipa::path(get, path = "/api/v1/children/{id}/nrm", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "The child's referrals", body = ChildNrmDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_list(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_child(&state, &c.user, id).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// An NRM referral as recorded after it was submitted online.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNrmReferralDto {
    /// A first responder organisation (police, local authority or children's social care, or a
    /// named charity); the caller's own organisation when left out.
    #[serde(default)]
    pub first_responder_organisation_id: Option<Uuid>,
    /// The first responder's name and role.
    pub first_responder_name: String,
    /// At least one of `sexual`, `labour`, `criminal`, `domestic_servitude`, `organ_harvesting`,
    /// `other`.
    pub exploitation: Vec<String>,
    #[serde(default)]
    pub county_lines: bool,
    /// `uk`, `overseas` or `both`.
    pub location: String,
    /// `sca`, `ieca` or `devolved_panel`.
    pub decision_maker: String,
    /// `YYYY-MM-DD`, today or earlier.
    pub submitted_on: String,
    pub home_office_ref: String,
    #[serde(default)]
    pub narrative: String,
}

fn parse_code<T>(field: &str, s: &str, f: fn(&str) -> Option<T>) -> Result<T, WebError> {
    f(s.trim()).ok_or_else(|| Error::validation(field, "Not a value mace knows").into())
}

/// Record an NRM referral for a child (needs the right to change the record; only first
/// responder organisations may refer). No consent is needed for a child.
#[utoipa::path(post, path = "/api/v1/children/{id}/nrm", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewNrmReferralDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid, or not a first responder organisation", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewNrmReferralDto>,
) -> Result<Response, WebError> {
    let input = ReferralInput {
        first_responder_org_id: Some(
            body.first_responder_organisation_id
                .unwrap_or(c.user.org_id),
        ),
        first_responder_name: body.first_responder_name,
        exploitation: body
            .exploitation
            .iter()
            .map(|e| parse_code("exploitation", e, Exploitation::parse))
            .collect::<Result<_, _>>()?,
        county_lines: body.county_lines,
        location: Some(parse_code(
            "location",
            &body.location,
            WhereExploited::parse,
        )?),
        decision_maker: Some(parse_code(
            "decision_maker",
            &body.decision_maker,
            DecisionMaker::parse,
        )?),
        submitted_on: format::parse_iso("submitted_on", Some(&body.submitted_on))?,
        home_office_ref: body.home_office_ref,
        narrative: body.narrative,
    };
    let r = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { nrm::create_referral(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, r.id).await?;
    Ok(json_response(StatusCode::CREATED, &dto))
}

/// One NRM referral (needs the right to open the child's record). Audited.
#[utoipa::path(get, path = "/api/v1/nrm-referrals/{id}", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "The referral", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_get(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
) -> Result<Response, WebError> {
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// A reasonable or conclusive grounds decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NrmDecisionDto {
    /// `rg` or `cg`.
    pub stage: String,
    /// `positive` or `negative`.
    pub decision: String,
    /// `YYYY-MM-DD`: on or after the submission (RG), or on or after the recovery period's end
    /// (CG); today or earlier.
    pub decided_on: String,
}

/// Record the RG or CG decision (a CG decision needs a positive RG and cannot be dated before
/// the recovery period ends).
#[utoipa::path(post, path = "/api/v1/nrm-referrals/{id}/decisions", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = NrmDecisionDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already recorded, or the referral is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid (a CG decision before the recovery period ends)", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_decision(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
    Json(body): Json<NrmDecisionDto>,
) -> Result<Response, WebError> {
    let input = DecisionInput {
        stage: Some(parse_code("stage", &body.stage, Stage::parse)?),
        decision: Some(parse_code("decision", &body.decision, Grounds::parse)?),
        decided_on: format::parse_iso("decided_on", Some(&body.decided_on))?,
    };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { nrm::record_decision(&ctx, tx, &key, &actor, rid, &input).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// The referral to the independent child trafficking guardian service.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NrmIctgDto {
    /// `YYYY-MM-DD`, today or earlier.
    pub referred_on: String,
    /// Once appointed: `direct_worker`, `regional_practice_coordinator`,
    /// `regional_practitioner` or `post_18_worker`.
    #[serde(default)]
    pub role: Option<String>,
    /// Once appointed.
    #[serde(default)]
    pub name: String,
}

/// Record or update the ICTG referral and, where appointed, the guardian's role and name.
#[utoipa::path(post, path = "/api/v1/nrm-referrals/{id}/ictg", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = NrmIctgDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The referral is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_ictg(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
    Json(body): Json<NrmIctgDto>,
) -> Result<Response, WebError> {
    let input = IctgInput {
        referred_on: format::parse_iso("referred_on", Some(&body.referred_on))?,
        role: match body
            .role
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(r) => Some(parse_code("role", r, IctgRole::parse)?),
        },
        name: body.name,
    };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { nrm::record_ictg(&ctx, tx, &key, &actor, rid, &input).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// A request to reconsider a negative decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReconsiderationDto {
    /// `rg` or `cg`: the negative decision to reconsider.
    pub stage: String,
    /// `YYYY-MM-DD`.
    pub requested_on: String,
    /// The first responder or support provider who asked.
    pub requested_by: String,
    /// `pending` (when left out), `upheld` or `overturned`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// `YYYY-MM-DD`; required with an outcome.
    #[serde(default)]
    pub outcome_on: Option<String>,
}

/// Record a reconsideration request (an overturned decision becomes positive from the outcome's
/// date).
#[utoipa::path(post, path = "/api/v1/nrm-referrals/{id}/reconsiderations", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = NewReconsiderationDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "One is already awaited, or the referral is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid (no negative decision to reconsider)", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_reconsideration(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
    Json(body): Json<NewReconsiderationDto>,
) -> Result<Response, WebError> {
    let input = ReconsiderationInput {
        stage: Some(parse_code("stage", &body.stage, Stage::parse)?),
        requested_on: format::parse_iso("requested_on", Some(&body.requested_on))?,
        requested_by: body.requested_by,
        outcome: match body.outcome.as_deref() {
            None => None,
            Some(o) => Some(parse_code("outcome", o, ReconsiderationOutcome::parse)?),
        },
        outcome_on: format::parse_iso("outcome_on", body.outcome_on.as_deref())?,
    };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { nrm::add_reconsideration(&ctx, tx, &key, &actor, rid, &input).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::CREATED, &dto))
}

/// The outcome of an awaited reconsideration.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconsiderationOutcomeDto {
    /// `upheld` or `overturned`.
    pub outcome: String,
    /// `YYYY-MM-DD`.
    pub outcome_on: String,
}

/// Record the outcome of an awaited reconsideration.
#[utoipa::path(post, path = "/api/v1/nrm-referrals/{id}/reconsiderations/{reconsideration_id}/outcome", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id"),
           ("reconsideration_id" = Uuid, Path, description = "The reconsideration's id")),
    request_body(content = ReconsiderationOutcomeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral or reconsideration", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already decided, or the referral is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_reconsideration_outcome(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path((rid, qid)): Path<(Uuid, Uuid)>,
    Json(body): Json<ReconsiderationOutcomeDto>,
) -> Result<Response, WebError> {
    let outcome = Some(parse_code(
        "outcome",
        &body.outcome,
        ReconsiderationOutcome::parse,
    )?);
    let on = format::parse_iso("outcome_on", Some(&body.outcome_on))?;
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            nrm::reconsideration_outcome(&ctx, tx, &key, &actor, rid, qid, outcome, on).await
        })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// The referral's narrative.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NrmNarrativeDto {
    pub narrative: String,
}

/// Replace the referral's stored narrative.
#[utoipa::path(put, path = "/api/v1/nrm-referrals/{id}/narrative", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = NrmNarrativeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Saved", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The referral is closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Empty or too long", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_narrative(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
    Json(body): Json<NrmNarrativeDto>,
) -> Result<Response, WebError> {
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let narrative = body.narrative.clone();
        Box::pin(async move { nrm::save_narrative(&ctx, tx, &key, &actor, rid, &narrative).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// How the referral ended.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseNrmDto {
    /// `YYYY-MM-DD`.
    pub closed_on: String,
    /// `conclusive_grounds`, `negative_reasonable_grounds`, `withdrawn` or `other`.
    pub outcome: String,
    /// Required for `other`.
    #[serde(default)]
    pub note: String,
}

/// Close the referral with its final outcome. It stays on the record.
#[utoipa::path(post, path = "/api/v1/nrm-referrals/{id}/close", tag = "nrm",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral's id")),
    request_body(content = CloseNrmDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Closed", body = NrmReferralDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such referral", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already closed", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_close(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(rid): Path<Uuid>,
    Json(body): Json<CloseNrmDto>,
) -> Result<Response, WebError> {
    let input = CloseInput {
        closed_on: format::parse_iso("closed_on", Some(&body.closed_on))?,
        outcome: Some(parse_code("outcome", &body.outcome, FinalOutcome::parse)?),
        note: body.note,
    };
    with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { nrm::close_referral(&ctx, tx, &key, &actor, rid, &input).await })
    })
    .await?;
    let dto = api_one(&state, &c.user, rid).await?;
    Ok(json_response(StatusCode::OK, &dto))
}

/// An open referral in the caller's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NrmOpenDto {
    pub referral_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub submitted_on: String,
    pub first_responder_organisation_name: String,
    pub decision_maker: String,
    pub rg_due_on: String,
    pub due: NrmDueDto,
}

/// Open NRM referrals of children the caller may open.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NrmOpenListDto {
    /// Overdue RG decisions first, then by RG due date.
    pub referrals: Vec<NrmOpenDto>,
}

/// Open NRM referrals of children the caller may open (filtered in the query), with what is due
/// and overdue. Audited.
#[utoipa::path(get, path = "/api/v1/nrm", tag = "nrm",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open referrals", body = NrmOpenListDto, content_type = "application/json"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_open(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let ((lines, orgs), _) = open_lines(&state, &c.user, None).await?;
    let dto = NrmOpenListDto {
        referrals: lines
            .iter()
            .map(|l| NrmOpenDto {
                referral_id: l.referral.id,
                child_id: l.child.id,
                child_name: name(&l.child),
                submitted_on: format::iso(l.referral.submitted_on),
                first_responder_organisation_name: org_name(
                    &orgs,
                    l.referral.first_responder_org_id,
                ),
                decision_maker: l.referral.decision_maker.as_str().into(),
                rg_due_on: format::iso(l.referral.rg_due_on()),
                due: due_dto(l.due),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}

/// Referrals with one exploitation type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExploitationCountDto {
    pub exploitation: String,
    /// `null` when from 1 to 4 (suppressed).
    pub referrals: Option<i64>,
}

/// Days between two events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntervalDto {
    /// Referrals with both events; `null` when from 1 to 4.
    pub count: Option<i64>,
    /// `null` when fewer than 5 referrals have both events.
    pub median_days: Option<f64>,
    pub mean_days: Option<f64>,
}

/// The partnership's NRM figures: aggregates only. Counts from 1 to 4 are `null` (suppressed),
/// and averages over fewer than 5 referrals are left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NrmStatisticsDto {
    /// The year of submission, or `null` for all years.
    pub year: Option<i32>,
    pub years: Vec<i32>,
    /// Counts below this are suppressed (zero is shown).
    pub suppression_threshold: i64,
    pub referrals: Option<i64>,
    pub open: Option<i64>,
    pub rg_positive: Option<i64>,
    pub rg_negative: Option<i64>,
    pub cg_positive: Option<i64>,
    pub cg_negative: Option<i64>,
    pub rg_overdue: Option<i64>,
    pub county_lines: Option<i64>,
    pub by_exploitation: Vec<ExploitationCountDto>,
    pub submission_to_rg: IntervalDto,
    pub rg_to_cg: IntervalDto,
}

fn interval_dto(i: &Interval) -> IntervalDto {
    IntervalDto {
        count: i.count.0,
        median_days: i.median,
        mean_days: i.mean,
    }
}

/// The partnership's NRM statistics (partnership managers and analysts; others are refused and
/// the refusal recorded). Audited.
#[utoipa::path(get, path = "/api/v1/nrm/statistics", tag = "nrm",
    security(("bearer" = [])),
    params(("year" = Option<i32>, Query, description = "Only referrals submitted in this year")),
    responses(
        (status = 200, description = "The figures", body = NrmStatisticsDto, content_type = "application/json"),
        (status = 403, description = "Not a partnership manager or analyst", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not a year", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_statistics(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Query(q): Query<YearQuery>,
) -> Result<Response, WebError> {
    let year = year_of(&q)?;
    let s = load_statistics(&state, &c.user, None, year).await?;
    let dto = NrmStatisticsDto {
        year: s.year,
        years: s.years.clone(),
        suppression_threshold: nrm::SUPPRESS_BELOW,
        referrals: s.referrals.0,
        open: s.open.0,
        rg_positive: s.rg_positive.0,
        rg_negative: s.rg_negative.0,
        cg_positive: s.cg_positive.0,
        cg_negative: s.cg_negative.0,
        rg_overdue: s.rg_overdue.0,
        county_lines: s.county_lines.0,
        by_exploitation: s
            .by_exploitation
            .iter()
            .map(|(e, f)| ExploitationCountDto {
                exploitation: e.as_str().into(),
                referrals: f.0,
            })
            .collect(),
        submission_to_rg: interval_dto(&s.submission_to_rg),
        rg_to_cg: interval_dto(&s.rg_to_cg),
    };
    Ok(json_response(StatusCode::OK, &dto))
}
