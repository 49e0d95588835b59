/*
 * stalepin's SIP header parser in C: the fast path of src/sip/parser.ts for messages with
 * nothing wrong in them.
 *
 * It finds the same fields at the same byte offsets as parseSipMessage in src/sip/parser.ts
 * and writes them as integers to an Int32Array; the JavaScript side turns the spans into
 * strings. It does not count anomalies: at the first thing the JavaScript parser would count
 * as one (or anything this file leaves out, like folded lines or duplicate headers) it gives
 * up with SLOW and the JavaScript parser parses the message instead. So on every message it
 * accepts, the result must equal the JavaScript parser's, and test/sip/native-parser.test.ts
 * checks exactly that, on real captures and on mutated messages.
 *
 * The layout of the output array is mirrored in src/sip/native-parser.ts (enum Out).
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, SLOW = 3 };

/* Output slots; keep in step with src/sip/native-parser.ts. */
enum {
  O_STATUS = 0,
  O_IS_REQUEST,
  O_METHOD_S,
  O_METHOD_E,
  O_STATUS_CODE,
  O_CALLID_S,
  O_CALLID_E,
  O_CSEQ_NUM,
  O_CSEQ_MS,
  O_CSEQ_ME,
  O_FROMTAG_S,
  O_FROMTAG_E,
  O_TOTAG_S,
  O_TOTAG_E,
  O_MAX_FORWARDS,
  O_CONTENT_LENGTH,
  O_BODY_OFF,
  O_BODY_LEN,
  O_HEADER_COUNT,
  O_VIA_COUNT,
  O_CONTACT_LINES,
  O_CALLID_CODE, /* intern codes: see intern() */
  O_FROMTAG_CODE,
  O_TOTAG_CODE,
  O_SPANS = 24,                    /* 11 spans, start and end: the Span enum of message.ts */
  O_CONTACTS = O_SPANS + 22,       /* 16 contact value spans */
  O_HSPANS = O_CONTACTS + 32,      /* 256 headers: name start, end, value start, end */
  O_VIA = O_HSPANS + 4 * 256,      /* 32 hops of VIA_INTS */
  VIA_INTS = 13,                   /* transport s/e, host s/e, port, branch s/e, rport, received s/e, and the codes of host, branch, received */
  O_SIZE = O_VIA + 32 * VIA_INTS
};

/* SIP_LIMITS of src/sip/message.ts */
#define MAX_MESSAGE 65535
#define MAX_HEADERS 256
#define MAX_LINE 16384
#define MAX_VIA 32
#define MAX_CONTACTS 16

enum { SPAN_REQUEST_URI = 0, SPAN_VERSION, SPAN_REASON, SPAN_FROM_URI, SPAN_TO_URI, SPAN_FROM_NAME, SPAN_TO_NAME, SPAN_CONTENT_TYPE, SPAN_USER_AGENT, SPAN_SERVER, SPAN_CSEQ, SPAN_COUNT };

enum { H_OTHER = 0, H_VIA, H_CALLID, H_CSEQ, H_FROM, H_TO, H_CONTACT, H_MAXF, H_CLEN, H_CTYPE, H_UA, H_SERVER };

static uint8_t TOKEN[256];

/*
 * Strings the JavaScript side made lately, by slot: the C half of a direct-mapped cache whose
 * JavaScript half (the strings themselves) lives in parser.ts. For a span, intern() says which
 * slot it maps to and whether that slot already holds these very bytes (then JavaScript reuses
 * its string without looking at the bytes) or now holds them (then JavaScript decodes the span
 * and must store the string in that slot). One table per JavaScript environment (worker), reset
 * by setOutput.
 */
#define INTERN_BITS 13
#define INTERN_SLOTS (1 << INTERN_BITS)
#define INTERN_MAX 128
#define CODE_HIT 0x10000
_Static_assert(INTERN_SLOTS <= CODE_HIT, "a slot number fits below the hit flag");
typedef struct {
  int32_t *out;
  /* bindHandoff()'s slots and ring (NULL: not bound). */
  void *hslots;
  uint8_t *hto;
  size_t htoLength;
  uint32_t hash[INTERN_SLOTS];
  int16_t len[INTERN_SLOTS]; /* -1: empty */
  uint8_t fold[INTERN_SLOTS];
  uint8_t bytes[INTERN_SLOTS][INTERN_MAX];
} Env;

/* Fold: 0 none, 1 lower (as JavaScript's Fold enum); part of the key, since the string differs. */
static int32_t intern(Env *env, const uint8_t *b, int32_t s, int32_t e, int fold) {
  int32_t n = e - s;
  if (n <= 0 || n > INTERN_MAX) return -1;
  uint32_t h = 0x811c9dc5u ^ (uint32_t)fold;
  for (int32_t i = s; i < e; i++) {
    uint8_t c = b[i];
    /* Non-ASCII and line breaks take JavaScript's own path (UTF-8 decoding, folding). */
    if (c >= 0x80 || c == '\n' || c == '\r') return -1;
    h = (h ^ c) * 0x01000193u;
  }
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  uint32_t slot = h >> (32 - INTERN_BITS);
  if (env->hash[slot] == h && env->len[slot] == n && env->fold[slot] == fold && memcmp(env->bytes[slot], b + s, (size_t)n) == 0)
    return (int32_t)slot | CODE_HIT;
  env->hash[slot] = h;
  env->len[slot] = (int16_t)n;
  env->fold[slot] = (uint8_t)fold;
  memcpy(env->bytes[slot], b + s, (size_t)n);
  return (int32_t)slot;
}

static void intern_reset(Env *env) {
  for (int i = 0; i < INTERN_SLOTS; i++) env->len[i] = -1;
}

static inline int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static inline int lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int eq_name(const uint8_t *b, int32_t s, const char *low, int n) {
  for (int i = 0; i < n; i++)
    if (lower(b[s + i]) != (uint8_t)low[i]) return 0;
  return 1;
}

static int32_t skip_ws(const uint8_t *b, int32_t p, int32_t e) {
  while (p < e && is_ws(b[p])) p++;
  return p;
}

static int32_t skip_token(const uint8_t *b, int32_t p, int32_t e) {
  while (p < e && TOKEN[b[p]]) p++;
  return p;
}

/* Decimal digits from p: the value, -1 when none, -2 above max; *end after the digits. */
static int64_t digits(const uint8_t *b, int32_t p, int32_t e, int64_t max, int32_t *end) {
  int64_t v = 0;
  int32_t s = p;
  while (p < e && b[p] >= '0' && b[p] <= '9') {
    v = v * 10 + (b[p] - '0');
    if (v > max) {
      while (p < e && b[p] >= '0' && b[p] <= '9') p++;
      *end = p;
      return -2;
    }
    p++;
  }
  *end = p;
  return p == s ? -1 : v;
}

/* All of b[s, e) as one decimal number up to max, or -1. */
static int32_t whole_number(const uint8_t *b, int32_t s, int32_t e, int64_t max) {
  int32_t after;
  int64_t v = digits(b, s, e, max, &after);
  return v < 0 || after != e ? -1 : (int32_t)v;
}

/* Exactly "SIP/2.0" (the letters in any case) in b[s, e)? */
static int is_sip20(const uint8_t *b, int32_t s, int32_t e) {
  return e - s == 7 && (b[s] | 0x20) == 's' && (b[s + 1] | 0x20) == 'i' && (b[s + 2] | 0x20) == 'p' && b[s + 3] == '/' && b[s + 4] == '2' &&
         b[s + 5] == '.' && b[s + 6] == '0';
}

static int header_id(const uint8_t *b, int32_t s, int32_t e) {
  int n = e - s;
  int c0 = lower(b[s]);
  switch (n) {
    case 1:
      switch (c0) {
        case 'v': return H_VIA;
        case 'i': return H_CALLID;
        case 'f': return H_FROM;
        case 't': return H_TO;
        case 'm': return H_CONTACT;
        case 'l': return H_CLEN;
        case 'c': return H_CTYPE;
      }
      return H_OTHER;
    case 2: return eq_name(b, s, "to", 2) ? H_TO : H_OTHER;
    case 3: return eq_name(b, s, "via", 3) ? H_VIA : H_OTHER;
    case 4:
      if (c0 == 'f') return eq_name(b, s, "from", 4) ? H_FROM : H_OTHER;
      return eq_name(b, s, "cseq", 4) ? H_CSEQ : H_OTHER;
    case 6: return eq_name(b, s, "server", 6) ? H_SERVER : H_OTHER;
    case 7:
      if (c0 != 'c') return H_OTHER;
      return eq_name(b, s, "call-id", 7) ? H_CALLID : eq_name(b, s, "contact", 7) ? H_CONTACT : H_OTHER;
    case 10: return eq_name(b, s, "user-agent", 10) ? H_UA : H_OTHER;
    case 12:
      if (c0 == 'm') return eq_name(b, s, "max-forwards", 12) ? H_MAXF : H_OTHER;
      return eq_name(b, s, "content-type", 12) ? H_CTYPE : H_OTHER;
    case 14: return eq_name(b, s, "content-length", 14) ? H_CLEN : H_OTHER;
  }
  return H_OTHER;
}

/* Past a quoted string that opens at p, or -1 when it does not close. */
static int32_t skip_quoted(const uint8_t *b, int32_t p, int32_t e) {
  p++;
  while (p < e) {
    if (b[p] == '\\') p += 2;
    else if (b[p] == '"') return p + 1;
    else p++;
  }
  return -1;
}

/* The start line, with nothing irregular about it; returns OK or SLOW. */
static int start_line(const uint8_t *b, int32_t p, int32_t le, int32_t *o) {
  int32_t *sp = o + O_SPANS;
  if (le - p >= 8 && is_sip20(b, p, p + 7)) {
    /* Status-Line: one SP, three digits, then SP, HT or the end of the line. */
    int32_t ve = p + 7;
    if (b[ve] != ' ' || (ve + 1 < le && (b[ve + 1] == ' ' || b[ve + 1] == '\t'))) return SLOW;
    int32_t cs = ve + 1, q = cs;
    while (q < le && b[q] >= '0' && b[q] <= '9') q++;
    if (q - cs != 3 || (q < le && b[q] != ' ' && b[q] != '\t')) return SLOW;
    int code = (b[cs] - '0') * 100 + (b[cs + 1] - '0') * 10 + (b[cs + 2] - '0');
    if (code < 100 || code > 699) return SLOW;
    o[O_IS_REQUEST] = 0;
    o[O_STATUS_CODE] = code;
    sp[SPAN_VERSION * 2] = p;
    sp[SPAN_VERSION * 2 + 1] = ve;
    sp[SPAN_REASON * 2] = q < le ? q + 1 : le;
    sp[SPAN_REASON * 2 + 1] = le;
    return OK;
  }
  /* Request-Line: Method SP Request-URI SP SIP-Version, one SP each. */
  int32_t me = skip_token(b, p, le);
  if (me == p || me >= le || b[me] != ' ') return SLOW;
  int32_t us = me + 1, q = us;
  while (q < le && b[q] != ' ' && b[q] != '\t') q++;
  int32_t ue = q;
  if (ue == us || q >= le || b[q] != ' ') return SLOW;
  int32_t vs = q + 1;
  if (!is_sip20(b, vs, le)) return SLOW;
  /* absoluteURI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
  int c0 = b[us] | 0x20;
  if (c0 < 'a' || c0 > 'z') return SLOW;
  int32_t k = us;
  while (k < ue) {
    int c = b[k], l = c | 0x20;
    if ((l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') k++;
    else break;
  }
  if (k >= ue || b[k] != ':') return SLOW;
  o[O_IS_REQUEST] = 1;
  o[O_METHOD_S] = p;
  o[O_METHOD_E] = me;
  sp[SPAN_REQUEST_URI * 2] = us;
  sp[SPAN_REQUEST_URI * 2 + 1] = ue;
  sp[SPAN_VERSION * 2] = vs;
  sp[SPAN_VERSION * 2 + 1] = le;
  return OK;
}

/* A token, then a slash with optional blanks around it; the offset after them, or -1. */
static int32_t token_slash(const uint8_t *b, int32_t p, int32_t e) {
  int32_t t = skip_token(b, p, e);
  if (t == p) return -1;
  t = skip_ws(b, t, e);
  if (t >= e || b[t] != '/') return -1;
  return skip_ws(b, t + 1, e);
}

/* Every hop of one Via value; 0 where the JavaScript parser would find it malformed. */
static int via(const uint8_t *b, int32_t s, int32_t e, int32_t *o) {
  int32_t p = s;
  while (p < e) {
    p = skip_ws(b, p, e);
    if (p >= e) break;
    /* sent-protocol: name SLASH version SLASH transport, blanks allowed around the slashes */
    if ((p = token_slash(b, p, e)) < 0 || (p = token_slash(b, p, e)) < 0) return 0;
    int32_t t0 = p;
    p = skip_token(b, p, e);
    int32_t t1 = p;
    if (t1 == t0) return 0;
    p = skip_ws(b, p, e);
    int32_t h0 = p;
    if (p < e && b[p] == '[') {
      while (p < e && b[p] != ']') p++;
      if (p >= e) return 0;
      p++;
    } else {
      while (p < e) {
        uint8_t c = b[p];
        if (is_ws(c) || c == ':' || c == ';' || c == ',') break;
        p++;
      }
    }
    int32_t h1 = p;
    if (h1 == h0) return 0;
    int32_t port = 0;
    p = skip_ws(b, p, e);
    if (p < e && b[p] == ':') {
      p = skip_ws(b, p + 1, e);
      int32_t ne;
      int64_t v = digits(b, p, e, 65535, &ne);
      if (v < 0) return 0;
      port = (int32_t)v;
      p = ne;
    }
    int32_t n = o[O_VIA_COUNT];
    if (n >= MAX_VIA) return 0;
    o[O_VIA_COUNT] = n + 1;
    int32_t *h = o + O_VIA + n * VIA_INTS;
    h[0] = t0;
    h[1] = t1;
    h[2] = h0;
    h[3] = h1;
    h[4] = port;
    h[5] = -1; /* branch */
    h[6] = -1;
    h[7] = -1; /* rport */
    h[8] = -1; /* received */
    h[9] = -1;
    h[10] = h[11] = h[12] = -1;
    for (;;) {
      p = skip_ws(b, p, e);
      if (p >= e || b[p] == ',') break;
      if (b[p] != ';') return 0;
      p = skip_ws(b, p + 1, e);
      int32_t pn0 = p;
      p = skip_token(b, p, e);
      int32_t pn1 = p;
      if (pn1 == pn0) return 0;
      p = skip_ws(b, p, e);
      int32_t pv0 = -1, pv1 = -1;
      if (p < e && b[p] == '=') {
        p = skip_ws(b, p + 1, e);
        pv0 = p;
        if (p < e && b[p] == '"') {
          int32_t q = skip_quoted(b, p, e);
          if (q < 0) return 0;
          p = q;
        } else if (p < e && b[p] == '[') {
          while (p < e && b[p] != ']') p++;
          if (p < e) p++;
        } else {
          while (p < e && (TOKEN[b[p]] || b[p] == ':')) p++;
        }
        pv1 = p;
      }
      int32_t pl = pn1 - pn0;
      if (pl == 6 && eq_name(b, pn0, "branch", 6)) {
        /* No value: '' in JavaScript, the same as an empty span. */
        h[5] = pv0 < 0 ? -1 : pv0;
        h[6] = pv0 < 0 ? -1 : pv1;
      } else if (pl == 5 && eq_name(b, pn0, "rport", 5)) {
        int32_t ne;
        int64_t v = pv0 < 0 ? 0 : digits(b, pv0, pv1, 65535, &ne);
        h[7] = v < 0 ? 0 : (int32_t)v;
      } else if (pl == 8 && eq_name(b, pn0, "received", 8)) {
        h[8] = pv0 < 0 ? -1 : pv0;
        h[9] = pv0 < 0 ? -1 : pv1;
      }
    }
    if (p < e && b[p] == ',') {
      p++;
      /* An empty hop (",,") or a trailing comma is malformed. */
      int32_t q = skip_ws(b, p, e);
      if (q >= e || b[q] == ',') return 0;
    }
  }
  return 1;
}

/*
 * From/To: name-addr or addr-spec, then ;params. Writes the URI and display-name spans and the
 * tag span (first non-empty tag) to o; returns 0 where the JavaScript parser returns undefined.
 */
static int name_addr(const uint8_t *b, int32_t s, int32_t e, int32_t *o, int uri_span, int name_span, int tag_slot) {
  int32_t *sp = o + O_SPANS;
  int32_t p = skip_ws(b, s, e);
  if (p >= e) return 0;
  int32_t u0, u1, lt = -1;
  for (int32_t q = p; q < e; q++) {
    uint8_t c = b[q];
    if (c == '"') {
      int32_t r = skip_quoted(b, q, e);
      if (r < 0) return 0;
      q = r - 1;
    } else if (c == '<') {
      lt = q;
      break;
    } else if (c == ';') break;
  }
  if (lt >= 0) {
    int32_t ne = lt;
    while (ne > p && is_ws(b[ne - 1])) ne--;
    if (ne > p) {
      sp[name_span * 2] = p;
      sp[name_span * 2 + 1] = ne;
    }
    u0 = skip_ws(b, lt + 1, e);
    int32_t q = u0;
    while (q < e && b[q] != '>') q++;
    if (q >= e) return 0;
    u1 = q;
    while (u1 > u0 && is_ws(b[u1 - 1])) u1--;
    p = q + 1;
  } else {
    u0 = p;
    while (p < e && b[p] != ';' && !is_ws(b[p])) p++;
    u1 = p;
  }
  if (u1 == u0) return 0;
  sp[uri_span * 2] = u0;
  sp[uri_span * 2 + 1] = u1;
  for (;;) {
    p = skip_ws(b, p, e);
    if (p >= e || b[p] != ';') break; /* trailing junk is tolerated, as in JavaScript */
    p = skip_ws(b, p + 1, e);
    int32_t n0 = p;
    p = skip_token(b, p, e);
    int32_t n1 = p;
    p = skip_ws(b, p, e);
    int32_t v0 = -1, v1 = -1;
    if (p < e && b[p] == '=') {
      p = skip_ws(b, p + 1, e);
      v0 = p;
      if (p < e && b[p] == '"') {
        int32_t q = skip_quoted(b, p, e);
        p = q < 0 ? e : q;
      } else p = skip_token(b, p, e);
      v1 = p;
    }
    /* JavaScript keeps the first tag whose value is not empty. */
    if (n1 - n0 == 3 && eq_name(b, n0, "tag", 3) && v0 >= 0 && o[tag_slot] == o[tag_slot + 1]) {
      o[tag_slot] = v0;
      o[tag_slot + 1] = v1;
    }
  }
  return 1;
}

/* b[off, off + len): in the buffer, len <= MAX_MESSAGE, off + len fits an int32 (parse_js checks). */
static int parse(const uint8_t *b, int32_t off, int32_t len, int32_t *o, Env *env) {
  for (int i = 0; i < O_HSPANS; i++) o[i] = -1;
  o[O_HEADER_COUNT] = 0;
  o[O_VIA_COUNT] = 0;
  o[O_CONTACT_LINES] = 0;
  o[O_STATUS_CODE] = 0;
  o[O_FROMTAG_S] = o[O_FROMTAG_E] = o[O_TOTAG_S] = o[O_TOTAG_E] = 0;
  const int32_t end = off + len;
  int32_t p = off;
  while (p < end && (b[p] == '\r' || b[p] == '\n')) p++;
  int32_t le = p;
  {
    const uint8_t *nl = memchr(b + p, '\n', (size_t)(end - p));
    le = nl ? (int32_t)(nl - b) : end;
  }
  int32_t next = le < end ? le + 1 : end;
  if (le > p && b[le - 1] == '\r') le--;
  if (le - p > MAX_LINE) return SLOW;
  if (start_line(b, p, le, o) != OK) return SLOW;

  int32_t *sp = o + O_SPANS;
  int seen = 0, ended = 0;
  enum { S_CALLID = 1, S_CSEQ = 2, S_FROM = 4, S_TO = 8, S_CLEN = 16, S_MAXF = 32 };
  p = next;
  while (p < end) {
    if (b[p] == '\n') {
      p++;
      ended = 1;
      break;
    }
    if (b[p] == '\r' && p + 1 < end && b[p + 1] == '\n') {
      p += 2;
      ended = 1;
      break;
    }
    if (b[p] == '\r' && p + 1 >= end) return SLOW; /* cut short */
    int32_t ls = p;
    int32_t q = p;
    while (q < end && TOKEN[b[q]]) q++;
    int32_t ne = q;
    while (q < end && (b[q] == ' ' || b[q] == '\t')) q++;
    int32_t colon = q < end && b[q] == ':' ? q : -1;
    if (colon < 0 || ne == ls) return SLOW;
    {
      const uint8_t *nl = memchr(b + q, '\n', (size_t)(end - q));
      q = nl ? (int32_t)(nl - b) : end;
    }
    /* A folded continuation line: left to JavaScript. */
    if (q + 1 < end && (b[q + 1] == ' ' || b[q + 1] == '\t')) return SLOW;
    int32_t ve = q;
    p = q < end ? q + 1 : end;
    while (ve > ls && is_ws(b[ve - 1])) ve--;
    if (ve - ls > MAX_LINE) return SLOW;
    int32_t hc = o[O_HEADER_COUNT];
    if (hc >= MAX_HEADERS) return SLOW;
    int32_t vs = skip_ws(b, colon + 1, ve > colon ? ve : colon + 1);
    int32_t vend = ve > vs ? ve : vs;
    o[O_HEADER_COUNT] = hc + 1;
    int32_t *hs = o + O_HSPANS + hc * 4;
    hs[0] = ls;
    hs[1] = ne;
    hs[2] = vs;
    hs[3] = vend;
    switch (header_id(b, ls, ne)) {
      case H_VIA:
        if (!via(b, vs, vend, o)) return SLOW;
        break;
      case H_CALLID:
        if (seen & S_CALLID) return SLOW;
        seen |= S_CALLID;
        if (vend == vs) return SLOW; /* missing Call-ID */
        o[O_CALLID_S] = vs;
        o[O_CALLID_E] = vend;
        break;
      case H_CSEQ: {
        if (seen & S_CSEQ) return SLOW;
        seen |= S_CSEQ;
        sp[SPAN_CSEQ * 2] = vs;
        sp[SPAN_CSEQ * 2 + 1] = vend;
        int32_t after;
        int64_t n = digits(b, vs, vend, 0x7fffffff, &after);
        int32_t ms = skip_ws(b, after, vend);
        int32_t me = skip_token(b, ms, vend);
        if (n < 0 || ms == after || me == ms || skip_ws(b, me, vend) != vend) return SLOW;
        o[O_CSEQ_NUM] = (int32_t)n;
        o[O_CSEQ_MS] = ms;
        o[O_CSEQ_ME] = me;
        break;
      }
      case H_FROM:
        if (seen & S_FROM) return SLOW;
        seen |= S_FROM;
        if (!name_addr(b, vs, vend, o, SPAN_FROM_URI, SPAN_FROM_NAME, O_FROMTAG_S)) return SLOW;
        break;
      case H_TO:
        if (seen & S_TO) return SLOW;
        seen |= S_TO;
        if (!name_addr(b, vs, vend, o, SPAN_TO_URI, SPAN_TO_NAME, O_TOTAG_S)) return SLOW;
        break;
      case H_CONTACT: {
        int32_t n = o[O_CONTACT_LINES];
        if (n < MAX_CONTACTS) {
          o[O_CONTACTS + n * 2] = vs;
          o[O_CONTACTS + n * 2 + 1] = vend;
          o[O_CONTACT_LINES] = n + 1;
        }
        break;
      }
      case H_MAXF:
        if (seen & S_MAXF) return SLOW;
        seen |= S_MAXF;
        if ((o[O_MAX_FORWARDS] = whole_number(b, vs, vend, 255)) < 0) return SLOW;
        break;
      case H_CLEN:
        if (seen & S_CLEN) return SLOW;
        seen |= S_CLEN;
        if ((o[O_CONTENT_LENGTH] = whole_number(b, vs, vend, 0x7fffffff)) < 0) return SLOW;
        break;
      case H_CTYPE:
        sp[SPAN_CONTENT_TYPE * 2] = vs;
        sp[SPAN_CONTENT_TYPE * 2 + 1] = vend;
        break;
      case H_UA:
        sp[SPAN_USER_AGENT * 2] = vs;
        sp[SPAN_USER_AGENT * 2 + 1] = vend;
        break;
      case H_SERVER:
        sp[SPAN_SERVER * 2] = vs;
        sp[SPAN_SERVER * 2 + 1] = vend;
        break;
    }
  }
  if (!ended) return SLOW;
  int32_t avail = end - p;
  int32_t cl = o[O_CONTENT_LENGTH];
  o[O_BODY_OFF] = p;
  if (cl < 0) o[O_BODY_LEN] = avail;
  else {
    if (avail < cl) return SLOW;
    o[O_BODY_LEN] = cl;
    /* Bytes past Content-Length other than padding are an anomaly. */
    for (int32_t i = p + cl; i < end; i++) {
      uint8_t c = b[i];
      if (c != '\r' && c != '\n' && c != 0 && c != ' ') return SLOW;
    }
  }
  if (o[O_VIA_COUNT] == 0 || o[O_CALLID_S] < 0 || !(seen & S_CSEQ) || !(seen & S_FROM) || !(seen & S_TO)) return SLOW;
  if (o[O_IS_REQUEST]) {
    /* The CSeq method must be the request's. */
    int32_t n = o[O_METHOD_E] - o[O_METHOD_S];
    if (o[O_CSEQ_ME] - o[O_CSEQ_MS] != n || memcmp(b + o[O_METHOD_S], b + o[O_CSEQ_MS], (size_t)n) != 0) return SLOW;
  }
  /* Only now, when JavaScript is sure to store what a miss asks for. */
  o[O_CALLID_CODE] = intern(env, b, o[O_CALLID_S], o[O_CALLID_E], 0);
  o[O_FROMTAG_CODE] = intern(env, b, o[O_FROMTAG_S], o[O_FROMTAG_E], 0);
  o[O_TOTAG_CODE] = intern(env, b, o[O_TOTAG_S], o[O_TOTAG_E], 0);
  for (int32_t i = 0; i < o[O_VIA_COUNT]; i++) {
    int32_t *h = o + O_VIA + i * VIA_INTS;
    h[10] = intern(env, b, h[2], h[3], 1);
    h[11] = h[5] < 0 ? -1 : intern(env, b, h[5], h[6], 0);
    h[12] = h[8] < 0 ? -1 : intern(env, b, h[8], h[9], 0);
  }
  return OK;
}

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "stalepin_sip: internal N-API failure"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static void env_free(napi_env env, void *data, void *hint) { free(data); }

static Env *env_state(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

/* setOutput(out: Int32Array): where results go; the caller keeps it alive. Empties the intern table. */
static napi_value set_output(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array ||
      length < O_SIZE) {
    napi_throw_type_error(env, NULL, "setOutput: an Int32Array of at least the output size");
    return NULL;
  }
  /* Allocated only with a valid array to point at: parse() takes a state with an output as ready. */
  Env *st = env_state(env);
  if (st == NULL) {
    st = malloc(sizeof(Env));
    if (st != NULL) st->hslots = NULL;
    if (st == NULL || napi_set_instance_data(env, st, env_free, NULL) != napi_ok) {
      free(st);
      napi_throw_error(env, NULL, "stalepin_sip: out of memory");
      return NULL;
    }
  }
  st->out = data;
  intern_reset(st);
  return NULL;
}

/* A Uint8Array argument: its bytes and length; 0 when it is not one. */
static int u8_arg(napi_env env, napi_value v, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *d;
  if (napi_get_typedarray_info(env, v, &type, length, &d, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = d;
  return 1;
}

/* The (Uint8Array, offset, length) of a message, the first three arguments; 0 when they are not. */
static int message_args(napi_env env, const napi_value *argv, uint8_t **data, size_t *length, int32_t *off, int32_t *len) {
  return u8_arg(env, argv[0], data, length) && napi_get_value_int32(env, argv[1], off) == napi_ok && napi_get_value_int32(env, argv[2], len) == napi_ok;
}

/* parse(bytes: Uint8Array, off, len) -> 0 (parsed, results in the output array) or 3 (slow). */
static napi_value parse_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *data;
  size_t length;
  int32_t off, len;
  Env *st = env_state(env);
  if (st == NULL || argc < 3 || !message_args(env, argv, &data, &length, &off, &len)) {
    napi_throw_type_error(env, NULL, "parse: (Uint8Array, offset, length) after setOutput");
    return NULL;
  }
  int status = SLOW;
  /* In range, and off + len fits an int32 (the offsets written are int32). */
  if (off >= 0 && len >= 0 && len <= MAX_MESSAGE && off <= INT32_MAX - len && (size_t)off + (size_t)len <= length) status = parse(data, off, len, st->out, st);
  st->out[O_STATUS] = status;
  CHECK(napi_create_int32(env, status, &result));
  return result;
}

/*
 * The dissector's recent messages. At a load balancer every datagram is captured twice
 * (arriving, then forwarded unchanged), and retransmissions repeat it again, so the dissector
 * keeps its last RECENT messages and reuses the parsed record of a byte-identical one. Each
 * dissector owns a Uint8Array of SLOTS_BYTES: a header of RECENT message lengths (-1: empty)
 * and the slot written next, then RECENT slots of SLOT_CAP bytes, then RECENT output arrays.
 * A new message is copied into a slot and parsed there, its results written to the slot's own
 * output array: the spans of its record (JavaScript keeps one record per slot, whose span tables
 * are views of that array) stay valid while the record is reused, and are never copied.
 */
#define RECENT 16
#define SLOT_CAP 65536
#define SLOTS_HEAD 128
#define SLOTS_OUT (SLOTS_HEAD + RECENT * SLOT_CAP)
#define SLOTS_BYTES (SLOTS_OUT + RECENT * O_SIZE * 4)
/* dissect() copies a message of up to MAX_MESSAGE bytes into a slot. */
_Static_assert(MAX_MESSAGE <= SLOT_CAP, "a slot must hold the largest message");
_Static_assert((RECENT & (RECENT - 1)) == 0, "slots are masked");
_Static_assert(SLOTS_HEAD >= (RECENT + 1) * 4, "the header holds RECENT lengths and the next slot");
/* dissect() results: the slot in the low byte, what happened above it. */
enum { D_SAME = 0, D_PARSED = 1, D_SLOW = 2, D_NOT_KEPT = 3 };

/*
 * dissect(bytes: Uint8Array, off, len, slots: Uint8Array) -> slot | kind << 8:
 *   D_SAME: the slot holds these very bytes; nothing was parsed;
 *   D_PARSED: copied into the slot and parsed (results in the slot's output array);
 *   D_SLOW: copied into the slot; the JavaScript parser must parse the slot's bytes;
 *   D_NOT_KEPT: empty, too large for a slot or out of range: the slot is emptied and
 *     JavaScript parses the bytes where they are.
 *
 * With two more arguments, to: Uint8Array and at (4-aligned, with HANDOFF_MAX + len bytes
 * from there), a message copied into a slot is also written at to[at]: for D_PARSED the
 * results JavaScript reads, packed (the words before O_HSPANS, the header count's header
 * spans, the Via count's hops), then for D_PARSED and D_SLOW the bytes. The result then
 * carries the number of words written above bit 10. This is the record a split run's reading
 * thread hands to the tracking thread (src/sip/handoff.ts), which unpacks it into its slot.
 */
#define HANDOFF_MAX (O_HSPANS + 4 * MAX_HEADERS + MAX_VIA * VIA_INTS)

static int32_t pack(const int32_t *o, int32_t *to) {
  int32_t head = O_HSPANS + 4 * o[O_HEADER_COUNT];
  int32_t via = o[O_VIA_COUNT] * VIA_INTS;
  memcpy(to, o, (size_t)head * 4);
  memcpy(to + head, o + O_VIA, (size_t)via * 4);
  return head + via;
}

/* Room at `at` in an array of `length` bytes for the record of a message of `len` bytes? */
static int record_fits(int32_t at, int32_t len, size_t length) {
  return at >= 0 && (at & 3) == 0 && (size_t)at + HANDOFF_MAX * 4 + (size_t)(len > 0 ? len : 0) <= length;
}

/*
 * The work of dissect(): b[off, off + len) (b of `length` bytes) against the slots at sdata;
 * with `to`, the record is written there. slot | kind << 8 (| words << 10 with `to`).
 */
static int32_t dissect_at(Env *st, const uint8_t *b, size_t length, int32_t off, int32_t len, void *sdata, uint8_t *to) {
  int32_t *head = sdata;
  uint8_t *slots = (uint8_t *)sdata + SLOTS_HEAD;
  int32_t next = head[RECENT] & (RECENT - 1);
  if (off < 0 || len <= 0 || len > MAX_MESSAGE || off > INT32_MAX - len || (size_t)off + (size_t)len > length) {
    head[next] = -1;
    head[RECENT] = (next + 1) & (RECENT - 1);
    return next | D_NOT_KEPT << 8;
  }
  /* Newest first: a balancer's forwarded copy follows its original closely. */
  for (int k = 1; k <= RECENT; k++) {
    int32_t i = (next - k) & (RECENT - 1);
    if (head[i] == len && memcmp(slots + (size_t)i * SLOT_CAP, b + off, (size_t)len) == 0) return i | D_SAME << 8;
  }
  int32_t slot = next;
  uint8_t *dst = slots + (size_t)slot * SLOT_CAP;
  memcpy(dst, b + off, (size_t)len);
  head[slot] = len;
  int32_t *o = (int32_t *)((uint8_t *)sdata + SLOTS_OUT) + (size_t)slot * O_SIZE;
  int status = parse(dst, 0, len, o, st);
  o[O_STATUS] = status;
  int kind = status == OK ? D_PARSED : D_SLOW;
  head[RECENT] = (next + 1) & (RECENT - 1);
  if (to == NULL) return slot | kind << 8;
  int32_t words = kind == D_PARSED ? pack(o, (int32_t *)to) : 0;
  memcpy(to + (size_t)words * 4, dst, (size_t)len);
  return slot | kind << 8 | words << 10;
}

static napi_value dissect_js(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *data, *sdata;
  size_t length, slength;
  int32_t off, len;
  Env *st = env_state(env);
  if (st == NULL || argc < 4 || !message_args(env, argv, &data, &length, &off, &len) || !u8_arg(env, argv[3], &sdata, &slength) || slength != SLOTS_BYTES ||
      ((uintptr_t)sdata & 3) != 0) {
    napi_throw_type_error(env, NULL, "dissect: (Uint8Array, offset, length, slots) after setOutput");
    return NULL;
  }
  uint8_t *to = NULL;
  if (argc >= 6) {
    size_t tlength;
    uint8_t *tdata;
    int32_t at;
    if (!u8_arg(env, argv[4], &tdata, &tlength) || napi_get_value_int32(env, argv[5], &at) != napi_ok || ((uintptr_t)tdata & 3) != 0 || !record_fits(at, len, tlength)) {
      napi_throw_type_error(env, NULL, "dissect: the record goes to (Uint8Array, 4-aligned offset) with room for it");
      return NULL;
    }
    to = tdata + at;
  }
  CHECK(napi_create_int32(env, dissect_at(st, data, length, off, len, sdata, to), &result));
  return result;
}

/*
 * bindHandoff(slots, to): the slots and the ring of a split run's reading thread, for
 * dissectInto(), which then takes only the message and the record's offset: two typed-array
 * lookups fewer per message (N-API's typed-array calls were a tenth of that thread's time).
 * The caller keeps both arrays alive while it calls dissectInto().
 */
static napi_value bind_handoff(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t slength, tlength;
  uint8_t *sdata, *tdata;
  Env *st = env_state(env);
  if (st == NULL || argc < 2 || !u8_arg(env, argv[0], &sdata, &slength) || slength != SLOTS_BYTES || ((uintptr_t)sdata & 3) != 0 ||
      !u8_arg(env, argv[1], &tdata, &tlength) || ((uintptr_t)tdata & 3) != 0) {
    napi_throw_type_error(env, NULL, "bindHandoff: (slots, Uint8Array) after setOutput");
    return NULL;
  }
  st->hslots = sdata;
  st->hto = tdata;
  st->htoLength = tlength;
  return NULL;
}

/* dissectInto(bytes, off, len, at): dissect() into the slots and ring bindHandoff() gave. */
static napi_value dissect_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *data;
  size_t length;
  int32_t off, len, at;
  Env *st = env_state(env);
  if (st == NULL || st->hslots == NULL || argc < 4 || !message_args(env, argv, &data, &length, &off, &len) || napi_get_value_int32(env, argv[3], &at) != napi_ok ||
      !record_fits(at, len, st->htoLength)) {
    napi_throw_type_error(env, NULL, "dissectInto: (Uint8Array, offset, length, 4-aligned record offset with room) after bindHandoff");
    return NULL;
  }
  CHECK(napi_create_int32(env, dissect_at(st, data, length, off, len, st->hslots, st->hto + at), &result));
  return result;
}

/*
 * unintern(slots, slot): empty the intern-table entries that slot's parse filled (its misses),
 * for a message whose strings JavaScript will never make: a split `analyze` drops the messages
 * its tracker would ignore on the reading thread (src/sip/handoff.ts), and a later hit on such
 * an entry would hand the tracking thread a string it never stored. Hits changed nothing.
 */
static napi_value unintern_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t slength;
  uint8_t *sdata;
  int32_t slot;
  Env *st = env_state(env);
  if (st == NULL || argc < 2 || !u8_arg(env, argv[0], &sdata, &slength) || slength != SLOTS_BYTES || ((uintptr_t)sdata & 3) != 0 || napi_get_value_int32(env, argv[1], &slot) != napi_ok || slot < 0 || slot >= RECENT) {
    napi_throw_type_error(env, NULL, "unintern: (slots, slot number) after setOutput");
    return NULL;
  }
  const int32_t *o = (const int32_t *)((uint8_t *)sdata + SLOTS_OUT) + (size_t)slot * O_SIZE;
  if (o[O_STATUS] != OK) return NULL;
  int32_t codes[3 + 3 * MAX_VIA];
  int n = 0;
  codes[n++] = o[O_CALLID_CODE];
  codes[n++] = o[O_FROMTAG_CODE];
  codes[n++] = o[O_TOTAG_CODE];
  for (int32_t i = 0; i < o[O_VIA_COUNT] && i < MAX_VIA; i++) {
    const int32_t *h = o + O_VIA + i * VIA_INTS;
    codes[n++] = h[10];
    codes[n++] = h[11];
    codes[n++] = h[12];
  }
  for (int i = 0; i < n; i++)
    if (codes[i] >= 0 && (codes[i] & CODE_HIT) == 0) st->len[codes[i]] = -1;
  return NULL;
}

static napi_value slots_size(napi_env env, napi_callback_info info) {
  napi_value r;
  CHECK(napi_create_int32(env, SLOTS_BYTES, &r));
  return r;
}

static napi_value intern_slots(napi_env env, napi_callback_info info) {
  napi_value r;
  CHECK(napi_create_int32(env, INTERN_SLOTS, &r));
  return r;
}

/* Words dissect() packs at most: a binding of the earlier layout has no such function. */
static napi_value handoff_max(napi_env env, napi_callback_info info) {
  napi_value r;
  CHECK(napi_create_int32(env, HANDOFF_MAX, &r));
  return r;
}

static napi_value output_size(napi_env env, napi_callback_info info) {
  napi_value r;
  CHECK(napi_create_int32(env, O_SIZE, &r));
  return r;
}

NAPI_MODULE_INIT() {
  const char *tok = "-.!%*_+`'~";
  for (int c = 0; c < 256; c++) TOKEN[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr(tok, c));
  static const struct {
    const char *name;
    napi_callback cb;
  } api[] = {{"parse", parse_js}, {"setOutput", set_output}, {"outputSize", output_size}, {"dissect", dissect_js}, {"slotsSize", slots_size}, {"internSlots", intern_slots}, {"handoffMax", handoff_max}, {"unintern", unintern_js}, {"bindHandoff", bind_handoff}, {"dissectInto", dissect_into}};
  for (size_t i = 0; i < sizeof api / sizeof api[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, api[i].name, NAPI_AUTO_LENGTH, api[i].cb, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, api[i].name, fn) != napi_ok)
      return NULL;
  }
  return exports;
}
