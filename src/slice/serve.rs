//! The Serve view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::config::Command as C;
use crate::keys::Fold;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists, in order.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let (filter, folded) = (o.filter, o.folded);
    let mut rows = Vec::new();
    for (a, app) in c.serve.applications.iter().enumerate() {
        let app_hit = matches(filter, &[&app.name, &app.status]);
        let mut children = Vec::new();
        for (d, dep) in app.deployments.iter().enumerate() {
            let dep_hit = app_hit || matches(filter, &[&dep.name, &dep.status]);
            let reps: Vec<Row> = dep
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    dep_hit || matches(filter, &[&r.replica_id, &r.state, &r.node_ip, &r.node_instance_id, &r.actor_id])
                })
                .map(|(r, _)| Row::Replica { a, d, r })
                .collect();
            if dep_hit || !reps.is_empty() {
                children.push(Row::Deployment { a, d });
                children.extend(reps);
            }
        }
        if !app_hit && children.is_empty() {
            continue;
        }
        rows.push(Row::App { a, name: app.name.clone() });
        if !folded.contains(&Fold::App(app.name.clone())) {
            rows.extend(children);
        }
    }
    rows
}

/// The Serve view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Serve,
    interest: Interest { serve: true, history: Some(crate::msg::HistoryTopic::Serve), ..Interest::ACTIVE },
    hints: &[(C::ToggleFold, "fold"), (C::Redeploy, "redeploy"), (C::ServeReplicas, "replicas")],
    rows,
};
