"""PyTorch reference for `ftgeo bench encode`: representation-extraction throughput of a BERT encoder
(forward pass, every layer's hidden states kept), batch B x T tokens, on the CPU with N threads, torch.no_grad.

Run with Debian's python3-torch: /usr/bin/python3 bench/encode_torch.py --shapes tiny,mini --threads 2
Prints one JSON line: {"torch": version, "threads": N, "results": {shape: {"tokensPerSecond": x, "batches": n,
"cpuMsPerBatch": process CPU time of all threads per batch}}}.
The encoder is written out here (no transformers package needed) as Hugging Face's BertModel computes it with
output_hidden_states=True in eval mode: embeddings + LayerNorm, post-LayerNorm blocks, exact (erf) GELU,
additive padding mask. The hidden states are copied out to numpy, as the tfjs side reads every layer back to JS.
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
    def __init__(self, h, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.up, self.down = nn.Linear(h, 4 * h), nn.Linear(4 * h, h)

    def forward(self, x, bias):
        b, t, h = x.shape
        d = h // self.heads
        split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1)
        ctx = (p @ v).transpose(1, 2).reshape(b, t, h)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.down(F.gelu(self.up(x))))


class Bert(nn.Module):
    def __init__(self, layers, h, vocab=30522):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(vocab, h), nn.Embedding(512, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, h // 64) for _ in range(layers))

    def forward(self, ids, mask):
        t = ids.shape[1]
        x = self.ln(self.word(ids) + self.pos.weight[:t] + self.typ.weight[0])
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        states = [x]
        for layer in self.layers:
            x = layer(x, bias)
            states.append(x)
        return states


def bench(shape, batch, seq, batches, seconds):
    layers, h = SHAPES[shape]
    torch.manual_seed(1)
    model = Bert(layers, h).eval()
    ids = torch.randint(1000, 30000, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    with torch.no_grad():
        for _ in range(2):
            [s.numpy().copy() for s in model(ids, mask)]
        n, start, cpu0 = 0, time.perf_counter(), time.process_time()
        while n < batches or (time.perf_counter() - start < seconds and n < 20 * batches):
            [s.numpy().copy() for s in model(ids, mask)]
            n += 1
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    return {"tokensPerSecond": batch * seq * n / total, "batches": n, "cpuMsPerBatch": 1000 * cpu / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="tiny,mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    results = {s: bench(s, a.batch, a.seq, a.batches, a.seconds) for s in a.shapes.split(",")}
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "results": results}))


if __name__ == "__main__":
    main()
