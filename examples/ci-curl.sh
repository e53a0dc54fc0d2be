#!/usr/bin/env bash
# Runs curl (the client under test) against every tlszoo scenario, then asks
# the zoo what curl did and fails on any FAIL verdict. Extra arguments go to
# curl, e.g. `examples/ci-curl.sh -k` to see an insecure client caught.
# Expects a running zoo: `./tlszoo serve` (control API on 127.0.0.1:9399).
set -u
api=${TLSZOO_API:-http://127.0.0.1:9399}
manifest=$(curl -sf "$api/api/scenarios") \
    || { echo "no zoo at $api: start ./tlszoo serve first" >&2; exit 2; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
ca=$(field ca_file <<<"$manifest")
cert=$(field client_cert_file <<<"$manifest")
key=$(field client_key_file <<<"$manifest")
since=$(curl -sf "$api/api/events?limit=1" | field latest)

# The client under test: one request per scenario, by name, trusting the
# zoo's CA and holding its client certificate (sent only when asked for).
python3 -c '
import json, sys
for s in json.load(sys.stdin)["scenarios"]:
    print(s["host"], s["port"])' <<<"$manifest" |
while read -r host port; do
    curl -s -o /dev/null --max-time 5 --cacert "$ca" --cert "$cert" --key "$key" "$@" \
        "https://$host:$port/"
done

# The verdicts on what happened since we started.
curl -sf "$api/api/events?since=$since&limit=1000" | python3 -c '
import json, sys
events = json.load(sys.stdin)["events"]
failed = [e for e in events if e["verdict"] == "FAIL"]
for e in events:
    print("%-7s %-21s %s" % (e["verdict"], e["scenario"], e["verdict_reason"]))
print("%d connections, %d FAIL" % (len(events), len(failed)))
sys.exit(1 if failed else 0)'
