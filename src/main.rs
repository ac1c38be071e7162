use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::{mpsc, watch};

use raytop::app::App;
use raytop::cli::{Cli, Cmd};
use raytop::model::{ClusterConfig, ClusterState, Snapshot};
use raytop::source::dashboard::{DashboardClient, poller};
use raytop::source::token;

fn main() -> ExitCode {
    let started = Instant::now();
    if let Err(e) = color_eyre::install() {
        eprintln!("raytop: {e}");
    }
    let cli = Cli::parse();
    let _log = raytop::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("raytop: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Some(Cmd::Snapshot { .. }) => snapshot(&cli).await,
            None => tui(&cli, started).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("raytop: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Setup {
    client: DashboardClient,
    state: ClusterState,
}

fn setup(cli: &Cli) -> Result<Setup> {
    let url = cli.dashboard_url();
    let home = dirs::home_dir();
    let tok = token::resolve(cli.token.as_deref(), cli.token_from_env(), cli.token_file.as_deref(), home.as_deref())
        .map_err(|e| eyre!(e))?;
    if cli.refresh <= 0.0 || cli.timeout <= 0.0 {
        return Err(eyre!("--refresh and --timeout must be positive numbers of seconds"));
    }
    let client = DashboardClient::new(&url, tok, Duration::from_secs_f64(cli.timeout)).map_err(|e| eyre!(e))?;
    let config = match &cli.cluster_config {
        Some(path) => raytop::cluster_config::load(path).map_err(|e| eyre!(e))?,
        None => ClusterConfig::default(),
    };
    let modes = cli.tune_modes().map_err(|e| eyre!(e))?;
    let state = ClusterState::new(cli.cluster_name(&url), url, config).with_tune_modes(modes);
    Ok(Setup { client, state })
}

/// `raytop snapshot --json`: one fetch of everything, printed as the TUI's model. Exits non-zero
/// when the dashboard could not be read at all, so scripts notice.
async fn snapshot(cli: &Cli) -> Result<ExitCode> {
    let Setup { client, mut state } = setup(cli)?;
    for update in poller::fetch_once(&client).await {
        state.apply(update);
    }
    if !cli.tune_dirs.is_empty() {
        let mut scanner = raytop::source::tune::Scanner::new(cli.tune_dirs.clone());
        for u in scanner.pass() {
            state.apply_tune(u);
        }
    }
    let mut clusters = vec![serde_json::to_value(&state)?];
    let mut kube_answered = false;
    let mut kube = None;
    if let Some(target) = cli.kube_target() {
        let mut app = raytop::app::App::new(
            vec![state.clone()],
            Default::default(),
            raytop::config::Theme::builtin_default(),
            vec![],
        );
        app.kube_target = Some(target.clone());
        for u in raytop::source::kube::list_once(&target).await {
            app.apply_kube(u);
        }
        kube_answered = app.k8s.kinds.values().any(|k| k.synced_at.is_some());
        // Each RayCluster's dashboard through the API server, unless --dashboard NAME=URL named it.
        let timeout = Duration::from_secs_f64(cli.timeout);
        let proxied = proxied_dashboards(&target, &app, timeout).await;
        clusters.extend(proxied.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        app.clusters.extend(proxied);
        app.refresh_pod_joins();
        clusters.extend(app.k8s.clusters.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        kube = Some(app.k8s);
    }
    let json = serde_json::to_string_pretty(&Snapshot { clusters, kubernetes: kube.as_ref() })?;
    println!("{json}");
    let reachable = state.freshness.values().any(|f| f.fetched_at.is_some()) || kube_answered;
    Ok(if reachable { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// One fetch of each RayCluster's dashboard through the API server's service proxy. A cluster
/// whose dashboard does not answer `/api/version` is asked nothing more.
async fn proxied_dashboards(target: &raytop::source::kube::Target, app: &App, timeout: Duration) -> Vec<ClusterState> {
    use futures::StreamExt;
    let Ok((client, ..)) = raytop::source::kube::client(target).await else { return Vec::new() };
    let todo: Vec<_> = app
        .k8s
        .clusters
        .iter()
        .filter(|k| app.dashboard_for(k).is_none())
        .map(|k| (k.name.clone(), k.dashboard.clone()))
        .collect();
    let mut states: Vec<ClusterState> = futures::stream::iter(todo)
        .map(|(name, route)| {
            let client = client.clone();
            async move {
                let dash = raytop::source::kube::proxied_client(client, &route, timeout).await;
                let mut state = ClusterState::new(name, dash.describe(), ClusterConfig::default());
                for u in poller::fetch_once(&dash).await {
                    state.apply(u);
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

async fn tui(cli: &Cli, started: Instant) -> Result<ExitCode> {
    let Setup { client, state } = setup(cli)?;
    let loaded = raytop::config::load(raytop::config::config_dir(cli.config_dir.as_deref()).as_deref(), &cli.theme);
    let mut app = App::new(vec![state], loaded.keymap, loaded.theme, loaded.warnings);
    let (tx, rx) = mpsc::channel(256);
    if cli.kube_target().is_some() {
        // With Kubernetes, its view of every RayCluster is home.
        app.view = raytop::app::View::Clusters;
        app.rebuild_rows();
    }
    let (interest_tx, interest_rx) = watch::channel(app.view.interest());
    let refresh = Duration::from_secs_f64(cli.refresh);
    let tune = (!cli.tune_dirs.is_empty())
        .then(|| tokio::spawn(raytop::source::tune::run(cli.tune_dirs.clone(), refresh, tx.clone())));
    let tx_kube = tx.clone();
    let tx_dash = tx.clone();
    let poller = tokio::spawn(poller::run(client, 0, refresh, interest_rx, tx));
    let kube_target = cli.kube_target();
    app.kube_target = kube_target.clone();
    let kube = kube_target.map(|t| raytop::tui::KubeSource::start(t, tx_kube));
    let mut sources = raytop::tui::Sources {
        interest: vec![interest_tx],
        kube,
        tx: tx_dash,
        refresh,
        timeout: Duration::from_secs_f64(cli.timeout),
    };
    let mut terminal = ratatui::init();
    let result = raytop::tui::run(&mut terminal, &mut app, rx, &mut sources, started).await;
    if let Some(k) = &sources.kube {
        k.task.abort();
    }
    ratatui::restore();
    poller.abort();
    if let Some(t) = tune {
        t.abort();
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
