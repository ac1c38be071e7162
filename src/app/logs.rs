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
use crate::source::dashboard::logs::{NodeRef, RayLog};
use crate::source::kube::logs::PodLog;
use crate::source::logs::{LogSpec, Reading};
use crate::state::App;

use super::Effect;

/// The lines a pane asks for first: the log's end, then what is written after.
pub const PANE_TAIL: i64 = 1000;

impl App {
    /// `l`: the log of the selected row, or a toast saying why there is none.
    pub(super) fn open_selected_log(&mut self) -> Vec<Effect> {
        match self.selected_log() {
            Ok(spec) => self.open_log(spec),
            Err(why) => {
                self.toast = Some(why);
                Vec::new()
            }
        }
    }

    /// Opens the pane on `spec`, replacing one open before (its stream stops).
    pub fn open_log(&mut self, spec: LogSpec) -> Vec<Effect> {
        self.next_log += 1;
        let id = self.next_log;
        let reopen_on_end = matches!(spec, LogSpec::Ray { .. });
        let reading = Reading { tail: Some(PANE_TAIL), follow: true, reopen_on_end };
        self.log = Some(LogPane::new(id, spec.clone(), std::time::SystemTime::now()));
        vec![Effect::OpenLog { id, spec, reading }]
    }

    fn selected_log(&self) -> Result<LogSpec, String> {
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
            Row::Deployment { a, d } => {
                let dep =
                    c.serve.applications.get(*a).and_then(|x| x.deployments.get(*d)).ok_or("the deployment is gone")?;
                let rep = dep.replicas.first().ok_or_else(|| format!("{} has no replica running", dep.name))?;
                ray(RayLog::Actor { actor_id: rep.actor_id.clone(), err: false })
            }
            Row::App { .. } => Err("choose a deployment or a replica to read its log".into()),
            Row::Trial { e, t, .. } => {
                let tr = c.tune.experiments.get(*e).and_then(|x| x.trials.get(*t)).ok_or("the trial is gone")?;
                match (tr.pid, tr.node_ip.clone()) {
                    (Some(pid), Some(ip)) => ray(RayLog::Pid { node: NodeRef::Ip(ip), pid, err: false }),
                    _ => Err(format!("trial {} has reported no result yet: its process is unknown", tr.trial_id)),
                }
            }
            Row::DashJob { j } => {
                let job = c.jobs.get(*j).ok_or("the job is gone")?;
                match &job.driver_node_id {
                    Some(node) if job.kind == "SUBMISSION" => {
                        ray(RayLog::Submission { submission_id: job.id.clone(), node_id: node.clone() })
                    }
                    _ => Err(format!("job {}: Ray keeps a driver log only for submitted jobs", job.id)),
                }
            }
            Row::Node { g, n } => {
                let node = c.groups.get(*g).and_then(|x| x.nodes.get(*n)).ok_or("the node is gone")?;
                ray(RayLog::File { node: NodeRef::Id(node.node_id.clone()), filename: "raylet.out".into() })
            }
            _ => Err("no log for this row: choose a trial, replica, job, node or pod".into()),
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
