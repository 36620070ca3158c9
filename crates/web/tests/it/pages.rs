//! The HTML shell: layout, banners, pages, error pages.

use crate::support::{app, app_with, assert_no_leak};
use axum::http::StatusCode;

#[tokio::test]
async fn home_follows_the_govuk_page_template() {
    let app = app().await;
    let reply = app.get("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").starts_with("text/html"));
    let html = reply.html();
    let one = |s: &str| html.select(&scraper::Selector::parse(s).unwrap()).count();
    assert_eq!(one("html.govuk-template[lang=en]"), 1);
    assert_eq!(one("body.govuk-template__body"), 1);
    assert_eq!(one("a.govuk-skip-link[href='#main-content']"), 1);
    assert_eq!(one("main#main-content.govuk-main-wrapper"), 1);
    assert_eq!(one(".govuk-width-container main"), 1);
    assert_eq!(
        one("header.govuk-template__header a[href='/']"),
        2,
        "home link and Home nav item"
    );
    assert_eq!(one(".govuk-service-navigation"), 1);
    assert_eq!(one(".govuk-phase-banner .govuk-tag"), 1);
    assert_eq!(
        one("footer.govuk-template__footer a[href='/accessibility']"),
        1
    );
    assert_eq!(one("footer.govuk-template__footer a[href='/privacy']"), 1);
    assert_eq!(one("link[rel=stylesheet]"), 1);
    assert_eq!(one("link[rel=icon][type='image/svg+xml']"), 1);
    assert_eq!(
        reply.select_text(".govuk-generic-header__homepage-link"),
        ["mace"]
    );
    assert_eq!(
        reply.select_text(".govuk-phase-banner .govuk-tag"),
        ["Alpha"]
    );
    assert_eq!(reply.select_text("h1"), ["mace"]);
    // No crown, no GOV.UK branding, no Crown copyright or OGL.
    for needle in [
        "govuk-logo",
        "crown",
        "Crown",
        "GOV.UK",
        "Open Government Licence",
        "govuk-header__",
    ] {
        assert!(
            !reply.body.contains(needle),
            "home page contains {needle:?}"
        );
    }
}

#[tokio::test]
async fn the_demo_banner_shows_iff_demo() {
    let live = app_with(false).await;
    let demo = app_with(true).await;
    for path in ["/", "/accessibility", "/privacy", "/nope"] {
        assert!(
            !live.get(path).await.body.contains("demo: synthetic data"),
            "{path}"
        );
        let reply = demo.get(path).await;
        assert!(reply.body.contains("demo: synthetic data"), "{path}");
        let banner = reply.select_text(".govuk-notification-banner.mace-demo-banner");
        assert_eq!(banner.len(), 1, "{path}");
    }
}

#[tokio::test]
async fn accessibility_and_privacy_pages_exist() {
    let app = app().await;
    let a = app.get("/accessibility").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.select_text("h1"), ["Accessibility statement for mace"]);
    let p = app.get("/privacy").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.select_text("h1"), ["Privacy notice"]);
    assert_eq!(p.select_text("title"), ["Privacy notice – mace"]);
}

#[tokio::test]
async fn unknown_pages_get_the_govuk_404() {
    let app = app().await;
    let reply = app.get("/x").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.header("content-type").starts_with("text/html"));
    assert_eq!(reply.select_text("h1"), ["Page not found"]);
    assert_eq!(reply.select_text("title"), ["Page not found – mace"]);
    assert_no_leak(&reply);
}

#[tokio::test]
async fn healthz_is_ok_without_a_database() {
    let app = app().await;
    let reply = app.get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "ok");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    let app = app().await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    // Closing the pools makes every database call fail, as an unreachable server would.
    app.state.store.close().await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.body, "not ready");
}

#[tokio::test]
async fn readyz_is_200_on_a_working_database() {
    let app = app().await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "ready");
}

#[tokio::test]
async fn pages_work_and_are_never_cached() {
    let app = app().await;
    for path in ["/", "/accessibility", "/privacy"] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("cache-control"), "no-store", "{path}");
        assert_no_leak(&reply);
    }
}
