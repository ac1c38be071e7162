//! The rows each view lists, derived from the model when it, the filter or the folds change, so
//! drawing only reads them. Rows hold indices into the model, not copies.

use std::collections::BTreeSet;

use crate::app::View;
use crate::model::ClusterState;

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
}

impl Row {
    /// The name folding applies to (groups, applications).
    pub fn fold_key(&self) -> Option<String> {
        match self {
            Row::App { name, .. } => Some(format!("app:{name}")),
            Row::Group { g } => Some(format!("group:{g}")),
            _ => None,
        }
    }
}

fn matches(filter: &str, fields: &[&str]) -> bool {
    filter.is_empty() || {
        let f = filter.to_lowercase();
        fields.iter().any(|s| s.to_lowercase().contains(&f))
    }
}

pub fn build(
    view: View,
    c: &ClusterState,
    filter: &str,
    show_dead: bool,
    folded: &BTreeSet<String>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    match view {
        View::Cluster => {
            for (g, group) in c.groups.iter().enumerate() {
                let group_hit = matches(filter, &[&group.name]);
                let nodes: Vec<usize> = group
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.alive || show_dead)
                    .filter(|(_, n)| {
                        group_hit
                            || matches(filter, &[&n.node_id, &n.ip, &n.hostname, &n.instance_id])
                    })
                    .map(|(i, _)| i)
                    .collect();
                if !group_hit && nodes.is_empty() {
                    continue;
                }
                rows.push(Row::Group { g });
                if folded.contains(&format!("group:{g}")) {
                    continue;
                }
                rows.extend(nodes.into_iter().map(|n| Row::Node { g, n }));
                if !show_dead && group.nodes_dead > 0 {
                    rows.push(Row::DeadFolded {
                        g,
                        count: group.nodes_dead,
                    });
                }
            }
        }
        View::Autoscaler => {
            let events = &c.autoscaler.events;
            for e in (0..events.len()).rev() {
                let ev = &events[e];
                if matches(filter, &[&ev.message, &ev.source, &ev.severity, &ev.time]) {
                    rows.push(Row::Event { e });
                }
            }
        }
        View::Serve => {
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
                            dep_hit
                                || matches(
                                    filter,
                                    &[
                                        &r.replica_id,
                                        &r.state,
                                        &r.node_ip,
                                        &r.node_instance_id,
                                        &r.actor_id,
                                    ],
                                )
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
                rows.push(Row::App {
                    a,
                    name: app.name.clone(),
                });
                if !folded.contains(&format!("app:{}", app.name)) {
                    rows.extend(children);
                }
            }
        }
    }
    rows
}
