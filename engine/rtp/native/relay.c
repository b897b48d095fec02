/*
 * The relay shard's packet path in C (Node-API): one thread per shard that
 * waits on its sockets with epoll and, per datagram, classifies, latches,
 * counts and forwards, as `../shard/node-path.ts` does in JS. Node's dgram
 * costs a JS call, a Buffer, an rinfo object with an address string and a
 * send request per packet; measured here, that put our CPU per packet 35–58 %
 * above rtpengine's userspace relay at 100–250 calls. This path does one
 * epoll_wait per batch of ready sockets and one recvfrom and one sendto per
 * datagram, nothing else: the same system calls rtpengine makes.
 *
 * What stays in JS (the shard, `native-path.ts`): binding decisions, the
 * pool, the sessions, the figures' shape. The figures are Wireshark's RTP
 * stream analysis definitions, ported line for line from
 * `../stream-stats.ts` (the definitions and their sources are there);
 * test/integration/rtp-native-parity.test.ts holds the two paths to the
 * same figures on the same packets.
 *
 * Threads: the shard's JS thread calls the exported functions; the packet
 * thread runs `loop`. One mutex guards all state; the packet thread takes it
 * per batch of ready sockets, so a JS call waits at most one batch. Recorded
 * packets go to JS as tap batches (`../shard/tap.ts`'s record format) by a
 * thread-safe function, never waited for: a batch JS cannot take (its queue
 * full) is dropped and counted per stream.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_TYPES 128
#define PT_CN 13
#define PT_CN_OLD 19
/* ../shard/node-path.ts: EARLY_MAX_PACKETS, EARLY_MAX_MS */
#define EARLY_MAX_PACKETS 16
#define EARLY_MAX_US 500000.0
#define SLOT_BUCKETS 4096
#define MAX_EVENTS 256
#define DATAGRAM_MAX 65536
/* ../shard/tap.ts: one record is slot u32 · side u8 · arrival µs f64 · length u16 · the datagram. */
#define TAP_HEAD 15
#define TAP_CAPACITY (256 * 1024)
#define TAP_FLUSH_BYTES (192 * 1024)
#define TAP_FLUSH_US 20000.0
/* Tap batches handed to JS and not yet taken: past this, a batch is dropped (the shard's ThreadSide bounds what goes further). */
#define TAP_QUEUE 64

/* ---- Wireshark's RTP stream analysis (../stream-stats.ts, line for line) ---- */

typedef struct {
  double packets, bytes, ssrc_changes, sequence_errors, max_delta_ms, max_jitter_ms, first_us, last_us;
  int payload_type;
  double prior_expected, prior_mean_sum, prior_mean_weight;
  double seg_packets;
  uint32_t ssrc;
  double seg_start_us;
  uint32_t first_ts;
  int first_seq, last_seq, seq_num, prev_pt;
  int64_t ext_last;
  double time_ms, last_nominal_ms, delta_ms, jitter_ms, mean_jitter_ms;
} stream_stats;

typedef struct {
  double divisors[PAYLOAD_TYPES];
  uint8_t events[PAYLOAD_TYPES];
} payload_table;

static void stats_start(stream_stats *s, uint32_t ssrc, int seq, uint32_t ts, int pt, double arrival_us) {
  s->ssrc = ssrc;
  s->seg_packets = 1;
  s->seg_start_us = arrival_us;
  s->first_ts = ts;
  s->first_seq = seq;
  s->last_seq = seq;
  s->ext_last = seq;
  s->seq_num = seq;
  s->prev_pt = pt;
  s->time_ms = 0;
  s->last_nominal_ms = 0;
  s->delta_ms = 0;
  s->jitter_ms = 0;
  s->mean_jitter_ms = 0;
}

static void stats_end(stream_stats *s) {
  s->prior_expected += (double)(s->ext_last - s->first_seq + 1);
  double weight = s->seg_packets - 1;
  s->prior_mean_sum += s->mean_jitter_ms * weight;
  s->prior_mean_weight += weight;
}

static void stats_on_rtp(stream_stats *s, const payload_table *t, const unsigned char *b, size_t len, double arrival_us) {
  int seq = (b[2] << 8) | b[3];
  uint32_t ts = ((uint32_t)b[4] << 24) | ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
  uint32_t ssrc = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
  int pt = b[1] & 0x7f;
  int marker = (b[1] & 0x80) != 0;
  if (s->packets == 0) s->first_us = arrival_us;
  s->packets++;
  s->bytes += (double)len;
  s->last_us = arrival_us;
  s->payload_type = pt;

  if (s->seg_packets == 0 || ssrc != s->ssrc) {
    if (s->seg_packets > 0) {
      stats_end(s);
      s->ssrc_changes++;
    }
    stats_start(s, ssrc, seq, ts, pt, arrival_us);
    return;
  }

  double now_ms = (arrival_us - s->seg_start_us) / 1000;
  uint32_t since_first_ts = ts - s->first_ts;
  int in_time = since_first_ts < 0x80000000u;

  int step = (seq - s->last_seq) & 0xffff;
  if (step >= 0x8000) step -= 0x10000;
  s->ext_last += step;
  s->last_seq = seq;

  if (in_time && seq == ((s->seq_num + 1) & 0xffff)) {
    s->seq_num = seq;
  } else if (in_time && (s->seq_num + 1 < seq || s->seq_num - seq > 0xff00)) {
    s->seq_num = seq;
    s->sequence_errors++;
  } else if (s->seq_num + 1 > seq) {
    s->sequence_errors++;
  }

  int cn = pt == PT_CN || pt == PT_CN_OLD;
  int follows_cn = s->prev_pt == PT_CN || s->prev_pt == PT_CN_OLD;
  s->prev_pt = pt;
  int jitter_clock = t->events[pt] == 0;

  if (in_time) {
    s->delta_ms = now_ms - s->time_ms;
    if (jitter_clock) {
      double nominal_ms = (double)since_first_ts / t->divisors[pt];
      double d = fabs(now_ms - (s->time_ms + (nominal_ms - s->last_nominal_ms)));
      s->jitter_ms = (15 * s->jitter_ms + d) / 16;
      s->last_nominal_ms = nominal_ms;
    }
  }

  if (in_time && !marker && !cn && !follows_cn) {
    if (s->delta_ms > s->max_delta_ms) s->max_delta_ms = s->delta_ms;
    if (jitter_clock) {
      if (s->jitter_ms > s->max_jitter_ms) s->max_jitter_ms = s->jitter_ms;
      s->mean_jitter_ms = (s->mean_jitter_ms * (s->seg_packets - 1) + s->jitter_ms) / s->seg_packets;
    }
  }
  if (in_time) s->time_ms = now_ms;
  s->seg_packets++;
}

/* ---- RTP / RTCP / garbage (../rtp-packet.ts rtpKind) ---- */

enum { KIND_GARBAGE, KIND_RTP, KIND_RTCP };

static int rtp_kind(const unsigned char *b, size_t len) {
  if (len < 8) return KIND_GARBAGE;
  if (b[0] >> 6 != 2) return KIND_GARBAGE;
  int b1 = b[1];
  if (b1 >= 192 && b1 <= 223) {
    size_t words = ((size_t)b[2] << 8) | b[3];
    return (words + 1) * 4 <= len ? KIND_RTCP : KIND_GARBAGE;
  }
  size_t header = 12 + 4 * (size_t)(b[0] & 0x0f);
  if (header > len) return KIND_GARBAGE;
  if (b[0] & 0x10) {
    if (header + 4 > len) return KIND_GARBAGE;
    header += 4 + 4 * (((size_t)b[header + 2] << 8) | b[header + 3]);
    if (header > len) return KIND_GARBAGE;
  }
  if (b[0] & 0x20) {
    size_t padding = b[len - 1];
    if (padding == 0 || header + padding > len) return KIND_GARBAGE;
  }
  return KIND_RTP;
}

/* ---- sockets, sides, slots ---- */

typedef struct {
  double at_us;
  uint16_t len;
  uint8_t rtcp;
  struct sockaddr_storage from;
  unsigned char *data;
} held_packet;

/* Datagrams with nowhere to go yet, oldest first; past EARLY_MAX_PACKETS the oldest goes. */
typedef struct {
  int n;
  held_packet items[EARLY_MAX_PACKETS];
} held;

struct side;
struct slot;

typedef struct {
  int fd;
  int port;
  int rtcp;
  struct slot *slot;
  struct side *side;
  /* What arrived while no stream held the socket: replayed by the next open within EARLY_MAX_US, else stray. */
  held *early;
} relay_socket;

typedef struct side {
  relay_socket *rtp, *rtcp;
  int index;
  struct sockaddr_storage peer_rtp, peer_rtcp;
  int has_peer, latched, rtcp_latched;
  double rtcp_packets;
  held *early;
  stream_stats stats;
  struct side *other;
} side;

typedef struct slot {
  uint32_t id;
  side sides[2];
  int dirty, recording;
  double tap_dropped[2];
  payload_table table;
  struct slot *next;
} slot;

typedef struct {
  double packets, bytes, garbage, strict_drops, no_peer, stray, send_errors, tap_overflow, tap_batches_dropped;
} totals_t;

typedef struct {
  pthread_mutex_t lock;
  pthread_t thread;
  int running;
  int ep, wake;
  int strict;
  double offset_us;
  relay_socket **by_fd;
  int by_fd_len;
  slot *slots[SLOT_BUCKETS];
  int slot_count;
  totals_t totals;
  unsigned char *tap;
  size_t tap_bytes;
  double tap_since_us;
  int tap_queued;
  napi_threadsafe_function tsfn;
  double swept_us;
  /* Who still points here: the JS handle (external) and the tap's threadsafe function, whose queued batches read lock. */
  int refs;
} relay;

static double now_us(relay *r) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return r->offset_us + (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static slot *slot_get(relay *r, uint32_t id) {
  for (slot *s = r->slots[id % SLOT_BUCKETS]; s; s = s->next)
    if (s->id == id) return s;
  return NULL;
}

static void held_free(held *h) {
  if (!h) return;
  for (int i = 0; i < h->n; i++) free(h->items[i].data);
  free(h);
}

/* Keeps a copy; true when the oldest had to go to make room. */
static int held_push(held **hp, const unsigned char *data, size_t len, int rtcp, const struct sockaddr_storage *from, double at_us) {
  held *h = *hp;
  if (!h) {
    h = calloc(1, sizeof *h);
    if (!h) return 1;
    *hp = h;
  }
  int full = h->n >= EARLY_MAX_PACKETS;
  if (full) {
    free(h->items[0].data);
    memmove(&h->items[0], &h->items[1], sizeof(held_packet) * (EARLY_MAX_PACKETS - 1));
    h->n--;
  }
  held_packet *p = &h->items[h->n];
  p->data = malloc(len ? len : 1);
  if (!p->data) return 1;
  memcpy(p->data, data, len);
  p->len = (uint16_t)len;
  p->rtcp = (uint8_t)rtcp;
  p->at_us = at_us;
  if (from) p->from = *from;
  h->n++;
  return full;
}

static int same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static int port_of(const struct sockaddr_storage *a) {
  return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port : ((const struct sockaddr_in6 *)a)->sin6_port);
}

static void set_port(struct sockaddr_storage *a, int port) {
  if (a->ss_family == AF_INET) ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

static socklen_t len_of(const struct sockaddr_storage *a) {
  return a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Copies the address part of `from` (keeping `to`'s port). */
static void set_address(struct sockaddr_storage *to, const struct sockaddr_storage *from) {
  int port = to->ss_family ? port_of(to) : 0;
  *to = *from;
  set_port(to, port);
}

/* ---- the tap (recorder) ---- */

static void tap_count_dropped(relay *r, const unsigned char *batch, size_t bytes) {
  for (size_t o = 0; o + TAP_HEAD <= bytes;) {
    uint32_t id;
    uint16_t len;
    memcpy(&id, batch + o, 4);
    memcpy(&len, batch + o + 13, 2);
    slot *s = slot_get(r, id);
    if (s) s->tap_dropped[batch[o + 4] == 1 ? 1 : 0]++;
    r->totals.tap_overflow++;
    o += TAP_HEAD + len;
  }
}

typedef struct {
  unsigned char *data;
  size_t bytes;
} tap_batch;

/* Hands the batch to JS without waiting (the lock is held). */
static void tap_flush(relay *r) {
  if (r->tap_bytes == 0) return;
  if (r->tap_queued >= TAP_QUEUE) {
    tap_count_dropped(r, r->tap, r->tap_bytes);
    r->totals.tap_batches_dropped++;
    r->tap_bytes = 0;
    return;
  }
  tap_batch *b = malloc(sizeof *b);
  unsigned char *copy = b ? malloc(r->tap_bytes) : NULL;
  if (!copy) {
    free(b);
    tap_count_dropped(r, r->tap, r->tap_bytes);
    r->tap_bytes = 0;
    return;
  }
  memcpy(copy, r->tap, r->tap_bytes);
  b->data = copy;
  b->bytes = r->tap_bytes;
  if (napi_call_threadsafe_function(r->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
    tap_count_dropped(r, copy, b->bytes);
    free(copy);
    free(b);
  } else r->tap_queued++;
  r->tap_bytes = 0;
}

static void tap_append(relay *r, slot *s, int side_index, double arrival_us, const unsigned char *data, size_t len) {
  if (len > 0xffff) len = 0xffff;
  if (r->tap_bytes + TAP_HEAD + len > TAP_CAPACITY) {
    r->totals.tap_overflow++;
    s->tap_dropped[side_index]++;
    return;
  }
  if (r->tap_bytes == 0) r->tap_since_us = arrival_us;
  unsigned char *o = r->tap + r->tap_bytes;
  uint32_t id = s->id;
  uint16_t l = (uint16_t)len;
  memcpy(o, &id, 4);
  o[4] = (unsigned char)side_index;
  memcpy(o + 5, &arrival_us, 8);
  memcpy(o + 13, &l, 2);
  memcpy(o + TAP_HEAD, data, len);
  r->tap_bytes += TAP_HEAD + len;
  if (r->tap_bytes >= TAP_FLUSH_BYTES) tap_flush(r);
}

/* ---- the per-packet path ---- */

static void send_to_peer(relay *r, side *o, const unsigned char *data, size_t len, int rtcp) {
  r->totals.packets++;
  r->totals.bytes += (double)len;
  const struct sockaddr_storage *to = rtcp ? &o->peer_rtcp : &o->peer_rtp;
  int fd = rtcp ? o->rtcp->fd : o->rtp->fd;
  if (sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)to, len_of(to)) < 0) r->totals.send_errors++;
}

/* The peer of `o` is known now: what waited for it goes out in arrival order, unless it is too old. */
static void send_early(relay *r, side *o) {
  held *h = o->early;
  o->early = NULL;
  if (!h) return;
  if (!o->rtp || !o->rtcp) {
    r->totals.no_peer += h->n;
  } else {
    double oldest = now_us(r) - EARLY_MAX_US;
    for (int i = 0; i < h->n; i++) {
      if (h->items[i].at_us < oldest) r->totals.no_peer++;
      else send_to_peer(r, o, h->items[i].data, h->items[i].len, h->items[i].rtcp);
    }
  }
  held_free(h);
}

static void on_packet(relay *r, slot *sl, side *s, int rtcp, const unsigned char *msg, size_t len, const struct sockaddr_storage *from, double at_us) {
  int kind = rtp_kind(msg, len);
  if (kind == KIND_GARBAGE) {
    r->totals.garbage++;
    return;
  }
  if (rtcp) {
    if (!s->rtcp_latched) {
      s->rtcp_latched = 1;
      if (!s->latched) {
        if (!s->has_peer) memset(&s->peer_rtp, 0, sizeof s->peer_rtp);
        set_address(&s->peer_rtp, from);
        s->has_peer = 1;
      }
      s->peer_rtcp = *from;
    }
  } else if (!s->latched) {
    /* Symmetric RTP: answer where the packets come from, whatever the SDP said (NAT). */
    s->latched = 1;
    s->has_peer = 1;
    s->peer_rtp = *from;
    if (!s->rtcp_latched) {
      s->peer_rtcp = *from;
      set_port(&s->peer_rtcp, port_of(from) + 1);
    }
    if (s->early) send_early(r, s);
  } else if (r->strict && (port_of(from) != port_of(&s->peer_rtp) || !same_address(from, &s->peer_rtp))) {
    r->totals.strict_drops++;
    return;
  }
  if (kind == KIND_RTP) {
    stats_on_rtp(&s->stats, &sl->table, msg, len, at_us);
    if (sl->recording) tap_append(r, sl, s->index, at_us, msg, len);
  } else s->rtcp_packets++;
  sl->dirty = 1;
  side *o = s->other;
  if (!o->has_peer) {
    if (held_push(&o->early, msg, len, rtcp, NULL, at_us)) r->totals.no_peer++;
  } else send_to_peer(r, o, msg, len, rtcp);
}

/*
 * An open took a socket that held packets: what waited goes through the
 * stream as if it arrived now (its jitter figure sees the wait). Every
 * unheld socket holds, lent to the proxy or not: an open reaches this
 * thread a thread hop after the offer's answer left, and a caller that
 * starts sending at once would otherwise lose its first packets as stray.
 */
static void replay_before_open(relay *r, relay_socket *k) {
  held *h = k->early;
  k->early = NULL;
  if (!h) return;
  double now = now_us(r);
  double oldest = now - EARLY_MAX_US;
  for (int i = 0; i < h->n; i++) {
    if (h->items[i].at_us < oldest || !k->side) r->totals.stray++;
    else on_packet(r, k->slot, k->side, k->rtcp, h->items[i].data, h->items[i].len, &h->items[i].from, now);
  }
  held_free(h);
}

static void on_readable(relay *r, relay_socket *k, unsigned char *buf) {
  struct sockaddr_storage from;
  socklen_t fromlen = sizeof from;
  ssize_t n = recvfrom(k->fd, buf, DATAGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
  if (n < 0) return;
  double at = now_us(r);
  if (k->side) on_packet(r, k->slot, k->side, k->rtcp, buf, (size_t)n, &from, at);
  else if (held_push(&k->early, buf, (size_t)n, k->rtcp, &from, at)) r->totals.stray++;
}

/* What unheld sockets hold past EARLY_MAX_US is stray: late packets of an ended call, or nobody opened the port. */
static void sweep_held(relay *r, double now) {
  double oldest = now - EARLY_MAX_US;
  for (int fd = 0; fd < r->by_fd_len; fd++) {
    relay_socket *k = r->by_fd[fd];
    if (!k || !k->early || k->side) continue;
    held *h = k->early;
    int keep = 0;
    for (int i = 0; i < h->n; i++) {
      if (h->items[i].at_us < oldest) {
        free(h->items[i].data);
        r->totals.stray++;
      } else h->items[keep++] = h->items[i];
    }
    h->n = keep;
    if (keep == 0) {
      free(h);
      k->early = NULL;
    }
  }
}

static void *loop(void *arg) {
  relay *r = arg;
  struct epoll_event events[MAX_EVENTS];
  unsigned char *buf = malloc(DATAGRAM_MAX);
  for (;;) {
    /* Wakes for the tap's flush and the sweep of held packets even when no packet comes. */
    int wait_ms = r->tap_bytes > 0 ? 20 : 250;
    int n = epoll_wait(r->ep, events, MAX_EVENTS, wait_ms);
    pthread_mutex_lock(&r->lock);
    if (!r->running) {
      pthread_mutex_unlock(&r->lock);
      break;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == r->wake) continue;
      /* Level-triggered: one datagram per ready socket per round; one still holding more is ready again next round. */
      if (fd >= 0 && fd < r->by_fd_len && r->by_fd[fd]) on_readable(r, r->by_fd[fd], buf);
    }
    double now = now_us(r);
    if (r->tap_bytes > 0 && now - r->tap_since_us >= TAP_FLUSH_US) tap_flush(r);
    if (now - r->swept_us >= EARLY_MAX_US / 2) {
      sweep_held(r, now);
      r->swept_us = now;
    }
    pthread_mutex_unlock(&r->lock);
  }
  free(buf);
  return NULL;
}

/* ---- Node-API glue ---- */

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "native relay: " #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static relay *relay_of(napi_env env, napi_value v) {
  relay *r = NULL;
  if (napi_get_value_external(env, v, (void **)&r) != napi_ok || !r) {
    napi_throw_type_error(env, NULL, "native relay: not a relay handle");
    return NULL;
  }
  return r;
}

/* A call's first `n` arguments (missing ones undefined) and the relay handle the first is; NULL, with a JS exception pending, when it is not one. */
static relay *relay_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native relay: cannot read the arguments");
    return NULL;
  }
  return relay_of(env, argv[0]);
}

/* The payload table's per-type divisors (Float64Array(128)) and telephone-event flags (Uint8Array(128)); 0, with a JS exception pending, when they are not. */
static int table_arg(napi_env env, napi_value divisors, napi_value events, payload_table *out) {
  void *div = NULL, *evs = NULL;
  size_t div_len = 0, evs_len = 0, off;
  napi_typedarray_type div_ty, evs_ty;
  napi_value ab;
  if (napi_get_typedarray_info(env, divisors, &div_ty, &div_len, &div, &ab, &off) != napi_ok || div_ty != napi_float64_array || div_len != PAYLOAD_TYPES) {
    napi_throw_type_error(env, NULL, "native relay: divisors must be a Float64Array(128)");
    return 0;
  }
  if (napi_get_typedarray_info(env, events, &evs_ty, &evs_len, &evs, &ab, &off) != napi_ok || evs_ty != napi_uint8_array || evs_len != PAYLOAD_TYPES) {
    napi_throw_type_error(env, NULL, "native relay: events must be a Uint8Array(128)");
    return 0;
  }
  memcpy(out->divisors, div, sizeof out->divisors);
  memcpy(out->events, evs, sizeof out->events);
  return 1;
}

static int32_t int_arg(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}

static double double_arg(napi_env env, napi_value v) {
  double x = 0;
  napi_get_value_double(env, v, &x);
  return x;
}

/* An IP literal argument into buf; anything else (not a string, too long) leaves a string parse_address refuses. */
static void host_arg(napi_env env, napi_value v, char *buf, size_t size) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &n) != napi_ok || n + 1 >= size) buf[0] = 0;
}

static int bool_arg(napi_env env, napi_value v) {
  bool x = false;
  napi_get_value_bool(env, v, &x);
  return x;
}

static void tap_to_js(napi_env env, napi_value callback, void *context, void *data) {
  relay *r = context;
  tap_batch *b = data;
  pthread_mutex_lock(&r->lock);
  r->tap_queued--;
  pthread_mutex_unlock(&r->lock);
  if (env && callback) {
    void *out = NULL;
    napi_value ab;
    if (napi_create_arraybuffer(env, b->bytes, &out, &ab) == napi_ok) {
      memcpy(out, b->data, b->bytes);
      napi_value undefined;
      napi_get_undefined(env, &undefined);
      napi_call_function(env, undefined, callback, 1, &ab, NULL);
    }
  }
  free(b->data);
  free(b);
}

static void stop_relay(relay *r) {
  pthread_mutex_lock(&r->lock);
  int was = r->running;
  r->running = 0;
  pthread_mutex_unlock(&r->lock);
  if (!was) return;
  uint64_t one = 1;
  if (write(r->wake, &one, sizeof one) < 0) { /* the 1 s wait ends the loop anyway */ }
  pthread_join(r->thread, NULL);
  for (int b = 0; b < SLOT_BUCKETS; b++) {
    for (slot *s = r->slots[b]; s;) {
      slot *next = s->next;
      held_free(s->sides[0].early);
      held_free(s->sides[1].early);
      free(s);
      s = next;
    }
    r->slots[b] = NULL;
  }
  for (int fd = 0; fd < r->by_fd_len; fd++) {
    relay_socket *k = r->by_fd[fd];
    if (!k) continue;
    close(k->fd);
    held_free(k->early);
    free(k);
    r->by_fd[fd] = NULL;
  }
  close(r->ep);
  close(r->wake);
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
}

/* The thread that loaded us ends (a shard stopped without destroy, or terminated): stop the packet thread and close its sockets before the tap's function goes. */
static void on_env_cleanup(void *arg) { stop_relay(arg); }

/* Relays created and not yet freed, in this process (every shard's thread loads the same module). */
static atomic_int relays_live;

/* Frees the relay once neither the JS handle nor the tap's function can reach it (both end on the JS thread). */
static void relay_unref(relay *r) {
  if (--r->refs > 0) return;
  atomic_fetch_sub(&relays_live, 1);
  pthread_mutex_destroy(&r->lock);
  free(r->by_fd);
  free(r->tap);
  free(r);
}

/* The tap's function is gone: every queued batch has been delivered or dropped. */
static void tap_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  relay_unref(data);
}

/* The JS handle was collected: stop (a no-op after destroy) and let go. */
static void relay_finalized(napi_env env, void *data, void *hint) {
  (void)hint;
  relay *r = data;
  napi_remove_env_cleanup_hook(env, on_env_cleanup, r);
  stop_relay(r);
  relay_unref(r);
}

/* create(engineNowUs, strictSource, onTap(batch: ArrayBuffer)) → handle */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  relay *r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, NULL, "native relay: out of memory");
    return NULL;
  }
  atomic_fetch_add(&relays_live, 1);
  r->tap = malloc(TAP_CAPACITY);
  r->offset_us = double_arg(env, argv[0]);
  r->strict = bool_arg(env, argv[1]);
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  /* JS passed the engine's clock now; ours reads CLOCK_MONOTONIC: the difference maps one to the other. */
  r->offset_us -= (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
  pthread_mutex_init(&r->lock, NULL);
  r->ep = epoll_create1(EPOLL_CLOEXEC);
  r->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = r->wake};
  epoll_ctl(r->ep, EPOLL_CTL_ADD, r->wake, &ev);
  napi_value name;
  CHECK(napi_create_string_utf8(env, "relay tap", NAPI_AUTO_LENGTH, &name));
  r->refs = 2;
  CHECK(napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, r, tap_finalized, r, tap_to_js, &r->tsfn));
  /* The tap must not keep the shard's event loop alive on its own. */
  napi_unref_threadsafe_function(env, r->tsfn);
  r->running = 1;
  if (pthread_create(&r->thread, NULL, loop, r) != 0) {
    r->running = 0;
    close(r->ep);
    close(r->wake);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    relay_unref(r); /* no handle will hold it; the function's end frees it */
    napi_throw_error(env, NULL, "native relay: cannot start the packet thread");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, on_env_cleanup, r);
  napi_value out;
  CHECK(napi_create_external(env, r, relay_finalized, NULL, &out));
  return out;
}

static napi_value js_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  relay *r = relay_args(env, info, 1, argv);
  if (r) stop_relay(r);
  return NULL;
}

static int parse_address(const char *host, int port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (void *)out;
  struct sockaddr_in6 *v6 = (void *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return 1;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    return 1;
  }
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, const char *host, int port, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s:%d: %s", what, host, port, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : "ERR_SOCKET", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return NULL;
}

/* bind(r, host, port) → fd: a socket bound and polled; until an open takes it, what arrives is held (replay_before_open). */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  relay *r = relay_args(env, info, 3, argv);
  if (!r) return NULL;
  char host[64];
  host_arg(env, argv[1], host, sizeof host);
  int port = int_arg(env, argv[2]);
  struct sockaddr_storage a;
  if (!parse_address(host, port, &a)) return throw_errno(env, "bind", host, port, EINVAL);
  int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", host, port, errno);
  if (bind(fd, (struct sockaddr *)&a, len_of(&a)) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", host, port, err);
  }
  relay_socket *k = calloc(1, sizeof *k);
  if (!k) {
    close(fd);
    return throw_errno(env, "bind", host, port, ENOMEM);
  }
  k->fd = fd;
  k->port = port;
  k->rtcp = port % 2 == 1;
  pthread_mutex_lock(&r->lock);
  if (fd >= r->by_fd_len) {
    int len = r->by_fd_len ? r->by_fd_len : 1024;
    while (len <= fd) len *= 2;
    relay_socket **grown = realloc(r->by_fd, sizeof *grown * (size_t)len);
    if (!grown) {
      pthread_mutex_unlock(&r->lock);
      close(fd);
      free(k);
      return throw_errno(env, "bind", host, port, ENOMEM);
    }
    memset(grown + r->by_fd_len, 0, sizeof *grown * (size_t)(len - r->by_fd_len));
    r->by_fd = grown;
    r->by_fd_len = len;
  }
  r->by_fd[fd] = k;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
  pthread_mutex_unlock(&r->lock);
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

static relay_socket *socket_of(relay *r, int fd) {
  return fd >= 0 && fd < r->by_fd_len ? r->by_fd[fd] : NULL;
}

static void close_socket_locked(relay *r, relay_socket *k) {
  epoll_ctl(r->ep, EPOLL_CTL_DEL, k->fd, NULL);
  r->by_fd[k->fd] = NULL;
  close(k->fd);
  held_free(k->early);
  free(k);
}

/* closeSocket(r, fd): a socket no stream holds. */
static napi_value js_close_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay *r = relay_args(env, info, 2, argv);
  if (!r) return NULL;
  pthread_mutex_lock(&r->lock);
  relay_socket *k = socket_of(r, int_arg(env, argv[1]));
  if (k && !k->side) close_socket_locked(r, k);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* open(r, slot, [aRtp, aRtcp, bRtp, bRtcp] fds, divisors Float64Array(128), events Uint8Array(128), recording) → bool */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  relay *r = relay_args(env, info, 6, argv);
  if (!r) return NULL;
  uint32_t id = (uint32_t)int_arg(env, argv[1]);
  int fds[4];
  for (uint32_t i = 0; i < 4; i++) {
    napi_value v;
    CHECK(napi_get_element(env, argv[2], i, &v));
    fds[i] = int_arg(env, v);
  }
  payload_table table;
  if (!table_arg(env, argv[3], argv[4], &table)) return NULL;
  int recording = bool_arg(env, argv[5]);
  napi_value out;
  pthread_mutex_lock(&r->lock);
  relay_socket *k[4];
  int ok = slot_get(r, id) == NULL;
  for (int i = 0; i < 4 && ok; i++) {
    k[i] = socket_of(r, fds[i]);
    if (!k[i] || k[i]->side) ok = 0;
  }
  if (ok) {
    slot *s = calloc(1, sizeof *s);
    if (!s) ok = 0;
    else {
      s->id = id;
      s->recording = recording;
      s->table = table;
      for (int i = 0; i < 2; i++) {
        side *d = &s->sides[i];
        d->index = i;
        d->other = &s->sides[1 - i];
        d->rtp = k[2 * i];
        d->rtcp = k[2 * i + 1];
        d->rtp->slot = d->rtcp->slot = s;
        d->rtp->side = d->rtcp->side = d;
      }
      s->next = r->slots[id % SLOT_BUCKETS];
      r->slots[id % SLOT_BUCKETS] = s;
      r->slot_count++;
    }
  }
  pthread_mutex_unlock(&r->lock);
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

/* replay(r, slot): after the open and its peers, what its sockets held goes through. */
static napi_value js_replay(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay *r = relay_args(env, info, 2, argv);
  if (!r) return NULL;
  pthread_mutex_lock(&r->lock);
  slot *s = slot_get(r, (uint32_t)int_arg(env, argv[1]));
  if (s) {
    for (int i = 0; i < 2; i++) {
      replay_before_open(r, s->sides[i].rtp);
      replay_before_open(r, s->sides[i].rtcp);
    }
  }
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* setPeer(r, slot, side, address, rtpPort, rtcpPort): the SDP says where a side's peer is; a latched side keeps its latched address. */
static napi_value js_set_peer(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  relay *r = relay_args(env, info, 6, argv);
  if (!r) return NULL;
  char host[64];
  host_arg(env, argv[3], host, sizeof host);
  int rtp_port = int_arg(env, argv[4]), rtcp_port = int_arg(env, argv[5]);
  struct sockaddr_storage rtp, rtcp;
  int parsed = parse_address(host, rtp_port, &rtp) && parse_address(host, rtcp_port, &rtcp);
  pthread_mutex_lock(&r->lock);
  slot *s = slot_get(r, (uint32_t)int_arg(env, argv[1]));
  int i = int_arg(env, argv[2]) == 1 ? 1 : 0;
  if (s && parsed && !s->sides[i].latched) {
    side *d = &s->sides[i];
    d->peer_rtp = rtp;
    d->peer_rtcp = rtcp;
    d->has_peer = 1;
    if (d->early) send_early(r, d);
  }
  pthread_mutex_unlock(&r->lock);
  napi_value out;
  CHECK(napi_get_boolean(env, parsed, &out));
  return out;
}

static napi_value js_record(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  relay *r = relay_args(env, info, 3, argv);
  if (!r) return NULL;
  pthread_mutex_lock(&r->lock);
  slot *s = slot_get(r, (uint32_t)int_arg(env, argv[1]));
  if (s) s->recording = bool_arg(env, argv[2]);
  pthread_mutex_unlock(&r->lock);
  napi_value out;
  CHECK(napi_get_boolean(env, s != NULL, &out));
  return out;
}

/* One side's figures: [Float64Array of FIGURE_FIELDS, latched "ip:port" or null]; see native-path.ts for the order. */
#define FIGURE_FIELDS 17
static napi_value side_figures(napi_env env, const side *d) {
  const stream_stats *s = &d->stats;
  int started = s->packets > 0;
  double expected = s->prior_expected + (started ? (double)(s->ext_last - s->first_seq + 1) : 0);
  double weight = s->seg_packets > 1 ? s->seg_packets - 1 : 0;
  double mean_weight = s->prior_mean_weight + weight;
  double f[FIGURE_FIELDS] = {
      s->packets,        s->bytes,         started ? (double)s->ssrc : -1, s->ssrc_changes, started ? s->first_seq : -1,
      started ? s->payload_type : -1,      expected,                       expected - s->packets, s->sequence_errors,
      s->max_delta_ms,   s->jitter_ms,     s->max_jitter_ms,
      mean_weight > 0 ? (s->prior_mean_sum + s->mean_jitter_ms * weight) / mean_weight : 0,
      started ? s->first_us : -1,          started ? s->last_us : -1,      d->rtcp_packets,  started};
  void *data = NULL;
  napi_value ab, arr, pair, latched;
  napi_create_arraybuffer(env, sizeof f, &data, &ab);
  memcpy(data, f, sizeof f);
  napi_create_typedarray(env, napi_float64_array, FIGURE_FIELDS, ab, 0, &arr);
  if (d->latched) {
    char ip[INET6_ADDRSTRLEN] = "";
    char text[INET6_ADDRSTRLEN + 8];
    if (d->peer_rtp.ss_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)&d->peer_rtp)->sin_addr, ip, sizeof ip);
    else inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&d->peer_rtp)->sin6_addr, ip, sizeof ip);
    snprintf(text, sizeof text, "%s:%d", ip, port_of(&d->peer_rtp));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &latched);
  } else napi_get_null(env, &latched);
  napi_create_array_with_length(env, 2, &pair);
  napi_set_element(env, pair, 0, arr);
  napi_set_element(env, pair, 1, latched);
  return pair;
}

static napi_value slot_figures(napi_env env, const slot *s) {
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, side_figures(env, &s->sides[0]));
  napi_set_element(env, out, 1, side_figures(env, &s->sides[1]));
  return out;
}

/* figures(r, slot) → [side A, side B] or null */
static napi_value js_figures(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay *r = relay_args(env, info, 2, argv);
  if (!r) return NULL;
  napi_value out;
  pthread_mutex_lock(&r->lock);
  slot *s = slot_get(r, (uint32_t)int_arg(env, argv[1]));
  if (s) out = slot_figures(env, s);
  else napi_get_null(env, &out);
  pthread_mutex_unlock(&r->lock);
  return out;
}

/* close(r, slot, keepWarm) → the stream's last figures, or null: its sockets stay bound (unheld, stray-counting) or close. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  relay *r = relay_args(env, info, 3, argv);
  if (!r) return NULL;
  uint32_t id = (uint32_t)int_arg(env, argv[1]);
  int keep = bool_arg(env, argv[2]);
  napi_value out;
  pthread_mutex_lock(&r->lock);
  slot **at = &r->slots[id % SLOT_BUCKETS];
  while (*at && (*at)->id != id) at = &(*at)->next;
  slot *s = *at;
  if (!s) {
    pthread_mutex_unlock(&r->lock);
    napi_get_null(env, &out);
    return out;
  }
  *at = s->next;
  r->slot_count--;
  out = slot_figures(env, s);
  for (int i = 0; i < 2; i++) {
    side *d = &s->sides[i];
    if (d->early) r->totals.no_peer += d->early->n;
    held_free(d->early);
    relay_socket *ks[2] = {d->rtp, d->rtcp};
    for (int j = 0; j < 2; j++) {
      relay_socket *k = ks[j];
      k->slot = NULL;
      k->side = NULL;
      if (!keep) close_socket_locked(r, k);
    }
  }
  free(s);
  pthread_mutex_unlock(&r->lock);
  return out;
}

/* Under the lock, one entry per stream for which `row` gives one (NULL: none), as a JS array. */
static napi_value slot_rows(napi_env env, napi_callback_info info, napi_value (*row)(napi_env, slot *)) {
  napi_value argv[1];
  relay *r = relay_args(env, info, 1, argv);
  if (!r) return NULL;
  napi_value out;
  CHECK(napi_create_array(env, &out));
  uint32_t n = 0;
  pthread_mutex_lock(&r->lock);
  for (int b = 0; b < SLOT_BUCKETS; b++)
    for (slot *s = r->slots[b]; s; s = s->next) {
      napi_value v = row(env, s);
      if (v) napi_set_element(env, out, n++, v);
    }
  pthread_mutex_unlock(&r->lock);
  return out;
}

static napi_value dirty_row(napi_env env, slot *s) {
  if (!s->dirty) return NULL;
  s->dirty = 0;
  napi_value v;
  napi_create_uint32(env, s->id, &v);
  return v;
}

static napi_value tap_dropped_row(napi_env env, slot *s) {
  if (s->tap_dropped[0] == 0 && s->tap_dropped[1] == 0) return NULL;
  napi_value row, v;
  napi_create_array_with_length(env, 3, &row);
  napi_create_uint32(env, s->id, &v);
  napi_set_element(env, row, 0, v);
  for (int i = 0; i < 2; i++) {
    napi_create_double(env, s->tap_dropped[i], &v);
    napi_set_element(env, row, (uint32_t)i + 1, v);
  }
  s->tap_dropped[0] = s->tap_dropped[1] = 0;
  return row;
}

/* takeDirty(r) → ids of the streams that moved since the last call */
static napi_value js_take_dirty(napi_env env, napi_callback_info info) { return slot_rows(env, info, dirty_row); }

/* takeTapDropped(r) → [[slot, from the caller, from the callee], …] since the last call */
static napi_value js_take_tap_dropped(napi_env env, napi_callback_info info) { return slot_rows(env, info, tap_dropped_row); }

/* totals(r) → Float64Array [packets, bytes, garbage, strictDrops, noPeer, stray, sendErrors, tapOverflow, sessions] */
static napi_value js_totals(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  relay *r = relay_args(env, info, 1, argv);
  if (!r) return NULL;
  double f[9];
  pthread_mutex_lock(&r->lock);
  totals_t *t = &r->totals;
  double v[9] = {t->packets, t->bytes, t->garbage, t->strict_drops, t->no_peer, t->stray, t->send_errors, t->tap_overflow, r->slot_count};
  memcpy(f, v, sizeof f);
  pthread_mutex_unlock(&r->lock);
  void *data = NULL;
  napi_value ab, out;
  CHECK(napi_create_arraybuffer(env, sizeof f, &data, &ab));
  memcpy(data, f, sizeof f);
  CHECK(napi_create_typedarray(env, napi_float64_array, 9, ab, 0, &out));
  return out;
}

/*
 * analyse(packets: Buffer[], arrivalsUs: Float64Array, divisors, events) → one side's figures:
 * the packet thread's stream figures for given packets and arrival times, with nothing on a socket
 * (test/unit/rtp-native-stats.test.ts holds them to ../stream-stats.ts's, field for field).
 */
static napi_value js_analyse(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  CHECK(napi_get_array_length(env, argv[0], &n));
  void *arr = NULL;
  size_t arr_len = 0, off;
  napi_typedarray_type ty;
  napi_value ab;
  CHECK(napi_get_typedarray_info(env, argv[1], &ty, &arr_len, &arr, &ab, &off));
  if (ty != napi_float64_array || arr_len != n) {
    napi_throw_type_error(env, NULL, "native relay: one arrival per packet, as a Float64Array");
    return NULL;
  }
  payload_table table;
  if (!table_arg(env, argv[2], argv[3], &table)) return NULL;
  slot *s = calloc(1, sizeof *s);
  if (!s) {
    napi_throw_error(env, NULL, "native relay: out of memory");
    return NULL;
  }
  s->table = table;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    void *data = NULL;
    size_t len = 0;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_buffer_info(env, v, &data, &len) != napi_ok) continue;
    if (rtp_kind(data, len) == KIND_RTP) stats_on_rtp(&s->sides[0].stats, &s->table, data, len, ((double *)arr)[i]);
  }
  napi_value out = side_figures(env, &s->sides[0]);
  free(s);
  return out;
}

/* live() → relays created and not yet freed in this process: for tests that a stopped shard's relay is let go. */
static napi_value js_live(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, atomic_load(&relays_live), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor p[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destroy", NULL, js_destroy, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeSocket", NULL, js_close_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"replay", NULL, js_replay, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setPeer", NULL, js_set_peer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"record", NULL, js_record, NULL, NULL, NULL, napi_enumerable, NULL},
      {"figures", NULL, js_figures, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"takeDirty", NULL, js_take_dirty, NULL, NULL, NULL, napi_enumerable, NULL},
      {"takeTapDropped", NULL, js_take_tap_dropped, NULL, NULL, NULL, napi_enumerable, NULL},
      {"totals", NULL, js_totals, NULL, NULL, NULL, napi_enumerable, NULL},
      {"analyse", NULL, js_analyse, NULL, NULL, NULL, napi_enumerable, NULL},
      {"live", NULL, js_live, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof p / sizeof p[0], p);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
