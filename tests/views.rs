//! Snapshots of each view at 120x40, drawn from captured lab bodies.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::SystemTime;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::{Command, Theme};
use raytop::model::{DashUpdate, Dashboard};
use raytop::source::dashboard::{Endpoint, FetchError};
use raytop::state::App;
use raytop::view::View;

fn app_for(c: Dashboard) -> App {
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    App::new(vec![c], keymap, Theme::builtin_default(), w)
}

fn render(app: &App, now: SystemTime) -> String {
    render_at(app, now, 120, 40)
}

fn render_at(app: &App, now: SystemTime, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    term.draw(|f| raytop::ui::draw(f, app, now)).unwrap();
    term.backend().to_string()
}

fn lab_app(dir: &str, view: View) -> (App, SystemTime) {
    let c = common::load_cluster(dir, common::lab_config());
    let mut app = app_for(c);
    let cmd = match view {
        View::Cluster => Command::ViewCluster,
        View::Autoscaler => Command::ViewAutoscaler,
        View::Serve => Command::ViewServe,
        View::Tune => Command::ViewTune,
        View::Gpu => Command::ViewGpu,
        View::Jobs => Command::ViewJobs,
        View::Kube => Command::ViewKube,
    };
    app.run(cmd);
    (app, common::capture_clock(dir))
}

#[test]
fn cluster_view() {
    let (app, now) = lab_app("v1-busy", View::Cluster);
    let screen = render(&app, now);
    assert!(screen.contains("gpu-group"));
    insta::assert_snapshot!(screen);
}

#[test]
fn autoscaler_view() {
    let (app, now) = lab_app("v1-busy", View::Autoscaler);
    let screen = render(&app, now);
    assert!(screen.contains("gpu-group at max 2/2"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn autoscaler_view_v2() {
    let (app, now) = lab_app("v2", View::Autoscaler);
    insta::assert_snapshot!(render(&app, now));
}

#[test]
fn serve_view() {
    let (app, now) = lab_app("v1-busy", View::Serve);
    let screen = render(&app, now);
    assert!(screen.contains("RUNNING"));
    insta::assert_snapshot!(screen);
}

#[test]
fn serve_view_deploy_failed() {
    let (app, now) = lab_app("v1-serve-failed", View::Serve);
    let screen = render(&app, now);
    assert!(screen.contains("DEPLOY_FAILED"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay_lists_keys_from_the_keymap() {
    let (mut app, now) = lab_app("v1-busy", View::Cluster);
    app.run(Command::Help);
    let screen = render(&app, now);
    assert!(screen.contains("Show or fold dead nodes"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn disconnected_keeps_last_data_with_its_age() {
    let (mut app, now) = lab_app("v1-busy", View::Cluster);
    let later = now + std::time::Duration::from_secs(75);
    // Failing since 60 s after the capture, still at 75 s.
    for at in [now + std::time::Duration::from_secs(60), later] {
        app.on_msg(raytop::msg::Msg::Dash {
            key: app.dashboards[0].key.clone(),
            update: DashUpdate::Failed {
                endpoint: Endpoint::Nodes,
                at,
                error: FetchError::Unreachable("Connection refused (os error 111)".into()),
            },
        });
    }
    let screen = render(&app, later);
    assert!(screen.contains(" disconnected for 15s, retrying: dashboard unreachable: Connection refused"), "{screen}");
    assert!(screen.contains("showing data from 1m15s ago"), "{screen}");
    assert!(screen.contains("gpu-group"), "the last data stays on screen");
    insta::assert_snapshot!(screen);
}

#[test]
fn unreachable_at_start_says_what_to_check() {
    let c = Dashboard::new(
        "nowhere".into(),
        raytop::msg::DashKey::Url("http://127.0.0.1:9".into()),
        "http://127.0.0.1:9".into(),
        Default::default(),
    );
    let mut app = app_for(c);
    let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_675_000);
    app.on_msg(raytop::msg::Msg::Dash {
        key: app.dashboards[0].key.clone(),
        update: DashUpdate::Failed {
            endpoint: Endpoint::Version,
            at: now,
            error: FetchError::Unreachable("Connection refused (os error 111)".into()),
        },
    });
    let screen = render(&app, now);
    assert!(screen.contains("Cannot reach http://127.0.0.1:9"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn unauthorized_names_the_fix() {
    let c = Dashboard::new(
        "secure".into(),
        raytop::msg::DashKey::Url("http://127.0.0.1:8265".into()),
        "http://127.0.0.1:8265".into(),
        Default::default(),
    );
    let mut app = app_for(c);
    let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_675_000);
    app.on_msg(raytop::msg::Msg::Dash {
        key: app.dashboards[0].key.clone(),
        update: DashUpdate::Failed {
            endpoint: Endpoint::Version,
            at: now,
            error: FetchError::Unauthorized { status: 401, hint: "the dashboard requires a token: pass --token, set RAY_AUTH_TOKEN, or point --token-file at the cluster's auth_token".into() },
        },
    });
    let screen = render(&app, now);
    assert!(screen.contains("--token"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn malformed_response_is_counted_and_shown() {
    let (mut app, now) = lab_app("v1-busy", View::Cluster);
    for secs in [10, 20, 30] {
        app.on_msg(raytop::msg::Msg::Dash {
            key: app.dashboards[0].key.clone(),
            update: DashUpdate::Failed {
                endpoint: Endpoint::Nodes,
                at: now + std::time::Duration::from_secs(secs),
                error: FetchError::Malformed {
                    path: "/nodes?view=summary".into(),
                    detail: "EOF while parsing an object at line 1 column 9000".into(),
                },
            },
        });
    }
    let screen = render(&app, now + std::time::Duration::from_secs(30));
    assert!(
        screen.contains(
            "⚠ nodes failing for 20s (3 errors; its data from 30s ago kept): malformed response from /nodes?view=summary"
        ),
        "{screen}"
    );
    assert!(screen.contains("gpu-group"), "the last good data stays");
}

/// The cluster of `dir` with the Tune experiments of tests/fixtures/tune/`names` read in.
fn with_tune(dir: &str, tune_dirs: &[&str]) -> (App, SystemTime) {
    let mut c = common::load_cluster(dir, common::lab_config());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune");
    let mut scanner = raytop::source::tune::Scanner::new(tune_dirs.iter().map(|d| root.join(d)).collect());
    for u in scanner.pass() {
        c.apply_tune(u);
    }
    (app_for(c), common::capture_clock(dir))
}

#[test]
fn tune_leaderboard() {
    let (mut app, now) = with_tune("v1-busy", &["grid"]);
    app.run(Command::ViewTune);
    let screen = render(&app, now);
    assert!(screen.contains("mode max — inferred: ASHA kept trials with higher score"), "{screen}");
    assert!(screen.contains("★1"), "best trial marked: {screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn tune_leaderboard_sorted_filtered_and_detail_of_an_errored_trial() {
    let (mut app, now) = with_tune("v1-busy", &["errored"]);
    app.run(Command::ViewTune);
    app.run(Command::StatusFilter); // RUNNING: none
    assert!(app.rows.is_empty());
    app.run(Command::StatusFilter); // TERMINATED
    assert_eq!(app.rows.len(), 2);
    app.run(Command::StatusFilter); // ERROR
    assert_eq!(app.rows.len(), 1);
    app.run(Command::TrialDetail);
    let screen = render(&app, now);
    assert!(screen.contains("ValueError: fixture failure at iteration 3"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The GPU lab capture, with a trial whose last result names the pid and node of one
/// GPU-holding actor.
fn gpu_lab_with_a_trial() -> (Dashboard, SystemTime) {
    let mut c = common::load_cluster("gpu-physical", common::lab_config());
    let row = raytop::wire::tune::ResultRow::parse(
        r#"{"trial_id": "abc12_00003", "training_iteration": 4, "loss": 0.3, "pid": 31630, "node_ip": "192.0.2.2"}"#,
    )
    .unwrap();
    let now = common::capture_clock("gpu-physical");
    c.apply_tune(raytop::msg::TuneUpdate::Results {
        experiment: "asha-sweep".into(),
        trial_dir: "t3".into(),
        reset: false,
        rows: vec![row],
    });
    c.apply_tune(raytop::msg::TuneUpdate::Pass { bytes: 0, at: now });
    (c, now)
}

#[test]
fn gpu_view_joins_gpus_to_trials() {
    let (mut c, now) = gpu_lab_with_a_trial();
    let held: Vec<_> = c.gpus.nodes.iter().flat_map(|n| n.holders.iter()).collect();
    assert!(held.iter().any(|h| h.kind == "trial" && h.name == "asha-sweep/abc12_00003"), "{held:?}");
    assert_eq!(c.gpus.totals.physical, 2);
    assert_eq!(c.gpus.totals.busy, 1);
    assert_eq!(c.gpus.totals.ray.total, 2.0);
    assert!(c.gpus.totals.pending_demand >= 1.0);
    // Idle while held for over a minute: flagged.
    c.apply_tune(raytop::msg::TuneUpdate::Pass { bytes: 0, at: now + std::time::Duration::from_secs(90) });
    assert!(c.gpus.flags.iter().any(|f| f.contains("busy for 1m30s while held")), "{:?}", c.gpus.flags);
    assert!(c.gpus.flags.iter().any(|f| f.starts_with("GPU demand waits")), "{:?}", c.gpus.flags);
    let mut app = app_for(c);
    app.run(Command::ViewGpu);
    let screen = render(&app, now + std::time::Duration::from_secs(90));
    assert!(screen.contains("NVIDIA A100"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn c_on_a_gpu_held_by_a_trial_asks_to_cancel_that_trial() {
    let (c, _) = gpu_lab_with_a_trial();
    let mut app = app_for(c);
    app.run(Command::ViewGpu);
    let at = app
        .rows
        .iter()
        .position(|r| matches!(r, raytop::rows::Row::GpuHolder { n, h } if app.cluster().unwrap().gpus.nodes[*n].holders[*h].kind == "trial"))
        .expect("a trial holds a GPU");
    app.selected[View::Gpu.index()] = at;
    let fx = app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('c')));
    assert!(fx.is_empty(), "nothing is sent before the yes");
    let raytop::state::Overlay::Confirm(confirm) = &app.overlay else { panic!("{:?}", app.toast) };
    let raytop::action::Action::CancelTrial(req) = &confirm.action else { panic!() };
    assert_eq!((req.trial_id.as_str(), req.pid, req.node_ip.as_str()), ("abc12_00003", 31630, "192.0.2.2"));
    assert!(!req.graceful, "this experiment runs no raytop Stopper");
    assert_eq!(confirm.preview.title, "Cancel trial abc12_00003");
}

#[test]
fn after_a_cancel_the_leaderboard_stays_on_that_experiment_when_a_newer_one_starts() {
    let (c, now) = gpu_lab_with_a_trial();
    let mut app = app_for(c);
    app.run(Command::ViewTune);
    app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('c')));
    assert!(matches!(app.overlay, raytop::state::Overlay::Confirm(_)), "{:?}", app.toast);
    // The next sweep starts (it sorts after, so it would be "the newest").
    let row =
        raytop::wire::tune::ResultRow::parse(r#"{"trial_id": "fff00_00000", "training_iteration": 1, "loss": 0.9}"#)
            .unwrap();
    for u in [
        raytop::msg::TuneUpdate::Results {
            experiment: "asha-sweep-2".into(),
            trial_dir: "t0".into(),
            reset: false,
            rows: vec![row],
        },
        raytop::msg::TuneUpdate::Pass { bytes: 0, at: now },
    ] {
        app.on_msg(raytop::msg::Msg::Tune(u));
    }
    assert_eq!(app.cluster().unwrap().tune.experiments.len(), 2);
    let shown = &app.cluster().unwrap().tune.experiments[app.tune_experiment_index()];
    assert_eq!(shown.name, "asha-sweep");
    assert!(render(&app, now).contains("abc12_00003"));
}

#[test]
fn scaling_a_dashboard_without_a_raycluster_says_why_not() {
    let (mut app, _) = lab_app("v1-busy", View::Cluster);
    app.run(Command::Down); // the head's node
    app.run(Command::Down); // cpu-group
    let fx = app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('+')));
    assert!(fx.is_empty());
    assert!(matches!(app.overlay, raytop::state::Overlay::None));
    let toast = app.toast.clone().unwrap();
    assert!(toast.contains("lab is a dashboard without a RayCluster raytop knows"), "{toast}");
    assert!(toast.contains("--dashboard NAME=URL"), "{toast}");
}

#[test]
fn a_confirmation_whose_text_wraps_still_shows_its_buttons() {
    let (c, now) = gpu_lab_with_a_trial();
    let mut app = app_for(c);
    app.run(Command::ViewTune);
    app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('c')));
    assert!(matches!(app.overlay, raytop::state::Overlay::Confirm(_)), "{:?}", app.toast);
    // 100 columns: the "next:" sentence wraps inside the popup.
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains("sweep goes on"), "the wrapped end of the sentence: {screen}");
    assert!(screen.contains("Cancel") && screen.contains("Apply"), "the buttons: {screen}");
}

/// Every view, and the help and palette overlays, at sizes too small to lay out: drawn without
/// a panic (a terminal can be dragged that small).
#[test]
fn every_view_draws_at_tiny_sizes() {
    for view in View::ALL {
        let (mut app, now) = lab_app("v1-busy", view);
        for overlay in [None, Some(Command::Help), Some(Command::Palette)] {
            if let Some(o) = overlay {
                app.run(o);
            }
            for (w, h) in [(20, 5), (1, 1), (200, 3), (3, 60)] {
                let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
                term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
            }
        }
    }
}

/// A new session in /api/version is a restarted head: the screen says so.
#[test]
fn a_restarted_head_is_named() {
    let (mut app, now) = lab_app("v1-busy", View::Cluster);
    let body = br#"{"version": "4", "ray_version": "2.60.0", "ray_commit": "x", "session_name": "session_new"}"#;
    let data = raytop::source::dashboard::parse(Endpoint::Version, body).unwrap();
    app.on_msg(raytop::msg::Msg::Dash {
        key: app.dashboards[0].key.clone(),
        update: DashUpdate::Fetched { endpoint: Endpoint::Version, at: now, bytes: body.len(), data: Box::new(data) },
    });
    assert_eq!(
        app.toast.as_deref(),
        Some("lab: the Ray head restarted (session session_new, was session_2026-11-26_06-55-06_210280_30904)")
    );
}

/// The Serve view with history: each application's traffic from Prometheus (answers captured
/// from the lab's Prometheus while /demo served requests).
#[test]
fn serve_view_with_history_from_prometheus() {
    let (mut app, now) = lab_app("v3-history", View::Serve);
    app.set_history(captured_history(&raytop::model::history::SERVE_QUERIES, now));
    let screen = render(&app, now);
    assert!(screen.contains("15m REQ/S · ERR/S · P99 · HEALTHY"), "{screen}");
    assert!(screen.contains("···▁▁▁▁▁▁█ 3.2/s · - · 226.0ms · 3"), "{screen}");
    assert!(screen.contains("history 15m from http://127.0.0.1:9391"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// The Autoscaler view with history: active and pending nodes per group from Prometheus
/// (answers captured from the lab's Prometheus).
#[test]
fn autoscaler_view_with_nodes_per_group_over_time() {
    let (mut app, now) = lab_app("v3-history", View::Autoscaler);
    app.set_history(captured_history(&raytop::model::history::AUTOSCALER_QUERIES, now));
    let screen = render(&app, now);
    assert!(screen.contains("Nodes per group over 15m (Prometheus)"), "{screen}");
    let gpu = screen.lines().find(|l| l.contains("gpu-group          active")).unwrap_or_default();
    assert!(gpu.contains("   2  pending") && gpu.trim_end_matches(['│', '"', ' ']).ends_with(" 0"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// History built from the answers captured from the lab's Prometheus (`lab/prom/capture.sh`),
/// one file per query name, all over the one window in `window.json`.
fn captured_history(queries: &[(&'static str, &str)], at: SystemTime) -> raytop::model::history::History {
    let dir = format!("{}/tests/fixtures/prometheus", env!("CARGO_MANIFEST_DIR"));
    let window: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/window.json")).unwrap()).unwrap();
    let mut h = raytop::model::history::History::new("http://127.0.0.1:9391".into());
    for &(name, query) in queries {
        let body = std::fs::read(format!("{dir}/{name}.json")).unwrap();
        let series = raytop::wire::prometheus::parse_matrix(&body).unwrap();
        let result = raytop::wire::prometheus::QueryResult {
            query: query.into(),
            start: window["start"].as_f64().unwrap(),
            end: window["end"].as_f64().unwrap(),
            step: window["step"].as_u64().unwrap(),
            series,
        };
        h.apply(raytop::msg::HistoryUpdate::Answered { name, result, at });
    }
    h
}

/// Every query raytop sends, each answered from the capture.
fn all_captured(at: SystemTime) -> raytop::model::history::History {
    use raytop::model::history::{AUTOSCALER_QUERIES, CLUSTER_QUERIES, GPU_QUERIES, SERVE_QUERIES};
    let all: Vec<(&'static str, &str)> =
        [&SERVE_QUERIES[..], &AUTOSCALER_QUERIES, &CLUSTER_QUERIES, &GPU_QUERIES].concat();
    captured_history(&all, at)
}

/// The Cluster view with history: each node's host CPU, memory and logical CPUs used over the
/// window, joined by the node's metrics port (dashboard and Prometheus captured together).
#[test]
fn cluster_view_with_history_per_node_and_group() {
    let (mut app, now) = lab_app("v3-history", View::Cluster);
    app.set_history(all_captured(now));
    let screen = render(&app, now);
    assert!(screen.contains("15m HOST CPU · MEM"), "{screen}");
    // Groups read as nodes do, averaged over their nodes (the capture's last points: 52% and
    // 36% host CPU on the two gpu-group nodes).
    let gpu_group = screen.lines().find(|l| l.contains("▾ gpu-group")).unwrap();
    assert!(gpu_group.contains("  44% mem 10%"), "{screen}");
    // On a wide terminal, also the logical CPUs the group's nodes used, added up (1 and 0: a
    // trial had just ended), and uptime.
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    let wide = term.backend().to_string();
    let gpu_group = wide.lines().find(|l| l.contains("▾ gpu-group")).unwrap();
    assert!(gpu_group.contains(" 1 CPU") && wide.contains("15m HOST CPU · MEM · CPUS USED"), "{wide}");
    assert!(wide.contains("UPTIME"), "{wide}");
    let nodes: Vec<&str> = screen.lines().filter(|l| l.contains("ALIVE")).collect();
    assert_eq!(nodes.len(), 4, "{screen}");
    for n in nodes {
        assert!(!n.contains("not in Prometheus") && !n.contains("no metrics port"), "every node joined: {screen}");
        assert!(n.contains(" mem ") && n.matches('%').count() == 2, "cpu and memory from Prometheus: {n}");
    }
    insta::assert_snapshot!(screen);
}

/// A group's history is combined from its nodes' series when the history changes, and only
/// then: another Prometheus (nothing answered yet) leaves no stale group line behind.
#[test]
fn group_history_follows_a_new_history_source() {
    let (mut app, now) = lab_app("v3-history", View::Cluster);
    app.set_history(all_captured(now));
    let gpu_group =
        |app: &raytop::state::App| render(app, now).lines().find(|l| l.contains("▾ gpu-group")).unwrap().to_string();
    assert!(gpu_group(&app).contains("  44% mem 10%"), "positive control: {}", gpu_group(&app));
    app.set_history(raytop::model::history::History::new("http://other:9090".into()));
    assert!(!gpu_group(&app).contains('%'), "{}", gpu_group(&app));
}

/// The Serve view's history pane: the selected deployment's traffic as a chart, and each
/// replica's health over the window. The capture holds a replica killed on purpose (Ray's
/// controller reported it unhealthy, then replaced it): its line dips, then ends.
#[test]
fn serve_history_pane_shows_a_killed_replica_as_a_dip() {
    let (mut app, now) = lab_app("v3-history", View::Serve);
    app.set_history(all_captured(now));
    app.run(Command::Down); // the deployment row
    let screen = render(&app, now);
    assert!(screen.contains("demo/Demo req/s · err/s over 15m · p99 now 151ms"), "{screen}");
    assert!(screen.contains("Replica health over 15m"), "{screen}");
    // The replica killed during the capture: healthy, then unhealthy, then gone.
    let killed =
        screen.lines().find(|l| l.contains("0ik7gwic") && l.contains('▁')).unwrap_or_else(|| panic!("{screen}"));
    let strip: String = killed.chars().skip_while(|c| *c != '█').collect();
    let strip = strip.trim_end_matches(['│', '"']);
    assert!(strip.contains("█▁") && strip.trim_end().ends_with('▁') && strip.ends_with(' '), "{killed}");
    // Its successor starts blank (it did not exist yet) and is healthy to the end.
    let live = app.dashboards[0].serve.applications[0].deployments[0].replicas.iter().map(|r| r.replica_id.clone());
    for id in live {
        let line = screen.lines().rev().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("{id}: {screen}"));
        assert!(!line.contains('▁'), "{line}");
    }
    insta::assert_snapshot!(screen);
}

/// GPUs idle and held before raytop started: flagged at once from the utilisation history, not
/// a minute after launch. (The lab's GPUs are logical, so no Prometheus answer holds physical
/// GPU series: this history is written in the shape Ray 2.60's reporter exports, labels read
/// from its source.)
#[test]
fn a_gpu_idle_before_launch_is_flagged_from_history() {
    let (mut c, now) = gpu_lab_with_a_trial();
    assert!(!c.gpus.flags.iter().any(|f| f.contains("while held")), "no flag at launch: {:?}", c.gpus.flags);
    let end = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let series = |uuid: &str, busy: f64| raytop::wire::prometheus::Series {
        labels: [("GpuUuid".to_string(), uuid.to_string()), ("GpuIndex".to_string(), "0".to_string())].into(),
        points: (0..=60).map(|i| (end - 600.0 + 10.0 * f64::from(i), if i < 10 { 80.0 } else { busy })).collect(),
    };
    let mut h = raytop::model::history::History::new("http://p".into());
    let result = raytop::wire::prometheus::QueryResult {
        query: raytop::model::history::GPU_QUERIES[0].1.into(),
        start: end - 600.0,
        end,
        step: 10,
        series: vec![series("GPU-fffffff00003", 0.0), series("GPU-fffffff00002", 93.0)],
    };
    h.apply(raytop::msg::HistoryUpdate::Answered { name: "gpu_util", result, at: now });
    c.gpus.apply_history(&h);
    let held: Vec<&String> = c.gpus.flags.iter().filter(|f| f.contains("while held")).collect();
    assert_eq!(held.len(), 1, "{:?}", c.gpus.flags);
    assert!(held[0].starts_with("GPU 0 on ") && held[0].contains("below 5% busy for 8m20s while held by"), "{held:?}");
}

/// Prometheus fails after it answered: both views say since when and how old the answers they
/// keep are, and keep showing them.
#[test]
fn failing_history_keeps_its_last_answers_with_their_age() {
    let (mut app, now) = lab_app("v3-history", View::Autoscaler);
    let all: Vec<(&'static str, &str)> =
        raytop::model::history::AUTOSCALER_QUERIES.into_iter().chain(raytop::model::history::SERVE_QUERIES).collect();
    let mut h = captured_history(&all, now);
    let later = |s| now + std::time::Duration::from_secs(s);
    h.apply(raytop::msg::HistoryUpdate::Failed {
        error: "Prometheus unreachable: Connection refused".into(),
        at: later(20),
    });
    app.set_history(h);
    let screen = render(&app, later(50));
    let notice = "history failing for 30s: Prometheus unreachable: Connection refused — answers from 50s ago kept";
    assert!(screen.contains(notice), "{screen}");
    assert!(screen.lines().any(|l| l.contains("gpu-group          active")), "the last answers stay: {screen}");
    app.run(Command::ViewServe);
    let screen = render(&app, later(50));
    assert!(screen.contains("· history failing for 30s: Prometheus unreachable"), "{screen}");
    assert!(screen.contains("3.2/s · - · 226.0ms · 3"), "the last answers stay: {screen}");
    // Seen in tmux: with only the Autoscaler view's answers, Serve claimed "no traffic recorded".
    app.set_history(captured_history(&raytop::model::history::AUTOSCALER_QUERIES, now));
    let screen = render(&app, now);
    let demo = screen.lines().find(|l| l.contains("▾ demo")).unwrap();
    assert!(demo.contains("route /demo") && demo.contains(" …") && !demo.contains("no traffic"), "{screen}");
}

/// A group of 1,200 nodes: its counts and CPU pair are shown whole, not cut to a number that
/// reads as another ("1800/24" for 1800/2400).
#[test]
fn a_large_group_s_numbers_are_not_cut() {
    let mut summary: serde_json::Value =
        serde_json::from_slice(&common::read("v3-history", "nodes_summary.json")).unwrap();
    let data = summary["data"].as_object_mut().unwrap();
    let worker = data["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["raylet"]["nodeTypeName"] == "cpu-group")
        .unwrap()
        .clone();
    let mut nodes = Vec::new();
    let mut usage = serde_json::Map::new();
    for i in 0..1200 {
        let mut n = worker.clone();
        let id = format!("{i:056x}");
        n["raylet"]["nodeId"] = serde_json::Value::String(id.clone());
        nodes.push(n);
        usage.insert(id, "1.5/2.0 CPU\n0B/16.00GiB memory".into());
    }
    data.insert("summary".into(), nodes.into());
    data.insert("nodeLogicalResources".into(), usage.into());
    let body = serde_json::to_vec(&summary).unwrap();
    let mut c = Dashboard::new(
        "lab".into(),
        raytop::msg::DashKey::Url("http://127.0.0.1:8265".into()),
        "http://127.0.0.1:8265".into(),
        common::lab_config(),
    );
    let data = raytop::source::dashboard::parse(Endpoint::Nodes, &body).unwrap();
    c.apply(DashUpdate::Fetched {
        endpoint: Endpoint::Nodes,
        at: SystemTime::now(),
        bytes: body.len(),
        data: Box::new(data),
    });
    let app = app_for(c);
    // 160 columns: room for every column at its width (at 120 the table squeezes some).
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, SystemTime::now())).unwrap();
    let screen = term.backend().to_string();
    let group = screen.lines().find(|l| l.contains("▾ cpu-group")).unwrap_or_else(|| panic!("{screen}"));
    assert!(group.contains("1200 alive [1..3]"), "{group}");
    assert!(group.contains(" 1800/2400 "), "{group}");
}

/// Every file in tests/snapshots is `<binary>__<test>.snap` for a test of that binary that takes
/// a snapshot: no stray or orphaned file. (One literally named `*.snap`, a glob that matched
/// nothing used as a name, was once committed.)
#[test]
fn every_snapshot_file_belongs_to_a_test_that_takes_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("tests/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            continue; // insta's proposals, git-ignored: for `cargo insta review`
        }
        let (binary, test) = name
            .strip_suffix(".snap")
            .and_then(|n| n.split_once("__"))
            .unwrap_or_else(|| panic!("tests/snapshots/{name}: not named <binary>__<test>.snap"));
        let src = std::fs::read_to_string(root.join(format!("tests/{binary}.rs")))
            .unwrap_or_else(|e| panic!("tests/snapshots/{name}: tests/{binary}.rs: {e}"));
        let at = src
            .find(&format!("fn {test}()"))
            .unwrap_or_else(|| panic!("tests/snapshots/{name}: no test {test} in tests/{binary}.rs"));
        let end = src[at..].find("\n}\n").map_or(src.len(), |i| at + i);
        assert!(src[at..end].contains("insta::assert_snapshot!"), "tests/snapshots/{name}: {test} takes no snapshot");
        checked += 1;
    }
    assert!(checked >= 10, "the snapshots were found: {checked}");
}

fn press(app: &mut App, code: crossterm::event::KeyCode) -> Vec<raytop::app::Effect> {
    app.on_key(&crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, crossterm::event::KeyCode::Char(c));
    }
}

#[test]
fn log_pane_opens_on_a_replica_follows_searches_and_closes() {
    use crossterm::event::KeyCode;
    use raytop::app::Effect;
    use raytop::msg::{LogEvent, Msg};
    use raytop::rows::Row;
    use raytop::source::dashboard::logs::RayLog;
    use raytop::source::logs::LogSpec;
    let (mut app, now) = lab_app("v1-busy", View::Serve);
    // On an application row there are several logs: a chooser of its replicas, Esc leaves it.
    let app_row = app.rows.iter().position(|r| matches!(r, Row::App { .. })).unwrap();
    app.selected[View::Serve.index()] = app_row;
    assert!(press(&mut app, KeyCode::Char('l')).is_empty());
    let raytop::state::Overlay::ChooseLog(choice) = &app.overlay else { panic!("no chooser: {:?}", app.toast) };
    let Row::App { a, .. } = app.rows[app_row].clone() else { unreachable!() };
    let replicas: usize = app.cluster().unwrap().serve.applications[a]
        .deployments
        .iter()
        .map(|d| d.replicas.len() + d.recent_dead.len())
        .sum();
    assert_eq!(choice.items.len(), replicas);
    assert!(render(&app, now).contains("log of which replica of"), "{}", render(&app, now));
    press(&mut app, KeyCode::Esc);
    assert!(app.log.is_none());
    let at = app.rows.iter().position(|r| matches!(r, Row::Replica { .. })).unwrap();
    let Row::Replica { a, d, r } = app.rows[at].clone() else { unreachable!() };
    let actor = app.cluster().unwrap().serve.applications[a].deployments[d].replicas[r].actor_id.clone();
    app.selected[View::Serve.index()] = at;
    let fx = press(&mut app, KeyCode::Char('l'));
    let [Effect::OpenLog { id, spec: LogSpec::Ray { target, .. }, reading }] = &fx[..] else { panic!("{fx:?}") };
    assert_eq!(*target, RayLog::Actor { actor_id: actor.clone(), err: false });
    assert!(reading.follow && reading.tail == Some(1000));
    let id = *id;
    let lines = [
        "INFO 2026-12-03 replica.py:10 -- started",
        "WARNING slow request: 2.5 s",
        "handled request 1",
        "Traceback (most recent call last):",
        "  File \"fruit.py\", line 12, in __call__",
        "ValueError: boom",
        "handled request 2",
    ];
    for event in [LogEvent::Live, LogEvent::Lines(lines.iter().map(|s| s.to_string()).collect())] {
        app.on_msg(Msg::Log { id, event });
    }
    // A late event of an earlier opening is dropped.
    app.on_msg(Msg::Log { id: id + 99, event: LogEvent::Lines(vec!["not mine".into()]) });
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "REQUEST");
    press(&mut app, KeyCode::Enter);
    let pane = app.log.as_ref().unwrap();
    assert_eq!(pane.mark, Some(6), "the newest match first");
    assert!(!pane.follow, "a search pauses where it lands");
    let screen = render(&app, now);
    for want in
        ["actor", "● live", "7 lines from the last 1,000", "search \"REQUEST\"", "ValueError: boom", "f follow/pause"]
    {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    assert!(!screen.contains("not mine"), "{screen}");
    insta::assert_snapshot!(screen);
    // `e` lands on the traceback; `S` asks to save every line; Esc closes and stops the stream.
    press(&mut app, KeyCode::Char('e'));
    assert_eq!(app.log.as_ref().unwrap().mark, Some(3));
    let fx = press(&mut app, KeyCode::Char('S'));
    assert!(matches!(&fx[..], [Effect::SaveLog { lines, .. }] if lines.len() == 7), "{fx:?}");
    app.on_msg(Msg::Log {
        id,
        event: LogEvent::Lost { error: "reset".into(), retry_in: std::time::Duration::from_secs(4) },
    });
    assert!(render(&app, now).contains("stream lost"), "the status says so; the lines stay");
    assert!(render(&app, now).contains("handled request 2"));
    // Help, with the pane open, lists the pane's keys; any key closes it, the pane stays.
    press(&mut app, KeyCode::Char('?'));
    assert!(render(&app, now).contains("Jump to the first Traceback or ERROR line"));
    press(&mut app, KeyCode::Char('x'));
    assert!(app.log.is_some());
    assert_eq!(press(&mut app, KeyCode::Esc), [Effect::CloseLog]);
    assert!(app.log.is_none());
    assert!(render(&app, now).contains("RUNNING"), "the Serve view is back");
}

#[test]
fn log_on_a_node_lists_its_files_then_opens_the_one_chosen() {
    use crossterm::event::KeyCode;
    use raytop::app::Effect;
    use raytop::msg::Msg;
    use raytop::rows::Row;
    use raytop::source::dashboard::logs::{NodeRef, RayLog};
    use raytop::source::logs::LogSpec;
    let (mut app, now) = lab_app("v1-busy", View::Cluster);
    let at = app.rows.iter().position(|r| matches!(r, Row::Node { .. })).unwrap();
    app.selected[View::Cluster.index()] = at;
    let fx = press(&mut app, KeyCode::Char('l'));
    let [Effect::ListLogFiles { dashboard, node_id }] = &fx[..] else { panic!("{fx:?}") };
    let (dashboard, node_id) = (dashboard.clone(), node_id.clone());
    let files =
        vec!["dashboard_agent.log".to_string(), "gcs_server.out".into(), "raylet.err".into(), "raylet.out".into()];
    app.on_msg(Msg::LogFiles { dashboard: dashboard.clone(), node_id: node_id.clone(), files: Ok(files) });
    let screen = render(&app, now);
    assert!(screen.contains("log file of node") && screen.contains("1 of 4"), "raylet.out first:\n{screen}");
    let raytop::state::Overlay::ChooseLog(choice) = &app.overlay else { panic!("no chooser") };
    let order: Vec<&str> = choice.items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(order, ["raylet.out", "raylet.err", "gcs_server.out", "dashboard_agent.log"]);
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Enter);
    let [Effect::OpenLog { spec: LogSpec::Ray { target, .. }, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert_eq!(*target, RayLog::File { node: NodeRef::Id(node_id.clone()), filename: "raylet.err".into() });
    // A node whose files cannot be listed: the reason, no chooser.
    app.on_msg(Msg::LogFiles { dashboard, node_id, files: Err("HTTP 404".into()) });
    assert!(app.toast.as_deref().unwrap().contains("HTTP 404"));
}

/// The Jobs view with a Train run applied from a capture of `lab/capture_train.py`, at a
/// time `secs` after the run started.
fn jobs_with_train(capture: &str, secs: f64) -> (App, SystemTime) {
    let (mut app, _) = lab_app("v1-busy", View::Jobs);
    let body = common::read("train", &format!("{capture}.json"));
    let data = raytop::source::dashboard::parse(Endpoint::TrainRuns, &body).unwrap();
    let at = SystemTime::UNIX_EPOCH;
    app.dashboards[0].apply(DashUpdate::Fetched {
        endpoint: Endpoint::TrainRuns,
        at,
        bytes: body.len(),
        data: Box::new(data),
    });
    app.rebuild_rows();
    let start = app.dashboards[0].train.runs[0].start_time.unwrap();
    (app, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs_f64(start + secs))
}

/// A Train run 3 s after its rank 1 worker was killed: the run SCHEDULING its second attempt,
/// the first attempt's ranks DEAD with rank 1 marked as the one that failed; Enter: the
/// attempts (the first's error snippet) and the run's settings.
#[test]
fn jobs_view_train_run_with_a_killed_worker() {
    let (mut app, now) = jobs_with_train("killed", 20.0);
    let screen = render(&app, now);
    assert!(screen.contains("SCHEDULING · attempt 2"), "{screen}");
    assert!(screen.contains("rank 1") && screen.contains("DEAD (failed)"), "{screen}");
    assert_eq!(screen.matches("(failed)").count(), 1, "only rank 1 failed: {screen}");
    let at = app.rows.iter().position(|r| matches!(r, raytop::rows::Row::TrainRun { .. })).unwrap();
    app.selected[View::Jobs.index()] = at;
    app.run(Command::RunDetail);
    let screen = render(&app, now);
    assert!(screen.contains("attempt 1 ERRORED") && screen.contains("[Rank 1 Error Snippet]"), "{screen}");
    assert!(screen.contains("scaling_config.num_workers = 2"), "{screen}");
    insta::assert_snapshot!(screen);
}

/// Restarted: the second attempt's workers (new pids), the run's message saying why.
#[test]
fn jobs_view_train_run_restarted() {
    let (app, now) = jobs_with_train("restarted", 60.0);
    let screen = render_at(&app, now, 180, 40);
    assert!(screen.contains("RUNNING · attempt 2"), "{screen}");
    assert!(screen.contains("attempt 1 ERRORED (rank 1 failed)"), "{screen}");
    assert!(!screen.contains("DEAD"), "the new attempt's workers are listed: {screen}");
    let pids: Vec<i64> = app.dashboards[0].train.runs[0].attempts[1].workers.iter().filter_map(|w| w.pid).collect();
    assert!(pids.iter().all(|p| screen.contains(&format!("pid {p}"))), "{pids:?} {screen}");
}

/// No tracked run on the cluster: the view says how to turn tracking on (the head's own 500,
/// as captured before any run).
#[test]
fn jobs_view_says_how_to_turn_train_tracking_on() {
    let (mut app, now) = lab_app("v1-busy", View::Jobs);
    let body = String::from_utf8(common::read("train", "untracked.json")).unwrap();
    let why = raytop::wire::train::untracked_reason(500, &body).unwrap();
    let data = raytop::source::dashboard::DashData::TrainUntracked(why);
    app.dashboards[0].apply(DashUpdate::Fetched {
        endpoint: Endpoint::TrainRuns,
        at: now,
        bytes: 190,
        data: Box::new(data),
    });
    let screen = render(&app, now);
    assert!(
        screen.contains("Train runs are not tracked on this cluster: set RAY_TRAIN_ENABLE_STATE_TRACKING=1"),
        "{screen}"
    );
}

/// The holders of the GPUs are joined (20,000 actors at 2,000 nodes) only when what names them
/// moves: not on an autoscaler report, nor on a trial's new result; again when a trial moves to
/// another actor's process, and when the actors change.
#[test]
fn gpu_holders_are_joined_again_only_when_what_names_them_moves() {
    let (mut c, now) = gpu_lab_with_a_trial();
    let held = |c: &Dashboard| c.gpus.nodes.iter().find(|n| !n.holders.is_empty()).unwrap().holders.clone();
    let before = held(&c);
    let trial_holder = before.iter().find(|h| h.kind == "trial").expect("the trial holds a GPU").clone();
    let body = common::read("gpu-physical", "cluster_status.json");
    let report = raytop::source::dashboard::parse(Endpoint::ClusterStatus, &body).unwrap();
    let at = now + std::time::Duration::from_secs(5);
    c.apply(DashUpdate::Fetched { endpoint: Endpoint::ClusterStatus, at, bytes: body.len(), data: Box::new(report) });
    assert!(std::sync::Arc::ptr_eq(&before, &held(&c)), "a report joined the holders again");
    // A new result of the same trial, same process: nothing to join.
    let result = |pid: u64, it: u32| {
        raytop::wire::tune::ResultRow::parse(&format!(
            r#"{{"trial_id": "abc12_00003", "training_iteration": {it}, "loss": 0.2, "pid": {pid}, "node_ip": "192.0.2.2"}}"#
        ))
        .unwrap()
    };
    let results = |row| raytop::msg::TuneUpdate::Results {
        experiment: "asha-sweep".into(),
        trial_dir: "t3".into(),
        reset: false,
        rows: vec![row],
    };
    c.apply_tune(results(result(31630, 5)));
    c.apply_tune(raytop::msg::TuneUpdate::Pass { bytes: 0, at });
    assert!(std::sync::Arc::ptr_eq(&before, &held(&c)), "a result in the same process joined the holders again");
    // Positive control: the trial now reports from another process (a restarted trial): the
    // actor that ran it is a plain actor again.
    c.apply_tune(results(result(4_000_000, 6)));
    c.apply_tune(raytop::msg::TuneUpdate::Pass { bytes: 0, at });
    let after = held(&c);
    assert!(!std::sync::Arc::ptr_eq(&before, &after));
    let was = after.iter().find(|h| h.actor_id == trial_holder.actor_id).expect("the actor still holds its GPU");
    assert_eq!(was.kind, "actor", "{after:?}");
    // The actors change: joined again, from the new list (that actor gone).
    let mut actors = c.actors.clone();
    actors.retain(|a| a.actor_id != trial_holder.actor_id);
    let before_actors = held(&c);
    c.apply(DashUpdate::Fetched {
        endpoint: Endpoint::Actors,
        at,
        bytes: 0,
        data: Box::new(raytop::wire::dashboard::DashData::Actors(actors)),
    });
    let after = held(&c);
    assert!(!std::sync::Arc::ptr_eq(&before_actors, &after), "new actors, the same holders");
    assert!(after.iter().all(|h| h.actor_id != trial_holder.actor_id), "{after:?}");
}

/// A GPU held by a Ray Train worker is named by its run and rank (here the lab's GPU actor
/// stands in as rank 0 of the captured run: the capture's ranks hold no GPU).
#[test]
fn gpu_view_names_a_train_worker_by_run_and_rank() {
    let mut c = common::load_cluster("gpu-physical", common::lab_config());
    let held: Vec<_> = c.gpus.nodes.iter().flat_map(|n| n.holders.iter().cloned()).collect();
    let actor = held.iter().find(|h| h.kind == "actor").unwrap_or_else(|| panic!("{held:?}")).actor_id.clone();
    let mut runs: serde_json::Value = serde_json::from_slice(&common::read("train", "running.json")).unwrap();
    runs["train_runs"][0]["attempts"][0]["workers"][0]["actor_id"] = serde_json::Value::String(actor.clone());
    let body = serde_json::to_vec(&runs).unwrap();
    let data = raytop::source::dashboard::parse(Endpoint::TrainRuns, &body).unwrap();
    let at = SystemTime::UNIX_EPOCH;
    c.apply(DashUpdate::Fetched { endpoint: Endpoint::TrainRuns, at, bytes: body.len(), data: Box::new(data) });
    let held: Vec<_> = c.gpus.nodes.iter().flat_map(|n| n.holders.iter()).collect();
    let h = held.iter().find(|h| h.actor_id == actor).unwrap();
    assert_eq!((h.kind, h.name.as_str()), ("train_worker", "fixture-run rank 0"));
}

/// The grid fixture as a head pod holds it (`~/ray_results/grid`), read by the real reader
/// (run here as a local process, the same protocol as through `pods/exec`) into the head's copy.
async fn with_tune_from_a_head(home: &std::path::Path, cache: &std::path::Path) -> (App, SystemTime) {
    use raytop::source::tune::{StorageMirror, read_mirrored};
    use raytop::source::tune_head::{HeadMirror, label, process_connector};
    let mut c = common::load_cluster("v1-busy", common::lab_config());
    let home_dir = home.to_path_buf();
    let connect = process_connector(move || {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.env("HOME", &home_dir).env("RAY_TMPDIR", &home_dir).env("TMPDIR", &home_dir);
        cmd
    });
    let head =
        HeadMirror::new(label("ray-lab", "raycluster-lab"), cache, &["ray-lab", "raycluster-lab"], connect).unwrap();
    let updates = read_mirrored(Vec::new(), vec![StorageMirror::Head(Box::new(head))], Vec::new()).await;
    for u in updates {
        c.apply_tune(u);
    }
    (app_for(c), common::capture_clock("v1-busy"))
}

fn palette(app: &mut App, line: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    app.on_key(&KeyEvent::new(KeyCode::Char(':'), KeyModifiers::NONE));
    for ch in line.chars() {
        app.on_key(&KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
    app.on_key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

/// Tune from a RayCluster's head: the same leaderboard as the folder read on disk, where it
/// lies on the head and what the last read moved on the info line, `:tune` naming it; a head
/// with no experiment says where it looked.
#[tokio::test]
async fn tune_view_from_a_head_pod_shows_the_same_board_and_where_it_lies() {
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("ray_results")).unwrap();
    let grid = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune/grid");
    std::os::unix::fs::symlink(&grid, home.path().join("ray_results/grid")).unwrap();
    let (mut app, now) = with_tune_from_a_head(home.path(), cache.path()).await;
    let (local, _) = with_tune("v1-busy", &["grid"]);
    let board = |a: &App| {
        let e = a.dashboards[0].tune.experiments.iter().find(|e| e.name == "grid").expect("grid read");
        e.trials.iter().map(|t| (t.trial_id.clone(), t.status.clone(), t.iterations, t.best)).collect::<Vec<_>>()
    };
    assert_eq!(board(&app).len(), 6);
    assert_eq!(board(&app), board(&local), "the same trials, statuses, iterations and best values");
    palette(&mut app, "tune");
    assert_eq!(app.view, View::Tune);
    let where_ = format!("grid (head of ray-lab/raycluster-lab: {}/ray_results/grid)", home.path().display());
    assert!(app.toast.as_deref().unwrap_or_default().contains(&where_), "{:?}", app.toast);
    let screen = render_at(&app, now, 240, 40);
    assert!(screen.contains("★1"), "{screen}");
    assert!(
        screen.contains("head of ray-lab/raycluster-lab through exec (read ") && screen.contains("last pass): "),
        "{screen}"
    );
    palette(&mut app, "tune nosuch");
    assert_eq!(app.toast.as_deref(), Some("no experiment \"nosuch\": there are grid"));

    let empty = tempfile::tempdir().unwrap();
    let (mut app, now) = with_tune_from_a_head(empty.path(), cache.path()).await;
    app.run(Command::ViewTune);
    let screen = render_at(&app, now, 240, 40);
    assert!(
        screen.contains("No Tune experiments on the head of ray-lab/raycluster-lab (looked in the drivers'"),
        "{screen}"
    );
}
