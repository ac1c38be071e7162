//! Fuzzing of every parser raytop feeds with outside input, on the stable toolchain: a mutation
//! fuzzer over a corpus (the captured fixtures, plus `tests/fuzz-corpus/<target>/`), with byte
//! mutations and JSON-aware ones (a leaf swapped for an extreme number, a string, a null).
//!
//! Each target runs for `FUZZ_SECONDS` (default 1; `lab/fuzz.sh` runs longer) and must neither
//! panic nor grow memory without bound. A failing input is written to
//! `tests/fuzz-corpus/<target>/crash-<hash>` (kept: it becomes a seed) and the test fails.
//! `FUZZ_SEED` replays a run. Each target prints its executions and corpus size.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raytop::source::dashboard::{DashData, Endpoint, parse};
use serde_json::Value;

/// Inputs larger than this are cut: parsers are linear, and the point is odd shapes, not size
/// (size has its own tests: the body cap, chunked result reads).
const MAX_INPUT: usize = 256 << 10;

/// xorshift64*: small, seedable, good enough to choose mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "1e308",
    "-1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "4294967296",
    "NaN",
    "Infinity",
    "null",
    "\"\"",
    "[]",
    "{}",
];

const TOKENS: [&[u8]; 12] = [b"{", b"}", b"[", b"]", b",", b":", b"\"", b"\\u0000", b"-", b"e999", b"\n", b"\xff\xfe"];

/// One JSON node, chosen at random, replaced by an extreme value.
fn mutate_json(v: &mut Value, rng: &mut Rng) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Object(m) => m.values().map(count).sum(),
            Value::Array(a) => a.iter().map(count).sum(),
            _ => 0,
        }
    }
    /// Replaces the `k`-th node in depth-first order; returns how many nodes it passed.
    fn replace(v: &mut Value, k: usize, new: &Value) -> usize {
        if k == 0 {
            *v = new.clone();
            return usize::MAX;
        }
        let mut seen = 1;
        let children: Vec<&mut Value> = match v {
            Value::Object(m) => m.values_mut().collect(),
            Value::Array(a) => a.iter_mut().collect(),
            _ => Vec::new(),
        };
        for c in children {
            let n = replace(c, k - seen, new);
            if n == usize::MAX {
                return n;
            }
            seen += n;
        }
        seen
    }
    let text = EXTREMES[rng.below(EXTREMES.len())];
    let new = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    let k = rng.below(count(v));
    replace(v, k, &new);
}

fn mutate(input: &[u8], corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = input.to_vec();
    // JSON-aware first, when the seed is JSON: numbers at the edges reach the model's arithmetic.
    if rng.below(2) == 0
        && let Ok(mut v) = serde_json::from_slice::<Value>(&data)
    {
        for _ in 0..=rng.below(4) {
            mutate_json(&mut v, rng);
        }
        data = serde_json::to_vec(&v).unwrap();
        if rng.below(2) == 0 {
            return data;
        }
    }
    for _ in 0..=rng.below(6) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                data.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(256)).min(len);
                let chunk = data[a..b].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
            4 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                data.splice(at..at, t.iter().copied());
            }
            5 if !corpus.is_empty() => {
                // Splice: the head of this input, the tail of another.
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let at = rng.below(len + 1);
                data.truncate(at);
            }
        }
    }
    data.truncate(MAX_INPUT);
    data
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(target)
}

/// The seeds of a target: what the caller passes (fixtures) and the files of its corpus folder.
fn seeds(target: &str, mut given: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if let Ok(entries) = std::fs::read_dir(corpus_dir(target)) {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        given.extend(files.iter().map(|p| std::fs::read(p).unwrap()));
    }
    assert!(!given.is_empty(), "target {target} has no seeds");
    given
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Runs `target` on every seed, then on mutations until the budget is spent.
fn fuzz(name: &str, given: Vec<Vec<u8>>, target: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let corpus = seeds(name, given);
    let secs: f64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    // A panic is reported by this harness, with the input saved; the default hook would print
    // a backtrace per caught panic.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut execs = 0u64;
    let mut failure = None;
    let mut i = 0usize;
    while failure.is_none() && (i < corpus.len() || Instant::now() < deadline) {
        let input = if i < corpus.len() {
            corpus[i].clone()
        } else {
            let base = &corpus[rng.below(corpus.len())];
            mutate(base, &corpus, &mut rng)
        };
        i += 1;
        execs += 1;
        if let Err(e) = std::panic::catch_unwind(|| target(&input)) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failure = Some((input, why));
        }
    }
    std::panic::set_hook(hook);
    let rss_mib = peak_rss_kib() / 1024;
    eprintln!(
        "figure: fuzz {name}: {execs} executions in {secs} s, corpus {} inputs, seed {seed}, peak RSS {rss_mib} MiB",
        corpus.len()
    );
    if let Some((input, why)) = failure {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        input.hash(&mut h);
        let dir = corpus_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("crash-{:016x}", h.finish()));
        std::fs::write(&path, &input).unwrap();
        panic!("{name} panicked ({why}) on the input saved as {} (seed {seed})", path.display());
    }
    assert!(rss_mib < 1024, "{name}: memory grew to {rss_mib} MiB");
}

fn fixture(parts: &[&str]) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(parts.iter().collect::<PathBuf>());
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file of a fixture folder tree whose name ends with `suffix`.
fn fixtures_named(dir: &str, suffix: &str) -> Vec<Vec<u8>> {
    fn walk(p: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, suffix, out);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir), suffix, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no {suffix} under tests/fixtures/{dir}");
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Dashboard answers: each body parsed as its endpoint and folded into a cluster, as the poller
/// and the app loop do (the model's arithmetic sees the odd numbers too).
#[test]
fn fuzz_dashboard_answers() {
    let mut seeds = Vec::new();
    for dir in ["v1-busy", "v2", "gpu-physical"] {
        for (ep, _, body) in common::captured(dir) {
            let mut tagged = vec![common::FILES.iter().position(|(e, _)| *e == ep).unwrap() as u8];
            tagged.extend(body);
            seeds.push(tagged);
        }
    }
    fuzz("dashboard", seeds, |input| {
        let Some((&tag, body)) = input.split_first() else { return };
        let (ep, _) = common::FILES[tag as usize % common::FILES.len()];
        if let Ok(data) = parse(ep, body) {
            let mut c = common::load_cluster("v1-busy", common::lab_config());
            c.apply(raytop::model::DashUpdate::Fetched {
                endpoint: ep,
                at: std::time::SystemTime::UNIX_EPOCH,
                bytes: body.len(),
                data: Box::new(data),
            });
            let _ = serde_json::to_string(&c).unwrap();
        }
        let _ = raytop::wire::dashboard::parse_legacy_events(body);
    });
}

/// `ray status` text (the autoscaler v2 report), as `cluster_status?format=1` carries it.
#[test]
fn fuzz_status_text() {
    let seeds = ["v1-busy", "v2"]
        .iter()
        .map(|d| {
            let body = fixture(&["dashboard", d, "cluster_status_format1.json"]);
            match parse(Endpoint::ClusterStatusText, &body).unwrap() {
                DashData::ClusterStatusText(t) => t.into_bytes(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    fuzz("status_text", seeds, |input| {
        let _ = raytop::model::autoscaler::report_from_text(&String::from_utf8_lossy(input));
    });
}

/// Tune's experiment state, then result rows of its trials, folded into the leaderboard.
#[test]
fn fuzz_tune_experiment_state() {
    fuzz(
        "tune_state",
        fixtures_named("tune", ".json").into_iter().filter(|b| b.starts_with(b"{")).collect(),
        |input| {
            let text = String::from_utf8_lossy(input);
            if let Ok(s) = raytop::wire::tune::parse_state("e", Path::new("/nonexistent"), &text) {
                let mut tune = raytop::model::tune::Tune::default();
                tune.apply(raytop::msg::TuneUpdate::State(s));
                tune.apply(raytop::msg::TuneUpdate::Pass { bytes: 0, at: std::time::SystemTime::UNIX_EPOCH });
            }
        },
    );
}

#[test]
fn fuzz_tune_result_lines() {
    let seeds = fixtures_named("tune", "result.json")
        .iter()
        .flat_map(|f| f.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect::<Vec<_>>())
        .take(200)
        .collect();
    fuzz("result_row", seeds, |input| {
        let text = String::from_utf8_lossy(input);
        let rows: Vec<_> = text.lines().filter_map(|l| raytop::wire::tune::ResultRow::parse(l).ok()).collect();
        if let Some(first) = rows.first() {
            let mut tune = raytop::model::tune::Tune::default();
            let trial_dir = first.trial_id.clone();
            tune.apply(raytop::msg::TuneUpdate::Results { experiment: "e".into(), trial_dir, reset: false, rows });
            tune.apply(raytop::msg::TuneUpdate::Pass { bytes: 0, at: std::time::SystemTime::UNIX_EPOCH });
            let e = &tune.experiments[0];
            let mut order: Vec<_> = e.trials.iter().collect();
            order.sort_by(|a, b| raytop::rows::trial_order(e, 0, a, b));
        }
    });
}

/// The user's keymap and theme files.
#[test]
fn fuzz_keymap_file() {
    fuzz(
        "keymap",
        vec![std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("keymaps/default.toml")).unwrap()],
        |input| {
            let mut w = Vec::new();
            let _ = raytop::config::keymap::load_text(&String::from_utf8_lossy(input), "fuzz", &mut w);
        },
    );
}

#[test]
fn fuzz_theme_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
    let seeds = std::fs::read_dir(&dir).unwrap().flatten().map(|e| std::fs::read(e.path()).unwrap()).collect();
    fuzz("theme", seeds, |input| {
        let _ = raytop::config::theme::parse_theme(&String::from_utf8_lossy(input));
    });
}

/// Kubernetes quantities ("500m", "16Gi", "1e3") and RayCluster objects: converted and built
/// into the Kube view's rows, where counts are multiplied and compared.
#[test]
fn fuzz_kubernetes_objects_and_quantities() {
    let list: Value = serde_json::from_slice(&fixture(&["k8s", "rayclusters.json"])).unwrap();
    let mut seeds: Vec<Vec<u8>> =
        list["items"].as_array().unwrap().iter().map(|o| serde_json::to_vec(o).unwrap()).collect();
    seeds.extend(["\"500m\"", "\"16Gi\"", "\"1.5e3\"", "\"2Ki\"", "4", "\"0.1n\""].map(|q| q.as_bytes().to_vec()));
    fuzz("kubernetes", seeds, |input| {
        let Ok(v) = serde_json::from_slice::<Value>(input) else { return };
        let _ = raytop::model::k8s::quantity(&v);
        if let Some(s) = v.as_str() {
            let _ = raytop::model::resources::parse_quantity(s);
        }
        if let Ok(o) = serde_json::from_value::<kube::api::DynamicObject>(v) {
            let rc = raytop::source::kube::convert::ray_cluster(&o);
            let _ = raytop::wire::k8s::DashboardRoute::of(&rc).invalid();
            let _ = raytop::model::k8s::build(&[rc], &[], &[], &[], &Default::default());
        }
    });
}

/// Prometheus's range-query answers (captured from the lab's Prometheus).
#[test]
fn fuzz_prometheus_answers() {
    fuzz("prometheus", fixtures_named("prometheus", ".json"), |input| {
        if let Ok(series) = raytop::wire::prometheus::parse_matrix(input) {
            let mut h = raytop::model::history::History::new("fuzz".into());
            let result =
                raytop::wire::prometheus::QueryResult { query: "q".into(), start: 0.0, end: 0.0, step: 1, series };
            h.apply(raytop::msg::HistoryUpdate::Answered { name: "requests_per_s", result, at: std::time::UNIX_EPOCH });
            for app in ["demo", ""] {
                let _ = raytop::ui::views::serve::traffic(&h, app);
            }
        }
    });
}
