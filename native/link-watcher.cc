// LinkWatcher; see link-watcher.h. A socket is read until EAGAIN on every
// wake-up and the messages are delivered in one callback. An overrun
// (ENOBUFS: the kernel dropped notifications because we were slow) is
// reported and answered with a fresh dump, so no state change is ever lost
// for good. EPOLLERR stops a uv_poll handle; it is restarted after reading
// SO_ERROR, which clears the error.
#include "link-watcher.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "js-errors.h"
#include "netns.h"

namespace tapbridge {

namespace {

constexpr size_t kBufSize = 64 * 1024;

void PollCb(uv_poll_t* handle, int status, int events) {
  WatchSocket* s = static_cast<WatchSocket*>(handle->data);
  if (!s || !s->open) return;
  if (status < 0) {
    s->owner->OnPollError(s, status);
    return;
  }
  s->owner->OnReadable(s);
}

void SocketClosed(uv_handle_t* handle) { delete static_cast<WatchSocket*>(handle->data); }

void SetLinkFields(Napi::Object o, const LinkRecord& r) {
  o.Set("type", r.deleted ? "del" : "new");
  o.Set("ifindex", r.ifindex);
  o.Set("name", r.name);
  o.Set("flags", r.flags);
  o.Set("operstate", static_cast<uint32_t>(r.operstate));
  o.Set("linkType", static_cast<uint32_t>(r.type));
  o.Set("mtu", r.mtu);
  o.Set("master", r.master);
  o.Set("kind", r.kind);
  if (r.hasMac) o.Set("mac", FormatMac(r.mac));
}

const char* ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "EUNKNOWN";
}

}  // namespace

Napi::Function LinkWatcher::Init(Napi::Env env) {
  return DefineClass(env, "LinkWatcher",
                     {
                         InstanceMethod<&LinkWatcher::Open>("open"),
                         InstanceMethod<&LinkWatcher::CloseSocket>("closeSocket"),
                         InstanceMethod<&LinkWatcher::Resync>("resync"),
                         InstanceMethod<&LinkWatcher::Query>("query"),
                         InstanceMethod<&LinkWatcher::CloseAll>("close"),
                         InstanceMethod<&LinkWatcher::RefMethod>("ref"),
                         InstanceMethod<&LinkWatcher::UnrefMethod>("unref"),
                     });
}

LinkWatcher::LinkWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkWatcher>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(env, "new LinkWatcher(onEvents) needs an onEvents function").ThrowAsJavaScriptException();
    return;
  }
  onEvents_ = Napi::Persistent(info[0].As<Napi::Function>());
  asyncContext_.reset(new Napi::AsyncContext(env, "tapbridge:links"));
  buf_.reset(new uint8_t[kBufSize]);
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || !loop_) {
    Napi::Error::New(env, "new LinkWatcher: no event loop").ThrowAsJavaScriptException();
    return;
  }
  if (napi_add_env_cleanup_hook(env, CleanupHook, this) == napi_ok) cleanupHookAdded_ = true;
}

LinkWatcher::~LinkWatcher() {
  CloseEverything();
  if (cleanupHookAdded_) napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
}

void LinkWatcher::CleanupHook(void* arg) {
  LinkWatcher* self = static_cast<LinkWatcher*>(arg);
  self->cleanupHookAdded_ = false;
  // The env is going away: close fds without touching the JS wrapper.
  for (auto& [id, s] : self->sockets_) {
    s->open = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), SocketClosed);
    close(s->fd);
  }
  self->sockets_.clear();
}

Napi::Value LinkWatcher::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsString()) {
      Napi::TypeError::New(env, "LinkWatcher.open(netnsPath?) takes a namespace path or nothing").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    path = info[0].As<Napi::String>().Utf8Value();
  }
  SysError e;
  int fd = RtnlOpen(path, RTMGRP_LINK, &e);
  if (fd < 0) {
    ThrowSys(env, e);
    return env.Undefined();
  }
  WatchSocket* s = new WatchSocket;
  s->owner = this;
  s->id = nextId_++;
  s->fd = fd;
  s->poll.data = s;
  int rc = uv_poll_init(loop_, &s->poll, fd);
  if (rc == 0) {
    s->open = true;
    rc = uv_poll_start(&s->poll, UV_READABLE, PollCb);
    if (rc != 0) {
      s->open = false;
      uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), SocketClosed);
      close(fd);
    }
  } else {
    close(fd);
    delete s;
  }
  if (rc != 0) {
    Fail(&e, -rc, "uv_poll", "uv_poll on an rtnetlink socket");
    ThrowSys(env, e);
    return env.Undefined();
  }
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  if (sockets_.empty()) Ref();  // open sockets keep the wrapper (and onEvents) alive
  sockets_[s->id] = s;
  if (!StartDump(s)) {
    SysError de;
    Fail(&de, errno, "sendto", "rtnetlink link dump request");
    CloseInternal(s->id);
    ThrowSys(env, de);
    return env.Undefined();
  }
  return Napi::Number::New(env, s->id);
}

bool LinkWatcher::StartDump(WatchSocket* s) {
  s->dumpSeq = nextSeq_++;
  SysError e;
  if (RtnlRequestDump(s->fd, s->dumpSeq, &e)) return true;
  errno = e.err;
  return false;
}

void LinkWatcher::CloseInternal(uint32_t id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  WatchSocket* s = it->second;
  sockets_.erase(it);
  s->open = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), SocketClosed);
  close(s->fd);
  s->fd = -1;
  if (sockets_.empty()) Unref();
}

void LinkWatcher::CloseEverything() {
  while (!sockets_.empty()) CloseInternal(sockets_.begin()->first);
}

Napi::Value LinkWatcher::CloseSocket(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) CloseInternal(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value LinkWatcher::Resync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return env.Undefined();
  auto it = sockets_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it != sockets_.end() && !StartDump(it->second)) {
    SysError e;
    Fail(&e, errno, "sendto", "rtnetlink link dump request");
    ThrowSys(env, e);
  }
  return env.Undefined();
}

// query(netnsPath | undefined, ifindex): the device's state now, read with
// a synchronous RTM_GETLINK, or undefined when it does not exist.
Napi::Value LinkWatcher::Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !(info[0].IsString() || info[0].IsUndefined()) || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "LinkWatcher.query(netnsPath | undefined, ifindex)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : std::string();
  SysError e;
  LinkRecord r;
  bool found;
  {
    NetnsGuard ns;
    if (!ns.Enter(path, &e)) {
      ThrowSys(env, e);
      return env.Undefined();
    }
    found = RtnlGetLink(info[1].As<Napi::Number>().Int32Value(), &r, &e);
  }
  if (!found) {
    if (e.err == ENODEV) return env.Undefined();
    ThrowSys(env, e);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("socket", 0);
  o.Set("dump", false);
  SetLinkFields(o, r);
  return o;
}

Napi::Value LinkWatcher::CloseAll(const Napi::CallbackInfo& info) {
  CloseEverything();
  return info.Env().Undefined();
}

Napi::Value LinkWatcher::RefMethod(const Napi::CallbackInfo& info) {
  refed_ = true;
  for (auto& [id, s] : sockets_) uv_ref(reinterpret_cast<uv_handle_t*>(&s->poll));
  return info.Env().Undefined();
}

Napi::Value LinkWatcher::UnrefMethod(const Napi::CallbackInfo& info) {
  refed_ = false;
  for (auto& [id, s] : sockets_) uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  return info.Env().Undefined();
}

void LinkWatcher::Collect(void* ctx, const LinkRecord& r) {
  LinkWatcher* self = static_cast<LinkWatcher*>(ctx);
  WatchSocket* s = self->current_;
  self->pending_.push_back(Pending{EventKind::kLink, s->id, r.seq != 0 && r.seq == s->dumpSeq, 0, r});
}

void LinkWatcher::Push(EventKind kind, uint32_t socket, int err) {
  pending_.push_back(Pending{kind, socket, false, err, LinkRecord()});
}

void LinkWatcher::OnPollError(WatchSocket* s, int status) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  const uint32_t id = s->id;
  if (err == ENOBUFS) {
    Push(EventKind::kOverrun, id, err);
    if (!StartDump(s)) Push(EventKind::kError, id, errno);
  } else if (err != 0) {
    Push(EventKind::kError, id, err);
  }
  if (uv_poll_start(&s->poll, UV_READABLE, PollCb) != 0) Push(EventKind::kError, id, EBADF);
  OnReadable(s);
}

void LinkWatcher::OnReadable(WatchSocket* s) {
  const uint32_t id = s->id;
  for (;;) {
    ssize_t n = recv(s->fd, buf_.get(), kBufSize, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        // Notifications were lost: say so, and converge again with a dump.
        Push(EventKind::kOverrun, id, ENOBUFS);
        if (!StartDump(s)) Push(EventKind::kError, id, errno);
        continue;
      }
      Push(EventKind::kError, id, errno);
      break;
    }
    if (n == 0) break;
    bool done = false;
    int error = 0;
    current_ = s;
    RtnlParse(buf_.get(), static_cast<size_t>(n), s->dumpSeq, &LinkWatcher::Collect, this, &done, &error);
    current_ = nullptr;
    if (error) Push(EventKind::kError, id, error);
    if (done) Push(EventKind::kDumpDone, id, 0);
  }
  if (pending_.empty()) return;

  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Array events = Napi::Array::New(env, pending_.size());
  uint32_t i = 0;
  for (const Pending& p : pending_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("socket", p.socket);
    switch (p.kind) {
      case EventKind::kLink:
        SetLinkFields(o, p.link);
        o.Set("dump", p.dump);
        break;
      case EventKind::kDumpDone:
        o.Set("type", "dump-done");
        break;
      case EventKind::kOverrun:
        o.Set("type", "overrun");
        break;
      case EventKind::kError:
        o.Set("type", "error");
        o.Set("code", ErrnoName(p.err));
        o.Set("message", strerror(p.err));
        break;
    }
    events.Set(i++, o);
  }
  pending_.clear();
  Deliver(env, events);
}

void LinkWatcher::Deliver(Napi::Env env, Napi::Array events) {
  napi_value argv[1] = {events};
  onEvents_.MakeCallback(Value(), 1, argv, *asyncContext_);
  if (env.IsExceptionPending()) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    if (!reportedCallbackError_) {
      reportedCallbackError_ = true;
      fprintf(stderr, "tapbridge: a link watcher callback threw (reported once)\n");
    }
  }
}

}  // namespace tapbridge
