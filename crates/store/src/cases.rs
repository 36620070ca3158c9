//! Children's records over both engines: involvement, the policy's record facts, the scoped
//! list, break-glass grants, concerns and the chronology.

use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::authz::{Marking, RecordFacts, Scope};
use mace_domain::cases::{
    BreakGlassGrant, ChronologyEntry, Concern, ConcernIndicator, ConcernRow, ConcernStatus,
    ExploitationType, Involvement, InvolvementReason, TriageDecision,
};
use mace_domain::drafts::ConcernDraft;
use mace_domain::person::Person;
use mace_domain::ports::CaseRepo;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

fn corrupt(what: &str) -> Error {
    Error::store(format!("stored {what} is invalid"))
}

const INVOLVEMENT_INSERT: &str = "INSERT INTO involvements (person_id, org_id, reason, is_lead, created_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_id, org_id, reason) DO NOTHING";
const LEAD_ORG: &str = "SELECT org_id FROM involvements WHERE person_id = $1 AND is_lead = $2 ORDER BY created_at LIMIT 1";
const INVOLVEMENTS: &str = "SELECT person_id, org_id, reason, is_lead, created_at FROM involvements \
     WHERE person_id = $1 ORDER BY created_at, org_id";

#[derive(sqlx::FromRow)]
struct InvolvementRow {
    person_id: Uuid,
    org_id: Uuid,
    reason: String,
    is_lead: bool,
    created_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    org_involved: bool,
    user_allocated: bool,
    break_glass_active: bool,
    org_is_lead: bool,
    cleared: bool,
}

const FACTS: &str = "SELECT \
     EXISTS (SELECT 1 FROM involvements WHERE person_id = $1 AND org_id = $3) AS org_involved, \
     EXISTS (SELECT 1 FROM allocations WHERE person_id = $1 AND user_id = $2 AND ended_at IS NULL) AS user_allocated, \
     EXISTS (SELECT 1 FROM break_glass WHERE person_id = $1 AND user_id = $2 AND expires_at > $4) AS break_glass_active, \
     EXISTS (SELECT 1 FROM involvements WHERE person_id = $1 AND org_id = $3 AND is_lead = $5) AS org_is_lead, \
     EXISTS (SELECT 1 FROM restricted_clearances WHERE person_id = $1 AND user_id = $2) AS cleared";
const MARKINGS: &str = "SELECT marking FROM record_markings WHERE person_id = $1 ORDER BY marking";

/// The scope filter on a person aliased `p`, in SQL: the same rule as `authz::scope_admits`.
/// `$3` org, `$4` user, `$5` now, `$6` police. Shared by every scoped list and search.
macro_rules! in_scope {
    () => {
        "(EXISTS (SELECT 1 FROM involvements i WHERE i.person_id = p.id AND i.org_id = $3) \
            OR EXISTS (SELECT 1 FROM allocations a WHERE a.person_id = p.id AND a.user_id = $4 AND a.ended_at IS NULL) \
            OR EXISTS (SELECT 1 FROM break_glass b WHERE b.person_id = p.id AND b.user_id = $4 AND b.expires_at > $5)) \
         AND ($6 OR NOT EXISTS (SELECT 1 FROM record_markings m WHERE m.person_id = p.id AND m.marking = 'police_only')) \
         AND (NOT EXISTS (SELECT 1 FROM record_markings m WHERE m.person_id = p.id AND m.marking = 'staff_involved') \
            OR EXISTS (SELECT 1 FROM restricted_clearances r WHERE r.person_id = p.id AND r.user_id = $4))"
    };
}
pub(crate) use in_scope;

const CHILDREN_IN_SCOPE: &str = concat!(
    "SELECT p.id, p.kind, p.given_name, p.family_name, p.date_of_birth, p.dob_approximate, \
     p.gender, p.postcode, p.created_at, p.updated_at FROM people p \
     WHERE p.kind = 'child' AND p.merged_into IS NULL \
       AND ($1 = '' OR p.family_name_folded LIKE $2 ESCAPE '\\' OR p.given_name_folded LIKE $2 ESCAPE '\\') AND ",
    in_scope!(),
    " ORDER BY p.family_name_folded, p.given_name_folded, p.id LIMIT $7"
);

const BREAK_GLASS_INSERT: &str = "INSERT INTO break_glass (id, person_id, user_id, org_id, reason, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const BREAK_GLASS_LED: &str = "SELECT b.id, b.person_id, b.user_id, b.org_id, b.reason, b.created_at, b.expires_at \
     FROM break_glass b JOIN involvements i ON i.person_id = b.person_id AND i.org_id = $1 AND i.is_lead = $2 \
     WHERE b.created_at >= $3 ORDER BY b.created_at DESC LIMIT 100";

#[derive(sqlx::FromRow)]
struct BreakGlassRow {
    id: Uuid,
    person_id: Uuid,
    user_id: Uuid,
    org_id: Uuid,
    reason: String,
    created_at: DbTime,
    expires_at: DbTime,
}

const CONCERN_COLUMNS: &str = "c.id, c.person_id, c.raised_by_user, c.raised_by_org, c.status, c.observed_at, c.location, \
     c.narrative, c.exploitation_types, c.child_words, c.others_present, c.actions_taken, c.created_at, c.decision, \
     c.rationale, c.decided_by, c.decided_at, c.indicators, c.group_id, c.front_door_org";
const CONCERN_INSERT: &str = "INSERT INTO concerns (id, person_id, raised_by_user, raised_by_org, status, observed_at, \
     location, narrative, exploitation_types, child_words, others_present, actions_taken, created_at, decision, rationale, \
     decided_by, decided_at, indicators, group_id, front_door_org, location_postcode) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";
const CONCERN_UPDATE: &str = "UPDATE concerns SET status = $2, decision = $3, rationale = $4, decided_by = $5, \
     decided_at = $6 WHERE id = $1";

#[derive(sqlx::FromRow)]
struct ConcernDbRow {
    id: Uuid,
    person_id: Uuid,
    raised_by_user: Uuid,
    raised_by_org: Uuid,
    status: String,
    observed_at: Option<DbTime>,
    location: String,
    narrative: String,
    exploitation_types: String,
    child_words: String,
    others_present: String,
    actions_taken: String,
    created_at: DbTime,
    decision: Option<String>,
    rationale: Option<String>,
    decided_by: Option<Uuid>,
    decided_at: Option<DbTime>,
    indicators: String,
    group_id: Option<Uuid>,
    front_door_org: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct ConcernListRow {
    #[sqlx(flatten)]
    c: ConcernDbRow,
    given_name: String,
    family_name: String,
}

impl TryFrom<ConcernDbRow> for Concern {
    type Error = Error;
    fn try_from(r: ConcernDbRow) -> Result<Concern> {
        let types = codes_from(
            &r.exploitation_types,
            ExploitationType::parse,
            "exploitation type",
        )?;
        let indicators = codes_from(&r.indicators, ConcernIndicator::parse, "concern indicator")?;
        Ok(Concern {
            id: r.id,
            person_id: r.person_id,
            raised_by_user: r.raised_by_user,
            raised_by_org: r.raised_by_org,
            status: ConcernStatus::parse(&r.status).ok_or_else(|| corrupt("concern status"))?,
            observed_at: r.observed_at.map(|t| t.0),
            location: r.location,
            narrative: r.narrative,
            exploitation_types: types,
            indicators,
            child_words: r.child_words,
            others_present: r.others_present,
            actions_taken: r.actions_taken,
            group_id: r.group_id,
            front_door_org: r.front_door_org,
            created_at: r.created_at.0,
            decision: r
                .decision
                .map(|d| TriageDecision::parse(&d).ok_or_else(|| corrupt("triage decision")))
                .transpose()?,
            rationale: r.rationale,
            decided_by: r.decided_by,
            decided_at: r.decided_at.map(|t| t.0),
        })
    }
}

/// A list of codes as one column: comma-separated.
fn codes_to<T: Copy>(items: &[T], code: fn(T) -> &'static str) -> String {
    items.iter().map(|t| code(*t)).collect::<Vec<_>>().join(",")
}

fn codes_from<T>(column: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>> {
    column
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| corrupt(what)))
        .collect()
}

fn concern_rows(rows: Vec<ConcernListRow>) -> Result<Vec<ConcernRow>> {
    rows.into_iter()
        .map(|r| {
            Ok(ConcernRow {
                child_name: format!("{} {}", r.given_name, r.family_name),
                concern: Concern::try_from(r.c)?,
            })
        })
        .collect()
}

fn concern_list_sql(filter: &str, order: &str) -> String {
    format!(
        "SELECT {CONCERN_COLUMNS}, p.given_name, p.family_name FROM concerns c JOIN people p ON p.id = c.person_id \
         WHERE {filter} ORDER BY {order} LIMIT 500"
    )
}

fn concern_by_id() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("SELECT {CONCERN_COLUMNS} FROM concerns c WHERE c.id = $1"))
}

fn concerns_of_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {CONCERN_COLUMNS} FROM concerns c WHERE c.person_id = $1 \
             ORDER BY c.created_at DESC, c.id DESC"
        )
    })
}

fn triage_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        concern_list_sql(
            "(c.raised_by_org = $1 OR c.front_door_org = $1) AND c.status = 'submitted'",
            "c.created_at, c.id",
        )
    })
}

fn group_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {CONCERN_COLUMNS} FROM concerns c WHERE c.group_id = $1 ORDER BY c.created_at, c.id LIMIT 100"
        )
    })
}

const DRAFT_UPSERT: &str = "INSERT INTO concern_drafts (user_id, person_id, also, fields, updated_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, person_id) \
     DO UPDATE SET also = excluded.also, fields = excluded.fields, updated_at = excluded.updated_at";
const DRAFT_GET: &str = "SELECT user_id, person_id, also, fields, updated_at FROM concern_drafts \
     WHERE user_id = $1 AND person_id = $2";
const DRAFT_DELETE: &str = "DELETE FROM concern_drafts WHERE user_id = $1 AND person_id = $2";

#[derive(sqlx::FromRow)]
struct DraftRow {
    user_id: Uuid,
    person_id: Uuid,
    also: String,
    fields: String,
    updated_at: DbTime,
}

fn raised_by_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| concern_list_sql("c.raised_by_user = $1", "c.created_at DESC, c.id"))
}

const CHRONOLOGY_INSERT: &str = "INSERT INTO chronology (id, person_id, kind, source_id, org_id, event_at, recorded_at, summary, marking) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const CHRONOLOGY_LIST: &str = "SELECT id, person_id, kind, source_id, org_id, event_at, recorded_at, summary, marking \
     FROM chronology WHERE person_id = $1 ORDER BY event_at, recorded_at, id LIMIT 5000";

#[derive(sqlx::FromRow)]
struct ChronologyRow {
    id: Uuid,
    person_id: Uuid,
    kind: String,
    source_id: Uuid,
    org_id: Uuid,
    event_at: DbTime,
    recorded_at: DbTime,
    summary: String,
    marking: Option<String>,
}

const ALLOCATE: &str = "INSERT INTO allocations (person_id, user_id, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (person_id, user_id) DO UPDATE SET ended_at = NULL";
const CLEAR: &str = "INSERT INTO restricted_clearances (person_id, user_id, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (person_id, user_id) DO NOTHING";
const SET_MARKING: &str = "INSERT INTO record_markings (person_id, marking, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (person_id, marking) DO NOTHING";

impl Tx {
    async fn pair_insert(
        &mut self,
        sql: &'static str,
        a: Uuid,
        b: Uuid,
        at: OffsetDateTime,
    ) -> Result<()> {
        on_both!(self, |c| sqlx::query(sql)
            .bind(a)
            .bind(b)
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }
}

fn like_prefix(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    for ch in s.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

impl CaseRepo for Tx {
    async fn insert_involvement(&mut self, i: &Involvement) -> Result<()> {
        on_both!(self, |c| sqlx::query(INVOLVEMENT_INSERT)
            .bind(i.person_id)
            .bind(i.org_id)
            .bind(i.reason.as_str())
            .bind(i.is_lead)
            .bind(DbTime(i.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn lead_org(&mut self, person_id: Uuid) -> Result<Option<Uuid>> {
        on_both!(self, |c| sqlx::query_scalar::<_, Uuid>(LEAD_ORG)
            .bind(person_id)
            .bind(true)
            .fetch_optional(c)
            .await)
        .map_err(db_err)
    }

    async fn involvements(&mut self, person_id: Uuid) -> Result<Vec<Involvement>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, InvolvementRow>(INVOLVEMENTS)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(Involvement {
                    person_id: r.person_id,
                    org_id: r.org_id,
                    reason: InvolvementReason::parse(&r.reason)
                        .ok_or_else(|| corrupt("involvement reason"))?,
                    is_lead: r.is_lead,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }

    async fn record_facts(
        &mut self,
        person_id: Uuid,
        user_id: Uuid,
        org_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<RecordFacts> {
        let f = on_both!(self, |c| sqlx::query_as::<_, FactsRow>(FACTS)
            .bind(person_id)
            .bind(user_id)
            .bind(org_id)
            .bind(DbTime(now))
            .bind(true)
            .fetch_one(c)
            .await)
        .map_err(db_err)?;
        let marks = on_both!(self, |c| sqlx::query_scalar::<_, String>(MARKINGS)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        let markings = marks
            .iter()
            .map(|m| Marking::parse(m).ok_or_else(|| corrupt("marking")))
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordFacts {
            org_involved: f.org_involved,
            user_allocated: f.user_allocated,
            break_glass_active: f.break_glass_active,
            org_is_lead: f.org_is_lead,
            markings,
            viewer_cleared_for_restricted: f.cleared,
        })
    }

    async fn list_children(
        &mut self,
        scope: &Scope,
        name_prefix: &str,
        limit: i64,
    ) -> Result<Vec<Person>> {
        let Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } = scope
        else {
            return Ok(Vec::new());
        };
        let pattern = like_prefix(name_prefix);
        let rows = on_both!(self, |c| sqlx::query_as::<_, crate::repos::PersonRow>(
            CHILDREN_IN_SCOPE
        )
        .bind(name_prefix)
        .bind(&pattern)
        .bind(*org_id)
        .bind(*user_id)
        .bind(DbTime(*now))
        .bind(*police)
        .bind(limit)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }

    async fn allocate(&mut self, person_id: Uuid, user_id: Uuid, at: OffsetDateTime) -> Result<()> {
        self.pair_insert(ALLOCATE, person_id, user_id, at).await
    }

    async fn set_marking(
        &mut self,
        person_id: Uuid,
        marking: Marking,
        at: OffsetDateTime,
    ) -> Result<()> {
        on_both!(self, |c| sqlx::query(SET_MARKING)
            .bind(person_id)
            .bind(marking.as_str())
            .bind(DbTime(at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn clear_for_restricted(
        &mut self,
        person_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<()> {
        self.pair_insert(CLEAR, person_id, user_id, at).await
    }

    async fn insert_break_glass(&mut self, g: &BreakGlassGrant) -> Result<()> {
        on_both!(self, |c| sqlx::query(BREAK_GLASS_INSERT)
            .bind(g.id)
            .bind(g.person_id)
            .bind(g.user_id)
            .bind(g.org_id)
            .bind(&g.reason)
            .bind(DbTime(g.created_at))
            .bind(DbTime(g.expires_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn break_glass_on_led_records(
        &mut self,
        org_id: Uuid,
        since: OffsetDateTime,
    ) -> Result<Vec<BreakGlassGrant>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, BreakGlassRow>(
            BREAK_GLASS_LED
        )
        .bind(org_id)
        .bind(true)
        .bind(DbTime(since))
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| BreakGlassGrant {
                id: r.id,
                person_id: r.person_id,
                user_id: r.user_id,
                org_id: r.org_id,
                reason: r.reason,
                created_at: r.created_at.0,
                expires_at: r.expires_at.0,
            })
            .collect())
    }

    async fn insert_concern(&mut self, x: &Concern) -> Result<()> {
        let types = codes_to(&x.exploitation_types, |t| t.as_str());
        let indicators = codes_to(&x.indicators, |t| t.as_str());
        // The place on the hotspot map, when the location names a postcode.
        let location_postcode =
            mace_domain::postcode::find_in(&x.location).map(|p| p.as_str().to_string());
        on_both!(self, |c| sqlx::query(CONCERN_INSERT)
            .bind(x.id)
            .bind(x.person_id)
            .bind(x.raised_by_user)
            .bind(x.raised_by_org)
            .bind(x.status.as_str())
            .bind(x.observed_at.map(DbTime))
            .bind(&x.location)
            .bind(&x.narrative)
            .bind(&types)
            .bind(&x.child_words)
            .bind(&x.others_present)
            .bind(&x.actions_taken)
            .bind(DbTime(x.created_at))
            .bind(x.decision.map(|d| d.as_str()))
            .bind(x.rationale.as_deref())
            .bind(x.decided_by)
            .bind(x.decided_at.map(DbTime))
            .bind(&indicators)
            .bind(x.group_id)
            .bind(x.front_door_org)
            .bind(location_postcode.as_deref())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_concern(&mut self, x: &Concern) -> Result<()> {
        let n = on_both!(self, |c| sqlx::query(CONCERN_UPDATE)
            .bind(x.id)
            .bind(x.status.as_str())
            .bind(x.decision.map(|d| d.as_str()))
            .bind(x.rationale.as_deref())
            .bind(x.decided_by)
            .bind(x.decided_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        if n == 1 { Ok(()) } else { Err(Error::NotFound) }
    }

    async fn get_concern(&mut self, id: Uuid) -> Result<Option<Concern>> {
        let sql = concern_by_id();
        let row = on_both!(self, |c| sqlx::query_as::<_, ConcernDbRow>(sql)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Concern::try_from).transpose()
    }

    async fn concerns_of(&mut self, person_id: Uuid) -> Result<Vec<Concern>> {
        let sql = concerns_of_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, ConcernDbRow>(sql)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Concern::try_from).collect()
    }

    async fn search_text(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        terms: &[String],
        limit: i64,
    ) -> Result<Vec<mace_domain::search::SearchHit>> {
        self.search(scope, user_id, terms, limit).await
    }

    async fn concerns_in_group(&mut self, group_id: Uuid) -> Result<Vec<Concern>> {
        let sql = group_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, ConcernDbRow>(sql)
            .bind(group_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Concern::try_from).collect()
    }

    async fn save_draft(&mut self, d: &ConcernDraft) -> Result<()> {
        let also = d
            .also
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fields = serde_json::to_string(&d.fields)
            .map_err(|_| Error::store("draft fields could not be encoded"))?;
        on_both!(self, |c| sqlx::query(DRAFT_UPSERT)
            .bind(d.user_id)
            .bind(d.person_id)
            .bind(&also)
            .bind(&fields)
            .bind(DbTime(d.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_draft(&mut self, user_id: Uuid, person_id: Uuid) -> Result<Option<ConcernDraft>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, DraftRow>(DRAFT_GET)
            .bind(user_id)
            .bind(person_id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(|r| {
            Ok(ConcernDraft {
                user_id: r.user_id,
                person_id: r.person_id,
                also: r
                    .also
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| Uuid::parse_str(s).map_err(|_| corrupt("draft child")))
                    .collect::<Result<Vec<_>>>()?,
                fields: serde_json::from_str(&r.fields).map_err(|_| corrupt("draft fields"))?,
                updated_at: r.updated_at.0,
            })
        })
        .transpose()
    }

    async fn delete_draft(&mut self, user_id: Uuid, person_id: Uuid) -> Result<()> {
        on_both!(self, |c| sqlx::query(DRAFT_DELETE)
            .bind(user_id)
            .bind(person_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn concerns_for_triage(&mut self, org_id: Uuid) -> Result<Vec<ConcernRow>> {
        let sql = triage_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, ConcernListRow>(sql)
            .bind(org_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        concern_rows(rows)
    }

    async fn concerns_raised_by(&mut self, user_id: Uuid) -> Result<Vec<ConcernRow>> {
        let sql = raised_by_sql();
        let rows = on_both!(self, |c| sqlx::query_as::<_, ConcernListRow>(sql)
            .bind(user_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        concern_rows(rows)
    }

    async fn insert_chronology(&mut self, e: &ChronologyEntry) -> Result<()> {
        on_both!(self, |c| sqlx::query(CHRONOLOGY_INSERT)
            .bind(e.id)
            .bind(e.person_id)
            .bind(&e.kind)
            .bind(e.source_id)
            .bind(e.org_id)
            .bind(DbTime(e.event_at))
            .bind(DbTime(e.recorded_at))
            .bind(&e.summary)
            .bind(e.marking.map(|m| m.as_str()))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn list_chronology(&mut self, person_id: Uuid) -> Result<Vec<ChronologyEntry>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ChronologyRow>(
            CHRONOLOGY_LIST
        )
        .bind(person_id)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                let marking = match r.marking.as_deref() {
                    None => None,
                    Some(m) => Some(Marking::parse(m).ok_or_else(|| {
                        mace_domain::Error::store("stored chronology entry has an invalid marking")
                    })?),
                };
                Ok(ChronologyEntry {
                    id: r.id,
                    person_id: r.person_id,
                    kind: r.kind,
                    source_id: r.source_id,
                    org_id: r.org_id,
                    event_at: r.event_at.0,
                    recorded_at: r.recorded_at.0,
                    summary: r.summary,
                    marking,
                })
            })
            .collect()
    }
}
