//! Small reusable pieces: usage bars and truncation.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Span;

use crate::config::Theme;
use crate::model::resources::Usage;
use crate::units::{fmt_amount, fmt_bytes};

/// The width a bordered `Table` (default flex and column spacing, no highlight symbol) gives
/// each of its columns in `area`, so a cell can be cut with an ellipsis where the table would
/// otherwise cut it in mid-word.
pub fn column_widths(area: Rect, constraints: &[Constraint]) -> Vec<usize> {
    let inner = Rect::new(0, 0, area.width.saturating_sub(2), 1);
    Layout::horizontal(constraints.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(inner)
        .iter()
        .map(|r| usize::from(r.width))
        .collect()
}

/// A text bar `████░░░░` of `width` cells for a usage ratio.
pub fn bar(u: Usage, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    let filled = ((u.ratio() * width as f64).round() as usize).min(width);
    let used_style = if u.ratio() >= 0.999 && u.total > 0.0 {
        theme.warn()
    } else {
        ratatui::style::Style::default().fg(theme.bar_used)
    };
    vec![
        Span::styled("█".repeat(filled), used_style),
        Span::styled("░".repeat(width - filled), ratatui::style::Style::default().fg(theme.bar_free)),
    ]
}

/// "3/4" for counts.
pub fn amount_pair(u: Usage) -> String {
    format!("{}/{}", fmt_amount(u.used), fmt_amount(u.total))
}

/// "2.1G/32.0G" for bytes (compact: table cells are narrow).
pub fn bytes_pair(u: Usage) -> String {
    format!("{}/{}", fmt_bytes_short(u.used), fmt_bytes_short(u.total))
}

/// Bytes with a one-letter binary unit: "16.1G", "512M", "0B".
pub fn fmt_bytes_short(bytes: f64) -> String {
    fmt_bytes(bytes).replace("iB", "")
}

pub use crate::model::text::short_id;

/// Shortens an id to `n` characters with an ellipsis, for narrow columns.
pub fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n.saturating_sub(1)).collect::<String>())
    }
}

/// Shortens a name to `n` characters by cutting its middle: generated names (pods, replicas)
/// share a prefix and differ at the end, so both ends stay.
pub fn short_middle(s: &str, n: usize) -> String {
    let len = s.chars().count();
    if len <= n || n < 3 {
        return short(s, n);
    }
    let tail = (n - 1) / 2;
    let head = n - 1 - tail;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

/// A sparkline of the last `width` values, scaled to their own range.
pub fn sparkline(values: &[f64], width: usize) -> String {
    spark(values, width, false)
}

/// A sparkline of counts, scaled from zero: 0 is the lowest bar and a steady 2 is not drawn like
/// a steady 0 (node counts, where the level matters more than the wiggle).
pub fn sparkline_from_zero(values: &[f64], width: usize) -> String {
    spark(values, width, true)
}

fn spark(values: &[f64], width: usize, from_zero: bool) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail: Vec<f64> = values.iter().rev().take(width).rev().copied().collect();
    let finite: Vec<f64> = tail.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let (lo, hi) = if from_zero { (lo.min(0.0), hi.max(0.0)) } else { (lo, hi) };
    tail.iter()
        .map(|v| {
            if !v.is_finite() {
                '·'
            } else if hi > lo {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            } else if from_zero {
                BARS[0] // all zero
            } else {
                BARS[3]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The widths are the table's own: a cell cut to them is never cut again by the table.
    #[test]
    fn column_widths_are_what_a_table_draws() {
        use ratatui::widgets::{Block, Row, Table};
        let constraints = [Constraint::Length(6), Constraint::Fill(2), Constraint::Fill(1), Constraint::Length(4)];
        let area = Rect::new(0, 0, 40, 3);
        let widths = column_widths(area, &constraints);
        // 38 inside the borders, 3 gaps: 35 for the columns, the fills sharing 25 as 2:1.
        assert_eq!(widths, vec![6, 17, 8, 4]);
        let cells: Vec<String> = widths.iter().map(|&w| "x".repeat(w)).collect();
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(40, 3)).unwrap();
        term.draw(|f| {
            f.render_widget(Table::new([Row::new(cells.clone())], constraints).block(Block::bordered()), area)
        })
        .unwrap();
        let line = term.backend().buffer().content()[40..80].iter().map(|c| c.symbol()).collect::<String>();
        assert_eq!(line, format!("│{}│", cells.join(" ")));
    }

    #[test]
    fn middle_cut_keeps_both_ends() {
        assert_eq!(short_middle("ray-cluster-worker-group-7xk2q", 12), "ray-cl…7xk2q");
        assert_eq!(short_middle("short", 12), "short");
        assert_eq!(short_middle("ray-cluster-worker-group-7xk2q", 12).chars().count(), 12);
    }

    #[test]
    fn sparkline_scales_and_marks_gaps() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 3), "▁▅█");
        assert_eq!(sparkline(&[1.0, f64::NAN, 1.0], 5), "▄·▄");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 4.0], 2), "▁█");
        assert_eq!(sparkline_from_zero(&[0.0, 0.0], 2), "▁▁", "all zero: the lowest bar");
        assert_eq!(sparkline_from_zero(&[2.0, 2.0, 0.0], 3), "██▁");
        assert_eq!(sparkline_from_zero(&[1.0, 2.0], 2), "▅█");
    }
}
