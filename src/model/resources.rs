//! Resource quantities: parsing the dashboard's usage text and formatting for humans.

use std::collections::BTreeMap;

use serde::Serialize;

/// A used/total pair of one logical resource (CPU cores, GPUs, bytes of memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    pub used: f64,
    pub total: f64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.used += other.used;
        self.total += other.total;
    }

    /// Fraction used in `[0, 1]`; 0 when nothing is there.
    pub fn ratio(&self) -> f64 {
        if self.total > 0.0 { (self.used / self.total).clamp(0.0, 1.0) } else { 0.0 }
    }
}

/// Parses one node's usage text, as in `nodeLogicalResources` of `/nodes?view=summary`:
/// `"1.0/2.0 CPU\n0B/16.03GiB memory\n0.0/1.0 GPU"`. Lines that don't fit are skipped; a trailing
/// remark such as "(3.0 used of 3.0 reserved in placement groups)" is ignored.
pub fn parse_usage_text(text: &str) -> BTreeMap<String, Usage> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(amounts), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some((used, total)) = amounts.split_once('/') else {
            continue;
        };
        if let (Some(used), Some(total)) = (parse_quantity(used), parse_quantity(total)) {
            out.insert(name.to_string(), Usage { used, total });
        }
    }
    out
}

/// "2.0" → 2.0, "16.03GiB" → bytes, "0B" → 0.
pub fn parse_quantity(s: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 6] = [
        ("TiB", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("GiB", 1024.0 * 1024.0 * 1024.0),
        ("MiB", 1024.0 * 1024.0),
        ("KiB", 1024.0),
        ("B", 1.0),
        ("", 1.0),
    ];
    UNITS
        .iter()
        .find_map(|(suffix, scale)| s.strip_suffix(suffix).and_then(|n| n.parse::<f64>().ok()).map(|n| n * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_usage_lines_with_units_and_remarks() {
        let text = "3.0/4.0 CPU (3.0 used of 3.0 reserved in placement groups)\n\
                    0B/16.03GiB memory\n1.0/1.0 GPU\ngarbage line";
        let u = parse_usage_text(text);
        assert_eq!(u["CPU"], Usage { used: 3.0, total: 4.0 });
        assert_eq!(u["GPU"], Usage { used: 1.0, total: 1.0 });
        assert!((u["memory"].total - 16.03 * 1024.0 * 1024.0 * 1024.0).abs() < 1.0);
        assert_eq!(u.len(), 3);
    }
}
