/**
 * Download model files from the Hugging Face hub into a cache laid out exactly like huggingface_hub's, so a
 * user's existing cache (from Python transformers) is reused and ours is usable from Python:
 *   <cache>/models--<org>--<name>/blobs/<etag>                 file contents, named by ETag (sha256 for LFS files)
 *   <cache>/models--<org>--<name>/snapshots/<commit>/<file>    relative symlink to the blob
 *   <cache>/models--<org>--<name>/refs/<revision>              the commit a branch/tag pointed at
 *   <cache>/models--<org>--<name>/.no_exist/<commit>/<file>    the file is known to be absent at that commit
 *
 * Protocol (the hub's, as huggingface_hub speaks it): HEAD {endpoint}/{id}/resolve/{revision}/{file} without
 * following cross-host redirects gives X-Repo-Commit, the ETag (X-Linked-Etag for LFS files, whose value is the
 * sha256 of the content) and the size (X-Linked-Size or Content-Length); same-host redirects (renamed repos) are
 * followed; then GET the file (or the CDN Location) into blobs/<etag>.incomplete, verify size and sha256, rename.
 * Offline (HF_HUB_OFFLINE=1) or when the network fails, the cache answers; if it cannot, the error says what to do.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FtgeoError, argError } from "../util/errors";
import { Progress, ProgressSink } from "../util/progress";

export interface HubOptions {
  /** Default: $HF_ENDPOINT or https://huggingface.co */
  endpoint?: string;
  /** Branch, tag or commit. Default "main". */
  revision?: string;
  /** Default: hubCacheDir() */
  cacheDir?: string;
  /** Bearer token for private/gated repos. Default: $HF_TOKEN or $HUGGING_FACE_HUB_TOKEN. */
  token?: string;
  /** Never touch the network. Default: $HF_HUB_OFFLINE (or $TRANSFORMERS_OFFLINE) is "1"/"true". */
  offline?: boolean;
  /** Progress of large downloads (default: the process-wide default sink). */
  progress?: ProgressSink;
  /** Timeout of metadata requests in ms (default 10 s, as huggingface_hub). */
  timeoutMs?: number;
}

/** huggingface_hub's cache location rules. */
export function hubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "huggingface");
  return path.join(home, "hub");
}

const ID_RE = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** "bert-base-uncased" or "google/bert_uncased_L-2_H-128_A-2" (no "..", at most one slash). */
export function looksLikeHubId(s: string): boolean {
  return ID_RE.test(s) && !s.includes("..") && !s.endsWith(".") && s.length <= 96;
}

function envFlag(v: string | undefined): boolean {
  return v !== undefined && ["1", "true", "yes", "on"].includes(v.toLowerCase());
}

interface Resolved {
  endpoint: string;
  revision: string;
  cache: string;
  token?: string;
  offline: boolean;
  progress?: ProgressSink;
  timeoutMs: number;
}

function resolveOptions(opts: HubOptions): Resolved {
  return {
    endpoint: (opts.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    revision: opts.revision ?? "main",
    cache: opts.cacheDir ?? hubCacheDir(),
    token: opts.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN,
    offline: opts.offline ?? (envFlag(process.env.HF_HUB_OFFLINE) || envFlag(process.env.TRANSFORMERS_OFFLINE)),
    progress: opts.progress,
    timeoutMs: opts.timeoutMs ?? 10_000,
  };
}

/** The cache folder of a model repo: models--org--name. */
export function repoCacheDir(id: string, cacheDir = hubCacheDir()): string {
  return path.join(cacheDir, `models--${id.split("/").join("--")}`);
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

function normalizeEtag(raw: string | null): string | undefined {
  if (!raw) return undefined;
  return raw.replace(/^W\//, "").replace(/^"|"$/g, "") || undefined;
}

/** A failure to reach the hub (as opposed to an answer from it): the cache may stand in. */
class NetworkError extends Error {}

export interface HubFile {
  /** The snapshot path (a symlink into blobs/, or a copy where symlinks are unavailable). */
  path: string;
  commit: string;
  fromCache: boolean;
}

interface FileMeta {
  commit: string;
  etag: string;
  size?: number;
  /** Where to GET the content (the CDN location for LFS files). */
  downloadUrl: string;
  sameOrigin: boolean;
}

async function fetchOrNetworkError(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(`${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
}

function headers(r: Resolved, withAuth: boolean): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "finetune-geometry/0.1; hf-hub-protocol", "accept-encoding": "identity" };
  if (withAuth && r.token) h.authorization = `Bearer ${r.token}`;
  return h;
}

/** A 404 EntryNotFound: the file is not in the repo (at this commit, when the hub says which). */
interface Absent {
  absent: true;
  commit?: string;
}

/** HEAD the resolve URL; Absent when the file does not exist in the repo (404 EntryNotFound). */
async function fileMetadata(id: string, file: string, revision: string, r: Resolved): Promise<FileMeta | Absent> {
  let url = `${r.endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
  const origin = new URL(url).origin;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetchOrNetworkError(
      url,
      { method: "HEAD", redirect: "manual", headers: headers(r, new URL(url).origin === origin), signal: AbortSignal.timeout(r.timeoutMs) },
      `HEAD ${url}`,
    );
    const location = res.headers.get("location");
    const commit = res.headers.get("x-repo-commit");
    const linked = normalizeEtag(res.headers.get("x-linked-etag"));
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url);
      // Same-host redirect (renamed repo, e.g. bert-base-uncased -> google-bert/bert-base-uncased): follow.
      // Cross-host (LFS content on a CDN): this response already carries the metadata.
      if (next.origin === origin && !linked) {
        url = next.toString();
        continue;
      }
      return meta(id, file, url, commit, linked ?? normalizeEtag(res.headers.get("etag")), res.headers.get("x-linked-size") ?? res.headers.get("content-length"), next.toString(), next.origin === origin);
    }
    if (res.status === 404) {
      const code = res.headers.get("x-error-code");
      if (code === "RepoNotFound" || code === "RevisionNotFound") {
        throw new FtgeoError(`${code === "RepoNotFound" ? `model "${id}" not found` : `revision "${revision}" of "${id}" not found`} on ${r.endpoint} (${url})${r.token ? "" : "; for a private or gated model set HF_TOKEN"}`);
      }
      return { absent: true, commit: commit && COMMIT_RE.test(commit) ? commit : undefined };
    }
    if (res.status === 401 || res.status === 403) {
      throw new FtgeoError(`${url}: HTTP ${res.status}: ${r.token ? "the token in HF_TOKEN has no access to this repository" : `"${id}" is private, gated or does not exist; set HF_TOKEN to a token with access`}`);
    }
    if (res.status >= 500) throw new NetworkError(`HEAD ${url}: HTTP ${res.status}`);
    if (!res.ok) throw new FtgeoError(`${url}: unexpected HTTP ${res.status} ${res.statusText}`);
    return meta(id, file, url, commit, linked ?? normalizeEtag(res.headers.get("etag")), res.headers.get("x-linked-size") ?? res.headers.get("content-length"), url, true);
  }
  throw new FtgeoError(`${url}: too many redirects`);
}

function meta(id: string, file: string, url: string, commit: string | null, etag: string | undefined, size: string | null, downloadUrl: string, sameOrigin: boolean): FileMeta {
  if (!commit || !COMMIT_RE.test(commit) || !etag) {
    throw new FtgeoError(`${url}: the server sent no ${!commit ? "X-Repo-Commit" : !COMMIT_RE.test(commit) ? "valid X-Repo-Commit" : "ETag"} header for ${id}/${file}: is HF_ENDPOINT a Hugging Face hub?`);
  }
  if (etag.includes("/") || etag.includes("..")) throw new FtgeoError(`${url}: unusable ETag ${JSON.stringify(etag)}`);
  const n = size === null ? undefined : Number(size);
  return { commit, etag, size: n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined, downloadUrl, sameOrigin };
}

function writeSmallAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

function linkSnapshot(repoDir: string, commit: string, file: string, etag: string): string {
  const target = path.join(repoDir, "snapshots", commit, file);
  const blob = path.join(repoDir, "blobs", etag);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(target, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(target), blob), target);
  } catch {
    fs.copyFileSync(blob, target); // filesystems without symlinks: huggingface_hub copies too
  }
  return target;
}

/** A partial download left by a process that no longer runs (so it can be resumed), as [path, size]. */
function abandonedPartial(blob: string): [string, number] | undefined {
  const dir = path.dirname(blob);
  const prefix = `${path.basename(blob)}.`;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = f.startsWith(prefix) ? /^(\d+)\.incomplete$/.exec(f.slice(prefix.length)) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === "EPERM";
      }
    }
    if (!alive) return [path.join(dir, f), fs.statSync(path.join(dir, f)).size];
  }
  return undefined;
}

async function downloadBlob(id: string, file: string, m: FileMeta, r: Resolved, blob: string): Promise<void> {
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  // One name per process: two processes fetching the same blob must not write into the same file.
  const incomplete = `${blob}.${process.pid}.incomplete`;
  // Resume what an interrupted run left (huggingface_hub does the same with a Range request).
  const partial = abandonedPartial(blob);
  let start = 0;
  if (partial && partial[1] > 0 && (m.size === undefined || partial[1] < m.size)) {
    fs.renameSync(partial[0], incomplete);
    start = partial[1];
  } else if (partial) {
    fs.rmSync(partial[0], { force: true });
  }
  const h = headers(r, m.sameOrigin);
  if (start > 0) h.range = `bytes=${start}-`;
  const res = await fetchOrNetworkError(m.downloadUrl, { headers: h, redirect: "follow" }, `GET ${m.downloadUrl}`);
  if (!res.ok || !res.body) throw new FtgeoError(`${m.downloadUrl}: download of ${id}/${file} failed: HTTP ${res.status} ${res.statusText}`);
  // 206: the server continues where the partial file ends; 200: it ignored the range, start over.
  if (res.status !== 206) start = 0;
  const hash = crypto.createHash("sha256");
  if (start > 0) hashFile(hash, incomplete, start);
  const fd = fs.openSync(incomplete, start > 0 ? "r+" : "w");
  const big = (m.size ?? 0) > 8 * 1024 * 1024;
  const mb = (b: number) => Math.round(b / 1e5) / 10;
  const progress = big ? new Progress(`download ${id}/${file}`, mb(m.size!), "MB", r.progress) : undefined;
  let got = start;
  let lastReport = start;
  try {
    if (start === 0) fs.ftruncateSync(fd, 0);
    const reader = res.body.getReader();
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch (e) {
        throw new NetworkError(`GET ${m.downloadUrl}: connection lost after ${got} bytes (${(e as Error).message})`);
      }
      if (chunk.done) break;
      const v = chunk.value!;
      hash.update(v);
      let off = 0;
      while (off < v.length) off += fs.writeSync(fd, v, off, v.length - off, got + off);
      got += v.length;
      if (progress && got - lastReport > 4 * 1024 * 1024) {
        progress.update(mb(got), mb(got - lastReport));
        lastReport = got;
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const fail = (msg: string) => {
    fs.rmSync(incomplete, { force: true });
    return new FtgeoError(`download of ${id}/${file} from ${m.downloadUrl} failed verification: ${msg}; nothing was cached, try again`);
  };
  if (m.size !== undefined && got !== m.size) throw fail(`received ${got} bytes, the hub announced ${m.size}`);
  // LFS ETags are the sha256 of the content; git-blob ETags (small text files) are checked by size only.
  if (/^[0-9a-f]{64}$/.test(m.etag)) {
    const digest = hash.digest("hex");
    if (digest !== m.etag) throw fail(`sha256 ${digest} differs from the hub's ${m.etag}`);
  }
  if (progress) progress.finish(mb(got));
  fs.renameSync(incomplete, blob);
}

/** The hub could not be asked (offline, unreachable) and the cache does not have the file. */
export class NotCachedError extends FtgeoError {}

function hashFile(hash: crypto.Hash, file: string, length: number): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(Math.min(length, 8 << 20));
    for (let pos = 0; pos < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n === 0) throw new FtgeoError(`${file}: shorter than ${length} bytes while resuming a download`);
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function notCachedError(id: string, file: string, r: Resolved, why: string): NotCachedError {
  return new NotCachedError(
    `cannot get ${file} of model "${id}" (revision ${r.revision}): ${why}, and it is not in the cache ${repoCacheDir(id, r.cache)}.\n` +
      `  Either connect to the internet (or set HF_ENDPOINT to a reachable hub mirror) and retry,\n` +
      `  or download the model on another machine (huggingface-cli download ${id}, or git clone ${r.endpoint}/${id})\n` +
      `  and pass the model folder's path instead of the id (or copy that machine's ~/.cache/huggingface/hub/models--${id.split("/").join("--")} into ${r.cache}).`,
  );
}

/** What the cache knows about `file` at `revision`: a path, "absent" (a .no_exist marker), or undefined. */
function fromCache(id: string, file: string, r: Resolved, revision: string): HubFile | "absent" | undefined {
  const repoDir = repoCacheDir(id, r.cache);
  let commit = revision;
  if (!COMMIT_RE.test(revision)) {
    const ref = path.join(repoDir, "refs", revision);
    if (!fs.existsSync(ref)) return undefined;
    commit = fs.readFileSync(ref, "utf8").trim();
  }
  const snap = path.join(repoDir, "snapshots", commit, file);
  if (fs.existsSync(snap)) return { path: snap, commit, fromCache: true };
  if (fs.existsSync(path.join(repoDir, ".no_exist", commit, file))) return "absent";
  return undefined;
}

/**
 * One file of a model repo: its snapshot path, or null when the repo has no such file.
 * `revision` defaults to opts.revision; pass a commit to pin several files to one snapshot.
 */
export async function hubFile(id: string, file: string, opts: HubOptions = {}): Promise<HubFile | null> {
  if (!looksLikeHubId(id)) throw argError("model", `"${id}" is neither an existing folder nor a Hugging Face model id (org/name)`);
  const r = resolveOptions(opts);
  const revision = r.revision;
  if (r.offline) {
    const c = fromCache(id, file, r, revision);
    if (c === undefined) throw notCachedError(id, file, r, "offline mode (HF_HUB_OFFLINE) is on");
    return c === "absent" ? null : c;
  }
  const repoDir = repoCacheDir(id, r.cache);
  let m: FileMeta | Absent;
  try {
    m = await fileMetadata(id, file, revision, r);
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e;
    const c = fromCache(id, file, r, revision);
    if (c === undefined) throw notCachedError(id, file, r, `the hub is unreachable (${e.message})`);
    return c === "absent" ? null : c;
  }
  if ("absent" in m) {
    // Record the absence at the commit (from the 404's X-Repo-Commit, else the pinned or cached one), as huggingface_hub does.
    const commit = m.commit ?? (COMMIT_RE.test(revision) ? revision : readRef(repoDir, revision));
    if (commit) writeSmallAtomic(path.join(repoDir, ".no_exist", commit, file), "");
    return null;
  }
  if (!COMMIT_RE.test(revision) && readRef(repoDir, revision) !== m.commit) writeSmallAtomic(path.join(repoDir, "refs", revision), m.commit);
  const snap = path.join(repoDir, "snapshots", m.commit, file);
  const blob = path.join(repoDir, "blobs", m.etag);
  if (fs.existsSync(snap) && fs.existsSync(blob) && (m.size === undefined || fs.statSync(blob).size === m.size)) {
    return { path: snap, commit: m.commit, fromCache: true };
  }
  if (!(fs.existsSync(blob) && (m.size === undefined || fs.statSync(blob).size === m.size))) {
    try {
      await downloadBlob(id, file, m, r, blob);
    } catch (e) {
      if (e instanceof NetworkError) throw notCachedError(id, file, r, e.message);
      throw e;
    }
  }
  return { path: linkSnapshot(repoDir, m.commit, file, m.etag), commit: m.commit, fromCache: false };
}

function readRef(repoDir: string, revision: string): string | undefined {
  const ref = path.join(repoDir, "refs", revision);
  return fs.existsSync(ref) ? fs.readFileSync(ref, "utf8").trim() : undefined;
}

export interface HubModelFiles {
  id: string;
  commit: string;
  /** The snapshot folder: a Hugging Face model folder (config.json, vocab.txt, weights). */
  folder: string;
  config: string;
  vocab?: string;
  tokenizerConfig?: string;
  weights: string;
}

/**
 * config.json, vocab.txt, tokenizer_config.json (optional) and the weights (model.safetensors, or
 * pytorch_model.bin when the repo has no safetensors), all from one commit.
 */
export async function downloadBertFiles(id: string, opts: HubOptions = {}): Promise<HubModelFiles> {
  const config = await hubFile(id, "config.json", opts);
  if (!config) throw new FtgeoError(`model "${id}" has no config.json on the hub (revision ${opts.revision ?? "main"}): is it a transformers model?`);
  // Pin the other files to the commit config.json came from, so a push in between cannot mix versions.
  const pinned = { ...opts, revision: config.commit };
  // Optional files: absent from the repo, or (offline) from a cache that never fetched them, is not an error here.
  const optional = (file: string) =>
    hubFile(id, file, pinned).catch((e) => {
      if (e instanceof NotCachedError) return null;
      throw e;
    });
  const vocab = await optional("vocab.txt");
  const tokenizerConfig = await optional("tokenizer_config.json");
  let weights: HubFile | null;
  try {
    weights = await hubFile(id, "model.safetensors", pinned);
  } catch (e) {
    // Offline with only pytorch_model.bin cached (e.g. by an older transformers): use it.
    if (!(e instanceof NotCachedError)) throw e;
    weights = await hubFile(id, "pytorch_model.bin", pinned).catch(() => {
      throw e;
    });
  }
  if (!weights) weights = await hubFile(id, "pytorch_model.bin", pinned);
  if (!weights) throw new FtgeoError(`model "${id}" (commit ${config.commit}) has neither model.safetensors nor pytorch_model.bin`);
  return {
    id,
    commit: config.commit,
    folder: path.dirname(config.path),
    config: config.path,
    vocab: vocab?.path,
    tokenizerConfig: tokenizerConfig?.path,
    weights: weights.path,
  };
}
