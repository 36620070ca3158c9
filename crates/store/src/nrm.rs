//! Storage for `mace_domain::nrm` over both engines: NRM referrals and reconsiderations, the
//! open list with the viewer's scope applied inside the query, and the rows the partnership
//! statistics aggregate.

use crate::cases::in_scope;
use crate::plans::person_columns;
use crate::repos::PersonRow;
use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::authz::Scope;
use mace_domain::nrm::{
    DecisionMaker, Exploitation, FinalOutcome, Grounds, IctgRole, NrmReferral, Reconsideration,
    ReconsiderationOutcome, Stage, WhereExploited,
};
use mace_domain::person::Person;
use mace_domain::ports::NrmRepo;
use mace_domain::{Error, Result};
use time::Date;
use uuid::Uuid;

fn corrupt(what: &str) -> Error {
    Error::store(format!("stored NRM {what} is invalid"))
}

macro_rules! referral_columns {
    () => {
        "r.id AS r_id, r.person_id AS r_person_id, r.first_responder_org_id AS r_first_responder_org_id, \
         r.first_responder_name AS r_first_responder_name, r.exploitation AS r_exploitation, \
         r.county_lines AS r_county_lines, r.location AS r_location, r.decision_maker AS r_decision_maker, \
         r.submitted_on AS r_submitted_on, r.home_office_ref AS r_home_office_ref, r.narrative AS r_narrative, \
         r.rg_decision AS r_rg_decision, r.rg_decided_on AS r_rg_decided_on, r.cg_decision AS r_cg_decision, \
         r.cg_decided_on AS r_cg_decided_on, r.ictg_referred_on AS r_ictg_referred_on, \
         r.ictg_role AS r_ictg_role, r.ictg_name AS r_ictg_name, r.closed_on AS r_closed_on, \
         r.final_outcome AS r_final_outcome, r.close_note AS r_close_note, r.org_id AS r_org_id, \
         r.created_by AS r_created_by, r.created_at AS r_created_at, r.updated_at AS r_updated_at"
    };
}

const REFERRAL_INSERT: &str = "INSERT INTO nrm_referrals (id, person_id, first_responder_org_id, \
     first_responder_name, exploitation, county_lines, location, decision_maker, submitted_on, home_office_ref, \
     narrative, rg_decision, rg_decided_on, cg_decision, cg_decided_on, ictg_referred_on, ictg_role, ictg_name, \
     closed_on, final_outcome, close_note, org_id, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
     $23, $24, $25)";
const REFERRAL_UPDATE: &str = "UPDATE nrm_referrals SET narrative = $2, rg_decision = $3, rg_decided_on = $4, \
     cg_decision = $5, cg_decided_on = $6, ictg_referred_on = $7, ictg_role = $8, ictg_name = $9, closed_on = $10, \
     final_outcome = $11, close_note = $12, updated_at = $13 WHERE id = $1";
const REFERRAL_BY_ID: &str = concat!(
    "SELECT ",
    referral_columns!(),
    " FROM nrm_referrals r WHERE r.id = $1"
);
const REFERRALS_FOR: &str = concat!(
    "SELECT ",
    referral_columns!(),
    " FROM nrm_referrals r WHERE r.person_id = $1 ORDER BY r.submitted_on DESC, r.created_at DESC, r.id DESC"
);
const REFERRALS_ALL: &str = concat!(
    "SELECT ",
    referral_columns!(),
    " FROM nrm_referrals r ORDER BY r.submitted_on, r.id"
);
/// `$1` limit, `$2` the person kind (`child`); `$3`-`$6` the scope (`in_scope!` on the child `p`).
const REFERRALS_OPEN: &str = concat!(
    "SELECT ",
    referral_columns!(),
    ", ",
    person_columns!(),
    " FROM nrm_referrals r JOIN people p ON p.id = r.person_id \
     WHERE r.closed_on IS NULL AND p.merged_into IS NULL AND p.kind = $2 AND ",
    in_scope!(),
    " ORDER BY r.submitted_on, r.id LIMIT $1"
);

const RECON_INSERT: &str = "INSERT INTO nrm_reconsiderations (id, referral_id, stage, requested_on, requested_by, \
     outcome, outcome_on, org_id, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const RECON_UPDATE: &str =
    "UPDATE nrm_reconsiderations SET outcome = $2, outcome_on = $3, updated_at = $4 WHERE id = $1";
const RECONS_OF: &str = "SELECT id, referral_id, stage, requested_on, requested_by, outcome, outcome_on, org_id, \
     created_by, created_at, updated_at FROM nrm_reconsiderations WHERE referral_id = $1 \
     ORDER BY requested_on, created_at, id";

#[derive(sqlx::FromRow)]
struct ReferralRow {
    r_id: Uuid,
    r_person_id: Uuid,
    r_first_responder_org_id: Uuid,
    r_first_responder_name: String,
    r_exploitation: String,
    r_county_lines: bool,
    r_location: String,
    r_decision_maker: String,
    r_submitted_on: Date,
    r_home_office_ref: String,
    r_narrative: String,
    r_rg_decision: Option<String>,
    r_rg_decided_on: Option<Date>,
    r_cg_decision: Option<String>,
    r_cg_decided_on: Option<Date>,
    r_ictg_referred_on: Option<Date>,
    r_ictg_role: Option<String>,
    r_ictg_name: String,
    r_closed_on: Option<Date>,
    r_final_outcome: Option<String>,
    r_close_note: String,
    r_org_id: Uuid,
    r_created_by: Uuid,
    r_created_at: DbTime,
    r_updated_at: DbTime,
}

fn parse_opt<T>(v: Option<String>, f: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>> {
    v.map(|s| f(&s).ok_or_else(|| corrupt(what))).transpose()
}

impl TryFrom<ReferralRow> for NrmReferral {
    type Error = Error;
    fn try_from(r: ReferralRow) -> Result<Self> {
        Ok(NrmReferral {
            id: r.r_id,
            person_id: r.r_person_id,
            first_responder_org_id: r.r_first_responder_org_id,
            first_responder_name: r.r_first_responder_name,
            exploitation: r
                .r_exploitation
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| Exploitation::parse(s).ok_or_else(|| corrupt("exploitation type")))
                .collect::<Result<_>>()?,
            county_lines: r.r_county_lines,
            location: WhereExploited::parse(&r.r_location).ok_or_else(|| corrupt("location"))?,
            decision_maker: DecisionMaker::parse(&r.r_decision_maker)
                .ok_or_else(|| corrupt("decision maker"))?,
            submitted_on: r.r_submitted_on,
            home_office_ref: r.r_home_office_ref,
            narrative: r.r_narrative,
            rg_decision: parse_opt(r.r_rg_decision, Grounds::parse, "decision")?,
            rg_decided_on: r.r_rg_decided_on,
            cg_decision: parse_opt(r.r_cg_decision, Grounds::parse, "decision")?,
            cg_decided_on: r.r_cg_decided_on,
            ictg_referred_on: r.r_ictg_referred_on,
            ictg_role: parse_opt(r.r_ictg_role, IctgRole::parse, "guardian role")?,
            ictg_name: r.r_ictg_name,
            closed_on: r.r_closed_on,
            final_outcome: parse_opt(r.r_final_outcome, FinalOutcome::parse, "outcome")?,
            close_note: r.r_close_note,
            org_id: r.r_org_id,
            created_by: r.r_created_by,
            created_at: r.r_created_at.0,
            updated_at: r.r_updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    #[sqlx(flatten)]
    referral: ReferralRow,
    #[sqlx(flatten)]
    person: PersonRow,
}

#[derive(sqlx::FromRow)]
struct ReconRow {
    id: Uuid,
    referral_id: Uuid,
    stage: String,
    requested_on: Date,
    requested_by: String,
    outcome: String,
    outcome_on: Option<Date>,
    org_id: Uuid,
    created_by: Uuid,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<ReconRow> for Reconsideration {
    type Error = Error;
    fn try_from(r: ReconRow) -> Result<Self> {
        Ok(Reconsideration {
            id: r.id,
            referral_id: r.referral_id,
            stage: Stage::parse(&r.stage).ok_or_else(|| corrupt("reconsideration stage"))?,
            requested_on: r.requested_on,
            requested_by: r.requested_by,
            outcome: ReconsiderationOutcome::parse(&r.outcome)
                .ok_or_else(|| corrupt("reconsideration outcome"))?,
            outcome_on: r.outcome_on,
            org_id: r.org_id,
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

fn exploitation_codes(r: &NrmReferral) -> String {
    r.exploitation
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

impl NrmRepo for Tx {
    async fn insert_nrm_referral(&mut self, r: &NrmReferral) -> Result<()> {
        let codes = exploitation_codes(r);
        on_both!(self, |c| sqlx::query(REFERRAL_INSERT)
            .bind(r.id)
            .bind(r.person_id)
            .bind(r.first_responder_org_id)
            .bind(&r.first_responder_name)
            .bind(&codes)
            .bind(r.county_lines)
            .bind(r.location.as_str())
            .bind(r.decision_maker.as_str())
            .bind(r.submitted_on)
            .bind(&r.home_office_ref)
            .bind(&r.narrative)
            .bind(r.rg_decision.map(Grounds::as_str))
            .bind(r.rg_decided_on)
            .bind(r.cg_decision.map(Grounds::as_str))
            .bind(r.cg_decided_on)
            .bind(r.ictg_referred_on)
            .bind(r.ictg_role.map(IctgRole::as_str))
            .bind(&r.ictg_name)
            .bind(r.closed_on)
            .bind(r.final_outcome.map(FinalOutcome::as_str))
            .bind(&r.close_note)
            .bind(r.org_id)
            .bind(r.created_by)
            .bind(DbTime(r.created_at))
            .bind(DbTime(r.updated_at))
            .execute(c)
            .await
            .map(|x| x.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_nrm_referral(&mut self, r: &NrmReferral) -> Result<()> {
        on_both!(self, |c| sqlx::query(REFERRAL_UPDATE)
            .bind(r.id)
            .bind(&r.narrative)
            .bind(r.rg_decision.map(Grounds::as_str))
            .bind(r.rg_decided_on)
            .bind(r.cg_decision.map(Grounds::as_str))
            .bind(r.cg_decided_on)
            .bind(r.ictg_referred_on)
            .bind(r.ictg_role.map(IctgRole::as_str))
            .bind(&r.ictg_name)
            .bind(r.closed_on)
            .bind(r.final_outcome.map(FinalOutcome::as_str))
            .bind(&r.close_note)
            .bind(DbTime(r.updated_at))
            .execute(c)
            .await
            .map(|x| x.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_nrm_referral(&mut self, id: Uuid) -> Result<Option<NrmReferral>> {
        let row = on_both!(self, |c| sqlx::query_as::<_, ReferralRow>(REFERRAL_BY_ID)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(NrmReferral::try_from).transpose()
    }

    async fn nrm_referrals_for(&mut self, person_id: Uuid) -> Result<Vec<NrmReferral>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReferralRow>(REFERRALS_FOR)
            .bind(person_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(NrmReferral::try_from).collect()
    }

    async fn insert_nrm_reconsideration(&mut self, q: &Reconsideration) -> Result<()> {
        on_both!(self, |c| sqlx::query(RECON_INSERT)
            .bind(q.id)
            .bind(q.referral_id)
            .bind(q.stage.as_str())
            .bind(q.requested_on)
            .bind(&q.requested_by)
            .bind(q.outcome.as_str())
            .bind(q.outcome_on)
            .bind(q.org_id)
            .bind(q.created_by)
            .bind(DbTime(q.created_at))
            .bind(DbTime(q.updated_at))
            .execute(c)
            .await
            .map(|x| x.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_nrm_reconsideration(&mut self, q: &Reconsideration) -> Result<()> {
        on_both!(self, |c| sqlx::query(RECON_UPDATE)
            .bind(q.id)
            .bind(q.outcome.as_str())
            .bind(q.outcome_on)
            .bind(DbTime(q.updated_at))
            .execute(c)
            .await
            .map(|x| x.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn nrm_reconsiderations(&mut self, referral_id: Uuid) -> Result<Vec<Reconsideration>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReconRow>(RECONS_OF)
            .bind(referral_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Reconsideration::try_from).collect()
    }

    async fn open_nrm_referrals(
        &mut self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<(NrmReferral, Person)>> {
        let Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } = scope
        else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, OpenRow>(REFERRALS_OPEN)
            .bind(limit)
            .bind("child")
            .bind(*org_id)
            .bind(*user_id)
            .bind(DbTime(*now))
            .bind(*police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    NrmReferral::try_from(r.referral)?,
                    Person::try_from(r.person)?,
                ))
            })
            .collect()
    }

    async fn all_nrm_referrals(&mut self) -> Result<Vec<NrmReferral>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, ReferralRow>(REFERRALS_ALL)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(NrmReferral::try_from).collect()
    }
}
