#!/usr/bin/env bash
# `make mutate`: mutation testing of the rule modules ([tool.mutmut] in pyproject.toml) with
# mutmut; not part of CI (it runs for tens of minutes). docs/testing.md explains the result.
#   MUTATE_JOBS=N    mutants tested in parallel (default 1: the machine is shared)
#   extra arguments  mutant name patterns, e.g. 'domains.access*'
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_tempusmail_mutate}"
# One fresh test database, then every mutant's run reuses it (--reuse-db in pyproject.toml).
.venv/bin/python -m pytest -q -p no:cacheprovider --create-db --reuse-db \
    tests/accounts/test_validators.py >/dev/null
rm -rf mutants
status=0
.venv/bin/mutmut run --max-children "${MUTATE_JOBS:-1}" "$@" || status=$?
echo
echo "Surviving mutants (mutmut show NAME for the diff, docs/testing.md for why):"
.venv/bin/mutmut results || true
exit "$status"
