//! KubeRay and Kubernetes objects as the Kubernetes source hands them over: the fields of
//! RayCluster (ray.io/v1) raytop reads, and trimmed rows for RayJobs, RayServices, pods, Events and
//! Nodes. Unknown fields are tolerated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The fields of a RayCluster spec raytop reads (ray.io/v1; unknown fields tolerated).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RayClusterSpec {
    pub ray_version: Option<String>,
    pub enable_in_tree_autoscaling: Option<bool>,
    pub suspend: Option<bool>,
    pub head_group_spec: GroupSpec,
    pub worker_group_specs: Vec<GroupSpec>,
    pub auth_options: Option<AuthOptions>,
}

/// Ray token auth as KubeRay sets it up (v1.6+): the token lives in a Secret, key `auth_token`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthOptions {
    pub mode: Option<String>,
    pub secret_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupSpec {
    pub group_name: String,
    pub replicas: Option<i64>,
    pub min_replicas: Option<i64>,
    pub max_replicas: Option<i64>,
    pub num_of_hosts: Option<i64>,
    pub suspend: Option<bool>,
    pub scale_strategy: ScaleStrategy,
    pub template: Value,
    /// Head group only: a user-chosen head Service name (`headService.metadata.name`).
    pub head_service: Value,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ScaleStrategy {
    pub workers_to_delete: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RayClusterStatus {
    pub state: Option<String>,
    pub reason: Option<String>,
    pub desired_worker_replicas: Option<i64>,
    pub available_worker_replicas: Option<i64>,
    pub ready_worker_replicas: Option<i64>,
    #[serde(rename = "desiredCPU")]
    pub desired_cpu: Option<String>,
    pub desired_memory: Option<String>,
    #[serde(rename = "desiredGPU")]
    pub desired_gpu: Option<String>,
    pub conditions: Vec<Condition>,
    pub head: HeadStatus,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct HeadStatus {
    pub service_name: Option<String>,
    #[serde(rename = "podIP")]
    pub pod_ip: Option<String>,
}

/// How to reach a RayCluster's dashboard through the API server's service proxy (facts §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DashboardRoute {
    pub namespace: String,
    /// The RayCluster: its head Service must carry `ray.io/cluster=<cluster>` before the token
    /// goes through it.
    pub cluster: String,
    /// The head Service: `status.head.serviceName`, the spec's override, else `<cluster>-head-svc`.
    pub service: String,
    /// The Secret holding the Ray token when token auth is on, and its key in that Secret.
    pub token_secret: Option<String>,
    pub token_key: String,
}

/// The Secret key KubeRay's `authOptions` keeps the token under.
pub const KUBERAY_TOKEN_KEY: &str = "auth_token";

impl DashboardRoute {
    pub fn of(rc: &RayClusterObj) -> DashboardRoute {
        let service = rc
            .status
            .head
            .service_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| rc.spec.head_group_spec.head_service["metadata"]["name"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{}-head-svc", rc.name));
        let from_auth_options = rc.spec.auth_options.as_ref().filter(|a| a.mode.as_deref() == Some("token")).map(|a| {
            let name = a.secret_name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| rc.name.clone());
            (name, KUBERAY_TOKEN_KEY.to_string())
        });
        let (token_secret, token_key) = match from_auth_options.or_else(|| head_env_token_ref(&rc.spec.head_group_spec))
        {
            Some((name, key)) => (Some(name), key),
            None => (None, KUBERAY_TOKEN_KEY.to_string()),
        };
        DashboardRoute { namespace: rc.namespace.clone(), cluster: rc.name.clone(), service, token_secret, token_key }
    }

    /// Where the token was said to be, for the screen: `Secret NAME` (or `NAME key KEY`).
    pub fn token_place(&self) -> Option<String> {
        self.token_secret.as_ref().map(|s| {
            if self.token_key == KUBERAY_TOKEN_KEY { s.clone() } else { format!("{s} key {}", self.token_key) }
        })
    }

    /// Why this route must not be used: the Service and Secret names come from the RayCluster
    /// object, and whoever can write one could otherwise steer the proxy path (`../`) or the
    /// token read to other objects.
    pub fn invalid(&self) -> Option<String> {
        if !is_dns_label(&self.namespace) {
            return Some(format!("namespace {:?} is not a valid Kubernetes name", self.namespace));
        }
        if !is_dns_label(&self.service) {
            return Some(format!("head Service name {:?} is not a valid Kubernetes name: not used", self.service));
        }
        match &self.token_secret {
            Some(s) if !is_dns_subdomain(s) => {
                Some(format!("token Secret name {s:?} is not a valid Kubernetes name: not read"))
            }
            _ => None,
        }
    }

    /// The path prefix under the API server; dashboard paths are appended to it.
    pub fn proxy_path(&self) -> String {
        format!("/api/v1/namespaces/{}/services/{}:dashboard/proxy", self.namespace, self.service)
    }
}

/// Token auth set up by hand, as KubeRay before v1.6 (no `authOptions`) leaves it: the head's Ray
/// container (the first, as KubeRay takes it) has `RAY_AUTH_MODE=token` and takes `RAY_AUTH_TOKEN`
/// from a Secret. Returns that Secret's name and key. A token written inline in the spec is not
/// picked up: it would be read from an object many more users can read than a Secret.
fn head_env_token_ref(head: &GroupSpec) -> Option<(String, String)> {
    let env = head.template["spec"]["containers"][0]["env"].as_array()?;
    let var = |name: &str| env.iter().find(|e| e["name"] == name);
    if var("RAY_AUTH_MODE")?["value"].as_str() != Some("token") {
        return None;
    }
    let secret = &var("RAY_AUTH_TOKEN")?["valueFrom"]["secretKeyRef"];
    Some((secret["name"].as_str()?.to_string(), secret["key"].as_str()?.to_string()))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// A RayCluster as the source hands it over.
#[derive(Debug, Clone, PartialEq)]
pub struct RayClusterObj {
    pub name: String,
    pub namespace: String,
    pub created: Option<f64>,
    pub spec: RayClusterSpec,
    pub status: RayClusterStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RayJobObj {
    pub name: String,
    pub namespace: String,
    pub created: Option<f64>,
    pub job_status: String,
    pub deployment_status: String,
    pub cluster: String,
    /// The Ray job's submission id (`status.jobId`): the same job in the dashboard's list.
    pub job_id: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RayServiceObj {
    pub name: String,
    pub namespace: String,
    pub created: Option<f64>,
    /// The Ready condition (or the deprecated serviceStatus).
    pub status: String,
    pub active_cluster: String,
    pub pending_cluster: String,
    /// Serve application → status, from the active cluster.
    pub applications: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodObj {
    pub name: String,
    pub namespace: String,
    pub cluster: String,
    pub group: String,
    pub node_type: String,
    pub phase: String,
    /// Why it is not running: a container's waiting reason, the pod's reason, or Unschedulable.
    pub reason: String,
    pub restarts: i64,
    pub node: String,
    pub ip: String,
    pub created: Option<f64>,
    pub gpu_requests: f64,
    pub ready: bool,
    /// The containers' names in the spec's order (KubeRay puts Ray's first), for the log pane.
    pub containers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventObj {
    pub namespace: String,
    pub object_kind: String,
    pub object_name: String,
    pub kind: String,
    pub reason: String,
    pub message: String,
    pub time: Option<f64>,
    pub count: i64,
}

/// A Kubernetes node as raytop needs it: can it run pods, and how many GPUs does it offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeObj {
    pub name: String,
    pub ready: bool,
    pub unschedulable: bool,
    /// `nvidia.com/gpu` (and any other resource ending in `gpu`) in capacity and allocatable.
    pub gpu_capacity: f64,
    pub gpu_allocatable: f64,
    /// The `nvidia.com/gpu.product` label of GPU feature discovery, when set.
    pub gpu_product: String,
}

/// An RFC 1123 label (Service and namespace names): 1-63 of `a-z0-9-`, alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    let ok_char = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|c| ok_char(*c))
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// An RFC 1123 subdomain (Secret names): up to 253 characters of dot-separated labels.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A Kubernetes quantity as a number: "2", "500m", "16Gi", 1.
pub fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    const SUFFIXES: [(&str, f64); 11] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("m", 0.001),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("E", 1e18),
        ("P", 1e15),
    ];
    for (suffix, mul) in SUFFIXES {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * mul);
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn only_kubernetes_names_pass() {
        for ok in ["ray-lab-head-svc", "a", "x1", "raycluster-gpu"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "../secrets", "a/b", "Head", "-a", "a-", "a.b", "svc:dashboard", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("ray.token-secret"));
        assert!(!is_dns_subdomain("ray..token") && !is_dns_subdomain("x/../y") && !is_dns_subdomain(""));
    }
}
