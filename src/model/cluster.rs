//! Head and worker groups with their Ray nodes, derived from `/nodes?view=summary` (the node list
//! and host stats) and, under autoscaler v1, the autoscaler's report (logical usage per node,
//! fetched far more often because it is a fraction of the size).

use std::collections::BTreeMap;

use serde::Serialize;

use super::resources::{Usage, parse_usage_text};
use crate::wire::dashboard::{ClusterStatusV1, GpuStat, NodesSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    Head,
    Worker,
}

/// One Ray node, as a row of the cluster view.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub node_id: String,
    pub ip: String,
    pub hostname: String,
    /// Pod name on KubeRay (`RAY_CLOUD_INSTANCE_ID`); the fake provider's node id locally.
    pub instance_id: String,
    pub group: String,
    pub is_head: bool,
    pub alive: bool,
    pub state_message: Option<String>,
    /// Physical CPU busy percent, from the node's agent.
    pub cpu_percent: Option<f64>,
    pub physical_cores: Option<u64>,
    pub mem_used: Option<f64>,
    pub mem_total: Option<f64>,
    /// Unix seconds at which the raylet started.
    pub start_time: Option<f64>,
    pub cpu: Usage,
    pub gpu: Usage,
    pub memory: Usage,
    pub gpus: Vec<GpuStat>,
    /// `ip:metricsExportPort`: the `instance` label of its series in Prometheus; empty when the
    /// dashboard did not say the port.
    pub metrics_instance: String,
    /// Logical resource totals as the dashboard reports them (keys camelCased, see facts §4.0).
    #[serde(skip)]
    pub resources: BTreeMap<String, f64>,
}

/// A head or worker group with totals over its live nodes.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub kind: GroupKind,
    pub nodes_alive: usize,
    pub nodes_dead: usize,
    pub cpu: Usage,
    pub gpu: Usage,
    pub memory: Usage,
    /// `min_workers`/`max_workers` when known (cluster config or, later, the RayCluster spec).
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub nodes: Vec<Node>,
}

/// Min/max workers per group, from whatever source knows them.
pub type GroupLimits = BTreeMap<String, (u64, u64)>;

/// The group name of a head node that reports no node type (local clusters); on KubeRay the head
/// reports `headgroup`.
pub const HEAD_GROUP_FALLBACK: &str = "head";
/// The group of worker nodes that report no node type (clusters started by hand).
pub const UNTYPED_WORKERS: &str = "workers";

/// One live node as the autoscaler's report (v1) sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportedNode {
    pub group: String,
    pub ip: String,
    pub is_head: bool,
    /// Resource name (camelCased, as the summary's totals) → used and total.
    pub usage: BTreeMap<String, Usage>,
}

/// Logical usage per node id, from the autoscaler's report.
pub type ReportedUsage = BTreeMap<String, ReportedNode>;

/// Logical usage per node from a v1 report that carries it (`ReportKind::V1WithUsage`); without
/// it (older Ray, no nodes yet) the summary's usage text stays the source.
pub fn reported_usage(status: &ClusterStatusV1) -> ReportedUsage {
    status
        .load_metrics_report
        .usage_by_node
        .iter()
        .map(|(id, resources)| {
            let usage: BTreeMap<String, Usage> = resources
                .iter()
                .filter_map(|(name, pair)| match pair.as_slice() {
                    [used, total] => Some((name.clone(), Usage { used: *used, total: *total })),
                    _ => None,
                })
                .collect();
            // Every node offers `node:<its ip>`; the head also `node:__internal_head__`, which the
            // dashboard camelCases to `node:InternalHead`.
            let is_head_key = |k: &str| k == "node:InternalHead" || k == "node:__internal_head__";
            let ip = resources
                .keys()
                .filter_map(|k| k.strip_prefix("node:").filter(|_| !is_head_key(k)))
                .next()
                .unwrap_or_default()
                .to_string();
            let is_head = resources.keys().any(|k| is_head_key(k));
            let group = status.autoscaler_report.node_type_mapping.get(id).cloned().unwrap_or_default();
            (id.clone(), ReportedNode { group, ip, is_head, usage })
        })
        .collect()
}

fn group_name(is_head: bool, node_type: &str) -> String {
    match (is_head, node_type.is_empty()) {
        (_, false) => node_type.to_string(),
        (true, true) => HEAD_GROUP_FALLBACK.to_string(),
        (false, true) => UNTYPED_WORKERS.to_string(),
    }
}

/// A node the autoscaler reports but the last summary did not list yet (it joined since): shown
/// with its usage at once; its host stats and uptime come with the next summary.
fn reported_only(node_id: &str, r: &ReportedNode) -> Node {
    let pick = |key: &str| r.usage.get(key).copied().unwrap_or_default();
    Node {
        node_id: node_id.to_string(),
        ip: r.ip.clone(),
        hostname: String::new(),
        instance_id: String::new(),
        group: group_name(r.is_head, &r.group),
        is_head: r.is_head,
        alive: true,
        state_message: None,
        cpu_percent: None,
        physical_cores: None,
        mem_used: None,
        mem_total: None,
        start_time: None,
        cpu: pick("CPU"),
        gpu: pick("GPU"),
        memory: pick("memory"),
        gpus: Vec::new(),
        metrics_instance: String::new(),
        resources: r.usage.iter().map(|(k, u)| (k.clone(), u.total)).collect(),
    }
}

/// Builds the groups: the head first, then worker groups by name. Nodes within a group: alive
/// first, then by start time, so the list is stable between refreshes. Logical usage comes from
/// the autoscaler's report where there is one (it is fetched more often), else from the summary.
pub fn build_groups(
    summary: Option<&NodesSummary>,
    reported: Option<&ReportedUsage>,
    limits: &GroupLimits,
) -> Vec<Group> {
    let mut groups: BTreeMap<(u8, String), Group> = BTreeMap::new();
    let listed = summary.map_or(&[][..], |s| s.summary.as_slice());
    let mut nodes: Vec<Node> = Vec::with_capacity(listed.len());
    for item in listed {
        let r = &item.raylet;
        let group = group_name(r.is_head_node, &r.node_type_name);
        let usage = match reported.and_then(|rep| rep.get(&r.node_id)) {
            Some(rep) => rep.usage.clone(),
            None => summary
                .and_then(|s| s.node_logical_resources.get(&r.node_id))
                .map(|t| parse_usage_text(t))
                .unwrap_or_default(),
        };
        let from_totals = |key: &str| Usage { used: 0.0, total: r.resources_total.get(key).copied().unwrap_or(0.0) };
        let pick = |key: &str| usage.get(key).copied().unwrap_or_else(|| from_totals(key));
        let alive = r.state.eq_ignore_ascii_case("ALIVE");
        let ip = if item.ip.is_empty() { r.node_manager_address.clone() } else { item.ip.clone() };
        let node = Node {
            node_id: r.node_id.clone(),
            metrics_instance: r.metrics_export_port.filter(|p| *p > 0).map(|p| format!("{ip}:{p}")).unwrap_or_default(),
            ip,
            hostname: if item.hostname.is_empty() { r.node_manager_hostname.clone() } else { item.hostname.clone() },
            instance_id: r.instance_id.clone(),
            group: group.clone(),
            is_head: r.is_head_node,
            alive,
            state_message: r.state_message.as_deref().map(super::text::clean).filter(|m| !m.is_empty()),
            cpu_percent: item.cpu,
            physical_cores: item.cpus.get(1).copied(),
            mem_used: item.mem.get(3).copied(),
            mem_total: item.mem.first().copied(),
            start_time: r.start_time_ms.filter(|ms| *ms > 0).map(|ms| ms as f64 / 1000.0),
            cpu: pick("CPU"),
            gpu: pick("GPU"),
            memory: pick("memory"),
            gpus: item.gpus.clone(),
            resources: r.resources_total.clone(),
        };
        nodes.push(node);
    }
    if let Some(reported) = reported {
        let known: std::collections::HashSet<&str> = listed.iter().map(|i| i.raylet.node_id.as_str()).collect();
        nodes
            .extend(reported.iter().filter(|(id, _)| !known.contains(id.as_str())).map(|(id, r)| reported_only(id, r)));
    }
    for node in nodes {
        let group = node.group.clone();
        let kind = if node.is_head { GroupKind::Head } else { GroupKind::Worker };
        let order = u8::from(kind == GroupKind::Worker);
        let entry = groups.entry((order, group.clone())).or_insert_with(|| Group {
            name: group.clone(),
            kind,
            nodes_alive: 0,
            nodes_dead: 0,
            cpu: Usage::default(),
            gpu: Usage::default(),
            memory: Usage::default(),
            min: limits.get(&group).map(|l| l.0),
            max: limits.get(&group).map(|l| l.1),
            nodes: Vec::new(),
        });
        if node.alive {
            entry.nodes_alive += 1;
            entry.cpu.add(node.cpu);
            entry.gpu.add(node.gpu);
            entry.memory.add(node.memory);
        } else {
            entry.nodes_dead += 1;
        }
        entry.nodes.push(node);
    }
    // Groups the config declares but that have no node yet (a GPU group scaled to zero) still
    // belong on screen: "why has it no nodes" is the question a user comes with.
    for (name, (min, max)) in limits {
        let known = groups.keys().any(|(_, n)| n == name);
        if !known && !is_head_type(name) {
            groups.insert(
                (1, name.clone()),
                Group {
                    name: name.clone(),
                    kind: GroupKind::Worker,
                    nodes_alive: 0,
                    nodes_dead: 0,
                    cpu: Usage::default(),
                    gpu: Usage::default(),
                    memory: Usage::default(),
                    min: Some(*min),
                    max: Some(*max),
                    nodes: Vec::new(),
                },
            );
        }
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    // Unknown (or NaN) start times first, as `None` sorted before; a total order either way.
    let time_key = |t: Option<f64>| t.filter(|v| !v.is_nan()).unwrap_or(f64::NEG_INFINITY);
    for g in &mut out {
        g.nodes.sort_by(|a, b| {
            b.alive
                .cmp(&a.alive)
                .then(time_key(a.start_time).total_cmp(&time_key(b.start_time)))
                .then(a.node_id.cmp(&b.node_id))
        });
    }
    out
}

/// Names the Ray autoscaler and KubeRay give the head's node type.
pub fn is_head_type(name: &str) -> bool {
    name == "ray.head.default" || name == "headgroup" || name == HEAD_GROUP_FALLBACK
}
