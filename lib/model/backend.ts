/**
 * Choosing and preparing the TensorFlow.js backend.
 *
 * - `wasm` (default): @tensorflow/tfjs-backend-wasm, whose .wasm binaries ship inside the npm package, so it works
 *   offline. Version 4.22 lacks a few kernels that training needs; they are registered here (see registerWasmExtras).
 * - `node`: @tensorflow/tfjs-node (native libtensorflow) when the user has installed it. It is not a dependency of
 *   the project because its install script downloads libtensorflow; we only try to require it at run time.
 * - `cpu`: the pure JS backend, only when asked for (it is 20x slower than wasm).
 *
 * FTGEO_BACKEND=auto|wasm|node|cpu overrides the caller's preference.
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FtgeoError } from "../util/errors";

export type BackendPreference = "auto" | "wasm" | "node" | "cpu";

const PREFERENCES: BackendPreference[] = ["auto", "wasm", "node", "cpu"];

let wasmPathsSet = false;
let wasmExtrasRegistered = false;
/** The backend chosen by the first initBackend call of this process (later calls with another preference switch). */
let current: { preference: BackendPreference; name: Promise<string> } | undefined;

/**
 * Make a backend active and return its tfjs name ("wasm", "tensorflow" for tfjs-node, "cpu").
 * Idempotent: repeated calls with the same preference return the same promise.
 */
export function initBackend(prefer: BackendPreference = "auto"): Promise<string> {
  const env = process.env.FTGEO_BACKEND;
  let preference = prefer;
  if (env !== undefined && env !== "") {
    if (!PREFERENCES.includes(env as BackendPreference)) {
      return Promise.reject(new FtgeoError(`environment variable FTGEO_BACKEND is ${JSON.stringify(env)}; expected one of ${PREFERENCES.join(", ")}`));
    }
    preference = env as BackendPreference;
  }
  if (!PREFERENCES.includes(preference)) {
    return Promise.reject(new FtgeoError(`backend ${JSON.stringify(preference)} is unknown; expected one of ${PREFERENCES.join(", ")}`));
  }
  if (current && current.preference === preference) return current.name;
  const name = choose(preference);
  current = { preference, name };
  // A failed attempt must not stick: the next call tries again (e.g. after the user installs tfjs-node).
  name.catch(() => {
    if (current?.name === name) current = undefined;
  });
  return name;
}

/** The active backend's name, for reports ("wasm", "tensorflow", "cpu"). */
export function backendName(): string {
  return tf.getBackend();
}

/** The active backend and how its matrix products run, for logs ("wasm (matMul: OpenBLAS, 2 threads)"). */
export function backendDescription(): string {
  const name = tf.getBackend();
  if (name !== "wasm") return name;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const native = require("./native-blas") as typeof import("./native-blas");
  const blas = native.nativeMatMulActive() ? native.loadNativeBlas() : null;
  return blas ? `wasm (matMul: native OpenBLAS, ${blas.threads()} threads)` : "wasm (matMul: XNNPACK, 1 thread)";
}

async function choose(preference: BackendPreference): Promise<string> {
  if (preference === "node" || preference === "auto") {
    if (tryNode()) {
      if (await tf.setBackend("tensorflow")) return "tensorflow";
    }
    if (preference === "node") {
      throw new FtgeoError("backend node: @tensorflow/tfjs-node is not installed or does not load here; install it (npm install @tensorflow/tfjs-node) or use FTGEO_BACKEND=wasm");
    }
  }
  if (preference === "cpu") {
    await tf.setBackend("cpu");
    await tf.ready();
    return "cpu";
  }
  return useWasm();
}

function tryNode(): boolean {
  if (tf.findBackend("tensorflow")) return true;
  try {
    // Not a declared dependency (see the header): a plain require by name, resolved from the user's install.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require("@tensorflow/tfjs-node");
    return tf.findBackend("tensorflow") !== null;
  } catch {
    return false;
  }
}

async function useWasm(): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    // In Node the backend would otherwise look for the binaries next to the calling script; point it at the package.
    const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
    wasm.setWasmPaths(dir + path.sep);
    wasmPathsSet = true;
  }
  if (!wasmExtrasRegistered) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require("./backend-wasm").registerWasmExtras();
    wasmExtrasRegistered = true;
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (process.env.FTGEO_NATIVE_BLAS !== "0") require("./native-blas").registerNativeMatMul();
  const ok = await tf.setBackend("wasm");
  if (!ok) throw new FtgeoError("backend wasm: @tensorflow/tfjs-backend-wasm failed to initialise (see the messages above)");
  await tf.ready();
  return "wasm";
}
