// Test access to the software offload functions; see offload-probe.cc.
#pragma once

#include <napi.h>

namespace tapbridge {

Napi::Object OffloadProbe(Napi::Env env);

}  // namespace tapbridge
