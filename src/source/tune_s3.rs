//! Tune experiments in S3 (`--tune-dir s3://BUCKET/PREFIX`): the objects the Tune scanner reads
//! (experiment state files, each trial's `result.json` and `error.txt`) mirrored into a private
//! folder, so every Tune feature works on them as on a local storage path.
//!
//! Incremental: one listing per pass gives each object's size and ETag, so an unchanged object
//! costs no request at all. Tune replaces `result.json` whole on each upload, but the new object
//! starts with the old one (the driver's file only grows), so a longer object is read from the
//! old length (a ranged GET that must match the listed ETag, else it is read next pass); a
//! shorter or other object is read whole and replaces the local copy (a new inode: the scanner
//! reads it anew). Credentials and endpoint come the way the AWS tools find them: `AWS_*`
//! variables (`AWS_ENDPOINT_URL` included), web identity on Kubernetes (IRSA), container
//! credentials, instance metadata (`object_store`'s chain; `~/.aws` profiles are not read).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};

/// What one object of the mirror was when last read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Copied {
    etag: String,
    size: u64,
}

/// The cost and freshness of one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncPass {
    /// Requests sent: the listing's pages and each GET.
    pub requests: u64,
    /// Bytes of object bodies read (listings not counted).
    pub bytes: u64,
    /// Objects read whole, and read from their old length.
    pub whole: u64,
    pub appended: u64,
    /// When the newest mirrored object was uploaded: how old the storage's copy is.
    pub newest_upload: Option<SystemTime>,
    /// Stopped at the byte budget or inside a large file: the next pass reads on.
    pub behind: bool,
}

/// One `s3://` storage path and its local mirror. Its errors do not repeat the URL: they are
/// shown under it (a Tune problem of that path).
pub struct Mirror {
    pub url: String,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The folder the scanner reads: named as the prefix's last part (the experiment's or the
    /// storage path's name).
    pub local: PathBuf,
    copied: BTreeMap<String, Copied>,
}

/// `s3://BUCKET[/PREFIX]` → (bucket, prefix).
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
}

impl Mirror {
    /// A mirror of `url` under `cache` (raytop's state folder), with credentials from the
    /// environment.
    pub fn new(url: &str, cache: &Path) -> Result<Mirror, String> {
        Mirror::with_vars(url, cache, &[])
    }

    /// The same, with `AWS_*` variables given here winning over the environment's.
    pub fn with_vars(url: &str, cache: &Path, vars: &[(&str, &str)]) -> Result<Mirror, String> {
        use object_store::aws::AmazonS3ConfigKey;
        // Its HTTP client is reqwest with rustls, as the dashboard's: the same provider.
        crate::source::dashboard::client::install_crypto_provider();
        let (bucket, prefix) = parse_url(url).ok_or_else(|| "not an s3://BUCKET/PREFIX path".to_string())?;
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&bucket);
        // `~/.aws` profiles, as the AWS CLI reads them, for what neither the variables given nor
        // the environment set.
        let given =
            |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()).or_else(|| std::env::var(k).ok());
        let profile = crate::source::aws_profile::profile_vars(&given);
        let profile_pairs: Vec<(&str, &str)> = profile.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let vars: Vec<(&str, &str)> = profile_pairs.iter().chain(vars.iter()).copied().collect();
        let vars = vars.as_slice();
        for (k, v) in vars {
            let key: AmazonS3ConfigKey = k.to_ascii_lowercase().parse().map_err(|e| format!("{k}: {e}"))?;
            builder = builder.with_config(key, *v);
        }
        // A local S3 server (moto, MinIO) on plain HTTP: the endpoint says so.
        let var =
            |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()).or_else(|| std::env::var(k).ok());
        let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"].iter().find_map(|k| var(k));
        if endpoint.is_some_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        let mut parts: Vec<&str> = vec![&bucket];
        parts.extend(prefix.split('/').filter(|p| !p.is_empty()));
        if prefix.is_empty() {
            parts.push("_");
        }
        let local = crate::source::mirror_dir::private_dir(cache, "tune-s3", &parts)?;
        Ok(Mirror {
            url: url.to_string(),
            store: Arc::new(store),
            prefix: ObjectPath::from(prefix),
            local,
            copied: BTreeMap::new(),
        })
    }

    /// Brings the mirror up to date with one listing and a GET per changed object.
    pub async fn sync(&mut self) -> Result<SyncPass, String> {
        let mut pass = SyncPass { requests: 1, ..SyncPass::default() };
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let mut listing = self.store.list(prefix);
        let mut listed = BTreeMap::new();
        let mut keys = 0u64;
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| format!("listing: {e}"))?;
            keys += 1;
            let key = meta.location.as_ref();
            let rel = key.strip_prefix(self.prefix.as_ref()).unwrap_or(key).trim_start_matches('/').to_string();
            if crate::source::mirror_dir::wanted(&rel) {
                listed.insert(rel, meta);
            }
        }
        // A listing page holds 1,000 keys, those not mirrored (checkpoints, pickles) included.
        pass.requests += keys.saturating_sub(1) / 1000;
        // Bounded as the local reader is: a state file over its limit is not read, a result
        // file is read in chunks, a pass stops at its byte budget and the next one goes on.
        let mut budget = crate::source::tune_limits::PASS_BUDGET;
        for (rel, meta) in &listed {
            if budget == 0 {
                pass.behind = true;
                break;
            }
            if !rel.ends_with("result.json") && meta.size > crate::source::tune_limits::MAX_STATE_FILE {
                continue;
            }
            let etag = meta.e_tag.clone().unwrap_or_default();
            let seen: SystemTime = meta.last_modified.into();
            pass.newest_upload = Some(pass.newest_upload.map_or(seen, |n| n.max(seen)));
            let now = Copied { etag: etag.clone(), size: meta.size };
            let before = self.copied.get(rel).cloned();
            if before.as_ref() == Some(&now) {
                continue;
            }
            let path = self.local.join(rel);
            let local_len = std::fs::metadata(&path).map(|m| m.len()).ok();
            // Longer than what the mirror holds (appended to, or read in part so far).
            let append_from = before
                .filter(|b| rel.ends_with("result.json") && meta.size > b.size && local_len == Some(b.size))
                .map(|b| b.size)
                .filter(|n| *n > 0);
            let start = append_from.unwrap_or(0);
            let chunk = crate::source::tune_limits::READ_CHUNK.min(budget);
            let end = if rel.ends_with("result.json") { meta.size.min(start + chunk) } else { meta.size };
            let options = GetOptions {
                if_match: (!etag.is_empty()).then(|| etag.clone()),
                range: (start > 0 || end < meta.size).then_some(GetRange::Bounded(start..end)),
                ..GetOptions::default()
            };
            pass.requests += 1;
            let body = match self.store.get_opts(&meta.location, options).await {
                Ok(r) => r.bytes().await.map_err(|e| format!("{rel}: {e}"))?,
                // Replaced or deleted between the listing and the read: the next listing says.
                Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(format!("{rel}: {e}")),
            };
            pass.bytes += body.len() as u64;
            budget = budget.saturating_sub(body.len() as u64);
            let written = match append_from {
                Some(_) => {
                    pass.appended += 1;
                    std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| f.write_all(&body))
                }
                None => {
                    pass.whole += 1;
                    crate::source::mirror_dir::replace(&path, &body)
                }
            };
            written.map_err(|e| format!("{}: {e}", path.display()))?;
            // Partly read (a chunk of a large file): the rest next pass, from here.
            let have = start + body.len() as u64;
            pass.behind |= have < meta.size;
            self.copied.insert(rel.clone(), Copied { size: have, ..now });
        }
        // Gone from the storage path: gone from the mirror.
        let gone: Vec<String> = self.copied.keys().filter(|k| !listed.contains_key(*k)).cloned().collect();
        for rel in gone {
            let _ = std::fs::remove_file(self.local.join(&rel));
            self.copied.remove(&rel);
        }
        Ok(pass)
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.local);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mirror_dir::wanted;

    #[test]
    fn urls_and_the_objects_worth_mirroring() {
        assert_eq!(parse_url("s3://tune/results/"), Some(("tune".into(), "results".into())));
        assert_eq!(parse_url("s3://tune"), Some(("tune".into(), String::new())));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(parse_url("gs://tune/x"), None);
        assert!(wanted("exp/experiment_state-2026-12-03_16-00-00.json"));
        assert!(wanted("experiment_state-2026-12-03_16-00-00.json"));
        assert!(wanted("exp/train_fn_abc_00000_0/result.json"));
        assert!(wanted("exp/train_fn_abc_00000_0/error.txt"));
        assert!(wanted("train_fn_abc_00000_0/result.json"), "the storage path is one experiment");
        // Positive controls above; what is left out: checkpoints, pickles, deeper files, escapes.
        assert!(!wanted("exp/train_fn_abc_00000_0/checkpoint_000001/result.json"));
        assert!(!wanted("exp/train_fn_abc_00000_0/params.pkl"));
        assert!(!wanted("exp/tuner.pkl"));
        assert!(!wanted("exp/../result.json"));
        assert!(!wanted("exp//result.json"));
        assert!(!wanted("result.json"));
    }
}
