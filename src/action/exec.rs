//! The executor: runs an action against the real system with the clients the runtime holds, and
//! writes the audit log around it. One per process; actions run as tasks and report back as a
//! message.

use std::time::{SystemTime, UNIX_EPOCH};

use kube::api::{DynamicObject, Patch, PatchParams};

use super::audit::{Audit, Entry};
use super::{Action, FieldChange, Outcome, ScaleChange, ScaleRequest, ServeRequest, ServeTarget, cancel, scale, serve};
use crate::msg::DashKey;
use crate::source::dashboard::DashboardClient;
use crate::source::kube::KubeClients;
use crate::wire::dashboard::FetchError;
use crate::wire::dashboard::{ActorState, DashData, Endpoint};
use crate::wire::k8s::RayClusterSpec;

/// How many times a patch refused for stale data (a failed `test`, a conflict) is planned again.
const ATTEMPTS: usize = 4;

/// A scale that landed: what changed, what happens next, and after how many tries.
#[derive(Debug, Clone)]
pub struct Scaled {
    pub fields: Vec<FieldChange>,
    pub next: String,
    pub attempts: usize,
}

#[derive(Clone)]
pub struct Executor {
    pub clients: KubeClients,
    pub audit: Audit,
    /// Dashboards reached by address, with their clients (token included).
    pub direct: Vec<(DashKey, DashboardClient)>,
    pub timeout: std::time::Duration,
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Executor {
    /// Runs one action: an intent line, the change, a result line.
    pub async fn run(&self, id: &str, action: &Action, planned: &[FieldChange]) -> Outcome {
        let who = super::audit::who(self.kube_user(action).await.as_deref());
        let target = action.target_json();
        let intent = Entry {
            at: now(),
            id,
            phase: "intent",
            who: &who,
            action: action.kind(),
            target: &target,
            changes: planned,
            ok: None,
            result: None,
        };
        if let Err(e) = self.audit.record(&intent) {
            // Nothing is sent when the intent cannot be recorded.
            return Outcome {
                ok: false,
                message: format!("not sent: audit log {}: {e}", self.audit.path().display()),
                changes: Vec::new(),
            };
        }
        let outcome = match action {
            Action::Scale(r) => match self.scale(r, None, planned).await {
                Ok(done) => Outcome { ok: true, message: format!("patched; {}", done.next), changes: done.fields },
                Err(message) => Outcome { ok: false, message, changes: Vec::new() },
            },
            Action::Serve(r) => match self.serve(r).await {
                Ok(plan) => Outcome { ok: true, message: format!("sent; {}", plan.next), changes: plan.fields },
                Err(message) => Outcome { ok: false, message, changes: Vec::new() },
            },
            Action::CancelTrial(r) => match self.cancel(r, id).await {
                Ok(message) => Outcome { ok: true, message, changes: planned.to_vec() },
                Err(message) => Outcome { ok: false, message, changes: Vec::new() },
            },
        };
        let changes = if outcome.ok { outcome.changes.as_slice() } else { planned };
        let result = Entry {
            at: now(),
            phase: "result",
            changes,
            ok: Some(outcome.ok),
            result: Some(&outcome.message),
            ..intent
        };
        if let Err(e) = self.audit.record(&result) {
            tracing::error!(error = %e, "audit log: result line not written");
        }
        outcome
    }

    /// The kubeconfig user of the action's context, for the audit log's "who".
    async fn kube_user(&self, action: &Action) -> Option<String> {
        if matches!(
            action,
            Action::Serve(ServeRequest { target: ServeTarget::Dashboard { key: DashKey::Url(_), .. }, .. })
        ) {
            return None;
        }
        let kc = self.clients.kubeconfig()?;
        let ctx = action.context().map(str::to_string).or(kc.current_context.clone())?;
        kc.contexts.iter().find(|c| c.name == ctx)?.context.as_ref()?.user.clone()
    }

    /// Plans on `seen` (the spec the user looked at) or else a fresh read, and sends the JSON
    /// Patch; a patch refused because the data moved (422 from a failed `test`, 409) is planned
    /// again on a fresh read.
    /// With `confirmed` (the fields the user saw), a fresh plan that would change anything else
    /// is refused: the user confirmed that change, not another.
    pub async fn scale(
        &self,
        r: &ScaleRequest,
        seen: Option<RayClusterSpec>,
        confirmed: &[FieldChange],
    ) -> Result<Scaled, String> {
        let t = &r.target;
        let client = self.clients.get(t.context.as_deref()).await?.client;
        let api = crate::source::kube::ray_api(&client, &t.namespace, "RayCluster");
        let url = format!("/apis/ray.io/v1/namespaces/{}/rayclusters/{}", t.namespace, t.cluster);
        let mut last = String::new();
        let mut last_patch: Option<serde_json::Value> = None;
        let mut seen = seen;
        for attempt in 1..=ATTEMPTS {
            let spec = match seen.take() {
                Some(s) => s,
                None => {
                    let obj = api.get(&t.cluster).await.map_err(|e| kube_error("get", &t.cluster, e))?;
                    crate::source::kube::convert::ray_cluster(&obj).spec
                }
            };
            let plan = scale::plan(&spec, &r.change, &t.group)?;
            if !confirmed.is_empty() && plan.fields != confirmed {
                let now: Vec<String> =
                    plan.fields.iter().map(|f| format!("{} {} → {}", f.field, f.before, f.after)).collect();
                return Err(format!(
                    "not sent: {} changed since you confirmed; the change would now be {}: review it again",
                    t.cluster,
                    now.join(", ")
                ));
            }
            if let ScaleChange::DeletePod(pod) = &r.change {
                self.check_pod(&client, t, pod).await?;
            }
            if last_patch.as_ref() == Some(&plan.patch) {
                // Refused, and nothing moved since: the API server's reason is the answer.
                return Err(format!("the API server refused the patch: {last}"));
            }
            let body = serde_json::to_vec(&plan.patch).map_err(|e| e.to_string())?;
            let req = http::Request::patch(&url)
                .header(http::header::CONTENT_TYPE, "application/json-patch+json")
                .body(body)
                .map_err(|e| e.to_string())?;
            match client.request::<DynamicObject>(req).await {
                Ok(_) => return Ok(Scaled { fields: plan.fields, next: plan.next, attempts: attempt }),
                Err(kube::Error::Api(s)) if s.code == 422 || s.code == 409 => {
                    tracing::info!(attempt, code = s.code, message = %s.message, "scale patch refused; reading again");
                    last = s.message;
                    last_patch = Some(plan.patch);
                }

                Err(e) => return Err(kube_error("patch", &t.cluster, e)),
            }
        }
        Err(format!("RayCluster {} kept changing under the patch ({ATTEMPTS} tries): {last}", t.cluster))
    }
}

impl Executor {
    /// The pod `x` removes must be a live worker of that cluster and group: KubeRay would skip a
    /// missing one and still lower replicas, deleting a random worker instead.
    async fn check_pod(&self, client: &kube::Client, t: &super::GroupTarget, pod: &str) -> Result<(), String> {
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client.clone(), &t.namespace);
        let p = pods.get(pod).await.map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => format!("pod {pod} not found: nothing sent"),
            kube::Error::Api(s) if s.code == 403 => format!("cannot check pod {pod} ({}): nothing sent", s.message),
            other => format!("cannot check pod {pod}: {other}; nothing sent"),
        })?;
        let labels = p.metadata.labels.unwrap_or_default();
        let is = |k: &str, v: &str| labels.get(k).map(String::as_str) == Some(v);
        if !is("ray.io/cluster", &t.cluster) || !is("ray.io/group", &t.group) {
            return Err(format!("pod {pod} is not a worker of {} group {}: nothing sent", t.cluster, t.group));
        }
        if p.metadata.deletion_timestamp.is_some() {
            return Err(format!("pod {pod} is already being deleted: nothing sent"));
        }
        Ok(())
    }

    /// Changes one Serve application: through the dashboard (read the deployed configs, PUT them
    /// all back with the one change), or through its RayService's serveConfigV2.
    pub async fn serve(&self, r: &ServeRequest) -> Result<serve::AppPlan, String> {
        let nonce = r.nonce.as_str();
        match &r.target {
            ServeTarget::Dashboard { key, .. } => {
                let dash = self.dashboard(key).await?;
                let path = Endpoint::Serve.path();
                let current = dash.json(http::Method::GET, path, None).await.map_err(|e| e.to_string())?;
                let (body, plan) = serve::plan_put(&current, &r.app, &r.change, nonce)?;
                dash.json(http::Method::PUT, path, Some(&body)).await.map_err(|e| match e {
                    // Sent, but no answer: it may have been applied. Say so, and how to look.
                    FetchError::Timeout(_) => format!(
                        "unknown: PUT {path} got no answer ({e}); it may have been applied: check the Serve \
                         view (3) or `raytop snapshot --json` before sending it again"
                    ),
                    e => format!("not done: PUT {path}: {e}"),
                })?;
                Ok(plan)
            }
            ServeTarget::RayService { context, namespace, name } => {
                let client = self.clients.get(context.as_deref()).await?.client;
                let api = crate::source::kube::ray_api(&client, namespace, "RayService");
                let mut last = String::new();
                for _ in 0..ATTEMPTS {
                    let obj = api.get(name).await.map_err(|e| kube_error_of("RayService", "get", name, e))?;
                    let yaml = obj.data["spec"]["serveConfigV2"].as_str().unwrap_or_default();
                    if yaml.is_empty() {
                        return Err(format!("RayService {name} has no spec.serveConfigV2 to change"));
                    }
                    let (new_yaml, plan) = serve::plan_service_config(yaml, &r.app, &r.change, nonce)?;
                    // The resourceVersion makes the API server refuse (409) a write on stale data.
                    let patch = serde_json::json!({
                        "metadata": {"resourceVersion": obj.metadata.resource_version},
                        "spec": {"serveConfigV2": new_yaml},
                    });
                    match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                        Ok(_) => return Ok(plan),
                        Err(kube::Error::Api(s)) if s.code == 409 => last = s.message,
                        Err(e) => return Err(kube_error_of("RayService", "patch", name, e)),
                    }
                }
                Err(format!("RayService {name} kept changing under the patch ({ATTEMPTS} tries): {last}"))
            }
        }
    }

    /// Cancels a trial: a marker for the Stopper, or SIGTERM through a Ray job pinned to the
    /// trial's node after checking that the pid is still the trial's live actor there.
    pub async fn cancel(&self, r: &cancel::CancelRequest, id: &str) -> Result<String, String> {
        if r.graceful {
            let path = cancel::marker_path(r);
            let note = serde_json::json!({"at": now(), "by": "raytop", "id": id}).to_string();
            std::fs::write(&path, note).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            return Ok(format!("marker {} written; the Stopper ends the trial at its next report", path.display()));
        }
        // Is the pid still the trial's? Its last result, read again now, must name it.
        let results = r.experiment_dir.join(&r.logdir).join("result.json");
        if let Ok(text) = std::fs::read_to_string(&results)
            && let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty())
            && let Ok(row) = crate::wire::tune::ResultRow::parse(last)
            && let Some(now_pid) = row.pid.filter(|p| *p != r.pid)
        {
            return Err(format!(
                "not sent: trial {} now runs in pid {now_pid} (not {}): review it again",
                r.trial_id, r.pid
            ));
        }
        let dash = self.dashboard(&r.key).await?;
        // Is the pid still the trial's live actor on that node? The same typed endpoint the views
        // poll; nodes from the state API for their IPs.
        let actors = match dash.fetch(Endpoint::Actors).await.map_err(|e| format!("cannot list actors: {e}"))?.data {
            DashData::Actors(a) => a,
            _ => Vec::new(),
        };
        let nodes = dash
            .json(http::Method::GET, "/api/v0/nodes?limit=10000", None)
            .await
            .map_err(|e| format!("cannot list nodes: {e}"))?;
        let node_ip = |node_id: &str| {
            nodes["data"]["result"]["result"].as_array().and_then(|ns| {
                ns.iter().find(|n| n["node_id"] == node_id).and_then(|n| n["node_ip"].as_str().map(str::to_string))
            })
        };
        // The trial's actor carries its trainable's name (repr_name for functions, the class for
        // classes): another trial's process, or any other actor, is never signalled.
        let runs_trainable = |a: &ActorState| {
            r.trainable.is_empty()
                || a.repr_name.as_deref() == Some(r.trainable.as_str())
                || a.class_name == r.trainable
        };
        let live = actors.iter().find(|a| {
            a.pid == Some(r.pid) && node_ip(&a.node_id).as_deref() == Some(r.node_ip.as_str()) && runs_trainable(a)
        });
        if live.is_none() {
            return Err(format!(
                "already finished: no live actor has pid {} on {} (the trial ended, or moved to another process)",
                r.pid, r.node_ip
            ));
        }
        let submission = format!("raytop-cancel-{}-{id}", r.trial_id);
        let job = serde_json::json!({
            "entrypoint": cancel::kill_entrypoint(r.pid),
            "submission_id": submission,
            "entrypoint_resources": {format!("node:{}", r.node_ip): 0.001},
            "metadata": {"raytop": "cancel-trial", "trial_id": r.trial_id, "experiment": r.experiment},
        });
        dash.json(http::Method::POST, "/api/jobs/", Some(&job)).await.map_err(|e| format!("job submission: {e}"))?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let j = dash
                .json(http::Method::GET, &format!("/api/jobs/{submission}"), None)
                .await
                .map_err(|e| format!("job {submission}: {e}"))?;
            match j["status"].as_str().unwrap_or_default() {
                "SUCCEEDED" => {
                    return Ok(format!(
                        "SIGTERM sent to pid {} by job {submission}; Tune marks the trial ERROR",
                        r.pid
                    ));
                }
                "FAILED" | "STOPPED" => {
                    let logs = dash
                        .json(http::Method::GET, &format!("/api/jobs/{submission}/logs"), None)
                        .await
                        .ok()
                        .and_then(|l| l["logs"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    let said = logs.lines().rfind(|l| l.starts_with("raytop:")).unwrap_or(logs.trim());
                    let why = if logs.contains("No such process") || logs.contains("no Ray worker") {
                        format!("already finished: {said}")
                    } else {
                        format!(
                            "job {submission} {}: {} {said}",
                            j["status"],
                            j["message"].as_str().unwrap_or_default()
                        )
                    };
                    return Err(why);
                }
                _ if std::time::Instant::now() > deadline => {
                    return Err(format!(
                        "job {submission} did not finish in 60 s (status {})",
                        j["status"].as_str().unwrap_or_default()
                    ));
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
            }
        }
    }

    /// A client for a dashboard: one given by address, or a RayCluster's through the API server.
    async fn dashboard(&self, key: &DashKey) -> Result<DashboardClient, String> {
        match key {
            DashKey::Url(url) => self
                .direct
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, c)| c.clone())
                .ok_or_else(|| format!("no client for dashboard {url}")),
            DashKey::Proxied { context, route } => {
                let client = self.clients.get(context.as_deref()).await?.client;
                Ok(crate::source::kube::proxied_client(client, route, self.timeout).await)
            }
        }
    }
}

fn kube_error_of(kind: &str, verb: &str, name: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => format!("forbidden: may not {verb} {kind} {name}: {}", s.message),
        kube::Error::Api(s) if s.code == 404 => format!("{kind} {name} not found: {}", s.message),
        kube::Error::Api(s) => format!("{verb} {kind} {name}: {} ({})", s.message, s.code),
        // A write whose answer was lost on the way may have been applied.
        other if verb == "patch" => format!(
            "unknown: patch {kind} {name} got no answer ({other}); it may have been applied: check the Kube view \
             (0) or `kubectl get {} {name} -o yaml` before sending it again",
            kind.to_lowercase()
        ),
        other => format!("{verb} {kind} {name}: {other}"),
    }
}

/// A Kubernetes error about a RayCluster in words; a 403 names the verb that is missing.
fn kube_error(verb: &str, name: &str, e: kube::Error) -> String {
    kube_error_of("RayCluster", verb, name, e)
}
