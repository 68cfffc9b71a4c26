/**
 * The probe's matrix products run on the project's tfjs backend (wasm by default: plain 2-D matMuls there are
 * ~30x a JavaScript loop); initBackend registers the project's kernels and honours FTGEO_BACKEND.
 */
import { initBackend } from "../model/backend";

export async function ensureProbeBackend(): Promise<void> {
  await initBackend();
}
