//! The Kubernetes source: kube-rs watchers with reflector stores for RayClusters, RayJobs and
//! RayServices (`ray.io/v1`), Ray pods (`ray.io/is-ray-node=yes`) and Events. A watch that expires
//! (410) relists inside the watcher; a lost connection retries with backoff; a 403 on one kind is
//! reported with the verb and resource and the other kinds keep going. Converted rows, not API
//! objects, go to the app, at most every 150 ms per kind.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Node, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher::{self, Event as WEvent};
use kube::runtime::{WatchStreamExt, reflector};
use kube::{Client, Config, Resource, ResourceExt};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::model::DashUpdate;
use crate::model::k8s::DashboardRoute;
use crate::model::k8s::{EventObj, NodeObj, PodObj, RayClusterObj, RayJobObj, RayServiceObj};
use crate::msg::Msg;
use crate::source::dashboard::poller::{self, Interest};
use crate::source::dashboard::{DashboardClient, Endpoint, FetchError};
use crate::source::token::{Token, TokenOrigin};

/// Where to look: a kubeconfig context and a namespace (`None` = all namespaces).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
}

#[derive(Debug, Clone)]
pub enum KubeUpdate {
    Connected { context: Option<String>, namespace: Option<String>, server: String },
    RayClusters(Vec<RayClusterObj>, SystemTime),
    RayJobs(Vec<RayJobObj>, SystemTime),
    RayServices(Vec<RayServiceObj>, SystemTime),
    Pods(Vec<PodObj>, SystemTime),
    Events(Vec<EventObj>, SystemTime),
    Nodes(Vec<NodeObj>, SystemTime),
    Failed { kind: &'static str, error: String, forbidden: bool },
}

fn ray_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("ray.io", "v1", kind))
}

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
fn trim_node(n: &mut Node) {
    if let Some(s) = n.status.as_mut() {
        s.images = None;
        s.volumes_attached = None;
        s.volumes_in_use = None;
    }
}

/// Keeps of a pod only what raytop shows: the store holds thousands of them.
fn trim_pod(p: &mut Pod) {
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

fn keep<K>(_: &mut K) {}

/// Watch events received, all kinds together: the app loop logs the rate it keeps up with.
pub static WATCH_EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Classifies a watcher error: a 403 names what is missing; the rest is connection trouble.
fn describe(kind: &'static str, e: &watcher::Error) -> KubeUpdate {
    let api = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(r)) | watcher::Error::WatchFailed(kube::Error::Api(r)) => {
            Some(r)
        }
        watcher::Error::WatchError(r) => Some(r),
        _ => None,
    };
    match api {
        Some(r) if r.code == 403 => {
            KubeUpdate::Failed { kind, error: format!("forbidden: {}", r.message), forbidden: true }
        }
        Some(r) if r.code == 410 => KubeUpdate::Failed {
            kind,
            error: format!("watch expired (410), relisting: {}", r.message),
            forbidden: false,
        },
        _ => KubeUpdate::Failed { kind, error: e.to_string(), forbidden: false },
    }
}

/// Watches one kind into a reflector store and sends converted rows after changes, coalesced.
#[allow(clippy::too_many_arguments)]
async fn watch<K, R>(
    api: Api<K>,
    dyntype: K::DynamicType,
    cfg: watcher::Config,
    kind: &'static str,
    trim: fn(&mut K),
    convert: fn(&K) -> R,
    wrap: fn(Vec<R>, SystemTime) -> KubeUpdate,
    tx: mpsc::Sender<Msg>,
) where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let writer = reflector::store::Writer::new(dyntype);
    let reader = writer.as_reader();
    let stream = watcher::watcher(api, cfg)
        .default_backoff()
        .modify(move |o| {
            // Nobody reads managedFields; they are often the largest part of an object.
            o.meta_mut().managed_fields = None;
            o.meta_mut().annotations = None;
            trim(o);
        })
        .reflect(writer);
    let mut stream = std::pin::pin!(stream);
    const COALESCE: Duration = Duration::from_millis(150);
    let mut pending = false;
    let mut last_send = Instant::now() - COALESCE;
    let mut ready = false;
    loop {
        let wait = if pending { COALESCE.saturating_sub(last_send.elapsed()) } else { Duration::from_secs(3600) };
        match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(Ok(ev))) => match ev {
                WEvent::InitDone => {
                    ready = true;
                    pending = true;
                }
                WEvent::Apply(_) | WEvent::Delete(_) => {
                    WATCH_EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    pending = true
                }
                WEvent::InitApply(_) => {
                    WATCH_EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                WEvent::Init => {}
            },
            Ok(Some(Err(e))) => {
                tracing::warn!(kind, error = %e, "watch failed");
                if tx.send(Msg::Kube(describe(kind, &e))).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(_) => {} // coalescing window over
        }
        if pending && ready && last_send.elapsed() >= COALESCE {
            let rows: Vec<R> = reader.state().iter().map(|o| convert(o)).collect();
            if tx.send(Msg::Kube(wrap(rows, SystemTime::now()))).await.is_err() {
                return;
            }
            pending = false;
            last_send = Instant::now();
        }
    }
}

/// Builds a client for the target: the kubeconfig (KUBECONFIG or ~/.kube/config) and context.
pub async fn client(target: &Target) -> Result<(Client, Option<String>, String, String), String> {
    let options = kube::config::KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    let config = Config::from_kubeconfig(&options).await.map_err(|e| format!("kubeconfig: {e}"))?;
    let server = config.cluster_url.to_string();
    let default_ns = config.default_namespace.clone();
    let context =
        target.context.clone().or_else(|| kube::config::Kubeconfig::read().ok().and_then(|k| k.current_context));
    let client = Client::try_from(config).map_err(|e| format!("kubernetes client: {e}"))?;
    Ok((client, context, server, default_ns))
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match ns {
        Some(n) => Api::namespaced(client.clone(), n),
        None => Api::all(client.clone()),
    }
}

fn dyn_api(client: &Client, ns: Option<&str>, ar: &ApiResource) -> Api<DynamicObject> {
    match ns {
        Some(n) => Api::namespaced_with(client.clone(), n, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// The namespace to watch: all with `-A`, else the one asked for, else the context's default.
pub fn scope(target: &Target, default_ns: &str) -> Option<String> {
    if target.all_namespaces { None } else { Some(target.namespace.clone().unwrap_or_else(|| default_ns.to_string())) }
}

/// The watch settings. `RAYTOP_KUBE_WATCH_TIMEOUT_S` is a test knob: short watches without
/// bookmarks reconnect often from their last resourceVersion, so a compacted or evicted one (410)
/// shows within seconds instead of minutes.
fn watch_config() -> watcher::Config {
    let cfg = watcher::Config::default();
    match std::env::var("RAYTOP_KUBE_WATCH_TIMEOUT_S").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(secs) => cfg.timeout(secs).disable_bookmarks(),
        None => cfg,
    }
}

/// The Ray token of a cluster with token auth: key `auth_token` of its Secret (facts §2).
pub async fn ray_token(client: &Client, namespace: &str, secret: &str) -> Result<Token, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let s = api.get(secret).await.map_err(|e| match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!("token auth is on but Secret {namespace}/{secret} may not be read: {}", r.message)
        }
        other => format!("token auth is on but Secret {namespace}/{secret} could not be read: {other}"),
    })?;
    let value = s
        .data
        .as_ref()
        .and_then(|d| d.get("auth_token"))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("Secret {namespace}/{secret} has no auth_token"))?;
    Ok(Token { value, origin: TokenOrigin::Secret(format!("{namespace}/{secret}")) })
}

/// Polls one RayCluster's dashboard through the API server's service proxy, with the Ray token
/// from the cluster's Secret when token auth is on. A missing kubeconfig or Secret is reported as
/// the dashboard's error; polling still starts, so the view says what is wrong and recovers when
/// the dashboard answers.
pub async fn dashboard(
    target: Target,
    route: DashboardRoute,
    cluster: usize,
    refresh: Duration,
    timeout: Duration,
    interest: tokio::sync::watch::Receiver<Interest>,
    tx: mpsc::Sender<Msg>,
) {
    let client = match self::client(&target).await {
        Ok((c, ..)) => c,
        Err(e) => {
            let update = DashUpdate::Failed {
                endpoint: Endpoint::Version,
                at: SystemTime::now(),
                error: FetchError::Unreachable(e),
            };
            let _ = tx.send(Msg::Dash { cluster, update }).await;
            return;
        }
    };
    poller::run(proxied_client(client, &route, timeout).await, cluster, refresh, interest, tx).await;
}

/// A dashboard client through the API server's service proxy, with the Ray token from the
/// cluster's Secret when token auth is on. A Secret that cannot be read is kept as the reason the
/// dashboard will answer 401, so the screen names the Secret rather than asking for `--token`.
pub async fn proxied_client(client: Client, route: &DashboardRoute, timeout: Duration) -> DashboardClient {
    let token = match &route.token_secret {
        Some(secret) => ray_token(&client, &route.namespace, secret).await.map(Some),
        None => Ok(None),
    };
    DashboardClient::via_proxy(client, route.proxy_path(), token, timeout)
}

/// Runs the watchers for a target until the app goes away.
pub async fn run(target: Target, tx: mpsc::Sender<Msg>) {
    let (client, context, server, default_ns) = match client(&target).await {
        Ok(c) => c,
        Err(error) => {
            let _ = tx.send(Msg::Kube(KubeUpdate::Failed { kind: "kubeconfig", error, forbidden: false })).await;
            return;
        }
    };
    let ns = scope(&target, &default_ns);
    let _ = tx.send(Msg::Kube(KubeUpdate::Connected { context, namespace: ns.clone(), server })).await;
    let ns = ns.as_deref();
    let rc = dyn_api(&client, ns, &ray_resource("RayCluster"));
    let rj = dyn_api(&client, ns, &ray_resource("RayJob"));
    let rs = dyn_api(&client, ns, &ray_resource("RayService"));
    let pods: Api<Pod> = api(&client, ns);
    let events: Api<Event> = api(&client, ns);
    // Nodes are cluster-wide whatever the namespace: GPU capacity is a property of the cluster.
    let nodes: Api<Node> = Api::all(client.clone());
    let all = watch_config();
    let pod_cfg = all.clone().labels("ray.io/is-ray-node=yes");
    tokio::join!(
        watch(
            rc,
            ray_resource("RayCluster"),
            all.clone(),
            "rayclusters",
            keep,
            ray_cluster,
            KubeUpdate::RayClusters,
            tx.clone()
        ),
        watch(rj, ray_resource("RayJob"), all.clone(), "rayjobs", keep, ray_job, KubeUpdate::RayJobs, tx.clone()),
        watch(
            rs,
            ray_resource("RayService"),
            all.clone(),
            "rayservices",
            keep,
            ray_service,
            KubeUpdate::RayServices,
            tx.clone()
        ),
        watch(pods, (), pod_cfg, "pods", trim_pod, pod, KubeUpdate::Pods, tx.clone()),
        watch(events, (), all.clone(), "events", keep, event, KubeUpdate::Events, tx.clone()),
        watch(nodes, (), all, "nodes", trim_node, node, KubeUpdate::Nodes, tx.clone()),
    );
}

/// Lists everything once, for `raytop snapshot`.
pub async fn list_once(target: &Target) -> Vec<KubeUpdate> {
    let (client, context, server, default_ns) = match client(target).await {
        Ok(c) => c,
        Err(error) => return vec![KubeUpdate::Failed { kind: "kubeconfig", error, forbidden: false }],
    };
    let ns = scope(target, &default_ns);
    let mut out = vec![KubeUpdate::Connected { context, namespace: ns.clone(), server }];
    let ns = ns.as_deref();
    let now = SystemTime::now();
    let fail = |kind: &'static str, e: kube::Error| match e {
        kube::Error::Api(r) if r.code == 403 => {
            KubeUpdate::Failed { kind, error: format!("forbidden: {}", r.message), forbidden: true }
        }
        other => KubeUpdate::Failed { kind, error: other.to_string(), forbidden: false },
    };
    let lp = ListParams::default();
    match dyn_api(&client, ns, &ray_resource("RayCluster")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayClusters(l.items.iter().map(ray_cluster).collect(), now)),
        Err(e) => out.push(fail("rayclusters", e)),
    }
    match dyn_api(&client, ns, &ray_resource("RayJob")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayJobs(l.items.iter().map(ray_job).collect(), now)),
        Err(e) => out.push(fail("rayjobs", e)),
    }
    match dyn_api(&client, ns, &ray_resource("RayService")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayServices(l.items.iter().map(ray_service).collect(), now)),
        Err(e) => out.push(fail("rayservices", e)),
    }
    match api::<Pod>(&client, ns).list(&ListParams::default().labels("ray.io/is-ray-node=yes")).await {
        Ok(l) => out.push(KubeUpdate::Pods(l.items.iter().map(pod).collect(), now)),
        Err(e) => out.push(fail("pods", e)),
    }
    match api::<Event>(&client, ns).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::Events(l.items.iter().map(event).collect(), now)),
        Err(e) => out.push(fail("events", e)),
    }
    match Api::<Node>::all(client.clone()).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::Nodes(l.items.iter().map(node).collect(), now)),
        Err(e) => out.push(fail("nodes", e)),
    }
    out
}
