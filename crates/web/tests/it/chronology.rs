//! A child's chronology: filters by type, agency and date, and corrections as addenda (the
//! entry itself never changes), in pages and the API. SQLite always, PostgreSQL when
//! TEST_DATABASE_URL is set.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use crate::support::{TestApp, app};
use axum::http::{Method, StatusCode};
use mace_domain::Clock;
use mace_domain::audit::Category;
use mace_domain::authz::{Marking, OrgType, Role};
use mace_domain::cases::{self, ChronologyEntry};
use mace_domain::ports::IdentityRepo;
use time::Duration;
use uuid::Uuid;

/// An entry on `child`'s chronology by `user`'s organisation, `days_ago` before the clock.
async fn entry(
    app: &TestApp,
    user: Uuid,
    child: Uuid,
    id: u128,
    days_ago: i64,
    summary: &str,
    marking: Option<Marking>,
) -> Uuid {
    let (ctx, summary) = (app.state.ctx.clone(), summary.to_string());
    app.state
        .store
        .write(|tx| {
            let (ctx, summary) = (ctx.clone(), summary.clone());
            Box::pin(async move {
                use mace_domain::ports::CaseRepo;
                let u = tx.get_user(user).await?.unwrap();
                let now = ctx.clock.now();
                tx.insert_chronology(&ChronologyEntry {
                    id: Uuid::from_u128(id),
                    person_id: child,
                    kind: "concern".into(),
                    source_id: Uuid::from_u128(id + 1000),
                    org_id: u.org_id,
                    event_at: now - Duration::days(days_ago),
                    recorded_at: now,
                    summary,
                    marking,
                })
                .await
            })
        })
        .await
        .unwrap();
    Uuid::from_u128(id)
}

fn day_parts(app: &TestApp, days_ago: i64) -> (String, String, String) {
    let d = mace_web::format::uk(app.clock.now() - Duration::days(days_ago)).date();
    (
        d.day().to_string(),
        u8::from(d.month()).to_string(),
        d.year().to_string(),
    )
}

#[tokio::test]
async fn the_chronology_filters_by_date_and_takes_corrections_beside_the_entry() {
    let app = app().await;
    let dsl = add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let pio = add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(("Estuary Police", OrgType::Police)),
    )
    .await;
    add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let child = child_recorded_by(&app, dsl, "Jade", "Whitmore").await;
    let old = entry(&app, dsl, child, 1, 40, "Seen at the station late", None).await;
    let recent = entry(&app, dsl, child, 2, 3, "Missed two days of school", None).await;
    // The police are involved too, with an entry only they see.
    app.state
        .store
        .write(|tx| {
            Box::pin(async move {
                use mace_domain::ports::CaseRepo;
                let u = tx.get_user(pio).await?.unwrap();
                tx.insert_involvement(&cases::Involvement {
                    person_id: child,
                    org_id: u.org_id,
                    reason: cases::InvolvementReason::HoldsCase,
                    is_lead: false,
                    created_at: time::OffsetDateTime::UNIX_EPOCH,
                })
                .await
            })
        })
        .await
        .unwrap();
    let police_only = entry(
        &app,
        pio,
        child,
        3,
        5,
        "Vehicle seen twice",
        Some(Marking::PoliceOnly),
    )
    .await;

    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "dsl@school.test").await;
    let url = format!("/children/{child}");
    let all = b.get(&url).await;
    assert_eq!(all.status, StatusCode::OK);
    let shown = all.select_text("#chronology").join(" ");
    assert!(shown.contains("Seen at the station") && shown.contains("Missed two days"));
    // A date window: from 10 days ago to today shows the recent entry only.
    let (d, m, y) = day_parts(&app, 10);
    let (td, tm, ty) = day_parts(&app, 0);
    let page = b
        .get(&format!(
            "{url}?from-day={d}&from-month={m}&from-year={y}&to-day={td}&to-month={tm}&to-year={ty}"
        ))
        .await;
    let shown = page.select_text("#chronology").join(" ");
    assert!(shown.contains("Missed two days"), "{shown}");
    assert!(!shown.contains("Seen at the station"), "{shown}");
    assert!(
        page.select_text("#chronology caption")
            .join("")
            .contains("Showing 1 of 2")
    );
    // A date that is not real is named, and that end of the range is left open.
    let bad = b
        .get(&format!("{url}?from-day=31&from-month=2&from-year=2026"))
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(text(&bad).contains("The ‘from’ date must be a real date"));
    assert!(
        bad.select_text("#chronology")
            .join(" ")
            .contains("Seen at the station")
    );

    // A correction: too short first (named, nothing stored), then a real one.
    let form_url = format!("/children/{child}/chronology/{old}/correct");
    let form = b.get(&form_url).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form).contains("Seen at the station late"));
    let token = csrf(&form);
    let short = b
        .post(&form_url, &[("text", "wrong"), ("csrf_token", &token)])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&short).contains("Write the correction in 10 to 5,000 characters"));
    let fix = "It was the bus station, not the railway station.";
    let done = b
        .post(&form_url, &[("text", fix), ("csrf_token", &token)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.header("location"),
        format!("/children/{child}?corrected=1#entry-{old}")
    );
    let corrected = b.get(&format!("/children/{child}?corrected=1")).await;
    let row = corrected.select_text(&format!("#entry-{old}")).join(" ");
    assert!(
        row.contains("Seen at the station late"),
        "the entry is unchanged"
    );
    assert!(
        row.contains("Correction added") && row.contains(fix),
        "{row}"
    );
    // The correction follows its entry through the filters, and is not an entry of its own.
    let page = b
        .get(&format!("{url}?from-day={d}&from-month={m}&from-year={y}"))
        .await;
    assert!(!page.body.contains(fix));
    assert!(
        corrected
            .select_text("#chronology caption")
            .join("")
            .contains("of 2 entries"),
        "a correction is not counted as an entry"
    );

    // The school cannot correct (or even find) the police-only entry.
    let hidden = b
        .get(&format!(
            "/children/{child}/chronology/{police_only}/correct"
        ))
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let hidden = b
        .post(
            &format!("/children/{child}/chronology/{police_only}/correct"),
            &[
                ("text", "An attempt to correct a hidden entry"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    // An unrelated social worker cannot add one either.
    let mut sw = Browser::new(&app);
    signed_in(&app, &mut sw, "sw@csc.test").await;
    let sw_form = sw.get("/account").await;
    let refused = sw
        .post(
            &form_url,
            &[
                ("text", "A correction from outside"),
                ("csrf_token", &csrf(&sw_form)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The API: a police correction to the police-only entry carries its marking, so the school
    // never sees it; the school's filtered chronology; bad dates are a 422.
    let police = api_token(&app, "pio@police.test").await;
    let added = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/chronology/{police_only}/addenda"),
        &police,
        Some(serde_json::json!({ "text": "The vehicle was seen three times." })),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.json()["kind"], "addendum");
    assert_eq!(added.json()["source_id"], police_only.to_string());
    let school = api_token(&app, "dsl@school.test").await;
    let view = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &school,
        None,
    )
    .await;
    let body = view.body.clone();
    assert!(!body.contains("three times") && !body.contains("Vehicle seen"));
    let kinds: Vec<String> = view.json()["chronology"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["concern", "addendum", "concern"]);
    let from = mace_web::format::uk(app.clock.now() - Duration::days(10)).date();
    let narrowed = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}?from={from}"),
        &school,
        None,
    )
    .await;
    assert_eq!(narrowed.json()["chronology"].as_array().unwrap().len(), 1);
    assert_eq!(narrowed.json()["chronology"][0]["id"], recent.to_string());
    let bad = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}?from=yesterday"),
        &school,
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let police_view = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &police,
        None,
    )
    .await;
    assert!(police_view.body.contains("three times"));

    let actions = audit_actions(&app, &[Category::Alteration, Category::AuthzDenied]).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("chronology.addendum"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "chronology.addendum:success",
            "chronology.addendum:denied",
            "chronology.addendum:success"
        ]
    );
}

#[tokio::test]
async fn names_and_identifiers_are_checked_and_shown_on_the_record() {
    let app = app().await;
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
    let url = format!("/children/{child}/identifiers");
    let form = b.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    // A mistyped NHS number is caught and what was typed is kept.
    let bad = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("kind", "nhs_number"),
                ("value", "943 476 5918"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad).contains("Enter a real NHS number"));
    assert!(bad.body.contains("943 476 5918"));
    let none = b
        .post(
            &url,
            &[("csrf_token", &token), ("kind", ""), ("value", "x")],
        )
        .await;
    assert!(text(&none).contains("Select what kind"));
    for (kind, value) in [
        ("nhs_number", "9434765919"),
        ("street_name", "Little J"),
        ("phone", "07700 900123"),
    ] {
        let ok = b
            .post(
                &url,
                &[("csrf_token", &token), ("kind", kind), ("value", value)],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{kind}: {}", ok.body);
    }
    let again = b
        .post(
            &url,
            &[
                ("csrf_token", &token),
                ("kind", "phone"),
                ("value", "+44 7700 900123"),
            ],
        )
        .await;
    assert!(
        text(&again).contains("already on the record"),
        "the same number typed another way"
    );
    let record = b.get(&format!("/children/{child}?identified=1")).await;
    let shown = record.select_text("#identifier-list").join(" ");
    assert!(
        shown.contains("943 476 5919")
            && shown.contains("Little J")
            && shown.contains("+447700900123"),
        "{shown}"
    );

    // The API shows them and adds more, with the same checks; others cannot add.
    let token = api_token(&app, "dsl@school.test").await;
    let view = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}"),
        &token,
        None,
    )
    .await;
    assert_eq!(view.json()["identifiers"].as_array().unwrap().len(), 3);
    let added = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/identifiers"),
        &token,
        Some(serde_json::json!({ "kind": "pnc", "value": "02/123456x" })),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.json()["value"], "02/123456X");
    let other = api_token(&app, "sw@csc.test").await;
    let refused = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/identifiers"),
        &other,
        Some(serde_json::json!({ "kind": "alias", "value": "Jay" })),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let actions = audit_actions(&app, &[Category::Alteration, Category::AuthzDenied]).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("person.identifier.add"))
            .count(),
        5,
        "four added, one refused: {actions:?}"
    );
}
