/**
 * BERT encoder in TensorFlow.js, equivalent to Hugging Face's BertModel (post-layer-norm blocks, exact erf GELU,
 * additive attention mask for padding), returning the hidden states of every layer, and trainable.
 *
 * Parameters are tf.Variables named after the Hugging Face state-dict entries ("encoder.layer.0.attention.self.
 * query.weight", ...) and kept in Hugging Face's layouts (Linear weights [out, in]), so checkpoints move in and out
 * without reshuffling. tfjs variable names must be unique per process, so each model prefixes its own id;
 * `variable(hfName)` and `hfName(variable)` translate.
 */
import * as tf from "@tensorflow/tfjs";
import { FtgeoError } from "../util/errors";
import { Rng } from "../util/rng";
import { BertConfig, validateConfig, initializerRange } from "./config";
import { activation, attention, custom, attentionBias, dropout, layerNorm, linear, linearConcat, releaseCached, releaseTranspose } from "./layers";

export type NamedTensors = Map<string, { shape: number[]; data: Float32Array }>;

export interface ForwardOptions {
  /** Segment ids [batch, seq] (0/1); all zeros when omitted. */
  tokenTypeIds?: tf.Tensor2D;
  /** Apply dropout (hidden and attention probabilities) as in training. Default false. */
  training?: boolean;
  /** Seed of the dropout masks of this call; when omitted in training, a stream owned by the model is used. */
  dropoutSeed?: number;
  /**
   * Run the embeddings and the first k layers without recording them for gradients (k = 0: only the embeddings;
   * undefined or -1: nothing frozen). Their parameters then get no gradient and no memory is held for backward.
   */
  frozenLayers?: number;
}

/** Prefixes of checkpoint tensors that belong to task heads of BertFor* models; they are ignored on load. */
const HEAD_PREFIXES = ["cls.", "qa_outputs.", "classifier.", "lm_head."];
/** Non-parameter buffers some checkpoints carry. */
const BUFFERS = ["embeddings.position_ids", "embeddings.token_type_ids"];

let nextModelId = 0;

interface AdapterVars {
  downW: tf.Variable;
  downB: tf.Variable;
  upW: tf.Variable;
  upB: tf.Variable;
}

/** The names and shapes of every parameter of a BERT with this config (Hugging Face names and layouts). */
export function bertParameterShapes(config: BertConfig, adapterSize = 0): Map<string, number[]> {
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const m = new Map<string, number[]>();
  m.set("embeddings.word_embeddings.weight", [config.vocab_size, H]);
  m.set("embeddings.position_embeddings.weight", [config.max_position_embeddings, H]);
  m.set("embeddings.token_type_embeddings.weight", [config.type_vocab_size, H]);
  m.set("embeddings.LayerNorm.weight", [H]);
  m.set("embeddings.LayerNorm.bias", [H]);
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    for (const n of ["query", "key", "value"]) {
      m.set(`${p}attention.self.${n}.weight`, [H, H]);
      m.set(`${p}attention.self.${n}.bias`, [H]);
    }
    m.set(`${p}attention.output.dense.weight`, [H, H]);
    m.set(`${p}attention.output.dense.bias`, [H]);
    m.set(`${p}attention.output.LayerNorm.weight`, [H]);
    m.set(`${p}attention.output.LayerNorm.bias`, [H]);
    m.set(`${p}intermediate.dense.weight`, [I, H]);
    m.set(`${p}intermediate.dense.bias`, [I]);
    m.set(`${p}output.dense.weight`, [H, I]);
    m.set(`${p}output.dense.bias`, [H]);
    m.set(`${p}output.LayerNorm.weight`, [H]);
    m.set(`${p}output.LayerNorm.bias`, [H]);
    if (adapterSize > 0) {
      for (const site of ADAPTER_SITES) {
        for (const [n, s] of Object.entries(adapterShapes(H, adapterSize))) m.set(`${p}${site}.adapter.${n}`, s);
      }
    }
  }
  m.set("pooler.dense.weight", [H, H]);
  m.set("pooler.dense.bias", [H]);
  return m;
}

/** Where adapters sit (Houlsby et al., 2019): after the attention output projection and after the feed-forward. */
const ADAPTER_SITES = ["attention.output", "output"] as const;

function adapterShapes(H: number, m: number): Record<string, number[]> {
  return { "down.weight": [m, H], "down.bias": [m], "up.weight": [H, m], "up.bias": [H] };
}

export class BertModel {
  readonly config: BertConfig;
  /** Checkpoint tensors that were recognised as task heads or buffers and not loaded (names as in the file). */
  readonly ignoredTensors: string[] = [];
  private readonly id: number;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly hfNames = new Map<string, string>();
  private adapterSize = 0;
  private readonly dropoutRng: Rng;
  private disposed = false;

  private constructor(config: BertConfig, values: Map<string, tf.Tensor>, dropoutSeed: number) {
    this.config = config;
    this.id = nextModelId++;
    this.dropoutRng = new Rng(dropoutSeed);
    for (const [name, t] of values) this.addVariable(name, t);
  }

  private addVariable(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, true, `bert${this.id}/${name}`);
    value.dispose();
    this.vars.set(name, v);
    this.hfNames.set(v.name, name);
    return v;
  }

  /** A randomly initialised BERT as Hugging Face initialises one: N(0, initializer_range) weights, LayerNorm 1/0, biases 0. */
  static random(config: BertConfig, seed: number): BertModel {
    const cfg = validateConfig(config, "BertModel.random(config)");
    const std = initializerRange(cfg);
    const rng = new Rng(seed);
    const values = new Map<string, tf.Tensor>();
    for (const [name, shape] of bertParameterShapes(cfg)) {
      values.set(name, initialValue(name, shape, std, rng, cfg.pad_token_id));
    }
    return new BertModel(cfg, values, rng.nextU32());
  }

  /**
   * A BERT with the given weights (Hugging Face names and layouts; a "bert." prefix, task heads and old-style
   * LayerNorm gamma/beta names are accepted). `source` names the file for errors. A missing pooler is initialised
   * randomly (BertForMaskedLM checkpoints have none); any other missing tensor is an error.
   */
  static fromTensors(config: BertConfig, tensors: NamedTensors, source: string): BertModel {
    const cfg = validateConfig(config, `${source} (config)`);
    const renamed = new Map<string, { shape: number[]; data: Float32Array; original: string }>();
    const ignored: string[] = [];
    for (const [original, t] of tensors) {
      let name = original;
      if (name.startsWith("bert.")) name = name.slice(5);
      if (HEAD_PREFIXES.some((p) => original.startsWith(p)) || BUFFERS.includes(name)) {
        ignored.push(original);
        continue;
      }
      name = name.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
      if (renamed.has(name)) {
        throw new FtgeoError(`${source}: tensor "${original}" duplicates "${renamed.get(name)!.original}" (both map to "${name}")`);
      }
      renamed.set(name, { ...t, original });
    }
    const adapterSize = detectAdapterSize(renamed, source);
    const expected = bertParameterShapes(cfg, adapterSize);
    for (const [name, t] of renamed) {
      if (!expected.has(name)) {
        throw new FtgeoError(`${source}: unexpected tensor "${t.original}" (not a parameter of a BERT with ${cfg.num_hidden_layers} layers; expected names like "encoder.layer.0.attention.self.query.weight")`);
      }
    }
    const rng = new Rng(0x5eed);
    const values = new Map<string, tf.Tensor>();
    try {
      for (const [name, shape] of expected) {
        const t = renamed.get(name);
        if (!t) {
          if (name.startsWith("pooler.")) {
            values.set(name, initialValue(name, shape, 0.02, rng, undefined));
            continue;
          }
          throw new FtgeoError(`${source}: tensor "${name}" is missing (expected shape [${shape.join(", ")}] for hidden_size ${cfg.hidden_size}, ${cfg.num_hidden_layers} layers)`);
        }
        const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
        if (!same) {
          throw new FtgeoError(`${source}: tensor "${t.original}" has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] from the config`);
        }
        const size = shape.reduce((a, b) => a * b, 1);
        if (t.data.length !== size) {
          throw new FtgeoError(`${source}: tensor "${t.original}" holds ${t.data.length} values, its shape [${t.shape.join(", ")}] needs ${size}`);
        }
        values.set(name, tf.tensor(t.data, shape, "float32"));
      }
    } catch (e) {
      for (const v of values.values()) v.dispose();
      throw e;
    }
    const model = new BertModel(cfg, values, 0);
    model.adapterSize = adapterSize;
    model.ignoredTensors.push(...ignored);
    return model;
  }

  /** All parameters with Hugging Face names and layouts (adapters included when present). */
  async toTensors(): Promise<NamedTensors> {
    this.assertAlive();
    const out: NamedTensors = new Map();
    for (const [name, v] of this.vars) {
      out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    }
    return out;
  }

  /** The parameters that will receive gradients (trainable flag set), in a stable order. */
  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].filter((v) => v.trainable);
  }

  /** Every parameter, in a stable order (embeddings, layers in order, pooler, adapters last). */
  allVariables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Hugging Face names of every parameter. */
  parameterNames(): string[] {
    return [...this.vars.keys()];
  }

  /** The variable of one parameter by its Hugging Face name. */
  variable(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new FtgeoError(`BertModel: no parameter named "${name}" (names look like "encoder.layer.0.output.dense.weight")`);
    return v;
  }

  /** The Hugging Face name of one of this model's variables (e.g. a key of tf.variableGrads' result). */
  hfName(variableOrName: tf.Variable | string): string {
    const n = typeof variableOrName === "string" ? variableOrName : variableOrName.name;
    const hf = this.hfNames.get(n);
    if (hf === undefined) throw new FtgeoError(`BertModel: variable "${n}" does not belong to this model`);
    return hf;
  }

  /** Set each parameter's trainable flag from its Hugging Face name. */
  setTrainable(pred: (hfName: string) => boolean): void {
    for (const [name, v] of this.vars) v.trainable = pred(name);
  }

  /**
   * Freeze the embeddings and the first k layers (k = 0: embeddings only; -1: unfreeze all).
   * Combine with forward({ frozenLayers: k }) so their activations are not kept for the backward pass.
   */
  freezeLayers(k: number): void {
    this.setTrainable((name) => layerIndexOf(name) > k - 1 || k < 0);
  }

  /** Bottleneck size of the adapters, 0 when the model has none. */
  get adapters(): number {
    return this.adapterSize;
  }

  /**
   * Add Houlsby-style adapters (down-projection to `size`, activation, up-projection, residual) after the attention
   * output projection and after the feed-forward of every layer, named encoder.layer.N.attention.output.adapter.*
   * and encoder.layer.N.output.adapter.*. The up-projection starts at zero so the model's function is unchanged
   * until the adapters are trained. Does not change other parameters' trainable flags.
   */
  addAdapters(size: number, seed: number): void {
    this.assertAlive();
    if (!Number.isInteger(size) || size < 1) throw new FtgeoError(`addAdapters: size must be a positive integer, got ${size}`);
    if (this.adapterSize > 0) throw new FtgeoError(`addAdapters: the model already has adapters of size ${this.adapterSize}`);
    const H = this.config.hidden_size;
    const rng = new Rng(seed);
    for (let l = 0; l < this.config.num_hidden_layers; l++) {
      for (const site of ADAPTER_SITES) {
        for (const [n, shape] of Object.entries(adapterShapes(H, size))) {
          const name = `encoder.layer.${l}.${site}.adapter.${n}`;
          const value = n === "down.weight" ? normalTensor(shape, 0.02, rng) : tf.zeros(shape);
          this.addVariable(name, value);
        }
      }
    }
    this.adapterSize = size;
  }

  /**
   * Hidden states of every layer: [embedding output, layer 1 .. layer L], each [batch, seq, hidden].
   * inputIds: int32 [batch, seq]; attentionMask: [batch, seq] with 1 for tokens and 0 for padding.
   */
  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D[] {
    this.assertAlive();
    const cfg = this.config;
    if (inputIds.rank !== 2) throw new FtgeoError(`BertModel.forward: inputIds must be [batch, seq], got shape [${inputIds.shape}]`);
    const [B, S] = inputIds.shape;
    if (attentionMask.shape[0] !== B || attentionMask.shape[1] !== S) {
      throw new FtgeoError(`BertModel.forward: attentionMask shape [${attentionMask.shape}] differs from inputIds shape [${inputIds.shape}]`);
    }
    if (S > cfg.max_position_embeddings) {
      throw new FtgeoError(`BertModel.forward: sequence length ${S} exceeds max_position_embeddings ${cfg.max_position_embeddings}`);
    }
    if (opts.tokenTypeIds && (opts.tokenTypeIds.shape[0] !== B || opts.tokenTypeIds.shape[1] !== S)) {
      throw new FtgeoError(`BertModel.forward: tokenTypeIds shape [${opts.tokenTypeIds.shape}] differs from inputIds shape [${inputIds.shape}]`);
    }
    const training = opts.training === true;
    const seeds = training ? new Rng(opts.dropoutSeed ?? this.dropoutRng.nextU32()) : null;
    // One seed per dropout site, drawn in a fixed order so a seed reproduces every mask.
    const siteSeeds = (n: number): number[] => (seeds ? Array.from({ length: n }, () => seeds.nextU32()) : []);
    const embSeed = siteSeeds(1);
    const layerSeeds = Array.from({ length: cfg.num_hidden_layers }, () => siteSeeds(3));
    const frozen = opts.frozenLayers ?? -1;
    if (!Number.isInteger(frozen) || frozen < -1 || frozen > cfg.num_hidden_layers) {
      throw new FtgeoError(`BertModel.forward: frozenLayers must be an integer in [-1, ${cfg.num_hidden_layers}], got ${frozen}`);
    }

    const bias = attentionBias(attentionMask);
    const outputs: tf.Tensor3D[] = [];
    let x: tf.Tensor2D | null = null;
    // Layer 0 is the embedding output. Each step runs in its own tidy so only the hidden states stay alive; the 2-D
    // handle of the previous state is released (its data lives on in the reshaped output).
    const step = (l: number, into: tf.Tensor3D[]): void => {
      const prev: tf.Tensor2D | null = x;
      x = tf.tidy(() =>
        l === 0 ? this.embed(inputIds, opts.tokenTypeIds, training ? embSeed[0] : undefined) : this.layer(l - 1, prev!, bias, B, S, training ? layerSeeds[l - 1] : undefined),
      );
      into.push(tf.reshape(x, [B, S, cfg.hidden_size]));
      if (prev) prev.dispose();
    };
    try {
      let first = 0;
      if (frozen >= 0) {
        // The frozen prefix runs inside a customGrad op: ops there are not recorded on the tape, so no activations
        // are saved for backward and no gradient reaches the frozen parameters.
        const stop = custom((ids: tf.Tensor) => {
          const states: tf.Tensor3D[] = [];
          for (let l = 0; l <= frozen; l++) step(l, states);
          return { value: tf.stack(states), gradFunc: () => [tf.zerosLike(ids)] };
        });
        const stacked = stop(inputIds) as tf.Tensor4D;
        outputs.push(...(tf.unstack(stacked) as tf.Tensor3D[]));
        stacked.dispose();
        x = tf.reshape(outputs[outputs.length - 1], [B * S, cfg.hidden_size]);
        first = frozen + 1;
      }
      for (let l = first; l <= cfg.num_hidden_layers; l++) step(l, outputs);
      return outputs;
    } catch (e) {
      for (const t of outputs) t.dispose();
      throw e;
    } finally {
      if (x) (x as tf.Tensor2D).dispose();
      bias.dispose();
    }
  }

  private embed(inputIds: tf.Tensor2D, tokenTypeIds: tf.Tensor2D | undefined, seed: number | undefined): tf.Tensor2D {
    const cfg = this.config;
    const [B, S] = inputIds.shape;
    const H = cfg.hidden_size;
    const ids = tf.reshape(inputIds.dtype === "int32" ? inputIds : tf.cast(inputIds, "int32"), [B * S]);
    const words = tf.gather(this.variable("embeddings.word_embeddings.weight"), ids);
    const pos = tf.slice(this.variable("embeddings.position_embeddings.weight"), [0, 0], [S, H]);
    const typeTable = this.variable("embeddings.token_type_embeddings.weight");
    const types = tokenTypeIds
      ? tf.reshape(tf.gather(typeTable, tf.reshape(tf.cast(tokenTypeIds, "int32"), [B * S])), [B, S, H])
      : tf.slice(typeTable, [0, 0], [1, H]);
    const sum = tf.reshape(tf.add(tf.add(tf.reshape(words, [B, S, H]), pos), types), [B * S, H]) as tf.Tensor2D;
    let x = layerNorm(sum, this.v1("embeddings.LayerNorm.weight"), this.v1("embeddings.LayerNorm.bias"), cfg.layer_norm_eps);
    if (seed !== undefined) x = dropout(x, cfg.hidden_dropout_prob, seed) as tf.Tensor2D;
    return x;
  }

  private layer(l: number, x: tf.Tensor2D, bias: tf.Tensor4D, B: number, S: number, seeds: number[] | undefined): tf.Tensor2D {
    const cfg = this.config;
    const p = `encoder.layer.${l}.`;
    const eps = cfg.layer_norm_eps;
    const qkv = linearConcat(
      `bert${this.id}/${p}qkv`,
      x,
      ["query", "key", "value"].map((n) => this.v2(`${p}attention.self.${n}.weight`)),
      ["query", "key", "value"].map((n) => this.v1(`${p}attention.self.${n}.bias`)),
    );
    const ctx = attention(qkv, bias, B, S, cfg.num_attention_heads, cfg.attention_probs_dropout_prob, seeds?.[0]);
    let a = linear(ctx, this.v2(`${p}attention.output.dense.weight`), this.v1(`${p}attention.output.dense.bias`));
    if (seeds) a = dropout(a, cfg.hidden_dropout_prob, seeds[1]) as tf.Tensor2D;
    if (this.adapterSize > 0) a = this.adapter(`${p}attention.output.adapter.`, a);
    const x1 = layerNorm(tf.add(a, x), this.v1(`${p}attention.output.LayerNorm.weight`), this.v1(`${p}attention.output.LayerNorm.bias`), eps);
    const h = activation(cfg.hidden_act, linear(x1, this.v2(`${p}intermediate.dense.weight`), this.v1(`${p}intermediate.dense.bias`))) as tf.Tensor2D;
    let o = linear(h, this.v2(`${p}output.dense.weight`), this.v1(`${p}output.dense.bias`));
    if (seeds) o = dropout(o, cfg.hidden_dropout_prob, seeds[2]) as tf.Tensor2D;
    if (this.adapterSize > 0) o = this.adapter(`${p}output.adapter.`, o);
    return layerNorm(tf.add(o, x1), this.v1(`${p}output.LayerNorm.weight`), this.v1(`${p}output.LayerNorm.bias`), eps);
  }

  private adapter(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    const down = linear(x, this.v2(prefix + "down.weight"), this.v1(prefix + "down.bias"));
    const up = linear(activation(this.config.hidden_act, down) as tf.Tensor2D, this.v2(prefix + "up.weight"), this.v1(prefix + "up.bias"));
    return tf.add(x, up);
  }

  /** The pooler output tanh(W h_[CLS] + b), as BertModel's pooler_output (used by next-sentence heads). */
  pool(lastHidden: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, , H] = lastHidden.shape;
      const cls = tf.reshape(tf.slice(lastHidden, [0, 0, 0], [B, 1, H]), [B, H]) as tf.Tensor2D;
      return tf.tanh(linear(cls, this.v2("pooler.dense.weight"), this.v1("pooler.dense.bias")));
    });
  }

  private v1(name: string): tf.Tensor1D {
    return this.variable(name) as unknown as tf.Tensor1D;
  }

  private v2(name: string): tf.Tensor2D {
    return this.variable(name) as unknown as tf.Tensor2D;
  }

  private assertAlive(): void {
    if (this.disposed) throw new FtgeoError("BertModel: used after dispose()");
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    releaseCached(`bert${this.id}/`);
    for (const v of this.vars.values()) {
      releaseTranspose(v);
      v.dispose();
    }
    this.vars.clear();
  }
}

/** Layer of a parameter for freezing: embeddings -1, encoder.layer.N -> N, pooler and others +Infinity. */
function layerIndexOf(name: string): number {
  if (name.startsWith("embeddings.")) return -1;
  const m = /^encoder\.layer\.(\d+)\./.exec(name);
  if (m) return Number(m[1]);
  return Number.POSITIVE_INFINITY;
}

function detectAdapterSize(tensors: Map<string, { shape: number[]; original: string }>, source: string): number {
  let size = 0;
  for (const [name, t] of tensors) {
    if (/\.adapter\.down\.weight$/.test(name)) {
      if (size !== 0 && t.shape[0] !== size) {
        throw new FtgeoError(`${source}: adapter tensor "${t.original}" has bottleneck ${t.shape[0]}, others have ${size}`);
      }
      size = t.shape[0];
    }
  }
  return size;
}

function normalTensor(shape: number[], std: number, rng: Rng): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tf.tensor(data, shape, "float32");
}

function initialValue(name: string, shape: number[], std: number, rng: Rng, padId: number | undefined): tf.Tensor {
  if (name.endsWith("LayerNorm.weight")) return tf.ones(shape);
  if (name.endsWith(".bias")) return tf.zeros(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  // Hugging Face zeroes the padding token's word embedding (nn.Embedding padding_idx).
  if (name === "embeddings.word_embeddings.weight" && padId !== undefined && padId >= 0 && padId < shape[0]) {
    data.fill(0, padId * shape[1], (padId + 1) * shape[1]);
  }
  return tf.tensor(data, shape, "float32");
}
