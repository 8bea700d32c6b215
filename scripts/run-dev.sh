#!/usr/bin/env bash
# `make run`: the panel at http://127.0.0.1:8000 with a Celery worker and beat on the
# embedded default (SQLite + kombu's filesystem broker). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
mkdir -p var/broker/processed
.venv/bin/celery -A tempusmail worker -B -l info --concurrency 2 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM
.venv/bin/python manage.py runserver "${BIND:-127.0.0.1:8000}"
