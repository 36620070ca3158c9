//! Full-text search on both engines: SQLite's FTS5 tables (migration 0008, kept by triggers)
//! and PostgreSQL's GIN indexes over `to_tsvector('english', …)`. Both stem English words
//! (porter) and need every word; the viewer's scope is applied inside the query.

use crate::cases::in_scope;
use crate::tx::{Inner, Tx, db_err};
use crate::types::DbTime;
use mace_domain::Result;
use mace_domain::authz::Scope;
use mace_domain::search::{HitKind, SearchHit};
use uuid::Uuid;

/// `$1` the words, `$3`..`$6` the scope (see `in_scope!`), `$7` the limit, `$8` whether the
/// viewer has a scope at all. `$2` is the viewer's user id for "concerns I raised".
macro_rules! concern_filter {
    () => {
        concat!(
            "(c.raised_by_user = $2 OR ($8 AND p.merged_into IS NULL AND ",
            in_scope!(),
            "))"
        )
    };
}

/// A chronology entry's own marking, as `cases::entry_visible`.
macro_rules! entry_filter {
    () => {
        concat!(
            "ch.kind <> 'concern' AND $8 AND p.merged_into IS NULL AND ",
            in_scope!(),
            " AND (ch.marking IS NULL OR (ch.marking = 'police_only' AND $6) \
               OR (ch.marking = 'staff_involved' AND EXISTS (SELECT 1 FROM restricted_clearances r2 \
                   WHERE r2.person_id = ch.person_id AND r2.user_id = $4)))"
        )
    };
}

/// SQLite ranks with FTS5's bm25 only where that is cheap. bm25's first call counts every row
/// each word is in (its IDF), and the scope is checked row by row, so ranking every match of a
/// common word costs time in proportion to the corpus (seconds at a million notes; see
/// `crates/bench/src/bin/search.rs`). FTS5 hands matches over newest first (descending rowid,
/// the order rows were written) and the query stops early: when every word is in at most
/// [`RANKED_WORD_ROWS`] rows of the table, the newest 50 matches the viewer may see (or
/// `limit`, if more) are ranked by bm25; otherwise the newest matches the viewer may see come
/// back newest first. Scope is applied inside the query either way.
const RANKED_WORD_ROWS: i64 = 5_000;

/// Matches the viewer may see, newest first: FTS5 walks its rowids backwards and the query
/// stops at the limit.
const SQLITE_CONCERNS_NEWEST: &str = concat!(
    "SELECT c.id, c.person_id, p.given_name, p.family_name, c.created_at AS at, \
       snippet(concerns_fts, -1, '', '', '…', 16) AS snippet \
     FROM concerns_fts f JOIN concerns c ON c.id = f.id JOIN people p ON p.id = c.person_id \
     WHERE concerns_fts MATCH $1 AND ",
    concern_filter!(),
    " ORDER BY f.rowid DESC LIMIT $7"
);
/// The newest 50 (or `$7`) matches the viewer may see, ranked by bm25; snippets for the best.
const SQLITE_CONCERNS_RANKED: &str = concat!(
    "WITH cand AS MATERIALIZED (SELECT f.rowid AS r, c.id, c.person_id, p.given_name, \
       p.family_name, c.created_at AS at, bm25(concerns_fts) AS score \
     FROM concerns_fts f JOIN concerns c ON c.id = f.id JOIN people p ON p.id = c.person_id \
     WHERE concerns_fts MATCH $1 AND ",
    concern_filter!(),
    " ORDER BY f.rowid DESC LIMIT max($7, 50)), \
     best AS MATERIALIZED (SELECT * FROM cand ORDER BY score, r DESC LIMIT $7) \
     SELECT best.id, best.person_id, best.given_name, best.family_name, best.at, \
       snippet(concerns_fts, -1, '', '', '…', 16) AS snippet \
     FROM best CROSS JOIN concerns_fts ON concerns_fts.rowid = best.r \
     WHERE concerns_fts MATCH $1 ORDER BY best.score, best.r DESC"
);
const SQLITE_CONCERN_WORD_ROWS: &str =
    "SELECT count(*) FROM (SELECT 1 FROM concerns_fts WHERE concerns_fts MATCH $1 LIMIT $2)";

const SQLITE_NOTES_NEWEST: &str = concat!(
    "SELECT ch.id, ch.person_id, p.given_name, p.family_name, ch.event_at AS at, \
       snippet(chronology_fts, 1, '', '', '…', 16) AS snippet \
     FROM chronology_fts f JOIN chronology ch ON ch.id = f.id JOIN people p ON p.id = ch.person_id \
     WHERE chronology_fts MATCH $1 AND ",
    entry_filter!(),
    " ORDER BY f.rowid DESC LIMIT $7"
);
const SQLITE_NOTES_RANKED: &str = concat!(
    "WITH cand AS MATERIALIZED (SELECT f.rowid AS r, ch.id, ch.person_id, p.given_name, \
       p.family_name, ch.event_at AS at, bm25(chronology_fts) AS score \
     FROM chronology_fts f JOIN chronology ch ON ch.id = f.id JOIN people p ON p.id = ch.person_id \
     WHERE chronology_fts MATCH $1 AND ",
    entry_filter!(),
    " ORDER BY f.rowid DESC LIMIT max($7, 50)), \
     best AS MATERIALIZED (SELECT * FROM cand ORDER BY score, r DESC LIMIT $7) \
     SELECT best.id, best.person_id, best.given_name, best.family_name, best.at, \
       snippet(chronology_fts, 1, '', '', '…', 16) AS snippet \
     FROM best CROSS JOIN chronology_fts ON chronology_fts.rowid = best.r \
     WHERE chronology_fts MATCH $1 ORDER BY best.score, best.r DESC"
);
const SQLITE_NOTE_WORD_ROWS: &str =
    "SELECT count(*) FROM (SELECT 1 FROM chronology_fts WHERE chronology_fts MATCH $1 LIMIT $2)";

/// A concern's searchable text, as the GIN index of migration 0008 has it.
macro_rules! concern_doc {
    () => {
        "c.narrative || ' ' || c.child_words || ' ' || c.others_present || ' ' || c.actions_taken || ' ' || c.location"
    };
}

macro_rules! concern_text {
    () => {
        concat!("to_tsvector('english', ", concern_doc!(), ")")
    };
}

const PG_CONCERNS: &str = concat!(
    "SELECT c.id, c.person_id, p.given_name, p.family_name, c.created_at AS at, \
       ts_headline('english', ",
    concern_doc!(),
    ", plainto_tsquery('english', $1), 'StartSel=\"\", StopSel=\"\", MaxWords=24, MinWords=8') AS snippet \
     FROM concerns c JOIN people p ON p.id = c.person_id \
     WHERE ",
    concern_text!(),
    " @@ plainto_tsquery('english', $1) AND ",
    concern_filter!(),
    " ORDER BY ts_rank(",
    concern_text!(),
    ", plainto_tsquery('english', $1)) DESC, c.id LIMIT $7"
);
const PG_NOTES: &str = concat!(
    "SELECT ch.id, ch.person_id, p.given_name, p.family_name, ch.event_at AS at, \
       ts_headline('english', ch.summary, plainto_tsquery('english', $1), 'StartSel=\"\", StopSel=\"\", MaxWords=24, MinWords=8') AS snippet \
     FROM chronology ch JOIN people p ON p.id = ch.person_id \
     WHERE to_tsvector('english', ch.summary) @@ plainto_tsquery('english', $1) AND ",
    entry_filter!(),
    " ORDER BY ts_rank(to_tsvector('english', ch.summary), plainto_tsquery('english', $1)) DESC, ch.id LIMIT $7"
);

#[derive(sqlx::FromRow)]
struct HitRow {
    id: Uuid,
    person_id: Uuid,
    given_name: String,
    family_name: String,
    at: DbTime,
    snippet: String,
}

impl Tx {
    pub(crate) async fn search(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        terms: &[String],
        limit: i64,
    ) -> Result<Vec<SearchHit>> {
        let (scoped, org, now, police) = match scope {
            Scope::Related {
                org_id,
                now,
                police,
                ..
            } => (true, *org_id, *now, *police),
            Scope::Nothing => (false, Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH, false),
        };
        // FTS5: every word quoted (a phrase of one), all required; PostgreSQL: plain words.
        let query = match &self.inner {
            Inner::Sqlite(_) => terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" AND "),
            Inner::Postgres(_) => terms.join(" "),
        };
        let mut out = Vec::new();
        for (kind, sqlite, pg) in [
            (
                HitKind::Concern,
                (
                    SQLITE_CONCERNS_RANKED,
                    SQLITE_CONCERNS_NEWEST,
                    SQLITE_CONCERN_WORD_ROWS,
                ),
                PG_CONCERNS,
            ),
            (
                HitKind::Note,
                (
                    SQLITE_NOTES_RANKED,
                    SQLITE_NOTES_NEWEST,
                    SQLITE_NOTE_WORD_ROWS,
                ),
                PG_NOTES,
            ),
        ] {
            macro_rules! run {
                ($c:expr, $sql:expr) => {
                    sqlx::query_as::<_, HitRow>($sql)
                        .bind(&query)
                        .bind(user_id)
                        .bind(org)
                        .bind(user_id)
                        .bind(DbTime(now))
                        .bind(police)
                        .bind(limit)
                        .bind(scoped)
                        .fetch_all($c)
                        .await
                };
            }
            let rows = match &mut self.inner {
                Inner::Sqlite(t) => {
                    let (ranked, newest, word_rows) = sqlite;
                    let mut rare = true;
                    for term in terms {
                        let n: i64 = sqlx::query_scalar(word_rows)
                            .bind(format!("\"{term}\""))
                            .bind(RANKED_WORD_ROWS + 1)
                            .fetch_one(&mut **t)
                            .await
                            .map_err(db_err)?;
                        if n > RANKED_WORD_ROWS {
                            rare = false;
                            break;
                        }
                    }
                    run!(&mut **t, if rare { ranked } else { newest })
                }
                Inner::Postgres(t) => run!(&mut **t, pg),
            }
            .map_err(db_err)?;
            out.extend(rows.into_iter().map(|r| SearchHit {
                kind,
                id: r.id,
                person_id: r.person_id,
                child_name: format!("{} {}", r.given_name, r.family_name),
                at: r.at.0,
                snippet: r.snippet,
            }));
        }
        Ok(out)
    }
}
