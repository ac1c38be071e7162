//! HTTP client for one Ray dashboard: auth header, timeouts, error classification.
//!
//! It never sends browser-like headers (a `Mozilla` user agent, `Origin`, `Referer`): Ray 2.60
//! refuses mutations from what looks like a browser and redacts runtime envs for it (facts §4.0).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

use std::sync::{Arc, RwLock};

use crate::source::token::{Token, TokenOrigin};
use crate::wire::dashboard::{DashData, Endpoint, FetchError, parse};

/// One successful fetch: the parsed body, when it arrived and how big it was.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub data: DashData,
    pub at: SystemTime,
    pub bytes: usize,
}

/// A body as it arrives, chunk by chunk; an error is its last item.
pub type ByteStream = futures::stream::BoxStream<'static, Result<Vec<u8>, String>>;

/// "No deadline" for a followed body (reqwest takes a duration, not none): a year.
const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Bodies up to this size are parsed where they arrive; larger ones on a blocking thread.
const INLINE_PARSE: usize = 256 << 10;

/// The largest answer read, in MiB (`RAYTOP_MAX_BODY_MIB`, default 64): a dashboard of thousands
/// of nodes answers a few MiB; anything far over that is refused, not buffered.
pub fn max_body() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let mib = std::env::var("RAYTOP_MAX_BODY_MIB").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(64);
        mib.clamp(1, 4096) << 20
    })
}

fn too_large(path: &str, limit: u64) -> FetchError {
    FetchError::TooLarge { path: path.to_string(), limit_mib: limit >> 20 }
}

fn shared(token: Option<Token>) -> Arc<RwLock<Option<Token>>> {
    Arc::new(RwLock::new(token))
}

/// How requests reach the dashboard.
#[derive(Clone)]
enum Transport {
    /// Straight to a URL (a port-forward, an ingress, the local lab).
    Direct { http: reqwest::Client, base: String },
    /// Through the Kubernetes API server's service proxy, with the kubeconfig's credentials.
    Proxy { client: kube::Client, base: String, timeout: Duration },
    /// A route raytop will not use (names that are not Kubernetes names): every request fails
    /// with the reason, and nothing is sent.
    Refused(String),
}

#[derive(Clone)]
pub struct DashboardClient {
    transport: Transport,
    /// Shared by the clones of this client: a token read again after a 401 (rotated in its
    /// file or Secret) is used by all of them.
    token: Arc<RwLock<Option<Token>>>,
    /// Why there is no token where one was expected (an unreadable Secret), for the 401 hint.
    token_problem: Option<String>,
}

impl DashboardClient {
    pub fn new(base: &str, token: Option<Token>, timeout: Duration) -> Result<Self, String> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("raytop/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(3).min(timeout))
            .timeout(timeout)
            .pool_max_idle_per_host(4)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!("dashboard address {base:?} must start with http:// or https://"));
        }
        Ok(DashboardClient { transport: Transport::Direct { http, base }, token: shared(token), token_problem: None })
    }

    /// A client that goes through the API server: `proxy_path` is
    /// `/api/v1/namespaces/<ns>/services/<svc>:dashboard/proxy`.
    pub fn via_proxy(
        client: kube::Client,
        proxy_path: String,
        token: Result<Option<Token>, String>,
        timeout: Duration,
    ) -> Self {
        let (token, token_problem) = match token {
            Ok(t) => (t, None),
            Err(e) => (None, Some(e)),
        };
        DashboardClient {
            transport: Transport::Proxy { client, base: proxy_path, timeout },
            token: shared(token),
            token_problem,
        }
    }

    /// A client that sends nothing and answers every request with `why`.
    pub fn refused(why: String) -> Self {
        DashboardClient { transport: Transport::Refused(why), token: shared(None), token_problem: None }
    }

    /// Where requests go, for the header and error messages.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Direct { base, .. } => base.clone(),
            Transport::Proxy { base, .. } => format!("API server proxy {base}"),
            Transport::Refused(why) => format!("not reached: {why}"),
        }
    }

    /// The token now in use.
    fn token(&self) -> Option<Token> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    /// Reads the token again from where it came from (its file, or its cluster's Secret) and
    /// keeps it when it changed: a rotated token is picked up without a restart.
    pub async fn reload_token(&self) -> bool {
        let Some(current) = self.token() else { return false };
        let fresh = match (&current.origin, &self.transport) {
            (TokenOrigin::File(path), _) => std::fs::read_to_string(path).ok().map(|t| t.trim().to_string()),
            (TokenOrigin::Secret { at, key }, Transport::Proxy { client, .. }) => match at.split_once('/') {
                Some((ns, name)) => {
                    crate::source::token::from_secret(client, ns, name, key).await.ok().map(|t| t.value)
                }
                None => None,
            },
            _ => None,
        };
        match fresh {
            Some(value) if !value.is_empty() && value != current.value => {
                tracing::info!(origin = %current.origin, "the Ray token changed where it is kept: using the new one");
                if let Ok(mut t) = self.token.write() {
                    *t = Some(Token { value, origin: current.origin });
                }
                true
            }
            _ => false,
        }
    }

    pub async fn fetch(&self, endpoint: Endpoint) -> Result<Fetched, FetchError> {
        match self.fetch_once(endpoint).await {
            // Rejected: maybe the token was rotated where it is kept. Read it again, and retry
            // once with the new one.
            Err(FetchError::Unauthorized { .. }) if self.reload_token().await => self.fetch_once(endpoint).await,
            other => other,
        }
    }

    async fn fetch_once(&self, endpoint: Endpoint) -> Result<Fetched, FetchError> {
        match self.fetch_path(endpoint, endpoint.path()).await {
            // Ray 2.60 breaks this endpoint for good once a worker dies (see
            // `parse_legacy_events`); the older one serves the same events.
            Err(FetchError::Http { status: 500, .. }) if endpoint == Endpoint::ClusterEvents => {
                let path = "/events";
                let (status, body) = self.send(http::Method::GET, path, None).await?;
                let at = SystemTime::now();
                self.check(status, path, &body)?;
                let events = crate::wire::dashboard::parse_legacy_events(&body)
                    .map_err(|detail| FetchError::Malformed { path: path.to_string(), detail })?;
                Ok(Fetched { data: DashData::Events(events), at, bytes: body.len() })
            }
            // No tracked Train run yet (or no Train on the head): an answer, not a fault.
            Err(FetchError::Http { status, path, body }) if endpoint == Endpoint::TrainRuns => {
                match crate::wire::train::untracked_reason(status, &body) {
                    Some(why) => {
                        Ok(Fetched { bytes: body.len(), data: DashData::TrainUntracked(why), at: SystemTime::now() })
                    }
                    None => Err(FetchError::Http { status, path, body }),
                }
            }
            other => other,
        }
    }

    async fn fetch_path(&self, endpoint: Endpoint, path: &str) -> Result<Fetched, FetchError> {
        let (status, body) = self.send(http::Method::GET, path, None).await?;
        let at = SystemTime::now();
        self.check(status, path, &body)?;
        let bytes = body.len();
        // A large body is parsed on a blocking thread: the runtime's workers keep the loop's
        // messages, the watches and the keys moving meanwhile.
        let parsed = if bytes > INLINE_PARSE {
            tokio::task::spawn_blocking(move || parse(endpoint, &body))
                .await
                .unwrap_or_else(|e| Err(format!("the parser stopped: {e}")))
        } else {
            parse(endpoint, &body)
        };
        let data = parsed.map_err(|detail| FetchError::Malformed { path: path.to_string(), detail })?;
        Ok(Fetched { data, at, bytes })
    }

    /// Sends a JSON body (PUT, POST) or none (GET) and returns the answer as JSON; for actions,
    /// which read and write whole documents (the Serve config, a job submission).
    pub async fn json(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, FetchError> {
        let bytes = body.map(serde_json::to_vec).transpose().map_err(|e| FetchError::Malformed {
            path: path.to_string(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let (status, answer) = self.send(method, path, bytes).await?;
        self.check(status, path, &answer)?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&answer)
            .map_err(|e| FetchError::Malformed { path: path.to_string(), detail: e.to_string() })
    }

    /// A body read as it comes (a log followed for hours): chunks in order. A refusal (Ray's 500
    /// naming an unknown actor, a 401, the API server's 403) is an error before any chunk; a
    /// break mid-body is the stream's last item. No deadline once connected: the connection lives
    /// as long as the reader wants it.
    pub async fn stream(&self, path: &str) -> Result<ByteStream, FetchError> {
        match self.stream_once(path).await {
            Err(FetchError::Unauthorized { .. }) if self.reload_token().await => self.stream_once(path).await,
            other => other,
        }
    }

    async fn stream_once(&self, path: &str) -> Result<ByteStream, FetchError> {
        match &self.transport {
            Transport::Refused(why) => Err(FetchError::Unreachable(why.clone())),
            Transport::Direct { http, base } => {
                let mut req = http.get(format!("{base}{path}")).timeout(NO_DEADLINE);
                if let Some(t) = &self.token() {
                    req = req.header(http::header::AUTHORIZATION, bearer(t)?);
                }
                let resp = req.send().await.map_err(|e| classify(&e))?;
                let status = resp.status();
                if !status.is_success() {
                    let body = resp.bytes().await.unwrap_or_default();
                    self.check(status, path, &body)?;
                    return Err(FetchError::Http {
                        status: status.as_u16(),
                        path: path.to_string(),
                        body: snippet(&body),
                    });
                }
                let chunks = futures::stream::unfold(Some(resp), |state| async move {
                    let mut resp = state?;
                    match resp.chunk().await {
                        Ok(Some(c)) => Some((Ok(c.to_vec()), Some(resp))),
                        Ok(None) => None,
                        Err(e) => Some((Err(crate::source::innermost_cause(&e)), None)),
                    }
                });
                Ok(Box::pin(chunks))
            }
            Transport::Proxy { client, base, timeout } => {
                let uri = format!("{base}{path}");
                let mut req = http::Request::builder().method(http::Method::GET).uri(&uri);
                if let Some(t) = &self.token() {
                    req = req.header("X-Ray-Authorization", bearer(t)?);
                }
                let req = req
                    .body(kube::client::Body::from(Vec::new()))
                    .map_err(|e| FetchError::Unreachable(format!("bad proxy request {uri}: {e}")))?;
                let resp = tokio::time::timeout(*timeout, client.send(req))
                    .await
                    .map_err(|_| FetchError::Timeout(format!("no answer through the API server in {timeout:?}")))?
                    .map_err(|e| FetchError::Unreachable(format!("API server: {e}")))?;
                let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut body = resp.into_body();
                if !status.is_success() {
                    let mut answer = Vec::new();
                    while let Some(Ok(frame)) = http_body_util::BodyExt::frame(&mut body).await {
                        if let Ok(chunk) = frame.into_data() {
                            answer.extend_from_slice(&chunk);
                        }
                        if answer.len() > 64 << 10 {
                            break;
                        }
                    }
                    if let Some(e) = proxy_failure(status, &answer) {
                        return Err(e);
                    }
                    self.check(status, &uri, &answer)?;
                }
                let chunks = futures::stream::unfold(Some(body), |state| async move {
                    let mut body = state?;
                    loop {
                        match http_body_util::BodyExt::frame(&mut body).await {
                            None => return None,
                            Some(Err(e)) => return Some((Err(format!("API server: {e}")), None)),
                            Some(Ok(frame)) => {
                                if let Ok(chunk) = frame.into_data() {
                                    return Some((Ok(chunk.to_vec()), Some(body)));
                                }
                            }
                        }
                    }
                });
                Ok(Box::pin(chunks))
            }
        }
    }

    /// An answer's status as an error: 401/403 with the token hint, any other failure with a
    /// snippet of the body.
    fn check(&self, status: StatusCode, path: &str, body: &[u8]) -> Result<(), FetchError> {
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // Ray answers 401 without a token and 403 for a wrong one; quote its words too.
            let hint = format!("{} ({})", self.auth_hint(), snippet(body));
            return Err(FetchError::Unauthorized { status: status.as_u16(), hint });
        }
        if !status.is_success() {
            return Err(FetchError::Http { status: status.as_u16(), path: path.to_string(), body: snippet(body) });
        }
        Ok(())
    }

    /// One request on either transport, with the Ray token where the transport wants it.
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, bytes::Bytes), FetchError> {
        match &self.transport {
            Transport::Refused(why) => Err(FetchError::Unreachable(why.clone())),
            Transport::Direct { http, base } => {
                let mut req = http.request(method, format!("{base}{path}"));
                if let Some(t) = &self.token() {
                    req = req.header(http::header::AUTHORIZATION, bearer(t)?);
                }
                if let Some(b) = body {
                    req = req.header("Content-Type", "application/json").body(b);
                }
                let mut resp = req.send().await.map_err(|e| classify(&e))?;
                let status = resp.status();
                let limit = max_body();
                if resp.content_length().is_some_and(|n| n > limit) {
                    return Err(too_large(path, limit));
                }
                let mut body = bytes::BytesMut::new();
                while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e))? {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(too_large(path, limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok((status, body.freeze()))
            }
            Transport::Proxy { client, base, timeout } => {
                let uri = format!("{base}{path}");
                let (status, body) = tokio::time::timeout(*timeout, self.send_proxied(client, method, &uri, body))
                    .await
                    .map_err(|_| FetchError::Timeout(format!("no answer through the API server in {timeout:?}")))??;
                if let Some(e) = proxy_failure(status, &body) {
                    return Err(e);
                }
                Ok((status, body))
            }
        }
    }

    async fn send_proxied(
        &self,
        client: &kube::Client,
        method: http::Method,
        uri: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, bytes::Bytes), FetchError> {
        let mut req = http::Request::builder().method(method).uri(uri);
        if let Some(t) = &self.token() {
            // The API server takes `Authorization` for itself; Ray also reads this one (facts §2).
            req = req.header("X-Ray-Authorization", bearer(t)?);
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        let req = req
            .body(kube::client::Body::from(body.unwrap_or_default()))
            .map_err(|e| FetchError::Unreachable(format!("bad proxy request {uri}: {e}")))?;
        let resp = client.send(req).await.map_err(|e| FetchError::Unreachable(format!("API server: {e}")))?;
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let limit = max_body();
        let mut body = bytes::BytesMut::new();
        let mut stream = resp.into_body();
        while let Some(frame) = http_body_util::BodyExt::frame(&mut stream).await {
            let frame = frame.map_err(|e| FetchError::Unreachable(format!("API server: {e}")))?;
            if let Ok(chunk) = frame.into_data() {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(too_large(uri, limit));
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok((status, body.freeze()))
    }

    fn auth_hint(&self) -> String {
        match &self.token() {
            None if self.token_problem.is_some() => self.token_problem.clone().unwrap_or_default(),
            None => "the dashboard requires a token: pass --token, set RAY_AUTH_TOKEN, \
                     or point --token-file at the cluster's auth_token"
                .to_string(),
            Some(t) => format!("the dashboard rejected the token from {}: check it is this cluster's", t.origin),
        }
    }
}

/// What the API server itself says when it cannot or will not proxy: a `Status` object. Ray's own
/// answers never look like one, so a 403 here is Kubernetes RBAC, not the Ray token.
fn proxy_failure(status: StatusCode, body: &[u8]) -> Option<FetchError> {
    if status.is_success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v["kind"] != "Status" || v["apiVersion"] != "v1" {
        return None;
    }
    let message = v["message"].as_str().unwrap_or_default().to_string();
    Some(match status.as_u16() {
        401 | 403 => FetchError::Unauthorized {
            status: status.as_u16(),
            hint: format!("the API server refused the proxy (needs get on services/proxy): {message}"),
        },
        // No endpoints, connection refused, service missing: the head is not reachable yet.
        _ => FetchError::Unreachable(format!("API server proxy: {message}")),
    })
}

/// The token as a header value marked sensitive: HTTP/2 never indexes it (HPACK), and the
/// client's debug output shows it as `Sensitive`.
fn bearer(t: &Token) -> Result<http::HeaderValue, FetchError> {
    let mut v = http::HeaderValue::from_str(&format!("Bearer {}", t.value)).map_err(|_| {
        FetchError::Unreachable(format!("the token from {} has characters a header cannot carry: not sent", t.origin))
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn classify(e: &reqwest::Error) -> FetchError {
    let detail = crate::source::innermost_cause(e);
    if e.is_timeout() { FetchError::Timeout(detail) } else { FetchError::Unreachable(detail) }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// rustls needs a process-wide crypto provider; install ring's once (a second call is harmless).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::{FetchError, StatusCode, proxy_failure};

    #[test]
    fn the_api_servers_own_refusals_are_told_apart_from_rays() {
        // The 503 as kube-apiserver 1.20 sent it in the lab; the 403 written in the same shape.
        let no_eps = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"ray-lab-head-svc:dashboard\"","reason":"ServiceUnavailable","code":503}"#;
        assert!(matches!(
            proxy_failure(StatusCode::SERVICE_UNAVAILABLE, no_eps),
            Some(FetchError::Unreachable(m)) if m.contains("no endpoints available")
        ));
        let rbac = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services \"x\" is forbidden: User \"viewer\" cannot get resource \"services/proxy\"","reason":"Forbidden","code":403}"#;
        assert!(matches!(
            proxy_failure(StatusCode::FORBIDDEN, rbac),
            Some(FetchError::Unauthorized { status: 403, hint }) if hint.contains("services/proxy")
        ));
        // Ray's own 401 passes through to the usual token handling.
        assert!(proxy_failure(StatusCode::UNAUTHORIZED, b"Unauthorized: Missing authentication token").is_none());
        assert!(proxy_failure(StatusCode::OK, b"{}").is_none());
    }
}
