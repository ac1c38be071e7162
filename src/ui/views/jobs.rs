//! Jobs view: the Ray jobs of the dashboard on screen (submission id, type, status, entrypoint,
//! duration) and, with Kubernetes, every RayJob (job and deployment status, its cluster).

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Row as TRow, Table};

use super::{Draw, window};
use crate::rows::Row;
use crate::state::App;
use crate::ui::widgets::short;
use crate::units::fmt_age;

fn draw(f: &mut Frame, area: Rect, app: &App, now: SystemTime) {
    let t = &app.theme;
    let now_s = crate::model::unix_secs(now);
    let header =
        TRow::new(["JOB", "SOURCE", "STATUS", "ENTRYPOINT / CLUSTER", "DURATION / AGE", "MESSAGE"]).style(t.header());
    let (range, mut state) = window(app.selected(), app.rows.len(), area);
    let jobs = app.cluster().map(|c| c.jobs.as_slice()).unwrap_or_default();
    let rows: Vec<TRow> = app.rows[range]
        .iter()
        .filter_map(|row| match row {
            Row::DashJob { j } => {
                let job = jobs.get(*j)?;
                Some(TRow::new(vec![
                    Cell::from(Span::styled(job.id.clone(), t.accent())),
                    Cell::from(format!("ray {}", job.kind.to_lowercase())),
                    Cell::from(Span::styled(job.status.clone(), t.status(&job.status))),
                    Cell::from(short(&job.entrypoint, 60)),
                    Cell::from(job.duration(now_s).map(fmt_age).unwrap_or_else(|| "-".into())),
                    Cell::from(job.message.clone()),
                ]))
            }
            Row::RayJob { j } => {
                let job = app.k8s.jobs.get(*j)?;
                Some(TRow::new(vec![
                    Cell::from(Span::styled(job.name.clone(), t.accent())),
                    Cell::from(format!("RayJob {}", job.namespace)),
                    Cell::from(Span::styled(
                        format!("{} / {}", job.job_status, job.deployment_status),
                        t.status(&job.job_status),
                    )),
                    Cell::from(if job.job_id.is_empty() {
                        format!("cluster {}", job.cluster)
                    } else {
                        format!("cluster {} · job {}", job.cluster, job.job_id)
                    }),
                    Cell::from(job.created.map(|c| fmt_age((now_s - c).max(0.0))).unwrap_or_else(|| "-".into())),
                    Cell::from(job.message.clone()),
                ]))
            }
            _ => None,
        })
        .collect();
    let title = match app.cluster() {
        Some(c) => format!(" Jobs — {} Ray jobs on {}, {} RayJobs ", c.jobs.len(), c.name, app.k8s.jobs.len()),
        None => format!(" Jobs — {} RayJobs (no dashboard chosen: :use NAME) ", app.k8s.jobs.len()),
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(28),
            Constraint::Length(16),
            Constraint::Length(22),
            // Entrypoints and "cluster C · job ID" are longer than most messages.
            Constraint::Fill(2),
            Constraint::Length(14),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .row_highlight_style(t.selected())
    .block(Block::bordered().border_style(t.border()).title(Span::styled(title, t.title())));
    f.render_stateful_widget(table, area, &mut state);
}

/// How the Jobs view draws.
pub const DRAW: Draw = Draw::Any(draw);
