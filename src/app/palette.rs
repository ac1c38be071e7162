//! The palette's commands, once `crate::palette` has parsed the line: switching the Kubernetes
//! target, choosing a cluster, choosing where history comes from.

use crate::msg::DashKey;
use crate::palette::{self, Parsed, Verb};
use crate::state::App;
use crate::view::View;

use super::Effect;

/// What `ctx` and `ns` change.
#[derive(Debug, Clone, Copy)]
enum KubeSwitch {
    Context,
    Namespace,
}

impl App {
    pub(super) fn run_palette(&mut self, line: &str) -> Vec<Effect> {
        match palette::parse(line) {
            Parsed::Empty => Vec::new(),
            Parsed::Unknown(message) => {
                self.toast = Some(message);
                Vec::new()
            }
            Parsed::Known { verb: Verb::Run(cmd), .. } => self.run(cmd),
            Parsed::Known { verb: Verb::Context, arg } => self.switch_kube(KubeSwitch::Context, arg, line),
            Parsed::Known { verb: Verb::Namespace, arg } => self.switch_kube(KubeSwitch::Namespace, arg, line),
            Parsed::Known { verb: Verb::Use, arg } => self.use_cluster(arg.unwrap_or_default()),
            Parsed::Known { verb: Verb::Prometheus, arg } => self.use_prometheus(arg),
            Parsed::Known { verb: Verb::Tune, arg } => self.choose_experiment(arg),
        }
    }

    /// `tune`: the Tune view, and which experiments there are and where they were found;
    /// `tune NAME`: the view on that experiment.
    fn choose_experiment(&mut self, name: Option<&str>) -> Vec<Effect> {
        let mut effects = self.run(crate::config::Command::ViewTune);
        let Some(c) = self.cluster() else { return effects };
        let names: Vec<String> = c.tune.experiments.iter().map(|e| e.name.clone()).collect();
        match name {
            Some(n) if names.iter().any(|e| e == n) => {
                self.tune.experiment = Some(n.to_string());
                self.rebuild_rows();
                effects.push(self.poll_effect());
            }
            Some(n) => self.toast = Some(format!("no experiment {n:?}: there are {}", list_or_none(&names))),
            None => {
                // Where each came from: a head pod's folder, a storage path, a local folder.
                let said: Vec<String> = c
                    .tune
                    .experiments
                    .iter()
                    .map(|e| {
                        let found = c.tune.storage_of(e).map(|s| {
                            let dir = s.found.iter().find(|f| f.name == e.name).map(|f| f.dir.clone());
                            format!("{}: {}", s.url, dir.unwrap_or_else(|| s.url.clone()))
                        });
                        format!("{} ({})", e.name, found.unwrap_or_else(|| e.dir.clone()))
                    })
                    .collect();
                self.toast = Some(match said.is_empty() {
                    true => "no Tune experiments found".to_string(),
                    false => format!("experiments: {} — :tune NAME shows one", said.join(", ")),
                });
            }
        }
        effects
    }

    /// `ctx NAME`, `ns NAME`, `ns all`: a new target for the Kubernetes source.
    fn switch_kube(&mut self, what: KubeSwitch, arg: Option<&str>, line: &str) -> Vec<Effect> {
        let Some(arg) = arg else {
            let verb = line.split_whitespace().next().unwrap_or_default();
            self.toast = Some(format!("{verb} needs a name"));
            return Vec::new();
        };
        let Some(mut target) = self.kube_target.clone() else {
            self.toast = Some("Kubernetes is off: start raytop with a kubeconfig".into());
            return Vec::new();
        };
        match what {
            KubeSwitch::Context => {
                target.context = Some(arg.to_string());
                target.namespace = None;
            }
            KubeSwitch::Namespace if arg == "all" => {
                target.all_namespaces = true;
                target.namespace = None;
            }
            KubeSwitch::Namespace => {
                target.all_namespaces = false;
                target.namespace = Some(arg.to_string());
            }
        }
        self.kube_target = Some(target.clone());
        self.k8s = crate::model::k8s::K8s::default();
        // Opened clusters, and the dashboards opened through them, belong to what was watched
        // before: close them (their pollers stop with the next Poll effect).
        self.k8s_expanded.clear();
        let shown = self.cluster().map(|c| c.key.clone());
        self.dashboards.retain(|d| matches!(d.key, DashKey::Url(_)));
        self.current = shown.and_then(|k| self.dashboards.iter().position(|d| d.key == k)).unwrap_or(0);
        self.toast = Some(format!("watching {}", line.trim()));
        self.view = View::Kube;
        self.rebuild_rows();
        vec![Effect::Kube(target), self.poll_effect()]
    }

    /// `prom`: list the Services that look like Prometheus. `prom NS/NAME[:PORT]` or `prom URL`:
    /// take history from there (through the API server for a Service).
    fn use_prometheus(&mut self, arg: Option<&str>) -> Vec<Effect> {
        use crate::source::prometheus::PromSource;
        let source = match arg {
            None => {
                let Some(target) = &self.kube_target else {
                    self.toast = Some("Kubernetes is off: start raytop with a kubeconfig, or use :prom URL".into());
                    return Vec::new();
                };
                self.toast = Some("looking for Prometheus Services …".into());
                let namespace = target.namespace.clone();
                return vec![Effect::FindPrometheus { context: self.kube_context(), namespace }];
            }
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => PromSource::Url(url.into()),
            Some(spec) => match PromSource::service(self.kube_context(), spec) {
                Ok(s) => s,
                Err(e) => {
                    self.toast = Some(e);
                    return Vec::new();
                }
            },
        };
        let mut history = crate::model::history::History::new(source.describe());
        if let Some(old) = &self.history {
            history.window_s = old.window_s;
        }
        self.toast = Some(format!("history from {}", source.describe()));
        self.set_history(history);
        vec![Effect::Prometheus(source), self.poll_effect()]
    }

    /// `use NAME`: a RayCluster by name (or a dashboard given with --dashboard NAME=URL).
    fn use_cluster(&mut self, name: &str) -> Vec<Effect> {
        if name.is_empty() {
            let names: Vec<&str> = self.k8s.clusters.iter().map(|c| c.name.as_str()).collect();
            self.toast = Some(format!("use needs a RayCluster name: {}", names.join(", ")));
            return Vec::new();
        }
        let fx = if let Some(ci) = self.k8s.clusters.iter().position(|c| c.name == name) {
            self.open_dashboard(ci)
        } else if let Some(i) = self.dashboards.iter().position(|c| c.name == name) {
            self.show_cluster(i)
        } else {
            self.toast = Some(format!("no RayCluster named {name:?}"));
            return Vec::new();
        };
        self.toast = Some(format!("showing {name}"));
        fx
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}
