//! Team work lists on both engines: children allocated to any member of a team, the members'
//! open plan actions, and assessment reviews and sign-offs of those children, each filtered by
//! the viewer's scope and by team membership inside the query.

use super::merges::setup;
use mace_domain::assessment::{Assessment, AssessmentLine, AssessmentStatus, RiskLevel};
use mace_domain::authz::{Role, Scope};
use mace_domain::cases::{Involvement, InvolvementReason};
use mace_domain::identity::model::{Email, Team, User, UserStatus};
use mace_domain::person::{Gender, Person, PersonKind};
use mace_domain::plans::{ActionStatus, Plan, PlanAction, PlanSection};
use mace_domain::ports::{AssessmentRepo, CaseRepo, IdentityRepo, PersonRepo, PlanRepo, TeamRepo};
use mace_domain::{Error, Result};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::OffsetDateTime;
use time::macros::{date, datetime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn user(n: u128, team: Option<u128>, role: Role) -> Result<User> {
    Ok(User {
        id: id(n),
        org_id: id(11),
        team_id: team.map(id),
        email: Email::parse(&format!("u{n}@council.example")).map_err(|_| Error::NotFound)?,
        display_name: format!("User {n}"),
        roles: vec![role],
        status: UserStatus::Active,
        password_hash: None,
        password_changed_at: None,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: T0,
        updated_at: T0,
    })
}

fn action(n: u128, plan: u128, user: Option<u128>, status: ActionStatus) -> PlanAction {
    PlanAction {
        id: id(n),
        plan_id: id(plan),
        section: PlanSection::Child,
        description: format!("Action {n}"),
        owner_org_id: id(11),
        owner_user_id: user.map(id),
        due_on: date!(2026 - 03 - 20),
        status,
        outcome: String::new(),
        created_by: id(20),
        created_at: T0,
        updated_at: T0,
        completed_at: None,
    }
}

fn plan(n: u128, person: u128) -> Plan {
    Plan {
        id: id(n),
        person_id: id(person),
        risk_level: mace_domain::plans::RiskLevel::High,
        assessment_id: None,
        lead_user_id: id(20),
        lead_org_id: id(11),
        agreed_on: date!(2026 - 02 - 20),
        next_review_on: date!(2026 - 04 - 20),
        danger_statement: "Adults are exploiting her; harm will continue".into(),
        safety_goal: "She is safe at home every night".into(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
        closed_at: None,
        closed_by: None,
        close_reason: None,
    }
}

fn assessment(n: u128, person: u128, due: Option<time::Date>) -> Assessment {
    Assessment {
        id: id(n),
        person_id: id(person),
        framework_id: id(1000),
        status: if due.is_some() {
            AssessmentStatus::SignedOff
        } else {
            AssessmentStatus::Submitted
        },
        learning_disability: false,
        suggested_level: RiskLevel::Medium,
        judged_level: RiskLevel::Medium,
        rationale: String::new(),
        child_views: String::new(),
        family_views: String::new(),
        assessor_id: id(20),
        assessor_org: id(11),
        created_at: T0,
        signed_off_by: due.map(|_| id(21)),
        signed_off_at: due.map(|_| T0),
        review_due: due,
        answers: vec![],
    }
}

fn scope(org: u128, user: u128) -> Scope {
    Scope::Related {
        org_id: id(org),
        user_id: id(user),
        now: T0,
        police: false,
    }
}

/// On top of the merges fixture (council 11, school 10; social worker 20; child 1 led by the
/// council; child 2 allocated to 20 and marked staff-involved): teams 30 and 31 of the council,
/// 20 and manager 21 in team 30, worker 22 in team 31; child 1 allocated to 20, child 3 to 22.
async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    for (n, name) in [(30u128, "Exploitation team"), (31, "Duty team")] {
        tx.insert_team(&Team {
            id: id(n),
            org_id: id(11),
            name: name.into(),
            created_at: T0,
        })
        .await?;
    }
    let mut sw = tx.get_user(id(20)).await?.ok_or(Error::NotFound)?;
    sw.team_id = Some(id(30));
    tx.update_user(&sw).await?;
    tx.insert_user(&user(21, Some(30), Role::TeamManager)?)
        .await?;
    tx.insert_user(&user(22, Some(31), Role::SocialWorker)?)
        .await?;
    tx.insert_person(&Person {
        id: id(3),
        kind: PersonKind::Child,
        given_name: "Jordan".into(),
        family_name: "Adeyemi".into(),
        date_of_birth: Some(date!(2010 - 01 - 01)),
        dob_approximate: false,
        gender: Gender::Male,
        postcode: None,
        created_at: T0,
        updated_at: T0,
    })
    .await?;
    tx.insert_involvement(&Involvement {
        person_id: id(3),
        org_id: id(11),
        reason: InvolvementReason::RaisedConcern,
        is_lead: true,
        created_at: T0,
    })
    .await?;
    tx.allocate(id(1), id(20), T0).await?;
    tx.allocate(id(3), id(22), T0).await?;
    tx.insert_plan(&plan(400, 1)).await?;
    tx.insert_plan(&plan(401, 2)).await?;
    tx.insert_plan(&plan(402, 3)).await?;
    tx.insert_plan_action(&action(500, 400, Some(20), ActionStatus::NotStarted))
        .await?;
    tx.insert_plan_action(&action(501, 400, Some(22), ActionStatus::NotStarted))
        .await?;
    tx.insert_plan_action(&action(502, 400, None, ActionStatus::InProgress))
        .await?;
    tx.insert_plan_action(&action(503, 400, Some(20), ActionStatus::Done))
        .await?;
    tx.insert_plan_action(&action(504, 401, Some(20), ActionStatus::NotStarted))
        .await?;
    tx.insert_plan_action(&action(505, 402, Some(20), ActionStatus::NotStarted))
        .await?;
    tx.insert_framework(&mace_domain::assessment::default_framework(id(1000), T0))
        .await?;
    tx.insert_assessment(&assessment(600, 1, Some(date!(2026 - 03 - 10))))
        .await?;
    tx.insert_assessment(&assessment(601, 2, Some(date!(2026 - 03 - 10))))
        .await?;
    tx.insert_assessment(&assessment(602, 3, Some(date!(2026 - 03 - 10))))
        .await?;
    tx.insert_assessment(&assessment(603, 1, None)).await?;
    tx.insert_assessment(&assessment(604, 3, None)).await
}

type Lists = (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, Vec<Uuid>);

async fn lists(tx: &mut Tx, scope: &Scope, team: u128) -> Result<Lists> {
    let ids = |v: Vec<AssessmentLine>| v.into_iter().map(|l| l.assessment.id).collect();
    Ok((
        tx.team_caseload(scope, id(team), 100)
            .await?
            .into_iter()
            .map(|(p, _)| p.id)
            .collect(),
        tx.team_actions(scope, id(team), 100)
            .await?
            .into_iter()
            .map(|(a, _)| a.id)
            .collect(),
        ids(tx
            .team_reviews_due(scope, id(team), date!(2026 - 12 - 31))
            .await?),
        ids(tx.team_awaiting_sign_off(scope, id(team)).await?),
    ))
}

async fn team_lists_apply_membership_and_scope(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let stored = tx.get_user(id(20)).await?.map(|u| u.team_id);
                let teams = tx.list_teams(id(11)).await?;
                let manager = lists(tx, &scope(11, 21), 30).await?;
                let other_team = lists(tx, &scope(11, 21), 31).await?;
                let school = lists(tx, &scope(10, 21), 30).await?;
                let nothing = lists(tx, &Scope::Nothing, 30).await?;
                let members = tx.team_caseload(&scope(11, 21), id(30), 100).await?;
                // The social worker leaves the team: the team's lists empty.
                let mut sw = tx.get_user(id(20)).await?.ok_or(Error::NotFound)?;
                sw.team_id = None;
                tx.update_user(&sw).await?;
                let after = lists(tx, &scope(11, 21), 30).await?;
                Ok((
                    stored, teams, manager, other_team, school, nothing, members, after,
                ))
            })
        })
        .await
        .unwrap();
    let (stored, teams, manager, other_team, school, nothing, members, after) = got;
    assert_eq!(stored, Some(Some(id(30))), "update_user stores the team");
    assert_eq!(
        teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["Duty team", "Exploitation team"]
    );
    // Child 2 is allocated to a member but staff-involved (the manager is not cleared): out.
    assert_eq!(manager.0, vec![id(1)], "the team's caseload");
    assert_eq!(
        members.first().map(|m| m.1),
        Some(id(20)),
        "with its worker"
    );
    assert_eq!(
        manager.1,
        vec![id(500), id(505)],
        "open actions named to members, in scope; others' and org-only ones left out"
    );
    assert_eq!(manager.2, vec![id(600)], "reviews of team children");
    assert_eq!(
        manager.3,
        vec![id(603)],
        "awaiting sign-off for team children"
    );
    assert_eq!(other_team.0, vec![id(3)]);
    assert_eq!(other_team.1, vec![id(501)]);
    assert_eq!(other_team.2, vec![id(602)]);
    assert_eq!(other_team.3, vec![id(604)]);
    assert_eq!(
        school,
        (vec![], vec![], vec![], vec![]),
        "outside the scope"
    );
    assert_eq!(nothing, (vec![], vec![], vec![], vec![]));
    assert_eq!(
        after,
        (vec![], vec![], vec![], vec![]),
        "no members, no lists"
    );
}

async fn team_names_are_unique_per_organisation(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                let t = |n: u128, org: u128| Team {
                    id: id(n),
                    org_id: id(org),
                    name: "Exploitation team".into(),
                    created_at: T0,
                };
                tx.insert_team(&t(30, 11)).await?;
                tx.insert_team(&t(31, 10)).await?;
                Ok(())
            })
        })
        .await;
    assert!(got.is_ok(), "the same name in two organisations");
    let dup = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.insert_team(&Team {
                    id: id(32),
                    org_id: id(11),
                    name: "Exploitation team".into(),
                    created_at: T0,
                })
                .await
            })
        })
        .await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
}

mace_testkit::contract_tests!(
    team_lists_apply_membership_and_scope,
    team_names_are_unique_per_organisation
);
