// Network-namespace switching and interface ioctls.
//
// NetnsGuard moves the calling thread into another network namespace for the
// duration of a scope and always moves it back (sockets and fds opened inside
// stay bound to the target namespace). The ioctl helpers act on an AF_INET
// datagram socket that must be created in the namespace of the interface.
#pragma once

#include <cstdint>
#include <string>

#include "port.h"

namespace tapbridge {

class NetnsGuard {
 public:
  NetnsGuard() = default;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard();
  // Enter the namespace file at `path`; an empty path does nothing.
  bool Enter(const std::string& path, SysError* e);

 private:
  int orig_ = -1;
  bool entered_ = false;
};

// Closes an fd at scope end unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd = -1) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard();
  int get() const { return fd_; }
  void reset(int fd);
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

int OpenIoctlSocket(SysError* e);
bool IfIndex(const std::string& name, int* index, SysError* e);
bool SetMtu(int sock, const std::string& name, int mtu, SysError* e);
bool SetMac(int sock, const std::string& name, const uint8_t mac[6], SysError* e);
bool SetUp(int sock, const std::string& name, SysError* e);
bool GetInfo(int sock, const std::string& name, int* ifindex, int* mtu, uint8_t mac[6], SysError* e);

bool ParseMac(const std::string& text, uint8_t mac[6]);
std::string FormatMac(const uint8_t mac[6]);

}  // namespace tapbridge
