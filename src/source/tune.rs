//! The Tune source: experiment folders on disk. Ray serves nothing about trials over HTTP
//! (facts §5.1), so raytop reads what Tune writes: the newest `experiment_state-*.json` of each
//! experiment and each trial's `result.json`, the latter incrementally (only appended bytes).
//!
//! Python's `json` writes `NaN`, `Infinity` and `-Infinity`, which JSON does not allow; they are
//! rewritten to strings before parsing and read back as floats where a number is expected.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::msg::Msg;

/// Rewrites the bare tokens `NaN`, `Infinity`, `-Infinity` (outside strings) as JSON strings.
pub fn lenient(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string {
            if let Some(tok) = ["-Infinity", "Infinity", "NaN"].iter().find(|t| rest.starts_with(*t)) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                continue;
            }
            in_string = c == '"';
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = false;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// A number from a JSON value, including the rewritten NaN/Infinity strings.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// One line of a trial's `result.json`, reduced to what raytop uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub trial_id: String,
    pub iteration: u64,
    /// Every top-level number: the user's metrics and Tune's own (time_total_s, …).
    pub metrics: BTreeMap<String, f64>,
    pub pid: Option<u64>,
    pub node_ip: Option<String>,
    pub hostname: Option<String>,
    pub done: bool,
}

impl ResultRow {
    pub fn parse(line: &str) -> Result<ResultRow, String> {
        let v: Value = serde_json::from_str(&lenient(line)).map_err(|e| e.to_string())?;
        Ok(Self::from_value(&v))
    }

    pub fn from_value(v: &Value) -> ResultRow {
        let Some(obj) = v.as_object() else {
            return ResultRow {
                trial_id: String::new(),
                iteration: 0,
                metrics: BTreeMap::new(),
                pid: None,
                node_ip: None,
                hostname: None,
                done: false,
            };
        };
        let metrics = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "pid" && k.as_str() != "timestamp")
            .filter_map(|(k, v)| match v {
                Value::Bool(_) => None,
                _ => number(v).map(|n| (k.clone(), n)),
            })
            .collect();
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        ResultRow {
            trial_id: s("trial_id").unwrap_or_default(),
            iteration: obj.get("training_iteration").and_then(Value::as_u64).unwrap_or(0),
            metrics,
            pid: obj.get("pid").and_then(Value::as_u64),
            node_ip: s("node_ip"),
            hostname: s("hostname"),
            done: obj.get("done").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// Reads a JSON-lines file incrementally: each call returns only the lines completed since the
/// last one. A half-written last line waits for its newline. A file replaced or truncated (new
/// inode, or shorter than what was read) is read again from the start, and `reset` says so.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    inode: Option<u64>,
    pending: Vec<u8>,
    pub bytes_read: u64,
}

pub struct TailRead {
    pub lines: Vec<String>,
    pub reset: bool,
}

impl Tail {
    pub fn new(path: PathBuf) -> Tail {
        Tail { path, offset: 0, inode: None, pending: Vec::new(), bytes_read: 0 }
    }

    pub fn read(&mut self) -> std::io::Result<TailRead> {
        use std::os::unix::fs::MetadataExt;
        // A stat first: most files have not grown, and a stat is cheaper than an open.
        let meta = std::fs::metadata(&self.path)?;
        if self.inode == Some(meta.ino()) && meta.len() == self.offset {
            return Ok(TailRead { lines: Vec::new(), reset: false });
        }
        let mut f = File::open(&self.path)?;
        let meta = f.metadata()?;
        let mut reset = false;
        if self.inode.is_some_and(|i| i != meta.ino()) || meta.len() < self.offset {
            self.offset = 0;
            self.pending.clear();
            reset = true;
        }
        self.inode = Some(meta.ino());
        if meta.len() == self.offset {
            return Ok(TailRead { lines: Vec::new(), reset });
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::with_capacity((meta.len() - self.offset) as usize);
        f.take(meta.len() - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.bytes_read += buf.len() as u64;
        self.pending.extend_from_slice(&buf);
        let mut lines = Vec::new();
        if let Some(last_nl) = self.pending.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=last_nl).collect();
            lines.extend(
                String::from_utf8_lossy(&complete).lines().filter(|l| !l.trim().is_empty()).map(str::to_string),
            );
        }
        Ok(TailRead { lines, reset })
    }
}

/// `experiment_state-*.json`: what raytop reads of it.
#[derive(Debug, Deserialize)]
struct StateFile {
    #[serde(default)]
    trial_data: Vec<(String, String)>,
    #[serde(default)]
    runner_data: RunnerData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunnerData {
    #[serde(rename = "_metric")]
    metric: Option<String>,
    #[serde(rename = "_session_str")]
    session: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrialState {
    trial_id: String,
    status: String,
    config: Value,
    relative_logdir: String,
    experiment_tag: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrialMeta {
    start_time: Value,
    last_result: Value,
    error_filename: Option<String>,
    num_failures: u64,
}

/// One trial as the experiment state records it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialInfo {
    pub trial_id: String,
    pub status: String,
    pub config: BTreeMap<String, Value>,
    pub logdir: String,
    pub experiment_tag: String,
    pub start_time: Option<f64>,
    pub last_result: Option<ResultRow>,
    pub error_file: Option<String>,
    pub num_failures: u64,
}

/// An experiment as its newest state file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentState {
    pub name: String,
    pub dir: PathBuf,
    /// The metric the experiment optimises, when the TuneConfig named one (`runner_data._metric`).
    pub metric: Option<String>,
    pub session: Option<String>,
    pub trials: Vec<TrialInfo>,
}

/// Flattens nested configs (`{"model": {"lr": …}}` → `model/lr`), as Tune's progress.csv does.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
                flatten(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

pub fn parse_state(name: &str, dir: &Path, text: &str) -> Result<ExperimentState, String> {
    let file: StateFile = serde_json::from_str(&lenient(text)).map_err(|e| e.to_string())?;
    let mut trials = Vec::with_capacity(file.trial_data.len());
    for (state, meta) in &file.trial_data {
        let t: TrialState = serde_json::from_str(&lenient(state)).map_err(|e| format!("trial state: {e}"))?;
        // The run metadata is optional detail: a trial whose metadata doesn't parse still counts.
        let m: TrialMeta = serde_json::from_str(&lenient(meta)).unwrap_or_default();
        let mut config = BTreeMap::new();
        flatten("", &t.config, &mut config);
        config.remove("");
        trials.push(TrialInfo {
            trial_id: t.trial_id,
            status: t.status,
            config,
            logdir: t.relative_logdir,
            experiment_tag: t.experiment_tag,
            start_time: number(&m.start_time).filter(|n| n.is_finite()),
            last_result: m.last_result.is_object().then(|| ResultRow::from_value(&m.last_result)),
            error_file: m.error_filename,
            num_failures: m.num_failures,
        });
    }
    Ok(ExperimentState {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        metric: file.runner_data.metric,
        session: file.runner_data.session,
        trials,
    })
}

/// What the Tune source reports.
#[derive(Debug, Clone)]
pub enum TuneUpdate {
    /// An experiment's state file changed (or was seen for the first time).
    State(ExperimentState),
    /// New result rows of one trial; `reset` when its file was replaced and read anew.
    Results { experiment: String, trial_dir: String, reset: bool, rows: Vec<ResultRow> },
    /// The first lines of an errored trial's error file.
    Error { experiment: String, trial_id: String, text: String },
    /// A file that could not be read or parsed (the rest goes on).
    Problem { path: PathBuf, error: String },
    /// Bytes read from disk in this pass (state files and appended results).
    Pass { bytes: u64, at: SystemTime },
}

struct Experiment {
    state_file: Option<(PathBuf, u64, SystemTime)>,
    tails: BTreeMap<String, Tail>,
    errors_read: std::collections::BTreeSet<String>,
}

/// Scans tune directories: remembers what it read so each pass reads only what changed.
pub struct Scanner {
    roots: Vec<PathBuf>,
    experiments: BTreeMap<PathBuf, Experiment>,
    /// Roots reported missing, so the problem is said once, not every pass.
    missing: std::collections::BTreeSet<PathBuf>,
}

impl Scanner {
    pub fn new(roots: Vec<PathBuf>) -> Scanner {
        Scanner { roots, experiments: BTreeMap::new(), missing: Default::default() }
    }

    /// Experiment directories under the roots: a root that holds a state file is one itself.
    fn discover(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in &self.roots {
            if newest_state_file(root).is_some() {
                out.push(root.clone());
                continue;
            }
            let Ok(entries) = std::fs::read_dir(root) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() && newest_state_file(&p).is_some() {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    pub fn pass(&mut self) -> Vec<TuneUpdate> {
        let mut updates = Vec::new();
        for root in &self.roots {
            if !root.is_dir() && self.missing.insert(root.clone()) {
                let error = "no such directory (watching for it to appear)".to_string();
                updates.push(TuneUpdate::Problem { path: root.clone(), error });
            } else if root.is_dir() {
                self.missing.remove(root);
            }
        }
        let mut bytes = 0u64;
        for dir in self.discover() {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let exp = self.experiments.entry(dir.clone()).or_insert_with(|| Experiment {
                state_file: None,
                tails: BTreeMap::new(),
                errors_read: Default::default(),
            });
            let mut state_now: Option<ExperimentState> = None;
            if let Some(path) = newest_state_file(&dir)
                && let Ok(meta) = std::fs::metadata(&path)
            {
                let stamp = (path.clone(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                if exp.state_file.as_ref() != Some(&stamp) {
                    match std::fs::read_to_string(&path) {
                        Ok(text) => {
                            bytes += text.len() as u64;
                            match parse_state(&name, &dir, &text) {
                                Ok(s) => {
                                    exp.state_file = Some(stamp);
                                    state_now = Some(s);
                                }
                                // Tune replaces the file atomically, but be safe with a torn read:
                                // the next pass tries again.
                                Err(error) => updates.push(TuneUpdate::Problem { path, error }),
                            }
                        }
                        Err(e) => updates.push(TuneUpdate::Problem { path, error: e.to_string() }),
                    }
                }
            }
            // Errored trials: read the first lines of their error file once.
            if let Some(s) = &state_now {
                for t in s.trials.iter().filter(|t| t.status == "ERROR") {
                    if exp.errors_read.contains(&t.trial_id) {
                        continue;
                    }
                    let path = dir.join(&t.logdir).join("error.txt");
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        bytes += text.len() as u64;
                        exp.errors_read.insert(t.trial_id.clone());
                        let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
                        updates.push(TuneUpdate::Error {
                            experiment: name.clone(),
                            trial_id: t.trial_id.clone(),
                            text: head,
                        });
                    }
                }
                updates.push(TuneUpdate::State(s.clone()));
            }
            // Results: every trial folder with a result.json.
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let trial_dir = e.file_name().to_string_lossy().into_owned();
                let path = e.path().join("result.json");
                if !path.is_file() {
                    continue;
                }
                let tail = exp.tails.entry(trial_dir.clone()).or_insert_with(|| Tail::new(path.clone()));
                let before = tail.bytes_read;
                match tail.read() {
                    Ok(read) => {
                        bytes += tail.bytes_read - before;
                        let mut rows = Vec::with_capacity(read.lines.len());
                        for line in &read.lines {
                            match ResultRow::parse(line) {
                                Ok(r) => rows.push(r),
                                Err(error) => updates.push(TuneUpdate::Problem { path: path.clone(), error }),
                            }
                        }
                        if !rows.is_empty() || read.reset {
                            updates.push(TuneUpdate::Results {
                                experiment: name.clone(),
                                trial_dir,
                                reset: read.reset,
                                rows,
                            });
                        }
                    }
                    Err(e) => updates.push(TuneUpdate::Problem { path, error: e.to_string() }),
                }
            }
        }
        updates.push(TuneUpdate::Pass { bytes, at: SystemTime::now() });
        updates
    }
}

/// The newest `experiment_state-<session>.json` in a directory (sessions sort by time).
pub fn newest_state_file(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("experiment_state-") && n.ends_with(".json"))
        })
        .max()
}

/// Runs passes every `interval`, in a blocking thread (file I/O), sending each update.
pub async fn run(roots: Vec<PathBuf>, interval: Duration, tx: mpsc::Sender<Msg>) {
    let mut scanner = Some(Scanner::new(roots));
    loop {
        let Some(mut s) = scanner.take() else { return };
        let Ok((s, updates)) = tokio::task::spawn_blocking(move || {
            let u = s.pass();
            (s, u)
        })
        .await
        else {
            return;
        };
        scanner = Some(s);
        for u in updates {
            if tx.send(Msg::Tune(u)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_rewrites_tokens_outside_strings_only() {
        let s = r#"{"a": NaN, "b": -Infinity, "c": "NaN and Infinity", "d": [Infinity], "e": "q\"NaN"}"#;
        let v: Value = serde_json::from_str(&lenient(s)).unwrap();
        assert!(number(&v["a"]).unwrap().is_nan());
        assert_eq!(number(&v["b"]), Some(f64::NEG_INFINITY));
        assert_eq!(v["c"], "NaN and Infinity");
        assert_eq!(number(&v["d"][0]), Some(f64::INFINITY));
        assert_eq!(v["e"], "q\"NaN");
        assert!(matches!(lenient("{\"x\": 1}"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn tail_reads_only_appended_complete_lines_and_survives_replacement() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        let mut f = File::create(&path).unwrap();
        write!(f, "{{\"training_iteration\": 1}}\n{{\"training_iter").unwrap();
        let mut t = Tail::new(path.clone());
        let r = t.read().unwrap();
        assert_eq!(r.lines.len(), 1);
        assert!(!r.reset);
        let first = t.bytes_read;
        writeln!(f, "ation\": 2}}").unwrap();
        let r = t.read().unwrap();
        assert_eq!(r.lines, vec!["{\"training_iteration\": 2}".to_string()]);
        assert_eq!(t.bytes_read - first, "ation\": 2}\n".len() as u64, "only the appended bytes");
        assert!(t.read().unwrap().lines.is_empty());
        // Replaced by a new file (new inode): read again from the start.
        let tmp = dir.path().join("new");
        std::fs::write(&tmp, "{\"training_iteration\": 1}\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        let r = t.read().unwrap();
        assert!(r.reset);
        assert_eq!(r.lines.len(), 1);
    }
}
