//! Building an app per test and sending it requests.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::{get, post};
use mace_domain::{Ctx, ManualClock, SequentialIds};
use mace_store::Store;
use mace_web::{AppState, WebError, WebSettings};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    _db: mace_testkit::TestDb,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    pub fn select_text(&self, selector: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

/// Routes only tests add, merged in before the middleware so they get the same treatment.
fn test_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/panic",
            get(|| async {
                if true {
                    panic!("boom at /src/secret.rs with sqlx detail");
                }
                "unreachable"
            }),
        )
        .route(
            "/api/v1/test/panic",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/test/echo", post(|body: String| async move { body }))
        .route(
            "/api/v1/test/echo",
            post(|body: String| async move { body }),
        )
        .route(
            "/test/store-error",
            get(|| async {
                Err::<(), _>(WebError::from(mace_domain::Error::store(
                    "sqlx::Error: SELECT * FROM people at /src/store.rs",
                )))
            }),
        )
        .route(
            "/api/v1/test/invalid",
            get(|| async {
                Err::<(), _>(WebError::from(mace_domain::Error::validation(
                    "postcode",
                    "Enter a real postcode",
                )))
            }),
        )
        .route(
            "/test/forbidden",
            get(|| async {
                Err::<(), _>(WebError::from(mace_domain::Error::Forbidden {
                    reason: "other org".into(),
                }))
            }),
        )
}

/// Cheap Argon2id parameters for tests (production uses the OWASP minimum or more).
pub const FAST_HASH: mace_domain::identity::password::HashParams =
    mace_domain::identity::password::HashParams {
        m_kib: 1024,
        t: 1,
        p: 1,
    };

pub fn state(store: Store, demo: bool, clock: Arc<ManualClock>) -> AppState {
    let ctx = Ctx::new(clock, Arc::new(SequentialIds::new()));
    let settings = WebSettings {
        demo,
        request_timeout: Duration::from_millis(1500),
        max_body_bytes: 16 * 1024,
        hash_params: FAST_HASH,
        ..WebSettings::default()
    };
    AppState {
        store,
        ctx,
        audit_key: mace_domain::audit::ChainKey::from_bytes([42; 32]),
        settings: Arc::new(settings),
        networks: Arc::default(),
    }
}

pub async fn app_with(demo: bool) -> TestApp {
    // SQLite, or PostgreSQL when TEST_DATABASE_URL is set: the suite runs on both in CI.
    let db = mace_testkit::TestDb::from_env().await;
    let clock = Arc::new(ManualClock::default_start());
    let state = state(db.store(), demo, clock.clone());
    let router = mace_web::router_with_extra(state.clone(), test_routes());
    TestApp {
        router,
        state,
        clock,
        _db: db,
    }
}

pub async fn app() -> TestApp {
    app_with(false).await
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path).await
    }

    pub async fn request(&self, method: Method, path: &str) -> Reply {
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }
}

/// No error body may leak internals (LOG-07).
pub fn assert_no_leak(reply: &Reply) {
    for needle in ["panicked at", "/src/", "sqlx", "SELECT ", "boom"] {
        assert!(
            !reply.body.contains(needle),
            "body leaks {needle:?}: {}",
            reply.body
        );
    }
}
