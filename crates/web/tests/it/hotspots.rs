//! Hotspots (issue 7, item 5): a police intelligence officer sees every cell and the incident
//! points; a partnership manager sees no points and no cell (or count) under the minimum, in the
//! page and the API; a teacher is refused and the refusal recorded; with a tile server the map
//! is drawn on tiles whose origin the CSP allows; without one, a plain SVG grid.

use crate::browser::*;
use crate::cases::{
    CSC, PARTNERSHIP, POLICE, SCHOOL, api, api_token, audit_actions, child_recorded_by, text,
};
use crate::support::TestApp;
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;
use mace_domain::hotspots::{LatLon, PostcodePoint};
use mace_domain::missing::{Episode, EpisodeCategory, MissingRisk, Reporter, ReturnInterview};
use mace_domain::ports::{HotspotRepo, IdentityRepo, MissingRepo};
use mace_domain::postcode::Postcode;
use std::sync::Arc;
use time::Duration;
use uuid::Uuid;

/// Seven children found at one postcode (a cluster) and two found at two others far apart
/// (cells of one), all within the last 30 days.
async fn seed(app: &TestApp) {
    let sw = add_user_at(app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(app, sw, "Jade", "Whitmore").await;
    let now = app.clock.now_for_test();
    app.state
        .store
        .write(|tx| {
            Box::pin(async move {
                let user = tx.get_user(sw).await?.expect("user");
                let pts = [
                    ("RM20 3ZZ", 51.4800, 0.3300),
                    ("SS1 2AB", 51.5400, 0.7100),
                    ("CM1 4XY", 51.7300, 0.4700),
                ];
                let points: Vec<PostcodePoint> = pts
                    .iter()
                    .map(|(p, a, b)| PostcodePoint {
                        postcode: Postcode::parse(p).unwrap(),
                        position: LatLon::new(*a, *b).unwrap(),
                    })
                    .collect();
                tx.upsert_postcode_points(&points).await?;
                let places = ["RM20 3ZZ"; 7].into_iter().chain(["SS1 2AB", "CM1 4XY"]);
                for (k, pc) in places.enumerate() {
                    let at = now - Duration::days(2 + k as i64);
                    tx.insert_episode(&Episode {
                        id: Uuid::from_u128(9000 + k as u128),
                        person_id: child,
                        category: EpisodeCategory::Missing,
                        reported_at: at - Duration::hours(5),
                        reported_by: Reporter::Parent,
                        reporter_name: String::new(),
                        police_reference: String::new(),
                        from_care: false,
                        placement: String::new(),
                        risk: MissingRisk::Medium,
                        found_at: Some(at),
                        returned_at: Some(at),
                        found_where: String::new(),
                        found_postcode: Some(Postcode::parse(pc).unwrap()),
                        found_with: String::new(),
                        found_by: None,
                        harm: String::new(),
                        rhi: ReturnInterview::default(),
                        org_id: user.org_id,
                        created_by: sw,
                        created_at: at,
                        updated_at: at,
                    })
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn police_see_points_and_partnership_managers_only_cells_of_five() {
    let app = crate::support::app().await;
    seed(&app).await;
    add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    add_user_at(
        &app,
        "pm@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(
        &app,
        "teacher@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;

    // Police: every cell (including the two single ones) and the nine points, drawn as a plain
    // SVG grid (no tile server) with a title, a description and a scale bar.
    let mut p = Browser::new(&app);
    signed_in(&app, &mut p, "pio@police.test").await;
    let page = p.get("/hotspots?window=30&cell=250").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "{}", page.body);
    assert!(page.body.contains("<title id=\"hotspot-map-title\">"));
    assert!(page.body.contains("<desc id=\"hotspot-map-desc\">"));
    assert!(page.body.contains("class=\"hotspot-scale\""));
    assert!(!page.body.contains("hotspot-tile"));
    assert_eq!(
        page.body.matches("<circle").count() + page.body.matches("fill=\"#f47738\"").count(),
        9
    );
    assert!(text(&page).contains("Benjamini-Hochberg"));
    let token = api_token(&app, "pio@police.test").await;
    let j = api(
        &app,
        Method::GET,
        "/api/v1/hotspots?window=30&cell=250",
        &token,
        None,
    )
    .await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.body);
    let v = j.json();
    assert_eq!(v["audience"], "police");
    assert_eq!(v["points"].as_array().unwrap().len(), 9);
    let counts: Vec<u64> = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .collect();
    assert!(counts.contains(&7) && counts.contains(&1), "{counts:?}");
    assert_eq!(v["grid"]["projection"]["kind"], "equirectangular");
    assert_eq!(v["fdr_corrected"], true);

    // The partnership manager: the cluster of seven, nothing under five, no points.
    let mut m = Browser::new(&app);
    signed_in(&app, &mut m, "pm@partnership.test").await;
    let page = m.get("/hotspots?window=30&cell=250").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("<circle"));
    assert!(!page.body.contains("fill=\"#f47738\""));
    assert!(page.body.contains("7 incidents"), "{}", page.body);
    assert!(!page.body.contains("1 incidents"));
    assert!(text(&page).contains("fewer than 5"));
    let token = api_token(&app, "pm@partnership.test").await;
    let j = api(
        &app,
        Method::GET,
        "/api/v1/hotspots?window=30&cell=250",
        &token,
        None,
    )
    .await;
    assert_eq!(j.status, StatusCode::OK, "{}", j.body);
    let v = j.json();
    assert_eq!(v["audience"], "aggregate");
    assert!(v["points"].as_array().unwrap().is_empty());
    let cells = v["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    assert!(
        cells.iter().all(|c| c["count"].as_u64().unwrap() >= 5),
        "{cells:?}"
    );
    // The window counts: nine missing children found, no intelligence; both shown.
    assert_eq!(v["windows"][0]["missing"], 9);
    let bad = api(&app, Method::GET, "/api/v1/hotspots?window=7", &token, None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A teacher is refused, in the page and the API, and the refusals are recorded.
    let mut t = Browser::new(&app);
    signed_in(&app, &mut t, "teacher@school.test").await;
    assert_eq!(t.get("/hotspots").await.status, StatusCode::FORBIDDEN);
    let token = api_token(&app, "teacher@school.test").await;
    let j = api(&app, Method::GET, "/api/v1/hotspots", &token, None).await;
    assert_eq!(j.status, StatusCode::FORBIDDEN);
    let denied = audit_actions(&app, &[Category::AuthzDenied]).await;
    assert_eq!(
        denied
            .iter()
            .filter(|a| *a == "hotspots.view:denied")
            .count(),
        2,
        "{denied:?}"
    );
    let seen = audit_actions(&app, &[Category::Consultation]).await;
    assert!(
        seen.iter()
            .filter(|a| *a == "hotspots.view:success")
            .count()
            >= 4,
        "{seen:?}"
    );
}

#[tokio::test]
async fn with_a_tile_server_the_map_is_drawn_on_tiles_the_csp_allows() {
    let mut app = crate::support::app().await;
    let mut settings = (*app.state.settings).clone();
    settings.map_tile_url = Some("https://tiles.example.org/{z}/{x}/{y}.png".into());
    settings.map_attribution = "Demo tiles".into();
    app.state.settings = Arc::new(settings);
    app.router = mace_web::router(app.state.clone());
    seed(&app).await;
    add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    let mut p = Browser::new(&app);
    signed_in(&app, &mut p, "pio@police.test").await;
    let page = p.get("/hotspots?window=all&cell=500").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("class=\"hotspot-tile\" href=\"https://tiles.example.org/"),
        "{}",
        page.body
    );
    assert!(text(&page).contains("Demo tiles"));
    assert!(
        page.header("content-security-policy")
            .contains("img-src 'self' data: https://tiles.example.org;")
    );
}
