//! Parsers and model derivations over bodies captured from the project's own lab.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{lab_config, load_cluster, read};
use raytop::model::autoscaler::{DemandKind, ReportSource, VerdictState};
use raytop::model::cluster::GroupKind;
use raytop::model::{ClusterConfig, Connection};
use raytop::source::dashboard::{DashData, Endpoint, parse};

#[test]
fn every_captured_body_parses() {
    let mut parsed = 0;
    for dir in ["v1-busy", "v1-serve-failed", "v2", "gpu-physical"] {
        for (ep, file, body) in common::captured(dir) {
            parse(ep, &body).unwrap_or_else(|e| panic!("{dir}/{file} as {ep:?}: {e}"));
            parsed += 1;
        }
    }
    assert_eq!(parsed, 3 * common::FILES.len() + 6);
}

#[test]
fn v1_busy_groups_show_cpu_and_gpu_groups() {
    let c = load_cluster("v1-busy", lab_config());
    let names: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["ray.head.default", "cpu-group", "gpu-group"]);
    assert_eq!(c.groups[0].kind, GroupKind::Head);
    let gpu = &c.groups[2];
    assert_eq!(gpu.kind, GroupKind::Worker);
    assert_eq!(gpu.nodes_alive, 2);
    assert_eq!(gpu.gpu.total, 2.0);
    assert_eq!(gpu.gpu.used, 2.0, "both GPUs held by trials");
    assert_eq!((gpu.min, gpu.max), (Some(0), Some(2)));
    let cpu = &c.groups[1];
    assert_eq!(cpu.cpu.total, 2.0 * cpu.nodes_alive as f64);
    assert_eq!(c.ray_version.as_deref(), Some("2.60.0"));
    assert_eq!(c.connection, Connection::Connected);
}

#[test]
fn v1_busy_autoscaler_explains_the_gpu_group_at_max() {
    let c = load_cluster("v1-busy", lab_config());
    let a = &c.autoscaler;
    assert_eq!(a.source, ReportSource::V1);
    assert!(a.events.iter().any(|e| e.message == "Adding 2 node(s) of type gpu-group."), "{:?}", a.events);
    let pg = a.pending.iter().find(|d| d.kind == DemandKind::PlacementGroup).expect("pg demand");
    assert_eq!(pg.count, 10);
    assert_eq!(pg.strategy.as_deref(), Some("PACK"));
    let gpu = a.verdicts.iter().find(|v| v.group.as_deref() == Some("gpu-group")).unwrap();
    assert_eq!(gpu.state, VerdictState::Blocked);
    assert_eq!(gpu.text, "10 pending {GPU: 1, CPU: 1} bundles; gpu-group at max 2/2");
    let cpu = a.verdicts.iter().find(|v| v.group.as_deref() == Some("cpu-group")).unwrap();
    assert_eq!(cpu.state, VerdictState::Steady);
}

#[test]
fn without_limits_the_verdict_says_max_is_unknown() {
    let c = load_cluster("v1-busy", ClusterConfig::default());
    let gpu = c.autoscaler.verdicts.iter().find(|v| v.group.as_deref() == Some("gpu-group")).unwrap();
    assert_eq!(gpu.state, VerdictState::Blocked);
    assert!(gpu.text.contains("max unknown"), "{}", gpu.text);
}

#[test]
fn v1_text_report_matches_the_structured_one() {
    let body = read("v1-busy", "cluster_status_format1.json");
    let Ok(DashData::ClusterStatusText(text)) = parse(Endpoint::ClusterStatusText, &body) else { panic!() };
    let r = raytop::model::autoscaler::report_from_text(&text);
    assert_eq!(r.pending.len(), 1);
    assert_eq!(r.pending[0].count, 10);
    assert_eq!(r.pending[0].kind, DemandKind::PlacementGroup);
    assert_eq!(r.pending[0].shape, vec![("GPU".to_string(), 1.0), ("CPU".to_string(), 1.0)]);
}

#[test]
fn v2_reads_the_text_report_when_data_is_null() {
    let body = read("v2", "cluster_status.json");
    let Ok(DashData::ClusterStatus(cs)) = parse(Endpoint::ClusterStatus, &body) else { panic!() };
    assert!(cs.cluster_status.is_none(), "v2 serves null data");
    let c = load_cluster("v2", lab_config());
    assert_eq!(c.autoscaler.source, ReportSource::V2Text);
    assert!(c.groups.iter().any(|g| g.name == "cpu-group"));
    let kinds: Vec<(DemandKind, u64)> = c.autoscaler.pending.iter().map(|d| (d.kind, d.count)).collect();
    assert_eq!(kinds, [(DemandKind::Task, 1), (DemandKind::PlacementGroup, 9)]);
    let gpu = c.autoscaler.verdicts.iter().find(|v| v.group.as_deref() == Some("gpu-group")).unwrap();
    assert!(gpu.text.ends_with("gpu-group at max 2/2"), "{}", gpu.text);
    // v2 reports "No available node types can fulfill …" every second: folded, not 100 rows.
    let spam = c.autoscaler.events.iter().filter(|e| e.message.starts_with("No available node types")).count();
    let repeats: u32 = c.autoscaler.events.iter().map(|e| e.repeats).sum();
    assert!(spam < 20 && repeats >= 100, "{spam} rows for {repeats} events");
}

#[test]
fn serve_running_app_has_three_replicas() {
    let c = load_cluster("v1-busy", lab_config());
    let app = c.serve.applications.iter().find(|a| a.name == "demo").unwrap();
    assert_eq!(app.status, "RUNNING");
    let reps: Vec<&str> = app.deployments.iter().flat_map(|d| &d.replicas).map(|r| r.state.as_str()).collect();
    assert_eq!(reps, ["RUNNING"; 3]);
}

#[test]
fn serve_failed_app_carries_a_readable_message() {
    let c = load_cluster("v1-serve-failed", lab_config());
    let failed: Vec<_> = c.serve.applications.iter().filter(|a| a.status == "DEPLOY_FAILED").collect();
    assert!(!failed.is_empty(), "{:?}", c.serve.applications.iter().map(|a| &a.status).collect::<Vec<_>>());
    assert!(failed[0].message.len() > 20, "message: {:?}", failed[0].message);
}

/// A captured answer of `auth/`: its status (`<name>.status`) and body (`<name>.json`).
fn captured_answer(name: &str) -> (u16, Vec<u8>) {
    let status = String::from_utf8(read("auth", &format!("{name}.status"))).unwrap();
    (status.trim().parse().unwrap(), read("auth", &format!("{name}.json")))
}

/// The token-auth lab's answers, as captured: without a token every endpoint is Ray's 401
/// (`version`, `v0_nodes` and `cluster_status` were captured, the same words each time), with a
/// wrong one its 403. Served to raytop, they are its message: the status, the fix, and Ray's words.
#[test]
fn the_captured_401_and_403_are_raytop_s_message_with_the_fix() {
    assert_eq!(captured_answer("version_noauth").0, 401);
    // Every endpoint refused with the same captured answer (Ray checks the token first).
    let refusing = |name: &str| -> std::collections::HashMap<String, (u16, Vec<u8>)> {
        common::FILES.iter().map(|(ep, _)| (ep.path().to_string(), captured_answer(name))).collect()
    };
    let mut routes = refusing("version_noauth");
    routes.insert(Endpoint::ClusterStatus.path().to_string(), captured_answer("cluster_status_noauth"));
    let server = common::http::serve(routes);
    let (code, json) = common::snapshot(&["--dashboard", &server.url]);
    assert_eq!(code, 2, "the dashboard refused everything: {json}");
    let conn = &json["clusters"][0]["connection"];
    assert_eq!(conn["state"], "unauthorized", "{conn}");
    assert_eq!(
        conn["message"],
        "401 from the dashboard: the dashboard requires a token: pass --token, set RAY_AUTH_TOKEN, or point \
         --token-file at the cluster's auth_token (Unauthorized: Missing authentication token)"
    );

    assert_eq!(captured_answer("version_badtoken").0, 403);
    let server = common::http::serve(refusing("version_badtoken"));
    let (code, json) = common::snapshot(&["--dashboard", &server.url, "--token", "not-this-cluster-s"]);
    assert_eq!(code, 2, "{json}");
    let conn = &json["clusters"][0]["connection"];
    assert_eq!(conn["state"], "unauthorized", "{conn}");
    assert_eq!(
        conn["message"],
        "403 from the dashboard: the dashboard rejected the token from --token: check it is this cluster's \
         (Forbidden: Invalid authentication token)"
    );
}

#[test]
fn malformed_and_wrong_shapes_are_errors_not_panics() {
    let body = read("v1-busy", "nodes_summary.json");
    assert!(parse(Endpoint::Nodes, &body[..body.len() / 2]).is_err());
    assert!(parse(Endpoint::Serve, b"[1,2,3]").is_err());
    assert!(parse(Endpoint::Nodes, br#"{"result": false, "msg": "boom", "data": null}"#).is_err());
    assert!(parse(Endpoint::Version, b"").is_err());
}

/// Captured from the lab after a trial's worker was killed: `/api/v0/cluster_events` answered 500
/// ("Server got itself in trouble"), `/events` the same events in its own shape. Served to raytop
/// in place of the lab's cluster events, the 500 sends it to `/events`, and the autoscaler's
/// decisions are on screen from there with no error shown; without `/events`, the error is.
#[test]
fn legacy_events_read_when_cluster_events_is_broken() {
    let dir = common::fixture_dir("events-legacy");
    let broken = std::fs::read(dir.join("cluster_events_500.txt")).unwrap();
    let legacy = std::fs::read(dir.join("events.json")).unwrap();
    let mut routes: std::collections::HashMap<String, (u16, Vec<u8>)> =
        common::captured("v1-busy").into_iter().map(|(ep, _, body)| (ep.path().to_string(), (200, body))).collect();
    routes.insert(Endpoint::ClusterEvents.path().to_string(), (500, broken));
    let without = common::http::serve(routes.clone());
    routes.insert("/events".into(), (200, legacy.clone()));
    let with = common::http::serve(routes);
    let autoscaler_events = |json: &serde_json::Value| -> Vec<String> {
        json["clusters"][0]["autoscaler"]["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str().map(String::from))
            .collect()
    };
    let (code, json) = common::snapshot(&["--dashboard", &with.url]);
    assert_eq!(code, 0, "{json}");
    let freshness = &json["clusters"][0]["freshness"]["cluster_events"];
    assert!(freshness["last_error"].is_null(), "the 500 is not an error when /events answers: {freshness}");
    let shown = autoscaler_events(&json);
    assert!(shown.iter().any(|m| m == "Adding 1 node(s) of type gpu-group."), "{shown:?}");
    assert_eq!(shown.iter().filter(|m| m.starts_with("Adding ")).count(), 3, "{shown:?}");
    let (_, json) = common::snapshot(&["--dashboard", &without.url]);
    let freshness = &json["clusters"][0]["freshness"]["cluster_events"];
    assert!(
        freshness["last_error"].as_str().is_some_and(|e| e.starts_with("HTTP 404 from /events")),
        "the fallback was asked, and its failure named: {freshness}"
    );
    assert!(autoscaler_events(&json).is_empty(), "the decisions came from /events: {json}");
    let events = raytop::wire::dashboard::parse_legacy_events(&legacy).unwrap();
    assert!(
        events.iter().any(|e| e.source_type == "AUTOSCALER" && e.message.starts_with("Adding 1 node(s) of type")),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e.source_type == "RAYLET"), "{events:?}");
    assert!(events.iter().all(|e| !e.time.is_empty() && !e.event_id.is_empty()), "{events:?}");
}

/// A cluster fed only the given bodies, in order, each as the poller would hand it over, a second
/// apart.
fn fed(bodies: &[(Endpoint, Vec<u8>)]) -> raytop::model::Dashboard {
    let mut c = raytop::model::Dashboard::new(
        "lab".into(),
        raytop::msg::DashKey::Url("http://127.0.0.1:8265".into()),
        "http://127.0.0.1:8265".into(),
        lab_config(),
    );
    for (i, (ep, body)) in bodies.iter().enumerate() {
        let data = parse(*ep, body).unwrap();
        c.apply(raytop::msg::DashUpdate::Fetched {
            endpoint: *ep,
            at: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000 + i as u64),
            bytes: body.len(),
            data: Box::new(data),
        });
    }
    c
}

fn usage_by_node(c: &raytop::model::Dashboard) -> Vec<(String, f64, f64, f64)> {
    let mut out: Vec<_> = c
        .groups
        .iter()
        .flat_map(|g| &g.nodes)
        .map(|n| (n.node_id.clone(), n.cpu.used, n.gpu.used, n.memory.total))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_autoscaler_report_gives_the_same_usage_per_node_as_the_summary_text() {
    for dir in ["v1-busy", "v3-history", "gpu-physical"] {
        let summary = read(dir, "nodes_summary.json");
        let report = read(dir, "cluster_status.json");
        let from_text = fed(&[(Endpoint::Nodes, summary.clone())]);
        let from_report = fed(&[(Endpoint::Nodes, summary), (Endpoint::ClusterStatus, report)]);
        let (text, exact) = (usage_by_node(&from_text), usage_by_node(&from_report));
        assert_eq!((text.len(), exact.len()), (4, 4), "{dir}: every node from both sources");
        for (t, e) in text.iter().zip(&exact) {
            assert_eq!(t.0, e.0);
            // The text's numbers go through its unit parser; equal to the last bits.
            let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
            assert!(close(t.1, e.1) && close(t.2, e.2), "{dir}: CPU and GPU, captured at one moment: {t:?} vs {e:?}");
            // The text rounds memory to two decimals of a GiB ("16.03GiB"); the report is exact.
            assert!((t.3 - e.3).abs() <= 0.005 * (1u64 << 30) as f64, "{dir}: memory {} vs {}", t.3, e.3);
        }
    }
}

/// The captured report with the CPU node's CPU usage set to `used` of 2: a value the summary's
/// text does not hold, so which source is on screen shows. Returns the node's id and the body.
fn report_with_cpu_node_using(used: f64) -> (&'static str, Vec<u8>) {
    let mut report: serde_json::Value = serde_json::from_slice(&read("v3-history", "cluster_status.json")).unwrap();
    let cpu_node = "fffffffffffffffffffffffffffffffffffffffffffffffffff00001";
    report["data"]["clusterStatus"]["loadMetricsReport"]["usageByNode"][cpu_node]["CPU"] =
        serde_json::json!([used, 2.0]);
    (cpu_node, serde_json::to_vec(&report).unwrap())
}

#[test]
fn newer_usage_in_the_report_replaces_the_summary_s() {
    let summary = read("v3-history", "nodes_summary.json");
    let (cpu_node, report) = report_with_cpu_node_using(1.5);
    let c = fed(&[(Endpoint::Nodes, summary), (Endpoint::ClusterStatus, report)]);
    let cpu = c.groups.iter().find(|g| g.name == "cpu-group").unwrap();
    assert_eq!(cpu.nodes[0].node_id, cpu_node);
    assert_eq!((cpu.nodes[0].cpu.used, cpu.nodes[0].cpu.total), (1.5, 2.0));
    assert_eq!(cpu.cpu.used, 1.5, "the group adds up its nodes' usage");
    assert!(cpu.nodes[0].start_time.is_some(), "the summary still brings uptime");
}

#[test]
fn the_report_alone_populates_the_groups_and_a_node_that_joined_since_the_summary_shows_at_once() {
    let report = read("v3-history", "cluster_status.json");
    let alone = fed(&[(Endpoint::ClusterStatus, report.clone())]);
    let names: Vec<&str> = alone.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["ray.head.default", "cpu-group", "gpu-group"]);
    assert_eq!(alone.groups[0].kind, GroupKind::Head);
    let head = &alone.groups[0].nodes[0];
    assert_eq!((head.ip.as_str(), head.is_head, head.alive), ("192.0.2.2", true, true));
    assert_eq!(alone.groups[2].gpu.used, 2.0, "both GPUs held by trials");
    assert!(alone.has_data(), "the first frame need not wait for the summary");

    // The summary was taken before the last GPU node joined.
    let joined = "fffffffffffffffffffffffffffffffffffffffffffffffffff00003";
    let mut summary: serde_json::Value = serde_json::from_slice(&read("v3-history", "nodes_summary.json")).unwrap();
    summary["data"]["summary"].as_array_mut().unwrap().retain(|s| s["raylet"]["nodeId"] != joined);
    let c = fed(&[(Endpoint::Nodes, serde_json::to_vec(&summary).unwrap()), (Endpoint::ClusterStatus, report)]);
    let gpu = c.groups.iter().find(|g| g.name == "gpu-group").unwrap();
    assert_eq!(gpu.nodes_alive, 2);
    let new = gpu.nodes.iter().find(|n| n.node_id == joined).unwrap();
    assert_eq!((new.gpu.used, new.gpu.total, new.alive), (1.0, 1.0, true));
    assert_eq!(new.start_time, None, "uptime comes with the next summary");
}

#[test]
fn a_report_older_than_the_summary_gives_way_to_the_summary_s_usage() {
    // The report answered once and then stopped; the summary that came after it is newer.
    let summary = read("v3-history", "nodes_summary.json");
    let (_, report) = report_with_cpu_node_using(1.5);
    let older = fed(&[(Endpoint::ClusterStatus, report.clone()), (Endpoint::Nodes, summary.clone())]);
    let text_only = fed(&[(Endpoint::Nodes, summary.clone())]);
    assert_eq!(usage_by_node(&older), usage_by_node(&text_only));
    let newer = fed(&[(Endpoint::Nodes, summary), (Endpoint::ClusterStatus, report)]);
    let cpu = newer.groups.iter().find(|g| g.name == "cpu-group").unwrap();
    assert_eq!(cpu.nodes[0].cpu.used, 1.5, "a newer report wins again");
}
