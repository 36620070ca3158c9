use futures::future::BoxFuture;
use mace_domain::error::StoreFailure;
use mace_domain::person::{self, Gender, NewPerson, Person, PersonKind, PersonName};
use mace_domain::ports::{MetaRepo, PersonRepo};
use mace_domain::postcode::Postcode;
use mace_domain::{Ctx, Error, ManualClock, SequentialIds};
use mace_store::{Backend, Tx};
use mace_testkit::TestDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use time::macros::{date, datetime};

fn ctx() -> Ctx {
    Ctx::new(
        Arc::new(ManualClock::default_start()),
        Arc::new(SequentialIds::new()),
    )
}

fn child(given: &str) -> NewPerson {
    NewPerson {
        kind: PersonKind::Child,
        given_name: PersonName::parse("given_name", given).unwrap(),
        family_name: PersonName::parse("family_name", "O'Brien").unwrap(),
        date_of_birth: Some(date!(2011 - 02 - 28)),
        dob_approximate: false,
        gender: Gender::Female,
        postcode: Some(Postcode::parse("ss1 2ab").unwrap()),
    }
}

async fn insert(db: &TestDb, ctx: &Ctx, p: NewPerson) -> Person {
    db.store()
        .write(|tx| {
            let (ctx, p) = (ctx.clone(), p.clone());
            Box::pin(async move { person::create(&ctx, tx, p).await })
        })
        .await
        .unwrap()
}

async fn get(db: &TestDb, id: uuid::Uuid) -> Option<Person> {
    db.store()
        .read(|tx| Box::pin(async move { tx.get_person(id).await }))
        .await
        .unwrap()
}

async fn count(db: &TestDb) -> i64 {
    db.store()
        .read(|tx| Box::pin(async move { tx.count_people().await }))
        .await
        .unwrap()
}

async fn meta_set_get_overwrite(db: &TestDb) {
    let s = db.store();
    let at = datetime!(2026-01-05 09:00 UTC);
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.get_meta("k").await }))
            .await
            .unwrap(),
        None
    );
    s.write(|tx| Box::pin(async move { tx.set_meta("k", "one", at).await }))
        .await
        .unwrap();
    s.write(|tx| Box::pin(async move { tx.set_meta("k", "two", at).await }))
        .await
        .unwrap();
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.get_meta("k").await }))
            .await
            .unwrap(),
        Some("two".into())
    );
}

async fn person_round_trips_every_field(db: &TestDb) {
    let ctx = ctx();
    let full = insert(db, &ctx, child("Kayleigh")).await;
    assert_eq!(get(db, full.id).await.as_ref(), Some(&full));
    let sparse = insert(
        db,
        &ctx,
        NewPerson {
            kind: PersonKind::PersonOfConcern,
            date_of_birth: None,
            postcode: None,
            gender: Gender::NotKnown,
            ..child("Unknown")
        },
    )
    .await;
    assert_eq!(get(db, sparse.id).await.as_ref(), Some(&sparse));
    let approx = insert(
        db,
        &ctx,
        NewPerson {
            dob_approximate: true,
            ..child("Approx")
        },
    )
    .await;
    assert!(get(db, approx.id).await.unwrap().dob_approximate);
    assert_eq!(count(db).await, 3);
    assert_eq!(get(db, uuid::Uuid::from_u128(12345)).await, None);
}

async fn timestamps_keep_microseconds(db: &TestDb) {
    let ids = Arc::new(SequentialIds::new());
    for at in [
        datetime!(2026-11-23 10:11:12.654321 UTC),
        datetime!(1969-12-31 23:59:59.999999 UTC),
        datetime!(2000-02-29 00:00:00.000001 UTC),
    ] {
        let clock = ManualClock::new(at);
        let ctx = Ctx::new(Arc::new(clock), ids.clone());
        let mut p = child("Time");
        p.date_of_birth = Some(date!(1950 - 01 - 01));
        let stored = insert(db, &ctx, p).await;
        let back = get(db, stored.id).await.unwrap();
        assert_eq!(back.created_at, at);
        assert_eq!(back.created_at.offset(), time::UtcOffset::UTC);
    }
}

async fn failed_write_leaves_nothing(db: &TestDb) {
    let ctx = ctx();
    let r: Result<(), Error> = db
        .store()
        .write(|tx| {
            let ctx = ctx.clone();
            Box::pin(async move {
                person::create(&ctx, tx, child("Rolled")).await?;
                tx.set_meta("half", "done", ctx.clock.now()).await?;
                Err(Error::Conflict("stop".into()))
            })
        })
        .await;
    assert!(matches!(r, Err(Error::Conflict(_))));
    assert_eq!(count(db).await, 0);
    assert_eq!(
        db.store()
            .read(|tx| Box::pin(async move { tx.get_meta("half").await }))
            .await
            .unwrap(),
        None
    );
}

async fn duplicate_key_is_a_conflict(db: &TestDb) {
    let ctx = ctx();
    let p = insert(db, &ctx, child("Dup")).await;
    let store = db.store();
    let r = store
        .write(|tx| {
            let p = p.clone();
            Box::pin(async move { tx.insert_person(&p).await })
        })
        .await;
    assert!(matches!(r, Err(Error::Conflict(_))));
    assert_eq!(count(db).await, 1);
}

async fn concurrent_writes_all_land(db: &TestDb) {
    let ctx = Ctx::system();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = db.store();
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(|tx| {
                    let ctx = ctx.clone();
                    Box::pin(
                        async move { person::create(&ctx, tx, child(&format!("Child{i}"))).await },
                    )
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(count(db).await, 50);
}

fn flaky(tx: &mut Tx, attempts: Arc<AtomicU32>) -> BoxFuture<'_, Result<u32, Error>> {
    Box::pin(async move {
        let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
        tx.set_meta("attempt", &n.to_string(), datetime!(2026-01-05 09:00 UTC))
            .await?;
        if n < 3 {
            Err(Error::Store(StoreFailure {
                detail: "simulated busy".into(),
                retryable: true,
            }))
        } else {
            Ok(n)
        }
    })
}

async fn write_retries_retryable_failures(db: &TestDb) {
    let attempts = Arc::new(AtomicU32::new(0));
    let n = db
        .store()
        .write(|tx| flaky(tx, attempts.clone()))
        .await
        .unwrap();
    assert_eq!(n, 3, "ran three times");
    // Only the successful attempt's change is kept.
    let v = db
        .store()
        .read(|tx| Box::pin(async move { tx.get_meta("attempt").await }))
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("3"));

    // A non-retryable error is not retried.
    let once = AtomicU32::new(0);
    let r: Result<(), Error> = db
        .store()
        .write(|_tx| {
            once.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(Error::NotFound) })
        })
        .await;
    assert!(matches!(r, Err(Error::NotFound)));
    assert_eq!(once.load(Ordering::SeqCst), 1);

    // A failure that stays retryable gives up after the bound.
    let forever = AtomicU32::new(0);
    let r: Result<(), Error> = db
        .store()
        .write(|_tx| {
            forever.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                Err(Error::Store(StoreFailure {
                    detail: "busy".into(),
                    retryable: true,
                }))
            })
        })
        .await;
    assert!(r.is_err());
    assert_eq!(
        forever.load(Ordering::SeqCst),
        mace_store::MAX_WRITE_ATTEMPTS
    );
}

async fn ping_and_schema_version(db: &TestDb) {
    db.store().ping().await.unwrap();
    assert!(db.store().schema_version().await.unwrap() >= 1);
    assert_eq!(
        db.store().migrate().await.unwrap(),
        0,
        "migrating again applies nothing"
    );
}

async fn sqlite_is_durable(db: &TestDb) {
    let s = db.store();
    match s.backend() {
        Backend::Sqlite => {
            let (jm, sync, fk) = s.sqlite_pragmas().await.unwrap();
            assert_eq!(jm, "wal");
            assert_eq!(sync, 2, "synchronous=FULL");
            assert_eq!(fk, 1);
        }
        Backend::Postgres => assert!(s.sqlite_pragmas().await.is_none()),
    }
}

async fn closed_store_fails_cleanly(db: &TestDb) {
    let s = db.store();
    s.close().await;
    assert!(matches!(s.ping().await, Err(Error::Store(_))));
}

mace_testkit::contract_tests!(
    meta_set_get_overwrite,
    person_round_trips_every_field,
    timestamps_keep_microseconds,
    failed_write_leaves_nothing,
    duplicate_key_is_a_conflict,
    concurrent_writes_all_land,
    write_retries_retryable_failures,
    ping_and_schema_version,
    sqlite_is_durable,
    closed_store_fails_cleanly,
);
