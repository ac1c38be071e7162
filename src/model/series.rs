//! A metric's history in bounded memory: recent points at full resolution, older ones thinned.
//!
//! A trial can report for days; keeping every value of every metric grows without limit. A
//! `Series` keeps at most `cap` points. When full, every other point of its older three quarters
//! is dropped, so the recent quarter stays exact (the sparkline), the span from the first report
//! stays covered (the detail chart), and the extremes are tracked apart so `best` stays exact.

/// Points kept for the experiment's metric (the sparkline and the detail chart).
pub const METRIC_POINTS: usize = 512;
/// Points kept for every other numeric series: enough to show one if it becomes the metric.
pub const OTHER_POINTS: usize = 32;
/// Numeric series kept per trial; a result row's further keys are not recorded.
pub const MAX_SERIES: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct Series {
    /// (iteration, value), iterations increasing; NaN where a row lacked the metric.
    points: Vec<(u64, f64)>,
    min: Option<f64>,
    max: Option<f64>,
}

impl Series {
    /// Appends the value of `iteration`, keeping at most `cap` points (at least 4).
    pub fn push(&mut self, iteration: u64, value: f64, cap: usize) {
        if value.is_finite() {
            self.min = Some(self.min.map_or(value, |m| m.min(value)));
            self.max = Some(self.max.map_or(value, |m| m.max(value)));
        }
        let cap = cap.max(4);
        if self.points.len() >= cap {
            self.thin(cap);
        }
        self.points.push((iteration, value));
    }

    /// Drops every other point of the older three quarters, until under `cap`.
    fn thin(&mut self, cap: usize) {
        while self.points.len() >= cap {
            let keep_exact = self.points.len() / 4;
            let old = self.points.len() - keep_exact;
            let mut i = 0usize;
            self.points.retain(|_| {
                let keep = i >= old || i.is_multiple_of(2);
                i += 1;
                keep
            });
        }
    }

    pub fn points(&self) -> &[(u64, f64)] {
        &self.points
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The value reported at `iteration`, when it is still kept.
    pub fn at(&self, iteration: u64) -> Option<f64> {
        let i = self.points.binary_search_by_key(&iteration, |p| p.0).ok()?;
        Some(self.points[i].1)
    }

    /// The last value, NaN included (a metric that just went NaN must show).
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }

    /// The smallest and largest finite values ever pushed, thinned ones included.
    pub fn extremes(&self) -> Option<(f64, f64)> {
        Some((self.min?, self.max?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_stays_bounded_keeps_the_recent_points_exact_and_the_extremes() {
        let mut s = Series::default();
        for it in 1..=1_000_000u64 {
            s.push(it, it as f64, 512);
        }
        assert!(s.len() < 512, "{}", s.len());
        assert_eq!(s.points().first().map(|p| p.0), Some(1), "the first report stays");
        let recent: Vec<u64> = s.points().iter().rev().take(100).map(|p| p.0).collect();
        assert_eq!(recent, (999_901..=1_000_000).rev().collect::<Vec<_>>());
        assert_eq!(s.extremes(), Some((1.0, 1_000_000.0)));
        assert_eq!(s.at(1_000_000), Some(1_000_000.0));
        assert!(s.points().windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn nan_shows_as_last_but_not_in_the_extremes() {
        let mut s = Series::default();
        s.push(1, 0.5, 8);
        s.push(2, f64::NAN, 8);
        assert!(s.last().unwrap().is_nan());
        assert_eq!(s.extremes(), Some((0.5, 0.5)));
        assert_eq!(s.at(1), Some(0.5));
        assert_eq!(s.at(3), None);
    }
}
