#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test result records and the TAP report of `make check`.

  tap-report.py vm TAP_LOG CONSOLE_LOG >> RESULTS
      Turns the test VM's framed output (ttyS1) and kernel log (ttyS0) into result records, one a line:
      "ok NAME", "fail NAME" or "skip NAME # REASON". A missing end marker, a timeout, a failed step or a
      kernel log with a warning, oops, BUG, KASAN or lockdep report is a failure.

  tap-report.py summary RESULTS
      Prints one numbered TAP line per record, then "N passed, N failed, N skipped"; exits 1 on any
      failure.
"""
import re
import sys

SPLATS = re.compile(
    r"WARNING:|BUG:|kernel BUG|Oops|Kernel panic|KASAN|UBSAN|general protection fault|"
    r"possible circular locking|possible recursive locking|inconsistent lock state|"
    r"suspicious RCU usage|sleeping function called from invalid context|unreferenced object|"
    r"refcount_t: |list_add corruption|list_del corruption|rust_kernel: panicked|Call Trace:"
)
RESULT = re.compile(r"(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP)\b\s*(.*))?$")


def vm(tap_path, console_path):
    with open(tap_path, errors="replace") as f:
        tap = f.read().splitlines()
    with open(console_path, errors="replace") as f:
        console = f.read().splitlines()
    out, current, failed_in_current, done = [], None, False, False

    for line in (l.rstrip("\r") for l in tap):
        if m := re.match(r"### BEGIN (\S+)", line):
            current, failed_in_current = m.group(1), False
        elif m := re.match(r"### END (\S+) rc=(\d+)", line):
            rc = int(m.group(2))
            if rc == 124 or rc == 143:
                out.append(f"fail {current}: timed out")
            elif rc != 0 and not failed_in_current:
                out.append(f"fail {current}: exit status {rc}")
            current = None
        elif m := re.match(r"### STEP (.+) rc=(\d+)", line):
            out.append(f"{'ok' if m.group(2) == '0' else 'fail'} vm: {m.group(1)}")
        elif line.startswith("### DONE"):
            done = True
        elif current and (m := RESULT.match(line)):
            name = f"{current}: {m.group(2)}"
            if m.group(3):
                out.append(f"skip {name} # {m.group(4)}")
            elif m.group(1) == "ok":
                out.append(f"ok {name}")
            else:
                failed_in_current = True
                out.append(f"fail {name}")
    if current:
        out.append(f"fail {current}: did not finish (kernel crash or VM timeout)")
    out.append(f"{'ok' if done else 'fail'} vm: ran to the end")
    splats = [l for l in console if SPLATS.search(l)]
    out.append(f"{'fail' if splats else 'ok'} vm: kernel log free of warnings, oopses and lockdep reports")
    for l in out:
        print(l)
    for l in splats[:50]:
        print(f"# kernel log: {l}", file=sys.stderr)
    return 0


def summary(results_path):
    counts = {"ok": 0, "fail": 0, "skip": 0}
    n = 0
    print("TAP version 13")
    with open(results_path) as f:
        records = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    print(f"1..{len(records)}")
    for rec in records:
        status, _, rest = rec.partition(" ")
        n += 1
        counts[status] += 1
        if status == "skip":
            name, _, reason = rest.partition(" # ")
            print(f"ok {n} {name} # SKIP {reason}")
        else:
            print(f"{'ok' if status == 'ok' else 'not ok'} {n} {rest}")
    print(f"{counts['ok']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] or not records else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "vm":
        sys.exit(vm(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        sys.exit(summary(sys.argv[2]))
    sys.exit(__doc__)
