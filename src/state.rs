//! What the app holds: the dashboards and Kubernetes model it was sent, and the screen's own state
//! (view, selection, filters, popups). The update function that changes it is in `app.rs`; views
//! read it. Nothing here does I/O.

use std::collections::BTreeSet;
use std::time::SystemTime;

use tui_input::Input;

use crate::config::{Keymap, Theme};
use crate::model::Dashboard;
use crate::model::k8s::K8s;
use crate::rows::Row;
use crate::source::kube::Target;
use crate::view::{TuneUi, View};

/// A popup or input line that takes keys before the view does.
#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Help,
    Palette(Input),
    Filter(Input),
    /// A number typed for an action (`s`, `m`, `M`), then confirmed.
    Ask(Ask),
    /// An action waiting for the user's yes, with what it will change.
    Confirm(Confirm),
    /// How an action ended; stays until dismissed.
    Outcome {
        title: String,
        outcome: crate::action::Outcome,
    },
    /// Which log to open, when a row has several (a node's files, a deployment's replicas).
    ChooseLog(LogChoice),
}

/// A list of logs to choose from, and the one under the cursor.
#[derive(Debug, Clone)]
pub struct LogChoice {
    pub title: String,
    pub items: Vec<(String, crate::source::logs::LogSpec)>,
    pub selected: usize,
}

/// What a typed number is for, and what it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskFor {
    Workers(crate::action::GroupTarget),
    Min(crate::action::GroupTarget),
    Max(crate::action::GroupTarget),
    ServeReplicas { target: crate::action::ServeTarget, app: String, deployment: String },
}

impl AskFor {
    /// What is being asked, for the prompt.
    pub fn prompt(&self) -> String {
        match self {
            AskFor::Workers(t) => format!("workers for {}", t.group),
            AskFor::Min(t) => format!("minReplicas of {}", t.group),
            AskFor::Max(t) => format!("maxReplicas of {}", t.group),
            AskFor::ServeReplicas { app, deployment, .. } => format!("num_replicas of {app}/{deployment}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ask {
    pub what: AskFor,
    pub input: Input,
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub action: crate::action::Action,
    pub preview: crate::action::Preview,
    /// Cancel has the focus until the user moves it.
    pub apply_focused: bool,
}

/// An action sent and not yet answered: its title, and the trial when it cancels one, to mark
/// it when the answer is yes.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub title: String,
    pub trial: Option<crate::keys::TrialKey>,
}

/// May the user change a RayCluster (a SelfSubjectAccessReview's answer)?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub allowed: bool,
    pub reason: String,
}

/// Statuses the leaderboard can be narrowed to, in the order `f` cycles through them.
pub const TUNE_STATUSES: [&str; 6] =
    ["RUNNING", "TERMINATED", "ERROR", "PENDING", "PAUSED", crate::model::tune::EARLIER_RUN];

const VIEWS: usize = View::ALL.len();

pub struct App {
    /// Every Ray dashboard known: given on the command line, or opened from a RayCluster.
    pub dashboards: Vec<Dashboard>,
    /// The dashboard views 1-6 show (an index into `dashboards`; none when it is empty).
    pub current: usize,
    pub view: View,
    pub overlay: Overlay,
    /// One filter per view, kept when switching.
    pub filters: [String; VIEWS],
    pub selected: [usize; VIEWS],
    pub tune: TuneUi,
    /// Jobs view: the detail of the selected Train run is open.
    pub run_detail: bool,
    /// What the Kubernetes source reports, and which RayClusters are opened up.
    pub k8s: K8s,
    pub k8s_expanded: BTreeSet<crate::keys::ObjectKey>,
    /// The context/namespace being watched; `None` when Kubernetes is off.
    pub kube_target: Option<Target>,
    pub show_dead: bool,
    /// Folded groups (cluster view) and applications (serve view), by name.
    pub folded: BTreeSet<crate::keys::Fold>,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Problems with the user's files, shown until dismissed with Esc.
    pub warnings: Vec<String>,
    /// A one-line message after a command (unknown palette command, refresh requested…).
    pub toast: Option<String>,
    /// The rows of the current view, rebuilt when the model, filter or folds change.
    pub rows: Vec<Row>,
    pub quit: bool,
    /// --readonly: no action is offered or sent.
    pub readonly: bool,
    /// History from Prometheus (`--prometheus URL`); `None` without one.
    pub history: Option<crate::model::history::History>,
    /// What the user may change, per RayCluster, as the API server answered.
    pub access: std::collections::BTreeMap<crate::msg::ClusterRef, Access>,
    /// Actions sent and not yet answered, by id.
    pub in_flight: std::collections::BTreeMap<String, InFlight>,
    /// Numbers the action ids of this run.
    pub next_action: u64,
    /// Trials cancelled from this raytop, and when.
    pub cancelled: std::collections::BTreeMap<crate::keys::TrialKey, std::time::SystemTime>,
    /// The log pane, over the view while open (`l`).
    pub log: Option<crate::log_pane::LogPane>,
    /// Numbers the pane's openings, so a closed one's late events are dropped.
    pub next_log: u64,
}

impl App {
    /// The dashboard on screen, if any.
    pub fn cluster(&self) -> Option<&Dashboard> {
        self.dashboards.get(self.current)
    }

    pub fn filter(&self) -> &str {
        &self.filters[self.view.index()]
    }

    pub fn selected(&self) -> usize {
        self.selected[self.view.index()]
    }

    /// The experiment on screen: the chosen one, else the last (newest by name: Tune names
    /// repeat runs `name-2`, `name-3`, and sessions sort by time).
    pub fn tune_experiment_index(&self) -> usize {
        let Some(c) = self.cluster() else { return 0 };
        let pinned =
            self.tune.experiment.as_ref().and_then(|name| c.tune.experiments.iter().position(|e| &e.name == name));
        pinned.unwrap_or(c.tune.experiments.len().saturating_sub(1))
    }

    /// The dashboard of a RayCluster: the one opened through the API server for the same context
    /// and route, else a `--dashboard NAME=URL` one of the same name.
    pub fn dashboard_for(&self, cl: &crate::model::k8s::K8sCluster) -> Option<usize> {
        use crate::msg::DashKey;
        let ctx = self.kube_context();
        let mine = |s: &Dashboard| matches!(&s.key, DashKey::Proxied { context, route } if *context == ctx && *route == cl.dashboard);
        self.dashboards
            .iter()
            .position(mine)
            .or_else(|| self.dashboards.iter().position(|s| matches!(s.key, DashKey::Url(_)) && s.name == cl.name))
    }

    pub fn kube_context(&self) -> Option<String> {
        self.kube_target.as_ref().and_then(|t| t.context.clone()).or_else(|| self.k8s.context.clone())
    }

    /// Whether anything on screen is labelled with an age that the clock moves on ("data 3 s
    /// ago", uptimes, "synced 5 s ago"): only then does the 1 s tick redraw.
    pub fn ages_on_screen(&self) -> bool {
        self.cluster().is_some_and(|c| c.last_fetch().is_some())
            || self.k8s.kinds.values().any(|k| k.synced_at.is_some())
    }

    /// Seconds since `t`, against the given clock (tests pass a fixed one).
    pub fn age(now: SystemTime, t: SystemTime) -> f64 {
        now.duration_since(t).map(|d| d.as_secs_f64()).unwrap_or(0.0)
    }
}
