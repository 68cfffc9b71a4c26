/**
 * Kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks and that BERT training needs, written in JS over the wasm
 * heap (the backend keeps every tensor there, so no copies are made).
 */
import * as tf from "@tensorflow/tfjs";

/** The parts of the wasm backend object these kernels use (it is not exported with types from the package). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * UnsortedSegmentSum: the gradient of gather, i.e. of the embedding lookup. The cpu backend's version loops over
 * every segment (30,522 vocabulary rows) for every input row; this one makes one pass over the input rows.
 */
function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const ids = args.inputs.segmentIds as tf.TensorInfo;
  const numSegments = args.attrs.numSegments as number;
  if (x.dtype !== "float32") throw new Error(`UnsortedSegmentSum (wasm, ftgeo): only float32 values are supported, got ${x.dtype}`);
  const idRank = ids.shape.length;
  for (let i = 0; i < idRank; i++) {
    if (ids.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum (wasm, ftgeo): segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}]`);
    }
  }
  const rows = tf.util.sizeFromShape(ids.shape);
  const inner = tf.util.sizeFromShape(x.shape.slice(idRank));
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const out = backend.makeOutput(outShape, "float32");
  // Views are taken after makeOutput: allocating may grow (and so detach) the heap buffer.
  const o = backend.typedArrayFromHeap(out) as Float32Array;
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const idv = backend.typedArrayFromHeap(ids);
  o.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = idv[r];
    if (s < 0 || s >= numSegments) continue; // TensorFlow drops out-of-range ids
    const src = r * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j];
  }
  return out;
}

/**
 * Slice over heap views. The shipped wasm Slice first copies the whole input out of the heap (backend.readSync), so
 * unstacking n blocks costs n full copies; this one copies only the sliced rows.
 */
function sliceInto(backend: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size.slice(), x.dtype);
  const n = tf.util.sizeFromShape(size);
  if (n === 0) return out;
  const o = backend.typedArrayFromHeap(out);
  const xv = backend.typedArrayFromHeap(x);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // Innermost run: the last axis, widened over trailing axes that are taken whole.
  let inner = size[rank - 1];
  let axis = rank - 1;
  while (axis > 0 && size[axis] === x.shape[axis] && begin[axis] === 0) {
    axis--;
    inner *= size[axis];
  }
  if (axis === 0 && size[0] * (rank > 1 ? strides[0] : 1) === inner) {
    // Fully contiguous.
    const start = begin[0] * (rank > 1 ? strides[0] : 1);
    o.set(xv.subarray(start, start + n));
    return out;
  }
  // Iterate over the outer axes [0, axis) (and the run of `axis` itself is `inner` long).
  const outer = size.slice(0, axis);
  const idx = new Array(axis).fill(0);
  const runStart = (i: number[]): number => {
    let off = begin[axis] * (axis < rank - 1 ? strides[axis] : 1);
    for (let k = 0; k < axis; k++) off += (begin[k] + i[k]) * strides[k];
    return off;
  };
  let w = 0;
  const total = tf.util.sizeFromShape(outer);
  for (let r = 0; r < total; r++) {
    const start = runStart(idx);
    o.set(xv.subarray(start, start + inner), w);
    w += inner;
    for (let k = axis - 1; k >= 0; k--) {
      if (++idx[k] < outer[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

function slice(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
  if (x.dtype === "string") throw new Error("Slice (wasm, ftgeo): string tensors are not supported");
  return sliceInto(args.backend as WasmBackendLike, x, begin, size);
}

function unpack(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo[] {
  const value = args.inputs.value as tf.TensorInfo;
  const rank = value.shape.length;
  let axis = args.attrs.axis as number;
  if (axis < 0) axis += rank;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array(rank).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const o = sliceInto(args.backend as WasmBackendLike, value, begin, size);
    outs.push({ dataId: o.dataId, dtype: o.dtype, shape: outShape });
  }
  return outs;
}

/**
 * GatherV2 along axis 0 (the embedding lookup) as row copies; the shipped kernel's generic strided loop took
 * ~100x longer for a [30522, H] table. Other axes and batch dims go to the original kernel.
 */
function gatherRows(orig: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo => {
    const x = args.inputs.x as tf.TensorInfo;
    const indices = args.inputs.indices as tf.TensorInfo;
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
    const batchDims = (args.attrs.batchDims as number) ?? 0;
    if (axis !== 0 || batchDims !== 0 || x.dtype === "string" || x.shape.length < 1) return orig(args as never) as tf.TensorInfo;
    const backend = args.backend as WasmBackendLike;
    const rows = x.shape[0];
    const inner = tf.util.sizeFromShape(x.shape.slice(1));
    const n = tf.util.sizeFromShape(indices.shape);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const o = backend.typedArrayFromHeap(out);
    const xv = backend.typedArrayFromHeap(x);
    const iv = backend.typedArrayFromHeap(indices);
    for (let i = 0; i < n; i++) {
      const r = iv[i];
      if (!(r >= 0 && r < rows)) throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
      o.set(xv.subarray(r * inner, (r + 1) * inner), i * inner);
    }
    return out;
  };
}

function override(kernelName: string, kernelFunc: unknown): void {
  if (tf.getKernel(kernelName, "wasm")) tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
}

export function registerWasmExtras(): void {
  override("Slice", slice);
  const gather = tf.getKernel("GatherV2", "wasm");
  if (gather && !(gather.kernelFunc as { ftgeo?: boolean }).ftgeo) {
    const f = gatherRows(gather.kernelFunc);
    (f as unknown as { ftgeo: boolean }).ftgeo = true;
    tf.unregisterKernel("GatherV2", "wasm");
    tf.registerKernel({ kernelName: "GatherV2", backendName: "wasm", setupFunc: gather.setupFunc, kernelFunc: f as unknown as tf.KernelFunc });
  }
  override("Unpack", unpack);
  if (!tf.getKernel("UnsortedSegmentSum", "wasm")) {
    tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "wasm", kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
}
