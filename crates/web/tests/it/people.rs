//! People around a child (issue 4): addresses, the school, relationships with search before
//! create, adults' records opened only through linked children, the same over the API, and
//! search before create finding a child by an earlier postcode or a shared NHS number.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use mace_domain::ports::IdentityRepo;
use uuid::Uuid;

fn after_redirect(r: &crate::support::Reply) -> String {
    r.header("location").to_string()
}

#[tokio::test]
async fn addresses_school_and_people_in_a_childs_life() {
    let app = crate::support::app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(&app, dsl, "Jade", "Whitmore").await;
    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;

    // Addresses: errors named field by field, then an earlier and a current one.
    let url = format!("/people/{child}/addresses");
    let token = csrf(&b.get(&url).await);
    let bad = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("line1", ""),
                ("town", "Southend-on-Sea"),
                ("postcode", "NOPE"),
                ("current", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(
        said.contains("Enter the first line of the address"),
        "{said}"
    );
    assert!(
        bad.body.contains("Southend-on-Sea"),
        "what was typed is kept"
    );
    for (line1, postcode, current) in [
        ("4 Old Lane", "SS1 1AA", "no"),
        ("12 Example Road", "SS2 6AB", "yes"),
    ] {
        let ok = b
            .post(
                &url,
                &[
                    ("csrf_token", &token),
                    ("line1", line1),
                    ("town", "Southend-on-Sea"),
                    ("postcode", postcode),
                    ("current", current),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert!(after_redirect(&ok).starts_with(&format!("/children/{child}")));
    }

    // The school, typed by name.
    let url = format!("/children/{child}/school");
    let form = b.get(&url).await;
    assert!(
        text(&form).contains(SCHOOL.0),
        "the partnership's schools are offered"
    );
    let ok = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("school_name", "Seaview High School"),
                ("started-day", "1"),
                ("started-month", "9"),
                ("started-year", "2024"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // A parent: search first (nobody yet), then create and link.
    let find = format!("/children/{child}/related/find");
    let none = b
        .post(
            &find,
            &[
                ("csrf_token", &token),
                ("kind", "parent"),
                ("given_name", "Donna"),
                ("family_name", "Whitmore"),
            ],
        )
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(text(&none).contains("No matching records found"));
    let add = format!("/children/{child}/related");
    let linked = b
        .post(
            &add,
            &[
                ("csrf_token", &token),
                ("kind", "parent"),
                ("given_name", "Donna"),
                ("family_name", "Whitmore"),
                ("gender", "female"),
                ("notes", "Lives with Jade"),
            ],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    // A person of concern known by a street name.
    let poc = b
        .post(
            &add,
            &[
                ("csrf_token", &token),
                ("kind", "person_of_concern"),
                ("given_name", "Unknown"),
                ("family_name", "Male"),
            ],
        )
        .await;
    assert_eq!(poc.status, StatusCode::SEE_OTHER, "{}", poc.body);
    let no_kind = b
        .post(&find, &[("csrf_token", &token), ("given_name", "Donna")])
        .await;
    assert!(text(&no_kind).contains("Select how they are related"));

    let record = b.get(&format!("/children/{child}?identified=1")).await;
    let addresses = record.select_text("#address-list").join(" ");
    assert!(
        addresses.contains("12 Example Road") && addresses.contains("4 Old Lane"),
        "{addresses}"
    );
    assert!(
        addresses.find("Lives at") < addresses.find("Lived at"),
        "current first: {addresses}"
    );
    assert!(
        record
            .select_text("#school-list")
            .join(" ")
            .contains("Seaview High School")
    );
    let links = record.select_text("#link-list").join(" ");
    assert!(
        links.contains("Parent")
            && links.contains("Donna Whitmore")
            && links.contains("Person of concern"),
        "{links}"
    );
    let chronology = record.select_text("#chronology").join(" ");
    assert!(
        chronology.contains("Now attends Seaview High School")
            && chronology.contains("Parent added"),
        "{chronology}"
    );

    // The parent's own record, through the link; searching again finds her.
    let html = record.html();
    let sel = scraper::Selector::parse("#link-list a").unwrap();
    let parent_href = html
        .select(&sel)
        .filter_map(|a| a.value().attr("href"))
        .find(|h| h.starts_with("/people/"))
        .unwrap()
        .to_string();
    let parent = b.get(&parent_href).await;
    assert_eq!(parent.status, StatusCode::OK);
    assert!(text(&parent).contains("Parent or carer"));
    assert!(
        parent
            .select_text("#link-list")
            .join(" ")
            .contains("Parent of")
    );
    let again = b
        .post(
            &find,
            &[
                ("csrf_token", &token),
                ("kind", "parent"),
                ("given_name", "Dona"),
                ("family_name", "Whitmore"),
            ],
        )
        .await;
    assert!(
        again
            .select_text("#candidates")
            .join(" ")
            .contains("Donna Whitmore"),
        "search before create finds the parent already linked"
    );
    let twice = b
        .post(
            &add,
            &[
                ("csrf_token", &token),
                ("kind", "parent"),
                ("person_id", parent_href.trim_start_matches("/people/")),
            ],
        )
        .await;
    assert!(text(&twice).contains("already on the record"));
    let parent_id: Uuid = parent_href.trim_start_matches("/people/").parse().unwrap();

    // A social worker with no relationship to Jade cannot open the parent either.
    let mut other = Browser::new(&app);
    signed_in(&app, &mut other, "sw@csc.test").await;
    let refused = other.get(&parent_href).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Donna"));

    // The API: the record with its profile, adding an address, linking, searching.
    let t = api_token(&app, "dsl@school.test").await;
    let view = api(
        &app,
        Method::GET,
        &format!("/api/v1/people/{child}"),
        &t,
        None,
    )
    .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    let v = view.json();
    assert_eq!(v["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(v["addresses"][0]["current"], true);
    assert_eq!(
        v["postcode"], "SS2 6AB",
        "the current address is the record's postcode"
    );
    assert_eq!(v["schools"][0]["school_name"], "Seaview High School");
    assert_eq!(v["links"].as_array().unwrap().len(), 2);
    let adult = api(
        &app,
        Method::GET,
        &format!("/api/v1/people/{parent_id}"),
        &t,
        None,
    )
    .await;
    assert_eq!(adult.status, StatusCode::OK);
    assert_eq!(adult.json()["links"][0]["label"], "Parent of");
    let addr = api(
        &app,
        Method::POST,
        &format!("/api/v1/people/{parent_id}/addresses"),
        &t,
        Some(
            serde_json::json!({"line1": "12 Example Road", "town": "Southend-on-Sea",
            "postcode": "ss2 6ab", "current": true, "moved_in": "2020-02-30"}),
        ),
    )
    .await;
    assert_eq!(
        addr.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an impossible date"
    );
    let addr = api(
        &app,
        Method::POST,
        &format!("/api/v1/people/{parent_id}/addresses"),
        &t,
        Some(
            serde_json::json!({"line1": "12 Example Road", "town": "Southend-on-Sea",
            "postcode": "ss2 6ab", "current": true, "moved_in": "2020-02-03"}),
        ),
    )
    .await;
    assert_eq!(addr.status, StatusCode::CREATED, "{}", addr.body);
    assert_eq!(addr.json()["postcode"], "SS2 6AB");
    let school_id = app
        .state
        .store
        .read(|tx| Box::pin(async move { tx.list_orgs().await }))
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.org_type == OrgType::School)
        .unwrap()
        .id;
    let moved = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/schools"),
        &t,
        Some(serde_json::json!({"school_organisation_id": school_id})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.body);
    assert_eq!(moved.json()["school_name"], SCHOOL.0);
    let sister = child_recorded_by(&app, dsl, "Amber", "Whitmore").await;
    let sib = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/relationships"),
        &t,
        Some(serde_json::json!({"kind": "sibling", "person_id": sister})),
    )
    .await;
    assert_eq!(sib.status, StatusCode::CREATED, "{}", sib.body);
    let wrong = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/relationships"),
        &t,
        Some(serde_json::json!({"kind": "sibling", "person_id": parent_id})),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a parent is not a sibling"
    );
    let found = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/related/search"),
        &t,
        Some(
            serde_json::json!({"kind": "parent", "given_name": "Donna", "family_name": "Whitmore"}),
        ),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json()[0]["person_id"], parent_id.to_string());
    let sw = api_token(&app, "sw@csc.test").await;
    let hidden = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/related/search"),
        &sw,
        Some(
            serde_json::json!({"kind": "parent", "given_name": "Donna", "family_name": "Whitmore"}),
        ),
    )
    .await;
    assert_eq!(
        hidden.json().as_array().unwrap().len(),
        0,
        "adults outside the caller's scope stay hidden"
    );
    for path in [
        format!("/api/v1/people/{parent_id}"),
        format!("/api/v1/people/{child}"),
    ] {
        let r = api(&app, Method::GET, &path, &sw, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!r.body.contains("Whitmore"));
    }
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/people/{parent_id}/addresses"),
        &sw,
        Some(serde_json::json!({"line1": "1 A Road", "town": "Basildon", "current": false})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let actions = audit_actions(&app, &[Category::Alteration, Category::AuthzDenied]).await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("person.address.add:success"), 3, "{actions:?}");
    assert_eq!(count("person.address.add:denied"), 1, "{actions:?}");
    assert_eq!(count("person.school.set:success"), 2, "{actions:?}");
    assert_eq!(count("person.relationship.add:success"), 3, "{actions:?}");
    assert!(count("record.view:denied") >= 3, "{actions:?}");
}

#[tokio::test]
async fn search_before_create_finds_a_child_who_moved_or_by_nhs_number() {
    let app = crate::support::app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let child = child_recorded_by(&app, dsl, "Tia", "Okafor").await;
    let t = api_token(&app, "dsl@school.test").await;
    for (line1, postcode, current) in [
        ("4 Old Lane", "SS1 1AA", false),
        ("9 New Road", "CM1 1AA", true),
    ] {
        let r = api(
            &app,
            Method::POST,
            &format!("/api/v1/people/{child}/addresses"),
            &t,
            Some(serde_json::json!({"line1": line1, "town": "Essex", "postcode": postcode, "current": current})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/identifiers"),
        &t,
        Some(serde_json::json!({"kind": "nhs_number", "value": "943 476 5919"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // The same over the API, and creating a record there.
    let found = api(
        &app,
        Method::POST,
        "/api/v1/children/find",
        &t,
        Some(serde_json::json!({"given_name": "Tiah", "family_name": "Okafo", "identifier": "943 476 5919"})),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.json()[0]["person_id"], child.to_string());
    assert_eq!(found.json()[0]["reasons"][0], "NHS number matches");
    let bad = api(
        &app,
        Method::POST,
        "/api/v1/children/find",
        &t,
        Some(serde_json::json!({"given_name": "Tia", "identifier": "12"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = api(
        &app,
        Method::POST,
        "/api/v1/children",
        &t,
        Some(serde_json::json!({"given_name": "Rio", "family_name": "Banks", "date_of_birth": "2012-05-06", "postcode": "ss1 1aa"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.json()["postcode"], "SS1 1AA");

    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let token = csrf(&b.get("/concerns/new").await);
    let moved = b
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Tia"),
                ("family_name", "Okafor"),
                ("postcode", "ss1 1aa"),
            ],
        )
        .await;
    let shown = moved.select_text("#candidates").join(" ");
    assert!(shown.contains("lived at SS1 1AA before moving"), "{shown}");
    let by_number = b
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Tiah"),
                ("family_name", "Okaforr"),
                ("identifier", "9434765919"),
            ],
        )
        .await;
    let shown = by_number.select_text("#candidates").join(" ");
    assert!(
        shown.contains("NHS number matches") && shown.contains("Tia Okafor"),
        "{shown}"
    );
    let bad = b
        .post(
            "/concerns/find",
            &[
                ("csrf_token", &token),
                ("given_name", "Tia"),
                ("identifier", "12345"),
                ("postcode", "nope"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(
        said.contains("Enter a real NHS number") && said.contains("postcode"),
        "{said}"
    );
}
