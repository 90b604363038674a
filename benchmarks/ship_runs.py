"""Make the runs shipped with a dataset folder (``DATA/app-runs``), which the app's first start
copies instead of training: every default run, trained from scratch on the workspace's default
evaluation split, made small and evaluated as shipped (:mod:`musig.workspace.shipped`).

    python -m benchmarks.ship_runs [--data sample_data]

Run it again after any change to training or to a method's defaults: the app then uses the
new runs, and ``tests/test_shipped.py`` fails while the shipped ones are stale. About ten
minutes on two cores for the sample world.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from musig import workspace as wsp  # noqa: E402
from musig.data import load_dataset  # noqa: E402
from musig.evaluation import evaluate_run  # noqa: E402
from musig.utils import atomic_dir  # noqa: E402
from musig.workspace import shipped  # noqa: E402


def folder_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=wsp.DEFAULT_DATA)
    a = ap.parse_args()
    data = a.data.resolve()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="musig-ship-") as home:
        ws = wsp.Workspace.open(data, home)
        defaults = ws.defaults()  # the registry's methods, cheapest first

        def say(message: str, fraction: float) -> None:
            print(f"\r  {fraction:4.0%} {message:<60}", end="", flush=True)

        wsp.bootstrap(ws, defaults=defaults, progress=say, use_shipped=False)
        print(f"\ntrained {len(defaults)} runs in {time.perf_counter() - start:.0f} s")
        split = load_dataset(ws.split_dir)
        with atomic_dir(data / shipped.FOLDER) as out:
            for name in defaults:
                shipped.compact_run(ws.runs_dir / name, out / name)
                evaluate_run(out / name, split)  # the numbers of the runs as shipped
                print(f"  {name:<10} {folder_mib(out / name):5.2f} MiB")
            shipped.write_manifest(
                out,
                data=data,
                dataset_fingerprint=ws.root.name,
                split_fingerprint=split.fingerprint,
                defaults=defaults,
            )
    runs = data / shipped.FOLDER
    print(f"wrote {runs}: {folder_mib(runs):.1f} MiB; {data}: {folder_mib(data):.1f} MiB in all")


if __name__ == "__main__":
    main()
