import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { NpyRowWriter, readNpy, readNpyFloat32, readNpyHeader, readNpyInt32, readNpyRows, readNpyRowsAt, writeNpy } from "../lib/reps/npy";
import { repoRoot } from "../lib/util/paths";

const fixtures = path.join(repoRoot(), "test", "fixtures", "reps");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-npy-"));

test("npy: files written by numpy (v1 and v2 headers, float32 and int32) read back exactly", () => {
  const a = readNpyFloat32(path.join(fixtures, "f32_3x4.npy"));
  assert.deepEqual(a.shape, [3, 4]);
  const expected = Float32Array.from({ length: 12 }, (_, i) => i / 8 - 0.5);
  expected[1 * 4 + 2] = Math.fround(1e-30);
  expected[2 * 4 + 3] = Math.fround(-3.4e38);
  assert.deepEqual(a.data, expected);
  const b = readNpyInt32(path.join(fixtures, "i32_5.npy"));
  assert.deepEqual(b.shape, [5]);
  assert.deepEqual(Array.from(b.data), [0, -1, 2 ** 31 - 1, -(2 ** 31), 7]);
  const c = readNpyFloat32(path.join(fixtures, "f32_2x3_v2.npy"));
  assert.deepEqual(c.shape, [2, 3]);
  assert.deepEqual(Array.from(c.data), [1.5, -2, 3, 4, 5, 6.25]);
});

test("npy: unsupported dtype, Fortran order, truncation and non-npy files are named errors", () => {
  assert.throws(() => readNpy(path.join(fixtures, "f64_2.npy")), /f64_2\.npy: dtype <f8 is not supported/);
  assert.throws(() => readNpy(path.join(fixtures, "f32_fortran.npy")), /Fortran-order/);
  const dir = tmp();
  const cut = path.join(dir, "cut.npy");
  const bytes = fs.readFileSync(path.join(fixtures, "f32_3x4.npy"));
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => readNpy(cut), /cut\.npy: size 172 bytes does not match header shape \[3,4\]/);
  fs.writeFileSync(path.join(dir, "x.npy"), "hello");
  assert.throws(() => readNpy(path.join(dir, "x.npy")), /not a \.npy file/);
});

test("npy: round trip, row ranges and scattered rows", () => {
  const dir = tmp();
  const file = path.join(dir, "a.npy");
  const data = Float32Array.from({ length: 7 * 5 }, (_, i) => Math.sin(i) * 1e3);
  writeNpy(file, data, [7, 5]);
  const h = readNpyHeader(file);
  assert.equal(h.dataOffset % 64, 0, "data is 64-byte aligned like numpy's");
  assert.deepEqual(readNpyFloat32(file).data, data);
  assert.deepEqual(readNpyRows(file, 2, 5).data, data.subarray(10, 25));
  assert.deepEqual(Array.from(readNpyRowsAt(file, [6, 0, 1, 2, 4]).data), [...data.subarray(30, 35), ...data.subarray(0, 15), ...data.subarray(20, 25)]);
  assert.throws(() => readNpyRows(file, 3, 8), /row range \[3, 8\) is outside \[0, 7\)/);
  const ints = Int32Array.from([3, -4, 5]);
  writeNpy(path.join(dir, "i.npy"), ints, [3]);
  assert.deepEqual(readNpyInt32(path.join(dir, "i.npy")).data, ints);
});

test("npy: the row writer appends, resumes after a crash and is unreadable until finished", () => {
  const dir = tmp();
  const file = path.join(dir, "rows.npy");
  const w = new NpyRowWriter(file, 3);
  w.append(Float32Array.from([1, 2, 3, 4, 5, 6]));
  w.sync();
  w.close(); // "crash": not finished
  assert.throws(() => readNpy(file), /does not match header shape \[0,3\]/);
  // Garbage after the last synced row (a half-written chunk) is cut on resume.
  fs.appendFileSync(file, Buffer.alloc(5));
  const w2 = new NpyRowWriter(file, 3, 2);
  w2.append(Float32Array.from([7, 8, 9]));
  w2.finish();
  const a = readNpyFloat32(file);
  assert.deepEqual(a.shape, [3, 3]);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => new NpyRowWriter(file, 3, 10), /cannot resume/);
});

test("npy: numpy reads the files we write (when Debian's python3 with numpy is present)", (t) => {
  const py = "/usr/bin/python3";
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  if (!fs.existsSync(py) || spawnSync(py, ["-c", "import numpy"]).status !== 0) {
    t.skip("no /usr/bin/python3 with numpy");
    return;
  }
  const dir = tmp();
  const data = Float32Array.from({ length: 4 * 3 }, (_, i) => i * 0.25 - 1);
  writeNpy(path.join(dir, "a.npy"), data, [4, 3]);
  const w = new NpyRowWriter(path.join(dir, "b.npy"), 3);
  w.append(data.subarray(0, 6));
  w.append(data.subarray(6));
  w.finish();
  const script = `import numpy as np, json, sys
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
print(json.dumps([a.dtype.str, list(a.shape), a.ravel().tolist(), b.dtype.str, list(b.shape), b.ravel().tolist()]))`;
  const r = spawnSync(py, ["-c", script, path.join(dir, "a.npy"), path.join(dir, "b.npy")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [da, sa, va, db, sb, vb] = JSON.parse(r.stdout);
  assert.deepEqual([da, sa, db, sb], ["<f4", [4, 3], "<f4", [4, 3]]);
  assert.deepEqual(va, Array.from(data));
  assert.deepEqual(vb, Array.from(data));
});
