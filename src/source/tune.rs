//! The Tune source: experiment folders on disk. Ray serves nothing about trials over HTTP
//! (facts §5.1), so raytop reads what Tune writes: the newest `experiment_state-*.json` of each
//! experiment and each trial's `result.json`, the latter incrementally (only appended bytes).
//!

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::msg::{Msg, TuneUpdate};
use crate::wire::tune::{ExperimentState, ResultRow, parse_state};

pub use crate::source::tune_limits::{MAX_LINE, MAX_STATE_FILE, PASS_BUDGET, READ_CHUNK};

/// Reads a JSON-lines file incrementally: each call returns only the lines completed since the
/// last one. A half-written last line waits for its newline. A file replaced or truncated (new
/// inode, or shorter than what was read) is read again from the start, and `reset` says so.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    offset: u64,
    inode: Option<u64>,
    pending: Vec<u8>,
    /// Inside a line over `MAX_LINE`: bytes are dropped up to its newline.
    skipping: bool,
    pub bytes_read: u64,
    /// Lines skipped for their length since the file was first read.
    pub skipped_total: u64,
}

pub struct TailRead {
    pub lines: Vec<String>,
    pub reset: bool,
    /// Lines skipped for being longer than `MAX_LINE`.
    pub skipped: u64,
    /// More is in the file than this call read.
    pub more: bool,
}

impl Tail {
    pub fn new(path: PathBuf) -> Tail {
        Tail { path, offset: 0, inode: None, pending: Vec::new(), skipping: false, bytes_read: 0, skipped_total: 0 }
    }

    /// Everything read so far ended with a whole line: nothing waits for its end.
    pub fn ends_whole(&self) -> bool {
        self.pending.is_empty() && !self.skipping
    }

    /// Reads at most `max` new bytes (and at least one when the file grew).
    pub fn read(&mut self, max: u64) -> std::io::Result<TailRead> {
        let nothing = |reset| TailRead { lines: Vec::new(), reset, skipped: 0, more: false };
        use std::os::unix::fs::MetadataExt;
        // A stat first: most files have not grown, and a stat is cheaper than an open.
        let meta = std::fs::metadata(&self.path)?;
        if self.inode == Some(meta.ino()) && meta.len() == self.offset {
            return Ok(nothing(false));
        }
        let mut f = File::open(&self.path)?;
        let meta = f.metadata()?;
        let mut reset = false;
        if self.inode.is_some_and(|i| i != meta.ino()) || meta.len() < self.offset {
            self.offset = 0;
            self.pending.clear();
            self.skipping = false;
            reset = true;
        }
        self.inode = Some(meta.ino());
        if meta.len() == self.offset {
            return Ok(nothing(reset));
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let want = (meta.len() - self.offset).min(max.max(1));
        let mut buf = Vec::with_capacity(want as usize);
        f.take(want).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.bytes_read += buf.len() as u64;
        let more = self.offset < meta.len();
        let mut skipped = 0;
        let mut rest = buf.as_slice();
        if self.skipping {
            match rest.iter().position(|b| *b == b'\n') {
                Some(nl) => {
                    rest = &rest[nl + 1..];
                    self.skipping = false;
                }
                None => rest = &[],
            }
        }
        self.pending.extend_from_slice(rest);
        let mut lines = Vec::new();
        if let Some(last_nl) = self.pending.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.pending.drain(..=last_nl).collect();
            for line in String::from_utf8_lossy(&complete).lines().filter(|l| !l.trim().is_empty()) {
                if line.len() > MAX_LINE {
                    skipped += 1;
                } else {
                    lines.push(line.to_string());
                }
            }
        }
        if self.pending.len() > MAX_LINE {
            self.pending = Vec::new();
            self.skipping = true;
            skipped += 1;
        }
        self.skipped_total += skipped;
        Ok(TailRead { lines, reset, skipped, more })
    }
}

struct Experiment {
    state_file: Option<(PathBuf, u64, SystemTime)>,
    tails: BTreeMap<String, Tail>,
    /// Error files read, by trial, with the file's mtime (a trial retried and failing again
    /// writes a new one).
    errors_read: BTreeMap<String, SystemTime>,
    /// Trials the state file last said were RUNNING, with their folders: Tune can leave a dead
    /// trial RUNNING there (facts §5.2b), so their folders are checked for an error file.
    running: Vec<(String, String)>,
    /// RUNNING trials reported as ended by their error file (until they report again).
    ended: std::collections::BTreeSet<String>,
    /// Folders of the trials the last state file says are over for good (TERMINATED, or ERROR
    /// with no retry left): their results can no longer grow.
    over: std::collections::BTreeSet<String>,
    /// Of those, the ones read to the end since the state said so: never looked at again (no
    /// stat), until a newer state file says otherwise. At 5,000 trials, most of a pass's stats.
    settled: std::collections::BTreeSet<String>,
}

/// Scans tune directories: remembers what it read so each pass reads only what changed.
pub struct Scanner {
    roots: Vec<PathBuf>,
    experiments: BTreeMap<PathBuf, Experiment>,
    /// Roots reported missing, so the problem is said once, not every pass.
    missing: std::collections::BTreeSet<PathBuf>,
    /// The last pass stopped at its byte budget: files still hold unread results.
    pub behind: bool,
}

impl Scanner {
    pub fn new(roots: Vec<PathBuf>) -> Scanner {
        Scanner { roots, experiments: BTreeMap::new(), missing: Default::default(), behind: false }
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
        let mut results_budget = PASS_BUDGET;
        self.behind = false;
        for dir in self.discover() {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let exp = self.experiments.entry(dir.clone()).or_insert_with(|| Experiment {
                state_file: None,
                tails: BTreeMap::new(),
                errors_read: Default::default(),
                running: Vec::new(),
                ended: Default::default(),
                over: Default::default(),
                settled: Default::default(),
            });
            let mut state_now: Option<ExperimentState> = None;
            if let Some(path) = newest_state_file(&dir)
                && let Ok(meta) = std::fs::metadata(&path)
            {
                let stamp = (path.clone(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                if exp.state_file.as_ref() != Some(&stamp) && meta.len() > MAX_STATE_FILE {
                    let error = format!("{} bytes: over raytop's limit of {MAX_STATE_FILE}, not read", meta.len());
                    exp.state_file = Some(stamp);
                    updates.push(TuneUpdate::Problem { path, error });
                } else if exp.state_file.as_ref() != Some(&stamp) {
                    match std::fs::read_to_string(&path) {
                        Ok(text) => {
                            bytes += text.len() as u64;
                            match parse_state(&name, &dir, &text) {
                                Ok(mut s) => {
                                    exp.state_file = Some(stamp);
                                    s.graceful_stop = dir.join(crate::wire::tune::STOP_DIR).is_dir();
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
            // A trial's end is in its folder: the error file of an ERROR trial, and of a trial the
            // state still calls RUNNING when the error is newer than its last result.
            let mut to_check: Vec<(String, String, bool)> = Vec::new();
            let mut errors = Vec::new();
            if let Some(s) = &state_now {
                // A trial Tune may still restart after a failure is not ended by its error file.
                let may_restart =
                    |t: &crate::wire::tune::TrialInfo| t.max_failures < 0 || t.num_failures < t.max_failures as u64;
                exp.running = s
                    .trials
                    .iter()
                    .filter(|t| t.status == "RUNNING" && !may_restart(t))
                    .map(|t| (t.trial_id.clone(), t.logdir.clone()))
                    .collect();
                to_check.extend(
                    s.trials
                        .iter()
                        .filter(|t| t.status == "ERROR")
                        .map(|t| (t.trial_id.clone(), t.logdir.clone(), false)),
                );
                // Tune writes a trial's last result before the snapshot that calls it over, so
                // one read after this state file was parsed holds all of it.
                exp.over = s
                    .trials
                    .iter()
                    .filter(|t| t.status == "TERMINATED" || t.status == "ERROR" && !may_restart(t))
                    .map(|t| t.logdir.clone())
                    .collect();
                let over = &exp.over;
                exp.settled.retain(|d| over.contains(d));
            }
            to_check.extend(exp.running.iter().map(|(id, dir)| (id.clone(), dir.clone(), true)));
            for (trial_id, logdir, running) in to_check {
                let path = dir.join(&logdir).join("error.txt");
                let Ok(mtime) = std::fs::metadata(&path).and_then(|m| m.modified()) else { continue };
                if running {
                    let results = std::fs::metadata(dir.join(&logdir).join("result.json")).and_then(|m| m.modified());
                    if results.is_ok_and(|r| r > mtime) {
                        // Retried after that failure, and reporting again.
                        if exp.ended.remove(&trial_id) {
                            errors.push(TuneUpdate::Resumed { experiment: name.clone(), trial_id });
                        }
                        continue;
                    }
                    exp.ended.insert(trial_id.clone());
                }
                if exp.errors_read.get(&trial_id) == Some(&mtime) {
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(&path) {
                    bytes += text.len() as u64;
                    exp.errors_read.insert(trial_id.clone(), mtime);
                    let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
                    errors.push(TuneUpdate::Error { experiment: name.clone(), trial_id, text: head });
                }
            }
            // The state first: an error then ends what the state calls RUNNING.
            if let Some(s) = state_now {
                updates.push(TuneUpdate::State(s));
            }
            updates.extend(errors);
            // Results: every trial folder with a result.json.
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let trial_dir = e.file_name().to_string_lossy().into_owned();
                if exp.settled.contains(&trial_dir) {
                    continue;
                }
                let path = e.path().join("result.json");
                if !path.is_file() {
                    continue;
                }
                if results_budget == 0 {
                    self.behind = true;
                    break;
                }
                let tail = exp.tails.entry(trial_dir.clone()).or_insert_with(|| Tail::new(path.clone()));
                let before = tail.bytes_read;
                match tail.read(results_budget.min(READ_CHUNK)) {
                    Ok(read) => {
                        let got = tail.bytes_read - before;
                        bytes += got;
                        results_budget = results_budget.saturating_sub(got);
                        self.behind |= read.more;
                        // Read to its end, no line left half-written.
                        if !read.more && tail.ends_whole() && exp.over.contains(&trial_dir) {
                            exp.settled.insert(trial_dir.clone());
                        }
                        if read.skipped > 0 {
                            let error = format!("{} line(s) over {MAX_LINE} bytes skipped", tail.skipped_total);
                            updates.push(TuneUpdate::Problem { path: path.clone(), error });
                        }
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

/// How often a cloud storage path is listed: Tune uploads every 10 s at the soonest.
pub const STORAGE_PERIOD: Duration = Duration::from_secs(5);

/// A storage path whose files are copied here for the scanner: a prefix in cloud storage, or the
/// experiments on a RayCluster's head pod.
pub enum StorageMirror {
    Cloud(crate::source::tune_cloud::Mirror),
    Head(Box<crate::source::tune_head::HeadMirror>),
}

impl StorageMirror {
    /// How the screen names where its experiments come from.
    pub fn url(&self) -> &str {
        match self {
            StorageMirror::Cloud(m) => &m.url,
            StorageMirror::Head(m) => &m.label,
        }
    }

    pub fn local(&self) -> &Path {
        match self {
            StorageMirror::Cloud(m) => &m.local,
            StorageMirror::Head(m) => &m.local,
        }
    }

    async fn sync(&mut self) -> Result<crate::source::tune_cloud::SyncPass, String> {
        match self {
            StorageMirror::Cloud(m) => m.sync().await,
            StorageMirror::Head(m) => m.sync().await,
        }
    }

    /// The experiments found and where, when the source says (the head's reader does).
    fn found(&self) -> Vec<(String, String)> {
        match self {
            StorageMirror::Cloud(_) => Vec::new(),
            StorageMirror::Head(m) => m.found.clone(),
        }
    }
}

/// The `--tune-dir` roots split into local folders and cloud storage paths, each of the latter with a
/// mirror under `cache`; a path that cannot be mirrored is a problem to show, not a stop.
pub fn roots(dirs: &[PathBuf], cache: &Path) -> (Vec<PathBuf>, Vec<StorageMirror>, Vec<TuneUpdate>) {
    let (mut local, mut mirrors, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for d in dirs {
        match d.to_str().filter(|s| s.contains("://")) {
            Some(url) => match crate::source::tune_cloud::Mirror::new(url, cache) {
                Ok(m) => {
                    local.push(m.local.clone());
                    mirrors.push(StorageMirror::Cloud(m));
                }
                Err(error) => problems.push(TuneUpdate::Problem { path: d.clone(), error }),
            },
            None => local.push(d.clone()),
        }
    }
    (local, mirrors, problems)
}

/// Brings each mirror up to date, as updates to send (what it cost, or why it failed); with
/// `to_end`, pass after pass until nothing is left unread (one pass reads a bounded amount).
pub async fn sync_mirrors(mirrors: &mut [StorageMirror], to_end: bool) -> Vec<TuneUpdate> {
    let mut updates = Vec::new();
    for m in mirrors {
        let (mut requests, mut bytes) = (0, 0);
        loop {
            match m.sync().await {
                Ok(p) => {
                    requests += p.requests;
                    bytes += p.bytes;
                    if to_end && p.behind {
                        continue;
                    }
                    let (url, local, at) = (m.url().to_string(), m.local().to_path_buf(), SystemTime::now());
                    let newest_upload = p.newest_upload;
                    let found = m.found();
                    updates.push(TuneUpdate::Storage { url, local, requests, bytes, newest_upload, found, at });
                    if let StorageMirror::Head(h) = m {
                        for (key, size) in std::mem::take(&mut h.refused) {
                            let error = format!("{size} bytes: over raytop's limit of {MAX_STATE_FILE}, not read");
                            updates.push(TuneUpdate::Problem {
                                path: PathBuf::from(format!("{}: {key}", h.label)),
                                error,
                            });
                        }
                    }
                }
                Err(error) => updates.push(TuneUpdate::Problem { path: PathBuf::from(m.url()), error }),
            }
            break;
        }
    }
    updates
}

/// Everything under the `--tune-dir` roots, read once to the end (the mirrors synced first):
/// for the subcommands and `snapshot`.
pub async fn read_once(dirs: &[PathBuf]) -> Vec<TuneUpdate> {
    let (roots, mirrors, updates) = self::roots(dirs, &crate::config::state_dir());
    read_mirrored(roots, mirrors, updates).await
}

/// The local `roots` and the `mirrors`, read once to the end, after the updates given.
pub async fn read_mirrored(
    mut roots: Vec<PathBuf>,
    mut mirrors: Vec<StorageMirror>,
    mut updates: Vec<TuneUpdate>,
) -> Vec<TuneUpdate> {
    roots.extend(mirrors.iter().filter(|m| matches!(m, StorageMirror::Head(_))).map(|m| m.local().to_path_buf()));
    updates.extend(sync_mirrors(&mut mirrors, true).await);
    let mut scanner = Scanner::new(roots);
    // Pass after pass until every file is read: one pass reads a bounded amount.
    loop {
        updates.extend(scanner.pass());
        if !scanner.behind {
            return updates;
        }
    }
}

/// The Tune experiments on the head pod of RayCluster `cluster`, read once to the end (for
/// `snapshot`), within `limit`.
pub async fn read_head_once(
    client: kube::Client,
    namespace: &str,
    cluster: &str,
    limit: Duration,
) -> Vec<crate::msg::TuneUpdate> {
    let name = crate::source::tune_head::label(namespace, cluster);
    let connect = crate::source::tune_head::exec_connector(client, namespace.to_string(), cluster.to_string());
    let head = match crate::source::tune_head::HeadMirror::new(
        name.clone(),
        &crate::config::state_dir(),
        &[namespace, cluster],
        connect,
    ) {
        Ok(h) => h,
        Err(error) => return vec![crate::msg::TuneUpdate::Problem { path: name.into(), error }],
    };
    let mirrors = vec![StorageMirror::Head(Box::new(head))];
    match tokio::time::timeout(limit, read_mirrored(Vec::new(), mirrors, Vec::new())).await {
        Ok(updates) => updates,
        Err(_) => {
            let error = format!("not read in {} s", limit.as_secs());
            vec![crate::msg::TuneUpdate::Problem { path: name.into(), error }]
        }
    }
}

/// Runs passes every `interval`, in a blocking thread (file I/O), sending each update wrapped
/// by `wrap` (which dashboard it belongs to); the cloud storage roots and the `head` mirror, if any,
/// are synced first, every `STORAGE_PERIOD` at most, and only while `shown` says a view shows
/// trials (none: always), so storage is not listed for a view off screen.
pub async fn run(
    dirs: Vec<PathBuf>,
    head: Option<crate::source::tune_head::HeadMirror>,
    shown: Option<tokio::sync::watch::Receiver<bool>>,
    interval: Duration,
    wrap: impl Fn(TuneUpdate) -> Msg + Send,
    tx: mpsc::Sender<Msg>,
) {
    let (mut roots, mut mirrors, mut problems) = self::roots(&dirs, &crate::config::state_dir());
    if let Some(h) = head {
        roots.push(h.local.clone());
        mirrors.push(StorageMirror::Head(Box::new(h)));
        // Read anew from the head: what an earlier reading sent is dropped first.
        problems.insert(0, TuneUpdate::Restart);
    }
    for u in problems {
        if tx.send(wrap(u)).await.is_err() {
            return;
        }
    }
    let mut scanner = Some(Scanner::new(roots));
    let mut synced: Option<tokio::time::Instant> = None;
    loop {
        let on_screen = shown.as_ref().is_none_or(|s| *s.borrow());
        if on_screen && !mirrors.is_empty() && synced.is_none_or(|t| t.elapsed() >= STORAGE_PERIOD) {
            synced = Some(tokio::time::Instant::now());
            for u in sync_mirrors(&mut mirrors, false).await {
                if tx.send(wrap(u)).await.is_err() {
                    return;
                }
            }
        }
        let Some(mut s) = scanner.take() else { return };
        let Ok((s, updates)) = tokio::task::spawn_blocking(move || {
            let u = s.pass();
            (s, u)
        })
        .await
        else {
            return;
        };
        let behind = s.behind;
        scanner = Some(s);
        for u in updates {
            if tx.send(wrap(u)).await.is_err() {
                return;
            }
        }
        // Behind a large file: read on at once (the sends above pace it), else wait.
        if !behind {
            tokio::time::sleep(interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid fixture copied to `dir`, with the state file's statuses as `status(trial_id)`
    /// says, written under a new session name (a newer state file); its trial folders.
    fn grid_with(dir: &Path, session: &str, status: &dyn Fn(&str) -> &'static str) -> Vec<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune/grid");
        let mut folders = Vec::new();
        for e in std::fs::read_dir(&src).unwrap().flatten() {
            if e.path().is_dir() {
                let to = dir.join(e.file_name());
                if !to.exists() {
                    std::fs::create_dir_all(&to).unwrap();
                    std::fs::copy(e.path().join("result.json"), to.join("result.json")).unwrap();
                }
                folders.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        let state_path = newest_state_file(&src).unwrap();
        let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(state_path).unwrap()).unwrap();
        for pair in state["trial_data"].as_array_mut().unwrap() {
            let mut t: serde_json::Value = serde_json::from_str(pair[0].as_str().unwrap()).unwrap();
            t["status"] = status(t["trial_id"].as_str().unwrap()).into();
            pair[0] = t.to_string().into();
        }
        std::fs::write(dir.join(format!("experiment_state-{session}.json")), state.to_string()).unwrap();
        folders.sort();
        folders
    }

    fn results_read(updates: &[TuneUpdate]) -> Vec<(String, usize)> {
        let mut read: Vec<(String, usize)> = updates
            .iter()
            .filter_map(|u| match u {
                TuneUpdate::Results { trial_dir, rows, .. } => Some((trial_dir.clone(), rows.len())),
                _ => None,
            })
            .collect();
        read.sort();
        read
    }

    /// At 5,000 trials the stats were most of a pass: a trial the state calls over is read to
    /// its end once and then not looked at, until a newer state calls it live again.
    #[test]
    fn a_trial_the_state_calls_over_is_read_once_then_left_until_it_is_live_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("grid");
        std::fs::create_dir_all(&dir).unwrap();
        let live = "76515_00000";
        let folders = grid_with(&dir, "2026-11-26_07-17-39", &|id| if id == live { "RUNNING" } else { "TERMINATED" });
        let live_dir = folders.iter().find(|f| f.contains("_00000_")).unwrap().clone();
        let over_dir = folders.iter().find(|f| f.contains("_00001_")).unwrap().clone();
        let mut scanner = Scanner::new(vec![dir.clone()]);
        let first = results_read(&scanner.pass());
        assert_eq!(first.len(), 6, "every trial read once: {first:?}");
        let line = "{\"loss\": 0.5, \"training_iteration\": 99, \"trial_id\": \"x\"}\n";
        let append = |folder: &str| {
            let mut f = std::fs::OpenOptions::new().append(true).open(dir.join(folder).join("result.json")).unwrap();
            std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
        };
        append(&live_dir);
        append(&over_dir);
        // Positive control: the live trial's line is read; the one over is not looked at.
        assert_eq!(results_read(&scanner.pass()), vec![(live_dir.clone(), 1)]);
        // A newer state calls every trial live (an experiment resumed): the line is read then.
        grid_with(&dir, "2026-11-26_08-00-00", &|_| "RUNNING");
        assert_eq!(results_read(&scanner.pass()), vec![(over_dir.clone(), 1)]);
    }

    #[test]
    fn tail_reads_only_appended_complete_lines_and_survives_replacement() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        let mut f = File::create(&path).unwrap();
        write!(f, "{{\"training_iteration\": 1}}\n{{\"training_iter").unwrap();
        let mut t = Tail::new(path.clone());
        let r = t.read(READ_CHUNK).unwrap();
        assert_eq!(r.lines.len(), 1);
        assert!(!r.reset);
        let first = t.bytes_read;
        writeln!(f, "ation\": 2}}").unwrap();
        let r = t.read(READ_CHUNK).unwrap();
        assert_eq!(r.lines, vec!["{\"training_iteration\": 2}".to_string()]);
        assert_eq!(t.bytes_read - first, "ation\": 2}\n".len() as u64, "only the appended bytes");
        assert!(t.read(READ_CHUNK).unwrap().lines.is_empty());
        // Replaced by a new file (new inode): read again from the start.
        let tmp = dir.path().join("new");
        std::fs::write(&tmp, "{\"training_iteration\": 1}\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        let r = t.read(READ_CHUNK).unwrap();
        assert!(r.reset);
        assert_eq!(r.lines.len(), 1);
    }

    #[test]
    fn a_huge_file_is_read_in_chunks_and_a_line_without_end_is_skipped_not_kept() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        let mut f = File::create(&path).unwrap();
        let line = format!("{{\"training_iteration\": 1, \"pad\": \"{}\"}}\n", "x".repeat(1000));
        for _ in 0..3000 {
            f.write_all(line.as_bytes()).unwrap();
        }
        let mut t = Tail::new(path.clone());
        let (mut lines, mut calls) = (0, 0);
        loop {
            let r = t.read(64 << 10).unwrap();
            calls += 1;
            lines += r.lines.len();
            assert!(t.pending.len() <= 64 << 10);
            if !r.more {
                break;
            }
        }
        assert_eq!(lines, 3000);
        assert!(calls >= line.len() * 3000 / (64 << 10), "{calls} calls");
        // 3 MiB without a newline, then a good line: the long one is skipped, the buffer stays small.
        let long = vec![b'y'; 3 << 20];
        f.write_all(&long).unwrap();
        let mut skipped = 0;
        loop {
            let r = t.read(512 << 10).unwrap();
            skipped += r.skipped;
            assert!(t.pending.len() <= MAX_LINE + (512 << 10), "{}", t.pending.len());
            if !r.more {
                break;
            }
        }
        f.write_all(b"\n{\"training_iteration\": 2}\n").unwrap();
        let r = t.read(READ_CHUNK).unwrap();
        assert_eq!((r.lines, skipped + r.skipped), (vec!["{\"training_iteration\": 2}".to_string()], 1));
    }
}
