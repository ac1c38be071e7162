//! Shared test helpers: a cluster model built from captured dashboard bodies.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use raytop::model::{ClusterConfig, DashUpdate, Dashboard};
use raytop::source::dashboard::{DashData, Endpoint, parse};

/// The binary with a home of its own: HOME, the state and config dirs point into a temporary
/// folder (removed when this is dropped), and the variables that would reach the user's real
/// clusters (KUBECONFIG, the Ray address and token) are removed. A test that needs one sets it.
pub struct Raytop {
    cmd: std::process::Command,
    _home: tempfile::TempDir,
}

pub fn raytop() -> Raytop {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_raytop"));
    cmd.env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("RAYTOP_CONFIG_DIR", home.path().join("config/raytop"));
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    Raytop { cmd, _home: home }
}

/// What a test never inherits from the machine it runs on.
pub const HOST_VARS: [&str; 24] = [
    "KUBECONFIG",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_ADDRESS",
    "RAYTOP_DASHBOARD",
    "RAYTOP_LOG",
    "RAYTOP_MAX_BODY_MIB",
    // A developer's cloud credentials never reach a test (the S3 tests set their own).
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_DEFAULT_REGION",
    // Nor Google's or Azure's (the gs:// and az:// tests set an emulator's).
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "STORAGE_EMULATOR_HOST",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
];

impl std::ops::Deref for Raytop {
    type Target = std::process::Command;
    fn deref(&self) -> &std::process::Command {
        &self.cmd
    }
}

impl std::ops::DerefMut for Raytop {
    fn deref_mut(&mut self) -> &mut std::process::Command {
        &mut self.cmd
    }
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dashboard").join(name)
}

pub fn read(dir: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture_dir(dir).join(file)).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
}

/// Which file holds which endpoint's body (as `lab/capture.sh` names them).
pub const FILES: [(Endpoint, &str); 8] = [
    (Endpoint::Version, "version.json"),
    (Endpoint::Nodes, "nodes_summary.json"),
    (Endpoint::ClusterStatus, "cluster_status.json"),
    (Endpoint::ClusterStatusText, "cluster_status_format1.json"),
    (Endpoint::ClusterEvents, "cluster_events.json"),
    (Endpoint::Serve, "serve_applications.json"),
    (Endpoint::Jobs, "jobs.json"),
    (Endpoint::Actors, "actors.json"),
];

/// The capture's own clock: the `now` the node agents reported, so ages are stable.
pub fn capture_clock(dir: &str) -> SystemTime {
    let body = read(dir, "nodes_summary.json");
    let Ok(DashData::Nodes(n)) = parse(Endpoint::Nodes, &body) else { panic!("{dir}: nodes_summary") };
    let now = n.summary.iter().filter_map(|s| s.now).fold(0.0, f64::max);
    UNIX_EPOCH + Duration::from_secs_f64(now)
}

/// The lab's cluster config: the groups and limits `lab/up.sh` starts.
pub fn lab_config() -> ClusterConfig {
    raytop::cluster_config::parse(
        "head_node_type: ray.head.default\n\
         available_node_types:\n\
         \x20 ray.head.default: {resources: {CPU: 1}, max_workers: 0}\n\
         \x20 cpu-group: {resources: {CPU: 2}, min_workers: 1, max_workers: 3}\n\
         \x20 gpu-group: {resources: {CPU: 1, GPU: 1, 'accelerator_type:A100': 1}, min_workers: 0, max_workers: 2}\n",
    )
    .unwrap()
}

/// Bodies a capture lacks on purpose; any other missing file is an error, not a skip.
const NOT_CAPTURED: [(&str, &str, &str); 2] = [
    ("gpu-physical", "jobs.json", "captured before the Jobs view existed"),
    ("gpu-physical", "cluster_status_format1.json", "autoscaler v1: the text report is not read"),
];

/// The captured bodies of `dir`, each with its endpoint: every file of `FILES` that the capture
/// did not leave out on purpose (`NOT_CAPTURED`), so a lost fixture fails loudly.
pub fn captured(dir: &str) -> Vec<(Endpoint, &'static str, Vec<u8>)> {
    FILES
        .iter()
        .filter(|(_, file)| !NOT_CAPTURED.iter().any(|(d, f, _)| *d == dir && f == file))
        .map(|(ep, file)| (*ep, *file, read(dir, file)))
        .collect()
}

/// Applies every captured body of `dir` as the poller would: the text report only when the
/// structured one is null (autoscaler v2).
pub fn load_cluster(dir: &str, config: ClusterConfig) -> Dashboard {
    let at = capture_clock(dir);
    let mut c = Dashboard::new(
        "lab".into(),
        raytop::msg::DashKey::Url("http://127.0.0.1:8265".into()),
        "http://127.0.0.1:8265".into(),
        config,
    );
    let mut v2 = false;
    for (ep, file, body) in captured(dir) {
        if ep == Endpoint::ClusterStatusText && !v2 {
            continue;
        }
        let data = parse(ep, &body).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
        if let DashData::ClusterStatus(cs) = &data {
            v2 = cs.cluster_status.is_none();
        }
        c.apply(DashUpdate::Fetched { endpoint: ep, at, bytes: body.len(), data: Box::new(data) });
    }
    c
}

/// A change to a shared lab, undone when this is dropped, pass or fail, so that the tests after
/// this one find the lab as they expect. Drop never panics: a panic there while a failed test
/// unwinds would abort the run and lose the test's own message, so a failed undo (an error, or a
/// helper's assert) is printed instead. A test that claims the undo worked calls `now()` and
/// asserts its result, outside Drop.
pub struct Undo<'a> {
    what: String,
    undo: Option<UndoFn<'a>>,
}

type UndoFn<'a> = Box<dyn FnOnce() -> Result<(), String> + 'a>;

impl<'a> Undo<'a> {
    pub fn new(what: impl Into<String>, undo: impl FnOnce() -> Result<(), String> + 'a) -> Undo<'a> {
        Undo { what: what.into(), undo: Some(Box::new(undo)) }
    }

    /// Undoes it now (once: Drop then does nothing); the result is the test's to assert.
    pub fn now(mut self) -> Result<(), String> {
        let what = self.what.clone();
        self.undo.take().map_or(Ok(()), run_undo).map_err(|e| format!("{what}: {e}"))
    }
}

/// Runs an undo; a panic in it (a helper's assert) becomes its message.
fn run_undo(undo: UndoFn<'_>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(undo)).unwrap_or_else(|panic| {
        let msg =
            panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("panicked: {}", msg.unwrap_or_default()))
    })
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take()
            && let Err(e) = run_undo(undo)
        {
            eprintln!("undo failed, the lab may not be as the next tests expect: {}: {e}", self.what);
        }
    }
}

pub mod faultproxy;
pub mod forward;
pub mod http;
pub mod kuberay;
pub mod tmux;

/// The lab's dashboard, as `lab/up.sh` started it.
pub fn lab_url() -> String {
    std::env::var("RAYTOP_LAB_URL").unwrap_or_else(|_| "http://127.0.0.1:8265".into())
}

/// The lab dashboard's address, for a proxy or forwarder put in front of it.
pub fn lab_addr() -> std::net::SocketAddr {
    lab_url().trim_start_matches("http://").parse().expect("lab url is http://ip:port")
}

/// The lab's cluster config (group limits), as `lab/up.sh` wrote it.
pub fn lab_config_file() -> String {
    std::env::var("RAYTOP_LAB_CONFIG").unwrap_or_else(|_| format!("{}/.lab/cluster.yaml", env!("CARGO_MANIFEST_DIR")))
}

/// Runs `raytop snapshot --json ARGS` and returns (exit code, parsed JSON).
pub fn snapshot(args: &[&str]) -> (i32, serde_json::Value) {
    let out = raytop().args(["snapshot", "--json"]).args(args).output().expect("run raytop");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("snapshot output is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json)
}

/// Polls `f` until it returns Ok, or panics with its last error after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = std::time::Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if start.elapsed() > timeout => {
                panic!("timed out after {timeout:?} waiting for {what}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// The best trial as an experiment state file's own `metric_analysis` says (min or max of the
/// metric over trials), for comparing raytop's leaderboard with Tune's record.
pub fn best_by_state(dir: &Path, metric: &str, maximize: bool) -> Option<String> {
    use raytop::source::tune::newest_state_file;
    use raytop::wire::tune::lenient;
    let text = std::fs::read_to_string(newest_state_file(dir)?).ok()?;
    let v: serde_json::Value = serde_json::from_str(&lenient(&text)).ok()?;
    let key = if maximize { "max" } else { "min" };
    let mut best: Option<(f64, String)> = None;
    for pair in v["trial_data"].as_array()? {
        let state: serde_json::Value = serde_json::from_str(&lenient(pair[0].as_str()?)).ok()?;
        let meta: serde_json::Value = serde_json::from_str(&lenient(pair[1].as_str()?)).ok()?;
        let Some(x) = meta["metric_analysis"][metric][key].as_f64().filter(|x| x.is_finite()) else { continue };
        if best.as_ref().is_none_or(|(b, _)| if maximize { x > *b } else { x < *b }) {
            best = Some((x, state["trial_id"].as_str()?.to_string()));
        }
    }
    best.map(|(_, id)| id)
}

/// The lab's Tune storage path, as `lab/up.sh` set it.
pub fn lab_tune_dir() -> String {
    std::env::var("RAYTOP_LAB_TUNE").unwrap_or_else(|_| format!("{}/.lab/tune-results", env!("CARGO_MANIFEST_DIR")))
}
