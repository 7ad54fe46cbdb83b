#!/usr/bin/env bash
# Checks deploy/prometheus/ with Debian's promtool (package `prometheus`):
#   - the example scrape config parses (--syntax-only: its token file exists only where it is deployed);
#   - the recording and alerting rules are valid (`promtool check rules`);
#   - every alert passes its unit tests (`promtool test rules deploy/prometheus/tests/*.yml`);
#   - every alert has a unit test, the annotations summary, description and runbook, and its runbook
#     anchor is a heading of the README.
#   bash scripts/check-prometheus-rules.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is missing: install Debian's prometheus package (apt-get install -y prometheus)" >&2
  exit 1
fi
dir=deploy/prometheus
promtool check config --syntax-only "$dir/prometheus.yml"
promtool check rules "$dir/recording-rules.yml" "$dir/alerting-rules.yml"
promtool test rules "$dir"/tests/*.yml

failures=0
fail() {
  echo "FAILED: $1" >&2
  failures=$((failures + 1))
}
alerts=$(sed -n 's/^ *- alert: *//p' "$dir/alerting-rules.yml")
[ -n "$alerts" ] || fail "no alert found in $dir/alerting-rules.yml"
for alert in $alerts; do
  # The rule's own lines: from its `- alert:` line to the next rule.
  rule=$(awk -v name="$alert" '/^ *- (alert|record):/ { inside = ($0 ~ ("alert: *" name "$")) } inside' "$dir/alerting-rules.yml")
  for annotation in summary description runbook; do
    grep -qE "^ +$annotation: " <<<"$rule" || fail "$alert has no $annotation annotation"
  done
  grep -qE "^ +alertname: $alert\$" "$dir"/tests/*.yml || fail "$alert has no unit test in $dir/tests/"
  anchor=$(sed -n 's/^ *runbook: README\.md#//p' <<<"$rule")
  expected=$(tr '[:upper:]' '[:lower:]' <<<"$alert")
  [ "$anchor" = "$expected" ] || fail "$alert's runbook should be README.md#$expected (found '${anchor}')"
  grep -qE "^#+ $alert\$" README.md || fail "$alert has no runbook heading '#### $alert' in README.md"
done
if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "prometheus rules: $(wc -w <<<"$alerts") alerts, each with a unit test, its annotations and a runbook in README.md"
