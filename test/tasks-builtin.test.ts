/**
 * End-to-end test of the data stage: the five tasks load from the committed data with the counts of the paper and
 * of the datasets' provenance statistics (computed independently when the data were prepared).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { listTasks, loadTask } from "../lib/tasks/load";
import { sentencesWithExamples, taskStats } from "../lib/tasks/stats";
import { formatTable, run, tasksReport } from "../lib/cli/tasks";
import { dataDir } from "../lib/util/paths";
import { FtgeoError } from "../lib/util/errors";
import type { Task } from "../lib/tasks/types";

type Expected = Record<string, { sentences: number; examples: number; labels: number }>;

function assertSplits(task: Task, expected: Expected): void {
  const stats = taskStats(task);
  assert.deepEqual(stats.splits.map((s) => s.split), Object.keys(expected));
  for (const s of stats.splits) assert.deepEqual({ sentences: s.sentences, examples: s.examples, labels: s.labels }, expected[s.split], `${task.name} ${s.split}`);
}

/** Every example's targets lie inside its sentence and its label indexes the inventory. */
function assertWellFormed(task: Task, nTargets: number): void {
  for (const split of Object.values(task.splits)) {
    assert.equal(split.sentenceIds.length, split.sentences.length);
    for (const ex of split.examples) {
      const words = split.sentences[ex.sentence];
      assert.ok(words !== undefined, `${task.name} ${split.name}: sentence ${ex.sentence} exists`);
      assert.equal(ex.targets.length, nTargets);
      for (const t of ex.targets) assert.ok(Number.isInteger(t) && t >= 0 && t < words.length);
      assert.ok(Number.isInteger(ex.label) && ex.label >= 0 && ex.label < task.labels.length);
    }
  }
  assert.deepEqual([...task.labels].sort(), task.labels, "labels sorted");
  assert.equal(new Set(task.labels).size, task.labels.length, "labels distinct");
}

test("pos: UPOS per word, EWT r2.5: 204,585 / 25,148 / 25,096 words, 17 labels", () => {
  const pos = loadTask("pos");
  assert.equal(pos.kind, "token");
  assertSplits(pos, {
    train: { sentences: 12543, examples: 204585, labels: 17 },
    dev: { sentences: 2002, examples: 25148, labels: 17 },
    test: { sentences: 2077, examples: 25096, labels: 17 },
  });
  assert.deepEqual(pos.labels, ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]);
  assertWellFormed(pos, 1);
  const train = pos.splits.train;
  assert.equal(train.sentenceIds[0], "weblog-juancole.com_juancole_20051126063000_ENG_20051126_063000-0001");
  assert.deepEqual(train.sentences[0].slice(0, 4), ["Al", "-", "Zaman", ":"]);
  assert.deepEqual(train.examples.slice(0, 2).map((e) => [e.sentence, e.targets, pos.labels[e.label]]), [[0, [0], "PROPN"], [0, [1], "PUNCT"]]);
});

test("dep: (dependent, head) for every non-root word, deprel with subtypes: 192,042 train pairs", () => {
  const dep = loadTask("dep");
  assert.equal(dep.kind, "pair");
  assertSplits(dep, {
    train: { sentences: 12543, examples: 192042, labels: 48 },
    dev: { sentences: 2002, examples: 23146, labels: 46 },
    test: { sentences: 2077, examples: 23019, labels: 48 },
  });
  assert.ok(!dep.labels.includes("root"));
  assert.ok(dep.labels.includes("nmod:poss") && dep.labels.includes("csubj:pass"));
  assertWellFormed(dep, 2);
  // "From the AP comes this story :" -- From <-case- AP.
  const dev = dep.splits.dev;
  const first = dev.examples[0];
  assert.deepEqual([dev.sentences[first.sentence][first.targets[0]], dev.sentences[first.sentence][first.targets[1]], dep.labels[first.label]], ["From", "AP", "case"]);
});

test("pos and dep counts agree with a line-level count of the raw CoNLL-U (integer IDs; HEAD not 0)", () => {
  for (const [split, file] of [["train", "en_ewt-ud-train.conllu.gz"], ["test", "en_ewt-ud-test.conllu.gz"]]) {
    const text = zlib.gunzipSync(fs.readFileSync(path.join(dataDir(), "ud_ewt", file))).toString("utf8");
    const words = text.match(/^\d+\t/gm)?.length ?? 0;
    const roots = text.match(/^\d+\t(?:[^\t\n]*\t){5}0\t/gm)?.length ?? 0;
    const sentences = text.match(/^# sent_id = /gm)?.length ?? 0;
    assert.equal(loadTask("pos").splits[split].examples.length, words, split);
    assert.equal(loadTask("dep").splits[split].examples.length, words - roots, split);
    assert.equal(loadTask("pos").splits[split].sentences.length, sentences, split);
  }
});

test("ps-role / ps-fxn: STREUSLE 4.2 single-token adpositions and possessives, 4,282 / 433 / 457", () => {
  const role = loadTask("ps-role");
  const fxn = loadTask("ps-fxn");
  assertSplits(role, {
    train: { sentences: 2723, examples: 4282, labels: 46 },
    dev: { sentences: 554, examples: 433, labels: 41 },
    test: { sentences: 535, examples: 457, labels: 40 },
  });
  assertSplits(fxn, {
    train: { sentences: 2723, examples: 4282, labels: 40 },
    dev: { sentences: 554, examples: 433, labels: 36 },
    test: { sentences: 535, examples: 457, labels: 35 },
  });
  // p.InsteadOf occurs only in dev, so the inventory (union of splits) has one role more than train.
  assert.equal(role.labels.length, 47);
  assert.equal(fxn.labels.length, 40);
  assert.ok(role.labels.every((l) => l.startsWith("p.")) && fxn.labels.every((l) => l.startsWith("p.")));
  assertWellFormed(role, 1);
  // In 4.2 every instance has both labels, so both tasks target the same tokens.
  for (const split of ["train", "dev", "test"]) {
    assert.deepEqual(role.splits[split].examples.map((e) => [e.sentence, e.targets[0]]), fxn.splits[split].examples.map((e) => [e.sentence, e.targets[0]]));
  }
  assert.equal(sentencesWithExamples(role.splits.train).length, 1857);
  assert.equal(sentencesWithExamples(role.splits.dev).length, 256);
  assert.equal(sentencesWithExamples(role.splits.test).length, 249);
  // "I had a routine surgery for an ingrown toenail." -- for: p.Purpose.
  const train = role.splits.train;
  const ex = train.examples.find((e) => train.sentenceIds[e.sentence] === "reviews-003418-0002")!;
  assert.equal(train.sentences[ex.sentence][ex.targets[0]], "for");
  assert.equal(role.labels[ex.label], "p.Purpose");
});

test("trec50: one example per question, fine label: train 5,452 (50 labels), test 500 (42 labels)", () => {
  const trec = loadTask("trec50");
  assert.equal(trec.kind, "sentence");
  assertSplits(trec, {
    train: { sentences: 5452, examples: 5452, labels: 50 },
    test: { sentences: 500, examples: 500, labels: 42 },
  });
  assertWellFormed(trec, 0);
  assert.ok(trec.labels.includes("NUM:volsize") && trec.labels.every((l) => /^[A-Z]+:[a-z]+$/.test(l)));
  const train = trec.splits.train;
  assert.equal(train.sentenceIds[65], "train_5500.label:66");
  assert.deepEqual(train.sentences[65].slice(8, 11), ["sister", "city", "with"]);
});

test("loadTask memoises, lists the known tasks in unknown-name errors, and names a missing file", () => {
  assert.equal(loadTask("pos"), loadTask("pos"));
  assert.deepEqual(listTasks().map((t) => t.name), ["pos", "dep", "ps-role", "ps-fxn", "trec50"]);
  assert.throws(() => loadTask("ner"), (e: Error) => e instanceof FtgeoError && /^unknown task "ner"; expected one of: pos, dep, ps-role, ps-fxn, trec50/.test(e.message));
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-nodata-"));
  try {
    assert.throws(
      () => loadTask("trec50", { dataDir: empty }),
      (e: Error) =>
        e instanceof FtgeoError && e.message === `${path.join(empty, "trec", "train_5500.label")}: file not found (expected train_5500.label or train_5500.label.gz in ${path.join(empty, "trec")}; set FTGEO_DATA to the data folder)`,
    );
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test("a malformed line in a data folder's file surfaces with file and line through loadTask", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-baddata-"));
  try {
    fs.mkdirSync(path.join(dir, "trec"));
    fs.writeFileSync(path.join(dir, "trec", "train_5500.label"), "NUM:date When ?\nno label here\n");
    fs.writeFileSync(path.join(dir, "trec", "TREC_10.label"), "NUM:date When ?\n");
    assert.throws(() => loadTask("trec50", { dataDir: dir }), (e: Error) => e instanceof FtgeoError && e.message.startsWith(`${path.join(dir, "trec", "train_5500.label")}:2: expected a label`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("ftgeo tasks: table and JSON report every task and split, with the load time", async () => {
  // Tasks are memoised by the tests above, so this measures the report, not a cold load (bench: ftgeo tasks).
  const report = tasksReport();
  assert.ok(report.loadSeconds > 0);
  assert.deepEqual(report.tasks.map((t) => t.task), ["pos", "dep", "ps-role", "ps-fxn", "trec50"]);
  const table = formatTable(report);
  assert.match(table, /^pos +token +train +12,543 +204,585 +17$/m);
  assert.match(table, /^trec50 +sentence +test +500 +500 +42$/m);
  assert.match(table, /loaded 5 task\(s\), every split, in \d+\.\d\d s$/);

  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(await run(["--json", "--task", "ps-fxn,trec50"]), 0);
  } finally {
    console.log = log;
  }
  const json = JSON.parse(lines.join("\n"));
  assert.deepEqual(json.tasks.map((t: { task: string }) => t.task), ["ps-fxn", "trec50"]);
  assert.deepEqual(json.tasks[1].splits[0], { split: "train", sentences: 5452, examples: 5452, labels: 50 });
  assert.equal(typeof json.loadSeconds, "number");
  await assert.rejects(run(["--task", "nope"]), /unknown task "nope"/);
  await assert.rejects(run(["extra"]), /argument extra: unexpected argument/);
});
