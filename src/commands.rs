//! The action subcommands (`raytop scale …`): the same planning, executor and audit log as the
//! keys, for scripts and tests. Each shows the change, asks (unless `--yes`), and says how it
//! ended; `--dry-run` stops after showing; `--readonly` refuses before anything is read.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use crate::action::audit::Audit;
use crate::action::exec::Executor;
use crate::action::{Action, GroupTarget, Preview, ScaleChange, ScaleRequest};
use crate::cli::{Cli, Confirmation};
use crate::source::kube::KubeClients;

/// Exit codes: 0 done (or dry run), 1 refused or failed, 2 not allowed to run at all.
pub async fn scale(cli: &Cli, cluster: &str, group: &str, change: ScaleChange, confirm: &Confirmation) -> ExitCode {
    if cli.readonly {
        eprintln!("raytop: --readonly: scale refused, nothing was read or sent");
        return ExitCode::from(2);
    }
    let clients = KubeClients::default();
    let connected = match clients.get(cli.context.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raytop: {e}");
            return ExitCode::from(2);
        }
    };
    let namespace = cli.namespace.clone().unwrap_or_else(|| connected.default_ns.clone());
    let target = GroupTarget { context: cli.context.clone(), namespace, cluster: cluster.into(), group: group.into() };
    let req = ScaleRequest { target, change };
    let ar = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk("ray.io", "v1", "RayCluster"));
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(connected.client.clone(), &req.target.namespace, &ar);
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
    print_preview(&preview);
    if confirm.dry_run {
        if let Ok(p) = crate::action::scale::plan(&rc.spec, &req.change, group) {
            println!("patch (application/json-patch+json): {}", p.patch);
        }
        println!("dry run: nothing was sent");
        return ExitCode::SUCCESS;
    }
    if !confirm.yes && !ask_yes() {
        println!("cancelled: nothing was sent");
        return ExitCode::FAILURE;
    }
    let executor = Executor { clients, audit: Audit::in_dir(&crate::config::state_dir()) };
    let id = format!("cli-{}", std::process::id());
    let outcome = executor.run(&id, &Action::Scale(req), &preview.fields).await;
    if outcome.ok {
        println!("done: {}", outcome.message);
        ExitCode::SUCCESS
    } else {
        eprintln!("raytop: failed: {}", outcome.message);
        ExitCode::FAILURE
    }
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
