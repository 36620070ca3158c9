//! Hotspots: incidents with coordinates (intelligence, missing episodes, places of concern) on a
//! grid: counts over time windows, kernel density and Getis-Ord Gi* clusters, with minimum-count
//! suppression outside police roles.
//!
//! Where incidents come from:
//! - intelligence items with their own latitude and longitude, or a postcode item placed at its
//!   postcode's point (`postcode_points`); the time is when what was reported was seen
//!   (`observed_from`), else when the report was submitted;
//! - missing episodes with a where-found postcode, placed at its point, at the time the child
//!   was found;
//! - places of concern are drawn as markers (their own coordinates or their postcode's point);
//!   they are the register, not incidents, so they are not counted.
//!
//! Concerns are placed by the postcode written in their location text (read when raised);
//! concerns that name none cannot be placed and are left out.
//!
//! Coordinates are projected to planar metres with an equirectangular projection about the
//! data's mean latitude and longitude ([`Projection`]): at town scale (tens of kilometres) its
//! distortion is well under one per cent, far smaller than a grid cell.
//!
//! Who sees what: police intelligence officers and analysts in a police organisation see every
//! cell and the individual incident points; partnership managers, MACE chairs and analysts
//! outside the police see only cells holding at least [`MIN_CELL_COUNT`] incidents (with their
//! density and Gi* z-score), never points, and counts of one to four in the tables are withheld.
//! The suppression is applied here, before anything reaches a page or the API. Everyone else is
//! refused, and the refusal is recorded.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{Actor, Role};
use crate::cases;
use crate::error::{Error, FieldError, Result};
use crate::ports::AuditLog;
use crate::postcode::Postcode;
use mace_analytics::hotspot as stats;
use serde::Serialize;
use std::future::Future;
use time::{Date, Duration, Month, OffsetDateTime};
use uuid::Uuid;

/// Cells holding fewer incidents than this are never shown outside police roles.
pub const MIN_CELL_COUNT: u32 = 5;
/// Significance level for the Gi* clusters (two-sided, 95 %).
pub const ALPHA: f64 = 0.05;
/// The clusters are corrected for many cells tested at once (Benjamini-Hochberg false discovery
/// rate).
pub const FDR: bool = true;
/// The grid sizes offered, in metres.
pub const CELL_SIZES: [u32; 4] = [100, 250, 500, 1000];
/// The default grid size.
pub const DEFAULT_CELL: u32 = 250;
/// Empty cells added around the data on every side.
pub const MARGIN_CELLS: usize = 2;
/// The largest grid computed (a larger one asks for a bigger cell size).
pub const MAX_CELLS: usize = 40_000;
/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The United Kingdom's bounds (with the Isles of Scilly, Shetland and Northern Ireland).
pub const UK_LAT: (f64, f64) = (49.8, 60.95);
pub const UK_LON: (f64, f64) = (-8.7, 1.8);

// --- coordinates ----------------------------------------------------------------------------------

/// A WGS84 position inside the United Kingdom's bounds (so always finite).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

// Only finite values inside the UK's bounds are ever made (see `LatLon::new`), so equality is
// an equivalence relation.
impl Eq for LatLon {}

impl LatLon {
    /// A position inside the UK's bounds; `None` otherwise (or when not finite).
    pub fn new(lat: f64, lon: f64) -> Option<Self> {
        let inside = lat.is_finite()
            && lon.is_finite()
            && (UK_LAT.0..=UK_LAT.1).contains(&lat)
            && (UK_LON.0..=UK_LON.1).contains(&lon);
        inside.then_some(Self { lat, lon })
    }

    /// Optional coordinates as typed: both empty is `None`; one without the other, a number
    /// that does not parse or a place outside the UK is a field error.
    pub fn parse_optional(lat: &str, lon: &str) -> Result<Option<Self>> {
        let (lat, lon) = (lat.trim(), lon.trim());
        if lat.is_empty() && lon.is_empty() {
            return Ok(None);
        }
        let mut errs = Vec::new();
        let num = |field: &str, v: &str, what: &str, errs: &mut Vec<FieldError>| {
            if v.is_empty() {
                errs.push(FieldError::new(
                    field,
                    format!("Enter the {what} too, or neither"),
                ));
                return None;
            }
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    errs.push(FieldError::new(
                        field,
                        format!(
                            "Enter the {what} as a number in decimal degrees, like {}",
                            if what == "latitude" {
                                "51.4812"
                            } else {
                                "-0.3123"
                            }
                        ),
                    ));
                    None
                }
            }
        };
        let la = num("latitude", lat, "latitude", &mut errs);
        let lo = num("longitude", lon, "longitude", &mut errs);
        if let (Some(la), Some(lo)) = (la, lo) {
            if !(UK_LAT.0..=UK_LAT.1).contains(&la) {
                errs.push(FieldError::new(
                    "latitude",
                    "Enter a latitude inside the United Kingdom, between 49.8 and 60.95",
                ));
            }
            if !(UK_LON.0..=UK_LON.1).contains(&lo) {
                errs.push(FieldError::new(
                    "longitude",
                    "Enter a longitude inside the United Kingdom, between -8.7 and 1.8",
                ));
            }
        }
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        match (la, lo) {
            (Some(la), Some(lo)) => Ok(LatLon::new(la, lo)),
            _ => Ok(None),
        }
    }
}

/// Equirectangular projection about a centre: planar metres east (`x`) and north (`y`) of it.
/// Fine at town scale; the error grows with distance from the centre's latitude.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Projection {
    pub lat0: f64,
    pub lon0: f64,
}

impl Projection {
    /// About the mean latitude and longitude of `points` (the UK's middle when there are none).
    pub fn about(points: &[LatLon]) -> Self {
        if points.is_empty() {
            return Self {
                lat0: 54.0,
                lon0: -2.0,
            };
        }
        let n = points.len() as f64;
        Self {
            lat0: points.iter().map(|p| p.lat).sum::<f64>() / n,
            lon0: points.iter().map(|p| p.lon).sum::<f64>() / n,
        }
    }

    fn k(&self) -> f64 {
        self.lat0.to_radians().cos()
    }

    pub fn project(&self, p: LatLon) -> (f64, f64) {
        self.project_raw(p.lat, p.lon)
    }

    /// Any latitude and longitude (a grid's corner may lie outside the UK's bounds).
    pub fn project_raw(&self, lat: f64, lon: f64) -> (f64, f64) {
        let x = EARTH_RADIUS_M * (lon - self.lon0).to_radians() * self.k();
        let y = EARTH_RADIUS_M * (lat - self.lat0).to_radians();
        (x, y)
    }

    /// Back to latitude and longitude (not clamped to the UK: a grid's margin may pass it).
    pub fn unproject(&self, x: f64, y: f64) -> (f64, f64) {
        let lat = self.lat0 + (y / EARTH_RADIUS_M).to_degrees();
        let lon = self.lon0 + (x / (EARTH_RADIUS_M * self.k())).to_degrees();
        (lat, lon)
    }
}

// --- incidents ------------------------------------------------------------------------------------

/// Where an incident comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An intelligence report naming a place (coordinates or a postcode).
    Intelligence,
    /// A missing child found at a postcode.
    Missing,
    /// A concern whose "where did it happen" names a postcode.
    Concern,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Intelligence, Source::Missing, Source::Concern];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Intelligence => "intelligence",
            Source::Missing => "missing",
            Source::Concern => "concern",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::Intelligence => "Intelligence reports",
            Source::Missing => "Missing children found",
            Source::Concern => "Concerns",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One incident with a position. Never anyone's name: a source, a time and a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub source: Source,
    pub at: OffsetDateTime,
    pub position: LatLon,
}

/// A place of concern that can be drawn (its own coordinates or its postcode's point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceMarker {
    pub id: Uuid,
    pub name: String,
    pub position: LatLon,
}

/// Incidents of one source that cannot be placed: their postcode has no point yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unplaced {
    pub source: Source,
    pub postcode: String,
    pub incidents: i64,
}

/// A postcode's point, as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostcodePoint {
    pub postcode: Postcode,
    pub position: LatLon,
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait HotspotRepo: Send {
    /// Every incident with a position (from `since` on, when given), oldest first.
    fn hotspot_incidents(
        &mut self,
        since: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Vec<Incident>>> + Send;
    /// Places of concern that can be drawn, by name.
    fn hotspot_places(&mut self) -> impl Future<Output = Result<Vec<PlaceMarker>>> + Send;
    /// Postcodes named by incidents or places that have no point, with how many incidents (a
    /// place counts as none) name each.
    fn unplaced_postcodes(&mut self) -> impl Future<Output = Result<Vec<Unplaced>>> + Send;
    /// Insert or replace these points; returns how many were new.
    fn upsert_postcode_points(
        &mut self,
        points: &[PostcodePoint],
    ) -> impl Future<Output = Result<u64>> + Send;
    fn point_of_postcode(
        &mut self,
        postcode: &Postcode,
    ) -> impl Future<Output = Result<Option<LatLon>>> + Send;
}

// --- the query ------------------------------------------------------------------------------------

/// The time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Window {
    Days30,
    Days90,
    Days365,
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Days30, Window::Days90, Window::Days365, Window::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Days30 => "30",
            Window::Days90 => "90",
            Window::Days365 => "365",
            Window::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Days30 => "Last 30 days",
            Window::Days90 => "Last 90 days",
            Window::Days365 => "Last 365 days",
            Window::All => "All time",
        }
    }

    /// `30`, `90`, `365` or `all`; anything else is a field error.
    pub fn parse(s: &str) -> Result<Self> {
        Window::ALL
            .into_iter()
            .find(|w| w.as_str() == s.trim())
            .ok_or_else(|| Error::validation("window", "Choose a time window"))
    }

    /// The window's start, `None` for all time.
    pub fn since(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let days = match self {
            Window::Days30 => 30,
            Window::Days90 => 90,
            Window::Days365 => 365,
            Window::All => return None,
        };
        Some(now - Duration::days(days))
    }

    pub fn contains(self, now: OffsetDateTime, at: OffsetDateTime) -> bool {
        self.since(now).is_none_or(|s| at >= s)
    }
}

/// A grid size in metres, one of [`CELL_SIZES`].
pub fn parse_cell(s: &str) -> Result<u32> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|c| CELL_SIZES.contains(c))
        .ok_or_else(|| Error::validation("cell", "Choose a cell size"))
}

/// What to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Query {
    pub window: Window,
    pub cell: u32,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            window: Window::Days365,
            cell: DEFAULT_CELL,
        }
    }
}

impl Query {
    /// From the form or query string (empty values take the defaults).
    pub fn parse(window: Option<&str>, cell: Option<&str>) -> Result<Self> {
        let d = Query::default();
        let mut errs = Vec::new();
        let window = match window.filter(|w| !w.trim().is_empty()) {
            None => d.window,
            Some(w) => Window::parse(w).unwrap_or_else(|_| {
                errs.push(FieldError::new("window", "Choose a time window"));
                d.window
            }),
        };
        let cell = match cell.filter(|c| !c.trim().is_empty()) {
            None => d.cell,
            Some(c) => parse_cell(c).unwrap_or_else(|_| {
                errs.push(FieldError::new("cell", "Choose a cell size"));
                d.cell
            }),
        };
        if errs.is_empty() {
            Ok(Self { window, cell })
        } else {
            Err(Error::Validation(errs))
        }
    }
}

// --- who sees what --------------------------------------------------------------------------------

/// What a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Police intelligence officers and analysts in a police organisation: every cell and the
    /// incident points.
    Police,
    /// Partnership managers, MACE chairs and analysts outside the police: cells with at least
    /// [`MIN_CELL_COUNT`] incidents, no points.
    Aggregate,
}

/// Who may open the hotspots, and how much they see; `None` is refused.
pub fn audience(actor: &Actor) -> Option<Audience> {
    if actor.is_police() && actor.any(&[Role::PoliceIntelligenceOfficer, Role::Analyst]) {
        Some(Audience::Police)
    } else if actor.any(&[Role::PartnershipManager, Role::MaceChair, Role::Analyst]) {
        Some(Audience::Aggregate)
    } else {
        None
    }
}

// --- the view -------------------------------------------------------------------------------------

/// A Gi* cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterKind {
    Hot,
    Cold,
    None,
}

impl ClusterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterKind::Hot => "hot",
            ClusterKind::Cold => "cold",
            ClusterKind::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ClusterKind::Hot => "Hotspot",
            ClusterKind::Cold => "Cold spot",
            ClusterKind::None => "Not significant",
        }
    }
}

/// One grid cell as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// `j * nx + i`.
    pub index: usize,
    /// Column (west to east) and row (south to north).
    pub i: usize,
    pub j: usize,
    pub count: u32,
    /// Gaussian kernel density at the cell's centre (incidents per square kilometre).
    pub density: f64,
    /// Getis-Ord Gi* z-score.
    pub z: f64,
    pub cluster: ClusterKind,
    pub centre: (f64, f64),
    /// South-west and north-east corners (latitude, longitude).
    pub south_west: (f64, f64),
    pub north_east: (f64, f64),
    /// Places of concern near the cell's centre.
    pub nearby: Vec<String>,
}

/// The grid's geometry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GridInfo {
    /// Planar metres of the south-west corner from the projection's centre.
    pub x0: f64,
    pub y0: f64,
    pub cell: f64,
    pub nx: usize,
    pub ny: usize,
    pub projection: Projection,
    /// The grid's corners (latitude, longitude).
    pub south_west: (f64, f64),
    pub north_east: (f64, f64),
}

impl GridInfo {
    /// A planar position's latitude and longitude.
    pub fn latlon(&self, x: f64, y: f64) -> (f64, f64) {
        self.projection.unproject(x, y)
    }
}

/// A count as shown: `None` when withheld (one to four, outside police roles).
pub type Shown = Option<u32>;

/// Counts for one row of a table: per source, and the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    pub label: String,
    /// `30`, `90`, `365`, `all`, or a month `2026-03`.
    pub key: String,
    pub intelligence: Shown,
    pub missing: Shown,
    pub concerns: Shown,
    pub total: Shown,
}

/// An incident point (police only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub source: Source,
    pub at: OffsetDateTime,
    pub lat: f64,
    pub lon: f64,
    pub x: f64,
    pub y: f64,
}

/// Everything the page and the API show, already cut down for the viewer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotspotView {
    pub audience: Audience,
    pub query_window: Window,
    pub cell_size: u32,
    pub min_count: u32,
    pub alpha: f64,
    pub fdr: bool,
    /// The kernel's bandwidth (standard deviation), metres.
    pub bandwidth: f64,
    /// Incidents in the window (all of them, placed on the grid or not hidden by suppression).
    pub incidents_in_window: usize,
    /// `None` when there is nothing to draw or the grid would be too large.
    pub grid: Option<GridInfo>,
    /// The grid would pass [`MAX_CELLS`]: choose a larger cell.
    pub too_large: bool,
    /// Cells with something to show (police: any incident, significance or visible density;
    /// others: at least the minimum count).
    pub cells: Vec<Cell>,
    /// Cells left out because they hold fewer than the minimum (0 for police).
    pub suppressed_cells: usize,
    /// The largest density among the cells shown (for shading).
    pub max_density: f64,
    /// Incident points (police only; empty otherwise).
    pub points: Vec<Point>,
    pub places: Vec<PlaceMarker>,
    pub windows: Vec<CountRow>,
    pub months: Vec<CountRow>,
    /// Incidents that could not be placed, per source (withheld like any count).
    pub unplaced: Vec<(Source, Shown)>,
}

impl HotspotView {
    pub fn significant(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.cluster != ClusterKind::None)
    }
}

fn shown(audience: Audience, n: usize) -> Shown {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    match audience {
        Audience::Aggregate if (1..MIN_CELL_COUNT).contains(&n) => None,
        _ => Some(n),
    }
}

fn count_row(
    audience: Audience,
    label: String,
    key: String,
    incidents: &[Incident],
    keep: impl Fn(&Incident) -> bool,
) -> CountRow {
    let of = |s: Source| {
        incidents
            .iter()
            .filter(|i| i.source == s && keep(i))
            .count()
    };
    let (intel, missing, concerns) = (
        of(Source::Intelligence),
        of(Source::Missing),
        of(Source::Concern),
    );
    CountRow {
        label,
        key,
        intelligence: shown(audience, intel),
        missing: shown(audience, missing),
        concerns: shown(audience, concerns),
        total: shown(audience, intel + missing + concerns),
    }
}

fn month_start(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

fn previous_month(d: Date) -> Date {
    let (y, m) = if d.month() == Month::January {
        (d.year() - 1, Month::December)
    } else {
        (d.year(), d.month().previous())
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(d)
}

/// The kernel bandwidth used for a cell size: twice the cell, at least 200 metres.
pub fn bandwidth_for(cell: u32) -> f64 {
    (f64::from(cell) * 2.0).max(200.0)
}

/// Compute what `audience` sees: pure, so it can be tested without storage. Suppression is
/// applied here, before anything is returned.
pub fn compute(
    audience: Audience,
    q: Query,
    now: OffsetDateTime,
    incidents: &[Incident],
    places: &[PlaceMarker],
    unplaced: &[Unplaced],
) -> HotspotView {
    let in_window: Vec<Incident> = incidents
        .iter()
        .filter(|i| q.window.contains(now, i.at))
        .copied()
        .collect();
    let windows = Window::ALL
        .into_iter()
        .map(|w| {
            count_row(
                audience,
                w.label().to_string(),
                w.as_str().to_string(),
                incidents,
                |i| w.contains(now, i.at),
            )
        })
        .collect();
    let mut months = Vec::with_capacity(12);
    let mut m = month_start(now.date());
    for _ in 0..12 {
        let start = m;
        let next = if m.month() == Month::December {
            Date::from_calendar_date(m.year() + 1, Month::January, 1)
        } else {
            Date::from_calendar_date(m.year(), m.month().next(), 1)
        }
        .unwrap_or(m);
        months.push(count_row(
            audience,
            format!("{} {}", start.month(), start.year()),
            format!("{:04}-{:02}", start.year(), u8::from(start.month())),
            incidents,
            |i| i.at.date() >= start && i.at.date() < next,
        ));
        m = previous_month(m);
    }
    let mut unplaced_by = Vec::new();
    for s in Source::ALL {
        let n: i64 = unplaced
            .iter()
            .filter(|u| u.source == s)
            .map(|u| u.incidents)
            .sum();
        unplaced_by.push((s, shown(audience, usize::try_from(n).unwrap_or(0))));
    }
    let bandwidth = bandwidth_for(q.cell);
    let mut view = HotspotView {
        audience,
        query_window: q.window,
        cell_size: q.cell,
        min_count: MIN_CELL_COUNT,
        alpha: ALPHA,
        fdr: FDR,
        bandwidth,
        incidents_in_window: in_window.len(),
        grid: None,
        too_large: false,
        cells: Vec::new(),
        suppressed_cells: 0,
        max_density: 0.0,
        points: Vec::new(),
        places: places.to_vec(),
        windows,
        months,
        unplaced: unplaced_by,
    };
    let mut all: Vec<LatLon> = in_window.iter().map(|i| i.position).collect();
    all.extend(places.iter().map(|p| p.position));
    if all.is_empty() {
        return view;
    }
    let projection = Projection::about(&all);
    let xy: Vec<(f64, f64)> = in_window
        .iter()
        .map(|i| projection.project(i.position))
        .collect();
    let mut cover = xy.clone();
    cover.extend(places.iter().map(|p| projection.project(p.position)));
    let cell = f64::from(q.cell);
    let Some(grid) = stats::Grid::covering(&cover, cell, MARGIN_CELLS, MAX_CELLS) else {
        view.too_large = true;
        return view;
    };
    let info = GridInfo {
        x0: grid.x0,
        y0: grid.y0,
        cell: grid.cell,
        nx: grid.nx,
        ny: grid.ny,
        projection,
        south_west: projection.unproject(grid.x0, grid.y0),
        north_east: projection.unproject(
            grid.x0 + grid.cell * grid.nx as f64,
            grid.y0 + grid.cell * grid.ny as f64,
        ),
    };
    view.grid = Some(info);
    let counts = stats::counts(&grid, &xy);
    // The analytics crate's density integrates to one (per square metre); times the number of
    // incidents it is incidents per square metre, shown per square kilometre.
    let scale = xy.len() as f64 * 1_000_000.0;
    let density: Vec<f64> = stats::density(&grid, &xy, bandwidth)
        .into_iter()
        .map(|d| d * scale)
        .collect();
    let z = stats::gi_star(grid.nx, grid.ny, &counts);
    let clusters = stats::clusters(&z, ALPHA, FDR);
    let peak = density.iter().copied().fold(0.0_f64, f64::max);
    let place_xy: Vec<(String, (f64, f64))> = places
        .iter()
        .map(|p| (p.name.clone(), projection.project(p.position)))
        .collect();
    let near = cell.max(300.0);
    for index in 0..grid.len() {
        let count = counts.get(index).copied().unwrap_or(0.0).max(0.0).round() as u32;
        let d = density.get(index).copied().unwrap_or(0.0);
        let zi = z.get(index).copied().unwrap_or(0.0);
        let cluster = match clusters.get(index) {
            Some(stats::Cluster::Hot) => ClusterKind::Hot,
            Some(stats::Cluster::Cold) => ClusterKind::Cold,
            _ => ClusterKind::None,
        };
        let keep = match audience {
            Audience::Police => count > 0 || cluster != ClusterKind::None || d >= peak * 0.02,
            Audience::Aggregate => {
                if count >= MIN_CELL_COUNT {
                    true
                } else {
                    if count > 0 {
                        view.suppressed_cells += 1;
                    }
                    false
                }
            }
        };
        if !keep || peak <= 0.0 && count == 0 && cluster == ClusterKind::None {
            continue;
        }
        let (cx, cy) = grid.centre(index);
        let (i, j) = (index % grid.nx, index / grid.nx);
        let (sx, sy) = (grid.x0 + cell * i as f64, grid.y0 + cell * j as f64);
        let mut nearby: Vec<(f64, String)> = place_xy
            .iter()
            .map(|(n, (px, py))| (((px - cx).powi(2) + (py - cy).powi(2)).sqrt(), n.clone()))
            .filter(|(dist, _)| *dist <= near)
            .collect();
        nearby.sort_by(|a, b| a.0.total_cmp(&b.0));
        view.cells.push(Cell {
            index,
            i,
            j,
            count,
            density: d,
            z: zi,
            cluster,
            centre: projection.unproject(cx, cy),
            south_west: projection.unproject(sx, sy),
            north_east: projection.unproject(sx + cell, sy + cell),
            nearby: nearby.into_iter().take(3).map(|(_, n)| n).collect(),
        });
    }
    view.max_density = view.cells.iter().map(|c| c.density).fold(0.0, f64::max);
    if audience == Audience::Police {
        view.points = in_window
            .iter()
            .zip(&xy)
            .map(|(i, (x, y))| Point {
                source: i.source,
                at: i.at,
                lat: i.position.lat,
                lon: i.position.lon,
                x: *x,
                y: *y,
            })
            .collect();
    }
    view
}

/// The hotspots for `actor` (refused and recorded for roles that may not see them). Audited as
/// a consultation: the incident points derive from children's records.
pub async fn view<R: HotspotRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    q: Query,
) -> Result<HotspotView> {
    let Some(aud) = audience(actor) else {
        let mut e = cases::untargeted(ctx, actor, Category::AuthzDenied, "hotspots.view");
        e.outcome = Outcome::Denied;
        e.detail = Some("{\"reason\":\"not_permitted_for_role\"}".into());
        tx.append(key, ctx.ids.new_id(), &e).await?;
        return Err(Error::Forbidden {
            reason: "not_permitted_for_role".into(),
        });
    };
    let incidents = tx.hotspot_incidents(None).await?;
    let places = tx.hotspot_places().await?;
    let unplaced = tx.unplaced_postcodes().await?;
    let v = compute(aud, q, ctx.clock.now(), &incidents, &places, &unplaced);
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "hotspots.view");
    e.detail = Some(format!(
        "{{\"window\":\"{}\",\"cell\":{},\"audience\":\"{}\",\"incidents\":{},\"cells\":{},\"points\":{}}}",
        q.window.as_str(),
        q.cell,
        match aud {
            Audience::Police => "police",
            Audience::Aggregate => "aggregate",
        },
        v.incidents_in_window,
        v.cells.len(),
        v.points.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(v)
}

// --- slippy-map tiles -----------------------------------------------------------------------------

/// The tiles covering a box, for drawing on a web map (Web Mercator, 256-pixel tiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRange {
    pub z: u8,
    pub x0: u32,
    pub y0: u32,
    pub nx: u32,
    pub ny: u32,
}

/// Fractional tile coordinates of a position at zoom `z`.
pub fn tile_xy(lat: f64, lon: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1_u32 << z.min(24));
    let x = (lon + 180.0) / 360.0 * n;
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x, y)
}

impl TileRange {
    /// The deepest zoom (at most `max_zoom`) at which the box fits in `max_x` by `max_y` tiles.
    pub fn covering(
        south_west: (f64, f64),
        north_east: (f64, f64),
        max_zoom: u8,
        max_x: u32,
        max_y: u32,
    ) -> Option<TileRange> {
        for z in (1..=max_zoom.min(19)).rev() {
            let (ax, ay) = tile_xy(north_east.0, south_west.1, z);
            let (bx, by) = tile_xy(south_west.0, north_east.1, z);
            if !(ax.is_finite() && ay.is_finite() && bx.is_finite() && by.is_finite()) {
                return None;
            }
            let (x0, y0) = (ax.floor() as u32, ay.floor() as u32);
            let (x1, y1) = (bx.floor() as u32, by.floor() as u32);
            let (nx, ny) = (x1.saturating_sub(x0) + 1, y1.saturating_sub(y0) + 1);
            if nx <= max_x && ny <= max_y {
                return Some(TileRange { z, x0, y0, nx, ny });
            }
        }
        None
    }

    /// A position's pixel on the mosaic of these tiles.
    pub fn pixel(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (x, y) = tile_xy(lat, lon, self.z);
        (
            (x - f64::from(self.x0)) * 256.0,
            (y - f64::from(self.y0)) * 256.0,
        )
    }
}

// --- importing postcode points --------------------------------------------------------------------

/// A row of a postcode points file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Reads a postcode points CSV: a header naming `postcode`, `latitude` and `longitude` (or the
/// ONS Postcode Directory's `pcds`/`pcd`, `lat` and `long`), in any order among other columns.
/// Each row gives a point or a [`BadRow`] with its line number.
pub struct PointReader<R: std::io::Read> {
    reader: csv::Reader<R>,
    cols: (usize, usize, usize),
    record: csv::StringRecord,
}

impl<R: std::io::Read> PointReader<R> {
    /// Read the header; an error names the columns that are missing.
    pub fn new(input: R) -> std::result::Result<Self, BadRow> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|_| BadRow {
                line: 1,
                reason: "the header row cannot be read (is it UTF-8 CSV?)".into(),
            })?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        // The first name listed that is present wins (pcds before pcd).
        let find = |wanted: &[&str]| {
            wanted
                .iter()
                .find_map(|w| names.iter().position(|h| h == w))
        };
        let pc = find(&["postcode", "pcds", "pcd", "pcd2"]);
        let lat = find(&["latitude", "lat"]);
        let lon = find(&["longitude", "long", "lon", "lng"]);
        match (pc, lat, lon) {
            (Some(a), Some(b), Some(c)) => Ok(Self {
                reader,
                cols: (a, b, c),
                record: csv::StringRecord::new(),
            }),
            _ => Err(BadRow {
                line: 1,
                reason: "the header must name the columns postcode, latitude and longitude \
                         (or the ONS Postcode Directory's pcds, lat and long)"
                    .into(),
            }),
        }
    }
}

impl<R: std::io::Read> Iterator for PointReader<R> {
    type Item = std::result::Result<PostcodePoint, BadRow>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                // A broken row: report it; the reader moves on to the next one.
                Some(Err(BadRow {
                    line,
                    reason: "the row cannot be read as CSV (or is not UTF-8)".into(),
                }))
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                let r = &self.record;
                let get = |i: usize| r.get(i).unwrap_or("").trim();
                let Ok(postcode) = Postcode::parse(get(self.cols.0)) else {
                    return Some(Err(BadRow {
                        line,
                        reason: "the postcode is not a valid UK postcode".into(),
                    }));
                };
                let lat = get(self.cols.1).parse::<f64>().ok();
                let lon = get(self.cols.2).parse::<f64>().ok();
                let Some(position) = lat.zip(lon).and_then(|(a, b)| LatLon::new(a, b)) else {
                    return Some(Err(BadRow {
                        line,
                        reason: "the latitude and longitude must be numbers inside the United \
                                 Kingdom"
                            .into(),
                    }));
                };
                Some(Ok(PostcodePoint { postcode, position }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

    fn at(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).expect("in the UK")
    }

    #[test]
    fn projection_round_trips_and_measures_metres() {
        let pts = [at(51.48, 0.32), at(51.50, 0.36), at(51.46, 0.30)];
        let p = Projection::about(&pts);
        for q in pts {
            let (x, y) = p.project(q);
            let (lat, lon) = p.unproject(x, y);
            assert!((lat - q.lat).abs() < 1e-12 && (lon - q.lon).abs() < 1e-12);
        }
        // One hundredth of a degree of latitude is about 1,112 metres.
        let (_, y1) = p.project(at(51.48, 0.32));
        let (_, y2) = p.project(at(51.49, 0.32));
        assert!(((y2 - y1) - 1111.95).abs() < 1.0, "{}", y2 - y1);
    }

    #[test]
    fn coordinates_are_checked_against_the_uk() {
        assert_eq!(LatLon::parse_optional("", " ").ok(), Some(None));
        assert!(LatLon::parse_optional("51.5", "0.1").is_ok_and(|p| p.is_some()));
        for (a, b) in [
            ("51.5", ""),
            ("north", "0.1"),
            ("40.7", "-74.0"),
            ("NaN", "0.1"),
        ] {
            assert!(LatLon::parse_optional(a, b).is_err(), "{a},{b}");
        }
        assert!(LatLon::new(f64::INFINITY, 0.0).is_none());
    }

    #[test]
    fn windows_filter_by_time() {
        let i = |days: i64| Incident {
            source: Source::Missing,
            at: NOW - Duration::days(days),
            position: at(51.48, 0.32),
        };
        let incidents = [i(1), i(29), i(31), i(89), i(200), i(400)];
        let count = |w: Window| incidents.iter().filter(|x| w.contains(NOW, x.at)).count();
        assert_eq!(count(Window::Days30), 2);
        assert_eq!(count(Window::Days90), 4);
        assert_eq!(count(Window::Days365), 5);
        assert_eq!(count(Window::All), 6);
        let q = Query {
            window: Window::Days90,
            cell: 250,
        };
        let v = compute(Audience::Police, q, NOW, &incidents, &[], &[]);
        assert_eq!(v.incidents_in_window, 4);
        assert_eq!(v.points.len(), 4);
        assert_eq!(v.windows[0].missing, Some(2));
        assert_eq!(v.windows[3].total, Some(6));
        assert!(Window::parse("7").is_err());
        assert!(Query::parse(Some("all"), Some("333")).is_err());
        assert_eq!(Query::parse(None, None).ok(), Some(Query::default()));
    }

    /// A cluster of 8 incidents in one place, and scattered single ones.
    fn scene() -> Vec<Incident> {
        let mut v = Vec::new();
        for k in 0..8 {
            v.push(Incident {
                source: if k % 2 == 0 {
                    Source::Missing
                } else {
                    Source::Intelligence
                },
                at: NOW - Duration::days(k),
                position: at(51.4800 + 0.000_001 * k as f64, 0.3200),
            });
        }
        for k in 0..6 {
            v.push(Incident {
                source: Source::Intelligence,
                at: NOW - Duration::days(3 + k),
                position: at(51.45 + 0.01 * k as f64, 0.28 + 0.012 * k as f64),
            });
        }
        v
    }

    #[test]
    fn suppression_never_leaks_a_cell_under_the_minimum() {
        let q = Query {
            window: Window::All,
            cell: 250,
        };
        let incidents = scene();
        let police = compute(Audience::Police, q, NOW, &incidents, &[], &[]);
        assert!(
            police
                .cells
                .iter()
                .any(|c| c.count > 0 && c.count < MIN_CELL_COUNT)
        );
        assert_eq!(police.points.len(), incidents.len());
        let agg = compute(Audience::Aggregate, q, NOW, &incidents, &[], &[]);
        assert!(agg.points.is_empty());
        assert!(!agg.cells.is_empty());
        assert!(
            agg.cells.iter().all(|c| c.count >= MIN_CELL_COUNT),
            "{:?}",
            agg.cells
        );
        assert!(agg.suppressed_cells > 0);
        // Counts of one to four are withheld in the tables too.
        for row in agg.windows.iter().chain(&agg.months) {
            for n in [row.intelligence, row.missing, row.concerns, row.total]
                .into_iter()
                .flatten()
            {
                assert!(n == 0 || n >= MIN_CELL_COUNT, "{row:?}");
            }
        }
        let max = agg.cells.iter().map(|c| c.density).fold(0.0, f64::max);
        assert_eq!(agg.max_density, max);
    }

    #[test]
    fn only_named_roles_see_hotspots() {
        use crate::authz::OrgType;
        let actor = |org_type, role| Actor {
            user_id: Uuid::from_u128(1),
            org_id: Uuid::from_u128(2),
            org_type,
            roles: vec![role],
            mfa_at: None,
            now: NOW,
        };
        assert_eq!(
            audience(&actor(OrgType::Police, Role::PoliceIntelligenceOfficer)),
            Some(Audience::Police)
        );
        assert_eq!(
            audience(&actor(OrgType::Police, Role::Analyst)),
            Some(Audience::Police)
        );
        assert_eq!(
            audience(&actor(OrgType::Partnership, Role::PartnershipManager)),
            Some(Audience::Aggregate)
        );
        assert_eq!(
            audience(&actor(OrgType::Police, Role::MaceChair)),
            Some(Audience::Aggregate)
        );
        assert_eq!(
            audience(&actor(
                OrgType::ChildrensSocialCare,
                Role::PoliceIntelligenceOfficer
            )),
            None
        );
        assert_eq!(
            audience(&actor(OrgType::School, Role::DesignatedSafeguardingLead)),
            None
        );
    }

    #[test]
    fn tiles_cover_the_box() {
        let t = TileRange::covering((51.45, 0.28), (51.52, 0.38), 18, 4, 4).expect("fits");
        assert!(t.nx <= 4 && t.ny <= 4 && t.z >= 12, "{t:?}");
        let (x, y) = t.pixel(51.45, 0.28);
        assert!(x >= 0.0 && y >= 0.0 && x <= 256.0 * 4.0 && y <= 256.0 * 4.0);
        // London at zoom 10: tile 511, 340 (the usual slippy-map numbers).
        let (x, y) = tile_xy(51.5074, -0.1278, 10);
        assert_eq!((x.floor(), y.floor()), (511.0, 340.0));
    }

    #[test]
    fn point_files_with_either_header_and_bad_rows() {
        let text = "postcode,latitude,longitude\nss1 2ab,51.54,0.71\nnot a postcode,51.5,0.1\nRM17 6AB,abc,0.3\nRM20 3ZZ,40.0,0.3\n";
        let rows: Vec<_> = PointReader::new(text.as_bytes()).expect("header").collect();
        assert_eq!(rows.len(), 4);
        let ok = rows[0].as_ref().expect("first row");
        assert_eq!(ok.postcode.as_str(), "SS1 2AB");
        assert_eq!(
            rows.iter()
                .filter_map(|r| r.as_ref().err().map(|b| b.line))
                .collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        let ons = "\u{feff}pcd,pcds,dointr,lat,long\nSS1 2AB,SS1 2AB,199901,51.54,0.71\n";
        let rows: Vec<_> = PointReader::new(ons.as_bytes()).expect("header").collect();
        assert!(rows[0].is_ok());
        assert!(PointReader::new("code,x,y\n".as_bytes()).is_err());
    }
}
