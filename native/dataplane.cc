// Dataplane: the N-API class. Owns the slab (one ArrayBuffer, slot i holds
// frame i) and the descriptor/stat typed arrays, which are created once and
// returned as the same objects on every property read. Each port has a
// level-triggered uv_poll; a wake-up runs up to 8 batches from that port, each
// followed by ONE onBatch(n) call made with MakeCallback semantics (callback
// scope, microtasks). transmit() hands the batch to the Transmitter port by
// port (transmit.cc): offloads, VLAN tags spliced in or skipped, batched
// system calls. Nothing on the frame path allocates.
#include "dataplane.h"

#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "js-errors.h"
#include "netns.h"
#include "port-policy.h"
#include "tap.h"
#include "vxlan.h"

namespace tapbridge {

namespace {

constexpr uint32_t kMaxRounds = 8;
// Poll errors in a row, with nothing received between them, after which a
// port's receive side is given up (and reported) rather than spun on.
constexpr uint32_t kMaxPollErrorRun = 64;
constexpr size_t kMaxSlab = 1u << 30;

inline uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Argument errors carry code EINVAL so describeNativeError() words them too.
void ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError err = Napi::TypeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "EINVAL"));
  err.ThrowAsJavaScriptException();
}

void ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError err = Napi::RangeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "EINVAL"));
  err.ThrowAsJavaScriptException();
}

// Reads an optional integer option; false (with a JS exception) when invalid.
bool ReadInt(Napi::Env env, Napi::Object o, const char* key, const char* where, int64_t min, int64_t max,
             bool required, int64_t* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined()) {
    if (!required) return true;
    ThrowType(env, std::string(where) + ": option " + key + " is required");
    return false;
  }
  if (!v.IsNumber()) {
    ThrowType(env, std::string(where) + ": option " + key + " must be a number");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s: option %s must be an integer from %lld to %lld (got %g)", where, key,
             static_cast<long long>(min), static_cast<long long>(max), d);
    ThrowRange(env, buf);
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ReadBool(Napi::Env env, Napi::Object o, const char* key, const char* where, bool* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined()) return true;
  if (!v.IsBoolean()) {
    ThrowType(env, std::string(where) + ": option " + key + " must be a boolean");
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool ReadString(Napi::Env env, Napi::Object o, const char* key, const char* where, bool required, std::string* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (v.IsUndefined()) {
    if (!required) return true;
    ThrowType(env, std::string(where) + ": option " + key + " is required");
    return false;
  }
  if (!v.IsString()) {
    ThrowType(env, std::string(where) + ": option " + key + " must be a string");
    return false;
  }
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool CheckIfname(Napi::Env env, const std::string& name, const char* where) {
  if (name.empty() || name.size() > 15) {
    ThrowRange(env, std::string(where) + ": interface name \"" + name + "\" must be 1 to 15 bytes long");
    return false;
  }
  if (name.find('%') != std::string::npos) {
    // The kernel takes "tap%d" as a pattern and picks a name of its own.
    ThrowRange(env, std::string(where) + ": interface name \"" + name + "\" contains '%', which the kernel would replace");
    return false;
  }
  if (name.find('/') != std::string::npos || name.find_first_of(" \t\n:") != std::string::npos) {
    ThrowRange(env, std::string(where) + ": interface name \"" + name + "\" contains '/', ':' or whitespace");
    return false;
  }
  return true;
}

void PollCallback(uv_poll_t* handle, int status, int events) {
  Port* port = static_cast<Port*>(handle->data);
  if (!port || !port->open) return;
  if (status < 0) {
    // EPOLLERR: libuv has stopped the handle and says UV_EBADF whatever the cause.
    port->dp->OnPollError(port);
    return;
  }
  port->pollErrorRun = 0;
  port->dp->OnReadable(port);
}

void PortClosed(uv_handle_t* handle) { delete static_cast<Port*>(handle->data); }

// A thrown value as text: an object's stack (or String(value)), using raw
// N-API calls whose failures are cleared, so describing never leaves an
// exception pending.
std::string DescribeThrown(napi_env env, napi_value value) {
  napi_value ignored;
  std::string out = "(a value that cannot be printed)";
  if (!value) return out;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) type = napi_undefined;
  napi_value text = nullptr;
  if (type == napi_object) {
    napi_value stack;
    napi_valuetype st;
    if (napi_get_named_property(env, value, "stack", &stack) == napi_ok && napi_typeof(env, stack, &st) == napi_ok &&
        st == napi_string)
      text = stack;
  }
  if (!text && napi_coerce_to_string(env, value, &text) != napi_ok) text = nullptr;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) napi_get_and_clear_last_exception(env, &ignored);
  if (!text) return out;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, text, nullptr, 0, &len) != napi_ok) return out;
  std::string s(len, '\0');
  if (napi_get_value_string_utf8(env, text, &s[0], len + 1, &len) != napi_ok) return out;
  return s;
}

}  // namespace

Napi::Function Dataplane::Init(Napi::Env env) {
  return DefineClass(env, "Dataplane",
                     {
                         InstanceMethod<&Dataplane::OpenTap>("openTap"),
                         InstanceMethod<&Dataplane::OpenPacket>("openPacket"),
                         InstanceMethod<&Dataplane::ClosePort>("closePort"),
                         InstanceMethod<&Dataplane::RefreshStats>("refreshStats"),
                         InstanceMethod<&Dataplane::Transmit>("transmit"),
                         InstanceMethod<&Dataplane::Close>("close"),
                         InstanceMethod<&Dataplane::RefMethod>("ref"),
                         InstanceMethod<&Dataplane::UnrefMethod>("unref"),
                         InstanceMethod<&Dataplane::SetVlanEgress>("setVlanEgress"),
                         InstanceMethod<&Dataplane::OpenVxlan>("openVxlan"),
                         InstanceMethod<&Dataplane::VxlanRemote>("vxlanRemote"),
                         InstanceMethod<&Dataplane::VxlanRemotes>("vxlanRemotes"),
                         InstanceMethod<&Dataplane::VxlanSetVniMap>("vxlanSetVniMap"),
                         InstanceMethod<&Dataplane::VxlanStats>("vxlanStats"),
                         InstanceMethod<&Dataplane::VxlanJoinGroup>("vxlanJoinGroup"),
                         InstanceAccessor<&Dataplane::GetSlab>("slab", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetRxPort>("rxPort", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetFrameOffset>("frameOffset", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetFrameLength>("frameLength", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetEgress>("egress", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetFrameTag>("frameTag", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetPortStats>("portStats", napi_enumerable),
                         InstanceAccessor<&Dataplane::GetDpStats>("dpStats", napi_enumerable),
                     });
}

Dataplane::Dataplane(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Dataplane>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    ThrowType(env, "new Dataplane(options, onBatch) needs an options object {batchSize, slotSize} and an onBatch function");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  int64_t batch = 0, slot = 0;
  if (!ReadInt(env, o, "batchSize", "new Dataplane", 1, kMaxBatch, true, &batch)) return;
  if (!ReadInt(env, o, "slotSize", "new Dataplane", kMinSlotSize, 16 << 20, true, &slot)) return;
  if (static_cast<size_t>(batch) * static_cast<size_t>(slot) > kMaxSlab) {
    ThrowRange(env, "new Dataplane: batchSize * slotSize must not exceed 1 GiB");
    return;
  }
  batchSize_ = static_cast<uint32_t>(batch);
  slotSize_ = static_cast<uint32_t>(slot);
  slabSize_ = static_cast<size_t>(batchSize_) * slotSize_;

  Napi::ArrayBuffer slab = Napi::ArrayBuffer::New(env, slabSize_);
  if (env.IsExceptionPending()) return;
  slab_ = static_cast<uint8_t*>(slab.Data());
  slabRef_ = Napi::Persistent(slab);

  Napi::Uint16Array rx = Napi::Uint16Array::New(env, batchSize_);
  Napi::Uint32Array off = Napi::Uint32Array::New(env, batchSize_);
  Napi::Uint32Array len = Napi::Uint32Array::New(env, batchSize_);
  Napi::Uint32Array egress = Napi::Uint32Array::New(env, static_cast<size_t>(batchSize_) * kEgressWords);
  Napi::Uint32Array tags = Napi::Uint32Array::New(env, batchSize_);
  Napi::Float64Array ps = Napi::Float64Array::New(env, kMaxPorts * kPortStatCount);
  Napi::Float64Array ds = Napi::Float64Array::New(env, kDpStatCount);
  if (env.IsExceptionPending()) return;
  rxPort_ = rx.Data();
  frameOffset_ = off.Data();
  frameLength_ = len.Data();
  egress_ = egress.Data();
  frameTag_ = tags.Data();
  portStats_ = ps.Data();
  dpStats_ = ds.Data();
  rxPortRef_ = Napi::Persistent(Napi::Object(env, rx));
  frameOffsetRef_ = Napi::Persistent(Napi::Object(env, off));
  frameLengthRef_ = Napi::Persistent(Napi::Object(env, len));
  egressRef_ = Napi::Persistent(Napi::Object(env, egress));
  frameTagRef_ = Napi::Persistent(Napi::Object(env, tags));
  portStatsRef_ = Napi::Persistent(Napi::Object(env, ps));
  dpStatsRef_ = Napi::Persistent(Napi::Object(env, ds));
  onBatch_ = Napi::Persistent(info[1].As<Napi::Function>());
  if (info.Length() > 2 && info[2].IsFunction()) onPortEvent_ = Napi::Persistent(info[2].As<Napi::Function>());
  asyncContext_.reset(new Napi::AsyncContext(env, "tapbridge:batch"));

  tx_.reset(new Transmitter(slotSize_));

  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || !loop_) {
    Napi::Error::New(env, "new Dataplane: no event loop").ThrowAsJavaScriptException();
    return;
  }
  if (napi_add_env_cleanup_hook(env, CleanupHook, this) == napi_ok) cleanupHookAdded_ = true;
}

Dataplane::~Dataplane() {
  CloseAll();
  if (cleanupHookAdded_) napi_remove_env_cleanup_hook(Env(), CleanupHook, this);
}

void Dataplane::CleanupHook(void* arg) {
  Dataplane* self = static_cast<Dataplane*>(arg);
  self->cleanupHookAdded_ = false;
  self->openCount_ = 0;  // the env is going away: no Unref on the wrapper
  for (uint32_t i = 0; i < kMaxPorts; i++) self->ClosePortInternal(i, false);
}

bool Dataplane::CheckIndex(Napi::Env env, const Napi::Value& v, bool mustBeFree, uint32_t* index) {
  if (!v.IsNumber()) {
    ThrowType(env, "the port index must be a number");
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < kMaxPorts) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    char buf[128];
    snprintf(buf, sizeof(buf), "port index %g is out of range: it must be an integer from 0 to %u", d, kMaxPorts - 1);
    ThrowRange(env, buf);
    return false;
  }
  *index = static_cast<uint32_t>(d);
  if (mustBeFree && ports_[*index]) {
    Napi::Error err = Napi::Error::New(env, "port index " + std::to_string(*index) + " is already in use by " +
                                                ports_[*index]->ifname + "; close it first");
    err.Set("code", Napi::String::New(env, "EADDRINUSE"));
    err.ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Value Dataplane::StartPort(Napi::Env env, Port* port, const OpenedInfo& oi) {
  port->dp = this;
  port->poll.data = port;
  int rc = uv_poll_init(loop_, &port->poll, port->fd);
  const bool initialised = rc == 0;
  if (initialised) {
    port->open = true;
    rc = uv_poll_start(&port->poll, UV_READABLE, PollCallback);
  }
  if (rc != 0) {
    SysError e;
    Fail(&e, -rc, "uv_poll", "uv_poll on " + port->ifname);
    port->open = false;
    if (port->kind == PortKind::kPacket) PacketUnmap(port);
    if (port->kind == PortKind::kVxlan) VxlanFree(port);
    if (port->kind == PortKind::kTap && oi.created) TapClearPersist(port);  // undo our own TUNSETPERSIST
    if (port->broughtUp) {
      // Leave the interface as it was found: down.
      NetnsGuard ns;
      SysError ignored;
      if (ns.Enter(port->netnsPath, &ignored)) SetDownQuietly(port->ifname);
    }
    if (initialised) uv_close(reinterpret_cast<uv_handle_t*>(&port->poll), PortClosed);  // deletes port
    close(port->fd);
    port->fd = -1;
    if (!initialised) delete port;
    ThrowSys(env, e);
    return env.Undefined();
  }
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(&port->poll));
  ports_[port->index] = port;
  if (openCount_++ == 0) Ref();  // open ports keep the wrapper (and onBatch) alive

  double* stats = portStats_ + static_cast<size_t>(port->index) * kPortStatCount;
  for (uint32_t c = 0; c < kPortStatCount; c++) stats[c] = 0;

  Napi::Object r = Napi::Object::New(env);
  r.Set("ifname", Napi::String::New(env, oi.ifname));
  r.Set("ifindex", Napi::Number::New(env, oi.ifindex));
  r.Set("mtu", Napi::Number::New(env, oi.mtu));
  r.Set("mac", Napi::String::New(env, FormatMac(oi.mac)));
  r.Set("vnetHdr", Napi::Boolean::New(env, oi.vnet));
  if (port->kind == PortKind::kTap) r.Set("created", Napi::Boolean::New(env, oi.created));
  return r;
}

Napi::Value Dataplane::OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!CheckIndex(env, info[0], true, &index)) return env.Undefined();
  if (!info[1].IsObject()) {
    ThrowType(env, "openTap(index, options) needs an options object with a name");
    return env.Undefined();
  }
  Napi::Object o = info[1].As<Napi::Object>();
  TapOptions t;
  int64_t mtu = 0;
  std::string mac;
  if (!ReadString(env, o, "name", "openTap", true, &t.name) || !CheckIfname(env, t.name, "openTap") ||
      !ReadString(env, o, "netnsPath", "openTap", false, &t.netnsPath) ||
      !ReadBool(env, o, "persist", "openTap", &t.persist) ||
      !ReadInt(env, o, "mtu", "openTap", 68, 65535, false, &mtu) ||
      !ReadString(env, o, "mac", "openTap", false, &mac) || !ReadBool(env, o, "up", "openTap", &t.up))
    return env.Undefined();
  t.mtu = static_cast<int>(mtu);
  if (!mac.empty() || o.Has("mac")) {
    if (!ParseMac(mac, t.mac)) {
      ThrowType(env, "openTap: mac \"" + mac + "\" is not of the form aa:bb:cc:dd:ee:ff");
      return env.Undefined();
    }
    t.hasMac = true;
  }
  Port* port = new Port;
  port->index = index;
  SysError e;
  OpenedInfo oi;
  if (!TapOpen(t, port, &oi, &e)) {
    delete port;
    ThrowSys(env, e);
    return env.Undefined();
  }
  return StartPort(env, port, oi);
}

Napi::Value Dataplane::OpenPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!CheckIndex(env, info[0], true, &index)) return env.Undefined();
  if (!info[1].IsObject()) {
    ThrowType(env, "openPacket(index, options) needs an options object with an ifname");
    return env.Undefined();
  }
  Napi::Object o = info[1].As<Napi::Object>();
  PacketOptions p;
  int64_t blockSize = p.blockSize, blockCount = p.blockCount, tov = p.retireTimeoutMs, rcv = p.rcvbuf, snd = p.sndbuf;
  if (!ReadString(env, o, "ifname", "openPacket", true, &p.ifname) || !CheckIfname(env, p.ifname, "openPacket") ||
      !ReadString(env, o, "netnsPath", "openPacket", false, &p.netnsPath) ||
      !ReadBool(env, o, "promisc", "openPacket", &p.promisc) || !ReadBool(env, o, "vnetHdr", "openPacket", &p.txVnet) ||
      !ReadInt(env, o, "ringBlockSize", "openPacket", 128 << 10, 1 << 30, false, &blockSize) ||
      !ReadInt(env, o, "ringBlockCount", "openPacket", 1, 65536, false, &blockCount) ||
      !ReadInt(env, o, "retireTimeoutMs", "openPacket", 0, 60000, false, &tov) ||
      !ReadInt(env, o, "rcvbuf", "openPacket", 1, 0x7fffffff, false, &rcv) ||
      !ReadInt(env, o, "sndbuf", "openPacket", 1, 0x7fffffff, false, &snd))
    return env.Undefined();
  std::string rxMode;
  if (!ReadString(env, o, "rxMode", "openPacket", false, &rxMode)) return env.Undefined();
  if (!rxMode.empty() && !ParsePacketRxMode(rxMode, &p.rxMode)) {
    ThrowRange(env, "openPacket: option rxMode must be \"v2\", \"v3\" or \"mmsg\" (got \"" + rxMode + "\")");
    return env.Undefined();
  }
  if (blockSize & (blockSize - 1)) {
    ThrowRange(env, "openPacket: option ringBlockSize must be a power of two");
    return env.Undefined();
  }
  if (static_cast<uint64_t>(blockSize) * static_cast<uint64_t>(blockCount) > (1ull << 32) - 1) {
    ThrowRange(env, "openPacket: ringBlockSize * ringBlockCount must stay below 4 GiB");
    return env.Undefined();
  }
  p.blockSize = static_cast<uint32_t>(blockSize);
  p.blockCount = static_cast<uint32_t>(blockCount);
  p.retireTimeoutMs = static_cast<uint32_t>(tov);
  p.rcvbuf = static_cast<int>(rcv);
  p.sndbuf = static_cast<int>(snd);
  Port* port = new Port;
  port->index = index;
  SysError e;
  OpenedInfo oi;
  if (!PacketOpen(p, port, &oi, &e)) {
    delete port;
    ThrowSys(env, e);
    return env.Undefined();
  }
  return StartPort(env, port, oi);
}

void Dataplane::ClosePortInternal(uint32_t index, bool removePersistent, bool restore) {
  Port* port = ports_[index];
  if (!port) return;
  ports_[index] = nullptr;
  double* stats = portStats_ + static_cast<size_t>(index) * kPortStatCount;
  if (port->kind == PortKind::kPacket) PacketReadDrops(port, stats);
  port->open = false;
  // uv_close takes the fd out of epoll; the fd is closed right away so a
  // non-persistent TAP is gone when close()/closePort() returns.
  uv_close(reinterpret_cast<uv_handle_t*>(&port->poll), PortClosed);
  if (port->kind == PortKind::kPacket) PacketUnmap(port);
  if (port->kind == PortKind::kVxlan) VxlanFree(port);
  if (removePersistent && port->kind == PortKind::kTap) TapClearPersist(port);
  close(port->fd);
  port->fd = -1;
  if (restore && port->broughtUp) {
    // Undoing an attach: the interface goes back down as it was found.
    NetnsGuard ns;
    SysError ignored;
    if (ns.Enter(port->netnsPath, &ignored)) SetDownQuietly(port->ifname);
  }
  if (openCount_ > 0 && --openCount_ == 0) Unref();
}

void Dataplane::CloseAll() {
  for (uint32_t i = 0; i < kMaxPorts; i++) ClosePortInternal(i, false);
}

Napi::Value Dataplane::ClosePort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!CheckIndex(env, info[0], false, &index)) return env.Undefined();
  bool remove = info.Length() > 1 && info[1].ToBoolean().Value();
  bool restore = info.Length() > 2 && info[2].ToBoolean().Value();
  ClosePortInternal(index, remove, restore);
  return env.Undefined();
}

// Folds what only the kernel counts into portStats, now: the AF_PACKET
// rings' drops (PACKET_STATISTICS, which resets on read).
Napi::Value Dataplane::RefreshStats(const Napi::CallbackInfo& info) {
  for (Port* p : ports_)
    if (p && p->kind == PortKind::kPacket) PacketReadDrops(p, portStats_ + static_cast<size_t>(p->index) * kPortStatCount);
  return info.Env().Undefined();
}

Napi::Value Dataplane::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

Napi::Value Dataplane::RefMethod(const Napi::CallbackInfo& info) {
  refed_ = true;
  for (Port* p : ports_)
    if (p) uv_ref(reinterpret_cast<uv_handle_t*>(&p->poll));
  return info.Env().Undefined();
}

// setVlanEgress(untagged): the per-(port, VID) untagged bitmap, kept (a
// reference) and read by every transmit from now on.
Napi::Value Dataplane::SetVlanEgress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[0].As<Napi::TypedArray>().ElementLength() != kVlanUntaggedWords) {
    ThrowType(env, "setVlanEgress(untagged) needs a Uint32Array of " + std::to_string(kVlanUntaggedWords) + " words (4096 VIDs x " +
                       std::to_string(kEgressWords) + ")");
    return env.Undefined();
  }
  Napi::Uint32Array a = info[0].As<Napi::Uint32Array>();
  vlanUntaggedRef_ = Napi::Persistent(Napi::Object(env, a));
  vlanUntagged_ = a.Data();
  return env.Undefined();
}

Napi::Value Dataplane::UnrefMethod(const Napi::CallbackInfo& info) {
  refed_ = false;
  for (Port* p : ports_)
    if (p) uv_unref(reinterpret_cast<uv_handle_t*>(&p->poll));
  return info.Env().Undefined();
}

// The fd reported an error (EPOLLERR). An AF_PACKET socket carries the
// reason in SO_ERROR (ENETDOWN when its device went down; reading it clears
// it) and keeps working once the device is back, so polling restarts. A TAP
// fd whose device was deleted stays in error (TUNGETIFF says EBADFD): its
// receive side ends. Either way TypeScript hears of it through onPortEvent.
void Dataplane::OnPollError(Port* port) {
  dpStats_[kPollErrors] += 1;
  int err = 0;
  bool gone = false;
  if (port->kind != PortKind::kTap) {
    socklen_t len = sizeof(err);
    if (getsockopt(port->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  } else {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(port->fd, TUNGETIFF, &ifr) < 0) {
      err = errno;
      gone = err == EBADFD;
    }
  }
  if (!gone && ++port->pollErrorRun > kMaxPollErrorRun) gone = true;
  if (gone) {
    port->rxStopped = true;
    ReportPortEvent(port->index, "rx-stopped", err ? err : EBADF);
    return;
  }
  int rc = uv_poll_start(&port->poll, UV_READABLE, PollCallback);
  if (rc != 0) {
    port->rxStopped = true;
    ReportPortEvent(port->index, "rx-stopped", -rc);
    return;
  }
  ReportPortEvent(port->index, "rx-error", err);
}

void Dataplane::ReportPortEvent(uint32_t index, const char* type, int err) {
  if (onPortEvent_.IsEmpty()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  const char* code = err ? strerrorname_np(err) : nullptr;
  napi_value argv[3] = {Napi::Number::New(env, index), Napi::String::New(env, type),
                        code ? Napi::String::New(env, code) : env.Undefined()};
  onPortEvent_.MakeCallback(Value(), 3, argv, *asyncContext_);
  if (env.IsExceptionPending()) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    dpStats_[kCallbackErrors] += 1;
  }
}

void Dataplane::OnReadable(Port* port) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object self = Value();
  const uint32_t index = port->index;
  double* stats = portStats_ + static_cast<size_t>(index) * kPortStatCount;
  dpStats_[kWakeups] += 1;
  const RxBatch b{slab_, slotSize_, batchSize_, rxPort_, frameOffset_, frameLength_, stats};
  for (uint32_t round = 0; round < kMaxRounds; round++) {
    uint64_t t0 = NowNs();
    bool more = false;
    uint32_t n = port->kind == PortKind::kTap      ? TapReceive(port, b, &more)
                 : port->kind == PortKind::kVxlan ? VxlanReceive(port, b, &more)
                                                  : PacketReceive(port, b, &more);
    uint64_t t1 = NowNs();
    dpStats_[kRxNanos] += static_cast<double>(t1 - t0);
    if (n == 0) break;
    dpStats_[kBatches] += 1;
    dpStats_[kFrames] += n;
    napi_value argv[1] = {Napi::Number::New(env, n)};
    onBatch_.MakeCallback(self, 1, argv, *asyncContext_);
    dpStats_[kJsNanos] += static_cast<double>(NowNs() - t1);
    if (env.IsExceptionPending()) {
      // Whatever was thrown (an Error, a string, undefined, an object whose
      // getters throw), it is taken off the env here and nothing is left
      // pending: the next batch's callback must run.
      napi_value exc = nullptr;
      napi_get_and_clear_last_exception(env, &exc);
      dpStats_[kCallbackErrors] += 1;
      if (!reportedCallbackError_) {
        reportedCallbackError_ = true;
        std::string text = DescribeThrown(env, exc);
        fprintf(stderr, "tapbridge: onBatch threw (counted in dpStats[6], reported once): %s\n", text.c_str());
      }
    }
    if (ports_[index] != port || !more) break;
  }
}

Napi::Value Dataplane::Transmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowType(env, "transmit(count) needs a number");
    return env.Undefined();
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= batchSize_) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    ThrowRange(env, "transmit: count must be an integer from 0 to batchSize (" + std::to_string(batchSize_) + ")");
    return env.Undefined();
  }
  uint32_t count = static_cast<uint32_t>(d);
  if (count == 0) return env.Undefined();
  uint64_t t0 = NowNs();
  const TxBatch batch{slab_, slotSize_, frameOffset_, frameLength_, egress_, frameTag_, vlanUntagged_};
  for (Port* p : ports_)
    if (p) tx_->Send(p, batch, count, portStats_ + static_cast<size_t>(p->index) * kPortStatCount);
  dpStats_[kTxNanos] += static_cast<double>(NowNs() - t0);
  return env.Undefined();
}

}  // namespace tapbridge
