//! What the Tune leaderboard costs at 5,000 trials: loading an experiment, refreshing it when 100
//! trials report a new result (and how many bytes that reads), and drawing a frame.
//! The experiment is the lab's `grid` fixture with its trials repeated to 5,000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::{Command, Theme};
use raytop::model::tune::Tune;
use raytop::model::{ClusterConfig, ClusterState};
use raytop::msg::TuneUpdate;
use raytop::source::tune::{Scanner, newest_state_file};
use raytop::state::App;
use serde_json::Value;

const TRIALS: usize = 5000;

/// Writes a 5,000-trial experiment built from the grid fixture; returns the trial dir names.
fn make_experiment(dir: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune/grid");
    let state_path = newest_state_file(&src).unwrap();
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let pairs = state["trial_data"].as_array().unwrap();
    let mut trial_data = Vec::with_capacity(TRIALS);
    let mut names = Vec::with_capacity(TRIALS);
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..TRIALS {
        let pair = &pairs[i % pairs.len()];
        let mut t: Value = serde_json::from_str(pair[0].as_str().unwrap()).unwrap();
        let old_dir = t["relative_logdir"].as_str().unwrap().to_string();
        let id = format!("bench_{i:05}");
        let logdir = format!("trial_{id}");
        t["trial_id"] = Value::String(id.clone());
        t["relative_logdir"] = Value::String(logdir.clone());
        trial_data.push(Value::Array(vec![Value::String(t.to_string()), pair[1].clone()]));
        let results = std::fs::read_to_string(src.join(&old_dir).join("result.json")).unwrap();
        let results = results.replace(t["trial_id"].as_str().unwrap_or_default(), &id);
        std::fs::create_dir_all(dir.join(&logdir)).unwrap();
        std::fs::write(dir.join(&logdir).join("result.json"), results).unwrap();
        names.push(logdir);
    }
    let mut state = state.clone();
    state["trial_data"] = Value::Array(trial_data);
    std::fs::write(dir.join(state_path.file_name().unwrap()), state.to_string()).unwrap();
    names
}

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
    let mut state = ClusterState::new(
        "bench".into(),
        raytop::msg::DashKey::Url("http://x".into()),
        "http://x".into(),
        ClusterConfig::default(),
    );
    for u in scanner.pass() {
        state.apply_tune(u);
    }
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
