//! GPU view: cluster totals, what looks wasted or blocked, and per GPU node what Ray counts, each
//! physical GPU's stats, and who holds the GPUs (trial, Serve replica or actor).

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::model::Dashboard;
use crate::model::history::History;
use crate::rows::Row;
use crate::state::App;
use crate::ui::history;
use crate::ui::widgets::{amount_pair, bar, short, short_id};
use crate::units::fmt_amount;

fn draw(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, now: SystemTime) {
    let t = &app.theme;
    let g = &c.gpus;
    let flags_h = if g.flags.is_empty() { 3 } else { (g.flags.len().min(6) as u16) + 2 };
    let [flags_area, table_area] = Layout::vertical([Constraint::Length(flags_h), Constraint::Min(3)]).areas(area);
    let flag_lines: Vec<Line> = if g.flags.is_empty() {
        vec![Line::from(Span::styled("nothing idle, nothing waiting", t.ok()))]
    } else {
        g.flags.iter().map(|fl| Line::from(Span::styled(format!("⚠ {fl}"), t.warn()))).collect()
    };
    f.render_widget(
        Paragraph::new(flag_lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().border_style(t.border()).title(Span::styled(" Waste and waits ", t.title()))),
        flags_area,
    );

    let (range, mut state) = window(app.selected(), app.rows.len(), table_area);
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::GpuNode { n } => {
                let node = g.nodes.get(*n)?;
                let name = if node.instance_id.is_empty() || node.instance_id == node.node_id {
                    short_id(&node.node_id)
                } else {
                    short(&node.instance_id, 24)
                };
                let mut gpu = bar(node.ray, 5, t);
                gpu.push(Span::raw(format!(" {} allocated", amount_pair(node.ray))));
                if let Some(r) = node.k8s_requested {
                    gpu.push(Span::styled(format!(" · pod asks {}", fmt_amount(r)), t.muted()));
                }
                let mut cells = vec![
                    Cell::from(Span::styled(format!("▾ {}", node.group), t.group())),
                    Cell::from(name),
                    Cell::from(node.ip.clone()),
                    Cell::from(Line::from(gpu)),
                    Cell::from(Span::styled(
                        if node.devices.is_empty() {
                            "logical GPUs: no device stats".to_string()
                        } else {
                            format!("{} device(s)", node.devices.len())
                        },
                        t.muted(),
                    )),
                ];
                if let Some(h) = &app.history {
                    cells.push(Cell::from(Span::styled(node_history(h, node), t.accent())));
                }
                Some(TRow::new(cells))
            }
            Row::GpuDevice { n, d } => {
                let dev = g.nodes.get(*n)?.devices.get(*d)?;
                let util = dev.utilization.map(|u| format!("{u:.0}% busy")).unwrap_or_else(|| "busy ?".into());
                let mem = match (dev.memory_used_mb, dev.memory_total_mb) {
                    (Some(u), Some(tot)) => format!("{:.1}/{:.1}G", u / 1024.0, tot / 1024.0),
                    _ => String::new(),
                };
                let extra = [dev.power_w.map(|w| format!("{w:.0}W")), dev.temperature_c.map(|c| format!("{c:.0}°C"))]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let holders: Vec<String> = dev
                    .processes
                    .iter()
                    .map(|p| match &p.holder {
                        Some(h) => format!("{} {} (pid {})", h.kind, h.name, p.pid),
                        None => format!("pid {}", p.pid),
                    })
                    .collect();
                let style = if dev.idle_for_s.is_some() { t.warn() } else { t.text() };
                let mut cells = vec![
                    Cell::from(format!("  GPU {}", dev.index.unwrap_or(0))),
                    Cell::from(short(dev.name.as_deref().unwrap_or("?"), 24)),
                    Cell::from(Span::styled(util, style)),
                    Cell::from(format!("{mem} {extra}")),
                    Cell::from(if holders.is_empty() { "no process".into() } else { holders.join(", ") }),
                ];
                if let Some(h) = &app.history {
                    cells.push(Cell::from(Span::styled(device_history(h, dev), style)));
                }
                Some(TRow::new(cells))
            }
            Row::GpuHolder { n, h } => {
                let holder = g.nodes.get(*n)?.holders.get(*h)?;
                let style = match holder.kind {
                    "trial" => t.accent(),
                    "serve_replica" => t.ok(),
                    _ => t.text(),
                };
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("  ↳ {}", holder.kind.replace('_', " ")), style)),
                    Cell::from(Span::styled(short(&holder.name, 24), style)),
                    Cell::from(holder.pid.map(|p| format!("pid {p}")).unwrap_or_default()),
                    Cell::from(format!("{} GPU", fmt_amount(holder.gpus))),
                    Cell::from(Span::styled(format!("actor {}", short(&holder.actor_id, 13)), t.muted())),
                ]))
            }
            _ => None,
        })
        .collect();
    let k8s = g.totals.k8s_requested.map(fmt_amount).unwrap_or_else(|| "n/a (no Kubernetes source)".into());
    let title = format!(
        " GPUs — Ray {} allocated · physical {} ({} busy) · pending demand {} GPU · Kubernetes requests {k8s} ",
        amount_pair(g.totals.ray),
        g.totals.physical,
        g.totals.busy,
        fmt_amount(g.totals.pending_demand)
    );
    let body =
        if rows.is_empty() { vec![TRow::new(vec![Cell::from(Span::styled("no GPU nodes", t.muted()))])] } else { rows };
    let mut widths = vec![
        Constraint::Length(18),
        Constraint::Length(24),
        Constraint::Length(14),
        Constraint::Length(24),
        Constraint::Min(20),
    ];
    let mut header =
        vec!["GROUP / GPU", "NODE / MODEL / HOLDER", "IP / BUSY", "ALLOCATED / MEMORY", "DEVICES / PROCESSES"];
    let history_header = app
        .history
        .as_ref()
        .map(|h| format!("{} GPUS USED / BUSY · MEMORY", crate::model::history::window_label(h.window_s)));
    if let Some(hh) = &history_header {
        widths.push(Constraint::Length(30));
        header.push(hh);
    }
    let title = match &app.history {
        Some(h) => match super::history_failure(h, now) {
            Some(failure) => format!("{title}· {failure} "),
            None => title,
        },
        None => format!("{title}· history: start with --prometheus URL "),
    };
    let table = Table::new(body, widths)
        .header(TRow::new(header).style(t.header()))
        .row_highlight_style(t.selected())
        .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, table_area, &mut state);
}

const SPARK: usize = 12;

/// A node over the window: the logical GPUs Ray counted as used.
fn node_history(h: &History, node: &crate::model::gpu::GpuNode) -> String {
    let Some(used) = h.of_instance("gpu_used", &node.metrics_instance).filter(|_| !node.metrics_instance.is_empty())
    else {
        return if h.results.contains_key("gpu_used") { "not in Prometheus".into() } else { "…".into() };
    };
    format!(
        "{} {} used",
        history::spark_from_zero(h, "gpu_used", used, SPARK),
        history::last(used).map_or("-".into(), fmt_amount)
    )
}

/// A physical GPU over the window: how busy, and its memory in use.
fn device_history(h: &History, dev: &crate::model::gpu::Device) -> String {
    let uuid = dev.uuid.as_deref().unwrap_or_default();
    let Some(util) = h.of("gpu_util", "GpuUuid", uuid).filter(|_| !uuid.is_empty()) else {
        return if h.results.contains_key("gpu_util") { "not in Prometheus".into() } else { "…".into() };
    };
    let mem = h.of("gram_used_mb", "GpuUuid", uuid).and_then(history::last);
    format!(
        "{} {:>3} · {}",
        history::spark_from_zero(h, "gpu_util", util, SPARK),
        history::last(util).map_or("-".into(), |v| format!("{v:.0}%")),
        mem.map_or("-".into(), |mb| format!("{:.1}G", mb / 1024.0)),
    )
}

/// How the GPU view draws.
pub const DRAW: Draw = Draw::Dashboard(draw);
