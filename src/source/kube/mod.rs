//! The Kubernetes source: kube-rs watchers, each folding its events into a store of rows, for
//! RayClusters, RayJobs and RayServices (`ray.io/v1`), Ray pods (`ray.io/is-ray-node=yes`) and Events. A watch that expires
//! (410) relists inside the watcher; a lost connection retries with backoff; a 403 on one kind is
//! reported with the verb and resource and the other kinds keep going. Converted rows, not API
//! objects, go to the app, at most every 150 ms per kind.

pub mod access;
pub mod clients;
pub mod convert;
pub mod logs;
pub mod secret;
pub mod slim;
pub mod watch;

pub use clients::{KubeClients, client};
pub use secret::{proxied_client, ray_token};
pub use watch::{WATCH_EVENTS, list_once, run, run_events, scope};

/// Where to look: a kubeconfig context and a namespace (`None` = all namespaces).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
}

/// What the API server said, in its own words when it answered (`r.message`), else the error.
pub fn reason(e: kube::Error) -> String {
    match e {
        kube::Error::Api(r) => r.message,
        other => other.to_string(),
    }
}

/// The API of one KubeRay kind (`RayCluster`, `RayService`, …) in a namespace.
pub fn ray_api(client: &kube::Client, namespace: &str, kind: &str) -> kube::Api<kube::api::DynamicObject> {
    let ar = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk("ray.io", "v1", kind));
    kube::Api::namespaced_with(client.clone(), namespace, &ar)
}
