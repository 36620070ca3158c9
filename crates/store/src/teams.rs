//! A team's work lists (`TeamRepo`): children allocated to any member of a team, and their
//! actions and assessments. Every query applies the viewer's scope (`in_scope!`, `$3`..`$6`)
//! and team membership in SQL, like the personal work lists.

use crate::assessments::{LineRow, assessment_columns, line_select};
use crate::cases::in_scope;
use crate::plans::{OwnedActionRow, action_columns, person_columns};
use crate::repos::PersonRow;
use crate::tx::{Tx, db_err, on_both, scope_parts};
use mace_domain::Result;
use mace_domain::assessment::AssessmentLine;
use mace_domain::authz::Scope;
use mace_domain::person::Person;
use mace_domain::plans::PlanAction;
use mace_domain::ports::TeamRepo;
use time::Date;
use uuid::Uuid;

/// The child `p` has an open allocation to a member of team `$1`.
macro_rules! team_child {
    () => {
        "EXISTS (SELECT 1 FROM allocations ta JOIN users tu ON tu.id = ta.user_id \
            WHERE ta.person_id = p.id AND ta.ended_at IS NULL AND tu.team_id = $1)"
    };
}

/// `$1` team, `$2` limit, `$3`..`$6` scope.
const TEAM_CASELOAD: &str = concat!(
    "SELECT p.id, p.kind, p.given_name, p.family_name, p.date_of_birth, p.dob_approximate, p.gender, \
     p.postcode, p.created_at, p.updated_at, ta.user_id AS member_id FROM people p \
     JOIN allocations ta ON ta.person_id = p.id AND ta.ended_at IS NULL \
     JOIN users tu ON tu.id = ta.user_id AND tu.team_id = $1 \
     WHERE p.kind = 'child' AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY p.family_name_folded, p.given_name_folded, p.id, tu.display_name, ta.user_id LIMIT $2"
);

/// `$1` team, `$2` limit, `$3`..`$6` scope.
const TEAM_ACTIONS: &str = concat!(
    "SELECT ",
    action_columns!(),
    ", ",
    person_columns!(),
    " FROM plan_actions a JOIN plans pl ON pl.id = a.plan_id JOIN people p ON p.id = pl.person_id \
     JOIN users tu ON tu.id = a.owner_user_id \
     WHERE tu.team_id = $1 AND a.status IN ('not_started', 'in_progress') \
       AND pl.closed_at IS NULL AND p.merged_into IS NULL AND ",
    in_scope!(),
    " ORDER BY a.due_on, a.id LIMIT $2"
);

/// `$1` team, `$2` limit, `$3`..`$6` scope, `$7` the last due date.
const TEAM_REVIEWS_DUE: &str = concat!(
    line_select!(),
    in_scope!(),
    " AND ",
    team_child!(),
    " AND a.status = 'signed_off' AND a.review_due <= $7 \
     AND NOT EXISTS (SELECT 1 FROM assessments b WHERE b.person_id = a.person_id AND b.status = 'signed_off' \
        AND (b.created_at > a.created_at OR (b.created_at = a.created_at AND b.id > a.id))) \
     ORDER BY a.review_due, a.id LIMIT $2"
);

/// `$1` team, `$2` limit, `$3`..`$6` scope.
const TEAM_AWAITING: &str = concat!(
    line_select!(),
    in_scope!(),
    " AND ",
    team_child!(),
    " AND a.status = 'submitted' ORDER BY a.created_at, a.id LIMIT $2"
);

#[derive(sqlx::FromRow)]
struct TeamCaseRow {
    #[sqlx(flatten)]
    person: PersonRow,
    member_id: Uuid,
}

impl Tx {
    async fn team_lines(
        &mut self,
        sql: &'static str,
        scope: &Scope,
        team_id: Uuid,
        by: Option<Date>,
    ) -> Result<Vec<AssessmentLine>> {
        let Some((org, user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| {
            let q = sqlx::query_as::<_, LineRow>(sql)
                .bind(team_id)
                .bind(mace_domain::teams::TEAM_LIST_LIMIT)
                .bind(org)
                .bind(user)
                .bind(now)
                .bind(police);
            match by {
                Some(d) => q.bind(d).fetch_all(c).await,
                None => q.fetch_all(c).await,
            }
        })
        .map_err(db_err)?;
        rows.into_iter().map(LineRow::into_line).collect()
    }
}

impl TeamRepo for Tx {
    async fn team_caseload(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(Person, Uuid)>> {
        let Some((org, user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, TeamCaseRow>(TEAM_CASELOAD)
            .bind(team_id)
            .bind(limit)
            .bind(org)
            .bind(user)
            .bind(now)
            .bind(police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| Ok((Person::try_from(r.person)?, r.member_id)))
            .collect()
    }

    async fn team_actions(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        limit: i64,
    ) -> Result<Vec<(PlanAction, Person)>> {
        let Some((org, user, now, police)) = scope_parts(scope) else {
            return Ok(Vec::new());
        };
        let rows = on_both!(self, |c| sqlx::query_as::<_, OwnedActionRow>(TEAM_ACTIONS)
            .bind(team_id)
            .bind(limit)
            .bind(org)
            .bind(user)
            .bind(now)
            .bind(police)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        rows.into_iter().map(OwnedActionRow::into_parts).collect()
    }

    async fn team_reviews_due(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
        by: Date,
    ) -> Result<Vec<AssessmentLine>> {
        self.team_lines(TEAM_REVIEWS_DUE, scope, team_id, Some(by))
            .await
    }

    async fn team_awaiting_sign_off(
        &mut self,
        scope: &Scope,
        team_id: Uuid,
    ) -> Result<Vec<AssessmentLine>> {
        self.team_lines(TEAM_AWAITING, scope, team_id, None).await
    }
}
