//! The log pane's state: the lines read so far (bounded), where the reader is in them, what is
//! searched, and the stream's health. Pure: the keys move it, the log source's events fill it,
//! the drawing in `ui::log` reads it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tui_input::Input;

use crate::model::logs::{Bounds, LogLines};
use crate::msg::LogEvent;
use crate::source::logs::LogSpec;

/// The stream's health, as the pane's title says it.
#[derive(Debug, Clone, PartialEq)]
pub enum LogStatus {
    Connecting,
    Live,
    /// Broken (or never opened): retrying after `retry_in` from `at`; the lines read stay.
    Lost {
        at: SystemTime,
        error: String,
        retry_in: Duration,
    },
    /// Over: the whole file read, the container stopped, or a refusal no retry mends.
    Ended {
        at: SystemTime,
        error: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct LogPane {
    /// Which opening of the pane this is: events of an earlier one are dropped.
    pub id: u64,
    pub spec: LogSpec,
    pub title: String,
    pub opened: SystemTime,
    /// Where reading began: the log's last N lines (None: its start).
    pub tail: Option<i64>,
    pub lines: LogLines,
    pub status: LogStatus,
    /// When the last line came (a live stream that has gone quiet says since when).
    pub last_line_at: Option<SystemTime>,
    /// New lines scroll in (the view stays at the end); off, the view stays where it is.
    pub follow: bool,
    /// Paused: the last line shown, counting from the oldest kept.
    pub bottom: usize,
    pub wrap: bool,
    /// What `/` searched for; matches are highlighted, `n`/`N` move between them.
    pub search: Option<String>,
    /// The search being typed.
    pub typing: Option<Input>,
    /// The line the last search or jump landed on.
    pub mark: Option<usize>,
    /// Where the lines were saved, or why they could not be.
    pub saved: Option<Result<PathBuf, String>>,
    /// A one-line answer to the last key ("no match", "no error line").
    pub note: Option<String>,
}

/// Lines shown above a search hit or jump, so it is read in its context.
const CONTEXT: usize = 5;

impl LogPane {
    pub fn new(id: u64, spec: LogSpec, now: SystemTime) -> LogPane {
        LogPane {
            id,
            title: spec.describe(),
            spec,
            opened: now,
            tail: None,
            lines: LogLines::new(Bounds::default()),
            status: LogStatus::Connecting,
            last_line_at: None,
            follow: true,
            bottom: 0,
            wrap: false,
            search: None,
            typing: None,
            mark: None,
            saved: None,
            note: None,
        }
    }

    /// Folds in what the source said; true when the screen changes.
    pub fn apply(&mut self, event: LogEvent, now: SystemTime) -> bool {
        match event {
            LogEvent::Live => self.status = LogStatus::Live,
            LogEvent::Lines(lines) => {
                let dropped = self.lines.dropped;
                for l in lines {
                    self.lines.push_line(l);
                }
                self.last_line_at = Some(now);
                // Lines dropped from the front move every index a paused reader holds.
                let gone = (self.lines.dropped - dropped) as usize;
                self.bottom = self.bottom.saturating_sub(gone);
                self.mark = self.mark.and_then(|m| m.checked_sub(gone));
                if self.follow {
                    self.bottom = self.lines.len().saturating_sub(1);
                }
            }
            LogEvent::Notice(n) => {
                self.apply(LogEvent::Lines(vec![format!("⋯ {n}")]), now);
            }
            LogEvent::Lost { error, retry_in } => self.status = LogStatus::Lost { at: now, error, retry_in },
            LogEvent::Ended { error } => self.status = LogStatus::Ended { at: now, error },
        }
        true
    }

    /// The last line shown.
    pub fn bottom(&self) -> usize {
        if self.follow {
            self.lines.len().saturating_sub(1)
        } else {
            self.bottom.min(self.lines.len().saturating_sub(1))
        }
    }

    /// Moves the view by `delta` lines (up is negative); moving up pauses following, reaching the
    /// end resumes it.
    pub fn scroll(&mut self, delta: i64) {
        let last = self.lines.len().saturating_sub(1);
        let at = self.bottom() as i64 + delta;
        self.bottom = at.clamp(0, last as i64) as usize;
        self.follow = self.bottom >= last && delta > 0;
    }

    pub fn to_top(&mut self) {
        self.follow = false;
        self.bottom = 0;
    }

    pub fn to_end(&mut self) {
        self.follow = true;
        self.bottom = self.lines.len().saturating_sub(1);
    }

    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.bottom = self.bottom();
            self.follow = false;
        } else {
            self.to_end();
        }
    }

    /// Shows line `i` with a few lines of context after it, paused there.
    fn show(&mut self, i: usize) {
        self.follow = false;
        self.mark = Some(i);
        self.bottom = (i + CONTEXT).min(self.lines.len().saturating_sub(1));
    }

    /// The next (or previous) line holding the search, from the last hit (or the view's end).
    pub fn next_match(&mut self, forward: bool) {
        let Some(needle) = self.search.clone() else {
            self.note = Some("no search yet: / to search".into());
            return;
        };
        let from = match self.mark {
            Some(m) if forward => m + 1,
            Some(m) => m.saturating_sub(1),
            None => self.bottom(),
        };
        match self.lines.find(&needle, from, forward) {
            Some(i) => {
                self.note = None;
                self.show(i);
            }
            None => self.note = Some(format!("no line holds {needle:?}")),
        }
    }

    /// Starts a search from the end backwards (the newest match first, as a reader of a log
    /// looks for what just happened).
    pub fn search_for(&mut self, needle: String) {
        if needle.is_empty() {
            self.search = None;
            self.mark = None;
            return;
        }
        self.search = Some(needle);
        self.mark = None;
        self.next_match(false);
    }

    pub fn first_error(&mut self) {
        match self.lines.first_error() {
            Some(i) => {
                self.note = None;
                self.show(i);
            }
            None => self.note = Some("no Traceback or ERROR line".into()),
        }
    }

    /// A file name for the lines saved now: what they are, and when.
    pub fn save_name(&self, now: SystemTime) -> String {
        let secs = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let what: String = self
            .title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        format!("{what}-{secs}.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::dashboard::logs::RayLog;

    fn pane(n: usize) -> LogPane {
        let spec = LogSpec::Ray {
            dashboard: crate::msg::DashKey::Url("http://h".into()),
            target: RayLog::Actor { actor_id: "ab".into(), err: false },
        };
        let mut p = LogPane::new(1, spec, SystemTime::UNIX_EPOCH);
        p.apply(LogEvent::Lines((0..n).map(|i| format!("line {i}")).collect()), SystemTime::UNIX_EPOCH);
        p
    }

    #[test]
    fn following_keeps_the_end_and_scrolling_up_pauses_where_it_is() {
        let mut p = pane(100);
        assert_eq!(p.bottom(), 99);
        p.scroll(-10);
        assert!(!p.follow);
        assert_eq!(p.bottom(), 89);
        // New lines do not move a paused view.
        p.apply(LogEvent::Lines(vec!["new".into()]), SystemTime::UNIX_EPOCH);
        assert_eq!(p.bottom(), 89);
        // Back at the end, following resumes.
        p.scroll(20);
        assert!(p.follow);
        assert_eq!(p.bottom(), 100);
        p.toggle_follow();
        assert!(!p.follow);
        p.toggle_follow();
        assert!(p.follow);
    }

    #[test]
    fn a_paused_view_stays_on_its_line_when_old_lines_are_dropped() {
        let mut p = pane(0);
        p.lines = LogLines::new(Bounds { lines: 10, bytes: 1 << 20 });
        p.apply(LogEvent::Lines((0..10).map(|i| format!("line {i}")).collect()), SystemTime::UNIX_EPOCH);
        p.scroll(-3); // on "line 6"
        assert_eq!(p.lines.get(p.bottom()), Some("line 6"));
        p.apply(LogEvent::Lines(vec!["line 10".into(), "line 11".into()]), SystemTime::UNIX_EPOCH);
        assert_eq!(p.lines.get(p.bottom()), Some("line 6"));
        assert_eq!(p.lines.dropped, 2);
    }

    #[test]
    fn search_goes_newest_first_and_n_moves_on() {
        let mut p = pane(30);
        p.search_for("line 1".into()); // line 1, 10-19: the newest is 19
        assert_eq!(p.mark, Some(19));
        assert!(!p.follow);
        p.next_match(false);
        assert_eq!(p.mark, Some(18));
        p.next_match(true);
        assert_eq!(p.mark, Some(19));
        p.next_match(true); // wraps to "line 1"
        assert_eq!(p.mark, Some(1));
        p.search_for("absent".into());
        assert!(p.note.as_deref().is_some_and(|n| n.contains("absent")));
        // The first error, with context after it.
        p.apply(LogEvent::Lines(vec!["ValueError: bad".into()]), SystemTime::UNIX_EPOCH);
        p.first_error();
        assert_eq!(p.mark, Some(30));
        assert_eq!(p.save_name(SystemTime::UNIX_EPOCH), "actor_ab_stdout-0.log");
    }
}
