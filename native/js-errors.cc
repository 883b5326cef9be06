// See js-errors.h.
#include "js-errors.h"

#include <cstring>

namespace tapbridge {

void ThrowSys(Napi::Env env, const SysError& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  const char* name = strerrorname_np(e.err);
  err.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  err.Set("errno", Napi::Number::New(env, e.err));
  err.Set("syscall", Napi::String::New(env, e.syscall));
  err.ThrowAsJavaScriptException();
}

}  // namespace tapbridge
