//! Tune experiments in cloud storage (`--tune-dir s3://…`, `gs://…`, `az://…`): the objects the
//! Tune scanner reads (experiment state files, each trial's `result.json` and `error.txt`)
//! mirrored into a private folder, so every Tune feature works on them as on a local storage
//! path.
//!
//! Incremental: one listing per pass gives each object's size and ETag, so an unchanged object
//! costs no request at all. Tune replaces `result.json` whole on each upload, but the new object
//! starts with the old one (the driver's file only grows), so a longer object is read from the
//! old length (a ranged GET that must match the listed ETag, else it is read next pass); a
//! shorter or other object is read whole and replaces the local copy (a new inode: the scanner
//! reads it anew). Credentials and endpoints come the way each cloud's own tools find them (see
//! `s3_store`, `gcs_store`, `azure_store`).

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

/// One storage path in the cloud and its local mirror. Its errors do not repeat the URL: they are
/// shown under it (a Tune problem of that path).
pub struct Mirror {
    pub url: String,
    cloud: Cloud,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The folder the scanner reads: named as the prefix's last part (the experiment's or the
    /// storage path's name).
    pub local: PathBuf,
    copied: BTreeMap<String, Copied>,
}

/// Which cloud a storage path lies in, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// `s3://BUCKET/PREFIX` (AWS, or any S3-compatible server).
    S3,
    /// `gs://BUCKET/PREFIX` (Google Cloud Storage).
    Gcs,
    /// `az://CONTAINER/PREFIX`, `abfs[s]://CONTAINER/PREFIX` or
    /// `abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX` (Azure Blob Storage).
    Azure,
}

/// A storage path taken apart: its cloud, its bucket (for Azure the container, with
/// `@ACCOUNT…` where the URL names the account), and the prefix under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUrl {
    pub cloud: Cloud,
    pub scheme: String,
    pub bucket: String,
    pub prefix: String,
}

/// The schemes `--tune-dir` reads as cloud storage paths, for messages.
pub const SCHEMES: &str = "s3://, gs://, az://, abfs:// or abfss://";

/// `SCHEME://BUCKET[/PREFIX]` → its parts; `None` for another scheme or no bucket.
pub fn parse_url(url: &str) -> Option<StorageUrl> {
    let (scheme, rest) = url.split_once("://")?;
    let cloud = match scheme {
        "s3" => Cloud::S3,
        "gs" => Cloud::Gcs,
        "az" | "abfs" | "abfss" => Cloud::Azure,
        _ => return None,
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| StorageUrl {
        cloud,
        scheme: scheme.to_string(),
        bucket: bucket.to_string(),
        prefix: prefix.trim_matches('/').to_string(),
    })
}

/// How a variable is looked up: the ones given win over the process environment.
fn lookup<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
    |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()).or_else(|| std::env::var(k).ok())
}

/// An S3 bucket's client: `AWS_*` variables, then an `~/.aws` profile for what they leave
/// unset, then `object_store`'s chain (web identity, container credentials, instance metadata).
fn s3_store(bucket: &str, vars: &[(&str, &str)]) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::AmazonS3ConfigKey;
    let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    // `~/.aws` profiles, as the AWS CLI reads them, for what neither the variables given nor
    // the environment set.
    let profile = crate::source::aws_profile::profile_vars(&lookup(vars));
    let profile_pairs: Vec<(&str, &str)> = profile.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let vars: Vec<(&str, &str)> = profile_pairs.iter().chain(vars.iter()).copied().collect();
    for (k, v) in &vars {
        let key: AmazonS3ConfigKey = k.to_ascii_lowercase().parse().map_err(|e| format!("{k}: {e}"))?;
        builder = builder.with_config(key, *v);
    }
    // A local S3 server (moto, MinIO) on plain HTTP: the endpoint says so.
    let var = lookup(&vars);
    let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"].iter().find_map(|k| var(k));
    if endpoint.is_some_and(|e| e.starts_with("http://")) {
        builder = builder.with_allow_http(true);
    }
    Ok(Arc::new(builder.build().map_err(|e| face(&e))?))
}

/// A GCS bucket's client: `GOOGLE_*` variables (`GOOGLE_APPLICATION_CREDENTIALS`, a service
/// account), else the application default credentials gcloud writes, else the metadata server
/// (workload identity on GKE). `STORAGE_EMULATOR_HOST`, which Google's own client libraries
/// read, points it at an emulator (fake-gcs-server) without signing.
fn gcs_store(bucket: &str, vars: &[(&str, &str)]) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::gcp::GoogleConfigKey;
    let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
    for (k, v) in vars.iter().filter(|(k, _)| k.starts_with("GOOGLE_")) {
        let key: GoogleConfigKey = k.to_ascii_lowercase().parse().map_err(|e| format!("{k}: {e}"))?;
        builder = builder.with_config(key, *v);
    }
    if let Some(host) = lookup(vars)("STORAGE_EMULATOR_HOST").filter(|h| !h.is_empty()) {
        let base = if host.contains("://") { host } else { format!("http://{host}") };
        builder = builder
            .with_config(GoogleConfigKey::BaseUrl, base.trim_end_matches('/'))
            .with_config(GoogleConfigKey::SkipSignature, "true");
    }
    Ok(Arc::new(builder.build().map_err(|e| face(&e))?))
}

/// An Azure container's client: `AZURE_*` variables (account name and key, SAS, a service
/// principal, workload identity on AKS, the Azure CLI's login, managed identity), and
/// `AZURE_STORAGE_CONNECTION_STRING` for what they leave unset, as the Azure tools read it.
fn azure_store(path: &StorageUrl, vars: &[(&str, &str)]) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::azure::AzureConfigKey;
    let mut builder =
        object_store::azure::MicrosoftAzureBuilder::from_env().with_url(format!("{}://{}", path.scheme, path.bucket));
    let var = lookup(vars);
    let from_string = var("AZURE_STORAGE_CONNECTION_STRING")
        .map(|s| crate::source::azure_connection::connection_vars(&s, &var))
        .transpose()?
        .unwrap_or_default();
    let given = vars.iter().filter(|(k, _)| k.starts_with("AZURE_") && *k != "AZURE_STORAGE_CONNECTION_STRING");
    let pairs = from_string.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(given.copied());
    for (k, v) in pairs {
        let key: AzureConfigKey = k.to_ascii_lowercase().parse().map_err(|e| format!("{k}: {e}"))?;
        builder = builder.with_config(key, v);
    }
    Ok(Arc::new(builder.build().map_err(|e| {
        match e {
            object_store::Error::Generic { source, .. } if source.to_string().contains("Account must be specified") => {
                "no Azure storage account: set AZURE_STORAGE_ACCOUNT_NAME (with a key, a SAS or a login) or \
             AZURE_STORAGE_CONNECTION_STRING, or name it in the URL: \
             abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX"
                    .to_string()
            }
            other => face(&other),
        }
    })?))
}

/// An object store's error as the screen says it: the HTTP status and the server's own code and
/// message when it answered (not the whole XML body), without the crate's "Generic … error"
/// prefix; with what to check when the server refused the credentials.
fn said(cloud: Cloud, e: &object_store::Error) -> String {
    let mut said = face(e);
    if said.starts_with("401") || said.starts_with("403") {
        said.push_str(&format!(" (refused the credentials from {})", cloud.credentials()));
    }
    said
}

/// The error itself, for [`said`].
fn face(e: &object_store::Error) -> String {
    let text = e.to_string();
    let between = |s: &str, open: &str, close: &str| {
        let from = s.find(open)? + open.len();
        let to = s[from..].find(close)? + from;
        Some(s[from..to].lines().next().unwrap_or_default().trim().to_string())
    };
    const MARK: &str = "Server returned non-2xx status code: ";
    let Some(at) = text.find(MARK) else {
        return match e {
            object_store::Error::Generic { source, .. } => source.to_string(),
            _ => text,
        };
    };
    let answer = &text[at + MARK.len()..];
    let status = answer.split(':').next().unwrap_or_default().trim();
    let mut said = status.to_string();
    for part in [between(answer, "<Code>", "</Code>"), between(answer, "<Message>", "</Message>")].into_iter().flatten()
    {
        said.push_str(": ");
        said.push_str(&part);
    }
    said
}

impl Cloud {
    /// Where raytop found the credentials a server refused, to say what to check.
    fn credentials(self) -> &'static str {
        match self {
            Cloud::S3 => "AWS_* variables or the ~/.aws profile",
            Cloud::Gcs => {
                "GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default credentials or the metadata server"
            }
            Cloud::Azure => "AZURE_STORAGE_* variables, AZURE_STORAGE_CONNECTION_STRING or the Azure login",
        }
    }
}

impl Mirror {
    /// A mirror of `url` under `cache` (raytop's state folder), with credentials from the
    /// environment.
    pub fn new(url: &str, cache: &Path) -> Result<Mirror, String> {
        Mirror::with_vars(url, cache, &[])
    }

    /// The same, with the cloud's variables given here winning over the environment's.
    pub fn with_vars(url: &str, cache: &Path, vars: &[(&str, &str)]) -> Result<Mirror, String> {
        // Its HTTP client is reqwest with rustls, as the dashboard's: the same provider.
        crate::source::dashboard::client::install_crypto_provider();
        let path =
            parse_url(url).ok_or_else(|| format!("not a storage path raytop reads: {SCHEMES}, then BUCKET/PREFIX"))?;
        let store = match path.cloud {
            Cloud::S3 => s3_store(&path.bucket, vars)?,
            Cloud::Gcs => gcs_store(&path.bucket, vars)?,
            Cloud::Azure => azure_store(&path, vars)?,
        };
        let mut parts: Vec<&str> = vec![&path.bucket];
        parts.extend(path.prefix.split('/').filter(|p| !p.is_empty()));
        if path.prefix.is_empty() {
            parts.push("_");
        }
        let local = crate::source::mirror_dir::private_dir(cache, "tune-cloud", &parts)?;
        Ok(Mirror {
            url: url.to_string(),
            cloud: path.cloud,
            store,
            prefix: ObjectPath::from(path.prefix),
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
            let meta = meta.map_err(|e| format!("listing: {}", said(self.cloud, &e)))?;
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
                // A server that ignores If-Match (fake-gcs-server does) still names the object it
                // sent: another one than listed was put in between, and is read next pass.
                Ok(r) if !same_etag(r.meta.e_tag.as_deref(), &etag) => continue,
                Ok(r) => r.bytes().await.map_err(|e| format!("{rel}: {}", said(self.cloud, &e)))?,
                // Replaced or deleted between the listing and the read: the next listing says.
                Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(format!("{rel}: {}", said(self.cloud, &e))),
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

/// Whether a response's ETag is the listed one: listings and headers quote it differently (GCS
/// lists it bare); a response without one, or a listing without one, is taken as it comes.
fn same_etag(sent: Option<&str>, listed: &str) -> bool {
    let bare = |e: &str| e.trim_start_matches("W/").trim_matches('"').to_string();
    match sent {
        Some(sent) if !listed.is_empty() => bare(sent) == bare(listed),
        _ => true,
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
    fn a_refusal_is_said_by_its_status_and_the_servers_code_not_its_whole_body() {
        let source: Box<dyn std::error::Error + Send + Sync> = "Error performing list request: Error performing GET \
             http://127.0.0.1:1/acct/tune?restype=container in 5ms - Server returned non-2xx status code: 403 Forbidden: \
             <?xml version=\"1.0\"?>\n<Error>\n  <Code>AuthorizationFailure</Code>\n  <Message>Server failed to \
             authenticate the request.\nRequestId:33</Message>\n</Error>"
            .into();
        let said = said(Cloud::Azure, &object_store::Error::Generic { store: "MicrosoftAzure", source });
        assert_eq!(
            said,
            "403 Forbidden: AuthorizationFailure: Server failed to authenticate the request. \
             (refused the credentials from AZURE_STORAGE_* variables, AZURE_STORAGE_CONNECTION_STRING or the Azure login)"
        );
        let plain = face(&object_store::Error::Generic { store: "GCS", source: "no route".into() });
        assert_eq!(plain, "no route", "no answer: the cause as it is, without the crate's prefix");
    }

    #[test]
    fn an_object_sent_is_the_one_listed_whatever_the_quotes() {
        assert!(same_etag(Some("\"VHKUjnrFxEF7KskVnSwXww==\""), "VHKUjnrFxEF7KskVnSwXww=="));
        assert!(same_etag(Some("\"0x8DE\""), "\"0x8DE\""));
        assert!(!same_etag(Some("\"0x8DF\""), "\"0x8DE\""), "replaced between listing and read");
        assert!(same_etag(None, "\"0x8DE\""), "no ETag sent: nothing to compare");
    }

    #[test]
    fn urls_and_the_objects_worth_mirroring() {
        let parts = |url: &str| parse_url(url).map(|p| (p.cloud, p.bucket, p.prefix));
        assert_eq!(parts("s3://tune/results/"), Some((Cloud::S3, "tune".into(), "results".into())));
        assert_eq!(parts("s3://tune"), Some((Cloud::S3, "tune".into(), String::new())));
        assert_eq!(parts("gs://tune/a/b"), Some((Cloud::Gcs, "tune".into(), "a/b".into())));
        assert_eq!(parts("az://tune/x"), Some((Cloud::Azure, "tune".into(), "x".into())));
        let abfs = parts("abfss://tune@acct.dfs.core.windows.net/x/");
        assert_eq!(abfs, Some((Cloud::Azure, "tune@acct.dfs.core.windows.net".into(), "x".into())));
        assert_eq!(parts("s3:///x"), None);
        assert_eq!(parts("hdfs://tune/x"), None);
        assert_eq!(parts("/tmp/ray_results"), None);
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
