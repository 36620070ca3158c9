//! NRM referrals (issue 6, items 4 and 6): a social worker records a referral (a school is
//! refused as first responder), the RG decision shows as due under the manual clock and as
//! overdue after 5 working days, the content is gathered from the case (audited), decisions
//! follow the recovery period rule, an unrelated social worker is refused everything, the
//! partnership statistics count and suppress, and every step is audited and in the chronology.

use crate::browser::*;
use crate::cases::{
    CSC, OTHER_CSC, PARTNERSHIP, SCHOOL, api, api_token, audit_actions, child_recorded_by, org_id,
    text,
};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;

fn referral_form<'a>(token: &'a str, org: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", token),
        ("first_responder_org_id", org),
        ("first_responder_name", "Grace Adeyemi, social worker"),
        ("exp_criminal", "yes"),
        ("exp_labour", "yes"),
        ("county_lines", "yes"),
        ("location", "uk"),
        ("decision_maker", "sca"),
        ("submitted-day", "5"),
        ("submitted-month", "1"),
        ("submitted-year", "2026"),
        ("home_office_ref", "NRM-2026-0001"),
    ]
}

#[tokio::test]
async fn a_referral_is_recorded_its_rg_decision_falls_due_then_overdue_and_concludes() {
    let app = crate::support::app().await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
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
    add_user_at(
        &app,
        "manager@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    let child = child_recorded_by(&app, sw, "Jade", "Whitmore").await;
    let csc = org_id(&app, CSC.0).await.to_string();
    let school = org_id(&app, SCHOOL.0).await.to_string();

    let mut b = Browser::new(&app);
    let secret = signed_in(&app, &mut b, "sw@csc.test").await;
    let page = format!("/children/{child}/nrm");
    let none = b.get(&page).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    let said = text(&none);
    assert!(said.contains("No NRM referral has been recorded"), "{said}");
    assert!(said.contains("Consent is not needed for a child"), "{said}");

    // Record it: a school is not a first responder; then the social worker's own organisation.
    let new = format!("/children/{child}/nrm/new");
    let form = b.get(&new).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        !form
            .select_text("#first_responder_org_id")
            .join(" ")
            .contains(SCHOOL.0),
        "only first responder organisations are offered"
    );
    let token = csrf(&form);
    let bad = b.post(&new, &referral_form(&token, &school)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(&bad).contains("Choose a first responder organisation"),
        "{}",
        text(&bad)
    );
    let missing = b
        .post(
            &new,
            &[("csrf_token", &token), ("first_responder_org_id", &csc)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&missing);
    assert!(said.contains("Select the types of exploitation"), "{said}");
    assert!(said.contains("Enter the Home Office reference"), "{said}");
    let ok = b.post(&new, &referral_form(&token, &csc)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.header("location"), format!("{page}?done=recorded"));

    // Due under the test clock (Monday 5 January 2026): 5 working days on is Monday 12th.
    let shown = b.get(&page).await;
    let all = text(&shown);
    assert!(all.contains("RG decision due on 12 January 2026"), "{all}");
    assert!(
        all.contains("NRM-2026-0001") && all.contains("county lines"),
        "{all}"
    );
    let list = b.get("/nrm").await;
    assert_eq!(list.status, StatusCode::OK);
    let rows = list.select_text("#nrm-list").join(" ");
    assert!(
        rows.contains("Jade Whitmore") && rows.contains("RG decision due on 12 January 2026"),
        "{rows}"
    );

    // Gathering the content: the child's details, the consent note, a draft from the chronology.
    let content = b.get(&format!("{page}/content")).await;
    assert_eq!(content.status, StatusCode::OK, "{}", content.body);
    let c = text(&content);
    assert!(c.contains("Consent is not required for a child"), "{c}");
    assert!(c.contains("cannot save your progress"), "{c}");
    assert!(c.contains("9 April 2011"), "{c}");
    assert!(
        content
            .body
            .contains("NRM referral submitted on 5 January 2026")
    );

    // An unrelated social worker is refused, and sees nothing in the open list.
    let mut o = Browser::new(&app);
    signed_in(&app, &mut o, "other@north.test").await;
    let refused = o.get(&page).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Whitmore"));
    assert_eq!(
        o.get(&format!("{page}/content")).await.status,
        StatusCode::FORBIDDEN
    );
    let theirs = o.get("/nrm").await;
    assert!(!theirs.body.contains("Whitmore"));
    let otoken = csrf(&o.get("/account/tokens").await);
    assert_eq!(
        o.post(&new, &referral_form(&otoken, &csc)).await.status,
        StatusCode::FORBIDDEN
    );
    let outsider = api_token(&app, "other@north.test").await;
    assert_eq!(
        api(
            &app,
            Method::GET,
            &format!("/api/v1{page}"),
            &outsider,
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let sw_stats = b.get("/nrm/statistics").await;
    assert_eq!(
        sw_stats.status,
        StatusCode::FORBIDDEN,
        "statistics are for managers"
    );

    // Eight days on (Tuesday 13th) the RG decision is overdue.
    app.clock.advance(time::Duration::days(8));
    let mut b = Browser::new(&app);
    sign_in_again(&app, &mut b, "sw@csc.test", &secret).await;
    let late = text(&b.get(&page).await);
    assert!(late.contains("RG decision overdue"), "{late}");
    let list = b.get("/nrm").await;
    assert!(
        text(&list).contains("1 reasonable grounds decision is overdue"),
        "{}",
        text(&list)
    );
    let t = api_token(&app, "sw@csc.test").await;
    let open = api(&app, Method::GET, "/api/v1/nrm", &t, None).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    let open = open.json();
    assert_eq!(open["referrals"][0]["due"]["state"], "rg_overdue");
    assert_eq!(open["referrals"][0]["rg_due_on"], "2026-01-12");
    let rid = open["referrals"][0]["referral_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A CG decision before the RG one is refused; the RG decision through the page.
    let cg_first = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/decisions"),
        &t,
        Some(
            serde_json::json!({"stage": "cg", "decision": "positive", "decided_on": "2026-01-13"}),
        ),
    )
    .await;
    assert_eq!(cg_first.status, StatusCode::UNPROCESSABLE_ENTITY);
    let decide = format!("/nrm-referrals/{rid}/decision");
    let form = b.get(&decide).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let token = csrf(&form);
    let d = b
        .post(
            &decide,
            &[
                ("csrf_token", &token),
                ("stage", "rg"),
                ("decision", "positive"),
                ("decided-day", "13"),
                ("decided-month", "1"),
                ("decided-year", "2026"),
            ],
        )
        .await;
    assert_eq!(d.status, StatusCode::SEE_OTHER, "{}", d.body);
    let after = text(&b.get(&page).await);
    assert!(
        after.contains("Recovery period until 12 February 2026"),
        "{after}"
    );

    // The recovery period: a CG decision dated before its end is refused, on it accepted.
    app.clock.advance(time::Duration::days(31));
    let t = api_token(&app, "sw@csc.test").await;
    let early = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/decisions"),
        &t,
        Some(
            serde_json::json!({"stage": "cg", "decision": "positive", "decided_on": "2026-02-11"}),
        ),
    )
    .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );
    assert!(early.body.contains("recovery period"), "{}", early.body);
    let cg = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/decisions"),
        &t,
        Some(
            serde_json::json!({"stage": "cg", "decision": "positive", "decided_on": "2026-02-12"}),
        ),
    )
    .await;
    assert_eq!(cg.status, StatusCode::OK, "{}", cg.body);
    assert_eq!(cg.json()["due"]["state"], "concluded");
    assert_eq!(cg.json()["recovery_period_ends_on"], "2026-02-12");
    let ictg = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/ictg"),
        &t,
        Some(serde_json::json!({"referred_on": "2026-01-06", "role": "direct_worker", "name": "Sam Guardian"})),
    )
    .await;
    assert_eq!(ictg.status, StatusCode::OK, "{}", ictg.body);
    assert_eq!(ictg.json()["ictg_role"], "direct_worker");
    let extra = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/close"),
        &t,
        Some(
            serde_json::json!({"closed_on": "2026-02-13", "outcome": "withdrawn", "sealed": true}),
        ),
    )
    .await;
    assert!(
        extra.status.is_client_error(),
        "unknown fields are refused: {}",
        extra.status
    );
    let closed = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{rid}/close"),
        &t,
        Some(serde_json::json!({"closed_on": "2026-02-13", "outcome": "conclusive_grounds"})),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.json()["status"], "closed");
    let open = api(&app, Method::GET, "/api/v1/nrm", &t, None).await;
    assert_eq!(open.json()["referrals"].as_array().unwrap().len(), 0);
    let outsider = api_token(&app, "other@north.test").await;
    let one = api(
        &app,
        Method::GET,
        &format!("/api/v1/nrm-referrals/{rid}"),
        &outsider,
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::FORBIDDEN);

    // The chronology shows every step.
    let mut b = Browser::new(&app);
    sign_in_again(&app, &mut b, "sw@csc.test", &secret).await;
    let record = b.get(&format!("/children/{child}")).await;
    let chronology = record.select_text("#chronology").join(" ");
    for expected in [
        "NRM referral submitted on 5 January 2026",
        "NRM reasonable grounds decision: positive",
        "NRM conclusive grounds decision: positive",
        "Independent child trafficking guardian: Sam Guardian",
        "NRM referral closed",
    ] {
        assert!(chronology.contains(expected), "{expected}: {chronology}");
    }

    // The statistics: one referral, so suppressed; zero shown.
    let m = api_token(&app, "manager@partnership.test").await;
    let s = api(&app, Method::GET, "/api/v1/nrm/statistics", &m, None).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let s = s.json();
    assert!(s["referrals"].is_null(), "{s}");
    assert_eq!(s["rg_negative"], 0);
    assert_eq!(s["suppression_threshold"], 5);
    assert!(!s.to_string().contains("Whitmore"));
    let denied = api(&app, Method::GET, "/api/v1/nrm/statistics", &t, None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let openapi = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/children/{id}/nrm",
        "/api/v1/nrm-referrals/{id}",
        "/api/v1/nrm-referrals/{id}/decisions",
        "/api/v1/nrm",
        "/api/v1/nrm/statistics",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
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
    assert_eq!(count("nrm.create:success"), 1, "{actions:?}");
    assert_eq!(count("nrm.create:denied"), 1, "{actions:?}");
    assert_eq!(count("nrm.decision:success"), 2, "{actions:?}");
    assert_eq!(count("nrm.ictg:success"), 1, "{actions:?}");
    assert_eq!(count("nrm.close:success"), 1, "{actions:?}");
    assert!(count("nrm.view:denied") >= 3, "{actions:?}");
    assert_eq!(count("nrm.content:success"), 1, "{actions:?}");
    assert_eq!(count("nrm.content:denied"), 1, "{actions:?}");
    assert!(count("nrm.list:success") >= 3, "{actions:?}");
    assert_eq!(count("nrm.statistics:denied"), 2, "{actions:?}");
    assert_eq!(count("nrm.statistics:success"), 1, "{actions:?}");
}

#[tokio::test]
async fn statistics_count_by_type_and_time_to_decision_and_reconsiderations_change_decisions() {
    let app = crate::support::app().await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(
        &app,
        "manager@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    add_user_at(
        &app,
        "analyst@partnership.test",
        Role::Analyst,
        Some(PARTNERSHIP),
    )
    .await;
    let t = api_token(&app, "sw@csc.test").await;
    let mut referrals = Vec::new();
    let mut children = Vec::new();
    for (i, given) in ["Ava", "Ben", "Cara", "Dan", "Eve", "Finn"]
        .iter()
        .enumerate()
    {
        let child = child_recorded_by(&app, sw, given, "Example").await;
        children.push(child);
        let exploitation = if i < 5 { "criminal" } else { "sexual" };
        let r = api(
            &app,
            Method::POST,
            &format!("/api/v1/children/{child}/nrm"),
            &t,
            Some(serde_json::json!({
                "first_responder_name": "Duty social worker",
                "exploitation": [exploitation],
                "county_lines": i < 5,
                "location": "uk",
                "decision_maker": "devolved_panel",
                "submitted_on": "2026-01-02",
                "home_office_ref": format!("NRM-{i}"),
            })),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let j = r.json();
        assert_eq!(
            j["rg_due_on"], "2026-01-09",
            "5 working days after Friday 2 January"
        );
        referrals.push(j["id"].as_str().unwrap().to_string());
    }
    // RG decisions 1, 2 or 3 days after submission (the clock is 5 January).
    for (i, rid) in referrals.iter().enumerate() {
        let (decision, on) = match i {
            0..=2 => ("positive", "2026-01-03"),
            3 | 4 => ("positive", "2026-01-05"),
            _ => ("negative", "2026-01-04"),
        };
        let d = api(
            &app,
            Method::POST,
            &format!("/api/v1/nrm-referrals/{rid}/decisions"),
            &t,
            Some(serde_json::json!({"stage": "rg", "decision": decision, "decided_on": on})),
        )
        .await;
        assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    }
    // Reconsidering: only a negative decision; the outcome changes it to positive.
    let wrong = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{}/reconsiderations", referrals[0]),
        &t,
        Some(serde_json::json!({"stage": "rg", "requested_on": "2026-01-05", "requested_by": "First responder"})),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let q = api(
        &app,
        Method::POST,
        &format!("/api/v1/nrm-referrals/{}/reconsiderations", referrals[5]),
        &t,
        Some(serde_json::json!({"stage": "rg", "requested_on": "2026-01-05", "requested_by": "First responder"})),
    )
    .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
    let q = q.json();
    assert_eq!(q["due"]["state"], "reconsideration_pending");
    let qid = q["reconsiderations"][0]["id"].as_str().unwrap().to_string();

    // The forms open for the social worker; the narrative is saved from the gathered content.
    let mut w = Browser::new(&app);
    signed_in(&app, &mut w, "sw@csc.test").await;
    let outcome_page = w
        .get(&format!(
            "/nrm-referrals/{}/reconsiderations/{qid}",
            referrals[5]
        ))
        .await;
    assert_eq!(outcome_page.status, StatusCode::OK, "{}", outcome_page.body);
    assert!(text(&outcome_page).contains("Record the reconsideration's outcome"));
    for form in ["ictg", "close", "reconsiderations", "decision"] {
        let r = w
            .get(&format!("/nrm-referrals/{}/{form}", referrals[0]))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{form}: {}", r.body);
    }
    let content = w
        .get(&format!(
            "/children/{}/nrm/content?referral={}",
            children[0], referrals[0]
        ))
        .await;
    assert_eq!(content.status, StatusCode::OK, "{}", content.body);
    assert!(text(&content).contains("Save the narrative"));
    let token = csrf(&content);
    let save = format!("/nrm-referrals/{}/narrative", referrals[0]);
    let empty = w
        .post(&save, &[("csrf_token", &token), ("narrative", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = w
        .post(
            &save,
            &[
                ("csrf_token", &token),
                (
                    "narrative",
                    "Ava was found in another town with older people.",
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = w.get(&format!("/children/{}/nrm", children[0])).await;
    assert!(text(&shown).contains("Ava was found in another town"));
    let wrong_child = w
        .get(&format!(
            "/children/{}/nrm/content?referral={}",
            children[1], referrals[0]
        ))
        .await;
    assert_eq!(wrong_child.status, StatusCode::NOT_FOUND);
    let out = api(
        &app,
        Method::POST,
        &format!(
            "/api/v1/nrm-referrals/{}/reconsiderations/{qid}/outcome",
            referrals[5]
        ),
        &t,
        Some(serde_json::json!({"outcome": "overturned", "outcome_on": "2026-01-05"})),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    let out = out.json();
    assert_eq!(out["rg_decision"], "positive");
    assert_eq!(out["recovery_period_ends_on"], "2026-02-04");
    assert_eq!(out["due"]["state"], "recovery_period");

    let m = api_token(&app, "manager@partnership.test").await;
    let s = api(
        &app,
        Method::GET,
        "/api/v1/nrm/statistics?year=2026",
        &m,
        None,
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let s = s.json();
    assert_eq!(s["referrals"], 6, "{s}");
    assert_eq!(s["rg_positive"], 6, "{s}");
    assert_eq!(s["rg_negative"], 0, "{s}");
    assert_eq!(s["county_lines"], 5, "{s}");
    assert_eq!(s["rg_overdue"], 0, "{s}");
    let by = |e: &str| {
        s["by_exploitation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["exploitation"] == e)
            .unwrap()["referrals"]
            .clone()
    };
    assert_eq!(by("criminal"), 5);
    assert!(by("sexual").is_null(), "one is suppressed");
    assert_eq!(by("labour"), 0);
    // Days to RG: 1, 1, 1, 3, 3, 3 (the overturned one from its outcome's date).
    assert_eq!(s["submission_to_rg"]["count"], 6);
    assert_eq!(s["submission_to_rg"]["median_days"], 2.0);
    assert_eq!(s["submission_to_rg"]["mean_days"], 2.0);
    assert!(s["rg_to_cg"]["median_days"].is_null());
    let none = api(
        &app,
        Method::GET,
        "/api/v1/nrm/statistics?year=2025",
        &m,
        None,
    )
    .await;
    assert_eq!(none.json()["referrals"], 0);
    let bad = api(
        &app,
        Method::GET,
        "/api/v1/nrm/statistics?year=soon",
        &m,
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The page, for the analyst: figures and the suppression note, no names.
    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "analyst@partnership.test").await;
    let page = b.get("/nrm/statistics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let said = text(&page);
    assert!(said.contains("Fewer than 5"), "{said}");
    let rows = page.select_text("#nrm-counts tbody th");
    let figures = page.select_text("#nrm-counts tbody td");
    assert_eq!(rows[0], "Referrals");
    assert_eq!(figures[0], "6", "{figures:?}");
    assert!(!page.body.contains("Example"), "no child is named");
    let open = b.get("/nrm").await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(
        !open.body.contains("Example"),
        "an analyst opens no records"
    );
}
