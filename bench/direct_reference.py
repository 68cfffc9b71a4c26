"""Reference timings for `ftgeo bench direct`: sklearn's SVC(kernel="linear", C=1e6) on cluster pairs, as the
DirectProbe reference measures hull distances (width 2/||w||; 0 when the pair is not separated).

usage: /usr/bin/python3 bench/direct_reference.py DIR   (DIR holds points.npy [N, D] float32 and spans.npy [P, 3]
int32: offset, size of A, size of B per pair; A then B are consecutive rows). Prints one JSON line.
"""
import json
import sys
import time

import numpy as np
from sklearn.svm import SVC


def main():
    d = sys.argv[1]
    X = np.load(d + "/points.npy").astype(np.float64)
    spans = np.load(d + "/spans.npy")
    out = []
    for off, na, nb in spans:
        A = X[off:off + na]
        B = X[off + na:off + na + nb]
        XX = np.concatenate([A, B])
        yy = np.array([1] * na + [-1] * nb)
        t = time.perf_counter()
        clf = SVC(kernel="linear", C=1e6, tol=1e-5, max_iter=-1)
        clf.fit(XX, yy)
        width = 0.0 if clf.score(XX, yy) != 1.0 else float(2.0 / np.linalg.norm(clf.coef_.reshape(-1)))
        out.append({"distance": width, "seconds": time.perf_counter() - t})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
