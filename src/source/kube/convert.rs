//! API objects into the rows raytop keeps: KubeRay objects read from their JSON, pods and nodes
//! from their slim wire forms. Only rows are kept, never the objects.

use k8s_openapi::api::core::v1::Event;
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use serde_json::Value;

use super::slim::{Amounts, Node, Pod};
use crate::wire::k8s::{EventObj, NodeObj, PodObj, RayClusterObj, RayJobObj, RayServiceObj};

fn unix(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<f64> {
    t.map(|t| t.0.as_second() as f64)
}

pub fn ray_cluster(o: &DynamicObject) -> RayClusterObj {
    RayClusterObj {
        name: o.name_any(),
        namespace: o.namespace().unwrap_or_default(),
        created: unix(o.meta().creation_timestamp.as_ref()),
        spec: serde_json::from_value(o.data["spec"].clone()).unwrap_or_default(),
        status: serde_json::from_value(o.data["status"].clone()).unwrap_or_default(),
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

pub fn ray_job(o: &DynamicObject) -> RayJobObj {
    let st = &o.data["status"];
    RayJobObj {
        name: o.name_any(),
        namespace: o.namespace().unwrap_or_default(),
        created: unix(o.meta().creation_timestamp.as_ref()),
        job_status: s(&st["jobStatus"]),
        deployment_status: s(&st["jobDeploymentStatus"]),
        cluster: s(&st["rayClusterName"]),
        job_id: s(&st["jobId"]),
        message: s(&st["message"]),
    }
}

pub fn ray_service(o: &DynamicObject) -> RayServiceObj {
    let st = &o.data["status"];
    let ready = st["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Ready");
    let status = match ready {
        Some(c) if c["status"] == "True" => "Ready".to_string(),
        Some(c) => format!("NotReady: {}", s(&c["reason"])),
        None => s(&st["serviceStatus"]),
    };
    let applications = st["activeServiceStatus"]["applicationStatuses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), s(&v["status"])))
        .collect();
    RayServiceObj {
        name: o.name_any(),
        namespace: o.namespace().unwrap_or_default(),
        created: unix(o.meta().creation_timestamp.as_ref()),
        status,
        active_cluster: s(&st["activeServiceStatus"]["rayClusterName"]),
        pending_cluster: s(&st["pendingServiceStatus"]["rayClusterName"]),
        applications,
    }
}

pub fn pod(p: &Pod) -> PodObj {
    let labels = p.labels();
    let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
    let status = &p.status;
    let waiting = status
        .container_statuses
        .iter()
        .find_map(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone()));
    let unschedulable = status
        .conditions
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .and_then(|c| c.reason.as_ref().map(|r| with_scheduler_cause(r, c.message.as_deref())));
    // GPU requests as KubeRay counts them: any resource ending in "gpu", requests before limits.
    let gpus: f64 = p
        .spec
        .containers
        .iter()
        .map(|c| {
            let req = gpus(&c.resources.requests);
            if req > 0.0 { req } else { gpus(&c.resources.limits) }
        })
        .sum::<f64>()
        + 0.0; // an empty sum is -0.0
    PodObj {
        name: p.name_any(),
        namespace: p.namespace().unwrap_or_default(),
        cluster: label("ray.io/cluster"),
        group: label("ray.io/group"),
        node_type: label("ray.io/node-type"),
        phase: status.phase.clone().unwrap_or_default(),
        reason: waiting.or_else(|| status.reason.clone()).or(unschedulable).unwrap_or_default(),
        restarts: status.container_statuses.iter().map(|c| i64::from(c.restart_count)).sum(),
        node: p.spec.node_name.clone().unwrap_or_default(),
        ip: status.pod_ip.clone().unwrap_or_default(),
        created: unix(p.meta().creation_timestamp.as_ref()),
        gpu_requests: gpus,
        ready: status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"),
        containers: p.spec.containers.iter().map(|c| c.name.clone()).collect(),
    }
}

/// The scheduler's reason with its cause, the part of its message that names what no node has:
/// "0/1 nodes are available: 1 Insufficient cpu. preemption: …" gives
/// "Unschedulable (1 Insufficient cpu)". That cause is why a group does not grow.
fn with_scheduler_cause(reason: &str, message: Option<&str>) -> String {
    let cause = message
        .and_then(|m| m.split_once("are available: "))
        .map(|(_, rest)| rest.split(". ").next().unwrap_or(rest).trim_end_matches('.').trim())
        .filter(|c| !c.is_empty());
    match cause {
        Some(c) => format!("{reason} ({c})"),
        None => reason.to_string(),
    }
}

/// GPUs among resource amounts: any resource whose name ends in "gpu" (`nvidia.com/gpu`,
/// `amd.com/gpu`).
fn gpus(amounts: &Amounts) -> f64 {
    amounts
        .iter()
        .filter(|(k, _)| k.to_lowercase().ends_with("gpu"))
        .filter_map(|(_, q)| crate::wire::k8s::quantity(q))
        .sum::<f64>()
        + 0.0
}

pub fn event(e: &Event) -> EventObj {
    let time = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second() as f64)
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second() as f64))
        .or_else(|| unix(e.meta().creation_timestamp.as_ref()));
    EventObj {
        namespace: e.namespace().unwrap_or_default(),
        object_kind: e.involved_object.kind.clone().unwrap_or_default(),
        object_name: e.involved_object.name.clone().unwrap_or_default(),
        kind: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: crate::wire::text::clean(e.message.as_deref().unwrap_or_default()),
        time,
        count: i64::from(e.count.unwrap_or(1)),
    }
}

pub fn node(n: &Node) -> NodeObj {
    NodeObj {
        name: n.name_any(),
        ready: n.status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"),
        unschedulable: n.spec.unschedulable.unwrap_or(false),
        gpu_capacity: gpus(&n.status.capacity),
        gpu_allocatable: gpus(&n.status.allocatable),
        gpu_product: n.labels().get("nvidia.com/gpu.product").cloned().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_scheduler_cause;

    #[test]
    fn the_schedulers_cause_follows_its_reason() {
        // As kube-scheduler 1.34 wrote it in the KubeRay lab for the seed's 4-CPU workers.
        let real = "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, preemption: 0/1 \
                    nodes are available: 1 Preemption is not helpful for scheduling.";
        assert_eq!(with_scheduler_cause("Unschedulable", Some(real)), "Unschedulable (1 Insufficient cpu)");
        let gpu = "0/3 nodes are available: 3 Insufficient cpu, 3 Insufficient nvidia.com/gpu.";
        assert_eq!(
            with_scheduler_cause("Unschedulable", Some(gpu)),
            "Unschedulable (3 Insufficient cpu, 3 Insufficient nvidia.com/gpu)"
        );
        assert_eq!(with_scheduler_cause("Unschedulable", Some("something else")), "Unschedulable");
        assert_eq!(with_scheduler_cause("Unschedulable", None), "Unschedulable");
    }
}
