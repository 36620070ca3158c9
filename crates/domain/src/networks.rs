//! Networks: the graph of intelligence reports and the entities they name, kept up to date as
//! reports are linked, with components, central persons, communities, shortest links,
//! neighbourhoods and emerging-network alerts (rules police users tune).
//!
//! The graph lives in memory ([`NetworkCache`], one per process) and catches up from the store
//! by version: every change to `intel_links` bumps one serialised counter and stamps the link
//! with it, so a reader that has applied everything up to version `v` applies just the changes
//! after `v` ([`NetworkRepo::link_changes_since`]). Nodes are reports and entities; a child is an
//! entity too, so two children named in reports that share a car are two hops from the car.
//!
//! Who sees what: police intelligence officers and analysts see the network with its labels;
//! partnership managers and MACE chairs see its structure with every label replaced by a
//! pseudonym ("Vehicle 2", "Child 1"); everyone else is refused (recorded). Alert rules and
//! alerts are police-only; only intelligence officers change them.

use crate::Ctx;
use crate::audit::{Category, ChainKey, Outcome};
use crate::authz::{Actor, Role};
use crate::cases;
use crate::error::{Error, Result};
use crate::ports::{AuditLog, IntelligenceRepo};
use crate::validate::{Errors, text};
use mace_analytics::graph::{self, Graph, NodeId, Partition};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use crate::intelligence::{Entity, EntityKind};

/// The kinds an alert rule may watch (everything but children, whom the rule counts).
pub const WATCHABLE: &[EntityKind] = &[
    EntityKind::Person,
    EntityKind::Vehicle,
    EntityKind::Phone,
    EntityKind::Postcode,
    EntityKind::Place,
    EntityKind::Handle,
    EntityKind::Business,
];

/// One change to the graph's edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    /// The graph version of this change (a link's `version`, or its `removed_version`).
    pub version: i64,
    pub report_id: Uuid,
    pub entity_id: Uuid,
    pub entity_kind: EntityKind,
    pub removed: bool,
}

/// A report as a node: what police see of it in a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportNode {
    pub id: Uuid,
    pub reference: String,
    /// When what was reported happened (or, when not known, when it was submitted).
    pub at: OffsetDateTime,
}

/// A rule that raises an alert when at least `min_children` different children are linked to
/// one entity of a watched kind by reports from the last `window_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRule {
    pub id: Uuid,
    pub name: String,
    pub entity_kinds: Vec<EntityKind>,
    pub min_children: i64,
    pub window_days: i64,
    pub enabled: bool,
    pub updated_by: Option<Uuid>,
    pub updated_at: OffsetDateTime,
}

/// An alert: a rule matched an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub entity_id: Uuid,
    pub children: i64,
    pub fired_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<OffsetDateTime>,
    pub note: String,
}

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait NetworkRepo: Send {
    /// Every link made or removed after `version`, oldest first.
    fn link_changes_since(
        &mut self,
        version: i64,
    ) -> impl Future<Output = Result<Vec<LinkChange>>> + Send;
    /// The entities with these ids (unknown ids are left out). A child's label is the child's
    /// current name.
    fn entities(&mut self, ids: &[Uuid]) -> impl Future<Output = Result<Vec<Entity>>> + Send;
    fn reports_brief(
        &mut self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<ReportNode>>> + Send;
    /// The entities a report is linked to now.
    fn linked_entities(
        &mut self,
        report_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Entity>>> + Send;
    /// The different children named in reports linked to the entity whose time (observed, or
    /// submitted when that is not known) is at or after `since`.
    fn children_linked_since(
        &mut self,
        entity_id: Uuid,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Uuid>>> + Send;
    /// Entities of the given kinds with at least `min` different children linked through
    /// reports whose time is at or after `since`, with that count.
    fn entities_over(
        &mut self,
        kinds: &[EntityKind],
        since: OffsetDateTime,
        min: i64,
    ) -> impl Future<Output = Result<Vec<(Uuid, i64)>>> + Send;
    fn alert_rules(&mut self) -> impl Future<Output = Result<Vec<AlertRule>>> + Send;
    fn save_alert_rule(&mut self, r: &AlertRule) -> impl Future<Output = Result<()>> + Send;
    fn alerts(&mut self, limit: i64) -> impl Future<Output = Result<Vec<Alert>>> + Send;
    fn get_alert(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Alert>>> + Send;
    fn find_alert(
        &mut self,
        rule_id: Uuid,
        entity_id: Uuid,
    ) -> impl Future<Output = Result<Option<Alert>>> + Send;
    /// Insert or replace (by id).
    fn save_alert(&mut self, a: &Alert) -> impl Future<Output = Result<()>> + Send;
}

// --- who may ------------------------------------------------------------------------------------

/// How much of the network a viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Police intelligence officers and analysts: every label.
    Full,
    /// Partnership managers and MACE chairs: the structure, every label a pseudonym.
    Pseudonymised,
}

/// The viewer's view of networks, or `None` when they may not see them.
pub fn view_for(actor: &Actor) -> Option<View> {
    if actor.is_police() && actor.any(&[Role::PoliceIntelligenceOfficer, Role::Analyst]) {
        Some(View::Full)
    } else if actor.any(&[Role::PartnershipManager, Role::MaceChair]) {
        Some(View::Pseudonymised)
    } else {
        None
    }
}

/// Police intelligence officers tune the rules and acknowledge alerts.
pub fn may_manage_alerts(actor: &Actor) -> bool {
    actor.is_police() && actor.has(Role::PoliceIntelligenceOfficer)
}

async fn refuse<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
) -> Result<Error> {
    let mut e = cases::untargeted(ctx, actor, Category::AuthzDenied, action);
    e.outcome = Outcome::Denied;
    e.detail = Some("{\"reason\":\"not_permitted_for_role\"}".into());
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Error::Forbidden {
        reason: "not_permitted_for_role".into(),
    })
}

async fn viewer<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
) -> Result<View> {
    match view_for(actor) {
        Some(v) => Ok(v),
        None => Err(refuse(ctx, tx, key, actor, action).await?),
    }
}

async fn manager<R: AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    action: &str,
) -> Result<()> {
    if may_manage_alerts(actor) {
        Ok(())
    } else {
        Err(refuse(ctx, tx, key, actor, action).await?)
    }
}

// --- the graph in memory ------------------------------------------------------------------------

/// A node of the report graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Report(Uuid),
    Entity(Uuid, EntityKind),
}

#[derive(Default)]
struct State {
    version: i64,
    graph: Graph,
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId>,
    communities: Option<(i64, Arc<Partition>)>,
}

impl State {
    fn node(&mut self, n: Node) -> NodeId {
        if let Some(&i) = self.index.get(&n) {
            return i;
        }
        let i = self.graph.add_node();
        self.nodes.push(n);
        self.index.insert(n, i);
        i
    }

    fn apply(&mut self, changes: &[LinkChange]) {
        for c in changes {
            let r = self.node(Node::Report(c.report_id));
            let e = self.node(Node::Entity(c.entity_id, c.entity_kind));
            if c.removed {
                self.graph.remove_edge(r, e);
            } else {
                self.graph.add_edge(r, e);
            }
            self.version = self.version.max(c.version);
        }
    }
}

/// The process's copy of the report graph. Cheap to share (`Arc`); brought up to date from the
/// store by [`NetworkCache::refresh`] at the start of each network read.
#[derive(Default)]
pub struct NetworkCache {
    state: Mutex<State>,
}

impl std::fmt::Debug for NetworkCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkCache").finish_non_exhaustive()
    }
}

/// A consistent copy of what a view needs, taken under the lock.
struct Snapshot {
    nodes: Vec<Node>,
    graph: Graph,
}

impl NetworkCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::store("the network cache's lock was poisoned"))
    }

    /// The version the cache has applied.
    pub fn version(&self) -> Result<i64> {
        Ok(self.lock()?.version)
    }

    /// Apply every link change the store has after the cache's version.
    pub async fn refresh<R: NetworkRepo + IntelligenceRepo>(&self, tx: &mut R) -> Result<()> {
        let have = self.version()?;
        let now = tx.intel_graph_version().await?;
        if now <= have {
            return Ok(());
        }
        let changes = tx.link_changes_since(have).await?;
        let mut s = self.lock()?;
        // Another request may have caught up meanwhile: apply only what is still new.
        let from = s.version;
        let fresh: Vec<LinkChange> = changes.into_iter().filter(|c| c.version > from).collect();
        s.apply(&fresh);
        s.version = s.version.max(now);
        Ok(())
    }

    /// Apply changes directly (tests and benchmarks).
    pub fn apply(&self, changes: &[LinkChange]) -> Result<()> {
        self.lock()?.apply(changes);
        Ok(())
    }

    fn snapshot_around(&self, centre: Node, hops: u8, limit: usize) -> Result<Option<Around>> {
        let s = self.lock()?;
        let Some(&c) = s.index.get(&centre) else {
            return Ok(None);
        };
        let near = s.graph.neighbourhood(c, hops, limit);
        let mut ids: Vec<NodeId> = Vec::with_capacity(near.len() + 1);
        ids.push(c);
        ids.extend(near.iter().map(|(n, _)| *n));
        let set: HashSet<NodeId> = ids.iter().copied().collect();
        let mut edges = Vec::new();
        for &a in &ids {
            for b in s.graph.neighbours(a) {
                if a < b && set.contains(&b) {
                    edges.push((a, b));
                }
            }
        }
        let dist: HashMap<NodeId, u8> = near.iter().copied().collect();
        // The whole component, for centrality and communities.
        let comp_label = s.graph.components();
        let label = comp_label.get(c as usize).copied().unwrap_or(c);
        let component: Vec<NodeId> = comp_label
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == label)
            .map(|(i, _)| i as NodeId)
            .collect();
        Ok(Some(Around {
            centre: c,
            nodes: ids
                .iter()
                .map(|&i| (i, s.nodes[i as usize], dist.get(&i).copied().unwrap_or(0)))
                .collect(),
            edges,
            component: component
                .iter()
                .map(|&i| (i, s.nodes[i as usize], s.graph.degree(i)))
                .collect(),
        }))
    }

    fn snapshot(&self) -> Result<Snapshot> {
        let s = self.lock()?;
        Ok(Snapshot {
            nodes: s.nodes.clone(),
            graph: s.graph.clone(),
        })
    }

    /// Communities of the whole graph at the cache's version (computed once per version).
    fn communities(&self) -> Result<Arc<Partition>> {
        let (version, graph) = {
            let s = self.lock()?;
            if let Some((v, p)) = &s.communities
                && *v == s.version
            {
                return Ok(p.clone());
            }
            (s.version, s.graph.clone())
        };
        let p = Arc::new(graph::communities(&graph, 7));
        let mut s = self.lock()?;
        if s.version == version {
            s.communities = Some((version, p.clone()));
        }
        Ok(p)
    }

    fn node_of(&self, n: Node) -> Result<Option<NodeId>> {
        Ok(self.lock()?.index.get(&n).copied())
    }

    fn path(&self, a: NodeId, b: NodeId) -> Result<Option<Vec<Node>>> {
        let s = self.lock()?;
        Ok(s.graph
            .shortest_path(a, b, MAX_PATH_HOPS)
            .map(|p| p.iter().map(|&i| s.nodes[i as usize]).collect()))
    }
}

struct Around {
    centre: NodeId,
    /// (node, what it is, distance from the centre)
    nodes: Vec<(NodeId, Node, u8)>,
    edges: Vec<(NodeId, NodeId)>,
    /// (node, what it is, degree) for the centre's whole component.
    component: Vec<(NodeId, Node, usize)>,
}

/// How far a shortest link is looked for.
pub const MAX_PATH_HOPS: u8 = 12;
/// The most nodes a neighbourhood shows.
pub const NEIGHBOURHOOD_LIMIT: usize = 300;
/// Sources sampled for betweenness.
pub const BETWEENNESS_SAMPLES: usize = 128;

// --- labels -------------------------------------------------------------------------------------

/// Names nodes for one response: labels for police, pseudonyms ("Vehicle 2") otherwise, numbered
/// in the order they are first named so a page is self-consistent and nothing else leaks.
struct Labeller {
    view: View,
    entities: HashMap<Uuid, Entity>,
    reports: HashMap<Uuid, ReportNode>,
    pseudonyms: HashMap<Node, String>,
    counters: BTreeMap<&'static str, usize>,
}

impl Labeller {
    async fn load<R: NetworkRepo>(tx: &mut R, view: View, nodes: &[Node]) -> Result<Self> {
        let mut entity_ids = Vec::new();
        let mut report_ids = Vec::new();
        for n in nodes {
            match n {
                Node::Entity(id, _) => entity_ids.push(*id),
                Node::Report(id) => report_ids.push(*id),
            }
        }
        let entities = tx
            .entities(&entity_ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let reports = tx
            .reports_brief(&report_ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        Ok(Self {
            view,
            entities,
            reports,
            pseudonyms: HashMap::new(),
            counters: BTreeMap::new(),
        })
    }

    fn kind_word(n: Node) -> &'static str {
        match n {
            Node::Report(_) => "Report",
            Node::Entity(_, k) => match k {
                EntityKind::Child => "Child",
                EntityKind::Person => "Person",
                EntityKind::Vehicle => "Vehicle",
                EntityKind::Phone => "Phone",
                EntityKind::Postcode => "Postcode",
                EntityKind::Place => "Place",
                EntityKind::Handle => "Handle",
                EntityKind::Business => "Business",
            },
        }
    }

    fn label(&mut self, n: Node) -> String {
        if self.view == View::Full {
            match n {
                Node::Report(id) => {
                    if let Some(r) = self.reports.get(&id) {
                        return r.reference.clone();
                    }
                }
                Node::Entity(id, _) => {
                    if let Some(e) = self.entities.get(&id) {
                        return e.label.clone();
                    }
                }
            }
        }
        if let Some(p) = self.pseudonyms.get(&n) {
            return p.clone();
        }
        let word = Self::kind_word(n);
        let c = self.counters.entry(word).or_insert(0);
        *c += 1;
        let p = format!("{word} {c}");
        self.pseudonyms.insert(n, p.clone());
        p
    }

    fn person_id(&self, n: Node) -> Option<Uuid> {
        match (self.view, n) {
            (View::Full, Node::Entity(id, _)) => self.entities.get(&id).and_then(|e| e.person_id),
            _ => None,
        }
    }

    fn report_at(&self, n: Node) -> Option<OffsetDateTime> {
        match n {
            Node::Report(id) => self.reports.get(&id).map(|r| r.at),
            Node::Entity(..) => None,
        }
    }
}

// --- views --------------------------------------------------------------------------------------

/// One node as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownNode {
    /// The entity's or report's id (full view); a per-response number otherwise.
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub distance: u8,
    pub degree: usize,
    pub community: u32,
    /// The child's or resolved person's record (full view only).
    pub person_id: Option<Uuid>,
    /// A report's date.
    pub at: Option<OffsetDateTime>,
}

/// A central node of a network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Central {
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub degree: usize,
    pub betweenness: f64,
}

/// A connected network, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// An entity of the network to open it from (the most connected one).
    pub open_entity: Option<Uuid>,
    pub nodes: usize,
    pub reports: usize,
    pub children: usize,
    pub entities: usize,
    pub communities: usize,
    /// The most connected entities that are not children.
    pub central: Vec<Central>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertShown {
    pub alert: Alert,
    pub rule_name: String,
    pub entity_kind: EntityKind,
    pub entity_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub view: View,
    pub version: i64,
    pub networks: Vec<NetworkSummary>,
    /// Police only (empty otherwise).
    pub alerts: Vec<AlertShown>,
    pub may_manage: bool,
}

fn kind_code(n: Node) -> &'static str {
    match n {
        Node::Report(_) => "report",
        Node::Entity(_, k) => k.as_str(),
    }
}

fn is_child(n: Node) -> bool {
    matches!(n, Node::Entity(_, EntityKind::Child))
}

fn shown_id(view: View, n: Node, index: NodeId) -> String {
    match (view, n) {
        (View::Full, Node::Report(id) | Node::Entity(id, _)) => id.to_string(),
        (View::Pseudonymised, _) => format!("n{index}"),
    }
}

/// The connected networks with at least two children or three entities, most children first
/// (at most `limit`), and, for police, the alerts. Audited as a consultation.
pub async fn overview<R: NetworkRepo + IntelligenceRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cache: &NetworkCache,
    limit: usize,
) -> Result<Overview> {
    let view = viewer(ctx, tx, key, actor, "network.overview").await?;
    cache.refresh(tx).await?;
    let snap = cache.snapshot()?;
    let partition = cache.communities()?;
    let labels = snap.graph.components();
    let mut groups: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for (i, l) in labels.iter().enumerate() {
        groups.entry(*l).or_default().push(i as NodeId);
    }
    let mut nets: Vec<Vec<NodeId>> = groups
        .into_values()
        .filter(|m| {
            let children = m
                .iter()
                .filter(|&&i| is_child(snap.nodes[i as usize]))
                .count();
            let entities = m
                .iter()
                .filter(|&&i| matches!(snap.nodes[i as usize], Node::Entity(..)))
                .count();
            children >= 2 || entities >= 3
        })
        .collect();
    let count_children = |m: &Vec<NodeId>| {
        m.iter()
            .filter(|&&i| is_child(snap.nodes[i as usize]))
            .count()
    };
    nets.sort_by(|a, b| {
        count_children(b)
            .cmp(&count_children(a))
            .then(b.len().cmp(&a.len()))
            .then(a.first().cmp(&b.first()))
    });
    nets.truncate(limit);
    // Label only what is shown: the central entities of each network.
    let mut shown: Vec<Vec<(NodeId, usize, f64)>> = Vec::new();
    for m in &nets {
        let between: HashMap<NodeId, f64> =
            graph::betweenness_sampled_in(&snap.graph, m, BETWEENNESS_SAMPLES, 11)
                .into_iter()
                .collect();
        let mut c: Vec<(NodeId, usize, f64)> = m
            .iter()
            .filter(|&&i| {
                matches!(snap.nodes[i as usize], Node::Entity(_, k) if k != EntityKind::Child)
            })
            .map(|&i| {
                (
                    i,
                    snap.graph.degree(i),
                    between.get(&i).copied().unwrap_or(0.0),
                )
            })
            .collect();
        c.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
        c.truncate(3);
        shown.push(c);
    }
    let to_label: Vec<Node> = shown
        .iter()
        .flatten()
        .map(|(i, _, _)| snap.nodes[*i as usize])
        .collect();
    let mut alerts = Vec::new();
    let mut alert_entities = Vec::new();
    if view == View::Full {
        let rules: HashMap<Uuid, AlertRule> = tx
            .alert_rules()
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        for a in tx.alerts(100).await? {
            alert_entities.push(a.entity_id);
            let rule_name = rules
                .get(&a.rule_id)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            alerts.push((a, rule_name));
        }
    }
    let mut labeller = Labeller::load(tx, view, &to_label).await?;
    let alert_labels: HashMap<Uuid, Entity> = tx
        .entities(&alert_entities)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let networks = nets
        .iter()
        .zip(shown)
        .map(|(m, central)| {
            let reports = m
                .iter()
                .filter(|&&i| matches!(snap.nodes[i as usize], Node::Report(_)))
                .count();
            let comms: HashSet<u32> = m
                .iter()
                .filter_map(|&i| partition.membership.get(i as usize).copied())
                .collect();
            NetworkSummary {
                open_entity: central
                    .first()
                    .and_then(|(i, _, _)| match snap.nodes[*i as usize] {
                        Node::Entity(id, _) => Some(id),
                        Node::Report(_) => None,
                    }),
                nodes: m.len(),
                reports,
                children: count_children(m),
                entities: m.len() - reports,
                communities: comms.len(),
                central: central
                    .iter()
                    .map(|&(i, degree, betweenness)| {
                        let n = snap.nodes[i as usize];
                        Central {
                            id: shown_id(view, n, i),
                            kind: kind_code(n),
                            label: labeller.label(n),
                            degree,
                            betweenness,
                        }
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    let alerts = alerts
        .into_iter()
        .filter_map(|(a, rule_name)| {
            let e = alert_labels.get(&a.entity_id)?;
            Some(AlertShown {
                entity_kind: e.kind,
                entity_label: e.label.clone(),
                alert: a,
                rule_name,
            })
        })
        .collect();
    let mut e = cases::untargeted(ctx, actor, Category::Consultation, "network.overview");
    e.detail = Some(format!(
        "{{\"view\":\"{}\",\"networks\":{}}}",
        if view == View::Full {
            "full"
        } else {
            "pseudonymised"
        },
        networks.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Overview {
        view,
        version: cache.version()?,
        networks,
        alerts,
        may_manage: may_manage_alerts(actor),
    })
}

/// One entity's neighbourhood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbourhood {
    pub view: View,
    pub centre: ShownNode,
    /// Nodes within the hops asked for, nearest first (the centre excluded).
    pub nodes: Vec<ShownNode>,
    /// Edges between shown nodes, by their ids.
    pub edges: Vec<(String, String)>,
    /// The network (connected component) the entity is in.
    pub network_nodes: usize,
    pub network_children: usize,
    /// Its most central entities (degree, then sampled betweenness).
    pub central: Vec<Central>,
    /// Its communities: (community, members, children).
    pub communities: Vec<(u32, usize, usize)>,
    /// People and children in the network a shortest link can be looked for to (full view).
    pub path_targets: Vec<(Uuid, String)>,
    /// True when the neighbourhood was cut at [`NEIGHBOURHOOD_LIMIT`].
    pub truncated: bool,
}

/// An entity's neighbourhood within `hops` (1 to 3), with its network's central entities and
/// communities. Audited as a consultation of the entity.
pub async fn neighbourhood<R: NetworkRepo + IntelligenceRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cache: &NetworkCache,
    entity_id: Uuid,
    hops: u8,
) -> Result<Neighbourhood> {
    let view = viewer(ctx, tx, key, actor, "network.entity.view").await?;
    cache.refresh(tx).await?;
    let hops = hops.clamp(1, 3);
    let entity = tx
        .entities(&[entity_id])
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)?;
    let centre_node = Node::Entity(entity.id, entity.kind);
    let Some(around) = cache.snapshot_around(centre_node, hops, NEIGHBOURHOOD_LIMIT)? else {
        return Err(Error::NotFound);
    };
    let partition = cache.communities()?;
    let community = |i: NodeId| partition.membership.get(i as usize).copied().unwrap_or(0);
    // Central entities of the component.
    let comp_ids: Vec<NodeId> = around.component.iter().map(|(i, _, _)| *i).collect();
    let snap_graph = cache.snapshot()?.graph;
    let between: HashMap<NodeId, f64> =
        graph::betweenness_sampled_in(&snap_graph, &comp_ids, BETWEENNESS_SAMPLES, 11)
            .into_iter()
            .collect();
    let mut central: Vec<(NodeId, Node, usize, f64)> = around
        .component
        .iter()
        .filter(|(_, n, _)| matches!(n, Node::Entity(_, k) if *k != EntityKind::Child))
        .map(|&(i, n, d)| (i, n, d, between.get(&i).copied().unwrap_or(0.0)))
        .collect();
    central.sort_by(|a, b| b.2.cmp(&a.2).then(b.3.total_cmp(&a.3)).then(a.0.cmp(&b.0)));
    central.truncate(5);
    let mut comms: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for (i, n, _) in &around.component {
        let c = comms.entry(community(*i)).or_default();
        c.0 += 1;
        if is_child(*n) {
            c.1 += 1;
        }
    }
    let path_nodes: Vec<Node> = if view == View::Full {
        around
            .component
            .iter()
            .map(|(_, n, _)| *n)
            .filter(|n| matches!(n, Node::Entity(_, EntityKind::Child | EntityKind::Person)))
            .take(200)
            .collect()
    } else {
        Vec::new()
    };
    let mut to_label: Vec<Node> = around.nodes.iter().map(|(_, n, _)| *n).collect();
    to_label.extend(central.iter().map(|c| c.1));
    to_label.extend(path_nodes.iter().copied());
    let mut labeller = Labeller::load(tx, view, &to_label).await?;
    let degree_of: HashMap<NodeId, usize> =
        around.component.iter().map(|(i, _, d)| (*i, *d)).collect();
    let mut shown: Vec<ShownNode> = around
        .nodes
        .iter()
        .map(|&(i, n, dist)| ShownNode {
            id: shown_id(view, n, i),
            kind: kind_code(n),
            label: labeller.label(n),
            distance: dist,
            degree: degree_of.get(&i).copied().unwrap_or(0),
            community: community(i),
            person_id: labeller.person_id(n),
            at: labeller.report_at(n),
        })
        .collect();
    let centre = shown.remove(0);
    debug_assert_eq!(around.nodes.first().map(|x| x.0), Some(around.centre));
    let id_of: HashMap<NodeId, String> = around
        .nodes
        .iter()
        .map(|&(i, n, _)| (i, shown_id(view, n, i)))
        .collect();
    let edges = around
        .edges
        .iter()
        .filter_map(|(a, b)| Some((id_of.get(a)?.clone(), id_of.get(b)?.clone())))
        .collect();
    let central = central
        .iter()
        .map(|&(i, n, degree, betweenness)| Central {
            id: shown_id(view, n, i),
            kind: kind_code(n),
            label: labeller.label(n),
            degree,
            betweenness,
        })
        .collect();
    let path_targets = path_nodes
        .iter()
        .filter_map(|n| match n {
            Node::Entity(id, _) if *id != entity_id => Some((*id, labeller.label(*n))),
            _ => None,
        })
        .collect();
    let network_children = around
        .component
        .iter()
        .filter(|(_, n, _)| is_child(*n))
        .count();
    let mut e = cases::event(
        ctx,
        actor,
        Category::Consultation,
        "network.entity.view",
        Outcome::Success,
        entity_id,
        "intel_entity",
    );
    e.detail = Some(format!(
        "{{\"view\":\"{}\",\"hops\":{hops},\"nodes\":{}}}",
        if view == View::Full {
            "full"
        } else {
            "pseudonymised"
        },
        around.nodes.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Neighbourhood {
        view,
        centre,
        truncated: around.nodes.len() > NEIGHBOURHOOD_LIMIT,
        nodes: shown,
        edges,
        network_nodes: around.component.len(),
        network_children,
        central,
        communities: comms.into_iter().map(|(c, (m, ch))| (c, m, ch)).collect(),
        path_targets,
    })
}

/// One step of a shortest link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: Uuid,
    pub kind: &'static str,
    pub label: String,
    pub person_id: Option<Uuid>,
    pub at: Option<OffsetDateTime>,
}

/// The shortest link between two entities (police only): the entities and reports on the way,
/// or `None` when they are not linked within [`MAX_PATH_HOPS`]. Audited.
pub async fn shortest_link<R: NetworkRepo + IntelligenceRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    cache: &NetworkCache,
    from: Uuid,
    to: Uuid,
) -> Result<Option<Vec<Step>>> {
    if viewer(ctx, tx, key, actor, "network.path").await? != View::Full {
        return Err(refuse(ctx, tx, key, actor, "network.path").await?);
    }
    cache.refresh(tx).await?;
    let found = tx.entities(&[from, to]).await?;
    let node = |id: Uuid| {
        found
            .iter()
            .find(|e| e.id == id)
            .map(|e| Node::Entity(e.id, e.kind))
    };
    let (Some(a), Some(b)) = (node(from), node(to)) else {
        return Err(Error::NotFound);
    };
    let (Some(ia), Some(ib)) = (cache.node_of(a)?, cache.node_of(b)?) else {
        return Err(Error::NotFound);
    };
    let path = cache.path(ia, ib)?;
    let mut e = cases::event(
        ctx,
        actor,
        Category::Consultation,
        "network.path",
        Outcome::Success,
        from,
        "intel_entity",
    );
    e.detail = Some(format!(
        "{{\"to\":\"{to}\",\"hops\":{}}}",
        path.as_ref().map_or(-1, |p| p.len() as i64 - 1)
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    let Some(path) = path else { return Ok(None) };
    let mut labeller = Labeller::load(tx, View::Full, &path).await?;
    Ok(Some(
        path.iter()
            .map(|&n| Step {
                id: match n {
                    Node::Report(id) | Node::Entity(id, _) => id,
                },
                kind: kind_code(n),
                label: labeller.label(n),
                person_id: labeller.person_id(n),
                at: labeller.report_at(n),
            })
            .collect(),
    ))
}

// --- alerts -------------------------------------------------------------------------------------

/// Evaluate one rule for one entity at `now`: the children linked within the window.
async fn evaluate<R: NetworkRepo>(
    tx: &mut R,
    rule: &AlertRule,
    entity: &Entity,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    if !rule.enabled || !rule.entity_kinds.contains(&entity.kind) {
        return Ok(None);
    }
    let since = now - Duration::days(rule.window_days);
    let children = tx.children_linked_since(entity.id, since).await?.len() as i64;
    Ok((children >= rule.min_children).then_some(children))
}

/// Raise (or bring up to date) the rule's alert for an entity that now has `children` children
/// linked. An open alert gets the new count; an acknowledged one is raised again only when more
/// children are linked than when it was acknowledged. Audited.
async fn raise<R: NetworkRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    rule: &AlertRule,
    entity_id: Uuid,
    children: i64,
) -> Result<()> {
    let now = ctx.clock.now();
    let (alert, action) = match tx.find_alert(rule.id, entity_id).await? {
        Some(a)
            if a.children == children || (a.acknowledged_at.is_some() && a.children > children) =>
        {
            return Ok(());
        }
        Some(a) if a.acknowledged_at.is_none() => (
            Alert {
                children,
                updated_at: now,
                ..a
            },
            "intel_alert.update",
        ),
        // Acknowledged, and more children are linked now: raised again.
        Some(a) => (
            Alert {
                children,
                updated_at: now,
                acknowledged_at: None,
                acknowledged_by: None,
                ..a
            },
            "intel_alert.raise",
        ),
        None => (
            Alert {
                id: ctx.ids.new_id(),
                rule_id: rule.id,
                entity_id,
                children,
                fired_at: now,
                updated_at: now,
                acknowledged_by: None,
                acknowledged_at: None,
                note: String::new(),
            },
            "intel_alert.raise",
        ),
    };
    tx.save_alert(&alert).await?;
    let mut e = cases::event(
        ctx,
        actor,
        Category::Collection,
        action,
        Outcome::Success,
        alert.id,
        "intel_alert",
    );
    e.detail = Some(format!(
        "{{\"rule\":\"{}\",\"entity\":\"{entity_id}\",\"children\":{children}}}",
        rule.id
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(())
}

/// Called by `intelligence` in the same transaction, after police link a report's entities:
/// evaluates the emerging-network alert rules for the entities the report touches (alerts
/// raised are audited as the linking officer's). Signature: `(ctx, tx, key, actor, report_id)`.
pub async fn after_linking<R: NetworkRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    report_id: Uuid,
) -> Result<()> {
    let now = ctx.clock.now();
    let rules = tx.alert_rules().await?;
    if !rules.iter().any(|r| r.enabled) {
        return Ok(());
    }
    for entity in tx.linked_entities(report_id).await? {
        if entity.kind == EntityKind::Child {
            continue;
        }
        for rule in &rules {
            let Some(children) = evaluate(tx, rule, &entity, now).await? else {
                continue;
            };
            raise(ctx, tx, key, actor, rule, entity.id, children).await?;
        }
    }
    Ok(())
}

/// The alert rules (police only).
pub async fn rules<R: NetworkRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
) -> Result<Vec<AlertRule>> {
    if viewer(ctx, tx, key, actor, "intel_alert_rule.list").await? != View::Full {
        return Err(refuse(ctx, tx, key, actor, "intel_alert_rule.list").await?);
    }
    tx.alert_rules().await
}

/// A rule as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    pub name: String,
    pub entity_kinds: Vec<String>,
    pub min_children: String,
    pub window_days: String,
    pub enabled: bool,
}

fn number(errs: &mut Errors, field: &str, raw: &str, lo: i64, hi: i64, what: &str) -> i64 {
    match raw.trim().parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => n,
        Ok(_) => {
            errs.push(field, &format!("{what} must be between {lo} and {hi}"));
            0
        }
        Err(_) => {
            errs.push(
                field,
                &format!("Enter {} as a whole number", what.to_lowercase()),
            );
            0
        }
    }
}

/// Add a rule (`id` None) or change one. Police intelligence officers only; audited.
pub async fn save_rule<R: NetworkRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    id: Option<Uuid>,
    input: &RuleInput,
) -> Result<AlertRule> {
    manager(ctx, tx, key, actor, "intel_alert_rule.save").await?;
    let existing = match id {
        Some(id) => Some(
            tx.alert_rules()
                .await?
                .into_iter()
                .find(|r| r.id == id)
                .ok_or(Error::NotFound)?,
        ),
        None => None,
    };
    let mut errs = Errors::default();
    let name = errs.take(text(
        "name",
        &input.name,
        3,
        200,
        "Enter a name for the rule",
    ));
    let mut kinds = Vec::new();
    for k in &input.entity_kinds {
        match EntityKind::parse(k) {
            Some(kind) if WATCHABLE.contains(&kind) => {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            _ => errs.push("entity_kinds", "Select what the rule watches from the list"),
        }
    }
    if input.entity_kinds.is_empty() {
        errs.push(
            "entity_kinds",
            "Select at least one kind of entity to watch",
        );
    }
    let min_children = number(
        &mut errs,
        "min_children",
        &input.min_children,
        2,
        50,
        "The number of children",
    );
    let window_days = number(
        &mut errs,
        "window_days",
        &input.window_days,
        1,
        3650,
        "The number of days",
    );
    errs.done()?;
    kinds.sort_by_key(|k| EntityKind::ALL.iter().position(|x| x == k));
    let rule = AlertRule {
        id: existing.as_ref().map_or_else(|| ctx.ids.new_id(), |r| r.id),
        name,
        entity_kinds: kinds,
        min_children,
        window_days,
        enabled: input.enabled,
        updated_by: Some(actor.user_id),
        updated_at: ctx.clock.now(),
    };
    tx.save_alert_rule(&rule).await?;
    let mut e = cases::event(
        ctx,
        actor,
        Category::Admin,
        if existing.is_some() {
            "intel_alert_rule.update"
        } else {
            "intel_alert_rule.create"
        },
        Outcome::Success,
        rule.id,
        "intel_alert_rule",
    );
    e.detail = Some(format!(
        "{{\"min_children\":{min_children},\"window_days\":{window_days},\"enabled\":{}}}",
        rule.enabled
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    // A rule made or tuned applies at once to what is already linked.
    if rule.enabled {
        let since = ctx.clock.now() - Duration::days(rule.window_days);
        for (entity_id, children) in tx
            .entities_over(&rule.entity_kinds, since, rule.min_children)
            .await?
        {
            raise(ctx, tx, key, actor, &rule, entity_id, children).await?;
        }
    }
    Ok(rule)
}

/// Acknowledge an alert with a note of what is being done (police intelligence officers).
pub async fn acknowledge<R: NetworkRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &Actor,
    alert_id: Uuid,
    note: &str,
) -> Result<Alert> {
    manager(ctx, tx, key, actor, "intel_alert.acknowledge").await?;
    let a = tx.get_alert(alert_id).await?.ok_or(Error::NotFound)?;
    if a.acknowledged_at.is_some() {
        return Err(Error::Conflict(
            "The alert has already been acknowledged".into(),
        ));
    }
    let note = text(
        "note",
        note,
        10,
        2_000,
        "Enter what is being done about the alert (at least 10 characters)",
    )?;
    let now = ctx.clock.now();
    let a = Alert {
        acknowledged_by: Some(actor.user_id),
        acknowledged_at: Some(now),
        updated_at: now,
        note,
        ..a
    };
    tx.save_alert(&a).await?;
    let e = cases::event(
        ctx,
        actor,
        Category::Alteration,
        "intel_alert.acknowledge",
        Outcome::Success,
        a.id,
        "intel_alert",
    );
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(v: i64, r: u128, e: u128, kind: EntityKind, removed: bool) -> LinkChange {
        LinkChange {
            version: v,
            report_id: Uuid::from_u128(r),
            entity_id: Uuid::from_u128(e),
            entity_kind: kind,
            removed,
        }
    }

    #[test]
    fn the_cache_applies_changes_in_order_and_links_two_children_through_a_car() {
        let cache = NetworkCache::new();
        cache
            .apply(&[
                change(1, 1, 100, EntityKind::Child, false),
                change(1, 1, 200, EntityKind::Vehicle, false),
                change(2, 2, 101, EntityKind::Child, false),
                change(2, 2, 200, EntityKind::Vehicle, false),
            ])
            .unwrap();
        assert_eq!(cache.version().unwrap(), 2);
        let around = cache
            .snapshot_around(
                Node::Entity(Uuid::from_u128(200), EntityKind::Vehicle),
                2,
                50,
            )
            .unwrap()
            .unwrap();
        let children: Vec<_> = around
            .nodes
            .iter()
            .filter(|(_, n, _)| is_child(*n))
            .map(|(_, _, d)| *d)
            .collect();
        assert_eq!(children, vec![2, 2]);
        let a = cache
            .node_of(Node::Entity(Uuid::from_u128(100), EntityKind::Child))
            .unwrap()
            .unwrap();
        let b = cache
            .node_of(Node::Entity(Uuid::from_u128(101), EntityKind::Child))
            .unwrap()
            .unwrap();
        let path = cache.path(a, b).unwrap().unwrap();
        assert_eq!(path.len(), 5, "child, report, car, report, child");
        assert_eq!(
            path[2],
            Node::Entity(Uuid::from_u128(200), EntityKind::Vehicle)
        );
        // Removing the second report's link to the car separates the children.
        cache
            .apply(&[change(3, 2, 200, EntityKind::Vehicle, true)])
            .unwrap();
        assert!(cache.path(a, b).unwrap().is_none());
        assert_eq!(cache.version().unwrap(), 3);
    }

    #[test]
    fn pseudonyms_number_each_kind_in_order_and_hide_labels() {
        let mut l = Labeller {
            view: View::Pseudonymised,
            entities: HashMap::from([(
                Uuid::from_u128(1),
                Entity {
                    id: Uuid::from_u128(1),
                    kind: EntityKind::Vehicle,
                    key: "AB12CDE".into(),
                    label: "AB12 CDE".into(),
                    person_id: None,
                    latitude: None,
                    longitude: None,
                    created_at: time::OffsetDateTime::UNIX_EPOCH,
                },
            )]),
            reports: HashMap::new(),
            pseudonyms: HashMap::new(),
            counters: BTreeMap::new(),
        };
        let car = Node::Entity(Uuid::from_u128(1), EntityKind::Vehicle);
        let car2 = Node::Entity(Uuid::from_u128(2), EntityKind::Vehicle);
        let child = Node::Entity(Uuid::from_u128(3), EntityKind::Child);
        assert_eq!(l.label(car), "Vehicle 1");
        assert_eq!(l.label(child), "Child 1");
        assert_eq!(l.label(car2), "Vehicle 2");
        assert_eq!(l.label(car), "Vehicle 1");
        assert_eq!(l.person_id(child), None);
        l.view = View::Full;
        assert_eq!(l.label(car), "AB12 CDE");
    }
}
