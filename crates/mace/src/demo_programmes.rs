//! Demo data for `mace_domain::programmes` (synthetic, never graphic), loaded once on first start:
//! the exploitation service's seven-week peer programme for young women aged 13 to 16 (created by
//! the partnership manager, linked to the directory's service of the same purpose when the
//! directory has it), one cohort of weekly sessions that started three weeks ago, and places for
//! the demo children the service already works with, with attendance for the sessions held.
//! Everything goes through the domain services, so it is audited and in the chronology.

use anyhow::{Context, Result};
use mace_domain::Ctx;
use mace_domain::Error;
use mace_domain::audit::ChainKey;
use mace_domain::cases;
use mace_domain::identity::model::{Email, User};
use mace_domain::person::{Gender, Person};
use mace_domain::ports::{CaseRepo, IdentityRepo, PersonRepo, ProgrammeRepo};
use mace_domain::programmes::{self, Attendance, CohortInput, ProgrammeInput};
use mace_store::{Store, Tx};
use time::Duration;

const RUNNING_ORG: &str = "Estuary Exploitation Service";
const SERVICE_NAME: &str = "Peer programme for young women aged 13 to 16";
/// Demo children the service works with (given, family name), offered a place if eligible.
const MEMBERS: &[(&str, &str)] = &[("Amira", "Hussain"), ("Kayleigh", "Harrison")];
const TOPICS: &[&str] = &[
    "Getting to know each other and agreeing how the group works",
    "Healthy and unhealthy relationships",
    "Staying safe online",
    "Pressure, gifts and being groomed: spotting the signs",
    "Who can help: trusted adults and services",
    "Confidence and saying no",
    "Looking ahead and celebrating",
];

async fn user(tx: &mut Tx, email: &str) -> mace_domain::Result<User> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    tx.find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))
}

/// A demo child by exact name (not merged away), if recorded.
async fn demo_child(tx: &mut Tx, given: &str, family: &str) -> mace_domain::Result<Option<Person>> {
    let initial = |s: &str| s.chars().next().map(|c| c.to_lowercase().to_string());
    let (Some(f), Some(g)) = (initial(family), initial(given)) else {
        return Ok(None);
    };
    Ok(tx
        .match_pool(&f, &g, &[], 5_000)
        .await?
        .into_iter()
        .find(|p| p.given_name == given && p.family_name == family))
}

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    let added = store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let now = ctx.clock.now();
                let manager = user(tx, "manager@partnership.demo.invalid").await?;
                let manager = cases::load_actor(tx, &manager, Some(now), now).await?;
                let worker = user(tx, "worker@exploitation.demo.invalid").await?;
                let worker = cases::load_actor(tx, &worker, Some(now), now).await?;
                let org = tx
                    .list_orgs()
                    .await?
                    .into_iter()
                    .find(|o| o.name == RUNNING_ORG)
                    .ok_or_else(|| Error::store("the demo exploitation service is missing"))?;
                let service_id = tx
                    .linkable_services()
                    .await?
                    .into_iter()
                    .find(|(_, name)| name == SERVICE_NAME)
                    .map(|(id, _)| id);
                let programme = programmes::create_programme(
                    &ctx,
                    tx,
                    &key,
                    &manager,
                    &ProgrammeInput {
                        name: "Peer programme for young women".into(),
                        org_id: Some(org.id),
                        description: "Seven weekly after-school group sessions for young women \
                                      aged 13 to 16 about healthy relationships, online safety \
                                      and where to get help, with a peer mentor who has been \
                                      through the programme."
                            .into(),
                        min_age: Some(13),
                        max_age: Some(16),
                        genders: vec![Gender::Female],
                        districts: Vec::new(),
                        session_count: Some(7),
                        capacity: Some(8),
                        service_id,
                    },
                )
                .await?;
                let start = now.date() - Duration::weeks(3);
                let (cohort, sessions) = programmes::create_cohort(
                    &ctx,
                    tx,
                    &key,
                    &worker,
                    programme.id,
                    &CohortInput {
                        start_on: Some(start),
                        venue: "Southend youth centre, group room".into(),
                        facilitators: "Leah Morgan (exploitation worker) and a peer mentor".into(),
                        topics: TOPICS.iter().map(|t| (*t).to_string()).collect(),
                        sessions: Vec::new(),
                    },
                )
                .await?;
                let mut members = Vec::new();
                for (given, family) in MEMBERS {
                    let Some(child) = demo_child(tx, given, family).await? else {
                        continue;
                    };
                    // Only a child the service already works with (a legitimate relationship),
                    // and only if eligible on the start date.
                    let involved = tx
                        .involvements(child.id)
                        .await?
                        .iter()
                        .any(|i| i.org_id == org.id);
                    if !involved || !programme.eligibility(&child, start).is_empty() {
                        continue;
                    }
                    let m = programmes::add_member(&ctx, tx, &key, &worker, cohort.id, child.id)
                        .await?;
                    members.push(m);
                }
                let today = now.date();
                for (n, s) in sessions.iter().filter(|s| s.held_on <= today).enumerate() {
                    let marks: Vec<_> = members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            // The second child missed the second session for a medical
                            // appointment; everyone else came.
                            let a = if i == 1 && n == 1 {
                                Attendance::Excused
                            } else {
                                Attendance::Attended
                            };
                            (m.id, a)
                        })
                        .collect();
                    if !marks.is_empty() {
                        programmes::record_attendance(&ctx, tx, &key, &worker, s.id, &marks)
                            .await?;
                    }
                }
                Ok(members.len())
            })
        })
        .await
        .context("cannot load the demo group programme")?;
    tracing::info!(places = added, "demo group programme loaded");
    Ok(())
}
