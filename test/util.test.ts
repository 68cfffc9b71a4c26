import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Rng } from "../lib/util/rng";
import { writeJsonAtomic } from "../lib/util/atomic";

test("Rng: same seed, same stream; different seeds differ", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  const xb = Array.from({ length: 5 }, () => b.nextU32());
  const xc = Array.from({ length: 5 }, () => c.nextU32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test("Rng: uniform mean and normal moments are close to their closed forms", () => {
  const r = new Rng(7);
  const n = 200000;
  let su = 0;
  let sn = 0;
  let sn2 = 0;
  for (let i = 0; i < n; i++) {
    su += r.next();
    const z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.005);
  assert.ok(Math.abs(sn / n) < 0.01);
  assert.ok(Math.abs(sn2 / n - 1) < 0.02);
});

test("Rng: state round-trips so a resumed run continues the same stream", () => {
  const r = new Rng(1);
  r.nextU32();
  const s = r.getState();
  const expected = [r.nextU32(), r.nextU32()];
  const q = new Rng(999);
  q.setState(s);
  assert.deepEqual([q.nextU32(), q.nextU32()], expected);
});

test("writeJsonAtomic leaves no temporary files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-"));
  const f = path.join(dir, "x.json");
  writeJsonAtomic(f, { a: 1 });
  assert.deepEqual(JSON.parse(fs.readFileSync(f, "utf8")), { a: 1 });
  assert.deepEqual(fs.readdirSync(dir), ["x.json"]);
});

test("withAtomicDir: a fill that throws leaves neither the folder nor a partial copy", () => {
  const { withAtomicDir } = require("../lib/util/atomic") as typeof import("../lib/util/atomic");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-"));
  const target = path.join(dir, "out");
  assert.throws(() =>
    withAtomicDir(target, (tmp) => {
      fs.writeFileSync(path.join(tmp, "half"), "x");
      throw new Error("boom");
    }),
  );
  assert.deepEqual(fs.readdirSync(dir), []);
});
