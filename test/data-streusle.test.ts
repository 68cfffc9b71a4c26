import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseStreusleJson, psInstances } from "../lib/data/streusle";
import { FtgeoError } from "../lib/util/errors";

const tok = (n: number, word: string, upos = "X") => ({ "#": n, word, upos, head: 0, deprel: "dep" });
const swe = (toknum: number, lexcat: string, ss: string | null, ss2: string | null) => ({ lexcat, ss, ss2, toknums: [toknum] });

/** Sentence 1 covers every selection case; sentence 2 has no PS instance at all. */
function sample() {
  return [
    {
      sent_id: "r-1",
      text: "My trip to Rome for a week",
      toks: ["My", "trip", "to", "Rome", "for", "a", "week"].map((w, i) => tok(i + 1, w)),
      swes: {
        // Keyed by expression number, listed out of token order on purpose.
        "5": swe(5, "P", "p.Duration", "p.Extent"),
        "1": swe(1, "PRON.POSS", "p.Originator", "p.Gestalt"),
        "2": swe(2, "N", "n.ACT", null),
        "3": swe(3, "P", "p.Goal", "p.Goal"),
        "6": swe(6, "P", "??", "??"), // unannotatable: no instance
        "7": swe(7, "POSS", "`$", null), // non-SNACS possessive: no instance
      },
      // A strong MWE holding an adposition is never an instance (only swes are read).
      smwes: { "1": { lexcat: "P", ss: "p.Locus", ss2: "p.Locus", toknums: [4, 5] } },
      wmwes: {},
    },
    { sent_id: "r-2", text: "Great", toks: [tok(1, "Great")], swes: { "1": swe(1, "ADJ", null, null) }, smwes: {}, wmwes: {} },
  ];
}

test("STREUSLE: PS instances are single-word expressions whose ss / ss2 start with p., in token order", () => {
  const sentences = parseStreusleJson(JSON.stringify(sample()), "s.json");
  assert.deepEqual(sentences.map((s) => s.sentId), ["r-1", "r-2"]);
  assert.deepEqual(sentences[0].toks.map((t) => t.word), ["My", "trip", "to", "Rome", "for", "a", "week"]);
  const inst = psInstances(sentences);
  assert.deepEqual(inst, [
    { sentence: 0, token: 0, lexcat: "PRON.POSS", role: "p.Originator", fxn: "p.Gestalt" },
    { sentence: 0, token: 2, lexcat: "P", role: "p.Goal", fxn: "p.Goal" },
    { sentence: 0, token: 4, lexcat: "P", role: "p.Duration", fxn: "p.Extent" },
  ]);
});

test("STREUSLE: a role without a SNACS function counts for ps-role only", () => {
  const data = sample();
  (data[0].swes as Record<string, unknown>)["3"] = swe(3, "P", "p.Goal", null);
  const inst = psInstances(parseStreusleJson(JSON.stringify(data), "s.json"));
  assert.deepEqual(inst[1], { sentence: 0, token: 2, lexcat: "P", role: "p.Goal", fxn: null });
});

function parseError(text: string): FtgeoError {
  try {
    parseStreusleJson(text, "bad.json");
  } catch (e) {
    assert.ok(e instanceof FtgeoError, `expected FtgeoError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

test("STREUSLE: a record without its fields names file, line, record and the expected fields", () => {
  // Pretty-printed so the records start on different lines: record 2 starts on the line after "},".
  const noSwes = sample() as Record<string, unknown>[];
  delete noSwes[1].swes;
  const text = JSON.stringify(noSwes, null, 1);
  // The record's "{" is on the line just before its sent_id: its 1-based number is the sent_id line's 0-based index.
  const line = text.split("\n").findIndex((l) => l.includes('"r-2"'));
  assert.ok(line > 5);
  const e = parseError(text);
  assert.equal(e.message, `bad.json:${line}: sentence record 2 (sent_id r-2): missing field "swes" (expected an object of single-word expressions {toknums, lexcat, ss, ss2})`);

  const noLexcat = sample();
  delete (noLexcat[0].swes["3"] as Partial<ReturnType<typeof swe>>).lexcat;
  assert.match(parseError(JSON.stringify(noLexcat)).message, /^bad\.json:1: sentence record 1 \(sent_id r-1\): swes\["3"\] missing field "lexcat" \(expected \{toknums, lexcat, ss, ss2\}\)/);

  const noSs2 = sample();
  delete (noSs2[0].swes["5"] as Partial<ReturnType<typeof swe>>).ss2;
  assert.match(parseError(JSON.stringify(noSs2)).message, /swes\["5"\] missing field "ss2" \(expected \{toknums, lexcat, ss, ss2\}, ss2 a string or null\)/);

  const badTok = sample();
  (badTok[0].swes["5"] as { toknums: number[] }).toknums = [9];
  assert.match(parseError(JSON.stringify(badTok)).message, /swes\["5"\]\.toknums is \[9\] \(expected one token number in 1\.\.7\)/);

  const noWord = sample() as { toks: Record<string, unknown>[] }[];
  delete noWord[1].toks[0].word;
  assert.match(parseError(JSON.stringify(noWord)).message, /^bad\.json:1: sentence record 2 \(sent_id r-2\): toks\[0\] missing field "word"/);

  const noToks = sample() as Record<string, unknown>[];
  delete noToks[0].toks;
  assert.match(parseError(JSON.stringify(noToks)).message, /sentence record 1 \(sent_id r-1\): missing field "toks"/);
});

test("STREUSLE: invalid JSON and a non-array top level name the file and line", () => {
  assert.equal(parseError('[\n{"sent_id": "a",\n "toks": [}\n]').message, 'bad.json:3: invalid JSON at column 11: unexpected "}" (expected a JSON array of STREUSLE sentences)');
  assert.match(parseError('[{"sent_id": "a"}').message, /^bad\.json:1: invalid JSON at column 18: unexpected end of file/);
  assert.match(parseError('{"sent_id": "a"}').message, /^bad\.json:1: expected a JSON array of sentences/);
});
