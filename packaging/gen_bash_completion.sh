#!/usr/bin/env bash
# Writes bash completion for dnswashctl from its own --help (CLI11 2.1 generates none): every
# command path with its subcommands and options, walked recursively like the docs test does, so
# the completion cannot drift from the parser. Usage: gen_bash_completion.sh DNSWASHCTL OUT
set -euo pipefail
ctl=${1:?dnswashctl binary}
out=${2:?output file}

# The option names of a --help text (its name column: lines starting with "  -").
options() { grep -E '^  -' | sed -E 's/^  ([^ ]*).*/\1/' | tr ',' '\n' | grep -oE -- '^-{1,2}[a-zA-Z0-9][a-zA-Z0-9-]*' | sort -u | tr '\n' ' '; }
subcommands() { awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'; }

cases=""
paths=""
walk() {
  local path="$*" help subs s
  # shellcheck disable=SC2086
  help=$("$ctl" $path --help)
  subs=$(subcommands <<<"$help" | tr '\n' ' ')
  cases+="    \"$path\") words=\"${subs}$(options <<<"$help")\" ;;"$'\n'
  [[ -n $path ]] && paths+="|\"$path\""
  for s in $subs; do
    # shellcheck disable=SC2086
    walk $path "$s"
  done
}
walk

cat >"$out.tmp" <<GEN
# bash completion for dnswashctl: generated from \`dnswashctl --help\` at build time
# (packaging/gen_bash_completion.sh); do not edit.
_dnswashctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path="" w i words
  case \$prev in
    -i | --iface)
      COMPREPLY=(\$(compgen -W "\$(ls /sys/class/net 2>/dev/null)" -- "\$cur"))
      return
      ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case "\$path\${path:+ }\$w" in
      ${paths#|}) path="\$path\${path:+ }\$w" ;;
    esac
  done
  case "\$path" in
${cases}    *) words="" ;;
  esac
  COMPREPLY=(\$(compgen -W "\$words" -- "\$cur"))
}
complete -F _dnswashctl dnswashctl
GEN
mv "$out.tmp" "$out"
