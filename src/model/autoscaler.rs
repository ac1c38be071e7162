//! The autoscaler's state: decisions (cluster events), pending demands, launches and failures, and
//! a verdict per worker group that says whether it scales and, if not, what blocks it.
//!
//! Two inputs carry the same facts: the v1 monitor's structured report (`/api/cluster_status`) and,
//! under autoscaler v2 where that report is null, the `ray status` text (`?format=1`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::cluster::{Group, GroupKind, is_head_type};
use super::text::clean;
use crate::units::fmt_shape;
use crate::wire::dashboard::{ClusterEvent, ClusterStatusV1};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandKind {
    /// Tasks and actors waiting for resources.
    Task,
    /// Placement-group bundles (Tune trials, Train workers).
    PlacementGroup,
    /// `ray.autoscaler.sdk.request_resources`.
    Request,
}

/// One pending resource demand: `count` requests of `shape`. For placement groups the shape is one
/// bundle and `count` is bundles × groups, since bundles are what nodes must fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    pub kind: DemandKind,
    pub shape: Vec<(String, f64)>,
    pub count: u64,
    /// Placement strategy (PACK, SPREAD, …) for placement-group demands.
    pub strategy: Option<String>,
}

impl Demand {
    pub fn label(&self) -> String {
        let what = match self.kind {
            DemandKind::Task => "tasks/actors",
            DemandKind::PlacementGroup => "placement-group bundles",
            DemandKind::Request => "requested",
        };
        let strategy = self.strategy.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
        format!("{} × {}{strategy} {what}", self.count, fmt_shape(&self.shape))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingLaunch {
    pub group: String,
    pub count: u64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedLaunch {
    pub group: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictState {
    /// Nothing pending that this group could serve.
    Steady,
    /// Launches in flight for this group.
    ScalingUp,
    /// Demand fits the group but it does not grow: at max, failing launches, or unknown.
    Blocked,
    /// Demand that fits no group at all.
    Infeasible,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The group, or `None` for a cluster-wide verdict (infeasible demand).
    pub group: Option<String>,
    pub state: VerdictState,
    pub text: String,
}

/// Which autoscaler report the data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    #[default]
    None,
    V1,
    V2Text,
}

/// The autoscaler's report reduced to what raytop shows, before joining with groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub source: ReportSource,
    pub active: BTreeMap<String, u64>,
    pub pending: Vec<Demand>,
    pub launches: Vec<PendingLaunch>,
    pub failures: Vec<FailedLaunch>,
}

/// What the autoscaler view and `snapshot --json` show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Autoscaler {
    pub source: ReportSource,
    /// Cluster events, oldest first (the view shows them newest first).
    pub events: Vec<Event>,
    pub pending: Vec<Demand>,
    pub launches: Vec<PendingLaunch>,
    pub failures: Vec<FailedLaunch>,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Adding,
    Removing,
    Resized,
    Restarting,
    Warning,
    Other,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// When it last happened (for a repeated event, the newest occurrence).
    pub time: String,
    pub severity: String,
    pub source: String,
    pub decision: Decision,
    pub message: String,
    /// How many times in a row it was reported: autoscaler v2 repeats "No available node types
    /// can fulfill …" every second while demand is pending.
    pub repeats: u32,
}

/// Events oldest first, with runs of the same message from the same source folded into one.
pub fn fold_events(events: &[ClusterEvent]) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::with_capacity(events.len());
    for e in events {
        let mut ev = Event::from_cluster_event(e);
        ev.message = without_detail(&ev.message);
        match out.last_mut() {
            Some(last) if last.message == ev.message && last.source == ev.source => {
                last.repeats += 1;
                last.time = ev.time;
            }
            _ => out.push(ev),
        }
    }
    out
}

impl Event {
    pub fn from_cluster_event(e: &ClusterEvent) -> Self {
        let m = e.message.trim();
        let decision = if m.starts_with("Adding") {
            Decision::Adding
        } else if m.starts_with("Removing") {
            Decision::Removing
        } else if m.starts_with("Resized") {
            Decision::Resized
        } else if m.starts_with("Restarting") {
            Decision::Restarting
        } else if e.severity == "WARNING" || e.severity == "ERROR" || m.starts_with("Error") {
            Decision::Warning
        } else {
            Decision::Other
        };
        Event {
            time: e.time.clone(),
            severity: e.severity.clone(),
            source: e.source_type.clone(),
            decision,
            message: clean(m),
            repeats: 1,
        }
    }
}

/// Drops the per-request id in "… requests (detail=<pg id>:PACK|PENDING): {…}", so the same
/// complaint about different placement groups folds into one row.
fn without_detail(m: &str) -> String {
    match m.find(" (detail=") {
        Some(start) => match m[start..].find(')') {
            Some(len) => format!("{}{}", &m[..start], &m[start + len + 1..]),
            None => m.to_string(),
        },
        None => m.to_string(),
    }
}

/// Reads the v1 monitor's structured report.
pub fn report_from_v1(status: &ClusterStatusV1) -> Report {
    let a = &status.autoscaler_report;
    let l = &status.load_metrics_report;
    let ordered = |m: &BTreeMap<String, f64>| -> Vec<(String, f64)> { order_shape(m) };
    let mut pending = Vec::new();
    for (shape, count) in &l.resource_demand {
        pending.push(Demand { kind: DemandKind::Task, shape: ordered(shape), count: *count, strategy: None });
    }
    for (pg, count) in &l.pg_demand {
        for (bundle, n) in &pg.bundles {
            pending.push(Demand {
                kind: DemandKind::PlacementGroup,
                shape: ordered(bundle),
                count: n.saturating_mul(*count),
                strategy: Some(pg.strategy.clone()).filter(|s| !s.is_empty()),
            });
        }
    }
    for (shape, count) in &l.request_demand {
        pending.push(Demand { kind: DemandKind::Request, shape: ordered(shape), count: *count, strategy: None });
    }
    let mut launches: Vec<PendingLaunch> = a
        .pending_launches
        .iter()
        .map(|(group, n)| PendingLaunch { group: group.clone(), count: *n, status: "launching".into() })
        .collect();
    for p in &a.pending_nodes {
        let field = |i: usize| p.get(i).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        launches.push(PendingLaunch { group: field(1), count: 1, status: field(2) });
    }
    let failures = a
        .failed_nodes
        .iter()
        .map(|f| {
            let field = |i: usize| f.get(i).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            FailedLaunch { group: field(1), detail: format!("node {} failed", field(0)) }
        })
        .collect();
    Report { source: ReportSource::V1, active: a.active_nodes.clone(), pending, launches, failures }
}

/// Reads the `ray status` text, the only report autoscaler v2 serves over HTTP.
pub fn report_from_text(text: &str) -> Report {
    #[derive(PartialEq)]
    enum Section {
        None,
        Active,
        Idle,
        Pending,
        Failures,
        Demands,
        Other,
    }
    let mut report = Report { source: ReportSource::V2Text, ..Report::default() };
    let mut section = Section::None;
    for raw in text.lines() {
        let line = raw.trim();
        let header = match line {
            "Active:" => Some(Section::Active),
            "Idle:" => Some(Section::Idle),
            "Pending:" => Some(Section::Pending),
            "Recent failures:" => Some(Section::Failures),
            "Pending Demands:" => Some(Section::Demands),
            "Resources" | "Total Usage:" | "From request_resources:" | "Node status" => Some(Section::Other),
            _ => None,
        };
        if let Some(h) = header {
            section = h;
            continue;
        }
        if line.is_empty() || line.starts_with('(') || line.starts_with("---") || line.starts_with("===") {
            continue;
        }
        match section {
            Section::Active | Section::Idle => {
                if let Some((n, group)) = line.split_once(' ')
                    && let Ok(n) = n.parse::<u64>()
                {
                    // Counts from a text report: a garbled one must not overflow.
                    let count = report.active.entry(group.trim().to_string()).or_default();
                    *count = count.saturating_add(n);
                }
            }
            Section::Pending => report.launches.push(parse_pending_line(line)),
            Section::Failures => {
                let (group, detail) = match line.split_once(':') {
                    Some((g, d)) if !g.contains(' ') || g.contains('.') => (g, d.trim()),
                    _ => ("", line),
                };
                let group = group.rsplit(' ').next().unwrap_or(group);
                report.failures.push(FailedLaunch { group: group.to_string(), detail: clean(detail) });
            }
            Section::Demands => {
                if let Some(d) = parse_demand_line(line) {
                    report.pending.push(d);
                }
            }
            Section::None | Section::Other => {}
        }
    }
    report
}

/// " gpu-group, 1 launching" or " 10.0.0.5: gpu-group, setting-up".
fn parse_pending_line(line: &str) -> PendingLaunch {
    let body = match line.split_once(": ") {
        Some((_ip, rest)) => rest,
        None => line,
    };
    let (group, status) = body.split_once(", ").unwrap_or((body, ""));
    let mut words = status.split_whitespace();
    let (count, status) = match words.next().map(str::parse::<u64>) {
        Some(Ok(n)) => (n, words.collect::<Vec<_>>().join(" ")),
        _ => (1, status.to_string()),
    };
    PendingLaunch { group: group.trim().to_string(), count, status }
}

/// "{'CPU': 1.0, 'GPU': 1.0}: 6+ pending tasks/actors",
/// "{'GPU': 1.0, 'CPU': 1.0} * 1 (PACK): 6+ pending placement groups",
/// "{'CPU': 4.0} * 1 (from request_resources)".
fn parse_demand_line(line: &str) -> Option<Demand> {
    let open = line.find('{')?;
    let close = line[open..].find('}')? + open;
    let shape = order_shape(&parse_py_dict(&line[open + 1..close]).into_iter().collect());
    let rest = &line[close + 1..];
    let bundles_per_group = rest
        .trim_start()
        .strip_prefix('*')
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.trim_end_matches(':').parse::<u64>().ok())
        .unwrap_or(1);
    let count_of = |text: &str| -> u64 {
        text.split_whitespace().find_map(|w| w.trim_end_matches('+').parse::<u64>().ok()).unwrap_or(1)
    };
    let (kind, count, strategy) = if rest.contains("request_resources") {
        (DemandKind::Request, bundles_per_group, None)
    } else if rest.contains("pending placement groups") {
        let strategy = rest.find('(').and_then(|s| rest[s + 1..].find(')').map(|e| rest[s + 1..s + 1 + e].to_string()));
        let groups = rest.rsplit_once(':').map(|(_, t)| count_of(t)).unwrap_or(1);
        (DemandKind::PlacementGroup, bundles_per_group.saturating_mul(groups), strategy)
    } else {
        let n = rest.rsplit_once(':').map(|(_, t)| count_of(t)).unwrap_or(1);
        (DemandKind::Task, n, None)
    };
    Some(Demand { kind, shape, count, strategy })
}

/// "'CPU': 1.0, 'GPU': 1.0" → [("CPU", 1.0), ("GPU", 1.0)].
fn parse_py_dict(inner: &str) -> Vec<(String, f64)> {
    inner
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once(':')?;
            let k = k.trim().trim_matches(|c| c == '\'' || c == '"');
            Some((k.to_string(), v.trim().parse::<f64>().ok()?))
        })
        .collect()
}

/// Puts GPU and CPU first, then the rest by name, so shapes read the same everywhere.
fn order_shape(m: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let rank = |k: &str| match k {
        "GPU" => 0,
        "CPU" => 1,
        _ => 2,
    };
    let mut v: Vec<(String, f64)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
    v.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
    v
}

/// The node shape of a group: the resource totals of one of its nodes (all nodes of a type are
/// alike), or the shape the cluster config declares.
pub type GroupShapes = BTreeMap<String, BTreeMap<String, f64>>;

/// Resource names compared loosely: the dashboard camelCases names inside its JSON
/// (`accelerator_type:A100` → `acceleratorType:A100`) while the status text keeps them.
fn resource_key(k: &str) -> String {
    k.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

fn fits(demand: &[(String, f64)], node: &BTreeMap<String, f64>) -> bool {
    demand.iter().all(|(k, v)| {
        // Node-pinning resources are not part of a node type.
        if k.starts_with("node:") {
            return true;
        }
        let want = resource_key(k);
        node.iter().any(|(have_k, have)| resource_key(have_k) == want && have + 1e-9 >= *v)
    })
}

/// Joins the report with the groups: one verdict per worker group, plus one per demand that no
/// group can serve. Groups the report names but that have no node yet (launching from zero) get a
/// verdict too.
pub fn verdicts(report: &Report, groups: &[Group], shapes: &GroupShapes) -> Vec<Verdict> {
    struct Seen<'a> {
        name: &'a str,
        nodes: u64,
        max: Option<u64>,
    }
    let mut seen: Vec<Seen> = groups
        .iter()
        .filter(|g| g.kind == GroupKind::Worker)
        .map(|g| Seen { name: &g.name, nodes: g.nodes_alive as u64, max: g.max })
        .collect();
    for l in &report.launches {
        if !l.group.is_empty() && !is_head_type(&l.group) && !seen.iter().any(|s| s.name == l.group) {
            seen.push(Seen { name: &l.group, nodes: 0, max: None });
        }
    }
    let mut out = Vec::new();
    let mut served = vec![false; report.pending.len()];
    for g in &seen {
        let shape = shapes.get(g.name);
        let fitting: Vec<&Demand> = report
            .pending
            .iter()
            .enumerate()
            .filter(|(_, d)| shape.is_some_and(|s| fits(&d.shape, s)))
            .map(|(i, d)| {
                served[i] = true;
                d
            })
            .collect();
        let launching: u64 = report.launches.iter().filter(|l| l.group == g.name).map(|l| l.count).sum();
        let failed = report.failures.iter().find(|f| f.group == g.name);
        let nodes = g.nodes;
        let limit = g.max.map(|m| format!("{nodes}/{m}")).unwrap_or_else(|| format!("{nodes} nodes"));
        let demand_text = fitting.iter().map(|d| demand_phrase(d)).collect::<Vec<_>>().join(", ");
        let name = g.name;
        let (state, text) = if launching > 0 {
            let why = if demand_text.is_empty() { String::new() } else { format!("{demand_text}; ") };
            (VerdictState::ScalingUp, format!("{why}{name} launching {launching} ({limit})"))
        } else if fitting.is_empty() {
            let why = if shape.is_none() {
                "node shape unknown (no node yet; --cluster-config tells)"
            } else {
                "no pending demand fits it"
            };
            (VerdictState::Steady, format!("{name}: {limit}; {why}"))
        } else if let Some(max) = g.max.filter(|m| nodes >= *m) {
            (VerdictState::Blocked, format!("{demand_text}; {name} at max {nodes}/{max}"))
        } else if let Some(f) = failed {
            (VerdictState::Blocked, format!("{demand_text}; {name} launch failed: {}", f.detail))
        } else {
            let max = if g.max.is_some() { "" } else { ", max unknown" };
            (VerdictState::Blocked, format!("{demand_text}; {name} not launching ({limit}{max})"))
        };
        out.push(Verdict { group: Some(name.to_string()), state, text });
    }
    let unknown: Vec<&str> = seen.iter().filter(|g| !shapes.contains_key(g.name)).map(|g| g.name).collect();
    for (d, served) in report.pending.iter().zip(served) {
        if served {
            continue;
        }
        let text = if unknown.is_empty() {
            format!("{}: no worker group has a node that fits", demand_phrase(d))
        } else {
            format!(
                "{}: fits no group with a known shape ({} unknown; --cluster-config tells)",
                demand_phrase(d),
                unknown.join(", ")
            )
        };
        out.push(Verdict { group: None, state: VerdictState::Infeasible, text });
    }
    out
}

fn demand_phrase(d: &Demand) -> String {
    let noun = match d.kind {
        DemandKind::Task => "tasks/actors",
        DemandKind::PlacementGroup => "bundles",
        DemandKind::Request => "requested",
    };
    format!("{} pending {} {noun}", d.count, fmt_shape(&d.shape))
}

/// Shapes of groups: the resource totals of a live node of each group, falling back to the shape
/// the cluster config declares (a group scaled to zero has no node to look at).
pub fn shapes_from_groups(groups: &[Group], config: &GroupShapes) -> GroupShapes {
    let mut shapes = config.clone();
    for g in groups {
        if let Some(n) = g.nodes.iter().find(|n| n.alive && !n.resources.is_empty()) {
            shapes.insert(g.name.clone(), n.resources.clone());
        }
    }
    shapes
}
