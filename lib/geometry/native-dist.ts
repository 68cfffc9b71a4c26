/**
 * Optional native squared-distance kernel for centroid linkage (lib/geometry/native/ftgeo_dist.c), built next to
 * the BLAS addon by `npm run build:native`. Its results are bit-identical to agglomerate.ts's JS loop (same
 * summation order, no fast-math, no fused multiply-add), so using it never changes a merge; it only makes the
 * O(n^2) distance scans faster. Missing, failing to load, or FTGEO_NATIVE_BLAS=0: null, and the JS loop is used.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { FtgeoError } from "../util/errors";
import { repoRoot } from "../util/paths";

export interface NativeDist {
  /** out[t - start] = squared distance between rows q and rows[t] of cen (row length dim, even), start <= t < end. */
  sqdists(cen: Float64Array, dim: number, q: number, rows: Int32Array, start: number, end: number, out: Float64Array): void;
}

export function nativeDistPath(): string {
  return path.join(repoRoot(), "dist", "native", "ftgeo_dist.node");
}

/** Compiles the kernel with gcc (needs Node's headers); returns its path. Throws with the compiler's message. */
export function buildNativeDist(): string {
  const out = nativeDistPath();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const nodeInclude = [path.join(path.dirname(path.dirname(process.execPath)), "include", "node"), "/usr/include/node"].find((d) => fs.existsSync(path.join(d, "node_api.h")));
  if (!nodeInclude) throw new FtgeoError("native distances: Node's headers (node_api.h) were not found next to the node binary or in /usr/include/node");
  const tmp = `${out}.tmp-${process.pid}`;
  // No -ffast-math and no contraction: the sums must round exactly as the JS loop's do.
  const src = path.join(repoRoot(), "lib", "geometry", "native", "ftgeo_dist.c");
  const args = ["-O3", "-march=native", "-fno-fast-math", "-ffp-contract=off", "-shared", "-fPIC", "-DNODE_GYP_MODULE_NAME=ftgeo_dist", `-I${nodeInclude}`, src, "-o", tmp];
  const r = spawnSync("gcc", args, { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new FtgeoError(`native distances: gcc ${args.join(" ")} failed: ${(r.error?.message ?? r.stderr).trim()}`);
  fs.renameSync(tmp, out);
  return out;
}

let loaded: NativeDist | null | undefined;

export function loadNativeDist(): NativeDist | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.FTGEO_NATIVE_BLAS === "0") return null;
  const file = nativeDistPath();
  if (!fs.existsSync(file)) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loaded = require(file) as NativeDist;
  } catch (e) {
    console.warn(`native distance kernel at ${file} does not load (${(e as Error).message}); using the JS loop`);
    loaded = null;
  }
  return loaded;
}
