//! The GPU view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::config::Command as C;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists, in order.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let filter = o.filter;
    let mut rows = Vec::new();
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
    rows
}

/// The GPU view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Gpu,
    interest: Interest {
        nodes: true,
        usage: true,
        actors: true,
        serve: true,
        // A GPU held by a trial is named by it.
        tune: true,
        autoscaler: true,
        history: Some(crate::msg::HistoryTopic::Gpu),
        ..Interest::ACTIVE
    },
    hints: &[(C::CancelTrial, "cancel trial")],
    rows,
};
