//! Duplicate records in the browser and over the API (issue 4): the duplicate review, "not the
//! same child", merging two records and separating them again. The domain service
//! ([`mace_domain::dedupe`]) decides and audits; these handlers shape what is shown.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, form_reply, title_for};
use crate::cases::{as_user, dob, name, with_actor};
use crate::cases_api::ChildDto;
use crate::error::{WebError, json_response};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::Error;
use mace_domain::cases::{self, Opened};
use mace_domain::dedupe::{self, DuplicatePair, PersonMerge};
use mace_domain::linkage;
use mace_domain::person::Person;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A reason, for people: "same date of birth (+8.1)".
fn reason_text(r: &linkage::Reason) -> String {
    let sign = if r.weight >= 0.0 { "for" } else { "against" };
    format!("{} ({sign}, {:.1})", r.level, r.weight.abs())
}

fn percent(p: f64) -> String {
    format!("{:.0}%", (p * 100.0).floor().clamp(0.0, 99.0))
}

pub struct PairRow {
    pub a_id: Uuid,
    pub a_name: String,
    pub a_dob: String,
    pub b_id: Uuid,
    pub b_name: String,
    pub b_dob: String,
    pub likelihood: String,
    pub reasons: Vec<String>,
}

impl PairRow {
    fn of(p: &DuplicatePair) -> Self {
        Self {
            a_id: p.a.id,
            a_name: name(&p.a),
            a_dob: dob(&p.a),
            b_id: p.b.id,
            b_name: name(&p.b),
            b_dob: dob(&p.b),
            likelihood: percent(p.probability),
            reasons: p.reasons.iter().map(reason_text).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "children/duplicates.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub rows: Vec<PairRow>,
    pub hidden: usize,
    pub records: usize,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct ReviewQuery {
    pub dismissed: Option<String>,
}

pub(crate) async fn review(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, WebError> {
    let r = as_user(&state, &auth, true, |tx, ctx, key, actor| {
        Box::pin(async move { dedupe::review(&ctx, tx, &key, &actor).await })
    })
    .await?;
    let page = ReviewPage {
        layout: Layout::from_ctx(&state, ctx, "Possible duplicate records"),
        rows: r.pairs.iter().map(PairRow::of).collect(),
        hidden: r.hidden,
        records: r.records,
        csrf: auth.session.csrf_secret.clone(),
        notice: q
            .dismissed
            .is_some()
            .then_some("Recorded as different children. The pair will not be offered again."),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PairForm {
    pub a: Uuid,
    pub b: Uuid,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn dismiss(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Form(f): Form<PairForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let (a, b) = (f.a, f.b);
    as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { dedupe::not_duplicate(&ctx, tx, &key, &actor, a, b).await })
    })
    .await?;
    Ok(Redirect::to("/children/duplicates?dismissed=1").into_response())
}

#[derive(Template)]
#[template(path = "children/merge.html")]
pub struct MergePage {
    pub layout: Layout,
    pub keep: Uuid,
    pub merge: Uuid,
    pub keep_name: String,
    pub keep_dob: String,
    pub keep_postcode: String,
    pub merge_name: String,
    pub merge_dob: String,
    pub merge_postcode: String,
    pub form: FormState,
    pub csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct MergeQuery {
    pub keep: Uuid,
    pub merge: Uuid,
}

/// Open both records (decided and audited as views); refused or already merged records stop
/// here.
async fn both(
    state: &AppState,
    auth: &Auth,
    keep: Uuid,
    merge: Uuid,
) -> Result<(Person, Person), WebError> {
    let opened = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let mut out = Vec::new();
            for id in [keep, merge] {
                match cases::open_record(&ctx, tx, &key, &actor, id).await? {
                    Opened::Allowed { person, .. } => out.push(person),
                    Opened::Merged { .. } => {
                        return Err(Error::Conflict(
                            "one of these records has already been merged".into(),
                        ));
                    }
                    Opened::Denied { .. } => {
                        return Err(Error::Forbidden {
                            reason: "may not open both records".into(),
                        });
                    }
                }
            }
            Ok(out)
        })
    })
    .await?;
    let mut it = opened.into_iter();
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(WebError::Internal("both records were not returned".into())),
    }
}

fn postcode(p: &Person) -> String {
    p.postcode
        .as_ref()
        .map(|c| c.as_str().to_string())
        .unwrap_or_else(|| "Not known".into())
}

fn render_merge(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    (keep, merge): (&Person, &Person),
    form: FormState,
) -> Result<String, WebError> {
    let title = title_for(&form, "Merge two records");
    Ok(MergePage {
        layout: Layout::from_ctx(state, ctx, &title),
        keep: keep.id,
        merge: merge.id,
        keep_name: name(keep),
        keep_dob: dob(keep),
        keep_postcode: postcode(keep),
        merge_name: name(merge),
        merge_dob: dob(merge),
        merge_postcode: postcode(merge),
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

pub(crate) async fn merge_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<MergeQuery>,
) -> Result<Response, WebError> {
    let (keep, merge) = both(&state, &auth, q.keep, q.merge).await?;
    Ok(Html(render_merge(
        &state,
        ctx,
        &auth,
        (&keep, &merge),
        FormState::default(),
    )?)
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    pub keep: Uuid,
    pub merge: Uuid,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn merge(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<MergeForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let (keep, dup, reason) = (f.keep, f.merge, f.reason.clone());
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let reason = reason.clone();
        Box::pin(async move { dedupe::merge(&ctx, tx, &key, &actor, keep, dup, &reason).await })
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/children/{keep}?merged=1")).into_response()),
        Err(WebError::Domain(Error::Validation(errors))) => {
            let (a, b) = both(&state, &auth, keep, dup).await?;
            let form = FormState {
                values: BTreeMap::from([("reason".to_string(), f.reason)]),
                errors,
            };
            Ok(form_reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_merge(&state, ctx, &auth, (&a, &b), form)?,
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct UnmergeForm {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn unmerge(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(merge_id): Path<Uuid>,
    Form(f): Form<UnmergeForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let reason = f.reason;
    let m = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let reason = reason.clone();
        Box::pin(async move { dedupe::unmerge(&ctx, tx, &key, &actor, merge_id, &reason).await })
    })
    .await?;
    Ok(Redirect::to(&format!("/children/{}?unmerged=1", m.survivor_id)).into_response())
}

/// A merge as the record page lists it.
pub struct MergeLine {
    pub id: Uuid,
    pub duplicate_id: Uuid,
    pub when: String,
    pub reason: String,
}

pub fn merge_lines(merges: &[PersonMerge]) -> Vec<MergeLine> {
    merges
        .iter()
        .filter(|m| m.undone_at.is_none())
        .map(|m| MergeLine {
            id: m.id,
            duplicate_id: m.duplicate_id,
            when: crate::format::date_time(m.merged_at),
            reason: m.reason.clone(),
        })
        .collect()
}

// --- API ----------------------------------------------------------------------------------------

/// One likely pair of duplicate records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateDto {
    pub a: ChildDto,
    pub b: ChildDto,
    /// 0 to 1: how likely the two records are the same child.
    pub probability: f64,
    /// Each field's evidence: what was compared, and its weight (log2 of the Bayes factor).
    pub reasons: Vec<ReasonDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonDto {
    pub field: String,
    pub level: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicatesDto {
    pub pairs: Vec<DuplicateDto>,
    /// Likely duplicates involving a record the caller may not open (not named).
    pub hidden: usize,
}

/// The duplicate review: likely duplicates where the caller may open both records.
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "children", security(("bearer" = [])),
    responses(
        (status = 200, description = "Likely duplicates, most likely first", body = DuplicatesDto, content_type = "application/json"),
        (status = 403, description = "The caller's role does not read children's records", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_review(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let r = with_actor(&state, &c.user, None, true, |tx, ctx, key, actor| {
        Box::pin(async move { dedupe::review(&ctx, tx, &key, &actor).await })
    })
    .await?;
    let pairs = r
        .pairs
        .iter()
        .map(|p| DuplicateDto {
            a: ChildDto::from(&p.a),
            b: ChildDto::from(&p.b),
            probability: p.probability,
            reasons: p
                .reasons
                .iter()
                .map(|x| ReasonDto {
                    field: x.field.as_str().to_string(),
                    level: x.level.to_string(),
                    weight: x.weight,
                })
                .collect(),
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &DuplicatesDto {
            pairs,
            hidden: r.hidden,
        },
    ))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMergeDto {
    /// The record to keep.
    pub survivor_id: Uuid,
    /// The record folded into it.
    pub duplicate_id: Uuid,
    /// Why they are the same child (10 to 2,000 characters).
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeDto {
    /// Why the records are separated again (10 to 2,000 characters).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeDto {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub duplicate_id: Uuid,
    pub reason: String,
    pub undone: bool,
}

impl From<&PersonMerge> for MergeDto {
    fn from(m: &PersonMerge) -> Self {
        Self {
            id: m.id,
            survivor_id: m.survivor_id,
            duplicate_id: m.duplicate_id,
            reason: m.reason.clone(),
            undone: m.undone_at.is_some(),
        }
    }
}

/// Merge a duplicate record into the record kept. Needs the right to change both.
#[utoipa::path(post, path = "/api/v1/merges", tag = "children", security(("bearer" = [])),
    request_body(content = NewMergeDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Merged", body = MergeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change both records", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "A record is already merged", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Invalid input", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_merge(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NewMergeDto>,
) -> Result<Response, WebError> {
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let body = body.clone();
        Box::pin(async move {
            dedupe::merge(
                &ctx,
                tx,
                &key,
                &actor,
                body.survivor_id,
                body.duplicate_id,
                &body.reason,
            )
            .await
        })
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &MergeDto::from(&m)))
}

/// Undo a merge: the duplicate record comes back with exactly what it had.
#[utoipa::path(post, path = "/api/v1/merges/{id}/undo", tag = "children", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The merge's id")),
    request_body(content = UnmergeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Separated again", body = MergeDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change both records", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such merge", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already undone", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Invalid input", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_unmerge(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<UnmergeDto>,
) -> Result<Response, WebError> {
    let m = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let reason = body.reason.clone();
        Box::pin(async move { dedupe::unmerge(&ctx, tx, &key, &actor, id, &reason).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &MergeDto::from(&m)))
}
