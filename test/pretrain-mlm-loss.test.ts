import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/model/backend";
import { nativeMlmXentActive } from "../lib/model/native-blas";
import { softmaxCrossEntropy } from "../lib/pretrain/mlm";
import { Rng } from "../lib/util/rng";

/** Mean cross-entropy and its gradient in float64, straight from the definition. */
function reference(x: Float32Array, labels: Int32Array, V: number): { loss: number; grad: Float64Array } {
  const n = labels.length;
  const grad = new Float64Array(n * V);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let k = 0; k < V; k++) mx = Math.max(mx, x[i * V + k]);
    let s = 0;
    for (let k = 0; k < V; k++) s += Math.exp(x[i * V + k] - mx);
    loss += mx + Math.log(s) - x[i * V + labels[i]];
    for (let k = 0; k < V; k++) grad[i * V + k] = (Math.exp(x[i * V + k] - mx) / s - (k === labels[i] ? 1 : 0)) / n;
  }
  return { loss: loss / n, grad };
}

test("masked-LM loss and gradient match the float64 definition (native kernel when built, else tfjs ops)", async () => {
  await initBackend();
  const rng = new Rng(11);
  const n = 9;
  const V = 3001;
  // Rows of ordinary logits, one very peaked row and one with large offsets (stability of the max shift).
  const x = Float32Array.from({ length: n * V }, (_, j) => rng.normal() * 3 + (Math.floor(j / V) === 7 ? 60 : 0));
  x[3 * V + 5] = 40;
  const labels = Int32Array.from({ length: n }, (_, i) => (i === 3 ? 5 : rng.int(V)));
  const ref = reference(x, labels, V);
  const xt = tf.tensor2d(x, [n, V]);
  const lt = tf.tensor1d(labels, "int32");
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => softmaxCrossEntropy(t as tf.Tensor2D, lt as tf.Tensor1D))(xt);
  const loss = value.dataSync()[0];
  const g = grad.dataSync();
  assert.ok(Math.abs(loss - ref.loss) < 2e-5 * ref.loss, `${nativeMlmXentActive() ? "native" : "tfjs"} loss ${loss} vs ${ref.loss}`);
  let worst = 0;
  for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - ref.grad[j]));
  assert.ok(worst < 1e-7, `largest gradient error ${worst}`);
  // Scaling the loss scales the gradient (the backward pass uses dy).
  const scaled = tf.grad((t: tf.Tensor) => tf.mul(softmaxCrossEntropy(t as tf.Tensor2D, lt as tf.Tensor1D), 2.5))(xt).dataSync();
  assert.ok(Math.abs(scaled[5] - 2.5 * ref.grad[5]) < 1e-7);
  assert.ok(Math.abs(scaled[3 * V + 5] - 2.5 * ref.grad[3 * V + 5]) < 1e-7);
  tf.dispose([xt, lt, value, grad]);
});
