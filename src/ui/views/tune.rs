//! Tune leaderboard: one experiment's trials ranked by the metric, each hyperparameter a column,
//! the ASHA milestone each reached, and a sparkline; Enter opens the trial detail.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Cell, Chart, Dataset, GraphType, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::model::Dashboard;
use crate::model::tune::{EARLIER_RUN, Experiment, Mode, Trial};
use crate::rows::{Row, TUNE_SORTS};
use crate::state::App;
use crate::ui::widgets::short;
use crate::ui::widgets::sparkline;
use crate::units::fmt_age;

/// A metric value for a narrow column.
pub fn fmt_metric(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.is_nan() => "NaN".into(),
        Some(v) if v.is_infinite() => if v > 0.0 { "inf" } else { "-inf" }.into(),
        Some(v) if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) => format!("{v:.2e}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn fmt_param(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => fmt_metric(Some(f)),
            _ => n.to_string(),
        },
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "-".into(),
    }
}

fn rung_label(t: &Trial) -> String {
    match (t.rung, t.stopped_early) {
        (Some(r), true) => format!("@{r} cut"),
        (Some(r), false) => format!("@{r}"),
        (None, _) => String::new(),
    }
}

fn draw(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, now: SystemTime) {
    let t = &app.theme;
    let ei = app.tune_experiment_index();
    let Some(e) = c.tune.experiments.get(ei) else {
        let head = c.tune.storage.iter().find(|s| s.is_head());
        let msg = if let Some(h) = head.filter(|_| c.tune.problems.is_empty()) {
            format!(
                "No Tune experiments on the {} (looked in the drivers' staging folders under the Ray session, ~/ray_results and /tmp/ray_results). Elsewhere, point raytop at the storage path: --tune-dir s3://BUCKET/PREFIX (or gs://, az://) or DIR.",
                h.url
            )
        } else if c.tune.problems.is_empty() {
            "No Tune experiments found. Point raytop at a storage path with --tune-dir DIR (the folder holding experiment folders, e.g. ~/ray_results).".to_string()
        } else {
            format!("No readable Tune experiment. Problems:\n{}", c.tune.problems.join("\n"))
        };
        let block = Block::bordered().border_style(t.border()).title(Span::styled(" Tune ", t.title()));
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    };
    let (table_area, detail_area) = if app.tune.detail {
        let [a, b] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };
    let [info_area, table_area] = Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(table_area);
    draw_info(f, info_area, app, c, e, ei, now);

    let params: Vec<&String> = e.params.iter().collect();
    let mut header: Vec<String> = ["#", "TRIAL", "STATUS", "BEST", "LAST", "ITER", "RUNG", "TIME", "NODE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(params.iter().map(|p| short(p, 10)));
    header.push("TREND / ERROR".into());
    let (range, mut state) = window(app.selected(), app.rows.len(), table_area);
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::Trial { t: ti, rank, .. } => e.trials.get(*ti).map(|tr| (tr, *rank)),
            _ => None,
        })
        .map(|(tr, rank)| {
            let star = if e.best_trial.as_deref() == Some(tr.trial_id.as_str()) { "★" } else { " " };
            let mut cells = vec![
                Cell::from(Span::styled(
                    if rank == 0 { format!("{star}-") } else { format!("{star}{rank}") },
                    t.accent(),
                )),
                Cell::from(tr.trial_id.clone()),
                Cell::from(Span::styled(
                    if app.cancelled.contains_key(&crate::keys::TrialKey::new(&e.name, &tr.trial_id)) {
                        format!("{} ✂", tr.status)
                    } else {
                        tr.status.clone()
                    },
                    t.status(&tr.status),
                )),
                Cell::from(fmt_metric(tr.best)),
                Cell::from(fmt_metric(tr.last)),
                Cell::from(tr.iterations.to_string()),
                Cell::from(Span::styled(rung_label(tr), if tr.stopped_early { t.warn() } else { t.muted() })),
                Cell::from(tr.run_time_s.map(fmt_age).unwrap_or_default()),
                Cell::from(tr.node_ip.clone().unwrap_or_default()),
            ];
            cells.extend(params.iter().map(|p| Cell::from(fmt_param(tr.config.get(*p)))));
            cells.push(match &tr.error {
                Some(_) => Cell::from(Span::styled(tr.exception.clone(), t.error())),
                None => {
                    let h = e.history(tr);
                    let tail: Vec<f64> = h[h.len().saturating_sub(16)..].iter().map(|p| p.1).collect();
                    Cell::from(Span::styled(sparkline(&tail, 16), t.accent()))
                }
            });
            let row = TRow::new(cells);
            if star == "★" { row.style(ratatui::style::Style::default().add_modifier(Modifier::BOLD)) } else { row }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(10),
    ];
    widths.extend(params.iter().map(|_| Constraint::Length(10)));
    widths.push(Constraint::Min(16));
    let table = Table::new(rows, widths)
        .header(TRow::new(header).style(t.header()))
        .row_highlight_style(t.selected())
        .block(Block::bordered().border_style(t.border()));
    f.render_stateful_widget(table, table_area, &mut state);

    if let Some(area) = detail_area {
        let selected = app.rows.get(app.selected()).and_then(|r| match r {
            Row::Trial { t: ti, .. } => e.trials.get(*ti),
            _ => None,
        });
        if let Some(tr) = selected {
            draw_detail(f, area, app, c, e, tr);
        }
    }
}

fn draw_info(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, e: &Experiment, ei: usize, now: SystemTime) {
    let t = &app.theme;
    let count = |s: &str| e.trials.iter().filter(|tr| tr.status == s).count();
    let mode = match e.mode {
        Mode::Min => "min",
        Mode::Max => "max",
    };
    let sort = TUNE_SORTS
        .get(app.tune.sort)
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.params.get(app.tune.sort - TUNE_SORTS.len()).cloned().unwrap_or_default());
    let order = if app.tune.descending { "↓" } else { "↑" };
    let line1 = Line::from(vec![
        Span::styled(format!(" {} ", e.name), t.title()),
        Span::styled(format!("({}/{}) ", ei + 1, c.tune.experiments.len()), t.muted()),
        Span::raw(format!(
            "{} trials: {} running, {} terminated, {} error, {} pending",
            e.trials.len() - count(EARLIER_RUN),
            count("RUNNING"),
            count("TERMINATED"),
            count("ERROR"),
            count("PENDING")
        )),
        Span::styled(
            match count(EARLIER_RUN) {
                0 => String::new(),
                n => format!(" (+{n} of an earlier run in the same folder)"),
            },
            t.muted(),
        ),
        Span::styled(format!("   sort {sort} {order} · status {}", app.tune.status.unwrap_or("all")), t.muted()),
    ]);
    let metric = e.metric.clone().unwrap_or_else(|| "?".into());
    let mode_style = if e.mode_inferred { t.warn() } else { t.ok() };
    let mut line2 = Line::from(vec![
        Span::raw(format!(" metric {metric} ")),
        Span::styled(format!("({}) ", e.metric_source), t.muted()),
        Span::styled(format!("mode {mode}"), mode_style.add_modifier(Modifier::BOLD)),
        Span::styled(format!(" — {}", e.mode_source), mode_style),
    ]);
    if let Some(s) = c.tune.storage_of(e).filter(|s| s.is_head()) {
        // From a head pod, through exec: how old the last good read is (a failing exec keeps
        // the board), what it moved, and where the experiment lies there.
        let dir = s.found.iter().find(|f| f.name == e.name).map(|f| f.dir.as_str()).unwrap_or("?");
        let age = s.synced_at.map(|at| fmt_age((crate::model::unix_secs(now) - at).max(0.0)));
        line2.spans.push(Span::styled(
            format!(
                " · {} through exec (read {} ago, {} last pass): {dir}",
                s.url,
                age.unwrap_or_else(|| "?".into()),
                crate::units::fmt_bytes(s.bytes_last_pass as f64)
            ),
            t.muted(),
        ));
    } else if let Some(s) = c.tune.storage_of(e) {
        // From cloud storage: how old its copy is (Tune uploads every 10-20 s, not per result).
        let age = s.newest_upload.map(|u| fmt_age((crate::model::unix_secs(now) - u).max(0.0)));
        line2.spans.push(Span::styled(
            format!(" · {}: copy {} old (Tune uploads every 10-20 s)", s.url, age.unwrap_or_else(|| "?".into())),
            t.muted(),
        ));
    }
    f.render_widget(Paragraph::new(vec![line1, line2]), area);
}

fn draw_detail(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, e: &Experiment, tr: &Trial) {
    let t = &app.theme;
    let [left, right] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let mut lines = vec![Line::from(Span::styled(format!("{} · {}", tr.trial_id, tr.status), t.header()))];
    if let Some(at) = app.cancelled.get(&crate::keys::TrialKey::new(&e.name, &tr.trial_id)) {
        let hms = crate::units::fmt_clock(*at);
        lines.push(Line::from(Span::styled(format!("cancelled from raytop at {hms}"), t.warn())));
    }
    if tr.ended_per_folder {
        lines.push(Line::from(Span::styled(
            "the experiment state still says RUNNING; its folder's error file says it ended",
            t.muted(),
        )));
    }
    for (k, v) in &tr.config {
        lines.push(Line::from(vec![Span::styled(format!("  {k} = "), t.muted()), Span::raw(fmt_param(Some(v)))]));
    }
    // The process behind the trial: its last result's pid on its node, matched to a live actor.
    let actor = c.actor_of_trial(tr);
    let process = match (tr.pid, &tr.node_ip, actor) {
        (Some(pid), Some(ip), Some(a)) => {
            format!("pid {pid} on {ip} · actor {} {} ({})", a.class_name, short(&a.actor_id, 13), a.state)
        }
        (Some(pid), Some(ip), None) => format!("pid {pid} on {ip} · no live actor with that pid"),
        _ => "no process reported yet".into(),
    };
    lines.push(Line::from(Span::styled(process, t.accent())));
    lines.push(Line::from(Span::styled(format!("dir {}", tr.logdir), t.muted())));
    if let Some(err) = &tr.error {
        lines.push(Line::from(Span::styled(tr.exception.clone(), t.error())));
        lines.push(Line::raw(""));
        lines.extend(err.lines().take(12).map(|l| Line::from(Span::styled(l.to_string(), t.muted()))));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(t.border()).title(Span::styled(" trial ", t.title()))),
        left,
    );
    let points: Vec<(f64, f64)> =
        e.history(tr).iter().filter(|(_, v)| v.is_finite()).map(|(i, v)| (*i as f64, *v)).collect();
    let (lo, hi) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v)));
    let (lo, hi) = if lo.is_finite() { (lo, if hi > lo { hi } else { lo + 1.0 }) } else { (0.0, 1.0) };
    let xmax = e.history(tr).last().map_or(1.0, |p| p.0.max(1) as f64);
    let metric = e.metric.clone().unwrap_or_default();
    let data = [Dataset::default()
        .name(metric.clone())
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(t.accent())
        .data(&points)];
    let chart = Chart::new(data.to_vec())
        .block(
            Block::bordered()
                .border_style(t.border())
                .title(Span::styled(format!(" {metric} by iteration "), t.title())),
        )
        .x_axis(
            Axis::default()
                .bounds([1.0, xmax])
                .labels(vec![Span::raw("1"), Span::raw(format!("{xmax:.0}"))])
                .style(t.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(vec![Span::raw(fmt_metric(Some(lo))), Span::raw(fmt_metric(Some(hi)))])
                .style(t.muted()),
        );
    f.render_widget(chart, right);
}

/// How the Tune view draws.
pub const DRAW: Draw = Draw::Dashboard(draw);
