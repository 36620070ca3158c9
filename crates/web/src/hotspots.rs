//! Pages and JSON API for `mace_domain::hotspots` (issue 7, item 5): `/hotspots` (a GET form for
//! the time window and cell size, counts per window and per month, a map, and a table of the
//! significant cells) and `GET /api/v1/hotspots`.
//!
//! The map is drawn on the server, without JavaScript. With a tile server configured
//! (`WebSettings::map_tile_url`), the slippy-map tiles covering the grid at a suitable zoom are
//! placed as images inside an inline SVG, under the cells and markers (SVG `<image>` elements:
//! the CSP's `style-src 'self'` rules out the inline positioning HTML `<img>` elements would
//! need). With none, a plain SVG drawing of the grid. Either way the SVG has a title and a
//! description, and the table of significant cells follows it.
//!
//! What a viewer may see is decided and cut down in the domain ([`hotspots::view`]): handlers
//! only draw what they are given.

use crate::AppState;
use crate::auth::{FormState, SignedIn};
use crate::cases::{as_user, with_actor};
use crate::error::{WebError, json_response};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use mace_domain::Error;
use mace_domain::hotspots::{
    self, Audience, CELL_SIZES, ClusterKind, HotspotView, Shown, Source, TileRange, Window,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/hotspots", get(page))
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/hotspots", get(api_hotspots))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_hotspots),
    components(schemas(HotspotsDto, HotspotGridDto, HotspotProjectionDto, HotspotCellDto,
                       HotspotPointDto, HotspotPlaceDto, HotspotCountsDto)),
    tags((name = "hotspots", description = "Incidents with a location on a grid: counts, kernel density and Getis-Ord Gi* clusters, suppressed outside police roles"))
)]
pub(crate) struct Doc;

/// The form's values (both optional; defaults: last 365 days, 250 m cells).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotspotQuery {
    /// `30`, `90`, `365` (days) or `all` [default: `365`].
    pub window: Option<String>,
    /// Cell size in metres: `100`, `250`, `500` or `1000` [default: `250`].
    pub cell: Option<String>,
}

fn rfc(t: OffsetDateTime) -> String {
    crate::cases_api::rfc3339(t)
}

// --- the map --------------------------------------------------------------------------------------

pub struct Tile {
    pub href: String,
    pub x: f64,
    pub y: f64,
}

pub struct RectView {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// Fill opacity for the density shading, two decimals.
    pub opacity: String,
    /// `hot`, `cold` or empty.
    pub cluster: &'static str,
    pub label: String,
}

pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub missing: bool,
    pub label: String,
}

pub struct Marker {
    pub x: f64,
    pub y: f64,
    /// The diamond's outline, as SVG points.
    pub shape: String,
    pub name: String,
}

pub struct ScaleBar {
    pub x: f64,
    pub y: f64,
    pub len: f64,
    pub label: String,
}

pub struct MapView {
    pub width: f64,
    pub height: f64,
    pub tiles: Vec<Tile>,
    pub attribution: String,
    pub cells: Vec<RectView>,
    pub dots: Vec<Dot>,
    pub markers: Vec<Marker>,
    pub scale: Option<ScaleBar>,
    pub desc: String,
}

/// A round length for the scale bar, at most a quarter of the map's width.
fn scale_bar(metres_per_px: f64, width: f64, height: f64) -> Option<ScaleBar> {
    if !(metres_per_px.is_finite() && metres_per_px > 0.0) {
        return None;
    }
    let max = width / 4.0 * metres_per_px;
    let len_m = [
        50.0, 100.0, 200.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0, 50_000.0,
    ]
    .into_iter()
    .rev()
    .find(|l| *l <= max)?;
    Some(ScaleBar {
        x: 12.0,
        y: height - 14.0,
        len: len_m / metres_per_px,
        label: if len_m >= 1000.0 {
            format!("{} km", len_m / 1000.0)
        } else {
            format!("{len_m} m")
        },
    })
}

fn diamond(x: f64, y: f64) -> String {
    format!(
        "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        x,
        y - 7.0,
        x + 7.0,
        y,
        x,
        y + 7.0,
        x - 7.0,
        y
    )
}

/// The drawing's width and height, the projection of a latitude and longitude to its pixels,
/// metres per pixel, and the tiles.
type Drawing = (
    f64,
    f64,
    Box<dyn Fn(f64, f64) -> (f64, f64)>,
    f64,
    Vec<Tile>,
);

/// Draw the view: on tiles when a tile server is configured, otherwise as a plain grid.
fn map(state: &AppState, v: &HotspotView) -> Option<MapView> {
    let g = v.grid?;
    // Position of a latitude/longitude on the drawing, and metres per pixel.
    let tiles = state.settings.map_tile_url.as_deref().and_then(|url| {
        TileRange::covering(g.south_west, g.north_east, 18, 4, 3).map(|t| (url, t))
    });
    let (width, height, to_px, mpp, tile_imgs): Drawing = match tiles {
        Some((url, t)) => {
            let mut imgs = Vec::new();
            for dy in 0..t.ny {
                for dx in 0..t.nx {
                    imgs.push(Tile {
                        href: url
                            .replace("{z}", &t.z.to_string())
                            .replace("{x}", &(t.x0 + dx).to_string())
                            .replace("{y}", &(t.y0 + dy).to_string()),
                        x: f64::from(dx) * 256.0,
                        y: f64::from(dy) * 256.0,
                    });
                }
            }
            let mpp =
                156_543.033_92 * g.projection.lat0.to_radians().cos() / f64::from(1_u32 << t.z);
            (
                f64::from(t.nx) * 256.0,
                f64::from(t.ny) * 256.0,
                Box::new(move |lat, lon| t.pixel(lat, lon)),
                mpp,
                imgs,
            )
        }
        None => {
            let w_m = g.cell * g.nx as f64;
            let h_m = g.cell * g.ny as f64;
            let s = 720.0 / w_m;
            let proj = g.projection;
            let (x0, top) = (g.x0, g.y0 + h_m);
            (
                720.0,
                h_m * s,
                Box::new(move |lat, lon| {
                    let (x, y) = proj.project_raw(lat, lon);
                    ((x - x0) * s, (top - y) * s)
                }),
                1.0 / s,
                Vec::new(),
            )
        }
    };
    let max = if v.max_density > 0.0 {
        v.max_density
    } else {
        1.0
    };
    let cells = v
        .cells
        .iter()
        .map(|c| {
            let (ax, ay) = to_px(c.south_west.0, c.south_west.1);
            let (bx, by) = to_px(c.north_east.0, c.north_east.1);
            RectView {
                x: ax.min(bx),
                y: ay.min(by),
                w: (bx - ax).abs(),
                h: (by - ay).abs(),
                opacity: format!("{:.2}", 0.08 + 0.62 * (c.density / max).clamp(0.0, 1.0)),
                cluster: match c.cluster {
                    ClusterKind::Hot => "hot",
                    ClusterKind::Cold => "cold",
                    ClusterKind::None => "",
                },
                label: format!(
                    "{} incidents, z {:.2}{}",
                    c.count,
                    c.z,
                    match c.cluster {
                        ClusterKind::None => String::new(),
                        k => format!(", {}", k.label().to_lowercase()),
                    }
                ),
            }
        })
        .collect();
    let dots = v
        .points
        .iter()
        .map(|p| {
            let (x, y) = to_px(p.lat, p.lon);
            Dot {
                x,
                y,
                missing: p.source == Source::Missing,
                label: format!("{}, {}", p.source.label(), crate::format::date(p.at)),
            }
        })
        .collect();
    let markers = v
        .places
        .iter()
        .map(|p| {
            let (x, y) = to_px(p.position.lat, p.position.lon);
            Marker {
                x,
                y,
                shape: diamond(x, y),
                name: p.name.clone(),
            }
        })
        .collect();
    let hot = v
        .significant()
        .filter(|c| c.cluster == ClusterKind::Hot)
        .count();
    let cold = v
        .significant()
        .filter(|c| c.cluster == ClusterKind::Cold)
        .count();
    Some(MapView {
        width,
        height,
        attribution: if tile_imgs.is_empty() {
            String::new()
        } else {
            state.settings.map_attribution.clone()
        },
        tiles: tile_imgs,
        cells,
        dots,
        markers,
        scale: scale_bar(mpp, width, height),
        desc: format!(
            "A grid of {} metre cells shaded by kernel density, with {hot} hotspot{} outlined in \
             red and {cold} cold spot{} outlined in dashed blue{}, and {} place{} of concern \
             shown as diamonds. The table below lists the significant cells.",
            v.cell_size,
            if hot == 1 { "" } else { "s" },
            if cold == 1 { "" } else { "s" },
            if v.points.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} incidents shown as circles (intelligence) and squares (missing children found)",
                    v.points.len()
                )
            },
            v.places.len(),
            if v.places.len() == 1 { "" } else { "s" },
        ),
    })
}

// --- the page -------------------------------------------------------------------------------------

pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct CountLine {
    pub label: String,
    pub intelligence: String,
    pub missing: String,
    pub concerns: String,
    pub total: String,
}

pub struct SignificantRow {
    pub kind: &'static str,
    pub hot: bool,
    pub count: u32,
    pub z: String,
    pub density: String,
    pub centre: String,
    pub nearby: String,
}

#[derive(Template)]
#[template(path = "hotspots/page.html")]
pub struct HotspotsPage {
    pub layout: Layout,
    pub form: FormState,
    pub windows: Vec<Choice>,
    pub cells: Vec<Choice>,
    pub police: bool,
    pub min_count: u32,
    pub window_label: &'static str,
    pub cell_size: u32,
    pub bandwidth: String,
    pub incidents: usize,
    pub too_large: bool,
    pub counts: Vec<CountLine>,
    pub months: Vec<CountLine>,
    pub map: Option<MapView>,
    pub significant: Vec<SignificantRow>,
    pub suppressed_cells: usize,
    pub unplaced: Vec<(String, String)>,
    pub fdr: bool,
    pub confidence: String,
}

fn shown(n: Shown) -> String {
    match n {
        Some(n) => n.to_string(),
        None => format!("fewer than {}", hotspots::MIN_CELL_COUNT),
    }
}

fn lines(rows: &[hotspots::CountRow]) -> Vec<CountLine> {
    rows.iter()
        .map(|r| CountLine {
            label: r.label.clone(),
            intelligence: shown(r.intelligence),
            missing: shown(r.missing),
            concerns: shown(r.concerns),
            total: shown(r.total),
        })
        .collect()
}

async fn page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<HotspotQuery>,
) -> Result<Response, WebError> {
    let mut form = FormState::default();
    let query = match hotspots::Query::parse(q.window.as_deref(), q.cell.as_deref()) {
        Ok(x) => x,
        Err(Error::Validation(errs)) => {
            form.errors = errs;
            hotspots::Query::default()
        }
        Err(e) => return Err(e.into()),
    };
    let v = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move { hotspots::view(&ctx, tx, &key, &actor, query).await })
    })
    .await?;
    let significant = v
        .significant()
        .map(|c| SignificantRow {
            kind: c.cluster.label(),
            hot: c.cluster == ClusterKind::Hot,
            count: c.count,
            z: format!("{:.2}", c.z),
            density: format!("{:.1}", c.density),
            centre: format!("{:.5}, {:.5}", c.centre.0, c.centre.1),
            nearby: if c.nearby.is_empty() {
                "None within reach".into()
            } else {
                c.nearby.join(", ")
            },
        })
        .collect();
    let page = HotspotsPage {
        layout: Layout::from_ctx(&state, ctx, "Hotspots"),
        windows: Window::ALL
            .into_iter()
            .map(|w| Choice {
                value: w.as_str().into(),
                label: w.label().into(),
                checked: w == v.query_window,
            })
            .collect(),
        cells: CELL_SIZES
            .into_iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: format!("{c} metres"),
                checked: c == v.cell_size,
            })
            .collect(),
        police: v.audience == Audience::Police,
        min_count: v.min_count,
        window_label: v.query_window.label(),
        cell_size: v.cell_size,
        bandwidth: format!("{:.0}", v.bandwidth),
        incidents: v.incidents_in_window,
        too_large: v.too_large,
        counts: lines(&v.windows),
        months: lines(&v.months),
        map: map(&state, &v),
        significant,
        suppressed_cells: v.suppressed_cells,
        unplaced: v
            .unplaced
            .iter()
            .filter(|(_, n)| *n != Some(0))
            .map(|(s, n)| (s.label().to_string(), shown(*n)))
            .collect(),
        fdr: v.fdr,
        confidence: format!("{:.0}", (1.0 - v.alpha) * 100.0),
        form,
    };
    let status = if page.form.has_errors() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

// --- API ------------------------------------------------------------------------------------------

/// How latitude and longitude were projected to the grid's planar metres.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotProjectionDto {
    /// Always `equirectangular`: x = R·Δλ·cos φ0, y = R·Δφ (R = 6,371,008.8 m), about the data's
    /// mean latitude and longitude; fine at town scale.
    pub kind: String,
    pub centre_latitude: f64,
    pub centre_longitude: f64,
    pub earth_radius_m: f64,
}

/// The grid: cell (i, j) covers `[x0 + i·cell, x0 + (i+1)·cell) × [y0 + j·cell, …)` in the
/// projection's metres; index = j·nx + i (rows south to north, x fastest).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotGridDto {
    pub x0: f64,
    pub y0: f64,
    pub cell_m: f64,
    pub nx: usize,
    pub ny: usize,
    pub projection: HotspotProjectionDto,
    /// South-west and north-east corners, [latitude, longitude].
    pub south_west: [f64; 2],
    pub north_east: [f64; 2],
}

/// One cell.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotCellDto {
    pub index: usize,
    pub count: u32,
    /// Gaussian kernel density at the cell's centre, incidents per square kilometre.
    pub density: f64,
    /// Getis-Ord Gi* z-score (binary queen weights including the cell).
    pub z: f64,
    /// `hot`, `cold` or `none`.
    pub cluster: String,
    /// The centre, [latitude, longitude].
    pub centre: [f64; 2],
    /// Places of concern near the centre.
    pub nearby_places: Vec<String>,
}

/// An incident (police only): a source, a time and a place, never a name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotPointDto {
    /// `intelligence` or `missing`.
    pub source: String,
    pub at: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// A place of concern on the map.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotPlaceDto {
    pub id: uuid::Uuid,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// Incidents per source in a window or month. Outside police roles counts of one to four are
/// withheld (`null`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotCountsDto {
    /// `30`, `90`, `365`, `all`, or a month `YYYY-MM`.
    pub key: String,
    pub label: String,
    pub intelligence: Option<u32>,
    pub missing: Option<u32>,
    pub concerns: Option<u32>,
    pub total: Option<u32>,
}

/// The hotspots as the caller may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotspotsDto {
    /// `police` (every cell and the points) or `aggregate` (cells of at least `min_count`).
    pub audience: String,
    pub window: String,
    pub cell_m: u32,
    pub min_count: u32,
    /// Significance level of the clusters (two-sided).
    pub alpha: f64,
    /// True: clusters are corrected with the Benjamini–Hochberg false discovery rate.
    pub fdr_corrected: bool,
    /// The kernel's bandwidth (standard deviation), metres.
    pub bandwidth_m: f64,
    /// Absent when there is nothing to place, or the grid would be too large (`too_large`).
    pub grid: Option<HotspotGridDto>,
    pub too_large: bool,
    /// Cells with something to show; cells under `min_count` are left out outside police roles.
    pub cells: Vec<HotspotCellDto>,
    /// Incident points: police roles only (always empty otherwise).
    pub points: Vec<HotspotPointDto>,
    pub places: Vec<HotspotPlaceDto>,
    pub windows: Vec<HotspotCountsDto>,
    /// The last 12 months, newest first.
    pub months: Vec<HotspotCountsDto>,
}

fn counts_dto(rows: &[hotspots::CountRow]) -> Vec<HotspotCountsDto> {
    rows.iter()
        .map(|r| HotspotCountsDto {
            key: r.key.clone(),
            label: r.label.clone(),
            intelligence: r.intelligence,
            missing: r.missing,
            concerns: r.concerns,
            total: r.total,
        })
        .collect()
}

fn dto(v: &HotspotView) -> HotspotsDto {
    HotspotsDto {
        audience: match v.audience {
            Audience::Police => "police",
            Audience::Aggregate => "aggregate",
        }
        .into(),
        window: v.query_window.as_str().into(),
        cell_m: v.cell_size,
        min_count: v.min_count,
        alpha: v.alpha,
        fdr_corrected: v.fdr,
        bandwidth_m: v.bandwidth,
        grid: v.grid.map(|g| HotspotGridDto {
            x0: g.x0,
            y0: g.y0,
            cell_m: g.cell,
            nx: g.nx,
            ny: g.ny,
            projection: HotspotProjectionDto {
                kind: "equirectangular".into(),
                centre_latitude: g.projection.lat0,
                centre_longitude: g.projection.lon0,
                earth_radius_m: hotspots::EARTH_RADIUS_M,
            },
            south_west: [g.south_west.0, g.south_west.1],
            north_east: [g.north_east.0, g.north_east.1],
        }),
        too_large: v.too_large,
        cells: v
            .cells
            .iter()
            .map(|c| HotspotCellDto {
                index: c.index,
                count: c.count,
                density: c.density,
                z: c.z,
                cluster: c.cluster.as_str().into(),
                centre: [c.centre.0, c.centre.1],
                nearby_places: c.nearby.clone(),
            })
            .collect(),
        points: v
            .points
            .iter()
            .map(|p| HotspotPointDto {
                source: p.source.as_str().into(),
                at: rfc(p.at),
                latitude: p.lat,
                longitude: p.lon,
            })
            .collect(),
        places: v
            .places
            .iter()
            .map(|p| HotspotPlaceDto {
                id: p.id,
                name: p.name.clone(),
                latitude: p.position.lat,
                longitude: p.position.lon,
            })
            .collect(),
        windows: counts_dto(&v.windows),
        months: counts_dto(&v.months),
    }
}

/// The hotspots: grid, cells (count, kernel density, Gi* z-score and cluster), incident points
/// for police roles, places of concern, and counts per window and month. Police intelligence
/// officers and analysts see everything; partnership managers, MACE chairs and other analysts
/// only cells of at least the minimum count and no points; others are refused. Audited.
#[utoipa::path(get, path = "/api/v1/hotspots", tag = "hotspots",
    security(("bearer" = [])),
    params(HotspotQuery),
    responses(
        (status = 200, description = "The hotspots as the caller may see them", body = HotspotsDto, content_type = "application/json"),
        (status = 403, description = "The caller's role may not see hotspots", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "The window or cell size is not one offered", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_hotspots(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Query(q): Query<HotspotQuery>,
) -> Result<Response, WebError> {
    let query = hotspots::Query::parse(q.window.as_deref(), q.cell.as_deref())?;
    let v = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { hotspots::view(&ctx, tx, &key, &actor, query).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &dto(&v)))
}
