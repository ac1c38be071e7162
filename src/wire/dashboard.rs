//! Typed bodies of the Ray dashboard endpoints raytop reads.
//!
//! Every struct tolerates unknown fields and missing ones (`#[serde(default)]`): the dashboard's
//! internal endpoints change shape between Ray versions, and one missing field must not blank a view.
//! Two envelopes exist (facts §4.0): "A" wraps data as `{result, msg, data}`; "B" is the bare body.

use std::collections::BTreeMap;

use super::lenient::null_as_default;
use serde::{Deserialize, Deserializer, Serialize};

/// The env var raytop adds to an application's `runtime_env` to redeploy it (a new code version
/// for Serve, facts §6.1).
pub const REDEPLOY_ENV: &str = "RAYTOP_REDEPLOY_AT";

/// Envelope A: `{"result": bool, "msg": str, "data": T}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub result: bool,
    #[serde(default)]
    #[serde(deserialize_with = "null_as_default")]
    pub msg: String,
    pub data: Option<T>,
}

/// `GET /api/version` (envelope B).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Version {
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(deserialize_with = "null_as_default")]
    pub ray_version: String,
    #[serde(deserialize_with = "null_as_default")]
    pub ray_commit: String,
    #[serde(deserialize_with = "null_as_default")]
    pub session_name: String,
}

/// `GET /nodes?view=summary` data (envelope A, camelCased keys).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodesSummary {
    #[serde(deserialize_with = "null_as_default")]
    pub summary: Vec<NodeSummary>,
    /// Per node id, the `ray status`-style usage text: "1.0/2.0 CPU\n0B/16.03GiB memory\n...".
    #[serde(deserialize_with = "null_as_default")]
    pub node_logical_resources: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSummary {
    pub now: Option<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub hostname: String,
    #[serde(deserialize_with = "null_as_default")]
    pub ip: String,
    /// Physical CPU utilisation in percent.
    pub cpu: Option<f64>,
    /// `[logical, physical]` core counts.
    #[serde(deserialize_with = "null_as_default")]
    pub cpus: Vec<u64>,
    /// `[total, available, percent, used]` in bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub mem: Vec<f64>,
    pub boot_time: Option<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub gpus: Vec<GpuStat>,
    pub raylet: Raylet,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Raylet {
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    pub is_head_node: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub node_manager_address: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_manager_hostname: String,
    #[serde(deserialize_with = "null_as_default")]
    pub instance_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_type_name: String,
    /// Resource totals; keys are camelCased by the dashboard except the plain ones (CPU, GPU, memory).
    #[serde(deserialize_with = "null_as_default")]
    pub resources_total: BTreeMap<String, f64>,
    #[serde(deserialize_with = "lenient_i64")]
    pub start_time_ms: Option<i64>,
    #[serde(deserialize_with = "lenient_i64")]
    pub end_time_ms: Option<i64>,
    pub state_message: Option<String>,
    /// Where the node's metrics are scraped (with its ip: Prometheus's `instance` label).
    #[serde(deserialize_with = "lenient_i64")]
    pub metrics_export_port: Option<i64>,
}

/// One physical GPU as the node's agent reports it (`gpus[]`, facts §4.3).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct GpuStat {
    pub index: Option<u32>,
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub utilization_gpu: Option<f64>,
    pub memory_used: Option<f64>,
    pub memory_total: Option<f64>,
    /// Milliwatts and degrees Celsius (Ray 2.60+).
    pub power_mw: Option<f64>,
    pub temperature_c: Option<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub processes_pids: Vec<GpuProcess>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct GpuProcess {
    pub pid: u64,
    /// Megabytes.
    pub gpu_memory_usage: Option<f64>,
}

/// `GET /api/cluster_status` data (envelope A). All three fields are null under autoscaler v2.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterStatusData {
    pub autoscaling_status: Option<String>,
    pub autoscaling_error: Option<String>,
    pub cluster_status: Option<ClusterStatusV1>,
}

/// Which report an autoscaler status answer is. The one place that tells v1 from v2 and
/// whether a v1 report carries logical usage per node: the poller schedules by it (the summary
/// is the usage source unless the report carries usage; v2 needs the text report) and the model
/// reads the answer by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The v1 monitor's report with usage per node: fresher than the summary's.
    V1WithUsage,
    /// A v1 report without per-node usage (older Rays, a report of no nodes).
    V1,
    /// Autoscaler v2: the structured report is null; `ray status` text is the only report.
    V2,
}

impl ClusterStatusData {
    pub fn kind(&self) -> ReportKind {
        match &self.cluster_status {
            None => ReportKind::V2,
            Some(v1) if !v1.load_metrics_report.usage_by_node.is_empty() => ReportKind::V1WithUsage,
            Some(_) => ReportKind::V1,
        }
    }
}

/// The v1 monitor's report (camelCased by the dashboard).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterStatusV1 {
    pub time: Option<f64>,
    pub autoscaler_report: AutoscalerReport,
    pub load_metrics_report: LoadMetricsReport,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AutoscalerReport {
    #[serde(deserialize_with = "null_as_default")]
    pub active_nodes: BTreeMap<String, u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub idle_nodes: BTreeMap<String, u64>,
    /// `[ip, node type, status]` triples.
    #[serde(deserialize_with = "null_as_default")]
    pub pending_nodes: Vec<Vec<serde_json::Value>>,
    #[serde(deserialize_with = "null_as_default")]
    pub pending_launches: BTreeMap<String, u64>,
    /// `[ip, node type]` pairs.
    #[serde(deserialize_with = "null_as_default")]
    pub failed_nodes: Vec<Vec<serde_json::Value>>,
    /// Per live node id: its node type (the worker group).
    #[serde(deserialize_with = "null_as_default")]
    pub node_type_mapping: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LoadMetricsReport {
    /// Resource name (camelCased) → `[used, total]`.
    #[serde(deserialize_with = "null_as_default")]
    pub usage: BTreeMap<String, Vec<f64>>,
    /// `[[{resource: amount}, count], ...]`: task and actor demands.
    #[serde(deserialize_with = "null_as_default")]
    pub resource_demand: Vec<(BTreeMap<String, f64>, u64)>,
    /// `[[{bundles: [[{res: amt}, n]], strategy}, count], ...]`.
    #[serde(deserialize_with = "null_as_default")]
    pub pg_demand: Vec<(PgShape, u64)>,
    /// `ray.autoscaler.sdk.request_resources` demands, same shape as resource_demand.
    #[serde(deserialize_with = "null_as_default")]
    pub request_demand: Vec<(BTreeMap<String, f64>, u64)>,
    /// Per live node id: resource name (camelCased) → `[used, total]`. The same numbers as the
    /// summary's `nodeLogicalResources` under autoscaler v1, in a body a fraction of its size.
    #[serde(deserialize_with = "null_as_default")]
    pub usage_by_node: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PgShape {
    pub bundles: Vec<(BTreeMap<String, f64>, u64)>,
    #[serde(deserialize_with = "null_as_default")]
    pub strategy: String,
}

/// `GET /api/cluster_status?format=1` data: the `ray status` text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterStatusText {
    pub cluster_status: Option<String>,
}

/// State API list wrapper: `data.result = {total, result: [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StateList<T> {
    pub result: StateListInner<T>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StateListInner<T> {
    pub total: u64,
    pub num_after_truncation: u64,
    pub result: Vec<T>,
}

impl<T> Default for StateListInner<T> {
    fn default() -> Self {
        Self { total: 0, num_after_truncation: 0, result: Vec::new() }
    }
}

/// One `GET /api/v0/cluster_events` item.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct ClusterEvent {
    #[serde(deserialize_with = "null_as_default")]
    pub severity: String,
    /// "YYYY-MM-DD HH:MM:SS" in the head node's local time.
    #[serde(deserialize_with = "null_as_default")]
    pub time: String,
    #[serde(deserialize_with = "null_as_default", alias = "sourceType")]
    pub source_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
    #[serde(deserialize_with = "null_as_default", alias = "eventId")]
    pub event_id: String,
}

/// The older `GET /events` (envelope A, `{"events": {"<job or global>": [event, …]}}`, camelCase
/// fields). Ray 2.60's `/api/v0/cluster_events` answers 500 for the rest of the session once a
/// worker dies unexpectedly (a RAYLET event with a numeric timestamp next to the autoscaler's
/// string ones cannot be sorted); this one still answers, with the same events.
pub fn parse_legacy_events(body: &[u8]) -> Result<Vec<ClusterEvent>, String> {
    #[derive(Deserialize)]
    struct Events {
        #[serde(default)]
        events: BTreeMap<String, Vec<ClusterEvent>>,
    }
    let env: Envelope<Events> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !env.result {
        return Err(format!("dashboard answered result=false: {}", env.msg));
    }
    Ok(env.data.map(|d| d.events.into_values().flatten().collect()).unwrap_or_default())
}

/// `GET /api/serve/applications/` (envelope B).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServeInstance {
    pub proxy_location: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub applications: BTreeMap<String, ServeApplication>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServeApplication {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub route_prefix: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
    pub last_deployed_time_s: Option<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub deployments: BTreeMap<String, ServeDeployment>,
    /// The config it was deployed with; absent for apps deployed from Python (`serve.run`).
    pub deployed_app_config: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServeDeployment {
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status_trigger: String,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
    pub target_num_replicas: Option<u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub replicas: Vec<ServeReplica>,
    #[serde(deserialize_with = "null_as_default")]
    pub recent_dead_replicas: Vec<ServeReplica>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServeReplica {
    #[serde(deserialize_with = "null_as_default")]
    pub replica_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    pub pid: Option<u64>,
    pub start_time_s: Option<f64>,
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_ip: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_instance_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub actor_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub actor_name: String,
}

/// One `GET /api/jobs/` item (envelope B, a bare list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobDetails {
    #[serde(rename = "type")]
    #[serde(deserialize_with = "null_as_default")]
    pub kind: String,
    pub job_id: Option<String>,
    pub submission_id: Option<String>,
    /// The node its driver runs on: where a submitted job's driver log is.
    pub driver_node_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub entrypoint: String,
    pub message: Option<String>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// One `GET /api/v0/actors` item.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ActorState {
    #[serde(deserialize_with = "null_as_default")]
    pub actor_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub class_name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    pub pid: Option<u64>,
    pub repr_name: Option<String>,
    /// With `detail=1`: what the actor holds, e.g. `GPU` or `GPU_group_<pg id>` inside a
    /// placement group.
    #[serde(deserialize_with = "null_as_default")]
    pub required_resources: BTreeMap<String, f64>,
}

/// Protobuf int64s arrive as strings in proto-derived dicts ("179…"); accept both.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// The dashboard endpoints raytop reads. The paths are the contract with Ray (facts §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Version,
    Nodes,
    ClusterStatus,
    ClusterStatusText,
    ClusterEvents,
    Serve,
    Jobs,
    Actors,
    /// Ray Train V2 runs (state tracking on).
    TrainRuns,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Version,
        Endpoint::Nodes,
        Endpoint::ClusterStatus,
        Endpoint::ClusterStatusText,
        Endpoint::ClusterEvents,
        Endpoint::Serve,
        Endpoint::Jobs,
        Endpoint::Actors,
        Endpoint::TrainRuns,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Version => "/api/version",
            Endpoint::Nodes => "/nodes?view=summary",
            Endpoint::ClusterStatus => "/api/cluster_status",
            Endpoint::ClusterStatusText => "/api/cluster_status?format=1",
            Endpoint::ClusterEvents => "/api/v0/cluster_events?limit=10000",
            Endpoint::Serve => "/api/serve/applications/",
            Endpoint::Jobs => "/api/jobs/",
            Endpoint::Actors => {
                "/api/v0/actors?detail=1&limit=10000&filter_keys=state&filter_predicates=%3D&filter_values=ALIVE"
            }
            // The V2 route, whatever its name says (`/api/train/v2/runs` is V1's).
            Endpoint::TrainRuns => "/api/train/v2/runs/v1",
        }
    }

    /// A short name for status lines.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Version => "version",
            Endpoint::Nodes => "nodes",
            Endpoint::ClusterStatus => "autoscaler",
            Endpoint::ClusterStatusText => "autoscaler text",
            Endpoint::ClusterEvents => "events",
            Endpoint::Serve => "serve",
            Endpoint::Jobs => "jobs",
            Endpoint::Actors => "actors",
            Endpoint::TrainRuns => "train",
        }
    }
}

/// A parsed response body.
#[derive(Debug, Clone)]
pub enum DashData {
    Version(Version),
    Nodes(NodesSummary),
    ClusterStatus(Box<ClusterStatusData>),
    ClusterStatusText(String),
    Events(Vec<ClusterEvent>),
    Serve(ServeInstance),
    Jobs(Vec<JobDetails>),
    Actors(Vec<ActorState>),
    TrainRuns(crate::wire::train::TrainRunsResponse),
    /// The head says no run is tracked (or Train is not there): why, for the screen.
    TrainUntracked(String),
}

/// Parses a body for an endpoint. Kept apart from the client so fixture tests call it directly.
pub fn parse(endpoint: Endpoint, body: &[u8]) -> Result<DashData, String> {
    fn envelope<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        let env: Envelope<T> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if !env.result {
            return Err(format!("dashboard answered result=false: {}", env.msg));
        }
        env.data.ok_or_else(|| "response has no data".to_string())
    }
    fn bare<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    }
    Ok(match endpoint {
        Endpoint::Version => DashData::Version(bare(body)?),
        Endpoint::Nodes => DashData::Nodes(envelope(body)?),
        Endpoint::ClusterStatus => DashData::ClusterStatus(Box::new(envelope(body)?)),
        Endpoint::ClusterStatusText => {
            let t: ClusterStatusText = envelope(body)?;
            DashData::ClusterStatusText(t.cluster_status.unwrap_or_default())
        }
        Endpoint::ClusterEvents => {
            let l: StateList<ClusterEvent> = envelope(body)?;
            DashData::Events(l.result.result)
        }
        Endpoint::Serve => DashData::Serve(bare(body)?),
        Endpoint::Jobs => DashData::Jobs(bare(body)?),
        Endpoint::Actors => {
            let l: StateList<ActorState> = envelope(body)?;
            DashData::Actors(l.result.result)
        }
        Endpoint::TrainRuns => DashData::TrainRuns(bare(body)?),
    })
}

/// Why a fetch failed, as the model records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum FetchError {
    #[error("dashboard unreachable: {0}")]
    Unreachable(String),
    #[error("dashboard timed out: {0}")]
    Timeout(String),
    #[error("{status} from the dashboard: {hint}")]
    Unauthorized { status: u16, hint: String },
    #[error("HTTP {status} from {path}: {body}")]
    Http { status: u16, path: String, body: String },
    #[error("malformed response from {path}: {detail}")]
    Malformed { path: String, detail: String },
    #[error(
        "the answer from {path} is over raytop's limit of {limit_mib} MiB: not read (RAYTOP_MAX_BODY_MIB raises it)"
    )]
    TooLarge { path: String, limit_mib: u64 },
}
