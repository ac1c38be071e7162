//! What one refresh costs raytop on a large cluster: parsing `/nodes?view=summary`, folding it into
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! the model (groups, verdicts), building the view's rows, and drawing a frame.
//! The 2,000-node body is the lab's captured one with its worker entry repeated.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::Theme;
use raytop::model::{ClusterConfig, DashUpdate, Dashboard};
use raytop::source::dashboard::{Endpoint, parse};
use raytop::state::App;

#[path = "common/mod.rs"]
mod common;
use common::big_nodes_body;

fn bench(c: &mut Criterion) {
    let body = big_nodes_body(2000);
    eprintln!("2,000-node /nodes?view=summary body: {} bytes", body.len());
    c.bench_function("parse nodes summary, 2000 nodes", |b| {
        b.iter(|| parse(Endpoint::Nodes, black_box(&body)).unwrap())
    });

    let data = parse(Endpoint::Nodes, &body).unwrap();
    let now = SystemTime::now();
    let mut state = Dashboard::new(
        "bench".into(),
        raytop::msg::DashKey::Url("http://x".into()),
        "http://x".into(),
        ClusterConfig::default(),
    );
    c.bench_function("apply nodes to model, 2000 nodes", |b| {
        b.iter(|| {
            state.apply(DashUpdate::Fetched {
                endpoint: Endpoint::Nodes,
                at: now,
                bytes: body.len(),
                data: Box::new(data.clone()),
            })
        })
    });

    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![state], keymap, Theme::builtin_default(), w);
    c.bench_function("rebuild cluster rows, 2000 nodes", |b| b.iter(|| app.rebuild_rows()));

    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("draw cluster view 200x60, 2000 nodes", |b| {
        b.iter(|| {
            term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(20);
    targets = bench
}
criterion_main!(benches);
