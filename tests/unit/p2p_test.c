/*
 * Unit tests of node/p2p.h over real sockets on 127.0.0.1 (ports 19000-19499: a few per
 * test, from a slot found free at start; see port_base_pick).
 *
 * Nodes are started with fresh keys (wallet_key_generate). Each records its on_peer events
 * per public key and flags any breach of the callback contract: up while up, down while
 * down, a frame from an id that is not the key's current up id. Every frame sent in these
 * tests is frame number i of one deterministic sequence (length frame_len(i), bytes
 * frame_byte(i, j)), so a receiver checks order, content and count (hence "exactly once")
 * as frames arrive. Waits poll with a deadline; nothing sleeps a fixed long time.
 *
 * Covered: a three-node mesh (each dials the others) settles to two peers each, with the
 * right keys and one connection per pair (the one dialled by the smaller key); a broadcast
 * of 1000 frames of varied sizes (empty ones, ones across the 64 KiB read buffer, one of
 * 5 MiB) reaches both others once and in order; directed sends reach only their target,
 * including one frame of exactly P2P_FRAME_MAX bytes, and p2p_send to an unknown id is
 * false; callbacks may call p2p_send and p2p_peers (an echoing node); another genesis hash
 * and a self-dial are refused; a raw NNG client speaks the handshake by hand: a correct one
 * is accepted (and the node's HELLO and AUTH are checked byte by byte), a second one with
 * the same key replaces the first (down of the old, then up of the new), a wrong AUTH
 * signature (over the wrong challenge, or by another key than the HELLO's), another
 * genesis, a frame longer than P2P_FRAME_MAX, and silence past the handshake timeout close
 * the connection; a peer that does not read is disconnected when its queue passes
 * P2P_QUEUE_BYTES_MAX, and p2p_queued counts what waits for it meanwhile; stopping a node
 * gives on_peer(down) at the others and restarting it reconnects within 2 s; p2p_stop with
 * frames in flight both ways is clean; bad configurations are refused. With the openssl
 * command: two nodes over TLS with a CA exchange frames, while a plain-TCP node and a node
 * with a certificate from another CA cannot connect to them. Strangers: once they fill the
 * unprivileged places, another is refused but a reserved key and our own dial get in, and
 * nobody is pushed out; silent connections give way to newer ones when the inbound
 * handshake places are full, one address gets P2P_HANDSHAKES_PER_HOST of them, and our dial
 * is held up by neither; a peer that answers our dial with our own key, but cannot sign for
 * it, is dialled again; two large frames begun by strangers cannot both hold buffers past
 * P2P_RX_SHARED_BYTES_MAX, and a large frame left unfinished is closed after
 * P2P_FRAME_GRACE_MS; what a stranger sends is read no faster than P2P_RX_SHARED_RATE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <sodium.h>

#include "codec.h"
#include "hash.h"
#include "node/log.h"
#include "node/p2p.h"
#include "sig.h"
#include "wallet/key.h"

#define PORT_BASE       19000
#define PORT_RANGE      500
#define PORTS_PER_TEST  5
#define TESTS_MAX       22
#define NODES_MAX       4
#define KEYS_MAX        16
#define WAIT_MS         10000 /* deadline of a wait that should succeed (generous for valgrind) */
#define QUIET_MS        700   /* how long a refusal is watched for an unwanted up */
#define BCAST_FRAMES    1000
#define BIG_FRAME_INDEX 500
#define MAX_FRAME_INDEX 1000

/* --- the frame sequence ------------------------------------------------------------------ */

static size_t
frame_len(size_t i)
{
    /* Empty, tiny, around the 4-byte header, and on both sides of the 64 KiB buffer. */
    static const size_t lens[] = {0,    1,     3,     4,     17,    100,   1000,
                                  4096, 32769, 65535, 65536, 70001, 200000};
    if (i == BIG_FRAME_INDEX)
        return 5u * 1024 * 1024;
    if (i == MAX_FRAME_INDEX)
        return P2P_FRAME_MAX;
    return lens[i % IDL_ARRAY_LEN(lens)];
}

static uint8_t
frame_byte(size_t i, size_t j)
{
    return (uint8_t)(i * 131u + j * 7u + (j >> 8) + 1u);
}

/* Frame i in buf (at least frame_len(i) bytes); returns its length. */
static size_t
frame_fill(uint8_t *buf, size_t i)
{
    size_t len = frame_len(i);
    for (size_t j = 0; j < len; j++)
        buf[j] = frame_byte(i, j);
    return len;
}

static uint8_t *
frame_buf(void)
{
    uint8_t *b = malloc(P2P_FRAME_MAX);
    assert_non_null(b);
    return b;
}

/* --- a test node ------------------------------------------------------------------------- */

struct key_state {
    uint8_t pk[SIG_PUBKEY_BYTES];
    bool is_up;
    uint32_t id; /* while up */
    unsigned ups, downs;
    size_t got, bad; /* frames received from this key; frames out of sequence */
};

struct node {
    char name[24];
    struct wallet_key *key;
    uint8_t genesis[HASH_BYTES];
    char listen[32];
    char peer_addr[NODES_MAX][32];
    const char *peers[NODES_MAX];
    size_t n_peers;
    const char *tls_cert, *tls_key, *tls_ca;
    const uint8_t (*reserved)[SIG_PUBKEY_BYTES];
    size_t n_reserved, inbound_max;
    bool echo; /* send every frame back to its sender from inside on_recv */

    pthread_mutex_t lock;
    struct p2p *p; /* NULL while stopped */
    struct key_state keys[KEYS_MAX];
    size_t n_keys;
    size_t expect_first;    /* index of the first frame expected from each key */
    unsigned violations;    /* breaches of the callback contract */
    unsigned up_unlisted;   /* on_peer(up) whose id p2p_peers did not list (that
                               may happen when a duplicate replaced it meanwhile) */
    unsigned up_done;       /* on_peer(up) calls that have finished */
    unsigned send_failures; /* echo p2p_send that returned false */
};

static struct key_state *
key_state_locked(struct node *n, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < n->n_keys; i++)
        if (memcmp(n->keys[i].pk, pk, SIG_PUBKEY_BYTES) == 0)
            return &n->keys[i];
    if (n->n_keys == KEYS_MAX)
        return NULL;
    struct key_state *k = &n->keys[n->n_keys++];
    memset(k, 0, sizeof(*k));
    memcpy(k->pk, pk, SIG_PUBKEY_BYTES);
    return k;
}

static void
on_peer(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES], bool up)
{
    struct node *n = arg;
    pthread_mutex_lock(&n->lock);
    struct p2p *p = n->p;
    struct key_state *k = key_state_locked(n, pubkey);
    if (!k || k->is_up == up || (!up && k->id != peer) || peer == 0) {
        n->violations++;
    } else {
        k->is_up = up;
        k->id = up ? peer : 0;
        k->ups += up;
        k->downs += !up;
    }
    pthread_mutex_unlock(&n->lock);

    if (up && p) {
        /* Calling back into p2p from a callback is allowed; the new peer is listed. */
        struct p2p_peer_info info[P2P_LINKS_MAX];
        size_t m = p2p_peers(p, info, P2P_LINKS_MAX);
        bool listed = false;
        for (size_t i = 0; i < m; i++)
            listed = listed ||
                     (info[i].id == peer && memcmp(info[i].pubkey, pubkey, SIG_PUBKEY_BYTES) == 0);
        pthread_mutex_lock(&n->lock);
        n->up_unlisted += !listed;
        n->up_done++;
        pthread_mutex_unlock(&n->lock);
    }
}

static void
on_recv(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES], const uint8_t *msg,
        size_t len)
{
    struct node *n = arg;
    pthread_mutex_lock(&n->lock);
    struct p2p *p = n->echo ? n->p : NULL;
    struct key_state *k = key_state_locked(n, pubkey);
    if (!k || !k->is_up || k->id != peer || !msg) {
        n->violations++;
    } else {
        size_t i = n->expect_first + k->got++;
        bool ok = len == frame_len(i);
        for (size_t j = 0; ok && j < len; j++)
            ok = msg[j] == frame_byte(i, j);
        k->bad += !ok;
    }
    pthread_mutex_unlock(&n->lock);
    if (p && !p2p_send(p, peer, msg, len)) {
        pthread_mutex_lock(&n->lock);
        n->send_failures++;
        pthread_mutex_unlock(&n->lock);
    }
}

static void
node_init(struct node *n, const char *name, unsigned port, const uint8_t genesis[HASH_BYTES])
{
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", name);
    assert_int_equal(wallet_key_generate(&n->key), IDL_OK);
    memcpy(n->genesis, genesis, HASH_BYTES);
    snprintf(n->listen, sizeof(n->listen), "127.0.0.1:%u", port);
    pthread_mutex_init(&n->lock, NULL);
}

static void
node_add_peer(struct node *n, const struct node *to)
{
    assert_true(n->n_peers < NODES_MAX);
    snprintf(n->peer_addr[n->n_peers], sizeof(n->peer_addr[0]), "%s", to->listen);
    n->peers[n->n_peers] = n->peer_addr[n->n_peers];
    n->n_peers++;
}

static void
node_start(struct node *n)
{
    struct p2p_config cfg = {
        .listen = n->listen,
        .peers = n->peers,
        .n_peers = n->n_peers,
        .genesis_hash = n->genesis,
        .key = n->key,
        .tls_cert = n->tls_cert,
        .tls_key = n->tls_key,
        .tls_ca = n->tls_ca,
        .reserved = n->reserved,
        .n_reserved = n->n_reserved,
        .inbound_max = n->inbound_max,
    };
    char why[256];
    struct p2p *p;
    idl_err rc = p2p_start(&p, &cfg, on_recv, on_peer, n, why, sizeof(why));
    if (rc != IDL_OK)
        fail_msg("p2p_start %s: %s (%s)", n->name, idl_strerror(rc), why);
    pthread_mutex_lock(&n->lock);
    n->p = p;
    pthread_mutex_unlock(&n->lock);
}

/* Stops the node; its record of peers is reset (p2p_stop announces no downs). */
static void
node_stop(struct node *n)
{
    pthread_mutex_lock(&n->lock);
    struct p2p *p = n->p;
    n->p = NULL;
    pthread_mutex_unlock(&n->lock);
    p2p_stop(p);
    pthread_mutex_lock(&n->lock);
    n->n_keys = 0;
    pthread_mutex_unlock(&n->lock);
}

static void
node_fini(struct node *n)
{
    if (n->p)
        node_stop(n);
    assert_int_equal(n->violations, 0);
    wallet_key_free(n->key);
    pthread_mutex_destroy(&n->lock);
}

/* A copy of what the node knows of key pk (all zero if nothing). */
static struct key_state
node_key(struct node *n, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    struct key_state k;
    memset(&k, 0, sizeof(k));
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < n->n_keys; i++)
        if (memcmp(n->keys[i].pk, pk, SIG_PUBKEY_BYTES) == 0)
            k = n->keys[i];
    pthread_mutex_unlock(&n->lock);
    return k;
}

static unsigned
node_ups(struct node *n)
{
    unsigned ups = 0;
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < n->n_keys; i++)
        ups += n->keys[i].ups;
    pthread_mutex_unlock(&n->lock);
    return ups;
}

static uint32_t
node_peer_id(struct node *n, const struct node *of)
{
    return node_key(n, of->key->pk).id;
}

/* --- waiting ----------------------------------------------------------------------------- */

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
nap(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

typedef bool (*cond_fn)(void *ctx);

/* Polls cond until it holds (true) or deadline_ms passes (false). */
static bool
wait_for(cond_fn cond, void *ctx, unsigned deadline_ms)
{
    uint64_t end = now_ms() + deadline_ms;
    for (;;) {
        if (cond(ctx))
            return true;
        if (now_ms() >= end)
            return false;
        nap();
    }
}

struct mesh {
    struct node **n;
    size_t k;
    bool strict; /* also: each pair on the connection dialled by the smaller key */
};

/*
 * Every node lists exactly the others, each once, as its callbacks say; with strict, each
 * pair is on the connection that the duplicate rule keeps, so no replacement is pending.
 */
static bool
mesh_settled(void *ctx)
{
    struct mesh *m = ctx;
    for (size_t a = 0; a < m->k; a++) {
        struct node *na = m->n[a];
        struct p2p_peer_info info[NODES_MAX + 1];
        pthread_mutex_lock(&na->lock);
        struct p2p *p = na->p;
        pthread_mutex_unlock(&na->lock);
        size_t cnt = p2p_peers(p, info, IDL_ARRAY_LEN(info));
        if (cnt != m->k - 1)
            return false;
        for (size_t b = 0; b < m->k; b++) {
            if (b == a)
                continue;
            const uint8_t *pk = m->n[b]->key->pk;
            size_t seen = 0;
            for (size_t i = 0; i < cnt; i++) {
                if (memcmp(info[i].pubkey, pk, SIG_PUBKEY_BYTES) != 0)
                    continue;
                seen++;
                struct key_state ks = node_key(na, pk);
                bool own_smaller = memcmp(na->key->pk, pk, SIG_PUBKEY_BYTES) < 0;
                if (!ks.is_up || ks.id != info[i].id ||
                    (m->strict && info[i].outbound != own_smaller))
                    return false;
            }
            if (seen != 1)
                return false;
        }
    }
    return true;
}

static bool
up_done(void *ctx)
{
    struct node *n = ctx;
    pthread_mutex_lock(&n->lock);
    bool done = n->up_done > 0;
    pthread_mutex_unlock(&n->lock);
    return done;
}

struct got_ctx {
    struct node *at;
    const uint8_t *from; /* public key */
    size_t want;
};

static bool
got_all(void *ctx)
{
    struct got_ctx *g = ctx;
    return node_key(g->at, g->from).got >= g->want;
}

struct up_ctx {
    struct node *at;
    const uint8_t *pk;
    bool up;
};

static bool
is_up(void *ctx)
{
    struct up_ctx *u = ctx;
    return node_key(u->at, u->pk).is_up == u->up;
}

static void
expect_up(struct node *at, const uint8_t *pk, bool up)
{
    struct up_ctx u = {at, pk, up};
    if (!wait_for(is_up, &u, WAIT_MS))
        fail_msg("%s: peer never went %s", at->name, up ? "up" : "down");
}

/* Waits until `at` has `want` frames from key `from`, all in sequence, and no more. */
static void
expect_got_pk(struct node *at, const uint8_t *from, size_t want)
{
    struct got_ctx g = {at, from, want};
    if (!wait_for(got_all, &g, WAIT_MS))
        fail_msg("%s got %zu of %zu frames", at->name, node_key(at, from).got, want);
    struct key_state k = node_key(at, from);
    assert_int_equal(k.got, want);
    assert_int_equal(k.bad, 0);
}

static void
expect_got(struct node *at, const struct node *from, size_t want)
{
    expect_got_pk(at, from->key->pk, want);
}

static void
expect_mesh(struct node **n, size_t k, bool strict)
{
    struct mesh m = {n, k, strict};
    if (!wait_for(mesh_settled, &m, WAIT_MS))
        fail_msg("the mesh of %zu nodes did not settle", k);
}

static void
genesis_of(uint8_t g[HASH_BYTES], const char *name)
{
    hash_tagged(g, "idledger/p2p-test-genesis", name, strlen(name));
}

/* n nodes on ports from base, every one dialling every other. */
static void
mesh_start(struct node *nodes, size_t k, unsigned base)
{
    uint8_t g[HASH_BYTES];
    genesis_of(g, "mesh");
    for (size_t i = 0; i < k; i++) {
        char name[24];
        snprintf(name, sizeof(name), "n%zu", i);
        node_init(&nodes[i], name, base + (unsigned)i, g);
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            if (i != j)
                node_add_peer(&nodes[i], &nodes[j]);
    for (size_t i = 0; i < k; i++)
        node_start(&nodes[i]);
}

/*
 * Ports: test t uses PORTS_PER_TEST ports from port_base + PORTS_PER_TEST * t. The base is a
 * slot of 19000-19499 whose ports are all free at start, tried from one picked by the pid,
 * so that two runs of this suite at once (other builds on the same machine) do not meet.
 */
static unsigned port_base = PORT_BASE;

static bool
port_free(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int yes = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes)); /* as NNG does */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void
port_base_pick(void)
{
    const unsigned span = PORTS_PER_TEST * TESTS_MAX, slots = PORT_RANGE / span;
    unsigned first = (unsigned)getpid() % slots;
    for (unsigned k = 0; k < slots; k++) {
        unsigned base = PORT_BASE + span * ((first + k) % slots);
        bool all = true;
        for (unsigned port = base; all && port < base + span; port++)
            all = port_free(port);
        if (all) {
            port_base = base;
            return;
        }
    }
}

static unsigned
port_block(unsigned test)
{
    assert_true(test < TESTS_MAX);
    return port_base + PORTS_PER_TEST * test;
}

/* --- a raw client speaking the handshake by hand ----------------------------------------- */

static int
raw_io(nng_stream *s, bool send, void *buf, size_t len, nng_duration timeout_ms)
{
    nng_aio *aio;
    assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
    size_t done = 0;
    int rv = 0;
    while (done < len) {
        nng_iov iov = {.iov_buf = (uint8_t *)buf + done, .iov_len = len - done};
        assert_int_equal(nng_aio_set_iov(aio, 1, &iov), 0);
        nng_aio_set_timeout(aio, timeout_ms);
        if (send)
            nng_stream_send(s, aio);
        else
            nng_stream_recv(s, aio);
        nng_aio_wait(aio);
        rv = nng_aio_result(aio);
        if (rv != 0)
            break;
        done += nng_aio_count(aio);
    }
    nng_aio_free(aio);
    return rv;
}

static nng_stream *
raw_connect(const struct node *to)
{
    char url[64];
    snprintf(url, sizeof(url), "tcp://%s", to->listen);
    nng_stream_dialer *d;
    nng_aio *aio;
    assert_int_equal(nng_stream_dialer_alloc(&d, url), 0);
    assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
    nng_aio_set_timeout(aio, WAIT_MS);
    nng_stream_dialer_dial(d, aio);
    nng_aio_wait(aio);
    assert_int_equal(nng_aio_result(aio), 0);
    nng_stream *s = nng_aio_get_output(aio, 0);
    nng_aio_free(aio);
    nng_stream_dialer_free(d);
    return s;
}

/* True if the node closes s within deadline_ms (whatever it sends before is discarded). */
static bool
raw_closed_within(nng_stream *s, unsigned deadline_ms)
{
    uint64_t end = now_ms() + deadline_ms;
    uint8_t sink[4096];
    for (;;) {
        uint64_t now = now_ms();
        if (now >= end)
            return false;
        nng_aio *aio;
        assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
        nng_iov iov = {.iov_buf = sink, .iov_len = sizeof(sink)};
        assert_int_equal(nng_aio_set_iov(aio, 1, &iov), 0);
        nng_aio_set_timeout(aio, (nng_duration)(end - now));
        nng_stream_recv(s, aio);
        nng_aio_wait(aio);
        int rv = nng_aio_result(aio);
        nng_aio_free(aio);
        if (rv == NNG_ETIMEDOUT)
            return false;
        if (rv != 0)
            return true;
    }
}

/* What the side in `role` signs in its AUTH (p2p.h). */
static void
auth_hash(uint8_t h[HASH_BYTES], uint8_t role, const uint8_t *dialler, size_t dialler_len,
          const uint8_t *listener, size_t listener_len)
{
    uint8_t pre[1 + 2 * P2P_HELLO_MAX];
    pre[0] = role;
    memcpy(pre + 1, dialler, dialler_len);
    memcpy(pre + 1 + dialler_len, listener, listener_len);
    hash_tagged(h, P2P_AUTH_TAG, pre, 1 + dialler_len + listener_len);
}

enum raw_mode {
    RAW_GOOD,
    RAW_AUTH_OTHER_EXCHANGE, /* signs for an ephemeral key it did not send (a relay) */
    RAW_AUTH_OTHER_KEY,      /* HELLO names one key, AUTH is signed by another */
    RAW_AUTH_OTHER_ROLE,     /* signs as the listener, though it dialled */
    RAW_OTHER_GENESIS,
};

struct raw {
    nng_stream *s;
    struct wallet_key *key, *other;
    uint8_t eph_pk[P2P_EPHEMERAL_BYTES], eph_sk[crypto_kx_SECRETKEYBYTES];
    uint8_t rx_key[crypto_kx_SESSIONKEYBYTES], tx_key[crypto_kx_SESSIONKEYBYTES];
    uint64_t rx_seq, tx_seq;
};

static void
raw_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t seq)
{
    memset(nonce, 0, 4);
    codec_be64_put(nonce + 4, seq);
}

/* Writes msg as the next sealed frame from r at out (4 + len + P2P_TAG_BYTES bytes). */
static size_t
raw_seal(struct raw *r, uint8_t *out, const uint8_t *msg, size_t len)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    raw_nonce(nonce, r->tx_seq++);
    codec_be32_put(out, (uint32_t)(len + P2P_TAG_BYTES));
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(out + 4, out + 4 + len, NULL, msg, len, out,
                                                       4, NULL, nonce, r->tx_key);
    return 4 + len + P2P_TAG_BYTES;
}

/* Reads the node's next frame into msg (at most cap bytes); returns its length. */
static size_t
raw_recv_frame(struct raw *r, uint8_t *msg, size_t cap)
{
    uint8_t hdr[4], tag[P2P_TAG_BYTES], nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    assert_int_equal(raw_io(r->s, false, hdr, 4, WAIT_MS), 0);
    uint32_t sealed = codec_be32_get(hdr);
    assert_true(sealed >= P2P_TAG_BYTES && sealed - P2P_TAG_BYTES <= cap);
    size_t len = sealed - P2P_TAG_BYTES;
    assert_int_equal(raw_io(r->s, false, msg, len, WAIT_MS), 0);
    assert_int_equal(raw_io(r->s, false, tag, sizeof(tag), WAIT_MS), 0);
    raw_nonce(nonce, r->rx_seq++);
    assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt_detached(msg, NULL, msg, len, tag,
                                                                        hdr, 4, nonce, r->rx_key),
                     0);
    return len;
}

/*
 * Connects to `to` and runs our side of the handshake in `mode`. Checks the node's HELLO
 * field by field, and with RAW_GOOD its AUTH as well.
 */
static void
raw_handshake_as(struct raw *r, struct node *to, enum raw_mode mode, const struct raw *same_key)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(wallet_key_generate(&r->key), IDL_OK);
    if (same_key) {
        memcpy(r->key->sk, same_key->key->sk, SIG_SECKEY_BYTES);
        memcpy(r->key->pk, same_key->key->pk, SIG_PUBKEY_BYTES);
    }
    assert_int_equal(wallet_key_generate(&r->other), IDL_OK);
    crypto_kx_keypair(r->eph_pk, r->eph_sk);
    r->s = raw_connect(to);

    /* The node's HELLO, exactly as p2p.h lays it out. */
    uint8_t hello[P2P_HELLO_FIXED_BYTES + P2P_ADDR_MAX];
    assert_int_equal(raw_io(r->s, false, hello, P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
    size_t n = hello[P2P_HELLO_FIXED_BYTES - 1];
    assert_int_equal(n, strlen(to->listen));
    assert_int_equal(raw_io(r->s, false, hello + P2P_HELLO_FIXED_BYTES, n, WAIT_MS), 0);
    assert_memory_equal(hello, P2P_MAGIC, 4);
    assert_int_equal(hello[4] << 8 | hello[5], P2P_VERSION);
    assert_memory_equal(hello + 6, to->genesis, HASH_BYTES);
    assert_memory_equal(hello + 6 + HASH_BYTES, to->key->pk, SIG_PUBKEY_BYTES);
    const uint8_t *node_eph = hello + 6 + HASH_BYTES + SIG_PUBKEY_BYTES;
    assert_memory_equal(hello + P2P_HELLO_FIXED_BYTES, to->listen, n);
    /* We dialled: crypto_kx's client. */
    assert_int_equal(
        crypto_kx_client_session_keys(r->rx_key, r->tx_key, r->eph_pk, r->eph_sk, node_eph), 0);

    /* Ours. */
    uint8_t genesis[HASH_BYTES];
    memcpy(genesis, to->genesis, HASH_BYTES);
    if (mode == RAW_OTHER_GENESIS)
        genesis_of(genesis, "another chain");
    const char *listen = "127.0.0.1:1";
    uint8_t mine[P2P_HELLO_FIXED_BYTES + 16], *w = mine;
    memcpy(w, P2P_MAGIC, 4);
    w[4] = 0;
    w[5] = P2P_VERSION;
    memcpy(w + 6, genesis, HASH_BYTES);
    memcpy(w + 6 + HASH_BYTES, r->key->pk, SIG_PUBKEY_BYTES);
    memcpy(w + 6 + HASH_BYTES + SIG_PUBKEY_BYTES, r->eph_pk, P2P_EPHEMERAL_BYTES);
    w[P2P_HELLO_FIXED_BYTES - 1] = (uint8_t)strlen(listen);
    memcpy(w + P2P_HELLO_FIXED_BYTES, listen, strlen(listen));
    assert_int_equal(raw_io(r->s, true, mine, P2P_HELLO_FIXED_BYTES + strlen(listen), WAIT_MS), 0);

    /* We dialled: our HELLO comes first in what both sides sign. */
    size_t mine_len = P2P_HELLO_FIXED_BYTES + strlen(listen), hello_len = P2P_HELLO_FIXED_BYTES + n;
    uint8_t h[HASH_BYTES], sig[SIG_BYTES], signed_hello[sizeof(mine)], unused[32];
    memcpy(signed_hello, mine, mine_len);
    if (mode == RAW_AUTH_OTHER_EXCHANGE) /* the ephemeral key of someone else's exchange */
        crypto_kx_keypair(signed_hello + 6 + HASH_BYTES + SIG_PUBKEY_BYTES, unused);
    auth_hash(h, mode == RAW_AUTH_OTHER_ROLE ? P2P_ROLE_LISTENER : P2P_ROLE_DIALLER, signed_hello,
              mine_len, hello, hello_len);
    const struct wallet_key *signer = mode == RAW_AUTH_OTHER_KEY ? r->other : r->key;
    assert_int_equal(sig_sign(sig, h, signer->sk), IDL_OK);
    assert_int_equal(raw_io(r->s, true, sig, sizeof(sig), WAIT_MS), 0);

    if (mode == RAW_GOOD) {
        /* The node's AUTH: its key's signature, as the listener, over both HELLOs. */
        assert_int_equal(raw_io(r->s, false, sig, sizeof(sig), WAIT_MS), 0);
        auth_hash(h, P2P_ROLE_LISTENER, mine, mine_len, hello, hello_len);
        assert_true(sig_verify(sig, h, to->key->pk));
    }
}

static void
raw_handshake(struct raw *r, struct node *to, enum raw_mode mode)
{
    raw_handshake_as(r, to, mode, NULL);
}

static void
raw_close(struct raw *r)
{
    nng_stream_free(r->s);
    wallet_key_free(r->key);
    wallet_key_free(r->other);
}

/* --- tests ------------------------------------------------------------------------------- */

static void
test_mesh_broadcast_reaches_each_other_node_once_in_order(void **state)
{
    (void)state;
    struct node nodes[3];
    struct node *np[3] = {&nodes[0], &nodes[1], &nodes[2]};
    mesh_start(nodes, 3, port_block(0));
    expect_mesh(np, 3, true);

    uint8_t *buf = frame_buf();
    for (size_t i = 0; i < BCAST_FRAMES; i++)
        p2p_broadcast(nodes[0].p, buf, frame_fill(buf, i));
    free(buf);
    expect_got(&nodes[1], &nodes[0], BCAST_FRAMES);
    expect_got(&nodes[2], &nodes[0], BCAST_FRAMES);
    assert_int_equal(node_key(&nodes[0], nodes[0].key->pk).got, 0); /* not to itself */

    /* Still one connection per pair, never replaced: one up each, no down. */
    expect_mesh(np, 3, true);
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            if (a != b) {
                struct key_state k = node_key(&nodes[a], nodes[b].key->pk);
                assert_true(k.is_up);
                assert_true(k.ups >= 1);
                assert_int_equal(k.ups, k.downs + 1);
            }
    for (size_t i = 0; i < 3; i++)
        node_fini(&nodes[i]);
}

static void
test_directed_send_reaches_only_its_target(void **state)
{
    (void)state;
    struct node nodes[3];
    struct node *np[3] = {&nodes[0], &nodes[1], &nodes[2]};
    mesh_start(nodes, 3, port_block(1));
    expect_mesh(np, 3, true);

    /* To n1: frames 990..1000, the last of exactly P2P_FRAME_MAX bytes. */
    uint8_t *buf = frame_buf();
    nodes[1].expect_first = 990;
    uint32_t to1 = node_peer_id(&nodes[0], &nodes[1]);
    for (size_t i = 990; i <= MAX_FRAME_INDEX; i++)
        assert_true(p2p_send(nodes[0].p, to1, buf, frame_fill(buf, i)));
    expect_got(&nodes[1], &nodes[0], MAX_FRAME_INDEX - 990 + 1);

    /* Then to n2: frames 0..19. Had any of n1's reached n2, it would be out of sequence. */
    uint32_t to2 = node_peer_id(&nodes[0], &nodes[2]);
    for (size_t i = 0; i < 20; i++)
        assert_true(p2p_send(nodes[0].p, to2, buf, frame_fill(buf, i)));
    expect_got(&nodes[2], &nodes[0], 20);
    free(buf);
    assert_int_equal(node_key(&nodes[1], nodes[0].key->pk).got, MAX_FRAME_INDEX - 990 + 1);

    /* Unknown ids: nothing queued. */
    assert_false(p2p_send(nodes[0].p, 0, NULL, 0));
    assert_false(p2p_send(nodes[0].p, to1 + to2 + 1000, NULL, 0));
    for (size_t i = 0; i < 3; i++)
        node_fini(&nodes[i]);
}

static void
test_callbacks_may_send_back(void **state)
{
    (void)state;
    struct node nodes[2];
    struct node *np[2] = {&nodes[0], &nodes[1]};
    mesh_start(nodes, 2, port_block(2));
    pthread_mutex_lock(&nodes[1].lock);
    nodes[1].echo = true;
    pthread_mutex_unlock(&nodes[1].lock);
    expect_mesh(np, 2, true);

    uint8_t *buf = frame_buf();
    uint32_t to1 = node_peer_id(&nodes[0], &nodes[1]);
    for (size_t i = 0; i < 300; i++)
        assert_true(p2p_send(nodes[0].p, to1, buf, frame_fill(buf, i)));
    free(buf);
    expect_got(&nodes[1], &nodes[0], 300);
    expect_got(&nodes[0], &nodes[1], 300); /* the echoes, in order */
    assert_int_equal(nodes[1].send_failures, 0);
    for (size_t i = 0; i < 2; i++)
        node_fini(&nodes[i]);
}

static bool
never(void *ctx)
{
    (void)ctx;
    return false;
}

static void
test_other_genesis_and_self_are_refused(void **state)
{
    (void)state;
    uint8_t g1[HASH_BYTES], g2[HASH_BYTES];
    genesis_of(g1, "one");
    genesis_of(g2, "two");
    struct node a, b;
    node_init(&a, "a", port_block(3), g1);
    node_init(&b, "b", port_block(3) + 1, g2);
    node_add_peer(&a, &b);
    node_add_peer(&a, &a); /* a dials itself too */
    node_add_peer(&b, &a);
    node_start(&a);
    node_start(&b);

    /* Each side dials the other a few times (backoff 100, 200, 400 ms) meanwhile. */
    (void)wait_for(never, NULL, QUIET_MS);
    assert_int_equal(node_ups(&a), 0);
    assert_int_equal(node_ups(&b), 0);
    struct p2p_peer_info info[2];
    assert_int_equal(p2p_peers(a.p, info, 2), 0);
    assert_int_equal(p2p_peers(b.p, info, 2), 0);

    /* By hand: a HELLO with another genesis is answered by a close, with no AUTH. */
    struct raw r;
    raw_handshake(&r, &a, RAW_OTHER_GENESIS);
    assert_true(raw_closed_within(r.s, WAIT_MS));
    raw_close(&r);
    assert_int_equal(node_ups(&a), 0);
    node_fini(&a);
    node_fini(&b);
}

static void
test_raw_client_with_good_handshake_exchanges_frames(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "raw");
    struct node a;
    node_init(&a, "a", port_block(4), g);
    node_start(&a);

    struct raw r;
    raw_handshake(&r, &a, RAW_GOOD);
    expect_up(&a, r.key->pk, true);
    /* p2p_peers, called inside on_peer(up), listed the new peer. */
    assert_true(wait_for(up_done, &a, WAIT_MS));
    pthread_mutex_lock(&a.lock);
    assert_int_equal(a.up_unlisted, 0);
    pthread_mutex_unlock(&a.lock);

    /* Frames 0..6 (the first one empty) in one write, then the node's frame 6 to us. */
    uint8_t buf[2048], msg[1024];
    size_t off = 0;
    for (size_t i = 0; i <= 6; i++)
        off += raw_seal(&r, buf + off, msg, frame_fill(msg, i));
    assert_int_equal(raw_io(r.s, true, buf, off, WAIT_MS), 0);
    expect_got_pk(&a, r.key->pk, 7);
    struct key_state k = node_key(&a, r.key->pk);

    /* The node's frames 0..12 and one of 5 MiB to us, opened with libsodium's AEAD: the
     * node seals small ones at once and large ones 1 MiB at a time, and the result must
     * be the one construction. */
    const size_t big = frame_len(BIG_FRAME_INDEX);
    uint8_t *want = malloc(big), *got = malloc(big);
    assert_non_null(want);
    assert_non_null(got);
    for (size_t i = 0; i <= 13; i++) {
        size_t len = frame_fill(want, i < 13 ? i : BIG_FRAME_INDEX);
        assert_true(p2p_send(a.p, k.id, want, len));
        assert_int_equal(raw_recv_frame(&r, got, big), len);
        assert_memory_equal(got, want, len);
    }
    free(want);
    free(got);

    /* Closing our end is the node's down. */
    nng_stream_close(r.s);
    expect_up(&a, r.key->pk, false);
    raw_close(&r);
    node_fini(&a);
}

static void
test_reconnect_with_same_key_replaces_the_old_connection(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "again");
    struct node a;
    node_init(&a, "a", port_block(13), g);
    node_start(&a);

    /* The old connection stays open at our end, as after a crash the node has not seen. */
    struct raw old, fresh;
    raw_handshake(&old, &a, RAW_GOOD);
    expect_up(&a, old.key->pk, true);
    uint32_t old_id = node_key(&a, old.key->pk).id;
    raw_handshake_as(&fresh, &a, RAW_GOOD, &old);

    /* The newer one wins: the old one closes, its down comes first, then the new one's up. */
    assert_true(raw_closed_within(old.s, WAIT_MS));
    uint64_t end = now_ms() + WAIT_MS;
    struct key_state k;
    do {
        nap();
        k = node_key(&a, old.key->pk);
    } while (k.ups < 2 && now_ms() < end);
    assert_int_equal(k.ups, 2);
    assert_int_equal(k.downs, 1); /* the harness flags any up while up */
    assert_true(k.is_up);
    assert_int_not_equal(k.id, old_id);

    /* Frames flow on the new one. */
    uint8_t buf[4 + P2P_TAG_BYTES];
    size_t n = raw_seal(&fresh, buf, buf, 0); /* frame 0: empty */
    assert_int_equal(raw_io(fresh.s, true, buf, n, WAIT_MS), 0);
    expect_got_pk(&a, fresh.key->pk, 1);
    raw_close(&old);
    raw_close(&fresh);
    node_fini(&a);
}

static void
test_wrong_auth_signature_is_refused(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "auth");
    struct node a;
    node_init(&a, "a", port_block(5), g);
    node_start(&a);

    const enum raw_mode modes[] = {RAW_AUTH_OTHER_EXCHANGE, RAW_AUTH_OTHER_KEY,
                                   RAW_AUTH_OTHER_ROLE};
    for (size_t i = 0; i < IDL_ARRAY_LEN(modes); i++) {
        struct raw r;
        raw_handshake(&r, &a, modes[i]);
        assert_true(raw_closed_within(r.s, WAIT_MS));
        raw_close(&r);
    }
    assert_int_equal(node_ups(&a), 0);
    node_fini(&a);
}

static void
test_frame_over_max_closes_the_connection(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "big");
    struct node a;
    node_init(&a, "a", port_block(6), g);
    node_start(&a);

    struct raw r;
    raw_handshake(&r, &a, RAW_GOOD);
    expect_up(&a, r.key->pk, true);
    uint8_t hdr[4];
    codec_be32_put(hdr, P2P_FRAME_MAX + P2P_TAG_BYTES + 1);
    assert_int_equal(raw_io(r.s, true, hdr, sizeof(hdr), WAIT_MS), 0);
    assert_true(raw_closed_within(r.s, WAIT_MS));
    expect_up(&a, r.key->pk, false);
    assert_int_equal(node_key(&a, r.key->pk).got, 0);
    raw_close(&r);
    node_fini(&a);
}

enum tamper {
    TAMPER_BIT,       /* one bit of the ciphertext flipped on the way */
    TAMPER_REPLAY,    /* a frame sent again, as it was */
    TAMPER_PLAINTEXT, /* a frame not sealed at all (an older peer, or an injection) */
    TAMPER_OTHER_KEY, /* sealed under a key of another connection */
};

/*
 * Frames that do not open under the link's keys and the next nonce close the connection,
 * and none of them is delivered: what someone between two nodes can do to a link is to
 * pass its frames on or to break it.
 */
static void
test_frames_that_do_not_open_close_the_connection(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "sealed");
    struct node a;
    node_init(&a, "a", port_block(19), g);
    node_start(&a);

    const enum tamper modes[] = {TAMPER_BIT, TAMPER_REPLAY, TAMPER_PLAINTEXT, TAMPER_OTHER_KEY};
    const size_t sizes[] = {5, 11}; /* frames of 100 bytes, and of 70001 (read apart) */
    uint8_t *msg = malloc(70001), *good = malloc(70001 + 20), *bad = malloc(70001 + 20);
    assert_non_null(msg);
    assert_non_null(good);
    assert_non_null(bad);
    for (size_t i = 0; i < IDL_ARRAY_LEN(modes) * IDL_ARRAY_LEN(sizes); i++) {
        enum tamper mode = modes[i / IDL_ARRAY_LEN(sizes)];
        struct raw r;
        raw_handshake(&r, &a, RAW_GOOD);
        expect_up(&a, r.key->pk, true);
        a.expect_first = sizes[i % IDL_ARRAY_LEN(sizes)];
        size_t len = frame_fill(msg, a.expect_first);
        size_t n = raw_seal(&r, good, msg, len);
        assert_int_equal(raw_io(r.s, true, good, n, WAIT_MS), 0);
        expect_got_pk(&a, r.key->pk, 1);

        memcpy(bad, good, n);
        switch (mode) {
        case TAMPER_BIT:
            n = raw_seal(&r, bad, msg, len);
            bad[4 + len / 2] ^= 0x10; /* in the ciphertext */
            break;
        case TAMPER_REPLAY:
            break; /* the first frame again: its nonce is spent */
        case TAMPER_PLAINTEXT:
            memcpy(bad + 4, msg, len);
            memset(bad + 4 + len, 0, P2P_TAG_BYTES);
            break;
        case TAMPER_OTHER_KEY:
            randombytes_buf(r.tx_key, sizeof(r.tx_key));
            n = raw_seal(&r, bad, msg, len);
            break;
        }
        assert_int_equal(raw_io(r.s, true, bad, n, WAIT_MS), 0);
        if (!raw_closed_within(r.s, WAIT_MS))
            fail_msg("tamper case %zu: the connection stayed open", i);
        expect_up(&a, r.key->pk, false);
        assert_int_equal(node_key(&a, r.key->pk).got, 1); /* the good frame only */
        raw_close(&r);
    }
    free(msg);
    free(good);
    free(bad);

    /* A length that cannot even hold the tag. */
    for (uint32_t len = 0; len < P2P_TAG_BYTES; len += 5) {
        struct raw r;
        raw_handshake(&r, &a, RAW_GOOD);
        expect_up(&a, r.key->pk, true);
        uint8_t hdr[4 + P2P_TAG_BYTES] = {0};
        codec_be32_put(hdr, len);
        assert_int_equal(raw_io(r.s, true, hdr, 4 + len, WAIT_MS), 0);
        assert_true(raw_closed_within(r.s, WAIT_MS));
        assert_int_equal(node_key(&a, r.key->pk).got, 0);
        raw_close(&r);
    }
    node_fini(&a);
}

static void
test_silent_client_is_closed_after_the_handshake_timeout(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "slow");
    struct node a;
    node_init(&a, "a", port_block(7), g);
    node_start(&a);

    nng_stream *s = raw_connect(&a);
    uint64_t t0 = now_ms();
    assert_true(raw_closed_within(s, P2P_HANDSHAKE_TIMEOUT_MS + 3000));
    uint64_t took = now_ms() - t0;
    assert_true(took >= P2P_HANDSHAKE_TIMEOUT_MS - 500);
    nng_stream_free(s);
    node_fini(&a);
}

static void
test_peer_that_does_not_read_is_dropped_at_the_queue_bound(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "queue");
    struct node a;
    node_init(&a, "a", port_block(8), g);
    node_start(&a);

    struct raw r;
    raw_handshake(&r, &a, RAW_GOOD); /* and then never reads */
    expect_up(&a, r.key->pk, true);
    uint8_t *buf = calloc(1, P2P_FRAME_MAX);
    assert_non_null(buf);
    size_t frames = P2P_QUEUE_BYTES_MAX / P2P_FRAME_MAX + 1;
    uint32_t id = node_key(&a, r.key->pk).id;
    size_t total = 1;
    assert_int_equal(p2p_queued(a.p, id, &total), 0);
    assert_int_equal(total, 0);
    /* What waits unsent is counted (bft.c serves no sync request on top of it). */
    for (size_t i = 0; i + 1 < frames; i++)
        p2p_broadcast(a.p, buf, P2P_FRAME_MAX);
    size_t queued = p2p_queued(a.p, id, &total);
    assert_true(queued > P2P_QUEUE_BYTES_MAX / 2 && queued <= P2P_QUEUE_BYTES_MAX);
    assert_int_equal(total, queued);
    p2p_broadcast(a.p, buf, P2P_FRAME_MAX);
    free(buf);
    expect_up(&a, r.key->pk, false);
    assert_true(raw_closed_within(r.s, WAIT_MS));
    raw_close(&r);
    node_fini(&a);
}

struct all_up_ctx {
    struct node *n;
    size_t k;
    const uint8_t *pk;
    bool up;
};

static bool
all_see(void *ctx)
{
    struct all_up_ctx *c = ctx;
    for (size_t i = 0; i < c->k; i++)
        if (node_key(&c->n[i], c->pk).is_up != c->up)
            return false;
    return true;
}

static void
test_stopped_node_goes_down_and_reconnects_after_restart(void **state)
{
    (void)state;
    struct node nodes[3];
    struct node *np[3] = {&nodes[0], &nodes[1], &nodes[2]};
    mesh_start(nodes, 3, port_block(9));
    expect_mesh(np, 3, true);

    node_stop(&nodes[2]);
    struct all_up_ctx c = {nodes, 2, nodes[2].key->pk, false};
    assert_true(wait_for(all_see, &c, WAIT_MS));
    /* Let the others' redial backoff grow a little while it is away. */
    (void)wait_for(never, NULL, 400);

    uint64_t t0 = now_ms();
    node_start(&nodes[2]);
    c.up = true;
    assert_true(wait_for(all_see, &c, WAIT_MS));
    expect_mesh(np, 3, false);
    uint64_t took = now_ms() - t0;
    if (took > 2000)
        fail_msg("reconnected after %llu ms", (unsigned long long)took);

    /* Frames flow on the new connections. */
    uint8_t *buf = frame_buf();
    for (size_t i = 0; i < 50; i++)
        p2p_broadcast(nodes[2].p, buf, frame_fill(buf, i));
    free(buf);
    expect_got(&nodes[0], &nodes[2], 50);
    expect_got(&nodes[1], &nodes[2], 50);
    for (size_t i = 0; i < 3; i++)
        node_fini(&nodes[i]);
}

static void
test_stop_with_frames_in_flight_is_clean(void **state)
{
    (void)state;
    struct node nodes[3];
    struct node *np[3] = {&nodes[0], &nodes[1], &nodes[2]};
    mesh_start(nodes, 3, port_block(10));
    for (size_t i = 0; i < 3; i++) {
        pthread_mutex_lock(&nodes[i].lock);
        nodes[i].echo = true; /* callbacks call p2p_send while the nodes stop */
        pthread_mutex_unlock(&nodes[i].lock);
    }
    expect_mesh(np, 3, true);
    uint8_t *buf = frame_buf();
    for (size_t i = 0; i < 200; i++) {
        size_t len = frame_fill(buf, i % 2 ? i : BIG_FRAME_INDEX);
        p2p_broadcast(nodes[i % 3].p, buf, len);
    }
    free(buf);
    /* Stop while those are on the wire, one node while the others still send to it. */
    node_stop(&nodes[1]);
    node_stop(&nodes[0]);
    node_stop(&nodes[2]);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(nodes[i].violations, 0);
        node_fini(&nodes[i]);
    }
}

static void
test_bad_configurations_are_refused(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "cfg");
    struct node a;
    node_init(&a, "a", port_block(11), g);
    node_start(&a);

    struct p2p *p = NULL;
    char why[256], free1[32], free2[32];
    snprintf(free1, sizeof(free1), "127.0.0.1:%u", port_block(11) + 1);
    snprintf(free2, sizeof(free2), "127.0.0.1:%u", port_block(11) + 2);
    const char *bad_peer[] = {"tcp://127.0.0.1:1"};
    struct p2p_config cfg = {.listen = "nonsense", .genesis_hash = g, .key = a.key};
    assert_int_equal(p2p_start(&p, &cfg, on_recv, on_peer, &a, why, sizeof(why)), IDL_ERR_INVALID);
    assert_null(p);
    assert_true(strlen(why) > 0);

    cfg.listen = free1;
    cfg.peers = bad_peer;
    cfg.n_peers = 1;
    assert_int_equal(p2p_start(&p, &cfg, on_recv, on_peer, &a, why, sizeof(why)), IDL_ERR_INVALID);

    cfg.n_peers = 0;
    cfg.listen = a.listen; /* in use */
    assert_int_equal(p2p_start(&p, &cfg, on_recv, on_peer, &a, why, sizeof(why)), IDL_ERR_IO);
    assert_true(strlen(why) > 0);

    cfg.listen = free2;
    cfg.tls_cert = "/nonexistent/cert.pem";
    cfg.tls_key = "/nonexistent/key.pem";
    assert_int_equal(p2p_start(&p, &cfg, on_recv, on_peer, &a, why, sizeof(why)), IDL_ERR_INVALID);
    assert_non_null(strstr(why, "/nonexistent/cert.pem"));

    cfg.tls_cert = "";
    cfg.tls_key = "";
    cfg.tls_ca = "/nonexistent/ca.pem"; /* a CA without a certificate of our own */
    assert_int_equal(p2p_start(&p, &cfg, on_recv, on_peer, &a, why, sizeof(why)), IDL_ERR_INVALID);
    assert_null(p);
    node_fini(&a);
}

/* --- TLS --------------------------------------------------------------------------------- */

static char tls_dir[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static bool
run_in_tls_dir(const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof(line), "cd %s && (%s) >/dev/null 2>&1", tls_dir, cmd);
    return system(line) == 0;
}

/* A CA with certificates "a" and "b", and a rogue CA with certificate "r" (all P-256). */
static bool
tls_make_certs(void)
{
    snprintf(tls_dir, sizeof(tls_dir), "/tmp/p2p_test_XXXXXX");
    if (!mkdtemp(tls_dir))
        return false;
    bool ok = run_in_tls_dir("printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature\\n"
                             "extendedKeyUsage=serverAuth,clientAuth\\n' > leaf.ext");
    const char *const certs[][2] = {{"ca", "a"}, {"ca", "b"}, {"rogue", "r"}};
    for (size_t i = 0; ok && i < IDL_ARRAY_LEN(certs); i++) {
        const char *ca = certs[i][0], *name = certs[i][1];
        char cmd[768];
        snprintf(cmd, sizeof(cmd),
                 "test -f %s.pem || openssl req -x509 -newkey ec -pkeyopt "
                 "ec_paramgen_curve:P-256 -nodes -keyout %s.key -subj /CN=test-%s -days 2 "
                 "-out %s.pem",
                 ca, ca, ca, ca);
        ok = run_in_tls_dir(cmd);
        snprintf(cmd, sizeof(cmd),
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
                 "-subj /CN=node-%s -out %s.csr && openssl x509 -req -in %s.csr -CA %s.pem "
                 "-CAkey %s.key -CAcreateserial -days 2 -extfile leaf.ext -out %s.pem",
                 name, name, name, name, ca, ca, name);
        ok = ok && run_in_tls_dir(cmd);
    }
    return ok;
}

static void
tls_files(struct node *n, const char *name, const char *ca, char paths[3][128])
{
    snprintf(paths[0], 128, "%s/%s.pem", tls_dir, name);
    snprintf(paths[1], 128, "%s/%s.key", tls_dir, name);
    snprintf(paths[2], 128, "%s/%s.pem", tls_dir, ca);
    n->tls_cert = paths[0];
    n->tls_key = paths[1];
    n->tls_ca = paths[2];
}

static void
test_tls_nodes_talk_and_outsiders_cannot_connect(void **state)
{
    (void)state;
    if (system("openssl version >/dev/null 2>&1") != 0) {
        print_message("openssl not found: TLS test skipped\n");
        skip();
    }
    assert_true(tls_make_certs());
    uint8_t g[HASH_BYTES];
    genesis_of(g, "tls");
    unsigned base = port_block(12);
    struct node a, b, plain, rogue;
    char pa[3][128], pb[3][128], pr[3][128];
    node_init(&a, "a", base, g);
    node_init(&b, "b", base + 1, g);
    tls_files(&a, "a", "ca", pa);
    tls_files(&b, "b", "ca", pb);
    node_add_peer(&a, &b);
    node_add_peer(&b, &a);
    node_start(&a);
    node_start(&b);
    struct node *np[2] = {&a, &b};
    expect_mesh(np, 2, true);

    /* Frames 400..599 both ways, the 5 MiB one among them. */
    uint8_t *buf = frame_buf();
    a.expect_first = b.expect_first = 400; /* nothing is received yet */
    for (size_t i = 400; i < 600; i++) {
        size_t len = frame_fill(buf, i);
        p2p_broadcast(a.p, buf, len);
        p2p_broadcast(b.p, buf, len);
    }
    free(buf);
    expect_got(&a, &b, 200);
    expect_got(&b, &a, 200);

    /* Outsiders: plain TCP, and TLS with a certificate from another CA. Both dial a and b. */
    node_init(&plain, "plain", base + 2, g);
    node_init(&rogue, "rogue", base + 3, g);
    tls_files(&rogue, "r", "rogue", pr);
    node_add_peer(&plain, &a);
    node_add_peer(&plain, &b);
    node_add_peer(&rogue, &a);
    node_add_peer(&rogue, &b);
    node_start(&plain);
    node_start(&rogue);
    (void)wait_for(never, NULL, QUIET_MS);
    assert_int_equal(node_ups(&plain), 0);
    assert_int_equal(node_ups(&rogue), 0);
    assert_false(node_key(&a, plain.key->pk).ups || node_key(&a, rogue.key->pk).ups);
    assert_false(node_key(&b, plain.key->pk).ups || node_key(&b, rogue.key->pk).ups);
    expect_mesh(np, 2, true);

    node_fini(&plain);
    node_fini(&rogue);
    node_fini(&a);
    node_fini(&b);
    nftw(tls_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Strangers fill the unprivileged places; a reserved key and our own dial still get in. */
static void
test_strangers_cannot_crowd_out_validators_or_our_dials(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "crowd");
    struct wallet_key *vk;
    assert_int_equal(wallet_key_generate(&vk), IDL_OK);
    struct raw validator = {.key = vk};
    struct node a, b;
    node_init(&a, "a", port_block(14), g);
    node_init(&b, "b", port_block(14) + 1, g);
    a.reserved = (const uint8_t(*)[SIG_PUBKEY_BYTES])vk->pk;
    a.n_reserved = 1;
    a.inbound_max = 2;
    node_add_peer(&a, &b); /* b listens only later */
    node_start(&a);

    struct raw r1, r2, r3, rv;
    raw_handshake(&r1, &a, RAW_GOOD);
    expect_up(&a, r1.key->pk, true);
    raw_handshake(&r2, &a, RAW_GOOD);
    expect_up(&a, r2.key->pk, true);
    raw_handshake(&r3, &a, RAW_GOOD); /* the places are taken */
    assert_true(raw_closed_within(r3.s, WAIT_MS));
    assert_int_equal(node_key(&a, r3.key->pk).ups, 0);

    raw_handshake_as(&rv, &a, RAW_GOOD, &validator);
    expect_up(&a, vk->pk, true);
    node_start(&b);
    expect_up(&a, b.key->pk, true);
    expect_up(&b, a.key->pk, true);
    assert_false(raw_closed_within(r1.s, QUIET_MS)); /* nobody was pushed out */

    raw_close(&r1);
    raw_close(&r2);
    raw_close(&r3);
    raw_close(&rv);
    wallet_key_free(vk);
    node_fini(&a);
    node_fini(&b);
}

/*
 * Connections that never say HELLO: the oldest gives way to a newer one when the inbound
 * handshake places are full, one address gets P2P_HANDSHAKES_PER_HOST of them, and our own
 * dial is counted in neither.
 */
static void
test_silent_strangers_do_not_block_handshakes(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "mute");
    struct node a, b;
    node_init(&a, "a", port_block(15), g);
    node_init(&b, "b", port_block(15) + 1, g);
    a.inbound_max = 2;
    node_add_peer(&a, &b);
    node_start(&a);
    nng_stream *s1 = raw_connect(&a), *s2 = raw_connect(&a), *s3 = raw_connect(&a);
    assert_true(raw_closed_within(s1, WAIT_MS)); /* the oldest gave way */
    node_start(&b);
    expect_up(&a, b.key->pk, true);
    /* Still held: the link came up while they kept their places (not when they timed out). */
    assert_false(raw_closed_within(s2, 100));
    nng_stream_free(s1);
    nng_stream_free(s2);
    nng_stream_free(s3);
    node_fini(&a);
    node_fini(&b);

    /* One address: P2P_HANDSHAKES_PER_HOST at once, the next is refused. */
    struct node c;
    node_init(&c, "c", port_block(15) + 2, g);
    node_start(&c);
    nng_stream *held[P2P_HANDSHAKES_PER_HOST + 1];
    for (size_t i = 0; i <= P2P_HANDSHAKES_PER_HOST; i++)
        held[i] = raw_connect(&c);
    assert_true(raw_closed_within(held[P2P_HANDSHAKES_PER_HOST], WAIT_MS));
    assert_false(raw_closed_within(held[0], 100));
    for (size_t i = 0; i <= P2P_HANDSHAKES_PER_HOST; i++)
        nng_stream_free(held[i]);
    node_fini(&c);
}

/* A node "a" whose one configured peer is a listener of the test's (the fake peer). */
struct fake_peer {
    struct node *a;
    nng_stream_listener *l;
    nng_aio *aio;
};

static void
fake_peer_start(struct fake_peer *fp, struct node *a, const char *chain, unsigned test)
{
    uint8_t g[HASH_BYTES];
    genesis_of(g, chain);
    node_init(a, "a", port_block(test), g);
    char fake_addr[32], url[64];
    snprintf(fake_addr, sizeof(fake_addr), "127.0.0.1:%u", port_block(test) + 1);
    snprintf(url, sizeof(url), "tcp://%s", fake_addr);
    fp->a = a;
    assert_int_equal(nng_stream_listener_alloc(&fp->l, url), 0);
    assert_int_equal(nng_stream_listener_listen(fp->l), 0);
    snprintf(a->peer_addr[0], sizeof(a->peer_addr[0]), "%s", fake_addr);
    a->peers[0] = a->peer_addr[0];
    a->n_peers = 1;
    node_start(a);
    assert_int_equal(nng_aio_alloc(&fp->aio, NULL, NULL), 0);
}

/* The node's next dial to the fake peer, within WAIT_MS. */
static nng_stream *
fake_peer_accept(struct fake_peer *fp)
{
    nng_aio_set_timeout(fp->aio, WAIT_MS);
    nng_stream_listener_accept(fp->l, fp->aio);
    nng_aio_wait(fp->aio);
    assert_int_equal(nng_aio_result(fp->aio), 0);
    return nng_aio_get_output(fp->aio, 0);
}

/* Checks the node was never up with anyone, and stops both. */
static void
fake_peer_fini(struct fake_peer *fp)
{
    nng_aio_free(fp->aio);
    assert_int_equal(node_ups(fp->a), 0);
    node_fini(fp->a);
    nng_stream_listener_free(fp->l);
}

/* An address that answers with our own key, without proving it, is dialled again. */
static void
test_a_claim_of_our_key_without_auth_does_not_stop_the_dialler(void **state)
{
    (void)state;
    struct node a;
    struct fake_peer fp;
    fake_peer_start(&fp, &a, "claim", 16);
    for (int dial = 0; dial < 2; dial++) {
        nng_stream *s = fake_peer_accept(&fp); /* the second: a dialled again */
        /* A HELLO with a's own key and genesis; no AUTH can follow it. */
        const char *listen = "127.0.0.1:1";
        uint8_t hello[P2P_HELLO_FIXED_BYTES + 16];
        memcpy(hello, P2P_MAGIC, 4);
        hello[4] = 0;
        hello[5] = P2P_VERSION;
        memcpy(hello + 6, a.genesis, HASH_BYTES);
        memcpy(hello + 6 + HASH_BYTES, a.key->pk, SIG_PUBKEY_BYTES);
        uint8_t eph_sk[crypto_kx_SECRETKEYBYTES];
        crypto_kx_keypair(hello + 6 + HASH_BYTES + SIG_PUBKEY_BYTES, eph_sk);
        hello[P2P_HELLO_FIXED_BYTES - 1] = (uint8_t)strlen(listen);
        memcpy(hello + P2P_HELLO_FIXED_BYTES, listen, strlen(listen));
        size_t n = P2P_HELLO_FIXED_BYTES + strlen(listen);
        assert_int_equal(raw_io(s, true, hello, n, WAIT_MS), 0);
        uint8_t theirs[P2P_HELLO_FIXED_BYTES];
        assert_int_equal(raw_io(s, false, theirs, sizeof(theirs), WAIT_MS), 0);
        nng_stream_free(s);
    }
    fake_peer_fini(&fp);
}

/*
 * Whoever answers at a configured address sends the node's own HELLO and AUTH back: the
 * node is not taken in (no up), and, unlike a dial to itself, it dials that address again.
 */
static void
test_a_handshake_sent_back_is_refused_and_the_dialler_goes_on(void **state)
{
    (void)state;
    struct node a;
    struct fake_peer fp;
    fake_peer_start(&fp, &a, "reflect", 20);
    for (int dial = 0; dial < 2; dial++) {
        /* The second accept: a dialled again (within its longest backoff, and then some). */
        nng_stream *s = fake_peer_accept(&fp);
        uint8_t hello[P2P_HELLO_MAX], sig[SIG_BYTES];
        assert_int_equal(raw_io(s, false, hello, P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
        size_t n = hello[P2P_HELLO_FIXED_BYTES - 1];
        assert_int_equal(raw_io(s, false, hello + P2P_HELLO_FIXED_BYTES, n, WAIT_MS), 0);
        assert_int_equal(raw_io(s, true, hello, P2P_HELLO_FIXED_BYTES + n, WAIT_MS), 0);
        /* The node refuses its own HELLO before it signs anything; were it to sign, the
         * AUTH sent back would be checked as the listener's and fail. */
        if (raw_io(s, false, sig, sizeof(sig), QUIET_MS) == 0)
            (void)raw_io(s, true, sig, sizeof(sig), WAIT_MS);
        assert_true(raw_closed_within(s, WAIT_MS));
        nng_stream_free(s);
    }
    fake_peer_fini(&fp);
}

/*
 * Someone connects to two linked nodes and passes each one's HELLO and AUTH to the other
 * (both are listeners then): neither takes it for the other node, so their own link stays
 * up and is not replaced, and the relayer is dropped by both.
 */
static void
test_a_relayed_handshake_does_not_replace_a_link(void **state)
{
    (void)state;
    struct node nodes[2];
    struct node *np[2] = {&nodes[0], &nodes[1]};
    mesh_start(nodes, 2, port_block(21));
    expect_mesh(np, 2, true);
    struct key_state before[2];
    for (size_t i = 0; i < 2; i++)
        before[i] = node_key(&nodes[i], nodes[1 - i].key->pk);

    nng_stream *sa = raw_connect(&nodes[0]), *sb = raw_connect(&nodes[1]);
    uint8_t ha[P2P_HELLO_MAX], hb[P2P_HELLO_MAX], siga[SIG_BYTES], sigb[SIG_BYTES];
    assert_int_equal(raw_io(sa, false, ha, P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
    size_t na = P2P_HELLO_FIXED_BYTES + ha[P2P_HELLO_FIXED_BYTES - 1];
    assert_int_equal(
        raw_io(sa, false, ha + P2P_HELLO_FIXED_BYTES, na - P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
    assert_int_equal(raw_io(sb, false, hb, P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
    size_t nb = P2P_HELLO_FIXED_BYTES + hb[P2P_HELLO_FIXED_BYTES - 1];
    assert_int_equal(
        raw_io(sb, false, hb + P2P_HELLO_FIXED_BYTES, nb - P2P_HELLO_FIXED_BYTES, WAIT_MS), 0);
    assert_int_equal(raw_io(sa, true, hb, nb, WAIT_MS), 0);
    assert_int_equal(raw_io(sb, true, ha, na, WAIT_MS), 0);
    assert_int_equal(raw_io(sa, false, siga, SIG_BYTES, WAIT_MS), 0);
    assert_int_equal(raw_io(sb, false, sigb, SIG_BYTES, WAIT_MS), 0);
    (void)raw_io(sa, true, sigb, SIG_BYTES, WAIT_MS);
    (void)raw_io(sb, true, siga, SIG_BYTES, WAIT_MS);
    assert_true(raw_closed_within(sa, WAIT_MS));
    assert_true(raw_closed_within(sb, WAIT_MS));

    for (size_t i = 0; i < 2; i++) {
        struct key_state k = node_key(&nodes[i], nodes[1 - i].key->pk);
        assert_true(k.is_up);
        assert_int_equal(k.id, before[i].id);
        assert_int_equal(k.ups, before[i].ups);
        assert_int_equal(k.downs, before[i].downs);
    }
    nng_stream_free(sa);
    nng_stream_free(sb);
    node_fini(&nodes[0]);
    node_fini(&nodes[1]);
}

/* Large frames of strangers share P2P_RX_SHARED_BYTES_MAX, and must arrive in time. */
static void
test_large_frames_of_strangers_are_bounded_in_bytes_and_time(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "large");
    struct node a;
    node_init(&a, "a", port_block(17), g);
    node_start(&a);
    _Static_assert(2 * (uint64_t)P2P_FRAME_MAX > P2P_RX_SHARED_BYTES_MAX, "two do not fit");

    uint8_t start[4 + 1000] = {0};
    struct raw r1, r2, r3;
    raw_handshake(&r1, &a, RAW_GOOD);
    expect_up(&a, r1.key->pk, true);
    codec_be32_put(start, P2P_FRAME_MAX + P2P_TAG_BYTES);
    assert_int_equal(raw_io(r1.s, true, start, sizeof(start), WAIT_MS), 0);
    raw_handshake(&r2, &a, RAW_GOOD);
    expect_up(&a, r2.key->pk, true);
    assert_int_equal(raw_io(r2.s, true, start, sizeof(start), WAIT_MS), 0);
    /* One of the two is past the shared bound (whichever the node read second). */
    struct raw *closed = NULL, *open = NULL;
    for (uint64_t end = now_ms() + WAIT_MS; !closed && now_ms() < end;) {
        if (raw_closed_within(r1.s, 50))
            closed = &r1, open = &r2;
        else if (raw_closed_within(r2.s, 50))
            closed = &r2, open = &r1;
    }
    assert_non_null(closed);
    assert_false(raw_closed_within(open->s, QUIET_MS));

    /* 64 KiB, begun and never finished: closed after the grace period. */
    raw_handshake(&r3, &a, RAW_GOOD);
    expect_up(&a, r3.key->pk, true);
    codec_be32_put(start, 64 * 1024);
    assert_int_equal(raw_io(r3.s, true, start, sizeof(start), WAIT_MS), 0);
    uint64_t t0 = now_ms();
    assert_true(raw_closed_within(r3.s, P2P_FRAME_GRACE_MS + 3000));
    assert_true(now_ms() - t0 >= P2P_FRAME_GRACE_MS - 500);
    assert_int_equal(node_key(&a, r3.key->pk).got, 0);

    raw_close(&r1);
    raw_close(&r2);
    raw_close(&r3);
    node_fini(&a);
}

/* What strangers send is read at P2P_RX_SHARED_RATE in all: more waits on TCP. */
static void
test_strangers_are_read_at_a_bounded_rate(void **state)
{
    (void)state;
    uint8_t g[HASH_BYTES];
    genesis_of(g, "rate");
    struct node a;
    node_init(&a, "a", port_block(18), g);
    node_start(&a);
    struct raw r;
    raw_handshake(&r, &a, RAW_GOOD);
    expect_up(&a, r.key->pk, true);

    /* Three seconds' worth in 1 MiB frames: the bucket holds one second, so reading it
     * all takes two seconds at least. */
    const size_t frame = 1u << 20, frames = 3 * (P2P_RX_SHARED_RATE / frame);
    uint8_t *msg = calloc(1, frame), *buf = malloc(4 + frame + P2P_TAG_BYTES);
    assert_non_null(msg);
    assert_non_null(buf);
    uint64_t t0 = now_ms();
    for (size_t i = 0; i < frames; i++) {
        size_t n = raw_seal(&r, buf, msg, frame);
        assert_int_equal(raw_io(r.s, true, buf, n, 3 * WAIT_MS), 0);
    }
    while (node_key(&a, r.key->pk).got < frames && now_ms() - t0 < 3 * WAIT_MS)
        nap();
    uint64_t took = now_ms() - t0;
    assert_int_equal(node_key(&a, r.key->pk).got, frames);
    assert_true(took >= 2000 - 200);
    free(msg);
    free(buf);
    raw_close(&r);
    node_fini(&a);
}

int
main(void)
{
    /* Warnings and errors only, unless asked (they are JSON lines on stderr). */
    log_set_level(getenv("P2P_TEST_DEBUG") ? LOG_DEBUG : LOG_WARN);
    port_base_pick();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mesh_broadcast_reaches_each_other_node_once_in_order),
        cmocka_unit_test(test_directed_send_reaches_only_its_target),
        cmocka_unit_test(test_callbacks_may_send_back),
        cmocka_unit_test(test_other_genesis_and_self_are_refused),
        cmocka_unit_test(test_raw_client_with_good_handshake_exchanges_frames),
        cmocka_unit_test(test_reconnect_with_same_key_replaces_the_old_connection),
        cmocka_unit_test(test_wrong_auth_signature_is_refused),
        cmocka_unit_test(test_frame_over_max_closes_the_connection),
        cmocka_unit_test(test_frames_that_do_not_open_close_the_connection),
        cmocka_unit_test(test_silent_client_is_closed_after_the_handshake_timeout),
        cmocka_unit_test(test_peer_that_does_not_read_is_dropped_at_the_queue_bound),
        cmocka_unit_test(test_stopped_node_goes_down_and_reconnects_after_restart),
        cmocka_unit_test(test_stop_with_frames_in_flight_is_clean),
        cmocka_unit_test(test_bad_configurations_are_refused),
        cmocka_unit_test(test_tls_nodes_talk_and_outsiders_cannot_connect),
        cmocka_unit_test(test_strangers_cannot_crowd_out_validators_or_our_dials),
        cmocka_unit_test(test_silent_strangers_do_not_block_handshakes),
        cmocka_unit_test(test_a_claim_of_our_key_without_auth_does_not_stop_the_dialler),
        cmocka_unit_test(test_a_handshake_sent_back_is_refused_and_the_dialler_goes_on),
        cmocka_unit_test(test_a_relayed_handshake_does_not_replace_a_link),
        cmocka_unit_test(test_large_frames_of_strangers_are_bounded_in_bytes_and_time),
        cmocka_unit_test(test_strangers_are_read_at_a_bounded_rate),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0)
        nng_fini(); /* after a failure nodes may be left running: it would wait for them */
    return rc;
}
