//! Sign-in, second factor, sessions, password change and CSRF, driven through the router as a
//! browser would (issue 3). Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

use crate::browser::*;
use crate::support::{Reply, TestApp, app};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mace_domain::audit::Category;
use mace_domain::authz::Role;
use mace_domain::identity::model::{Email, UserStatus};
use mace_domain::identity::totp;
use mace_domain::ports::{AuditLog, IdentityRepo};
use time::Duration;

async fn audit_actions(app: &TestApp) -> Vec<String> {
    app.state
        .store
        .read(|tx| Box::pin(async move { tx.audit_by_category(&[Category::Authn], 100).await }))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| format!("{}:{}", e.body.action, e.body.outcome.as_str()))
        .collect()
}

#[tokio::test]
async fn sign_in_page_sets_a_host_prefixed_pre_sign_in_cookie() {
    let app = app().await;
    let mut b = Browser::new(&app);
    let r = b.get("/sign-in").await;
    assert_eq!(r.status, StatusCode::OK);
    let set = r.header("set-cookie");
    assert!(set.starts_with("__Host-mace_pre="), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Domain"), "__Host- cookies carry no Domain");
    assert_eq!(r.header("cache-control"), "no-store");
    // No session exists before sign-in.
    assert!(b.session().is_none());
    assert_eq!(r.select_text("h1"), vec!["Sign in to mace"]);
}

#[tokio::test]
async fn first_sign_in_enrols_totp_then_rotates_the_session() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);

    // Before sign-in, the account page sends you to sign in, remembering where you were going.
    let r = b.get("/account").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/sign-in?next=/account");

    let r = sign_in_password(&mut b, "DSL@school.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let pending = b.session().expect("a session after the password");
    assert!(
        !b.cookies.contains_key("__Host-mace_pre"),
        "the pre-sign-in cookie is cleared"
    );

    // With only a password, case pages are still out of reach.
    let r = b.get("/account").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/mfa/verify"));

    let page = b.get("/mfa/enrol?next=/account").await;
    let secret = setup_key(&page);
    assert_eq!(secret.len(), totp::SECRET_BYTES);
    let token = csrf(&page);

    // A wrong code: the GOV.UK error pattern, and the secret stays the same.
    let r = b
        .post(
            "/mfa/enrol",
            &[
                ("code", "000000"),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.select_text(".govuk-error-summary__title"),
        vec!["There is a problem"]
    );
    assert!(r.select_text("title")[0].starts_with("Error: "));
    assert_eq!(setup_key(&r), secret);

    let r = b
        .post(
            "/mfa/enrol",
            &[
                ("code", &code_at(&app, &secret, 0)),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.select_text(".mace-recovery-codes li").len(), 10);
    let full = b.session().unwrap();
    assert_ne!(
        full, pending,
        "the session token rotates when the second factor is accepted"
    );

    let r = b.get("/account").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("dsl@school.test"));
    assert!(r.body.contains("Designated safeguarding lead"));
    assert!(r.body.contains("Signed in as"));

    // The pre-rotation token is dead.
    let mut old = Browser::new(&app);
    old.cookies.insert("__Host-mace_session".into(), pending);
    assert_eq!(old.get("/account").await.status, StatusCode::SEE_OTHER);

    let actions = audit_actions(&app).await;
    assert_eq!(
        actions,
        vec![
            "authn.password:success",
            "authn.mfa_enrol:failure",
            "authn.mfa_enrol:success"
        ]
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let app = app().await;
    add_user(&app, "sw@council.test", Role::SocialWorker).await;
    let mut b = Browser::new(&app);
    let wrong = sign_in_password(&mut b, "sw@council.test", "not-the-password-at-all").await;
    let unknown = sign_in_password(&mut b, "nobody@council.test", "not-the-password-at-all").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.status, wrong.status);
    let msg = |r: &Reply| r.select_text(".govuk-error-summary__list li");
    assert_eq!(
        msg(&wrong),
        vec!["Enter a correct email address and password"]
    );
    assert_eq!(msg(&unknown), msg(&wrong));
    // The typed email is kept; the password never is.
    assert!(wrong.body.contains("value=\"sw@council.test\""));
    assert!(!wrong.body.contains("not-the-password-at-all"));
    assert!(b.session().is_none());

    let empty = b
        .post(
            "/sign-in",
            &[
                ("email", ""),
                ("password", ""),
                ("csrf_token", &csrf(&wrong)),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        msg(&empty),
        vec!["Enter your email address", "Enter your password"]
    );
    // Error messages link to their fields.
    assert!(empty.body.contains("href=\"#email\""));
    assert!(empty.body.contains("id=\"email-error\""));
}

#[tokio::test]
async fn csrf_tokens_and_cross_site_requests_are_refused() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    let form = b.get("/sign-in").await;
    let token = csrf(&form);
    let creds = [("email", "dsl@school.test"), ("password", PASSWORD)];

    // Wrong token.
    let r = b
        .post("/sign-in", &[creds[0], creds[1], ("csrf_token", "forged")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Right token, but the browser says the request came from another site.
    let r = b
        .post_with(
            "/sign-in",
            &[creds[0], creds[1], ("csrf_token", &token)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An older browser without Fetch Metadata, posting from another origin.
    let r = b
        .post_with(
            "/sign-in",
            &[creds[0], creds[1], ("csrf_token", &token)],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another browser's token does not fit this browser's cookie.
    let mut other = Browser::new(&app);
    let other_token = csrf(&other.get("/sign-in").await);
    let r = b
        .post(
            "/sign-in",
            &[creds[0], creds[1], ("csrf_token", &other_token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Same origin with the right token works.
    let r = b
        .post_with(
            "/sign-in",
            &[creds[0], creds[1], ("csrf_token", &token)],
            &[("origin", "http://mace.test")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // After sign-in, the session's token guards every form.
    let r = b.post("/sign-out", &[("csrf_token", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(b.session().is_some());
    // None of the refusals signed anyone in or out.
    let actions = audit_actions(&app).await;
    assert_eq!(actions, vec!["authn.password:success"]);
}

#[tokio::test]
async fn totp_codes_cannot_be_replayed_and_recovery_codes_work_once() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    let (secret, codes) = enrol(&app, &mut b, "dsl@school.test").await;
    let used = code_at(&app, &secret, 0);

    // A second browser signs in with the code already used for enrolment: refused.
    let mut b2 = Browser::new(&app);
    sign_in_password(&mut b2, "dsl@school.test", PASSWORD).await;
    let page = b2.get("/mfa/verify?next=/account").await;
    assert_eq!(page.status, StatusCode::OK);
    let token = csrf(&page);
    let r = b2
        .post(
            "/mfa/verify",
            &[
                ("code", &used),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The next step's code is accepted once.
    app.clock.advance(Duration::seconds(30));
    let fresh = code_at(&app, &secret, 0);
    let r = b2
        .post(
            "/mfa/verify",
            &[
                ("code", &fresh),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/account");

    let mut b3 = Browser::new(&app);
    sign_in_password(&mut b3, "dsl@school.test", PASSWORD).await;
    let token = csrf(&b3.get("/mfa/verify").await);
    let r = b3
        .post("/mfa/verify", &[("code", &fresh), ("csrf_token", &token)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "replayed code");

    // A recovery code, typed loosely, works; the same code a second time does not.
    let loose = codes[0].to_uppercase().replace('-', " ");
    let r = b3
        .post("/mfa/verify", &[("code", &loose), ("csrf_token", &token)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut b4 = Browser::new(&app);
    sign_in_password(&mut b4, "dsl@school.test", PASSWORD).await;
    let token = csrf(&b4.get("/mfa/verify").await);
    let r = b4
        .post(
            "/mfa/verify",
            &[("code", &codes[0]), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"authn.mfa_recovery_code:success".to_string())
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_twelve_hours() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    enrol(&app, &mut b, "dsl@school.test").await;
    assert_eq!(b.get("/account").await.status, StatusCode::OK);

    // Activity every 14 minutes keeps it alive...
    for _ in 0..4 {
        app.clock.advance(Duration::minutes(14));
        assert_eq!(b.get("/account").await.status, StatusCode::OK);
    }
    // ...but 16 idle minutes end it.
    app.clock.advance(Duration::minutes(16));
    let r = b.get("/account").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.header("location").starts_with("/sign-in"));

    // However active, a session ends 12 hours after sign-in.
    let mut b = Browser::new(&app);
    app.clock.advance(Duration::seconds(60));
    sign_in_password(&mut b, "dsl@school.test", PASSWORD).await;
    assert_eq!(b.get("/mfa/verify").await.status, StatusCode::OK);
    // Signed in with password only; keep it active: it still dies at 12 hours.
    let mut elapsed = Duration::ZERO;
    while elapsed <= Duration::hours(13) {
        app.clock.advance(Duration::minutes(14));
        elapsed += Duration::minutes(14);
        let r = b.get("/mfa/verify").await;
        if r.status != StatusCode::OK {
            assert_eq!(r.header("location"), "/sign-in");
            assert!(
                elapsed > Duration::hours(12)
                    && elapsed <= Duration::hours(12) + Duration::minutes(14),
                "{elapsed}"
            );
            return;
        }
    }
    panic!("the session outlived its 12-hour absolute timeout");
}

#[tokio::test]
async fn throttling_pauses_guessing_without_locking_the_owner_out_for_good() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    for _ in 0..10 {
        let r = sign_in_password(&mut b, "dsl@school.test", "wrong-guess-at-password").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // The 11th attempt from the same address pauses, even with the right password.
    let r = sign_in_password(&mut b, "dsl@school.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("too many attempts"), "{}", r.body);
    // The pause is short: after a minute the owner can sign in.
    app.clock.advance(Duration::seconds(61));
    let r = sign_in_password(&mut b, "dsl@school.test", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn changing_the_password_signs_out_everywhere_else() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    let (secret, _) = enrol(&app, &mut b, "dsl@school.test").await;

    let mut other = Browser::new(&app);
    sign_in_password(&mut other, "dsl@school.test", PASSWORD).await;
    app.clock.advance(Duration::seconds(30));
    let token = csrf(&other.get("/mfa/verify").await);
    let r = other
        .post(
            "/mfa/verify",
            &[("code", &code_at(&app, &secret, 0)), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(other.get("/account").await.status, StatusCode::OK);

    let page = b.get("/account/password").await;
    let token = csrf(&page);
    // Weak and mismatched passwords are refused with clear messages.
    let r = b
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", "password123"),
                ("confirm", "password123"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("15 characters"), "{}", r.body);
    let new = "lantern-meadow-quartz-harbour-19";
    let r = b
        .post(
            "/account/password",
            &[
                ("current", "wrong-current-password"),
                ("new_password", new),
                ("confirm", new),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("current password is not correct"));

    let before = b.session();
    let r = b
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new_password", new),
                ("confirm", new),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_ne!(b.session(), before, "rotated");
    let r = b.get("/account?done=password").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Your password has been changed"));
    // The other browser is signed out.
    assert_eq!(other.get("/account").await.status, StatusCode::SEE_OTHER);
    // The old password no longer works; the new one does.
    let mut c = Browser::new(&app);
    assert_eq!(
        sign_in_password(&mut c, "dsl@school.test", PASSWORD)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        sign_in_password(&mut c, "dsl@school.test", new)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_out_and_sign_out_everywhere() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut a = Browser::new(&app);
    let (secret, _) = enrol(&app, &mut a, "dsl@school.test").await;
    let mut b = Browser::new(&app);
    sign_in_password(&mut b, "dsl@school.test", PASSWORD).await;
    app.clock.advance(Duration::seconds(30));
    let token = csrf(&b.get("/mfa/verify").await);
    b.post(
        "/mfa/verify",
        &[("code", &code_at(&app, &secret, 0)), ("csrf_token", &token)],
    )
    .await;
    assert_eq!(b.get("/account").await.status, StatusCode::OK);

    // Plain sign-out ends only this browser's session.
    let page = a.get("/sign-out").await;
    let r = a.post("/sign-out", &[("csrf_token", &csrf(&page))]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("You have signed out"));
    assert!(a.session().is_none());
    assert_eq!(b.get("/account").await.status, StatusCode::OK);

    // Sign out everywhere from the account page ends the rest.
    let mut c = Browser::new(&app);
    sign_in_password(&mut c, "dsl@school.test", PASSWORD).await;
    let page = b.get("/account").await;
    let r = b
        .post(
            "/sign-out",
            &[("csrf_token", &csrf(&page)), ("everywhere", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("every other device"));
    assert_eq!(
        c.get("/mfa/verify").await.status,
        StatusCode::SEE_OTHER,
        "the half-signed-in session ended too"
    );
    let actions = audit_actions(&app).await;
    assert!(actions.contains(&"authn.sign_out:success".to_string()));
    assert!(actions.contains(&"authn.sign_out_everywhere:success".to_string()));
}

#[tokio::test]
async fn disabled_accounts_lose_their_sessions_and_cannot_sign_in() {
    let app = app().await;
    let id = add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    enrol(&app, &mut b, "dsl@school.test").await;
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    app.state
        .store
        .write(|tx| {
            Box::pin(async move {
                let mut u = tx.get_user(id).await?.unwrap();
                u.status = UserStatus::Disabled;
                tx.update_user(&u).await
            })
        })
        .await
        .unwrap();
    assert_eq!(b.get("/account").await.status, StatusCode::SEE_OTHER);
    let mut c = Browser::new(&app);
    assert_eq!(
        sign_in_password(&mut c, "dsl@school.test", PASSWORD)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn redirects_after_sign_in_stay_on_this_site() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    for (next, expect) in [
        ("//evil.example/x", "/mfa/enrol?next=/"),
        ("https://evil.example", "/mfa/enrol?next=/"),
        ("/\\evil.example", "/mfa/enrol?next=/"),
        ("/account", "/mfa/enrol?next=/account"),
    ] {
        let mut b = Browser::new(&app);
        let token = csrf(&b.get("/sign-in").await);
        let r = b
            .post(
                "/sign-in",
                &[
                    ("email", "dsl@school.test"),
                    ("password", PASSWORD),
                    ("csrf_token", &token),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.header("location"), expect, "next={next}");
    }
}

#[tokio::test]
async fn the_audit_chain_holds_after_a_sign_in_session() {
    let app = app().await;
    add_user(&app, "dsl@school.test", Role::DesignatedSafeguardingLead).await;
    let mut b = Browser::new(&app);
    enrol(&app, &mut b, "dsl@school.test").await;
    sign_in_password(
        &mut Browser::new(&app),
        "dsl@school.test",
        "wrong-guess-at-password",
    )
    .await;
    let verified = app
        .state
        .store
        .verify_audit(&app.state.audit_key)
        .await
        .unwrap();
    assert!(verified.is_ok(), "{verified:?}");
    let head = app
        .state
        .store
        .read(|tx| Box::pin(async move { tx.audit_head().await }))
        .await
        .unwrap()
        .unwrap();
    assert!(
        head.seq >= 5,
        "org, user, password, enrol and a failure are all recorded"
    );
}

// --- API tokens ----------------------------------------------------------------------------------

async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    app.send(b.body(Body::from("{}")).unwrap()).await
}

fn token_secret(reply: &Reply) -> String {
    reply.select_text("#token-secret").join("")
}

#[tokio::test]
async fn api_tokens_are_created_used_scoped_expired_and_revoked() {
    let app = app().await;
    add_user(&app, "analyst@police.test", Role::Analyst).await;
    let mut b = Browser::new(&app);
    enrol(&app, &mut b, "analyst@police.test").await;

    // Without a token, or with a made-up one: 401 with a Bearer challenge, in JSON.
    let r = api(&app, Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthorised");
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    let r = api(&app, Method::GET, "/api/v1/me", Some("mace_made-up"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The API never accepts the session cookie.
    let cookie = b.cookie_header();
    let r = api(&app, Method::GET, "/api/v1/me", None, Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The page refuses an incomplete request, keeping what was typed.
    let page = b.get("/account/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("You have no API tokens"));
    let token = csrf(&page);
    let r = b
        .post(
            "/account/tokens",
            &[
                ("name", "Analysis export"),
                ("days", "365"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.select_text(".govuk-error-summary__list li"),
        vec![
            "Choose what the token may do",
            "Choose when the token expires: between 1 and 90 days"
        ]
    );
    assert!(r.body.contains("value=\"Analysis export\""));

    let r = b
        .post(
            "/account/tokens",
            &[
                ("name", "Analysis export"),
                ("scope_read", "yes"),
                ("days", "30"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let read_token = token_secret(&r);
    assert!(read_token.starts_with("mace_"), "{read_token}");
    // Shown once: the list page never shows it again.
    let list = b.get("/account/tokens").await;
    assert!(!list.body.contains(&read_token));
    assert!(list.body.contains("Analysis export"));
    assert!(list.body.contains("Never"));

    let r = api(&app, Method::GET, "/api/v1/me", Some(&read_token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let me = r.json();
    assert_eq!(me["email"], "analyst@police.test");
    assert_eq!(me["roles"], serde_json::json!(["analyst"]));
    assert_eq!(me["token"]["scopes"], serde_json::json!(["read"]));
    // Last use is recorded.
    assert!(!b.get("/account/tokens").await.body.contains(">Never<"));

    // A read token may not change anything; a write token may.
    let r = api(
        &app,
        Method::POST,
        "/api/v1/test/echo",
        Some(&read_token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b
        .post(
            "/account/tokens",
            &[
                ("name", "Case sync"),
                ("scope_write", "yes"),
                ("days", "7"),
                ("csrf_token", &token),
            ],
        )
        .await;
    let write_token = token_secret(&r);
    let r = api(
        &app,
        Method::POST,
        "/api/v1/test/echo",
        Some(&write_token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = api(&app, Method::GET, "/api/v1/me", Some(&write_token), None).await;
    assert_eq!(
        r.json()["token"]["scopes"],
        serde_json::json!(["read", "write"])
    );

    // Tokens expire: the 7-day one is dead after 8 days, the 30-day one lives.
    app.clock.advance(Duration::days(8));
    assert_eq!(
        api(&app, Method::GET, "/api/v1/me", Some(&write_token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api(&app, Method::GET, "/api/v1/me", Some(&read_token), None)
            .await
            .status,
        StatusCode::OK
    );

    // Revoking (after signing in again: the session has long expired) kills it at once.
    let mut b = Browser::new(&app);
    sign_in_password(&mut b, "analyst@police.test", PASSWORD).await;
    let secret = {
        app.state
            .store
            .read(|tx| {
                Box::pin(async move {
                    tx.find_user_by_email(&Email::parse("analyst@police.test").unwrap())
                        .await
                })
            })
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .unwrap()
    };
    let token = csrf(&b.get("/mfa/verify").await);
    b.post(
        "/mfa/verify",
        &[("code", &code_at(&app, &secret, 0)), ("csrf_token", &token)],
    )
    .await;
    let list = b.get("/account/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Expired"));
    let form_action = {
        let sel = scraper::Selector::parse("form[action$='/revoke']").unwrap();
        let html = list.html();
        let forms: Vec<String> = html
            .select(&sel)
            .map(|f| f.value().attr("action").unwrap().to_string())
            .collect();
        assert_eq!(forms.len(), 1, "only the live token can be revoked");
        forms[0].clone()
    };
    let r = b.post(&form_action, &[("csrf_token", &csrf(&list))]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        b.get("/account/tokens?revoked=1")
            .await
            .body
            .contains("has been revoked")
    );
    assert_eq!(
        api(&app, Method::GET, "/api/v1/me", Some(&read_token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Someone else's (or a made-up) token id is not found.
    let r = b
        .post(
            &format!("/account/tokens/{}/revoke", uuid::Uuid::nil()),
            &[("csrf_token", &csrf(&list))],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let admin_actions: Vec<String> = app
        .state
        .store
        .read(|tx| Box::pin(async move { tx.audit_by_category(&[Category::Admin], 100).await }))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.body.action)
        .filter(|a| a.starts_with("api_token"))
        .collect();
    assert_eq!(
        admin_actions,
        vec!["api_token.revoke", "api_token.create", "api_token.create"]
    );
}

#[tokio::test]
async fn the_openapi_document_declares_bearer_tokens() {
    let app = app().await;
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["paths"]["/api/v1/me"]["get"]["security"].is_array());
}
