/**
 * Reference measurements in Python (Debian's /usr/bin/python3 with torch / scikit-learn): run a script of bench/
 * that prints one JSON line last, and return it, or the reason it could not run. Benchmarks then print only their
 * own side; Python is never a run-time dependency.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { repoRoot } from "./paths";

export type PythonJson<T> = T | { error: string };

export function runPythonJson<T>(python: string, script: string, args: string[]): PythonJson<T> {
  const file = path.join(repoRoot(), "bench", script);
  if (!fs.existsSync(python)) return { error: `${python} not found` };
  const r = spawnSync(python, [file, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-1)[0] };
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as T;
  } catch {
    return { error: `unreadable output of ${script}: ${r.stdout.slice(0, 200)}` };
  }
}
