//! Jobs view: the Ray jobs of the dashboard on screen (submission id, type, status, entrypoint,
//! duration), its Ray Train runs with their workers (`train`), and, with Kubernetes, every
//! RayJob (job and deployment status, its cluster).

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
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
    let header = TRow::new(["JOB", "SOURCE", "STATUS", "ENTRYPOINT / CLUSTER / PROCESS", "DURATION / AGE", "MESSAGE"])
        .style(t.header());
    let runs = app.cluster().map(|c| c.train.runs.as_slice()).unwrap_or_default();
    // The run under the cursor (a run's row or one of its workers'), for the detail.
    let selected_run = match app.rows.get(app.selected()) {
        Some(Row::TrainRun { r } | Row::TrainWorker { r, .. }) => runs.get(*r),
        _ => None,
    };
    let not_tracked = app.cluster().and_then(|c| c.train.not_tracked.as_deref());
    let (area, detail_area) = match (app.run_detail, selected_run) {
        (true, Some(_)) => {
            let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Percentage(50)]).areas(area);
            (a, Some(b))
        }
        _ => (area, None),
    };
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
            Row::TrainRun { r } => Some(super::train::run_row(runs.get(*r)?, now_s, t)),
            Row::TrainWorker { r, a, w } => super::train::worker_row(runs.get(*r)?, *a, *w, t),
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
        Some(c) if c.train.runs.is_empty() => {
            format!(" Jobs — {} Ray jobs on {}, {} RayJobs ", c.jobs.len(), c.name, app.k8s.jobs.len())
        }
        Some(c) => format!(
            " Jobs — {} Ray jobs, {} Train runs on {}, {} RayJobs ",
            c.jobs.len(),
            c.train.runs.len(),
            c.name,
            app.k8s.jobs.len()
        ),
        None => format!(" Jobs — {} RayJobs (no dashboard chosen: :use NAME) ", app.k8s.jobs.len()),
    };
    let table = Table::new(
        rows,
        [
            // A submission id (`raysubmit_` and 16 more) whole.
            Constraint::Length(26),
            Constraint::Length(14),
            Constraint::Length(22),
            // Entrypoints, "cluster C · job ID" and a worker's process are longer than most
            // messages.
            Constraint::Fill(2),
            Constraint::Length(10),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .row_highlight_style(t.selected())
    .block({
        let block = Block::bordered().border_style(t.border()).title(Span::styled(title, t.title()));
        // Why there are no Train runs, on the box's bottom edge: the layout stays as it is.
        match not_tracked {
            Some(why) => block.title_bottom(Span::styled(format!(" {why} "), t.muted())),
            None => block,
        }
    });
    f.render_stateful_widget(table, area, &mut state);
    if let (Some(area), Some(run)) = (detail_area, selected_run) {
        super::train::draw_detail(f, area, run, now_s, t);
    }
}

/// How the Jobs view draws.
pub const DRAW: Draw = Draw::Any(draw);
