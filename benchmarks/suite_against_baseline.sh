#!/usr/bin/env bash
# Times the test files issue 11's baseline had, with that commit's code and with this checkout's, back to back.
#
#   bash benchmarks/suite_against_baseline.sh [ROUNDS]      # default 2 rounds: then, now, then, now
#
# The baseline (cbfdc51, 397 tests, "425 s with pytest -n 2") runs in a worktree of its own, with its own venv,
# toolchain cache and the test packages its .ci/run installed, so neither run sees the other's installs. From
# this checkout only the 33 files that existed then run (and the one split out of them since): their tests have
# grown since, and each run prints how many it collected. Needs the machine to itself; compare only figures of
# one run.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=cbfdc51
rounds="${1:-2}"
work="${TMPDIR:-/tmp}/factory-suite-baseline"
files=$(git ls-tree -r --name-only "$baseline" tests/ | grep -E '(^|/)test_[^/]*\.py$')
files+=" tests/test_workflows_caches.py"  # split out of test_workflows.py since: the same tests

if [ ! -f "$work/ready" ] || [ ! -d "$work/tree" ]; then  # set up once; a setup not finished (or removed) starts over
  git worktree remove --force "$work/tree" 2>/dev/null || true
  git worktree prune
  rm -rf "$work" && mkdir -p "$work"
  git worktree add --detach "$work/tree" "$baseline" >/dev/null
  python3 -m venv "$work/venv"  # the tests start `factory-bot` and `python3` from PATH: this venv's
  # The baseline's own .ci/run, up to (not including) its workflow lint and tests.
  sed -n '1,/^echo "== Lint workflows/p' "$work/tree/.ci/run" | sed '$d' >"$work/tree/.ci/setup-only"
  PATH="$work/venv/bin:$PATH" FACTORY_BOT_CACHE="$work/cache" bash "$work/tree/.ci/setup-only" >"$work/setup.log" 2>&1 ||
    { tail -20 "$work/setup.log"; echo "setting up the baseline failed: $work/setup.log" >&2; exit 1; }
  touch "$work/ready"
fi

then_run() {
  (cd "$work/tree" && PATH="$work/venv/bin:$PATH" VIRTUAL_ENV="$work/venv" FACTORY_BOT_CACHE="$work/cache" \
    python3 -m pytest -n 2 -q -p no:cacheprovider | tail -1)
}
now_run() {
  # shellcheck disable=SC2086  # one word per file
  python3 -m pytest -n 2 -q -p no:cacheprovider $files | tail -1
}
for round in $(seq "$rounds"); do
  # A run that fails stops here: its time would compare nothing.
  result=$(then_run) || { echo "round $round, then ($baseline) failed: $result" >&2; exit 1; }
  echo "round $round, then ($baseline): $result"
  result=$(now_run) || { echo "round $round, now failed: $result" >&2; exit 1; }
  echo "round $round, now ($(git rev-parse --short HEAD)): $result"
done
echo "remove the baseline with: git worktree remove --force $work/tree && rm -rf $work"
