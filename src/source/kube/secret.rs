//! The Ray token of a RayCluster with token auth, and a dashboard client through the API
//! server's service proxy that carries it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use crate::source::dashboard::DashboardClient;
use crate::source::token::{Token, TokenOrigin};
use crate::wire::k8s::DashboardRoute;

/// The Ray token of a cluster with token auth: key `auth_token` of its Secret (facts §2).
pub async fn ray_token(client: &Client, namespace: &str, secret: &str) -> Result<Token, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let s = api.get(secret).await.map_err(|e| match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!("token auth is on but Secret {namespace}/{secret} may not be read: {}", r.message)
        }
        other => format!("token auth is on but Secret {namespace}/{secret} could not be read: {other}"),
    })?;
    let value = s
        .data
        .as_ref()
        .and_then(|d| d.get("auth_token"))
        .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("Secret {namespace}/{secret} has no auth_token"))?;
    Ok(Token { value, origin: TokenOrigin::Secret(format!("{namespace}/{secret}")) })
}

/// A dashboard client through the API server's service proxy, with the Ray token from the
/// cluster's Secret when token auth is on. A Secret that cannot be read is kept as the reason the
/// dashboard will answer 401, so the screen names the Secret rather than asking for `--token`.
pub async fn proxied_client(client: Client, route: &DashboardRoute, timeout: Duration) -> DashboardClient {
    let token = match &route.token_secret {
        Some(secret) => ray_token(&client, &route.namespace, secret).await.map(Some),
        None => Ok(None),
    };
    DashboardClient::via_proxy(client, route.proxy_path(), token, timeout)
}
