//! Drives the real binary in a tmux pane: type keys, read the screen, wait for text.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Pane {
    pub session: String,
    _dirs: tempfile::TempDir,
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux is installed (lab/setup.sh installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Pane {
    /// Starts `raytop ARGS` in a detached 120x40 tmux session with its own config and state dirs.
    pub fn raytop(args: &[&str]) -> Pane {
        Pane::raytop_env(&[], args)
    }

    /// Like `raytop`, with extra environment variables.
    pub fn raytop_env(env: &[(&str, &str)], args: &[&str]) -> Pane {
        let dirs = tempfile::tempdir().unwrap();
        let session = format!("raytop-test-{}-{}", std::process::id(), rand_suffix());
        // Quoted: a value may hold ';' (an Azure connection string) or spaces.
        let extra: String = env.iter().map(|(k, v)| format!("{k}='{v}' ")).collect();
        // A home of its own, nothing inherited that reaches real clusters; `env` lets the
        // test's own variables (after ours) win.
        let unset: String = super::HOST_VARS.iter().map(|v| format!("-u {v} ")).collect();
        let mut cmd = format!(
            "env {unset}HOME={home} RAYTOP_CONFIG_DIR={cfg} XDG_STATE_HOME={state} TERM=xterm-256color {extra}{bin}",
            home = dirs.path().join("home").display(),
            cfg = dirs.path().join("config").display(),
            state = dirs.path().join("state").display(),
            bin = env!("CARGO_BIN_EXE_raytop"),
        );
        for a in args {
            cmd.push_str(&format!(" '{a}'"));
        }
        tmux(&["new-session", "-d", "-x", "120", "-y", "40", "-s", &session, &cmd]);
        tmux(&["set-option", "-t", &session, "remain-on-exit", "on"]);
        Pane { session, _dirs: dirs }
    }

    pub fn log_file(&self) -> std::path::PathBuf {
        self._dirs.path().join("state/raytop/raytop.log")
    }

    /// The audit log of this raytop (its own state dir).
    pub fn audit_file(&self) -> std::path::PathBuf {
        self._dirs.path().join("state/raytop/audit.jsonl")
    }

    /// The screen with everything scrolled above it (a panic report is longer than a screen).
    pub fn history(&self) -> String {
        tmux(&["capture-pane", "-p", "-S", "-", "-t", &self.session])
    }

    pub fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.session])
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        tmux(&args);
    }

    /// Types text literally (no key-name interpretation).
    pub fn type_text(&self, text: &str) {
        tmux(&["send-keys", "-l", "-t", &self.session, text]);
    }

    /// Waits until `pred` holds for the screen; panics with the last screen after `timeout`.
    pub fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Resizes the pane's window, as a user dragging the terminal would.
    pub fn resize(&self, width: u16, height: u16) {
        tmux(&["resize-window", "-t", &self.session, "-x", &width.to_string(), "-y", &height.to_string()]);
    }

    /// The pid of the process in the pane (`env` execs raytop, so it is raytop's).
    pub fn pid(&self) -> u32 {
        tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"]).trim().parse().unwrap()
    }

    pub fn wait_for(&self, text: &str, timeout: Duration) -> String {
        self.wait(&format!("{text:?}"), timeout, |s| s.contains(text))
    }

    /// `(pane_dead, alternate_on)`: whether raytop exited, and whether the screen is still in
    /// the alternate buffer (a terminal left unrestored).
    pub fn state(&self) -> (bool, bool) {
        let out = tmux(&["display-message", "-p", "-t", &self.session, "#{pane_dead} #{alternate_on}"]);
        let mut it = out.split_whitespace();
        (it.next() == Some("1"), it.next() == Some("1"))
    }

    /// Closes whatever is open, then quits, and waits for the exit. Escape and `q` go apart: sent
    /// in one write they read as Alt+q, which is not quit.
    pub fn close_and_quit(&self) {
        self.keys(&["Escape"]);
        std::thread::sleep(Duration::from_millis(300));
        self.keys(&["q"]);
        self.wait_exit(Duration::from_secs(5));
    }

    pub fn wait_exit(&self, timeout: Duration) {
        let start = Instant::now();
        while !self.state().0 {
            assert!(start.elapsed() < timeout, "raytop did not exit; screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        // Never a panic in Drop (it may run while a failed test unwinds): `tmux()` expects.
        if let Err(e) = Command::new("tmux").args(["kill-session", "-t", &self.session]).output() {
            eprintln!("tmux kill-session -t {}: {e}", self.session);
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_007)
        .unwrap_or(0)
}
