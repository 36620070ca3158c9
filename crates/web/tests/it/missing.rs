//! Missing episodes (issue 6, items 5 and 6): episodes recorded in the browser, the third in 90
//! days raising a prompt shown on the child's missing page and the work list, a child found at a
//! place of concern, the return home interview falling overdue 72 hours after the return under
//! the manual clock, refusals for an unrelated social worker and for roles that may not keep the
//! places of concern, the same over the API, the chronology and the audit trail.

use crate::browser::*;
use crate::cases::{
    CSC, OTHER_CSC, POLICE, SCHOOL, api, api_token, audit_actions, child_recorded_by, hrefs, text,
};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;

/// An episode form's fields: reported at a UK date and time, optionally found.
fn episode_fields<'a>(
    token: &'a str,
    reported: (&'a str, &'a str, &'a str, &'a str),
    found: Option<(&'a str, &'a str, &'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf_token", token),
        ("category", "missing"),
        ("reported-day", reported.0),
        ("reported-month", reported.1),
        ("reported-year", reported.2),
        ("reported-time", reported.3),
        ("reported_by", "parent"),
        ("reporter_name", "Mother"),
        ("from_care", "no"),
        ("risk", "medium"),
    ];
    if let Some((d, m, y, t)) = found {
        f.extend([
            ("found-day", d),
            ("found-month", m),
            ("found-year", y),
            ("found-time", t),
            ("found_by", "returned_themselves"),
            ("found_where", "Came home by herself"),
        ]);
    }
    f
}

#[tokio::test]
async fn the_third_episode_prompts_a_review_and_the_interview_falls_overdue() {
    let app = crate::support::app().await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(
        &app,
        "other@north.test",
        Role::SocialWorker,
        Some(OTHER_CSC),
    )
    .await;
    let child = child_recorded_by(&app, sw, "Jade", "Whitmore").await;
    let page = format!("/children/{child}/missing");

    // The police intelligence officer adds a place of concern (a whole district).
    let mut p = Browser::new(&app);
    signed_in(&app, &mut p, "pio@police.test").await;
    let places = p.get("/places-of-concern").await;
    assert_eq!(places.status, StatusCode::OK);
    let ptoken = csrf(&places);
    let bad = p
        .post(
            "/places-of-concern",
            &[
                ("csrf_token", &ptoken),
                ("name", "Hotel"),
                ("postcode", "nowhere"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&bad).contains("Enter a full postcode"));
    let added = p
        .post(
            "/places-of-concern",
            &[
                ("csrf_token", &ptoken),
                ("name", "Estuary bus station"),
                ("postcode", "ss2"),
                ("note", "Children collected here by cars"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let list = p.get("/places-of-concern").await;
    assert!(
        list.select_text("#places-list")
            .join(" ")
            .contains("SS2 (district)"),
        "{}",
        list.body
    );

    // The school's safeguarding lead may read the list but not add to it.
    let mut d = Browser::new(&app);
    signed_in(&app, &mut d, "dsl@school.test").await;
    let read = d.get("/places-of-concern").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("Add the place"));
    let dtoken = csrf(&d.get("/account/tokens").await);
    let refused = d
        .post(
            "/places-of-concern",
            &[
                ("csrf_token", &dtoken),
                ("name", "Park"),
                ("postcode", "SS1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The social worker: the record links to the page, which starts empty.
    let mut b = Browser::new(&app);
    let secret = signed_in(&app, &mut b, "sw@csc.test").await;
    let record = b.get(&format!("/children/{child}")).await;
    assert!(record.body.contains(&format!("href=\"{page}\"")));
    let empty = b.get(&page).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(text(&empty).contains("No missing episodes have been recorded"));

    // Errors first: no kind, a time in the future, a found time before the report.
    let new = format!("{page}/new");
    let form = b.get(&new).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    let mut wrong = episode_fields(&token, ("6", "1", "2026", "10:00"), None);
    wrong.retain(|(k, _)| *k != "category");
    let r = b.post(&new, &wrong).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&r);
    assert!(said.contains("Select the kind of episode"), "{said}");
    assert!(
        said.contains("The time reported must be now or in the past"),
        "{said}"
    );
    let r = b
        .post(
            &new,
            &episode_fields(
                &token,
                ("4", "1", "2026", "20:00"),
                Some(("4", "1", "2026", "7pm")),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&r).contains("must not be before the time they were reported missing"));
    let r = b
        .post(
            &new,
            &episode_fields(&token, ("4", "1", "2026", "later"), None),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&r).contains("must have a real time"));

    // Two earlier episodes (found the next morning), then a third, still missing.
    for (reported, found) in [
        (
            ("26", "11", "2025", "21:30"),
            Some(("27", "11", "2025", "10:00")),
        ),
        (
            ("20", "12", "2025", "10pm"),
            Some(("21", "12", "2025", "9am")),
        ),
        (("4", "1", "2026", "20:00"), None),
    ] {
        let r = b.post(&new, &episode_fields(&token, reported, found)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.header("location"), format!("{page}?done=recorded"));
    }
    let shown = b.get(&page).await;
    let prompts = shown.select_text("#prompt-list").join(" ");
    assert!(
        prompts.contains("Repeat missing episodes: 3 missing episodes in 90 days"),
        "{prompts}"
    );
    assert!(
        hrefs(&shown, "#prompt-list a").contains(&format!("/children/{child}/assessments/new")),
        "a link to start a risk assessment"
    );
    let all = text(&shown);
    assert!(all.contains("Still missing"), "{all}");
    assert!(
        all.contains("12 hours 30 minutes"),
        "the first was missing 12½ hours: {all}"
    );
    assert!(
        all.contains("3 episodes reported in the last 90 days"),
        "{all}"
    );

    // The work list shows the prompt and the child still missing.
    let work = b.get("/work/missing").await;
    assert_eq!(work.status, StatusCode::OK);
    let w = work.select_text("#prompt-list").join(" ");
    assert!(
        w.contains("Jade Whitmore") && w.contains("Repeat missing"),
        "{w}"
    );
    assert!(
        work.select_text("#still-missing-list")
            .join(" ")
            .contains("Jade Whitmore")
    );

    // Found this morning at a postcode in the district of concern.
    let found_link = hrefs(&shown, "a[href$='/found']")
        .into_iter()
        .next()
        .unwrap();
    let ff = b.get(&found_link).await;
    assert_eq!(ff.status, StatusCode::OK, "{}", ff.body);
    let found = b
        .post(
            &found_link,
            &[
                ("csrf_token", &csrf(&ff)),
                ("found-day", "5"),
                ("found-month", "1"),
                ("found-year", "2026"),
                ("found-time", "8:00am"),
                ("found_by", "police"),
                ("found_where", "Outside the bus station"),
                ("found_postcode", "ss2 5aa"),
                ("found_with", "An older male, not known"),
            ],
        )
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER, "{}", found.body);
    let shown = b.get(&page).await;
    let prompts = shown.select_text("#prompt-list").join(" ");
    assert!(
        prompts.contains("Found at a place of concern") && prompts.contains("Estuary bus station"),
        "{prompts}"
    );
    let work = b.get("/work/missing").await;
    let due = work.select_text("#interview-list").join(" ");
    assert!(
        due.contains("Jade Whitmore") && due.contains("Interview due by 8 January 2026 at 8am"),
        "{due}"
    );

    // The social worker from elsewhere is refused everything and sees nothing.
    let mut o = Browser::new(&app);
    signed_in(&app, &mut o, "other@north.test").await;
    let r = o.get(&page).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("Whitmore"));
    let otoken = csrf(&o.get("/account/tokens").await);
    let r = o
        .post(
            &new,
            &episode_fields(&otoken, ("4", "1", "2026", "20:00"), None),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = o
        .post(
            &found_link,
            &[
                ("csrf_token", &otoken),
                ("found-day", "5"),
                ("found-month", "1"),
                ("found-year", "2026"),
                ("found-time", "8:00"),
                ("found_by", "police"),
                ("found_where", "Somewhere"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let theirs = o.get("/work/missing").await;
    assert!(!theirs.body.contains("Whitmore"));

    // 72 hours after the return the interview is overdue.
    app.clock.advance(time::Duration::hours(73));
    let mut b = Browser::new(&app);
    sign_in_again(&app, &mut b, "sw@csc.test", &secret).await;
    let work = b.get("/work/missing").await;
    let overdue = work.select_text("#interview-list").join(" ");
    assert!(
        overdue.contains("Interview overdue: was due by 8 January 2026 at 8am"),
        "{overdue}"
    );
    assert!(text(&work).contains("interviews are overdue"));

    // The interview is held; the prompt resolved.
    let shown = b.get(&page).await;
    let held_link = hrefs(&shown, "a[href$='/interview/held']")
        .into_iter()
        .next()
        .unwrap();
    let hf = b.get(&held_link).await;
    assert_eq!(hf.status, StatusCode::OK);
    let htoken = csrf(&hf);
    let missing_said = b
        .post(
            &held_link,
            &[
                ("csrf_token", &htoken),
                ("at-day", "8"),
                ("at-month", "1"),
                ("at-year", "2026"),
                ("at-time", "9:30"),
                ("by", "independent_service"),
                ("independent", "yes"),
            ],
        )
        .await;
    assert_eq!(missing_said.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&missing_said).contains("Summarise what the child said"));
    let held = b
        .post(
            &held_link,
            &[
                ("csrf_token", &htoken),
                ("at-day", "8"),
                ("at-month", "1"),
                ("at-year", "2026"),
                ("at-time", "9:30"),
                ("by", "independent_service"),
                ("interviewer", "Return interview service"),
                ("independent", "yes"),
                (
                    "child_said",
                    "Jade said an older male gave her a lift and a phone",
                ),
                ("follow_up", "Shared with the exploitation service"),
            ],
        )
        .await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.body);
    let resolve = hrefs(&b.get(&page).await, "a[href$='/resolve']")
        .into_iter()
        .next()
        .unwrap();
    let rf = b.get(&resolve).await;
    let short = b
        .post(
            &resolve,
            &[("csrf_token", &csrf(&rf)), ("resolution", "done")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = b
        .post(
            &resolve,
            &[
                ("csrf_token", &csrf(&rf)),
                ("resolution", "Risk assessment started"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let shown = b.get(&page).await;
    let s = text(&shown);
    assert!(s.contains("Interview held after 72 hours"), "{s}");
    assert!(s.contains("Resolved"), "{s}");

    // The chronology shows each step.
    let record = b.get(&format!("/children/{child}")).await;
    let chronology = record.select_text("#chronology").join(" ");
    for expected in [
        "Reported missing: reported by parent (Mother)",
        "Came back by themselves after 12 hours 30 minutes",
        "Found by police after 12 hours: Outside the bus station (SS2 5AA)",
        "Prompt to review risk: 3 missing episodes in 90 days",
        "Prompt to review risk: found at Estuary bus station",
        "Return home interview held after 72 hours",
        "Prompt to review risk resolved",
    ] {
        assert!(chronology.contains(expected), "{expected}: {chronology}");
    }

    let actions = audit_actions(
        &app,
        &[
            Category::Alteration,
            Category::AuthzDenied,
            Category::Consultation,
        ],
    )
    .await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("missing.create:success"), 3, "{actions:?}");
    assert_eq!(count("missing.create:denied"), 1, "{actions:?}");
    assert_eq!(count("missing.found:success"), 1, "{actions:?}");
    assert_eq!(count("missing.found:denied"), 1, "{actions:?}");
    assert_eq!(count("missing.prompt.raise:success"), 2, "{actions:?}");
    assert_eq!(count("missing.prompt.resolve:success"), 1, "{actions:?}");
    assert_eq!(count("missing.rhi.held:success"), 1, "{actions:?}");
    assert!(count("missing.view:denied") >= 1, "{actions:?}");
    assert!(count("missing.view:success") >= 3, "{actions:?}");
    assert!(count("missing.work:success") >= 3, "{actions:?}");
    assert_eq!(count("place_of_concern.create:success"), 1, "{actions:?}");
    assert_eq!(count("place_of_concern.create:denied"), 1, "{actions:?}");
}

#[tokio::test]
async fn the_api_records_episodes_interviews_prompts_and_places() {
    let app = crate::support::app().await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        &app,
        "pio@police.test",
        Role::PoliceIntelligenceOfficer,
        Some(POLICE),
    )
    .await;
    add_user_at(
        &app,
        "other@north.test",
        Role::SocialWorker,
        Some(OTHER_CSC),
    )
    .await;
    let child = child_recorded_by(&app, sw, "Kayleigh", "Harrison").await;
    let t = api_token(&app, "sw@csc.test").await;
    let pt = api_token(&app, "pio@police.test").await;
    let outsider = api_token(&app, "other@north.test").await;
    let base = format!("/api/v1/children/{child}/missing");

    // A place of concern (one address), by the police; the social worker may not add one.
    let place = api(
        &app,
        Method::POST,
        "/api/v1/places-of-concern",
        &pt,
        Some(serde_json::json!({"name": "Riverside takeaway", "postcode": "ss1 1aa"})),
    )
    .await;
    assert_eq!(place.status, StatusCode::CREATED, "{}", place.body);
    assert_eq!(place.json()["postcode"], "SS1 1AA");
    assert_eq!(place.json()["outward_code"], "SS1");
    let no = api(
        &app,
        Method::POST,
        "/api/v1/places-of-concern",
        &t,
        Some(serde_json::json!({"name": "Park", "postcode": "SS1"})),
    )
    .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    let list = api(&app, Method::GET, "/api/v1/places-of-concern", &t, None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json().as_array().unwrap().len(), 1);

    // Missing from care, still missing.
    let bad = api(
        &app,
        Method::POST,
        &base,
        &t,
        Some(
            serde_json::json!({"category": "missing", "reported_at": "2026-01-05T08:00:00Z",
            "reported_by": "childrens_home", "from_care": true, "risk_level": "high"}),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("placement"), "{}", bad.body);
    let created = api(
        &app,
        Method::POST,
        &base,
        &t,
        Some(
            serde_json::json!({"category": "missing", "reported_at": "2026-01-04T22:00:00Z",
            "reported_by": "childrens_home", "reporter_name": "Night manager", "from_care": true,
            "placement": "Oak House", "police_reference": "EP-123", "risk_level": "high"}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let e = created.json();
    assert_eq!(e["open"], true);
    assert_eq!(e["return_interview"]["state"], "still_missing");
    let eid = e["id"].as_str().unwrap().to_string();

    // An interview cannot be offered before the child is found.
    let early = api(
        &app,
        Method::POST,
        &format!("/api/v1/missing-episodes/{eid}/return-interview"),
        &t,
        Some(serde_json::json!({"step": "offered", "at": "2026-01-05T08:00:00Z", "by": "social_worker"})),
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);

    // Found at the takeaway: duration, a prompt, the interview due 72 hours after the return.
    let found = api(
        &app,
        Method::PATCH,
        &format!("/api/v1/missing-episodes/{eid}"),
        &t,
        Some(serde_json::json!({"found_at": "2026-01-05T06:00:00Z", "returned_at": "2026-01-05T07:00:00Z",
            "found_where": "Outside a takeaway", "found_postcode": "SS1 1AA", "found_by": "police"})),
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let f = found.json();
    assert_eq!(f["duration_minutes"], 480);
    assert_eq!(f["return_interview"]["state"], "due");
    assert_eq!(f["return_interview"]["due_at"], "2026-01-08T07:00:00Z");
    let future = api(
        &app,
        Method::PATCH,
        &format!("/api/v1/missing-episodes/{eid}"),
        &t,
        Some(serde_json::json!({"found_at": "2026-02-05T06:00:00Z", "found_where": "x", "found_by": "police"})),
    )
    .await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Offered, declined, then a decision not to offer is refused (already offered).
    let step = |body: serde_json::Value| {
        let (app, t, eid) = (&app, t.clone(), eid.clone());
        async move {
            api(
                app,
                Method::POST,
                &format!("/api/v1/missing-episodes/{eid}/return-interview"),
                &t,
                Some(body),
            )
            .await
        }
    };
    let offered = step(
        serde_json::json!({"step": "offered", "at": "2026-01-05T08:30:00Z",
        "by": "independent_service", "name": "Return interview service"}),
    )
    .await;
    assert_eq!(offered.status, StatusCode::OK, "{}", offered.body);
    assert_eq!(
        offered.json()["return_interview"]["offered_by"],
        "independent_service"
    );
    let declined =
        step(serde_json::json!({"step": "declined", "at": "2026-01-05T08:45:00Z"})).await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    assert_eq!(declined.json()["return_interview"]["state"], "declined");
    let not =
        step(serde_json::json!({"step": "not_offered", "reason": "Child declined already"})).await;
    assert_eq!(not.status, StatusCode::CONFLICT);

    // The prompt, resolved over the API; the outsider is refused.
    let prompts = api(&app, Method::GET, &format!("{base}/prompts"), &t, None).await;
    assert_eq!(prompts.status, StatusCode::OK);
    let p = prompts.json();
    assert_eq!(p.as_array().unwrap().len(), 1);
    assert_eq!(p[0]["reason"], "place_of_concern");
    assert_eq!(
        p[0]["assessment_url"],
        format!("/children/{child}/assessments/new")
    );
    let pid = p[0]["id"].as_str().unwrap().to_string();
    let work = api(&app, Method::GET, "/api/v1/work/missing", &t, None).await;
    assert_eq!(work.status, StatusCode::OK);
    assert_eq!(work.json()["prompts"][0]["prompt"]["id"], pid);
    assert_eq!(
        work.json()["interviews"].as_array().unwrap().len(),
        0,
        "declined: nothing to do"
    );
    let theirs = api(&app, Method::GET, "/api/v1/work/missing", &outsider, None).await;
    assert_eq!(theirs.json()["prompts"].as_array().unwrap().len(), 0);
    for (m, path, body) in [
        (Method::GET, base.clone(), None),
        (
            Method::POST,
            format!("/api/v1/missing-prompts/{pid}/resolve"),
            Some(serde_json::json!({"resolution": "Risk assessment started"})),
        ),
    ] {
        let r = api(&app, m, &path, &outsider, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let resolved = api(
        &app,
        Method::POST,
        &format!("/api/v1/missing-prompts/{pid}/resolve"),
        &t,
        Some(serde_json::json!({"resolution": "Risk assessment started"})),
    )
    .await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.body);
    assert!(resolved.json()["resolved_at"].is_string());
    let again = api(
        &app,
        Method::POST,
        &format!("/api/v1/missing-prompts/{pid}/resolve"),
        &t,
        Some(serde_json::json!({"resolution": "Risk assessment started"})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let all = api(&app, Method::GET, &base, &t, None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json()["episodes"][0]["placement"], "Oak House");
    assert_eq!(all.json()["recent_episodes"], 1);

    let openapi = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/children/{id}/missing",
        "/api/v1/children/{id}/missing/prompts",
        "/api/v1/missing-episodes/{id}",
        "/api/v1/missing-episodes/{id}/return-interview",
        "/api/v1/missing-prompts/{id}/resolve",
        "/api/v1/work/missing",
        "/api/v1/places-of-concern",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    assert!(
        openapi["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "missing")
    );

    let actions = audit_actions(&app, &[Category::Alteration, Category::AuthzDenied]).await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("missing.create:success"), 1, "{actions:?}");
    assert_eq!(count("missing.found:success"), 1, "{actions:?}");
    assert_eq!(count("missing.rhi.offered:success"), 1, "{actions:?}");
    assert_eq!(count("missing.rhi.declined:success"), 1, "{actions:?}");
    assert_eq!(count("missing.prompt.raise:success"), 1, "{actions:?}");
    assert_eq!(count("missing.prompt.resolve:success"), 1, "{actions:?}");
    assert_eq!(count("missing.prompt.resolve:denied"), 1, "{actions:?}");
    assert_eq!(count("missing.view:denied"), 1, "{actions:?}");
    assert_eq!(count("place_of_concern.create:denied"), 1, "{actions:?}");
}
