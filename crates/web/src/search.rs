//! Search in the browser and the API: children by name and full text over concerns and
//! chronology notes, each filtered inside the query by what the viewer may see (see
//! [`mace_domain::search`]). The words are POSTed, never put in a URL (DATA-02).

use crate::AppState;
use crate::auth::{FormState, SignedIn, form_reply};
use crate::cases::{ChildRow, as_user, with_actor};
use crate::cases_api::ChildDto;
use crate::error::{WebError, json_response};
use crate::format;
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json};
use mace_domain::Error;
use mace_domain::search::{self, HitKind, SearchHit, SearchResults};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One hit as shown.
pub struct HitRow {
    pub kind: &'static str,
    pub href: String,
    pub child: String,
    pub when: String,
    pub snippet: String,
}

fn hit_row(h: &SearchHit) -> HitRow {
    HitRow {
        kind: match h.kind {
            HitKind::Concern => "Concern",
            HitKind::Note => "Chronology note",
        },
        href: match h.kind {
            HitKind::Concern => format!("/concerns/{}", h.id),
            HitKind::Note => format!("/children/{}#entry-{}", h.person_id, h.id),
        },
        child: h.child_name.clone(),
        when: format::date_time(h.at),
        snippet: h.snippet.clone(),
    }
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    /// `None` before a search.
    pub children: Option<Vec<ChildRow>>,
    pub hits: Vec<HitRow>,
}

fn render(
    state: &AppState,
    ctx: PageContext,
    auth: &crate::auth::Auth,
    form: FormState,
    found: Option<SearchResults>,
) -> Result<String, WebError> {
    let title = crate::auth::title_for(&form, "Search");
    let (children, hits) = match found {
        Some(r) => (
            Some(r.children.iter().map(|p| ChildRow::of(state, p)).collect()),
            r.hits.iter().map(hit_row).collect(),
        ),
        None => (None, Vec::new()),
    };
    Ok(SearchPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        children,
        hits,
    }
    .render()?)
}

pub(crate) async fn form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    Ok(Html(render(&state, ctx, &auth, FormState::default(), None)?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn run(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<SearchForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::default();
    form.values.insert("q".into(), f.q.clone());
    let q = f.q.clone();
    let found = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let q = q.clone();
        Box::pin(async move { search::search(&ctx, tx, &key, &actor, &q).await })
    })
    .await;
    match found {
        Ok(r) => Ok(Html(render(&state, ctx, &auth, form, Some(r))?).into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors = errs;
            let html = render(&state, ctx, &auth, form, None)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

/// What to search for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// Words (up to 8 are used; punctuation is ignored). Every word must occur.
    pub q: String,
}

/// One place the words were found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitDto {
    /// `concern` or `note` (a chronology entry).
    pub kind: String,
    /// The concern's id, or the chronology entry's.
    pub id: Uuid,
    pub person_id: Uuid,
    pub child_name: String,
    /// When (RFC 3339).
    pub at: String,
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Children the caller may see whose first or last name starts with the first word.
    pub children: Vec<ChildDto>,
    pub hits: Vec<HitDto>,
}

/// Search children by name and concerns and chronology notes by their words, inside what the
/// caller may see.
#[utoipa::path(post, path = "/api/v1/search", tag = "children", security(("bearer" = [])),
    request_body(content = SearchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What the caller may see that matches", body = SearchResponse, content_type = "application/json"),
        (status = 422, description = "Nothing to search for, or too long", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<SearchRequest>,
) -> Result<Response, WebError> {
    let found = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let q = body.q.clone();
        Box::pin(async move { search::search(&ctx, tx, &key, &actor, &q).await })
    })
    .await?;
    Ok(json_response(
        StatusCode::OK,
        &SearchResponse {
            children: found.children.iter().map(ChildDto::from).collect(),
            hits: found
                .hits
                .iter()
                .map(|h| HitDto {
                    kind: match h.kind {
                        HitKind::Concern => "concern".into(),
                        HitKind::Note => "note".into(),
                    },
                    id: h.id,
                    person_id: h.person_id,
                    child_name: h.child_name.clone(),
                    at: crate::cases_api::rfc3339(h.at),
                    snippet: h.snippet.clone(),
                })
                .collect(),
        },
    ))
}
