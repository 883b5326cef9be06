// The credentials of the process at the other end of a connected Unix
// socket, as the kernel recorded them at connect time (SO_PEERCRED) and its
// supplementary groups (SO_PEERGROUPS, Linux 4.13+). Node has no API for
// either; the daemon's control socket asks this before serving a request.
#include "peercred.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace tapbridge {

namespace {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  error.Set("code", Napi::String::New(env, err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : "EPEERCRED"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Null();
}

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "peerCredentials(fd): fd must be a number").ThrowAsJavaScriptException();
    return env.Null();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return ThrowErrno(env, errno, "getsockopt(SO_PEERCRED)");
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  std::vector<gid_t> groups(32);
  for (int attempt = 0; attempt < 4; attempt++) {
    socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
      groups.resize(glen / sizeof(gid_t));
      Napi::Array list = Napi::Array::New(env, groups.size());
      for (size_t i = 0; i < groups.size(); i++) list.Set(static_cast<uint32_t>(i), Napi::Number::New(env, groups[i]));
      out.Set("groups", list);
      return out;
    }
    if (errno != ERANGE) break;
    groups.resize(glen / sizeof(gid_t) + 1);
  }
  // No supplementary groups known (older kernel): the primary gid is still checked.
  out.Set("groups", Napi::Array::New(env, 0));
  return out;
}

}  // namespace

Napi::Function PeerCredentialsFunction(Napi::Env env) {
  return Napi::Function::New(env, PeerCredentials, "peerCredentials");
}

}  // namespace tapbridge
