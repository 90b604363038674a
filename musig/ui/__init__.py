"""Streamlit glue shared by the app's pages: navigation, cached loaders, widgets, search.

The only part of musig that imports streamlit (the pages call it; the library never does).
Figures are built by :mod:`musig.workspace.figures` (plain plotly), logic lives in
:mod:`musig.workspace` and the library.

- :mod:`musig.ui.nav`: pages, navigation, this session's workspace, the first start.
- :mod:`musig.ui.loaders`: cached split, runs, track tables, features, audio, your library.
- :mod:`musig.ui.widgets`: run pickers and tables, MUSIG's settings, map selections.
- :mod:`musig.ui.picking`: tracks found by name, completions, exports.
"""

from musig.ui.loaders import (
    embed_upload,
    explain,
    features,
    incidence,
    joint_map,
    library,
    library_embeddings,
    load_run,
    play,
    run,
    split,
    track_frame,
    tracks,
    warm_audio,
)
from musig.ui.nav import (
    PAGES,
    bootstrapper,
    context,
    dataset_setting,
    first_start,
    navigation,
    start_app,
    workspace,
)
from musig.ui.picking import (
    complete,
    export_buttons,
    export_rows,
    find_track,
    pick_source,
    pick_tracks,
    search,
)
from musig.ui.widgets import (
    musig_settings,
    pick_run,
    pick_runs,
    runs_table,
    selected_ids,
    show_training,
    track_label,
)

__all__ = [
    "PAGES",
    "bootstrapper",
    "complete",
    "context",
    "dataset_setting",
    "embed_upload",
    "explain",
    "export_buttons",
    "export_rows",
    "features",
    "first_start",
    "find_track",
    "incidence",
    "joint_map",
    "library",
    "library_embeddings",
    "load_run",
    "musig_settings",
    "navigation",
    "pick_run",
    "pick_runs",
    "pick_source",
    "pick_tracks",
    "play",
    "run",
    "runs_table",
    "search",
    "selected_ids",
    "show_training",
    "split",
    "start_app",
    "track_frame",
    "track_label",
    "tracks",
    "warm_audio",
    "workspace",
]
