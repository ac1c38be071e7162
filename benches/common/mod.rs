//! Large inputs shared by the benches, built from the lab's captures: a dashboard node list of
//! any size, and a Tune experiment of 5,000 trials on disk.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use raytop::source::tune::newest_state_file;
use serde_json::Value;

/// The lab's captured `/nodes?view=summary` with its worker entry repeated `n` times, over eight
/// groups.
pub fn big_nodes_body(n: usize) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dashboard/v1-busy/nodes_summary.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let data = v["data"].as_object_mut().unwrap();
    let template = data["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| !s["raylet"]["isHeadNode"].as_bool().unwrap())
        .unwrap()
        .clone();
    let usage = data["nodeLogicalResources"].as_object().unwrap().values().next().unwrap().clone();
    let mut summary = Vec::with_capacity(n);
    let mut logical = serde_json::Map::new();
    for i in 0..n {
        let mut node = template.clone();
        let id = format!("{i:056x}");
        node["raylet"]["nodeId"] = Value::String(id.clone());
        node["raylet"]["nodeTypeName"] = Value::String(format!("group-{}", i % 8));
        summary.push(node);
        logical.insert(id, usage.clone());
    }
    data.insert("summary".into(), Value::Array(summary));
    data.insert("nodeLogicalResources".into(), Value::Object(logical));
    serde_json::to_vec(&v).unwrap()
}

pub const TRIALS: usize = 5000;
/// Of those, the ones RUNNING (the first ones); they are the ones that report.
pub const LIVE_TRIALS: usize = TRIALS / 10;

/// Writes a 5,000-trial experiment built from the grid fixture; returns the trial dir names.
pub fn make_experiment(dir: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tune/grid");
    let state_path = newest_state_file(&src).unwrap();
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let pairs = state["trial_data"].as_array().unwrap();
    let mut trial_data = Vec::with_capacity(TRIALS);
    let mut names = Vec::with_capacity(TRIALS);
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..TRIALS {
        let pair = &pairs[i % pairs.len()];
        let mut t: Value = serde_json::from_str(pair[0].as_str().unwrap()).unwrap();
        let old_dir = t["relative_logdir"].as_str().unwrap().to_string();
        let id = format!("bench_{i:05}");
        let logdir = format!("trial_{id}");
        t["trial_id"] = Value::String(id.clone());
        t["relative_logdir"] = Value::String(logdir.clone());
        // A sweep of this size runs a tenth of its trials at once; the rest are over.
        if i < LIVE_TRIALS {
            t["status"] = Value::String("RUNNING".into());
        }
        trial_data.push(Value::Array(vec![Value::String(t.to_string()), pair[1].clone()]));
        let results = std::fs::read_to_string(src.join(&old_dir).join("result.json")).unwrap();
        let results = results.replace(t["trial_id"].as_str().unwrap_or_default(), &id);
        std::fs::create_dir_all(dir.join(&logdir)).unwrap();
        std::fs::write(dir.join(&logdir).join("result.json"), results).unwrap();
        names.push(logdir);
    }
    let mut state = state.clone();
    state["trial_data"] = Value::Array(trial_data);
    std::fs::write(dir.join(state_path.file_name().unwrap()), state.to_string()).unwrap();
    names
}
