//! Operator actions: values that name their target (context, namespace, RayCluster, group; a
//! dashboard and an application; a trial), never a row index, since rows are rebuilt on every
//! watch event and the selection can move before the user confirms. Planning is pure and shows
//! each field before and after; the executor (`exec.rs`) re-reads the target, plans again, sends
//! the change and writes the audit log.

pub mod audit;
pub mod cancel;
pub mod exec;
pub mod scale;
pub mod serve;

use serde::Serialize;

pub use crate::msg::{FieldChange, Outcome};
pub use scale::{GroupTarget, ScaleChange, ScaleRequest};
pub use serve::ServeChange;

/// Where a Serve application's config lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum ServeTarget {
    /// The dashboard itself (PUT /api/serve/applications/).
    Dashboard {
        dashboard: String,
        #[serde(skip)]
        key: crate::msg::DashKey,
    },
    /// A RayService's `spec.serveConfigV2`, which KubeRay applies.
    RayService { context: Option<String>, namespace: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeRequest {
    pub target: ServeTarget,
    pub app: String,
    pub change: ServeChange,
    /// The new value of `RAYTOP_REDEPLOY_AT` (a redeploy), chosen when the change is planned so
    /// the confirmation shows exactly what is sent.
    pub nonce: String,
}

/// Something raytop can change, fully named.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Scale(ScaleRequest),
    Serve(ServeRequest),
    CancelTrial(cancel::CancelRequest),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Scale(_) => "scale",
            Action::Serve(ServeRequest { change: ServeChange::Redeploy, .. }) => "redeploy",
            Action::Serve(_) => "serve_replicas",
            Action::CancelTrial(_) => "cancel_trial",
        }
    }

    /// The kubeconfig context it goes through, if any.
    pub fn context(&self) -> Option<&str> {
        match self {
            Action::Scale(r) => r.target.context.as_deref(),
            Action::Serve(ServeRequest { target: ServeTarget::RayService { context, .. }, .. }) => context.as_deref(),
            Action::Serve(ServeRequest {
                target: ServeTarget::Dashboard { key: crate::msg::DashKey::Proxied { context, .. }, .. },
                ..
            }) => context.as_deref(),
            Action::Serve(_) => None,
            Action::CancelTrial(c) => match &c.key {
                crate::msg::DashKey::Proxied { context, .. } => context.as_deref(),
                crate::msg::DashKey::Url(_) => None,
            },
        }
    }

    /// The target in words, for the popup and the command line.
    pub fn target(&self) -> String {
        match self {
            Action::Scale(r) => format!(
                "RayCluster {}/{} group {}{}",
                r.target.namespace,
                r.target.cluster,
                r.target.group,
                r.target.context.as_ref().map(|c| format!(" (context {c})")).unwrap_or_default()
            ),
            Action::Serve(r) => {
                let what = match &r.change {
                    ServeChange::Redeploy => format!("Serve application {}", r.app),
                    ServeChange::Replicas { deployment, .. } => format!("Serve deployment {}/{deployment}", r.app),
                };
                match &r.target {
                    ServeTarget::Dashboard { dashboard, .. } => format!("{what} on dashboard {dashboard}"),
                    ServeTarget::RayService { namespace, name, .. } => {
                        format!("{what} in RayService {namespace}/{name} (spec.serveConfigV2)")
                    }
                }
            }
            Action::CancelTrial(c) => format!(
                "trial {} of experiment {} (pid {} on {}, dashboard {})",
                c.trial_id, c.experiment, c.pid, c.node_ip, c.dashboard
            ),
        }
    }

    /// The target as data, for the audit log.
    pub fn target_json(&self) -> serde_json::Value {
        match self {
            Action::Scale(r) => serde_json::to_value(&r.target).unwrap_or_default(),
            Action::Serve(r) => serde_json::json!({"target": r.target, "app": r.app, "change": r.change}),
            Action::CancelTrial(c) => serde_json::to_value(c).unwrap_or_default(),
        }
    }
}

/// What the confirmation shows: the change, field by field, and what follows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub title: String,
    pub target: String,
    pub fields: Vec<FieldChange>,
    pub next: String,
    pub warnings: Vec<String>,
}

/// Plans a scale against the RayCluster spec raytop has; the executor plans again on fresh data.
pub fn preview_scale(spec: &crate::wire::k8s::RayClusterSpec, req: &ScaleRequest) -> Result<Preview, String> {
    let p = scale::plan(spec, &req.change, &req.target.group)?;
    let title = match &req.change {
        ScaleChange::DeletePod(pod) => format!("Remove pod {pod}"),
        _ => format!("Scale {}", req.target.group),
    };
    let mut warnings = p.warnings;
    if p.autoscaling && matches!(req.change, ScaleChange::Workers(_) | ScaleChange::Step(_)) {
        warnings.insert(0, "the autoscaler owns replicas: this moves minReplicas/maxReplicas instead".into());
    }
    Ok(Preview { title, target: Action::Scale(req.clone()).target(), fields: p.fields, next: p.next, warnings })
}

/// Plans a Serve change against the application raytop shows; the executor plans again on the
/// deployed config it reads.
pub fn preview_serve(app: &crate::model::serve::Application, req: &ServeRequest) -> Result<Preview, String> {
    let nonce = req.nonce.as_str();
    if !app.from_config && matches!(req.target, ServeTarget::Dashboard { .. }) {
        return Err(format!("{} was deployed from Python, not a config: a config PUT would delete it", app.name));
    }
    let (title, fields, next) = match &req.change {
        ServeChange::Redeploy => {
            let replicas: usize = app.deployments.iter().map(|d| d.replicas.len()).sum();
            (
                format!("Redeploy {}", app.name),
                vec![FieldChange {
                    field: "runtime_env.env_vars.RAYTOP_REDEPLOY_AT",
                    before: app.redeploy_nonce.clone().unwrap_or_else(|| "unset".into()),
                    after: nonce.into(),
                }],
                format!(
                    "Serve replaces all {replicas} replica(s) of {}, a share at a time; other applications keep theirs",
                    app.name
                ),
            )
        }
        ServeChange::Replicas { deployment, replicas } => {
            let d = app
                .deployments
                .iter()
                .find(|d| d.name == *deployment)
                .ok_or_else(|| format!("no deployment {deployment} in {}", app.name))?;
            let before = d.target_replicas.map_or("unset".into(), |n| n.to_string());
            if before == replicas.to_string() {
                return Err(format!("{deployment} already has {replicas} replica(s)"));
            }
            (
                format!("Set replicas of {deployment}"),
                vec![FieldChange { field: "num_replicas", before, after: replicas.to_string() }],
                format!("Serve brings {deployment} to {replicas} replica(s); no other replica restarts"),
            )
        }
    };
    let mut warnings = Vec::new();
    if app.status != "RUNNING" {
        warnings.push(format!("{} is {} already: see its message in the Serve view", app.name, app.status));
    }
    if let ServeTarget::RayService { name, .. } = &req.target {
        warnings.push(format!(
            "KubeRay applies it: RayService {name}'s serveConfigV2 is rewritten (comments are not kept)"
        ));
    }
    Ok(Preview { title, target: Action::Serve(req.clone()).target(), fields, next, warnings })
}

/// What cancelling a trial will do.
pub fn preview_cancel(req: &cancel::CancelRequest) -> Preview {
    let (fields, next, warnings) = cancel::plan(req);
    Preview {
        title: format!("Cancel trial {}", req.trial_id),
        target: Action::CancelTrial(req.clone()).target(),
        fields,
        next,
        warnings,
    }
}
