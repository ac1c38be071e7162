//! Autoscaler view: a verdict per group (does it scale, and if not why), pending demands,
//! launches and failures, and the decision timeline, newest first.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::model::Dashboard;
use crate::model::autoscaler::{Decision, ReportSource, VerdictState};
use crate::rows::Row;
use crate::state::App;
use crate::ui::history;

/// For a dashboard opened from a RayCluster: each group whose pods wait on Kubernetes, and why.
fn kube_waits(app: &App) -> Vec<String> {
    let Some(cl) = app.k8s.clusters.iter().find(|cl| app.dashboard_for(cl) == Some(app.current)) else {
        return Vec::new();
    };
    cl.groups
        .iter()
        .filter_map(|g| g.kube_wait.as_ref().map(|w| format!("{} on Kubernetes (RayCluster {}): {w}", g.name, cl.name)))
        .collect()
}

fn draw(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, now: SystemTime) {
    let t = &app.theme;
    let a = &c.autoscaler;
    let kube_waits = kube_waits(app);
    let verdict_h = ((a.verdicts.len() + kube_waits.len()).max(1) as u16) + 2;
    let mid_h = (a.pending.len().max(a.launches.len() + a.failures.len()).max(1) as u16) + 2;
    let nodes_lines = app.history.as_ref().map(|h| nodes_over_time(h, t, now));
    let nodes_h = nodes_lines.as_ref().map_or(0, |l| l.len() as u16 + 2);
    let [top, nodes_area, mid, bottom] = Layout::vertical([
        Constraint::Length(verdict_h),
        Constraint::Length(nodes_h),
        Constraint::Length(mid_h),
        Constraint::Min(4),
    ])
    .areas(area);
    if let (Some(lines), Some(h)) = (nodes_lines, &app.history) {
        let title = format!(" Nodes per group over {} (Prometheus) ", crate::model::history::window_label(h.window_s));
        f.render_widget(
            Paragraph::new(lines)
                .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()))),
            nodes_area,
        );
    }

    let source = match a.source {
        ReportSource::V1 => "autoscaler v1 report",
        ReportSource::V2Text => "autoscaler v2 (status text)",
        ReportSource::None => "no autoscaler report yet",
    };
    let mut verdict_lines: Vec<Line> = if a.verdicts.is_empty() && kube_waits.is_empty() {
        vec![Line::from(Span::styled("no worker groups seen yet", t.muted()))]
    } else {
        a.verdicts
            .iter()
            .map(|v| {
                let (mark, style) = match v.state {
                    VerdictState::Steady => ("✓", t.ok()),
                    VerdictState::ScalingUp => ("↑", t.pending()),
                    VerdictState::Blocked => ("✖", t.error()),
                    VerdictState::Infeasible => ("!", t.error()),
                };
                Line::from(vec![Span::styled(format!("{mark} "), style), Span::styled(v.text.clone(), style)])
            })
            .collect()
    };
    // The autoscaler may have asked for pods that Kubernetes does not run: say what holds them.
    verdict_lines.extend(
        kube_waits.into_iter().map(|w| Line::from(vec![Span::styled("⧗ ", t.warn()), Span::styled(w, t.warn())])),
    );
    // Without Prometheus, say where nodes per group over time would come from.
    let history = if app.history.is_none() { " · nodes over time: start with --prometheus URL" } else { "" };
    let title = format!(" Scaling verdicts — {source}{history} ");
    f.render_widget(
        Paragraph::new(verdict_lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()))),
        top,
    );

    let [left, right] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(mid);
    let demand_lines: Vec<Line> = if a.pending.is_empty() {
        vec![Line::from(Span::styled("(no resource demands)", t.muted()))]
    } else {
        a.pending.iter().map(|d| Line::from(Span::styled(d.label(), t.warn()))).collect()
    };
    f.render_widget(
        Paragraph::new(demand_lines)
            .block(Block::bordered().border_style(t.border()).title(Span::styled(" Pending demands ", t.title()))),
        left,
    );
    let mut launch_lines: Vec<Line> = a
        .launches
        .iter()
        .map(|l| Line::from(Span::styled(format!("{} × {} {}", l.count, l.group, l.status), t.pending())))
        .collect();
    launch_lines.extend(
        a.failures.iter().map(|fl| Line::from(Span::styled(format!("✖ {}: {}", fl.group, fl.detail), t.error()))),
    );
    if launch_lines.is_empty() {
        launch_lines.push(Line::from(Span::styled("(no pending launches, no failures)", t.muted())));
    }
    f.render_widget(
        Paragraph::new(launch_lines)
            .block(Block::bordered().border_style(t.border()).title(Span::styled(" Launches & failures ", t.title()))),
        right,
    );

    let (range, mut state) = window(app.selected(), app.rows.len(), bottom);
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::Event { e } => a.events.get(*e),
            _ => None,
        })
        .map(|ev| {
            let (kind, style) = match ev.decision {
                Decision::Adding => ("Adding", t.ok()),
                Decision::Removing => ("Removing", t.warn()),
                Decision::Resized => ("Resized", t.accent()),
                Decision::Restarting => ("Restarting", t.warn()),
                Decision::Warning => ("Warning", t.error()),
                Decision::Other => ("", t.text()),
            };
            TRow::new(vec![
                Cell::from(ev.time.clone()),
                Cell::from(Span::styled(ev.source.clone(), t.muted())),
                Cell::from(Span::styled(kind, style)),
                Cell::from(if ev.repeats > 1 {
                    format!("×{} {}", ev.repeats, ev.message)
                } else {
                    ev.message.clone()
                }),
            ])
        })
        .collect();
    let title = format!(" Decisions & events — {} (newest first) ", app.rows.len());
    let table =
        Table::new(rows, [Constraint::Length(19), Constraint::Length(10), Constraint::Length(10), Constraint::Min(20)])
            .header(TRow::new(["TIME", "SOURCE", "DECISION", "MESSAGE"]).style(t.header()))
            .row_highlight_style(t.selected())
            .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, bottom, &mut state);
}

/// How the Autoscaler view draws.
pub const DRAW: Draw = Draw::Dashboard(draw);

/// One line per worker group: active and pending nodes over the window, as sparklines with the
/// latest count; or why there is none.
fn nodes_over_time(
    h: &crate::model::history::History,
    t: &crate::config::Theme,
    now: SystemTime,
) -> Vec<Line<'static>> {
    // A failure is said first; the last answers stay below it.
    let mut lines: Vec<Line<'static>> =
        super::history_failure(h, now).map(|f| Line::from(Span::styled(f, t.error()))).into_iter().collect();
    let Some(active) = h.results.get("active_nodes") else {
        if lines.is_empty() {
            lines.push(Line::from(Span::styled("asking Prometheus …", t.muted())));
        }
        return lines;
    };
    if active.series.is_empty() {
        lines.push(Line::from(Span::styled(
            "Prometheus has no autoscaler_active_nodes: is the autoscaler scraped?",
            t.warn(),
        )));
        return lines;
    }
    // Over the whole window, as every history sparkline is drawn.
    let spark = |name, p| history::spark_from_zero(h, name, p, 24);
    let last = |p| history::last(p).unwrap_or(f64::NAN);
    lines.extend(active.series.iter().map(|s| {
        let group = s.label("NodeType").to_string();
        let pending = h.of("pending_nodes", "NodeType", &group).unwrap_or_default();
        Line::from(vec![
            Span::styled(format!("{group:<18} "), t.group()),
            Span::styled(format!("active {} {:>3} ", spark("active_nodes", &s.points), last(&s.points)), t.accent()),
            Span::styled(format!(" pending {} {:>3}", spark("pending_nodes", pending), last(pending)), t.warn()),
        ])
    }));
    lines
}
