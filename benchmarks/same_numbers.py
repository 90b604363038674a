"""Check that two ``evaluate`` outputs of the same split agree exactly (same seed, fresh runs).

    python -m benchmarks.same_numbers results/sample benchmarks/results/sample_main.json

Each side is an ``evaluate`` output folder (its results.json) or a results JSON file. Prints, per
method, the largest absolute difference over every overall and per-scenario metric and the
cold-start recall, and exits non-zero if any differs or a method is on one side only.
"""

from __future__ import annotations

import argparse
import json
from math import inf
from pathlib import Path


def _leaves(tree, prefix=""):
    """(path, number) pairs of a nested results dict."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _leaves(v, f"{prefix}/{k}")
    elif isinstance(tree, int | float):
        yield prefix, float(tree)


def _read(path: Path) -> dict:
    return json.loads((path / "results.json" if path.is_dir() else path).read_text())


def compare(a: dict, b: dict) -> tuple[dict[str, float], list[str]]:
    """Largest |difference| per method present in both, and the methods present in one only."""
    only = sorted(set(a["methods"]) ^ set(b["methods"]))
    worst = {}
    parts = [p for p in ("overall", "per_scenario", "cold_start", "buckets") if p in a and p in b]
    for method in [m for m in a["methods"] if m in b["methods"]]:
        pairs = [
            (x, y)
            for part in parts
            for (_, x), (_, y) in zip(
                _leaves(a[part][method]), _leaves(b[part][method]), strict=True
            )
        ]
        # Both NaN (no cold tracks held out) counts as equal; NaN against a number does not.
        diffs = [
            0.0 if x != x and y != y else abs(x - y) if x == x and y == y else inf for x, y in pairs
        ]
        worst[method] = max(diffs)
        print(f"{method:>26}: {len(diffs)} numbers, max |difference| {max(diffs):.2e}")
    return worst, only


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = p.parse_args()
    worst, only = compare(_read(args.a), _read(args.b))
    for method in only:
        print(f"{method:>26}: on one side only")
    same = not only and all(w == 0 for w in worst.values())
    print("identical" if same else "DIFFERENT")
    return int(not same)


if __name__ == "__main__":
    raise SystemExit(main())
