/**
 * BERT's masked-language-model head (Hugging Face BertForMaskedLM names: cls.predictions.*), computed only at the
 * masked positions: transform (dense + GELU + LayerNorm), then the decoder tied to the word embeddings plus a bias.
 * Only ~15% of positions carry a label, so evaluating the 30,522-way output there and nowhere else is exact and
 * saves most of the cost of a tiny model's step.
 */
import * as tf from "@tensorflow/tfjs";
import type { BertModel } from "../model/bert";
import type { NamedVariable } from "../train/heads";
import type { FloatTensorMap } from "../model/safetensors";
import { linear, layerNorm, activation, custom } from "../model/layers";
import { Rng } from "../util/rng";
import { MLM_XENT_KERNEL, nativeMlmXentActive } from "../model/native-blas";

export const MLM_PREFIX = "cls.predictions.";

let uniqueId = 0;

export class MlmHead {
  readonly denseW: tf.Variable;
  readonly denseB: tf.Variable;
  readonly lnGamma: tf.Variable;
  readonly lnBeta: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly model: BertModel, seed: number, initStd = 0.02) {
    const H = model.config.hidden_size;
    const V = model.config.vocab_size;
    const rng = new Rng(seed);
    const w = new Float32Array(H * H);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * initStd;
    const id = ++uniqueId;
    this.denseW = tf.variable(tf.tensor2d(w, [H, H]), true, `mlm${id}/transform.dense.weight`);
    this.denseB = tf.variable(tf.zeros([H]), true, `mlm${id}/transform.dense.bias`);
    this.lnGamma = tf.variable(tf.ones([H]), true, `mlm${id}/transform.LayerNorm.weight`);
    this.lnBeta = tf.variable(tf.zeros([H]), true, `mlm${id}/transform.LayerNorm.bias`);
    this.bias = tf.variable(tf.zeros([V]), true, `mlm${id}/bias`);
  }

  /** The head's own parameters under their Hugging Face names (the decoder weight is the word embedding). */
  variables(): NamedVariable[] {
    return [
      { name: `${MLM_PREFIX}transform.dense.weight`, variable: this.denseW },
      { name: `${MLM_PREFIX}transform.dense.bias`, variable: this.denseB },
      { name: `${MLM_PREFIX}transform.LayerNorm.weight`, variable: this.lnGamma },
      { name: `${MLM_PREFIX}transform.LayerNorm.bias`, variable: this.lnBeta },
      { name: `${MLM_PREFIX}bias`, variable: this.bias },
    ];
  }

  async toTensors(): Promise<FloatTensorMap> {
    const out: FloatTensorMap = new Map();
    for (const { name, variable } of this.variables()) {
      out.set(name, { shape: variable.shape.slice(), data: (await variable.data()) as Float32Array });
    }
    return out;
  }

  /** Assign the head from tensors (a resumed snapshot); returns the names it did not find. */
  load(tensors: FloatTensorMap): string[] {
    const missing: string[] = [];
    for (const { name, variable } of this.variables()) {
      const t = tensors.get(name);
      if (!t) {
        missing.push(name);
        continue;
      }
      const v = tf.tensor(t.data, variable.shape, "float32");
      variable.assign(v);
      v.dispose();
    }
    return missing;
  }

  dispose(): void {
    for (const { variable } of this.variables()) variable.dispose();
  }

  /** Logits [n, vocab] for hidden vectors [n, hidden] at masked positions. */
  logits(h: tf.Tensor2D): tf.Tensor2D {
    const cfg = this.model.config;
    const t = linear(h, this.denseW as tf.Tensor2D, this.denseB as tf.Tensor1D);
    const a = activation(cfg.hidden_act, t) as tf.Tensor2D;
    const n = layerNorm(a, this.lnGamma as tf.Tensor1D, this.lnBeta as tf.Tensor1D, cfg.layer_norm_eps);
    const emb = this.model.variable("embeddings.word_embeddings.weight") as tf.Tensor2D;
    return linear(n, emb, this.bias as tf.Tensor1D);
  }

  /** Gather the last layer's vectors at flat positions (row * seqLen + column). */
  static atPositions(last: tf.Tensor3D, positions: tf.Tensor1D): tf.Tensor2D {
    const [B, S, H] = last.shape;
    return tf.gather(tf.reshape(last, [B * S, H]) as tf.Tensor2D, positions);
  }
}

/**
 * Mean softmax cross-entropy of logits [n, V] against integer labels [n], with the fused gradient
 * (softmax - onehot) / n, which avoids materialising log-probabilities for the backward pass. With the native
 * addon on wasm, one kernel computes both in a single pass over the logits (the exponentials, one-hot products
 * and casts of the tfjs version cost a quarter of a BERT-tiny pretraining step).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const V = logits.shape[1];
  if (nativeMlmXentActive()) {
    const native = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, grad] = tf.engine().runKernel(MLM_XENT_KERNEL, { x, labels }) as tf.Tensor[];
      save([grad]);
      return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(saved[0], dy)] };
    });
    return native(logits) as tf.Scalar;
  }
  const f = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const lse = tf.logSumExp(x, 1);
    // An int32 one-hot cast by mul: the wasm backend's OneHot with dtype float32 writes integer bits (tfjs 4.22).
    const picked = tf.sum(tf.mul(x, tf.oneHot(labels, V)), 1);
    const value = tf.mean(tf.sub(lse, picked));
    save([x]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx] = saved;
        const n = sx.shape[0] as number;
        const p = tf.softmax(sx as tf.Tensor2D);
        return [tf.mul(tf.sub(p, tf.oneHot(labels, V)), tf.div(dy, n))];
      },
    };
  });
  return f(logits) as tf.Scalar;
}
