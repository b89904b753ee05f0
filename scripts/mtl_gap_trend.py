#!/usr/bin/env python3
"""Does MMoE's (and CGC's) lead over shared-bottom grow as the task correlation falls?

Reads the run log `ember bench-mtl mmoe-synthetic` writes (mmoe_synthetic.jsonl)
and compares the gap, shared-bottom's test MSE minus the other model's (mean of
both tasks), at each p with the gap at p = 1, seed by seed: a seed draws the
same u1 and rows at every p, so the paired difference cancels what the seed
alone decides. Prints mean ± standard error, sample std and median over seeds
(a run whose tower dies scores several times the others' MSE, so the median
is the robust reading), and each
seed's least-squares slope of the gap against 1 - p; and the same comparison
on log(shared-bottom MSE / other MSE), which does not depend on the MSE's scale.

    python3 scripts/mtl_gap_trend.py reports/multitask/mmoe_synthetic.jsonl

Several logs are read in order, and a run in a later log replaces the run of
the same name in an earlier one: e.g. a log of shared-bottom runs at another
width, given last, is compared with the MMoE and CGC runs of the logs before.

Standard library only.
"""
import json
import math
import re
import statistics
import sys
from collections import defaultdict


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    mse = {}
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                run = json.loads(line)
                m = re.fullmatch(r"mmoe-synthetic-p([\d.]+)-(\w+)-s(\d+)", run["name"])
                if not m:
                    continue
                tasks = run["test"]["tasks"]
                mse[(float(m[1]), m[2], int(m[3]))] = (tasks[0]["mse"] + tasks[1]["mse"]) / 2
    ps = sorted({p for p, _, _ in mse}, reverse=True)
    seeds = sorted({s for _, _, s in mse})
    print(f"{len(seeds)} seeds, p = {ps}")

    # Enough decimals for the smallest MSE in the log (slow sines fit to ~0.001).
    decimals = max(3, 2 - math.floor(math.log10(max(min(mse.values()), 1e-12))))

    def summary(values, d=decimals):
        mean = statistics.mean(values)
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        median = statistics.median(values)
        return (
            f"{mean:+.{d}f} ± {sd / len(values) ** 0.5:.{d}f} "
            f"(sd {sd:.{d}f}, median {median:+.{d}f})"
        )

    def compared(other, f):
        """{p: {seed: f(shared-bottom's MSE, other's MSE)}} over the runs of both."""
        table = defaultdict(dict)
        for (p, model, s), value in mse.items():
            if model == other and (p, "shared_bottom", s) in mse:
                table[p][s] = f(mse[(p, "shared_bottom", s)], value)
        return table

    def print_paired(table, column, paired_column, d, count_larger):
        print(f"| p | {column} | {paired_column} |")
        print("|---|---|---|")
        for p in sorted(table, reverse=True):
            paired = [table[p][s] - table[1.0][s] for s in seeds if s in table[p] and s in table[1.0]]
            trend = summary(paired, d) if p != 1.0 else "-"
            if p != 1.0 and count_larger:
                trend += f", larger in {sum(x > 0 for x in paired)} of {len(paired)} seeds"
            print(f"| {p} | {summary(list(table[p].values()), d)} | {trend} |")

    for other in ("mmoe", "cgc"):
        gap = compared(other, lambda sb, m: sb - m)
        if not gap:
            continue
        print(f"\n{other}: gap = shared-bottom − {other}, mean ± standard error over seeds")
        print_paired(gap, "gap", "gap(p) − gap(1), paired", decimals, True)
        # The same comparison scale-free: log(shared-bottom / other), so
        # +0.1 means shared-bottom's MSE is 10.5% higher.
        ratio = compared(other, lambda sb, m: math.log(sb / m))
        print_paired(ratio, "log(SB / model)", "minus at p = 1, paired", 3, False)
        slopes = []
        for s in seeds:
            xs = [1 - p for p in ps if s in gap[p]]
            ys = [gap[p][s] for p in ps if s in gap[p]]
            if len(xs) < 2:
                continue
            mx, my = statistics.mean(xs), statistics.mean(ys)
            slopes.append(
                sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            )
        print(f"slope of the gap against 1 − p, per seed: {summary(slopes)}")


if __name__ == "__main__":
    main()
