/*
 * stalepin's libpcap binding for live capture: what `stalepin watch` needs and the `cap` package
 * does not give (see native/README.md):
 *
 * - packets are handed to JavaScript in batches, many per call, copied into one ArrayBuffer as
 *   records [u32 sec][u32 nsec][u32 caplen][u32 len][caplen bytes, padded to 4];
 * - the timestamps are libpcap's own, in nanoseconds;
 * - the snap length and kernel buffer are the caller's, and immediate mode is off, so Linux
 *   uses TPACKET_V3 and packs packets by their real size (a 32 MiB buffer holds ~80,000 SIP
 *   datagrams, where a 64 KiB slot per packet held 512); the read timeout bounds the delay;
 * - pcap_stats: packets received and dropped by the kernel and by the interface.
 *
 * One handle per interface. The poll callback runs on the Node main thread, so no locking. A
 * capture that fails (the interface went away) stops and says so once: onBatch(0, 0, message).
 */
#include <node_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define REC_HEADER 16

typedef struct {
  pcap_t *p;
  uv_poll_t poll;
  napi_env env;
  napi_ref self;     /* the JS handle object, kept alive while polling */
  napi_ref callback; /* onBatch(count, bytes) */
  napi_ref buffer;   /* the ArrayBuffer records are written to */
  uint8_t *data;
  size_t cap;
  size_t used;
  uint32_t count;
  int snaplen;
  int polling;
  int dispatching;
  int closing;
} handle_t;

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "stalepin_pcap: internal N-API failure"); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  handle_t *hd = (handle_t *)user;
  uint32_t cl = h->caplen;
  size_t need = REC_HEADER + ((cl + 3u) & ~3u);
  /* The dispatch count guarantees room; this guards against a caplen above the snap length. */
  if (hd->used + need > hd->cap) return;
  uint32_t *w = (uint32_t *)(hd->data + hd->used);
  w[0] = (uint32_t)h->ts.tv_sec;
  w[1] = (uint32_t)h->ts.tv_usec; /* nanoseconds when the handle's precision is 9 */
  w[2] = cl;
  w[3] = h->len;
  memcpy(hd->data + hd->used + REC_HEADER, bytes, cl);
  hd->used += need;
  hd->count++;
}

static void close_done(uv_handle_t *uvh) {
  handle_t *hd = (handle_t *)uvh->data;
  if (hd->p) pcap_close(hd->p);
  hd->p = NULL;
  free(hd);
}

/* Stop polling and let go of the JS objects; the handle is freed once libuv is done with it. */
static void shut(handle_t *hd) {
  napi_env env = hd->env;
  if (hd->callback) napi_delete_reference(env, hd->callback);
  if (hd->buffer) napi_delete_reference(env, hd->buffer);
  hd->callback = hd->buffer = NULL;
  hd->data = NULL;
  if (hd->polling) {
    uv_poll_stop(&hd->poll);
    hd->polling = 0;
    uv_close((uv_handle_t *)&hd->poll, close_done);
  } else {
    if (hd->p) pcap_close(hd->p);
    hd->p = NULL;
    free(hd);
  }
}

/*
 * Call onBatch(count, bytes[, error]) on the main thread. Returns 0 when onBatch closed the
 * handle (it is gone then).
 */
static int invoke(handle_t *hd, uint32_t count, uint32_t bytes, const char *error) {
  napi_env env = hd->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 1;
  napi_value cb, recv, argv[3];
  napi_get_reference_value(env, hd->callback, &cb);
  napi_get_reference_value(env, hd->self, &recv);
  napi_create_uint32(env, count, &argv[0]);
  napi_create_uint32(env, bytes, &argv[1]);
  if (error) napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &argv[2]);
  hd->dispatching = 1;
  napi_status st = napi_call_function(env, recv, cb, error ? 3 : 2, argv, NULL);
  hd->dispatching = 0;
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
  if (hd->closing) {
    napi_delete_reference(env, hd->self);
    hd->self = NULL;
    shut(hd);
    return 0;
  }
  return 1;
}

/* Hand the batch to JavaScript. Returns 0 when the handle was closed meanwhile. */
static int deliver(handle_t *hd) {
  if (hd->count == 0) return 1;
  uint32_t count = hd->count;
  size_t used = hd->used;
  hd->count = 0;
  hd->used = 0;
  return invoke(hd, count, (uint32_t)used, NULL);
}

/*
 * The capture failed (the interface went away, the socket broke): stop polling, or a broken
 * descriptor would wake the loop forever, and tell JavaScript once, as onBatch(0, 0, message).
 */
static void fail(handle_t *hd, const char *msg) {
  uv_poll_stop(&hd->poll);
  invoke(hd, 0, 0, msg);
}

/* Readable: drain what the kernel has, a bounded amount per wake-up so timers still run. */
static void on_readable(uv_poll_t *poll, int status, int events) {
  handle_t *hd = (handle_t *)poll->data;
  if (hd->closing) return;
  if (status < 0) {
    /* libuv says only "bad file descriptor" for POLLERR; libpcap can usually say what happened. */
    char msg[PCAP_ERRBUF_SIZE + 64];
    if (pcap_dispatch(hd->p, 1, on_packet, (u_char *)hd) < 0) snprintf(msg, sizeof msg, "%s", pcap_geterr(hd->p));
    else snprintf(msg, sizeof msg, "the capture socket failed (%s); the interface may have gone away", uv_strerror(status));
    if (!deliver(hd)) return;
    fail(hd, msg);
    return;
  }
  if (!(events & UV_READABLE)) return;
  size_t slot = REC_HEADER + (((size_t)hd->snaplen + 3u) & ~(size_t)3u);
  long total = 0;
  for (;;) {
    int room = (int)((hd->cap - hd->used) / slot);
    if (room <= 0) {
      if (!deliver(hd)) return;
      continue;
    }
    int n = pcap_dispatch(hd->p, room, on_packet, (u_char *)hd);
    if (n < 0) {
      char msg[PCAP_ERRBUF_SIZE];
      snprintf(msg, sizeof msg, "%s", pcap_geterr(hd->p));
      if (!deliver(hd)) return;
      fail(hd, msg);
      return;
    }
    if (n == 0) break; /* nothing more for now */
    total += n;
    if (total >= 200000) break;
  }
  deliver(hd);
}

/* A handle dropped without close(): only possible before start() (a started one is referenced). */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  handle_t *hd = (handle_t *)data;
  if (hd->polling) return;
  if (hd->p) pcap_close(hd->p);
  free(hd);
}

/* open(device, filter, snaplen, bufferBytes, timeoutMs, promisc) -> handle */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_msg(env, "open(device, filter, snaplen, bufferBytes, timeoutMs, promisc)");
  char dev[256], filter[8192];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], dev, sizeof dev, &len) != napi_ok) return throw_msg(env, "device must be a string");
  if (napi_get_value_string_utf8(env, argv[1], filter, sizeof filter, &len) != napi_ok) return throw_msg(env, "filter must be a string");
  if (len >= sizeof filter - 1) return throw_msg(env, "filter: longer than 8 KiB");
  int32_t snaplen, bufbytes, timeout;
  bool promisc;
  CHECK(napi_get_value_int32(env, argv[2], &snaplen));
  CHECK(napi_get_value_int32(env, argv[3], &bufbytes));
  CHECK(napi_get_value_int32(env, argv[4], &timeout));
  CHECK(napi_get_value_bool(env, argv[5], &promisc));

  char err[PCAP_ERRBUF_SIZE] = "";
  pcap_t *p = pcap_create(dev, err);
  if (!p) return throw_msg(env, err);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc ? 1 : 0);
  pcap_set_buffer_size(p, bufbytes);
  pcap_set_timeout(p, timeout);
  /* Not every device offers nanoseconds; then the stamps are microseconds (see "precision"). */
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  int rc = pcap_activate(p);
  if (rc < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    const char *why = pcap_geterr(p);
    snprintf(msg, sizeof msg, "%s%s%s", pcap_statustostr(rc), why && *why ? ": " : "", why ? why : "");
    pcap_close(p);
    return throw_msg(env, msg);
  }
  if (pcap_setnonblock(p, 1, err) < 0) {
    pcap_close(p);
    return throw_msg(env, err);
  }
  if (filter[0]) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 || pcap_setfilter(p, &prog) < 0) {
      char msg[PCAP_ERRBUF_SIZE + 32];
      snprintf(msg, sizeof msg, "filter: %s", pcap_geterr(p));
      pcap_close(p);
      return throw_msg(env, msg);
    }
    pcap_freecode(&prog);
  }
  handle_t *hd = calloc(1, sizeof *hd);
  if (!hd) {
    pcap_close(p);
    return throw_msg(env, "out of memory");
  }
  hd->p = p;
  hd->env = env;
  hd->snaplen = pcap_snapshot(p);
  CHECK(napi_create_object(env, &self));
  CHECK(napi_wrap(env, self, hd, finalize, NULL, NULL));
  napi_value v;
  CHECK(napi_create_int32(env, pcap_datalink(p), &v));
  CHECK(napi_set_named_property(env, self, "dlt", v));
  CHECK(napi_create_int32(env, hd->snaplen, &v));
  CHECK(napi_set_named_property(env, self, "snaplen", v));
  CHECK(napi_create_int32(env, pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 9 : 6, &v));
  CHECK(napi_set_named_property(env, self, "precision", v));
  return self;
}

static handle_t *unwrap(napi_env env, napi_value obj) {
  void *hd = NULL;
  if (napi_unwrap(env, obj, &hd) != napi_ok || !hd) {
    napi_throw_error(env, NULL, "not an open capture handle");
    return NULL;
  }
  return (handle_t *)hd;
}

/* start(handle, arrayBuffer, onBatch): poll the handle, records go to arrayBuffer. */
static napi_value Start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_msg(env, "start(handle, arrayBuffer, onBatch)");
  handle_t *hd = unwrap(env, argv[0]);
  if (!hd) return NULL;
  if (hd->polling || hd->closing) return throw_msg(env, "capture already started or closed");
  void *data;
  size_t cap;
  if (napi_get_arraybuffer_info(env, argv[1], &data, &cap) != napi_ok) return throw_msg(env, "records: an ArrayBuffer");
  if (cap < REC_HEADER + (size_t)hd->snaplen + 4) return throw_msg(env, "records: smaller than one packet at the snap length");
  int fd = pcap_get_selectable_fd(hd->p);
  if (fd < 0) return throw_msg(env, "this device cannot be polled");
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[0], 1, &hd->self));
  CHECK(napi_create_reference(env, argv[1], 1, &hd->buffer));
  CHECK(napi_create_reference(env, argv[2], 1, &hd->callback));
  hd->data = data;
  hd->cap = cap;
  if (uv_poll_init(loop, &hd->poll, fd) != 0) return throw_msg(env, "uv_poll_init failed");
  hd->poll.data = hd;
  if (uv_poll_start(&hd->poll, UV_READABLE, on_readable) != 0) return throw_msg(env, "uv_poll_start failed");
  hd->polling = 1;
  return NULL;
}

/* stats(handle) -> { received, dropped, ifDropped } (libpcap's counters since open). */
static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t *hd = unwrap(env, argv[0]);
  if (!hd) return NULL;
  if (!hd->p || hd->closing) return throw_msg(env, "capture closed");
  struct pcap_stat st;
  if (pcap_stats(hd->p, &st) < 0) return throw_msg(env, pcap_geterr(hd->p));
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_double(env, (double)st.ps_recv, &v));
  CHECK(napi_set_named_property(env, out, "received", v));
  CHECK(napi_create_double(env, (double)st.ps_drop, &v));
  CHECK(napi_set_named_property(env, out, "dropped", v));
  CHECK(napi_create_double(env, (double)st.ps_ifdrop, &v));
  CHECK(napi_set_named_property(env, out, "ifDropped", v));
  return out;
}

/* close(handle): idempotent; safe from inside onBatch. */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *raw = NULL;
  if (napi_remove_wrap(env, argv[0], &raw) != napi_ok || !raw) return NULL;
  handle_t *hd = (handle_t *)raw;
  hd->closing = 1;
  if (hd->dispatching) return NULL; /* deliver() finishes the job when onBatch returns */
  if (hd->self) napi_delete_reference(env, hd->self);
  hd->self = NULL;
  shut(hd);
  return NULL;
}

/* devices() -> names libpcap can open. */
static napi_value Devices(napi_env env, napi_callback_info info) {
  (void)info;
  pcap_if_t *all = NULL;
  char err[PCAP_ERRBUF_SIZE];
  if (pcap_findalldevs(&all, err) < 0) return throw_msg(env, err);
  napi_value arr, s;
  CHECK(napi_create_array(env, &arr));
  uint32_t i = 0;
  for (pcap_if_t *d = all; d; d = d->next) {
    if (napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_element(env, arr, i++, s);
  }
  pcap_freealldevs(all);
  return arr;
}

static napi_value Version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  CHECK(napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &s));
  return s;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, Stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"devices", NULL, Devices, NULL, NULL, NULL, napi_default, NULL},
      {"version", NULL, Version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
