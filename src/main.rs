use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use raytop::cli::{Cli, Cmd};
use raytop::model::history::History;
use raytop::model::{ClusterConfig, ClusterState, Snapshot};
use raytop::msg::DashKey;
use raytop::source::dashboard::{DashboardClient, poller};
use raytop::source::kube::KubeClients;
use raytop::source::prometheus::{PromClient, PromSource};
use raytop::source::token;
use raytop::state::App;

fn main() -> ExitCode {
    let started = Instant::now();
    if let Err(e) = color_eyre::install() {
        eprintln!("raytop: {e}");
    }
    let cli = Cli::parse();
    // These print what clap knows and need no runtime, log or terminal.
    match &cli.command {
        Some(Cmd::Completions { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "raytop", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Cmd::Man) => {
            use clap::CommandFactory;
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("raytop: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let _log = raytop::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("raytop: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Some(Cmd::Snapshot { .. }) => snapshot(&cli).await,
            Some(Cmd::Scale { cluster, group, replicas, min, max, delete_pod, confirm }) => {
                use raytop::action::ScaleChange;
                let change = match (replicas, min, max, delete_pod) {
                    (Some(n), ..) => ScaleChange::Replicas(*n),
                    (_, Some(n), ..) => ScaleChange::Min(*n),
                    (_, _, Some(n), _) => ScaleChange::Max(*n),
                    (.., Some(pod)) => ScaleChange::DeletePod(pod.clone()),
                    _ => return Ok(ExitCode::from(2)), // clap requires one of them
                };
                Ok(raytop::commands::scale(&cli, cluster, group, change, confirm).await)
            }
            Some(Cmd::CancelTrial { trial_id, signal, confirm }) => {
                Ok(raytop::commands::cancel_trial(&cli, trial_id, *signal, confirm).await)
            }
            Some(Cmd::Redeploy { app, rayservice, deployment, replicas, confirm }) => {
                use raytop::action::ServeChange;
                let change = match (deployment, replicas) {
                    (Some(d), Some(n)) => ServeChange::Replicas { deployment: d.clone(), replicas: *n },
                    _ => ServeChange::Redeploy,
                };
                Ok(raytop::commands::redeploy(&cli, app, rayservice.as_deref(), change, confirm).await)
            }
            Some(Cmd::Completions { .. } | Cmd::Man) => Ok(ExitCode::SUCCESS),
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
    /// Said once at launch: the token would cross the network in clear text.
    cleartext: Option<String>,
}

fn setup(cli: &Cli) -> Result<Setup> {
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
        Some(path) => raytop::cluster_config::load(path).map_err(|e| eyre!(e))?,
        None => ClusterConfig::default(),
    };
    let modes = cli.tune_modes().map_err(|e| eyre!(e))?;
    let state =
        ClusterState::new(cli.cluster_name(&url), DashKey::Url(url.clone()), url, config).with_tune_modes(modes);
    Ok(Setup { client, state, cleartext })
}

/// `raytop snapshot --json`: one fetch of everything, printed as the TUI's model. Exits non-zero
/// when the dashboard could not be read at all, so scripts notice.
async fn snapshot(cli: &Cli) -> Result<ExitCode> {
    let Setup { client, mut state, cleartext } = setup(cli)?;
    if let Some(w) = cleartext {
        eprintln!("raytop: warning: {w}");
    }
    for update in poller::fetch_once(&client).await {
        state.apply(update);
    }
    if !cli.tune_dirs.is_empty() {
        let mut scanner = raytop::source::tune::Scanner::new(cli.tune_dirs.clone());
        // Pass after pass until every file is read: one pass reads a bounded amount.
        loop {
            for u in scanner.pass() {
                state.apply_tune(u);
            }
            if !scanner.behind {
                break;
            }
        }
    }
    let mut clusters = vec![serde_json::to_value(&state)?];
    let mut kube_answered = false;
    let mut kube = None;
    if let Some(target) = cli.kube_target() {
        let mut app =
            App::new(vec![state.clone()], Default::default(), raytop::config::Theme::builtin_default(), vec![]);
        app.kube_target = Some(target.clone());
        let kube_clients = KubeClients::default();
        for u in raytop::source::kube::list_once(&target, &kube_clients).await {
            app.k8s.apply(u);
        }
        kube_answered = app.k8s.kinds.values().any(|k| k.synced_at.is_some());
        raytop::model::join_kube(&mut app.k8s, &mut app.dashboards);
        // Each RayCluster's dashboard through the API server, unless --dashboard NAME=URL named it.
        let timeout = Duration::from_secs_f64(cli.timeout);
        let proxied = proxied_dashboards(&target, &kube_clients, &app, timeout).await;
        clusters.extend(proxied.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        app.dashboards.extend(proxied);
        raytop::model::join_kube(&mut app.k8s, &mut app.dashboards);
        clusters.extend(app.k8s.clusters.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?);
        kube = Some(app.k8s);
    }
    let history = match cli.prom_source().map_err(|e| eyre!(e))? {
        Some(source) => {
            use raytop::msg::{HistoryTopic, HistoryUpdate};
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
    target: &raytop::source::kube::Target,
    clients: &KubeClients,
    app: &App,
    timeout: Duration,
) -> Vec<ClusterState> {
    use futures::StreamExt;
    let Ok(connected) = clients.get(target.context.as_deref()).await else { return Vec::new() };
    let todo: Vec<_> = app
        .k8s
        .clusters
        .iter()
        .filter(|k| app.dashboard_for(k).is_none())
        .map(|k| (k.name.clone(), k.dashboard.clone()))
        .collect();
    let mut states: Vec<ClusterState> = futures::stream::iter(todo)
        .map(|(name, route)| {
            let client = connected.client.clone();
            let context = connected.context.clone();
            async move {
                let dash = raytop::source::kube::proxied_client(client, &route, timeout).await;
                let key = DashKey::Proxied { context, route };
                let mut state = ClusterState::new(name, key, dash.describe(), ClusterConfig::default());
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
    let Setup { client, state, cleartext } = setup(cli)?;
    let loaded = raytop::config::load(raytop::config::config_dir(cli.config_dir.as_deref()).as_deref(), &cli.theme);
    let kube_target = cli.kube_target();
    // With Kubernetes on and no dashboard asked for, no address is guessed: the user opens a
    // RayCluster's dashboard from the Kube view (or `:use`).
    let direct = kube_target.is_none() || cli.dashboard_asked();
    let key = state.key.clone();
    let dashboards = if direct { vec![state] } else { Vec::new() };
    // --readonly takes the actions out of the keymap (so out of help and hints too).
    let keymap = if cli.readonly { loaded.keymap.without_actions() } else { loaded.keymap };
    let mut warnings = loaded.warnings;
    // Only when that dashboard is used: with Kubernetes and no --dashboard, nothing goes there.
    warnings.extend(cleartext.filter(|_| direct));
    let mut app = App::new(dashboards, keymap, loaded.theme, warnings);
    app.readonly = cli.readonly;
    let prometheus = cli.prom_source().map_err(|e| eyre!(e))?;
    if let Some(PromSource::Url(url)) = &prometheus {
        // Checked here, so a bad address stops the launch with its reason.
        PromClient::new(url, Duration::from_secs_f64(cli.timeout)).map_err(|e| eyre!(e))?;
    }
    app.history = prometheus.as_ref().map(|p| History::new(p.describe()));
    let (tx, rx) = mpsc::channel(256);
    let mut runtime =
        raytop::runtime::Runtime::new(tx, Duration::from_secs_f64(cli.refresh), Duration::from_secs_f64(cli.timeout));
    if direct {
        runtime.add_direct(key, client);
    }
    if let Some(p) = prometheus {
        runtime.set_prometheus(p);
    }
    if !cli.readonly {
        runtime.allow_actions(&raytop::config::state_dir());
    }
    if !cli.tune_dirs.is_empty() {
        runtime.start_tune(cli.tune_dirs.clone());
    }
    if let Some(target) = kube_target {
        // With Kubernetes, its view of every RayCluster is home.
        app.view = raytop::view::View::Kube;
        app.kube_target = Some(target.clone());
        app.rebuild_rows();
        runtime.watch_kube(target);
    }
    // Without a terminal (a pipe, a service, `nohup`) there is nothing to draw on: say so and
    // point at `snapshot`, rather than panic.
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            eprintln!("raytop: no terminal to draw on ({e}); for scripts, use `raytop snapshot --json`");
            return Ok(ExitCode::from(2));
        }
    };
    let result = raytop::event_loop::run(&mut terminal, &mut app, rx, &mut runtime, started).await;
    ratatui::restore();
    drop(runtime);
    result?;
    Ok(ExitCode::SUCCESS)
}
