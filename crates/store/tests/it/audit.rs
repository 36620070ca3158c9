//! The audit chain on both engines: gapless under concurrency, append-only for mace's own role,
//! and any tampering (update, delete, reorder, truncate) named by verification (LOG-06).

use mace_domain::audit::{Category, ChainKey, NewEvent, Outcome, VerifyError};
use mace_domain::ports::AuditLog;
use mace_store::DbConfig;
use mace_testkit::TestDb;
use sqlx::Connection;
use time::macros::datetime;
use uuid::Uuid;

fn key() -> ChainKey {
    ChainKey::from_bytes([9; 32])
}

fn event(i: u32) -> NewEvent {
    NewEvent {
        actor_user: Some(Uuid::from_u128(7)),
        target_type: Some("person".into()),
        target_id: Some(Uuid::from_u128(u128::from(i % 3))),
        ..NewEvent::new(
            datetime!(2026-01-05 09:00 UTC),
            Category::Consultation,
            "person.view",
            Outcome::Success,
        )
    }
}

async fn append_n(db: &TestDb, n: u32) {
    for i in 0..n {
        db.store()
            .write(|tx| {
                Box::pin(async move {
                    tx.append(&key(), Uuid::from_u128(1000 + u128::from(i)), &event(i))
                        .await
                })
            })
            .await
            .unwrap();
    }
}

/// Run raw SQL as someone with direct database access (bypassing mace).
async fn raw(db: &TestDb, statements: &[&str]) -> Result<(), sqlx::Error> {
    match db.config() {
        DbConfig::Sqlite { path } => {
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display())).await?;
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(&mut c)
                    .await?;
            }
            c.close().await
        }
        DbConfig::Postgres { url } => {
            let mut c = sqlx::PgConnection::connect(&url).await?;
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(&mut c)
                    .await?;
            }
            c.close().await
        }
    }
}

async fn bypass_triggers(db: &TestDb) {
    let stmts: &[&str] = match db.config() {
        DbConfig::Sqlite { .. } => &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ],
        DbConfig::Postgres { .. } => &["ALTER TABLE audit_events DISABLE TRIGGER USER"],
    };
    raw(db, stmts).await.unwrap();
}

async fn verify(db: &TestDb) -> Result<i64, VerifyError> {
    db.store()
        .verify_audit(&key())
        .await
        .unwrap()
        .map(|r| r.events)
}

async fn untouched_chain_verifies(db: &TestDb) {
    assert_eq!(verify(db).await, Ok(0), "an empty log verifies");
    append_n(db, 5).await;
    assert_eq!(verify(db).await, Ok(5));
    let wrong = db
        .store()
        .verify_audit(&ChainKey::from_bytes([1; 32]))
        .await
        .unwrap();
    assert_eq!(
        wrong.map_err(|e| e.first_bad_seq()),
        Err(Some(1)),
        "another key cannot verify"
    );
}

async fn concurrent_appends_make_one_gapless_chain(db: &TestDb) {
    let mut tasks = Vec::new();
    for i in 0..40u32 {
        let store = db.store();
        tasks.push(tokio::spawn(async move {
            store
                .write(|tx| {
                    Box::pin(async move {
                        tx.append(&key(), Uuid::from_u128(5000 + u128::from(i)), &event(i))
                            .await
                    })
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(verify(db).await, Ok(40));
}

async fn mace_cannot_edit_or_delete_events(db: &TestDb) {
    append_n(db, 2).await;
    assert!(
        raw(db, &["UPDATE audit_events SET action = 'x' WHERE seq = 1"])
            .await
            .is_err()
    );
    assert!(
        raw(db, &["DELETE FROM audit_events WHERE seq = 2"])
            .await
            .is_err()
    );
    assert_eq!(verify(db).await, Ok(2));
}

async fn an_edited_event_is_named(db: &TestDb) {
    append_n(db, 8).await;
    bypass_triggers(db).await;
    raw(
        db,
        &["UPDATE audit_events SET action = 'person.edit' WHERE seq = 3"],
    )
    .await
    .unwrap();
    assert_eq!(verify(db).await, Err(VerifyError::Altered { seq: 3 }));
}

async fn a_removed_event_is_named(db: &TestDb) {
    append_n(db, 8).await;
    bypass_triggers(db).await;
    raw(db, &["DELETE FROM audit_events WHERE seq = 4"])
        .await
        .unwrap();
    assert_eq!(verify(db).await, Err(VerifyError::Removed { seq: 4 }));
}

async fn reordered_events_are_named(db: &TestDb) {
    append_n(db, 8).await;
    bypass_triggers(db).await;
    raw(
        db,
        &[
            "UPDATE audit_events SET seq = -5 WHERE seq = 5",
            "UPDATE audit_events SET seq = 5 WHERE seq = 6",
            "UPDATE audit_events SET seq = 6 WHERE seq = -5",
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        verify(db).await.map_err(|e| e.first_bad_seq()),
        Err(Some(5))
    );
}

async fn a_truncated_tail_is_detected(db: &TestDb) {
    append_n(db, 8).await;
    bypass_triggers(db).await;
    raw(db, &["DELETE FROM audit_events WHERE seq > 6"])
        .await
        .unwrap();
    assert_eq!(
        verify(db).await,
        Err(VerifyError::Truncated { last: 6, head: 8 })
    );
    // Rewinding the head to hide it needs the key.
    raw(db, &["UPDATE audit_head SET seq = 6"]).await.unwrap();
    assert_eq!(verify(db).await, Err(VerifyError::HeadAltered));
}

async fn who_has_seen_and_category_queries(db: &TestDb) {
    append_n(db, 9).await;
    let s = db.store();
    let about = s
        .read(|tx| Box::pin(async move { tx.audit_for_target(Uuid::from_u128(1), 10).await }))
        .await
        .unwrap();
    assert_eq!(
        about.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![8, 5, 2],
        "newest first, only that record"
    );
    let cats = s
        .read(|tx| {
            Box::pin(async move {
                tx.audit_by_category(&[Category::Consultation, Category::BreakGlass], 4)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(
        cats.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![9, 8, 7, 6]
    );
}

/// A refused write keeps its audit event (the refusal is committed); any other failure rolls
/// the whole transaction back.
async fn a_refusal_keeps_its_event_and_other_failures_roll_back(db: &TestDb) {
    let refused = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.append(&key(), Uuid::from_u128(1), &event(1)).await?;
                Err::<(), _>(mace_domain::Error::Forbidden {
                    reason: "no relationship".into(),
                })
            })
        })
        .await;
    assert!(matches!(refused, Err(mace_domain::Error::Forbidden { .. })));
    assert_eq!(verify(db).await, Ok(1), "the refusal is recorded");
    let failed = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                tx.append(&key(), Uuid::from_u128(2), &event(2)).await?;
                Err::<(), _>(mace_domain::Error::NotFound)
            })
        })
        .await;
    assert!(matches!(failed, Err(mace_domain::Error::NotFound)));
    assert_eq!(verify(db).await, Ok(1), "nothing else is kept");
}

mace_testkit::contract_tests!(
    a_refusal_keeps_its_event_and_other_failures_roll_back,
    untouched_chain_verifies,
    concurrent_appends_make_one_gapless_chain,
    mace_cannot_edit_or_delete_events,
    an_edited_event_is_named,
    a_removed_event_is_named,
    reordered_events_are_named,
    a_truncated_tail_is_detected,
    who_has_seen_and_category_queries,
);
