// Network namespaces (setns in and always back out), fd guard, and the
// SIOC[GS]IF* ioctls used to configure TAPs and inspect AF_PACKET targets.
#include "netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tapbridge {

bool Fail(SysError* e, int err, const char* syscall, const std::string& what) {
  e->err = err;
  e->syscall = syscall;
  e->message = what + ": " + strerror(err);
  return false;
}

bool FailPlain(SysError* e, int err, const char* syscall, const std::string& message) {
  e->err = err;
  e->syscall = syscall;
  e->message = message;
  return false;
}

FdGuard::~FdGuard() {
  if (fd_ >= 0) close(fd_);
}

void FdGuard::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

bool NetnsGuard::Enter(const std::string& path, SysError* e) {
  if (path.empty()) return true;
  orig_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig_ < 0) return Fail(e, errno, "open", "open /proc/thread-self/ns/net");
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) return Fail(e, errno, "open", "open network namespace " + path);
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(target);
    return Fail(e, err, "setns", "setns " + path);
  }
  close(target);
  entered_ = true;
  return true;
}

NetnsGuard::~NetnsGuard() {
  if (entered_ && setns(orig_, CLONE_NEWNET) < 0) {
    // The main thread would stay in a foreign namespace: nothing after this is safe.
    fprintf(stderr, "tapbridge: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  if (orig_ >= 0) close(orig_);
}

int OpenIoctlSocket(SysError* e) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) Fail(e, errno, "socket", "socket(AF_INET) for interface ioctls");
  return s;
}

static void FillName(struct ifreq* ifr, const std::string& name) {
  memset(ifr, 0, sizeof(*ifr));
  strncpy(ifr->ifr_name, name.c_str(), IFNAMSIZ - 1);
}

bool IfIndex(const std::string& name, int* index, SysError* e) {
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) {
    int err = errno == ENXIO || errno == 0 ? ENODEV : errno;
    return FailPlain(e, err, "if_nametoindex", "interface " + name + " not found");
  }
  *index = static_cast<int>(idx);
  return true;
}

bool SetMtu(int sock, const std::string& name, int mtu, SysError* e) {
  struct ifreq ifr;
  FillName(&ifr, name);
  ifr.ifr_mtu = mtu;
  if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCSIFMTU " + name);
  return true;
}

bool SetMac(int sock, const std::string& name, const uint8_t mac[6], SysError* e) {
  struct ifreq ifr;
  FillName(&ifr, name);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCSIFHWADDR " + name);
  return true;
}

bool SetUp(int sock, const std::string& name, SysError* e) {
  struct ifreq ifr;
  FillName(&ifr, name);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCGIFFLAGS " + name);
  if (ifr.ifr_flags & IFF_UP) return true;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCSIFFLAGS " + name);
  return true;
}

bool GetInfo(int sock, const std::string& name, int* ifindex, int* mtu, uint8_t mac[6], SysError* e) {
  struct ifreq ifr;
  FillName(&ifr, name);
  if (ioctl(sock, SIOCGIFINDEX, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCGIFINDEX " + name);
  *ifindex = ifr.ifr_ifindex;
  FillName(&ifr, name);
  if (ioctl(sock, SIOCGIFMTU, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCGIFMTU " + name);
  *mtu = ifr.ifr_mtu;
  FillName(&ifr, name);
  if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) return Fail(e, errno, "ioctl", "SIOCGIFHWADDR " + name);
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return true;
}

static int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseMac(const std::string& text, uint8_t mac[6]) {
  if (text.size() != 17) return false;
  for (int i = 0; i < 6; i++) {
    int hi = HexDigit(text[i * 3]);
    int lo = HexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return false;
    if (i < 5 && text[i * 3 + 2] != ':') return false;
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string FormatMac(const uint8_t mac[6]) {
  char buf[18];
  snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

}  // namespace tapbridge
