{
  "targets": [
    {
      "target_name": "stalepin_pcap",
      "sources": ["pcap_live.c"],
      "libraries": ["-lpcap"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
