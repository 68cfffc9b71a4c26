"""PyTorch reference for `ftgeo bench train`: training throughput of a BERT-shaped encoder with a token
classification head (forward + backward + Adam step), batch B x T tokens, on the CPU with N threads.

Run with Debian's python3-torch: /usr/bin/python3 bench/train_torch.py --shapes tiny,mini --threads 2
Prints one JSON line: {"torch": version, "threads": N, "results": {shape: {"tokensPerSecond": x, "steps": n}}}.
The encoder is written out here (no transformers package needed) with the same layout as Hugging Face's BertModel:
post-LayerNorm blocks, GELU (erf), dropout 0.1 on hidden states and attention probabilities.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768)}


class Layer(nn.Module):
    def __init__(self, h, heads, drop):
        super().__init__()
        self.heads, self.drop = heads, drop
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.up, self.down = nn.Linear(h, 4 * h), nn.Linear(4 * h, h)

    def forward(self, x, bias):
        b, t, h = x.shape
        d = h // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1), self.drop, self.training)
        ctx = (p @ v).transpose(1, 2).reshape(b, t, h)
        x = self.ln1(x + F.dropout(self.o(ctx), self.drop, self.training))
        return self.ln2(x + F.dropout(self.down(F.gelu(self.up(x))), self.drop, self.training))


class Bert(nn.Module):
    def __init__(self, layers, h, labels, vocab=30522, drop=0.1):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(vocab, h), nn.Embedding(512, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, h // 64, drop) for _ in range(layers))
        self.drop = drop
        self.head = nn.Linear(h, labels)

    def forward(self, ids, mask):
        t = ids.shape[1]
        x = self.word(ids) + self.pos(torch.arange(t))[None] + self.typ(torch.zeros_like(ids))
        x = F.dropout(self.ln(x), self.drop, self.training)
        bias = (1.0 - mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return self.head(F.dropout(x, self.drop, self.training))


def bench(shape, batch, seq, steps, seconds):
    layers, h = SHAPES[shape]
    torch.manual_seed(0)
    model = Bert(layers, h, 17).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, eps=1e-6, weight_decay=0.0)
    ids = torch.randint(1000, 30000, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    labels = torch.randint(0, 17, (batch * seq,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, mask).view(-1, 17), labels)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while n < steps or (time.perf_counter() - t0 < seconds and n < 10 * steps):
        step()
        n += 1
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"tokensPerSecond": batch * seq * n / dt, "steps": n, "secondsPerStep": dt / n, "cpuMsPerStep": 1000 * cpu / n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="tiny,mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    results = {s: bench(s, a.batch, a.seq, a.steps, a.seconds) for s in a.shapes.split(",")}
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "batch": a.batch, "seq": a.seq, "results": results}))


if __name__ == "__main__":
    main()
