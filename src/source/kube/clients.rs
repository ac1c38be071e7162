//! Kubernetes clients: one per kubeconfig context, built once and shared by the watchers, the
//! dashboard proxy and the actions.

use std::collections::HashMap;
use std::sync::Arc;

use kube::{Client, Config};
use tokio::sync::Mutex;

use super::Target;

/// Builds a client for the target: the kubeconfig (KUBECONFIG or ~/.kube/config) and context.
pub async fn client(target: &Target) -> Result<(Client, Option<String>, String, String), String> {
    client_from(target, None).await
}

/// Like `client`, from an explicit kubeconfig file when one is given.
pub async fn client_from(
    target: &Target,
    file: Option<&std::path::Path>,
) -> Result<(Client, Option<String>, String, String), String> {
    let options = kube::config::KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    let kubeconfig = match file {
        Some(f) => kube::config::Kubeconfig::read_from(f),
        None => kube::config::Kubeconfig::read(),
    }
    .map_err(|e| format!("kubeconfig: {e}"))?;
    let current = kubeconfig.current_context.clone();
    // An exec credential plugin (aws, gcloud, kubelogin) runs synchronously while the config and
    // client are built, for seconds at times: on a blocking thread, not a runtime worker.
    let handle = tokio::runtime::Handle::current();
    let built = tokio::task::spawn_blocking(move || {
        handle.block_on(async {
            let mut config =
                Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| format!("kubeconfig: {e}"))?;
            // kube-rs sends no User-Agent of its own: name raytop, so an API server's audit log
            // (and whoever reads it) can tell its requests from kubectl's and the controllers'.
            config.headers.push((
                http::header::USER_AGENT,
                http::HeaderValue::from_static(concat!("raytop/", env!("CARGO_PKG_VERSION"))),
            ));
            let server = config.cluster_url.to_string();
            let default_ns = config.default_namespace.clone();
            let client = Client::try_from(config).map_err(|e| format!("kubernetes client: {e}"))?;
            Ok::<_, String>((client, server, default_ns))
        })
    })
    .await
    .map_err(|e| format!("kubernetes client: {e}"))?;
    let (client, server, default_ns) = built?;
    let context = target.context.clone().or(current);
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
    /// A kubeconfig file other than KUBECONFIG or ~/.kube/config.
    file: Option<std::path::PathBuf>,
}

impl KubeClients {
    /// Clients from this kubeconfig file rather than the environment's.
    pub fn from_file(file: impl Into<std::path::PathBuf>) -> KubeClients {
        KubeClients { file: Some(file.into()), ..KubeClients::default() }
    }

    /// The kubeconfig these clients are built from, as a document (for its user names).
    pub fn kubeconfig(&self) -> Option<kube::config::Kubeconfig> {
        match &self.file {
            Some(f) => kube::config::Kubeconfig::read_from(f).ok(),
            None => kube::config::Kubeconfig::read().ok(),
        }
    }

    pub async fn get(&self, context: Option<&str>) -> Result<Connected, String> {
        let key = context.map(str::to_string);
        let mut map = self.by_context.lock().await;
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let target = Target { context: key.clone(), ..Target::default() };
        let (client, context, server, default_ns) = client_from(&target, self.file.as_deref()).await?;
        let c = Connected { client, context, server, default_ns };
        map.insert(key, c.clone());
        Ok(c)
    }
}
