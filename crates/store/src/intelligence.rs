//! Storage for `mace_domain::intelligence` over both engines: reports with their children and
//! items, resolved entities, the links of the graph with its version, and the submitter's
//! notifications.

use crate::tx::{Inner, Tx, corrupt, db_err, on_both};
use crate::types::DbTime;
use mace_domain::intelligence::{
    Entity, EntityKind, HandlingCode, HowKnown, IntelAssessment, IntelNotification, IntelStatus,
    Item, ItemKind, Link, Report, SourceEvaluation,
};
use mace_domain::ports::IntelligenceRepo;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! report_columns {
    () => {
        "id, reference, submitted_by, submitted_org, submitted_at, observed_from, observed_to, how_known, \
         narrative, status, status_at, source_evaluation, intelligence_assessment, handling_code, \
         handling_conditions, sanitised, graded_by, graded_at, shared_by, shared_at, action_note"
    };
}

const REPORT_INSERT: &str = concat!(
    "INSERT INTO intel_reports (",
    report_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
);
const REPORT_UPDATE: &str = "UPDATE intel_reports SET status = $2, status_at = $3, source_evaluation = $4, \
     intelligence_assessment = $5, handling_code = $6, handling_conditions = $7, sanitised = $8, graded_by = $9, \
     graded_at = $10, shared_by = $11, shared_at = $12, action_note = $13 WHERE id = $1";
const REPORT_BY_ID: &str = concat!(
    "SELECT ",
    report_columns!(),
    " FROM intel_reports WHERE id = $1"
);
const REPORTS_BY: &str = concat!(
    "SELECT ",
    report_columns!(),
    " FROM intel_reports WHERE submitted_by = $1 ORDER BY submitted_at DESC, id DESC LIMIT $2"
);
const INBOX: &str = concat!(
    "SELECT ",
    report_columns!(),
    " FROM intel_reports WHERE ($1 = '' OR status = $1) \
     ORDER BY CASE status WHEN 'received' THEN 0 WHEN 'assessed' THEN 1 ELSE 2 END, submitted_at, id LIMIT $2"
);
const LAST_REFERENCE: &str = "SELECT reference FROM intel_reports WHERE reference LIKE $1 \
     ORDER BY reference DESC LIMIT 1";
const PG_REFERENCE_LOCK: &str = "SELECT pg_advisory_xact_lock(7017001)";
const CHILD_INSERT: &str =
    "INSERT INTO intel_report_children (report_id, person_id) VALUES ($1, $2)";
const CHILDREN_OF: &str =
    "SELECT person_id FROM intel_report_children WHERE report_id = $1 ORDER BY person_id";
const ITEM_INSERT: &str = "INSERT INTO intel_items (id, report_id, position, kind, value, normalised, detail, \
     latitude, longitude, entity_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const ITEMS_OF: &str = "SELECT id, report_id, position, kind, value, normalised, detail, latitude, longitude, \
     entity_id FROM intel_items WHERE report_id = $1 ORDER BY position";
const ITEM_UPDATE: &str = "UPDATE intel_items SET normalised = $2, entity_id = $3 WHERE id = $1";
const ENTITY_INSERT: &str = "INSERT INTO intel_entities (id, kind, key, label, person_id, latitude, longitude, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, key) DO NOTHING";
const ENTITY_BY_ID: &str = "SELECT id, kind, key, label, person_id, latitude, longitude, created_at \
     FROM intel_entities WHERE id = $1";
const ENTITY_BY_KEY: &str = "SELECT id, kind, key, label, person_id, latitude, longitude, created_at \
     FROM intel_entities WHERE kind = $1 AND key = $2";
const ENTITY_PLACE: &str = "UPDATE intel_entities SET latitude = $2, longitude = $3 \
     WHERE id = $1 AND latitude IS NULL";
const LINKS_OF: &str = "SELECT id, report_id, entity_id, version, removed_version, linked_by, linked_at \
     FROM intel_links WHERE report_id = $1 ORDER BY version, id";
const LINK_INSERT: &str = "INSERT INTO intel_links (id, report_id, entity_id, version, removed_version, linked_by, \
     linked_at) VALUES ($1, $2, $3, $4, NULL, $5, $6) \
     ON CONFLICT (report_id, entity_id) DO UPDATE SET version = excluded.version, removed_version = NULL, \
     linked_by = excluded.linked_by, linked_at = excluded.linked_at";
const LINK_REMOVE: &str = "UPDATE intel_links SET removed_version = $3 \
     WHERE report_id = $1 AND entity_id = $2 AND removed_version IS NULL";
const VERSION_BUMP: &str =
    "UPDATE intel_graph_version SET version = version + 1 WHERE id = 1 RETURNING version";
const VERSION: &str = "SELECT version FROM intel_graph_version WHERE id = 1";
const NOTE_INSERT: &str = "INSERT INTO intel_notifications (id, user_id, report_id, status, created_at, read_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const NOTES_FOR: &str = "SELECT id, user_id, report_id, status, created_at, read_at FROM intel_notifications \
     WHERE user_id = $1 AND ($2 = FALSE OR read_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $3";
const NOTE_READ: &str = "UPDATE intel_notifications SET read_at = $3 \
     WHERE id = $1 AND user_id = $2 AND read_at IS NULL";

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: Uuid,
    reference: String,
    submitted_by: Uuid,
    submitted_org: Uuid,
    submitted_at: DbTime,
    observed_from: Option<DbTime>,
    observed_to: Option<DbTime>,
    how_known: String,
    narrative: String,
    status: String,
    status_at: DbTime,
    source_evaluation: Option<String>,
    intelligence_assessment: Option<String>,
    handling_code: Option<String>,
    handling_conditions: String,
    sanitised: String,
    graded_by: Option<Uuid>,
    graded_at: Option<DbTime>,
    shared_by: Option<Uuid>,
    shared_at: Option<DbTime>,
    action_note: String,
}

fn opt<T>(v: Option<String>, parse: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>> {
    match v {
        None => Ok(None),
        Some(s) => parse(&s).map(Some).ok_or_else(|| corrupt(what)),
    }
}

impl TryFrom<ReportRow> for Report {
    type Error = Error;
    fn try_from(r: ReportRow) -> Result<Self> {
        Ok(Report {
            id: r.id,
            reference: r.reference,
            submitted_by: r.submitted_by,
            submitted_org: r.submitted_org,
            submitted_at: r.submitted_at.0,
            observed_from: r.observed_from.map(|t| t.0),
            observed_to: r.observed_to.map(|t| t.0),
            how_known: HowKnown::parse(&r.how_known).ok_or_else(|| corrupt("how known"))?,
            narrative: r.narrative,
            status: IntelStatus::parse(&r.status).ok_or_else(|| corrupt("intelligence status"))?,
            status_at: r.status_at.0,
            source_evaluation: opt(
                r.source_evaluation,
                SourceEvaluation::parse,
                "source evaluation",
            )?,
            intelligence_assessment: opt(
                r.intelligence_assessment,
                IntelAssessment::parse,
                "intelligence assessment",
            )?,
            handling_code: opt(r.handling_code, HandlingCode::parse, "handling code")?,
            handling_conditions: r.handling_conditions,
            sanitised: r.sanitised,
            graded_by: r.graded_by,
            graded_at: r.graded_at.map(|t| t.0),
            shared_by: r.shared_by,
            shared_at: r.shared_at.map(|t| t.0),
            action_note: r.action_note,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: Uuid,
    report_id: Uuid,
    position: i32,
    kind: String,
    value: String,
    normalised: String,
    detail: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    entity_id: Option<Uuid>,
}

impl TryFrom<ItemRow> for Item {
    type Error = Error;
    fn try_from(r: ItemRow) -> Result<Self> {
        Ok(Item {
            id: r.id,
            report_id: r.report_id,
            position: r.position,
            kind: ItemKind::parse(&r.kind).ok_or_else(|| corrupt("intelligence item kind"))?,
            value: r.value,
            normalised: r.normalised,
            detail: r.detail,
            latitude: r.latitude,
            longitude: r.longitude,
            entity_id: r.entity_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EntityRow {
    id: Uuid,
    kind: String,
    key: String,
    label: String,
    person_id: Option<Uuid>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    created_at: DbTime,
}

impl TryFrom<EntityRow> for Entity {
    type Error = Error;
    fn try_from(r: EntityRow) -> Result<Self> {
        Ok(Entity {
            id: r.id,
            kind: EntityKind::parse(&r.kind).ok_or_else(|| corrupt("entity kind"))?,
            key: r.key,
            label: r.label,
            person_id: r.person_id,
            latitude: r.latitude,
            longitude: r.longitude,
            created_at: r.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: Uuid,
    report_id: Uuid,
    entity_id: Uuid,
    version: i64,
    removed_version: Option<i64>,
    linked_by: Uuid,
    linked_at: DbTime,
}

impl From<LinkRow> for Link {
    fn from(r: LinkRow) -> Self {
        Link {
            id: r.id,
            report_id: r.report_id,
            entity_id: r.entity_id,
            version: r.version,
            removed_version: r.removed_version,
            linked_by: r.linked_by,
            linked_at: r.linked_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: Uuid,
    user_id: Uuid,
    report_id: Uuid,
    status: String,
    created_at: DbTime,
    read_at: Option<DbTime>,
}

impl TryFrom<NoteRow> for IntelNotification {
    type Error = Error;
    fn try_from(r: NoteRow) -> Result<Self> {
        Ok(IntelNotification {
            id: r.id,
            user_id: r.user_id,
            report_id: r.report_id,
            status: IntelStatus::parse(&r.status).ok_or_else(|| corrupt("notification status"))?,
            created_at: r.created_at.0,
            read_at: r.read_at.map(|t| t.0),
        })
    }
}

impl Tx {
    async fn intel_reports(
        &mut self,
        sql: &'static str,
        first: String,
        limit: i64,
    ) -> Result<Vec<Report>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReportRow>(sql)
            .bind(&first)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Report::try_from).collect()
    }
}

impl IntelligenceRepo for Tx {
    async fn last_intel_reference(&mut self, prefix: &str) -> Result<Option<String>> {
        if let Inner::Postgres(t) = &mut self.inner {
            sqlx::query(PG_REFERENCE_LOCK)
                .execute(&mut **t)
                .await
                .map_err(db_err)?;
        }
        let pattern = format!("{prefix}%");
        on_both!(self, |c| sqlx::query_scalar::<_, String>(LAST_REFERENCE)
            .bind(&pattern)
            .fetch_optional(c)
            .await)
        .map_err(db_err)
    }

    async fn insert_intel_report(
        &mut self,
        r: &Report,
        children: &[Uuid],
        items: &[Item],
    ) -> Result<()> {
        on_both!(self, |c| sqlx::query(REPORT_INSERT)
            .bind(r.id)
            .bind(&r.reference)
            .bind(r.submitted_by)
            .bind(r.submitted_org)
            .bind(DbTime(r.submitted_at))
            .bind(r.observed_from.map(DbTime))
            .bind(r.observed_to.map(DbTime))
            .bind(r.how_known.as_str())
            .bind(&r.narrative)
            .bind(r.status.as_str())
            .bind(DbTime(r.status_at))
            .bind(r.source_evaluation.map(|v| v.as_str()))
            .bind(r.intelligence_assessment.map(|v| v.as_str()))
            .bind(r.handling_code.map(|v| v.as_str()))
            .bind(&r.handling_conditions)
            .bind(&r.sanitised)
            .bind(r.graded_by)
            .bind(r.graded_at.map(DbTime))
            .bind(r.shared_by)
            .bind(r.shared_at.map(DbTime))
            .bind(&r.action_note)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        for child in children {
            on_both!(self, |c| sqlx::query(CHILD_INSERT)
                .bind(r.id)
                .bind(*child)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        for i in items {
            on_both!(self, |c| sqlx::query(ITEM_INSERT)
                .bind(i.id)
                .bind(i.report_id)
                .bind(i.position)
                .bind(i.kind.as_str())
                .bind(&i.value)
                .bind(&i.normalised)
                .bind(&i.detail)
                .bind(i.latitude)
                .bind(i.longitude)
                .bind(i.entity_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn update_intel_report(&mut self, r: &Report) -> Result<()> {
        on_both!(self, |c| sqlx::query(REPORT_UPDATE)
            .bind(r.id)
            .bind(r.status.as_str())
            .bind(DbTime(r.status_at))
            .bind(r.source_evaluation.map(|v| v.as_str()))
            .bind(r.intelligence_assessment.map(|v| v.as_str()))
            .bind(r.handling_code.map(|v| v.as_str()))
            .bind(&r.handling_conditions)
            .bind(&r.sanitised)
            .bind(r.graded_by)
            .bind(r.graded_at.map(DbTime))
            .bind(r.shared_by)
            .bind(r.shared_at.map(DbTime))
            .bind(&r.action_note)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_intel_report(&mut self, id: Uuid) -> Result<Option<Report>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, ReportRow>(REPORT_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Report::try_from).transpose()
    }

    async fn intel_report_children(&mut self, report_id: Uuid) -> Result<Vec<Uuid>> {
        on_both!(self, |c| sqlx::query_scalar::<_, Uuid>(CHILDREN_OF)
            .bind(report_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)
    }

    async fn intel_items(&mut self, report_id: Uuid) -> Result<Vec<Item>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ItemRow>(ITEMS_OF)
            .bind(report_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Item::try_from).collect()
    }

    async fn update_intel_item(&mut self, i: &Item) -> Result<()> {
        on_both!(self, |c| sqlx::query(ITEM_UPDATE)
            .bind(i.id)
            .bind(&i.normalised)
            .bind(i.entity_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn intel_reports_by(&mut self, user_id: Uuid, limit: i64) -> Result<Vec<Report>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReportRow>(REPORTS_BY)
            .bind(user_id)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Report::try_from).collect()
    }

    async fn intel_inbox(
        &mut self,
        status: Option<IntelStatus>,
        limit: i64,
    ) -> Result<Vec<Report>> {
        let s = status.map(|s| s.as_str()).unwrap_or("").to_string();
        self.intel_reports(INBOX, s, limit).await
    }

    async fn upsert_intel_entity(&mut self, e: &Entity) -> Result<Entity> {
        on_both!(self, |c| sqlx::query(ENTITY_INSERT)
            .bind(e.id)
            .bind(e.kind.as_str())
            .bind(&e.key)
            .bind(&e.label)
            .bind(e.person_id)
            .bind(e.latitude)
            .bind(e.longitude)
            .bind(DbTime(e.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        let row = on_both!(self, |c| sqlx::query_as::<_, EntityRow>(ENTITY_BY_KEY)
            .bind(e.kind.as_str())
            .bind(&e.key)
            .fetch_one(c)
            .await)
        .map_err(db_err)?;
        let mut found = Entity::try_from(row)?;
        // An entity found again may now be placed (a place with coordinates, a postcode found).
        if found.latitude.is_none()
            && let (Some(la), Some(lo)) = (e.latitude, e.longitude)
        {
            on_both!(self, |c| sqlx::query(ENTITY_PLACE)
                .bind(found.id)
                .bind(la)
                .bind(lo)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
            found.latitude = Some(la);
            found.longitude = Some(lo);
        }
        Ok(found)
    }

    async fn get_intel_entity(&mut self, id: Uuid) -> Result<Option<Entity>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, EntityRow>(ENTITY_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Entity::try_from).transpose()
    }

    async fn intel_links(&mut self, report_id: Uuid) -> Result<Vec<Link>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, LinkRow>(LINKS_OF)
            .bind(report_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Link::from).collect())
    }

    async fn insert_intel_link(&mut self, l: &Link) -> Result<()> {
        on_both!(self, |c| sqlx::query(LINK_INSERT)
            .bind(l.id)
            .bind(l.report_id)
            .bind(l.entity_id)
            .bind(l.version)
            .bind(l.linked_by)
            .bind(DbTime(l.linked_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn remove_intel_link(
        &mut self,
        report_id: Uuid,
        entity_id: Uuid,
        version: i64,
    ) -> Result<bool> {
        on_both!(self, |c| sqlx::query(LINK_REMOVE)
            .bind(report_id)
            .bind(entity_id)
            .bind(version)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|n| n > 0)
        .map_err(db_err)
    }

    async fn bump_intel_graph_version(&mut self) -> Result<i64> {
        on_both!(self, |c| sqlx::query_scalar::<_, i64>(VERSION_BUMP)
            .fetch_one(c)
            .await)
        .map_err(db_err)
    }

    async fn intel_graph_version(&mut self) -> Result<i64> {
        on_both!(self, |c| sqlx::query_scalar::<_, i64>(VERSION)
            .fetch_one(c)
            .await)
        .map_err(db_err)
    }

    async fn insert_intel_notification(&mut self, n: &IntelNotification) -> Result<()> {
        on_both!(self, |c| sqlx::query(NOTE_INSERT)
            .bind(n.id)
            .bind(n.user_id)
            .bind(n.report_id)
            .bind(n.status.as_str())
            .bind(DbTime(n.created_at))
            .bind(n.read_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn intel_notifications_for(
        &mut self,
        user_id: Uuid,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<IntelNotification>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, NoteRow>(NOTES_FOR)
            .bind(user_id)
            .bind(unread_only)
            .bind(limit)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(IntelNotification::try_from).collect()
    }

    async fn mark_intel_notifications_read(
        &mut self,
        user_id: Uuid,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> Result<()> {
        for id in ids {
            on_both!(self, |c| sqlx::query(NOTE_READ)
                .bind(*id)
                .bind(user_id)
                .bind(DbTime(at))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }
}
