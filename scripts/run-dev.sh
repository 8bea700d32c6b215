#!/usr/bin/env bash
# `make run`: the panel at $BIND (default 127.0.0.1:8000) with a Celery worker and beat on the
# embedded default (SQLite + kombu's filesystem broker). Ctrl-C stops everything, and never
# waits on a worker stuck in "beat: Shutting down" for more than a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
BIND="${BIND:-127.0.0.1:8000}"
mkdir -p var/broker/processed
banner=$(.venv/bin/python manage.py seed_demo --url "http://${BIND}/")
: > var/worker.log
.venv/bin/celery -A tempusmail worker -B -l info --concurrency 2 > >(tee -a var/worker.log) 2>&1 &
worker=$!
.venv/bin/python manage.py runserver "$BIND" &
server=$!

stop() {
  trap - EXIT INT TERM
  kill -TERM "$server" "$worker" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$worker" 2>/dev/null || break; sleep 0.1; done
  pkill -KILL -P "$worker" 2>/dev/null || true
  kill -KILL "$worker" "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# The banner comes last: once the worker says it is ready and the panel answers.
for _ in $(seq 150); do grep -q " ready\." var/worker.log && break; sleep 0.2; done
.venv/bin/python - "$BIND" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://{sys.argv[1]}/login/", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
PY
echo "$banner"
wait "$server"
