//! The audit log: JSON lines in the state dir, readable by the user only (0600). Every action
//! writes one line before it is sent ("intent") and one after ("result"), so a crash in between
//! leaves an intent without a result, in plain sight. Lines hold targets and values, never a
//! token or a header.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::FieldChange;

#[derive(Debug, Clone)]
pub struct Audit {
    path: PathBuf,
}

/// One line of the log.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// Unix seconds.
    pub at: f64,
    /// Ties the result line to its intent line.
    pub id: &'a str,
    pub phase: &'static str,
    pub who: &'a str,
    pub action: &'static str,
    pub target: &'a serde_json::Value,
    pub changes: &'a [FieldChange],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'a str>,
}

impl Audit {
    /// The log in `dir` (created if missing): `dir/audit.jsonl`.
    pub fn in_dir(dir: &Path) -> Audit {
        Audit { path: dir.join("audit.jsonl") }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line; the file is created 0600 and a looser mode is tightened.
    pub fn record(&self, entry: &Entry) -> std::io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&self.path)?;
        let meta = f.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))?;
        }
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        f.write_all(&line)
    }
}

/// Who acts: the local user, and the Kubernetes user of the context when there is one.
pub fn who(kube_user: Option<&str>) -> String {
    // USER is missing under some service managers and shells started bare: the process's uid
    // (the owner of /proc/self) still says who.
    let local = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata("/proc/self").ok().map(|m| format!("uid {}", m.uid()))
        })
        .unwrap_or_else(|| "unknown".into());
    match kube_user {
        Some(u) => format!("{local} (kube user {u})"),
        None => local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_to_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::in_dir(&dir.path().join("state"));
        let target = serde_json::json!({"cluster": "rc", "group": "g"});
        let changes = [FieldChange { field: "replicas", before: "1".into(), after: "2".into() }];
        let e = Entry {
            at: 1.0,
            id: "a1",
            phase: "intent",
            who: "me",
            action: "scale",
            target: &target,
            changes: &changes,
            ok: None,
            result: None,
        };
        audit.record(&e).unwrap();
        audit.record(&Entry { phase: "result", ok: Some(true), result: Some("patched"), ..e }).unwrap();
        let text = std::fs::read_to_string(audit.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0]["phase"].as_str(), lines[1]["phase"].as_str()), (Some("intent"), Some("result")));
        assert_eq!(lines[1]["changes"][0]["after"], "2");
        assert_eq!(std::fs::metadata(audit.path()).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
