/*
 * The K smallest of a stream of doubles, kept as a max-heap in heap[0..*h) (heap[0] is the K-th smallest once *h ==
 * K): the addons' nearest-neighbour scans (ftgeo_dist.c mergescan, ftgeo_blas.c knncand) bound their work with it.
 */
#ifndef FTGEO_KHEAP_H
#define FTGEO_KHEAP_H

#include <stdint.h>

static inline void kheapOffer(double *heap, int32_t *h, int32_t K, double v) {
  if (*h < K) {
    int32_t c = (*h)++;
    while (c > 0 && heap[(c - 1) / 2] < v) heap[c] = heap[(c - 1) / 2], c = (c - 1) / 2;
    heap[c] = v;
    return;
  }
  if (!(v < heap[0])) return;
  int32_t c = 0;
  for (;;) {
    int32_t l = 2 * c + 1, big = c;
    double top = v;
    if (l < K && heap[l] > top) big = l, top = heap[l];
    if (l + 1 < K && heap[l + 1] > top) big = l + 1;
    if (big == c) break;
    heap[c] = heap[big];
    c = big;
  }
  heap[c] = v;
}

#endif
