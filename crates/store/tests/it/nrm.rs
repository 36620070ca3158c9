//! NRM referrals on both engines: referrals and reconsiderations round-trip with every field;
//! the open list applies the viewer's scope in SQL and leaves closed referrals out; the
//! statistics read every referral.

use super::merges::setup;
use mace_domain::Result;
use mace_domain::authz::OrgType;
use mace_domain::authz::Scope;
use mace_domain::cases::{Involvement, InvolvementReason};
use mace_domain::identity::model::Organisation;
use mace_domain::nrm::{
    DecisionMaker, Exploitation, FinalOutcome, Grounds, IctgRole, NrmReferral, Reconsideration,
    ReconsiderationOutcome, Stage, WhereExploited,
};
use mace_domain::ports::{CaseRepo, IdentityRepo, NrmRepo};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn referral(n: u128, person: u128, submitted: Date) -> NrmReferral {
    NrmReferral {
        id: id(n),
        person_id: id(person),
        first_responder_org_id: id(11),
        first_responder_name: "Social worker, exploitation team".into(),
        exploitation: vec![Exploitation::Sexual, Exploitation::Criminal],
        county_lines: true,
        location: WhereExploited::Uk,
        decision_maker: DecisionMaker::Sca,
        submitted_on: submitted,
        home_office_ref: format!("NRM-{n}"),
        narrative: "Seen in other towns with older adults; phone found with many contacts".into(),
        rg_decision: None,
        rg_decided_on: None,
        cg_decision: None,
        cg_decided_on: None,
        ictg_referred_on: None,
        ictg_role: None,
        ictg_name: String::new(),
        closed_on: None,
        final_outcome: None,
        close_note: String::new(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
        updated_at: T0,
    }
}

fn recon(n: u128, referral: u128) -> Reconsideration {
    Reconsideration {
        id: id(n),
        referral_id: id(referral),
        stage: Stage::Rg,
        requested_on: date!(2026 - 02 - 20),
        requested_by: "The first responder".into(),
        outcome: ReconsiderationOutcome::Pending,
        outcome_on: None,
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
        updated_at: T0,
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
    tx.insert_nrm_referral(&referral(400, 1, date!(2026 - 02 - 10)))
        .await?;
    let mut closed = referral(401, 1, date!(2025 - 11 - 03));
    closed.closed_on = Some(date!(2026 - 01 - 20));
    closed.final_outcome = Some(FinalOutcome::Withdrawn);
    closed.close_note = "Withdrawn: duplicate of another referral".into();
    tx.insert_nrm_referral(&closed).await?;
    let mut other = referral(402, 2, date!(2026 - 02 - 01));
    other.exploitation = vec![Exploitation::DomesticServitude];
    other.county_lines = false;
    other.location = WhereExploited::Both;
    other.decision_maker = DecisionMaker::DevolvedPanel;
    tx.insert_nrm_referral(&other).await
}

async fn referrals_and_reconsiderations_round_trip(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mut r = referral(400, 1, date!(2026 - 02 - 10));
                r.rg_decision = Some(Grounds::Negative);
                r.rg_decided_on = Some(date!(2026 - 02 - 16));
                r.ictg_referred_on = Some(date!(2026 - 02 - 11));
                r.ictg_role = Some(IctgRole::RegionalPractitioner);
                r.ictg_name = "A. Guardian".into();
                r.narrative = "Edited narrative".into();
                r.updated_at = T0 + time::Duration::hours(1);
                tx.update_nrm_referral(&r).await?;
                tx.insert_nrm_reconsideration(&recon(500, 400)).await?;
                let mut later = recon(501, 400);
                later.stage = Stage::Cg;
                later.requested_on = date!(2026 - 02 - 25);
                tx.insert_nrm_reconsideration(&later).await?;
                let mut decided = recon(500, 400);
                decided.outcome = ReconsiderationOutcome::Overturned;
                decided.outcome_on = Some(date!(2026 - 02 - 27));
                decided.updated_at = T0 + time::Duration::hours(2);
                tx.update_nrm_reconsideration(&decided).await?;
                Ok((
                    tx.get_nrm_referral(id(400)).await?,
                    tx.nrm_referrals_for(id(1)).await?,
                    tx.nrm_reconsiderations(id(400)).await?,
                    tx.nrm_reconsiderations(id(402)).await?,
                    tx.get_nrm_referral(id(999)).await?,
                    tx.get_nrm_referral(id(402)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (r, for_child, recons, none_recons, missing, other) = got;
    let mut expected = referral(400, 1, date!(2026 - 02 - 10));
    expected.rg_decision = Some(Grounds::Negative);
    expected.rg_decided_on = Some(date!(2026 - 02 - 16));
    expected.ictg_referred_on = Some(date!(2026 - 02 - 11));
    expected.ictg_role = Some(IctgRole::RegionalPractitioner);
    expected.ictg_name = "A. Guardian".into();
    expected.narrative = "Edited narrative".into();
    expected.updated_at = T0 + time::Duration::hours(1);
    assert_eq!(r, Some(expected));
    assert_eq!(
        for_child.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(400), id(401)],
        "newest submission first"
    );
    assert_eq!(for_child[1].final_outcome, Some(FinalOutcome::Withdrawn));
    assert_eq!(for_child[1].closed_on, Some(date!(2026 - 01 - 20)));
    assert_eq!(recons.len(), 2);
    assert_eq!(recons[0].outcome, ReconsiderationOutcome::Overturned);
    assert_eq!(recons[0].outcome_on, Some(date!(2026 - 02 - 27)));
    assert_eq!(recons[1].stage, Stage::Cg);
    assert_eq!(recons[1].outcome, ReconsiderationOutcome::Pending);
    assert!(none_recons.is_empty());
    assert!(missing.is_none());
    let other = other.unwrap();
    assert_eq!(other.exploitation, vec![Exploitation::DomesticServitude]);
    assert!(!other.county_lines);
    assert_eq!(other.location, WhereExploited::Both);
    assert_eq!(other.decision_maker, DecisionMaker::DevolvedPanel);
}

async fn the_open_list_applies_the_scope(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let ids = |v: Vec<(NrmReferral, mace_domain::person::Person)>| {
                    v.into_iter().map(|(r, c)| (r.id, c.id)).collect::<Vec<_>>()
                };
                let council = ids(tx.open_nrm_referrals(&scope(11, 20), 50).await?);
                // Child 2 is marked "staff involved": even the involved school may not list it.
                let school = ids(tx.open_nrm_referrals(&scope(10, 98), 50).await?);
                let outsider = ids(tx.open_nrm_referrals(&scope(12, 96), 50).await?);
                let nothing = ids(tx.open_nrm_referrals(&Scope::Nothing, 50).await?);
                tx.clear_for_restricted(id(2), id(20), T0).await?;
                let cleared = ids(tx.open_nrm_referrals(&scope(11, 20), 50).await?);
                let limited = ids(tx.open_nrm_referrals(&scope(11, 20), 1).await?);
                tx.insert_org(&Organisation {
                    id: id(12),
                    name: "Police".into(),
                    org_type: OrgType::Police,
                    created_at: T0,
                })
                .await?;
                tx.insert_involvement(&Involvement {
                    person_id: id(1),
                    org_id: id(12),
                    reason: InvolvementReason::HoldsCase,
                    is_lead: false,
                    created_at: T0,
                })
                .await?;
                let now_involved = ids(tx.open_nrm_referrals(&scope(12, 96), 50).await?);
                let all = tx.all_nrm_referrals().await?.len();
                Ok((
                    council,
                    school,
                    outsider,
                    nothing,
                    cleared,
                    limited,
                    now_involved,
                    all,
                ))
            })
        })
        .await
        .unwrap();
    let (council, school, outsider, nothing, cleared, limited, now_involved, all) = got;
    assert_eq!(
        council,
        vec![(id(400), id(1))],
        "the closed referral and the marked child's are left out"
    );
    assert!(school.is_empty(), "{school:?}");
    assert!(outsider.is_empty());
    assert!(nothing.is_empty());
    assert_eq!(
        cleared,
        vec![(id(402), id(2)), (id(400), id(1))],
        "oldest submission first"
    );
    assert_eq!(limited.len(), 1);
    assert_eq!(now_involved, vec![(id(400), id(1))]);
    assert_eq!(all, 3, "statistics read every referral, open or closed");
}

mace_testkit::contract_tests!(
    referrals_and_reconsiderations_round_trip,
    the_open_list_applies_the_scope
);
