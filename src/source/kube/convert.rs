//! API objects into the rows raytop keeps: KubeRay objects read from their JSON, pods and nodes
//! trimmed to what is shown (the stores hold thousands of them).

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::DynamicObject;
use kube::{Resource, ResourceExt};
use serde_json::Value;

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
    let status = p.status.as_ref();
    let containers = status.and_then(|s| s.container_statuses.as_ref());
    let waiting = containers
        .into_iter()
        .flatten()
        .find_map(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone()));
    let unschedulable = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .and_then(|c| c.reason.clone());
    // GPU requests as KubeRay counts them: any resource ending in "gpu", requests before limits.
    let gpus: f64 = p
        .spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| {
            let sum = |m: Option<
                &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
            >|
             -> f64 {
                m.into_iter()
                    .flatten()
                    .filter(|(k, _)| k.to_lowercase().ends_with("gpu"))
                    .filter_map(|(_, q)| crate::model::k8s::quantity(&Value::String(q.0.clone())))
                    .sum()
            };
            let r = c.resources.as_ref();
            let req = sum(r.and_then(|r| r.requests.as_ref()));
            if req > 0.0 { req } else { sum(r.and_then(|r| r.limits.as_ref())) }
        })
        .sum::<f64>()
        + 0.0; // an empty sum is -0.0
    PodObj {
        name: p.name_any(),
        namespace: p.namespace().unwrap_or_default(),
        cluster: label("ray.io/cluster"),
        group: label("ray.io/group"),
        node_type: label("ray.io/node-type"),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_default(),
        reason: waiting.or_else(|| status.and_then(|s| s.reason.clone())).or(unschedulable).unwrap_or_default(),
        restarts: containers.into_iter().flatten().map(|c| i64::from(c.restart_count)).sum(),
        node: p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
        ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        created: unix(p.meta().creation_timestamp.as_ref()),
        gpu_requests: gpus,
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
    }
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
        message: crate::model::text::clean(e.message.as_deref().unwrap_or_default()),
        time,
        count: i64::from(e.count.unwrap_or(1)),
    }
}

pub fn node(n: &Node) -> NodeObj {
    type Resources = std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>;
    let status = n.status.as_ref();
    let gpus = |m: Option<&Resources>| -> f64 {
        m.into_iter()
            .flatten()
            .filter(|(k, _)| k.to_lowercase().ends_with("gpu"))
            .filter_map(|(_, q)| crate::model::k8s::quantity(&Value::String(q.0.clone())))
            .sum::<f64>()
            + 0.0
    };
    NodeObj {
        name: n.name_any(),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        unschedulable: n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        gpu_capacity: gpus(status.and_then(|s| s.capacity.as_ref())),
        gpu_allocatable: gpus(status.and_then(|s| s.allocatable.as_ref())),
        gpu_product: n.labels().get("nvidia.com/gpu.product").cloned().unwrap_or_default(),
    }
}

/// A node's image list and attached volumes are its largest parts, and raytop reads neither.
pub fn trim_node(n: &mut Node) {
    if let Some(s) = n.status.as_mut() {
        s.images = None;
        s.volumes_attached = None;
        s.volumes_in_use = None;
    }
}

/// Keeps of a pod only what raytop shows: the store holds thousands of them.
pub fn trim_pod(p: &mut Pod) {
    if let Some(spec) = p.spec.as_mut() {
        spec.volumes = None;
        spec.init_containers = None;
        spec.affinity = None;
        spec.tolerations = None;
        for c in &mut spec.containers {
            c.env = None;
            c.env_from = None;
            c.volume_mounts = None;
            c.command = None;
            c.args = None;
            c.ports = None;
            c.liveness_probe = None;
            c.readiness_probe = None;
            c.startup_probe = None;
            c.lifecycle = None;
        }
    }
    p.metadata.owner_references = None;
}

pub fn keep<K>(_: &mut K) {}
