/**
 * The project's optional N-API addons (OpenBLAS products, DirectProbe's distance kernel) are compiled with gcc
 * straight from one C file into dist/native/, and loaded only when present: a missing or broken addon, or
 * FTGEO_NATIVE_BLAS=0, leaves the pure-JavaScript/wasm path in charge.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { FtgeoError } from "./errors";
import { repoRoot } from "./paths";

/** Where an addon's build output lives (never committed). */
export function nativeAddonPath(name: string): string {
  return path.join(repoRoot(), "dist", "native", `${name}.node`);
}

/**
 * Compile `source` (relative to the repository) into dist/native/<name>.node with the given compiler flags and
 * libraries (lib/util/native, with the shared argument reading of ftgeo_args.h, is always on the include path);
 * written to a temporary file and renamed, so a process that has the old addon loaded keeps working.
 * `what` prefixes the error messages ("native BLAS", ...).
 */
export function compileAddon(o: { name: string; what: string; source: string; flags: string[]; includes?: string[]; libs?: string[] }): string {
  const out = nativeAddonPath(o.name);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const nodeInclude = [path.join(path.dirname(path.dirname(process.execPath)), "include", "node"), "/usr/include/node"].find((d) => fs.existsSync(path.join(d, "node_api.h")));
  if (!nodeInclude) throw new FtgeoError(`${o.what}: Node's headers (node_api.h) were not found next to the node binary or in /usr/include/node`);
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    ...o.flags, "-shared", "-fPIC", `-DNODE_GYP_MODULE_NAME=${o.name}`, `-I${nodeInclude}`, `-I${path.join(repoRoot(), "lib", "util", "native")}`, ...(o.includes ?? []).map((d) => `-I${d}`),
    path.join(repoRoot(), o.source), "-o", tmp, ...(o.libs ?? []),
  ]; // prettier-ignore
  const r = spawnSync("gcc", args, { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new FtgeoError(`${o.what}: gcc ${args.join(" ")} failed: ${(r.error?.message ?? r.stderr).trim()}`);
  fs.renameSync(tmp, out);
  return out;
}

/**
 * The addon dist/native/<name>.node, or null when it is not built, FTGEO_NATIVE_BLAS=0, or it does not load (then a
 * warning names the file and what is used instead).
 */
export function requireAddon<T>(name: string, what: string, fallback: string): T | null {
  if (process.env.FTGEO_NATIVE_BLAS === "0") return null;
  const file = nativeAddonPath(name);
  if (!fs.existsSync(file)) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(file) as T;
  } catch (e) {
    console.warn(`${what} at ${file} does not load (${(e as Error).message}); using ${fallback}`);
    return null;
  }
}
