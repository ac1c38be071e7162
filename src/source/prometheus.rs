//! The Prometheus source: range queries over Prometheus's HTTP API for the view on screen, one
//! round per step (the window divided into `POINTS`), none at all while no view shows history.
//! Prometheus is reached at an address, or as a Service through the API server's service proxy,
//! as dashboards are.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use crate::msg::{HistoryTopic, HistoryUpdate, Msg};
use crate::source::kube::KubeClients;
use crate::wire::prometheus::parse_matrix;
use crate::wire::prometheus::{POINTS, QueryResult};

/// Answers larger than this are refused (a range query of a few series is kilobytes).
const MAX_ANSWER: usize = 16 << 20;

/// Where Prometheus is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromSource {
    /// `--prometheus URL`.
    Url(String),
    /// `--prometheus-service NS/NAME[:PORT]` or `:prom NS/NAME[:PORT]`: a Service reached
    /// through the API server of a kubeconfig context.
    Service { context: Option<String>, namespace: String, name: String, port: Option<String> },
}

impl PromSource {
    /// `NS/NAME[:PORT]`, checked as Kubernetes names before anything is sent.
    pub fn service(context: Option<String>, spec: &str) -> Result<PromSource, String> {
        let (namespace, rest) =
            spec.split_once('/').ok_or_else(|| format!("{spec:?}: give the Service as NAMESPACE/NAME[:PORT]"))?;
        let (name, port) = match rest.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (rest, None),
        };
        if !crate::wire::k8s::is_dns_label(namespace) || !crate::wire::k8s::is_dns_label(name) {
            return Err(format!("{spec:?}: namespace and name must be Kubernetes names"));
        }
        let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|n| n > 0) || crate::wire::k8s::is_dns_label(p);
        if let Some(p) = port.filter(|p| !port_ok(p)) {
            return Err(format!("{spec:?}: port {p:?} is neither a number nor a port name"));
        }
        Ok(PromSource::Service {
            context,
            namespace: namespace.into(),
            name: name.into(),
            port: port.map(String::from),
        })
    }

    /// What the views say history comes from.
    pub fn describe(&self) -> String {
        match self {
            PromSource::Url(u) => u.trim_end_matches('/').to_string(),
            PromSource::Service { namespace, name, port, .. } => match port {
                Some(p) => format!("API server proxy {namespace}/{name}:{p}"),
                None => format!("API server proxy {namespace}/{name}"),
            },
        }
    }

    /// A client for it; for a Service, with the context's Kubernetes client.
    pub async fn connect(&self, clients: &KubeClients, timeout: Duration) -> Result<PromClient, String> {
        match self {
            PromSource::Url(u) => PromClient::new(u, timeout),
            PromSource::Service { context, namespace, name, port } => {
                let client = clients.get(context.as_deref()).await?.client;
                let target = match port {
                    Some(p) => format!("{name}:{p}"),
                    None => name.clone(),
                };
                let path = format!("/api/v1/namespaces/{namespace}/services/{target}/proxy");
                Ok(PromClient { transport: Transport::Proxy { client, path, timeout }, describe: self.describe() })
            }
        }
    }
}

#[derive(Clone)]
enum Transport {
    Direct {
        http: reqwest::Client,
        base: String,
    },
    /// Through the API server's service proxy, with the kubeconfig's credentials.
    Proxy {
        client: kube::Client,
        path: String,
        timeout: Duration,
    },
}

#[derive(Clone)]
pub struct PromClient {
    transport: Transport,
    describe: String,
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
        Ok(PromClient { describe: base.clone(), transport: Transport::Direct { http, base } })
    }

    /// Where queries go, as the views say it.
    pub fn base(&self) -> &str {
        &self.describe
    }

    /// One range query ending now, over `window_s`, at `POINTS` points.
    pub async fn query_range(&self, query: &str, window_s: u64) -> Result<QueryResult, String> {
        let end = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()).floor();
        let step = (window_s / POINTS).max(1);
        let start = end - window_s as f64;
        let params = reqwest::Url::parse_with_params(
            "http://q/",
            &[
                ("query", query.to_string()),
                ("start", format!("{start}")),
                ("end", format!("{end}")),
                ("step", step.to_string()),
            ],
        )
        .map_err(|e| format!("bad Prometheus query: {e}"))?;
        let qs = params.query().unwrap_or_default();
        let (status, body) = self.get(&format!("/api/v1/query_range?{qs}")).await?;
        let series = parse_matrix(&body).map_err(|e| format!("Prometheus ({status}): {e}"))?;
        Ok(QueryResult { query: query.to_string(), start, end, step, series })
    }

    /// GET a path on Prometheus: its status and body.
    async fn get(&self, path_and_query: &str) -> Result<(u16, bytes::Bytes), String> {
        match &self.transport {
            Transport::Direct { http, base } => {
                let mut resp = http
                    .get(format!("{base}{path_and_query}"))
                    .send()
                    .await
                    .map_err(|e| format!("Prometheus unreachable: {}", super::innermost_cause(&e)))?;
                let status = resp.status().as_u16();
                // Read as a stream and refused past the limit, never buffered whole first.
                let mut body = bytes::BytesMut::new();
                while let Some(chunk) = resp
                    .chunk()
                    .await
                    .map_err(|e| format!("Prometheus answer cut short: {}", super::innermost_cause(&e)))?
                {
                    if body.len() + chunk.len() > MAX_ANSWER {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok((status, body.freeze()))
            }
            Transport::Proxy { client, path, timeout } => {
                let uri = format!("{path}{path_and_query}");
                let req = http::Request::get(&uri)
                    .body(kube::client::Body::empty())
                    .map_err(|e| format!("bad proxy request {uri}: {e}"))?;
                let sent = tokio::time::timeout(*timeout, async {
                    let resp = client.send(req).await.map_err(|e| format!("API server: {e}"))?;
                    let status = resp.status().as_u16();
                    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER);
                    let body = match http_body_util::BodyExt::collect(limited).await {
                        Ok(b) => b.to_bytes(),
                        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
                        Err(e) => return Err(format!("API server: {e}")),
                    };
                    Ok::<_, String>((status, body))
                })
                .await
                .map_err(|_| format!("no answer through the API server in {timeout:?}"))??;
                if let Some(why) = proxy_refusal(sent.0, &sent.1) {
                    return Err(why);
                }
                Ok(sent)
            }
        }
    }

    /// Every query of a topic, once.
    pub async fn round(&self, topic: HistoryTopic, window_s: u64) -> Vec<HistoryUpdate> {
        let mut out = Vec::new();
        for &(name, query) in topic.queries() {
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

fn too_large() -> String {
    format!("Prometheus answered over {} MiB, raytop's limit for one query: not read", MAX_ANSWER >> 20)
}

/// The API server's own refusal to proxy (a `Status` object: RBAC, no endpoints, no such
/// Service), in its words; Prometheus's errors are its own JSON and pass through.
fn proxy_refusal(status: u16, body: &[u8]) -> Option<String> {
    if (200..300).contains(&status) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v["kind"] != "Status" {
        return None;
    }
    let message = v["message"].as_str().unwrap_or_default();
    Some(match status {
        401 | 403 => format!("the API server refused the proxy to Prometheus (needs get on services/proxy): {message}"),
        _ => format!("API server proxy: {message}"),
    })
}

/// Queries every step of the window until aborted (the runtime stops it when no view shows
/// history, and starts another for a new window or source). A source that cannot be reached
/// yet (no kubeconfig context) is tried again each step.
pub async fn run(
    source: PromSource,
    clients: KubeClients,
    timeout: Duration,
    topic: HistoryTopic,
    window_s: u64,
    tx: mpsc::Sender<Msg>,
) {
    let every = Duration::from_secs((window_s / POINTS).clamp(5, 300));
    let from = source.describe();
    let mut client: Option<PromClient> = None;
    loop {
        let updates = match &client {
            Some(c) => c.round(topic, window_s).await,
            None => match source.connect(&clients, timeout).await {
                Ok(c) => {
                    let first = c.round(topic, window_s).await;
                    client = Some(c);
                    first
                }
                Err(error) => vec![HistoryUpdate::Failed { error, at: SystemTime::now() }],
            },
        };
        for update in updates {
            if tx.send(Msg::History { from: from.clone(), update }).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Services in the context's namespaces that look like Prometheus (name or
/// `app.kubernetes.io/name` label), as `NS/NAME:PORT`, for `:prom`. Where listing every
/// namespace is forbidden, the given namespace only.
pub async fn find_services(
    clients: &KubeClients,
    context: Option<String>,
    namespace: Option<String>,
) -> Result<Vec<String>, String> {
    use k8s_openapi::api::core::v1::Service;
    let connected = clients.get(context.as_deref()).await?;
    let lp = kube::api::ListParams::default();
    let all: kube::Api<Service> = kube::Api::all(connected.client.clone());
    let list = match all.list(&lp).await {
        Ok(l) => l,
        Err(kube::Error::Api(e)) if e.code == 403 => {
            let ns = namespace.unwrap_or(connected.default_ns.clone());
            let one: kube::Api<Service> = kube::Api::namespaced(connected.client.clone(), &ns);
            one.list(&lp).await.map_err(|e| format!("listing Services in {ns}: {e}"))?
        }
        Err(e) => return Err(format!("listing Services: {e}")),
    };
    let mut found: Vec<String> = list.items.iter().filter_map(prometheus_like).collect();
    found.sort();
    Ok(found)
}

/// `NS/NAME:PORT` for a Service that looks like a Prometheus server (not its operator, its
/// exporters or Alertmanager), on its web port.
fn prometheus_like(s: &k8s_openapi::api::core::v1::Service) -> Option<String> {
    let name = s.metadata.name.as_deref()?;
    let labelled = s.metadata.labels.as_ref().is_some_and(|l| {
        l.get("app.kubernetes.io/name").is_some_and(|v| v == "prometheus")
            || l.get("app").is_some_and(|v| v == "prometheus")
    });
    let lower = name.to_ascii_lowercase();
    let other = ["operator", "exporter", "alertmanager", "pushgateway", "adapter"];
    if !(labelled || lower.contains("prometheus")) || other.iter().any(|o| lower.contains(o)) {
        return None;
    }
    let ports = s.spec.as_ref().and_then(|sp| sp.ports.clone()).unwrap_or_default();
    let web = ports
        .iter()
        .find(|p| matches!(p.name.as_deref(), Some("web" | "http" | "http-web")) || p.port == 9090)
        .or(ports.first())?;
    let port = web.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| web.port.to_string());
    Some(format!("{}/{name}:{port}", s.metadata.namespace.as_deref().unwrap_or("default")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_spec_is_checked_before_anything_is_sent() {
        let s = PromSource::service(None, "monitoring/prometheus-k8s:web").unwrap();
        assert_eq!(s.describe(), "API server proxy monitoring/prometheus-k8s:web");
        assert!(PromSource::service(None, "monitoring/prometheus:9090").is_ok());
        assert!(PromSource::service(None, "monitoring/prometheus").is_ok());
        for bad in ["prometheus", "../x/y", "monitoring/Prom", "monitoring/p:bad_port!", "a/b/c"] {
            assert!(PromSource::service(None, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn services_named_like_prometheus_are_found_on_their_web_port() {
        let svc = |name: &str, ports: &[(&str, i32)]| -> k8s_openapi::api::core::v1::Service {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "namespace": "monitoring"},
                "spec": {"ports": ports.iter().map(|(n, p)| serde_json::json!({"name": n, "port": p})).collect::<Vec<_>>()},
            }))
            .unwrap()
        };
        assert_eq!(
            prometheus_like(&svc("prometheus-k8s", &[("reloader", 8080), ("web", 9090)])).as_deref(),
            Some("monitoring/prometheus-k8s:web")
        );
        assert_eq!(
            prometheus_like(&svc("prometheus-server", &[("", 80)])).as_deref(),
            Some("monitoring/prometheus-server:80")
        );
        assert_eq!(prometheus_like(&svc("prometheus-operator", &[("https", 8443)])), None);
        assert_eq!(prometheus_like(&svc("prometheus-node-exporter", &[("metrics", 9100)])), None);
        assert_eq!(prometheus_like(&svc("ray-head-svc", &[("dashboard", 8265)])), None);
    }
}
