//! Kubernetes view: every RayCluster (condition-based health, workers, resources, autoscaling,
//! version, age), RayJobs and RayServices; Enter opens a cluster into its groups (spec beside
//! what runs) and pods (joined to their Ray nodes), with the cluster's Events below.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::rows::Row;
use crate::state::App;
use crate::ui::widgets::{amount_pair, column_widths, short, short_middle};
use crate::units::{fmt_age, fmt_amount};

/// What raytop knows of the selected RayCluster's dashboard, in one line.
fn dashboard_line(app: &App, cl: &crate::model::k8s::K8sCluster) -> Line<'static> {
    use crate::model::Connection;
    let t = &app.theme;
    let route = &cl.dashboard;
    let Some((i, state)) = app.dashboard_for(cl).and_then(|i| app.dashboards.get(i).map(|s| (i, s))) else {
        return Line::from(Span::styled(
            format!(
                " dashboard: Enter opens it through the API server (service {}/{}:dashboard{})",
                route.namespace,
                route.service,
                route.token_place().map(|s| format!(", Ray token from Secret {s}")).unwrap_or_default()
            ),
            t.muted(),
        ));
    };
    let (status, style) = match &state.connection {
        Connection::Connected => ("● connected".to_string(), t.ok()),
        Connection::Connecting => ("○ connecting".to_string(), t.pending()),
        Connection::Disconnected(e) => (format!("✖ {e}"), t.error()),
        Connection::Unauthorized(e) => (format!("✖ {e}"), t.error()),
    };
    let nodes = state.totals.nodes_alive;
    let shown = if i == app.current { " · shown in views 1-6" } else { "" };
    Line::from(vec![
        Span::styled(format!(" dashboard {} ", state.dashboard), t.muted()),
        Span::styled(status, style),
        Span::styled(
            format!(
                "{}{}{shown}",
                state.ray_version.as_ref().map(|v| format!(" · ray {v}")).unwrap_or_default(),
                if nodes > 0 { format!(" · {nodes} Ray nodes") } else { String::new() }
            ),
            t.muted(),
        ),
    ])
}

/// The nodes' GPUs against what Ray pods request: why a GPU group cannot grow, at a glance.
fn gpu_capacity_line(app: &App) -> Line<'static> {
    let t = &app.theme;
    let c = &app.k8s.gpu_capacity;
    if c.gpu_nodes == 0 {
        let style = if c.pending_requests > 0.0 { t.warn() } else { t.muted() };
        return Line::from(Span::styled(
            format!(
                " GPU: no node offers GPUs{}",
                if c.pending_requests > 0.0 {
                    format!(
                        " — {} GPU(s) asked for by pending Ray pods cannot be placed",
                        fmt_amount(c.pending_requests)
                    )
                } else {
                    String::new()
                }
            ),
            style,
        ));
    }
    let free = (c.allocatable - c.requested_by_ray_pods).max(0.0);
    let pending = if c.pending_requests > 0.0 {
        format!(" (+{} pending)", fmt_amount(c.pending_requests))
    } else {
        String::new()
    };
    Line::from(vec![
        Span::styled(
            format!(
                " GPU nodes {}/{} ready{} · allocatable {} · requested by Ray pods {}{pending} · ",
                c.gpu_nodes_ready,
                c.gpu_nodes,
                if c.products.is_empty() { String::new() } else { format!(" ({})", c.products.join(", ")) },
                fmt_amount(c.allocatable),
                fmt_amount(c.requested_by_ray_pods),
            ),
            t.muted(),
        ),
        Span::styled(format!("at most {} free", fmt_amount(free)), if free > 0.0 { t.ok() } else { t.warn() }),
    ])
}

/// The columns after the name: natural width, and whether they share leftover space (a narrow
/// count column keeps its width).
const COLUMNS: [(u16, bool); 6] = [(15, true), (24, true), (9, false), (21, true), (14, true), (6, false)];

fn opt(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// A cell's text and style, cut to its column's width before it becomes a `Cell`.
type Text = (String, Style);

fn draw(f: &mut Frame, area: Rect, app: &App, now: SystemTime) {
    let t = &app.theme;
    if app.kube_target.is_none() {
        let msg = "Kubernetes is off: no kubeconfig found. Set KUBECONFIG or pass --context (raytop reads \
                   kubeconfig like kubectl and k9s).";
        let block = Block::bordered().border_style(t.border()).title(Span::styled(" Kube ", t.title()));
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    let notices = notices(app, now);
    let selected_cluster = app.rows.get(app.selected()).and_then(|r| match r {
        Row::K8sCluster { c } | Row::K8sGroup { c, .. } | Row::K8sPod { c, .. } => app.k8s.clusters.get(*c),
        _ => None,
    });
    // A real cluster's events come fast (the kubelet alone posts four or more per pod): a third of
    // the height, at least 8 rows, keeps the operator's and the scheduler's in sight.
    let events_h =
        if selected_cluster.is_some_and(|c| !c.events.is_empty()) { (area.height / 3).clamp(8, 20) } else { 0 };
    let dash_h = u16::from(selected_cluster.is_some());
    let [notice_area, table_area, dash_area, events_area] = Layout::vertical([
        Constraint::Length(notices.len() as u16),
        Constraint::Min(4),
        Constraint::Length(dash_h),
        Constraint::Length(events_h),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(notices).wrap(Wrap { trim: true }), notice_area);
    if let Some(cl) = selected_cluster {
        f.render_widget(Paragraph::new(dashboard_line(app, cl)), dash_area);
    }
    draw_table(f, table_area, app, now);
    if let Some(cl) = selected_cluster.filter(|c| !c.events.is_empty()) {
        draw_events(f, events_area, app, cl, now);
    }
}

/// GPU capacity of the nodes, kinds the user may not read, kinds whose watch is failing.
fn notices(app: &App, now: SystemTime) -> Vec<Line<'static>> {
    let t = &app.theme;
    let k = &app.k8s;
    let capacity = k.kinds.get(&crate::msg::Resource::Nodes).and_then(|s| s.synced_at).map(|_| gpu_capacity_line(app));
    let failing =
        k.kinds.iter().filter_map(|(kind, st)| st.error.as_ref().map(|e| (kind, st, e))).map(|(kind, st, e)| {
            let age =
                st.synced_at.map(|at| format!(" — data from {} ago", fmt_age(App::age(now, at)))).unwrap_or_default();
            // A kind the user may not read is a standing notice, not a fault with a duration.
            let since = st
                .failing_since
                .filter(|_| !st.forbidden)
                .map(|at| format!(" (for {})", fmt_age(App::age(now, at))))
                .unwrap_or_default();
            let style = if st.forbidden { t.warn() } else { t.error() };
            Line::from(Span::styled(format!("⚠ {kind}{since}: {e}{age}"), style))
        });
    capacity.into_iter().chain(failing).collect()
}

fn draw_table(f: &mut Frame, area: Rect, app: &App, now: SystemTime) {
    let t = &app.theme;
    let (range, mut state) = window(app.selected(), app.rows.len(), area);
    let name_w = name_width(app, &app.rows[range.clone()], area);
    let constraints: Vec<Constraint> = std::iter::once(Constraint::Length(name_w as u16))
        .chain(COLUMNS.iter().map(|&(w, fill)| if fill { Constraint::Fill(w) } else { Constraint::Length(w) }))
        .collect();
    // Cut where the table would, with an ellipsis: a cut in mid-word reads as another word.
    let widths = column_widths(area, &constraints);
    let now_s = crate::model::unix_secs(now);
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| object_cells(app, r, &widths, now_s))
        .map(|cells| {
            TRow::new(
                cells
                    .into_iter()
                    .zip(widths.iter().chain(std::iter::repeat(&usize::MAX)))
                    .map(|((text, style), &w)| Cell::from(Span::styled(short(&text, w), style))),
            )
        })
        .collect();
    let table = Table::new(rows, constraints)
        .header(
            TRow::new([
                "NAME / GROUP / POD",
                "NS / KIND / IP",
                "HEALTH / STATUS",
                "WANT/HAVE",
                "RESOURCES / PODS",
                "SCALING / RAY NODE",
                "AGE",
            ])
            .style(t.header()),
        )
        .row_highlight_style(t.selected())
        .block(Block::bordered().border_style(t.border()).title(Span::styled(title(app, now), t.title())));
    f.render_stateful_widget(table, area, &mut state);
}

/// The first column is as wide as the names on screen need, in what the other columns leave; a
/// longer pod name is cut in the middle, so the suffix that tells pods apart stays.
fn name_width(app: &App, rows: &[Row], area: Rect) -> usize {
    let k = &app.k8s;
    // The other columns' natural widths, plus the gaps between all seven and the borders.
    let other_columns: u16 = COLUMNS.iter().map(|(w, _)| w).sum::<u16>() + 6 + 2;
    rows.iter()
        .filter_map(|r| match r {
            Row::K8sCluster { c } => k.clusters.get(*c).map(|cl| cl.name.chars().count() + 2),
            Row::K8sGroup { c, g } => k.clusters.get(*c)?.groups.get(*g).map(|grp| grp.name.chars().count() + 2),
            Row::K8sPod { c, g, p } => {
                k.clusters.get(*c)?.groups.get(*g)?.pods.get(*p).map(|pod| pod.pod.name.chars().count() + 4)
            }
            Row::RayJob { j } => k.jobs.get(*j).map(|job| job.name.chars().count()),
            Row::RayService { s } => k.services.get(*s).map(|svc| svc.name.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .clamp(24, usize::from(area.width.saturating_sub(other_columns)).max(24))
}

/// One table row's cells, or `None` for a row this view does not draw. `widths` are the
/// columns' on screen, for names cut in the middle (generated names differ at the end).
fn object_cells(app: &App, row: &Row, widths: &[usize], now_s: f64) -> Option<Vec<Text>> {
    let width = |col: usize| widths.get(col).copied().unwrap_or(usize::MAX);
    let k = &app.k8s;
    let age = |c: Option<f64>| c.map(|c| fmt_age(now_s - c)).unwrap_or_default();
    // Each row's cells, and when its object was created (a group is not an object: no age).
    let (mut cells, created) = match row {
        Row::K8sCluster { c } => {
            let cl = k.clusters.get(*c)?;
            (cluster_cells(app, cl), cl.created)
        }
        Row::K8sGroup { c, g } => (group_cells(app, k.clusters.get(*c)?.groups.get(*g)?), None),
        Row::K8sPod { c, g, p } => {
            let pod = k.clusters.get(*c)?.groups.get(*g)?.pods.get(*p)?;
            (pod_cells(app, pod, width(0)), pod.pod.created)
        }
        Row::RayJob { j } => {
            let job = k.jobs.get(*j)?;
            (job_cells(app, job, width(4)), job.created)
        }
        Row::RayService { s } => {
            let svc = k.services.get(*s)?;
            (service_cells(app, svc, width(4)), svc.created)
        }
        _ => return None,
    };
    cells.push((age(created), app.theme.text()));
    Some(cells)
}

fn cluster_cells(app: &App, cl: &crate::model::k8s::K8sCluster) -> Vec<Text> {
    let t = &app.theme;
    let open = app.k8s_expanded.contains(&crate::keys::ObjectKey::new(&cl.namespace, &cl.name));
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        (format!("{} {}", if open { "▾" } else { "▸" }, cl.name), t.group()),
        (cl.namespace.clone(), t.text()),
        (cl.health.clone(), if cl.healthy { t.ok() } else { t.error() }),
        (format!("{}/{}", opt(cl.desired_workers), opt(cl.available_workers)), t.text()),
        (format!("cpu {} gpu {} mem {}", or_dash(&cl.cpus), or_dash(&cl.gpus), or_dash(&cl.memory)), t.text()),
        (
            format!(
                "{} {}",
                if cl.autoscaling { "auto" } else { "fixed" },
                cl.ray_version.clone().unwrap_or_else(|| "?".into())
            ),
            t.text(),
        ),
    ]
}

fn group_cells(app: &App, grp: &crate::model::k8s::K8sGroup) -> Vec<Text> {
    let t = &app.theme;
    let limits = match (grp.min, grp.max) {
        (Some(lo), Some(hi)) => {
            format!(" [{lo}..{}]", if hi >= i64::from(i32::MAX) { "∞".into() } else { hi.to_string() })
        }
        _ => String::new(),
    };
    let hosts = if grp.num_of_hosts > 1 { format!(" ×{} hosts", grp.num_of_hosts) } else { String::new() };
    let delete = if grp.workers_to_delete.is_empty() {
        String::new()
    } else {
        format!(" delete {}", grp.workers_to_delete.join(","))
    };
    vec![
        (format!("  {}", grp.name), t.accent()),
        (grp.kind.to_string(), t.text()),
        (format!("replicas {}{limits}{hosts}", opt(grp.replicas)), t.text()),
        (format!("ready {}/{}", grp.ready, grp.desired_pods), t.text()),
        (
            format!("run {} pend {} fail {}{delete}", grp.running, grp.pending, grp.failed),
            if grp.pending + grp.failed > 0 { t.warn() } else { t.text() },
        ),
        (
            format!("{} GPU/pod{}", fmt_amount(grp.gpu_per_pod), if grp.autoscaling { " · autoscaled" } else { "" }),
            t.text(),
        ),
    ]
}

fn pod_cells(app: &App, pod: &crate::model::k8s::PodRow, name_w: usize) -> Vec<Text> {
    let t = &app.theme;
    // A pod the scheduler cannot place shows what no node has ("Pending 1 Insufficient cpu"):
    // the column is narrow, and the cause says more than the word "Unschedulable".
    let reason = match pod.pod.reason.strip_prefix("Unschedulable (") {
        Some(cause) => cause.trim_end_matches(')'),
        None => pod.pod.reason.as_str(),
    };
    let phase = if reason.is_empty() { pod.pod.phase.clone() } else { format!("{} {}", pod.pod.phase, reason) };
    let ray = match &pod.ray_node {
        Some(n) => format!("{} {}cpu {}gpu", n.state, amount_pair(n.cpu), amount_pair(n.gpu)),
        None => "-".into(),
    };
    let node = match pod.node_gpus {
        Some(on_node) if on_node > 0.0 || pod.pod.gpu_requests > 0.0 => {
            format!("{} {}/{} GPU", short(&pod.pod.node, 14), fmt_amount(pod.pod.gpu_requests), fmt_amount(on_node))
        }
        _ => format!("{} {} GPU", short(&pod.pod.node, 16), fmt_amount(pod.pod.gpu_requests)),
    };
    vec![
        (format!("    {}", short_middle(&pod.pod.name, name_w.saturating_sub(4))), t.text()),
        (pod.pod.ip.clone(), t.text()),
        (phase, t.status(&pod.pod.phase.to_uppercase())),
        (format!("↻{}", pod.pod.restarts), t.text()),
        (node, t.text()),
        (ray, if pod.ray_node.is_some() { t.ok() } else { t.muted() }),
    ]
}

/// A RayJob; its cluster's name cut in the middle to `cluster_w`, as a service's clusters are.
fn job_cells(app: &App, job: &crate::model::k8s::RayJobObj, cluster_w: usize) -> Vec<Text> {
    let t = &app.theme;
    vec![
        (job.name.clone(), t.accent()),
        (kind_in(app, "RayJob", &job.namespace), t.text()),
        (job.job_status.clone(), t.status(&job.job_status)),
        (job.deployment_status.clone(), t.text()),
        (format!("cluster {}", short_middle(&job.cluster, cluster_w.saturating_sub(8))), t.text()),
        (job.message.clone(), t.text()),
    ]
}

/// A RayService: its applications running out of all in WANT/HAVE, its clusters by name (cut
/// in the middle to `clusters_w`: the generated suffix tells them apart), the applications that
/// are not running with their status.
fn service_cells(app: &App, svc: &crate::model::k8s::RayServiceObj, clusters_w: usize) -> Vec<Text> {
    let t = &app.theme;
    let running = |st: &str| st == "RUNNING";
    let apps: Vec<String> =
        svc.applications.iter().map(|(a, st)| if running(st) { a.clone() } else { format!("{a}:{st}") }).collect();
    let up = svc.applications.iter().filter(|(_, st)| running(st)).count();
    let clusters = if svc.pending_cluster.is_empty() {
        format!("active {}", short_middle(&svc.active_cluster, clusters_w.saturating_sub(7)))
    } else {
        let each = clusters_w.saturating_sub(16) / 2;
        format!(
            "active {} pending {}",
            short_middle(&svc.active_cluster, each),
            short_middle(&svc.pending_cluster, each)
        )
    };
    vec![
        (svc.name.clone(), t.accent()),
        (kind_in(app, "RayService", &svc.namespace), t.text()),
        (svc.status.clone(), if svc.status == "Ready" { t.ok() } else { t.warn() }),
        (format!("{up}/{} apps", svc.applications.len()), t.text()),
        (clusters, t.text()),
        (apps.join(" "), t.text()),
    ]
}

/// A job's or service's kind, with its namespace unless the view shows one namespace only (the
/// title names it then).
fn kind_in(app: &App, kind: &str, namespace: &str) -> String {
    match &app.k8s.namespace {
        Some(_) => kind.to_string(),
        None => format!("{kind} · {namespace}"),
    }
}

fn title(app: &App, now: SystemTime) -> String {
    let k = &app.k8s;
    let scope = match (&k.context, &k.namespace) {
        (Some(c), Some(n)) => format!("{c} / {n}"),
        (Some(c), None) => format!("{c} / all namespaces"),
        (None, Some(n)) => n.clone(),
        (None, None) => "all namespaces".into(),
    };
    // A healthy watch is live however long nothing changed; only a failing one has an age.
    // A kind the user may not read is a notice, not staleness: the watches that run are still live.
    let failing = k.kinds.values().any(|s| s.error.is_some() && !s.forbidden);
    let synced = match (failing, k.data_time()) {
        (true, Some(at)) => format!(" · stale: data from {} ago", fmt_age(App::age(now, at))),
        (false, Some(_)) => " · live".to_string(),
        _ => String::new(),
    };
    format!(
        " Kube {scope} — {} RayCluster(s), {} RayJob(s), {} RayService(s){synced} ",
        k.clusters.len(),
        k.jobs.len(),
        k.services.len()
    )
}

fn draw_events(f: &mut Frame, area: Rect, app: &App, cl: &crate::model::k8s::K8sCluster, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let lines: Vec<Line> = cl
        .events
        .iter()
        .take(usize::from(area.height.saturating_sub(2)))
        .map(|e| {
            let style = if e.kind == "Warning" { t.warn() } else { t.text() };
            Line::from(vec![
                Span::styled(format!("{:>6} ", e.time.map(|x| fmt_age(now_s - x)).unwrap_or_default()), t.muted()),
                Span::styled(format!("{:<22}", e.reason), style),
                Span::raw(format!("{}/{}: {}", e.object_kind, e.object_name, e.message)),
            ])
        })
        .collect();
    let title = format!(" Events of {} (newest first) ", cl.name);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()))),
        area,
    );
}

/// How the Kube view draws.
pub const DRAW: Draw = Draw::Any(draw);
