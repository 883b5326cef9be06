{
  "targets": [
    {
      "target_name": "tapbridge",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/addon.cc",
            "native/dataplane.cc",
            "native/tap.cc",
            "native/tap-uring.cc",
            "native/packet.cc",
            "native/packet-mmsg.cc",
            "native/packet-v2.cc",
            "native/netns.cc",
            "native/gso.cc",
            "native/vlan.cc",
            "native/transmit.cc",
            "native/offload-probe.cc",
            "native/peercred.cc",
            "native/rtnl.cc",
            "native/port-policy.cc",
            "native/link-watcher.cc",
            "native/js-errors.cc",
            "native/vxlan.cc",
            "native/vxlan-napi.cc"
          ]
        }]
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-fvisibility=hidden", "-O2", "-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"]
    }
  ]
}
