//! The app loop: owns the App and the terminal, takes terminal events, source messages and a
//! clock tick, and draws only when something changed.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::EventStream;
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::{mpsc, watch};

use crate::app::{App, Effect};
use crate::msg::Msg;
use crate::source::dashboard::poller::Interest;

/// How the loop reaches the sources it controls.
pub struct Sources {
    /// One per cluster: what its poller should fetch.
    pub interest: Vec<watch::Sender<Interest>>,
    /// The Kubernetes source, restarted when the user switches context or namespace.
    pub kube: Option<KubeSource>,
    /// Where new pollers send their news, and how they poll.
    pub tx: mpsc::Sender<Msg>,
    pub refresh: Duration,
    pub timeout: Duration,
}

pub struct KubeSource {
    pub task: tokio::task::JoinHandle<()>,
    pub tx: mpsc::Sender<Msg>,
}

impl KubeSource {
    pub fn start(target: crate::source::kube::Target, tx: mpsc::Sender<Msg>) -> KubeSource {
        let task = tokio::spawn(crate::source::kube::run(target, tx.clone()));
        KubeSource { task, tx }
    }
}

/// Runs until the user quits or the terminal goes away. `started` is the process start, to log
/// the time to the first populated frame.
pub async fn run(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    mut rx: mpsc::Receiver<Msg>,
    sources: &mut Sources,
    started: Instant,
) -> std::io::Result<()> {
    let mut events = EventStream::new();
    // The tick only ages "n s ago" labels; 1 Hz is enough and keeps idle CPU near zero.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut first_populated = false;
    let mut first_kube = false;
    let mut term_signals = terminate_signals()?;
    let mut stats = LoopStats::new();
    loop {
        if dirty {
            let t0 = Instant::now();
            terminal.draw(|f| crate::ui::draw(f, app, SystemTime::now()))?;
            stats.frame(t0);
            dirty = false;
            if !first_populated && app.cluster().is_some_and(|c| c.has_data()) {
                first_populated = true;
                tracing::info!(ms = started.elapsed().as_millis() as u64, "first populated frame");
            }
            if !first_kube && app.view == crate::app::View::Clusters && !app.k8s.clusters.is_empty() {
                first_kube = true;
                let ms = started.elapsed().as_millis() as u64;
                tracing::info!(
                    ms,
                    clusters = app.k8s.clusters.len(),
                    pods = app.k8s.pods.len(),
                    "first populated Kube frame"
                );
            }
        }
        let mut effects = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    effects = app.on_terminal(&ev);
                    dirty |= matches!(ev, crossterm::event::Event::Key(_) | crossterm::event::Event::Resize(..));
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()), // stdin closed
            },
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                let t0 = Instant::now();
                app.on_msg(msg);
                let mut n = 1;
                // Coalesce a burst (a batch of fetches) into one frame.
                while let Ok(more) = rx.try_recv() {
                    app.on_msg(more);
                    n += 1;
                }
                stats.update(t0, n);
                dirty = true;
            }
            _ = tick.tick() => {
                dirty = true;
                stats.maybe_log();
            }
            _ = term_signals.recv() => return Ok(()),
        }
        for e in effects {
            match e {
                Effect::Quit => return Ok(()),
                Effect::Interest(i) => {
                    for (index, tx) in sources.interest.iter().enumerate() {
                        // Only the cluster on screen polls; keep each refresh counter.
                        let want = if index == app.current { i } else { Interest::default() };
                        tx.send_if_modified(|cur| {
                            let next = Interest { refresh_seq: cur.refresh_seq, ..want };
                            let changed = *cur != next;
                            *cur = next;
                            changed
                        });
                    }
                }
                Effect::Dashboard { index, route } => {
                    let Some(target) = app.kube_target.clone() else { continue };
                    if index != sources.interest.len() {
                        tracing::error!(index, pollers = sources.interest.len(), "dashboard index out of step");
                        continue;
                    }
                    let (itx, irx) = watch::channel(Interest::default());
                    sources.interest.push(itx);
                    tokio::spawn(crate::source::kube::dashboard(
                        target,
                        route,
                        index,
                        sources.refresh,
                        sources.timeout,
                        irx,
                        sources.tx.clone(),
                    ));
                }
                Effect::Kube(target) => {
                    if let Some(k) = sources.kube.take() {
                        k.task.abort();
                        sources.kube = Some(KubeSource::start(target, k.tx));
                    }
                }
                Effect::RefreshNow => {
                    for tx in &sources.interest {
                        tx.send_modify(|i| i.refresh_seq = i.refresh_seq.wrapping_add(1));
                    }
                }
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// What the loop did over the last window, logged while sources are busy: the rate of watch
/// events taken in against the frames drawn, and the worst update, draw and gap between frames.
/// This is how "a steady frame rate under N events/s" is measured (lab/kube/figures.sh).
struct LoopStats {
    since: Instant,
    events_at_start: u64,
    frames: u64,
    msgs: u64,
    last_frame: Option<Instant>,
    max_gap: Duration,
    max_draw: Duration,
    max_update: Duration,
}

impl LoopStats {
    const WINDOW: Duration = Duration::from_secs(10);

    fn new() -> Self {
        LoopStats {
            since: Instant::now(),
            events_at_start: crate::source::kube::WATCH_EVENTS.load(std::sync::atomic::Ordering::Relaxed),
            frames: 0,
            msgs: 0,
            last_frame: None,
            max_gap: Duration::ZERO,
            max_draw: Duration::ZERO,
            max_update: Duration::ZERO,
        }
    }

    fn frame(&mut self, started: Instant) {
        let now = Instant::now();
        self.frames += 1;
        self.max_draw = self.max_draw.max(now - started);
        if let Some(last) = self.last_frame {
            self.max_gap = self.max_gap.max(started - last);
        }
        self.last_frame = Some(now);
    }

    fn update(&mut self, started: Instant, msgs: u64) {
        self.msgs += msgs;
        self.max_update = self.max_update.max(started.elapsed());
    }

    fn maybe_log(&mut self) {
        let span = self.since.elapsed();
        if span < Self::WINDOW {
            return;
        }
        let events = crate::source::kube::WATCH_EVENTS.load(std::sync::atomic::Ordering::Relaxed);
        let watch = events - self.events_at_start;
        if self.msgs > 0 {
            let secs = span.as_secs_f64();
            tracing::info!(
                watch_events_per_s = format!("{:.0}", watch as f64 / secs),
                messages = self.msgs,
                frames_per_s = format!("{:.1}", self.frames as f64 / secs),
                max_update_ms = format!("{:.1}", self.max_update.as_secs_f64() * 1e3),
                max_draw_ms = format!("{:.1}", self.max_draw.as_secs_f64() * 1e3),
                max_frame_gap_ms = self.max_gap.as_millis() as u64,
                "loop stats"
            );
        }
        let last_frame = self.last_frame;
        *self = LoopStats::new();
        self.last_frame = last_frame;
    }
}

/// SIGTERM and SIGHUP end raytop like `q` does, so the terminal is restored.
fn terminate_signals() -> std::io::Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::channel(1);
    for kind in [SignalKind::terminate(), SignalKind::hangup()] {
        let mut s = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                let _ = tx.send(()).await;
            }
        });
    }
    Ok(rx)
}
