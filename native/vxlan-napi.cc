// The Dataplane's VXLAN methods (declared in dataplane.h): open a VXLAN
// port, add remotes and mark them for flooding, list remotes with their
// counters, install the VID → VNI map. Arguments are checked again here,
// though TypeScript (src/ports/vxlan-port.ts) checks them first.
#include <string>

#include "dataplane.h"
#include "js-errors.h"
#include "vxlan.h"

namespace tapbridge {

namespace {

void ThrowInvalid(Napi::Env env, const std::string& msg) {
  Napi::TypeError err = Napi::TypeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "EINVAL"));
  err.ThrowAsJavaScriptException();
}

bool OptionalInt(Napi::Object o, const char* key, double min, double max, double* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d)) || d < min || d > max) return false;
  *out = d;
  return true;
}

}  // namespace

Port* Dataplane::VxlanPortArg(const Napi::CallbackInfo& info, const char* where) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!CheckIndex(env, info[0], false, &index)) return nullptr;
  Port* p = ports_[index];
  if (!p || p->kind != PortKind::kVxlan) {
    ThrowInvalid(env, std::string(where) + ": port index " + std::to_string(index) + " is not an open VXLAN port");
    return nullptr;
  }
  return p;
}

// openVxlan(index, { local, port, vni, netnsPath?, udpCsum?, rcvbuf?, sndbuf? })
Napi::Value Dataplane::OpenVxlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t index;
  if (!CheckIndex(env, info[0], true, &index)) return env.Undefined();
  if (!info[1].IsObject()) {
    ThrowInvalid(env, "openVxlan(index, options) needs an options object with local, port and vni");
    return env.Undefined();
  }
  Napi::Object o = info[1].As<Napi::Object>();
  VxlanOptions v;
  double udpPort = 4789, vni = -1, rcv = v.rcvbuf, snd = v.sndbuf;
  Napi::Value local = o.Get("local"), ns = o.Get("netnsPath"), csum = o.Get("udpCsum");
  if (!local.IsString() || !(ns.IsUndefined() || ns.IsString()) || !(csum.IsUndefined() || csum.IsBoolean()) ||
      !OptionalInt(o, "port", 1, 65535, &udpPort) || !OptionalInt(o, "vni", 0, 0xffffff, &vni) || vni < 0 ||
      !OptionalInt(o, "rcvbuf", 1, 0x7fffffff, &rcv) || !OptionalInt(o, "sndbuf", 1, 0x7fffffff, &snd)) {
    ThrowInvalid(env, "openVxlan: options need local (an address), vni (0-16777215), and optionally port (1-65535), netnsPath, udpCsum, rcvbuf, sndbuf");
    return env.Undefined();
  }
  v.local = local.As<Napi::String>().Utf8Value();
  if (ns.IsString()) v.netnsPath = ns.As<Napi::String>().Utf8Value();
  if (csum.IsBoolean()) v.udpCsum = csum.As<Napi::Boolean>().Value();
  v.port = static_cast<uint16_t>(udpPort);
  v.vni = static_cast<uint32_t>(vni);
  v.rcvbuf = static_cast<int>(rcv);
  v.sndbuf = static_cast<int>(snd);
  Port* port = new Port;
  port->index = index;
  SysError e;
  OpenedInfo oi;
  if (!VxlanOpen(v, port, &oi, &e)) {
    delete port;
    ThrowSys(env, e);
    return env.Undefined();
  }
  return StartPort(env, port, oi);
}

// vxlanRemote(index, address, flood?) → id: the remote's id (added if new);
// flood true/false puts it on / takes it off the flood list.
Napi::Value Dataplane::VxlanRemote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Port* p = VxlanPortArg(info, "vxlanRemote");
  if (!p) return env.Undefined();
  VxlanState& s = *p->vxlan;
  struct sockaddr_storage addr;
  socklen_t len = 0;
  const std::string text = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (!VxlanParseAddress(s, text, &addr, &len)) {
    ThrowInvalid(env, "remote \"" + text + "\" is not an " + (s.family == AF_INET6 ? "IPv6" : "IPv4") +
                          " address (a VXLAN port's remotes are of its local address's family)");
    return env.Undefined();
  }
  const int id = VxlanRemoteId(s, addr, len, false);
  if (id < 0) {
    Napi::Error err = Napi::Error::New(env, "the VXLAN port has " + std::to_string(kVxlanMaxRemotes) + " remotes, the most it can hold");
    err.Set("code", Napi::String::New(env, "ENOSPC"));
    err.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  s.remotes[id].learned = false;  // configured now, whether or not it was heard from before
  if (info.Length() > 2 && info[2].IsBoolean()) VxlanSetFlood(s, static_cast<uint32_t>(id), info[2].As<Napi::Boolean>().Value());
  return Napi::Number::New(env, id);
}

// vxlanJoinGroup(index, group) → id: joins the multicast group on the
// underlay interface and makes it a flood remote (floods go to the group).
Napi::Value Dataplane::VxlanJoinGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Port* p = VxlanPortArg(info, "vxlanJoinGroup");
  if (!p) return env.Undefined();
  VxlanState& s = *p->vxlan;
  struct sockaddr_storage addr;
  socklen_t len = 0;
  const std::string text = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (!VxlanParseAddress(s, text, &addr, &len)) {
    ThrowInvalid(env, "group \"" + text + "\" is not an address of the local address's family");
    return env.Undefined();
  }
  SysError e;
  if (!::tapbridge::VxlanJoinGroup(p, addr, &e)) {
    ThrowSys(env, e);
    return env.Undefined();
  }
  const int id = VxlanRemoteId(s, addr, len, false);
  if (id < 0) {
    ThrowInvalid(env, "the VXLAN port's remote table is full");
    return env.Undefined();
  }
  s.remotes[id].learned = false;
  VxlanSetFlood(s, static_cast<uint32_t>(id), true);
  return Napi::Number::New(env, id);
}

// vxlanRemotes(index) → [{ id, address, flood, learned, rxPackets, rxBytes, txPackets, txBytes }]
Napi::Value Dataplane::VxlanRemotes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Port* p = VxlanPortArg(info, "vxlanRemotes");
  if (!p) return env.Undefined();
  const VxlanState& s = *p->vxlan;
  Napi::Array out = Napi::Array::New(env, s.remoteCount);
  for (uint32_t id = 0; id < s.remoteCount; id++) {
    const ::tapbridge::VxlanRemote& r = s.remotes[id];
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", id);
    o.Set("address", VxlanFormatAddress(r));
    o.Set("flood", r.flood);
    o.Set("learned", r.learned);
    o.Set("rxPackets", r.rxPackets);
    o.Set("rxBytes", r.rxBytes);
    o.Set("txPackets", r.txPackets);
    o.Set("txBytes", r.txBytes);
    out.Set(id, o);
  }
  return out;
}

// vxlanSetVniMap(index, Uint32Array(4096) | null): per VID the VNI its frames leave with (0: not carried).
Napi::Value Dataplane::VxlanSetVniMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Port* p = VxlanPortArg(info, "vxlanSetVniMap");
  if (!p) return env.Undefined();
  if (info[1].IsNull() || info[1].IsUndefined()) {
    ::tapbridge::VxlanSetVniMap(*p->vxlan, nullptr);
    return env.Undefined();
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() != 4096) {
    ThrowInvalid(env, "vxlanSetVniMap(index, map) needs a Uint32Array of 4096 VNIs (one per VID) or null");
    return env.Undefined();
  }
  ::tapbridge::VxlanSetVniMap(*p->vxlan, info[1].As<Napi::Uint32Array>().Data());
  return env.Undefined();
}

// vxlanStats(index) → { rxRemoteFull, rxTruncated, txNoRemote, txNoVni, remotes }
Napi::Value Dataplane::VxlanStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Port* p = VxlanPortArg(info, "vxlanStats");
  if (!p) return env.Undefined();
  const VxlanState& s = *p->vxlan;
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxRemoteFull", s.stats.rxRemoteFull);
  o.Set("rxTruncated", s.stats.rxTruncated);
  o.Set("txNoRemote", s.stats.txNoRemote);
  o.Set("txNoVni", s.stats.txNoVni);
  o.Set("remotes", s.remoteCount);
  return o;
}

}  // namespace tapbridge
