//! Scaling a KubeRay worker group, planned before anything is sent: which fields change, from what
//! to what, what happens next, and the RFC 6902 JSON Patch that does it. Pure; the executor reads
//! the RayCluster fresh, plans again and sends the patch.
//!
//! The patch names the group by index (`/spec/workerGroupSpecs/<i>/…`), so it starts with a `test`
//! of that index's `groupName`, and a `test` of every value it replaces: if the group list was
//! reordered, or the autoscaler moved a value, between the read and the write, the API server
//! refuses the whole patch (422) and the executor plans again on fresh data. Nothing is ever
//! overwritten blindly.

use serde::Serialize;
use serde_json::{Value, json};

pub use crate::msg::FieldChange;
use crate::wire::k8s::{GroupSpec, RayClusterSpec};

/// KubeRay's default `maxReplicas` when the spec leaves it out.
const DEFAULT_MAX: i64 = i32::MAX as i64;

/// Which worker group of which RayCluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupTarget {
    /// The kubeconfig context (`None`: the current one).
    pub context: Option<String>,
    pub namespace: String,
    pub cluster: String,
    pub group: String,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ScaleChange {
    /// `+`/`-`/`s`: this many workers. With the autoscaler on, moves min or max instead.
    Workers(i64),
    /// One worker more or fewer than the group has now (planned against fresh data).
    Step(i64),
    /// `--replicas N`: refused when the autoscaler owns replicas.
    Replicas(i64),
    Min(i64),
    Max(i64),
    /// Remove exactly this pod: replicas - 1 and `scaleStrategy.workersToDelete` in one patch.
    DeletePod(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleRequest {
    pub target: GroupTarget,
    pub change: ScaleChange,
}

/// A checked change, ready to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalePlan {
    pub index: usize,
    pub autoscaling: bool,
    pub fields: Vec<FieldChange>,
    /// What the cluster will do after the patch lands.
    pub next: String,
    pub warnings: Vec<String>,
    /// The JSON Patch (RFC 6902) body.
    pub patch: Value,
}

fn show(v: Option<i64>) -> String {
    match v {
        Some(n) if n >= DEFAULT_MAX => "∞".into(),
        Some(n) => n.to_string(),
        None => "unset".into(),
    }
}

/// Plans a change against a RayCluster spec. An error says what is wrong and what to do instead.
pub fn plan(spec: &RayClusterSpec, change: &ScaleChange, group: &str) -> Result<ScalePlan, String> {
    let Some((index, g)) = spec.worker_group_specs.iter().enumerate().find(|(_, g)| g.group_name == group) else {
        let names: Vec<&str> = spec.worker_group_specs.iter().map(|g| g.group_name.as_str()).collect();
        return Err(format!("no worker group {group:?}; the groups are: {}", names.join(", ")));
    };
    let autoscaling = spec.enable_in_tree_autoscaling == Some(true);
    let min = g.min_replicas.unwrap_or(0);
    let max = g.max_replicas.unwrap_or(DEFAULT_MAX);
    let replicas = g.replicas.unwrap_or(min);
    let mut new = (g.replicas, g.min_replicas, g.max_replicas);
    let mut delete = None;
    let mut warnings = Vec::new();
    let workers = match change {
        ScaleChange::Step(d) => Some(replicas.saturating_add(*d)),
        ScaleChange::Workers(n) => Some(*n),
        _ => None,
    };
    if let Some(n) = workers {
        if n < 0 {
            return Err(format!("{n} workers: a group cannot have fewer than 0"));
        }
        if !autoscaling {
            new.0 = Some(n);
        } else if n > replicas {
            // The autoscaler owns replicas: raise the floor it must respect (never lower it).
            new.1 = Some(n.max(min));
            if n > max {
                new.2 = Some(n);
            }
        } else if n < replicas {
            // ...or lower the ceiling (never raise it).
            new.2 = Some(n.min(max));
            if n < min {
                new.1 = Some(n);
            }
        } else {
            return Err(format!("{group} already has {n} workers"));
        }
    } else {
        match change {
            ScaleChange::Replicas(_) if autoscaling => {
                return Err(format!(
                    "the autoscaler owns replicas of {group} (enableInTreeAutoscaling): use --min N to grow it, \
                     --max N to shrink it"
                ));
            }
            ScaleChange::Replicas(n) => new.0 = Some(*n),
            ScaleChange::Min(n) => new.1 = Some(*n),
            ScaleChange::Max(n) => new.2 = Some(*n),
            ScaleChange::DeletePod(pod) => {
                if replicas < 1 {
                    return Err(format!("{group} has no replicas to remove {pod} from"));
                }
                new.0 = Some(replicas - 1);
                delete = Some(pod.clone());
            }
            ScaleChange::Workers(_) | ScaleChange::Step(_) => {}
        }
    }
    let (r, lo, hi) = (new.0.unwrap_or(replicas), new.1.unwrap_or(0), new.2.unwrap_or(DEFAULT_MAX));
    if lo < 0 || r < 0 || hi < 0 {
        return Err("counts cannot be negative".into());
    }
    if [new.0, new.1, new.2].iter().flatten().any(|v| *v > DEFAULT_MAX) {
        return Err(format!("counts above {DEFAULT_MAX} are not valid replica counts"));
    }
    if lo > hi {
        return Err(format!("min {lo} would exceed max {}", show(Some(hi))));
    }
    // With the autoscaler, replicas follow min and max; without, they must lie between them.
    if !autoscaling && !(lo..=hi).contains(&r) {
        let fix = if r < lo { format!("lower min to {r} first") } else { format!("raise max to {r} first") };
        return Err(format!("{r} replicas would leave [{lo}..{}]: {fix}", show(Some(hi))));
    }
    if delete.is_some() && autoscaling && r < lo {
        warnings.push(format!("min is {lo}: the autoscaler will start a new worker to replace the removed one"));
    }
    let mut fields = Vec::new();
    let mut ops =
        vec![json!({"op": "test", "path": format!("/spec/workerGroupSpecs/{index}/groupName"), "value": group})];
    for (field, key, before, after) in [
        ("replicas", "replicas", g.replicas, new.0),
        ("minReplicas", "minReplicas", g.min_replicas, new.1),
        ("maxReplicas", "maxReplicas", g.max_replicas, new.2),
    ] {
        if before == after {
            continue;
        }
        let path = format!("/spec/workerGroupSpecs/{index}/{key}");
        if let Some(b) = before {
            ops.push(json!({"op": "test", "path": path, "value": b}));
        }
        ops.push(json!({"op": "add", "path": path, "value": after}));
        fields.push(FieldChange { field, before: show(before), after: show(after) });
    }
    if let Some(pod) = &delete {
        let current = g.scale_strategy.workers_to_delete.clone();
        let mut list = current.clone().unwrap_or_default();
        if list.contains(pod) {
            return Err(format!("{pod} is already being removed"));
        }
        if let Some(current) = current {
            // The list someone else (the autoscaler) may be editing: only replace what we read.
            ops.push(json!({
                "op": "test",
                "path": format!("/spec/workerGroupSpecs/{index}/scaleStrategy/workersToDelete"),
                "value": current,
            }));
        }
        let before = list.join(",");
        list.push(pod.clone());
        ops.push(json!({
            "op": "add",
            "path": format!("/spec/workerGroupSpecs/{index}/scaleStrategy"),
            "value": {"workersToDelete": list},
        }));
        fields.push(FieldChange {
            field: "scaleStrategy.workersToDelete",
            before: if before.is_empty() { "[]".into() } else { format!("[{before}]") },
            after: format!("[{}]", list.join(",")),
        });
    }
    if fields.is_empty() {
        return Err(format!("{group} already matches: nothing to change"));
    }
    let next = what_next(g, autoscaling, replicas, (r, lo, hi), delete.as_deref());
    Ok(ScalePlan { index, autoscaling, fields, next, warnings, patch: Value::Array(ops) })
}

/// What the operator or the autoscaler does once the patch lands, in one sentence.
fn what_next(
    g: &GroupSpec,
    autoscaling: bool,
    replicas: i64,
    (r, lo, hi): (i64, i64, i64),
    delete: Option<&str>,
) -> String {
    let name = &g.group_name;
    if let Some(pod) = delete {
        return format!("KubeRay deletes pod {pod}; {name} goes from {replicas} to {r} workers");
    }
    if autoscaling {
        // KubeRay runs clamp(replicas, min, max) pods itself (seen on v1.5.0: min 0 → 2 with
        // replicas 1 made the operator create the second pod at once while the autoscaler left
        // replicas at 1), so the bound moves the pods before the autoscaler writes anything.
        if lo > replicas {
            return format!(
                "the autoscaler owns replicas; min {} → {lo}: KubeRay creates {} pod(s) at once (it keeps at least min)",
                g.min_replicas.unwrap_or(0),
                lo.saturating_sub(replicas)
            );
        }
        if hi < replicas {
            return format!(
                "the autoscaler owns replicas; max {} → {hi}: KubeRay deletes {} pod(s) at once (it keeps at most max)",
                show(g.max_replicas),
                replicas.saturating_sub(hi)
            );
        }
        return format!("the autoscaler keeps {name} between {lo} and {}; it has {replicas} now", show(Some(hi)));
    }
    match r.cmp(&replicas) {
        std::cmp::Ordering::Greater => format!("KubeRay creates {} pod(s) for {name}", r.saturating_sub(replicas)),
        std::cmp::Ordering::Less => {
            format!(
                "KubeRay deletes {} pod(s) of {name}, chosen at random (x on a pod picks one)",
                replicas.saturating_sub(r)
            )
        }
        std::cmp::Ordering::Equal => format!("{name} keeps {r} worker(s); only its bounds change"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(autoscaling: bool, replicas: i64, min: i64, max: i64) -> RayClusterSpec {
        let mut s = RayClusterSpec { enable_in_tree_autoscaling: Some(autoscaling), ..Default::default() };
        for (name, r) in [("cpu-group", 1), ("gpu-group", replicas)] {
            s.worker_group_specs.push(GroupSpec {
                group_name: name.into(),
                replicas: Some(r),
                min_replicas: Some(min),
                max_replicas: Some(max),
                ..Default::default()
            });
        }
        s
    }

    fn ops(p: &ScalePlan) -> Vec<(String, String, Value)> {
        p.patch
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (o["op"].as_str().unwrap().into(), o["path"].as_str().unwrap().into(), o["value"].clone()))
            .collect()
    }

    #[test]
    fn without_autoscaler_replicas_move_and_the_patch_tests_name_and_value() {
        let p = plan(&spec(false, 1, 0, 3), &ScaleChange::Step(1), "gpu-group").unwrap();
        assert_eq!(p.index, 1);
        assert_eq!(
            ops(&p),
            vec![
                ("test".into(), "/spec/workerGroupSpecs/1/groupName".into(), json!("gpu-group")),
                ("test".into(), "/spec/workerGroupSpecs/1/replicas".into(), json!(1)),
                ("add".into(), "/spec/workerGroupSpecs/1/replicas".into(), json!(2)),
            ]
        );
        assert_eq!(p.fields, vec![FieldChange { field: "replicas", before: "1".into(), after: "2".into() }]);
        assert_eq!(p.next, "KubeRay creates 1 pod(s) for gpu-group");
    }

    #[test]
    fn with_autoscaler_a_step_moves_min_or_max_and_replicas_alone_is_refused() {
        let s = spec(true, 1, 1, 4);
        let p = plan(&s, &ScaleChange::Workers(4), "gpu-group").unwrap();
        assert_eq!(p.fields, vec![FieldChange { field: "minReplicas", before: "1".into(), after: "4".into() }]);
        assert_eq!(
            p.next,
            "the autoscaler owns replicas; min 1 → 4: KubeRay creates 3 pod(s) at once (it keeps at least min)"
        );
        let p = plan(&s, &ScaleChange::Step(-1), "gpu-group").unwrap();
        assert_eq!(
            p.fields,
            vec![
                FieldChange { field: "minReplicas", before: "1".into(), after: "0".into() },
                FieldChange { field: "maxReplicas", before: "4".into(), after: "0".into() },
            ]
        );
        let e = plan(&s, &ScaleChange::Replicas(3), "gpu-group").unwrap_err();
        assert!(e.contains("--min N") && e.contains("--max N"), "{e}");
    }

    #[test]
    fn with_autoscaler_bounds_only_move_the_way_asked() {
        // replicas (1) below min (3), as a stale or unset value can be: one more raises the
        // floor to... nothing lower than it is.
        let s = spec(true, 1, 3, 6);
        let e = plan(&s, &ScaleChange::Step(1), "gpu-group").unwrap_err();
        assert!(e.contains("nothing to change"), "{e}");
        // replicas (5) above max (4): one fewer never raises the ceiling (to 4, where it is).
        let s = spec(true, 5, 0, 4);
        let e = plan(&s, &ScaleChange::Step(-1), "gpu-group").unwrap_err();
        assert!(e.contains("nothing to change"), "{e}");
        // Two fewer lowers it to 3.
        let p = plan(&s, &ScaleChange::Workers(3), "gpu-group").unwrap();
        assert_eq!(p.fields, vec![FieldChange { field: "maxReplicas", before: "4".into(), after: "3".into() }]);
    }

    #[test]
    fn invalid_values_are_refused_before_anything_is_sent() {
        let s = spec(false, 2, 1, 3);
        assert!(plan(&s, &ScaleChange::Replicas(4), "gpu-group").unwrap_err().contains("raise max to 4"));
        assert!(plan(&s, &ScaleChange::Replicas(0), "gpu-group").unwrap_err().contains("lower min to 0"));
        assert!(plan(&s, &ScaleChange::Min(3), "gpu-group").unwrap_err().contains("2 replicas would leave [3..3]"));
        assert!(plan(&s, &ScaleChange::Max(0), "gpu-group").unwrap_err().contains("min 1 would exceed max 0"));
        assert!(plan(&s, &ScaleChange::Workers(-1), "gpu-group").unwrap_err().contains("fewer than 0"));
        assert!(plan(&s, &ScaleChange::Replicas(2), "gpu-group").unwrap_err().contains("nothing to change"));
        assert!(plan(&s, &ScaleChange::Step(1), "tpu-group").unwrap_err().contains("cpu-group, gpu-group"));
        assert!(
            plan(&s, &ScaleChange::Max(3_000_000_000), "gpu-group").unwrap_err().contains("not valid replica counts")
        );
    }

    #[test]
    fn removing_a_pod_lowers_replicas_and_names_it_in_one_patch() {
        let p = plan(&spec(true, 2, 0, 3), &ScaleChange::DeletePod("rc-gpu-worker-abcde".into()), "gpu-group").unwrap();
        let o = ops(&p);
        assert_eq!(o[2], ("add".into(), "/spec/workerGroupSpecs/1/replicas".into(), json!(1)));
        assert_eq!(
            o[3],
            (
                "add".into(),
                "/spec/workerGroupSpecs/1/scaleStrategy".into(),
                json!({"workersToDelete": ["rc-gpu-worker-abcde"]})
            )
        );
        assert_eq!(p.next, "KubeRay deletes pod rc-gpu-worker-abcde; gpu-group goes from 2 to 1 workers");
    }
}
