//! Demo data for `mace_domain::intelligence` (synthetic, never graphic), loaded once on first start.
//!
//! Two partner reports naming the same made-up car (`MA19 XYZ`), a young adult who calls
//! himself "T", a phone in Ofcom's drama range and a place: one from the school's safeguarding
//! lead about Jayden Okoye, graded and linked by the police intelligence officer; one from the
//! exploitation worker about Amira Hussain, still waiting in the police inbox. Everything goes
//! through the domain services, so it is audited like real work.

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::authz::Actor;
use mace_domain::cases;
use mace_domain::identity::model::Email;
use mace_domain::intelligence::{
    self, GradeInput, HandlingCode, HowKnown, IntelAssessment, ItemInput, ItemKind, ItemLink,
    SourceEvaluation, SubmissionInput,
};
use mace_domain::ports::{CaseRepo, IdentityRepo, IntelligenceRepo};
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use time::Duration;
use uuid::Uuid;

async fn actor(tx: &mut Tx, ctx: &Ctx, email: &str) -> mace_domain::Result<Actor> {
    let email = Email::parse(email).map_err(|e| Error::Validation(vec![e]))?;
    let u = tx
        .find_user_by_email(&email)
        .await?
        .ok_or_else(|| Error::store("a demo account is missing"))?;
    let now = ctx.clock.now();
    cases::load_actor(tx, &u, Some(now), now).await
}

/// A demo child inside the actor's scope (a repository read: loading demo data is not anyone's
/// consultation of the record).
async fn child(tx: &mut Tx, a: &Actor, given: &str, family: &str) -> mace_domain::Result<Uuid> {
    let scope = mace_domain::authz::scope(a);
    tx.list_children(&scope, &mace_domain::person::fold(family), 20)
        .await?
        .into_iter()
        .find(|p| p.given_name == given && p.family_name == family)
        .map(|p| p.id)
        .ok_or_else(|| Error::store("a demo child for intelligence is missing"))
}

fn item(kind: ItemKind, value: &str, detail: &str) -> ItemInput {
    ItemInput {
        kind: Some(kind),
        value: value.into(),
        detail: detail.into(),
        latitude: None,
        longitude: None,
    }
}

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let now = ctx.clock.now();
                let dsl = actor(tx, &ctx, "dsl@school.demo.invalid").await?;
                let jayden = child(tx, &dsl, "Jayden", "Okoye").await?;
                let mut place = item(
                    ItemKind::Place,
                    "The parade by Grays station",
                    "Where the car waits after school",
                );
                place.latitude = Some(51.4760);
                place.longitude = Some(0.3220);
                let first = intelligence::submit(
                    &ctx,
                    tx,
                    &key,
                    &dsl,
                    &SubmissionInput {
                        observed_from: Some(now - Duration::days(5)),
                        observed_to: Some(now - Duration::days(2)),
                        how_known: Some(HowKnown::SawOrHeard),
                        narrative: "Staff on gate duty saw Jayden collected after school on three \
                                    days this week by a young adult in a white hatchback. Other \
                                    pupils say the driver calls himself T."
                            .into(),
                        items: vec![
                            item(ItemKind::Vehicle, "MA19 XYZ", "White hatchback"),
                            item(ItemKind::Person, "T", "Calls himself T, about 20, slim"),
                            place,
                        ],
                        children: vec![jayden],
                    },
                )
                .await?;
                let police = actor(tx, &ctx, "intel@police.demo.invalid").await?;
                intelligence::grade(
                    &ctx,
                    tx,
                    &key,
                    &police,
                    first.id,
                    &GradeInput {
                        source_evaluation: Some(SourceEvaluation::Reliable),
                        intelligence_assessment: Some(IntelAssessment::KnownDirectly),
                        handling_code: Some(HandlingCode::Conditions),
                        conditions: "Not to be shared with the child's family or the child".into(),
                        sanitised: "A white hatchback has been seen collecting a young person \
                                    near a school in Grays after school."
                            .into(),
                    },
                )
                .await?;
                let links: Vec<ItemLink> = tx
                    .intel_items(first.id)
                    .await?
                    .into_iter()
                    .map(|i| ItemLink {
                        item_id: i.id,
                        link: true,
                        fix: String::new(),
                        person_id: None,
                    })
                    .collect();
                intelligence::link(&ctx, tx, &key, &police, first.id, &links).await?;

                let worker = actor(tx, &ctx, "worker@exploitation.demo.invalid").await?;
                let amira = child(tx, &worker, "Amira", "Hussain").await?;
                intelligence::submit(
                    &ctx,
                    tx,
                    &key,
                    &worker,
                    &SubmissionInput {
                        observed_from: Some(now - Duration::days(1)),
                        observed_to: None,
                        how_known: Some(HowKnown::ToldByChild),
                        narrative: "Amira said an older male she knows as T gave her a phone \
                                    number to message and has offered her lifts in a white car."
                            .into(),
                        items: vec![
                            item(ItemKind::Person, "T", "Older male, known only as T"),
                            item(
                                ItemKind::Phone,
                                "07700 900461",
                                "The number Amira was given",
                            ),
                            item(
                                ItemKind::Vehicle,
                                "MA19 XYZ",
                                "White car, as Amira described it",
                            ),
                        ],
                        children: vec![amira],
                    },
                )
                .await?;
                Ok(())
            })
        })
        .await
        .context("cannot create the demo intelligence")
}
