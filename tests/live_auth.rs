//! Live tests against the lab with token auth on (`lab/up.sh --auth --minimal`): run by
//! `lab/test.sh`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tmux::Pane;
use common::{eventually, lab_url, snapshot};

fn token_file() -> String {
    std::env::var("RAYTOP_LAB_TOKEN_FILE").unwrap_or_else(|_| format!("{}/.lab/auth_token", env!("CARGO_MANIFEST_DIR")))
}

#[test]
#[ignore = "needs the token-auth lab: run ./lab/test.sh"]
fn without_a_token_the_401_names_the_fix() {
    let (code, json) = snapshot(&["--dashboard", &lab_url()]);
    assert_eq!(code, 2, "{json}");
    let c = &json["clusters"][0];
    assert_eq!(c["connection"]["state"], "unauthorized");
    let msg = c["connection"]["message"].as_str().unwrap();
    assert!(msg.contains("401") && msg.contains("--token"), "{msg}");
}

#[test]
#[ignore = "needs the token-auth lab: run ./lab/test.sh"]
fn a_token_file_or_env_token_gets_in() {
    let file = token_file();
    eventually("snapshot with --token-file", Duration::from_secs(60), || {
        let (code, json) = snapshot(&["--dashboard", &lab_url(), "--token-file", &file]);
        let c = &json["clusters"][0];
        if code == 0 && c["ray_version"] == "2.60.0" && c["groups"].as_array().is_some_and(|g| !g.is_empty()) {
            Ok(())
        } else {
            Err(format!("exit {code}: {}", c["connection"]))
        }
    });
    let token = std::fs::read_to_string(&file).unwrap();
    let out = common::raytop()
        .args(["snapshot", "--json", "--dashboard", &lab_url()])
        .env("RAY_AUTH_TOKEN", token.trim())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
#[ignore = "needs the token-auth lab: run ./lab/test.sh"]
fn a_wrong_token_is_named_as_rejected() {
    let (code, json) = snapshot(&["--dashboard", &lab_url(), "--token", "not-the-token"]);
    assert_eq!(code, 2);
    let msg = json["clusters"][0]["connection"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("rejected the token from --token"), "{msg}");
}

#[test]
#[ignore = "needs the token-auth lab: run ./lab/test.sh"]
fn tui_without_a_token_shows_the_fix() {
    let p = Pane::raytop(&["--dashboard", &lab_url()]);
    let s = p.wait_for("requires a token", Duration::from_secs(15));
    assert!(s.contains("--token") && s.contains("unauthorized"), "{s}");
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}

/// The Ray session a snapshot with `token` sees (a new one each time the head starts).
fn session(token: &str) -> String {
    let (code, json) = snapshot(&["--dashboard", &lab_url(), "--token-file", token]);
    assert_eq!(code, 0, "{json}");
    json["clusters"][0]["session"].as_str().unwrap().to_string()
}

/// The head restarted with a new token, as a rotation does: a new session and the old token
/// rejected. raytop says so with how long, keeps the last data, and picks up the
/// new token from its file by itself (no restart of raytop). Run alone: it restarts the lab.
#[test]
#[ignore = "needs the token-auth lab: run ./lab/test.sh"]
fn restart_with_a_rotated_token_is_followed_without_restarting_raytop() {
    let root = env!("CARGO_MANIFEST_DIR");
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("token");
    std::fs::copy(token_file(), &mine).unwrap();
    let mine = mine.display().to_string();
    let before = session(&mine);
    let p = Pane::raytop(&["--dashboard", &lab_url(), "--token-file", &mine, "--refresh", "1", "--timeout", "2"]);
    p.wait_for("● connected", Duration::from_secs(30));
    p.wait("the nodes", Duration::from_secs(30), |s| s.contains("ALIVE"));
    let lab = |script: &str, args: &[&str]| {
        let st = std::process::Command::new(format!("{root}/lab/{script}")).args(args).status().unwrap();
        assert!(st.success(), "lab/{script} {args:?}");
    };
    lab("down.sh", &[]);
    let s = p.wait("the head gone", Duration::from_secs(30), |s| s.contains(" disconnected for "));
    assert!(s.contains("ALIVE") && s.contains("showing data from"), "the last data kept with its age: {s}");
    lab("up.sh", &["--auth", "--minimal"]);
    let s = p.wait("the old token rejected", Duration::from_secs(90), |s| s.contains("rejected the token from"));
    assert!(s.contains(" refused for ") && s.contains("ALIVE"), "since when, and the last data kept: {s}");
    // The operator rotates the token where raytop reads it.
    std::fs::copy(token_file(), &mine).unwrap();
    let t0 = std::time::Instant::now();
    p.wait("recovered with the new token", Duration::from_secs(60), |s| {
        s.contains("● connected") && !s.contains("rejected") && !s.contains("failing for")
    });
    eprintln!("figure: rotated token picked up in {:.1} s", t0.elapsed().as_secs_f64());
    let after = session(&mine);
    assert_ne!(before, after, "a new head, a new session");
    p.wait("the restart named", Duration::from_secs(10), |s| s.contains("the Ray head restarted (session"));
    p.keys(&["q"]);
    p.wait_exit(Duration::from_secs(5));
}
