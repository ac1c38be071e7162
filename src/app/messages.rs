//! Folding in what the sources send: dashboards, history, Kubernetes, Tune, action outcomes.

use crate::msg::{DashKey, Msg};
use crate::slice::slice;
use crate::state::{Access, App, Overlay};
use crate::view::View;

use super::{Effect, Update};

impl App {
    /// Folds in a source's message: whether the screen can have changed, and what the loop must
    /// do next (a message can ask for I/O as a key can).
    pub fn on_msg(&mut self, msg: Msg) -> Update {
        let mut effects = Vec::new();
        let redraw = self.fold_msg(msg, &mut effects);
        Update { redraw, effects }
    }

    fn fold_msg(&mut self, msg: Msg, effects: &mut Vec<Effect>) -> bool {
        match msg {
            Msg::Log { id, event } => self.on_log_event(id, event),
            Msg::LogSaved { id, result } => self.on_log_saved(id, result),
            Msg::LogFiles { dashboard, node_id, files } => self.on_log_files(dashboard, node_id, files),
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
                    self.dashboards[i].apply_history(h);
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
                        c.apply_history(h);
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
            Msg::HeadTune { dashboard, update } => {
                let pass_done = matches!(update, crate::msg::TuneUpdate::Pass { .. });
                if let Some(c) = self.dashboards.iter_mut().find(|d| d.key == dashboard) {
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
}
