//! Networks pages and API: two reports from different agencies that share a car link their
//! children through it; police see labels, the shortest link and the neighbourhood, and an
//! emerging-network alert fires once the rule's count of children is reached (on linking, and at
//! once when a police officer tunes the rule); a partnership manager sees the same structure
//! with pseudonyms only; a teacher is refused and the refusal is recorded; the graph in memory
//! catches up when a link is removed.

use crate::browser::*;
use crate::cases::{
    CSC, PARTNERSHIP, POLICE, SCHOOL, api, api_token, audit_actions, child_recorded_by, text,
};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;
use serde_json::{Value, json};
use uuid::Uuid;

const CAR: &str = "MA19 XKT";

struct World {
    police: String,
    lead: String,
    sw: String,
    children: Vec<Uuid>,
}

async fn world(app: &crate::support::TestApp) -> World {
    let dsl = add_user_at(
        app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let sw = add_user_at(app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        app,
        "intel@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    add_user_at(
        app,
        "manager@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(app, "teacher@school.test", Role::Practitioner, Some(SCHOOL)).await;
    let a = child_recorded_by(app, dsl, "Kayleigh", "Harrison").await;
    let b = child_recorded_by(app, sw, "Jayden", "Okoye").await;
    let c = child_recorded_by(app, sw, "Amira", "Hussain").await;
    World {
        police: api_token(app, "intel@police.test").await,
        lead: api_token(app, "dsl@school.test").await,
        sw: api_token(app, "sw@csc.test").await,
        children: vec![a, b, c],
    }
}

/// Submit a report about `child` naming `items`, then grade and link everything as police.
async fn reported_and_linked(
    app: &crate::support::TestApp,
    w: &World,
    by: &str,
    child: Uuid,
    items: Value,
) -> Value {
    let r = api(
        app,
        Method::POST,
        "/api/v1/intelligence",
        by,
        Some(json!({
            "narrative": "Seen getting into a car after school with an older male",
            "how_known": "saw_or_heard",
            "items": items,
            "children": [child],
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", text(&r));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let report = api(
        app,
        Method::GET,
        &format!("/api/v1/intelligence/{id}"),
        &w.police,
        None,
    )
    .await;
    assert_eq!(report.status, StatusCode::OK, "{}", text(&report));
    let links: Vec<Value> = report.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"item_id": i["id"], "link": true}))
        .collect();
    let linked = api(
        app,
        Method::POST,
        &format!("/api/v1/intelligence/{id}/links"),
        &w.police,
        Some(json!({ "items": links })),
    )
    .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", text(&linked));
    linked.json()
}

fn entity_of(linked: &Value, kind: &str) -> Uuid {
    let links = linked["report"]["links"].as_array().unwrap();
    let e = links
        .iter()
        .find(|l| l["entity"]["kind"] == kind && l["removed_version"].is_null())
        .unwrap_or_else(|| panic!("a {kind} is linked: {linked}"));
    e["entity"]["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn two_reports_sharing_a_car_link_the_children_and_alerts_follow_the_rules() {
    let app = crate::support::app().await;
    let w = world(&app).await;
    let first = reported_and_linked(
        &app,
        &w,
        &w.lead,
        w.children[0],
        json!([{"kind": "vehicle", "value": CAR, "detail": "white hatchback"},
               {"kind": "person", "value": "T", "detail": "calls himself T"}]),
    )
    .await;
    let car = entity_of(&first, "vehicle");
    let second = reported_and_linked(
        &app,
        &w,
        &w.sw,
        w.children[1],
        json!([{"kind": "vehicle", "value": "ma19xkt"}]),
    )
    .await;
    assert_eq!(
        entity_of(&second, "vehicle"),
        car,
        "the same car, however it was typed"
    );

    // Police: the car's neighbourhood holds both children two steps away.
    let n = api(
        &app,
        Method::GET,
        &format!("/api/v1/networks/entities/{car}"),
        &w.police,
        None,
    )
    .await;
    assert_eq!(n.status, StatusCode::OK, "{}", text(&n));
    let n = n.json();
    assert_eq!(n["view"], "full");
    assert_eq!(n["centre"]["label"], CAR);
    let children: Vec<&Value> = n["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] == "child")
        .collect();
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|c| c["distance"] == 2));
    let names: Vec<&str> = children
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Kayleigh Harrison") && names.contains(&"Jayden Okoye"));
    assert_eq!(n["network_children"], 2);

    // The shortest link between the two children runs through the car.
    let kayleigh = entity_of(&first, "child");
    let jayden = entity_of(&second, "child");
    let p = api(
        &app,
        Method::GET,
        &format!("/api/v1/networks/path?from={kayleigh}&to={jayden}"),
        &w.police,
        None,
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", text(&p));
    let steps = p.json();
    let kinds: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["child", "report", "vehicle", "report", "child"]);

    // The default rule wants three children: no alert yet.
    let o = api(&app, Method::GET, "/api/v1/networks", &w.police, None)
        .await
        .json();
    assert_eq!(o["alerts"].as_array().unwrap().len(), 0, "{o}");
    assert_eq!(o["networks"][0]["children"], 2);

    // A third child linked to the car raises the alert when police link the report.
    reported_and_linked(
        &app,
        &w,
        &w.sw,
        w.children[2],
        json!([{"kind": "vehicle", "value": CAR}]),
    )
    .await;
    let o = api(&app, Method::GET, "/api/v1/networks", &w.police, None)
        .await
        .json();
    let alerts = o["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{o}");
    assert_eq!(alerts[0]["entity_label"], CAR);
    assert_eq!(alerts[0]["children"], 3);
    assert!(
        audit_actions(&app, &[Category::Collection])
            .await
            .contains(&"intel_alert.raise:success".to_string())
    );

    // Acknowledging needs a note; then it is acknowledged.
    let alert = alerts[0]["id"].as_str().unwrap();
    let bad = api(
        &app,
        Method::POST,
        &format!("/api/v1/networks/alerts/{alert}/acknowledge"),
        &w.police,
        Some(json!({"note": "ok"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = api(
        &app,
        Method::POST,
        &format!("/api/v1/networks/alerts/{alert}/acknowledge"),
        &w.police,
        Some(json!({"note": "Allocated to the exploitation team for development"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", text(&ok));
    let again = api(
        &app,
        Method::POST,
        &format!("/api/v1/networks/alerts/{alert}/acknowledge"),
        &w.police,
        Some(json!({"note": "Allocated to the exploitation team for development"})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A person tuning a rule down applies it at once to what is linked: the nickname "T" links
    // one child, so a rule on persons with 1 child is refused (the least is 2), and a rule on
    // vehicles with 2 children over 30 days fires for the car.
    let refused = api(&app, Method::POST, "/api/v1/networks/alert-rules", &w.police,
        Some(json!({"name": "One child", "entity_kinds": ["person"], "min_children": 1, "window_days": 30, "enabled": true}))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = api(&app, Method::POST, "/api/v1/networks/alert-rules", &w.police,
        Some(json!({"name": "Two children and a car in a month", "entity_kinds": ["vehicle"], "min_children": 2, "window_days": 30, "enabled": true}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", text(&made));
    let o = api(&app, Method::GET, "/api/v1/networks", &w.police, None)
        .await
        .json();
    assert_eq!(o["alerts"].as_array().unwrap().len(), 2, "{o}");
    // Only police intelligence officers change rules.
    let lead_rule = api(&app, Method::POST, "/api/v1/networks/alert-rules", &w.lead,
        Some(json!({"name": "Mine", "entity_kinds": ["vehicle"], "min_children": 2, "window_days": 30, "enabled": true}))).await;
    assert_eq!(lead_rule.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn partnership_managers_see_pseudonyms_teachers_are_refused_and_pages_render() {
    let app = crate::support::app().await;
    let w = world(&app).await;
    let first = reported_and_linked(
        &app,
        &w,
        &w.lead,
        w.children[0],
        json!([{"kind": "vehicle", "value": CAR}]),
    )
    .await;
    reported_and_linked(
        &app,
        &w,
        &w.sw,
        w.children[1],
        json!([{"kind": "vehicle", "value": CAR}]),
    )
    .await;
    let car = entity_of(&first, "vehicle");

    // The partnership manager: structure only.
    let manager = api_token(&app, "manager@partnership.test").await;
    let n = api(
        &app,
        Method::GET,
        &format!("/api/v1/networks/entities/{car}"),
        &manager,
        None,
    )
    .await;
    assert_eq!(n.status, StatusCode::OK, "{}", text(&n));
    let body = n.body.clone();
    assert!(
        !body.contains(CAR)
            && !body.contains("Kayleigh")
            && !body.contains("Jayden")
            && !body.contains("INT-"),
        "{body}"
    );
    assert!(body.contains("Vehicle 1") && body.contains("Child 1") && body.contains("Child 2"));
    assert!(
        n.json()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["person_id"].is_null())
    );
    let o = api(&app, Method::GET, "/api/v1/networks", &manager, None).await;
    assert_eq!(o.json()["view"], "pseudonymised");
    assert!(o.json()["alerts"].as_array().unwrap().is_empty());
    let path = api(
        &app,
        Method::GET,
        &format!("/api/v1/networks/path?from={car}&to={car}"),
        &manager,
        None,
    )
    .await;
    assert_eq!(path.status, StatusCode::FORBIDDEN);

    // A teacher cannot open the police view, and the refusal is recorded.
    let mut teacher = Browser::new(&app);
    signed_in(&app, &mut teacher, "teacher@school.test").await;
    let r = teacher.get("/networks").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = teacher.get(&format!("/networks/entities/{car}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        audit_actions(&app, &[Category::AuthzDenied])
            .await
            .contains(&"network.overview:denied".to_string())
    );

    // Police pages: overview, neighbourhood (table and drawing data), path, rules.
    let mut police = Browser::new(&app);
    signed_in(&app, &mut police, "intel@police.test").await;
    let r = police.get("/networks").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(text(&r).contains(CAR));
    let r = police.get(&format!("/networks/entities/{car}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.body.clone();
    assert!(
        page.contains("id=\"neighbourhood\"")
            && page.contains("Kayleigh Harrison")
            && page.contains("id=\"network-data\"")
    );
    assert!(!page.contains("</script></script>"));
    let r = police.get("/networks/rules").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(text(&r).contains("Three or more children"));
    // A rule with errors is shown again with them.
    let token = csrf(&r);
    let r = police
        .post(
            "/networks/rules",
            &[
                ("csrf_token", &token),
                ("name", ""),
                ("min_children", "x"),
                ("window_days", "90"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("govuk-error-summary"));

    // Removing the second report's car link separates the children (the cache catches up).
    let second_id = {
        let inbox = api(
            &app,
            Method::GET,
            "/api/v1/intelligence/inbox",
            &w.police,
            None,
        )
        .await
        .json();
        inbox["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .find(|id| *id != first["report"]["id"].as_str().unwrap())
            .unwrap()
    };
    let gone = api(
        &app,
        Method::DELETE,
        &format!("/api/v1/intelligence/{second_id}/links/{car}"),
        &w.police,
        None,
    )
    .await;
    assert!(gone.status.is_success(), "{} {}", gone.status, text(&gone));
    let n = api(
        &app,
        Method::GET,
        &format!("/api/v1/networks/entities/{car}"),
        &w.police,
        None,
    )
    .await
    .json();
    assert_eq!(n["network_children"], 1, "{n}");
}
