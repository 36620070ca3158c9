//! Storage for `mace_domain::missing` over both engines: missing episodes (with the return home
//! interview on the same row), prompts to review risk, and places of concern. The work list's
//! queries apply the viewer's scope inside SQL (`in_scope!`).

use crate::cases::in_scope;
use crate::repos::PersonRow;
use crate::tx::{Tx, corrupt, db_err, on_both, scope_parts, with_children};
use crate::types::DbTime;
use mace_domain::authz::Scope;
use mace_domain::missing::{
    Episode, EpisodeCategory, FoundBy, Interviewer, MissingRisk, PlaceOfConcern, Prompt,
    PromptReason, Reporter, ReturnInterview,
};
use mace_domain::person::Person;
use mace_domain::ports::MissingRepo;
use mace_domain::postcode::Postcode;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! episode_columns {
    () => {
        "e.id AS e_id, e.person_id AS e_person_id, e.category AS e_category, \
         e.reported_at AS e_reported_at, e.reported_by AS e_reported_by, \
         e.reporter_name AS e_reporter_name, e.police_reference AS e_police_reference, \
         e.from_care AS e_from_care, e.placement AS e_placement, e.risk AS e_risk, \
         e.found_at AS e_found_at, e.returned_at AS e_returned_at, e.found_where AS e_found_where, \
         e.found_postcode AS e_found_postcode, e.found_with AS e_found_with, e.found_by AS e_found_by, \
         e.harm AS e_harm, e.rhi_offered_at AS e_rhi_offered_at, e.rhi_offered_by AS e_rhi_offered_by, \
         e.rhi_offered_name AS e_rhi_offered_name, e.rhi_declined_at AS e_rhi_declined_at, \
         e.rhi_held_at AS e_rhi_held_at, e.rhi_held_by AS e_rhi_held_by, \
         e.rhi_interviewer AS e_rhi_interviewer, e.rhi_independent AS e_rhi_independent, \
         e.rhi_child_said AS e_rhi_child_said, e.rhi_follow_up AS e_rhi_follow_up, \
         e.rhi_not_offered_at AS e_rhi_not_offered_at, \
         e.rhi_not_offered_reason AS e_rhi_not_offered_reason, e.org_id AS e_org_id, \
         e.created_by AS e_created_by, e.created_at AS e_created_at, e.updated_at AS e_updated_at"
    };
}

macro_rules! prompt_columns {
    () => {
        "m.id AS m_id, m.person_id AS m_person_id, m.episode_id AS m_episode_id, m.reason AS m_reason, \
         m.detail AS m_detail, m.place_id AS m_place_id, m.raised_at AS m_raised_at, \
         m.resolved_at AS m_resolved_at, m.resolved_by AS m_resolved_by, m.resolution AS m_resolution"
    };
}

use crate::plans::person_columns;

const EPISODE_INSERT: &str = "INSERT INTO missing_episodes (id, person_id, category, reported_at, reported_by, \
     reporter_name, police_reference, from_care, placement, risk, found_at, returned_at, found_where, \
     found_postcode, found_with, found_by, harm, rhi_offered_at, rhi_offered_by, rhi_offered_name, \
     rhi_declined_at, rhi_held_at, rhi_held_by, rhi_interviewer, rhi_independent, rhi_child_said, \
     rhi_follow_up, rhi_not_offered_at, rhi_not_offered_reason, org_id, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
     $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)";
/// Everything but the id, child and creation: `$1` the id.
const EPISODE_UPDATE: &str = "UPDATE missing_episodes SET category = $2, reported_at = $3, reported_by = $4, \
     reporter_name = $5, police_reference = $6, from_care = $7, placement = $8, risk = $9, found_at = $10, \
     returned_at = $11, found_where = $12, found_postcode = $13, found_with = $14, found_by = $15, harm = $16, \
     rhi_offered_at = $17, rhi_offered_by = $18, rhi_offered_name = $19, rhi_declined_at = $20, \
     rhi_held_at = $21, rhi_held_by = $22, rhi_interviewer = $23, rhi_independent = $24, \
     rhi_child_said = $25, rhi_follow_up = $26, rhi_not_offered_at = $27, rhi_not_offered_reason = $28, \
     updated_at = $29 WHERE id = $1";
const EPISODE_BY_ID: &str = concat!(
    "SELECT ",
    episode_columns!(),
    " FROM missing_episodes e WHERE e.id = $1"
);
const EPISODES_FOR: &str = concat!(
    "SELECT ",
    episode_columns!(),
    " FROM missing_episodes e WHERE e.person_id = $1 ORDER BY e.reported_at DESC, e.id DESC"
);
const EPISODES_BETWEEN: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM missing_episodes \
     WHERE person_id = $1 AND reported_at >= $2 AND reported_at <= $3";

/// `$1` limit, `$2` the person kind (`child`); `$3`-`$6` the scope (`in_scope!` on `p`).
const OPEN_EPISODES: &str = concat!(
    "SELECT ",
    episode_columns!(),
    ", ",
    person_columns!(),
    " FROM missing_episodes e JOIN people p ON p.id = e.person_id \
     WHERE e.rhi_held_at IS NULL AND e.rhi_declined_at IS NULL AND e.rhi_not_offered_at IS NULL \
       AND p.merged_into IS NULL AND p.kind = $2 AND ",
    in_scope!(),
    " ORDER BY COALESCE(e.returned_at, e.found_at, e.reported_at), e.id LIMIT $1"
);

const PROMPT_INSERT: &str = "INSERT INTO missing_prompts (id, person_id, episode_id, reason, detail, place_id, \
     raised_at, resolved_at, resolved_by, resolution) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const PROMPT_UPDATE: &str =
    "UPDATE missing_prompts SET resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1";
const PROMPT_BY_ID: &str = concat!(
    "SELECT ",
    prompt_columns!(),
    " FROM missing_prompts m WHERE m.id = $1"
);
const PROMPTS_FOR: &str = concat!(
    "SELECT ",
    prompt_columns!(),
    " FROM missing_prompts m WHERE m.person_id = $1 ORDER BY m.raised_at DESC, m.id DESC"
);
/// `$1` limit, `$2` the person kind (`child`); `$3`-`$6` the scope.
const OPEN_PROMPTS: &str = concat!(
    "SELECT ",
    prompt_columns!(),
    ", ",
    person_columns!(),
    " FROM missing_prompts m JOIN people p ON p.id = m.person_id \
     WHERE m.resolved_at IS NULL AND p.merged_into IS NULL AND p.kind = $2 AND ",
    in_scope!(),
    " ORDER BY m.raised_at, m.id LIMIT $1"
);

const PLACE_INSERT: &str = "INSERT INTO places_of_concern (id, name, postcode, outward, note, org_id, created_by, \
     created_at, latitude, longitude) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const PLACE_COLUMNS: &str = "SELECT id, name, postcode, outward, note, org_id, created_by, created_at, \
     latitude, longitude FROM places_of_concern";

#[derive(sqlx::FromRow)]
struct EpisodeRow {
    e_id: Uuid,
    e_person_id: Uuid,
    e_category: String,
    e_reported_at: DbTime,
    e_reported_by: String,
    e_reporter_name: String,
    e_police_reference: String,
    e_from_care: bool,
    e_placement: String,
    e_risk: String,
    e_found_at: Option<DbTime>,
    e_returned_at: Option<DbTime>,
    e_found_where: String,
    e_found_postcode: Option<String>,
    e_found_with: String,
    e_found_by: Option<String>,
    e_harm: String,
    e_rhi_offered_at: Option<DbTime>,
    e_rhi_offered_by: Option<String>,
    e_rhi_offered_name: String,
    e_rhi_declined_at: Option<DbTime>,
    e_rhi_held_at: Option<DbTime>,
    e_rhi_held_by: Option<String>,
    e_rhi_interviewer: String,
    e_rhi_independent: Option<bool>,
    e_rhi_child_said: String,
    e_rhi_follow_up: String,
    e_rhi_not_offered_at: Option<DbTime>,
    e_rhi_not_offered_reason: String,
    e_org_id: Uuid,
    e_created_by: Uuid,
    e_created_at: DbTime,
    e_updated_at: DbTime,
}

fn interviewer(s: Option<String>) -> Result<Option<Interviewer>> {
    s.map(|s| Interviewer::parse(&s).ok_or_else(|| corrupt("interviewer")))
        .transpose()
}

impl TryFrom<EpisodeRow> for Episode {
    type Error = Error;
    fn try_from(r: EpisodeRow) -> Result<Self> {
        Ok(Episode {
            id: r.e_id,
            person_id: r.e_person_id,
            category: EpisodeCategory::parse(&r.e_category)
                .ok_or_else(|| corrupt("episode category"))?,
            reported_at: r.e_reported_at.0,
            reported_by: Reporter::parse(&r.e_reported_by).ok_or_else(|| corrupt("reporter"))?,
            reporter_name: r.e_reporter_name,
            police_reference: r.e_police_reference,
            from_care: r.e_from_care,
            placement: r.e_placement,
            risk: MissingRisk::parse(&r.e_risk).ok_or_else(|| corrupt("risk level"))?,
            found_at: r.e_found_at.map(|t| t.0),
            returned_at: r.e_returned_at.map(|t| t.0),
            found_where: r.e_found_where,
            found_postcode: r
                .e_found_postcode
                .map(|p| Postcode::parse(&p).map_err(|_| corrupt("postcode")))
                .transpose()?,
            found_with: r.e_found_with,
            found_by: r
                .e_found_by
                .map(|s| FoundBy::parse(&s).ok_or_else(|| corrupt("found by")))
                .transpose()?,
            harm: r.e_harm,
            rhi: ReturnInterview {
                offered_at: r.e_rhi_offered_at.map(|t| t.0),
                offered_by: interviewer(r.e_rhi_offered_by)?,
                offered_name: r.e_rhi_offered_name,
                declined_at: r.e_rhi_declined_at.map(|t| t.0),
                held_at: r.e_rhi_held_at.map(|t| t.0),
                held_by: interviewer(r.e_rhi_held_by)?,
                interviewer: r.e_rhi_interviewer,
                independent: r.e_rhi_independent,
                child_said: r.e_rhi_child_said,
                follow_up: r.e_rhi_follow_up,
                not_offered_at: r.e_rhi_not_offered_at.map(|t| t.0),
                not_offered_reason: r.e_rhi_not_offered_reason,
            },
            org_id: r.e_org_id,
            created_by: r.e_created_by,
            created_at: r.e_created_at.0,
            updated_at: r.e_updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EpisodeChildRow {
    #[sqlx(flatten)]
    episode: EpisodeRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct PromptRow {
    m_id: Uuid,
    m_person_id: Uuid,
    m_episode_id: Uuid,
    m_reason: String,
    m_detail: String,
    m_place_id: Option<Uuid>,
    m_raised_at: DbTime,
    m_resolved_at: Option<DbTime>,
    m_resolved_by: Option<Uuid>,
    m_resolution: String,
}

impl TryFrom<PromptRow> for Prompt {
    type Error = Error;
    fn try_from(r: PromptRow) -> Result<Self> {
        Ok(Prompt {
            id: r.m_id,
            person_id: r.m_person_id,
            episode_id: r.m_episode_id,
            reason: PromptReason::parse(&r.m_reason).ok_or_else(|| corrupt("prompt reason"))?,
            detail: r.m_detail,
            place_id: r.m_place_id,
            raised_at: r.m_raised_at.0,
            resolved_at: r.m_resolved_at.map(|t| t.0),
            resolved_by: r.m_resolved_by,
            resolution: r.m_resolution,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PromptChildRow {
    #[sqlx(flatten)]
    prompt: PromptRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    name: String,
    postcode: Option<String>,
    outward: String,
    note: String,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl TryFrom<PlaceRow> for PlaceOfConcern {
    type Error = Error;
    fn try_from(r: PlaceRow) -> Result<Self> {
        Ok(PlaceOfConcern {
            id: r.id,
            name: r.name,
            postcode: r
                .postcode
                .map(|p| Postcode::parse(&p).map_err(|_| corrupt("postcode")))
                .transpose()?,
            outward: r.outward,
            note: r.note,
            position: r
                .latitude
                .zip(r.longitude)
                .and_then(|(a, b)| mace_domain::hotspots::LatLon::new(a, b)),
            org_id: r.org_id,
            created_by: r.created_by,
            created_at: r.created_at.0,
        })
    }
}

fn t(v: Option<OffsetDateTime>) -> Option<DbTime> {
    v.map(DbTime)
}

impl MissingRepo for Tx {
    async fn insert_episode(&mut self, e: &Episode) -> Result<()> {
        let postcode = e.found_postcode.as_ref().map(|p| p.as_str().to_string());
        on_both!(self, |c| sqlx::query(EPISODE_INSERT)
            .bind(e.id)
            .bind(e.person_id)
            .bind(e.category.as_str())
            .bind(DbTime(e.reported_at))
            .bind(e.reported_by.as_str())
            .bind(&e.reporter_name)
            .bind(&e.police_reference)
            .bind(e.from_care)
            .bind(&e.placement)
            .bind(e.risk.as_str())
            .bind(t(e.found_at))
            .bind(t(e.returned_at))
            .bind(&e.found_where)
            .bind(postcode.as_deref())
            .bind(&e.found_with)
            .bind(e.found_by.map(FoundBy::as_str))
            .bind(&e.harm)
            .bind(t(e.rhi.offered_at))
            .bind(e.rhi.offered_by.map(Interviewer::as_str))
            .bind(&e.rhi.offered_name)
            .bind(t(e.rhi.declined_at))
            .bind(t(e.rhi.held_at))
            .bind(e.rhi.held_by.map(Interviewer::as_str))
            .bind(&e.rhi.interviewer)
            .bind(e.rhi.independent)
            .bind(&e.rhi.child_said)
            .bind(&e.rhi.follow_up)
            .bind(t(e.rhi.not_offered_at))
            .bind(&e.rhi.not_offered_reason)
            .bind(e.org_id)
            .bind(e.created_by)
            .bind(DbTime(e.created_at))
            .bind(DbTime(e.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_episode(&mut self, e: &Episode) -> Result<()> {
        let postcode = e.found_postcode.as_ref().map(|p| p.as_str().to_string());
        on_both!(self, |c| sqlx::query(EPISODE_UPDATE)
            .bind(e.id)
            .bind(e.category.as_str())
            .bind(DbTime(e.reported_at))
            .bind(e.reported_by.as_str())
            .bind(&e.reporter_name)
            .bind(&e.police_reference)
            .bind(e.from_care)
            .bind(&e.placement)
            .bind(e.risk.as_str())
            .bind(t(e.found_at))
            .bind(t(e.returned_at))
            .bind(&e.found_where)
            .bind(postcode.as_deref())
            .bind(&e.found_with)
            .bind(e.found_by.map(FoundBy::as_str))
            .bind(&e.harm)
            .bind(t(e.rhi.offered_at))
            .bind(e.rhi.offered_by.map(Interviewer::as_str))
            .bind(&e.rhi.offered_name)
            .bind(t(e.rhi.declined_at))
            .bind(t(e.rhi.held_at))
            .bind(e.rhi.held_by.map(Interviewer::as_str))
            .bind(&e.rhi.interviewer)
            .bind(e.rhi.independent)
            .bind(&e.rhi.child_said)
            .bind(&e.rhi.follow_up)
            .bind(t(e.rhi.not_offered_at))
            .bind(&e.rhi.not_offered_reason)
            .bind(DbTime(e.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_episode(&mut self, id: Uuid) -> Result<Option<Episode>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, EpisodeRow>(EPISODE_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Episode::try_from).transpose()
    }

    async fn episodes_for(&mut self, person_id: Uuid) -> Result<Vec<Episode>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, EpisodeRow>(EPISODES_FOR)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Episode::try_from).collect()
    }

    async fn count_episodes_between(
        &mut self,
        person_id: Uuid,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<i64> {
        on_both!(self, |c| sqlx::query_scalar::<_, i64>(EPISODES_BETWEEN)
            .bind(person_id)
            .bind(DbTime(from))
            .bind(DbTime(to))
            .fetch_one(c)
            .await)
        .map_err(db_err)
    }

    async fn open_episodes(&mut self, scope: &Scope, limit: i64) -> Result<Vec<(Episode, Person)>> {
        let Some((s_org, s_user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, EpisodeChildRow>(
            OPEN_EPISODES
        )
        .bind(limit)
        .bind("child")
        .bind(s_org)
        .bind(s_user)
        .bind(now)
        .bind(police)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        with_children(rows, |r| (r.episode, r.person))
    }

    async fn insert_prompt(&mut self, p: &Prompt) -> Result<()> {
        on_both!(self, |c| sqlx::query(PROMPT_INSERT)
            .bind(p.id)
            .bind(p.person_id)
            .bind(p.episode_id)
            .bind(p.reason.as_str())
            .bind(&p.detail)
            .bind(p.place_id)
            .bind(DbTime(p.raised_at))
            .bind(t(p.resolved_at))
            .bind(p.resolved_by)
            .bind(&p.resolution)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_prompt(&mut self, p: &Prompt) -> Result<()> {
        on_both!(self, |c| sqlx::query(PROMPT_UPDATE)
            .bind(p.id)
            .bind(t(p.resolved_at))
            .bind(p.resolved_by)
            .bind(&p.resolution)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_prompt(&mut self, id: Uuid) -> Result<Option<Prompt>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, PromptRow>(PROMPT_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Prompt::try_from).transpose()
    }

    async fn prompts_for(&mut self, person_id: Uuid) -> Result<Vec<Prompt>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, PromptRow>(PROMPTS_FOR)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Prompt::try_from).collect()
    }

    async fn open_prompts(&mut self, scope: &Scope, limit: i64) -> Result<Vec<(Prompt, Person)>> {
        let Some((s_org, s_user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, PromptChildRow>(OPEN_PROMPTS)
            .bind(limit)
            .bind("child")
            .bind(s_org)
            .bind(s_user)
            .bind(now)
            .bind(police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        with_children(rows, |r| (r.prompt, r.person))
    }

    async fn insert_place(&mut self, p: &PlaceOfConcern) -> Result<()> {
        let postcode = p.postcode.as_ref().map(|p| p.as_str().to_string());
        on_both!(self, |c| sqlx::query(PLACE_INSERT)
            .bind(p.id)
            .bind(&p.name)
            .bind(postcode.as_deref())
            .bind(&p.outward)
            .bind(&p.note)
            .bind(p.org_id)
            .bind(p.created_by)
            .bind(DbTime(p.created_at))
            .bind(p.position.map(|l| l.lat))
            .bind(p.position.map(|l| l.lon))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn places(&mut self) -> Result<Vec<PlaceOfConcern>> {
        let sql = places_sql(false);
        let rows = on_both!(self, |c| sqlx::query_as::<_, PlaceRow>(sql)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(PlaceOfConcern::try_from).collect()
    }

    async fn places_matching(&mut self, postcode: &Postcode) -> Result<Vec<PlaceOfConcern>> {
        let sql = places_sql(true);
        let (full, outward) = (
            postcode.as_str().to_string(),
            postcode.outward().to_string(),
        );
        let rows = on_both!(self, |c| sqlx::query_as::<_, PlaceRow>(sql)
            .bind(&outward)
            .bind(&full)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(PlaceOfConcern::try_from).collect()
    }
}

/// The list (by name), or the places a postcode matches: `$1` its district, `$2` the postcode.
fn places_sql(matching: bool) -> &'static str {
    static ALL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static MATCHING: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if matching {
        MATCHING.get_or_init(|| {
            format!(
                "{PLACE_COLUMNS} WHERE outward = $1 AND (postcode IS NULL OR postcode = $2) \
                 ORDER BY name, id"
            )
        })
    } else {
        ALL.get_or_init(|| format!("{PLACE_COLUMNS} ORDER BY name, id"))
    }
}
