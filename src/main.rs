use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc;

use raytop::cli::{Cli, Cmd};
use raytop::model::history::History;
use raytop::source::prometheus::{PromClient, PromSource};
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
            Some(Cmd::Snapshot { .. }) => raytop::snapshot::run(&cli).await,
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
            Some(Cmd::Logs { what, follow, tail, ray_cluster }) => {
                Ok(raytop::commands::logs(&cli, what, *follow, *tail, ray_cluster.as_deref()).await)
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

async fn tui(cli: &Cli, started: Instant) -> Result<ExitCode> {
    let raytop::snapshot::Setup { client, state, cleartext } = raytop::snapshot::setup(cli)?;
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
