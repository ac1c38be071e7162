//! What one Kubernetes update costs the app loop at scale: 200 RayClusters with 25 pods each
//! (the shape of lab/kube/load.py), built from objects captured from the lab's API server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use kube::api::DynamicObject;
use raytop::config::Theme;
use raytop::model::k8s::{PodObj, RayClusterObj};
use raytop::msg::KubeUpdate;
use raytop::source::kube::convert as source;
use raytop::source::kube::slim::Pod;
use raytop::state::App;
use raytop::view::View;

fn items<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = format!("{}/tests/fixtures/k8s/{file}", env!("CARGO_MANIFEST_DIR"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["items"].clone()).unwrap()
}

fn scale(clusters: usize, per: usize) -> (Vec<RayClusterObj>, Vec<PodObj>) {
    let rc =
        items::<DynamicObject>("rayclusters.json").iter().map(source::ray_cluster).find(|c| c.name == "raycluster-lab");
    let pod = items::<Pod>("pods.json").iter().map(source::pod).find(|p| p.node_type == "worker").unwrap();
    let rc = rc.unwrap();
    let group = rc.spec.worker_group_specs[0].group_name.clone();
    let mut rcs = Vec::new();
    let mut pods = Vec::new();
    for i in 0..clusters {
        let name = format!("scale-{i:03}");
        rcs.push(RayClusterObj { name: name.clone(), namespace: "ray-scale".into(), ..rc.clone() });
        for j in 0..per {
            pods.push(PodObj {
                name: format!("{name}-worker-{j:03}"),
                namespace: "ray-scale".into(),
                cluster: name.clone(),
                group: group.clone(),
                ip: format!("10.{}.{}.{}", 100 + i / 250, i % 250, j + 2),
                ..pod.clone()
            });
        }
    }
    (rcs, pods)
}

fn bench(c: &mut Criterion) {
    let (rcs, pods) = scale(200, 25);
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![], keymap, Theme::builtin_default(), w);
    app.kube_target = Some(Default::default());
    app.view = View::Kube;
    let now = SystemTime::now();
    app.apply_kube(KubeUpdate::RayClusters(rcs, now));
    c.bench_function("kube: pods update at 200 clusters x 25 pods (model + rows)", |b| {
        b.iter(|| {
            app.on_msg(raytop::msg::Msg::Kube(KubeUpdate::Pods(pods.clone(), now)));
            black_box(app.rows.len())
        })
    });
    let mut k8s = app.k8s.clone();
    let index = Default::default();
    c.bench_function("kube: K8s::rebuild at 200 clusters x 25 pods", |b| {
        b.iter(|| {
            k8s.rebuild(&index);
            black_box(k8s.clusters.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
