// LinkWatcher: the JS-visible rtnetlink link watcher. One NETLINK_ROUTE
// socket per network namespace it is asked to watch, each subscribed to
// RTMGRP_LINK and polled with uv_poll on the event loop; a dump of the
// namespace's links follows every open (and every overrun), so the
// TypeScript side always converges on the kernel's table. Each wake-up
// delivers ONE onEvents(events) call with every link message read.
#pragma once

#include <napi.h>
#include <uv.h>

#include <map>
#include <memory>
#include <vector>

#include "rtnl.h"

namespace tapbridge {

class LinkWatcher;

struct WatchSocket {
  uv_poll_t poll = {};  // poll.data = this; freed in the uv_close callback
  LinkWatcher* owner = nullptr;
  uint32_t id = 0;
  int fd = -1;
  uint32_t dumpSeq = 0;
  bool open = false;
};

class LinkWatcher : public Napi::ObjectWrap<LinkWatcher> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit LinkWatcher(const Napi::CallbackInfo& info);
  ~LinkWatcher() override;

  void OnReadable(WatchSocket* s);
  void OnPollError(WatchSocket* s, int status);

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value CloseSocket(const Napi::CallbackInfo& info);
  Napi::Value Resync(const Napi::CallbackInfo& info);
  Napi::Value Query(const Napi::CallbackInfo& info);
  Napi::Value CloseAll(const Napi::CallbackInfo& info);
  Napi::Value RefMethod(const Napi::CallbackInfo& info);
  Napi::Value UnrefMethod(const Napi::CallbackInfo& info);

  void CloseInternal(uint32_t id);
  void CloseEverything();
  bool StartDump(WatchSocket* s);
  void Deliver(Napi::Env env, Napi::Array events);
  static void CleanupHook(void* arg);

  enum class EventKind { kLink, kDumpDone, kOverrun, kError };
  struct Pending {
    EventKind kind;
    uint32_t socket;
    bool dump;  // kLink: part of a dump's answer
    int err;    // kError / kOverrun: errno
    LinkRecord link;
  };
  static void Collect(void* ctx, const LinkRecord& r);
  void Push(EventKind kind, uint32_t socket, int err);
  WatchSocket* current_ = nullptr;  // the socket being read (for Collect)

  uv_loop_t* loop_ = nullptr;
  bool refed_ = true;
  bool cleanupHookAdded_ = false;
  bool reportedCallbackError_ = false;
  uint32_t nextId_ = 1;
  uint32_t nextSeq_ = 1;
  std::map<uint32_t, WatchSocket*> sockets_;
  std::vector<Pending> pending_;
  std::unique_ptr<uint8_t[]> buf_;
  Napi::FunctionReference onEvents_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

}  // namespace tapbridge
