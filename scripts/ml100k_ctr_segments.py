#!/usr/bin/env python3
"""Where ml100k-ctr's test AUC comes from: users the training split saw vs new users.

PROTOCOLS.md's ml100k-ctr is a time split, so most test rows belong to users
who first appear after the training period. This script splits u.data the way
the protocol does, and compares a model's test scores (from `ember predict`)
with the best thing a model can know about a new user's row without the user:
the item's smoothed share of ratings >= 4 in the training split.

    python3 scripts/ml100k_ctr_segments.py split ../shared/data/ml-100k runs/ml100k-split
    ember predict --model runs/ml100k-ctr-kfm/artifact --input runs/ml100k-split/test.data \
        --output runs/ml100k-split/kfm.txt
    python3 scripts/ml100k_ctr_segments.py analyse ../shared/data/ml-100k runs/ml100k-split/kfm.txt
    python3 scripts/ml100k_ctr_segments.py ensemble ../shared/data/ml-100k runs/ml100k-split/*.txt

    python3 scripts/ml100k_ctr_segments.py recency ../shared/data/ml-100k

`recency` scores the test rows by the item share of ratings >= 4 with the
training ratings weighted by recency (half-lives of 50% ... 5% of the
training span), to see whether recent ratings predict the test period better.
`ensemble` averages the logits of every subset of the given score files and
prints the best subset of each size. It picks the subset on the test rows,
so it overstates what an ensemble chosen on validation would reach.

Standard library only, so it runs wherever ember's tests do.
"""
import itertools
import math
import os
import sys
from collections import defaultdict


def protocol_split(ml100k):
    """(train, valid, test) rows (user, item, rating, timestamp), PROTOCOLS.md order."""
    with open(os.path.join(ml100k, "u.data")) as f:
        rows = [tuple(map(int, line.split("\t"))) for line in f if line.strip()]
    rows.sort(key=lambda r: (r[3], r[0], r[1]))
    a, b = int(len(rows) * 0.8), int(len(rows) * 0.9)
    return rows[:a], rows[a:b], rows[b:]


def auc(labels, scores):
    """Mann-Whitney AUC with tied scores sharing their average rank."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(labels)
    neg = len(labels) - pos
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def logit(p):
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("split", "analyse", "ensemble", "recency"):
        sys.exit(__doc__)
    command, ml100k = sys.argv[1:3]
    train, valid, test = protocol_split(ml100k)
    if command == "recency":
        return recency(train, test)
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    path = sys.argv[3]
    if command == "ensemble":
        return ensemble(test, sys.argv[3:])
    if command == "split":
        os.makedirs(path, exist_ok=True)
        for name, part in (("train", train), ("valid", valid), ("test", test)):
            with open(os.path.join(path, f"{name}.data"), "w") as f:
                f.writelines("\t".join(map(str, r)) + "\n" for r in part)
        print(f"wrote {len(train)} / {len(valid)} / {len(test)} rows under {path}")
        return
    with open(path) as f:
        scores = [float(line) for line in f if line.strip()]
    if len(scores) != len(test):
        sys.exit(f"{path}: {len(scores)} scores for {len(test)} test rows")
    labels = [int(r[2] >= 4) for r in test]
    known = {r[0] for r in train}
    seen = [r[0] in known for r in test]

    rate = item_share(train, [1.0] * len(train))
    item_rate = [rate(i) for _, i, _, _ in test]

    def segment(values, keep):
        return auc([y for y, k in zip(labels, keep) if k], [v for v, k in zip(values, keep) if k])

    new = [not s for s in seen]
    print(f"test rows {len(test)}; of users seen in training {sum(seen) / len(test):.1%}")
    print("| scores | all | seen users | new users |")
    print("|---|---|---|---|")
    for name, values in (("model", scores), ("item rate (train)", item_rate)):
        print(f"| {name} | {auc(labels, values):.4f} | {segment(values, seen):.4f} | {segment(values, new):.4f} |")
    # The model for users it knows, the item rate for the others: an upper
    # sketch of what splitting the two populations could gain, not a model.
    hybrid = [logit(s) if k else logit(r) for s, r, k in zip(scores, item_rate, seen)]
    print(f"| model on seen, item rate on new | {auc(labels, hybrid):.4f} | - | - |")


def item_share(train, weights, prior=5):
    """Each item's weighted share of ratings >= 4 in training, shrunk towards
    the global share by `prior` pseudo-ratings (5 was the best of 1 / 5 / 20 / 50)."""
    positive, count = defaultdict(float), defaultdict(float)
    for (_, item, rating, _), w in zip(train, weights):
        positive[item] += w * (rating >= 4)
        count[item] += w
    share = sum(r[2] >= 4 for r in train) / len(train)
    return lambda item: (positive[item] + prior * share) / (count[item] + prior)


def recency(train, test):
    labels = [int(r[2] >= 4) for r in test]
    first, last = train[0][3], train[-1][3]
    for half_life in (None, 0.5, 0.25, 0.1, 0.05):
        if half_life is None:
            weights = [1.0] * len(train)
        else:
            weights = [0.5 ** ((last - r[3]) / ((last - first) * half_life)) for r in train]
        rate = item_share(train, weights)
        name = "all ratings alike" if half_life is None else f"half-life {half_life:.0%} of the span"
        print(f"{name}: test AUC {auc(labels, [rate(r[1]) for r in test]):.4f}")


def ensemble(test, paths):
    labels = [int(r[2] >= 4) for r in test]
    logits = {}
    for path in paths:
        with open(path) as f:
            scores = [float(line) for line in f if line.strip()]
        if len(scores) != len(test):
            sys.exit(f"{path}: {len(scores)} scores for {len(test)} test rows")
        logits[os.path.basename(path)] = [logit(s) for s in scores]
    names = sorted(logits)
    for name in names:
        print(f"{name}: {auc(labels, logits[name]):.4f}")
    for size in range(2, len(names) + 1):
        best = max(
            (auc(labels, [sum(v) for v in zip(*(logits[n] for n in subset))]), subset)
            for subset in itertools.combinations(names, size)
        )
        print(f"best mean of {size}: {best[0]:.4f} {' + '.join(best[1])}")


if __name__ == "__main__":
    main()
