//! The risk management plan (issue 5, item 4): agreeing a plan, an action for a school that then
//! sees it in "my actions" and updates it, refusals for an unrelated social worker, the print
//! view and PDF, meetings and reviews, the review falling overdue under the manual clock, the
//! same over the API, the chronology and the audit trail.

use crate::browser::*;
use crate::cases::{
    CSC, OTHER_CSC, POLICE, SCHOOL, api, api_token, audit_actions, child_recorded_by, hrefs,
    org_id, text,
};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;

fn first_href(r: &crate::support::Reply, selector: &str) -> String {
    hrefs(r, selector)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no link at {selector}: {}", r.body))
}

#[tokio::test]
async fn a_plan_is_agreed_the_school_sees_its_action_and_the_review_falls_overdue() {
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
    let child = child_recorded_by(&app, sw, "Jade", "Whitmore").await;
    let school = org_id(&app, SCHOOL.0).await;
    let police = org_id(&app, POLICE.0).await;

    let mut b = Browser::new(&app);
    let sw_secret = signed_in(&app, &mut b, "sw@csc.test").await;
    let page = format!("/children/{child}/plan");
    let none = b.get(&page).await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(text(&none).contains("has no open risk management plan"));
    let record = b.get(&format!("/children/{child}")).await;
    assert!(record.body.contains(&format!("href=\"{page}\"")));

    // Agree the plan: errors first, field by field, then the plan.
    let new = format!("/children/{child}/plan/new");
    let form = b.get(&new).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    let bad = b
        .post(
            &new,
            &[
                ("csrf_token", &token),
                ("lead_user_id", &sw.to_string()),
                ("agreed-day", "5"),
                ("agreed-month", "1"),
                ("agreed-year", "2026"),
                ("review-day", "1"),
                ("review-month", "1"),
                ("review-year", "2026"),
                ("safety_goal", "Jade sleeps at home every night"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(said.contains("Select the risk level"), "{said}");
    assert!(said.contains("The next review must be after"), "{said}");
    assert!(bad.body.contains("Jade sleeps at home every night"));
    let ok = b
        .post(
            &new,
            &[
                ("csrf_token", &token),
                ("risk_level", "high"),
                ("lead_user_id", &sw.to_string()),
                ("agreed-day", "5"),
                ("agreed-month", "1"),
                ("agreed-year", "2026"),
                ("review-day", "6"),
                ("review-month", "1"),
                ("review-year", "2026"),
                (
                    "danger_statement",
                    "Adults are exploiting Jade; the harm will continue",
                ),
                ("safety_goal", "Jade sleeps at home every night"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.header("location"), format!("{page}?done=agreed"));
    let again = b.get(&new).await;
    assert_eq!(
        again.status,
        StatusCode::SEE_OTHER,
        "one open plan at a time"
    );

    // An action for the school (no named person) and one for the police.
    let add = format!("/children/{child}/plan/actions");
    let form = b.get(&add).await;
    assert!(text(&form).contains(SCHOOL.0));
    let missing = b
        .post(&add, &[("csrf_token", &token), ("section", "child")])
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&missing).contains("Describe the action"));
    for (section, what, org, day) in [
        (
            "child",
            "Daily check-in with a trusted adult at school",
            school,
            "20",
        ),
        (
            "disruption",
            "Visit the takeaway where Jade was seen",
            police,
            "12",
        ),
    ] {
        let done = b
            .post(
                &add,
                &[
                    ("csrf_token", &token),
                    ("section", section),
                    ("description", what),
                    ("owner_org_id", &org.to_string()),
                    ("due-day", day),
                    ("due-month", "1"),
                    ("due-year", "2026"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    let shown = b.get(&page).await;
    let all = text(&shown);
    assert!(
        all.contains("Daily check-in") && all.contains("Estuary Police"),
        "{all}"
    );
    assert!(all.contains("Review due in 1 day"), "{all}");

    // The school's safeguarding lead: the action is in their list, and they can open the record.
    let mut d = Browser::new(&app);
    let dsl_secret = signed_in(&app, &mut d, "dsl@school.test").await;
    let work = d.get("/work/actions").await;
    assert_eq!(work.status, StatusCode::OK);
    let list = work.select_text("#action-list").join(" ");
    assert!(
        list.contains("Jade Whitmore") && list.contains("Daily check-in"),
        "{list}"
    );
    assert!(
        !list.contains("takeaway"),
        "the police's action is not the school's"
    );
    let update = first_href(&work, "#action-list a[href^='/plan-actions/']");
    assert_eq!(
        d.get(&format!("/children/{child}")).await.status,
        StatusCode::OK
    );
    let form = d.get(&update).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let dtoken = csrf(&form);
    let no_outcome = d
        .post(&update, &[("csrf_token", &dtoken), ("status", "done")])
        .await;
    assert_eq!(no_outcome.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&no_outcome).contains("Say what came of the action"));
    let done = d
        .post(
            &update,
            &[
                ("csrf_token", &dtoken),
                ("status", "done"),
                (
                    "outcome",
                    "Check-ins with the head of year started on 8 January",
                ),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // A social worker with no relationship to Jade is refused everything.
    let mut o = Browser::new(&app);
    signed_in(&app, &mut o, "other@north.test").await;
    let refused = o.get(&page).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Whitmore"));
    let otoken = csrf(&o.get("/account/tokens").await);
    let r = o
        .post(
            &update,
            &[("csrf_token", &otoken), ("status", "in_progress")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let theirs = o.get("/work/actions").await;
    assert!(!theirs.body.contains("Whitmore"));
    assert_eq!(
        o.get(&format!("/children/{child}/plan.pdf")).await.status,
        StatusCode::FORBIDDEN
    );

    // A meeting and the print view and PDF.
    let meeting = format!("/children/{child}/plan/meetings");
    b.get(&meeting).await;
    let m = b
        .post(
            &meeting,
            &[
                ("csrf_token", &token),
                ("held-day", "5"),
                ("held-month", "1"),
                ("held-year", "2026"),
                ("attendees", "Social worker, DSL, PC Patel"),
                (&format!("org_{school}"), "yes"),
                ("decisions", "Agree the plan; school check-ins daily"),
            ],
        )
        .await;
    assert_eq!(m.status, StatusCode::SEE_OTHER, "{}", m.body);
    let print = b.get(&format!("{page}?print=1")).await;
    let printed = text(&print);
    assert!(printed.contains("Agree the plan; school check-ins daily"));
    assert!(printed.contains("Check-ins with the head of year"));
    assert!(
        !printed.contains("Add an action"),
        "no controls in the print view"
    );
    let pdf = b.get(&format!("/children/{child}/plan.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
    assert!(pdf.body.contains("Helvetica"));

    // The chronology shows the plan and the action agreed and done.
    let record = b.get(&format!("/children/{child}")).await;
    let chronology = record.select_text("#chronology").join(" ");
    for expected in [
        "Risk management plan agreed",
        "Plan action agreed for Riverside Academy",
        "Plan action done (Riverside Academy)",
        "Plan meeting",
    ] {
        assert!(chronology.contains(expected), "{expected}: {chronology}");
    }

    // The review falls overdue: two days on, on the work list and the plan.
    app.clock.advance(time::Duration::days(2));
    let mut b = Browser::new(&app);
    sign_in_again(&app, &mut b, "sw@csc.test", &sw_secret).await;
    let work = b.get("/work/actions").await;
    let reviews = work.select_text("#review-list").join(" ");
    assert!(
        reviews.contains("Jade Whitmore") && reviews.contains("Review overdue by 1 day"),
        "{reviews}"
    );
    let actions = work.select_text("#action-list").join(" ");
    assert!(
        actions.is_empty(),
        "the social worker owns no action: {actions}"
    );
    let mut d = Browser::new(&app);
    sign_in_again(&app, &mut d, "dsl@school.test", &dsl_secret).await;
    assert!(
        d.get("/work/actions")
            .await
            .select_text("#review-list")
            .join(" ")
            .contains("Review overdue"),
        "the school is involved now, so it sees the review too"
    );

    // The API: the plan, the police's action updated by the police, a review that closes it.
    let t = api_token(&app, "sw@csc.test").await;
    let v = api(&app, Method::GET, &format!("/api/v1{page}"), &t, None).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    let plan = v.json();
    assert_eq!(plan["current"]["risk_level"], "high");
    assert_eq!(plan["current"]["review_state"], "overdue");
    let actions = plan["current"]["actions"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 2);
    let police_action = actions
        .iter()
        .find(|a| a["section"] == "disruption")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        actions
            .iter()
            .find(|a| a["section"] == "disruption")
            .unwrap()["overdue"],
        false
    );
    let dsl_t = api_token(&app, "dsl@school.test").await;
    let not_theirs = api(
        &app,
        Method::PATCH,
        &format!("/api/v1/plan-actions/{police_action}"),
        &dsl_t,
        Some(serde_json::json!({"status": "in_progress"})),
    )
    .await;
    assert_eq!(
        not_theirs.status,
        StatusCode::FORBIDDEN,
        "{}",
        not_theirs.body
    );
    let pt = api_token(&app, "pio@police.test").await;
    let work = api(&app, Method::GET, "/api/v1/work/actions", &pt, None).await;
    assert_eq!(work.status, StatusCode::OK);
    assert_eq!(work.json()["actions"][0]["action"]["id"], police_action);
    let upd = api(
        &app,
        Method::PATCH,
        &format!("/api/v1/plan-actions/{police_action}"),
        &pt,
        Some(serde_json::json!({"status": "in_progress", "outcome": "Visit booked"})),
    )
    .await;
    assert_eq!(upd.status, StatusCode::OK, "{}", upd.body);
    assert_eq!(upd.json()["status"], "in_progress");
    let more = api(
        &app,
        Method::POST,
        &format!("/api/v1{page}/actions"),
        &t,
        Some(serde_json::json!({"section": "parents_carers", "description": "Meet Jade's mother weekly",
            "owner_organisation_id": school, "owner_user_id": sw, "due_on": "2026-02-01"})),
    )
    .await;
    assert_eq!(
        more.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a named person from another organisation: {}",
        more.body
    );
    let outsider = api_token(&app, "other@north.test").await;
    let r = api(
        &app,
        Method::GET,
        &format!("/api/v1{page}"),
        &outsider,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let short = api(
        &app,
        Method::POST,
        &format!("/api/v1{page}/reviews"),
        &t,
        Some(serde_json::json!({"reviewed_on": "2026-01-07", "changes": "Better", "decision": "close"})),
    )
    .await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a closing reason of 10+ characters"
    );
    let review = api(
        &app,
        Method::POST,
        &format!("/api/v1{page}/reviews"),
        &t,
        Some(serde_json::json!({"reviewed_on": "2026-01-07", "changes": "Two missing episodes since the plan",
            "decision": "step_up", "next_review_on": "2026-02-07"})),
    )
    .await;
    assert_eq!(review.status, StatusCode::CREATED, "{}", review.body);
    let closed = api(
        &app,
        Method::POST,
        &format!("/api/v1{page}/close"),
        &t,
        Some(serde_json::json!({"reason": "Jade has moved to a placement out of the area; plan transferred"})),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let c = closed.json();
    assert!(c["current"].is_null());
    assert_eq!(c["earlier"][0]["status"], "closed");
    assert_eq!(c["earlier"][0]["next_review_on"], "2026-02-07");
    let after = api(&app, Method::GET, "/api/v1/work/actions", &pt, None).await;
    assert_eq!(
        after.json()["actions"].as_array().unwrap().len(),
        0,
        "a closed plan's actions leave the work list"
    );
    let openapi = app.get("/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/children/{id}/plan",
        "/api/v1/children/{id}/plan/actions",
        "/api/v1/plan-actions/{id}",
        "/api/v1/work/actions",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }

    let actions = audit_actions(
        &app,
        &[
            Category::Alteration,
            Category::AuthzDenied,
            Category::Export,
        ],
    )
    .await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("plan.create:success"), 1, "{actions:?}");
    assert_eq!(count("plan.action.add:success"), 2, "{actions:?}");
    assert_eq!(count("plan.action.update:success"), 2, "{actions:?}");
    assert_eq!(count("plan.action.update:denied"), 2, "{actions:?}");
    assert!(count("plan.view:denied") >= 2, "{actions:?}");
    assert_eq!(count("plan.meeting.add:success"), 1, "{actions:?}");
    assert_eq!(count("plan.review.add:success"), 1, "{actions:?}");
    assert_eq!(count("plan.close:success"), 1, "{actions:?}");
    assert_eq!(count("plan.pdf:success"), 1, "{actions:?}");
}
