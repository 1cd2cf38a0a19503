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

  tap-report.py selftest
      Checks that the `vm` parser fails what it must: failed tests, splats, crashes, timeouts.

  tap-report.py stats RESULTS TAP_LOG...
      Prints, as TAP comment lines, what the reliability tests tried (tests per flavour, fuzz steps,
      runs with an injected allocation failure, bad inputs, race-test operations).
"""
import re
import sys

SPLATS = re.compile(
    r"WARNING:|BUG:|kernel BUG|Oops|Kernel panic|KASAN|UBSAN|general protection fault|"
    r"possible circular locking|possible recursive locking|inconsistent lock state|"
    r"suspicious RCU usage|sleeping function called from invalid context|unreferenced object|"
    r"refcount_t: |list_add corruption|list_del corruption|rust_kernel: panicked|Call Trace:|"
    r"blocked for more than \d+ seconds|soft lockup|hard LOCKUP|detected stalls? on CPU|"
    r"self-detected stall"
)
# "ok 2 name # SKIP reason", and kselftest's nameless "ok 11 # SKIP reason".
RESULT = re.compile(r"(not ok|ok) \d+(?: (.*?))?(?:\s*#\s*(SKIP)\b\s*(.*))?$")


def vm(tap_path, console_path):
    with open(tap_path, errors="replace") as f:
        tap = f.read().splitlines()
    with open(console_path, errors="replace") as f:
        console = f.read().splitlines()
    out, splats = parse_vm(tap, console)
    for l in out:
        print(l)
    for l in splats[:50]:
        print(f"# kernel log: {l}", file=sys.stderr)
    return 0


def parse_vm(tap, console):
    """Returns the result records and the offending kernel log lines."""
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
            name = f"{current}: {m.group(2) or m.group(4)}"
            if m.group(3):
                out.append(f"skip {name} # {m.group(4) if m.group(2) else 'skipped'}")
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
    return out, splats


def selftest():
    good = ["### BEGIN t", "ok 1 a.b", "ok 2 a.c # SKIP no pool", "### END t rc=0",
            "### STEP insmod rc=0", "### DONE"]
    boot = ["[    0.1] Linux version 6.12.117", "[    1.0] rust_gmem: loaded"]
    cases = [
        ("clean run", good, boot, []),
        ("nameless kselftest skip", good[:2] + ["ok 2 # SKIP no memory failure"] + good[3:], boot,
         []),
        ("failed test", good[:1] + ["not ok 1 a.b"] + good[2:3] + ["### END t rc=1"] + good[4:],
         boot, ["t: a.b"]),
        ("exit status without a failed line", good[:3] + ["### END t rc=2"] + good[4:], boot,
         ["t: exit status 2"]),
        ("timeout", good[:3] + ["### END t rc=124"] + good[4:], boot, ["t: timed out"]),
        ("crash inside a test", good[:2], boot, ["t: did not finish", "vm: ran to the end"]),
        ("failed step", good[:4] + ["### STEP insmod rc=1", "### DONE"], boot, ["vm: insmod"]),
        ("kernel warning", good, boot + ["[ 2.0] WARNING: CPU: 0 PID: 1 at mm/x.c:1"],
         ["vm: kernel log"]),
        ("lockdep report", good, boot + ["[ 2.0] WARNING: possible circular locking dependency"],
         ["vm: kernel log"]),
        ("oops", good, boot + ["[ 2.0] Oops: general protection fault"], ["vm: kernel log"]),
        ("rust panic", good, boot + ["[ 2.0] rust_kernel: panicked at src/gmem.rs:1:1:"],
         ["vm: kernel log"]),
        ("hung task", good, boot + ["[ 62.0] INFO: task t:90 blocked for more than 60 seconds."],
         ["vm: kernel log"]),
        ("rcu stall", good, boot + ["[ 30.0] rcu: INFO: rcu_sched self-detected stall on CPU"],
         ["vm: kernel log"]),
    ]
    bad = 0
    for name, tap, console, must_fail in cases:
        out, _ = parse_vm(tap, console)
        fails = [r for r in out if r.startswith("fail ")]
        skips = [r for r in out if r.startswith("skip ")]
        want = all(any(m in f for f in fails) for m in must_fail) and (bool(fails) == bool(must_fail))
        if name in ("clean run", "nameless kselftest skip"):
            want = want and len(skips) == 1 and len(out) == 5
        print(f"{'ok' if want else 'FAILED'}: {name}: {fails}")
        bad += not want
    return 1 if bad else 0


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


def stats(results_path, logs):
    with open(results_path) as f:
        records = [l.split(" ", 2) for l in f if l.strip() and not l.startswith("#")]
    rows = []
    flavours = [re.sub(r".*vm-([a-z]+)-check.*", r"\1", log) for log in logs]
    status = {" ".join(r[1:]).strip(): r[0] for r in records if len(r) > 2}
    result = lambda name: "passed" if status.get(name) == "ok" else "FAILED"
    for flavour in flavours:
        mine = [r for r in records if len(r) > 2 and r[1] == flavour + ":"]
        count = lambda st: sum(1 for r in mine if r[0] == st)
        rows.append((f"{flavour}: tests", f"{count('ok')} passed, {count('fail')} failed, {count('skip')} skipped"))
    for log in logs:
        flavour = re.sub(r".*vm-([a-z]+)-check.*", r"\1", log)
        try:
            text = open(log, errors="replace").read()
        except OSError:
            continue
        fuzz = sum(int(x) for x in re.findall(r"fuzz steps: (\d+)", text))
        injected = re.findall(r":(\w+):(\d+) runs with an injected failure", text)
        bad = sum(int(x) for x in re.findall(r"bad inputs tried: (\d+)", text))
        race = re.search(r"conversions (\d+) \(EAGAIN (\d+)\), writes (\d+), punches/allocs (\d+), "
                         r"pins (\d+), files (\d+)", text)
        if fuzz:
            rows.append((f"{flavour}: differential fuzzer", f"{fuzz} steps, "
                         + result(f"{flavour}: fuzz_test: fuzz.differential")))
        if injected:
            ok = all(status.get(f"{flavour}: fault_test: inject.{op}") == "ok" for op, _ in injected)
            rows.append((f"{flavour}: runs with an injected allocation failure",
                         ", ".join(f"{op} {n}" for op, n in injected) +
                         f" (total {sum(int(n) for _, n in injected)}), " + ("passed" if ok else "FAILED")))
        if bad:
            ok = all(v == "ok" for k, v in status.items() if k.startswith(f"{flavour}: badinput_test:"))
            rows.append((f"{flavour}: bad inputs tried", f"{bad}, " + ("passed" if ok else "FAILED")))
        if race:
            c, e, w, p, pins, files = race.groups()
            rows.append((f"{flavour}: race test", f"{c} conversions ({e} EAGAIN), {w} writes, {p} punches "
                         f"and allocations, {pins} pins, {files} files, "
                         + result(f"{flavour}: race_test: race.all_at_once")))
    for what, value in rows:
        print(f"# {what}: {value}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "stats":
        sys.exit(stats(sys.argv[2], sys.argv[3:]))
    if len(sys.argv) == 4 and sys.argv[1] == "vm":
        sys.exit(vm(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        sys.exit(summary(sys.argv[2]))
    if len(sys.argv) == 2 and sys.argv[1] == "selftest":
        sys.exit(selftest())
    sys.exit(__doc__)
