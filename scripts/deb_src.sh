# Sourced by the scripts that fetch Debian source packages
# (scripts/build_release_peers.sh, bindings/c/run_upstream_c_test.sh,
# bindings/python/run_plyvel_suite.sh). Defines:
#
#   ensure_deb_src <tag> <source package> <debian version>
#     Returns at once if apt already knows that version of the source package;
#     otherwise adds a deb-src entry for bookworm
#     (/etc/apt/sources.list.d/lsmkv-deb-src.sources, with sudo when not root),
#     says so on stdout prefixed with <tag>, and runs apt-get update.

ensure_deb_src() {
  # Prefixed names: callers keep readonly variables called version etc.
  local ds_tag=$1 ds_package=$2 ds_version=$3
  if apt-cache showsrc "$ds_package" 2>/dev/null | grep -qx "Version: $ds_version"; then
    return
  fi
  local ds_sudo=()
  [[ $(id -u) -eq 0 ]] || ds_sudo=(sudo)
  echo "$ds_tag: adding a deb-src entry for bookworm (/etc/apt/sources.list.d/lsmkv-deb-src.sources)"
  "${ds_sudo[@]}" tee /etc/apt/sources.list.d/lsmkv-deb-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  "${ds_sudo[@]}" apt-get update -qq
}
