//! Other names and identifiers on a child's record, in the browser and the API (issue 4):
//! aliases, street names, NHS number, UPN, PNC id, local ids, phones and handles, each checked
//! and stored in one canonical form by [`mace_domain::identifiers`].

use crate::AppState;
use crate::auth::{FormState, SignedIn, form_reply};
use crate::cases::{as_user, with_actor};
use crate::error::{WebError, json_response};
use crate::pages::{Layout, PageContext};
use crate::people::heading;
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mace_domain::Error;
use mace_domain::identifiers::{self, IdentifierKind, PersonIdentifier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One name or identifier as shown.
pub struct IdentifierRow {
    pub kind: &'static str,
    pub value: String,
}

pub(crate) fn rows(list: &[PersonIdentifier]) -> Vec<IdentifierRow> {
    list.iter()
        .map(|i| IdentifierRow {
            kind: i.kind.label(),
            value: i.value.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "children/identifier.html")]
pub struct IdentifierPage {
    pub layout: Layout,
    pub id: Uuid,
    pub child: String,
    /// The record's page (`/children/{id}` or `/people/{id}`).
    pub back: String,
    pub form: FormState,
    pub csrf: String,
}

impl IdentifierPage {
    fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        IdentifierKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(), self.form.value("kind") == k.as_str()))
            .collect()
    }
}

fn page(
    state: &AppState,
    ctx: PageContext,
    auth: &crate::auth::Auth,
    id: Uuid,
    (child, back): (String, String),
    form: FormState,
) -> Result<String, WebError> {
    let title = crate::auth::title_for(&form, "Add another name or identifier");
    Ok(IdentifierPage {
        layout: Layout::from_ctx(state, ctx, &title),
        id,
        child,
        back,
        form,
        csrf: auth.session.csrf_secret.clone(),
    }
    .render()?)
}

pub(crate) async fn form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    let head = heading(&state, &auth, id).await?;
    Ok(Html(page(&state, ctx, &auth, id, head, FormState::default())?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct IdentifierForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn add(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<IdentifierForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let kind = IdentifierKind::parse(f.kind.trim());
    let value = f.value.clone();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let value = value.clone();
        Box::pin(async move {
            identifiers::add_identifier(&ctx, tx, &key, &actor, id, kind, &value).await
        })
    })
    .await;
    match done {
        Ok(_) => {
            let (_, back) = heading(&state, &auth, id).await?;
            Ok(Redirect::to(&format!("{back}?identified=1#identifiers")).into_response())
        }
        Err(WebError::Domain(Error::Validation(errors))) => {
            let head = heading(&state, &auth, id).await?;
            let mut form = FormState {
                errors,
                ..FormState::default()
            };
            form.values.insert("kind".into(), f.kind.clone());
            form.values.insert("value".into(), f.value.clone());
            let html = page(&state, ctx, &auth, id, head, form)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(e) => Err(e),
    }
}

/// A name or identifier to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdentifierDto {
    /// `alias`, `street_name`, `nhs_number`, `upn`, `pnc`, `local_id`, `phone` or `handle`.
    pub kind: String,
    /// As typed: it is checked (NHS check digit, UPN check letter, PNC format, UK phone) and
    /// stored in one canonical form.
    pub value: String,
}

/// A name or identifier on a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentifierDto {
    pub id: Uuid,
    pub kind: String,
    pub value: String,
    pub organisation_id: Uuid,
}

impl From<&PersonIdentifier> for IdentifierDto {
    fn from(i: &PersonIdentifier) -> Self {
        Self {
            id: i.id,
            kind: i.kind.as_str().into(),
            value: i.value.clone(),
            organisation_id: i.org_id,
        }
    }
}

/// Add another name or identifier to a child's record (needs the right to change it).
#[utoipa::path(post, path = "/api/v1/children/{id}/identifiers", tag = "children",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The child's id")),
    request_body(content = NewIdentifierDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added, in its canonical form", body = IdentifierDto, content_type = "application/json"),
        (status = 403, description = "The caller may not change this record", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such child", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Not a valid value of that kind, or already on the record", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_add(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NewIdentifierDto>,
) -> Result<Response, WebError> {
    let kind = IdentifierKind::parse(body.kind.trim());
    let added = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let value = body.value.clone();
        Box::pin(async move {
            identifiers::add_identifier(&ctx, tx, &key, &actor, id, kind, &value).await
        })
    })
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &IdentifierDto::from(&added),
    ))
}
