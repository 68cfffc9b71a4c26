import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

test("end to end: ftgeo probe direct on the embedded model (no --model), 150 PS-fxn examples, --out writes clusters and distances", async () => {
  process.env.FTGEO_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-direct-e2e-"));
  const out = path.join(process.env.FTGEO_CACHE, "direct-out");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const cli = require("../lib/cli/probe/direct") as { run(argv: string[]): Promise<number> };
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  let code: number;
  try {
    code = await cli.run(["--task", "ps-fxn", "--limit", "150", "--out", out]);
  } finally {
    console.log = log;
  }
  assert.equal(code, 0);
  const r = JSON.parse(lines[lines.length - 1]);
  assert.equal(r.n, 150);
  assert.equal(r.dim, 128);
  assert.ok(r.clusters >= r.labels && r.labels > 1);
  assert.equal(r.linear, r.clusters === r.labels);
  assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
  const clusters = JSON.parse(fs.readFileSync(path.join(out, "clusters.json"), "utf8"));
  const members = clusters.clusters.flatMap((c: { members: number[] }) => c.members).sort((a: number, b: number) => a - b);
  assert.deepEqual(members, Array.from({ length: 150 }, (_, i) => i).filter((i) => !r.conflicting.includes(i)));
  const d = JSON.parse(fs.readFileSync(path.join(out, "distances.json"), "utf8"));
  assert.equal(d.clusterDistances.length, r.clusters);
  assert.equal(d.labelDistances.length, r.labels);
});
