//! The app loop: owns the App, takes terminal events, source messages and a clock tick, hands
//! effects to the runtime, and draws only when something changed, at most once per frame slot.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

use crate::loop_stats::LoopStats;
use crate::msg::Msg;
use crate::runtime::Runtime;
use crate::state::App;
use crate::view::View;

/// How long one turn of the loop folds a burst of messages before it looks at the keys again: a
/// Tune folder of 5,000 trials read at launch is thousands of messages, and a key pressed meanwhile
/// is answered within this, plus one message and one frame.
const FOLD_TURN: Duration = Duration::from_millis(8);
/// The shortest time between two frames: a burst of keys or messages costs one frame per slot.
const MIN_FRAME: Duration = Duration::from_millis(16);
/// A frame that took longer than this to render, or a message to fold, is logged (at debug), to
/// find what it was.
const SLOW_RENDER: Duration = Duration::from_millis(8);

/// Runs until the user quits or the terminal goes away. `started` is the process start, to log
/// the time to the first populated frame.
pub async fn run(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    rx: mpsc::Receiver<Msg>,
    runtime: &mut Runtime,
    started: Instant,
) -> std::io::Result<()> {
    let mut stats = LoopStats::default();
    let result = run_loop(terminal, app, rx, runtime, started, &mut stats).await;
    // The last, partial window: a session shorter than a minute still leaves its figures.
    stats.log_now();
    result
}

async fn run_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    mut rx: mpsc::Receiver<Msg>,
    runtime: &mut Runtime,
    started: Instant,
    stats: &mut LoopStats,
) -> std::io::Result<()> {
    let mut events = EventStream::new();
    // The tick only ages "n s ago" labels; 1 Hz is enough and keeps idle CPU near zero.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    let mut first = FirstFrames::default();
    let mut term_signals = crate::tui::terminate_signals()?;
    if !runtime.apply(app.poll_effect()) {
        return Ok(());
    }
    loop {
        let frame_due = last_frame.map_or(Instant::now(), |t| t + MIN_FRAME);
        if dirty && Instant::now() >= frame_due {
            let t0 = Instant::now();
            let (mut render, mut render_cpu) = (Duration::ZERO, Duration::ZERO);
            crate::tui::draw(terminal, |f| {
                let (r0, c0) = (Instant::now(), crate::loop_stats::thread_cpu_time());
                crate::ui::draw(f, app, SystemTime::now());
                render = r0.elapsed();
                render_cpu = crate::loop_stats::thread_cpu_time().saturating_sub(c0);
            })?;
            stats.frame(t0, render, render_cpu);
            if render_cpu > SLOW_RENDER {
                tracing::debug!(view = ?app.view, render_cpu_ms = render_cpu.as_secs_f64() * 1e3, "slow frame");
            }
            last_frame = Some(t0);
            dirty = false;
            first.log(app, started);
        }
        let mut effects = Vec::new();
        tokio::select! {
            // Keys first, then a due frame, then sources: a burst never holds a key behind it.
            biased;
            ev = events.next() => {
                let mut next = ev;
                // Take every event already queued before drawing: a held key or a paste is one
                // frame, not one per key.
                loop {
                    match next {
                        Some(Ok(ev)) => {
                            if matches!(ev, Event::Key(_)) {
                                stats.key(Instant::now());
                            }
                            effects.extend(app.on_terminal(&ev));
                            dirty |= matches!(ev, Event::Key(_) | Event::Resize(..));
                        }
                        Some(Err(e)) => return Err(e),
                        None => return Ok(()), // stdin closed
                    }
                    // Polled with this task's waker (not a no-op one), so crossterm wakes the loop
                    // for the next key as it does for the first.
                    match futures::poll!(events.next()) {
                        std::task::Poll::Ready(more) => next = more,
                        std::task::Poll::Pending => break,
                    }
                }
            },
            _ = term_signals.recv() => return Ok(()),
            _ = tick.tick() => {
                // Redraw only when a label on screen ages ("data 3 s ago", uptimes).
                dirty |= app.ages_on_screen();
                stats.maybe_log();
            }
            _ = tokio::time::sleep_until(frame_due.into()), if dirty => {}
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                let t0 = Instant::now();
                let mut fold = |msg: Msg| {
                    let label = tracing::enabled!(tracing::Level::DEBUG).then(|| msg.label());
                    let (f0, c0) = (Instant::now(), crate::loop_stats::thread_cpu_time());
                    let u = app.on_msg(msg);
                    if let Some(label) = label.filter(|_| f0.elapsed() > SLOW_RENDER) {
                        let cpu = crate::loop_stats::thread_cpu_time().saturating_sub(c0);
                        let ms = |d: Duration| d.as_secs_f64() * 1e3;
                        tracing::debug!(msg = %label, fold_ms = ms(f0.elapsed()), fold_cpu_ms = ms(cpu), "slow fold");
                    }
                    effects.extend(u.effects);
                    u.redraw
                };
                dirty |= fold(msg);
                let mut n = 1;
                // Coalesce a burst (a batch of fetches) into one frame, for one turn at most.
                while t0.elapsed() < FOLD_TURN {
                    let Ok(more) = rx.try_recv() else { break };
                    dirty |= fold(more);
                    n += 1;
                }
                stats.update(t0, n);
            }
        }
        for e in effects {
            if !runtime.apply(e) {
                return Ok(());
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Logs the time from launch to the first frame with data, for the launch figures.
#[derive(Default)]
struct FirstFrames {
    dashboard: bool,
    kube: bool,
}

impl FirstFrames {
    fn log(&mut self, app: &App, started: Instant) {
        if !self.dashboard && app.cluster().is_some_and(|c| c.has_data()) {
            self.dashboard = true;
            tracing::info!(ms = started.elapsed().as_millis() as u64, "first populated frame");
        }
        if !self.kube && app.view == View::Kube && !app.k8s.clusters.is_empty() {
            self.kube = true;
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(
                ms,
                clusters = app.k8s.clusters.len(),
                pods = app.k8s.pods.len(),
                "first populated Kube frame"
            );
        }
    }
}
