/**
 * Seeded subsets of a task by whole sentences. Every budget derives two views of one task from the same sentence
 * order: the fine-tuning data (larger) and the analysis data (probes, DirectProbe), whose train sentences are a
 * prefix of the fine-tuning train sentences -- so the memorisation experiment's subtest was really seen during
 * fine-tuning, and a kernel restart rebuilds exactly the same subsets.
 */
import { loadTask } from "../tasks/load";
import type { Split, Task } from "../tasks/types";
import { sentencesWithExamples } from "../tasks/stats";
import { argError } from "../util/errors";
import { Rng } from "../util/rng";
import type { SplitSizes } from "./budget";

/**
 * Sentences of `split` (those holding examples) in a seeded random order, cut after the first prefix that holds
 * at least `examples` examples; undefined keeps every sentence in order.
 */
export function chooseSentences(split: Split, examples: number | undefined, seed: number): number[] {
  const withExamples = sentencesWithExamples(split);
  if (examples === undefined) return withExamples;
  if (!(Number.isInteger(examples) && examples > 0)) throw argError("size", `expected a positive number of examples, got ${examples}`);
  const perSentence = new Map<number, number>();
  for (const ex of split.examples) perSentence.set(ex.sentence, (perSentence.get(ex.sentence) ?? 0) + 1);
  const order = new Rng(seed).permutation(withExamples.length).map((i) => withExamples[i]);
  const out: number[] = [];
  let count = 0;
  for (const s of order) {
    if (count >= examples) break;
    out.push(s);
    count += perSentence.get(s) ?? 0;
  }
  return out.sort((a, b) => a - b);
}

/** A split restricted to the given sentences (renumbered in order), with their examples. */
export function restrictSplit(split: Split, sentences: number[]): Split {
  const newIndex = new Map<number, number>();
  sentences.forEach((s, i) => newIndex.set(s, i));
  return {
    name: split.name,
    sentences: sentences.map((s) => split.sentences[s]),
    sentenceIds: sentences.map((s) => split.sentenceIds[s]),
    examples: split.examples.filter((ex) => newIndex.has(ex.sentence)).map((ex) => ({ ...ex, sentence: newIndex.get(ex.sentence)! })),
  };
}

export function sizeTag(sizes: SplitSizes, seed: number): string {
  const parts = (["train", "dev", "test"] as const).filter((k) => sizes[k] !== undefined).map((k) => `${k[0]}${sizes[k]}`);
  return parts.length === 0 ? "" : `${parts.join("-")}-s${seed}`;
}

/**
 * The task restricted to seeded sentence subsets of each split (sizes in examples, at least; whole sentences).
 * The label inventory stays the full task's, so label indices agree across subsets. The name carries the sizes
 * (e.g. "pos~t600-d200-t300-s0"), which keys the caches of everything computed from it.
 */
export function subsetTask(task: Task, sizes: SplitSizes, seed: number): Task {
  const tag = sizeTag(sizes, seed);
  if (!tag) return task;
  const splits: Record<string, Split> = {};
  for (const [name, split] of Object.entries(task.splits)) {
    const n = (sizes as Record<string, number | undefined>)[name];
    // Each split draws its own order from the seed, so changing one split's size leaves the others as they were.
    splits[name] = n === undefined ? split : restrictSplit(split, chooseSentences(split, n, seed + hashName(name)));
  }
  return { ...task, name: `${task.name}~${tag}`, splits };
}

function hashName(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 100003;
}

/**
 * The fine-tuning view and the analysis view of a task under a budget. The analysis view's sentences of each split
 * are a prefix (in the same seeded order) of the fine-tuning view's, when the analysis asks for fewer examples.
 */
export function taskViews(name: string | Task, finetuneSizes: SplitSizes, analysisSizes: SplitSizes, seed: number, dataDir?: string): { full: Task; finetune: Task; analysis: Task } {
  const full = typeof name === "string" ? loadTask(name, { dataDir }) : name;
  for (const s of ["train", "test"]) {
    if (!full.splits[s]) throw argError("task", `task ${full.name} has no ${s} split (has: ${Object.keys(full.splits).join(", ")})`);
  }
  const finetune = subsetTask(full, finetuneSizes, seed);
  // Same seeds as subsetTask: a smaller size takes a prefix of the same order.
  const sizes: SplitSizes = {};
  for (const k of ["train", "dev", "test"] as const) {
    const a = analysisSizes[k];
    const f = finetuneSizes[k];
    sizes[k] = a === undefined ? f : f === undefined ? a : Math.min(a, f);
  }
  const analysis = subsetTask(full, sizes, seed);
  return { full, finetune, analysis };
}

/** Distinct labels among a split's examples (DirectProbe compares its cluster count with this). */
export function labelsPresent(split: Split): number[] {
  const seen = new Set<number>();
  for (const ex of split.examples) seen.add(ex.label);
  return [...seen].sort((a, b) => a - b);
}
