//! Kubernetes view: every RayCluster (condition-based health, workers, resources, autoscaling,
//! version, age), RayJobs and RayServices; Enter opens a cluster into its groups (spec beside
//! what runs) and pods (joined to their Ray nodes), with the cluster's Events below.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::{Draw, window};
use crate::rows::Row;
use crate::state::App;
use crate::ui::widgets::{amount_pair, short, short_middle};
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
                route.token_secret.as_ref().map(|s| format!(", Ray token from Secret {s}")).unwrap_or_default()
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
    let nodes = state.groups.iter().map(|g| g.nodes.iter().filter(|n| n.alive).count()).sum::<usize>();
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

fn draw(f: &mut Frame, area: Rect, app: &App, now: SystemTime) {
    let t = &app.theme;
    let k = &app.k8s;
    let now_s = crate::model::unix_secs(now);
    let age = |c: Option<f64>| c.map(|c| fmt_age(now_s - c)).unwrap_or_default();
    if app.kube_target.is_none() {
        let msg = "Kubernetes is off: no kubeconfig found. Set KUBECONFIG or pass --context (raytop reads \
                   kubeconfig like kubectl and k9s).";
        let block = Block::bordered().border_style(t.border()).title(Span::styled(" Kube ", t.title()));
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    // Notices: GPU capacity of the nodes, kinds the user may not read, kinds whose watch is failing.
    let capacity = k.kinds.get(&crate::msg::Resource::Nodes).and_then(|s| s.synced_at).map(|_| gpu_capacity_line(app));
    let notices: Vec<Line> = capacity
        .into_iter()
        .chain(k.kinds.iter().filter_map(|(kind, st)| st.error.as_ref().map(|e| (kind, st, e))).map(|(kind, st, e)| {
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
        }))
        .collect();
    let selected_cluster = app.rows.get(app.selected()).and_then(|r| match r {
        Row::K8sCluster { c } | Row::K8sGroup { c, .. } | Row::K8sPod { c, .. } => k.clusters.get(*c),
        _ => None,
    });
    let events_h = if selected_cluster.is_some_and(|c| !c.events.is_empty()) { 8 } else { 0 };
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

    let (range, mut state) = window(app.selected(), app.rows.len(), table_area);
    // The first column is as wide as the names on screen need, in what the other columns leave;
    // a longer pod name is cut in the middle, so the suffix that tells pods apart stays.
    // The other columns' natural widths, plus the gaps between all seven and the borders.
    let other_columns: u16 = COLUMNS.iter().map(|(w, _)| w).sum::<u16>() + 6 + 2;
    let name_w = app.rows[range.clone()]
        .iter()
        .filter_map(|r| match r {
            Row::K8sCluster { c } => k.clusters.get(*c).map(|cl| cl.name.chars().count() + 2),
            Row::K8sGroup { c, g } => k.clusters.get(*c)?.groups.get(*g).map(|grp| grp.name.chars().count() + 2),
            Row::K8sPod { c, g, p } => {
                k.clusters.get(*c)?.groups.get(*g)?.pods.get(*p).map(|pod| pod.pod.name.chars().count() + 4)
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .clamp(24, usize::from(table_area.width.saturating_sub(other_columns)).max(24));
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|r| match r {
            Row::K8sCluster { c } => {
                let cl = k.clusters.get(*c)?;
                let open = app.k8s_expanded.contains(&crate::keys::ObjectKey::new(&cl.namespace, &cl.name));
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("{} {}", if open { "▾" } else { "▸" }, cl.name), t.group())),
                    Cell::from(cl.namespace.clone()),
                    Cell::from(Span::styled(cl.health.clone(), if cl.healthy { t.ok() } else { t.error() })),
                    Cell::from(format!("{}/{}", opt(cl.desired_workers), opt(cl.available_workers))),
                    Cell::from(format!(
                        "cpu {} gpu {} mem {}",
                        cl.cpus.clone().unwrap_or_else(|| "-".into()),
                        cl.gpus.clone().unwrap_or_else(|| "-".into()),
                        cl.memory.clone().unwrap_or_else(|| "-".into())
                    )),
                    Cell::from(format!(
                        "{} {}",
                        if cl.autoscaling { "auto" } else { "fixed" },
                        cl.ray_version.clone().unwrap_or_else(|| "?".into())
                    )),
                    Cell::from(age(cl.created)),
                ]))
            }
            Row::K8sGroup { c, g } => {
                let grp = k.clusters.get(*c)?.groups.get(*g)?;
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
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("  {}", grp.name), t.accent())),
                    Cell::from(grp.kind),
                    Cell::from(format!("replicas {}{limits}{hosts}", opt(grp.replicas))),
                    Cell::from(format!("ready {}/{}", grp.ready, grp.desired_pods)),
                    Cell::from(Span::styled(
                        format!("run {} pend {} fail {}{delete}", grp.running, grp.pending, grp.failed),
                        if grp.pending + grp.failed > 0 { t.warn() } else { t.text() },
                    )),
                    Cell::from(format!(
                        "{} GPU/pod{}",
                        fmt_amount(grp.gpu_per_pod),
                        if grp.autoscaling { " · autoscaled" } else { "" }
                    )),
                    Cell::from(""),
                ]))
            }
            Row::K8sPod { c, g, p } => {
                let pod = k.clusters.get(*c)?.groups.get(*g)?.pods.get(*p)?;
                let phase = if pod.pod.reason.is_empty() {
                    pod.pod.phase.clone()
                } else {
                    format!("{} {}", pod.pod.phase, pod.pod.reason)
                };
                let ray = match &pod.ray_node {
                    Some(n) => format!("{} {}cpu {}gpu", n.state, amount_pair(n.cpu), amount_pair(n.gpu)),
                    None => "-".into(),
                };
                Some(TRow::new(vec![
                    Cell::from(format!("    {}", short_middle(&pod.pod.name, name_w - 4))),
                    Cell::from(pod.pod.ip.clone()),
                    Cell::from(Span::styled(phase, t.status(&pod.pod.phase.to_uppercase()))),
                    Cell::from(format!("↻{}", pod.pod.restarts)),
                    Cell::from(match pod.node_gpus {
                        Some(on_node) if on_node > 0.0 || pod.pod.gpu_requests > 0.0 => format!(
                            "{} {}/{} GPU",
                            short(&pod.pod.node, 14),
                            fmt_amount(pod.pod.gpu_requests),
                            fmt_amount(on_node)
                        ),
                        _ => format!("{} {} GPU", short(&pod.pod.node, 16), fmt_amount(pod.pod.gpu_requests)),
                    }),
                    Cell::from(Span::styled(ray, if pod.ray_node.is_some() { t.ok() } else { t.muted() })),
                    Cell::from(age(pod.pod.created)),
                ]))
            }
            Row::RayJob { j } => {
                let job = k.jobs.get(*j)?;
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("RayJob {}", job.name), t.accent())),
                    Cell::from(job.namespace.clone()),
                    Cell::from(Span::styled(job.job_status.clone(), t.status(&job.job_status))),
                    Cell::from(job.deployment_status.clone()),
                    Cell::from(format!("cluster {}", job.cluster)),
                    Cell::from(job.message.clone()),
                    Cell::from(age(job.created)),
                ]))
            }
            Row::RayService { s } => {
                let svc = k.services.get(*s)?;
                let apps: Vec<String> = svc.applications.iter().map(|(a, st)| format!("{a}:{st}")).collect();
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("RayService {}", svc.name), t.accent())),
                    Cell::from(svc.namespace.clone()),
                    Cell::from(Span::styled(svc.status.clone(), if svc.status == "Ready" { t.ok() } else { t.warn() })),
                    Cell::from(format!("active {}", svc.active_cluster)),
                    Cell::from(if svc.pending_cluster.is_empty() {
                        String::new()
                    } else {
                        format!("pending {}", svc.pending_cluster)
                    }),
                    Cell::from(apps.join(" ")),
                    Cell::from(age(svc.created)),
                ]))
            }
            _ => None,
        })
        .collect();
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
    let title = format!(
        " Kube {scope} — {} RayCluster(s), {} RayJob(s), {} RayService(s){synced} ",
        k.clusters.len(),
        k.jobs.len(),
        k.services.len()
    );
    let table = Table::new(
        rows,
        // Names first; the wide columns share what is left in proportion to their widths.
        std::iter::once(Constraint::Length(name_w as u16))
            .chain(COLUMNS.iter().map(|&(w, fill)| if fill { Constraint::Fill(w) } else { Constraint::Length(w) })),
    )
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
    .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, table_area, &mut state);

    if let Some(cl) = selected_cluster.filter(|c| !c.events.is_empty()) {
        let lines: Vec<Line> = cl
            .events
            .iter()
            .take(6)
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
            Paragraph::new(lines)
                .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()))),
            events_area,
        );
    }
}

/// How the Kube view draws.
pub const DRAW: Draw = Draw::Any(draw);
