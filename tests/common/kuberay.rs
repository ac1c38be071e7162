//! The KubeRay lab (lab/kuberay/up.sh + seed.sh) as the tests reach it: its kubeconfig, kubectl,
//! and its API server called directly as a lab user.

use std::process::Command;

use serde_json::Value;

pub fn lab_dir() -> String {
    format!("{}/.lab/kuberay", env!("CARGO_MANIFEST_DIR"))
}

pub fn kubeconfig() -> String {
    format!("{}/kubeconfig", lab_dir())
}

/// One of the lab's settings from `run/lab.env` (API_URL, ADMIN_TOKEN, VIEWER_TOKEN, ...).
pub fn lab_env(key: &str) -> Result<String, String> {
    let file = format!("{}/run/lab.env", lab_dir());
    let env = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    env.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).map(String::from).ok_or(format!("no {key} in {file}"))
}

/// The lab's build cache (lab/kuberay/lib.sh's RCACHE without its `kuberay`).
pub fn cache_dir() -> String {
    std::env::var("RAYTOP_LAB_CACHE").unwrap_or_else(|_| {
        let home = std::env::var("XDG_CACHE_HOME")
            .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap_or_default()));
        format!("{home}/raytop-lab")
    })
}

/// A version the lab was built at (lab/kuberay/lib.sh's default unless the environment chose).
fn version(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// The operator's own CRD of KIND (`rayclusters`), as lab/kuberay/up.sh installs it.
pub fn crd_file(kind: &str) -> String {
    let dir = format!("{}/kuberay/{}", cache_dir(), version("KUBERAY_VERSION", "v1.5.0"));
    format!("{dir}/config/crd/bases/ray.io_{kind}.yaml")
}

/// The lab's kubectl (built by lab/kuberay/deps.sh into the cache) as the lab's admin.
pub fn kubectl() -> Command {
    let k8s = version("K8S_VERSION", "v1.34.4");
    let mut cmd = Command::new(format!("{}/kuberay/k8s-{k8s}/bin/kubectl", cache_dir()));
    cmd.args(["--kubeconfig", &kubeconfig()]);
    cmd
}

/// `kubectl ARGS` that must succeed; its stdout.
pub fn kubectl_ok(args: &[&str]) -> String {
    let out = kubectl().args(args).output().unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Calls the lab's API server as `user` (admin or viewer) with curl; (HTTP code, body).
pub fn kapi(user: &str, method: &str, path: &str, content_type: &str, body: Option<&str>) -> (u16, Value) {
    try_kapi(user, method, path, content_type, body).unwrap_or_else(|e| panic!("{e}"))
}

/// `kapi` that never panics (for Drop guards): an error when the call got no HTTP answer.
pub fn try_kapi(
    user: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&str>,
) -> Result<(u16, Value), String> {
    let token = lab_env(if user == "viewer" { "VIEWER_TOKEN" } else { "ADMIN_TOKEN" })?;
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "--cacert", &format!("{}/run/pki/apiserver.crt", lab_dir())])
        .args(["-H", &format!("Authorization: Bearer {token}"), "-H", &format!("Content-Type: {content_type}")])
        .args(["-w", "\n%{http_code}"]);
    if let Some(b) = body {
        cmd.args(["--data", b]);
    }
    let out = cmd.arg(format!("{}{path}", lab_env("API_URL")?)).output().map_err(|e| format!("curl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let failed = || format!("{method} {path}: no answer: {}", String::from_utf8_lossy(&out.stderr));
    let (body, code) = text.rsplit_once('\n').ok_or_else(failed)?;
    let code = code.trim().parse().ok().filter(|c| *c != 0).ok_or_else(failed)?;
    Ok((code, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// `raytop snapshot --json` with the lab's kubeconfig and EXTRA; each RayCluster's dashboard is
/// reached through the API server's service proxy (the `--dashboard` given leads nowhere).
pub fn snapshot(extra: &[&str]) -> (i32, Value) {
    let out = crate::common::raytop()
        .args(["snapshot", "--json", "--dashboard", "http://127.0.0.1:9", "--timeout", "10"])
        .args(extra)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("snapshot: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

/// The cluster NAME of SOURCE (kubernetes, dashboard) in a snapshot.
pub fn find<'a>(json: &'a Value, name: &str, source: &str) -> Option<&'a Value> {
    json["clusters"].as_array().unwrap().iter().find(|c| c["name"] == name && c["source"] == source)
}

/// The pods of GROUP of a snapshot's kubernetes cluster.
pub fn pods<'a>(cluster: &'a Value, group: &str) -> Vec<&'a Value> {
    let g = cluster["groups"].as_array().unwrap().iter().find(|g| g["name"] == group);
    g.map(|g| g["pods"].as_array().unwrap().iter().collect()).unwrap_or_default()
}
