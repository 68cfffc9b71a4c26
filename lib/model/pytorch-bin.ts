/**
 * Read PyTorch checkpoints (pytorch_model.bin written by torch.save) without Python.
 *
 * Two formats:
 * - zip (the default since torch 1.6): `<prefix>/data.pkl` is a pickle whose persistent ids
 *   ('storage', torch.FloatStorage, key, location, numel) point at raw little-endian entries `<prefix>/data/<key>`;
 * - legacy (torch.save(..., _use_new_zipfile_serialization=False)): pickled magic number, protocol version and
 *   sys info, the object pickle, the list of storage keys, then each storage as int64 element count + raw bytes.
 * Tensors are rebuilt from (storage, offset, size, stride), so views that share, slice, transpose or expand a
 * storage come out right. Only the globals torch.save writes for tensors and dicts are accepted.
 */
import * as fs from "node:fs";
import { FtgeoError, fileError } from "../util/errors";
import { PyGlobal, PyDict, unpickle } from "./pickle";
import { ZipReader } from "./zip";
import { FloatTensorMap, StDtype, ST_DTYPE_BYTES, decodeFloat, isFloatDtype, readExactly } from "./safetensors";

export type NativeArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor as stored, contiguous, in its own dtype (F16/BF16 widened to Float32Array, F64 kept as Float64Array). */
export interface TorchTensor {
  dtype: StDtype;
  shape: number[];
  values: NativeArray;
}

const STORAGE_DTYPES: Record<string, StDtype> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

interface StorageRef {
  kind: "storage";
  dtype: StDtype;
  key: string;
  numel: number;
}

interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === "object" && v !== null && (v as TensorRef).kind === "tensor";
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export type TorchFormat = "zip" | "legacy";

export interface ReadTorchResult {
  format: TorchFormat;
  /** Every tensor of the state dict, in file order. */
  tensors: Map<string, TorchTensor>;
  /** State-dict entries that are not tensors (ignored). */
  nonTensors: string[];
}

/** Read a torch.save file holding a state dict (or {"state_dict" | "model" | "module": state dict}). */
export function readTorchFile(file: string): ReadTorchResult {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, "r");
    try {
      head = Buffer.alloc(Math.min(512, fs.fstatSync(fd).size));
      readExactly(fd, file, head, 0, "file start");
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof FtgeoError) throw e;
    throw fileError(file, undefined, `cannot read PyTorch checkpoint: ${(e as Error).message}`);
  }
  // (pickle errors already name the file and byte offset)
  if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return readZip(file);
  if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") {
    throw fileError(file, undefined, "this is the tar-based torch.save format of PyTorch < 0.4, which is not supported: load it in Python and re-save it with torch.save(state_dict, path) or as safetensors");
  }
  if (head.length >= 2 && head[0] === 0x80) return readLegacy(file);
  throw fileError(file, undefined, "not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy pickle)");
}

/** Float tensors of a PyTorch checkpoint as float32 (F16/BF16 widened exactly, F64 narrowed); others skipped. */
export function readPytorchBin(file: string): { tensors: FloatTensorMap; skipped: string[]; format: TorchFormat } {
  const r = readTorchFile(file);
  const tensors: FloatTensorMap = new Map();
  const skipped = [...r.nonTensors];
  for (const [name, t] of r.tensors) {
    if (!isFloatDtype(t.dtype)) {
      skipped.push(name);
      continue;
    }
    tensors.set(name, { shape: t.shape, data: t.values instanceof Float32Array ? t.values : Float32Array.from(t.values as Float64Array) });
  }
  return { tensors, skipped, format: r.format };
}

// ---------------------------------------------------------------------------------------------------------------

function torchHooks(file: string, persistent: (pid: unknown[]) => StorageRef) {
  const allowed = new Map<string, PyGlobal>();
  const add = (module: string, name: string, call?: (args: unknown[]) => unknown) =>
    allowed.set(`${module}.${name}`, new PyGlobal(module, name, call));
  const rebuild = (args: unknown[]): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(typeof storage === "object" && storage !== null && (storage as StorageRef).kind === "storage")) {
      throw fileError(file, undefined, "_rebuild_tensor: first argument is not a storage reference");
    }
    const ints = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isSafeInteger(x));
    if (typeof offset !== "number" || !ints(size) || !ints(stride) || (size as number[]).length !== (stride as number[]).length) {
      throw fileError(file, undefined, `_rebuild_tensor: bad offset/size/stride ${JSON.stringify([offset, size, stride])}`);
    }
    return { kind: "tensor", storage: storage as StorageRef, offset, size: size as number[], stride: stride as number[] };
  };
  add("torch._utils", "_rebuild_tensor_v2", rebuild);
  add("torch._utils", "_rebuild_tensor", rebuild);
  // nn.Parameter: (data, requires_grad, backward_hooks[, state]) -> the data tensor
  add("torch._utils", "_rebuild_parameter", (a) => a[0]);
  add("torch._utils", "_rebuild_parameter_with_state", (a) => a[0]);
  // Tensor subclasses: (func, type, args, state) -> func(*args)
  add("torch._tensor", "_rebuild_from_type_v2", (a) => {
    const [f, , args] = a;
    if (!(f instanceof PyGlobal) || !f.call || !Array.isArray(args)) throw fileError(file, undefined, "_rebuild_from_type_v2: unsupported arguments");
    return f.call(args);
  });
  add("torch.nn.parameter", "Parameter");
  add("torch", "Tensor");
  add("collections", "OrderedDict", (a) => {
    const d: PyDict = new Map();
    if (Array.isArray(a[0])) for (const kv of a[0]) if (Array.isArray(kv)) d.set(kv[0], kv[1]);
    return d;
  });
  for (const s of Object.keys(STORAGE_DTYPES)) add("torch", s);
  return {
    resolveGlobal: (module: string, name: string) => allowed.get(`${module}.${name}`),
    persistentLoad: (pid: unknown) => {
      if (!Array.isArray(pid) || pid[0] !== "storage") throw fileError(file, undefined, `unsupported persistent id ${JSON.stringify(pid)}`);
      return persistent(pid);
    },
    // OrderedDict state (e.g. the state dict's _metadata) and tensor state carry nothing we need.
    build: (obj: unknown) => obj,
  };
}

function storageFromPid(file: string, pid: unknown[], keyIndex: number): StorageRef {
  const cls = pid[1];
  const key = pid[keyIndex];
  const numel = pid[keyIndex + 2];
  if (!(cls instanceof PyGlobal) || !(cls.name in STORAGE_DTYPES)) {
    throw fileError(file, undefined, `storage type ${cls instanceof PyGlobal ? cls.qualified : String(cls)} is not supported (supported: ${Object.keys(STORAGE_DTYPES).join(", ")})`);
  }
  if (typeof key !== "string" || typeof numel !== "number") throw fileError(file, undefined, `bad storage reference ${JSON.stringify(pid.slice(2))}`);
  return { kind: "storage", dtype: STORAGE_DTYPES[cls.name], key, numel };
}

function findStateDict(file: string, root: unknown): PyDict {
  if (!(root instanceof Map)) throw fileError(file, undefined, "the checkpoint does not hold a state dict (a dict of tensors)");
  const hasTensor = [...root.values()].some(isTensorRef);
  if (hasTensor) return root;
  for (const k of ["state_dict", "model", "module"]) {
    const v = root.get(k);
    if (v instanceof Map && [...v.values()].some(isTensorRef)) return v;
  }
  throw fileError(file, undefined, `no tensors found: top-level keys are ${JSON.stringify([...root.keys()].slice(0, 10))}`);
}

function materialize(file: string, name: string, t: TensorRef, storage: NativeArray): TorchTensor {
  const n = t.size.reduce((a, b) => a * b, 1);
  const shape = t.size.slice();
  const dtype = t.storage.dtype;
  const Ctor = storage.constructor as new (n: number) => NativeArray;
  if (n === 0) return { dtype, shape, values: new Ctor(0) };
  let maxIndex = t.offset;
  for (let d = 0; d < t.size.length; d++) {
    if (t.stride[d] < 0) throw fileError(file, undefined, `tensor "${name}" has a negative stride`);
    maxIndex += (t.size[d] - 1) * t.stride[d];
  }
  if (t.offset < 0 || maxIndex >= storage.length) {
    throw fileError(file, undefined, `tensor "${name}" (offset ${t.offset}, size [${t.size}], stride [${t.stride}]) reaches element ${maxIndex} of a storage with ${storage.length} elements`);
  }
  let contiguous = true;
  for (let d = t.size.length - 1, expect = 1; d >= 0; d--) {
    if (t.size[d] !== 1 && t.stride[d] !== expect) contiguous = false;
    expect *= t.size[d];
  }
  // A view, not a copy (checkpoints are read once; tensors sharing a storage in the file share memory here).
  if (contiguous) return { dtype, shape, values: (storage as Float32Array).subarray(t.offset, t.offset + n) };
  // Transposed, sliced or expanded views: an odometer over the index space, in row-major order.
  const out = new Ctor(n);
  const rank = t.size.length;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < n; i++) {
    (out as Float32Array)[i] = (storage as Float32Array)[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += t.stride[d];
      if (idx[d] < t.size[d]) break;
      src -= t.size[d] * t.stride[d];
      idx[d] = 0;
    }
  }
  return { dtype, shape, values: out };
}

function decodeStorage(file: string, s: StorageRef, bytes: Uint8Array): NativeArray {
  const need = s.numel * ST_DTYPE_BYTES[s.dtype];
  if (bytes.length < need) {
    throw fileError(file, undefined, `storage ${s.key} has ${bytes.length} bytes, ${s.dtype} x ${s.numel} needs ${need} (truncated or corrupt file)`);
  }
  if (isFloatDtype(s.dtype)) {
    if (s.dtype === "F64") {
      const b = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
      return new Float64Array(b.buffer, b.byteOffset, s.numel);
    }
    return decodeFloat(s.dtype, bytes, s.numel);
  }
  const size = ST_DTYPE_BYTES[s.dtype];
  const b = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  switch (s.dtype) {
    case "I64":
      return new BigInt64Array(b.buffer, b.byteOffset, s.numel);
    case "I32":
      return new Int32Array(b.buffer, b.byteOffset, s.numel);
    case "I16":
      return new Int16Array(b.buffer, b.byteOffset, s.numel);
    case "I8":
      return new Int8Array(b.buffer, b.byteOffset, s.numel);
    default:
      return new Uint8Array(b.buffer, b.byteOffset, s.numel);
  }
}

function collect(file: string, format: TorchFormat, root: unknown, load: (s: StorageRef) => NativeArray): ReadTorchResult {
  const sd = findStateDict(file, root);
  const tensors = new Map<string, TorchTensor>();
  const nonTensors: string[] = [];
  const cache = new Map<string, NativeArray>();
  for (const [k, v] of sd) {
    const name = String(k);
    if (!isTensorRef(v)) {
      nonTensors.push(name);
      continue;
    }
    let storage = cache.get(v.storage.key);
    if (!storage) {
      storage = load(v.storage);
      cache.set(v.storage.key, storage);
    }
    tensors.set(name, materialize(file, name, v, storage));
  }
  return { format, tensors, nonTensors };
}

function readZip(file: string): ReadTorchResult {
  const zip = ZipReader.open(file);
  try {
    const pkl = [...zip.entries.keys()].find((n) => n === "data.pkl" || /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw fileError(file, undefined, "zip archive without data.pkl: not a torch.save checkpoint");
    const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
    const byteorder = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString("latin1").trim() : "little";
    if (byteorder !== "little") throw fileError(file, undefined, `storages are ${byteorder}-endian; only little-endian checkpoints are supported`);
    const hooks = torchHooks(file, (pid) => storageFromPid(file, pid, 2));
    const { value } = unpickle(zip.read(pkl), hooks, `${file}:${pkl}`);
    return collect(file, "zip", value, (s) => {
      const entry = `${prefix}data/${s.key}`;
      if (!zip.entries.has(entry)) throw fileError(file, undefined, `storage entry "${entry}" is missing from the archive`);
      return decodeStorage(file, s, zip.read(entry));
    });
  } finally {
    zip.close();
  }
}

function readLegacy(file: string): ReadTorchResult {
  // The legacy format is one stream: small pickles, then raw storages. Checkpoints in it predate large models,
  // so reading it whole is fine up to Node's Buffer limit.
  const size = fs.statSync(file).size;
  if (size > 2 ** 31 - 1) throw fileError(file, undefined, "legacy (pre-zip) torch.save files over 2 GiB are not supported: re-save with a current torch.save or as safetensors");
  const data = fs.readFileSync(file);
  const noGlobals = { resolveGlobal: () => undefined, persistentLoad: () => { throw fileError(file, undefined, "unexpected persistent id in the legacy header"); } };
  const magic = unpickle(data, noGlobals, file, 0);
  if (magic.value !== LEGACY_MAGIC) throw fileError(file, undefined, "not a PyTorch checkpoint (a pickle without torch's magic number)");
  const proto = unpickle(data, noGlobals, file, magic.end);
  if (proto.value !== 1001) throw fileError(file, undefined, `legacy torch.save protocol ${String(proto.value)} is not supported (expected 1001)`);
  const sysInfo = unpickle(data, noGlobals, file, proto.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw fileError(file, undefined, "the checkpoint was written on a big-endian machine: not supported");
  }
  const storages = new Map<string, StorageRef>();
  const hooks = torchHooks(file, (pid) => {
    const s = storageFromPid(file, pid, 2);
    // pid = ('storage', cls, root_key, location, numel, view_metadata); views of storages predate torch 1.0
    if (pid[5] !== null && pid[5] !== undefined) throw fileError(file, undefined, "storage views (pre-1.0 checkpoints) are not supported: re-save the checkpoint");
    const known = storages.get(s.key);
    if (!known) storages.set(s.key, s);
    return known ?? s;
  });
  const obj = unpickle(data, hooks, file, sysInfo.end);
  const keys = unpickle(data, noGlobals, file, obj.end);
  if (!Array.isArray(keys.value)) throw fileError(file, undefined, "legacy checkpoint: storage key list missing");
  const located = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const k of keys.value) {
    const s = storages.get(String(k));
    if (!s) throw fileError(file, undefined, `legacy checkpoint: storage ${String(k)} is listed but never referenced`);
    if (pos + 8 > data.length) throw fileError(file, undefined, `legacy checkpoint: file ends before storage ${s.key} (truncated file)`);
    const count = Number(data.readBigInt64LE(pos));
    if (count !== s.numel) throw fileError(file, undefined, `legacy checkpoint: storage ${s.key} has ${count} elements, the pickle says ${s.numel}`);
    const nbytes = count * ST_DTYPE_BYTES[s.dtype];
    pos += 8;
    if (pos + nbytes > data.length) throw fileError(file, undefined, `legacy checkpoint: storage ${s.key} needs bytes up to ${pos + nbytes}, the file has ${data.length} (truncated file)`);
    located.set(s.key, new Uint8Array(data.buffer, data.byteOffset + pos, nbytes));
    pos += nbytes;
  }
  return collect(file, "legacy", obj.value, (s) => {
    const b = located.get(s.key);
    if (!b) throw fileError(file, undefined, `legacy checkpoint: storage ${s.key} has no data`);
    return decodeStorage(file, s, b);
  });
}
