//! Concerns in full: several children at once, indicators, the front door, drafts saved as the
//! professional types (background save and the no-JavaScript button), in pages and the API.
//! SQLite always, PostgreSQL when TEST_DATABASE_URL is set.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use crate::support::{TestApp, app};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;
use mace_domain::identity::admin::{self, AdminActor};
use mace_domain::ports::IdentityRepo;
use uuid::Uuid;

async fn set_front_door(app: &TestApp, org_of: Uuid) {
    let (ctx, key) = (app.state.ctx.clone(), app.state.audit_key.clone());
    app.state
        .store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let org = tx.get_user(org_of).await?.unwrap().org_id;
                admin::set_front_door(&ctx, tx, &key, &AdminActor::Operator("test"), Some(org))
                    .await
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_concern_about_two_children_goes_to_the_front_door_and_its_draft_survives() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let amira = child_recorded_by(&app, dsl, "Amira", "Hussain").await;
    let jade = child_recorded_by(&app, dsl, "Jade", "Okafor").await;

    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let url = format!("/concerns/new/{amira}");
    let form = b.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form).contains("call 999"));
    assert!(
        !form.body.contains("to_front_door"),
        "no front door is set up yet"
    );
    set_front_door(&app, sw).await;
    let form = b.get(&url).await;
    assert!(text(&form).contains("Also send it to Estuary Children's Social Care"));
    assert!(text(&form).contains("Unexplained money, gifts, clothes or phones"));
    let token = csrf(&form);

    // The background save (JavaScript), then the page restores it.
    let narrative = "Seen getting into a grey car with an adult after school.";
    let saved = b
        .post(
            &format!("{url}/draft"),
            &[
                ("csrf_token", &token),
                ("narrative", narrative),
                ("ind_vehicles", "yes"),
                ("type_sexual", "yes"),
                ("also", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::NO_CONTENT, "{}", saved.body);
    let restored = b.get(&url).await;
    assert!(text(&restored).contains("Your draft from"));
    assert!(
        restored
            .select_text("#narrative")
            .join("")
            .contains("grey car")
    );
    assert!(
        restored.body.contains(
            r#"id="ind_vehicles" name="ind_vehicles" type="checkbox" value="yes" checked"#
        )
    );
    // Too big to save (over the test server's body limit): refused, the earlier draft kept.
    let huge = "x".repeat(20_001);
    let too_long = b
        .post(
            &format!("{url}/draft"),
            &[("csrf_token", &token), ("narrative", &huge)],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(b.get(&url).await.body.contains("grey car"));
    // Without JavaScript: "Add another child" saves the draft and goes to the search.
    let add = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("action", "add_child"),
                ("narrative", narrative),
                ("ind_vehicles", "yes"),
                ("type_sexual", "yes"),
                ("location", "Outside the school gates"),
            ],
        )
        .await;
    assert_eq!(add.status, StatusCode::SEE_OTHER);
    assert_eq!(
        add.header("location"),
        format!("/concerns/new?with={amira}")
    );
    let find = b.get(&format!("/concerns/new?with={amira}")).await;
    assert!(text(&find).contains("Find another child"));
    let found = b
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("with", &amira.to_string()),
                ("given_name", "Jade"),
                ("family_name", "Okafor"),
            ],
        )
        .await;
    assert!(
        found
            .body
            .contains(&format!("/concerns/new/{amira}?add={jade}")),
        "choosing adds to the concern being written"
    );
    let both = b.get(&format!("{url}?add={jade}")).await;
    let children = both.select_text("#children").join(" ");
    assert!(children.contains("Amira Hussain") && children.contains("Jade Okafor"));
    assert!(
        both.body.contains("Outside the school gates"),
        "the draft saved by ‘Add another child’ is restored"
    );

    // Send it to both children and the front door.
    let sent = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("action", "send"),
                ("also", &jade.to_string()),
                ("narrative", narrative),
                ("type_sexual", "yes"),
                ("ind_vehicles", "yes"),
                ("ind_gifts_money", "yes"),
                ("to_front_door", "yes"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let location = sent.header("location").to_string();
    let view = b.get(&location).await;
    assert_eq!(view.status, StatusCode::OK);
    let indicators = view.select_text("#indicators").join(" ");
    assert!(indicators.contains("Getting into or out of cars driven by unknown adults"));
    assert!(
        view.select_text("#front-door")
            .join("")
            .contains("Estuary Children's Social Care")
    );
    let group = view.select_text("#group").join(" ");
    assert!(
        group.contains("Raised together about 2 children"),
        "{group}"
    );
    assert!(
        group.contains("Jade Okafor"),
        "the raiser sees the other concern"
    );
    // The draft has gone once the concern is sent.
    assert!(!text(&b.get(&url).await).contains("Your draft from"));

    // The front door's social worker sees both in the triage queue, may open the records and
    // may triage.
    let mut csc = Browser::new(&app);
    signed_in(&app, &mut csc, "sw@csc.test").await;
    let queue = csc.get("/concerns").await;
    let rows = queue.select_text("table").join(" ");
    assert!(
        rows.contains("Amira Hussain") && rows.contains("Jade Okafor"),
        "{rows}"
    );
    assert_eq!(
        csc.get(&format!("/children/{jade}")).await.status,
        StatusCode::OK
    );
    let concern_id = location
        .trim_start_matches("/concerns/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = csc.get(&format!("/concerns/{concern_id}")).await;
    let triaged = csc
        .post(
            &format!("/concerns/{concern_id}/triage"),
            &[
                ("csrf_token", &csrf(&page)),
                ("decision", "refer_csc"),
                ("rationale", "Adult in a car, gifts: a referral is needed."),
            ],
        )
        .await;
    assert_eq!(triaged.status, StatusCode::SEE_OTHER, "{}", triaged.body);

    // The API: two children at once, with indicators; unknown codes are named.
    let token = api_token(&app, "dsl@school.test").await;
    let raised = api(
        &app,
        Method::POST,
        "/api/v1/concerns",
        &token,
        Some(serde_json::json!({
            "person_id": amira,
            "also_person_ids": [jade],
            "narrative": "Both seen at the station late at night.",
            "exploitation_types": ["criminal"],
            "indicators": ["locations", "missing"],
        })),
    )
    .await;
    assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.body);
    let body = raised.json();
    assert_eq!(
        body["indicators"],
        serde_json::json!(["locations", "missing"])
    );
    assert_eq!(body["also_raised"].as_array().unwrap().len(), 1);
    assert!(body["group_id"].is_string());
    let bad = api(
        &app,
        Method::POST,
        "/api/v1/concerns",
        &token,
        Some(serde_json::json!({
            "person_id": amira,
            "narrative": "x",
            "exploitation_types": ["criminal"],
            "indicators": ["nonsense"],
        })),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Unknown indicator"));

    let actions = audit_actions(&app, &[Category::Alteration, Category::Consultation]).await;
    assert!(actions.iter().any(|a| a == "concern.draft.save:success"));
    assert!(actions.iter().any(|a| a == "concern.draft.view:success"));
}

#[tokio::test]
async fn search_finds_words_and_names_only_inside_what_the_viewer_may_see() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let amira = child_recorded_by(&app, dsl, "Amira", "Hussain").await;
    let token = api_token(&app, "dsl@school.test").await;
    let raised = api(
        &app,
        Method::POST,
        "/api/v1/concerns",
        &token,
        Some(serde_json::json!({
            "person_id": amira,
            "narrative": "Seen getting into a grey car at the railway stations.",
            "exploitation_types": ["criminal"],
        })),
    )
    .await;
    assert_eq!(raised.status, StatusCode::CREATED);
    let concern = raised.json()["id"].as_str().unwrap().to_string();

    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let page = b.get("/search").await;
    assert_eq!(page.status, StatusCode::OK);
    let token_form = csrf(&page);
    let found = b
        .post(
            "/search",
            &[("csrf_token", &token_form), ("q", "grey station")],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    let hits = found.select_text("#hits").join(" ");
    assert!(
        hits.contains("Amira Hussain") && hits.contains("grey car"),
        "{hits}"
    );
    assert!(found.body.contains(&format!("/concerns/{concern}")));
    let by_name = b
        .post("/search", &[("csrf_token", &token_form), ("q", "amira")])
        .await;
    assert!(
        by_name
            .select_text("#children")
            .join(" ")
            .contains("Amira Hussain")
    );
    let empty = b
        .post("/search", &[("csrf_token", &token_form), ("q", " *** ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&empty).contains("Enter words to search for"));

    // Children's social care has no relationship with Amira: nothing, not even her name.
    let mut sw = Browser::new(&app);
    signed_in(&app, &mut sw, "sw@csc.test").await;
    let page = sw.get("/search").await;
    for q in ["grey car", "amira"] {
        let r = sw
            .post("/search", &[("csrf_token", &csrf(&page)), ("q", q)])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            !r.body.contains("Amira") && !r.body.contains("railway"),
            "{q}"
        );
        assert!(r.select_text("#hits").is_empty() && r.select_text("#children").is_empty());
    }
    let sw_token = api_token(&app, "sw@csc.test").await;
    let none = api(
        &app,
        Method::POST,
        "/api/v1/search",
        &sw_token,
        Some(serde_json::json!({ "q": "grey car" })),
    )
    .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["hits"].as_array().unwrap().len(), 0);
    let some = api(
        &app,
        Method::POST,
        "/api/v1/search",
        &token,
        Some(serde_json::json!({ "q": "grey car" })),
    )
    .await;
    assert_eq!(some.json()["hits"][0]["kind"], "concern");
    assert_eq!(some.json()["hits"][0]["id"], concern);
    let actions = audit_actions(&app, &[Category::Consultation]).await;
    assert!(actions.iter().filter(|a| *a == "search:success").count() >= 6);
}

#[tokio::test]
async fn a_concern_form_refuses_what_it_does_not_offer_and_saves_no_draft() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let amira = child_recorded_by(&app, dsl, "Amira", "Hussain").await;
    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let url = format!("/concerns/new/{amira}");
    let token = csrf(&b.get(&url).await);
    let narrative = "Seen getting into a grey car with an adult after school.";

    // A button the form does not have is not "send".
    let r = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("action", "publish"),
                ("narrative", narrative),
                ("type_sexual", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // "Save as draft" with a date box holding something no date has: the form again, saying
    // what is wrong; no draft.
    let r = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("action", "save_draft"),
                ("narrative", narrative),
                ("observed-day", "abc"),
                ("observed-month", "13"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.select_text(".govuk-error-summary__list a"),
        [
            "The day it happened must be a number from 1 to 31",
            "The month it happened must be a number from 1 to 12"
        ]
    );
    assert!(r.select_text("#narrative").join("").contains("grey car"));
    // The background save likewise; a day being typed ("0" of "05") is fine.
    for (day, want) in [
        ("99999", StatusCode::UNPROCESSABLE_ENTITY),
        ("0", StatusCode::NO_CONTENT),
    ] {
        let r = b
            .post(
                &format!("{url}/draft"),
                &[
                    ("csrf_token", &token),
                    ("narrative", narrative),
                    ("observed-day", day),
                ],
            )
            .await;
        assert_eq!(r.status, want, "{day}: {}", r.body);
    }

    // Other children that are not ids are refused, not dropped.
    for action in ["send", "save_draft"] {
        let r = b
            .post(
                &url,
                &[
                    ("csrf_token", &token),
                    ("action", action),
                    ("also", "not-a-child"),
                    ("narrative", narrative),
                    ("type_sexual", "yes"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
    }
    let sent = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{amira}"),
        &api_token(&app, "dsl@school.test").await,
        None,
    )
    .await;
    assert_eq!(
        sent.json()["chronology"].as_array().map(Vec::len),
        Some(0),
        "nothing was sent: {}",
        sent.body
    );
}
