"""scikit-learn reference for `ftgeo bench probe`: the paper's probing protocol with MLPClassifier.

Grid search over hidden sizes x L2 alpha (solver adam, lr 1e-3, batch min(200, n), tol 1e-4, n_iter_no_change 10,
max_iter epochs), each configuration trained on train with random_state=seed and scored on the selection set
(dev), the best configuration (first of the highest dev accuracy, grid order) retrained with random_state
seed+1..seed+S, test accuracy mean and population std. Data are the representation store's .npy files (float32
vectors, int32 labels), so sklearn trains in float32 like the TypeScript probe.

Run with Debian's /usr/bin/python3 (python3-sklearn):
  /usr/bin/python3 bench/probe_sklearn.py --train X.npy Y.npy --dev X.npy Y.npy --test X.npy Y.npy \
      --hidden 32x32,64x64 --alphas 1e-4,1e-2 --seeds 5 --max-iter 1000
Prints one JSON line: sklearn version, seconds (training + scoring), grid, best, per-seed accuracies, mean, std,
and the thread pools numpy/sklearn used (threadpoolctl, when installed). Progress goes to stderr.
"""
import argparse
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def load(pair):
    return np.load(pair[0]), np.load(pair[1])


def thread_pools():
    """The BLAS / OpenMP libraries loaded and their thread counts (what the time was measured with)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{"api": p.get("internal_api"), "threads": p.get("num_threads")} for p in threadpool_info()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs=2, required=True)
    ap.add_argument("--dev", nargs=2, required=True)
    ap.add_argument("--test", nargs=2, required=True)
    ap.add_argument("--hidden", required=True, help="comma-separated h1xh2 pairs")
    ap.add_argument("--alphas", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-iter", type=int, default=1000)
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    xtr, ytr = load(a.train)
    xdv, ydv = load(a.dev)
    xte, yte = load(a.test)
    hidden = [tuple(int(v) for v in h.split("x")) for h in a.hidden.split(",")]
    alphas = [float(v) for v in a.alphas.split(",")]

    def make(h, alpha, seed):
        return MLPClassifier(hidden_layer_sizes=h, alpha=alpha, solver="adam", learning_rate_init=1e-3,
                             batch_size=min(200, len(xtr)), max_iter=a.max_iter, tol=1e-4, n_iter_no_change=10,
                             random_state=seed)

    t0 = time.time()
    grid = []
    for h in hidden:
        for alpha in alphas:
            t = time.time()
            m = make(h, alpha, a.seed).fit(xtr, ytr)
            acc = float(m.score(xdv, ydv))
            grid.append({"hidden": list(h), "alpha": alpha, "selectionAccuracy": acc, "epochs": int(m.n_iter_),
                         "seconds": time.time() - t})
            print(f"[sklearn grid] {len(grid)}/{len(hidden) * len(alphas)} {h} alpha {alpha:g} dev {acc:.4f} "
                  f"epochs {m.n_iter_} {time.time() - t:.1f}s", file=sys.stderr, flush=True)
    best = grid[0]
    for r in grid:
        if r["selectionAccuracy"] > best["selectionAccuracy"]:
            best = r
    seeds = []
    for s in range(a.seeds):
        t = time.time()
        m = make(tuple(best["hidden"]), best["alpha"], a.seed + 1 + s).fit(xtr, ytr)
        seeds.append({"seed": a.seed + 1 + s, "testAccuracy": float(m.score(xte, yte)), "epochs": int(m.n_iter_),
                      "seconds": time.time() - t})
        print(f"[sklearn seeds] {s + 1}/{a.seeds} test {seeds[-1]['testAccuracy']:.4f}", file=sys.stderr, flush=True)
    accs = [s["testAccuracy"] for s in seeds]
    print(json.dumps({"sklearn": sklearn.__version__, "seconds": time.time() - t0, "grid": grid,
                      "best": {"hidden": best["hidden"], "alpha": best["alpha"], "selectionAccuracy": best["selectionAccuracy"]},
                      "seeds": seeds, "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                      "threads": thread_pools()}))


if __name__ == "__main__":
    main()
