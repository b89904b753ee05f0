#!/usr/bin/env python3
"""The fair peer for ml100k-ctr quality: REFERENCE.md's untuned PyTorch DeepFM
(embedding 10, N(0, 0.01^2) init, MLP 400-400-400, Adam 1e-3, batch 1024,
early stopping on validation AUC with patience 3, at most 100 epochs) on
PROTOCOLS.md's ml100k-ctr, optionally with the same decayed statistic
features ember's `stats` adds (datasets/src/stats/decayed.rs: per user and
item, log1p of the decayed ratings seen and their smoothed share of ratings
>= 4, half-lives all-time and 30 days, 10 pseudo-ratings, each row from the
ratings strictly before its timestamp; standardised on the training rows).

    python3 scripts/torch_ml100k_ctr.py ../shared/data/ml-100k --seed 42 [--stats]

Prints one line: test AUC and logloss, best epoch, seconds. torch only (no
numpy), 2 threads, so it runs beside ember on the same machine.
"""
import argparse
import math
import os
import time
from collections import defaultdict

import torch

AGE_BOUNDARIES = [18, 25, 35, 45, 50, 56]
HALF_LIVES_DAYS = [0.0, 30.0]
PRIOR_WEIGHT = 10.0


def read(ml):
    users = {}
    with open(os.path.join(ml, "u.user"), encoding="latin-1") as f:
        for line in f:
            c = line.rstrip("\n").split("|")
            if len(c) == 5:
                bucket = sum(int(c[1]) >= b for b in AGE_BOUNDARIES)
                users[c[0]] = ("b%d" % bucket, c[2], c[3], c[4][:1])
    genres = {}
    with open(os.path.join(ml, "u.item"), encoding="latin-1") as f:
        for line in f:
            c = line.rstrip("\n").split("|")
            if len(c) == 24:
                genres[c[0]] = [str(g) for g, flag in enumerate(c[5:24]) if flag == "1"]
    with open(os.path.join(ml, "u.data")) as f:
        rows = [l.split("\t") for l in f if l.strip()]
    rows = [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]
    rows.sort(key=lambda r: (r[3], int(r[0]), int(r[1])))
    return users, genres, rows


def decayed_stats(keys, times, labels):
    """Columns of log1p(count) and smoothed rate per half-life (see decayed.rs)."""
    n = len(keys)
    cols = [[0.0] * n for _ in range(2 * len(HALF_LIVES_DAYS))]
    state = {}
    seen = seen_pos = 0.0
    order = sorted(range(n), key=lambda r: (times[r], r))
    i = 0
    while i < n:
        j = i
        while j < n and times[order[j]] == times[order[i]]:
            j += 1
        t = times[order[i]]
        prior = seen_pos / seen if seen > 0 else 0.5
        group = order[i:j]

        def decayed(c, h):
            imp, pos, at = c
            if h <= 0:
                return imp, pos
            w = math.exp(-((t - at) / 86400.0) / h * math.log(2))
            return imp * w, pos * w

        for r in group:
            s = state.get(keys[r])
            for k, h in enumerate(HALF_LIVES_DAYS):
                imp, pos = decayed(s[k], h) if s else (0.0, 0.0)
                cols[2 * k][r] = math.log1p(imp)
                cols[2 * k + 1][r] = (pos + PRIOR_WEIGHT * prior) / (imp + PRIOR_WEIGHT)
        for r in group:
            s = state.setdefault(keys[r], [(0.0, 0.0, t)] * len(HALF_LIVES_DAYS))
            for k, h in enumerate(HALF_LIVES_DAYS):
                imp, pos = decayed(s[k], h)
                s[k] = (imp + 1.0, pos + labels[r], t)
            seen += 1.0
            seen_pos += labels[r]
        i = j
    return cols


def auc(scores, labels):
    pairs = sorted(zip(scores, labels))
    ranks, i = [0.0] * len(pairs), 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        for k in range(i, j):
            ranks[k] = (i + j + 1) / 2.0
        i = j
    pos = sum(l for _, l in pairs)
    neg = len(pairs) - pos
    return (sum(r for r, (_, l) in zip(ranks, pairs) if l) - pos * (pos + 1) / 2) / (pos * neg)


class DeepFM(torch.nn.Module):
    def __init__(s, cards, genre_card, n_num, dim=10):
        super().__init__()
        s.emb = torch.nn.ModuleList(torch.nn.Embedding(c, dim) for c in cards + [genre_card])
        s.lin = torch.nn.ModuleList(torch.nn.Embedding(c, 1) for c in cards + [genre_card])
        for m in list(s.emb) + list(s.lin):
            torch.nn.init.normal_(m.weight, 0, 0.01)
        s.num_v = torch.nn.Parameter(torch.randn(max(n_num, 1), dim) * 0.01)
        s.num_w = torch.nn.Parameter(torch.zeros(max(n_num, 1)))
        s.n_num = n_num
        f = len(cards) + 1 + n_num
        s.mlp = torch.nn.Sequential(
            torch.nn.Linear(f * dim, 400), torch.nn.ReLU(),
            torch.nn.Linear(400, 400), torch.nn.ReLU(),
            torch.nn.Linear(400, 400), torch.nn.ReLU(),
            torch.nn.Linear(400, 1))
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(s, cat, genres, glen, num):
        vecs = [e(cat[:, i]) for i, e in enumerate(s.emb[:-1])]
        first = sum(l(cat[:, i]).squeeze(1) for i, l in enumerate(s.lin[:-1]))
        mask = (genres > 0).float().unsqueeze(2)
        denom = glen.clamp(min=1).float().unsqueeze(1)
        vecs.append((s.emb[-1](genres) * mask).sum(1) / denom)
        first = first + ((s.lin[-1](genres) * mask).sum(1) / denom).squeeze(1)
        if s.n_num:
            vecs += [num[:, k:k + 1] * s.num_v[k] for k in range(s.n_num)]
            first = first + (num * s.num_w).sum(1)
        v = torch.stack(vecs, 1)
        fm = 0.5 * (v.sum(1).pow(2) - v.pow(2).sum(1)).sum(1)
        return s.bias + first + fm + s.mlp(v.flatten(1)).squeeze(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ml100k")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--stats", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    start = time.time()
    users, genres, rows = read(a.ml100k)
    n = len(rows)
    cut1, cut2 = int(n * 0.8), int(n * 0.9)
    labels = [1.0 if r[2] >= 4 else 0.0 for r in rows]
    side = [(r[0], r[1]) + users.get(r[0], ("", "", "", "")) for r in rows]
    vocabs = []
    for f in range(6):
        v = {}
        for s in side[:cut1]:
            if s[f] and s[f] not in v:
                v[s[f]] = len(v) + 1
        vocabs.append(v)
    gv = {}
    for r in rows[:cut1]:
        for g in genres.get(r[1], []):
            gv.setdefault(g, len(gv) + 1)
    cat = torch.tensor([[vocabs[f].get(s[f], 0) for f in range(6)] for s in side])
    glist = [[gv.get(g, 0) for g in genres.get(r[1], [])][:6] for r in rows]
    gids = torch.tensor([g + [0] * (6 - len(g)) for g in glist])
    glen = torch.tensor([sum(1 for x in g if x) for g in glist])
    num = torch.zeros(n, 0)
    if a.stats:
        times = [r[3] for r in rows]
        cols = []
        for k in (0, 1):
            cols += decayed_stats([r[k] for r in rows], times, labels)
        num = torch.tensor(cols).t().contiguous()
        mean, std = num[:cut1].mean(0), num[:cut1].std(0).clamp(min=1e-12)
        num = (num - mean) / std
    y = torch.tensor(labels)
    model = DeepFM([len(v) + 1 for v in vocabs], len(gv) + 1, num.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def predict(lo, hi):
        model.eval()
        with torch.no_grad():
            return model(cat[lo:hi], gids[lo:hi], glen[lo:hi], num[lo:hi])

    best, best_epoch, best_state, bad = -1.0, 0, None, 0
    for epoch in range(1, 101):
        model.train()
        perm = torch.randperm(cut1)
        for b in range(0, cut1, 1024):
            idx = perm[b:b + 1024]
            opt.zero_grad()
            loss_fn(model(cat[idx], gids[idx], glen[idx], num[idx]), y[idx]).backward()
            opt.step()
        v = auc(predict(cut1, cut2).tolist(), labels[cut1:cut2])
        if v > best:
            best, best_epoch, bad = v, epoch, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= 3:
                break
    model.load_state_dict(best_state)
    logits = predict(cut2, n)
    test_auc = auc(logits.tolist(), labels[cut2:])
    logloss = loss_fn(logits, y[cut2:]).item()
    print("torch deepfm%s seed %d: test AUC %.4f logloss %.4f | valid AUC %.4f | best epoch %d | %.1fs"
          % (" +stats" if a.stats else "", a.seed, test_auc, logloss, best, best_epoch, time.time() - start))


if __name__ == "__main__":
    main()
