//! Group programmes (issue 6, items 3 and 6): a team manager of the exploitation service adds a
//! peer programme for young women aged 13 to 16 and a cohort; a worker offers places (refused
//! with reasons for a child too young, a boy, a full cohort, and a child the service has no
//! relationship with), records attendance and outcomes and a withdrawal; another agency sees the
//! cohort without its children; the child's record lists the programme; the same over the API;
//! the chronology and the audit trail.

use crate::browser::*;
use crate::cases::{
    CSC, PARTNERSHIP, api, api_token, audit_actions, child_recorded_by, location, org_id, text,
};
use crate::support::TestApp;
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use mace_domain::cases;
use mace_domain::person::{Gender, NewPerson, PersonKind, PersonName};
use mace_domain::ports::{AuditLog, IdentityRepo};
use time::macros::date;
use uuid::Uuid;

const SERVICE: (&str, OrgType) = ("Estuary Exploitation Service", OrgType::SpecialistService);

/// A child recorded by `user` (their organisation becomes involved), with a gender.
async fn child(app: &TestApp, user: Uuid, given: &str, dob: time::Date, gender: Gender) -> Uuid {
    let (ctx, key) = (app.state.ctx.clone(), app.state.audit_key.clone());
    let given = given.to_string();
    app.state
        .store
        .write(|tx| {
            let (ctx, key, given) = (ctx.clone(), key.clone(), given.clone());
            Box::pin(async move {
                let u = tx.get_user(user).await?.unwrap();
                let now = ctx.clock.now();
                let actor = cases::load_actor(tx, &u, Some(now), now).await?;
                let new = NewPerson {
                    kind: PersonKind::Child,
                    given_name: PersonName::parse("given_name", &given).unwrap(),
                    family_name: PersonName::parse("family_name", "Testchild").unwrap(),
                    date_of_birth: Some(dob),
                    dob_approximate: false,
                    gender,
                    postcode: Some(mace_domain::postcode::Postcode::parse("SS1 2AB").unwrap()),
                };
                Ok(cases::create_child(&ctx, tx, &key, &actor, new).await?.id)
            })
        })
        .await
        .unwrap()
}

/// The consultations of one child's record recorded as views of a cohort.
async fn cohort_views(app: &TestApp, child: Uuid) -> usize {
    app.state
        .store
        .read(|tx| Box::pin(async move { tx.audit_for_target(child, 500).await }))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.body.action == "programme.cohort.view")
        .count()
}

#[tokio::test]
async fn a_peer_programme_runs_a_cohort_with_eligibility_attendance_and_outcomes() {
    let app = crate::support::app().await;
    let tm = add_user_at(&app, "tm@service.test", Role::TeamManager, Some(SERVICE)).await;
    let worker = add_user_at(
        &app,
        "worker@service.test",
        Role::ExploitationWorker,
        Some(SERVICE),
    )
    .await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        &app,
        "pm@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    let service = org_id(&app, SERVICE.0).await;
    // The clock starts on Monday 5 January 2026.
    let jade = child(&app, worker, "Jade", date!(2011 - 04 - 09), Gender::Female).await;
    let kayla = child(&app, worker, "Kayla", date!(2010 - 06 - 01), Gender::Female).await;
    let mia = child(&app, worker, "Mia", date!(2014 - 02 - 01), Gender::Female).await;
    let tyler = child(&app, worker, "Tyler", date!(2011 - 05 - 05), Gender::Male).await;
    let ruby = child(&app, worker, "Ruby", date!(2012 - 01 - 01), Gender::Female).await;
    // A child only children's social care works with.
    let chloe = child_recorded_by(&app, sw, "Chloe", "Outside").await;
    let _ = tm;

    // A worker may not add programmes: the form is refused, and a posted one recorded.
    let mut w = Browser::new(&app);
    signed_in(&app, &mut w, "worker@service.test").await;
    assert_eq!(w.get("/programmes/new").await.status, StatusCode::FORBIDDEN);
    let wtoken = csrf(&w.get("/account/tokens").await);
    let no = w
        .post(
            "/programmes/new",
            &[
                ("csrf_token", &wtoken),
                ("name", "Worker's own group"),
                ("org_id", &service.to_string()),
            ],
        )
        .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);

    // The service's team manager adds the programme: errors first, then the programme.
    let mut m = Browser::new(&app);
    signed_in(&app, &mut m, "tm@service.test").await;
    let list = m.get("/programmes").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(text(&list).contains("There are no group programmes yet"));
    let form = m.get("/programmes/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    let bad = m
        .post(
            "/programmes/new",
            &[
                ("csrf_token", &token),
                ("name", "Peer programme for young women"),
                ("org_id", &service.to_string()),
                ("min_age", "16"),
                ("max_age", "13"),
                ("session_count", "seven"),
                ("districts", "SS1 nowhere"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(
        said.contains("The number of sessions must be a whole number"),
        "{said}"
    );
    let again = m
        .post(
            "/programmes/new",
            &[
                ("csrf_token", &token),
                ("name", "Peer programme for young women"),
                ("org_id", &service.to_string()),
                ("min_age", "16"),
                ("max_age", "13"),
                ("session_count", "7"),
                ("capacity", "2"),
                ("districts", "SS1 nowhere"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&again);
    for expected in [
        "Describe the programme",
        "The oldest age must be the same as or more than the youngest",
        "nowhere is not a postcode district",
    ] {
        assert!(said.contains(expected), "{expected}: {said}");
    }
    assert!(
        again.body.contains("Peer programme for young women"),
        "kept"
    );
    let ok = m
        .post(
            "/programmes/new",
            &[
                ("csrf_token", &token),
                ("name", "Peer programme for young women"),
                ("org_id", &service.to_string()),
                (
                    "description",
                    "Seven weekly group sessions on healthy relationships, online safety and \
                     where to get help, led by youth workers.",
                ),
                ("min_age", "13"),
                ("max_age", "16"),
                ("gender_female", "yes"),
                ("districts", ""),
                ("session_count", "7"),
                ("capacity", "2"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let programme_page = location(&ok).replace("?done=created", "");
    let programme_id = programme_page
        .trim_start_matches("/programmes/")
        .to_string();
    let page = m.get(&programme_page).await;
    let shown = text(&page);
    assert!(
        shown.contains("13 to 16") && shown.contains("Female"),
        "{shown}"
    );

    // A cohort of seven weekly sessions from today, with topics.
    let cohorts = format!("{programme_page}/cohorts");
    let c = m
        .post(
            &cohorts,
            &[
                ("csrf_token", &token),
                ("start-day", "5"),
                ("start-month", "1"),
                ("start-year", "2026"),
                ("venue", "Southend youth centre"),
                ("facilitators", "Two youth workers from the service"),
                (
                    "topics",
                    "Getting to know each other\nHealthy relationships",
                ),
            ],
        )
        .await;
    assert_eq!(c.status, StatusCode::SEE_OTHER, "{}", c.body);
    let cohort_page = location(&c).replace("?done=created", "");
    let cohort_id = cohort_page.trim_start_matches("/cohorts/").to_string();
    let sessions = m.get(&cohort_page).await;
    let all = text(&sessions);
    assert!(
        all.contains("16 February 2026") && all.contains("Healthy relationships"),
        "the seventh session six weeks on: {all}"
    );

    // The worker offers places: Jade and Kayla are eligible; the others are refused, with why.
    let cohort = w.get(&cohort_page).await;
    assert_eq!(cohort.status, StatusCode::OK);
    let options = cohort.select_text("#person_id option").join(" | ");
    assert!(
        options.contains("Jade Testchild (14 at the start)"),
        "{options}"
    );
    assert!(
        !options.contains("Chloe"),
        "not a child the service works with"
    );
    let add = format!("{cohort_page}/members");
    for (who, expected) in [
        (jade, StatusCode::SEE_OTHER),
        (mia, StatusCode::UNPROCESSABLE_ENTITY),
        (tyler, StatusCode::UNPROCESSABLE_ENTITY),
        (kayla, StatusCode::SEE_OTHER),
        (ruby, StatusCode::UNPROCESSABLE_ENTITY),
        (jade, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = w
            .post(
                &add,
                &[("csrf_token", &wtoken), ("person_id", &who.to_string())],
            )
            .await;
        assert_eq!(r.status, expected, "{who}: {}", r.body);
        if expected == StatusCode::UNPROCESSABLE_ENTITY {
            let said = r.select_text(".govuk-error-summary").join(" ");
            let reason = if who == mia {
                "Mia Testchild is 11 on the cohort's start date (5 January 2026); the programme is for ages 13 to 16"
            } else if who == tyler {
                "The programme is for female young people; Tyler Testchild's recorded gender is male"
            } else if who == ruby {
                "The cohort is full: all 2 places are taken"
            } else {
                "Jade Testchild is already in this cohort"
            };
            assert!(said.contains(reason), "{reason}: {said}");
        }
    }
    let refused = w
        .post(
            &add,
            &[("csrf_token", &wtoken), ("person_id", &chloe.to_string())],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "no relationship with Chloe"
    );
    assert!(!refused.body.contains("Outside"));

    // Another agency sees the cohort, not its children; it cannot add any.
    let mut s = Browser::new(&app);
    signed_in(&app, &mut s, "sw@csc.test").await;
    let seen_before = cohort_views(&app, jade).await;
    assert!(
        seen_before >= 1,
        "the worker's views of the cohort are audited"
    );
    let theirs = s.get(&cohort_page).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("Testchild"), "{}", theirs.body);
    assert!(text(&theirs).contains("Only the organisation that runs this programme"));
    assert!(text(&theirs).contains("2 children hold or held places"));
    let stoken = csrf(&s.get("/account/tokens").await);
    let r = s
        .post(
            &add,
            &[("csrf_token", &stoken), ("person_id", &chloe.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        cohort_views(&app, jade).await,
        seen_before,
        "the outsider saw no child"
    );

    // Attendance: the first session (today), not the second (next week).
    let cohort = w.get(&cohort_page).await;
    assert_eq!(
        cohort_views(&app, jade).await,
        seen_before + 1,
        "each view is audited"
    );
    let links: Vec<String> = {
        let html = cohort.html();
        let sel = scraper::Selector::parse("#session-list a").unwrap();
        html.select(&sel)
            .filter_map(|a| a.value().attr("href").map(String::from))
            .collect()
    };
    assert_eq!(links.len(), 1, "only sessions that have taken place");
    let sheet = w.get(&links[0]).await;
    assert_eq!(sheet.status, StatusCode::OK, "{}", sheet.body);
    let member_of = |who: &str| -> String {
        let html = sheet.html();
        let sel = scraper::Selector::parse("fieldset").unwrap();
        let radio = scraper::Selector::parse("input[type=radio]").unwrap();
        html.select(&sel)
            .find(|f| f.text().collect::<String>().contains(who))
            .and_then(|f| f.select(&radio).next())
            .and_then(|r| r.value().attr("name"))
            .unwrap()
            .to_string()
    };
    let (jade_m, kayla_m) = (member_of("Jade"), member_of("Kayla"));
    let saved = w
        .post(
            &links[0],
            &[
                ("csrf_token", &wtoken),
                (&jade_m, "attended"),
                (&kayla_m, "absent"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let cohort = w.get(&cohort_page).await;
    let row = |who: &str| -> String {
        cohort
            .select_text("#member-list tbody tr")
            .into_iter()
            .find(|r| r.contains(who))
            .unwrap_or_default()
    };
    assert!(row("Jade").contains("Attended") && row("Jade").contains("Attending"));
    assert!(row("Kayla").contains("Absent") && row("Kayla").contains("Offered a place"));
    let jade_member = jade_m.trim_start_matches("m_").to_string();
    let kayla_member = kayla_m.trim_start_matches("m_").to_string();

    // The outsider cannot record attendance or outcomes.
    assert_eq!(s.get(&links[0]).await.status, StatusCode::FORBIDDEN);
    let outcome = format!("/programme-members/{jade_member}/outcome");
    let r = s
        .post(
            &outcome,
            &[
                ("csrf_token", &stoken),
                ("outcome", "no_change"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Kayla withdraws (a reason is needed); Jade completes with an outcome.
    let status = format!("/programme-members/{kayla_member}/status");
    assert_eq!(w.get(&status).await.status, StatusCode::OK);
    let no_reason = w
        .post(&status, &[("csrf_token", &wtoken), ("status", "withdrew")])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&no_reason).contains("Say why the child withdrew"));
    let withdrew = w
        .post(
            &status,
            &[
                ("csrf_token", &wtoken),
                ("status", "withdrew"),
                ("reason", "Moved to a foster placement out of the area"),
            ],
        )
        .await;
    assert_eq!(withdrew.status, StatusCode::SEE_OTHER, "{}", withdrew.body);
    let form = w.get(&outcome).await;
    assert_eq!(form.status, StatusCode::OK);
    let wrong = w
        .post(
            &outcome,
            &[
                ("csrf_token", &wtoken),
                ("outcome", "positive_change"),
                ("safety_before", "3"),
                ("safety_after", "11"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&wrong);
    assert!(said.contains("Write a short note"), "{said}");
    assert!(
        said.contains("The rating must be a whole number from 1 to 10"),
        "{said}"
    );
    let done = w
        .post(
            &outcome,
            &[
                ("csrf_token", &wtoken),
                ("outcome", "positive_change"),
                (
                    "note",
                    "Jade says she knows who to go to if an adult online worries her",
                ),
                ("safety_before", "3"),
                ("safety_after", "7"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let cohort = w.get(&cohort_page).await;
    assert!(
        text(&cohort).contains("1 of 2"),
        "Kayla's place is free again"
    );

    // Jade's record: the programme, and the chronology.
    let places = w.get(&format!("/children/{jade}/programmes")).await;
    assert_eq!(places.status, StatusCode::OK);
    let listed = places.select_text("#place-list").join(" ");
    assert!(
        listed.contains("Peer programme for young women")
            && listed.contains("1 of 7 sessions attended")
            && listed.contains("Positive change")
            && listed.contains("3 out of 10 before, 7 after"),
        "{listed}"
    );
    let record = w.get(&format!("/children/{jade}")).await;
    assert!(
        record
            .body
            .contains(&format!("/children/{jade}/programmes"))
    );
    let chronology = record.select_text("#chronology").join(" ");
    for expected in [
        "Offered a place on Peer programme for young women (Estuary Exploitation Service)",
        "Completed Peer programme for young women: Positive change",
    ] {
        assert!(chronology.contains(expected), "{expected}: {chronology}");
    }
    let kayla_record = w.get(&format!("/children/{kayla}")).await;
    assert!(
        kayla_record
            .select_text("#chronology")
            .join(" ")
            .contains("Withdrew from Peer programme for young women: Moved to a foster placement")
    );
    let outsider = s.get(&format!("/children/{jade}/programmes")).await;
    assert_eq!(outsider.status, StatusCode::FORBIDDEN);
    assert!(!outsider.body.contains("Testchild"));

    // The child's page offers the service's cohorts to a child not yet on one: Ruby, refused
    // while the cohort was full, gets Kayla's place.
    let ruby_page = w.get(&format!("/children/{ruby}/programmes")).await;
    assert!(
        ruby_page
            .select_text("#cohort_id option")
            .join(" ")
            .contains("Peer programme for young women, starting 5 January 2026")
    );
    let offered = w
        .post(
            &format!("/children/{ruby}/programmes"),
            &[("csrf_token", &wtoken), ("cohort_id", &cohort_id)],
        )
        .await;
    assert_eq!(offered.status, StatusCode::SEE_OTHER, "{}", offered.body);

    // The API.
    let wt = api_token(&app, "worker@service.test").await;
    let st = api_token(&app, "sw@csc.test").await;
    let pt = api_token(&app, "pm@partnership.test").await;
    let listed = api(&app, Method::GET, "/api/v1/programmes", &st, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["programmes"][0]["genders"][0], "female");
    let got = api(
        &app,
        Method::GET,
        &format!("/api/v1/programmes/{programme_id}"),
        &st,
        None,
    )
    .await;
    assert_eq!(got.json()["cohorts"][0]["places_taken"], 2);
    let created = api(
        &app,
        Method::POST,
        "/api/v1/programmes",
        &pt,
        Some(
            serde_json::json!({"name": "Boys' group", "organisation_id": service,
            "description": "Six sessions for boys at risk of criminal exploitation",
            "min_age": 12, "max_age": 17, "genders": ["male"], "districts": ["ss1", "SS2"],
            "session_count": 6, "capacity": 8}),
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["districts"][1], "SS2");
    let boys = created.json()["id"].as_str().unwrap().to_string();
    let extra = api(
        &app,
        Method::POST,
        "/api/v1/programmes",
        &pt,
        Some(
            serde_json::json!({"name": "X", "organisation_id": service, "description": "x",
            "min_age": 12, "max_age": 17, "session_count": 6, "capacity": 8, "role": "admin"}),
        ),
    )
    .await;
    assert!(
        extra.status.is_client_error(),
        "unknown fields are refused: {}",
        extra.status
    );
    let not_theirs = api(
        &app,
        Method::POST,
        "/api/v1/programmes",
        &wt,
        Some(
            serde_json::json!({"name": "Mine", "organisation_id": service, "description": "x",
            "min_age": 12, "max_age": 17, "session_count": 6, "capacity": 8}),
        ),
    )
    .await;
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    let bc = api(
        &app,
        Method::POST,
        &format!("/api/v1/programmes/{boys}/cohorts"),
        &wt,
        Some(
            serde_json::json!({"start_on": "2026-01-05", "venue": "Football club",
            "facilitators": "Youth worker", "sessions": [
                {"held_on": "2026-01-05", "topic": "Who is looking out for you"},
                {"held_on": "2026-01-12", "topic": "Debts and being controlled"}]}),
        ),
    )
    .await;
    assert_eq!(bc.status, StatusCode::CREATED, "{}", bc.body);
    let bcj = bc.json();
    assert_eq!(bcj["sessions"].as_array().unwrap().len(), 2);
    let bc_id = bcj["id"].as_str().unwrap().to_string();
    let session = bcj["sessions"][0]["id"].as_str().unwrap().to_string();
    let later = bcj["sessions"][1]["id"].as_str().unwrap().to_string();
    let girl = api(
        &app,
        Method::POST,
        &format!("/api/v1/cohorts/{bc_id}/members"),
        &wt,
        Some(serde_json::json!({"child_id": jade})),
    )
    .await;
    assert_eq!(girl.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        girl.body.contains("recorded gender is female"),
        "{}",
        girl.body
    );
    let boy = api(
        &app,
        Method::POST,
        &format!("/api/v1/cohorts/{bc_id}/members"),
        &wt,
        Some(serde_json::json!({"child_id": tyler})),
    )
    .await;
    assert_eq!(boy.status, StatusCode::CREATED, "{}", boy.body);
    let tyler_m = boy.json()["id"].as_str().unwrap().to_string();
    assert_eq!(boy.json()["status"], "offered");
    let future = api(
        &app,
        Method::POST,
        &format!("/api/v1/programme-sessions/{later}/attendance"),
        &wt,
        Some(serde_json::json!({"marks": [{"member_id": tyler_m, "attendance": "attended"}]})),
    )
    .await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    let marked = api(
        &app,
        Method::POST,
        &format!("/api/v1/programme-sessions/{session}/attendance"),
        &wt,
        Some(serde_json::json!({"marks": [{"member_id": tyler_m, "attendance": "excused"}]})),
    )
    .await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.body);
    assert_eq!(marked.json()["recorded"], 1);
    let by_outsider = api(
        &app,
        Method::POST,
        &format!("/api/v1/programme-sessions/{session}/attendance"),
        &st,
        Some(serde_json::json!({"marks": [{"member_id": tyler_m, "attendance": "absent"}]})),
    )
    .await;
    assert_eq!(by_outsider.status, StatusCode::FORBIDDEN);
    let outcome = api(
        &app,
        Method::POST,
        &format!("/api/v1/programme-members/{tyler_m}/outcome"),
        &wt,
        Some(
            serde_json::json!({"outcome": "further_support", "note": "Referred on for mentoring"}),
        ),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::OK, "{}", outcome.body);
    assert_eq!(outcome.json()["status"], "completed");
    let seen = api(
        &app,
        Method::GET,
        &format!("/api/v1/cohorts/{bc_id}"),
        &wt,
        None,
    )
    .await;
    let seen = seen.json();
    assert_eq!(seen["members"][0]["child_name"], "Tyler Testchild");
    assert_eq!(seen["members"][0]["attendance"][0]["attendance"], "excused");
    let hidden = api(
        &app,
        Method::GET,
        &format!("/api/v1/cohorts/{bc_id}"),
        &st,
        None,
    )
    .await;
    assert_eq!(hidden.status, StatusCode::OK);
    let hidden = hidden.json();
    assert_eq!(hidden["members"].as_array().unwrap().len(), 0);
    assert_eq!(hidden["members_hidden"], 1);
    assert!(!hidden.to_string().contains("Tyler"));
    let mine = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{tyler}/programmes"),
        &wt,
        None,
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(
        mine.json()["places"][0]["place"]["outcome"],
        "further_support"
    );
    assert_eq!(mine.json()["places"][0]["excused"], 1);
    let no = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{tyler}/programmes"),
        &st,
        None,
    )
    .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
    let openapi = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/programmes",
        "/api/v1/programmes/{id}",
        "/api/v1/programmes/{id}/cohorts",
        "/api/v1/cohorts/{id}",
        "/api/v1/cohorts/{id}/members",
        "/api/v1/programme-sessions/{id}/attendance",
        "/api/v1/programme-members/{id}/outcome",
        "/api/v1/children/{id}/programmes",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }

    // The audit trail: every change, every refusal, and each child seen on a cohort.
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
    assert_eq!(count("programme.create:success"), 2, "{actions:?}");
    assert_eq!(count("programme.create:denied"), 2, "{actions:?}");
    assert_eq!(count("programme.cohort.create:success"), 2, "{actions:?}");
    assert_eq!(count("programme.member.add:success"), 4, "{actions:?}");
    assert_eq!(count("programme.member.add:denied"), 2, "{actions:?}");
    assert_eq!(count("programme.attendance:success"), 3, "{actions:?}");
    assert!(count("programme.attendance:denied") >= 2, "{actions:?}");
    assert_eq!(count("programme.outcome:success"), 2, "{actions:?}");
    assert!(count("programme.outcome:denied") >= 1, "{actions:?}");
    assert_eq!(count("programme.member.status:success"), 1, "{actions:?}");
    assert!(count("programme.child.view:denied") >= 2, "{actions:?}");
    assert!(count("programme.child.view:success") >= 3, "{actions:?}");
    assert!(count("programme.cohort.view:success") >= 6, "{actions:?}");
    let _ = (mia, kayla);
}
