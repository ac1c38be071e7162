//! The Autoscaler view: what it fetches, the keys its footer names, the rows it lists.

use super::Slice;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row, matches};
use crate::view::View;

/// The rows this view lists, in order.
pub fn rows(c: Option<&Dashboard>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let filter = o.filter;
    let mut rows = Vec::new();
    let events = &c.autoscaler.events;
    for e in (0..events.len()).rev() {
        let ev = &events[e];
        if matches(filter, &[&ev.message, &ev.source, &ev.severity, &ev.time]) {
            rows.push(Row::Event { e });
        }
    }
    rows
}

/// The Autoscaler view's slice: what it fetches, hints and lists.
pub const SLICE: Slice = Slice {
    view: View::Autoscaler,
    interest: Interest {
        autoscaler: true,
        events: true,
        history: Some(crate::msg::HistoryTopic::Autoscaler),
        ..Interest::ACTIVE
    },
    hints: &[],
    rows,
};
