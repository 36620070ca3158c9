//! Duplicate records over both engines: the people the linkage engine reviews, pairs found to
//! be different children, and reversible merges (every moved or copied row carries the merge's
//! id in `merged_from`).

use crate::repos::{PERSON_COLUMNS, PersonRow};
use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::dedupe::PersonMerge;
use mace_domain::person::Person;
use mace_domain::ports::MergeRepo;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

fn linkage_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE kind = 'child' AND merged_into IS NULL ORDER BY id"
        )
    })
}

const MERGED_INTO: &str = "SELECT merged_into FROM people WHERE id = $1";
const NOT_DUPLICATES: &str = "SELECT person_a, person_b FROM not_duplicates";
const NOT_DUPLICATE_INSERT: &str = "INSERT INTO not_duplicates (person_a, person_b, decided_by, decided_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (person_a, person_b) DO NOTHING";

const MERGE_MARK: &str = "UPDATE people SET merged_into = $1 WHERE id = $2";
const UNMERGE_MARK: &str = "UPDATE people SET merged_into = NULL WHERE id = $1";

/// The rest of a merge, in order: `$1` merge id, `$2` survivor, `$3` duplicate. Copied
/// involvements never lead the kept record.
const MERGE_STEPS: &[&str] = &[
    "UPDATE concerns SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE chronology SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE person_identifiers SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE person_addresses SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE person_schools SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE assessments SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE relationships SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE relationships SET related_id = $2, related_merged_from = $1 WHERE related_id = $3",
    "UPDATE plans SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE referrals SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE nrm_referrals SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE programme_members SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE missing_episodes SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "UPDATE missing_prompts SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    // A report naming both records keeps the duplicate's row where it is (one row per child).
    "UPDATE intel_report_children SET person_id = $2, merged_from = $1 WHERE person_id = $3 \
     AND NOT EXISTS (SELECT 1 FROM intel_report_children x \
     WHERE x.report_id = intel_report_children.report_id AND x.person_id = $2)",
    "UPDATE intel_entities SET person_id = $2, merged_from = $1 WHERE person_id = $3",
    "INSERT INTO involvements (person_id, org_id, reason, is_lead, created_at, merged_from) \
     SELECT $2, org_id, reason, FALSE, created_at, $1 FROM involvements WHERE person_id = $3 \
     ON CONFLICT (person_id, org_id, reason) DO NOTHING",
    "INSERT INTO allocations (person_id, user_id, created_at, ended_at, merged_from) \
     SELECT $2, user_id, created_at, ended_at, $1 FROM allocations WHERE person_id = $3 \
     ON CONFLICT (person_id, user_id) DO NOTHING",
    "INSERT INTO record_markings (person_id, marking, created_at, merged_from) \
     SELECT $2, marking, created_at, $1 FROM record_markings WHERE person_id = $3 \
     ON CONFLICT (person_id, marking) DO NOTHING",
    "INSERT INTO restricted_clearances (person_id, user_id, created_at, merged_from) \
     SELECT $2, user_id, created_at, $1 FROM restricted_clearances WHERE person_id = $3 \
     ON CONFLICT (person_id, user_id) DO NOTHING",
];

/// Undoing a merge, moves back: `$1` merge id, `$2` the duplicate.
const UNMERGE_MOVES: &[&str] = &[
    "UPDATE concerns SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE chronology SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE person_identifiers SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE person_addresses SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE person_schools SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE assessments SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE relationships SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE relationships SET related_id = $2, related_merged_from = NULL WHERE related_merged_from = $1",
    "UPDATE plans SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE referrals SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE nrm_referrals SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE programme_members SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE missing_episodes SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE missing_prompts SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE intel_report_children SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
    "UPDATE intel_entities SET person_id = $2, merged_from = NULL WHERE merged_from = $1",
];

/// Undoing a merge, copies removed: `$1` merge id.
const UNMERGE_DELETES: &[&str] = &[
    "DELETE FROM involvements WHERE merged_from = $1",
    "DELETE FROM allocations WHERE merged_from = $1",
    "DELETE FROM record_markings WHERE merged_from = $1",
    "DELETE FROM restricted_clearances WHERE merged_from = $1",
];

const MERGE_INSERT: &str = "INSERT INTO person_merges (id, survivor_id, duplicate_id, reason, merged_by, merged_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const MERGE_UNDONE: &str = "UPDATE person_merges SET undone_by = $2, undone_at = $3, undo_reason = $4 \
     WHERE id = $1 AND undone_at IS NULL";
const MERGE_COLUMNS: &str = "SELECT id, survivor_id, duplicate_id, reason, merged_by, merged_at, undone_by, undone_at, \
     undo_reason FROM person_merges";

#[derive(sqlx::FromRow)]
struct MergeRow {
    id: Uuid,
    survivor_id: Uuid,
    duplicate_id: Uuid,
    reason: String,
    merged_by: Uuid,
    merged_at: DbTime,
    undone_by: Option<Uuid>,
    undone_at: Option<DbTime>,
    undo_reason: Option<String>,
}

impl From<MergeRow> for PersonMerge {
    fn from(r: MergeRow) -> Self {
        PersonMerge {
            id: r.id,
            survivor_id: r.survivor_id,
            duplicate_id: r.duplicate_id,
            reason: r.reason,
            merged_by: r.merged_by,
            merged_at: r.merged_at.0,
            undone_by: r.undone_by,
            undone_at: r.undone_at.map(|t| t.0),
            undo_reason: r.undo_reason,
        }
    }
}

fn merge_by_id() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("{MERGE_COLUMNS} WHERE id = $1"))
}

fn merges_into_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!("{MERGE_COLUMNS} WHERE survivor_id = $1 ORDER BY merged_at DESC, id")
    })
}

/// Run one statement whose parameters are all ids, bound in order.
async fn exec_ids(tx: &mut Tx, sql: &'static str, ids: &[Uuid]) -> Result<()> {
    on_both!(tx, |c| {
        let mut q = sqlx::query(sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(c).await.map(|r| r.rows_affected())
    })
    .map(|_| ())
    .map_err(db_err)
}

impl MergeRepo for Tx {
    async fn linkage_people(&mut self) -> Result<Vec<Person>> {
        let sql = linkage_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(sql)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }

    async fn merged_into(&mut self, person_id: Uuid) -> Result<Option<Uuid>> {
        let got = on_both!(self, |c| sqlx::query_scalar::<_, Option<Uuid>>(MERGED_INTO)
            .bind(person_id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(got.flatten())
    }

    async fn not_duplicates(&mut self) -> Result<Vec<(Uuid, Uuid)>> {
        on_both!(self, |c| sqlx::query_as::<_, (Uuid, Uuid)>(NOT_DUPLICATES)
            .fetch_all(c)
            .await)
        .map_err(db_err)
    }

    async fn insert_not_duplicate(
        &mut self,
        a: Uuid,
        b: Uuid,
        by: Uuid,
        at: OffsetDateTime,
    ) -> Result<()> {
        on_both!(self, |c| sqlx::query(NOT_DUPLICATE_INSERT)
            .bind(a)
            .bind(b)
            .bind(by)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn merge_people(&mut self, m: &PersonMerge) -> Result<()> {
        on_both!(self, |c| sqlx::query(MERGE_INSERT)
            .bind(m.id)
            .bind(m.survivor_id)
            .bind(m.duplicate_id)
            .bind(&m.reason)
            .bind(m.merged_by)
            .bind(DbTime(m.merged_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        exec_ids(self, MERGE_MARK, &[m.survivor_id, m.duplicate_id]).await?;
        for sql in MERGE_STEPS.iter().copied() {
            exec_ids(self, sql, &[m.id, m.survivor_id, m.duplicate_id]).await?;
        }
        Ok(())
    }

    async fn unmerge_people(&mut self, m: &PersonMerge) -> Result<()> {
        let (Some(by), Some(at)) = (m.undone_by, m.undone_at) else {
            return Err(Error::store("an unmerge needs who and when"));
        };
        let changed = on_both!(self, |c| sqlx::query(MERGE_UNDONE)
            .bind(m.id)
            .bind(by)
            .bind(DbTime(at))
            .bind(m.undo_reason.as_deref())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        if changed != 1 {
            return Err(Error::Conflict("this merge has already been undone".into()));
        }
        exec_ids(self, UNMERGE_MARK, &[m.duplicate_id]).await?;
        for sql in UNMERGE_MOVES.iter().copied() {
            exec_ids(self, sql, &[m.id, m.duplicate_id]).await?;
        }
        for sql in UNMERGE_DELETES.iter().copied() {
            exec_ids(self, sql, &[m.id]).await?;
        }
        Ok(())
    }

    async fn get_merge(&mut self, id: Uuid) -> Result<Option<PersonMerge>> {
        let sql = merge_by_id();
        let row = on_both!(self, |c| sqlx::query_as::<_, MergeRow>(sql)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.map(PersonMerge::from))
    }

    async fn merges_into(&mut self, survivor_id: Uuid) -> Result<Vec<PersonMerge>> {
        let sql = merges_into_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, MergeRow>(sql)
            .bind(survivor_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(PersonMerge::from).collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::{MERGE_STEPS, UNMERGE_DELETES, UNMERGE_MOVES};

    /// Tables that point at a person but stay where they are on a merge, and why.
    const STAY: &[(&str, &str)] = &[
        (
            "break_glass",
            "a grant was to open that record; it ends with it",
        ),
        ("person_merges", "the merge itself"),
        ("not_duplicates", "decisions about that pair of records"),
        (
            "concern_drafts",
            "an author's draft stays on the record it was started on",
        ),
    ];

    /// Every table with a column that references `people` (read from the SQLite migrations).
    fn person_tables() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut tables = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for block in sql.split("CREATE TABLE ").skip(1) {
                let name = block
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap()
                    .to_string();
                let body = block.split("\n)").next().unwrap();
                if body.contains("REFERENCES people") {
                    tables.push(name);
                }
            }
        }
        tables.sort();
        tables
    }

    /// A new table about a child must move with a merge and move back on undo, or be listed in
    /// `STAY` with the reason: otherwise a merge would leave part of the child's history behind.
    #[test]
    fn every_table_about_a_person_moves_with_a_merge_and_back() {
        let tables = person_tables();
        assert!(tables.len() > 10, "{tables:?}");
        for t in &tables {
            if STAY.iter().any(|(s, _)| s == t) {
                continue;
            }
            let moved = MERGE_STEPS.iter().any(|s| {
                s.starts_with(&format!("UPDATE {t} SET"))
                    || s.starts_with(&format!("INSERT INTO {t} ("))
            });
            assert!(moved, "a merge does not move {t}");
            let back = UNMERGE_MOVES
                .iter()
                .chain(UNMERGE_DELETES)
                .any(|s| s.contains(&format!(" {t} ")));
            assert!(back, "undoing a merge does not restore {t}");
        }
    }
}
