//! Polls one dashboard for what the visible view needs.
//!
//! Each endpoint has its own period: never faster than the user's refresh interval, never faster
//! than the dashboard can change it (its handlers cache for 2 s; the autoscaler reports every few
//! seconds), and slower as its body grows, so a 2,000-node `/nodes?view=summary` (tens of MB) is
//! not pulled every second. When the dashboard is down or refuses us, only a cheap probe runs, with
//! exponential backoff, until it answers again.
//!
//! Logical usage per node is the exception: while it is on screen it must be no older than twice
//! the refresh interval, whatever the size. Under autoscaler v1 it comes from the autoscaler's
//! report (`/api/cluster_status`, 7 KB on the lab and 0.4 MB at 2,000 nodes), fetched at that
//! pace; the summary then only brings host stats and the node list, at their own slow cadence.
//! Under v2 the report has no per-node usage and the summary stays the source.
//!
//! The v1 report is written by the autoscaler's monitor once per interval and carries the moment
//! of its write: it is fetched once per write, just after it (`ReportPace`), and never faster than
//! the usage pace above, so usage on screen is at most one write interval plus a refresh old.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use futures::future::{BoxFuture, join_all};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::client::Fetched;
use super::{DashData, DashboardClient, Endpoint, FetchError};
use crate::msg::{DashKey, DashUpdate, HistoryTopic, Interest, Msg};
use crate::wire::dashboard::ReportKind;

/// Bytes per second one endpoint may pull on average before its period stretches.
const BYTE_BUDGET_PER_SEC: f64 = 4096.0;
const MAX_PERIOD: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Host stats (CPU %, memory, GPUs) and the node list, when logical usage comes from elsewhere.
const HOST_STATS_FLOOR: Duration = Duration::from_secs(30);
/// The summary, when the view's host figures come from Prometheus and usage from the report: it
/// brings only what neither has (hostnames, cores, start times), which change slowly.
const HOST_STATS_FROM_PROMETHEUS: Duration = Duration::from_secs(60);
/// Margin in the usage age budget for the frame that shows an answer, a loop busy with a large
/// fold and a busy machine: at 2,000 nodes with 5,000 pods watched and the peer running, 150 ms
/// still left the longest gap between usage answers at 2.065 s (50 ms had left it at 2.06 s).
const USAGE_SLACK: Duration = Duration::from_millis(250);

fn floor_period(ep: Endpoint) -> Duration {
    match ep {
        Endpoint::Version => Duration::from_secs(30),
        Endpoint::Nodes | Endpoint::ClusterStatus | Endpoint::ClusterStatusText => Duration::from_secs(2),
        // The web dashboard's own pace for Serve; an action's outcome is fetched at once anyway.
        Endpoint::Serve => Duration::from_secs(4),
        Endpoint::ClusterEvents | Endpoint::Jobs | Endpoint::Actors | Endpoint::TrainRuns => Duration::from_secs(5),
    }
}

/// The period of an endpoint given the refresh interval and the size of its last body.
pub fn period(ep: Endpoint, refresh: Duration, last_bytes: usize) -> Duration {
    let by_size = Duration::from_secs_f64(last_bytes as f64 / BYTE_BUDGET_PER_SEC);
    floor_period(ep).max(refresh).max(by_size).min(MAX_PERIOD.max(refresh))
}

/// The period of the answer that carries logical usage while it is on screen: so that what is on
/// screen is never older than twice the refresh interval, counting the time the answer takes.
pub fn usage_period(refresh: Duration, took: Duration) -> Duration {
    (refresh * 2).saturating_sub(took + USAGE_SLACK).max(refresh)
}

/// The period of an endpoint given what the view shows and where usage comes from.
pub fn period_for(
    ep: Endpoint,
    interest: Interest,
    usage_in_report: bool,
    refresh: Duration,
    last_bytes: usize,
    took: Duration,
) -> Duration {
    match ep {
        Endpoint::ClusterStatus if interest.usage => usage_period(refresh, took),
        // The Cluster view with Prometheus shows host CPU and memory from its history.
        Endpoint::Nodes
            if usage_in_report && interest.history_window_s > 0 && interest.history == Some(HistoryTopic::Cluster) =>
        {
            HOST_STATS_FROM_PROMETHEUS.max(period(ep, refresh, last_bytes))
        }
        Endpoint::Nodes if usage_in_report => HOST_STATS_FLOOR.max(period(ep, refresh, last_bytes)),
        _ => period(ep, refresh, last_bytes),
    }
}

/// Whether an endpoint is wanted, given the view's interest and the autoscaler flavour.
pub fn wanted(ep: Endpoint, interest: Interest, autoscaler_v2: bool) -> bool {
    match ep {
        Endpoint::Version => true,
        Endpoint::Nodes => interest.nodes || interest.usage || interest.autoscaler,
        Endpoint::ClusterStatus => (interest.autoscaler || interest.usage) && !autoscaler_v2,
        Endpoint::ClusterStatusText => interest.autoscaler && autoscaler_v2,
        Endpoint::ClusterEvents => interest.events,
        Endpoint::Serve => interest.serve,
        Endpoint::Jobs | Endpoint::TrainRuns => interest.jobs,
        Endpoint::Actors => interest.actors,
    }
}

/// The autoscaler monitor's report is written once per `AUTOSCALER_UPDATE_INTERVAL_S` (5 s by
/// default) and the dashboard serves the last one written: fetching it more often re-reads the
/// same bytes. Its own `time` (the head's clock) says when it was written; only differences of
/// it are used, so a clock that differs from ours does not matter.
const MONITOR_INTERVAL: Duration = Duration::from_secs(5);
/// After the moment a write is due: the monitor's own work, the answer's way here.
const PACE_MARGIN: Duration = Duration::from_millis(250);

/// When the next report is written, learnt from the reports seen: one fetch per write, each
/// soon after it, so usage on screen is at most one write interval plus one refresh old.
#[derive(Debug, Clone, Default)]
pub struct ReportPace {
    /// The `time` of the report held, and the latest moment here it can have been written.
    anchor: Option<(f64, Instant)>,
    /// That moment is known within a refresh: a fetch saw the report before it, the next one
    /// after. Until then fetches probe a refresh early, to find the write.
    tight: bool,
    /// How much earlier than the write the next fetch goes, while the moment is not known.
    lead: Duration,
    /// Between the last writes (the head's clock), the newest last: the shortest is the
    /// monitor's own interval, a longer one a slow write or one missed.
    intervals: std::collections::VecDeque<Duration>,
    /// The request before this one saw the report held (it was asked for too early).
    missed_at: Option<Instant>,
    /// Since when fetches have found the same report: a monitor that stopped writing is not
    /// asked every refresh.
    unchanged_since: Option<Instant>,
}

impl ReportPace {
    fn interval(&self) -> Duration {
        self.intervals.iter().min().copied().unwrap_or(MONITOR_INTERVAL)
    }

    /// Folds in a report written at `time` (the head's clock), from a request sent at `sent`
    /// and answered at `now`; returns when to fetch the next one.
    pub fn next(&mut self, time: f64, sent: Instant, now: Instant, refresh: Duration) -> Instant {
        match self.anchor {
            Some((held, _)) if time <= held => {
                // Asked before the next write: again a refresh later.
                self.missed_at = Some(sent);
                let since = *self.unchanged_since.get_or_insert(sent);
                let stalled = now.duration_since(since) > self.interval() * 3;
                now + if stalled { self.interval().max(refresh) } else { refresh }
            }
            anchor => {
                self.unchanged_since = None;
                // Written before this answer left the head; carried on from the last write by
                // the head's own clock, when that is sooner.
                let mut written_by = now;
                if let Some((held, at)) = anchor {
                    let delta = Duration::from_secs_f64((time - held).clamp(0.0, 3600.0));
                    if delta > self.interval() * 2 {
                        // Writes went by unseen, or the head restarted: find the phase again.
                        self.tight = false;
                    }
                    written_by = written_by.min(at + delta);
                    if delta >= Duration::from_millis(100) {
                        if self.intervals.len() == 4 {
                            self.intervals.pop_front();
                        }
                        self.intervals.push_back(delta.min(Duration::from_secs(60)));
                    }
                }
                let interval = self.interval();
                // Seen missing, then there: the write fell between the two requests.
                if self.missed_at.take().is_some_and(|m| now.duration_since(m) <= refresh * 2 + PACE_MARGIN) {
                    self.tight = true;
                }
                // Until then each fetch goes earlier than the last (the moment held may be late
                // by up to a whole interval), until one comes before the write.
                let first_lead = refresh.min(interval / 2);
                self.lead = match (self.tight, self.lead.is_zero()) {
                    (true, _) => Duration::ZERO,
                    (false, true) => first_lead,
                    (false, false) => (self.lead * 2).min(interval.saturating_sub(first_lead)),
                };
                self.anchor = Some((time, written_by));
                (written_by + interval + PACE_MARGIN - self.lead).max(now + Duration::from_millis(100))
            }
        }
    }
}

struct Schedule {
    due: BTreeMap<Endpoint, Instant>,
    /// When the autoscaler's report is written next (v1 reports carry their `time`).
    pace: ReportPace,
    last_bytes: BTreeMap<Endpoint, usize>,
    autoscaler_v2: bool,
    /// The last v1 report carried usage per node: the summary is then fetched for host stats only.
    usage_in_report: bool,
    /// Set while the dashboard is unreachable or refuses us: the backoff before the next probe.
    backoff: Option<Duration>,
    /// Failures in a row of each endpoint that answers wrongly (500, malformed, too large).
    fails: BTreeMap<Endpoint, u32>,
}

/// When an endpoint that answered wrongly is asked again: soon at first (a fault that clears
/// shows as cleared within seconds), then backing off to twice its period.
pub fn retry_after(ep: Endpoint, refresh: Duration, fails: u32) -> Duration {
    (refresh * 2u32.saturating_pow(fails.min(6))).min(period(ep, refresh, 0) * 2)
}

/// One endpoint's answer (or why there is none) and how long it took.
type Answer = (Endpoint, Result<Fetched, FetchError>, Duration);

pub async fn run(
    client: DashboardClient,
    key: DashKey,
    refresh: Duration,
    mut interest: watch::Receiver<Interest>,
    tx: mpsc::Sender<Msg>,
) {
    let mut s = Schedule {
        due: BTreeMap::new(),
        pace: ReportPace::default(),
        last_bytes: BTreeMap::new(),
        autoscaler_v2: false,
        usage_in_report: false,
        backoff: None,
        fails: BTreeMap::new(),
    };
    let client = &client;
    // Each endpoint is asked again only once its answer is in, and on its own clock: a 27 MB
    // summary still on its way holds back neither the usage answer nor the first frame.
    let mut arriving: FuturesUnordered<BoxFuture<'_, Answer>> = FuturesUnordered::new();
    let mut flying: BTreeSet<Endpoint> = BTreeSet::new();
    let mut seen_seq = interest.borrow().refresh_seq;
    let mut usage_shown = false;
    loop {
        let now = Instant::now();
        let want = *interest.borrow_and_update();
        if want.usage && !usage_shown {
            // A view with usage came on screen: the report scheduled at the Autoscaler view's
            // slower pace is fetched now.
            s.due.remove(&Endpoint::ClusterStatus);
        }
        usage_shown = want.usage;
        if !want.active {
            // Off screen: what is on its way is dropped (the requests are cancelled).
            arriving = FuturesUnordered::new();
            flying.clear();
            if interest.changed().await.is_err() {
                return;
            }
            continue;
        }
        if want.refresh_seq != seen_seq {
            seen_seq = want.refresh_seq;
            s.due.clear();
            s.backoff = None;
        }
        let batch: Vec<Endpoint> = if s.backoff.is_some() {
            // Down: probe with the cheapest request only.
            if s.due.get(&Endpoint::Version).is_none_or(|d| *d <= now) { vec![Endpoint::Version] } else { vec![] }
        } else {
            Endpoint::ALL
                .into_iter()
                .filter(|ep| wanted(*ep, want, s.autoscaler_v2))
                .filter(|ep| s.due.get(ep).is_none_or(|d| *d <= now))
                .collect()
        };
        for ep in batch {
            if !flying.insert(ep) {
                continue; // Its answer is still on its way.
            }
            arriving.push(
                async move {
                    let t0 = Instant::now();
                    let result = client.fetch(ep).await;
                    (ep, result, t0.elapsed())
                }
                .boxed(),
            );
        }
        let next_due =
            s.due
                .iter()
                .filter(|(ep, _)| !flying.contains(*ep))
                .filter(|(ep, _)| {
                    if s.backoff.is_some() { **ep == Endpoint::Version } else { wanted(**ep, want, s.autoscaler_v2) }
                })
                .map(|(_, d)| *d)
                .min()
                .unwrap_or_else(|| Instant::now() + refresh);
        tokio::select! {
            Some((ep, result, took)) = arriving.next(), if !arriving.is_empty() => {
                flying.remove(&ep);
                let update = settle(&mut s, want, refresh, ep, result, took);
                if tx.send(Msg::Dash { key: key.clone(), update }).await.is_err() {
                    return; // The app is gone.
                }
            }
            _ = tokio::time::sleep_until(next_due) => {}
            changed = interest.changed() => {
                if changed.is_err() {
                    return; // The app dropped the sender: stop polling.
                }
            }
        }
    }
}

/// Folds one answer (or failure) into the schedule: when each endpoint is due next, the
/// autoscaler flavour, backoff. Returns the update for the app.
fn settle(
    s: &mut Schedule,
    want: Interest,
    refresh: Duration,
    ep: Endpoint,
    result: Result<Fetched, FetchError>,
    took: Duration,
) -> DashUpdate {
    if let Ok(f) = &result
        && let DashData::ClusterStatus(cs) = &f.data
    {
        let had = s.usage_in_report;
        let kind = cs.kind();
        s.usage_in_report = kind == ReportKind::V1WithUsage;
        if s.usage_in_report && !had {
            // A summary already fetched at the pace it had as the usage source waits for the
            // host-stats pace instead.
            if let Some(due) = s.due.get_mut(&Endpoint::Nodes) {
                *due = (*due).max(Instant::now() + HOST_STATS_FLOOR);
            }
        }
        if kind == ReportKind::V2 && !s.autoscaler_v2 {
            s.autoscaler_v2 = true;
            s.due.remove(&Endpoint::ClusterStatusText);
        }
    }
    match result {
        Ok(f) => {
            s.fails.remove(&ep);
            s.last_bytes.insert(ep, f.bytes);
            let now = Instant::now();
            let mut due = now + period_for(ep, want, s.usage_in_report, refresh, f.bytes, took);
            let written = match &f.data {
                DashData::ClusterStatus(cs) => cs.cluster_status.as_ref().and_then(|v1| v1.time),
                _ => None,
            };
            if let Some(time) = written {
                let paced = s.pace.next(time, now - took, now, refresh);
                // The writes, but no faster than the refresh asks (a monitor writing every
                // second, as the lab's does, is read at the usage pace); the Autoscaler view alone
                // keeps its slower pace for a large report.
                due = paced.max(due);
            }
            s.due.insert(ep, due);
            if s.backoff.take().is_some() {
                // Back: fetch everything the view wants right away.
                s.due.retain(|k, _| *k == Endpoint::Version);
            }
            DashUpdate::Fetched { endpoint: ep, at: f.at, bytes: f.bytes, data: Box::new(f.data) }
        }
        Err(error) => {
            if ep == Endpoint::ClusterStatus && std::mem::take(&mut s.usage_in_report) {
                // The usage answer fails: the summary is the usage source again, from now.
                s.due.remove(&Endpoint::Nodes);
            }
            let next = match &error {
                FetchError::Unreachable(_) | FetchError::Timeout(_) | FetchError::Unauthorized { .. } => {
                    let b = s.backoff.map_or(Duration::from_secs(1), |b| (b * 2).min(MAX_BACKOFF));
                    s.backoff = Some(b);
                    s.due.insert(Endpoint::Version, Instant::now() + b);
                    b
                }
                // One endpoint misbehaves: retry it later, leave the others alone.
                FetchError::Http { .. } | FetchError::Malformed { .. } | FetchError::TooLarge { .. } => {
                    let n = s.fails.entry(ep).or_default();
                    *n = n.saturating_add(1);
                    retry_after(ep, refresh, *n)
                }
            };
            s.due.insert(ep, Instant::now() + next);
            tracing::warn!(endpoint = ep.label(), %error, retry_in = ?next, "fetch failed");
            DashUpdate::Failed { endpoint: ep, at: SystemTime::now(), error }
        }
    }
}

/// Fetches everything once, for `raytop snapshot`. `/api/version` goes first: a dashboard that is
/// down or refuses raytop is asked nothing more (with `snapshot` over 200 RayClusters, one request
/// each for those whose head is not up). Under autoscaler v2 the text report is fetched too, as
/// the structured one is null.
pub async fn fetch_once(client: &DashboardClient) -> Vec<DashUpdate> {
    let version = client.fetch(Endpoint::Version).await;
    if let Err(e @ (FetchError::Unreachable(_) | FetchError::Timeout(_) | FetchError::Unauthorized { .. })) = &version {
        return vec![DashUpdate::Failed { endpoint: Endpoint::Version, at: SystemTime::now(), error: e.clone() }];
    }
    let first = [
        Endpoint::Nodes,
        Endpoint::ClusterStatus,
        Endpoint::ClusterEvents,
        Endpoint::Serve,
        Endpoint::Jobs,
        Endpoint::Actors,
        Endpoint::TrainRuns,
    ];
    let mut results = join_all(first.iter().map(|ep| async move { (*ep, client.fetch(*ep).await) })).await;
    results.insert(0, (Endpoint::Version, version));
    let v2 = results.iter().any(
        |(_, r)| matches!(r, Ok(f) if matches!(&f.data, DashData::ClusterStatus(cs) if cs.kind() == ReportKind::V2)),
    );
    if v2 {
        results.push((Endpoint::ClusterStatusText, client.fetch(Endpoint::ClusterStatusText).await));
    }
    results
        .into_iter()
        .map(|(ep, r)| match r {
            Ok(f) => DashUpdate::Fetched { endpoint: ep, at: f.at, bytes: f.bytes, data: Box::new(f.data) },
            Err(error) => DashUpdate::Failed { endpoint: ep, at: SystemTime::now(), error },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_respects_refresh_floor_and_size() {
        let one = Duration::from_secs(1);
        assert_eq!(period(Endpoint::Nodes, one, 1000), Duration::from_secs(2));
        assert_eq!(period(Endpoint::Nodes, Duration::from_secs(5), 1000), Duration::from_secs(5));
        assert_eq!(period(Endpoint::Nodes, one, 40 * 4096), Duration::from_secs(40));
        assert_eq!(period(Endpoint::Nodes, one, 50_000_000), Duration::from_secs(60));
        assert_eq!(period(Endpoint::Version, one, 100), Duration::from_secs(30));
    }

    #[test]
    fn a_misbehaving_endpoint_is_retried_soon_then_less_often() {
        let one = Duration::from_secs(1);
        let waits: Vec<u64> = (1..=7).map(|n| retry_after(Endpoint::Version, one, n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry_after(Endpoint::Nodes, one, 9), Duration::from_secs(4), "never past twice its period");
    }

    #[test]
    fn usage_on_screen_is_fetched_within_twice_the_refresh_whatever_its_size() {
        let one = Duration::from_secs(1);
        let cluster = Interest { nodes: true, usage: true, ..Interest::default() };
        let ms = |ms| Duration::from_millis(ms);
        // 0.4 MB, the report of 2,000 nodes: by size alone it would wait 98 s.
        let p = period_for(Endpoint::ClusterStatus, cluster, true, one, 400_000, ms(150));
        assert_eq!(p, ms(1600), "2 s budget less the 150 ms it took and the 250 ms margin");
        assert_eq!(
            period_for(Endpoint::ClusterStatus, cluster, true, one, 400_000, ms(1500)),
            one,
            "never under refresh"
        );
        let autoscaler = Interest { autoscaler: true, ..Interest::default() };
        assert_eq!(
            period_for(Endpoint::ClusterStatus, autoscaler, true, one, 400_000, ms(150)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn the_summary_brings_host_stats_slowly_once_the_report_brings_usage() {
        let one = Duration::from_secs(1);
        let cluster = Interest { nodes: true, usage: true, ..Interest::default() };
        let lab_summary = 57_540;
        assert_eq!(period_for(Endpoint::Nodes, cluster, false, one, lab_summary, Duration::ZERO).as_secs(), 14);
        assert_eq!(period_for(Endpoint::Nodes, cluster, true, one, lab_summary, Duration::ZERO).as_secs(), 30);
        assert_eq!(period_for(Endpoint::Nodes, cluster, true, one, 27_000_000, Duration::ZERO).as_secs(), 60);
    }

    #[test]
    fn with_prometheus_host_history_the_summary_is_asked_once_a_minute() {
        let one = Duration::from_secs(1);
        let lab_summary = 57_540;
        let mut cluster =
            Interest { nodes: true, usage: true, history: Some(HistoryTopic::Cluster), ..Interest::default() };
        // No Prometheus (window 0): the summary's host figures are on screen, every 30 s.
        assert_eq!(period_for(Endpoint::Nodes, cluster, true, one, lab_summary, Duration::ZERO).as_secs(), 30);
        cluster.history_window_s = 900;
        assert_eq!(period_for(Endpoint::Nodes, cluster, true, one, lab_summary, Duration::ZERO).as_secs(), 60);
        // Usage from the summary (no v1 report): as often as before, Prometheus or not.
        assert_eq!(period_for(Endpoint::Nodes, cluster, false, one, lab_summary, Duration::ZERO).as_secs(), 14);
        // The GPU view shows each GPU's processes, which only the summary has.
        let gpu = Interest { history: Some(HistoryTopic::Gpu), ..cluster };
        assert_eq!(period_for(Endpoint::Nodes, gpu, true, one, lab_summary, Duration::ZERO).as_secs(), 30);
    }

    #[test]
    fn a_failing_usage_answer_makes_the_summary_the_usage_source_again_at_once() {
        let one = Duration::from_secs(1);
        let mut s = Schedule {
            due: BTreeMap::from([(Endpoint::Nodes, Instant::now() + HOST_STATS_FLOOR)]),
            pace: ReportPace::default(),
            last_bytes: BTreeMap::new(),
            autoscaler_v2: false,
            usage_in_report: true,
            backoff: None,
            fails: BTreeMap::new(),
        };
        let cluster = Interest { nodes: true, usage: true, ..Interest::default() };
        let error = FetchError::Http { status: 500, path: "/api/cluster_status".into(), body: "boom".into() };
        let update = settle(&mut s, cluster, one, Endpoint::ClusterStatus, Err(error), Duration::ZERO);
        assert!(matches!(update, DashUpdate::Failed { endpoint: Endpoint::ClusterStatus, .. }));
        assert!(!s.usage_in_report);
        assert!(!s.due.contains_key(&Endpoint::Nodes), "the summary is fetched now, not in 30 s");
        assert_eq!(period_for(Endpoint::Nodes, cluster, s.usage_in_report, one, 57_540, Duration::ZERO).as_secs(), 14);
    }

    /// A monitor writing every 5 s from 0.4 s after raytop's first fetch, asked with a refresh of
    /// 1 s: after a probe finds the write, one fetch per write, each within a refresh of it.
    #[test]
    fn the_report_is_fetched_once_per_write_soon_after_it() {
        let refresh = Duration::from_secs(1);
        let t0 = Instant::now();
        let head_clock = 1_000.0; // the head's clock runs 1,000 s from ours: only deltas count
        let written_at = |at: f64| -> f64 { if at < 0.4 { -4.6 } else { 0.4 + ((at - 0.4) / 5.0).floor() * 5.0 } };
        let mut pace = ReportPace::default();
        let (mut at, mut fetches, mut last_write, mut worst_lag) = (0.0f64, 0, f64::NAN, 0.0f64);
        let mut writes_seen = Vec::new();
        while at < 60.0 {
            let took = 0.05;
            let written = written_at(at);
            fetches += 1;
            if written != last_write {
                writes_seen.push(written);
                if at > 10.0 {
                    worst_lag = worst_lag.max(at + took - written);
                }
                last_write = written;
            }
            let sent = t0 + Duration::from_secs_f64(at);
            let now = sent + Duration::from_secs_f64(took);
            let next = pace.next(written + head_clock, sent, now, refresh);
            at = next.duration_since(t0).as_secs_f64();
        }
        assert_eq!(writes_seen.len(), 13, "every write seen: {writes_seen:?}");
        eprintln!("{fetches} fetches, worst lag {worst_lag:.2} s");
        assert!(worst_lag <= 1.0 + 0.35, "each write on screen within a refresh (and the margin): {worst_lag}");
        // 12 writes in the minute: about one fetch each once the phase is found, not one per
        // 1.6 s (38) as before.
        assert!(fetches <= 16, "{fetches} fetches for 13 writes");
    }

    /// The rig stamps a report when it starts building it and serves it when built, 0.2 to 1.4 s
    /// later: a slow build is not taken for the interval, and no gap between two fetches grows
    /// past the interval and a refresh.
    #[test]
    fn a_report_served_late_now_and_then_does_not_stretch_the_pace() {
        let refresh = Duration::from_secs(1);
        let t0 = Instant::now();
        // Write k is stamped at 5k s and served from 5k + delay(k).
        let delay = |k: i64| if k % 3 == 0 { 1.4 } else { 0.2 };
        let served = |at: f64| -> f64 {
            let mut k = (at / 5.0).floor() as i64;
            while k >= 0 && at < k as f64 * 5.0 + delay(k) {
                k -= 1;
            }
            k as f64 * 5.0
        };
        let mut pace = ReportPace::default();
        let (mut at, mut worst_gap) = (0.3f64, 0.0f64);
        while at < 120.0 {
            let stamp = served(at);
            let sent = t0 + Duration::from_secs_f64(at);
            // As settle does: never faster than the usage pace (1.6 s here).
            let next = pace.next(stamp, sent, sent, refresh).max(sent + Duration::from_millis(1600));
            let last_at = at;
            at = next.duration_since(t0).as_secs_f64();
            if last_at > 30.0 {
                worst_gap = worst_gap.max(at - last_at);
            }
        }
        assert!(worst_gap <= 5.0 + 1.0, "the longest gap between fetches: {worst_gap:.2} s");
    }

    #[test]
    fn a_monitor_that_stopped_writing_is_asked_at_its_interval_not_every_refresh() {
        let refresh = Duration::from_secs(1);
        let t0 = Instant::now();
        let mut pace = ReportPace::default();
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..30 {
            let next = pace.next(42.0, at, at, refresh);
            waits.push(next.duration_since(at).as_secs());
            at = next;
        }
        // Positive control: asked every refresh at first (a write may be due any moment).
        assert_eq!(waits[1..5], [1, 1, 1, 1]);
        assert_eq!(*waits.last().unwrap(), 5, "{waits:?}");
    }

    #[test]
    fn interest_selects_endpoints() {
        let cluster = Interest { nodes: true, ..Interest::default() };
        assert!(wanted(Endpoint::Nodes, cluster, false));
        assert!(!wanted(Endpoint::Serve, cluster, false));
        let autoscaler = Interest { autoscaler: true, ..Interest::default() };
        assert!(wanted(Endpoint::ClusterStatus, autoscaler, false));
        assert!(!wanted(Endpoint::ClusterStatusText, autoscaler, false));
        assert!(wanted(Endpoint::ClusterStatusText, autoscaler, true));
        assert!(wanted(Endpoint::Nodes, autoscaler, true), "verdicts need the groups");
        let usage = Interest { usage: true, ..Interest::default() };
        assert!(wanted(Endpoint::ClusterStatus, usage, false), "usage comes from the v1 report");
        assert!(!wanted(Endpoint::ClusterStatus, usage, true), "a v2 report has none");
        assert!(wanted(Endpoint::Nodes, usage, true));
        // The report for verdicts (the GPU view's "GPU demand waits"), the events only where shown.
        assert!(!wanted(Endpoint::ClusterEvents, autoscaler, false));
        let decisions = Interest { autoscaler: true, events: true, ..Interest::default() };
        assert!(wanted(Endpoint::ClusterEvents, decisions, false));
    }

    #[test]
    fn serve_is_asked_at_the_web_dashboards_pace() {
        let one = Duration::from_secs(1);
        assert_eq!(period(Endpoint::Serve, one, 5_000).as_secs(), 4);
        assert_eq!(period(Endpoint::Serve, Duration::from_secs(10), 5_000).as_secs(), 10);
    }
}
