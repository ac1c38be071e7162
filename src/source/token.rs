//! Finding the Ray auth token the way Ray's own tools do, most explicit first.

use std::path::{Path, PathBuf};

/// Where a token came from, so a 401 message can say which one was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    Flag,
    Env,
    File(PathBuf),
    /// A Kubernetes Secret, `namespace/name`, and the key the token is under (`auth_token` with
    /// KubeRay's token auth).
    Secret {
        at: String,
        key: String,
    },
}

#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub origin: TokenOrigin,
}

/// The Ray token of a cluster with token auth: key `key` of its Secret (`auth_token` where
/// KubeRay's `authOptions` made it, facts §2).
pub async fn from_secret(client: &kube::Client, namespace: &str, secret: &str, key: &str) -> Result<Token, String> {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client.clone(), namespace);
    let s = api.get(secret).await.map_err(|e| match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!("token auth is on but Secret {namespace}/{secret} may not be read: {}", r.message)
        }
        other => format!("token auth is on but Secret {namespace}/{secret} could not be read: {other}"),
    })?;
    let value = s
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("Secret {namespace}/{secret} has no {key}"))?;
    Ok(Token { value, origin: TokenOrigin::Secret { at: format!("{namespace}/{secret}"), key: key.to_string() } })
}

/// Never the value: a token must not reach a log line, a panic message or a debug print.
impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("value", &"<redacted>").field("origin", &self.origin).finish()
    }
}

/// A secret given on the command line (`--token`): printed as `<redacted>`, read with `expose`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A warning when a token would go in clear text to another machine: `http://` to a host that
/// is not this one (a port-forward or the local lab is `127.0.0.1` or `localhost`).
pub fn cleartext_warning(url: &str, token: Option<&Token>) -> Option<String> {
    let token = token?;
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| {
        format!(
            "the Ray token from {} goes to {host} over plain http: anyone on the path can read it; \
             use https:// or a port-forward to localhost",
            token.origin
        )
    })
}

/// `--token`, then `RAY_AUTH_TOKEN` (already folded into `flag_or_env` by clap, distinguished by
/// `from_env`), then `--token-file`, then Ray's default `~/.ray/auth_token` when it exists.
pub fn resolve(
    flag_or_env: Option<&str>,
    from_env: bool,
    token_file: Option<&Path>,
    home: Option<&Path>,
) -> Result<Option<Token>, String> {
    if let Some(v) = flag_or_env.map(str::trim).filter(|v| !v.is_empty()) {
        let origin = if from_env { TokenOrigin::Env } else { TokenOrigin::Flag };
        return Ok(Some(Token { value: v.to_string(), origin }));
    }
    if let Some(path) = token_file {
        return read(path).map(Some);
    }
    let default = home.map(|h| h.join(".ray").join("auth_token"));
    match default {
        Some(path) if path.is_file() => read(&path).map(Some),
        _ => Ok(None),
    }
}

fn read(path: &Path) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(Token { value, origin: TokenOrigin::File(path.to_path_buf()) })
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenOrigin::Flag => write!(f, "--token"),
            TokenOrigin::Env => write!(f, "RAY_AUTH_TOKEN"),
            TokenOrigin::File(p) => write!(f, "{}", p.display()),
            TokenOrigin::Secret { at, .. } => write!(f, "Secret {at}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print_their_value() {
        let t = Token { value: "s3cr3t-value".into(), origin: TokenOrigin::Flag };
        assert!(!format!("{t:?}").contains("s3cr3t"), "{t:?}");
        let s: Secret = "s3cr3t-value".parse().unwrap();
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "s3cr3t-value");
    }

    #[test]
    fn a_token_over_plain_http_to_another_host_is_warned_about() {
        let t = Token { value: "x".into(), origin: TokenOrigin::Env };
        for url in ["http://127.0.0.1:8265", "http://localhost:8265/", "http://[::1]:8265", "https://ray.example.com"] {
            assert_eq!(cleartext_warning(url, Some(&t)), None, "{url}");
        }
        let w = cleartext_warning("http://10.0.0.5:8265", Some(&t)).unwrap();
        assert!(w.starts_with("the Ray token from RAY_AUTH_TOKEN goes to 10.0.0.5 over plain http"), "{w}");
        assert!(
            cleartext_warning("http://user@ray-head.internal:8265", Some(&t)).unwrap().contains("ray-head.internal")
        );
        assert_eq!(cleartext_warning("http://10.0.0.5:8265", None), None, "no token, nothing to leak");
    }

    #[test]
    fn flag_wins_then_file_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "abc\n").unwrap();
        let t = resolve(Some("xyz"), false, Some(&file), None).unwrap().unwrap();
        assert_eq!((t.value.as_str(), t.origin), ("xyz", TokenOrigin::Flag));
        let t = resolve(None, false, Some(&file), None).unwrap().unwrap();
        assert_eq!(t.value, "abc");
        assert!(resolve(None, false, None, Some(dir.path())).unwrap().is_none());
        std::fs::create_dir(dir.path().join(".ray")).unwrap();
        std::fs::write(dir.path().join(".ray/auth_token"), "def").unwrap();
        let t = resolve(None, false, None, Some(dir.path())).unwrap().unwrap();
        assert_eq!(t.value, "def");
        assert!(resolve(None, false, Some(&dir.path().join("missing")), None).is_err());
    }
}
