//! referrals tests (both engines where storage is involved): the service directory round-trips;
//! referrals with what they shared, their steps and status changes; the inbox's order and scope
//! ("referrals you made" too); the referrer's notifications read and unread.

use super::merges::setup;
use mace_domain::authz::{OrgType, Role, Scope};
use mace_domain::cases::{Involvement, InvolvementReason};
use mace_domain::identity::model::{Email, Organisation, User, UserStatus};
use mace_domain::ports::{CaseRepo, IdentityRepo, ReferralRepo};
use mace_domain::referrals::{
    Notification, Referral, ReferralEvent, ReferralStatus, Service, ServiceKind, SharedItem,
};
use mace_domain::{Error, Result};
use mace_store::Tx;
use mace_testkit::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn service(n: u128, name: &str) -> Service {
    Service {
        id: id(n),
        name: name.into(),
        kind: ServiceKind::Exploitation,
        org_id: id(12),
        description: "Direct work with children who are being exploited".into(),
        email: "referrals@service.example".into(),
        phone: "01632 960000".into(),
        how_to_refer: "Discuss with the duty worker first".into(),
        min_age: Some(10),
        max_age: None,
        open_case_required: true,
        areas: vec!["SS1".into(), "RM17".into()],
        ack_hours: 8,
        decide_days: 5,
        accepting: true,
        created_by: id(20),
        created_at: T0,
        updated_by: id(20),
        updated_at: T0,
    }
}

fn referral(n: u128, person: u128, status: ReferralStatus, sent_after_mins: i64) -> Referral {
    let sent = T0 + Duration::minutes(sent_after_mins);
    Referral {
        id: id(n),
        service_id: id(600),
        person_id: id(person),
        to_org_id: id(12),
        from_org_id: id(11),
        created_by: id(20),
        sent_at: sent,
        reason: format!("Referral {n}: needs specialist support"),
        status,
        ack_due_at: sent + Duration::hours(8),
        decision_due_at: sent + Duration::days(7),
        acknowledged_at: None,
        decided_at: (!status.is_open()).then_some(sent + Duration::hours(1)),
        decline_reason: (status == ReferralStatus::Declined)
            .then(|| "Does not meet the threshold".into()),
        closed_at: None,
        outcome: None,
        updated_at: sent,
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

/// The merges setup, plus the service's organisation (12) with a worker (21), and services.
async fn fill(tx: &mut Tx) -> Result<()> {
    setup(tx).await?;
    tx.insert_org(&Organisation {
        id: id(12),
        name: "Exploitation Service".into(),
        org_type: OrgType::SpecialistService,
        created_at: T0,
    })
    .await?;
    tx.insert_user(&User {
        id: id(21),
        org_id: id(12),
        team_id: None,
        email: Email::parse("worker@service.example").map_err(|_| Error::NotFound)?,
        display_name: "Exploitation worker".into(),
        roles: vec![Role::ExploitationWorker],
        status: UserStatus::Active,
        password_hash: None,
        password_changed_at: None,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: T0,
        updated_at: T0,
    })
    .await?;
    tx.insert_service(&service(600, "Young people's exploitation service"))
        .await?;
    tx.insert_service(&service(601, "adolescent support team"))
        .await
}

fn shared() -> Vec<SharedItem> {
    vec![
        SharedItem {
            item: "identity".into(),
            label: "Identifying details".into(),
            value: "Kayleigh Harrison, born 9 April 2011, female".into(),
        },
        SharedItem {
            item: "concern".into(),
            label: "Concern".into(),
            value: "Raised 2 March 2026 by School: seen getting into cars".into(),
        },
    ]
}

async fn services_round_trip(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                let mut s = service(600, "Young people's exploitation service");
                s.name = "Exploitation service".into();
                s.min_age = None;
                s.max_age = Some(17);
                s.areas.clear();
                s.open_case_required = false;
                s.accepting = false;
                s.kind = ServiceKind::GroupProgramme;
                s.ack_hours = 16;
                s.decide_days = 10;
                s.updated_at = T0 + Duration::hours(1);
                tx.update_service(&s).await?;
                Ok((
                    tx.get_service(id(600)).await?,
                    tx.get_service(id(601)).await?,
                    tx.list_services().await?,
                    tx.get_service(id(999)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (changed, other, all, none) = got;
    let changed = changed.unwrap();
    assert_eq!(changed.name, "Exploitation service");
    assert_eq!(changed.kind, ServiceKind::GroupProgramme);
    assert_eq!((changed.min_age, changed.max_age), (None, Some(17)));
    assert!(changed.areas.is_empty());
    assert!(!changed.open_case_required && !changed.accepting);
    assert_eq!((changed.ack_hours, changed.decide_days), (16, 10));
    assert_eq!(changed.updated_at, T0 + Duration::hours(1));
    assert_eq!(changed.created_at, T0);
    assert_eq!(
        other,
        Some(service(601, "adolescent support team")),
        "every field round-trips"
    );
    // By name, case-insensitively.
    assert_eq!(
        all.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![id(601), id(600)]
    );
    assert!(none.is_none());
}

async fn referrals_shared_steps_and_status(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                tx.insert_referral(&referral(700, 1, ReferralStatus::Sent, 0), &shared())
                    .await?;
                tx.insert_referral(&referral(701, 1, ReferralStatus::Sent, 10), &[])
                    .await?;
                for (n, status, mins) in [
                    (800u128, ReferralStatus::Sent, 0),
                    (801, ReferralStatus::Accepted, 30),
                ] {
                    tx.insert_referral_event(&ReferralEvent {
                        id: id(n),
                        referral_id: id(700),
                        status,
                        note: if status == ReferralStatus::Accepted {
                            "Allocated to a worker".into()
                        } else {
                            String::new()
                        },
                        user_id: if mins == 0 { id(20) } else { id(21) },
                        org_id: if mins == 0 { id(11) } else { id(12) },
                        at: T0 + Duration::minutes(mins),
                    })
                    .await?;
                }
                let mut r = referral(700, 1, ReferralStatus::Accepted, 0);
                r.acknowledged_at = None;
                r.decided_at = Some(T0 + Duration::minutes(30));
                r.updated_at = T0 + Duration::minutes(30);
                tx.update_referral(&r).await?;
                let mut closed = r.clone();
                closed.id = id(701);
                closed.sent_at = T0 + Duration::minutes(10);
                closed.status = ReferralStatus::Closed;
                closed.closed_at = Some(T0 + Duration::days(30));
                closed.outcome = Some("Worked with for 6 weeks; risk reduced".into());
                closed.decline_reason = None;
                tx.update_referral(&closed).await?;
                Ok((
                    tx.get_referral(id(700)).await?,
                    tx.get_referral(id(701)).await?,
                    tx.referral_shared(id(700)).await?,
                    tx.referral_shared(id(701)).await?,
                    tx.referral_events(id(700)).await?,
                    tx.referrals_for(id(1)).await?,
                    tx.get_referral(id(999)).await?,
                ))
            })
        })
        .await
        .unwrap();
    let (r, closed, items, none_shared, events, for_child, none) = got;
    let r = r.unwrap();
    assert_eq!(r.status, ReferralStatus::Accepted);
    assert_eq!(r.decided_at, Some(T0 + Duration::minutes(30)));
    assert_eq!(r.ack_due_at, T0 + Duration::hours(8));
    assert_eq!(r.reason, "Referral 700: needs specialist support");
    let closed = closed.unwrap();
    assert_eq!(closed.status, ReferralStatus::Closed);
    assert_eq!(
        closed.outcome.as_deref(),
        Some("Worked with for 6 weeks; risk reduced")
    );
    assert_eq!(items, shared());
    assert!(none_shared.is_empty());
    assert_eq!(
        events.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![ReferralStatus::Sent, ReferralStatus::Accepted]
    );
    assert_eq!(events[1].note, "Allocated to a worker");
    assert_eq!(events[1].org_id, id(12));
    assert_eq!(
        for_child.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id(701), id(700)],
        "newest first"
    );
    assert!(none.is_none());
}

async fn inbox_order_and_scope(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                for (n, status, mins) in [
                    (700u128, ReferralStatus::Sent, 0),
                    (701, ReferralStatus::Acknowledged, 60),
                    (702, ReferralStatus::Accepted, 120),
                    (703, ReferralStatus::Declined, 30),
                    (704, ReferralStatus::Sent, 90),
                ] {
                    tx.insert_referral(&referral(n, 1, status, mins), &[])
                        .await?;
                }
                // About child 2, whose record is marked "staff involved": never listed for
                // anyone not cleared.
                tx.insert_referral(&referral(705, 2, ReferralStatus::Sent, 5), &[])
                    .await?;
                let ids = |v: Vec<(Referral, mace_domain::person::Person)>| {
                    v.into_iter().map(|(r, _)| r.id).collect::<Vec<_>>()
                };
                // Not involved yet: nothing shows.
                let before = ids(tx.referral_inbox(&scope(12, 21), id(12), 50).await?);
                for person in [1u128, 2] {
                    tx.insert_involvement(&Involvement {
                        person_id: id(person),
                        org_id: id(12),
                        reason: InvolvementReason::Referral,
                        is_lead: false,
                        created_at: T0,
                    })
                    .await?;
                }
                let inbox = ids(tx.referral_inbox(&scope(12, 21), id(12), 50).await?);
                let first_two = ids(tx.referral_inbox(&scope(12, 21), id(12), 2).await?);
                let other_org = ids(tx.referral_inbox(&scope(10, 98), id(10), 50).await?);
                let nothing = ids(tx.referral_inbox(&Scope::Nothing, id(12), 50).await?);
                let made = ids(tx.referrals_made_by(&scope(11, 20), id(20), 50).await?);
                let made_by_other = ids(tx.referrals_made_by(&scope(12, 21), id(21), 50).await?);
                Ok((
                    before,
                    inbox,
                    first_two,
                    other_org,
                    nothing,
                    made,
                    made_by_other,
                ))
            })
        })
        .await
        .unwrap();
    let (before, inbox, first_two, other_org, nothing, made, made_by_other) = got;
    assert!(before.is_empty());
    // Waiting ones oldest first, then decided ones newest first; child 2 never.
    assert_eq!(inbox, vec![id(700), id(701), id(704), id(702), id(703)]);
    assert_eq!(first_two, vec![id(700), id(701)]);
    assert!(other_org.is_empty());
    assert!(nothing.is_empty());
    // The referrer (allocated to child 2 but not cleared) sees child 1's, newest first.
    assert_eq!(made, vec![id(702), id(704), id(701), id(703), id(700)]);
    assert!(made_by_other.is_empty());
}

async fn notifications_read_and_unread(db: &TestDb) {
    let store = db.store();
    let got = store
        .write(|tx| {
            Box::pin(async move {
                fill(tx).await?;
                tx.insert_referral(&referral(700, 1, ReferralStatus::Sent, 0), &[])
                    .await?;
                for (n, mins, user) in [(900u128, 0, 20u128), (901, 5, 20), (902, 6, 21)] {
                    tx.insert_notification(&Notification {
                        id: id(n),
                        user_id: id(user),
                        referral_id: id(700),
                        message: format!("Update {n}"),
                        created_at: T0 + Duration::minutes(mins),
                        read_at: None,
                    })
                    .await?;
                }
                let unread = tx.notifications_for(id(20), true, 10).await?;
                // Marking someone else's notification does nothing.
                tx.mark_notifications_read(id(20), &[id(900), id(902)], T0 + Duration::hours(1))
                    .await?;
                let after = tx.notifications_for(id(20), true, 10).await?;
                let all = tx.notifications_for(id(20), false, 10).await?;
                let theirs = tx.notifications_for(id(21), true, 10).await?;
                Ok((unread, after, all, theirs))
            })
        })
        .await
        .unwrap();
    let (unread, after, all, theirs) = got;
    assert_eq!(
        unread.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![id(901), id(900)]
    );
    assert_eq!(
        after.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![id(901)]
    );
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter().find(|n| n.id == id(900)).and_then(|n| n.read_at),
        Some(T0 + Duration::hours(1))
    );
    assert_eq!(theirs.len(), 1, "another user's stays unread");
}

mace_testkit::contract_tests!(
    services_round_trip,
    referrals_shared_steps_and_status,
    inbox_order_and_scope,
    notifications_read_and_unread
);
