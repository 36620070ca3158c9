//! Hotspots on both engines: incidents resolved to positions from their own coordinates or a
//! postcode's point (intelligence items, found missing episodes), filtered by a window; places
//! of concern drawn at their coordinates or their postcode's point; postcodes with no point
//! listed; the upsert of postcode points counts new ones and replaces old ones.

use super::merges::setup;
use mace_domain::Result;
use mace_domain::hotspots::{LatLon, PostcodePoint, Source};
use mace_domain::intelligence::{HowKnown, IntelStatus, Item, ItemKind, Report};
use mace_domain::missing::{
    Episode, EpisodeCategory, MissingRisk, PlaceOfConcern, Reporter, ReturnInterview,
};
use mace_domain::ports::{HotspotRepo, IntelligenceRepo, MissingRepo};
use mace_domain::postcode::Postcode;
use mace_testkit::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub(crate) const T0: OffsetDateTime = datetime!(2026-03-02 10:00:00 UTC);

pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn pc(s: &str) -> Postcode {
    Postcode::parse(s).unwrap()
}

fn ll(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

pub(crate) fn report(
    n: u128,
    submitted: OffsetDateTime,
    observed: Option<OffsetDateTime>,
) -> Report {
    Report {
        id: id(n),
        reference: format!("INT-2026-{n:06}"),
        submitted_by: id(20),
        submitted_org: id(11),
        submitted_at: submitted,
        observed_from: observed,
        observed_to: None,
        how_known: HowKnown::SawOrHeard,
        narrative: "Cars collecting young people".into(),
        status: IntelStatus::Received,
        status_at: submitted,
        source_evaluation: None,
        intelligence_assessment: None,
        handling_code: None,
        handling_conditions: String::new(),
        sanitised: String::new(),
        graded_by: None,
        graded_at: None,
        shared_by: None,
        shared_at: None,
        action_note: String::new(),
    }
}

fn item(n: u128, report: u128, pos: i32, kind: ItemKind, value: &str, at: Option<LatLon>) -> Item {
    Item {
        id: id(n),
        report_id: id(report),
        position: pos,
        kind,
        value: value.into(),
        normalised: if kind == ItemKind::Postcode {
            pc(value).as_str().to_string()
        } else {
            value.to_lowercase()
        },
        detail: String::new(),
        latitude: at.map(|p| p.lat),
        longitude: at.map(|p| p.lon),
        entity_id: None,
    }
}

fn found(n: u128, at: OffsetDateTime, postcode: &str) -> Episode {
    Episode {
        id: id(n),
        person_id: id(1),
        category: EpisodeCategory::Missing,
        reported_at: at - Duration::hours(6),
        reported_by: Reporter::Parent,
        reporter_name: String::new(),
        police_reference: String::new(),
        from_care: false,
        placement: String::new(),
        risk: MissingRisk::Medium,
        found_at: Some(at),
        returned_at: Some(at),
        found_where: "Town centre".into(),
        found_postcode: Some(pc(postcode)),
        found_with: String::new(),
        found_by: None,
        harm: String::new(),
        rhi: ReturnInterview::default(),
        org_id: id(11),
        created_by: id(20),
        created_at: at,
        updated_at: at,
    }
}

async fn incidents_are_placed_from_coordinates_or_postcode_points(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                let new = tx
                    .upsert_postcode_points(&[
                        PostcodePoint {
                            postcode: pc("SS1 2AB"),
                            position: ll(51.0, 0.5),
                        },
                        PostcodePoint {
                            postcode: pc("RM17 6AB"),
                            position: ll(51.48, 0.33),
                        },
                    ])
                    .await?;
                // Replacing one and adding one: one new.
                let again = tx
                    .upsert_postcode_points(&[
                        PostcodePoint {
                            postcode: pc("SS1 2AB"),
                            position: ll(51.54, 0.71),
                        },
                        PostcodePoint {
                            postcode: pc("CM1 4XY"),
                            position: ll(51.73, 0.47),
                        },
                    ])
                    .await?;
                let replaced = tx.point_of_postcode(&pc("SS1 2AB")).await?;
                let none = tx.point_of_postcode(&pc("SS9 9ZZ")).await?;

                // Report 100 (observed 10 days ago): a postcode with a point and a place with
                // its own coordinates. Report 101 (submitted 200 days ago, no observed time): a
                // postcode with no point, and a vehicle (never placed).
                tx.insert_intel_report(
                    &report(100, T0 - Duration::days(2), Some(T0 - Duration::days(10))),
                    &[],
                    &[
                        item(110, 100, 0, ItemKind::Postcode, "ss1 2ab", None),
                        item(
                            111,
                            100,
                            1,
                            ItemKind::Place,
                            "The parade",
                            Some(ll(51.49, 0.34)),
                        ),
                    ],
                )
                .await?;
                tx.insert_intel_report(
                    &report(101, T0 - Duration::days(200), None),
                    &[],
                    &[
                        item(112, 101, 0, ItemKind::Postcode, "SS9 9ZZ", None),
                        item(113, 101, 1, ItemKind::Vehicle, "AB12CDE", None),
                        item(114, 101, 2, ItemKind::Postcode, "CM1 4XY", None),
                    ],
                )
                .await?;
                // Episodes: found 5 days ago at RM17 6AB; found 40 days ago at a postcode with
                // no point; one still missing (never placed).
                tx.insert_episode(&found(500, T0 - Duration::days(5), "RM17 6AB"))
                    .await?;
                tx.insert_episode(&found(501, T0 - Duration::days(40), "SS8 1AA"))
                    .await?;
                let mut still = found(502, T0, "RM17 6AB");
                still.found_at = None;
                still.returned_at = None;
                tx.insert_episode(&still).await?;
                // Places: coordinates of their own, a postcode's point, and neither.
                for (n, name, postcode, at) in [
                    (600u128, "Retail park", Some("RM17 6AB"), None),
                    (601, "Hotel", None, Some(ll(51.5, 0.3))),
                    (602, "Takeaway", Some("SS7 1AA"), None),
                ] {
                    tx.insert_place(&PlaceOfConcern {
                        id: id(n),
                        name: name.into(),
                        postcode: postcode.map(pc),
                        outward: "RM17".into(),
                        note: String::new(),
                        position: at,
                        org_id: id(11),
                        created_by: id(20),
                        created_at: T0,
                    })
                    .await?;
                }
                let all = tx.hotspot_incidents(None).await?;
                let recent = tx.hotspot_incidents(Some(T0 - Duration::days(30))).await?;
                let places = tx.hotspot_places().await?;
                let unplaced = tx.unplaced_postcodes().await?;
                Ok((new, again, replaced, none, all, recent, places, unplaced))
            })
        })
        .await
        .unwrap();
    let (new, again, replaced, none, all, recent, places, unplaced) = got;
    assert_eq!((new, again), (2, 1));
    assert_eq!(replaced, Some(ll(51.54, 0.71)));
    assert_eq!(none, None);

    // Oldest first: report 101's CM1 4XY (submitted, 200 days), report 100's two (observed, 10
    // days), the episode found 5 days ago.
    let summary: Vec<(Source, i64, f64)> = all
        .iter()
        .map(|i| (i.source, (T0 - i.at).whole_days(), i.position.lat))
        .collect();
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert_eq!(summary[0], (Source::Intelligence, 200, 51.73));
    assert_eq!(summary[3], (Source::Missing, 5, 51.48));
    let mid: Vec<f64> = summary[1..3].iter().map(|s| s.2).collect();
    assert!(mid.contains(&51.54) && mid.contains(&51.49), "{summary:?}");
    assert!(
        summary[1..3]
            .iter()
            .all(|s| s.0 == Source::Intelligence && s.1 == 10)
    );

    // The window keeps the last 30 days only.
    assert_eq!(recent.len(), 3);
    assert!(recent.iter().all(|i| i.at >= T0 - Duration::days(30)));

    let names: Vec<(&str, f64)> = places
        .iter()
        .map(|p| (p.name.as_str(), p.position.lat))
        .collect();
    assert_eq!(names, vec![("Hotel", 51.5), ("Retail park", 51.48)]);

    let missing_points: Vec<(Source, &str, i64)> = unplaced
        .iter()
        .filter(|u| u.incidents > 0)
        .map(|u| (u.source, u.postcode.as_str(), u.incidents))
        .collect();
    assert_eq!(
        missing_points,
        vec![
            (Source::Intelligence, "SS9 9ZZ", 1),
            (Source::Missing, "SS8 1AA", 1)
        ]
    );
    assert!(
        unplaced
            .iter()
            .any(|u| u.postcode == "SS7 1AA" && u.incidents == 0)
    );
}

/// A concern is placed by the postcode written in its location (read when it is stored), at
/// the time it was observed, or raised when that is not known; one naming no postcode is not.
async fn concerns_are_placed_by_the_postcode_in_their_location(db: &TestDb) {
    use mace_domain::cases::{Concern, ConcernStatus, ExploitationType};
    use mace_domain::ports::CaseRepo;
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                tx.upsert_postcode_points(&[PostcodePoint {
                    postcode: pc("RM17 6AB"),
                    position: ll(51.48, 0.33),
                }])
                .await?;
                for (n, location, observed) in [
                    (
                        700u128,
                        "Outside the chip shop, rm176ab",
                        Some(T0 - Duration::days(3)),
                    ),
                    (701, "The parade by the station", None),
                    (702, "Bus stop on the high street, SS9 9ZZ", None),
                ] {
                    tx.insert_concern(&Concern {
                        id: id(n),
                        person_id: id(1),
                        raised_by_user: id(20),
                        raised_by_org: id(11),
                        status: ConcernStatus::Submitted,
                        observed_at: observed,
                        location: location.into(),
                        narrative: "Seen with older males".into(),
                        exploitation_types: vec![ExploitationType::Criminal],
                        indicators: vec![],
                        group_id: None,
                        front_door_org: None,
                        child_words: String::new(),
                        others_present: String::new(),
                        actions_taken: String::new(),
                        created_at: T0,
                        decision: None,
                        rationale: None,
                        decided_by: None,
                        decided_at: None,
                    })
                    .await?;
                }
                Ok((
                    tx.hotspot_incidents(None).await?,
                    tx.unplaced_postcodes().await?,
                ))
            })
        })
        .await
        .unwrap();
    let (incidents, unplaced) = got;
    let concerns: Vec<(i64, f64)> = incidents
        .iter()
        .filter(|i| i.source == Source::Concern)
        .map(|i| ((T0 - i.at).whole_days(), i.position.lat))
        .collect();
    assert_eq!(concerns, vec![(3, 51.48)]);
    assert!(
        unplaced
            .iter()
            .any(|u| u.source == Source::Concern && u.postcode == "SS9 9ZZ" && u.incidents == 1),
        "{unplaced:?}"
    );
}

async fn places_keep_their_coordinates(db: &TestDb) {
    let got = db
        .store()
        .write(|tx| {
            Box::pin(async move {
                setup(tx).await?;
                tx.insert_place(&PlaceOfConcern {
                    id: id(700),
                    name: "Park".into(),
                    postcode: None,
                    outward: "SS1".into(),
                    note: String::new(),
                    position: Some(ll(51.5412, 0.7123)),
                    org_id: id(11),
                    created_by: id(20),
                    created_at: T0,
                })
                .await?;
                let r: Result<_> = tx.places().await;
                r
            })
        })
        .await
        .unwrap();
    assert_eq!(got[0].position, Some(ll(51.5412, 0.7123)));
}

mace_testkit::contract_tests!(
    concerns_are_placed_by_the_postcode_in_their_location,
    incidents_are_placed_from_coordinates_or_postcode_points,
    places_keep_their_coordinates
);
