//! The Tune source and leaderboard model over real experiment folders (tests/fixtures/tune/,
//! made by lab/tune_fixtures.py on Ray 2.60).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use raytop::model::tune::{Experiment, Mode, Tune};
use raytop::msg::TuneUpdate;
use raytop::source::tune::{Scanner, newest_state_file};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune")
}

fn load(roots: Vec<PathBuf>, overrides: BTreeMap<String, Mode>) -> (Tune, Scanner) {
    let mut scanner = Scanner::new(roots);
    let mut tune = Tune::with_overrides(overrides);
    for u in scanner.pass() {
        tune.apply(u);
    }
    (tune, scanner)
}

/// How many points of its metric a trial of experiment `name` holds.
fn history_len(t: &Tune, name: &str, trial: &str) -> usize {
    let e = exp(t, name);
    e.history(e.trials.iter().find(|tr| tr.trial_id == trial).unwrap()).len()
}

fn exp<'a>(t: &'a Tune, name: &str) -> &'a Experiment {
    t.experiments.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no experiment {name}"))
}

fn best_by_state(name: &str, metric: &str, mode: Mode) -> String {
    common::best_by_state(&fixtures().join(name), metric, mode == Mode::Max).unwrap()
}

#[test]
fn grid_sweep_ranks_by_the_recorded_metric_with_mode_from_asha() {
    let (t, _) = load(vec![fixtures()], BTreeMap::new());
    let e = exp(&t, "grid");
    assert_eq!(e.trials.len(), 6);
    assert_eq!(e.metric.as_deref(), Some("score"));
    assert_eq!(e.mode, Mode::Max);
    assert!(e.mode_inferred);
    assert!(e.mode_source.starts_with("inferred: ASHA kept trials with higher score"), "{}", e.mode_source);
    assert_eq!(e.best_trial.as_deref(), Some(best_by_state("grid", "score", Mode::Max).as_str()));
    let cut: Vec<_> = e.trials.iter().filter(|tr| tr.stopped_early).collect();
    assert!(!cut.is_empty() && cut.iter().all(|tr| tr.iterations < 8 && tr.rung.is_some()));
    assert!(e.trials.iter().all(|tr| tr.trial_id.len() == 11 && tr.trial_id.as_bytes()[5] == b'_'));
    assert!(e.params.len() >= 2, "{:?}", e.params);
}

#[test]
fn hex_ids_and_mode_from_the_name() {
    let (t, _) = load(vec![fixtures().join("hexids")], BTreeMap::new());
    let e = exp(&t, "hexids");
    assert_eq!(e.trials.len(), 4);
    assert!(e.trials.iter().all(|tr| tr.trial_id.len() == 8 && tr.trial_id.chars().all(|c| c.is_ascii_hexdigit())));
    assert_eq!(e.mode, Mode::Min);
    assert_eq!(e.mode_source, "inferred from the name \"loss\"");
    assert_eq!(e.best_trial.as_deref(), Some(best_by_state("hexids", "loss", Mode::Min).as_str()));
}

#[test]
fn errored_trial_shows_its_exception_and_metric_is_inferred_when_not_recorded() {
    let (t, _) = load(vec![fixtures()], BTreeMap::new());
    let e = exp(&t, "errored");
    assert!(e.metric_source.starts_with("not recorded"), "{}", e.metric_source);
    let err = e.trials.iter().find(|tr| tr.status == "ERROR").unwrap();
    let text = err.error.as_deref().unwrap();
    assert!(!text.contains('\u{1b}'), "ANSI stripped");
    assert_eq!(raytop::model::tune::error_line(text), "ValueError: fixture failure at iteration 3 (seed=1)");
}

#[test]
fn nan_and_infinity_are_read_and_kept_out_of_best() {
    let (t, _) = load(vec![fixtures()], BTreeMap::new());
    let e = exp(&t, "nanmetric");
    assert_eq!(e.trials.len(), 3);
    let nan_trial = e.trials.iter().find(|tr| tr.config.get("kind").and_then(|v| v.as_str()) == Some("nan")).unwrap();
    assert!(nan_trial.last.unwrap().is_nan(), "the last reported value is NaN");
    assert!(nan_trial.best.unwrap().is_finite());
    assert!(e.history(nan_trial).iter().any(|p| p.1.is_nan()));
    let inf_trial = e.trials.iter().find(|tr| tr.config.get("kind").and_then(|v| v.as_str()) == Some("inf")).unwrap();
    assert!(e.history(inf_trial).iter().any(|p| p.1.is_infinite()));
    assert!(inf_trial.best.unwrap().is_finite(), "infinity is not a best loss");
}

#[test]
fn user_mode_overrides_inference() {
    let (t, _) = load(vec![fixtures().join("grid")], BTreeMap::from([("grid".to_string(), Mode::Min)]));
    let e = exp(&t, "grid");
    assert_eq!((e.mode, e.mode_inferred), (Mode::Min, false));
    assert_eq!(e.mode_source, "set with --tune-mode");
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.path().is_dir() { copy_dir(&e.path(), &to) } else { std::fs::copy(e.path(), to).map(|_| ()).unwrap() }
    }
}

#[test]
fn half_written_line_waits_and_refresh_reads_only_what_was_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("partial");
    copy_dir(&fixtures().join("partial"), &dir);
    let (mut t, mut scanner) = load(vec![dir.clone()], BTreeMap::new());
    let grid_full = load(vec![fixtures().join("grid")], BTreeMap::new()).0;
    // The trial whose result.json ends mid-line.
    let cut_dir = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| std::fs::read(e.path().join("result.json")).is_ok_and(|b| b.last() != Some(&b'\n')))
        .unwrap();
    let cut = exp(&t, "partial")
        .trials
        .iter()
        .find(|tr| tr.logdir == cut_dir.file_name().to_string_lossy())
        .unwrap()
        .trial_id
        .clone();
    let full_len = history_len(&grid_full, "grid", &cut);
    let part_len = history_len(&t, "partial", &cut);
    assert_eq!(part_len + 1, full_len, "the half-written last line is not read yet");

    // Nothing changed: a pass reads nothing.
    let pass_bytes = |updates: &[TuneUpdate]| {
        updates.iter().find_map(|u| if let TuneUpdate::Pass { bytes, .. } = u { Some(*bytes) } else { None }).unwrap()
    };
    let updates = scanner.pass();
    assert_eq!(pass_bytes(&updates), 0);

    // The writer finishes the line: exactly the appended bytes are read, and the row appears.
    let trial_dir =
        std::fs::read_dir(&dir).unwrap().flatten().find(|e| e.file_name().to_string_lossy().contains(&cut)).unwrap();
    let full = std::fs::read(fixtures().join("grid").join(trial_dir.file_name()).join("result.json")).unwrap();
    let path = trial_dir.path().join("result.json");
    let have = std::fs::metadata(&path).unwrap().len() as usize;
    let rest = &full[have..];
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(rest).unwrap();
    let updates = scanner.pass();
    assert_eq!(pass_bytes(&updates), rest.len() as u64);
    for u in updates {
        t.apply(u);
    }
    let now_len = history_len(&t, "partial", &cut);
    assert_eq!(now_len, full_len);
}

#[test]
fn a_torn_state_file_is_a_problem_not_a_crash_and_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hexids");
    copy_dir(&fixtures().join("hexids"), &dir);
    let state = newest_state_file(&dir).unwrap();
    let text = std::fs::read(&state).unwrap();
    std::fs::write(&state, &text[..text.len() / 3]).unwrap();
    let (t, mut scanner) = load(vec![dir.clone()], BTreeMap::new());
    assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
    std::fs::write(&state, &text).unwrap();
    let mut t = t;
    for u in scanner.pass() {
        t.apply(u);
    }
    assert_eq!(exp(&t, "hexids").trials.iter().filter(|tr| tr.status == "TERMINATED").count(), 4);
}

#[test]
fn a_missing_tune_dir_is_said_once_and_picked_up_when_it_appears() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("later");
    let (mut t, mut scanner) = load(vec![dir.clone()], BTreeMap::new());
    assert_eq!(t.problems.len(), 1);
    assert!(t.problems[0].contains("no such directory"), "{:?}", t.problems);
    for u in scanner.pass() {
        t.apply(u);
    }
    assert_eq!(t.problems.len(), 1, "said once");
    copy_dir(&fixtures().join("hexids"), &dir);
    for u in scanner.pass() {
        t.apply(u);
    }
    assert_eq!(exp(&t, "later").trials.len(), 4);
}

/// Facts §5.2b: the state file can keep a dead trial RUNNING. Here the errored fixture's state is
/// rewritten to say RUNNING for the trial whose folder holds `error.txt` (as Ray 2.60 left it after
/// a SIGTERM); raytop takes the folder's word, and a trial that reports again after its error (a
/// retry) is RUNNING again.
#[test]
fn a_trial_the_state_keeps_running_ends_when_its_folder_holds_a_newer_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("errored");
    copy_dir(&fixtures().join("errored"), &dir);
    let state_path = newest_state_file(&dir).unwrap();
    let text = std::fs::read_to_string(&state_path).unwrap();
    let stale = text.replacen(r#"\"status\": \"ERROR\""#, r#"\"status\": \"RUNNING\""#, 1);
    assert_ne!(stale, text, "the fixture has an ERROR trial");
    std::fs::write(&state_path, stale).unwrap();
    let trial_dir =
        std::fs::read_dir(&dir).unwrap().flatten().find(|e| e.path().join("error.txt").exists()).unwrap().path();
    // The error came after the last result, as it does when the worker is killed.
    let later = std::time::SystemTime::now();
    std::fs::File::options().append(true).open(trial_dir.join("error.txt")).unwrap().set_modified(later).unwrap();
    std::fs::File::options()
        .append(true)
        .open(trial_dir.join("result.json"))
        .unwrap()
        .set_modified(later - std::time::Duration::from_secs(60))
        .unwrap();
    let (mut tune, mut scanner) = load(vec![dir.clone()], BTreeMap::new());
    let e = exp(&tune, "errored");
    let t = e.trials.iter().find(|t| t.error.is_some()).expect("the error file was read");
    assert_eq!((t.status.as_str(), t.ended_per_folder), ("ERROR", true), "{t:?}");
    let id = t.trial_id.clone();
    // A retry reports again: RUNNING after all.
    let line = format!("{{\"trial_id\": \"{id}\", \"training_iteration\": 9, \"score\": 1.0}}\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(trial_dir.join("result.json"))
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    for u in scanner.pass() {
        tune.apply(u);
    }
    let t = exp(&tune, "errored").trials.iter().find(|t| t.trial_id == id).unwrap();
    assert_eq!((t.status.as_str(), t.ended_per_folder), ("RUNNING", false), "{t:?}");
}

/// A trial folder deleted while raytop reads the experiment (a user cleaning up): no crash, no
/// problem repeated each pass, and the trial keeps what was read of it.
#[test]
fn a_deleted_trial_folder_keeps_what_was_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("grid");
    copy_dir(&fixtures().join("grid"), &dir);
    let (mut t, mut scanner) = load(vec![dir.clone()], BTreeMap::new());
    let victim = exp(&t, "grid").trials[0].clone();
    assert!(victim.iterations > 0);
    std::fs::remove_dir_all(dir.join(&victim.logdir)).unwrap();
    for _ in 0..3 {
        for u in scanner.pass() {
            t.apply(u);
        }
    }
    let after = exp(&t, "grid").trials.iter().find(|tr| tr.trial_id == victim.trial_id).unwrap();
    assert_eq!((after.iterations, after.best), (victim.iterations, victim.best));
    assert!(t.problems.is_empty(), "{:?}", t.problems);
}

/// A sweep run again under the same name into the same storage path, without resume, leaves the
/// earlier run's trial folders beside the new ones. Built from two real experiments: `grid`'s
/// folders and state (the earlier run), then `hexids`' folders and its newer state (this run).
/// The newest state names this run's trials; the other folders are shown as an earlier run's,
/// never RUNNING, and count neither for the best nor the totals.
#[test]
fn an_earlier_run_in_the_same_folder_is_shown_apart_never_running() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sweep");
    copy_dir(&fixtures().join("grid"), &dir);
    copy_dir(&fixtures().join("hexids"), &dir);
    assert!(newest_state_file(&dir).unwrap().ends_with("experiment_state-2026-11-26_07-17-49.json"));
    let (t, _) = load(vec![root.path().to_path_buf()], BTreeMap::new());
    let e = exp(&t, "sweep");
    let (alone, _) = load(vec![fixtures().join("hexids")], BTreeMap::new());
    let current = exp(&alone, "hexids");
    let status = |e: &Experiment| -> BTreeMap<String, String> {
        e.trials.iter().map(|tr| (tr.trial_id.clone(), tr.status.clone())).collect()
    };
    let earlier: Vec<_> = e.trials.iter().filter(|tr| tr.status == raytop::model::tune::EARLIER_RUN).collect();
    // Positive control: the stray folders were read (their results are in), so they would have
    // been taken for this run's RUNNING trials.
    assert_eq!(earlier.len(), 6, "{:?}", status(e));
    assert!(earlier.iter().all(|tr| tr.iterations > 0 && tr.trial_id.len() == 11), "{earlier:?}");
    let this_run: BTreeMap<_, _> =
        status(e).into_iter().filter(|(_, s)| s != raytop::model::tune::EARLIER_RUN).collect();
    assert_eq!(this_run, status(current), "this run's trials, as the newest state says");
    assert!(e.trials.iter().all(|tr| tr.status != "RUNNING" || status(current)[&tr.trial_id] == "RUNNING"));
    assert_eq!(e.best_trial, current.best_trial, "the best is this run's");
    assert_eq!((e.mode, e.rungs.clone()), (current.mode, current.rungs.clone()));
}
