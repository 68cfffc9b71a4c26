/**
 * tfjs variables as TrainableParameters: float32 master copies in JS that the optimizer updates in place, pushed
 * into the backend after each update, and gradients read back into JS arrays (accumulated over micro-batches).
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainableParameters } from "./loop";
import type { NamedVariable } from "./heads";
import { decaysByName } from "./optimizer";
import * as path from "node:path";
import type { BertModel } from "../model/bert";
import { readSafetensors, FloatTensorMap } from "../model/safetensors";
import { FtgeoError } from "../util/errors";

export class VariableParameters implements TrainableParameters {
  readonly names: string[];
  readonly values: Float32Array[];
  readonly decay: boolean[];
  readonly variables: tf.Variable[];
  /** The wasm backend copies on upload; others (cpu) may keep the array, which the optimizer then mutates. */
  private readonly copyOnCommit = tf.getBackend() !== "wasm";
  /** One zero gradient per parameter, shared by every zeroGrads() and never written (see accumulateGrads). */
  private readonly zeros: Float32Array[];

  constructor(entries: NamedVariable[]) {
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.name)) throw new Error(`parameter name ${e.name} appears twice`);
      seen.add(e.name);
    }
    this.names = entries.map((e) => e.name);
    this.variables = entries.map((e) => e.variable);
    this.values = entries.map((e) => Float32Array.from(e.variable.dataSync() as Float32Array));
    this.decay = this.names.map(decaysByName);
    this.zeros = this.values.map((v) => new Float32Array(v.length));
  }

  /** Re-read the variables (after something else assigned them, e.g. loading a snapshot). */
  pull(): void {
    this.variables.forEach((v, k) => this.values[k].set(v.dataSync() as Float32Array));
  }

  commit(): void {
    this.variables.forEach((v, k) => {
      const t = tf.tensor(this.copyOnCommit ? this.values[k].slice() : this.values[k], v.shape, "float32");
      v.assign(t);
      t.dispose();
    });
  }

  /**
   * Zero gradients to accumulate into, one per parameter. The arrays are shared and must be treated as read-only:
   * accumulateGrads replaces an entry that is still zero by the gradient it reads back, rather than adding into it,
   * which saves allocating, zeroing and summing 4M-element buffers per update (the word embeddings).
   */
  zeroGrads(): Float32Array[] {
    return this.zeros.slice();
  }

  /**
   * Add `scale` x the gradients of `f` (whose value is returned) into `acc` (from zeroGrads). Only this set's
   * variables get gradients; everything else (frozen layers) is treated as constant.
   */
  accumulateGrads(f: () => tf.Scalar, acc: Float32Array[], scale: number): number {
    const { value, grads } = tf.variableGrads(f, this.variables);
    try {
      this.variables.forEach((v, k) => {
        const g = grads[v.name];
        if (!g) return; // not on the loss's path: zero gradient
        // The wasm backend reads back a fresh copy; other backends may hand out the tensor's own array.
        const data = this.copyOnCommit ? Float32Array.from(g.dataSync() as Float32Array) : (g.dataSync() as Float32Array);
        const a = acc[k];
        if (a === this.zeros[k]) {
          // 0 + scale * x rounds to the same float32 as scale * x: taking the array is exact.
          if (scale !== 1) for (let i = 0; i < data.length; i++) data[i] *= scale;
          acc[k] = data;
        } else if (scale === 1) for (let i = 0; i < a.length; i++) a[i] += data[i];
        else for (let i = 0; i < a.length; i++) a[i] += scale * data[i];
      });
      return value.dataSync()[0];
    } finally {
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
    }
  }
}

/**
 * Assign every encoder parameter of `model` from a snapshot folder's model.safetensors (resuming a run) and return
 * all of the file's tensors, so the caller can load its head from the same read.
 */
export function loadEncoderSnapshot(model: BertModel, dir: string): FloatTensorMap {
  const file = path.join(dir, "model.safetensors");
  const tensors = readSafetensors(file).tensors;
  for (const name of model.parameterNames()) {
    const t = tensors.get(name);
    if (!t) throw new FtgeoError(`${file}: tensor ${name} is missing (the snapshot does not belong to this run's model)`);
    const v = model.variable(name);
    const value = tf.tensor(t.data, v.shape, "float32");
    v.assign(value);
    value.dispose();
  }
  return tensors;
}
