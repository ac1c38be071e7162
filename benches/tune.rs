//! What the Tune leaderboard costs at 5,000 trials: loading an experiment, refreshing it when 100
//! trials report a new result (and how many bytes that reads), and drawing a frame.
//! The experiment is the lab's `grid` fixture with its trials repeated to 5,000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::{Command, Theme};
use raytop::model::tune::Tune;
use raytop::model::{ClusterConfig, Dashboard};
use raytop::msg::TuneUpdate;
use raytop::source::tune::Scanner;
use raytop::state::App;

#[path = "common/mod.rs"]
mod common;
use common::make_experiment;

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    let names = make_experiment(&dir);

    c.bench_function("load a 5000-trial experiment", |b| {
        b.iter(|| {
            let mut scanner = Scanner::new(vec![dir.clone()]);
            let mut tune = Tune::default();
            for u in scanner.pass() {
                tune.apply(u);
            }
            tune
        })
    });

    // Steady state, then 100 trials report one more result each.
    let mut scanner = Scanner::new(vec![dir.clone()]);
    let mut state = Dashboard::new(
        "bench".into(),
        raytop::msg::DashKey::Url("http://x".into()),
        "http://x".into(),
        ClusterConfig::default(),
    );
    for u in scanner.pass() {
        state.apply_tune(u);
    }
    // Once a second while nobody reports: the pass that costs the most over a sweep's life.
    c.bench_function("idle pass, 5000 trials (500 running)", |b| b.iter(|| scanner.pass()));
    let line = "{\"score\": 1.0, \"training_iteration\": 99, \"trial_id\": \"x\", \"time_total_s\": 9.0}\n";
    let append = |n: usize| {
        for name in names.iter().take(n) {
            let mut f = std::fs::OpenOptions::new().append(true).open(dir.join(name).join("result.json")).unwrap();
            f.write_all(line.as_bytes()).unwrap();
        }
    };
    append(100);
    let updates = scanner.pass();
    let bytes = updates.iter().find_map(|u| if let TuneUpdate::Pass { bytes, .. } = u { Some(*bytes) } else { None });
    eprintln!("refresh after 100 trials reported: read {:?} bytes (appended {})", bytes, 100 * line.len());
    c.bench_function("refresh when 100 of 5000 trials report", |b| {
        b.iter_batched(
            || append(100),
            |_| {
                for u in scanner.pass() {
                    state.apply_tune(u);
                }
            },
            BatchSize::PerIteration,
        )
    });

    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![state], keymap, Theme::builtin_default(), w);
    app.run(Command::ViewTune);
    eprintln!("leaderboard rows: {}", app.rows.len());
    c.bench_function("rebuild leaderboard rows, 5000 trials", |b| b.iter(|| app.rebuild_rows()));
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let now = SystemTime::now();
    c.bench_function("draw leaderboard 200x60, 5000 trials", |b| {
        b.iter(|| {
            term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(10);
    targets = bench
}
criterion_main!(benches);
