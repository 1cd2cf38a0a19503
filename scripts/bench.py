#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the `bench:` lines of tests/bench.c into the `make bench` table.

Each row is a workload, each column an implementation, with the median and its ratio to the row's
reference (what a user would otherwise use): shmem for host faults, KVM's built-in guest_memfd for
fallocate, KVM's per-VM memory attributes for conversions. A ratio below 1 means rust_gmem is faster.
"""
import sys

# Matched in order, by substring: conversion rows first (one mentions fallocate).
REFERENCE = [("convert", "kvm_attributes"), ("alternating", "kvm_attributes"),
             ("then all", "kvm_attributes"), ("fault-in", "memfd"), ("re-touch", "memfd"),
             ("fallocate", "kvm_gmem"), ("punch hole", "kvm_gmem")]
COLUMNS = ["rust_gmem", "memfd", "memfd_hugetlb", "kvm_gmem", "kvm_attributes"]


def main(log, header):
    rows, order, memory, info, faults = {}, [], [], "", []
    for line in open(log, errors="replace"):
        line = line.strip()
        if line.startswith("bench: "):
            workload, impl, value, unit, reps = line[7:].split("|")
            if workload not in rows:
                rows[workload] = {}
                order.append(workload)
            rows[workload][impl] = (float(value), unit, int(reps))
        elif line.startswith("bench-memory: "):
            memory.append(line[14:].split("|"))
        elif line.startswith("bench-info: "):
            info = line[12:]
        elif line.startswith("bench-faults: "):
            faults.append(line[14:].replace("|", ": ", 1).replace("|", ", "))
    out = [header, f"# {info}"] + [f"# faults, {f}" for f in faults] + [""]
    cols = [c for c in COLUMNS if any(c in r for r in rows.values())]
    out.append("| workload | " + " | ".join(cols) + " | reference | rust_gmem / reference |")
    out.append("|---" * (len(cols) + 3) + "|")
    for w in order:
        r = rows[w]
        ref = next((impl for key, impl in REFERENCE if key in w), None)
        cells = []
        for c in cols:
            if c in r:
                v, unit, reps = r[c]
                cells.append(f"{v:,.1f} {unit}" + ("" if reps > 1 else " (1 run)"))
            else:
                cells.append("-")
        ratio = "-"
        if ref in r and "rust_gmem" in r and r[ref][0] > 0:
            ratio = f"{r['rust_gmem'][0] / r[ref][0]:.2f}"
        out.append(f"| {w} | " + " | ".join(cells) + f" | {ref or '-'} | {ratio} |")
    if memory:
        out += ["", "Tracking memory after the alternating conversions (slab growth, KiB):", "",
                "| file | conversions | rust_gmem tree entries | rust_gmem tree | KVM attribute xarray | "
                "one 8-byte entry per page would be |",
                "|---|---|---|---|---|---|"]
        for size, count, entries, tree_kb, xa_kb, pages in memory:
            out.append(f"| {size} | {count} | {entries} | {tree_kb} KiB | {xa_kb} KiB | "
                       f"{int(pages) * 8 // 1024} KiB |")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
