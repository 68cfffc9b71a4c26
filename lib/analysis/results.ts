/**
 * Results of a section, stored as JSON under cacheDir("results", <section>, <budget>, <key hash>.json), written
 * atomically and read back when the same section runs again with the same settings (a notebook re-run after a
 * kernel restart reads instead of recomputing).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../util/atomic";
import { cacheDir } from "../util/paths";
import type { AnalysisBudget } from "./budget";

export type SectionId = "4.1" | "4.2" | "4.3" | "4.4" | "4.5";

/** What every result records besides its numbers. */
export interface ResultMeta {
  section: SectionId;
  title: string;
  budget: AnalysisBudget["name"];
  /** The whole budget the result was computed with. */
  settings: AnalysisBudget;
  models: { spec: string; name: string }[];
  tasks: string[];
  /** Examples used per model x task x split, e.g. { "pos": { train: 612, test: 301 } }. */
  sizes: Record<string, Record<string, number>>;
  seeds: { finetune: number; data: number; probe: number[] };
  /** Seconds per step (fine-tuning, extraction, probes, DirectProbe, ...) and in total, of the computing run. */
  timings: Record<string, number>;
  /** Statements computed from the numbers, for notebooks and the CLI to print. */
  findings: string[];
  createdAt: string;
  /** Where this result is stored. */
  file: string;
  /** True when this object was read from the results cache rather than computed now. */
  fromCache: boolean;
  version: number;
}

export interface SectionResult {
  meta: ResultMeta;
}

export const RESULTS_VERSION = 1;
const VERSION = RESULTS_VERSION;

export function resultKey(section: SectionId, budget: AnalysisBudget, extra: unknown = null): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify({ section, budget, extra, version: VERSION }))
    .digest("hex")
    .slice(0, 16);
}

export function resultFile(section: SectionId, budget: AnalysisBudget, extra: unknown = null): string {
  return cacheDir("results", section, budget.name, `${resultKey(section, budget, extra)}.json`);
}

/** The stored result of this section and budget, if any (undefined when missing, unreadable or of another version). */
export function readResult<T extends SectionResult>(file: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8")) as T;
    if (r?.meta?.version !== VERSION) return undefined;
    r.meta.fromCache = true;
    r.meta.file = file;
    return r;
  } catch {
    return undefined;
  }
}

export function writeResult<T extends SectionResult>(file: string, result: T): T {
  writeJsonAtomic(file, { ...result, meta: { ...result.meta, fromCache: false, file } });
  return result;
}

/** Read the stored result, or compute, store and return it (refresh: always compute). */
export async function cachedResult<T extends SectionResult>(file: string, compute: () => Promise<T>, refresh = false): Promise<T> {
  if (!refresh) {
    const r = readResult<T>(file);
    if (r) return r;
  }
  const r = await compute();
  r.meta.file = file;
  r.meta.fromCache = false;
  return writeResult(file, r);
}

/** Copy a result to a file of the user's choice (the CLI's --out), atomically. */
export function exportResult(result: SectionResult, file: string): void {
  writeJsonAtomic(path.resolve(file), result);
}

/** Small timer that adds elapsed seconds to named buckets. */
export class Timings {
  readonly t0 = Date.now();
  readonly buckets: Record<string, number> = {};
  async time<T>(bucket: string, f: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await f();
    } finally {
      this.buckets[bucket] = (this.buckets[bucket] ?? 0) + (Date.now() - t) / 1000;
    }
  }
  add(bucket: string, seconds: number): void {
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + seconds;
  }
  done(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.buckets)) out[k] = Math.round(v * 100) / 100;
    out.total = Math.round((Date.now() - this.t0) / 10) / 100;
    return out;
  }
}
