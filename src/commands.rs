//! The action subcommands (`raytop scale …`): the same planning, executor and audit log as the
//! keys, for scripts and tests. Each shows the change, asks (unless `--yes`), and says how it
//! ended; `--dry-run` stops after showing; `--readonly` refuses before anything is read.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::action::audit::Audit;
use crate::action::exec::Executor;
use crate::action::{Action, GroupTarget, Preview, ScaleChange, ScaleRequest, ServeChange, ServeRequest, ServeTarget};
use crate::cli::{Cli, Confirmation};
use crate::source::kube::KubeClients;

/// Exit codes: 0 done (or dry run), 1 refused or failed, 2 not allowed to run at all.
pub async fn scale(cli: &Cli, cluster: &str, group: &str, change: ScaleChange, confirm: &Confirmation) -> ExitCode {
    if cli.readonly {
        eprintln!("raytop: --readonly: scale refused, nothing was read or sent");
        return ExitCode::from(2);
    }
    let clients = KubeClients::default();
    let (client, namespace) = match connect(cli, &clients).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = GroupTarget { context: cli.context.clone(), namespace, cluster: cluster.into(), group: group.into() };
    let req = ScaleRequest { target, change };
    let api = crate::source::kube::ray_api(&client, &req.target.namespace, "RayCluster");
    let obj = match api.get(cluster).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("raytop: RayCluster {}/{cluster}: {e}", req.target.namespace);
            return ExitCode::FAILURE;
        }
    };
    let rc = crate::source::kube::convert::ray_cluster(&obj);
    let preview = match crate::action::preview_scale(&rc.spec, &req) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("raytop: not sent: {e}");
            return ExitCode::FAILURE;
        }
    };
    let patch = crate::action::scale::plan(&rc.spec, &req.change, group).map(|p| p.patch);
    if let Some(code) = go_ahead(&preview, confirm, || {
        if let Ok(p) = &patch {
            println!("patch (application/json-patch+json): {p}");
        }
    }) {
        return code;
    }
    let executor = Executor {
        clients,
        audit: Audit::in_dir(&crate::config::state_dir()),
        direct: Vec::new(),
        timeout: std::time::Duration::from_secs_f64(cli.timeout),
    };
    let id = format!("cli-{}", std::process::id());
    finish(executor.run(&id, &Action::Scale(req), &preview.fields).await)
}

/// `raytop redeploy APP`: through the dashboard, or a RayService with --rayservice.
pub async fn redeploy(
    cli: &Cli,
    app: &str,
    rayservice: Option<&str>,
    change: ServeChange,
    confirm: &Confirmation,
) -> ExitCode {
    if cli.readonly {
        eprintln!("raytop: --readonly: redeploy refused, nothing was read or sent");
        return ExitCode::from(2);
    }
    let clients = KubeClients::default();
    let timeout = std::time::Duration::from_secs_f64(cli.timeout);
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let nonce = format!("{secs}-cli{}", std::process::id());
    let mut direct = Vec::new();
    // Read what is deployed and plan on it, for the preview; the executor reads and plans again.
    let planned = match rayservice {
        Some(name) => {
            let connected = match clients.get(cli.context.as_deref()).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("raytop: {e}");
                    return ExitCode::from(2);
                }
            };
            let namespace = cli.namespace.clone().unwrap_or_else(|| connected.default_ns.clone());
            let ar =
                kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk("ray.io", "v1", "RayService"));
            let api: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(connected.client, &namespace, &ar);
            let plan = match api.get(name).await {
                Ok(o) => crate::action::serve::plan_service_config(
                    o.data["spec"]["serveConfigV2"].as_str().unwrap_or_default(),
                    app,
                    &change,
                    &nonce,
                )
                .map(|(_, p)| p),
                Err(e) => Err(format!("RayService {namespace}/{name}: {e}")),
            };
            let target = ServeTarget::RayService { context: cli.context.clone(), namespace, name: name.into() };
            plan.map(|p| (target, p))
        }
        None => {
            let (url, dash) = match dashboard(cli) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let key = crate::msg::DashKey::Url(url.clone());
            direct.push((key.clone(), dash.clone()));
            let plan = match dash.json(http::Method::GET, crate::wire::dashboard::Endpoint::Serve.path(), None).await {
                Ok(current) => crate::action::serve::plan_put(&current, app, &change, &nonce).map(|(_, p)| p),
                Err(e) => Err(e.to_string()),
            };
            plan.map(|p| (ServeTarget::Dashboard { dashboard: url, key }, p))
        }
    };
    let (target, plan) = match planned {
        Ok(t) => t,
        Err(e) => {
            eprintln!("raytop: not sent: {e}");
            return ExitCode::FAILURE;
        }
    };
    let req = ServeRequest { target, app: app.into(), change, nonce };
    let action = Action::Serve(req);
    let title = match &action {
        Action::Serve(ServeRequest { change: ServeChange::Redeploy, .. }) => format!("Redeploy {app}"),
        _ => format!("Set replicas in {app}"),
    };
    let preview =
        Preview { title, target: action.target(), fields: plan.fields, next: plan.next, warnings: plan.warnings };
    if let Some(code) = go_ahead(&preview, confirm, || {}) {
        return code;
    }
    let executor = Executor { clients, audit: Audit::in_dir(&crate::config::state_dir()), direct, timeout };
    finish(executor.run(&format!("cli-{}", std::process::id()), &action, &preview.fields).await)
}

/// `raytop cancel-trial TRIAL_ID`: finds the trial under --tune-dir, checks it runs, asks, sends.
pub async fn cancel_trial(cli: &Cli, trial_id: &str, signal: bool, confirm: &Confirmation) -> ExitCode {
    if cli.readonly {
        eprintln!("raytop: --readonly: cancel-trial refused, nothing was read or sent");
        return ExitCode::from(2);
    }
    if cli.tune_dirs.is_empty() {
        eprintln!("raytop: cancel-trial needs --tune-dir DIR (the experiment's storage path)");
        return ExitCode::from(2);
    }
    let mut tune = crate::model::tune::Tune::default();
    for u in crate::source::tune::read_once(&cli.tune_dirs).await {
        tune.apply(u);
    }
    let found = tune.experiments.iter().find_map(|e| e.trials.iter().find(|t| t.trial_id == trial_id).map(|t| (e, t)));
    let Some((exp, tr)) = found else {
        eprintln!(
            "raytop: no trial {trial_id} under {}",
            cli.tune_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return ExitCode::FAILURE;
    };
    if tr.status != "RUNNING" {
        eprintln!("raytop: trial {trial_id} is {}: already finished, nothing sent", tr.status);
        return ExitCode::FAILURE;
    }
    let (Some(pid), Some(node_ip)) = (tr.pid, tr.node_ip.clone()) else {
        eprintln!("raytop: trial {trial_id} has reported no result yet, so its process is unknown");
        return ExitCode::FAILURE;
    };
    let timeout = std::time::Duration::from_secs_f64(cli.timeout);
    let (url, dash) = match dashboard(cli) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let key = crate::msg::DashKey::Url(url.clone());
    let req = crate::action::cancel::CancelRequest {
        dashboard: url,
        key: key.clone(),
        experiment: exp.name.clone(),
        experiment_dir: exp.dir.clone().into(),
        trial_id: trial_id.into(),
        logdir: tr.logdir.clone(),
        trainable: tr.trainable.clone(),
        pid,
        node_ip,
        graceful: exp.graceful_stop && !signal,
        max_failures: tr.max_failures,
    };
    let preview = crate::action::preview_cancel(&req);
    let graceful = req.graceful;
    if let Some(code) = go_ahead(&preview, confirm, || {
        if !graceful {
            println!("job entrypoint: {}", crate::action::cancel::kill_entrypoint(pid));
        }
    }) {
        return code;
    }
    let executor = Executor {
        clients: KubeClients::default(),
        audit: Audit::in_dir(&crate::config::state_dir()),
        direct: vec![(key, dash)],
        timeout,
    };
    finish(executor.run(&format!("cli-{}", std::process::id()), &Action::CancelTrial(req), &preview.fields).await)
}

/// `raytop logs …`: the log's lines on stdout as they come, read by the same source the log
/// pane runs (whole lines, terminal escapes removed; a cut stream resumed without loss or
/// repeats); notices on stderr; an error is one line on stderr and exit status 1.
pub async fn logs(
    cli: &Cli,
    what: &crate::cli::LogTarget,
    follow: bool,
    tail: Option<i64>,
    ray_cluster: Option<&str>,
) -> ExitCode {
    use crate::cli::LogTarget;
    use crate::source::logs::{Reading, open_pod, open_ray};
    if let LogTarget::Pod { name, container, previous } = what {
        let clients = KubeClients::default();
        let (client, namespace) = match connect(cli, &clients).await {
            Ok(c) => c,
            Err(code) => return code,
        };
        let log = crate::source::kube::logs::PodLog {
            namespace,
            pod: name.clone(),
            container: container.clone(),
            previous: *previous,
            tail: None,
            follow,
        };
        let how = Reading { tail, follow, reopen_on_end: false, quiet_recheck: None };
        let open = |t| open_pod(client.clone(), &log, t);
        return print_log(open, how).await;
    }
    let dash = match ray_cluster {
        Some(name) => match proxied_dashboard(cli, name).await {
            Ok(d) => d,
            Err(code) => return code,
        },
        None => match dashboard(cli) {
            Ok((_, d)) => d,
            Err(code) => return code,
        },
    };
    if let LogTarget::Node { id, file: None } = what {
        let node = crate::source::dashboard::logs::NodeRef::Id(id.clone());
        let listed = dash.json(http::Method::GET, &crate::source::dashboard::logs::list_path(&node, None), None).await;
        return match listed.map_err(|e| e.to_string()).and_then(|v| crate::source::dashboard::logs::parse_list(&v)) {
            Ok(names) => {
                // A reader that went away (`| head`) ends the listing quietly.
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = names.iter().try_for_each(|n| writeln!(out, "{n}"));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("raytop: node {id}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let target = match ray_log_target(cli, &dash, what, follow).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("raytop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let how = Reading { tail, follow, reopen_on_end: true, quiet_recheck: Some(crate::source::logs::QUIET_RECHECK) };
    print_log(|t| open_ray(&dash, &target, t, follow), how).await
}

/// The Ray log a `raytop logs` target names, looked up where it is known: the Tune files for a
/// trial, the dashboard for a replica or a job.
async fn ray_log_target(
    cli: &Cli,
    dash: &crate::source::dashboard::DashboardClient,
    what: &crate::cli::LogTarget,
    follow: bool,
) -> Result<crate::source::dashboard::logs::RayLog, String> {
    use crate::cli::LogTarget;
    use crate::source::dashboard::logs::{NodeRef, RayLog};
    match what {
        LogTarget::Actor { id, err } => Ok(RayLog::Actor { actor_id: id.clone(), err: *err }),
        LogTarget::Node { id, file } => {
            Ok(RayLog::File { node: NodeRef::Id(id.clone()), filename: file.clone().unwrap_or_default() })
        }
        LogTarget::Trial { id, err } => {
            if cli.tune_dirs.is_empty() {
                return Err("logs trial needs --tune-dir DIR (the experiment's storage path)".into());
            }
            let mut tune = crate::model::tune::Tune::default();
            for u in crate::source::tune::read_once(&cli.tune_dirs).await {
                tune.apply(u);
            }
            let trial = tune.experiments.iter().flat_map(|e| &e.trials).find(|t| t.trial_id == *id);
            let trial = trial.ok_or_else(|| format!("no trial {id} under the --tune-dir folders"))?;
            match (trial.pid, trial.node_ip.clone()) {
                (Some(pid), Some(ip)) => Ok(RayLog::Pid { node: NodeRef::Ip(ip), pid, err: *err }),
                _ => Err(format!("trial {id} has reported no result yet, so its process is unknown")),
            }
        }
        LogTarget::Replica { path, err } => {
            let parts: Vec<&str> = path.split('/').collect();
            let fetched = dash.fetch(crate::wire::dashboard::Endpoint::Serve).await.map_err(|e| e.to_string())?;
            let crate::wire::dashboard::DashData::Serve(inst) = fetched.data else {
                return Err("the dashboard's Serve answer was not understood".into());
            };
            let serve = crate::model::serve::Serve::from_instance(&inst);
            let r = serve.find_replica(parts[0], parts[1], parts.get(2).copied())?;
            Ok(RayLog::Actor { actor_id: r.actor_id.clone(), err: *err })
        }
        LogTarget::Job { id } => {
            let path = format!("/api/jobs/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
            let mut job = dash.json(http::Method::GET, &path, None).await.map_err(|e| format!("job {id}: {e}"))?;
            // A job just submitted has no driver yet: following, wait for it to start.
            let mut said = false;
            while follow && job["status"] == "PENDING" && job["driver_node_id"].as_str().is_none_or(str::is_empty) {
                if !said {
                    eprintln!("raytop: job {id} is PENDING: waiting for its driver to start");
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                job = dash.json(http::Method::GET, &path, None).await.map_err(|e| format!("job {id}: {e}"))?;
            }
            let node = job["driver_node_id"].as_str().filter(|n| !n.is_empty());
            let (Some(submission), Some(node)) = (job["submission_id"].as_str(), node) else {
                if job["status"] == "PENDING" {
                    return Err(format!("job {id} is PENDING: its driver has not started (--follow waits for it)"));
                }
                return Err(format!(
                    "job {id} has no driver log file: Ray keeps one only for jobs submitted through the \
                     Jobs API (this one is {})",
                    job["type"].as_str().unwrap_or("of an unknown type")
                ));
            };
            Ok(RayLog::Submission { submission_id: submission.to_string(), node_id: node.to_string() })
        }
        LogTarget::Pod { .. } => Err("a pod's log is read through the API server".into()),
    }
}

/// Runs the log source and prints its lines to stdout as they come.
async fn print_log<F, Fut>(open: F, how: crate::source::logs::Reading) -> ExitCode
where
    F: Fn(Option<i64>) -> Fut,
    Fut: std::future::Future<
            Output = Result<crate::source::dashboard::client::ByteStream, crate::source::logs::OpenError>,
        >,
{
    use crate::source::logs::LogEvent;
    use std::io::Write;
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let printer = async move {
        let mut out = std::io::stdout().lock();
        while let Some(event) = rx.recv().await {
            match event {
                LogEvent::Live => {}
                LogEvent::Lines(lines) => {
                    // A reader that went away (a closed pipe) ends the command quietly.
                    if !lines.iter().all(|l| writeln!(out, "{l}").is_ok()) || out.flush().is_err() {
                        return ExitCode::SUCCESS;
                    }
                }
                LogEvent::Notice(n) => eprintln!("{n}"),
                LogEvent::Lost { error, retry_in } => {
                    eprintln!("raytop: stream lost ({error}), reconnecting in {} s", retry_in.as_secs())
                }
                LogEvent::Ended { error: Some(e) } => {
                    eprintln!("raytop: {e}");
                    return ExitCode::FAILURE;
                }
                LogEvent::Ended { error: None } => return ExitCode::SUCCESS,
            }
        }
        ExitCode::SUCCESS
    };
    // The printer may stop first (a closed pipe): then the reader is dropped with it, even while
    // it waits on a quiet stream; the reader stopping first leaves its last events to print.
    let reader = crate::source::logs::read(open, how, tx);
    tokio::pin!(reader);
    tokio::pin!(printer);
    tokio::select! {
        code = &mut printer => code,
        () = &mut reader => printer.await,
    }
}

async fn connect(cli: &Cli, clients: &KubeClients) -> Result<(kube::Client, String), ExitCode> {
    match clients.get(cli.context.as_deref()).await {
        Ok(c) => Ok((c.client, cli.namespace.clone().unwrap_or(c.default_ns))),
        Err(e) => {
            eprintln!("raytop: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// RayCluster `name`'s dashboard through the API server's service proxy, with the cluster's
/// token when it has token auth: what the TUI reaches a KubeRay cluster by. It wins over
/// --dashboard (which may come from RAYTOP_DASHBOARD): it is named on this command.
async fn proxied_dashboard(cli: &Cli, name: &str) -> Result<crate::source::dashboard::DashboardClient, ExitCode> {
    let clients = KubeClients::default();
    let (client, namespace) = connect(cli, &clients).await?;
    let obj = crate::source::kube::ray_api(&client, &namespace, "RayCluster").get(name).await.map_err(|e| {
        eprintln!("raytop: RayCluster {namespace}/{name}: {}", crate::source::kube::reason(e));
        ExitCode::FAILURE
    })?;
    let route = crate::wire::k8s::DashboardRoute::of(&crate::source::kube::convert::ray_cluster(&obj));
    let timeout = std::time::Duration::from_secs_f64(cli.timeout);
    Ok(crate::source::kube::secret::proxied_client(client, &route, timeout).await)
}

/// The dashboard the command line names (with its token), and its address.
fn dashboard(cli: &Cli) -> Result<(String, crate::source::dashboard::DashboardClient), ExitCode> {
    let url = cli.dashboard_url();
    let home = dirs::home_dir();
    let timeout = std::time::Duration::from_secs_f64(cli.timeout);
    crate::source::token::resolve(
        cli.token.as_ref().map(|t| t.expose()),
        cli.token_from_env(),
        cli.token_file.as_deref(),
        home.as_deref(),
    )
    .and_then(|t| crate::source::dashboard::DashboardClient::new(&url, t, timeout))
    .map(|d| (url, d))
    .map_err(|e| {
        eprintln!("raytop: {e}");
        ExitCode::from(2)
    })
}

fn finish(outcome: crate::action::Outcome) -> ExitCode {
    if outcome.ok {
        println!("done: {}", outcome.message);
        ExitCode::SUCCESS
    } else {
        eprintln!("raytop: failed: {}", outcome.message);
        ExitCode::FAILURE
    }
}

/// Shows the change, then stops for --dry-run (after `dry_run_extra` prints what would be sent)
/// or a "no" at the prompt: `Some(exit code)` then, `None` to go ahead.
fn go_ahead(preview: &Preview, confirm: &Confirmation, dry_run_extra: impl FnOnce()) -> Option<ExitCode> {
    print_preview(preview);
    if confirm.dry_run {
        dry_run_extra();
        println!("dry run: nothing was sent");
        return Some(ExitCode::SUCCESS);
    }
    if !confirm.yes && !ask_yes() {
        println!("cancelled: nothing was sent");
        return Some(ExitCode::FAILURE);
    }
    None
}

fn print_preview(p: &Preview) {
    println!("{}: {}", p.title, p.target);
    for f in &p.fields {
        println!("  {}: {} -> {}", f.field, f.before, f.after);
    }
    println!("next: {}", p.next);
    for w in &p.warnings {
        println!("warning: {w}");
    }
}

/// Asks on the terminal; anything but y/yes (or no terminal input) is no.
fn ask_yes() -> bool {
    print!("Apply? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_lowercase().as_str(), "y" | "yes")
}
