//! Security headers, request ids, caching and the error-path middleware (VAL-08, DATA-03,
//! CFG-05, LOG-07).

use crate::support::{Reply, app, assert_no_leak};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

fn nonce_of(reply: &Reply) -> String {
    let csp = reply.header("content-security-policy");
    let start = csp
        .find("'nonce-")
        .unwrap_or_else(|| panic!("no nonce in {csp}"))
        + "'nonce-".len();
    let end = csp[start..].find('\'').unwrap() + start;
    csp[start..end].to_string()
}

fn assert_security_headers(reply: &Reply, what: &str) {
    let csp = reply.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self' 'nonce-",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part:?}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    assert_eq!(reply.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(reply.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(reply.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(
        reply.header("strict-transport-security"),
        "max-age=31536000; includeSubDomains",
        "{what}"
    );
    assert_eq!(
        reply.header("cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    let pp = reply.header("permissions-policy");
    for p in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(pp.contains(p), "{what}: permissions-policy {pp}");
    }
    assert!(
        !reply.header("x-request-id").is_empty(),
        "{what}: no x-request-id"
    );
    // The nonce: at least 128 bits of base64.
    assert!(nonce_of(reply).len() >= 22, "{what}: short nonce");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = app().await;
    let cases = [
        (app.get("/").await, StatusCode::OK, "home"),
        (app.get("/no/such/page").await, StatusCode::NOT_FOUND, "404"),
        (
            app.request(Method::POST, "/").await,
            StatusCode::METHOD_NOT_ALLOWED,
            "405",
        ),
        (
            app.get("/test/panic").await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
        ),
        (app.get("/api/v1/status").await, StatusCode::OK, "api"),
        (
            app.get("/api/v1/nope").await,
            StatusCode::NOT_FOUND,
            "api 404",
        ),
        (app.get("/healthz").await, StatusCode::OK, "healthz"),
        (
            app.get(&mace_web::assets::url("mace.css")).await,
            StatusCode::OK,
            "asset",
        ),
    ];
    for (reply, status, what) in &cases {
        assert_eq!(reply.status, *status, "{what}: {}", reply.body);
        assert_security_headers(reply, what);
        if *what != "asset" {
            assert_eq!(reply.header("cache-control"), "no-store", "{what}");
        }
    }
}

#[tokio::test]
async fn the_nonce_is_fresh_per_response_and_matches_the_inline_script() {
    let app = app().await;
    let a = app.get("/").await;
    let b = app.get("/").await;
    assert_ne!(nonce_of(&a), nonce_of(&b));
    for reply in [&a, &b] {
        let html = reply.html();
        let sel = scraper::Selector::parse("script:not([src])").unwrap();
        let inline: Vec<_> = html.select(&sel).collect();
        assert_eq!(inline.len(), 1, "exactly one inline script");
        assert_eq!(
            inline[0].value().attr("nonce"),
            Some(nonce_of(reply).as_str())
        );
        assert!(
            inline[0]
                .text()
                .collect::<String>()
                .contains("govuk-frontend-supported")
        );
        // Every other script is an external module.
        let sel = scraper::Selector::parse("script[src]").unwrap();
        for s in html.select(&sel) {
            assert_eq!(s.value().attr("type"), Some("module"));
        }
    }
    // The error pages use the same response's nonce too.
    let nf = app.get("/nope").await;
    assert!(nf.body.contains(&format!("nonce=\"{}\"", nonce_of(&nf))));
}

#[tokio::test]
async fn request_ids_are_ours_not_the_clients() {
    let app = app().await;
    let req = Request::get("/")
        .header("x-request-id", "client-chosen")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(req).await;
    let id = reply.header("x-request-id");
    assert_ne!(id, "client-chosen");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let other = app.get("/").await;
    assert_ne!(other.header("x-request-id"), id);
}

#[tokio::test]
async fn a_panic_gives_the_500_page_with_a_reference_and_the_app_keeps_working() {
    let app = app().await;
    let reply = app.get("/test/panic").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.header("content-type").starts_with("text/html"));
    assert_eq!(
        reply.select_text("h1"),
        ["Sorry, there is a problem with the service"]
    );
    let id = reply.header("x-request-id").to_string();
    assert_eq!(reply.select_text(".mace-reference"), [id]);
    assert_no_leak(&reply);

    let api = app.get("/api/v1/test/panic").await;
    assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api.json()["error"]["code"], "internal_error");
    assert_no_leak(&api);

    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn store_failures_are_500s_without_detail() {
    let app = app().await;
    let reply = app.get("/test/store-error").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_no_leak(&reply);
    assert!(reply.body.contains(reply.header("x-request-id")));
}

#[tokio::test]
async fn forbidden_gives_the_403_page() {
    let app = app().await;
    let reply = app.get("/test/forbidden").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.select_text("h1"),
        ["You do not have permission to see this page"]
    );
    assert!(!reply.body.contains("other org"));
}

#[tokio::test]
async fn trace_and_unknown_methods_get_405_and_probe_paths_404() {
    let app = app().await;
    let trace = app.request(Method::TRACE, "/").await;
    assert_eq!(trace.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(trace.header("content-type").starts_with("text/html"));
    assert!(!trace.select_text("h1").is_empty());
    let delete = app.request(Method::DELETE, "/accessibility").await;
    assert_eq!(delete.status, StatusCode::METHOD_NOT_ALLOWED);
    let api = app.request(Method::POST, "/api/v1/status").await;
    assert_eq!(api.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.json()["error"]["code"], "method_not_allowed");
    for path in [
        "/.git/HEAD",
        "/.env",
        "/metrics",
        "/debug",
        "/admin/.htaccess",
        "/assets/",
        "/assets/x/mace.css",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.header("cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = app().await;
    let big = "x".repeat(20_000);
    let req = Request::post("/test/echo")
        .body(Body::from(big.clone()))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.header("content-type").starts_with("text/html"));
    assert_security_headers(&reply, "413");

    let req = Request::post("/api/v1/test/echo")
        .body(Body::from(big))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["error"]["code"], "payload_too_large");

    let req = Request::post("/test/echo")
        .body(Body::from("small"))
        .unwrap();
    assert_eq!(app.send(req).await.body, "small");
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let app = app().await;
    let reply = app.get("/test/slow").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.select_text("h1"),
        ["Sorry, the service is unavailable"]
    );
    assert_security_headers(&reply, "503");
}
