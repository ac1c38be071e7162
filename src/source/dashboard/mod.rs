//! The Ray dashboard source: a typed HTTP client and a poller that fetches what the visible view
//! needs, at a pace that keeps the dashboard's load low.

pub mod client;
pub mod logs;
pub mod poller;

pub use crate::wire::dashboard::{DashData, Endpoint, FetchError, parse};
pub use client::DashboardClient;
