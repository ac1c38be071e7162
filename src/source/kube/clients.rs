//! Kubernetes clients: one per kubeconfig context, built once and shared by the watchers, the
//! dashboard proxy and the actions.

use std::collections::HashMap;
use std::sync::Arc;

use kube::{Client, Config};
use tokio::sync::Mutex;

use super::Target;

/// Builds a client for the target: the kubeconfig (KUBECONFIG or ~/.kube/config) and context.
pub async fn client(target: &Target) -> Result<(Client, Option<String>, String, String), String> {
    let options = kube::config::KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    let config = Config::from_kubeconfig(&options).await.map_err(|e| format!("kubeconfig: {e}"))?;
    let server = config.cluster_url.to_string();
    let default_ns = config.default_namespace.clone();
    let context =
        target.context.clone().or_else(|| kube::config::Kubeconfig::read().ok().and_then(|k| k.current_context));
    let client = Client::try_from(config).map_err(|e| format!("kubernetes client: {e}"))?;
    Ok((client, context, server, default_ns))
}

/// A client with what it was built from: the context's name, the API server, its namespace.
#[derive(Clone)]
pub struct Connected {
    pub client: Client,
    pub context: Option<String>,
    pub server: String,
    pub default_ns: String,
}

/// The clients of every context used so far, built on first use. Building one reads the
/// kubeconfig and may run an exec plugin, so it happens once per context, not per request.
#[derive(Clone, Default)]
pub struct KubeClients {
    by_context: Arc<Mutex<HashMap<Option<String>, Connected>>>,
}

impl KubeClients {
    pub async fn get(&self, context: Option<&str>) -> Result<Connected, String> {
        let key = context.map(str::to_string);
        let mut map = self.by_context.lock().await;
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let target = Target { context: key.clone(), ..Target::default() };
        let (client, context, server, default_ns) = client(&target).await?;
        let c = Connected { client, context, server, default_ns };
        map.insert(key, c.clone());
        Ok(c)
    }
}
