#!/usr/bin/python3
"""Generate test/fixtures/tiny-bert: a small random BERT in Hugging Face layout plus reference hidden states.

Run with Debian's python3-torch (transformers is not needed and not used):
    /usr/bin/python3 scripts/make_tiny_bert_fixture.py [out_dir]

The encoder below is written from the equations of transformers' BertModel (post-layer-norm blocks, exact erf
GELU, LayerNorm eps 1e-12, additive attention mask (1 - mask) * dtype_min) with the same state-dict names, so
the files it writes are what BertModel.save_pretrained writes for the same weights.
The reference is computed in float64 from the float32 weights, so it is the exact mathematical output that a
float32 implementation must approach (not one particular float32 rounding order).

Outputs (all deterministic for a given torch version; the seed fixes the weights and inputs):
  config.json, vocab.txt        Hugging Face model folder files
  model.safetensors             float32, written by hand (the safetensors package is not installed here)
  pytorch_model.bin             torch.save zip format (default since torch 1.6), includes the int64 buffer
                                embeddings.position_ids that loaders must skip
  reference.json                inputs and every layer's hidden states (base64 little-endian float32)
  variants/model-f16.safetensors          same weights rounded to float16 (dtype F16)
  variants/model-bf16.safetensors         same weights rounded to bfloat16 (dtype BF16)
  variants/pytorch_model-legacy.bin       torch.save legacy (pre-zip) format
  variants/views.bin, views.json          strided/offset/shared-storage tensors of several dtypes for the
                                          pickle reader, with their expected contiguous values
"""
import base64
import collections
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

SEED = 20221
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VOCAB_SRC = "/work/shared/vocab/bert-base-uncased-vocab.txt"

CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 32,
    "initializer_range": 0.2,
    "intermediate_size": 37,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 64,
    "model_type": "bert",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
    "transformers_version": "4.30.0",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": None,  # set from the vocabulary below
}


def make_vocab():
    """A subset of bert-base-uncased's vocabulary, in its original order: the first 104 entries (so [PAD]=0,
    [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103 keep their ids), every printable-ASCII single character and its
    '##' continuation (so any ASCII text tokenizes without [UNK]), and the 300 most frequent whole words."""
    with open(VOCAB_SRC, encoding="utf-8") as f:
        full = [line.rstrip("\n") for line in f]
    printable = {chr(c) for c in range(33, 127)}
    keep = []
    words = 0
    for i, tok in enumerate(full):
        if i < 104:
            keep.append(tok)
        elif tok in printable or (tok.startswith("##") and tok[2:] in printable):
            keep.append(tok)
        elif i >= 1996 and not tok.startswith("##") and not tok.startswith("[") and words < 300:
            keep.append(tok)
            words += 1
    return keep


class SelfAttention(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)


class AttentionOutput(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.dense = nn.Linear(h, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)


class Attention(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.self = SelfAttention(h)
        self.output = AttentionOutput(h, eps)


class Intermediate(nn.Module):
    def __init__(self, h, i):
        super().__init__()
        self.dense = nn.Linear(h, i)


class Output(nn.Module):
    def __init__(self, h, i, eps):
        super().__init__()
        self.dense = nn.Linear(i, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i, eps = c["hidden_size"], c["intermediate_size"], c["layer_norm_eps"]
        self.attention = Attention(h, eps)
        self.intermediate = Intermediate(h, i)
        self.output = Output(h, i, eps)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        # As in transformers: an expanded arange, a persistent buffer in older checkpoints. Loaders must skip it.
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))


class Pooler(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.dense = nn.Linear(h, h)


class TinyBert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c["hidden_size"])

    def forward(self, input_ids, attention_mask, token_type_ids):
        c = self.c
        e = self.embeddings
        t = input_ids.shape[1]
        x = e.word_embeddings(input_ids) + e.position_embeddings(e.position_ids[:, :t]) + \
            e.token_type_embeddings(token_type_ids)
        x = e.LayerNorm(x)  # dropout is the identity in eval mode
        states = [x]
        nh = c["num_attention_heads"]
        hd = c["hidden_size"] // nh
        dtype = x.dtype
        add_mask = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        for layer in self.encoder.layer:
            sa = layer.attention.self

            def heads(v):
                return v.view(v.shape[0], v.shape[1], nh, hd).permute(0, 2, 1, 3)

            q, k, v = heads(sa.query(x)), heads(sa.key(x)), heads(sa.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + add_mask
            probs = torch.softmax(scores, dim=-1)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(x.shape)
            ao = layer.attention.output
            a = ao.LayerNorm(ao.dense(ctx) + x)
            inter = layer.intermediate.dense(a)
            inter = inter * 0.5 * (1.0 + torch.erf(inter / math.sqrt(2.0)))
            o = layer.output
            x = o.LayerNorm(o.dense(inter) + a)
            states.append(x)
        pooled = torch.tanh(self.pooler.dense(x[:, 0]))
        return states, pooled


def init_weights(model, gen, std):
    """Every parameter random (biases and LayerNorm affine too), so a swapped or dropped tensor shows up."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen, dtype=torch.float32) * std
            if name.endswith("LayerNorm.weight"):
                r = 1.0 + r
            p.copy_(r)


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
                      torch.int32: "I32", torch.float64: "F64"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the bits as int16
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors):
    """The safetensors layout: u64 LE header length, JSON header (padded with spaces to 8 bytes), raw LE data."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def b64f32(t):
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode()


def reference_batches(model64, batches):
    out = []
    for ids, mask, types in batches:
        i = torch.tensor(ids, dtype=torch.int64)
        m = torch.tensor(mask, dtype=torch.int64)
        tt = torch.tensor(types, dtype=torch.int64)
        with torch.no_grad():
            states, pooled = model64(i, m, tt)
        out.append({"hidden_states": [b64f32(s) for s in states], "pooler_output": b64f32(pooled)})
    return out


def make_inputs(gen, vocab_size, max_pos):
    pad, cls, sep = 0, 101, 102

    def rand_ids(n):
        # ids from the non-special part of the vocabulary (>= 104)
        return (torch.randint(104, vocab_size, (n,), generator=gen)).tolist()

    t = 12
    a = [cls] + rand_ids(t - 2) + [sep]
    b = [cls] + rand_ids(6) + [sep] + [pad] * (t - 8)  # padded
    c = [cls] + rand_ids(4) + [sep] + rand_ids(5) + [sep]  # a sentence pair
    batch1 = ([a, b, c],
              [[1] * t, [1] * 8 + [0] * (t - 8), [1] * t],
              [[0] * t, [0] * t, [0] * 6 + [1] * 6])
    full = [cls] + rand_ids(max_pos - 2) + [sep]  # every position embedding
    batch2 = ([full], [[1] * max_pos], [[0] * max_pos])
    return [batch1, batch2]


def views_fixture(out_dir):
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1.0
    objs = collections.OrderedDict()
    objs["base"] = base
    objs["transposed"] = base.t()  # strides (1, 4): not contiguous
    objs["row_slice"] = base[1:]  # storage offset 4, shares base's storage
    objs["col_slice"] = base[:, 1:3]  # offset 1, strides (4, 1)
    objs["expanded"] = torch.tensor([1.5, -2.0, 3.25]).expand(2, 3)  # stride 0
    objs["half"] = torch.tensor([[0.1, -2.5, 65504.0], [1e-5, 0.0, -0.0]], dtype=torch.float16)
    objs["bfloat16"] = torch.tensor([0.1, -2.5, 3.0e38, 1e-20], dtype=torch.bfloat16)
    objs["double"] = torch.tensor([math.pi, -1e-3], dtype=torch.float64)
    objs["long"] = torch.tensor([[-3, 0], [2**40, 7]], dtype=torch.int64)
    objs["int"] = torch.tensor([-5, 6, 2**31 - 1], dtype=torch.int32)
    objs["scalar"] = torch.tensor(2.5)
    objs["empty"] = torch.zeros(0, 3)
    torch.save(objs, os.path.join(out_dir, "views.bin"))
    expected = collections.OrderedDict()
    for k, v in objs.items():
        flat = v.contiguous().to(torch.float64).reshape(-1).tolist()
        expected[k] = {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""), "values": flat}
    with open(os.path.join(out_dir, "views.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "test", "fixtures", "tiny-bert")
    var_dir = os.path.join(out_dir, "variants")
    os.makedirs(var_dir, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    vocab = make_vocab()
    config = dict(CONFIG, vocab_size=len(vocab))
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(tok + "\n" for tok in vocab))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    model = TinyBert(config).eval()
    init_weights(model, gen, std=config["initializer_range"])
    sd = model.state_dict()  # HF names, including the int64 buffer embeddings.position_ids

    torch.save(sd, os.path.join(out_dir, "pytorch_model.bin"))
    torch.save(sd, os.path.join(var_dir, "pytorch_model-legacy.bin"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), {k: v for k, v in sd.items()})
    params = {k: v for k, v in sd.items() if v.dtype == torch.float32}
    write_safetensors(os.path.join(var_dir, "model-f16.safetensors"),
                      {k: v.to(torch.float16) for k, v in params.items()})
    write_safetensors(os.path.join(var_dir, "model-bf16.safetensors"),
                      {k: v.to(torch.bfloat16) for k, v in params.items()})
    views_fixture(var_dir)

    batches = make_inputs(gen, config["vocab_size"], config["max_position_embeddings"])
    model64 = TinyBert(config).eval().double()
    model64.load_state_dict({k: (v.double() if v.is_floating_point() else v) for k, v in sd.items()})
    ref = reference_batches(model64, batches)
    # The same computation from weights rounded to f16 / bf16: a loader that widens them exactly must match these
    # as tightly as the float32 files match the main reference.
    rounded = {}
    for name, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        m = TinyBert(config).eval().double()
        m.load_state_dict({k: (v.to(dt).double() if v.is_floating_point() else v) for k, v in sd.items()})
        rounded[name] = reference_batches(m, batches)

    doc = {
        "description": "Hidden states of every layer (index 0 = embedding output, then layers 1..L) of the tiny "
                       "random BERT in this folder, computed in float64 by scripts/make_tiny_bert_fixture.py "
                       "(a PyTorch implementation of transformers' BertModel, eval mode).",
        "encoding": "each hidden state is base64 of little-endian float32, row-major [batch, seq, hidden]; "
                    "pooler_output is [batch, hidden]",
        "torch_version": torch.__version__,
        "seed": SEED,
        "hidden_size": config["hidden_size"],
        "num_hidden_layers": config["num_hidden_layers"],
        "batches": [
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, **r,
             "hidden_states_f16_weights": rf["hidden_states"], "hidden_states_bf16_weights": rb["hidden_states"]}
            for (ids, mask, types), r, rf, rb in zip(batches, ref, rounded["f16"], rounded["bf16"])
        ],
    }
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    total = 0
    for root, _, files in os.walk(out_dir):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print(f"wrote {out_dir}: vocab {len(vocab)}, {sum(v.numel() for v in params.values())} parameters, "
          f"{total} bytes in total")


if __name__ == "__main__":
    main()
