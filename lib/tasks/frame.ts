/**
 * A split's examples as a table for notebooks: plain rows (no dependency), or a danfo DataFrame.
 * danfojs-node is an optional dependency required only here, on first use, so that loading the library (and
 * every CLI command) never pays for it.
 */
import type { DataFrame } from "danfojs-node";
import { argError, FtgeoError } from "../util/errors";
import type { Split, Task } from "./types";

export interface ExampleRow {
  /** The sentence's identifier in its source (sent_id, file:line). */
  sentence_id: string;
  /** The sentence, words joined by spaces. */
  words: string;
  /** Target positions (0-based), space-separated; empty for sentence tasks. */
  targets: string;
  /** The target words ("dependent -> head" for pairs); empty for sentence tasks. */
  target_words: string;
  label: string;
}

export interface TableOptions {
  /** First example (default 0). */
  offset?: number;
  /** At most this many rows (default: all). */
  limit?: number;
}

export function getSplit(task: Task, split: string): Split {
  const s = Object.prototype.hasOwnProperty.call(task.splits, split) ? task.splits[split] : undefined;
  if (!s) throw argError("split", `task ${task.name} has no split ${JSON.stringify(split)} (expected one of: ${Object.keys(task.splits).join(", ")})`);
  return s;
}

/** The examples of one split as plain objects, one per example. */
export function exampleRows(task: Task, split: string, opts: TableOptions = {}): ExampleRow[] {
  const s = getSplit(task, split);
  const offset = opts.offset ?? 0;
  const limit = opts.limit ?? s.examples.length;
  if (!Number.isInteger(offset) || offset < 0) throw argError("offset", `expected a non-negative integer, got ${offset}`);
  if (!Number.isInteger(limit) || limit < 0) throw argError("limit", `expected a non-negative integer, got ${limit}`);
  const end = Math.min(s.examples.length, offset + limit);
  const rows: ExampleRow[] = [];
  for (let i = offset; i < end; i++) {
    const ex = s.examples[i];
    const words = s.sentences[ex.sentence];
    rows.push({
      sentence_id: s.sentenceIds[ex.sentence],
      words: words.join(" "),
      targets: ex.targets.join(" "),
      target_words: ex.targets.map((t) => words[t]).join(" -> "),
      label: task.labels[ex.label],
    });
  }
  return rows;
}

type Danfo = typeof import("danfojs-node");
let danfo: Danfo | undefined;

function loadDanfo(): Danfo {
  if (!danfo) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      danfo = require("danfojs-node") as Danfo;
    } catch (e) {
      throw new FtgeoError(
        `toDataFrame needs the optional package danfojs-node, which could not be loaded (${(e as Error).message.split("\n")[0]}); ` +
          "install it with `npm install` in the project (see environment.md), or use exampleRows() for the same table as plain objects",
      );
    }
  }
  return danfo;
}

/**
 * The examples of one split as a danfo DataFrame with columns sentence_id, words, targets, target_words, label.
 * Large splits (pos train: 204,585 rows) are slow to display: pass a limit.
 */
export function toDataFrame(task: Task, split: string, opts: TableOptions = {}): DataFrame {
  const rows = exampleRows(task, split, opts);
  const dfd = loadDanfo();
  const columns: (keyof ExampleRow)[] = ["sentence_id", "words", "targets", "target_words", "label"];
  if (rows.length === 0) return new dfd.DataFrame([], { columns });
  return new dfd.DataFrame(rows, { columns });
}
