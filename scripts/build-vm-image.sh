#!/usr/bin/env bash
# Build the tiny Linux guest the VM tests boot under QEMU, from installed
# Debian packages only (nothing is downloaded): the kernel of
# linux-image-cloud-amd64, an initramfs with busybox-static and the virtio
# network modules (and what they depend on, from modules.dep).
#
#   scripts/build-vm-image.sh [CACHE_DIR]     prints: KERNEL INITRD
#
# The image is cached in CACHE_DIR (default: $XDG_CACHE_HOME/tapbridge-vm,
# else ~/.cache/tapbridge-vm) under a key of the kernel, busybox and this
# script, and built atomically (parallel test files may ask at once).
#
# The guest's /init brings up eth0, takes a DHCP lease (udhcpc), prints
# "TB-LEASE <ip> <router>", pings each address of the kernel command line's
# tb.ping=A,B,... printing "TB-PING <addr> ok|fail", then "TB-DONE", and
# powers off.
set -euo pipefail

packages=(qemu-system-x86 linux-image-cloud-amd64 busybox-static)
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
compgen -G "/boot/vmlinuz-*-cloud-amd64" >/dev/null || missing+=(linux-image-cloud-amd64)
{ [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q "statically linked"; } || [ -f /usr/share/doc/busybox-static/copyright ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "the VM image needs these Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

kernel=$(ls -1 /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
busybox=/bin/busybox
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tapbridge-vm}
# The key is of contents only: every checkout of the repo shares one image.
key=$( (echo "$kver"; cat "$busybox" "$0") | sha256sum | cut -c1-16)
out=$cache/$key
if [ -f "$out/initrd.gz" ]; then
  echo "$kernel $out/initrd.gz"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,usr/share/udhcpc}
# The console and null devices exist from the start: the kernel opens /dev/console for /init before anything is
# mounted, and /init's output must reach the serial console even if devtmpfs cannot be mounted over /dev.
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
cp "$busybox" "$root/bin/busybox"
for applet in sh ip ping udhcpc insmod mount poweroff sleep cat echo grep sed awk tr; do ln -s busybox "$root/bin/$applet"; done

# The virtio network driver and its dependencies, in load order (dependencies first).
want=(kernel/drivers/virtio/virtio_pci.ko kernel/drivers/net/virtio_net.ko)
order=()
add_module() {
  local m=$1 dep
  for seen in "${order[@]:-}"; do [ "$seen" = "$m" ] && return 0; done
  for dep in $(awk -v m="$m:" '$1 == m { for (i = 2; i <= NF; i++) print $i }' "$moddir/modules.dep" | tac); do add_module "$dep"; done
  order+=("$m")
}
for m in "${want[@]}"; do add_module "$m"; done
: > "$root/lib/modules/order"
for m in "${order[@]}"; do
  name=$(basename "$m")
  case "$m" in
    *.ko) cp "$moddir/$m" "$root/lib/modules/$name" ;;
    *.ko.xz) xz -dc "$moddir/$m" > "$root/lib/modules/${name%.xz}"; name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$moddir/$m" > "$root/lib/modules/${name%.zst}"; name=${name%.zst} ;;
  esac
  echo "$name" >> "$root/lib/modules/order"
done

cat > "$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "TB-LEASE $ip $router" > /dev/console ;;
esac
exit 0
EOF
chmod +x "$root/usr/share/udhcpc/default.script"

cat > "$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
exec > /dev/console 2>&1
echo "TB-INIT"
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up
echo "TB-MAC $(cat /sys/class/net/eth0/address)"
if udhcpc -i eth0 -n -q -t 10 -T 3 -A 3 -s /usr/share/udhcpc/default.script; then
  for a in $(tr ' ' '\n' < /proc/cmdline | sed -n 's/^tb\.ping=//p' | tr ',' ' '); do
    if ping -c 3 -W 5 "$a" > /dev/null 2>&1; then echo "TB-PING $a ok"; else echo "TB-PING $a fail"; fi
  done
else
  echo "TB-LEASE none"
fi
echo "TB-DONE"
poweroff -f
EOF
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -9 > "$work/initrd.gz"
mkdir -p "$work/out"
mv "$work/initrd.gz" "$work/out/initrd.gz"
# Atomic: a parallel build that finished first wins, ours is dropped.
mv -T "$work/out" "$out" 2>/dev/null || true
echo "$kernel $out/initrd.gz"
