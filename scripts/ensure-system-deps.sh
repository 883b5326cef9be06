#!/usr/bin/env bash
# Install the Debian packages tapbridge's demo, tests and benchmarks use,
# if they are missing. Usage: ensure-system-deps.sh [command ...]
# (default: everything). Needs root and apt only when something is missing.
set -euo pipefail

declare -A PACKAGE_OF=(
  [ip]=iproute2
  [ping]=iputils-ping
  [iperf3]=iperf3
  [tcpdump]=tcpdump
  [trafgen]=netsniff-ng
  [python3-scapy]=python3-scapy
  [brctl]=bridge-utils
  [setpriv]=util-linux
  [systemd-analyze]=systemd
  [dnsmasq]=dnsmasq-base
  [nft]=nftables
  [busybox]=busybox-static
  [qemu-system-x86_64]=qemu-system-x86
  [tshark]=tshark
  [ovs-vswitchd]=openvswitch-switch
)

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=("${!PACKAGE_OF[@]}")

missing=()
for cmd in "${wanted[@]}"; do
  pkg=${PACKAGE_OF[$cmd]:-$cmd}
  if [ "$cmd" = python3-scapy ]; then
    python3 -c 'import scapy.all' >/dev/null 2>&1 || /usr/bin/python3 -c 'import scapy.all' >/dev/null 2>&1 || missing+=("$pkg")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "tapbridge needs these Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
