//! The report graph's storage on both engines: link changes come back in version order with
//! removals; the children linked to an entity are counted by the reports' own times (observed,
//! else submitted) inside a window, by person, through the links police made; the grouped count
//! for a rule matches; rules and alerts round-trip, open alerts first.

use super::hotspots::{T0, id, report};
use super::merges::setup;
use mace_domain::Result;
use mace_domain::intelligence::{Entity, EntityKind, Link};
use mace_domain::networks::{Alert, AlertRule};
use mace_domain::ports::{IntelligenceRepo, NetworkRepo};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::Duration;
use uuid::Uuid;

fn entity(n: u128, kind: EntityKind, key: &str, person: Option<Uuid>) -> Entity {
    Entity {
        id: id(n),
        kind,
        key: key.into(),
        label: key.into(),
        person_id: person,
        latitude: None,
        longitude: None,
        created_at: T0,
    }
}

async fn link(tx: &mut Tx, n: u128, report: u128, entity: u128) -> Result<i64> {
    let version = tx.bump_intel_graph_version().await?;
    tx.insert_intel_link(&Link {
        id: id(n),
        report_id: id(report),
        entity_id: id(entity),
        version,
        removed_version: None,
        linked_by: id(20),
        linked_at: T0,
    })
    .await?;
    Ok(version)
}

async fn links_children_windows_rules_and_alerts(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                // Report 100 about child 1, seen 10 days ago; report 101 about child 2,
                // submitted 200 days ago with no time seen. Both name the car.
                tx.insert_intel_report(
                    &report(100, T0, Some(T0 - Duration::days(10))),
                    &[id(1)],
                    &[],
                )
                .await?;
                tx.insert_intel_report(&report(101, T0 - Duration::days(200), None), &[id(2)], &[])
                    .await?;
                for e in [
                    entity(200, EntityKind::Vehicle, "MA19XKT", None),
                    entity(201, EntityKind::Child, &id(1).to_string(), Some(id(1))),
                    entity(202, EntityKind::Child, &id(2).to_string(), Some(id(2))),
                ] {
                    tx.upsert_intel_entity(&e).await?;
                }
                let mut versions = Vec::new();
                for (n, r, e) in [
                    (300u128, 100u128, 200u128),
                    (301, 100, 201),
                    (302, 101, 200),
                    (303, 101, 202),
                ] {
                    versions.push(link(tx, n, r, e).await?);
                }
                let all = tx.link_changes_since(0).await?;
                let recent = tx
                    .children_linked_since(id(200), T0 - Duration::days(90))
                    .await?;
                let year = tx
                    .children_linked_since(id(200), T0 - Duration::days(365))
                    .await?;
                let over_year = tx
                    .entities_over(
                        &[EntityKind::Vehicle, EntityKind::Person],
                        T0 - Duration::days(365),
                        2,
                    )
                    .await?;
                let over_90 = tx
                    .entities_over(&[EntityKind::Vehicle], T0 - Duration::days(90), 2)
                    .await?;
                let phones = tx
                    .entities_over(&[EntityKind::Phone], T0 - Duration::days(365), 2)
                    .await?;
                // Taking the second report's car away is a change after version 4.
                let v5 = tx.bump_intel_graph_version().await?;
                tx.remove_intel_link(id(101), id(200), v5).await?;
                let after = tx.link_changes_since(4).await?;
                let year_after = tx
                    .children_linked_since(id(200), T0 - Duration::days(365))
                    .await?;
                let named = tx.entities(&[id(201), id(200), id(999)]).await?;
                let linked = tx.linked_entities(id(101)).await?;

                // Rules: the migration's default, and one saved.
                let mut rules = tx.alert_rules().await?;
                let rule = AlertRule {
                    id: id(400),
                    name: "Phones".into(),
                    entity_kinds: vec![EntityKind::Phone, EntityKind::Handle],
                    min_children: 2,
                    window_days: 30,
                    enabled: false,
                    updated_by: Some(id(20)),
                    updated_at: T0,
                };
                tx.save_alert_rule(&rule).await?;
                rules = {
                    let mut again = tx.alert_rules().await?;
                    again.retain(|r| !rules.contains(r));
                    rules.extend(again);
                    rules
                };
                // Alerts: an acknowledged one and an open one; open first.
                let mut acked = Alert {
                    id: id(500),
                    rule_id: id(400),
                    entity_id: id(200),
                    children: 2,
                    fired_at: T0 - Duration::days(2),
                    updated_at: T0 - Duration::days(1),
                    acknowledged_by: Some(id(20)),
                    acknowledged_at: Some(T0 - Duration::days(1)),
                    note: "Allocated for development".into(),
                };
                tx.save_alert(&acked).await?;
                let open = Alert {
                    id: id(501),
                    rule_id: rules[0].id,
                    entity_id: id(200),
                    acknowledged_by: None,
                    acknowledged_at: None,
                    note: String::new(),
                    ..acked.clone()
                };
                tx.save_alert(&open).await?;
                acked.children = 3;
                tx.save_alert(&acked).await?;
                let alerts = tx.alerts(10).await?;
                let found = tx.find_alert(id(400), id(200)).await?;
                Ok((
                    versions, all, recent, year, over_year, over_90, phones, after, year_after,
                    named, linked, rules, alerts, found,
                ))
            })
        })
        .await
        .unwrap();
    let (
        versions,
        all,
        recent,
        year,
        over_year,
        over_90,
        phones,
        after,
        year_after,
        named,
        linked,
        rules,
        alerts,
        found,
    ) = got;
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let seen: Vec<(i64, Uuid, bool)> = all
        .iter()
        .map(|c| (c.version, c.entity_id, c.removed))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, id(200), false),
            (2, id(201), false),
            (3, id(200), false),
            (4, id(202), false)
        ]
    );
    assert_eq!(all[1].entity_kind, EntityKind::Child);
    assert_eq!(recent, vec![id(1)]);
    let mut year = year;
    year.sort();
    assert_eq!(year, vec![id(1), id(2)]);
    assert_eq!(over_year, vec![(id(200), 2)]);
    assert!(over_90.is_empty() && phones.is_empty());
    assert_eq!(after.len(), 1);
    assert!(after[0].removed && after[0].version == 5 && after[0].entity_id == id(200));
    assert_eq!(year_after, vec![id(1)]);
    // A child's label is the child's name; unknown ids are left out.
    assert_eq!(named.len(), 2);
    assert!(
        named
            .iter()
            .any(|e| e.id == id(201) && e.label == "Kayleigh Harrison"),
        "{named:?}"
    );
    assert_eq!(
        linked.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![id(202)]
    );
    assert!(rules[0].name.starts_with("Three or more children"));
    assert_eq!(rules[0].min_children, 3);
    assert_eq!(rules[0].window_days, 90);
    assert!(rules[0].enabled);
    let phones_rule = rules.iter().find(|r| r.id == id(400)).unwrap();
    assert_eq!(
        phones_rule.entity_kinds,
        vec![EntityKind::Phone, EntityKind::Handle]
    );
    assert!(!phones_rule.enabled);
    assert_eq!(
        alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![id(501), id(500)]
    );
    assert_eq!(found.map(|a| a.children), Some(3));
}

mace_testkit::contract_tests!(links_children_windows_rules_and_alerts);
