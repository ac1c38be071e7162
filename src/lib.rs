//! raytop: a terminal console for Ray clusters.
//!
//! Rooms (see ARCHITECTURE.md): `wire` (the outside world's shapes), `source` (tasks that fetch
//! and send `msg`s), `model` (pure state), `state` and `app` (what the app holds, and the update
//! function), `view`, `slice` and `rows` (what each view fetches and lists), `ui` (drawing), `runtime` (owns the sources),
//! `event_loop` and `tui` (the loop and the terminal), `config` (keymaps and themes as data).

pub mod action;
pub mod app;
pub mod cli;
pub mod cluster_config;
pub mod commands;
pub mod config;
pub mod effect;
pub mod event_loop;
pub mod keys;
pub mod log_pane;
pub mod logging;
pub mod loop_stats;
pub mod model;
pub mod msg;
pub mod palette;
pub mod rows;
pub mod runtime;
pub mod slice;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod tui;
pub mod ui;
pub mod units;
pub mod view;
pub mod wire;
