//! The rows each view lists, derived from the model when it, the filter or the folds change, so
//! drawing only reads them. Rows hold indices into the model, not copies.

use std::collections::BTreeSet;

use std::cmp::Ordering;

use crate::keys::{Fold, ObjectKey};
use crate::model::tune::{Experiment, Trial};
use crate::view::TuneUi;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// Cluster view: group `g`, and the folded-away dead node count when there are some.
    Group {
        g: usize,
    },
    Node {
        g: usize,
        n: usize,
    },
    DeadFolded {
        g: usize,
        count: usize,
    },
    /// Autoscaler view: event `e` (the timeline is listed newest first).
    Event {
        e: usize,
    },
    /// Serve view.
    App {
        a: usize,
        name: String,
    },
    Deployment {
        a: usize,
        d: usize,
    },
    Replica {
        a: usize,
        d: usize,
        r: usize,
    },
    /// Tune view: trial `t` of experiment `e`, at leaderboard rank `rank` (1 = best).
    Trial {
        e: usize,
        t: usize,
        rank: usize,
    },
    /// GPU view: a GPU-bearing node, one of its physical GPUs, an actor holding its GPUs.
    GpuNode {
        n: usize,
    },
    GpuDevice {
        n: usize,
        d: usize,
    },
    GpuHolder {
        n: usize,
        h: usize,
    },
    /// Kubernetes view: a RayCluster, one of its groups, one of that group's pods; a RayJob; a
    /// RayService.
    K8sCluster {
        c: usize,
    },
    K8sGroup {
        c: usize,
        g: usize,
    },
    K8sPod {
        c: usize,
        g: usize,
        p: usize,
    },
    RayJob {
        j: usize,
    },
    /// Jobs view: a job the dashboard lists; a Ray Train run, and worker `w` of its attempt `a`.
    DashJob {
        j: usize,
    },
    TrainRun {
        r: usize,
    },
    TrainWorker {
        r: usize,
        a: usize,
        w: usize,
    },
    RayService {
        s: usize,
    },
}

/// What shapes the rows besides the model.
pub struct Options<'a> {
    pub filter: &'a str,
    pub show_dead: bool,
    pub folded: &'a BTreeSet<Fold>,
    pub tune: &'a TuneUi,
    pub experiment: usize,
    pub k8s: &'a crate::model::k8s::K8s,
    /// RayClusters opened up.
    pub expanded: &'a BTreeSet<ObjectKey>,
}

/// The leaderboard's fixed sortable columns; hyperparameters follow.
pub const TUNE_SORTS: [&str; 6] = ["best", "last", "iter", "time", "status", "trial"];

/// A total order on optional numbers, greater first: NaN and absent values last, so a sort is
/// well defined whatever a result file holds (`partial_cmp` on NaN is not an order).
fn desc_total(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a.filter(|v| !v.is_nan()), b.filter(|v| !v.is_nan())) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Compares by the metric, better first for the mode; trials without a value go last.
fn by_metric(a: Option<f64>, b: Option<f64>, e: &Experiment) -> Ordering {
    match (a.filter(|v| v.is_finite()), b.filter(|v| v.is_finite())) {
        (Some(x), Some(y)) => {
            let o = x.total_cmp(&y);
            if e.mode == crate::model::tune::Mode::Min { o } else { o.reverse() }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn json_cmp(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> Ordering {
    match (a.and_then(serde_json::Value::as_f64), b.and_then(serde_json::Value::as_f64)) {
        (Some(x), Some(y)) => desc_total(Some(y), Some(x)),
        _ => a.map(ToString::to_string).cmp(&b.map(ToString::to_string)),
    }
}

pub fn trial_order(e: &Experiment, sort: usize, x: &Trial, y: &Trial) -> Ordering {
    match sort {
        0 => by_metric(x.best, y.best, e),
        1 => by_metric(x.last, y.last, e),
        2 => y.iterations.cmp(&x.iterations),
        3 => desc_total(x.run_time_s, y.run_time_s),
        4 => x.status.cmp(&y.status),
        5 => x.trial_id.cmp(&y.trial_id),
        n => e.params.get(n - TUNE_SORTS.len()).map_or(Ordering::Equal, |p| json_cmp(x.config.get(p), y.config.get(p))),
    }
    .then_with(|| x.trial_id.cmp(&y.trial_id))
}

impl Row {
    /// What folding this row folds (a group or an application, by name, so a fold stays with
    /// its group when groups reorder).
    pub fn fold_key(&self, c: Option<&crate::model::Dashboard>) -> Option<Fold> {
        match self {
            Row::App { name, .. } => Some(Fold::App(name.clone())),
            Row::Group { g } => c?.groups.get(*g).map(|grp| Fold::Group(grp.name.clone())),
            _ => None,
        }
    }
}

/// Whether any of the fields contains the filter, ignoring case (an empty filter matches).
pub fn matches(filter: &str, fields: &[&str]) -> bool {
    filter.is_empty() || {
        let f = filter.to_lowercase();
        fields.iter().any(|s| s.to_lowercase().contains(&f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tune::Tune;
    use crate::msg::TuneUpdate;
    use crate::wire::tune::ResultRow;

    /// `partial_cmp` called NaN equal to everything, so numbers around a NaN stayed unsorted
    /// (and `sort_by` may panic on such an order).
    #[test]
    fn sorting_by_time_with_nan_and_missing_values_is_a_total_order() {
        let mut tune = Tune::default();
        for i in 0..40u32 {
            let time = match i % 4 {
                0 => "NaN".to_string(),
                1 => format!("{}", (i * 7919) % 101),
                2 => "Infinity".to_string(),
                _ => format!("{}.5", (i * 104_729) % 97),
            };
            let line = format!(
                r#"{{"trial_id": "t{i:02}", "training_iteration": 1, "loss": {time}, "time_total_s": {time}}}"#
            );
            let rows = vec![ResultRow::parse(&line).unwrap()];
            tune.apply(TuneUpdate::Results {
                experiment: "e".into(),
                trial_dir: format!("t{i:02}"),
                reset: false,
                rows,
            });
        }
        tune.apply(TuneUpdate::Pass { bytes: 0, at: std::time::SystemTime::UNIX_EPOCH });
        let e = &tune.experiments[0];
        for sort in [0, 1, 3] {
            let mut order: Vec<&Trial> = e.trials.iter().collect();
            order.sort_by(|a, b| trial_order(e, sort, a, b));
            let key = |t: &Trial| match sort {
                3 => t.run_time_s,
                0 => t.best,
                _ => t.last,
            };
            let values: Vec<f64> = order.iter().filter_map(|t| key(t)).collect();
            // Time ranks infinity as a number; the metric counts only finite values.
            let ranked = |v: &f64| if sort == 3 { !v.is_nan() } else { v.is_finite() };
            let numbers: Vec<f64> = values.iter().copied().take_while(ranked).collect();
            assert!(values[numbers.len()..].iter().all(|v| !ranked(v)), "sort {sort}: unranked last: {values:?}");
            let ordered = |w: &[f64]| if sort == 3 { w[0] >= w[1] } else { w[0] <= w[1] };
            assert!(numbers.windows(2).all(ordered), "sort {sort}: {numbers:?}");
        }
    }
}
