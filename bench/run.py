#!/usr/bin/env python3
"""`make bench`: tlszoo against Debian's nginx, on 127.0.0.1 only.

Builds the load generator (OpenSSL client) and wolfCrypt's speed probe,
mints the benchmark certificates with tlszoo itself (ECDSA P-256 and RSA-2048
leaves, TLS 1.2 and 1.3, X25519), serves the same chains and keys with nginx,
and runs the two servers alternately: full handshakes without resumption at
several concurrencies, with each server's own CPU time read from /proc. Then
memory per connection (before the ClientHello, and idle after the
handshake), tlszoo's start-up time with the full catalog, and the crypto
ceilings of wolfCrypt and OpenSSL. Prints a table and PASS/MISS per target;
a MISS does not fail the run, a broken bench does (exit 1).

Settings (environment): BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_CONC
("1,4,64"), BENCH_CASES (all; e.g. "ecdsa-tls13,rsa-tls12"), BENCH_PREHELLO
(10000), BENCH_IDLE (1000), BENCH_STARTUP_RUNS (5), BENCH_CRYPTO_SECONDS (2
per operation; 4 runs, before and after the load), BENCH_VERIFY (0; 1 makes
the client verify the chain), BENCH_WARMUP (2 s per case and server,
unmeasured; 0 for none), BENCH_SKIP (any of "load,memory,startup,crypto"),
BENCH_KEEP (1 keeps the temporary directory).
Python 3 stdlib only."""
import json
import os
import resource
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
from servers import HOST, Nginx, Tlszoo, port_accepts, port_free  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "build", "bench")
TLSZOO = os.path.join(ROOT, "tlszoo")
LOADGEN = os.path.join(OUT, "loadgen")
CRYPTORATE = os.path.join(OUT, "cryptorate")
CORES = os.cpu_count() or 1
PACKAGES = {"nginx": "nginx", "openssl": "openssl", "cc": "gcc"}  # command -> package
HEADERS = {"/usr/include/openssl/ssl.h": "libssl-dev"}
live = []  # servers and load generators to stop, whatever happens


class Case:
    """One benchmark endpoint: key type x TLS version; port index idx."""

    def __init__(self, kind, label, key, version, idx):
        self.kind, self.label, self.key, self.version, self.idx = kind, label, key, version, idx
        self.name = f"bench-{kind}-tls1{version[-1]}"
        self.short = f"{kind}-tls1{version[-1]}"
        self.host = f"{self.name}.tlszoo.localhost"

    def loadgen_args(self):
        suite = "ECDHE-ECDSA-AES128-GCM-SHA256" if self.kind == "ecdsa" else \
            "ECDHE-RSA-AES128-GCM-SHA256"
        # TLS 1.2 ties ECDSA certificates to supported_groups (RFC 8422 §5.1):
        # P-256 is offered for the signature, key exchange stays X25519.
        return ["-v", self.version, "-g", "X25519:P-256", "-C", suite,
                "-S", "TLS_AES_128_GCM_SHA256", "-s", self.host]


CASES = [Case("ecdsa", "ECDSA P-256", "ecdsa-p256", "1.2", 0),
         Case("ecdsa", "ECDSA P-256", "ecdsa-p256", "1.3", 1),
         Case("rsa", "RSA-2048", "rsa2048", "1.2", 2),
         Case("rsa", "RSA-2048", "rsa2048", "1.3", 3)]


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"bench: {name} must be a number")


def settings():
    cases = os.environ.get("BENCH_CASES", "")
    return {
        "rounds": max(1, env_int("BENCH_ROUNDS", 3)),
        "seconds": max(1, env_int("BENCH_SECONDS", 3)),
        "conc": [int(c) for c in os.environ.get("BENCH_CONC", "1,4,64").split(",") if c],
        "cases": [c for c in CASES if not cases or c.short in cases.split(",")],
        "prehello": env_int("BENCH_PREHELLO", 10000),
        "idle": env_int("BENCH_IDLE", 1000),
        "startup_runs": max(1, env_int("BENCH_STARTUP_RUNS", 5)),
        "crypto_seconds": max(1, env_int("BENCH_CRYPTO_SECONDS", 2)),
        "verify": os.environ.get("BENCH_VERIFY", "0") == "1",
        "skip": set(os.environ.get("BENCH_SKIP", "").split(",")),
    }


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def as_root(cmd):
    return cmd if os.geteuid() == 0 else ["sudo", *cmd]


def ensure_packages():
    """Installs what is missing; apt-get update only if the install fails."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = sorted({pkg for cmd, pkg in PACKAGES.items() if not shutil.which(cmd, path=path)} |
                     {pkg for f, pkg in HEADERS.items() if not os.path.exists(f)})
    if not missing:
        return
    say("installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = as_root(["apt-get", "install", "-y", "-q", *missing])
    if subprocess.run(install, env=env, stdout=sys.stderr).returncode == 0:
        return
    subprocess.run(as_root(["apt-get", "update", "-q"]), env=env, stdout=sys.stderr)
    if subprocess.run(install, env=env, stdout=sys.stderr).returncode != 0:
        raise RuntimeError("apt-get install failed: " + " ".join(missing))


def build_tools():
    if not os.access(TLSZOO, os.X_OK):
        raise RuntimeError(f"{TLSZOO} is missing; run `make` first")
    os.makedirs(OUT, exist_ok=True)
    flags = ["-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g"]
    bench = os.path.join(ROOT, "bench")
    builds = [[os.environ.get("CC", "cc"), *flags, "-o", LOADGEN,
               os.path.join(bench, "loadgen.c"), os.path.join(bench, "loadgen_run.c"),
               "-lssl", "-lcrypto", "-lpthread"],
              [os.environ.get("CC", "cc"), *flags, "-I", os.path.join(ROOT, "build/deps/include"),
               "-o", CRYPTORATE, os.path.join(bench, "cryptorate.c"),
               os.path.join(ROOT, "build/deps/lib/libwolfssl.a"), "-lm", "-lpthread"]]
    for cmd in builds:
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError("build failed: " + " ".join(cmd))


def raise_nofile():
    """Room for 10,000 connections on each side; returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_offset(ports, start=20000, stop=32000, step=250):
    """A port offset under which every port in PORTS (and the next one) is free."""
    for off in range(start, stop, step):
        if all(port_free(p + off) for p in ports):
            return off
    raise RuntimeError("no free port range on 127.0.0.1")


def write_scenarios(directory, cases):
    os.makedirs(directory, exist_ok=True)
    for c in cases:
        with open(os.path.join(directory, c.name + ".yaml"), "w") as f:
            f.write(f"# Benchmark endpoint written by bench/run.py.\n"
                    f"summary: Benchmark, {c.label} leaf, TLS {c.version}\n"
                    f"listen: {100 + c.idx}\nhost: {c.host}\n"
                    f"tls:\n  versions: [tls{c.version}]\n  groups: [x25519]\n"
                    f"certificate:\n  key: {c.key}\n  issuer: intermediate\n"
                    f"expect:\n  outcome: accept\n")


class Bench:
    """The temporary directory, ports and the pair of servers under test."""

    def __init__(self, cfg, work, nofile):
        self.cfg, self.work, self.nofile = cfg, work, nofile
        self.scenarios = os.path.join(work, "scenarios")
        self.certs = os.path.join(work, "certs")
        write_scenarios(self.scenarios, CASES)
        self.offset = free_offset([100 + c.idx for c in CASES] + [110 + c.idx for c in CASES])

    def zoo_port(self, case):
        return self.offset + 100 + case.idx

    def nginx_port(self, case):
        return self.offset + 110 + case.idx

    def start(self, extra=()):
        """tlszoo first (it mints the chains), then nginx on the same files."""
        zoo = Tlszoo(self.work, TLSZOO, self.scenarios, self.certs, self.offset,
                     [self.zoo_port(c) for c in CASES], extra)
        live.append(zoo)
        zoo.start(wait=120)  # the first start makes the RSA keys
        leaf = os.path.join(self.certs, "leaf")
        sites = [(self.nginx_port(c), "TLSv" + c.version,
                  os.path.join(leaf, c.name + ".chain.pem"), os.path.join(leaf, c.name + ".key"))
                 for c in CASES]
        nginx = Nginx(self.work, sites, CORES, self.nofile)
        live.append(nginx)
        nginx.start()
        time.sleep(0.5)
        return zoo, nginx

    def stop(self, *servers):
        for s in servers:
            s.stop()
            if s in live:
                live.remove(s)


def settle(server, base_fds, limit=3.0):
    """Waits (bounded) until the server has closed the last run's sockets."""
    deadline = time.monotonic() + limit
    while server.fds() > base_fds + 2 and time.monotonic() < deadline:
        time.sleep(0.02)


def run_loadgen(args, timeout):
    proc = subprocess.Popen([LOADGEN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    live.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        live.remove(proc)
    lines = out.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"loadgen {' '.join(args)} failed ({proc.returncode}): {err.strip()}")
    return json.loads(lines[-1])


def one_run(bench, server, base_fds, case, conc, port):
    cfg = bench.cfg
    args = [*case.loadgen_args(), "-c", str(conc), "-t", str(min(conc, CORES)),
            "-d", str(cfg["seconds"])]
    if cfg["verify"]:
        args += ["-A", os.path.join(bench.certs, "ca.pem")]
    settle(server, base_fds)
    user0, sys0 = server.cpu()
    res = run_loadgen([*args, HOST, str(port)], cfg["seconds"] + 60)
    settle(server, base_fds)
    user1, sys1 = server.cpu()
    hs = max(res["handshakes"], 1)
    res["server_cpu"] = (user1 - user0) + (sys1 - sys0)
    res["hs_per_cpu"] = res["handshakes"] / res["server_cpu"] if res["server_cpu"] > 0 else 0.0
    res["user_us"] = (user1 - user0) * 1e6 / hs
    res["sys_us"] = (sys1 - sys0) * 1e6 / hs
    res["cpu_util"] = res["server_cpu"] / res["elapsed"] if res["elapsed"] > 0 else 0.0
    return res


def warm_up(bench, zoo, nginx):
    """Both servers once through every case, unmeasured: caches, allocator
    arenas and tlszoo's event ring (10,000 events kept) reach steady state."""
    secs = os.environ.get("BENCH_WARMUP", "2")
    if secs == "0":
        return
    for case in bench.cfg["cases"]:
        for server, port in ((zoo, bench.zoo_port(case)), (nginx, bench.nginx_port(case))):
            run_loadgen([*case.loadgen_args(), "-c", "64", "-t", str(CORES), "-d", secs, HOST,
                         str(port)], int(secs) + 60)


def load_phase(bench):
    """Every case and concurrency, the servers alternately, ROUNDS times each."""
    cfg = bench.cfg
    zoo, nginx = bench.start()
    results = {}
    try:
        say(f"warming up (load average {os.getloadavg()[0]:.2f})")
        warm_up(bench, zoo, nginx)
        bases = {s.name: s.fds() for s in (zoo, nginx)}
        for case in cfg["cases"]:
            for conc in cfg["conc"]:
                for rnd in range(cfg["rounds"]):
                    line = []
                    for server, port in ((zoo, bench.zoo_port(case)),
                                         (nginx, bench.nginx_port(case))):
                        r = one_run(bench, server, bases[server.name], case, conc, port)
                        results.setdefault((case.short, conc, server.name), []).append(r)
                        line.append(f"{server.name} {r['rate']:.0f}/s "
                                    f"{r['hs_per_cpu']:.0f}/cpu-s err {r['error_total']}")
                    say(f"{case.short} c={conc} round {rnd + 1}: " + ", ".join(line))
    finally:
        bench.stop(zoo, nginx)
    return results


def read_line(proc, timeout):
    """One line of the child's stdout, or RuntimeError after timeout."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError("loadgen did not report in time")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("loadgen ended without a report")
    return json.loads(line)


def wait_for(pred, limit):
    deadline = time.monotonic() + limit
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pred()


def hold_test(server, port, count, handshake, case):
    """RSS per connection while COUNT connections are held open."""
    time.sleep(0.5)
    base_rss, base_fds = server.rss(), server.fds()
    args = [LOADGEN, "-H", str(count), "-T", "60", "-W", "300", *case.loadgen_args()]
    args += ["-k"] if handshake else []
    proc = subprocess.Popen([*args, HOST, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    live.append(proc)
    try:
        ready = read_line(proc, 400)
        owned = wait_for(lambda: server.fds() >= base_fds + ready["held"], 30)
        time.sleep(1.0)
        rss, fds = server.rss(), server.fds()
        proc.stdin.close()
        released = read_line(proc, 120)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        live.remove(proc)
    wait_for(lambda: server.fds() <= base_fds + 2, 30)
    held = max(ready["held"], 1)
    return {"wanted": count, "held": ready["held"], "server_fds_gained": fds - base_fds,
            "all_owned": owned, "dropped": released["dropped"], "errors": ready["error_total"],
            "first_error": ready["first_error"], "base_kib": base_rss, "kib": rss,
            "per_conn_kib": (rss - base_rss) / held, "open_seconds": ready["seconds"]}


def memory_phase(bench):
    """Fresh servers for each test, so no earlier allocation hides the growth."""
    cfg, case = bench.cfg, CASES[1]  # ECDSA P-256, TLS 1.3
    prehello = min(cfg["prehello"], bench.nofile - 300)
    extra = ["--max-connections", str(4 * prehello + 1000), "--handshake-timeout", "900",
             "--idle-timeout", "900"]
    out = {"case": case.label + ", TLS " + case.version}
    for test, count, handshake in (("prehello", prehello, False), ("idle", cfg["idle"], True)):
        zoo, nginx = bench.start(extra)
        try:
            for server, port in ((zoo, bench.zoo_port(case)), (nginx, bench.nginx_port(case))):
                out[(test, server.name)] = hold_test(server, port, count, handshake, case)
                r = out[(test, server.name)]
                say(f"memory {test} {server.name}: {r['held']} held, "
                    f"{r['per_conn_kib']:.2f} KiB/conn")
        finally:
            bench.stop(zoo, nginx)
    return out


def catalog_ports(certs, offset):
    listing = subprocess.run([TLSZOO, "list", "--json", "--scenarios",
                              os.path.join(ROOT, "scenarios"), "--certs", certs,
                              "--port-offset", str(offset)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise RuntimeError("tlszoo list --json failed: " + listing.stderr)
    return [s["port"] for s in json.loads(listing.stdout)["scenarios"]] + [9399 + offset]


def time_start(cmd, ports, limit):
    """Seconds from exec until every port accepts (None past LIMIT), then stops it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    live.append(proc)
    pending, took = set(ports), None
    while pending and time.perf_counter() - t0 < limit and proc.poll() is None:
        pending = {p for p in pending if not port_accepts(p, 1.0)}
        if pending:
            time.sleep(0.0005)
    if not pending:
        took = time.perf_counter() - t0
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    live.remove(proc)
    return took


def startup_phase(bench):
    """Full catalog, keys cached by a first (untimed) start."""
    certs = os.path.join(bench.work, "catalog-certs")
    probe = catalog_ports(certs, 0)
    offset = free_offset(probe, start=10000, step=1000)
    ports = catalog_ports(certs, offset)
    cmd = [TLSZOO, "serve", "--scenarios", os.path.join(ROOT, "scenarios"), "--certs", certs,
           "--port-offset", str(offset), "--events", "/dev/null"]
    if time_start(cmd, ports, 300) is None:
        raise RuntimeError("tlszoo with the full catalog did not start")
    times = [time_start(cmd, ports, 30) for _ in range(bench.cfg["startup_runs"])]
    return {"ports": len(ports), "ms": [t * 1e3 for t in times if t is not None],
            "failed": sum(t is None for t in times)}


def openssl_speed(secs):
    """`openssl speed -mr`: +F2 RSA, +F4 ECDSA, +F5 ECDH lines, the rate in field 3."""
    ossl = subprocess.run(["openssl", "speed", "-mr", "-seconds", secs, "ecdsap256", "rsa2048",
                           "ecdhx25519"], capture_output=True, text=True, timeout=300)
    fields = {}
    for line in ossl.stdout.splitlines():
        parts = line.split(":")
        if line.startswith(("+F2:", "+F4:", "+F5:")) and len(parts) > 3:
            fields[parts[0]] = float(parts[3])
    if len(fields) != 3:
        raise RuntimeError("cannot read `openssl speed -mr` output:\n" + ossl.stdout + ossl.stderr)
    return {"rsa2048_sign": fields["+F2"], "ecdsa_p256_sign": fields["+F4"],
            "x25519_derive": fields["+F5"]}


def wolfcrypt_speed(secs):
    wolf = subprocess.run([CRYPTORATE, secs], capture_output=True, text=True, timeout=120)
    if wolf.returncode != 0:
        raise RuntimeError("cryptorate failed: " + wolf.stderr)
    return json.loads(wolf.stdout)


def crypto_runs(cfg, count=2):
    """COUNT alternate runs of both libraries: [(wolfCrypt rates, OpenSSL rates)]."""
    secs = str(cfg["crypto_seconds"])
    return [(wolfcrypt_speed(secs), openssl_speed(secs)) for _ in range(count)]


def crypto_summary(runs):
    """The median of each rate over RUNS, taken before and after the load, so
    that a busy spell on the machine does not set the ceilings alone."""
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True)
    wolf, ossl = [r[0] for r in runs], [r[1] for r in runs]
    med = {k: statistics.median(r[k] for r in wolf) for k in wolf[0] if k != "library"}
    return {"wolf": {"library": wolf[0]["library"], **med}, "runs": len(runs),
            "openssl": {"library": " ".join(version.stdout.split()[:2]),
                        **{k: statistics.median(r[k] for r in ossl) for k in ossl[0]}}}


def stop_everything():
    for thing in reversed(live):
        try:
            if isinstance(thing, subprocess.Popen):
                if thing.poll() is None:
                    thing.kill()
                    thing.wait(timeout=10)
            else:
                thing.stop()
        except Exception as e:  # keep stopping the others
            say(f"could not stop {thing}: {e}")
    live.clear()


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    cfg = settings()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    work = tempfile.mkdtemp(prefix="tlszoo-bench-")
    data = {"cfg": cfg, "cores": CORES, "load_before": os.getloadavg()[0]}
    try:
        ensure_packages()
        build_tools()
        nofile = raise_nofile()
        bench = Bench(cfg, work, nofile)
        crypto = "crypto" not in cfg["skip"]
        if crypto:
            say("crypto ceilings")
            runs = crypto_runs(cfg)
        if "load" not in cfg["skip"]:
            data["load"] = load_phase(bench)
        if crypto:
            say("crypto ceilings again")
            data["crypto"] = crypto_summary(runs + crypto_runs(cfg))
        if "memory" not in cfg["skip"]:
            data["memory"] = memory_phase(bench)
        if "startup" not in cfg["skip"]:
            say("start-up with the full catalog")
            data["startup"] = startup_phase(bench)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        say(f"error: {e}")
        return 1
    finally:
        stop_everything()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept {work}")
    data["load_after"] = os.getloadavg()[0]
    report.print_all(data, CASES)
    report.save(data, os.path.join(OUT, "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
