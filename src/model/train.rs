//! Ray Train runs as the Jobs view shows them: each run with its status and attempts, and each
//! worker of an attempt with its rank, node, process and GPUs. Folded from the dashboard's
//! Train V2 answer (`wire::train`).

use serde::Serialize;

use crate::wire::train::{TrainAttempt, TrainRunsResponse, TrainWorker};

/// What the dashboard says of Train runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Train {
    /// Newest first, as the dashboard sends them.
    pub runs: Vec<TrainRun>,
    /// Why there are none to show: state tracking is off (no run turned it on), or Train is not
    /// installed on the head. None once the dashboard answered with runs (or none yet).
    pub not_tracked: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrainRun {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_detail: String,
    /// Unix seconds.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    /// The Ray job that drives it: its submission id, else its job id.
    pub job: String,
    /// Oldest first; the last is the current one.
    pub attempts: Vec<Attempt>,
    /// What Enter shows: scaling, failure, checkpoint and storage settings as `key = value`.
    pub settings: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attempt {
    pub attempt_id: String,
    pub status: String,
    pub status_detail: String,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub workers: Vec<Worker>,
    /// The ranks whose error ended this attempt, as the controller names them in its detail
    /// (`[Rank 1 Error Snippet]:`): the worker that died, where the others were torn down.
    pub failed_ranks: Vec<i64>,
}

/// One Train worker, named as Ray names its fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Worker {
    pub world_rank: i64,
    pub local_rank: i64,
    pub node_rank: i64,
    pub node_id: String,
    pub node_ip: String,
    pub pid: Option<i64>,
    pub actor_id: String,
    pub gpu_ids: Vec<i64>,
    /// ALIVE or DEAD.
    pub status: String,
    pub cpu_percent: Option<f64>,
    pub rss_bytes: Option<f64>,
    /// Ray Train's structured log of this worker, relative to the node's log folder.
    pub log_file_path: Option<String>,
}

fn secs(ns: Option<i64>) -> Option<f64> {
    ns.filter(|n| *n > 0).map(|n| n as f64 / 1e9)
}

impl Train {
    pub fn from_response(r: &TrainRunsResponse) -> Train {
        let runs = r
            .train_runs
            .iter()
            .map(|run| TrainRun {
                id: run.id.clone(),
                name: run.name.clone(),
                status: run.status.clone(),
                status_detail: run.status_detail.clone().unwrap_or_default(),
                start_time: secs(run.start_time_ns),
                end_time: secs(run.end_time_ns),
                job: run
                    .job_details
                    .as_ref()
                    .and_then(|j| j.submission_id.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| run.job_id.clone()),
                attempts: run.attempts.iter().map(attempt).collect(),
                settings: run.run_settings.as_ref().map(settings).unwrap_or_default(),
            })
            .collect();
        Train { runs, not_tracked: None }
    }

    pub fn untracked(reason: String) -> Train {
        Train { runs: Vec::new(), not_tracked: Some(reason) }
    }
}

fn attempt(a: &TrainAttempt) -> Attempt {
    let mut workers: Vec<Worker> = a.workers.iter().map(worker).collect();
    workers.sort_by_key(|w| w.world_rank);
    let status_detail = a.status_detail.clone().unwrap_or_default();
    Attempt {
        attempt_id: a.attempt_id.clone(),
        status: a.status.clone(),
        failed_ranks: failed_ranks(&status_detail),
        status_detail,
        start_time: secs(a.start_time_ns),
        end_time: secs(a.end_time_ns),
        workers,
    }
}

/// The ranks named by `[Rank N Error Snippet]` in an attempt's detail, in order, once each.
fn failed_ranks(detail: &str) -> Vec<i64> {
    let mut ranks = Vec::new();
    for part in detail.split("[Rank ").skip(1) {
        let Some((n, rest)) = part.split_once(' ') else { continue };
        if let (true, Ok(n)) = (rest.starts_with("Error Snippet]"), n.parse::<i64>())
            && !ranks.contains(&n)
        {
            ranks.push(n);
        }
    }
    ranks
}

fn worker(w: &TrainWorker) -> Worker {
    let stats = w.process_stats.as_ref();
    Worker {
        world_rank: w.world_rank,
        local_rank: w.local_rank,
        node_rank: w.node_rank,
        node_id: w.node_id.clone(),
        node_ip: w.node_ip.clone(),
        pid: w.pid,
        actor_id: w.actor_id.clone(),
        gpu_ids: w.gpu_ids.clone(),
        status: w.status.clone(),
        cpu_percent: stats.and_then(|s| s.cpu_percent),
        rss_bytes: stats.and_then(|s| s.memory_info.as_ref()).and_then(|m| m.rss),
        log_file_path: w.log_file_path.clone().filter(|p| !p.is_empty()),
    }
}

/// The settings a user set a run up with, flattened to `section.key = value`, leaving out what
/// is empty (nulls, empty lists and objects); the loop's own config last.
fn settings(v: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Object(m) if m.is_empty() => {}
            serde_json::Value::Array(a) if a.is_empty() => {}
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    // What a run was set up with; `data_config` (Ray Data's execution defaults, 20 lines of
    // "inf") is left out.
    const ORDER: [&str; 5] = ["scaling_config", "run_config", "backend_config", "datasets", "train_loop_config"];
    for section in ORDER {
        if let Some(s) = v.get(section) {
            walk(section, s, &mut out);
        }
    }
    out
}

impl TrainRun {
    pub fn current(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// The attempt whose workers are listed: the newest that has workers (a new attempt has
    /// none while it is scheduled, and the one before says who died).
    pub fn shown_attempt(&self) -> Option<usize> {
        self.attempts.iter().rposition(|a| !a.workers.is_empty())
    }

    /// How long it ran, or has been running at `now` (unix seconds).
    pub fn duration(&self, now: f64) -> Option<f64> {
        let start = self.start_time?;
        Some((self.end_time.unwrap_or(now) - start).max(0.0))
    }

    /// Whether the run has not ended.
    pub fn is_active(&self) -> bool {
        !matches!(self.status.as_str(), "FINISHED" | "ERRORED" | "ABORTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::dashboard::{DashData, Endpoint, parse};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/dashboard/train/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    fn train(name: &str) -> Train {
        match parse(Endpoint::TrainRuns, &fixture(name)).unwrap() {
            DashData::TrainRuns(r) => Train::from_response(&r),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn before_any_tracked_run_the_head_says_how_to_turn_tracking_on() {
        let body = String::from_utf8(fixture("untracked")).unwrap();
        let why = crate::wire::train::untracked_reason(500, &body).unwrap();
        assert!(why.contains("RAY_TRAIN_ENABLE_STATE_TRACKING=1"), "{why}");
        // Positive control: another 500 is a fault, not this.
        assert_eq!(crate::wire::train::untracked_reason(500, "Server got itself in trouble"), None);
        assert_eq!(crate::wire::train::untracked_reason(200, &body), None);
        assert!(crate::wire::train::untracked_reason(404, "Not Found").is_some_and(|w| w.contains("2.44")));
    }

    #[test]
    fn a_running_run_lists_its_ranks_and_its_settings() {
        let t = train("running");
        let [run] = &t.runs[..] else { panic!("{t:?}") };
        assert_eq!((run.name.as_str(), run.status.as_str(), run.attempts.len()), ("fixture-run", "RUNNING", 1));
        assert!(run.job.starts_with("raysubmit_"), "the submission id: {}", run.job);
        let ranks: Vec<(i64, &str)> =
            run.attempts[0].workers.iter().map(|w| (w.world_rank, w.status.as_str())).collect();
        assert_eq!(ranks, [(0, "ALIVE"), (1, "ALIVE")]);
        assert!(run.attempts[0].workers.iter().all(|w| w.pid.is_some() && !w.actor_id.is_empty()));
        let get = |k: &str| run.settings.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("scaling_config.num_workers"), Some("2"));
        assert_eq!(get("run_config.failure_config.max_failures"), Some("1"));
        assert_eq!(get("scaling_config.resources_per_worker.CPU"), Some("0.25"));
        assert!(run.settings.iter().all(|(k, _)| !k.starts_with("data_config")), "{:?}", run.settings);
        assert!(run.is_active());
    }

    #[test]
    fn a_killed_worker_is_named_by_the_attempt_it_ended() {
        let t = train("killed");
        let run = &t.runs[0];
        assert_eq!(run.status, "SCHEDULING");
        let [first, second] = &run.attempts[..] else { panic!("{:?}", run.attempts) };
        assert_eq!((first.status.as_str(), first.failed_ranks.as_slice()), ("ERRORED", &[1][..]));
        assert!(first.workers.iter().all(|w| w.status == "DEAD"), "the group is torn down");
        assert!(second.workers.is_empty(), "{second:?}");
        assert_eq!(run.shown_attempt(), Some(0), "the attempt that says who died");
        // Restarted: the new attempt's workers, new processes.
        let t = train("restarted");
        let run = &t.runs[0];
        assert_eq!((run.status.as_str(), run.shown_attempt()), ("RUNNING", Some(1)));
        let pids = |a: usize| run.attempts[a].workers.iter().map(|w| w.pid).collect::<Vec<_>>();
        assert_ne!(pids(0), pids(1));
        assert!(run.attempts[1].failed_ranks.is_empty());
        let t = train("finished");
        assert_eq!((t.runs[0].status.as_str(), t.runs[0].is_active()), ("FINISHED", false));
        assert!(t.runs[0].end_time.is_some());
    }

    #[test]
    fn failed_ranks_are_read_once_each_and_only_from_snippet_headers() {
        let d = "[Rank 3 Error Snippet]:\nboom\n[Rank 0 Error Snippet]:\n[Rank 3 Error Snippet]:\n[Rank x Error Snippet]\n[Rank 2 other]";
        assert_eq!(failed_ranks(d), [3, 0]);
        assert!(failed_ranks("").is_empty());
    }
}
