//! The rows each view lists, derived from the model when it, the filter or the folds change, so
//! drawing only reads them. Rows hold indices into the model, not copies.

use std::collections::BTreeSet;

use std::cmp::Ordering;

use crate::app::{TuneUi, View};
use crate::model::ClusterState;
use crate::model::tune::{Experiment, Trial};

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
    K8sJob {
        j: usize,
    },
    K8sService {
        s: usize,
    },
}

/// What shapes the rows besides the model.
pub struct Options<'a> {
    pub filter: &'a str,
    pub show_dead: bool,
    pub folded: &'a BTreeSet<String>,
    pub tune: &'a TuneUi,
    pub experiment: usize,
    pub k8s: &'a crate::model::k8s::K8s,
    /// RayClusters opened up (`namespace/name`).
    pub expanded: &'a BTreeSet<String>,
}

/// The leaderboard's fixed sortable columns; hyperparameters follow.
pub const TUNE_SORTS: [&str; 6] = ["best", "last", "iter", "time", "status", "trial"];

/// Compares by the metric, better first for the mode; trials without a value go last.
fn by_metric(a: Option<f64>, b: Option<f64>, e: &Experiment) -> Ordering {
    match (a.filter(|v| v.is_finite()), b.filter(|v| v.is_finite())) {
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if e.mode == crate::model::tune::Mode::Min { o } else { o.reverse() }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn json_cmp(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> Ordering {
    match (a.and_then(serde_json::Value::as_f64), b.and_then(serde_json::Value::as_f64)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.map(ToString::to_string).cmp(&b.map(ToString::to_string)),
    }
}

fn trial_order(e: &Experiment, sort: usize, x: &Trial, y: &Trial) -> Ordering {
    match sort {
        0 => by_metric(x.best, y.best, e),
        1 => by_metric(x.last, y.last, e),
        2 => y.iterations.cmp(&x.iterations),
        3 => y.run_time_s.partial_cmp(&x.run_time_s).unwrap_or(Ordering::Equal),
        4 => x.status.cmp(&y.status),
        5 => x.trial_id.cmp(&y.trial_id),
        n => e.params.get(n - TUNE_SORTS.len()).map_or(Ordering::Equal, |p| json_cmp(x.config.get(p), y.config.get(p))),
    }
    .then_with(|| x.trial_id.cmp(&y.trial_id))
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

pub fn build(view: View, c: &ClusterState, o: &Options) -> Vec<Row> {
    let (filter, show_dead, folded) = (o.filter, o.show_dead, o.folded);
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
                    .filter(|(_, n)| group_hit || matches(filter, &[&n.node_id, &n.ip, &n.hostname, &n.instance_id]))
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
                    rows.push(Row::DeadFolded { g, count: group.nodes_dead });
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
                                    &[&r.replica_id, &r.state, &r.node_ip, &r.node_instance_id, &r.actor_id],
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
                rows.push(Row::App { a, name: app.name.clone() });
                if !folded.contains(&format!("app:{}", app.name)) {
                    rows.extend(children);
                }
            }
        }
        View::Tune => {
            let Some(e) = c.tune.experiments.get(o.experiment) else { return rows };
            // Rank is by best value whatever the sort, so "rank 1" always means the leader.
            let mut by_best: Vec<usize> = (0..e.trials.len()).collect();
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
            rows.extend(order.into_iter().map(|t| Row::Trial { e: o.experiment, t, rank: rank[t] }));
        }
        View::Clusters => {
            let k = o.k8s;
            for (ci, cl) in k.clusters.iter().enumerate() {
                if !matches(filter, &[&cl.name, &cl.namespace, &cl.health]) {
                    continue;
                }
                rows.push(Row::K8sCluster { c: ci });
                if o.expanded.contains(&format!("{}/{}", cl.namespace, cl.name)) {
                    for (gi, g) in cl.groups.iter().enumerate() {
                        rows.push(Row::K8sGroup { c: ci, g: gi });
                        rows.extend((0..g.pods.len()).map(|p| Row::K8sPod { c: ci, g: gi, p }));
                    }
                }
            }
            for (j, job) in k.jobs.iter().enumerate() {
                if matches(filter, &[&job.name, &job.namespace, &job.job_status]) {
                    rows.push(Row::K8sJob { j });
                }
            }
            for (si, svc) in k.services.iter().enumerate() {
                if matches(filter, &[&svc.name, &svc.namespace, &svc.status]) {
                    rows.push(Row::K8sService { s: si });
                }
            }
        }
        View::Gpu => {
            for (n, node) in c.gpus.nodes.iter().enumerate() {
                let hit = matches(filter, &[&node.node_id, &node.ip, &node.group, &node.instance_id]);
                let holders: Vec<usize> = (0..node.holders.len())
                    .filter(|h| hit || matches(filter, &[&node.holders[*h].name, node.holders[*h].kind]))
                    .collect();
                if !hit && holders.is_empty() {
                    continue;
                }
                rows.push(Row::GpuNode { n });
                rows.extend((0..node.devices.len()).map(|d| Row::GpuDevice { n, d }));
                rows.extend(holders.into_iter().map(|h| Row::GpuHolder { n, h }));
            }
        }
    }
    rows
}
