"""The printed result of `make bench`: one block per case (median and
min-max of each figure for tlszoo and nginx, and their ratio), crypto
ceilings, memory per connection, start-up time, then PASS/MISS per target.
Also saves everything as JSON. Python stdlib only."""
import json
import statistics

METRICS = [("rate", "handshakes/s", 0), ("p50_ms", "latency p50 (ms)", 2),
           ("p99_ms", "latency p99 (ms)", 2), ("hs_per_cpu", "handshakes per server CPU-s", 0),
           ("user_us", "server user CPU us/handshake", 0),
           ("sys_us", "server system CPU us/handshake", 0),
           ("cpu_util", "server CPU (cores busy)", 2), ("error_total", "errors per run", 0)]
SERVERS = ("tlszoo", "nginx")
TARGET_CONC = (4, 64)


def spread(values, digits):
    """'median [min-max]' with DIGITS decimals."""
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{med:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def median_of(load, key, metric):
    runs = load.get(key, [])
    return statistics.median(r[metric] for r in runs) if runs else None


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def case_block(load, case, conc):
    runs = {s: load.get((case.short, conc, s), []) for s in SERVERS}
    if not any(runs.values()):
        return
    suites = ", ".join(f"{s}: {r[0]['version']} {r[0]['cipher']}" for s, r in runs.items() if r)
    print(f"\n{case.label}, TLS {case.version}, concurrency {conc}  ({suites})")
    print(f"  {'figure':30} {'tlszoo median [min-max]':>26} {'nginx median [min-max]':>26}"
          f" {'tlszoo/nginx':>13}")
    for metric, label, digits in METRICS:
        vals = {s: [r[metric] for r in runs[s]] for s in SERVERS}
        rel = "-" if metric == "error_total" else \
            ratio(median_of(load, (case.short, conc, "tlszoo"), metric),
                  median_of(load, (case.short, conc, "nginx"), metric))
        print(f"  {label:30} {spread(vals['tlszoo'], digits):>26} "
              f"{spread(vals['nginx'], digits):>26} {rel:>13}")
    for s in SERVERS:
        errs = [r["first_error"] for r in runs[s] if r["first_error"]]
        aborted = sum(r["aborted"] + r["close_timeouts"] for r in runs[s])
        if errs or aborted:
            print(f"  {s}: first error: {errs[0] if errs else '-'}; "
                  f"aborted/close timeouts: {aborted}")


def limits(crypto):
    """Handshakes per CPU-second if the asymmetric crypto were all there is:
    one signature, one X25519 key generation, one X25519 agreement."""
    w, o = crypto["wolf"], crypto["openssl"]
    kx_w = 1 / w["x25519_keygen"] + 1 / w["x25519_derive"]
    kx_o = 2 / o["x25519_derive"]  # `openssl speed` times agreement only
    return {("ecdsa", "tlszoo"): 1 / (1 / w["ecdsa_p256_sign"] + kx_w),
            ("rsa", "tlszoo"): 1 / (1 / w["rsa2048_sign"] + kx_w),
            ("ecdsa", "nginx"): 1 / (1 / o["ecdsa_p256_sign"] + kx_o),
            ("rsa", "nginx"): 1 / (1 / o["rsa2048_sign"] + kx_o)}


def crypto_block(data, cases):
    crypto = data.get("crypto")
    if not crypto:
        return
    w, o = crypto["wolf"], crypto["openssl"]
    print(f"\nCrypto ceilings, one core, operations per CPU-second "
          f"(median of {crypto['runs']} runs)")
    print(f"  {'operation':28} {w['library']:>18} {o['library']:>18}")
    for key, label in (("ecdsa_p256_sign", "ECDSA P-256 sign"), ("rsa2048_sign", "RSA-2048 sign"),
                       ("x25519_keygen", "X25519 key generation"),
                       ("x25519_derive", "X25519 agreement")):
        theirs = f"{o[key]:.0f}" if key in o else "(not timed)"
        print(f"  {label:28} {w[key]:>18.0f} {theirs:>18}")
    lim = limits(crypto)
    print("  handshake ceiling (sign + X25519 keygen + agreement): "
          f"ECDSA {lim['ecdsa', 'tlszoo']:.0f} (wolfCrypt) / {lim['ecdsa', 'nginx']:.0f} (OpenSSL), "
          f"RSA {lim['rsa', 'tlszoo']:.0f} / {lim['rsa', 'nginx']:.0f}")
    load = data.get("load", {})
    if not load:
        return
    print(f"  {'case':34} {'tlszoo hs/CPU-s':>16} {'of wolfCrypt':>13} "
          f"{'nginx hs/CPU-s':>15} {'of OpenSSL':>11}")
    for case in cases:
        for conc in data["cfg"]["conc"]:
            z = median_of(load, (case.short, conc, "tlszoo"), "hs_per_cpu")
            n = median_of(load, (case.short, conc, "nginx"), "hs_per_cpu")
            if z is None or n is None:
                continue
            print(f"  {case.label + ', TLS ' + case.version + ', c=' + str(conc):34} {z:>16.0f} "
                  f"{z / lim[case.kind, 'tlszoo']:>12.0%} {n:>15.0f} "
                  f"{n / lim[case.kind, 'nginx']:>10.0%}")


def memory_block(data):
    mem = data.get("memory")
    if not mem:
        return
    print(f"\nMemory per connection (VmRSS summed over the server's processes; {mem['case']})")
    for test, label in (("prehello", "before ClientHello"), ("idle", "idle after handshake")):
        for s in SERVERS:
            r = mem.get((test, s))
            if r is None:
                continue
            print(f"  {s:7} {r['held']:>6} conns {label:21}: {r['per_conn_kib']:6.2f} KiB/conn "
                  f"(RSS {r['base_kib'] / 1024:.1f} -> {r['kib'] / 1024:.1f} MiB; "
                  f"server sockets +{r['server_fds_gained']}, dropped {r['dropped']}, "
                  f"errors {r['errors']})")


def startup_block(data):
    st = data.get("startup")
    if not st:
        return
    print(f"\nStart-up, full catalog, cached keys: exec until all {st['ports']} ports accept: "
          f"{spread(st['ms'], 1)} ms over {len(st['ms'])} runs"
          + (f", {st['failed']} did not start" if st["failed"] else ""))


def verdict(ok, text):
    print(f"  {'SKIP' if ok is None else 'PASS' if ok else 'MISS'}  {text}")


def targets(data, cases):
    load, crypto = data.get("load", {}), data.get("crypto")
    print("\nTargets")
    for case in (c for c in cases if c.kind == "ecdsa"):
        for conc in TARGET_CONC:
            z = median_of(load, (case.short, conc, "tlszoo"), "hs_per_cpu")
            n = median_of(load, (case.short, conc, "nginx"), "hs_per_cpu")
            ok = None if z is None or not n else z >= 1.5 * n
            verdict(ok, f"ECDSA P-256 TLS {case.version} c={conc}: tlszoo/nginx handshakes per "
                        f"CPU-s = {ratio(z, n)} (target >= 1.50)")
    sign = crypto["wolf"]["rsa2048_sign"] if crypto else None
    ceiling = limits(crypto)["rsa", "tlszoo"] / sign if crypto else 0
    for case in (c for c in cases if c.kind == "rsa"):
        for conc in TARGET_CONC:
            z = median_of(load, (case.short, conc, "tlszoo"), "hs_per_cpu")
            ok = None if z is None or sign is None else z >= 0.85 * sign
            verdict(ok, f"RSA-2048 TLS {case.version} c={conc}: tlszoo handshakes per CPU-s / "
                        f"wolfCrypt RSA-2048 signs per s = {(z / sign if z and sign else 0):.0%} "
                        f"(target >= 85%; sign + X25519 alone allow {ceiling:.0%})")
    mem = data.get("memory", {})
    for test, limit, label in (("prehello", 8, "before ClientHello"),
                               ("idle", 40, "idle after handshake")):
        r = mem.get((test, "tlszoo"))
        verdict(None if r is None else r["per_conn_kib"] <= limit,
                f"tlszoo memory {label}: {r['per_conn_kib'] if r else 0:.2f} KiB/conn "
                f"(target <= {limit} KiB)")
    st = data.get("startup")
    med = statistics.median(st["ms"]) if st and st["ms"] else None
    verdict(None if med is None else med <= 200,
            f"tlszoo start-up with the full catalog: {med or 0:.1f} ms (target <= 200 ms)")


def print_all(data, cases):
    print(f"\n=== tlszoo vs nginx, {data['cores']} cores, 127.0.0.1; "
          f"{data['cfg']['rounds']} alternating rounds of {data['cfg']['seconds']} s per figure; "
          f"full handshakes, no resumption, X25519 ===")
    print(f"(1-minute load average {data['load_before']:.2f} before, {data['load_after']:.2f} "
          f"after: anything else running on the machine shows up as noise)")
    for case in cases:
        for conc in data["cfg"]["conc"]:
            case_block(data.get("load", {}), case, conc)
    crypto_block(data, cases)
    memory_block(data)
    startup_block(data)
    targets(data, cases)


def save(data, path):
    def plain(obj):
        if isinstance(obj, dict):
            return {("/".join(map(str, k)) if isinstance(k, tuple) else k): plain(v)
                    for k, v in obj.items()}
        if isinstance(obj, (list, tuple, set)):
            return [plain(v) for v in obj]
        if hasattr(obj, "short"):
            return obj.short
        return obj

    with open(path, "w") as f:
        json.dump(plain(data), f, indent=1)
