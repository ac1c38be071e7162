//! The app state and its update function: keys and source messages in, effects out. No I/O here,
//! so tests drive it directly with key events and fixture data.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::config::{Command, Keymap, Scope, Theme};
use crate::model::ClusterState;
use crate::msg::Msg;
use crate::rows::{self, Row};
use crate::source::dashboard::Endpoint;
use crate::source::dashboard::poller::Interest;
use crate::source::kube::KubeUpdate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Cluster,
    Autoscaler,
    Serve,
    Tune,
    Gpu,
    /// Kubernetes: every RayCluster, RayJob and RayService the user may see.
    Clusters,
}

impl View {
    pub const ALL: [View; 6] = [View::Cluster, View::Autoscaler, View::Serve, View::Tune, View::Gpu, View::Clusters];

    pub fn title(self) -> &'static str {
        match self {
            View::Cluster => "Cluster",
            View::Autoscaler => "Autoscaler",
            View::Serve => "Serve",
            View::Tune => "Tune",
            View::Gpu => "GPU",
            View::Clusters => "Kube",
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            View::Cluster => Scope::Cluster,
            View::Autoscaler => Scope::Autoscaler,
            View::Serve => Scope::Serve,
            View::Tune => Scope::Tune,
            View::Gpu => Scope::Gpu,
            View::Clusters => Scope::Clusters,
        }
    }

    /// The key the default keymap gives the view, for the header's tabs.
    pub fn key(self) -> char {
        match self {
            View::Clusters => '0',
            other => char::from(b'1' + other.index() as u8),
        }
    }

    fn index(self) -> usize {
        match self {
            View::Cluster => 0,
            View::Autoscaler => 1,
            View::Serve => 2,
            View::Tune => 3,
            View::Gpu => 4,
            View::Clusters => 5,
        }
    }

    /// The endpoints whose data the view shows (for "data n s ago").
    pub fn endpoints(self) -> &'static [Endpoint] {
        match self {
            View::Cluster => &[Endpoint::Nodes],
            View::Autoscaler => &[Endpoint::ClusterStatus, Endpoint::ClusterStatusText, Endpoint::ClusterEvents],
            View::Serve => &[Endpoint::Serve],
            View::Tune => &[],
            View::Gpu => &[Endpoint::Nodes, Endpoint::Actors],
            View::Clusters => &[],
        }
    }

    /// What the view needs fetched; nothing else is polled while it is on screen.
    pub fn interest(self) -> Interest {
        let i = match self {
            View::Cluster => Interest { nodes: true, ..Interest::default() },
            View::Autoscaler => Interest { autoscaler: true, ..Interest::default() },
            View::Serve => Interest { serve: true, ..Interest::default() },
            // Trials are read from disk; the dashboard adds the actor behind each trial.
            View::Tune => Interest { nodes: true, actors: true, ..Interest::default() },
            View::Gpu => Interest { nodes: true, actors: true, serve: true, autoscaler: true, ..Interest::default() },
            // Pods are joined to the dashboard's nodes when it is reachable.
            View::Clusters => Interest { nodes: true, ..Interest::default() },
        };
        Interest { active: true, ..i }
    }
}

/// A popup or input line that takes keys before the view does.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Help,
    Palette(Input),
    Filter(Input),
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The visible view changed: poll for what it needs.
    Interest(Interest),
    /// Fetch now, regardless of schedules.
    RefreshNow,
    /// Watch another kubeconfig context or namespace.
    Kube(crate::source::kube::Target),
    /// Start polling a RayCluster's dashboard through the API server, as cluster `index`.
    Dashboard {
        index: usize,
        route: crate::model::k8s::DashboardRoute,
    },
    Quit,
}

/// Commands the palette knows, with what they do (shown as completions).
pub const PALETTE: [(&str, &str); 13] = [
    ("cluster", "Cluster view: groups and nodes"),
    ("autoscaler", "Autoscaler view: decisions, demands, verdicts"),
    ("serve", "Serve view: applications, deployments, replicas"),
    ("tune", "Tune leaderboard: trials of each experiment"),
    ("gpu", "GPU allocation: who holds each GPU, how busy"),
    ("kube", "Kubernetes: RayClusters, RayJobs, RayServices"),
    ("use", "use NAME: show this RayCluster's dashboard in views 1-5"),
    ("ctx", "ctx NAME: switch kubeconfig context"),
    ("ns", "ns NAME | ns all: switch namespace"),
    ("dead", "Show or fold dead nodes"),
    ("refresh", "Fetch everything now"),
    ("help", "List the keys"),
    ("quit", "Quit raytop"),
];

pub struct App {
    pub clusters: Vec<ClusterState>,
    pub current: usize,
    pub view: View,
    pub overlay: Overlay,
    /// One filter per view, kept when switching.
    pub filters: [String; 6],
    pub selected: [usize; 6],
    /// Leaderboard state: sort column and order, status shown, experiment, detail panel.
    pub tune: TuneUi,
    /// What the Kubernetes source reports, and which RayClusters are opened up.
    pub k8s: crate::model::k8s::K8s,
    pub k8s_expanded: BTreeSet<String>,
    /// The context/namespace being watched; `None` when Kubernetes is off.
    pub kube_target: Option<crate::source::kube::Target>,
    pub show_dead: bool,
    /// Folded groups (cluster view) and applications (serve view), by name.
    pub folded: BTreeSet<String>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Problems with the user's files, shown until dismissed with Esc.
    pub warnings: Vec<String>,
    /// A one-line message after a command (unknown palette command, refresh requested…).
    pub toast: Option<String>,
    /// The rows of the current view, rebuilt when the model, filter or folds change.
    pub rows: Vec<Row>,
    pub quit: bool,
}

impl App {
    pub fn new(clusters: Vec<ClusterState>, keymap: Keymap, theme: Theme, warnings: Vec<String>) -> Self {
        let mut app = App {
            clusters,
            current: 0,
            view: View::Cluster,
            overlay: Overlay::None,
            filters: Default::default(),
            selected: [0; 6],
            k8s: crate::model::k8s::K8s::default(),
            k8s_expanded: BTreeSet::new(),
            kube_target: None,
            tune: TuneUi::default(),
            show_dead: false,
            folded: BTreeSet::new(),
            keymap,
            theme,
            warnings,
            toast: None,
            rows: Vec::new(),
            quit: false,
        };
        app.rebuild_rows();
        app
    }

    pub fn cluster(&self) -> Option<&ClusterState> {
        self.clusters.get(self.current)
    }

    pub fn filter(&self) -> &str {
        &self.filters[self.view.index()]
    }

    pub fn selected(&self) -> usize {
        self.selected[self.view.index()]
    }

    pub fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Dash { cluster, update } => {
                let nodes = matches!(&update, crate::model::DashUpdate::Fetched { endpoint: Endpoint::Nodes, .. });
                if let Some(c) = self.clusters.get_mut(cluster)
                    && c.apply(update)
                {
                    if nodes && self.kube_target.is_some() {
                        self.refresh_pod_joins();
                    }
                    if cluster == self.current {
                        self.rebuild_rows();
                    }
                }
            }
            Msg::Kube(update) => {
                self.apply_kube(update);
                // The GPU view shows what each pod requests from Kubernetes, too.
                if matches!(self.view, View::Clusters | View::Gpu) {
                    self.rebuild_rows();
                }
            }
            Msg::Tune(update) => {
                // Tune directories belong to the cluster they were given for (the first, today).
                let pass_done = matches!(update, crate::source::tune::TuneUpdate::Pass { .. });
                if let Some(c) = self.clusters.get_mut(0) {
                    c.apply_tune(update);
                }
                if pass_done {
                    self.rebuild_rows();
                }
            }
        }
    }

    pub fn on_terminal(&mut self, ev: &TermEvent) -> Vec<Effect> {
        tracing::debug!(?ev, "terminal event");
        match ev {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            _ => Vec::new(),
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        match &mut self.overlay {
            Overlay::Palette(input) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let line = input.value().trim().to_string();
                        self.overlay = Overlay::None;
                        return self.run_palette(&line);
                    }
                    KeyCode::Tab => {
                        let typed = input.value().trim().to_string();
                        if let Some((name, _)) = PALETTE.iter().find(|(n, _)| n.starts_with(&typed)) {
                            *input = Input::new(name.to_string());
                        }
                    }
                    _ => {
                        input.handle_event(&TermEvent::Key(*key));
                    }
                }
                return Vec::new();
            }
            Overlay::Filter(input) => {
                match key.code {
                    KeyCode::Esc => {
                        self.filters[self.view.index()].clear();
                        self.overlay = Overlay::None;
                    }
                    KeyCode::Enter => self.overlay = Overlay::None,
                    _ => {
                        input.handle_event(&TermEvent::Key(*key));
                        self.filters[self.view.index()] = input.value().to_string();
                    }
                }
                self.selected[self.view.index()] = 0;
                self.rebuild_rows();
                return Vec::new();
            }
            Overlay::Help => {
                // Any key closes help; quit still quits.
                self.overlay = Overlay::None;
                if self.keymap.resolve(self.view.scope(), key) == Some(Command::Quit) {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        match self.keymap.resolve(self.view.scope(), key) {
            Some(cmd) => self.run(cmd),
            None => Vec::new(),
        }
    }

    pub fn run(&mut self, cmd: Command) -> Vec<Effect> {
        self.toast = None;
        let v = self.view.index();
        let last = self.rows.len().saturating_sub(1);
        match cmd {
            Command::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Command::Help => self.overlay = Overlay::Help,
            Command::Palette => self.overlay = Overlay::Palette(Input::default()),
            Command::Filter => self.overlay = Overlay::Filter(Input::new(self.filters[v].clone())),
            Command::Back => {
                if !self.warnings.is_empty() {
                    self.warnings.clear();
                } else {
                    self.filters[v].clear();
                    self.rebuild_rows();
                }
            }
            Command::NextView => return self.switch(View::ALL[(v + 1) % View::ALL.len()]),
            Command::PrevView => return self.switch(View::ALL[(v + View::ALL.len() - 1) % View::ALL.len()]),
            Command::ViewCluster => return self.switch(View::Cluster),
            Command::ViewAutoscaler => return self.switch(View::Autoscaler),
            Command::ViewServe => return self.switch(View::Serve),
            Command::ViewTune => return self.switch(View::Tune),
            Command::ViewGpu => return self.switch(View::Gpu),
            Command::ViewClusters => return self.switch(View::Clusters),
            Command::SortNext => {
                let columns = self.tune_columns();
                self.tune.sort = (self.tune.sort + 1) % columns.max(1);
                self.rebuild_rows();
            }
            Command::SortReverse => {
                self.tune.descending = !self.tune.descending;
                self.rebuild_rows();
            }
            Command::StatusFilter => {
                let i = TUNE_STATUSES.iter().position(|s| Some(*s) == self.tune.status).map_or(0, |i| i + 1);
                self.tune.status = TUNE_STATUSES.get(i).copied();
                self.rebuild_rows();
            }
            Command::NextExperiment | Command::PrevExperiment => {
                let n = self.cluster().map_or(0, |c| c.tune.experiments.len()).max(1);
                let cur = self.tune_experiment_index();
                self.tune.experiment =
                    Some(if cmd == Command::NextExperiment { (cur + 1) % n } else { (cur + n - 1) % n });
                self.selected[v] = 0;
                self.rebuild_rows();
            }
            Command::Detail if self.view == View::Clusters => {
                if let Some(Row::K8sCluster { c }) = self.rows.get(self.selected[v])
                    && let Some(cl) = self.k8s.clusters.get(*c)
                {
                    let key = format!("{}/{}", cl.namespace, cl.name);
                    let opening = !self.k8s_expanded.remove(&key);
                    let mut fx = Vec::new();
                    if opening {
                        self.k8s_expanded.insert(key);
                        // Opening a cluster also makes its dashboard the one views 1-5 show.
                        fx = self.open_dashboard(*c);
                    }
                    self.rebuild_rows();
                    return fx;
                }
            }
            Command::Detail => self.tune.detail = !self.tune.detail,
            Command::Down => self.selected[v] = (self.selected[v] + 1).min(last),
            Command::Up => self.selected[v] = self.selected[v].saturating_sub(1),
            Command::Top => self.selected[v] = 0,
            Command::Bottom => self.selected[v] = last,
            Command::PageDown => self.selected[v] = (self.selected[v] + 10).min(last),
            Command::PageUp => self.selected[v] = self.selected[v].saturating_sub(10),
            Command::Refresh => {
                self.toast = Some("refreshing…".into());
                return vec![Effect::RefreshNow];
            }
            Command::ToggleDead => {
                self.show_dead = !self.show_dead;
                self.rebuild_rows();
            }
            Command::ToggleFold => {
                if let Some(name) = self.rows.get(self.selected[v]).and_then(Row::fold_key) {
                    if !self.folded.remove(&name) {
                        self.folded.insert(name);
                    }
                    self.rebuild_rows();
                }
            }
            Command::Noop => {}
        }
        Vec::new()
    }

    fn switch(&mut self, view: View) -> Vec<Effect> {
        if self.view == view {
            return Vec::new();
        }
        self.view = view;
        self.rebuild_rows();
        vec![Effect::Interest(view.interest())]
    }

    fn run_palette(&mut self, line: &str) -> Vec<Effect> {
        let word = line.split_whitespace().next().unwrap_or_default();
        let cmd = match word {
            "" => return Vec::new(),
            "cluster" | "nodes" => Command::ViewCluster,
            "autoscaler" | "as" => Command::ViewAutoscaler,
            "serve" => Command::ViewServe,
            "tune" | "trials" => Command::ViewTune,
            "gpu" | "gpus" => Command::ViewGpu,
            "kube" | "k8s" | "clusters" => Command::ViewClusters,
            "ctx" | "context" | "ns" | "namespace" => return self.switch_kube(line),
            "use" => return self.use_cluster(line.split_whitespace().nth(1).unwrap_or_default()),
            "dead" => Command::ToggleDead,
            "refresh" => Command::Refresh,
            "help" => Command::Help,
            "quit" | "q" => Command::Quit,
            other => {
                self.toast = Some(format!("unknown command {other:?}: try {}", names()));
                return Vec::new();
            }
        };
        self.run(cmd)
    }

    /// Rebuilds the current view's rows and keeps the selection in range.
    pub fn rebuild_rows(&mut self) {
        let v = self.view.index();
        let experiment = self.tune_experiment_index();
        self.rows = match self.clusters.get(self.current) {
            Some(c) => {
                let opts = rows::Options {
                    filter: &self.filters[v],
                    show_dead: self.show_dead,
                    folded: &self.folded,
                    tune: &self.tune,
                    experiment,
                    k8s: &self.k8s,
                    expanded: &self.k8s_expanded,
                };
                rows::build(self.view, c, &opts)
            }
            None => Vec::new(),
        };
        self.selected[v] = self.selected[v].min(self.rows.len().saturating_sub(1));
    }

    /// Seconds since `t`, against the given clock (tests pass a fixed one).
    pub fn age(now: SystemTime, t: SystemTime) -> f64 {
        now.duration_since(t).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    }
}

/// Statuses the leaderboard can be narrowed to, in the order `f` cycles through them.
pub const TUNE_STATUSES: [&str; 5] = ["RUNNING", "TERMINATED", "ERROR", "PENDING", "PAUSED"];

#[derive(Debug, Clone, Default)]
pub struct TuneUi {
    /// Index into the leaderboard's sortable columns (0 = rank by best).
    pub sort: usize,
    pub descending: bool,
    pub status: Option<&'static str>,
    /// The experiment shown; `None` = the newest.
    pub experiment: Option<usize>,
    pub detail: bool,
}

impl App {
    /// The experiment on screen: the chosen one, else the last (newest by name: Tune names
    /// repeat runs `name-2`, `name-3`, and sessions sort by time).
    pub fn tune_experiment_index(&self) -> usize {
        let n = self.cluster().map_or(0, |c| c.tune.experiments.len());
        match self.tune.experiment {
            Some(i) if i < n => i,
            _ => n.saturating_sub(1),
        }
    }

    fn tune_columns(&self) -> usize {
        let params = self
            .cluster()
            .and_then(|c| c.tune.experiments.get(self.tune_experiment_index()))
            .map_or(0, |e| e.params.len());
        rows::TUNE_SORTS.len() + params
    }
}

fn names() -> String {
    PALETTE.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

impl App {
    /// `ctx NAME`, `ns NAME`, `ns all`: a new target for the Kubernetes source.
    fn switch_kube(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let Some(arg) = words.next() else {
            self.toast = Some(format!("{verb} needs a name"));
            return Vec::new();
        };
        let Some(mut target) = self.kube_target.clone() else {
            self.toast = Some("Kubernetes is off: start raytop with a kubeconfig".into());
            return Vec::new();
        };
        if verb.starts_with("ctx") || verb == "context" {
            target.context = Some(arg.to_string());
            target.namespace = None;
        } else if arg == "all" {
            target.all_namespaces = true;
            target.namespace = None;
        } else {
            target.all_namespaces = false;
            target.namespace = Some(arg.to_string());
        }
        self.kube_target = Some(target.clone());
        self.k8s = crate::model::k8s::K8s::default();
        // Opened clusters belong to what was watched before.
        self.k8s_expanded.clear();
        self.toast = Some(format!("watching {}", line.trim()));
        self.rebuild_rows();
        let mut fx = vec![Effect::Kube(target)];
        if self.view != View::Clusters {
            fx.extend(self.switch(View::Clusters));
        }
        fx
    }

    /// Makes RayCluster `ci` (an index into the Kubernetes clusters) the current cluster: the
    /// dashboard state of the same name when there is one (`--dashboard NAME=URL`, or one opened
    /// before), else a new one reached through the API server's service proxy.
    pub fn open_dashboard(&mut self, ci: usize) -> Vec<Effect> {
        let Some(cl) = self.k8s.clusters.get(ci) else { return Vec::new() };
        let mut fx = Vec::new();
        let index = match self.dashboard_for(cl) {
            Some(i) => i,
            None => {
                let route = cl.dashboard.clone();
                let via = format!("API server proxy {}/{}:dashboard", route.namespace, route.service);
                let mut state = ClusterState::new(cl.name.clone(), via, Default::default());
                state.proxied = Some((self.kube_context(), route.clone()));
                self.clusters.push(state);
                fx.push(Effect::Dashboard { index: self.clusters.len() - 1, route });
                self.clusters.len() - 1
            }
        };
        fx.extend(self.show_cluster(index));
        fx
    }

    /// Makes dashboard `index` the one views 1-5 show, and has only its poller fetch.
    fn show_cluster(&mut self, index: usize) -> Vec<Effect> {
        if index != self.current {
            self.current = index;
            self.tune.experiment = None;
        }
        self.refresh_pod_joins();
        self.rebuild_rows();
        vec![Effect::Interest(self.view.interest())]
    }

    /// The dashboard state of a RayCluster: the one opened through the API server for the same
    /// context and route, else a `--dashboard NAME=URL` one of the same name.
    pub fn dashboard_for(&self, cl: &crate::model::k8s::K8sCluster) -> Option<usize> {
        let ctx = self.kube_context();
        let mine = |s: &ClusterState| s.proxied.as_ref().is_some_and(|(c, r)| *c == ctx && *r == cl.dashboard);
        self.clusters
            .iter()
            .position(mine)
            .or_else(|| self.clusters.iter().position(|s| s.proxied.is_none() && s.name == cl.name))
    }

    fn kube_context(&self) -> Option<String> {
        self.kube_target.as_ref().and_then(|t| t.context.clone()).or_else(|| self.k8s.context.clone())
    }

    /// `use NAME`: a RayCluster by name (or a dashboard given with --dashboard NAME=URL).
    fn use_cluster(&mut self, name: &str) -> Vec<Effect> {
        if name.is_empty() {
            let names: Vec<&str> = self.k8s.clusters.iter().map(|c| c.name.as_str()).collect();
            self.toast = Some(format!("use needs a RayCluster name: {}", names.join(", ")));
            return Vec::new();
        }
        let fx = if let Some(ci) = self.k8s.clusters.iter().position(|c| c.name == name) {
            self.open_dashboard(ci)
        } else if let Some(i) = self.clusters.iter().position(|c| c.name == name) {
            self.show_cluster(i)
        } else {
            self.toast = Some(format!("no RayCluster named {name:?}"));
            return Vec::new();
        };
        self.toast = Some(format!("showing {name}"));
        fx
    }

    /// Folds in news from the Kubernetes source and re-joins pods with Ray nodes.
    pub fn apply_kube(&mut self, u: KubeUpdate) {
        use crate::model::k8s::KindState;
        let synced = |k: &mut crate::model::k8s::K8s, kind: &str, at| {
            k.kinds.insert(kind.to_string(), KindState { synced_at: Some(at), error: None, forbidden: false });
        };
        match u {
            KubeUpdate::Connected { context, namespace, server } => {
                self.k8s.context = context;
                self.k8s.namespace = namespace;
                self.k8s.server = Some(server);
            }
            KubeUpdate::RayClusters(v, at) => {
                self.k8s.raw_clusters = v;
                synced(&mut self.k8s, "rayclusters", at);
            }
            KubeUpdate::RayJobs(v, at) => {
                self.k8s.jobs = v;
                synced(&mut self.k8s, "rayjobs", at);
            }
            KubeUpdate::RayServices(v, at) => {
                self.k8s.services = v;
                synced(&mut self.k8s, "rayservices", at);
            }
            KubeUpdate::Pods(v, at) => {
                self.k8s.pods = v;
                synced(&mut self.k8s, "pods", at);
            }
            KubeUpdate::Events(v, at) => {
                self.k8s.events = v;
                synced(&mut self.k8s, "events", at);
            }
            KubeUpdate::Nodes(v, at) => {
                self.k8s.nodes = v;
                synced(&mut self.k8s, "nodes", at);
            }
            KubeUpdate::Failed { kind, error, forbidden } => {
                let e = self.k8s.kinds.entry(kind.to_string()).or_default();
                e.error = Some(error);
                e.forbidden = forbidden;
            }
        }
        self.refresh_pod_joins();
    }

    /// Re-joins pods with the Ray nodes of every dashboard known, and hands each dashboard the GPU
    /// requests of its RayCluster's pods (same name) for the GPU view.
    pub fn refresh_pod_joins(&mut self) {
        let join = ray_node_index(&self.clusters);
        self.k8s.rebuild(&join);
        for c in &mut self.clusters {
            let requests = self.k8s.clusters.iter().find(|k| k.name == c.name).map(|k| {
                k.groups.iter().flat_map(|g| &g.pods).map(|p| (p.pod.name.clone(), p.pod.gpu_requests)).collect()
            });
            c.set_pod_gpu_requests(requests);
        }
    }
}

/// Ray nodes by pod name (`instanceId`) and, where unique, by IP: how a pod finds its Ray node.
pub fn ray_node_index(clusters: &[ClusterState]) -> std::collections::BTreeMap<String, crate::model::k8s::RayNodeRef> {
    use crate::model::resources::fmt_amount;
    let mut out = std::collections::BTreeMap::new();
    let mut ips: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for n in clusters.iter().flat_map(|c| &c.groups).flat_map(|g| &g.nodes) {
        *ips.entry(n.ip.clone()).or_default() += 1;
    }
    for n in clusters.iter().flat_map(|c| &c.groups).flat_map(|g| &g.nodes) {
        let r = crate::model::k8s::RayNodeRef {
            node_id: n.node_id.clone(),
            state: if n.alive { "ALIVE".into() } else { "DEAD".into() },
            cpu: format!("{}/{}", fmt_amount(n.cpu.used), fmt_amount(n.cpu.total)),
            gpu: format!("{}/{}", fmt_amount(n.gpu.used), fmt_amount(n.gpu.total)),
        };
        if !n.instance_id.is_empty() {
            out.insert(n.instance_id.clone(), r.clone());
        }
        if ips.get(&n.ip) == Some(&1) {
            out.insert(format!("ip:{}", n.ip), r);
        }
    }
    out
}
