//! Colours as data: `themes/*.toml` embedded, a user file of the same name laid over it.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILTIN: [(&str, &str); 2] =
    [("default", include_str!("../../themes/default.toml")), ("light", include_str!("../../themes/light.toml"))];

/// Semantic colour slots; views ask for meaning ("error"), not for a colour.
#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    pub fg: Color,
    pub bg: Color,
    pub accent: Color,
    pub muted: Color,
    pub border: Color,
    pub title: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub pending: Color,
    pub header: Color,
    pub selected_fg: Color,
    pub selected_bg: Color,
    pub group: Color,
    pub bar_used: Color,
    pub bar_free: Color,
}

#[derive(Deserialize)]
struct File {
    name: String,
    base: Base,
    status: Status,
    table: Table,
    bar: Bar,
}
#[derive(Deserialize)]
struct Base {
    fg: String,
    bg: String,
    accent: String,
    muted: String,
    border: String,
    title: String,
}
#[derive(Deserialize)]
struct Status {
    ok: String,
    warn: String,
    error: String,
    pending: String,
}
#[derive(Deserialize)]
struct Table {
    header: String,
    selected_fg: String,
    selected_bg: String,
    group: String,
}
#[derive(Deserialize)]
struct Bar {
    used: String,
    free: String,
}

impl Theme {
    pub fn text(&self) -> Style {
        Style::default().fg(self.fg)
    }
    pub fn muted(&self) -> Style {
        Style::default().fg(self.muted)
    }
    pub fn accent(&self) -> Style {
        Style::default().fg(self.accent)
    }
    pub fn header(&self) -> Style {
        Style::default().fg(self.header).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::default().fg(self.selected_fg).bg(self.selected_bg)
    }
    pub fn border(&self) -> Style {
        Style::default().fg(self.border)
    }
    pub fn title(&self) -> Style {
        Style::default().fg(self.title).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        Style::default().fg(self.ok)
    }
    pub fn warn(&self) -> Style {
        Style::default().fg(self.warn)
    }
    pub fn error(&self) -> Style {
        Style::default().fg(self.error).add_modifier(Modifier::BOLD)
    }
    pub fn pending(&self) -> Style {
        Style::default().fg(self.pending)
    }
    pub fn group(&self) -> Style {
        Style::default().fg(self.group).add_modifier(Modifier::BOLD)
    }

    /// The style for a Ray status word (node, app, deployment or replica state).
    pub fn status(&self, s: &str) -> Style {
        match s {
            "ALIVE" | "RUNNING" | "HEALTHY" | "SUCCEEDED" | "FINISHED" => self.ok(),
            "DEAD" | "DEPLOY_FAILED" | "UNHEALTHY" | "FAILED" | "ERROR" | "ERRORED" | "ABORTED" => self.error(),
            "STOPPED" | "DELETING" | "STOPPING" => self.muted(),
            "DEPLOYING" | "STARTING" | "UPDATING" | "PENDING" | "RECOVERING" | "UPSCALING" | "DOWNSCALING"
            | "INITIALIZING" | "SCHEDULING" | "RESTARTING" | "RESIZING" => self.pending(),
            "WARNING" => self.warn(),
            _ => self.text(),
        }
    }

    /// The built-in default theme; cannot fail (its file is tested).
    pub fn builtin_default() -> Theme {
        let mut w = Vec::new();
        load(None, "default", &mut w)
    }
}

/// A theme from its TOML text: every colour named, or an error saying which is wrong.
pub fn parse_theme(text: &str) -> Result<Theme, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let c = |s: &str| Color::from_str(s).map_err(|_| format!("unknown colour {s:?}"));
    Ok(Theme {
        name: f.name,
        fg: c(&f.base.fg)?,
        bg: c(&f.base.bg)?,
        accent: c(&f.base.accent)?,
        muted: c(&f.base.muted)?,
        border: c(&f.base.border)?,
        title: c(&f.base.title)?,
        ok: c(&f.status.ok)?,
        warn: c(&f.status.warn)?,
        error: c(&f.status.error)?,
        pending: c(&f.status.pending)?,
        header: c(&f.table.header)?,
        selected_fg: c(&f.table.selected_fg)?,
        selected_bg: c(&f.table.selected_bg)?,
        group: c(&f.table.group)?,
        bar_used: c(&f.bar.used)?,
        bar_free: c(&f.bar.free)?,
    })
}

/// Deep-merges `over` into `base` (tables by key, everything else replaced).
fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The theme `name`: the built-in one of that name (or the default), with the user's
/// `<dir>/<name>.toml` laid over it. Errors become warnings and leave the built-in theme.
pub fn load(dir: Option<&Path>, name: &str, warnings: &mut Vec<String>) -> Theme {
    let builtin_text = BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    let base_text = builtin_text.unwrap_or(BUILTIN[0].1);
    let fallback = || parse_theme(BUILTIN[0].1).unwrap_or_else(|e| unreachable_theme(&e));
    let mut base: toml::Value = match toml::from_str(base_text) {
        Ok(v) => v,
        Err(e) => return unreachable_theme(&e.to_string()),
    };
    let user = dir.map(|d| d.join(format!("{name}.toml"))).filter(|p| p.exists());
    match (&user, builtin_text) {
        (None, None) => warnings.push(format!("theme {name:?} not found, using the default theme")),
        (Some(path), _) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<toml::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(over) => {
                let mut merged = base.clone();
                merge(&mut merged, over);
                match toml::to_string(&merged).map_err(|e| e.to_string()).and_then(|t| parse_theme(&t)) {
                    Ok(theme) => return theme,
                    Err(e) => warnings.push(format!("{}: {e}; using the built-in theme", path.display())),
                }
            }
            Err(e) => warnings.push(format!(
                "{}: not a valid theme ({}); using the built-in theme",
                path.display(),
                e.lines().next().unwrap_or_default()
            )),
        },
        (None, Some(_)) => {}
    }
    if let toml::Value::Table(t) = &mut base
        && builtin_text.is_none()
    {
        t.insert("name".into(), toml::Value::String("default".into()));
    }
    toml::to_string(&base).map_err(|e| e.to_string()).and_then(|t| parse_theme(&t)).unwrap_or_else(|_| fallback())
}

/// Only reachable if a built-in theme file is broken, which the tests rule out; still, raytop
/// must draw something rather than fail.
fn unreachable_theme(err: &str) -> Theme {
    tracing::error!("built-in theme broken: {err}");
    Theme {
        name: "fallback".into(),
        fg: Color::Reset,
        bg: Color::Reset,
        accent: Color::Cyan,
        muted: Color::DarkGray,
        border: Color::DarkGray,
        title: Color::Cyan,
        ok: Color::Green,
        warn: Color::Yellow,
        error: Color::Red,
        pending: Color::Blue,
        header: Color::Yellow,
        selected_fg: Color::Black,
        selected_bg: Color::Cyan,
        group: Color::Magenta,
        bar_used: Color::Cyan,
        bar_free: Color::DarkGray,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, text) in BUILTIN {
            let t = parse_theme(text).unwrap();
            assert_eq!(t.name, name);
        }
    }

    #[test]
    fn partial_user_theme_overrides_some_slots() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.toml"), "[status]\nerror = \"#ff0000\"\n").unwrap();
        let mut w = Vec::new();
        let t = load(Some(dir.path()), "default", &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(t.error, Color::Rgb(255, 0, 0));
        assert_eq!(t.ok, Color::Green);
    }

    #[test]
    fn bad_user_theme_warns_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("default.toml"), "[status]\nerror = \"not-a-colour\"\n").unwrap();
        let mut w = Vec::new();
        let t = load(Some(dir.path()), "default", &mut w);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(t.error, Color::LightRed);
        let t = load(Some(dir.path()), "nosuch", &mut w);
        assert_eq!(t.name, "default");
        assert_eq!(w.len(), 2);
    }
}
