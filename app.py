"""musig app: ``streamlit run app.py [-- --data DATASET_DIR --home APP_HOME]``.

Opens on the repo's sample world by default. At first start the workspace draws an evaluation
split and, in the background (progress shown here), copies the default runs the dataset ships
(``sample_data/app-runs``) or trains them, cheapest first; runs are kept under the app home (env
MUSIG_HOME), so later starts have them at once.
"""

import streamlit as st

from musig import ui

ui.start_app()

try:
    ws = ui.workspace()
except ValueError as e:
    st.error(f"Cannot open the dataset: {e}")
    ui.dataset_setting()
    st.stop()

# First start (or defaults missing): split + default runs in a background thread, shared by
# every session of this server; the progress bar polls it.
boot = ui.first_start(ws)
if boot is not None and boot.error:
    st.error(f"Preparing the default runs failed: {boot.error}")
    if st.button("Try again"):
        ui.bootstrapper.clear()
        st.rerun()
elif boot is not None and not boot.done.is_set():

    @st.fragment(run_every=0.5)
    def bootstrap_progress() -> None:
        runs = len(ws.list_runs())
        if boot.done.is_set() or runs != st.session_state.setdefault("_runs_seen", runs):
            st.session_state["_runs_seen"] = runs
            st.rerun()  # the whole app, so the page shows every run trained so far
        st.progress(boot.fraction, text=f"First start: {boot.message}…")

    bootstrap_progress()

ui.navigation().run()
