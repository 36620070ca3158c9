//! Storage for `mace_domain::programmes` over both engines: programmes, cohorts, sessions,
//! members and attendance, and the look-ups of the referrals module's service directory that a
//! programme links to.

use crate::tx::{Inner, Tx, corrupt, db_err, on_both};
use crate::types::DbTime;
use mace_domain::person::Gender;
use mace_domain::ports::ProgrammeRepo;
use mace_domain::programmes::{
    Attendance, AttendanceMark, Cohort, CohortMember, CohortSession, MemberStatus, Programme,
    ProgrammeOutcome,
};
use mace_domain::{Error, Result};
use time::Date;
use uuid::Uuid;

macro_rules! programme_columns {
    () => {
        "id, name, org_id, description, min_age, max_age, genders, districts, \
     session_count, capacity, service_id, created_by, created_at"
    };
}

const PROGRAMME_INSERT: &str = "INSERT INTO programmes (id, name, org_id, description, min_age, max_age, genders, \
     districts, session_count, capacity, service_id, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

macro_rules! cohort_columns {
    () => {
        "c.id, c.programme_id, c.start_on, c.venue, c.facilitators, c.created_by, c.created_at"
    };
}
const COHORT_INSERT: &str = "INSERT INTO programme_cohorts (id, programme_id, start_on, venue, facilitators, \
     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

const SESSION_INSERT: &str = "INSERT INTO programme_sessions (id, cohort_id, number, held_on, topic) \
     VALUES ($1, $2, $3, $4, $5)";
macro_rules! session_columns {
    () => {
        "id, cohort_id, number, held_on, topic"
    };
}

macro_rules! member_columns {
    () => {
        "id, cohort_id, person_id, status, withdraw_reason, outcome, outcome_note, \
     safety_before, safety_after, org_id, added_by, added_at, updated_at"
    };
}
const MEMBER_INSERT: &str = "INSERT INTO programme_members (id, cohort_id, person_id, status, withdraw_reason, \
     outcome, outcome_note, safety_before, safety_after, org_id, added_by, added_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const MEMBER_UPDATE: &str = "UPDATE programme_members SET status = $2, withdraw_reason = $3, outcome = $4, \
     outcome_note = $5, safety_before = $6, safety_after = $7, updated_at = $8 WHERE id = $1";

/// Insert or replace one child's mark for one session (same SQL on both engines).
const ATTENDANCE_UPSERT: &str = "INSERT INTO programme_attendance (session_id, member_id, attendance, recorded_by, \
     recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id, member_id) DO UPDATE SET \
     attendance = excluded.attendance, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at";
macro_rules! attendance_columns {
    () => {
        "a.session_id, a.member_id, a.attendance, a.recorded_by, a.recorded_at"
    };
}

#[derive(sqlx::FromRow)]
struct ProgrammeRow {
    id: Uuid,
    name: String,
    org_id: Uuid,
    description: String,
    min_age: i32,
    max_age: i32,
    genders: String,
    districts: String,
    session_count: i32,
    capacity: i32,
    service_id: Option<Uuid>,
    created_by: Uuid,
    created_at: DbTime,
}

impl TryFrom<ProgrammeRow> for Programme {
    type Error = Error;
    fn try_from(r: ProgrammeRow) -> Result<Self> {
        Ok(Programme {
            id: r.id,
            name: r.name,
            org_id: r.org_id,
            description: r.description,
            min_age: r.min_age,
            max_age: r.max_age,
            genders: r
                .genders
                .split_whitespace()
                .map(|g| Gender::parse(g).ok_or_else(|| corrupt("programme gender")))
                .collect::<Result<_>>()?,
            districts: r.districts.split_whitespace().map(String::from).collect(),
            session_count: r.session_count,
            capacity: r.capacity,
            service_id: r.service_id,
            created_by: r.created_by,
            created_at: r.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CohortRow {
    id: Uuid,
    programme_id: Uuid,
    start_on: Date,
    venue: String,
    facilitators: String,
    created_by: Uuid,
    created_at: DbTime,
}

impl From<CohortRow> for Cohort {
    fn from(r: CohortRow) -> Self {
        Cohort {
            id: r.id,
            programme_id: r.programme_id,
            start_on: r.start_on,
            venue: r.venue,
            facilitators: r.facilitators,
            created_by: r.created_by,
            created_at: r.created_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    cohort_id: Uuid,
    number: i32,
    held_on: Date,
    topic: String,
}

impl From<SessionRow> for CohortSession {
    fn from(r: SessionRow) -> Self {
        CohortSession {
            id: r.id,
            cohort_id: r.cohort_id,
            number: r.number,
            held_on: r.held_on,
            topic: r.topic,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    cohort_id: Uuid,
    person_id: Uuid,
    status: String,
    withdraw_reason: Option<String>,
    outcome: Option<String>,
    outcome_note: String,
    safety_before: Option<i32>,
    safety_after: Option<i32>,
    org_id: Uuid,
    added_by: Uuid,
    added_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<MemberRow> for CohortMember {
    type Error = Error;
    fn try_from(r: MemberRow) -> Result<Self> {
        Ok(CohortMember {
            id: r.id,
            cohort_id: r.cohort_id,
            person_id: r.person_id,
            status: MemberStatus::parse(&r.status).ok_or_else(|| corrupt("member status"))?,
            withdraw_reason: r.withdraw_reason,
            outcome: r
                .outcome
                .map(|o| ProgrammeOutcome::parse(&o).ok_or_else(|| corrupt("programme outcome")))
                .transpose()?,
            outcome_note: r.outcome_note,
            safety_before: r.safety_before,
            safety_after: r.safety_after,
            org_id: r.org_id,
            added_by: r.added_by,
            added_at: r.added_at.0,
            updated_at: r.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AttendanceRow {
    session_id: Uuid,
    member_id: Uuid,
    attendance: String,
    recorded_by: Uuid,
    recorded_at: DbTime,
}

impl TryFrom<AttendanceRow> for AttendanceMark {
    type Error = Error;
    fn try_from(r: AttendanceRow) -> Result<Self> {
        Ok(AttendanceMark {
            session_id: r.session_id,
            member_id: r.member_id,
            attendance: Attendance::parse(&r.attendance).ok_or_else(|| corrupt("attendance"))?,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CountRow {
    cohort_id: Uuid,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: Uuid,
    name: String,
}

async fn cohorts(tx: &mut Tx, sql: &'static str, a: Uuid, b: Option<Date>) -> Result<Vec<Cohort>> {
    let rows = on_both!(tx, |c| {
        let q = sqlx::query_as::<_, CohortRow>(sql).bind(a);
        match b {
            Some(d) => q.bind(d).fetch_all(c).await,
            None => q.fetch_all(c).await,
        }
    })
    .map_err(db_err)?;
    Ok(rows.into_iter().map(Cohort::from).collect())
}

async fn members(tx: &mut Tx, sql: &'static str, id: Uuid) -> Result<Vec<CohortMember>> {
    let rows = on_both!(tx, |c| sqlx::query_as::<_, MemberRow>(sql)
        .bind(id)
        .fetch_all(c)
        .await)
    .map_err(db_err)?;
    rows.into_iter().map(CohortMember::try_from).collect()
}

async fn marks(tx: &mut Tx, sql: &'static str, id: Uuid) -> Result<Vec<AttendanceMark>> {
    let rows = on_both!(tx, |c| sqlx::query_as::<_, AttendanceRow>(sql)
        .bind(id)
        .fetch_all(c)
        .await)
    .map_err(db_err)?;
    rows.into_iter().map(AttendanceMark::try_from).collect()
}

impl ProgrammeRepo for Tx {
    async fn insert_programme(&mut self, p: &Programme) -> Result<()> {
        let genders = p
            .genders
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let districts = p.districts.join(" ");
        on_both!(self, |c| sqlx::query(PROGRAMME_INSERT)
            .bind(p.id)
            .bind(&p.name)
            .bind(p.org_id)
            .bind(&p.description)
            .bind(p.min_age)
            .bind(p.max_age)
            .bind(&genders)
            .bind(&districts)
            .bind(p.session_count)
            .bind(p.capacity)
            .bind(p.service_id)
            .bind(p.created_by)
            .bind(DbTime(p.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_programme(&mut self, id: Uuid) -> Result<Option<Programme>> {
        const SQL: &str = concat!(
            "SELECT ",
            programme_columns!(),
            " FROM programmes WHERE id = $1"
        );
        let row = on_both!(self, |c| sqlx::query_as::<_, ProgrammeRow>(SQL)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        row.map(Programme::try_from).transpose()
    }

    async fn list_programmes(&mut self) -> Result<Vec<Programme>> {
        const SQL: &str = concat!(
            "SELECT ",
            programme_columns!(),
            " FROM programmes ORDER BY name, id"
        );
        let rows = on_both!(self, |c| sqlx::query_as::<_, ProgrammeRow>(SQL)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Programme::try_from).collect()
    }

    async fn insert_cohort(&mut self, co: &Cohort) -> Result<()> {
        on_both!(self, |c| sqlx::query(COHORT_INSERT)
            .bind(co.id)
            .bind(co.programme_id)
            .bind(co.start_on)
            .bind(&co.venue)
            .bind(&co.facilitators)
            .bind(co.created_by)
            .bind(DbTime(co.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_cohort(&mut self, id: Uuid) -> Result<Option<Cohort>> {
        const SQL: &str = concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM programme_cohorts c WHERE c.id = $1"
        );
        Ok(cohorts(self, SQL, id, None).await?.into_iter().next())
    }

    async fn lock_cohort(&mut self, id: Uuid) -> Result<Option<Cohort>> {
        const SQLITE: &str = concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM programme_cohorts c WHERE c.id = $1"
        );
        const POSTGRES: &str = concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM programme_cohorts c WHERE c.id = $1 FOR UPDATE"
        );
        let sql = match &self.inner {
            Inner::Sqlite(_) => SQLITE,
            Inner::Postgres(_) => POSTGRES,
        };
        Ok(cohorts(self, sql, id, None).await?.into_iter().next())
    }

    async fn cohorts_of(&mut self, programme_id: Uuid) -> Result<Vec<Cohort>> {
        const SQL: &str = concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM programme_cohorts c WHERE c.programme_id = $1 \
             ORDER BY c.start_on, c.id"
        );
        cohorts(self, SQL, programme_id, None).await
    }

    async fn cohorts_run_by(&mut self, org_id: Uuid, from: Date) -> Result<Vec<Cohort>> {
        const SQL: &str = concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM programme_cohorts c JOIN programmes p ON p.id = c.programme_id \
             WHERE p.org_id = $1 AND c.start_on >= $2 ORDER BY c.start_on, c.id"
        );
        cohorts(self, SQL, org_id, Some(from)).await
    }

    async fn places_taken(&mut self, programme_id: Uuid) -> Result<Vec<(Uuid, i64)>> {
        const SQL: &str = "SELECT m.cohort_id, COUNT(*) AS n FROM programme_members m \
             JOIN programme_cohorts c ON c.id = m.cohort_id \
             WHERE c.programme_id = $1 AND m.status <> 'withdrew' GROUP BY m.cohort_id";
        let rows = on_both!(self, |c| sqlx::query_as::<_, CountRow>(SQL)
            .bind(programme_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.cohort_id, r.n)).collect())
    }

    async fn insert_session(&mut self, s: &CohortSession) -> Result<()> {
        on_both!(self, |c| sqlx::query(SESSION_INSERT)
            .bind(s.id)
            .bind(s.cohort_id)
            .bind(s.number)
            .bind(s.held_on)
            .bind(&s.topic)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_session(&mut self, id: Uuid) -> Result<Option<CohortSession>> {
        const SQL: &str = concat!(
            "SELECT ",
            session_columns!(),
            " FROM programme_sessions WHERE id = $1"
        );
        let row = on_both!(self, |c| sqlx::query_as::<_, SessionRow>(SQL)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.map(CohortSession::from))
    }

    async fn sessions_of(&mut self, cohort_id: Uuid) -> Result<Vec<CohortSession>> {
        const SQL: &str = concat!(
            "SELECT ",
            session_columns!(),
            " FROM programme_sessions WHERE cohort_id = $1 ORDER BY number"
        );
        let rows = on_both!(self, |c| sqlx::query_as::<_, SessionRow>(SQL)
            .bind(cohort_id)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(CohortSession::from).collect())
    }

    async fn insert_member(&mut self, m: &CohortMember) -> Result<()> {
        on_both!(self, |c| sqlx::query(MEMBER_INSERT)
            .bind(m.id)
            .bind(m.cohort_id)
            .bind(m.person_id)
            .bind(m.status.as_str())
            .bind(m.withdraw_reason.as_deref())
            .bind(m.outcome.map(|o| o.as_str()))
            .bind(&m.outcome_note)
            .bind(m.safety_before)
            .bind(m.safety_after)
            .bind(m.org_id)
            .bind(m.added_by)
            .bind(DbTime(m.added_at))
            .bind(DbTime(m.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn update_member(&mut self, m: &CohortMember) -> Result<()> {
        on_both!(self, |c| sqlx::query(MEMBER_UPDATE)
            .bind(m.id)
            .bind(m.status.as_str())
            .bind(m.withdraw_reason.as_deref())
            .bind(m.outcome.map(|o| o.as_str()))
            .bind(&m.outcome_note)
            .bind(m.safety_before)
            .bind(m.safety_after)
            .bind(DbTime(m.updated_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_member(&mut self, id: Uuid) -> Result<Option<CohortMember>> {
        const SQL: &str = concat!(
            "SELECT ",
            member_columns!(),
            " FROM programme_members WHERE id = $1"
        );
        Ok(members(self, SQL, id).await?.into_iter().next())
    }

    async fn members_of(&mut self, cohort_id: Uuid) -> Result<Vec<CohortMember>> {
        const SQL: &str = concat!(
            "SELECT ",
            member_columns!(),
            " FROM programme_members WHERE cohort_id = $1 ORDER BY added_at, id"
        );
        members(self, SQL, cohort_id).await
    }

    async fn memberships_of(&mut self, person_id: Uuid) -> Result<Vec<CohortMember>> {
        const SQL: &str = concat!(
            "SELECT ",
            member_columns!(),
            " FROM programme_members WHERE person_id = $1 \
             ORDER BY added_at DESC, id DESC"
        );
        members(self, SQL, person_id).await
    }

    async fn set_attendance(&mut self, a: &AttendanceMark) -> Result<()> {
        on_both!(self, |c| sqlx::query(ATTENDANCE_UPSERT)
            .bind(a.session_id)
            .bind(a.member_id)
            .bind(a.attendance.as_str())
            .bind(a.recorded_by)
            .bind(DbTime(a.recorded_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn attendance_of(&mut self, cohort_id: Uuid) -> Result<Vec<AttendanceMark>> {
        const SQL: &str = concat!(
            "SELECT ",
            attendance_columns!(),
            " FROM programme_attendance a \
             JOIN programme_sessions s ON s.id = a.session_id WHERE s.cohort_id = $1 \
             ORDER BY s.number, a.member_id"
        );
        marks(self, SQL, cohort_id).await
    }

    async fn member_attendance(&mut self, member_id: Uuid) -> Result<Vec<AttendanceMark>> {
        const SQL: &str = concat!(
            "SELECT ",
            attendance_columns!(),
            " FROM programme_attendance a \
             JOIN programme_sessions s ON s.id = a.session_id WHERE a.member_id = $1 \
             ORDER BY s.number"
        );
        marks(self, SQL, member_id).await
    }

    async fn service_name(&mut self, id: Uuid) -> Result<Option<String>> {
        const SQL: &str = "SELECT id, name FROM services WHERE id = $1";
        let row = on_both!(self, |c| sqlx::query_as::<_, ServiceRow>(SQL)
            .bind(id)
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.map(|r| r.name))
    }

    async fn linkable_services(&mut self) -> Result<Vec<(Uuid, String)>> {
        // Group programmes first: they are what a programme is usually referred through.
        const SQL: &str = "SELECT id, name FROM services \
             ORDER BY CASE WHEN kind = 'group_programme' THEN 0 ELSE 1 END, name, id";
        let rows = on_both!(self, |c| sqlx::query_as::<_, ServiceRow>(SQL)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
    }
}
