//! Names of things on screen that outlive a rebuild of the rows: what is folded, opened or
//! cancelled is remembered by these, never by a row's index (which moves when the model does).

use std::fmt;

/// Something folded away: a worker group (Cluster view) or a Serve application, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fold {
    Group(String),
    App(String),
}

/// A namespaced Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> ObjectKey {
        ObjectKey { namespace: namespace.to_string(), name: name.to_string() }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A Tune trial: trial ids are unique only within their experiment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrialKey {
    pub experiment: String,
    pub trial: String,
}

impl TrialKey {
    pub fn new(experiment: &str, trial: &str) -> TrialKey {
        TrialKey { experiment: experiment.to_string(), trial: trial.to_string() }
    }
}

impl fmt::Display for TrialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.experiment, self.trial)
    }
}
