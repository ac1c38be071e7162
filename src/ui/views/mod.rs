//! One module per view.

pub mod autoscaler;
pub mod cluster;
pub mod help;
pub mod serve;

use ratatui::widgets::TableState;

/// A table state that shows the selected row.
pub fn table_state(selected: usize, len: usize) -> TableState {
    let mut s = TableState::default();
    if len > 0 {
        s.select(Some(selected.min(len - 1)));
    }
    s
}
