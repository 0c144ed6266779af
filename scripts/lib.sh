# shellcheck shell=bash
# Shared by scripts/run and scripts/test (sourced, not run). Brings a fresh Debian 12 machine, or a
# developer's, to what Switchboard needs: Debian packages, the .venv virtualenv, node_modules, and a
# PostgreSQL and Redis to talk to. Every step is skipped when already done, and says nothing then.

SB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SB_VENV="$SB_ROOT/.venv"
SB_PY="$SB_VENV/bin/python"
SB_DATA="${SWITCHBOARD_DATA_DIR:-$SB_ROOT/.data}"
SB_LOG="$SB_DATA/logs/bootstrap.log"

# --- Debian packages ------------------------------------------------------------------------------
# Add packages here. Each list is installed only where one of its packages is missing.
SB_APT_PYTHON=(python3 python3-venv)   # only when `python3` is missing, too old, or lacks venv
SB_APT_NODE=(nodejs npm)               # only when `npm` is missing
SB_APT_VOICE=(debootstrap sip-tester espeak-ng sox libsox-fmt-mp3)  # Asterisk's chroot, sipp calls, offline speech, MP3 for <Play>
SB_APT_TEST=(chromium)                 # for scripts/test: Playwright drives /usr/bin/chromium

sb_say() { printf '==> %s\n' "$*" >&2; }
sb_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command with its output kept in the bootstrap log; on failure show the end of it and stop.
sb_logged() {
  local what="$1"; shift
  mkdir -p "$(dirname "$SB_LOG")"
  printf '\n### %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$SB_LOG"
  if ! "$@" >>"$SB_LOG" 2>&1 </dev/null; then
    printf 'error: %s failed; the end of %s:\n' "$what" "$SB_LOG" >&2
    tail -n 40 "$SB_LOG" | sed 's/^/    /' >&2
    exit 1
  fi
}

sb_apt_missing() {  # print those of the named packages that are not installed
  local pkg
  for pkg in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] || printf '%s\n' "$pkg"
  done
}

SB_APT_UPDATED=
sb_apt_install() {
  local missing
  mapfile -t missing < <(sb_apt_missing "$@")
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null \
    || sb_die "missing packages (${missing[*]}) and no apt-get here: install their equivalents by hand"
  [[ "$(id -u)" == 0 ]] \
    || sb_die "missing Debian packages: run as root, or first: sudo apt-get install -y ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "$SB_APT_UPDATED" ]]; then
    sb_say "apt-get update"
    sb_logged "apt-get update" apt-get update
    SB_APT_UPDATED=1
  fi
  sb_say "installing Debian packages: ${missing[*]}"
  sb_logged "apt-get install" apt-get install -y --no-install-recommends "${missing[@]}"
}

sb_python_ok() {  # python3 exists, is 3.11 or newer, and can make a virtualenv with pip
  command -v python3 >/dev/null \
    && python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

sb_system_packages() {  # $1 = "test" to add the test-only packages
  if ! sb_python_ok; then
    sb_apt_install "${SB_APT_PYTHON[@]}"
    hash -r
    sb_python_ok || sb_die "python3 ($(command -v python3 || echo none)) must be 3.11 or newer with venv and ensurepip"
  fi
  command -v npm >/dev/null || { sb_apt_install "${SB_APT_NODE[@]}"; hash -r; }
  sb_apt_install "${SB_APT_VOICE[@]}"
  if [[ "${1:-}" == test ]]; then
    sb_apt_install "${SB_APT_TEST[@]}"
    [[ -x /usr/bin/chromium ]] || sb_die "/usr/bin/chromium is missing after installing the chromium package"
  fi
}

# --- Python virtualenv ----------------------------------------------------------------------------
# $1: the extras of pyproject.toml to install, comma-separated ("dev", or "dev,interop" for tests).
# Reinstalled only when pyproject.toml changes or an extra is missing: the stamp inside .venv keeps
# the file's hash and the extras installed from it, so scripts/run after scripts/test installs nothing.
sb_venv() {
  local extras="$1" stamp="$SB_VENV/.switchboard-pyproject.sha256" want
  want="$(sha256sum "$SB_ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [[ -d "$SB_VENV" ]] && ! "$SB_PY" -c '' 2>/dev/null; then
    sb_say "the virtualenv in $SB_VENV is broken (its Python moved?); making it again"
    rm -rf "$SB_VENV"
  fi
  if [[ ! -x "$SB_PY" ]]; then
    sb_say "creating the virtualenv in $SB_VENV"
    sb_logged "python3 -m venv" python3 -m venv "$SB_VENV"
  fi
  if ! sb_venv_has "$stamp" "$want" "$extras"; then
    sb_say "installing Python packages from pyproject.toml [$extras] (a few minutes the first time)"
    rm -f "$stamp"
    sb_logged "pip install" "$SB_PY" -m pip install --disable-pip-version-check --no-input -e "$SB_ROOT[$extras]"
    printf '%s %s\n' "$want" "$extras" >"$stamp"
  fi
}

sb_venv_has() {  # the stamp $1 is of pyproject.toml's hash $2 and lists every extra of $3
  local hash installed extra
  read -r hash installed 2>/dev/null <"$1" || return 1
  [[ "$hash" == "$2" ]] || return 1
  for extra in ${3//,/ }; do
    [[ ",$installed," == *",$extra,"* ]] || return 1
  done
}

# --- Front-end packages ---------------------------------------------------------------------------
sb_node_modules() {
  local stamp="$SB_ROOT/node_modules/.switchboard-lock.sha256" want
  want="$(sha256sum "$SB_ROOT/package-lock.json" | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" || ! -f "$SB_ROOT/node_modules/htmx.org/dist/htmx.min.js" ]]; then
    sb_say "installing front-end packages (npm ci)"
    (cd "$SB_ROOT" && sb_logged "npm ci" npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$stamp"
  fi
}

# Everything a fresh machine needs; $1 = "test" adds the test-only Debian and Python packages.
sb_bootstrap() {
  sb_system_packages "${1:-}"
  if [[ "${1:-}" == test ]]; then sb_venv dev,interop; else sb_venv dev; fi
  sb_node_modules
  export VIRTUAL_ENV="$SB_VENV"
  export PATH="$SB_VENV/bin:$PATH"
  export PYTHONUNBUFFERED=1
  cd "$SB_ROOT"
}

# --- PostgreSQL and Redis -------------------------------------------------------------------------
# Exports DATABASE_URL and REDIS_URL (see scripts/services.py for the order it tries), and
# SWITCHBOARD_STARTED_SERVICES: the embedded servers this call started, which sb_services_stop ends.
SWITCHBOARD_STARTED_SERVICES=
sb_services() {
  local exports
  exports="$("$SB_PY" "$SB_ROOT/scripts/services.py" start)" \
    || sb_die "could not find or start PostgreSQL and Redis (see above)"
  eval "$exports"
}

sb_services_stop() {
  local started="${SWITCHBOARD_STARTED_SERVICES:-}"
  SWITCHBOARD_STARTED_SERVICES=
  # shellcheck disable=SC2086  # a list of names
  [[ -z "$started" ]] || "$SB_PY" "$SB_ROOT/scripts/services.py" stop $started || true
}
