/**
 * The optional native OpenBLAS matMul (lib/model/native-blas.ts) gives the products of the pure wasm kernels:
 * plain, transposed, batched and broadcast operands, with and without a fused bias. Builds the addon when gcc and
 * libopenblas-dev are present; skipped (saying why) when it cannot be built here.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { buildNativeBlas, nativeBlasPath, nativeMatMulActive, nativeGeluActive } from "../lib/model/native-blas";
import { gelu } from "../lib/model/layers";
import { erf } from "./model-reference";
import { initBackend } from "../lib/model/backend";
import { Rng } from "../lib/util/rng";

function tryBuild(): string | null {
  if (process.env.FTGEO_NATIVE_BLAS === "0") return "FTGEO_NATIVE_BLAS=0";
  if (fs.existsSync(nativeBlasPath())) return null;
  try {
    buildNativeBlas();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const why = tryBuild();

/** Plain Float64 product of row-major [batch][r][c] arrays, with op() and optional bias. */
function refProduct(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean, bias?: Float32Array): Float64Array {
  const [ba, ra, ca] = aShape;
  const [bb, rb, cb] = bShape;
  const m = ta ? ca : ra;
  const k = ta ? ra : ca;
  const n = tb ? rb : cb;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const ao = (ba === 1 ? 0 : i) * ra * ca;
    const bo = (bb === 1 ? 0 : i) * rb * cb;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let s = bias ? bias[c] : 0;
        for (let j = 0; j < k; j++) s += a[ao + (ta ? j * ca + r : r * ca + j)] * b[bo + (tb ? c * cb + j : j * cb + c)];
        out[(i * m + r) * n + c] = s;
      }
    }
  }
  return out;
}

test("native matMul equals a Float64 product for transposed, batched and broadcast operands", { skip: why ?? false }, async () => {
  await initBackend("wasm");
  assert.ok(nativeMatMulActive(), "the native matMul should be registered once the addon is built");
  const rng = new Rng(5);
  const rnd = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const cases: [number[], number[], boolean, boolean][] = [
    [[1, 7, 5], [1, 5, 3], false, false],
    [[1, 5, 7], [1, 5, 3], true, false],
    [[1, 7, 5], [1, 3, 5], false, true],
    [[4, 5, 7], [4, 3, 5], true, true],
    [[4, 7, 5], [1, 5, 3], false, false],
    [[1, 7, 5], [4, 5, 3], false, false],
    [[1, 1, 9], [1, 9, 4], false, false],
    [[1, 1, 9], [1, 4, 9], false, true],
    [[3, 1, 9], [3, 9, 4], false, false],
  ];
  for (const [as, bs, ta, tb] of cases) {
    const a = rnd(as.reduce((x, y) => x * y, 1));
    const b = rnd(bs.reduce((x, y) => x * y, 1));
    const want = refProduct(a, as, b, bs, ta, tb);
    const got = tf.tidy(() => tf.matMul(tf.tensor3d(a, as as [number, number, number]), tf.tensor3d(b, bs as [number, number, number]), ta, tb).dataSync());
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst < 1e-4, `${JSON.stringify([as, bs, ta, tb])}: max error ${worst}`);
    // 2-D with a fused bias
    if (as[0] === 1 && bs[0] === 1) {
      const n = tb ? bs[1] : bs[2];
      const bias = rnd(n);
      const want2 = refProduct(a, as, b, bs, ta, tb, bias);
      const got2 = tf.tidy(() =>
        tf.fused
          .matMul({ a: tf.tensor2d(a, [as[1], as[2]]), b: tf.tensor2d(b, [bs[1], bs[2]]), transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias) })
          .dataSync(),
      );
      let w2 = 0;
      for (let i = 0; i < want2.length; i++) w2 = Math.max(w2, Math.abs(got2[i] - want2[i]));
      assert.ok(w2 < 1e-4, `fused ${JSON.stringify([as, bs, ta, tb])}: max error ${w2}`);
    }
  }
  // A fused activation is not handled natively: the wasm kernel still computes it.
  const r = tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d([[1, -2]]), b: tf.tensor2d([[1], [1]]), activation: "relu" }).dataSync());
  assert.deepEqual(Array.from(r), [0]);
});

test("native exact GELU and its gradient equal Float64 x Phi(x) and Phi(x) + x phi(x)", { skip: why ?? false }, async () => {
  await initBackend("wasm");
  assert.ok(nativeGeluActive());
  const xs = Float32Array.from({ length: 2001 }, (_, i) => -10 + i * 0.01);
  const dy = Float32Array.from(xs, (_, i) => 1 + (i % 7) * 0.25);
  const x = tf.tensor1d(xs);
  const y = gelu(x).dataSync();
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), tf.tensor1d(dy))))(x).dataSync();
  let wy = 0;
  let wg = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    const cdf = 0.5 * (1 + erf(v / Math.SQRT2));
    const pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    wy = Math.max(wy, Math.abs(y[i] - v * cdf));
    wg = Math.max(wg, Math.abs(g[i] - dy[i] * (cdf + v * pdf)));
  }
  assert.ok(wy < 2e-6, `GELU max error ${wy}`);
  assert.ok(wg < 5e-6, `GELU gradient max error ${wg}`);
  assert.ok(Number.isNaN(gelu(tf.tensor1d([NaN])).dataSync()[0]), "NaN stays NaN");
});
