//! Children's records and concerns in the browser (issues 3 and 4): the children a user may
//! see, a child's record and chronology, the refusal and break-glass route, "who has seen this
//! record", the privacy officer's queue, search before create, raising a concern and triage.
//!
//! Every handler builds the policy's actor inside the transaction it acts in and calls one
//! domain service, which decides and audits; the handler only shapes what is shown. Searches
//! that carry names or dates of birth are POSTed, never put in a URL (DATA-02).

use crate::AppState;
use crate::auth::{self, Auth, ClientAddr, FormState, SignedIn, form_reply, title_for};
use crate::error::WebError;
use crate::format;
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures::future::BoxFuture;
use mace_domain::audit::{ChainKey, Outcome};
use mace_domain::authz::{Actor, Marking, Reason};
use mace_domain::cases::{
    self, AccessLine, Concern, ConcernRow, ConcernStatus, Opened, TriageDecision,
};
use mace_domain::dedupe::PersonMerge;
use mace_domain::identity::model::{Organisation, User};
use mace_domain::identity::service;
use mace_domain::matching::{Candidate, Probe};
use mace_domain::person::{Gender, NewPerson, Person, PersonKind, PersonName};
use mace_domain::ports::{IdentityRepo, MergeRepo};
use mace_domain::postcode::Postcode;
use mace_domain::{Ctx, Error, FieldError};
use mace_store::Tx;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// Run `f` in a transaction (a write when `write`) as the policy's actor for `user`.
pub(crate) async fn with_actor<T, F>(
    state: &AppState,
    user: &User,
    mfa_at: Option<OffsetDateTime>,
    write: bool,
    f: F,
) -> Result<T, WebError>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut Tx, Ctx, ChainKey, Actor) -> BoxFuture<'c, mace_domain::Result<T>>
        + Send
        + Sync
        + 'static,
{
    let f = Arc::new(f);
    let (ctx, key, user) = (state.ctx.clone(), state.audit_key.clone(), user.clone());
    let body = higher_ranked(move |tx| {
        let (f, ctx, key, user) = (f.clone(), ctx.clone(), key.clone(), user.clone());
        Box::pin(async move {
            let actor = cases::load_actor(tx, &user, mfa_at, ctx.clock.now()).await?;
            f(tx, ctx, key, actor).await
        })
    });
    let out = if write {
        state.store.write(body).await
    } else {
        state.store.read(body).await
    };
    Ok(out?)
}

/// Pins a closure to the higher-ranked signature the store expects (closure signatures are
/// only inferred as higher-ranked where such a bound is in view).
fn higher_ranked<T, G>(g: G) -> G
where
    G: for<'c> Fn(&'c mut Tx) -> BoxFuture<'c, mace_domain::Result<T>>,
{
    g
}

/// [`with_actor`] for a signed-in browser user (their session's second-factor time counts for
/// step-up).
pub(crate) async fn as_user<T, F>(
    state: &AppState,
    auth: &Auth,
    write: bool,
    f: F,
) -> Result<T, WebError>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut Tx, Ctx, ChainKey, Actor) -> BoxFuture<'c, mace_domain::Result<T>>
        + Send
        + Sync
        + 'static,
{
    with_actor(state, &auth.user, auth.session.mfa_at, write, f).await
}

pub(crate) fn name(p: &Person) -> String {
    format!("{} {}", p.given_name, p.family_name)
}

pub(crate) fn dob(p: &Person) -> String {
    match p.date_of_birth {
        Some(d) if p.dob_approximate => format!("About {}", format::day(d)),
        Some(d) => format::day(d),
        None => "Not known".into(),
    }
}

fn age(state: &AppState, p: &Person) -> String {
    p.age_on(format::uk(state.ctx.clock.now()).date())
        .map(|a| a.to_string())
        .unwrap_or_else(|| "Not known".into())
}

/// A child in a list or a candidate: what identifies them, no more.
pub struct ChildRow {
    pub id: Uuid,
    pub name: String,
    pub dob: String,
    pub age: String,
    /// Only the postcode district (`SS1`): enough to tell two children apart.
    pub district: String,
}

impl ChildRow {
    pub(crate) fn of(state: &AppState, p: &Person) -> Self {
        Self {
            id: p.id,
            name: name(p),
            dob: dob(p),
            age: age(state, p),
            district: p
                .postcode
                .as_ref()
                .map(|c| c.outward().to_string())
                .unwrap_or_else(|| "Not known".into()),
        }
    }
}

// --- children ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children/list.html")]
pub struct ChildrenPage {
    pub layout: Layout,
    pub rows: Vec<ChildRow>,
    pub q: String,
    pub csrf: String,
    pub can_list: bool,
    /// The search box and any error in it.
    pub form: FormState,
}

#[derive(Debug, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub csrf_token: String,
}

async fn children_page(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    q: String,
) -> Result<Response, WebError> {
    let query = q.trim().to_string();
    let (query2, reads) = (
        query.clone(),
        auth.user.roles.iter().any(|r| r.reads_case_data()),
    );
    let found = as_user(state, auth, true, move |tx, ctx, key, actor| {
        let query = query2.clone();
        Box::pin(async move { cases::list_children(&ctx, tx, &key, &actor, &query, 100).await })
    })
    .await;
    let mut form = FormState::kept(&[("q", &query)]);
    let people = match found {
        Ok(people) => people,
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors = errs;
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let title = title_for(&form, "Children");
    let page = ChildrenPage {
        layout: Layout::from_ctx(state, ctx, &title),
        rows: people.iter().map(|p| ChildRow::of(state, p)).collect(),
        q: query,
        csrf: auth.session.csrf_secret.clone(),
        can_list: reads,
        form,
    };
    let html = page.render()?;
    Ok(if page.form.has_errors() {
        form_reply(StatusCode::UNPROCESSABLE_ENTITY, html)
    } else {
        Html(html).into_response()
    })
}

pub(crate) async fn children(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    children_page(&state, ctx, &auth, String::new()).await
}

pub(crate) async fn children_search(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<SearchForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    children_page(&state, ctx, &auth, f.q).await
}

/// The chronology's kinds of entry, as stored and as shown. Modules that write to the chronology
/// add their kinds here.
const KINDS: &[(&str, &str)] = &[
    ("concern", "Concern"),
    ("triage", "Triage decision"),
    ("merge", "Record merge"),
    ("addendum", "Correction"),
    ("address", "Address"),
    ("school", "School"),
    ("relationship", "Person in the child's life"),
    ("assessment", "Risk assessment"),
    ("plan", "Risk management plan"),
    ("plan_action", "Plan action"),
    ("plan_meeting", "Plan meeting"),
    ("plan_review", "Plan review"),
    ("referral", "Referral"),
    ("programme", "Group programme"),
    ("missing", "Missing episode"),
    ("return_interview", "Return home interview"),
    ("nrm", "National Referral Mechanism"),
    ("intelligence", "Intelligence"),
];

/// The stored kind as a static code (`other` for a kind this build does not know).
pub(crate) fn kind_code(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(code, _)| *code == kind)
        .map_or("other", |(code, _)| code)
}

pub(crate) fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(code, _)| *code == kind)
        .map_or("Other", |(_, label)| label)
}

#[derive(Template)]
#[template(path = "children/record.html")]
pub struct RecordPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub dob: String,
    pub age: String,
    pub gender: &'static str,
    pub postcode: String,
    pub why: &'static str,
    pub rows: Vec<crate::chronology::ChronologyRow>,
    pub total: usize,
    pub kinds: Vec<(&'static str, &'static str, bool)>,
    pub agencies: Vec<(Uuid, String, bool)>,
    /// Other names and identifiers.
    pub identifiers: Vec<crate::identifiers::IdentifierRow>,
    /// The date filter's boxes and any error in them.
    pub filter_form: FormState,
    /// Whether the viewer may add corrections.
    pub may_correct: bool,
    pub show_access_log: bool,
    pub print: bool,
    /// The record's sensitivity markings, as labels.
    pub markings: Vec<&'static str>,
    /// Markings this viewer may add: (code, label).
    pub can_mark: Vec<(&'static str, &'static str)>,
    pub csrf: String,
    pub notice: Option<&'static str>,
    /// Records merged into this one (not undone).
    pub merges: Vec<crate::duplicates::MergeLine>,
    /// Addresses, school and the people in the child's life.
    pub profile: crate::people::ProfileView,
    pub is_child: bool,
    /// Open prompts to review the child's risk raised by missing episodes.
    pub missing_prompts: Vec<crate::missing::PromptBanner>,
}

#[derive(Template)]
#[template(path = "children/refused.html")]
pub struct RefusedPage {
    pub layout: Layout,
    pub id: Uuid,
    pub message: &'static str,
    pub may_break_glass: bool,
}

fn refusal(reason: Reason) -> &'static str {
    match reason {
        Reason::RoleCannotReadCaseData => {
            "Your role does not give access to children's records. You can still raise a concern."
        }
        Reason::MarkedPoliceOnly => "This record is restricted to the police.",
        Reason::MarkedStaffInvolved => {
            "This record is restricted to named people because it involves a member of staff."
        }
        _ => "Your organisation is not involved with this child, so you cannot see their record.",
    }
}

fn why(reason: Reason) -> &'static str {
    match reason {
        Reason::AllowedByAllocation => "You are allocated to this child.",
        Reason::AllowedByBreakGlass => {
            "You opened this record with break-glass access. It is recorded and reviewed."
        }
        _ => "Your organisation is involved with this child.",
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct RecordQuery {
    /// Show only entries of this kind (`concern`, `triage`).
    pub kind: Option<String>,
    /// Show only entries by this agency.
    pub agency: Option<Uuid>,
    /// A page laid out for printing.
    pub print: Option<String>,
    /// Set after a marking was added.
    pub marked: Option<String>,
    /// Set after a merge into this record, or after undoing one.
    pub merged: Option<String>,
    pub unmerged: Option<String>,
    /// Set after a correction was added.
    pub corrected: Option<String>,
    /// Set after a name or identifier was added.
    pub identified: Option<String>,
    /// The date filter's boxes.
    #[serde(rename = "from-day", default)]
    pub from_day: String,
    #[serde(rename = "from-month", default)]
    pub from_month: String,
    #[serde(rename = "from-year", default)]
    pub from_year: String,
    #[serde(rename = "to-day", default)]
    pub to_day: String,
    #[serde(rename = "to-month", default)]
    pub to_month: String,
    #[serde(rename = "to-year", default)]
    pub to_year: String,
}

enum Record {
    Open(
        Box<Opened>,
        Vec<Organisation>,
        Actor,
        Vec<PersonMerge>,
        Box<mace_domain::profile::Profile>,
    ),
    Merged(Uuid),
    Denied(Reason, bool),
}

pub(crate) async fn record(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<RecordQuery>,
) -> Result<Response, WebError> {
    // Decide and audit in a short write; read on the reader pool, so page views do not queue
    // on the single writer while they read (the read decides again, and appends nothing).
    let verdict = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::authorize_view(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    let got = match verdict {
        cases::ViewVerdict::Denied {
            reason,
            may_break_glass,
        } => Record::Denied(reason, may_break_glass),
        cases::ViewVerdict::Merged { into } => Record::Merged(into),
        cases::ViewVerdict::Allowed => {
            as_user(&state, &auth, false, move |tx, ctx, _key, actor| {
                Box::pin(async move {
                    match cases::load_record(&ctx, tx, &actor, id).await? {
                        Opened::Denied {
                            reason,
                            may_break_glass,
                        } => Ok(Record::Denied(reason, may_break_glass)),
                        Opened::Merged { into } => Ok(Record::Merged(into)),
                        open => {
                            let profile =
                                mace_domain::profile::profile(&ctx, tx, &actor, id).await?;
                            Ok(Record::Open(
                                Box::new(open),
                                tx.list_orgs().await?,
                                actor,
                                tx.merges_into(id).await?,
                                Box::new(profile),
                            ))
                        }
                    }
                })
            })
            .await?
        }
    };
    let (opened, orgs, actor, merges, profile) = match got {
        Record::Denied(reason, may_break_glass) => {
            let page = RefusedPage {
                layout: Layout::from_ctx(&state, ctx, "You cannot see this record"),
                id,
                message: refusal(reason),
                may_break_glass,
            };
            return Ok(form_reply(StatusCode::FORBIDDEN, page.render()?));
        }
        Record::Merged(into) => {
            return Ok(Redirect::to(&format!("/children/{into}")).into_response());
        }
        Record::Open(o, orgs, actor, merges, profile) => (o, orgs, actor, merges, profile),
    };
    let Opened::Allowed {
        person,
        identifiers,
        chronology,
        decision,
        facts,
    } = *opened
    else {
        return Err(WebError::Internal("an unexpected record outcome".into()));
    };
    let org_names: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
    let total = chronology
        .iter()
        .filter(|e| e.kind != cases::ADDENDUM_KIND)
        .count();
    let mut kinds: Vec<(&'static str, &'static str, bool)> = Vec::new();
    let mut agencies: Vec<(Uuid, String, bool)> = Vec::new();
    for e in chronology.iter().filter(|e| e.kind != cases::ADDENDUM_KIND) {
        let k = kind_label(&e.kind);
        if !kinds.iter().any(|(code, _, _)| *code == e.kind) {
            let code = kind_code(&e.kind);
            kinds.push((code, k, q.kind.as_deref() == Some(code)));
        }
        if !agencies.iter().any(|(a, _, _)| *a == e.org_id) {
            agencies.push((
                e.org_id,
                org_names.get(&e.org_id).cloned().unwrap_or_default(),
                q.agency == Some(e.org_id),
            ));
        }
    }
    let (filter, filter_form) = crate::chronology::filter(&q);
    let may_correct =
        mace_domain::authz::decide(&actor, mace_domain::authz::Action::EditRecord, Some(&facts))
            .allow;
    let rows = filter
        .apply(&chronology, |t| format::uk(t).date())
        .into_iter()
        .map(|item| crate::chronology::row(&org_names, item))
        .collect();
    let privacy = auth
        .user
        .roles
        .contains(&mace_domain::authz::Role::PrivacyOfficer);
    let missing_prompts = crate::missing::open_prompts_for_child(&state, &auth, id).await?;
    let page = RecordPage {
        layout: Layout::from_ctx(&state, ctx, &name(&person)),
        id,
        name: name(&person),
        dob: dob(&person),
        age: age(&state, &person),
        gender: person.gender.label(),
        postcode: person
            .postcode
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "Not known".into()),
        why: why(decision.reason),
        rows,
        total,
        kinds,
        agencies,
        identifiers: crate::identifiers::rows(&identifiers),
        filter_form,
        may_correct,
        show_access_log: facts.org_is_lead || privacy,
        print: q.print.is_some(),
        markings: facts.markings.iter().map(|m| m.label()).collect(),
        can_mark: Marking::ALL
            .iter()
            .filter(|m| !facts.markings.contains(m) && cases::may_mark(&actor, &facts, **m))
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        csrf: auth.session.csrf_secret.clone(),
        missing_prompts,
        notice: if q.marked.is_some() {
            Some("The marking has been added. Access to this record is now narrower.")
        } else if q.merged.is_some() {
            Some(
                "The records have been merged. The other record's history is now part of this one.",
            )
        } else if q.unmerged.is_some() {
            Some("The records have been separated again.")
        } else if q.identified.is_some() {
            Some("It has been added to the record.")
        } else if q.corrected.is_some() {
            Some("Your correction has been added beside the entry it corrects.")
        } else {
            None
        },
        merges: crate::duplicates::merge_lines(&merges),
        profile: crate::people::view(&profile),
        is_child: true,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    pub marking: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn mark(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<MarkForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let marking = Marking::parse(f.marking.trim())
        .ok_or_else(|| Error::validation("marking", "Choose a marking"))?;
    as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::mark_record(&ctx, tx, &key, &actor, id, marking).await })
    })
    .await?;
    Ok(Redirect::to(&format!("/children/{id}?marked=1")).into_response())
}

// --- break-glass --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "children/break_glass.html")]
pub struct BreakGlassPage {
    pub layout: Layout,
    pub id: Uuid,
    pub form: FormState,
    pub csrf: String,
    pub need_code: bool,
    pub refused: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct BreakGlassForm {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub csrf_token: String,
}

fn stepped_up(state: &AppState, auth: &Auth) -> bool {
    auth.session
        .mfa_at
        .is_some_and(|t| state.ctx.clock.now() - t <= mace_domain::authz::STEP_UP_WINDOW)
}

fn render_break_glass(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    form: FormState,
    refused: Option<&'static str>,
) -> Result<String, WebError> {
    let title = title_for(&form, "Break-glass access");
    Ok(BreakGlassPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        need_code: !stepped_up(state, auth),
        form,
        csrf: auth.session.csrf_secret.clone(),
        refused,
    }
    .render()?)
}

pub(crate) async fn break_glass_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    Ok(Html(render_break_glass(
        &state,
        ctx,
        &auth,
        id,
        FormState::default(),
        None,
    )?)
    .into_response())
}

enum Glass {
    WrongCode,
    Refused(Reason),
    Granted(Option<String>),
}

pub(crate) async fn break_glass(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    addr: ClientAddr,
    Path(id): Path<Uuid>,
    Form(f): Form<BreakGlassForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::default();
    form.values.insert("reason".into(), f.reason.clone());
    if let Err(Error::Validation(errs)) = cases::break_glass_reason(&f.reason) {
        form.errors.extend(errs);
    }
    let need_code = !stepped_up(&state, &auth);
    if need_code && f.code.trim().is_empty() {
        form.errors.push(FieldError::new(
            "code",
            "Enter the security code from your authenticator app",
        ));
    }
    if need_code && let Some(msg) = auth::mfa_wait(&state, &auth, &addr.origin()).await? {
        form.errors.push(FieldError::new("code", msg));
    }
    if form.has_errors() {
        let html = render_break_glass(&state, ctx, &auth, id, form, None)?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    }
    let (session, origin) = (auth.session.clone(), addr.origin());
    let (reason, code) = (f.reason.clone(), f.code.clone());
    let outcome = as_user(&state, &auth, true, move |tx, ctx, key, mut actor| {
        let (session, origin, reason, code) = (
            session.clone(),
            origin.clone(),
            reason.clone(),
            code.clone(),
        );
        Box::pin(async move {
            let mut token = None;
            if !actor.recently_stepped_up() {
                let user = tx
                    .get_user(actor.user_id)
                    .await?
                    .ok_or(mace_domain::Error::NotFound)?;
                match service::verify_second_factor(&ctx, tx, &key, &session, user, &code, &origin)
                    .await?
                {
                    Some(sf) => {
                        actor.mfa_at = sf.issued.session.mfa_at;
                        token = Some(sf.issued.token);
                    }
                    None => return Ok(Glass::WrongCode),
                }
            }
            Ok(
                match cases::break_glass(&ctx, tx, &key, &actor, id, &reason).await? {
                    Ok(_) => Glass::Granted(token),
                    Err(r) => Glass::Refused(r),
                },
            )
        })
    })
    .await?;
    match outcome {
        Glass::Granted(token) => {
            let res = Redirect::to(&format!("/children/{id}")).into_response();
            Ok(match token {
                Some(t) => auth::with_session_cookie(res, &t),
                None => res,
            })
        }
        Glass::WrongCode => {
            form.errors.push(FieldError::new(
                "code",
                "The security code is not correct, or has been used already. Enter the current code",
            ));
            let html = render_break_glass(&state, ctx, &auth, id, form, None)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Glass::Refused(r) => {
            let html = render_break_glass(&state, ctx, &auth, id, form, Some(refusal(r)))?;
            Ok(form_reply(StatusCode::FORBIDDEN, html))
        }
    }
}

// --- who has seen this record, and the privacy queue -----------------------------------------------

/// One line of an access log as shown.
pub struct AccessRow {
    pub when: String,
    pub who: String,
    pub org: String,
    pub what: &'static str,
    pub outcome: &'static str,
    pub refused: bool,
    pub reason: String,
    pub record: Option<Uuid>,
}

fn what(action: &str) -> &'static str {
    match action {
        "record.view" => "Opened the record",
        "record.break_glass" => "Break-glass access",
        "record.access_log" => "Looked at who has seen the record",
        "person.create" => "Created the record",
        "person.summary" => "Saw the name while raising a concern",
        "concern.view" => "Read a concern",
        "concern.triage" => "Triaged a concern",
        "concern.create" => "Raised a concern",
        _ => "Other",
    }
}

fn access_rows(lines: Vec<AccessLine>) -> Vec<AccessRow> {
    lines
        .into_iter()
        .map(|l| {
            let b = &l.event.body;
            AccessRow {
                when: format::date_time(b.at),
                who: l.user_name.clone().unwrap_or_else(|| "Unknown".into()),
                org: l.org_name.clone().unwrap_or_default(),
                what: what(&b.action),
                outcome: if b.outcome == Outcome::Success {
                    "Allowed"
                } else {
                    "Refused"
                },
                refused: b.outcome != Outcome::Success,
                reason: b.justification.clone().unwrap_or_default(),
                record: (b.target_type.as_deref() == Some("person"))
                    .then_some(b.target_id)
                    .flatten(),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "children/access_log.html")]
pub struct AccessLogPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub rows: Vec<AccessRow>,
}

pub(crate) async fn access_log(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (person, lines) = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::who_has_seen(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    let page = AccessLogPage {
        layout: Layout::from_ctx(&state, ctx, "Who has seen this record"),
        id,
        name: name(&person),
        rows: access_rows(lines),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "privacy_queue.html")]
pub struct PrivacyQueuePage {
    pub layout: Layout,
    pub rows: Vec<AccessRow>,
}

pub(crate) async fn privacy_queue(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let lines = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { cases::privacy_queue(&ctx, tx, &key, &actor).await })
    })
    .await?;
    let page = PrivacyQueuePage {
        layout: Layout::from_ctx(&state, ctx, "Access to review"),
        rows: access_rows(lines),
    };
    Ok(Html(page.render()?).into_response())
}

// --- search before create -------------------------------------------------------------------------

/// A candidate as shown: the child, the score and the reasons.
pub struct CandidateRow {
    pub child: ChildRow,
    pub score: u32,
    pub reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "concerns/find.html")]
pub struct FindPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    /// `None` before a search.
    pub results: Option<Vec<CandidateRow>>,
    /// Adding another child to the concern being written about this one.
    pub with: Option<Uuid>,
}

#[derive(Debug, Deserialize, Default, Clone)]
pub struct ChildFields {
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default, rename = "dob-day")]
    pub dob_day: String,
    #[serde(default, rename = "dob-month")]
    pub dob_month: String,
    #[serde(default, rename = "dob-year")]
    pub dob_year: String,
    #[serde(default)]
    pub dob_approximate: Option<String>,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub postcode: String,
    /// A number that identifies the child (search only).
    #[serde(default)]
    pub identifier: String,
    #[serde(default)]
    pub csrf_token: String,
    /// `prefill` (from the search results) or `create`.
    #[serde(default)]
    pub step: String,
    /// Adding another child to the concern being written about this one.
    #[serde(default)]
    pub with: Option<Uuid>,
}

impl ChildFields {
    pub(crate) fn form(&self) -> FormState {
        let mut f = FormState::kept(&[
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
            ("dob-day", &self.dob_day),
            ("dob-month", &self.dob_month),
            ("dob-year", &self.dob_year),
            ("gender", &self.gender),
            ("postcode", &self.postcode),
            ("identifier", &self.identifier),
        ]);
        if self.dob_approximate.is_some() {
            f.values.insert("dob_approximate".into(), "yes".into());
        }
        f
    }

    /// The date of birth from its three boxes: a real date, not in the future.
    pub(crate) fn dob(&self, form: &mut FormState, today: time::Date) -> Option<time::Date> {
        form.date(
            "dob",
            (&self.dob_day, &self.dob_month, &self.dob_year),
            "Date of birth",
            Some((today, "Date of birth must be in the past")),
        )
    }
}

fn render_find(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    results: Option<Vec<CandidateRow>>,
    with: Option<Uuid>,
) -> Result<String, WebError> {
    let title = title_for(&form, "Find the child");
    Ok(FindPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        results,
        with,
    }
    .render()?)
}

#[derive(Debug, Deserialize, Default)]
pub struct FindQuery {
    /// Adding another child to the concern being written about this one.
    pub with: Option<Uuid>,
}

pub(crate) async fn find_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<FindQuery>,
) -> Result<Response, WebError> {
    Ok(Html(render_find(
        &state,
        ctx,
        &auth,
        FormState::default(),
        None,
        q.with,
    )?)
    .into_response())
}

pub(crate) async fn find(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<ChildFields>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = f.form();
    let date_of_birth = f.dob(&mut form, format::uk(state.ctx.clock.now()).date());
    let probe = Probe {
        given_name: f.given_name.trim().to_string(),
        family_name: f.family_name.trim().to_string(),
        date_of_birth,
        postcode: optional(&f.postcode, &mut form, |s| {
            Postcode::parse(s).map_err(|e| Error::Validation(vec![e]))
        }),
        identifier: optional(
            &f.identifier,
            &mut form,
            mace_domain::identifiers::recognise,
        ),
    };
    let found = if form.has_errors() {
        Err(Error::Validation(Vec::new()))
    } else {
        as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let probe = probe.clone();
            Box::pin(async move { cases::find_children(&ctx, tx, &key, &actor, &probe).await })
        })
        .await
        .map_err(|e| match e {
            WebError::Domain(d) => d,
            other => Error::store(other.to_string()),
        })
    };
    match found {
        Ok(list) => {
            let rows = list.iter().map(|c| candidate_row(&state, c)).collect();
            Ok(Html(render_find(&state, ctx, &auth, form, Some(rows), f.with)?).into_response())
        }
        Err(Error::Validation(errs)) => {
            form.errors.extend(errs);
            let html = render_find(&state, ctx, &auth, form, None, f.with)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e.into()),
    }
}

/// An optional field: blank is `None`; otherwise parsed, its errors added to the form.
pub(crate) fn optional<T>(
    raw: &str,
    form: &mut FormState,
    parse: impl Fn(&str) -> mace_domain::Result<T>,
) -> Option<T> {
    if raw.trim().is_empty() {
        return None;
    }
    match parse(raw) {
        Ok(v) => Some(v),
        Err(Error::Validation(errs)) => {
            form.errors.extend(errs);
            None
        }
        Err(_) => None,
    }
}

pub(crate) fn candidate_row(state: &AppState, c: &Candidate) -> CandidateRow {
    CandidateRow {
        child: ChildRow::of(state, &c.person),
        score: c.score,
        reasons: c.reasons.clone(),
    }
}

#[derive(Template)]
#[template(path = "children/new.html")]
pub struct NewChildPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    /// Adding another child to the concern being written about this one.
    pub with: Option<Uuid>,
}

impl NewChildPage {
    fn genders(&self) -> Vec<(&'static str, &'static str, bool)> {
        Gender::ALL
            .iter()
            .map(|g| {
                (
                    g.as_str(),
                    g.label(),
                    self.form.value("gender") == g.as_str(),
                )
            })
            .collect()
    }
}

fn render_new_child(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    with: Option<Uuid>,
) -> Result<String, WebError> {
    let title = title_for(&form, "Create a record for the child");
    Ok(NewChildPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        with,
    }
    .render()?)
}

/// `step=prefill` shows the form filled from the search; `step=create` creates the record and
/// goes on to the concern.
pub(crate) async fn new_child(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<ChildFields>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = f.form();
    match f.step.as_str() {
        "create" => {}
        "prefill" | "" => {
            return Ok(Html(render_new_child(&state, ctx, &auth, form, f.with)?).into_response());
        }
        _ => return Err(Error::validation("step", "Not a step of this form").into()),
    }
    let given = PersonName::parse("given_name", &f.given_name)
        .map_err(|e| {
            form.errors
                .push(FieldError::new(&e.field, "Enter the child's first name"))
        })
        .ok();
    let family = PersonName::parse("family_name", &f.family_name)
        .map_err(|e| {
            form.errors
                .push(FieldError::new(&e.field, "Enter the child's last name"))
        })
        .ok();
    let date_of_birth = f.dob(&mut form, format::uk(state.ctx.clock.now()).date());
    let gender = Gender::parse(f.gender.trim());
    if gender.is_none() {
        form.errors.push(FieldError::new(
            "gender",
            "Select the child's gender, or ‘Not known’",
        ));
    }
    let postcode = if f.postcode.trim().is_empty() {
        None
    } else {
        Postcode::parse(&f.postcode)
            .map_err(|e| form.errors.push(e))
            .ok()
    };
    let (Some(given_name), Some(family_name), Some(gender), false) =
        (given, family, gender, form.has_errors())
    else {
        let html = render_new_child(&state, ctx, &auth, form, f.with)?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    };
    let new = NewPerson {
        kind: PersonKind::Child,
        given_name,
        family_name,
        date_of_birth,
        dob_approximate: f.dob_approximate.is_some(),
        gender,
        postcode,
    };
    let person = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let new = new.clone();
        Box::pin(async move { cases::create_child(&ctx, tx, &key, &actor, new).await })
    })
    .await?;
    let next = match f.with {
        Some(first) => format!("/concerns/new/{first}?add={}", person.id),
        None => format!("/concerns/new/{}", person.id),
    };
    Ok(Redirect::to(&next).into_response())
}

// --- concerns ---------------------------------------------------------------------------------------

/// A language suggestion as shown: which field, the words, why, and what to write instead.
pub struct WordingRow {
    pub field: String,
    pub found: String,
    pub why: &'static str,
    pub instead: &'static str,
}

/// The language suggestions for some free text, field by field (label, text).
pub fn wording_of<'a>(fields: impl IntoIterator<Item = (String, &'a str)>) -> Vec<WordingRow> {
    fields
        .into_iter()
        .flat_map(|(field, text)| {
            mace_domain::language::check(text)
                .into_iter()
                .map(move |s| WordingRow {
                    field: field.clone(),
                    found: s.found,
                    why: s.why,
                    instead: s.instead,
                })
        })
        .collect()
}

/// The language suggestions for a concern's free text.
pub fn wording(c: &Concern) -> Vec<WordingRow> {
    wording_of([
        ("What was seen or heard".to_string(), c.narrative.as_str()),
        ("The child's own words".to_string(), &c.child_words),
        ("Who else was there".to_string(), &c.others_present),
        ("What has been done".to_string(), &c.actions_taken),
        ("Where".to_string(), &c.location),
    ])
}

#[derive(Template)]
#[template(path = "concerns/view.html")]
pub struct ConcernPage {
    pub layout: Layout,
    pub c: Concern,
    pub child: ChildRow,
    pub raised_by: String,
    pub raised_org: String,
    pub raised_at: String,
    pub observed: String,
    pub types: String,
    pub decided_by: String,
    pub decided_at: String,
    pub waited: String,
    pub overdue: bool,
    pub can_triage: bool,
    pub is_raiser: bool,
    pub wording: Vec<WordingRow>,
    pub indicators: Vec<&'static str>,
    /// The front door it was also sent to, by name.
    pub front_door: Option<String>,
    /// How many other children the concern was raised about together with this one.
    pub group_others: usize,
    /// Those of them the viewer may see: (concern id, child's name).
    pub group_shown: Vec<(Uuid, String)>,
    pub notice: Option<&'static str>,
    pub form: FormState,
    pub csrf: String,
}

impl ConcernPage {
    fn decisions(&self) -> Vec<(&'static str, &'static str, bool)> {
        TriageDecision::ALL
            .iter()
            .map(|d| {
                (
                    d.as_str(),
                    d.label(),
                    self.form.value("decision") == d.as_str(),
                )
            })
            .collect()
    }
    fn submitted(&self) -> bool {
        self.c.status == ConcernStatus::Submitted
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ConcernQuery {
    pub raised: Option<String>,
    pub triaged: Option<String>,
}

struct ConcernView {
    concern: Concern,
    child: Person,
    can_triage: bool,
    names: HashMap<Uuid, String>,
    org: String,
    front_door: Option<String>,
    group: (usize, Vec<(Uuid, Person)>),
}

async fn load_concern(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<Option<ConcernView>, WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let Some((concern, child, can_triage)) =
                cases::open_concern(&ctx, tx, &key, &actor, id).await?
            else {
                return Ok(None);
            };
            let mut names = HashMap::new();
            for u in [Some(concern.raised_by_user), concern.decided_by]
                .into_iter()
                .flatten()
            {
                if let Some(user) = tx.get_user(u).await? {
                    names.insert(u, user.display_name);
                }
            }
            let org = tx
                .get_org(concern.raised_by_org)
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            let front_door = match concern.front_door_org {
                Some(o) => tx.get_org(o).await?.map(|o| o.name),
                None => None,
            };
            let group = cases::concern_group(&ctx, tx, &key, &actor, &concern).await?;
            Ok(Some(ConcernView {
                concern,
                child,
                can_triage,
                names,
                org,
                front_door,
                group,
            }))
        })
    })
    .await
}

fn render_concern(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    v: ConcernView,
    form: FormState,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let now = state.ctx.clock.now();
    let c = v.concern;
    let is_raiser = c.raised_by_user == auth.user.id;
    let title = title_for(&form, "Concern");
    Ok(ConcernPage {
        layout: Layout::from_ctx(state, ctx, &title),
        child: ChildRow::of(state, &v.child),
        raised_by: v.names.get(&c.raised_by_user).cloned().unwrap_or_default(),
        raised_org: v.org,
        raised_at: format::date_time(c.created_at),
        observed: c
            .observed_at
            .map(format::date)
            .unwrap_or_else(|| "Not given".into()),
        types: c
            .exploitation_types
            .iter()
            .map(|t| t.label())
            .collect::<Vec<_>>()
            .join(", "),
        decided_by: c
            .decided_by
            .and_then(|u| v.names.get(&u).cloned())
            .unwrap_or_default(),
        decided_at: c.decided_at.map(format::date_time).unwrap_or_default(),
        waited: format::waited(c.waiting(now)),
        overdue: c.overdue(now),
        can_triage: v.can_triage,
        wording: if is_raiser { wording(&c) } else { Vec::new() },
        indicators: c.indicators.iter().map(|i| i.label()).collect(),
        front_door: v.front_door,
        group_others: v.group.0,
        group_shown: v.group.1.iter().map(|(id, p)| (*id, name(p))).collect(),
        is_raiser,
        notice,
        form,
        csrf: auth.session.csrf_secret.clone(),
        c,
    }
    .render()?)
}

pub(crate) async fn concern(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<ConcernQuery>,
) -> Result<Response, WebError> {
    let Some(v) = load_concern(&state, &auth, id).await? else {
        return Err(WebError::NotFound);
    };
    let notice = if q.raised.is_some() {
        Some("Your concern has been sent. Your safeguarding lead will decide what happens next.")
    } else if q.triaged.is_some() {
        Some("Your decision has been recorded. The person who raised the concern can see it.")
    } else {
        None
    };
    Ok(Html(render_concern(
        &state,
        ctx,
        &auth,
        v,
        FormState::default(),
        notice,
    )?)
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn triage(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<TriageForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let decision = TriageDecision::parse(f.decision.trim());
    let rationale = f.rationale.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let rationale = rationale.clone();
        Box::pin(
            async move { cases::triage(&ctx, tx, &key, &actor, id, decision, &rationale).await },
        )
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/concerns/{id}?triaged=1")).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            let Some(v) = load_concern(&state, &auth, id).await? else {
                return Err(WebError::NotFound);
            };
            let mut form = FormState {
                errors: errs,
                ..FormState::default()
            };
            form.values.insert("decision".into(), f.decision.clone());
            form.values.insert("rationale".into(), f.rationale.clone());
            let html = render_concern(&state, ctx, &auth, v, form, None)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

/// A concern in a table.
pub struct ConcernLine {
    pub id: Uuid,
    pub child: String,
    pub raised: String,
    pub waited: String,
    pub overdue: bool,
    pub status: &'static str,
    pub decision: String,
}

fn lines(state: &AppState, rows: &[ConcernRow]) -> Vec<ConcernLine> {
    let now = state.ctx.clock.now();
    rows.iter()
        .map(|r| ConcernLine {
            id: r.concern.id,
            child: r.child_name.clone(),
            raised: format::date_time(r.concern.created_at),
            waited: format::waited(r.concern.waiting(now)),
            overdue: r.concern.overdue(now),
            status: r.concern.status.label(),
            decision: r
                .concern
                .decision
                .map(|d| d.label().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "concerns/list.html")]
pub struct ConcernsPage {
    pub layout: Layout,
    pub mine: Vec<ConcernLine>,
    pub queue: Option<Vec<ConcernLine>>,
    pub overdue: usize,
    /// Break-glass openings of records this organisation leads (the lead's alert).
    pub alerts: Vec<AlertLine>,
}

/// Someone outside the relationship opened one of this organisation's records.
pub struct AlertLine {
    pub when: String,
    pub who: String,
    pub org: String,
    pub reason: String,
    pub person_id: Uuid,
}

/// How far back the lead's break-glass alerts look.
const ALERT_DAYS: i64 = 14;

pub(crate) async fn concerns(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let (mine, queue, alerts) = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let queue = cases::triage_queue(&ctx, tx, &key, &actor).await?;
            let mine = cases::my_concerns(tx, &actor).await?;
            let since = ctx.clock.now() - time::Duration::days(ALERT_DAYS);
            let mut alerts = Vec::new();
            if queue.is_some() {
                for g in cases::lead_alerts(tx, &actor, since).await? {
                    let who = tx.get_user(g.user_id).await?.map(|u| u.display_name);
                    let org = tx.get_org(g.org_id).await?.map(|o| o.name);
                    alerts.push(AlertLine {
                        when: format::date_time(g.created_at),
                        who: who.unwrap_or_default(),
                        org: org.unwrap_or_default(),
                        reason: g.reason,
                        person_id: g.person_id,
                    });
                }
            }
            Ok((mine, queue, alerts))
        })
    })
    .await?;
    let queue = queue.map(|q| lines(&state, &q));
    let page = ConcernsPage {
        layout: Layout::from_ctx(&state, ctx, "Concerns"),
        mine: lines(&state, &mine),
        overdue: queue
            .as_ref()
            .map(|q| q.iter().filter(|l| l.overdue).count())
            .unwrap_or(0),
        queue,
        alerts,
    };
    Ok(Html(page.render()?).into_response())
}
