//! Risk management plans on both engines: plans, actions, meetings and reviews round-trip; the
//! work lists ("my actions", reviews due) apply the viewer's scope in SQL; merges move plans
//! with the duplicate and back.

use super::merges::{merge_row, setup};
use mace_domain::Result;
use mace_domain::authz::Scope;
use mace_domain::cases::{Involvement, InvolvementReason};
use mace_domain::plans::{
    ActionStatus, Plan, PlanAction, PlanMeeting, PlanReview, PlanSection, ReviewDecision, RiskLevel,
};
use mace_domain::ports::{CaseRepo, MergeRepo, PlanRepo};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn plan(n: u128, person: u128, next: Date) -> Plan {
    Plan {
        id: id(n),
        person_id: id(person),
        risk_level: RiskLevel::High,
        assessment_id: None,
        lead_user_id: id(20),
        lead_org_id: id(11),
        agreed_on: date!(2026 - 02 - 20),
        next_review_on: next,
        danger_statement: "Adults are exploiting her for sex; harm will continue".into(),
        safety_goal: "She is safe at home every night".into(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0 + time::Duration::seconds(i64::try_from(n).unwrap_or(0)),
        closed_at: None,
        closed_by: None,
        close_reason: None,
    }
}

fn action(n: u128, plan: u128, org: u128, user: Option<u128>, due: Date) -> PlanAction {
    PlanAction {
        id: id(n),
        plan_id: id(plan),
        section: PlanSection::Child,
        description: format!("Action {n}"),
        owner_org_id: id(org),
        owner_user_id: user.map(id),
        due_on: due,
        status: ActionStatus::NotStarted,
        outcome: String::new(),
        created_by: id(20),
        created_at: T0,
        updated_at: T0,
        completed_at: None,
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

async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    tx.insert_plan(&plan(400, 1, date!(2026 - 03 - 10))).await?;
    let mut closed = plan(401, 2, date!(2026 - 03 - 05));
    closed.closed_at = Some(T0);
    closed.closed_by = Some(id(20));
    closed.close_reason = Some("Risk has reduced: she is settled at school".into());
    tx.insert_plan(&closed).await?;
    tx.insert_plan_action(&action(500, 400, 10, None, date!(2026 - 03 - 20)))
        .await?;
    tx.insert_plan_action(&action(501, 400, 11, Some(20), date!(2026 - 03 - 25)))
        .await?;
    tx.insert_plan_action(&action(502, 400, 11, Some(20), date!(2026 - 03 - 01)))
        .await?;
    tx.insert_plan_action(&action(503, 400, 11, None, date!(2026 - 02 - 01)))
        .await?;
    tx.insert_plan_action(&action(504, 401, 10, None, date!(2026 - 03 - 01)))
        .await?;
    tx.insert_plan_meeting(&PlanMeeting {
        id: id(600),
        plan_id: id(400),
        held_on: date!(2026 - 02 - 20),
        attendees: "Social worker, DSL, PC Smith".into(),
        attendee_orgs: vec![id(10), id(11)],
        decisions: "Agree the plan".into(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
    })
    .await?;
    tx.insert_plan_meeting(&PlanMeeting {
        id: id(601),
        plan_id: id(400),
        held_on: date!(2026 - 02 - 27),
        attendees: "Social worker".into(),
        attendee_orgs: vec![],
        decisions: "Carry on".into(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
    })
    .await?;
    tx.insert_plan_review(&PlanReview {
        id: id(700),
        plan_id: id(401),
        reviewed_on: date!(2026 - 03 - 01),
        changes: "Risk has reduced: she is settled at school".into(),
        decision: ReviewDecision::Close,
        next_review_on: None,
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
    })
    .await?;
    tx.insert_plan_review(&PlanReview {
        id: id(701),
        plan_id: id(400),
        reviewed_on: date!(2026 - 03 - 01),
        changes: "Missing again twice".into(),
        decision: ReviewDecision::StepUp,
        next_review_on: Some(date!(2026 - 03 - 10)),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
    })
    .await
}

async fn plans_actions_meetings_and_reviews(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mut done = action(502, 400, 11, Some(20), date!(2026 - 03 - 01));
                done.status = ActionStatus::Done;
                done.outcome = "Referred to the exploitation service".into();
                done.completed_at = Some(T0);
                done.updated_at = T0;
                tx.update_plan_action(&done).await?;
                let mut p = plan(400, 1, date!(2026 - 03 - 12));
                p.risk_level = RiskLevel::Medium;
                tx.update_plan(&p).await?;
                let mut c = plan(402, 1, date!(2026 - 03 - 12));
                tx.insert_plan(&c).await?;
                c.closed_at = Some(T0);
                c.closed_by = Some(id(20));
                c.close_reason = Some("Moved out of the area".into());
                tx.update_plan(&c).await?;
                Ok((
                    tx.get_plan(id(400)).await?,
                    tx.plans_for(id(2)).await?,
                    tx.plan_actions(id(400)).await?,
                    tx.get_plan_action(id(502)).await?,
                    tx.plan_meetings(id(400)).await?,
                    tx.plan_reviews(id(401)).await?,
                    tx.plan_reviews(id(400)).await?,
                    tx.get_plan(id(999)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (p, closed, actions, done, meetings, reviews, open_reviews, none) = got;
    let mut expected = plan(400, 1, date!(2026 - 03 - 12));
    expected.risk_level = RiskLevel::Medium;
    assert_eq!(p, Some(expected));
    assert_eq!(closed.len(), 1);
    assert!(!closed[0].is_open());
    assert_eq!(
        closed[0].close_reason.as_deref(),
        Some("Risk has reduced: she is settled at school")
    );
    assert_eq!(
        actions.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![id(500), id(501), id(502), id(503)]
    );
    let done = done.unwrap();
    assert_eq!(done.status, ActionStatus::Done);
    assert_eq!(done.completed_at, Some(T0));
    assert_eq!(done.owner_user_id, Some(id(20)));
    assert_eq!(meetings.len(), 2);
    assert_eq!(meetings[0].attendee_orgs, vec![id(10), id(11)]);
    assert!(meetings[1].attendee_orgs.is_empty());
    assert_eq!(reviews[0].decision, ReviewDecision::Close);
    assert_eq!(reviews[0].next_review_on, None);
    assert_eq!(open_reviews[0].decision, ReviewDecision::StepUp);
    assert_eq!(open_reviews[0].next_review_on, Some(date!(2026 - 03 - 10)));
    assert!(none.is_none());
}

async fn work_lists_apply_the_scope(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let ids = |v: Vec<(PlanAction, mace_domain::person::Person)>| {
                    v.into_iter().map(|(a, _)| a.id).collect::<Vec<_>>()
                };
                // The school is not involved with child 1 yet: its action stays hidden.
                let before = ids(tx
                    .actions_for_owner(&scope(10, 98), id(98), id(10), 50)
                    .await?);
                tx.insert_involvement(&Involvement {
                    person_id: id(1),
                    org_id: id(10),
                    reason: InvolvementReason::PlanAction,
                    is_lead: false,
                    created_at: T0,
                })
                .await?;
                let school = ids(tx
                    .actions_for_owner(&scope(10, 98), id(98), id(10), 50)
                    .await?);
                let mut done = action(503, 400, 11, None, date!(2026 - 02 - 01));
                done.status = ActionStatus::NotGoingAhead;
                done.outcome = "Family moved out of the area".into();
                tx.update_plan_action(&done).await?;
                let worker = ids(tx
                    .actions_for_owner(&scope(11, 20), id(20), id(11), 50)
                    .await?);
                let colleague = ids(tx
                    .actions_for_owner(&scope(11, 97), id(97), id(11), 50)
                    .await?);
                let nothing = ids(tx
                    .actions_for_owner(&Scope::Nothing, id(20), id(11), 50)
                    .await?);
                let due = |v: Vec<(Plan, mace_domain::person::Person)>| {
                    v.into_iter().map(|(p, c)| (p.id, c.id)).collect::<Vec<_>>()
                };
                let soon = due(tx
                    .plans_due_for_review(&scope(11, 20), date!(2026 - 03 - 16), 50)
                    .await?);
                let not_yet = due(tx
                    .plans_due_for_review(&scope(11, 20), date!(2026 - 03 - 09), 50)
                    .await?);
                let outsider = due(tx
                    .plans_due_for_review(&scope(12, 96), date!(2026 - 12 - 31), 50)
                    .await?);
                Ok((
                    before, school, worker, colleague, nothing, soon, not_yet, outsider,
                ))
            })
        })
        .await
        .unwrap();
    let (before, school, worker, colleague, nothing, soon, not_yet, outsider) = got;
    assert!(before.is_empty(), "not in the school's scope yet");
    assert_eq!(
        school,
        vec![id(500)],
        "the closed plan's action is left out"
    );
    assert_eq!(
        worker,
        vec![id(502), id(501), id(503)],
        "named and unnamed: open ones first by due date, then the finished one"
    );
    assert_eq!(
        colleague,
        vec![id(503)],
        "a colleague sees only the organisation's unnamed actions"
    );
    assert!(nothing.is_empty());
    assert_eq!(soon, vec![(id(400), id(1))], "the closed plan is not due");
    assert!(not_yet.is_empty());
    assert!(outsider.is_empty());
}

async fn merges_move_and_restore_plans(db: &TestDb) {
    let store = db.store();
    let before = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let one: Vec<Uuid> = tx.plans_for(id(1)).await?.iter().map(|p| p.id).collect();
                let two: Vec<Uuid> = tx.plans_for(id(2)).await?.iter().map(|p| p.id).collect();
                Ok((one, two))
            })
        })
        .await
        .unwrap();
    assert_eq!(before, (vec![id(400)], vec![id(401)]));
    let merged = store
        .write(|tx| {
            Box::pin(async move {
                tx.merge_people(&merge_row(false)).await?;
                let one: Vec<Uuid> = tx.plans_for(id(1)).await?.iter().map(|p| p.id).collect();
                Ok((one, tx.plan_actions(id(401)).await?.len()))
            })
        })
        .await
        .unwrap();
    assert_eq!(
        merged,
        (vec![id(401), id(400)], 1),
        "the duplicate's plan moved, with its actions"
    );
    let after = store
        .write(|tx| {
            Box::pin(async move {
                tx.unmerge_people(&merge_row(true)).await?;
                let one: Vec<Uuid> = tx.plans_for(id(1)).await?.iter().map(|p| p.id).collect();
                let two: Vec<Uuid> = tx.plans_for(id(2)).await?.iter().map(|p| p.id).collect();
                Ok((one, two))
            })
        })
        .await
        .unwrap();
    assert_eq!(after, before, "undoing the merge puts the plan back");
}

mace_testkit::contract_tests!(
    plans_actions_meetings_and_reviews,
    work_lists_apply_the_scope,
    merges_move_and_restore_plans
);
