# Sourced by the scripts/launch_*.sh scripts (not run on its own).

# Run a command in place of the calling script, or with DRY_RUN=1 print it (shell-quoted, one
# line) and succeed: the tests and the docs check the exact command lines this way.
run_or_print() {
  if [[ "${DRY_RUN:-0}" == 1 ]]; then
    printf '%s' "$1"
    shift
    (($#)) && printf ' %q' "$@"
    printf '\n'
  else
    exec "$@"
  fi
}
