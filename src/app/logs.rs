//! The log pane from the app's side: `l` on a row opens the log it names, the pane's keys move
//! and search it, the log source's events fill it. Opening and closing are effects (the runtime
//! starts and stops the one log source); nothing here reads a log.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::config::Command;
use crate::log_pane::LogPane;
use crate::msg::LogEvent;
use crate::rows::Row;
use crate::source::dashboard::logs::{NodeRef, RayLog, short};
use crate::source::kube::logs::PodLog;
use crate::source::logs::{LogSpec, Reading};
use crate::state::{App, LogChoice, Overlay};

use super::Effect;

/// Why `l` on a row does not open one log at once.
enum Choice {
    /// A node: its files are listed first.
    Files { dashboard: crate::msg::DashKey, node_id: String },
    /// Several logs: the user picks one.
    List(LogChoice),
    /// None: why.
    Nothing(String),
}

impl From<&str> for Box<Choice> {
    fn from(s: &str) -> Box<Choice> {
        Box::new(Choice::Nothing(s.to_string()))
    }
}

impl From<String> for Box<Choice> {
    fn from(s: String) -> Box<Choice> {
        Box::new(Choice::Nothing(s))
    }
}

/// Where a node's file comes in the chooser: raylet, GCS, dashboard, autoscaler monitor, the
/// other daemons, then the workers' output, then the core workers' own logs.
fn file_rank(name: &str) -> u8 {
    const FIRST: [&str; 9] = [
        "raylet.out",
        "raylet.err",
        "gcs_server.out",
        "gcs_server.err",
        "dashboard.log",
        "dashboard_agent.log",
        "monitor.log",
        "monitor.out",
        "monitor.err",
    ];
    if let Some(i) = FIRST.iter().position(|f| *f == name) {
        return i as u8;
    }
    if name.starts_with("worker-") {
        20
    } else if name.starts_with("python-core-") {
        30
    } else {
        10
    }
}

/// The lines a pane asks for first: the log's end, then what is written after.
pub const PANE_TAIL: i64 = 1000;

impl App {
    /// `l`: the log of the selected row, or a toast saying why there is none.
    pub(super) fn open_selected_log(&mut self) -> Vec<Effect> {
        match self.selected_log().map_err(|c| *c) {
            Ok(spec) => self.open_log(spec),
            Err(Choice::Files { dashboard, node_id }) => {
                self.toast = Some(format!("listing the log files of node {}…", short(&node_id)));
                vec![Effect::ListLogFiles { dashboard, node_id }]
            }
            Err(Choice::List(choice)) => {
                self.overlay = Overlay::ChooseLog(choice);
                Vec::new()
            }
            Err(Choice::Nothing(why)) => {
                self.toast = Some(why);
                Vec::new()
            }
        }
    }

    /// The replicas of application `a` (of deployment `d` only, when given), live then recently
    /// dead, to choose one's log.
    fn replica_choice(&self, a: usize, d: Option<usize>) -> Result<LogChoice, Box<Choice>> {
        let c = self.cluster().ok_or("no dashboard on screen")?;
        let app = c.serve.applications.get(a).ok_or("the application is gone")?;
        let mut items = Vec::new();
        for (_, dep) in app.deployments.iter().enumerate().filter(|(i, _)| d.is_none_or(|want| want == *i)) {
            for r in dep.replicas.iter().chain(&dep.recent_dead) {
                let label = format!("{}/{}/{}  {}  {}", app.name, dep.name, r.replica_id, r.state, r.node_ip);
                let target = RayLog::Actor { actor_id: r.actor_id.clone(), err: false };
                items.push((label, LogSpec::Ray { dashboard: c.key.clone(), target }));
            }
        }
        if items.is_empty() {
            return Err(format!("{} has no replica to read", app.name).into());
        }
        let title = match d.and_then(|d| app.deployments.get(d)) {
            Some(dep) => format!("log of which replica of {}/{}", app.name, dep.name),
            None => format!("log of which replica of {}", app.name),
        };
        Ok(LogChoice { title, items, selected: 0 })
    }

    /// The logs of Train run `r`: its driver's (when it was submitted), then each worker's
    /// output and Ray Train's own log of that worker, rank by rank.
    fn train_choice(&self, r: usize) -> Result<LogChoice, Box<Choice>> {
        let c = self.cluster().ok_or("no dashboard on screen")?;
        let run = c.train.runs.get(r).ok_or("the Train run is gone")?;
        let spec = |target| LogSpec::Ray { dashboard: c.key.clone(), target };
        let mut items = Vec::new();
        let job = c.jobs.iter().find(|j| j.id == run.job && j.kind == "SUBMISSION");
        if let Some(node) = job.and_then(|j| j.driver_node_id.clone()) {
            let target = RayLog::Submission { submission_id: run.job.clone(), node_id: node };
            items.push((format!("driver of job {}", run.job), spec(target)));
        }
        if let Some(a) = run.shown_attempt() {
            for w in &run.attempts[a].workers {
                let rank = w.world_rank;
                let target = RayLog::Actor { actor_id: w.actor_id.clone(), err: false };
                items.push((format!("rank {rank}  output  {}  {}", w.status, w.node_ip), spec(target)));
                // Train's structured log: a path under the node's log folder.
                let file = w.log_file_path.as_deref().and_then(|p| p.split_once("/logs/")).map(|(_, f)| f);
                if let Some(file) = file {
                    let target = RayLog::File { node: NodeRef::Id(w.node_id.clone()), filename: file.to_string() };
                    items.push((format!("rank {rank}  Train log  {file}"), spec(target)));
                }
            }
        }
        if items.is_empty() {
            return Err(format!("Train run {} has no worker or driver log yet", run.name).into());
        }
        Ok(LogChoice { title: format!("log of Train run {}", run.name), items, selected: 0 })
    }

    /// A node's files came: the chooser, on raylet.out when there is one.
    pub(super) fn on_log_files(
        &mut self,
        dashboard: crate::msg::DashKey,
        node_id: String,
        files: Result<Vec<String>, String>,
    ) -> bool {
        match files {
            Ok(mut files) if !files.is_empty() => {
                // The daemons' own logs first (a node lists hundreds of worker files).
                files.sort_by_key(|f| (file_rank(f), f.clone()));
                let selected = 0;
                let items = files
                    .into_iter()
                    .map(|f| {
                        let target = RayLog::File { node: NodeRef::Id(node_id.clone()), filename: f.clone() };
                        (f, LogSpec::Ray { dashboard: dashboard.clone(), target })
                    })
                    .collect();
                let title = format!("log file of node {}", short(&node_id));
                self.toast = None;
                self.overlay = Overlay::ChooseLog(LogChoice { title, items, selected });
            }
            Ok(_) => self.toast = Some(format!("node {} lists no log files", short(&node_id))),
            Err(e) => self.toast = Some(format!("node {}: {e}", short(&node_id))),
        }
        true
    }

    /// Opens the pane on `spec`, replacing one open before (its stream stops).
    pub fn open_log(&mut self, spec: LogSpec) -> Vec<Effect> {
        self.next_log += 1;
        let id = self.next_log;
        let reopen_on_end = matches!(spec, LogSpec::Ray { .. });
        let quiet_recheck = reopen_on_end.then_some(crate::source::logs::QUIET_RECHECK);
        // A previous container has ended: nothing to follow.
        let follow = !matches!(&spec, LogSpec::Pod { log, .. } if log.previous);
        let reading = Reading { tail: Some(PANE_TAIL), follow, reopen_on_end, quiet_recheck };
        let mut pane = LogPane::new(id, spec.clone(), std::time::SystemTime::now());
        pane.tail = reading.tail;
        self.log = Some(pane);
        vec![Effect::OpenLog { id, spec, reading }]
    }

    fn selected_log(&self) -> Result<LogSpec, Box<Choice>> {
        let row = self.rows.get(self.selected()).ok_or("no row selected")?;
        if let Row::K8sPod { c, g, p } = row {
            let pod = self
                .k8s
                .clusters
                .get(*c)
                .and_then(|cl| cl.groups.get(*g))
                .and_then(|gr| gr.pods.get(*p))
                .ok_or("the pod is gone")?;
            let log = PodLog {
                namespace: pod.pod.namespace.clone(),
                pod: pod.pod.name.clone(),
                follow: true,
                ..PodLog::default()
            };
            let context = self.kube_context();
            if pod.pod.containers.len() > 1 {
                // KubeRay's head with the autoscaler's sidecar: which container, Ray's first.
                let items = pod
                    .pod
                    .containers
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let label =
                            if i == 0 { format!("{name}  (the first: Ray's on KubeRay)") } else { name.clone() };
                        let log = PodLog { container: Some(name.clone()), ..log.clone() };
                        (label, LogSpec::Pod { context: context.clone(), log })
                    })
                    .collect();
                let title = format!("log of which container of {}", pod.pod.name);
                return Err(Box::new(Choice::List(LogChoice { title, items, selected: 0 })));
            }
            return Ok(LogSpec::Pod { context, log });
        }
        if let Row::RayJob { j } = row {
            // A RayJob's submitter: the Kubernetes Job of its name, as KubeRay creates it.
            let job = self.k8s.jobs.get(*j).ok_or("the RayJob is gone")?;
            let log = PodLog {
                namespace: job.namespace.clone(),
                pod: format!("job/{}", job.name),
                follow: true,
                ..PodLog::default()
            };
            return Ok(LogSpec::Pod { context: self.kube_context(), log });
        }
        let c = self.cluster().ok_or("no dashboard on screen")?;
        let ray = |target| Ok(LogSpec::Ray { dashboard: c.key.clone(), target });
        match row {
            Row::Replica { a, d, r } => {
                let rep =
                    c.serve.applications.get(*a).and_then(|x| x.deployments.get(*d)).and_then(|x| x.replicas.get(*r));
                let rep = rep.ok_or("the replica is gone")?;
                ray(RayLog::Actor { actor_id: rep.actor_id.clone(), err: false })
            }
            Row::Deployment { a, d } => Err(Box::new(Choice::List(self.replica_choice(*a, Some(*d))?))),
            Row::App { a, .. } => Err(Box::new(Choice::List(self.replica_choice(*a, None)?))),
            Row::Trial { e, t, .. } => {
                let tr = c.tune.experiments.get(*e).and_then(|x| x.trials.get(*t)).ok_or("the trial is gone")?;
                match (tr.pid, tr.node_ip.clone()) {
                    (Some(pid), Some(ip)) => ray(RayLog::Pid { node: NodeRef::Ip(ip), pid, err: false }),
                    _ => {
                        Err(format!("trial {} has reported no result yet: its process is unknown", tr.trial_id).into())
                    }
                }
            }
            Row::DashJob { j } => {
                let job = c.jobs.get(*j).ok_or("the job is gone")?;
                match &job.driver_node_id {
                    Some(node) if job.kind == "SUBMISSION" => {
                        ray(RayLog::Submission { submission_id: job.id.clone(), node_id: node.clone() })
                    }
                    _ => Err(format!("job {}: Ray keeps a driver log only for submitted jobs", job.id).into()),
                }
            }
            Row::TrainWorker { r, a, w } => {
                let run = c.train.runs.get(*r).ok_or("the Train run is gone")?;
                let worker = run.attempts.get(*a).and_then(|x| x.workers.get(*w)).ok_or("the worker is gone")?;
                ray(RayLog::Actor { actor_id: worker.actor_id.clone(), err: false })
            }
            Row::TrainRun { r } => Err(Box::new(Choice::List(self.train_choice(*r)?))),
            Row::Node { g, n } => {
                let node = c.groups.get(*g).and_then(|x| x.nodes.get(*n)).ok_or("the node is gone")?;
                Err(Box::new(Choice::Files { dashboard: c.key.clone(), node_id: node.node_id.clone() }))
            }
            Row::GpuHolder { n, h } => {
                let holder = c.gpus.nodes.get(*n).and_then(|x| x.holders.get(*h)).ok_or("the GPU holder is gone")?;
                // Whatever holds the GPU (a trial, a replica, an actor) is an actor: its output.
                if holder.actor_id.is_empty() {
                    return Err(format!("{} {}: no actor id to read the log of", holder.kind, holder.name).into());
                }
                ray(RayLog::Actor { actor_id: holder.actor_id.clone(), err: false })
            }
            _ => Err("no log for this row: choose a trial, replica, job, Train run, node or pod".into()),
        }
    }

    /// A key while the pane is open.
    pub(super) fn on_log_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let Some(pane) = self.log.as_mut() else { return Vec::new() };
        if let Some(input) = pane.typing.as_mut() {
            match key.code {
                KeyCode::Esc => pane.typing = None,
                KeyCode::Enter => {
                    let needle = input.value().to_string();
                    pane.typing = None;
                    pane.search_for(needle);
                }
                _ => {
                    input.handle_event(&TermEvent::Key(*key));
                }
            }
            return Vec::new();
        }
        let Some(cmd) = self.keymap.resolve_log(key) else { return Vec::new() };
        pane.note = None;
        match cmd {
            Command::LogClose => {
                self.log = None;
                return vec![Effect::CloseLog];
            }
            Command::LogFollow => pane.toggle_follow(),
            Command::LogStream => {
                let other = match &pane.spec {
                    LogSpec::Ray { dashboard, target: RayLog::Actor { actor_id, err } } => Some(LogSpec::Ray {
                        dashboard: dashboard.clone(),
                        target: RayLog::Actor { actor_id: actor_id.clone(), err: !err },
                    }),
                    LogSpec::Ray { dashboard, target: RayLog::Pid { node, pid, err } } => Some(LogSpec::Ray {
                        dashboard: dashboard.clone(),
                        target: RayLog::Pid { node: node.clone(), pid: *pid, err: !err },
                    }),
                    _ => None,
                };
                match other {
                    Some(spec) => return self.open_log(spec),
                    None => pane.note = Some("only a worker's log has a stdout and a stderr".into()),
                }
            }
            Command::LogPrevious => match &pane.spec {
                // The container before its last restart, or back to the current one; the
                // previous one has ended, so its log is read whole and not followed.
                LogSpec::Pod { context, log } => {
                    let previous = !log.previous;
                    let spec = LogSpec::Pod {
                        context: context.clone(),
                        log: PodLog { previous, follow: !previous, ..log.clone() },
                    };
                    return self.open_log(spec);
                }
                LogSpec::Ray { .. } => pane.note = Some("only a pod's container has a previous instance".into()),
            },
            Command::LogWrap => pane.wrap = !pane.wrap,
            Command::LogSearch => pane.typing = Some(Input::new(pane.search.clone().unwrap_or_default())),
            Command::LogNextMatch => pane.next_match(true),
            Command::LogPrevMatch => pane.next_match(false),
            Command::LogFirstError => pane.first_error(),
            Command::LogSave => {
                let name = pane.save_name(std::time::SystemTime::now());
                let lines = pane.lines.iter().map(str::to_string).collect();
                return vec![Effect::SaveLog { id: pane.id, name, lines }];
            }
            Command::Up => pane.scroll(-1),
            Command::Down => pane.scroll(1),
            Command::PageUp => pane.scroll(-20),
            Command::PageDown => pane.scroll(20),
            Command::Top => pane.to_top(),
            Command::Bottom => pane.to_end(),
            Command::Help => self.overlay = crate::state::Overlay::Help,
            Command::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            _ => {}
        }
        Vec::new()
    }

    /// An event of the log source of opening `id`; one of a pane closed since is dropped.
    pub(super) fn on_log_event(&mut self, id: u64, event: LogEvent) -> bool {
        match self.log.as_mut() {
            Some(p) if p.id == id => p.apply(event, std::time::SystemTime::now()),
            _ => false,
        }
    }

    pub(super) fn on_log_saved(&mut self, id: u64, result: Result<std::path::PathBuf, String>) -> bool {
        match self.log.as_mut() {
            Some(p) if p.id == id => {
                p.saved = Some(result);
                true
            }
            _ => false,
        }
    }
}
