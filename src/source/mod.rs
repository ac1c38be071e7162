//! Data sources: tasks that talk to the outside world and only send messages to the app loop.

pub mod aws_profile;
pub mod azure_connection;
pub mod dashboard;
pub mod kube;
pub mod logs;
pub mod mirror_dir;
pub mod prometheus;
pub mod token;
pub mod tune;
pub mod tune_cloud;
pub mod tune_head;
pub mod tune_limits;

/// The innermost cause of an error: reqwest's own text hides it ("error sending request"),
/// the source chain names it ("Connection refused").
pub fn innermost_cause(e: &dyn std::error::Error) -> String {
    let mut detail = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    detail
}
