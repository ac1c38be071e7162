//! The domain model: pure and synchronous. Sources send updates; `Dashboard::apply` folds them
//! in and recomputes what the views show, so drawing never parses or derives anything heavy.

pub mod autoscaler;
pub mod cluster;
pub mod gpu;
pub mod history;
pub mod k8s;
pub mod logs;
pub mod resources;
pub mod series;
pub mod serve;
pub use crate::wire::text;
pub mod train;
pub mod tune;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::msg::DashKey;
pub use crate::msg::DashUpdate;
use crate::msg::TuneUpdate;
use crate::wire::dashboard::{DashData, Endpoint, FetchError, JobDetails, Version};
use autoscaler::{Autoscaler, GroupShapes, Report, report_from_text, report_from_v1};
use cluster::{Group, GroupLimits, ReportedUsage, build_groups, reported_usage};
use serve::Serve;

/// How fresh one endpoint's data is, and what went wrong last.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Freshness {
    #[serde(serialize_with = "ser_time")]
    pub fetched_at: Option<SystemTime>,
    pub last_error: Option<String>,
    /// Failures since the last success; 0 when healthy.
    pub failing_for: u32,
    /// All failures since launch, malformed responses included.
    pub errors_total: u64,
    /// When the current run of failures began (the first failure after a success).
    #[serde(serialize_with = "ser_time")]
    pub failing_since: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "message", rename_all = "snake_case")]
pub enum Connection {
    Connecting,
    Connected,
    /// Nothing answers (refused, timed out): raytop retries with backoff and keeps the last data.
    Disconnected(String),
    /// The dashboard wants a token raytop doesn't have, or rejects the one it has.
    Unauthorized(String),
}

/// Static knowledge about the cluster that the dashboard does not serve (limits, node shapes).
#[derive(Debug, Clone, Default)]
pub struct ClusterConfig {
    pub limits: GroupLimits,
    pub shapes: GroupShapes,
}

/// Everything raytop knows about one Ray cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub name: String,
    pub source: &'static str,
    pub dashboard: String,
    pub ray_version: Option<String>,
    pub session: Option<String>,
    pub connection: Connection,
    pub groups: Vec<Group>,
    /// All groups added up, as the Cluster view's title reads them.
    pub totals: Totals,
    /// Each group's history (by group name), combined from its nodes' series.
    #[serde(skip)]
    pub group_history: BTreeMap<String, history::GroupSeries>,
    /// What `group_history` was combined from: (groups revision, history source and revision).
    #[serde(skip)]
    group_history_of: Option<(u64, String, u64)>,
    /// Bumped whenever the groups are rebuilt.
    #[serde(skip)]
    groups_revision: u64,
    pub autoscaler: Autoscaler,
    pub serve: Serve,
    pub jobs: Vec<JobSummary>,
    /// Ray Train runs, from the dashboard's Train V2 state.
    pub train: train::Train,
    pub tune: tune::Tune,
    pub gpus: gpu::Gpus,
    pub freshness: BTreeMap<Endpoint, Freshness>,
    /// Which dashboard this is: its poller's key.
    #[serde(skip)]
    pub key: DashKey,
    #[serde(skip)]
    config: ClusterConfig,
    #[serde(skip)]
    report: Report,
    #[serde(skip)]
    nodes: Option<crate::wire::dashboard::NodesSummary>,
    /// Logical usage per node from the autoscaler's v1 report: fresher than the summary's.
    #[serde(skip)]
    reported: Option<ReportedUsage>,
    #[serde(skip)]
    pub actors: Vec<crate::wire::dashboard::ActorState>,
    /// Per GPU, since when it has been idle while held (unix seconds), across refreshes.
    #[serde(skip)]
    gpu_idle_since: BTreeMap<String, f64>,
    /// The actors holding GPUs on each node, joined when the actors or what they serve change.
    #[serde(skip)]
    holder_index: gpu::HolderIndex,
    /// GPUs each pod of this cluster requests from Kubernetes, by pod name (= Ray instanceId),
    /// when the Kubernetes source knows the RayCluster behind this dashboard.
    #[serde(skip)]
    pod_gpu_requests: Option<BTreeMap<String, f64>>,
    #[serde(skip)]
    clock: f64,
    /// Tune news since the last source pass that can move a GPU holder (a trial's node, pid or
    /// status): the GPU picture is joined again at the pass only then.
    #[serde(skip)]
    tune_moved: bool,
    /// The clock when the GPU picture was last joined: how long a held GPU has idled is said
    /// in it, so a pass joins it again when that has moved on (at most every 10 s).
    #[serde(skip)]
    gpus_clock: f64,
}

/// Every group's logical resources and live nodes, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub cpu: resources::Usage,
    pub gpu: resources::Usage,
    pub memory: resources::Usage,
    pub nodes_alive: usize,
}

impl Totals {
    pub fn of(groups: &[Group]) -> Totals {
        let mut t = Totals::default();
        for g in groups {
            t.cpu.add(g.cpu);
            t.gpu.add(g.gpu);
            t.memory.add(g.memory);
            t.nodes_alive += g.nodes_alive;
        }
        t
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub entrypoint: String,
    pub message: String,
    /// Unix seconds; the dashboard sends milliseconds.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    /// Where a submitted job's driver log is (with `id`, its submission id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_node_id: Option<String>,
}

impl JobSummary {
    /// How long the job ran, or has been running at `now` (unix seconds).
    pub fn duration(&self, now: f64) -> Option<f64> {
        let start = self.start_time?;
        Some((self.end_time.unwrap_or(now) - start).max(0.0))
    }
}

impl From<&JobDetails> for JobSummary {
    fn from(j: &JobDetails) -> Self {
        JobSummary {
            id: j.submission_id.clone().or_else(|| j.job_id.clone()).unwrap_or_default(),
            kind: j.kind.clone(),
            status: j.status.clone(),
            entrypoint: j.entrypoint.clone(),
            message: j.message.clone().unwrap_or_default(),
            start_time: j.start_time.filter(|t| *t > 0).map(|t| t as f64 / 1000.0),
            end_time: j.end_time.filter(|t| *t > 0).map(|t| t as f64 / 1000.0),
            driver_node_id: j.driver_node_id.clone().filter(|n| !n.is_empty()),
        }
    }
}

/// Seconds of the clock after which a Tune pass joins the GPU picture again though no trial moved:
/// the idle times it states move on.
const GPU_AGES_EVERY: f64 = 10.0;

impl Dashboard {
    pub fn with_tune_modes(mut self, overrides: BTreeMap<String, tune::Mode>) -> Self {
        self.tune = tune::Tune::with_overrides(overrides);
        self
    }

    /// `dashboard` says how it is reached, for the screen; `key` names its poller.
    pub fn new(name: String, key: DashKey, dashboard: String, config: ClusterConfig) -> Self {
        Dashboard {
            key,
            name,
            source: "dashboard",
            dashboard,
            ray_version: None,
            session: None,
            connection: Connection::Connecting,
            groups: Vec::new(),
            totals: Totals::default(),
            group_history: BTreeMap::new(),
            group_history_of: None,
            groups_revision: 0,
            autoscaler: Autoscaler::default(),
            serve: Serve::default(),
            jobs: Vec::new(),
            train: train::Train::default(),
            tune: tune::Tune::default(),
            gpus: gpu::Gpus::default(),
            freshness: BTreeMap::new(),
            config,
            report: Report::default(),
            nodes: None,
            reported: None,
            actors: Vec::new(),
            gpu_idle_since: BTreeMap::new(),
            holder_index: gpu::HolderIndex::default(),
            pod_gpu_requests: None,
            clock: 0.0,
            tune_moved: false,
            gpus_clock: 0.0,
        }
    }

    /// Folds in news from the Tune source; GPU holders are re-joined after a pass that brought
    /// trial news (a pass that read nothing, every second, joins nothing).
    pub fn apply_tune(&mut self, u: TuneUpdate) {
        match &u {
            TuneUpdate::Pass { at, .. } => {
                self.clock = self.clock.max(unix_secs(*at));
                self.tune.apply(u);
                // Trial news moves a holder only when it moves which trial runs in which process.
                let holders_moved = std::mem::take(&mut self.tune_moved) && !self.holder_index.keeps_trials(&self.tune);
                if holders_moved || self.clock - self.gpus_clock >= GPU_AGES_EVERY {
                    self.rebuild_gpus();
                }
            }
            // What the info line and problems say: no trial moved.
            TuneUpdate::Problem { .. } | TuneUpdate::Storage { .. } => self.tune.apply(u),
            _ => {
                self.tune_moved = true;
                self.tune.apply(u);
            }
        }
    }

    fn rebuild_gpus(&mut self) {
        self.gpus_clock = self.clock;
        self.gpus = gpu::build(
            &self.groups,
            &self.actors,
            gpu::Workloads { tune: &self.tune, serve: &self.serve, train: &self.train },
            &self.autoscaler,
            &mut self.gpu_idle_since,
            &mut self.holder_index,
            self.clock,
        );
        if let Some(req) = &self.pod_gpu_requests {
            self.gpus.totals.k8s_requested = Some(req.values().sum());
            for n in &mut self.gpus.nodes {
                n.k8s_requested = req.get(&n.instance_id).copied();
            }
        }
    }

    /// The GPU requests of the pods of the RayCluster behind this dashboard (from Kubernetes).
    pub fn set_pod_gpu_requests(&mut self, requests: Option<BTreeMap<String, f64>>) {
        if self.pod_gpu_requests != requests {
            self.pod_gpu_requests = requests;
            self.rebuild_gpus();
        }
    }

    /// Folds one update in. Returns whether anything on screen can have changed: new data, or a
    /// failure that changes the connection or an endpoint's error (a repeat of the same error
    /// while the dashboard is down changes nothing but a counter).
    pub fn apply(&mut self, update: DashUpdate) -> bool {
        match update {
            DashUpdate::Fetched { endpoint, at, data, .. } => {
                self.clock = self.clock.max(unix_secs(at));
                let f = self.freshness.entry(endpoint).or_default();
                f.fetched_at = Some(at);
                f.failing_for = 0;
                f.failing_since = None;
                f.last_error = None;
                self.connection = Connection::Connected;
                self.absorb(*data);
                true
            }
            DashUpdate::Failed { endpoint, at, error } => {
                let before = self.connection.clone();
                let f = self.freshness.entry(endpoint).or_default();
                let message = error.to_string();
                let new_error = f.last_error.as_deref() != Some(message.as_str()) || f.failing_for == 0;
                if f.failing_for == 0 {
                    f.failing_since = Some(at);
                }
                f.failing_for += 1;
                f.errors_total += 1;
                f.last_error = Some(message);
                match &error {
                    FetchError::Unreachable(_) | FetchError::Timeout(_) => {
                        self.connection = Connection::Disconnected(error.to_string());
                    }
                    FetchError::Unauthorized { .. } => {
                        self.connection = Connection::Unauthorized(error.to_string());
                    }
                    // A malformed body or an HTTP error on one endpoint: the dashboard is there.
                    FetchError::Http { .. } | FetchError::Malformed { .. } | FetchError::TooLarge { .. } => {}
                }
                new_error || self.connection != before
            }
        }
    }

    fn absorb(&mut self, data: DashData) {
        match data {
            DashData::Version(v) => self.set_version(v),
            DashData::Nodes(n) => {
                self.nodes = Some(n);
                self.rebuild();
            }
            DashData::ClusterStatus(s) => {
                // Under autoscaler v2 the text report is fetched instead (the poller reads the
                // same kind) and replaces this one.
                let kind = s.kind();
                if let Some(v1) = s.cluster_status {
                    self.report = report_from_v1(&v1);
                    self.reported =
                        (kind == crate::wire::dashboard::ReportKind::V1WithUsage).then(|| reported_usage(&v1));
                    self.rebuild();
                }
            }
            DashData::ClusterStatusText(text) => {
                self.report = report_from_text(&text);
                self.rebuild();
            }
            DashData::Events(mut events) => {
                // Stable sort: same-second events keep the dashboard's order.
                events.sort_by(|a, b| a.time.cmp(&b.time));
                self.autoscaler.events = autoscaler::fold_events(&events);
            }
            DashData::Serve(inst) => {
                let serve = Serve::from_instance(&inst);
                // The same answer again (most are): its replicas hold the same GPUs.
                if serve != self.serve {
                    self.serve = serve;
                    self.holder_index.invalidate();
                    self.rebuild_gpus();
                }
            }
            DashData::Jobs(jobs) => {
                self.jobs = jobs.iter().map(JobSummary::from).collect();
                // Newest first, as `ray job list` users expect.
                self.jobs.sort_by(|a, b| b.start_time.unwrap_or(0.0).total_cmp(&a.start_time.unwrap_or(0.0)));
            }
            DashData::Actors(actors) => {
                if actors != self.actors {
                    self.actors = actors;
                    self.holder_index.invalidate();
                    self.rebuild_gpus();
                }
            }
            DashData::TrainRuns(runs) => {
                let train = train::Train::from_response(&runs);
                // Its workers hold GPUs: the GPU view names them by run and rank.
                if train != self.train {
                    self.train = train;
                    self.holder_index.invalidate();
                    self.rebuild_gpus();
                }
            }
            DashData::TrainUntracked(why) => self.train = train::Train::untracked(why),
        }
    }

    fn set_version(&mut self, v: Version) {
        self.ray_version = Some(v.ray_version).filter(|s| !s.is_empty());
        self.session = Some(v.session_name).filter(|s| !s.is_empty());
    }

    /// Recomputes groups and verdicts from the latest node list and autoscaler report.
    fn rebuild(&mut self) {
        // The report's usage where it is at least as new as the summary: a report that has stopped
        // answering must not hold back the summary's newer numbers.
        let fetched = |ep| self.freshness.get(&ep).and_then(|f: &Freshness| f.fetched_at);
        let report_current = fetched(Endpoint::ClusterStatus) >= fetched(Endpoint::Nodes);
        let reported = self.reported.as_ref().filter(|_| report_current);
        if self.nodes.is_some() || reported.is_some() {
            self.groups = build_groups(self.nodes.as_ref(), reported, &self.config.limits);
            self.totals = Totals::of(&self.groups);
            self.groups_revision += 1;
        }
        let shapes = autoscaler::shapes_from_groups(&self.groups, &self.config.shapes);
        self.autoscaler.source = self.report.source;
        self.autoscaler.pending = self.report.pending.clone();
        self.autoscaler.launches = self.report.launches.clone();
        self.autoscaler.failures = self.report.failures.clone();
        self.autoscaler.verdicts = autoscaler::verdicts(&self.report, &self.groups, &shapes);
        self.rebuild_gpus();
    }

    /// What Prometheus's history says of this dashboard's groups and GPUs, derived when either
    /// changes.
    pub fn apply_history(&mut self, h: &history::History) {
        self.gpus.apply_history(h);
        // Every dashboard answer comes here; the groups' series (a scan of every node's) are
        // combined again only when the groups or the history moved.
        let of = (self.groups_revision, h.source.clone(), h.revision());
        if self.group_history_of.as_ref() != Some(&of) {
            self.group_history = self.groups.iter().map(|g| (g.name.clone(), h.group_series(g))).collect();
            self.group_history_of = Some(of);
        }
    }

    /// The newest fetch time over all endpoints: whether the dashboard answers at all.
    pub fn last_fetch(&self) -> Option<SystemTime> {
        self.freshness.values().filter_map(|f| f.fetched_at).max()
    }

    /// When the oldest run of failures still going began: how long something has been wrong.
    pub fn failing_since(&self) -> Option<SystemTime> {
        self.freshness.values().filter(|f| f.failing_for > 0).filter_map(|f| f.failing_since).min()
    }

    /// The live actor running a trial: the one with its last result's pid, on the node with its
    /// last result's IP.
    pub fn actor_of_trial(&self, tr: &tune::Trial) -> Option<&crate::wire::dashboard::ActorState> {
        let (pid, ip) = (tr.pid?, tr.node_ip.as_deref()?);
        self.actors.iter().find(|a| {
            a.pid == Some(pid)
                && self.groups.iter().flat_map(|g| &g.nodes).any(|n| n.node_id == a.node_id && n.ip == ip)
        })
    }

    /// Whether any data at all has arrived (the first populated frame).
    pub fn has_data(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Ray nodes by pod name (`instanceId`) and, where unique, by IP: how a pod finds its Ray node.
pub fn ray_node_index(dashboards: &[Dashboard]) -> BTreeMap<String, k8s::RayNodeRef> {
    let mut out = BTreeMap::new();
    let mut ips: BTreeMap<&str, usize> = BTreeMap::new();
    let nodes = || dashboards.iter().flat_map(|c| &c.groups).flat_map(|g| &g.nodes);
    for n in nodes() {
        *ips.entry(n.ip.as_str()).or_default() += 1;
    }
    for n in nodes() {
        let r = k8s::RayNodeRef {
            node_id: n.node_id.clone(),
            state: if n.alive { "ALIVE".into() } else { "DEAD".into() },
            cpu: n.cpu,
            gpu: n.gpu,
        };
        if !n.instance_id.is_empty() {
            out.insert(n.instance_id.clone(), r.clone());
        }
        if ips.get(n.ip.as_str()) == Some(&1) {
            out.insert(format!("ip:{}", n.ip), r);
        }
    }
    out
}

/// Joins both systems: pods to the Ray nodes of every dashboard known, and each dashboard to the
/// GPU requests of its RayCluster's pods (same name), for the GPU view.
pub fn join_kube(k8s: &mut k8s::K8s, dashboards: &mut [Dashboard]) {
    let index = ray_node_index(dashboards);
    join_with(k8s, dashboards, &index);
}

/// After a dashboard update: joins again only when what a pod shows of its Ray node changed.
/// Rebuilding every pod row on every usage answer (each 2 s) cost frames: at 2,000 Ray nodes
/// with 5,000 pods watched, p99 went from 7.7 and 9.7 ms to 5.3 and 6.9 ms without it.
pub fn rejoin_kube(k8s: &mut k8s::K8s, dashboards: &mut [Dashboard]) {
    let index = ray_node_index(dashboards);
    if k8s.joins_changed(&index) {
        join_with(k8s, dashboards, &index);
    }
}

fn join_with(k8s: &mut k8s::K8s, dashboards: &mut [Dashboard], index: &BTreeMap<String, k8s::RayNodeRef>) {
    k8s.rebuild(index);
    for c in dashboards.iter_mut() {
        let requests =
            k8s.clusters.iter().find(|k| k.name == c.name).map(|k| {
                k.groups.iter().flat_map(|g| &g.pods).map(|p| (p.pod.name.clone(), p.pod.gpu_requests)).collect()
            });
        c.set_pod_gpu_requests(requests);
    }
}

/// Unix seconds as a float, for JSON and age computations.
pub fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn ser_time<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_f64((unix_secs(*t) * 1000.0).round() / 1000.0),
        None => s.serialize_none(),
    }
}

/// What `raytop snapshot --json` prints.
#[derive(Debug, Serialize)]
pub struct Snapshot<'a> {
    /// The dashboard's cluster first, then every RayCluster Kubernetes lists (`source` tells).
    pub clusters: Vec<serde_json::Value>,
    /// Context, namespace, RayJobs, RayServices and per-kind errors, when Kubernetes was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<&'a k8s::K8s>,
    /// What Prometheus answered (`--prometheus`), each series with its query and range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<&'a history::History>,
}
