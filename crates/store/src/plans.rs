//! Risk management plans over both engines: plans, actions, meetings and reviews, and the work
//! lists ("my actions", plan reviews due) with the viewer's scope applied inside the query.

use crate::cases::in_scope;
use crate::repos::PersonRow;
use crate::tx::{Tx, corrupt, db_err, on_both, scope_parts, with_children};
use crate::types::DbTime;
use mace_domain::authz::Scope;
use mace_domain::person::Person;
use mace_domain::plans::{
    ActionStatus, Plan, PlanAction, PlanMeeting, PlanReview, PlanSection, ReviewDecision, RiskLevel,
};
use mace_domain::ports::PlanRepo;
use mace_domain::{Error, Result};
use time::Date;
use uuid::Uuid;

macro_rules! plan_columns {
    () => {
        "pl.id AS pl_id, pl.person_id AS pl_person_id, pl.risk_level AS pl_risk_level, \
         pl.assessment_id AS pl_assessment_id, pl.lead_user_id AS pl_lead_user_id, \
         pl.lead_org_id AS pl_lead_org_id, pl.agreed_on AS pl_agreed_on, \
         pl.next_review_on AS pl_next_review_on, pl.danger_statement AS pl_danger_statement, \
         pl.safety_goal AS pl_safety_goal, pl.org_id AS pl_org_id, pl.created_by AS pl_created_by, \
         pl.created_at AS pl_created_at, pl.closed_at AS pl_closed_at, pl.closed_by AS pl_closed_by, \
         pl.close_reason AS pl_close_reason"
    };
}

macro_rules! action_columns {
    () => {
        "a.id AS a_id, a.plan_id AS a_plan_id, a.section AS a_section, a.description AS a_description, \
         a.owner_org_id AS a_owner_org_id, a.owner_user_id AS a_owner_user_id, a.due_on AS a_due_on, \
         a.status AS a_status, a.outcome AS a_outcome, a.created_by AS a_created_by, \
         a.created_at AS a_created_at, a.updated_at AS a_updated_at, a.completed_at AS a_completed_at"
    };
}

macro_rules! person_columns {
    () => {
        "p.id, p.kind, p.given_name, p.family_name, p.date_of_birth, p.dob_approximate, p.gender, \
         p.postcode, p.created_at, p.updated_at"
    };
}

pub(crate) use {action_columns, person_columns};

const PLAN_INSERT: &str = "INSERT INTO plans (id, person_id, risk_level, assessment_id, lead_user_id, lead_org_id, \
     agreed_on, next_review_on, danger_statement, safety_goal, org_id, created_by, created_at, closed_at, closed_by, \
     close_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
const PLAN_UPDATE: &str = "UPDATE plans SET risk_level = $2, assessment_id = $3, next_review_on = $4, \
     closed_at = $5, closed_by = $6, close_reason = $7 WHERE id = $1";
const PLAN_BY_ID: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM plans pl WHERE pl.id = $1"
);
const PLANS_FOR: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM plans pl WHERE pl.person_id = $1 ORDER BY pl.created_at DESC, pl.id DESC"
);

const ACTION_INSERT: &str = "INSERT INTO plan_actions (id, plan_id, section, description, owner_org_id, owner_user_id, \
     due_on, status, outcome, created_by, created_at, updated_at, completed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const ACTION_UPDATE: &str = "UPDATE plan_actions SET status = $2, outcome = $3, updated_at = $4, completed_at = $5 \
     WHERE id = $1";
const ACTION_BY_ID: &str = concat!(
    "SELECT ",
    action_columns!(),
    " FROM plan_actions a WHERE a.id = $1"
);
const ACTIONS_OF: &str = concat!(
    "SELECT ",
    action_columns!(),
    " FROM plan_actions a WHERE a.plan_id = $1 ORDER BY a.created_at, a.id"
);

/// `$1` user, `$2` organisation; `$3`-`$6` the scope (`in_scope!` on the child `p`); `$7` limit.
const ACTIONS_FOR_OWNER: &str = concat!(
    "SELECT ",
    action_columns!(),
    ", ",
    person_columns!(),
    " FROM plan_actions a JOIN plans pl ON pl.id = a.plan_id JOIN people p ON p.id = pl.person_id \
     WHERE (a.owner_user_id = $1 OR (a.owner_org_id = $2 AND a.owner_user_id IS NULL)) \
       AND pl.closed_at IS NULL AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY CASE WHEN a.status IN ('not_started', 'in_progress') THEN 0 ELSE 1 END, a.due_on, a.id \
     LIMIT $7"
);

/// `$1` the latest review date, `$2` limit; `$3`-`$6` the scope.
const PLANS_DUE: &str = concat!(
    "SELECT ",
    plan_columns!(),
    ", ",
    person_columns!(),
    " FROM plans pl JOIN people p ON p.id = pl.person_id \
     WHERE pl.closed_at IS NULL AND pl.next_review_on <= $1 AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY pl.next_review_on, pl.id LIMIT $2"
);

const MEETING_INSERT: &str = "INSERT INTO plan_meetings (id, plan_id, held_on, attendees, attendee_orgs, decisions, \
     org_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const MEETINGS_OF: &str = "SELECT id, plan_id, held_on, attendees, attendee_orgs, decisions, org_id, created_by, \
     created_at FROM plan_meetings WHERE plan_id = $1 ORDER BY held_on, created_at, id";

const REVIEW_INSERT: &str = "INSERT INTO plan_reviews (id, plan_id, reviewed_on, changes, decision, next_review_on, \
     org_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const REVIEWS_OF: &str = "SELECT id, plan_id, reviewed_on, changes, decision, next_review_on, org_id, created_by, \
     created_at FROM plan_reviews WHERE plan_id = $1 ORDER BY reviewed_on, created_at, id";

#[derive(sqlx::FromRow)]
struct PlanRow {
    pl_id: Uuid,
    pl_person_id: Uuid,
    pl_risk_level: String,
    pl_assessment_id: Option<Uuid>,
    pl_lead_user_id: Uuid,
    pl_lead_org_id: Uuid,
    pl_agreed_on: Date,
    pl_next_review_on: Date,
    pl_danger_statement: String,
    pl_safety_goal: String,
    pl_org_id: Uuid,
    pl_created_by: Uuid,
    pl_created_at: DbTime,
    pl_closed_at: Option<DbTime>,
    pl_closed_by: Option<Uuid>,
    pl_close_reason: Option<String>,
}

impl TryFrom<PlanRow> for Plan {
    type Error = Error;
    fn try_from(r: PlanRow) -> Result<Self> {
        Ok(Plan {
            id: r.pl_id,
            person_id: r.pl_person_id,
            risk_level: RiskLevel::parse(&r.pl_risk_level).ok_or_else(|| corrupt("risk level"))?,
            assessment_id: r.pl_assessment_id,
            lead_user_id: r.pl_lead_user_id,
            lead_org_id: r.pl_lead_org_id,
            agreed_on: r.pl_agreed_on,
            next_review_on: r.pl_next_review_on,
            danger_statement: r.pl_danger_statement,
            safety_goal: r.pl_safety_goal,
            org_id: r.pl_org_id,
            created_by: r.pl_created_by,
            created_at: r.pl_created_at.0,
            closed_at: r.pl_closed_at.map(|t| t.0),
            closed_by: r.pl_closed_by,
            close_reason: r.pl_close_reason,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    a_id: Uuid,
    a_plan_id: Uuid,
    a_section: String,
    a_description: String,
    a_owner_org_id: Uuid,
    a_owner_user_id: Option<Uuid>,
    a_due_on: Date,
    a_status: String,
    a_outcome: String,
    a_created_by: Uuid,
    a_created_at: DbTime,
    a_updated_at: DbTime,
    a_completed_at: Option<DbTime>,
}

impl TryFrom<ActionRow> for PlanAction {
    type Error = Error;
    fn try_from(r: ActionRow) -> Result<Self> {
        Ok(PlanAction {
            id: r.a_id,
            plan_id: r.a_plan_id,
            section: PlanSection::parse(&r.a_section).ok_or_else(|| corrupt("plan section"))?,
            description: r.a_description,
            owner_org_id: r.a_owner_org_id,
            owner_user_id: r.a_owner_user_id,
            due_on: r.a_due_on,
            status: ActionStatus::parse(&r.a_status).ok_or_else(|| corrupt("action status"))?,
            outcome: r.a_outcome,
            created_by: r.a_created_by,
            created_at: r.a_created_at.0,
            updated_at: r.a_updated_at.0,
            completed_at: r.a_completed_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OwnedActionRow {
    #[sqlx(flatten)]
    action: ActionRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct DuePlanRow {
    #[sqlx(flatten)]
    plan: PlanRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: Uuid,
    plan_id: Uuid,
    held_on: Date,
    attendees: String,
    attendee_orgs: String,
    decisions: String,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
}

impl OwnedActionRow {
    pub(crate) fn into_parts(self) -> Result<(PlanAction, Person)> {
        Ok((
            PlanAction::try_from(self.action)?,
            Person::try_from(self.person)?,
        ))
    }
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: Uuid,
    plan_id: Uuid,
    reviewed_on: Date,
    changes: String,
    decision: String,
    next_review_on: Option<Date>,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
}

impl PlanRepo for Tx {
    async fn insert_plan(&mut self, p: &Plan) -> Result<()> {
        on_both!(self, |c| sqlx::query(PLAN_INSERT)
            .bind(p.id)
            .bind(p.person_id)
            .bind(p.risk_level.as_str())
            .bind(p.assessment_id)
            .bind(p.lead_user_id)
            .bind(p.lead_org_id)
            .bind(p.agreed_on)
            .bind(p.next_review_on)
            .bind(&p.danger_statement)
            .bind(&p.safety_goal)
            .bind(p.org_id)
            .bind(p.created_by)
            .bind(DbTime(p.created_at))
            .bind(p.closed_at.map(DbTime))
            .bind(p.closed_by)
            .bind(p.close_reason.as_deref())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_plan(&mut self, p: &Plan) -> Result<()> {
        on_both!(self, |c| sqlx::query(PLAN_UPDATE)
            .bind(p.id)
            .bind(p.risk_level.as_str())
            .bind(p.assessment_id)
            .bind(p.next_review_on)
            .bind(p.closed_at.map(DbTime))
            .bind(p.closed_by)
            .bind(p.close_reason.as_deref())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_plan(&mut self, id: Uuid) -> Result<Option<Plan>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, PlanRow>(PLAN_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Plan::try_from).transpose()
    }

    async fn plans_for(&mut self, person_id: Uuid) -> Result<Vec<Plan>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, PlanRow>(PLANS_FOR)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Plan::try_from).collect()
    }

    async fn insert_plan_action(&mut self, a: &PlanAction) -> Result<()> {
        on_both!(self, |c| sqlx::query(ACTION_INSERT)
            .bind(a.id)
            .bind(a.plan_id)
            .bind(a.section.as_str())
            .bind(&a.description)
            .bind(a.owner_org_id)
            .bind(a.owner_user_id)
            .bind(a.due_on)
            .bind(a.status.as_str())
            .bind(&a.outcome)
            .bind(a.created_by)
            .bind(DbTime(a.created_at))
            .bind(DbTime(a.updated_at))
            .bind(a.completed_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_plan_action(&mut self, a: &PlanAction) -> Result<()> {
        on_both!(self, |c| sqlx::query(ACTION_UPDATE)
            .bind(a.id)
            .bind(a.status.as_str())
            .bind(&a.outcome)
            .bind(DbTime(a.updated_at))
            .bind(a.completed_at.map(DbTime))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_plan_action(&mut self, id: Uuid) -> Result<Option<PlanAction>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, ActionRow>(ACTION_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(PlanAction::try_from).transpose()
    }

    async fn plan_actions(&mut self, plan_id: Uuid) -> Result<Vec<PlanAction>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ActionRow>(ACTIONS_OF)
            .bind(plan_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(PlanAction::try_from).collect()
    }

    async fn insert_plan_meeting(&mut self, m: &PlanMeeting) -> Result<()> {
        let orgs = m
            .attendee_orgs
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",");
        on_both!(self, |c| sqlx::query(MEETING_INSERT)
            .bind(m.id)
            .bind(m.plan_id)
            .bind(m.held_on)
            .bind(&m.attendees)
            .bind(&orgs)
            .bind(&m.decisions)
            .bind(m.org_id)
            .bind(m.created_by)
            .bind(DbTime(m.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn plan_meetings(&mut self, plan_id: Uuid) -> Result<Vec<PlanMeeting>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, MeetingRow>(MEETINGS_OF)
            .bind(plan_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(PlanMeeting {
                    id: r.id,
                    plan_id: r.plan_id,
                    held_on: r.held_on,
                    attendees: r.attendees,
                    attendee_orgs: r
                        .attendee_orgs
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| Uuid::parse_str(s).map_err(|_| corrupt("meeting organisations")))
                        .collect::<Result<_>>()?,
                    decisions: r.decisions,
                    org_id: r.org_id,
                    created_by: r.created_by,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }

    async fn insert_plan_review(&mut self, r: &PlanReview) -> Result<()> {
        on_both!(self, |c| sqlx::query(REVIEW_INSERT)
            .bind(r.id)
            .bind(r.plan_id)
            .bind(r.reviewed_on)
            .bind(&r.changes)
            .bind(r.decision.as_str())
            .bind(r.next_review_on)
            .bind(r.org_id)
            .bind(r.created_by)
            .bind(DbTime(r.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn plan_reviews(&mut self, plan_id: Uuid) -> Result<Vec<PlanReview>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReviewRow>(REVIEWS_OF)
            .bind(plan_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(PlanReview {
                    id: r.id,
                    plan_id: r.plan_id,
                    reviewed_on: r.reviewed_on,
                    changes: r.changes,
                    decision: ReviewDecision::parse(&r.decision)
                        .ok_or_else(|| corrupt("review decision"))?,
                    next_review_on: r.next_review_on,
                    org_id: r.org_id,
                    created_by: r.created_by,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }

    async fn actions_for_owner(
        &mut self,
        scope: &Scope,
        user_id: Uuid,
        org_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(PlanAction, Person)>> {
        let Some((s_org, s_user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, OwnedActionRow>(
            ACTIONS_FOR_OWNER
        )
        .bind(user_id)
        .bind(org_id)
        .bind(s_org)
        .bind(s_user)
        .bind(now)
        .bind(police)
        .bind(limit)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        with_children(rows, |r| (r.action, r.person))
    }

    async fn plans_due_for_review(
        &mut self,
        scope: &Scope,
        by: Date,
        limit: i64,
    ) -> Result<Vec<(Plan, Person)>> {
        let Some((s_org, s_user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, DuePlanRow>(PLANS_DUE)
            .bind(by)
            .bind(limit)
            .bind(s_org)
            .bind(s_user)
            .bind(now)
            .bind(police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        with_children(rows, |r| (r.plan, r.person))
    }
}
