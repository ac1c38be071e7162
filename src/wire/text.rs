//! Text from the cluster is shown in a terminal: strip what a terminal would interpret.

/// Removes ANSI escape sequences (Ray colours its tracebacks) and control characters other than
/// newlines; tabs become spaces. A message must never move the cursor or recolour the screen.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params… final byte in @..~ ; other escapes: drop ESC and one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A long hex id as head and tail ("ffffff…00002"): Ray ids differ at either end.
pub fn short_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 14 {
        return id.to_string();
    }
    let head: String = id.chars().take(6).collect();
    let tail: String = id.chars().skip(n - 6).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn strips_colours_and_controls() {
        assert_eq!(clean("\u{1b}[36mray::X\u{1b}[39m ok\r\n\tnext\u{7}"), "ray::X ok\n    next");
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("cut \u{1b}["), "cut ");
    }
}
