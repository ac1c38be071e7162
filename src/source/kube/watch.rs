//! The watch engine: one kube-rs watcher per kind, folding its events into a store of converted
//! rows (`Rows`) and sending them after changes, coalesced; and one list of everything, for `raytop snapshot`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WEvent};
use tokio::sync::mpsc;

use super::Target;
use super::clients::{Connected, KubeClients};
use super::convert::{event, node, pod, ray_cluster, ray_job, ray_service};
use super::slim::{Node, Pod};
use crate::msg::{KubeUpdate, Msg, Resource};

fn ray_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("ray.io", "v1", kind))
}

/// Watch events received, all kinds together: the app loop logs the rate it keeps up with.
pub static WATCH_EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Classifies a watcher error: a 403 names what is missing; the rest is connection trouble.
fn describe(kind: Resource, e: &watcher::Error) -> KubeUpdate {
    let api = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(r))
        | watcher::Error::WatchStartFailed(kube::Error::Api(r))
        | watcher::Error::WatchFailed(kube::Error::Api(r)) => Some(r),
        watcher::Error::WatchError(r) => Some(r),
        _ => None,
    };
    match api {
        Some(r) if r.code == 403 => KubeUpdate::Failed {
            kind,
            error: format!("forbidden: {}", r.message),
            forbidden: true,
            at: SystemTime::now(),
        },
        Some(r) if r.code == 410 => KubeUpdate::Failed {
            kind,
            error: format!("watch expired (410), relisting: {}", r.message),
            forbidden: false,
            at: SystemTime::now(),
        },
        // Other answers of the API server (a 404 when the CRD is gone): its own words, not the
        // client's debug dump.
        Some(r) => KubeUpdate::Failed {
            kind,
            error: format!("{} {}: {}", r.code, r.reason, r.message),
            forbidden: false,
            at: SystemTime::now(),
        },
        None => KubeUpdate::Failed { kind, error: e.to_string(), forbidden: false, at: SystemTime::now() },
    }
}

/// What one watch reads and how it turns objects into rows.
struct Kind<K, R> {
    name: Resource,
    /// Objects raytop has no use for are dropped before the store.
    keep: fn(&K) -> bool,
    convert: fn(&K) -> R,
    wrap: fn(Vec<R>, SystemTime) -> KubeUpdate,
}

fn all<K>(_: &K) -> bool {
    true
}

/// A KubeRay kind: every object kept.
fn ray<R>(
    name: Resource,
    convert: fn(&DynamicObject) -> R,
    wrap: fn(Vec<R>, SystemTime) -> KubeUpdate,
) -> Kind<DynamicObject, R> {
    Kind { name, keep: all, convert, wrap }
}

/// Where an object's row lives in the store: namespace and name, as the API server names it.
type Key = (String, String);

fn key<K: kube::Resource>(o: &K) -> Key {
    let m = o.meta();
    (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default())
}

/// The rows of one kind, built from watch events. Only rows are kept, never the objects: with
/// thousands of pods watched, whole objects would be most of the heap.
struct Rows<R> {
    live: BTreeMap<Key, R>,
    /// The rows of a (re)list in progress; they replace `live` when it is complete, so objects
    /// deleted while the watch was down go away.
    listing: Option<BTreeMap<Key, R>>,
}

impl<R: Clone> Rows<R> {
    fn new() -> Self {
        Rows { live: BTreeMap::new(), listing: None }
    }

    /// Folds one event in; true when the live rows changed.
    fn apply<K: kube::Resource>(&mut self, ev: WEvent<K>, keep: fn(&K) -> bool, convert: fn(&K) -> R) -> bool {
        match ev {
            WEvent::Init => {
                self.listing = Some(BTreeMap::new());
                false
            }
            WEvent::InitApply(o) => {
                if keep(&o) {
                    self.listing.get_or_insert_default().insert(key(&o), convert(&o));
                }
                false
            }
            WEvent::InitDone => {
                self.live = self.listing.take().unwrap_or_default();
                true
            }
            WEvent::Apply(o) if keep(&o) => {
                self.live.insert(key(&o), convert(&o));
                true
            }
            // An object that stopped being of interest leaves like a deleted one.
            WEvent::Apply(o) | WEvent::Delete(o) => self.live.remove(&key(&o)).is_some(),
        }
    }

    fn rows(&self) -> Vec<R> {
        self.live.values().cloned().collect()
    }
}

/// Watches one kind and sends its rows after changes, coalesced.
async fn watch<K, R>(api: Api<K>, cfg: watcher::Config, k: Kind<K, R>, tx: mpsc::Sender<Msg>)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    R: Clone,
{
    let Kind { name: kind, keep, convert, wrap } = k;
    let mut store = Rows::new();
    let probe = api.clone();
    let stream = watcher::watcher(api, cfg).default_backoff();
    let mut stream = std::pin::pin!(stream);
    const COALESCE: Duration = Duration::from_millis(150);
    let mut pending = false;
    let mut last_send = Instant::now() - COALESCE;
    let mut ready = false;
    // After a failure, the watcher resumes silently (no event says so) and a quiet kind would
    // keep showing its error: while failing, a one-item list every few seconds tells when the
    // API server answers again, and the rows are sent again, which clears the error.
    const PROBE_EVERY: Duration = Duration::from_secs(5);
    let mut failing = false;
    loop {
        let wait = if pending {
            COALESCE.saturating_sub(last_send.elapsed())
        } else if failing {
            PROBE_EVERY
        } else {
            Duration::from_secs(3600)
        };
        match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(Ok(ev))) => {
                let counted = matches!(ev, WEvent::Apply(_) | WEvent::Delete(_) | WEvent::InitApply(_));
                let done = matches!(ev, WEvent::InitDone);
                if counted {
                    WATCH_EVENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let changed = store.apply(ev, keep, convert);
                ready |= done;
                // Anything from the stream after a failure: it works again, and the rows are
                // sent again, which clears the error.
                pending |= changed || failing;
                failing = false;
            }
            Ok(Some(Err(e))) => {
                let update = describe(kind, &e);
                match &update {
                    KubeUpdate::Failed { error, .. } if error.starts_with("watch expired (410)") => {
                        tracing::warn!(kind = %kind, "watch expired (410 Gone): relisting");
                    }
                    _ => tracing::warn!(kind = %kind, error = %e, "watch failed"),
                }
                failing = true;
                if tx.send(Msg::Kube(update)).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            // The coalescing window is over, or a probe is due.
            Err(_) => {
                if failing && !pending && probe.list(&ListParams::default().limit(1)).await.is_ok() {
                    failing = false;
                    pending = true;
                }
            }
        }
        if pending && ready && last_send.elapsed() >= COALESCE {
            let rows = store.rows();
            if tx.send(Msg::Kube(wrap(rows, SystemTime::now()))).await.is_err() {
                return;
            }
            pending = false;
            last_send = Instant::now();
        }
    }
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

/// Runs the watchers for a target until the app goes away, on the context's shared client.
pub async fn run(target: Target, clients: KubeClients, tx: mpsc::Sender<Msg>) {
    let Connected { client, context, server, default_ns } = match clients.get(target.context.as_deref()).await {
        Ok(c) => c,
        Err(error) => {
            let _ = tx
                .send(Msg::Kube(KubeUpdate::Failed {
                    kind: Resource::Kubeconfig,
                    error,
                    forbidden: false,
                    at: SystemTime::now(),
                }))
                .await;
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
    // Nodes are cluster-wide whatever the namespace: GPU capacity is a property of the cluster.
    let nodes: Api<Node> = Api::all(client.clone());
    let all_cfg = watch_config();
    let pod_cfg = all_cfg.clone().labels("ray.io/is-ray-node=yes");
    tokio::join!(
        watch(rc, all_cfg.clone(), ray(Resource::RayClusters, ray_cluster, KubeUpdate::RayClusters), tx.clone()),
        watch(rj, all_cfg.clone(), ray(Resource::RayJobs, ray_job, KubeUpdate::RayJobs), tx.clone()),
        watch(rs, all_cfg.clone(), ray(Resource::RayServices, ray_service, KubeUpdate::RayServices), tx.clone()),
        watch(
            pods,
            pod_cfg,
            Kind { name: Resource::Pods, keep: all, convert: pod, wrap: KubeUpdate::Pods },
            tx.clone()
        ),
        watch(
            nodes,
            all_cfg,
            Kind { name: Resource::Nodes, keep: all, convert: node, wrap: KubeUpdate::Nodes },
            tx.clone()
        ),
    );
}

/// Watches the Events of Ray objects (RayClusters, RayJobs, RayServices and KubeRay's pods) in
/// the target's scope. The app runs it only while a view shows events: in a busy namespace, or
/// with `-A`, Events are the largest and fastest-changing kind.
pub async fn run_events(target: Target, clients: KubeClients, tx: mpsc::Sender<Msg>) {
    let Ok(Connected { client, default_ns, .. }) = clients.get(target.context.as_deref()).await else { return };
    let ns = scope(&target, &default_ns);
    let events: Api<Event> = api(&client, ns.as_deref());
    let kind = Kind { name: Resource::Events, keep: about_ray, convert: event, wrap: KubeUpdate::Events };
    watch(events, watch_config(), kind, tx).await;
}

/// Whether an Event is about a Ray object: a KubeRay kind, or a pod named the way KubeRay names
/// its head and worker pods (`<cluster>-head-<id>`, `<cluster>-<group>-worker-<id>`).
pub fn about_ray(e: &Event) -> bool {
    let o = &e.involved_object;
    match o.kind.as_deref() {
        Some("RayCluster" | "RayJob" | "RayService") => true,
        Some("Pod") => o.name.as_deref().is_some_and(|n| n.contains("-head-") || n.contains("-worker-")),
        _ => false,
    }
}

/// Lists everything once, for `raytop snapshot`.
pub async fn list_once(target: &Target, clients: &KubeClients) -> Vec<KubeUpdate> {
    let Connected { client, context, server, default_ns } = match clients.get(target.context.as_deref()).await {
        Ok(c) => c,
        Err(error) => {
            return vec![KubeUpdate::Failed {
                kind: Resource::Kubeconfig,
                error,
                forbidden: false,
                at: SystemTime::now(),
            }];
        }
    };
    let ns = scope(target, &default_ns);
    let mut out = vec![KubeUpdate::Connected { context, namespace: ns.clone(), server }];
    let ns = ns.as_deref();
    let now = SystemTime::now();
    let fail = |kind: Resource, e: kube::Error| match e {
        kube::Error::Api(r) if r.code == 403 => KubeUpdate::Failed {
            kind,
            error: format!("forbidden: {}", r.message),
            forbidden: true,
            at: SystemTime::now(),
        },
        other => KubeUpdate::Failed { kind, error: other.to_string(), forbidden: false, at: SystemTime::now() },
    };
    let lp = ListParams::default();
    match dyn_api(&client, ns, &ray_resource("RayCluster")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayClusters(l.items.iter().map(ray_cluster).collect(), now)),
        Err(e) => out.push(fail(Resource::RayClusters, e)),
    }
    match dyn_api(&client, ns, &ray_resource("RayJob")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayJobs(l.items.iter().map(ray_job).collect(), now)),
        Err(e) => out.push(fail(Resource::RayJobs, e)),
    }
    match dyn_api(&client, ns, &ray_resource("RayService")).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::RayServices(l.items.iter().map(ray_service).collect(), now)),
        Err(e) => out.push(fail(Resource::RayServices, e)),
    }
    match api::<Pod>(&client, ns).list(&ListParams::default().labels("ray.io/is-ray-node=yes")).await {
        Ok(l) => out.push(KubeUpdate::Pods(l.items.iter().map(pod).collect(), now)),
        Err(e) => out.push(fail(Resource::Pods, e)),
    }
    match api::<Event>(&client, ns).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::Events(l.items.iter().filter(|e| about_ray(e)).map(event).collect(), now)),
        Err(e) => out.push(fail(Resource::Events, e)),
    }
    match Api::<Node>::all(client.clone()).list(&lp).await {
        Ok(l) => out.push(KubeUpdate::Nodes(l.items.iter().map(node).collect(), now)),
        Err(e) => out.push(fail(Resource::Nodes, e)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, phase: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.namespace = Some(ns.into());
        p.metadata.name = Some(name.into());
        p.status.phase = Some(phase.into());
        p
    }

    fn phase(p: &Pod) -> String {
        format!(
            "{}/{} {}",
            p.metadata.namespace.as_deref().unwrap_or(""),
            p.metadata.name.as_deref().unwrap_or(""),
            p.status.phase.as_deref().unwrap_or("")
        )
    }

    fn running(p: &Pod) -> bool {
        p.status.phase.as_deref() == Some("Running")
    }

    #[test]
    fn the_store_keeps_rows_and_a_relist_replaces_them_whole() {
        let mut rows = Rows::new();
        assert!(!rows.apply(WEvent::Init, all, phase));
        assert!(!rows.apply(WEvent::InitApply(pod("a", "p1", "Running")), all, phase));
        assert!(!rows.apply(WEvent::InitApply(pod("b", "p1", "Pending")), all, phase));
        assert!(rows.rows().is_empty(), "nothing is live before the list is complete");
        assert!(rows.apply(WEvent::InitDone, all, phase));
        assert_eq!(rows.rows(), ["a/p1 Running", "b/p1 Pending"]);

        assert!(rows.apply(WEvent::Apply(pod("b", "p1", "Running")), all, phase));
        assert!(rows.apply(WEvent::Apply(pod("a", "p2", "Running")), all, phase));
        assert!(rows.apply(WEvent::Delete(pod("a", "p1", "Running")), all, phase));
        assert!(
            !rows.apply(WEvent::Delete(pod("a", "gone", "Running")), all, phase),
            "an unknown delete changes nothing"
        );
        assert_eq!(rows.rows(), ["a/p2 Running", "b/p1 Running"]);

        // A relist after the watch expired: b/p1 was deleted meanwhile and must not linger.
        rows.apply(WEvent::Init, all, phase);
        rows.apply(WEvent::InitApply(pod("a", "p2", "Succeeded")), all, phase);
        assert_eq!(rows.rows(), ["a/p2 Running", "b/p1 Running"], "the old rows stay on screen while relisting");
        assert!(rows.apply(WEvent::InitDone, all, phase));
        assert_eq!(rows.rows(), ["a/p2 Succeeded"]);
    }

    #[test]
    fn an_object_no_longer_kept_leaves_the_store() {
        let mut rows = Rows::new();
        rows.apply(WEvent::Init, running, phase);
        rows.apply(WEvent::InitApply(pod("a", "p1", "Running")), running, phase);
        rows.apply(WEvent::InitApply(pod("a", "p2", "Pending")), running, phase);
        rows.apply(WEvent::InitDone, running, phase);
        assert_eq!(rows.rows(), ["a/p1 Running"]);
        assert!(rows.apply(WEvent::Apply(pod("a", "p1", "Failed")), running, phase));
        assert!(rows.rows().is_empty());
        assert!(!rows.apply(WEvent::Apply(pod("a", "p3", "Pending")), running, phase));
    }

    fn about(kind: &str, name: &str) -> Event {
        let mut e = Event::default();
        e.involved_object.kind = Some(kind.into());
        e.involved_object.name = Some(name.into());
        e
    }

    #[test]
    fn only_events_about_ray_objects_are_kept() {
        for (kind, name, kept) in [
            ("RayCluster", "raycluster-gpu", true),
            ("RayJob", "nightly", true),
            ("RayService", "llm", true),
            ("Pod", "raycluster-gpu-head-x7k2p", true),
            ("Pod", "raycluster-gpu-gpu-group-worker-qdhrf", true),
            ("Pod", "web-7d9f8b-abcde", false),
            ("Deployment", "web", false),
            ("Node", "gpu-node-1", false),
        ] {
            assert_eq!(about_ray(&about(kind, name)), kept, "{kind}/{name}");
        }
    }
}
