//! Demo data for `mace_domain::hotspots` (synthetic, never graphic), loaded once on first start,
//! after every other module's demo data.
//!
//! Postcode points for the demo's postcodes, spread over a made-up town about 10 km across
//! (around 51.48 N, 0.33 E; the positions are invented, not the real postcodes' centroids), two
//! more places of concern with coordinates of their own, and four earlier missing episodes for
//! the demo child, each found near the retail park, so the map shows a cluster. Every change goes
//! through the domain services, so the audit chain stays valid.

use anyhow::{Context, Result};
use mace_domain::audit::ChainKey;
use mace_domain::cases;
use mace_domain::hotspots::{LatLon, PostcodePoint};
use mace_domain::identity::model::Email;
use mace_domain::missing::{
    self, EpisodeCategory, EpisodeInput, FoundBy, FoundInput, MissingRisk, PlaceInput, Reporter,
};
use mace_domain::ports::{CaseRepo, HotspotRepo, IdentityRepo};
use mace_domain::postcode::Postcode;
use mace_domain::{Ctx, Error};
use mace_store::{Store, Tx};
use time::Duration;

/// The town's centre.
const CENTRE: (f64, f64) = (51.48, 0.33);

/// Demo postcodes and their invented positions (offsets from the centre in metres, east and
/// north). The retail park (RM20 3ZZ) and the streets around it form the cluster.
const POINTS: &[(&str, f64, f64)] = &[
    ("RM20 3ZZ", 1200.0, -400.0),
    ("RM20 3ZY", 1260.0, -360.0),
    ("RM20 3ZX", 1150.0, -450.0),
    ("RM17 6AB", -900.0, 600.0),
    ("SS1 2AB", 3800.0, 2500.0),
    ("CM1 4XY", -3500.0, 4200.0),
    ("RM17 5AA", -2000.0, -1800.0),
    ("RM16 2AB", 200.0, 3100.0),
];

fn position(east: f64, north: f64) -> Option<LatLon> {
    let r = mace_domain::hotspots::EARTH_RADIUS_M;
    let lat = CENTRE.0 + (north / r).to_degrees();
    let lon = CENTRE.1 + (east / (r * CENTRE.0.to_radians().cos())).to_degrees();
    LatLon::new(lat, lon)
}

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

pub async fn load(store: &Store, ctx: &Ctx, key: &ChainKey) -> Result<()> {
    store
        .write(|tx| {
            let (ctx, key) = (ctx.clone(), key.clone());
            Box::pin(async move {
                let mut points = Vec::new();
                for (pc, e, n) in POINTS {
                    if let (Ok(postcode), Some(position)) = (Postcode::parse(pc), position(*e, *n))
                    {
                        points.push(PostcodePoint { postcode, position });
                    }
                }
                // Any other postcode the demo's incidents or places name: a place in town,
                // spread deterministically from the postcode's letters.
                for u in tx.unplaced_postcodes().await? {
                    let h = u
                        .postcode
                        .bytes()
                        .fold(17_u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
                    let east = (h % 8000) as f64 - 4000.0;
                    let north = ((h / 8000) % 8000) as f64 - 4000.0;
                    if let (Ok(postcode), Some(position)) =
                        (Postcode::parse(&u.postcode), position(east, north))
                    {
                        points.push(PostcodePoint { postcode, position });
                    }
                }
                tx.upsert_postcode_points(&points).await?;

                let police = actor(tx, &ctx, "intel@police.demo.invalid").await?;
                for (name, pc, e, n, note) in [
                    (
                        "Riverside Demo Park, by the skate ramp",
                        "RM20 3ZY",
                        1240.0,
                        -330.0,
                        "Older males seen giving young people lifts from here (demo).",
                    ),
                    (
                        "Demo Road takeaway",
                        "RM17 6AB",
                        -880.0,
                        640.0,
                        "Young people seen waiting here late at night (demo).",
                    ),
                ] {
                    let Some(at) = position(e, n) else { continue };
                    missing::add_place(
                        &ctx,
                        tx,
                        &key,
                        &police,
                        &PlaceInput {
                            name: name.into(),
                            postcode: pc.into(),
                            note: note.into(),
                            latitude: format!("{:.6}", at.lat),
                            longitude: format!("{:.6}", at.lon),
                        },
                    )
                    .await?;
                }

                // Earlier episodes for the demo child, found around the retail park.
                let sw = actor(tx, &ctx, "social.worker@csc.demo.invalid").await?;
                let scope = mace_domain::authz::scope(&sw);
                let Some(child) = tx
                    .list_children(&scope, &mace_domain::person::fold("Okoye"), 20)
                    .await?
                    .into_iter()
                    .find(|p| p.given_name == "Jayden" && p.family_name == "Okoye")
                    .map(|p| p.id)
                else {
                    return Ok(());
                };
                let now = ctx.clock.now();
                for (k, (days, pc)) in [
                    (300_i64, "RM20 3ZY"),
                    (240, "RM20 3ZZ"),
                    (170, "RM20 3ZX"),
                    (120, "RM20 3ZZ"),
                ]
                .into_iter()
                .enumerate()
                {
                    let reported = now - Duration::days(days);
                    missing::record_episode(
                        &ctx,
                        tx,
                        &key,
                        &sw,
                        child,
                        &EpisodeInput {
                            category: Some(EpisodeCategory::Missing),
                            reported_at: Some(reported),
                            reported_by: Some(Reporter::Parent),
                            reporter_name: "Grace Okoye (mother)".into(),
                            police_reference: format!("DEMO-H{:03}", k + 1),
                            from_care: false,
                            placement: String::new(),
                            risk: Some(MissingRisk::Medium),
                            found: FoundInput {
                                found_at: Some(reported + Duration::hours(9)),
                                returned_at: Some(reported + Duration::hours(10)),
                                found_where: "Found by police near the retail park".into(),
                                found_postcode: pc.into(),
                                found_with: String::new(),
                                found_by: Some(FoundBy::Police),
                                harm: String::new(),
                            },
                        },
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
        .context("cannot load the demo hotspots")
}
