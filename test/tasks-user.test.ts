import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadUserTask, taskFromRows } from "../lib/tasks/user";
import { exampleRows } from "../lib/tasks/frame";
import { FtgeoError } from "../lib/util/errors";
import type { Task } from "../lib/tasks/types";

function withDir(fn: (dir: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-user-"));
  try {
    fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The same small token task in every format: two sentences in train (one with two examples), one in test. */
function assertNegationTask(task: Task, name: string): void {
  assert.equal(task.name, name);
  assert.equal(task.kind, "token");
  assert.deepEqual(task.labels, ["NEG", "O"]);
  assert.deepEqual(Object.keys(task.splits), ["train", "test"]);
  const train = task.splits.train;
  assert.deepEqual(train.sentences, [["I", "do", "n't", "know"], ["no", ",", "thanks"]]);
  assert.deepEqual(train.examples, [
    { sentence: 0, targets: [2], label: 0 },
    { sentence: 0, targets: [3], label: 1 },
    { sentence: 1, targets: [0], label: 0 },
  ]);
  assert.deepEqual(task.splits.test.sentences, [["never", "again"]]);
  assert.deepEqual(task.splits.test.examples, [{ sentence: 0, targets: [0], label: 0 }]);
}

test("user task from CSV: quoted fields with commas, JSON token arrays, split column", () => {
  withDir((dir) => {
    const file = path.join(dir, "negation.csv");
    fs.writeFileSync(
      file,
      [
        "tokens,targets,label,split,note",
        "I do n't know,2,NEG,train,",
        "I do n't know,3,O,train,\"a note, with a comma and \"\"quotes\"\"\"",
        '"[""no"", "","", ""thanks""]",0,NEG,train,',
        "never again,0,NEG,test,",
        "",
      ].join("\r\n"),
    );
    assertNegationTask(loadUserTask(file), "negation");
  });
});

test("user task from TSV and from JSONL (tokens as arrays or strings, targets as numbers or arrays)", () => {
  withDir((dir) => {
    const tsv = path.join(dir, "neg.tsv");
    fs.writeFileSync(tsv, ["words\ttarget\tlabel\tsplit", "I do n't know\t2\tNEG\ttrain", "I do n't know\t[3]\tO\ttrain", "no , thanks\t0\tNEG\ttrain", "never again\t0\tNEG\ttest"].join("\n") + "\n");
    assertNegationTask(loadUserTask(tsv, { name: "neg-tsv" }), "neg-tsv");

    const jsonl = path.join(dir, "neg.jsonl");
    fs.writeFileSync(
      jsonl,
      [
        { tokens: ["I", "do", "n't", "know"], targets: [2], label: "NEG" },
        { tokens: "I do n't know", targets: 3, label: "O", split: "train" },
        {},
        { tokens: ["no", ",", "thanks"], targets: "0", label: "NEG" },
        { tokens: "never again", targets: [0], label: "NEG", split: "test" },
      ]
        .map((o) => (Object.keys(o).length === 0 ? "" : JSON.stringify(o)))
        .join("\n"),
    );
    assertNegationTask(loadUserTask(jsonl), "neg");
  });
});

test("user task from one file per split; kind follows the number of targets", () => {
  withDir((dir) => {
    const train = path.join(dir, "train.tsv");
    const test_ = path.join(dir, "test.tsv");
    fs.writeFileSync(train, "tokens\ttargets\tlabel\nthe cat sat\t1 2\tnsubj\nthe cat sat\t0,1\tdet\n");
    fs.writeFileSync(test_, "tokens\ttargets\tlabel\na dog ran\t[1, 2]\tnsubj\n");
    const pair = loadUserTask({ train, test: test_ }, { name: "arcs" });
    assert.equal(pair.kind, "pair");
    assert.deepEqual(pair.splits.train.examples.map((e) => e.targets), [[1, 2], [0, 1]]);
    assert.equal(pair.splits.train.sentences.length, 1);
    assert.deepEqual(exampleRows(pair, "test"), [{ sentence_id: "test.tsv:2", words: "a dog ran", targets: "1 2", target_words: "dog -> ran", label: "nsubj" }]);

    const sentences = path.join(dir, "sent.csv");
    fs.writeFileSync(sentences, "text,label\nwhat a day,POS\nawful,NEG\n");
    const sent = loadUserTask(sentences, { split: "dev" });
    assert.equal(sent.kind, "sentence");
    assert.deepEqual(Object.keys(sent.splits), ["dev"]);
    assert.deepEqual(sent.splits.dev.examples, [{ sentence: 0, targets: [], label: 1 }, { sentence: 1, targets: [], label: 0 }]);
  });
});

test("taskFromRows: a task defined in a notebook cell", () => {
  const task = taskFromRows("cell", [
    { tokens: "I do n't know", targets: 2, label: "NEG" },
    { tokens: ["I", "do", "n't", "know"], targets: [3], label: "O" },
    { tokens: "no , thanks", targets: [0], label: "NEG" },
    { tokens: "never again", targets: 0, label: "NEG", split: "test" },
  ]);
  assertNegationTask(task, "cell");
  assert.equal(task.splits.train.sentenceIds[0], "rows[0]");
  // An explicit id keeps identical sentences apart.
  const ids = taskFromRows("ids", [{ tokens: "a b", label: "x", id: "s1" }, { tokens: "a b", label: "y", id: "s2" }]);
  assert.deepEqual(ids.splits.train.sentenceIds, ["s1", "s2"]);
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FtgeoError, `expected FtgeoError, got ${e}`);
    return e.message;
  }
  assert.fail("expected an error");
}

test("user task errors name file, line and column (or the row) and what was expected", () => {
  withDir((dir) => {
    const write = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const noLabel = write("a.csv", "tokens,targets\nx y,0\n");
    assert.equal(errorOf(() => loadUserTask(noLabel)), `${noLabel}:1: missing column "label" in the header (expected tokens and label, optionally targets, split, id; got "tokens", "targets")`);
    const badTarget = write("b.csv", "tokens,targets,label\nx y,0,A\nx y,5,B\n");
    assert.equal(errorOf(() => loadUserTask(badTarget)), `${badTarget}:3: column "targets": position 5 is not a word of the sentence (expected an integer 0..1, 0-based)`);
    const mixed = write("c.tsv", "tokens\ttargets\tlabel\nx y\t0\tA\nx y\t0 1\tB\n");
    assert.match(errorOf(() => loadUserTask(mixed)), new RegExp(`^${escape(mixed)}:3: column "targets": has 2 position\\(s\\) but c\\.tsv:2 has 1 \\(expected the same number in every row`));
    const tooMany = write("d.tsv", "tokens\ttargets\tlabel\na b c\t0 1 2\tA\n");
    assert.equal(errorOf(() => loadUserTask(tooMany)), `${tooMany}:2: column "targets": has 3 positions (expected none, one or two)`);
    const emptyLabel = write("e.csv", "tokens,label\nx y,\n");
    assert.equal(errorOf(() => loadUserTask(emptyLabel)), `${emptyLabel}:2: column "label": is "" (expected a non-empty label)`);
    const ragged = write("f.csv", "tokens,label\nx y,A,extra\n");
    assert.equal(errorOf(() => loadUserTask(ragged)), `${ragged}:2: expected 2 comma-separated fields like the header, got 3`);
    const badJson = write("g.jsonl", '{"tokens": "a", "label": "A"}\n{"tokens": "a", label: "A"}\n');
    assert.match(errorOf(() => loadUserTask(badJson)), new RegExp(`^${escape(badJson)}:2: invalid JSON \\(.*expected one object \\{tokens, targets, label, split\\?\\} per line\\)`));
    const noTokens = write("h.jsonl", '{"label": "A"}\n');
    assert.equal(errorOf(() => loadUserTask(noTokens)), `${noTokens}:1: field "tokens": is undefined (expected space-separated words or a non-empty array of non-empty strings)`);
    const unclosed = write("i.csv", 'tokens,label\n"x y,A\n');
    assert.equal(errorOf(() => loadUserTask(unclosed)), `${unclosed}:2: unterminated quoted field (expected a closing double quote)`);
    const wrongSplit = write("j.csv", "tokens,label,split\nx,A,test\n");
    assert.equal(errorOf(() => loadUserTask({ train: wrongSplit })), `${wrongSplit}:2: column "split": is "test" but the file was given as split "train"`);
    const odd = write("k.txt", "tokens,label\n");
    assert.equal(errorOf(() => loadUserTask(odd)), `${odd}: unknown file type (expected .csv, .tsv or .jsonl, or pass the format option)`);
    const missing = path.join(dir, "missing.csv");
    assert.equal(errorOf(() => loadUserTask(missing)), `${missing}: file not found (expected a CSV, TSV or JSONL task file)`);
  });
  assert.equal(errorOf(() => taskFromRows("x", [{ tokens: "a b", targets: [0], label: "A" }, { tokens: "a b", targets: [-1], label: "A" }])), 'argument rows[1].targets: position -1 is not a word of the sentence (expected an integer 0..1, 0-based)');
  assert.equal(errorOf(() => taskFromRows("x", [])), 'task "x" from (in-memory rows): no rows (expected at least one example)');
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
