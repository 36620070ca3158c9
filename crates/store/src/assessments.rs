//! Risk assessment frameworks (each version with its indicators) and assessments with their
//! answers, over both engines; the work lists apply the viewer's scope in SQL.

use crate::cases::in_scope;
use crate::repos::PersonRow;
use crate::tx::{Tx, db_err, on_both};
use crate::types::DbTime;
use mace_domain::assessment::{
    Answer, Assessment, AssessmentLine, AssessmentStatus, Framework, Indicator, Presence,
    RiskLevel, Weight,
};
use mace_domain::authz::Scope;
use mace_domain::person::Person;
use mace_domain::ports::AssessmentRepo;
use mace_domain::{Error, Result};
use std::collections::HashMap;
use time::Date;
use uuid::Uuid;

fn corrupt(what: &str) -> Error {
    Error::store(format!("stored {what} is invalid"))
}

macro_rules! framework_select {
    () => {
        "SELECT id, version, name, high_at, medium_at, review_high, review_medium, review_low, \
         review_none, change_note, created_by, created_at FROM frameworks"
    };
}
const LATEST_FRAMEWORK: &str = concat!(framework_select!(), " ORDER BY version DESC LIMIT 1");
const FRAMEWORK_BY_ID: &str = concat!(framework_select!(), " WHERE id = $1");
const FRAMEWORKS: &str = concat!(framework_select!(), " ORDER BY version DESC");
const FRAMEWORK_INSERT: &str = "INSERT INTO frameworks (id, version, name, high_at, medium_at, review_high, review_medium, \
     review_low, review_none, change_note, created_by, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const INDICATOR_INSERT: &str = "INSERT INTO framework_indicators (framework_id, position, code, category, label, weight) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INDICATORS: &str = "SELECT framework_id, code, category, label, weight FROM framework_indicators \
     WHERE framework_id = $1 ORDER BY position";
/// Every version's indicators at once (the list of versions reads them in one query).
const ALL_INDICATORS: &str = "SELECT framework_id, code, category, label, weight FROM framework_indicators \
     ORDER BY framework_id, position";

macro_rules! assessment_columns {
    () => {
        "a.id, a.person_id, a.framework_id, a.status, a.learning_disability, a.suggested_level, a.judged_level, \
         a.rationale, a.child_views, a.family_views, a.assessor_id, a.assessor_org, a.created_at, a.signed_off_by, \
         a.signed_off_at, a.review_due"
    };
}

const ASSESSMENT_INSERT: &str = "INSERT INTO assessments (id, person_id, framework_id, status, learning_disability, \
     suggested_level, judged_level, rationale, child_views, family_views, assessor_id, assessor_org, created_at, \
     signed_off_by, signed_off_at, review_due) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
const ASSESSMENT_UPDATE: &str = "UPDATE assessments SET status = $2, signed_off_by = $3, signed_off_at = $4, \
     review_due = $5 WHERE id = $1";
const ANSWER_INSERT: &str = "INSERT INTO assessment_answers (assessment_id, code, answer, evidence, source_org, observed_on) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const ANSWERS: &str = "SELECT assessment_id, code, answer, evidence, source_org, observed_on \
     FROM assessment_answers WHERE assessment_id = $1";
/// The answers of all of one child's assessments at once.
const ANSWERS_FOR_PERSON: &str = "SELECT x.assessment_id, x.code, x.answer, x.evidence, x.source_org, x.observed_on \
     FROM assessment_answers x JOIN assessments a ON a.id = x.assessment_id WHERE a.person_id = $1";
const ASSESSMENT_BY_ID: &str = concat!(
    "SELECT ",
    assessment_columns!(),
    " FROM assessments a WHERE a.id = $1"
);
const ASSESSMENTS_FOR: &str = concat!(
    "SELECT ",
    assessment_columns!(),
    " FROM assessments a WHERE a.person_id = $1 ORDER BY a.created_at, a.id"
);

macro_rules! line_select {
    () => {
        concat!(
            "SELECT ",
            assessment_columns!(),
            ", p.id AS p_id, p.kind AS p_kind, p.given_name AS p_given_name, p.family_name AS p_family_name, \
             p.date_of_birth AS p_date_of_birth, p.dob_approximate AS p_dob_approximate, p.gender AS p_gender, \
             p.postcode AS p_postcode, p.created_at AS p_created_at, p.updated_at AS p_updated_at \
             FROM assessments a JOIN people p ON p.id = a.person_id WHERE p.merged_into IS NULL AND "
        )
    };
}

pub(crate) use {assessment_columns, line_select};

/// `$1` the last due date, `$2` the row limit; the scope is `$3`..`$6`.
const REVIEWS_DUE: &str = concat!(
    line_select!(),
    in_scope!(),
    " AND a.status = 'signed_off' AND a.review_due <= $1 \
     AND NOT EXISTS (SELECT 1 FROM assessments b WHERE b.person_id = a.person_id AND b.status = 'signed_off' \
        AND (b.created_at > a.created_at OR (b.created_at = a.created_at AND b.id > a.id))) \
     ORDER BY a.review_due, a.id LIMIT $2"
);

/// `$1` the status awaited, `$2` the row limit; the scope is `$3`..`$6`.
const AWAITING: &str = concat!(
    line_select!(),
    in_scope!(),
    " AND a.status = $1 ORDER BY a.created_at, a.id LIMIT $2"
);

/// `$1` true (the lead flag), `$2` the row limit; the scope is `$3`..`$6`.
const CASELOAD: &str = concat!(
    "SELECT p.id, p.kind, p.given_name, p.family_name, p.date_of_birth, p.dob_approximate, p.gender, \
     p.postcode, p.created_at, p.updated_at FROM people p \
     WHERE p.kind = 'child' AND p.merged_into IS NULL AND ",
    in_scope!(),
    " AND (EXISTS (SELECT 1 FROM allocations a WHERE a.person_id = p.id AND a.user_id = $4 AND a.ended_at IS NULL) \
        OR EXISTS (SELECT 1 FROM involvements i WHERE i.person_id = p.id AND i.org_id = $3 AND i.is_lead = $1)) \
     ORDER BY p.family_name_folded, p.given_name_folded, p.id LIMIT $2"
);

#[derive(sqlx::FromRow)]
struct FrameworkRow {
    id: Uuid,
    version: i32,
    name: String,
    high_at: i32,
    medium_at: i32,
    review_high: i32,
    review_medium: i32,
    review_low: i32,
    review_none: i32,
    change_note: String,
    created_by: Option<Uuid>,
    created_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct IndicatorRow {
    framework_id: Uuid,
    code: String,
    category: String,
    label: String,
    weight: String,
}

#[derive(sqlx::FromRow)]
struct AssessmentRow {
    id: Uuid,
    person_id: Uuid,
    framework_id: Uuid,
    status: String,
    learning_disability: bool,
    suggested_level: String,
    judged_level: String,
    rationale: String,
    child_views: String,
    family_views: String,
    assessor_id: Uuid,
    assessor_org: Uuid,
    created_at: DbTime,
    signed_off_by: Option<Uuid>,
    signed_off_at: Option<DbTime>,
    review_due: Option<Date>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LineRow {
    #[sqlx(flatten)]
    a: AssessmentRow,
    p_id: Uuid,
    p_kind: String,
    p_given_name: String,
    p_family_name: String,
    p_date_of_birth: Option<Date>,
    p_dob_approximate: bool,
    p_gender: String,
    p_postcode: Option<String>,
    p_created_at: DbTime,
    p_updated_at: DbTime,
}

#[derive(sqlx::FromRow)]
struct AnswerRow {
    assessment_id: Uuid,
    code: String,
    answer: String,
    evidence: String,
    source_org: Option<Uuid>,
    observed_on: Option<Date>,
}

impl AssessmentRow {
    fn into_domain(self, answers: Vec<Answer>) -> Result<Assessment> {
        let level = |s: &str| RiskLevel::parse(s).ok_or_else(|| corrupt("risk level"));
        Ok(Assessment {
            id: self.id,
            person_id: self.person_id,
            framework_id: self.framework_id,
            status: AssessmentStatus::parse(&self.status)
                .ok_or_else(|| corrupt("assessment status"))?,
            learning_disability: self.learning_disability,
            suggested_level: level(&self.suggested_level)?,
            judged_level: level(&self.judged_level)?,
            rationale: self.rationale,
            child_views: self.child_views,
            family_views: self.family_views,
            assessor_id: self.assessor_id,
            assessor_org: self.assessor_org,
            created_at: self.created_at.0,
            signed_off_by: self.signed_off_by,
            signed_off_at: self.signed_off_at.map(|t| t.0),
            review_due: self.review_due,
            answers,
        })
    }
}

impl LineRow {
    pub(crate) fn into_line(self) -> Result<AssessmentLine> {
        let child = Person::try_from(PersonRow {
            id: self.p_id,
            kind: self.p_kind,
            given_name: self.p_given_name,
            family_name: self.p_family_name,
            date_of_birth: self.p_date_of_birth,
            dob_approximate: self.p_dob_approximate,
            gender: self.p_gender,
            postcode: self.p_postcode,
            created_at: self.p_created_at,
            updated_at: self.p_updated_at,
        })?;
        Ok(AssessmentLine {
            assessment: self.a.into_domain(Vec::new())?,
            child,
        })
    }
}

impl Tx {
    /// The versions `sql` selects (bound to `id` when given), each with its indicators, read
    /// in one more query (all indicators when listing every version).
    async fn frameworks_where(
        &mut self,
        sql: &'static str,
        id: Option<Uuid>,
    ) -> Result<Vec<Framework>> {
        let rows = on_both!(self, |c| {
            let q = sqlx::query_as::<_, FrameworkRow>(sql);
            match id {
                Some(id) => q.bind(id).fetch_all(c).await,
                None => q.fetch_all(c).await,
            }
        })
        .map_err(db_err)?;
        let indicators = match rows.as_slice() {
            [] => Vec::new(),
            [one] => {
                let fid = one.id;
                on_both!(self, |c| sqlx::query_as::<_, IndicatorRow>(INDICATORS)
                    .bind(fid)
                    .fetch_all(c)
                    .await)
                .map_err(db_err)?
            }
            _ => on_both!(self, |c| sqlx::query_as::<_, IndicatorRow>(ALL_INDICATORS)
                .fetch_all(c)
                .await)
            .map_err(db_err)?,
        };
        let mut by_framework: HashMap<Uuid, Vec<Indicator>> = HashMap::new();
        for i in indicators {
            by_framework
                .entry(i.framework_id)
                .or_default()
                .push(Indicator {
                    code: i.code,
                    category: i.category,
                    label: i.label,
                    weight: Weight::parse(&i.weight).ok_or_else(|| corrupt("indicator weight"))?,
                });
        }
        Ok(rows
            .into_iter()
            .map(|r| Framework {
                indicators: by_framework.remove(&r.id).unwrap_or_default(),
                id: r.id,
                version: r.version,
                name: r.name,
                high_at: r.high_at,
                medium_at: r.medium_at,
                review_days: [r.review_high, r.review_medium, r.review_low, r.review_none],
                change_note: r.change_note,
                created_by: r.created_by,
                created_at: r.created_at.0,
            })
            .collect())
    }

    /// Assessments with their answers, read by `sql` (`ANSWERS` or `ANSWERS_FOR_PERSON`) bound to
    /// `key` in one query.
    async fn with_answers(
        &mut self,
        rows: Vec<AssessmentRow>,
        sql: &'static str,
        key: Uuid,
    ) -> Result<Vec<Assessment>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let found = on_both!(self, |c| sqlx::query_as::<_, AnswerRow>(sql)
            .bind(key)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        let mut by_assessment: HashMap<Uuid, Vec<Answer>> = HashMap::new();
        for x in found {
            by_assessment
                .entry(x.assessment_id)
                .or_default()
                .push(Answer {
                    code: x.code,
                    presence: Presence::parse(&x.answer).ok_or_else(|| corrupt("answer"))?,
                    evidence: x.evidence,
                    source_org: x.source_org,
                    observed_on: x.observed_on,
                });
        }
        rows.into_iter()
            .map(|r| {
                let answers = by_assessment.remove(&r.id).unwrap_or_default();
                r.into_domain(answers)
            })
            .collect()
    }

    async fn lines(
        &mut self,
        sql: &'static str,
        scope: &Scope,
        first: LineKey<'_>,
    ) -> Result<Vec<AssessmentLine>> {
        let Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } = scope
        else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| {
            let q = sqlx::query_as::<_, LineRow>(sql);
            let q = match first {
                LineKey::Date(d) => q.bind(d),
                LineKey::Status(s) => q.bind(s),
            };
            q.bind(500_i64)
                .bind(*org_id)
                .bind(*user_id)
                .bind(DbTime(*now))
                .bind(*police)
                .fetch_all(c)
                .await
        })
        .map_err(db_err)?;
        rows.into_iter().map(LineRow::into_line).collect()
    }
}

/// The first parameter of a work-list query.
#[derive(Clone, Copy)]
enum LineKey<'a> {
    Date(Date),
    Status(&'a str),
}

impl AssessmentRepo for Tx {
    async fn latest_framework(&mut self) -> Result<Option<Framework>> {
        Ok(self
            .frameworks_where(LATEST_FRAMEWORK, None)
            .await?
            .into_iter()
            .next())
    }

    async fn get_framework(&mut self, id: Uuid) -> Result<Option<Framework>> {
        Ok(self
            .frameworks_where(FRAMEWORK_BY_ID, Some(id))
            .await?
            .into_iter()
            .next())
    }

    async fn list_frameworks(&mut self) -> Result<Vec<Framework>> {
        self.frameworks_where(FRAMEWORKS, None).await
    }

    async fn insert_framework(&mut self, f: &Framework) -> Result<()> {
        on_both!(self, |c| sqlx::query(FRAMEWORK_INSERT)
            .bind(f.id)
            .bind(f.version)
            .bind(&f.name)
            .bind(f.high_at)
            .bind(f.medium_at)
            .bind(f.review_days[0])
            .bind(f.review_days[1])
            .bind(f.review_days[2])
            .bind(f.review_days[3])
            .bind(&f.change_note)
            .bind(f.created_by)
            .bind(DbTime(f.created_at))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        for (n, i) in f.indicators.iter().enumerate() {
            on_both!(self, |c| sqlx::query(INDICATOR_INSERT)
                .bind(f.id)
                .bind(n as i32)
                .bind(&i.code)
                .bind(&i.category)
                .bind(&i.label)
                .bind(i.weight.as_str())
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn insert_assessment(&mut self, a: &Assessment) -> Result<()> {
        on_both!(self, |c| sqlx::query(ASSESSMENT_INSERT)
            .bind(a.id)
            .bind(a.person_id)
            .bind(a.framework_id)
            .bind(a.status.as_str())
            .bind(a.learning_disability)
            .bind(a.suggested_level.as_str())
            .bind(a.judged_level.as_str())
            .bind(&a.rationale)
            .bind(&a.child_views)
            .bind(&a.family_views)
            .bind(a.assessor_id)
            .bind(a.assessor_org)
            .bind(DbTime(a.created_at))
            .bind(a.signed_off_by)
            .bind(a.signed_off_at.map(DbTime))
            .bind(a.review_due)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_err)?;
        for x in &a.answers {
            on_both!(self, |c| sqlx::query(ANSWER_INSERT)
                .bind(a.id)
                .bind(&x.code)
                .bind(x.presence.as_str())
                .bind(&x.evidence)
                .bind(x.source_org)
                .bind(x.observed_on)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn update_assessment(&mut self, a: &Assessment) -> Result<()> {
        on_both!(self, |c| sqlx::query(ASSESSMENT_UPDATE)
            .bind(a.id)
            .bind(a.status.as_str())
            .bind(a.signed_off_by)
            .bind(a.signed_off_at.map(DbTime))
            .bind(a.review_due)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
        .map(|_| ())
        .map_err(db_err)
    }

    async fn get_assessment(&mut self, id: Uuid) -> Result<Option<Assessment>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, AssessmentRow>(
            ASSESSMENT_BY_ID
        )
        .bind(id)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        Ok(self
            .with_answers(rows, ANSWERS, id)
            .await?
            .into_iter()
            .next())
    }

    async fn assessments_for(&mut self, person_id: Uuid) -> Result<Vec<Assessment>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, AssessmentRow>(
            ASSESSMENTS_FOR
        )
        .bind(person_id)
        .fetch_all(c)
        .await)
        .map_err(db_err)?;
        self.with_answers(rows, ANSWERS_FOR_PERSON, person_id).await
    }

    async fn reviews_due(&mut self, scope: &Scope, by: Date) -> Result<Vec<AssessmentLine>> {
        self.lines(REVIEWS_DUE, scope, LineKey::Date(by)).await
    }

    async fn caseload(&mut self, scope: &Scope) -> Result<Vec<Person>> {
        let Scope::Related {
            org_id,
            user_id,
            now,
            police,
        } = scope
        else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, PersonRow>(CASELOAD)
            .bind(true)
            .bind(500_i64)
            .bind(*org_id)
            .bind(*user_id)
            .bind(DbTime(*now))
            .bind(*police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(Person::try_from).collect()
    }

    async fn awaiting_sign_off(&mut self, scope: &Scope) -> Result<Vec<AssessmentLine>> {
        self.lines(
            AWAITING,
            scope,
            LineKey::Status(AssessmentStatus::Submitted.as_str()),
        )
        .await
    }
}
