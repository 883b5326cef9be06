// Refusals, in Linux's words where Linux has them: br_add_if returns EINVAL
// for loopback and non-Ethernet devices, ELOOP for a bridge, EBUSY for a
// device that already has a master. They run before an open touches the
// device, so a refused device is left exactly as it was.
#include "port-policy.h"

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netns.h"

namespace tapbridge {

namespace {
constexpr const char* kRefuse = "refuse";
}

bool CheckBridgePort(const std::string& name, const LinkRecord& link, SysError* e) {
  if (link.flags & IFF_LOOPBACK)
    return FailPlain(e, EINVAL, kRefuse,
                     "interface " + name + " is the loopback device: a bridge port must be an Ethernet device (Linux refuses it too)");
  if (link.type != ARPHRD_ETHER) {
    std::string what = std::string("link/") + LinkTypeName(link.type);
    if (link.kind == "tun") what += ", a TUN device";
    else if (!link.kind.empty()) what += ", kind " + link.kind;
    return FailPlain(e, EINVAL, kRefuse,
                     "interface " + name + " is not an Ethernet device (" + what +
                         "): a bridge port must be an Ethernet device (Linux refuses it too)");
  }
  if (link.kind == "bridge")
    return FailPlain(e, ELOOP, kRefuse,
                     "interface " + name + " is a bridge: a bridge cannot be a port of another bridge (Linux refuses it too)");
  if (link.master != 0) {
    LinkRecord master;
    SysError ignored;
    std::string owner = "another device";
    if (RtnlGetLink(link.master, &master, &ignored))
      owner = (master.kind.empty() ? std::string("device") : master.kind) + " " + master.name;
    return FailPlain(e, EBUSY, kRefuse,
                     "interface " + name + " is already a port of " + owner + "; release it first (ip link set " + name +
                         " nomaster)");
  }
  return true;
}

bool CheckTapName(const std::string& name, SysError* e) {
  unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) return true;  // free: TUNSETIFF creates it
  LinkRecord link;
  SysError ignored;
  if (!RtnlGetLink(static_cast<int>(ifindex), &link, &ignored)) return true;  // let TUNSETIFF speak
  if (link.kind == "tun" && link.type == ARPHRD_ETHER) return true;
  std::string what = link.kind == "tun" ? "a TUN device (layer 3)"
                     : link.kind.empty() ? std::string("a link/") + LinkTypeName(link.type) + " device"
                                         : "a " + link.kind + " device";
  return FailPlain(e, EEXIST, kRefuse,
                   "interface " + name + " already exists and is " + what + ", not a TAP: the name is taken");
}

void SetDownQuietly(const std::string& name) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags &= ~IFF_UP;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

}  // namespace tapbridge
