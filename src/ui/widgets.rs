//! Small reusable pieces: usage bars and truncation.

use ratatui::text::Span;

use crate::config::Theme;
use crate::model::resources::{Usage, fmt_amount, fmt_bytes};

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
