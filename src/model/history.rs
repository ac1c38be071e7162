//! History from Prometheus: the series a view asked for over the chosen window, each with the
//! query that produced it (so `snapshot --json` keeps them reproducible). raytop keeps only the
//! latest answer of each query: Prometheus is the database.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use serde::Serialize;

pub use crate::msg::{HistoryTopic, HistoryUpdate};
pub use crate::wire::prometheus::{QueryResult, Series};

/// The windows the `w` key cycles through, in seconds.
pub const WINDOWS: [u64; 4] = [15 * 60, 3600, 6 * 3600, 24 * 3600];

pub use crate::wire::prometheus::{AUTOSCALER_QUERIES, CLUSTER_QUERIES, GPU_QUERIES, POINTS, SERVE_QUERIES};

/// The queries of a topic.
pub fn queries(topic: HistoryTopic) -> &'static [(&'static str, &'static str)] {
    topic.queries()
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
    /// (query, instance) → series index: a view finds each node's series without a scan, at
    /// 2,000 nodes too.
    #[serde(skip)]
    by_instance: HashMap<&'static str, HashMap<String, usize>>,
    /// Bumped by every answer: what is derived from the results is derived again when it moves.
    #[serde(skip)]
    revision: u64,
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
            by_instance: HashMap::new(),
            revision: 0,
        }
    }

    pub fn apply(&mut self, u: HistoryUpdate) {
        match u {
            HistoryUpdate::Answered { name, result, at } => {
                let index = result
                    .series
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.labels.get("instance").map(|inst| (inst.clone(), i)))
                    .collect();
                self.by_instance.insert(name, index);
                self.results.insert(name, result);
                self.revision += 1;
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

    /// Whether an update belongs here: from this source, and an answer over this window. One
    /// sent by a querier just replaced (`:prom`, `w`) can still be on its way.
    pub fn wants(&self, from: &str, update: &HistoryUpdate) -> bool {
        from == self.source
            && match update {
                HistoryUpdate::Answered { result, .. } => (result.end - result.start).round() as u64 == self.window_s,
                HistoryUpdate::Failed { .. } => true,
            }
    }

    /// The next window (15 min → 1 h → 6 h → 24 h → 15 min).
    pub fn cycle_window(&mut self) {
        let i = WINDOWS.iter().position(|w| *w == self.window_s).map_or(0, |i| (i + 1) % WINDOWS.len());
        self.window_s = WINDOWS[i];
        self.results.clear();
        self.by_instance.clear();
    }

    /// The points of query `name` for one application.
    pub fn of_app(&self, name: &str, app: &str) -> Option<&[(f64, f64)]> {
        self.of(name, "application", app)
    }

    /// The points of query `name` for the series whose `label` is `value`.
    pub fn of(&self, name: &str, label: &str, value: &str) -> Option<&[(f64, f64)]> {
        self.of_where(name, &[(label, value)])
    }

    /// The points of query `name` for one node (its `ip:metricsExportPort`).
    pub fn of_instance(&self, name: &'static str, instance: &str) -> Option<&[(f64, f64)]> {
        let i = *self.by_instance.get(name)?.get(instance)?;
        self.results.get(name)?.series.get(i).map(|s| s.points.as_slice())
    }

    /// The points of query `name` for the series whose labels have all these values.
    pub fn of_where(&self, name: &str, want: &[(&str, &str)]) -> Option<&[(f64, f64)]> {
        let r = self.results.get(name)?;
        r.series.iter().find(|s| want.iter().all(|(l, v)| s.label(l) == *v)).map(|s| s.points.as_slice())
    }

    /// The window of the answer to `name`, as (start, end) unix seconds.
    pub fn span(&self, name: &str) -> Option<(f64, f64)> {
        self.results.get(name).map(|r| (r.start, r.end))
    }

    /// Whether every query of `topic` was answered, and none with a single series: a Prometheus
    /// that does not scrape Ray (or scrapes another cluster under other names).
    pub fn answered_empty(&self, topic: HistoryTopic) -> bool {
        queries(topic).iter().all(|(name, _)| self.results.get(name).is_some_and(|r| r.series.is_empty()))
    }

    /// How long the GPU `uuid` has been below `threshold` percent busy at the end of the window,
    /// by its utilisation history: from the first point of the current idle run to the last
    /// point. `None` when it is busy at the end, or Prometheus has no series for it.
    pub fn idle_for(&self, uuid: &str, threshold: f64) -> Option<f64> {
        let points = self.of("gpu_util", "GpuUuid", uuid)?;
        let &(last_t, last_v) = points.iter().rev().find(|(_, v)| v.is_finite())?;
        if last_v >= threshold {
            return None;
        }
        let run_start = points
            .iter()
            .rev()
            .filter(|(_, v)| v.is_finite())
            .take_while(|(_, v)| *v < threshold)
            .last()
            .map_or(last_t, |p| p.0);
        Some(last_t - run_start)
    }
}

/// How buckets of a resampled series are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    Mean,
    /// The lowest value: a health series keeps its dips.
    Min,
}

/// The points over `[start, end]` in `width` equal buckets, combined; NaN where a bucket has no
/// point (the series did not exist then). So series of one window line up column by column.
pub fn buckets(points: &[(f64, f64)], (start, end): (f64, f64), width: usize, how: Combine) -> Vec<f64> {
    let mut acc = vec![(0.0_f64, 0_u32, f64::INFINITY); width];
    let span = (end - start).max(1.0);
    for &(t, v) in points.iter().filter(|(_, v)| v.is_finite()) {
        let i = (((t - start) / span) * width as f64).floor();
        if !(0.0..=width as f64).contains(&i) || width == 0 {
            continue;
        }
        let b = &mut acc[(i as usize).min(width - 1)];
        b.0 += v;
        b.1 += 1;
        b.2 = b.2.min(v);
    }
    acc.into_iter()
        .map(|(sum, n, min)| match (n, how) {
            (0, _) => f64::NAN,
            (_, Combine::Mean) => sum / f64::from(n),
            (_, Combine::Min) => min,
        })
        .collect()
}

/// A group's nodes over the window, combined when the history or the groups change, never
/// while drawing (a 2,000-node group is 2,000 series).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupSeries {
    /// Host CPU busy, averaged over the nodes that have a point then.
    pub cpu_pct: Vec<(f64, f64)>,
    /// Host memory used, averaged likewise.
    pub mem_pct: Vec<(f64, f64)>,
    /// Logical CPUs used, added up.
    pub cpu_used: Vec<(f64, f64)>,
}

impl History {
    /// Changes with every answer (and differs between two histories' answers only by chance: a
    /// new history starts at 0, as one with no answer yet).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The series of a group's nodes (those with a known metrics port), combined.
    pub fn group_series(&self, grp: &super::cluster::Group) -> GroupSeries {
        let of = |name: &'static str| {
            grp.nodes
                .iter()
                .filter(|n| !n.metrics_instance.is_empty())
                .filter_map(move |n| self.of_instance(name, &n.metrics_instance))
        };
        GroupSeries {
            cpu_pct: mean_series(of("cpu_pct")),
            mem_pct: mean_series(of("mem_pct")),
            cpu_used: sum_series(of("cpu_used")),
        }
    }
}

/// Series of one window added point by point (a group's nodes), by timestamp.
pub fn sum_series<'a>(all: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Vec<(f64, f64)> {
    by_timestamp(all).into_iter().map(|(t, (sum, _))| (t, sum)).collect()
}

/// Series of one window averaged point by point over those that have a point then.
pub fn mean_series<'a>(all: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Vec<(f64, f64)> {
    by_timestamp(all).into_iter().map(|(t, (sum, n))| (t, sum / f64::from(n))).collect()
}

/// (sum, count) of the finite points at each timestamp.
fn by_timestamp<'a>(all: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Vec<(f64, (f64, u32))> {
    let mut by_t: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for points in all {
        for &(t, v) in points.iter().filter(|(_, v)| v.is_finite()) {
            let e = by_t.entry((t * 1000.0).round() as i64).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    by_t.into_iter().map(|(ms, e)| (ms as f64 / 1000.0, e)).collect()
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

    #[test]
    fn answers_of_a_left_source_or_window_are_not_wanted() {
        let mut h = History::new("http://p".into());
        let answer = |start: f64, end: f64| HistoryUpdate::Answered {
            name: "requests_per_s",
            result: QueryResult { query: "q".into(), start, end, step: 7, series: Vec::new() },
            at: SystemTime::UNIX_EPOCH,
        };
        assert!(h.wants("http://p", &answer(100.0, 1000.0)), "15 min, this source");
        assert!(!h.wants("http://old", &answer(100.0, 1000.0)), "the source before :prom");
        h.cycle_window();
        assert!(!h.wants("http://p", &answer(100.0, 1000.0)), "the 15 min answer after w chose 1 h");
        assert!(h.wants("http://p", &answer(0.0, 3600.0)));
        assert!(h.wants("http://p", &HistoryUpdate::Failed { error: "down".into(), at: SystemTime::UNIX_EPOCH }));
    }

    fn gpu_history(points: Vec<(f64, f64)>) -> History {
        let mut h = History::new("http://p".into());
        let series = vec![Series { labels: [("GpuUuid".to_string(), "GPU-1".to_string())].into(), points }];
        let result = QueryResult { query: "q".into(), start: 0.0, end: 100.0, step: 10, series };
        h.apply(HistoryUpdate::Answered { name: "gpu_util", result, at: SystemTime::UNIX_EPOCH });
        h
    }

    #[test]
    fn idle_time_is_the_last_run_below_the_threshold() {
        let h = gpu_history(vec![(0.0, 80.0), (10.0, 90.0), (20.0, 1.0), (30.0, f64::NAN), (40.0, 0.0), (90.0, 2.0)]);
        assert_eq!(h.idle_for("GPU-1", 5.0), Some(70.0), "from 20 s to 90 s");
        assert_eq!(h.idle_for("GPU-2", 5.0), None, "no series");
        let busy = gpu_history(vec![(0.0, 1.0), (10.0, 50.0)]);
        assert_eq!(busy.idle_for("GPU-1", 5.0), None, "busy at the end");
        let always = gpu_history(vec![(0.0, 1.0), (10.0, 0.0)]);
        assert_eq!(always.idle_for("GPU-1", 5.0), Some(10.0), "idle over the whole window");
    }

    #[test]
    fn buckets_line_up_and_keep_dips() {
        let pts = [(0.0, 1.0), (10.0, 1.0), (50.0, 0.0), (55.0, 1.0)];
        let b = buckets(&pts, (0.0, 100.0), 4, Combine::Min);
        assert_eq!(b[0], 1.0);
        assert!(b[1].is_nan(), "no point in 25..50: absent");
        assert_eq!(b[2], 0.0, "the dip wins over the 1 in the same bucket");
        assert!(b[3].is_nan());
        let m = buckets(&pts, (0.0, 100.0), 2, Combine::Mean);
        assert_eq!(m, vec![1.0, 0.5]);
        assert_eq!(sum_series([&pts[..2], &pts[1..3]]), vec![(0.0, 1.0), (10.0, 2.0), (50.0, 0.0)]);
        assert_eq!(mean_series([&pts[..2], &pts[1..3]]), vec![(0.0, 1.0), (10.0, 1.0), (50.0, 0.0)]);
    }
}
