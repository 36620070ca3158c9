//! A team manager's view of their team's work (issue 5, "for each role and team"): the children
//! allocated to any member of the manager's team, the team members' open plan actions, and the
//! assessment reviews and sign-offs for those children. Every list is also filtered by the
//! manager's own scope inside the query, so a team child the manager may not open never shows.
//!
//! Only a team manager whose account is in a team may see it; anyone else is refused and the
//! refusal recorded.

use crate::Ctx;
use crate::assessment::AssessmentLine;
use crate::audit::{Category, ChainKey};
use crate::authz::{self, Actor, Role, Scope};
use crate::error::{Error, Result};
use crate::identity::model::Team;
use crate::person::Person;
use crate::plans::ActionLine;
use crate::ports::{AuditLog, IdentityRepo, TeamRepo};
use serde::Serialize;
use time::Duration;
use uuid::Uuid;

/// Most rows any one team list returns.
pub const TEAM_LIST_LIMIT: i64 = 500;

/// A child on the team's caseload and the members it is allocated to.
#[derive(Debug, Clone, Serialize)]
pub struct TeamCase {
    pub child: Person,
    /// The team members holding an open allocation (user ids, in the order found).
    pub workers: Vec<Uuid>,
}

/// A member of the team.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
}

/// The team's work lists.
#[derive(Debug, Clone, Serialize)]
pub struct TeamWork {
    pub team: Team,
    pub members: Vec<Member>,
    pub caseload: Vec<TeamCase>,
    /// Open actions named to a member, open plans only; overdue marked.
    pub actions: Vec<ActionLine>,
    pub reviews_overdue: Vec<AssessmentLine>,
    /// Due within the reminder window.
    pub reviews_due: Vec<AssessmentLine>,
    pub awaiting_sign_off: Vec<AssessmentLine>,
}

impl TeamWork {
    pub fn member_name(&self, id: Uuid) -> &str {
        self.members
            .iter()
            .find(|m| m.id == id)
            .map_or("", |m| m.name.as_str())
    }
}

/// Which team the actor manages, or the reason they may not see a team's lists.
async fn managed_team<R: IdentityRepo>(
    tx: &mut R,
    actor: &Actor,
) -> Result<std::result::Result<Team, &'static str>> {
    if !actor.has(Role::TeamManager) || authz::scope(actor) == Scope::Nothing {
        return Ok(Err("not_team_manager"));
    }
    let Some(team_id) = tx.get_user(actor.user_id).await?.and_then(|u| u.team_id) else {
        return Ok(Err("no_team"));
    };
    Ok(tx
        .list_teams(actor.org_id)
        .await?
        .into_iter()
        .find(|t| t.id == team_id)
        .ok_or("no_team"))
}

/// The team manager's team work lists; reviews are due within `soon` of the clock's date.
/// Audited as a consultation; a refusal is recorded (`authz_denied`) and answered `Forbidden`.
pub async fn team_work<R: TeamRepo + IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    soon: Duration,
) -> Result<TeamWork> {
    let team = match managed_team(tx, actor).await? {
        Ok(t) => t,
        Err(reason) => {
            crate::cases::record_refusal(
                ctx,
                tx,
                key,
                actor,
                "work.team",
                actor.user_id,
                "user",
                Some(format!("{{\"reason\":\"{reason}\"}}")),
            )
            .await?;
            return Err(Error::Forbidden {
                reason: reason.into(),
            });
        }
    };
    let scope = authz::scope(actor);
    let today = ctx.clock.now().date();
    let members = tx
        .list_users(Some(team.org_id))
        .await?
        .into_iter()
        .filter(|u| u.team_id == Some(team.id))
        .map(|u| Member {
            id: u.id,
            name: u.display_name,
        })
        .collect();
    let mut caseload: Vec<TeamCase> = Vec::new();
    for (child, worker) in tx.team_caseload(&scope, team.id, TEAM_LIST_LIMIT).await? {
        match caseload.iter_mut().find(|c| c.child.id == child.id) {
            Some(c) => c.workers.push(worker),
            None => caseload.push(TeamCase {
                child,
                workers: vec![worker],
            }),
        }
    }
    let actions: Vec<ActionLine> = tx
        .team_actions(&scope, team.id, TEAM_LIST_LIMIT)
        .await?
        .into_iter()
        .map(|(action, child)| ActionLine {
            overdue: action.overdue(today),
            action,
            child,
        })
        .collect();
    let (reviews_overdue, reviews_due): (Vec<_>, Vec<_>) = tx
        .team_reviews_due(&scope, team.id, today + soon)
        .await?
        .into_iter()
        .partition(|l| l.assessment.review_due.is_some_and(|d| d < today));
    let awaiting_sign_off = tx.team_awaiting_sign_off(&scope, team.id).await?;
    let mut e = crate::cases::untargeted(ctx, actor, Category::Consultation, "work.team");
    e.detail = Some(format!(
        "{{\"team\":\"{}\",\"caseload\":{},\"actions\":{},\"overdue\":{},\"due\":{},\"awaiting\":{}}}",
        team.id,
        caseload.len(),
        actions.len(),
        reviews_overdue.len(),
        reviews_due.len(),
        awaiting_sign_off.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(TeamWork {
        team,
        members,
        caseload,
        actions,
        reviews_overdue,
        reviews_due,
        awaiting_sign_off,
    })
}
