//! What the app loop did over the last window, logged while sources are busy: the rate of watch
//! events taken in against the frames drawn, and the worst update, draw and gap between frames.
//! This is how "a steady frame rate under N events/s" is measured, and, with the 99th percentiles
//! of draw time and of the time from a key to the frame that answers it, how the scale rig's
//! figures are read (lab/rig/figures.py).

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
    /// Every frame of the window, in microseconds (a minute at 60 frames/s is 3,600 numbers):
    /// the whole of it (views rendered into the buffer, the diff written to the terminal)...
    draws_us: Vec<u32>,
    /// ...and the rendering alone, without the terminal's share, in wall time and in CPU time.
    renders_us: Vec<u32>,
    render_cpu_us: Vec<u32>,
    /// Every key of the window: from reading it to the end of the frame that showed its effect.
    keys_us: Vec<u32>,
    /// Keys read since the last frame, waiting for it.
    keys_waiting: Vec<Instant>,
}

/// The `q`-quantile of `v` (sorted in place), nearest rank; 0 for none.
pub fn quantile(v: &mut [u32], q: f64) -> u32 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// CPU time this thread has used: what rendering costs, apart from the time the scheduler gave
/// to other processes meanwhile (on a busy 2-core machine the wall time of a 1 ms frame can be
/// 15 ms).
pub fn thread_cpu_time() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
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
            draws_us: Vec::new(),
            renders_us: Vec::new(),
            render_cpu_us: Vec::new(),
            keys_us: Vec::new(),
            keys_waiting: Vec::new(),
        }
    }
}

impl LoopStats {
    // A minute: an all-day session writes one line a minute at most, not six.
    const WINDOW: Duration = Duration::from_secs(60);

    /// A frame drawn, that started at `started`, of which rendering the views took `render` (and
    /// `render_cpu` of this thread's CPU time).
    pub fn frame(&mut self, started: Instant, render: Duration, render_cpu: Duration) {
        self.renders_us.push(micros(render));
        self.render_cpu_us.push(micros(render_cpu));
        let now = Instant::now();
        self.frames += 1;
        self.max_draw = self.max_draw.max(now - started);
        self.draws_us.push(micros(now - started));
        for key in self.keys_waiting.drain(..) {
            self.keys_us.push(micros(now - key));
        }
        if let Some(last) = self.last_frame {
            self.max_gap = self.max_gap.max(started - last);
        }
        self.last_frame = Some(now);
    }

    /// A key read at `at`: its latency ends with the next frame.
    pub fn key(&mut self, at: Instant) {
        self.keys_waiting.push(at);
    }

    /// `msgs` source messages folded in, starting at `started`.
    pub fn update(&mut self, started: Instant, msgs: u64) {
        self.msgs += msgs;
        self.max_update = self.max_update.max(started.elapsed());
    }

    /// Logs the window when it is over and anything came in, then starts a new one.
    pub fn maybe_log(&mut self) {
        if self.since.elapsed() >= Self::WINDOW {
            self.log_now();
        }
    }

    /// Logs what the window holds so far (at exit: the last, partial window) and starts anew.
    pub fn log_now(&mut self) {
        let span = self.since.elapsed();
        let watch = WATCH_EVENTS.load(Ordering::Relaxed) - self.events_at_start;
        if self.msgs > 0 || !self.keys_us.is_empty() {
            let secs = span.as_secs_f64();
            let ms = |us: u32| format!("{:.2}", f64::from(us) / 1e3);
            tracing::info!(
                watch_events_per_s = format!("{:.0}", watch as f64 / secs),
                messages = self.msgs,
                frames_per_s = format!("{:.1}", self.frames as f64 / secs),
                max_update_ms = format!("{:.1}", self.max_update.as_secs_f64() * 1e3),
                max_draw_ms = format!("{:.1}", self.max_draw.as_secs_f64() * 1e3),
                max_frame_gap_ms = self.max_gap.as_millis() as u64,
                p99_draw_ms = ms(quantile(&mut self.draws_us, 0.99)),
                p99_render_ms = ms(quantile(&mut self.renders_us, 0.99)),
                p99_render_cpu_ms = ms(quantile(&mut self.render_cpu_us, 0.99)),
                p50_render_cpu_ms = ms(quantile(&mut self.render_cpu_us, 0.5)),
                frames = self.draws_us.len(),
                keys = self.keys_us.len(),
                p99_key_ms = ms(quantile(&mut self.keys_us, 0.99)),
                max_key_ms = ms(self.keys_us.iter().copied().max().unwrap_or(0)),
                "loop stats"
            );
        }
        let last_frame = self.last_frame;
        let keys_waiting = std::mem::take(&mut self.keys_waiting);
        *self = LoopStats::default();
        self.last_frame = last_frame;
        self.keys_waiting = keys_waiting;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_the_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(quantile(&mut v, 0.99), 99);
        assert_eq!(quantile(&mut v, 0.5), 50);
        assert_eq!(quantile(&mut [7], 0.99), 7);
        assert_eq!(quantile(&mut [], 0.99), 0);
    }

    #[test]
    fn a_key_waits_for_the_frame_that_shows_it() {
        let mut s = LoopStats::default();
        let key = Instant::now();
        s.key(key);
        assert!(s.keys_us.is_empty(), "no frame yet");
        std::thread::sleep(Duration::from_millis(2));
        s.frame(Instant::now(), Duration::from_micros(300), Duration::from_micros(200));
        assert_eq!(s.keys_us.len(), 1);
        assert!(s.keys_us[0] >= 2000, "{:?}", s.keys_us);
        assert_eq!(s.draws_us.len(), 1);
        assert_eq!(s.renders_us, [300]);
    }
}
