//! Autoscaler view: a verdict per group (does it scale, and if not why), pending demands,
//! launches and failures, and the decision timeline, newest first.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, Slice, window};
use crate::model::ClusterState;
use crate::model::autoscaler::{Decision, ReportSource, VerdictState};
use crate::msg::Interest;
use crate::rows::Row;
use crate::rows::{Options, matches};
use crate::state::App;
use crate::view::View;

fn draw(f: &mut Frame, area: Rect, app: &App, c: &ClusterState, _now: SystemTime) {
    let t = &app.theme;
    let a = &c.autoscaler;
    let verdict_h = (a.verdicts.len().max(1) as u16) + 2;
    let mid_h = (a.pending.len().max(a.launches.len() + a.failures.len()).max(1) as u16) + 2;
    let [top, mid, bottom] =
        Layout::vertical([Constraint::Length(verdict_h), Constraint::Length(mid_h), Constraint::Min(4)]).areas(area);

    let source = match a.source {
        ReportSource::V1 => "autoscaler v1 report",
        ReportSource::V2Text => "autoscaler v2 (status text)",
        ReportSource::None => "no autoscaler report yet",
    };
    let verdict_lines: Vec<Line> = if a.verdicts.is_empty() {
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
    let title = format!(" Scaling verdicts — {source} ");
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

/// The rows this view lists, in order.
pub fn rows(c: Option<&ClusterState>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let filter = o.filter;
    let mut rows = Vec::new();
    let events = &c.autoscaler.events;
    for e in (0..events.len()).rev() {
        let ev = &events[e];
        if matches(filter, &[&ev.message, &ev.source, &ev.severity, &ev.time]) {
            rows.push(Row::Event { e });
        }
    }
    rows
}

/// The Autoscaler view's slice: what it fetches, hints, lists and draws.
pub const SLICE: Slice = Slice {
    view: View::Autoscaler,
    interest: Interest { autoscaler: true, ..Interest::ACTIVE },
    hints: &[],
    rows,
    draw: Draw::Dashboard(draw),
};
