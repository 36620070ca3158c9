//! Errors as the user sees them: a GOV.UK-style HTML page, or under `/api/` a JSON body with a
//! stable code. Handlers return [`WebError`]; it only records *what* went wrong (an
//! [`ErrorInfo`] response extension) and the error-rendering middleware draws the page, so
//! errors raised outside handlers (405 from routing, 413, timeouts, panics) look the same.

use crate::WebSettings;
use crate::middleware::{CspNonce, RequestId};
use crate::pages::{ErrorPage, Layout};
use askama::Template as _;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mace_domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// Stable, machine-readable error codes of the JSON API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    MethodNotAllowed,
    Forbidden,
    Unauthorised,
    BadRequest,
    ValidationFailed,
    Conflict,
    PayloadTooLarge,
    InternalError,
    Unavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Unauthorised => StatusCode::UNAUTHORIZED,
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Unauthorised => "unauthorised",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The default message, written for the person using the service.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "Page not found",
            ErrorCode::MethodNotAllowed => "This action is not available here",
            ErrorCode::Forbidden => "You do not have permission to see this page",
            ErrorCode::Unauthorised => "You need to sign in to see this page",
            ErrorCode::BadRequest => "Sorry, there is a problem with your request",
            ErrorCode::ValidationFailed => "There is a problem with the information you gave",
            ErrorCode::Conflict => "Someone else has changed this record",
            ErrorCode::PayloadTooLarge => "What you sent is too large",
            ErrorCode::InternalError => "Sorry, there is a problem with the service",
            ErrorCode::Unavailable => "Sorry, the service is unavailable",
        }
    }

    fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorised,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::GATEWAY_TIMEOUT => ErrorCode::Unavailable,
            s if s.is_client_error() => ErrorCode::BadRequest,
            _ => ErrorCode::InternalError,
        }
    }
}

/// What went wrong, carried as a response extension to the error-rendering middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl ErrorInfo {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: code.status(),
            code,
            message: code.message().to_string(),
            fields: Vec::new(),
        }
    }

    /// For an error status produced outside mace's handlers (routing, limits, timeouts).
    pub fn for_status(status: StatusCode) -> Self {
        let code = ErrorCode::for_status(status);
        Self {
            status: if status == StatusCode::REQUEST_TIMEOUT {
                code.status()
            } else {
                status
            },
            ..Self::new(code)
        }
    }
}

/// Marks a response whose body the handler wrote itself (a form re-rendered with its errors,
/// the readiness check): the error-rendering middleware leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Final;

/// Mark `res` so the error-rendering middleware keeps its body.
pub fn keep_body(mut res: Response) -> Response {
    res.extensions_mut().insert(Final);
    res
}

/// An error from a handler.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Domain(#[from] mace_domain::Error),
    #[error("not found")]
    NotFound,
    #[error("unauthorised")]
    Unauthorised,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unavailable")]
    Unavailable,
    /// A failure inside mace (a template that would not render, say). The detail is logged,
    /// never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

impl WebError {
    pub fn info(&self) -> ErrorInfo {
        use mace_domain::Error as D;
        match self {
            WebError::Domain(D::NotFound) | WebError::NotFound => {
                ErrorInfo::new(ErrorCode::NotFound)
            }
            WebError::Domain(D::Forbidden { .. }) => ErrorInfo::new(ErrorCode::Forbidden),
            WebError::Domain(D::Validation(fields)) => ErrorInfo {
                fields: fields.clone(),
                ..ErrorInfo::new(ErrorCode::ValidationFailed)
            },
            WebError::Domain(D::Conflict(_)) => ErrorInfo::new(ErrorCode::Conflict),
            WebError::Domain(D::Store(_)) | WebError::Internal(_) => {
                ErrorInfo::new(ErrorCode::InternalError)
            }
            WebError::Unauthorised => ErrorInfo::new(ErrorCode::Unauthorised),
            WebError::PayloadTooLarge => ErrorInfo::new(ErrorCode::PayloadTooLarge),
            WebError::Unavailable => ErrorInfo::new(ErrorCode::Unavailable),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        use mace_domain::Error as D;
        match &self {
            // Logged inside the request span, so the log line carries the request id.
            WebError::Domain(D::Store(failure)) => {
                tracing::error!(detail = %failure.detail, retryable = failure.retryable, "storage failure");
            }
            WebError::Internal(detail) => tracing::error!(detail = %detail, "internal error"),
            WebError::Domain(D::Forbidden { reason }) => {
                tracing::info!(reason = %reason, "access refused")
            }
            _ => {}
        }
        let info = self.info();
        let mut res = (info.status, info.code.message()).into_response();
        res.extensions_mut().insert(info);
        res
    }
}

/// Answers every path no route matched.
pub(crate) async fn fallback() -> WebError {
    WebError::NotFound
}

pub(crate) fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The JSON API's error body: `{"error": {"code", "message", "request_id", "fields"?}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code; clients branch on this, not on the message.
    pub code: ErrorCode,
    /// A human-readable message. Never contains internal detail.
    pub message: String,
    /// Quote this when reporting a problem: it finds the request in mace's logs.
    pub request_id: Option<String>,
    /// For `validation_failed`: what is wrong with which field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldErrorDto {
    /// The JSON property (or form field) the message is about.
    pub field: String,
    pub message: String,
}

pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut res = (status, body).into_response();
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a JSON response");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(crate) fn render_error(
    info: &ErrorInfo,
    api: bool,
    nonce: &CspNonce,
    request_id: Option<RequestId>,
    settings: &WebSettings,
) -> Response {
    if api {
        let body = ErrorBody {
            error: ErrorDetail {
                code: info.code,
                message: info.message.clone(),
                request_id: request_id.map(|r| r.to_string()),
                fields: info
                    .fields
                    .iter()
                    .map(|f| FieldErrorDto {
                        field: f.field.clone(),
                        message: f.message.clone(),
                    })
                    .collect(),
            },
        };
        return json_response(info.status, &body);
    }
    let page = ErrorPage {
        layout: Layout::new(settings, nonce.clone(), "", &info.message),
        code: info.code,
        fields: info.fields.clone(),
        reference: request_id.map(|r| r.to_string()),
    };
    match page.render() {
        Ok(html) => (info.status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            (info.status, info.message.clone()).into_response()
        }
    }
}
