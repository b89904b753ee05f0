#!/usr/bin/env python3
"""The fair peer for DIN against DeepFM on ml100k-implicit: both models in
PyTorch, as ember's presets build them (configs/ml100k-implicit/{deepfm,din}.toml:
embedding 16 with N(0, 0.01^2) init, tower 200-200-200, Adam 1e-3, batch
1024, early stopping on validation AUC with patience 2), trained on exactly
ember's rows: `ember rows --config configs/ml100k-implicit/deepfm.toml --out DIR`
writes the sampled, encoded train / valid / test rows this script reads.

    python3 scripts/torch_implicit_din.py DIR --model din --seed 42

DeepFM: bias + first-order terms + FM over the field vectors + the tower,
sequences (genres, history) mean-pooled. DIN: the candidate item attends
over the history (activation unit MLP([e_j; e_t; e_j - e_t; e_j * e_t]) with
36 hidden units, softmax over the real entries, an empty history pools to
zeros), every field vector into the tower, no FM part (Zhou et al. 2018);
--interest-product, --keep-mean and --first-order add ember's
`din_interest_product` (the tower also reads e_t * v_U(t)), `din_keep_mean`
(and the history's mean m, with the product also e_t * m) and
`din_first_order` (bias + the first-order terms added to the logit), and
--fm `din_fm` (DeepFM's FM term over the field vectors, the attended interest
in the history's place), as models/src/ranking/din.rs builds them.
--embedding-l2 LAMBDA is ember's `train.embedding_l2` (with row-sparse
lookups): LAMBDA/B times the squared norms of the distinct embedding rows
the batch touched, DIN's mini-batch aware regulariser without its
per-id frequency weights.

Prints one line: test AUC, gAUC, logloss, valid AUC, best epoch, seconds
(including reading the CSVs), and the seconds of training alone (epochs
and their validation, as ember's `train_seconds` counts them). torch only
(no numpy), 2 threads. --test-scores FILE also writes the test rows' labels
and scores (`label,score`, the rows' order) for
`ember compare --scores A --scores B`, DeLong's paired test of two models.

    python3 scripts/torch_implicit_din.py DIR --model din --ember-artifact runs/X/artifact

scores the validation and test rows with ember's exported weights instead
of training (the check that both compute the same function: equal AUCs).
"""
import argparse
import csv
import json
import os
import struct
import time
from collections import defaultdict

import torch

# The AUC, REFERENCE.md's training loop and the tower, shared with the ml100k peer.
from torch_ml100k_ctr import auc, bi_interaction, fit, mlp


def read(path, layout):
    cat_names = [n for n, _ in layout["categorical"]]
    seq = [(n, length) for n, _, length in layout["sequences"]]
    task = layout["tasks"][0]
    cats, seqs, labels, groups = [], [[] for _ in seq], [], []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            cats.append([int(r[n]) for n in cat_names])
            for k, (n, length) in enumerate(seq):
                ids = [int(t) for t in r[n].split()][:length]
                seqs[k].append(ids + [0] * (length - len(ids)))
            labels.append(float(r[task]))
            groups.append(r.get("group", ""))
    return (torch.tensor(cats), [torch.tensor(s) for s in seqs], torch.tensor(labels), groups)


def gauc(scores, labels, groups):
    """Row-weighted mean of per-group AUCs (models/src/metrics/mod.rs)."""
    members = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    total = weight = 0.0
    for rows in members.values():
        l = [labels[i] for i in rows]
        if 0 < sum(l) < len(l):
            total += auc([scores[i] for i in rows], l) * len(rows)
            weight += len(rows)
    return total / weight


class Fields(torch.nn.Module):
    """Field vectors [B, F, D] and first-order terms [B, F]: one table per
    field, sequences mean-pooled over their real entries (id 0 is padding)
    unless named in `attended`, whose raw [B, L, D] embeddings and masks are
    returned for the model to pool."""

    def __init__(s, layout, dim, attended=()):
        super().__init__()
        cards = [c for _, c in layout["categorical"]] + [c for _, c, _ in layout["sequences"]]
        s.n_cat = len(layout["categorical"])
        s.attended = {k for k, (n, _, _) in enumerate(layout["sequences"]) if n in attended}
        s.emb = torch.nn.ModuleList(torch.nn.Embedding(c, dim) for c in cards)
        s.lin = torch.nn.ModuleList(torch.nn.Embedding(c, 1) for c in cards)
        for m in list(s.emb) + list(s.lin):
            torch.nn.init.normal_(m.weight, 0, 0.01)
        s.count = len(cards)

    def forward(s, cat, seqs):
        vecs = [s.emb[i](cat[:, i]) for i in range(s.n_cat)]
        terms = [s.lin[i](cat[:, i]) for i in range(s.n_cat)]
        raw = {}
        for k, ids in enumerate(seqs):
            mask = (ids > 0).float()
            e = s.emb[s.n_cat + k](ids)
            denom = mask.sum(1, keepdim=True).clamp(min=1)
            terms.append((s.lin[s.n_cat + k](ids).squeeze(2) * mask).sum(1, keepdim=True) / denom)
            if k in s.attended:
                raw[s.n_cat + k] = (e, mask)
                vecs.append(torch.zeros_like(vecs[0]))
            else:
                vecs.append((e * mask.unsqueeze(2)).sum(1) / denom)
        return torch.stack(vecs, 1), torch.cat(terms, 1), raw

    def touched_l2(s, cat, seqs):
        """Σ ‖row‖² over the distinct rows of every table (field vectors and
        first-order weights) this batch looks up, padding included: what
        ember's `train.embedding_l2` penalises (train/src/step.rs)."""
        ids = [cat[:, i] for i in range(s.n_cat)] + list(seqs)
        total = 0.0
        for i, x in enumerate(ids):
            rows = x.unique()
            total = total + s.emb[i].weight[rows].pow(2).sum() + s.lin[i].weight[rows].pow(2).sum()
        return total


class DeepFM(torch.nn.Module):
    def __init__(s, layout, dim, hidden):
        super().__init__()
        s.f = Fields(layout, dim)
        s.mlp = mlp(s.f.count * dim, hidden)
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(s, cat, seqs):
        v, t, _ = s.f(cat, seqs)
        return s.bias + t.sum(1) + bi_interaction(v).sum(1) + s.mlp(v.flatten(1)).squeeze(1)


class Din(torch.nn.Module):
    def __init__(s, layout, dim, hidden, target="item_id", sequence="history",
                 interest_product=False, keep_mean=False, first_order=False, fm=False):
        super().__init__()
        s.f = Fields(layout, dim, attended=(sequence,))
        s.target = [n for n, _ in layout["categorical"]].index(target)
        s.unit = mlp(4 * dim, (36,))
        s.interest_product, s.keep_mean, s.fm = interest_product, keep_mean, fm
        pooled = 1 + int(keep_mean)
        s.mlp = mlp((s.f.count + pooled - 1 + pooled * int(interest_product)) * dim, hidden)
        s.bias = torch.nn.Parameter(torch.zeros(1)) if first_order else None

    def forward(s, cat, seqs):
        v, terms, raw = s.f(cat, seqs)
        t = v[:, s.target]
        slots = list(v.unbind(1))
        for slot, (e, mask) in raw.items():
            te = t.unsqueeze(1).expand_as(e)
            u = s.unit(torch.cat([e, te, e - te, e * te], 2)).squeeze(2)
            a = torch.softmax(u + (mask - 1) * 1e9, 1) * mask.max(1, keepdim=True).values
            pooled = [(a.unsqueeze(2) * e).sum(1)]
            if s.keep_mean:
                pooled.append((e * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1))
            slots[slot] = pooled[0]
            slots += pooled[1:]
            if s.interest_product:
                slots += [p * t for p in pooled]
        x = torch.stack(slots, 1)
        y = s.mlp(x.flatten(1)).squeeze(1)
        if s.fm:
            y = y + bi_interaction(x[:, :s.f.count]).sum(1)
        return y if s.bias is None else s.bias + terms.sum(1) + y


def safetensors(path):
    """name -> tensor of a safetensors file (8-byte header size, JSON
    header, raw little-endian data), read by hand: no numpy or safetensors here."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, meta in header.items():
        assert meta["dtype"] == "F32", (name, meta["dtype"])
        start, end = meta["data_offsets"]
        data = bytearray(raw[8 + n + start:8 + n + end])
        out[name] = torch.frombuffer(data, dtype=torch.float32).reshape(meta["shape"])
    return out


def load_ember_din(model, path):
    """Copies an ember DIN artifact's weights into `model` (Burn stores
    Linear weights [in, out], torch [out, in]; one embedding table holds
    every field's rows, the fields in layout order)."""
    w = {k.split(".", 1)[1]: v for k, v in safetensors(path).items() if k.startswith("Din.")}
    table = w["features.tables.0.weight"]
    with torch.no_grad():
        start = 0
        for emb in model.f.emb:
            rows = emb.weight.shape[0]
            emb.weight.copy_(table[start:start + rows])
            start += rows
        assert start == table.shape[0], "the table's rows do not match the layout"

        def linears(seq, prefix):
            layers = [m for m in seq if isinstance(m, torch.nn.Linear)]
            names = ["%s.hidden.%d" % (prefix, i) for i in range(len(layers) - 1)] + [prefix + ".output"]
            for layer, name in zip(layers, names):
                layer.weight.copy_(w[name + ".weight"].t())
                layer.bias.copy_(w[name + ".bias"])

        linears(model.mlp, "deep")
        linears(model.unit, "attention.unit")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("rows", help="the directory `ember rows` wrote")
    p.add_argument("--model", choices=["deepfm", "din"], default="din")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--hidden", default="200,200,200")
    p.add_argument("--patience", type=int, default=2)
    p.add_argument("--interest-product", action="store_true", help="DIN: the tower also reads e_t * v_U(t)")
    p.add_argument("--keep-mean", action="store_true", help="DIN: the history's mean beside the attended interest")
    p.add_argument("--first-order", action="store_true", help="DIN: add bias + first-order terms")
    p.add_argument("--fm", action="store_true", help="DIN: add the FM term over the field vectors")
    p.add_argument("--embedding-l2", type=float, default=0.0,
                   help="lambda of ember's train.embedding_l2: + lambda/B * sum of the touched rows' squared norms")
    p.add_argument("--test-scores", help="write the test rows' label,score to this CSV file")
    p.add_argument("--ember-artifact", help="score with an ember DIN artifact's weights instead of training")
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    start = time.time()
    with open(os.path.join(a.rows, "layout.json")) as f:
        layout = json.load(f)
    train, valid, test = (read(os.path.join(a.rows, n + ".csv"), layout) for n in ("train", "valid", "test"))
    hidden = tuple(int(h) for h in a.hidden.split(","))
    if a.model == "din":
        model = Din(layout, a.dim, hidden, interest_product=a.interest_product,
                    keep_mean=a.keep_mean, first_order=a.first_order, fm=a.fm)
    else:
        model = DeepFM(layout, a.dim, hidden)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def predict(split):
        model.eval()
        cat, seqs, _, _ = split
        with torch.no_grad():
            return torch.cat([model(cat[b:b + 8192], [s[b:b + 8192] for s in seqs])
                              for b in range(0, len(cat), 8192)])

    if a.ember_artifact:
        if a.model != "din":
            p.error("--ember-artifact scores a DIN artifact: use --model din")
        if a.interest_product or a.keep_mean or a.first_order or a.fm:
            p.error("--ember-artifact loads the plain DIN only")
        load_ember_din(model, os.path.join(a.ember_artifact, "model.safetensors"))
        for name, split in (("valid", valid), ("test", test)):
            scores, labels = predict(split).tolist(), split[2].tolist()
            print("torch %s with ember's weights: %s AUC %.4f gAUC %.4f"
                  % (a.model, name, auc(scores, labels), gauc(scores, labels, split[3])))
        return
    cat, seqs, y, _ = train

    def batch_loss(idx):
        c, q = cat[idx], [s[idx] for s in seqs]
        loss = loss_fn(model(c, q), y[idx])
        if a.embedding_l2 > 0:
            loss = loss + model.f.touched_l2(c, q) * (a.embedding_l2 / len(idx))
        return loss

    fit_start = time.time()
    best, best_epoch = fit(
        model,
        len(y),
        lambda idx: batch_loss(idx),
        lambda: auc(predict(valid).tolist(), valid[2].tolist()),
        patience=a.patience,
    )
    fit_seconds = time.time() - fit_start
    logits = predict(test)
    scores, labels = logits.tolist(), test[2].tolist()
    if a.test_scores:
        with open(a.test_scores, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["label", "score"])
            w.writerows((int(l), "%.7g" % s) for l, s in zip(labels, scores))
    print("torch %s seed %d: test AUC %.4f gAUC %.4f logloss %.4f | valid AUC %.4f | best epoch %d | %.1fs | %.1fs training"
          % (a.model, a.seed, auc(scores, labels), gauc(scores, labels, test[3]),
             loss_fn(logits, test[2]).item(), best, best_epoch, time.time() - start, fit_seconds))


if __name__ == "__main__":
    main()
