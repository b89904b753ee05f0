#!/usr/bin/env python3
"""Learning curves of the mmoe-synthetic runs: mean over seeds, per model and p.

The MMoE paper shows its synthetic result as loss over training. This reads
the per-epoch metrics every run writes (`metrics.jsonl`: each task's training
loss, the mean over the epoch's batches, and validation MSE) and prints, at a
few epochs, the mean over seeds of both (each the mean of the two tasks);
then, as scripts/mtl_gap_trend.py does for test MSE, the gap shared-bottom −
model at p = 0 minus the same seed's gap at p = 1, for the training loss and
the validation MSE at those epochs. It writes the validation curves as an
SVG: one colour per model, one dash pattern per p.

    python3 scripts/mtl_loss_curves.py RUNS [OUT.svg]

RUNS is `ember bench-mtl`'s run directory (`OUT/runs`, one folder per run) or
the folder `CURVES=` gave `scripts/mmoe_gap_more_seeds.sh`
(`<run name>.metrics.jsonl`). Standard library only (no plotting package on
the machines this runs on), so the SVG is written by hand.
"""
import glob
import json
import os
import re
import statistics
import sys
from collections import defaultdict

NAME = re.compile(r"mmoe-synthetic-p([\d.]+)-(\w+)-s(\d+)")
EPOCHS = [10, 25, 50, 100, 150, 200]
COLOURS = {"shared_bottom": "#d62728", "mmoe": "#1f77b4", "cgc": "#2ca02c"}
DASHES = {1.0: "", 0.9: "8 3", 0.5: "4 3", 0.0: "1 3"}


def load(root):
    """{(p, model, seed): [(epoch, train loss, valid MSE)]}, task means."""
    paths = glob.glob(os.path.join(root, "*", "metrics.jsonl")) + glob.glob(
        os.path.join(root, "*.metrics.jsonl")
    )
    runs = {}
    for path in paths:
        m = NAME.search(path)
        if not m:
            continue
        curve = []
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                curve.append(
                    (
                        r["epoch"],
                        statistics.mean(r["train_losses"]),
                        statistics.mean(t["mse"] for t in r["valid"]["tasks"]),
                    )
                )
        runs[(float(m[1]), m[2], int(m[3]))] = curve
    return runs


def mean_curves(runs):
    """{(p, model): [(epoch, mean train loss, mean valid MSE)]} over seeds."""
    by_cell = defaultdict(list)
    for (p, model, _), curve in runs.items():
        by_cell[(p, model)].append(curve)
    out = {}
    for cell, curves in by_cell.items():
        n = min(len(c) for c in curves)
        out[cell] = [
            (
                curves[0][i][0],
                statistics.mean(c[i][1] for c in curves),
                statistics.mean(c[i][2] for c in curves),
            )
            for i in range(n)
        ]
    return out


def svg(curves, title):
    w, h, left, right, top, bottom = 760, 440, 60, 170, 30, 45
    points = [pt for c in curves.values() for pt in c]
    x_max = max(e for e, _, _ in points)
    y_max = min(max(v for _, _, v in points), 4.0)
    y_min = 0.0

    def sx(e):
        return left + (e - 1) / max(x_max - 1, 1) * (w - left - right)

    def sy(v):
        v = min(v, y_max)
        return top + (1 - (v - y_min) / (y_max - y_min)) * (h - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
        f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">epoch</text>',
        f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
        'text-anchor="middle">validation MSE (mean of tasks and seeds)</text>',
    ]
    for i in range(5):
        v = y_min + (y_max - y_min) * i / 4
        parts.append(
            f'<text x="{left - 6}" y="{sy(v) + 4}" text-anchor="end">{v:.1f}</text>'
        )
    for e in [1] + [e for e in EPOCHS if e <= x_max]:
        parts.append(
            f'<text x="{sx(e)}" y="{h - bottom + 16}" text-anchor="middle">{e}</text>'
        )
    legend_y = top + 10
    for (p, model), curve in sorted(curves.items(), key=lambda kv: (kv[0][1], -kv[0][0])):
        colour = COLOURS.get(model, "black")
        dash = DASHES.get(p, "2 2")
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{sx(e):.1f},{sy(v):.1f}"
            for i, (e, _, v) in enumerate(curve)
        )
        parts.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.5" '
            f'stroke-dasharray="{dash}"/>'
        )
        x0 = w - right + 12
        parts.append(
            f'<line x1="{x0}" y1="{legend_y}" x2="{x0 + 30}" y2="{legend_y}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>'
        )
        parts.append(f'<text x="{x0 + 36}" y="{legend_y + 4}">{model} p = {p:g}</text>')
        legend_y += 18
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


MEASURES = ((1, "training loss"), (2, "validation MSE"))


def paired_diffs(runs, seeds, model, p, epoch, index):
    """gap(p) − gap(1) at `epoch` for each seed with all four runs that long,
    gap = shared-bottom − model in measure `index` of the curves."""

    def gap(q, s):
        sb, other = runs[(q, "shared_bottom", s)], runs[(q, model, s)]
        return sb[epoch - 1][index] - other[epoch - 1][index]

    complete = [
        s
        for s in seeds
        if all(
            len(runs.get((q, m, s), [])) >= epoch
            for q in (p, 1.0)
            for m in ("shared_bottom", model)
        )
    ]
    return [gap(p, s) - gap(1.0, s) for s in complete]


def paired(runs, seeds):
    """The paired gap change per model, measure, p and epoch, as tables."""
    ps = sorted({p for p, _, _ in runs if p != 1.0}, reverse=True)
    models = sorted({m for _, m, _ in runs if m != "shared_bottom"})
    for model in models:
        for index, what in MEASURES:
            print(
                f"\n{what}: gap(p) − gap(1), gap = shared-bottom − {model}, paired by seed\n"
                "| p | epoch | mean ± s.e. | median | larger at p in |\n|---|---|---|---|---|"
            )
            for p in ps:
                for epoch in EPOCHS:
                    diffs = paired_diffs(runs, seeds, model, p, epoch, index)
                    if len(diffs) < 2:
                        continue
                    se = statistics.stdev(diffs) / len(diffs) ** 0.5
                    larger = sum(d > 0 for d in diffs)
                    print(
                        f"| {p:g} | {epoch} | {statistics.mean(diffs):+.3f} ± {se:.3f} "
                        f"| {statistics.median(diffs):+.3f} | {larger} of {len(diffs)} seeds |"
                    )


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    runs = load(sys.argv[1])
    if not runs:
        sys.exit(f"{sys.argv[1]}: no mmoe-synthetic run metrics found")
    seeds = sorted({s for _, _, s in runs})
    curves = mean_curves(runs)
    print(f"{len(runs)} runs, {len(seeds)} seeds; mean over seeds of the two tasks' mean")
    shown = [e for e in EPOCHS if any(len(c) >= e for c in curves.values())]
    for index, what in MEASURES:
        print(f"\n{what} at epoch\n| p | model | " + " | ".join(map(str, shown)) + " |")
        print("|---|---|" + "---|" * len(shown))
        for (p, model), curve in sorted(curves.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
            cells = [f"{curve[e - 1][index]:.3f}" if len(curve) >= e else "-" for e in shown]
            print(f"| {p:g} | {model} | " + " | ".join(cells) + " |")
    paired(runs, seeds)
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(svg(curves, "mmoe-synthetic: validation MSE over training"))
        print(f"\nwrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
