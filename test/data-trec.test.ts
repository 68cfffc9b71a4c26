import { test } from "node:test";
import * as assert from "node:assert/strict";
import { decodeTrec, parseTrec } from "../lib/data/trec";
import { FtgeoError } from "../lib/util/errors";

test("TREC: label, coarse class and words of each line; blank lines skipped", () => {
  const qs = parseTrec("NUM:date When did Hawaii become a state ?\n\nHUM:ind Who wrote Hamlet ?\n", "t.label");
  assert.deepEqual(qs, [
    { coarse: "NUM", fine: "NUM:date", words: ["When", "did", "Hawaii", "become", "a", "state", "?"], line: 1 },
    { coarse: "HUM", fine: "HUM:ind", words: ["Who", "wrote", "Hamlet", "?"], line: 3 },
  ]);
});

test("TREC: the damaged byte 0xF0 reads as a space, other bytes as Latin-1, lines stay intact", () => {
  const bytes = Buffer.concat([
    Buffer.from("LOC:city Which city has a sister"),
    Buffer.from([0xf0]),
    Buffer.from("city ?\nENTY:other Caf"),
    Buffer.from([0xe9]),
    Buffer.from(" ?\n"),
  ]);
  const qs = parseTrec(decodeTrec(bytes), "t.label");
  assert.equal(qs.length, 2);
  assert.deepEqual(qs[0].words.slice(-3), ["sister", "city", "?"]);
  assert.deepEqual(qs[1].words, ["Caf\u00e9", "?"]);
});

function parseError(text: string): FtgeoError {
  try {
    parseTrec(text, "bad.label");
  } catch (e) {
    assert.ok(e instanceof FtgeoError, `expected FtgeoError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

test("TREC: a line without a label names file, line and the expected format", () => {
  const e = parseError("NUM:date When ?\nWhat is a label ?\n");
  assert.equal(e.message, 'bad.label:2: expected a label "COARSE:fine" followed by the question (e.g. "NUM:date When ...?"), got "What is a label ?"');
  assert.match(parseError("DESC:def\n").message, /^bad\.label:1: label DESC:def has no question after it/);
  assert.match(parseError("desc:def What ?\n").message, /^bad\.label:1: expected a label "COARSE:fine"/);
});
