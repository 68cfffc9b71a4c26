/**
 * The classifier probe's numerical kernels (lib/probe/kernels.ts) against independent Float64 references, for
 * every implementation available here (native needs the addon: built when gcc and libopenblas-dev are present,
 * otherwise skipped saying why), and the MLP's backward pass against finite differences of the loss.
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { buildNativeBlas, nativeBlasPath } from "../lib/model/native-blas";
import { jsKernels, nativeKernels, wasmKernels, type ProbeKernels } from "../lib/probe/kernels";
import { crossEntropyGradient, MlpProbe, type Dataset } from "../lib/probe/mlp";
import { Rng } from "../lib/util/rng";

function whyNoNative(): string | null {
  if (process.env.FTGEO_NATIVE_BLAS === "0") return "FTGEO_NATIVE_BLAS=0";
  if (!fs.existsSync(nativeBlasPath())) {
    try {
      buildNativeBlas();
    } catch (e) {
      return (e as Error).message;
    }
  }
  return nativeKernels() ? null : "the addon has no probe kernels (rebuild it: npm run build:native)";
}
const noNative = whyNoNative();

async function allKernels(): Promise<ProbeKernels[]> {
  const out = [jsKernels()];
  const wasm = await wasmKernels();
  if (wasm) out.push(wasm);
  const native = nativeKernels();
  if (native) out.push(native);
  return out;
}

function randn(rng: Rng, n: number, zeroFraction = 0): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() < zeroFraction ? 0 : rng.normal()));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

test("probe kernels: the native kernels are found when the addon is built", { skip: noNative ?? false }, () => {
  assert.equal(nativeKernels()?.name, "native");
});

test("probe kernels: products equal a Float64 product for every transpose, with and without accumulation", async () => {
  const rng = new Rng(11);
  const kernels = await allKernels();
  for (const [m, n, k] of [[1, 1, 1], [5, 7, 3], [13, 40, 200], [37, 9, 64]]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        // ReLU-like zeros in A exercise the JavaScript kernel's skip of zero rows.
        const a = randn(rng, m * k, 0.4);
        const b = randn(rng, k * n);
        const c0 = randn(rng, m * n);
        const ref = new Float64Array(m * n);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p] * b[tb ? j * k + p : p * n + j];
            ref[i * n + j] = s;
          }
        }
        for (const kr of kernels) {
          const what = `${kr.name} ${m}x${n}x${k} transA ${ta} transB ${tb}`;
          // Longer output than needed: only the leading m*n values may change.
          const c = new Float32Array(m * n + 3).fill(7);
          kr.gemm(ta, tb, m, n, k, a, b, c);
          assert.ok(maxAbsDiff(c.subarray(0, m * n), ref) < 1e-4 * Math.sqrt(k), what);
          assert.deepEqual(Array.from(c.subarray(m * n)), [7, 7, 7], `${what}: wrote past C`);
          const acc = c0.slice();
          kr.gemm(ta, tb, m, n, k, a, b, acc, true);
          assert.ok(maxAbsDiff(acc, ref.map((v, i) => v + c0[i])) < 1e-4 * Math.sqrt(k), `${what} accumulate`);
        }
      }
    }
  }
});

test("probe kernels: gather, bias + ReLU, ReLU backward, softmax cross-entropy and Adam equal Float64 references", async () => {
  const rng = new Rng(12);
  const rows = 9;
  const cols = 6;
  const K = 5;
  const x = randn(rng, 20 * cols);
  const order = Int32Array.from(rng.permutation(20));
  const y = Int32Array.from({ length: 20 }, () => rng.int(K));
  const bias = randn(rng, cols);
  const pre = randn(rng, rows * cols);
  const delta = randn(rng, rows * cols);
  const logits = Float32Array.from(randn(rng, rows * K), (v) => 3 * v);
  logits[K + 2] = 40; // a confident row: its probability clips at 1 - eps
  const w = randn(rng, 30);
  const g = randn(rng, 30);
  const m = randn(rng, 30).map((v) => 0.1 * v);
  const v = randn(rng, 30).map((t) => 0.01 * t * t);
  for (const kr of await allKernels()) {
    const out = new Float32Array(rows * cols);
    kr.gather(x, cols, order, 4, rows, out);
    for (let i = 0; i < rows; i++) assert.deepEqual(out.subarray(i * cols, (i + 1) * cols), x.subarray(order[4 + i] * cols, (order[4 + i] + 1) * cols), kr.name);

    for (const relu of [true, false]) {
      const a = pre.slice();
      kr.biasAct(a, rows, bias, relu);
      const ref = Array.from(pre, (p, i) => (relu ? Math.max(0, p + bias[i % cols]) : p + bias[i % cols]));
      assert.ok(maxAbsDiff(a, ref) < 1e-6, `${kr.name} biasAct relu ${relu}`);
    }

    const act = pre.map((p) => Math.max(0, p));
    const dl = delta.slice();
    const colSum = new Float32Array(cols).fill(9);
    kr.reluBackward(dl, act, rows, colSum);
    const refDl = Array.from(delta, (d, i) => (act[i] > 0 ? d : 0));
    assert.ok(maxAbsDiff(dl, refDl) === 0, `${kr.name} reluBackward`);
    assert.ok(maxAbsDiff(colSum, Array.from({ length: cols }, (_, j) => refDl.filter((_, i) => i % cols === j).reduce((s, t) => s + t, 0))) < 1e-5, `${kr.name} reluBackward sums`);

    const z = logits.slice();
    const gb = new Float32Array(K).fill(9);
    const loss = kr.softmaxXent(z, rows, y, order, 2, gb);
    let refLoss = 0;
    const refZ = new Float64Array(rows * K);
    for (let i = 0; i < rows; i++) {
      const row = Array.from(logits.subarray(i * K, (i + 1) * K));
      const mx = Math.max(...row);
      const e = row.map((t) => Math.exp(t - mx));
      const s = e.reduce((a, b) => a + b, 0);
      const yi = y[order[2 + i]];
      refLoss -= Math.log(Math.min(1 - 1.1920929e-7, Math.max(1.1920929e-7, e[yi] / s)));
      for (let k = 0; k < K; k++) refZ[i * K + k] = e[k] / s - (k === yi ? 1 : 0);
    }
    assert.ok(Math.abs(loss - refLoss) < 1e-5 * Math.max(1, refLoss), `${kr.name} softmaxXent loss ${loss} vs ${refLoss}`);
    assert.ok(maxAbsDiff(z, refZ) < 1e-6, `${kr.name} softmaxXent delta`);
    assert.ok(maxAbsDiff(gb, Array.from({ length: K }, (_, k) => refZ.filter((_, i) => i % K === k).reduce((s, t) => s + t, 0))) < 1e-5, `${kr.name} softmaxXent sums`);

    const [ww, mm, vv] = [w.slice(), m.slice(), v.slice()];
    const alpha = 0.3;
    const inv = 1 / 7;
    const lrT = 0.01;
    const sq = kr.adam(ww, g, mm, vv, alpha, inv, lrT);
    assert.ok(Math.abs(sq - w.reduce((s, t) => s + t * t, 0)) < 1e-5 * sq, `${kr.name} adam sum of squares`);
    for (let i = 0; i < w.length; i++) {
      const gi = (g[i] + alpha * w[i]) * inv;
      const mi = 0.9 * m[i] + 0.1 * gi;
      const vi = 0.999 * v[i] + 0.001 * gi * gi;
      assert.ok(Math.abs(mm[i] - mi) < 1e-6 && Math.abs(vv[i] - vi) < 1e-6, `${kr.name} adam moments ${i}`);
      assert.ok(Math.abs(ww[i] - (w[i] - (lrT * mi) / (Math.sqrt(vi) + 1e-8))) < 1e-6, `${kr.name} adam weight ${i}`);
    }
  }
});

/** Mean cross-entropy of the 2-hidden-layer ReLU MLP in Float64 (an independent forward pass). */
function refLoss(wts: Float64Array[], ds: Dataset, K: number): number {
  const [W1, b1, W2, b2, W3, b3] = wts;
  const h1 = b1.length;
  const h2 = b2.length;
  let loss = 0;
  for (let r = 0; r < ds.n; r++) {
    const a1 = Array.from({ length: h1 }, (_, j) => {
      let s = b1[j];
      for (let p = 0; p < ds.dim; p++) s += ds.x[r * ds.dim + p] * W1[p * h1 + j];
      return Math.max(0, s);
    });
    const a2 = Array.from({ length: h2 }, (_, j) => {
      let s = b2[j];
      for (let p = 0; p < h1; p++) s += a1[p] * W2[p * h2 + j];
      return Math.max(0, s);
    });
    const z = Array.from({ length: K }, (_, j) => {
      let s = b3[j];
      for (let p = 0; p < h2; p++) s += a2[p] * W3[p * K + j];
      return s;
    });
    const mx = Math.max(...z);
    const lse = mx + Math.log(z.reduce((s, t) => s + Math.exp(t - mx), 0));
    loss += lse - z[ds.y[r]];
  }
  return loss / ds.n;
}

test("mlp: the backward pass equals central finite differences of the mean cross-entropy", async () => {
  const rng = new Rng(13);
  const [d, h1, h2, K, n] = [5, 7, 6, 4, 23];
  const ds: Dataset = { x: randn(rng, n * d), y: Int32Array.from({ length: n }, () => rng.int(K)), n, dim: d };
  const shapes = [d * h1, h1, h1 * h2, h2, h2 * K, K];
  const wts = shapes.map((s) => randn(rng, s).map((t) => 0.7 * t));
  const w64 = wts.map((w) => Float64Array.from(w));
  const h = 1e-5;
  for (const kr of await allKernels()) {
    const { loss, grads } = await crossEntropyGradient(wts, ds, K, kr);
    assert.ok(Math.abs(loss - refLoss(w64, ds, K)) < 1e-5, `${kr.name} loss ${loss}`);
    for (let t = 0; t < 6; t++) {
      for (let i = 0; i < shapes[t]; i++) {
        const saved = w64[t][i];
        w64[t][i] = saved + h;
        const up = refLoss(w64, ds, K);
        w64[t][i] = saved - h;
        const down = refLoss(w64, ds, K);
        w64[t][i] = saved;
        const fd = (up - down) / (2 * h);
        assert.ok(Math.abs(grads[t][i] - fd) < 1e-4 + 1e-3 * Math.abs(fd), `${kr.name} parameter ${t}[${i}]: backprop ${grads[t][i]} vs finite difference ${fd}`);
      }
    }
  }
});

test("mlp: native and JavaScript kernels train the same network (same seed)", { skip: noNative ?? false }, async () => {
  const rng = new Rng(14);
  const [d, K, n] = [16, 5, 450];
  const centers = Array.from({ length: K }, () => randn(rng, d));
  const y = Int32Array.from({ length: n }, () => rng.int(K));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = centers[y[i]][j] + rng.normal();
  const ds: Dataset = { x, y, n, dim: d };
  const cfg = { hidden: [32, 16] as [number, number], alpha: 1e-3, seed: 3, maxIter: 8 };
  const js = await MlpProbe.train(ds, K, cfg, { kernels: jsKernels() });
  const native = await MlpProbe.train(ds, K, cfg, { kernels: nativeKernels()! });
  assert.equal(native.kernelName, "native");
  // Float32 rounding differs (summation order, fast exp), nothing else: the loss curves agree to ~1e-5.
  assert.ok(maxAbsDiff(js.info.lossCurve, native.info.lossCurve) < 1e-4, `loss curves ${js.info.lossCurve} vs ${native.info.lossCurve}`);
  const wj = js.weights();
  const wn = native.weights();
  for (let t = 0; t < wj.length; t++) assert.ok(maxAbsDiff(wj[t], wn[t]) < 1e-3, `weights ${t}: ${maxAbsDiff(wj[t], wn[t])}`);
  const pn = native.predict(x);
  const agree = js.predict(x).filter((p, i) => p === pn[i]).length;
  assert.ok(agree >= n - 2, `predictions agree on ${agree}/${n}`);
});
