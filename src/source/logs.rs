//! The log source: reads one log (a Ray file through the dashboard, or a pod's through the API
//! server) and sends whole, cleaned lines. Following, a stream that breaks is opened again with a
//! tail, and the lines already sent are recognised (`model::logs::Resync`), so a cut loses and
//! repeats nothing. The pane and `raytop logs` run this same code.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::model::logs::{ANCHOR_LINES, Bounds, LogLines, Resumed, Resync};
pub use crate::msg::LogEvent;
use crate::source::dashboard::client::ByteStream;
use crate::source::dashboard::logs::RayLog;
use crate::source::kube::logs::PodLog;

/// Which log, and from where.
#[derive(Debug, Clone, PartialEq)]
pub enum LogSpec {
    /// A Ray log, through a dashboard.
    Ray { dashboard: crate::msg::DashKey, target: RayLog },
    /// A pod's container log, through the API server of a kubeconfig context.
    Pod { context: Option<String>, log: PodLog },
}

impl LogSpec {
    pub fn describe(&self) -> String {
        match self {
            LogSpec::Ray { target, .. } => target.describe(),
            LogSpec::Pod { log, .. } => {
                let c = log.container.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
                let prev = if log.previous { " (previous container)" } else { "" };
                format!("pod {}/{}{c}{prev}", log.namespace, log.pod)
            }
        }
    }
}

/// How a log is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The last N lines first (None: the whole log).
    pub tail: Option<i64>,
    pub follow: bool,
    /// Whether a stream that ends cleanly is opened again. Ray's stream never ends while the
    /// file is there (an end is the head or the agent going away); a pod's ends when its
    /// container stops, as `kubectl logs -f` does.
    pub reopen_on_end: bool,
    /// Reopen a stream quiet this long, and find the place again. Ray's agent follows the file
    /// it opened: once that file is rotated away or truncated, the stream stays quiet forever
    /// while the new file grows. Reopening by name reads the new one (said so), or, for a file
    /// merely quiet, finds nothing new at its end.
    pub quiet_recheck: Option<Duration>,
}

/// How long a Ray log stream may be quiet before it is reopened (a rotated or truncated file).
pub const QUIET_RECHECK: Duration = Duration::from_secs(30);

/// The tail asked for after a cut: lines written while cut off, up to this many, are not lost.
pub const RESYNC_TAIL: i64 = 1000;

/// How long a reopened stream may stay quiet before its first lines are taken as a new file (the
/// old one rotated or truncated): the head sends the tail at once when it has one.
const RESYNC_WAIT: Duration = Duration::from_secs(3);

/// Why opening failed, and whether trying again can help.
#[derive(Debug, Clone)]
pub struct OpenError {
    pub message: String,
    /// A refusal (401/403/404, an actor Ray does not know) is final; the dashboard or the API
    /// server unreachable is not.
    pub retry: bool,
}

/// Reads the log that `open` opens (given the tail to ask for), sending what happens to `tx` until
/// the log ends, `tx` is dropped or the task is aborted.
pub async fn read<F, Fut>(open: F, how: Reading, tx: mpsc::Sender<LogEvent>)
where
    F: Fn(Option<i64>) -> Fut,
    Fut: Future<Output = Result<ByteStream, OpenError>>,
{
    // Puts lines together across chunks; drained after every chunk, so unbounded holds one chunk.
    let mut splitter = LogLines::new(Bounds::unbounded());
    let mut last: VecDeque<String> = VecDeque::with_capacity(ANCHOR_LINES);
    let mut resync: Option<Resync> = None;
    let mut tail = how.tail;
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut stream = match open(tail).await {
            Ok(s) => s,
            Err(e) if !e.retry || !how.follow => {
                let _ = tx.send(LogEvent::Ended { error: Some(e.message) }).await;
                return;
            }
            Err(e) => {
                if tx.send(LogEvent::Lost { error: e.message, retry_in: backoff }).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if tx.send(LogEvent::Live).await.is_err() {
            return;
        }
        let why = loop {
            // Quiet while lines are held with the anchor unseen: the old file is gone. (Nothing
            // held yet: the tail has not come; wait for it as for any line.)
            let next = match resync.as_ref().filter(|r| r.holding()) {
                Some(_) => match tokio::time::timeout(RESYNC_WAIT, stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        let held = resync.take().map(Resync::give_up).unwrap_or_default();
                        if !send_lines(&tx, &mut last, held, Some(REPLACED)).await {
                            return;
                        }
                        continue;
                    }
                },
                None => match how.quiet_recheck.filter(|_| how.follow) {
                    Some(quiet) => match tokio::time::timeout(quiet, stream.next()).await {
                        Ok(n) => n,
                        // Quiet: reopen (below) as after a cut, without calling it lost.
                        Err(_) => break Some(QUIET.to_string()),
                    },
                    None => stream.next().await,
                },
            };
            match next {
                Some(Ok(chunk)) => {
                    backoff = Duration::from_secs(1);
                    splitter.push_bytes(&chunk);
                    let lines: Vec<String> = splitter.drain().collect();
                    if lines.is_empty() {
                        continue;
                    }
                    let (lines, notice) = match resync.as_mut() {
                        None => (lines, None),
                        Some(r) => match r.offer(lines) {
                            Resumed::Holding => continue,
                            Resumed::Found(new) => {
                                resync = None;
                                (new, None)
                            }
                            Resumed::Gap(all) => {
                                resync = None;
                                (all, Some(GAP))
                            }
                        },
                    };
                    if !send_lines(&tx, &mut last, lines, notice).await {
                        return;
                    }
                }
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        if !how.follow || (why.is_none() && !how.reopen_on_end) {
            splitter.finish();
            let rest: Vec<String> = splitter.drain().collect();
            let held = resync.take().map(Resync::give_up).unwrap_or_default();
            // Ended with the anchor unseen: the file it was in is gone.
            let notice = (!held.is_empty()).then_some(REPLACED);
            send_lines(&tx, &mut last, held.into_iter().chain(rest).collect(), notice).await;
            let _ = tx.send(LogEvent::Ended { error: why }).await;
            return;
        }
        // Cut while following: the half line comes again whole; find the place again.
        splitter.discard_partial();
        if resync.is_none() {
            resync = Some(Resync::new(last.iter().cloned(), RESYNC_TAIL as usize));
        }
        tail = Some(RESYNC_TAIL);
        if why.as_deref() == Some(QUIET) {
            continue;
        }
        let error = why.unwrap_or_else(|| "the stream ended".into());
        if tx.send(LogEvent::Lost { error, retry_in: backoff }).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Why a quiet stream was reopened (never shown: a reopen for quiet is not a loss).
const QUIET: &str = "quiet";

const GAP: &str =
    "raytop: more lines than the reconnect's tail were written while the stream was cut: some may be missing above";
const REPLACED: &str =
    "raytop: the file was replaced or truncated while the stream was cut: what follows is its new content";

/// Sends lines (after a notice, if any) and keeps the last few as the anchor of a later resync.
async fn send_lines(
    tx: &mpsc::Sender<LogEvent>,
    last: &mut VecDeque<String>,
    lines: Vec<String>,
    notice: Option<&str>,
) -> bool {
    if let Some(n) = notice
        && tx.send(LogEvent::Notice(n.to_string())).await.is_err()
    {
        return false;
    }
    if lines.is_empty() {
        return true;
    }
    for l in lines.iter().skip(lines.len().saturating_sub(ANCHOR_LINES)) {
        if last.len() == ANCHOR_LINES {
            last.pop_front();
        }
        last.push_back(l.clone());
    }
    tx.send(LogEvent::Lines(lines)).await.is_ok()
}

/// Opens a Ray log through a dashboard client.
pub async fn open_ray(
    client: &crate::source::dashboard::DashboardClient,
    target: &RayLog,
    tail: Option<i64>,
    follow: bool,
) -> Result<ByteStream, OpenError> {
    use crate::wire::dashboard::FetchError;
    client.stream(&target.path(tail, follow)).await.map_err(|e| {
        let retry = matches!(e, FetchError::Unreachable(_) | FetchError::Timeout(_))
            || matches!(e, FetchError::Http { status, .. } if status == 502 || status == 503 || status == 504);
        OpenError { message: explain_ray(&e, target), retry }
    })
}

/// Ray's refusals of a log read, in words: its 500 carries the reason as plain text.
fn explain_ray(e: &crate::wire::dashboard::FetchError, target: &RayLog) -> String {
    use crate::wire::dashboard::FetchError;
    match e {
        // The node's agent is gone from the GCS: the node died (its files went with it).
        FetchError::Http { status: 500, body, .. }
            if body.contains("Agent for node id") && body.contains("doesn't exist") =>
        {
            format!("{}: the node is gone (Ray has no agent for it any more: {body})", target.describe())
        }
        FetchError::Http { status, body, .. } => {
            format!("{}: the dashboard answered {status}: {body}", target.describe())
        }
        other => format!("{}: {other}", target.describe()),
    }
}

/// Opens a pod's log through the API server.
pub async fn open_pod(client: kube::Client, log: &PodLog, tail: Option<i64>) -> Result<ByteStream, OpenError> {
    let what = PodLog { tail, ..log.clone() };
    crate::source::kube::logs::stream(client, &what).await.map_err(|message| {
        let retry = !(message.starts_with("forbidden") || message.contains("not found"));
        OpenError { message, retry }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Opened = std::pin::Pin<Box<dyn Future<Output = Result<ByteStream, OpenError>> + Send>>;

    /// A log served in scripted pieces: each open returns the next script, whose items are
    /// chunks or a break.
    fn scripted(scripts: Vec<Vec<Result<&'static str, &'static str>>>) -> impl Fn(Option<i64>) -> Opened {
        let scripts = Arc::new(Mutex::new(VecDeque::from(scripts)));
        move |_tail| {
            let next = scripts.lock().unwrap().pop_front();
            Box::pin(async move {
                match next {
                    Some(items) => {
                        let s = futures::stream::iter(
                            items.into_iter().map(|i| i.map(|c| c.as_bytes().to_vec()).map_err(str::to_string)),
                        );
                        Ok(Box::pin(s) as ByteStream)
                    }
                    None => Err(OpenError { message: "refused".into(), retry: false }),
                }
            })
        }
    }

    async fn collect(rx: &mut mpsc::Receiver<LogEvent>) -> (Vec<String>, Vec<LogEvent>) {
        let (mut lines, mut other) = (Vec::new(), Vec::new());
        while let Some(e) = rx.recv().await {
            match e {
                LogEvent::Lines(l) => lines.extend(l),
                e => other.push(e),
            }
        }
        (lines, other)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_cut_mid_line_resumes_with_nothing_lost_or_repeated() {
        let open = scripted(vec![
            // Cut in the middle of "three".
            vec![Ok("one\ntwo\nth"), Err("connection reset")],
            // Reopened with a tail: the server re-sends from "one", with two new lines.
            vec![Ok("one\ntwo\nthree\n"), Ok("four\n")],
        ]);
        let (tx, mut rx) = mpsc::channel(64);
        let how = Reading { tail: Some(10), follow: true, reopen_on_end: false, quiet_recheck: None };
        tokio::spawn(read(open, how, tx));
        let (lines, events) = collect(&mut rx).await;
        assert_eq!(lines, ["one", "two", "three", "four"]);
        assert!(events.iter().any(|e| matches!(e, LogEvent::Lost { error, .. } if error == "connection reset")));
        // The second stream ended cleanly, and a pod's does not reopen: the end, with no error;
        // the third open (refused) is never reached.
        assert_eq!(events.last(), Some(&LogEvent::Ended { error: None }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_file_is_said_so_and_read_from_its_start() {
        let open = scripted(vec![vec![Ok("old 1\nold 2\n"), Err("reset")], vec![Ok("new 1\n")]]);
        let (tx, mut rx) = mpsc::channel(64);
        let how = Reading { tail: None, follow: true, reopen_on_end: false, quiet_recheck: None };
        tokio::spawn(read(open, how, tx));
        let (lines, events) = collect(&mut rx).await;
        assert_eq!(lines, ["old 1", "old 2", "new 1"]);
        assert!(events.contains(&LogEvent::Notice(REPLACED.into())), "{events:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_quiet_past_the_recheck_is_reopened_and_a_truncated_file_read_anew() {
        // The first stream goes quiet for good (the agent holds the old file); the reopened one
        // finds the file truncated and rewritten.
        let scripts = Arc::new(Mutex::new(VecDeque::from(vec![vec!["a\nb\n"], vec!["fresh 1\n"]])));
        let opened = Arc::new(Mutex::new(0));
        let (s2, o2) = (scripts.clone(), opened.clone());
        let open = move |_tail: Option<i64>| {
            let next = s2.lock().unwrap().pop_front();
            *o2.lock().unwrap() += 1;
            Box::pin(async move {
                let items = next.ok_or(OpenError { message: "refused".into(), retry: false })?;
                let chunks = futures::stream::iter(items.into_iter().map(|c| Ok(c.as_bytes().to_vec())));
                Ok(Box::pin(chunks.chain(futures::stream::pending())) as ByteStream)
            }) as Opened
        };
        let (tx, mut rx) = mpsc::channel(64);
        let how = Reading { tail: Some(10), follow: true, reopen_on_end: true, quiet_recheck: Some(QUIET_RECHECK) };
        let task = tokio::spawn(read(open, how, tx));
        let mut lines = Vec::new();
        let mut events = Vec::new();
        while lines.len() < 3 {
            match rx.recv().await.unwrap() {
                LogEvent::Lines(l) => lines.extend(l),
                e => events.push(e),
            }
        }
        task.abort();
        assert_eq!(lines, ["a", "b", "fresh 1"]);
        assert!(events.contains(&LogEvent::Notice(REPLACED.into())), "{events:?}");
        assert!(!events.iter().any(|e| matches!(e, LogEvent::Lost { .. })), "a quiet reopen is not a loss: {events:?}");
        assert_eq!(*opened.lock().unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn not_following_reads_once_and_a_refusal_is_final() {
        let open = scripted(vec![vec![Ok("a\nlast without newline")]]);
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(read(open, Reading { tail: None, follow: false, reopen_on_end: true, quiet_recheck: None }, tx));
        let (lines, events) = collect(&mut rx).await;
        assert_eq!(lines, ["a", "last without newline"]);
        assert_eq!(events, [LogEvent::Live, LogEvent::Ended { error: None }]);
        let open = scripted(vec![]);
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(read(open, Reading { tail: None, follow: true, reopen_on_end: true, quiet_recheck: None }, tx));
        let (lines, events) = collect(&mut rx).await;
        assert!(lines.is_empty());
        assert_eq!(events, [LogEvent::Ended { error: Some("refused".into()) }]);
    }
}
