//! The views raytop has, as one type: the tab, the number key and the keymap section of each.
//! What a view fetches, lists, hints and draws lives in its slice in `ui::views`.

/// A screen of raytop, and the keymap section of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum View {
    /// One Ray cluster's head and worker groups, and their nodes (from its dashboard).
    Cluster,
    Autoscaler,
    Serve,
    Tune,
    Gpu,
    /// Ray jobs (from the dashboard) and RayJobs (from Kubernetes).
    Jobs,
    /// Kubernetes: every RayCluster, RayJob and RayService the user may see.
    Kube,
}

impl View {
    /// In tab order.
    pub const ALL: [View; 7] =
        [View::Cluster, View::Autoscaler, View::Serve, View::Tune, View::Gpu, View::Jobs, View::Kube];

    pub fn title(self) -> &'static str {
        match self {
            View::Cluster => "Cluster",
            View::Autoscaler => "Autoscaler",
            View::Serve => "Serve",
            View::Tune => "Tune",
            View::Gpu => "GPU",
            View::Jobs => "Jobs",
            View::Kube => "Kube",
        }
    }

    /// The key the default keymap gives the view, for the header's tabs.
    pub fn key(self) -> char {
        match self {
            View::Kube => '0',
            other => char::from(b'1' + other.index() as u8),
        }
    }

    /// The view's section in keymap files.
    pub fn section(self) -> &'static str {
        match self {
            View::Cluster => "cluster",
            View::Autoscaler => "autoscaler",
            View::Serve => "serve",
            View::Tune => "tune",
            View::Gpu => "gpu",
            View::Jobs => "jobs",
            View::Kube => "kube",
        }
    }

    /// A keymap section name; `clusters` is what the Kube view's section was called before.
    pub fn from_section(name: &str) -> Option<View> {
        match name {
            "clusters" => Some(View::Kube),
            _ => View::ALL.into_iter().find(|v| v.section() == name),
        }
    }

    /// Position in `ALL`: per-view state (filter, selection) is kept in arrays of this size.
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or_default()
    }

    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    pub fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// Leaderboard state: sort column and order, status shown, experiment, detail panel.
#[derive(Debug, Clone, Default)]
pub struct TuneUi {
    /// Index into the leaderboard's sortable columns (0 = rank by best).
    pub sort: usize,
    pub descending: bool,
    pub status: Option<&'static str>,
    /// The experiment shown, by name (indices shift when a new experiment sorts before it);
    /// `None` follows the newest. Picking one with `[`/`]`, or acting on one of its trials, pins it.
    pub experiment: Option<String>,
    pub detail: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sections_and_order_are_distinct() {
        let keys: std::collections::BTreeSet<char> = View::ALL.iter().map(|v| v.key()).collect();
        assert_eq!(keys.len(), View::ALL.len());
        for v in View::ALL {
            assert_eq!(View::from_section(v.section()), Some(v));
            assert_eq!(v.next().prev(), v);
        }
        assert_eq!(View::Jobs.key(), '6');
        assert_eq!(View::Kube.key(), '0');
        assert_eq!(View::from_section("clusters"), Some(View::Kube));
    }
}
