//! Key-to-frame latency: the time from a key event to the frame that shows its effect, as the
//! loop does it (update, rows rebuilt where the key asks for it, one frame drawn), over 1,000 keys
//! on a 2,000-node cluster (Cluster view) and a 5,000-trial experiment (Tune view, sorting and
//! filtering included). Prints p50, p99 and the worst, in milliseconds. The budget is 50 ms p99.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::Theme;
use raytop::model::{ClusterConfig, DashUpdate, Dashboard};
use raytop::msg::DashKey;
use raytop::source::dashboard::{Endpoint, parse};
use raytop::source::tune::Scanner;
use raytop::state::App;

const KEYS: usize = 1000;

fn state() -> Dashboard {
    Dashboard::new("bench".into(), DashKey::Url("http://x".into()), "http://x".into(), ClusterConfig::default())
}

fn app(state: Dashboard) -> App {
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    App::new(vec![state], keymap, Theme::builtin_default(), w)
}

/// Presses `keys` in turn, each followed by a frame, and returns the sorted latencies.
fn press_all(app: &mut App, keys: &[KeyCode]) -> Vec<Duration> {
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let now = SystemTime::now();
    let mut out = Vec::with_capacity(KEYS);
    for i in 0..KEYS {
        let key = KeyEvent::from(keys[i % keys.len()]);
        let t0 = Instant::now();
        app.on_key(&key);
        term.draw(|f| raytop::ui::draw(f, app, now)).unwrap();
        out.push(t0.elapsed());
    }
    out.sort();
    out
}

fn report(what: &str, lat: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "{what}: {} keys, p50 {:.2} ms, p99 {:.2} ms, worst {:.2} ms",
        lat.len(),
        ms(p(0.50)),
        ms(p(0.99)),
        ms(lat[lat.len() - 1])
    );
}

fn main() {
    // 2,000 nodes: moving, jumping to the ends, folding a group, toggling dead nodes.
    let body = common::big_nodes_body(2000);
    let mut s = state();
    let data = parse(Endpoint::Nodes, &body).unwrap();
    s.apply(DashUpdate::Fetched {
        endpoint: Endpoint::Nodes,
        at: SystemTime::now(),
        bytes: body.len(),
        data: Box::new(data),
    });
    let mut a = app(s);
    let keys = [
        KeyCode::Char('j'),
        KeyCode::Char('j'),
        KeyCode::PageDown,
        KeyCode::Char('G'),
        KeyCode::Char('k'),
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Char('d'),
        KeyCode::Char('g'),
    ];
    report("cluster view, 2000 nodes", &press_all(&mut a, &keys));

    // 5,000 trials: moving, sorting by each column, the status filter, the detail panel.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    common::make_experiment(&dir);
    let mut s = state();
    for u in Scanner::new(vec![dir]).pass() {
        s.apply_tune(u);
    }
    let mut a = app(s);
    a.run(raytop::config::Command::ViewTune);
    let keys = [
        KeyCode::Char('j'),
        KeyCode::Char('j'),
        KeyCode::PageDown,
        KeyCode::Char('s'),
        KeyCode::Char('S'),
        KeyCode::Char('f'),
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Char('G'),
    ];
    report("tune view, 5000 trials", &press_all(&mut a, &keys));
}
