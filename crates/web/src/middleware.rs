//! The middleware every response passes through, outermost first:
//!
//! 1. [`request_context`]: a fresh request id from the injected id generator (a client's
//!    `x-request-id` is ignored), a tracing span, one structured log line per request (method,
//!    matched route template, status, latency; never the URI or query), `x-request-id` back.
//! 2. [`security_headers`]: a fresh CSP nonce per response, CSP, HSTS, `nosniff`, and
//!    `Cache-Control: no-store` unless the handler chose otherwise (only assets do).
//! 3. [`render_errors`]: turns every error status into mace's HTML page or, under `/api/`, its
//!    JSON error body, using the request id and nonce above.
//! 4. panic catching, 5. the request timeout (503), 6. the body size limit (413),
//! 7. (after the session is resolved) [`input_hygiene`]: JSON and form bodies whose text holds
//!    control characters, and form bodies that are not UTF-8, are refused (422), and a signed-in
//!    person's form without a CSRF token is refused (403), before any handler sees them.

use crate::AppState;
use crate::error::{ErrorCode, ErrorInfo, Final, render_error};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::TryRngCore as _;
use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument as _;
use uuid::Uuid;

/// This response's CSP nonce, for the one inline script (govuk-frontend's body-class line).
/// `None` only if the OS random source failed; the page then works without JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub Option<String>);

impl CspNonce {
    /// 144 bits from the OS CSPRNG, base64: a fresh value for every response.
    fn generate() -> Self {
        let mut bytes = [0u8; 18];
        match rand::rngs::OsRng.try_fill_bytes(&mut bytes) {
            Ok(()) => Self(Some(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )),
            Err(e) => {
                tracing::error!(error = %e, "the OS random source failed; serving without a script nonce");
                Self(None)
            }
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// The id of the request being handled: in the log span, the `x-request-id` response header and
/// the reference on the "problem with the service" page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Filled in after routing with the matched route template, so the outermost layer can log it
/// even when the handler panicked or timed out.
#[derive(Debug, Clone, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) fn layered(app: Router<AppState>, state: AppState) -> Router {
    let timeout = state.settings.request_timeout;
    let limit = state.settings.max_body_bytes;
    app.route_layer(from_fn(record_route))
        .layer(from_fn_with_state(state.clone(), input_hygiene))
        .layer(from_fn_with_state(
            state.clone(),
            crate::auth::session_context,
        ))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(state.clone(), render_errors))
        .layer(from_fn_with_state(state.clone(), security_headers))
        .layer(from_fn_with_state(state.clone(), request_context))
        .with_state(state)
}

async fn record_route(req: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        req.extensions().get::<RouteSlot>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_string());
    }
    next.run(req).await
}

/// The method as logged: standard methods by name, anything else as `OTHER`.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = RequestId(state.ctx.ids.new_id());
    // Request ids come from us, never from the client.
    req.headers_mut().remove(X_REQUEST_ID);
    req.extensions_mut().insert(id);
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = method_label(req.method());

    let span =
        tracing::info_span!("request", request_id = %id, method, route = tracing::field::Empty);
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let route = slot.0.get().map(String::as_str).unwrap_or("<unmatched>");
    span.record("route", route);
    let status = res.status().as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, route, "request failed");
        } else {
            tracing::info!(status, latency_ms, route, "request");
        }
    });

    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    res
}

fn csp(nonce: &CspNonce, tiles: Option<&str>) -> String {
    let script = match nonce.as_str() {
        Some(n) => format!("script-src 'self' 'nonce-{n}'"),
        None => "script-src 'self'".to_string(),
    };
    // The hotspots map's tile server, when one is configured.
    let tiles = tiles.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data:{tiles}; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

async fn security_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let nonce = CspNonce::generate();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let tiles = state.settings.map_tile_origin();
    if let Ok(v) = HeaderValue::from_str(&csp(&nonce, tiles.as_deref())) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    // Pages may carry personal data: nothing is cached unless a handler says so (assets do).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = crate::error::is_api_path(req.uri().path());
    let nonce = req
        .extensions()
        .get::<CspNonce>()
        .cloned()
        .unwrap_or(CspNonce(None));
    let request_id = req.extensions().get::<RequestId>().copied();
    let res = next.run(req).await;
    if res.extensions().get::<Final>().is_some() {
        return res;
    }
    let status = res.status();
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(info) => info.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            ErrorInfo::for_status(status)
        }
        None => return res,
    };
    let (mut parts, _body) = res.into_parts();
    let rendered = render_error(&info, api, &nonce, request_id, &state.settings);
    let (new_parts, body) = rendered.into_parts();
    parts.status = new_parts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    parts.extensions.insert(Final);
    Response::from_parts(parts, body)
}

/// Is `c` a control character no text field may hold? Tab, line feed and carriage return are
/// allowed (multi-line text); NUL, escape sequences, bell, DEL and the C1 controls are not: they
/// hide text on screen and in logs, and PostgreSQL cannot store NUL at all.
pub(crate) fn forbidden_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The first field of a JSON value (by its path, `answers[0].evidence`) holding a forbidden
/// character, in a key or a string.
fn json_bad_field(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::String(s) => s.chars().any(forbidden_char).then(|| {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| json_bad_field(item, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.chars().any(forbidden_char) {
                Some(here)
            } else {
                json_bad_field(item, &here)
            }
        }),
        _ => None,
    }
}

/// Percent-decode one `application/x-www-form-urlencoded` component (`+` is a space); `None`
/// when the decoded bytes are not UTF-8 (the form extractor would quietly replace them).
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Why a form body is refused: the field holding a forbidden character or bytes that are not
/// UTF-8, with the message to show.
fn form_bad_field(body: &[u8]) -> Option<(String, &'static str)> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Some(("body".to_string(), "Must be UTF-8 text"));
    };
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (form_decode(k), form_decode(v)) {
            (Some(k), Some(v)) => (k.chars().any(forbidden_char) || v.chars().any(forbidden_char))
                .then_some((k, "Must not contain control characters")),
            (k, _) => Some((
                k.unwrap_or_else(|| "body".to_string()),
                "Must be UTF-8 text",
            )),
        }
    })
}

/// Does a form body carry a `csrf_token` field (with any value; the handler checks it)?
fn form_has_csrf(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .any(|pair| pair.split(|b| *b == b'=').next() == Some(&b"csrf_token"[..]))
}

/// Refuse JSON and form bodies whose text holds control characters (422, naming the field),
/// once for every form and API endpoint. Other bodies, and JSON that does not parse (the
/// handler's extractor answers that), pass through unchanged.
async fn input_hygiene(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let json = ct.starts_with("application/json");
    let form = ct.starts_with("application/x-www-form-urlencoded");
    if !json && !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.settings.max_body_bytes).await else {
        return crate::WebError::PayloadTooLarge.into_response();
    };
    let bad = if json {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            // Every body of the API is a JSON object (a struct must not be read from a list).
            Ok(v) if !v.is_object() => Some(("body".to_string(), "The body must be a JSON object")),
            Ok(v) => json_bad_field(&v, "").map(|f| (f, "Must not contain control characters")),
            Err(_) => None,
        }
    } else {
        // A signed-in person's form without a CSRF token is refused as a forgery (403) before a
        // handler's extractor could answer it as a malformed form (422).
        let signed_in = parts
            .extensions
            .get::<crate::auth::MaybeAuth>()
            .is_some_and(|a| a.0.is_some());
        let page = !crate::error::is_api_path(parts.uri.path());
        if signed_in && page && !form_has_csrf(&bytes) {
            return crate::WebError::Domain(mace_domain::Error::Forbidden {
                reason: "form without a csrf token".into(),
            })
            .into_response();
        }
        form_bad_field(&bytes)
    };
    if let Some((field, message)) = bad {
        return crate::WebError::Domain(mace_domain::Error::validation(&field, message))
            .into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn panic_response(_err: Box<dyn Any + Send + 'static>) -> Response {
    // The panic's message may hold anything, so it is not logged here; the request span and the
    // status (500) identify the request.
    tracing::error!("a handler panicked");
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut()
        .insert(ErrorInfo::new(ErrorCode::InternalError));
    res
}
