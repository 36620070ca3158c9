//! Signing in and out, the second factor, sessions, password change and CSRF (issue 3; the
//! security guide's AUTH-*, SESS-* and CSRF items).
//!
//! - A session lives in the database; the browser holds only an opaque 256-bit token in the
//!   `__Host-mace_session` cookie (Secure, HttpOnly, SameSite=Lax, Path=/). Only its SHA-256 is
//!   stored. The token rotates on every step up (password accepted, second factor accepted,
//!   password changed).
//! - Before sign-in there is no session: the sign-in form is protected by a signed
//!   double-submit cookie (`__Host-mace_pre`, a random nonce, and a form token that is a MAC of
//!   it under a key derived from the instance key), so bots fetching the form store nothing.
//! - Every state-changing form carries a CSRF token checked in constant time against the
//!   session's secret, and [`session_context`] refuses cross-site unsafe requests by
//!   `Sec-Fetch-Site` / `Origin` before any handler runs.
//! - Argon2id runs on the blocking pool behind a small semaphore, outside any transaction.

use crate::AppState;
use crate::error::{WebError, keep_body};
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use mace_domain::FieldError;
use mace_domain::identity::model::{Session, SessionStage, User};
use mace_domain::identity::service::{self, Origin, SignIn};
use mace_domain::identity::{password, totp};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use tokio::sync::Semaphore;

pub const SESSION_COOKIE: &str = "__Host-mace_session";
pub const PRE_COOKIE: &str = "__Host-mace_pre";

/// At most this many Argon2id computations at once (each takes 19 MiB and tens of milliseconds),
/// so a burst of sign-ins queues instead of exhausting memory (AUTH-02).
static HASHING: Semaphore = Semaphore::const_new(4);

/// Run a password hash or check on the blocking pool, bounded by [`HASHING`].
pub async fn hashing<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|_| WebError::Internal("the hashing semaphore is closed".into()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| WebError::Internal("a password hashing task failed".into()))
}

/// The signed-in person, resolved once per request by [`session_context`].
#[derive(Debug, Clone)]
pub struct Auth {
    pub session: Session,
    pub user: User,
}

impl Auth {
    pub fn full(&self) -> bool {
        self.session.stage == SessionStage::Full
    }

    /// Check a submitted CSRF token against the session's secret.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if service::same_secret(submitted, &self.session.csrf_secret) {
            Ok(())
        } else {
            Err(WebError::Domain(mace_domain::Error::Forbidden {
                reason: "csrf token mismatch".into(),
            }))
        }
    }
}

/// The request's [`Auth`], if any: inserted by [`session_context`] on every request.
#[derive(Debug, Clone, Default)]
pub struct MaybeAuth(pub Option<Auth>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<MaybeAuth>()
            .cloned()
            .unwrap_or_default())
    }
}

/// A fully signed-in user (password and second factor). Pages redirect to sign-in otherwise;
/// the API answers 401.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Auth);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let auth = parts
            .extensions
            .get::<MaybeAuth>()
            .and_then(|m| m.0.clone());
        match auth {
            Some(a) if a.full() => Ok(SignedIn(a)),
            _ if crate::error::is_api_path(parts.uri.path()) => {
                Err(WebError::Unauthorised.into_response())
            }
            Some(_) => Err(
                Redirect::to(&format!("/mfa/verify?next={}", encode_next(parts))).into_response(),
            ),
            None => {
                Err(Redirect::to(&format!("/sign-in?next={}", encode_next(parts))).into_response())
            }
        }
    }
}

/// A user whose password was accepted and whose second factor is still due.
#[derive(Debug, Clone)]
pub struct Pending(pub Auth);

impl<S: Send + Sync> FromRequestParts<S> for Pending {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<MaybeAuth>()
            .and_then(|m| m.0.clone())
        {
            Some(a) if a.session.stage == SessionStage::PasswordOk => Ok(Pending(a)),
            Some(_) => Err(Redirect::to("/").into_response()),
            None => Err(Redirect::to("/sign-in").into_response()),
        }
    }
}

/// The client's address, for throttling and audit. mace takes the socket's peer address; behind
/// a reverse proxy every client shares the proxy's address (see ARCHITECTURE.md).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

impl ClientAddr {
    pub fn origin(&self) -> Origin {
        Origin {
            addr: self.0.clone(),
        }
    }
}

fn encode_next(parts: &Parts) -> String {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    percent_encode(target)
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: a path on this site only (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && n.len() <= 1000 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

fn set_cookie(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Replace the session cookie (after a step-up rotated the session).
pub(crate) fn with_session_cookie(res: Response, token: &str) -> Response {
    with_cookies(res, &[set_cookie(SESSION_COOKIE, token)])
}

fn with_cookies(mut res: Response, cookies: &[HeaderValue]) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    res
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuse cross-site state-changing requests (CSRF defence in depth, before any token check):
/// a browser's `Sec-Fetch-Site` must be same-origin (or none: typed by the user), and an
/// `Origin`, when sent, must be this host.
fn cross_site(req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = h
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return origin != format!("https://{host}") && origin != format!("http://{host}");
    }
    false
}

/// Middleware: the cross-site guard, then the session for the request's cookie, if live, as a
/// [`MaybeAuth`] extension. The API ignores cookies: it authenticates bearer tokens only.
pub(crate) async fn session_context(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if path.starts_with("/assets/") || path == "/healthz" || path == "/readyz" {
        return next.run(req).await;
    }
    let api = crate::error::is_api_path(path);
    if !api && unsafe_method(req.method()) && cross_site(&req) {
        tracing::info!("refused a cross-site state-changing request");
        return WebError::Domain(mace_domain::Error::Forbidden {
            reason: "cross-site request".into(),
        })
        .into_response();
    }
    if api {
        if let Err(res) = crate::tokens::bearer(&state, &mut req).await {
            return res;
        }
        return next.run(req).await;
    }
    let mut auth = MaybeAuth(None);
    if let Some(token) = cookie(req.headers(), SESSION_COOKIE) {
        match lookup(&state, token).await {
            Ok(a) => auth = MaybeAuth(a),
            Err(e) => return e.into_response(),
        }
    }
    // An account made by an administrator starts with a temporary password: nothing else opens
    // until it is replaced.
    if auth
        .0
        .as_ref()
        .is_some_and(crate::admin::must_change_password)
        && !crate::admin::allowed_with_temporary_password(req.uri().path())
    {
        return Redirect::to("/account/password").into_response();
    }
    req.extensions_mut().insert(auth);
    next.run(req).await
}

async fn lookup(state: &AppState, token: String) -> Result<Option<Auth>, WebError> {
    let (ctx, policy) = (state.ctx.clone(), state.settings.session_policy);
    let found = state
        .store
        .read(|tx| Box::pin(async move { service::resolve(&ctx, tx, &token, policy).await }))
        .await?;
    let Some((session, Some(user))) = found else {
        return Ok(None);
    };
    if service::needs_touch(&state.ctx, &session) {
        let (ctx, s) = (state.ctx.clone(), session.clone());
        state
            .store
            .write(|tx| {
                let (ctx, s) = (ctx.clone(), s.clone());
                Box::pin(async move { service::touch(&ctx, tx, &s).await })
            })
            .await?;
    }
    Ok(Some(Auth { session, user }))
}

// ------------------------------------------------------------------------------------------
// Forms

/// A form's submitted values and its errors, for re-rendering with the GOV.UK error pattern.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
}

impl FormState {
    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
    /// A form re-shown with what was typed (trimmed).
    pub(crate) fn kept(pairs: &[(&str, &str)]) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            f.values.insert((*k).into(), v.trim().to_string());
        }
        f
    }
    /// A GOV.UK date input's three boxes (`<prefix>-day`, `-month`, `-year`): blank is `None`;
    /// an impossible date, or one after `latest`, is an error on `<prefix>-day`.
    pub(crate) fn date(
        &mut self,
        prefix: &str,
        (day, month, year): (&str, &str, &str),
        label: &str,
        latest: Option<(time::Date, &str)>,
    ) -> Option<time::Date> {
        let field = format!("{prefix}-day");
        match crate::format::date_input(day, month, year, label) {
            Ok(Some(d)) if latest.is_some_and(|(l, _)| d > l) => {
                let message = latest.map(|(_, m)| m).unwrap_or_default();
                self.errors.push(FieldError::new(&field, message));
                None
            }
            Ok(d) => d,
            Err(msg) => {
                self.errors.push(FieldError::new(&field, msg));
                None
            }
        }
    }
    fn with(mut self, field: &str, value: &str) -> Self {
        self.values.insert(field.into(), value.into());
        self
    }
    fn err(mut self, field: &str, message: &str) -> Self {
        self.errors.push(FieldError::new(field, message));
        self
    }
}

/// A page re-rendered with errors: its status, and a body the error middleware keeps.
pub(crate) fn form_reply(status: StatusCode, html: String) -> Response {
    keep_body((status, Html(html)).into_response())
}

/// A page: 200 as it is, or re-rendered with errors at `status` (see [`form_reply`]).
pub(crate) fn page_reply(status: StatusCode, html: String) -> Response {
    if status == StatusCode::OK {
        Html(html).into_response()
    } else {
        form_reply(status, html)
    }
}

pub(crate) fn title_for(form: &FormState, title: &str) -> String {
    if form.has_errors() {
        format!("Error: {title}")
    } else {
        title.to_string()
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

// --- sign in -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    pub next: String,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub next: String,
}

fn render_sign_in(
    state: &AppState,
    ctx: PageContext,
    form: FormState,
    nonce: &str,
    next: &str,
) -> Result<String, WebError> {
    let title = title_for(&form, "Sign in");
    Ok(SignInPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: service::pre_sign_in_token(&state.audit_key, nonce),
        next: next.to_string(),
    }
    .render()?)
}

pub(crate) async fn sign_in_form(
    State(state): State<AppState>,
    ctx: PageContext,
    MaybeAuth(auth): MaybeAuth,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if auth.as_ref().is_some_and(Auth::full) {
        return Ok(Redirect::to(&next).into_response());
    }
    let (nonce, fresh) = match cookie(&headers, PRE_COOKIE) {
        Some(n) => (n, false),
        None => (service::random_token()?, true),
    };
    let html = render_sign_in(&state, ctx, FormState::default(), &nonce, &next)?;
    let res = Html(html).into_response();
    Ok(if fresh {
        with_cookies(res, &[set_cookie(PRE_COOKIE, &nonce)])
    } else {
        res
    })
}

pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ctx: PageContext,
    addr: ClientAddr,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Result<Response, WebError> {
    let next = safe_next(Some(&f.next));
    let Some(nonce) = cookie(&headers, PRE_COOKIE).filter(|n| {
        service::same_secret(
            &service::pre_sign_in_token(&state.audit_key, n),
            &f.csrf_token,
        )
    }) else {
        return Err(WebError::Domain(mace_domain::Error::Forbidden {
            reason: "sign-in csrf token mismatch".into(),
        }));
    };
    let mut form = FormState::default().with("email", f.email.trim());
    if f.email.trim().is_empty() {
        form = form.err("email", "Enter your email address");
    }
    if f.password.is_empty() {
        form = form.err("password", "Enter your password");
    }
    if form.has_errors() {
        let html = render_sign_in(&state, ctx, form, &nonce, &next)?;
        return Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html));
    }
    let origin = addr.origin();
    let (c, e, o) = (state.ctx.clone(), f.email.clone(), origin.clone());
    let wait = state
        .store
        .read(|tx| Box::pin(async move { service::throttled(&c, tx, &e, &o).await }))
        .await?;
    if let Some(secs) = wait {
        let minutes = (secs + 59) / 60;
        let msg = format!(
            "There have been too many attempts to sign in. Wait {minutes} minute{} and try again",
            if minutes == 1 { "" } else { "s" }
        );
        let html = render_sign_in(&state, ctx, form.err("email", &msg), &nonce, &next)?;
        return Ok(form_reply(StatusCode::TOO_MANY_REQUESTS, html));
    }
    let e = f.email.clone();
    let user = state
        .store
        .read(|tx| Box::pin(async move { service::lookup_for_sign_in(tx, &e).await }))
        .await?;
    let params = state.settings.hash_params;
    let (pw, stored) = (
        f.password.clone(),
        user.as_ref().and_then(|u| u.password_hash.clone()),
    );
    let verdict = hashing(move || match stored {
        Some(h) => password::verify(&pw, &h, params),
        None => {
            password::verify_dummy(&pw, params);
            password::Verified::No
        }
    })
    .await?;
    let (ok, rehash) = match verdict {
        password::Verified::No => (false, None),
        password::Verified::Yes => (true, None),
        password::Verified::YesRehash(h) => (true, Some(h)),
    };
    let outcome = {
        let (c, k, e) = (state.ctx.clone(), state.audit_key.clone(), f.email.clone());
        state
            .store
            .write(|tx| {
                let (c, k, e, u, r, o) = (
                    c.clone(),
                    k.clone(),
                    e.clone(),
                    user.clone(),
                    rehash.clone(),
                    origin.clone(),
                );
                Box::pin(async move {
                    service::finish_sign_in(&c, tx, &k, &e, u, ok, r, None, &o).await
                })
            })
            .await?
    };
    match outcome {
        SignIn::Accepted(issued) => {
            let step = if user.as_ref().is_some_and(User::mfa_enrolled) {
                "verify"
            } else {
                "enrol"
            };
            let res = Redirect::to(&format!("/mfa/{step}?next={}", percent_encode(&next)))
                .into_response();
            Ok(with_cookies(
                res,
                &[
                    set_cookie(SESSION_COOKIE, &issued.token),
                    clear_cookie(PRE_COOKIE),
                ],
            ))
        }
        SignIn::Refused => {
            let form = form.err("email", "Enter a correct email address and password");
            let html = render_sign_in(&state, ctx, form, &nonce, &next)?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
    }
}

// --- second factor ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/mfa_enrol.html")]
pub struct EnrolPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    pub next: String,
    /// The secret in groups of four, for typing into an authenticator app.
    pub key_groups: Vec<String>,
    pub uri: String,
}

#[derive(Template)]
#[template(path = "auth/mfa_verify.html")]
pub struct VerifyPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    pub next: String,
}

#[derive(Template)]
#[template(path = "auth/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub next: String,
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub next: String,
}

async fn render_enrol(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    next: &str,
) -> Result<String, WebError> {
    let (c, mut user) = (state.ctx.clone(), auth.user.clone());
    let secret = state
        .store
        .write(|tx| {
            let (c, mut u) = (c.clone(), user.clone());
            Box::pin(async move { service::begin_enrolment(&c, tx, &mut u).await })
        })
        .await?;
    user.totp_secret = Some(secret.clone());
    let encoded = totp::encode_secret(&secret);
    let key_groups = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let title = title_for(&form, "Set up your authenticator app");
    Ok(EnrolPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        next: next.to_string(),
        key_groups,
        uri: totp::otpauth_uri(&state.settings.service_name, user.email.as_str(), &secret),
    }
    .render()?)
}

pub(crate) async fn enrol_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Pending(auth): Pending,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if auth.user.mfa_enrolled() {
        return Ok(
            Redirect::to(&format!("/mfa/verify?next={}", percent_encode(&next))).into_response(),
        );
    }
    Ok(Html(render_enrol(&state, ctx, &auth, FormState::default(), &next).await?).into_response())
}

/// Refuse a second-factor attempt while the account or address is throttled.
pub(crate) async fn mfa_wait(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
) -> Result<Option<String>, WebError> {
    let (c, e, o) = (
        state.ctx.clone(),
        auth.user.email.as_str().to_string(),
        origin.clone(),
    );
    let wait = state
        .store
        .read(|tx| Box::pin(async move { service::throttled(&c, tx, &e, &o).await }))
        .await?;
    Ok(wait.map(|secs| {
        let minutes = (secs + 59) / 60;
        format!(
            "There have been too many attempts. Wait {minutes} minute{} and try again",
            if minutes == 1 { "" } else { "s" }
        )
    }))
}

pub(crate) async fn enrol(
    State(state): State<AppState>,
    ctx: PageContext,
    Pending(auth): Pending,
    addr: ClientAddr,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let next = safe_next(Some(&f.next));
    let origin = addr.origin();
    if let Some(msg) = mfa_wait(&state, &auth, &origin).await? {
        let html = render_enrol(
            &state,
            ctx,
            &auth,
            FormState::default().err("code", &msg),
            &next,
        )
        .await?;
        return Ok(form_reply(StatusCode::TOO_MANY_REQUESTS, html));
    }
    let (c, k) = (state.ctx.clone(), state.audit_key.clone());
    let done = state
        .store
        .write(|tx| {
            let (c, k, s, u, code, o) = (
                c.clone(),
                k.clone(),
                auth.session.clone(),
                auth.user.clone(),
                f.code.clone(),
                origin.clone(),
            );
            Box::pin(async move { service::confirm_enrolment(&c, tx, &k, &s, u, &code, &o).await })
        })
        .await?;
    match done {
        Some(sf) => {
            let page = RecoveryCodesPage {
                layout: Layout::from_ctx(&state, ctx, "Save your recovery codes"),
                codes: sf.recovery_codes,
                next,
            };
            Ok(with_cookies(
                Html(page.render()?).into_response(),
                &[set_cookie(SESSION_COOKIE, &sf.issued.token)],
            ))
        }
        None => {
            let form = FormState::default().err(
                "code",
                "Enter the 6-digit code shown in your authenticator app",
            );
            let html = render_enrol(&state, ctx, &auth, form, &next).await?;
            Ok(form_reply(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
    }
}

fn render_verify(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
    next: &str,
) -> Result<String, WebError> {
    let title = title_for(&form, "Enter your security code");
    Ok(VerifyPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        next: next.to_string(),
    }
    .render()?)
}

pub(crate) async fn verify_form(
    State(state): State<AppState>,
    ctx: PageContext,
    Pending(auth): Pending,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if !auth.user.mfa_enrolled() {
        return Ok(
            Redirect::to(&format!("/mfa/enrol?next={}", percent_encode(&next))).into_response(),
        );
    }
    Ok(Html(render_verify(
        &state,
        ctx,
        &auth,
        FormState::default(),
        &next,
    )?)
    .into_response())
}

pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: PageContext,
    Pending(auth): Pending,
    addr: ClientAddr,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let next = safe_next(Some(&f.next));
    let origin = addr.origin();
    if let Some(msg) = mfa_wait(&state, &auth, &origin).await? {
        let html = render_verify(
            &state,
            ctx,
            &auth,
            FormState::default().err("code", &msg),
            &next,
        )?;
        return Ok(form_reply(StatusCode::TOO_MANY_REQUESTS, html));
    }
    if f.code.trim().is_empty() {
        let form = FormState::default().err(
            "code",
            "Enter the security code from your authenticator app, or a recovery code",
        );
        return Ok(form_reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_verify(&state, ctx, &auth, form, &next)?,
        ));
    }
    let (c, k) = (state.ctx.clone(), state.audit_key.clone());
    let done = state
        .store
        .write(|tx| {
            let (c, k, s, u, code, o) = (
                c.clone(),
                k.clone(),
                auth.session.clone(),
                auth.user.clone(),
                f.code.clone(),
                origin.clone(),
            );
            Box::pin(
                async move { service::verify_second_factor(&c, tx, &k, &s, u, &code, &o).await },
            )
        })
        .await?;
    match done {
        Some(sf) => Ok(with_cookies(
            Redirect::to(&next).into_response(),
            &[set_cookie(SESSION_COOKIE, &sf.issued.token)],
        )),
        None => {
            let form = FormState::default().err("code", "The security code is not correct, or has been used already. Enter the current code");
            Ok(form_reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_verify(&state, ctx, &auth, form, &next)?,
            ))
        }
    }
}

// --- sign out -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/sign_out.html")]
pub struct SignOutPage {
    pub layout: Layout,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "auth/signed_out.html")]
pub struct SignedOutPage {
    pub layout: Layout,
    pub everywhere: bool,
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub everywhere: Option<String>,
}

pub(crate) async fn sign_out_form(
    State(state): State<AppState>,
    ctx: PageContext,
    MaybeAuth(auth): MaybeAuth,
) -> Result<Response, WebError> {
    let Some(auth) = auth else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let page = SignOutPage {
        layout: Layout::from_ctx(&state, ctx, "Sign out"),
        csrf: auth.session.csrf_secret.clone(),
    };
    Ok(Html(page.render()?).into_response())
}

pub(crate) async fn sign_out(
    State(state): State<AppState>,
    ctx: PageContext,
    MaybeAuth(auth): MaybeAuth,
    addr: ClientAddr,
    Form(f): Form<SignOutForm>,
) -> Result<Response, WebError> {
    let Some(auth) = auth else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    auth.check_csrf(&f.csrf_token)?;
    // The box (and the account page's button) sends "yes"; anything else is not a choice the
    // page offers, and is refused rather than read as one.
    let everywhere = match f.everywhere.as_deref() {
        None => false,
        Some("yes") => true,
        Some(_) => {
            return Err(mace_domain::Error::validation(
                "everywhere",
                "Choose whether to sign out everywhere",
            )
            .into());
        }
    };
    let (c, k, o) = (state.ctx.clone(), state.audit_key.clone(), addr.origin());
    state
        .store
        .write(|tx| {
            let (c, k, s, u, o) = (
                c.clone(),
                k.clone(),
                auth.session.clone(),
                auth.user.clone(),
                o.clone(),
            );
            Box::pin(
                async move { service::sign_out(&c, tx, &k, &s, Some(&u), everywhere, &o).await },
            )
        })
        .await?;
    let ctx = PageContext { auth: None, ..ctx };
    let page = SignedOutPage {
        layout: Layout::from_ctx(&state, ctx, "You have signed out"),
        everywhere,
    };
    Ok(with_cookies(
        Html(page.render()?).into_response(),
        &[clear_cookie(SESSION_COOKIE)],
    ))
}

// --- account and password -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "auth/account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub user: User,
    pub org_name: String,
    pub roles: Vec<&'static str>,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

#[derive(Debug, Deserialize, Default)]
pub struct AccountQuery {
    pub done: Option<String>,
}

pub(crate) async fn account(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let org_id = auth.user.org_id;
    let org = state
        .store
        .read(|tx| {
            Box::pin(async move { mace_domain::ports::IdentityRepo::get_org(tx, org_id).await })
        })
        .await?;
    let notice = match q.done.as_deref() {
        Some("password") => {
            Some("Your password has been changed. You have been signed out everywhere else.")
        }
        _ => None,
    };
    let page = AccountPage {
        layout: Layout::from_ctx(&state, ctx, "Your account"),
        roles: auth.user.roles.iter().map(|r| r.label()).collect(),
        org_name: org.map(|o| o.name).unwrap_or_default(),
        csrf: auth.session.csrf_secret.clone(),
        user: auth.user,
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "auth/password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub form: FormState,
    pub csrf: String,
    /// The account still has the temporary password an administrator set.
    pub temporary: bool,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub confirm: String,
    #[serde(default)]
    pub csrf_token: String,
}

fn render_password(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    form: FormState,
) -> Result<String, WebError> {
    let title = title_for(&form, "Change your password");
    Ok(PasswordPage {
        layout: Layout::from_ctx(state, ctx, &title),
        form,
        csrf: auth.session.csrf_secret.clone(),
        temporary: crate::admin::must_change_password(auth),
    }
    .render()?)
}

pub(crate) async fn password_form(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    Ok(Html(render_password(&state, ctx, &auth, FormState::default())?).into_response())
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    addr: ClientAddr,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    auth.check_csrf(&f.csrf_token)?;
    let mut form = FormState::default();
    if f.current.is_empty() {
        form = form.err("current", "Enter your current password");
    }
    let context = [
        auth.user.email.as_str(),
        auth.user.display_name.as_str(),
        state.settings.service_name.as_str(),
    ];
    if let Err(e) = password::check_new(&f.new_password, &context) {
        form = form.err("new_password", &e.message);
    } else if f.confirm != f.new_password {
        form = form.err("confirm", "Enter the same new password twice");
    }
    if form.has_errors() {
        return Ok(form_reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_password(&state, ctx, &auth, form)?,
        ));
    }
    let params = state.settings.hash_params;
    let stored = auth.user.password_hash.clone().unwrap_or_default();
    let (cur, new) = (f.current.clone(), f.new_password.clone());
    let hashed = hashing(move || match password::verify(&cur, &stored, params) {
        password::Verified::No => Ok(None),
        _ => password::hash(&new, params).map(Some),
    })
    .await?
    .map_err(|_| WebError::Internal("password hashing failed".into()))?;
    let Some(hash) = hashed else {
        let form = form.err("current", "Your current password is not correct");
        return Ok(form_reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_password(&state, ctx, &auth, form)?,
        ));
    };
    let (c, k, o) = (state.ctx.clone(), state.audit_key.clone(), addr.origin());
    let issued = state
        .store
        .write(|tx| {
            let (c, k, s, u, h, o) = (
                c.clone(),
                k.clone(),
                auth.session.clone(),
                auth.user.clone(),
                hash.clone(),
                o.clone(),
            );
            Box::pin(async move { service::change_password(&c, tx, &k, &s, u, h, &o).await })
        })
        .await?;
    Ok(with_cookies(
        Redirect::to("/account?done=password").into_response(),
        &[set_cookie(SESSION_COOKIE, &issued.token)],
    ))
}
