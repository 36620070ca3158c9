//! Storage for `mace_domain::hotspots` over both engines: incidents with a position read from the
//! intelligence items (their own coordinates, or a postcode item's point), missing episodes (the
//! where-found postcode's point), concerns (the postcode written in their location) and places of concern (their coordinates or their postcode's
//! point), and the postcode points themselves.

use crate::tx::{Tx, corrupt, db_err, on_both};
use crate::types::DbTime;
use mace_domain::hotspots::{Incident, LatLon, PlaceMarker, PostcodePoint, Source, Unplaced};
use mace_domain::ports::HotspotRepo;
use mace_domain::postcode::Postcode;
use mace_domain::{Error, Result};
use time::OffsetDateTime;
use uuid::Uuid;

/// Every located incident: an intelligence item with coordinates or a postcode with a point
/// (one per report and position), and a found missing episode whose postcode has a point.
macro_rules! incidents_union {
    () => {
        "SELECT DISTINCT 'intelligence' AS source, i.report_id AS ref_id, \
                COALESCE(r.observed_from, r.submitted_at) AS at, \
                COALESCE(i.latitude, pp.latitude) AS latitude, \
                COALESCE(i.longitude, pp.longitude) AS longitude \
           FROM intel_items i \
           JOIN intel_reports r ON r.id = i.report_id \
           LEFT JOIN postcode_points pp ON i.kind = 'postcode' AND pp.postcode = i.normalised \
          WHERE (i.latitude IS NOT NULL AND i.longitude IS NOT NULL) OR pp.postcode IS NOT NULL \
         UNION ALL \
         SELECT 'missing' AS source, e.id AS ref_id, e.found_at AS at, pp.latitude AS latitude, \
                pp.longitude AS longitude \
           FROM missing_episodes e \
           JOIN postcode_points pp ON pp.postcode = e.found_postcode \
          WHERE e.found_at IS NOT NULL \
         UNION ALL \
         SELECT 'concern' AS source, c.id AS ref_id, COALESCE(c.observed_at, c.created_at) AS at, \
                pp.latitude AS latitude, pp.longitude AS longitude \
           FROM concerns c \
           JOIN people p ON p.id = c.person_id AND p.merged_into IS NULL \
           JOIN postcode_points pp ON pp.postcode = c.location_postcode"
    };
}

const INCIDENTS_ALL: &str = concat!(
    "SELECT source, at, latitude, longitude FROM (",
    incidents_union!(),
    ") x ORDER BY at, source, ref_id"
);
const INCIDENTS_SINCE: &str = concat!(
    "SELECT source, at, latitude, longitude FROM (",
    incidents_union!(),
    ") x WHERE at >= $1 ORDER BY at, source, ref_id"
);

const PLACES: &str = "SELECT p.id, p.name, COALESCE(p.latitude, pp.latitude) AS latitude, \
     COALESCE(p.longitude, pp.longitude) AS longitude \
     FROM places_of_concern p LEFT JOIN postcode_points pp ON pp.postcode = p.postcode \
     WHERE (p.latitude IS NOT NULL AND p.longitude IS NOT NULL) OR pp.postcode IS NOT NULL \
     ORDER BY p.name, p.id";

/// Postcodes with no point: intelligence postcode items without coordinates, found missing
/// episodes, and places of concern without coordinates (counted as no incidents).
const UNPLACED: &str = "SELECT source, postcode, SUM(n) AS incidents FROM ( \
     SELECT 'intelligence' AS source, i.normalised AS postcode, 1 AS n FROM intel_items i \
      WHERE i.kind = 'postcode' AND i.normalised <> '' AND (i.latitude IS NULL OR i.longitude IS NULL) \
        AND NOT EXISTS (SELECT 1 FROM postcode_points pp WHERE pp.postcode = i.normalised) \
     UNION ALL \
     SELECT 'missing' AS source, e.found_postcode AS postcode, 1 AS n FROM missing_episodes e \
      WHERE e.found_postcode IS NOT NULL AND e.found_at IS NOT NULL \
        AND NOT EXISTS (SELECT 1 FROM postcode_points pp WHERE pp.postcode = e.found_postcode) \
     UNION ALL \
     SELECT 'concern' AS source, c.location_postcode AS postcode, 1 AS n FROM concerns c \
      WHERE c.location_postcode IS NOT NULL \
        AND NOT EXISTS (SELECT 1 FROM postcode_points pp WHERE pp.postcode = c.location_postcode) \
     UNION ALL \
     SELECT 'place' AS source, p.postcode AS postcode, 0 AS n FROM places_of_concern p \
      WHERE p.postcode IS NOT NULL AND p.latitude IS NULL \
        AND NOT EXISTS (SELECT 1 FROM postcode_points pp WHERE pp.postcode = p.postcode) \
     ) u GROUP BY source, postcode ORDER BY source, postcode";

const POINT: &str = "SELECT latitude, longitude FROM postcode_points WHERE postcode = $1";
const COUNT_POINTS: &str = "SELECT COUNT(*) FROM postcode_points";

#[derive(sqlx::FromRow)]
struct IncidentRow {
    source: String,
    at: DbTime,
    latitude: f64,
    longitude: f64,
}

#[derive(sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    name: String,
    latitude: f64,
    longitude: f64,
}

#[derive(sqlx::FromRow)]
struct UnplacedRow {
    source: String,
    postcode: String,
    incidents: i64,
}

fn position(lat: f64, lon: f64) -> Option<LatLon> {
    LatLon::new(lat, lon)
}

/// The multi-row upsert for `n` points (`$1..$3n`).
fn upsert_sql(n: usize) -> String {
    let mut s = String::from("INSERT INTO postcode_points (postcode, latitude, longitude) VALUES ");
    for k in 0..n {
        if k > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!("(${}, ${}, ${})", 3 * k + 1, 3 * k + 2, 3 * k + 3));
    }
    s.push_str(
        " ON CONFLICT (postcode) DO UPDATE SET latitude = excluded.latitude, \
         longitude = excluded.longitude",
    );
    s
}

/// Points per statement (three binds each, well under both engines' limits).
const CHUNK: usize = 500;

impl HotspotRepo for Tx {
    async fn hotspot_incidents(&mut self, since: Option<OffsetDateTime>) -> Result<Vec<Incident>> {
        let rows = match since {
            None => on_both!(self, |c| sqlx::query_as::<_, IncidentRow>(INCIDENTS_ALL)
                .fetch_all(c)
                .await),
            Some(t) => on_both!(self, |c| sqlx::query_as::<_, IncidentRow>(INCIDENTS_SINCE)
                .bind(DbTime(t))
                .fetch_all(c)
                .await),
        }
        .map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let source = Source::parse(&r.source).ok_or_else(|| corrupt("incident source"))?;
            // A stored position outside the UK (typed before validation existed) is skipped
            // rather than failing the whole map.
            if let Some(position) = position(r.latitude, r.longitude) {
                out.push(Incident {
                    source,
                    at: r.at.0,
                    position,
                });
            }
        }
        Ok(out)
    }

    async fn hotspot_places(&mut self) -> Result<Vec<PlaceMarker>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, PlaceRow>(PLACES)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                position(r.latitude, r.longitude).map(|position| PlaceMarker {
                    id: r.id,
                    name: r.name,
                    position,
                })
            })
            .collect())
    }

    async fn unplaced_postcodes(&mut self) -> Result<Vec<Unplaced>> {
        let rows = on_both!(self, |c| sqlx::query_as::<_, UnplacedRow>(UNPLACED)
            .fetch_all(c)
            .await)
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| Unplaced {
                // A place of concern is listed under intelligence with no incidents.
                source: Source::parse(&r.source).unwrap_or(Source::Intelligence),
                postcode: r.postcode,
                incidents: r.incidents,
            })
            .collect())
    }

    async fn upsert_postcode_points(&mut self, points: &[PostcodePoint]) -> Result<u64> {
        if points.is_empty() {
            return Ok(0);
        }
        let count = |n: i64| u64::try_from(n).map_err(|_| Error::store("negative count"));
        let before: i64 = on_both!(self, |c| sqlx::query_scalar(COUNT_POINTS)
            .fetch_one(c)
            .await)
        .map_err(db_err)?;
        // The same postcode twice in one statement would be refused by PostgreSQL: the last wins.
        let mut last: std::collections::HashMap<&str, &PostcodePoint> =
            std::collections::HashMap::new();
        let mut order = Vec::new();
        for p in points {
            if last.insert(p.postcode.as_str(), p).is_none() {
                order.push(p.postcode.as_str());
            }
        }
        let unique: Vec<&PostcodePoint> =
            order.iter().filter_map(|k| last.get(k).copied()).collect();
        for chunk in unique.chunks(CHUNK) {
            let sql = upsert_sql(chunk.len());
            on_both!(self, |c| {
                // Only numbered placeholders are formatted in; the values are bound.
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for p in chunk {
                    q = q
                        .bind(p.postcode.as_str())
                        .bind(p.position.lat)
                        .bind(p.position.lon);
                }
                q.execute(c).await.map(|_| ())
            })
            .map_err(db_err)?;
        }
        let after: i64 = on_both!(self, |c| sqlx::query_scalar(COUNT_POINTS)
            .fetch_one(c)
            .await)
        .map_err(db_err)?;
        count(after - before)
    }

    async fn point_of_postcode(&mut self, postcode: &Postcode) -> Result<Option<LatLon>> {
        let row: Option<(f64, f64)> = on_both!(self, |c| sqlx::query_as(POINT)
            .bind(postcode.as_str())
            .fetch_optional(c)
            .await)
        .map_err(db_err)?;
        Ok(row.and_then(|(a, b)| position(a, b)))
    }
}
