"""A Ray Tune Stopper that lets raytop stop one trial gracefully.

raytop cannot reach into a Tune driver: Ray has no API to stop a single trial.
With this Stopper in the experiment, raytop's `c` (or `raytop cancel-trial`)
writes a marker file `<experiment folder>/raytop-stop/<trial_id>`; the Stopper
sees it at the trial's next report and stops the trial, which ends TERMINATED,
with its checkpoints, instead of ERROR.
"""

import os

from ray import tune

STOP_DIR = "raytop-stop"


class RaytopStopper(tune.Stopper):
    """Stops a trial when raytop left a marker for it.

    `experiment_dir` is the experiment's folder: `RunConfig.storage_path` joined
    with `RunConfig.name`. The Stopper creates `raytop-stop/` there, which tells
    raytop that this experiment takes markers. Combine it with other stoppers
    through `tune.stopper.CombinedStopper`.
    """

    def __init__(self, experiment_dir):
        self._dir = os.path.join(os.path.expanduser(experiment_dir), STOP_DIR)
        os.makedirs(self._dir, exist_ok=True)

    def __call__(self, trial_id, result):
        # One stat per reported result: cheap next to a training step.
        return os.path.exists(os.path.join(self._dir, trial_id))

    def stop_all(self):
        return False
