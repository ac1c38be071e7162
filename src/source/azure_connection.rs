//! An Azure Storage connection string (`AZURE_STORAGE_CONNECTION_STRING`, the form the portal,
//! the Azure CLI and the SDKs hand out) as the variables the Azure client reads, for a client
//! that reads only variables. A variable the environment sets wins over the string, the
//! credentials (key or SAS) as a set, as `~/.aws` profiles are merged.

/// What each of the string's keys stands for.
const KEYS: [(&str, &str); 4] = [
    ("AccountName", "AZURE_STORAGE_ACCOUNT_NAME"),
    ("AccountKey", "AZURE_STORAGE_ACCOUNT_KEY"),
    ("SharedAccessSignature", "AZURE_STORAGE_SAS_KEY"),
    ("BlobEndpoint", "AZURE_STORAGE_ENDPOINT"),
];

/// The `(VARIABLE, value)` pairs `text` sets that `env` does not. An unknown key is left out;
/// a part that is not `Key=Value` is refused, naming the key only (the rest may be a secret).
pub fn connection_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, String> {
    let mut parts: Vec<(&str, &str)> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        // A key's value is base64 and may end in '=': split at the first one.
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| "AZURE_STORAGE_CONNECTION_STRING: a part is not Key=Value".to_string())?;
        parts.push((k.trim(), v.trim()));
    }
    let get = |key: &str| parts.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v);
    let mut found: Vec<(String, String)> = Vec::new();
    if get("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        found.push(("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()));
    }
    for (key, var) in KEYS {
        if let Some(v) = get(key).filter(|v| !v.is_empty()) {
            found.push((var.to_string(), v.to_string()));
        }
    }
    // No BlobEndpoint: the account's, from the protocol and the suffix of a cloud other than
    // Azure's public one (sovereign clouds), or plain HTTP.
    let protocol = get("DefaultEndpointsProtocol").unwrap_or("https");
    let suffix = get("EndpointSuffix").unwrap_or("core.windows.net");
    if get("BlobEndpoint").is_none()
        && (suffix != "core.windows.net" || protocol != "https")
        && let Some(account) = get("AccountName")
    {
        found.push(("AZURE_STORAGE_ENDPOINT".into(), format!("{protocol}://{account}.blob.{suffix}")));
    }
    if found.iter().any(|(var, v)| var == "AZURE_STORAGE_ENDPOINT" && v.starts_with("http://")) {
        found.push(("AZURE_ALLOW_HTTP".into(), "true".into()));
    }
    let credential = |var: &str| matches!(var, "AZURE_STORAGE_ACCOUNT_KEY" | "AZURE_STORAGE_SAS_KEY");
    let env_credentials = ["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_KEY"]
        .iter()
        .chain(&["AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_TOKEN", "AZURE_CLIENT_SECRET"])
        .any(|v| env(v).is_some());
    found.retain(|(var, _)| !(env(var).is_some() || env_credentials && credential(var)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZURITE: &str = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;\
        AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;\
        BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    fn vars(text: &str, env: &[(&str, &str)]) -> Vec<(String, String)> {
        let env = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        connection_vars(text, &env).unwrap()
    }

    fn get<'a>(found: &'a [(String, String)], var: &str) -> Option<&'a str> {
        found.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_emulators_string_names_the_account_its_key_and_endpoint_on_plain_http() {
        let found = vars(AZURITE, &[]);
        assert_eq!(get(&found, "AZURE_STORAGE_ACCOUNT_NAME"), Some("devstoreaccount1"));
        assert!(get(&found, "AZURE_STORAGE_ACCOUNT_KEY").is_some_and(|k| k.ends_with("GMGw==")), "the '=' kept");
        assert_eq!(get(&found, "AZURE_STORAGE_ENDPOINT"), Some("http://127.0.0.1:10000/devstoreaccount1"));
        assert_eq!(get(&found, "AZURE_ALLOW_HTTP"), Some("true"));
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn the_environment_wins_and_its_credentials_replace_the_strings_set() {
        let found = vars(AZURITE, &[("AZURE_STORAGE_SAS_KEY", "sv=x"), ("AZURE_STORAGE_ACCOUNT_NAME", "mine")]);
        assert_eq!(get(&found, "AZURE_STORAGE_ACCOUNT_NAME"), None, "the environment's name is used");
        assert_eq!(get(&found, "AZURE_STORAGE_ACCOUNT_KEY"), None, "a SAS in the environment: no key from the string");
        // Positive control: what the environment does not set still comes from the string.
        assert_eq!(get(&found, "AZURE_STORAGE_ENDPOINT"), Some("http://127.0.0.1:10000/devstoreaccount1"));
    }

    #[test]
    fn sovereign_clouds_development_storage_and_bad_strings() {
        let china = vars(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
            &[],
        );
        assert_eq!(get(&china, "AZURE_STORAGE_ENDPOINT"), Some("https://acct.blob.core.chinacloudapi.cn"));
        assert_eq!(get(&china, "AZURE_ALLOW_HTTP"), None);
        let public = vars(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
            &[],
        );
        assert_eq!(get(&public, "AZURE_STORAGE_ENDPOINT"), None, "the client's own default");
        let dev = vars("UseDevelopmentStorage=true", &[]);
        assert_eq!(get(&dev, "AZURE_STORAGE_USE_EMULATOR"), Some("true"));
        let bad = connection_vars("AccountName=a;AccountKeysecret", &|_| None).unwrap_err();
        assert!(!bad.contains("secret"), "the value is not repeated: {bad}");
    }
}
