"""Train: a new run in a subprocess with live progress; evaluated and saved for every page."""

import json
import time

import streamlit as st

from musig import ui
from musig import workspace as wsp
from musig.fitting import config_to_dict
from musig.methods import METHODS, PRIMARY, resolve_config
from musig.musig_config import MusigConfig
from musig.runs import read_log

ws, ds, runs = ui.context()
st.title("Train")

method = st.selectbox("Method", METHODS, index=METHODS.index(PRIMARY), key="train_method")
base = config_to_dict(resolve_config(method))
# The default name is drawn once per session and method: a default that follows the clock makes
# a new widget each minute, and a name typed at the turn of a minute was lost.
name_key = f"train_name_{method}"
st.session_state.setdefault(name_key, f"{method}-{time.strftime('%m%d-%H%M')}")
with st.form("train_form"):
    name = st.text_input("Run name", key=name_key)
    configurable = isinstance(resolve_config(method), MusigConfig)
    overrides = ui.musig_settings(base) if configurable else {}
    seed = st.number_input("Seed", 0, 2**31 - 1, 0)
    defaults = json.dumps({k: v for k, v in base.items() if k != "seed"})
    extra = st.text_area("More settings (JSON, optional)", "{}", help=f"Defaults: {defaults}")
    submitted = st.form_submit_button("Start training", type="primary")

if submitted:
    try:
        if "fanouts" in overrides:  # typed as text, e.g. "10,5"
            overrides["fanouts"] = [int(x) for x in overrides["fanouts"].split(",") if x.strip()]
        overrides.update(json.loads(extra or "{}"))
        job = wsp.start_train(ws, name.strip(), method, overrides, int(seed))
        st.toast(f"Started training {job.name}")
    except wsp.JobBusy as e:
        st.warning(str(e))
    except (ValueError, json.JSONDecodeError) as e:
        st.error(f"Cannot start: {e}")

job = wsp.current_job(ws)
if job is not None:

    @st.fragment(run_every=1.0)
    def live() -> None:
        current = wsp.current_job(ws)
        if current is None:
            st.rerun()  # finished: redraw the page with the outcome and the new run
        log = wsp.read_progress(current.progress_file)
        steps = log.loc[log["kind"] == "train", "step"] if "kind" in log else []
        step = int(steps.max()) if len(steps) else 0
        took = f"{time.time() - current.started:.0f} s"
        if current.steps:
            text = f"training {current.name}: step {step}/{current.steps} · {took}"
            st.progress(min(step / current.steps, 1.0), text=text)
        else:
            st.progress(0.0, text=f"{current.kind} {current.name}: running · {took}")
        if st.button("Cancel", key="train_cancel"):
            wsp.cancel_job(ws)
            st.rerun()
        if current.kind == "train":
            ui.show_training(log)
        else:
            st.code(wsp.log_tail(current.log_file), language=None)

    live()

last = wsp.last_outcome(ws) if job is None else None
if last is not None and last["state"] == "failed":
    st.error(f"{last['kind']} of {last['name']!r} failed:")
    st.code(last["message"])
elif last is not None and last["state"] == "done" and last["kind"] == "train":
    st.success(f"{last['message']}; evaluated on the split's challenge playlists (bold below).")
elif last is not None and last["state"] == "done":
    st.success(f"{last['message']}: see Benchmark.")
elif last is not None:
    st.info(last["message"])

st.subheader("Saved runs")
runs = ws.list_runs()
ui.runs_table(runs, key="train_runs", highlight=last and last["name"])
names = [r.name for r in runs]
shown_log = st.selectbox("Training curves of", names, key="train_log_run")
ui.show_training(read_log(ws.runs_dir / shown_log))

own = [r.name for r in runs if not r.default]
with st.expander("Delete a run"):
    if not own:
        st.caption("Only runs you trained can be deleted; the default runs are kept.")
    else:
        victim = st.selectbox("Run", own, key="train_delete")
        sure = st.checkbox(f"Yes, delete {victim} for good", key="train_delete_sure")
        if st.button("Delete", disabled=not sure, key="train_delete_btn"):
            try:
                wsp.delete_run(ws, victim)
            except ValueError as e:
                st.error(str(e))
            else:
                st.session_state.pop("train_delete_sure", None)
                st.rerun()
