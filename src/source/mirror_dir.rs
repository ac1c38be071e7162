//! The private folders remote Tune files are copied into for the scanner (from S3, from a head
//! pod): one per raytop process, begun empty, removed on exit; those of dead processes removed.

use std::path::{Path, PathBuf};

/// `cache/KIND/<pid>/PARTS…`, created empty. A part that is empty, `.` or `..` is refused.
pub fn private_dir(cache: &Path, kind: &str, parts: &[&str]) -> Result<PathBuf, String> {
    let base = cache.join(kind);
    // What a listing no longer has must not linger: each process its own copy, begun empty.
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let pid = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok());
            if pid.is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let mut dir = base.join(std::process::id().to_string());
    for part in parts {
        if part.is_empty() || *part == "." || *part == ".." || part.contains('/') {
            return Err(format!("a path with {part:?} in it is not mirrored"));
        }
        dir.push(part);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Writes a file whole through a temporary one, so the scanner never reads half of it (and,
/// a new inode, reads it anew).
pub fn replace(path: &Path, body: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("raytop-part");
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path)
}

/// Whether a key relative to a mirror (`EXP/FILE`, `EXP/TRIAL/FILE`, or one level less when
/// the storage path is itself one experiment) is a file the scanner reads and safe to write:
/// an experiment state file, a trial's result or error file; no `.`/`..` or empty parts.
pub fn wanted(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\')) {
        return false;
    }
    let name = parts[parts.len() - 1];
    let state = name.starts_with("experiment_state-") && name.ends_with(".json");
    match parts.len() {
        1 | 2 => state || (parts.len() == 2 && (name == "result.json" || name == "error.txt")),
        3 => name == "result.json" || name == "error.txt",
        _ => false,
    }
}
