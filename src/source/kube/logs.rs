//! A pod's container log through the API server (`pods/log`), as `kubectl logs` reads it: the
//! container chosen, the previous (restarted) container, the last N lines, following.

use futures::stream::BoxStream;
use futures::{AsyncReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

/// Which log of which pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodLog {
    pub namespace: String,
    /// The pod's name, or `job/NAME` for the newest pod of a Kubernetes Job (as `kubectl logs
    /// job/NAME` reads it): a RayJob's submitter is the Job of the RayJob's name.
    pub pod: String,
    /// None: the pod's only container, or KubeRay's Ray container (`ray-head`/`ray-worker`, the
    /// first) when it has several.
    pub container: Option<String>,
    pub previous: bool,
    pub tail: Option<i64>,
    pub follow: bool,
}

/// The API server's refusal in words that say what was asked: a 403 names the right missing.
fn explain(e: kube::Error, what: &PodLog) -> String {
    let (ns, pod) = (&what.namespace, &what.pod);
    match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!("forbidden: may not read pods/log of {ns}/{pod}: {}", r.message)
        }
        kube::Error::Api(r) if r.code == 404 => format!("pod {ns}/{pod} not found: {}", r.message),
        kube::Error::Api(r) => format!("{ns}/{pod}: {} ({})", r.message, r.code),
        other => format!("{ns}/{pod}: {other}"),
    }
}

/// The container to read when none was named: with several containers (the autoscaler's
/// sidecar beside Ray's), the first, as KubeRay puts Ray's there; the API server would refuse
/// to choose.
async fn default_container(api: &Api<Pod>, what: &PodLog) -> Result<Option<String>, String> {
    if what.container.is_some() {
        return Ok(what.container.clone());
    }
    let pod = match api.get(&what.pod).await {
        Ok(p) => p,
        // Someone who may read logs but not pods: let pods/log choose, or say why it cannot.
        Err(kube::Error::Api(r)) if r.code == 403 => return Ok(None),
        Err(e) => return Err(explain(e, what)),
    };
    let names: Vec<String> = pod.spec.map(|s| s.containers.into_iter().map(|c| c.name).collect()).unwrap_or_default();
    Ok(if names.len() > 1 { names.into_iter().next() } else { None })
}

/// The newest pod of Job `job` (its controller labels them `batch.kubernetes.io/job-name`).
async fn newest_pod_of_job(api: &Api<Pod>, ns: &str, job: &str) -> Result<String, String> {
    let params = kube::api::ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"));
    let pods = api.list(&params).await.map_err(|e| match e {
        kube::Error::Api(r) if r.code == 403 => {
            format!("forbidden: may not list the pods of Job {ns}/{job}: {}", r.message)
        }
        other => format!("the pods of Job {ns}/{job}: {other}"),
    })?;
    pods.items
        .into_iter()
        .max_by_key(|p| p.metadata.creation_timestamp.clone())
        .and_then(|p| p.metadata.name)
        .ok_or_else(|| format!("Job {ns}/{job} has no pod (not created yet, or already cleaned up)"))
}

/// The log as chunks of bytes in the order the kubelet sends them (a chunk may end mid-line;
/// `model::logs::LogLines` puts lines together). Ends when the log does (or, following, when
/// the container stops); an error mid-stream is its last item.
pub async fn stream(
    client: kube::Client,
    what: &PodLog,
) -> Result<BoxStream<'static, Result<Vec<u8>, String>>, String> {
    let api: Api<Pod> = Api::namespaced(client, &what.namespace);
    let pod = match what.pod.strip_prefix("job/") {
        Some(job) => newest_pod_of_job(&api, &what.namespace, job).await?,
        None => what.pod.clone(),
    };
    let what = &PodLog { pod, ..what.clone() };
    let container = default_container(&api, what).await?;
    let params = LogParams {
        container,
        follow: what.follow,
        previous: what.previous,
        tail_lines: what.tail,
        ..LogParams::default()
    };
    let reader = api.log_stream(&what.pod, &params).await.map_err(|e| explain(e, what))?;
    let chunks = futures::stream::unfold(Some(Box::pin(reader)), |state| async move {
        let mut reader = state?;
        let mut buf = vec![0u8; 64 << 10];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(reader)))
            }
            Err(e) => Some((Err(format!("the log stream broke: {e}")), None)),
        }
    });
    Ok(chunks.boxed())
}
