//! Teams (issue 5, item 5 "for each role and team"): the partnership administrator adds a team
//! and puts people in it; the team manager sees the team's caseload and open plan actions at
//! `/work/team` and over the API; a manager without a team and a social worker are refused, and
//! the refusals are recorded. SQLite, and PostgreSQL when set.

use crate::browser::*;
use crate::cases::{CSC, SCHOOL, api, api_token, audit_actions, child_recorded_by, text};
use axum::http::{Method, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::{OrgType, Role};
use mace_domain::plans::{ActionStatus, Plan, PlanAction, PlanSection, RiskLevel};
use mace_domain::ports::{CaseRepo, IdentityRepo, PlanRepo};
use time::Duration;
use uuid::Uuid;

const PARTNERSHIP: (&str, OrgType) = ("Estuary Partnership", OrgType::Partnership);

async fn org_id(app: &crate::support::TestApp, name: &str) -> Uuid {
    let name = name.to_string();
    app.state
        .store
        .read(|tx| Box::pin(async move { tx.list_orgs().await }))
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == name)
        .unwrap()
        .id
}

async fn team_of(app: &crate::support::TestApp, user: Uuid) -> Option<Uuid> {
    app.state
        .store
        .read(|tx| Box::pin(async move { tx.get_user(user).await }))
        .await
        .unwrap()
        .unwrap()
        .team_id
}

/// Allocate the child to `sw` and agree a plan with an action named to `sw`, due yesterday.
async fn allocate_with_overdue_action(app: &crate::support::TestApp, child: Uuid, sw: Uuid) {
    let ctx = app.state.ctx.clone();
    let org = app
        .state
        .store
        .read(|tx| Box::pin(async move { tx.get_user(sw).await }))
        .await
        .unwrap()
        .unwrap()
        .org_id;
    app.state
        .store
        .write(|tx| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let now = ctx.clock.now();
                let today = now.date();
                tx.allocate(child, sw, now).await?;
                let plan = Plan {
                    id: Uuid::from_u128(0x7e01),
                    person_id: child,
                    risk_level: RiskLevel::High,
                    assessment_id: None,
                    lead_user_id: sw,
                    lead_org_id: org,
                    agreed_on: today,
                    next_review_on: today + Duration::days(30),
                    danger_statement: "Adults are exploiting her; harm will continue".into(),
                    safety_goal: "She is safe at home every night".into(),
                    org_id: org,
                    created_by: sw,
                    created_at: now,
                    closed_at: None,
                    closed_by: None,
                    close_reason: None,
                };
                tx.insert_plan(&plan).await?;
                tx.insert_plan_action(&PlanAction {
                    id: Uuid::from_u128(0x7e02),
                    plan_id: plan.id,
                    section: PlanSection::Child,
                    description: "Visit her at home with the youth worker".into(),
                    owner_org_id: org,
                    owner_user_id: Some(sw),
                    due_on: today - Duration::days(1),
                    status: ActionStatus::NotStarted,
                    outcome: String::new(),
                    created_by: sw,
                    created_at: now,
                    updated_at: now,
                    completed_at: None,
                })
                .await
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_administrator_makes_a_team_and_its_manager_sees_the_team_work() {
    let app = crate::support::app().await;
    add_user_at(
        &app,
        "admin@p.test",
        Role::PartnershipAdmin,
        Some(PARTNERSHIP),
    )
    .await;
    let sw = add_user_at(&app, "sw@csc.test", Role::SocialWorker, Some(CSC)).await;
    let tm = add_user_at(&app, "tm@csc.test", Role::TeamManager, Some(CSC)).await;
    add_user_at(&app, "tm2@csc.test", Role::TeamManager, Some(CSC)).await;
    add_user_at(
        &app,
        "dsl@school.test",
        Role::DesignatedSafeguardingLead,
        Some(SCHOOL),
    )
    .await;
    let csc = org_id(&app, CSC.0).await;
    let school = org_id(&app, SCHOOL.0).await;

    // The administrator adds a team to children's social care, and one to the school.
    let mut admin = Browser::new(&app);
    signed_in(&app, &mut admin, "admin@p.test").await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(text(&page).contains("No teams yet"));
    let token = csrf(&page);
    let csc_s = csc.to_string();
    let added = admin
        .post(
            "/admin/teams",
            &[
                ("csrf_token", &token),
                ("team_org_id", &csc_s),
                ("team_name", "Exploitation team"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let again = admin
        .post(
            "/admin/teams",
            &[
                ("csrf_token", &token),
                ("team_org_id", &csc_s),
                ("team_name", "exploitation TEAM"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&again).contains("already has a team with that name"));
    let no_name = admin
        .post(
            "/admin/teams",
            &[("csrf_token", &token), ("team_org_id", &csc_s)],
        )
        .await;
    assert_eq!(no_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    let school_s = school.to_string();
    let added = admin
        .post(
            "/admin/teams",
            &[
                ("csrf_token", &token),
                ("team_org_id", &school_s),
                ("team_name", "Pastoral team"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = admin.get("/admin?done=team").await;
    let teams = page.select_text("#teams").join(" ");
    assert!(
        teams.contains("Exploitation team") && teams.contains("Pastoral team"),
        "{teams}"
    );
    let (exploitation, pastoral) = app
        .state
        .store
        .read(|tx| {
            Box::pin(async move { Ok((tx.list_teams(csc).await?, tx.list_teams(school).await?)) })
        })
        .await
        .unwrap();
    let (exploitation, pastoral) = (exploitation[0].id.to_string(), pastoral[0].id.to_string());

    // The user page offers the organisation's teams only; another organisation's is refused.
    let user_page = admin.get(&format!("/admin/users/{sw}")).await;
    assert!(user_page.body.contains(&exploitation));
    assert!(!user_page.body.contains(&pastoral));
    let wrong = admin
        .post(
            &format!("/admin/users/{sw}/team"),
            &[("csrf_token", &token), ("team_id", &pastoral)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&wrong).contains("own organisation"));
    for u in [sw, tm] {
        let set = admin
            .post(
                &format!("/admin/users/{u}/team"),
                &[("csrf_token", &token), ("team_id", &exploitation)],
            )
            .await;
        assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
        assert_eq!(
            team_of(&app, u).await.map(|t| t.to_string()),
            Some(exploitation.clone())
        );
    }
    let user_page = admin.get(&format!("/admin/users/{sw}")).await;
    assert_eq!(user_page.select_text("#team"), vec!["Exploitation team"]);

    // A child allocated to the social worker, with an overdue action named to them.
    let child = child_recorded_by(&app, sw, "Jade", "Whitmore").await;
    allocate_with_overdue_action(&app, child, sw).await;

    let mut b = Browser::new(&app);
    signed_in(&app, &mut b, "tm@csc.test").await;
    let work = b.get("/work").await;
    assert!(work.body.contains("href=\"/work/team\""), "{}", work.body);
    let team = b.get("/work/team").await;
    assert_eq!(team.status, StatusCode::OK, "{}", team.body);
    let caseload = team.select_text("#team-caseload").join(" ");
    assert!(
        caseload.contains("Jade Whitmore") && caseload.contains("Social worker user"),
        "{caseload}"
    );
    let actions = team.select_text("#team-actions").join(" ");
    assert!(
        actions.contains("Visit her at home") && actions.contains("Overdue"),
        "{actions}"
    );
    assert!(text(&team).contains("1 action is overdue"));

    // The same over the API.
    let tm_token = api_token(&app, "tm@csc.test").await;
    let r = api(&app, Method::GET, "/api/v1/work/team", &tm_token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["team_name"], "Exploitation team");
    assert_eq!(j["caseload"][0]["child"]["id"], child.to_string());
    assert_eq!(j["caseload"][0]["allocated_to"][0], sw.to_string());
    assert_eq!(j["actions"][0]["overdue"], true);

    // A manager without a team and a social worker are refused, in the browser and the API.
    let mut b2 = Browser::new(&app);
    signed_in(&app, &mut b2, "tm2@csc.test").await;
    assert_eq!(b2.get("/work/team").await.status, StatusCode::FORBIDDEN);
    let mut b3 = Browser::new(&app);
    signed_in(&app, &mut b3, "sw@csc.test").await;
    assert_eq!(b3.get("/work/team").await.status, StatusCode::FORBIDDEN);
    assert!(!b3.get("/work").await.body.contains("href=\"/work/team\""));
    let sw_token = api_token(&app, "sw@csc.test").await;
    let r = api(&app, Method::GET, "/api/v1/work/team", &sw_token, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let openapi = app.get("/api/v1/openapi.json").await.json();
    assert!(openapi["paths"]["/api/v1/work/team"].is_object());

    // Taking the manager out of the team ends their team view.
    let clear = admin
        .post(
            &format!("/admin/users/{tm}/team"),
            &[("csrf_token", &token), ("team_id", "")],
        )
        .await;
    assert_eq!(clear.status, StatusCode::SEE_OTHER, "{}", clear.body);
    assert_eq!(team_of(&app, tm).await, None);
    assert_eq!(b.get("/work/team").await.status, StatusCode::FORBIDDEN);

    let actions = audit_actions(
        &app,
        &[
            Category::Admin,
            Category::AuthzDenied,
            Category::Consultation,
        ],
    )
    .await;
    let count = |a: &str| actions.iter().filter(|x| x.as_str() == a).count();
    assert_eq!(count("team.create:success"), 2, "{actions:?}");
    assert_eq!(count("user.team:success"), 3, "{actions:?}");
    assert_eq!(count("work.team:success"), 2, "{actions:?}");
    assert_eq!(count("work.team:denied"), 4, "{actions:?}");
}
