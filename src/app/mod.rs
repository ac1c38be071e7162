//! The update function: keys and source messages in, effects out. It changes the state held in
//! `state.rs` and nothing else; no I/O here, so tests drive it with key events and fixture data.
//! What an action key leads to (a confirmation, then an effect) is in `actions.rs`.

mod actions;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::action::ScaleChange;
use crate::config::{Command, Keymap, Theme};
use crate::model::ClusterState;
use crate::msg::{ClusterRef, DashKey, Msg};
use crate::rows::{self, Row};
use crate::slice::slice;
use crate::state::{Access, App, AskFor, Overlay, PALETTE, TUNE_STATUSES};
use crate::view::{TuneUi, View};

pub use crate::effect::Effect;

/// What folding a message did.
#[derive(Debug, Default)]
pub struct Update {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

impl App {
    pub fn new(dashboards: Vec<ClusterState>, keymap: Keymap, theme: Theme, warnings: Vec<String>) -> Self {
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

    /// Folds in a source's message: whether the screen can have changed, and what the loop must
    /// do next (a message can ask for I/O as a key can).
    pub fn on_msg(&mut self, msg: Msg) -> Update {
        let mut effects = Vec::new();
        let redraw = self.fold_msg(msg, &mut effects);
        Update { redraw, effects }
    }

    fn fold_msg(&mut self, msg: Msg, effects: &mut Vec<Effect>) -> bool {
        match msg {
            Msg::Dash { key, update } => {
                let nodes = matches!(
                    &update,
                    crate::model::DashUpdate::Fetched { endpoint: crate::wire::dashboard::Endpoint::Nodes, .. }
                );
                let Some(i) = self.dashboards.iter().position(|d| d.key == key) else { return false };
                let session_before = self.dashboards[i].session.clone();
                if !self.dashboards[i].apply(update) {
                    return false;
                }
                if let Some(h) = &self.history {
                    self.dashboards[i].gpus.apply_history(h);
                }
                // A new session is a restarted head: say so, as nothing else on screen would.
                if let (Some(old), Some(new)) = (&session_before, &self.dashboards[i].session)
                    && old != new
                {
                    self.toast =
                        Some(format!("{}: the Ray head restarted (session {new}, was {old})", self.dashboards[i].name));
                    tracing::warn!(dashboard = %self.dashboards[i].name, %old, %new, "the Ray head restarted");
                }
                if nodes && self.kube_target.is_some() {
                    crate::model::rejoin_kube(&mut self.k8s, &mut self.dashboards);
                }
                if i == self.current || self.view == View::Kube {
                    self.rebuild_rows();
                }
                true
            }
            Msg::History { from, update } => {
                if let Some(h) = self.history.as_mut().filter(|h| h.wants(&from, &update)) {
                    h.apply(update);
                    if let Some(c) = self.dashboards.get_mut(self.current) {
                        c.gpus.apply_history(h);
                    }
                }
                slice(self.view).interest.history.is_some()
            }
            Msg::Kube(update) => {
                self.apply_kube(update);
                // The GPU view shows what each pod requests from Kubernetes; Jobs lists RayJobs.
                if matches!(self.view, View::Kube | View::Gpu | View::Jobs) {
                    self.rebuild_rows();
                }
                true
            }
            Msg::ActionDone { id, outcome } => {
                let sent = self.in_flight.remove(&id);
                if let Some(trial) = sent.as_ref().and_then(|s| s.trial.clone())
                    && outcome.ok
                {
                    self.cancelled.insert(trial, std::time::SystemTime::now());
                }
                let title = sent.map_or_else(|| format!("action {id}"), |s| s.title);
                self.toast = Some(format!("{title}: {}", if outcome.ok { "done" } else { "failed" }));
                if outcome.ok {
                    // Fetch at once what the change moves (nodes joining, replicas, trial states),
                    // rather than at the next scheduled poll.
                    effects.push(Effect::RefreshNow);
                }
                // A popup the user opened meanwhile stays; the toast tells the outcome then.
                if matches!(self.overlay, Overlay::None | Overlay::Outcome { .. }) {
                    self.overlay = Overlay::Outcome { title, outcome };
                }
                true
            }
            Msg::PromFound(found) => {
                self.toast = Some(match found {
                    Ok(v) if v.is_empty() => {
                        "no Service named like Prometheus: give one with :prom NS/NAME[:PORT] or :prom URL".into()
                    }
                    Ok(v) => format!("Prometheus Services: {} — use one with :prom NS/NAME:PORT", v.join(", ")),
                    Err(e) => format!("cannot list Services: {e}"),
                });
                true
            }
            Msg::Access { cluster, allowed, reason } => {
                self.access.insert(cluster, Access { allowed, reason });
                true
            }
            Msg::Tune(update) => {
                // Tune directories belong to the dashboard given on the command line.
                let pass_done = matches!(update, crate::msg::TuneUpdate::Pass { .. });
                if let Some(c) = self.dashboards.iter_mut().find(|d| matches!(d.key, DashKey::Url(_))) {
                    c.apply_tune(update);
                }
                if pass_done {
                    self.rebuild_rows();
                }
                pass_done
            }
        }
    }

    /// Folds in news from the Kubernetes source and re-joins pods with Ray nodes.
    pub fn apply_kube(&mut self, update: crate::msg::KubeUpdate) {
        self.k8s.apply(update);
        crate::model::join_kube(&mut self.k8s, &mut self.dashboards);
    }

    pub fn on_terminal(&mut self, ev: &TermEvent) -> Vec<Effect> {
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
            Overlay::Ask(ask) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let ask = ask.clone();
                        self.overlay = Overlay::None;
                        return self.answer(ask);
                    }
                    _ => {
                        ask.input.handle_event(&TermEvent::Key(*key));
                    }
                }
                return Vec::new();
            }
            Overlay::Confirm(c) => {
                match key.code {
                    KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right => {
                        c.apply_focused = !c.apply_focused;
                    }
                    KeyCode::Enter if c.apply_focused => {
                        let c = c.clone();
                        self.overlay = Overlay::None;
                        return self.send(c);
                    }
                    KeyCode::Enter | KeyCode::Esc | KeyCode::Char('n') => {
                        self.overlay = Overlay::None;
                        self.toast = Some("cancelled: nothing was sent".into());
                    }
                    _ => {}
                }
                return Vec::new();
            }
            Overlay::Outcome { .. } => {
                // Any key dismisses the result; it has been read.
                self.overlay = Overlay::None;
                return Vec::new();
            }
            Overlay::Help => {
                // Any key closes help; quit still quits.
                self.overlay = Overlay::None;
                if self.keymap.resolve(self.view, key) == Some(Command::Quit) {
                    self.quit = true;
                    return vec![Effect::Quit];
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        match self.keymap.resolve(self.view, key) {
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
            Command::Noop => {}
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

    fn run_palette(&mut self, line: &str) -> Vec<Effect> {
        let word = line.split_whitespace().next().unwrap_or_default();
        let cmd = match word {
            "" => return Vec::new(),
            "cluster" | "nodes" => Command::ViewCluster,
            "autoscaler" | "as" => Command::ViewAutoscaler,
            "serve" => Command::ViewServe,
            "tune" | "trials" => Command::ViewTune,
            "gpu" | "gpus" => Command::ViewGpu,
            "jobs" | "job" => Command::ViewJobs,
            "kube" | "k8s" | "clusters" => Command::ViewKube,
            "ctx" | "context" | "ns" | "namespace" => return self.switch_kube(line),
            "use" => return self.use_cluster(line.split_whitespace().nth(1).unwrap_or_default()),
            "prom" | "prometheus" => return self.use_prometheus(line.split_whitespace().nth(1)),
            "dead" => Command::ToggleDead,
            "refresh" => Command::Refresh,
            "help" => Command::Help,
            "quit" | "q" => Command::Quit,
            other => {
                let names: Vec<&str> = PALETTE.iter().map(|(n, _)| *n).collect();
                self.toast = Some(format!("unknown command {other:?}: try {}", names.join(", ")));
                return Vec::new();
            }
        };
        self.run(cmd)
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
        // Opened clusters, and the dashboards opened through them, belong to what was watched
        // before: close them (their pollers stop with the next Poll effect).
        self.k8s_expanded.clear();
        let shown = self.cluster().map(|c| c.key.clone());
        self.dashboards.retain(|d| matches!(d.key, DashKey::Url(_)));
        self.current = shown.and_then(|k| self.dashboards.iter().position(|d| d.key == k)).unwrap_or(0);
        self.toast = Some(format!("watching {}", line.trim()));
        self.view = View::Kube;
        self.rebuild_rows();
        vec![Effect::Kube(target), self.poll_effect()]
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
                self.dashboards.push(ClusterState::new(cl.name.clone(), key, via, Default::default()));
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

    /// `prom`: list the Services that look like Prometheus. `prom NS/NAME[:PORT]` or `prom URL`:
    /// take history from there (through the API server for a Service).
    fn use_prometheus(&mut self, arg: Option<&str>) -> Vec<Effect> {
        use crate::source::prometheus::PromSource;
        let source = match arg {
            None => {
                let Some(target) = &self.kube_target else {
                    self.toast = Some("Kubernetes is off: start raytop with a kubeconfig, or use :prom URL".into());
                    return Vec::new();
                };
                self.toast = Some("looking for Prometheus Services …".into());
                let namespace = target.namespace.clone();
                return vec![Effect::FindPrometheus { context: self.kube_context(), namespace }];
            }
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => PromSource::Url(url.into()),
            Some(spec) => match PromSource::service(self.kube_context(), spec) {
                Ok(s) => s,
                Err(e) => {
                    self.toast = Some(e);
                    return Vec::new();
                }
            },
        };
        let mut history = crate::model::history::History::new(source.describe());
        if let Some(old) = &self.history {
            history.window_s = old.window_s;
        }
        self.toast = Some(format!("history from {}", source.describe()));
        self.history = Some(history);
        vec![Effect::Prometheus(source), self.poll_effect()]
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
        } else if let Some(i) = self.dashboards.iter().position(|c| c.name == name) {
            self.show_cluster(i)
        } else {
            self.toast = Some(format!("no RayCluster named {name:?}"));
            return Vec::new();
        };
        self.toast = Some(format!("showing {name}"));
        fx
    }
}
