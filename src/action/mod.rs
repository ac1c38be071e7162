//! Operator actions: values that name their target (context, namespace, RayCluster, group; a
//! dashboard and an application; a trial), never a row index, since rows are rebuilt on every
//! watch event and the selection can move before the user confirms. Planning is pure and shows
//! each field before and after; the executor (`exec.rs`) re-reads the target, plans again, sends
//! the change and writes the audit log.

pub mod audit;
pub mod exec;
pub mod scale;

use serde::Serialize;

pub use scale::{FieldChange, GroupTarget, ScaleChange, ScaleRequest};

/// Something raytop can change, fully named.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Scale(ScaleRequest),
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Scale(_) => "scale",
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
        }
    }

    /// The target as data, for the audit log.
    pub fn target_json(&self) -> serde_json::Value {
        match self {
            Action::Scale(r) => serde_json::to_value(&r.target).unwrap_or_default(),
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

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
    /// What was sent, planned on the fresh data the executor read (may differ from the preview
    /// when the target changed meanwhile).
    pub changes: Vec<FieldChange>,
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
