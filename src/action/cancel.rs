//! Cancelling one Tune trial. Ray has no API for it (facts §5.4); two ways work:
//! - graceful, for experiments that run raytop's Stopper (`contrib/tune-stopper`): a marker file
//!   in the experiment's `raytop-stop/` folder; the trial stops at its next report, TERMINATED;
//! - otherwise SIGTERM to the trial's worker process, delivered by a Ray job pinned to the trial's
//!   node (`entrypoint_resources {"node:<ip>": 0.001}`); Tune marks the trial ERROR and the sweep
//!   goes on (test-systems §2).
//!
//! The job's command is built from fixed parts and the numeric pid only, and it checks that the
//! pid is still a Ray worker before signalling it. The executor first checks that the pid belongs
//! to a live actor on the trial's node.

use std::path::PathBuf;

use serde::Serialize;

use super::FieldChange;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelRequest {
    /// The dashboard the job goes to, in words.
    pub dashboard: String,
    #[serde(skip)]
    pub key: crate::msg::DashKey,
    pub experiment: String,
    pub experiment_dir: PathBuf,
    pub trial_id: String,
    /// The trial's folder, inside the experiment's: its last result is read again before sending.
    pub logdir: String,
    /// The function or class the trial runs: its actor's `repr_name` or class.
    pub trainable: String,
    /// The trial's worker, from its last result.
    pub pid: u64,
    pub node_ip: String,
    /// Leave a marker for raytop's Stopper instead of signalling.
    pub graceful: bool,
    /// From the trial's state: Tune may restart it after a failure.
    pub max_failures: i64,
}

/// The job entrypoint that ends the trial's worker: only the pid varies, and it must be a number.
pub fn kill_entrypoint(pid: u64) -> String {
    format!(
        "sh -c 'if grep -q ray:: /proc/{pid}/cmdline 2>/dev/null; then kill -TERM {pid} && echo raytop: SIGTERM sent to \
         {pid}; else echo raytop: pid {pid} is no Ray worker now, nothing signalled; exit 3; fi'"
    )
}

/// The marker file for the Stopper.
pub fn marker_path(r: &CancelRequest) -> PathBuf {
    r.experiment_dir.join(crate::wire::tune::STOP_DIR).join(&r.trial_id)
}

/// What the confirmation shows.
pub fn plan(r: &CancelRequest) -> (Vec<FieldChange>, String, Vec<String>) {
    let (after, next) = if r.graceful {
        (
            "TERMINATED".to_string(),
            format!(
                "raytop writes {}; the experiment's Stopper ends the trial at its next report, with its checkpoint",
                marker_path(r).display()
            ),
        )
    } else {
        (
            "ERROR".to_string(),
            format!(
                "a Ray job pinned to node:{} sends SIGTERM to pid {} if it is still a Ray worker; Tune marks the trial \
                 ERROR and the sweep goes on",
                r.node_ip, r.pid
            ),
        )
    };
    let fields = vec![FieldChange { field: "status", before: "RUNNING".into(), after }];
    let mut warnings = Vec::new();
    if r.max_failures != 0 && !r.graceful {
        let times =
            if r.max_failures < 0 { "without limit".to_string() } else { format!("up to {} time(s)", r.max_failures) };
        warnings.push(format!(
            "the experiment's max_failures restarts failed trials {times}: Tune may start this one again"
        ));
    }
    (fields, next, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entrypoint_has_only_the_pid_in_it_and_checks_it_first() {
        let e = kill_entrypoint(4242);
        assert_eq!(
            e,
            "sh -c 'if grep -q ray:: /proc/4242/cmdline 2>/dev/null; then kill -TERM 4242 && echo raytop: SIGTERM sent \
             to 4242; else echo raytop: pid 4242 is no Ray worker now, nothing signalled; exit 3; fi'"
        );
    }

    #[test]
    fn a_retrying_experiment_is_warned_about() {
        let r = CancelRequest {
            dashboard: "lab".into(),
            key: crate::msg::DashKey::Url("http://x".into()),
            experiment: "e".into(),
            experiment_dir: "/r/e".into(),
            trial_id: "t1".into(),
            logdir: "t1_dir".into(),
            trainable: "train_fn".into(),
            pid: 1,
            node_ip: "10.0.0.1".into(),
            graceful: false,
            max_failures: 2,
        };
        let (fields, next, warnings) = plan(&r);
        assert_eq!((fields[0].before.as_str(), fields[0].after.as_str()), ("RUNNING", "ERROR"));
        assert!(next.contains("node:10.0.0.1"), "{next}");
        assert_eq!(
            warnings,
            ["the experiment's max_failures restarts failed trials up to 2 time(s): Tune may start this one again"]
        );
        let (fields, next, _) = plan(&CancelRequest { graceful: true, ..r });
        assert_eq!(fields[0].after, "TERMINATED");
        assert!(next.contains("/r/e/raytop-stop/t1"), "{next}");
    }
}
