//! One module per view, each drawing the rows its slice (`crate::slice`) lists. Adding a view is
//! a variant in `view.rs` (tab, key, keymap section), a module in `slice/` (interest, hints,
//! rows), a module here (its drawing), and a line in each `match` on the view.

pub mod autoscaler;
pub mod cluster;
pub mod gpu;
pub mod help;
pub mod jobs;
pub mod kube;
pub mod serve;
pub mod train;
pub mod tune;

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::TableState;

use crate::model::Dashboard;
use crate::state::App;
use crate::view::View;

/// How a view draws: from the dashboard on screen (without one, the screen says how to choose
/// one), or from anything the app holds.
pub enum Draw {
    Dashboard(fn(&mut Frame, Rect, &App, &Dashboard, SystemTime)),
    Any(fn(&mut Frame, Rect, &App, SystemTime)),
}

/// How a view draws.
pub fn draw_of(view: View) -> &'static Draw {
    match view {
        View::Cluster => &cluster::DRAW,
        View::Autoscaler => &autoscaler::DRAW,
        View::Serve => &serve::DRAW,
        View::Tune => &tune::DRAW,
        View::Gpu => &gpu::DRAW,
        View::Jobs => &jobs::DRAW,
        View::Kube => &kube::DRAW,
    }
}

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

/// What a view says when Prometheus fails: since when, what, and how old the answers it keeps
/// showing are. `None` while history is healthy.
pub fn history_failure(h: &crate::model::history::History, now: SystemTime) -> Option<String> {
    let e = h.error.as_ref()?;
    let age = |at| crate::units::fmt_age(App::age(now, at));
    let since = h.failing_since.map(|at| format!(" for {}", age(at))).unwrap_or_default();
    let kept = h.answered_at.map_or("no answer yet".to_string(), |at| format!("answers from {} ago kept", age(at)));
    Some(format!("history failing{since}: {e} — {kept}"))
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
