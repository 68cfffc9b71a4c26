/**
 * `ftgeo bench train`: training throughput (tokens/s; forward + backward + optimizer step, batch 32 x 64, every
 * token a classified example) for BERT shapes, with where the time goes, and the ratio to PyTorch measured in
 * the same run (bench/train_torch.py under Debian's /usr/bin/python3 with torch, 2 threads) when available.
 */
import * as os from "node:os";
import { runPythonJson, PythonJson } from "../../util/python";
import * as tf from "@tensorflow/tfjs";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { argError } from "../../util/errors";
import { Rng } from "../../util/rng";
import { initBackend, backendName } from "../../model/backend";
import { BertModel } from "../../model/bert";
import { bertShape, BertShapeName, BERT_SHAPE_NAMES } from "../../model/config";
import { wordPooling } from "../../tokenize/align";
import { ClassifierHead } from "../../train/heads";
import { VariableParameters } from "../../train/params";
import { Adam } from "../../train/optimizer";
import type { TaskBatch } from "../../train/batches";

export const summary = "training throughput (forward + backward + Adam) for BERT shapes, vs PyTorch";

export const options: OptionTable = [
  { name: "shapes", type: "string", value: "LIST", help: `comma-separated BERT shapes (${BERT_SHAPE_NAMES.join(", ")})`, default: "tiny,mini" },
  { name: "batch", type: "string", value: "N", help: "sentences per update", default: "32" },
  { name: "seq", type: "string", value: "N", help: "tokens per sentence (at least 3), every one a classified example", default: "64" },
  { name: "steps", type: "string", value: "N", help: "timed updates per shape at least (at most 10x this)", default: "5" },
  { name: "seconds", type: "string", value: "S", help: "timed seconds per shape at least (while under 10x --steps)", default: "20" },
  {
    name: "micro-batch",
    type: "string",
    value: "N",
    help: "sentences per forward/backward (gradient accumulation, less memory); ours only, PyTorch takes the whole batch",
    default: "the batch",
  },
  { name: "warmup", type: "string", value: "N", help: "untimed updates before the timed ones (ours)", default: "2" },
  { name: "python", type: "string", value: "PATH", help: "Python with torch for the reference", default: "/usr/bin/python3" },
  { name: "no-torch", type: "boolean", help: "skip the PyTorch reference" },
];

export const usage = `usage: ftgeo bench train [--shapes tiny,mini] [--batch 32] [--seq 64] [--steps 5] [--seconds 20]
                         [--micro-batch N] [--warmup 2] [--python /usr/bin/python3] [--no-torch]

Prints per shape: tokens/s and the time per step split into forward+backward with gradient read-back (tfjs),
Adam update (JS, Float32Arrays) and weight upload, CPU time, peak RSS and wasm heap (e.g. BERT-base memory:
--shapes base --seq 128 --micro-batch 8 --steps 1 --warmup 0 --no-torch); then PyTorch's tokens/s (same shapes,
2 threads) and the ratio. Ends with one JSON line.

${optionHelp(options)}`;

interface ShapeResult {
  tokensPerSecond: number;
  steps: number;
  msPerStep: { total: number; forwardBackwardReadback: number; adam: number; upload: number };
  /** CPU time of this process per step: close to the wall time when the machine is idle, robust when it is not. */
  cpuMsPerStep: number;
  parameters: number;
  /** Peak resident memory of this process so far (all shapes benchmarked before included). */
  peakRssMiB: number;
  wasmHeapMiB: number | null;
}

export interface BenchOptions {
  batch: number;
  seq: number;
  /** Rows per forward/backward pass (gradient accumulation); default the batch. */
  microBatch?: number;
  steps: number;
  seconds: number;
  /** Untimed steps first (default 2). */
  warmup?: number;
}

export async function benchShape(shape: BertShapeName, o: BenchOptions): Promise<ShapeResult> {
  const { batch, seq, steps, seconds } = o;
  const micro = Math.min(batch, o.microBatch ?? batch);
  const config = bertShape(shape);
  const model = BertModel.random(config, 1);
  const labels = 17;
  const head = new ClassifierHead({ kind: "token", hidden: config.hidden_size, numLabels: labels, dropout: config.hidden_dropout_prob, seed: 2 });
  const params = new VariableParameters([
    ...model.trainableVariables().filter((v) => !model.hfName(v).startsWith("pooler.")).map((v) => ({ name: model.hfName(v), variable: v })),
    ...head.variables(),
  ]);
  const adam = new Adam(params.values.map((v) => v.length), { eps: 1e-6 }, params.decay);
  const rng = new Rng(3);
  // Micro-batches of `micro` rows, every token a classified example (as in token tasks).
  const parts: { b: TaskBatch; ids: tf.Tensor2D; mask: tf.Tensor2D }[] = [];
  for (let r = 0; r < batch; r += micro) {
    const rows = Math.min(micro, batch - r);
    const spans = Array.from({ length: rows * seq }, (_, i) => ({ row: Math.floor(i / seq), start: i % seq, end: (i % seq) + 1 }));
    const b: TaskBatch = {
      kind: "token",
      rows,
      seqLen: seq,
      inputIds: new Int32Array(rows * seq).map(() => 1000 + rng.int(29000)),
      attentionMask: new Int32Array(rows * seq).fill(1),
      first: wordPooling(spans, seq),
      labels: new Int32Array(rows * seq).map(() => rng.int(labels)),
      numExamples: rows * seq,
      tokens: rows * seq,
    };
    parts.push({ b, ids: tf.tensor2d(b.inputIds, [rows, seq], "int32"), mask: tf.tensor2d(b.attentionMask, [rows, seq], "int32") });
  }
  const t = { forwardBackward: 0, readGrads: 0, adam: 0, upload: 0 };
  const step = (k: number, record: boolean) => {
    const t0 = performance.now();
    const grads = params.zeroGrads();
    parts.forEach(({ b, ids, mask }, m) => {
      params.accumulateGrads(() => {
        const layers = model.forward(ids, mask, { training: true, dropoutSeed: k * 64 + m });
        return ClassifierHead.loss(head.logits(layers, b, true, k * 64 + m), b.labels);
      }, grads, b.rows / batch);
    });
    const t2 = performance.now();
    adam.update(params.values, grads, 3e-4);
    const t3 = performance.now();
    params.commit();
    const t4 = performance.now();
    if (record) {
      t.forwardBackward += t2 - t0;
      t.adam += t3 - t2;
      t.upload += t4 - t3;
    }
  };
  for (let k = 0; k < (o.warmup ?? 2); k++) step(k, false);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (n < steps || (performance.now() - start < seconds * 1000 && n < 10 * steps)) step(1000 + n++, true);
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  for (const p of parts) {
    p.ids.dispose();
    p.mask.dispose();
  }
  const parameters = params.values.reduce((s, v) => s + v.length, 0);
  model.dispose();
  head.dispose();
  const per = (x: number) => Math.round((x / n) * 10) / 10;
  return {
    tokensPerSecond: Math.round((batch * seq * n) / (total / 1000)),
    steps: n,
    msPerStep: { total: per(total), forwardBackwardReadback: per(t.forwardBackward), adam: per(t.adam), upload: per(t.upload) },
    parameters,
    cpuMsPerStep: per((cpu.user + cpu.system) / 1000),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    wasmHeapMiB: wasmHeapBytes() === undefined ? null : Math.round(wasmHeapBytes()! / 2 ** 20),
  };
}

/** Size of the wasm backend's heap (it only grows, so this is its peak), when the backend is wasm. */
function wasmHeapBytes(): number | undefined {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength;
}

function torchReference(python: string, shapes: string[], batch: number, seq: number, steps: number, seconds: number): PythonJson<{ results: Record<string, { tokensPerSecond: number; cpuMsPerStep?: number }>; torch: string }> {
  return runPythonJson(python, "train_torch.py", ["--shapes", shapes.join(","), "--batch", String(batch), "--seq", String(seq), "--steps", String(steps), "--seconds", String(seconds), "--threads", "2"]);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const shapes = strArg(values, "shapes", "tiny,mini").split(",");
  for (const s of shapes) if (!BERT_SHAPE_NAMES.includes(s as BertShapeName)) throw argError("--shapes", `unknown shape ${s}; expected some of ${BERT_SHAPE_NAMES.join(", ")}`);
  const batch = numArg(values, "batch", 32, { int: true, min: 1 });
  const seq = numArg(values, "seq", 64, { int: true, min: 3 });
  const steps = numArg(values, "steps", 5, { int: true, min: 1 });
  const seconds = numArg(values, "seconds", 20, { min: 0 });
  const microBatch = values["micro-batch"] === undefined ? undefined : numArg(values, "micro-batch", undefined, { int: true, min: 1 });
  const warmup = numArg(values, "warmup", 2, { int: true, min: 0 });
  await initBackend();
  const ours: Record<string, ShapeResult> = {};
  for (const s of shapes) {
    ours[s] = await benchShape(s as BertShapeName, { batch, seq, steps, seconds, microBatch, warmup });
    const r = ours[s];
    console.log(
      `${s.padEnd(6)} tfjs-${backendName()}: ${r.tokensPerSecond} tokens/s  (${r.msPerStep.total} ms/step: forward+backward+read-back ${r.msPerStep.forwardBackwardReadback}, ` +
        `Adam ${r.msPerStep.adam}, upload ${r.msPerStep.upload}; CPU ${r.cpuMsPerStep} ms/step; ${(r.parameters / 1e6).toFixed(1)}M trained parameters; peak RSS ${r.peakRssMiB} MiB, wasm heap ${r.wasmHeapMiB ?? "-"} MiB)`,
    );
  }
  let torch: ReturnType<typeof torchReference> | undefined;
  if (values["no-torch"] !== true) {
    torch = torchReference(strArg(values, "python", "/usr/bin/python3"), shapes, batch, seq, steps, seconds);
    if ("error" in torch) console.log(`PyTorch reference unavailable: ${torch.error}`);
  }
  const summaryOut: Record<string, unknown> = { backend: backendName(), batch, seq, loadAverage: os.loadavg()[0], shapes: {} as Record<string, unknown> };
  if (os.loadavg()[0] > os.cpus().length) {
    console.log(`note: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs: other processes compete; compare CPU ms/step, and rerun on an idle machine`);
  }
  for (const s of shapes) {
    const ref = torch && !("error" in torch) ? torch.results[s]?.tokensPerSecond : undefined;
    const ratio = ref ? ours[s].tokensPerSecond / ref : undefined;
    const refCpu = torch && !("error" in torch) ? torch.results[s]?.cpuMsPerStep : undefined;
    if (ref) console.log(`${s.padEnd(6)} PyTorch ${torch && "torch" in torch ? torch.torch : ""} (2 threads): ${Math.round(ref)} tokens/s (CPU ${refCpu ? Math.round(refCpu) : "?"} ms/step)  ratio ${ratio!.toFixed(2)} (target >= 1.0)`);
    (summaryOut.shapes as Record<string, unknown>)[s] = { ...ours[s], torchTokensPerSecond: ref ? Math.round(ref) : null, torchCpuMsPerStep: refCpu ?? null, ratio: ratio ? Math.round(ratio * 100) / 100 : null };
  }
  console.log(JSON.stringify(summaryOut));
  return 0;
}
