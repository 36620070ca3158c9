//! API tokens: bearer authentication for `/api/v1`, the `/api/v1/me` endpoint, and the pages
//! where a signed-in user creates, lists and revokes their own tokens (issue 3, AUTH-10).
//!
//! The API never reads cookies. A request with `Authorization: Bearer mace_…` acts as the
//! token's user; a token without the `write` scope may only use GET and HEAD.

use crate::AppState;
use crate::auth::{Auth, ClientAddr, FormState, SignedIn, form_reply};
use crate::error::{WebError, json_response};
use crate::format;
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use mace_domain::identity::model::{ApiToken, TokenScope, User};
use mace_domain::identity::tokens::{self, NewToken};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller of an API request: a live token and its active user.
#[derive(Debug, Clone)]
pub struct ApiAuth {
    pub token: ApiToken,
    pub user: User,
}

/// Extractor for API handlers that need a caller; answers 401 otherwise.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub ApiAuth);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ApiAuth>()
            .cloned()
            .map(ApiCaller)
            .ok_or_else(unauthorised)
    }
}

fn unauthorised() -> Response {
    let mut res = WebError::Unauthorised.into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mace\""),
    );
    res
}

/// Resolve the bearer token of an API request, if it sends one. A token that is unknown,
/// expired or revoked is refused outright (401) rather than treated as anonymous; a read-only
/// token attempting a change gets 403.
pub(crate) async fn bearer(state: &AppState, req: &mut Request) -> Result<(), Response> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(());
    };
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string)
        .ok_or_else(unauthorised)?;
    let ctx = state.ctx.clone();
    let found = state
        .store
        .read(|tx| Box::pin(async move { tokens::resolve(&ctx, tx, &secret).await }))
        .await
        .map_err(|e| WebError::from(e).into_response())?;
    let Some((token, user)) = found else {
        return Err(unauthorised());
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        && !token.scopes.contains(&TokenScope::Write)
    {
        return Err(WebError::Domain(mace_domain::Error::Forbidden {
            reason: "token lacks the write scope".into(),
        })
        .into_response());
    }
    if tokens::needs_touch(&state.ctx, &token) {
        let (ctx, id) = (state.ctx.clone(), token.id);
        state
            .store
            .write(|tx| {
                let ctx = ctx.clone();
                Box::pin(async move {
                    mace_domain::ports::SessionRepo::touch_api_token(tx, id, ctx.clock.now()).await
                })
            })
            .await
            .map_err(|e| WebError::from(e).into_response())?;
    }
    req.extensions_mut().insert(ApiAuth { token, user });
    Ok(())
}

/// Who the caller is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub organisation_id: Uuid,
    /// Role codes, such as `designated_safeguarding_lead`.
    pub roles: Vec<String>,
    pub token: TokenInfo,
}

/// The token the request was made with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// `read`, and `write` if it may change things.
    pub scopes: Vec<String>,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// The signed-in caller and the token in use.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse, content_type = "application/json"),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = crate::error::ErrorBody,
         content_type = "application/json"),
    )
)]
pub(crate) async fn me(ApiCaller(c): ApiCaller) -> Response {
    let rfc3339 = c
        .token
        .expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json_response(
        StatusCode::OK,
        &MeResponse {
            id: c.user.id,
            display_name: c.user.display_name.clone(),
            email: c.user.email.as_str().to_string(),
            organisation_id: c.user.org_id,
            roles: c
                .user
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            token: TokenInfo {
                id: c.token.id,
                name: c.token.name.clone(),
                scopes: c
                    .token
                    .scopes
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                expires_at: rfc3339,
            },
        },
    )
}

// --- pages ------------------------------------------------------------------------------------

/// One row of the tokens table.
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "auth/tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    pub rows: Vec<TokenRow>,
    pub form: FormState,
    pub csrf: String,
    /// The secret of a token just created, shown once.
    pub created: Option<(String, String)>,
    pub notice: Option<&'static str>,
}

impl TokensPage {
    fn scope_checked(&self, scope: &str) -> bool {
        self.form.values.contains_key(&format!("scope_{scope}"))
    }
    fn days_selected(&self, days: &str) -> bool {
        let chosen = self.form.value("days");
        if chosen.is_empty() {
            days == "30"
        } else {
            chosen == days
        }
    }
}

async fn rows(state: &AppState, user: Uuid) -> Result<Vec<TokenRow>, WebError> {
    let list = state
        .store
        .read(|tx| {
            Box::pin(
                async move { mace_domain::ports::SessionRepo::list_api_tokens(tx, user).await },
            )
        })
        .await?;
    let now = state.ctx.clock.now();
    Ok(list
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            live: t.live(now),
            status: if t.revoked_at.is_some() {
                "Revoked"
            } else if t.live(now) {
                "Active"
            } else {
                "Expired"
            },
            name: t.name,
            scopes: t
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: format::date_time(t.created_at),
            expires: format::date(t.expires_at),
            last_used: t
                .last_used_at
                .map(format::date_time)
                .unwrap_or_else(|| "Never".into()),
        })
        .collect())
}

async fn render(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    created: Option<(String, String)>,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let title = if form.has_errors() {
        "Error: API tokens"
    } else {
        "API tokens"
    };
    Ok(TokensPage {
        layout: Layout::from_ctx(state, ctx, title),
        rows: rows(state, auth.user.id).await?,
        form,
        csrf: auth.session.csrf_secret.clone(),
        created,
        notice,
    }
    .render()?)
}

#[derive(Debug, Deserialize, Default)]
pub struct TokensQuery {
    pub revoked: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    axum::extract::Query(q): axum::extract::Query<TokensQuery>,
) -> Result<Response, WebError> {
    let notice = q
        .revoked
        .is_some()
        .then_some("The token has been revoked. It no longer works.");
    Ok(Html(render(&state, ctx, &auth, FormState::default(), None, notice).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scope_read: Option<String>,
    #[serde(default)]
    pub scope_write: Option<String>,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    _addr: ClientAddr,
    Form(f): Form<CreateForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut scopes = Vec::new();
    if f.scope_read.is_some() {
        scopes.push(TokenScope::Read);
    }
    if f.scope_write.is_some() {
        // Writing implies reading what you wrote.
        scopes.extend([TokenScope::Read, TokenScope::Write]);
    }
    let new = NewToken {
        name: f.name.clone(),
        scopes,
        days: f.days.trim().parse().unwrap_or(0),
    };
    let (c, k) = (state.ctx.clone(), state.audit_key.clone());
    let outcome = state
        .store
        .write(|tx| {
            let (c, k, u, n) = (c.clone(), k.clone(), auth.user.clone(), new.clone());
            Box::pin(async move { tokens::create(&c, tx, &k, &u, &n).await })
        })
        .await;
    match outcome {
        Ok((token, secret)) => {
            let html = render(
                &state,
                ctx,
                &auth,
                FormState::default(),
                Some((token.name, secret)),
                None,
            )
            .await?;
            Ok(Html(html).into_response())
        }
        Err(mace_domain::Error::Validation(errors)) => {
            let mut form = FormState {
                errors,
                ..FormState::default()
            };
            form.values.insert("name".into(), f.name.clone());
            form.values.insert("days".into(), f.days.clone());
            if f.scope_read.is_some() {
                form.values.insert("scope_read".into(), "yes".into());
            }
            if f.scope_write.is_some() {
                form.values.insert("scope_write".into(), "yes".into());
            }
            Ok(form_reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&state, ctx, &auth, form, None, None).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    pub csrf_token: String,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let (c, k) = (state.ctx.clone(), state.audit_key.clone());
    state
        .store
        .write(|tx| {
            let (c, k, u) = (c.clone(), k.clone(), auth.user.clone());
            Box::pin(async move { tokens::revoke(&c, tx, &k, &u, id).await })
        })
        .await?;
    Ok(Redirect::to("/account/tokens?revoked=1").into_response())
}
