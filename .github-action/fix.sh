#!/usr/bin/env bash
# The Action's `committee fix` step (action.yml): inputs come as variables, and an empty one leaves the setting to
# the repository's settings file, then committee's default; the strong tier alone defaults to none, so that the
# Action escalates only to a model someone named. Exit 0 when fixed, not fixed or nothing to fix (the output and
# the pull request say which), else committee's status. A settings check that fails fails the step.
set -euo pipefail
summary="$RUNNER_TEMP/committee-summary.md"
args=(--commit "committee/fix-$RUN_ID" --push origin --base "$BASE" --summary "$summary")
if [ -n "$TEST_CMD" ]; then args+=(--test-cmd "$TEST_CMD"); fi
if [ -n "$CHEAP" ]; then args+=(--cheap "$CHEAP"); fi
if [ -n "$SAMPLES" ]; then args+=(--samples "$SAMPLES"); fi
if [ -n "$REPAIR" ]; then args+=(--repair "$REPAIR"); fi
read -ra prices <<< "$PRICE"  # split on spaces, never globbed
for price in "${prices[@]}"; do args+=(--price "$price"); done
if [ -n "$STRONG" ]; then
  args+=(--strong "$STRONG")
else
  strong_source=$(committee config fix --json | python -c 'import json, sys; print(json.load(sys.stdin)["settings"]["strong"]["source"])')
  if [ "$strong_source" = default ]; then args+=(--strong none); fi
fi
git config user.name "committee[bot]"
git config user.email "committee[bot]@users.noreply.github.com"
committee config fix "${args[@]}"  # the job's log shows what runs, and where each setting came from
code=0
committee fix "${args[@]}" || code=$?
case $code in
  0) status=$(sed -n '1s/^### committee fix: //p' "$summary" 2>/dev/null || true); status=${status:-fixed};;
  3) status="not fixed";;
  4) status="infra error";;
  *) status=error;;
esac
echo "status=$status" >> "$GITHUB_OUTPUT"
cat "$summary" >> "$GITHUB_STEP_SUMMARY" 2>/dev/null || true
exit $(( code == 3 ? 0 : code ))
