//! The update function: keys and source messages in, effects out. It changes the state held in
//! `state.rs` and nothing else; no I/O here, so tests drive it with key events and fixture data.
//! What an action key leads to (a confirmation, then an effect) is in `actions.rs`.

mod actions;
mod keys;
mod logs;
mod messages;
mod palette;

use tui_input::Input;

use crate::action::ScaleChange;
use crate::config::{Command, Keymap, Theme};
use crate::model::Dashboard;
use crate::msg::{ClusterRef, DashKey};
use crate::rows::{self, Row};
use crate::slice::slice;
use crate::state::{App, AskFor, Overlay, TUNE_STATUSES};
use crate::view::{TuneUi, View};

pub use crate::effect::Effect;

/// What folding a message did.
#[derive(Debug, Default)]
pub struct Update {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

impl App {
    pub fn new(dashboards: Vec<Dashboard>, keymap: Keymap, theme: Theme, warnings: Vec<String>) -> Self {
        let mut app = App {
            dashboards,
            current: 0,
            view: View::Cluster,
            overlay: Overlay::None,
            filters: Default::default(),
            selected: Default::default(),
            k8s: crate::model::k8s::K8s::default(),
            k8s_expanded: Default::default(),
            kube_target: None,
            tune: TuneUi::default(),
            run_detail: false,
            show_dead: false,
            folded: Default::default(),
            keymap,
            theme,
            warnings,
            toast: None,
            rows: Vec::new(),
            quit: false,
            readonly: false,
            history: None,
            access: Default::default(),
            in_flight: Default::default(),
            next_action: 1,
            cancelled: Default::default(),
            log: None,
            next_log: 0,
        };
        app.rebuild_rows();
        app
    }

    /// What the loop must poll now: the dashboard on screen, for the view on screen.
    pub fn poll_effect(&self) -> Effect {
        let mut interest = slice(self.view).interest;
        interest.history_window_s = match &self.history {
            Some(h) if interest.history.is_some() => h.window_s,
            _ => 0,
        };
        Effect::Poll { dashboard: self.cluster().map(|c| c.key.clone()), interest }
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
            Command::NextView => return self.switch(self.view.next()),
            Command::PrevView => return self.switch(self.view.prev()),
            Command::ViewCluster => return self.switch(View::Cluster),
            Command::ViewAutoscaler => return self.switch(View::Autoscaler),
            Command::ViewServe => return self.switch(View::Serve),
            Command::ViewTune => return self.switch(View::Tune),
            Command::ViewGpu => return self.switch(View::Gpu),
            Command::ViewJobs => return self.switch(View::Jobs),
            Command::ViewKube => return self.switch(View::Kube),
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
                let names: Vec<String> = self
                    .cluster()
                    .map(|c| c.tune.experiments.iter().map(|e| e.name.clone()).collect())
                    .unwrap_or_default();
                let n = names.len().max(1);
                let cur = self.tune_experiment_index();
                let next = if cmd == Command::NextExperiment { (cur + 1) % n } else { (cur + n - 1) % n };
                self.tune.experiment = names.get(next).cloned();
                self.selected[v] = 0;
                self.rebuild_rows();
            }
            Command::OpenCluster => return self.toggle_cluster(),
            Command::HistoryWindow => match &mut self.history {
                Some(h) => {
                    h.cycle_window();
                    self.toast = Some(format!("history over {}", crate::model::history::window_label(h.window_s)));
                    return vec![self.poll_effect()];
                }
                None => self.toast = Some("no history: start raytop with --prometheus URL".into()),
            },
            Command::TrialDetail => self.tune.detail = !self.tune.detail,
            Command::RunDetail => self.run_detail = !self.run_detail,
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
                if let Some(name) = self.rows.get(self.selected[v]).and_then(|r| r.fold_key(self.cluster())) {
                    if !self.folded.remove(&name) {
                        self.folded.insert(name);
                    }
                    self.rebuild_rows();
                }
            }
            Command::ScaleUp => return self.scale_selected(ScaleChange::Step(1)),
            Command::ScaleDown => return self.scale_selected(ScaleChange::Step(-1)),
            Command::ScaleTo => return self.ask_scale(AskFor::Workers),
            Command::SetMin => return self.ask_scale(AskFor::Min),
            Command::SetMax => return self.ask_scale(AskFor::Max),
            Command::DeletePod => return self.delete_selected_pod(),
            Command::Redeploy => return self.redeploy_selected(),
            Command::ServeReplicas => return self.ask_serve_replicas(),
            Command::CancelTrial => return self.cancel_selected_trial(),
            Command::Logs => return self.open_selected_log(),
            Command::Noop => {}
            // The log pane's own commands reach it through `on_log_key`.
            Command::LogFollow
            | Command::LogStream
            | Command::LogPrevious
            | Command::LogWrap
            | Command::LogSearch
            | Command::LogNextMatch
            | Command::LogPrevMatch
            | Command::LogFirstError
            | Command::LogSave
            | Command::LogClose => {}
        }
        Vec::new()
    }

    /// Kube view: opens or closes the selected RayCluster; opening also shows its dashboard.
    fn toggle_cluster(&mut self) -> Vec<Effect> {
        let Some(Row::K8sCluster { c }) = self.rows.get(self.selected()) else { return Vec::new() };
        let c = *c;
        let Some(cl) = self.k8s.clusters.get(c) else { return Vec::new() };
        let key = crate::keys::ObjectKey::new(&cl.namespace, &cl.name);
        let mut fx = Vec::new();
        if !self.k8s_expanded.remove(&key) {
            self.k8s_expanded.insert(key);
            let cluster =
                ClusterRef { context: self.kube_context(), namespace: cl.namespace.clone(), name: cl.name.clone() };
            fx = self.open_dashboard(c);
            if !self.readonly && !self.access.contains_key(&cluster) {
                fx.push(Effect::CheckAccess(cluster));
            }
        }
        self.rebuild_rows();
        fx
    }

    fn switch(&mut self, view: View) -> Vec<Effect> {
        if self.view == view {
            return Vec::new();
        }
        self.view = view;
        self.rebuild_rows();
        vec![self.poll_effect()]
    }

    /// Shows history from `h` (a new Prometheus, or history loaded whole), with what the current
    /// dashboard derives from it.
    pub fn set_history(&mut self, h: crate::model::history::History) {
        if let Some(c) = self.dashboards.get_mut(self.current) {
            c.apply_history(&h);
        }
        self.history = Some(h);
    }

    /// Rebuilds the current view's rows and keeps the selection in range.
    pub fn rebuild_rows(&mut self) {
        let v = self.view.index();
        let opts = rows::Options {
            filter: &self.filters[v],
            show_dead: self.show_dead,
            folded: &self.folded,
            tune: &self.tune,
            experiment: self.tune_experiment_index(),
            k8s: &self.k8s,
            expanded: &self.k8s_expanded,
        };
        self.rows = (slice(self.view).rows)(self.dashboards.get(self.current), &opts);
        self.selected[v] = self.selected[v].min(self.rows.len().saturating_sub(1));
    }

    fn tune_columns(&self) -> usize {
        let params = self
            .cluster()
            .and_then(|c| c.tune.experiments.get(self.tune_experiment_index()))
            .map_or(0, |e| e.params.len());
        rows::TUNE_SORTS.len() + params
    }

    /// Makes RayCluster `ci` (an index into the Kubernetes clusters) the current cluster: the
    /// dashboard of the same name when there is one (`--dashboard NAME=URL`, or one opened
    /// before), else a new one reached through the API server's service proxy.
    pub fn open_dashboard(&mut self, ci: usize) -> Vec<Effect> {
        let Some(cl) = self.k8s.clusters.get(ci) else { return Vec::new() };
        let index = match self.dashboard_for(cl) {
            Some(i) => i,
            None => {
                let route = cl.dashboard.clone();
                let via = format!("API server proxy {}/{}:dashboard", route.namespace, route.service);
                let key = DashKey::Proxied { context: self.kube_context(), route };
                self.dashboards.push(Dashboard::new(cl.name.clone(), key, via, Default::default()));
                self.dashboards.len() - 1
            }
        };
        self.show_cluster(index)
    }

    /// Makes dashboard `index` the one views 1-6 show, and has only it polled.
    fn show_cluster(&mut self, index: usize) -> Vec<Effect> {
        if index != self.current {
            self.current = index;
            self.tune.experiment = None;
        }
        crate::model::join_kube(&mut self.k8s, &mut self.dashboards);
        self.rebuild_rows();
        vec![self.poll_effect()]
    }
}
