//! The log pane, drawn over the view's body: a title that says what is read and how the stream
//! is, the lines ending at the reader's place (only those on screen are styled), and the pane's
//! keys. Reads `LogPane`; computes nothing but the layout of the visible lines.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::config::{Command, Theme};
use crate::log_pane::{LogPane, LogStatus};
use crate::model::logs::{Severity, severity};
use crate::state::App;
use crate::units::fmt_age;

pub fn draw(f: &mut Frame, area: Rect, app: &App, pane: &LogPane, now: SystemTime) {
    let t = &app.theme;
    let block = Block::default().borders(Borders::TOP).border_style(t.border()).title(title(t, pane, now));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    f.render_widget(Paragraph::new(status_line(t, pane)), status);
    let lines = visible(pane, body.width.max(1) as usize, body.height as usize);
    let styled: Vec<Line> = lines.iter().map(|(i, text)| styled_line(t, pane, *i, text)).collect();
    let mut para = Paragraph::new(styled);
    if pane.wrap {
        para = para.wrap(Wrap { trim: false });
    }
    f.render_widget(para, body);
}

fn title(t: &Theme, pane: &LogPane, now: SystemTime) -> Line<'static> {
    let (dot, style) = match &pane.status {
        LogStatus::Connecting => ("○ connecting".to_string(), t.pending()),
        LogStatus::Live => match pane.last_line_at {
            // Ray's stream sends nothing while the program prints nothing: quiet, not broken.
            Some(at) if App::age(now, at) >= 30.0 => {
                (format!("● live, quiet for {}", fmt_age(App::age(now, at))), t.ok())
            }
            _ => ("● live".to_string(), t.ok()),
        },
        LogStatus::Lost { at, error, retry_in } => {
            let left = retry_in.as_secs_f64() - App::age(now, *at);
            let when = if left > 0.5 { format!("reconnecting in {}", fmt_age(left)) } else { "reconnecting".into() };
            (format!("✖ stream lost {} ago, {when}: {error}", fmt_age(App::age(now, *at))), t.error())
        }
        LogStatus::Ended { error: Some(e), .. } => (format!("✖ {e}"), t.error()),
        LogStatus::Ended { error: None, at } => (format!("■ ended {} ago", fmt_age(App::age(now, *at))), t.muted()),
    };
    Line::from(vec![
        Span::styled(" log ", t.title().add_modifier(Modifier::REVERSED)),
        Span::styled(format!(" {} ", pane.title), t.accent().add_modifier(Modifier::BOLD)),
        Span::styled(dot, style),
        Span::styled(format!("  opened {} ago ", fmt_age(App::age(now, pane.opened))), t.muted()),
    ])
}

fn status_line(t: &Theme, pane: &LogPane) -> Line<'static> {
    let from = match pane.tail {
        Some(n) => format!(" from the last {}", thousands(n.max(0) as usize)),
        None => " from the start".to_string(),
    };
    let mut spans = vec![Span::styled(
        format!(
            " {} lines{from}{}",
            thousands(pane.lines.len()),
            if pane.lines.dropped > 0 {
                let b = pane.lines.bounds();
                format!(
                    " (oldest {} dropped: kept at most {} lines / {} MiB)",
                    thousands(pane.lines.dropped as usize),
                    thousands(b.lines),
                    b.bytes >> 20
                )
            } else {
                String::new()
            }
        ),
        t.muted(),
    )];
    let mode = if pane.follow {
        Span::styled(" · following", t.ok())
    } else {
        Span::styled(format!(" · paused at line {}", thousands(pane.bottom() + 1)), t.warn())
    };
    spans.push(mode);
    if pane.wrap {
        spans.push(Span::styled(" · wrap", t.muted()));
    }
    if let Some(input) = &pane.typing {
        spans.push(Span::styled("   /", t.accent()));
        spans.push(Span::raw(input.value().to_string()));
        spans.push(Span::styled("█  Enter search · Esc cancel", t.accent()));
    } else if let Some(s) = &pane.search {
        spans.push(Span::styled(format!(" · search {s:?}"), t.accent()));
    }
    if let Some(n) = &pane.note {
        spans.push(Span::styled(format!("   {n}"), t.warn()));
    }
    match &pane.saved {
        Some(Ok(p)) => spans.push(Span::styled(format!("   saved to {}", p.display()), t.ok())),
        Some(Err(e)) => spans.push(Span::styled(format!("   not saved: {e}"), t.error())),
        None => {}
    }
    Line::from(spans)
}

/// The lines that fill `height` rows of `width` columns, ending at the reader's place, with their
/// indices: only these are styled and drawn, whatever the buffer holds.
fn visible(pane: &LogPane, width: usize, height: usize) -> Vec<(usize, &str)> {
    if pane.lines.is_empty() || height == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(height);
    let mut rows = 0;
    let mut i = pane.bottom() as i64;
    while i >= 0 && rows < height {
        let Some(text) = pane.lines.get(i as usize) else { break };
        rows += if pane.wrap { text.chars().count().max(1).div_ceil(width) } else { 1 };
        out.push((i as usize, text));
        i -= 1;
    }
    out.reverse();
    out
}

fn styled_line<'a>(t: &Theme, pane: &LogPane, i: usize, text: &'a str) -> Line<'a> {
    let base = match severity(text) {
        Severity::Error => t.error(),
        Severity::Warn => t.warn(),
        Severity::Plain if text.starts_with("⋯ raytop:") => t.muted().add_modifier(Modifier::ITALIC),
        Severity::Plain => t.text(),
    };
    let base = if pane.mark == Some(i) { base.add_modifier(Modifier::BOLD) } else { base };
    let Some(needle) = pane.search.as_deref().filter(|n| !n.is_empty()) else {
        return Line::from(Span::styled(text, base));
    };
    Line::from(highlight(text, needle, base, t.selected().add_modifier(Modifier::BOLD)))
}

/// `text` with every case-blind occurrence of `needle` in `hit`. Matching is on lowercased
/// characters mapped back to the original's byte offsets, so text whose case changes length
/// (rare letters) is cut only at character boundaries.
fn highlight<'a>(text: &'a str, needle: &str, base: Style, hit: Style) -> Vec<Span<'a>> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let lower: Vec<char> = chars.iter().map(|(_, c)| c.to_lowercase().next().unwrap_or(*c)).collect();
    let mut spans = Vec::new();
    let (mut start, mut k) = (0usize, 0usize);
    while k + needle.len() <= lower.len() && !needle.is_empty() {
        if lower[k..k + needle.len()] == needle[..] {
            let from = chars[k].0;
            let to = chars.get(k + needle.len()).map_or(text.len(), |(b, _)| *b);
            if from > start {
                spans.push(Span::styled(&text[start..from], base));
            }
            spans.push(Span::styled(&text[from..to], hit));
            start = to;
            k += needle.len();
        } else {
            k += 1;
        }
    }
    if start < text.len() {
        spans.push(Span::styled(&text[start..], base));
    }
    spans
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The pane's keys, for the footer.
pub fn hints(app: &App) -> Line<'static> {
    let t = &app.theme;
    let wanted = [
        (Command::LogFollow, "follow/pause"),
        (Command::LogSearch, "search"),
        (Command::LogNextMatch, "next"),
        (Command::LogPrevMatch, "prev"),
        (Command::LogStream, "stdout/stderr"),
        (Command::LogPrevious, "previous"),
        (Command::LogWrap, "wrap"),
        (Command::LogFirstError, "first error"),
        (Command::LogSave, "save"),
        (Command::LogClose, "close"),
    ];
    let mut spans = Vec::new();
    for (cmd, label) in wanted {
        if let Some(k) = app.keymap.log_key_for(cmd) {
            spans.push(Span::styled(format!(" {k}"), t.accent()));
            spans.push(Span::styled(format!(" {label} "), t.muted()));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_cut_out_whatever_their_case() {
        let (b, h) = (Style::default(), Style::default().add_modifier(Modifier::BOLD));
        let spans = highlight("Error: an ERROR here", "error", b, h);
        let parts: Vec<(&str, bool)> = spans.iter().map(|s| (s.content.as_ref(), s.style == h)).collect();
        assert_eq!(parts, [("Error", true), (": an ", false), ("ERROR", true), (" here", false)]);
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
