//! Logs go to a file in the XDG state dir (a TUI owns the terminal, so never to stderr). The
//! file is capped: past `MAX_LOG_BYTES` it becomes `raytop.log.1` (replacing the one before) and
//! a new one starts, so a raytop left open for weeks holds at most twice the cap on disk.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The most one log file grows to before it is rotated.
pub const MAX_LOG_BYTES: u64 = 8 << 20;

/// An append-only file that rotates itself to `<name>.1` when it reaches its cap.
pub struct CappedLog {
    path: PathBuf,
    file: File,
    written: u64,
    cap: u64,
}

impl CappedLog {
    pub fn open(path: &Path, cap: u64) -> std::io::Result<CappedLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(CappedLog { path: path.to_path_buf(), file, written, cap })
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, old)?;
        self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for CappedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written > 0 && self.written.saturating_add(buf.len() as u64) > self.cap {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written = self.written.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

const LOG_LINES_BUFFERED: usize = 4096;

/// Starts file logging; the guard flushes on drop. Level from `RAYTOP_LOG` (default `info`).
pub fn init() -> Option<(WorkerGuard, PathBuf)> {
    let dir = crate::config::state_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("raytop.log");
    // The channel to the writer thread is allocated whole up front: the default 128,000 lines
    // cost 4 MB of RSS for a log that writes a few lines a minute. A burst beyond this drops
    // lines rather than blocking the app loop.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .lossy(true)
        .finish(CappedLog::open(&path, MAX_LOG_BYTES).ok()?);
    let filter = EnvFilter::try_from_env("RAYTOP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).try_init().ok()?;
    Some((guard, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raytop.log");
        let mut log = CappedLog::open(&path, 64 << 10).unwrap();
        let line = format!("{}\n", "x".repeat(99));
        for _ in 0..10_000 {
            log.write_all(line.as_bytes()).unwrap();
        }
        log.flush().unwrap();
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(size(&path) <= 64 << 10, "{}", size(&path));
        assert!(size(&dir.path().join("raytop.log.1")) <= 64 << 10);
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 2, "the current log and one rotated");
        // Reopened (a new raytop): the cap counts what is already there.
        let mut again = CappedLog::open(&path, 64 << 10).unwrap();
        for _ in 0..1000 {
            again.write_all(line.as_bytes()).unwrap();
        }
        assert!(size(&path) <= 64 << 10);
    }
}
