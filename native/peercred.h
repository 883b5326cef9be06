// peerCredentials(fd) → { pid, uid, gid, groups }: SO_PEERCRED and SO_PEERGROUPS.
#pragma once

#include <napi.h>

namespace tapbridge {

Napi::Function PeerCredentialsFunction(Napi::Env env);

}  // namespace tapbridge
