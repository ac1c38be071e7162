//! Pods and nodes as raytop reads them off the wire: only the fields it shows. Everything else in
//! the API server's JSON (managedFields, env, volumes, probes, a node's image list) is skipped by
//! the parser instead of being built and dropped, which is most of the memory and parse time of
//! watching thousands of pods.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The metadata fields raytop and the watcher read (the watcher resumes from `resourceVersion`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaWire {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    creation_timestamp: Option<Time>,
}

fn slim_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = Option::<MetaWire>::deserialize(d)?;
    Ok(m.map(|m| ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        labels: m.labels,
        creation_timestamp: m.creation_timestamp,
        ..ObjectMeta::default()
    })
    .unwrap_or_default())
}

/// `null` where an object is expected reads as the empty one.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Resource amounts by name; quantities stay JSON values for `model::k8s::quantity`.
pub type Amounts = BTreeMap<String, Value>;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Resources {
    #[serde(default, deserialize_with = "or_default")]
    pub requests: Amounts,
    #[serde(default, deserialize_with = "or_default")]
    pub limits: Amounts,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub resources: Resources,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub node_name: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Condition {
    #[serde(rename = "type", default, deserialize_with = "or_default")]
    pub type_: String,
    #[serde(default, deserialize_with = "or_default")]
    pub status: String,
    pub reason: Option<String>,
    /// Kept for PodScheduled: the scheduler says there what no node has.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Waiting {
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerState {
    pub waiting: Option<Waiting>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    #[serde(default, deserialize_with = "or_default")]
    pub restart_count: i32,
    pub state: Option<ContainerState>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: Option<String>,
    pub reason: Option<String>,
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
    #[serde(default, deserialize_with = "or_default")]
    pub container_statuses: Vec<ContainerStatus>,
}

/// A pod, as much of it as the Kube view shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pod {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: PodSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeSpec {
    pub unschedulable: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeStatus {
    #[serde(default, deserialize_with = "or_default")]
    pub conditions: Vec<Condition>,
    #[serde(default, deserialize_with = "or_default")]
    pub capacity: Amounts,
    #[serde(default, deserialize_with = "or_default")]
    pub allocatable: Amounts,
}

/// A Kubernetes node: can it run pods, and what GPUs it offers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Node {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default, deserialize_with = "or_default")]
    pub spec: NodeSpec,
    #[serde(default, deserialize_with = "or_default")]
    pub status: NodeStatus,
}

/// The type information kube-rs needs to list and watch a core `v1` kind.
macro_rules! core_v1 {
    ($t:ty, $kind:literal, $plural:literal, $scope:ty) => {
        impl kube::Resource for $t {
            type DynamicType = ();
            type Scope = $scope;
            fn kind(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($kind)
            }
            fn group(_: &()) -> Cow<'_, str> {
                Cow::Borrowed("")
            }
            fn version(_: &()) -> Cow<'_, str> {
                Cow::Borrowed("v1")
            }
            fn plural(_: &()) -> Cow<'_, str> {
                Cow::Borrowed($plural)
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

core_v1!(Pod, "Pod", "pods", k8s_openapi::NamespaceResourceScope);
core_v1!(Node, "Node", "nodes", k8s_openapi::ClusterResourceScope);

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn the_paths_are_the_core_ones() {
        assert_eq!(Pod::url_path(&(), Some("ray")), "/api/v1/namespaces/ray/pods");
        assert_eq!(Node::url_path(&(), None), "/api/v1/nodes");
        assert_eq!(Pod::api_version(&()), "v1");
    }

    #[test]
    fn a_pod_reads_what_is_shown_and_skips_the_rest() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "rc-head-x", "namespace": "ray", "uid": "u1", "resourceVersion": "42",
                "labels": {"ray.io/cluster": "rc"},
                "creationTimestamp": "2026-11-30T10:00:00Z",
                "annotations": {"big": "x"},
                "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]
            },
            "spec": {"nodeName": "n1", "containers": [
                {"name": "ray-head", "env": [{"name": "A", "value": "1"}],
                 "resources": {"requests": {"nvidia.com/gpu": "2"}, "limits": null}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "conditions": null,
                       "containerStatuses": [{"restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }))
        .unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("rc-head-x"));
        assert_eq!(p.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(p.metadata.annotations, None);
        assert_eq!(p.metadata.managed_fields, None);
        assert_eq!(p.spec.node_name.as_deref(), Some("n1"));
        assert_eq!(p.spec.containers[0].resources.requests["nvidia.com/gpu"], "2");
        assert!(p.spec.containers[0].resources.limits.is_empty());
        assert_eq!(p.status.pod_ip.as_deref(), Some("10.0.0.5"));
        assert!(p.status.conditions.is_empty());
        assert_eq!(p.status.container_statuses[0].restart_count, 3);
    }

    #[test]
    fn a_bare_object_reads_as_empty() {
        let p: Pod = serde_json::from_str(r#"{"metadata": null, "spec": null}"#).unwrap();
        assert_eq!(p.metadata.name, None);
        assert!(p.spec.containers.is_empty());
        let n: Node = serde_json::from_str("{}").unwrap();
        assert!(n.status.capacity.is_empty());
    }
}
