//! Cluster view: the head and each worker group with logical usage bars, and their nodes.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row as TRow, Table};

use super::{Draw, window};
use crate::model::Dashboard;
use crate::model::cluster::GroupKind;
use crate::model::history::{GroupSeries, History};
use crate::model::resources::Usage;
use crate::rows::Row;
use crate::state::App;
use crate::ui::history;
use crate::ui::widgets::{amount_pair, bar, bytes_pair, fmt_bytes_short, short, short_id};
use crate::units::fmt_age;

/// A group's NODES cell: "3 alive [1..5] (2 dead)".
fn nodes_text(grp: &crate::model::cluster::Group) -> String {
    let dead = if grp.nodes_dead > 0 { format!(" ({} dead)", grp.nodes_dead) } else { String::new() };
    let limits = match (grp.min, grp.max) {
        (Some(lo), Some(hi)) if hi < u64::from(u32::MAX) => format!(" [{lo}..{hi}]"),
        (Some(lo), Some(_)) => format!(" [{lo}..]"),
        _ => String::new(),
    };
    format!("{} alive{limits}{dead}", grp.nodes_alive)
}

fn draw(f: &mut Frame, area: Rect, app: &App, c: &Dashboard, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let history = app.history.as_ref();
    // With history, its column takes the place of the live host figures (its last point is the
    // same reading); uptime stays where the terminal is wide enough.
    let show_uptime = history.is_none() || area.width >= 140;
    let history_header = history.map(|h| {
        let used = if show_uptime { " · CPUS USED" } else { "" };
        format!("{} HOST CPU · MEM{used}", crate::model::history::window_label(h.window_s))
    });
    let mut header = vec!["GROUP / NODE", "KIND / IP", "NODES / STATE", "CPU", "GPU", "MEMORY"];
    match &history_header {
        Some(hh) => header.push(hh),
        None => header.push("HOST CPU MEM"),
    }
    if show_uptime {
        header.push("UPTIME");
    }
    let header = TRow::new(header).style(t.header());
    let usage_cell = |u: Usage, bytes: bool| -> Cell<'static> {
        let mut spans = bar(u, 5, t);
        spans.push(Span::raw(" "));
        spans.push(Span::raw(if bytes { bytes_pair(u) } else { amount_pair(u) }));
        Cell::from(Line::from(spans))
    };
    let (range, mut state) = window(app.selected(), app.rows.len(), area);
    // Columns as wide as what they hold on screen: a 2,000-node group's "8096/15993" CPUs or
    // "250 alive (3 dead)" must not be cut to a number that reads as another.
    let (mut nodes_w, mut cpu_w, mut gpu_w) = (16, 12, 11);
    let pair_w = |u: Usage| 6 + amount_pair(u).chars().count();
    for row in &app.rows[range.clone()] {
        match row {
            Row::Group { g } => {
                if let Some(grp) = c.groups.get(*g) {
                    nodes_w = nodes_w.max(nodes_text(grp).chars().count());
                    cpu_w = cpu_w.max(pair_w(grp.cpu));
                    gpu_w = gpu_w.max(pair_w(grp.gpu));
                }
            }
            Row::Node { g, n } => {
                if let Some(node) = c.groups.get(*g).and_then(|grp| grp.nodes.get(*n)) {
                    cpu_w = cpu_w.max(pair_w(node.cpu));
                    gpu_w = gpu_w.max(pair_w(node.gpu));
                }
            }
            _ => {}
        }
    }
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|row| match row {
            Row::Group { g } => {
                let grp = c.groups.get(*g)?;
                let folded = app.folded.contains(&crate::keys::Fold::Group(grp.name.clone()));
                let marker = if folded { "▸" } else { "▾" };
                let kind = match grp.kind {
                    GroupKind::Head => "head",
                    GroupKind::Worker => "worker",
                };
                let mut cells = vec![
                    Cell::from(Span::styled(format!("{marker} {}", grp.name), t.group())),
                    Cell::from(kind),
                    Cell::from(nodes_text(grp)),
                    usage_cell(grp.cpu, false),
                    usage_cell(grp.gpu, false),
                    usage_cell(grp.memory, true),
                    match history {
                        Some(h) => Cell::from(Span::styled(
                            group_history(h, c.group_history.get(&grp.name), show_uptime),
                            t.accent(),
                        )),
                        None => Cell::from(""),
                    },
                    Cell::from(""),
                ];
                cells.truncate(if show_uptime { 8 } else { 7 });
                Some(TRow::new(cells))
            }
            Row::Node { g, n } => {
                let node = c.groups.get(*g)?.nodes.get(*n)?;
                let state = if node.alive { "ALIVE" } else { "DEAD" };
                let phys = match (node.cpu_percent, node.mem_used, node.mem_total) {
                    (Some(cpu), Some(used), Some(total)) => {
                        format!("{cpu:>3.0}% {}/{}", fmt_bytes_short(used), fmt_bytes_short(total))
                    }
                    _ => String::new(),
                };
                let uptime = node.start_time.map(|s| fmt_age(now_s - s)).unwrap_or_default();
                // On KubeRay the instance id is the pod name: the name a user knows the node by.
                let name = if !node.instance_id.is_empty() && node.instance_id != node.node_id {
                    short(&node.instance_id, 16)
                } else {
                    short_id(&node.node_id)
                };
                let style = if node.alive { t.text() } else { t.muted() };
                let mut cells = vec![
                    Cell::from(Span::styled(format!("  {name}"), style)),
                    Cell::from(node.ip.clone()),
                    Cell::from(Span::styled(state, t.status(state))),
                    usage_cell(node.cpu, false),
                    usage_cell(node.gpu, false),
                    usage_cell(node.memory, true),
                    match history {
                        Some(h) => Cell::from(Span::styled(node_history(h, node), t.accent())),
                        None => Cell::from(phys),
                    },
                    Cell::from(uptime),
                ];
                cells.truncate(if show_uptime { 8 } else { 7 });
                Some(TRow::new(cells))
            }
            Row::DeadFolded { count, .. } => Some(TRow::new(vec![Cell::from(Span::styled(
                format!("  … {count} dead node(s) folded (press d)"),
                t.muted(),
            ))])),
            _ => None,
        })
        .collect();
    let total = &c.totals;
    let history_note = match history {
        None => " · history: start with --prometheus URL".to_string(),
        Some(h) => match super::history_failure(h, now) {
            Some(failure) => format!(" · {failure}"),
            None if h.answered_empty(crate::msg::HistoryTopic::Cluster) => {
                format!(" · Prometheus {} has no Ray node metrics: is it scraping Ray's metrics ports?", h.source)
            }
            None => String::new(),
        },
    };
    let title = format!(
        " Cluster — {} group(s), {} node(s) alive · CPU {} · GPU {} · memory {}{history_note} ",
        c.groups.len(),
        total.nodes_alive,
        amount_pair(total.cpu),
        amount_pair(total.gpu),
        bytes_pair(total.memory)
    );
    let mut widths = vec![
        Constraint::Length(18),
        Constraint::Length(15),
        Constraint::Length(u16::try_from(nodes_w).unwrap_or(u16::MAX)),
        Constraint::Length(u16::try_from(cpu_w).unwrap_or(u16::MAX)),
        Constraint::Length(u16::try_from(gpu_w).unwrap_or(u16::MAX)),
        Constraint::Length(16),
    ];
    widths.push(match (history.is_some(), show_uptime) {
        (true, true) => Constraint::Length(38),
        (true, false) => Constraint::Min(24),
        (false, _) => Constraint::Length(16),
    });
    if show_uptime {
        widths.push(Constraint::Min(7));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(t.selected())
        .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, area, &mut state);
}

const SPARK: usize = 8;

/// What a row says when Prometheus answered, with no Ray series at all.
const NO_RAY_METRICS: &str = "Prometheus: no Ray data";

/// A node over the window: host CPU busy, with its latest, and memory used now.
fn node_history(h: &History, node: &crate::model::cluster::Node) -> String {
    if node.metrics_instance.is_empty() {
        return "no metrics port known".into();
    }
    let series = |name: &'static str| h.of_instance(name, &node.metrics_instance).unwrap_or_default();
    let (cpu, mem) = (series("cpu_pct"), series("mem_pct"));
    if cpu.is_empty() && mem.is_empty() {
        return match h.results.get("cpu_pct") {
            None => "…".into(),
            Some(r) if r.series.is_empty() => NO_RAY_METRICS.into(),
            Some(_) => "not in Prometheus".into(),
        };
    }
    let pct = |p: &[(f64, f64)]| history::last(p).map_or("-".into(), |v| format!("{v:.0}%"));
    format!("{} {:>4} mem {:>3}", history::spark_from_zero(h, "cpu_pct", cpu, SPARK), pct(cpu), pct(mem))
}

/// A group over the window: its nodes' host CPU busy and memory used, averaged, as a node's
/// line reads; on a wide terminal also the logical CPUs its nodes used, added up.
fn group_history(h: &History, series: Option<&GroupSeries>, wide: bool) -> String {
    let empty = GroupSeries::default();
    let GroupSeries { cpu_pct: cpu, mem_pct: mem, cpu_used: used } = series.unwrap_or(&empty);
    if cpu.is_empty() && mem.is_empty() {
        let none = h.results.get("cpu_pct").is_some_and(|r| r.series.is_empty());
        return if none { NO_RAY_METRICS.into() } else { String::new() };
    }
    let pct = |p: &[(f64, f64)]| history::last(p).map_or("-".into(), |v| format!("{v:.0}%"));
    let mut line =
        format!("{} {:>4} mem {:>3}", history::spark_from_zero(h, "cpu_pct", cpu, SPARK), pct(cpu), pct(mem));
    if wide && !used.is_empty() {
        line.push_str(&format!(
            " · {} {} CPU",
            history::spark_from_zero(h, "cpu_used", used, 6),
            history::last(used).map_or("-".into(), crate::units::fmt_amount)
        ));
    }
    line
}

/// How the Cluster view draws.
pub const DRAW: Draw = Draw::Dashboard(draw);
