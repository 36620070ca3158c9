//! Demo data for `mace_domain::nrm` (synthetic, never graphic), loaded once on first start:
//! Jayden Okoye's referral, submitted three days ago with its reasonable grounds decision
//! awaited, and Amira Hussain's, with a positive reasonable grounds decision and the recovery
//! period running. Both are recorded through the domain services, so they are audited and in the
//! chronology like real work.

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::authz;
use mace_domain::cases;
use mace_domain::identity::model::Email;
use mace_domain::nrm::{
    self, DecisionInput, DecisionMaker, Exploitation, Grounds, IctgInput, ReferralInput, Stage,
    WhereExploited,
};
use mace_domain::ports::{CaseRepo, IdentityRepo};
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use time::Duration;
use uuid::Uuid;

const SOCIAL_WORKER: &str = "social.worker@csc.demo.invalid";
const EXPLOITATION_WORKER: &str = "worker@exploitation.demo.invalid";

async fn actor_for(tx: &mut Tx, ctx: &Ctx, email: &str) -> mace_domain::Result<authz::Actor> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    let user = tx
        .find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))?;
    let now = ctx.clock.now();
    cases::load_actor(tx, &user, Some(now), now).await
}

/// The demo child of this name that the actor's organisation can see.
async fn child_named(
    tx: &mut Tx,
    actor: &authz::Actor,
    given: &str,
    family: &str,
) -> mace_domain::Result<Option<Uuid>> {
    Ok(tx
        .list_children(&authz::scope(actor), "", 1_000)
        .await?
        .into_iter()
        .find(|p| p.given_name == given && p.family_name == family)
        .map(|p| p.id))
}

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let today = ctx.clock.now().date();
                let sw = actor_for(tx, &ctx, SOCIAL_WORKER).await?;
                // Jayden: referred by children's social care three days ago; RG decision awaited.
                if let Some(child) = child_named(tx, &sw, "Jayden", "Okoye").await? {
                    let input = ReferralInput {
                        first_responder_org_id: Some(sw.org_id),
                        first_responder_name: "Grace Adeyemi, social worker".into(),
                        exploitation: vec![Exploitation::Criminal],
                        county_lines: true,
                        location: Some(WhereExploited::Uk),
                        decision_maker: Some(DecisionMaker::DevolvedPanel),
                        submitted_on: Some(today - Duration::days(3)),
                        home_office_ref: "DEMO-NRM-0001".into(),
                        narrative: "Jayden has been found in another county twice with older \
                                    people who are not known to his family, and was carrying a \
                                    phone that is not his. He is being criminally exploited and \
                                    moved to sell drugs. He is now safe at home with a plan in \
                                    place."
                            .into(),
                    };
                    nrm::create_referral(&ctx, tx, &key, &sw, child, &input).await?;
                }
                // Amira: recorded by the exploitation service, referred by children's social
                // care; positive RG decision, guardian referral made.
                let worker = actor_for(tx, &ctx, EXPLOITATION_WORKER).await?;
                if let Some(child) = child_named(tx, &worker, "Amira", "Hussain").await? {
                    let submitted = today - Duration::days(20);
                    let input = ReferralInput {
                        first_responder_org_id: Some(sw.org_id),
                        first_responder_name: "Grace Adeyemi, social worker".into(),
                        exploitation: vec![Exploitation::Sexual],
                        county_lines: false,
                        location: Some(WhereExploited::Uk),
                        decision_maker: Some(DecisionMaker::Sca),
                        submitted_on: Some(submitted),
                        home_office_ref: "DEMO-NRM-0002".into(),
                        narrative: "An adult Amira met online gave her gifts and arranged for \
                                    her to travel to meet other adults. She is being sexually \
                                    exploited. She is safe and supported by the exploitation \
                                    service."
                            .into(),
                    };
                    let r = nrm::create_referral(&ctx, tx, &key, &worker, child, &input).await?;
                    let rg = DecisionInput {
                        stage: Some(Stage::Rg),
                        decision: Some(Grounds::Positive),
                        decided_on: Some(nrm::rg_due(submitted).min(today)),
                    };
                    nrm::record_decision(&ctx, tx, &key, &worker, r.id, &rg).await?;
                    let ictg = IctgInput {
                        referred_on: Some(submitted),
                        role: None,
                        name: String::new(),
                    };
                    nrm::record_ictg(&ctx, tx, &key, &worker, r.id, &ictg).await?;
                }
                Ok(())
            })
        })
        .await
        .context("cannot create the demo NRM referrals")
}
