//! Key bindings as data: `keymaps/default.toml` embedded, the user's `keymap.toml` over it.

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::view::View;

const DEFAULT: &str = include_str!("../../keymaps/default.toml");

/// Everything a key can ask for. Names are the `run` values of the keymap files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Quit,
    Help,
    Palette,
    Filter,
    Back,
    NextView,
    PrevView,
    ViewCluster,
    ViewAutoscaler,
    ViewServe,
    ViewTune,
    ViewGpu,
    ViewJobs,
    ViewKube,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Refresh,
    ToggleDead,
    ToggleFold,
    /// Leaderboard: next sort column, reverse the order, cycle the status filter, switch
    /// experiment, open or close the trial detail.
    SortNext,
    SortReverse,
    StatusFilter,
    NextExperiment,
    PrevExperiment,
    TrialDetail,
    /// Jobs view: open or close the selected Train run's detail.
    RunDetail,
    /// Kube view: open or close a RayCluster (and show its dashboard in the other views).
    OpenCluster,
    /// History from Prometheus: the next window (15 min, 1 h, 6 h, 24 h).
    HistoryWindow,
    /// Actions: they change the cluster, always behind a confirmation, and are left out of
    /// the keymap with --readonly.
    ScaleUp,
    ScaleDown,
    ScaleTo,
    SetMin,
    SetMax,
    DeletePod,
    Redeploy,
    ServeReplicas,
    CancelTrial,
    /// Open the log of the selected row (trial, replica, job, node, pod).
    Logs,
    /// In the log pane (`[log]`): follow or pause, wrap, search, next and previous match, the
    /// first Traceback/ERROR, save to a file, close.
    LogFollow,
    /// A worker's stderr instead of its stdout, or back.
    LogStream,
    /// A pod's previous (restarted) container, or back to the current one.
    LogPrevious,
    LogWrap,
    LogSearch,
    LogNextMatch,
    LogPrevMatch,
    LogFirstError,
    LogSave,
    LogClose,
    /// Unbinds a key that a lower layer binds.
    Noop,
}

impl Command {
    /// Whether the command changes something outside raytop. Every command is named here, with
    /// no catch-all arm, so a new one cannot reach the keymap without being classified: what
    /// this says is what `--readonly` takes out of keys, help and hints.
    pub fn is_action(self) -> bool {
        match self {
            Command::ScaleUp
            | Command::ScaleDown
            | Command::ScaleTo
            | Command::SetMin
            | Command::SetMax
            | Command::DeletePod
            | Command::Redeploy
            | Command::ServeReplicas
            | Command::CancelTrial => true,
            Command::Quit
            | Command::Help
            | Command::Palette
            | Command::Filter
            | Command::Back
            | Command::NextView
            | Command::PrevView
            | Command::ViewCluster
            | Command::ViewAutoscaler
            | Command::ViewServe
            | Command::ViewTune
            | Command::ViewGpu
            | Command::ViewJobs
            | Command::ViewKube
            | Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown
            | Command::Refresh
            | Command::ToggleDead
            | Command::ToggleFold
            | Command::SortNext
            | Command::SortReverse
            | Command::StatusFilter
            | Command::NextExperiment
            | Command::PrevExperiment
            | Command::TrialDetail
            | Command::RunDetail
            | Command::OpenCluster
            | Command::HistoryWindow
            | Command::Logs
            | Command::LogFollow
            | Command::LogStream
            | Command::LogPrevious
            | Command::LogWrap
            | Command::LogSearch
            | Command::LogNextMatch
            | Command::LogPrevMatch
            | Command::LogFirstError
            | Command::LogSave
            | Command::LogClose
            | Command::Noop => false,
        }
    }
}

/// A key as written in a keymap file, normalised for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
}

/// `KeyCode` has no `Ord`; this is the subset keymaps can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
    Delete,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        if let Some(name) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            if let Some(c) = name.strip_prefix("C-").or_else(|| name.strip_prefix("c-")) {
                let mut chars = c.chars();
                return match (chars.next(), chars.next()) {
                    (Some(ch), None) => Some(Key { code: KeyCodeOrd::Char(ch.to_ascii_lowercase()), ctrl: true }),
                    _ => None,
                };
            }
            let code = match name.to_ascii_lowercase().as_str() {
                "enter" | "cr" => KeyCodeOrd::Enter,
                "esc" => KeyCodeOrd::Esc,
                "tab" => KeyCodeOrd::Tab,
                "backtab" | "s-tab" => KeyCodeOrd::BackTab,
                "up" => KeyCodeOrd::Up,
                "down" => KeyCodeOrd::Down,
                "left" => KeyCodeOrd::Left,
                "right" => KeyCodeOrd::Right,
                "pageup" => KeyCodeOrd::PageUp,
                "pagedown" => KeyCodeOrd::PageDown,
                "home" => KeyCodeOrd::Home,
                "end" => KeyCodeOrd::End,
                "backspace" => KeyCodeOrd::Backspace,
                "delete" | "del" => KeyCodeOrd::Delete,
                "space" => KeyCodeOrd::Char(' '),
                "lt" => KeyCodeOrd::Char('<'),
                _ => return None,
            };
            return Some(Key { code, ctrl: false });
        }
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) => Some(Key { code: KeyCodeOrd::Char(ch), ctrl: false }),
            _ => None,
        }
    }

    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            _ => return None,
        };
        Some(Key { code, ctrl })
    }

    /// How help shows the key.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCodeOrd::Char(' ') => "Space".to_string(),
            KeyCodeOrd::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        if self.ctrl { format!("Ctrl-{base}") } else { base }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub key: Key,
    pub command: Command,
    pub desc: String,
}

/// Bindings per section (`None` is `[global]`), in file order (help lists them that way).
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    sections: BTreeMap<Option<View>, Vec<Binding>>,
    /// `[log]`: the log pane's own keys, over the view's and `[global]`'s while it is open.
    log: Vec<Binding>,
}

#[derive(Deserialize)]
struct FileBinding {
    on: String,
    run: String,
    #[serde(default)]
    desc: String,
}

#[derive(Deserialize)]
struct FileSection {
    #[serde(default)]
    bindings: Vec<FileBinding>,
}

impl Keymap {
    /// The command for a key in a view: the view's section first, then `[global]`.
    pub fn resolve(&self, view: View, ev: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(ev)?;
        let find = |s: Option<View>| self.sections.get(&s).and_then(|b| b.iter().find(|b| b.key == key));
        let hit = find(Some(view)).or_else(|| find(None))?;
        (hit.command != Command::Noop).then_some(hit.command)
    }

    /// The command for a key in the log pane: `[log]` first, then `[global]`'s moves, help and
    /// quit (a view's keys do not reach through the pane).
    pub fn resolve_log(&self, ev: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(ev)?;
        if let Some(b) = self.log.iter().find(|b| b.key == key) {
            return (b.command != Command::Noop).then_some(b.command);
        }
        let global = self.sections.get(&None).and_then(|b| b.iter().find(|b| b.key == key))?;
        use Command::*;
        matches!(global.command, Quit | Help | Up | Down | Top | Bottom | PageUp | PageDown).then_some(global.command)
    }

    /// The log pane's bindings, for its hints and help.
    pub fn log_bindings(&self) -> impl Iterator<Item = &Binding> {
        self.log.iter().filter(|b| b.command != Command::Noop)
    }

    /// The first key bound to a command in the log pane.
    pub fn log_key_for(&self, command: Command) -> Option<String> {
        self.log.iter().find(|b| b.command == command).map(|b| b.key.label())
    }

    /// The bindings of a view's section (`None`: `[global]`), for help and hints; unbound keys
    /// left out.
    pub fn bindings(&self, section: Option<View>) -> impl Iterator<Item = &Binding> {
        self.sections.get(&section).into_iter().flatten().filter(|b| b.command != Command::Noop)
    }

    /// The first key bound to a command in a view (or global), for hints.
    pub fn key_for(&self, view: View, command: Command) -> Option<String> {
        [Some(view), None]
            .iter()
            .filter_map(|s| self.sections.get(s))
            .flatten()
            .find(|b| b.command == command)
            .map(|b| b.key.label())
    }

    /// Takes every action out (--readonly): their keys do nothing, and help and hints, which read
    /// the keymap, no longer offer them.
    pub fn without_actions(mut self) -> Keymap {
        for list in self.sections.values_mut() {
            list.retain(|b| !b.command.is_action());
        }
        self
    }

    /// Lays the bindings of one TOML text over this keymap. Problems become warnings naming
    /// `origin`; the good bindings still apply.
    fn overlay(&mut self, text: &str, origin: &str, warnings: &mut Vec<String>) {
        let sections: BTreeMap<String, FileSection> = match toml::from_str(text) {
            Ok(s) => s,
            Err(e) => {
                warnings
                    .push(format!("{origin}: not a valid keymap, using the defaults ({})", first_line(&e.to_string())));
                return;
            }
        };
        for (name, section) in sections {
            let bindings = section.bindings;
            let section = match name.as_str() {
                "global" => None,
                "log" => {
                    self.overlay_log(bindings, origin, warnings);
                    continue;
                }
                other => match View::from_section(other) {
                    Some(v) => Some(v),
                    None => {
                        warnings.push(format!("{origin}: unknown section [{name}] ignored"));
                        continue;
                    }
                },
            };
            let list = self.sections.entry(section).or_default();
            for b in bindings {
                let Some(key) = Key::parse(&b.on) else {
                    warnings.push(format!("{origin}: [{name}] key {:?} not understood, ignored", b.on));
                    continue;
                };
                let command = match toml::Value::String(b.run.clone()).try_into::<Command>() {
                    Ok(c) => c,
                    Err(_) => {
                        warnings
                            .push(format!("{origin}: [{name}] unknown command {:?} for {:?}, ignored", b.run, b.on));
                        continue;
                    }
                };
                let desc = if b.desc.is_empty() { b.run.replace('_', " ") } else { b.desc };
                match list.iter_mut().find(|x| x.key == key) {
                    Some(existing) => *existing = Binding { key, command, desc },
                    None => list.push(Binding { key, command, desc }),
                }
            }
        }
    }
}

impl Keymap {
    fn overlay_log(&mut self, bindings: Vec<FileBinding>, origin: &str, warnings: &mut Vec<String>) {
        for b in bindings {
            let Some(key) = Key::parse(&b.on) else {
                warnings.push(format!("{origin}: [log] key {:?} not understood, ignored", b.on));
                continue;
            };
            let Ok(command) = toml::Value::String(b.run.clone()).try_into::<Command>() else {
                warnings.push(format!("{origin}: [log] unknown command {:?} for {:?}, ignored", b.run, b.on));
                continue;
            };
            let desc = if b.desc.is_empty() { b.run.replace('_', " ") } else { b.desc };
            match self.log.iter_mut().find(|x| x.key == key) {
                Some(existing) => *existing = Binding { key, command, desc },
                None => self.log.push(Binding { key, command, desc }),
            }
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// The built-in keymap with a user's TOML text laid over it (what `load` does with the file).
pub fn load_text(text: &str, origin: &str, warnings: &mut Vec<String>) -> Keymap {
    let mut km = Keymap::default();
    km.overlay(DEFAULT, "built-in keymap", warnings);
    km.overlay(text, origin, warnings);
    km
}

/// The built-in keymap with the user's file (if any) laid over it.
pub fn load(user_file: Option<&Path>, warnings: &mut Vec<String>) -> Keymap {
    let mut km = Keymap::default();
    km.overlay(DEFAULT, "built-in keymap", warnings);
    if let Some(path) = user_file.filter(|p| p.exists()) {
        match std::fs::read_to_string(path) {
            Ok(text) => km.overlay(&text, &path.display().to_string(), warnings),
            Err(e) => warnings.push(format!("{}: cannot read ({e}), using the defaults", path.display())),
        }
    }
    km
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn builtin_keymap_parses_cleanly() {
        let mut w = Vec::new();
        let km = load(None, &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(km.resolve(View::Cluster, &key('q')), Some(Command::Quit));
        assert_eq!(km.resolve(View::Cluster, &key('d')), Some(Command::ToggleDead));
        assert_eq!(km.resolve(View::Serve, &key('d')), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.resolve(View::Serve, &ctrl_c), Some(Command::Quit));
    }

    #[test]
    fn user_file_rebinds_unbinds_and_warns() {
        let mut w = Vec::new();
        let mut km = load(None, &mut w);
        km.overlay(
            r#"
[global]
bindings = [
  { on = "x", run = "quit" },
  { on = "q", run = "noop" },
  { on = "<Nope>", run = "quit" },
  { on = "z", run = "explode" },
]
[weird]
bindings = []
"#,
            "user",
            &mut w,
        );
        // The Autoscaler view binds neither key itself, so [global] decides.
        assert_eq!(km.resolve(View::Autoscaler, &key('x')), Some(Command::Quit));
        assert_eq!(km.resolve(View::Autoscaler, &key('q')), None);
        // A view's own binding wins over [global]: x removes a pod in the Cluster view.
        assert_eq!(km.resolve(View::Cluster, &key('x')), Some(Command::DeletePod));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().any(|m| m.contains("explode")));
    }

    #[test]
    fn readonly_takes_out_every_action_key_and_only_those() {
        let mut w = Vec::new();
        let full = load(None, &mut w);
        let sections = || [None].into_iter().chain(View::ALL.map(Some));
        let actions = |km: &Keymap| -> Vec<(Option<View>, Command)> {
            sections()
                .flat_map(|s| km.bindings(s).filter(|b| b.command.is_action()).map(move |b| (s, b.command)))
                .collect()
        };
        // Positive control: the built-in keymap binds every action somewhere, so the check below
        // would see one that stayed.
        let bound: std::collections::BTreeSet<String> = actions(&full).iter().map(|(_, c)| format!("{c:?}")).collect();
        for c in [
            "ScaleUp",
            "ScaleDown",
            "ScaleTo",
            "SetMin",
            "SetMax",
            "DeletePod",
            "Redeploy",
            "ServeReplicas",
            "CancelTrial",
        ] {
            assert!(bound.contains(c), "{c} is not bound in the built-in keymap: {bound:?}");
        }
        let all = |km: &Keymap| sections().map(|s| km.bindings(s).count()).sum::<usize>();
        let readonly = full.clone().without_actions();
        assert_eq!(actions(&readonly), Vec::new());
        assert_eq!(all(&readonly), all(&full) - actions(&full).len(), "only actions leave");
        for v in View::ALL {
            for c in ['R', 'n', 'c', '+', '-', 'x', 'm', 'M'] {
                if let Some(cmd) = readonly.resolve(v, &key(c)) {
                    assert!(!cmd.is_action(), "{c} in {v:?} still runs {cmd:?}");
                }
            }
        }
    }

    #[test]
    fn broken_user_file_keeps_defaults() {
        let mut w = Vec::new();
        let mut km = load(None, &mut w);
        km.overlay("this is [not toml", "user", &mut w);
        assert_eq!(w.len(), 1);
        assert_eq!(km.resolve(View::Cluster, &key('q')), Some(Command::Quit));
    }
}
