/*
 * The engine thread and the host of consensus/engine.h for a real node.
 *
 * Events (peer messages, peers coming and going, new work) are queued under a lock by
 * NNG's threads and taken in batches by the engine thread, which also keeps the
 * consensus timers (a short unsorted list: there are a handful at a time) and a one-second
 * tick. Gossiped transactions are admitted to the pool on the network thread that received
 * them (signature checks run there, in parallel), and sync requests are answered there too,
 * at a bounded rate per peer. Frames queued for the engine thread are bounded in bytes, per
 * peer and in all. The pool is gossiped again to each peer whose link comes up, and what
 * waits in it is resent every REGOSSIP_MS: a transaction that entered where no validator
 * was reachable at that moment still reaches them.
 */
#include "node/bft.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "consensus/budget.h"
#include "consensus/engine.h"
#include "consensus/wal.h"
#include "node/log.h"
#include "node/node.h"
#include "node/p2p.h"

_Static_assert(ENGINE_PEERS_MAX >= P2P_LINKS_MAX, "every link the p2p admits has an engine entry");

#define QUEUE_MAX       200000
/* Bytes of peer frames waiting for the engine thread: in all, and per peer (a frame may be
 * 40 MiB; a sync reply is about 16 MiB of them). A frame past either bound is dropped:
 * proposals and votes are sent again, block sync asks again. */
#define QUEUE_BYTES_MAX      (256u << 20)
#define QUEUE_PEER_BYTES_MAX (64u << 20)
#define WAL_RESET_BYTES (64u * 1024 * 1024)
/* Answering sync requests (on the network threads): a reply reads up to 16 MiB of blocks
 * for a 14-byte request, so a peer may ask only so often, and only so many replies are
 * built at once. A request over the bounds goes unanswered (the asker retries elsewhere). */
#define SERVE_AT_ONCE_MAX 4
/* Nor is a peer served while what it was sent before still waits in its queue (one that
 * does not read would have every reply pile up in memory), or while all queues together
 * hold this much. */
#define SERVE_QUEUED_MAX       (4u << 20)
#define SERVE_QUEUED_TOTAL_MAX (256u << 20)
#define SERVE_REQS_PER_S  20                 /* per peer, and as many at once */
#define SERVE_BYTES_PER_S (64.0 * 1024 * 1024) /* per peer, and as many at once */
/* Transactions gossiped by peers that are neither validators nor links we dialled (replicas
 * that dialled us, and anyone who made a key) share this allowance, checked or not:
 * admitting them is work, and TCP sends as fast as it is read, so without a bound a peer
 * replaying the chain's transactions takes every core. */
#define GOSSIP_BYTES_PER_S (8.0 * 1024 * 1024) /* and twice as many at once */
/* Gossip again: the pool to a peer whose link comes up, and every REGOSSIP_MS what has
 * waited that long, so a transaction that entered where no validator was reachable still
 * reaches them. Bounded per send. */
#define REGOSSIP_MS        10000
#define REGOSSIP_TXS_MAX   2000
#define REGOSSIP_BYTES_MAX (8u << 20)
#define TICK_MS         1000
#define POOL_MAX_AGE_MS (10 * 60 * 1000)

enum { EV_MSG, EV_PEER };

struct ev {
    uint8_t kind;
    bool up, validator;
    uint32_t peer;
    uint8_t key[SIG_PUBKEY_BYTES]; /* EV_PEER: the peer's node key */
    struct idl_bytes msg;
};

/* A peer's allowance for sync requests (token buckets), while its link is up. */
struct server_peer {
    uint32_t peer;
    double reqs, bytes; /* tokens left */
    uint64_t at_ms;     /* when they were last topped up */
};

struct timer {
    uint64_t at, height;
    uint32_t round;
    unsigned step;
};

struct bft {
    struct node *n;
    struct engine *eng;
    struct p2p *p2p;
    struct wal *wal;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards the queue, work, stopping and info */
    pthread_cond_t cond;
    struct ev *q;
    size_t qn, qcap;
    struct budget qbytes; /* the queued frames' bytes, by peer */
    struct server_peer *serve; /* guarded by lock, like serving */
    size_t n_serve, cap_serve, serving;
    uint64_t serve_refused, serve_refused_logged;
    double gossip_bytes;      /* the allowance left (tokens) */
    uint64_t gossip_at_ms;    /* when it was last topped up */
    uint64_t gossip_dropped;  /* frames over it */
    uint64_t dropped;
    bool work, stopping;
    struct bft_info info;
    /* Engine thread only. */
    struct timer *timers;
    size_t tn, tcap;
    uint64_t last_commit_ms;
    uint64_t dropped_logged, gossip_dropped_logged, equivocations_logged;
    uint64_t ticks;
    struct log_budget refusals;
};

/* ---- the host ---- */

static uint64_t
host_now(void *arg)
{
    (void)arg;
    return node_now_ms();
}

static uint64_t
host_mono(void *arg)
{
    (void)arg;
    return node_mono_ms();
}

static void
host_broadcast(void *arg, const uint8_t *msg, size_t len)
{
    struct bft *b = arg;
    p2p_broadcast(b->p2p, msg, len);
}

static void
host_send(void *arg, uint32_t peer, const uint8_t *msg, size_t len)
{
    struct bft *b = arg;
    p2p_send(b->p2p, peer, msg, len);
}

static void
host_schedule(void *arg, uint64_t height, uint32_t round, unsigned step, uint32_t ms)
{
    struct bft *b = arg;
    if (b->tn == b->tcap) {
        size_t cap = b->tcap ? b->tcap * 2 : 16;
        struct timer *t = realloc(b->timers, cap * sizeof(*t));
        if (!t)
            return; /* a lost timeout costs liveness until the next tick, never safety */
        b->timers = t;
        b->tcap = cap;
    }
    b->timers[b->tn++] = (struct timer){node_mono_ms() + ms, height, round, step};
}

static idl_err
host_wal_append(void *arg, const struct idl_bytes *recs, size_t n)
{
    struct bft *b = arg;
    return wal_append_many(b->wal, recs, n);
}

static idl_err
host_wal_reset(void *arg)
{
    /* Records of committed heights are ignored at replay; empty the file only when it is
     * large, so most commits cost no extra sync. */
    struct bft *b = arg;
    return wal_size(b->wal) > WAL_RESET_BYTES ? wal_reset(b->wal) : IDL_OK;
}

static idl_err
host_sign(void *arg, const uint8_t msg[HASH_BYTES], uint8_t sig[SIG_BYTES])
{
    struct bft *b = arg;
    return sig_sign(sig, msg, b->n->key->sk);
}

static size_t
host_pool_take(void *arg, size_t max, struct idl_bytes **out)
{
    struct bft *b = arg;
    return mempool_select(b->n->pool, max, LEDGER_BLOCK_BYTES_MAX - 4096, out);
}

static bool
host_preverified(void *arg, const uint8_t txid[HASH_BYTES])
{
    struct bft *b = arg;
    return mempool_has(b->n->pool, txid);
}

static void
host_pool_drop(void *arg, const uint8_t txid[HASH_BYTES], idl_err code, const char *why)
{
    struct bft *b = arg;
    /* A nonce gap keeps it until its predecessor comes (or it expires); a refused nonce the
     * pool took for the actor's next one was used meanwhile. */
    if (code != IDL_ERR_NONCE || mempool_is_next(b->n->pool, txid))
        mempool_remove(b->n->pool, txid, why);
}

static void
host_committed(void *arg, const struct ledger_tx_result *res, uint32_t n, uint64_t height,
               uint64_t ms)
{
    struct bft *b = arg;
    b->last_commit_ms = node_mono_ms();
    node_committed(b->n, res, n, height, ms * 1000);
}

static void
host_event(void *arg, enum engine_event ev, uint64_t height, uint32_t round, const char *detail)
{
    struct bft *b = arg;
    uint64_t skipped;
    switch (ev) {
    case ENGINE_EV_REFUSED: /* what peers send: as many as they like */
        if (log_budget_take(&b->refusals, node_mono_ms(), &skipped))
            log_warn("refused", "{s:I, s:i, s:s, s:I}", "height", (json_int_t)height, "round",
                     (int)round, "detail", detail, "unlogged", (json_int_t)skipped);
        break;
    case ENGINE_EV_HALT:
        log_error("consensus halted", "{s:I, s:s}", "height", (json_int_t)height, "detail", detail);
        break;
    case ENGINE_EV_ROUND:
        if (round > 0)
            log_info("new round", "{s:I, s:i}", "height", (json_int_t)height, "round", (int)round);
        break;
    case ENGINE_EV_SYNC:
        log_info("block sync", "{s:I, s:s}", "height", (json_int_t)height, "detail", detail);
        break;
    case ENGINE_EV_COMMITTED:
        log_debug("commit", "{s:I, s:s}", "height", (json_int_t)height, "detail", detail);
        break;
    }
}

/* ---- network callbacks (NNG threads) ---- */

static void
enqueue(struct bft *b, const struct ev *e)
{
    pthread_mutex_lock(&b->lock);
    if (b->qn == b->qcap && b->qcap < QUEUE_MAX) {
        size_t cap = b->qcap ? b->qcap * 2 : 256;
        struct ev *q = realloc(b->q, cap * sizeof(*q));
        if (q) {
            b->q = q;
            b->qcap = cap;
        }
    }
    if (b->qn < b->qcap) {
        b->q[b->qn++] = *e;
    } else {
        /* Consensus survives a lost message (it is sent again on the next tick). */
        b->dropped++;
        if (e->kind == EV_MSG)
            budget_give(&b->qbytes, e->peer, e->msg.len);
        free(e->msg.data);
    }
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static bool
is_validator(const struct bft *b, const uint8_t pubkey[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < b->n->genesis.n_validators; i++)
        if (!memcmp(b->n->genesis.validators[i].pubkey, pubkey, SIG_PUBKEY_BYTES))
            return true;
    return false;
}

/* Whether a TXS frame of len bytes from a peer that is not a validator fits the allowance. */
static bool
gossip_take(struct bft *b, size_t len)
{
    pthread_mutex_lock(&b->lock);
    uint64_t now = node_mono_ms();
    b->gossip_bytes += (double)(now - b->gossip_at_ms) / 1000.0 * GOSSIP_BYTES_PER_S;
    if (b->gossip_bytes > 2 * GOSSIP_BYTES_PER_S)
        b->gossip_bytes = 2 * GOSSIP_BYTES_PER_S;
    b->gossip_at_ms = now;
    bool ok = b->gossip_bytes >= (double)len;
    if (ok)
        b->gossip_bytes -= (double)len;
    else
        b->gossip_dropped++;
    pthread_mutex_unlock(&b->lock);
    return ok;
}

/* Gossiped transactions: admitted here, on the receiving thread (and, for a long list, on
 * the other cores too), and not sent on. */
static void
admit_gossip(struct bft *b, const uint8_t *msg, size_t len)
{
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK)
        return;
    uint32_t count = m.body.txs.txs.count;
    struct idl_bytes *raws = calloc(count ? count : 1, sizeof(*raws));
    struct node_admission *res = calloc(count ? count : 1, sizeof(*res));
    if (raws && res) {
        const struct msg_tx *tx = m.body.txs.txs.items;
        for (uint32_t i = 0; i < count; i++)
            raws[i] = tx[i].raw;
        node_submit_many(b->n, raws, count, false, res);
    }
    free(raws);
    free(res);
    cons_msg_free(&m);
}

/*
 * Whether peer may have a sync request answered now: its buckets hold a request and some
 * bytes, and fewer than SERVE_AT_ONCE_MAX replies are being built. If so, takes a request
 * and a reply slot (serve_end gives the slot back and charges the bytes). Lock held.
 */
static struct server_peer *
serve_begin(struct bft *b, uint32_t peer)
{
    struct server_peer *sp = NULL;
    for (size_t i = 0; i < b->n_serve && !sp; i++)
        if (b->serve[i].peer == peer)
            sp = &b->serve[i];
    uint64_t now = node_mono_ms();
    if (!sp) {
        if (b->n_serve == b->cap_serve) {
            size_t cap = b->cap_serve ? b->cap_serve * 2 : 16;
            struct server_peer *v = realloc(b->serve, cap * sizeof(*v));
            if (!v)
                return NULL;
            b->serve = v;
            b->cap_serve = cap;
        }
        sp = &b->serve[b->n_serve++];
        *sp = (struct server_peer){peer, SERVE_REQS_PER_S, SERVE_BYTES_PER_S, now};
    }
    double s = (double)(now - sp->at_ms) / 1000.0;
    sp->at_ms = now;
    sp->reqs = sp->reqs + s * SERVE_REQS_PER_S;
    if (sp->reqs > SERVE_REQS_PER_S)
        sp->reqs = SERVE_REQS_PER_S;
    sp->bytes = sp->bytes + s * SERVE_BYTES_PER_S;
    if (sp->bytes > SERVE_BYTES_PER_S)
        sp->bytes = SERVE_BYTES_PER_S;
    if (sp->reqs < 1 || sp->bytes <= 0 || b->serving >= SERVE_AT_ONCE_MAX)
        return NULL;
    sp->reqs -= 1;
    b->serving++;
    return sp;
}

static void
serve_sync(struct bft *b, uint32_t peer, const uint8_t *msg, size_t len)
{
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK)
        return;
    size_t total, queued = p2p_queued(b->p2p, peer, &total);
    bool drained = queued <= SERVE_QUEUED_MAX && total <= SERVE_QUEUED_TOTAL_MAX;
    pthread_mutex_lock(&b->lock);
    bool ok = drained && serve_begin(b, peer) != NULL;
    if (!ok)
        b->serve_refused++;
    pthread_mutex_unlock(&b->lock);
    if (ok) {
        struct cons_host h = {.arg = b, .send = host_send};
        size_t bytes = engine_serve_sync(b->n->ledger, &h, peer, &m.body.sync_req);
        pthread_mutex_lock(&b->lock);
        b->serving--;
        for (size_t i = 0; i < b->n_serve; i++)
            if (b->serve[i].peer == peer)
                b->serve[i].bytes -= (double)bytes;
        pthread_mutex_unlock(&b->lock);
    }
    cons_msg_free(&m);
}

static void
on_recv(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES], const uint8_t *msg,
        size_t len)
{
    struct bft *b = arg;
    if (len >= 2 && msg[1] == MSG_TXS) {
        if (is_validator(b, pubkey) || p2p_privileged(b->p2p, peer) || gossip_take(b, len))
            admit_gossip(b, msg, len);
        return;
    }
    if (len >= 2 && msg[1] == MSG_SYNC_REQ) {
        serve_sync(b, peer, msg, len);
        return;
    }
    pthread_mutex_lock(&b->lock);
    bool room = budget_take(&b->qbytes, peer, len);
    if (!room)
        b->dropped++;
    pthread_mutex_unlock(&b->lock);
    if (!room)
        return;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        pthread_mutex_lock(&b->lock);
        budget_give(&b->qbytes, peer, len);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    memcpy(copy, msg, len);
    enqueue(b, &(struct ev){.kind = EV_MSG, .peer = peer, .msg = {copy, len}});
}

static void
on_peer(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES], bool up)
{
    struct bft *b = arg;
    bool validator = is_validator(b, pubkey);
    char key[17];
    codec_hex_encode(key, pubkey, 8);
    log_info(up ? "peer connected" : "peer disconnected", "{s:i, s:s, s:b}", "peer", (int)peer,
             "key", key, "validator", validator);
    if (!up) {
        pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < b->n_serve; i++)
            if (b->serve[i].peer == peer) {
                b->serve[i] = b->serve[--b->n_serve];
                break;
            }
        pthread_mutex_unlock(&b->lock);
    }
    struct ev e = {.kind = EV_PEER, .up = up, .validator = validator, .peer = peer};
    memcpy(e.key, pubkey, SIG_PUBKEY_BYTES);
    enqueue(b, &e);
}

/* ---- the engine thread ---- */

static uint64_t
next_deadline(const struct bft *b, uint64_t tick)
{
    uint64_t d = tick;
    for (size_t i = 0; i < b->tn; i++)
        if (b->timers[i].at < d)
            d = b->timers[i].at;
    /* An idle node with empty_blocks_ms wakes for its empty block, not at the next tick
     * (once that time has passed the engine has been told; a block is under way). */
    uint64_t empty_at = b->last_commit_ms + b->n->cfg.empty_blocks_ms;
    if (b->n->cfg.empty_blocks_ms && empty_at > node_mono_ms() && empty_at < d)
        d = empty_at;
    return d;
}

static void
fire_timers(struct bft *b)
{
    uint64_t now = node_mono_ms();
    for (size_t i = 0; i < b->tn;) {
        if (b->timers[i].at > now) {
            i++;
            continue;
        }
        struct timer t = b->timers[i];
        b->timers[i] = b->timers[--b->tn];
        engine_on_timeout(b->eng, t.height, t.round, t.step);
    }
}

static void
wait_for_events(struct bft *b, uint64_t deadline)
{
    while (!b->stopping && b->qn == 0 && !b->work) {
        uint64_t now = node_mono_ms();
        if (now >= deadline)
            return;
        /* The condition variable waits on CLOCK_MONOTONIC (bft_start), like the timers. */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ns = (deadline - now) * 1000000ull + (uint64_t)until.tv_nsec;
        until.tv_sec += (time_t)(ns / 1000000000ull);
        until.tv_nsec = (long)(ns % 1000000000ull);
        pthread_cond_timedwait(&b->cond, &b->lock, &until);
    }
}

/* Once a tick at most: how many peer frames the queue's bounds dropped since the last. */
static void
log_drops(struct bft *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t dropped = b->dropped, refused = b->serve_refused, gossip = b->gossip_dropped;
    pthread_mutex_unlock(&b->lock);
    if (gossip > b->gossip_dropped_logged)
        log_warn("peer transactions dropped", "{s:I, s:s}", "frames",
                 (json_int_t)(gossip - b->gossip_dropped_logged), "reason",
                 "peers that are not validators gossiped more than their allowance");
    b->gossip_dropped_logged = gossip;
    if (dropped > b->dropped_logged)
        log_warn("peer frames dropped", "{s:I, s:s}", "count",
                 (json_int_t)(dropped - b->dropped_logged), "reason",
                 "more than the engine queue holds (per peer or in all)");
    if (refused > b->serve_refused_logged)
        log_warn("sync requests unanswered", "{s:I, s:s}", "count",
                 (json_int_t)(refused - b->serve_refused_logged), "reason",
                 "a peer asked too often, had replies still unsent, or enough replies were "
                 "being built");
    b->dropped_logged = dropped;
    b->serve_refused_logged = refused;
}

/* Sends pooled transactions on: to one peer (a link that came up) or, periodic, to all. */
static void
regossip(struct bft *b, int peer)
{
    struct idl_bytes *txs;
    size_t n = mempool_gossip(b->n->pool, node_mono_ms(), peer < 0 ? REGOSSIP_MS : 0,
                              REGOSSIP_TXS_MAX, REGOSSIP_BYTES_MAX, &txs);
    struct idl_bytes msg;
    if (n && engine_txs_message(txs, n, &msg) == IDL_OK) {
        if (peer < 0)
            p2p_broadcast(b->p2p, msg.data, msg.len);
        else
            (void)p2p_send(b->p2p, (uint32_t)peer, msg.data, msg.len);
        free(msg.data);
    }
    for (size_t i = 0; i < n; i++)
        free(txs[i].data);
    free(txs);
}

static void
update_info(struct bft *b)
{
    struct engine_status st;
    engine_status(b->eng, &st);
    struct p2p_peer_info peers[P2P_LINKS_MAX];
    size_t np = p2p_peers(b->p2p, peers, P2P_LINKS_MAX);
    atomic_store(&b->n->catching_up, st.catching_up);
    atomic_store(&b->n->consensus_halted, st.halted);
    if (st.equivocations > b->equivocations_logged) /* evidence of a faulty validator */
        log_warn("conflicting messages from a validator", "{s:I, s:I}", "new",
                 (json_int_t)(st.equivocations - b->equivocations_logged), "total",
                 (json_int_t)st.equivocations);
    b->equivocations_logged = st.equivocations;
    pthread_mutex_lock(&b->lock);
    b->info.round = st.round;
    b->info.step = st.step;
    b->info.peers = np;
    b->info.refused = st.refused;
    b->info.equivocations = st.equivocations;
    b->info.halted = st.halted;
    pthread_mutex_unlock(&b->lock);
}

static void *
run(void *arg)
{
    struct bft *b = arg;
    engine_start(b->eng);
    uint64_t tick = node_mono_ms() + TICK_MS;
    b->last_commit_ms = node_mono_ms();
    for (;;) {
        pthread_mutex_lock(&b->lock);
        wait_for_events(b, next_deadline(b, tick));
        struct ev *q = b->q;
        size_t qn = b->qn;
        bool stop = b->stopping; /* b->work only woke us: the pool says if there is work */
        b->q = NULL;
        b->qn = b->qcap = 0;
        b->work = false;
        pthread_mutex_unlock(&b->lock);
        for (size_t i = 0; i < qn; i++) {
            if (!stop && q[i].kind == EV_MSG)
                engine_on_message(b->eng, q[i].peer, q[i].msg.data, q[i].msg.len);
            else if (!stop) {
                engine_on_peer(b->eng, q[i].peer, q[i].key, q[i].up, q[i].validator);
                if (q[i].up)
                    regossip(b, (int)q[i].peer);
            }
            free(q[i].msg.data);
        }
        pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < qn; i++)
            if (q[i].kind == EV_MSG)
                budget_give(&b->qbytes, q[i].peer, q[i].msg.len);
        pthread_mutex_unlock(&b->lock);
        free(q);
        if (stop)
            break;
        /* A height starts for ready transactions only: one behind a nonce gap would
         * otherwise make an empty block after another until it expires. */
        uint32_t empty_ms = b->n->cfg.empty_blocks_ms;
        if (mempool_ready(b->n->pool) > 0 ||
            (empty_ms && node_mono_ms() - b->last_commit_ms >= empty_ms))
            engine_on_work(b->eng);
        fire_timers(b);
        if (node_mono_ms() >= tick) {
            engine_tick(b->eng);
            log_drops(b);
            if (++b->ticks % (REGOSSIP_MS / TICK_MS) == 0)
                regossip(b, -1);
            mempool_expire(b->n->pool, node_mono_ms(), POOL_MAX_AGE_MS);
            tick = node_mono_ms() + TICK_MS;
        }
        update_info(b);
    }
    return NULL;
}

/* ---- life cycle ---- */

struct restore {
    struct engine *eng;
};

static void
restore_one(void *arg, const uint8_t *rec, size_t len)
{
    engine_restore(((struct restore *)arg)->eng, rec, len);
}

static idl_err
open_wal(struct bft *b, char *why, size_t why_len)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/consensus.wal", b->n->cfg.data_dir);
    idl_err rc = wal_open(&b->wal, path);
    struct wal_replayed got = {0};
    struct restore r = {b->eng};
    if (!rc)
        rc = wal_replay(b->wal, restore_one, &r, &got);
    if (rc == IDL_ERR_CORRUPT)
        snprintf(why, why_len,
                 "the consensus log %s is damaged at byte %zu, with intact records after it: "
                 "a validator must not vote without its log (docs/OPERATIONS.md, Recovery)",
                 path, got.cut_at);
    else if (rc)
        snprintf(why, why_len, "cannot read the consensus log %s: %s", path, idl_strerror(rc));
    if (!rc && got.cut_bytes)
        log_warn("consensus log: torn last write cut", "{s:I, s:I}", "at", (json_int_t)got.cut_at,
                 "bytes", (json_int_t)got.cut_bytes);
    if (!rc && got.records)
        log_info("consensus log replayed", "{s:i}", "records", (int)got.records);
    return rc;
}

idl_err
bft_start(struct bft **out, struct node *n, char *why, size_t why_len)
{
    *out = NULL;
    struct bft *b = calloc(1, sizeof(*b));
    if (!b)
        return IDL_ERR_NOMEM;
    b->n = n;
    pthread_mutex_init(&b->lock, NULL);
    budget_init(&b->qbytes, QUEUE_BYTES_MAX, QUEUE_PEER_BYTES_MAX);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    struct cons_host host = {
        .arg = b,
        .now_ms = host_now,
        .mono_ms = host_mono,
        .broadcast = host_broadcast,
        .send = host_send,
        .schedule = host_schedule,
        .wal_append = host_wal_append,
        .wal_reset = host_wal_reset,
        .sign = host_sign,
        .pool_take = host_pool_take,
        .preverified = host_preverified,
        .pool_drop = host_pool_drop,
        .committed = host_committed,
        .event = host_event,
    };
    struct cons_engine_config cfg = {
        .self = n->validator_index,
        .timeouts = {n->cfg.timeout_propose_ms, n->cfg.timeout_vote_ms, n->cfg.timeout_vote_ms,
                     n->cfg.timeout_delta_ms},
        .block_max_txs = n->cfg.block_max_txs,
        .max_clock_drift_ms = 10000,
    };
    idl_err rc = engine_new(&b->eng, n->ledger, &cfg, &host);
    if (rc)
        snprintf(why, why_len, "cannot create the consensus engine");
    if (!rc)
        rc = open_wal(b, why, why_len);
    const char *peers[CONFIG_PEERS_MAX];
    for (uint32_t i = 0; i < n->cfg.n_peers; i++)
        peers[i] = n->cfg.peers[i];
    /* The validators always get a link, however many strangers connect. */
    uint8_t validators[LEDGER_VALIDATORS_MAX][SIG_PUBKEY_BYTES];
    for (size_t i = 0; i < n->genesis.n_validators; i++)
        memcpy(validators[i], n->genesis.validators[i].pubkey, SIG_PUBKEY_BYTES);
    struct p2p_config pc = {
        .listen = n->cfg.p2p_listen,
        .peers = peers,
        .n_peers = n->cfg.n_peers,
        .genesis_hash = n->genesis.hash,
        .key = n->key,
        .tls_cert = n->cfg.tls_cert,
        .tls_key = n->cfg.tls_key,
        .tls_ca = n->cfg.tls_ca,
        .reserved = (const uint8_t(*)[SIG_PUBKEY_BYTES])validators,
        .n_reserved = n->genesis.n_validators,
    };
    if (!rc)
        rc = p2p_start(&b->p2p, &pc, on_recv, on_peer, b, why, why_len);
    if (!rc && pthread_create(&b->thread, NULL, run, b) != 0) {
        snprintf(why, why_len, "cannot start the consensus thread");
        rc = IDL_ERR_NOMEM;
    }
    if (rc) {
        bft_stop(b);
        return rc;
    }
    b->started = true;
    log_info("consensus started", "{s:s, s:i, s:s}", "p2p", n->cfg.p2p_listen, "validators",
             (int)n->genesis.n_validators, "tls", n->cfg.tls_cert[0] ? "on" : "off");
    *out = b;
    return IDL_OK;
}

void
bft_stop(struct bft *b)
{
    if (!b)
        return;
    /*
     * The engine thread first: it is the only caller of the links' send functions apart from
     * the network callbacks, and it must be gone before the links are. The callbacks may
     * still queue events meanwhile; the queue outlives them.
     */
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    if (b->started)
        pthread_join(b->thread, NULL);
    /* Then the links: after p2p_stop no callback runs or will run. */
    p2p_stop(b->p2p);
    b->p2p = NULL;
    for (size_t i = 0; i < b->qn; i++)
        free(b->q[i].msg.data);
    free(b->q);
    budget_free(&b->qbytes);
    free(b->serve);
    free(b->timers);
    engine_free(b->eng);
    wal_close(b->wal);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

void
bft_work(struct bft *b)
{
    pthread_mutex_lock(&b->lock);
    b->work = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

void
bft_gossip(struct bft *b, const uint8_t *raw, size_t len)
{
    struct idl_bytes tx = {(uint8_t *)(uintptr_t)raw, len}, msg;
    if (engine_txs_message(&tx, 1, &msg) != IDL_OK)
        return;
    p2p_broadcast(b->p2p, msg.data, msg.len);
    free(msg.data);
}

void
bft_info(struct bft *b, struct bft_info *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->info;
    pthread_mutex_unlock(&b->lock);
}
