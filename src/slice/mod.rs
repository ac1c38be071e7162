//! What each view is, apart from drawing: what its dashboard's poller fetches while it is on
//! screen, the commands its footer names, and the rows it lists, derived when the model, the
//! filter or the folds change. The update function (`app`) reads these; `ui::views` only draws
//! the rows built here.

pub mod autoscaler;
pub mod cluster;
pub mod gpu;
pub mod jobs;
pub mod kube;
pub mod serve;
pub mod tune;

use crate::config::Command;
use crate::model::Dashboard;
use crate::msg::Interest;
use crate::rows::{Options, Row};
use crate::view::View;

/// Everything one view is, but its drawing, in one value.
pub struct Slice {
    pub view: View,
    /// What its dashboard's poller must fetch while it is on screen; nothing else is polled.
    pub interest: Interest,
    /// Commands named in the footer, besides the global ones; keys come from the keymap.
    pub hints: &'static [(Command, &'static str)],
    /// Its rows, derived when the model, the filter or the folds change, never while drawing.
    pub rows: fn(Option<&Dashboard>, &Options) -> Vec<Row>,
}

/// The slice of a view.
pub fn slice(view: View) -> &'static Slice {
    match view {
        View::Cluster => &cluster::SLICE,
        View::Autoscaler => &autoscaler::SLICE,
        View::Serve => &serve::SLICE,
        View::Tune => &tune::SLICE,
        View::Gpu => &gpu::SLICE,
        View::Jobs => &jobs::SLICE,
        View::Kube => &kube::SLICE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_view_has_its_own_slice() {
        for v in View::ALL {
            assert_eq!(slice(v).view, v);
        }
    }
}
