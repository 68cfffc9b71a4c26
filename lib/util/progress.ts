/**
 * Progress of long work (fine-tuning, pretraining, extraction, probing): step, loss, tokens/s, ETA.
 * The sink is pluggable: the CLI prints throttled lines to stderr, a notebook cell can install an updating display.
 */
export interface ProgressEvent {
  task: string;
  step: number;
  total?: number;
  /** Extra numbers to show, e.g. loss, lr, epoch, accuracy. */
  values?: Record<string, number | string>;
  /** Tokens (or items) processed per second since the start of this reporter. */
  rate?: number;
  rateUnit?: string;
  etaSeconds?: number;
  elapsedSeconds: number;
  done?: boolean;
}

export type ProgressSink = (e: ProgressEvent) => void;

let defaultSink: ProgressSink = stderrSink(2000);

/** Replace the sink used by reporters created without an explicit one (e.g. by a notebook display). */
export function setDefaultProgressSink(sink: ProgressSink): void {
  defaultSink = sink;
}

export function getDefaultProgressSink(): ProgressSink {
  return defaultSink;
}

export function silentSink(): ProgressSink {
  return () => {};
}

export function formatProgress(e: ProgressEvent): string {
  const parts: string[] = [`[${e.task}]`];
  parts.push(e.total !== undefined ? `step ${e.step}/${e.total}` : `step ${e.step}`);
  for (const [k, v] of Object.entries(e.values ?? {})) {
    parts.push(`${k} ${typeof v === "number" ? fmtNum(v) : v}`);
  }
  if (e.rate !== undefined) parts.push(`${fmtNum(e.rate)} ${e.rateUnit ?? "items"}/s`);
  parts.push(`elapsed ${fmtDuration(e.elapsedSeconds)}`);
  if (e.etaSeconds !== undefined && !e.done) parts.push(`ETA ${fmtDuration(e.etaSeconds)}`);
  if (e.done) parts.push("done");
  return parts.join("  ");
}

/** Prints at most one line every `intervalMs` (always the final one). */
export function stderrSink(intervalMs: number): ProgressSink {
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (!e.done && now - last < intervalMs) return;
    last = now;
    process.stderr.write(formatProgress(e) + "\n");
  };
}

export class Progress {
  private readonly start = Date.now();
  private units = 0;
  private readonly sink: ProgressSink;

  constructor(
    private readonly task: string,
    private readonly total?: number,
    private readonly rateUnit = "items",
    sink?: ProgressSink,
    /** Units already done before this reporter started (resumed runs): excluded from the rate. */
    private readonly startStep = 0,
  ) {
    this.sink = sink ?? defaultSink;
  }

  /** Report step `step`; `units` = tokens/items processed since the previous call. */
  update(step: number, units: number, values?: Record<string, number | string>, done = false): void {
    this.units += units;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.units / elapsed : undefined;
    let eta: number | undefined;
    const doneSteps = step - this.startStep;
    if (this.total !== undefined && doneSteps > 0 && elapsed > 0) {
      eta = ((this.total - step) * elapsed) / doneSteps;
    }
    this.sink({
      task: this.task,
      step,
      total: this.total,
      values,
      rate,
      rateUnit: this.rateUnit,
      etaSeconds: eta,
      elapsedSeconds: elapsed,
      done,
    });
  }

  finish(step: number, values?: Record<string, number | string>): void {
    this.update(step, 0, values, true);
  }
}

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(0) : v.toPrecision(4);
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${(s).toFixed(1)}s`;
}
