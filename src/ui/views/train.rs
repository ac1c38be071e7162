//! Ray Train runs in the Jobs view: a run's row and its workers' rows (the table is the Jobs
//! view's), and the run detail Enter opens below it: attempts, what ended each, settings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TRow, Wrap};

use crate::config::theme::Theme;
use crate::model::train::{TrainRun, Worker};
use crate::ui::widgets::short;
use crate::units::{fmt_age, fmt_bytes};

/// The first line of a controller's detail (an error snippet runs to dozens of lines).
fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// What ended the run's previous attempt, when the current one replaced it.
fn why_restarted(run: &TrainRun) -> Option<String> {
    let n = run.attempts.len();
    let before = run.attempts.get(n.checked_sub(2)?)?;
    let ranks = before.failed_ranks.iter().map(|r| format!("rank {r}")).collect::<Vec<_>>().join(", ");
    let who = if ranks.is_empty() { String::new() } else { format!(" ({ranks} failed)") };
    Some(format!("attempt {} {}{who}", n - 1, before.status))
}

pub fn run_row(run: &TrainRun, now: f64, t: &Theme) -> TRow<'static> {
    let attempts = run.attempts.len();
    let status = if attempts > 1 { format!("{} · attempt {attempts}", run.status) } else { run.status.clone() };
    // Ranks alive now, of those the run last had (a new attempt has none while scheduled).
    let alive = run.current().map_or(0, |a| a.workers.iter().filter(|w| w.status == "ALIVE").count());
    let ranks = run.shown_attempt().map_or(0, |a| run.attempts[a].workers.len());
    let what = format!("{alive}/{ranks} alive · job {}", run.job);
    let short_of = run.is_active() && alive < ranks;
    let detail = first_line(&run.status_detail);
    let message = match why_restarted(run) {
        Some(why) if detail.is_empty() => why,
        Some(why) => format!("{detail} · {why}"),
        None => detail.to_string(),
    };
    TRow::new(vec![
        Cell::from(Span::styled(run.name.clone(), t.accent())),
        Cell::from("train run"),
        Cell::from(Span::styled(status, t.status(&run.status))),
        Cell::from(Span::styled(what, if short_of { t.error() } else { t.text() })),
        Cell::from(run.duration(now).map(fmt_age).unwrap_or_else(|| "-".into())),
        Cell::from(message),
    ])
}

/// A worker's process, as one cell: node, pid, GPUs, CPU and memory when Ray reports them.
fn process(w: &Worker) -> String {
    let mut s = format!("node {}", w.node_ip);
    if let Some(pid) = w.pid {
        s.push_str(&format!(" · pid {pid}"));
    }
    if !w.gpu_ids.is_empty() {
        let ids: Vec<String> = w.gpu_ids.iter().map(i64::to_string).collect();
        s.push_str(&format!(" · GPU {}", ids.join(",")));
    }
    if let Some(cpu) = w.cpu_percent {
        s.push_str(&format!(" · CPU {cpu:.0}%"));
    }
    if let Some(rss) = w.rss_bytes {
        s.push_str(&format!(" · {}", fmt_bytes(rss)));
    }
    s
}

pub fn worker_row(run: &TrainRun, a: usize, w: usize, t: &Theme) -> Option<TRow<'static>> {
    let attempt = run.attempts.get(a)?;
    let worker = attempt.workers.get(w)?;
    let failed = attempt.failed_ranks.contains(&worker.world_rank);
    let status = if failed { format!("{} (failed)", worker.status) } else { worker.status.clone() };
    let last = if w + 1 == attempt.workers.len() { "└" } else { "├" };
    // Listed from an attempt before the current one (still being scheduled): say which.
    let source = if a + 1 == run.attempts.len() { "worker".to_string() } else { format!("attempt {}", a + 1) };
    Some(TRow::new(vec![
        Cell::from(format!(" {last} rank {}", worker.world_rank)),
        Cell::from(Span::styled(source, t.muted())),
        Cell::from(Span::styled(status, t.status(&worker.status))),
        Cell::from(process(worker)),
        Cell::from("-"),
        Cell::from(Span::styled(format!("actor {}", short(&worker.actor_id, 13)), t.muted())),
    ]))
}

/// The run's detail: what it is, each attempt (what ended it), its settings.
pub fn draw_detail(f: &mut Frame, area: Rect, run: &TrainRun, now: f64, t: &Theme) {
    let mut lines = vec![Line::from(Span::styled(
        format!("{} · {} · run {} · job {}", run.name, run.status, short(&run.id, 13), run.job),
        t.header(),
    ))];
    if let Some(d) = run.duration(now) {
        let verb = if run.is_active() { "running for" } else { "ran for" };
        lines.push(Line::from(Span::styled(format!("{verb} {}", fmt_age(d)), t.muted())));
    }
    for (i, a) in run.attempts.iter().enumerate() {
        let ended = a.start_time.zip(a.end_time).map(|(s, e)| format!(" after {}", fmt_age((e - s).max(0.0))));
        lines.push(Line::from(vec![
            Span::raw(format!("attempt {} ", i + 1)),
            Span::styled(a.status.clone(), t.status(&a.status)),
            Span::styled(format!(" · {} workers{}", a.workers.len(), ended.unwrap_or_default()), t.muted()),
        ]));
        // An error snippet is long: its first lines say who failed and how.
        for l in a.status_detail.lines().filter(|l| !l.trim().is_empty()).take(2) {
            lines.push(Line::from(Span::styled(format!("  {l}"), t.muted())));
        }
    }
    if run.settings.is_empty() {
        lines.push(Line::from(Span::styled("no settings reported (Ray before 2.60)", t.muted())));
    } else {
        lines.push(Line::from(Span::styled("settings", t.header())));
    }
    for (k, v) in &run.settings {
        lines.push(Line::from(vec![Span::styled(format!("  {k} = "), t.muted()), Span::raw(v.clone())]));
    }
    let block = Block::bordered().border_style(t.border()).title(Span::styled(" train run ", t.title()));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}
