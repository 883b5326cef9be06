// What may become a bridge port, as Linux's br_add_if decides it, checked
// before an open changes anything (see port-policy.cc).
#pragma once

#include <string>

#include "port.h"
#include "rtnl.h"

namespace tapbridge {

// False (with a sentence in *e, syscall "refuse") for a device Linux would
// not take as a bridge port: the loopback device, a device that is not
// Ethernet (TUN, ipip, ...), a bridge, or a device that already has a master
// (a port of a kernel bridge, a bond slave). Call inside the device's namespace.
bool CheckBridgePort(const std::string& name, const LinkRecord& link, SysError* e);

// False (EEXIST, "the name is taken") when an existing device of that name
// is not a TAP. Call inside the device's namespace.
bool CheckTapName(const std::string& name, SysError* e);

// Sets the device down again (after a failed attach that brought it up).
void SetDownQuietly(const std::string& name);

}  // namespace tapbridge
