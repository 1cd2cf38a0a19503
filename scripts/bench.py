#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the `bench:` lines of tests/bench.c and tests/kvm/gmem_bench.c into the `make bench` table,
and, with --plot, draws the curves people look at into an image.

Each row is a workload, each column an implementation, with the median and the ratios of the
rust_gmem columns to the row's references (what a user would otherwise use): KVM's built-in
guest_memfd for faults, fallocate and punch, 6.12's ways of converting (what a 6.12 VMM does, and
the bare attribute store) for conversions, shmem for host faults. A ratio below 1 means rust_gmem is
faster.
"""
import argparse

# Matched in order, by substring.
REFERENCES = [
    ("guest fault-in", ["kvm_gmem"]),
    ("guest access", ["rust_gmem"]),
    ("guest round trip", ["vmm_6.12"]),
    ("one 4 KiB page of a", ["rust_gmem"]),
    ("and back to private", ["rust_gmem"]),
    ("alternating", ["kvm_attributes"]),
    ("then one", ["kvm_attributes"]),
    ("then all", ["kvm_attributes"]),
    ("convert", ["vmm_6.12", "kvm_attributes"]),
    ("host fault-in", ["memfd"]),
    ("host re-touch", ["memfd"]),
    ("fallocate", ["kvm_gmem"]),
    ("punch hole", ["kvm_gmem"]),
]
COLUMNS = ["rust_gmem", "rust_gmem_2m", "rust_gmem_1g", "kvm_gmem", "vmm_6.12", "kvm_attributes",
           "memfd", "memfd_hugetlb"]
OURS = ["rust_gmem", "rust_gmem_2m", "rust_gmem_1g"]


def parse(log):
    data = {"rows": {}, "order": [], "memory": [], "curves": [], "notes": []}
    for line in open(log, errors="replace"):
        line = line.strip()
        if line.startswith("bench: "):
            workload, impl, value, unit, reps = line[7:].split("|")
            if workload not in data["rows"]:
                data["rows"][workload] = {}
                data["order"].append(workload)
            data["rows"][workload][impl] = (float(value), unit, int(reps))
        elif line.startswith("bench-memory: "):
            data["memory"].append(line[14:].split("|"))
        elif line.startswith("bench-curve: "):
            impl, mib, ranges, single, whole = line[13:].split("|")
            data["curves"].append((impl, int(mib), int(ranges), float(single), float(whole)))
        elif line.startswith(("bench-info: ", "bench-skip: ", "bench-mappings: ")):
            data["notes"].append(line.split(": ", 1)[0][6:] + ": " + line.split(": ", 1)[1])
        elif line.startswith("bench-faults: "):
            data["notes"].append("host faults, " + line[14:].replace("|", ": ", 1).replace("|", ", "))
    return data


def ratios(workload, row):
    refs = next((r for key, r in REFERENCES if key in workload), [])
    out = []
    for ref in refs:
        if ref not in row or row[ref][0] <= 0:
            continue
        for c in OURS:
            if c in row and c != ref:
                out.append(f"{c}/{ref} {row[c][0] / row[ref][0]:.2f}")
    return ", ".join(out) or "-"


def table(data, header):
    rows = data["rows"]
    out = [header] + [f"# {n}" for n in data["notes"]] + [""]
    cols = [c for c in COLUMNS if any(c in r for r in rows.values())]
    out.append("| workload | " + " | ".join(cols) + " | ratios |")
    out.append("|---" * (len(cols) + 2) + "|")
    for w in data["order"]:
        r = rows[w]
        cells = []
        for c in cols:
            if c in r:
                v, unit, reps = r[c]
                cells.append(f"{v:,.1f} {unit}" + ("" if reps > 1 else " (1 run)"))
            else:
                cells.append("-")
        out.append(f"| {w} | " + " | ".join(cells) + f" | {ratios(w, r)} |")
    mem = {}
    for impl, mib, count, entries, nodes, nbytes, slab, pages in data["memory"]:
        mem.setdefault((int(mib), int(count)), {})[impl] = (entries, int(nodes), int(nbytes),
                                                           int(slab), int(pages))
    if mem:
        out += ["", "Tracking memory after the alternating conversions: the live structures, counted "
                "exactly, and the slab growth measured:", "",
                "| file | ranges | rust_gmem tree (exact) | KVM attribute xarray (exact) | "
                "rust_gmem / KVM | slab growth rust_gmem / KVM | one 8-byte entry per page |",
                "|---|---|---|---|---|---|---|"]
        for (mib, count), m in sorted(mem.items()):
            r, k = m.get("rust_gmem"), m.get("kvm_attributes")
            rust = f"{r[1]} nodes, {r[2] / 1024:,.0f} KiB" if r else "-"
            kvm = f"{k[1]} nodes, {k[2] / 1024:,.0f} KiB" if k else "-"
            ratio = f"{r[2] / k[2]:.2f}" if r and k and k[2] else "-"
            slab = f"{r[3] if r else '-'} / {k[3] if k else '-'} KiB"
            pages = (r or k)[4]
            out.append(f"| {mib} MiB | {2 * count} | {rust} | {kvm} | {ratio} | {slab} | "
                       f"{pages * 8 // 1024:,} KiB |")
    return "\n".join(out)


def plot(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    styles = {"rust_gmem": "-o", "kvm_attributes": "--s"}
    for impl in ("rust_gmem", "kvm_attributes"):
        for mib in sorted({c[1] for c in data["curves"] if c[0] == impl}):
            pts = sorted((c[2], c[3], c[4]) for c in data["curves"] if c[0] == impl and c[1] == mib)
            label = f"{impl}, {mib // 1024} GiB file" if mib >= 1024 else f"{impl}, {mib} MiB file"
            axes[0].plot([p[0] for p in pts], [p[1] for p in pts], styles[impl], label=label)
            axes[1].plot([p[0] for p in pts], [p[2] for p in pts], styles[impl], label=label)
    axes[0].set_title("one 4 KiB conversion among N ranges")
    axes[1].set_title("the whole file back to shared")
    for ax in axes[:2]:
        if data["curves"]:
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
        ax.set_xlabel("ranges in the file (N)")
        ax.set_ylabel("us (median; TCG)")
        ax.grid(True, which="both", alpha=0.3)
        if data["curves"]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not measured in this run", ha="center", transform=ax.transAxes)
    bars, labels = [], []
    names = {"kvm_gmem": "KVM 4K", "rust_gmem": "rust 4K", "rust_gmem_2m": "rust 2M",
             "rust_gmem_1g": "rust 1G"}
    for w in data["order"]:
        if not w.startswith("guest fault-in"):
            continue
        size = " ".join(w.split(" ")[2:4])
        for c, name in names.items():
            if c in data["rows"][w]:
                bars.append(data["rows"][w][c][0] / 1000.0)
                labels.append(f"{size}\n{name}")
    rects = axes[2].bar(range(len(bars)), bars,
                        color=["#888" if "KVM" in lb else "#2a6" for lb in labels])
    axes[2].bar_label(rects, fmt="%.1f", fontsize=7)
    axes[2].set_xticks(range(len(bars)), labels, fontsize=7)
    if bars:
        axes[2].set_yscale("log")
    else:
        axes[2].text(0.5, 0.5, "not measured in this run", ha="center", transform=axes[2].transAxes)
    axes[2].set_ylabel("us per 4 KiB (median; TCG)")
    axes[2].set_title("guest fault-in per page size")
    axes[2].grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("header", nargs="?", default="")
    ap.add_argument("--plot", help="write the curves to this image (PNG)")
    args = ap.parse_args()
    data = parse(args.log)
    print(table(data, args.header))
    if args.plot:
        plot(data, args.plot)


if __name__ == "__main__":
    main()
