//! The Prometheus source: range queries over Prometheus's HTTP API for the view on screen, one
//! round per step (the window divided into `POINTS`), none at all while no view shows history.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::model::history::{POINTS, QueryResult, queries};
use crate::msg::{HistoryTopic, HistoryUpdate, Msg};
use crate::wire::prometheus::parse_matrix;

/// Answers larger than this are refused (a range query of a few series is kilobytes).
const MAX_ANSWER: usize = 16 << 20;

#[derive(Clone)]
pub struct PromClient {
    http: reqwest::Client,
    base: String,
}

impl PromClient {
    pub fn new(base: &str, timeout: Duration) -> Result<PromClient, String> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("Prometheus address {base:?} must start with http:// or https://"));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("raytop/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(PromClient { http, base })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// One range query ending now, over `window_s`, at `POINTS` points.
    pub async fn query_range(&self, query: &str, window_s: u64) -> Result<QueryResult, String> {
        let end = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()).floor();
        let step = (window_s / POINTS).max(1);
        let start = end - window_s as f64;
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query_range", self.base),
            &[
                ("query", query.to_string()),
                ("start", format!("{start}")),
                ("end", format!("{end}")),
                ("step", step.to_string()),
            ],
        )
        .map_err(|e| format!("bad Prometheus address: {e}"))?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("Prometheus unreachable: {}", super::innermost_cause(&e)))?;
        let status = resp.status();
        let body =
            resp.bytes().await.map_err(|e| format!("Prometheus answer cut short: {}", super::innermost_cause(&e)))?;
        if body.len() > MAX_ANSWER {
            return Err(format!("Prometheus answered {} bytes, over raytop's limit", body.len()));
        }
        let series = parse_matrix(&body).map_err(|e| format!("Prometheus ({status}): {e}"))?;
        Ok(QueryResult { query: query.to_string(), start, end, step, series })
    }

    /// Every query of a topic, once.
    pub async fn round(&self, topic: HistoryTopic, window_s: u64) -> Vec<HistoryUpdate> {
        let mut out = Vec::new();
        for &(name, query) in queries(topic) {
            let at = SystemTime::now();
            match self.query_range(query, window_s).await {
                Ok(result) => out.push(HistoryUpdate::Answered { name, result, at }),
                Err(error) => {
                    out.push(HistoryUpdate::Failed { error, at });
                    break; // the next ones would fail the same way
                }
            }
        }
        out
    }
}

/// Queries every step of the window until aborted (the runtime stops it when no view shows
/// history, and starts another for a new window).
pub async fn run(client: PromClient, topic: HistoryTopic, window_s: u64, tx: mpsc::Sender<Msg>) {
    let every = Duration::from_secs((window_s / POINTS).clamp(5, 300));
    loop {
        for u in client.round(topic, window_s).await {
            if tx.send(Msg::History(u)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(every).await;
    }
}
