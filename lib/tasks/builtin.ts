/**
 * The five tasks of Zhou & Srikumar (2022), formed as DirectProbe and Liu et al. (2019) form them:
 * pos and dep from UD English EWT r2.5, ps-role and ps-fxn from STREUSLE 4.2, trec50 from Li & Roth's TREC files.
 */
import * as path from "node:path";
import { readConllu, type ConlluSentence } from "../data/conllu";
import { resolveDataFile } from "../data/files";
import { psInstances, readStreusleJson, type StreusleSentence } from "../data/streusle";
import { readTrec, type TrecQuestion } from "../data/trec";
import { buildTask, LabelIndexer } from "./build";
import type { Example, Split, Task, TaskKind } from "./types";

export interface BuiltinTaskInfo {
  name: string;
  kind: TaskKind;
  description: string;
  splits: string[];
}

export const BUILTIN_TASKS: readonly BuiltinTaskInfo[] = [
  { name: "pos", kind: "token", description: "UPOS tag of each word (UD English EWT r2.5)", splits: ["train", "dev", "test"] },
  {
    name: "dep",
    kind: "pair",
    description: "dependency relation of each (dependent, head) pair, root excluded, subtypes kept (UD English EWT r2.5)",
    splits: ["train", "dev", "test"],
  },
  { name: "ps-role", kind: "token", description: "scene role (ss) of single-token adpositions and possessives (STREUSLE 4.2)", splits: ["train", "dev", "test"] },
  { name: "ps-fxn", kind: "token", description: "function (ss2) of single-token adpositions and possessives (STREUSLE 4.2)", splits: ["train", "dev", "test"] },
  { name: "trec50", kind: "sentence", description: "fine question class, 50 labels (TREC, Li & Roth 2002)", splits: ["train", "test"] },
];

/** Parsed source files, shared by the tasks built on them (pos and dep read EWT once). Keyed by file path. */
const parsed = new Map<string, unknown>();

function cachedParse<T>(file: string, parse: (file: string) => T): T {
  let v = parsed.get(file) as T | undefined;
  if (v === undefined) {
    v = parse(file);
    parsed.set(file, v);
  }
  return v;
}

/** Forget parsed source files (tests that point FTGEO_DATA elsewhere, or after editing data). */
export function clearParsedSources(): void {
  parsed.clear();
}

type Builder = (dataDir: string) => Task;

export const BUILDERS: Record<string, Builder> = {
  pos: (dir) =>
    ewtTask(dir, "pos", "token", (words, sentence, out, labels) => {
      for (let i = 0; i < words.length; i++) out.push({ sentence, targets: [i], label: labels.id(words[i].upos) });
    }),
  // Every word whose head is not 0: the pair (dependent, head), labelled with the deprel as written (nmod:poss).
  dep: (dir) =>
    ewtTask(dir, "dep", "pair", (words, sentence, out, labels) => {
      for (let i = 0; i < words.length; i++) {
        const w = words[i];
        if (w.head !== 0) out.push({ sentence, targets: [i, w.head - 1], label: labels.id(w.deprel) });
      }
    }),
  "ps-role": (dir) => psTask(dir, "ps-role", "role"),
  "ps-fxn": (dir) => psTask(dir, "ps-fxn", "fxn"),
  trec50: (dir) => trecTask(dir),
};

const EWT_FILES: Record<string, string> = {
  train: "en_ewt-ud-train.conllu",
  dev: "en_ewt-ud-dev.conllu",
  test: "en_ewt-ud-test.conllu",
};

/**
 * Words are the syntactic words (integer IDs): multiword-token lines (3-4) and empty nodes (8.1) are not words,
 * so they never become examples or targets.
 */
function ewtTask(
  dataDir: string,
  name: string,
  kind: TaskKind,
  addExamples: (words: ConlluSentence["words"], sentence: number, out: Example[], labels: LabelIndexer) => void,
): Task {
  const dir = path.join(dataDir, "ud_ewt");
  const labels = new LabelIndexer();
  const splits: Split[] = [];
  const files: string[] = [];
  for (const [split, base] of Object.entries(EWT_FILES)) {
    const file = resolveDataFile(dir, base);
    files.push(file);
    const sentences = cachedParse(file, readConllu);
    const examples: Example[] = [];
    for (let s = 0; s < sentences.length; s++) addExamples(sentences[s].words, s, examples, labels);
    const words = cachedParse(file + "#words", () => sentences.map((s) => s.words.map((w) => w.form)));
    splits.push({ name: split, sentences: words, sentenceIds: sentences.map((s) => s.sentId), examples });
  }
  return buildTask(name, kind, files.join(", "), splits, labels);
}

const STREUSLE_FILES: Record<string, string> = {
  // The release ships no train .json here: train is the reconstruction checked against the official statistics
  // (see data/streusle/PROVENANCE.txt); dev and test are the official files.
  train: "train/streusle.ud_train.reconstructed.json",
  dev: "dev/streusle.ud_dev.json",
  test: "test/streusle.ud_test.json",
};

function psTask(dataDir: string, name: string, which: "role" | "fxn"): Task {
  const dir = path.join(dataDir, "streusle");
  const labels = new LabelIndexer();
  const splits: Split[] = [];
  const files: string[] = [];
  for (const [split, base] of Object.entries(STREUSLE_FILES)) {
    const file = resolveDataFile(dir, base);
    files.push(file);
    const sentences = cachedParse<StreusleSentence[]>(file, readStreusleJson);
    const examples: Example[] = [];
    for (const inst of cachedParse(file + "#ps", () => psInstances(sentences))) {
      const label = inst[which];
      if (label !== null) examples.push({ sentence: inst.sentence, targets: [inst.token], label: labels.id(label) });
    }
    const words = cachedParse(file + "#words", () => sentences.map((s) => s.toks.map((t) => t.word)));
    splits.push({ name: split, sentences: words, sentenceIds: sentences.map((s) => s.sentId), examples });
  }
  return buildTask(name, "token", files.join(", "), splits, labels);
}

const TREC_FILES: Record<string, string> = { train: "train_5500.label", test: "TREC_10.label" };

function trecTask(dataDir: string): Task {
  const dir = path.join(dataDir, "trec");
  const labels = new LabelIndexer();
  const splits: Split[] = [];
  const files: string[] = [];
  for (const [split, base] of Object.entries(TREC_FILES)) {
    const file = resolveDataFile(dir, base);
    files.push(file);
    const questions = cachedParse<TrecQuestion[]>(file, readTrec);
    splits.push({
      name: split,
      sentences: questions.map((q) => q.words),
      sentenceIds: questions.map((q) => `${base}:${q.line}`),
      examples: questions.map((q, i) => ({ sentence: i, targets: [], label: labels.id(q.fine) })),
    });
  }
  return buildTask("trec50", "sentence", files.join(", "), splits, labels);
}
