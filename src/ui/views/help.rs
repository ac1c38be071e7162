//! Help: the keys of the current view and the global ones, straight from the keymap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::state::App;

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut lines = Vec::new();
    let key_line = |b: &crate::config::keymap::Binding| {
        Line::from(vec![Span::styled(format!("  {:<12}", b.key.label()), t.accent()), Span::raw(b.desc.clone())])
    };
    if app.log.is_some() {
        // The pane takes the keys: its own, then the global moves, help and quit.
        lines.push(Line::from(Span::styled("log", t.header())));
        lines.extend(app.keymap.log_bindings().map(key_line));
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled("any key closes this help", t.muted())));
        return frame(f, area, app, lines);
    }
    for section in [Some(app.view), None] {
        let name = section.map_or("global", |v| v.section());
        lines.push(Line::from(Span::styled(name.to_string(), t.header())));
        lines.extend(app.keymap.bindings(section).map(key_line));
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(Span::styled("any key closes this help", t.muted())));
    frame(f, area, app, lines);
}

fn frame(f: &mut Frame, area: Rect, app: &App, lines: Vec<Line<'static>>) {
    let t = &app.theme;
    let h = (lines.len() as u16 + 2).min(area.height);
    // As wide as the longest description needs, within the screen.
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    let w = (widest + 4).min(area.width);
    let rect = Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h };
    f.render_widget(Clear, rect);
    let block = Block::bordered().border_style(t.border()).title(Span::styled(" keys ", t.title()));
    f.render_widget(Paragraph::new(lines).block(block), rect);
}
