//! Networks in the browser and the API (issue 7, item 4): the connected networks with their
//! central entities and the emerging-network alerts (`/networks`), one entity's neighbourhood
//! with its network's communities (`/networks/entities/{id}`: a table without JavaScript, an
//! interactive drawing with it), the shortest link between two people (`/networks/path`), and
//! the alert rules police users tune (`/networks/rules`). The services are
//! [`mace_domain::networks`]; handlers only shape what is shown.

use crate::AppState;
use crate::auth::{Auth, FormState, SignedIn, page_reply, title_for};
use crate::cases::{as_user, with_actor};
use crate::error::{WebError, json_response};
use crate::format;
use crate::forms::{Posted, kept, value};
use crate::pages::{Layout, PageContext};
use crate::tokens::ApiCaller;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use mace_domain::Error;
use mace_domain::networks::{
    self, AlertRule, Central, EntityKind, Neighbourhood, Overview, RuleInput, ShownNode, Step, View,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// This module's pages, merged into the router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(overview_page))
        .route("/networks/entities/{id}", get(entity_page))
        .route("/networks/path", get(path_page))
        .route("/networks/rules", get(rules_page).post(rule_create))
        .route(
            "/networks/rules/{id}",
            get(rule_edit_page).post(rule_update),
        )
        .route(
            "/networks/alerts/{id}/acknowledge",
            get(ack_page).post(ack_save),
        )
}

/// This module's JSON API under `/api/v1`.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(api_overview))
        .route("/networks/entities/{id}", get(api_entity))
        .route("/networks/path", get(api_path))
        .route(
            "/networks/alert-rules",
            get(api_rules).post(api_rule_create),
        )
        .route("/networks/alert-rules/{id}", put(api_rule_update))
        .route("/networks/alerts/{id}/acknowledge", post(api_ack))
}

/// This module's part of the OpenAPI document (paths, schemas and tag), merged into it.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_overview, api_entity, api_path, api_rules, api_rule_create, api_rule_update, api_ack),
    components(schemas(
        NetworkOverviewDto, NetworkSummaryDto, NetworkCentralDto, NetworkAlertDto,
        NetworkNeighbourhoodDto, NetworkNodeDto, NetworkCommunityDto, NetworkStepDto,
        NetworkAlertRuleDto, NetworkAlertRuleInputDto, NetworkAcknowledgeDto, NetworkAcknowledgedDto
    )),
    tags((name = "networks", description = "Networks of intelligence reports and the entities they name, and emerging-network alerts"))
)]
pub(crate) struct Doc;

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn kind_label(code: &str) -> &'static str {
    if code == "report" {
        return "Intelligence report";
    }
    EntityKind::parse(code).map_or("Entity", EntityKind::label)
}

// --- overview -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "networks/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub o: Overview,
    pub notice: Option<&'static str>,
}

impl OverviewPage {
    fn central_text(c: &[Central]) -> String {
        c.iter()
            .map(|c| {
                format!(
                    "{} ({}, {} links)",
                    c.label,
                    kind_label(c.kind).to_lowercase(),
                    c.degree
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn when(&self, t: &OffsetDateTime) -> String {
        format::date(*t)
    }
    fn kind(&self, k: &EntityKind) -> &'static str {
        k.label()
    }
}

#[derive(Debug, Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

async fn overview_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let cache = state.networks.clone();
    let o = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(async move { networks::overview(&ctx, tx, &key, &actor, &cache, 50).await })
    })
    .await?;
    let notice = match q.done.as_deref() {
        Some("acknowledged") => Some("The alert has been acknowledged."),
        Some("rule") => Some("The alert rule has been saved."),
        _ => None,
    };
    let page = OverviewPage {
        layout: Layout::from_ctx(&state, ctx, "Networks"),
        o,
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

// --- one entity ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HopsQuery {
    /// How many steps out from the entity (1 to 3; 2 when not given).
    pub hops: Option<u8>,
}

/// The drawing's data for the browser script: nodes and edges, escaped for a `<script>` block.
#[derive(Serialize)]
struct Drawing<'a> {
    centre: &'a str,
    nodes: Vec<DrawNode<'a>>,
    edges: &'a [(String, String)],
}

#[derive(Serialize)]
struct DrawNode<'a> {
    id: &'a str,
    kind: &'a str,
    label: &'a str,
    distance: u8,
    community: u32,
}

fn drawing_json(n: &Neighbourhood) -> String {
    let mut nodes = vec![DrawNode {
        id: &n.centre.id,
        kind: n.centre.kind,
        label: &n.centre.label,
        distance: 0,
        community: n.centre.community,
    }];
    nodes.extend(n.nodes.iter().map(|s| DrawNode {
        id: &s.id,
        kind: s.kind,
        label: &s.label,
        distance: s.distance,
        community: s.community,
    }));
    let d = Drawing {
        centre: &n.centre.id,
        nodes,
        edges: &n.edges,
    };
    // Inside <script type="application/json">: no "</" may appear, and nothing HTML reads.
    serde_json::to_string(&d)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[derive(Template)]
#[template(path = "networks/entity.html")]
pub struct EntityPage {
    pub layout: Layout,
    pub entity_id: Uuid,
    pub n: Neighbourhood,
    pub hops: u8,
    pub drawing: String,
}

impl EntityPage {
    fn kind(&self, code: &str) -> &'static str {
        kind_label(code)
    }
    fn full(&self) -> bool {
        self.n.view == View::Full
    }
    fn link_of(&self, node: &ShownNode) -> Option<String> {
        if self.n.view != View::Full {
            return None;
        }
        match node.kind {
            "report" => Some(format!("/intelligence/{}", node.id)),
            _ => Some(format!("/networks/entities/{}", node.id)),
        }
    }
    fn when(&self, t: &Option<OffsetDateTime>) -> String {
        t.map(format::date).unwrap_or_default()
    }
    fn score(&self, b: &f64) -> String {
        format!("{b:.3}")
    }
}

async fn entity_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Query(q): Query<HopsQuery>,
) -> Result<Response, WebError> {
    let hops = q.hops.unwrap_or(2).clamp(1, 3);
    let cache = state.networks.clone();
    let n = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(
            async move { networks::neighbourhood(&ctx, tx, &key, &actor, &cache, id, hops).await },
        )
    })
    .await?;
    let title = format!("Network around {}", n.centre.label);
    let page = EntityPage {
        layout: Layout::from_ctx(&state, ctx, &title),
        entity_id: id,
        drawing: drawing_json(&n),
        n,
        hops,
    };
    Ok(Html(page.render()?).into_response())
}

// --- shortest link ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    /// The entity to start from.
    pub from: Uuid,
    /// The entity to reach.
    pub to: Uuid,
}

#[derive(Template)]
#[template(path = "networks/path.html")]
pub struct PathPage {
    pub layout: Layout,
    pub from: Uuid,
    pub steps: Option<Vec<Step>>,
}

impl PathPage {
    fn kind(&self, code: &str) -> &'static str {
        kind_label(code)
    }
    fn when(&self, t: &Option<OffsetDateTime>) -> String {
        t.map(format::date).unwrap_or_default()
    }
    fn link_of(&self, s: &Step) -> String {
        match s.kind {
            "report" => format!("/intelligence/{}", s.id),
            _ => format!("/networks/entities/{}", s.id),
        }
    }
}

async fn path_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Query(q): Query<PathQuery>,
) -> Result<Response, WebError> {
    let cache = state.networks.clone();
    let (from, to) = (q.from, q.to);
    let steps = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(
            async move { networks::shortest_link(&ctx, tx, &key, &actor, &cache, from, to).await },
        )
    })
    .await?;
    let page = PathPage {
        layout: Layout::from_ctx(&state, ctx, "Shortest link"),
        from,
        steps,
    };
    Ok(Html(page.render()?).into_response())
}

// --- alert rules --------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "networks/rules.html")]
pub struct RulesPage {
    pub layout: Layout,
    pub rules: Vec<AlertRule>,
    pub may_manage: bool,
    /// The form: a new rule, or the rule being changed.
    pub editing: Option<Uuid>,
    pub form: FormState,
    pub kinds: Vec<(String, String, bool)>,
    pub csrf: String,
}

impl RulesPage {
    fn kinds_text(&self, r: &AlertRule) -> String {
        r.entity_kinds
            .iter()
            .map(|k| k.label().to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn action(&self) -> String {
        match self.editing {
            Some(id) => format!("/networks/rules/{id}"),
            None => "/networks/rules".into(),
        }
    }
}

fn kind_items(form: &FormState) -> Vec<(String, String, bool)> {
    networks::WATCHABLE
        .iter()
        .map(|k| {
            (
                k.as_str().to_string(),
                k.label().to_string(),
                form.value(&format!("kind-{}", k.as_str())) == "yes",
            )
        })
        .collect()
}

fn rule_form(r: &AlertRule) -> FormState {
    let mut f = FormState::default();
    f.values.insert("name".into(), r.name.clone());
    f.values
        .insert("min_children".into(), r.min_children.to_string());
    f.values
        .insert("window_days".into(), r.window_days.to_string());
    if r.enabled {
        f.values.insert("enabled".into(), "yes".into());
    }
    for k in &r.entity_kinds {
        f.values
            .insert(format!("kind-{}", k.as_str()), "yes".into());
    }
    f
}

fn new_rule_form() -> FormState {
    let mut f = FormState::default();
    f.values.insert("min_children".into(), "3".into());
    f.values.insert("window_days".into(), "90".into());
    f.values.insert("enabled".into(), "yes".into());
    f
}

async fn render_rules(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    editing: Option<Uuid>,
    form: Option<FormState>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let (rules, may_manage) = as_user(state, auth, true, move |tx, ctx, key, actor| {
        Box::pin(async move {
            let rules = networks::rules(&ctx, tx, &key, &actor).await?;
            Ok((rules, networks::may_manage_alerts(&actor)))
        })
    })
    .await?;
    let form = match (form, editing) {
        (Some(f), _) => f,
        (None, Some(id)) => rule_form(
            rules
                .iter()
                .find(|r| r.id == id)
                .ok_or(WebError::NotFound)?,
        ),
        (None, None) => new_rule_form(),
    };
    let title = title_for(
        &form,
        if editing.is_some() {
            "Change an alert rule"
        } else {
            "Emerging-network alert rules"
        },
    );
    let page = RulesPage {
        layout: Layout::from_ctx(state, ctx, &title),
        rules,
        may_manage,
        editing,
        kinds: kind_items(&form),
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

async fn rules_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
) -> Result<Response, WebError> {
    render_rules(&state, ctx, &auth, None, None, StatusCode::OK).await
}

async fn rule_edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    render_rules(&state, ctx, &auth, Some(id), None, StatusCode::OK).await
}

fn rule_input(f: &Posted) -> Result<RuleInput, WebError> {
    let mut kinds = Vec::new();
    for (k, v) in f {
        if let Some(kind) = k.strip_prefix("kind-") {
            if v != "yes" {
                return Err(WebError::Domain(Error::validation(
                    "entity_kinds",
                    "Select what the rule watches from the list",
                )));
            }
            kinds.push(kind.to_string());
        }
    }
    let enabled = match value(f, "enabled") {
        "" => false,
        "yes" => true,
        _ => {
            return Err(WebError::Domain(Error::validation(
                "enabled",
                "Choose whether the rule is on",
            )));
        }
    };
    Ok(RuleInput {
        name: value(f, "name").into(),
        entity_kinds: kinds,
        min_children: value(f, "min_children").into(),
        window_days: value(f, "window_days").into(),
        enabled,
    })
}

async fn save_rule_form(
    state: AppState,
    ctx: PageContext,
    auth: Auth,
    id: Option<Uuid>,
    f: Posted,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let done = match rule_input(&f) {
        Ok(input) => {
            as_user(&state, &auth, true, move |tx, ctx, key, actor| {
                let input = input.clone();
                Box::pin(
                    async move { networks::save_rule(&ctx, tx, &key, &actor, id, &input).await },
                )
            })
            .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(Redirect::to("/networks?done=rule").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            render_rules(
                &state,
                ctx,
                &auth,
                id,
                Some(form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn rule_create(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    save_rule_form(state, ctx, auth, None, f).await
}

async fn rule_update(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    save_rule_form(state, ctx, auth, Some(id), f).await
}

// --- acknowledging an alert ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "networks/acknowledge.html")]
pub struct AckPage {
    pub layout: Layout,
    pub id: Uuid,
    pub form: FormState,
    pub csrf: String,
}

async fn render_ack(
    state: &AppState,
    ctx: PageContext,
    auth: &Auth,
    id: Uuid,
    form: FormState,
    status: StatusCode,
) -> Result<Response, WebError> {
    // Only those who may acknowledge see the form (refusals recorded by the service on post).
    let may = as_user(state, auth, false, move |tx, _ctx, _key, actor| {
        Box::pin(async move {
            use mace_domain::ports::NetworkRepo;
            let exists = tx.get_alert(id).await?.is_some();
            Ok(networks::may_manage_alerts(&actor) && exists)
        })
    })
    .await?;
    if !may {
        return Err(WebError::Domain(Error::NotFound));
    }
    let page = AckPage {
        layout: Layout::from_ctx(state, ctx, &title_for(&form, "Acknowledge an alert")),
        id,
        form,
        csrf: auth.session.csrf_secret.clone(),
    };
    let html = page.render()?;
    Ok(page_reply(status, html))
}

async fn ack_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, WebError> {
    render_ack(&state, ctx, &auth, id, FormState::default(), StatusCode::OK).await
}

async fn ack_save(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(auth): SignedIn,
    Path(id): Path<Uuid>,
    Form(f): Form<Posted>,
) -> Result<Response, WebError> {
    auth.check_csrf(value(&f, "csrf_token"))?;
    let mut form = kept(&f);
    let note = value(&f, "note").to_string();
    let done = as_user(&state, &auth, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(async move { networks::acknowledge(&ctx, tx, &key, &actor, id, &note).await })
    })
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/networks?done=acknowledged").into_response()),
        Err(WebError::Domain(Error::Validation(errs))) => {
            form.errors.extend(errs);
            render_ack(
                &state,
                ctx,
                &auth,
                id,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// --- JSON API -----------------------------------------------------------------------------------

/// A central entity of a network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkCentralDto {
    /// The entity's id (police); a per-response number otherwise.
    pub id: String,
    pub kind: String,
    /// The entity's label (police); a pseudonym such as "Vehicle 2" otherwise.
    pub label: String,
    pub degree: usize,
    /// Betweenness, estimated from sampled sources, normalised.
    pub betweenness: f64,
}

fn central_dto(c: &Central) -> NetworkCentralDto {
    NetworkCentralDto {
        id: c.id.clone(),
        kind: c.kind.into(),
        label: c.label.clone(),
        degree: c.degree,
        betweenness: c.betweenness,
    }
}

/// A connected network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkSummaryDto {
    /// An entity to open the network from.
    pub open_entity: Option<Uuid>,
    pub nodes: usize,
    pub reports: usize,
    pub children: usize,
    pub entities: usize,
    pub communities: usize,
    pub central: Vec<NetworkCentralDto>,
}

/// An emerging-network alert (police only).
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkAlertDto {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub entity_id: Uuid,
    pub entity_kind: String,
    pub entity_label: String,
    pub children: i64,
    pub fired_at: String,
    pub updated_at: String,
    pub acknowledged_at: Option<String>,
    pub note: String,
}

/// The networks and, for police, the alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkOverviewDto {
    /// `full` (police) or `pseudonymised`.
    pub view: String,
    /// The graph version shown.
    pub version: i64,
    pub networks: Vec<NetworkSummaryDto>,
    pub alerts: Vec<NetworkAlertDto>,
}

fn view_code(v: View) -> String {
    match v {
        View::Full => "full".into(),
        View::Pseudonymised => "pseudonymised".into(),
    }
}

fn overview_dto(o: &Overview) -> NetworkOverviewDto {
    NetworkOverviewDto {
        view: view_code(o.view),
        version: o.version,
        networks: o
            .networks
            .iter()
            .map(|n| NetworkSummaryDto {
                open_entity: n.open_entity,
                nodes: n.nodes,
                reports: n.reports,
                children: n.children,
                entities: n.entities,
                communities: n.communities,
                central: n.central.iter().map(central_dto).collect(),
            })
            .collect(),
        alerts: o
            .alerts
            .iter()
            .map(|a| NetworkAlertDto {
                id: a.alert.id,
                rule_id: a.alert.rule_id,
                rule_name: a.rule_name.clone(),
                entity_id: a.alert.entity_id,
                entity_kind: a.entity_kind.as_str().into(),
                entity_label: a.entity_label.clone(),
                children: a.alert.children,
                fired_at: rfc(a.alert.fired_at),
                updated_at: rfc(a.alert.updated_at),
                acknowledged_at: a.alert.acknowledged_at.map(rfc),
                note: a.alert.note.clone(),
            })
            .collect(),
    }
}

/// The connected networks (most children first) and, for police, the alerts. Police
/// intelligence officers and analysts see labels; partnership managers and MACE chairs see
/// pseudonyms. Audited.
#[utoipa::path(get, path = "/api/v1/networks", tag = "networks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The networks", body = NetworkOverviewDto, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "The caller's role may not see networks", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_overview(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let cache = state.networks.clone();
    let o = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(async move { networks::overview(&ctx, tx, &key, &actor, &cache, 50).await })
    })
    .await?;
    Ok(json_response(StatusCode::OK, &overview_dto(&o)))
}

/// A node near the entity.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkNodeDto {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub distance: u8,
    pub degree: usize,
    pub community: u32,
    /// The child's or resolved person's record (police only).
    pub person_id: Option<Uuid>,
    /// A report's date.
    pub at: Option<String>,
}

fn node_dto(n: &ShownNode) -> NetworkNodeDto {
    NetworkNodeDto {
        id: n.id.clone(),
        kind: n.kind.into(),
        label: n.label.clone(),
        distance: n.distance,
        degree: n.degree,
        community: n.community,
        person_id: n.person_id,
        at: n.at.map(rfc),
    }
}

/// A community of the network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkCommunityDto {
    pub community: u32,
    pub members: usize,
    pub children: usize,
}

/// An entity's neighbourhood and its network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkNeighbourhoodDto {
    pub view: String,
    pub centre: NetworkNodeDto,
    pub nodes: Vec<NetworkNodeDto>,
    /// Edges between the nodes, by id.
    pub edges: Vec<[String; 2]>,
    pub network_nodes: usize,
    pub network_children: usize,
    pub central: Vec<NetworkCentralDto>,
    pub communities: Vec<NetworkCommunityDto>,
    pub truncated: bool,
}

/// An entity's neighbourhood (1 to 3 steps), with its network's central entities and
/// communities. Audited.
#[utoipa::path(get, path = "/api/v1/networks/entities/{id}", tag = "networks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The entity"), HopsQuery),
    responses(
        (status = 200, description = "The neighbourhood", body = NetworkNeighbourhoodDto, content_type = "application/json"),
        (status = 400, description = "A malformed id or query", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "The caller's role may not see networks", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such entity in the network", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_entity(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Query(q): Query<HopsQuery>,
) -> Result<Response, WebError> {
    let hops = q.hops.unwrap_or(2).clamp(1, 3);
    let cache = state.networks.clone();
    let n = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(
            async move { networks::neighbourhood(&ctx, tx, &key, &actor, &cache, id, hops).await },
        )
    })
    .await?;
    let dto = NetworkNeighbourhoodDto {
        view: view_code(n.view),
        centre: node_dto(&n.centre),
        nodes: n.nodes.iter().map(node_dto).collect(),
        edges: n
            .edges
            .iter()
            .map(|(a, b)| [a.clone(), b.clone()])
            .collect(),
        network_nodes: n.network_nodes,
        network_children: n.network_children,
        central: n.central.iter().map(central_dto).collect(),
        communities: n
            .communities
            .iter()
            .map(|&(community, members, children)| NetworkCommunityDto {
                community,
                members,
                children,
            })
            .collect(),
        truncated: n.truncated,
    };
    Ok(json_response(StatusCode::OK, &dto))
}

/// A step of a shortest link.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkStepDto {
    pub id: Uuid,
    pub kind: String,
    pub label: String,
    pub person_id: Option<Uuid>,
    pub at: Option<String>,
}

/// The shortest link between two entities (police only): the entities and reports on the way;
/// an empty list when they are not linked. Audited.
#[utoipa::path(get, path = "/api/v1/networks/path", tag = "networks",
    security(("bearer" = [])),
    params(PathQuery),
    responses(
        (status = 200, description = "The steps, from the first entity to the second", body = [NetworkStepDto], content_type = "application/json"),
        (status = 400, description = "A malformed query", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence role", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such entity in the network", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_path(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Query(q): Query<PathQuery>,
) -> Result<Response, WebError> {
    let cache = state.networks.clone();
    let (from, to) = (q.from, q.to);
    let steps = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let cache = cache.clone();
        Box::pin(
            async move { networks::shortest_link(&ctx, tx, &key, &actor, &cache, from, to).await },
        )
    })
    .await?;
    let dto: Vec<NetworkStepDto> = steps
        .unwrap_or_default()
        .into_iter()
        .map(|s| NetworkStepDto {
            id: s.id,
            kind: s.kind.into(),
            label: s.label,
            person_id: s.person_id,
            at: s.at.map(rfc),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &dto))
}

/// An alert rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkAlertRuleDto {
    pub id: Uuid,
    pub name: String,
    /// person, vehicle, phone, postcode, place, handle, business
    pub entity_kinds: Vec<String>,
    pub min_children: i64,
    pub window_days: i64,
    pub enabled: bool,
    pub updated_at: String,
}

fn rule_dto(r: &AlertRule) -> NetworkAlertRuleDto {
    NetworkAlertRuleDto {
        id: r.id,
        name: r.name.clone(),
        entity_kinds: r.entity_kinds.iter().map(|k| k.as_str().into()).collect(),
        min_children: r.min_children,
        window_days: r.window_days,
        enabled: r.enabled,
        updated_at: rfc(r.updated_at),
    }
}

/// An alert rule to add or change.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkAlertRuleInputDto {
    pub name: String,
    pub entity_kinds: Vec<String>,
    pub min_children: i64,
    pub window_days: i64,
    pub enabled: bool,
}

impl From<NetworkAlertRuleInputDto> for RuleInput {
    fn from(b: NetworkAlertRuleInputDto) -> Self {
        RuleInput {
            name: b.name,
            entity_kinds: b.entity_kinds,
            min_children: b.min_children.to_string(),
            window_days: b.window_days.to_string(),
            enabled: b.enabled,
        }
    }
}

/// The emerging-network alert rules (police intelligence roles).
#[utoipa::path(get, path = "/api/v1/networks/alert-rules", tag = "networks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rules", body = [NetworkAlertRuleDto], content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence role", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_rules(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
) -> Result<Response, WebError> {
    let rules = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        Box::pin(async move { networks::rules(&ctx, tx, &key, &actor).await })
    })
    .await?;
    let dto: Vec<NetworkAlertRuleDto> = rules.iter().map(rule_dto).collect();
    Ok(json_response(StatusCode::OK, &dto))
}

async fn api_save_rule(
    state: AppState,
    c: crate::tokens::ApiAuth,
    id: Option<Uuid>,
    body: NetworkAlertRuleInputDto,
) -> Result<Response, WebError> {
    let input = RuleInput::from(body);
    let r = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let input = input.clone();
        Box::pin(async move { networks::save_rule(&ctx, tx, &key, &actor, id, &input).await })
    })
    .await?;
    let status = if id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json_response(status, &rule_dto(&r)))
}

/// Add an alert rule (police intelligence officers). Audited.
#[utoipa::path(post, path = "/api/v1/networks/alert-rules", tag = "networks",
    security(("bearer" = [])),
    request_body(content = NetworkAlertRuleInputDto, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = NetworkAlertRuleDto, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_rule_create(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Json(body): Json<NetworkAlertRuleInputDto>,
) -> Result<Response, WebError> {
    api_save_rule(state, c, None, body).await
}

/// Change an alert rule (police intelligence officers). Audited.
#[utoipa::path(put, path = "/api/v1/networks/alert-rules/{id}", tag = "networks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The rule")),
    request_body(content = NetworkAlertRuleInputDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = NetworkAlertRuleDto, content_type = "application/json"),
        (status = 400, description = "A malformed id", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such rule", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "Missing or not valid", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_rule_update(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NetworkAlertRuleInputDto>,
) -> Result<Response, WebError> {
    api_save_rule(state, c, Some(id), body).await
}

/// What is being done about an alert.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkAcknowledgeDto {
    pub note: String,
}

/// Acknowledge an alert with a note (police intelligence officers). Audited.
#[utoipa::path(post, path = "/api/v1/networks/alerts/{id}/acknowledge", tag = "networks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The alert")),
    request_body(content = NetworkAcknowledgeDto, content_type = "application/json"),
    responses(
        (status = 200, description = "Acknowledged", body = NetworkAcknowledgedDto, content_type = "application/json"),
        (status = 400, description = "A malformed id", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 401, description = "Not signed in", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 403, description = "Not a police intelligence officer", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 404, description = "No such alert", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 409, description = "Already acknowledged", body = crate::error::ErrorBody, content_type = "application/json"),
        (status = 422, description = "The note is missing or too short", body = crate::error::ErrorBody, content_type = "application/json"),
    ))]
pub(crate) async fn api_ack(
    State(state): State<AppState>,
    ApiCaller(c): ApiCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<NetworkAcknowledgeDto>,
) -> Result<Response, WebError> {
    let note = body.note;
    let a = with_actor(&state, &c.user, None, true, move |tx, ctx, key, actor| {
        let note = note.clone();
        Box::pin(async move { networks::acknowledge(&ctx, tx, &key, &actor, id, &note).await })
    })
    .await?;
    let dto = NetworkAcknowledgedDto {
        id: a.id,
        acknowledged_at: a.acknowledged_at.map(rfc).unwrap_or_default(),
        note: a.note,
    };
    Ok(json_response(StatusCode::OK, &dto))
}

/// An acknowledged alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkAcknowledgedDto {
    pub id: Uuid,
    pub acknowledged_at: String,
    pub note: String,
}
