//! Numbers as people read them: cores and GPUs, bytes, resource shapes as Ray prints them, ages
//! as k9s prints them. Shared by the model's messages (verdicts, waste flags) and the views.

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

/// A time of day, UTC, `HH:MM:SS`: when something happened this session.
pub fn fmt_clock(t: std::time::SystemTime) -> String {
    let s = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, (s % 3600) / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

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
