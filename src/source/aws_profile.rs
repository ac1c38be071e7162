//! An AWS profile's settings, read from `~/.aws/credentials` and `~/.aws/config` as the AWS CLI
//! reads them (`AWS_PROFILE`, else `default`; `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`),
//! for the S3 client, which reads only the environment. The environment wins over a profile, as
//! it does for the CLI.

use std::path::{Path, PathBuf};

/// The profile's keys raytop passes on, and the variables they stand for.
const KEYS: [(&str, &str); 6] = [
    ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
    ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
    ("aws_session_token", "AWS_SESSION_TOKEN"),
    ("region", "AWS_DEFAULT_REGION"),
    ("endpoint_url", "AWS_ENDPOINT_URL"),
    // The config file's nested `s3 =` section is not read; its top-level key is.
    ("aws_endpoint_url", "AWS_ENDPOINT_URL"),
];

/// The `(VARIABLE, value)` pairs the profile sets that `env` does not, `env` being how a
/// variable is looked up (the process environment, in raytop).
pub fn profile_vars(env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let Some(home) = env("HOME") else { return Vec::new() };
    let file =
        |var: &str, name: &str| env(var).map(PathBuf::from).unwrap_or_else(|| Path::new(&home).join(".aws").join(name));
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    // The credentials file names sections by profile; the config file as `profile NAME` (but
    // `default` as itself).
    let config_section = if profile == "default" { profile.clone() } else { format!("profile {profile}") };
    let mut found: Vec<(String, String)> = Vec::new();
    for (path, section) in [
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), profile.as_str()),
        (file("AWS_CONFIG_FILE", "config"), config_section.as_str()),
    ] {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for (key, value) in section_pairs(&text, section) {
            let Some((_, var)) = KEYS.iter().find(|(k, _)| *k == key) else { continue };
            // The credentials file first: a key set there is not taken again from config.
            if !found.iter().any(|(v, _)| v == var) {
                found.push((var.to_string(), value));
            }
        }
    }
    // A region or endpoint named either way in the environment wins.
    let set = |var: &str| match var {
        "AWS_DEFAULT_REGION" => env("AWS_DEFAULT_REGION").or_else(|| env("AWS_REGION")).is_some(),
        "AWS_ENDPOINT_URL" => env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT_URL_S3")).is_some(),
        other => env(other).is_some(),
    };
    // Credentials in the environment replace the profile's whole set of them.
    let env_credentials = env("AWS_ACCESS_KEY_ID").is_some();
    let credential = |var: &str| matches!(var, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN");
    found.retain(|(var, _)| !(set(var) || env_credentials && credential(var)));
    found
}

/// The `key = value` lines of one `[section]` of an INI file (comments and nested blocks out).
fn section_pairs(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        // An indented line belongs to a nested block (`s3 =` then its keys).
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = trimmed.split_once('=') {
            let v = v.trim();
            if !v.is_empty() {
                pairs.push((k.trim().to_ascii_lowercase(), v.to_string()));
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_fills_what_the_environment_leaves_unset() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n[lab]\naws_access_key_id=LAB\naws_secret_access_key = labsecret\n",
        )
        .unwrap();
        std::fs::write(
            home.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile lab]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:5055\ns3 =\n  addressing_style = path\n",
        )
        .unwrap();
        let home_s = home.path().display().to_string();
        let with = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("HOME".into(), home_s.clone())])
                .collect();
            profile_vars(&move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        };
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(
            with(&[("AWS_PROFILE", "lab")]),
            pairs(&[
                ("AWS_ACCESS_KEY_ID", "LAB"),
                ("AWS_SECRET_ACCESS_KEY", "labsecret"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5055"),
            ])
        );
        assert_eq!(
            with(&[]),
            pairs(&[
                ("AWS_ACCESS_KEY_ID", "DEF"),
                ("AWS_SECRET_ACCESS_KEY", "defsecret"),
                ("AWS_DEFAULT_REGION", "eu-west-1")
            ])
        );
        // The environment wins, key by key; a region given as AWS_REGION counts.
        assert_eq!(
            with(&[("AWS_ACCESS_KEY_ID", "ENV"), ("AWS_SECRET_ACCESS_KEY", "envsecret"), ("AWS_REGION", "ap-south-1")]),
            Vec::<(String, String)>::new()
        );
        // No files: nothing (and no HOME: nothing).
        assert!(profile_vars(&|_| None).is_empty());
    }
}
