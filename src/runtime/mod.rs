//! The runtime: owns the sources and starts or stops them as the app asks. It holds one
//! Kubernetes client per context (shared by the watchers and the dashboard proxy) and the one
//! dashboard poller the screen needs; a dashboard no view shows is not polled at all.

use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};

use crate::action::audit::Audit;
use crate::action::exec::Executor;
use crate::action::{Action, FieldChange, Outcome};
use crate::app::Effect;
use crate::msg::{DashKey, DashUpdate, Interest, Msg};
use crate::source::dashboard::{DashboardClient, Endpoint, FetchError, poller};
use crate::source::kube::{KubeClients, Target};
use crate::source::prometheus::PromSource;
use crate::wire::k8s::DashboardRoute;

mod tasks;

use tasks::{SourceId, Tasks};

pub struct Runtime {
    tx: mpsc::Sender<Msg>,
    refresh: Duration,
    timeout: Duration,
    clients: KubeClients,
    /// Dashboards given by address, with their clients (token resolved at launch).
    direct: Vec<(DashKey, DashboardClient)>,
    /// Every running source, by id; what each one was started for is kept beside it below.
    tasks: Tasks,
    /// What the Kubernetes source watches; the Events watcher follows it.
    kube_target: Option<Target>,
    /// Whether a view shows events, so the Events watcher should run.
    events_wanted: bool,
    /// Where Prometheus is (`--prometheus`, `--prometheus-service`, `:prom`), and the window and
    /// topic the History source was started for.
    prom_source: Option<PromSource>,
    history: Option<(u64, crate::msg::HistoryTopic)>,
    /// The dashboard the Dashboard source polls, and how to tell it what the screen needs.
    dashboard: Option<(DashKey, watch::Sender<Interest>)>,
    /// The RayCluster whose head pod the HeadTune source reads (while a view shows trials).
    head_tune: Option<DashKey>,
    /// Whether a view shows trials: the `--tune-dir` source lists cloud storage only then.
    tune_shown: watch::Sender<bool>,
    /// Bumped by "refresh now", carried over when the poller changes.
    refresh_seq: u32,
    /// Runs actions; `None` with --readonly, so nothing can be sent.
    executor: Option<Executor>,
}

impl Runtime {
    pub fn new(tx: mpsc::Sender<Msg>, refresh: Duration, timeout: Duration) -> Runtime {
        Runtime {
            tx,
            refresh,
            timeout,
            clients: KubeClients::default(),
            direct: Vec::new(),
            tasks: Tasks::default(),
            kube_target: None,
            events_wanted: false,
            prom_source: None,
            history: None,
            dashboard: None,
            head_tune: None,
            tune_shown: watch::Sender::new(false),
            refresh_seq: 0,
            executor: None,
        }
    }

    /// Lets the runtime send actions, writing the audit log in `state_dir`.
    pub fn allow_actions(&mut self, state_dir: &std::path::Path) {
        self.executor = Some(Executor {
            clients: self.clients.clone(),
            audit: Audit::in_dir(state_dir),
            direct: self.direct.clone(),
            timeout: self.timeout,
        });
    }

    /// A dashboard reached by its address.
    pub fn add_direct(&mut self, key: DashKey, client: DashboardClient) {
        self.direct.push((key, client));
    }

    /// Where history comes from; queried only while a view shows history.
    pub fn set_prometheus(&mut self, source: PromSource) {
        self.prom_source = Some(source);
        // A new source: the querier of the old one stops; the next Poll starts one.
        self.tasks.stop(SourceId::History);
        self.history = None;
    }

    /// Runs the Prometheus querier for a topic over `window_s`, replacing one for another topic
    /// or window; none when the view shows no history.
    fn query_history(&mut self, topic: Option<crate::msg::HistoryTopic>, window_s: u64) {
        let want = topic.filter(|_| window_s > 0);
        let running = self.history.filter(|_| self.tasks.is_running(SourceId::History));
        if running.is_some_and(|(w, tp)| Some(tp) == want && w == window_s) {
            return;
        }
        self.tasks.stop(SourceId::History);
        self.history = None;
        if let (Some(source), Some(topic)) = (&self.prom_source, want) {
            let task = crate::source::prometheus::run(
                source.clone(),
                self.clients.clone(),
                self.timeout,
                topic,
                window_s,
                self.tx.clone(),
            );
            self.tasks.start(SourceId::History, task);
            self.history = Some((window_s, topic));
        }
    }

    pub fn start_tune(&mut self, dirs: Vec<std::path::PathBuf>) {
        let shown = Some(self.tune_shown.subscribe());
        let task = crate::source::tune::run(dirs, None, shown, self.refresh, Msg::Tune, self.tx.clone());
        self.tasks.start(SourceId::Tune, task);
    }

    /// Watches a context and namespace, replacing what was watched before.
    pub fn watch_kube(&mut self, target: Target) {
        let task = crate::source::kube::run(target.clone(), self.clients.clone(), self.tx.clone());
        self.tasks.start(SourceId::Kube, task);
        self.kube_target = Some(target);
        // The Events watcher follows the new target.
        self.tasks.stop(SourceId::Events);
        self.watch_events();
    }

    /// Starts or stops the Events watcher of the current target, as `events_wanted` says.
    fn watch_events(&mut self) {
        // One that ended on its own (a watch it could not start) waits for a new target.
        match (self.tasks.has(SourceId::Events), &self.kube_target, self.events_wanted) {
            (false, Some(target), true) => {
                let task = crate::source::kube::run_events(target.clone(), self.clients.clone(), self.tx.clone());
                self.tasks.start(SourceId::Events, task);
            }
            (true, _, false) => {
                self.tasks.stop(SourceId::Events);
            }
            _ => {}
        }
    }

    /// Carries out an effect. Returns false when the app should end.
    pub fn apply(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::Kube(target) => self.watch_kube(target),
            Effect::RefreshNow => {
                self.refresh_seq = self.refresh_seq.wrapping_add(1);
                if let Some((_, interest)) = &self.dashboard {
                    interest.send_modify(|i| i.refresh_seq = self.refresh_seq);
                }
            }
            Effect::Poll { dashboard, interest } => self.poll(dashboard, interest),
            Effect::Act { id, action, planned } => self.act(id, *action, planned),
            Effect::Prometheus(source) => self.set_prometheus(source),
            Effect::FindPrometheus { context, namespace } => {
                let (clients, tx) = (self.clients.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let found = crate::source::prometheus::find_services(&clients, context, namespace).await;
                    let _ = tx.send(Msg::PromFound(found)).await;
                });
            }
            Effect::OpenLog { id, spec, reading } => self.open_log(id, spec, reading),
            Effect::ListLogFiles { dashboard, node_id } => {
                let (tx, clients, timeout, direct) =
                    (self.tx.clone(), self.clients.clone(), self.timeout, self.direct.clone());
                tokio::spawn(async move {
                    let files = match dashboard_client(&dashboard, &direct, &clients, timeout).await {
                        Some(client) => list_node_files(&client, &node_id).await,
                        None => Err("this dashboard is not known to the runtime".into()),
                    };
                    let _ = tx.send(Msg::LogFiles { dashboard, node_id, files }).await;
                });
            }
            Effect::CloseLog => {
                self.tasks.stop(SourceId::Log);
            }
            Effect::SaveLog { id, name, lines } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result = save_lines(&crate::config::state_dir().join("logs"), &name, &lines);
                    let _ = tx.blocking_send(Msg::LogSaved { id, result });
                });
            }
            Effect::CheckAccess(cluster) => {
                let (clients, tx) = (self.clients.clone(), self.tx.clone());
                tokio::spawn(async move {
                    let Ok(c) = clients.get(cluster.context.as_deref()).await else { return };
                    let (allowed, reason) =
                        crate::source::kube::access::can_i(&c.client, "patch", &cluster.namespace, &cluster.name).await;
                    let _ = tx.send(Msg::Access { cluster, allowed, reason }).await;
                });
            }
        }
        true
    }

    /// Starts the log source of pane opening `id`, stopping the one before. A Ray log goes
    /// through the dashboard's own client (its token, or the API server's proxy with the
    /// cluster's Secret); a pod's through the context's Kubernetes client.
    fn open_log(&mut self, id: u64, spec: crate::source::logs::LogSpec, reading: crate::source::logs::Reading) {
        use crate::source::logs::{LogSpec, open_pod, open_ray, read};
        let (tx, clients, timeout) = (self.tx.clone(), self.clients.clone(), self.timeout);
        let direct = self.direct.clone();
        let task = async move {
            let (etx, mut erx) = mpsc::channel(64);
            let forward = async {
                while let Some(event) = erx.recv().await {
                    if tx.send(Msg::Log { id, event }).await.is_err() {
                        break;
                    }
                }
            };
            let reader = async move {
                match spec {
                    LogSpec::Ray { dashboard, target } => {
                        let Some(client) = dashboard_client(&dashboard, &direct, &clients, timeout).await else {
                            let error = Some("this dashboard is not known to the runtime".to_string());
                            let _ = etx.send(crate::msg::LogEvent::Ended { error }).await;
                            return;
                        };
                        let open = |tail| {
                            let (client, target) = (client.clone(), target.clone());
                            async move { open_ray(&client, &target, tail, reading.follow).await }
                        };
                        read(open, reading, etx).await;
                    }
                    LogSpec::Pod { context, log } => {
                        let client = match clients.get(context.as_deref()).await {
                            Ok(c) => c.client,
                            Err(e) => {
                                let _ = etx.send(crate::msg::LogEvent::Ended { error: Some(e) }).await;
                                return;
                            }
                        };
                        let open = |tail| {
                            let (client, log) = (client.clone(), log.clone());
                            async move { open_pod(client, &log, tail).await }
                        };
                        read(open, reading, etx).await;
                    }
                }
            };
            tokio::join!(reader, forward);
        };
        self.tasks.start(SourceId::Log, task);
    }

    fn act(&self, id: String, action: Action, planned: Vec<FieldChange>) {
        let tx = self.tx.clone();
        let Some(executor) = self.executor.clone() else {
            let outcome = Outcome { ok: false, message: "--readonly: nothing was sent".into(), changes: Vec::new() };
            tokio::spawn(async move {
                let _ = tx.send(Msg::ActionDone { id, outcome }).await;
            });
            return;
        };
        tokio::spawn(async move {
            let outcome = executor.run(&id, &action, &planned).await;
            let _ = tx.send(Msg::ActionDone { id, outcome }).await;
        });
    }

    fn poll(&mut self, dashboard: Option<DashKey>, interest: Interest) {
        self.events_wanted = interest.kube_events;
        self.watch_events();
        self.query_history(interest.history, interest.history_window_s);
        self.read_head_tune(dashboard.as_ref().filter(|_| interest.tune));
        // Read by the source at each pass: no one waits on a change.
        self.tune_shown.send_replace(interest.tune);
        let want = Interest { refresh_seq: self.refresh_seq, ..interest };
        let polling = self.tasks.is_running(SourceId::Dashboard);
        match (&self.dashboard, dashboard) {
            // The same dashboard, still polled (a poller ends only when it could not start).
            (Some((key, sender)), Some(asked)) if *key == asked && polling => {
                sender.send_if_modified(|cur| {
                    let changed = *cur != want;
                    *cur = want;
                    changed
                });
            }
            (_, asked) => {
                self.tasks.stop(SourceId::Dashboard);
                self.dashboard = None;
                if let Some(key) = asked {
                    self.start_poller(key, want);
                }
            }
        }
    }

    /// Reads the Tune experiments on the head pod of the RayCluster on screen (a dashboard
    /// reached through the API server), while a view shows trials; one given by address has its
    /// `--tune-dir` instead.
    fn read_head_tune(&mut self, dashboard: Option<&DashKey>) {
        let want = dashboard.filter(|k| matches!(k, DashKey::Proxied { .. })).cloned();
        if want == self.head_tune {
            return;
        }
        self.tasks.stop(SourceId::HeadTune);
        self.head_tune = want.clone();
        let Some(key) = want else { return };
        let DashKey::Proxied { context, route } = key.clone() else { return };
        let (clients, tx, refresh) = (self.clients.clone(), self.tx.clone(), self.refresh);
        let task = async move {
            let wrap = move |update| Msg::HeadTune { dashboard: key.clone(), update };
            let label = crate::source::tune_head::label(&route.namespace, &route.cluster);
            let problem = |error| crate::msg::TuneUpdate::Problem { path: label.clone().into(), error };
            let client = match clients.get(context.as_deref()).await {
                Ok(c) => c.client,
                Err(e) => {
                    let _ = tx.send(wrap(problem(e))).await;
                    return;
                }
            };
            let connect =
                crate::source::tune_head::exec_connector(client, route.namespace.clone(), route.cluster.clone());
            let parts = [route.namespace.as_str(), route.cluster.as_str()];
            match crate::source::tune_head::HeadMirror::new(label.clone(), &crate::config::state_dir(), &parts, connect)
            {
                Ok(head) => crate::source::tune::run(Vec::new(), Some(head), None, refresh, wrap, tx).await,
                Err(e) => {
                    let _ = tx.send(wrap(problem(e))).await;
                }
            }
        };
        self.tasks.start(SourceId::HeadTune, task);
    }

    fn start_poller(&mut self, key: DashKey, interest: Interest) {
        let (itx, irx) = watch::channel(interest);
        let (refresh, tx) = (self.refresh, self.tx.clone());
        match &key {
            DashKey::Url(_) => {
                let Some((_, client)) = self.direct.iter().find(|(k, _)| *k == key) else { return };
                self.tasks.start(SourceId::Dashboard, poller::run(client.clone(), key.clone(), refresh, irx, tx));
            }
            DashKey::Proxied { context, route } => {
                let task = proxied(
                    self.clients.clone(),
                    context.clone(),
                    route.clone(),
                    key.clone(),
                    (refresh, self.timeout),
                    irx,
                    tx,
                );
                self.tasks.start(SourceId::Dashboard, task);
            }
        }
        tracing::debug!(?key, "polling dashboard");
        self.dashboard = Some((key, itx));
    }
}

/// The client of a dashboard: the one given by address, or one through the API server's proxy
/// (with the cluster's token), made for this use.
async fn dashboard_client(
    key: &DashKey,
    direct: &[(DashKey, DashboardClient)],
    clients: &KubeClients,
    timeout: Duration,
) -> Option<DashboardClient> {
    match key {
        DashKey::Url(_) => direct.iter().find(|(k, _)| k == key).map(|(_, c)| c.clone()),
        DashKey::Proxied { context, route } => match clients.get(context.as_deref()).await {
            Ok(c) => Some(crate::source::kube::proxied_client(c.client, route, timeout).await),
            Err(e) => Some(DashboardClient::refused(e)),
        },
    }
}

async fn list_node_files(client: &DashboardClient, node_id: &str) -> Result<Vec<String>, String> {
    use crate::source::dashboard::logs::{NodeRef, list_path, parse_list};
    let path = list_path(&NodeRef::Id(node_id.to_string()), None);
    let answer = client.json(http::Method::GET, &path, None).await.map_err(|e| e.to_string())?;
    parse_list(&answer)
}

/// Writes a pane's lines to `dir/name`, readable by the user alone (they can hold secrets).
fn save_lines(dir: &std::path::Path, name: &str, lines: &[String]) -> Result<std::path::PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for l in lines {
        writeln!(out, "{l}").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    out.flush().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Polls one RayCluster's dashboard through the API server's service proxy, with the Ray token
/// from the cluster's Secret when token auth is on. A missing kubeconfig or Secret is reported as
/// the dashboard's error; polling still starts, so the view says what is wrong and recovers when
/// the dashboard answers.
async fn proxied(
    clients: KubeClients,
    context: Option<String>,
    route: DashboardRoute,
    key: DashKey,
    (refresh, timeout): (Duration, Duration),
    interest: watch::Receiver<Interest>,
    tx: mpsc::Sender<Msg>,
) {
    let client = match clients.get(context.as_deref()).await {
        Ok(c) => c.client,
        Err(e) => {
            let update = DashUpdate::Failed {
                endpoint: Endpoint::Version,
                at: SystemTime::now(),
                error: FetchError::Unreachable(e),
            };
            let _ = tx.send(Msg::Dash { key, update }).await;
            return;
        }
    };
    let dash = crate::source::kube::proxied_client(client, &route, timeout).await;
    poller::run(dash, key, refresh, interest, tx).await;
}
