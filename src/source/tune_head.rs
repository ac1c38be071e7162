//! Tune experiments on a RayCluster's head pod, with no `--tune-dir`: a fixed reader
//! (`tune_head_reader.py`, run as `python3 -c` through `pods/exec` with the user's credentials,
//! as `kubectl exec` does) finds the experiments where Tune writes them on the head (the
//! drivers' staging folders under the Ray session, `~/ray_results`, `/tmp/ray_results`) and
//! sends what changed since what raytop holds. Its answers are copied into a private folder the
//! scanner reads, so every Tune feature works on them as on a local storage path.
//!
//! One reader process serves every pass of a session (a request line in, records out), so a
//! pass where nothing changed costs one short line each way. A new session (the first, or after
//! the stream broke) is given what raytop already holds, so nothing is sent twice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::source::tune_cloud::SyncPass;
use crate::source::tune_limits::{MAX_STATE_FILE, PASS_BUDGET, READ_CHUNK};

/// The reader, run on the head as `python3 -c READER`: its text is fixed, names travel as data.
pub const READER: &str = include_str!("tune_head_reader.py");

/// Where Tune writes on a head when the driver names no cloud storage: its default storage path
/// and the one the seed's example (and many a user's script) names.
pub const DEFAULT_ROOTS: [&str; 2] = ["~/ray_results", "/tmp/ray_results"];

/// The longest header line a reader may send (they are a few hundred bytes).
const MAX_HEADER: usize = 64 << 10;
/// How long one pass may take before the session is given up (and made anew next pass).
const PASS_TIMEOUT: Duration = Duration::from_secs(60);

/// One reader process: its pipes, and how it ended when it did (the exec's status).
pub struct Session {
    stdin: Box<dyn AsyncWrite + Send + Unpin>,
    stdout: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    /// Resolves to why the process ended, once it has (the exec's status message, stderr).
    ended: Option<BoxFuture<'static, Option<String>>>,
    /// What must live as long as the pipes (the exec's connection, the child process).
    _owner: Box<dyn Send>,
}

impl Session {
    pub fn new(
        stdin: Box<dyn AsyncWrite + Send + Unpin>,
        stdout: Box<dyn AsyncRead + Send + Unpin>,
        ended: Option<BoxFuture<'static, Option<String>>>,
        owner: Box<dyn Send>,
    ) -> Session {
        Session { stdin, stdout: BufReader::with_capacity(256 << 10, stdout), ended, _owner: owner }
    }
}

/// Makes a new session: where the reader runs is the connector's business.
pub type Connector = Box<dyn FnMut() -> BoxFuture<'static, Result<Session, String>> + Send>;

/// What raytop's copy holds of one file, as the reader stats it: inode, bytes, mtime (ns; -1
/// while read in part).
type Held = (u64, u64, i64);

/// One header of the reader's answer.
#[derive(Debug, serde::Deserialize)]
struct Record {
    p: Option<String>,
    at: Option<u64>,
    n: Option<u64>,
    too_big: Option<u64>,
    held: Option<Held>,
    gone: Option<String>,
    done: Option<u8>,
    #[serde(default)]
    behind: bool,
    #[serde(default)]
    exps: Vec<(String, String)>,
}

/// The experiments on one head, copied for the scanner.
pub struct HeadMirror {
    /// Where they are read from, as the screen names it (`head of NS/CLUSTER`).
    pub label: String,
    /// The folder the scanner reads: one sub-folder per experiment.
    pub local: PathBuf,
    /// The experiments the reader found: name and folder on the head.
    pub found: Vec<(String, String)>,
    held: BTreeMap<String, Held>,
    session: Option<Session>,
    connect: Connector,
    /// State files over the limit, said once each.
    pub refused: Vec<(String, u64)>,
    /// The storage paths looked in besides the drivers' staging folders.
    pub roots: Vec<String>,
    /// After a session could not be made: not before this, and why (a refused exec is not
    /// asked again every pass).
    retry: Option<(tokio::time::Instant, String)>,
    failures: u32,
}

impl HeadMirror {
    /// A mirror under `cache` (raytop's state folder) in a folder named by `parts` (namespace,
    /// cluster), reading through `connect`.
    pub fn new(label: String, cache: &Path, parts: &[&str], connect: Connector) -> Result<HeadMirror, String> {
        let local = crate::source::mirror_dir::private_dir(cache, "tune-head", parts)?;
        Ok(HeadMirror {
            label,
            local,
            found: Vec::new(),
            held: BTreeMap::new(),
            session: None,
            connect,
            refused: Vec::new(),
            roots: DEFAULT_ROOTS.iter().map(|r| r.to_string()).collect(),
            retry: None,
            failures: 0,
        })
    }

    /// One pass: a session made if there is none, one request, the answer copied. A broken
    /// session is dropped, with why; the next pass makes a new one.
    pub async fn sync(&mut self) -> Result<SyncPass, String> {
        let fresh = self.session.is_none();
        if fresh {
            if let Some((at, why)) = &self.retry
                && tokio::time::Instant::now() < *at
            {
                return Err(why.clone());
            }
            match (self.connect)().await {
                Ok(s) => self.session = Some(s),
                Err(why) => return Err(self.back_off(why)),
            }
        }
        let held = fresh.then(|| self.held.clone());
        let Some(mut session) = self.session.take() else { return Err("no reader session".into()) };
        let pass = tokio::time::timeout(PASS_TIMEOUT, self.exchange(&mut session, held)).await;
        match pass {
            Ok(Ok(pass)) => {
                self.session = Some(session);
                self.retry = None;
                self.failures = 0;
                Ok(pass)
            }
            Ok(Err(e)) => {
                // The reader's own end says more than a closed pipe: a missing python3, a 403.
                let why = match session.ended.take() {
                    Some(ended) => tokio::time::timeout(Duration::from_secs(5), ended).await.ok().flatten(),
                    None => None,
                };
                let why = why.map(|w| explain_end(&w)).unwrap_or(e);
                // A reader that ends on its first request (no python3 there) is not started
                // again every pass either.
                Err(if fresh { self.back_off(why) } else { why })
            }
            Err(_) => Err(format!("the reader did not answer in {} s", PASS_TIMEOUT.as_secs())),
        }
    }

    /// Waits 5 s, 10 s, 20 s … (at most a minute) before the next try; returns `why`.
    fn back_off(&mut self, why: String) -> String {
        let wait = Duration::from_secs(5 << self.failures.min(4)).min(Duration::from_secs(60));
        self.failures += 1;
        self.retry = Some((tokio::time::Instant::now() + wait, why.clone()));
        why
    }

    async fn exchange(&mut self, s: &mut Session, held: Option<BTreeMap<String, Held>>) -> Result<SyncPass, String> {
        let mut req = serde_json::json!({
            "roots": self.roots,
            "budget": PASS_BUDGET,
            "chunk": READ_CHUNK,
            "max_state": MAX_STATE_FILE,
        });
        if let Some(held) = held {
            let held: serde_json::Map<String, serde_json::Value> =
                held.into_iter().map(|(k, (ino, size, mtime))| (k, serde_json::json!([ino, size, mtime]))).collect();
            req["held"] = serde_json::Value::Object(held);
        }
        let mut line = req.to_string();
        line.push('\n');
        let lost = |e: std::io::Error| format!("the reader's stream broke: {e}");
        s.stdin.write_all(line.as_bytes()).await.map_err(lost)?;
        s.stdin.flush().await.map_err(lost)?;
        let mut pass = SyncPass { requests: 1, ..SyncPass::default() };
        let mut header = Vec::new();
        loop {
            header.clear();
            let n = (&mut s.stdout).take(MAX_HEADER as u64).read_until(b'\n', &mut header).await.map_err(lost)?;
            if n == 0 {
                return Err("the reader ended".into());
            }
            if header.last() != Some(&b'\n') {
                return Err(format!("the reader sent a header over {MAX_HEADER} bytes"));
            }
            pass.bytes += n as u64;
            let r: Record = serde_json::from_slice(&header).map_err(|e| format!("the reader's answer: {e}"))?;
            if r.done.is_some() {
                pass.behind = r.behind;
                self.found = r.exps;
                return Ok(pass);
            }
            if let Some(key) = r.gone {
                if crate::source::mirror_dir::wanted(&key) {
                    let _ = std::fs::remove_file(self.local.join(&key));
                }
                self.held.remove(&key);
                continue;
            }
            let Some(key) = r.p else { return Err("the reader sent a record without a file".into()) };
            if let Some(size) = r.too_big {
                self.refused.retain(|(k, _)| *k != key);
                self.refused.push((key, size));
                continue;
            }
            let (at, len) = (r.at.unwrap_or(0), r.n.unwrap_or(0));
            // Bounded as the local reader: never more than a chunk, or a state file's limit.
            if len > READ_CHUNK.max(MAX_STATE_FILE) {
                return Err(format!("the reader sent {len} bytes of {key}, over raytop's limit"));
            }
            let mut body = vec![0u8; len as usize];
            s.stdout.read_exact(&mut body).await.map_err(lost)?;
            pass.bytes += len;
            if !crate::source::mirror_dir::wanted(&key) {
                // Not a name raytop writes (the reader would not send one): read past it.
                continue;
            }
            let path = self.local.join(&key);
            let written = if at == 0 {
                pass.whole += 1;
                crate::source::mirror_dir::replace(&path, &body)
            } else {
                pass.appended += 1;
                let have = std::fs::metadata(&path).map(|m| m.len()).ok();
                if have != Some(at) {
                    // The copy is not what the reader thinks it is: make a new session, which
                    // is told what the copy holds.
                    self.held.remove(&key);
                    let _ = std::fs::remove_file(&path);
                    return Err(format!("{key}: the copy holds {have:?} bytes, the reader sent from {at}"));
                }
                std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| f.write_all(&body))
            };
            written.map_err(|e| format!("{}: {e}", path.display()))?;
            // What the copy holds now, in the reader's terms: told to a new session.
            match r.held {
                Some(h) if h.1 == at + len => {
                    self.held.insert(key, h);
                }
                _ => {
                    self.held.remove(&key);
                }
            }
        }
    }
}

impl Drop for HeadMirror {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.local);
    }
}

/// How the screen names a head's experiments: `head of NS/CLUSTER`.
pub fn label(namespace: &str, cluster: &str) -> String {
    format!("head of {namespace}/{cluster}")
}

/// A reader that ended, in words that say what to do: no Python in the container, no right
/// to exec into it.
pub fn explain_end(why: &str) -> String {
    let lower = why.to_ascii_lowercase();
    if lower.contains("executable file not found") || lower.contains("no such file or directory") {
        format!(
            "no python3 in the head container, so its Tune files cannot be read there ({why}); point raytop at the storage path instead: --tune-dir s3://BUCKET/PREFIX (or gs://, az://) or a local copy"
        )
    } else if lower.contains("403") || lower.contains("forbidden") {
        format!(
            "not allowed to exec into the head pod (RBAC: create on pods/exec in its namespace) ({why}); ask for that right, or point raytop at the storage path: --tune-dir s3://BUCKET/PREFIX (or gs://, az://)"
        )
    } else {
        why.to_string()
    }
}

/// The last few KiB a reader wrote to stderr (a traceback), drained as it comes so a full pipe
/// never stalls its stdout.
fn drain_stderr(mut err: impl AsyncRead + Send + Unpin + 'static) -> std::sync::Arc<std::sync::Mutex<String>> {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let into = kept.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if let Ok(mut k) = into.lock() {
                k.push_str(&String::from_utf8_lossy(&buf[..n]));
                let excess = k.len().saturating_sub(4096);
                if excess > 0 {
                    let cut = (excess..k.len()).find(|i| k.is_char_boundary(*i)).unwrap_or(k.len());
                    k.drain(..cut);
                }
            }
        }
    });
    kept
}

fn last_words(stderr: &std::sync::Mutex<String>) -> Option<String> {
    let text = stderr.lock().ok()?.trim().to_string();
    (!text.is_empty()).then(|| text.lines().last().unwrap_or_default().to_string())
}

/// The exec's connection, closed when the session is dropped (so the reader's stdin ends and
/// it exits on the head).
struct AbortOnDrop(kube::api::AttachedProcess);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the head pod of RayCluster `cluster` in `namespace` (KubeRay labels it
/// `ray.io/node-type=head`; Ray's container is its first) through `pods/exec`.
pub fn exec_connector(client: kube::Client, namespace: String, cluster: String) -> Connector {
    Box::new(move || {
        let (client, namespace, cluster) = (client.clone(), namespace.clone(), cluster.clone());
        Box::pin(async move { exec_session(client, &namespace, &cluster).await })
    })
}

async fn exec_session(client: kube::Client, ns: &str, cluster: &str) -> Result<Session, String> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, AttachParams, ListParams};
    let api: Api<Pod> = Api::namespaced(client, ns);
    let select = ListParams::default().labels(&format!("ray.io/cluster={cluster},ray.io/node-type=head"));
    let pods = api.list(&select).await.map_err(|e| match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!(
                "forbidden: may not list the pods of RayCluster {ns}/{cluster}, to find its head and read its Tune files through pods/exec ({}); ask for list on pods and create on pods/exec, or point raytop at the storage path: --tune-dir s3://BUCKET/PREFIX (or gs://, az://)",
                r.message
            )
        }
        other => format!("the head pod of {ns}/{cluster}: {}", crate::source::kube::reason(other)),
    })?;
    let running = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    let pod = pods
        .items
        .into_iter()
        .find(running)
        .ok_or_else(|| format!("RayCluster {ns}/{cluster} has no running head pod yet"))?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let container = pod.spec.and_then(|s| s.containers.into_iter().next()).map(|c| c.name);
    let mut params = AttachParams::default().stdin(true).stdout(true).stderr(true).max_stdout_buf_size(1 << 20);
    if let Some(c) = container {
        params = params.container(c);
    }
    let mut proc = api
        .exec(&name, ["python3", "-c", READER], &params)
        .await
        .map_err(|e| explain_end(&format!("exec into {ns}/{name}: {e}")))?;
    let (Some(stdin), Some(stdout)) = (proc.stdin(), proc.stdout()) else {
        return Err(format!("exec into {ns}/{name}: no stdin or stdout"));
    };
    let stderr = proc.stderr().map(drain_stderr);
    let status = proc.take_status();
    let ended = async move {
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let said = status.and_then(|s| s.message).filter(|m| !m.is_empty());
        let words = stderr.as_deref().and_then(last_words);
        match (said, words) {
            (Some(s), Some(w)) => Some(format!("{s}: {w}")),
            (s, w) => s.or(w),
        }
    };
    Ok(Session::new(Box::new(stdin), Box::new(stdout), Some(Box::pin(ended)), Box::new(AbortOnDrop(proc))))
}

/// Runs the reader as a local process: the same protocol, for tests and figures on a folder of
/// this machine (the command's `HOME` is where `~/ray_results` is looked for).
pub fn process_connector(make: impl Fn() -> tokio::process::Command + Send + 'static) -> Connector {
    Box::new(move || {
        let mut cmd = make();
        Box::pin(async move {
            use std::process::Stdio;
            cmd.arg("-c").arg(READER).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.kill_on_drop(true).spawn().map_err(|e| format!("the reader: {e}"))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err("the reader: no pipes".to_string());
            };
            let stderr = child.stderr.take().map(drain_stderr);
            let ended = async move { stderr.as_deref().and_then(last_words) };
            Ok(Session::new(Box::new(stdin), Box::new(stdout), Some(Box::pin(ended)), Box::new(child)))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{"trial_data": [], "runner_data": {}}"#;

    fn reader_in(home: &Path) -> Connector {
        let home = home.to_path_buf();
        process_connector(move || {
            let mut cmd = tokio::process::Command::new("python3");
            cmd.env("HOME", &home).env("RAY_TMPDIR", &home).env("TMPDIR", &home);
            cmd
        })
    }

    /// The real reader, run here as it runs on a head: the first pass copies everything, an
    /// idle one moves only its end line, an appended line moves only itself, a new session sends
    /// nothing again, a removed trial goes, a staging folder wins over the storage copy.
    #[tokio::test]
    async fn the_reader_sends_only_what_changed_across_passes_and_sessions() {
        let home = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let exp = format!("raytop-unit-{}", std::process::id());
        let dir = home.path().join("ray_results").join(&exp);
        for t in ["trial_a", "trial_b"] {
            std::fs::create_dir_all(dir.join(t)).unwrap();
            std::fs::write(dir.join(t).join("result.json"), "{\"training_iteration\": 1}\n").unwrap();
        }
        std::fs::write(dir.join("experiment_state-2026-12-03_19-00-00.json"), STATE).unwrap();
        let mut m =
            HeadMirror::new("head of test/x".into(), cache.path(), &["test", "x"], reader_in(home.path())).unwrap();
        let first = m.sync().await.unwrap();
        assert_eq!((first.whole, first.appended), (3, 0), "{first:?}");
        assert_eq!(m.found, [(exp.clone(), dir.display().to_string())]);
        let copy = m.local.join(&exp);
        assert_eq!(std::fs::read_to_string(copy.join("trial_a/result.json")).unwrap(), "{\"training_iteration\": 1}\n");
        assert_eq!(std::fs::read_to_string(copy.join("experiment_state-2026-12-03_19-00-00.json")).unwrap(), STATE);

        // Idle: no file, one end line naming the experiment.
        let idle = m.sync().await.unwrap();
        assert_eq!((idle.whole, idle.appended), (0, 0));
        assert!(idle.bytes < 200, "{idle:?}");

        // One line appended: that line's bytes and its header, nothing else.
        let line = "{\"training_iteration\": 2}\n";
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("trial_a/result.json"))
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
        let grew = m.sync().await.unwrap();
        assert_eq!((grew.whole, grew.appended), (0, 1), "{grew:?}");
        assert!(grew.bytes > line.len() as u64 && grew.bytes < idle.bytes + line.len() as u64 + 300, "{grew:?}");
        let copied = std::fs::read_to_string(copy.join("trial_a/result.json")).unwrap();
        assert_eq!(copied, format!("{{\"training_iteration\": 1}}\n{line}"));

        // A new session (the stream broke) is told what the copy holds: nothing is sent again.
        m.session = None;
        let again = m.sync().await.unwrap();
        assert_eq!((again.whole, again.appended), (0, 0), "{again:?}");

        // A trial removed there is removed here; a driver's staging folder of the same
        // experiment (fresher) is read instead of the storage copy.
        std::fs::remove_dir_all(dir.join("trial_b")).unwrap();
        let staging =
            home.path().join("ray/session_latest/artifacts/2026-12-03_19-00-00").join(&exp).join("driver_artifacts");
        std::fs::create_dir_all(staging.join("trial_c")).unwrap();
        std::fs::write(staging.join("trial_c/result.json"), line).unwrap();
        std::fs::write(staging.join("experiment_state-2026-12-03_19-00-00.json"), STATE).unwrap();
        let moved = m.sync().await.unwrap();
        assert!(!copy.join("trial_b").join("result.json").exists());
        assert!(!copy.join("trial_a").join("result.json").exists(), "the storage copy is no longer read");
        assert_eq!(std::fs::read_to_string(copy.join("trial_c/result.json")).unwrap(), line);
        assert_eq!(moved.whole, 2, "{moved:?}");
        assert_eq!(m.found, [(exp.clone(), staging.display().to_string())]);

        // The scanner reads the copy as a storage path.
        let mut scanner = crate::source::tune::Scanner::new(vec![m.local.clone()]);
        let updates = scanner.pass();
        let rows: usize = updates
            .iter()
            .map(|u| match u {
                crate::msg::TuneUpdate::Results { experiment, rows, .. } if *experiment == exp => rows.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(rows, 1);
        let local = m.local.clone();
        drop(m);
        assert!(!local.exists(), "the copy is removed with its mirror");
    }

    /// A session that cannot be made is not tried again every pass: 5 s, then 10 s … (paused
    /// clock), the same reason said meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_refused_session_is_retried_with_backoff() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let tries = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = tries.clone();
        let connect: Connector = Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err("forbidden: may not list the pods".to_string()) })
        });
        let cache = tempfile::tempdir().unwrap();
        let mut m = HeadMirror::new("head of test/z".into(), cache.path(), &["test", "z"], connect).unwrap();
        assert_eq!(m.sync().await.unwrap_err(), "forbidden: may not list the pods");
        assert_eq!(m.sync().await.unwrap_err(), "forbidden: may not list the pods");
        assert_eq!(tries.load(Ordering::SeqCst), 1, "not asked again within 5 s");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(m.sync().await.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 2, "asked again after 5 s");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(m.sync().await.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 2, "the next wait is 10 s");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(m.sync().await.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    /// A reader that cannot start says what to do.
    #[tokio::test]
    async fn a_missing_python_and_a_refused_exec_are_explained() {
        let cache = tempfile::tempdir().unwrap();
        let connect = process_connector(|| tokio::process::Command::new("/nonexistent/python3"));
        let mut m = HeadMirror::new("head of test/y".into(), cache.path(), &["test", "y"], connect).unwrap();
        let e = m.sync().await.unwrap_err();
        assert!(e.contains("the reader") && e.contains("No such file"), "{e}");
        let said = explain_end(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"python3\": executable file not found in $PATH",
        );
        assert!(said.starts_with("no python3 in the head container") && said.contains("--tune-dir s3://"), "{said}");
        let said = explain_end("exec into ray-lab/head: failed to switch protocol: 403 Forbidden");
        assert!(said.starts_with("not allowed to exec into the head pod (RBAC: create on pods/exec"), "{said}");
        // Positive control: anything else is passed on as said.
        assert_eq!(
            explain_end("command terminated with non-zero exit code"),
            "command terminated with non-zero exit code"
        );
    }
}
