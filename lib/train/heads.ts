/**
 * Classification heads on top of the encoder, one per task kind:
 * - token: the mean of the word's sub-word vectors (the paper's word representation) -> dropout -> linear;
 * - pair: the concatenation [dependent; head] of the two words' vectors -> dropout -> linear;
 * - sentence: the [CLS] vector -> dropout -> linear.
 * The feature-based variant first mixes all layers with learned softmax weights and a scale (ELMo's scalar mix),
 * the encoder staying frozen.
 *
 * Weights are kept as [in, labels] for a plain 2-D matMul (transposed matMuls are slow in tfjs wasm) and stored in
 * snapshots in the Hugging Face orientation: classifier.weight [labels, in], classifier.bias [labels].
 */
import * as tf from "@tensorflow/tfjs";
import type { TaskKind } from "../tasks/types";
import type { TaskBatch } from "./batches";
import type { WordPooling } from "../tokenize/align";
import type { FloatTensor, FloatTensorMap } from "../model/safetensors";
import { Rng } from "../util/rng";
import { dropout } from "../model/layers";
import { argError } from "../util/errors";

export interface HeadOptions {
  kind: TaskKind;
  hidden: number;
  numLabels: number;
  /** Dropout on the head's input while training (BERT's hidden_dropout_prob). */
  dropout: number;
  /** Feature-based: mix this many layer outputs (embeddings + L blocks) instead of using the last one. */
  mixLayers?: number;
  seed: number;
  /** BERT's initializer_range. */
  initStd?: number;
}

export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

let uniqueId = 0;

export class ClassifierHead {
  readonly inputSize: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly mixWeights?: tf.Variable;
  readonly mixScale?: tf.Variable;

  constructor(readonly opts: HeadOptions) {
    if (!(opts.numLabels >= 2)) throw argError("numLabels", `a classifier needs at least 2 labels, got ${opts.numLabels}`);
    this.inputSize = opts.kind === "pair" ? 2 * opts.hidden : opts.hidden;
    const rng = new Rng(opts.seed);
    const std = opts.initStd ?? 0.02;
    const w = new Float32Array(this.inputSize * opts.numLabels);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
    const id = ++uniqueId;
    this.weight = tf.variable(tf.tensor2d(w, [this.inputSize, opts.numLabels]), true, `head${id}/classifier.weight`);
    this.bias = tf.variable(tf.zeros([opts.numLabels]), true, `head${id}/classifier.bias`);
    if (opts.mixLayers) {
      this.mixWeights = tf.variable(tf.zeros([opts.mixLayers]), true, `head${id}/scalar_mix.weights`);
      this.mixScale = tf.variable(tf.ones([]), true, `head${id}/scalar_mix.gamma`);
    }
  }

  /** Trainable variables with their snapshot names. */
  variables(): NamedVariable[] {
    const out: NamedVariable[] = [
      { name: "classifier.weight", variable: this.weight },
      { name: "classifier.bias", variable: this.bias },
    ];
    if (this.mixWeights && this.mixScale) {
      out.push({ name: "scalar_mix.weights", variable: this.mixWeights }, { name: "scalar_mix.gamma", variable: this.mixScale });
    }
    return out;
  }

  /**
   * Logits [examples, labels] from the encoder's outputs ([embeddings, layer 1..L], each [B, T, H]).
   * `dropoutSeed` fixes the dropout mask (training only).
   */
  logits(layers: tf.Tensor3D[], batch: TaskBatch, training: boolean, dropoutSeed: number): tf.Tensor2D {
    return tf.tidy(() => {
      let x: tf.Tensor2D;
      if (this.mixWeights && this.mixScale) {
        if (layers.length !== this.mixWeights.shape[0]) {
          throw argError("layers", `the scalar mix was built for ${this.mixWeights.shape[0]} layers, got ${layers.length}`);
        }
        // Pooling is linear, so pooling each layer then mixing equals mixing then pooling, on far fewer numbers.
        const pooled = layers.map((h) => this.exampleVectors(h, batch));
        const w = tf.softmax(this.mixWeights);
        const stacked = tf.stack(pooled, 0) as tf.Tensor3D; // [layers, E, in]
        const mixed = tf.sum(tf.mul(stacked, tf.reshape(w, [-1, 1, 1])), 0) as tf.Tensor2D;
        x = tf.mul(mixed, this.mixScale) as tf.Tensor2D;
      } else {
        x = this.exampleVectors(layers[layers.length - 1], batch);
      }
      if (training && this.opts.dropout > 0) x = dropout(x, this.opts.dropout, dropoutSeed) as tf.Tensor2D;
      return tf.add(tf.matMul(x, this.weight), this.bias) as tf.Tensor2D;
    });
  }

  /** Mean cross-entropy of the logits against the batch's labels (a scalar). */
  static loss(logits: tf.Tensor2D, labels: Int32Array): tf.Scalar {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(logits);
      const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), logits.shape[1]);
      return tf.neg(tf.mean(tf.sum(tf.mul(logp, onehot), 1))) as tf.Scalar;
    });
  }

  /** The example vectors [E, in] of one layer's output [B, T, H]. */
  private exampleVectors(h: tf.Tensor3D, batch: TaskBatch): tf.Tensor2D {
    const [B, T, H] = h.shape;
    const flat = tf.reshape(h, [B * T, H]) as tf.Tensor2D;
    const pool = (p: WordPooling): tf.Tensor2D => {
      const E = p.numWords;
      const K = p.pieces;
      const rows = tf.gather(flat, tf.tensor1d(p.index, "int32")); // [E*K, H]
      if (K === 1) return tf.mul(rows, tf.tensor2d(p.weight, [E, 1])) as tf.Tensor2D;
      const weighted = tf.mul(tf.reshape(rows, [E, K, H]), tf.tensor3d(p.weight, [E, K, 1]));
      return tf.sum(weighted, 1) as tf.Tensor2D;
    };
    const first = pool(batch.first);
    if (batch.kind !== "pair") return first;
    if (!batch.second) throw argError("batch", "a pair task batch needs the head word's positions");
    return tf.concat([first, pool(batch.second)], 1) as tf.Tensor2D;
  }

  /** Head weights for a snapshot, in the Hugging Face orientation. */
  async toTensors(): Promise<FloatTensorMap> {
    const out: FloatTensorMap = new Map();
    const w = (await this.weight.data()) as Float32Array;
    const [inSize, labels] = this.weight.shape;
    const t = new Float32Array(w.length);
    for (let i = 0; i < inSize; i++) for (let j = 0; j < labels; j++) t[j * inSize + i] = w[i * labels + j];
    out.set("classifier.weight", { shape: [labels, inSize], data: t });
    out.set("classifier.bias", { shape: [labels], data: Float32Array.from((await this.bias.data()) as Float32Array) });
    if (this.mixWeights && this.mixScale) {
      out.set("scalar_mix.weights", { shape: [this.mixWeights.shape[0]], data: Float32Array.from((await this.mixWeights.data()) as Float32Array) });
      out.set("scalar_mix.gamma", { shape: [1], data: Float32Array.from((await this.mixScale.data()) as Float32Array) });
    }
    return out;
  }

  /** Head weights as the flat values its variables hold (the inverse of toTensors), for loading snapshots. */
  static variableValues(name: string, t: FloatTensor, expectShape: number[]): Float32Array {
    if (name === "classifier.weight") {
      const [labels, inSize] = t.shape;
      if (inSize !== expectShape[0] || labels !== expectShape[1]) {
        throw argError(name, `expected [${expectShape[1]}, ${expectShape[0]}] (labels, input), got [${t.shape}]`);
      }
      const out = new Float32Array(t.data.length);
      for (let i = 0; i < inSize; i++) for (let j = 0; j < labels; j++) out[i * labels + j] = t.data[j * inSize + i];
      return out;
    }
    const n = expectShape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw argError(name, `expected ${n} values, got ${t.data.length}`);
    return t.data;
  }

  dispose(): void {
    for (const v of this.variables()) v.variable.dispose();
  }
}
