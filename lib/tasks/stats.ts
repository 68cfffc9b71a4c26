import type { Split, Task } from "./types";

export interface SplitStats {
  split: string;
  sentences: number;
  examples: number;
  /** Distinct labels among this split's examples. */
  labels: number;
}

export interface TaskStats {
  task: string;
  kind: Task["kind"];
  /** Size of the label inventory (union over splits). */
  labels: number;
  splits: SplitStats[];
}

export function splitStats(split: Split): SplitStats {
  const seen = new Set<number>();
  for (const ex of split.examples) seen.add(ex.label);
  return { split: split.name, sentences: split.sentences.length, examples: split.examples.length, labels: seen.size };
}

export function taskStats(task: Task): TaskStats {
  return { task: task.name, kind: task.kind, labels: task.labels.length, splits: Object.values(task.splits).map(splitStats) };
}

/**
 * Indices of the sentences that hold at least one example, in order. A split keeps every sentence of its source
 * (STREUSLE train has 2,723 sentences, 1,857 with a PS instance): an encoder pass can skip the rest.
 */
export function sentencesWithExamples(split: Split): number[] {
  const used = new Uint8Array(split.sentences.length);
  for (const ex of split.examples) used[ex.sentence] = 1;
  const out: number[] = [];
  for (let i = 0; i < used.length; i++) if (used[i]) out.push(i);
  return out;
}
