//! Wire types: the shapes of what raytop reads from the outside (Ray dashboard bodies, Tune's
//! files, KubeRay and Kubernetes objects), with their parsers. Depends on nothing in the crate;
//! `model` and `source` both build on it and never on each other.

pub mod dashboard;
pub mod k8s;
pub mod lenient;
pub mod prometheus;
pub mod text;
pub mod train;
pub mod tune;
