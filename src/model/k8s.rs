//! KubeRay objects as raytop shows them: RayClusters with their head and worker groups (from spec
//! and status) and pods, RayJobs, RayServices, and Kubernetes Events. Pure: the Kubernetes source
//! converts API objects into these rows; this module derives groups, health and joins.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::msg::{KubeUpdate, Resource};

pub use crate::wire::k8s::{
    AuthOptions, Condition, DashboardRoute, EventObj, GroupSpec, HeadStatus, NodeObj, PodObj, RayClusterObj,
    RayClusterSpec, RayClusterStatus, RayJobObj, RayServiceObj, ScaleStrategy,
};
use serde_json::Value;

/// GPU capacity the cluster's nodes offer against what Ray pods ask for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuCapacity {
    pub gpu_nodes: usize,
    pub gpu_nodes_ready: usize,
    pub allocatable: f64,
    /// GPUs requested by Ray pods bound to a node (pending pods are not on one yet).
    pub requested_by_ray_pods: f64,
    /// GPUs asked for by Ray pods that are still Pending.
    pub pending_requests: f64,
    /// The GPU products on offer (`nvidia.com/gpu.product`), sorted, each once.
    pub products: Vec<String>,
}

/// Sums node GPU capacity and what the Ray pods request of it. Other workloads' requests are
/// not watched, so "free" is an upper bound.
pub fn gpu_capacity(nodes: &[NodeObj], pods: &[PodObj]) -> GpuCapacity {
    let gpu_nodes: Vec<&NodeObj> = nodes.iter().filter(|n| n.gpu_allocatable > 0.0).collect();
    let bound = |p: &&PodObj| !p.node.is_empty() && p.phase != "Succeeded" && p.phase != "Failed";
    GpuCapacity {
        gpu_nodes: gpu_nodes.len(),
        gpu_nodes_ready: gpu_nodes.iter().filter(|n| n.ready && !n.unschedulable).count(),
        allocatable: gpu_nodes.iter().map(|n| n.gpu_allocatable).sum(),
        requested_by_ray_pods: pods.iter().filter(bound).map(|p| p.gpu_requests).sum::<f64>() + 0.0,
        pending_requests: pods
            .iter()
            .filter(|p| p.phase == "Pending" && p.node.is_empty())
            .map(|p| p.gpu_requests)
            .sum::<f64>()
            + 0.0,
        products: gpu_nodes
            .iter()
            .map(|n| n.gpu_product.clone())
            .filter(|p| !p.is_empty())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// GPUs a pod template (or pod spec) asks for: any resource ending in `gpu` (KubeRay's own rule),
/// requests first, limits as a fallback.
pub fn gpu_requests(pod_spec: &Value) -> f64 {
    let containers = pod_spec["containers"].as_array().into_iter().flatten();
    containers
        .map(|c| {
            let from = |section: &str| -> f64 {
                c["resources"][section]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.to_lowercase().ends_with("gpu"))
                    .filter_map(|(_, v)| quantity(v))
                    .sum()
            };
            let r = from("requests");
            if r > 0.0 { r } else { from("limits") }
        })
        .sum::<f64>()
        // An empty float sum is -0.0, which `snapshot --json` would print as such.
        + 0.0
}

pub use crate::wire::k8s::quantity;

/// One group of a RayCluster, spec and pods side by side.
#[derive(Debug, Clone, Serialize)]
pub struct K8sGroup {
    pub name: String,
    pub kind: &'static str,
    pub replicas: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub num_of_hosts: i64,
    /// Pods the operator should run: clamp(replicas, min, max) × numOfHosts (facts §1.2).
    pub desired_pods: i64,
    pub ready: usize,
    pub running: usize,
    pub pending: usize,
    pub failed: usize,
    pub gpu_per_pod: f64,
    pub autoscaling: bool,
    pub workers_to_delete: Vec<String>,
    /// Why some of its pods wait on Kubernetes rather than on Ray, in the scheduler's or the
    /// kubelet's words: "3 pod(s) Pending: Unschedulable (1 Insufficient cpu)". The autoscaler
    /// has asked for those; the Autoscaler view says what holds them.
    pub kube_wait: Option<String>,
    pub pods: Vec<PodRow>,
}

/// The Pending pods' reasons, most frequent first (then by name, so the text is stable).
fn kube_wait(pods: &[PodRow]) -> Option<String> {
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for p in pods.iter().filter(|p| p.pod.phase == "Pending" && !p.pod.reason.is_empty()) {
        *by_reason.entry(p.pod.reason.as_str()).or_default() += 1;
    }
    let mut counted: Vec<(&str, usize)> = by_reason.into_iter().collect();
    counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = counted.iter().map(|(r, n)| format!("{n} pod(s) Pending: {r}")).collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A pod with the Ray node behind it, when the cluster's dashboard is known.
#[derive(Debug, Clone, Serialize)]
pub struct PodRow {
    #[serde(flatten)]
    pub pod: PodObj,
    /// The Ray node running in this pod (instanceId = pod name, or node IP = pod IP).
    pub ray_node: Option<RayNodeRef>,
    /// GPUs allocatable on the Kubernetes node the pod is bound to, when nodes may be read.
    pub node_gpus: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RayNodeRef {
    pub node_id: String,
    pub state: String,
    pub cpu: super::resources::Usage,
    pub gpu: super::resources::Usage,
}

/// A RayCluster as the views and `snapshot --json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct K8sCluster {
    pub name: String,
    pub namespace: String,
    pub source: &'static str,
    /// From conditions (HeadPodReady, RayClusterProvisioned, ReplicaFailure); `state` only when
    /// the operator sets no conditions.
    pub health: String,
    pub healthy: bool,
    pub conditions: Vec<Condition>,
    pub desired_workers: Option<i64>,
    pub available_workers: Option<i64>,
    pub cpus: Option<String>,
    pub gpus: Option<String>,
    pub memory: Option<String>,
    pub autoscaling: bool,
    pub ray_version: Option<String>,
    pub created: Option<f64>,
    pub groups: Vec<K8sGroup>,
    /// Events of the cluster and its pods, newest first.
    pub events: Vec<EventObj>,
    pub dashboard: DashboardRoute,
}

fn condition<'a>(c: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    c.iter().find(|x| x.kind == kind)
}

/// Health in words, and whether it is good.
pub fn health(status: &RayClusterStatus, suspended: bool) -> (String, bool) {
    let c = &status.conditions;
    let why = |x: &Condition| x.reason.clone().or_else(|| x.message.clone()).unwrap_or_default();
    if let Some(f) = condition(c, "ReplicaFailure").filter(|x| x.status == "True") {
        return (format!("ReplicaFailure: {}", why(f)), false);
    }
    if condition(c, "RayClusterSuspended").is_some_and(|x| x.status == "True") || suspended {
        return ("Suspended".into(), true);
    }
    if condition(c, "RayClusterSuspending").is_some_and(|x| x.status == "True") {
        return ("Suspending".into(), true);
    }
    if let Some(h) = condition(c, "HeadPodReady") {
        if h.status != "True" {
            return (format!("HeadPodNotReady: {}", why(h)), false);
        }
        return match condition(c, "RayClusterProvisioned") {
            Some(p) if p.status == "True" => ("Ready".into(), true),
            Some(_) => ("Provisioning".into(), false),
            None => ("HeadPodReady".into(), true),
        };
    }
    // No conditions: an operator without the status-conditions gate; `state` is all there is.
    match status.state.as_deref() {
        Some("ready") => ("ready (state)".into(), true),
        Some(s) if !s.is_empty() => (format!("{s} (state)"), false),
        _ => ("unknown".into(), false),
    }
}

/// The Ray node a pod runs: by instance id (the pod's name), else by IP when only one node has it.
fn ray_node_of<'a>(p: &PodObj, ray_nodes: &'a BTreeMap<String, RayNodeRef>) -> Option<&'a RayNodeRef> {
    ray_nodes.get(&p.name).or_else(|| ray_nodes.get(&format!("ip:{}", p.ip)))
}

/// Builds the cluster rows: groups from spec, pods by their `ray.io/group` label, events by the
/// objects they involve. `ray_nodes` maps pod names and IPs to Ray nodes, for the join.
pub fn build(
    clusters: &[RayClusterObj],
    pods: &[PodObj],
    events: &[EventObj],
    nodes: &[NodeObj],
    ray_nodes: &BTreeMap<String, RayNodeRef>,
) -> Vec<K8sCluster> {
    let node_gpus: BTreeMap<&str, f64> = nodes.iter().map(|n| (n.name.as_str(), n.gpu_allocatable)).collect();
    // Indexed once, so an update costs O(pods + events), not clusters x pods.
    let mut pods_by_cluster: BTreeMap<(&str, &str), Vec<&PodObj>> = BTreeMap::new();
    for p in pods {
        pods_by_cluster.entry((p.namespace.as_str(), p.cluster.as_str())).or_default().push(p);
    }
    let mut events_by_object: BTreeMap<(&str, &str, &str), Vec<&EventObj>> = BTreeMap::new();
    for e in events {
        events_by_object
            .entry((e.namespace.as_str(), e.object_kind.as_str(), e.object_name.as_str()))
            .or_default()
            .push(e);
    }
    let mut out = Vec::with_capacity(clusters.len());
    for rc in clusters {
        let autoscaling = rc.spec.enable_in_tree_autoscaling.unwrap_or(false);
        let mine: &[&PodObj] =
            pods_by_cluster.get(&(rc.namespace.as_str(), rc.name.as_str())).map_or(&[], |v| v.as_slice());
        let mut groups = Vec::new();
        let head_spec = &rc.spec.head_group_spec;
        let specs = std::iter::once((true, head_spec)).chain(rc.spec.worker_group_specs.iter().map(|g| (false, g)));
        for (is_head, g) in specs {
            let name = if is_head { "headgroup".to_string() } else { g.group_name.clone() };
            let pods_of: Vec<PodRow> = mine
                .iter()
                .filter(
                    |p| if is_head { p.node_type == "head" } else { p.node_type != "head" && p.group == g.group_name },
                )
                .map(|p| PodRow {
                    pod: (*p).clone(),
                    ray_node: ray_node_of(p, ray_nodes).cloned(),
                    node_gpus: node_gpus.get(p.node.as_str()).copied(),
                })
                .collect();
            let hosts = g.num_of_hosts.unwrap_or(1).max(1);
            let desired = if is_head {
                1
            } else if g.suspend == Some(true) {
                0
            } else {
                let r = g.replicas.unwrap_or(0);
                let lo = g.min_replicas.unwrap_or(0);
                let hi = g.max_replicas.unwrap_or(i64::from(i32::MAX));
                // Counts from the object as written: a huge one must not overflow.
                r.clamp(lo.min(hi), hi).saturating_mul(hosts)
            };
            let count = |phase: &str| pods_of.iter().filter(|p| p.pod.phase == phase).count();
            groups.push(K8sGroup {
                name,
                kind: if is_head { "head" } else { "worker" },
                replicas: if is_head { Some(1) } else { g.replicas },
                min: if is_head { None } else { g.min_replicas },
                max: if is_head { None } else { g.max_replicas },
                num_of_hosts: hosts,
                desired_pods: desired,
                ready: pods_of.iter().filter(|p| p.pod.ready).count(),
                running: count("Running"),
                pending: count("Pending"),
                failed: count("Failed"),
                gpu_per_pod: gpu_requests(&g.template["spec"]),
                autoscaling: autoscaling && !is_head,
                workers_to_delete: g.scale_strategy.workers_to_delete.clone().unwrap_or_default(),
                kube_wait: kube_wait(&pods_of),
                pods: pods_of,
            });
        }
        let ns = rc.namespace.as_str();
        let mut evs: Vec<EventObj> = std::iter::once((ns, "RayCluster", rc.name.as_str()))
            .chain(mine.iter().map(|p| (ns, "Pod", p.name.as_str())))
            .filter_map(|key| events_by_object.get(&key))
            .flatten()
            .map(|e| (*e).clone())
            .collect();
        // Newest first; events of the same second in a fixed order, whatever order they came in.
        evs.sort_by(|a, b| {
            let time = |t: Option<f64>| t.filter(|v| !v.is_nan()).unwrap_or(f64::NEG_INFINITY);
            time(b.time).total_cmp(&time(a.time)).then_with(|| {
                (&a.object_kind, &a.object_name, &a.reason).cmp(&(&b.object_kind, &b.object_name, &b.reason))
            })
        });
        let (health, healthy) = health(&rc.status, rc.spec.suspend == Some(true));
        out.push(K8sCluster {
            name: rc.name.clone(),
            namespace: rc.namespace.clone(),
            source: "kubernetes",
            health,
            healthy,
            conditions: rc.status.conditions.clone(),
            desired_workers: rc.status.desired_worker_replicas,
            available_workers: rc.status.available_worker_replicas,
            cpus: rc.status.desired_cpu.clone(),
            gpus: rc.status.desired_gpu.clone(),
            memory: rc.status.desired_memory.clone(),
            autoscaling,
            ray_version: rc.spec.ray_version.clone(),
            created: rc.created,
            groups,
            events: evs,
            dashboard: DashboardRoute::of(rc),
        });
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

/// What Kubernetes said about one kind: when it last answered, and what went wrong.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindState {
    #[serde(skip)]
    pub synced_at: Option<SystemTime>,
    pub error: Option<String>,
    /// A 403: the verb and resource the user may not use (the rest keeps working).
    pub forbidden: bool,
    /// When the current run of failures began.
    #[serde(skip)]
    pub failing_since: Option<SystemTime>,
}

/// Everything from the Kubernetes source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct K8s {
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub server: Option<String>,
    pub clusters: Vec<K8sCluster>,
    pub jobs: Vec<RayJobObj>,
    pub services: Vec<RayServiceObj>,
    pub kinds: BTreeMap<Resource, KindState>,
    pub nodes: Vec<NodeObj>,
    pub gpu_capacity: GpuCapacity,
    #[serde(skip)]
    pub raw_clusters: Vec<RayClusterObj>,
    #[serde(skip)]
    pub pods: Vec<PodObj>,
    #[serde(skip)]
    pub events: Vec<EventObj>,
    /// The Ray node each of `pods` joined at the last rebuild, in the same order.
    #[serde(skip)]
    joined: Vec<Option<RayNodeRef>>,
}

impl K8s {
    /// Folds in news from the Kubernetes source. Joins are redone by `model::join_kube`.
    pub fn apply(&mut self, u: KubeUpdate) {
        let mut synced = |kind: Resource, at| {
            self.kinds
                .insert(kind, KindState { synced_at: Some(at), error: None, forbidden: false, failing_since: None });
        };
        match u {
            KubeUpdate::Connected { context, namespace, server } => {
                self.context = context;
                self.namespace = namespace;
                self.server = Some(server);
            }
            KubeUpdate::RayClusters(v, at) => {
                synced(Resource::RayClusters, at);
                self.raw_clusters = v;
            }
            KubeUpdate::RayJobs(v, at) => {
                synced(Resource::RayJobs, at);
                self.jobs = v;
            }
            KubeUpdate::RayServices(v, at) => {
                synced(Resource::RayServices, at);
                self.services = v;
            }
            KubeUpdate::Pods(v, at) => {
                synced(Resource::Pods, at);
                self.pods = v;
            }
            KubeUpdate::Events(v, at) => {
                synced(Resource::Events, at);
                self.events = v;
            }
            KubeUpdate::Nodes(v, at) => {
                synced(Resource::Nodes, at);
                self.nodes = v;
            }
            KubeUpdate::Failed { kind, error, forbidden, at } => {
                let e = self.kinds.entry(kind).or_default();
                if e.error.is_none() {
                    e.failing_since = Some(at);
                }
                e.error = Some(error);
                e.forbidden = forbidden;
            }
        }
    }

    pub fn rebuild(&mut self, ray_nodes: &BTreeMap<String, RayNodeRef>) {
        self.clusters = build(&self.raw_clusters, &self.pods, &self.events, &self.nodes, ray_nodes);
        self.gpu_capacity = gpu_capacity(&self.nodes, &self.pods);
        self.joined = self.pods.iter().map(|p| ray_node_of(p, ray_nodes).cloned()).collect();
    }

    /// Whether some pod would join another Ray node, or the same one with other usage, than at
    /// the last rebuild. Most dashboard updates are about nodes no pod runs, or change nothing a
    /// pod shows; those need no rebuild of thousands of pod rows.
    pub fn joins_changed(&self, ray_nodes: &BTreeMap<String, RayNodeRef>) -> bool {
        self.joined.len() != self.pods.len()
            || self.pods.iter().zip(&self.joined).any(|(p, was)| ray_node_of(p, ray_nodes) != was.as_ref())
    }

    /// The oldest answer among the kinds that answered, for "data n s ago".
    pub fn data_time(&self) -> Option<SystemTime> {
        self.kinds.values().filter_map(|k| k.synced_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_without_gpus_asks_plus_zero_and_one_with_them_their_sum() {
        let none = serde_json::json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]});
        let zero = gpu_requests(&none);
        assert!(zero == 0.0 && zero.is_sign_positive(), "{zero:?}");
        assert_eq!(serde_json::to_string(&zero).unwrap(), "0.0");
        let two = serde_json::json!({"containers": [
            {"resources": {"limits": {"nvidia.com/gpu": "1"}}},
            {"resources": {"requests": {"nvidia.com/gpu": 1}}}
        ]});
        assert_eq!(gpu_requests(&two), 2.0);
    }

    #[test]
    fn absurd_counts_in_a_raycluster_saturate_instead_of_overflowing() {
        let spec: crate::wire::k8s::RayClusterSpec = serde_json::from_value(serde_json::json!({
            "workerGroupSpecs": [
                {"groupName": "huge", "replicas": i64::MAX, "minReplicas": i64::MIN, "maxReplicas": i64::MAX, "numOfHosts": i64::MAX},
                {"groupName": "upside-down", "replicas": -5, "minReplicas": 10, "maxReplicas": 2, "numOfHosts": -3}
            ]
        }))
        .unwrap();
        let rc = RayClusterObj {
            name: "rc".into(),
            namespace: "ns".into(),
            created: None,
            spec,
            status: Default::default(),
        };
        let built = build(&[rc], &[], &[], &[], &BTreeMap::new());
        let groups = &built[0].groups;
        let desired = |n: &str| groups.iter().find(|g| g.name == n).unwrap().desired_pods;
        assert_eq!(desired("huge"), i64::MAX);
        assert_eq!(desired("upside-down"), 2);
    }

    #[test]
    fn quantities_and_gpu_requests() {
        assert_eq!(quantity(&Value::from("500m")), Some(0.5));
        assert_eq!(quantity(&Value::from("16Gi")), Some(16.0 * 1073741824.0));
        assert_eq!(quantity(&Value::from(1)), Some(1.0));
        let spec = serde_json::json!({"containers": [{"resources": {"limits": {"nvidia.com/gpu": 2}}}, {"resources": {"requests": {"cpu": "1"}}}]});
        assert_eq!(gpu_requests(&spec), 2.0);
    }

    #[test]
    fn health_prefers_conditions_over_state() {
        let cond = |k: &str, s: &str, r: &str| Condition {
            kind: k.into(),
            status: s.into(),
            reason: Some(r.into()),
            message: None,
        };
        let mut st = RayClusterStatus { state: Some("ready".into()), ..Default::default() };
        assert_eq!(health(&st, false), ("ready (state)".into(), true));
        st.conditions =
            vec![cond("HeadPodReady", "False", "ContainerCreating"), cond("RayClusterProvisioned", "True", "x")];
        assert_eq!(health(&st, false).0, "HeadPodNotReady: ContainerCreating");
        st.conditions =
            vec![cond("HeadPodReady", "True", "HeadPodRunningAndReady"), cond("RayClusterProvisioned", "True", "x")];
        assert_eq!(health(&st, false), ("Ready".into(), true));
        st.conditions.push(cond("ReplicaFailure", "True", "FailedCreateWorkerPod"));
        assert_eq!(health(&st, false), ("ReplicaFailure: FailedCreateWorkerPod".into(), false));
    }

    #[test]
    fn a_rebuild_is_needed_only_when_what_a_pod_shows_of_its_ray_node_changed() {
        let pod = |name: &str, ip: &str| PodObj {
            name: name.into(),
            namespace: "ns".into(),
            cluster: "rc".into(),
            group: "workers".into(),
            node_type: "worker".into(),
            phase: "Running".into(),
            reason: String::new(),
            restarts: 0,
            node: "n1".into(),
            ip: ip.into(),
            created: None,
            gpu_requests: 0.0,
            ready: true,
            containers: vec!["ray-worker".into()],
        };
        let node = |id: &str, cpu_used: f64| RayNodeRef {
            node_id: id.into(),
            state: "ALIVE".into(),
            cpu: crate::model::resources::Usage { used: cpu_used, total: 4.0 },
            gpu: Default::default(),
        };
        let mut k = K8s {
            pods: vec![pod("rc-workers-worker-a", "10.0.0.2"), pod("rc-workers-worker-b", "10.0.0.3")],
            ..K8s::default()
        };
        let mut index = BTreeMap::from([
            ("rc-workers-worker-a".to_string(), node("n-a", 1.0)),
            ("ip:10.0.0.9".to_string(), node("n-elsewhere", 1.0)),
        ]);
        assert!(k.joins_changed(&index), "never built");
        k.rebuild(&index);
        assert!(!k.joins_changed(&index));

        index.insert("ip:10.0.0.9".into(), node("n-elsewhere", 3.0));
        assert!(!k.joins_changed(&index), "a node no pod runs changed");

        index.insert("rc-workers-worker-a".into(), node("n-a", 2.0));
        assert!(k.joins_changed(&index), "the usage pod a shows changed");
        k.rebuild(&index);

        index.insert("ip:10.0.0.3".into(), node("n-b", 0.0));
        assert!(k.joins_changed(&index), "pod b found its node by IP");
        k.rebuild(&index);
        assert_eq!(k.joined.iter().flatten().map(|r| r.node_id.as_str()).collect::<Vec<_>>(), ["n-a", "n-b"]);

        k.pods.pop();
        assert!(k.joins_changed(&index), "the pods changed since the rebuild");
    }
}
