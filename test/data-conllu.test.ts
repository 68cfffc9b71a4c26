import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { parseConllu, readConllu } from "../lib/data/conllu";
import { FtgeoError } from "../lib/util/errors";

const row = (...cols: (string | number)[]) => cols.join("\t");

// Two sentences: the first has a multiword token (3-4 "don't") and an empty node (4.1), the second no comments.
const SAMPLE = [
  "# newdoc id = doc1",
  "# sent_id = s1",
  "# text = I do n't know",
  row(1, "I", "I", "PRON", "PRP", "_", 4, "nsubj", "4:nsubj", "_"),
  row(2, "do", "do", "AUX", "VBP", "_", 4, "aux", "4:aux", "_"),
  row("3-4", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
  row(3, "n't", "not", "PART", "RB", "_", 4, "advmod", "4:advmod", "_"),
  row(4, "know", "know", "VERB", "VB", "VerbForm=Inf", 0, "root", "0:root", "SpaceAfter=No"),
  row("4.1", "knew", "know", "VERB", "VBD", "_", "_", "_", "4:conj", "CopyOf=4"),
  "",
  row(1, "Hi", "hi", "INTJ", "UH", "_", 0, "root", "0:root", "_"),
  row(2, "!", "!", "PUNCT", ".", "_", 1, "punct", "1:punct", "_"),
  "",
].join("\n");

test("CoNLL-U: comments, multiword ranges and empty nodes are kept apart from the words", () => {
  const [s1, s2] = parseConllu(SAMPLE, "sample.conllu");
  assert.equal(s1.sentId, "s1");
  assert.equal(s1.text, "I do n't know");
  assert.equal(s1.comments["newdoc id"], "doc1");
  assert.deepEqual(s1.words.map((w) => w.form), ["I", "do", "n't", "know"]);
  assert.deepEqual(s1.words.map((w) => w.head), [4, 4, 4, 0]);
  assert.deepEqual(s1.multiwords, [{ first: 3, last: 4, form: "don't" }]);
  assert.deepEqual(s1.emptyNodes.map((e) => e.id), ["4.1"]);
  assert.equal(s1.line, 1);
  // Lazily read columns come back exactly as written.
  assert.equal(s1.words[3].feats, "VerbForm=Inf");
  assert.equal(s1.words[3].misc, "SpaceAfter=No");
  assert.equal(s1.words[2].lemma, "not");
  assert.equal(s1.words[0].xpos, "PRP");
  assert.equal(s1.words[0].deps, "4:nsubj");
  assert.deepEqual(s1.words[1].toJSON(), {
    id: 2, form: "do", lemma: "do", upos: "AUX", xpos: "VBP", feats: "_", head: 4, deprel: "aux", deps: "4:aux", misc: "_",
  });
  // Without "# sent_id" the sentence is named by file and line.
  assert.equal(s2.sentId, "sample.conllu:11");
  assert.equal(s2.words.length, 2);
});

test("CoNLL-U: CRLF line ends and a missing final blank line are accepted", () => {
  const crlf = SAMPLE.replace(/\n/g, "\r\n").replace(/(\r\n)+$/, "");
  const sentences = parseConllu(crlf, "crlf.conllu");
  assert.equal(sentences.length, 2);
  assert.equal(sentences[0].words[3].misc, "SpaceAfter=No");
  assert.equal(sentences[1].words[1].misc, "_");
});

function parseError(text: string): FtgeoError {
  try {
    parseConllu(text, "bad.conllu");
  } catch (e) {
    assert.ok(e instanceof FtgeoError, `expected FtgeoError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

test("CoNLL-U: a line with too few columns names file, line and the 10 expected columns", () => {
  const bad = SAMPLE.replace(row(2, "do", "do", "AUX", "VBP", "_", 4, "aux", "4:aux", "_"), "2\tdo\tdo\tAUX VBP _ 4 aux");
  const e = parseError(bad);
  assert.match(e.message, /^bad\.conllu:5: expected 10 tab-separated columns \(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC\), got 4/);
});

test("CoNLL-U: a line with too many columns is rejected", () => {
  const e = parseError(row(1, "a", "a", "X", "X", "_", 0, "root", "_", "_", "extra") + "\n");
  assert.match(e.message, /^bad\.conllu:1: expected 10 tab-separated columns .*got 11/);
});

test("CoNLL-U: bad IDs, out-of-sequence IDs and bad heads name the line and what was expected", () => {
  const one = (id: string | number, head: string | number) => row(id, "w", "w", "X", "X", "_", head, "dep", "_", "_");
  assert.match(parseError(one("x", 0)).message, /^bad\.conllu:1: bad ID "x" \(expected an integer, a range like 3-4, or an empty node like 8\.1\)/);
  assert.match(parseError([one(1, 0), one(3, 1)].join("\n")).message, /^bad\.conllu:2: word ID 3 out of sequence \(expected 2\)/);
  assert.match(parseError([one(1, 0), one(2, "_")].join("\n")).message, /^bad\.conllu:2: HEAD "_" is not a word ID \(expected 0 or a positive integer\)/);
  assert.match(parseError([one(1, 0), one(2, 5)].join("\n")).message, /^bad\.conllu:2: HEAD 5 is beyond the last word 2 of the sentence \(expected 0\.\.2\)/);
  assert.match(parseError([one(1, 1)].join("\n")).message, /^bad\.conllu:1: HEAD 1 points at the word itself/);
  assert.match(parseError([one(1, 0), one("3-2", 0)].join("\n")).message, /^bad\.conllu:2: multiword range 3-2 is empty or reversed/);
  assert.match(parseError([one(1, 0), one("1.1", "_"), one(2, 1), one("1.2", "_")].join("\n")).message, /^bad\.conllu:4: empty node 1\.2 out of place/);
  assert.match(parseError([one(1, 0), "# late comment"].join("\n")).message, /^bad\.conllu:2: comment line inside a sentence/);
  assert.match(parseError(["# sent_id = only-comments", ""].join("\n")).message, /^bad\.conllu:1: sentence has no word lines/);
});

test("CoNLL-U files: gzipped and plain read the same; a missing file names itself", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-conllu-"));
  try {
    fs.writeFileSync(path.join(dir, "a.conllu"), SAMPLE);
    fs.writeFileSync(path.join(dir, "a.conllu.gz"), zlib.gzipSync(SAMPLE));
    const plain = readConllu(path.join(dir, "a.conllu"));
    const gz = readConllu(path.join(dir, "a.conllu.gz"));
    assert.deepEqual(gz.map((s) => s.words.map((w) => w.toJSON())), plain.map((s) => s.words.map((w) => w.toJSON())));
    const missing = path.join(dir, "nope.conllu");
    assert.throws(() => readConllu(missing), (e: Error) => e instanceof FtgeoError && e.message === `${missing}: file not found`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
