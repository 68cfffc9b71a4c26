/**
 * An independent BERT in plain JavaScript with Float64 arithmetic, written from the equations of Devlin et al. and
 * Hugging Face's BertModel (post-LN blocks, exact erf GELU, additive padding mask), plus Houlsby adapters as
 * lib/model/bert.ts places them. No tfjs: the tests compare the tfjs encoder (values and gradients) against it.
 */
export type Params = Map<string, { shape: number[]; data: Float64Array | Float32Array }>;

export interface RefConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  layer_norm_eps: number;
}

/** erf to double precision (W. J. Cody's rational approximations would do; this series/continued fraction is enough). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    // Maclaurin series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc, evaluated backwards (Lentz not needed at this depth).
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  }
  return x < 0 ? -r : r;
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

function get(p: Params, name: string): Float64Array | Float32Array {
  const t = p.get(name);
  if (!t) throw new Error(`reference BERT: parameter ${name} missing`);
  return t.data;
}

/** y[n, out] = x[n, in] W^T + b with W [out, in]. */
function linear(x: Float64Array, n: number, inDim: number, w: ArrayLike<number>, b: ArrayLike<number>, outDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let k = 0; k < inDim; k++) s += x[i * inDim + k] * w[o * inDim + k];
      y[i * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, n: number, h: number, g: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(n * h);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let k = 0; k < h; k++) mean += x[i * h + k];
    mean /= h;
    let v = 0;
    for (let k = 0; k < h; k++) v += (x[i * h + k] - mean) ** 2;
    v /= h;
    const r = 1 / Math.sqrt(v + eps);
    for (let k = 0; k < h; k++) y[i * h + k] = (x[i * h + k] - mean) * r * g[k] + b[k];
  }
  return y;
}

function adapter(p: Params, prefix: string, x: Float64Array, n: number, h: number): Float64Array {
  if (!p.has(prefix + "down.weight")) return x;
  const m = p.get(prefix + "down.weight")!.shape[0];
  const down = linear(x, n, h, get(p, prefix + "down.weight"), get(p, prefix + "down.bias"), m).map(gelu);
  const up = linear(down, n, m, get(p, prefix + "up.weight"), get(p, prefix + "up.bias"), h);
  return x.map((v, i) => v + up[i]);
}

/**
 * Hidden states [embedding output, layer 1..L], each as Float64Array [batch*seq*hidden].
 * ids, mask, types: [batch][seq].
 */
export function referenceBert(cfg: RefConfig, p: Params, ids: number[][], mask: number[][], types?: number[][]): Float64Array[] {
  const B = ids.length;
  const S = ids[0].length;
  const H = cfg.hidden_size;
  const nh = cfg.num_attention_heads;
  const d = H / nh;
  const N = B * S;
  const we = get(p, "embeddings.word_embeddings.weight");
  const pe = get(p, "embeddings.position_embeddings.weight");
  const te = get(p, "embeddings.token_type_embeddings.weight");
  let x: Float64Array = new Float64Array(N * H);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const t = types ? types[b][s] : 0;
      for (let k = 0; k < H; k++) x[(b * S + s) * H + k] = we[ids[b][s] * H + k] + pe[s * H + k] + te[t * H + k];
    }
  }
  x = layerNorm(x, N, H, get(p, "embeddings.LayerNorm.weight"), get(p, "embeddings.LayerNorm.bias"), cfg.layer_norm_eps);
  const out = [x];
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const pre = `encoder.layer.${l}.`;
    const q = linear(x, N, H, get(p, pre + "attention.self.query.weight"), get(p, pre + "attention.self.query.bias"), H);
    const k = linear(x, N, H, get(p, pre + "attention.self.key.weight"), get(p, pre + "attention.self.key.bias"), H);
    const v = linear(x, N, H, get(p, pre + "attention.self.value.weight"), get(p, pre + "attention.self.value.bias"), H);
    const ctx = new Float64Array(N * H);
    const scores = new Float64Array(S);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nh; h++) {
        for (let i = 0; i < S; i++) {
          let max = -Infinity;
          for (let j = 0; j < S; j++) {
            let s = 0;
            for (let c = 0; c < d; c++) s += q[(b * S + i) * H + h * d + c] * k[(b * S + j) * H + h * d + c];
            s = s / Math.sqrt(d) + (mask[b][j] ? 0 : -1e9);
            scores[j] = s;
            if (s > max) max = s;
          }
          let z = 0;
          for (let j = 0; j < S; j++) {
            scores[j] = Math.exp(scores[j] - max);
            z += scores[j];
          }
          for (let c = 0; c < d; c++) {
            let s = 0;
            for (let j = 0; j < S; j++) s += (scores[j] / z) * v[(b * S + j) * H + h * d + c];
            ctx[(b * S + i) * H + h * d + c] = s;
          }
        }
      }
    }
    let a = linear(ctx, N, H, get(p, pre + "attention.output.dense.weight"), get(p, pre + "attention.output.dense.bias"), H);
    a = adapter(p, pre + "attention.output.adapter.", a, N, H);
    const x1 = layerNorm(a.map((val, i) => val + x[i]), N, H, get(p, pre + "attention.output.LayerNorm.weight"), get(p, pre + "attention.output.LayerNorm.bias"), cfg.layer_norm_eps);
    const I = p.get(pre + "intermediate.dense.weight")!.shape[0];
    const hmid = linear(x1, N, H, get(p, pre + "intermediate.dense.weight"), get(p, pre + "intermediate.dense.bias"), I).map(gelu);
    let o = linear(hmid, N, I, get(p, pre + "output.dense.weight"), get(p, pre + "output.dense.bias"), H);
    o = adapter(p, pre + "output.adapter.", o, N, H);
    x = layerNorm(o.map((val, i) => val + x1[i]), N, H, get(p, pre + "output.LayerNorm.weight"), get(p, pre + "output.LayerNorm.bias"), cfg.layer_norm_eps);
    out.push(x);
  }
  return out;
}
