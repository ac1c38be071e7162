//! GPU allocation: per GPU-bearing node, what Ray counts (total, allocated), each physical GPU's
//! stats where the node reports them, and who holds them — actors, mapped to Tune trials and Serve
//! replicas. Plus cluster totals and the waste worth flagging.

use std::collections::BTreeMap;

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
    /// Actors holding logical GPUs on this node.
    pub holders: Vec<Holder>,
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

/// Builds the GPU picture. `idle_since` carries, per GPU uuid, when it was first seen idle while
/// held (kept by the caller across refreshes); `now` is unix seconds.
pub fn build(
    groups: &[Group],
    actors: &[ActorState],
    what: Workloads,
    autoscaler: &Autoscaler,
    idle_since: &mut BTreeMap<String, f64>,
    now: f64,
) -> Gpus {
    let mut out = Gpus::default();
    let mut seen_uuids = Vec::new();
    let owners = Owners::new(what.tune, what.serve, what.train);
    // Actors by node, once: a scan of every actor for every node grows with their product (tens of
    // millions of comparisons per update on a large cluster).
    let mut on_node: std::collections::HashMap<&str, Vec<&ActorState>> = std::collections::HashMap::new();
    for a in actors {
        on_node.entry(a.node_id.as_str()).or_default().push(a);
    }
    for g in groups {
        for n in g.nodes.iter().filter(|n| n.alive && (n.gpu.total > 0.0 || !n.gpus.is_empty())) {
            let here = on_node.get(n.node_id.as_str()).map_or(&[][..], Vec::as_slice);
            let holders: Vec<Holder> = here
                .iter()
                .filter(|a| a.state == "ALIVE" && actor_gpus(a) > 0.0)
                .map(|a| holder(a, &n.ip, &owners))
                .collect();
            let by_pid = |pid: u64| -> Option<Holder> {
                here.iter().find(|a| a.pid == Some(pid)).map(|a| holder(a, &n.ip, &owners))
            };
            let devices: Vec<Device> = n
                .gpus
                .iter()
                .map(|d| {
                    let processes: Vec<DeviceProcess> = d
                        .processes_pids
                        .iter()
                        .map(|p| DeviceProcess { pid: p.pid, memory_mb: p.gpu_memory_usage, holder: by_pid(p.pid) })
                        .collect();
                    let held = !processes.is_empty();
                    let idle = d.utilization_gpu.is_some_and(|u| u < IDLE_UTIL_PCT);
                    let key = d.uuid.clone().unwrap_or_else(|| format!("{}#{}", n.node_id, d.index.unwrap_or(0)));
                    seen_uuids.push(key.clone());
                    let idle_for_s = if held && idle {
                        Some(now - *idle_since.entry(key).or_insert(now))
                    } else {
                        idle_since.remove(&key);
                        None
                    };
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
                holders,
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
