//! Ray Train V2 runs as the dashboard serves them: `GET /api/train/v2/runs/v1` (the V2 route,
//! despite its name; `/api/train/v2/runs` is V1's), `{"train_runs": [...]}`, newest first.
//! Pydantic's snake_case with two camelCase fields (`processStats`, `gpus`). Parsed leniently:
//! `run_settings` and `framework_versions` are absent before 2.60, `log_file_path` optional.

use serde::Deserialize;

use super::lenient::null_as_default;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainRunsResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub train_runs: Vec<TrainRun>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainRun {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub controller_actor_id: String,
    /// INITIALIZING, SCHEDULING, RUNNING, RESTARTING, RESIZING, FINISHED, ERRORED, ABORTED.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub status_detail: Option<String>,
    /// Nanoseconds since the epoch.
    pub start_time_ns: Option<i64>,
    pub end_time_ns: Option<i64>,
    #[serde(deserialize_with = "null_as_default")]
    pub attempts: Vec<TrainAttempt>,
    /// Kept as JSON: its shape grew across versions, and Enter shows it as settings.
    pub run_settings: Option<serde_json::Value>,
    pub job_details: Option<TrainJobDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainJobDetails {
    pub submission_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainAttempt {
    #[serde(deserialize_with = "null_as_default")]
    pub attempt_id: String,
    /// PENDING, RUNNING, FINISHED, ERRORED, ABORTED.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub status_detail: Option<String>,
    pub start_time_ns: Option<i64>,
    pub end_time_ns: Option<i64>,
    #[serde(deserialize_with = "null_as_default")]
    pub workers: Vec<TrainWorker>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainWorker {
    pub world_rank: i64,
    pub local_rank: i64,
    pub node_rank: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub actor_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub node_ip: String,
    pub pid: Option<i64>,
    #[serde(deserialize_with = "null_as_default")]
    pub gpu_ids: Vec<i64>,
    /// ALIVE or DEAD, from the GCS.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub log_file_path: Option<String>,
    #[serde(rename = "processStats")]
    pub process_stats: Option<ProcessStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProcessStats {
    #[serde(rename = "cpuPercent")]
    pub cpu_percent: Option<f64>,
    #[serde(rename = "memoryInfo")]
    pub memory_info: Option<MemoryInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MemoryInfo {
    pub rss: Option<f64>,
}

/// The head's answer when no run has turned state tracking on (no state actor), or Train is not
/// installed: a 500 whose text says so; or a Ray older than the route: a 404. Not a fault of
/// the dashboard: the screen says why there are no runs, and how to turn tracking on.
pub fn untracked_reason(status: u16, body: &str) -> Option<String> {
    // Before 2.44 the route is not there at all.
    if status == 404 {
        return Some("this Ray serves no Train V2 runs (the route came with Ray 2.44)".into());
    }
    if status != 500 {
        return None;
    }
    if body.contains("Train state data is not available") {
        return Some(
            "Train runs are not tracked on this cluster: set RAY_TRAIN_ENABLE_STATE_TRACKING=1 in the \
             driver's environment (on KubeRay: the head container's env, or the RayJob's)"
                .into(),
        );
    }
    if body.contains("Train is not installed") {
        return Some("Ray Train is not installed on the head (pip install ray[train])".into());
    }
    None
}
