//! Serve view: applications, their deployments and each replica; the status message of the
//! selected (or first failing) application or deployment below, wrapped, so a deploy failure is
//! readable on screen.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::model::Dashboard;
use crate::model::history::{History, window_label};
use crate::model::serve::Serve;
use crate::rows::Row;
use crate::state::App;
use crate::ui::history;
use crate::ui::widgets::{column_widths, short, short_id};
use crate::units::fmt_age;

fn draw(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let apps = &c.serve.applications;
    let message = detail_message(app, c);
    let detail_h = if message.is_some() { 8 } else { 0 };
    let focus = app.history.as_ref().and_then(|h| history_focus(app, c).map(|f| (h, f)));
    // The pane takes what the table leaves: at least 12 rows, and the table keeps 4.
    let history_h = if focus.is_some() {
        let most = area.height.saturating_sub(detail_h + 4).max(12);
        area.height.saturating_sub(detail_h + app.rows.len() as u16 + 3).clamp(12, most)
    } else {
        0
    };
    let [table_area, history_area, detail_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(history_h), Constraint::Length(detail_h)]).areas(area);
    if let Some((h, (app_name, dep_name))) = focus {
        draw_history(f, history_area, app, h, app_name, dep_name);
    }

    let (range, mut state) = window(app.selected(), app.rows.len(), table_area);
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
    // Cut where the table would, with an ellipsis: "2 de" reads as a word, "2 dea…" as a cut.
    let cols = column_widths(table_area, &widths);
    let (middle_w, message_w) = (cols[2], cols.last().copied().unwrap_or(usize::MAX));
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::App { a, .. } => {
                let x = apps.get(*a)?;
                let marker = if app.folded.contains(&crate::keys::Fold::App(x.name.clone())) { "▸" } else { "▾" };
                let deployed = x.last_deployed_time.map(|s| format!("{} ago", fmt_age(now_s - s))).unwrap_or_default();
                let mut cells = vec![
                    Cell::from(Span::styled(format!("{marker} {}", x.name), t.group())),
                    Cell::from(Span::styled(x.status.clone(), t.status(&x.status))),
                    Cell::from(short(&format!("route {}", x.route_prefix.as_deref().unwrap_or("-")), middle_w)),
                    Cell::from(deployed),
                ];
                if let Some(h) = &app.history {
                    cells.push(Cell::from(Span::styled(traffic(h, &x.name), t.accent())));
                }
                cells.push(Cell::from(Span::styled(short(&first_line(&x.message), message_w), t.status(&x.status))));
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
                let app_name = &apps.get(*a)?.name;
                let mut cells = vec![
                    Cell::from(format!("  {}", dep.name)),
                    Cell::from(Span::styled(dep.status.clone(), t.status(&dep.status))),
                    Cell::from(short(&format!("{running}/{target} running{dead} · {}", dep.status_trigger), middle_w)),
                    Cell::from(""),
                ];
                if let Some(h) = &app.history {
                    cells.push(Cell::from(Span::styled(deployment_traffic(h, app_name, &dep.name), t.accent())));
                }
                cells
                    .push(Cell::from(Span::styled(short(&first_line(&dep.message), message_w), t.status(&dep.status))));
                Some(TRow::new(cells))
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
                let (x, dep) = (apps.get(*a)?, apps.get(*a)?.deployments.get(*d)?);
                let mut cells = vec![
                    Cell::from(format!("    {}", rep.replica_id)),
                    Cell::from(Span::styled(rep.state.clone(), t.status(&rep.state))),
                    Cell::from(short(&format!("{} {node}{pid}", rep.node_ip), middle_w)),
                    Cell::from(started),
                ];
                if let Some(h) = &app.history {
                    let want =
                        [("application", x.name.as_str()), ("deployment", &dep.name), ("replica", &rep.replica_id)];
                    let strip = match h.of_where("replica_healthy", &want) {
                        Some(points) => history::health_strip(h, points, HEALTH_W, t),
                        None => vec![Span::styled("no health series", t.muted())],
                    };
                    cells.push(Cell::from(Line::from(strip)));
                }
                cells.push(Cell::from(Span::styled(format!("actor {}", short(&rep.actor_id, 13)), t.muted())));
                Some(TRow::new(cells))
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

/// Columns of a sparkline or health strip in the table.
const SPARK: usize = 10;
const HEALTH_W: usize = 30;

/// The queries one level of the Serve table reads: an application's, or a deployment's (as its
/// replicas count it).
struct Level {
    rps: &'static str,
    errors: &'static str,
    p99: &'static str,
}

const APP: Level = Level { rps: "requests_per_s", errors: "errors_per_s", p99: "p99_ms" };
const DEPLOYMENT: Level = Level { rps: "dep_requests_per_s", errors: "dep_errors_per_s", p99: "dep_p99_ms" };

/// One row's traffic over the window: a sparkline of requests per second, then the latest
/// request rate, error rate, p99 latency and healthy replicas, as Prometheus answered.
fn traffic_cell(h: &History, level: &Level, want: &[(&str, &str)], healthy: Option<f64>) -> String {
    let rps = h.of_where(level.rps, want).unwrap_or_default();
    if rps.is_empty() && healthy.is_none() {
        // Asked and answered with nothing for this row, or not answered yet (another view's
        // answers say nothing of Serve).
        return if h.results.contains_key(level.rps) { "no traffic recorded".into() } else { "…".into() };
    }
    let num = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.1}{unit}"));
    format!(
        "{} {} · {} · {} · {}",
        history::spark(h, level.rps, rps, SPARK),
        num(history::last(rps), "/s"),
        num(h.of_where(level.errors, want).and_then(history::last), "/s"),
        num(h.of_where(level.p99, want).and_then(history::last), "ms"),
        healthy.map_or("-".into(), |v| format!("{v:.0}")),
    )
}

/// One application's traffic over the window.
pub fn traffic(h: &History, app: &str) -> String {
    let healthy = h.of_app("replicas_healthy", app).and_then(history::last);
    traffic_cell(h, &APP, &[("application", app)], healthy)
}

/// One deployment's traffic over the window; healthy replicas are those whose series reach the
/// latest step (a replaced one's ends).
pub fn deployment_traffic(h: &History, app: &str, dep: &str) -> String {
    let healthy = h.results.get("replica_healthy").and_then(|r| {
        let latest = r.series.iter().filter_map(|s| s.points.last()).map(|p| p.0).fold(f64::MIN, f64::max);
        let mine: Vec<f64> = r
            .series
            .iter()
            .filter(|s| s.label("application") == app && s.label("deployment") == dep)
            .filter_map(|s| s.points.last().filter(|p| p.0 >= latest))
            .map(|p| p.1)
            .collect();
        (!mine.is_empty()).then(|| mine.iter().sum())
    });
    traffic_cell(h, &DEPLOYMENT, &[("application", app), ("deployment", dep)], healthy)
}

/// The application (and deployment, on a deployment or replica row) the selected row is about.
fn history_focus<'a>(app: &App, c: &'a Dashboard) -> Option<(&'a str, Option<&'a str>)> {
    let apps = &c.serve.applications;
    match app.rows.get(app.selected())? {
        Row::App { a, .. } => Some((apps.get(*a)?.name.as_str(), None)),
        Row::Deployment { a, d } | Row::Replica { a, d, .. } => {
            let x = apps.get(*a)?;
            Some((x.name.as_str(), Some(x.deployments.get(*d)?.name.as_str())))
        }
        _ => None,
    }
}

/// The selected application's or deployment's traffic as a chart over the window, and the health
/// of each of its replicas over the same window, replaced ones included: when a replica was
/// unhealthy (`▁`), when it went away and when its successor started (blank before and after).
fn draw_history(f: &mut Frame, area: Rect, app: &App, h: &History, app_name: &str, dep: Option<&str>) {
    use ratatui::style::Style;
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let t = &app.theme;
    let [chart_area, health_area] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let (level, want) = match dep {
        Some(d) => (&DEPLOYMENT, vec![("application", app_name), ("deployment", d)]),
        None => (&APP, vec![("application", app_name)]),
    };
    let (rps, errs, p99) =
        (h.of_where(level.rps, &want), h.of_where(level.errors, &want), h.of_where(level.p99, &want));
    let end = h.span(level.rps).map_or(0.0, |s| s.1);
    // Minutes before now, so the x axis reads -15 … 0 whatever the clock.
    let to_xy = |p: Option<&[(f64, f64)]>| -> Vec<(f64, f64)> {
        p.unwrap_or_default().iter().filter(|(_, v)| v.is_finite()).map(|(ts, v)| ((ts - end) / 60.0, *v)).collect()
    };
    let (rps_xy, err_xy) = (to_xy(rps), to_xy(errs));
    let top = rps_xy.iter().chain(&err_xy).map(|p| p.1).fold(0.0_f64, f64::max).max(1.0) * 1.1;
    let window_min = h.window_s as f64 / 60.0;
    let name = dep.map_or(app_name.to_string(), |d| format!("{app_name}/{d}"));
    let p99_now = p99.and_then(history::last).map_or("-".into(), |v| format!("{v:.0}ms"));
    let title = format!(" {name} req/s · err/s over {} · p99 now {p99_now} ", window_label(h.window_s));
    let datasets = vec![
        Dataset::default()
            .name("req/s")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.accent())
            .data(&rps_xy),
        Dataset::default()
            .name("err/s")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.error())
            .data(&err_xy),
    ];
    let chart = Chart::new(datasets)
        .legend_position(None) // the title names the lines; a legend box would hide the latest points
        .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())))
        .x_axis(
            Axis::default()
                .style(Style::default().patch(t.muted()))
                .bounds([-window_min, 0.0])
                .labels([format!("-{}", window_label(h.window_s)), "now".to_string()]),
        )
        .y_axis(
            Axis::default()
                .style(Style::default().patch(t.muted()))
                .bounds([0.0, top])
                .labels(["0".to_string(), format!("{top:.1}")]),
        );
    f.render_widget(chart, chart_area);

    let mut replicas: Vec<&crate::model::history::Series> = h
        .results
        .get("replica_healthy")
        .map(|r| {
            r.series
                .iter()
                .filter(|s| s.label("application") == app_name && dep.is_none_or(|d| s.label("deployment") == d))
                .collect()
        })
        .unwrap_or_default();
    // Oldest first: a replaced replica sits above the one that took its place.
    replicas.sort_by(|a, b| {
        let first = |s: &crate::model::history::Series| s.points.first().map_or(f64::MAX, |p| p.0);
        first(a).total_cmp(&first(b)).then_with(|| a.label("replica").cmp(b.label("replica")))
    });
    let width = (health_area.width as usize).saturating_sub(24).clamp(8, 120);
    let rows_fit = (health_area.height as usize).saturating_sub(2);
    let skip = replicas.len().saturating_sub(rows_fit);
    let mut lines: Vec<Line> = replicas[skip..]
        .iter()
        .map(|s| {
            let mut spans = vec![Span::styled(format!("{:<20} ", short(s.label("replica"), 20)), t.text())];
            spans.extend(history::health_strip(h, &s.points, width, t));
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        let why = if h.results.contains_key("replica_healthy") {
            "no replica health series"
        } else {
            "asking Prometheus …"
        };
        lines.push(Line::from(Span::styled(why, t.muted())));
    }
    let title = format!(
        " Replica health over {} (█ healthy, ▁ unhealthy, blank: not running){} ",
        window_label(h.window_s),
        if skip > 0 { format!(", {skip} older not shown") } else { String::new() }
    );
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()))),
        health_area,
    );
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_string()
}

/// The message to show in full: the selected row's application (with the messages of its failing
/// deployments, where the real reason is) or deployment, else the first failing application.
fn detail_message(app: &App, c: &Dashboard) -> Option<(String, String, String)> {
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

/// How the Serve view draws.
pub const DRAW: Draw = Draw::Dashboard(draw);
