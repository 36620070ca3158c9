//! What backups, restores and the crash drill need from the database, engine by engine:
//! an online, consistent copy (SQLite `VACUUM INTO`; PostgreSQL a pinned, exported snapshot for
//! `pg_dump --snapshot`), row counts per table, an emptiness check before a restore, and an
//! integrity check (SQLite `integrity_check` and `foreign_key_check`; PostgreSQL every foreign
//! key re-checked by an anti-join, any constraint left unvalidated, and `amcheck` on the B-tree
//! indexes when that extension is installed).
//!
//! Table and column names in the generated SQL come from the database's own catalogue, quoted
//! as identifiers; no value from a user ever reaches the query text.

use crate::tx::db_err;
use crate::{Engine, Store};
use mace_domain::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::path::Path;

/// Row counts per table, sorted by table name.
pub type TableCounts = Vec<(String, i64)>;

/// What the integrity check found; empty `problems` means clean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Checks that ran, for the operator (`sqlite integrity_check`, `42 foreign keys`, …).
    pub checks: Vec<String>,
    /// One line per problem found.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A PostgreSQL snapshot held open (a `REPEATABLE READ` transaction that exported it) so that
/// `pg_dump --snapshot=<id>` copies exactly what the counts describe. Release it once the
/// dump has finished.
pub struct PinnedSnapshot {
    id: String,
    counts: TableCounts,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
}

impl std::fmt::Debug for PinnedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedSnapshot")
            .field("id", &self.id)
            .finish()
    }
}

impl PinnedSnapshot {
    /// The exported snapshot's id, for `pg_dump --snapshot`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Row counts per table in this snapshot.
    pub fn counts(&self) -> &TableCounts {
        &self.counts
    }

    /// End the transaction (the snapshot stops being importable).
    pub async fn release(self) {
        let _ = self.tx.rollback().await;
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn sqlite_tables(c: &mut SqliteConnection) -> Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

async fn sqlite_counts(c: &mut SqliteConnection) -> Result<TableCounts> {
    let mut out = Vec::new();
    for t in sqlite_tables(c).await? {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(&t));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
        out.push((t, n));
    }
    Ok(out)
}

async fn sqlite_integrity(c: &mut SqliteConnection) -> Result<IntegrityReport> {
    let mut report = IntegrityReport::default();
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
    report.checks.push("sqlite integrity_check".into());
    if rows != ["ok"] {
        report
            .problems
            .extend(rows.into_iter().map(|r| format!("integrity_check: {r}")));
    }
    let fk = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
    report.checks.push("sqlite foreign_key_check".into());
    for r in fk {
        let table: String = r.try_get(0).unwrap_or_default();
        let parent: String = r.try_get(2).unwrap_or_default();
        report.problems.push(format!(
            "foreign key: a row of {table} points at a missing row of {parent}"
        ));
    }
    Ok(report)
}

async fn pg_tables(c: &mut sqlx::PgConnection) -> Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}

async fn pg_counts(c: &mut sqlx::PgConnection) -> Result<TableCounts> {
    let mut out = Vec::new();
    for t in pg_tables(c).await? {
        let sql = format!("SELECT COUNT(*)::bigint FROM {}", quote_ident(&t));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
        out.push((t, n));
    }
    Ok(out)
}

async fn pg_integrity(c: &mut sqlx::PgConnection) -> Result<IntegrityReport> {
    let mut report = IntegrityReport::default();
    // Every foreign key, re-checked against the rows (catches rows loaded around a disabled
    // trigger or a damaged index that the constraint no longer sees).
    let fks = sqlx::query(
        "SELECT c.conname::text, cl.relname::text, pl.relname::text, \
                array_agg(a.attname::text ORDER BY k.ord), array_agg(pa.attname::text ORDER BY k.ord), \
                bool_and(c.convalidated) \
         FROM pg_constraint c \
         JOIN pg_class cl ON cl.oid = c.conrelid \
         JOIN pg_class pl ON pl.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = cl.relnamespace \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(ck, pk, ord) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.ck \
         JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk \
         WHERE c.contype = 'f' AND n.nspname = current_schema() \
         GROUP BY c.conname, cl.relname, pl.relname ORDER BY 1",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    for r in &fks {
        let name: String = r.try_get(0).map_err(db_err)?;
        let child: String = r.try_get(1).map_err(db_err)?;
        let parent: String = r.try_get(2).map_err(db_err)?;
        let cols: Vec<String> = r.try_get(3).map_err(db_err)?;
        let pcols: Vec<String> = r.try_get(4).map_err(db_err)?;
        let validated: bool = r.try_get(5).map_err(db_err)?;
        if !validated {
            report
                .problems
                .push(format!("constraint {name} on {child} is not validated"));
        }
        let not_null: Vec<String> = cols
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
            .collect();
        let joined: Vec<String> = cols
            .iter()
            .zip(&pcols)
            .map(|(c, p)| format!("p.{} = c.{}", quote_ident(p), quote_ident(c)))
            .collect();
        let sql = format!(
            "SELECT COUNT(*)::bigint FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
            quote_ident(&child),
            not_null.join(" AND "),
            quote_ident(&parent),
            joined.join(" AND ")
        );
        let orphans: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
        if orphans > 0 {
            report.problems.push(format!(
                "foreign key {name}: {orphans} row(s) of {child} point at missing rows of {parent}"
            ));
        }
    }
    report
        .checks
        .push(format!("postgres: {} foreign keys re-checked", fks.len()));
    let unvalidated: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conname::text, cl.relname::text FROM pg_constraint c \
         JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace \
         WHERE n.nspname = current_schema() AND NOT c.convalidated AND c.contype <> 'f'",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    for (name, table) in unvalidated {
        report
            .problems
            .push(format!("constraint {name} on {table} is not validated"));
    }
    // amcheck is optional (creating the extension needs a superuser); use it when present.
    let amcheck: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
    if amcheck.is_some() {
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT ic.relname::text FROM pg_index i \
             JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
             JOIN pg_namespace n ON n.oid = ic.relnamespace \
             WHERE am.amname = 'btree' AND n.nspname = current_schema() ORDER BY 1",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
        for ix in &indexes {
            let sql = format!("SELECT bt_index_check({}::regclass, true)", quote_lit(ix));
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *c).await {
                report.problems.push(format!("amcheck {ix}: {e}"));
            }
        }
        report.checks.push(format!(
            "postgres amcheck: {} B-tree indexes",
            indexes.len()
        ));
    } else {
        report
            .checks
            .push("postgres amcheck: not installed (optional)".into());
    }
    Ok(report)
}

fn quote_lit(s: &str) -> String {
    format!("'{}'", quote_ident(s).replace('\'', "''"))
}

impl Store {
    /// SQLite only: write a consistent copy of the live database to `dest` (which must not
    /// exist) with `VACUUM INTO` on a reader connection, so the single writer keeps serving.
    /// Returns the copy's row counts and integrity report, read from the copy itself.
    pub async fn sqlite_snapshot_into(
        &self,
        dest: &Path,
    ) -> Result<(TableCounts, IntegrityReport)> {
        let Engine::Sqlite { reader, .. } = &*self.engine else {
            return Err(mace_domain::Error::store(
                "VACUUM INTO is for the SQLite database",
            ));
        };
        let dest_str = dest
            .to_str()
            .ok_or_else(|| mace_domain::Error::store("the backup path is not valid UTF-8"))?
            .to_string();
        let mut c = reader.acquire().await.map_err(db_err)?;
        sqlx::query("VACUUM INTO ?")
            .bind(dest_str)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
        drop(c);
        sqlite_file_check(dest).await
    }

    /// Row counts per table (one read transaction).
    pub async fn table_counts(&self) -> Result<TableCounts> {
        match &*self.engine {
            Engine::Sqlite { reader, .. } => {
                let mut tx = reader.begin().await.map_err(db_err)?;
                let out = sqlite_counts(&mut tx).await;
                let _ = tx.rollback().await;
                out
            }
            Engine::Postgres { pool } => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
                    .map_err(db_err)?;
                let out = pg_counts(&mut tx).await;
                let _ = tx.rollback().await;
                out
            }
        }
    }

    /// PostgreSQL only: open a `REPEATABLE READ` transaction, export its snapshot and count
    /// every table's rows in it.
    pub async fn pin_snapshot(&self) -> Result<PinnedSnapshot> {
        let Engine::Postgres { pool } = &*self.engine else {
            return Err(mace_domain::Error::store(
                "exported snapshots are for PostgreSQL",
            ));
        };
        let mut tx = pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_err)?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let counts = pg_counts(&mut tx).await?;
        Ok(PinnedSnapshot { id, counts, tx })
    }

    /// Does the database hold no tables at all (a target a restore may fill)?
    pub async fn is_empty(&self) -> Result<bool> {
        let n: i64 = match &*self.engine {
            Engine::Sqlite { reader, .. } => sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'view', 'trigger')",
            )
            .fetch_one(reader)
            .await
            .map_err(db_err)?,
            Engine::Postgres { pool } => sqlx::query_scalar(
                "SELECT COUNT(*)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema()",
            )
            .fetch_one(pool)
            .await
            .map_err(db_err)?,
        };
        Ok(n == 0)
    }

    /// Check the database's integrity (see the module documentation).
    pub async fn integrity_check(&self) -> Result<IntegrityReport> {
        match &*self.engine {
            Engine::Sqlite { reader, .. } => {
                let mut c = reader.acquire().await.map_err(db_err)?;
                sqlite_integrity(&mut c).await
            }
            Engine::Postgres { pool } => {
                let mut c = pool.acquire().await.map_err(db_err)?;
                pg_integrity(&mut c).await
            }
        }
    }
}

/// Row counts and integrity of a SQLite file that nothing else is writing (a backup copy),
/// opened read-only without touching it.
pub async fn sqlite_file_check(path: &Path) -> Result<(TableCounts, IntegrityReport)> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut c = SqliteConnection::connect_with(&opts)
        .await
        .map_err(db_err)?;
    let counts = sqlite_counts(&mut c).await;
    let report = sqlite_integrity(&mut c).await;
    let _ = c.close().await;
    Ok((counts?, report?))
}

/// Is `name` safe to use as a database name without quoting surprises (a-z, 0-9, `_`)?
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

async fn pg_admin(url: &str) -> Result<sqlx::PgConnection> {
    use std::str::FromStr;
    let opts = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|_| mace_domain::Error::store("the PostgreSQL URL is not valid"))?;
    sqlx::PgConnection::connect_with(&opts)
        .await
        .map_err(db_err)
}

/// PostgreSQL: create the database `name` (a-z, 0-9, `_`) on the server `url` points at, and
/// return the URL of the new database. Needs the CREATEDB privilege.
pub async fn pg_create_database(url: &str, name: &str) -> Result<String> {
    if !plain_name(name) {
        return Err(mace_domain::Error::store("unusable database name"));
    }
    let mut target =
        url::Url::parse(url).map_err(|_| mace_domain::Error::store("the URL is not valid"))?;
    target.set_path(&format!("/{name}"));
    let mut c = pg_admin(url).await?;
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .map_err(db_err);
    let _ = c.close().await;
    r.map(|_| target.to_string())
}

/// PostgreSQL: drop the database `name` if it exists (ending its other connections).
pub async fn pg_drop_database(url: &str, name: &str) -> Result<()> {
    if !plain_name(name) {
        return Err(mace_domain::Error::store("unusable database name"));
    }
    let mut c = pg_admin(url).await?;
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .map_err(db_err);
    let _ = c.close().await;
    r.map(|_| ())
}
