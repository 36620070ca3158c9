//! Schema parity between the SQLite and PostgreSQL migrations (architecture §3.5).

use mace_testkit::TestDb;
use std::collections::BTreeMap;
use std::path::Path;

fn migration_files(engine: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_engines_have_the_same_migration_files() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_files("postgres"));
}

/// (nullable, type family) per column, per table.
type Shape = BTreeMap<String, BTreeMap<String, (bool, &'static str)>>;

fn family_sqlite(t: &str) -> &'static str {
    match t.to_uppercase().as_str() {
        "INTEGER" => "integer_or_time_or_bool",
        "TEXT" => "text_or_date",
        "BLOB" => "id",
        "REAL" => "real",
        _ => "other",
    }
}

fn family_pg(t: &str) -> &'static str {
    match t {
        "bigint" | "integer" | "smallint" | "timestamp with time zone" | "boolean" => {
            "integer_or_time_or_bool"
        }
        "text" | "date" | "jsonb" => "text_or_date",
        "uuid" | "bytea" => "id",
        "double precision" | "real" => "real",
        _ => "other",
    }
}

async fn sqlite_shape(db: &TestDb) -> (Shape, Vec<(String, String)>) {
    let url = format!("sqlite:{}", db.sqlite_path().unwrap().display());
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE '%\\_fts%' ESCAPE '\\'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut shape = Shape::new();
    let mut uniques = Vec::new();
    for t in tables {
        let cols: Vec<(String, String, i64, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1)")
                .bind(&t)
                .fetch_all(&mut c)
                .await
                .unwrap();
        for (name, ty, notnull, pk) in cols {
            shape
                .entry(t.clone())
                .or_default()
                .insert(name, (notnull == 0 && pk == 0, family_sqlite(&ty)));
        }
        let idx: Vec<(String, i64)> = sqlx::query_as(
            "SELECT name, \"unique\" FROM pragma_index_list($1) WHERE origin <> 'pk'",
        )
        .bind(&t)
        .fetch_all(&mut c)
        .await
        .unwrap();
        for (iname, unique) in idx {
            let cols: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&iname)
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            uniques.push((
                format!(
                    "{t}({}){}",
                    cols.join(","),
                    if unique == 1 { " unique" } else { "" }
                ),
                t.clone(),
            ));
        }
    }
    uniques.sort();
    (shape, uniques)
}

async fn pg_shape(url: &str) -> (Shape, Vec<(String, String)>) {
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let cols: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut shape = Shape::new();
    for (t, name, nullable, ty) in cols {
        shape
            .entry(t)
            .or_default()
            .insert(name, (nullable == "YES", family_pg(&ty)));
    }
    let idx: Vec<(String, String, bool, bool)> = sqlx::query_as(
        "SELECT t.relname::text, string_agg(a.attname::text, ',' ORDER BY k.ord), ix.indisunique, ix.indisprimary \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_sqlx%' GROUP BY t.relname, ix.indexrelid, ix.indisunique, ix.indisprimary",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut uniques: Vec<(String, String)> = idx
        .into_iter()
        // Primary-key indexes are left out on both sides (see the SQLite query above).
        .filter(|(_, _, _, pk)| !pk)
        .map(|(t, cols, unique, _pk)| {
            (
                format!("{t}({cols}){}", if unique { " unique" } else { "" }),
                t,
            )
        })
        .collect();
    uniques.sort();
    (shape, uniques)
}

#[tokio::test]
async fn tables_columns_and_indexes_match_on_both_engines() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite().await;
    let (ls, li) = sqlite_shape(&lite).await;
    let url = match pg.config() {
        mace_store::DbConfig::Postgres { url } => url,
        mace_store::DbConfig::Sqlite { .. } => unreachable!(),
    };
    let (ps, pi) = pg_shape(&url).await;
    assert_eq!(ls, ps, "columns differ between SQLite and PostgreSQL");
    assert_eq!(li, pi, "indexes differ between SQLite and PostgreSQL");
    pg.cleanup().await;
}
