/**
 * The generic training loop shared by fine-tuning and masked-language-model pretraining: a step function that
 * returns a loss and gradients, Adam with the linear warm-up schedule, clipping, a NaN/Inf guard, progress,
 * per-epoch evaluation, snapshots and exact resume.
 *
 * Exact resume rests on three rules: (1) the data position and every random stream are pure functions of
 * (seed, update number), so the update number is the whole cursor; (2) weights and Adam moments are saved as
 * float32 and restored bit-for-bit; (3) the step function is deterministic given the weights and the update
 * number. Rerunning with the same arguments then ends with the same weights as an uninterrupted run.
 */
import * as fs from "node:fs";
import { Adam, AdamOptions, clipScale, globalNorm } from "./optimizer";
import {
  EpochEntry,
  latestResumable,
  listSnapshots,
  readManifest,
  readOptimizerState,
  removeInterruptedWrites,
  RunManifest,
  SnapshotEntry,
  writeManifest,
  writeSnapshot,
} from "./snapshots";
import { FtgeoError } from "../util/errors";
import { Progress, ProgressSink } from "../util/progress";

/** The weights being trained, as master copies the optimizer updates in place. */
export interface TrainableParameters {
  names: string[];
  values: Float32Array[];
  /** Per parameter: whether weight decay applies. */
  decay: boolean[];
  /** Push `values` into the compute backend (after each update and after loading a snapshot). */
  commit(): void;
}

export interface StepOutput {
  /** Mean loss of this update's batch. */
  loss: number;
  /** Work done, for the rate: tokens (not counting padding). */
  units: number;
  /** Gradient of `loss` for every parameter, aligned with TrainableParameters.values. */
  grads: Float32Array[];
}

export interface LoopOptions {
  /** Label of the progress display, e.g. "finetune pos". */
  label: string;
  runDir: string;
  /** Everything that determines the trajectory; a rerun must pass the same to resume. */
  config: Record<string, unknown>;
  params: TrainableParameters;
  adam?: AdamOptions;
  /** Learning rate of update `step` (0-based). */
  lrAt(step: number): number;
  /** Clip the global gradient norm to this (0 or undefined: no clipping). */
  clipNorm?: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** Snapshot every this many updates (and always at step 0 and at the end). */
  snapshotEvery: number;
  /** Loss and gradients of update `step`, which consumes batch `index` of epoch `epoch` (0-based). */
  computeStep(step: number, epoch: number, index: number): Promise<StepOutput>;
  /** Write the current model into a (temporary) snapshot folder. */
  writeModel(dir: string): Promise<void>;
  /** Load a snapshot's weights into params.values (the loop commits them afterwards). */
  loadModel(dir: string): Promise<void>;
  /** Metrics recorded with each snapshot; `devAccuracy` goes into its own field. */
  snapshotMetrics?(step: number): Promise<Record<string, number>>;
  /** Evaluation after each epoch (1-based epoch number), logged and recorded in the manifest. */
  epochMetrics?(epoch: number, step: number): Promise<Record<string, number>>;
  progressSink?: ProgressSink;
  log?(line: string): void;
  /** Polled after every update: true ends the session early (the run stays resumable from its last snapshot). */
  shouldStop?(): boolean;
}

export interface LoopResult {
  /** Updates applied in total (including before a resume). */
  steps: number;
  /** Updates applied in this session. */
  sessionSteps: number;
  resumedFrom: number | null;
  /** Tokens per second of this session (0 when nothing ran). */
  unitsPerSecond: number;
  stopped: boolean;
  finalSnapshot: SnapshotEntry | null;
  manifest: RunManifest;
}

export class TrainingDiverged extends FtgeoError {}

export async function runTraining(o: LoopOptions): Promise<LoopResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  if (!(o.stepsPerEpoch >= 1)) throw new FtgeoError(`${o.label}: no batches per epoch (is the training split empty?)`);
  if (!(o.totalSteps >= 1)) throw new FtgeoError(`${o.label}: nothing to train (total updates ${o.totalSteps})`);
  fs.mkdirSync(o.runDir, { recursive: true });
  removeInterruptedWrites(o.runDir);

  const sizes = o.params.values.map((v) => v.length);
  const adam = new Adam(sizes, o.adam, o.params.decay);
  const optimizer = { names: o.params.names, adam };
  const old = readManifest(o.runDir);
  const resumeFrom = latestResumable(o.runDir);
  if (old && resumeFrom) {
    const diffs = configDifferences(old.config, o.config);
    if (diffs.length > 0) {
      throw new FtgeoError(
        `${o.runDir} holds a run started with other options (${diffs.join("; ")}): rerun with the same options to resume, or choose another output folder`,
      );
    }
  }
  let start = 0;
  const manifest: RunManifest = { version: 1, config: o.config, status: "running", snapshots: [], epochs: [] };
  if (resumeFrom) {
    await o.loadModel(resumeFrom.dir);
    adam.setState(readOptimizerState(resumeFrom.dir, o.params.names, sizes));
    start = resumeFrom.step;
    if (adam.step !== start) throw new FtgeoError(`${resumeFrom.dir}: optimizer state is at update ${adam.step}, the snapshot at ${start}`);
    manifest.epochs = (old?.epochs ?? []).filter((e) => e.step <= start);
    log(`${o.label}: resuming ${o.runDir} from its snapshot at update ${start} of ${o.totalSteps}`);
  }
  manifest.snapshots = listSnapshots(o.runDir).filter((s) => s.step <= start);
  o.params.commit();

  const snapshot = async (step: number, lossSince: number | null, lr: number, known: Record<string, number>): Promise<SnapshotEntry> => {
    const metrics = { ...known, ...(o.snapshotMetrics && known.devAccuracy === undefined ? await o.snapshotMetrics(step) : {}) };
    const { devAccuracy, ...rest } = metrics;
    const entry = await writeSnapshot(
      o.runDir,
      {
        step,
        epoch: step / o.stepsPerEpoch,
        loss: lossSince,
        lr,
        devAccuracy: devAccuracy ?? null,
        metrics: rest,
        final: step === o.totalSteps,
        time: new Date().toISOString(),
      },
      o.writeModel,
      optimizer,
    );
    manifest.snapshots = manifest.snapshots.filter((s) => s.step !== step).concat([entry]);
    writeManifest(o.runDir, manifest);
    return entry;
  };

  if (!resumeFrom) await snapshot(0, null, 0, {});
  writeManifest(o.runDir, manifest);

  const progress = new Progress(o.label, o.totalSteps, "tokens", o.progressSink, start);
  const t0 = Date.now();
  let units = 0;
  let lossSum = 0;
  let lossCount = 0;
  let epochLossSum = 0;
  let epochLossCount = 0;
  const recent: number[] = [];
  let stopped = false;
  let lastLr = start > 0 ? o.lrAt(start - 1) : 0;
  for (let step = start; step < o.totalSteps; step++) {
    const epoch = Math.floor(step / o.stepsPerEpoch);
    const index = step % o.stepsPerEpoch;
    const out = await o.computeStep(step, epoch, index);
    const lr = o.lrAt(step);
    const norm = globalNorm(out.grads);
    if (!Number.isFinite(out.loss) || !Number.isFinite(norm)) {
      const last = manifest.snapshots[manifest.snapshots.length - 1];
      manifest.status = "diverged";
      manifest.message = `loss ${out.loss}, gradient norm ${norm} at update ${step + 1} (epoch ${epoch + 1}, lr ${lr.toExponential(3)})`;
      writeManifest(o.runDir, manifest);
      throw new TrainingDiverged(
        `${o.label}: training diverged: the loss is ${out.loss} (gradient norm ${norm}) at update ${step + 1} ` +
          `(epoch ${epoch + 1}, learning rate ${lr.toExponential(3)}); stopped without applying it. ` +
          `The last good snapshot is ${last ? last.dir : "(none)"} (update ${last ? last.step : "-"}). ` +
          `Try a lower --lr or gradient clipping (--clip).`,
      );
    }
    adam.update(o.params.values, out.grads, lr, o.clipNorm && o.clipNorm > 0 ? clipScale(norm, o.clipNorm) : 1);
    o.params.commit();
    lastLr = lr;
    const done = step + 1;
    units += out.units;
    lossSum += out.loss;
    lossCount += 1;
    epochLossSum += out.loss;
    epochLossCount += 1;
    recent.push(out.loss);
    if (recent.length > 50) recent.shift();
    progress.update(done, out.units, {
      epoch: (done / o.stepsPerEpoch).toFixed(2),
      loss: recent.reduce((a, b) => a + b, 0) / recent.length,
      lr,
    });

    let known: Record<string, number> = {};
    if (done % o.stepsPerEpoch === 0 || done === o.totalSteps) {
      const epochNo = Math.ceil(done / o.stepsPerEpoch);
      if (o.epochMetrics && !manifest.epochs.some((e) => e.epoch === epochNo)) {
        known = await o.epochMetrics(epochNo, done);
        const entry: EpochEntry = {
          epoch: epochNo,
          step: done,
          // A resumed epoch only saw part of its updates in this session: report its loss as unknown.
          trainLoss: epochLossCount === ((done - 1) % o.stepsPerEpoch) + 1 ? epochLossSum / epochLossCount : null,
          metrics: known,
          time: new Date().toISOString(),
        };
        manifest.epochs.push(entry);
        writeManifest(o.runDir, manifest);
        log(
          `${o.label}: epoch ${epochNo} (update ${done}): ` +
            [`train loss ${entry.trainLoss === null ? "?" : entry.trainLoss.toFixed(4)}`]
              .concat(Object.entries(known).map(([k, v]) => `${k} ${v.toFixed(4)}`))
              .join(", "),
        );
      }
      epochLossSum = 0;
      epochLossCount = 0;
    }
    if (done % o.snapshotEvery === 0 || done === o.totalSteps) {
      await snapshot(done, lossSum / lossCount, lr, known);
      lossSum = 0;
      lossCount = 0;
    }
    // Each update is synchronous work chained by promises that resolve as microtasks; yielding to the event loop
    // lets signal handlers (Ctrl-C, kill) and timers run, or shouldStop would never see them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (o.shouldStop?.() && done < o.totalSteps) {
      // Keep everything done so far: a stopped session resumes from here, not from the previous snapshot.
      if (done % o.snapshotEvery !== 0) {
        await snapshot(done, lossCount > 0 ? lossSum / lossCount : null, lr, known);
        lossSum = 0;
        lossCount = 0;
      }
      stopped = true;
      break;
    }
  }
  const steps = stopped ? adam.step : o.totalSteps;
  progress.finish(steps, { lr: lastLr });
  const seconds = (Date.now() - t0) / 1000;
  const final = manifest.snapshots.find((s) => s.step === o.totalSteps) ?? null;
  return {
    steps,
    sessionSteps: steps - start,
    resumedFrom: resumeFrom ? start : null,
    unitsPerSecond: seconds > 0 ? units / seconds : 0,
    stopped,
    finalSnapshot: final,
    manifest,
  };
}

/** Mark a finished run done with its summary (test accuracy, ...), atomically. */
export function finishRun(runDir: string, manifest: RunManifest, result: Record<string, unknown>): void {
  manifest.status = "done";
  manifest.result = result;
  writeManifest(runDir, manifest);
}

function configDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) out.push(`${k}: was ${x}, now ${y}`);
  }
  return out;
}
