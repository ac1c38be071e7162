//! Drawing: pure functions of the app state and a clock. Nothing here fetches or parses.

pub mod history;
pub mod log;
pub mod popups;
pub mod views;
pub mod widgets;

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::model::{Connection, Dashboard};
use crate::slice::slice;
use crate::state::{App, Overlay};
use crate::units::fmt_age;
use crate::view::View;
use views::{Draw, draw_of};

/// Fault injection for the tests: `RAYTOP_FAULT_PANIC_IN_VIEW=<section>` (e.g. `tune`) makes
/// drawing that view panic, to prove a bug in a view leaves the terminal restored.
fn panic_if_asked(view: View) {
    static VIEW: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let asked = VIEW.get_or_init(|| std::env::var("RAYTOP_FAULT_PANIC_IN_VIEW").ok());
    if asked.as_deref() == Some(view.section()) {
        panic!("fault injected: drawing the {} view (RAYTOP_FAULT_PANIC_IN_VIEW)", view.section());
    }
}

pub fn draw(f: &mut Frame, app: &App, now: SystemTime) {
    panic_if_asked(app.view);
    let area = f.area();
    let banner = banner(app, now);
    let [header, banner_area, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner.as_ref().map_or(0, |_| 1)),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(f, header, app, now);
    if let Some(b) = banner {
        f.render_widget(Paragraph::new(b), banner_area);
    }
    match (draw_of(app.view), app.cluster()) {
        _ if app.log.is_some() => {
            if let Some(pane) = &app.log {
                log::draw(f, body, app, pane, now);
            }
        }
        (Draw::Dashboard(_), Some(c)) if !c.has_data() && app.view == View::Cluster => draw_waiting(f, body, app, c),
        (Draw::Dashboard(draw), Some(c)) => draw(f, body, app, c, now),
        (Draw::Dashboard(_), None) => draw_no_dashboard(f, body, app),
        (Draw::Any(draw), _) => draw(f, body, app, now),
    }
    draw_footer(f, footer, app);
    match &app.overlay {
        Overlay::Help => views::help::draw(f, area, app),
        Overlay::Palette(input) => draw_palette(f, area, app, input.value()),
        Overlay::Confirm(c) => popups::draw_confirm(f, area, app, c),
        Overlay::Outcome { title, outcome } => popups::draw_outcome(f, area, app, title, outcome),
        Overlay::ChooseLog(choice) => popups::draw_log_choice(f, area, app, choice),
        _ => {}
    }
}

fn draw_header(f: &mut Frame, area: Rect, app: &App, now: SystemTime) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(" raytop ", t.title().add_modifier(Modifier::REVERSED)), Span::raw(" ")];
    if app.cluster().is_none() {
        // Nothing chosen yet (Kubernetes on, no --dashboard): say so rather than name an address.
        spans.push(Span::styled("no dashboard chosen", t.muted()));
    }
    if let Some(c) = app.cluster() {
        spans.push(Span::styled(c.name.clone(), t.accent().add_modifier(Modifier::BOLD)));
        if app.dashboards.len() > 1 {
            spans.push(Span::styled(format!(" [{}/{}]", app.current + 1, app.dashboards.len()), t.muted()));
        }
        if let Some(v) = &c.ray_version {
            spans.push(Span::styled(format!(" ray {v}"), t.muted()));
        }
        let (dot, style) = match &c.connection {
            Connection::Connected => ("● connected", t.ok()),
            Connection::Connecting => ("○ connecting", t.pending()),
            Connection::Disconnected(_) => ("✖ disconnected", t.error()),
            Connection::Unauthorized(_) => ("✖ unauthorized", t.error()),
        };
        spans.push(Span::raw("  "));
        spans.push(Span::styled(dot, style));
        if let Some(at) = c.last_fetch() {
            spans.push(Span::styled(format!("  data {} ago", fmt_age(App::age(now, at))), t.muted()));
        }
    }
    spans.push(Span::raw("   "));
    for v in View::ALL.iter() {
        let label = format!(" {} {} ", v.key(), v.title());
        let style = if *v == app.view { t.selected().add_modifier(Modifier::BOLD) } else { t.muted() };
        spans.push(Span::styled(label, style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A one-line warning under the header: connection trouble with the data's age, config problems.
fn banner(app: &App, now: SystemTime) -> Option<Line<'static>> {
    let t = &app.theme;
    let c = app.cluster()?;
    if matches!(draw_of(app.view), Draw::Any(_)) && app.warnings.is_empty() {
        return None; // The Kubernetes view shows its own notices; the dashboard's are elsewhere.
    }
    let age = c.last_fetch().map(|at| format!("showing data from {} ago", fmt_age(App::age(now, at))));
    let kept = age.unwrap_or_else(|| "no data yet".into());
    let since = c.failing_since().map(|at| format!(" for {}", fmt_age(App::age(now, at)))).unwrap_or_default();
    let text = match &c.connection {
        Connection::Disconnected(e) => format!(" disconnected{since}, retrying: {e} — {kept}"),
        Connection::Unauthorized(e) => format!(" refused{since}: {e} — {kept}"),
        _ => {
            if let Some(w) = app.warnings.first() {
                let more =
                    if app.warnings.len() > 1 { format!(" (+{} more)", app.warnings.len() - 1) } else { String::new() };
                return Some(Line::from(Span::styled(format!(" ⚠ {w}{more} — Esc to dismiss"), t.warn())));
            }
            let failing: Vec<String> = c
                .freshness
                .iter()
                .filter(|(_, f)| f.failing_for > 0)
                .map(|(ep, f)| {
                    let since = f.failing_since.map(|at| format!(" for {}", fmt_age(App::age(now, at))));
                    let stale = f.fetched_at.map_or("no data yet".into(), |at| {
                        format!("its data from {} ago kept", fmt_age(App::age(now, at)))
                    });
                    // Counts and ages first: the error text is long and the line may be cut.
                    format!(
                        "{} failing{} ({} errors; {stale}): {}",
                        ep.label(),
                        since.unwrap_or_default(),
                        f.errors_total,
                        f.last_error.clone().unwrap_or_default()
                    )
                })
                .collect();
            if failing.is_empty() {
                return None;
            }
            return Some(Line::from(Span::styled(format!(" ⚠ {}", failing.join("; ")), t.warn())));
        }
    };
    Some(Line::from(Span::styled(text, t.error())))
}

fn draw_waiting(f: &mut Frame, area: Rect, app: &App, c: &Dashboard) {
    let t = &app.theme;
    let msg = match &c.connection {
        Connection::Connecting => format!("Connecting to {} …", c.dashboard),
        Connection::Disconnected(e) if c.dashboard.starts_with("API server proxy") => format!(
            "Cannot reach {}: {e}\nRetrying with backoff. Is the head pod running, and does its Service have a \
             dashboard port? (--dashboard {}=URL reaches it another way)",
            c.dashboard, c.name
        ),
        Connection::Disconnected(e) => format!(
            "Cannot reach {}: {e}\nRetrying with backoff. Is the dashboard up, and is this its address (--dashboard)?",
            c.dashboard
        ),
        Connection::Unauthorized(e) => format!("{}: {e}", c.dashboard),
        Connection::Connected => "Waiting for the node list …".into(),
    };
    let block = Block::bordered().border_style(t.border()).title(Span::styled(" Cluster ", t.title()));
    f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
}

/// A view of a dashboard's data, with none chosen: how to choose one.
fn draw_no_dashboard(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let msg = "No Ray dashboard chosen.\nOpen a RayCluster in the Kube view (0, then Enter), or type :use NAME; \
               or start raytop with --dashboard URL.";
    let block =
        Block::bordered().border_style(t.border()).title(Span::styled(format!(" {} ", app.view.title()), t.title()));
    f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
}

fn draw_footer(f: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let line = match &app.overlay {
        Overlay::Filter(input) => Line::from(vec![
            Span::styled("/", t.accent()),
            Span::raw(input.value().to_string()),
            Span::styled("█", t.accent()),
            Span::styled("   Enter keep · Esc clear", t.muted()),
        ]),
        Overlay::Palette(input) => Line::from(vec![
            Span::styled(":", t.accent()),
            Span::raw(input.value().to_string()),
            Span::styled("█", t.accent()),
            Span::styled("   Tab complete · Enter run · Esc cancel", t.muted()),
        ]),
        Overlay::Ask(ask) => {
            let what = ask.what.prompt();
            Line::from(vec![
                Span::styled(format!("{what}: "), t.accent()),
                Span::raw(ask.input.value().to_string()),
                Span::styled("█", t.accent()),
                Span::styled("   Enter review the change · Esc cancel", t.muted()),
            ])
        }
        _ => {
            if let Some(msg) = &app.toast {
                Line::from(Span::styled(format!(" {msg}"), t.warn()))
            } else if app.log.is_some() {
                log::hints(app)
            } else {
                hints(app)
            }
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

fn hints(app: &App) -> Line<'static> {
    use crate::config::Command as C;
    let t = &app.theme;
    let global = [(C::Help, "help"), (C::Palette, "command"), (C::Filter, "filter"), (C::NextView, "view")];
    let wanted = global.iter().chain(slice(app.view).hints).chain(&[(C::Quit, "quit")]);
    let mut spans = Vec::new();
    let denied = app.actions_denied();
    for (cmd, label) in wanted {
        if denied.is_some() && cmd.is_action() {
            continue;
        }
        if let Some(k) = app.keymap.key_for(app.view, *cmd) {
            spans.push(Span::styled(format!(" {k} "), t.selected()));
            spans.push(Span::styled(format!(" {label}  "), t.muted()));
        }
    }
    if let Some(why) = denied
        && slice(app.view).hints.iter().any(|(c, _)| c.is_action())
    {
        spans.insert(0, Span::styled(format!(" actions off: {why} "), t.warn()));
    }
    if !app.filter().is_empty() {
        // First, so a narrow screen cuts hints rather than what narrows the rows.
        spans.insert(0, Span::styled(format!(" filter: {} ", app.filter()), t.accent()));
    }
    Line::from(spans)
}

fn draw_palette(f: &mut Frame, area: Rect, app: &App, typed: &str) {
    let t = &app.theme;
    let lines: Vec<Line> = crate::palette::listed(typed)
        .map(|e| {
            Line::from(vec![Span::styled(format!(" {:<12}", e.name), t.accent()), Span::styled(e.help, t.muted())])
        })
        .collect();
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2)).max(3);
    // As wide as the longest line needs, within the screen.
    let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    let w = (widest + 2).min(area.width.saturating_sub(2)).max(20.min(area.width));
    let rect = Rect { x: area.x + 1, y: area.bottom().saturating_sub(h + 1), width: w, height: h };
    f.render_widget(Clear, rect);
    let block = Block::bordered().border_style(t.border()).title(Span::styled(" commands ", t.title()));
    f.render_widget(Paragraph::new(lines).block(block).style(Style::default()), rect);
}
