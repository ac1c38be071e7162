//! Actions: from a key to a confirmation popup (planned on the data on screen, refused early when
//! invalid or forbidden), and from the user's yes to an `Effect::Act` the runtime carries out.

use tui_input::Input;

use crate::action::{Action, GroupTarget, ScaleChange, ScaleRequest, ServeChange, ServeRequest, ServeTarget};
use crate::effect::Effect;
use crate::msg::{ClusterRef, DashKey};
use crate::rows::Row;
use crate::state::{App, Ask, AskFor, Confirm, InFlight, Overlay};
use crate::view::View;

impl App {
    /// The worker group (and pod, if one is selected) under the cursor, named for an action. The
    /// Kube view names it directly; the Cluster view only when its dashboard belongs to a
    /// RayCluster raytop knows. The error says why there is nothing to act on.
    pub(super) fn selected_group(&self) -> Result<(GroupTarget, Option<String>), String> {
        // (namespace, RayCluster, group, whether it is the head group, the pod selected)
        let (namespace, cluster, group, head, pod) = match (self.view, self.rows.get(self.selected())) {
            (View::Kube, Some(row @ (Row::K8sGroup { c, g } | Row::K8sPod { c, g, .. }))) => {
                let cl = self.k8s.clusters.get(*c).ok_or("the cluster went away")?;
                let grp = cl.groups.get(*g).ok_or("the group went away")?;
                let pod = match row {
                    Row::K8sPod { p, .. } => grp.pods.get(*p).map(|p| p.pod.name.clone()),
                    _ => None,
                };
                (&cl.namespace, &cl.name, &grp.name, grp.kind == "head", pod)
            }
            (View::Kube, _) => {
                return Err("select a worker group or a pod of an opened RayCluster (Enter opens one)".into());
            }
            (View::Cluster, Some(row @ (Row::Group { g } | Row::Node { g, .. }))) => {
                let c = self.cluster().ok_or("no dashboard on screen")?;
                let cl = self.k8s_cluster_of(c).ok_or_else(|| {
                    format!(
                        "{} is a dashboard without a RayCluster raytop knows: scaling needs Kubernetes (open the \
                         cluster from the Kube view, 0, or name it with --dashboard NAME=URL)",
                        c.name
                    )
                })?;
                let grp = c.groups.get(*g).ok_or("the group went away")?;
                // On KubeRay a Ray node's instanceId is its pod's name.
                let pod = match row {
                    Row::Node { n, .. } => grp.nodes.get(*n).map(|n| n.instance_id.clone()).filter(|s| !s.is_empty()),
                    _ => None,
                };
                (&cl.namespace, &cl.name, &grp.name, grp.kind == crate::model::cluster::GroupKind::Head, pod)
            }
            (View::Cluster, _) => return Err("select a worker group or one of its nodes".into()),
            _ => return Err("scaling is offered in the Kube (0) and Cluster (1) views".into()),
        };
        if head {
            return Err("the head group has exactly one pod: it cannot be scaled".into());
        }
        let target = GroupTarget {
            context: self.kube_context(),
            namespace: namespace.clone(),
            cluster: cluster.clone(),
            group: group.clone(),
        };
        Ok((target, pod))
    }

    /// The RayCluster behind a dashboard: the one it was opened through, or one of its name.
    pub(super) fn k8s_cluster_of(&self, c: &crate::model::Dashboard) -> Option<&crate::model::k8s::K8sCluster> {
        match &c.key {
            DashKey::Proxied { route, .. } => self.k8s.clusters.iter().find(|k| k.dashboard == *route),
            DashKey::Url(_) => self.k8s.clusters.iter().find(|k| k.name == c.name),
        }
    }

    /// Why the user may not change the RayCluster on screen, once its access review answered:
    /// the footer says so in place of the action keys, before any is pressed.
    pub fn actions_denied(&self) -> Option<&str> {
        let k = self.k8s_cluster_of(self.cluster()?)?;
        self.denied(ClusterRef { context: self.kube_context(), namespace: k.namespace.clone(), name: k.name.clone() })
    }

    /// The access review's reason, when it said no for this RayCluster.
    fn denied(&self, r: ClusterRef) -> Option<&str> {
        self.access.get(&r).filter(|a| !a.allowed).map(|a| a.reason.as_str())
    }

    /// Why the user may not change this cluster, when the API server said so.
    pub(super) fn forbidden(&self, t: &GroupTarget) -> Option<String> {
        let r = ClusterRef { context: t.context.clone(), namespace: t.namespace.clone(), name: t.cluster.clone() };
        self.denied(r).map(str::to_string)
    }

    pub(super) fn scale_selected(&mut self, change: ScaleChange) -> Vec<Effect> {
        match self.selected_group() {
            Ok((target, _)) => self.confirm(ScaleRequest { target, change }),
            Err(why) => self.refuse(why),
        }
    }

    pub(super) fn delete_selected_pod(&mut self) -> Vec<Effect> {
        match self.selected_group() {
            Ok((target, Some(pod))) => self.confirm(ScaleRequest { target, change: ScaleChange::DeletePod(pod) }),
            Ok((_, None)) => self.refuse("select the pod to remove (x removes exactly that pod)".into()),
            Err(why) => self.refuse(why),
        }
    }

    pub(super) fn ask_scale(&mut self, what: fn(GroupTarget) -> AskFor) -> Vec<Effect> {
        match self.selected_group() {
            Ok((target, _)) => {
                if let Some(why) = self.forbidden(&target) {
                    return self.refuse(format!("disabled: {why}"));
                }
                self.overlay = Overlay::Ask(Ask { what: what(target), input: Input::default() });
                Vec::new()
            }
            Err(why) => self.refuse(why),
        }
    }

    pub(super) fn answer(&mut self, ask: Ask) -> Vec<Effect> {
        let text = ask.input.value().trim().to_string();
        let Ok(n) = text.parse::<i64>() else {
            return self.refuse(format!("{text:?} is not a whole number: nothing was sent"));
        };
        let (target, change) = match ask.what {
            AskFor::Workers(t) => (t, ScaleChange::Workers(n)),
            AskFor::Min(t) => (t, ScaleChange::Min(n)),
            AskFor::Max(t) => (t, ScaleChange::Max(n)),
            AskFor::ServeReplicas { target, app, deployment } => {
                let Ok(replicas) = u32::try_from(n) else {
                    return self.refuse(format!("{n} replicas: a deployment cannot have fewer than 0"));
                };
                let change = ServeChange::Replicas { deployment, replicas };
                return self.confirm_serve(ServeRequest { target, app, change, nonce: String::new() });
            }
        };
        self.confirm(ScaleRequest { target, change })
    }

    /// The Serve application (and deployment) under the cursor, and where its config lives:
    /// the RayService that owns the dashboard's RayCluster, else the dashboard itself.
    pub(super) fn selected_app(&self) -> Result<(ServeTarget, String, Option<String>), String> {
        if self.view != View::Serve {
            return Err("redeploying is offered in the Serve view (3)".into());
        }
        let c = self.cluster().ok_or("no dashboard on screen")?;
        let (a, d) = match self.rows.get(self.selected()) {
            Some(Row::App { a, .. }) => (*a, None),
            Some(Row::Deployment { a, d } | Row::Replica { a, d, .. }) => (*a, Some(*d)),
            _ => return Err("select an application or a deployment".into()),
        };
        let app = c.serve.applications.get(a).ok_or("the application went away")?;
        let deployment = d.and_then(|d| app.deployments.get(d)).map(|d| d.name.clone());
        let service = self
            .k8s_cluster_of(c)
            .and_then(|k| self.k8s.services.iter().find(|s| s.active_cluster == k.name && s.namespace == k.namespace));
        let target = match service {
            Some(s) => ServeTarget::RayService {
                context: self.kube_context(),
                namespace: s.namespace.clone(),
                name: s.name.clone(),
            },
            None => ServeTarget::Dashboard { dashboard: c.dashboard.clone(), key: c.key.clone() },
        };
        Ok((target, app.name.clone(), deployment))
    }

    pub(super) fn redeploy_selected(&mut self) -> Vec<Effect> {
        match self.selected_app() {
            Ok((target, app, _)) => {
                self.confirm_serve(ServeRequest { target, app, change: ServeChange::Redeploy, nonce: String::new() })
            }
            Err(why) => self.refuse(why),
        }
    }

    pub(super) fn ask_serve_replicas(&mut self) -> Vec<Effect> {
        match self.selected_app() {
            Ok((target, app, Some(deployment))) => {
                self.overlay = Overlay::Ask(Ask {
                    what: AskFor::ServeReplicas { target, app, deployment },
                    input: Input::default(),
                });
                Vec::new()
            }
            Ok((_, _, None)) => self.refuse("select a deployment (n sets its num_replicas)".into()),
            Err(why) => self.refuse(why),
        }
    }

    /// Plans a Serve change on what the Serve view shows, with a fresh redeploy marker.
    pub(super) fn confirm_serve(&mut self, mut req: ServeRequest) -> Vec<Effect> {
        let Some(app) = self.cluster().and_then(|c| c.serve.applications.iter().find(|a| a.name == req.app)) else {
            return self.refuse(format!("no Serve application {}", req.app));
        };
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        req.nonce = format!("{secs}-{}", self.next_action);
        match crate::action::preview_serve(app, &req) {
            Ok(preview) => {
                self.overlay = Overlay::Confirm(Confirm { action: Action::Serve(req), preview, apply_focused: false });
                Vec::new()
            }
            Err(why) => self.refuse(format!("not sent: {why}")),
        }
    }

    /// Plans the change on the data raytop has and shows it for confirmation; an invalid change
    /// is refused here, before anything is sent.
    pub(super) fn confirm(&mut self, req: ScaleRequest) -> Vec<Effect> {
        if let Some(why) = self.forbidden(&req.target) {
            return self.refuse(format!("disabled: {why}"));
        }
        let Some(rc) =
            self.k8s.raw_clusters.iter().find(|r| r.name == req.target.cluster && r.namespace == req.target.namespace)
        else {
            return self.refuse(format!("RayCluster {} is not in what raytop watches", req.target.cluster));
        };
        match crate::action::preview_scale(&rc.spec, &req) {
            Ok(preview) => {
                self.overlay = Overlay::Confirm(Confirm { action: Action::Scale(req), preview, apply_focused: false });
                Vec::new()
            }
            Err(why) => self.refuse(format!("not sent: {why}")),
        }
    }

    /// The RUNNING trial under the cursor (leaderboard, or a GPU held by a trial), as a cancel.
    pub(super) fn cancel_selected_trial(&mut self) -> Vec<Effect> {
        let req = match self.selected_trial_cancel() {
            Ok(r) => r,
            Err(why) => return self.refuse(why),
        };
        // The leaderboard stays on this experiment, so the outcome shows even when a new sweep
        // starts meanwhile (seen in CI: the view followed the next sweep and the trial vanished).
        self.tune.experiment = Some(req.experiment.clone());
        self.rebuild_rows();
        let preview = crate::action::preview_cancel(&req);
        self.overlay = Overlay::Confirm(Confirm { action: Action::CancelTrial(req), preview, apply_focused: false });
        Vec::new()
    }

    pub(super) fn selected_trial_cancel(&self) -> Result<crate::action::cancel::CancelRequest, String> {
        let c = self.cluster().ok_or("no dashboard on screen")?;
        let (e, t) = match (self.view, self.rows.get(self.selected())) {
            (View::Tune, Some(Row::Trial { e, t, .. })) => (*e, *t),
            (View::Gpu, Some(Row::GpuHolder { n, h })) => {
                let node = c.gpus.nodes.get(*n).ok_or("the node went away")?;
                let holder = node.holders.get(*h).ok_or("the holder went away")?;
                if holder.kind != "trial" {
                    return Err(format!("{} is not a Tune trial: only trials can be cancelled here", holder.name));
                }
                let pid = holder.pid.ok_or("the actor has no pid")?;
                c.tune.trial_of_process(pid, &node.ip).ok_or("the trial behind this actor is gone")?
            }
            (View::Tune | View::Gpu, _) => return Err("select a RUNNING trial".into()),
            _ => return Err("cancelling is offered in the Tune (4) and GPU (5) views".into()),
        };
        let exp = c.tune.experiments.get(e).ok_or("the experiment went away")?;
        let tr = exp.trials.get(t).ok_or("the trial went away")?;
        // The id names a marker file: one read from a crafted state file must not leave its folder.
        if !crate::wire::tune::is_trial_id(&tr.trial_id) {
            return Err(format!("trial id {:?} is not one Tune writes: not cancelled", tr.trial_id));
        }
        if tr.status != "RUNNING" {
            return Err(format!("trial {} is {}: already finished, nothing to cancel", tr.trial_id, tr.status));
        }
        let (Some(pid), Some(node_ip)) = (tr.pid, tr.node_ip.clone()) else {
            return Err(format!(
                "trial {} has reported no result yet, so its process is unknown: try again after its first report",
                tr.trial_id
            ));
        };
        Ok(crate::action::cancel::CancelRequest {
            dashboard: c.dashboard.clone(),
            key: c.key.clone(),
            experiment: exp.name.clone(),
            experiment_dir: exp.dir.clone().into(),
            trial_id: tr.trial_id.clone(),
            logdir: tr.logdir.clone(),
            trainable: tr.trainable.clone(),
            pid,
            node_ip,
            graceful: exp.graceful_stop,
            max_failures: tr.max_failures,
        })
    }

    pub(super) fn refuse(&mut self, why: String) -> Vec<Effect> {
        self.toast = Some(why);
        Vec::new()
    }

    pub(super) fn send(&mut self, c: Confirm) -> Vec<Effect> {
        if self.readonly {
            return self.refuse("--readonly: nothing is sent".into());
        }
        let id = format!("{}-{}", std::process::id(), self.next_action);
        self.next_action += 1;
        let trial = match &c.action {
            Action::CancelTrial(r) => Some(crate::keys::TrialKey::new(&r.experiment, &r.trial_id)),
            _ => None,
        };
        self.in_flight.insert(id.clone(), InFlight { title: c.preview.title.clone(), trial });
        self.toast = Some(format!("{}: sent, waiting for the API server…", c.preview.title));
        vec![Effect::Act { id, action: Box::new(c.action), planned: c.preview.fields }]
    }
}
