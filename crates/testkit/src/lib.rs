//! Test support for mace (dev-dependency only).
//!
//! - [`TestDb::sqlite`]: a fresh, migrated store on a temporary SQLite *file*.
//! - [`TestDb::postgres`]: when `TEST_DATABASE_URL` is set, a fresh database copied from a template
//!   migrated once per migration set (the template's name is a hash of the migrations), dropped
//!   when the test ends. Without the variable it prints `skipped: TEST_DATABASE_URL not set` and
//!   returns `None`, unless `MACE_TEST_REQUIRE=postgres`, which turns the skip into a failure.
//! - [`contract_tests!`]: expands each async test body into `sqlite_<name>` and `postgres_<name>`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)] // test support: failing loudly is the point

use mace_store::{DbConfig, Store};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use mace_store;

pub struct TestDb {
    store: Store,
    config: DbConfig,
    _dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: (admin URL, database name) to drop at the end.
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    /// A migrated store on a temporary SQLite file.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = DbConfig::Sqlite {
            path: dir.path().join("mace.db"),
        };
        let store = Store::open(&config).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        TestDb {
            store,
            config,
            _dir: Some(dir),
            pg_drop: None,
        }
    }

    /// A migrated store on a fresh PostgreSQL database, or `None` (with a message) when
    /// `TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let Some(admin) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var("MACE_TEST_REQUIRE")
                .is_ok_and(|v| v.split(',').any(|p| p.trim() == "postgres"))
            {
                panic!("MACE_TEST_REQUIRE=postgres but TEST_DATABASE_URL is not set");
            }
            eprintln!("skipped: TEST_DATABASE_URL not set");
            return None;
        };
        let template = ensure_template(&admin).await;
        let name = unique_name();
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("connect to TEST_DATABASE_URL");
        // CREATE DATABASE … TEMPLATE fails while anyone is connected to the template; retry briefly.
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        let mut tries = 0;
        loop {
            match sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await
            {
                Ok(_) => break,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        let _ = conn.close().await;
        let url = with_database(&admin, &name);
        let config = DbConfig::Postgres { url };
        let store = Store::open(&config)
            .await
            .expect("open postgres test database");
        Some(TestDb {
            store,
            config,
            _dir: None,
            pg_drop: Some((admin, name)),
        })
    }

    /// The engine the environment asks for: PostgreSQL when `TEST_DATABASE_URL` is set (so
    /// whole suites such as the web crate's run on both engines in CI), SQLite otherwise.
    pub async fn from_env() -> TestDb {
        if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
            && let Some(db) = TestDb::postgres().await
        {
            return db;
        }
        TestDb::sqlite().await
    }

    pub fn store(&self) -> Store {
        self.store.clone()
    }

    pub fn config(&self) -> DbConfig {
        self.config.clone()
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.config {
            DbConfig::Sqlite { path } => Some(path),
            DbConfig::Postgres { .. } => None,
        }
    }

    /// Close the store and drop a PostgreSQL test database. Also done (best effort) on drop.
    pub async fn cleanup(mut self) {
        self.store.close().await;
        if let Some((admin, name)) = self.pg_drop.take() {
            drop_database(&admin, &name).await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            // Drop can't await, and the test's runtime may be the one blocked here, so its pools
            // can't be closed from this thread: drop the database WITH (FORCE) from a thread with
            // its own runtime, which ends those connections on the server side.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

async fn drop_database(admin: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        let _ = conn.close().await;
    }
}

fn unique_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("mace_test_{}_{}", std::process::id(), n)
}

/// The admin URL with its database replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/postgres")
}

/// Name of the template for the current migration set: a hash of the migration files.
pub fn template_name() -> String {
    let mut files: Vec<_> = std::fs::read_dir(migrations_dir())
        .expect("read postgres migrations")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).expect("read migration"));
    }
    format!("mace_template_{}", &hex::encode(h.finalize())[..16])
}

/// Create and migrate the template once, under an advisory lock so parallel tests (threads and
/// processes) don't race, and leave no connection open to it.
async fn ensure_template(admin: &str) -> String {
    let name = template_name();
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query("SELECT pg_advisory_lock(727274)")
        .execute(&mut conn)
        .await
        .expect("advisory lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .expect("look up template");
    if !exists {
        let building = format!("{name}_building");
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{building}\""
        )))
        .execute(&mut conn)
        .await
        .expect("create template");
        {
            let store = Store::open(&DbConfig::Postgres {
                url: with_database(admin, &building),
            })
            .await
            .expect("open template");
            store.migrate().await.expect("migrate template");
            store.close().await;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
        )))
        .execute(&mut conn)
        .await
        .expect("publish template");
    }
    sqlx::query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut conn)
        .await
        .expect("advisory unlock");
    let _ = conn.close().await;
    name
}

/// Expand async test bodies into one test per engine:
///
/// ```ignore
/// async fn meta_round_trip(db: &TestDb) { … }
/// mace_testkit::contract_tests!(meta_round_trip, person_round_trip);
/// ```
///
/// gives `sqlite_meta_round_trip`, `postgres_meta_round_trip`, … The PostgreSQL variant skips
/// (passes with a message) when `TEST_DATABASE_URL` is unset.
#[macro_export]
macro_rules! contract_tests {
    ($($name:ident),+ $(,)?) => {
        pub mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )+
        }
        pub mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres().await else { return };
                    super::$name(&db).await;
                    db.cleanup().await;
                }
            )+
        }
    };
}
