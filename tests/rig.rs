//! The scale rig (`lab/rig/ray_rig.py`) answers like a Ray 2.60 dashboard of any size: raytop
//! reads it as it reads the lab, and against a slow rig never has two requests in flight to one
//! endpoint. Needs only python3 (the rig builds its answers from the lab's captures).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::time::Duration;

use common::tmux::Pane;
use serde_json::Value;

/// The rig, stopped when dropped.
struct Rig {
    child: std::process::Child,
    url: String,
}

impl Rig {
    fn start(args: &[&str]) -> Rig {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/lab/rig/ray_rig.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("rig said {line:?}: {e}"));
        Rig { child, url: format!("http://127.0.0.1:{}", ready["port"]) }
    }

    fn stats(&self) -> Value {
        let out =
            std::process::Command::new("curl").args(["-sf", &format!("{}/rig/stats", self.url)]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn raytop_reads_the_rig_as_a_dashboard_of_that_size() {
    let rig = Rig::start(&["--nodes", "60", "--actors", "300", "--replicas", "12", "--churn", "60"]);
    let (code, json) = common::snapshot(&["--dashboard", &rig.url]);
    assert_eq!(code, 0, "{json}");
    let groups = json["clusters"][0]["groups"].as_array().unwrap();
    let alive: u64 = groups.iter().map(|g| g["nodes_alive"].as_u64().unwrap()).sum();
    assert_eq!(alive, 60, "{groups:?}");
    assert_eq!(groups.len(), 9, "the head and 8 worker groups");
    let serve = &json["clusters"][0]["serve"]["applications"][0]["deployments"][0]["replicas"];
    assert_eq!(serve.as_array().map(Vec::len), Some(12));
}

/// A rig slower than the refresh (each answer takes 1.5 s, the refresh is 1 s): raytop waits for
/// each answer before asking that endpoint again, in every view.
#[test]
fn a_slow_dashboard_never_gets_two_requests_in_flight_to_one_endpoint() {
    let rig = Rig::start(&["--nodes", "40", "--actors", "200", "--replicas", "6", "--churn", "2", "--slow", "1.5"]);
    let p = Pane::raytop(&["--dashboard", &rig.url, "--refresh", "1"]);
    p.wait_for("ALIVE", Duration::from_secs(30));
    for view in ["2", "3", "5", "6", "1"] {
        p.keys(&[view]);
        std::thread::sleep(Duration::from_secs(3));
    }
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    let stats = rig.stats();
    let paths = stats.as_object().unwrap();
    assert!(paths.len() >= 6, "the views asked for their endpoints: {stats}");
    for (path, s) in paths {
        assert_eq!(s["max_in_flight"], 1, "{path}: {s}");
    }
}

/// The summary of a big cluster takes long to arrive (here 60 s); the autoscaler's report, a
/// fraction of its size, is on screen first: groups, nodes and their usage.
#[test]
fn the_first_frame_does_not_wait_for_the_summary() {
    let rig = Rig::start(&[
        "--nodes",
        "40",
        "--actors",
        "200",
        "--replicas",
        "6",
        "--churn",
        "60",
        "--slow-path",
        "/nodes=60",
    ]);
    let started = std::time::Instant::now();
    let p = Pane::raytop(&["--dashboard", &rig.url, "--refresh", "1"]);
    // The claim is "before the summary" (60 s away), checked below; the time to the frame is a
    // figure, its limit generous for a debug build on a busy machine and well short of 60 s.
    let screen = p.wait_for("40 node(s) alive", Duration::from_secs(30));
    eprintln!(
        "figure: first populated frame {:.1} s after start, the summary 60 s away",
        started.elapsed().as_secs_f64()
    );
    assert!(screen.contains("cpu-group"), "{screen}");
    let stats = rig.stats();
    assert_eq!(stats["/nodes"]["bytes"], 0, "the summary is still on its way: {stats}");
    let quit = std::time::Instant::now();
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(25));
    eprintln!("figure: quit with the summary in flight: {:.1} s", quit.elapsed().as_secs_f64());
}
