//! What the app loop must do after an update: the app's only way to ask for I/O.

use crate::action::{Action, FieldChange};
use crate::msg::{ClusterRef, DashKey, Interest};
use crate::source::kube::Target;

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Poll this dashboard (and no other) for what the view on screen needs; `None` stops all.
    Poll {
        dashboard: Option<DashKey>,
        interest: Interest,
    },
    /// Fetch now, regardless of schedules.
    RefreshNow,
    /// Watch another kubeconfig context or namespace.
    Kube(Target),
    /// Run a confirmed action; its outcome comes back as `Msg::ActionDone { id }`.
    Act {
        id: String,
        action: Box<Action>,
        planned: Vec<FieldChange>,
    },
    /// Ask the API server whether the user may change this RayCluster.
    CheckAccess(ClusterRef),
    /// Take history from this Prometheus from now on.
    Prometheus(crate::source::prometheus::PromSource),
    /// List the Services that look like Prometheus (`:prom`); the answer is `Msg::PromFound`.
    FindPrometheus {
        context: Option<String>,
        namespace: Option<String>,
    },
    /// Read this log for pane opening `id` (its events come back as `Msg::Log`), stopping the
    /// log read before: one log source at a time.
    OpenLog {
        id: u64,
        spec: crate::source::logs::LogSpec,
        reading: crate::source::logs::Reading,
    },
    /// List a Ray node's log files (the answer is `Msg::LogFiles`), to choose one.
    ListLogFiles {
        dashboard: DashKey,
        node_id: String,
    },
    /// The pane closed: stop its log source.
    CloseLog,
    /// Write the pane's lines to `name` in raytop's state folder (mode 0600); the answer is
    /// `Msg::LogSaved`.
    SaveLog {
        id: u64,
        name: String,
        lines: Vec<String>,
    },
    Quit,
}
