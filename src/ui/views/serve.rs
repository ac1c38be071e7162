//! Serve view: applications, their deployments and each replica; the status message of the
//! selected (or first failing) application or deployment below, wrapped, so a deploy failure is
//! readable on screen.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Table, Wrap};

use super::table_state;
use crate::app::App;
use crate::model::ClusterState;
use crate::model::resources::fmt_age;
use crate::model::serve::Serve;
use crate::rows::Row;
use crate::ui::widgets::short;

pub fn draw(f: &mut Frame, area: Rect, app: &App, c: &ClusterState, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let apps = &c.serve.applications;
    let message = detail_message(app, c);
    let detail_h = if message.is_some() { 8 } else { 0 };
    let [table_area, detail_area] = Layout::vertical([Constraint::Min(4), Constraint::Length(detail_h)]).areas(area);

    let rows: Vec<TRow> = app
        .rows
        .iter()
        .filter_map(|r| match r {
            Row::App { a, .. } => {
                let x = apps.get(*a)?;
                let marker = if app.folded.contains(&format!("app:{}", x.name)) { "▸" } else { "▾" };
                let deployed = x.last_deployed_time.map(|s| format!("deployed {} ago", fmt_age(now_s - s))).unwrap_or_default();
                Some(TRow::new(vec![
                    Cell::from(Span::styled(format!("{marker} {}", x.name), t.group())),
                    Cell::from(Span::styled(x.status.clone(), t.status(&x.status))),
                    Cell::from(x.route_prefix.clone().unwrap_or_default()),
                    Cell::from(""),
                    Cell::from(deployed),
                    Cell::from(Span::styled(first_line(&x.message), t.status(&x.status))),
                ]))
            }
            Row::Deployment { a, d } => {
                let dep = apps.get(*a)?.deployments.get(*d)?;
                let running = dep.replicas.iter().filter(|r| r.state == "RUNNING").count();
                let target = dep.target_replicas.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
                let dead = if dep.recent_dead.is_empty() { String::new() } else { format!(" ({} recently dead)", dep.recent_dead.len()) };
                Some(TRow::new(vec![
                    Cell::from(format!("  {}", dep.name)),
                    Cell::from(Span::styled(dep.status.clone(), t.status(&dep.status))),
                    Cell::from(format!("{running}/{target} running{dead}")),
                    Cell::from(dep.status_trigger.clone()),
                    Cell::from(""),
                    Cell::from(Span::styled(first_line(&dep.message), t.status(&dep.status))),
                ]))
            }
            Row::Replica { a, d, r } => {
                let rep = apps.get(*a)?.deployments.get(*d)?.replicas.get(*r)?;
                let node = if rep.node_instance_id.is_empty() { short(&rep.node_id, 12) } else { short(&rep.node_instance_id, 24) };
                let started = rep.start_time.map(|s| format!("up {}", fmt_age(now_s - s))).unwrap_or_default();
                Some(TRow::new(vec![
                    Cell::from(format!("    {}", rep.replica_id)),
                    Cell::from(Span::styled(rep.state.clone(), t.status(&rep.state))),
                    Cell::from(format!("{} {}", rep.node_ip, node)),
                    Cell::from(format!("actor {}", short(&rep.actor_id, 12))),
                    Cell::from(started),
                    Cell::from(rep.pid.map(|p| format!("pid {p}")).unwrap_or_default()),
                ]))
            }
            _ => None,
        })
        .collect();
    let unhealthy = apps.iter().filter(|a| Serve::is_unhealthy(&a.status)).count();
    let title = format!(" Serve — {} application(s){} ", apps.len(), if unhealthy > 0 { format!(", {unhealthy} failing") } else { String::new() });
    let body: Vec<TRow> = if rows.is_empty() && apps.is_empty() {
        vec![TRow::new(vec![Cell::from(Span::styled("no Serve applications", t.muted()))])]
    } else {
        rows
    };
    let table = Table::new(
        body,
        [Constraint::Length(26), Constraint::Length(14), Constraint::Length(36), Constraint::Length(24), Constraint::Length(18), Constraint::Min(10)],
    )
    .header(TRow::new(["APP / DEPLOYMENT / REPLICA", "STATUS", "ROUTE / REPLICAS / NODE", "TRIGGER / ACTOR", "AGE", "MESSAGE"]).style(t.header()))
    .row_highlight_style(t.selected())
    .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    let mut state = table_state(app.selected(), app.rows.len());
    f.render_stateful_widget(table, table_area, &mut state);

    if let Some((title, status, text)) = message {
        let p = Paragraph::new(text)
            .style(t.status(&status))
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
        f.render_widget(p, detail_area);
    }
}

fn first_line(s: &str) -> String {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_string()
}

/// The message to show in full: the selected row's application or deployment if it has one,
/// else the first failing one.
fn detail_message(app: &App, c: &ClusterState) -> Option<(String, String, String)> {
    let apps = &c.serve.applications;
    let selected = app.rows.get(app.selected()).and_then(|r| match r {
        Row::App { a, .. } => apps.get(*a).map(|x| (format!(" {} ", x.name), x.status.clone(), x.message.clone())),
        Row::Deployment { a, d } | Row::Replica { a, d, .. } => apps
            .get(*a)
            .and_then(|x| x.deployments.get(*d).map(|dep| (format!(" {}/{} ", x.name, dep.name), dep.status.clone(), dep.message.clone()))),
        _ => None,
    });
    selected.filter(|(_, _, m)| !m.is_empty()).or_else(|| {
        apps.iter()
            .find(|x| Serve::is_unhealthy(&x.status) && !x.message.is_empty())
            .map(|x| (format!(" {} ", x.name), x.status.clone(), x.message.clone()))
    })
}
