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
    python3 scripts/torch_ml100k_ctr.py ../shared/data/ml-100k --model dcn_v2

`--model` picks the same model as ember's ml100k-ctr preset of that name
(configs/ml100k-ctr/<model>.toml: the DeepFM tower and embedding size, the
model's own keys at their paper defaults): deepfm, dcn_v2 (parallel, 3
cross layers), xdeepfm (CIN 64-64), autoint (AutoInt+: 3 layers, 2 heads
of 16, beside the tower), fibinet (SENET r = 3, field-all bilinear),
deepfm_hadamard (the FM Hadamard vector into the tower, field-wise wide).

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


class Fields(torch.nn.Module):
    """Field vectors v [B, F, D] (genres mean-pooled, numeric x * v_n) and
    each field's first-order term t [B, F], as ember's feature layer and
    first-order part compute them."""

    def __init__(s, cards, genre_card, n_num, dim):
        super().__init__()
        s.emb = torch.nn.ModuleList(torch.nn.Embedding(c, dim) for c in cards + [genre_card])
        s.lin = torch.nn.ModuleList(torch.nn.Embedding(c, 1) for c in cards + [genre_card])
        for m in list(s.emb) + list(s.lin):
            torch.nn.init.normal_(m.weight, 0, 0.01)
        s.num_v = torch.nn.Parameter(torch.randn(max(n_num, 1), dim) * 0.01)
        s.num_w = torch.nn.Parameter(torch.zeros(max(n_num, 1)))
        s.n_num = n_num
        s.count = len(cards) + 1 + n_num

    def forward(s, cat, genres, glen, num):
        vecs = [e(cat[:, i]) for i, e in enumerate(s.emb[:-1])]
        terms = [l(cat[:, i]) for i, l in enumerate(s.lin[:-1])]
        mask = (genres > 0).float().unsqueeze(2)
        denom = glen.clamp(min=1).float().unsqueeze(1)
        vecs.append((s.emb[-1](genres) * mask).sum(1) / denom)
        terms.append((s.lin[-1](genres) * mask).sum(1) / denom)
        if s.n_num:
            vecs += [num[:, k:k + 1] * s.num_v[k] for k in range(s.n_num)]
            terms += [num[:, k:k + 1] * s.num_w[k] for k in range(s.n_num)]
        return torch.stack(vecs, 1), torch.cat(terms, 1)


def fit(model, n_train, batch_loss, valid_auc, batch=1024, patience=3, max_epochs=100):
    """REFERENCE.md's training: Adam lr 1e-3 over shuffled batches of the
    `n_train` training rows (`batch_loss(indices)`), early stopping on
    `valid_auc()` with `patience`, the best epoch's weights restored.
    Returns (best validation AUC, best epoch)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_epoch, best_state, bad = -1.0, 0, None, 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        perm = torch.randperm(n_train)
        for b in range(0, n_train, batch):
            opt.zero_grad()
            batch_loss(perm[b:b + batch]).backward()
            opt.step()
        v = valid_auc()
        if v > best:
            best, best_epoch, bad = v, epoch, 0
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    return best, best_epoch


def mlp(d_in, hidden=(400, 400, 400), out=1):
    layers, d = [], d_in
    for h in hidden:
        layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
        d = h
    if out:
        layers.append(torch.nn.Linear(d, out))
    return torch.nn.Sequential(*layers)


def bi_interaction(v):
    return 0.5 * (v.sum(1).pow(2) - v.pow(2).sum(1))


class DeepFM(torch.nn.Module):
    def __init__(s, fields, dim):
        super().__init__()
        s.f, s.mlp = fields, mlp(fields.count * dim)
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(s, *x):
        v, t = s.f(*x)
        return s.bias + t.sum(1) + bi_interaction(v).sum(1) + s.mlp(v.flatten(1)).squeeze(1)


class DcnV2(torch.nn.Module):
    """Parallel: head([Cross(x0) ; MLP(x0)]), x_{l+1} = x0 * W_l x_l + b_l + x_l."""

    def __init__(s, fields, dim, layers=3):
        super().__init__()
        d = fields.count * dim
        s.f = fields
        s.cross = torch.nn.ModuleList(torch.nn.Linear(d, d) for _ in range(layers))
        s.deep = mlp(d, out=0)
        s.head = torch.nn.Linear(d + 400, 1)

    def forward(s, *x):
        x0 = s.f(*x)[0].flatten(1)
        xl = x0
        for layer in s.cross:
            xl = x0 * layer(xl) + xl
        return s.head(torch.cat([xl, s.deep(x0)], 1)).squeeze(1)


class XDeepFM(torch.nn.Module):
    def __init__(s, fields, dim, maps=(64, 64)):
        super().__init__()
        m = fields.count
        s.f, s.mlp = fields, mlp(m * dim)
        s.bias = torch.nn.Parameter(torch.zeros(1))
        prev, s.cin = m, torch.nn.ModuleList()
        for h in maps:
            s.cin.append(torch.nn.Linear(prev * m, h, bias=False))
            prev = h
        s.cin_out = torch.nn.Linear(sum(maps), 1, bias=False)

    def forward(s, *x):
        v, t = s.f(*x)
        b, m, d = v.shape
        x0 = v.transpose(1, 2)  # [B, D, m]
        xk, pooled = x0, []
        for layer in s.cin:
            z = (xk.unsqueeze(3) * x0.unsqueeze(2)).reshape(b, d, -1)
            xk = layer(z)
            pooled.append(xk.sum(1))
        y_cin = s.cin_out(torch.cat(pooled, 1)).squeeze(1)
        return s.bias + t.sum(1) + s.mlp(v.flatten(1)).squeeze(1) + y_cin


class AutoIntPlus(torch.nn.Module):
    def __init__(s, fields, dim, layers=3, heads=2, d_head=16):
        super().__init__()
        s.f, s.heads, s.layers = fields, heads, torch.nn.ModuleList()
        d = dim
        for _ in range(layers):
            s.layers.append(torch.nn.ModuleList(
                torch.nn.Linear(d, heads * d_head, bias=False) for _ in range(4)))
            d = heads * d_head
        s.out = torch.nn.Linear(fields.count * d, 1)
        s.mlp = mlp(fields.count * dim)

    def forward(s, *x):
        v = s.f(*x)[0]
        e = v
        for q, k, val, res in s.layers:
            b, f, _ = e.shape
            split = lambda t: t.view(b, f, s.heads, -1).transpose(1, 2)
            a = torch.softmax(split(q(e)) @ split(k(e)).transpose(2, 3), -1)
            heads = (a @ split(val(e))).transpose(1, 2).reshape(b, f, -1)
            e = torch.relu(heads + res(e))
        return s.out(e.flatten(1)).squeeze(1) + s.mlp(v.flatten(1)).squeeze(1)


class FiBiNet(torch.nn.Module):
    def __init__(s, fields, dim, reduction=3):
        super().__init__()
        f = fields.count
        s.f = fields
        r = max(f // reduction, 1)
        s.squeeze = torch.nn.Linear(f, r, bias=False)
        s.excite = torch.nn.Linear(r, f, bias=False)
        s.w = torch.nn.Parameter(torch.nn.init.xavier_uniform_(torch.empty(dim, dim)))
        s.left, s.right = zip(*[(i, j) for i in range(f) for j in range(i + 1, f)])
        s.mlp = mlp(2 * len(s.left) * dim)
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def bilinear(s, v):
        return (v @ s.w)[:, list(s.left)] * v[:, list(s.right)]

    def forward(s, *x):
        e, t = s.f(*x)
        a = torch.relu(s.excite(torch.relu(s.squeeze(e.mean(2)))))
        p = torch.cat([s.bilinear(e), s.bilinear(e * a.unsqueeze(2))], 1)
        return s.bias + t.sum(1) + s.mlp(p.flatten(1)).squeeze(1)


class DeepFMHadamard(torch.nn.Module):
    def __init__(s, fields, dim):
        super().__init__()
        s.f, s.mlp = fields, mlp((fields.count + 1) * dim)
        s.alpha = torch.nn.Parameter(torch.ones(fields.count))
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(s, *x):
        v, t = s.f(*x)
        deep = s.mlp(torch.cat([v.flatten(1), bi_interaction(v)], 1)).squeeze(1)
        return s.bias + (t * s.alpha).sum(1) + deep


MODELS = {
    "deepfm": DeepFM,
    "dcn_v2": DcnV2,
    "xdeepfm": XDeepFM,
    "autoint": AutoIntPlus,
    "fibinet": FiBiNet,
    "deepfm_hadamard": DeepFMHadamard,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ml100k")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--stats", action="store_true")
    p.add_argument("--model", choices=sorted(MODELS), default="deepfm")
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
    fields = Fields([len(v) + 1 for v in vocabs], len(gv) + 1, num.shape[1], 10)
    model = MODELS[a.model](fields, 10)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def predict(lo, hi):
        model.eval()
        with torch.no_grad():
            return model(cat[lo:hi], gids[lo:hi], glen[lo:hi], num[lo:hi])

    best, best_epoch = fit(
        model,
        cut1,
        lambda idx: loss_fn(model(cat[idx], gids[idx], glen[idx], num[idx]), y[idx]),
        lambda: auc(predict(cut1, cut2).tolist(), labels[cut1:cut2]),
    )
    logits = predict(cut2, n)
    test_auc = auc(logits.tolist(), labels[cut2:])
    logloss = loss_fn(logits, y[cut2:]).item()
    print("torch %s%s seed %d: test AUC %.4f logloss %.4f | valid AUC %.4f | best epoch %d | %.1fs"
          % (a.model, " +stats" if a.stats else "", a.seed, test_auc, logloss, best, best_epoch, time.time() - start))


if __name__ == "__main__":
    main()
