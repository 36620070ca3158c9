//! The JSON API skeleton and its OpenAPI document.

use crate::support::app;
use axum::http::StatusCode;

#[tokio::test]
async fn status_reports_name_and_version() {
    let app = app().await;
    let reply = app.get("/api/v1/status").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8"
    );
    let v = reply.json();
    assert_eq!(v["service"], "mace");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn openapi_is_3_1_and_documents_the_endpoints_and_errors() {
    let app = app().await;
    let reply = app.get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        "application/json; charset=utf-8"
    );
    let v = reply.json();
    assert!(
        v["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        v["openapi"]
    );
    assert!(v["paths"]["/api/v1/status"]["get"].is_object());
    assert!(v["paths"]["/api/v1/openapi.json"]["get"].is_object());
    let codes = &v["components"]["schemas"]["ErrorCode"];
    let text = codes.to_string();
    for code in [
        "not_found",
        "method_not_allowed",
        "forbidden",
        "unauthorised",
        "validation_failed",
        "conflict",
        "payload_too_large",
        "internal_error",
        "unavailable",
    ] {
        assert!(text.contains(code), "ErrorCode schema lacks {code}: {text}");
    }
    assert!(v["components"]["schemas"]["ErrorBody"].is_object());
    // The exported function gives the same document.
    assert_eq!(serde_json::to_value(mace_web::openapi()).unwrap(), v);
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s() {
    let app = app().await;
    for path in ["/api/v1/x", "/api/v2/status", "/api/"] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            reply.header("content-type"),
            "application/json; charset=utf-8",
            "{path}"
        );
        let v = reply.json();
        assert_eq!(v["error"]["code"], "not_found");
        assert!(v["error"]["message"].is_string());
        assert_eq!(v["error"]["request_id"], reply.header("x-request-id"));
    }
}

#[tokio::test]
async fn validation_errors_list_the_fields() {
    let app = app().await;
    let reply = app.get("/api/v1/test/invalid").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let v = reply.json();
    assert_eq!(v["error"]["code"], "validation_failed");
    assert_eq!(v["error"]["fields"][0]["field"], "postcode");
    assert_eq!(v["error"]["fields"][0]["message"], "Enter a real postcode");
}

#[test]
fn domain_errors_map_to_statuses_and_codes() {
    use mace_domain::Error as D;
    use mace_web::WebError;
    let cases = [
        (WebError::from(D::NotFound), 404, "not_found"),
        (
            WebError::from(D::Forbidden { reason: "x".into() }),
            403,
            "forbidden",
        ),
        (
            WebError::from(D::validation("f", "m")),
            422,
            "validation_failed",
        ),
        (WebError::from(D::Conflict("x".into())), 409, "conflict"),
        (WebError::from(D::store("detail")), 500, "internal_error"),
        (WebError::Unauthorised, 401, "unauthorised"),
        (WebError::PayloadTooLarge, 413, "payload_too_large"),
        (WebError::Unavailable, 503, "unavailable"),
    ];
    for (err, status, code) in cases {
        let info = err.info();
        assert_eq!(info.status.as_u16(), status);
        assert_eq!(info.code.as_str(), code);
        assert!(!info.message.contains("detail"));
    }
}
