//! The running sources, one task per id. Starting a source under an id stops the one before it;
//! dropping the set stops them all, so no task outlives the runtime.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::JoinHandle;

/// Which source a task is. One task per id at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceId {
    /// RayClusters, pods, services, jobs of one context and namespace.
    Kube,
    /// Kubernetes Events of the same target, only while a view shows them.
    Events,
    /// Tune experiment folders.
    Tune,
    /// The Tune experiments on the head pod of the RayCluster on screen.
    HeadTune,
    /// Prometheus history for one topic and window.
    History,
    /// The one dashboard the screen needs.
    Dashboard,
    /// The log the pane shows (one at a time; none while the pane is closed).
    Log,
}

impl SourceId {
    /// What the log calls it: "events watcher started" is what a reader of the log looks for.
    pub fn label(self) -> &'static str {
        match self {
            SourceId::Kube => "kube watcher",
            SourceId::Events => "events watcher",
            SourceId::Tune => "tune reader",
            SourceId::HeadTune => "head tune reader",
            SourceId::History => "history querier",
            SourceId::Dashboard => "dashboard poller",
            SourceId::Log => "log reader",
        }
    }
}

#[derive(Default)]
pub struct Tasks {
    running: HashMap<SourceId, JoinHandle<()>>,
}

impl Tasks {
    /// Runs `task` as source `id`, stopping the task that was `id` before.
    pub fn start(&mut self, id: SourceId, task: impl Future<Output = ()> + Send + 'static) {
        self.stop(id);
        self.running.insert(id, tokio::spawn(task));
        tracing::debug!("{} started", id.label());
    }

    /// Stops source `id`; false when none was running.
    pub fn stop(&mut self, id: SourceId) -> bool {
        match self.running.remove(&id) {
            Some(task) => {
                task.abort();
                tracing::debug!("{} stopped", id.label());
                true
            }
            None => false,
        }
    }

    /// Whether source `id` was started and not stopped since (it may have ended on its own).
    pub fn has(&self, id: SourceId) -> bool {
        self.running.contains_key(&id)
    }

    /// Whether source `id` runs now (a task that ended on its own does not).
    pub fn is_running(&self, id: SourceId) -> bool {
        self.running.get(&id).is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in self.running.values() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_task_per_id_and_none_left_after_drop() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<&str>(4);
        let mut tasks = Tasks::default();
        let forever = |tx: tokio::sync::mpsc::Sender<&'static str>, name| async move {
            let _keep = tx.send(name).await;
            std::future::pending::<()>().await;
        };
        tasks.start(SourceId::Tune, forever(tx.clone(), "first"));
        assert_eq!(rx.recv().await, Some("first"));
        tasks.start(SourceId::Tune, forever(tx.clone(), "second"));
        assert_eq!(rx.recv().await, Some("second"));
        assert!(tasks.is_running(SourceId::Tune));
        assert!(!tasks.is_running(SourceId::Kube) && !tasks.has(SourceId::Kube), "never started");
        tasks.start(SourceId::Events, async {});
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while tasks.is_running(SourceId::Events) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("a task that returns ends");
        assert!(tasks.has(SourceId::Events), "an ended task is still had until stopped");
        assert!(tasks.stop(SourceId::Events) && !tasks.has(SourceId::Events));
        assert!(!tasks.stop(SourceId::Kube), "nothing to stop");
        assert_eq!(tasks.running.len(), 1, "the first Tune task was replaced, not kept beside");
        drop(tasks);
        drop(tx);
        // Every sender is gone once the aborted tasks are dropped: the channel closes.
        assert_eq!(tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await, Ok(None));
    }
}
