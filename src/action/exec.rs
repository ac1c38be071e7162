//! The executor: runs an action against the real system with the clients the runtime holds, and
//! writes the audit log around it. One per process; actions run as tasks and report back as a
//! message.

use std::time::{SystemTime, UNIX_EPOCH};

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

use super::audit::{Audit, Entry};
use super::{Action, FieldChange, Outcome, ScaleRequest, scale};
use crate::source::kube::KubeClients;
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
            Action::Scale(r) => match self.scale(r, None).await {
                Ok(done) => Outcome { ok: true, message: format!("patched; {}", done.next), changes: done.fields },
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
        let Action::Scale(r) = action;
        let kc = self.clients.kubeconfig()?;
        let ctx = r.target.context.clone().or(kc.current_context.clone())?;
        kc.contexts.iter().find(|c| c.name == ctx)?.context.as_ref()?.user.clone()
    }

    /// Plans on `seen` (the spec the user looked at) or else a fresh read, and sends the JSON
    /// Patch; a patch refused because the data moved (422 from a failed `test`, 409) is planned
    /// again on a fresh read.
    pub async fn scale(&self, r: &ScaleRequest, seen: Option<RayClusterSpec>) -> Result<Scaled, String> {
        let t = &r.target;
        let client = self.clients.get(t.context.as_deref()).await?.client;
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("ray.io", "v1", "RayCluster"));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &t.namespace, &ar);
        let url = format!("/apis/ray.io/v1/namespaces/{}/rayclusters/{}", t.namespace, t.cluster);
        let mut last = String::new();
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
            let body = serde_json::to_vec(&plan.patch).map_err(|e| e.to_string())?;
            let req = http::Request::patch(&url)
                .header(http::header::CONTENT_TYPE, "application/json-patch+json")
                .body(body)
                .map_err(|e| e.to_string())?;
            match client.request::<DynamicObject>(req).await {
                Ok(_) => return Ok(Scaled { fields: plan.fields, next: plan.next, attempts: attempt }),
                Err(kube::Error::Api(s)) if s.code == 422 || s.code == 409 => {
                    tracing::info!(attempt, code = s.code, message = %s.message, "scale patch refused on stale data; planning again");
                    last = s.message;
                }
                Err(e) => return Err(kube_error("patch", &t.cluster, e)),
            }
        }
        Err(format!("RayCluster {} kept changing under the patch ({ATTEMPTS} tries): {last}", t.cluster))
    }
}

/// A Kubernetes error in words; a 403 names the verb that is missing.
fn kube_error(verb: &str, name: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => format!("forbidden: may not {verb} RayCluster {name}: {}", s.message),
        kube::Error::Api(s) if s.code == 404 => format!("RayCluster {name} not found: {}", s.message),
        kube::Error::Api(s) => format!("{verb} RayCluster {name}: {} ({})", s.message, s.code),
        other => format!("{verb} RayCluster {name}: {other}"),
    }
}
