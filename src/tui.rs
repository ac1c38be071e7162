//! The terminal: a frame drawn as one synchronized update (so it never tears), and the signals
//! that end raytop the way `q` does, so the terminal is always restored.

use std::io::Write;

use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::{DefaultTerminal, Frame};
use tokio::sync::mpsc;

/// Draws one frame inside a synchronized update: terminals that support it show the whole frame
/// at once; the others ignore the escape codes.
pub fn draw(terminal: &mut DefaultTerminal, render: impl FnOnce(&mut Frame)) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    crossterm::queue!(out, BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(render).map(|_| ());
    crossterm::queue!(out, EndSynchronizedUpdate)?;
    out.flush()?;
    drawn
}

/// SIGTERM and SIGHUP end raytop like `q` does, so the terminal is restored.
pub fn terminate_signals() -> std::io::Result<mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::channel(1);
    for kind in [SignalKind::terminate(), SignalKind::hangup()] {
        let mut s = signal(kind)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            if s.recv().await.is_some() {
                let _ = tx.send(()).await;
            }
        });
    }
    Ok(rx)
}
