//! Frame time with history on screen: the Serve view of the lab's captured `demo` app with one
//! deployment of 48 replicas, whose history pane draws a chart of 2 series and 48 replica health
//! strips (50 series), against the same view without history, drawn in the same run. Each series
//! has the 120 points of a range query. Run: `cargo bench --bench history`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::{Command, Theme};
use raytop::model::history::{History, POINTS, QueryResult, Series};
use raytop::model::{ClusterConfig, DashUpdate, Dashboard};
use raytop::msg::{DashKey, HistoryUpdate};
use raytop::source::dashboard::{Endpoint, parse};
use raytop::state::App;

const REPLICAS: usize = 48;

fn serve_app() -> App {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dashboard/v3-history/serve_applications.json");
    let body = std::fs::read(path).unwrap();
    let mut s =
        Dashboard::new("bench".into(), DashKey::Url("http://x".into()), "http://x".into(), ClusterConfig::default());
    let data = parse(Endpoint::Serve, &body).unwrap();
    s.apply(DashUpdate::Fetched {
        endpoint: Endpoint::Serve,
        at: SystemTime::now(),
        bytes: body.len(),
        data: Box::new(data),
    });
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![s], keymap, Theme::builtin_default(), w);
    app.run(Command::ViewServe);
    app.run(Command::Down); // the deployment row: its chart and replica timelines
    app
}

fn history(end: f64) -> History {
    let window = 900.0;
    let step = window / POINTS as f64;
    let points = |f: &dyn Fn(usize) -> f64| -> Vec<(f64, f64)> {
        (0..POINTS as usize).map(|i| (end - window + step * i as f64, f(i))).collect()
    };
    let labels = |extra: &[(&str, String)]| {
        let mut l: std::collections::BTreeMap<String, String> =
            [("application".to_string(), "demo".to_string()), ("deployment".to_string(), "Demo".to_string())].into();
        l.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        l
    };
    let mut h = History::new("http://p".into());
    let mut answer = |name: &'static str, series: Vec<Series>| {
        let result = QueryResult { query: name.into(), start: end - window, end, step: step as u64, series };
        h.apply(HistoryUpdate::Answered { name, result, at: SystemTime::now() });
    };
    answer("dep_requests_per_s", vec![Series { labels: labels(&[]), points: points(&|i| (i % 17) as f64) }]);
    answer("dep_errors_per_s", vec![Series { labels: labels(&[]), points: points(&|i| (i % 5) as f64 * 0.1) }]);
    let replicas = (0..REPLICAS)
        .map(|r| Series {
            labels: labels(&[("replica", format!("r{r:07}"))]),
            points: points(&|i| if (i + r) % 40 == 0 { 0.0 } else { 1.0 }),
        })
        .collect();
    answer("replica_healthy", replicas);
    h
}

fn frames(c: &mut Criterion) {
    let now = SystemTime::now();
    let end = now.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let mut term = Terminal::new(TestBackend::new(160, 80)).unwrap();
    let plain = serve_app();
    let mut with = serve_app();
    with.history = Some(history(end));
    // The pane really draws all 50: 48 strips and the chart's two lines.
    term.draw(|f| raytop::ui::draw(f, &with, now)).unwrap();
    let screen = format!("{:?}", term.backend().buffer());
    assert_eq!(screen.matches("r00000").count(), REPLICAS, "every replica's line drawn");
    c.bench_function("serve view frame, no history", |b| {
        b.iter(|| term.draw(|f| raytop::ui::draw(f, &plain, now)).unwrap().area)
    });
    c.bench_function("serve view frame, 50 history series", |b| {
        b.iter(|| term.draw(|f| raytop::ui::draw(f, &with, now)).unwrap().area)
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = frames
}
criterion_main!(benches);
