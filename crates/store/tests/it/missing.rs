//! Missing episodes on both engines: episodes (with the return home interview) round-trip; the
//! work list of open episodes applies the viewer's scope in SQL; the services raise a prompt on
//! the third episode within 90 days (not when the first is older) and when a child is found at a
//! place of concern (full postcode or district).

use super::merges::setup;
use mace_domain::audit::ChainKey;
use mace_domain::authz::{Actor, Scope};
use mace_domain::missing::{
    self, Episode, EpisodeCategory, EpisodeInput, FoundBy, FoundInput, Interviewer, MissingRisk,
    PlaceOfConcern, PromptReason, Reporter, ReturnInterview,
};
use mace_domain::ports::{IdentityRepo, MissingRepo};
use mace_domain::postcode::Postcode;
use mace_domain::{Ctx, ManualClock, Result, SequentialIds, cases};
use mace_store::Tx;
use mace_testkit::TestDb;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn scope(org: u128, user: u128) -> Scope {
    Scope::Related {
        org_id: id(org),
        user_id: id(user),
        now: T0,
        police: false,
    }
}

fn episode(n: u128, person: u128, reported: OffsetDateTime) -> Episode {
    Episode {
        id: id(n),
        person_id: id(person),
        category: EpisodeCategory::Missing,
        reported_at: reported,
        reported_by: Reporter::ChildrensHome,
        reporter_name: "Night staff".into(),
        police_reference: format!("REF-{n}"),
        from_care: true,
        placement: "Oak House".into(),
        risk: MissingRisk::High,
        found_at: None,
        returned_at: None,
        found_where: String::new(),
        found_postcode: None,
        found_with: String::new(),
        found_by: None,
        harm: String::new(),
        rhi: ReturnInterview::default(),
        org_id: id(11),
        created_by: id(20),
        created_at: T0,
        updated_at: T0,
    }
}

fn back(mut e: Episode, at: OffsetDateTime) -> Episode {
    e.found_at = Some(at);
    e.returned_at = Some(at + Duration::hours(1));
    e.found_where = "Bus station".into();
    e.found_postcode = Some(Postcode::parse("SS1 1AA").unwrap());
    e.found_with = "Two older males".into();
    e.found_by = Some(FoundBy::Police);
    e
}

async fn episodes_round_trip_and_the_work_list_is_scoped(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                let still = episode(500, 1, T0 - Duration::hours(5));
                let due = back(
                    episode(501, 1, T0 - Duration::days(3)),
                    T0 - Duration::days(2),
                );
                let mut held = back(
                    episode(502, 1, T0 - Duration::days(9)),
                    T0 - Duration::days(8),
                );
                held.rhi.held_at = Some(T0 - Duration::days(7));
                held.rhi.held_by = Some(Interviewer::IndependentService);
                held.rhi.independent = Some(true);
                held.rhi.child_said = "Said he was with friends".into();
                let other = back(
                    episode(503, 2, T0 - Duration::days(3)),
                    T0 - Duration::days(2),
                );
                for e in [&still, &due, &held, &other] {
                    tx.insert_episode(e).await?;
                }
                // The interview offered and declined on the due one: it leaves the list.
                let mut declined = due.clone();
                declined.rhi.offered_at = Some(T0 - Duration::days(1));
                declined.rhi.offered_by = Some(Interviewer::SocialWorker);
                declined.rhi.offered_name = "Grace".into();
                let before = tx.open_episodes(&scope(11, 20), 50).await?;
                tx.update_episode(&declined).await?;
                let offered = tx.get_episode(id(501)).await?;
                declined.rhi.declined_at = Some(T0);
                tx.update_episode(&declined).await?;
                let after = tx.open_episodes(&scope(11, 20), 50).await?;
                let outsider = tx.open_episodes(&scope(12, 96), 50).await?;
                let nothing = tx.open_episodes(&Scope::Nothing, 50).await?;
                let count = tx
                    .count_episodes_between(id(1), T0 - Duration::days(9), T0)
                    .await?;
                let narrower = tx
                    .count_episodes_between(id(1), T0 - Duration::days(8), T0)
                    .await?;
                Ok((
                    tx.episodes_for(id(1)).await?,
                    tx.get_episode(id(502)).await?,
                    offered,
                    before,
                    after,
                    outsider,
                    nothing,
                    (count, narrower),
                    held,
                    due,
                ))
            })
        })
        .await
        .unwrap();
    let (all, held_back, offered, before, after, outsider, nothing, counts, held, due) = got;
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![id(500), id(501), id(502)],
        "newest reported first"
    );
    assert_eq!(held_back, Some(held), "every field round-trips");
    let offered = offered.unwrap();
    assert_eq!(offered.rhi.offered_by, Some(Interviewer::SocialWorker));
    assert_eq!(offered.rhi.offered_at, Some(T0 - Duration::days(1)));
    assert_eq!(offered.found_postcode, due.found_postcode);
    let ids = |v: &[(Episode, mace_domain::person::Person)]| {
        v.iter().map(|(e, p)| (e.id, p.id)).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&before),
        vec![(id(501), id(1)), (id(500), id(1))],
        "the held one and the marked child's are left out; oldest first"
    );
    assert_eq!(
        ids(&after),
        vec![(id(500), id(1))],
        "declined leaves the list"
    );
    assert!(outsider.is_empty());
    assert!(nothing.is_empty());
    assert_eq!(counts, (3, 2), "the window includes both ends");
}

fn ctx_at(t: OffsetDateTime) -> Ctx {
    Ctx::new(
        Arc::new(ManualClock::new(t)),
        Arc::new(SequentialIds::new()),
    )
}

async fn social_worker(tx: &mut Tx, ctx: &Ctx) -> Result<Actor> {
    let u = tx.get_user(id(20)).await?.unwrap();
    let now = ctx.clock.now();
    cases::load_actor(tx, &u, Some(now), now).await
}

fn reported(at: OffsetDateTime) -> EpisodeInput {
    EpisodeInput {
        category: Some(EpisodeCategory::Missing),
        reported_at: Some(at),
        reported_by: Some(Reporter::Parent),
        reporter_name: String::new(),
        police_reference: String::new(),
        from_care: false,
        placement: String::new(),
        risk: Some(MissingRisk::Medium),
        found: FoundInput::default(),
    }
}

async fn the_third_episode_in_90_days_raises_a_prompt(db: &TestDb) {
    let key = ChainKey::from_bytes([7; 32]);
    let got = db
        .store()
        .write(|tx| {
            let key = key.clone();
            Box::pin(async move {
                setup(tx).await?;
                let ctx = ctx_at(T0);
                let sw = social_worker(tx, &ctx).await?;
                let mut seen = Vec::new();
                // The first is 120 days ago: three episodes, but only two in 90 days.
                for days in [120, 50, 10] {
                    missing::record_episode(
                        &ctx,
                        tx,
                        &key,
                        &sw,
                        id(1),
                        &reported(T0 - Duration::days(days)),
                    )
                    .await?;
                    seen.push(tx.prompts_for(id(1)).await?.len());
                }
                // The fourth makes three within 90 days.
                let fourth = missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id(1),
                    &reported(T0 - Duration::days(5)),
                )
                .await?;
                let prompts = tx.prompts_for(id(1)).await?;
                seen.push(prompts.len());
                // A fifth while the prompt is open raises no second one.
                missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id(1),
                    &reported(T0 - Duration::days(2)),
                )
                .await?;
                seen.push(tx.prompts_for(id(1)).await?.len());
                let resolved = missing::resolve_prompt(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    prompts[0].id,
                    "Risk assessment started today",
                )
                .await?;
                missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id(1),
                    &reported(T0 - Duration::days(1)),
                )
                .await?;
                seen.push(tx.prompts_for(id(1)).await?.len());
                let open = tx.open_prompts(&scope(11, 20), 50).await?;
                let outsider = tx.open_prompts(&scope(10, 98), 50).await?;
                Ok((seen, prompts, fourth, resolved, open, outsider))
            })
        })
        .await
        .unwrap();
    let (seen, prompts, fourth, resolved, open, outsider) = got;
    assert_eq!(seen, vec![0, 0, 0, 1, 1, 2]);
    assert_eq!(prompts[0].reason, PromptReason::RepeatMissing);
    assert_eq!(prompts[0].episode_id, fourth.id);
    assert_eq!(prompts[0].detail, "3 missing episodes in 90 days");
    assert!(!resolved.is_open());
    assert_eq!(resolved.resolution, "Risk assessment started today");
    assert_eq!(open.len(), 1, "only the new prompt is open");
    assert_eq!(open[0].1.id, id(1));
    assert!(
        outsider.is_empty(),
        "the school is not involved with child 1"
    );
}

async fn a_child_found_at_a_place_of_concern_raises_a_prompt(db: &TestDb) {
    let key = ChainKey::from_bytes([7; 32]);
    let got = db
        .store()
        .write(|tx| {
            let key = key.clone();
            Box::pin(async move {
                setup(tx).await?;
                for (n, name, pc, out) in [
                    (600u128, "Station hotel", Some("SS1 1AA"), "SS1"),
                    (601, "Estuary town centre", None, "RM17"),
                ] {
                    tx.insert_place(&PlaceOfConcern {
                        id: id(n),
                        name: name.into(),
                        postcode: pc.map(|p| Postcode::parse(p).unwrap()),
                        outward: out.into(),
                        note: String::new(),
                        position: None,
                        org_id: id(11),
                        created_by: id(20),
                        created_at: T0,
                    })
                    .await?;
                }
                let pc = |s: &str| Postcode::parse(s).unwrap();
                let matches =
                    |v: Vec<PlaceOfConcern>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
                let exact = matches(tx.places_matching(&pc("SS1 1AA")).await?);
                let neighbour = matches(tx.places_matching(&pc("SS1 1AB")).await?);
                let district = matches(tx.places_matching(&pc("RM17 6AB")).await?);
                let all = matches(tx.places().await?);
                let ctx = ctx_at(T0);
                let sw = social_worker(tx, &ctx).await?;
                // Recorded while missing, then found in the RM17 district.
                let e = missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id(1),
                    &reported(T0 - Duration::hours(30)),
                )
                .await?;
                let before = tx.prompts_for(id(1)).await?.len();
                let found = FoundInput {
                    found_at: Some(T0 - Duration::hours(2)),
                    returned_at: None,
                    found_where: "A flat above a shop".into(),
                    found_postcode: "rm176ab".into(),
                    found_with: String::new(),
                    found_by: Some(FoundBy::Police),
                    harm: String::new(),
                };
                let updated = missing::record_found(&ctx, tx, &key, &sw, e.id, &found).await?;
                let prompts = tx.prompts_for(id(1)).await?;
                // Found somewhere not on the list: no prompt.
                let mut elsewhere = found.clone();
                elsewhere.found_postcode = "SS1 1AB".into();
                missing::record_episode(
                    &ctx,
                    tx,
                    &key,
                    &sw,
                    id(1),
                    &EpisodeInput {
                        found: elsewhere,
                        ..reported(T0 - Duration::hours(10))
                    },
                )
                .await?;
                let later = tx.prompts_for(id(1)).await?.len();
                Ok((
                    exact, neighbour, district, all, before, updated, prompts, later,
                ))
            })
        })
        .await
        .unwrap();
    let (exact, neighbour, district, all, before, updated, prompts, later) = got;
    assert_eq!(exact, vec![id(600)]);
    assert!(neighbour.is_empty(), "a full postcode matches only itself");
    assert_eq!(
        district,
        vec![id(601)],
        "a district matches any postcode in it"
    );
    assert_eq!(all, vec![id(601), id(600)], "by name");
    assert_eq!(before, 0);
    assert_eq!(
        updated.found_postcode.as_ref().map(|p| p.as_str()),
        Some("RM17 6AB")
    );
    assert_eq!(updated.duration(), Some(Duration::hours(28)));
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].reason, PromptReason::PlaceOfConcern);
    assert_eq!(prompts[0].place_id, Some(id(601)));
    assert!(
        prompts[0].detail.contains("Estuary town centre"),
        "{}",
        prompts[0].detail
    );
    assert_eq!(later, 1);
}

mace_testkit::contract_tests!(
    episodes_round_trip_and_the_work_list_is_scoped,
    the_third_episode_in_90_days_raises_a_prompt,
    a_child_found_at_a_place_of_concern_raises_a_prompt
);
