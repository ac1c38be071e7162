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
