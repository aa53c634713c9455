#!/usr/bin/env bash
# The docs list exactly the options --help lists, so they cannot drift: dnswashd's options
# table in docs/dnswashd.md ("## Options"), and for dnswashctl the "## Global options" table
# and one "## `dnswashctl CMD`" section per leaf command (every command --help lists, walked
# recursively) in docs/dnswashctl.md. Only the first column of the tables counts, and only
# the option-name column of --help. Usage: docs_help_test.sh DOCS_DIR
set -euo pipefail
: "${DNSWASHCTL:?}" "${DNSWASHD:?}"
DOCS=${1:?docs dir}
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# Long options of a --help text (the name column: lines that start with "  -"), sorted.
help_options() {
  grep -E '^  -' | sed -E 's/^  ([^ ]*).*/\1/' | grep -oE -- '--[a-z0-9][a-z0-9-]*' |
    grep -vx -- '--help' | sort -u
}
# Long options in the first column of the tables of a markdown section: the lines after the
# heading line $2 (exact) up to the next heading of level <= 2.
doc_options() {
  awk -v h="$2" '$0 == h {on = 1; next} on && /^##? / {on = 0} on' "$1" |
    grep -E '^\| ' | awk -F'|' '{print $2}' | grep -oE -- '--[a-z0-9][a-z0-9-]*' |
    grep -vx -- '--help' | sort -u
}
compare() {  # compare WHAT HELP_OPTS DOC_OPTS
  local d
  d=$(diff <(echo "$2") <(echo "$3")) || fail "$1: --help (<) and the docs (>) differ:
$d"
}
# Subcommands of a --help text.
subcommands() { awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'; }

compare "dnswashd" "$("$DNSWASHD" --help | help_options)" "$(doc_options "$DOCS/dnswashd.md" '## Options')"
[[ -n $(doc_options "$DOCS/dnswashd.md" '## Options') ]] || fail "no options table in dnswashd.md"

compare "dnswashctl (global)" "$("$DNSWASHCTL" --help | help_options)" \
  "$(doc_options "$DOCS/dnswashctl.md" '## Global options')"
walk() {
  local path="$*" help subs s
  # shellcheck disable=SC2086
  help=$("$DNSWASHCTL" $path --help)
  subs=$(subcommands <<<"$help")
  if [[ -n $subs ]]; then
    for s in $subs; do walk "$path" "$s"; done
    return
  fi
  grep -qxF "## \`dnswashctl $path\`" "$DOCS/dnswashctl.md" ||
    { fail "docs/dnswashctl.md has no section '## \`dnswashctl $path\`'"; return; }
  compare "dnswashctl $path" "$(help_options <<<"$help")" \
    "$(doc_options "$DOCS/dnswashctl.md" "## \`dnswashctl $path\`")"
  checked=$((checked + 1))
}
checked=0
for s in $("$DNSWASHCTL" --help | subcommands); do walk "$s"; done
((checked >= 7)) || fail "only $checked dnswashctl commands found in --help"
((fails == 0)) || exit 1
echo "PASS: dnswashd and $checked dnswashctl commands"
