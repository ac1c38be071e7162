//! KubeRay objects captured from the lab's real kube-apiserver (tests/fixtures/k8s/) through the
//! source's converters into the model and the Kubernetes view.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use ::kube::api::DynamicObject;
use k8s_openapi::api::core::v1::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use raytop::config::{Command, Theme};
use raytop::msg::{DashKey, KubeUpdate};
use raytop::source::kube::slim::{Node, Pod};
use raytop::source::kube::{Target, convert as kube};
use raytop::state::App;

fn items<T: serde::de::DeserializeOwned>(file: &str) -> Vec<T> {
    let path = format!("{}/tests/fixtures/k8s/{file}", env!("CARGO_MANIFEST_DIR"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["items"].clone()).unwrap()
}

/// The tests' clock: a minute after the newest object or event of the capture, so every age on
/// screen is a real one and none is in the future.
fn capture_clock() -> SystemTime {
    let created = |file: &str| -> Vec<i64> {
        items::<DynamicObject>(file)
            .iter()
            .filter_map(|o| o.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()))
            .collect()
    };
    let events: Vec<Event> = items("events.json");
    let happened = events.iter().flat_map(|e| {
        [&e.first_timestamp, &e.last_timestamp, &e.metadata.creation_timestamp]
            .into_iter()
            .flatten()
            .map(|t| t.0.as_second())
    });
    let newest = ["rayclusters.json", "rayjobs.json", "rayservices.json", "pods.json"]
        .into_iter()
        .flat_map(created)
        .chain(happened)
        .max()
        .unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_secs(newest as u64 + 60)
}

#[test]
fn the_capture_clock_is_after_every_event() {
    let now = capture_clock();
    let newest_event = items::<Event>("events.json")
        .iter()
        .filter_map(|e| e.last_timestamp.as_ref().map(|t| t.0.as_second()))
        .max()
        .unwrap();
    // 2026-12-03T10:55:19Z, the newest of the capture's events (lab/kuberay/capture-fixtures.sh).
    assert_eq!(newest_event, 1_796_295_319);
    assert_eq!(now, SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_295_319 + 60));
}

fn app_with_lab_objects() -> (App, SystemTime) {
    let c = common::load_cluster("v1-busy", common::lab_config());
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![c], keymap, Theme::builtin_default(), w);
    app.kube_target =
        Some(Target { context: Some("lab-admin".into()), namespace: Some("ray-lab".into()), all_namespaces: false });
    let rcs: Vec<DynamicObject> = items("rayclusters.json");
    let now = capture_clock();
    app.apply_kube(KubeUpdate::Connected {
        context: Some("lab-admin".into()),
        namespace: Some("ray-lab".into()),
        server: "https://127.0.0.1:16443".into(),
    });
    app.apply_kube(KubeUpdate::RayClusters(rcs.iter().map(kube::ray_cluster).collect(), now));
    app.apply_kube(KubeUpdate::RayJobs(
        items::<DynamicObject>("rayjobs.json").iter().map(kube::ray_job).collect(),
        now,
    ));
    app.apply_kube(KubeUpdate::RayServices(
        items::<DynamicObject>("rayservices.json").iter().map(kube::ray_service).collect(),
        now,
    ));
    app.apply_kube(KubeUpdate::Pods(items::<Pod>("pods.json").iter().map(kube::pod).collect(), now));
    app.apply_kube(KubeUpdate::Events(items::<Event>("events.json").iter().map(kube::event).collect(), now));
    app.apply_kube(KubeUpdate::Nodes(items::<Node>("nodes.json").iter().map(kube::node).collect(), now));
    (app, now)
}

#[test]
fn groups_come_from_spec_and_pods_from_labels() {
    let (app, _) = app_with_lab_objects();
    let gpu = app.k8s.clusters.iter().find(|c| c.name == "raycluster-gpu").unwrap();
    let g = gpu.groups.iter().find(|g| g.name == "gpu-workers").unwrap();
    assert_eq!((g.replicas, g.min, g.max, g.desired_pods), (Some(2), Some(0), Some(2), 2));
    assert_eq!((g.running, g.pending, g.ready), (1, 1, 1));
    assert_eq!(g.gpu_per_pod, 1.0);
    assert!(gpu.events.iter().any(|e| e.reason == "FailedScheduling"), "{:?}", gpu.events);
    let head = &gpu.groups[0];
    assert_eq!((head.name.as_str(), head.kind, head.pods.len()), ("headgroup", "head", 1));
}

#[test]
fn a_lost_watch_keeps_the_data_and_says_so() {
    let (mut app, now) = app_with_lab_objects();
    app.apply_kube(KubeUpdate::Failed {
        kind: raytop::msg::Resource::RayClusters,
        error: "error trying to connect: Connection refused".into(),
        forbidden: false,
        at: now,
    });
    assert_eq!(app.k8s.clusters.len(), 5, "last good data kept");
    app.run(Command::ViewKube);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now + Duration::from_secs(30))).unwrap();
    let screen = term.backend().to_string();
    assert!(
        screen.contains("rayclusters (for 30s): error trying to connect: Connection refused — data from 30s ago"),
        "{screen}"
    );
}

#[test]
fn pods_join_their_ray_nodes_by_instance_id() {
    let (mut app, now) = app_with_lab_objects();
    // A pod named like the lab's cpu-group node (KubeRay sets RAY_CLOUD_INSTANCE_ID = pod name).
    let instance =
        app.dashboards[0].groups.iter().find(|g| g.name == "cpu-group").unwrap().nodes[0].instance_id.clone();
    let mut pods: Vec<_> = items::<Pod>("pods.json").iter().map(kube::pod).collect();
    let worker = pods.iter_mut().find(|p| p.cluster == "raycluster-lab" && p.node_type == "worker").unwrap();
    worker.name = instance.clone();
    app.apply_kube(KubeUpdate::Pods(pods, now));
    let cpu = app.k8s.clusters.iter().find(|c| c.name == "raycluster-lab").unwrap();
    let pod = cpu.groups.iter().flat_map(|g| &g.pods).find(|p| p.pod.name == instance).unwrap();
    let node = pod.ray_node.as_ref().expect("joined");
    assert_eq!(node.state, "ALIVE");
    assert_eq!(raytop::ui::widgets::amount_pair(node.cpu), "0.2/2");
}

/// A group whose pods the scheduler cannot place: the Autoscaler view of that RayCluster's
/// dashboard says what holds them, in the scheduler's words, beside Ray's own verdicts.
#[test]
fn the_autoscaler_view_says_which_pods_wait_on_kubernetes_and_why() {
    let (mut app, now) = app_with_lab_objects();
    let gpu = app.k8s.clusters.iter().find(|c| c.name == "raycluster-gpu").unwrap();
    let wait = gpu.groups.iter().find(|g| g.name == "gpu-workers").unwrap().kube_wait.clone().unwrap();
    assert_eq!(wait, "1 pod(s) Pending: Unschedulable (1 Insufficient nvidia.com/gpu)");
    let head = gpu.groups.iter().find(|g| g.name == "headgroup").unwrap();
    assert_eq!(head.kube_wait, None, "a running head waits on nothing");
    app.run(Command::ViewKube);
    select_cluster(&mut app, "raycluster-gpu");
    app.run(Command::OpenCluster);
    app.run(Command::ViewAutoscaler);
    let mut term = Terminal::new(TestBackend::new(160, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains(&format!("⧗ gpu-workers on Kubernetes (RayCluster raycluster-gpu): {wait}")), "{screen}");
    // Positive control: the lab's own dashboard (not a RayCluster's) shows no such line.
    let first = app.dashboards[0].name.clone();
    app.run(Command::Palette);
    for c in format!("use {first}").chars() {
        app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
    }
    app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter));
    assert_eq!(app.current, 0, "{:?}", app.toast);
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    assert!(!term.backend().to_string().contains("on Kubernetes (RayCluster"));
}

#[test]
fn kube_view() {
    let (mut app, now) = app_with_lab_objects();
    app.run(Command::ViewKube);
    select_cluster(&mut app, "raycluster-gpu");
    app.run(Command::OpenCluster);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains("gpu-workers") && screen.contains("Pending 1 Insufficient"), "{screen}");
    assert!(screen.contains("FailedScheduling"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn gpu_view_shows_what_the_pods_request_from_kubernetes() {
    let mut c = common::load_cluster("gpu-physical", common::lab_config());
    c.name = "raycluster-gpu".into(); // the dashboard of that RayCluster (--dashboard raycluster-gpu=URL)
    let instances: Vec<String> =
        c.groups.iter().find(|g| g.name == "gpu-group").unwrap().nodes.iter().map(|n| n.instance_id.clone()).collect();
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    let mut app = App::new(vec![c], keymap, Theme::builtin_default(), w);
    let now = SystemTime::now();
    app.apply_kube(KubeUpdate::RayClusters(
        items::<DynamicObject>("rayclusters.json").iter().map(kube::ray_cluster).collect(),
        now,
    ));
    let mut pods: Vec<_> = items::<Pod>("pods.json").iter().map(kube::pod).collect();
    let gpu_pods = pods.iter().filter(|p| p.cluster == "raycluster-gpu" && p.group == "gpu-workers").count();
    assert_eq!((gpu_pods, instances.len()), (2, 2), "a gpu-workers pod for each gpu-group node: {instances:?}");
    for (p, id) in pods.iter_mut().filter(|p| p.cluster == "raycluster-gpu" && p.group == "gpu-workers").zip(&instances)
    {
        p.name = id.clone(); // KubeRay: the Ray node's instanceId is its pod's name
    }
    app.apply_kube(KubeUpdate::Pods(pods, now));
    let g = &app.dashboards[0].gpus;
    assert_eq!(g.totals.k8s_requested, Some(2.0));
    assert!(
        g.nodes.iter().all(|n| n.k8s_requested == Some(1.0)),
        "{:?}",
        g.nodes.iter().map(|n| n.k8s_requested).collect::<Vec<_>>()
    );
}

#[test]
fn opening_a_raycluster_makes_its_dashboard_current_through_the_api_server() {
    use raytop::app::Effect;
    let (mut app, _) = app_with_lab_objects();
    app.run(Command::ViewKube);
    select_cluster(&mut app, "raycluster-gpu"); // no dashboard known for it yet
    let fx = app.run(Command::OpenCluster);
    let [Effect::Poll { dashboard: Some(DashKey::Proxied { context, route }), interest }, Effect::CheckAccess(access)] =
        fx.as_slice()
    else {
        panic!("no proxied dashboard polled, or no access check: {fx:?}")
    };
    assert_eq!((access.namespace.as_str(), access.name.as_str()), ("ray-lab", "raycluster-gpu"));
    assert_eq!(context.as_deref(), Some("lab-admin"));
    assert_eq!(route.proxy_path(), "/api/v1/namespaces/ray-lab/services/raycluster-gpu-head-svc:dashboard/proxy");
    assert_eq!(route.token_secret, None, "no authOptions: no token");
    assert!(interest.active && interest.nodes, "the Kube view joins pods to Ray nodes: {interest:?}");
    assert_eq!((app.current, app.dashboards.len(), app.dashboards[1].name.as_str()), (1, 2, "raycluster-gpu"));
    // Closing and opening again reuses it; `:use` by name goes back to the first dashboard.
    app.run(Command::OpenCluster);
    let fx = app.run(Command::OpenCluster);
    assert_eq!(app.dashboards.len(), 2, "reused, not opened twice");
    assert!(
        matches!(fx.as_slice(), [Effect::Poll { dashboard: Some(k), .. }, ..] if *k == app.dashboards[1].key),
        "{fx:?}"
    );
    let first = app.dashboards[0].name.clone();
    app.run(Command::Palette);
    for c in format!("use {first}").chars() {
        app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
    }
    let fx = app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter));
    assert_eq!(app.current, 0, "{:?}", app.toast);
    assert!(matches!(fx.as_slice(), [Effect::Poll { dashboard: Some(DashKey::Url(_)), .. }]), "{fx:?}");
    // Another context's RayCluster of the same name is another cluster: a new dashboard.
    app.run(Command::Palette);
    for c in "ctx lab-viewer".chars() {
        app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
    }
    app.on_key(&crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter));
    let rcs: Vec<DynamicObject> = items("rayclusters.json");
    app.apply_kube(KubeUpdate::RayClusters(rcs.iter().map(kube::ray_cluster).collect(), SystemTime::now()));
    app.rebuild_rows();
    app.run(Command::Top);
    app.run(Command::Down);
    assert_eq!(app.dashboards.len(), 1, "a context switch closes the dashboards opened through the old one");
    let fx = app.run(Command::OpenCluster);
    let [Effect::Poll { dashboard: Some(DashKey::Proxied { context, .. }), .. }, ..] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(context.as_deref(), Some("lab-viewer"), "another context's cluster is its own dashboard");
    assert_eq!((app.current, app.dashboards.len()), (1, 2));
}

#[test]
fn token_auth_routes_name_the_secret() {
    use raytop::model::k8s::{AuthOptions, DashboardRoute, HeadStatus, RayClusterObj};
    let mut rc = RayClusterObj {
        name: "rc".into(),
        namespace: "ns".into(),
        created: None,
        spec: Default::default(),
        status: Default::default(),
    };
    rc.spec.auth_options = Some(AuthOptions { mode: Some("token".into()), secret_name: None });
    assert_eq!(DashboardRoute::of(&rc).token_secret.as_deref(), Some("rc"), "the Secret is named after the cluster");
    rc.spec.auth_options = Some(AuthOptions { mode: Some("token".into()), secret_name: Some("mine".into()) });
    rc.status.head = HeadStatus { service_name: Some("custom-svc".into()), pod_ip: None };
    let route = DashboardRoute::of(&rc);
    assert_eq!((route.service.as_str(), route.token_secret.as_deref()), ("custom-svc", Some("mine")));
    rc.spec.auth_options = Some(AuthOptions { mode: Some("disabled".into()), secret_name: None });
    assert_eq!(DashboardRoute::of(&rc).token_secret, None);
    // KubeRay before v1.6 has no authOptions: token auth set up by hand in the head's Ray
    // container, the token from a Secret of the user's choosing, under a key of theirs.
    rc.spec.auth_options = None;
    let env = |mode: &str| {
        serde_json::json!({"spec": {"containers": [{"name": "ray-head", "env": [
            {"name": "RAY_AUTH_MODE", "value": mode},
            {"name": "RAY_AUTH_TOKEN", "valueFrom": {"secretKeyRef": {"name": "ray-token", "key": "token"}}}
        ]}]}})
    };
    rc.spec.head_group_spec.template = env("token");
    let route = DashboardRoute::of(&rc);
    assert_eq!((route.token_secret.as_deref(), route.token_key.as_str()), (Some("ray-token"), "token"));
    assert_eq!(route.token_place().as_deref(), Some("ray-token key token"), "the screen names the key");
    rc.spec.head_group_spec.template = env("disabled");
    assert_eq!(DashboardRoute::of(&rc).token_secret, None, "a Secret named but token auth off: no token");
    // A token written inline in the spec is not taken from there.
    rc.spec.head_group_spec.template = serde_json::json!({"spec": {"containers": [{"env": [
        {"name": "RAY_AUTH_MODE", "value": "token"}, {"name": "RAY_AUTH_TOKEN", "value": "inline"}]}]}});
    assert_eq!(DashboardRoute::of(&rc).token_secret, None);
}

#[test]
fn gpu_capacity_of_the_nodes_against_ray_pods_requests() {
    let (app, _) = app_with_lab_objects();
    let c = &app.k8s.gpu_capacity;
    // The lab's node advertised one nvidia.com/gpu for the capture; raycluster-gpu runs one 1-GPU
    // worker on it and has one pending.
    assert_eq!((c.gpu_nodes, c.gpu_nodes_ready, c.allocatable), (1, 1, 1.0));
    assert_eq!((c.requested_by_ray_pods, c.pending_requests), (1.0, 1.0));
    let gpu = app.k8s.clusters.iter().find(|c| c.name == "raycluster-gpu").unwrap();
    let worker = gpu.groups.iter().flat_map(|g| &g.pods).find(|p| p.pod.phase == "Running" && p.pod.gpu_requests > 0.0);
    assert_eq!(worker.unwrap().node_gpus, Some(1.0), "the node it runs on offers 1");
    let node = app.k8s.nodes.iter().find(|n| n.name == "raytop-node").unwrap();
    // No GPU feature discovery here: no product label.
    assert_eq!((node.gpu_product.as_str(), node.ready), ("", true));
}

#[test]
fn a_forbidden_kind_is_a_notice_and_the_rest_stays_live() {
    let (mut app, now) = app_with_lab_objects();
    app.apply_kube(KubeUpdate::Failed {
        kind: raytop::msg::Resource::Nodes,
        error: "forbidden: nodes is forbidden: User \"viewer\" cannot list resource \"nodes\"".into(),
        forbidden: true,
        at: now,
    });
    app.run(Command::ViewKube);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now + Duration::from_secs(30))).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains("nodes: forbidden"), "{screen}");
    assert!(screen.contains("· live"), "{screen}");
    assert!(!screen.contains("stale"), "{screen}");
}

#[test]
fn pod_names_tell_pods_apart_at_80_and_160_columns() {
    let (mut app, now) = app_with_lab_objects();
    app.run(Command::ViewKube);
    select_cluster(&mut app, "raycluster-gpu");
    app.run(Command::OpenCluster);
    let pods: Vec<String> = app
        .k8s
        .clusters
        .iter()
        .find(|c| c.name == "raycluster-gpu")
        .unwrap()
        .groups
        .iter()
        .flat_map(|g| &g.pods)
        .map(|p| p.pod.name.clone())
        .collect();
    assert_eq!(pods.len(), 3, "{pods:?}");
    for width in [80, 160] {
        let mut term = Terminal::new(TestBackend::new(width, 40)).unwrap();
        term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
        let screen = term.backend().to_string();
        for name in &pods {
            // The generated suffix (after the last '-') tells the pods apart; it must be on screen.
            let suffix = name.rsplit('-').next().unwrap();
            assert!(screen.contains(suffix), "{width} columns: suffix of {name} missing:\n{screen}");
        }
        if width == 160 {
            for name in &pods {
                assert!(screen.contains(name.as_str()), "160 columns show the whole name {name}:\n{screen}");
            }
        }
    }
}

/// Selects the worker group `group` (or its first pod) of an opened RayCluster in the Kube view.
fn select_group(app: &mut App, cluster: &str, group: &str, pod: bool) {
    use raytop::rows::Row;
    app.run(Command::ViewKube);
    let at = |app: &App, want: &dyn Fn(&Row, &App) -> bool| app.rows.iter().position(|r| want(r, app));
    let ci = at(app, &|r, a| matches!(r, Row::K8sCluster { c } if a.k8s.clusters[*c].name == cluster)).unwrap();
    app.selected[raytop::view::View::Kube.index()] = ci;
    if !app.k8s_expanded.iter().any(|k| k.name == cluster) {
        app.run(Command::OpenCluster);
    }
    let gi = at(app, &|r, a| match r {
        Row::K8sGroup { c, g } if !pod => {
            a.k8s.clusters[*c].name == cluster && a.k8s.clusters[*c].groups[*g].name == group
        }
        Row::K8sPod { c, g, .. } if pod => {
            a.k8s.clusters[*c].name == cluster && a.k8s.clusters[*c].groups[*g].name == group
        }
        _ => false,
    })
    .unwrap();
    app.selected[raytop::view::View::Kube.index()] = gi;
}

/// Selects RayCluster `name`'s row in the Kube view (its rows built).
fn select_cluster(app: &mut App, name: &str) {
    use raytop::rows::Row;
    let at = app.rows.iter().position(|r| matches!(r, Row::K8sCluster { c } if app.k8s.clusters[*c].name == name));
    app.selected[raytop::view::View::Kube.index()] = at.unwrap_or_else(|| panic!("no row for RayCluster {name}"));
}

fn key(app: &mut App, k: crossterm::event::KeyCode) -> Vec<raytop::app::Effect> {
    app.on_key(&crossterm::event::KeyEvent::from(k))
}

#[test]
fn minus_on_a_worker_group_asks_first_and_cancel_sends_nothing() {
    use crossterm::event::KeyCode;
    use raytop::action::{Action, ScaleChange};
    use raytop::app::Effect;
    use raytop::state::Overlay;
    let (mut app, now) = app_with_lab_objects();
    select_group(&mut app, "raycluster-gpu", "gpu-workers", false);
    // gpu-workers is at its max (2 of [0..2]): one more is refused before anything is sent.
    assert!(key(&mut app, KeyCode::Char('+')).is_empty());
    assert_eq!(app.toast.as_deref(), Some("not sent: 3 replicas would leave [0..2]: raise max to 3 first"));
    assert!(key(&mut app, KeyCode::Char('-')).is_empty(), "nothing is sent before the yes");
    let Overlay::Confirm(c) = &app.overlay else { panic!("no confirmation: {:?}", app.toast) };
    assert_eq!(c.preview.fields.len(), 1);
    let f = &c.preview.fields[0];
    assert_eq!((f.field, f.before.as_str(), f.after.as_str()), ("replicas", "2", "1"));
    assert_eq!(c.preview.next, "KubeRay deletes 1 pod(s) of gpu-workers, chosen at random (x on a pod picks one)");
    assert!(!c.apply_focused, "Cancel has the focus");
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, now)).unwrap();
    insta::assert_snapshot!(term.backend().to_string());
    // Enter on Cancel: nothing sent.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.overlay, Overlay::None));
    assert_eq!(app.toast.as_deref(), Some("cancelled: nothing was sent"));
    // Again, Tab to Apply, Enter: one action, named by cluster and group, not by row.
    key(&mut app, KeyCode::Char('-'));
    key(&mut app, KeyCode::Tab);
    let fx = key(&mut app, KeyCode::Enter);
    let [Effect::Act { id, action, planned }] = fx.as_slice() else { panic!("{fx:?}") };
    let Action::Scale(req) = action.as_ref() else { panic!("{action:?}") };
    assert_eq!(req.target.context.as_deref(), Some("lab-admin"));
    assert_eq!((req.target.namespace.as_str(), req.target.cluster.as_str()), ("ray-lab", "raycluster-gpu"));
    assert_eq!((req.target.group.as_str(), &req.change), ("gpu-workers", &ScaleChange::Step(-1)));
    assert_eq!(planned[0].after, "1");
    // The outcome stays on screen until a key is pressed.
    let outcome = raytop::action::Outcome {
        ok: true,
        message: "patched; KubeRay deletes 1 pod(s)".into(),
        changes: planned.clone(),
    };
    let update = app.on_msg(raytop::msg::Msg::ActionDone { id: id.clone(), outcome });
    assert_eq!(update.effects, [Effect::RefreshNow], "what the change moves is fetched at once");
    assert!(matches!(&app.overlay, Overlay::Outcome { title, outcome } if title == "Scale gpu-workers" && outcome.ok));
    app.on_msg(raytop::msg::Msg::Kube(KubeUpdate::Failed {
        kind: raytop::msg::Resource::Events,
        error: "x".into(),
        forbidden: false,
        at: SystemTime::now(),
    }));
    assert!(matches!(app.overlay, Overlay::Outcome { .. }), "a watch event does not close it");
    key(&mut app, KeyCode::Char('j'));
    assert!(matches!(app.overlay, Overlay::None));
}

#[test]
fn typed_counts_are_checked_before_anything_is_sent() {
    use crossterm::event::KeyCode;
    use raytop::state::Overlay;
    let (mut app, _) = app_with_lab_objects();
    select_group(&mut app, "raycluster-gpu", "gpu-workers", false);
    // gpu-workers is [0..2] with autoscaling off: max 1 would leave its 2 replicas outside.
    key(&mut app, KeyCode::Char('M'));
    assert!(matches!(app.overlay, Overlay::Ask(_)));
    key(&mut app, KeyCode::Char('1'));
    let fx = key(&mut app, KeyCode::Enter);
    assert!(fx.is_empty() && matches!(app.overlay, Overlay::None));
    assert_eq!(app.toast.as_deref(), Some("not sent: 2 replicas would leave [0..1]: raise max to 2 first"));
    key(&mut app, KeyCode::Char('s'));
    for c in "two".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.toast.as_deref(), Some("\"two\" is not a whole number: nothing was sent"));
}

#[test]
fn x_on_a_pod_removes_exactly_that_pod_and_readonly_offers_nothing() {
    use crossterm::event::KeyCode;
    use raytop::state::Overlay;
    let (mut app, _) = app_with_lab_objects();
    select_group(&mut app, "raycluster-gpu", "gpu-workers", true);
    key(&mut app, KeyCode::Char('x'));
    let Overlay::Confirm(c) = &app.overlay else { panic!("{:?}", app.toast) };
    let pod = c.preview.title.strip_prefix("Remove pod ").unwrap().to_string();
    assert!(pod.starts_with("raycluster-gpu-gpu-workers-worker-"), "{pod}");
    assert!(
        c.preview.fields.iter().any(|f| f.field == "scaleStrategy.workersToDelete" && f.after == format!("[{pod}]"))
    );
    app.overlay = Overlay::None;
    // --readonly: the keymap has no action keys; help says nothing of scaling.
    app.keymap = app.keymap.clone().without_actions();
    app.readonly = true;
    assert!(key(&mut app, KeyCode::Char('+')).is_empty());
    assert!(matches!(app.overlay, Overlay::None));
    app.run(Command::Help);
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    term.draw(|f| raytop::ui::draw(f, &app, SystemTime::now())).unwrap();
    let screen = term.backend().to_string();
    assert!(screen.contains("Show or hide the cluster"), "{screen}");
    assert!(!screen.contains("Scale the selected worker group"), "{screen}");
}

#[test]
fn a_cluster_the_user_may_not_patch_shows_the_action_disabled_with_the_reason() {
    use crossterm::event::KeyCode;
    use raytop::state::Overlay;
    let (mut app, _) = app_with_lab_objects();
    select_group(&mut app, "raycluster-gpu", "gpu-workers", false);
    let cluster = raytop::msg::ClusterRef {
        context: Some("lab-admin".into()),
        namespace: "ray-lab".into(),
        name: "raycluster-gpu".into(),
    };
    app.on_msg(raytop::msg::Msg::Access {
        cluster,
        allowed: false,
        reason: "you may not patch rayclusters.ray.io".into(),
    });
    key(&mut app, KeyCode::Char('+'));
    assert!(matches!(app.overlay, Overlay::None));
    assert_eq!(app.toast.as_deref(), Some("disabled: you may not patch rayclusters.ray.io"));
}

#[test]
fn the_cluster_view_scales_the_raycluster_behind_its_dashboard() {
    use crossterm::event::KeyCode;
    use raytop::state::Overlay;
    let (mut app, _) = app_with_lab_objects();
    // As with --dashboard raycluster-gpu=URL: the dashboard is that RayCluster's (the local
    // lab's group renamed to the RayCluster's group name, as on KubeRay they are one).
    app.dashboards[0].name = "raycluster-gpu".into();
    let g = app.dashboards[0].groups.iter_mut().find(|g| g.name == "gpu-group").unwrap();
    g.name = "gpu-workers".into();
    app.run(Command::ViewCluster);
    let at = app
        .rows
        .iter()
        .position(|r| matches!(r, raytop::rows::Row::Group { g } if app.dashboards[0].groups[*g].name == "gpu-workers"))
        .unwrap();
    app.selected[raytop::view::View::Cluster.index()] = at;
    key(&mut app, KeyCode::Char('-'));
    let Overlay::Confirm(c) = &app.overlay else { panic!("{:?}", app.toast) };
    let raytop::action::Action::Scale(req) = &c.action else { panic!() };
    assert_eq!((req.target.cluster.as_str(), req.target.group.as_str()), ("raycluster-gpu", "gpu-workers"));
    assert_eq!(c.preview.fields[0].after, "1");
}

/// `l` on a pod reads its container log through the API server, followed; `p` the container
/// before its last restart (read whole: it has ended), `p` again the current one; `l` on a
/// RayJob reads its submitter, the newest pod of the Job of its name; on a pod of two
/// containers, a chooser of them.
#[test]
fn l_on_a_pod_follows_its_log_and_p_reads_the_previous_container() {
    use crossterm::event::KeyCode;
    use raytop::app::Effect;
    use raytop::source::logs::LogSpec;
    let (mut app, _) = app_with_lab_objects();
    let cluster = app.k8s.clusters.iter().find(|c| c.groups.iter().any(|g| !g.pods.is_empty())).unwrap();
    let (name, group) =
        (cluster.name.clone(), cluster.groups.iter().find(|g| !g.pods.is_empty()).unwrap().name.clone());
    select_group(&mut app, &name, &group, true);
    let fx = key(&mut app, KeyCode::Char('l'));
    let [Effect::OpenLog { spec: LogSpec::Pod { log, .. }, reading, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert!(!log.previous && reading.follow && !reading.reopen_on_end, "{log:?} {reading:?}");
    let pod = log.pod.clone();
    let fx = key(&mut app, KeyCode::Char('p'));
    let [Effect::OpenLog { spec: LogSpec::Pod { log, .. }, reading, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert!(log.previous && !reading.follow && log.pod == pod, "{log:?} {reading:?}");
    assert!(app.log.as_ref().unwrap().title.ends_with("(previous container)"));
    let fx = key(&mut app, KeyCode::Char('p'));
    let [Effect::OpenLog { spec: LogSpec::Pod { log, .. }, reading, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert!(!log.previous && reading.follow);
    // `o` has no stderr to switch to on a pod: a note, no new stream.
    assert!(key(&mut app, KeyCode::Char('o')).is_empty());
    assert!(app.log.as_ref().unwrap().note.as_deref().unwrap().contains("stdout and a stderr"));
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::CloseLog]);
    // A RayJob's row: its submitter.
    use raytop::rows::Row;
    let Some(at) = app.rows.iter().position(|r| matches!(r, Row::RayJob { .. })) else { panic!("no RayJob row") };
    app.selected[raytop::view::View::Kube.index()] = at;
    let Row::RayJob { j } = app.rows[at].clone() else { unreachable!() };
    let fx = key(&mut app, KeyCode::Char('l'));
    let [Effect::OpenLog { spec: LogSpec::Pod { log, .. }, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert_eq!(log.pod, format!("job/{}", app.k8s.jobs[j].name));
    assert_eq!(key(&mut app, KeyCode::Esc), [Effect::CloseLog]);
    // A head with the autoscaler's sidecar: a chooser of its two containers, Ray's first.
    select_group(&mut app, "raycluster-autoscaler", "headgroup", true);
    assert!(key(&mut app, KeyCode::Char('l')).is_empty(), "a chooser first, no stream");
    let raytop::state::Overlay::ChooseLog(choice) = &app.overlay else { panic!("{:?}", app.toast) };
    let labels: Vec<&str> = choice.items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["ray-head  (the first: Ray's on KubeRay)", "autoscaler"]);
    key(&mut app, KeyCode::Char('j'));
    let fx = key(&mut app, KeyCode::Enter);
    let [Effect::OpenLog { spec: LogSpec::Pod { log, .. }, .. }] = &fx[..] else { panic!("{fx:?}") };
    assert_eq!((log.pod.as_str(), log.container.as_deref()), ("raycluster-autoscaler-head-mznwn", Some("autoscaler")));
    assert!(app.log.as_ref().unwrap().title.contains("[autoscaler]"), "{}", app.log.as_ref().unwrap().title);
}
