//! Live tests against the real Ray lab (`lab/up.sh`): run by `lab/test.sh`, which starts it.
//! Every wait is on an observable condition with a timeout, never a fixed sleep.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tmux::Pane;
use common::{eventually, lab_config_file, lab_url, snapshot};
use serde_json::Value;

fn group<'a>(c: &'a Value, name: &str) -> Option<&'a Value> {
    c["groups"].as_array()?.iter().find(|g| g["name"] == name)
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn snapshot_shows_groups_gpus_decisions_pending_demand_and_serve() {
    let url = lab_url();
    let cfg = lab_config_file();
    eventually("the lab's state in snapshot --json", Duration::from_secs(300), || {
        let (code, json) = snapshot(&["--dashboard", &url, "--cluster-config", &cfg]);
        if code != 0 {
            return Err(format!("exit {code}: {json}"));
        }
        let c = &json["clusters"][0];
        let cpu = group(c, "cpu-group").ok_or("no cpu-group")?;
        if cpu["kind"] != "worker" || cpu["nodes_alive"].as_u64() < Some(1) {
            return Err(format!("cpu-group: {cpu}"));
        }
        let gpu = group(c, "gpu-group").ok_or("no gpu-group")?;
        if gpu["gpu"]["total"].as_f64() != Some(2.0) {
            return Err(format!("gpu-group GPU total: {}", gpu["gpu"]));
        }
        let events = c["autoscaler"]["events"].as_array().ok_or("no events")?;
        if !events
            .iter()
            .any(|e| e["decision"] == "adding" && e["message"].as_str().unwrap_or("").contains("gpu-group"))
        {
            return Err("no Adding … gpu-group decision".into());
        }
        let pending = c["autoscaler"]["pending"].as_array().ok_or("no pending")?;
        if !pending.iter().any(|d| d["shape"].as_array().is_some_and(|s| s.iter().any(|kv| kv[0] == "GPU"))) {
            return Err(format!("no pending GPU demand: {pending:?}"));
        }
        let verdicts = c["autoscaler"]["verdicts"].as_array().ok_or("no verdicts")?;
        if !verdicts
            .iter()
            .any(|v| v["group"] == "gpu-group" && v["text"].as_str().unwrap_or("").contains("at max 2/2"))
        {
            return Err(format!("no at-max verdict: {verdicts:?}"));
        }
        let apps = c["serve"]["applications"].as_array().ok_or("no serve")?;
        let demo = apps.iter().find(|a| a["name"] == "demo").ok_or("no demo app")?;
        let running = demo["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["replicas"].as_array().into_iter().flatten())
            .filter(|r| r["state"] == "RUNNING")
            .count();
        if demo["status"] != "RUNNING" || running != 3 {
            return Err(format!("demo: {} with {running} running replicas", demo["status"]));
        }
        Ok(())
    });
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn tui_in_tmux_switches_views_filters_helps_and_quits_cleanly() {
    let cfg = lab_config_file();
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--cluster-config", &cfg, "--refresh", "1"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    p.wait_for("● connected", Duration::from_secs(10));
    p.keys(&["2"]);
    p.wait_for("Scaling verdicts", Duration::from_secs(10));
    p.wait_for("Adding", Duration::from_secs(30));
    p.wait_for("gpu-group at max 2/2", Duration::from_secs(60));
    p.keys(&["3"]);
    let s = p.wait_for("demo", Duration::from_secs(15));
    assert!(s.contains("RUNNING"), "{s}");
    p.keys(&["1", "/"]);
    p.type_text("cpu");
    p.keys(&["Enter"]);
    let s = p.wait("filter applied", Duration::from_secs(5), |s| s.contains("filter: cpu") && !s.contains("gpu-group"));
    assert!(s.contains("cpu-group"), "{s}");
    // Wait for each key's effect before the next: Esc followed at once by another key reads as
    // Alt+key to a terminal.
    p.keys(&["Escape"]);
    p.wait("filter cleared", Duration::from_secs(5), |s| !s.contains("filter: cpu") && s.contains("gpu-group"));
    p.keys(&["?"]);
    p.wait_for("Show or fold dead nodes", Duration::from_secs(5));
    p.keys(&["Escape"]);
    p.wait("help closed", Duration::from_secs(5), |s| !s.contains("Show or fold dead nodes"));
    p.keys(&[":"]);
    p.wait_for("Tab complete", Duration::from_secs(5));
    p.type_text("autoscaler");
    p.keys(&["Enter"]);
    p.wait_for("Scaling verdicts", Duration::from_secs(5));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    assert_eq!(p.state(), (true, false), "raytop exited and left the alternate screen");
    let log = std::fs::read_to_string(p.log_file()).unwrap_or_default();
    assert!(log.contains("first populated frame"), "log: {log}");
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn dashboard_stopped_mid_run_keeps_data_then_recovers() {
    let target: std::net::SocketAddr =
        lab_url().trim_start_matches("http://").parse().expect("lab url is http://ip:port");
    let mut fwd = common::forward::Forwarder::start(target, 0);
    let url = format!("http://127.0.0.1:{}", fwd.port);
    let p = Pane::raytop(&["--dashboard", &url, "--refresh", "1", "--timeout", "2"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    fwd.down();
    let s = p.wait_for("disconnected, retrying", Duration::from_secs(30));
    assert!(s.contains("showing data from"), "{s}");
    assert!(s.contains("gpu-group"), "last data kept: {s}");
    fwd.up();
    p.wait("reconnected", Duration::from_secs(60), |s| s.contains("● connected") && !s.contains("disconnected"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn serve_deploy_failure_is_readable_then_restored() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        let st = std::process::Command::new(format!("{root}/lab/serve-fail.sh")).args(args).status().unwrap();
        assert!(st.success(), "lab/serve-fail.sh {args:?}");
    };
    run(&[]);
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--refresh", "1"]);
    p.keys(&["3"]);
    let s = p.wait_for("DEPLOY_FAILED", Duration::from_secs(120));
    let s = if s.contains("failed to start") { s } else { p.wait_for("failed to start", Duration::from_secs(30)) };
    assert!(s.contains("broken"), "{s}");
    p.keys(&["q"]);
    run(&["--restore"]);
}
