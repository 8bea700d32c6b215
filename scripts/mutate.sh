#!/usr/bin/env bash
# `make mutate`: mutation testing of the rule modules ([tool.mutmut] in pyproject.toml) with
# mutmut; not part of CI (it runs for tens of minutes). docs/testing.md explains the result.
#   MUTATE_JOBS=N    mutants tested in parallel (default 1: the machine is shared)
#   extra arguments  mutant name patterns: module path with dots, then the function, e.g.
#                    'accounts.validators*' (one module), 'accounts.validators.x_check_forward_loop*'
#                    (one function), 'accounts.validators.x_normalize_address__mutmut_18' (one mutant)
# mutmut always generates the mutants of every module in only_mutate and its progress line
# counts them all ("270/2069"), but with a pattern it tests only the matching ones; the summary
# at the end counts those alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# One test database per checkout (helpers share the PostgreSQL server).
db="${DATABASE_URL:-tempusmail}"
export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_${db##*/}_mutate}"
# One fresh test database, then every mutant's run reuses it (--reuse-db in pyproject.toml).
.venv/bin/python -m pytest -q -p no:cacheprovider --create-db --reuse-db \
    tests/accounts/test_validators.py >/dev/null
rm -rf mutants
status=0
.venv/bin/mutmut run --max-children "${MUTATE_JOBS:-1}" "$@" || status=$?
echo
.venv/bin/python scripts/mutate_summary.py "$@"
exit "$status"
