// The JS-visible Dataplane class: owns the slab and descriptor arrays, the
// ports (TAP / AF_PACKET) and their uv_poll handles, runs receive batches and
// calls onBatch once per batch, and implements transmit().
#pragma once

#include <napi.h>

#include <memory>

#include "packet.h"
#include "port.h"
#include "transmit.h"

namespace tapbridge {

class Dataplane : public Napi::ObjectWrap<Dataplane> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Dataplane(const Napi::CallbackInfo& info);
  ~Dataplane() override;

  void OnReadable(Port* port);
  void OnPollError(Port* port);

 private:
  Napi::Value OpenTap(const Napi::CallbackInfo& info);
  Napi::Value OpenPacket(const Napi::CallbackInfo& info);
  Napi::Value ClosePort(const Napi::CallbackInfo& info);
  Napi::Value RefreshStats(const Napi::CallbackInfo& info);
  Napi::Value Transmit(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value RefMethod(const Napi::CallbackInfo& info);
  Napi::Value UnrefMethod(const Napi::CallbackInfo& info);
  Napi::Value SetVlanEgress(const Napi::CallbackInfo& info);
  // VXLAN ports (vxlan-napi.cc).
  Napi::Value OpenVxlan(const Napi::CallbackInfo& info);
  Napi::Value VxlanRemote(const Napi::CallbackInfo& info);
  Napi::Value VxlanRemotes(const Napi::CallbackInfo& info);
  Napi::Value VxlanSetVniMap(const Napi::CallbackInfo& info);
  Napi::Value VxlanStats(const Napi::CallbackInfo& info);
  Napi::Value VxlanJoinGroup(const Napi::CallbackInfo& info);
  // The open VXLAN port at info[0], or null (with a JS exception).
  struct Port* VxlanPortArg(const Napi::CallbackInfo& info, const char* where);

  Napi::Value GetSlab(const Napi::CallbackInfo&) { return slabRef_.Value(); }
  Napi::Value GetRxPort(const Napi::CallbackInfo&) { return rxPortRef_.Value(); }
  Napi::Value GetFrameOffset(const Napi::CallbackInfo&) { return frameOffsetRef_.Value(); }
  Napi::Value GetFrameLength(const Napi::CallbackInfo&) { return frameLengthRef_.Value(); }
  Napi::Value GetEgress(const Napi::CallbackInfo&) { return egressRef_.Value(); }
  Napi::Value GetFrameTag(const Napi::CallbackInfo&) { return frameTagRef_.Value(); }
  Napi::Value GetPortStats(const Napi::CallbackInfo&) { return portStatsRef_.Value(); }
  Napi::Value GetDpStats(const Napi::CallbackInfo&) { return dpStatsRef_.Value(); }

  // Checks the port index argument; throws and returns false when unusable.
  bool CheckIndex(Napi::Env env, const Napi::Value& v, bool mustBeFree, uint32_t* index);
  Napi::Value StartPort(Napi::Env env, Port* port, const struct OpenedInfo& info);
  // restore: the open is being undone; a device it set up goes down again.
  void ClosePortInternal(uint32_t index, bool removePersistent, bool restore = false);
  void CloseAll();
  // onPortEvent(index, type, code): "rx-error" (polling restarted) or "rx-stopped".
  void ReportPortEvent(uint32_t index, const char* type, int err);
  static void CleanupHook(void* arg);

  uv_loop_t* loop_ = nullptr;
  bool cleanupHookAdded_ = false;
  bool refed_ = true;
  uint32_t openCount_ = 0;
  uint32_t batchSize_ = 0;
  uint32_t slotSize_ = 0;
  size_t slabSize_ = 0;
  bool reportedCallbackError_ = false;

  uint8_t* slab_ = nullptr;
  uint16_t* rxPort_ = nullptr;
  uint32_t* frameOffset_ = nullptr;
  uint32_t* frameLength_ = nullptr;
  uint32_t* egress_ = nullptr;
  uint32_t* frameTag_ = nullptr;
  // VLAN egress: the per-(port, VID) untagged bitmap owned by TypeScript (vlan.h); null until set.
  const uint32_t* vlanUntagged_ = nullptr;
  double* portStats_ = nullptr;
  double* dpStats_ = nullptr;

  Napi::Reference<Napi::ArrayBuffer> slabRef_;
  Napi::ObjectReference rxPortRef_, frameOffsetRef_, frameLengthRef_, egressRef_, portStatsRef_, dpStatsRef_;
  Napi::ObjectReference frameTagRef_, vlanUntaggedRef_;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onPortEvent_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;

  Port* ports_[kMaxPorts] = {};

  std::unique_ptr<Transmitter> tx_;
};

}  // namespace tapbridge
