# Sourced by the scripts that fetch Debian source packages
# (scripts/build_release_peers.sh, scripts/redis_suite.sh, bindings/c/run_upstream_c_test.sh,
# bindings/python/run_plyvel_suite.sh). Defines:
#
#   ensure_deb_src <tag> <source package> <debian version>
#     Returns at once if apt already knows that version of the source package;
#     otherwise adds a deb-src entry for bookworm
#     (/etc/apt/sources.list.d/lsmkv-deb-src.sources, with sudo when not root),
#     says so on stdout prefixed with <tag>, and runs apt-get update.
#
#   fetch_deb_src_files <tag> <source package> <debian version> <dest dir> <path>...
#     ensure_deb_src, then downloads and unpacks that version of the source
#     package in a temporary directory and copies each <path> (relative to the
#     unpacked tree) to <dest dir>/<path>, each one atomically (a .tmp file
#     renamed). The first path is required; later ones are copied if present.
#     Returns 1 with a message on stderr prefixed with <tag> if the download,
#     the unpacking or the first path fails; the temporary directory is
#     always removed.
#
#   fetch_deb_src_tree <tag> <source package> <debian version> <dest dir> <path>
#     Like fetch_deb_src_files for one directory <path>: copies the whole tree
#     to <dest dir>/<path>, atomically (copied beside it, then renamed), so a
#     <dest dir>/<path> that exists is complete. Returns 1 with a message on
#     stderr prefixed with <tag> on failure.
#
# The version may carry an epoch ("5:7.0.15-1~deb12u7"): apt-get source takes
# it, the .dsc file name does not.

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

# Downloads and unpacks the source package into <tmp>/out; returns 1 with a
# message if it cannot (the caller removes <tmp>).
unpack_deb_src() {
  local us_tag=$1 us_package=$2 us_version=$3 us_tmp=$4
  ensure_deb_src "$us_tag" "$us_package" "$us_version"
  if ! (cd "$us_tmp" && apt-get source -qq --download-only "$us_package=$us_version" >/dev/null 2>&1 &&
        dpkg-source -x --no-check "${us_package}_${us_version#*:}.dsc" out >/dev/null 2>&1); then
    echo "$us_tag: FAILED: apt-get source $us_package=$us_version failed" >&2
    return 1
  fi
}

fetch_deb_src_files() {
  local fs_tag=$1 fs_package=$2 fs_version=$3 fs_dest=$4
  shift 4
  local fs_tmp
  fs_tmp=$(mktemp -d)
  if ! unpack_deb_src "$fs_tag" "$fs_package" "$fs_version" "$fs_tmp"; then
    rm -rf "$fs_tmp"
    return 1
  fi
  local fs_first=1 fs_path
  for fs_path in "$@"; do
    if [[ ! -f $fs_tmp/out/$fs_path ]]; then
      if [[ $fs_first -eq 1 ]]; then
        rm -rf "$fs_tmp"
        echo "$fs_tag: FAILED: no $fs_path in $fs_package $fs_version" >&2
        return 1
      fi
      continue
    fi
    if ! { mkdir -p "$(dirname "$fs_dest/$fs_path")" &&
           cp "$fs_tmp/out/$fs_path" "$fs_dest/$fs_path.tmp" &&
           mv "$fs_dest/$fs_path.tmp" "$fs_dest/$fs_path"; }; then
      rm -rf "$fs_tmp"
      echo "$fs_tag: FAILED: cannot copy $fs_path to $fs_dest" >&2
      return 1
    fi
    fs_first=0
  done
  rm -rf "$fs_tmp"
}

fetch_deb_src_tree() {
  local ft_tag=$1 ft_package=$2 ft_version=$3 ft_dest=$4 ft_path=$5
  local ft_tmp
  ft_tmp=$(mktemp -d)
  if ! unpack_deb_src "$ft_tag" "$ft_package" "$ft_version" "$ft_tmp"; then
    rm -rf "$ft_tmp"
    return 1
  fi
  if [[ ! -d $ft_tmp/out/$ft_path ]]; then
    rm -rf "$ft_tmp"
    echo "$ft_tag: FAILED: no directory $ft_path in $ft_package $ft_version" >&2
    return 1
  fi
  local ft_staging=$ft_dest/$ft_path.tmp.$$
  if ! { mkdir -p "$(dirname "$ft_dest/$ft_path")" && rm -rf "$ft_staging" &&
         cp -R "$ft_tmp/out/$ft_path" "$ft_staging" && rm -rf "$ft_dest/$ft_path" &&
         mv "$ft_staging" "$ft_dest/$ft_path"; }; then
    rm -rf "$ft_tmp" "$ft_staging"
    echo "$ft_tag: FAILED: cannot copy $ft_path to $ft_dest" >&2
    return 1
  fi
  rm -rf "$ft_tmp"
}
