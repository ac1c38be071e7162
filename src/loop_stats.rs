//! What the app loop did over the last window, logged while sources are busy: the rate of watch
//! events taken in against the frames drawn, and the worst update, draw and gap between frames.
//! This is how "a steady frame rate under N events/s" is measured (lab/kube/figures.sh).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::source::kube::WATCH_EVENTS;

pub struct LoopStats {
    since: Instant,
    events_at_start: u64,
    frames: u64,
    msgs: u64,
    last_frame: Option<Instant>,
    max_gap: Duration,
    max_draw: Duration,
    max_update: Duration,
}

impl Default for LoopStats {
    fn default() -> Self {
        LoopStats {
            since: Instant::now(),
            events_at_start: WATCH_EVENTS.load(Ordering::Relaxed),
            frames: 0,
            msgs: 0,
            last_frame: None,
            max_gap: Duration::ZERO,
            max_draw: Duration::ZERO,
            max_update: Duration::ZERO,
        }
    }
}

impl LoopStats {
    // A minute: an all-day session writes one line a minute at most, not six.
    const WINDOW: Duration = Duration::from_secs(60);

    /// A frame drawn, that started at `started`.
    pub fn frame(&mut self, started: Instant) {
        let now = Instant::now();
        self.frames += 1;
        self.max_draw = self.max_draw.max(now - started);
        if let Some(last) = self.last_frame {
            self.max_gap = self.max_gap.max(started - last);
        }
        self.last_frame = Some(now);
    }

    /// `msgs` source messages folded in, starting at `started`.
    pub fn update(&mut self, started: Instant, msgs: u64) {
        self.msgs += msgs;
        self.max_update = self.max_update.max(started.elapsed());
    }

    /// Logs the window when it is over and anything came in, then starts a new one.
    pub fn maybe_log(&mut self) {
        let span = self.since.elapsed();
        if span < Self::WINDOW {
            return;
        }
        let watch = WATCH_EVENTS.load(Ordering::Relaxed) - self.events_at_start;
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
        *self = LoopStats::default();
        self.last_frame = last_frame;
    }
}
