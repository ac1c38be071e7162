//! The Tune view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::config::Command as C;
use crate::model::Dashboard;
use crate::model::tune::EARLIER_RUN;
use crate::msg::Interest;
use crate::rows::trial_order;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists, in order.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let filter = o.filter;
    let mut rows = Vec::new();
    let Some(e) = c.tune.experiments.get(o.experiment) else { return rows };
    // Rank is by best value whatever the sort, so "rank 1" always means the leader.
    // An earlier run's trials have no rank in this one (0, drawn as "-").
    let earlier = |t: usize| e.trials[t].status == EARLIER_RUN;
    let mut by_best: Vec<usize> = (0..e.trials.len()).filter(|t| !earlier(*t)).collect();
    by_best.sort_by(|a, b| trial_order(e, 0, &e.trials[*a], &e.trials[*b]));
    let mut rank = vec![0; e.trials.len()];
    for (r, t) in by_best.iter().enumerate() {
        rank[*t] = r + 1;
    }
    let mut order: Vec<usize> = (0..e.trials.len())
        .filter(|t| o.tune.status.is_none_or(|s| e.trials[*t].status == s))
        .filter(|t| {
            let tr = &e.trials[*t];
            filter.is_empty() || {
                let config = serde_json::to_string(&tr.config).unwrap_or_default();
                matches(filter, &[&tr.trial_id, &tr.status, &config, tr.node_ip.as_deref().unwrap_or_default()])
            }
        })
        .collect();
    order.sort_by(|a, b| trial_order(e, o.tune.sort, &e.trials[*a], &e.trials[*b]));
    if o.tune.descending {
        order.reverse();
    }
    // Apart: the current run's trials first, whatever the sort.
    order.sort_by_key(|t| earlier(*t));
    rows.extend(order.into_iter().map(|t| Row::Trial { e: o.experiment, t, rank: rank[t] }));
    rows
}

/// The Tune view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Tune,
    // Trials are read from disk; the dashboard adds the actor behind each trial.
    interest: Interest { nodes: true, actors: true, tune: true, ..Interest::ACTIVE },
    hints: &[
        (C::TrialDetail, "detail"),
        (C::SortNext, "sort"),
        (C::StatusFilter, "status"),
        (C::CancelTrial, "cancel"),
        (C::NextExperiment, "exp"),
    ],
    rows,
};
