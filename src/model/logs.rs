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
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.lines.len() > self.bounds.lines || (self.bytes > self.bounds.bytes && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
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
}
