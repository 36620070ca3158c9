//! mace's storage: one [`Store`] over SQLite (embedded, the default) or PostgreSQL.
//!
//! PUBLIC API CONTRACT (other crates compile against exactly this; keep it stable):
//! - `DbConfig::{Sqlite { path }, Postgres { url }}`, `DbConfig::from_url_or_dir`
//! - `Store::open(&DbConfig) -> Result<Store, OpenError>` connects (creating the SQLite file),
//!   `Store::migrate()` applies pending migrations, `Store::backend()`, `Store::ping()`,
//!   `Store::read(f)` and `Store::write(f)` run `f` in a transaction (write retries on
//!   serialization failures / busy), `Store::close()`.
//! - `Tx` implements the domain ports (`mace_domain::ports::*`) and exposes no sqlx type.

mod assessments;
mod audit;
pub mod backup;
mod cases;
mod hotspots;
mod identity;
mod intelligence;
mod merges;
mod missing;
mod networks;
mod nrm;
mod plans;
mod profile;
mod programmes;
mod referrals;
mod repos;
mod search;
mod teams;
mod tx;
mod types;

pub use tx::Tx;

use futures::future::BoxFuture;
use mace_domain::Result;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tx::{Inner, db_err};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbConfig {
    /// The embedded database: one file (plus its WAL) at `path`.
    Sqlite { path: PathBuf },
    /// A PostgreSQL server, `postgres://user:pass@host:port/db`.
    Postgres { url: String },
}

impl DbConfig {
    /// PostgreSQL when a URL is given, otherwise `<data_dir>/mace.db`.
    pub fn from_url_or_dir(
        url: Option<&str>,
        data_dir: &Path,
    ) -> std::result::Result<Self, OpenError> {
        match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(DbConfig::Postgres { url: u.to_string() })
            }
            Some(u) if u.starts_with("sqlite:") => Ok(DbConfig::Sqlite {
                path: PathBuf::from(
                    u.trim_start_matches("sqlite://")
                        .trim_start_matches("sqlite:"),
                ),
            }),
            Some(_) => Err(OpenError::BadUrl),
            None => Ok(DbConfig::Sqlite {
                path: data_dir.join("mace.db"),
            }),
        }
    }
}

/// Why the database could not be opened or migrated. Messages are one clear line for an operator
/// and never include a password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the database URL must start with postgres:// or sqlite:")]
    BadUrl,
    #[error("cannot open the SQLite database at {path}: {reason}")]
    Sqlite { path: String, reason: String },
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Postgres { target: String, reason: String },
    #[error("database migration failed: {0}")]
    Migrate(String),
}

/// How many times `write` runs a closure that keeps failing with a retryable error.
pub const MAX_WRITE_ATTEMPTS: u32 = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

enum Engine {
    Sqlite {
        /// The single writer: one connection, transactions start with `BEGIN IMMEDIATE`.
        writer: SqlitePool,
        /// Read-only connections for `read`.
        reader: SqlitePool,
    },
    Postgres {
        pool: PgPool,
    },
}

/// The handle to mace's database. Cheap to clone; all clones share the pools.
#[derive(Clone)]
pub struct Store {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            u.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Full)
}

/// Describe a connection failure in one line without echoing any part of the URL.
fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(d) => d.message().to_string(),
        sqlx::Error::Tls(_) => "TLS negotiation failed".into(),
        sqlx::Error::PoolTimedOut => "timed out".into(),
        sqlx::Error::Configuration(_) => "invalid connection settings".into(),
        sqlx::Error::Protocol(p) => format!("protocol error: {p}"),
        _ => "connection failed".into(),
    }
}

impl Store {
    /// Connect. For SQLite the file is created if missing (its directory must exist).
    pub async fn open(cfg: &DbConfig) -> std::result::Result<Store, OpenError> {
        match cfg {
            DbConfig::Sqlite { path } => Self::open_sqlite(path).await,
            DbConfig::Postgres { url } => Self::open_postgres(url).await,
        }
    }

    async fn open_sqlite(path: &Path) -> std::result::Result<Store, OpenError> {
        let fail = |reason: String| OpenError::Sqlite {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(fail("its directory does not exist".into()));
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(
                sqlite_options(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await
            .map_err(|e| fail(reason(&e)))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(sqlite_options(path).read_only(true))
            .await
            .map_err(|e| fail(reason(&e)))?;
        Ok(Store {
            engine: Arc::new(Engine::Sqlite { writer, reader }),
        })
    }

    async fn open_postgres(url: &str) -> std::result::Result<Store, OpenError> {
        let target = redact(url);
        let fail = |reason: String| OpenError::Postgres {
            target: target.clone(),
            reason,
        };
        let opts =
            PgConnectOptions::from_str(url).map_err(|_| fail("the URL is not valid".into()))?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(opts);
        let pool = tokio::time::timeout(CONNECT_TIMEOUT, pool)
            .await
            .map_err(|_| fail("timed out".into()))?
            .map_err(|e| fail(reason(&e)))?;
        Ok(Store {
            engine: Arc::new(Engine::Postgres { pool }),
        })
    }

    /// Apply pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> std::result::Result<usize, OpenError> {
        let before = self.applied_migrations().await;
        let result = match &*self.engine {
            Engine::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await,
            Engine::Postgres { pool } => {
                // No advisory locks: they are unavailable on some distributed PostgreSQL engines.
                let m = sqlx::migrate::Migrator {
                    locking: false,
                    migrations: POSTGRES_MIGRATIONS.migrations.clone(),
                    table_name: POSTGRES_MIGRATIONS.table_name.clone(),
                    create_schemas: POSTGRES_MIGRATIONS.create_schemas.clone(),
                    ..sqlx::migrate::Migrator::DEFAULT
                };
                m.run(pool).await
            }
        };
        result.map_err(|e| OpenError::Migrate(e.to_string()))?;
        let after = self.applied_migrations().await;
        Ok(usize::try_from(after - before).unwrap_or(0))
    }

    async fn applied_migrations(&self) -> i64 {
        const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM _sqlx_migrations WHERE success";
        let r = match &*self.engine {
            Engine::Sqlite { writer, .. } => {
                sqlx::query_scalar::<_, i64>(SQL).fetch_one(writer).await
            }
            Engine::Postgres { pool } => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await,
        };
        r.unwrap_or(0)
    }

    /// The highest migration version applied (0 before the first).
    pub async fn schema_version(&self) -> Result<i64> {
        const SQL: &str =
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success";
        match &*self.engine {
            Engine::Sqlite { reader, .. } => {
                sqlx::query_scalar::<_, i64>(SQL).fetch_one(reader).await
            }
            Engine::Postgres { pool } => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await,
        }
        .map_err(db_err)
    }

    pub fn backend(&self) -> Backend {
        match &*self.engine {
            Engine::Sqlite { .. } => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Is the database reachable and answering?
    pub async fn ping(&self) -> Result<()> {
        let r = match &*self.engine {
            Engine::Sqlite { reader, .. } => {
                sqlx::query_scalar::<_, i64>("SELECT 1")
                    .fetch_one(reader)
                    .await
            }
            Engine::Postgres { pool } => sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(pool)
                .await
                .map(i64::from),
        };
        r.map(|_| ()).map_err(db_err)
    }

    async fn begin_read(&self) -> Result<Tx> {
        let inner = match &*self.engine {
            Engine::Sqlite { reader, .. } => Inner::Sqlite(reader.begin().await.map_err(db_err)?),
            Engine::Postgres { pool } => Inner::Postgres(pool.begin().await.map_err(db_err)?),
        };
        Ok(Tx { inner })
    }

    async fn begin_write(&self) -> Result<Tx> {
        let inner = match &*self.engine {
            Engine::Sqlite { writer, .. } => {
                Inner::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?)
            }
            Engine::Postgres { pool } => Inner::Postgres(pool.begin().await.map_err(db_err)?),
        };
        Ok(Tx { inner })
    }

    /// Run `f` in a read-only transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T>> + Send,
    {
        let mut tx = self.begin_read().await?;
        let out = f(&mut tx).await;
        // A read transaction has nothing to keep: end it either way.
        let _ = tx.rollback().await;
        out
    }

    /// Run `f` in a write transaction and commit; when `f` fails the transaction is rolled back,
    /// except after a refusal ([`mace_domain::Error::Forbidden`]), which is committed so that
    /// the refusal's audit event is kept. On a serialization failure, deadlock or busy
    /// database the transaction is rolled back and `f` runs again (up to
    /// [`MAX_WRITE_ATTEMPTS`] times), so `f` must not have side effects outside the transaction.
    pub async fn write<T, F>(&self, mut f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnMut(&'c mut Tx) -> BoxFuture<'c, Result<T>> + Send,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = match self.begin_write().await {
                Err(e) => Err(e),
                Ok(mut tx) => match f(&mut tx).await {
                    Ok(v) => tx.commit().await.map(|()| v).map_err(db_err),
                    // A refusal is kept: the domain decides before it changes anything, so
                    // the transaction holds only the refusal's audit event (SEC: every
                    // refused attempt is recorded).
                    Err(e @ mace_domain::Error::Forbidden { .. }) => {
                        tx.commit().await.map_err(db_err).and(Err(e))
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                },
            };
            match outcome {
                Err(e) if e.is_retryable() && attempt < MAX_WRITE_ATTEMPTS => {
                    let base = 5u64 << attempt.min(6);
                    let jitter = rand::random_range(0..=base);
                    tracing::debug!(attempt, "retrying a write transaction");
                    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
                }
                other => return other,
            }
        }
    }

    /// Walk the whole audit chain in pages and check it against the head (`mace audit verify`).
    /// The outer error is a storage failure; the inner one names the first bad event.
    pub async fn verify_audit(
        &self,
        key: &mace_domain::audit::ChainKey,
    ) -> Result<
        std::result::Result<mace_domain::audit::VerifyReport, mace_domain::audit::VerifyError>,
    > {
        use mace_domain::ports::AuditLog;
        const PAGE: i64 = 2_000;
        let mut verifier = mace_domain::audit::Verifier::new(key);
        let mut after = 0;
        loop {
            let page = self
                .read(|tx| Box::pin(async move { tx.audit_page(after, PAGE).await }))
                .await?;
            for e in &page {
                if let Err(bad) = verifier.push(e) {
                    return Ok(Err(bad));
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = last.seq,
                _ => break,
            }
        }
        let head = self
            .read(|tx| Box::pin(async move { tx.audit_head().await }))
            .await?;
        let head = head.unwrap_or_else(|| mace_domain::audit::Head::genesis(key));
        Ok(verifier.finish(&head))
    }

    /// Close every connection (at shutdown). Later calls fail.
    pub async fn close(&self) {
        match &*self.engine {
            Engine::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Engine::Postgres { pool } => pool.close().await,
        }
    }

    /// SQLite's durability settings as seen by the writer: (journal_mode, synchronous, foreign_keys).
    #[doc(hidden)]
    pub async fn sqlite_pragmas(&self) -> Option<(String, i64, i64)> {
        let Engine::Sqlite { writer, .. } = &*self.engine else {
            return None;
        };
        let mut c = writer.acquire().await.ok()?;
        let jm = sqlx::query_scalar::<_, String>("PRAGMA journal_mode")
            .fetch_one(&mut *c)
            .await
            .ok()?;
        let sync = sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
            .fetch_one(&mut *c)
            .await
            .ok()?;
        let fk = sqlx::query_scalar::<_, i64>("PRAGMA foreign_keys")
            .fetch_one(&mut *c)
            .await
            .ok()?;
        Some((jm, sync, fk))
    }
}
