"""The README's CI example, examples/ci-curl.sh, against the running zoo.

A secure curl (the zoo's CA, the client certificate) is judged with no FAIL
and the script exits 0; the same curl with -k is caught: the script exits 1
with a FAIL for exactly the scenarios whose certificate is bad.
"""
import os
import re
import subprocess

from zoo import TIMEOUT, check

ORDER = 70

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "ci-curl.sh")
CERTIFICATE_DEFECTS = {"expired", "not-yet-valid", "wrong-host", "missing-intermediate",
                       "self-signed", "untrusted-root"}


def run_example(zoo, *args):
    env = dict(os.environ, TLSZOO_API=zoo.api_base)
    p = subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT * len(zoo.m["scenarios"]))
    fails = set(re.findall(r"^FAIL +(\S+)", p.stdout, re.M))
    return p.returncode, p.stdout + p.stderr, fails


def suite(zoo):
    n = len(zoo.m["scenarios"])
    zoo.settle()
    rc, out, fails = run_example(zoo)
    check(rc == 0 and not fails and f"{n} connections, 0 FAIL" in out,
          "examples/ci-curl.sh: a secure curl gets no FAIL, exit 0",
          f"exit {rc}, FAIL for {sorted(fails)}:\n{out}")
    zoo.settle()
    rc, out, fails = run_example(zoo, "-k")
    check(rc == 1 and fails == CERTIFICATE_DEFECTS and f"{n} connections, 6 FAIL" in out,
          "examples/ci-curl.sh -k: curl -k is caught on every certificate defect, exit 1",
          f"exit {rc}, FAIL for {sorted(fails)}:\n{out}")
