/**
 * The runs folder of a training run, which later analyses enumerate:
 *
 *   <run>/manifest.json                  config, status, every snapshot and per-epoch evaluation (atomic rewrite)
 *   <run>/snapshots/step-0000100/        one snapshot: the model in the Hugging Face layout (config.json,
 *        model.safetensors, vocab.txt, written by the caller), trainer_state.json (this entry), and in the
 *        latest snapshot only optimizer.safetensors (Adam moments: what resuming needs, 2x the model's size)
 *
 * A snapshot folder is filled under a temporary name and renamed into place, so a killed run never leaves a
 * half-written snapshot; the folders, not the manifest, are the source of truth for resuming.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Adam, AdamState } from "./optimizer";
import { readSafetensors, writeSafetensors, FloatTensorMap } from "../model/safetensors";
import { withAtomicDirAsync, writeJsonAtomic } from "../util/atomic";
import { fileError } from "../util/errors";

export const SNAPSHOTS = "snapshots";
export const TRAINER_STATE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const MANIFEST = "manifest.json";

export interface SnapshotEntry {
  /** Updates applied so far (0 = the starting model). */
  step: number;
  /** Fractional epochs done: step / updates per epoch. */
  epoch: number;
  /** Mean training loss over the updates since the previous snapshot (null at step 0). */
  loss: number | null;
  /** Learning rate of the last update. */
  lr: number;
  /** Dev-set accuracy of this snapshot, when evaluated. */
  devAccuracy: number | null;
  /** Any further metrics recorded with the snapshot. */
  metrics: Record<string, number>;
  /** Absolute path of the snapshot folder (relative to the run folder on disk). */
  dir: string;
  final: boolean;
  time: string;
}

export interface EpochEntry {
  epoch: number;
  step: number;
  trainLoss: number | null;
  metrics: Record<string, number>;
  time: string;
}

export interface RunManifest {
  version: 1;
  /** What the run was started with; resuming requires the same. */
  config: Record<string, unknown>;
  status: "running" | "done" | "diverged";
  snapshots: SnapshotEntry[];
  epochs: EpochEntry[];
  /** Set when the run finished: the caller's summary (test accuracy, tokens/s, ...). */
  result?: Record<string, unknown>;
  message?: string;
}

export function snapshotDirName(step: number): string {
  return `step-${String(step).padStart(7, "0")}`;
}

/** Every complete snapshot of a run, ordered by step, with absolute folders. */
export function listSnapshots(runDir: string): SnapshotEntry[] {
  const root = path.join(runDir, SNAPSHOTS);
  if (!fs.existsSync(root)) return [];
  const out: SnapshotEntry[] = [];
  for (const name of fs.readdirSync(root)) {
    if (!/^step-\d+$/.test(name)) continue; // skips *.partial-* folders of interrupted writes
    const file = path.join(root, name, TRAINER_STATE);
    if (!fs.existsSync(file)) continue;
    let entry: SnapshotEntry;
    try {
      entry = JSON.parse(fs.readFileSync(file, "utf8")) as SnapshotEntry;
    } catch (e) {
      throw fileError(file, undefined, `unreadable trainer state: ${(e as Error).message}`);
    }
    out.push({ ...entry, dir: path.join(root, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The latest snapshot that carries optimizer state (where a rerun resumes), if any. */
export function latestResumable(runDir: string): SnapshotEntry | undefined {
  const all = listSnapshots(runDir).filter((s) => fs.existsSync(path.join(s.dir, OPTIMIZER_FILE)));
  return all[all.length - 1];
}

/** Remove leftovers of writes interrupted by a kill (temporary snapshot folders). */
export function removeInterruptedWrites(runDir: string): void {
  const root = path.join(runDir, SNAPSHOTS);
  if (!fs.existsSync(root)) return;
  for (const name of fs.readdirSync(root)) {
    if (/\.(partial|old)-\d+-\d+$/.test(name)) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
  for (const name of fs.readdirSync(runDir)) {
    if (/\.tmp-\d+-\d+$/.test(name)) fs.rmSync(path.join(runDir, name), { force: true });
  }
}

export function readManifest(runDir: string): RunManifest | undefined {
  const file = path.join(runDir, MANIFEST);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as RunManifest;
  } catch (e) {
    throw fileError(file, undefined, `unreadable run manifest: ${(e as Error).message}`);
  }
}

export function writeManifest(runDir: string, manifest: RunManifest): void {
  const rel = (s: SnapshotEntry) => ({ ...s, dir: path.relative(runDir, s.dir) });
  writeJsonAtomic(path.join(runDir, MANIFEST), { ...manifest, snapshots: manifest.snapshots.map(rel) });
}

/**
 * Write one snapshot atomically: the caller's model files, the trainer state and (when `optimizer` is given)
 * the Adam moments; then drop the moments of older snapshots, which no resume needs any more.
 */
export async function writeSnapshot(
  runDir: string,
  entry: Omit<SnapshotEntry, "dir">,
  writeModel: (dir: string) => Promise<void>,
  optimizer?: { names: string[]; adam: Adam },
): Promise<SnapshotEntry> {
  const dir = path.join(runDir, SNAPSHOTS, snapshotDirName(entry.step));
  await withAtomicDirAsync(dir, async (tmp) => {
    await writeModel(tmp);
    if (optimizer) writeOptimizerState(path.join(tmp, OPTIMIZER_FILE), optimizer.names, optimizer.adam.getState());
    fs.writeFileSync(path.join(tmp, TRAINER_STATE), JSON.stringify({ ...entry, dir: "." }, null, 2) + "\n");
  });
  if (optimizer) {
    for (const older of listSnapshots(runDir)) {
      if (older.step < entry.step) fs.rmSync(path.join(older.dir, OPTIMIZER_FILE), { force: true });
    }
  }
  return { ...entry, dir };
}

function writeOptimizerState(file: string, names: string[], state: AdamState): void {
  const tensors: FloatTensorMap = new Map();
  tensors.set("__step__", { shape: [1], data: Float32Array.of(state.step) });
  names.forEach((name, k) => {
    tensors.set(`m.${name}`, { shape: [state.m[k].length], data: state.m[k] });
    tensors.set(`v.${name}`, { shape: [state.v[k].length], data: state.v[k] });
  });
  writeSafetensors(file, tensors);
}

/** Adam moments of a snapshot, in the order of `names`; errors name the missing or mis-sized parameter. */
export function readOptimizerState(snapshotDir: string, names: string[], sizes: number[]): AdamState {
  const file = path.join(snapshotDir, OPTIMIZER_FILE);
  if (!fs.existsSync(file)) throw fileError(file, undefined, "no optimizer state here (only the latest snapshot keeps it)");
  const t = readSafetensors(file).tensors;
  const get = (key: string, n: number): Float32Array => {
    const x = t.get(key);
    if (!x) throw fileError(file, undefined, `missing tensor ${key} (was the run started with other options?)`);
    if (x.data.length !== n) throw fileError(file, undefined, `tensor ${key}: expected ${n} values, got ${x.data.length}`);
    return x.data;
  };
  return {
    step: get("__step__", 1)[0],
    m: names.map((n, k) => get(`m.${n}`, sizes[k])),
    v: names.map((n, k) => get(`v.${n}`, sizes[k])),
  };
}
