//! A browser for in-process tests: a cookie jar, CSRF tokens from forms, and helpers to add
//! users and sign them in with a second factor.

use crate::support::{FAST_HASH, Reply, TestApp};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use mace_domain::authz::{OrgType, Role};
use mace_domain::identity::admin::{self, AdminActor};
use mace_domain::identity::model::Email;
use mace_domain::identity::{password, totp};
use mace_domain::ports::IdentityRepo;
use std::collections::BTreeMap;
use time::Duration;

pub const PASSWORD: &str = "plum-violin-harbour-77";

/// A browser: a cookie jar and the last page's CSRF token.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    pub addr_header: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            addr_header: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn take_cookies(&mut self, reply: &Reply) {
        for v in reply.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), val.to_string());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let mut b = Request::builder().method(Method::GET).uri(path);
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookie_header());
        }
        let reply = self.app.send(b.body(Body::empty()).unwrap()).await;
        self.take_cookies(&reply);
        reply
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")])
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "mace.test");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        for (k, v) in &self.addr_header {
            b = b.header(k.as_str(), v.as_str());
        }
        if !self.cookies.is_empty() {
            b = b.header("cookie", self.cookie_header());
        }
        let reply = self.app.send(b.body(Body::from(body)).unwrap()).await;
        self.take_cookies(&reply);
        reply
    }

    pub fn session(&self) -> Option<String> {
        self.cookies.get("__Host-mace_session").cloned()
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn csrf(reply: &Reply) -> String {
    let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    reply
        .html()
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no csrf_token field in {}", reply.body))
        .value()
        .attr("value")
        .unwrap()
        .to_string()
}

pub fn setup_key(reply: &Reply) -> Vec<u8> {
    let key = reply.select_text("#setup-key").join("");
    totp::decode_secret(&key).expect("setup key decodes")
}

pub fn code_at(app: &TestApp, secret: &[u8], steps_ahead: i64) -> String {
    let now = app.clock.now_for_test() + Duration::seconds(30 * steps_ahead);
    let step = totp::step_at(now);
    format!("{:06}", totp::hotp(secret, u64::try_from(step).unwrap(), 6))
}

pub trait ClockExt {
    fn now_for_test(&self) -> time::OffsetDateTime;
}
impl ClockExt for mace_domain::ManualClock {
    fn now_for_test(&self) -> time::OffsetDateTime {
        mace_domain::Clock::now(self)
    }
}

pub async fn add_user(app: &TestApp, email: &str, role: Role) -> uuid::Uuid {
    add_user_at(app, email, role, None).await
}

/// Add a user to the organisation `org` (created if missing), or to the first organisation.
pub async fn add_user_at(
    app: &TestApp,
    email: &str,
    role: Role,
    org: Option<(&str, OrgType)>,
) -> uuid::Uuid {
    let hash = password::hash(PASSWORD, FAST_HASH).unwrap();
    let (ctx, key, email) = (
        app.state.ctx.clone(),
        app.state.audit_key.clone(),
        email.to_string(),
    );
    let org = org.map(|(n, t)| (n.to_string(), t));
    app.state
        .store
        .write(|tx| {
            let (ctx, key, hash, email, org) = (
                ctx.clone(),
                key.clone(),
                hash.clone(),
                email.clone(),
                org.clone(),
            );
            Box::pin(async move {
                let by = AdminActor::Operator("test");
                let orgs = tx.list_orgs().await?;
                let (name, org_type) =
                    org.unwrap_or_else(|| ("Test Academy".to_string(), OrgType::School));
                let org = match orgs.into_iter().find(|o| o.name == name) {
                    Some(o) => o,
                    None => admin::create_org(&ctx, tx, &key, &by, &name, org_type).await?,
                };
                let u = admin::create_user(
                    &ctx,
                    tx,
                    &key,
                    &by,
                    admin::NewUser {
                        org_id: org.id,
                        email: Email::parse(&email).unwrap(),
                        display_name: format!("{} user", role.label()),
                        roles: vec![role],
                        password_hash: Some(hash),
                    },
                )
                .await?;
                Ok(u.id)
            })
        })
        .await
        .unwrap()
}

pub async fn sign_in_password(b: &mut Browser<'_>, email: &str, pw: &str) -> Reply {
    let form = b.get("/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = csrf(&form);
    b.post(
        "/sign-in",
        &[
            ("email", email),
            ("password", pw),
            ("csrf_token", &token),
            ("next", "/account"),
        ],
    )
    .await
}

/// Enrol (first sign-in) and return the TOTP secret and recovery codes.
pub async fn enrol(app: &TestApp, b: &mut Browser<'_>, email: &str) -> (Vec<u8>, Vec<String>) {
    let r = sign_in_password(b, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/mfa/enrol?next=/account");
    let page = b.get("/mfa/enrol?next=/account").await;
    assert_eq!(page.status, StatusCode::OK);
    let secret = setup_key(&page);
    let token = csrf(&page);
    let done = b
        .post(
            "/mfa/enrol",
            &[
                ("code", &code_at(app, &secret, 0)),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let codes = done.select_text(".mace-recovery-codes li");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Sign in with the password and enrol a second factor; the browser is then fully signed in.
pub async fn signed_in(app: &TestApp, b: &mut Browser<'_>, email: &str) -> Vec<u8> {
    enrol(app, b, email).await.0
}

/// Sign in again (password and the current code) with an enrolled account.
pub async fn sign_in_again(app: &TestApp, b: &mut Browser<'_>, email: &str, secret: &[u8]) {
    b.cookies.clear();
    let r = sign_in_password(b, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get("/mfa/verify?next=/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = csrf(&page);
    let done = b
        .post(
            "/mfa/verify",
            &[
                ("code", &code_at(app, secret, 0)),
                ("csrf_token", &token),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}
