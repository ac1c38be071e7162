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

/// Formats a count of cores or GPUs: whole numbers without a decimal point.
pub fn fmt_amount(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{}", v.round() as i64) } else { format!("{v:.1}") }
}

/// Formats bytes with a binary unit, one decimal.
pub fn fmt_bytes(bytes: f64) -> String {
    const STEPS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes.max(0.0);
    let mut unit = 0;
    while v >= 1024.0 && unit < STEPS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{v:.0}B") } else { format!("{v:.1}{}", STEPS[unit]) }
}

/// A resource shape as Ray prints it, e.g. `{GPU: 1, CPU: 1}`; keeps the given order.
pub fn fmt_shape(shape: &[(String, f64)]) -> String {
    let inner: Vec<String> = shape.iter().map(|(k, v)| format!("{k}: {}", fmt_amount(*v))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Formats a duration in seconds the way k9s does: 45s, 12m, 3h4m, 2d3h.
pub fn fmt_age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
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

    #[test]
    fn formats_for_humans() {
        assert_eq!(fmt_amount(2.0), "2");
        assert_eq!(fmt_amount(0.5), "0.5");
        assert_eq!(fmt_bytes(1536.0), "1.5KiB");
        assert_eq!(fmt_shape(&[("GPU".into(), 1.0), ("CPU".into(), 1.0)]), "{GPU: 1, CPU: 1}");
        assert_eq!(fmt_age(3725.0), "1h2m");
        assert_eq!(fmt_age(42.0), "42s");
    }
}
