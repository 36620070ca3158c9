//! Risk assessment frameworks and assessments on both engines: versions keep their indicators,
//! answers round-trip, sign-off is stored, and the work lists (reviews due, awaiting sign-off)
//! take only the newest signed-off assessment of children inside the viewer's scope.

use super::merges::{merge_row, setup};
use mace_domain::assessment::{
    Answer, Assessment, AssessmentStatus, Indicator, Presence, RiskLevel, Weight, default_framework,
};
use mace_domain::authz::Scope;
use mace_domain::ports::{AssessmentRepo, MergeRepo};
use mace_domain::{Error, Result};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn assessment(n: u128, person: u128, at: OffsetDateTime, due: Option<time::Date>) -> Assessment {
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
        judged_level: RiskLevel::High,
        rationale: "Seen with the same car three times".into(),
        child_views: "Says the driver is a friend".into(),
        family_views: String::new(),
        assessor_id: id(20),
        assessor_org: id(11),
        created_at: at,
        signed_off_by: due.map(|_| id(20)),
        signed_off_at: due.map(|_| at),
        review_due: due,
        answers: vec![
            Answer {
                code: "vehicles".into(),
                presence: Presence::Present,
                evidence: "Seen by school staff".into(),
                source_org: Some(id(10)),
                observed_on: Some(date!(2026 - 02 - 27)),
            },
            Answer {
                code: "phones".into(),
                presence: Presence::NotKnown,
                evidence: String::new(),
                source_org: None,
                observed_on: None,
            },
        ],
    }
}

fn scope(org: u128) -> Scope {
    Scope::Related {
        org_id: id(org),
        user_id: id(98),
        now: T0,
        police: false,
    }
}

async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    let v1 = default_framework(id(1000), T0);
    let mut v2 = v1.clone();
    v2.id = id(1001);
    v2.version = 2;
    v2.indicators.push(Indicator {
        code: "weapons".into(),
        category: "Links to known exploiters".into(),
        label: "Carries a weapon".into(),
        weight: Weight::Significant,
    });
    tx.insert_framework(&v1).await?;
    tx.insert_framework(&v2).await?;
    // Child 1 (not marked): an old signed-off one superseded by a newer one, and one awaiting.
    tx.insert_assessment(&assessment(1, 1, T0, Some(date!(2026 - 03 - 10))))
        .await?;
    tx.insert_assessment(&assessment(
        2,
        1,
        T0 + Duration::days(1),
        Some(date!(2026 - 04 - 20)),
    ))
    .await?;
    tx.insert_assessment(&assessment(3, 1, T0 + Duration::days(2), None))
        .await
}

async fn frameworks_and_assessments(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let latest = tx.latest_framework().await?.ok_or(Error::NotFound)?;
                let v1 = tx.get_framework(id(1000)).await?.ok_or(Error::NotFound)?;
                let all = tx.list_frameworks().await?.len();
                let a = tx.get_assessment(id(1)).await?.ok_or(Error::NotFound)?;
                let mut signed = tx.get_assessment(id(3)).await?.ok_or(Error::NotFound)?;
                signed.status = AssessmentStatus::SignedOff;
                signed.signed_off_by = Some(id(20));
                signed.signed_off_at = Some(T0);
                signed.review_due = Some(date!(2026 - 05 - 01));
                tx.update_assessment(&signed).await?;
                let history = tx.assessments_for(id(1)).await?;
                Ok((latest, v1, all, a, history))
            })
        })
        .await
        .unwrap();
    let (latest, v1, all, a, history) = got;
    assert_eq!(latest.version, 2);
    assert_eq!(
        latest.indicators.last().map(|i| i.code.as_str()),
        Some("weapons")
    );
    assert_eq!(
        v1,
        default_framework(id(1000), T0),
        "a version round-trips whole"
    );
    assert_eq!(all, 2);
    let mut expected = assessment(1, 1, T0, Some(date!(2026 - 03 - 10)));
    expected.answers.sort_by(|x, y| x.code.cmp(&y.code));
    let mut a = a;
    a.answers.sort_by(|x, y| x.code.cmp(&y.code));
    assert_eq!(a, expected);
    assert_eq!(
        history.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![id(1), id(2), id(3)],
        "oldest first"
    );
    assert_eq!(history[2].status, AssessmentStatus::SignedOff);
}

async fn work_lists_take_the_newest_and_the_scope(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let ids = |v: Vec<mace_domain::assessment::AssessmentLine>| {
                    v.into_iter().map(|l| l.assessment.id).collect::<Vec<_>>()
                };
                Ok((
                    ids(tx.reviews_due(&scope(11), date!(2026 - 12 - 31)).await?),
                    ids(tx.reviews_due(&scope(11), date!(2026 - 04 - 01)).await?),
                    ids(tx.reviews_due(&scope(12), date!(2026 - 12 - 31)).await?),
                    ids(tx
                        .reviews_due(&Scope::Nothing, date!(2026 - 12 - 31))
                        .await?),
                    ids(tx.awaiting_sign_off(&scope(11)).await?),
                    ids(tx.awaiting_sign_off(&scope(12)).await?),
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(got.0, vec![id(2)], "only the newest signed-off assessment");
    assert!(got.1.is_empty(), "not due yet");
    assert!(got.2.is_empty() && got.3.is_empty(), "outside the scope");
    assert_eq!(got.4, vec![id(3)]);
    assert!(got.5.is_empty());
}

async fn counts(tx: &mut Tx) -> Result<(usize, usize)> {
    Ok((
        tx.assessments_for(id(1)).await?.len(),
        tx.assessments_for(id(2)).await?.len(),
    ))
}

async fn merges_move_assessments_and_back(db: &TestDb) {
    let store = db.store();
    store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mut other = assessment(4, 2, T0, None);
                other.answers.clear();
                tx.insert_assessment(&other).await
            })
        })
        .await
        .unwrap();
    let merged = store
        .write(|tx| {
            Box::pin(async move {
                tx.merge_people(&merge_row(false)).await?;
                counts(tx).await
            })
        })
        .await
        .unwrap();
    assert_eq!(merged, (4, 0));
    let back = store
        .write(|tx| {
            Box::pin(async move {
                tx.unmerge_people(&merge_row(true)).await?;
                counts(tx).await
            })
        })
        .await
        .unwrap();
    assert_eq!(back, (3, 1));
}

mace_testkit::contract_tests!(
    frameworks_and_assessments,
    work_lists_take_the_newest_and_the_scope,
    merges_move_assessments_and_back
);
