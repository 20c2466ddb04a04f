# Sourced by the setup scripts. install_missing WHO PACKAGE... installs the Debian packages that are not
# installed yet, from the current package lists, and updates the lists only when a package is not found
# (a fresh machine may have none). Options for apt-get install come from APT_INSTALL_OPTS (default:
# --no-install-recommends). Output goes to /var/log/lencap/apt-WHO.log, and its end to stderr on failure.
install_missing() {
  local who=$1 p missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  mkdir -p /var/log/lencap
  local log=/var/log/lencap/apt-$who.log
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
  local opts=(${APT_INSTALL_OPTS---no-install-recommends})
  echo "$who: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${apt[@]}" install "${opts[@]}" "${missing[@]}" >"$log" 2>&1; then
    if ! { "${apt[@]}" update && "${apt[@]}" install "${opts[@]}" "${missing[@]}"; } >>"$log" 2>&1; then
      tail -20 "$log" >&2
      echo "$who: installing ${missing[*]} failed, see $log" >&2
      return 1
    fi
  fi
}
