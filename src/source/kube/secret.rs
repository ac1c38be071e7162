//! The Ray token of a RayCluster with token auth, and a dashboard client through the API
//! server's service proxy that carries it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::Api;

use crate::source::dashboard::DashboardClient;
use crate::wire::k8s::DashboardRoute;

/// The Ray token of a cluster with token auth (see `token::from_secret`).
pub use crate::source::token::from_secret as ray_token;

/// Checks that the head Service carries `ray.io/cluster=<cluster>` (KubeRay labels the Services
/// it makes): the name comes from the RayCluster object, and the token must only go to that
/// cluster's head, not to any Service its writer names.
async fn service_belongs(client: &Client, route: &DashboardRoute) -> Result<(), String> {
    let (ns, svc, rc) = (&route.namespace, &route.service, &route.cluster);
    let api: Api<Service> = Api::namespaced(client.clone(), ns);
    let s = api.get(svc).await.map_err(|e| {
        let why = super::reason(e);
        format!("the token is not sent: Service {ns}/{svc} could not be checked as RayCluster {rc}'s head ({why})")
    })?;
    let label = s.metadata.labels.as_ref().and_then(|l| l.get("ray.io/cluster"));
    if label.map(String::as_str) == Some(rc.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "the token is not sent: Service {ns}/{svc} is not labelled ray.io/cluster={rc} (it says {})",
            label.map_or("nothing".to_string(), |l| format!("{l:?}"))
        ))
    }
}

/// A dashboard client through the API server's service proxy, with the Ray token from the
/// cluster's Secret when token auth is on. A Secret that cannot be read is kept as the reason the
/// dashboard will answer 401, so the screen names the Secret rather than asking for `--token`.
pub async fn proxied_client(client: Client, route: &DashboardRoute, timeout: Duration) -> DashboardClient {
    if let Some(why) = route.invalid() {
        tracing::warn!(cluster = %route.cluster, "{why}");
        return DashboardClient::refused(format!("RayCluster {}: {why}", route.cluster));
    }
    let token = match &route.token_secret {
        Some(secret) => match service_belongs(&client, route).await {
            Ok(()) => ray_token(&client, &route.namespace, secret, &route.token_key).await.map(Some),
            Err(why) => {
                tracing::warn!(cluster = %route.cluster, "{why}");
                Err(why)
            }
        },
        None => Ok(None),
    };
    DashboardClient::via_proxy(client, route.proxy_path(), token, timeout)
}
