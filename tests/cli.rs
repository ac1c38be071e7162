//! The real binary against faults that need no lab: nothing listening, a truncated body, bad
//! flags and a broken user keymap. TUI cases run in tmux.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::tmux::Pane;
use common::{read, snapshot};
use raytop::source::dashboard::Endpoint;

/// A port nothing listens on: bind, note the port, close.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn snapshot_of_an_unreachable_dashboard_exits_2_and_says_why() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let (code, json) = snapshot(&["--dashboard", &url, "--timeout", "2"]);
    assert_eq!(code, 2);
    let c = &json["clusters"][0];
    assert_eq!(c["connection"]["state"], "disconnected");
    assert!(c["connection"]["message"].as_str().unwrap().contains("unreachable"), "{c}");
}

#[test]
fn without_a_terminal_the_tui_says_so_and_exits_2_instead_of_panicking() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    // `setsid`: no controlling terminal either, as under a service manager (crossterm falls
    // back to /dev/tty when stdin is not one).
    let own = common::raytop();
    let mut cmd = std::process::Command::new("setsid");
    cmd.arg(own.get_program()).args(["--dashboard", &url]);
    for (k, v) in own.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("raytop: no terminal to draw on ("), "{stderr}");
    assert!(stderr.contains("use `raytop snapshot --json`"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn tui_with_an_unreachable_dashboard_explains_and_quits_cleanly() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let p = Pane::raytop(&["--dashboard", &url, "--timeout", "2"]);
    let s = p.wait_for("Cannot reach", Duration::from_secs(15));
    assert!(s.contains("Retrying with backoff"), "{s}");
    assert!(s.contains(" disconnected for ") && s.contains(", retrying: dashboard unreachable"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    assert_eq!(p.state(), (true, false), "exited with the terminal restored");
}

fn lab_routes() -> HashMap<String, (u16, Vec<u8>)> {
    let mut routes: HashMap<String, (u16, Vec<u8>)> =
        common::captured("v1-busy").into_iter().map(|(ep, _, body)| (ep.path().to_string(), (200, body))).collect();
    // No Train run was tracked on that lab: the head's 500, as captured before any was.
    routes.insert(Endpoint::TrainRuns.path().to_string(), (500, read("train", "untracked.json")));
    routes
}

#[test]
fn truncated_json_is_counted_and_shown_without_a_crash() {
    let mut routes = lab_routes();
    let nodes = read("v1-busy", "nodes_summary.json");
    routes.insert("/nodes?view=summary".into(), (200, nodes[..nodes.len() / 2].to_vec()));
    let server = common::http::serve(routes);
    let (code, json) = snapshot(&["--dashboard", &server.url]);
    assert_eq!(code, 0, "the rest of the dashboard answered");
    let nodes = &json["clusters"][0]["freshness"]["nodes"];
    assert_eq!(nodes["errors_total"], 1);
    assert!(nodes["last_error"].as_str().unwrap().contains("malformed response from /nodes?view=summary"), "{nodes}");
    assert_eq!(json["clusters"][0]["serve"]["applications"][0]["name"], "demo", "other data still shown");

    let p = Pane::raytop(&["--dashboard", &server.url, "--refresh", "1"]);
    let s = p.wait_for("malformed response", Duration::from_secs(15));
    assert!(s.contains("⚠ nodes failing for ") && s.contains("errors; no data yet): malformed response"), "{s}");
    p.keys(&["3"]);
    p.wait_for("demo", Duration::from_secs(10));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// Peak RSS, in MiB, of `raytop ARGS` run to its end (the kernel's figure for a waited child).
fn peak_rss_mib(args: &[&str]) -> (f64, String) {
    let script = "import resource, subprocess, sys\n\
        out = subprocess.run(sys.argv[2:], capture_output=True, env={'RAYTOP_CONFIG_DIR': '/nonexistent', 'HOME': sys.argv[1]})\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n\
        sys.stdout.write(out.stdout.decode())";
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", script, &home.path().display().to_string(), env!("CARGO_BIN_EXE_raytop")])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (rss, rest) = text.split_once('\n').unwrap();
    (rss.trim().parse().unwrap(), rest.to_string())
}

/// Measured before the cap: a /nodes answer of 400 MB took `snapshot` to 2 GB of RSS.
#[test]
fn a_huge_answer_is_refused_at_the_cap_in_bounded_memory() {
    let server = common::http::serve_with_huge(lab_routes(), Some(("/nodes?view=summary".into(), 400 << 20)));
    let (rss, out) = peak_rss_mib(&["snapshot", "--json", "--dashboard", &server.url, "--timeout", "60"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &json["clusters"][0];
    let err = c["freshness"]["nodes"]["last_error"].as_str().unwrap_or_default();
    assert_eq!(
        err,
        "the answer from /nodes?view=summary is over raytop's limit of 64 MiB: not read (RAYTOP_MAX_BODY_MIB raises it)"
    );
    assert_eq!(c["serve"]["applications"][0]["name"], "demo", "the other answers still read");
    eprintln!("figure: peak RSS of snapshot with a 400 MiB /nodes answer: {rss:.0} MiB");
    assert!(rss < 200.0, "peak RSS {rss:.0} MiB");
}

#[test]
fn a_token_bound_for_another_host_over_plain_http_is_warned_about_once() {
    // 192.0.2.1 is TEST-NET-1: nothing answers, and it is not this machine.
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", "http://192.0.2.1:8265", "--timeout", "1", "--token", "tok-123"])
        .env("RAYTOP_CONFIG_DIR", "/nonexistent")
        .env("HOME", tempfile::tempdir().unwrap().path())
        .env("XDG_STATE_HOME", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let warning = "raytop: warning: the Ray token from --token goes to 192.0.2.1 over plain http";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    assert!(!err.contains("tok-123") && !String::from_utf8_lossy(&out.stdout).contains("tok-123"));
}

/// What is typed (a filter, a `:` command) never reaches the log, at any level.
#[test]
fn keystrokes_and_the_token_stay_out_of_the_log_even_at_trace() {
    let server = common::http::serve(lab_routes());
    let p = Pane::raytop_env(&[("RAYTOP_LOG", "trace")], &["--dashboard", &server.url, "--token", "tok-s3cr3t"]);
    p.wait_for("head", Duration::from_secs(10));
    p.keys(&["/"]);
    p.type_text("typedsecretword");
    p.keys(&["Enter", "q"]);
    p.wait_exit(Duration::from_secs(5));
    let log = std::fs::read_to_string(p.log_file()).unwrap();
    assert!(log.contains("dashboard poller started"), "the log was written at trace: {log}");
    assert!(!log.contains("typedsecretword"), "a keystroke reached the log");
    assert!(!log.contains("tok-s3cr3t"), "the token reached the log");
}

#[test]
fn a_401_names_the_fix() {
    let mut routes = HashMap::new();
    let body = read("auth", "version_noauth.json");
    for ep in ["/api/version", "/nodes?view=summary"] {
        routes.insert(ep.to_string(), (401, body.clone()));
    }
    let server = common::http::serve(routes);
    let (code, json) = snapshot(&["--dashboard", &server.url]);
    assert_eq!(code, 2);
    let msg = json["clusters"][0]["connection"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("401") && msg.contains("--token") && msg.contains("RAY_AUTH_TOKEN"), "{msg}");
}

#[test]
fn bad_flags_fail_with_a_message() {
    let out = common::raytop().args(["snapshot", "--json", "--refresh", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--refresh and --timeout must be positive"));
    let out = common::raytop().args(["snapshot", "--dashboard", "127.0.0.1:8265"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with http://"));
}

#[test]
fn a_broken_user_keymap_shows_a_warning_and_defaults_still_work() {
    let server = common::http::serve(lab_routes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[global\nbroken").unwrap();
    // Pane sets its own config dir; point this one at ours through the flag, which wins.
    let cfg = dir.path().display().to_string();
    let p = Pane::raytop(&["--dashboard", &server.url, "--config-dir", &cfg]);
    p.wait_for("not a valid keymap, using the defaults", Duration::from_secs(10));
    p.keys(&["Escape"]);
    p.wait("warning dismissed", Duration::from_secs(5), |s| !s.contains("not a valid keymap"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let run = |args: &[&str]| {
        let out = common::raytop().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("complete -F _raytop") && bash.contains("snapshot"), "{bash}");
    let zsh = run(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef raytop"), "{zsh}");
    let man = run(&["man"]);
    assert!(man.contains(".TH raytop 1"), "{man}");
    assert!(man.contains("\\-\\-dashboard"), "the man page documents the flags: {man}");
}

/// A kubeconfig in DIR whose API server is a closed port on this machine (namespace `ray`).
fn unreachable_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let kubeconfig = dir.join("kubeconfig");
    let port = closed_port();
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: nowhere\n  cluster:\n    \
             server: http://127.0.0.1:{port}\ncontexts:\n- name: nowhere\n  context: {{cluster: nowhere, user: nobody, \
             namespace: ray}}\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .unwrap();
    kubeconfig
}

#[test]
fn with_kubernetes_and_no_dashboard_asked_for_the_header_names_none_and_nothing_is_polled() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let p = Pane::raytop_env(
        &[("KUBECONFIG", kubeconfig.to_str().unwrap()), ("HOME", home.to_str().unwrap()), ("RAYTOP_LOG", "debug")],
        &[],
    );
    let s = p.wait_for("no dashboard chosen", Duration::from_secs(15));
    assert!(s.contains("0 Kube"), "{s}");
    assert!(!s.contains("127.0.0.1:8265"), "no address is guessed: {s}");
    p.keys(&["1"]);
    let s = p.wait_for("No Ray dashboard chosen", Duration::from_secs(5));
    assert!(s.contains(":use NAME"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    let log = std::fs::read_to_string(p.log_file()).unwrap();
    assert!(log.contains("watch failed"), "the log is this run's (the API server is down): {log}");
    assert!(!log.contains("dashboard poller started"), "no dashboard was polled: {log}");
}

/// `raytop logs pod` against an API server that is not there: one line on stderr, exit 1,
/// nothing on stdout.
#[test]
fn logs_of_a_pod_on_an_unreachable_api_server_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let out = common::raytop()
        .args(["logs", "pod", "ray-head-abcde", "-c", "ray-head", "--tail", "5"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("raytop: ray/ray-head-abcde: ") && err.lines().count() == 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// `raytop logs --ray-cluster` on an API server that is not there: the RayCluster asked for is
/// named, one line, exit 1 (it is not read from --dashboard instead).
#[test]
fn logs_of_a_ray_cluster_on_an_unreachable_api_server_names_the_raycluster() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let out = common::raytop()
        .args(["logs", "--ray-cluster", "raycluster-lab", "job", "raysubmit_x", "--dashboard", "http://127.0.0.1:9"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("raytop: RayCluster ray/raycluster-lab: ") && err.lines().count() == 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// `raytop logs actor` against a dashboard that is not there: one line naming what was asked
/// and why, exit 1, nothing on stdout; following, it says it retries (and is stopped here).
#[test]
fn logs_of_an_actor_on_an_unreachable_dashboard_is_one_line_and_exit_1() {
    let out = common::raytop()
        .args(["logs", "actor", "abcdef0123456789", "--dashboard", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("raytop: actor abcdef012345 stdout: dashboard unreachable") && err.lines().count() == 1,
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Following: the loss is said, with the retry, until stopped.
    let mut child = common::raytop()
        .args(["logs", "actor", "abcdef0123456789", "--follow", "--dashboard", "http://127.0.0.1:9"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().unwrap()), &mut said).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(said.starts_with("raytop: stream lost (actor abcdef012345 stdout: dashboard unreachable"), "{said}");
    assert!(said.contains("reconnecting in 1 s"), "{said}");
}

#[test]
fn sigterm_and_sighup_end_raytop_with_the_terminal_restored() {
    let server = common::http::serve(lab_routes());
    for signal in ["TERM", "HUP"] {
        let p = Pane::raytop(&["--dashboard", &server.url]);
        p.wait_for("head", Duration::from_secs(10));
        assert_eq!(p.state(), (false, true), "running, in the alternate screen");
        let st = std::process::Command::new("kill").args([&format!("-{signal}"), &p.pid().to_string()]).status();
        assert!(st.unwrap().success());
        p.wait_exit(Duration::from_secs(5));
        assert_eq!(p.state(), (true, false), "SIG{signal}: exited with the terminal restored");
    }
}

#[test]
fn a_panic_in_a_view_restores_the_terminal_and_says_what_happened() {
    let server = common::http::serve(lab_routes());
    let p = Pane::raytop_env(&[("RAYTOP_FAULT_PANIC_IN_VIEW", "serve")], &["--dashboard", &server.url]);
    p.wait_for("head", Duration::from_secs(10));
    p.keys(&["3"]);
    p.wait_exit(Duration::from_secs(5));
    assert_eq!(p.state(), (true, false), "exited with the terminal restored");
    let s = p.history();
    assert!(s.contains("fault injected: drawing the serve view"), "the panic is reported: {s}");
}

/// Shrunk to 20x5 (smaller than any view can lay out) and back: raytop stays up, draws a whole
/// frame of the view at 20x5 (the header, the view's box with its title, the footer's hints,
/// nothing left of the 120-column frame), and the full view again at full size. Every view is
/// also drawn at 20x5 in `views.rs`.
#[test]
fn resized_to_20x5_and_back_raytop_stays_up() {
    let server = common::http::serve(lab_routes());
    let p = Pane::raytop(&["--dashboard", &server.url]);
    p.wait_for("head", Duration::from_secs(10));
    // Each view's box title at 20 columns, and at 120.
    let views = [
        ("1", "┌ Cluster — 3 group┐", "┌ Cluster — 3 group(s), 4 node(s) alive"),
        ("2", "┌ Decisions & event┐", "┌ Scaling verdicts — autoscaler v1 report"),
        ("3", "┌ Serve — 1 applica┐", "┌ Serve — 1 application(s)"),
        ("4", "┌ Tune ────────────┐", "┌ Tune"),
        ("5", "┌ GPUs — Ray 2/2 al┐", "┌ Waste and waits"),
        ("6", "┌ Jobs — 1 Ray jobs┐", "┌ Jobs — 1 Ray job"),
    ];
    for (key, tiny, full) in views {
        p.keys(&[key]);
        p.wait(&format!("view {key} at full size"), Duration::from_secs(10), |s| full_frame(s, full));
        p.resize(20, 5);
        let s = p.wait(&format!("view {key} drawn whole at 20x5"), Duration::from_secs(10), |s| {
            let lines: Vec<&str> = s.lines().collect();
            lines.len() == 5
                && lines[0].starts_with(" raytop  127.0.0.1:")
                && lines[1] == tiny
                && lines[2].starts_with('│')
                && lines[2].ends_with('│')
                // The box's bottom edge, whole (it may carry a note, as the Jobs view's
                // "not tracked" one).
                && lines[3].starts_with('└')
                && lines[3].ends_with('┘')
                && lines[3].chars().count() == 20
                && lines[4] == " ?  help   :  comman"
        });
        assert!(!p.state().0, "raytop ended at 20x5 in view {key}: {s}");
        p.resize(120, 40);
        let s =
            p.wait(&format!("view {key} drawn again at full size"), Duration::from_secs(10), |s| full_frame(s, full));
        assert!(!p.state().0, "raytop ended back at full size in view {key}: {s}");
    }
    p.keys(&["1"]);
    p.wait("drawn again at full size", Duration::from_secs(5), |s| s.contains("head") && s.lines().count() >= 39);
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
    assert_eq!(p.state(), (true, false));
}

/// A whole 120x40 frame: the header with every tab, the view's box titled `title` under it, its
/// bottom border and the footer's hints on the last two lines.
fn full_frame(s: &str, title: &str) -> bool {
    let lines: Vec<&str> = s.lines().collect();
    lines.len() == 40
        && lines[0].starts_with(" raytop  127.0.0.1:")
        && lines[0].contains("● connected")
        && lines[0].contains("1 Cluster  2 Autoscaler  3 Serve  4 Tune  5 GPU  6 Jobs")
        && lines[1].starts_with(title)
        && lines[1].ends_with('┐')
        && lines[38].starts_with('└')
        && lines[38].ends_with('┘')
        && lines[39].starts_with(" ?  help   :  command   /  filter   Tab  view")
}

/// A 1 GiB result.json (lines of 2 MiB, over raytop's per-line limit, then one good row) is read
/// to its end in bounded memory; the long lines are reported and skipped.
#[test]
fn a_one_gib_result_file_is_read_in_bounded_memory() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("grid");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune/grid");
    std::fs::create_dir_all(&exp).unwrap();
    let mut big = None;
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if e.path().is_dir() {
            let to = exp.join(e.file_name());
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
            big.get_or_insert(to.join("result.json"));
        } else {
            std::fs::copy(e.path(), exp.join(e.file_name())).unwrap();
        }
    }
    let big = big.unwrap();
    let first = std::fs::read_to_string(&big).unwrap();
    let row: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let trial = row["trial_id"].as_str().unwrap().to_string();
    let mut f = std::fs::OpenOptions::new().append(true).open(&big).unwrap();
    let mut long = vec![b'x'; 2 << 20];
    *long.last_mut().unwrap() = b'\n';
    for _ in 0..512 {
        f.write_all(&long).unwrap();
    }
    writeln!(f, r#"{{"trial_id": "{trial}", "training_iteration": 999, "loss": 0.001}}"#).unwrap();
    drop(f);
    let size = std::fs::metadata(&big).unwrap().len();
    assert!(size > 1 << 30, "{size}");
    let dir = tmp.path().display().to_string();
    let (rss, out) = peak_rss_mib(&[
        "snapshot",
        "--json",
        "--dashboard",
        "http://127.0.0.1:9",
        "--timeout",
        "1",
        "--tune-dir",
        &dir,
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tune = &json["clusters"][0]["tune"];
    let t =
        tune["experiments"][0]["trials"].as_array().unwrap().iter().find(|t| t["trial_id"] == trial.as_str()).unwrap();
    assert_eq!(t["iterations"], 999, "the row after the long lines was read");
    let problems = tune["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p.as_str().unwrap().ends_with("512 line(s) over 1048576 bytes skipped")),
        "{problems:?}"
    );
    eprintln!("figure: snapshot of a {} MiB result.json: peak RSS {rss:.0} MiB", size >> 20);
    assert!(rss < 200.0, "peak RSS {rss:.0} MiB");
}

/// Names that go into API paths and file names are checked before anything is read or sent.
#[test]
fn names_that_could_leave_their_path_are_refused_with_a_message() {
    for (args, says) in [
        (vec!["scale", "../secrets", "g", "--replicas", "1"], "is not a Kubernetes object name"),
        (vec!["scale", "rc", "g/../x", "--replicas", "1"], "is not a worker group name"),
        (vec!["scale", "rc", "g", "--delete-pod", "Pod_1"], "is not a Kubernetes object name"),
        (vec!["scale", "rc", "g", "--replicas", "x"], "invalid digit"),
        (vec!["-n", "ray/lab", "snapshot"], "is not a Kubernetes name"),
        (vec!["redeploy", "app", "--rayservice", "a b"], "is not a Kubernetes object name"),
        (vec!["cancel-trial", "../../etc/passwd"], "is not a Tune trial id"),
        (vec!["logs", "pod", "../secrets"], "is not a Kubernetes object name"),
        (vec!["logs", "pod", "p", "-c", "a/b"], "is not a container name"),
        (vec!["logs", "pod", "p", "--tail", "x"], "invalid digit"),
        (vec!["logs", "pod", "job/../x"], "is not a Kubernetes object name"),
        (vec!["logs", "actor", "../x"], "is not a Ray id"),
        (vec!["logs", "node", "abc", "--file"], "a value is required"),
        (vec!["logs", "replica", "demo"], "is not APP/DEPLOYMENT"),
        (vec!["logs", "replica", "a//b"], "is not APP/DEPLOYMENT"),
        (vec!["--prometheus-service", "../x", "snapshot"], "namespace and name must be Kubernetes names"),
        (vec!["--prometheus-service", "prometheus", "snapshot"], "give the Service as NAMESPACE/NAME[:PORT]"),
    ] {
        let out = common::raytop().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// A Prometheus Service without a kubeconfig to reach it by: the history says why, and the
/// rest of the snapshot stands.
#[test]
fn history_from_a_service_without_a_kubeconfig_is_a_notice() {
    let server = common::http::serve(lab_routes());
    let (code, json) = snapshot(&["--dashboard", &server.url, "--prometheus-service", "monitoring/prometheus-k8s:web"]);
    assert_eq!(code, 0, "the dashboard answered");
    assert_eq!(json["history"]["source"], "API server proxy monitoring/prometheus-k8s:web");
    let err = json["history"]["error"].as_str().unwrap();
    assert!(err.starts_with("kubeconfig: "), "{err}");
    assert_eq!(json["clusters"][0]["groups"].as_array().map(Vec::len), Some(3), "{json}");
}

/// A Prometheus answer past raytop's limit is refused while it streams in, not buffered whole:
/// the history says so, and the rest of the snapshot stands.
#[test]
fn a_prometheus_answer_over_the_limit_is_refused() {
    let server = common::http::serve(lab_routes());
    let prom = common::http::serve_with_huge(HashMap::new(), Some(("/api/v1/query_range".into(), 64 << 20)));
    let (code, json) = snapshot(&["--dashboard", &server.url, "--prometheus", &prom.url]);
    assert_eq!(code, 0, "the dashboard answered");
    let err = json["history"]["error"].as_str().unwrap();
    assert_eq!(err, "Prometheus answered over 16 MiB, raytop's limit for one query: not read");
    assert_eq!(json["clusters"][0]["groups"].as_array().map(Vec::len), Some(3), "{json}");
}

/// Prometheus down: the history says so, with the address, and the rest still works.
#[test]
fn history_from_a_prometheus_that_is_down_is_a_notice() {
    let server = common::http::serve(lab_routes());
    let prom = format!("http://127.0.0.1:{}", closed_port());
    let (code, json) = snapshot(&["--dashboard", &server.url, "--prometheus", &prom]);
    assert_eq!(code, 0, "the dashboard answered");
    let err = json["history"]["error"].as_str().unwrap();
    assert!(err.starts_with("Prometheus unreachable: "), "{err}");
    let p = Pane::raytop(&["--dashboard", &server.url, "--prometheus", &prom]);
    p.wait_for("head", Duration::from_secs(10));
    // The Cluster view says it first (it shows history too; its title is cut at 120 columns),
    // then the Serve view.
    p.wait_for("history failing for ", Duration::from_secs(15));
    p.keys(&["3"]);
    p.wait_for("demo", Duration::from_secs(15));
    let s = p.wait_for("history failing for ", Duration::from_secs(15));
    assert!(s.contains("Prometheus unreachable"), "{s}");
    assert!(s.contains("demo"), "the Serve data still shown: {s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}
