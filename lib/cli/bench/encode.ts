/**
 * `ftgeo bench encode`: representation-extraction throughput (tokens/s: forward pass with every layer's hidden
 * states read back to JS Float32Arrays, random weights, batch 32 x 64) for BERT shapes, and the ratio to PyTorch
 * measured in the same run (bench/encode_torch.py under Debian's /usr/bin/python3 with torch, 2 threads,
 * torch.no_grad) when available.
 */
import * as os from "node:os";
import { runPythonJson } from "../../util/python";
import * as tf from "@tensorflow/tfjs";
import { numArg, optionHelp, parseCli, strArg, type OptionTable } from "../../util/args";
import { argError } from "../../util/errors";
import { Rng } from "../../util/rng";
import { initBackend, backendName, backendDescription, BackendPreference } from "../../model/backend";
import { BertModel } from "../../model/bert";
import { nativeMatMulActive } from "../../model/native-blas";
import { bertShape, BertShapeName, BERT_SHAPE_NAMES } from "../../model/config";

export const summary = "representation-extraction throughput (all layers read back) for BERT shapes, vs PyTorch";

export const options: OptionTable = [
  { name: "shapes", type: "string", value: "LIST", help: `comma-separated BERT shapes (${BERT_SHAPE_NAMES.join(", ")})`, default: "tiny,mini" },
  { name: "batch", type: "string", value: "N", help: "sentences per batch", default: "32" },
  { name: "seq", type: "string", value: "N", help: "tokens per sentence (at most 512)", default: "64" },
  { name: "batches", type: "string", value: "N", help: "timed batches per side at least (at most 20x this)", default: "5" },
  { name: "seconds", type: "string", value: "S", help: "timed seconds per side at least (while under 20x --batches)", default: "10" },
  { name: "backend", type: "string", value: "B", help: "tfjs backend: auto, wasm, node or cpu", default: "auto" },
  { name: "python", type: "string", value: "PATH", help: "Python with torch for the reference", default: "/usr/bin/python3" },
  { name: "no-torch", type: "boolean", help: "skip the PyTorch reference" },
];

export const usage = `usage: ftgeo bench encode [--shapes tiny,mini] [--batch 32] [--seq 64] [--batches 5] [--seconds 10]
                          [--backend auto|wasm|node|cpu] [--python /usr/bin/python3] [--no-torch]

Prints per shape: tokens/s of tfjs (forward pass + every layer's hidden states read back to JS) with the time per
batch split into forward and read-back; then PyTorch's tokens/s (same shapes, 2 threads, no_grad) and the ratio
(target >= 1.0). Each side runs at least --batches batches and at least --seconds seconds (up to 20x --batches).
Ends with one JSON line. Random weights: throughput does not depend on them.

${optionHelp(options)}`;

export interface EncodeBenchResult {
  tokensPerSecond: number;
  batches: number;
  msPerBatch: { total: number; forward: number; readBack: number };
  /** Process CPU time (all threads) per batch: comparable across runs even when other processes compete. */
  cpuMsPerBatch: number;
}

export async function benchEncodeShape(shape: BertShapeName, batch: number, seq: number, batches: number, seconds: number): Promise<EncodeBenchResult> {
  const model = BertModel.random(bertShape(shape), 1);
  const rng = new Rng(2);
  const ids = tf.tensor2d(new Int32Array(batch * seq).map(() => 1000 + rng.int(29000)), [batch, seq], "int32");
  const mask = tf.ones([batch, seq], "int32") as tf.Tensor2D;
  const t = { forward: 0, readBack: 0 };
  const once = (record: boolean): void => {
    const t0 = performance.now();
    const states = model.forward(ids, mask);
    const t1 = performance.now();
    for (const s of states) s.dataSync();
    const t2 = performance.now();
    tf.dispose(states);
    if (record) {
      t.forward += t1 - t0;
      t.readBack += t2 - t1;
    }
  };
  once(false);
  once(false);
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (n < batches || (performance.now() - start < seconds * 1000 && n < 20 * batches)) {
    once(true);
    n++;
  }
  const total = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  ids.dispose();
  mask.dispose();
  model.dispose();
  const per = (x: number) => Math.round((x / n) * 10) / 10;
  return {
    tokensPerSecond: Math.round((batch * seq * n) / (total / 1000)),
    batches: n,
    msPerBatch: { total: per(total), forward: per(t.forward), readBack: per(t.readBack) },
    cpuMsPerBatch: per((cpu.user + cpu.system) / 1000),
  };
}

type TorchResult = { results: Record<string, { tokensPerSecond: number; cpuMsPerBatch?: number }>; torch: string } | { error: string };

function torchReference(python: string, shapes: string[], batch: number, seq: number, batches: number, seconds: number): TorchResult {
  return runPythonJson(python, "encode_torch.py", ["--shapes", shapes.join(","), "--batch", String(batch), "--seq", String(seq), "--batches", String(batches), "--seconds", String(seconds), "--threads", "2"]);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, options);
  const shapes = strArg(values, "shapes", "tiny,mini").split(",");
  for (const s of shapes) if (!BERT_SHAPE_NAMES.includes(s as BertShapeName)) throw argError("--shapes", `unknown shape ${s}; expected some of ${BERT_SHAPE_NAMES.join(", ")}`);
  const batch = numArg(values, "batch", 32, { int: true, min: 1 });
  const seq = numArg(values, "seq", 64, { int: true, min: 1 });
  if (seq > 512) throw argError("--seq", `at most 512 (max_position_embeddings of the BERT shapes), got ${seq}`);
  const batches = numArg(values, "batches", 5, { int: true, min: 1 });
  const seconds = numArg(values, "seconds", 10, { min: 0 });
  const backend = strArg(values, "backend", "auto");
  if (!["auto", "wasm", "node", "cpu"].includes(backend)) throw argError("--backend", `expected auto, wasm, node or cpu, got ${backend}`);
  await initBackend(backend as BackendPreference);
  console.log(`backend: tfjs-${backendDescription()}; batch ${batch} x ${seq} tokens; random weights`);
  if (backendName() === "wasm" && !nativeMatMulActive()) {
    console.log(`(the optional native OpenBLAS matMul is not active; build it with: node dist/lib/model/native-blas.js build)`);
  }
  const ours: Record<string, EncodeBenchResult> = {};
  for (const s of shapes) {
    const r = (ours[s] = await benchEncodeShape(s as BertShapeName, batch, seq, batches, seconds));
    console.log(`${s.padEnd(6)} tfjs-${backendName()}: ${r.tokensPerSecond} tokens/s  (${r.msPerBatch.total} ms/batch: forward ${r.msPerBatch.forward}, read back ${r.msPerBatch.readBack}; CPU ${r.cpuMsPerBatch} ms/batch; ${r.batches} batches)`);
  }
  let torch: TorchResult | undefined;
  if (values["no-torch"] !== true) {
    torch = torchReference(strArg(values, "python", "/usr/bin/python3"), shapes, batch, seq, batches, seconds);
    if ("error" in torch) console.log(`PyTorch reference unavailable: ${torch.error}`);
  }
  const out: Record<string, unknown> = { backend: backendName(), backendDetail: backendDescription(), batch, seq, shapes: {} as Record<string, unknown> };
  for (const s of shapes) {
    const ref = torch && !("error" in torch) ? torch.results[s]?.tokensPerSecond : undefined;
    const ratio = ref ? ours[s].tokensPerSecond / ref : undefined;
    const refCpu = torch && !("error" in torch) ? torch.results[s]?.cpuMsPerBatch : undefined;
    if (ref) {
      console.log(
        `${s.padEnd(6)} PyTorch ${torch && "torch" in torch ? torch.torch : ""} (2 threads): ${Math.round(ref)} tokens/s` +
          (refCpu ? ` (CPU ${Math.round(refCpu)} ms/batch)` : "") +
          `  ratio ${ratio!.toFixed(2)} (target >= 1.0)`,
      );
    }
    (out.shapes as Record<string, unknown>)[s] = {
      ...ours[s],
      torchTokensPerSecond: ref ? Math.round(ref) : null,
      torchCpuMsPerBatch: refCpu ? Math.round(refCpu) : null,
      ratio: ratio ? Math.round(ratio * 100) / 100 : null,
    };
  }
  const load = os.loadavg()[0];
  out.loadAverage = Math.round(load * 100) / 100;
  if (load > os.cpus().length) {
    console.log(`note: load average ${load.toFixed(1)} on ${os.cpus().length} CPUs: other processes compete; compare CPU ms/batch too, and rerun on an idle machine`);
  }
  console.log(JSON.stringify(out));
  return 0;
}
