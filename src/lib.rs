//! raytop: a terminal console for Ray clusters.
//!
//! Layers: `source` (tasks that fetch and send messages), `model` (pure state), `app` (the update
//! function), `rows` and `ui` (what is drawn), `config` (keymaps and themes as data).

pub mod app;
pub mod cli;
pub mod cluster_config;
pub mod config;
pub mod logging;
pub mod model;
pub mod msg;
pub mod rows;
pub mod source;
pub mod tui;
pub mod ui;
