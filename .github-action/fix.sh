#!/usr/bin/env bash
# The Action's `committee fix` step (action.yml): inputs come as variables, and an empty one leaves the setting to
# the repository's settings file, then committee's default; the strong tier alone defaults to none, as an Action
# should not start a local model. Exit 0 when fixed or not fixed (the PR says which), else committee's status.
set -u
args=(--commit "committee/fix-$RUN_ID" --push origin --base "$BASE" --summary "$RUNNER_TEMP/committee-summary.md")
[ -n "$TEST_CMD" ] && args+=(--test-cmd "$TEST_CMD")
[ -n "$CHEAP" ] && args+=(--cheap "$CHEAP")
[ -n "$SAMPLES" ] && args+=(--samples "$SAMPLES")
if [ -n "$STRONG" ]; then
  args+=(--strong "$STRONG")
elif committee config fix --json | python -c 'import json, sys; sys.exit(json.load(sys.stdin)["settings"]["strong"]["source"] != "default")'; then
  args+=(--strong none)
fi
git config user.name "committee[bot]"
git config user.email "committee[bot]@users.noreply.github.com"
committee config fix "${args[@]}"  # the job's log shows what runs, and where each setting came from
committee fix "${args[@]}"
code=$?
case $code in 0) status=fixed;; 3) status="not fixed";; 4) status="infra error";; *) status=error;; esac
echo "status=$status" >> "$GITHUB_OUTPUT"
cat "$RUNNER_TEMP/committee-summary.md" >> "$GITHUB_STEP_SUMMARY" 2>/dev/null
exit $(( code == 3 ? 0 : code ))
