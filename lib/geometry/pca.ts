/**
 * Principal component analysis of a few vectors (centroid paths, centroid differences). The eigenvectors come
 * from ml-matrix's symmetric eigendecomposition of the covariance (dim x dim), or of the Gram matrix (n x n)
 * when there are fewer vectors than dimensions, which gives the same components far faster (ml-pca took ~90 s
 * on 10,000 x 768 here). Component signs are fixed (largest |coordinate| positive) so results are deterministic.
 */
import { EigenvalueDecomposition, Matrix as MlMatrix } from "ml-matrix";
import { argError } from "../util/errors";

export interface PcaResult {
  mean: Float64Array;
  /** Unit principal axes, by decreasing variance. */
  components: Float64Array[];
  /** Variance along each component (divided by n - 1). */
  variances: number[];
  /** Fraction of the total variance along each component. */
  explained: number[];
  /** Coordinates of the input vectors on the components. */
  scores: number[][];
}

export function pca(vectors: ArrayLike<number>[], k = 2): PcaResult {
  const n = vectors.length;
  if (n < 2) throw argError("vectors", `PCA needs at least 2 vectors, got ${n}`);
  const dim = vectors[0].length;
  vectors.forEach((v, i) => {
    if (v.length !== dim) throw argError(`vectors[${i}]`, `has ${v.length} values, expected ${dim}`);
  });
  const mean = new Float64Array(dim);
  for (const v of vectors) for (let t = 0; t < dim; t++) mean[t] += v[t] / n;
  const X = vectors.map((v) => Float64Array.from({ length: dim }, (_, t) => v[t] - mean[t]));
  let total = 0;
  for (const x of X) for (let t = 0; t < dim; t++) total += x[t] * x[t];
  total /= n - 1;
  const kk = Math.min(k, n - 1, dim);
  const components: Float64Array[] = [];
  const variances: number[] = [];
  if (n < dim) {
    const G = new MlMatrix(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let t = 0; t < dim; t++) s += X[i][t] * X[j][t];
        G.set(i, j, s);
        G.set(j, i, s);
      }
    }
    const e = new EigenvalueDecomposition(G, { assumeSymmetric: true });
    const order = e.realEigenvalues.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
    for (let c = 0; c < kk; c++) {
      const [lambda, col] = order[c];
      const comp = new Float64Array(dim);
      if (lambda > 0) {
        for (let i = 0; i < n; i++) {
          const u = e.eigenvectorMatrix.get(i, col);
          for (let t = 0; t < dim; t++) comp[t] += u * X[i][t];
        }
        const nrm = Math.sqrt(comp.reduce((s, v) => s + v * v, 0));
        for (let t = 0; t < dim; t++) comp[t] /= nrm;
      }
      components.push(comp);
      variances.push(Math.max(lambda, 0) / (n - 1));
    }
  } else {
    const C = new MlMatrix(dim, dim);
    for (let a = 0; a < dim; a++) {
      for (let b = a; b < dim; b++) {
        let s = 0;
        for (const x of X) s += x[a] * x[b];
        C.set(a, b, s / (n - 1));
        C.set(b, a, s / (n - 1));
      }
    }
    const e = new EigenvalueDecomposition(C, { assumeSymmetric: true });
    const order = e.realEigenvalues.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
    for (let c = 0; c < kk; c++) {
      const [lambda, col] = order[c];
      components.push(Float64Array.from({ length: dim }, (_, t) => e.eigenvectorMatrix.get(t, col)));
      variances.push(Math.max(lambda, 0));
    }
  }
  for (const comp of components) {
    let big = 0;
    for (let t = 0; t < dim; t++) if (Math.abs(comp[t]) > Math.abs(comp[big])) big = t;
    if (comp[big] < 0) for (let t = 0; t < dim; t++) comp[t] = -comp[t];
  }
  const scores = X.map((x) => components.map((comp) => x.reduce((s, v, t) => s + v * comp[t], 0)));
  return { mean, components, variances, explained: variances.map((v) => (total > 0 ? v / total : NaN)), scores };
}

/**
 * PCA of centroid paths: paths[p][s] is label p's centroid at snapshot s. One PCA over all points of all
 * paths, so the paths share axes; returns each path's 2-D (or k-D) trajectory.
 */
export function pcaOfPaths(paths: ArrayLike<number>[][], k = 2): { pca: PcaResult; paths: number[][][] } {
  const flat = paths.flat();
  const r = pca(flat, k);
  const out: number[][][] = [];
  let i = 0;
  for (const p of paths) {
    out.push(r.scores.slice(i, i + p.length));
    i += p.length;
  }
  return { pca: r, paths: out };
}
