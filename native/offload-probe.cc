// The software offload functions (gso.cc), callable from JavaScript on
// plain buffers, for tests: exported as `offload` ({ plan, segment,
// complete }). Not on any data path; each call allocates its result.
#include "offload-probe.h"

#include <memory>
#include <vector>

#include "gso.h"
#include "port.h"

namespace tapbridge {

namespace {

bool Args(const Napi::CallbackInfo& info, const uint8_t** vnet, const uint8_t** frame, uint32_t* len) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
    Napi::TypeError::New(env, "offload probe: (vnetHeader: Uint8Array(10), frame: Uint8Array)").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array v = info[0].As<Napi::Uint8Array>();
  Napi::Uint8Array f = info[1].As<Napi::Uint8Array>();
  if (v.ElementLength() < kVnetHdrLen) {
    Napi::RangeError::New(env, "offload probe: the virtio-net header needs 10 bytes").ThrowAsJavaScriptException();
    return false;
  }
  *vnet = v.Data();
  *frame = f.Data();
  *len = static_cast<uint32_t>(f.ElementLength());
  return true;
}

// plan(vnet, frame): null when not segmentable, else { tunnelled, hdrs, l4, segments }.
Napi::Value Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t *vnet, *frame;
  uint32_t len;
  if (!Args(info, &vnet, &frame, &len)) return env.Undefined();
  GsoPlan p;
  if (!GsoPlanFrame(vnet, frame, len, &p)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("tunnelled", p.tunnelled);
  o.Set("hdrs", p.hdrs);
  o.Set("l4", p.l4);
  o.Set("segments", GsoSegmentCount(p, len));
  return o;
}

// segment(vnet, frame): the segments as Uint8Arrays, or null when not segmentable.
Napi::Value Segment_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t *vnet, *frame;
  uint32_t len;
  if (!Args(info, &vnet, &frame, &len)) return env.Undefined();
  GsoPlan p;
  if (!GsoPlanFrame(vnet, frame, len, &p)) return env.Null();
  const uint32_t count = GsoSegmentCount(p, len);
  std::vector<uint8_t> out(GsoOutputSize(p, len));
  std::vector<Segment> segs(count);
  uint32_t n = 0;
  if (GsoSegment(p, frame, len, out.data(), out.size(), segs.data(), count, &n) != GsoResult::kOk) return env.Null();
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) a.Set(i, Napi::Buffer<uint8_t>::Copy(env, out.data() + segs[i].offset, segs[i].length));
  return a;
}

// complete(vnet, frame): the frame with its partial checksum completed, or null.
Napi::Value Complete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t *vnet, *frame;
  uint32_t len;
  if (!Args(info, &vnet, &frame, &len)) return env.Undefined();
  std::vector<uint8_t> out(len);
  if (!CompleteChecksum(vnet, frame, len, out.data())) return env.Null();
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), len);
}

}  // namespace

Napi::Object OffloadProbe(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("plan", Napi::Function::New(env, Plan, "plan"));
  o.Set("segment", Napi::Function::New(env, Segment_, "segment"));
  o.Set("complete", Napi::Function::New(env, Complete, "complete"));
  return o;
}

}  // namespace tapbridge
