//! History from Prometheus: the series a view asked for over the chosen window, each with the
//! query that produced it (so `snapshot --json` keeps them reproducible). raytop keeps only the
//! latest answer of each query: Prometheus is the database.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

pub use crate::msg::{HistoryTopic, HistoryUpdate};
pub use crate::wire::prometheus::{QueryResult, Series};

/// The windows the `w` key cycles through, in seconds.
pub const WINDOWS: [u64; 4] = [15 * 60, 3600, 6 * 3600, 24 * 3600];

/// Points per series a range query asks for: the step is the window divided by this.
pub const POINTS: u64 = 120;

/// What the Serve view shows per application, as Ray 2.60 exports it (names read from the lab).
pub const SERVE_QUERIES: [(&str, &str); 5] = [
    ("requests_per_s", "sum by (application) (rate(ray_serve_num_http_requests_total[1m]))"),
    ("errors_per_s", "sum by (application) (rate(ray_serve_num_http_requests_total{status_code=~\"[45]..\"}[1m]))"),
    (
        "p50_ms",
        "histogram_quantile(0.5, sum by (application, le) (rate(ray_serve_http_request_latency_ms_bucket[1m])))",
    ),
    (
        "p99_ms",
        "histogram_quantile(0.99, sum by (application, le) (rate(ray_serve_http_request_latency_ms_bucket[1m])))",
    ),
    ("replicas_healthy", "sum by (application) (ray_serve_deployment_replica_healthy)"),
];

/// What the Autoscaler view shows per worker group (`NodeType`), as the autoscaler exports it.
pub const AUTOSCALER_QUERIES: [(&str, &str); 2] = [
    ("active_nodes", "sum by (NodeType) (autoscaler_active_nodes)"),
    ("pending_nodes", "sum by (NodeType) (autoscaler_pending_nodes)"),
];

/// The queries of a topic.
pub fn queries(topic: HistoryTopic) -> &'static [(&'static str, &'static str)] {
    match topic {
        HistoryTopic::Serve => &SERVE_QUERIES,
        HistoryTopic::Autoscaler => &AUTOSCALER_QUERIES,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// Where it comes from (`--prometheus URL`).
    pub source: String,
    pub window_s: u64,
    pub results: BTreeMap<&'static str, QueryResult>,
    #[serde(skip)]
    pub answered_at: Option<SystemTime>,
    pub error: Option<String>,
    #[serde(skip)]
    pub failing_since: Option<SystemTime>,
}

impl History {
    pub fn new(source: String) -> History {
        History {
            source,
            window_s: WINDOWS[0],
            results: BTreeMap::new(),
            answered_at: None,
            error: None,
            failing_since: None,
        }
    }

    pub fn apply(&mut self, u: HistoryUpdate) {
        match u {
            HistoryUpdate::Answered { name, result, at } => {
                self.results.insert(name, result);
                self.answered_at = Some(at);
                self.error = None;
                self.failing_since = None;
            }
            HistoryUpdate::Failed { error, at } => {
                if self.error.is_none() {
                    self.failing_since = Some(at);
                }
                self.error = Some(error);
            }
        }
    }

    /// The next window (15 min → 1 h → 6 h → 24 h → 15 min).
    pub fn cycle_window(&mut self) {
        let i = WINDOWS.iter().position(|w| *w == self.window_s).map_or(0, |i| (i + 1) % WINDOWS.len());
        self.window_s = WINDOWS[i];
        self.results.clear();
    }

    /// The points of query `name` for one application.
    pub fn of_app(&self, name: &str, app: &str) -> Option<&[(f64, f64)]> {
        self.of(name, "application", app)
    }

    /// The points of query `name` for the series whose `label` is `value`.
    pub fn of(&self, name: &str, label: &str, value: &str) -> Option<&[(f64, f64)]> {
        let r = self.results.get(name)?;
        r.series.iter().find(|s| s.label(label) == value).map(|s| s.points.as_slice())
    }
}

/// The window's name as the footer shows it.
pub fn window_label(secs: u64) -> String {
    if secs >= 3600 { format!("{}h", secs / 3600) } else { format!("{}m", secs / 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_cycles_and_a_failure_keeps_the_last_answer() {
        let mut h = History::new("http://p".into());
        let seen: Vec<String> = (0..5)
            .map(|_| {
                let l = window_label(h.window_s);
                h.cycle_window();
                l
            })
            .collect();
        assert_eq!(seen, ["15m", "1h", "6h", "24h", "15m"]);
        let t0 = SystemTime::UNIX_EPOCH;
        let series =
            vec![Series { labels: [("application".to_string(), "demo".to_string())].into(), points: vec![(1.0, 2.0)] }];
        let result = QueryResult { query: "q".into(), start: 0.0, end: 1.0, step: 15, series };
        h.apply(HistoryUpdate::Answered { name: "requests_per_s", result, at: t0 });
        h.apply(HistoryUpdate::Failed { error: "down".into(), at: t0 });
        assert_eq!(h.of_app("requests_per_s", "demo"), Some(&[(1.0, 2.0)][..]), "kept");
        assert_eq!((h.error.as_deref(), h.failing_since), (Some("down"), Some(t0)));
    }
}
