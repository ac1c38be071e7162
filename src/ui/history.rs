//! How history from Prometheus is drawn in the views: sparklines over the whole window (bucketed,
//! so every series of a window lines up column by column) and replica health strips.

use ratatui::text::Span;

use crate::config::Theme;
use crate::model::history::{Combine, History, buckets};

/// The latest finite value of a series.
pub fn last(points: &[(f64, f64)]) -> Option<f64> {
    points.iter().rev().find(|(_, v)| v.is_finite()).map(|p| p.1)
}

/// A sparkline of `points` over the window of query `name`, `width` columns.
pub fn spark(h: &History, name: &str, points: &[(f64, f64)], width: usize) -> String {
    let Some(span) = h.span(name) else { return String::new() };
    crate::ui::widgets::sparkline(&buckets(points, span, width, Combine::Mean), width)
}

/// Like `spark`, scaled from zero (counts and percentages, where the level matters).
pub fn spark_from_zero(h: &History, name: &str, points: &[(f64, f64)], width: usize) -> String {
    let Some(span) = h.span(name) else { return String::new() };
    crate::ui::widgets::sparkline_from_zero(&buckets(points, span, width, Combine::Mean), width)
}

/// A replica's health over the window: `█` healthy, `▁` unhealthy (a dip), blank where the
/// replica did not exist (started later, or replaced).
pub fn health_strip(h: &History, points: &[(f64, f64)], width: usize, t: &Theme) -> Vec<Span<'static>> {
    let Some(span) = h.span("replica_healthy") else { return Vec::new() };
    buckets(points, span, width, Combine::Min)
        .into_iter()
        .map(|v| {
            if v.is_nan() {
                Span::raw(" ")
            } else if v >= 1.0 {
                Span::styled("█", t.ok())
            } else {
                Span::styled("▁", t.error())
            }
        })
        .collect()
}
