// rtnetlink (NETLINK_ROUTE) without N-API types: sockets opened inside a
// network namespace, RTM_GETLINK requests (one device, or a dump), and a
// parser that turns RTM_NEWLINK/RTM_DELLINK messages into LinkRecords.
// Used by the link watcher (link-watcher.cc) and, synchronously, by port
// open to refuse devices Linux would refuse as bridge ports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "port.h"

namespace tapbridge {

struct LinkRecord {
  bool deleted = false;   // RTM_DELLINK
  uint32_t seq = 0;       // nlmsg_seq: the request it answers, 0 for a notification
  int ifindex = 0;
  std::string name;
  uint32_t flags = 0;     // ifi_flags: IFF_UP, IFF_LOWER_UP, IFF_LOOPBACK, ...
  uint16_t type = 0;      // ARPHRD_*
  uint8_t operstate = 0;  // IF_OPER_*
  uint32_t mtu = 0;
  int master = 0;         // IFLA_MASTER, 0 when none
  std::string kind;       // IFLA_LINKINFO / IFLA_INFO_KIND ("veth", "tun", "bridge", ...), may be empty
  bool hasMac = false;
  uint8_t mac[6] = {0};
};

// A NETLINK_ROUTE socket created inside `netnsPath` (empty: the caller's
// namespace), non-blocking, close-on-exec. `groups`: RTMGRP_* to subscribe
// to (0 for a request-only socket). -1 with *e filled on failure.
int RtnlOpen(const std::string& netnsPath, uint32_t groups, SysError* e);

// Sends RTM_GETLINK with NLM_F_DUMP.
bool RtnlRequestDump(int fd, uint32_t seq, SysError* e);

// Parses one datagram. Calls onLink for every RTM_NEWLINK/RTM_DELLINK.
// Sets *done when an NLMSG_DONE for `seq` is seen, and *error to a
// netlink error code (positive errno) when an NLMSG_ERROR carries one.
using LinkCallback = void (*)(void* ctx, const LinkRecord& link);
void RtnlParse(const uint8_t* buf, size_t len, uint32_t seq, LinkCallback onLink, void* ctx, bool* done, int* error);

// Synchronous RTM_GETLINK for one device, in the caller's current namespace
// (call it inside a NetnsGuard scope). False with *e filled when the device
// does not exist or netlink fails.
bool RtnlGetLink(int ifindex, LinkRecord* out, SysError* e);

// "ether", "loopback", "none", "ipip", ... as `ip link` names link types.
const char* LinkTypeName(uint16_t type);

}  // namespace tapbridge
