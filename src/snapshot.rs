//! `raytop snapshot --json`: the TUI's model, fetched once from every source and printed, for
//! scripts. Also the setup of the command line's dashboard, which the TUI shares.

use std::process::ExitCode;
use std::time::Duration;

use color_eyre::eyre::{Result, eyre};

use crate::cli::Cli;
use crate::model::history::History;
use crate::model::{ClusterConfig, Dashboard, Snapshot};
use crate::msg::DashKey;
use crate::source::dashboard::{DashboardClient, poller};
use crate::source::kube::KubeClients;
use crate::source::token;
use crate::state::App;

pub struct Setup {
    pub client: DashboardClient,
    pub state: Dashboard,
    /// Said once at launch: the token would cross the network in clear text.
    pub cleartext: Option<String>,
}

pub fn setup(cli: &Cli) -> Result<Setup> {
    let url = cli.dashboard_url();
    let home = dirs::home_dir();
    let tok = token::resolve(
        cli.token.as_ref().map(|t| t.expose()),
        cli.token_from_env(),
        cli.token_file.as_deref(),
        home.as_deref(),
    )
    .map_err(|e| eyre!(e))?;
    if cli.refresh <= 0.0 || cli.timeout <= 0.0 {
        return Err(eyre!("--refresh and --timeout must be positive numbers of seconds"));
    }
    let cleartext = token::cleartext_warning(&url, tok.as_ref());
    if let Some(w) = &cleartext {
        tracing::warn!("{w}");
    }
    let client = DashboardClient::new(&url, tok, Duration::from_secs_f64(cli.timeout)).map_err(|e| eyre!(e))?;
    let config = match &cli.cluster_config {
        Some(path) => crate::cluster_config::load(path).map_err(|e| eyre!(e))?,
        None => ClusterConfig::default(),
    };
    let modes = cli.tune_modes().map_err(|e| eyre!(e))?;
    let state = Dashboard::new(cli.cluster_name(&url), DashKey::Url(url.clone()), url, config).with_tune_modes(modes);
    Ok(Setup { client, state, cleartext })
}

/// `raytop snapshot --json`: one fetch of everything, printed as the TUI's model. Exits non-zero
/// when the dashboard could not be read at all, so scripts notice.
pub async fn run(cli: &Cli) -> Result<ExitCode> {
    let Setup { client, mut state, cleartext } = setup(cli)?;
    if let Some(w) = cleartext {
        eprintln!("raytop: warning: {w}");
    }
    for update in poller::fetch_once(&client).await {
        state.apply(update);
    }
    if !cli.tune_dirs.is_empty() {
        for u in crate::source::tune::read_once(&cli.tune_dirs).await {
            state.apply_tune(u);
        }
    }
    let mut clusters = vec![serde_json::to_value(&state)?];
    let mut kube_answered = false;
    let mut kube = None;
    if let Some(target) = cli.kube_target() {
        let mut app =
            App::new(vec![state.clone()], Default::default(), crate::config::Theme::builtin_default(), vec![]);
        app.kube_target = Some(target.clone());
        let kube_clients = KubeClients::default();
        for u in crate::source::kube::list_once(&target, &kube_clients).await {
            app.k8s.apply(u);
        }
        kube_answered = app.k8s.kinds.values().any(|k| k.synced_at.is_some());
        crate::model::join_kube(&mut app.k8s, &mut app.dashboards);
        // Each RayCluster's dashboard through the API server, unless --dashboard NAME=URL named it.
        let timeout = Duration::from_secs_f64(cli.timeout);
        let proxied = proxied_dashboards(&target, &kube_clients, &app, timeout).await;
        clusters.extend(proxied.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        app.dashboards.extend(proxied);
        crate::model::join_kube(&mut app.k8s, &mut app.dashboards);
        clusters.extend(app.k8s.clusters.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        kube = Some(app.k8s);
    }
    let history = match cli.prom_source().map_err(|e| eyre!(e))? {
        Some(source) => {
            use crate::msg::{HistoryTopic, HistoryUpdate};
            let timeout = Duration::from_secs_f64(cli.timeout);
            let mut h = History::new(source.describe());
            // A Prometheus that cannot be reached (no kubeconfig for a Service) is the history's
            // error, as one that does not answer is: the rest of the snapshot stands.
            match source.connect(&KubeClients::default(), timeout).await {
                Ok(client) => {
                    let topics =
                        [HistoryTopic::Cluster, HistoryTopic::Gpu, HistoryTopic::Serve, HistoryTopic::Autoscaler];
                    let rounds = futures::future::join_all(topics.map(|t| client.round(t, h.window_s))).await;
                    for u in rounds.into_iter().flatten() {
                        h.apply(u);
                    }
                }
                Err(error) => h.apply(HistoryUpdate::Failed { error, at: std::time::SystemTime::now() }),
            }
            Some(h)
        }
        None => None,
    };
    let json =
        serde_json::to_string_pretty(&Snapshot { clusters, kubernetes: kube.as_ref(), history: history.as_ref() })?;
    println!("{json}");
    let reachable = state.freshness.values().any(|f| f.fetched_at.is_some()) || kube_answered;
    Ok(if reachable { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// One fetch of each RayCluster's dashboard through the API server's service proxy. A cluster
/// whose dashboard does not answer `/api/version` is asked nothing more.
async fn proxied_dashboards(
    target: &crate::source::kube::Target,
    clients: &KubeClients,
    app: &App,
    timeout: Duration,
) -> Vec<Dashboard> {
    use futures::StreamExt;
    let Ok(connected) = clients.get(target.context.as_deref()).await else { return Vec::new() };
    let todo: Vec<_> = app
        .k8s
        .clusters
        .iter()
        .filter(|k| app.dashboard_for(k).is_none())
        .map(|k| (k.name.clone(), k.dashboard.clone()))
        .collect();
    let mut states: Vec<Dashboard> = futures::stream::iter(todo)
        .map(|(name, route)| {
            let client = connected.client.clone();
            let client_for_tune = connected.client.clone();
            let context = connected.context.clone();
            let (route_ns, route_cluster) = (route.namespace.clone(), route.cluster.clone());
            async move {
                let dash = crate::source::kube::proxied_client(client, &route, timeout).await;
                let key = DashKey::Proxied { context, route };
                let mut state = Dashboard::new(name, key, dash.describe(), ClusterConfig::default());
                for u in poller::fetch_once(&dash).await {
                    state.apply(u);
                }
                // Its Tune experiments, from its head pod, when its dashboard answered.
                if state.freshness.values().any(|f| f.fetched_at.is_some()) {
                    let limit = timeout.max(Duration::from_secs(30));
                    let (ns, cluster) = (&route_ns, &route_cluster);
                    for u in crate::source::tune::read_head_once(client_for_tune, ns, cluster, limit).await {
                        state.apply_tune(u);
                    }
                }
                state
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    states.sort_by(|a, b| a.name.cmp(&b.name));
    states
}
