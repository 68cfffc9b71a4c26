import * as path from "node:path";
import { FtgeoError } from "../util/errors";
import { dataDir as defaultDataDir } from "../util/paths";
import { BUILDERS, BUILTIN_TASKS, clearParsedSources, type BuiltinTaskInfo } from "./builtin";
import type { Task } from "./types";

export type BuiltinTaskName = "pos" | "dep" | "ps-role" | "ps-fxn" | "trec50";

export interface LoadTaskOptions {
  /** Folder holding ud_ewt/, streusle/, trec/ (default: FTGEO_DATA or the repository's data/). */
  dataDir?: string;
}

/**
 * Loaded tasks, by data folder and name. Notebooks call loadTask in many cells; parsing EWT each time would
 * cost a second per call. The returned Task is shared: treat it as read-only.
 */
const loaded = new Map<string, Task>();

/** The built-in tasks: name, kind, description and splits, in the paper's order. */
export function listTasks(): BuiltinTaskInfo[] {
  return BUILTIN_TASKS.map((t) => ({ ...t, splits: [...t.splits] }));
}

/** Load one of the paper's five tasks with all its splits (memoised per data folder). */
export function loadTask(name: BuiltinTaskName | (string & {}), opts: LoadTaskOptions = {}): Task {
  const builder = Object.prototype.hasOwnProperty.call(BUILDERS, name) ? BUILDERS[name] : undefined;
  if (!builder) {
    throw new FtgeoError(
      `unknown task ${JSON.stringify(name)}; expected one of: ${BUILTIN_TASKS.map((t) => t.name).join(", ")} ` +
        "(for your own data use loadUserTask or taskFromRows)",
    );
  }
  const dir = path.resolve(opts.dataDir ?? defaultDataDir());
  const key = `${dir}\u0000${name}`;
  let task = loaded.get(key);
  if (!task) {
    task = builder(dir);
    loaded.set(key, task);
  }
  return task;
}

/** Forget every loaded task and parsed file (after editing data, or to measure a cold load). */
export function clearTaskCache(): void {
  loaded.clear();
  clearParsedSources();
}
