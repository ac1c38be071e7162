//! What Tune writes to disk, as raytop reads it: one `result.json` line and the newest
//! `experiment_state-*.json` (facts §5). Pure serde and parsing; no I/O.
//!
//! Python's `json` writes `NaN`, `Infinity` and `-Infinity`, which JSON does not allow; they are
//! rewritten to strings before parsing and read back as floats where a number is expected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Rewrites the bare tokens `NaN`, `Infinity`, `-Infinity` (outside strings) as JSON strings.
pub fn lenient(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string {
            if let Some(tok) = ["-Infinity", "Infinity", "NaN"].iter().find(|t| rest.starts_with(*t)) {
                out.push('"');
                out.push_str(tok);
                out.push('"');
                rest = &rest[tok.len()..];
                continue;
            }
            in_string = c == '"';
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = false;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// A number from a JSON value, including the rewritten NaN/Infinity strings.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// One line of a trial's `result.json`, reduced to what raytop uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub trial_id: String,
    pub iteration: u64,
    /// Every top-level number: the user's metrics and Tune's own (time_total_s, …).
    pub metrics: BTreeMap<String, f64>,
    pub pid: Option<u64>,
    pub node_ip: Option<String>,
    pub hostname: Option<String>,
    pub done: bool,
}

impl ResultRow {
    pub fn parse(line: &str) -> Result<ResultRow, String> {
        let v: Value = serde_json::from_str(&lenient(line)).map_err(|e| e.to_string())?;
        Ok(Self::from_value(&v))
    }

    pub fn from_value(v: &Value) -> ResultRow {
        let Some(obj) = v.as_object() else {
            return ResultRow {
                trial_id: String::new(),
                iteration: 0,
                metrics: BTreeMap::new(),
                pid: None,
                node_ip: None,
                hostname: None,
                done: false,
            };
        };
        let metrics = obj
            .iter()
            .filter(|(k, _)| k.as_str() != "pid" && k.as_str() != "timestamp")
            .filter_map(|(k, v)| match v {
                Value::Bool(_) => None,
                _ => number(v).map(|n| (k.clone(), n)),
            })
            .collect();
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        ResultRow {
            trial_id: s("trial_id").unwrap_or_default(),
            iteration: obj.get("training_iteration").and_then(Value::as_u64).unwrap_or(0),
            metrics,
            pid: obj.get("pid").and_then(Value::as_u64),
            node_ip: s("node_ip"),
            hostname: s("hostname"),
            done: obj.get("done").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// `experiment_state-*.json`: what raytop reads of it.
#[derive(Debug, Deserialize)]
struct StateFile {
    #[serde(default)]
    trial_data: Vec<(String, String)>,
    #[serde(default)]
    runner_data: RunnerData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunnerData {
    #[serde(rename = "_metric")]
    metric: Option<String>,
    #[serde(rename = "_session_str")]
    session: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrialState {
    trial_id: String,
    status: String,
    /// Tune restarts a failed trial this many times (-1: forever).
    max_failures: i64,
    /// The function or class Tune runs, which names the trial's actor (`repr_name` or class).
    trainable_name: String,
    config: Value,
    relative_logdir: String,
    experiment_tag: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrialMeta {
    start_time: Value,
    last_result: Value,
    error_filename: Option<String>,
    num_failures: u64,
}

/// One trial as the experiment state records it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialInfo {
    pub trial_id: String,
    pub status: String,
    pub config: BTreeMap<String, Value>,
    pub logdir: String,
    pub experiment_tag: String,
    pub start_time: Option<f64>,
    pub last_result: Option<ResultRow>,
    pub error_file: Option<String>,
    pub num_failures: u64,
    pub max_failures: i64,
    pub trainable_name: String,
}

/// An experiment as its newest state file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentState {
    pub name: String,
    pub dir: PathBuf,
    /// The metric the experiment optimises, when the TuneConfig named one (`runner_data._metric`).
    pub metric: Option<String>,
    pub session: Option<String>,
    pub trials: Vec<TrialInfo>,
    /// The experiment opted in to raytop's graceful stop: its folder has `raytop-stop/`, made by
    /// the Stopper in `contrib/tune-stopper` (set by the reader, not the file).
    pub graceful_stop: bool,
}

/// Whether `id` has the shape of a Tune trial id (`6d301_00011`, `abc12_00003`): it names a
/// marker file, so nothing that could leave the stop folder (`/`, `..`) passes.
pub fn is_trial_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The folder, inside an experiment's, where raytop leaves one file per trial to stop.
pub const STOP_DIR: &str = "raytop-stop";

/// Flattens nested configs (`{"model": {"lr": …}}` → `model/lr`), as Tune's progress.csv does.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}/{k}") };
                flatten(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

pub fn parse_state(name: &str, dir: &Path, text: &str) -> Result<ExperimentState, String> {
    let file: StateFile = serde_json::from_str(&lenient(text)).map_err(|e| e.to_string())?;
    let mut trials = Vec::with_capacity(file.trial_data.len());
    for (state, meta) in &file.trial_data {
        let t: TrialState = serde_json::from_str(&lenient(state)).map_err(|e| format!("trial state: {e}"))?;
        // The run metadata is optional detail: a trial whose metadata doesn't parse still counts.
        let m: TrialMeta = serde_json::from_str(&lenient(meta)).unwrap_or_default();
        let mut config = BTreeMap::new();
        flatten("", &t.config, &mut config);
        config.remove("");
        trials.push(TrialInfo {
            trial_id: t.trial_id,
            status: t.status,
            config,
            logdir: t.relative_logdir,
            experiment_tag: t.experiment_tag,
            start_time: number(&m.start_time).filter(|n| n.is_finite()),
            last_result: m.last_result.is_object().then(|| ResultRow::from_value(&m.last_result)),
            error_file: m.error_filename,
            num_failures: m.num_failures,
            max_failures: t.max_failures,
            trainable_name: t.trainable_name,
        });
    }
    Ok(ExperimentState {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        metric: file.runner_data.metric,
        session: file.runner_data.session,
        trials,
        graceful_stop: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_rewrites_tokens_outside_strings_only() {
        let s = r#"{"a": NaN, "b": -Infinity, "c": "NaN and Infinity", "d": [Infinity], "e": "q\"NaN"}"#;
        let v: Value = serde_json::from_str(&lenient(s)).unwrap();
        assert!(number(&v["a"]).unwrap().is_nan());
        assert_eq!(number(&v["b"]), Some(f64::NEG_INFINITY));
        assert_eq!(v["c"], "NaN and Infinity");
        assert_eq!(number(&v["d"][0]), Some(f64::INFINITY));
        assert_eq!(v["e"], "q\"NaN");
        assert!(matches!(lenient("{\"x\": 1}"), std::borrow::Cow::Borrowed(_)));
    }
}
