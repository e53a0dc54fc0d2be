"""--keylog FILE: NSS key log lines a packet analyser can decrypt with.

A TLS 1.3 and a TLS 1.2 connection from Python, which writes its own key log
(SSLContext.keylog_filename): the server's file has the same secrets for the
same client randoms (SERVER_TRAFFIC_SECRET_0 and the other TLS 1.3 traffic
secrets; CLIENT_RANDOM with the TLS 1.2 master secret), every line is well
formed, and the file is readable by its owner only (0600).
"""
import os
import re
import stat

from zoo import check, python_ssl, tls12_only

ORDER = 60

LINE = re.compile(r"^([A-Z_0-9]+) ([0-9a-fA-F]{64}) ([0-9a-fA-F]{64}|[0-9a-fA-F]{96})$")
TLS13_LABELS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")


def read_keylog(path):
    """{(label, client random): secret}, lower case, and the lines that are
    not NSS key log lines (comments aside)."""
    entries, bad = {}, []
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("#") or not line:
                continue
            m = LINE.match(line)
            if m is None:
                bad.append(line)
            else:
                entries[(m[1], m[2].lower())] = m[3].lower()
    return entries, bad


def connection(zoo, path, *tweaks):
    """A Python connection to valid that logs its keys to PATH; returns
    (exit code, output, what it logged)."""
    def keylog(ctx):
        ctx.keylog_filename = path
    since, where = zoo.last_id(), {}
    rc, out = python_ssl(zoo.call(zoo.scenario("valid"), extra=(keylog, *tweaks)), where)
    zoo.event_for(where.get("peer"), since)
    mine, _ = read_keylog(path) if os.path.exists(path) else ({}, [])
    return rc, out, mine


def suite(zoo):
    tmp = zoo.tmp
    rc13, out13, client13 = connection(zoo, os.path.join(tmp, "client13.keylog"))
    rc12, out12, client12 = connection(zoo, os.path.join(tmp, "client12.keylog"),
                                       tls12_only)
    server, bad = read_keylog(zoo.keylog_path)

    check(rc13 == 0 and out13.startswith("TLSv1.3") and rc12 == 0 and out12.startswith("TLSv1.2"),
          "keylog: Python connected with TLS 1.3 and with TLS 1.2",
          f"TLS 1.3: {rc13} {out13[:200]}\nTLS 1.2: {rc12} {out12[:200]}")
    check(not bad and server, f"keylog: all {len(server)} lines are LABEL RANDOM(64 hex) SECRET",
          "\n".join(bad[:5]) or "the key log is empty")

    randoms13 = {r for (label, r) in client13 if label == "SERVER_TRAFFIC_SECRET_0"}
    want13 = {k: v for k, v in client13.items() if k[0] in TLS13_LABELS}
    missing13 = {k: v for k, v in want13.items() if server.get(k) != v}
    check(len(randoms13) == 1 and len(want13) == 4 and not missing13,
          "keylog: TLS 1.3: the server logged the client's 4 traffic secrets "
          "(SERVER_TRAFFIC_SECRET_0 ...) for its client random",
          f"client logged {sorted(client13)}; server lacks or differs on {sorted(missing13)}")

    want12 = {k: v for k, v in client12.items() if k[0] == "CLIENT_RANDOM"}
    missing12 = {k: v for k, v in want12.items() if server.get(k) != v}
    check(len(want12) == 1 and not missing12 and len(next(iter(want12.values()))) == 96,
          "keylog: TLS 1.2: the server logged CLIENT_RANDOM with the client's random "
          "and the 48-byte master secret",
          f"client logged {sorted(client12)}; server has "
          f"{sorted(k for k in server if k[0] == 'CLIENT_RANDOM')}")

    mode = stat.S_IMODE(os.stat(zoo.keylog_path).st_mode)
    check(mode == 0o600, f"keylog: the file's mode is {mode:04o} (owner only)", "want 0600")
