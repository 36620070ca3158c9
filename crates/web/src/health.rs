//! Health checks for load balancers and orchestrators. No internal detail in either answer.

use crate::AppState;
use crate::error::keep_body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Liveness: the process is up and answering. Does not touch the database.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers. 503 (with no detail) when it does not.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database did not answer");
            keep_body((StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response())
        }
    }
}
