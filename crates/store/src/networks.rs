//! Storage for `mace_domain::networks` over both engines: the graph's link changes by version,
//! entities and reports as nodes, the children linked to an entity in a window, and the alert
//! rules and alerts.

use crate::intelligence::EntityRow;
use crate::tx::{Tx, corrupt, db_err, on_both};
use crate::types::DbTime;
use mace_domain::networks::{Alert, AlertRule, Entity, EntityKind, LinkChange, ReportNode};
use mace_domain::ports::NetworkRepo;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

/// Links made after `$1`, and links removed after `$1`, in version order.
const CHANGES: &str = "SELECT c.version, c.report_id, c.entity_id, c.kind, c.removed FROM ( \
       SELECT l.version AS version, l.report_id AS report_id, l.entity_id AS entity_id, e.kind AS kind, \
              0 AS removed \
         FROM intel_links l JOIN intel_entities e ON e.id = l.entity_id WHERE l.version > $1 \
       UNION ALL \
       SELECT l.removed_version, l.report_id, l.entity_id, e.kind, 1 \
         FROM intel_links l JOIN intel_entities e ON e.id = l.entity_id \
        WHERE l.removed_version IS NOT NULL AND l.removed_version > $1 \
     ) c ORDER BY c.version, c.removed";

/// A child's label is their current name.
const ENTITY_SELECT: &str = "SELECT e.id, e.kind, e.key, \
       CASE WHEN p.id IS NOT NULL AND e.kind = 'child' THEN p.given_name || ' ' || p.family_name \
            ELSE e.label END AS label, \
       e.person_id, e.latitude, e.longitude, e.created_at \
     FROM intel_entities e LEFT JOIN people p ON p.id = e.person_id";
const LINKED_ENTITIES: &str = "SELECT e.id, e.kind, e.key, e.label, e.person_id, e.latitude, \
     e.longitude, e.created_at \
     FROM intel_links l JOIN intel_entities e ON e.id = l.entity_id \
     WHERE l.report_id = $1 AND l.removed_version IS NULL ORDER BY e.kind, e.key";
const REPORTS_SELECT: &str = "SELECT id, reference, COALESCE(observed_from, submitted_at) AS at \
     FROM intel_reports";
/// The different children (by person) linked to reports that are linked to the entity `$1`
/// and whose time is at or after `$2`.
const CHILDREN_SINCE: &str = "SELECT DISTINCT COALESCE(ce.person_id, ce.id) AS child \
     FROM intel_links l \
     JOIN intel_reports r ON r.id = l.report_id \
     JOIN intel_links cl ON cl.report_id = l.report_id AND cl.removed_version IS NULL \
     JOIN intel_entities ce ON ce.id = cl.entity_id AND ce.kind = 'child' \
     WHERE l.entity_id = $1 AND l.removed_version IS NULL \
       AND COALESCE(r.observed_from, r.submitted_at) >= $2";

/// Per entity of the kinds in `$1` (comma separated), the different children linked through
/// reports whose time is at or after `$2`, when at least `$3`.
const ENTITIES_OVER: &str = "SELECT l.entity_id, CAST(COUNT(DISTINCT COALESCE(ce.person_id, ce.id)) AS BIGINT) AS n \
     FROM intel_links l \
     JOIN intel_entities e ON e.id = l.entity_id \
     JOIN intel_reports r ON r.id = l.report_id \
     JOIN intel_links cl ON cl.report_id = l.report_id AND cl.removed_version IS NULL \
     JOIN intel_entities ce ON ce.id = cl.entity_id AND ce.kind = 'child' \
     WHERE l.removed_version IS NULL AND (',' || $1 || ',') LIKE ('%,' || e.kind || ',%') \
       AND COALESCE(r.observed_from, r.submitted_at) >= $2 \
     GROUP BY l.entity_id \
     HAVING COUNT(DISTINCT COALESCE(ce.person_id, ce.id)) >= $3 \
     ORDER BY l.entity_id";

const RULES: &str = "SELECT id, name, entity_kinds, min_children, window_days, enabled, updated_by, \
     updated_at FROM intel_alert_rules ORDER BY name, id";
const RULE_UPSERT: &str = "INSERT INTO intel_alert_rules (id, name, entity_kinds, min_children, \
     window_days, enabled, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, entity_kinds = excluded.entity_kinds, \
     min_children = excluded.min_children, window_days = excluded.window_days, \
     enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at";

macro_rules! alert_select {
    () => {
        "SELECT id, rule_id, entity_id, children, fired_at, updated_at, acknowledged_by, \
         acknowledged_at, note FROM intel_alerts"
    };
}
/// Open alerts first, newest change first; `$1` the limit.
const ALERTS: &str = concat!(
    alert_select!(),
    " ORDER BY CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END, updated_at DESC, id LIMIT $1"
);
const ALERT_BY_ID: &str = concat!(alert_select!(), " WHERE id = $1");
const ALERT_BY_RULE_ENTITY: &str =
    concat!(alert_select!(), " WHERE rule_id = $1 AND entity_id = $2");
const ALERT_UPSERT: &str = "INSERT INTO intel_alerts (id, rule_id, entity_id, children, fired_at, \
     updated_at, acknowledged_by, acknowledged_at, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET children = excluded.children, updated_at = excluded.updated_at, \
     acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at, \
     note = excluded.note";

/// `$1, $2, …` for `n` binds starting at `from`.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many ids go in one `IN (…)` list.
const CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
struct ChangeRow {
    version: i64,
    report_id: Uuid,
    entity_id: Uuid,
    kind: String,
    removed: i32,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    reference: String,
    at: DbTime,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    name: String,
    entity_kinds: String,
    min_children: i32,
    window_days: i32,
    enabled: bool,
    updated_by: Option<Uuid>,
    updated_at: DbTime,
}

impl TryFrom<RuleRow> for AlertRule {
    type Error = Error;
    fn try_from(r: RuleRow) -> Result<Self> {
        Ok(AlertRule {
            id: r.id,
            name: r.name,
            entity_kinds: r
                .entity_kinds
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| EntityKind::parse(s).ok_or_else(|| corrupt("alert rule kinds")))
                .collect::<Result<_>>()?,
            min_children: i64::from(r.min_children),
            window_days: i64::from(r.window_days),
            enabled: r.enabled,
            updated_by: r.updated_by,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: Uuid,
    rule_id: Uuid,
    entity_id: Uuid,
    children: i32,
    fired_at: DbTime,
    updated_at: DbTime,
    acknowledged_by: Option<Uuid>,
    acknowledged_at: Option<DbTime>,
    note: String,
}

impl From<AlertRow> for Alert {
    fn from(r: AlertRow) -> Self {
        Alert {
            id: r.id,
            rule_id: r.rule_id,
            entity_id: r.entity_id,
            children: i64::from(r.children),
            fired_at: r.fired_at.0,
            updated_at: r.updated_at.0,
            acknowledged_by: r.acknowledged_by,
            acknowledged_at: r.acknowledged_at.map(|t| t.0),
            note: r.note,
        }
    }
}

fn small(n: i64) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::validation("number", "The number is too large"))
}

impl NetworkRepo for Tx {
    async fn link_changes_since(&mut self, version: i64) -> Result<Vec<LinkChange>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ChangeRow>(CHANGES)
            .bind(version)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(LinkChange {
                    version: r.version,
                    report_id: r.report_id,
                    entity_id: r.entity_id,
                    entity_kind: EntityKind::parse(&r.kind)
                        .ok_or_else(|| corrupt("entity kind"))?,
                    removed: r.removed != 0,
                })
            })
            .collect()
    }

    async fn entities(&mut self, ids: &[Uuid]) -> Result<Vec<Entity>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "{ENTITY_SELECT} WHERE e.id IN ({})",
                placeholders(1, chunk.len())
            );
            let rows = on_both!(self, |c| {
                let mut q = sqlx::query_as::<_, EntityRow>(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(c).await
            })
            .map_err(db_err)?;
            for r in rows {
                out.push(Entity::try_from(r)?);
            }
        }
        Ok(out)
    }

    async fn reports_brief(&mut self, ids: &[Uuid]) -> Result<Vec<ReportNode>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "{REPORTS_SELECT} WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let rows = on_both!(self, |c| {
                let mut q = sqlx::query_as::<_, ReportRow>(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(c).await
            })
            .map_err(db_err)?;
            out.extend(rows.into_iter().map(|r| ReportNode {
                id: r.id,
                reference: r.reference,
                at: r.at.0,
            }));
        }
        Ok(out)
    }

    async fn linked_entities(&mut self, report_id: Uuid) -> Result<Vec<Entity>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, EntityRow>(LINKED_ENTITIES)
            .bind(report_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Entity::try_from).collect()
    }

    async fn children_linked_since(
        &mut self,
        entity_id: Uuid,
        since: OffsetDateTime,
    ) -> Result<Vec<Uuid>> {
        on_both!(self, |c| sqlx::query_scalar::<_, Uuid>(CHILDREN_SINCE)
            .bind(entity_id)
            .bind(DbTime(since))
            .fetch_all(c)
            .await)
        .map_err(db_err)
    }

    async fn entities_over(
        &mut self,
        kinds: &[EntityKind],
        since: OffsetDateTime,
        min: i64,
    ) -> Result<Vec<(Uuid, i64)>> {
        let kinds = kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",");
        on_both!(self, |c| sqlx::query_as::<_, (Uuid, i64)>(ENTITIES_OVER)
            .bind(&kinds)
            .bind(DbTime(since))
            .bind(min)
            .fetch_all(c)
            .await)
        .map_err(db_err)
    }

    async fn alert_rules(&mut self) -> Result<Vec<AlertRule>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, RuleRow>(RULES)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(AlertRule::try_from).collect()
    }

    async fn save_alert_rule(&mut self, r: &AlertRule) -> Result<()> {
        let kinds = r
            .entity_kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let (min, window) = (small(r.min_children)?, small(r.window_days)?);
        on_both!(self, |c| sqlx::query(RULE_UPSERT)
            .bind(r.id)
            .bind(&r.name)
            .bind(&kinds)
            .bind(min)
            .bind(window)
            .bind(r.enabled)
            .bind(r.updated_by)
            .bind(DbTime(r.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn alerts(&mut self, limit: i64) -> Result<Vec<Alert>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, AlertRow>(ALERTS)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Alert::from).collect())
    }

    async fn get_alert(&mut self, id: Uuid) -> Result<Option<Alert>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, AlertRow>(ALERT_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.map(Alert::from))
    }

    async fn find_alert(&mut self, rule_id: Uuid, entity_id: Uuid) -> Result<Option<Alert>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, AlertRow>(
            ALERT_BY_RULE_ENTITY
        )
        .bind(rule_id)
        .bind(entity_id)
        .fetch_optional(c)
        .await)
        .map_err(db_err)?;
        Ok(row.map(Alert::from))
    }

    async fn save_alert(&mut self, a: &Alert) -> Result<()> {
        let children = small(a.children)?;
        on_both!(self, |c| sqlx::query(ALERT_UPSERT)
            .bind(a.id)
            .bind(a.rule_id)
            .bind(a.entity_id)
            .bind(children)
            .bind(DbTime(a.fired_at))
            .bind(DbTime(a.updated_at))
            .bind(a.acknowledged_by)
            .bind(a.acknowledged_at.map(DbTime))
            .bind(&a.note)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}
