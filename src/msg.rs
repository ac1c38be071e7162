//! Every message between the sources and the app loop: what sources report (`Msg` and the
//! updates it carries) and what the app asks of pollers (`Interest`). Depends only on `wire`.

use std::path::PathBuf;

use serde::Serialize;
use std::time::SystemTime;

use crate::wire::dashboard::{DashData, Endpoint, FetchError};
use crate::wire::k8s::{DashboardRoute, EventObj, NodeObj, PodObj, RayClusterObj, RayJobObj, RayServiceObj};
use crate::wire::tune::{ExperimentState, ResultRow};

#[derive(Debug)]
pub enum Msg {
    /// News from one dashboard, named by its key (never by a position, which can change).
    Dash { key: DashKey, update: DashUpdate },
    /// News from the Tune experiment folders given on the command line.
    Tune(TuneUpdate),
    /// News from the Tune experiments on the head pod of a RayCluster: its dashboard's.
    HeadTune { dashboard: DashKey, update: TuneUpdate },
    /// News from the Kubernetes API server.
    Kube(KubeUpdate),
    /// History from Prometheus, with where it came from (`PromSource::describe`): an answer of a
    /// source or window the user has since left is dropped, not shown as the new one's.
    History { from: String, update: HistoryUpdate },
    /// The Services that look like Prometheus (`NS/NAME:PORT`), or why they could not be listed.
    PromFound(Result<Vec<String>, String>),
    /// An action the executor ran, and how it ended.
    ActionDone { id: String, outcome: Outcome },
    /// Whether the user may change a RayCluster (a SelfSubjectAccessReview's answer).
    Access { cluster: ClusterRef, allowed: bool, reason: String },
    /// News from the log source of pane opening `id`.
    Log { id: u64, event: LogEvent },
    /// A Ray node's log files (sorted), or why they could not be listed.
    LogFiles { dashboard: DashKey, node_id: String, files: Result<Vec<String>, String> },
    /// Where the pane's lines were saved, or why not.
    LogSaved { id: u64, result: Result<PathBuf, String> },
}

impl Msg {
    /// What kind of news this is, for the log of a slow fold.
    pub fn label(&self) -> String {
        match self {
            Msg::Dash { update: DashUpdate::Fetched { endpoint, bytes, .. }, .. } => {
                format!("dashboard {} ({bytes} bytes)", endpoint.label())
            }
            Msg::Dash { update: DashUpdate::Failed { endpoint, .. }, .. } => {
                format!("dashboard {} failed", endpoint.label())
            }
            Msg::Tune(u) | Msg::HeadTune { update: u, .. } => format!("tune {}", u.label()),
            Msg::Kube(u) => format!("kube {}", u.resource()),
            Msg::History { .. } => "history".into(),
            Msg::PromFound(_) => "prometheus services".into(),
            Msg::ActionDone { .. } => "action done".into(),
            Msg::Access { .. } => "access review".into(),
            Msg::Log { .. } | Msg::LogFiles { .. } | Msg::LogSaved { .. } => "logs".into(),
        }
    }
}

/// What a log source says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// Connected (again): lines flow.
    Live,
    /// Whole lines, in order, each sent once.
    Lines(Vec<String>),
    /// Something the reader should see between lines (a gap after a reconnect).
    Notice(String),
    /// The stream broke or could not be opened; `retry_in` until the next try.
    Lost { error: String, retry_in: std::time::Duration },
    /// The end: the whole file read (not following), or the container stopped, or an error that
    /// a retry cannot mend (a refusal, an unknown actor).
    Ended { error: Option<String> },
}

/// A RayCluster, by name, in a context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterRef {
    pub context: Option<String>,
    pub namespace: String,
    pub name: String,
}

impl TuneUpdate {
    fn label(&self) -> &'static str {
        match self {
            TuneUpdate::State(_) => "state",
            TuneUpdate::Results { .. } => "results",
            TuneUpdate::Error { .. } => "error",
            TuneUpdate::Resumed { .. } => "resumed",
            TuneUpdate::Problem { .. } => "problem",
            TuneUpdate::Pass { .. } => "pass",
            TuneUpdate::Restart => "restart",
            TuneUpdate::Storage { .. } => "storage",
        }
    }
}

/// What a source sends about one dashboard.
#[derive(Debug, Clone)]
pub enum DashUpdate {
    Fetched { endpoint: Endpoint, at: SystemTime, bytes: usize, data: Box<DashData> },
    Failed { endpoint: Endpoint, at: SystemTime, error: FetchError },
}

/// What the Tune source reports.
#[derive(Debug, Clone)]
pub enum TuneUpdate {
    /// An experiment's state file changed (or was seen for the first time).
    State(ExperimentState),
    /// New result rows of one trial; `reset` when its file was replaced and read anew.
    Results { experiment: String, trial_dir: String, reset: bool, rows: Vec<ResultRow> },
    /// The first lines of an errored trial's error file.
    Error { experiment: String, trial_id: String, text: String },
    /// A trial its error file had ended reports again (Tune retried it).
    Resumed { experiment: String, trial_id: String },
    /// A file that could not be read or parsed (the rest goes on).
    Problem { path: PathBuf, error: String },
    /// Bytes read from disk in this pass (state files and appended results).
    Pass { bytes: u64, at: SystemTime },
    /// The source starts over (a head pod read anew): what it sent before is dropped, so its
    /// results are not counted twice.
    Restart,
    /// A cloud storage path (or a head pod's experiments) mirrored to `local` (what the scanner reads): this pass's
    /// requests and body bytes, and when its newest object was uploaded.
    Storage {
        url: String,
        local: PathBuf,
        requests: u64,
        bytes: u64,
        newest_upload: Option<SystemTime>,
        /// The experiments found there and their folders, where the source names them (a
        /// head pod's reader does).
        found: Vec<(String, String)>,
        at: SystemTime,
    },
}

/// A kind of Kubernetes object raytop watches, named as the API names its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    RayClusters,
    RayJobs,
    RayServices,
    Pods,
    Events,
    Nodes,
    /// Not a resource: the kubeconfig could not be read, so nothing is watched.
    Kubeconfig,
}

impl Resource {
    /// The resource's plural, as in the API's paths and RBAC rules.
    pub fn plural(self) -> &'static str {
        match self {
            Resource::RayClusters => "rayclusters",
            Resource::RayJobs => "rayjobs",
            Resource::RayServices => "rayservices",
            Resource::Pods => "pods",
            Resource::Events => "events",
            Resource::Nodes => "nodes",
            Resource::Kubeconfig => "kubeconfig",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plural())
    }
}

#[derive(Debug, Clone)]
pub enum KubeUpdate {
    Connected { context: Option<String>, namespace: Option<String>, server: String },
    RayClusters(Vec<RayClusterObj>, SystemTime),
    RayJobs(Vec<RayJobObj>, SystemTime),
    RayServices(Vec<RayServiceObj>, SystemTime),
    Pods(Vec<PodObj>, SystemTime),
    Events(Vec<EventObj>, SystemTime),
    Nodes(Vec<NodeObj>, SystemTime),
    Failed { kind: Resource, error: String, forbidden: bool, at: SystemTime },
}

impl KubeUpdate {
    /// The resource this news is about ("connected" for a new connection).
    pub fn resource(&self) -> &'static str {
        match self {
            KubeUpdate::Connected { .. } => "connected",
            KubeUpdate::RayClusters(..) => Resource::RayClusters.plural(),
            KubeUpdate::RayJobs(..) => Resource::RayJobs.plural(),
            KubeUpdate::RayServices(..) => Resource::RayServices.plural(),
            KubeUpdate::Pods(..) => Resource::Pods.plural(),
            KubeUpdate::Events(..) => Resource::Events.plural(),
            KubeUpdate::Nodes(..) => Resource::Nodes.plural(),
            KubeUpdate::Failed { kind, .. } => kind.plural(),
        }
    }
}

/// What the Prometheus source reports.
#[derive(Debug, Clone)]
pub enum HistoryUpdate {
    Answered { name: &'static str, result: crate::wire::prometheus::QueryResult, at: SystemTime },
    Failed { error: String, at: SystemTime },
}

/// Which series a view shows from Prometheus (each has its set of queries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryTopic {
    /// Per Serve application: traffic, errors, latency, healthy replicas.
    Serve,
    /// Per worker group: active and pending nodes.
    Autoscaler,
    /// Per node: host CPU and memory, logical CPUs used.
    Cluster,
    /// Per physical GPU: utilisation and memory; per node: logical GPUs used.
    Gpu,
}

impl HistoryTopic {
    /// The range queries of a topic, by name, as Ray 2.60 exports the metrics.
    pub fn queries(self) -> &'static [(&'static str, &'static str)] {
        use crate::wire::prometheus as q;
        match self {
            HistoryTopic::Serve => &q::SERVE_QUERIES,
            HistoryTopic::Autoscaler => &q::AUTOSCALER_QUERIES,
            HistoryTopic::Cluster => &q::CLUSTER_QUERIES,
            HistoryTopic::Gpu => &q::GPU_QUERIES,
        }
    }
}

/// Which data the visible view needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interest {
    /// False for the clusters not on screen: their pollers fetch nothing until chosen.
    pub active: bool,
    pub nodes: bool,
    /// Logical usage per node is on screen: kept as fresh as the refresh interval, from the
    /// lightest answer that carries it.
    pub usage: bool,
    pub autoscaler: bool,
    /// The autoscaler's decisions (cluster events) are on screen.
    pub events: bool,
    pub serve: bool,
    pub jobs: bool,
    /// Actors: who holds GPUs, which process runs a trial.
    pub actors: bool,
    /// Tune trials are on screen: a RayCluster's head pod is read for its experiments.
    pub tune: bool,
    /// Kubernetes Events of Ray objects: watched only while a view shows them.
    pub kube_events: bool,
    /// The history from Prometheus the view shows, if any.
    pub history: Option<HistoryTopic>,
    /// Over this window (seconds), set by the app from its `w` choice; 0 = no Prometheus.
    pub history_window_s: u64,
    /// Bumped by "refresh now": the poller then fetches everything wanted at once.
    pub refresh_seq: u32,
}

/// Which dashboard a poller reads and a `Dashboard` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashKey {
    /// An address given by the user (`--dashboard`, `RAY_ADDRESS`, or the local default).
    Url(String),
    /// A RayCluster's head Service, through the API server of a kubeconfig context.
    Proxied { context: Option<String>, route: DashboardRoute },
}

impl Interest {
    /// The dashboard is on screen, but the view needs nothing from it yet.
    pub const ACTIVE: Interest = Interest {
        active: true,
        nodes: false,
        usage: false,
        autoscaler: false,
        events: false,
        serve: false,
        jobs: false,
        actors: false,
        tune: false,
        kube_events: false,
        history: None,
        history_window_s: 0,
        refresh_seq: 0,
    };
}

/// One field before and after, for the confirmation and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
    /// What was sent, planned on the fresh data the executor read (may differ from the preview
    /// when the target changed meanwhile).
    pub changes: Vec<FieldChange>,
}
