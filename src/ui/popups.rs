//! The action popups: the confirmation (target, each field before and after, what happens next,
//! warnings; Cancel focused) and the outcome, which stays until a key dismisses it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::action::{FieldChange, Outcome};
use crate::state::{App, Confirm};

/// A box in the middle of `area`, as tall as its lines and as wide as the widest (within limits).
fn centered(area: Rect, lines: &[Line], min_w: u16) -> Rect {
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    let w = (widest + 4).max(min_w).min(area.width.saturating_sub(2));
    // Lines wider than the box wrap: count the rows they take, so the buttons at the bottom
    // are never cut off.
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().div_ceil(inner).max(1)).sum();
    let h = (rows as u16).saturating_add(2).min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn field_lines(app: &App, fields: &[FieldChange]) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = fields.iter().map(|f| f.field.len()).max().unwrap_or(0);
    fields
        .iter()
        .map(|f| {
            Line::from(vec![
                Span::styled(format!("  {:<w$}  ", f.field), t.muted()),
                Span::raw(f.before.clone()),
                Span::styled(" → ", t.muted()),
                Span::styled(f.after.clone(), t.accent().add_modifier(Modifier::BOLD)),
            ])
        })
        .collect()
}

pub fn draw_confirm(f: &mut Frame, area: Rect, app: &App, c: &Confirm) {
    let t = &app.theme;
    let p = &c.preview;
    let mut lines = vec![Line::from(Span::styled(p.target.clone(), t.accent())), Line::raw("")];
    lines.extend(field_lines(app, &p.fields));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![Span::styled("next: ", t.muted()), Span::raw(p.next.clone())]));
    for w in &p.warnings {
        lines.push(Line::from(Span::styled(format!("⚠ {w}"), t.warn())));
    }
    lines.push(Line::raw(""));
    let (cancel, apply) = if c.apply_focused { (t.muted(), t.selected()) } else { (t.selected(), t.muted()) };
    lines.push(Line::from(vec![
        Span::styled(" Cancel ", cancel.add_modifier(Modifier::BOLD)),
        Span::raw("   "),
        Span::styled(" Apply ", apply.add_modifier(Modifier::BOLD)),
        Span::styled("    Tab switch · Enter choose · Esc cancel", t.muted()),
    ]));
    let rect = centered(area, &lines, 50);
    f.render_widget(Clear, rect);
    let block = Block::bordered().border_style(t.warn()).title(Span::styled(format!(" {}? ", p.title), t.title()));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}

pub fn draw_outcome(f: &mut Frame, area: Rect, app: &App, title: &str, o: &Outcome) {
    let t = &app.theme;
    let (mark, style) = if o.ok { ("✔ done", t.ok()) } else { ("✖ failed", t.error()) };
    let mut lines = vec![Line::from(Span::styled(mark, style.add_modifier(Modifier::BOLD))), Line::raw("")];
    lines.push(Line::raw(o.message.clone()));
    if !o.changes.is_empty() {
        lines.push(Line::raw(""));
        lines.extend(field_lines(app, &o.changes));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("any key closes this", t.muted())));
    let rect = centered(area, &lines, 40);
    f.render_widget(Clear, rect);
    let block = Block::bordered().border_style(style).title(Span::styled(format!(" {title} "), t.title()));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), rect);
}

/// The log chooser: what to pick from, the cursor's item highlighted, as many as fit.
pub fn draw_log_choice(f: &mut Frame, area: Rect, app: &App, choice: &crate::state::LogChoice) {
    let t = &app.theme;
    let room = usize::from(area.height.saturating_sub(6)).max(1);
    // Scroll so the cursor stays in the box.
    let first = choice.selected.saturating_sub(room.saturating_sub(1));
    let mut lines: Vec<Line> = choice
        .items
        .iter()
        .enumerate()
        .skip(first)
        .take(room)
        .map(|(i, (label, _))| {
            let style = if i == choice.selected { t.selected().add_modifier(Modifier::BOLD) } else { t.text() };
            Line::from(Span::styled(format!(" {label} "), style))
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        format!(" {} of {} · Enter open · Esc cancel", choice.selected + 1, choice.items.len()),
        t.muted(),
    )));
    let rect = centered(area, &lines, 40);
    f.render_widget(Clear, rect);
    let block =
        Block::bordered().border_style(t.border()).title(Span::styled(format!(" {} ", choice.title), t.title()));
    f.render_widget(Paragraph::new(lines).block(block), rect);
}
