//! Messages from sources to the app loop.

use crate::model::DashUpdate;

#[derive(Debug)]
pub enum Msg {
    /// News from the dashboard of cluster `cluster` (an index into the app's clusters).
    Dash { cluster: usize, update: DashUpdate },
    /// News from the Tune experiment folders.
    Tune(crate::source::tune::TuneUpdate),
    /// News from the Kubernetes API server.
    Kube(crate::source::kube::KubeUpdate),
}
