//! Data sources: tasks that talk to the outside world and only send messages to the app loop.

pub mod dashboard;
pub mod kube;
pub mod prometheus;
pub mod token;
pub mod tune;
