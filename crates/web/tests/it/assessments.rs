//! Risk assessments (issue 5): completing one against the framework with the suggested level
//! and its rule shown, a rationale demanded where judgement differs, a team manager's sign-off
//! setting the review date, the review falling overdue on the work list under the fake clock,
//! the trajectory, a partnership manager's new framework version leaving old assessments on the
//! old one, the API, refusals and audit.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use axum::http::{Method, StatusCode};
use mace_domain::assessment::default_framework;
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const PARTNERSHIP: (&str, OrgType) = ("Estuary Partnership", OrgType::Partnership);

/// Every default indicator answered: `present` ones present with evidence, the rest not present.
fn answers(present: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in default_framework(Uuid::nil(), OffsetDateTime::UNIX_EPOCH).indicators {
        let p = present.contains(&i.code.as_str());
        out.push((
            format!("a_{}", i.code),
            if p { "present" } else { "not_present" }.to_string(),
        ));
        if p {
            out.push((format!("e_{}", i.code), "Seen by staff this week".into()));
            out.push((format!("d_{}", i.code), "1/11/2025".into()));
        }
    }
    out
}

fn with(base: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = base.to_vec();
    v.extend(extra.iter().map(|(k, x)| (k.to_string(), x.to_string())));
    v
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

#[tokio::test]
async fn an_assessment_is_completed_signed_off_and_reviewed_on_time() {
    let app = crate::support::app().await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    add_user_at(&app, "tm@csc.test", Role::TeamManager, Some(CSC)).await;
    add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    add_user_at(
        &app,
        "pm@partnership.test",
        Role::PartnershipManager,
        Some(PARTNERSHIP),
    )
    .await;
    let child = child_recorded_by(&app, sw, "Jade", "Whitmore").await;
    let mut b = Browser::new(&app);
    let sw_secret = signed_in(&app, &mut b, "sw@csc.test").await;
    let url = format!("/children/{child}/assessments/new");
    let form = b.get(&url).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(text(&form).contains("Framework version 1"));
    let token = csrf(&form);
    let base = with(
        &answers(&["gifts_money", "phones"]),
        &[("csrf_token", &token)],
    );

    // Working out the suggestion shows the rule; judgement differs without a reason: refused.
    let s = b
        .post(&url, &pairs(&with(&base, &[("step", "suggest")])))
        .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let rule = s.select_text("#suggestion-rule").join(" ");
    assert!(
        rule.contains("1 significant indicator present") && rule.contains("4 points"),
        "{rule}"
    );
    assert_eq!(
        s.select_text("#suggested").join(""),
        "Suggested level: Medium"
    );
    let bad = b
        .post(
            &url,
            &pairs(&with(
                &base,
                &[("step", "submit"), ("judged_level", "high")],
            )),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(&bad).contains("differs from the suggested level"),
        "{}",
        text(&bad)
    );
    assert!(bad.body.contains("Seen by staff this week"), "answers kept");
    // Evidence is needed for what is present; an unanswered indicator is named.
    let mut missing = base.clone();
    missing.retain(|(k, _)| k != "e_phones" && k != "a_fear");
    let bad = b
        .post(
            &url,
            &pairs(&with(
                &missing,
                &[("step", "submit"), ("judged_level", "medium")],
            )),
        )
        .await;
    let said = text(&bad);
    assert!(
        said.contains("Write the evidence for") && said.contains("Say whether this is present"),
        "{said}"
    );
    let ok = b
        .post(
            &url,
            &pairs(&with(
                &base,
                &[
                    ("step", "submit"),
                    ("judged_level", "high"),
                    (
                        "rationale",
                        "Seen getting into the same car three times this week",
                    ),
                    ("child_views", "Says the driver is a friend"),
                    (
                        "family_views",
                        "His mum worries he is putting himself at risk",
                    ),
                ],
            )),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let view_url = ok.header("location").split('?').next().unwrap().to_string();
    let view = b.get(&view_url).await;
    assert_eq!(view.select_text("#status").join(""), "Awaiting sign-off");
    assert!(
        view.select_text("#sign-off").is_empty(),
        "a social worker cannot sign off"
    );
    assert!(
        view.select_text("#wording")
            .join(" ")
            .contains("putting himself at risk"),
        "wording suggestions, never blocking"
    );

    // The team manager signs it off; the review date follows the level (High: 42 days).
    let mut tm = Browser::new(&app);
    signed_in(&app, &mut tm, "tm@csc.test").await;
    let work = tm.get("/work").await;
    assert!(
        work.select_text("#awaiting")
            .join(" ")
            .contains("Jade Whitmore")
    );
    let page = tm.get(&view_url).await;
    let tm_token = csrf(&page);
    let signed = tm
        .post(
            &format!("{view_url}/sign-off"),
            &[("csrf_token", &tm_token)],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let page = tm.get(&view_url).await;
    assert_eq!(page.select_text("#status").join(""), "Signed off");
    let due = (app.state.ctx.clock.now() + Duration::days(42)).date();
    assert!(!page.select_text("#review-due").is_empty());
    let again = tm
        .post(
            &format!("{view_url}/sign-off"),
            &[("csrf_token", &tm_token)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Reminder before, overdue after.
    app.clock.advance(Duration::days(30));
    sign_in_again(&app, &mut b, "sw@csc.test", &sw_secret).await;
    let work = b.get("/work").await;
    assert!(
        work.select_text("#due").join(" ").contains("Jade Whitmore"),
        "due within 14 days"
    );
    assert!(
        work.select_text("#caseload")
            .join(" ")
            .contains("Jade Whitmore")
    );
    app.clock.advance(Duration::days(13));
    assert!(app.state.ctx.clock.now().date() > due);
    sign_in_again(&app, &mut b, "sw@csc.test", &sw_secret).await;
    let work = b.get("/work").await;
    assert!(
        work.select_text("#overdue")
            .join(" ")
            .contains("Jade Whitmore"),
        "{}",
        work.body
    );

    // The school, not involved, cannot start one or read it.
    let mut school = Browser::new(&app);
    signed_in(&app, &mut school, "dsl@school.test").await;
    assert_eq!(school.get(&url).await.status, StatusCode::FORBIDDEN);
    assert_eq!(school.get(&view_url).await.status, StatusCode::FORBIDDEN);
    let work = school.get("/work").await;
    assert!(
        !work.body.contains("Jade"),
        "work lists stay inside the scope"
    );

    // A partnership manager adds an indicator: version 2; the old assessment keeps version 1.
    let mut pm = Browser::new(&app);
    signed_in(&app, &mut pm, "pm@partnership.test").await;
    let fw = pm.get("/framework").await;
    assert_eq!(fw.status, StatusCode::OK);
    let t = csrf(&fw);
    let bad = pm
        .post(
            "/framework/indicators",
            &[("csrf_token", &t), ("category", ""), ("label", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let added = pm
        .post(
            "/framework/indicators",
            &[
                ("csrf_token", &t),
                ("category", "Links to known exploiters"),
                ("label", "Carries a weapon, or talks about needing one"),
                ("weight", "significant"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert!(
        pm.get("/framework")
            .await
            .select_text("#versions")
            .join(" ")
            .contains("Carries a weapon")
    );
    assert_eq!(
        b.post("/framework/indicators", &[("csrf_token", &t)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let old = b.get(&view_url).await;
    assert!(text(&old).contains("Framework version 1"));
    assert!(
        !old.body.contains("Carries a weapon"),
        "the old assessment shows the old framework"
    );
    let new_form = b.get(&url).await;
    assert!(
        text(&new_form).contains("Framework version 2")
            && new_form.body.contains("Carries a weapon")
    );
    // Levels and review intervals, and taking an indicator out: each a new version too.
    let t = csrf(&pm.get("/framework").await);
    let bad = pm
        .post(
            "/framework/settings",
            &[
                ("csrf_token", &t),
                ("medium_at", "5"),
                ("high_at", "4"),
                ("review_high", "42"),
                ("review_medium", "90"),
                ("review_low", "x"),
                ("review_none", "180"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let said = text(&bad);
    assert!(
        said.contains("High must start at more points") && said.contains("7 to 365 days"),
        "{said}"
    );
    let ok = pm
        .post(
            "/framework/settings",
            &[
                ("csrf_token", &t),
                ("medium_at", "3"),
                ("high_at", "7"),
                ("review_high", "28"),
                ("review_medium", "90"),
                ("review_low", "90"),
                ("review_none", "180"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let out = pm
        .post(
            "/framework/indicators/isolation/retire",
            &[("csrf_token", &t)],
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let fw = pm.get("/framework").await;
    assert!(text(&fw).contains("Version 4"), "{}", text(&fw));
    assert!(
        !fw.body.contains("/framework/indicators/isolation/retire")
            && fw
                .select_text("#versions")
                .join(" ")
                .contains("Taken out: Isolated from family"),
        "taken out of the current version"
    );
    assert!(fw.body.contains("High from 7"));
    let pm_token = api_token(&app, "pm@partnership.test").await;
    let put = api(
        &app,
        Method::PUT,
        "/api/v1/framework/settings",
        &pm_token,
        Some(serde_json::json!({"medium_at": 3, "high_at": 6, "review_days": [42, 90, 90, 180]})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json()["version"], 5);
    let gone = api(
        &app,
        Method::DELETE,
        "/api/v1/framework/indicators/nothing_like_this",
        &pm_token,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let sw_token = api_token(&app, "sw@csc.test").await;
    let refused = api(
        &app,
        Method::DELETE,
        "/api/v1/framework/indicators/care",
        &sw_token,
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(b.get(&url).await.body.contains("Framework version 5"));

    // The API: the framework, a second assessment (on version 2), the trajectory.
    let token = api_token(&app, "sw@csc.test").await;
    let f = api(&app, Method::GET, "/api/v1/framework", &token, None)
        .await
        .json();
    assert_eq!(f["version"], 5);
    let mut list: Vec<serde_json::Value> = f["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| serde_json::json!({"code": i["code"], "answer": "not_present"}))
        .collect();
    list[0] = serde_json::json!({"code": "missing_repeat", "answer": "present", "evidence": "Three times in October", "observed_on": "2025-10-30"});
    let stale = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/assessments"),
        &token,
        Some(serde_json::json!({"framework_id": Uuid::nil(), "answers": list, "judged_level": "medium"})),
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::CONFLICT,
        "an out-of-date framework"
    );
    let second = api(
        &app,
        Method::POST,
        &format!("/api/v1/children/{child}/assessments"),
        &token,
        Some(
            serde_json::json!({"framework_id": f["id"], "answers": list, "judged_level": "medium"}),
        ),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.json()["suggested_level"], "medium");
    let traj = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}/assessments"),
        &token,
        None,
    )
    .await;
    let t = traj.json();
    assert_eq!(t.as_array().unwrap().len(), 2);
    let came = t[1]["came"].to_string();
    let went = t[1]["went"].to_string();
    assert!(
        came.contains("missing") || came.contains("Goes missing"),
        "{came}"
    );
    assert!(went.contains("money"), "{went}");
    let page = b.get(&format!("/children/{child}/assessments")).await;
    assert!(
        page.select_text("#trajectory")
            .join(" ")
            .contains("No longer present")
    );
    assert!(page.body.contains("trajectory-chart"));
    let school_token = api_token(&app, "dsl@school.test").await;
    let refused = api(
        &app,
        Method::GET,
        &format!("/api/v1/children/{child}/assessments"),
        &school_token,
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let work = api(&app, Method::GET, "/api/v1/work", &token, None)
        .await
        .json();
    assert_eq!(work["reviews_overdue"].as_array().unwrap().len(), 1);

    let actions = audit_actions(
        &app,
        &[
            Category::Collection,
            Category::Alteration,
            Category::AuthzDenied,
        ],
    )
    .await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("assessment.submit:success"), 2, "{actions:?}");
    assert_eq!(count("assessment.sign_off:success"), 1, "{actions:?}");
    assert_eq!(count("framework.change:success"), 4, "{actions:?}");
    assert!(
        count("assessment.start:denied") >= 1 && count("assessment.list:denied") >= 1,
        "{actions:?}"
    );
}
