{
  "targets": [
    {
      "target_name": "unshare_fs",
      "sources": [
        "native/binding.cc",
        "native/core/walker.cc",
        "native/core/server.cc",
        "native/core/worker.cc",
        "native/core/ops.cc",
        "native/core/files.cc",
        "native/core/handles.cc",
        "native/core/change.cc",
        "native/core/request.cc",
        "native/core/tar.cc",
        "native/core/diff.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=gnu++20", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpthread"],
      "ldflags": ["-Wl,-z,nodelete"]
    }
  ]
}
