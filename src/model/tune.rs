//! Tune experiments and their trial leaderboards, folded from what the Tune source reads.
//!
//! The metric is what the experiment state records (`runner_data._metric`); its mode (min or max)
//! is only in pickles raytop must not read, so it is inferred — from ASHA's own decisions when the
//! scheduler stopped trials (it lets the better ones run on), else from the metric's name — and the
//! screen says which. `--tune-mode NAME=min|max` settles it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::series::{MAX_SERIES, METRIC_POINTS, OTHER_POINTS, Series};
use crate::msg::TuneUpdate;
use crate::wire::tune::{ExperimentState, ResultRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "min" => Some(Mode::Min),
            "max" => Some(Mode::Max),
            _ => None,
        }
    }

    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Mode::Min => a < b,
            Mode::Max => a > b,
        }
    }
}

/// The status of a trial folder that the newest experiment state does not name: it belongs to an
/// earlier run written to the same storage path (a sweep run again under the same name, without
/// resume). Shown apart from the current run, never as RUNNING, and left out of its best, its
/// milestones and its mode.
pub const EARLIER_RUN: &str = "EARLIER RUN";

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub trial_id: String,
    pub status: String,
    pub config: BTreeMap<String, Value>,
    pub iterations: u64,
    pub run_time_s: Option<f64>,
    pub last: Option<f64>,
    pub best: Option<f64>,
    pub node_ip: Option<String>,
    pub hostname: Option<String>,
    pub pid: Option<u64>,
    /// The error file's first lines, for ERROR trials.
    pub error: Option<String>,
    /// The line of the error worth a table cell (`error_line`), found when the error is read.
    pub exception: String,
    /// The ASHA milestone (iteration) the trial reached, and whether the scheduler stopped it
    /// there before the last milestone.
    pub rung: Option<u64>,
    pub stopped_early: bool,
    pub logdir: String,
    /// From the trial's state: how often Tune restarts it after a failure (-1: always).
    pub max_failures: i64,
    /// What runs it: the function or class name its actor carries.
    pub trainable: String,
    /// The state file says RUNNING, but the trial's folder holds an error newer than its last
    /// result: it ended (Tune can keep a dead trial RUNNING in the state, facts §5.2b).
    pub ended_per_folder: bool,
    /// The numeric series of result.json, by name, each bounded (`series.rs`).
    #[serde(skip)]
    series: BTreeMap<String, Series>,
}

impl Trial {
    fn new(trial_id: String, logdir: String) -> Trial {
        Trial {
            trial_id,
            status: "PENDING".into(),
            config: BTreeMap::new(),
            iterations: 0,
            run_time_s: None,
            last: None,
            best: None,
            node_ip: None,
            hostname: None,
            pid: None,
            error: None,
            exception: String::new(),
            rung: None,
            stopped_early: false,
            logdir,
            max_failures: 0,
            trainable: String::new(),
            ended_per_folder: false,
            series: BTreeMap::new(),
        }
    }

    /// Folds result rows in; `metric`'s series keeps more points than the others.
    fn push_rows(&mut self, rows: &[ResultRow], metric: Option<&str>) {
        for r in rows {
            let last = self.series.values().filter_map(|s| s.points().last()).map(|p| p.0).max().unwrap_or(0);
            // Rows without an iteration count as the next one, so the series stay ordered.
            let it = if r.iteration > last { r.iteration } else { last.saturating_add(1) };
            for (k, v) in &r.metrics {
                if !self.series.contains_key(k) && self.series.len() >= MAX_SERIES {
                    continue;
                }
                let cap = if Some(k.as_str()) == metric { METRIC_POINTS } else { OTHER_POINTS };
                self.series.entry(k.clone()).or_default().push(it, *v, cap);
            }
            // A row that lacks a metric shows NaN there, as Tune's own progress table does.
            for (k, s) in self.series.iter_mut().filter(|(k, _)| !r.metrics.contains_key(*k)) {
                let cap = if Some(k.as_str()) == metric { METRIC_POINTS } else { OTHER_POINTS };
                s.push(it, f64::NAN, cap);
            }
            self.iterations = self.iterations.max(r.iteration);
            self.run_time_s = r.metrics.get("time_total_s").copied().or(self.run_time_s);
            self.pid = r.pid.or(self.pid);
            self.node_ip = r.node_ip.clone().or(self.node_ip.take());
            self.hostname = r.hostname.clone().or(self.hostname.take());
        }
    }

    /// The series of `metric`, if this trial reported it.
    fn series_of(&self, metric: Option<&str>) -> Option<&Series> {
        self.series.get(metric?)
    }

    pub fn series_names(&self) -> impl Iterator<Item = &String> {
        self.series.keys()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    pub name: String,
    pub dir: String,
    /// It runs raytop's Stopper: a trial is stopped by a marker file, and ends TERMINATED.
    pub graceful_stop: bool,
    pub metric: Option<String>,
    /// "recorded" (experiment state) or how it was inferred.
    pub metric_source: String,
    pub mode: Mode,
    /// Why this mode: set by the user, or what it was inferred from.
    pub mode_source: String,
    pub mode_inferred: bool,
    pub trials: Vec<Trial>,
    pub best_trial: Option<String>,
    /// ASHA milestones seen: the iterations at which the scheduler stopped trials.
    pub rungs: Vec<u64>,
    /// Hyperparameter names (config keys), the leaderboard's extra columns.
    pub params: Vec<String>,
    #[serde(skip)]
    recorded_metric: Option<String>,
    #[serde(skip)]
    dirty: bool,
    /// The trial folders the newest experiment state names (`None` before one was read): any
    /// other folder is an earlier run's.
    #[serde(skip)]
    named: Option<std::collections::BTreeSet<String>>,
    /// Trials by folder and by id (the first of each): a state file of 5,000 trials is folded
    /// in with a look-up per trial, not a scan of all of them per trial.
    #[serde(skip)]
    by_logdir: std::collections::HashMap<String, usize>,
    #[serde(skip)]
    by_id: std::collections::HashMap<String, usize>,
}

/// Names that say which way is better.
fn mode_from_name(metric: &str) -> Option<Mode> {
    let m = metric.to_lowercase();
    const MIN: [&str; 10] = ["loss", "error", "err", "mse", "mae", "rmse", "perplexity", "regret", "latency", "cost"];
    const MAX: [&str; 10] = ["acc", "accuracy", "reward", "score", "auc", "f1", "precision", "recall", "return", "iou"];
    let words: Vec<&str> = m.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has =
        |list: &[&str]| words.iter().any(|w| list.contains(w)) || list.iter().any(|k| k.len() > 3 && m.contains(k));
    match (has(&MIN), has(&MAX)) {
        (true, false) => Some(Mode::Min),
        (false, true) => Some(Mode::Max),
        _ => None,
    }
}

/// Keys Tune adds to every result: never the metric a user optimises.
const AUTO_KEYS: [&str; 9] = [
    "time_this_iter_s",
    "time_total_s",
    "training_iteration",
    "iterations_since_restore",
    "time_since_restore",
    "timestamp",
    "timesteps_total",
    "episodes_total",
    "timesteps_since_restore",
];

impl Experiment {
    /// A trial's history of the experiment's metric: (iteration, value), bounded, NaN where a
    /// row lacked it.
    pub fn history<'a>(&self, t: &'a Trial) -> &'a [(u64, f64)] {
        t.series_of(self.metric.as_deref()).map_or(&[], Series::points)
    }

    /// A trial's metric at iteration `it`, if reported and still kept.
    fn value_at(&self, t: &Trial, it: u64) -> Option<f64> {
        t.series_of(self.metric.as_deref())?.at(it).filter(|v| v.is_finite())
    }

    fn new(name: &str) -> Experiment {
        Experiment {
            name: name.to_string(),
            dir: String::new(),
            graceful_stop: false,
            metric: None,
            metric_source: String::new(),
            mode: Mode::Max,
            mode_source: String::new(),
            mode_inferred: true,
            trials: Vec::new(),
            best_trial: None,
            rungs: Vec::new(),
            params: Vec::new(),
            recorded_metric: None,
            dirty: true,
            named: None,
            by_logdir: std::collections::HashMap::new(),
            by_id: std::collections::HashMap::new(),
        }
    }

    fn trial_mut(&mut self, trial_id: &str, logdir: &str) -> &mut Trial {
        let i = self.trial_index(trial_id, logdir);
        &mut self.trials[i]
    }

    /// The first trial with this folder or this id; a new one at the end when there is none.
    fn trial_index(&mut self, trial_id: &str, logdir: &str) -> usize {
        let trials = &self.trials;
        let by_dir = self.by_logdir.get(logdir).copied().filter(|_| !logdir.is_empty());
        let by_id = self.by_id.get(trial_id).copied().filter(|_| !trial_id.is_empty());
        let holds = |i: Option<usize>, field: fn(&Trial) -> &str, key: &str| {
            i.is_none_or(|i| trials.get(i).is_some_and(|t| field(t) == key))
        };
        let found = if holds(by_dir, |t| &t.logdir, logdir) && holds(by_id, |t| &t.trial_id, trial_id) {
            by_dir.into_iter().chain(by_id).min()
        } else {
            // A trial renamed behind the index's back: the scan is always right.
            self.trials.iter().position(|t| {
                (!logdir.is_empty() && t.logdir == logdir) || (!trial_id.is_empty() && t.trial_id == trial_id)
            })
        };
        match found {
            Some(i) => i,
            None => {
                self.trials.push(Trial::new(trial_id.to_string(), logdir.to_string()));
                let i = self.trials.len() - 1;
                self.index_names(i);
                i
            }
        }
    }

    /// Indexes trial `i` under its folder and id, unless an earlier trial holds them.
    fn index_names(&mut self, i: usize) {
        let Some(t) = self.trials.get(i) else { return };
        let trials = &self.trials;
        for (map, key, field) in [
            (&mut self.by_logdir, &t.logdir, (|t: &Trial| t.logdir.as_str()) as fn(&Trial) -> &str),
            (&mut self.by_id, &t.trial_id, |t: &Trial| t.trial_id.as_str()),
        ] {
            if key.is_empty() {
                continue;
            }
            let earlier =
                map.get(key.as_str()).is_some_and(|&j| j < i && trials.get(j).is_some_and(|o| field(o) == key));
            if !earlier {
                map.insert(key.clone(), i);
            }
        }
    }

    fn apply_state(&mut self, s: &ExperimentState) {
        self.dir = s.dir.display().to_string();
        self.graceful_stop = s.graceful_stop;
        self.recorded_metric = s.metric.clone();
        let named: std::collections::BTreeSet<String> = s.trials.iter().map(|t| t.logdir.clone()).collect();
        for t in self.trials.iter_mut().filter(|t| !named.contains(&t.logdir)) {
            t.status = EARLIER_RUN.into();
        }
        self.named = Some(named);
        for info in &s.trials {
            let i = self.trial_index(&info.trial_id, &info.logdir);
            if self.trials[i].trial_id != info.trial_id || self.trials[i].logdir != info.logdir {
                self.trials[i].trial_id = info.trial_id.clone();
                self.trials[i].logdir = info.logdir.clone();
                self.index_names(i);
            }
            let t = &mut self.trials[i];
            // The folder's error file outranks a RUNNING the state file kept.
            t.status =
                if info.status == "RUNNING" && t.ended_per_folder { "ERROR".into() } else { info.status.clone() };
            t.max_failures = info.max_failures;
            t.trainable = info.trainable_name.clone();
            t.config = info.config.clone();
            if let Some(lr) = &info.last_result {
                t.iterations = t.iterations.max(lr.iteration);
                t.run_time_s = lr.metrics.get("time_total_s").copied().or(t.run_time_s);
                t.pid = lr.pid.or(t.pid);
                t.node_ip = lr.node_ip.clone().or(t.node_ip.take());
                t.hostname = lr.hostname.clone().or(t.hostname.take());
            }
        }
        self.dirty = true;
    }

    /// Recomputes metric, mode, rungs and each trial's last/best; called once per source pass.
    fn derive(&mut self, overrides: &BTreeMap<String, Mode>) {
        // The metric: recorded, else the first user metric of the results.
        let (metric, metric_source) = match &self.recorded_metric {
            Some(m) => (Some(m.clone()), "recorded in the experiment state".to_string()),
            None => {
                let candidates: Vec<&String> = self
                    .trials
                    .iter()
                    .flat_map(|t| t.series_names())
                    .filter(|k| !AUTO_KEYS.contains(&k.as_str()) && !k.starts_with("config/"))
                    .collect();
                let pick = candidates
                    .iter()
                    .find(|k| mode_from_name(k).is_some())
                    .or_else(|| candidates.first())
                    .map(|k| (*k).clone());
                (pick, "not recorded: inferred from the results".to_string())
            }
        };
        self.metric = metric.clone();
        self.metric_source = metric_source;
        // ASHA milestones: where TERMINATED trials stopped before the longest ones.
        let current = |t: &&Trial| t.status != EARLIER_RUN;
        let max_iter = self.trials.iter().filter(current).map(|t| t.iterations).max().unwrap_or(0);
        let mut rungs: Vec<u64> = self
            .trials
            .iter()
            .filter(|t| t.status == "TERMINATED" && t.iterations > 0 && t.iterations < max_iter)
            .map(|t| t.iterations)
            .collect();
        rungs.sort_unstable();
        rungs.dedup();
        self.rungs = rungs;
        // The mode: the user's word, else ASHA's decisions, else the metric's name.
        let by_user = overrides.get(&self.name).or_else(|| metric.as_ref().and_then(|m| overrides.get(m)));
        let (mode, source, inferred) = if let Some(m) = by_user {
            (*m, "set with --tune-mode".to_string(), false)
        } else if let Some((m, why)) = self.mode_from_asha() {
            (m, why, true)
        } else if let Some(m) = metric.as_deref().and_then(mode_from_name) {
            (m, format!("inferred from the name {:?}", metric.as_deref().unwrap_or_default()), true)
        } else {
            (Mode::Max, "unknown: assumed max (set --tune-mode)".to_string(), true)
        };
        self.mode = mode;
        self.mode_source = source;
        self.mode_inferred = inferred;
        let rungs = self.rungs.clone();
        let mut best_trial: Option<(f64, String)> = None;
        for t in &mut self.trials {
            let series = t.series_of(metric.as_deref());
            let extremes = series.and_then(Series::extremes);
            // The last reported value, NaN included: a trial whose metric just went NaN must show it.
            let last = series.and_then(Series::last);
            t.best = extremes.map(|(lo, hi)| if mode == Mode::Min { lo } else { hi });
            t.last = last;
            t.rung = rungs.iter().copied().filter(|r| *r <= t.iterations).max();
            t.stopped_early = t.status == "TERMINATED" && !rungs.is_empty() && t.iterations < max_iter;
            if let Some(b) = t.best
                && t.status != EARLIER_RUN
                && best_trial.as_ref().is_none_or(|(v, _)| mode.better(b, *v))
            {
                best_trial = Some((b, t.trial_id.clone()));
            }
        }
        self.best_trial = best_trial.map(|(_, id)| id);
        let mut params: Vec<String> = self.trials.iter().flat_map(|t| t.config.keys().cloned()).collect();
        params.sort();
        params.dedup();
        self.params = params;
        self.dirty = false;
    }

    /// ASHA stops the worse trials at each milestone: compare, at the milestone, the trials it let
    /// go on with those it stopped there. Needs a clear majority of several comparisons.
    fn mode_from_asha(&self) -> Option<(Mode, String)> {
        let metric = self.metric.as_deref()?;
        let (mut lower, mut higher, mut at) = (0u64, 0u64, None);
        for &r in &self.rungs {
            let stopped: Vec<f64> = self
                .trials
                .iter()
                .filter(|t| t.status == "TERMINATED" && t.iterations == r)
                .filter_map(|t| self.value_at(t, r))
                .collect();
            let mut kept: Vec<f64> = self
                .trials
                .iter()
                .filter(|t| t.iterations > r && t.status != EARLIER_RUN)
                .filter_map(|t| self.value_at(t, r))
                .collect();
            // Every (kept, stopped) pair is counted, by binary search in the sorted kept values
            // rather than pair by pair: 5,000 trials make millions of pairs, on every pass.
            kept.sort_by(f64::total_cmp);
            for s in &stopped {
                let below = kept.partition_point(|k| k < s);
                let not_above = kept.partition_point(|k| k <= s);
                lower += below as u64;
                higher += (kept.len() - not_above) as u64;
            }
            if !kept.is_empty() && !stopped.is_empty() {
                at.get_or_insert(r);
            }
        }
        let total = lower + higher;
        if total < 3 {
            return None;
        }
        let (mode, agree, word) =
            if lower >= higher { (Mode::Min, lower, "lower") } else { (Mode::Max, higher, "higher") };
        if (agree as f64) < 0.75 * (total as f64) {
            return None;
        }
        Some((
            mode,
            format!(
                "inferred: ASHA kept trials with {word} {metric} at iteration {} ({agree}/{total} comparisons)",
                at.unwrap_or(0)
            ),
        ))
    }
}

/// The line of an error file worth showing: the exception (`ValueError: …`), else the first line.
pub fn error_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| {
            l.split_once(':').is_some_and(|(head, _)| {
                let name = head.rsplit('.').next().unwrap_or(head);
                !head.contains(' ') && (name.ends_with("Error") || name.ends_with("Exception"))
            })
        })
        .or_else(|| lines.first())
        .map(|l| l.to_string())
        .unwrap_or_default()
}

/// A storage path in the cloud, mirrored for the scanner: how fresh its copy is, what it costs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StorageCopy {
    pub url: String,
    /// The mirror's folder: experiments under it come from `url`.
    pub local: String,
    /// Unix seconds: the newest object's upload (Tune uploads every 10–20 s, not per result),
    /// and the last listing.
    pub newest_upload: Option<f64>,
    pub synced_at: Option<f64>,
    pub requests_last_pass: u64,
    pub bytes_last_pass: u64,
    pub requests_total: u64,
    pub bytes_total: u64,
    /// The experiments found there, where the source names them (a head pod's reader does).
    pub found: Vec<FoundExperiment>,
}

/// An experiment a storage source found: its name and its folder there.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FoundExperiment {
    pub name: String,
    pub dir: String,
}

impl StorageCopy {
    /// Read from a RayCluster's head pod (through exec), not from cloud storage.
    pub fn is_head(&self) -> bool {
        !self.url.contains("://")
    }
}

impl Tune {
    /// The storage path an experiment folder was mirrored from.
    pub fn storage_of(&self, e: &Experiment) -> Option<&StorageCopy> {
        self.storage.iter().find(|s| std::path::Path::new(&e.dir).starts_with(&s.local))
    }
}

/// All experiments raytop sees, and the cost of reading them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tune {
    pub experiments: Vec<Experiment>,
    /// Bytes read from disk in the last pass, and in all.
    pub bytes_last_pass: u64,
    pub bytes_total: u64,
    /// Files that could not be read or parsed, newest last (the rest goes on).
    pub problems: Vec<String>,
    /// Storage paths read from the cloud, by URL.
    pub storage: Vec<StorageCopy>,
    #[serde(skip)]
    pub overrides: BTreeMap<String, Mode>,
}

/// Which of the trials that ran under one pid on one node it belongs to now: the running one
/// first, then the one with the most iterations (pids are reused).
fn process_rank(t: &Trial) -> (bool, u64) {
    (t.status == "RUNNING", t.iterations)
}

impl Tune {
    /// The trial a process runs: the one whose last result came from `pid` on `ip`. Actors are
    /// reused across trials and pids across experiments, so a RUNNING trial wins over finished
    /// ones, and among those the one that reported last (most iterations) wins.
    pub fn trial_of_process(&self, pid: u64, ip: &str) -> Option<(usize, usize)> {
        let mut best: Option<((bool, u64), (usize, usize))> = None;
        for (ei, e) in self.experiments.iter().enumerate() {
            for (ti, t) in e.trials.iter().enumerate() {
                if t.pid != Some(pid) || t.node_ip.as_deref() != Some(ip) {
                    continue;
                }
                let rank = process_rank(t);
                if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                    best = Some((rank, (ei, ti)));
                }
            }
        }
        best.map(|(_, at)| at)
    }

    /// `trial_of_process` for every process at once: one pass over the trials, for joins over
    /// thousands of actors (the same choice where several trials had the same pid).
    pub fn trials_by_process(&self) -> std::collections::HashMap<(u64, &str), (usize, usize)> {
        /// `process_rank`, with where that trial is.
        type Ranked = ((bool, u64), (usize, usize));
        let mut best: std::collections::HashMap<(u64, &str), Ranked> = std::collections::HashMap::new();
        for (ei, e) in self.experiments.iter().enumerate() {
            for (ti, t) in e.trials.iter().enumerate() {
                let (Some(pid), Some(ip)) = (t.pid, t.node_ip.as_deref()) else { continue };
                let rank = process_rank(t);
                let slot = best.entry((pid, ip)).or_insert((rank, (ei, ti)));
                if rank > slot.0 {
                    *slot = (rank, (ei, ti));
                }
            }
        }
        best.into_iter().map(|(k, (_, at))| (k, at)).collect()
    }

    pub fn with_overrides(overrides: BTreeMap<String, Mode>) -> Tune {
        Tune { overrides, ..Tune::default() }
    }

    fn experiment_mut(&mut self, name: &str) -> &mut Experiment {
        let idx = match self.experiments.iter().position(|e| e.name == name) {
            Some(i) => i,
            None => {
                self.experiments.push(Experiment::new(name));
                self.experiments.sort_by(|a, b| a.name.cmp(&b.name));
                self.experiments.iter().position(|e| e.name == name).unwrap_or(0)
            }
        };
        &mut self.experiments[idx]
    }

    /// Folds one update in; derived values are recomputed at the end of each pass.
    pub fn apply(&mut self, u: TuneUpdate) {
        match u {
            TuneUpdate::State(s) => self.experiment_mut(&s.name).apply_state(&s),
            TuneUpdate::Results { experiment, trial_dir, reset, rows } => {
                let e = self.experiment_mut(&experiment);
                let metric = e.recorded_metric.clone().or_else(|| e.metric.clone());
                let id = rows.first().map(|r| r.trial_id.clone()).unwrap_or_default();
                let earlier = e.named.as_ref().is_some_and(|n| !n.contains(&trial_dir));
                let i = e.trial_index(&id, &trial_dir);
                if e.trials[i].trial_id.is_empty() && !id.is_empty() {
                    e.trials[i].trial_id = id;
                    e.index_names(i);
                }
                let t = &mut e.trials[i];
                if earlier {
                    t.status = EARLIER_RUN.into();
                } else if t.status == "PENDING" {
                    t.status = "RUNNING".into();
                }
                if reset {
                    t.series.clear();
                }
                t.push_rows(&rows, metric.as_deref());
                e.dirty = true;
            }
            TuneUpdate::Error { experiment, trial_id, text } => {
                let e = self.experiment_mut(&experiment);
                let t = e.trial_mut(&trial_id, "");
                let text = super::text::clean(&text);
                t.exception = error_line(&text);
                t.error = Some(text);
                if t.status == "RUNNING" {
                    t.status = "ERROR".into();
                    t.ended_per_folder = true;
                }
                e.dirty = true;
            }
            TuneUpdate::Resumed { experiment, trial_id } => {
                let e = self.experiment_mut(&experiment);
                let t = e.trial_mut(&trial_id, "");
                if t.ended_per_folder {
                    t.status = "RUNNING".into();
                    t.ended_per_folder = false;
                }
                e.dirty = true;
            }
            TuneUpdate::Problem { path, error } => {
                // One line per file: a newer problem of the same file replaces the older one.
                let prefix = format!("{}: ", path.display());
                self.problems.retain(|p| !p.starts_with(&prefix));
                self.problems.push(format!("{prefix}{error}"));
                let excess = self.problems.len().saturating_sub(20);
                self.problems.drain(..excess);
            }
            TuneUpdate::Storage { url, local, requests, bytes, newest_upload, found, at } => {
                // Read again: what went wrong with this storage path before is over.
                let prefix = format!("{url}: ");
                self.problems.retain(|p| !p.starts_with(&prefix));
                let unix = |t: std::time::SystemTime| crate::model::unix_secs(t);
                let i = match self.storage.iter().position(|s| s.url == url) {
                    Some(i) => i,
                    None => {
                        let local = local.display().to_string();
                        self.storage.push(StorageCopy { url, local, ..StorageCopy::default() });
                        self.storage.len() - 1
                    }
                };
                let s = &mut self.storage[i];
                s.requests_last_pass = requests;
                s.bytes_last_pass = bytes;
                s.requests_total += requests;
                s.bytes_total += bytes;
                s.newest_upload = newest_upload.map(unix).or(s.newest_upload);
                s.synced_at = Some(unix(at));
                s.found = found.into_iter().map(|(name, dir)| FoundExperiment { name, dir }).collect();
            }
            TuneUpdate::Restart => *self = Tune::with_overrides(std::mem::take(&mut self.overrides)),
            TuneUpdate::Pass { bytes, .. } => {
                self.bytes_last_pass = bytes;
                self.bytes_total += bytes;
                let overrides = self.overrides.clone();
                for e in self.experiments.iter_mut().filter(|e| e.dirty) {
                    e.derive(&overrides);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A storage path read again clears its earlier problem; a restarted source drops what it
    /// sent before (so no result is counted twice), keeping the modes set by the user.
    #[test]
    fn a_storage_read_again_clears_its_problem_and_a_restart_starts_over() {
        let mut tune = Tune::with_overrides(BTreeMap::from([("exp".to_string(), Mode::Max)]));
        let head = "head of ray-lab/c";
        tune.apply(TuneUpdate::Problem { path: head.into(), error: "forbidden".into() });
        tune.apply(TuneUpdate::Problem { path: "/other".into(), error: "gone".into() });
        assert_eq!(tune.problems.len(), 2);
        let storage = |found: Vec<(String, String)>| TuneUpdate::Storage {
            url: head.into(),
            local: "/tmp/x".into(),
            requests: 1,
            bytes: 10,
            newest_upload: None,
            found,
            at: std::time::SystemTime::now(),
        };
        tune.apply(storage(vec![("exp".into(), "/tmp/ray_results/exp".into())]));
        assert_eq!(tune.problems, ["/other: gone"], "only the head's problem is over");
        assert_eq!(tune.storage[0].found, [FoundExperiment { name: "exp".into(), dir: "/tmp/ray_results/exp".into() }]);
        tune.apply(TuneUpdate::Restart);
        assert!(tune.storage.is_empty() && tune.problems.is_empty() && tune.experiments.is_empty());
        assert_eq!(tune.overrides.get("exp"), Some(&Mode::Max));
    }

    #[test]
    fn names_suggest_a_mode() {
        assert_eq!(mode_from_name("loss"), Some(Mode::Min));
        assert_eq!(mode_from_name("val_loss"), Some(Mode::Min));
        assert_eq!(mode_from_name("mean_accuracy"), Some(Mode::Max));
        assert_eq!(mode_from_name("episode_reward_mean"), Some(Mode::Max));
        assert_eq!(mode_from_name("foo"), None);
    }

    #[test]
    fn a_trial_reporting_for_days_keeps_bounded_history_and_the_exact_best() {
        let mut tune = Tune::default();
        for chunk in 0..100u64 {
            let rows = (1..=1000u64)
                .map(|i| {
                    let it = chunk * 1000 + i;
                    let line = format!(
                        r#"{{"trial_id": "t1", "training_iteration": {it}, "loss": {}, "zeta": 0.5}}"#,
                        1.0 / it as f64
                    );
                    ResultRow::parse(&line).unwrap()
                })
                .collect();
            tune.apply(TuneUpdate::Results { experiment: "long".into(), trial_dir: "t1".into(), reset: false, rows });
            tune.apply(TuneUpdate::Pass { bytes: 0, at: std::time::SystemTime::UNIX_EPOCH });
        }
        let e = &tune.experiments[0];
        let t = &e.trials[0];
        assert_eq!(t.iterations, 100_000);
        assert!(e.history(t).len() <= METRIC_POINTS, "{}", e.history(t).len());
        assert!(t.series.values().all(|s| s.len() <= METRIC_POINTS));
        assert_eq!(t.series["zeta"].len().max(OTHER_POINTS), OTHER_POINTS);
        assert_eq!(t.best, Some(1.0 / 100_000.0), "best is exact though old points were thinned");
        assert_eq!(e.history(t).last().map(|p| p.0), Some(100_000));
    }

    #[test]
    fn asha_comparisons_counted_by_search_equal_the_pair_by_pair_count() {
        let mut tune = Tune::default();
        for i in 0..60u64 {
            let last = [1, 2, 4, 8][(i % 4) as usize];
            let rows = (1..=last)
                .map(|it| {
                    // Trials that went further score higher, mostly; values repeat on purpose (a
                    // tie counts for neither side) and some groups overlap.
                    let score = (last * 3 + i * 7 % 5) as f64 + it as f64;
                    let line = format!(r#"{{"training_iteration": {it}, "score": {score}}}"#);
                    ResultRow::parse(&line).unwrap()
                })
                .collect();
            let dir = format!("t{i}");
            tune.apply(TuneUpdate::Results { experiment: "asha".into(), trial_dir: dir.clone(), reset: false, rows });
            let t = tune.experiment_mut("asha").trial_mut(&dir, &dir);
            t.status = if last == 8 { "RUNNING".into() } else { "TERMINATED".into() };
        }
        let e = tune.experiment_mut("asha");
        e.metric = Some("score".into());
        e.rungs = vec![1, 2, 4];
        let (mut lower, mut higher) = (0u64, 0u64);
        for &r in &e.rungs {
            let at = |t: &Trial| e.value_at(t, r);
            let stopped: Vec<f64> =
                e.trials.iter().filter(|t| t.status == "TERMINATED" && t.iterations == r).filter_map(at).collect();
            let kept: Vec<f64> = e.trials.iter().filter(|t| t.iterations > r).filter_map(at).collect();
            for k in &kept {
                for s in &stopped {
                    lower += u64::from(k < s);
                    higher += u64::from(k > s);
                }
            }
        }
        assert!(lower + higher > 1000, "enough pairs to mean something: {lower} {higher}");
        let (_, why) = e.mode_from_asha().unwrap();
        let agree = lower.max(higher);
        assert!(why.ends_with(&format!("({agree}/{} comparisons)", lower + higher)), "{why}");
    }

    #[test]
    fn a_trial_is_found_by_folder_or_id_as_a_scan_would_find_it() {
        let mut e = Experiment::new("x");
        let a = e.trial_index("t1", ""); // an error file names the id only
        assert_eq!(e.trial_index("t1", "dir1"), a, "results of the same id");
        e.trials[a].logdir = "dir1".into();
        e.index_names(a);
        assert_eq!(e.trial_index("", "dir1"), a);
        let b = e.trial_index("t2", "dir2");
        assert_ne!(b, a);
        // The folder of one and the id of the other: the earlier trial, as the scan chose.
        assert_eq!(e.trial_index("t2", "dir1"), a);
        // Renamed: the old folder names nobody now (a new trial), the new one the renamed trial.
        e.trials[b].logdir = "dir3".into();
        e.index_names(b);
        assert_eq!(e.trial_index("", "dir3"), b);
        assert_eq!(e.trial_index("", "dir2"), 2);
        assert_eq!(e.trials.len(), 3);
    }

    #[test]
    fn a_process_belongs_to_the_running_trial_not_a_finished_one_with_the_same_pid() {
        let mut tune = Tune::default();
        for (exp, id, status, it) in [("asha-sweep", "old", "TERMINATED", 20), ("asha-sweep-2", "new", "RUNNING", 3)] {
            let e = tune.experiment_mut(exp);
            let t = e.trial_mut(id, id);
            t.trial_id = id.into();
            t.status = status.into();
            t.iterations = it;
            t.pid = Some(4242);
            t.node_ip = Some("10.0.0.7".into());
        }
        let (e, t) = tune.trial_of_process(4242, "10.0.0.7").unwrap();
        assert_eq!(
            tune.experiments[e].trials[t].trial_id, "new",
            "the RUNNING trial, though the old one reported more"
        );
        assert_eq!(tune.trial_of_process(4242, "10.0.0.8"), None, "same pid on another node is another process");
        let index = tune.trials_by_process();
        assert_eq!(index.get(&(4242, "10.0.0.7")).copied(), tune.trial_of_process(4242, "10.0.0.7"), "the same choice");
        assert_eq!(index.get(&(4242, "10.0.0.8")), None);
    }
}
