//! Prometheus's HTTP API answers (`/api/v1/query_range`): a matrix of labelled series. Values
//! come as strings ("1.5", "NaN", "+Inf"), timestamps as seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// One series of a range query: its labels and (unix seconds, value) points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// The answer to one range query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub query: String,
    pub start: f64,
    pub end: f64,
    pub step: u64,
    pub series: Vec<Series>,
}

/// The series of a `query_range` answer; an error answer becomes its message.
pub fn parse_matrix(body: &[u8]) -> Result<Vec<Series>, String> {
    let e: Envelope = serde_json::from_slice(body).map_err(|e| format!("not a Prometheus answer: {e}"))?;
    if e.status != "success" {
        return Err(e.error.unwrap_or_else(|| format!("status {}", e.status)));
    }
    let data = e.data.ok_or("a success without data")?;
    if data.result_type != "matrix" {
        return Err(format!("expected a matrix, got a {}", data.result_type));
    }
    Ok(data
        .result
        .into_iter()
        .map(|r| Series {
            labels: r.metric,
            points: r.values.into_iter().map(|(t, v)| (t, v.parse::<f64>().unwrap_or(f64::NAN))).collect(),
        })
        .collect())
}

/// Points per series a range query asks for: the step is the window divided by this.
pub const POINTS: u64 = 120;

/// What the Serve view shows per application, per deployment and per replica, as Ray 2.60
/// exports it (names read from the lab's Prometheus and from Ray's `replica.py`).
pub const SERVE_QUERIES: [(&str, &str); 9] = [
    ("requests_per_s", "sum by (application) (rate(ray_serve_num_http_requests_total[1m]))"),
    ("errors_per_s", "sum by (application) (rate(ray_serve_num_http_requests_total{status_code=~\"[45]..\"}[1m]))"),
    (
        "p50_ms",
        "histogram_quantile(0.5, sum by (application, le) (rate(ray_serve_http_request_latency_ms_bucket[1m])))",
    ),
    (
        "p99_ms",
        "histogram_quantile(0.99, sum by (application, le) (rate(ray_serve_http_request_latency_ms_bucket[1m])))",
    ),
    ("replicas_healthy", "sum by (application) (ray_serve_deployment_replica_healthy)"),
    ("dep_requests_per_s", "sum by (application, deployment) (rate(ray_serve_deployment_request_counter_total[1m]))"),
    ("dep_errors_per_s", "sum by (application, deployment) (rate(ray_serve_deployment_error_counter_total[1m]))"),
    (
        "dep_p99_ms",
        "histogram_quantile(0.99, sum by (application, deployment, le) (rate(ray_serve_deployment_processing_latency_ms_bucket[1m])))",
    ),
    // The controller sets 1 or 0 per replica after each health check; a killed replica's series
    // drops to 0, then ends when the controller replaces it (seen in the lab).
    ("replica_healthy", "max by (application, deployment, replica) (ray_serve_deployment_replica_healthy)"),
];

/// What the Autoscaler view shows per worker group (`NodeType`), as the autoscaler exports it.
pub const AUTOSCALER_QUERIES: [(&str, &str); 2] = [
    ("active_nodes", "sum by (NodeType) (autoscaler_active_nodes)"),
    ("pending_nodes", "sum by (NodeType) (autoscaler_pending_nodes)"),
];

/// What the Cluster view shows per node, keyed by `instance` (the node's `ip:metricsExportPort`,
/// the target Prometheus scrapes; Ray's node metrics carry no node id, and fake-multinode nodes
/// share one ip).
pub const CLUSTER_QUERIES: [(&str, &str); 3] = [
    ("cpu_pct", "avg by (instance) (ray_node_cpu_utilization)"),
    ("mem_pct", "100 * sum by (instance) (ray_node_mem_used) / sum by (instance) (ray_node_mem_total)"),
    ("cpu_used", "sum by (instance) (ray_resources{Name=\"CPU\",State=\"USED\"})"),
];

/// What the GPU view shows: each physical GPU (by `GpuUuid`, where the node reports devices) and
/// the logical GPUs Ray counts as used per node.
pub const GPU_QUERIES: [(&str, &str); 3] = [
    ("gpu_util", "max by (instance, GpuIndex, GpuUuid) (ray_node_gpus_utilization)"),
    ("gram_used_mb", "max by (instance, GpuIndex, GpuUuid) (ray_node_gram_used)"),
    ("gpu_used", "sum by (instance) (ray_resources{Name=\"GPU\",State=\"USED\"})"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_and_an_error_answer() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"application":"demo"},"values":[[1764500000,"1.5"],[1764500015,"NaN"],[1764500030,"+Inf"]]}]}}"#;
        let s = parse_matrix(ok).unwrap();
        assert_eq!(s[0].label("application"), "demo");
        assert_eq!(s[0].points[0], (1_764_500_000.0, 1.5));
        assert!(s[0].points[1].1.is_nan() && s[0].points[2].1.is_infinite());
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        assert_eq!(parse_matrix(bad).unwrap_err(), "parse error at char 5");
        assert!(parse_matrix(b"<html>").unwrap_err().starts_with("not a Prometheus answer"));
    }
}
