/**
 * What the section notebooks (4.1-4.5) share: the table of what a run computes with, the note on where a result
 * came from (computed now or read from the results cache), mean +- std cells, and the closing comparison of a
 * run's numbers with the paper's finding. Types only from lib/analysis: this module stays light to import.
 */
import type { AnalysisBudget } from "../analysis/budget";
import type { ResultMeta } from "../analysis/results";
import { fmtDuration } from "../util/progress";
import { showMarkdown } from "./display";
import { showTable, type Row } from "./table";

/** Which single-model part of a budget a section uses, shown as its own row. */
export type PlanPart = "memorisation" | "spatial" | "crossTask" | "layers";

function sizes(s: Record<string, number | undefined>): string {
  const parts = ["train", "dev", "test"].map((k) => `${k} ${s[k] === undefined ? "all" : s[k]}`);
  return parts.join(", ");
}

/** Rows (setting, value) describing a budget as a section runs it. */
export function planRows(b: AnalysisBudget, parts: PlanPart[] = []): Row[] {
  const name = (m: string) => (b.modelNames[m] && b.modelNames[m] !== m ? `${b.modelNames[m]} (${m})` : m);
  const f = b.finetune;
  const rows: Row[] = [
    { setting: "budget", value: `${b.name}: ${b.modelNote}` },
    { setting: "fine-tuning", value: `${f.epochs === undefined ? "the paper's epochs (10; 3 for BERT-base)" : `${f.epochs} epochs`}, batch ${f.batch}${f.microBatch ? ` (micro-batches of ${f.microBatch})` : ""}, lr ${f.lr}, seed ${f.seed}, ${f.snapshots} snapshots` },
    { setting: "fine-tuning data (examples)", value: sizes(f.data as Record<string, number | undefined>) },
    { setting: "probe / DirectProbe data (examples)", value: sizes(b.analysis as Record<string, number | undefined>) },
    { setting: "classifier probe", value: `grid ${b.probe.grid}, ${b.probe.seeds} seeds, at most ${b.probe.maxIter} iterations` },
  ];
  // Sections over every model x task list them; single-model sections name their model and task below instead.
  if (parts.every((p) => p === "memorisation")) {
    rows.splice(1, 0, { setting: "models", value: b.models.map(name).join(", ") }, { setting: "tasks", value: b.tasks.join(", ") });
  }
  for (const p of parts) {
    if (p === "memorisation") {
      const m = b.memorisation;
      rows.push({ setting: "memorisation experiment", value: `${name(m.model)} on ${m.task}; probe ${m.hidden.join("x")}, alpha ${m.alpha}, ${m.seeds} seeds; subtrain fractions ${m.fractions.join(", ")}` });
    } else if (p === "spatial") {
      rows.splice(1, 0, { setting: "model", value: name(b.spatial.model) }, { setting: "task", value: b.spatial.task });
    } else if (p === "crossTask") {
      const c = b.crossTask;
      rows.splice(1, 0, { setting: "model", value: name(c.model) }, { setting: "fine-tuned on", value: c.sources.join(", ") }, { setting: "probed on", value: c.target });
    } else {
      rows.splice(1, 0, { setting: "model", value: name(b.layers.model) }, { setting: "task", value: b.layers.task });
    }
  }
  return rows;
}

export function showPlan(b: AnalysisBudget, parts: PlanPart[] = []): void {
  showTable(planRows(b, parts), { caption: "What this run computes with" });
}

/** One sentence on where a result came from and what it cost. */
export function runNote(meta: ResultMeta): string {
  const t = meta.timings;
  const steps = Object.entries(t)
    .filter(([k]) => k !== "total")
    .map(([k, v]) => `${k} ${fmtDuration(v)}`)
    .join(", ");
  const cost = `${fmtDuration(t.total ?? NaN)}${steps ? ` (${steps})` : ""}`;
  return meta.fromCache
    ? `Read from the results cache \`${meta.file}\` (computed ${meta.createdAt} in ${cost}). Delete the file, or pass \`refresh: true\`, to recompute.`
    : `Computed in ${cost} and stored in \`${meta.file}\`: re-running this notebook (also after a kernel restart) reads it.`;
}

export function showRunNote(meta: ResultMeta): void {
  showMarkdown(runNote(meta));
}

/** "87.75 ± 0.31" (percent) for an accuracy stat. */
export function meanStd(s: { mean: number; std: number }, digits = 2): string {
  if (!Number.isFinite(s.mean)) return String(s.mean);
  return `${(100 * s.mean).toFixed(digits)} ± ${(100 * (Number.isFinite(s.std) ? s.std : 0)).toFixed(digits)}`;
}

export interface Comparison {
  /** What is compared, e.g. "fine-tuning raises probe accuracy". */
  claim: string;
  /** The paper's finding (with its numbers). */
  paper: string;
  /** This run's numbers. */
  run: string;
  /** Whether this run agrees; null when this run cannot say (e.g. the measure is undefined here). */
  agrees: boolean | null;
}

/** The closing table of a section notebook: each of the paper's findings next to this run's numbers. */
export function showComparison(rows: Comparison[], caption = "The paper's findings and this run"): void {
  showTable(
    rows.map((r) => ({ finding: r.claim, paper: r.paper, "this run": r.run, agrees: r.agrees === null ? "cannot tell" : r.agrees ? "yes" : "no" })),
    { caption, columns: ["finding", "paper", "this run", "agrees"] },
  );
}
