"""The fair peer of `ember online` on the drifting stream: the same DeepFM
(embedding 16, MLP 64-64, FM part), trained online in PyTorch the same way:
batches of 256 in stream order, each scored before it is trained on
(progressive validation), Adagrad with sparse embedding gradients, lr 0.08
and 5% of it for the user and item ids, ids admitted on their second
sighting (OOV row before), AUC per window of 40,000 events next to the AUC
of the generator's probabilities. No eviction (the stream's ids fit).

    python3 scripts/torch_online_stream.py runs/example-stream [--fields segment,category,device]

Prints one line per window and the events/s of the whole run.
"""

import argparse
import csv
import glob
import os
import time

import torch
import torch.nn as nn

ALL_FIELDS = ["user", "item", "segment", "category", "device"]
IDS = {"user", "item"}


def auc(scores, labels):
    pairs = sorted(zip(scores, labels))
    rank_sum, pos, i, n = 0.0, 0, 0, len(pairs)
    while i < n:
        j = i
        while j + 1 < n and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            if pairs[k][1] > 0.5:
                rank_sum += r
                pos += 1
        i = j + 1
    neg = n - pos
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg) if pos and neg else float("nan")


class DeepFM(nn.Module):
    def __init__(self, fields, rows, dim=16, hidden=(64, 64)):
        super().__init__()
        self.fields = fields
        self.emb = nn.ModuleList(nn.Embedding(rows, dim, sparse=True) for _ in fields)
        self.lin = nn.ModuleList(nn.Embedding(rows, 1, sparse=True) for _ in fields)
        for e in list(self.emb) + list(self.lin):
            nn.init.normal_(e.weight, 0.0, 0.01)
        layers, d = [], dim * len(fields)
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        layers.append(nn.Linear(d, 1))
        self.mlp = nn.Sequential(*layers)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, ids):  # ids: [B, F]
        v = torch.stack([e(ids[:, f]) for f, e in enumerate(self.emb)], 1)  # [B, F, d]
        first = sum(l(ids[:, f]) for f, l in enumerate(self.lin)).squeeze(1)
        fm = 0.5 * (v.sum(1).pow(2) - v.pow(2).sum(1)).sum(1)
        return self.bias + first + fm + self.mlp(v.flatten(1)).squeeze(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("stream")
    p.add_argument("--fields", default=",".join(ALL_FIELDS))
    p.add_argument("--window", type=int, default=40000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.08)
    p.add_argument("--id-lr-scale", type=float, default=0.05)
    p.add_argument("--rows", type=int, default=20001)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    fields = a.fields.split(",")
    start = time.time()  # reading the files counts, as in ember's events/s
    rows, labels, truth = [], [], []
    for path in sorted(glob.glob(os.path.join(a.stream, "*.csv"))):
        with open(path) as f:
            for r in csv.DictReader(f):
                rows.append([r[k] for k in fields])
                labels.append(float(r["click"]))
                truth.append(float(r["p_true"]))
    model = DeepFM(fields, a.rows)
    sparse_groups = [
        {"params": [model.emb[f].weight, model.lin[f].weight],
         "lr": a.lr * (a.id_lr_scale if name in IDS else 1.0)}
        for f, name in enumerate(fields)
    ]
    sparse = torch.optim.Adagrad(sparse_groups, lr=a.lr)
    dense = torch.optim.Adagrad(list(model.mlp.parameters()) + [model.bias], lr=a.lr)
    vocab = [dict() for _ in fields]
    seen = [dict() for _ in fields]
    window, out = [], []
    for b in range(0, len(rows), a.batch):
        end = min(b + a.batch, len(rows))
        ids = []
        for r in rows[b:end]:
            row = []
            for f, tok in enumerate(r):
                if tok in vocab[f]:
                    row.append(vocab[f][tok])
                    continue
                seen[f][tok] = seen[f].get(tok, 0) + 1
                if seen[f][tok] >= 2 and len(vocab[f]) + 1 < a.rows:
                    vocab[f][tok] = len(vocab[f]) + 1
                    row.append(vocab[f][tok])
                else:
                    row.append(0)
            ids.append(row)
        x = torch.tensor(ids, dtype=torch.long)
        y = torch.tensor(labels[b:end])
        with torch.no_grad():
            p_ = torch.sigmoid(model(x)).tolist()
        window.extend(zip(p_, labels[b:end], truth[b:end]))
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        sparse.zero_grad()
        dense.zero_grad()
        loss.backward()
        sparse.step()
        dense.step()
        while len(window) >= a.window:
            w, window = window[: a.window], window[a.window:]
            s, l, t = zip(*w)
            out.append((auc(s, l), auc(t, l)))
            print(f"window {len(out)} online {out[-1][0]:.4f} true-p {out[-1][1]:.4f} gap {out[-1][1] - out[-1][0]:.4f}", flush=True)
    secs = time.time() - start
    print(f"{len(rows)} events in {secs:.1f} s: {len(rows) / secs:.0f} events/s")


if __name__ == "__main__":
    main()
