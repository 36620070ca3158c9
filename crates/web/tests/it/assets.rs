//! Assets built from npm at compile time: served immutable, with the right types, unbranded.

use crate::support::app;
use axum::http::StatusCode;

#[tokio::test]
async fn assets_are_served_immutable_with_their_content_types() {
    let app = app().await;
    for (name, ct) in [
        ("mace.css", "text/css; charset=utf-8"),
        ("govuk-frontend.min.js", "text/javascript; charset=utf-8"),
        ("mace.mjs", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let reply = app.get(&mace_web::assets::url(name)).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.header("content-type"), ct, "{name}");
        assert_eq!(
            reply.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{name}"
        );
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{name}");
        assert!(!reply.body.is_empty());
    }
    // Every embedded asset is reachable.
    for asset in mace_web::assets::all() {
        assert_eq!(
            app.get(&mace_web::assets::url(asset.name)).await.status,
            StatusCode::OK,
            "{}",
            asset.name
        );
    }
}

#[tokio::test]
async fn pages_link_the_current_assets() {
    let app = app().await;
    let home = app.get("/").await;
    for name in ["mace.css", "mace.mjs", "favicon.svg"] {
        assert!(home.body.contains(&mace_web::assets::url(name)), "{name}");
    }
}

#[test]
fn the_css_uses_arial_and_no_gds_transport_font_face() {
    let css = std::str::from_utf8(mace_web::assets::get("mace.css").unwrap().bytes).unwrap();
    assert!(!css.contains("GDS Transport"));
    assert!(!css.contains("@font-face"));
    assert!(!css.contains("govuk-crest"));
    assert!(css.contains("arial"));
    assert!(css.contains(".govuk-generic-header"));
    assert!(css.contains(".mace-demo-banner"));
}

#[test]
fn no_govuk_branding_ships() {
    for asset in mace_web::assets::all() {
        assert!(
            !asset.name.contains("crown") && !asset.name.contains("crest"),
            "{}",
            asset.name
        );
        assert!(
            !asset.name.ends_with(".woff2") && !asset.name.ends_with(".woff"),
            "{}",
            asset.name
        );
    }
    let mjs = std::str::from_utf8(mace_web::assets::get("mace.mjs").unwrap().bytes).unwrap();
    assert!(mjs.contains("initAll"));
}
