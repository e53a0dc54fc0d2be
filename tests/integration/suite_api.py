"""The control API and `tlszoo events`, which reads it.

Bad parameters are 400 with a JSON error naming what was wrong, unknown
paths 404 JSON, other methods 405; /ca.pem is the CA file and
/api/scenarios the `list --json` catalog. The events cursor returns each
event once, in id order, however it is paged, and the filters filter.
/api/verdicts counts what the events say. `tlszoo events --json` prints
the API's events, the readable mode one line per event with its verdict.
"""
import json

from zoo import (SCENARIOS, check, describe, free_port, python_ssl, tlszoo)

ORDER = 50


def json_error(zoo, path, method, want_status, mentions):
    status, ctype, body = zoo.api(path, method)
    try:
        error = json.loads(body).get("error") if body else None
    except ValueError:
        error = None
    ok = (status == want_status and (ctype or "").startswith("application/json")
          and isinstance(error, str) and all(m in error for m in mentions))
    check(ok, f"api: {method} {path} -> {want_status} JSON error"
              f"{' naming ' + ', '.join(repr(m) for m in mentions) if mentions else ''}",
          f"got {status} {ctype!r}: {body[:300]!r}")


def error_checks(zoo):
    for query, mentions in [("since=abc", ["since"]), ("since=-1", ["since"]),
                            ("limit=0", ["limit"]), ("limit=5000", ["limit"]),
                            ("limit=x", ["limit"]), ("foo=1", ["foo"]),
                            ("scenario=nope", ["nope"])]:
        json_error(zoo, f"/api/events?{query}", "GET", 400, mentions)
    json_error(zoo, "/api/verdicts?last=6", "GET", 400, ["last"])
    json_error(zoo, "/api/verdicts?bar=1", "GET", 400, [])
    json_error(zoo, "/nope", "GET", 404, [])
    json_error(zoo, "/api/events/1", "GET", 404, [])
    for method in ("POST", "PUT", "DELETE"):
        json_error(zoo, "/api/events", method, 405, [])


def document_checks(zoo):
    status, ctype, body = zoo.api("/ca.pem")
    with open(zoo.m["ca_file"], "rb") as f:
        ca = f.read()
    check(status == 200 and body == ca and body.startswith(b"-----BEGIN CERTIFICATE-----"),
          "api: /ca.pem is the certs directory's ca.pem, byte for byte",
          f"got {status} {ctype!r}, {len(body)} bytes (file has {len(ca)})")
    status, catalog = zoo.api_json("/api/scenarios")
    check(status == 200 and catalog == zoo.m,
          "api: /api/scenarios is the catalog `tlszoo list --json` prints",
          f"got {status}; differing keys: "
          f"{[k for k in set(catalog) | set(zoo.m) if catalog.get(k) != zoo.m.get(k)]}")


def connect(zoo, name, **changes):
    """One Python connection to NAME; returns its peer once its event is in."""
    since, where = zoo.last_id(), {}
    python_ssl(zoo.call(zoo.scenario(name), **changes), where)
    zoo.event_for(where["peer"], since)
    return where["peer"]


def cursor_checks(zoo):
    since = zoo.last_id()
    peers = [connect(zoo, "valid"), connect(zoo, "expired"), connect(zoo, "valid")]
    found = zoo.wait_events(since, 3)
    ids = [e["id"] for e in found]
    check([e["peer"] for e in found] == peers and ids == sorted(ids) and len(set(ids)) == 3,
          "api: events since a cursor: exactly the 3 new connections, oldest first",
          "\n".join(map(describe, found)))
    status, page = zoo.api_json(f"/api/events?since={since}")
    status2, after = zoo.api_json(f"/api/events?since={page['next']}")
    check(status == 200 and page["next"] == ids[-1] and status2 == 200
          and after["events"] == [] and after["next"] == page["next"],
          "api: next is the newest id; since=next returns nothing new and keeps the cursor",
          f"next {page['next']} (want {ids[-1]}), then {after}")
    peers.append(connect(zoo, "valid"))
    newer = zoo.wait_events(page["next"], 1)
    check([e["peer"] for e in newer] == peers[3:] and newer[0]["id"] > page["next"],
          "api: since=next returns only the newer event",
          "\n".join(map(describe, newer)) or "nothing")
    paged, cursor = [], since
    for _ in range(10):
        status, one = zoo.api_json(f"/api/events?since={cursor}&limit=1")
        if status != 200 or not one["events"]:
            break
        paged += one["events"]
        cursor = one["next"]
    check([e["id"] for e in paged] == ids + [newer[0]["id"]] and cursor == newer[0]["id"],
          "api: paging with limit=1 gives the same events once each, in order",
          f"got ids {[e['id'] for e in paged]}, want {ids + [newer[0]['id']]}")
    only = zoo.events(since, scenario="valid")
    check([e["peer"] for e in only] == [peers[0], peers[2], peers[3]],
          "api: scenario=valid returns the valid events only",
          "\n".join(map(describe, only)))
    one = zoo.events(since, peer=peers[1])
    check(len(one) == 1 and one[0]["scenario"] == "expired",
          "api: peer=ADDR:PORT returns that connection's event only",
          "\n".join(map(describe, one)))
    return since


def verdict_checks(zoo):
    last = zoo.settle()
    status, body = zoo.api_json("/api/verdicts?last=2")
    events = [e for e in zoo.file_events() if e["id"] <= last]
    bad = []
    for s in zoo.m["scenarios"]:
        mine = [e for e in events if e["scenario"] == s["name"]]
        want = {"pass": sum(e["verdict"] == "PASS" for e in mine),
                "fail": sum(e["verdict"] == "FAIL" for e in mine),
                "suspect": sum(e["verdict"] == "SUSPECT" for e in mine)}
        got = body.get("scenarios", {}).get(s["name"], {})
        if {k: got.get(k) for k in want} != want or \
                [e["id"] for e in got.get("last", [])] != [e["id"] for e in mine[-2:]]:
            bad.append(f"{s['name']}: want {want} last {[e['id'] for e in mine[-2:]]}; got "
                       f"{ {k: got.get(k) for k in want} } last "
                       f"{[e.get('id') for e in got.get('last', [])]}")
    check(status == 200 and not bad,
          f"api: /api/verdicts?last=2 counts PASS/FAIL/SUSPECT as the {len(events)} events say",
          "\n".join(bad) or f"status {status}")


def cli_checks(zoo, since):
    common = ["--scenarios", SCENARIOS, "--port-offset", str(zoo.offset)]
    api = zoo.events(since)
    p = tlszoo("events", "--json", "--since", str(since), *common)
    try:
        printed = [json.loads(line) for line in p.stdout.splitlines()]
    except ValueError as e:
        printed = [f"not JSON: {e}"]
    check(p.returncode == 0 and printed == api and len(api) >= 4,
          f"events --json --since {since}: the same {len(api)} events as the API",
          f"exit {p.returncode}, {len(printed)} lines vs {len(api)} events; stderr {p.stderr!r}")

    p = tlszoo("events", "--since", str(since), *common)
    lines = p.stdout.splitlines()
    rows = lines[1:]
    ok = (p.returncode == 0 and lines and "VERDICT" in lines[0] and len(rows) == len(api)
          and all(row.split()[0] == str(e["id"]) and e["verdict"] in row.split()
                  and e["scenario"] in row and e["peer"] in row for row, e in zip(rows, api)))
    check(ok, "events (readable): a header, then one line per event with id, peer and verdict",
          f"exit {p.returncode}, stderr {p.stderr!r}:\n{p.stdout[-1500:]}")

    p = tlszoo("events", "--json", "--scenario", "expired", "--since", str(since), *common)
    printed = [json.loads(line) for line in p.stdout.splitlines()] if p.returncode == 0 else []
    check(p.returncode == 0 and printed == zoo.events(since, scenario="expired") and printed,
          "events --scenario expired: that scenario's events, as the API has them",
          f"exit {p.returncode}, {len(printed)} events, stderr {p.stderr!r}")

    p = tlszoo("events", "--scenario", "nope", *common)
    check(p.returncode == 2 and "unknown scenario 'nope'" in p.stderr,
          "events --scenario nope: exit 2 with the API's error",
          f"exit {p.returncode}, stderr {p.stderr!r}")

    p = tlszoo("events", "--scenarios", SCENARIOS, "--control-port", str(free_port()))
    check(p.returncode == 1 and "cannot read the control API" in p.stderr,
          "events against a port nobody serves: exit 1, cannot read the control API",
          f"exit {p.returncode}, stderr {p.stderr!r}")


def suite(zoo):
    error_checks(zoo)
    document_checks(zoo)
    since = cursor_checks(zoo)
    verdict_checks(zoo)
    cli_checks(zoo, since)
