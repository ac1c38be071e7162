//! Key sequences through the app's update function: views, filter, palette, folding, help.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use raytop::app::Effect;
use raytop::config::Theme;
use raytop::msg::{HistoryTopic, Interest};
use raytop::rows::Row;
use raytop::state::{App, Overlay};
use raytop::view::View;

fn app() -> App {
    let c = common::load_cluster("v1-busy", common::lab_config());
    let mut w = Vec::new();
    let keymap = raytop::config::keymap::load(None, &mut w);
    App::new(vec![c], keymap, Theme::builtin_default(), w)
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(&KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// What a view asks its dashboard's poller for, written out here field by field: never read
/// from the views' own table (`slice(view).interest`), so a change to a view's data fails here.
const ACTIVE: Interest = Interest {
    active: true,
    nodes: false,
    usage: false,
    autoscaler: false,
    events: false,
    serve: false,
    jobs: false,
    actors: false,
    tune: false,
    kube_events: false,
    history: None,
    history_window_s: 0,
    refresh_seq: 0,
};

#[test]
fn number_keys_and_tab_switch_views_and_ask_for_their_data() {
    let mut a = app();
    assert_eq!(a.view, View::Cluster);
    let fx = press(&mut a, KeyCode::Char('2'));
    assert_eq!(a.view, View::Autoscaler);
    let lab = Some(a.dashboards[0].key.clone());
    let autoscaler = Interest { autoscaler: true, events: true, history: Some(HistoryTopic::Autoscaler), ..ACTIVE };
    assert_eq!(fx, vec![Effect::Poll { dashboard: lab.clone(), interest: autoscaler }]);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Serve);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Tune);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Gpu);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Jobs);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Kube);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Cluster);
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.view, View::Kube);
    let fx = press(&mut a, KeyCode::Char('4'));
    assert_eq!(a.view, View::Tune);
    let tune = Interest { nodes: true, actors: true, tune: true, ..ACTIVE };
    assert_eq!(fx, vec![Effect::Poll { dashboard: lab, interest: tune }]);
}

#[test]
fn each_view_asks_for_exactly_the_data_it_shows() {
    let mut a = app();
    let lab = Some(a.dashboards[0].key.clone());
    let want = [
        (
            '2',
            View::Autoscaler,
            Interest { autoscaler: true, events: true, history: Some(HistoryTopic::Autoscaler), ..ACTIVE },
        ),
        ('3', View::Serve, Interest { serve: true, history: Some(HistoryTopic::Serve), ..ACTIVE }),
        ('4', View::Tune, Interest { nodes: true, actors: true, tune: true, ..ACTIVE }),
        (
            '5',
            View::Gpu,
            Interest {
                nodes: true,
                usage: true,
                autoscaler: true,
                serve: true,
                actors: true,
                tune: true,
                history: Some(HistoryTopic::Gpu),
                ..ACTIVE
            },
        ),
        ('6', View::Jobs, Interest { jobs: true, ..ACTIVE }),
        ('0', View::Kube, Interest { nodes: true, usage: true, kube_events: true, ..ACTIVE }),
        ('1', View::Cluster, Interest { nodes: true, usage: true, history: Some(HistoryTopic::Cluster), ..ACTIVE }),
    ];
    for (key, view, interest) in want {
        let fx = press(&mut a, KeyCode::Char(key));
        assert_eq!(a.view, view);
        let polls: Vec<&Effect> = fx.iter().filter(|e| matches!(e, Effect::Poll { .. })).collect();
        assert_eq!(polls, [&Effect::Poll { dashboard: lab.clone(), interest }], "{view:?}: {fx:?}");
    }
}

#[test]
fn filter_narrows_rows_and_esc_clears_it() {
    let mut a = app();
    let all = a.rows.len();
    press(&mut a, KeyCode::Char('/'));
    typed(&mut a, "gpu");
    assert!(matches!(a.overlay, Overlay::Filter(_)));
    assert!(a.rows.len() < all);
    assert!(a.rows.iter().all(|r| match r {
        Row::Group { g } | Row::Node { g, .. } => a.dashboards[0].groups[*g].name == "gpu-group",
        _ => true,
    }));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.filter(), "gpu");
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.filter(), "");
    assert_eq!(a.rows.len(), all);
}

#[test]
fn palette_runs_commands_and_rejects_unknown_ones() {
    let mut a = app();
    press(&mut a, KeyCode::Char(':'));
    typed(&mut a, "ser");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.view, View::Serve);
    press(&mut a, KeyCode::Char(':'));
    typed(&mut a, "explode");
    press(&mut a, KeyCode::Enter);
    assert!(a.toast.as_deref().unwrap_or_default().contains("unknown command"));
    assert_eq!(a.view, View::Serve);
}

#[test]
fn enter_folds_a_group_and_navigation_stays_in_range() {
    let mut a = app();
    let before = a.rows.len();
    press(&mut a, KeyCode::Enter); // first row is the head group
    assert!(a.rows.len() < before);
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.rows.len(), before);
    press(&mut a, KeyCode::Char('G'));
    assert_eq!(a.selected(), a.rows.len() - 1);
    press(&mut a, KeyCode::Down);
    assert_eq!(a.selected(), a.rows.len() - 1);
    press(&mut a, KeyCode::Char('g'));
    assert_eq!(a.selected(), 0);
}

#[test]
fn help_opens_and_any_key_closes_it_but_q_quits() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    assert!(matches!(a.overlay, Overlay::Help));
    press(&mut a, KeyCode::Char('x'));
    assert!(matches!(a.overlay, Overlay::None));
    assert!(!a.quit);
    press(&mut a, KeyCode::Char('?'));
    let fx = press(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
    assert_eq!(fx, vec![Effect::Quit]);
}

#[test]
fn refresh_asks_the_sources_to_fetch_now() {
    let mut a = app();
    assert_eq!(press(&mut a, KeyCode::Char('r')), vec![Effect::RefreshNow]);
}

#[test]
fn a_bad_user_keymap_warns_and_keeps_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[global\nbindings = oops").unwrap();
    let loaded = raytop::config::load(Some(dir.path()), "default");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("keymap.toml"));
    let mut a = App::new(
        vec![common::load_cluster("v1-busy", common::lab_config())],
        loaded.keymap,
        loaded.theme,
        loaded.warnings,
    );
    assert_eq!(press(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
}

/// `:prom URL` switches the source: it is asked for at once, and an answer the old source's
/// querier had already sent is dropped rather than shown as the new one's.
#[test]
fn prom_switches_the_source_and_drops_the_old_ones_answers() {
    use raytop::msg::{HistoryUpdate, Msg};
    use raytop::source::prometheus::PromSource;
    let mut a = app();
    a.history = Some(raytop::model::history::History::new("http://old:9090".into()));
    press(&mut a, KeyCode::Char(':'));
    typed(&mut a, "prom http://new:9090");
    let fx = press(&mut a, KeyCode::Enter);
    assert_eq!(fx.first(), Some(&Effect::Prometheus(PromSource::Url("http://new:9090".into()))), "{fx:?}");
    assert_eq!(a.history.as_ref().map(|h| h.source.as_str()), Some("http://new:9090"));
    let result = raytop::model::history::QueryResult {
        query: "q".into(),
        start: 0.0,
        end: 900.0,
        step: 7,
        series: vec![raytop::model::history::Series { labels: Default::default(), points: vec![(1.0, 1.0)] }],
    };
    let stale = HistoryUpdate::Answered { name: "cpu_pct", result: result.clone(), at: std::time::UNIX_EPOCH };
    a.on_msg(Msg::History { from: "http://old:9090".into(), update: stale });
    assert!(a.history.as_ref().unwrap().results.is_empty(), "the old source's answer is dropped");
    let fresh = HistoryUpdate::Answered { name: "cpu_pct", result, at: std::time::UNIX_EPOCH };
    a.on_msg(Msg::History { from: "http://new:9090".into(), update: fresh });
    assert_eq!(a.history.as_ref().unwrap().results.len(), 1, "the new source's answer is kept");
}

/// A fold belongs to the group folded, by name: when the groups come in another order (a
/// group appears, the dashboard lists them otherwise), the same group stays folded.
#[test]
fn a_folded_group_stays_folded_when_groups_reorder() {
    let mut a = app();
    let names = |a: &App| -> Vec<String> {
        a.rows
            .iter()
            .filter_map(|r| match r {
                Row::Group { g } => Some(a.dashboards[0].groups[*g].name.clone()),
                _ => None,
            })
            .collect()
    };
    let groups = names(&a);
    assert!(groups.len() >= 2, "{groups:?}");
    let nodes_under = |a: &App, name: &str| -> usize {
        let at = a.rows.iter().position(|r| matches!(r, Row::Group { g } if a.dashboards[0].groups[*g].name == name));
        let at = at.unwrap();
        a.rows[at + 1..].iter().take_while(|r| !matches!(r, Row::Group { .. })).count()
    };
    let folded = groups[0].clone();
    let open = groups[1].clone();
    let (open_before, folded_before) = (nodes_under(&a, &open), nodes_under(&a, &folded));
    assert!(folded_before > 0 && open_before > 0, "both groups list nodes before the fold");
    press(&mut a, KeyCode::Enter); // the first row is the first group
    assert_eq!(nodes_under(&a, &folded), 0);
    // The same groups, in reverse order.
    a.dashboards[0].groups.reverse();
    a.rebuild_rows();
    assert_eq!(names(&a), groups.iter().rev().cloned().collect::<Vec<_>>(), "the order changed");
    assert_eq!(nodes_under(&a, &folded), 0, "{folded} stays folded");
    assert_eq!(nodes_under(&a, &open), open_before, "{open} stays open");
}
