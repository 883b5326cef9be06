// TAP ports. Open: /dev/net/tun + TUNSETIFF(IFF_TAP|IFF_NO_PI|IFF_VNET_HDR),
// TUNSETVNETHDRSZ 10, TUNSETOFFLOAD(CSUM|TSO4|TSO6|TSO_ECN), optional
// TUNSETPERSIST, then MTU/MAC/UP through an ioctl socket in the same netns.
// Receive is one readv per frame straight into its slot (vnet header at the
// slot start, frame at VNET_AREA+HEADROOM).
#include "tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netns.h"
#include "port-policy.h"
#include "tap-uring.h"

namespace tapbridge {

bool TapOpen(const TapOptions& o, Port* port, OpenedInfo* info, SysError* e) {
  NetnsGuard ns;
  if (!ns.Enter(o.netnsPath, e)) return false;

  bool existed = if_nametoindex(o.name.c_str()) != 0;
  if (existed && !CheckTapName(o.name, e)) return false;  // a veth, a TUN, a bridge ... of that name

  FdGuard fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) return Fail(e, errno, "open", "open /dev/net/tun");

  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, o.name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    if (errno == EINVAL && existed)
      return FailPlain(e, EEXIST, "refuse", "interface " + o.name + " already exists and is not a TAP: the name is taken");
    return Fail(e, errno, "ioctl", "TUNSETIFF " + o.name);
  }

  // From here on a failure must undo TUNSETPERSIST if we set it on a device we created.
  bool setPersist = false;
  auto undo = [&]() {
    if (setPersist && !existed) ioctl(fd.get(), TUNSETPERSIST, 0);
  };

  int hdrsz = kVnetHdrLen;
  if (ioctl(fd.get(), TUNSETVNETHDRSZ, &hdrsz) < 0) return Fail(e, errno, "ioctl", "TUNSETVNETHDRSZ " + o.name);
  unsigned offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
  if (ioctl(fd.get(), TUNSETOFFLOAD, offload) < 0) return Fail(e, errno, "ioctl", "TUNSETOFFLOAD " + o.name);
  if (o.persist) {
    if (ioctl(fd.get(), TUNSETPERSIST, 1) < 0) return Fail(e, errno, "ioctl", "TUNSETPERSIST " + o.name);
    setPersist = true;
  }

  FdGuard sock(OpenIoctlSocket(e));
  if (sock.get() < 0) return undo(), false;
  if (o.mtu > 0 && !SetMtu(sock.get(), o.name, o.mtu, e)) return undo(), false;
  if (o.hasMac && !SetMac(sock.get(), o.name, o.mac, e)) return undo(), false;
  if (o.up && !SetUp(sock.get(), o.name, e)) return undo(), false;
  if (!GetInfo(sock.get(), o.name, &info->ifindex, &info->mtu, info->mac, e)) return undo(), false;

  info->ifname = ifr.ifr_name;
  info->vnet = true;
  info->created = !existed;
  port->kind = PortKind::kTap;
  port->txVnet = true;
  port->persistent = o.persist || existed;
  port->ifname = info->ifname;
  port->netnsPath = o.netnsPath;
  port->ifindex = info->ifindex;
  port->fd = fd.release();
  return true;
}

void TapClearPersist(Port* port) {
  if (port->fd >= 0) ioctl(port->fd, TUNSETPERSIST, 0);
}

uint32_t TapReceive(Port* port, const RxBatch& b, bool* more) {
  if (TapUringEnabled()) return TapUringReceive(port, b, more);
  const uint32_t cap = b.slotSize - kVnetArea - kHeadroom;
  uint32_t n = 0;
  *more = false;
  while (n < b.max) {
    uint8_t* slot = b.slab + static_cast<size_t>(n) * b.slotSize;
    struct iovec iov[2] = {{slot, kVnetHdrLen}, {slot + kVnetArea + kHeadroom, cap}};
    ssize_t r = readv(port->fd, iov, 2);
    b.stats[kRxSyscalls] += 1;
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return n;
      if (errno == EINTR) continue;
      // EFAULT: the frame did not fit the iovec (it is consumed by the kernel).
      if (errno == EFAULT || errno == EMSGSIZE) {
        b.stats[kRxDropped] += 1;
      } else {
        b.stats[kRxErrors] += 1;
        return n;
      }
      continue;
    }
    if (r < static_cast<ssize_t>(kVnetHdrLen) + 14 || static_cast<size_t>(r) >= kVnetHdrLen + static_cast<size_t>(cap)) {
      b.stats[kRxDropped] += 1;
      continue;
    }
    uint32_t len = static_cast<uint32_t>(r) - kVnetHdrLen;
    b.rxPort[n] = static_cast<uint16_t>(port->index);
    b.frameOffset[n] = n * b.slotSize + kVnetArea + kHeadroom;
    b.frameLength[n] = len;
    b.stats[kRxPackets] += 1;
    b.stats[kRxBytes] += len;
    n++;
  }
  *more = true;
  return n;
}

}  // namespace tapbridge
