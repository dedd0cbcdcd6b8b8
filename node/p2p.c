/*
 * Peer links on NNG streams. Everything runs on NNG's aio callbacks; one mutex per p2p
 * guards the shared state (connection list, send queues, flags), and no user callback is
 * ever called with it held.
 *
 * A connection has two aios. The receive side is a state machine (HELLO, AUTH, frame
 * header, frame body) over a 64 KiB input buffer: a frame that fits is delivered straight
 * from the buffer, a larger one is read into its own allocation. Whoever holds the "rx
 * turn" (rx_busy) may touch the receive state without the lock: the rx callback, or the
 * thread that announces a connection that waited for its predecessor (see below). The send
 * side drains a queue of reference-counted frames, one nng_stream_send at a time, resending
 * the rest when a send was partial. Frames are queued as they are and sealed for the link
 * as they go out, by the holder of the "tx turn" (tx_busy) without the lock; the receive
 * side opens each one in place before delivering it.
 *
 * Teardown: closing a connection closes its stream, which completes its pending aios with
 * an error. The last aio to go idle on a closed connection "retires" it: announces down (if
 * it was up), unlinks it and hands it to a reaper thread, which frees the aios (waiting for
 * any callback still returning), the stream and the memory. p2p_stop closes everything and
 * waits until the reaper has freed every connection, so no callback runs after it returns.
 *
 * Duplicates: a second authenticated connection to a key is resolved by the rule of p2p.h
 * (different directions: keep the one dialled by the smaller key; same direction: keep the
 * newer one, since the old one is likely half-dead). A winner that replaces a connection
 * that was up waits (CONN_WAIT, reading nothing) until the loser's down has been announced,
 * then is announced up itself: for one key, up and down strictly alternate.
 *
 * Dialers keep dialling their address while it has no live connection. Once a dialer knows
 * the key behind its address, it goes idle while any live connection to that key exists
 * (for instance the inbound one that won the duplicate rule) and wakes when it goes.
 */
#include "p2p.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>
#include <sodium.h>

#include "ledger/codec.h"
#include "node/log.h"

#define P2P_IBUF_BYTES      (64u * 1024)
#define P2P_URL_MAX         (P2P_ADDR_MAX + 16)
#define P2P_TLS_FILE_MAX    (1024u * 1024)
#define P2P_FRAME_HDR_BYTES 4
#define P2P_ACCEPT_RETRY_MS 100
#define P2P_DIAL_TIMEOUT_MS 5000 /* else an unanswered SYN holds the dialer for minutes */
#define P2P_PK_PREFIX_BYTES 8
/* A sealed frame goes out this much payload at a time (a multiple of ChaCha20's 64-byte
 * block), so a link never holds more than one chunk's copy of a frame it shares. */
#define P2P_SEAL_CHUNK (1024u * 1024)
/* A frame this small is sealed at once by whoever queues it to an idle link, under the lock
 * (at most about 0.2 ms), rather than handed to the tx callback: votes and most proposals
 * go out without waiting for a thread of NNG's task queue, which on two loaded cores
 * lengthened the tail of commit latency (bench QUICK, p99 at half peak). */
#define P2P_SEAL_INLINE (256u * 1024)

_Static_assert(P2P_HELLO_FIXED_BYTES + P2P_ADDR_MAX <= P2P_IBUF_BYTES, "a HELLO fits the buffer");
_Static_assert(SIG_BYTES <= P2P_IBUF_BYTES, "an AUTH fits the buffer");
_Static_assert(P2P_FRAME_MAX <= UINT32_MAX - P2P_FRAME_HDR_BYTES - P2P_TAG_BYTES,
               "lengths fit a u32");
_Static_assert(P2P_QUEUE_BYTES_MAX >= P2P_FRAME_MAX + P2P_FRAME_HDR_BYTES,
               "one largest frame fits a send queue");
_Static_assert(P2P_EPHEMERAL_BYTES == crypto_kx_PUBLICKEYBYTES, "HELLO carries an X25519 key");
_Static_assert(P2P_TAG_BYTES == crypto_aead_chacha20poly1305_ietf_ABYTES, "the AEAD's tag");
_Static_assert(crypto_kx_SESSIONKEYBYTES == crypto_aead_chacha20poly1305_ietf_KEYBYTES,
               "session keys are AEAD keys");
_Static_assert(P2P_SEAL_CHUNK % 64 == 0, "chunks end on ChaCha20 blocks");
_Static_assert(P2P_FRAME_MAX / 64 + 1 < UINT32_MAX, "block counters fit ChaCha20-IETF's 32 bits");
_Static_assert(P2P_BACKOFF_MIN_MS <= P2P_BACKOFF_MAX_MS, "backoff bounds");

/*
 * Bytes to send (length prefix included), shared by every queue that holds them. A frame
 * to seal is sealed for each connection as it goes out; HELLO and AUTH go as they are.
 */
struct frame {
    atomic_size_t refs;
    bool seal;
    size_t len;
    uint8_t data[];
};

struct qitem {
    struct qitem *next;
    struct frame *f;
};

enum conn_state {
    CONN_HANDSHAKE, /* HELLO or AUTH not yet verified */
    CONN_WAIT,      /* authenticated; waits for the down of the connection it replaces */
    CONN_OPEN,      /* authenticated and up: carries frames */
};

enum rx_phase { RX_HELLO, RX_AUTH, RX_HDR, RX_BODY };

enum dial_state {
    DIAL_DIALING,   /* aio: a dial */
    DIAL_SLEEP,     /* aio: the backoff */
    DIAL_CONNECTED, /* aio idle: its connection lives; redial when it retires */
    DIAL_IDLE,      /* aio idle: another connection to the same key lives, or it is us */
};

struct dialer {
    struct p2p *p;
    char addr[P2P_ADDR_MAX];
    nng_stream_dialer *d;
    nng_aio *aio;
    /* Guarded by p->lock. */
    enum dial_state state;
    nng_duration backoff_ms;
    bool pk_known, is_self;
    uint8_t pk[SIG_PUBKEY_BYTES];
};

struct conn {
    struct p2p *p;
    struct conn *next;     /* in p->conns, then in p->reap */
    struct dialer *dialer; /* NULL for inbound */
    uint32_t id;
    bool outbound;
    char addr[P2P_ADDR_MAX];
    nng_stream *s;
    nng_aio *rx_aio, *tx_aio;

    /* Guarded by p->lock. */
    enum conn_state state;
    bool closed;     /* stream closed; nothing more is queued or delivered */
    bool rx_busy;    /* someone holds the rx turn (an aio in flight or a callback running) */
    bool tx_busy;    /* a send is in flight */
    bool retired;    /* claimed for teardown */
    bool up;         /* announced up (or being announced); down is due when it retires */
    bool privileged; /* dialled by us, or a reserved key (from CONN_WAIT on) */
    bool to_self;    /* its HELLO presented our own key (its AUTH decides) */
    atomic_bool rx_sleeping;      /* the rx aio waits out the unprivileged peers' read rate */
    uint8_t pk[SIG_PUBKEY_BYTES]; /* the peer's key, from CONN_WAIT on */
    struct qitem *q_head, *q_tail;
    size_t q_bytes; /* queued, including the frame in flight */
    size_t tx_off;  /* bytes already sent of q_head, or of tx_stage if it is sealed */
    bool tx_staged; /* tx_stage holds the next sealed bytes of q_head */
    bool tx_wake;   /* tx_aio completes without a send, for its callback to seal q_head */

    /*
     * The secure channel (p2p.h). The session keys are set by the rx turn while it checks
     * the HELLO, before the AUTH is queued; sealed frames are queued only after that, under
     * the lock, which orders the two. Sealing belongs to the holder of the tx turn
     * (tx_busy), opening to the holder of the rx turn.
     */
    uint8_t hello[P2P_HELLO_MAX]; /* ours, as sent */
    size_t hello_len;
    uint8_t peer_auth[HASH_BYTES];             /* what the peer's AUTH must sign */
    uint8_t eph_pk[P2P_EPHEMERAL_BYTES];       /* ours, in our HELLO */
    uint8_t eph_sk[crypto_kx_SECRETKEYBYTES];  /* wiped once the keys are derived */
    uint8_t peer_eph[P2P_EPHEMERAL_BYTES];     /* the peer's, from its HELLO */
    uint8_t rx_key[crypto_kx_SESSIONKEYBYTES]; /* opens what the peer sends */
    uint8_t tx_key[crypto_kx_SESSIONKEYBYTES]; /* seals what we send */
    uint64_t rx_seq, tx_seq;                   /* the nonces: frames so far each way */
    /* q_head is sealed and sent P2P_SEAL_CHUNK bytes at a time (tx turn). */
    bool tx_begun;  /* its nonce, MAC key and length are set */
    size_t tx_done; /* bytes of its payload sealed so far */
    uint8_t tx_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    crypto_onetimeauth_poly1305_state tx_mac;
    uint8_t *tx_stage; /* the chunk going out, while the link has something to send */
    size_t tx_stage_len, tx_stage_cap;

    /* Owned by the holder of the rx turn. */
    enum rx_phase phase;
    nng_time hs_deadline;
    uint8_t peer_pk[SIG_PUBKEY_BYTES];
    char listen_addr[P2P_ADDR_MAX]; /* also read under the lock once authenticated */
    uint32_t body_len;              /* sealed: the tag included */
    uint8_t *body;                  /* a frame larger than half the buffer, read in place */
    size_t body_got;
    bool body_shared;       /* body_len counts in p->rx_shared (lock) */
    nng_time body_deadline; /* when body must be complete */
    size_t ioff, ilen;      /* unread input is ibuf[ioff, ilen) */
    uint8_t ibuf[P2P_IBUF_BYTES];
};

struct p2p {
    pthread_mutex_t lock;
    pthread_cond_t reap_cv; /* the reaper waits for work */
    pthread_cond_t idle_cv; /* p2p_stop waits for n_conns == 0 */
    uint8_t genesis[HASH_BYTES];
    const struct wallet_key *key;
    p2p_recv_fn on_recv;
    p2p_peer_fn on_peer;
    void *arg;
    char listen_addr[P2P_ADDR_MAX];
    nng_tls_config *tls_server, *tls_client;
    nng_stream_listener *listener;
    nng_aio *accept_aio;
    struct dialer *dialers;
    size_t n_dialers;
    uint8_t (*reserved)[SIG_PUBKEY_BYTES];
    size_t n_reserved;
    size_t inbound_max;
    pthread_t reaper;
    bool reaper_started;

    /* Guarded by lock. */
    bool stopping, reaper_exit, accept_sleeping;
    struct conn *conns; /* live and closing, oldest first */
    struct conn *reap;  /* retired, for the reaper */
    size_t n_conns;     /* allocated and not yet freed */
    uint32_t next_id;
    size_t rx_shared; /* bytes of large frames being read from unprivileged peers */
    double rx_tokens; /* what unprivileged peers may still send now (a token bucket) */
    nng_time rx_at;   /* when rx_tokens was last topped up */
    struct log_budget refusals;
};

static void conn_close_locked(struct conn *c);
static void conn_settle_unlock(struct conn *c);
static void conn_rx_run(struct conn *c);

/* --- small helpers ------------------------------------------------------------------- */

static void set_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

static void
pk_prefix(char out[2 * P2P_PK_PREFIX_BYTES + 1], const uint8_t pk[SIG_PUBKEY_BYTES])
{
    codec_hex_encode(out, pk, P2P_PK_PREFIX_BYTES);
}

/*
 * Logs that connection `id` was refused or dropped, within the budget of such lines
 * (strangers can open connections by the thousand). pk may be NULL. Lock held.
 */
static void
refusal_log_locked(struct p2p *p, enum log_level level, const char *msg, uint32_t id,
                   const char *addr, const char *pk, const char *reason)
{
    uint64_t skipped;
    if (log_budget_take(&p->refusals, nng_clock(), &skipped))
        log_emit(level, msg, "{s:I, s:s, s:s?, s:s, s:I}", "peer", (json_int_t)id, "addr", addr,
                 "pubkey", pk, "reason", reason, "unlogged", (json_int_t)skipped);
}

/* Whether two "host:port" addresses have the same host. */
static bool
same_host_addr(const char *a, const char *b)
{
    const char *ca = strrchr(a, ':'), *cb = strrchr(b, ':');
    return ca && cb && ca - a == cb - b && memcmp(a, b, (size_t)(ca - a)) == 0;
}

static bool
reserved_key(const struct p2p *p, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < p->n_reserved; i++)
        if (memcmp(p->reserved[i], pk, SIG_PUBKEY_BYTES) == 0)
            return true;
    return false;
}

/* "host:port", short enough, printable, and without a scheme (we add it). */
static bool
addr_valid(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    if (n == 0 || n >= P2P_ADDR_MAX || strstr(addr, "://") || !strchr(addr, ':'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (addr[i] <= 0x20 || addr[i] >= 0x7f)
            return false;
    return true;
}

static bool
tls_wanted(const struct p2p_config *cfg)
{
    return (cfg->tls_cert && cfg->tls_cert[0]) || (cfg->tls_key && cfg->tls_key[0]) ||
           (cfg->tls_ca && cfg->tls_ca[0]);
}

static void
url_of(char out[P2P_URL_MAX], const struct p2p *p, const char *addr)
{
    snprintf(out, P2P_URL_MAX, "%s://%s", p->tls_server ? "tls+tcp" : "tcp", addr);
}

/* The remote address of an accepted stream, "ip:port", or "?" if NNG does not say. */
static void
stream_remote_addr(nng_stream *s, char out[P2P_ADDR_MAX])
{
    nng_sockaddr sa;
    char ip[INET6_ADDRSTRLEN];
    snprintf(out, P2P_ADDR_MAX, "?");
    if (nng_stream_get_addr(s, NNG_OPT_REMADDR, &sa) != 0)
        return;
    if (sa.s_family == NNG_AF_INET && inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip)) != NULL)
        snprintf(out, P2P_ADDR_MAX, "%s:%u", ip, (unsigned)ntohs(sa.s_in.sa_port));
    else if (sa.s_family == NNG_AF_INET6 &&
             inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof(ip)) != NULL)
        snprintf(out, P2P_ADDR_MAX, "[%s]:%u", ip, (unsigned)ntohs(sa.s_in6.sa_port));
}

static struct frame *
frame_alloc(size_t len)
{
    struct frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return NULL;
    atomic_init(&f->refs, 1);
    f->seal = false;
    f->len = len;
    return f;
}

/* A frame carrying msg: its length prefix, then the bytes. */
static struct frame *
frame_of_msg(const uint8_t *msg, size_t len)
{
    IDL_ASSERT(len <= P2P_FRAME_MAX);
    IDL_ASSERT(msg || len == 0);
    struct frame *f = frame_alloc(P2P_FRAME_HDR_BYTES + len);
    if (!f)
        return NULL;
    f->seal = true;
    codec_be32_put(f->data, (uint32_t)len);
    if (len)
        memcpy(f->data + P2P_FRAME_HDR_BYTES, msg, len);
    return f;
}

static void
frame_unref(struct frame *f)
{
    if (atomic_fetch_sub(&f->refs, 1) == 1)
        free(f);
}

/* --- send side ----------------------------------------------------------------------- */

/* The AEAD's nonce for the frame numbered seq in one direction: 4 zero bytes, then seq. */
static void
nonce_of(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t seq)
{
    memset(nonce, 0, 4);
    codec_be64_put(nonce + 4, seq);
}

/*
 * Seals the next chunk of f for c into c->tx_stage: ChaCha20-Poly1305 as RFC 8439 (and
 * libsodium's crypto_aead_chacha20poly1305_ietf, which the receiver opens it with) builds
 * it, one chunk at a time. The first chunk begins with the length of the sealed body, in
 * the clear and MACed as the associated data; the last one ends with the tag. The tx turn
 * held, no lock.
 */
static void
conn_seal_next(struct conn *c, const struct frame *f)
{
    static const uint8_t zeros[16];
    size_t body = f->len - P2P_FRAME_HDR_BYTES;
    uint8_t *o = c->tx_stage;
    if (!c->tx_begun) {
        uint8_t block0[64]; /* keystream block 0: the one-time Poly1305 key */
        nonce_of(c->tx_nonce, c->tx_seq++);
        crypto_stream_chacha20_ietf(block0, sizeof(block0), c->tx_nonce, c->tx_key);
        crypto_onetimeauth_poly1305_init(&c->tx_mac, block0);
        sodium_memzero(block0, sizeof(block0));
        codec_be32_put(o, (uint32_t)(body + P2P_TAG_BYTES));
        crypto_onetimeauth_poly1305_update(&c->tx_mac, o, P2P_FRAME_HDR_BYTES);
        crypto_onetimeauth_poly1305_update(&c->tx_mac, zeros, 16 - P2P_FRAME_HDR_BYTES);
        o += P2P_FRAME_HDR_BYTES;
        c->tx_begun = true;
    }
    size_t n = body - c->tx_done < P2P_SEAL_CHUNK ? body - c->tx_done : P2P_SEAL_CHUNK;
    crypto_stream_chacha20_ietf_xor_ic(o, f->data + P2P_FRAME_HDR_BYTES + c->tx_done, n,
                                       c->tx_nonce, (uint32_t)(1 + c->tx_done / 64), c->tx_key);
    crypto_onetimeauth_poly1305_update(&c->tx_mac, o, n);
    c->tx_done += n;
    o += n;
    if (c->tx_done == body) {
        uint8_t lens[16];
        crypto_onetimeauth_poly1305_update(&c->tx_mac, zeros, (16 - body % 16) % 16);
        for (int i = 0; i < 8; i++) {
            lens[i] = (uint8_t)((uint64_t)P2P_FRAME_HDR_BYTES >> (8 * i));
            lens[8 + i] = (uint8_t)((uint64_t)body >> (8 * i));
        }
        crypto_onetimeauth_poly1305_update(&c->tx_mac, lens, sizeof(lens));
        crypto_onetimeauth_poly1305_final(&c->tx_mac, o);
        o += P2P_TAG_BYTES;
    }
    c->tx_stage_len = (size_t)(o - c->tx_stage);
}

/*
 * Seals the next chunk of f (c's queue head) into c->tx_stage, allocated to fit, and marks
 * it staged. False if memory ran out. Run by the one allowed to: the tx callback holding
 * the turn without the lock, or conn_tx_kick_locked before it takes the turn.
 */
static bool
conn_stage(struct conn *c, const struct frame *f)
{
    size_t rest = f->len - P2P_FRAME_HDR_BYTES - c->tx_done;
    size_t need =
        P2P_FRAME_HDR_BYTES + (rest < P2P_SEAL_CHUNK ? rest : P2P_SEAL_CHUNK) + P2P_TAG_BYTES;
    if (c->tx_stage_cap < need) {
        free(c->tx_stage);
        c->tx_stage = malloc(need);
        c->tx_stage_cap = c->tx_stage ? need : 0;
    }
    if (!c->tx_stage)
        return false;
    conn_seal_next(c, f);
    c->tx_staged = true;
    return true;
}

static void
conn_stage_failed_locked(struct conn *c)
{
    log_error("p2p out of memory, disconnecting peer", "{s:I, s:s}", "peer", (json_int_t)c->id,
              "addr", c->addr);
    conn_close_locked(c);
}

/* Sends (the rest of) what is ready of the head of the queue. Lock held, tx_busy set. */
static void
conn_tx_send_locked(struct conn *c)
{
    struct frame *f = c->q_head->f;
    IDL_ASSERT(!f->seal || c->tx_staged);
    const uint8_t *wire = f->seal ? c->tx_stage : f->data;
    size_t len = f->seal ? c->tx_stage_len : f->len;
    IDL_ASSERT(c->tx_off < len);
    nng_iov iov = {.iov_buf = (void *)(wire + c->tx_off), .iov_len = len - c->tx_off};
    int rv = nng_aio_set_iov(c->tx_aio, 1, &iov);
    IDL_ASSERT(rv == 0); /* one iov always fits the aio */
    /* Completion is dispatched to NNG's task queue, never run inline: safe under the lock. */
    nng_stream_send(c->s, c->tx_aio);
}

/*
 * Starts sending the head of the queue unless a send is in flight. A frame to seal is
 * handed to the tx callback, which seals it without the lock. Lock held.
 */
static void
conn_tx_kick_locked(struct conn *c)
{
    if (c->tx_busy || c->closed || !c->q_head)
        return;
    IDL_ASSERT(!c->tx_staged); /* a staged chunk is sent before the turn is given up */
    struct frame *f = c->q_head->f;
    if (f->seal && f->len - P2P_FRAME_HDR_BYTES <= P2P_SEAL_INLINE && !conn_stage(c, f)) {
        conn_stage_failed_locked(c);
        return;
    }
    if (!f->seal || c->tx_staged) {
        c->tx_busy = true;
        conn_tx_send_locked(c);
        return;
    }
    if (!nng_aio_begin(c->tx_aio))
        return; /* the aio is being stopped: the connection is going */
    c->tx_busy = true;
    c->tx_wake = true;
    nng_aio_finish(c->tx_aio, 0); /* the callback runs on NNG's task queue, not here */
}

/*
 * Appends f (taking a reference) to c's queue. A peer whose queue would exceed
 * P2P_QUEUE_BYTES_MAX, or for whom memory runs out, is disconnected: frames are never
 * dropped silently. Returns whether f was queued. Lock held.
 */
static bool
conn_enqueue_locked(struct conn *c, struct frame *f)
{
    if (c->closed)
        return false;
    if (c->q_bytes + f->len > P2P_QUEUE_BYTES_MAX) {
        char pk[2 * P2P_PK_PREFIX_BYTES + 1];
        pk_prefix(pk, c->pk);
        log_warn("p2p peer too slow, disconnecting", "{s:I, s:s, s:s, s:I}", "peer",
                 (json_int_t)c->id, "addr", c->addr, "pubkey", pk, "queued_bytes",
                 (json_int_t)c->q_bytes);
        conn_close_locked(c);
        return false;
    }
    struct qitem *q = malloc(sizeof(*q));
    if (!q) {
        log_error("p2p out of memory, disconnecting peer", "{s:I, s:s}", "peer", (json_int_t)c->id,
                  "addr", c->addr);
        conn_close_locked(c);
        return false;
    }
    atomic_fetch_add(&f->refs, 1);
    q->f = f;
    q->next = NULL;
    if (c->q_tail)
        c->q_tail->next = q;
    else
        c->q_head = q;
    c->q_tail = q;
    c->q_bytes += f->len;
    conn_tx_kick_locked(c);
    return true;
}

static void
conn_tx_cb(void *arg)
{
    struct conn *c = arg;
    struct p2p *p = c->p;
    int rv = nng_aio_result(c->tx_aio);
    size_t n = nng_aio_count(c->tx_aio);

    pthread_mutex_lock(&p->lock);
    if (c->tx_wake) {
        c->tx_wake = false; /* woken to seal the head: nothing was sent */
    } else if (rv != 0) {
        if (!c->closed && !p->stopping)
            log_info("p2p send failed, closing", "{s:I, s:s, s:s}", "peer", (json_int_t)c->id,
                     "addr", c->addr, "error", nng_strerror(rv));
        conn_close_locked(c);
    } else {
        /* A send may be partial: advance, and send the rest of the same bytes next. */
        struct qitem *q = c->q_head;
        size_t len = q->f->seal ? c->tx_stage_len : q->f->len;
        IDL_ASSERT(q && n <= len - c->tx_off);
        c->tx_off += n;
        bool frame_done = c->tx_off == len;
        if (c->tx_off == len && q->f->seal) {
            c->tx_off = 0;
            c->tx_staged = false;
            frame_done = c->tx_done == q->f->len - P2P_FRAME_HDR_BYTES;
        }
        if (frame_done) {
            c->q_head = q->next;
            if (!c->q_head)
                c->q_tail = NULL;
            c->q_bytes -= q->f->len;
            c->tx_off = 0;
            c->tx_begun = false;
            c->tx_done = 0;
            frame_unref(q->f);
            free(q);
        }
    }
    if (!c->closed && c->q_head && c->q_head->f->seal && !c->tx_staged) {
        /* The tx turn is ours (tx_busy), and only this callback takes from the queue:
         * the head stays while the lock is let go. */
        struct frame *f = c->q_head->f;
        pthread_mutex_unlock(&p->lock);
        bool staged = conn_stage(c, f);
        pthread_mutex_lock(&p->lock);
        if (!staged)
            conn_stage_failed_locked(c);
    }
    if (!c->closed && c->q_head) {
        conn_tx_send_locked(c); /* the turn stays taken */
    } else {
        c->tx_busy = false;
        c->tx_staged = false;
        free(c->tx_stage); /* an idle link holds no chunk */
        c->tx_stage = NULL;
        c->tx_stage_cap = 0;
    }
    conn_settle_unlock(c);
}

/* --- lifecycle ----------------------------------------------------------------------- */

/* Whether an authenticated connection to pk lives (waiting or up, not closed). Lock held. */
static bool
p2p_live_locked(const struct p2p *p, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (const struct conn *c = p->conns; c; c = c->next)
        if (c->state != CONN_HANDSHAKE && !c->closed && memcmp(c->pk, pk, SIG_PUBKEY_BYTES) == 0)
            return true;
    return false;
}

static void
dialer_dial_locked(struct dialer *d)
{
    d->state = DIAL_DIALING;
    nng_aio_set_timeout(d->aio, P2P_DIAL_TIMEOUT_MS);
    nng_stream_dialer_dial(d->d, d->aio);
}

/* Sleeps the backoff, then dials again (doubling the next backoff). Lock held, !stopping. */
static void
dialer_retry_locked(struct dialer *d)
{
    if (d->is_self) {
        d->state = DIAL_IDLE;
        return;
    }
    d->state = DIAL_SLEEP;
    /* A timeout shorter than the sleep would cut it short: NNG applies both. */
    nng_aio_set_timeout(d->aio, NNG_DURATION_INFINITE);
    nng_sleep_aio(d->backoff_ms, d->aio);
    d->backoff_ms *= 2;
    if (d->backoff_ms > P2P_BACKOFF_MAX_MS)
        d->backoff_ms = P2P_BACKOFF_MAX_MS;
}

/*
 * Unlinks a retired connection, hands it to the reaper, restarts its dialer and wakes the
 * dialers that stood aside for its key. If it was up, returns the connection to the same key
 * that waited for it (now CONN_OPEN, up, holding the rx turn), which the caller announces
 * after unlocking; else NULL. Lock held. The caller must not touch c afterwards unless it
 * runs in one of c's own aio callbacks (the reaper frees the aios first, which waits for
 * those to return).
 */
static struct conn *
conn_retire_locked(struct conn *c)
{
    struct p2p *p = c->p;
    IDL_ASSERT(c->retired && c->closed && !c->rx_busy && !c->tx_busy);
    struct conn **pp = &p->conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;

    struct conn *succ = NULL;
    if (c->up) {
        char pk[2 * P2P_PK_PREFIX_BYTES + 1];
        pk_prefix(pk, c->pk);
        log_info("p2p peer down", "{s:I, s:s, s:s}", "peer", (json_int_t)c->id, "addr", c->addr,
                 "pubkey", pk);
    }
    if (!p->stopping) {
        if (c->up)
            for (struct conn *s = p->conns; s && !succ; s = s->next)
                if (s->state == CONN_WAIT && !s->closed &&
                    memcmp(s->pk, c->pk, SIG_PUBKEY_BYTES) == 0) {
                    s->state = CONN_OPEN;
                    s->up = true;
                    s->rx_busy = true;
                    succ = s;
                }
        if (c->dialer) {
            IDL_ASSERT(c->dialer->state == DIAL_CONNECTED);
            dialer_retry_locked(c->dialer);
        }
        if (c->state != CONN_HANDSHAKE && !p2p_live_locked(p, c->pk))
            for (size_t i = 0; i < p->n_dialers; i++) {
                struct dialer *d = &p->dialers[i];
                if (d->state == DIAL_IDLE && d->pk_known && !d->is_self &&
                    memcmp(d->pk, c->pk, SIG_PUBKEY_BYTES) == 0)
                    dialer_retry_locked(d);
            }
    }
    c->next = p->reap;
    p->reap = c;
    pthread_cond_signal(&p->reap_cv);
    return succ;
}

/*
 * Closes c's stream; its pending aios complete with NNG_ECLOSED and the last one retires
 * it. If none is pending (a connection waiting in CONN_WAIT), retires it here: such a one
 * was never announced, so there is no down to call. Lock held.
 */
static void
conn_close_locked(struct conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    nng_stream_close(c->s); /* completes pending aios through the task queue, never inline */
    if (atomic_load(&c->rx_sleeping))
        nng_aio_abort(c->rx_aio, NNG_ECLOSED); /* a pause is no stream operation */
    if (!c->rx_busy && !c->tx_busy) {
        IDL_ASSERT(!c->up); /* an up connection always has its rx turn taken */
        c->retired = true;
        (void)conn_retire_locked(c);
    }
}

/* Logs and calls on_peer(up) for c, just made up. No lock held; the rx turn held. */
static void
conn_announce_up(struct conn *c)
{
    struct p2p *p = c->p;
    char pk[2 * P2P_PK_PREFIX_BYTES + 1];
    pk_prefix(pk, c->pk);
    log_info("p2p peer up", "{s:I, s:s, s:s, s:s, s:b}", "peer", (json_int_t)c->id, "addr", c->addr,
             "listen", c->listen_addr, "pubkey", pk, "outbound", (int)c->outbound);
    p->on_peer(p->arg, c->id, c->pk, true);
}

/*
 * Called with the lock held after an aio of c went idle; releases the lock. If c is closed
 * and nothing of it is busy, retires it: announces down if it was up, then announces the
 * connection that waited for it, if any. c must not be touched after this returns.
 */
static void
conn_settle_unlock(struct conn *c)
{
    struct p2p *p = c->p;
    struct conn *succ = NULL;
    bool down = false;
    if (c->closed && !c->rx_busy && !c->tx_busy && !c->retired) {
        c->retired = true;
        down = c->up && !p->stopping;
        if (!down)
            succ = conn_retire_locked(c);
    }
    pthread_mutex_unlock(&p->lock);
    if (down) {
        p->on_peer(p->arg, c->id, c->pk, false);
        pthread_mutex_lock(&p->lock);
        succ = conn_retire_locked(c);
        pthread_mutex_unlock(&p->lock);
    }
    if (succ) {
        conn_announce_up(succ);
        succ->phase = RX_HDR;
        conn_rx_run(succ);
    }
}

/* --- receive side -------------------------------------------------------------------- */

/* Gives up the rx turn after a failure (already logged) and closes c. No lock held. */
static void
conn_rx_fail(struct conn *c)
{
    pthread_mutex_lock(&c->p->lock);
    conn_close_locked(c);
    c->rx_busy = false;
    conn_settle_unlock(c);
}

/* Logs why c is refused or dropped (unless it is already closing) and closes it. */
static void
conn_rx_refuse(struct conn *c, const char *msg, const char *reason)
{
    struct p2p *p = c->p;
    pthread_mutex_lock(&p->lock);
    if (!c->closed && !p->stopping)
        refusal_log_locked(p, LOG_WARN, msg, c->id, c->addr, NULL, reason);
    pthread_mutex_unlock(&p->lock);
    conn_rx_fail(c);
}

/*
 * Whether c's reads count against the unprivileged peers' rate: once it is authenticated.
 * Read by the holder of the rx turn, which set both (privileged at admission), so without
 * the lock.
 */
static bool
conn_paced(const struct conn *c)
{
    return !c->privileged && c->phase != RX_HELLO && c->phase != RX_AUTH;
}

/* How long c's next read waits for the shared rate to allow it: 0, or up to a second. */
static nng_duration
conn_rx_pause_locked(struct conn *c)
{
    struct p2p *p = c->p;
    if (!conn_paced(c))
        return 0;
    nng_time now = nng_clock();
    p->rx_tokens += (double)(now - p->rx_at) * P2P_RX_SHARED_RATE / 1000.0;
    if (p->rx_tokens > P2P_RX_SHARED_RATE)
        p->rx_tokens = P2P_RX_SHARED_RATE; /* a second's worth at once */
    p->rx_at = now;
    if (p->rx_tokens >= 0)
        return 0;
    double ms = -p->rx_tokens * 1000.0 / P2P_RX_SHARED_RATE + 1;
    return ms > 1000 ? 1000 : (nng_duration)ms;
}

/* Reads more input: into the buffer, or into the body of a large frame. No lock held. */
static void
conn_rx_more(struct conn *c)
{
    struct p2p *p = c->p;
    nng_iov iov;
    if (c->body) {
        iov.iov_buf = c->body + c->body_got;
        iov.iov_len = c->body_len - c->body_got;
    } else {
        if (c->ioff > 0) {
            memmove(c->ibuf, c->ibuf + c->ioff, c->ilen - c->ioff);
            c->ilen -= c->ioff;
            c->ioff = 0;
        }
        IDL_ASSERT(c->ilen < P2P_IBUF_BYTES);
        iov.iov_buf = c->ibuf + c->ilen;
        iov.iov_len = P2P_IBUF_BYTES - c->ilen;
    }
    IDL_ASSERT(iov.iov_len > 0);
    if (conn_paced(c) && iov.iov_len > P2P_IBUF_BYTES)
        iov.iov_len = P2P_IBUF_BYTES; /* a read is charged after it: keep each one small */
    int rv = nng_aio_set_iov(c->rx_aio, 1, &iov);
    IDL_ASSERT(rv == 0);
    /* The deadlines are for the whole handshake or frame, not for each read. */
    nng_duration timeout = NNG_DURATION_INFINITE;
    bool handshake = c->phase == RX_HELLO || c->phase == RX_AUTH;
    if (handshake || c->body_shared) {
        nng_time now = nng_clock(), deadline = handshake ? c->hs_deadline : c->body_deadline;
        timeout = now >= deadline ? 1 : (nng_duration)(deadline - now);
    }
    nng_aio_set_timeout(c->rx_aio, timeout);

    pthread_mutex_lock(&p->lock);
    if (c->closed || p->stopping) {
        conn_close_locked(c);
        c->rx_busy = false;
        conn_settle_unlock(c);
        return;
    }
    nng_duration pause = conn_rx_pause_locked(c);
    if (pause > 0) {
        atomic_store(&c->rx_sleeping, true);
        nng_sleep_aio(pause, c->rx_aio); /* then conn_rx_cb calls us again */
    } else {
        nng_stream_recv(c->s, c->rx_aio);
    }
    pthread_mutex_unlock(&p->lock);
}

/*
 * What a node in `role` signs in its AUTH (p2p.h): the role, then both HELLOs as they went
 * over the wire, the dialler's first. So a signature holds for this exchange only (both
 * ephemeral keys), between these two node keys, and from this side of it: it cannot be
 * reflected to its signer, nor moved to a connection where its signer is the other end.
 */
static void
auth_hash(uint8_t h[HASH_BYTES], uint8_t role, const uint8_t *dialler, size_t dialler_len,
          const uint8_t *listener, size_t listener_len)
{
    uint8_t pre[1 + 2 * P2P_HELLO_MAX];
    IDL_ASSERT(dialler_len <= P2P_HELLO_MAX && listener_len <= P2P_HELLO_MAX);
    pre[0] = role;
    memcpy(pre + 1, dialler, dialler_len);
    memcpy(pre + 1 + dialler_len, listener, listener_len);
    hash_tagged(h, P2P_AUTH_TAG, pre, 1 + dialler_len + listener_len);
}

/*
 * Checks the peer's HELLO (all of it is in `in`), derives the session keys, and queues our
 * AUTH. Returns NULL, or why
 * the peer is refused.
 */
static const char *
conn_hello(struct conn *c, const uint8_t *in, size_t len)
{
    struct p2p *p = c->p;
    struct codec_reader r;
    uint8_t magic[4], genesis[HASH_BYTES];
    codec_reader_init(&r, in, len);
    codec_get_raw(&r, magic, sizeof(magic));
    uint16_t version = codec_get_u16(&r);
    codec_get_raw(&r, genesis, sizeof(genesis));
    codec_get_raw(&r, c->peer_pk, sizeof(c->peer_pk));
    codec_get_raw(&r, c->peer_eph, sizeof(c->peer_eph));
    uint8_t n = codec_get_u8(&r);
    const uint8_t *addr = codec_get_view(&r, n);
    if (codec_reader_finish(&r) != IDL_OK)
        return "malformed hello";
    if (memcmp(magic, P2P_MAGIC, sizeof(magic)) != 0)
        return "not an idledger peer (bad magic)";
    if (version != P2P_VERSION)
        return "unsupported protocol version";
    if (memcmp(genesis, p->genesis, HASH_BYTES) != 0)
        return "peer is on another chain (genesis hash differs)";
    /* Our own key: answered like any other, and refused once its AUTH proves it is us. */
    c->to_self = memcmp(c->peer_pk, p->key->pk, SIG_PUBKEY_BYTES) == 0;
    if (!sig_pubkey_valid(c->peer_pk))
        return "invalid public key";
    if (n >= P2P_ADDR_MAX)
        return "listen address too long";
    for (size_t i = 0; i < n; i++)
        if (addr[i] <= 0x20 || addr[i] >= 0x7f)
            return "listen address not printable";
    memcpy(c->listen_addr, addr, n);
    c->listen_addr[n] = '\0';

    if (sodium_memcmp(c->peer_eph, c->eph_pk, P2P_EPHEMERAL_BYTES) == 0)
        return "our own HELLO sent back";
    /* The dialler is crypto_kx's client: each side's receiving key is the other's sending
     * key. A low-order point as the peer's key is refused here. */
    int kx = c->outbound ? crypto_kx_client_session_keys(c->rx_key, c->tx_key, c->eph_pk, c->eph_sk,
                                                         c->peer_eph)
                         : crypto_kx_server_session_keys(c->rx_key, c->tx_key, c->eph_pk, c->eph_sk,
                                                         c->peer_eph);
    sodium_memzero(c->eph_sk, sizeof(c->eph_sk));
    if (kx != 0)
        return "invalid ephemeral key";

    const uint8_t *dialler = c->outbound ? c->hello : in, *listener = c->outbound ? in : c->hello;
    size_t dialler_len = c->outbound ? c->hello_len : len;
    size_t listener_len = c->outbound ? len : c->hello_len;
    uint8_t h[HASH_BYTES];
    auth_hash(h, c->outbound ? P2P_ROLE_DIALLER : P2P_ROLE_LISTENER, dialler, dialler_len, listener,
              listener_len);
    auth_hash(c->peer_auth, c->outbound ? P2P_ROLE_LISTENER : P2P_ROLE_DIALLER, dialler,
              dialler_len, listener, listener_len);
    struct frame *f = frame_alloc(SIG_BYTES);
    if (!f)
        return "out of memory";
    if (sig_sign(f->data, h, p->key->sk) != IDL_OK) {
        frame_unref(f);
        return "cannot sign";
    }
    pthread_mutex_lock(&p->lock);
    bool queued = conn_enqueue_locked(c, f);
    pthread_mutex_unlock(&p->lock);
    frame_unref(f);
    return queued ? NULL : "closed while answering";
}

static bool
conn_auth_valid(const struct conn *c, const uint8_t sig[SIG_BYTES])
{
    return sig_verify(sig, c->peer_auth, c->peer_pk);
}

/* Whether x, just authenticated, should replace inc, the live connection to the same key. */
static bool
conn_keep_new(const struct p2p *p, const struct conn *x, const struct conn *inc)
{
    if (x->outbound == inc->outbound)
        return true; /* same direction: the old one is likely dead on the other side */
    /* Both sides compute the same: keep the connection dialled by the smaller key. */
    bool own_smaller = memcmp(p->key->pk, x->pk, SIG_PUBKEY_BYTES) < 0;
    return x->outbound == own_smaller;
}

enum admit { ADMIT_REFUSE, ADMIT_WAIT, ADMIT_OPEN };

/* Decides what becomes of c, just authenticated: refused, waiting, or up. Lock held. */
static enum admit
conn_admit_locked(struct conn *c, const char **why)
{
    struct p2p *p = c->p;
    *why = "closed during the handshake";
    if (c->closed || p->stopping)
        return ADMIT_REFUSE;
    memcpy(c->pk, c->peer_pk, SIG_PUBKEY_BYTES);
    if (c->dialer) {
        /* The handshake worked: that is the success that resets the backoff. */
        c->dialer->backoff_ms = P2P_BACKOFF_MIN_MS;
        c->dialer->pk_known = true;
        memcpy(c->dialer->pk, c->pk, SIG_PUBKEY_BYTES);
    }
    c->privileged = c->outbound || reserved_key(p, c->pk);
    struct conn *inc = NULL;
    bool pending_down = false;
    size_t n_auth = 0, n_unprivileged = 0;
    for (struct conn *o = p->conns; o; o = o->next) {
        if (o == c || o->state == CONN_HANDSHAKE)
            continue;
        bool counts = !o->closed || o->up; /* a closed link is held until its down is out */
        n_auth += counts;
        n_unprivileged += counts && !o->privileged;
        if (memcmp(o->pk, c->pk, SIG_PUBKEY_BYTES) != 0)
            continue;
        if (!o->closed)
            inc = o;
        else if (o->up)
            pending_down = true; /* closed, its down not yet announced */
    }
    if (inc) {
        if (!conn_keep_new(p, c, inc)) {
            *why = "duplicate connection";
            return ADMIT_REFUSE;
        }
        log_info("p2p duplicate connection replaced", "{s:I, s:I}", "closed", (json_int_t)inc->id,
                 "kept", (json_int_t)c->id);
        pending_down = pending_down || inc->up;
        n_auth--;
        n_unprivileged -= !inc->privileged;
        conn_close_locked(inc);
    }
    if (n_auth >= P2P_LINKS_MAX || (!c->privileged && n_unprivileged >= p->inbound_max)) {
        *why = "too many peers";
        return ADMIT_REFUSE;
    }
    c->state = pending_down ? CONN_WAIT : CONN_OPEN;
    c->up = !pending_down;
    return pending_down ? ADMIT_WAIT : ADMIT_OPEN;
}

/* After a valid AUTH: true if c is up and the caller keeps reading; false if it let go. */
static bool
conn_admit(struct conn *c)
{
    struct p2p *p = c->p;
    const char *why;
    pthread_mutex_lock(&p->lock);
    enum admit a = conn_admit_locked(c, &why);
    if (a == ADMIT_REFUSE) {
        char pk[2 * P2P_PK_PREFIX_BYTES + 1];
        pk_prefix(pk, c->peer_pk);
        if (!c->closed && !p->stopping)
            refusal_log_locked(p, LOG_INFO, "p2p connection refused", c->id, c->addr, pk, why);
        conn_close_locked(c);
        c->rx_busy = false;
        conn_settle_unlock(c);
        return false;
    }
    if (a == ADMIT_WAIT) {
        /* Not closed, so not retired: the retiring predecessor hands the turn back. */
        c->rx_busy = false;
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    pthread_mutex_unlock(&p->lock);
    conn_announce_up(c);
    return true;
}

/*
 * Hands one frame to on_recv unless c is closing. False if it let go of the rx turn (c must
 * not be touched then). No lock held.
 */
static bool
conn_deliver(struct conn *c, const uint8_t *msg, size_t len)
{
    struct p2p *p = c->p;
    pthread_mutex_lock(&p->lock);
    if (c->closed || p->stopping) {
        conn_close_locked(c);
        c->rx_busy = false;
        conn_settle_unlock(c);
        return false;
    }
    pthread_mutex_unlock(&p->lock);
    p->on_recv(p->arg, c->id, c->pk, msg, len);
    return true;
}

/* Frees the body of a large frame and gives back its share of p->rx_shared. No lock held. */
static void
conn_body_free(struct conn *c)
{
    if (c->body_shared) {
        pthread_mutex_lock(&c->p->lock);
        IDL_ASSERT(c->p->rx_shared >= c->body_len);
        c->p->rx_shared -= c->body_len;
        pthread_mutex_unlock(&c->p->lock);
        c->body_shared = false;
    }
    free(c->body);
    c->body = NULL;
}

/*
 * Allocates the body of a large frame, within the bytes unprivileged peers share. A
 * deadline comes with it: a stranger must not hold its buffer by sending slowly. Returns
 * NULL, or why not. No lock held.
 */
static const char *
conn_body_alloc(struct conn *c)
{
    struct p2p *p = c->p;
    pthread_mutex_lock(&p->lock);
    bool shared = !c->privileged;
    bool room = !shared || p->rx_shared + c->body_len <= P2P_RX_SHARED_BYTES_MAX;
    if (room && shared)
        p->rx_shared += c->body_len;
    pthread_mutex_unlock(&p->lock);
    if (!room)
        return "too many large frames from peers at once";
    c->body_shared = shared;
    c->body = malloc(c->body_len);
    if (!c->body) {
        conn_body_free(c);
        return "out of memory for a frame";
    }
    c->body_deadline =
        nng_clock() + P2P_FRAME_GRACE_MS + (nng_time)c->body_len * 1000 / P2P_FRAME_MIN_RATE;
    return NULL;
}

/*
 * Opens a sealed frame of c->body_len bytes at buf in place (the tag is checked before a
 * byte is decrypted) and delivers it. False if the rx turn has passed on: a frame that
 * fails is refused, as a whole connection, since nothing after it can be trusted. No lock.
 */
static bool
conn_open_deliver(struct conn *c, uint8_t *buf)
{
    size_t len = c->body_len - P2P_TAG_BYTES;
    uint8_t ad[P2P_FRAME_HDR_BYTES], nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    codec_be32_put(ad, c->body_len);
    nonce_of(nonce, c->rx_seq++);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, buf + len, ad,
                                                           sizeof(ad), nonce, c->rx_key) != 0) {
        conn_rx_refuse(c, "p2p peer dropped",
                       "a frame failed authentication (altered, replayed or not from the peer)");
        return false;
    }
    return conn_deliver(c, buf, len);
}

/*
 * The body of a frame: delivered from the buffer if it is all there, else read on (a large
 * one into its own allocation). True if delivered and the caller goes on; false if the rx
 * turn has passed on (c must not be touched then). No lock held.
 */
static bool
conn_rx_body(struct conn *c)
{
    uint8_t *in = c->ibuf + c->ioff;
    size_t avail = c->ilen - c->ioff;
    if (c->body) {
        if (c->body_got < c->body_len) {
            conn_rx_more(c);
            return false;
        }
        bool ok = conn_open_deliver(c, c->body);
        if (ok)
            conn_body_free(c); /* else c may be gone: conn_free frees it */
        return ok;
    }
    if (avail >= c->body_len) {
        /* in is never NULL, so neither is msg of an empty frame. */
        if (!conn_open_deliver(c, in))
            return false;
        c->ioff += c->body_len;
        return true;
    }
    if (c->body_len > P2P_IBUF_BYTES / 2) {
        /* Large: read the rest in place rather than through the buffer. */
        const char *why = conn_body_alloc(c);
        if (why) {
            conn_rx_refuse(c, "p2p peer dropped", why);
            return false;
        }
        memcpy(c->body, in, avail);
        c->body_got = avail;
        c->ioff = c->ilen = 0;
    }
    conn_rx_more(c);
    return false;
}

/*
 * Consumes buffered input as far as it goes, then reads more. Runs with the rx turn and no
 * lock; returns when the turn has passed on (a read in flight, a wait, or retirement).
 */
static void
conn_rx_run(struct conn *c)
{
    for (;;) {
        const uint8_t *in = c->ibuf + c->ioff;
        size_t avail = c->ilen - c->ioff;
        switch (c->phase) {
        case RX_HELLO: {
            if (avail < P2P_HELLO_FIXED_BYTES ||
                avail < P2P_HELLO_FIXED_BYTES + (size_t)in[P2P_HELLO_FIXED_BYTES - 1]) {
                conn_rx_more(c);
                return;
            }
            size_t len = P2P_HELLO_FIXED_BYTES + in[P2P_HELLO_FIXED_BYTES - 1];
            const char *why = conn_hello(c, in, len);
            if (why) {
                conn_rx_refuse(c, "p2p handshake refused", why);
                return;
            }
            c->ioff += len;
            c->phase = RX_AUTH;
            break;
        }
        case RX_AUTH:
            if (avail < SIG_BYTES) {
                conn_rx_more(c);
                return;
            }
            if (!conn_auth_valid(c, in)) {
                conn_rx_refuse(c, "p2p handshake refused", "bad auth signature");
                return;
            }
            if (c->to_self) {
                if (c->dialer) {
                    pthread_mutex_lock(&c->p->lock);
                    c->dialer->is_self = true; /* its retry goes idle for good */
                    pthread_mutex_unlock(&c->p->lock);
                }
                conn_rx_refuse(c, "p2p handshake refused", "connected to ourselves");
                return;
            }
            c->ioff += SIG_BYTES;
            c->phase = RX_HDR;
            if (!conn_admit(c))
                return;
            break;
        case RX_HDR:
            if (avail < P2P_FRAME_HDR_BYTES) {
                conn_rx_more(c);
                return;
            }
            c->body_len = codec_be32_get(in);
            if (c->body_len > P2P_FRAME_MAX + P2P_TAG_BYTES) {
                conn_rx_refuse(c, "p2p peer dropped", "frame longer than P2P_FRAME_MAX");
                return;
            }
            if (c->body_len < P2P_TAG_BYTES) {
                conn_rx_refuse(c, "p2p peer dropped", "frame shorter than its tag");
                return;
            }
            c->ioff += P2P_FRAME_HDR_BYTES;
            c->phase = RX_BODY;
            break;
        case RX_BODY:
            if (!conn_rx_body(c))
                return;
            c->phase = RX_HDR;
            break;
        }
    }
}

static void
conn_rx_cb(void *arg)
{
    struct conn *c = arg;
    int rv = nng_aio_result(c->rx_aio);
    /* A pause ends with 0, or with NNG_ETIMEDOUT when the frame's deadline came first. */
    if (atomic_exchange(&c->rx_sleeping, false) && rv == 0) {
        conn_rx_more(c);
        return;
    }
    if (rv == 0) {
        size_t n = nng_aio_count(c->rx_aio);
        if (conn_paced(c)) {
            pthread_mutex_lock(&c->p->lock);
            c->p->rx_tokens -= (double)n;
            pthread_mutex_unlock(&c->p->lock);
        }
        if (c->body)
            c->body_got += n;
        else
            c->ilen += n;
        conn_rx_run(c);
        return;
    }
    if (rv == NNG_ETIMEDOUT && c->body_shared)
        conn_rx_refuse(c, "p2p peer dropped", "frame not received in time");
    else if (rv == NNG_ETIMEDOUT)
        conn_rx_refuse(c, "p2p handshake refused", "handshake timed out");
    else if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        conn_rx_fail(c); /* we closed it: the reason is logged already */
    else if (c->phase == RX_HELLO || c->phase == RX_AUTH)
        conn_rx_refuse(c, "p2p handshake failed", nng_strerror(rv));
    else
        conn_rx_refuse(c, "p2p connection lost", nng_strerror(rv));
}

/* --- connections, listener, dialers -------------------------------------------------- */

/* Frees a connection that is not linked and has nothing in flight (reaper, or launch). */
static void
conn_free(struct conn *c)
{
    /* The aios first: freeing one waits for its callback, which may still be returning. */
    if (c->rx_aio)
        nng_aio_free(c->rx_aio);
    if (c->tx_aio)
        nng_aio_free(c->tx_aio);
    nng_stream_free(c->s);
    while (c->q_head) {
        struct qitem *q = c->q_head;
        c->q_head = q->next;
        frame_unref(q->f);
        free(q);
    }
    conn_body_free(c);
    free(c->tx_stage);
    sodium_memzero(&c->tx_mac, sizeof(c->tx_mac));
    sodium_memzero(c->eph_sk, sizeof(c->eph_sk));
    sodium_memzero(c->rx_key, sizeof(c->rx_key));
    sodium_memzero(c->tx_key, sizeof(c->tx_key));
    free(c);
}

static struct frame *
hello_frame(const struct p2p *p, const uint8_t eph_pk[P2P_EPHEMERAL_BYTES])
{
    struct codec_writer w;
    struct idl_bytes b;
    size_t n = strlen(p->listen_addr);
    IDL_ASSERT(n < P2P_ADDR_MAX);
    codec_writer_init(&w);
    codec_put_raw(&w, P2P_MAGIC, 4);
    codec_put_u16(&w, P2P_VERSION);
    codec_put_raw(&w, p->genesis, HASH_BYTES);
    codec_put_raw(&w, p->key->pk, SIG_PUBKEY_BYTES);
    codec_put_raw(&w, eph_pk, P2P_EPHEMERAL_BYTES);
    codec_put_u8(&w, (uint8_t)n);
    codec_put_raw(&w, p->listen_addr, n);
    if (codec_writer_finish(&w, &b) != IDL_OK)
        return NULL;
    IDL_ASSERT(b.len == P2P_HELLO_FIXED_BYTES + n);
    struct frame *f = frame_alloc(b.len);
    if (f)
        memcpy(f->data, b.data, b.len);
    free(b.data);
    return f;
}

/*
 * Takes a new stream (accepted, or dialled by d) into a connection: sends HELLO and starts
 * reading. On any failure the stream is freed and d, if any, retries. No lock held.
 */
static void
conn_launch(struct p2p *p, nng_stream *s, struct dialer *d)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct frame *hello = NULL;
    const char *why = "out of memory";
    if (c) {
        c->p = p;
        c->s = s;
        c->dialer = d;
        c->outbound = d != NULL;
        if (d)
            snprintf(c->addr, sizeof(c->addr), "%s", d->addr);
        else
            stream_remote_addr(s, c->addr);
        crypto_kx_keypair(c->eph_pk, c->eph_sk); /* this connection's: never reused */
        c->phase = RX_HELLO;
        c->hs_deadline = nng_clock() + P2P_HANDSHAKE_TIMEOUT_MS;
        hello = hello_frame(p, c->eph_pk);
        if (hello) {
            IDL_ASSERT(hello->len <= sizeof(c->hello));
            memcpy(c->hello, hello->data, hello->len);
            c->hello_len = hello->len;
        }
        if (hello && nng_aio_alloc(&c->rx_aio, conn_rx_cb, c) == 0 &&
            nng_aio_alloc(&c->tx_aio, conn_tx_cb, c) == 0)
            why = NULL;
    }

    pthread_mutex_lock(&p->lock);
    if (!why && p->stopping)
        why = "stopping";
    /*
     * Inbound handshakes are bounded (our own dials are as many as the configured peers):
     * P2P_HANDSHAKES_PER_HOST from one address, and inbound_max in all. When all places
     * are taken, the oldest gives way: an honest handshake ends within a round trip, so
     * connections that say nothing cannot keep a validator out.
     */
    size_t handshaking = 0, same_host = 0;
    struct conn *oldest = NULL;
    for (struct conn *o = p->conns; o && !d; o = o->next) {
        if (o->state != CONN_HANDSHAKE || o->closed || o->outbound)
            continue;
        handshaking++;
        same_host += c && same_host_addr(o->addr, c->addr);
        if (!oldest)
            oldest = o;
    }
    if (!why && same_host >= P2P_HANDSHAKES_PER_HOST)
        why = "too many connections in their handshake from that address";
    if (!why && handshaking >= p->inbound_max && oldest) {
        refusal_log_locked(p, LOG_WARN, "p2p connection dropped", oldest->id, oldest->addr, NULL,
                           "its handshake gave way to a newer one (all places taken)");
        conn_close_locked(oldest);
    }
    if (why) {
        if (!p->stopping) {
            refusal_log_locked(p, LOG_WARN, "p2p connection dropped", 0, c ? c->addr : "?", NULL,
                               why);
            if (d)
                dialer_retry_locked(d);
        }
        pthread_mutex_unlock(&p->lock);
        if (hello)
            frame_unref(hello);
        if (c)
            conn_free(c);
        else
            nng_stream_free(s);
        return;
    }
    c->id = ++p->next_id;
    if (c->id == 0)
        c->id = ++p->next_id; /* 0 never names a peer */
    struct conn **pp = &p->conns;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    p->n_conns++;
    c->rx_busy = true;
    (void)conn_enqueue_locked(c, hello); /* a fresh queue cannot overflow */
    pthread_mutex_unlock(&p->lock);
    frame_unref(hello);
    log_debug("p2p connection opened", "{s:I, s:s, s:b}", "peer", (json_int_t)c->id, "addr",
              c->addr, "outbound", (int)c->outbound);
    conn_rx_more(c);
}

static void
accept_cb(void *arg)
{
    struct p2p *p = arg;
    int rv = nng_aio_result(p->accept_aio);
    nng_stream *s = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->accept_sleeping) {
        p->accept_sleeping = false;
        if (!p->stopping)
            nng_stream_listener_accept(p->listener, p->accept_aio);
    } else if (rv == 0) {
        s = nng_aio_get_output(p->accept_aio, 0);
        if (!p->stopping)
            nng_stream_listener_accept(p->listener, p->accept_aio);
    } else if (!p->stopping && rv != NNG_ECLOSED) {
        log_warn("p2p accept failed", "{s:s, s:s}", "listen", p->listen_addr, "error",
                 nng_strerror(rv));
        /* Out of descriptors or memory: give the system a moment rather than spin. */
        bool scarce = rv == NNG_ENOMEM || rv == NNG_ENOFILES || rv == NNG_ENOSPC;
        p->accept_sleeping = scarce;
        if (scarce)
            nng_sleep_aio(P2P_ACCEPT_RETRY_MS, p->accept_aio);
        else
            nng_stream_listener_accept(p->listener, p->accept_aio);
    }
    pthread_mutex_unlock(&p->lock);
    if (s)
        conn_launch(p, s, NULL); /* frees s if stopping */
}

static void
dialer_cb(void *arg)
{
    struct dialer *d = arg;
    struct p2p *p = d->p;
    int rv = nng_aio_result(d->aio);
    nng_stream *s = NULL;
    pthread_mutex_lock(&p->lock);
    if (d->state == DIAL_DIALING && rv == 0)
        s = nng_aio_get_output(d->aio, 0);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        if (s)
            nng_stream_free(s);
        return;
    }
    if (d->state == DIAL_SLEEP) {
        if (d->pk_known && p2p_live_locked(p, d->pk)) {
            d->state = DIAL_IDLE; /* that peer is connected already, by another way */
        } else {
            dialer_dial_locked(d);
        }
    } else {
        IDL_ASSERT(d->state == DIAL_DIALING);
        if (rv == 0) {
            d->state = DIAL_CONNECTED;
        } else {
            log_debug("p2p dial failed", "{s:s, s:s, s:I}", "addr", d->addr, "error",
                      nng_strerror(rv), "retry_ms", (json_int_t)d->backoff_ms);
            dialer_retry_locked(d);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (s)
        conn_launch(p, s, d);
}

/* --- setup and teardown -------------------------------------------------------------- */

/* Reads a whole (small) file as a NUL-terminated string; caller wipes and frees. */
static char *
read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(P2P_TLS_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, P2P_TLS_FILE_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > P2P_TLS_FILE_MAX;
    fclose(f);
    if (bad) {
        if (buf)
            sodium_memzero(buf, P2P_TLS_FILE_MAX + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* One TLS config; mutual TLS against the CA when one is given. */
static idl_err
tls_config_make(nng_tls_config **out, nng_tls_mode mode, const struct p2p_config *cfg,
                const char *cert, const char *key, char *why, size_t why_len)
{
    nng_tls_config *t;
    int rv = nng_tls_config_alloc(&t, mode);
    if (rv != 0) {
        set_why(why, why_len, "tls: %s", nng_strerror(rv));
        return IDL_ERR_NOMEM;
    }
    const char *step = "tls_cert/tls_key";
    rv = nng_tls_config_own_cert(t, cert, key, NULL);
    if (rv == 0 && cfg->tls_ca && cfg->tls_ca[0]) {
        step = "tls_ca";
        rv = nng_tls_config_ca_file(t, cfg->tls_ca);
        if (rv == 0)
            rv = nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_REQUIRED);
    } else if (rv == 0) {
        /* No CA: encryption only; the handshake still authenticates the node key. */
        rv = nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_NONE);
    }
    /* No nng_tls_config_server_name: host names are not checked (see p2p.h). */
    if (rv != 0) {
        nng_tls_config_free(t);
        set_why(why, why_len, "%s: %s", step, nng_strerror(rv));
        return IDL_ERR_INVALID;
    }
    *out = t;
    return IDL_OK;
}

static idl_err
tls_setup(struct p2p *p, const struct p2p_config *cfg, char *why, size_t why_len)
{
    if (!cfg->tls_cert || !cfg->tls_cert[0] || !cfg->tls_key || !cfg->tls_key[0]) {
        set_why(why, why_len, "tls needs both tls_cert and tls_key");
        return IDL_ERR_INVALID;
    }
    size_t cert_len = 0, key_len = 0;
    char *cert = read_text(cfg->tls_cert, &cert_len);
    char *key = cert ? read_text(cfg->tls_key, &key_len) : NULL;
    idl_err rc = IDL_ERR_INVALID;
    if (!cert || !key)
        set_why(why, why_len, "cannot read %s", cert ? cfg->tls_key : cfg->tls_cert);
    else if ((rc = tls_config_make(&p->tls_server, NNG_TLS_MODE_SERVER, cfg, cert, key, why,
                                   why_len)) == IDL_OK)
        rc = tls_config_make(&p->tls_client, NNG_TLS_MODE_CLIENT, cfg, cert, key, why, why_len);
    if (cert) {
        sodium_memzero(cert, cert_len);
        free(cert);
    }
    if (key) {
        sodium_memzero(key, key_len); /* the TLS private key */
        free(key);
    }
    return rc;
}

static idl_err
listener_setup(struct p2p *p, char *why, size_t why_len)
{
    char url[P2P_URL_MAX];
    url_of(url, p, p->listen_addr);
    int rv = nng_stream_listener_alloc(&p->listener, url);
    if (rv == 0 && p->tls_server)
        rv = nng_stream_listener_set_ptr(p->listener, NNG_OPT_TLS_CONFIG, p->tls_server);
    if (rv != 0) {
        set_why(why, why_len, "p2p listen %s: %s", url, nng_strerror(rv));
        return rv == NNG_ENOMEM ? IDL_ERR_NOMEM : IDL_ERR_INVALID;
    }
    (void)nng_stream_listener_set_bool(p->listener, NNG_OPT_TCP_KEEPALIVE, true);
    rv = nng_stream_listener_listen(p->listener);
    if (rv == 0)
        rv = nng_aio_alloc(&p->accept_aio, accept_cb, p);
    if (rv != 0) {
        set_why(why, why_len, "p2p listen %s: %s", url, nng_strerror(rv));
        return rv == NNG_ENOMEM ? IDL_ERR_NOMEM : IDL_ERR_IO;
    }
    return IDL_OK;
}

static idl_err
dialers_setup(struct p2p *p, const struct p2p_config *cfg, char *why, size_t why_len)
{
    if (cfg->n_peers == 0)
        return IDL_OK;
    p->dialers = calloc(cfg->n_peers, sizeof(*p->dialers));
    if (!p->dialers)
        return IDL_ERR_NOMEM;
    p->n_dialers = cfg->n_peers;
    for (size_t i = 0; i < cfg->n_peers; i++) {
        struct dialer *d = &p->dialers[i];
        char url[P2P_URL_MAX];
        d->p = p;
        d->state = DIAL_IDLE; /* until p2p_start dials */
        d->backoff_ms = P2P_BACKOFF_MIN_MS;
        snprintf(d->addr, sizeof(d->addr), "%s", cfg->peers[i]);
        url_of(url, p, d->addr);
        int rv = nng_stream_dialer_alloc(&d->d, url);
        if (rv == 0 && p->tls_client)
            rv = nng_stream_dialer_set_ptr(d->d, NNG_OPT_TLS_CONFIG, p->tls_client);
        if (rv == 0)
            rv = nng_aio_alloc(&d->aio, dialer_cb, d);
        if (rv != 0) {
            set_why(why, why_len, "p2p peer %s: %s", url, nng_strerror(rv));
            return rv == NNG_ENOMEM ? IDL_ERR_NOMEM : IDL_ERR_INVALID;
        }
        (void)nng_stream_dialer_set_bool(d->d, NNG_OPT_TCP_KEEPALIVE, true);
    }
    return IDL_OK;
}

static void *
p2p_reaper(void *arg)
{
    struct p2p *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct conn *c = p->reap;
        if (c) {
            p->reap = c->next;
            pthread_mutex_unlock(&p->lock);
            conn_free(c);
            pthread_mutex_lock(&p->lock);
            IDL_ASSERT(p->n_conns > 0);
            p->n_conns--;
            pthread_cond_broadcast(&p->idle_cv);
        } else if (p->reaper_exit) {
            break;
        } else {
            pthread_cond_wait(&p->reap_cv, &p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static idl_err
p2p_config_check(const struct p2p_config *cfg, char *why, size_t why_len)
{
    if (!addr_valid(cfg->listen)) {
        set_why(why, why_len, "p2p listen address \"%s\" is not host:port",
                cfg->listen ? cfg->listen : "");
        return IDL_ERR_INVALID;
    }
    if (cfg->n_peers > P2P_PEERS_MAX || cfg->n_reserved > P2P_PEERS_MAX ||
        cfg->inbound_max > P2P_PEERS_MAX) {
        set_why(why, why_len, "too many p2p peers, reserved keys or places (at most %d)",
                P2P_PEERS_MAX);
        return IDL_ERR_INVALID;
    }
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (!addr_valid(cfg->peers[i])) {
            set_why(why, why_len, "p2p peer address \"%s\" is not host:port",
                    cfg->peers[i] ? cfg->peers[i] : "");
            return IDL_ERR_INVALID;
        }
    return IDL_OK;
}

idl_err
p2p_start(struct p2p **out, const struct p2p_config *cfg, p2p_recv_fn on_recv, p2p_peer_fn on_peer,
          void *arg, char *why, size_t why_len)
{
    *out = NULL;
    IDL_ASSERT(cfg && cfg->genesis_hash && cfg->key && on_recv && on_peer);
    IDL_ASSERT(cfg->n_peers == 0 || cfg->peers);
    IDL_ASSERT(cfg->n_reserved == 0 || cfg->reserved);
    set_why(why, why_len, "%s", "");
    idl_err rc = p2p_config_check(cfg, why, why_len);
    if (rc != IDL_OK)
        return rc;
    if (sodium_init() < 0) {
        set_why(why, why_len, "libsodium failed to initialise");
        return IDL_ERR_CRYPTO;
    }
    struct p2p *p = calloc(1, sizeof(*p));
    if (!p)
        return IDL_ERR_NOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->reap_cv, NULL);
    pthread_cond_init(&p->idle_cv, NULL);
    memcpy(p->genesis, cfg->genesis_hash, HASH_BYTES);
    p->key = cfg->key;
    p->on_recv = on_recv;
    p->on_peer = on_peer;
    p->arg = arg;
    snprintf(p->listen_addr, sizeof(p->listen_addr), "%s", cfg->listen);
    p->inbound_max = cfg->inbound_max ? cfg->inbound_max : P2P_PEERS_MAX;
    if (cfg->n_reserved) {
        p->reserved = malloc(cfg->n_reserved * sizeof(*p->reserved));
        if (!p->reserved)
            rc = IDL_ERR_NOMEM;
        else
            memcpy(p->reserved, cfg->reserved, cfg->n_reserved * sizeof(*p->reserved));
        p->n_reserved = p->reserved ? cfg->n_reserved : 0;
    }

    if (rc == IDL_OK && tls_wanted(cfg))
        rc = tls_setup(p, cfg, why, why_len);
    if (rc == IDL_OK)
        rc = listener_setup(p, why, why_len);
    if (rc == IDL_OK)
        rc = dialers_setup(p, cfg, why, why_len);
    if (rc == IDL_OK) {
        if (pthread_create(&p->reaper, NULL, p2p_reaper, p) == 0)
            p->reaper_started = true;
        else
            rc = IDL_ERR_NOMEM;
    }
    if (rc != IDL_OK) {
        p2p_stop(p);
        return rc;
    }

    pthread_mutex_lock(&p->lock);
    nng_stream_listener_accept(p->listener, p->accept_aio);
    for (size_t i = 0; i < p->n_dialers; i++)
        dialer_dial_locked(&p->dialers[i]);
    pthread_mutex_unlock(&p->lock);
    char pk[2 * P2P_PK_PREFIX_BYTES + 1];
    pk_prefix(pk, p->key->pk);
    log_info("p2p started", "{s:s, s:I, s:b, s:s}", "listen", p->listen_addr, "peers",
             (json_int_t)p->n_dialers, "tls", (int)(p->tls_server != NULL), "pubkey", pk);
    *out = p;
    return IDL_OK;
}

/* Also tears down a p2p_start that failed half-way: every member may still be NULL. */
void
p2p_stop(struct p2p *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_mutex_unlock(&p->lock);

    /*
     * No connection is created from here on: creation happens only in the accept and dial
     * callbacks, under the lock, and they see `stopping`. nng_aio_stop waits for a callback
     * that is running, so after these no accept or dial callback runs.
     */
    if (p->listener)
        nng_stream_listener_close(p->listener);
    if (p->accept_aio)
        nng_aio_stop(p->accept_aio);
    for (size_t i = 0; i < p->n_dialers; i++) {
        if (p->dialers[i].d)
            nng_stream_dialer_close(p->dialers[i].d);
        if (p->dialers[i].aio)
            nng_aio_stop(p->dialers[i].aio);
    }

    /* Close every connection and wait until the reaper has freed them all. */
    pthread_mutex_lock(&p->lock);
    struct conn *next;
    for (struct conn *c = p->conns; c; c = next) {
        next = c->next;
        conn_close_locked(c);
    }
    while (p->n_conns > 0)
        pthread_cond_wait(&p->idle_cv, &p->lock);
    p->reaper_exit = true;
    pthread_cond_signal(&p->reap_cv);
    pthread_mutex_unlock(&p->lock);
    if (p->reaper_started)
        pthread_join(p->reaper, NULL);
    IDL_ASSERT(!p->conns && !p->reap);

    if (p->accept_aio)
        nng_aio_free(p->accept_aio);
    if (p->listener)
        nng_stream_listener_free(p->listener);
    for (size_t i = 0; i < p->n_dialers; i++) {
        if (p->dialers[i].aio)
            nng_aio_free(p->dialers[i].aio);
        if (p->dialers[i].d)
            nng_stream_dialer_free(p->dialers[i].d);
    }
    free(p->dialers);
    free(p->reserved);
    if (p->tls_server)
        nng_tls_config_free(p->tls_server);
    if (p->tls_client)
        nng_tls_config_free(p->tls_client);
    pthread_cond_destroy(&p->idle_cv);
    pthread_cond_destroy(&p->reap_cv);
    pthread_mutex_destroy(&p->lock);
    if (p->reaper_started)
        log_info("p2p stopped", "{s:s}", "listen", p->listen_addr);
    free(p);
}

/* --- sending, and the peer list ------------------------------------------------------ */

void
p2p_broadcast(struct p2p *p, const uint8_t *msg, size_t len)
{
    struct frame *f = frame_of_msg(msg, len);
    pthread_mutex_lock(&p->lock);
    struct conn *next;
    for (struct conn *c = p->conns; c && !p->stopping; c = next) {
        next = c->next; /* closing c on overflow may unlink it */
        if (c->state != CONN_OPEN || c->closed)
            continue;
        if (f) {
            (void)conn_enqueue_locked(c, f);
        } else {
            log_error("p2p out of memory for a broadcast, disconnecting peer", "{s:I, s:s}", "peer",
                      (json_int_t)c->id, "addr", c->addr);
            conn_close_locked(c);
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (f)
        frame_unref(f);
}

bool
p2p_send(struct p2p *p, uint32_t peer, const uint8_t *msg, size_t len)
{
    struct frame *f = frame_of_msg(msg, len);
    bool queued = false;
    pthread_mutex_lock(&p->lock);
    for (struct conn *c = p->conns; c && !p->stopping; c = c->next) {
        if (c->id != peer || c->state != CONN_OPEN || c->closed)
            continue;
        if (f) {
            queued = conn_enqueue_locked(c, f);
        } else {
            log_error("p2p out of memory for a frame, disconnecting peer", "{s:I, s:s}", "peer",
                      (json_int_t)c->id, "addr", c->addr);
            conn_close_locked(c);
        }
        break;
    }
    pthread_mutex_unlock(&p->lock);
    if (f)
        frame_unref(f);
    return queued;
}

size_t
p2p_peers(struct p2p *p, struct p2p_peer_info *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (struct conn *c = p->conns; c && n < max; c = c->next) {
        if (c->state != CONN_OPEN || c->closed)
            continue;
        struct p2p_peer_info *info = &out[n++];
        memset(info, 0, sizeof(*info));
        info->id = c->id;
        memcpy(info->pubkey, c->pk, SIG_PUBKEY_BYTES);
        snprintf(info->addr, sizeof(info->addr), "%s", c->addr);
        snprintf(info->listen_addr, sizeof(info->listen_addr), "%s", c->listen_addr);
        info->outbound = c->outbound;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

size_t
p2p_queued(struct p2p *p, uint32_t peer, size_t *total)
{
    size_t mine = 0, all = 0;
    pthread_mutex_lock(&p->lock);
    for (struct conn *c = p->conns; c; c = c->next) {
        all += c->q_bytes;
        if (c->id == peer && c->state == CONN_OPEN && !c->closed)
            mine = c->q_bytes;
    }
    pthread_mutex_unlock(&p->lock);
    if (total)
        *total = all;
    return mine;
}

bool
p2p_privileged(struct p2p *p, uint32_t peer)
{
    bool privileged = false;
    pthread_mutex_lock(&p->lock);
    for (struct conn *c = p->conns; c; c = c->next)
        if (c->id == peer && c->state == CONN_OPEN && !c->closed)
            privileged = c->privileged;
    pthread_mutex_unlock(&p->lock);
    return privileged;
}
