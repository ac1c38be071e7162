//! Serve view: applications, their deployments and each replica; the status message of the
//! selected (or first failing) application or deployment below, wrapped, so a deploy failure is
//! readable on screen.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, Slice, window};
use crate::config::Command as C;
use crate::model::ClusterState;
use crate::model::serve::Serve;
use crate::msg::Interest;
use crate::rows::Row;
use crate::rows::{Options, matches};
use crate::state::App;
use crate::ui::widgets::{short, short_id};
use crate::units::fmt_age;
use crate::view::View;

fn draw(f: &mut Frame, area: Rect, app: &App, c: &ClusterState, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let apps = &c.serve.applications;
    let message = detail_message(app, c);
    let detail_h = if message.is_some() { 8 } else { 0 };
    let [table_area, detail_area] = Layout::vertical([Constraint::Min(4), Constraint::Length(detail_h)]).areas(area);

    let (range, mut state) = window(app.selected(), app.rows.len(), table_area);
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::App { a, .. } => {
                let x = apps.get(*a)?;
                let marker = if app.folded.contains(&format!("app:{}", x.name)) { "▸" } else { "▾" };
                let deployed = x.last_deployed_time.map(|s| format!("{} ago", fmt_age(now_s - s))).unwrap_or_default();
                let mut cells = vec![
                    Cell::from(Span::styled(format!("{marker} {}", x.name), t.group())),
                    Cell::from(Span::styled(x.status.clone(), t.status(&x.status))),
                    Cell::from(format!("route {}", x.route_prefix.clone().unwrap_or_else(|| "-".into()))),
                    Cell::from(deployed),
                ];
                if let Some(h) = &app.history {
                    cells.push(Cell::from(Span::styled(traffic(h, &x.name), t.accent())));
                }
                cells.push(Cell::from(Span::styled(first_line(&x.message), t.status(&x.status))));
                Some(TRow::new(cells))
            }
            Row::Deployment { a, d } => {
                let dep = apps.get(*a)?.deployments.get(*d)?;
                let running = dep.replicas.iter().filter(|r| r.state == "RUNNING").count();
                let target = dep.target_replicas.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
                let dead = if dep.recent_dead.is_empty() {
                    String::new()
                } else {
                    format!(", {} dead", dep.recent_dead.len())
                };
                Some(TRow::new(with_history_gap(
                    app,
                    vec![
                        Cell::from(format!("  {}", dep.name)),
                        Cell::from(Span::styled(dep.status.clone(), t.status(&dep.status))),
                        Cell::from(format!("{running}/{target} running{dead} · {}", dep.status_trigger)),
                        Cell::from(""),
                        Cell::from(Span::styled(first_line(&dep.message), t.status(&dep.status))),
                    ],
                )))
            }
            Row::Replica { a, d, r } => {
                let rep = apps.get(*a)?.deployments.get(*d)?.replicas.get(*r)?;
                let node = if rep.node_instance_id.is_empty() || rep.node_instance_id == rep.node_id {
                    short_id(&rep.node_id)
                } else {
                    short(&rep.node_instance_id, 20)
                };
                let started = rep.start_time.map(|s| format!("up {}", fmt_age(now_s - s))).unwrap_or_default();
                let pid = rep.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
                Some(TRow::new(with_history_gap(
                    app,
                    vec![
                        Cell::from(format!("    {}", rep.replica_id)),
                        Cell::from(Span::styled(rep.state.clone(), t.status(&rep.state))),
                        Cell::from(format!("{} {node}{pid}", rep.node_ip)),
                        Cell::from(started),
                        Cell::from(Span::styled(format!("actor {}", short(&rep.actor_id, 13)), t.muted())),
                    ],
                )))
            }
            _ => None,
        })
        .collect();
    let unhealthy = apps.iter().filter(|a| Serve::is_unhealthy(&a.status)).count();
    let history = match &app.history {
        None => " · history: start with --prometheus URL".to_string(),
        Some(h) => match super::history_failure(h, now) {
            Some(failure) => format!(" · {failure}"),
            None => format!(" · history {} from {}", crate::model::history::window_label(h.window_s), h.source),
        },
    };
    let title = format!(
        " Serve — {} application(s){}{history} ",
        apps.len(),
        if unhealthy > 0 { format!(", {unhealthy} failing") } else { String::new() }
    );
    let body: Vec<TRow> = if rows.is_empty() && apps.is_empty() {
        vec![TRow::new(vec![Cell::from(Span::styled("no Serve applications", t.muted()))])]
    } else {
        rows
    };
    let mut widths =
        vec![Constraint::Length(22), Constraint::Length(14), Constraint::Length(38), Constraint::Length(10)];
    let mut header = vec!["APP / DEPLOYMENT", "STATUS", "ROUTE / REPLICAS / NODE", "AGE"];
    let traffic_header;
    if let Some(h) = &app.history {
        widths.push(Constraint::Length(40));
        traffic_header = format!("{} REQ/S · ERR/S · P99 · HEALTHY", crate::model::history::window_label(h.window_s));
        header.push(&traffic_header);
    }
    widths.push(Constraint::Min(10));
    header.push("MESSAGE / ACTOR");
    let table = Table::new(body, widths)
        .header(TRow::new(header).style(t.header()))
        .row_highlight_style(t.selected())
        .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, table_area, &mut state);

    if let Some((title, status, text)) = message {
        let p = Paragraph::new(text)
            .style(t.status(&status))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
        f.render_widget(p, detail_area);
    }
}

/// An empty traffic cell before the last one, when the traffic column is shown.
fn with_history_gap<'a>(app: &App, mut cells: Vec<Cell<'a>>) -> Vec<Cell<'a>> {
    if app.history.is_some() {
        let last = cells.len() - 1;
        cells.insert(last, Cell::from(""));
    }
    cells
}

/// One application's traffic over the window: a sparkline of requests per second, then the
/// latest request rate, error rate, p99 latency and healthy replicas, as Prometheus answered.
pub fn traffic(h: &crate::model::history::History, app: &str) -> String {
    let last = |name: &str| h.of_app(name, app).and_then(|p| p.iter().rev().find(|(_, v)| v.is_finite())).map(|p| p.1);
    let rps: Vec<f64> = h.of_app("requests_per_s", app).map(|p| p.iter().map(|x| x.1).collect()).unwrap_or_default();
    if rps.is_empty() && last("replicas_healthy").is_none() {
        // Asked and answered with nothing for this application, or not answered yet (the
        // Autoscaler view's answers say nothing of Serve).
        return if h.results.contains_key("requests_per_s") { "no traffic recorded".into() } else { "…".into() };
    }
    let tail = &rps[rps.len().saturating_sub(10)..];
    let num = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.1}{unit}"));
    format!(
        "{} {} · {} · {} · {}",
        crate::ui::widgets::sparkline(tail, 10),
        num(last("requests_per_s"), "/s"),
        num(last("errors_per_s"), "/s"),
        num(last("p99_ms"), "ms"),
        last("replicas_healthy").map_or("-".into(), |v| format!("{v:.0}")),
    )
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_string()
}

/// The message to show in full: the selected row's application (with the messages of its failing
/// deployments, where the real reason is) or deployment, else the first failing application.
fn detail_message(app: &App, c: &ClusterState) -> Option<(String, String, String)> {
    let apps = &c.serve.applications;
    let app_text = |x: &crate::model::serve::Application| -> (String, String, String) {
        let mut text = x.message.clone();
        for d in x.deployments.iter().filter(|d| Serve::is_unhealthy(&d.status) || d.status == "DEPLOY_FAILED") {
            if !d.message.is_empty() {
                text.push_str(&format!("\n{}: {}", d.name, d.message));
            }
        }
        (format!(" {} ", x.name), x.status.clone(), text.trim().to_string())
    };
    let selected = app.rows.get(app.selected()).and_then(|r| match r {
        Row::App { a, .. } => apps.get(*a).map(app_text),
        Row::Deployment { a, d } | Row::Replica { a, d, .. } => apps.get(*a).and_then(|x| {
            x.deployments
                .get(*d)
                .map(|dep| (format!(" {}/{} ", x.name, dep.name), dep.status.clone(), dep.message.clone()))
        }),
        _ => None,
    });
    selected.filter(|(_, _, m)| !m.is_empty()).or_else(|| {
        apps.iter().find(|x| Serve::is_unhealthy(&x.status)).map(app_text).filter(|(_, _, m)| !m.is_empty())
    })
}

/// The rows this view lists, in order.
pub fn rows(c: Option<&ClusterState>, o: &Options) -> Vec<Row> {
    let Some(c) = c else { return Vec::new() };
    let (filter, folded) = (o.filter, o.folded);
    let mut rows = Vec::new();
    for (a, app) in c.serve.applications.iter().enumerate() {
        let app_hit = matches(filter, &[&app.name, &app.status]);
        let mut children = Vec::new();
        for (d, dep) in app.deployments.iter().enumerate() {
            let dep_hit = app_hit || matches(filter, &[&dep.name, &dep.status]);
            let reps: Vec<Row> = dep
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    dep_hit || matches(filter, &[&r.replica_id, &r.state, &r.node_ip, &r.node_instance_id, &r.actor_id])
                })
                .map(|(r, _)| Row::Replica { a, d, r })
                .collect();
            if dep_hit || !reps.is_empty() {
                children.push(Row::Deployment { a, d });
                children.extend(reps);
            }
        }
        if !app_hit && children.is_empty() {
            continue;
        }
        rows.push(Row::App { a, name: app.name.clone() });
        if !folded.contains(&format!("app:{}", app.name)) {
            rows.extend(children);
        }
    }
    rows
}

/// The Serve view's slice: what it fetches, hints, lists and draws.
pub const SLICE: Slice = Slice {
    view: View::Serve,
    interest: Interest { serve: true, history: Some(crate::msg::HistoryTopic::Serve), ..Interest::ACTIVE },
    hints: &[(C::ToggleFold, "fold"), (C::Redeploy, "redeploy"), (C::ServeReplicas, "replicas")],
    rows,
    draw: Draw::Dashboard(draw),
};
