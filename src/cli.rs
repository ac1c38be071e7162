//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A terminal console for Ray clusters: groups and nodes, autoscaler decisions, Serve apps.
#[derive(Debug, Parser)]
#[command(name = "raytop", version, about)]
pub struct Cli {
    /// The Ray dashboard's address. Falls back to RAY_ADDRESS when that is an http(s) URL.
    /// `CLUSTER=URL` names the RayCluster it belongs to, so its pods join its Ray nodes.
    #[arg(long, env = "RAYTOP_DASHBOARD", global = true)]
    pub dashboard: Option<String>,

    /// The kubeconfig context to use (default: the current one).
    #[arg(long, global = true)]
    pub context: Option<String>,

    /// The namespace to watch (default: the context's).
    #[arg(short = 'n', long, global = true, value_parser = dns_label)]
    pub namespace: Option<String>,

    /// Watch every namespace.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// Do not read Kubernetes even when a kubeconfig is there.
    #[arg(long, global = true)]
    pub no_kube: bool,

    /// Ray auth token, sent as a bearer token (for clusters with token auth on).
    #[arg(long, env = "RAY_AUTH_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<crate::source::token::Secret>,

    /// Prometheus's address, for history (Serve traffic, latency, replica health over time).
    #[arg(long, env = "RAYTOP_PROMETHEUS", global = true, value_name = "URL")]
    pub prometheus: Option<String>,

    /// A Prometheus Service reached through the API server's service proxy, for history:
    /// NAMESPACE/NAME[:PORT] (`:prom` in the TUI lists the Services that look like one).
    #[arg(
        long,
        env = "RAYTOP_PROMETHEUS_SERVICE",
        global = true,
        value_name = "NS/NAME[:PORT]",
        conflicts_with = "prometheus",
        value_parser = prometheus_service
    )]
    pub prometheus_service: Option<String>,

    /// A file holding the Ray auth token. Without --token, ~/.ray/auth_token is used if present.
    #[arg(long, env = "RAY_AUTH_TOKEN_PATH", global = true)]
    pub token_file: Option<PathBuf>,

    /// Seconds between refreshes of what the view shows. Heavy endpoints stretch their own
    /// period with the size of their answers.
    #[arg(long, default_value_t = 2.0, global = true)]
    pub refresh: f64,

    /// Seconds before a dashboard request is abandoned.
    #[arg(long, default_value_t = 10.0, global = true)]
    pub timeout: f64,

    /// The Ray cluster config (YAML or JSON with `available_node_types`): gives each group's
    /// min/max workers, which the dashboard does not serve, for the scaling verdicts.
    #[arg(long, global = true)]
    pub cluster_config: Option<PathBuf>,

    /// A Tune storage path (a folder of experiment folders, e.g. ~/ray_results) or one experiment
    /// folder; or one in cloud storage: s3://BUCKET/PREFIX, gs://BUCKET/PREFIX,
    /// az://CONTAINER/PREFIX (abfs[s]:// too). Repeatable.
    #[arg(long = "tune-dir", value_name = "DIR", global = true)]
    pub tune_dirs: Vec<PathBuf>,

    /// Which way an experiment's metric is better, when raytop should not infer it:
    /// `NAME=min|max`, NAME being the experiment's or the metric's name. Repeatable.
    #[arg(long = "tune-mode", value_name = "NAME=MODE", global = true)]
    pub tune_modes: Vec<String>,

    /// A name for the cluster on screen (default: the dashboard's host:port).
    #[arg(long, global = true)]
    pub name: Option<String>,

    /// Colour theme: default, light, or one in the config dir's themes/.
    #[arg(long, default_value = "default", global = true)]
    pub theme: String,

    /// Change nothing: actions are left out of the keymap, help and hints, and their subcommands
    /// refuse to run.
    #[arg(long, global = true)]
    pub readonly: bool,

    /// Directory of keymap.toml and themes/ (default: $XDG_CONFIG_HOME/raytop).
    #[arg(long, env = "RAYTOP_CONFIG_DIR", global = true)]
    pub config_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
pub enum LogTarget {
    /// A Tune trial's worker output (found under --tune-dir: its last result names the process).
    Trial {
        #[arg(value_parser = trial_id)]
        id: String,
        /// Its stderr instead of its stdout.
        #[arg(long)]
        err: bool,
    },
    /// An actor's worker output (also a dead actor's: Ray keeps its file).
    Actor {
        #[arg(value_parser = hex_id)]
        id: String,
        #[arg(long)]
        err: bool,
    },
    /// A Serve replica's output: APP/DEPLOYMENT (its first replica) or APP/DEPLOYMENT/REPLICA.
    Replica {
        #[arg(value_parser = replica_path)]
        path: String,
        #[arg(long)]
        err: bool,
    },
    /// A submitted Ray job's driver log (its submission id, or its job id).
    Job { id: String },
    /// A Ray node's log file (by node id); without --file, the node's files are listed.
    Node {
        #[arg(value_parser = hex_id)]
        id: String,
        /// The file, as the list names it (`raylet.out`, `gcs_server.out`, `train/…`).
        #[arg(long)]
        file: Option<String>,
    },
    /// A pod's container log (`pods/log`), in -n / --context; `job/NAME` reads the newest pod of
    /// a Kubernetes Job (a RayJob's submitter is the Job of the RayJob's name).
    Pod {
        #[arg(value_parser = pod_name)]
        name: String,
        /// The container; by default the pod's only one, or the first (Ray's, in KubeRay's pods).
        #[arg(long, short = 'c', value_parser = container_name)]
        container: Option<String>,
        /// The previous instance of a restarted container.
        #[arg(long)]
        previous: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Fetch everything once and print the model the TUI shows.
    Snapshot {
        /// Print JSON (the only format for now; kept explicit for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Scale a KubeRay worker group: set replicas, min or max, or remove one pod. Shows the change
    /// and asks before sending it (an RFC 6902 JSON Patch guarded by `test` ops).
    #[command(group(clap::ArgGroup::new("change").required(true).args(["replicas", "min", "max", "delete_pod"])))]
    Scale {
        /// The RayCluster.
        #[arg(value_parser = dns_subdomain)]
        cluster: String,
        /// The worker group (`groupName`).
        #[arg(value_parser = label_value)]
        group: String,
        /// Workers wanted. Refused when the autoscaler owns replicas: use --min or --max.
        #[arg(long)]
        replicas: Option<i64>,
        /// minReplicas (with the autoscaler, raising it makes the autoscaler add workers).
        #[arg(long)]
        min: Option<i64>,
        /// maxReplicas (with the autoscaler, lowering it makes the autoscaler remove workers).
        #[arg(long)]
        max: Option<i64>,
        /// Remove exactly this pod: replicas - 1 and scaleStrategy.workersToDelete in one patch.
        #[arg(long, value_name = "POD", value_parser = dns_subdomain)]
        delete_pod: Option<String>,
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Redeploy a Serve application (every replica replaced), or set one deployment's replicas.
    /// Through the dashboard (PUT of the whole config set, every other application as deployed),
    /// or, with --rayservice, through the RayService's spec.serveConfigV2 so KubeRay applies it.
    Redeploy {
        /// The Serve application.
        app: String,
        /// Change this RayService (in -n, --context) instead of PUTting to the dashboard.
        #[arg(long, value_name = "NAME", value_parser = dns_subdomain)]
        rayservice: Option<String>,
        /// With --replicas: the deployment whose num_replicas to set (no redeploy then).
        #[arg(long, requires = "replicas")]
        deployment: Option<String>,
        #[arg(long, requires = "deployment")]
        replicas: Option<u32>,
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Cancel one RUNNING Tune trial (found under --tune-dir): SIGTERM to its worker through a Ray
    /// job pinned to its node (the trial ends ERROR), or, when the experiment runs raytop's
    /// Stopper, a marker it obeys (the trial ends TERMINATED).
    CancelTrial {
        /// The trial id, as the leaderboard shows it.
        #[arg(value_parser = trial_id)]
        trial_id: String,
        /// Signal the worker even when the experiment runs raytop's Stopper.
        #[arg(long)]
        signal: bool,
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Print a log as plain lines (what the log pane shows): a trial's, an actor's, a Serve
    /// replica's, a job driver's or a Ray node's file through the dashboard, or a pod's container
    /// log through the API server, as `kubectl logs` reads it.
    Logs {
        #[command(subcommand)]
        what: LogTarget,
        /// Keep printing new lines as they are written.
        #[arg(long, short = 'f', global = true)]
        follow: bool,
        /// Only the last N lines (then new ones, with --follow).
        #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(i64).range(0..))]
        tail: Option<i64>,
        /// Read a Ray log from this RayCluster (in --context, -n), its dashboard reached through
        /// the API server's service proxy with its token, instead of --dashboard.
        #[arg(long, value_name = "NAME", global = true, value_parser = dns_label)]
        ray_cluster: Option<String>,
    },
    /// Print a shell completion script: `raytop completions bash > ~/.local/share/bash-completion/completions/raytop`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `raytop man > ~/.local/share/man/man1/raytop.1`.
    Man,
}

/// How an action subcommand asks before it sends.
#[derive(Debug, Clone, clap::Args)]
pub struct Confirmation {
    /// Send without asking.
    #[arg(long)]
    pub yes: bool,
    /// Print the change and stop; nothing is sent.
    #[arg(long)]
    pub dry_run: bool,
}

pub const DEFAULT_DASHBOARD: &str = "http://127.0.0.1:8265";

impl Cli {
    /// The dashboard address: the flag or RAYTOP_DASHBOARD, else an http(s) RAY_ADDRESS, else the
    /// local default.
    pub fn dashboard_url(&self) -> String {
        if let Some(d) = &self.dashboard {
            return match d.split_once('=') {
                Some((_, url)) if url.starts_with("http") => url.to_string(),
                _ => d.clone(),
            };
        }
        match std::env::var("RAY_ADDRESS") {
            Ok(a) if a.starts_with("http://") || a.starts_with("https://") => a,
            _ => DEFAULT_DASHBOARD.to_string(),
        }
    }

    /// Whether the user named a dashboard (flag, RAYTOP_DASHBOARD, an http RAY_ADDRESS) or Tune
    /// folders, which belong to a dashboard given by address. Without either, raytop on
    /// Kubernetes waits for a RayCluster to be opened rather than poll a guessed address.
    pub fn dashboard_asked(&self) -> bool {
        self.dashboard.is_some()
            || !self.tune_dirs.is_empty()
            || std::env::var("RAY_ADDRESS").is_ok_and(|a| a.starts_with("http://") || a.starts_with("https://"))
    }

    pub fn cluster_name(&self, url: &str) -> String {
        let mapped = self.dashboard.as_ref().and_then(|d| match d.split_once('=') {
            Some((name, u)) if u.starts_with("http") => Some(name.to_string()),
            _ => None,
        });
        self.name.clone().or(mapped).unwrap_or_else(|| {
            url.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/').to_string()
        })
    }

    /// `--tune-mode` values as a map; a bad one is an error naming it.
    pub fn tune_modes(&self) -> Result<std::collections::BTreeMap<String, crate::model::tune::Mode>, String> {
        self.tune_modes
            .iter()
            .map(|s| {
                let (name, mode) =
                    s.split_once('=').ok_or_else(|| format!("--tune-mode {s:?}: expected NAME=min or NAME=max"))?;
                let mode = crate::model::tune::Mode::parse(mode.trim())
                    .ok_or_else(|| format!("--tune-mode {s:?}: the mode must be min or max"))?;
                Ok((name.trim().to_string(), mode))
            })
            .collect()
    }

    /// The Kubernetes target, when raytop should read Kubernetes: a kubeconfig exists (KUBECONFIG
    /// or ~/.kube/config) or a context was asked for, and --no-kube was not given.
    pub fn kube_target(&self) -> Option<crate::source::kube::Target> {
        if self.no_kube {
            return None;
        }
        let kubeconfig = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
            || dirs::home_dir().is_some_and(|h| h.join(".kube").join("config").is_file());
        (kubeconfig || self.context.is_some()).then(|| crate::source::kube::Target {
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            all_namespaces: self.all_namespaces,
        })
    }

    /// Where history comes from, if anywhere: an address, or a Service in the chosen context.
    pub fn prom_source(&self) -> Result<Option<crate::source::prometheus::PromSource>, String> {
        use crate::source::prometheus::PromSource;
        match (&self.prometheus, &self.prometheus_service) {
            (Some(url), _) => Ok(Some(PromSource::Url(url.clone()))),
            (None, Some(spec)) => PromSource::service(self.context.clone(), spec).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Whether the token came from the environment rather than the flag (for messages).
    pub fn token_from_env(&self) -> bool {
        self.token.as_ref().is_some_and(|t| std::env::var("RAY_AUTH_TOKEN").ok().as_deref() == Some(t.expose()))
    }
}

/// A namespace: an RFC 1123 label, checked before anything is sent.
fn dns_label(s: &str) -> Result<String, String> {
    if crate::wire::k8s::is_dns_label(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a Kubernetes name (lowercase letters, digits and '-', at most 63)"))
    }
}

/// An object name (RayCluster, RayService, pod): an RFC 1123 subdomain.
fn dns_subdomain(s: &str) -> Result<String, String> {
    if crate::wire::k8s::is_dns_subdomain(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')"))
    }
}

/// A worker group name: KubeRay puts it in the `ray.io/group` label, so a label value.
fn label_value(s: &str) -> Result<String, String> {
    let ok = (1..=63).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok { Ok(s.to_string()) } else { Err(format!("{s:?} is not a worker group name")) }
}

/// A container's name: an RFC 1123 label, as Kubernetes requires.
fn container_name(s: &str) -> Result<String, String> {
    if crate::wire::k8s::is_dns_label(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a container name (lowercase letters, digits and '-', at most 63)"))
    }
}

/// `NS/NAME[:PORT]` of a Prometheus Service, checked as Kubernetes names.
fn prometheus_service(s: &str) -> Result<String, String> {
    crate::source::prometheus::PromSource::service(None, s).map(|_| s.to_string())
}

/// A pod's name, or `job/NAME`.
fn pod_name(s: &str) -> Result<String, String> {
    dns_subdomain(s.strip_prefix("job/").unwrap_or(s)).map(|_| s.to_string())
}

/// A Ray id (actor, node): hex digits.
fn hex_id(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a Ray id (hex digits)"))
    }
}

/// `APP/DEPLOYMENT[/REPLICA]`, each part non-empty.
fn replica_path(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('/').collect();
    if (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty()) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not APP/DEPLOYMENT or APP/DEPLOYMENT/REPLICA"))
    }
}

fn trial_id(s: &str) -> Result<String, String> {
    if crate::wire::tune::is_trial_id(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a Tune trial id (letters, digits, '_', '-', '.')"))
    }
}
