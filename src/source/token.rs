//! Finding the Ray auth token the way Ray's own tools do, most explicit first.

use std::path::{Path, PathBuf};

/// Where a token came from, so a 401 message can say which one was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    Flag,
    Env,
    File(PathBuf),
    /// A Kubernetes Secret, `namespace/name`, key `auth_token` (KubeRay's token auth).
    Secret(String),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    pub origin: TokenOrigin,
}

/// `--token`, then `RAY_AUTH_TOKEN` (already folded into `flag_or_env` by clap, distinguished by
/// `from_env`), then `--token-file`, then Ray's default `~/.ray/auth_token` when it exists.
pub fn resolve(
    flag_or_env: Option<&str>,
    from_env: bool,
    token_file: Option<&Path>,
    home: Option<&Path>,
) -> Result<Option<Token>, String> {
    if let Some(v) = flag_or_env.map(str::trim).filter(|v| !v.is_empty()) {
        let origin = if from_env { TokenOrigin::Env } else { TokenOrigin::Flag };
        return Ok(Some(Token { value: v.to_string(), origin }));
    }
    if let Some(path) = token_file {
        return read(path).map(Some);
    }
    let default = home.map(|h| h.join(".ray").join("auth_token"));
    match default {
        Some(path) if path.is_file() => read(&path).map(Some),
        _ => Ok(None),
    }
}

fn read(path: &Path) -> Result<Token, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(Token { value, origin: TokenOrigin::File(path.to_path_buf()) })
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenOrigin::Flag => write!(f, "--token"),
            TokenOrigin::Env => write!(f, "RAY_AUTH_TOKEN"),
            TokenOrigin::File(p) => write!(f, "{}", p.display()),
            TokenOrigin::Secret(s) => write!(f, "Secret {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins_then_file_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "abc\n").unwrap();
        let t = resolve(Some("xyz"), false, Some(&file), None).unwrap().unwrap();
        assert_eq!((t.value.as_str(), t.origin), ("xyz", TokenOrigin::Flag));
        let t = resolve(None, false, Some(&file), None).unwrap().unwrap();
        assert_eq!(t.value, "abc");
        assert!(resolve(None, false, None, Some(dir.path())).unwrap().is_none());
        std::fs::create_dir(dir.path().join(".ray")).unwrap();
        std::fs::write(dir.path().join(".ray/auth_token"), "def").unwrap();
        let t = resolve(None, false, None, Some(dir.path())).unwrap().unwrap();
        assert_eq!(t.value, "def");
        assert!(resolve(None, false, Some(&dir.path().join("missing")), None).is_err());
    }
}
