#!/usr/bin/env python3
"""The fair peer for DeepFM on a CSV of categorical columns: REFERENCE.md's
untuned PyTorch DeepFM (embedding 10, N(0, 0.01^2) init, MLP 400-400-400,
Adam 1e-3, batch 1024, early stopping on validation AUC with patience 3, at
most 100 epochs), with vocabularies from the training file (an unseen value
is index 0, as ember's out-of-vocabulary row).

    python3 scripts/torch_csv_deepfm.py TRAIN VALID TEST --label click \
        --fields user,item,segment,category,device --seed 1

Prints one line: test AUC and logloss, valid AUC, best epoch, seconds.
torch only (no numpy), 2 threads, so it runs beside ember on one machine.
"""
import argparse
import csv
import time

import torch

# The AUC and REFERENCE.md's training loop, shared with the ml100k peer.
from torch_ml100k_ctr import auc, fit


def read(path, fields, label):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [[r[c] for c in fields] for r in rows], [float(r[label]) for r in rows]


class DeepFM(torch.nn.Module):
    def __init__(s, cards, dim=10):
        super().__init__()
        s.emb = torch.nn.ModuleList(torch.nn.Embedding(c, dim) for c in cards)
        s.lin = torch.nn.ModuleList(torch.nn.Embedding(c, 1) for c in cards)
        for m in list(s.emb) + list(s.lin):
            torch.nn.init.normal_(m.weight, 0, 0.01)
        layers, d = [], len(cards) * dim
        for h in (400, 400, 400):
            layers += [torch.nn.Linear(d, h), torch.nn.ReLU()]
            d = h
        s.mlp = torch.nn.Sequential(*layers, torch.nn.Linear(d, 1))
        s.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(s, x):
        v = torch.stack([e(x[:, i]) for i, e in enumerate(s.emb)], 1)
        first = sum(l(x[:, i]) for i, l in enumerate(s.lin)).squeeze(1)
        fm = 0.5 * (v.sum(1).pow(2) - v.pow(2).sum(1)).sum(1)
        return s.bias + first + fm + s.mlp(v.flatten(1)).squeeze(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("train")
    p.add_argument("valid")
    p.add_argument("test")
    p.add_argument("--label", required=True)
    p.add_argument("--fields", required=True)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    start = time.time()
    fields = a.fields.split(",")
    splits = [read(path, fields, a.label) for path in (a.train, a.valid, a.test)]
    vocabs = [{} for _ in fields]
    for row in splits[0][0]:
        for f, value in enumerate(row):
            vocabs[f].setdefault(value, len(vocabs[f]) + 1)
    encode = lambda rows: torch.tensor([[vocabs[f].get(v, 0) for f, v in enumerate(r)] for r in rows])
    (xt, yt), (xv, yv), (xs, ys) = [(encode(x), y) for x, y in splits]
    yt_t = torch.tensor(yt)
    model = DeepFM([len(v) + 1 for v in vocabs])
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def predict(x):
        model.eval()
        with torch.no_grad():
            return model(x)

    best, best_epoch = fit(
        model,
        len(yt),
        lambda idx: loss_fn(model(xt[idx]), yt_t[idx]),
        lambda: auc(predict(xv).tolist(), yv),
    )
    logits = predict(xs)
    print("torch deepfm seed %d: test AUC %.4f logloss %.4f | valid AUC %.4f | best epoch %d | %.1fs"
          % (a.seed, auc(logits.tolist(), ys), loss_fn(logits, torch.tensor(ys)).item(), best, best_epoch,
             time.time() - start))


if __name__ == "__main__":
    main()
