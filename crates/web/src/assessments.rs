//! Risk and vulnerabilities assessments in the browser and the API (issue 5): completing one
//! against the current framework (the suggested level and its rule shown before the assessor
//! gives their judgement), sign-off by a team manager, a child's trajectory (a chart drawn on the
//! server and the same figures as a table), the partnership manager's framework page, and the
//! work lists (`/work`).

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, title_for};
use crate::cases::{ChildRow, as_user, name, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::assessment::{
    self, Answer, Assessment, Change, Framework, FrameworkChange, NewAssessment, Presence,
    RiskLevel, Suggestion, Weight, WorkLists,
};
use mace_domain::identity::model::Organisation;
use mace_domain::ports::{IdentityRepo, PersonRepo};
use mace_domain::{Error, FieldError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

// --- completing an assessment --------------------------------------------------------------------

pub struct IndicatorField {
    pub code: String,
    pub label: String,
    pub weight: &'static str,
    pub presence: String,
    pub evidence: String,
    pub source: String,
    pub date: String,
}

pub struct CategoryFields {
    pub name: String,
    pub indicators: Vec<IndicatorField>,
}

#[derive(Template)]
#[template(path = "assessments/form.html")]
pub struct FormPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child: String,
    pub framework_id: Uuid,
    pub version: i32,
    pub categories: Vec<CategoryFields>,
    pub orgs: Vec<(Uuid, String)>,
    pub form: FormState,
    pub suggestion: Option<Suggestion>,
    /// Language suggestions on what was written so far.
    pub wording: Vec<crate::cases::WordingRow>,
    pub csrf: String,
}

/// Language suggestions on an assessment's free text (evidence, rationale, views).
fn assessment_wording<'a>(
    f: &'a Framework,
    evidence: impl Fn(&str) -> &'a str,
    rationale: &'a str,
    child_views: &'a str,
    family_views: &'a str,
) -> Vec<crate::cases::WordingRow> {
    let mut fields: Vec<(String, &str)> = f
        .indicators
        .iter()
        .map(|i| (format!("Evidence: {}", i.label), evidence(&i.code)))
        .collect();
    fields.push(("Rationale".into(), rationale));
    fields.push(("The child's views".into(), child_views));
    fields.push(("Parents' or carers' views".into(), family_views));
    crate::cases::wording_of(fields)
}

impl FormPage {
    fn levels(&self) -> Vec<(&'static str, &'static str, bool)> {
        RiskLevel::ALL
            .iter()
            .rev()
            .map(|l| {
                (
                    l.as_str(),
                    l.label(),
                    self.form.value("judged_level") == l.as_str(),
                )
            })
            .collect()
    }
}

fn fields(f: &Framework, form: &FormState) -> Vec<CategoryFields> {
    f.categories()
        .into_iter()
        .map(|c| CategoryFields {
            name: c.to_string(),
            indicators: f
                .indicators
                .iter()
                .filter(|i| i.category == c)
                .map(|i| IndicatorField {
                    code: i.code.clone(),
                    label: i.label.clone(),
                    weight: i.weight.label(),
                    presence: form.value(&format!("a_{}", i.code)).to_string(),
                    evidence: form.value(&format!("e_{}", i.code)).to_string(),
                    source: form.value(&format!("s_{}", i.code)).to_string(),
                    date: form.value(&format!("d_{}", i.code)).to_string(),
                })
                .collect(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    child: String,
    f: &Framework,
    orgs: &[Organisation],
    form: FormState,
    suggestion: Option<Suggestion>,
) -> Result<String, WebError> {
    let title = title_for(&form, "Risk and vulnerabilities assessment");
    let wording = assessment_wording(
        f,
        |code| {
            form.values
                .get(&format!("e_{code}"))
                .map(String::as_str)
                .unwrap_or("")
        },
        form.value("rationale"),
        form.value("child_views"),
        form.value("family_views"),
    );
    Ok(FormPage {
        wording,
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        child,
        framework_id: f.id,
        version: f.version,
        categories: fields(f, &form),
        orgs: orgs.iter().map(|o| (o.id, o.name.clone())).collect(),
        form,
        suggestion,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

/// The framework, the child's name and age, and the organisations, for someone who may change
/// the record.
async fn start(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<(Framework, Option<i32>, String, Vec<Organisation>), WebError> {
    as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let (f, age) = assessment::start(&ctx, tx, &key, &actor, id).await?;
            let child = tx.get_person(id).await?.ok_or(Error::NotFound)?;
            Ok((f, age, name(&child), tx.list_orgs().await?))
        })
    })
    .await
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (f, _, child, orgs) = start(&state, &auth, id).await?;
    let html = render_form(
        &state,
        ctx,
        &auth,
        id,
        child,
        &f,
        &orgs,
        FormState::default(),
        None,
    )?;
    Ok(Html(html).into_response())
}

/// A day typed as `14/11/2026` (or `2026-11-14`).
fn parse_day(s: &str) -> Option<Date> {
    let s = s.trim();
    if let Ok(Some(d)) = format::parse_iso("date", Some(s)) {
        return Some(d);
    }
    let parts: Vec<&str> = s.split(['/', ' ', '.']).filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [d, m, y] => {
            let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
            Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
        }
        _ => None,
    }
}

/// The assessment as typed: answers by indicator, and the rest. Errors in dates and sources are
/// added to the form.
fn read_form(f: &Framework, pairs: &[(String, String)], form: &mut FormState) -> NewAssessment {
    for (k, v) in pairs {
        if k != "csrf_token" {
            form.values.insert(k.clone(), v.trim().to_string());
        }
    }
    let mut answers = Vec::new();
    for i in &f.indicators {
        let Some(presence) = Presence::parse(form.value(&format!("a_{}", i.code))) else {
            continue;
        };
        let raw_date = form.value(&format!("d_{}", i.code)).to_string();
        let observed_on = if raw_date.is_empty() {
            None
        } else {
            let d = parse_day(&raw_date);
            if d.is_none() {
                form.errors.push(FieldError::new(
                    format!("d_{}", i.code),
                    format!("Enter the date like 14/11/2026: {}", i.label),
                ));
            }
            d
        };
        answers.push(Answer {
            code: i.code.clone(),
            presence,
            evidence: form.value(&format!("e_{}", i.code)).to_string(),
            source_org: Uuid::parse_str(form.value(&format!("s_{}", i.code))).ok(),
            observed_on,
        });
    }
    NewAssessment {
        answers,
        learning_disability: form.value("learning_disability") == "yes",
        judged_level: RiskLevel::parse(form.value("judged_level")),
        rationale: form.value("rationale").to_string(),
        child_views: form.value("child_views").to_string(),
        family_views: form.value("family_views").to_string(),
    }
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    auth.check_csrf(csrf)?;
    let (f, age, child, orgs) = start(&state, &auth, id).await?;
    let mut form = FormState::default();
    let new = read_form(&f, &pairs, &mut form);
    let suggestion = assessment::suggest(&f, &new.answers, age, new.learning_disability);
    let submitting = form.value("step") == "submit";
    if submitting && !form.has_errors() {
        let framework_id = Uuid::parse_str(form.value("framework_id")).unwrap_or(f.id);
        let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
            let new = new.clone();
            Box::pin(async move {
                assessment::submit(&ctx, tx, &key, &actor, id, framework_id, &new).await
            })
        })
        .await;
        match done {
            Ok(a) => {
                return Ok(
                    Redirect::to(&format!("/assessments/{}?submitted=1", a.id)).into_response()
                );
            }
            Err(WebError::Domain(Error::Validation(errs))) => form.errors.extend(errs),
            Err(e) => return Err(e),
        }
    }
    let status = if form.has_errors() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = render_form(
        &state,
        ctx,
        &auth,
        id,
        child,
        &f,
        &orgs,
        form,
        Some(suggestion),
    )?;
    Ok(form_reply(status, html))
}

// --- one assessment ----------------------------------------------------------------------------

pub struct AnswerRow {
    pub label: String,
    pub presence: &'static str,
    pub present: bool,
    pub evidence: String,
    pub source: String,
    pub date: String,
}

pub struct CategoryAnswers {
    pub name: String,
    pub answers: Vec<AnswerRow>,
}

#[derive(Template)]
#[template(path = "assessments/view.html")]
pub struct ViewPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child_id: Uuid,
    pub version: i32,
    pub status: &'static str,
    pub suggested: &'static str,
    pub judged: &'static str,
    pub differs: bool,
    pub rationale: String,
    pub child_views: String,
    pub family_views: String,
    pub assessed: String,
    pub signed_off: Option<String>,
    pub review_due: Option<String>,
    pub categories: Vec<CategoryAnswers>,
    pub may_sign_off: bool,
    pub csrf: String,
    pub notice: Option<&'static str>,
    pub form: FormState,
    pub wording: Vec<crate::cases::WordingRow>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ViewQuery {
    pub submitted: Option<String>,
    pub signed: Option<String>,
}

fn answer_rows(
    a: &Assessment,
    f: &Framework,
    orgs: &HashMap<Uuid, String>,
) -> Vec<CategoryAnswers> {
    f.categories()
        .into_iter()
        .map(|c| CategoryAnswers {
            name: c.to_string(),
            answers: f
                .indicators
                .iter()
                .filter(|i| i.category == c)
                .map(|i| {
                    let ans = a.answers.iter().find(|x| x.code == i.code);
                    AnswerRow {
                        label: i.label.clone(),
                        presence: ans.map_or("Not answered", |x| x.presence.label()),
                        present: ans.is_some_and(|x| x.presence == Presence::Present),
                        evidence: ans.map(|x| x.evidence.clone()).unwrap_or_default(),
                        source: ans
                            .and_then(|x| x.source_org)
                            .and_then(|o| orgs.get(&o).cloned())
                            .unwrap_or_default(),
                        date: ans
                            .and_then(|x| x.observed_on)
                            .map(format::day)
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect()
}

async fn render_view(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    notice: Option<&'static str>,
    form: FormState,
) -> Result<String, WebError> {
    let (a, f, orgs, may_sign_off) = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let (a, f, facts) = assessment::open(&ctx, tx, &key, &actor, id).await?;
            let may = a.status == assessment::AssessmentStatus::Submitted
                && a.assessor_id != actor.user_id
                && mace_domain::authz::decide(
                    &actor,
                    mace_domain::authz::Action::SignOffAssessment,
                    Some(&facts),
                )
                .allow;
            Ok((a, f, tx.list_orgs().await?, may))
        })
    })
    .await?;
    let orgs: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
    let wording = assessment_wording(
        &f,
        |code| {
            a.answers
                .iter()
                .find(|x| x.code == code)
                .map(|x| x.evidence.as_str())
                .unwrap_or("")
        },
        &a.rationale,
        &a.child_views,
        &a.family_views,
    );
    Ok(ViewPage {
        wording,
        layout: Layout::from_ctx(state, ctx, "Risk and vulnerabilities assessment"),
        id,
        child_id: a.person_id,
        version: f.version,
        status: a.status.label(),
        suggested: a.suggested_level.label(),
        judged: a.judged_level.label(),
        differs: a.suggested_level != a.judged_level,
        rationale: a.rationale.clone(),
        child_views: a.child_views.clone(),
        family_views: a.family_views.clone(),
        assessed: format!(
            "{} by {}",
            format::date(a.created_at),
            orgs.get(&a.assessor_org).cloned().unwrap_or_default()
        ),
        signed_off: a.signed_off_at.map(format::date),
        review_due: a.review_due.map(format::day),
        categories: answer_rows(&a, &f, &orgs),
        may_sign_off,
        csrf: auth.session.csrf_secret.clone(),
        notice,
        form,
    }
    .render()?)
}

pub(crate) async fn view(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    axum::extract::Query(q): axum::extract::Query<ViewQuery>,
) -> Result<Response, WebError> {
    let notice = if q.submitted.is_some() {
        Some("The assessment has been submitted. A team manager will sign it off.")
    } else if q.signed.is_some() {
        Some("The assessment is signed off. The review date is set.")
    } else {
        None
    };
    Ok(
        Html(render_view(&state, ctx, &auth, id, notice, FormState::default()).await?)
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
pub struct SignOffForm {
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn sign_off(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<SignOffForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { assessment::sign_off(&ctx, tx, &key, &actor, id).await })
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/assessments/{id}?signed=1")).into_response()),
        Err(WebError::Domain(Error::Validation(errors))) => {
            let form = FormState {
                errors,
                ..FormState::default()
            };
            let html = render_view(&state, ctx, &auth, id, None, form).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

// --- trajectory --------------------------------------------------------------------------------

pub struct TrajectoryRow {
    pub id: Uuid,
    pub when: String,
    pub version: String,
    pub suggested: &'static str,
    pub judged: &'static str,
    pub status: &'static str,
    pub present: usize,
    pub came: Vec<String>,
    pub went: Vec<String>,
}

/// One point of the chart.
pub struct Point {
    pub x: i64,
    pub y: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "assessments/trajectory.html")]
pub struct TrajectoryPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child: String,
    pub rows: Vec<TrajectoryRow>,
    pub points: Vec<Point>,
    pub path: String,
    pub may_assess: bool,
}

/// The chart's geometry: x by date across 560 units from 60, y by level (None at the bottom).
fn chart(list: &[(Assessment, Change)]) -> (Vec<Point>, String) {
    let (Some(first), Some(last)) = (list.first(), list.last()) else {
        return (Vec::new(), String::new());
    };
    let (t0, t1) = (first.0.created_at, last.0.created_at);
    let span = (t1 - t0).whole_seconds().max(1);
    let points: Vec<Point> = list
        .iter()
        .map(|(a, _)| {
            let x = if list.len() == 1 {
                340
            } else {
                60 + (a.created_at - t0).whole_seconds() * 560 / span
            };
            let y = match a.judged_level {
                RiskLevel::High => 30,
                RiskLevel::Medium => 80,
                RiskLevel::Low => 130,
                RiskLevel::None => 180,
            };
            Point {
                x,
                y,
                label: format!("{}: {}", format::date(a.created_at), a.judged_level.short()),
            }
        })
        .collect();
    let path = points
        .iter()
        .enumerate()
        .map(|(n, p)| format!("{}{} {}", if n == 0 { "M" } else { "L" }, p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    (points, path)
}

pub(crate) async fn trajectory(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (t, may_assess) = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let t = assessment::trajectory(&ctx, tx, &key, &actor, id).await?;
            let may = mace_domain::authz::decide(
                &actor,
                mace_domain::authz::Action::EditRecord,
                Some(&t.facts),
            )
            .allow;
            Ok((t, may))
        })
    })
    .await?;
    let (list, child) = (t.items, name(&t.child));
    let (points, path) = chart(&list);
    let rows = list
        .iter()
        .map(|(a, c)| TrajectoryRow {
            id: a.id,
            when: format::date(a.created_at),
            version: format!("Version {}", c.version),
            suggested: a.suggested_level.short(),
            judged: a.judged_level.short(),
            status: a.status.label(),
            present: a
                .answers
                .iter()
                .filter(|x| x.presence == Presence::Present)
                .count(),
            came: c.came.clone(),
            went: c.went.clone(),
        })
        .collect();
    let page = TrajectoryPage {
        layout: Layout::from_ctx(&state, ctx, &format!("{child}: risk over time")),
        id,
        child,
        rows,
        points,
        path,
        may_assess,
    };
    Ok(Html(page.render()?).into_response())
}

// --- the framework -----------------------------------------------------------------------------

pub struct FrameworkCategory {
    pub name: String,
    /// (code, label, weight)
    pub indicators: Vec<(String, String, &'static str)>,
}

#[derive(Template)]
#[template(path = "assessments/framework.html")]
pub struct FrameworkPage {
    pub layout: Layout,
    pub version: i32,
    pub name: String,
    pub high_at: i32,
    pub medium_at: i32,
    pub review_days: [i32; 4],
    pub categories: Vec<FrameworkCategory>,
    pub versions: Vec<(i32, String, String)>,
    pub may_change: bool,
    pub form: FormState,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

impl FrameworkPage {
    fn weights(&self) -> Vec<(&'static str, &'static str, bool)> {
        Weight::ALL
            .iter()
            .map(|w| {
                (
                    w.as_str(),
                    w.label(),
                    self.form.value("weight") == w.as_str(),
                )
            })
            .collect()
    }
}

async fn render_framework(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let (list, may_change) = as_user(state, auth, true, |tx, ctx, _key, actor| {
        Box::pin(async move {
            assessment::current_framework(&ctx, tx).await?;
            let may = mace_domain::authz::decide(
                &actor,
                mace_domain::authz::Action::ManageFramework,
                None,
            )
            .allow;
            Ok((
                mace_domain::ports::AssessmentRepo::list_frameworks(tx).await?,
                may,
            ))
        })
    })
    .await?;
    let Some(f) = list.first() else {
        return Err(WebError::NotFound);
    };
    let mut form = form;
    for (k, v) in [
        ("medium_at", f.medium_at),
        ("high_at", f.high_at),
        ("review_high", f.review_days[0]),
        ("review_medium", f.review_days[1]),
        ("review_low", f.review_days[2]),
        ("review_none", f.review_days[3]),
    ] {
        form.values.entry(k.into()).or_insert_with(|| v.to_string());
    }
    Ok(FrameworkPage {
        layout: Layout::from_ctx(state, ctx, &title_for(&form, "Risk assessment framework")),
        version: f.version,
        name: f.name.clone(),
        high_at: f.high_at,
        medium_at: f.medium_at,
        review_days: f.review_days,
        categories: f
            .categories()
            .into_iter()
            .map(|c| FrameworkCategory {
                name: c.to_string(),
                indicators: f
                    .indicators
                    .iter()
                    .filter(|i| i.category == c)
                    .map(|i| (i.code.clone(), i.label.clone(), i.weight.label()))
                    .collect(),
            })
            .collect(),
        versions: list
            .iter()
            .map(|v| (v.version, format::date(v.created_at), v.change_note.clone()))
            .collect(),
        may_change,
        form,
        csrf: auth.session.csrf_secret.clone(),
        notice,
    }
    .render()?)
}

#[derive(Debug, Deserialize, Default)]
pub struct FrameworkQuery {
    pub changed: Option<String>,
}

pub(crate) async fn framework(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    axum::extract::Query(q): axum::extract::Query<FrameworkQuery>,
) -> Result<Response, WebError> {
    let notice = q
        .changed
        .is_some()
        .then_some("A new version of the framework is in use. Assessments already made keep the version they were made with.");
    Ok(
        Html(render_framework(&state, ctx, &auth, FormState::default(), notice).await?)
            .into_response(),
    )
}

#[derive(Debug, Deserialize, Default)]
pub struct IndicatorForm {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub weight: String,
    #[serde(default)]
    pub change_note: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn add_indicator(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<IndicatorForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let change = FrameworkChange {
        category: f.category.clone(),
        label: f.label.clone(),
        weight: Weight::parse(f.weight.trim()),
        change_note: f.change_note.clone(),
    };
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let change = change.clone();
        Box::pin(async move { assessment::add_indicator(&ctx, tx, &key, &actor, &change).await })
    })
    .await;
    framework_reply(
        &state,
        ctx,
        &auth,
        done.map(|_| ()),
        FormState::kept(&[
            ("category", &f.category),
            ("label", &f.label),
            ("weight", &f.weight),
            ("change_note", &f.change_note),
        ]),
    )
    .await
}

/// After a change to the framework: back to its page, or the page again with the errors and
/// what was typed.
async fn framework_reply(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    done: Result<(), WebError>,
    mut form: FormState,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => Ok(Redirect::to("/framework?changed=1").into_response()),
        Err(WebError::Domain(Error::Validation(errors))) => {
            form.errors = errors;
            let html = render_framework(state, ctx, auth, form, None).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    pub medium_at: String,
    #[serde(default)]
    pub high_at: String,
    #[serde(default)]
    pub review_high: String,
    #[serde(default)]
    pub review_medium: String,
    #[serde(default)]
    pub review_low: String,
    #[serde(default)]
    pub review_none: String,
    #[serde(default)]
    pub change_note: String,
    #[serde(default)]
    pub csrf_token: String,
}

/// A whole number from a form field (`i32::MIN` when it is not one, which validation refuses).
fn number(s: &str) -> i32 {
    s.trim().parse().unwrap_or(i32::MIN)
}

pub(crate) async fn change_settings(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<SettingsForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let settings = assessment::Settings {
        medium_at: number(&f.medium_at),
        high_at: number(&f.high_at),
        review_days: [
            number(&f.review_high),
            number(&f.review_medium),
            number(&f.review_low),
            number(&f.review_none),
        ],
    };
    let note = f.change_note.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(async move {
            assessment::change_settings(&ctx, tx, &key, &actor, settings, &note).await
        })
    })
    .await;
    framework_reply(
        &state,
        ctx,
        &auth,
        done.map(|_| ()),
        FormState::kept(&[
            ("medium_at", &f.medium_at),
            ("high_at", &f.high_at),
            ("review_high", &f.review_high),
            ("review_medium", &f.review_medium),
            ("review_low", &f.review_low),
            ("review_none", &f.review_none),
            ("change_note", &f.change_note),
        ]),
    )
    .await
}

#[derive(Debug, Deserialize, Default)]
pub struct RetireForm {
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn retire_indicator(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(code): Path<String>,
    Form(f): Form<RetireForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let code = code.clone();
        Box::pin(
            async move { assessment::retire_indicator(&ctx, tx, &key, &actor, &code, "").await },
        )
    })
    .await?;
    Ok(Redirect::to("/framework?changed=1").into_response())
}

/// New thresholds and review intervals.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDto {
    pub medium_at: i32,
    pub high_at: i32,
    /// Days to the review at High, Medium, Low and None (7 to 365 each).
    pub review_days: [i32; 4],
    #[serde(default)]
    pub change_note: String,
}

/// Change the thresholds and review intervals (partnership managers): a new version.
#[utoipa::path(put, path = "/api/v1/framework/settings", tag = "assessments",
    security(("bearer" = [])),
    request_body(content = SettingsDto, content_type = "application/json"),
    responses(
        (status = 200, description = "The new version", body = FrameworkDto, content_type = "application/json"),
        (status = 403, description = "Only partnership managers change the framework", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Out of range", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_change_settings(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<SettingsDto>,
) -> Result<Response, WebError> {
    let settings = assessment::Settings {
        medium_at: body.medium_at,
        high_at: body.high_at,
        review_days: body.review_days,
    };
    let f = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let note = body.change_note.clone();
        Box::pin(async move {
            assessment::change_settings(&ctx, tx, &key, &actor, settings, &note).await
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &FrameworkDto::from(&f)))
}

/// Take an indicator out of use (partnership managers): a new version without it.
#[utoipa::path(delete, path = "/api/v1/framework/indicators/{code}", tag = "assessments",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The indicator's code")),
    responses(
        (status = 200, description = "The new version", body = FrameworkDto, content_type = "application/json"),
        (status = 403, description = "Only partnership managers change the framework", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such indicator in the current version", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_retire_indicator(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let f = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let code = code.clone();
        Box::pin(
            async move { assessment::retire_indicator(&ctx, tx, &key, &actor, &code, "").await },
        )
    })
    .await?;
    Ok(json_response(StatusCode::OK, &FrameworkDto::from(&f)))
}

// --- work lists --------------------------------------------------------------------------------

pub struct WorkLine {
    pub assessment: Uuid,
    pub child: ChildRow,
    pub level: &'static str,
    pub when: String,
}

/// A line of an assessment work list (`templates/work/lines.html`).
pub(crate) fn work_line(
    state: &AppState,
    l: &assessment::AssessmentLine,
    when: String,
) -> WorkLine {
    WorkLine {
        assessment: l.assessment.id,
        child: ChildRow::of(state, &l.child),
        level: l.assessment.judged_level.short(),
        when,
    }
}

#[derive(Template)]
#[template(path = "assessments/work.html")]
pub struct WorkPage {
    pub layout: Layout,
    pub caseload: Vec<ChildRow>,
    pub overdue: Vec<WorkLine>,
    pub due: Vec<WorkLine>,
    pub awaiting: Vec<WorkLine>,
    pub manager: bool,
    /// Open prompts to review a child's risk (missing episodes) for children in scope.
    pub missing_prompts: Vec<crate::missing::PromptBanner>,
    /// Return home interviews past their 72 hours.
    pub overdue_interviews: usize,
}

async fn work_lists(
    state: &AppState,
    user: &mace_domain::identity::model::User,
    mfa: Option<time::OffsetDateTime>,
) -> Result<WorkLists, WebError> {
    with_actor(state, user, mfa, true, |tx, ctx, key, actor| {
        Box::pin(async move {
            assessment::work_lists(&ctx, tx, &key, &actor, assessment::REVIEW_REMINDER).await
        })
    })
    .await
}

pub(crate) async fn work(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    let w = work_lists(&state, &auth.user, auth.session.mfa_at).await?;
    let missing = crate::missing::open_prompts_for_work(&state, &auth).await?;
    let line = |l: &assessment::AssessmentLine, when: String| work_line(&state, l, when);
    let review = |l: &assessment::AssessmentLine| {
        line(
            l,
            l.assessment.review_due.map(format::day).unwrap_or_default(),
        )
    };
    let page = WorkPage {
        layout: Layout::from_ctx(&state, ctx, "Your work"),
        caseload: w.caseload.iter().map(|p| ChildRow::of(&state, p)).collect(),
        overdue: w.reviews_overdue.iter().map(review).collect(),
        due: w.reviews_due.iter().map(review).collect(),
        awaiting: w
            .awaiting_sign_off
            .iter()
            .map(|l| line(l, format::date(l.assessment.created_at)))
            .collect(),
        manager: auth
            .user
            .roles
            .contains(&mace_domain::authz::Role::TeamManager),
        missing_prompts: missing.prompts,
        overdue_interviews: missing.overdue_interviews,
    };
    Ok(Html(page.render()?).into_response())
}

// --- API ---------------------------------------------------------------------------------------

/// One indicator's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerDto {
    pub code: String,
    /// `present`, `not_present` or `not_known`.
    pub answer: String,
    #[serde(default)]
    pub evidence: String,
    #[serde(default)]
    pub source_organisation_id: Option<Uuid>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub observed_on: Option<String>,
}

/// An assessment to submit: every indicator of the current framework answered.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssessmentDto {
    /// The framework version's id it was completed against (from `GET /api/v1/framework`).
    pub framework_id: Uuid,
    pub answers: Vec<AnswerDto>,
    #[serde(default)]
    pub learning_disability: bool,
    /// `none`, `low`, `medium` or `high`: the professional judgement.
    pub judged_level: String,
    /// Required (20+ characters) where the judgement differs from the suggested level.
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub child_views: String,
    #[serde(default)]
    pub family_views: String,
}

/// An assessment as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentDto {
    pub id: Uuid,
    pub child_id: Uuid,
    pub framework_id: Uuid,
    /// `submitted` or `signed_off`.
    pub status: String,
    pub suggested_level: String,
    pub judged_level: String,
    pub rationale: String,
    pub child_views: String,
    pub family_views: String,
    pub learning_disability: bool,
    pub assessed_at: String,
    pub signed_off_at: Option<String>,
    pub review_due: Option<String>,
    pub answers: Vec<AnswerDto>,
}

impl From<&Assessment> for AssessmentDto {
    fn from(a: &Assessment) -> Self {
        Self {
            id: a.id,
            child_id: a.person_id,
            framework_id: a.framework_id,
            status: a.status.as_str().into(),
            suggested_level: a.suggested_level.as_str().into(),
            judged_level: a.judged_level.as_str().into(),
            rationale: a.rationale.clone(),
            child_views: a.child_views.clone(),
            family_views: a.family_views.clone(),
            learning_disability: a.learning_disability,
            assessed_at: crate::cases_api::rfc3339(a.created_at),
            signed_off_at: a.signed_off_at.map(crate::cases_api::rfc3339),
            review_due: a.review_due.map(format::iso),
            answers: a
                .answers
                .iter()
                .map(|x| AnswerDto {
                    code: x.code.clone(),
                    answer: x.presence.as_str().into(),
                    evidence: x.evidence.clone(),
                    source_organisation_id: x.source_org,
                    observed_on: x.observed_on.map(format::iso),
                })
                .collect(),
        }
    }
}

/// One indicator of a framework version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorDto {
    pub code: String,
    pub category: String,
    pub label: String,
    /// `actual`, `significant`, `moderate` or `vulnerability`.
    pub weight: String,
}

/// The framework in use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkDto {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub medium_at: i32,
    pub high_at: i32,
    /// Days to the review at High, Medium, Low and None.
    pub review_days: Vec<i32>,
    pub indicators: Vec<IndicatorDto>,
}

impl From<&Framework> for FrameworkDto {
    fn from(f: &Framework) -> Self {
        Self {
            id: f.id,
            version: f.version,
            name: f.name.clone(),
            medium_at: f.medium_at,
            high_at: f.high_at,
            review_days: f.review_days.to_vec(),
            indicators: f
                .indicators
                .iter()
                .map(|i| IndicatorDto {
                    code: i.code.clone(),
                    category: i.category.clone(),
                    label: i.label.clone(),
                    weight: i.weight.as_str().into(),
                })
                .collect(),
        }
    }
}

/// The framework in use (its newest version).
#[utoipa::path(get, path = "/api/v1/framework", tag = "assessments",
    security(("bearer" = [])),
    responses((status = 200, description = "The framework", body = FrameworkDto, content_type = "application/json")))]
pub(crate) async fn api_framework(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let f = with_actor(&state, &c.user, None, true, |tx, ctx, _key, _actor| {
        Box::pin(async move { assessment::current_framework(&ctx, tx).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &FrameworkDto::from(&f)))
}

/// An indicator to add (a new framework version).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIndicatorDto {
    pub category: String,
    pub label: String,
    /// `actual`, `significant`, `moderate` or `vulnerability`.
    pub weight: String,
    #[serde(default)]
    pub change_note: String,
}

/// Add an indicator to the framework (partnership managers): a new version.
#[utoipa::path(post, path = "/api/v1/framework/indicators", tag = "assessments",
    security(("bearer" = [])),
    request_body(content = NewIndicatorDto, content_type = "application/json"),
    responses(
        (status = 201, description = "The new version", body = FrameworkDto, content_type = "application/json"),
        (status = 403, description = "Only partnership managers change the framework", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add_indicator(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewIndicatorDto>,
) -> Result<Response, WebError> {
    let change = FrameworkChange {
        category: body.category,
        label: body.label,
        weight: Weight::parse(body.weight.trim()),
        change_note: body.change_note,
    };
    let f = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let change = change.clone();
        Box::pin(async move { assessment::add_indicator(&ctx, tx, &key, &actor, &change).await })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &FrameworkDto::from(&f)))
}

/// Submit a child's assessment for sign-off (needs the right to change the record).
#[utoipa::path(post, path = "/api/v1/children/{id}/assessments", tag = "assessments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewAssessmentDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Submitted, with the suggested level", body = AssessmentDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "The framework changed since it was read", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Answers missing, evidence missing, or no rationale for a different level", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_submit(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewAssessmentDto>,
) -> Result<Response, WebError> {
    let mut answers = Vec::new();
    for a in &body.answers {
        let presence = Presence::parse(a.answer.trim()).ok_or_else(|| {
            Error::validation(
                &format!("a_{}", a.code),
                "Answer present, not_present or not_known",
            )
        })?;
        let observed_on = match a.observed_on.as_deref() {
            None | Some("") => None,
            Some(s) => Some(parse_day(s).ok_or_else(|| {
                Error::validation(&format!("d_{}", a.code), "Give the date as YYYY-MM-DD")
            })?),
        };
        answers.push(Answer {
            code: a.code.clone(),
            presence,
            evidence: a.evidence.clone(),
            source_org: a.source_organisation_id,
            observed_on,
        });
    }
    let new = NewAssessment {
        answers,
        learning_disability: body.learning_disability,
        judged_level: RiskLevel::parse(body.judged_level.trim()),
        rationale: body.rationale,
        child_views: body.child_views,
        family_views: body.family_views,
    };
    let framework_id = body.framework_id;
    let a = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let new = new.clone();
        Box::pin(
            async move { assessment::submit(&ctx, tx, &key, &actor, id, framework_id, &new).await },
        )
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &AssessmentDto::from(&a)))
}

/// A child's assessments, oldest first, each with what changed since the one before.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrajectoryDto {
    pub assessment: AssessmentDto,
    /// Indicators present now that were not before (labels).
    pub came: Vec<String>,
    /// Indicators present before that are not now.
    pub went: Vec<String>,
}

/// A child's assessments over time (needs the right to open the record).
#[utoipa::path(get, path = "/api/v1/children/{id}/assessments", tag = "assessments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    responses(
        (status = 200, description = "Oldest first", body = Vec<TrajectoryDto>, content_type = "application/json"),
        (status = 403, description = "The caller may not open this record", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_trajectory(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let t = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { assessment::trajectory(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    let out: Vec<TrajectoryDto> = t
        .items
        .iter()
        .map(|(a, ch)| TrajectoryDto {
            assessment: AssessmentDto::from(a),
            came: ch.came.clone(),
            went: ch.went.clone(),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &out))
}

/// One assessment (needs the right to open the child's record).
#[utoipa::path(get, path = "/api/v1/assessments/{id}", tag = "assessments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The assessment's id")),
    responses(
        (status = 200, description = "The assessment", body = AssessmentDto, content_type = "application/json"),
        (status = 403, description = "The caller may not open the child's record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such assessment", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_view(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let (a, _, _) = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { assessment::open(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &AssessmentDto::from(&a)))
}

/// Sign an assessment off (a team manager who may change the record, not the assessor).
#[utoipa::path(post, path = "/api/v1/assessments/{id}/sign-off", tag = "assessments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The assessment's id")),
    responses(
        (status = 200, description = "Signed off, with its review date", body = AssessmentDto, content_type = "application/json"),
        (status = 403, description = "Not a team manager who may change the record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already signed off", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "The assessor cannot sign off their own assessment", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_sign_off(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let a = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { assessment::sign_off(&ctx, tx, &key, &actor, id).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &AssessmentDto::from(&a)))
}

/// A line of a work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkLineDto {
    pub assessment_id: Uuid,
    pub child_id: Uuid,
    pub child_name: String,
    pub judged_level: String,
    pub review_due: Option<String>,
}

/// The caller's work lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkDto {
    /// Children allocated to the caller or led by their organisation.
    pub caseload: Vec<crate::cases_api::ChildDto>,
    pub reviews_overdue: Vec<WorkLineDto>,
    /// Due within 14 days.
    pub reviews_due: Vec<WorkLineDto>,
    /// Team managers only.
    pub awaiting_sign_off: Vec<WorkLineDto>,
}

/// The caller's work lists, filtered by what they may see.
#[utoipa::path(get, path = "/api/v1/work", tag = "assessments",
    security(("bearer" = [])),
    responses((status = 200, description = "The work lists", body = WorkDto, content_type = "application/json")))]
pub(crate) async fn api_work(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let w = work_lists(&state, &c.user, None).await?;
    let line = |l: &assessment::AssessmentLine| WorkLineDto {
        assessment_id: l.assessment.id,
        child_id: l.child.id,
        child_name: name(&l.child),
        judged_level: l.assessment.judged_level.as_str().into(),
        review_due: l.assessment.review_due.map(format::iso),
    };
    let dto = WorkDto {
        caseload: w
            .caseload
            .iter()
            .map(crate::cases_api::ChildDto::from)
            .collect(),
        reviews_overdue: w.reviews_overdue.iter().map(line).collect(),
        reviews_due: w.reviews_due.iter().map(line).collect(),
        awaiting_sign_off: w.awaiting_sign_off.iter().map(line).collect(),
    };
    Ok(json_response(StatusCode::OK, &dto))
}
