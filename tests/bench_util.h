/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tests/bench.c (the host's side) and tests/kvm/gmem_bench.c (the guest's) share: the clock,
 * the group selection and the one line per measurement that scripts/bench.py reads,
 * "bench: <workload>|<implementation>|<median>|<unit>|<runs>".
 */
#ifndef RUST_GMEM_BENCH_UTIL_H
#define RUST_GMEM_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* BENCH_ONLY=<word>[,<word>...] runs only the groups named; without it, all. */
static inline int want(const char *group)
{
	const char *only = getenv("BENCH_ONLY");

	return !only || !*only || strstr(only, group);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of `n` values (sorts them). */
static inline uint64_t median(uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return ns[n / 2];
}

/* One measurement: the median of `n` runs, divided by `per` (e.g. pages, or ns per unit). */
static inline void report(const char *workload, const char *impl, uint64_t *ns, int n,
			  const char *unit, double per)
{
	printf("bench: %s|%s|%.1f|%s|%d\n", workload, impl, median(ns, n) / per, unit, n);
	fflush(stdout);
}

#endif
