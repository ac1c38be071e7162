//! Serve applications, their deployments and replicas, from `/api/serve/applications/`.

use serde::Serialize;

use super::text::clean;
use crate::wire::dashboard::{ServeInstance, ServeReplica};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Serve {
    pub proxy_location: Option<String>,
    pub applications: Vec<Application>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Application {
    pub name: String,
    pub route_prefix: Option<String>,
    pub status: String,
    /// The status message; for a failed deploy, Ray's traceback or reason.
    pub message: String,
    pub last_deployed_time: Option<f64>,
    pub deployments: Vec<Deployment>,
    /// Deployed from a config (so a PUT of the config set can change it).
    pub from_config: bool,
    /// `RAYTOP_REDEPLOY_AT` in its runtime_env: when raytop last redeployed it.
    pub redeploy_nonce: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub status: String,
    pub status_trigger: String,
    pub message: String,
    pub target_replicas: Option<u64>,
    pub replicas: Vec<Replica>,
    /// Replicas that died recently (Ray 2.60+), kept so a crash loop is visible.
    pub recent_dead: Vec<Replica>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Replica {
    pub replica_id: String,
    pub state: String,
    pub node_id: String,
    pub node_ip: String,
    /// Pod name on KubeRay.
    pub node_instance_id: String,
    pub actor_id: String,
    pub actor_name: String,
    pub pid: Option<u64>,
    pub start_time: Option<f64>,
}

impl From<&ServeReplica> for Replica {
    fn from(r: &ServeReplica) -> Self {
        Replica {
            replica_id: r.replica_id.clone(),
            state: r.state.clone(),
            node_id: r.node_id.clone(),
            node_ip: r.node_ip.clone(),
            node_instance_id: r.node_instance_id.clone(),
            actor_id: r.actor_id.clone(),
            actor_name: r.actor_name.clone(),
            pid: r.pid,
            start_time: r.start_time_s,
        }
    }
}

impl Serve {
    pub fn from_instance(inst: &ServeInstance) -> Self {
        let applications = inst
            .applications
            .iter()
            .map(|(key, app)| Application {
                name: if app.name.is_empty() { key.clone() } else { app.name.clone() },
                route_prefix: app.route_prefix.clone(),
                status: app.status.clone(),
                message: clean(app.message.trim()),
                last_deployed_time: app.last_deployed_time_s,
                from_config: app.deployed_app_config.as_ref().is_some_and(serde_json::Value::is_object),
                redeploy_nonce: app.deployed_app_config.as_ref().and_then(|c| {
                    c["runtime_env"]["env_vars"][crate::wire::dashboard::REDEPLOY_ENV].as_str().map(str::to_string)
                }),
                deployments: app
                    .deployments
                    .iter()
                    .map(|(dkey, d)| Deployment {
                        name: if d.name.is_empty() { dkey.clone() } else { d.name.clone() },
                        status: d.status.clone(),
                        status_trigger: d.status_trigger.clone(),
                        message: clean(d.message.trim()),
                        target_replicas: d.target_num_replicas,
                        replicas: d.replicas.iter().map(Replica::from).collect(),
                        recent_dead: d.recent_dead_replicas.iter().map(Replica::from).collect(),
                    })
                    .collect(),
            })
            .collect();
        Serve { proxy_location: inst.proxy_location.clone(), applications }
    }

    /// The replica `APP/DEPLOYMENT[/REPLICA]` names: by id among the live and recently dead ones,
    /// else the deployment's first live replica.
    pub fn find_replica(&self, app: &str, deployment: &str, replica: Option<&str>) -> Result<&Replica, String> {
        let a = self.applications.iter().find(|a| a.name == app).ok_or_else(|| {
            let names: Vec<&str> = self.applications.iter().map(|a| a.name.as_str()).collect();
            format!("no Serve application {app:?} (there are: {})", names.join(", "))
        })?;
        let d = a.deployments.iter().find(|d| d.name == deployment).ok_or_else(|| {
            let names: Vec<&str> = a.deployments.iter().map(|d| d.name.as_str()).collect();
            format!("no deployment {deployment:?} in {app} (there are: {})", names.join(", "))
        })?;
        match replica {
            Some(id) => d.replicas.iter().chain(&d.recent_dead).find(|r| r.replica_id == id).ok_or_else(|| {
                let ids: Vec<&str> = d.replicas.iter().chain(&d.recent_dead).map(|r| r.replica_id.as_str()).collect();
                format!("no replica {id:?} in {app}/{deployment} (there are: {})", ids.join(", "))
            }),
            None => d.replicas.first().ok_or_else(|| format!("{app}/{deployment} has no replica running")),
        }
    }

    pub fn is_unhealthy(status: &str) -> bool {
        matches!(status, "DEPLOY_FAILED" | "UNHEALTHY")
    }
}
