"""Result tables as Markdown: the main table, paired differences, seeds, popularity buckets."""

from __future__ import annotations

from musig.metrics import BUCKET_METRICS, METRICS, PAIRED_METRICS, POPULARITY_BUCKETS


def _ci(v: dict) -> str:
    return f"{v['mean']:.4f} ± {(v['hi'] - v['lo']) / 2:.4f}"


PAIRED_HEADERS = ("NDCG", "R-prec", "tail recall@500", "cold recall@500")


def paired_cells(results: dict) -> dict[str, list[str]]:
    """Baseline -> "diff [lo, hi]" of MUSIG minus it, per metric of PAIRED_HEADERS; "–" where
    no playlist has held-out tracks of that bucket or the results predate that metric."""

    def cell(v: dict | None) -> str:
        if v is None or v["diff"] != v["diff"]:  # absent or nan
            return "–"
        return f"{v['diff']:+.4f} [{v['lo']:+.4f}, {v['hi']:+.4f}]"

    return {
        other: [cell(p.get(k)) for k in PAIRED_METRICS]
        for other, p in results.get("paired_each", {}).items()
    }


def changed_settings(results: dict) -> list[str]:
    """One line each for the per-method settings and queries an evaluation changed, if any."""
    lines = []
    if results.get("overrides"):
        settings = "; ".join(
            f"{m}: " + ", ".join(f"{k}={v}" for k, v in o.items())
            for m, o in results["overrides"].items()
        )
        lines.append(f"Settings changed from the registry's: {settings}")
    if results.get("queries"):
        queries = ", ".join(f"{m}: {q}" for m, q in results["queries"].items())
        rule = "cos+BETA adds BETA·log(1 + pop)"
        lines.append(f"Queries instead of the registry's ({rule}): {queries}")
    return lines


def to_markdown(results: dict) -> str:
    """The main table: overall metrics with 95 % CIs, cold-start recall and training time."""
    head = (
        "| method | NDCG | R-prec | clicks | recall@100 | recall@500 | cold recall@100 "
        "| train s |\n|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for m in results["methods"]:
        o = results["overall"][m]
        cells = [_ci(o[k]) if k != "clicks" else f"{o[k]['mean']:.2f}" for k in METRICS]
        c = results["cold_start"][m]["recall@100"]["mean"]
        rows.append(
            f"| {m} | " + " | ".join(cells) + f" | {c:.4f} | {results['train_seconds'][m]:.1f} |"
        )
    text = head + "\n".join(rows) + "\n"
    text += "".join(f"\n{line}\n" for line in changed_settings(results))
    if "paired" in results:
        p = results["paired"]
        text += (
            f"\nPaired bootstrap, MUSIG − {p['against']} (best baseline by NDCG): NDCG "
            f"{p['ndcg']['diff']:+.4f} [{p['ndcg']['lo']:+.4f}, {p['ndcg']['hi']:+.4f}]\n"
        )
    if "paired_each" in results:
        text += (
            "\n| MUSIG − (95 % paired CI) | " + " | ".join(PAIRED_HEADERS) + " |"
            "\n|---|" + "---|" * len(PAIRED_HEADERS) + "\n"
        )
        for other, cells in paired_cells(results).items():
            text += f"| {other} | " + " | ".join(cells) + " |\n"
    if "seeds" in results:
        text += "\n| method | NDCG mean ± sd over seeds | R-prec mean ± sd |\n|---|---|---|\n"
        for m, s in results["seeds"].items():
            text += (
                f"| {m} | {s['ndcg']['mean']:.4f} ± {s['ndcg']['sd']:.4f} | "
                f"{s['r_precision']['mean']:.4f} ± {s['r_precision']['sd']:.4f} |\n"
            )
    if "buckets" in results:
        text += buckets_markdown(results)
    return text


def buckets_markdown(results: dict) -> str:
    """One table per metric: each method by the held-out tracks' training popularity."""
    names = [name for name, _, _ in POPULARITY_BUCKETS]
    first = results["buckets"][results["methods"][0]]
    counts = ", ".join(f"{n} {first[n]['num_playlists']}" for n in names)
    text = (
        "\nBy the held-out tracks' training playlists (cold 0, tail 1–5, torso 6–50, head > 50; "
        f"other held-out tracks removed before cutting at 500; playlists with any: {counts})\n"
    )
    for metric in BUCKET_METRICS:
        text += f"\n| {metric} | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
        for m in results["methods"]:
            b = results["buckets"][m]
            cells = [_ci(b[n][metric]) if b[n]["num_playlists"] else "–" for n in names]
            text += f"| {m} | " + " | ".join(cells) + " |\n"
    return text
