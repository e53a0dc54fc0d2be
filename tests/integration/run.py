#!/usr/bin/env python3
"""Integration tests: real TLS clients against one freshly started tlszoo.

Starts `tlszoo serve` once (zoo.Zoo: free 127.0.0.1 ports, a temporary
directory, an events file and a key log), runs every suite_*.py in this
directory against it (each defines suite(zoo); ORDER, default 50, sorts them),
stops the server and checks what it wrote. Prints one line per check and,
last, "N passed, M failed"; exits 0 only if nothing failed.

  python3 tests/integration/run.py [SUITE ...]   e.g. run.py api load
Binary: $TLSZOO (default ./tlszoo). Python 3.11, stdlib only.
"""
import glob
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402
from zoo import SetupError, Zoo, check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def suites(wanted):
    """The suite modules, in ORDER then name; WANTED (names without the
    suite_ prefix) narrows them."""
    found = []
    for path in glob.glob(os.path.join(HERE, "suite_*.py")):
        name = os.path.basename(path)[:-3]
        if wanted and name[len("suite_"):] not in wanted:
            continue
        module = importlib.import_module(name)
        found.append((getattr(module, "ORDER", 50), name, module))
    unknown = set(wanted) - {name[len("suite_"):] for _, name, _ in found}
    if unknown:
        raise SetupError(f"no such suite: {', '.join(sorted(unknown))}")
    return [module for _, _, module in sorted(found, key=lambda t: t[:2])]


def aborted(what, e):
    """A broken suite or set-up is a failed check, never a silent pass."""
    first = (str(e).splitlines() or [""])[0]
    check(False, f"{what} aborted: {type(e).__name__}: {first}", traceback.format_exc())


def file_checks(z):
    """After the stop: every line of the events file is one JSON event and
    the ids run 1, 2, 3, ... in file order (one event per connection, none
    lost or written twice)."""
    with open(z.events_path) as f:
        lines = f.read().splitlines()
    bad, ids = [], []
    for n, line in enumerate(lines, 1):
        try:
            ids.append(int(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError) as e:
            bad.append(f"line {n}: {e}: {line[:200]}")
    check(lines and not bad, f"events file: all {len(lines)} lines are JSON events",
          "\n".join(bad[:5]) or "no events")
    check(ids == list(range(1, len(ids) + 1)), "events file: ids are 1..N in file order",
          f"first irregular ids: {[(n, i) for n, i in enumerate(ids, 1) if n != i][:5]}")


def run_all(wanted):
    for tool in ("openssl", "curl", "gnutls-cli"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            raise SetupError(f"{tool} is not installed")
    modules = suites(wanted)
    with tempfile.TemporaryDirectory(prefix="tlszoo-it-") as tmp:
        z = Zoo(tmp)
        try:
            z.start()
            for module in modules:
                started = time.monotonic()
                try:
                    module.suite(z)
                except Exception as e:
                    aborted(module.__name__, e)
                print(f"---- {module.__name__}: {time.monotonic() - started:.1f} s")
                sys.stdout.flush()
            rc = z.stop()
            check(rc == 0, "serve exits 0 on SIGTERM", f"got {rc}; log:\n{z.log_text()}")
            file_checks(z)
        finally:
            z.close()


def main(argv):
    started = time.monotonic()
    try:
        run_all(argv)
    except Exception as e:
        aborted("test run", e)
    print(f"---- total: {time.monotonic() - started:.1f} s")
    print(zoo.summary())
    return 1 if zoo.counts["failed"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        zoo.counts["failed"] += 1
        print(f"interrupted\n{zoo.summary()}")
        sys.exit(130)
