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
    let target = common::lab_addr();
    let mut fwd = common::forward::Forwarder::start(target, 0);
    let url = format!("http://127.0.0.1:{}", fwd.port);
    let p = Pane::raytop(&["--dashboard", &url, "--refresh", "1", "--timeout", "2"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    fwd.down();
    let s = p.wait("disconnected, with since when", Duration::from_secs(30), |s| {
        s.contains(" disconnected for ") && s.contains(", retrying: ")
    });
    assert!(s.contains("showing data from"), "{s}");
    assert!(s.contains("gpu-group"), "last data kept: {s}");
    fwd.up();
    p.wait("reconnected", Duration::from_secs(60), |s| s.contains("● connected") && !s.contains("disconnected"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// Faults the dashboard can show, injected between the real one and raytop: a 500, a body cut
/// short, an HTML page, answers slower than --timeout. Each is named on screen with how long it
/// has lasted, the last data stays with its age, and raytop recovers alone when it clears.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn dashboard_faults_are_named_with_their_age_and_cleared() {
    use common::faultproxy::{Fault, FaultProxy};
    let target = common::lab_addr();
    let proxy = FaultProxy::start(target);
    let p = Pane::raytop(&["--dashboard", &proxy.url, "--refresh", "1", "--timeout", "2"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    let mut survived = 0;
    let faults = [
        // Whichever endpoint is due first is named; each is retried on its own schedule.
        (Fault::Status500, "HTTP 500 from /", "failing for"),
        (Fault::Truncated, "malformed response from /", "failing for"),
        (Fault::Html, "malformed response from /", "failing for"),
        (Fault::Slow(Duration::from_secs(4)), "dashboard timed out", "disconnected for"),
    ];
    for (fault, what, since) in faults {
        proxy.set(fault);
        let s = p.wait(&format!("{fault:?} named"), Duration::from_secs(40), |s| s.contains(what) && s.contains(since));
        assert!(s.contains("gpu-group"), "{fault:?}: the last data kept: {s}");
        // The banner gives the kept data's own age (not the header's "data 0s ago"), and it
        // grows while the fault lasts: no fresh data replaces it.
        let first = kept_data_age(&s).unwrap_or_else(|| panic!("{fault:?}: no age of the kept data: {s}"));
        let s = p.wait(&format!("{fault:?}: the kept data older than {first}s"), Duration::from_secs(20), |s| {
            kept_data_age(s).is_some_and(|age| age >= first + 2)
        });
        eprintln!("figure: {fault:?}: kept data shown {}s old, was {first}s", kept_data_age(&s).unwrap_or(0));
        proxy.set(Fault::None);
        p.wait(&format!("recovered from {fault:?}"), Duration::from_secs(60), |s| {
            s.contains("● connected") && !s.contains("failing for") && !s.contains("disconnected")
        });
        survived += 1;
    }
    eprintln!("figure: dashboard faults injected and survived: {survived} of {}", faults.len());
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// The age the fault banner under the header gives the data it keeps ("its data from 1m2s ago
/// kept", "showing data from 5s ago"), in seconds. The header's "data 5s ago" is not it.
fn kept_data_age(screen: &str) -> Option<u64> {
    let banner = screen.lines().nth(1)?;
    let (_, rest) = banner.split_once("data from ")?;
    let (age, _) = rest.split_once(" ago")?;
    age_secs(age)
}

/// Seconds in an age as raytop prints one (45s, 12m3s, 3h4m, 2d3h).
fn age_secs(age: &str) -> Option<u64> {
    let (mut total, mut digits) = (0, String::new());
    for c in age.chars() {
        let unit = match c {
            '0'..='9' => {
                digits.push(c);
                continue;
            }
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        total += digits.parse::<u64>().ok()? * unit;
        digits.clear();
    }
    (digits.is_empty() && !age.is_empty()).then_some(total)
}

#[test]
fn ages_read_as_raytop_prints_them() {
    assert_eq!(age_secs("45s"), Some(45));
    assert_eq!(age_secs("12m3s"), Some(723));
    assert_eq!(age_secs("3h4m"), Some(3 * 3600 + 240));
    assert_eq!(age_secs("2d3h"), Some(2 * 86_400 + 3 * 3600));
    assert_eq!((age_secs(""), age_secs("12"), age_secs("5x")), (None, None, None));
    let screen = " raytop  lab  ● connected  data 0s ago\n ⚠ nodes failing for 3s (2 errors; its data from 1m5s ago kept): HTTP 500";
    assert_eq!(kept_data_age(screen), Some(65));
    let screen = " raytop  lab  ✖ disconnected  data 9s ago\n disconnected for 4s, retrying: timed out — showing data from 9s ago";
    assert_eq!(kept_data_age(screen), Some(9));
    assert_eq!(kept_data_age(" raytop  data 4s ago\n│Cluster"), None, "the header's age is not the kept data's");
}

/// With --readonly, a run through every view pressing every key (the action keys and their
/// confirmations included) sends the dashboard nothing but GETs, as a recording proxy between
/// them sees. Positive control first: the same redeploy keys without --readonly open the
/// confirmation and, with yes, send exactly one write (the proxy answers writes itself, so the
/// lab's Serve config is never changed by this test).
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn readonly_sends_only_reads_through_every_view_and_key() {
    use common::faultproxy::{Fault, FaultProxy};
    let target = common::lab_addr();
    let dir = common::lab_tune_dir();
    let writes = |proxy: &FaultProxy| -> Vec<(String, String)> {
        proxy.requests().into_iter().filter(|(m, _)| m != "GET").collect()
    };
    let redeploy_keys = |p: &Pane| {
        p.keys(&["3"]);
        p.wait_for("demo", Duration::from_secs(30));
        p.keys(&["g", "R"]);
    };

    // Positive control: the walk works, so a count of zero below means something.
    let control = FaultProxy::start(target);
    control.set(Fault::SwallowWrites);
    let p = Pane::raytop(&["--dashboard", &control.url, "--tune-dir", &dir, "--refresh", "1"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    redeploy_keys(&p);
    p.wait_for("Redeploy demo?", Duration::from_secs(10));
    p.keys(&["Tab", "Enter"]);
    let sent = eventually("the redeploy write", Duration::from_secs(20), || {
        let w = writes(&control);
        if w.is_empty() { Err("no write yet".to_string()) } else { Ok(w) }
    });
    std::thread::sleep(Duration::from_secs(2)); // a second write, were one sent, arrives by now
    let sent_after = writes(&control);
    p.close_and_quit();
    let audited = std::fs::read_to_string(p.audit_file()).unwrap_or_default();
    assert!(audited.contains("\"action\":\"redeploy\""), "the control's write is audited: {audited:?}");
    eprintln!("figure: positive control without --readonly: {} write(s) sent: {sent_after:?}", sent_after.len());
    assert_eq!(sent_after.len(), 1, "exactly one write: {sent_after:?}");
    assert!(sent[0].1.starts_with("/api/serve/applications"), "{sent:?}");

    let proxy = FaultProxy::start(target);
    proxy.set(Fault::SwallowWrites);
    let p = Pane::raytop(&["--readonly", "--dashboard", &proxy.url, "--tune-dir", &dir, "--refresh", "1"]);
    p.wait_for("gpu-group", Duration::from_secs(30));
    // The control's keys first: no confirmation opens.
    redeploy_keys(&p);
    std::thread::sleep(Duration::from_millis(500));
    let s = p.screen();
    assert!(!s.contains("Redeploy demo?"), "no confirmation with --readonly: {s}");
    p.keys(&["Tab", "Enter", "Escape"]);
    let keys = [
        "+", "-", "s", "m", "M", "x", "c", "r", "R", "n", "S", "f", "d", "Enter", "y", "Tab", "Enter", "Escape", "j",
        "Enter", "y", "Enter", "Escape", "j", "+", "Enter", "y",
    ];
    for view in ["1", "2", "3", "4", "5", "6", "0"] {
        p.keys(&[view]);
        std::thread::sleep(Duration::from_millis(300));
        for k in keys {
            p.keys(&[k]);
        }
        p.keys(&["Escape", "Escape"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    // Refresh now, and the palette's commands by name.
    p.keys(&[":"]);
    p.type_text("refresh");
    p.keys(&["Enter"]);
    std::thread::sleep(Duration::from_secs(2));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    let requests = proxy.requests();
    let mutating = writes(&proxy);
    eprintln!(
        "figure: --readonly run through every view and key: {} of {} requests mutating",
        mutating.len(),
        requests.len()
    );
    assert!(requests.len() > 20, "the run reached the dashboard: {requests:?}");
    assert!(mutating.is_empty(), "{mutating:?}");
    let audit = p.audit_file();
    assert!(!audit.exists() || std::fs::read_to_string(&audit).unwrap().is_empty(), "nothing audited, nothing sent");
}

fn prom_url() -> String {
    std::env::var("RAYTOP_LAB_PROM_URL").unwrap_or_else(|_| "http://127.0.0.1:9391".into())
}

/// After the lab served traffic, the history raytop shows is what the lab's real Prometheus
/// answers for the same query and range; and the Serve view shows it.
#[test]
#[ignore = "needs the lab and its Prometheus: run ./lab/test.sh"]
fn serve_history_equals_what_prometheus_answers() {
    let serve = std::env::var("RAYTOP_LAB_SERVE_PORT").unwrap_or_else(|_| "8000".into());
    let prom = prom_url();
    let (json, rps) = eventually("requests recorded for demo", Duration::from_secs(120), || {
        for _ in 0..20 {
            let _ = std::process::Command::new("curl")
                .args(["-s", "-o", "/dev/null", &format!("http://127.0.0.1:{serve}/demo")])
                .status();
        }
        let (_, json) = snapshot(&["--dashboard", &lab_url(), "--prometheus", &prom]);
        let r = json["history"]["results"]["requests_per_s"].clone();
        let demo =
            r["series"].as_array().and_then(|s| s.iter().find(|s| s["labels"]["application"] == "demo").cloned());
        match demo {
            Some(d)
                if d["points"].as_array().is_some_and(|p| p.iter().any(|p| p[1].as_f64().is_some_and(|v| v > 0.0))) =>
            {
                Ok((json, r))
            }
            _ => Err(format!("{}", json["history"])),
        }
    });
    assert!(json["history"]["error"].is_null(), "{}", json["history"]);
    // The same query and range, asked of Prometheus directly.
    let (q, start, end, step) = (
        rps["query"].as_str().unwrap(),
        rps["start"].as_f64().unwrap(),
        rps["end"].as_f64().unwrap(),
        rps["step"].as_u64().unwrap(),
    );
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-G", &format!("{prom}/api/v1/query_range")])
        .args(["--data-urlencode", &format!("query={q}"), "--data-urlencode", &format!("start={start}")])
        .args(["--data-urlencode", &format!("end={end}"), "--data-urlencode", &format!("step={step}")])
        .output()
        .unwrap();
    let direct = raytop::wire::prometheus::parse_matrix(&out.stdout).unwrap();
    let shown: Vec<raytop::wire::prometheus::Series> = rps["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| raytop::wire::prometheus::Series {
            labels: serde_json::from_value(s["labels"].clone()).unwrap(),
            points: s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap_or(f64::NAN)))
                .collect(),
        })
        .collect();
    // The same labels and timestamps; values equal but for the last digits (Prometheus sums
    // in no fixed order, so two evaluations of one query can differ in the 16th digit).
    assert_eq!(shown.len(), direct.len(), "{shown:?} {direct:?}");
    assert!(!shown.is_empty(), "series to compare");
    for (a, b) in shown.iter().zip(&direct) {
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.points.len(), b.points.len(), "{a:?} {b:?}");
        assert!(!a.points.is_empty(), "points to compare: {a:?}");
        for (x, y) in a.points.iter().zip(&b.points) {
            assert_eq!(x.0, y.0);
            assert!((x.1 - y.1).abs() <= 1e-9 * x.1.abs().max(1.0) || (x.1.is_nan() && y.1.is_nan()), "{x:?} {y:?}");
        }
    }
    // On screen: the demo row's traffic.
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--prometheus", &prom, "--refresh", "1"]);
    p.keys(&["3"]);
    let s = p.wait("traffic on screen", Duration::from_secs(30), |s| {
        s.contains("REQ/S · ERR/S · P99 · HEALTHY") && s.contains("/s · ")
    });
    assert!(s.contains(&format!("history 15m from {prom}")), "{s}");
    p.keys(&["w"]);
    p.wait_for("1h REQ/S", Duration::from_secs(10));
    // The Autoscaler view: nodes per group over the same window, from the autoscaler's metrics.
    p.keys(&["2"]);
    let s = p.wait("nodes per group", Duration::from_secs(30), |s| s.contains("gpu-group          active"));
    assert!(s.contains("Nodes per group over 1h (Prometheus)"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn serve_deploy_failure_is_readable_then_restored() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| -> Result<(), String> {
        let st = std::process::Command::new(format!("{root}/lab/serve-fail.sh"))
            .args(args)
            .status()
            .map_err(|e| format!("lab/serve-fail.sh {args:?}: {e}"))?;
        if st.success() { Ok(()) } else { Err(format!("lab/serve-fail.sh {args:?}: {st}")) }
    };
    assert_eq!(run(&[]), Ok(()));
    // Restored when the test ends, pass or fail: the tests after it read the Serve app.
    let restore = common::Undo::new("lab/serve-fail.sh --restore", || run(&["--restore"]));
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--refresh", "1"]);
    p.keys(&["3"]);
    let s = p.wait_for("DEPLOY_FAILED", Duration::from_secs(120));
    let s = if s.contains("failed to start") { s } else { p.wait_for("failed to start", Duration::from_secs(30)) };
    assert!(s.contains("broken"), "{s}");
    // Then restored: the script waits for `broken` deleted and demo RUNNING with 3 replicas;
    // Ray says so, and so does the screen.
    assert_eq!(restore.now(), Ok(()), "the lab's Serve restored");
    let state = serve_state();
    assert!(state["applications"].get("broken").is_none(), "broken deleted: {state}");
    let (status, ids) = replicas_of(&state, "demo");
    assert_eq!((status.as_str(), ids.len()), ("RUNNING", 3), "{state}");
    p.wait("the Serve view restored", Duration::from_secs(30), |s| {
        s.contains("demo") && !s.contains("broken") && !s.contains("DEPLOY_FAILED")
    });
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

fn experiment<'a>(json: &'a Value, name: &str) -> Option<&'a Value> {
    json["clusters"][0]["tune"]["experiments"].as_array()?.iter().find(|e| e["name"] == name)
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn tune_leaderboard_follows_the_sweep() {
    let dir = common::lab_tune_dir();
    let args = ["--dashboard", &lab_url(), "--tune-dir", &dir];
    // The lab runs one sweep after another (asha-sweep, asha-sweep-2, …, each about two
    // minutes): follow whichever is running when the test starts.
    let (name, running) = eventually("a sweep of 12 trials with some RUNNING", Duration::from_secs(240), || {
        let (_, json) = snapshot(&args);
        let sweeps: Vec<&Value> = json["clusters"][0]["tune"]["experiments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("asha-sweep")))
            .collect();
        let mut seen = Vec::new();
        for e in sweeps {
            let trials = e["trials"].as_array().map_or(&[][..], Vec::as_slice);
            assert_eq!((&e["metric"], &e["mode"]), (&Value::from("loss"), &Value::from("min")), "{e}");
            let running: Vec<String> = trials
                .iter()
                .filter(|t| t["status"] == "RUNNING")
                .filter_map(|t| t["trial_id"].as_str().map(String::from))
                .collect();
            if trials.len() == 12 && !running.is_empty() {
                return Ok((e["name"].as_str().unwrap_or_default().to_string(), running));
            }
            seen.push(format!("{}: {} trials, {} running", e["name"], trials.len(), running.len()));
        }
        Err(format!("{seen:?}"))
    });
    eventually("a RUNNING trial to become TERMINATED", Duration::from_secs(300), || {
        let (_, json) = snapshot(&args);
        let e = experiment(&json, &name).ok_or("gone")?;
        let done = e["trials"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["status"] == "TERMINATED" && running.iter().any(|r| t["trial_id"] == r.as_str()));
        if done { Ok(()) } else { Err(format!("still running: {running:?}")) }
    });
    let exp_dir = std::path::Path::new(&dir).join(&name);
    eventually("raytop's best trial to be the experiment state's", Duration::from_secs(120), || {
        let (_, json) = snapshot(&args);
        let ours = experiment(&json, &name).ok_or("gone")?["best_trial"].as_str().map(String::from);
        let theirs = common::best_by_state(&exp_dir, "loss", false);
        if ours.is_some() && ours == theirs { Ok(()) } else { Err(format!("raytop {ours:?}, state {theirs:?}")) }
    });
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn tune_view_shows_a_new_result_within_seconds() {
    let dir = common::lab_tune_dir();
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--tune-dir", &dir, "--refresh", "1"]);
    p.keys(&["4"]);
    p.wait_for("metric loss", Duration::from_secs(60));
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no RUNNING trial reported a new result; screen:\n{}",
            p.screen()
        );
        // A RUNNING trial on screen and the iteration shown for it.
        let screen = p.screen();
        let Some((trial, shown)) = screen.lines().find_map(|l| {
            let cols: Vec<&str> = l.trim_matches('│').split_whitespace().collect();
            let at = cols.iter().position(|c| *c == "RUNNING")?;
            Some((cols.get(at - 1)?.to_string(), cols.get(at + 3)?.parse::<u64>().ok()?))
        }) else {
            std::thread::sleep(Duration::from_millis(300));
            continue;
        };
        // Wait for its result.json on disk to hold a newer iteration.
        // The trial's folder, in whichever sweep (asha-sweep, asha-sweep-2, …) it belongs to.
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter_map(|exp| std::fs::read_dir(exp.path()).ok())
            .flat_map(|trials| trials.flatten())
            .find(|e| e.file_name().to_string_lossy().contains(&trial))
            .map(|e| e.path().join("result.json"))
            .unwrap();
        let lines = || std::fs::read_to_string(&file).map(|s| s.lines().count() as u64).unwrap_or(0);
        let grew = std::time::Instant::now();
        while lines() <= shown && grew.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let on_disk = lines();
        if on_disk <= shown {
            continue; // that trial stopped; pick another
        }
        let seen = std::time::Instant::now();
        // A figure: the limit is generous (a busy machine is not a failure).
        let screen = p.wait(&format!("{trial} at iteration {on_disk}"), Duration::from_secs(20), |s| {
            s.lines().any(|l| {
                let cols: Vec<&str> = l.trim_matches('│').split_whitespace().collect();
                cols.iter()
                    .position(|c| *c == trial)
                    .and_then(|at| cols.get(at + 4)?.parse::<u64>().ok())
                    .is_some_and(|it| it >= on_disk)
            })
        });
        eprintln!("figure: {trial}: iteration {on_disk} on screen {:?} after it reached the disk", seen.elapsed());
        assert!(screen.contains(&trial));
        break;
    }
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn gpu_allocation_names_the_trials_holding_the_lab_gpus() {
    let dir = common::lab_tune_dir();
    eventually("both lab GPUs held by Tune trials", Duration::from_secs(240), || {
        let (_, json) = snapshot(&["--dashboard", &lab_url(), "--tune-dir", &dir]);
        let g = &json["clusters"][0]["gpus"];
        if g["totals"]["ray"]["total"].as_f64() != Some(2.0) {
            return Err(format!("totals {}", g["totals"]));
        }
        let trials = g["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| n["holders"].as_array().into_iter().flatten())
            .filter(|h| h["kind"] == "trial")
            .count();
        if trials >= 1 && g["totals"]["pending_demand"].as_f64() > Some(0.0) {
            Ok(())
        } else {
            Err(format!("{trials} trial holders; pending {}", g["totals"]["pending_demand"]))
        }
    });
}

/// The lab dashboard's Serve state, straight from Ray (curl, no raytop in between).
fn serve_state() -> Value {
    try_serve_state().unwrap_or_else(|e| panic!("{e}"))
}

fn try_serve_state() -> Result<Value, String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", &format!("{}/api/serve/applications/", lab_url())])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if !out.status.success() {
        return Err(format!("GET /api/serve/applications/: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("GET /api/serve/applications/: {e}"))
}

fn put_serve(body: &Value) {
    try_put_serve(body).unwrap_or_else(|e| panic!("{e}"));
}

fn try_put_serve(body: &Value) -> Result<(), String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-X", "PUT", "-H", "Content-Type: application/json", "--data", &body.to_string()])
        .arg(format!("{}/api/serve/applications/", lab_url()))
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("PUT failed: {}", String::from_utf8_lossy(&out.stderr))) }
}

/// Replica ids of one application's RUNNING replicas, and its status.
fn replicas_of(state: &Value, app: &str) -> (String, std::collections::BTreeSet<String>) {
    let a = &state["applications"][app];
    let ids = a["deployments"]
        .as_object()
        .map(|d| {
            d.values()
                .flat_map(|d| d["replicas"].as_array().cloned().unwrap_or_default())
                .filter(|r| r["state"] == "RUNNING")
                .filter_map(|r| r["replica_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    (a["status"].as_str().unwrap_or("absent").to_string(), ids)
}

/// Puts the lab's Serve config back as it was (demo alone, 3 replicas) when the test ends, pass
/// or fail (`common::Undo`: a failure there is printed, never a panic in Drop). A test that ends
/// well calls `now()` and asserts that it worked.
fn serve_restore(config: Value) -> common::Undo<'static> {
    common::Undo::new("the lab's Serve config put back", move || {
        try_put_serve(&config)?;
        let start = std::time::Instant::now();
        let mut last = String::new();
        while start.elapsed() < Duration::from_secs(180) {
            match try_serve_state() {
                Ok(s) => {
                    let (status, ids) = replicas_of(&s, "demo");
                    let others: Vec<&String> = s["applications"]
                        .as_object()
                        .map(|a| a.keys().filter(|k| *k != "demo").collect())
                        .unwrap_or_default();
                    if status == "RUNNING" && ids.len() == 3 && others.is_empty() {
                        return Ok(());
                    }
                    last = format!("demo {status} with {} running replicas, other apps {others:?}", ids.len());
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!("not back after 180 s: {last}"))
    })
}

/// The config set as deployed, in the shape a PUT takes.
fn deployed_config(state: &Value) -> Value {
    let apps: Vec<Value> =
        state["applications"].as_object().unwrap().values().map(|a| a["deployed_app_config"].clone()).collect();
    serde_json::json!({
        "proxy_location": state["proxy_location"],
        "http_options": {"host": state["http_options"]["host"], "port": state["http_options"]["port"]},
        "applications": apps,
    })
}

/// A redeploy whose answer is lost (the PUT reaches Ray, the answer comes after --timeout):
/// raytop does not claim it failed. It says the result is unknown and how to check, the audit
/// log's result line says the same, and the real Serve app shows the redeploy did happen.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn redeploy_whose_answer_is_lost_is_reported_unknown_and_audited() {
    use common::faultproxy::{Fault, FaultProxy};
    let before = serve_state();
    let restore = serve_restore(deployed_config(&before));
    let (_, demo_before) = replicas_of(&before, "demo");
    let target = common::lab_addr();
    let proxy = FaultProxy::start(target);
    proxy.set(Fault::SlowWrites(Duration::from_secs(6)));
    let state = tempfile::tempdir().unwrap();
    let out = common::raytop()
        .args(["redeploy", "demo", "--yes", "--dashboard", &proxy.url, "--timeout", "2"])
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("unknown: PUT /api/serve/applications/ got no answer"), "{text}");
    assert!(text.contains("check the Serve view (3) or `raytop snapshot --json`"), "{text}");
    let audit = std::fs::read_to_string(state.path().join("raytop/audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!((lines[1]["phase"].as_str(), lines[1]["ok"].as_bool()), (Some("result"), Some(false)));
    assert!(lines[1]["result"].as_str().unwrap().starts_with("unknown: "), "{audit}");
    // It was applied: every demo replica is replaced.
    eventually("demo redeployed though the answer was lost", Duration::from_secs(180), || {
        let (status, ids) = replicas_of(&serve_state(), "demo");
        if status == "RUNNING" && ids.len() == 3 && ids.is_disjoint(&demo_before) {
            Ok(())
        } else {
            Err(format!("{status} {ids:?}"))
        }
    });
    assert_eq!(restore.now(), Ok(()));
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn redeploy_from_the_serve_view_replaces_every_replica_and_no_request_fails() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let before = serve_state();
    let original = deployed_config(&before);
    let restore = serve_restore(original.clone());
    // A second application beside demo, to show it keeps its replicas.
    let mut with_side = original.clone();
    let mut side = with_side["applications"][0].clone();
    side["name"] = "side".into();
    side["route_prefix"] = "/side".into();
    side["deployments"][0]["num_replicas"] = 1.into();
    with_side["applications"].as_array_mut().unwrap().push(side);
    put_serve(&with_side);
    let start = eventually("side RUNNING", Duration::from_secs(120), || {
        let s = serve_state();
        let (st, ids) = replicas_of(&s, "side");
        let (demo, demo_ids) = replicas_of(&s, "demo");
        if st == "RUNNING" && ids.len() == 1 && demo == "RUNNING" && demo_ids.len() == 3 {
            Ok(s)
        } else {
            Err(format!("side {st}, demo {demo}"))
        }
    });
    let (_, demo_before) = replicas_of(&start, "demo");
    let (_, side_before) = replicas_of(&start, "side");
    // A client on the demo route through the whole rollout.
    let port = std::env::var("RAYTOP_LAB_SERVE_PORT").unwrap_or_else(|_| "8000".into());
    let (ok, failed, stop) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let client = {
        let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let out = std::process::Command::new("curl")
                    .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10", "--data", "ping"])
                    .arg(format!("http://127.0.0.1:{port}/demo"))
                    .output();
                match out {
                    Ok(o) if o.stdout == b"200" => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--refresh", "1"]);
    p.keys(&["3"]);
    p.wait_for("side", Duration::from_secs(20));
    p.keys(&["g", "R"]);
    let s = p.wait_for("Redeploy demo?", Duration::from_secs(5));
    assert!(s.contains("RAYTOP_REDEPLOY_AT") && s.contains("unset →"), "{s}");
    assert!(s.contains("Serve replaces all 3 replica(s) of demo"), "{s}");
    p.keys(&["Tab", "Enter"]);
    let t0 = std::time::Instant::now();
    p.wait_for("✔ done", Duration::from_secs(20));
    let rolled = eventually("every demo replica replaced, demo RUNNING", Duration::from_secs(240), || {
        let s = serve_state();
        let (status, ids) = replicas_of(&s, "demo");
        if status == "RUNNING" && ids.len() == 3 && ids.is_disjoint(&demo_before) {
            Ok(s)
        } else {
            Err(format!("{status} {ids:?}"))
        }
    });
    eprintln!("figure: redeploy confirmed to all 3 replicas replaced: {:.1} s", t0.elapsed().as_secs_f64());
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("figure: requests during the redeploy: {failed} failed of {}", ok + failed);
    assert!(ok > 20, "the client ran through the rollout: {ok}");
    assert_eq!(failed, 0, "no request failed during the rollout ({ok} ok)");
    let (_, side_after) = replicas_of(&rolled, "side");
    assert_eq!(side_after, side_before, "the other application kept its replicas");
    let nonce =
        rolled["applications"]["demo"]["deployed_app_config"]["runtime_env"]["env_vars"]["RAYTOP_REDEPLOY_AT"].clone();
    assert!(nonce.is_string(), "{nonce}");
    assert_eq!(
        rolled["applications"]["demo"]["deployed_app_config"]["runtime_env"]["env_vars"]["PYTHONPATH"],
        original["applications"][0]["runtime_env"]["env_vars"]["PYTHONPATH"]
    );
    // The audit log has the intent and the result.
    let audit = std::fs::read_to_string(p.audit_file()).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!((lines[0]["action"].as_str(), lines[1]["ok"].as_bool()), (Some("redeploy"), Some(true)));
    p.keys(&["Escape"]);
    p.wait("the outcome dismissed", Duration::from_secs(5), |s| !s.contains("✔ done"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    // `n` on the CLI side: one deployment's replicas, nothing restarted.
    let out = common::raytop()
        .args(["redeploy", "side", "--deployment", "Demo", "--replicas", "2", "--yes", "--dashboard", &lab_url()])
        .env("XDG_STATE_HOME", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eventually("side at 2 replicas, the first one kept", Duration::from_secs(120), || {
        let (status, ids) = replicas_of(&serve_state(), "side");
        if status == "RUNNING" && ids.len() == 2 && ids.is_superset(&side_before) {
            Ok(())
        } else {
            Err(format!("{status} {ids:?}"))
        }
    });
    assert_eq!(restore.now(), Ok(()));
}

/// The lab's Tune experiments as raytop reads them from disk.
fn lab_tune() -> raytop::model::tune::Tune {
    let mut tune = raytop::model::tune::Tune::default();
    for u in raytop::source::tune::Scanner::new(vec![common::lab_tune_dir().into()]).pass() {
        tune.apply(u);
    }
    tune
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn cancel_from_the_leaderboard_ends_the_trial_error_and_the_sweep_goes_on() {
    // A RUNNING trial between ASHA's milestones 8 and 16 (so the scheduler does not end it first),
    // of the newest experiment, while another of its trials runs with results still to come (so
    // the sweep has more to do than the trial cancelled).
    let (exp, victim, _) =
        eventually("a RUNNING trial between milestones, and another", Duration::from_secs(240), || {
            let tune = lab_tune();
            let e = tune
                .experiments
                .iter()
                .rfind(|e| e.trials.iter().any(|t| t.status == "RUNNING"))
                .ok_or("no running experiment")?;
            let running: Vec<_> = e.trials.iter().filter(|t| t.status == "RUNNING" && t.pid.is_some()).collect();
            let v = running
                .iter()
                .find(|t| (8..=12).contains(&t.iterations))
                .ok_or(format!("iterations {:?}", running.iter().map(|t| t.iterations).collect::<Vec<_>>()))?;
            // One with results still to come: short of milestone 16, where ASHA may end it.
            let o = running
                .iter()
                .find(|t| t.trial_id != v.trial_id && t.iterations < 16)
                .ok_or("no other trial RUNNING short of milestone 16")?;
            Ok((e.name.clone(), v.trial_id.clone(), o.trial_id.clone()))
        });
    let dir = common::lab_tune_dir();
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--tune-dir", &dir, "--refresh", "1"]);
    p.keys(&["4"]);
    p.wait_for("metric loss", Duration::from_secs(60));
    // The newest experiment is shown; narrow it to the victim.
    p.keys(&["/"]);
    p.type_text(&victim);
    p.keys(&["Enter", "c"]);
    let s = p.wait_for(&format!("Cancel trial {victim}?"), Duration::from_secs(10));
    assert!(s.contains("status  RUNNING → ERROR") && s.contains("SIGTERM"), "{s}");
    // What every other trial of the sweep had reported just before the cancel is sent (read
    // after it, a trial that ended meanwhile would leave the sweep nothing to go on with).
    let at_cancel: std::collections::BTreeMap<String, u64> = lab_tune()
        .experiments
        .iter()
        .filter(|e| e.name == exp)
        .flat_map(|e| &e.trials)
        .filter(|t| t.trial_id != victim)
        .map(|t| (t.trial_id.clone(), t.iterations))
        .collect();
    p.keys(&["Tab", "Enter"]);
    let t0 = std::time::Instant::now();
    let s = p.wait_for("✔ done", Duration::from_secs(60));
    assert!(s.contains("SIGTERM sent to pid"), "{s}");
    p.keys(&["Escape"]);
    p.wait("the outcome dismissed", Duration::from_secs(5), |s| !s.contains("✔ done"));
    let s = p.wait("the trial ERROR on screen", Duration::from_secs(90), |s| {
        s.lines().any(|l| l.contains(&victim) && l.contains("ERROR ✂"))
    });
    // A figure: the limit is generous (a busy machine is not a failure).
    eprintln!("figure: cancel confirmed to ERROR on screen: {:.1} s", t0.elapsed().as_secs_f64());
    assert!(t0.elapsed() < Duration::from_secs(120), "{s}");
    let audit = std::fs::read_to_string(p.audit_file()).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!((lines[0]["action"].as_str(), lines[1]["ok"].as_bool()), (Some("cancel_trial"), Some(true)));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    // On disk: the trial ended ERROR with an error file; the other trial kept reporting.
    let tune = lab_tune();
    let e = tune.experiments.iter().find(|e| e.name == exp).unwrap();
    let t = e.trials.iter().find(|t| t.trial_id == victim).unwrap();
    assert_eq!(t.status, "ERROR", "{t:?}");
    assert!(t.error.as_deref().unwrap_or_default().contains("SIGTERM"), "{:?}", t.error);
    // The killed worker leaves Ray 2.60's /api/v0/cluster_events answering 500 for good; the
    // autoscaler's decisions still reach raytop, through /events.
    let (_, json) = snapshot(&["--dashboard", &lab_url()]);
    let c = &json["clusters"][0];
    assert!(c["freshness"]["cluster_events"]["last_error"].is_null(), "{}", c["freshness"]);
    assert!(!c["autoscaler"]["events"].as_array().unwrap().is_empty(), "{}", c["autoscaler"]);
    // The sweep goes on: another of its trials (one that was running, or one started since on
    // the GPU the cancelled trial freed) reports a result it had not reported at the cancel.
    let (trial, iteration) =
        eventually("another trial of the sweep reports after the cancel", Duration::from_secs(300), || {
            let tune = lab_tune();
            let e = tune.experiments.iter().find(|e| e.name == exp).ok_or("the experiment is gone")?;
            e.trials
                .iter()
                .filter(|t| t.trial_id != victim)
                .find(|t| t.iterations > at_cancel.get(&t.trial_id).copied().unwrap_or(0))
                .map(|t| (t.trial_id.clone(), t.iterations))
                .ok_or_else(|| format!("no trial past what it had at the cancel: {at_cancel:?}"))
        });
    eprintln!(
        "figure: the sweep went on: {trial} at iteration {iteration} {:.1} s after the cancel",
        t0.elapsed().as_secs_f64()
    );
}

/// The Cluster view's history joins every alive node to its series in Prometheus by the node's
/// metrics port (Prometheus's `instance`), and the view shows each node's history.
#[test]
#[ignore = "needs the lab and its Prometheus: run ./lab/test.sh"]
fn cluster_history_joins_every_node_by_its_metrics_port() {
    let prom = prom_url();
    let (json, instances) = eventually("node series for every alive node", Duration::from_secs(60), || {
        let (_, json) = snapshot(&["--dashboard", &lab_url(), "--prometheus", &prom]);
        let instances: std::collections::BTreeSet<String> = json["history"]["results"]["cpu_pct"]["series"]
            .as_array()
            .map(|s| s.iter().filter_map(|s| s["labels"]["instance"].as_str().map(String::from)).collect())
            .unwrap_or_default();
        let nodes: Vec<String> = json["clusters"][0]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["nodes"].as_array().cloned().unwrap_or_default())
            .filter(|n| n["alive"] == true)
            .map(|n| n["metrics_instance"].as_str().unwrap_or_default().to_string())
            .collect();
        if !nodes.is_empty() && nodes.iter().all(|n| instances.contains(n)) {
            Ok((json, nodes))
        } else {
            Err(format!("nodes {nodes:?}, series {instances:?}"))
        }
    });
    // The addresses come from the lab, never this machine's: Ray's own service-discovery file,
    // which the lab's Prometheus scrapes, lists every target raytop must have joined.
    let sd = std::env::var("RAY_TMP").unwrap_or_else(|_| "/tmp/ray".into()) + "/prom_metrics_service_discovery.json";
    let sd: Value = serde_json::from_str(&std::fs::read_to_string(&sd).unwrap()).unwrap();
    let targets: std::collections::BTreeSet<String> = sd
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    assert!(instances.iter().all(|i| targets.contains(i)), "nodes {instances:?}, Ray's targets {targets:?}");
    assert_eq!(json["history"]["results"]["cpu_pct"]["query"], "avg by (instance) (ray_node_cpu_utilization)");
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--prometheus", &prom, "--refresh", "1"]);
    let s = p.wait("every node's history", Duration::from_secs(30), |s| {
        s.lines().filter(|l| l.contains("ALIVE") && l.contains(" mem ")).count() == instances.len()
    });
    assert!(s.contains("15m HOST CPU · MEM") && !s.contains("not in Prometheus"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// A second, real Prometheus that scrapes only itself: raytop says it has no Ray metrics rather
/// than drawing empty charts.
#[test]
#[ignore = "needs the lab's Prometheus binary: run ./lab/test.sh"]
fn prometheus_without_ray_metrics_is_a_notice() {
    let bin = format!("{}/.lab/prom/pkg/usr/bin/prometheus", env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("scrape_configs:\n  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"),
    )
    .unwrap();
    let child = std::process::Command::new(&bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg("--log.level=warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _prom = Kill(child);
    let url = format!("http://127.0.0.1:{port}");
    eventually("the second Prometheus ready", Duration::from_secs(30), || {
        let ok = std::process::Command::new("curl").args(["-sf", &format!("{url}/-/ready")]).status().unwrap();
        if ok.success() { Ok(()) } else { Err("not ready".into()) }
    });
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--prometheus", &url, "--refresh", "1"]);
    let s = p.wait_for("Prometheus: no Ray data", Duration::from_secs(30));
    assert!(!s.contains("history failing"), "Prometheus answered; nothing failed: {s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// A replica killed on purpose (as a crash would) shows as a dip in the health timeline: in what
/// raytop fetched from the lab's Prometheus, and on screen in the Serve view's history pane.
#[test]
#[ignore = "needs the lab and its Prometheus: run ./lab/test.sh"]
fn kill_a_replica_and_its_health_timeline_dips() {
    let prom = prom_url();
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--prometheus", &prom, "--refresh", "1"]);
    p.wait_for("ALIVE", Duration::from_secs(30));
    // Figure: time to the first chart after switching to the Serve view.
    let pressed = std::time::Instant::now();
    p.keys(&["3"]);
    p.wait("the Serve history pane drawn", Duration::from_secs(30), |s| {
        s.contains("Replica health over 15m") && s.lines().any(|l| l.contains("███"))
    });
    eprintln!("figure: first chart {:?} after switching to the Serve view", pressed.elapsed());
    let out = std::process::Command::new(format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR")))
        .arg(format!("{}/lab/kill_replica.py", env!("CARGO_MANIFEST_DIR")))
        .args(["demo", "Demo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let killed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let at = std::time::Instant::now();
    // Fetched: the killed replica's series goes from 1 to 0.
    eventually("the killed replica's dip in Prometheus", Duration::from_secs(120), || {
        let (_, json) = snapshot(&["--dashboard", &lab_url(), "--prometheus", &prom]);
        let series = json["history"]["results"]["replica_healthy"]["series"].as_array().cloned().unwrap_or_default();
        let values: Vec<f64> = series
            .iter()
            .find(|s| s["labels"]["replica"] == killed.as_str())
            .and_then(|s| s["points"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p[1].as_f64())
            .collect();
        if values.windows(2).any(|w| w[0] == 1.0 && w[1] == 0.0) {
            Ok(())
        } else {
            Err(format!("{killed}: {values:?}"))
        }
    });
    eprintln!("figure: the dip of replica {killed} in Prometheus {:?} after the kill", at.elapsed());
    // On screen: its line in the pane has the unhealthy mark after healthy ones.
    let s = p.wait("the dip on screen", Duration::from_secs(60), |s| {
        s.lines().any(|l| l.contains(&killed) && l.contains("█▁"))
    });
    eprintln!("figure: the dip on screen {:?} after the kill", at.elapsed());
    assert!(s.contains("Replica health over 15m"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    // Leave the lab as found: Serve replaces the replica; wait for 3 running again.
    eventually("demo back to 3 running replicas", Duration::from_secs(120), || {
        let (status, ids) = replicas_of(&serve_state(), "demo");
        if status == "RUNNING" && ids.len() == 3 && !ids.contains(&killed) {
            Ok(())
        } else {
            Err(format!("{status} {ids:?}"))
        }
    });
}

// ---- Logs (issue 20): through the dashboard, as `raytop logs` and the pane read them ----

/// `raytop logs ARGS…` against the lab: exit status, stdout, stderr.
fn logs(args: &[&str]) -> (i32, String, String) {
    let out = common::raytop().args(["logs"]).args(args).args(["--dashboard", &lab_url()]).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// POSTs `body` to the lab's Serve app; returns the pid of the replica that answered.
fn serve_request(body: &str) -> u64 {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-X", "POST", "--data", body, "http://127.0.0.1:8000/demo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["pid"].as_u64().unwrap()
}

/// The demo replica with this pid: (replica id, actor id).
fn demo_replica_by_pid(state: &Value, pid: u64) -> Option<(String, String)> {
    let reps = state["applications"]["demo"]["deployments"]["Demo"]["replicas"].as_array()?;
    let r = reps.iter().find(|r| r["pid"].as_u64() == Some(pid))?;
    Some((r["replica_id"].as_str()?.to_string(), r["actor_id"].as_str()?.to_string()))
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_of_a_trial_show_what_it_printed_on_the_command_line_and_in_the_pane() {
    let dir = common::lab_tune_dir();
    let args = ["--dashboard", &lab_url(), "--tune-dir", &dir];
    let trial = eventually("a RUNNING trial with a result", Duration::from_secs(240), || {
        let (_, json) = snapshot(&args);
        json["clusters"][0]["tune"]["experiments"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| e["trials"].as_array().cloned().unwrap_or_default())
            .find(|t| t["status"] == "RUNNING" && t["iterations"].as_u64() >= Some(2) && t["pid"].is_u64())
            .and_then(|t| t["trial_id"].as_str().map(String::from))
            .ok_or_else(|| "none yet".to_string())
    });
    let want = format!("[trial {trial}] epoch");
    let (code, out, err) = logs(&["trial", &trial, "--tune-dir", &dir, "--tail", "500"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with(&want)), "no {want:?} in:\n{out}\n{err}");
    // The pane: the trial filtered to one row, `l`, its lines.
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--tune-dir", &dir]);
    p.keys(&["4"]);
    p.wait_for("metric loss", Duration::from_secs(60));
    p.keys(&["/"]);
    p.type_text(&trial);
    p.keys(&["Enter", "l"]);
    let s = p.wait(&format!("{want} in the pane"), Duration::from_secs(30), |s| s.contains(&want));
    assert!(s.contains("● live"), "{s}");
    p.keys(&["Escape"]);
    p.wait_for("metric loss", Duration::from_secs(10));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_of_a_serve_replica_show_the_line_a_request_printed() {
    let marker = format!("raytop-log-{}", std::process::id());
    let pid = serve_request(&marker);
    let (replica, actor) = eventually("the replica that answered", Duration::from_secs(30), || {
        demo_replica_by_pid(&serve_state(), pid).ok_or_else(|| format!("no replica with pid {pid}"))
    });
    let want = format!("[demo] request {marker}");
    eventually("the request's line in raytop logs replica", Duration::from_secs(20), || {
        let (code, out, err) = logs(&["replica", &format!("demo/Demo/{replica}"), "--tail", "200"]);
        if code == 0 && out.contains(&want) { Ok(()) } else { Err(format!("exit {code}: {err}\n{out}")) }
    });
    let (code, out, err) = logs(&["actor", &actor, "--tail", "200"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&want), "{out}");
    // A replica that is not there is one clear line and a failure.
    let (code, _, err) = logs(&["replica", "demo/Demo/no-such-replica"]);
    assert_eq!(code, 1);
    assert!(err.contains("no replica \"no-such-replica\" in demo/Demo"), "{err}");
}

/// Submits a job that prints `count` lines, one a second, each with its time; returns its id.
fn submit_printing_job(count: u32) -> String {
    let code = format!(
        "import time\nfor i in range({count}):\n    print(f'raytop-job {{i}} {{time.time():.3f}}', flush=True)\n    time.sleep(1)"
    );
    submit_job(&serde_json::json!({ "entrypoint": format!("python3 -u -c {}", shell_quote(&code)) }))
}

/// Submits a job to the lab through the Jobs API; returns its submission id.
fn submit_job(body: &Value) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "-X", "POST", "-H", "Content-Type: application/json", "--data", &body.to_string()])
        .arg(format!("{}/api/jobs/", lab_url()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["submission_id"].as_str().unwrap().to_string()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_of_a_job_come_in_order_and_follow_shows_a_new_line_within_seconds() {
    use std::io::BufRead;
    let id = submit_printing_job(12);
    // Following from the start: every line once, in order, each soon after it was printed.
    let mut child = common::raytop()
        .args(["logs", "job", &id, "--follow", "--dashboard", &lab_url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
            if tx.send((line, now)).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<(u32, f64)> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while seen.last().map(|s| s.0) != Some(11) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok((line, at)) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("job {id}: only {seen:?} within 90 s");
        };
        let mut parts = line.split_whitespace();
        if parts.next() != Some("raytop-job") {
            continue; // the job's own preamble
        }
        let i: u32 = parts.next().unwrap().parse().unwrap();
        let printed: f64 = parts.next().unwrap().parse().unwrap();
        seen.push((i, at - printed));
    }
    let _ = child.kill();
    let _ = child.wait();
    let order: Vec<u32> = seen.iter().map(|s| s.0).collect();
    assert_eq!(order, (0..12).collect::<Vec<_>>(), "each line once, in order");
    // Lines printed after the follow began (the first may wait for the job to start).
    let delays: Vec<f64> = seen.iter().skip(3).map(|s| s.1).collect();
    let worst = delays.iter().cloned().fold(0.0, f64::max);
    eprintln!("figure: --follow of a job: a printed line on raytop's stdout after at most {worst:.2} s ({delays:.2?})");
    assert!(worst < 4.0, "a followed line took {worst:.2} s: {delays:?}");
    // Read once when it is over: the same lines, in order.
    eventually("the job to finish", Duration::from_secs(60), || {
        let (code, out, err) = logs(&["job", &id]);
        let got: Vec<u32> = out
            .lines()
            .filter_map(|l| l.strip_prefix("raytop-job ")?.split_whitespace().next()?.parse().ok())
            .collect();
        if code == 0 && got == (0..12).collect::<Vec<_>>() {
            Ok(())
        } else {
            Err(format!("exit {code} {err}: {got:?}"))
        }
    });
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_of_a_node_list_its_files_and_read_the_raylets() {
    let head = head_node_id();
    let (code, out, err) = logs(&["node", &head]);
    assert_eq!(code, 0, "{err}");
    for f in ["raylet.out", "gcs_server.out"] {
        assert!(out.lines().any(|l| l == f), "{f} not listed:\n{out}");
    }
    let (code, out, err) = logs(&["node", &head, "--file", "raylet.out", "--tail", "20"]);
    assert_eq!(code, 0, "{err}");
    let n = out.lines().count();
    assert!((1..=20).contains(&n), "{n} lines:\n{out}");
    // A file the node does not have: Ray's reason, one line, failure.
    let (code, out, err) = logs(&["node", &head, "--file", "no-such-file.log"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.starts_with("raytop: no-such-file.log on node") && err.lines().count() == 1, "{err}");
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn kill_a_replica_and_its_log_stays_readable() {
    // A marker from every replica, so the one killed has printed one.
    let mut by_pid: std::collections::BTreeMap<u64, String> = Default::default();
    for i in 0..60 {
        let marker = format!("raytop-killed-{}-{i}", std::process::id());
        by_pid.entry(serve_request(&marker)).or_insert(marker);
        if by_pid.len() == 3 {
            break;
        }
    }
    let before = serve_state();
    let out = std::process::Command::new(format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR")))
        .arg(format!("{}/lab/kill_replica.py", env!("CARGO_MANIFEST_DIR")))
        .args(["demo", "Demo"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let killed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let reps = before["applications"]["demo"]["deployments"]["Demo"]["replicas"].as_array().unwrap();
    let r = reps.iter().find(|r| r["replica_id"] == killed.as_str()).expect("the killed replica was listed");
    let (actor, pid) = (r["actor_id"].as_str().unwrap().to_string(), r["pid"].as_u64().unwrap());
    let Some(marker) = by_pid.get(&pid) else {
        panic!("no request reached replica {killed} (pid {pid}) in 60 tries: {by_pid:?}");
    };
    eventually("the killed replica's actor DEAD", Duration::from_secs(60), || {
        let out = std::process::Command::new("curl")
            .args([
                "-sS",
                "--fail",
                &format!(
                    "{}/api/v0/actors?filter_keys=actor_id&filter_predicates=%3D&filter_values={actor}",
                    lab_url()
                ),
            ])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let state = v["data"]["result"]["result"][0]["state"].as_str().unwrap_or("?").to_string();
        if state == "DEAD" { Ok(()) } else { Err(state) }
    });
    let (code, out, err) = logs(&["actor", &actor]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("[demo] request {marker}")), "the dead replica's line is gone:\n{out}");
}

/// `lab/cutproxy.py` in front of the lab's dashboard; killed when dropped.
struct CutProxy {
    child: std::process::Child,
    port: u16,
}

impl CutProxy {
    fn start() -> CutProxy {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new("python3")
            .arg(format!("{}/lab/cutproxy.py", env!("CARGO_MANIFEST_DIR")))
            .args([port.to_string(), common::lab_addr().port().to_string()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut first).unwrap();
        assert_eq!(first.trim(), "ready");
        CutProxy { child, port }
    }

    /// Cuts the open connections in the middle of the next line they carry.
    fn cut(&self) {
        let status = std::process::Command::new("kill").args(["-USR1", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_follow_resumes_after_a_stream_cut_mid_line_with_no_line_lost_or_twice() {
    use std::io::BufRead;
    let proxy = CutProxy::start();
    let id = submit_printing_job(25);
    let mut child = common::raytop()
        .args(["logs", "job", &id, "--follow", "--dashboard", &format!("http://127.0.0.1:{}", proxy.port)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let errs = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut seen: Vec<u32> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut cuts = 0;
    while seen.last() != Some(&24) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("job {id}: only {seen:?} within 120 s");
        };
        // A job line, whole: its index and its time with three decimals. A half line (what the
        // cut left) would start like one and fail this.
        let whole = |l: &str| {
            let mut p = l.strip_prefix("raytop-job ")?.split_whitespace();
            let i: u32 = p.next()?.parse().ok()?;
            let t = p.next()?;
            (t.len() > 4 && t.as_bytes()[t.len() - 4] == b'.' && t.parse::<f64>().is_ok() && p.next().is_none())
                .then_some(i)
        };
        let looks_like_one =
            line.starts_with("raytop-j") || (!line.is_empty() && "raytop-job ".starts_with(line.as_str()));
        let Some(i) = whole(&line) else {
            assert!(!looks_like_one, "a line cut in half reached stdout: {line:?}");
            continue;
        };
        seen.push(i);
        // Two cuts, each while lines flow.
        if (i == 5 && cuts == 0) || (i == 12 && cuts == 1) {
            proxy.cut();
            cuts += 1;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let stderr = errs.join().unwrap();
    assert_eq!(seen, (0..25).collect::<Vec<_>>(), "every line once, in order; stderr:\n{stderr}");
    assert_eq!(stderr.matches("stream lost").count(), 2, "each cut said so:\n{stderr}");
}

/// The lab head's id (the node whose logs folder is this machine's /tmp/ray/session_latest/logs).
fn head_node_id() -> String {
    let (_, json) = snapshot(&["--dashboard", &lab_url()]);
    json["clusters"][0]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["nodes"].as_array().cloned().unwrap_or_default())
        .find(|n| n["is_head"] == true)
        .and_then(|n| n["node_id"].as_str().map(String::from))
        .expect("a head node")
}

/// A file in the head's logs folder, removed when dropped.
struct LabLogFile(std::path::PathBuf);

impl Drop for LabLogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn logs_follow_reads_a_truncated_file_anew_after_it_goes_quiet() {
    use std::io::{BufRead, Write};
    let name = format!("raytop-rotate-{}.log", std::process::id());
    let file = LabLogFile(std::path::Path::new("/tmp/ray/session_latest/logs").join(&name));
    std::fs::write(&file.0, "old 0\nold 1\n").unwrap();
    let mut child = common::raytop()
        .args(["logs", "node", &head_node_id(), "--file", &name, "--follow", "--dashboard", &lab_url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (stdout, stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let errs = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let next = |what: &str, within: u64| {
        rx.recv_timeout(Duration::from_secs(within)).unwrap_or_else(|_| panic!("no {what} within {within} s"))
    };
    assert_eq!((next("old 0", 30), next("old 1", 5)), ("old 0".to_string(), "old 1".to_string()));
    // An append is followed as usual.
    std::fs::OpenOptions::new().append(true).open(&file.0).unwrap().write_all(b"old 2\n").unwrap();
    assert_eq!(next("old 2", 10), "old 2");
    // Truncated and rewritten, as a rotation that reuses the name: Ray's agent holds its offset
    // in the old content and sends nothing more; raytop's quiet recheck reopens it.
    std::fs::write(&file.0, "new 0\n").unwrap();
    let t = std::time::Instant::now();
    assert_eq!(next("new 0", 75), "new 0");
    eprintln!("figure: a truncated log's new content on stdout {:.1} s after the rewrite", t.elapsed().as_secs_f64());
    let _ = child.kill();
    let _ = child.wait();
    let stderr = errs.join().unwrap();
    assert!(stderr.contains("the file was replaced or truncated"), "said so: {stderr}");
    assert!(!stderr.contains("stream lost"), "a quiet reopen is not a loss: {stderr}");
}

/// Submits lab/train_run.py (a Train V2 run of `workers` ranks, `steps` reports a second) with
/// state tracking on in its driver's environment; returns the submission id.
fn submit_train_run(name: &str, workers: u32, steps: u32) -> String {
    let python = format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    let script = format!("{}/lab/train_run.py", env!("CARGO_MANIFEST_DIR"));
    submit_job(&serde_json::json!({
        "entrypoint": format!("{python} {script} {name} {workers} {steps} 1"),
        "runtime_env": {"env_vars": {"RAY_TRAIN_ENABLE_STATE_TRACKING": "1"}},
    }))
}

/// The Train run `name` in `raytop snapshot --json` of the lab.
fn train_run_in_snapshot(name: &str) -> Result<Value, String> {
    let (code, json) = snapshot(&["--dashboard", &lab_url()]);
    if code != 0 {
        return Err(format!("exit {code}"));
    }
    let train = &json["clusters"][0]["train"];
    let runs = train["runs"].as_array().ok_or_else(|| format!("no runs: {train}"))?;
    runs.iter().find(|r| r["name"] == name).cloned().ok_or_else(|| format!("{name} not listed: {train}"))
}

/// A real Ray Train V2 run (a DataParallelTrainer of 2 ranks, no torch) on the lab: its ranks
/// in the Jobs view and in snapshot --json (rank, node, pid, GPU ids as Ray names them); rank
/// 1's process killed: the attempt it ended names it, the second attempt runs on new
/// processes; `l` on a worker reads its output; the run FINISHED after two attempts. Before
/// the lab's first tracked run, the view says how to turn tracking on.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn kill_a_train_worker_and_the_run_goes_on_in_a_second_attempt() {
    // The Train state actor is detached: once a run turned tracking on, it stays. On a fresh
    // lab (CI's) nothing is tracked yet, and the screen must say how to turn it on.
    let (_, json) = snapshot(&["--dashboard", &lab_url()]);
    match json["clusters"][0]["train"]["not_tracked"].as_str() {
        Some(why) => assert!(why.contains("RAY_TRAIN_ENABLE_STATE_TRACKING=1"), "{why}"),
        None => eprintln!("this lab has tracked Train runs before: the untracked answer is not checked here"),
    }
    let name = format!("live-train-{}", std::process::id());
    // 40 steps of 1 s: the second attempt runs long enough to be seen RUNNING after the restart.
    let id = submit_train_run(&name, 2, 40);
    let _stop = common::Undo::new(format!("job {id} stopped"), || {
        let out = std::process::Command::new("curl")
            .args(["-sS", "-X", "POST", &format!("{}/api/jobs/{id}/stop", lab_url())])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).to_string()) }
    });
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--refresh", "1"]);
    // Wide enough for the run row's whole message (why the previous attempt ended).
    p.resize(200, 40);
    p.keys(&["6"]);
    p.wait("the run with its two ranks alive", Duration::from_secs(120), |s| {
        s.contains(&name) && s.contains("2/2 alive") && s.contains("rank 1")
    });
    let run = eventually("both ranks in snapshot --json", Duration::from_secs(30), || {
        let run = train_run_in_snapshot(&name)?;
        let workers = run["attempts"][0]["workers"].as_array().cloned().unwrap_or_default();
        if workers.len() == 2 && workers.iter().all(|w| w["status"] == "ALIVE") {
            Ok(run)
        } else {
            Err(run.to_string())
        }
    });
    assert_eq!(run["job"], id.as_str(), "the run's job is the submission: {run}");
    let workers = run["attempts"][0]["workers"].as_array().unwrap();
    let ranks: Vec<i64> = workers.iter().map(|w| w["world_rank"].as_i64().unwrap()).collect();
    assert_eq!(ranks, [0, 1]);
    for w in workers {
        assert!(w["pid"].as_i64().is_some() && w["node_id"].as_str().is_some_and(|n| n.len() == 56), "{w}");
        assert!(w["gpu_ids"].as_array().is_some_and(Vec::is_empty), "a CPU run holds no GPU: {w}");
    }
    let first_pids: Vec<i64> = workers.iter().map(|w| w["pid"].as_i64().unwrap()).collect();
    // Rank 1's process dies (the lab's workers run on this machine).
    let killed = std::process::Command::new("kill").args(["-9", &first_pids[1].to_string()]).status().unwrap();
    assert!(killed.success());
    let t0 = std::time::Instant::now();
    // Rank 1 marked `(failed)` while the first attempt is the newest with workers, or, once the
    // second one has its workers (Train may restart between two 5 s fetches), the run row's
    // reason for the first attempt's end.
    let s = p.wait("rank 1 named as the one that failed", Duration::from_secs(60), |s| {
        s.contains("DEAD (failed)") || s.contains("attempt 1 ERRORED (rank 1 failed)")
    });
    assert!(s.contains("attempt 2"), "{s}");
    p.wait("the second attempt running", Duration::from_secs(120), |s| {
        s.contains("RUNNING · attempt 2") && s.contains("2/2 alive")
    });
    eprintln!("figure: rank 1 killed to the second attempt running on screen in {:.1} s", t0.elapsed().as_secs_f64());
    // `l` on rank 0 of the new attempt: its output, lines the loop prints.
    p.keys(&["/"]);
    p.type_text(&name);
    p.keys(&["Enter"]);
    let s = p.wait("the run and its workers filtered", Duration::from_secs(10), |s| s.contains("└ rank 1"));
    // Rows: the job (its entrypoint names the run), the run, rank 0, rank 1.
    assert!(s.contains("ray submission"), "{s}");
    p.keys(&["g", "j", "j", "l"]);
    p.wait("rank 0's output in the pane", Duration::from_secs(45), |s| {
        s.contains(&format!("[train {name} rank 0] step"))
    });
    p.keys(&["Escape"]);
    p.close_and_quit();
    let run = eventually("the run FINISHED", Duration::from_secs(180), || {
        let run = train_run_in_snapshot(&name)?;
        if run["status"] == "FINISHED" { Ok(run) } else { Err(format!("{} {}", run["status"], run["status_detail"])) }
    });
    let attempts = run["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{run}");
    assert_eq!(attempts[0]["status"], "ERRORED");
    assert_eq!(attempts[0]["failed_ranks"], serde_json::json!([1]));
    let second: Vec<i64> =
        attempts[1]["workers"].as_array().unwrap().iter().map(|w| w["pid"].as_i64().unwrap()).collect();
    assert!(second.iter().all(|p| !first_pids.contains(p)), "new processes: {first_pids:?} then {second:?}");
}

/// The cloud a lab storage server stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    S3,
    Gcs,
    Azure,
}

/// Azurite's well-known account and key (the emulator's own, published with it).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// One of the lab's cloud-storage servers (moto from the lab's venv; fake-gcs-server and Azurite
/// from lab/cloud.sh) on a port of its own, its data in a folder of its own; stopped when
/// dropped; with the variables each cloud's own tools (and raytop, and Tune) read to reach it.
struct CloudServer {
    child: std::process::Child,
    cloud: Cloud,
    endpoint: String,
    _data: tempfile::TempDir,
}

impl CloudServer {
    fn start(cloud: Cloud) -> CloudServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
        let data = tempfile::tempdir().unwrap();
        let installed = |var: &str| {
            std::env::var(var).unwrap_or_else(|_| panic!("{var} unset: lab/test.sh sets it from lab/cloud.sh"))
        };
        let (bin, args): (String, Vec<String>) = match cloud {
            Cloud::S3 => {
                (format!("{}/.lab/venv/bin/moto_server", env!("CARGO_MANIFEST_DIR")), vec!["-p".into(), port.clone()])
            }
            Cloud::Gcs => (
                installed("RAYTOP_LAB_FAKE_GCS_BIN"),
                ["-scheme", "http", "-host", "127.0.0.1", "-port", &port, "-backend", "memory", "-log-level", "error"]
                    .iter()
                    .map(|a| a.to_string())
                    .chain(["-public-host".to_string(), format!("127.0.0.1:{port}")])
                    .collect(),
            ),
            Cloud::Azure => (
                installed("RAYTOP_LAB_AZURITE_BIN"),
                ["--blobHost", "127.0.0.1", "--blobPort", &port, "--skipApiVersionCheck", "--loose", "--silent"]
                    .iter()
                    .map(|a| a.to_string())
                    .chain(["--location".to_string(), data.path().display().to_string()])
                    .collect(),
            ),
        };
        let child = std::process::Command::new(&bin)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e} (lab/setup.sh and lab/cloud.sh install it)"));
        let server = CloudServer { child, cloud, endpoint: format!("http://127.0.0.1:{port}"), _data: data };
        eventually(&format!("{cloud:?} server answering"), Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        server
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self.cloud {
            Cloud::S3 => vec![
                ("AWS_ACCESS_KEY_ID", "test".into()),
                ("AWS_SECRET_ACCESS_KEY", "test".into()),
                ("AWS_DEFAULT_REGION", "us-east-1".into()),
                ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ],
            // What Google's client libraries read for an emulator: no credentials.
            Cloud::Gcs => vec![("STORAGE_EMULATOR_HOST", self.endpoint.clone())],
            // A connection string, as the portal and `az storage account show-connection-string`
            // hand it out; an emulator's endpoint is path-style (host:port/ACCOUNT).
            Cloud::Azure => vec![(
                "AZURE_STORAGE_CONNECTION_STRING",
                format!(
                    "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};\
                     BlobEndpoint={}/{AZURITE_ACCOUNT};",
                    self.endpoint
                ),
            )],
        }
    }

    /// The storage path the sweeps write under.
    fn url(&self) -> &'static str {
        match self.cloud {
            Cloud::S3 => "s3://tune/results",
            Cloud::Gcs => "gs://tune/results",
            Cloud::Azure => "az://tune/results",
        }
    }

    /// `lab/tune_cloud.py ARGS` against this server, to its end; its output.
    fn script(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR")))
            .arg(format!("{}/lab/tune_cloud.py", env!("CARGO_MANIFEST_DIR")))
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for CloudServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The trials of `snapshot --json --tune-dir DIR` (id, status, best, iterations), sorted.
fn tune_trials(dir: &str, env: &[(&str, String)]) -> Vec<(String, String, String, u64)> {
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", &lab_url(), "--tune-dir", dir])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tune = &json["clusters"][0]["tune"];
    assert!(tune["problems"].as_array().is_some_and(Vec::is_empty), "{tune}");
    let mut trials: Vec<_> = tune["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["trials"].as_array().unwrap().clone())
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("trial_id"), s("status"), t["best"].to_string(), t["iterations"].as_u64().unwrap_or(0))
        })
        .collect();
    trials.sort();
    trials
}

/// A real Tune sweep with its storage path in cloud storage (written by pyarrow from Ray 2.60 to
/// the lab's server for that cloud): its leaderboard in the TUI from `--tune-dir URL` while it
/// runs, with the age of the storage's copy; when done, the same trials, statuses and best
/// values as a plain download of the storage path read from disk; a pass with nothing changed
/// costs one listing and no body; a result.json replaced by a longer one is read from its old
/// length. Returns the server, for what a cloud checks besides.
fn a_sweep_in_cloud_storage_is_watched_live_and_read_incrementally(cloud: Cloud) -> CloudServer {
    let server = CloudServer::start(cloud);
    let env = server.env();
    let name = format!("{cloud:?}-sweep-{}", std::process::id()).to_lowercase();
    let url = server.url();
    let mut sweep = std::process::Command::new(format!("{}/.lab/venv/bin/python", env!("CARGO_MANIFEST_DIR")))
        .args([&format!("{}/lab/tune_cloud.py", env!("CARGO_MANIFEST_DIR")), url, &name, "40", "0.5"])
        .envs(env.clone())
        .env("RAY_ADDRESS", "auto")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The cost while it runs: a mirror of the storage path synced as the TUI does, every
    // STORAGE_PERIOD, until the sweep ends.
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let meter = {
        let (running, vars) = (running.clone(), env.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let cache = tempfile::tempdir().unwrap();
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut mirror = raytop::source::tune_cloud::Mirror::with_vars(url, cache.path(), &vars).unwrap();
            let (t0, mut requests, mut bytes) = (std::time::Instant::now(), 0, 0);
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(p) = rt.block_on(mirror.sync()) {
                    requests += p.requests;
                    bytes += p.bytes;
                }
                std::thread::sleep(raytop::source::tune::STORAGE_PERIOD);
            }
            (t0.elapsed().as_secs_f64(), requests, bytes)
        })
    };
    let pane_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = Pane::raytop_env(&pane_env, &["--dashboard", &lab_url(), "--tune-dir", url, "--refresh", "1"]);
    p.keys(&["4"]);
    let t0 = std::time::Instant::now();
    let s = p.wait("the sweep's trials RUNNING, from the storage path", Duration::from_secs(120), |s| {
        s.contains(&name) && s.contains("2 running")
    });
    assert!(s.contains(&format!("{url}: copy")), "the storage copy's age on screen: {s}");
    eprintln!(
        "figure: {cloud:?}: first RUNNING leaderboard {:.1} s after the sweep started",
        t0.elapsed().as_secs_f64()
    );
    let status = sweep.wait().unwrap();
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let (secs, requests, bytes) = meter.join().unwrap();
    eprintln!(
        "figure: {cloud:?}: while the sweep ran, {requests} requests and {bytes} body bytes in {secs:.0} s \
         ({:.0} requests/min, {:.0} KB/min)",
        requests as f64 * 60.0 / secs,
        bytes as f64 * 60.0 / secs / 1000.0
    );
    assert!(status.success(), "{:?}", sweep.stderr.take().map(|e| std::io::read_to_string(e).unwrap_or_default()));
    p.wait("both trials TERMINATED on screen", Duration::from_secs(60), |s| s.contains("2 terminated"));
    p.close_and_quit();
    // The same as the storage path's files downloaded and read from disk.
    let local = tempfile::tempdir().unwrap();
    server.script(&["--download", url, &local.path().display().to_string()]);
    let from_cloud = tune_trials(url, &env);
    let from_disk = tune_trials(&local.path().display().to_string(), &[]);
    assert_eq!(from_cloud.len(), 2, "{from_cloud:?}");
    assert!(from_cloud.iter().all(|t| t.1 == "TERMINATED" && t.3 == 40), "{from_cloud:?}");
    assert_eq!(from_cloud, from_disk);
    // Incremental, on the mirror itself.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let experiment = format!("{url}/{name}");
    let mut mirror = raytop::source::tune_cloud::Mirror::with_vars(&experiment, cache.path(), &vars).unwrap();
    let first = rt.block_on(mirror.sync()).unwrap();
    let idle = rt.block_on(mirror.sync()).unwrap();
    eprintln!(
        "figure: {cloud:?}: first sync {} requests {} bytes; unchanged: {} request {} bytes",
        first.requests, first.bytes, idle.requests, idle.bytes
    );
    assert_eq!((first.whole, first.appended), (3, 0), "the state file and two result files: {first:?}");
    assert_eq!((idle.requests, idle.bytes, idle.whole), (1, 0, 0), "only the listing: {idle:?}");
    // One result.json replaced by itself plus a line, as Tune's next upload would be.
    let line = "{\"loss\": 0.0001, \"training_iteration\": 41}\n";
    server.script(&["--append", &experiment, line]);
    let grown = rt.block_on(mirror.sync()).unwrap();
    assert_eq!((grown.appended, grown.whole, grown.bytes), (1, 0, line.len() as u64), "{grown:?}");
    let rows: usize = walk_result_lines(&mirror.local);
    assert_eq!(rows, 81, "40 + 40 + the new line, each once");
    server
}

/// S3 (moto), and the same read with no AWS_* variable at all: credentials, region and
/// endpoint from a profile in ~/.aws, as the AWS CLI would find them.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn s3_tune_sweep_is_watched_live_from_the_bucket_and_read_incrementally() {
    let s3 = a_sweep_in_cloud_storage_is_watched_live_and_read_incrementally(Cloud::S3);
    let from_s3 = tune_trials(s3.url(), &s3.env());
    assert_eq!(from_s3.len(), 2, "{from_s3:?}");
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[lab]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    let config = format!("[profile lab]\nregion = us-east-1\nendpoint_url = {}\n", s3.endpoint);
    std::fs::write(home.path().join(".aws/config"), config).unwrap();
    let profile_env = [("HOME", home.path().display().to_string()), ("AWS_PROFILE", "lab".to_string())];
    assert_eq!(tune_trials(s3.url(), &profile_env), from_s3, "read with the lab profile of ~/.aws");
}

/// Google Cloud Storage (fake-gcs-server), found through STORAGE_EMULATOR_HOST as Google's own
/// client libraries find an emulator.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn gs_tune_sweep_is_watched_live_from_the_bucket_and_read_incrementally() {
    a_sweep_in_cloud_storage_is_watched_live_and_read_incrementally(Cloud::Gcs);
}

/// Azure Blob Storage (Azurite), reached with a connection string; the same experiments read
/// through the abfs:// form of the URL that names the account, and a wrong key said as such.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn az_tune_sweep_is_watched_live_from_the_container_and_read_incrementally() {
    let azure = a_sweep_in_cloud_storage_is_watched_live_and_read_incrementally(Cloud::Azure);
    let env = azure.env();
    let from_az = tune_trials(azure.url(), &env);
    assert_eq!(from_az.len(), 2, "{from_az:?}");
    assert_eq!(tune_trials("abfs://tune/results", &env), from_az, "abfs://CONTAINER/PREFIX, as fsspec names it");
    let wrong = env[0].1.replace(AZURITE_KEY, "d3Jvbmcta2V5");
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", &lab_url(), "--tune-dir", azure.url()])
        .env("AZURE_STORAGE_CONNECTION_STRING", wrong)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = json["clusters"][0]["tune"]["problems"].to_string();
    assert!(problems.contains("az://tune/results") && problems.contains("403"), "{problems}");
}

/// Lines in every result.json under `dir`.
fn walk_result_lines(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            n += walk_result_lines(&e.path());
        } else if e.file_name() == "result.json" {
            n += std::fs::read_to_string(e.path()).unwrap().lines().count();
        }
    }
    n
}

/// A Ray node of the test's own joined to the lab (`ray start --block`, no CPUs, a resource
/// named for the test so nothing else is placed there); stopped when dropped.
struct ExtraNode {
    child: std::process::Child,
    node_id: String,
}

impl ExtraNode {
    fn join() -> ExtraNode {
        let resource = format!("raytop_test_{}", std::process::id());
        let child = std::process::Command::new(format!("{}/.lab/venv/bin/ray", env!("CARGO_MANIFEST_DIR")))
            .args(["start", "--address=127.0.0.1:6379", "--num-cpus=0", "--dashboard-agent-listen-port=0", "--block"])
            .arg(format!("--resources={{\"{resource}\": 1}}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut node = ExtraNode { child, node_id: String::new() };
        node.node_id = eventually("the extra node ALIVE", Duration::from_secs(90), || {
            let out = std::process::Command::new("curl")
                .args(["-sS", "--fail", &format!("{}/api/v0/nodes?detail=1&limit=1000", lab_url())])
                .output()
                .map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            let nodes = v["data"]["result"]["result"].as_array().cloned().unwrap_or_default();
            nodes
                .iter()
                .find(|n| n["state"] == "ALIVE" && !n["resources_total"][&resource].is_null())
                .and_then(|n| n["node_id"].as_str().map(str::to_string))
                .ok_or_else(|| "not joined yet".to_string())
        });
        node
    }

    /// Stops it as a node going away does: its processes end, its agent with them.
    fn stop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for ExtraNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A node's raylet.out followed with `raytop logs node --follow`; the node goes away: the lines
/// read stay printed, and the end says the node is gone, one line, exit 1.
#[test]
#[ignore = "needs the lab: run ./lab/test.sh"]
fn kill_a_node_while_its_log_is_followed_and_the_end_says_the_node_is_gone() {
    use std::io::BufRead;
    let mut node = ExtraNode::join();
    let mut child = common::raytop()
        .args(["logs", "node", &node.node_id, "--file", "raylet.out", "--tail", "5", "--follow"])
        .args(["--dashboard", &lab_url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "a line of the node's raylet.out before it goes");
    let t0 = std::time::Instant::now();
    node.stop();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let err = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    eprintln!("figure: the node stopped to raytop's end in {:.1} s", t0.elapsed().as_secs_f64());
    assert_eq!(status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains("raylet.out on node") && last.contains("the node is gone"), "{err}");
    eprintln!("its end: {last}");
}
