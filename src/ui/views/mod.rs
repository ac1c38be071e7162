//! One module per view.

pub mod autoscaler;
pub mod cluster;
pub mod clusters;
pub mod gpu;
pub mod help;
pub mod serve;
pub mod tune;

use ratatui::widgets::TableState;

use ratatui::layout::Rect;

/// The rows of a bordered table with a header that fit in `area`, as a range into all rows, and
/// the table state selecting the selected row within that range. Views build only these rows,
/// so a frame costs the same for 20 nodes or 20,000.
pub fn window(selected: usize, len: usize, area: Rect) -> (std::ops::Range<usize>, TableState) {
    let height = (area.height as usize).saturating_sub(3).max(1);
    let selected = selected.min(len.saturating_sub(1));
    let start = if selected < height { 0 } else { selected + 1 - height };
    let end = (start + height).min(len);
    let mut state = TableState::default();
    if len > 0 {
        state.select(Some(selected - start));
    }
    (start..end, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_selection_visible() {
        let area = Rect::new(0, 0, 10, 13); // 10 visible rows
        let (r, s) = window(0, 100, area);
        assert_eq!((r, s.selected()), (0..10, Some(0)));
        let (r, s) = window(25, 100, area);
        assert_eq!((r, s.selected()), (16..26, Some(9)));
        let (r, s) = window(5, 3, area);
        assert_eq!((r, s.selected()), (0..3, Some(2)));
        let (r, s) = window(0, 0, area);
        assert_eq!((r, s.selected()), (0..0, None));
    }
}
