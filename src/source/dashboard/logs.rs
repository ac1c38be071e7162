//! Ray's log files through the dashboard (`/api/v0/logs/file` and `/stream`, Ray 2.45+): which
//! file a target names, and the query that reads it. The head resolves an actor, a worker pid or
//! a submission to its node's file and streams it from that node's agent, so one dashboard
//! reaches every node's logs (facts: ray-logs-train.md §1).

use serde::Serialize;

/// A Ray node, as the log routes take it (never both at once: Ray refuses that).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NodeRef {
    Id(String),
    Ip(String),
}

/// Which Ray log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RayLog {
    /// An actor's worker output (a Serve replica, a Train worker); Ray 2.60 also finds a dead
    /// or restarted actor's earlier file.
    Actor { actor_id: String, err: bool },
    /// A worker process's output on a node (a Tune trial: its last result names pid and node).
    Pid { node: NodeRef, pid: u64, err: bool },
    /// A file of a node's `logs/` folder, by its relative name (`raylet.out`, `gcs_server.out`).
    File { node: NodeRef, filename: String },
    /// A submitted job's driver output, on the node its driver ran on.
    Submission { submission_id: String, node_id: String },
}

impl RayLog {
    /// The query that names the file, without the line count.
    fn params(&self) -> Vec<(&'static str, String)> {
        let node = |n: &NodeRef| match n {
            NodeRef::Id(id) => ("node_id", id.clone()),
            NodeRef::Ip(ip) => ("node_ip", ip.clone()),
        };
        let suffix = |err: bool| ("suffix", if err { "err" } else { "out" }.to_string());
        match self {
            RayLog::Actor { actor_id, err } => vec![("actor_id", actor_id.clone()), suffix(*err)],
            RayLog::Pid { node: n, pid, err } => vec![node(n), ("pid", pid.to_string()), suffix(*err)],
            RayLog::File { node: n, filename } => vec![node(n), ("filename", filename.clone())],
            RayLog::Submission { submission_id, node_id } => {
                vec![("node_id", node_id.clone()), ("submission_id", submission_id.clone())]
            }
        }
    }

    /// The dashboard path that reads the log: its last `lines` lines (None: the whole file), then,
    /// with `follow`, what is written after. `format=text` keeps a Ray before 2.45 from framing
    /// each chunk with a marker byte; 2.45 and later ignore it.
    pub fn path(&self, lines: Option<i64>, follow: bool) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.params() {
            q.append_pair(k, &v);
        }
        q.append_pair("lines", &lines.unwrap_or(-1).to_string());
        if !follow {
            // Ray ends a file read at its gRPC deadline, 30 s by default: a 1 GiB file (about
            // 30 s from the agent) was cut there. The stream has no deadline.
            q.append_pair("timeout", "900");
        }
        q.append_pair("format", "text");
        let route = if follow { "stream" } else { "file" };
        format!("/api/v0/logs/{route}?{}", q.finish())
    }

    /// What the pane's title says it reads.
    pub fn describe(&self) -> String {
        let node = |n: &NodeRef| match n {
            NodeRef::Id(id) => format!("node {}", short(id)),
            NodeRef::Ip(ip) => format!("node {ip}"),
        };
        let stream = |err: bool| if err { "stderr" } else { "stdout" };
        match self {
            RayLog::Actor { actor_id, err } => format!("actor {} {}", short(actor_id), stream(*err)),
            RayLog::Pid { node: n, pid, err } => format!("pid {pid} on {} {}", node(n), stream(*err)),
            RayLog::File { node: n, filename } => format!("{filename} on {}", node(n)),
            RayLog::Submission { submission_id, .. } => format!("job {submission_id} driver"),
        }
    }
}

/// A Ray id cut to what tells it apart on screen.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `GET /api/v0/logs?node_id=…`: the node's log files by category (`{category: [names]}`), names
/// ending in `/` are folders.
pub fn list_path(node: &NodeRef, glob: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    match node {
        NodeRef::Id(id) => q.append_pair("node_id", id),
        NodeRef::Ip(ip) => q.append_pair("node_ip", ip),
    };
    if let Some(g) = glob {
        q.append_pair("glob", g);
    }
    format!("/api/v0/logs?{}", q.finish())
}

/// The file names of a list answer (Envelope A), folders left out, sorted.
pub fn parse_list(v: &serde_json::Value) -> Result<Vec<String>, String> {
    let by_category = v.pointer("/data/result").and_then(serde_json::Value::as_object).ok_or_else(|| {
        format!("no data.result in the log list: {}", v.to_string().chars().take(200).collect::<String>())
    })?;
    let mut names: Vec<String> = by_category
        .values()
        .filter_map(serde_json::Value::as_array)
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter(|n| !n.ends_with('/'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_names_its_file_as_ray_wants_it() {
        let actor = RayLog::Actor { actor_id: "ab12".into(), err: false };
        assert_eq!(actor.path(Some(100), true), "/api/v0/logs/stream?actor_id=ab12&suffix=out&lines=100&format=text");
        let pid = RayLog::Pid { node: NodeRef::Ip("10.0.0.7".into()), pid: 4242, err: true };
        assert_eq!(
            pid.path(None, false),
            "/api/v0/logs/file?node_ip=10.0.0.7&pid=4242&suffix=err&lines=-1&timeout=900&format=text"
        );
        let file = RayLog::File { node: NodeRef::Id("n1".into()), filename: "train/a b.log".into() };
        assert_eq!(
            file.path(Some(5), false),
            "/api/v0/logs/file?node_id=n1&filename=train%2Fa+b.log&lines=5&timeout=900&format=text"
        );
        let job = RayLog::Submission { submission_id: "raysubmit_X".into(), node_id: "n1".into() };
        assert!(job.path(Some(1), true).contains("node_id=n1&submission_id=raysubmit_X"));
        assert_eq!(list_path(&NodeRef::Id("n1".into()), Some("train/*")), "/api/v0/logs?node_id=n1&glob=train%2F*");
    }

    #[test]
    fn a_list_answer_gives_the_file_names() {
        let v = serde_json::json!({"result": true, "msg": "", "data": {"result": {
            "raylet": ["raylet.out", "raylet.err"], "worker_out": ["worker-1-01000000-7.out"], "internal": ["events/"]}}});
        assert_eq!(parse_list(&v).unwrap(), ["raylet.err", "raylet.out", "worker-1-01000000-7.out"]);
        assert!(parse_list(&serde_json::json!({"result": false})).is_err());
    }
}
