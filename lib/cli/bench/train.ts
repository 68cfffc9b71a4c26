/**
 * `ftgeo bench train`: training throughput (tokens/s; forward + backward + optimizer step, batch 32 x 64, every
 * token a classified example) for BERT shapes, with where the time goes, and the ratio to PyTorch measured in
 * the same run (bench/train_torch.py under Debian's /usr/bin/python3 with torch, 2 threads) when available.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { parseCli, numArg, strArg } from "../../util/args";
import { argError } from "../../util/errors";
import { repoRoot } from "../../util/paths";
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

export const usage = `usage: ftgeo bench train [--shapes tiny,mini] [--batch 32] [--seq 64] [--steps 5] [--seconds 20]
                         [--python /usr/bin/python3] [--no-torch]

Prints per shape: tokens/s and the time per step split into forward+backward (tfjs), gradient read-back,
Adam update (JS, Float32Arrays) and weight upload; then PyTorch's tokens/s (same shapes, 2 threads) and the ratio.
Ends with one JSON line.`;

interface ShapeResult {
  tokensPerSecond: number;
  steps: number;
  msPerStep: { total: number; forwardBackward: number; readGrads: number; adam: number; upload: number };
  /** CPU time of this process per step: close to the wall time when the machine is idle, robust when it is not. */
  cpuMsPerStep: number;
  parameters: number;
}

export async function benchShape(shape: BertShapeName, batch: number, seq: number, steps: number, seconds: number): Promise<ShapeResult> {
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
  const ids = new Int32Array(batch * seq).map(() => 1000 + rng.int(29000));
  const spans = Array.from({ length: batch * seq }, (_, i) => ({ row: Math.floor(i / seq), start: i % seq, end: (i % seq) + 1 }));
  const b: TaskBatch = {
    kind: "token",
    rows: batch,
    seqLen: seq,
    inputIds: ids,
    attentionMask: new Int32Array(batch * seq).fill(1),
    first: wordPooling(spans, seq),
    labels: new Int32Array(batch * seq).map(() => rng.int(labels)),
    numExamples: batch * seq,
    tokens: batch * seq,
  };
  const idsT = tf.tensor2d(b.inputIds, [batch, seq], "int32");
  const maskT = tf.tensor2d(b.attentionMask, [batch, seq], "int32");
  const t = { forwardBackward: 0, readGrads: 0, adam: 0, upload: 0 };
  const step = (k: number, record: boolean) => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => {
      const layers = model.forward(idsT, maskT, { training: true, dropoutSeed: k });
      return ClassifierHead.loss(head.logits(layers, b, true, k), b.labels);
    }, params.variables);
    const t1 = performance.now();
    const acc = params.variables.map((v) => grads[v.name].dataSync() as Float32Array);
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    const t2 = performance.now();
    adam.update(params.values, acc, 3e-4);
    const t3 = performance.now();
    params.commit();
    const t4 = performance.now();
    if (record) {
      t.forwardBackward += t1 - t0;
      t.readGrads += t2 - t1;
      t.adam += t3 - t2;
      t.upload += t4 - t3;
    }
  };
  step(0, false);
  step(1, false);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (n < steps || (performance.now() - start < seconds * 1000 && n < 10 * steps)) step(2 + n++, true);
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  idsT.dispose();
  maskT.dispose();
  const parameters = params.values.reduce((s, v) => s + v.length, 0);
  model.dispose();
  head.dispose();
  const per = (x: number) => Math.round((x / n) * 10) / 10;
  return {
    tokensPerSecond: Math.round((batch * seq * n) / (total / 1000)),
    steps: n,
    msPerStep: { total: per(total), forwardBackward: per(t.forwardBackward), readGrads: per(t.readGrads), adam: per(t.adam), upload: per(t.upload) },
    parameters,
    cpuMsPerStep: per((cpu.user + cpu.system) / 1000),
  };
}

function torchReference(python: string, shapes: string[], batch: number, seq: number, steps: number, seconds: number): { results: Record<string, { tokensPerSecond: number; cpuMsPerStep?: number }>; torch: string } | { error: string } {
  const script = path.join(repoRoot(), "bench", "train_torch.py");
  if (!fs.existsSync(python)) return { error: `${python} not found` };
  const r = spawnSync(python, [script, "--shapes", shapes.join(","), "--batch", String(batch), "--seq", String(seq), "--steps", String(steps), "--seconds", String(seconds), "--threads", "2"], { encoding: "utf8" });
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-1)[0] };
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  } catch {
    return { error: `unreadable output: ${r.stdout.slice(0, 200)}` };
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    shapes: { type: "string" },
    batch: { type: "string" },
    seq: { type: "string" },
    steps: { type: "string" },
    seconds: { type: "string" },
    python: { type: "string" },
    "no-torch": { type: "boolean" },
  });
  const shapes = strArg(values, "shapes", "tiny,mini").split(",");
  for (const s of shapes) if (!BERT_SHAPE_NAMES.includes(s as BertShapeName)) throw argError("--shapes", `unknown shape ${s}; expected some of ${BERT_SHAPE_NAMES.join(", ")}`);
  const batch = numArg(values, "batch", 32, { int: true, min: 1 });
  const seq = numArg(values, "seq", 64, { int: true, min: 3 });
  const steps = numArg(values, "steps", 5, { int: true, min: 1 });
  const seconds = numArg(values, "seconds", 20, { min: 0 });
  await initBackend();
  const ours: Record<string, ShapeResult> = {};
  for (const s of shapes) {
    ours[s] = await benchShape(s as BertShapeName, batch, seq, steps, seconds);
    const r = ours[s];
    console.log(
      `${s.padEnd(6)} tfjs-${backendName()}: ${r.tokensPerSecond} tokens/s  (${r.msPerStep.total} ms/step: forward+backward ${r.msPerStep.forwardBackward}, ` +
        `read grads ${r.msPerStep.readGrads}, Adam ${r.msPerStep.adam}, upload ${r.msPerStep.upload}; CPU ${r.cpuMsPerStep} ms/step; ${(r.parameters / 1e6).toFixed(1)}M trained parameters)`,
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
