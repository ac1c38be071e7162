//! The Cluster view: what it fetches, the keys its footer names, the rows it lists.

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
    let (filter, show_dead, folded) = (o.filter, o.show_dead, o.folded);
    let mut rows = Vec::new();
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
        if folded.contains(&Fold::Group(group.name.clone())) {
            continue;
        }
        rows.extend(nodes.into_iter().map(|n| Row::Node { g, n }));
        if !show_dead && group.nodes_dead > 0 {
            rows.push(Row::DeadFolded { g, count: group.nodes_dead });
        }
    }
    rows
}

/// The Cluster view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Cluster,
    interest: Interest {
        nodes: true,
        usage: true,
        history: Some(crate::msg::HistoryTopic::Cluster),
        ..Interest::ACTIVE
    },
    hints: &[(C::ToggleFold, "fold"), (C::ToggleDead, "dead nodes"), (C::ScaleUp, "+1"), (C::ScaleDown, "-1")],
    rows,
};
