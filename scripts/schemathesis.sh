#!/usr/bin/env bash
# schemathesis against the OpenAPI document of a running `mace serve --demo` (VAL-04, API-01).
#
#   scripts/schemathesis.sh            # as CI runs it (bounded: a few minutes on 2 cores)
#   MAX_EXAMPLES=200 MAX_TIME=900 scripts/schemathesis.sh   # longer, by hand
#
# It makes a venv under target/ with the pinned schemathesis, starts the debug `mace` on a free
# port of 127.0.0.1 with a throwaway SQLite data directory and the synthetic demo data, creates
# a read+write API token for the demo social worker (who has children in scope, so the reads are
# real), runs schemathesis with the checks below, then again over the police-only operations with
# the demo police intelligence officer's token, and stops mace. Write endpoints are exercised
# too: they change only the throwaway demo database.
#
# Checks: no 5xx (not_a_server_error), responses match their documented schema, status code and
# content type. The reports (JUnit) and mace's log go to target/schemathesis/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${MAX_EXAMPLES:-15}
MAX_TIME=${MAX_TIME:-150}
POLICE_MAX_TIME=${POLICE_MAX_TIME:-60}
SEED=${SEED:-20260105}
OUT=$REPO/target/schemathesis
VENV=$REPO/target/schemathesis-venv

mkdir -p "$OUT"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

# --workspace, so features unify as in the test steps and nothing is rebuilt.
cargo build --workspace --locked --bin mace
MACE=$REPO/target/debug/mace

DATA=$(mktemp -d)
MACE_PID=
cleanup() {
    if [ -n "$MACE_PID" ] && kill -0 "$MACE_PID" 2>/dev/null; then
        kill "$MACE_PID" 2>/dev/null || true
        wait "$MACE_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE=http://127.0.0.1:$PORT
# Only mace's own settings: a developer's MACE_* variables stay out.
env -u DATABASE_URL $(env | sed -n 's/^\(MACE_[A-Za-z0-9_]*\)=.*/-u \1/p') \
    "$MACE" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" --demo \
    >"$OUT/mace.log" 2>&1 &
MACE_PID=$!
for _ in $(seq 1 120); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$MACE_PID" 2>/dev/null || { cat "$OUT/mace.log"; echo "error: mace exited"; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/readyz" >/dev/null

TOKEN=$(MACE_DATA_DIR="$DATA" "$MACE" token create --email social.worker@csc.demo.invalid \
    --name schemathesis --scope read --scope write --days 1 | grep -o 'mace_[A-Za-z0-9_-]*' | head -n 1)
[ -n "$TOKEN" ] || { echo "error: no token"; exit 1; }

POLICE_TOKEN=$(MACE_DATA_DIR="$DATA" "$MACE" token create --email intel@police.demo.invalid \
    --name schemathesis --scope read --scope write --days 1 | grep -o 'mace_[A-Za-z0-9_-]*' | head -n 1)
[ -n "$POLICE_TOKEN" ] || { echo "error: no police token"; exit 1; }

# One pass: NAME, TOKEN, MAX_TIME, then any operation filters.
pass() {
    local name=$1 token=$2 max_time=$3
    shift 3
    echo "schemathesis ($name): $MAX_EXAMPLES examples per operation, at most ${max_time}s, seed $SEED"
    local rc=0
    timeout --kill-after=10 $((max_time + 120)) \
        "$VENV/bin/schemathesis" run "$BASE/api/v1/openapi.json" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "$MAX_EXAMPLES" \
        --max-time "$max_time" \
        --seed "$SEED" \
        --workers 2 \
        --request-timeout 20 \
        --suppress-health-check all \
        --header "Authorization: Bearer $token" \
        --report junit --report-junit-path "$OUT/junit-$name.xml" \
        --output-sanitize true \
        "$@" \
        || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "schemathesis ($name) failed (exit $rc); mace's log: $OUT/mace.log"
        grep -E 'request failed|panicked' "$OUT/mace.log" | tail -n 20 || true
        status=$rc
    fi
}

status=0
# From target/schemathesis, so its cache directory (.schemathesis) stays out of the work tree.
cd "$OUT"
# Every operation as the social worker; then the police-only ones (intelligence, networks,
# hotspots) as the demo police intelligence officer, so they are reached beyond their 403s.
pass all "$TOKEN" "$MAX_TIME"
pass police "$POLICE_TOKEN" "$POLICE_MAX_TIME" --include-tag-regex '^(intelligence|networks|hotspots)$'
exit "$status"
