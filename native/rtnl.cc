// rtnetlink requests and parsing; see rtnl.h. Messages are walked with the
// kernel's own macros (NLMSG_*, IFLA_RTA, RTA_*), never by hand-computed
// offsets, and every attribute is length-checked before it is read.
#include "rtnl.h"

#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netns.h"

namespace tapbridge {

namespace {

void ParseLinkInfo(const struct rtattr* info, LinkRecord* r) {
  int len = RTA_PAYLOAD(info);
  for (const struct rtattr* a = static_cast<const struct rtattr*>(RTA_DATA(info)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_INFO_KIND) {
      const char* s = static_cast<const char*>(RTA_DATA(a));
      r->kind.assign(s, strnlen(s, RTA_PAYLOAD(a)));
    }
  }
}

bool ParseLink(const struct nlmsghdr* h, LinkRecord* r) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) return false;
  const struct ifinfomsg* ifi = static_cast<const struct ifinfomsg*>(NLMSG_DATA(h));
  *r = LinkRecord();
  r->deleted = h->nlmsg_type == RTM_DELLINK;
  r->seq = h->nlmsg_seq;
  r->ifindex = ifi->ifi_index;
  r->flags = ifi->ifi_flags;
  r->type = ifi->ifi_type;
  int len = IFLA_PAYLOAD(h);
  for (const struct rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const size_t n = RTA_PAYLOAD(a);
    const void* d = RTA_DATA(a);
    switch (a->rta_type) {
      case IFLA_IFNAME:
        r->name.assign(static_cast<const char*>(d), strnlen(static_cast<const char*>(d), n));
        break;
      case IFLA_OPERSTATE:
        if (n >= 1) r->operstate = *static_cast<const uint8_t*>(d);
        break;
      case IFLA_MTU:
        if (n >= 4) memcpy(&r->mtu, d, 4);
        break;
      case IFLA_MASTER:
        if (n >= 4) memcpy(&r->master, d, 4);
        break;
      case IFLA_ADDRESS:
        if (n == 6) {
          memcpy(r->mac, d, 6);
          r->hasMac = true;
        }
        break;
      case IFLA_LINKINFO:
        ParseLinkInfo(a, r);
        break;
      default:
        break;
    }
  }
  return true;
}

bool SendRequest(int fd, uint32_t seq, int ifindex, bool dump, SysError* e) {
  struct {
    struct nlmsghdr h;
    struct ifinfomsg ifi;
    char attrs[16];
  } req;
  memset(&req, 0, sizeof(req));
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
  req.h.nlmsg_seq = seq;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  struct sockaddr_nl to;
  memset(&to, 0, sizeof(to));
  to.nl_family = AF_NETLINK;
  ssize_t r;
  do {
    r = sendto(fd, &req, req.h.nlmsg_len, 0, reinterpret_cast<struct sockaddr*>(&to), sizeof(to));
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Fail(e, errno, "sendto", "rtnetlink RTM_GETLINK request");
  return true;
}

}  // namespace

int RtnlOpen(const std::string& netnsPath, uint32_t groups, SysError* e) {
  NetnsGuard ns;
  if (!ns.Enter(netnsPath, e)) return -1;
  FdGuard fd(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (fd.get() < 0) {
    Fail(e, errno, "socket", "socket(AF_NETLINK, NETLINK_ROUTE)");
    return -1;
  }
  // Room for bursts (a namespace deleted with many devices); overruns are
  // still possible and reported as ENOBUFS, after which the caller re-dumps.
  int rcv = 4 << 20;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  int one = 1;
  setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  struct sockaddr_nl local;
  memset(&local, 0, sizeof(local));
  local.nl_family = AF_NETLINK;
  local.nl_groups = groups;
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&local), sizeof(local)) < 0) {
    Fail(e, errno, "bind", "bind rtnetlink socket");
    return -1;
  }
  return fd.release();
}

bool RtnlRequestDump(int fd, uint32_t seq, SysError* e) { return SendRequest(fd, seq, 0, true, e); }

void RtnlParse(const uint8_t* buf, size_t len, uint32_t seq, LinkCallback onLink, void* ctx, bool* done, int* error) {
  int remaining = static_cast<int>(len);
  for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(buf); NLMSG_OK(h, remaining);
       h = NLMSG_NEXT(h, remaining)) {
    switch (h->nlmsg_type) {
      case NLMSG_DONE:
        if (h->nlmsg_seq == seq) *done = true;
        break;
      case NLMSG_ERROR: {
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
          const struct nlmsgerr* err = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
          if (err->error != 0) *error = -err->error;
          if (h->nlmsg_seq == seq) *done = true;
        }
        break;
      }
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        LinkRecord r;
        if (ParseLink(h, &r)) onLink(ctx, r);
        break;
      }
      default:
        break;
    }
  }
}

bool RtnlGetLink(int ifindex, LinkRecord* out, SysError* e) {
  FdGuard fd(RtnlOpen(std::string(), 0, e));
  if (fd.get() < 0) return false;
  const uint32_t seq = 1;
  if (!SendRequest(fd.get(), seq, ifindex, false, e)) return false;
  struct Ctx {
    LinkRecord* out;
    int ifindex;
    bool found;
  } ctx{out, ifindex, false};
  alignas(struct nlmsghdr) uint8_t buf[16384];
  bool done = false;
  int error = 0;
  while (!done) {
    struct pollfd p = {fd.get(), POLLIN, 0};
    int pr = poll(&p, 1, 1000);
    if (pr == 0) return FailPlain(e, ETIMEDOUT, "recv", "rtnetlink RTM_GETLINK: no answer within 1 s");
    if (pr < 0) {
      if (errno == EINTR) continue;
      return Fail(e, errno, "poll", "rtnetlink RTM_GETLINK");
    }
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Fail(e, errno, "recv", "rtnetlink RTM_GETLINK");
    }
    RtnlParse(
        buf, static_cast<size_t>(n), seq,
        [](void* c, const LinkRecord& r) {
          Ctx* x = static_cast<Ctx*>(c);
          if (r.ifindex == x->ifindex && !r.deleted) {
            *x->out = r;
            x->found = true;
          }
        },
        &ctx, &done, &error);
    if (ctx.found) return true;  // a single-device answer has no NLMSG_DONE
    if (error) return Fail(e, error, "RTM_GETLINK", "rtnetlink RTM_GETLINK ifindex " + std::to_string(ifindex));
  }
  return FailPlain(e, ENODEV, "RTM_GETLINK", "interface with ifindex " + std::to_string(ifindex) + " not found");
}

const char* LinkTypeName(uint16_t type) {
  switch (type) {
    case ARPHRD_ETHER: return "ether";
    case ARPHRD_LOOPBACK: return "loopback";
    case ARPHRD_NONE: return "none";
    case ARPHRD_TUNNEL: return "ipip";
    case ARPHRD_TUNNEL6: return "tunnel6";
    case ARPHRD_SIT: return "sit";
    case ARPHRD_IPGRE: return "gre";
    case ARPHRD_IP6GRE: return "gre6";
    case ARPHRD_INFINIBAND: return "infiniband";
    case ARPHRD_PPP: return "ppp";
    case ARPHRD_IEEE80211: return "ieee802.11";
    case ARPHRD_CAN: return "can";
    case ARPHRD_VOID: return "void";
    default: return "non-ethernet";
  }
}

}  // namespace tapbridge
