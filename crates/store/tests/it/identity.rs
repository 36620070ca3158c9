use mace_domain::Error;
use mace_domain::authz::{OrgType, Role};
use mace_domain::identity::model::{
    ApiToken, Email, Organisation, Session, SessionStage, Team, TokenScope, User, UserStatus,
};
use mace_domain::ports::{IdentityRepo, SessionRepo, ThrottleRepo};
use mace_testkit::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-01-05 09:00:00.123456 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn org(n: u128, name: &str) -> Organisation {
    Organisation {
        id: id(n),
        name: name.into(),
        org_type: OrgType::School,
        created_at: T0,
    }
}

fn user(n: u128, org: Uuid, email: &str) -> User {
    User {
        id: id(n),
        org_id: org,
        team_id: None,
        email: Email::parse(email).unwrap(),
        display_name: format!("User {n}"),
        roles: vec![Role::DesignatedSafeguardingLead, Role::SocialWorker], // stored sorted
        status: UserStatus::Active,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into()),
        password_changed_at: Some(T0),
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: T0,
        updated_at: T0,
    }
}

async fn seed(db: &TestDb) -> (Organisation, User) {
    let (o, u) = (
        org(1, "Thames Estuary Academy"),
        user(10, id(1), "dsl@school.example"),
    );
    let (o2, u2) = (o.clone(), u.clone());
    db.store()
        .write(|tx| {
            let (o, u) = (o2.clone(), u2.clone());
            Box::pin(async move {
                tx.insert_org(&o).await?;
                tx.insert_user(&u).await
            })
        })
        .await
        .unwrap();
    (o, u)
}

async fn orgs_teams_users_round_trip(db: &TestDb) {
    let (o, mut u) = seed(db).await;
    let s = db.store();
    let team = Team {
        id: id(2),
        org_id: o.id,
        name: "Safeguarding".into(),
        created_at: T0,
    };
    let t2 = team.clone();
    s.write(|tx| {
        let t = t2.clone();
        Box::pin(async move { tx.insert_team(&t).await })
    })
    .await
    .unwrap();
    let (got_org, orgs, teams, got_user, by_email, users, n) = s
        .read(|tx| {
            Box::pin(async move {
                Ok((
                    tx.get_org(id(1)).await?,
                    tx.list_orgs().await?,
                    tx.list_teams(id(1)).await?,
                    tx.get_user(id(10)).await?,
                    tx.find_user_by_email(&Email::parse("DSL@school.example").unwrap())
                        .await?,
                    tx.list_users(Some(id(1))).await?,
                    tx.count_users().await?,
                ))
            })
        })
        .await
        .unwrap();
    assert_eq!(got_org, Some(o.clone()));
    assert_eq!(orgs, vec![o]);
    assert_eq!(teams, vec![team]);
    assert_eq!(got_user.as_ref(), Some(&u));
    assert_eq!(by_email.as_ref(), Some(&u));
    assert_eq!(users, vec![u.clone()]);
    assert_eq!(n, 1);

    // Update every mutable field.
    u.totp_secret = Some(vec![1, 2, 3]);
    u.totp_last_step = Some(42);
    u.mfa_enrolled_at = Some(T0 + Duration::minutes(1));
    u.status = UserStatus::Disabled;
    u.roles = vec![Role::TeamManager];
    u.team_id = Some(id(2));
    u.updated_at = T0 + Duration::minutes(2);
    let u2 = u.clone();
    s.write(|tx| {
        let u = u2.clone();
        Box::pin(async move { tx.update_user(&u).await })
    })
    .await
    .unwrap();
    let back = s
        .read(|tx| Box::pin(async move { tx.get_user(id(10)).await }))
        .await
        .unwrap();
    assert_eq!(back, Some(u));
}

async fn emails_and_org_names_are_unique(db: &TestDb) {
    seed(db).await;
    let s = db.store();
    let dup_email = s
        .write(|tx| {
            Box::pin(async move { tx.insert_user(&user(11, id(1), "dsl@school.example")).await })
        })
        .await;
    assert!(matches!(dup_email, Err(Error::Conflict(_))));
    let dup_org = s
        .write(|tx| Box::pin(async move { tx.insert_org(&org(3, "thames estuary academy")).await }))
        .await;
    assert!(
        matches!(dup_org, Err(Error::Conflict(_))),
        "names are unique case-insensitively"
    );
}

async fn recovery_codes_work_once(db: &TestDb) {
    seed(db).await;
    let s = db.store();
    let hashes = vec!["h1".to_string(), "h2".to_string()];
    s.write(|tx| {
        let h = hashes.clone();
        Box::pin(async move { tx.set_recovery_codes(id(10), &h, T0).await })
    })
    .await
    .unwrap();
    let first = s
        .write(|tx| Box::pin(async move { tx.use_recovery_code(id(10), "h1", T0).await }))
        .await
        .unwrap();
    let again = s
        .write(|tx| Box::pin(async move { tx.use_recovery_code(id(10), "h1", T0).await }))
        .await
        .unwrap();
    let unknown = s
        .write(|tx| Box::pin(async move { tx.use_recovery_code(id(10), "zz", T0).await }))
        .await
        .unwrap();
    assert!(first);
    assert!(!again, "single use");
    assert!(!unknown);
    // Replacing the codes retires the old ones.
    s.write(|tx| {
        Box::pin(async move { tx.set_recovery_codes(id(10), &["h3".to_string()], T0).await })
    })
    .await
    .unwrap();
    let old = s
        .write(|tx| Box::pin(async move { tx.use_recovery_code(id(10), "h2", T0).await }))
        .await
        .unwrap();
    assert!(!old);
}

fn session(n: u128, user: Option<Uuid>) -> Session {
    Session {
        id: id(n),
        token_hash: format!("hash-{n}"),
        user_id: user,
        stage: SessionStage::PasswordOk,
        csrf_secret: "csrf".into(),
        created_at: T0,
        last_seen_at: T0,
        mfa_at: None,
        revoked_at: None,
    }
}

async fn sessions_round_trip_and_revoke(db: &TestDb) {
    seed(db).await;
    let s = db.store();
    for n in [100, 101, 102] {
        s.write(|tx| Box::pin(async move { tx.insert_session(&session(n, Some(id(10)))).await }))
            .await
            .unwrap();
    }
    let mut got = s
        .read(|tx| Box::pin(async move { tx.find_session("hash-100").await }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, session(100, Some(id(10))));
    got.stage = SessionStage::Full;
    got.mfa_at = Some(T0 + Duration::seconds(5));
    got.last_seen_at = T0 + Duration::seconds(6);
    let g2 = got.clone();
    s.write(|tx| {
        let g = g2.clone();
        Box::pin(async move { tx.update_session(&g).await })
    })
    .await
    .unwrap();
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.find_session("hash-100").await }))
            .await
            .unwrap(),
        Some(got)
    );
    let revoked = s
        .write(|tx| {
            Box::pin(async move { tx.revoke_user_sessions(id(10), T0, Some(id(100))).await })
        })
        .await
        .unwrap();
    assert_eq!(revoked, 2, "all but the kept session");
    let kept = s
        .read(|tx| Box::pin(async move { tx.find_session("hash-100").await }))
        .await
        .unwrap()
        .unwrap();
    assert!(kept.revoked_at.is_none());
    let gone = s
        .read(|tx| Box::pin(async move { tx.find_session("hash-101").await }))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.revoked_at, Some(T0));
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.find_session("nope").await }))
            .await
            .unwrap(),
        None
    );
}

async fn api_tokens_round_trip_and_revoke(db: &TestDb) {
    seed(db).await;
    let s = db.store();
    let tok = ApiToken {
        id: id(200),
        user_id: id(10),
        name: "case system sync".into(),
        token_hash: "tokhash".into(),
        scopes: vec![TokenScope::Read, TokenScope::Write],
        created_at: T0,
        expires_at: T0 + Duration::days(30),
        last_used_at: None,
        revoked_at: None,
    };
    let t2 = tok.clone();
    s.write(|tx| {
        let t = t2.clone();
        Box::pin(async move { tx.insert_api_token(&t).await })
    })
    .await
    .unwrap();
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.find_api_token("tokhash").await }))
            .await
            .unwrap(),
        Some(tok.clone())
    );
    s.write(|tx| {
        Box::pin(async move { tx.touch_api_token(id(200), T0 + Duration::hours(1)).await })
    })
    .await
    .unwrap();
    let listed = s
        .read(|tx| Box::pin(async move { tx.list_api_tokens(id(10)).await }))
        .await
        .unwrap();
    assert_eq!(listed[0].last_used_at, Some(T0 + Duration::hours(1)));
    let other_user = s
        .write(|tx| Box::pin(async move { tx.revoke_api_token(id(11), id(200), T0).await }))
        .await
        .unwrap();
    assert!(!other_user, "only the owner revokes");
    assert!(
        s.write(|tx| Box::pin(async move { tx.revoke_api_token(id(10), id(200), T0).await }))
            .await
            .unwrap()
    );
    let t = s
        .read(|tx| Box::pin(async move { tx.find_api_token("tokhash").await }))
        .await
        .unwrap()
        .unwrap();
    assert!(!t.live(T0));
}

async fn throttle_counts_within_a_window(db: &TestDb) {
    let s = db.store();
    for i in 0..5 {
        let at = T0 + Duration::minutes(i);
        s.write(|tx| {
            Box::pin(async move { tx.record_failure("k", at, at - Duration::minutes(15)).await })
        })
        .await
        .unwrap();
    }
    let (n, last) = s
        .read(|tx| Box::pin(async move { tx.failures_since("k", T0 + Duration::minutes(2)).await }))
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(last, Some(T0 + Duration::minutes(4)));
    let other = s
        .read(|tx| Box::pin(async move { tx.failures_since("other", T0).await }))
        .await
        .unwrap();
    assert_eq!(other, (0, None));
    s.write(|tx| Box::pin(async move { tx.clear_failures("k").await }))
        .await
        .unwrap();
    assert_eq!(
        s.read(|tx| Box::pin(async move { tx.failures_since("k", T0).await }))
            .await
            .unwrap()
            .0,
        0
    );
}

mace_testkit::contract_tests!(
    orgs_teams_users_round_trip,
    emails_and_org_names_are_unique,
    recovery_codes_work_once,
    sessions_round_trip_and_revoke,
    api_tokens_round_trip_and_revoke,
    throttle_counts_within_a_window,
);
