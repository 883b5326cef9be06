// Turning a SysError (port.h) into a thrown JavaScript Error with the stable
// fields errors.ts reads: code (the errno name), errno, syscall.
#pragma once

#include <napi.h>

#include "port.h"

namespace tapbridge {

void ThrowSys(Napi::Env env, const SysError& e);

}  // namespace tapbridge
