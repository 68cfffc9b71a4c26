import * as fs from "node:fs";
import * as path from "node:path";

/** The repository root: the folder holding package.json, found from this compiled file (dist/lib/util). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "lib"))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

/** Committed task data (data/). Override with FTGEO_DATA. */
export function dataDir(): string {
  return process.env.FTGEO_DATA ?? path.join(repoRoot(), "data");
}

/**
 * Where caches live (representations, downloaded models, results). Override with FTGEO_CACHE.
 * Never committed (.gitignore).
 */
export function cacheDir(...sub: string[]): string {
  return path.join(process.env.FTGEO_CACHE ?? path.join(repoRoot(), ".cache"), ...sub);
}

/** The embedded default model shipped with the project (models/). */
export function modelsDir(): string {
  return path.join(repoRoot(), "models");
}
