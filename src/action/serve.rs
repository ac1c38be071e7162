//! Redeploying a Serve application, and setting a deployment's replicas, planned before anything
//! is sent (facts §6). Pure.
//!
//! A PUT to `/api/serve/applications/` replaces the whole set of applications: the plan sends
//! every application's deployed config back, unchanged but for the one meant. A redeploy adds or
//! bumps the env var `RAYTOP_REDEPLOY_AT` in that application's `runtime_env`, which changes its
//! code version, so Serve replaces every replica of it, a share at a time. On KubeRay the same
//! change goes into the RayService's `spec.serveConfigV2` (a YAML string), so the operator applies
//! it and does not undo it later.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::FieldChange;

/// The env var raytop bumps to redeploy an application.
pub use crate::wire::dashboard::REDEPLOY_ENV as NONCE;

/// What to change in one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServeChange {
    /// Replace every replica (a new code version).
    Redeploy,
    /// A deployment's `num_replicas`.
    Replicas { deployment: String, replicas: u32 },
}

/// The planned change of one application's config.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPlan {
    pub fields: Vec<FieldChange>,
    pub next: String,
    pub warnings: Vec<String>,
}

/// Changes application `app` in a list of application configs (the `applications` of a Serve
/// config) in place. `nonce` is the new value of `RAYTOP_REDEPLOY_AT`.
pub fn change_app(apps: &mut [Value], app: &str, change: &ServeChange, nonce: &str) -> Result<AppPlan, String> {
    let names: Vec<String> = apps.iter().filter_map(|a| a["name"].as_str().map(str::to_string)).collect();
    let Some(cfg) = apps.iter_mut().find(|a| a["name"] == app) else {
        return Err(format!("no Serve application {app:?}; the applications are: {}", names.join(", ")));
    };
    let obj = cfg.as_object_mut().ok_or("the application's config is not an object")?;
    match change {
        ServeChange::Redeploy => {
            let env = obj
                .entry("runtime_env")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .ok_or("runtime_env is not an object")?
                .entry("env_vars")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .ok_or("runtime_env.env_vars is not an object")?;
            let before = env.get(NONCE).and_then(Value::as_str).map_or("unset".to_string(), str::to_string);
            env.insert(NONCE.into(), Value::String(nonce.into()));
            Ok(AppPlan {
                fields: vec![FieldChange {
                    field: "runtime_env.env_vars.RAYTOP_REDEPLOY_AT",
                    before,
                    after: nonce.into(),
                }],
                next: format!(
                    "Serve starts new replicas of {app} and stops the old ones, a share at a time; other applications are untouched"
                ),
                warnings: Vec::new(),
            })
        }
        ServeChange::Replicas { deployment, replicas } => {
            let deps = obj
                .entry("deployments")
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .ok_or("deployments is not a list")?;
            let pos = deps.iter().position(|d| d["name"] == deployment.as_str());
            let d = match pos {
                Some(i) => &mut deps[i],
                None => {
                    // A deployment the config does not mention runs with its code's defaults;
                    // naming it in the config overrides them.
                    deps.push(json!({"name": deployment}));
                    deps.last_mut().ok_or("deployments is empty")?
                }
            };
            let dobj = d.as_object_mut().ok_or("the deployment's config is not an object")?;
            if dobj.contains_key("autoscaling_config") {
                return Err(format!("{deployment} autoscales (autoscaling_config): Serve owns its replica count"));
            }
            let before = dobj.get("num_replicas").map_or("unset".to_string(), |v| v.to_string());
            if before == replicas.to_string() {
                return Err(format!("{deployment} already has num_replicas {replicas}"));
            }
            dobj.insert("num_replicas".into(), json!(replicas));
            Ok(AppPlan {
                fields: vec![FieldChange { field: "num_replicas", before, after: replicas.to_string() }],
                next: format!(
                    "Serve brings {deployment} of {app} to {replicas} replica(s) without restarting the others"
                ),
                warnings: Vec::new(),
            })
        }
    }
}

/// The body of a PUT that changes one application of what `GET /api/serve/applications/`
/// answered and sends every other one back as deployed.
pub fn plan_put(current: &Value, app: &str, change: &ServeChange, nonce: &str) -> Result<(Value, AppPlan), String> {
    let applications = current["applications"].as_object().ok_or("the dashboard lists no Serve applications")?;
    let mut apps: Vec<Value> = Vec::with_capacity(applications.len());
    for (name, a) in applications {
        let cfg = a["deployed_app_config"].clone();
        if !cfg.is_object() {
            // Deployed from Python (serve.run), not from a config: a PUT would delete it.
            return Err(format!(
                "application {name} was not deployed from a config (no deployed_app_config): a PUT would delete it"
            ));
        }
        apps.push(cfg);
    }
    let mut plan = change_app(&mut apps, app, change, nonce)?;
    let status = applications.get(app).and_then(|a| a["status"].as_str()).unwrap_or("");
    if status != "RUNNING" {
        plan.warnings.push(format!("{app} is {status} already; its last message is on the Serve view"));
    }
    let mut body = Map::new();
    for key in ["proxy_location", "target_capacity"] {
        if let Some(v) = current.get(key).filter(|v| !v.is_null()) {
            body.insert(key.into(), v.clone());
        }
    }
    // Serve ignores http_options once it runs (with a warning when they differ): send back what
    // it runs with, the fields its schema knows.
    if let Some(http) = current["http_options"].as_object() {
        let keep: Map<String, Value> = ["host", "port", "root_path", "request_timeout_s", "keep_alive_timeout_s"]
            .iter()
            .filter_map(|k| http.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_string(), v.clone())))
            .collect();
        body.insert("http_options".into(), Value::Object(keep));
    }
    body.insert("applications".into(), Value::Array(apps));
    Ok((Value::Object(body), plan))
}

/// Changes one application inside a RayService's `serveConfigV2` YAML; every other application
/// and field is kept (comments and key order are not: the YAML is written anew).
pub fn plan_service_config(
    yaml: &str,
    app: &str,
    change: &ServeChange,
    nonce: &str,
) -> Result<(String, AppPlan), String> {
    let mut doc: Value = serde_yaml_ng::from_str(yaml).map_err(|e| format!("serveConfigV2 is not YAML: {e}"))?;
    let apps =
        doc.get_mut("applications").and_then(Value::as_array_mut).ok_or("serveConfigV2 has no applications list")?;
    let plan = change_app(apps, app, change, nonce)?;
    let out = serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())?;
    Ok((out, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dashboard/v1-busy/serve_applications.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_redeploy_puts_every_app_back_and_bumps_only_the_target() {
        let mut current = fixture();
        // A second application, deployed as it is.
        let mut other = current["applications"]["demo"].clone();
        other["deployed_app_config"]["name"] = json!("side");
        other["deployed_app_config"]["route_prefix"] = json!("/side");
        current["applications"]["side"] = other;
        let (body, plan) = plan_put(&current, "demo", &ServeChange::Redeploy, "1795676200").unwrap();
        let apps = body["applications"].as_array().unwrap();
        assert_eq!(apps.len(), 2);
        let demo = apps.iter().find(|a| a["name"] == "demo").unwrap();
        let side = apps.iter().find(|a| a["name"] == "side").unwrap();
        assert_eq!(demo["runtime_env"]["env_vars"][NONCE], "1795676200");
        assert_eq!(demo["runtime_env"]["env_vars"]["PYTHONPATH"], "/work/main/lab/serve_app", "kept");
        assert_eq!(*side, current["applications"]["side"]["deployed_app_config"], "untouched");
        assert_eq!(body["proxy_location"], "EveryNode");
        assert_eq!(
            body["http_options"],
            json!({"host": "127.0.0.1", "port": 8000, "root_path": "", "keep_alive_timeout_s": 90})
        );
        assert!(body.get("target_capacity").is_none(), "null is left out");
        assert_eq!(plan.fields[0].before, "unset");
        assert!(plan.warnings.is_empty(), "demo is RUNNING");
    }

    #[test]
    fn replicas_change_one_deployment_and_unknown_names_are_refused() {
        let current = fixture();
        let change = ServeChange::Replicas { deployment: "Demo".into(), replicas: 2 };
        let (body, plan) = plan_put(&current, "demo", &change, "x").unwrap();
        assert_eq!(body["applications"][0]["deployments"][0]["num_replicas"], 2);
        assert_eq!((plan.fields[0].before.as_str(), plan.fields[0].after.as_str()), ("3", "2"));
        assert!(plan_put(&current, "nope", &change, "x").unwrap_err().contains("the applications are: demo"));
        let same = ServeChange::Replicas { deployment: "Demo".into(), replicas: 3 };
        assert!(plan_put(&current, "demo", &same, "x").unwrap_err().contains("already has num_replicas 3"));
    }

    #[test]
    fn a_serve_config_that_is_no_map_is_refused_not_a_panic() {
        for yaml in ["just a string", "- a\n- list", "applications: 3"] {
            let e = plan_service_config(yaml, "fruit", &ServeChange::Redeploy, "1").unwrap_err();
            assert!(e.contains("no applications list"), "{yaml}: {e}");
        }
    }

    #[test]
    fn a_rayservice_config_keeps_every_other_field() {
        let yaml = "proxy_location: EveryNode\nhttp_options:\n  port: 8000\napplications:\n- name: fruit\n  import_path: fruit.app\n  route_prefix: /fruit\n  runtime_env:\n    working_dir: https://example.invalid/fruit.zip\n  deployments:\n  - name: Mango\n    num_replicas: 2\n    user_config: {price: 3}\n- name: calc\n  import_path: calc.app\n  route_prefix: /calc\n";
        let (out, plan) = plan_service_config(yaml, "fruit", &ServeChange::Redeploy, "42").unwrap();
        let before: Value = serde_yaml_ng::from_str(yaml).unwrap();
        let mut after: Value = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(after["applications"][0]["runtime_env"]["env_vars"][NONCE], "42");
        // Take the nonce out again: everything else is as it was.
        after["applications"][0]["runtime_env"].as_object_mut().unwrap().remove("env_vars");
        assert_eq!(after, before);
        assert_eq!(plan.fields[0].after, "42");
    }
}
