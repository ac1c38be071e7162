//! Against a real kube-apiserver (lab/kube/up.sh --rbac, manifests applied, pods faked as KubeRay
//! would make them): run by `lab/test.sh`, which sets that up.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Pane;
use serde_json::Value;

fn kube_dir() -> String {
    format!("{}/.lab/kube", env!("CARGO_MANIFEST_DIR"))
}

fn kubeconfig() -> String {
    format!("{}/kubeconfig", kube_dir())
}

/// `raytop snapshot --json` with the lab's kubeconfig and no dashboard.
fn snapshot(extra: &[&str]) -> (i32, Value) {
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", "http://127.0.0.1:9", "--timeout", "2"])
        .args(extra)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), serde_json::from_slice(&out.stdout).unwrap())
}

fn cluster<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["clusters"].as_array().unwrap().iter().find(|c| c["name"] == name && c["source"] == "kubernetes").unwrap()
}

/// A merge patch of a RayCluster's status, as the operator would write it.
fn patch_status(name: &str, body: &str) {
    try_patch_status(name, body).unwrap_or_else(|e| panic!("{e}"));
}

fn try_patch_status(name: &str, body: &str) -> Result<(), String> {
    let path = format!("/apis/ray.io/v1/namespaces/ray-lab/rayclusters/{name}/status");
    match try_kapi("admin", "PATCH", &path, "application/merge-patch+json", Some(body))? {
        (200, _) => Ok(()),
        (code, answer) => Err(format!("patch of {name}'s status: {code} {answer}")),
    }
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn snapshot_lists_rayclusters_with_groups_and_pods_and_jobs_and_services() {
    let (code, json) = snapshot(&[]);
    assert_eq!(code, 0, "{json}");
    let cpu = cluster(&json, "raycluster-cpu");
    assert_eq!(cpu["namespace"], "ray-lab");
    assert_eq!(cpu["autoscaling"], true);
    let g = cpu["groups"].as_array().unwrap().iter().find(|g| g["name"] == "cpu-group").unwrap();
    assert_eq!((g["replicas"].as_i64(), g["min"].as_i64(), g["max"].as_i64()), (Some(1), Some(1), Some(3)));
    assert_eq!(g["ready"], 1);
    assert_eq!(g["autoscaling"], true);
    assert_eq!(g["pods"].as_array().unwrap().len(), 1);
    let gpu = cluster(&json, "raycluster-gpu");
    let g = gpu["groups"].as_array().unwrap().iter().find(|g| g["name"] == "gpu-group").unwrap();
    assert_eq!(g["gpu_per_pod"], 1.0);
    assert_eq!(g["autoscaling"], false);
    let pods = g["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter().any(|p| p["phase"] == "Pending" && p["reason"].as_str().unwrap().starts_with("Unschedulable")),
        "{pods:?}"
    );
    assert!(pods.iter().all(|p| p["gpu_requests"] == 1.0));
    let k = &json["kubernetes"];
    assert_eq!(k["jobs"][0]["job_status"], "RUNNING");
    assert_eq!(k["services"][0]["status"], "Ready");
    assert_eq!(k["services"][0]["applications"].as_object().unwrap().len(), 2);
    // Nodes registered by lab/kube/fake-nodes.sh: three with 2 nvidia.com/gpu each.
    let cap = &k["gpu_capacity"];
    assert_eq!((cap["gpu_nodes"].as_u64(), cap["allocatable"].as_f64()), (Some(3), Some(6.0)), "{cap}");
    assert_eq!(cap["pending_requests"], 1.0, "the unschedulable gpu-group worker: {cap}");
    let running = pods.iter().find(|p| p["phase"] == "Running").unwrap();
    assert_eq!(running["node_gpus"], 2.0, "{running}");
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn a_user_who_may_not_read_pods_sees_the_rest_and_a_clear_notice() {
    let (code, json) = snapshot(&["--context", "lab-viewer"]);
    assert_eq!(code, 0);
    assert_eq!(cluster(&json, "raycluster-cpu")["health"], "Ready");
    let pods = &json["kubernetes"]["kinds"]["pods"];
    assert_eq!(pods["forbidden"], true);
    assert!(pods["error"].as_str().unwrap().contains("cannot list resource \"pods\""), "{pods}");
    let nodes = &json["kubernetes"]["kinds"]["nodes"];
    assert_eq!(nodes["forbidden"], true, "nodes are cluster-scoped; the viewer may not list them: {nodes}");

    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str())],
        &["--context", "lab-viewer", "--dashboard", "http://127.0.0.1:9"],
    );
    let s = p.wait_for("raycluster-gpu", Duration::from_secs(20));
    let s = if s.contains("cannot list resource") {
        s
    } else {
        p.wait_for("cannot list resource", Duration::from_secs(10))
    };
    assert!(s.contains("pods: forbidden"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn a_status_change_reaches_the_screen_and_is_measured() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["--dashboard", "http://127.0.0.1:9"]);
    // raycluster-gpu is this test's to change (the others read raycluster-cpu); put back when
    // the test ends, pass or fail.
    let (_, before) = snapshot(&[]);
    let conditions = cluster(&before, "raycluster-gpu")["conditions"].clone();
    let restore = serde_json::json!({"status": {"conditions": conditions}}).to_string();
    let undo = common::Undo::new("raycluster-gpu's status put back", || try_patch_status("raycluster-gpu", &restore));
    let cpu_pods: Vec<String> = cluster(&before, "raycluster-cpu")["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["pods"].as_array().unwrap())
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(cpu_pods.len(), 2, "the head and one cpu-group worker: {cpu_pods:?}");
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    let failure = r#"{"status":{"conditions":[{"type":"HeadPodReady","status":"True","reason":"HeadPodRunningAndReady","lastTransitionTime":"2026-01-01T00:00:00Z","message":""},{"type":"RayClusterProvisioned","status":"True","reason":"AllPodRunningAndReadyFirstTime","lastTransitionTime":"2026-01-01T00:00:00Z","message":""},{"type":"ReplicaFailure","status":"True","reason":"FailedCreateWorkerPod","lastTransitionTime":"2026-01-01T00:00:00Z","message":"quota exceeded"}]}}"#;
    patch_status("raycluster-gpu", failure);
    let start = Instant::now();
    // Generous deadlines: the figure is what is measured, not a race against a busy machine.
    p.wait_for("ReplicaFailure: Failed", Duration::from_secs(15));
    eprintln!("figure: status change on screen after {} ms", start.elapsed().as_millis());
    assert_eq!(undo.now(), Ok(()));
    p.wait("the failure gone", Duration::from_secs(15), |s| !s.contains("ReplicaFailure"));
    // Open raycluster-cpu: its groups and pods.
    p.keys(&["/"]);
    p.type_text("raycluster-cpu");
    p.keys(&["Enter"]);
    p.wait("filtered", Duration::from_secs(5), |s| {
        s.contains("filter: raycluster-cpu") && !s.contains("raycluster-gpu")
    });
    p.keys(&["Enter"]);
    let s = p.wait_for("cpu-group", Duration::from_secs(5));
    // Long pod names are cut in the middle; the random suffix always shows.
    for pod in &cpu_pods {
        let suffix = &pod[pod.len() - 5..];
        assert!(s.lines().any(|l| l.contains(suffix)), "pod {pod} not listed: {s}");
    }
    p.keys(&[":"]);
    p.wait_for("Tab complete", Duration::from_secs(5));
    p.type_text("ns nosuchns");
    p.keys(&["Enter"]);
    p.wait("an empty namespace", Duration::from_secs(10), |s| s.contains("nosuchns") && s.contains("0 RayCluster(s)"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// Both labs up (lab/test.sh starts a minimal Ray lab for this) and `pods-for-ray-lab.py` run:
/// the RayCluster `ray-lab`'s pods are the Ray lab's nodes.
#[test]
#[ignore = "needs the kube lab and the Ray lab: run ./lab/test.sh"]
fn pods_join_the_live_ray_labs_nodes() {
    let url = format!("ray-lab={}", common::lab_url());
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", &url, "--token-file", &lab_token_file()])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rc = cluster(&json, "ray-lab");
    let pods: Vec<&Value> =
        rc["groups"].as_array().unwrap().iter().flat_map(|g| g["pods"].as_array().unwrap()).collect();
    assert!(pods.len() >= 2, "head and cpu-group: {pods:?}");
    for p in &pods {
        assert_eq!(p["ray_node"]["state"], "ALIVE", "pod {} has no Ray node: {p}", p["name"]);
    }
    let dashboard = &json["clusters"][0];
    assert_eq!(dashboard["name"], "ray-lab", "--dashboard NAME=URL names the dashboard's cluster");
}

/// The token of the token-auth Ray lab that lab/test.sh starts for these tests.
fn lab_token_file() -> String {
    std::env::var("RAYTOP_LAB_TOKEN_FILE").unwrap_or_else(|_| format!("{}/.lab/auth_token", env!("CARGO_MANIFEST_DIR")))
}

fn dashboard_state<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["clusters"].as_array().unwrap().iter().find(|c| c["name"] == name && c["source"] == "dashboard").unwrap()
}

/// lab/kube/dashboard-netns.py put the token-auth Ray lab's dashboard behind the head Service of
/// RayCluster `ray-lab`, with its token in the Secret `ray-lab` and `authOptions.mode: token`.
/// With only a kubeconfig, raytop reaches it through the API server's service proxy.
#[test]
#[ignore = "needs the kube lab and the Ray lab: run ./lab/test.sh"]
fn each_rayclusters_dashboard_is_reached_through_the_api_server_with_its_secrets_token() {
    let (code, json) = snapshot(&[]);
    assert_eq!(code, 0, "{json}");
    let rc = cluster(&json, "ray-lab");
    assert_eq!(rc["dashboard"]["service"], "ray-lab-head-svc");
    assert_eq!(rc["dashboard"]["token_secret"], "ray-lab");
    let dash = dashboard_state(&json, "ray-lab");
    assert_eq!(dash["connection"]["state"], "connected", "{dash}");
    assert_eq!(dash["ray_version"], "2.60.0");
    assert!(dash["dashboard"].as_str().unwrap().contains("services/ray-lab-head-svc:dashboard/proxy"), "{dash}");
    let nodes: usize = dash["groups"].as_array().unwrap().iter().map(|g| g["nodes"].as_array().unwrap().len()).sum();
    assert!(nodes >= 2, "head and cpu-group through the proxy: {dash}");
    // Its pods join the Ray nodes it serves.
    let pods: Vec<&Value> =
        rc["groups"].as_array().unwrap().iter().flat_map(|g| g["pods"].as_array().unwrap()).collect();
    assert!(pods.iter().all(|p| p["ray_node"]["state"] == "ALIVE"), "{pods:?}");
    // A cluster with no head Service says so, and the snapshot still succeeds.
    let cpu = dashboard_state(&json, "raycluster-cpu");
    assert_eq!(cpu["connection"]["state"], "disconnected");
    assert!(cpu["connection"]["message"].as_str().unwrap().contains("raycluster-cpu-head-svc"), "{cpu}");
}

/// The viewer may use the service proxy but not read Secrets: the Ray dashboard answers 401, and
/// raytop names the Secret it could not read rather than asking for --token.
#[test]
#[ignore = "needs the kube lab and the Ray lab: run ./lab/test.sh"]
fn a_user_who_may_not_read_the_token_secret_is_told_so() {
    let (_, json) = snapshot(&["--context", "lab-viewer"]);
    let dash = dashboard_state(&json, "ray-lab");
    assert_eq!(dash["connection"]["state"], "unauthorized", "{dash}");
    let msg = dash["connection"]["message"].as_str().unwrap();
    assert!(msg.contains("Secret ray-lab/ray-lab may not be read"), "{msg}");
    assert!(!msg.contains("--token"), "the hint is about the Secret, not flags: {msg}");
}

/// The head Service and the token Secret are named by the RayCluster object. One that names
/// another cluster's Service gets no token (the Service is not labelled as its own); one whose
/// names are not Kubernetes names is not reached at all (no `../` into the proxy path).
#[test]
#[ignore = "needs the kube lab and the Ray lab: run ./lab/test.sh"]
fn a_raycluster_pointing_at_another_clusters_head_gets_no_token() {
    let _rc = ScratchCluster::new("borrow", false);
    let spec = r#"{"spec": {"authOptions": {"mode": "token", "secretName": "ray-lab"}}}"#;
    let (code, body) = kapi("admin", "PATCH", &format!("{RC_PATH}/borrow"), "application/merge-patch+json", Some(spec));
    assert_eq!(code, 200, "{body}");
    patch_status("borrow", r#"{"status": {"head": {"serviceName": "ray-lab-head-svc"}}}"#);
    let (_, json) = snapshot(&[]);
    let dash = dashboard_state(&json, "borrow");
    assert_eq!(dash["connection"]["state"], "unauthorized", "the dashboard got no token: {dash}");
    let msg = dash["connection"]["message"].as_str().unwrap();
    assert!(
        msg.contains(r#"the token is not sent: Service ray-lab/ray-lab-head-svc is not labelled ray.io/cluster=borrow (it says "ray-lab")"#),
        "{msg}"
    );
    // ray-lab itself still gets its token through its own Service.
    assert_eq!(dashboard_state(&json, "ray-lab")["connection"]["state"], "connected");

    patch_status(
        "borrow",
        r#"{"status": {"head": {"serviceName": "ray-lab-head-svc:dashboard/proxy/../../../secrets/ray-lab"}}}"#,
    );
    let (_, json) = snapshot(&[]);
    let dash = dashboard_state(&json, "borrow");
    assert_eq!(dash["connection"]["state"], "disconnected", "{dash}");
    let msg = dash["connection"]["message"].as_str().unwrap();
    assert!(
        msg.contains("RayCluster borrow: head Service name") && msg.contains("is not a valid Kubernetes name"),
        "{msg}"
    );
}

/// In the TUI: Enter on a RayCluster opens it and makes its dashboard, reached through the API
/// server, the one views 1-6 show.
#[test]
#[ignore = "needs the kube lab and the Ray lab: run ./lab/test.sh"]
fn opening_a_raycluster_shows_its_dashboard_in_the_cluster_view() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["--dashboard", "http://127.0.0.1:9", "-n", "ray-lab"]);
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    // `ray-lab` sorts first, so it is selected.
    p.wait_for("Enter opens it through the API server", Duration::from_secs(5));
    p.keys(&["Enter"]);
    let s = p.wait_for("● connected · ray 2.60.0", Duration::from_secs(20));
    assert!(s.contains("API server proxy ray-lab/ray-lab-head-svc:dashboard"), "{s}");
    assert!(s.contains("ray-lab [2/2]"), "the header names the cluster shown: {s}");
    p.keys(&["1"]);
    // The Kube view lists cpu-group too: wait for the Cluster view's own title.
    let s = p.wait_for("┌ Cluster — ", Duration::from_secs(20));
    assert!(s.contains("cpu-group"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// History from a Prometheus Service reached through the API server's service proxy, as the
/// dashboards are: `--prometheus-service` for snapshot, and `:prom` in the TUI, which lists the
/// Services that look like Prometheus and takes one. The lab's real Prometheus is behind
/// `monitoring/prometheus-k8s:web` (dashboard-netns.py --prom).
#[test]
#[ignore = "needs the kube lab, the Ray lab and its Prometheus: run ./lab/test.sh"]
fn prometheus_through_the_api_server_proxy() {
    let svc = "monitoring/prometheus-k8s:web";
    for ctx in ["lab-admin", "lab-viewer"] {
        let (_, json) = snapshot(&["--context", ctx, "--prometheus-service", svc]);
        let h = &json["history"];
        assert_eq!(h["source"], format!("API server proxy {svc}"), "{h}");
        assert!(h["error"].is_null(), "{ctx}: {h}");
        let nodes = h["results"]["cpu_pct"]["series"].as_array().map_or(0, Vec::len);
        assert!(nodes >= 1, "{ctx}: the lab's node series came through the proxy: {h}");
    }
    // A Service that is not there: the API server's words, not a parse error.
    let (_, json) = snapshot(&["--prometheus-service", "monitoring/no-such-prometheus:web"]);
    let err = json["history"]["error"].as_str().unwrap_or_default();
    assert!(err.starts_with("API server proxy: ") && err.contains("no-such-prometheus"), "{err}");

    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["--dashboard", "http://127.0.0.1:9", "-n", "ray-lab"]);
    p.wait_for("Enter opens it through the API server", Duration::from_secs(20));
    p.keys(&["Enter"]);
    p.wait_for("● connected · ray 2.60.0", Duration::from_secs(20));
    p.keys(&["1"]);
    let s = p.wait_for("┌ Cluster — ", Duration::from_secs(20));
    assert!(s.contains("history: start with --prometheus URL"), "{s}");
    p.keys(&[":"]);
    p.wait_for("Tab complete", Duration::from_secs(5));
    p.type_text("prom");
    p.keys(&["Enter"]);
    p.wait_for(&format!("Prometheus Services: {svc}"), Duration::from_secs(20));
    p.keys(&[":"]);
    p.wait_for("Tab complete", Duration::from_secs(5));
    p.type_text(&format!("prom {svc}"));
    p.keys(&["Enter"]);
    let s = p.wait("node history through the proxy", Duration::from_secs(30), |s| {
        s.contains("15m HOST CPU · MEM") && s.lines().any(|l| l.contains("ALIVE") && l.contains(" mem "))
    });
    assert!(!s.contains("history failing"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// A watch whose resourceVersion the API server no longer has (410 Expired) relists and loses
/// nothing. Short watches without bookmarks (a test knob) reconnect every 2 s; 1,500 pod updates
/// elsewhere push the watch cache past the last version raytop saw.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn an_expired_watch_relists_without_losing_objects() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str()), ("RAYTOP_KUBE_WATCH_TIMEOUT_S", "2"), ("RAYTOP_LOG", "info")],
        &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"],
    );
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    let churn = Command::new(format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR")))
        .args([&format!("{}/lab/kube/churn.py", env!("CARGO_MANIFEST_DIR")), "1500"])
        .status()
        .unwrap();
    assert!(churn.success());
    // raytop's own line for a 410: the churn pushes the watch cache past what one of the
    // watches (pods, events, ...) last saw.
    let expired = "watch expired (410 Gone): relisting";
    let start = Instant::now();
    let line = loop {
        let log = std::fs::read_to_string(p.log_file()).unwrap_or_default();
        if let Some(l) = log.lines().find(|l| l.contains(expired)) {
            break l.to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no {expired:?} in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("{line}");
    // Relisted: everything still there, and the watch live again.
    let s = p.wait("relisted and live", Duration::from_secs(30), |s| s.contains("· live") && !s.contains("⚠"));
    for name in ["raycluster-cpu", "raycluster-gpu", "rayjob-sample", "rayservice-sa", "1 RayJob(s), 1 RayService(s)"] {
        assert!(s.contains(name), "{name} lost after the relist: {s}");
    }
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// Posts an Event about `kind`/`name` in ray-lab with a reason of its own; returns the reason.
fn post_event(kind: &str, name: &str, tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let reason = format!("{tag}{}", nanos % 1_000_000);
    let now = chrono_now();
    let body = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{nanos}"), "namespace": "ray-lab"},
        "involvedObject": {"kind": kind, "name": name, "namespace": "ray-lab"},
        "type": "Normal", "reason": reason, "message": "posted by a test",
        "firstTimestamp": now, "lastTimestamp": now, "count": 1
    });
    let (code, answer) =
        kapi("admin", "POST", "/api/v1/namespaces/ray-lab/events", "application/json", Some(&body.to_string()));
    assert_eq!(code, 201, "{answer}");
    reason
}

/// RFC 3339 UTC, to the second, from the system clock (no date crate in the tests).
fn chrono_now() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Events are the largest, fastest-changing kind: raytop watches them only while the Kube view
/// shows them, and relists when it comes back.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn events_are_watched_only_while_the_kube_view_shows_them() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str()), ("RAYTOP_LOG", "debug")],
        &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"],
    );
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    p.keys(&["/"]);
    p.type_text("raycluster-gpu");
    p.keys(&["Enter", "Enter"]);
    let first = post_event("RayCluster", "raycluster-gpu", "ProbeShown");
    p.wait_for(&first, Duration::from_secs(10));
    let watchers = |what: &str| std::fs::read_to_string(p.log_file()).unwrap_or_default().matches(what).count();
    assert_eq!(watchers("events watcher started"), 1);
    p.keys(&["1"]);
    // The Cluster view's own box (the tab bar names every view, whichever is shown).
    p.wait("the Cluster view", Duration::from_secs(10), |s| s.contains("┌ Cluster ") && !s.contains("┌ Kube "));
    let t0 = Instant::now();
    while watchers("events watcher stopped") < 1 {
        // A figure; the limit is generous (a busy machine is not a failure).
        assert!(t0.elapsed() < Duration::from_secs(30), "the events watcher kept running off the Kube view");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("figure: events watcher stopped {} ms after the Cluster view was drawn", t0.elapsed().as_millis());
    let hidden = post_event("RayCluster", "raycluster-gpu", "ProbeHidden");
    p.keys(&["0"]);
    p.wait_for(&hidden, Duration::from_secs(10));
    assert_eq!(watchers("events watcher started"), 2, "relisted on coming back");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// Calls the lab's API server as `user` (admin or viewer) with curl; returns (HTTP code, body).
fn kapi(user: &str, method: &str, path: &str, content_type: &str, body: Option<&str>) -> (u16, Value) {
    try_kapi(user, method, path, content_type, body).unwrap_or_else(|e| panic!("{e}"))
}

/// `kapi` that never panics (for Drop guards): an error when the call got no HTTP answer.
fn try_kapi(
    user: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&str>,
) -> Result<(u16, Value), String> {
    let env_file = format!("{}/run/lab.env", kube_dir());
    let env = std::fs::read_to_string(&env_file).map_err(|e| format!("{env_file}: {e}"))?;
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(String::from)
            .ok_or(format!("no {k} in {env_file}"))
    };
    let token = get(if user == "viewer" { "VIEWER_TOKEN" } else { "ADMIN_TOKEN" })?;
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "--cacert", &format!("{}/run/pki/apiserver.crt", kube_dir())])
        .args(["-H", &format!("Authorization: Bearer {token}"), "-H", &format!("Content-Type: {content_type}")])
        .args(["-w", "\n%{http_code}"]);
    if let Some(b) = body {
        cmd.args(["--data", b]);
    }
    let out = cmd.arg(format!("{}{path}", get("API_URL")?)).output().map_err(|e| format!("curl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let failed = || format!("{method} {path}: no answer: {}", String::from_utf8_lossy(&out.stderr));
    let (body, code) = text.rsplit_once('\n').ok_or_else(failed)?;
    let code = code.trim().parse().ok().filter(|c| *c != 0).ok_or_else(failed)?;
    Ok((code, serde_json::from_str(body).unwrap_or(Value::Null)))
}

const RC_PATH: &str = "/apis/ray.io/v1/namespaces/ray-lab/rayclusters";

/// A RayCluster of its own for one test, deleted when the test ends, pass or fail.
struct ScratchCluster {
    name: String,
}

impl ScratchCluster {
    fn new(name: &str, autoscaling: bool) -> ScratchCluster {
        // What an earlier run left (a 404 when nothing), gone first.
        if let Err(e) = ScratchCluster::delete(name) {
            panic!("{e}");
        }
        let rc = serde_json::json!({
            "apiVersion": "ray.io/v1", "kind": "RayCluster",
            "metadata": {"name": name, "namespace": "ray-lab"},
            "spec": {
                "rayVersion": "2.60.0",
                "enableInTreeAutoscaling": autoscaling,
                "headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head", "image": "rayproject/ray:2.60.0"}]}}},
                "workerGroupSpecs": [
                    {"groupName": "small", "replicas": 1, "minReplicas": 0, "maxReplicas": 4,
                     "template": {"spec": {"containers": [{"name": "w", "image": "rayproject/ray:2.60.0"}]}}},
                    {"groupName": "big", "replicas": 2, "minReplicas": 1, "maxReplicas": 5,
                     "template": {"spec": {"containers": [{"name": "w", "image": "rayproject/ray:2.60.0"}]}}}
                ]
            }
        });
        let (code, body) = kapi("admin", "POST", RC_PATH, "application/json", Some(&rc.to_string()));
        assert_eq!(code, 201, "{body}");
        ScratchCluster { name: name.into() }
    }

    fn get(&self) -> Value {
        let (code, body) = kapi("admin", "GET", &format!("{RC_PATH}/{}", self.name), "application/json", None);
        assert_eq!(code, 200, "{body}");
        body
    }

    /// A worker pod of this cluster, as KubeRay would label it (it stays Pending: no kubelet).
    fn add_pod(&self, pod: &str, group: &str) {
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": "ray-lab", "labels": {
                "ray.io/cluster": self.name, "ray.io/group": group, "ray.io/node-type": "worker", "ray.io/is-ray-node": "yes"}},
            "spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.60.0"}]}
        });
        let (code, out) =
            kapi("admin", "POST", "/api/v1/namespaces/ray-lab/pods", "application/json", Some(&body.to_string()));
        assert_eq!(code, 201, "{out}");
    }

    fn group(&self, name: &str) -> Value {
        self.get()["spec"]["workerGroupSpecs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["groupName"] == name)
            .unwrap()
            .clone()
    }
}

impl ScratchCluster {
    /// Deletes RayCluster `name` and its pods; absent already is fine.
    fn delete(name: &str) -> Result<(), String> {
        let pods = format!("/api/v1/namespaces/ray-lab/pods?labelSelector=ray.io/cluster%3D{name}");
        for path in [pods, format!("{RC_PATH}/{name}")] {
            match try_kapi("admin", "DELETE", &path, "application/json", None)? {
                (200 | 202 | 404, _) => {}
                (code, body) => return Err(format!("DELETE {path}: {code} {body}")),
            }
        }
        Ok(())
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        // Never a panic in Drop (it may run while a failed test unwinds): said, not asserted.
        if let Err(e) = ScratchCluster::delete(&self.name) {
            eprintln!("scratch RayCluster {} not deleted: {e}", self.name);
        }
    }
}

/// `raytop scale …` against the lab, with its own state dir (for the audit log); returns (exit
/// code, stdout, stderr).
fn scale(state: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::raytop()
        .args(["scale", "-n", "ray-lab"])
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .env("XDG_STATE_HOME", state)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.code().unwrap_or(-1), s(&out.stdout), s(&out.stderr))
}

fn audit_lines(state: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(state.join("raytop/audit.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn scale_patches_land_with_the_right_fields_and_are_audited() {
    use std::os::unix::fs::PermissionsExt;
    let rc = ScratchCluster::new("scale-fixed", false);
    let state = tempfile::tempdir().unwrap();
    let (code, out, err) = scale(state.path(), &["scale-fixed", "big", "--replicas", "4", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("replicas: 2 -> 4") && out.contains("KubeRay creates 2 pod(s) for big"), "{out}");
    assert_eq!(rc.group("big")["replicas"], 4);
    assert_eq!(rc.group("small")["replicas"], 1, "the other group is untouched");
    // Removing one pod: replicas - 1 and workersToDelete in one patch. A pod that is not a
    // worker of the group is refused first (KubeRay would delete a random one instead).
    let (code, _, err) =
        scale(state.path(), &["scale-fixed", "big", "--delete-pod", "scale-fixed-big-worker-abcde", "--yes"]);
    assert_eq!((code, err.contains("pod scale-fixed-big-worker-abcde not found: nothing sent")), (1, true), "{err}");
    rc.add_pod("scale-fixed-big-worker-abcde", "big");
    rc.add_pod("scale-fixed-small-worker-zzzzz", "small");
    let (code, _, err) =
        scale(state.path(), &["scale-fixed", "big", "--delete-pod", "scale-fixed-small-worker-zzzzz", "--yes"]);
    assert_eq!((code, err.contains("is not a worker of scale-fixed group big")), (1, true), "{err}");
    let (code, out, err) =
        scale(state.path(), &["scale-fixed", "big", "--delete-pod", "scale-fixed-big-worker-abcde", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    // The same removal again (the pod is still there: no KubeRay here to delete it) is refused
    // before anything is sent: replicas are not lowered a second time.
    let (again, out, err) =
        scale(state.path(), &["scale-fixed", "big", "--delete-pod", "scale-fixed-big-worker-abcde", "--yes"]);
    assert_eq!(again, 1, "{out}{err}");
    assert!(
        err.contains("raytop: not sent: scale-fixed-big-worker-abcde is already being removed"),
        "the second removal's refusal: {err}"
    );
    let big = rc.group("big");
    assert_eq!(big["replicas"], 3);
    assert_eq!(big["scaleStrategy"]["workersToDelete"], serde_json::json!(["scale-fixed-big-worker-abcde"]));
    // The audit log: an intent and a result line per action, 0600, no token anywhere.
    let lines = audit_lines(state.path());
    // Two patches, and the two refused pods: each an intent and a (failed) result. The repeated
    // removal was refused before the executor, so it wrote nothing.
    assert_eq!(lines.len(), 8, "{lines:?}");
    assert_eq!(
        lines.iter().map(|l| l["phase"].as_str().unwrap()).collect::<Vec<_>>(),
        ["intent", "result", "intent", "result", "intent", "result", "intent", "result"]
    );
    assert_eq!(
        lines.iter().map(|l| l["ok"].as_bool()).collect::<Vec<_>>()[1..].iter().step_by(2).copied().collect::<Vec<_>>(),
        [Some(true), Some(false), Some(false), Some(true)]
    );
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(lines[0]["target"]["cluster"], "scale-fixed");
    assert_eq!(lines[1]["changes"][0], serde_json::json!({"field": "replicas", "before": "2", "after": "4"}));
    assert!(lines[0]["who"].as_str().unwrap().contains("kube user admin"), "{}", lines[0]);
    let path = state.path().join("raytop/audit.jsonl");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let env = std::fs::read_to_string(format!("{}/run/lab.env", kube_dir())).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for token in env.lines().filter_map(|l| l.split_once("_TOKEN=").map(|(_, t)| t)) {
        assert!(!text.contains(token), "a token in the audit log");
    }
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn with_the_autoscaler_replicas_are_refused_and_min_moves_instead() {
    let rc = ScratchCluster::new("scale-auto", true);
    let state = tempfile::tempdir().unwrap();
    let before = rc.get()["metadata"]["resourceVersion"].clone();
    let (code, out, err) = scale(state.path(), &["scale-auto", "big", "--replicas", "4", "--yes"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the autoscaler owns replicas of big") && err.contains("use --min N"), "{err}");
    assert_eq!(rc.get()["metadata"]["resourceVersion"], before, "nothing was written");
    let (code, out, err) = scale(state.path(), &["scale-auto", "big", "--min", "4", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("min 1 → 4: KubeRay creates 2 pod(s) at once"), "{out}");
    let big = rc.group("big");
    assert_eq!(
        (big["minReplicas"].as_i64(), big["replicas"].as_i64()),
        (Some(4), Some(2)),
        "replicas stay the autoscaler's"
    );
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn invalid_values_and_readonly_send_nothing() {
    let rc = ScratchCluster::new("scale-invalid", false);
    let state = tempfile::tempdir().unwrap();
    let before = rc.get()["metadata"]["resourceVersion"].clone();
    for (args, says) in [
        (vec!["scale-invalid", "big", "--max", "0", "--yes"], "min 1 would exceed max 0"),
        (vec!["scale-invalid", "big", "--replicas", "9", "--yes"], "raise max to 9 first"),
        (vec!["scale-invalid", "huge", "--replicas", "1", "--yes"], "the groups are: small, big"),
        (vec!["--readonly", "scale-invalid", "big", "--replicas", "3", "--yes"], "--readonly: scale refused"),
    ] {
        let (code, out, err) = scale(state.path(), &args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // --dry-run shows the patch and sends nothing; no answer at the prompt is no.
    let (code, out, _) = scale(state.path(), &["scale-invalid", "big", "--replicas", "3", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(out.contains(r#"{"op":"test","path":"/spec/workerGroupSpecs/1/groupName","value":"big"}"#), "{out}");
    let (code, out, _) = scale(state.path(), &["scale-invalid", "big", "--replicas", "3"]);
    assert_eq!((code, out.contains("cancelled: nothing was sent")), (1, true), "{out}");
    assert_eq!(rc.get()["metadata"]["resourceVersion"], before, "nothing was written");
    assert!(audit_lines(state.path()).is_empty(), "nothing was sent, so nothing was audited");
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn a_reordered_group_list_fails_the_test_op_and_is_planned_again_on_fresh_data() {
    use raytop::action::{GroupTarget, ScaleChange, ScaleRequest};
    let rc = ScratchCluster::new("scale-race", false);
    // What raytop saw: `big` at index 1.
    let seen: raytop::wire::k8s::RayClusterSpec = serde_json::from_value(rc.get()["spec"].clone()).unwrap();
    // Meanwhile someone puts `big` first.
    let swap = r#"[{"op":"move","from":"/spec/workerGroupSpecs/1","path":"/spec/workerGroupSpecs/0"}]"#;
    let (code, body) =
        kapi("admin", "PATCH", &format!("{RC_PATH}/scale-race"), "application/json-patch+json", Some(swap));
    assert_eq!(code, 200, "{body}");
    assert_eq!(rc.get()["spec"]["workerGroupSpecs"][0]["groupName"], "big");
    let state = tempfile::tempdir().unwrap();
    let exec = raytop::action::exec::Executor {
        clients: raytop::source::kube::KubeClients::from_file(kubeconfig()),
        audit: raytop::action::audit::Audit::in_dir(state.path()),
        direct: Vec::new(),
        timeout: Duration::from_secs(10),
    };
    let req = ScaleRequest {
        target: GroupTarget {
            context: Some("lab-admin".into()),
            namespace: "ray-lab".into(),
            cluster: "scale-race".into(),
            group: "big".into(),
        },
        change: ScaleChange::Replicas(3),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let done = rt.block_on(exec.scale(&req, Some(seen), &[])).unwrap();
    assert_eq!(done.attempts, 2, "the stale patch was refused by its test op, the second went through");
    assert_eq!(rc.group("big")["replicas"], 3);
    assert_eq!(rc.group("small")["replicas"], 1, "the group now at index 1 is untouched");
    // The user confirmed "replicas 3 → 4" (one more); meanwhile someone set 4. The executor
    // plans "4 → 5" on fresh data, which is not what was confirmed: nothing is sent.
    let (code, body) = kapi(
        "admin",
        "PATCH",
        &format!("{RC_PATH}/scale-race"),
        "application/json-patch+json",
        Some(r#"[{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":4}]"#),
    );
    assert_eq!(code, 200, "{body}");
    let step = ScaleRequest { change: ScaleChange::Step(1), ..req };
    let confirmed = [raytop::action::FieldChange { field: "replicas", before: "3".into(), after: "4".into() }];
    let err = rt.block_on(exec.scale(&step, None, &confirmed)).unwrap_err();
    assert!(err.contains("changed since you confirmed") && err.contains("replicas 4 → 5"), "{err}");
    assert_eq!(rc.group("big")["replicas"], 4, "nothing was sent");
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn a_user_without_patch_is_refused_with_the_reason() {
    let rc = ScratchCluster::new("scale-rbac", false);
    let state = tempfile::tempdir().unwrap();
    let before = rc.get()["metadata"]["resourceVersion"].clone();
    let (code, out, err) =
        scale(state.path(), &["--context", "lab-viewer", "scale-rbac", "big", "--replicas", "3", "--yes"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("forbidden: may not patch RayCluster scale-rbac"), "{err}");
    assert!(err.contains("cannot patch resource \"rayclusters\""), "the API server's reason: {err}");
    assert_eq!(rc.get()["metadata"]["resourceVersion"], before);
    let lines = audit_lines(state.path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!((lines[1]["phase"].as_str(), lines[1]["ok"].as_bool()), (Some("result"), Some(false)));
}

/// Opens RayCluster `name` in the Kube view (filtered to it) and selects its worker group `group`.
fn open_group(p: &Pane, name: &str, group: &str) {
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    p.keys(&["/"]);
    p.type_text(name);
    p.keys(&["Enter"]);
    p.wait(&format!("only {name} listed"), Duration::from_secs(5), |s| {
        s.contains(name) && !s.contains("raycluster-gpu ")
    });
    p.keys(&["Enter"]);
    p.wait_for(&format!("  {group} "), Duration::from_secs(10));
    // Rows: the cluster, headgroup, then the worker groups in spec order.
    let rows = ["headgroup", "small", "big"];
    let steps = rows.iter().position(|r| *r == group).unwrap() + 1;
    for _ in 0..steps {
        p.keys(&["j"]);
    }
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn in_tmux_plus_asks_then_the_group_row_follows_the_patch_and_the_audit_has_both_lines() {
    let rc = ScratchCluster::new("scale-tui", false);
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["--dashboard", "http://127.0.0.1:9", "-n", "ray-lab"]);
    open_group(&p, "scale-tui", "big");
    // Generous limits: the figures are what is measured, not a race against a busy machine
    // (this loop captures the pane every 20 ms, which slows a small machine itself).
    p.wait_for("replicas 2 [1..5]", Duration::from_secs(15));
    p.keys(&["+"]);
    let s = p.wait_for("Scale big?", Duration::from_secs(15));
    assert!(s.contains("replicas  2 → 3") && s.contains("next: KubeRay creates 1 pod(s) for big"), "{s}");
    assert_eq!(rc.group("big")["replicas"], 2, "nothing sent before the yes");
    p.keys(&["Tab", "Enter"]);
    let t0 = Instant::now();
    let mut s = p.screen();
    while !s.contains("replicas 3 [1..5]") {
        assert!(t0.elapsed() < Duration::from_secs(30), "the row did not follow: {s}");
        std::thread::sleep(Duration::from_millis(20));
        s = p.screen();
    }
    eprintln!("figure: confirm to the new replicas on screen: {} ms", t0.elapsed().as_millis());
    // The watch can bring the new replicas before the PATCH's own answer is back: the outcome
    // follows, and then stays until dismissed.
    p.wait_for("✔ done", Duration::from_secs(15));
    assert_eq!(rc.group("big")["replicas"], 3);
    p.keys(&["Escape"]);
    p.wait("the outcome dismissed", Duration::from_secs(15), |s| !s.contains("✔ done"));
    let audit = std::fs::read_to_string(p.audit_file()).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!((lines[0]["phase"].as_str(), lines[1]["ok"].as_bool()), (Some("intent"), Some(true)));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn in_tmux_a_viewer_sees_scaling_disabled_with_the_reason() {
    let _rc = ScratchCluster::new("scale-viewer", false);
    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str())],
        &["--context", "lab-viewer", "--dashboard", "http://127.0.0.1:9", "-n", "ray-lab"],
    );
    open_group(&p, "scale-viewer", "big");
    // The access review answers in the background; its answer is on screen before any key.
    let s = p.wait_for("actions off: you may not patch rayclusters.ray.io scale-viewer", Duration::from_secs(10));
    let footer = s.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    assert!(!footer.contains("+1"), "no scale key offered: {footer}");
    p.keys(&["+"]);
    let s = p.wait_for("disabled: you may not patch rayclusters.ray.io scale-viewer", Duration::from_secs(5));
    assert!(!s.contains("Scale big?"), "no confirmation is offered: {s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn in_tmux_readonly_offers_no_action() {
    let rc = ScratchCluster::new("scale-ro", false);
    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str())],
        &["--readonly", "--dashboard", "http://127.0.0.1:9", "-n", "ray-lab"],
    );
    open_group(&p, "scale-ro", "big");
    let s = p.wait_for("replicas 2 [1..5]", Duration::from_secs(5));
    let footer = s.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("Enter  open") && !footer.contains("+1"), "no scale hint in the footer: {footer}");
    p.keys(&["+"]);
    p.keys(&["?"]);
    let s = p.wait_for("any key closes this help", Duration::from_secs(5));
    assert!(!s.contains("Scale the selected worker group"), "help lists no action: {s}");
    assert!(!s.contains("Scale big?"), "{s}");
    assert_eq!(rc.group("big")["replicas"], 2);
    p.keys(&["q", "q"]);
    p.wait_exit(Duration::from_secs(5));
    assert!(!p.audit_file().exists(), "nothing was sent, nothing audited");
}

/// Puts rayservice-sample's serveConfigV2 back as it was in `spec`.
fn restore_service(spec: &Value) -> Result<(), String> {
    let patch = serde_json::json!({"spec": {"serveConfigV2": spec["serveConfigV2"]}});
    let path = "/apis/ray.io/v1/namespaces/ray-lab/rayservices/rayservice-sample";
    match try_kapi("admin", "PATCH", path, "application/merge-patch+json", Some(&patch.to_string()))? {
        (200, _) => Ok(()),
        (code, body) => Err(format!("PATCH {path}: {code} {body}")),
    }
}

#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn a_rayservice_redeploy_changes_only_the_marker_in_serve_config_v2() {
    let path = "/apis/ray.io/v1/namespaces/ray-lab/rayservices/rayservice-sample";
    let (code, before) = kapi("admin", "GET", path, "application/json", None);
    assert_eq!(code, 200, "{before}");
    let spec = before["spec"].clone();
    let restore = common::Undo::new("rayservice-sample's serveConfigV2 put back", || restore_service(&spec));
    let state = tempfile::tempdir().unwrap();
    let out = common::raytop()
        .args(["redeploy", "fruit", "--rayservice", "rayservice-sample", "-n", "ray-lab", "--yes"])
        .env("KUBECONFIG", kubeconfig())
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("runtime_env.env_vars.RAYTOP_REDEPLOY_AT: unset -> "), "{stdout}");
    let (_, after) = kapi("admin", "GET", path, "application/json", None);
    let parse = |v: &Value| -> Value { serde_yaml_ng::from_str(v["spec"]["serveConfigV2"].as_str().unwrap()).unwrap() };
    let (old, mut new) = (parse(&before), parse(&after));
    let env = new["applications"][0]["runtime_env"]["env_vars"].as_object_mut().unwrap();
    assert!(env.remove("RAYTOP_REDEPLOY_AT").unwrap().is_string());
    assert_eq!(new, old, "every other application and field of serveConfigV2 is preserved");
    // The rest of the spec is untouched too.
    let strip = |v: &Value| {
        let mut s = v["spec"].clone();
        s.as_object_mut().unwrap().remove("serveConfigV2");
        s
    };
    assert_eq!(strip(&after), strip(&before));
    // A user who may not patch RayServices is refused with the reason.
    let out = common::raytop()
        .args([
            "redeploy",
            "math",
            "--rayservice",
            "rayservice-sample",
            "-n",
            "ray-lab",
            "--yes",
            "--context",
            "lab-viewer",
        ])
        .env("KUBECONFIG", kubeconfig())
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("forbidden: may not patch RayService rayservice-sample"), "{err}");
    // Put back for the tests after this one, and read back.
    assert_eq!(restore.now(), Ok(()));
    let (code, restored) = kapi("admin", "GET", path, "application/json", None);
    assert_eq!(code, 200, "{restored}");
    assert_eq!(restored["spec"], before["spec"], "the RayService's spec as it was");
}

/// raytop's requests in the API server's audit log from byte `from` on, and those of them that
/// write (access reviews, a POST that changes nothing, left out), as "verb URI".
fn audited_since(log: &str, from: usize) -> (usize, Vec<String>) {
    std::thread::sleep(Duration::from_secs(1)); // the audit backend writes in batches
    let text = std::fs::read_to_string(log).unwrap();
    let events: Vec<Value> = text[from..].lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| e["user"]["username"] == "admin")
        .filter(|e| e["userAgent"].as_str().is_none_or(|a| !a.starts_with("curl/") && !a.starts_with("kubectl/")))
        .collect();
    let writes = ours
        .iter()
        .filter(|e| matches!(e["verb"].as_str(), Some("create" | "update" | "patch" | "delete" | "deletecollection")))
        .filter(|e| e["objectRef"]["resource"] != "selfsubjectaccessreviews")
        .map(|e| format!("{} {}", e["verb"], e["requestURI"]))
        .collect();
    (ours.len(), writes)
}

/// With --readonly, a run through every view pressing every key (action keys included) makes
/// the API server see no write from raytop: its own audit log says so (lab/kube/up.sh turns it
/// on). Positive control first: the same `+` on a group without --readonly opens the
/// confirmation and, with yes, is exactly one write in that log.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn readonly_writes_nothing_the_api_server_audit_log_shows() {
    let log = format!("{}/run/audit.log", kube_dir());
    let kc = kubeconfig();
    let rc = ScratchCluster::new("ro-control", false);

    let from = std::fs::metadata(&log).unwrap().len() as usize;
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"]);
    open_group(&p, "ro-control", "big");
    p.keys(&["+"]);
    p.wait_for("Scale big?", Duration::from_secs(5));
    p.keys(&["Tab", "Enter"]);
    p.wait_for("✔ done", Duration::from_secs(10));
    p.close_and_quit();
    let (requests, writes) = audited_since(&log, from);
    eprintln!("figure: positive control without --readonly: {} of {requests} API requests were writes", writes.len());
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("\"patch\"") && writes[0].contains("/rayclusters/ro-control"), "{writes:?}");
    assert_eq!(rc.group("big")["replicas"], 3);

    let from = std::fs::metadata(&log).unwrap().len() as usize;
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str())],
        &["--readonly", "-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"],
    );
    // The control's keys: no confirmation opens.
    open_group(&p, "ro-control", "big");
    p.keys(&["+"]);
    std::thread::sleep(Duration::from_millis(500));
    let s = p.screen();
    assert!(!s.contains("Scale big?"), "no confirmation with --readonly: {s}");
    p.keys(&["Tab", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    p.close_and_quit();
    // Then every view and key, from a fresh start (the keys above left the filter and a view).
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str())],
        &["--readonly", "-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"],
    );
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    let keys =
        ["Enter", "j", "+", "-", "s", "m", "M", "x", "c", "r", "R", "Enter", "y", "Tab", "Enter", "Escape", "j", "j"];
    for view in ["0", "1", "2", "3", "4", "5", "6", "0"] {
        p.keys(&[view]);
        std::thread::sleep(Duration::from_millis(300));
        for k in keys {
            p.keys(&[k]);
        }
        p.keys(&["Escape"]);
    }
    std::thread::sleep(Duration::from_secs(2));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    let (requests, writes) = audited_since(&log, from);
    eprintln!("figure: --readonly through every view and key: {} of {requests} API requests were writes", writes.len());
    assert!(requests > 5, "raytop's requests are in the audit log: {requests}");
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(rc.group("big")["replicas"], 3, "unchanged by the read-only run");
}

/// Runs a lab script (`lab/kube/<script>`) and insists it worked.
fn lab_kube(script: &str, args: &[&str]) {
    let st = Command::new(format!("{}/lab/kube/{script}", env!("CARGO_MANIFEST_DIR"))).args(args).status().unwrap();
    assert!(st.success(), "lab/kube/{script} {args:?}");
}

/// Stops the lab's kube-apiserver and returns how to start the same one again (its command line
/// from /proc), keeping etcd and so every object.
fn stop_apiserver() -> Vec<String> {
    let pid_file = format!("{}/run/apiserver.pid", kube_dir());
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let argv: Vec<String> =
        cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into()).collect();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    // Gone, or a zombie nobody reaps (PID 1 of a container may not): either way it serves nothing.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|st| st.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"))
    };
    let t0 = Instant::now();
    while running() {
        if t0.elapsed() > Duration::from_secs(15) {
            // Still draining its watches: end it as a crash would.
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "kube-apiserver {pid} did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    argv
}

/// Starts kube-apiserver with `argv` in its own session, records its pid for lab/kube/down.sh,
/// and waits until it answers.
fn start_apiserver(argv: &[String]) {
    use std::os::unix::process::CommandExt;
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(format!("{}/run/apiserver.log", kube_dir()))
        .unwrap();
    // Detached on purpose: it outlives the test, and lab/kube/down.sh stops it by its pid file.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    std::fs::write(format!("{}/run/apiserver.pid", kube_dir()), child.id().to_string()).unwrap();
    common::eventually("kube-apiserver answers again", Duration::from_secs(60), || {
        // Refused until it listens: try_kapi, which answers that as an error to wait out.
        match try_kapi("admin", "GET", "/readyz", "application/json", None)?.0 {
            200 => Ok(()),
            code => Err(format!("readyz {code}")),
        }
    });
}

/// The API server stops mid-run and comes back (etcd kept): raytop says which watches fail and
/// since when, keeps every object, and is live again by itself.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn fault_api_server_restarted() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"]);
    p.wait("live", Duration::from_secs(20), |s| s.contains("raycluster-gpu") && s.contains("· live"));
    let argv = stop_apiserver();
    // Started again pass or fail: every later test needs it (`start_apiserver` asserts; the
    // guard turns that into a message, never a panic in Drop).
    let restart = common::Undo::new("kube-apiserver started again", || {
        start_apiserver(&argv);
        Ok(())
    });
    let s = p.wait("the watches failing", Duration::from_secs(60), |s| s.contains("⚠ rayclusters (for "));
    assert!(s.contains("raycluster-gpu") && s.contains("raycluster-cpu"), "objects kept: {s}");
    assert!(s.contains("stale: data from"), "marked stale: {s}");
    assert_eq!(restart.now(), Ok(()));
    let t0 = Instant::now();
    let s = p.wait("live again", Duration::from_secs(90), |s| s.contains("· live") && !s.contains("⚠ "));
    eprintln!("figure: live again {:.1} s after the API server answered", t0.elapsed().as_secs_f64());
    assert!(s.contains("raycluster-gpu") && s.contains("raycluster-cpu"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// The viewer's RBAC binding is deleted mid-run, then put back: the 403 is named, the last
/// data stays, and the watches resume when access returns.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn fault_rbac_revoked_mid_run() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kc.as_str()), ("RAYTOP_KUBE_WATCH_TIMEOUT_S", "2")],
        &["--context", "lab-viewer", "-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"],
    );
    p.wait_for("raycluster-gpu", Duration::from_secs(20));
    let rbac = format!("{}/lab/kube/rbac/viewer.yaml", env!("CARGO_MANIFEST_DIR"));
    let rebind = common::Undo::new("the viewer's binding applied again", || {
        lab_kube("apply.sh", &["-q", &rbac]);
        Ok(())
    });
    let (code, body) = kapi(
        "admin",
        "DELETE",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/raytop-viewer",
        "application/json",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let s = p.wait("the 403 named", Duration::from_secs(60), |s| {
        s.contains("⚠ rayclusters: forbidden: rayclusters.ray.io is forbidden: User \"viewer\" cannot")
    });
    assert!(s.contains("raycluster-gpu"), "the last data kept: {s}");
    assert_eq!(rebind.now(), Ok(()));
    // (The viewer may never read pods or nodes: those notices stay.)
    p.wait("access back", Duration::from_secs(90), |s| s.contains("raycluster-gpu") && !s.contains("⚠ rayclusters"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// The RayCluster CRD is deleted (with every RayCluster) and installed again: raytop says the
/// kind is gone instead of failing, and lists the clusters again once they are back.
#[test]
#[ignore = "needs the kube lab: run ./lab/test.sh"]
fn fault_crd_deleted_and_recreated() {
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"]);
    p.wait("live", Duration::from_secs(20), |s| s.contains("raycluster-gpu") && s.contains("· live"));
    let root = env!("CARGO_MANIFEST_DIR");
    let reinstall = common::Undo::new("the RayCluster CRD and the lab's RayClusters installed again", || {
        lab_kube("apply.sh", &["-q", &format!("{root}/lab/kube/crds/raycluster.yaml")]);
        common::eventually("the CRD served again", Duration::from_secs(30), || {
            match kapi("admin", "GET", RC_PATH, "application/json", None).0 {
                200 => Ok(()),
                code => Err(format!("{code}")),
            }
        });
        for m in ["raycluster-cpu.yaml", "raycluster-gpu.yaml"] {
            lab_kube("apply.sh", &["-q", &format!("{root}/lab/kube/manifests/{m}")]);
        }
        Ok(())
    });
    let (code, body) = kapi(
        "admin",
        "DELETE",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io",
        "application/json",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let s = p.wait("the kind gone", Duration::from_secs(60), |s| s.contains("⚠ rayclusters (for "));
    assert!(!s.contains("panicked"), "{s}");
    assert_eq!(reinstall.now(), Ok(()));
    p.wait("the clusters back", Duration::from_secs(90), |s| {
        s.contains("raycluster-gpu") && s.contains("raycluster-cpu") && !s.contains("⚠ rayclusters")
    });
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}
