//! May the user change a RayCluster? Asked of the API server with a SelfSubjectAccessReview, the
//! way `kubectl auth can-i` does, before an action is offered.

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::Client;
use kube::api::{Api, PostParams};

/// Whether `verb` on RayCluster `name` is allowed, and the reason in words.
pub async fn can_i(client: &Client, verb: &str, namespace: &str, name: &str) -> (bool, String) {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                group: Some("ray.io".into()),
                resource: Some("rayclusters".into()),
                verb: Some(verb.into()),
                namespace: Some(namespace.into()),
                name: Some(name.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    match api.create(&PostParams::default(), &review).await {
        Ok(r) => {
            let status = r.status.unwrap_or_default();
            let reason = if status.allowed {
                format!("may {verb} rayclusters in {namespace}")
            } else {
                let why = status.reason.filter(|s| !s.is_empty()).unwrap_or_else(|| "RBAC denies it".into());
                format!("you may not {verb} rayclusters.ray.io {name} in {namespace} ({why})")
            };
            (status.allowed, reason)
        }
        // Cannot ask: offer the action; the API server will answer the patch itself.
        Err(e) => (true, format!("could not ask the API server ({e}); the patch will tell")),
    }
}
