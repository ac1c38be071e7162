//! A program's output as raytop keeps it: whole lines, cleaned of terminal escapes, in a buffer
//! bounded by lines and by bytes. The oldest lines go first and are counted, so a 1 GiB file or a
//! program printing thousands of lines a second costs a fixed amount of memory. The lines are
//! never written to raytop's own log: they can hold secrets.

use std::collections::VecDeque;

/// The bounds a buffer keeps to (both apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub lines: usize,
    pub bytes: usize,
}

impl Default for Bounds {
    /// 50,000 lines or 16 MiB, whichever is reached first.
    fn default() -> Bounds {
        Bounds { lines: 50_000, bytes: 16 << 20 }
    }
}

impl Bounds {
    /// No bound: for a caller that drains every line as it completes (`raytop logs`).
    pub fn unbounded() -> Bounds {
        Bounds { lines: usize::MAX, bytes: usize::MAX }
    }
}

/// The longest line kept whole; the rest of a longer one, up to its newline, is cut (and said so
/// on the line), so one line without a newline cannot take the whole byte budget.
pub const MAX_LINE: usize = 64 << 10;

#[derive(Debug, Clone, Default)]
pub struct LogLines {
    bounds: Bounds,
    lines: VecDeque<String>,
    bytes: usize,
    /// Lines dropped from the front to keep within the bounds.
    pub dropped: u64,
    /// Bytes of a line not yet ended by a newline (a chunk can end mid-line), at most MAX_LINE.
    partial: Vec<u8>,
    /// Bytes of that line past MAX_LINE, not kept.
    partial_cut: usize,
}

impl LogLines {
    pub fn new(bounds: Bounds) -> LogLines {
        LogLines { bounds, ..LogLines::default() }
    }

    /// Adds a chunk of output as it came (any split, even mid-line or mid-character); returns how
    /// many whole lines it completed.
    pub fn push_bytes(&mut self, chunk: &[u8]) -> usize {
        let mut done = 0;
        let mut rest = chunk;
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            self.keep_partial(&rest[..i]);
            self.end_line();
            done += 1;
            rest = &rest[i + 1..];
        }
        self.keep_partial(rest);
        done
    }

    /// Ends the output: a last line without a newline is kept as a line.
    pub fn finish(&mut self) -> usize {
        if self.partial.is_empty() && self.partial_cut == 0 {
            return 0;
        }
        self.end_line();
        1
    }

    fn keep_partial(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.partial.len()).min(bytes.len());
        self.partial.extend_from_slice(&bytes[..room]);
        self.partial_cut += bytes.len() - room;
    }

    fn end_line(&mut self) {
        let raw = std::mem::take(&mut self.partial);
        let cut = std::mem::take(&mut self.partial_cut);
        let mut line = clean(raw.strip_suffix(b"\r").unwrap_or(&raw));
        if cut > 0 {
            line.push_str(&format!(" … [{cut} more bytes cut]"));
        }
        self.push_line(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The bounds this buffer keeps to.
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes held by the kept lines.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// Takes every kept line out, oldest first (for a caller that prints them as they come).
    pub fn drain(&mut self) -> impl Iterator<Item = String> + '_ {
        self.bytes = 0;
        self.lines.drain(..)
    }

    /// Forgets a line begun and not ended: a stream cut mid-line sends that line again, whole,
    /// when it is read anew.
    pub fn discard_partial(&mut self) {
        self.partial.clear();
        self.partial_cut = 0;
    }

    /// Adds a line already whole and cleaned (what a source sends the pane), within the bounds.
    pub fn push_line(&mut self, line: String) {
        self.bytes += line.len();
        self.lines.push_back(line);
        self.keep_bounds();
    }

    fn keep_bounds(&mut self) {
        while self.lines.len() > self.bounds.lines || (self.bytes > self.bounds.bytes && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
    }

    /// Line `i`, counting from the oldest kept.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.lines.get(i).map(String::as_str)
    }

    /// The next line at or after `from` (before it, `forward` false) holding `needle`, ignoring
    /// case; the search wraps around once.
    pub fn find(&self, needle: &str, from: usize, forward: bool) -> Option<usize> {
        let n = self.lines.len();
        if n == 0 || needle.is_empty() {
            return None;
        }
        let needle = needle.to_lowercase();
        let from = from.min(n - 1);
        let hit = |i: usize| self.lines[i].to_lowercase().contains(&needle);
        if forward {
            (from..n).chain(0..from).find(|i| hit(*i))
        } else {
            (0..=from).rev().chain((from + 1..n).rev()).find(|i| hit(*i))
        }
    }

    /// The first line where something went wrong: a Python traceback's head, else an ERROR.
    pub fn first_error(&self) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.starts_with("Traceback (most recent call last)"))
            .or_else(|| self.lines.iter().position(|l| severity(l) == Severity::Error))
    }
}

/// How bad a line says it is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warn,
    Plain,
}

/// A line's level as the usual formats write it: Python's logging and Ray's own lines
/// (`ERROR`, `WARNING` as a word), and an exception's last line (`ValueError: …`).
pub fn severity(line: &str) -> Severity {
    let end = line.char_indices().nth(160).map_or(line.len(), |(i, _)| i);
    let head = &line[..end];
    let words = || head.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty());
    let exception = head.split_once(": ").is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            && (name.ends_with("Error") || name.ends_with("Exception"))
    });
    if exception || words().any(|w| matches!(w, "ERROR" | "CRITICAL" | "FATAL")) {
        Severity::Error
    } else if words().any(|w| matches!(w, "WARN" | "WARNING")) {
        Severity::Warn
    } else {
        Severity::Plain
    }
}

/// The lines a follow keeps to find its place again after a cut.
pub const ANCHOR_LINES: usize = 16;

/// Where a reconnected stream picks up. Ray's log stream (and `pods/log`) can only start from the
/// last N lines of the file, not from a byte offset, so after a cut the stream is opened again
/// with a tail and the lines already shown are recognised: the last lines seen before the cut
/// (the anchor) are looked for among the new ones, and only what follows them is new. Nothing is
/// lost while fewer than the tail's lines were written during the cut, and nothing is shown twice
/// unless the anchor itself repeats in the file (identical lines: the latest match is taken).
#[derive(Debug, Clone)]
pub struct Resync {
    anchor: Vec<String>,
    held: Vec<String>,
    tail: usize,
}

/// What a reconnected stream's lines came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// Not decided yet: the anchor may still come.
    Holding,
    /// Found: these lines are new (none lost, none twice).
    Found(Vec<String>),
    /// Not found in the whole tail: more lines than the tail were written while cut off, or the
    /// file was replaced; every held line is given, after a notice.
    Gap(Vec<String>),
}

impl Resync {
    /// After a cut that followed `seen` (the last lines shown, oldest first), with the stream
    /// opened again for its last `tail` lines.
    pub fn new(seen: impl IntoIterator<Item = String>, tail: usize) -> Resync {
        let mut anchor: Vec<String> = seen.into_iter().collect();
        let start = anchor.len().saturating_sub(ANCHOR_LINES);
        anchor.drain(..start);
        Resync { anchor, held: Vec::new(), tail }
    }

    /// Takes the lines of one chunk of the new stream and says what they come to.
    pub fn offer(&mut self, lines: impl IntoIterator<Item = String>) -> Resumed {
        self.held.extend(lines);
        if self.anchor.is_empty() {
            return Resumed::Found(std::mem::take(&mut self.held));
        }
        let k = self.anchor.len();
        let found = (k..=self.held.len()).rev().find(|end| self.held[end - k..*end] == self.anchor[..]);
        match found {
            Some(end) => Resumed::Found(self.held.split_off(end)),
            None if self.held.len() >= self.tail => {
                // The whole tail came without the whole anchor: the tail may begin inside it
                // (more was written than the tail minus the anchor), and then what follows the
                // overlap is new and nothing is lost. Two lines at least, so one line that
                // happens to repeat is not taken for the place.
                let overlap = (2..k).rev().find(|m| self.held.len() >= *m && self.held[..*m] == self.anchor[k - m..]);
                match overlap {
                    Some(m) => Resumed::Found(self.held.split_off(m)),
                    None => Resumed::Gap(std::mem::take(&mut self.held)),
                }
            }
            None => Resumed::Holding,
        }
    }

    /// Whether lines of the new stream are held, waiting for the anchor.
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// The stream went quiet before the anchor came (the file was replaced or truncated): what
    /// was held, to be shown after a notice.
    pub fn give_up(self) -> Vec<String> {
        self.held
    }
}

/// A line as text: terminal escapes (colours, cursor moves) removed by a parser of them, not a
/// pattern, and invalid UTF-8 replaced.
pub fn clean(raw: &[u8]) -> String {
    let stripped = strip_ansi_escapes::strip(raw);
    String::from_utf8_lossy(&stripped).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_anywhere_come_out_whole_and_clean() {
        let mut l = LogLines::new(Bounds::default());
        let text = "\x1b[31mERROR\x1b[0m boom\r\nsecond li";
        for b in text.as_bytes() {
            l.push_bytes(std::slice::from_ref(b));
        }
        assert_eq!(l.iter().collect::<Vec<_>>(), ["ERROR boom"]);
        l.push_bytes("ne\n".as_bytes());
        l.push_bytes("no newline at the end".as_bytes());
        assert_eq!(l.finish(), 1);
        assert_eq!(l.iter().collect::<Vec<_>>(), ["ERROR boom", "second line", "no newline at the end"]);
        // A character split across chunks is not replaced.
        let mut l = LogLines::new(Bounds::default());
        let e = "é\n".as_bytes();
        l.push_bytes(&e[..1]);
        l.push_bytes(&e[1..]);
        assert_eq!(l.iter().next(), Some("é"));
    }

    #[test]
    fn the_bounds_drop_the_oldest_and_count_them() {
        let mut l = LogLines::new(Bounds { lines: 3, bytes: 1 << 20 });
        for i in 0..10 {
            l.push_bytes(format!("line {i}\n").as_bytes());
        }
        assert_eq!(l.iter().collect::<Vec<_>>(), ["line 7", "line 8", "line 9"]);
        assert_eq!(l.dropped, 7);
        let mut l = LogLines::new(Bounds { lines: 1000, bytes: 20 });
        for i in 0..10 {
            l.push_bytes(format!("line {i}\n").as_bytes()); // 6 bytes each
        }
        assert_eq!((l.len(), l.bytes(), l.dropped), (3, 18, 7));
        // One overlong line is cut, not kept whole, and stays one line whatever its chunks.
        let mut l = LogLines::new(Bounds::default());
        l.push_bytes(&vec![b'x'; MAX_LINE + 10]);
        l.push_bytes(b"yy\nnext\n");
        let first = l.iter().next().unwrap();
        assert!(first.ends_with(" … [12 more bytes cut]") && first.len() < MAX_LINE + 40, "{}", first.len());
        assert_eq!(l.iter().nth(1), Some("next"));
        assert_eq!(l.len(), 2);
        // Drained, the buffer is empty and counts no bytes.
        assert_eq!(l.drain().count(), 2);
        assert_eq!((l.len(), l.bytes()), (0, 0));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_reconnected_stream_resumes_after_the_last_line_seen() {
        // Seen before the cut: lines 1-5. The new stream re-sends them and two new ones, in two
        // chunks.
        let seen = strings(&["l1", "l2", "l3", "l4", "l5"]);
        let mut r = Resync::new(seen.clone(), 1000);
        assert_eq!(r.offer(strings(&["l1", "l2", "l3", "l4"])), Resumed::Holding);
        assert_eq!(r.offer(strings(&["l5", "l6", "l7"])), Resumed::Found(strings(&["l6", "l7"])));
        // A tail of 6 that begins inside the anchor (at l3): what follows l5 is new, none lost.
        let mut r = Resync::new(seen.clone(), 6);
        assert_eq!(
            r.offer(strings(&["l3", "l4", "l5", "l6", "l7", "l8"])),
            Resumed::Found(strings(&["l6", "l7", "l8"]))
        );
        // Nothing written during the cut: nothing new, nothing twice.
        let mut r = Resync::new(seen.clone(), 1000);
        assert_eq!(r.offer(strings(&["l1", "l2", "l3", "l4", "l5"])), Resumed::Found(vec![]));
        // More than the tail written meanwhile: the anchor is gone; everything is given.
        let mut r = Resync::new(seen.clone(), 3);
        assert_eq!(r.offer(strings(&["l9", "l10", "l11"])), Resumed::Gap(strings(&["l9", "l10", "l11"])));
        // Nothing seen before the cut: the new tail is all new.
        let mut r = Resync::new(Vec::new(), 1000);
        assert_eq!(r.offer(strings(&["a"])), Resumed::Found(strings(&["a"])));
        // Identical lines: the latest match is taken, so none is shown twice.
        let mut r = Resync::new(strings(&["x", "y", "x", "y"]), 1000);
        assert_eq!(r.offer(strings(&["x", "y", "x", "y", "z"])), Resumed::Found(strings(&["z"])));
        // A replaced file never shows the anchor: what was held is handed over.
        let mut r = Resync::new(seen, 1000);
        assert_eq!(r.offer(strings(&["new file"])), Resumed::Holding);
        assert_eq!(r.give_up(), strings(&["new file"]));
    }

    #[test]
    fn search_wraps_and_errors_are_found_by_word() {
        let mut l = LogLines::new(Bounds::default());
        for s in
            ["start", "WARNING low disk", "Traceback (most recent call last):", "ValueError: bad", "error-free", "end"]
        {
            l.push_line(s.to_string());
        }
        assert_eq!(l.find("VALUEerror", 0, true), Some(3));
        assert_eq!(l.find("start", 4, true), Some(0), "wraps forward");
        assert_eq!(l.find("end", 1, false), Some(5), "wraps backward");
        assert_eq!(l.find("absent", 0, true), None);
        assert_eq!(l.first_error(), Some(2));
        assert_eq!(severity("WARNING low disk"), Severity::Warn);
        assert_eq!(severity("ValueError: bad"), Severity::Error);
        assert_eq!(severity("2026-12-03 ERROR worker.py:12 -- boom"), Severity::Error);
        assert_eq!(severity("error-free"), Severity::Plain);
        assert_eq!(severity("no ERRORS here"), Severity::Plain);
        // A cut stream's half line is forgotten; the next read sends it whole.
        let mut l = LogLines::new(Bounds::default());
        l.push_bytes(b"whole\nhal");
        l.discard_partial();
        l.push_bytes(b"half line\n");
        assert_eq!(l.iter().collect::<Vec<_>>(), ["whole", "half line"]);
    }
}
