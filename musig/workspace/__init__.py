"""The app's workspace: a dataset, its evaluation split, its saved runs and one background job.

No streamlit here: the app (``musig.ui``, ``pages/``) is a thin layer over these modules.

- :mod:`musig.workspace.core`: paths, first start (split, default runs), run listing, results.
- :mod:`musig.workspace.jobs`: training / evaluation as a subprocess, one at a time.
- :mod:`musig.workspace.views`: overlap, "why" tables, queries by vector, catalog audio.
- :mod:`musig.workspace.figures`: the plotly figures (maps, training curves, bars with CIs).
"""

from musig.workspace.core import (
    AUDIO_TYPES,
    DEFAULT_DATA,
    DEFAULT_HOME,
    Bootstrap,
    RunSummary,
    Workspace,
    bootstrap,
    parse_args,
    results,
    results_frame,
    runs_frame,
)
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
    overlap_frame,
    recommend_vector,
    track_audio,
    track_playlists,
    track_table,
    upload_features,
)

__all__ = [
    "AUDIO_TYPES",
    "DEFAULT_DATA",
    "DEFAULT_HOME",
    "Bootstrap",
    "RunSummary",
    "Workspace",
    "bootstrap",
    "parse_args",
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
    "overlap_frame",
    "recommend_vector",
    "track_audio",
    "track_playlists",
    "track_table",
    "upload_features",
]
