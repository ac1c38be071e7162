//! Reading group limits and node shapes from a Ray cluster config (the YAML a Ray cluster
//! launcher or `ray start --autoscaling-config` takes). The dashboard does not serve them, and
//! without them raytop can tell that a group does not scale but not that it is at its maximum.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::model::ClusterConfig;

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    available_node_types: BTreeMap<String, NodeType>,
    #[serde(default)]
    head_node_type: Option<String>,
}

#[derive(Deserialize)]
struct NodeType {
    #[serde(default)]
    resources: BTreeMap<String, f64>,
    #[serde(default)]
    min_workers: Option<u64>,
    #[serde(default)]
    max_workers: Option<u64>,
}

pub fn parse(text: &str) -> Result<ClusterConfig, String> {
    // YAML is a superset of JSON, so one parser reads both.
    let f: File = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let mut cfg = ClusterConfig::default();
    for (name, t) in f.available_node_types {
        if f.head_node_type.as_deref() != Some(name.as_str()) {
            cfg.limits.insert(name.clone(), (t.min_workers.unwrap_or(0), t.max_workers.unwrap_or(u64::MAX)));
        }
        if !t.resources.is_empty() {
            cfg.shapes.insert(name, t.resources);
        }
    }
    Ok(cfg)
}

pub fn load(path: &Path) -> Result<ClusterConfig, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read cluster config {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("cluster config {} is not valid: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limits_and_shapes_from_yaml_and_json() {
        let yaml = "head_node_type: ray.head.default\navailable_node_types:\n  ray.head.default:\n    resources: {CPU: 1}\n    max_workers: 0\n  gpu-group:\n    resources: {CPU: 1, GPU: 1}\n    min_workers: 0\n    max_workers: 2\n";
        let c = parse(yaml).unwrap();
        assert_eq!(c.limits.get("gpu-group"), Some(&(0, 2)));
        assert!(!c.limits.contains_key("ray.head.default"));
        assert_eq!(c.shapes["gpu-group"]["GPU"], 1.0);
        let json =
            r#"{"available_node_types": {"cpu-group": {"resources": {"CPU": 2}, "min_workers": 1, "max_workers": 3}}}"#;
        assert_eq!(parse(json).unwrap().limits.get("cpu-group"), Some(&(1, 3)));
        assert!(parse("available_node_types: [1, 2]").is_err());
    }
}
