//! Against the real KubeRay operator on a real single-node Kubernetes (lab/kuberay/up.sh, with
//! lab/kuberay/manifests applied and raycluster-lab ready): the operator writes the RayClusters,
//! the scheduler places their pods, the kubelet runs Ray in them. Run by `lab/test.sh`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::kuberay::{find, kubeconfig, pods};
use common::tmux::Pane;
use serde_json::Value;

/// `raytop snapshot --json` with the lab's kubeconfig, which must succeed.
fn snapshot() -> Value {
    let (code, json) = common::kuberay::snapshot(&[]);
    assert_eq!(code, 0, "{json}");
    json
}

/// `raytop scale -n ray-lab CLUSTER GROUP ARGS --yes` with the lab's kubeconfig and the given
/// state dir (its audit log): exit status and stdout + stderr.
fn raytop_scale(state: &std::path::Path, cluster: &str, group: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = common::raytop()
        .args(["scale", "-n", "ray-lab", cluster, group])
        .args(args)
        .args(["--yes"])
        .env("KUBECONFIG", kubeconfig())
        .env("XDG_STATE_HOME", state)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// raytop in tmux on the lab's namespace, WIDTH x HEIGHT, once CLUSTER is listed.
fn kube_pane(width: u16, height: u16, cluster: &str) -> Pane {
    let kc = kubeconfig();
    let p = Pane::raytop_env(&[("KUBECONFIG", kc.as_str())], &["-n", "ray-lab", "--dashboard", "http://127.0.0.1:9"]);
    p.resize(width, height);
    p.wait_for(cluster, Duration::from_secs(30));
    p
}

/// The Kube view filtered to CLUSTER and opened on it (its groups, pods and events).
fn open_cluster(width: u16, height: u16, cluster: &str) -> Pane {
    let p = kube_pane(width, height, cluster);
    p.keys(&["/"]);
    p.type_text(cluster);
    p.keys(&["Enter", "Enter"]);
    p
}

/// The operator's own status and pods, each pod joined to the live Ray node it runs, and the
/// dashboard of the real head pod through the API server's service proxy.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn the_operators_raycluster_and_its_pods_join_live_ray_nodes_through_the_service_proxy() {
    let json = snapshot();
    let rc = find(&json, "raycluster-lab", "kubernetes").expect("raycluster-lab listed");
    let provisioned =
        rc["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "RayClusterProvisioned").unwrap();
    assert_eq!(provisioned["status"], "True", "{rc}");
    // The reason KubeRay v1.5.0 writes (the lab's old set-status.sh wrote no such condition reason).
    assert_eq!(provisioned["reason"], "AllPodRunningAndReadyFirstTime");
    assert_eq!(rc["dashboard"]["service"], "raycluster-lab-head-svc");
    let all: Vec<&Value> = ["headgroup", "cpu-group"].iter().flat_map(|g| pods(rc, g)).collect();
    assert_eq!(all.len(), 2, "head and one cpu-group worker: {all:?}");
    for p in &all {
        assert_eq!((p["phase"].as_str(), p["ready"].as_bool()), (Some("Running"), Some(true)), "{p}");
        assert_eq!(p["node"], "raytop-node", "placed by the real scheduler on the lab's node: {p}");
        assert!(p["ip"].as_str().unwrap().starts_with("10.244."), "a pod IP from the node's bridge: {p}");
        assert_eq!(p["ray_node"]["state"], "ALIVE", "pod {} is a live Ray node: {p}", p["name"]);
    }
    let dash = find(&json, "raycluster-lab", "dashboard").expect("its dashboard");
    assert_eq!(dash["connection"]["state"], "connected", "{dash}");
    assert_eq!(dash["ray_version"], "2.60.0");
    assert!(dash["dashboard"].as_str().unwrap().contains("services/raycluster-lab-head-svc:dashboard/proxy"), "{dash}");
}

/// The seed's cluster asks 4 CPUs per worker and the GPU cluster a GPU: the real scheduler
/// leaves them Pending, and raytop names what no node has, in its words.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn workers_that_fit_no_node_show_the_schedulers_cause() {
    let json = common::eventually("the seed's workers Pending with a cause", Duration::from_secs(60), || {
        let json = snapshot();
        let seed = find(&json, "raycluster-autoscaler", "kubernetes").ok_or("no raycluster-autoscaler")?;
        let workers = pods(seed, "worker-group");
        let causes: Vec<&str> = workers.iter().filter_map(|p| p["reason"].as_str()).collect();
        // Three asked; the in-tree autoscaler may lower that towards min (1) meanwhile.
        if !workers.is_empty() && causes.len() == workers.len() && causes.iter().all(|c| c.contains("Insufficient cpu"))
        {
            Ok(json)
        } else {
            Err(format!("{causes:?}"))
        }
    });
    let gpu = find(&json, "raycluster-gpu", "kubernetes").unwrap();
    let workers = pods(gpu, "gpu-workers");
    assert_eq!(workers.len(), 1, "{gpu}");
    assert_eq!(workers[0]["phase"], "Pending");
    let reason = workers[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("Unschedulable (") && reason.contains("Insufficient nvidia.com/gpu"), "{reason}");
    // Positive control: the head of that same cluster was placed and runs.
    assert_eq!(pods(gpu, "headgroup")[0]["phase"], "Running");
    // The Autoscaler view of the seed's cluster says what holds the pods its autoscaler asked
    // for: the scheduler, in its words.
    let p = open_cluster(200, 50, "raycluster-autoscaler");
    p.wait_for("● connected · ray 2.60.0", Duration::from_secs(30));
    p.keys(&["2"]);
    let s = p.wait("the Kubernetes cause under the verdicts", Duration::from_secs(30), |s| {
        s.contains("⧗ worker-group on Kubernetes (RayCluster raycluster-autoscaler): ")
    });
    let line = s.lines().find(|l| l.contains("⧗ worker-group on Kubernetes")).unwrap();
    assert!(line.contains("pod(s) Pending: Unschedulable (1 Insufficient cpu"), "{line}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// The Kube view shows the operator's, the scheduler's and the kubelet's own events: KubeRay's
/// CreatedWorkerPod, the scheduler's FailedScheduling (posted through the events.k8s.io API: no
/// `source`, no `lastTimestamp`, only `eventTime`) and the kubelet's Started.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn the_kube_view_shows_the_operators_schedulers_and_kubelets_events() {
    // Tall enough for the panel to hold the cluster's first events under the probes' later ones.
    let p = open_cluster(160, 60, "raycluster-gpu");
    let s = p.wait("the cluster's events", Duration::from_secs(30), |s| {
        s.contains("CreatedWorkerPod") && s.contains("FailedScheduling") && s.contains("Started")
    });
    assert!(s.contains("FailedScheduling") && s.contains("0/1 nodes are available: 1 Insufficient"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

fn worker_pods(group: &str) -> Vec<String> {
    let json = snapshot();
    let rc = find(&json, "raycluster-lab", "kubernetes").unwrap();
    pods(rc, group).iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
}

/// Scale end to end: raytop patches `replicas`, the operator creates a pod, the scheduler and
/// kubelet run it, Ray registers the node; then `--delete-pod` names one pod, and the operator
/// deletes exactly that one (`workersToDelete`). The time from the patch to the Ray node alive
/// is printed as a figure.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn scaling_up_starts_a_real_ray_node_and_deleting_a_pod_removes_exactly_it() {
    let state = tempfile::tempdir().unwrap();
    let scale = |args: &[&str]| {
        let (code, text) = raytop_scale(state.path(), "raycluster-lab", "cpu-group", args);
        assert_eq!(code, Some(0), "{text}");
        text
    };
    let before = worker_pods("cpu-group");
    assert_eq!(before.len(), 1, "{before:?}");
    let t0 = Instant::now();
    let out = scale(&["--replicas", "2"]);
    assert!(out.contains("replicas: 1 -> 2"), "{out}");
    let alive = common::eventually("a second cpu-group Ray node ALIVE", Duration::from_secs(240), || {
        let json = snapshot();
        let rc = find(&json, "raycluster-lab", "kubernetes").unwrap();
        let new: Vec<&Value> = pods(rc, "cpu-group")
            .into_iter()
            .filter(|p| !before.contains(&p["name"].as_str().unwrap().to_string()))
            .collect();
        match new.first() {
            Some(p) if p["ray_node"]["state"] == "ALIVE" => Ok(p["name"].as_str().unwrap().to_string()),
            Some(p) => Err(format!("new pod {} is {} {}", p["name"], p["phase"], p["ray_node"])),
            None => Err("no new pod yet".into()),
        }
    });
    eprintln!("figure: scale patch to the new Ray node ALIVE in {} ms", t0.elapsed().as_millis());

    let out = scale(&["--delete-pod", &alive]);
    assert!(out.contains(&alive), "{out}");
    let left = common::eventually("the named pod deleted", Duration::from_secs(120), || {
        let now = worker_pods("cpu-group");
        if now.contains(&alive) { Err(format!("{now:?}")) } else { Ok(now) }
    });
    assert_eq!(left, before, "exactly the named pod went; the first worker stayed");
    let audit = std::fs::read_to_string(state.path().join("raytop/audit.jsonl")).unwrap();
    let results = audit.lines().filter(|l| l.contains(r#""phase":"result""#) && l.contains(r#""ok":true"#)).count();
    assert_eq!((audit.lines().count(), results), (4, 2), "both changes audited, intent and result: {audit}");
}

/// Sets `cpu-group` of raycluster-lab back to one replica when dropped, pass or fail, so a test
/// that stops half-way leaves the cluster as the others expect it.
struct OneCpuWorker;

impl Drop for OneCpuWorker {
    fn drop(&mut self) {
        let state = tempfile::tempdir().unwrap();
        let _ = raytop_scale(state.path(), "raycluster-lab", "cpu-group", &["--replicas", "1"]);
    }
}

/// The worker pod rows of raycluster-lab's cpu-group on the screen, with their Ray node state.
fn cpu_worker_rows(screen: &str) -> Vec<(String, bool)> {
    screen
        .lines()
        .filter_map(|l| {
            // A table row starts with the pod's name; the dialog and the events only mention it.
            let name = l.trim_start_matches('│').split_whitespace().next()?;
            name.starts_with("raycluster-lab-cpu-group-worker-").then_some(())?;
            Some((name.to_string(), l.contains("ALIVE")))
        })
        .collect()
}

/// Scale from keys, in the TUI: `+` on the group asks, yes patches, and the group's row follows
/// the operator, scheduler, kubelet and Ray until the new pod is an ALIVE Ray node; `x` on that
/// pod asks to remove exactly it, and the operator deletes that one and no other.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn in_tmux_plus_starts_a_ray_node_and_x_removes_exactly_the_selected_pod() {
    let _restore = OneCpuWorker;
    let p = open_cluster(160, 60, "raycluster-lab");
    let s = p.wait("one ALIVE cpu-group worker", Duration::from_secs(30), |s| {
        let rows = cpu_worker_rows(s);
        rows.len() == 1 && rows[0].1
    });
    let first = cpu_worker_rows(&s)[0].0.clone();
    // Rows: the cluster, headgroup, its head pod, cpu-group.
    p.keys(&["j", "j", "j", "+"]);
    let s = p.wait_for("Scale cpu-group?", Duration::from_secs(15));
    assert!(s.contains("replicas  1 → 2"), "{s}");
    p.keys(&["Tab", "Enter"]);
    let t0 = Instant::now();
    p.wait_for("replicas 2", Duration::from_secs(30));
    // desired → Pending → Running → ALIVE: each step is on screen as the operator and the
    // kubelet make it; the last one is what the user waits for.
    let s = p.wait("a second cpu-group worker ALIVE", Duration::from_secs(240), |s| {
        let rows = cpu_worker_rows(s);
        rows.len() == 2 && rows.iter().all(|r| r.1)
    });
    eprintln!("figure: `+` confirmed to the new Ray node ALIVE on screen in {} ms", t0.elapsed().as_millis());
    let added = cpu_worker_rows(&s).into_iter().map(|r| r.0).find(|n| *n != first).unwrap();
    p.keys(&["Escape"]);
    // The row under cpu-group is one of its two pods: the confirmation names which.
    p.keys(&["j", "x"]);
    let s = p.wait_for("Remove pod ", Duration::from_secs(15));
    let mut target = if s.contains(&format!("Remove pod {added}")) { added.clone() } else { first.clone() };
    if target != added {
        // The first worker is the selected one: move to the added pod instead.
        p.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
        p.keys(&["j", "x"]);
        let s = p.wait_for(&format!("Remove pod {added}"), Duration::from_secs(15));
        assert!(s.contains("workersToDelete"), "{s}");
        target = added.clone();
    }
    p.keys(&["Tab", "Enter"]);
    p.wait_for("✔ done", Duration::from_secs(30));
    p.keys(&["Escape"]);
    let s = p.wait("the selected pod gone", Duration::from_secs(120), |s| {
        let rows = cpu_worker_rows(s);
        rows.len() == 1 && rows[0].0 != target
    });
    assert_eq!(cpu_worker_rows(&s)[0].0, first, "the other pod stayed: {s}");
    let audit = std::fs::read_to_string(p.audit_file()).unwrap();
    assert_eq!(audit.lines().count(), 4, "two changes, intent and result each: {audit}");
    p.close_and_quit();
}

/// The lab's kubectl in namespace ray-lab.
fn kubectl() -> std::process::Command {
    let mut cmd = common::kuberay::kubectl();
    cmd.args(["-n", "ray-lab"]);
    cmd
}

/// lab/kuberay/on-demand/raycluster-elastic.yaml, applied for one test and deleted when
/// dropped, with the task that holds a CPU in it.
struct ElasticCluster {
    task: Option<std::process::Child>,
}

const ELASTIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/kuberay/on-demand/raycluster-elastic.yaml");

impl ElasticCluster {
    fn apply() -> ElasticCluster {
        // A run cut off before its drop leaves one behind: start from none.
        let _ = kubectl().args(["delete", "-f", ELASTIC, "--ignore-not-found", "--wait=true"]).output();
        let _ = kubectl()
            .args(["wait", "--for=delete", "pod", "-l", "ray.io/cluster=raycluster-elastic", "--timeout=120s"])
            .output();
        let out = kubectl().args(["apply", "-f", ELASTIC]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        ElasticCluster { task: None }
    }

    /// A task that asks one CPU, more than the head (num-cpus 0) has, and holds it: driven by
    /// `kubectl exec` in the head pod, as a user's script would be.
    fn hold_one_cpu(&mut self, head: &str) {
        let script = "import ray, time\nray.init()\n@ray.remote(num_cpus=1)\ndef hold():\n    time.sleep(900)\nray.get(hold.remote())\n";
        let child = kubectl()
            .args(["exec", head, "-c", "ray-head", "--", "python", "-c", script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.task = Some(child);
    }
}

impl Drop for ElasticCluster {
    fn drop(&mut self) {
        if let Some(mut task) = self.task.take() {
            let _ = task.kill();
            let _ = task.wait();
        }
        let _ = kubectl().args(["delete", "-f", ELASTIC, "--wait=false"]).output();
    }
}

/// The in-tree autoscaler (its sidecar injected by the operator): a task that wants a CPU no
/// node has makes it raise `replicas`; raytop shows its decision (Autoscaler view) and the new
/// pod joined to its Ray node (Kube view). Then `--min 2` (what `m` sends): KubeRay keeps at
/// least min, and a second pod runs.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn the_in_tree_autoscaler_adds_a_worker_for_a_task_and_raising_min_adds_another() {
    let mut elastic = ElasticCluster::apply();
    let head = common::eventually("raycluster-elastic's head ALIVE", Duration::from_secs(180), || {
        let json = snapshot();
        let rc = find(&json, "raycluster-elastic", "kubernetes").ok_or("not listed yet")?;
        match pods(rc, "headgroup").first() {
            Some(p) if p["ray_node"]["state"] == "ALIVE" => Ok(p["name"].as_str().unwrap().to_string()),
            other => Err(format!("head: {other:?}")),
        }
    });
    // Positive control for what follows: nothing asks for a worker yet, and none runs.
    let json = snapshot();
    let group = |json: &Value| {
        let rc = find(json, "raycluster-elastic", "kubernetes").unwrap();
        rc["groups"].as_array().unwrap().iter().find(|g| g["name"] == "elastic").unwrap().clone()
    };
    assert_eq!(
        (
            group(&json)["replicas"].as_i64(),
            pods(find(&json, "raycluster-elastic", "kubernetes").unwrap(), "elastic").len()
        ),
        (Some(0), 0)
    );

    elastic.hold_one_cpu(&head);
    let t0 = Instant::now();
    let json = common::eventually("the autoscaler's worker ALIVE", Duration::from_secs(240), || {
        let json = snapshot();
        let g = group(&json);
        let rc = find(&json, "raycluster-elastic", "kubernetes").unwrap();
        let alive = pods(rc, "elastic").iter().filter(|p| p["ray_node"]["state"] == "ALIVE").count();
        if g["replicas"].as_i64() == Some(1) && alive == 1 { Ok(json) } else { Err(format!("{g}")) }
    });
    eprintln!("figure: task submitted to the autoscaler's worker ALIVE in {} ms", t0.elapsed().as_millis());
    let dash = find(&json, "raycluster-elastic", "dashboard").unwrap();
    let events = dash["autoscaler"]["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["decision"] == "adding" && e["message"] == "Adding 1 node(s) of type elastic."),
        "the autoscaler's own decision: {events:?}"
    );
    let kube = find(&json, "raycluster-elastic", "kubernetes").unwrap();
    assert!(
        kube["events"].as_array().unwrap().iter().any(|e| e["reason"] == "CreatedWorkerPod"),
        "the operator's event for the new pod: {kube}"
    );

    // `m` in the TUI sends this patch; the CLI is the same executor.
    let state = tempfile::tempdir().unwrap();
    let (code, text) = raytop_scale(state.path(), "raycluster-elastic", "elastic", &["--min", "2"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("minReplicas: 0 -> 2") && text.contains("KubeRay creates 1 pod(s) at once"), "{text}");
    common::eventually("two elastic workers ALIVE", Duration::from_secs(240), || {
        let json = snapshot();
        let rc = find(&json, "raycluster-elastic", "kubernetes").unwrap();
        let alive = pods(rc, "elastic").iter().filter(|p| p["ray_node"]["state"] == "ALIVE").count();
        if alive == 2 && group(&json)["min"] == 2 { Ok(()) } else { Err(format!("{alive} alive: {}", group(&json))) }
    });

    // The same decision in the TUI's Autoscaler view, for this cluster.
    let p = open_cluster(160, 60, "raycluster-elastic");
    p.wait_for("raycluster-elastic [", Duration::from_secs(30));
    p.keys(&["2"]);
    p.wait_for("Adding 1 node(s) of type elastic", Duration::from_secs(30));
    p.close_and_quit();
}

const RAYJOB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/kuberay/on-demand/rayjob-train.yaml");

/// lab/kuberay/on-demand/rayjob-train.yaml for one test; deleted when dropped (its RayCluster
/// goes with it: the operator owns it).
struct TrainJob;

impl TrainJob {
    fn apply() -> TrainJob {
        let _ = kubectl().args(["delete", "-f", RAYJOB, "--ignore-not-found", "--wait=true"]).output();
        let out = kubectl().args(["apply", "-f", RAYJOB]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        TrainJob
    }
}

impl Drop for TrainJob {
    fn drop(&mut self) {
        let _ = kubectl().args(["delete", "-f", RAYJOB, "--wait=false"]).output();
    }
}

/// A RayJob running a Ray Train v2 DataParallelTrainer: the operator creates its RayCluster and
/// the submitter Job, and raytop follows both the RayJob (Kubernetes) and the Ray job (that
/// cluster's dashboard, through the service proxy) from RUNNING to SUCCEEDED, one job under
/// one id; the Jobs view shows them side by side.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn a_rayjob_and_its_ray_job_are_followed_to_their_end() {
    let _job = TrainJob::apply();
    let t0 = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    let (json, rayjob) = common::eventually("the RayJob SUCCEEDED and Complete", Duration::from_secs(420), || {
        let json = snapshot();
        let jobs = json["kubernetes"]["jobs"].as_array().ok_or("no jobs")?;
        let rj = jobs.iter().find(|j| j["name"] == "rayjob-train").ok_or("rayjob-train not listed")?.clone();
        let status = format!("{} / {}", rj["job_status"].as_str().unwrap(), rj["deployment_status"].as_str().unwrap());
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "SUCCEEDED / Complete" { Ok((json, rj)) } else { Err(status) }
    });
    eprintln!("figure: RayJob applied to Complete in {} ms; statuses seen: {seen:?}", t0.elapsed().as_millis());
    assert!(seen.iter().any(|s| s.starts_with("RUNNING")), "followed while it ran: {seen:?}");
    let cluster = rayjob["cluster"].as_str().unwrap();
    assert!(cluster.starts_with("rayjob-train-"), "the operator names its cluster after the RayJob: {rayjob}");
    let job_id = rayjob["job_id"].as_str().unwrap();
    assert!(job_id.starts_with("rayjob-train-"), "{rayjob}");
    assert!(find(&json, cluster, "kubernetes").is_some(), "its RayCluster in the Kube view");
    let dash = find(&json, cluster, "dashboard").expect("its dashboard through the service proxy");
    let ray_job = dash["jobs"].as_array().unwrap().iter().find(|j| j["id"] == job_id).expect("the same job by id");
    assert_eq!(ray_job["status"], "SUCCEEDED", "{ray_job}");
    assert_eq!(ray_job["entrypoint"], "python /home/ray/job/train.py");
    // Its Train run (state tracking on in the head's env), through the proxy: finished, both
    // ranks, the job that drove it.
    let runs = dash["train"]["runs"].as_array().expect("Train runs in the snapshot");
    let run = runs.iter().find(|r| r["name"] == "lab-train").unwrap_or_else(|| panic!("{}", dash["train"]));
    assert_eq!((run["status"].as_str(), run["job"].as_str()), (Some("FINISHED"), Some(job_id)), "{run}");
    let ranks: Vec<i64> = run["attempts"].as_array().unwrap().last().unwrap()["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["world_rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, [0, 1], "{run}");

    let p = kube_pane(180, 50, "rayjob-train");
    p.keys(&[":"]);
    p.type_text(&format!("use {cluster}"));
    p.keys(&["Enter"]);
    p.wait_for(&format!("{cluster} ["), Duration::from_secs(30));
    p.keys(&["6"]);
    let s = p.wait("the RayJob and its Ray job", Duration::from_secs(30), |s| {
        s.contains("SUCCEEDED / Complete") && s.contains(&format!("job {job_id}")) && s.contains("ray submission")
    });
    assert!(s.contains("python /home/ray/job/train.py"), "{s}");
    assert!(s.contains("lab-train") && s.contains("train run") && s.contains("FINISHED"), "{s}");
    p.close_and_quit();
    // The submitter's log (the pod of the Job KubeRay made, `ray job submit` following the
    // driver): the driver's last line.
    let (code, out, err) = raytop_logs(&["job/rayjob-train"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("train finished:"), "{out}");
    // The Ray job's driver log itself, from the RayCluster's dashboard through the proxy.
    let out = common::raytop()
        .args(["logs", "-n", "ray-lab", "--ray-cluster", cluster, "job", job_id])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    let (driver, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(driver.contains("train finished:"), "{driver}");
}

/// `raytop logs pod …` with the lab's kubeconfig (and CONTEXT when given): exit status, stdout,
/// stderr.
fn raytop_logs(args: &[&str]) -> (Option<i32>, String, String) {
    let out = common::raytop()
        .args(["logs", "-n", "ray-lab", "pod"])
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    let s = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.code(), s(&out.stdout), s(&out.stderr))
}

/// A pod of its own that prints a line naming its run, a coloured line, then exits 1, so the
/// kubelet restarts it; deleted when dropped.
struct LogProbe;

impl LogProbe {
    const NAME: &'static str = "log-probe";

    fn new() -> LogProbe {
        let _ = kubectl().args(["delete", "pod", LogProbe::NAME, "--ignore-not-found", "--wait=true"]).output();
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": LogProbe::NAME, "namespace": "ray-lab"},
            "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 1, "containers": [{
                "name": "probe", "image": "rayproject/ray:2.60.0",
                "command": ["sh", "-c", "echo \"run $(date +%s%N)\"; printf '\\033[31mERROR\\033[0m in red\\n'; i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo tick $i; sleep 1; done; exit 1"],
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}
            }]}
        });
        let mut child = kubectl().args(["apply", "-f", "-"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(pod.to_string().as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        LogProbe
    }
}

impl Drop for LogProbe {
    fn drop(&mut self) {
        let ok = kubectl().args(["delete", "pod", LogProbe::NAME, "--ignore-not-found", "--wait=false"]).status();
        if !ok.is_ok_and(|s| s.success()) {
            eprintln!("pod {} not deleted", LogProbe::NAME);
        }
    }
}

/// A pod's log through the API server (`pods/log`) from the real kubelet: the current and the
/// previous container after a restart, each its own run; terminal colours stripped; `--tail`;
/// `--follow` printing lines as the container writes them; KubeRay's two-container head read
/// without `-c` (Ray's) and with it (the autoscaler's); the viewer's 403 named.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn a_pods_log_current_previous_and_followed_through_the_api_server() {
    let _probe = LogProbe::new();
    let runs = |s: &str| s.lines().filter(|l| l.starts_with("run ")).map(str::to_string).collect::<Vec<_>>();
    // Following from the first run: its lines arrive while the container writes them.
    common::eventually("the probe running", Duration::from_secs(60), || {
        let out = kubectl().args(["get", "pod", LogProbe::NAME, "-o", "jsonpath={.status.phase}"]).output().unwrap();
        let phase = String::from_utf8_lossy(&out.stdout).to_string();
        if phase == "Running" { Ok(()) } else { Err(phase) }
    });
    let t0 = Instant::now();
    let follow = common::raytop()
        .args(["logs", "-n", "ray-lab", "pod", LogProbe::NAME, "--follow"])
        .env("KUBECONFIG", kubeconfig())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = follow.wait_with_output().unwrap(); // ends when the container exits
    eprintln!("figure: --follow ended with the container after {:.1} s", t0.elapsed().as_secs_f64());
    let followed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(followed.contains("tick 3"), "{followed}");
    // After the kubelet restarted it: two runs, two logs.
    common::eventually("the probe restarted and running again", Duration::from_secs(90), || {
        let out = kubectl()
            .args([
                "get",
                "pod",
                LogProbe::NAME,
                "-o",
                "jsonpath={.status.containerStatuses[0].restartCount} {.status.phase}",
            ])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let (code, current, _) = raytop_logs(&[LogProbe::NAME]);
        if !s.starts_with('0') && code == Some(0) && !runs(&current).is_empty() { Ok(()) } else { Err(s) }
    });
    let (code, current, err) = raytop_logs(&[LogProbe::NAME]);
    let (pcode, previous, perr) = raytop_logs(&[LogProbe::NAME, "--previous"]);
    assert_eq!((code, pcode), (Some(0), Some(0)), "{err}{perr}");
    let (now_run, before_run) = (runs(&current), runs(&previous));
    assert_eq!((now_run.len(), before_run.len()), (1, 1), "{current}\n--\n{previous}");
    assert_ne!(now_run, before_run, "the previous container's log is its own run");
    assert!(previous.contains("ERROR in red") && !previous.contains('\u{1b}'), "colours stripped: {previous:?}");
    assert!(previous.ends_with("tick 3\n"), "the previous run's whole log: {previous}");
    let (_, tail, _) = raytop_logs(&[LogProbe::NAME, "--previous", "--tail", "1"]);
    assert_eq!(tail, "tick 3\n");
    // KubeRay's head with the autoscaler's sidecar: Ray's container by default.
    let json = snapshot();
    let seed = find(&json, "raycluster-autoscaler", "kubernetes").unwrap();
    let head = pods(seed, "headgroup")[0]["name"].as_str().unwrap().to_string();
    let (code, ray, err) = raytop_logs(&[&head]);
    assert_eq!(code, Some(0), "{err}");
    assert!(ray.contains("Ray runtime started"), "ray start's own output: {ray}");
    let (code, sidecar, err) = raytop_logs(&[&head, "-c", "autoscaler"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!sidecar.contains("Ray runtime started") && !sidecar.is_empty(), "{sidecar}");
    // The viewer may not read pods, nor their logs: the 403 in one line, exit 1.
    let out = common::raytop()
        .args(["logs", "-n", "ray-lab", "--context", "lab-viewer", "pod", LogProbe::NAME])
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("raytop: forbidden: may not read pods/log of ray-lab/log-probe") && err.lines().count() == 1,
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// A Ray log through the API server's service proxy: the RayCluster opened in the Kube view,
/// its head node in the Cluster view, `l`: the node's files, listed through the proxy, then the
/// head's raylet.out, read by the dashboard on the head pod from the node's agent.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn a_ray_nodes_log_through_the_service_proxy_in_the_pane() {
    let p = open_cluster(160, 45, "raycluster-lab");
    p.wait_for("headgroup", Duration::from_secs(30));
    p.keys(&["1"]);
    p.wait("the head node in the Cluster view", Duration::from_secs(60), |s| s.contains("ALIVE"));
    // The first row is the head group, the second its node: `l` lists its files (through the
    // proxy too), raylet.out first; Enter opens it.
    p.keys(&["g", "j", "l"]);
    p.wait("the head node's files listed", Duration::from_secs(30), |s| {
        s.contains("log file of node") && s.contains("raylet.out")
    });
    p.keys(&["Enter"]);
    let lines_read = |s: &str| {
        s.lines().find_map(|l| {
            l.trim_start().split_once(" lines").and_then(|(n, _)| n.trim().replace(',', "").parse::<u64>().ok())
        })
    };
    let s = p.wait("raylet.out read through the proxy", Duration::from_secs(45), |s| {
        s.contains("raylet.out on node") && s.contains("● live") && lines_read(s).is_some_and(|n| n > 0)
    });
    assert!(!s.contains("✖"), "{s}");
    p.keys(&["Escape"]);
    p.wait("the Cluster view back", Duration::from_secs(10), |s| !s.contains("raylet.out on node"));
    p.close_and_quit();
}

/// A Tune driver on a RayCluster's head (lab/kuberay/tune_head.py, storage on the head), run
/// through `kubectl exec` as a user's script would be; stopped when dropped.
struct HeadSweep {
    driver: Option<std::process::Child>,
    head: String,
    name: String,
}

const TUNE_HEAD: &str = include_str!("../lab/kuberay/tune_head.py");

impl HeadSweep {
    fn start(head: &str, name: &str) -> HeadSweep {
        let driver = kubectl()
            .args(["exec", head, "-c", "ray-head", "--", "python", "-c", TUNE_HEAD, name])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        HeadSweep { driver: Some(driver), head: head.to_string(), name: name.to_string() }
    }

    /// Waits for the driver's end: its output.
    fn wait(&mut self) -> String {
        let out = self.driver.take().unwrap().wait_with_output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

impl Drop for HeadSweep {
    fn drop(&mut self) {
        if let Some(mut d) = self.driver.take() {
            // The driver runs on in the pod when kubectl goes: ended there too.
            let _ = kubectl().args(["exec", &self.head, "-c", "ray-head", "--", "pkill", "-f", &self.name]).output();
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

/// A trial as the leaderboard has it: id, status, iterations, best value.
type BoardRow = (String, String, u64, Option<f64>);

/// The trials of EXPERIMENT in a snapshot's cluster, sorted by id.
fn board(cluster: &Value, experiment: &str) -> Result<Vec<BoardRow>, String> {
    let exps = cluster["tune"]["experiments"].as_array().ok_or("no tune")?;
    let e = exps
        .iter()
        .find(|e| e["name"] == experiment)
        .ok_or_else(|| format!("{experiment} not read: {}", cluster["tune"]))?;
    let mut rows: Vec<_> = e["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let id = t["trial_id"].as_str().unwrap_or_default().to_string();
            (
                id,
                t["status"].as_str().unwrap_or_default().to_string(),
                t["iterations"].as_u64().unwrap_or(0),
                t["best"].as_f64(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// Tune from the head pod with no `--tune-dir`: opening raycluster-lab finds the sweep its head
/// runs (through `pods/exec`, the reader raytop sends), its leaderboard grows live in the Tune
/// view, and once it ends `snapshot` gives the same trials, statuses, iterations and best values
/// as the experiment's files copied off the head and read from disk. The viewer, who may not
/// exec (nor list pods), is told so.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn a_tune_sweep_on_the_head_is_watched_through_exec_with_no_tune_dir() {
    let head = lab_head();
    // Unique across runs (pids repeat in the lab's fresh namespaces): Tune would resume a name.
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let name = format!("lab-tune-{stamp}");
    // Earlier runs' experiments (none is running: the stage runs one test at a time).
    let rm = "rm -rf /tmp/ray_results/lab-tune-* /tmp/ray/session_latest/artifacts/*/lab-tune-*";
    let _ = kubectl().args(["exec", &head, "-c", "ray-head", "--", "sh", "-c", rm]).output();
    let t0 = Instant::now();
    let mut sweep = HeadSweep::start(&head, &name);

    let p = open_cluster(260, 50, "raycluster-lab");
    p.wait_for("headgroup", Duration::from_secs(30));
    p.keys(&["4"]);
    let running = |s: &str| s.lines().filter(|l| l.contains("RUNNING")).count();
    // 260 columns: the info line's folder on the head is long. `:tune NAME` once it is found (the view opens on the last experiment by name).
    let deadline = Instant::now() + Duration::from_secs(150);
    let s = loop {
        p.keys(&[":"]);
        p.type_text(&format!("tune {name}"));
        p.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(500));
        let s = p.screen();
        let title = s.lines().nth(1).unwrap_or_default().to_string();
        if title.contains(&name) && running(&s) > 0 {
            break s;
        }
        assert!(Instant::now() < deadline, "the sweep's leaderboard from the head, not in 150 s: {s}");
        std::thread::sleep(Duration::from_secs(1));
    };
    eprintln!(
        "figure: first RUNNING leaderboard from the head {} ms after the driver started",
        t0.elapsed().as_millis()
    );
    assert!(s.contains("head of ray-lab/raycluster-lab through exec (read ") && s.contains("last pass): "), "{s}");
    assert!(
        s.contains("last pass): /tmp/ray/session_latest/artifacts/"),
        "read from the driver's staging folder, the freshest: {s}"
    );
    // Live: the running trials' iterations (the column after BEST and LAST) go up.
    let iterations = |s: &str| -> u64 {
        s.lines()
            .filter_map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "RUNNING")?;
                words.get(at + 3)?.parse::<u64>().ok()
            })
            .sum()
    };
    let before = iterations(&s);
    p.wait("more iterations on screen", Duration::from_secs(60), |s| {
        iterations(s) > before || s.contains("TERMINATED")
    });
    p.keys(&[":"]);
    p.type_text("tune");
    p.keys(&["Enter"]);
    p.wait(":tune names the experiment and where it lies", Duration::from_secs(10), |s| {
        s.contains(&format!("experiments: {name} (head of ray-lab/raycluster-lab: /tmp/ray/session_latest/artifacts/"))
            || s.contains(&format!("{name} (head of ray-lab/raycluster-lab: /tmp/ray_results/{name})"))
    });
    p.close_and_quit();

    let out = sweep.wait();
    assert!(out.contains(&format!("tune_head {name} finished")), "{out}");
    eprintln!("figure: the sweep ran {} ms in all", t0.elapsed().as_millis());

    // The files on the head, copied off it, read from disk: the same board.
    let copy = tempfile::tempdir().unwrap();
    let tar = kubectl()
        .args(["exec", &head, "-c", "ray-head", "--", "tar", "-C", "/tmp/ray_results", "-cf", "-", &name])
        .output()
        .unwrap();
    assert!(tar.status.success(), "{}", String::from_utf8_lossy(&tar.stderr));
    let mut untar = std::process::Command::new("tar")
        .args(["-C", copy.path().to_str().unwrap(), "-xf", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(untar.stdin.as_mut().unwrap(), &tar.stdout).unwrap();
    drop(untar.stdin.take());
    assert!(untar.wait().unwrap().success());
    let on_disk = common::raytop()
        .args(["snapshot", "--json", "--dashboard", "http://127.0.0.1:9", "--timeout", "2", "--tune-dir"])
        .arg(copy.path())
        .output()
        .unwrap();
    let on_disk: Value = serde_json::from_slice(&on_disk.stdout).unwrap();
    let expected = board(&on_disk["clusters"][0], &name).unwrap();
    assert_eq!(expected.len(), 4, "{expected:?}");
    assert!(expected.iter().all(|t| t.1 == "TERMINATED"), "{expected:?}");
    let t1 = Instant::now();
    let json = snapshot();
    eprintln!("figure: snapshot with the head's Tune read {} ms", t1.elapsed().as_millis());
    let dash = find(&json, "raycluster-lab", "dashboard").expect("its dashboard");
    assert_eq!(board(dash, &name).unwrap(), expected, "the head's board through exec equals the files' on disk");
    let storage = dash["tune"]["storage"].as_array().unwrap();
    assert_eq!(storage[0]["url"], "head of ray-lab/raycluster-lab", "{storage:?}");

    // The viewer may not list pods, so cannot find the head to exec into: said, with the way out.
    let (code, json) = common::kuberay::snapshot(&["--context", "lab-viewer"]);
    assert_eq!(code, 0, "{json}");
    let dash = find(&json, "raycluster-lab", "dashboard").expect("its dashboard, through the proxy the viewer may use");
    let problems = dash["tune"]["problems"].to_string();
    assert!(problems.contains("head of ray-lab/raycluster-lab: forbidden: may not list the pods"), "{problems}");
    assert!(problems.contains("--tune-dir s3://"), "{problems}");
    // Allowed to list pods in ray-lab, still not to exec: the API server's 403 on the exec, said.
    let _reader = PodsReader::grant();
    let problems = common::eventually("the viewer's 403 on pods/exec", Duration::from_secs(30), || {
        let (code, json) = common::kuberay::snapshot(&["--context", "lab-viewer"]);
        let dash = find(&json, "raycluster-lab", "dashboard").ok_or("no dashboard")?;
        let problems = dash["tune"]["problems"].to_string();
        if code == 0 && problems.contains("not allowed to exec into the head pod") {
            Ok(problems)
        } else {
            Err(problems)
        }
    });
    assert!(problems.contains("RBAC: create on pods/exec in its namespace") && problems.contains("403"), "{problems}");
}

/// A Role that lets the lab's viewer list and get pods in ray-lab (not exec), removed on drop.
struct PodsReader;

const PODS_READER: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: raytop-test-pods-reader, namespace: ray-lab}
rules:
- apiGroups: [\"\"]
  resources: [pods]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: raytop-test-pods-reader, namespace: ray-lab}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: raytop-test-pods-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: viewer}
";

impl PodsReader {
    fn grant() -> PodsReader {
        let mut apply = kubectl().args(["apply", "-f", "-"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(apply.stdin.as_mut().unwrap(), PODS_READER.as_bytes()).unwrap();
        drop(apply.stdin.take());
        assert!(apply.wait().unwrap().success(), "the pods reader Role applied");
        PodsReader
    }
}

impl Drop for PodsReader {
    fn drop(&mut self) {
        let _ =
            kubectl().args(["delete", "role,rolebinding", "raytop-test-pods-reader", "--ignore-not-found"]).output();
    }
}

/// The head pod of raycluster-lab (KubeRay labels it `ray.io/node-type=head`).
fn lab_head() -> String {
    let select = "ray.io/cluster=raycluster-lab,ray.io/node-type=head";
    let out = kubectl().args(["get", "pod", "-l", select, "-o", "name"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("pod/").to_string()
}

/// Figures of reading Tune through exec, on the real head: a 1,000-trial experiment (the rig's,
/// built from the grid capture) put on raycluster-lab's head; the first pass (connect, copy,
/// scan: the first leaderboard), an idle pass, and a pass after 10 trials reported, with the
/// bytes each moved. Asserts what was read, prints how long and how much.
#[test]
#[ignore = "needs the KubeRay lab: run ./lab/test.sh"]
fn figures_a_thousand_trial_experiment_on_the_head_read_through_exec() {
    use raytop::source::tune::Scanner;
    use raytop::source::tune_head::{HeadMirror, exec_connector, label};
    let head = lab_head();
    let built = tempfile::tempdir().unwrap();
    let rig = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/rig");
    let make = format!(
        "import sys; sys.path.insert(0, {rig:?}); from ray_rig import Experiment; Experiment(sys.argv[1], 1000)"
    );
    let out = std::process::Command::new("python3").args(["-c", &make]).arg(built.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tar = std::process::Command::new("tar")
        .args(["-C"])
        .arg(built.path())
        .args(["-cf", "-", "rig_experiment"])
        .output()
        .unwrap();
    let _ = kubectl()
        .args(["exec", &head, "-c", "ray-head", "--", "rm", "-rf", "/tmp/ray_results/rig_experiment"])
        .output();
    let mut put = kubectl()
        .args([
            "exec",
            "-i",
            &head,
            "-c",
            "ray-head",
            "--",
            "sh",
            "-c",
            "mkdir -p /tmp/ray_results && tar -C /tmp/ray_results -xf -",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(put.stdin.as_mut().unwrap(), &tar.stdout).unwrap();
    drop(put.stdin.take());
    assert!(put.wait().unwrap().success(), "the experiment put on the head");
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = kubectl()
                .args(["exec", &self.0, "-c", "ray-head", "--", "rm", "-rf", "/tmp/ray_results/rig_experiment"])
                .output();
        }
    }
    let _cleanup = Cleanup(head.clone());

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let target = raytop::source::kube::Target { namespace: Some("ray-lab".into()), ..Default::default() };
        let kc = std::path::PathBuf::from(kubeconfig());
        let (client, ..) = raytop::source::kube::clients::client_from(&target, Some(&kc)).await.unwrap();
        let cache = tempfile::tempdir().unwrap();
        let connect = exec_connector(client, "ray-lab".into(), "raycluster-lab".into());
        let mut m = HeadMirror::new(label("ray-lab", "raycluster-lab"), cache.path(), &["ray-lab", "raycluster-lab"], connect).unwrap();
        let t0 = Instant::now();
        let (mut bytes, mut passes) = (0, 0);
        loop {
            let p = m.sync().await.unwrap();
            bytes += p.bytes;
            passes += 1;
            if !p.behind {
                break;
            }
        }
        let copied = t0.elapsed();
        let mut scanner = Scanner::new(vec![m.local.clone()]);
        let mut tune = raytop::model::tune::Tune::default();
        loop {
            for u in scanner.pass() {
                tune.apply(u);
            }
            if !scanner.behind {
                break;
            }
        }
        let e = tune.experiments.iter().find(|e| e.name == "rig_experiment").expect("the rig's experiment read");
        assert_eq!(e.trials.len(), 1000);
        eprintln!(
            "figure: 1,000-trial experiment on the head: first leaderboard {} ms after connecting (copy {} ms, {passes} pass(es), {bytes} bytes through exec)",
            t0.elapsed().as_millis(),
            copied.as_millis()
        );
        let idle = m.sync().await.unwrap();
        assert_eq!((idle.whole, idle.appended), (0, 0), "{idle:?}");
        eprintln!("figure: an idle pass through exec: {} bytes", idle.bytes);
        // 10 trials report one result each, there.
        let report = "import glob,json\nfor p in sorted(glob.glob('/tmp/ray_results/rig_experiment/*/result.json'))[:10]:\n    last = json.loads(open(p).read().splitlines()[-1]); last['training_iteration'] += 1\n    open(p, 'a').write(json.dumps(last) + '\\n')\n";
        let out = kubectl().args(["exec", &head, "-c", "ray-head", "--", "python", "-c", report]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ten = m.sync().await.unwrap();
        assert_eq!((ten.whole, ten.appended), (0, 10), "{ten:?}");
        eprintln!("figure: a pass after 10 trials reported, through exec: {} bytes", ten.bytes);
    });
}
