#!/usr/bin/env bash
# Installs what Berth's tests and `make run` need on a fresh Debian machine:
# ZooKeeper, nginx, chromium, busybox-static and git from Debian's packages, and
# the Go tools (Consul, consul-template, staticcheck) built from tools/go.mod.
# With --run, only what `make run` uses (git, busybox-static): the first run
# does not wait for the tests' packages and tools. Safe to run again:
# everything already present is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
run_only=false
[ "${1:-}" = "--run" ] && run_only=true

need=()
# git: the tests serve repositories with git http-backend and upload-pack.
command -v git >/dev/null 2>&1 || need+=(git)
if ! $run_only; then
  [ -d /usr/share/zookeeper ] || need+=(zookeeper)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
  # prometheus: the Marathon API is tested with its marathon_sd_configs.
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  # chromium: the web UI's tests drive it headless (chromedp).
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  # gnupg, openssh-client: the signed-commit tests make keys and sign with them.
  command -v gpg >/dev/null 2>&1 || need+=(gnupg)
  command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
fi
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx sh && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${need[*]} (sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" file >/dev/null
fi
# Debian's nginx, zookeeper and prometheus packages start system services; the
# tests run their own instances on loopback ports, so the system ones are not needed.
if command -v systemctl >/dev/null 2>&1; then
  systemctl stop nginx zookeeper prometheus >/dev/null 2>&1 || true
fi
$run_only && exit 0
./scripts/build-tools.sh
