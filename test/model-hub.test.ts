/**
 * The hub download path against a local server on 127.0.0.1 that speaks the Hugging Face hub's URL layout and
 * headers (resolve URLs, X-Repo-Commit, git-blob ETags for small files, LFS files redirected to a CDN on another
 * origin with X-Linked-Etag = sha256 and X-Linked-Size, 307 for renamed repos, X-Error-Code on 404s).
 * The code under test is the code that talks to the real hub; only the endpoint differs.
 */
import { test, before, after } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { AddressInfo } from "node:net";
import { downloadBertFiles, hubFile, repoCacheDir, NotCachedError, looksLikeHubId, hubCacheDir } from "../lib/model/hub";
import { loadCheckpoint } from "../lib/model/checkpoint";
import { ProgressEvent, silentSink } from "../lib/util/progress";

const FIXTURE = path.join(__dirname, "..", "..", "test", "fixtures", "tiny-bert");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const LFS = new Set(["model.safetensors", "pytorch_model.bin"]);

function pseudoRandomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0, x = 12345; i < n; i++) b[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return b;
}

interface Repo {
  files: string[];
  /** Contents made by the test instead of read from the fixture. */
  generated?: Record<string, Buffer>;
  /** Files whose CDN body has one byte flipped (the advertised sha256 is the real one). */
  corrupt?: string[];
}
const REPOS: Record<string, Repo> = {
  "test-org/tiny-bert": { files: ["config.json", "vocab.txt", "model.safetensors", "pytorch_model.bin"] },
  "test-org/tiny-bert-binonly": { files: ["config.json", "vocab.txt", "pytorch_model.bin"] },
  "test-org/tiny-bert-corrupt": { files: ["config.json", "vocab.txt", "model.safetensors"], corrupt: ["model.safetensors"] },
  "test-org/tiny-bert-resume": { files: ["config.json", "vocab.txt", "model.safetensors"] },
  "test-org/tiny-bert-offline": { files: ["config.json", "vocab.txt", "model.safetensors"] },
  // large enough for download progress reports (deterministic bytes)
  "test-org/big": { files: ["model.safetensors"], generated: { "model.safetensors": pseudoRandomBytes(9_500_000) } },
};
/** Renamed repos: the hub answers 307 with a relative Location (like bert-base-uncased -> google-bert/...). */
const ALIASES: Record<string, string> = { "tiny-alias": "test-org/tiny-bert" };

interface Seen {
  method: string;
  url: string;
  auth?: string;
  range?: string;
}

let hub: http.Server;
let cdn: http.Server;
let endpoint = "";
let cdnBase = "";
const seen: Seen[] = [];
let cacheRoot = "";

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const gitOid = (b: Buffer) => crypto.createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const content = (file: string, repo?: Repo) => repo?.generated?.[file] ?? fs.readFileSync(path.join(FIXTURE, file));

function hubHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
  const m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!);
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  const [, id, rev, file] = m.map(decodeURIComponent);
  if (ALIASES[id]) {
    res.writeHead(307, { location: `/${ALIASES[id]}/resolve/${rev}/${file}` }).end();
    return;
  }
  const repo = REPOS[id];
  if (!repo) {
    res.writeHead(404, { "x-error-code": "RepoNotFound" }).end();
    return;
  }
  if (rev !== "main" && rev !== COMMIT) {
    res.writeHead(404, { "x-error-code": "RevisionNotFound" }).end();
    return;
  }
  if (!repo.files.includes(file)) {
    res.writeHead(404, { "x-error-code": "EntryNotFound", "x-repo-commit": COMMIT }).end();
    return;
  }
  const body = content(file, repo);
  if (LFS.has(file)) {
    res.writeHead(302, {
      location: `${cdnBase}/cdn/${id}/${file}`,
      "x-repo-commit": COMMIT,
      etag: `"${gitOid(body)}"`,
      "x-linked-etag": `"${sha256(body)}"`,
      "x-linked-size": String(body.length),
    });
    res.end();
    return;
  }
  res.writeHead(200, { "x-repo-commit": COMMIT, etag: `"${gitOid(body)}"`, "content-length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

function cdnHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seen.push({ method: req.method!, url: `cdn:${req.url}`, auth: req.headers.authorization, range: req.headers.range });
  const m = /^\/cdn\/(.+)\/([^/]+)$/.exec(req.url!);
  const repo = m ? REPOS[m[1]] : undefined;
  if (!m || !repo) {
    res.writeHead(404).end();
    return;
  }
  let body = content(m[2], repo);
  if (repo.corrupt?.includes(m[2])) {
    body = Buffer.from(body);
    body[body.length - 5] ^= 0x40;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  if (range && Number(range[1]) < body.length) {
    const from = Number(range[1]);
    res.writeHead(206, { "content-length": String(body.length - from), "content-range": `bytes ${from}-${body.length - 1}/${body.length}` });
    res.end(req.method === "HEAD" ? undefined : body.subarray(from));
    return;
  }
  res.writeHead(200, { "content-length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

async function listen(s: http.Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

before(async () => {
  hub = http.createServer(hubHandler);
  cdn = http.createServer(cdnHandler);
  endpoint = await listen(hub);
  cdnBase = await listen(cdn);
  cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), "ftgeo-hub-"));
});

after(() => {
  hub.close();
  cdn.close();
  fs.rmSync(cacheRoot, { recursive: true, force: true });
});

const opts = (extra: Record<string, unknown> = {}) => ({ endpoint, cacheDir: cacheRoot, offline: false, token: undefined as string | undefined, progress: silentSink(), ...extra });

test("hub ids are recognised, paths are not", () => {
  for (const id of ["bert-base-uncased", "google/bert_uncased_L-2_H-128_A-2", "prajjwal1/bert-tiny"]) assert.ok(looksLikeHubId(id), id);
  for (const p of ["./models/x", "/abs/path", "a/b/c", "../x", "a/..", ""]) assert.ok(!looksLikeHubId(p), p);
});

test("hub cache location follows huggingface_hub's environment variables", () => {
  const saved = { ...process.env };
  try {
    delete process.env.HF_HUB_CACHE;
    delete process.env.HUGGINGFACE_HUB_CACHE;
    process.env.HF_HOME = "/x/hf";
    assert.equal(hubCacheDir(), "/x/hf/hub");
    process.env.HF_HUB_CACHE = "/y/cache";
    assert.equal(hubCacheDir(), "/y/cache");
    delete process.env.HF_HUB_CACHE;
    delete process.env.HF_HOME;
    process.env.XDG_CACHE_HOME = "/z";
    assert.equal(hubCacheDir(), "/z/huggingface/hub");
  } finally {
    for (const k of ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test("download by id: huggingface_hub cache layout, verified LFS blob, same model as the local folder", async () => {
  seen.length = 0;
  const token = "hf_test_token";
  const files = await downloadBertFiles("test-org/tiny-bert", opts({ token }));
  const repoDir = repoCacheDir("test-org/tiny-bert", cacheRoot);
  assert.equal(repoDir, path.join(cacheRoot, "models--test-org--tiny-bert"));
  assert.equal(files.commit, COMMIT);
  assert.equal(fs.readFileSync(path.join(repoDir, "refs", "main"), "utf8"), COMMIT);
  assert.equal(files.weights, path.join(repoDir, "snapshots", COMMIT, "model.safetensors"));
  const st = content("model.safetensors");
  const blob = path.join(repoDir, "blobs", sha256(st));
  assert.ok(fs.lstatSync(files.weights).isSymbolicLink());
  assert.equal(fs.realpathSync(files.weights), fs.realpathSync(blob));
  assert.ok(fs.readFileSync(blob).equals(st));
  // small files are stored under their git blob id, as the hub's ETag names them
  assert.ok(fs.existsSync(path.join(repoDir, "blobs", gitOid(content("config.json")))));
  assert.equal(files.tokenizerConfig, undefined); // 404 EntryNotFound: optional file
  assert.ok(fs.existsSync(path.join(repoDir, ".no_exist", COMMIT, "tokenizer_config.json")));
  // the token goes to the hub, never to the CDN of another origin
  assert.ok(seen.filter((s) => !s.url.startsWith("cdn:")).every((s) => s.auth === `Bearer ${token}`));
  const cdnGets = seen.filter((s) => s.url.startsWith("cdn:"));
  assert.equal(cdnGets.length, 1);
  assert.equal(cdnGets[0].auth, undefined);

  const viaHub = await loadCheckpoint("test-org/tiny-bert", opts());
  const local = await loadCheckpoint(FIXTURE);
  assert.equal(viaHub.contentHash, local.contentHash);
  assert.equal(viaHub.source, `hf:test-org/tiny-bert@${COMMIT}`);
});

test("a second load reuses the cache: metadata requests only, no content downloads", async () => {
  await downloadBertFiles("test-org/tiny-bert", opts());
  seen.length = 0;
  const again = await downloadBertFiles("test-org/tiny-bert", opts());
  assert.ok(seen.length > 0 && seen.every((s) => s.method === "HEAD"), JSON.stringify(seen));
  assert.ok(fs.existsSync(again.weights));
});

test("a renamed repo's relative redirect is followed; the cache is keyed by the requested id", async () => {
  const f = await downloadBertFiles("tiny-alias", opts());
  assert.equal(f.folder, path.join(repoCacheDir("tiny-alias", cacheRoot), "snapshots", COMMIT));
  const ck = await loadCheckpoint("tiny-alias", opts());
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
});

test("no model.safetensors on the hub (404): pytorch_model.bin is used, the absence is recorded", async () => {
  const f = await downloadBertFiles("test-org/tiny-bert-binonly", opts());
  assert.equal(path.basename(f.weights), "pytorch_model.bin");
  const repoDir = repoCacheDir("test-org/tiny-bert-binonly", cacheRoot);
  assert.ok(fs.existsSync(path.join(repoDir, ".no_exist", COMMIT, "model.safetensors")));
  const ck = await loadCheckpoint("test-org/tiny-bert-binonly", opts());
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
  // offline, the recorded absence leads straight to the cached .bin
  seen.length = 0;
  const off = await loadCheckpoint("test-org/tiny-bert-binonly", opts({ offline: true }));
  assert.equal(off.contentHash, ck.contentHash);
  assert.equal(seen.length, 0);
});

test("a corrupted download fails the sha256 check and leaves nothing in the cache", async () => {
  await assert.rejects(downloadBertFiles("test-org/tiny-bert-corrupt", opts()), (e: Error) => {
    assert.match(e.message, /sha256 [0-9a-f]{64} differs from the hub's [0-9a-f]{64}/);
    assert.match(e.message, /tiny-bert-corrupt\/model\.safetensors/);
    return true;
  });
  const blobs = path.join(repoCacheDir("test-org/tiny-bert-corrupt", cacheRoot), "blobs");
  assert.deepEqual(fs.readdirSync(blobs).filter((f) => f === sha256(content("model.safetensors")) || f.endsWith(".incomplete")), []);
  assert.ok(!fs.existsSync(path.join(repoCacheDir("test-org/tiny-bert-corrupt", cacheRoot), "snapshots", COMMIT, "model.safetensors")));
});

test("an interrupted download left by a dead process is resumed with a Range request and verified", async () => {
  const body = content("model.safetensors");
  const blobs = path.join(repoCacheDir("test-org/tiny-bert-resume", cacheRoot), "blobs");
  fs.mkdirSync(blobs, { recursive: true });
  let deadPid = 4_000_000;
  for (;; deadPid++) {
    try {
      process.kill(deadPid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") break;
    }
  }
  const half = body.length >> 1;
  fs.writeFileSync(path.join(blobs, `${sha256(body)}.${deadPid}.incomplete`), body.subarray(0, half));
  seen.length = 0;
  const f = await downloadBertFiles("test-org/tiny-bert-resume", opts());
  const gets = seen.filter((s) => s.url.startsWith("cdn:"));
  assert.deepEqual(gets.map((g) => g.range), [`bytes=${half}-`]);
  assert.ok(fs.readFileSync(f.weights).equals(body));
  assert.deepEqual(fs.readdirSync(blobs).filter((n) => n.endsWith(".incomplete")), []);
});

test("large downloads report progress (MB, rate) and finish with the full size", async () => {
  const events: ProgressEvent[] = [];
  const f = await hubFile("test-org/big", "model.safetensors", opts({ progress: (e: ProgressEvent) => events.push(e) }));
  assert.ok(f && fs.statSync(f.path).size === 9_500_000);
  assert.ok(events.length >= 2, `${events.length} progress events`);
  const last = events[events.length - 1];
  assert.equal(last.done, true);
  assert.equal(last.total, 9.5);
  assert.equal(last.step, 9.5);
  assert.equal(last.rateUnit, "MB");
  assert.match(last.task, /download test-org\/big\/model\.safetensors/);
});

test("unknown repo or revision: clear errors, not a cache lookup", async () => {
  await assert.rejects(hubFile("test-org/nope", "config.json", opts()), /model "test-org\/nope" not found/);
  await assert.rejects(hubFile("test-org/tiny-bert", "config.json", opts({ revision: "v9" })), /revision "v9" of "test-org\/tiny-bert" not found/);
  await assert.rejects(loadCheckpoint("not/a/folder/or/id"), /neither an existing folder nor a Hugging Face model id/);
});

test("offline mode uses the cache without any request; an uncached model fails with what to do", async () => {
  await downloadBertFiles("test-org/tiny-bert-offline", opts());
  seen.length = 0;
  const ck = await loadCheckpoint("test-org/tiny-bert-offline", opts({ offline: true }));
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
  assert.equal(seen.length, 0);
  await assert.rejects(loadCheckpoint("test-org/never-downloaded", opts({ offline: true })), (e: Error) => {
    assert.ok(e instanceof NotCachedError);
    assert.match(e.message, /offline mode/);
    assert.match(e.message, /not in the cache/);
    assert.match(e.message, /pass the model folder's path instead of the id/);
    return true;
  });
  // HF_HUB_OFFLINE=1 is honoured when the option is not given
  const saved = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = "1";
  try {
    const { offline: _drop, ...noOffline } = opts();
    seen.length = 0;
    await loadCheckpoint("test-org/tiny-bert-offline", noOffline);
    assert.equal(seen.length, 0);
  } finally {
    if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = saved;
  }
});

test("a cache written by huggingface_hub (built here by hand in its layout) is used offline", async () => {
  const repoDir = path.join(cacheRoot, "models--someone--their-bert");
  const commit = "fedcba9876543210fedcba9876543210fedcba98";
  fs.mkdirSync(path.join(repoDir, "refs"), { recursive: true });
  fs.writeFileSync(path.join(repoDir, "refs", "main"), commit); // huggingface_hub writes no newline
  for (const f of ["config.json", "vocab.txt", "pytorch_model.bin"]) {
    const body = content(f);
    const etag = LFS.has(f) ? sha256(body) : gitOid(body);
    fs.mkdirSync(path.join(repoDir, "blobs"), { recursive: true });
    fs.writeFileSync(path.join(repoDir, "blobs", etag), body);
    fs.mkdirSync(path.join(repoDir, "snapshots", commit), { recursive: true });
    fs.symlinkSync(`../../blobs/${etag}`, path.join(repoDir, "snapshots", commit, f));
  }
  fs.mkdirSync(path.join(repoDir, ".no_exist", commit), { recursive: true });
  fs.writeFileSync(path.join(repoDir, ".no_exist", commit, "model.safetensors"), "");
  seen.length = 0;
  const ck = await loadCheckpoint("someone/their-bert", opts({ offline: true }));
  assert.equal(ck.source, `hf:someone/their-bert@${commit}`);
  assert.equal(path.basename(ck.weightsFiles[0]), "pytorch_model.bin");
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
  assert.equal(seen.length, 0);
  // without the .no_exist marker the cached .bin is still found offline
  fs.rmSync(path.join(repoDir, ".no_exist"), { recursive: true });
  assert.equal((await loadCheckpoint("someone/their-bert", opts({ offline: true }))).contentHash, ck.contentHash);
});

test("hub unreachable: the cache stands in; an uncached model fails naming the network error", async () => {
  await downloadBertFiles("test-org/tiny-bert", opts());
  // a port where nothing listens
  const dead = http.createServer();
  const deadEndpoint = await listen(dead);
  await new Promise<void>((r) => dead.close(() => r()));
  const ck = await loadCheckpoint("test-org/tiny-bert", opts({ endpoint: deadEndpoint }));
  assert.equal(ck.contentHash, (await loadCheckpoint(FIXTURE)).contentHash);
  await assert.rejects(loadCheckpoint("test-org/elsewhere", opts({ endpoint: deadEndpoint })), (e: Error) => {
    assert.ok(e instanceof NotCachedError);
    assert.match(e.message, /unreachable \(HEAD http:\/\/127\.0\.0\.1:\d+\/test-org\/elsewhere\/resolve\/main\/config\.json: ECONNREFUSED\)/);
    return true;
  });
});
