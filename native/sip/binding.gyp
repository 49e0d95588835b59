{
  "targets": [
    {
      "target_name": "stalepin_sip",
      "sources": ["sip_parse.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
