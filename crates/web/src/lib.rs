//! mace's web layer: the HTML shell (askama templates with GOV.UK Frontend markup), the JSON API
//! under `/api/v1` with its OpenAPI 3.1 document, health checks, and the middleware every
//! response passes through (security headers with a per-response CSP nonce, request ids,
//! structured request logs, panic catching, body limit, timeout, uniform error pages).
//!
//! The binary wires it: build an [`AppState`], call [`router`], hand the result to `axum::serve`.

pub mod admin;
pub mod api;
pub mod assessments;
pub mod assets;
pub mod auth;
pub mod cases;
mod cases_api;
pub mod chronology;
pub mod components;
pub mod concern_form;
pub mod duplicates;
pub mod error;
pub mod format;
pub(crate) mod forms;
mod health;
pub mod hotspots;
pub mod identifiers;
pub mod intelligence;
mod middleware;
pub mod missing;
mod names;
pub mod networks;
pub mod nrm;
pub mod pages;
mod pdf;
pub mod people;
pub mod plans;
pub mod programmes;
pub mod referrals;
pub mod search;
pub mod teams;
pub mod tokens;

pub use api::openapi;
pub use error::{ErrorInfo, WebError};
pub use middleware::{CspNonce, RequestId};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;

/// How the web layer behaves. The binary fills this from its configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Running with synthetic demo data: every page shows the "demo: synthetic data" banner.
    pub demo: bool,
    /// The service name shown in the header and page titles.
    pub service_name: String,
    /// How long a request may take before it is answered with 503.
    pub request_timeout: Duration,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Argon2id parameters for new password hashes (tests use cheap ones).
    pub hash_params: mace_domain::identity::password::HashParams,
    /// Idle and absolute session timeouts.
    pub session_policy: mace_domain::identity::model::SessionPolicy,
    /// A map tile server's URL template with `{z}`, `{x}` and `{y}` (for example
    /// `https://tile.example.org/{z}/{x}/{y}.png`); `None` draws the hotspots as a plain grid.
    /// Its origin is added to the CSP's `img-src`.
    pub map_tile_url: Option<String>,
    /// The tile server's attribution, shown under the map.
    pub map_attribution: String,
}

impl WebSettings {
    /// The tile server's origin (`https://host[:port]`), for the CSP.
    pub fn map_tile_origin(&self) -> Option<String> {
        let url = self.map_tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        if !matches!(scheme, "https" | "http") {
            return None;
        }
        let host = rest.split(['/', '?', '#']).next()?;
        let ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        ok.then(|| format!("{scheme}://{host}"))
    }
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            demo: false,
            service_name: "mace".to_string(),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            hash_params: mace_domain::identity::password::HashParams::default(),
            session_policy: mace_domain::identity::model::SessionPolicy::default(),
            map_tile_url: None,
            map_attribution: String::new(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: mace_store::Store,
    pub ctx: mace_domain::Ctx,
    pub settings: Arc<WebSettings>,
    /// The audit chain's key, loaded from outside the database.
    pub audit_key: mace_domain::audit::ChainKey,
    /// The report graph in memory, caught up from the store on each network read.
    pub networks: Arc<mace_domain::networks::NetworkCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish()
    }
}

/// mace's routes, without the middleware.
fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/accessibility", get(pages::accessibility))
        .route("/privacy", get(pages::privacy))
        .route("/sign-in", get(auth::sign_in_form).post(auth::sign_in))
        .route("/mfa/enrol", get(auth::enrol_form).post(auth::enrol))
        .route("/mfa/verify", get(auth::verify_form).post(auth::verify))
        .route("/sign-out", get(auth::sign_out_form).post(auth::sign_out))
        .route("/account", get(auth::account))
        .route("/account/tokens", get(tokens::list).post(tokens::create))
        .route(
            "/account/tokens/{id}/revoke",
            axum::routing::post(tokens::revoke),
        )
        .route(
            "/account/password",
            get(auth::password_form).post(auth::change_password),
        )
        .route("/children", get(cases::children))
        .route(
            "/children/search",
            axum::routing::post(cases::children_search),
        )
        .route("/children/new", axum::routing::post(cases::new_child))
        .route("/children/duplicates", get(duplicates::review))
        .route(
            "/children/duplicates/dismiss",
            axum::routing::post(duplicates::dismiss),
        )
        .route(
            "/children/merge",
            get(duplicates::merge_form).post(duplicates::merge),
        )
        .route(
            "/merges/{id}/undo",
            axum::routing::post(duplicates::unmerge),
        )
        .route("/children/{id}", get(cases::record))
        .route(
            "/children/{id}/break-glass",
            get(cases::break_glass_form).post(cases::break_glass),
        )
        .route("/children/{id}/access-log", get(cases::access_log))
        .route(
            "/children/{id}/school",
            get(people::school_form).post(people::set_school),
        )
        .route(
            "/children/{id}/related",
            get(people::related_form).post(people::add_related),
        )
        .route(
            "/children/{id}/related/find",
            axum::routing::post(people::related_find),
        )
        .route("/children/{id}/assessments", get(assessments::trajectory))
        .route(
            "/children/{id}/assessments/new",
            get(assessments::new_form).post(assessments::submit),
        )
        .route("/assessments/{id}", get(assessments::view))
        .route(
            "/assessments/{id}/sign-off",
            axum::routing::post(assessments::sign_off),
        )
        .route("/framework", get(assessments::framework))
        .route(
            "/framework/indicators",
            axum::routing::post(assessments::add_indicator),
        )
        .route(
            "/framework/indicators/{code}/retire",
            axum::routing::post(assessments::retire_indicator),
        )
        .route(
            "/framework/settings",
            axum::routing::post(assessments::change_settings),
        )
        .route("/work", get(assessments::work))
        .route("/children/{id}/plan", get(plans::plan))
        .route("/children/{id}/plan.pdf", get(plans::pdf))
        .route(
            "/children/{id}/plan/new",
            get(plans::plan_form).post(plans::plan_create),
        )
        .route(
            "/children/{id}/plan/actions",
            get(plans::action_form).post(plans::action_add),
        )
        .route(
            "/children/{id}/plan/meetings",
            get(plans::meeting_form).post(plans::meeting_add),
        )
        .route(
            "/children/{id}/plan/reviews",
            get(plans::review_form).post(plans::review_add),
        )
        .route(
            "/children/{id}/plan/close",
            get(plans::close_form).post(plans::close),
        )
        .route(
            "/plan-actions/{id}",
            get(plans::update_form).post(plans::update),
        )
        .route("/work/actions", get(plans::work_actions))
        .route("/work/team", get(teams::page))
        .route("/people/{id}", get(people::person))
        .route(
            "/people/{id}/addresses",
            get(people::address_form).post(people::add_address),
        )
        .route(
            "/people/{id}/identifiers",
            get(identifiers::form).post(identifiers::add),
        )
        .route(
            "/children/{id}/identifiers",
            get(identifiers::form).post(identifiers::add),
        )
        .route(
            "/children/{id}/chronology/{entry_id}/correct",
            get(chronology::correct_form).post(chronology::correct),
        )
        .route("/children/{id}/markings", axum::routing::post(cases::mark))
        .route("/privacy-queue", get(cases::privacy_queue))
        .route("/admin", get(admin::index))
        .route(
            "/admin/organisations",
            axum::routing::post(admin::create_org),
        )
        .route(
            "/admin/users/new",
            get(admin::new_user_form).post(admin::create_user),
        )
        .route(
            "/admin/users/import",
            get(admin::import_form).post(admin::import_users),
        )
        .route("/admin/users/{id}", get(admin::user))
        .route(
            "/admin/front-door",
            axum::routing::post(admin::set_front_door),
        )
        .route(
            "/admin/users/{id}/roles",
            axum::routing::post(admin::set_roles),
        )
        .route(
            "/admin/users/{id}/status",
            axum::routing::post(admin::set_status),
        )
        .route("/admin/teams", axum::routing::post(admin::create_team))
        .route(
            "/admin/users/{id}/team",
            axum::routing::post(admin::set_team),
        )
        .route("/search", get(search::form).post(search::run))
        .route("/concerns", get(cases::concerns))
        .route("/concerns/new", get(cases::find_form))
        .route("/concerns/find", axum::routing::post(cases::find))
        .route(
            "/concerns/new/{person_id}",
            get(concern_form::concern_form).post(concern_form::raise),
        )
        .route(
            "/concerns/new/{person_id}/draft",
            axum::routing::post(concern_form::autosave),
        )
        .route("/concerns/{id}", get(cases::concern))
        .route("/concerns/{id}/triage", axum::routing::post(cases::triage))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/assets/{hash}/{*name}", get(assets::serve))
        .merge(referrals::routes())
        .merge(programmes::routes())
        .merge(nrm::routes())
        .merge(missing::routes())
        .merge(intelligence::routes())
        .merge(networks::routes())
        .merge(hotspots::routes())
        .nest("/api/v1", api::routes())
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
}

/// The whole application, fully layered and ready for `axum::serve`.
pub fn router(state: AppState) -> Router {
    router_with_extra(state, Router::new())
}

/// [`router`] with extra routes merged in before the middleware is applied, so they get exactly
/// the same treatment (headers, error pages, panic catching). Tests use it to add a route that
/// panics or sleeps; production passes nothing.
pub fn router_with_extra(state: AppState, extra: Router<AppState>) -> Router {
    let app = routes(&state).merge(extra).fallback(error::fallback);
    middleware::layered(app, state)
}
