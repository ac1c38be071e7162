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
