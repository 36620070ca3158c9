//! Demo data for `mace_domain::missing` (synthetic, never graphic), loaded once on first start.
//!
//! A place of concern (added by the police intelligence officer) and two earlier missing
//! episodes for Jayden Okoye in the last 90 days, recorded by his social worker through the same
//! services (and audit) as real work: the first with its return home interview held, the second
//! found at the place of concern, its interview still due (so a prompt to review his risk is
//! open and the interview shows on `/work/missing`).

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::cases;
use mace_domain::identity::model::Email;
use mace_domain::missing::{
    self, EpisodeCategory, EpisodeInput, FoundBy, FoundInput, Interviewer, MissingRisk, PlaceInput,
    Reporter, RhiStep,
};
use mace_domain::ports::{CaseRepo, IdentityRepo};
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use time::Duration;
use uuid::Uuid;

async fn actor(
    tx: &mut Tx,
    ctx: &Ctx,
    email: &str,
) -> mace_domain::Result<mace_domain::authz::Actor> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    let u = tx
        .find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))?;
    let now = ctx.clock.now();
    cases::load_actor(tx, &u, Some(now), now).await
}

/// The demo child with missing episodes, Jayden Okoye, found inside the social worker's scope
/// (a repository read: loading demo data is not anyone's consultation of the record).
async fn child(tx: &mut Tx, sw: &mace_domain::authz::Actor) -> mace_domain::Result<Uuid> {
    let scope = mace_domain::authz::scope(sw);
    tx.list_children(&scope, &mace_domain::person::fold("Okoye"), 20)
        .await?
        .into_iter()
        .find(|p| p.given_name == "Jayden" && p.family_name == "Okoye")
        .map(|p| p.id)
        .ok_or_else(|| Error::store("the demo child for missing episodes is missing"))
}

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let now = ctx.clock.now();
                let police = actor(tx, &ctx, "intel@police.demo.invalid").await?;
                missing::add_place(
                    &ctx,
                    tx,
                    &key,
                    &police,
                    &PlaceInput {
                        name: "Estuary Demo Retail Park car park".into(),
                        postcode: "RM20 3ZZ".into(),
                        note: "Young people seen being collected here by cars late at night \
                               (demo intelligence)."
                            .into(),
                        ..PlaceInput::default()
                    },
                )
                .await?;
                let sw = actor(tx, &ctx, "social.worker@csc.demo.invalid").await?;
                let id = child(tx, &sw).await?;
                // Six weeks ago: missing overnight, came home by himself; interview held.
                let first_reported = now - Duration::days(42);
                let first = missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id,
                    &EpisodeInput {
                        category: Some(EpisodeCategory::Missing),
                        reported_at: Some(first_reported),
                        reported_by: Some(Reporter::Parent),
                        reporter_name: "Grace Okoye (mother)".into(),
                        police_reference: "DEMO-0001".into(),
                        from_care: false,
                        placement: String::new(),
                        risk: Some(MissingRisk::Medium),
                        found: FoundInput {
                            found_at: Some(first_reported + Duration::hours(15)),
                            returned_at: Some(first_reported + Duration::hours(15)),
                            found_where:
                                "Came home in the morning; would not say where he had been".into(),
                            found_postcode: String::new(),
                            found_with: String::new(),
                            found_by: Some(FoundBy::ReturnedThemselves),
                            harm: String::new(),
                        },
                    },
                )
                .await?;
                missing::record_interview(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    first.id,
                    &RhiStep::Held {
                        at: Some(first_reported + Duration::hours(40)),
                        by: Some(Interviewer::IndependentService),
                        interviewer: "Estuary Demo Return Interview Service".into(),
                        independent: Some(true),
                        child_said: "Jayden said he stayed with older friends and that he was \
                                     given a lift back. He did not want to say more."
                            .into(),
                        follow_up: "Shared with his social worker; exploitation service contact \
                                    offered."
                            .into(),
                    },
                )
                .await?;
                // Two days ago: missing again, found by police at the place of concern; the
                // interview is still due.
                let second_reported = now - Duration::days(2) - Duration::hours(6);
                missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id,
                    &EpisodeInput {
                        category: Some(EpisodeCategory::Missing),
                        reported_at: Some(second_reported),
                        reported_by: Some(Reporter::Parent),
                        reporter_name: "Grace Okoye (mother)".into(),
                        police_reference: "DEMO-0002".into(),
                        from_care: false,
                        placement: String::new(),
                        risk: Some(MissingRisk::High),
                        found: FoundInput {
                            found_at: Some(second_reported + Duration::hours(20)),
                            returned_at: Some(second_reported + Duration::hours(21)),
                            found_where: "Retail park car park".into(),
                            found_postcode: "RM20 3ZZ".into(),
                            found_with: "Two older young people, not known to services".into(),
                            found_by: Some(FoundBy::Police),
                            harm: String::new(),
                        },
                    },
                )
                .await?;
                Ok(())
            })
        })
        .await
        .context("cannot create the demo missing episodes")
}
