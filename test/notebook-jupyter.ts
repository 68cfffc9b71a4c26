/** Shared by the notebook and report tests: finding Jupyter, running the project's notebook runner. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { repoRoot } from "../lib/util/paths";

export const JUPYTER_MISSING =
  "Jupyter is not installed (no python3 with nbclient + nbconvert + jupyter_client): apt-get install -y " +
  "--no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel";

/** The Python that has Jupyter, chosen like scripts/report.sh does, or undefined. */
export function jupyterPython(): string | undefined {
  for (const py of [process.env.FTGEO_PYTHON, "/usr/bin/python3", "python3"]) {
    if (!py) continue;
    const r = spawnSync(py, ["-c", "import nbclient, nbconvert, jupyter_client"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return undefined;
}

export function tslabInstalled(): boolean {
  return fs.existsSync(`${repoRoot()}/node_modules/.bin/tslab`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root with FTGEO_BUDGET=quick (what `npm run report` does). */
export function runInRepo(cmd: string, args: string[], timeoutMs: number): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: repoRoot(),
    env: { ...process.env, FTGEO_BUDGET: "quick", PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
