//! Configuration: built-in keymap and themes (embedded data files) laid under the user's files.
//! A broken user file never stops raytop: it yields a warning and the defaults.

pub mod keymap;
pub mod theme;

use std::path::{Path, PathBuf};

pub use keymap::{Command, Keymap};
pub use theme::Theme;

/// Where user files live: `$RAYTOP_CONFIG_DIR`, else `$XDG_CONFIG_HOME/raytop` (or its platform
/// equivalent).
pub fn config_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| dirs::config_dir().map(|d| d.join("raytop")))
}

/// Where the log goes: `$XDG_STATE_HOME/raytop` (falling back to the data or temp dir).
pub fn state_dir() -> PathBuf {
    dirs::state_dir().or_else(dirs::data_local_dir).unwrap_or_else(std::env::temp_dir).join("raytop")
}

/// The loaded configuration and what was wrong with the user's files.
pub struct Loaded {
    pub keymap: Keymap,
    pub theme: Theme,
    pub warnings: Vec<String>,
}

pub fn load(dir: Option<&Path>, theme_name: &str) -> Loaded {
    let mut warnings = Vec::new();
    let keymap = keymap::load(dir.map(|d| d.join("keymap.toml")).as_deref(), &mut warnings);
    let theme = theme::load(dir.map(|d| d.join("themes")).as_deref(), theme_name, &mut warnings);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    Loaded { keymap, theme, warnings }
}
