//! Logs go to a file in the XDG state dir (a TUI owns the terminal, so never to stderr).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts file logging; the guard flushes on drop. Level from `RAYTOP_LOG` (default `info`).
pub fn init() -> Option<(WorkerGuard, PathBuf)> {
    let dir = crate::config::state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "raytop.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("RAYTOP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init().ok()?;
    Some((guard, dir.join("raytop.log")))
}
