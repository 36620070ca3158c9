//! A child's chronology beyond the record page itself: the filters (type, agency, dates), the
//! rows as shown with their corrections, and adding a correction (an addendum: what was first
//! recorded is never changed). Browser pages and the JSON API both end in
//! [`cases::add_addendum`], which decides and audits.

use crate::AppState;
use crate::auth::{FormState, SignedIn, form_reply};
use crate::cases::{RecordQuery, as_user, kind_label, name, with_actor};
use crate::cases_api::ChronologyDto;
use crate::error::WebError;
use crate::format;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::Error;
use mace_domain::cases::{self, ChronologyEntry, ChronologyFilter, ChronologyItem, Opened};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The filter the record page's query asks for, and the date boxes as typed (with an error
/// where a date is not a real one; that end of the range is then left open).
pub(crate) fn filter(q: &RecordQuery) -> (ChronologyFilter, FormState) {
    let mut form = FormState::default();
    let mut date = |prefix: &str, d: &str, m: &str, y: &str, what: &str| {
        for (part, v) in [("day", d), ("month", m), ("year", y)] {
            form.values
                .insert(format!("{prefix}-{part}"), v.to_string());
        }
        match format::date_input(d, m, y, what) {
            Ok(v) => v,
            Err(message) => {
                form.errors.push(mace_domain::FieldError::new(
                    format!("{prefix}-day"),
                    message,
                ));
                None
            }
        }
    };
    let from = date(
        "from",
        &q.from_day,
        &q.from_month,
        &q.from_year,
        "The ‘from’ date",
    );
    let to = date("to", &q.to_day, &q.to_month, &q.to_year, "The ‘to’ date");
    let f = ChronologyFilter {
        kind: q.kind.clone(),
        agency: q.agency,
        from,
        to,
    };
    (f, form)
}

/// A correction as shown under the entry it corrects.
pub struct AddendumRow {
    pub recorded: String,
    pub agency: String,
    pub text: String,
}

/// One line of the chronology as shown.
pub struct ChronologyRow {
    pub id: Uuid,
    pub when: String,
    pub recorded: String,
    pub kind: &'static str,
    pub agency: String,
    pub summary: String,
    pub link: Option<String>,
    pub addenda: Vec<AddendumRow>,
}

pub(crate) fn row(orgs: &HashMap<Uuid, String>, item: ChronologyItem<'_>) -> ChronologyRow {
    let agency = |id: &Uuid| orgs.get(id).cloned().unwrap_or_default();
    let e = item.entry;
    ChronologyRow {
        id: e.id,
        when: format::date_time(e.event_at),
        recorded: format::date_time(e.recorded_at),
        kind: kind_label(&e.kind),
        agency: agency(&e.org_id),
        summary: e.summary.clone(),
        link: matches!(e.kind.as_str(), "concern" | "triage")
            .then(|| format!("/concerns/{}", e.source_id)),
        addenda: item
            .addenda
            .iter()
            .map(|a| AddendumRow {
                recorded: format::date_time(a.recorded_at),
                agency: agency(&a.org_id),
                text: a.summary.clone(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "children/correct.html")]
pub struct CorrectPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child: String,
    pub entry: ChronologyRow,
    pub form: FormState,
    pub csrf: String,
}

/// The entry to correct, with its corrections so far, as the viewer may see it (opening it is
/// a view of the record, audited; a refusal or an entry out of sight is "not found").
async fn entry_to_correct(
    state: &AppState,
    auth: &crate::auth::Auth,
    id: Uuid,
    entry_id: Uuid,
) -> Result<(String, ChronologyRow), WebError> {
    let (opened, orgs) = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            use mace_domain::ports::IdentityRepo;
            let o = cases::open_record(&ctx, tx, &key, &actor, id).await?;
            Ok((o, tx.list_orgs().await?))
        })
    })
    .await?;
    let Opened::Allowed {
        person, chronology, ..
    } = opened
    else {
        return Err(WebError::NotFound);
    };
    let orgs: HashMap<Uuid, String> = orgs.into_iter().map(|o| (o.id, o.name)).collect();
    let item = ChronologyFilter::default()
        .apply(&chronology, |t| format::uk(t).date())
        .into_iter()
        .find(|i| i.entry.id == entry_id)
        .ok_or(WebError::NotFound)?;
    Ok((name(&person), row(&orgs, item)))
}

/// The correction page for one entry, with what was typed and any errors.
async fn render_correct(
    state: &AppState,
    ctx: PageContext,
    auth: &crate::auth::Auth,
    id: Uuid,
    entry_id: Uuid,
    form: FormState,
) -> Result<String, WebError> {
    let (child, entry) = entry_to_correct(state, auth, id, entry_id).await?;
    let title = crate::auth::title_for(&form, "Add a correction");
    Ok(CorrectPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        child,
        entry,
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

pub(crate) async fn correct_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((id, entry_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, WebError> {
    let html = render_correct(&state, ctx, &auth, id, entry_id, FormState::default()).await?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CorrectForm {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn correct(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path((id, entry_id)): Path<(Uuid, Uuid)>,
    Form(f): Form<CorrectForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let text = f.text.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let text = text.clone();
        Box::pin(
            async move { cases::add_addendum(&ctx, tx, &key, &actor, id, entry_id, &text).await },
        )
    })
    .await;
    match done {
        Ok(a) => Ok(
            Redirect::to(&format!("/children/{id}?corrected=1#entry-{}", a.source_id))
                .into_response(),
        ),
        Err(WebError::Domain(Error::Validation(errors))) => {
            let mut form = FormState {
                errors,
                ..FormState::default()
            };
            form.values.insert("text".into(), f.text.clone());
            let html = render_correct(&state, ctx, &auth, id, entry_id, form).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

/// A correction to one chronology entry.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddendumDto {
    /// What was wrong and what is right (10 to 5,000 characters).
    pub text: String,
}

/// Add a correction (an addendum) to one entry of a child's chronology. The entry itself is
/// never changed; the correction is shown beside it, to whoever may see the entry.
#[utoipa::path(post, path = "/api/v1/children/{id}/chronology/{entry_id}/addenda", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id"), ("entry_id" = Uuid, Path, description = "The entry to correct")),
    request_body(content = NewAddendumDto, content_type = "application/json"),
    responses(
        (status = 201, description = "The correction, as a chronology entry of kind `addendum` whose `source_id` is the corrected entry", body = ChronologyDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child or entry the caller may see", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "The correction is too short or too long", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path((id, entry_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<NewAddendumDto>,
) -> Result<Response, WebError> {
    let added: ChronologyEntry =
        with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
            let text = body.text.clone();
            Box::pin(async move {
                cases::add_addendum(&ctx, tx, &key, &actor, id, entry_id, &text).await
            })
        })
        .await?;
    Ok(crate::error::json_response(
        StatusCode::CREATED,
        &ChronologyDto::from(&added),
    ))
}
