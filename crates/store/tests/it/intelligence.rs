//! intelligence tests (both engines): reports round-trip with their children and items; the
//! inbox's order and filter; references by year; entities upserted by (kind, key); links with
//! graph versions (removed and made again); the submitter's notifications; a merge moves the
//! children of reports and entities' people, and undoing it moves them back.

use super::merges::{merge_row, setup};
use mace_domain::intelligence::{
    Entity, EntityKind, HandlingCode, HowKnown, IntelAssessment, IntelNotification, IntelStatus,
    Item, ItemKind, Link, Report, SourceEvaluation,
};
use mace_domain::ports::{IntelligenceRepo, MergeRepo};
use mace_testkit::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn report(n: u128, reference: &str, status: IntelStatus, after_mins: i64) -> Report {
    let at = T0 + Duration::minutes(after_mins);
    Report {
        id: id(n),
        reference: reference.into(),
        submitted_by: id(20),
        submitted_org: id(11),
        submitted_at: at,
        observed_from: Some(at - Duration::days(2)),
        observed_to: None,
        how_known: HowKnown::ToldByChild,
        narrative: format!("Report {n}: seen getting into a white hatchback"),
        status,
        status_at: at,
        source_evaluation: None,
        intelligence_assessment: None,
        handling_code: None,
        handling_conditions: String::new(),
        sanitised: String::new(),
        graded_by: None,
        graded_at: None,
        shared_by: None,
        shared_at: None,
        action_note: String::new(),
    }
}

fn item(n: u128, report: u128, position: i32, kind: ItemKind, value: &str, key: &str) -> Item {
    Item {
        id: id(n),
        report_id: id(report),
        position,
        kind,
        value: value.into(),
        normalised: key.into(),
        detail: "white hatchback".into(),
        latitude: (kind == ItemKind::Place).then_some(51.5383),
        longitude: (kind == ItemKind::Place).then_some(0.7119),
        entity_id: None,
    }
}

fn entity(n: u128, kind: EntityKind, key: &str) -> Entity {
    Entity {
        id: id(n),
        kind,
        key: key.into(),
        label: key.into(),
        person_id: None,
        latitude: None,
        longitude: None,
        created_at: T0,
    }
}

async fn reports_round_trip(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                let first = tx.last_intel_reference("INT-2026-").await?;
                let items = [
                    item(500, 400, 0, ItemKind::Vehicle, "ma19 xyz", "MA19XYZ"),
                    item(501, 400, 1, ItemKind::Place, "The parade", "the parade"),
                ];
                tx.insert_intel_report(
                    &report(400, "INT-2026-000001", IntelStatus::Received, 0),
                    &[id(1), id(2)],
                    &items,
                )
                .await?;
                tx.insert_intel_report(
                    &report(401, "INT-2026-000002", IntelStatus::Received, 5),
                    &[],
                    &[],
                )
                .await?;
                tx.insert_intel_report(
                    &report(402, "INT-2025-000007", IntelStatus::Actioned, -60),
                    &[],
                    &[],
                )
                .await?;
                let mut graded = report(401, "INT-2026-000002", IntelStatus::Assessed, 5);
                graded.source_evaluation = Some(SourceEvaluation::Untested);
                graded.intelligence_assessment = Some(IntelAssessment::Corroborated);
                graded.handling_code = Some(HandlingCode::Conditions);
                graded.handling_conditions = "Not to be shared with the family".into();
                graded.sanitised = "A vehicle is seen near the school".into();
                graded.graded_by = Some(id(20));
                graded.graded_at = Some(T0 + Duration::hours(1));
                graded.action_note = "Patrols".into();
                tx.update_intel_report(&graded).await?;
                let mut it = items[0].clone();
                it.normalised = "MA19XYZ".into();
                it.entity_id = Some(id(700));
                tx.update_intel_item(&it).await?;
                Ok((
                    first,
                    tx.last_intel_reference("INT-2026-").await?,
                    tx.get_intel_report(id(400)).await?,
                    tx.get_intel_report(id(401)).await?,
                    tx.intel_report_children(id(400)).await?,
                    tx.intel_items(id(400)).await?,
                    tx.intel_reports_by(id(20), 10).await?,
                    tx.intel_inbox(None, 10).await?,
                    tx.intel_inbox(Some(IntelStatus::Received), 10).await?,
                    tx.get_intel_report(id(999)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (first, last, r400, r401, children, items, mine, inbox, received, none) = got;
    assert_eq!(first, None);
    assert_eq!(last.as_deref(), Some("INT-2026-000002"));
    assert_eq!(
        r400,
        Some(report(400, "INT-2026-000001", IntelStatus::Received, 0)),
        "every field round-trips"
    );
    let r401 = r401.unwrap();
    assert_eq!(r401.grade().as_deref(), Some("2B C"));
    assert_eq!(r401.handling_conditions, "Not to be shared with the family");
    assert_eq!(r401.graded_at, Some(T0 + Duration::hours(1)));
    assert_eq!(r401.action_note, "Patrols");
    assert_eq!(children, vec![id(1), id(2)]);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].entity_id, Some(id(700)));
    assert_eq!(items[1].latitude, Some(51.5383));
    assert_eq!(items[1].kind, ItemKind::Place);
    // Newest first.
    assert_eq!(
        mine.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(401), id(400), id(402)]
    );
    // Received first, oldest first; then assessed; then actioned.
    assert_eq!(
        inbox.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(400), id(401), id(402)]
    );
    assert_eq!(
        received.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(400)]
    );
    assert!(none.is_none());
}

async fn entities_links_and_versions(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                tx.insert_intel_report(
                    &report(400, "INT-2026-000001", IntelStatus::Received, 0),
                    &[],
                    &[],
                )
                .await?;
                tx.insert_intel_report(
                    &report(401, "INT-2026-000002", IntelStatus::Received, 5),
                    &[],
                    &[],
                )
                .await?;
                let v0 = tx.intel_graph_version().await?;
                let a = tx
                    .upsert_intel_entity(&entity(700, EntityKind::Vehicle, "MA19XYZ"))
                    .await?;
                // The same kind and key again is the same entity (and gains a position).
                let mut again = entity(701, EntityKind::Vehicle, "MA19XYZ");
                again.latitude = Some(51.5);
                again.longitude = Some(0.7);
                let b = tx.upsert_intel_entity(&again).await?;
                let other = tx
                    .upsert_intel_entity(&entity(702, EntityKind::Phone, "+447700900123"))
                    .await?;
                let v1 = tx.bump_intel_graph_version().await?;
                for (n, report, e) in [(800, 400, a.id), (801, 401, a.id), (802, 400, other.id)] {
                    tx.insert_intel_link(&Link {
                        id: id(n),
                        report_id: id(report),
                        entity_id: e,
                        version: v1,
                        removed_version: None,
                        linked_by: id(20),
                        linked_at: T0,
                    })
                    .await?;
                }
                let v2 = tx.bump_intel_graph_version().await?;
                let removed = tx.remove_intel_link(id(400), other.id, v2).await?;
                let removed_again = tx.remove_intel_link(id(400), other.id, v2).await?;
                let after_remove = tx.intel_links(id(400)).await?;
                let v3 = tx.bump_intel_graph_version().await?;
                tx.insert_intel_link(&Link {
                    id: id(803),
                    report_id: id(400),
                    entity_id: other.id,
                    version: v3,
                    removed_version: None,
                    linked_by: id(20),
                    linked_at: T0,
                })
                .await?;
                Ok((
                    v0,
                    (v1, v2, v3),
                    a,
                    b,
                    tx.get_intel_entity(id(700)).await?,
                    removed,
                    removed_again,
                    after_remove,
                    tx.intel_links(id(400)).await?,
                    tx.intel_graph_version().await?,
                ))
            })
        })
        .await
        .unwrap();
    let (v0, (v1, v2, v3), a, b, stored, removed, removed_again, after_remove, relinked, v) = got;
    assert_eq!(v0, 0);
    assert_eq!((v1, v2, v3), (1, 2, 3), "versions are gap-free");
    assert_eq!(v, 3);
    assert_eq!(a.id, id(700));
    assert_eq!(b.id, id(700), "one entity per kind and key");
    assert_eq!(b.latitude, Some(51.5));
    assert_eq!(stored.unwrap().latitude, Some(51.5));
    assert!(removed && !removed_again);
    let phone = after_remove
        .iter()
        .find(|l| l.entity_id == id(702))
        .unwrap();
    assert_eq!((phone.version, phone.removed_version), (1, Some(2)));
    let phone = relinked.iter().find(|l| l.entity_id == id(702)).unwrap();
    assert_eq!((phone.version, phone.removed_version), (3, None));
    assert_eq!(relinked.len(), 2);
}

async fn notifications_read_and_unread(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                tx.insert_intel_report(
                    &report(400, "INT-2026-000001", IntelStatus::Received, 0),
                    &[],
                    &[],
                )
                .await?;
                for (n, status, mins) in [
                    (900u128, IntelStatus::Assessed, 1),
                    (901, IntelStatus::Actioned, 2),
                ] {
                    tx.insert_intel_notification(&IntelNotification {
                        id: id(n),
                        user_id: id(20),
                        report_id: id(400),
                        status,
                        created_at: T0 + Duration::minutes(mins),
                        read_at: None,
                    })
                    .await?;
                }
                let unread = tx.intel_notifications_for(id(20), true, 10).await?;
                tx.mark_intel_notifications_read(id(20), &[id(900)], T0 + Duration::hours(1))
                    .await?;
                // Another user's read marks nothing.
                tx.mark_intel_notifications_read(id(21), &[id(901)], T0 + Duration::hours(1))
                    .await?;
                Ok((
                    unread,
                    tx.intel_notifications_for(id(20), true, 10).await?,
                    tx.intel_notifications_for(id(20), false, 10).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (unread, still, all) = got;
    assert_eq!(
        unread.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![id(901), id(900)],
        "newest first"
    );
    assert_eq!(
        still.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![id(901)]
    );
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].read_at, Some(T0 + Duration::hours(1)));
    assert_eq!(all[0].status, IntelStatus::Actioned);
}

async fn merges_move_report_children_and_entities(db: &TestDb) {
    let store = db.store();
    let merged = store
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                // One report names the duplicate only, one names both records.
                tx.insert_intel_report(
                    &report(400, "INT-2026-000001", IntelStatus::Received, 0),
                    &[id(2)],
                    &[],
                )
                .await?;
                tx.insert_intel_report(
                    &report(401, "INT-2026-000002", IntelStatus::Received, 1),
                    &[id(1), id(2)],
                    &[],
                )
                .await?;
                let mut e = entity(700, EntityKind::Child, &id(2).to_string());
                e.person_id = Some(id(2));
                tx.upsert_intel_entity(&e).await?;
                tx.merge_people(&merge_row(false)).await?;
                Ok((
                    tx.intel_report_children(id(400)).await?,
                    tx.intel_report_children(id(401)).await?,
                    tx.get_intel_entity(id(700))
                        .await?
                        .and_then(|e| e.person_id),
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(merged.0, vec![id(1)]);
    assert_eq!(merged.1, vec![id(1), id(2)], "no duplicate row is made");
    assert_eq!(merged.2, Some(id(1)));
    let undone = store
        .write(|tx| {
            Box::pin(async move {
                tx.unmerge_people(&merge_row(true)).await?;
                Ok((
                    tx.intel_report_children(id(400)).await?,
                    tx.intel_report_children(id(401)).await?,
                    tx.get_intel_entity(id(700))
                        .await?
                        .and_then(|e| e.person_id),
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(undone.0, vec![id(2)]);
    assert_eq!(undone.1, vec![id(1), id(2)]);
    assert_eq!(undone.2, Some(id(2)));
}

mace_testkit::contract_tests!(
    reports_round_trip,
    entities_links_and_versions,
    notifications_read_and_unread,
    merges_move_report_children_and_entities
);
