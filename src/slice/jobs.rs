//! The Jobs view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists: the dashboard's jobs, newest first, its Train runs with their
/// workers, then RayJobs.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(c) = c {
        for (j, job) in c.jobs.iter().enumerate() {
            if matches(o.filter, &[&job.id, &job.status, &job.entrypoint, &job.kind]) {
                rows.push(Row::DashJob { j });
            }
        }
        // Each Train run, then the workers of its newest attempt that has some.
        for (r, run) in c.train.runs.iter().enumerate() {
            if !matches(o.filter, &[&run.name, &run.status, &run.job, &run.id]) {
                continue;
            }
            rows.push(Row::TrainRun { r });
            if let Some(a) = run.shown_attempt() {
                rows.extend((0..run.attempts[a].workers.len()).map(|w| Row::TrainWorker { r, a, w }));
            }
        }
    }
    for (j, job) in o.k8s.jobs.iter().enumerate() {
        if matches(o.filter, &[&job.name, &job.namespace, &job.job_status, &job.cluster]) {
            rows.push(Row::RayJob { j });
        }
    }
    rows
}

/// The Jobs view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Jobs,
    interest: Interest { jobs: true, ..Interest::ACTIVE },
    hints: &[(crate::config::Command::RunDetail, "run detail")],
    rows,
};
