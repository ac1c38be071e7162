//! The Ray dashboard source: a typed HTTP client and a poller that fetches what the visible view
//! needs, at a pace that keeps the dashboard's load low.

pub mod api;
pub mod client;
pub mod poller;

use serde::Serialize;

pub use client::{DashboardClient, FetchError};

/// The dashboard endpoints raytop reads. The paths are the contract with Ray (facts §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Version,
    Nodes,
    ClusterStatus,
    ClusterStatusText,
    ClusterEvents,
    Serve,
    Jobs,
    Actors,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Version,
        Endpoint::Nodes,
        Endpoint::ClusterStatus,
        Endpoint::ClusterStatusText,
        Endpoint::ClusterEvents,
        Endpoint::Serve,
        Endpoint::Jobs,
        Endpoint::Actors,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Version => "/api/version",
            Endpoint::Nodes => "/nodes?view=summary",
            Endpoint::ClusterStatus => "/api/cluster_status",
            Endpoint::ClusterStatusText => "/api/cluster_status?format=1",
            Endpoint::ClusterEvents => "/api/v0/cluster_events?limit=10000",
            Endpoint::Serve => "/api/serve/applications/",
            Endpoint::Jobs => "/api/jobs/",
            Endpoint::Actors => {
                "/api/v0/actors?detail=1&limit=10000&filter_keys=state&filter_predicates=%3D&filter_values=ALIVE"
            }
        }
    }

    /// A short name for status lines.
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Version => "version",
            Endpoint::Nodes => "nodes",
            Endpoint::ClusterStatus => "autoscaler",
            Endpoint::ClusterStatusText => "autoscaler text",
            Endpoint::ClusterEvents => "events",
            Endpoint::Serve => "serve",
            Endpoint::Jobs => "jobs",
            Endpoint::Actors => "actors",
        }
    }
}

/// A parsed response body.
#[derive(Debug, Clone)]
pub enum DashData {
    Version(api::Version),
    Nodes(api::NodesSummary),
    ClusterStatus(api::ClusterStatusData),
    ClusterStatusText(String),
    Events(Vec<api::ClusterEvent>),
    Serve(api::ServeInstance),
    Jobs(Vec<api::JobDetails>),
    Actors(Vec<api::ActorState>),
}

/// Parses a body for an endpoint. Kept apart from the client so fixture tests call it directly.
pub fn parse(endpoint: Endpoint, body: &[u8]) -> Result<DashData, String> {
    fn envelope<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        let env: api::Envelope<T> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if !env.result {
            return Err(format!("dashboard answered result=false: {}", env.msg));
        }
        env.data.ok_or_else(|| "response has no data".to_string())
    }
    fn bare<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    }
    Ok(match endpoint {
        Endpoint::Version => DashData::Version(bare(body)?),
        Endpoint::Nodes => DashData::Nodes(envelope(body)?),
        Endpoint::ClusterStatus => DashData::ClusterStatus(envelope(body)?),
        Endpoint::ClusterStatusText => {
            let t: api::ClusterStatusText = envelope(body)?;
            DashData::ClusterStatusText(t.cluster_status.unwrap_or_default())
        }
        Endpoint::ClusterEvents => {
            let l: api::StateList<api::ClusterEvent> = envelope(body)?;
            DashData::Events(l.result.result)
        }
        Endpoint::Serve => DashData::Serve(bare(body)?),
        Endpoint::Jobs => DashData::Jobs(bare(body)?),
        Endpoint::Actors => {
            let l: api::StateList<api::ActorState> = envelope(body)?;
            DashData::Actors(l.result.result)
        }
    })
}
