"""The app's workspace: a dataset, its evaluation split, its saved runs and one background job.

No streamlit here: the app (``musig.ui``, ``pages/``) is a thin layer over these modules.

- :mod:`musig.workspace.core`: paths, the evaluation split, run listing, results.
- :mod:`musig.workspace.firststart`: first start in the background (split, default runs).
- :mod:`musig.workspace.shipped`: default runs shipped in a dataset folder (``app-runs/``).
- :mod:`musig.workspace.jobs`: training / evaluation as a subprocess, one at a time.
- :mod:`musig.workspace.views`: overlap, "why" tables, queries by vector, catalog audio.
- :mod:`musig.workspace.figures`: the plotly figures (maps, training curves, bars with CIs).
"""

from musig.workspace.core import (
    AUDIO_TYPES,
    DEFAULT_DATA,
    DEFAULT_HOME,
    FULL_RESULTS,
    MAX_UPLOAD_MB,
    RunSummary,
    Workspace,
    parse_args,
    results,
    results_frame,
    runs_frame,
)
from musig.workspace.firststart import Bootstrap, bootstrap, remove_leftovers
from musig.workspace.jobs import (
    Job,
    JobBusy,
    cancel_job,
    current_job,
    delete_run,
    last_outcome,
    log_tail,
    read_job,
    read_progress,
    start_evaluate,
    start_train,
)
from musig.workspace.views import (
    explain,
    jaccard,
    joint_map,
    joint_table,
    library_table,
    overlap_frame,
    recommend_vector,
    remember_library,
    remembered_library,
    track_audio,
    track_playlists,
    track_table,
    upload_features,
)

__all__ = [
    "AUDIO_TYPES",
    "MAX_UPLOAD_MB",
    "DEFAULT_DATA",
    "DEFAULT_HOME",
    "FULL_RESULTS",
    "Bootstrap",
    "RunSummary",
    "Workspace",
    "bootstrap",
    "parse_args",
    "remove_leftovers",
    "results",
    "results_frame",
    "runs_frame",
    "Job",
    "JobBusy",
    "cancel_job",
    "current_job",
    "delete_run",
    "last_outcome",
    "log_tail",
    "read_job",
    "read_progress",
    "start_evaluate",
    "start_train",
    "explain",
    "jaccard",
    "joint_map",
    "joint_table",
    "library_table",
    "overlap_frame",
    "recommend_vector",
    "remember_library",
    "remembered_library",
    "track_audio",
    "track_playlists",
    "track_table",
    "upload_features",
]
