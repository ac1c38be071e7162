//! The Kube view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::config::Command as C;
use crate::keys::ObjectKey;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists, in order.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let _ = c;
    let filter = o.filter;
    let mut rows = Vec::new();
    let k = o.k8s;
    for (ci, cl) in k.clusters.iter().enumerate() {
        if !matches(filter, &[&cl.name, &cl.namespace, &cl.health]) {
            continue;
        }
        rows.push(Row::K8sCluster { c: ci });
        if o.expanded.contains(&ObjectKey::new(&cl.namespace, &cl.name)) {
            for (gi, g) in cl.groups.iter().enumerate() {
                rows.push(Row::K8sGroup { c: ci, g: gi });
                rows.extend((0..g.pods.len()).map(|p| Row::K8sPod { c: ci, g: gi, p }));
            }
        }
    }
    for (j, job) in k.jobs.iter().enumerate() {
        if matches(filter, &[&job.name, &job.namespace, &job.job_status]) {
            rows.push(Row::RayJob { j });
        }
    }
    for (si, svc) in k.services.iter().enumerate() {
        if matches(filter, &[&svc.name, &svc.namespace, &svc.status]) {
            rows.push(Row::RayService { s: si });
        }
    }
    rows
}

/// The Kube view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Kube,
    // Pods are joined to the dashboard's nodes when it is reachable.
    interest: Interest { nodes: true, usage: true, kube_events: true, ..Interest::ACTIVE },
    hints: &[(C::OpenCluster, "open"), (C::ScaleUp, "+1"), (C::ScaleDown, "-1"), (C::ScaleTo, "scale to")],
    rows,
};
