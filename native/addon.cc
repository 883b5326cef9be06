// Module entry: exports the Dataplane class and the compiled-in constants
// that src/io/native.ts checks against src/io/native-binding.ts at load.
#include <napi.h>

#include "dataplane.h"
#include "peercred.h"
#include "link-watcher.h"
#include "offload-probe.h"
#include "port.h"
#include "transmit.h"
#include "vlan.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace tapbridge;
  exports.Set("Dataplane", Dataplane::Init(env));
  exports.Set("peerCredentials", PeerCredentialsFunction(env));
  exports.Set("LinkWatcher", LinkWatcher::Init(env));
  exports.Set("offload", OffloadProbe(env));
  Napi::Object c = Napi::Object::New(env);
  c.Set("VNET_AREA", kVnetArea);
  c.Set("HEADROOM", kHeadroom);
  c.Set("VNET_HDR_LEN", kVnetHdrLen);
  c.Set("MAX_PORTS", kMaxPorts);
  c.Set("VLAN_UNTAGGED_WORDS", kVlanUntaggedWords);
  c.Set("EGRESS_WORDS", kEgressWords);
  c.Set("PORT_STAT_COUNT", kPortStatCount);
  c.Set("DP_STAT_COUNT", kDpStatCount);
  c.Set("DP_STAT_CALLBACK_ERRORS", static_cast<uint32_t>(kCallbackErrors));
  c.Set("DP_STAT_POLL_ERRORS", static_cast<uint32_t>(kPollErrors));
  c.Set("MAX_BATCH_SIZE", kMaxBatch);
  c.Set("MIN_SLOT_SIZE", kMinSlotSize);
  c.Set("MAX_ROUNDS_PER_WAKEUP", 8u);
  c.Set("TX_QUEUE_CAPACITY", Transmitter::kQueueCap);
  c.Set("TX_MAX_FRAME", Transmitter::kMaxFrame);
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(tapbridge, Init)
