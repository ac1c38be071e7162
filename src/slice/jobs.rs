//! The Jobs view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists: the dashboard's jobs, newest first, then RayJobs.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(c) = c {
        for (j, job) in c.jobs.iter().enumerate() {
            if matches(o.filter, &[&job.id, &job.status, &job.entrypoint, &job.kind]) {
                rows.push(Row::DashJob { j });
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
pub const SLICE: Slice =
    Slice { view: View::Jobs, interest: Interest { jobs: true, ..Interest::ACTIVE }, hints: &[], rows };
