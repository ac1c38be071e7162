//! GPU allocation: per GPU-bearing node, what Ray counts (total, allocated), each physical GPU's
//! stats where the node reports them, and who holds them — actors, mapped to Tune trials and Serve
//! replicas. Plus cluster totals and the waste worth flagging.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::autoscaler::{Autoscaler, VerdictState};
use super::cluster::Group;
use super::resources::Usage;
use super::serve::Serve;
use super::tune::Tune;
use crate::wire::dashboard::ActorState;

/// Below this utilisation a GPU counts as idle.
pub const IDLE_UTIL_PCT: f64 = 5.0;
/// How long a held GPU must stay idle before it is flagged.
pub const IDLE_FLAG_SECS: f64 = 60.0;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Gpus {
    pub totals: Totals,
    pub nodes: Vec<GpuNode>,
    /// Waste and blockage worth a look, one line each.
    pub flags: Vec<String>,
    /// The flags that are not about idle devices (kept apart: history can change the others).
    #[serde(skip)]
    other_flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// GPUs Ray counts, and how many are allocated to tasks and actors.
    pub ray: Usage,
    /// Physical GPUs the node agents report, and how many are busy (≥ 5% utilisation).
    pub physical: usize,
    pub busy: usize,
    /// GPUs asked for by pending demands the autoscaler reports.
    pub pending_demand: f64,
    /// GPUs requested from Kubernetes (pod requests); known once the Kubernetes source runs.
    pub k8s_requested: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GpuNode {
    pub node_id: String,
    pub ip: String,
    pub group: String,
    /// The pod name on KubeRay.
    pub instance_id: String,
    /// Its series' `instance` label in Prometheus (`ip:metricsExportPort`), when known.
    pub metrics_instance: String,
    pub ray: Usage,
    /// GPUs the node's pod requests from Kubernetes (`nvidia.com/gpu`…), when known.
    pub k8s_requested: Option<f64>,
    pub devices: Vec<Device>,
    /// Actors holding logical GPUs on this node (shared with the holder index: a build that
    /// joins nothing new copies none of them).
    pub holders: Arc<[Holder]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub index: Option<u32>,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub utilization: Option<f64>,
    pub memory_used_mb: Option<f64>,
    pub memory_total_mb: Option<f64>,
    pub power_w: Option<f64>,
    pub temperature_c: Option<f64>,
    pub processes: Vec<DeviceProcess>,
    /// Seconds it has been below the idle threshold while held, when it is.
    pub idle_for_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceProcess {
    pub pid: u64,
    pub memory_mb: Option<f64>,
    pub holder: Option<Holder>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holder {
    /// "trial", "serve_replica", "train_worker" or "actor".
    pub kind: &'static str,
    /// Trial id, `app/deployment#replica`, `run rank N`, or the actor's class.
    pub name: String,
    pub actor_id: String,
    pub pid: Option<u64>,
    pub gpus: f64,
}

/// GPUs an actor holds: `GPU`, or `GPU_group_…` inside placement groups (counted once: Ray lists
/// both the bundle-indexed and the wildcard form).
fn actor_gpus(a: &ActorState) -> f64 {
    let plain = a.required_resources.get("GPU").copied().unwrap_or(0.0);
    let wildcard: f64 = a
        .required_resources
        .iter()
        .filter(|(k, _)| k.starts_with("GPU_group_") && !k["GPU_group_".len()..].contains('_'))
        .map(|(_, v)| *v)
        .sum();
    plain + wildcard
}

/// Who runs where, indexed once per build: trials by process, Serve replicas by actor.
struct Owners<'a> {
    tune: &'a Tune,
    trials: std::collections::HashMap<(u64, &'a str), (usize, usize)>,
    /// Actor id → "app/deployment#replica".
    replicas: std::collections::HashMap<&'a str, String>,
    /// Actor id → "run rank N", for the workers of each Train run's current attempt.
    train: std::collections::HashMap<&'a str, String>,
}

impl<'a> Owners<'a> {
    fn new(tune: &'a Tune, serve: &'a Serve, train: &'a crate::model::train::Train) -> Self {
        let train = train
            .runs
            .iter()
            .filter_map(|run| run.current().map(|a| (run, a)))
            .flat_map(|(run, a)| {
                a.workers.iter().map(move |w| (w.actor_id.as_str(), format!("{} rank {}", run.name, w.world_rank)))
            })
            .collect();
        let mut replicas = std::collections::HashMap::new();
        for app in &serve.applications {
            for d in &app.deployments {
                for r in &d.replicas {
                    // The first replica listed with an actor wins, as the scan before did.
                    replicas
                        .entry(r.actor_id.as_str())
                        .or_insert_with(|| format!("{}/{}#{}", app.name, d.name, r.replica_id));
                }
            }
        }
        Owners { tune, trials: tune.trials_by_process(), replicas, train }
    }
}

/// What can hold a GPU besides a plain actor: the holders are named after these.
#[derive(Clone, Copy)]
pub struct Workloads<'a> {
    pub tune: &'a Tune,
    pub serve: &'a Serve,
    pub train: &'a crate::model::train::Train,
}

/// Names an actor by what it serves: a trial (pid and node match its last result), a Serve
/// replica (actor id), else its class.
fn holder(a: &ActorState, ip: &str, owners: &Owners) -> Holder {
    let gpus = actor_gpus(a);
    if let Some(&(ei, ti)) = a.pid.and_then(|pid| owners.trials.get(&(pid, ip))) {
        let tune = owners.tune;
        let (e, t) = (&tune.experiments[ei], &tune.experiments[ei].trials[ti]);
        return Holder {
            kind: "trial",
            name: format!("{}/{}", e.name, t.trial_id),
            actor_id: a.actor_id.clone(),
            pid: a.pid,
            gpus,
        };
    }
    if let Some(name) = owners.replicas.get(a.actor_id.as_str()) {
        return Holder { kind: "serve_replica", name: name.clone(), actor_id: a.actor_id.clone(), pid: a.pid, gpus };
    }
    if let Some(name) = owners.train.get(a.actor_id.as_str()) {
        return Holder { kind: "train_worker", name: name.clone(), actor_id: a.actor_id.clone(), pid: a.pid, gpus };
    }
    let name = a.repr_name.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| a.class_name.clone());
    Holder { kind: "actor", name, actor_id: a.actor_id.clone(), pid: a.pid, gpus }
}

/// Who holds the GPUs of each GPU node: the actors there, named after what they serve. Joining
/// them is most of the GPU picture's cost (20,000 actors at 2,000 nodes: a fifth of a frame's
/// budget and more), and its inputs move far less often than the picture is built (every
/// autoscaler report, every 10 s for idle ages): a node is joined again only when the actors or
/// what they serve changed, or when it is new, moved, or its GPUs run other processes.
#[derive(Debug, Clone, Default)]
pub struct HolderIndex {
    /// Whether the actors and what they serve are the ones it was joined from.
    current: bool,
    /// The actors (positions in the list) on each node, while the list is the same.
    on_node: HashMap<String, Vec<usize>>,
    by_node: HashMap<String, NodeHolders>,
    /// The trials that name an actor of a GPU node, as (pid, node IP, experiment, trial)
    /// positions: Tune's news moves a holder only when this moves.
    trials: Vec<(u64, String, usize, usize)>,
}

#[derive(Debug, Clone, Default)]
struct NodeHolders {
    /// The node's IP and its GPUs' process ids when it was joined.
    ip: String,
    device_pids: Vec<u64>,
    holders: Arc<[Holder]>,
    /// The actors behind the processes on the node's GPUs, by pid.
    by_pid: HashMap<u64, Holder>,
    /// The pid of every actor of the node: the processes a trial could name (with `ip`).
    processes: Vec<u64>,
}

/// Whether the GPU picture lists a node: alive, with GPUs Ray counts or the agent reports.
fn is_gpu_node(n: &super::cluster::Node) -> bool {
    n.alive && (n.gpu.total > 0.0 || !n.gpus.is_empty())
}

/// A GPU node as the index joins it: id, IP, GPUs.
type GpuNodeRef<'a> = (&'a str, &'a str, &'a [crate::wire::dashboard::GpuStat]);

fn device_pids(devices: &[crate::wire::dashboard::GpuStat]) -> Vec<u64> {
    devices.iter().flat_map(|d| &d.processes_pids).map(|p| p.pid).collect()
}

impl HolderIndex {
    /// The actors, or what they serve (Serve replicas, Train workers), changed.
    pub fn invalidate(&mut self) {
        self.current = false;
    }

    /// The trials that run in a process of a GPU node's actors, sorted.
    fn trials_here(&self, tune: &Tune) -> Vec<(u64, String, usize, usize)> {
        let here: HashSet<(u64, &str)> =
            self.by_node.values().flat_map(|n| n.processes.iter().map(move |pid| (*pid, n.ip.as_str()))).collect();
        let mut v: Vec<_> = tune
            .trials_by_process()
            .into_iter()
            .filter(|(k, _)| here.contains(k))
            .map(|((pid, ip), (e, t))| (pid, ip.to_string(), e, t))
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether Tune's news leaves the trials that name GPU holders where they were; when not,
    /// the index is joined anew at the next build.
    pub fn keeps_trials(&mut self, tune: &Tune) -> bool {
        let same = self.trials_here(tune) == self.trials;
        if !same {
            self.current = false;
        }
        same
    }

    fn refresh(&mut self, gpu_nodes: &[GpuNodeRef], actors: &[ActorState], what: Workloads) {
        if !self.current {
            self.by_node.clear();
            self.on_node.clear();
            for (i, a) in actors.iter().enumerate() {
                self.on_node.entry(a.node_id.clone()).or_default().push(i);
            }
        }
        let stale = |n: &GpuNodeRef, joined: Option<&NodeHolders>| {
            joined.is_none_or(|j| j.ip != n.1 || j.device_pids != device_pids(n.2))
        };
        let mut changed = self.by_node.len() != gpu_nodes.len();
        let mut owners = None;
        for n in gpu_nodes {
            if !stale(n, self.by_node.get(n.0)) {
                continue;
            }
            changed = true;
            let owners = owners.get_or_insert_with(|| Owners::new(what.tune, what.serve, what.train));
            let (node_id, ip, devices) = *n;
            let here: Vec<&ActorState> = self
                .on_node
                .get(node_id)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(|i| actors.get(*i))
                .collect();
            let holders = here
                .iter()
                .filter(|a| a.state == "ALIVE" && actor_gpus(a) > 0.0)
                .map(|a| holder(a, ip, owners))
                .collect();
            let by_pid = devices
                .iter()
                .flat_map(|d| &d.processes_pids)
                .filter_map(|p| here.iter().find(|a| a.pid == Some(p.pid)).map(|a| (p.pid, holder(a, ip, owners))))
                .collect();
            let joined = NodeHolders {
                ip: ip.to_string(),
                device_pids: device_pids(devices),
                holders,
                by_pid,
                processes: here.iter().filter_map(|a| a.pid).collect(),
            };
            self.by_node.insert(node_id.to_string(), joined);
        }
        if changed {
            let live: HashSet<&str> = gpu_nodes.iter().map(|n| n.0).collect();
            self.by_node.retain(|id, _| live.contains(id.as_str()));
            self.trials = self.trials_here(what.tune);
        }
        self.current = true;
    }
}

/// Builds the GPU picture. `idle_since` carries, per GPU uuid, when it was first seen idle while
/// held (kept by the caller across refreshes); `index` the holders joined before, joined again
/// here only if its inputs moved; `now` is unix seconds.
pub fn build(
    groups: &[Group],
    actors: &[ActorState],
    what: Workloads,
    autoscaler: &Autoscaler,
    idle_since: &mut BTreeMap<String, f64>,
    index: &mut HolderIndex,
    now: f64,
) -> Gpus {
    let mut out = Gpus::default();
    let mut seen_uuids = HashSet::new();
    let gpu_nodes: Vec<GpuNodeRef> = groups
        .iter()
        .flat_map(|g| g.nodes.iter())
        .filter(|n| is_gpu_node(n))
        .map(|n| (n.node_id.as_str(), n.ip.as_str(), n.gpus.as_slice()))
        .collect();
    index.refresh(&gpu_nodes, actors, what);
    let none = NodeHolders::default();
    for g in groups {
        for n in g.nodes.iter().filter(|n| is_gpu_node(n)) {
            let joined = index.by_node.get(&n.node_id).unwrap_or(&none);
            let devices: Vec<Device> = n
                .gpus
                .iter()
                .map(|d| {
                    let processes: Vec<DeviceProcess> = d
                        .processes_pids
                        .iter()
                        .map(|p| DeviceProcess {
                            pid: p.pid,
                            memory_mb: p.gpu_memory_usage,
                            holder: joined.by_pid.get(&p.pid).cloned(),
                        })
                        .collect();
                    let held = !processes.is_empty();
                    let idle = d.utilization_gpu.is_some_and(|u| u < IDLE_UTIL_PCT);
                    let key = d.uuid.clone().unwrap_or_else(|| format!("{}#{}", n.node_id, d.index.unwrap_or(0)));
                    let idle_for_s = if held && idle {
                        Some(now - *idle_since.entry(key.clone()).or_insert(now))
                    } else {
                        idle_since.remove(&key);
                        None
                    };
                    seen_uuids.insert(key);
                    Device {
                        index: d.index,
                        name: d.name.clone(),
                        uuid: d.uuid.clone(),
                        utilization: d.utilization_gpu,
                        memory_used_mb: d.memory_used,
                        memory_total_mb: d.memory_total,
                        power_w: d.power_mw.map(|mw| mw / 1000.0),
                        temperature_c: d.temperature_c,
                        processes,
                        idle_for_s,
                    }
                })
                .collect();
            out.totals.ray.add(n.gpu);
            out.totals.physical += devices.len();
            out.totals.busy += devices.iter().filter(|d| d.utilization.is_some_and(|u| u >= IDLE_UTIL_PCT)).count();
            let label = node_label(&n.node_id, &n.instance_id);
            if n.gpu.total > 0.0 && n.gpu.used <= 0.0 {
                out.other_flags.push(format!(
                    "{label} ({}): {} GPU(s), none allocated",
                    g.name,
                    crate::units::fmt_amount(n.gpu.total)
                ));
            }
            out.nodes.push(GpuNode {
                node_id: n.node_id.clone(),
                ip: n.ip.clone(),
                group: g.name.clone(),
                instance_id: n.instance_id.clone(),
                metrics_instance: n.metrics_instance.clone(),
                ray: n.gpu,
                k8s_requested: None,
                devices,
                holders: joined.holders.clone(),
            });
        }
    }
    idle_since.retain(|k, _| seen_uuids.contains(k));
    out.totals.pending_demand = autoscaler
        .pending
        .iter()
        .map(|d| d.count as f64 * d.shape.iter().filter(|(k, _)| k == "GPU").map(|(_, v)| *v).sum::<f64>())
        .sum();
    for v in autoscaler.verdicts.iter().filter(|v| v.state == VerdictState::Blocked && v.text.contains("GPU")) {
        out.other_flags.push(format!("GPU demand waits: {}", v.text));
    }
    out.reflag();
    out
}

/// What a node is called in flags: its pod name on KubeRay, else its short id.
fn node_label(node_id: &str, instance_id: &str) -> String {
    if instance_id.is_empty() || instance_id == node_id {
        super::text::short_id(node_id)
    } else {
        instance_id.to_string()
    }
}

impl Gpus {
    /// Idle times from Prometheus's utilisation history: a GPU held and idle for minutes before
    /// raytop started is flagged at once, not a minute after launch.
    pub fn apply_history(&mut self, h: &super::history::History) {
        let mut changed = false;
        for d in self.nodes.iter_mut().flat_map(|n| n.devices.iter_mut()).filter(|d| !d.processes.is_empty()) {
            let Some(past) = d.uuid.as_deref().and_then(|u| h.idle_for(u, IDLE_UTIL_PCT)) else { continue };
            // The live reading decides whether it is idle now; history only says since when.
            if d.utilization.is_none_or(|u| u < IDLE_UTIL_PCT) && d.idle_for_s.is_none_or(|live| past > live) {
                d.idle_for_s = Some(past);
                changed = true;
            }
        }
        if changed {
            self.reflag();
        }
    }

    /// The flags: GPUs held and idle for long enough, then the others found while building.
    fn reflag(&mut self) {
        let mut flags = Vec::new();
        for n in &self.nodes {
            let label = node_label(&n.node_id, &n.instance_id);
            for d in &n.devices {
                if let Some(secs) = d.idle_for_s.filter(|s| *s >= IDLE_FLAG_SECS) {
                    let who: Vec<String> =
                        d.processes.iter().filter_map(|p| p.holder.as_ref().map(|h| h.name.clone())).collect();
                    let who = if who.is_empty() { "a process".to_string() } else { who.join(", ") };
                    flags.push(format!(
                        "GPU {} on {label} ({}): below {IDLE_UTIL_PCT}% busy for {} while held by {who}",
                        d.index.unwrap_or(0),
                        n.group,
                        crate::units::fmt_age(secs)
                    ));
                }
            }
        }
        flags.extend(self.other_flags.iter().cloned());
        self.flags = flags;
    }
}
