/*
 * The deterministic simulator of idledger's consensus (DESIGN.md "Consensus").
 *
 * N validators (and sometimes a replica) run the real engine (consensus/engine.c over the
 * pure Tendermint core, consensus/core.c) on real ledgers in memory stores, in one process
 * and one thread. The simulator is their host (struct cons_host): it owns the clock, the
 * timers, the network, the write-ahead logs and the transaction pools, so a run is a
 * function of its seed alone:
 *
 *   - one PRNG (xoshiro256**, seeded by splitmix64 of the seed) draws every choice;
 *   - events (deliveries, timers, ticks, faults, submissions) sit in a priority queue
 *     ordered by (time, sequence number), so ties break the same way every time;
 *   - keys derive from the seed, and every signature is BIP-340 with no auxiliary
 *     randomness (sig_sign_aux(..., NULL)), so the same seed signs the same bytes.
 *
 * A run has a fault phase (message drop, duplication, delay and reordering, partitions
 * and heals, links that drop and reconnect under new peer ids, crashes and restarts from
 * the write-ahead log, failing log writes (after which a validator crashes, or stays up
 * halted and must follow the chain by block sync), clock skew) and a quiet phase (faults stop, partitions heal, crashed nodes restart).
 * Byzantine validators (at most f, where n >= 3f + 1) run a real engine too, but the
 * simulator tampers with what they send: equivocating proposals and votes split between
 * two groups of peers, floods of signed proposals for their rounds (more blocks than an
 * engine's cache holds), forged certificates, invalid signatures, impersonated votes,
 * garbled bytes, replays of old messages, lies about their height, sync answers withheld,
 * and restarts that lose their log (amnesia).
 *
 * After every event the checker verifies, over the honest nodes (validators and replicas):
 *   agreement   at most one block hash is committed at each height;
 *   chain       every stored block links to the one before (prev_hash, app_hash), is the
 *               block the engine reported, and its stored certificate verifies against the
 *               validator set (ledger_commit_verify);
 *   no double   no honest validator ever sends two different votes of one (height, round,
 *   signing     type), or two different proposals of one (height, round), across restarts;
 *   state       every honest node has the same state hash after each height;
 *   halts       no honest engine halts except on an injected log failure;
 * and liveness: once the quiet phase starts, every honest node commits at least LIVE_K
 * blocks past the highest height reached so far within LIVE_BOUND_MS of simulated time.
 *
 * The simulator's first runs found six bugs in the engine and the core, fixed since
 * (git log consensus/): a liar's claimed tip stranding a lagging node's sync; re-proposals
 * judged invalid when another validator built the block; the prevotes behind a valid round
 * never sent again; an equivocator's second vote never counted; a restarted proposer
 * waiting in the propose step for ever; a leak of held future blocks. Floods, churn, power
 * cuts, halted validators and the idle check found more: a flood of signed proposals
 * evicting the honest block from every cache; a peer table full after 128 reconnects; a
 * request to a mute peer never expiring, and a liar's claim, keeping a node "catching up";
 * held blocks never applied while halted; a proposal signed on a lazily committed tip that
 * a power cut could undo, so that the node signed another after the restart.
 *
 * Usage: sim [--seed S | --seeds N [--from S|random]] [--n N] [--byz B] [--equivocate]
 *            [--flood] [--churn] [--no-cert-check] [--twice] [--keep-going] [--verbose]
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consensus/engine.h"
#include "consensus/msg.h"
#include "ledger/block.h"
#include "ledger/hash.h"
#include "ledger/ledger.h"
#include "ledger/sig.h"
#include "ledger/store.h"
#include "ledger/tx.h"

#define NODES_MAX 12
#define ACTORS 2
#define BASE_MS 1700000001000ull /* the simulated clock's origin (after genesis time) */
#define GENESIS_MS 1700000000000ull
#define TICK_MS 1000
#define RESUBMIT_MS 1500
#define RESUBMIT_AGE_MS 3000
#define LIVE_K 5
#define LIVE_BOUND_MS 60000
#define SETTLE_MS 30000 /* idle time after liveness, in which catching_up must clear */
#define CALM_MS 12000   /* ... within this long (a fresh lie costs a sync timeout or two) */
#define EVENTS_MAX 4000000
#define TXS_MAX 600
#define REPLAY_MAX 128
#define ALTS_MAX 8
#define TRACE_MAX 40
#define BLOCK_MAX_TXS 20
#define MAX_DRIFT_MS 10000
#define FLOOD_N 9 /* one more than the engine's block cache held when the flood was found */

static const char *const actor_ids[3] = {"root-sysadmin", "root-secadmin", "root-auditor"};

/* ---- the one source of randomness ---- */

struct rng {
    uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static uint64_t
rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

static uint64_t
rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

static double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static bool
rng_chance(struct rng *r, double p)
{
    return p > 0 && rng_unit(r) < p;
}

/* ---- a small open-addressing map: (a, b) -> 80 bytes ---- */

struct mapent {
    uint64_t a, b;
    bool used;
    uint8_t val[80];
};

struct map {
    struct mapent *t;
    size_t cap, n;
};

static size_t
map_slot(const struct map *m, uint64_t a, uint64_t b)
{
    uint64_t x = a * 0x9e3779b97f4a7c15ull ^ b;
    return (size_t)splitmix64(&x) & (m->cap - 1);
}

static void
map_grow(struct map *m)
{
    struct map g = {calloc(m->cap ? m->cap * 2 : 256, sizeof(struct mapent)),
                    m->cap ? m->cap * 2 : 256, 0};
    IDL_ASSERT(g.t);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->t[i].used)
            continue;
        size_t j = map_slot(&g, m->t[i].a, m->t[i].b);
        while (g.t[j].used)
            j = (j + 1) & (g.cap - 1);
        g.t[j] = m->t[i];
        g.n++;
    }
    free(m->t);
    *m = g;
}

/* The value of (a, b), or NULL; with create, a new zeroed one (*created set). */
static uint8_t *
map_get(struct map *m, uint64_t a, uint64_t b, bool create, bool *created)
{
    if (created)
        *created = false;
    if (m->cap) {
        for (size_t j = map_slot(m, a, b);; j = (j + 1) & (m->cap - 1)) {
            if (!m->t[j].used)
                break;
            if (m->t[j].a == a && m->t[j].b == b)
                return m->t[j].val;
        }
    }
    if (!create)
        return NULL;
    if (2 * (m->n + 1) > m->cap)
        map_grow(m);
    size_t j = map_slot(m, a, b);
    while (m->t[j].used)
        j = (j + 1) & (m->cap - 1);
    m->t[j].used = true;
    m->t[j].a = a;
    m->t[j].b = b;
    memset(m->t[j].val, 0, sizeof(m->t[j].val));
    m->n++;
    if (created)
        *created = true;
    return m->t[j].val;
}

static void
map_free(struct map *m)
{
    free(m->t);
    memset(m, 0, sizeof(*m));
}

/* ---- events ---- */

enum ev_kind {
    EV_DELIVER = 1, /* from -> node: data */
    EV_TIMER,       /* node's consensus timeout (height, round, step) */
    EV_TICK,        /* node's one-second tick */
    EV_SUBMIT,      /* a client submits a new transaction */
    EV_RESUBMIT,    /* clients submit again what has not committed */
    EV_CRASH,       /* an honest node crashes */
    EV_RESTART,     /* node restarts from its store and log */
    EV_AMNESIA,     /* a Byzantine node restarts with its log lost */
    EV_PARTITION,   /* the network splits */
    EV_HEAL,        /* the split `round` heals */
    EV_REPLAY,      /* Byzantine nodes replay old messages */
    EV_QUIET,       /* faults stop: the liveness clock starts */
    EV_DEADLINE,    /* the liveness bound */
    EV_CHURN,       /* a link drops and reconnects at once (new link ids) */
    EV_SETTLED,     /* the end of the idle time after liveness: nobody catches up */
};

static const char *const ev_names[] = {"?",      "deliver", "timer",   "tick",     "submit",
                                       "resubmit", "crash", "restart", "amnesia",  "partition",
                                       "heal",   "replay",  "quiet",   "deadline", "churn",
                                       "settled"};

struct event {
    uint64_t at, seq;
    uint64_t height;
    uint32_t inc, round;
    uint8_t kind, step;
    int16_t node, from;
    uint8_t *data;
    size_t len;
};

struct heap {
    struct event *v;
    size_t n, cap;
};

static bool
ev_less(const struct event *x, const struct event *y)
{
    return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

static void
heap_push(struct heap *h, const struct event *e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = realloc(h->v, h->cap * sizeof(*h->v));
        IDL_ASSERT(h->v);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(e, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = *e;
}

static struct event
heap_pop(struct heap *h)
{
    struct event top = h->v[0];
    struct event last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!ev_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* ---- the run ---- */

struct options {
    int n;              /* validators, 0: chosen by the seed */
    int byz;            /* Byzantine validators, -1: chosen by the seed */
    bool equivocate;    /* Byzantine validators always equivocate */
    bool flood;         /* Byzantine proposers always flood their rounds with proposals */
    bool churn;         /* links reconnect every few milliseconds in the fault phase */
    bool no_cert_check; /* skip the certificate check (the broken-quorum demonstration) */
    bool verbose;
};

struct params {
    uint64_t seed;
    int n, n_byz, n_replicas;
    double p_drop, p_dup, p_long;
    uint32_t lat_min, lat_jit, long_max;
    int partitions, crashes;
    bool link_down;
    double p_io;
    uint32_t fault_ms, tx_ms, skew_ms;
    uint32_t churn_ms; /* 0, or a link reconnects about this often in the fault phase */
    double p_keep_halted; /* a validator halted by a log failure stays up, halted */
    double p_power;       /* an injected crash is a power cut (unsynced writes lost) */
    struct cons_timeouts to;
    /* Byzantine behaviour */
    double p_equiv_vote, p_equiv_prop, p_badsig, p_garble, p_impersonate, p_fake_decided;
    double p_flood; /* a proposal of theirs comes with FLOOD_N other signed ones */
    uint32_t replay_ms; /* 0: no replays */
    bool lie_status, mute_sync;
    int amnesia;
};

struct pool_tx {
    uint8_t actor;
    uint64_t nonce;
    uint8_t txid[HASH_BYTES];
    struct idl_bytes raw;
};

struct outmsg {
    int to; /* -1: broadcast */
    struct idl_bytes msg;
};

/* A Byzantine node's second proposal for (height, round). */
struct alt {
    uint64_t height;
    uint32_t round;
    uint8_t hash[HASH_BYTES];
    struct idl_bytes msg, block;
};

struct sim;

struct node {
    struct sim *sim;
    int idx;
    bool validator, byz;
    uint8_t sk[SIG_SECKEY_BYTES], pk[SIG_PUBKEY_BYTES];
    struct store *store;
    struct ledger *l;
    struct engine *e;
    bool up, io_fault;
    bool halt_kept; /* halted by a log failure and left running: it must follow by sync */
    uint32_t inc;
    int64_t skew;
    /* The durable write-ahead log. */
    struct idl_bytes *wal;
    size_t n_wal, cap_wal;
    /* The transaction pool, sorted by (actor, nonce). */
    struct pool_tx *pool;
    size_t n_pool, cap_pool;
    uint64_t nonce[ACTORS]; /* last committed nonce, as this node knows it */
    struct outmsg *out;
    size_t n_out, cap_out;
    /* The checker's view of this node's chain (survives restarts, like the store). */
    uint8_t (*bh)[HASH_BYTES], (*sh)[HASH_BYTES];
    size_t cap_h;
    uint64_t tip, checked, commits;
    /* Byzantine: messages seen, for replays, and second proposals. */
    struct idl_bytes seen[REPLAY_MAX];
    size_t n_seen, seen_next;
    struct alt alts[ALTS_MAX];
    size_t alt_next;
    uint64_t flooded_h; /* the last (height, round) it flooded */
    uint32_t flooded_r;
    uint64_t calm_at; /* settling: when its engine last said it was not catching up */
};

struct hrec {
    bool set;
    int node;
    uint8_t block[HASH_BYTES], state[HASH_BYTES];
};

struct txcat {
    struct idl_bytes *raw;
    uint64_t *sent_at;
    size_t n, cap;
};

struct trace_rec {
    uint64_t at;
    uint8_t kind, mkind, vtype;
    int16_t node, from;
    uint64_t height;
    uint32_t round;
};

struct sim {
    struct params p;
    struct options opt;
    struct rng rng;
    uint64_t now, seq, n_events;
    struct heap q;
    struct ledger_genesis g;
    uint8_t admin_sk[3][SIG_SECKEY_BYTES];
    int n_nodes;
    struct node nodes[NODES_MAX];
    struct txcat cat[ACTORS];
    uint64_t cnonce[ACTORS]; /* highest committed nonce at any honest node */
    bool quiet;
    bool blocked[NODES_MAX][NODES_MAX];
    /* How often node i saw its link to j come up: the link's id at i is j + NODES_MAX times
     * that, so like node/p2p.c every reconnect is a new peer id. */
    uint32_t conn[NODES_MAX][NODES_MAX];
    uint32_t part_id;
    /* The checker. */
    struct hrec *hs;
    size_t cap_hs;
    uint64_t max_height;
    struct map votes;  /* honest (height, round|validator|type) -> hash */
    struct map props;  /* (height, round) -> known proposal hashes, Byzantine alternatives */
    struct map certs;  /* verified certificates */
    uint64_t live_from, live_target;
    bool settling, done, failed;
    char rule[64];
    /* Results. */
    uint64_t digest, msgs, dropped, delivered, crashes, restarts, refused, equivocations,
        io_faults, tampered;
    struct trace_rec trace[TRACE_MAX];
    size_t n_trace;
    char line[640];
};

/* For the crash handlers: the run in progress. */
static char current_line[700];

static void
digest_mix(struct sim *s, uint64_t v)
{
    s->digest = (s->digest ^ v) * 0x100000001b3ull;
}

static void
digest_bytes(struct sim *s, const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    digest_mix(s, h);
}

static void
hex8(char out[17], const uint8_t *h)
{
    codec_hex_encode(out, h, 8);
}

__attribute__((format(printf, 2, 3))) static void
trace(struct sim *s, const char *fmt, ...)
{
    if (!s->opt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%7" PRIu64 ".%03" PRIu64 "] ", s->now / 1000, s->now % 1000);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* Height and round of a consensus message, read from its fixed-width prefix. */
static void
msg_peek(const uint8_t *m, size_t len, uint8_t *kind, uint8_t *vtype, uint64_t *h, uint32_t *r)
{
    *kind = len >= 2 ? m[1] : 0;
    *vtype = 0;
    *h = 0;
    *r = 0;
    if (*kind == MSG_PROPOSAL && len >= 14) {
        *h = codec_be64_get(m + 2);
        *r = codec_be32_get(m + 10);
    } else if (*kind == MSG_VOTE && len >= 15) {
        *vtype = m[2];
        *h = codec_be64_get(m + 3);
        *r = codec_be32_get(m + 11);
    } else if (*kind == MSG_STATUS && len >= 10) {
        *h = codec_be64_get(m + 2);
    }
}

static const char *
msg_kind_name(uint8_t k)
{
    static const char *const names[] = {"?",      "proposal", "vote", "decided",
                                        "sync_req", "status", "txs"};
    return k < IDL_ARRAY_LEN(names) ? names[k] : "?";
}

static void
trace_record(struct sim *s, const struct event *e)
{
    struct trace_rec *t = &s->trace[s->n_trace++ % TRACE_MAX];
    memset(t, 0, sizeof(*t));
    t->at = e->at;
    t->kind = e->kind;
    t->node = e->node;
    t->from = e->from;
    if (e->kind == EV_DELIVER)
        msg_peek(e->data, e->len, &t->mkind, &t->vtype, &t->height, &t->round);
    else if (e->kind == EV_TIMER) {
        t->height = e->height;
        t->round = e->round;
        t->vtype = e->step;
    }
}

static void
print_status(struct sim *s)
{
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        struct engine_status st = {0};
        if (nd->up)
            engine_status(nd->e, &st);
        printf("  node %d%s%s: %s tip %" PRIu64 " height %" PRIu64 " round %u step %u best_peer %" PRIu64
               "%s%s refused %" PRIu64 " equivocations %" PRIu64 " held %zu pool %zu commits %" PRIu64
               "\n",
               i, nd->byz ? " (byzantine)" : "", nd->validator ? "" : " (replica)",
               nd->up ? "up" : "down", nd->tip, st.height, st.round, st.step, st.best_peer_height,
               st.catching_up ? " catching-up" : "", st.halted ? " halted" : "", st.refused,
               st.equivocations, st.held, nd->n_pool, nd->commits);
    }
    /* The last lock record of each log: what the node is locked on (engine.c's format). */
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        for (size_t k = nd->n_wal; k-- > 0;) {
            const uint8_t *b = nd->wal[k].data;
            if (nd->wal[k].len < 85 || b[0] != 2)
                continue;
            char lh[17], vh[17];
            hex8(lh, b + 13);
            hex8(vh, b + 49);
            printf("  node %d log: height %" PRIu64 " locked round %d %s.. valid round %d %s.."
                   " (%zu records)\n",
                   i, codec_be64_get(b + 1), (int32_t)codec_be32_get(b + 9), lh,
                   (int32_t)codec_be32_get(b + 45), vh, nd->n_wal);
            break;
        }
    }
    printf("  last events:\n");
    size_t first = s->n_trace > TRACE_MAX ? s->n_trace - TRACE_MAX : 0;
    for (size_t i = first; i < s->n_trace; i++) {
        const struct trace_rec *t = &s->trace[i % TRACE_MAX];
        if (t->kind == EV_DELIVER)
            printf("    %8" PRIu64 " deliver %d->%d %s%s h=%" PRIu64 " r=%u\n", t->at, t->from,
                   t->node, msg_kind_name(t->mkind),
                   t->mkind == MSG_VOTE ? (t->vtype == VOTE_PREVOTE ? "(prevote)" : "(precommit)")
                                        : "",
                   t->height, t->round);
        else if (t->kind == EV_TIMER)
            printf("    %8" PRIu64 " timer node %d h=%" PRIu64 " r=%u step=%u\n", t->at, t->node,
                   t->height, t->round, t->vtype);
        else if (t->kind == EV_TICK || t->kind == EV_RESTART || t->kind == EV_AMNESIA)
            printf("    %8" PRIu64 " %s node %d\n", t->at, ev_names[t->kind], t->node);
        else
            printf("    %8" PRIu64 " %s\n", t->at, ev_names[t->kind]);
    }
}

__attribute__((format(printf, 3, 4))) static void
fail(struct sim *s, const char *rule, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    snprintf(s->rule, sizeof(s->rule), "%s", rule);
    printf("%s\n", s->line);
    printf("FAIL seed=%" PRIu64 " rule=%s at t=%" PRIu64 " ms (event %" PRIu64 "): ", s->p.seed,
           rule, s->now, s->n_events);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    print_status(s);
    fflush(stdout);
}

/* ---- a store that loses what was not synced when the power goes ---- */

/*
 * A memory store as the disk sees it: writes go to the visible store (what the process
 * reads, the operating system's cache), and reach the durable one only with the next
 * synced write, in order, as LevelDB's log does. A power cut (cut_power) throws away what
 * was never synced.
 */
struct cut_store {
    struct store base;
    struct store_ops ops; /* the visible store's, with ours over them */
    struct store *vis, *dur;
    struct store_batch *pending; /* written since the last sync */
    size_t n_pending, cap_pending;
};

static struct cut_store *
as_cut(struct store *s)
{
    return (struct cut_store *)s;
}

static idl_err
cut_get(struct store *s, const uint8_t *key, size_t key_len, struct idl_bytes *val)
{
    return store_get(as_cut(s)->vis, key, key_len, val);
}

static void
batch_copy(struct store_batch *out, const struct store_batch *b)
{
    store_batch_init(out);
    for (size_t i = 0; i < b->count; i++) {
        const struct store_op *o = &b->ops[i];
        IDL_ASSERT((o->val ? store_batch_put(out, o->key, o->key_len, o->val, o->val_len)
                           : store_batch_del(out, o->key, o->key_len)) == IDL_OK);
    }
}

static void
cut_pending_clear(struct cut_store *c)
{
    for (size_t i = 0; i < c->n_pending; i++)
        store_batch_free(&c->pending[i]);
    c->n_pending = 0;
}

static idl_err
cut_write(struct store *s, const struct store_batch *b, bool sync)
{
    struct cut_store *c = as_cut(s);
    idl_err rc = store_write(c->vis, b, false);
    if (rc)
        return rc;
    if (!sync) {
        if (c->n_pending == c->cap_pending) {
            c->cap_pending = c->cap_pending ? c->cap_pending * 2 : 16;
            c->pending = realloc(c->pending, c->cap_pending * sizeof(*c->pending));
            IDL_ASSERT(c->pending);
        }
        batch_copy(&c->pending[c->n_pending++], b);
        return IDL_OK;
    }
    for (size_t i = 0; i < c->n_pending; i++)
        IDL_ASSERT(store_write(c->dur, &c->pending[i], false) == IDL_OK);
    cut_pending_clear(c);
    return store_write(c->dur, b, false);
}

static struct store_iter *
cut_iter_new(struct store *s)
{
    return store_iter_new(as_cut(s)->vis);
}

static void
cut_close(struct store *s)
{
    struct cut_store *c = as_cut(s);
    store_close(c->vis);
    store_close(c->dur);
    cut_pending_clear(c);
    free(c->pending);
    free(c);
}

static struct store *
cut_open(void)
{
    struct cut_store *c = calloc(1, sizeof(*c));
    IDL_ASSERT(c);
    IDL_ASSERT(store_memory_open(&c->vis) == IDL_OK && store_memory_open(&c->dur) == IDL_OK);
    c->ops = *c->vis->ops;
    c->ops.get = cut_get;
    c->ops.write = cut_write;
    c->ops.iter_new = cut_iter_new;
    c->ops.close = cut_close;
    c->base.ops = &c->ops;
    return &c->base;
}

/* The power goes: what the process sees is what was synced, no more. */
static void
cut_power(struct store *s)
{
    struct cut_store *c = as_cut(s);
    cut_pending_clear(c);
    struct store *fresh;
    IDL_ASSERT(store_memory_open(&fresh) == IDL_OK);
    struct store_batch all;
    store_batch_init(&all);
    struct store_iter *it = store_iter_new(c->dur);
    IDL_ASSERT(it);
    static const uint8_t first[1];
    for (store_iter_seek(c->dur, it, first, 0); store_iter_valid(c->dur, it);
         store_iter_next(c->dur, it)) {
        size_t kl, vl;
        const uint8_t *k = store_iter_key(c->dur, it, &kl), *v = store_iter_value(c->dur, it, &vl);
        IDL_ASSERT(store_batch_put(&all, k, kl, v, vl) == IDL_OK);
    }
    store_iter_free(c->dur, it);
    IDL_ASSERT(store_write(fresh, &all, true) == IDL_OK);
    store_batch_free(&all);
    store_close(c->vis);
    c->vis = fresh;
}

/* ---- keys and genesis ---- */

static void
derive_key(uint64_t seed, const char *role, int idx, uint8_t sk[SIG_SECKEY_BYTES],
           uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (uint32_t ctr = 0;; ctr++) {
        struct hash_ctx c;
        uint8_t b[8];
        hash_tagged_init(&c, "idledger/sim-key");
        codec_be64_put(b, seed);
        hash_update(&c, b, 8);
        hash_update(&c, role, strlen(role));
        codec_be32_put(b, (uint32_t)idx);
        hash_update(&c, b, 4);
        codec_be32_put(b, ctr);
        hash_update(&c, b, 4);
        hash_final(&c, sk);
        if (sig_pubkey_from_secret(pk, sk) == IDL_OK)
            return;
    }
}

static void
make_genesis(struct sim *s)
{
    struct ledger_genesis *g = &s->g;
    memset(g, 0, sizeof(*g));
    snprintf(g->chain_id, sizeof(g->chain_id), "sim");
    g->time_ms = GENESIS_MS;
    snprintf(g->root.code, sizeof(g->root.code), "440000");
    snprintf(g->root.name, sizeof(g->root.name), "root");
    g->root.kind = ORG_KIND_PROVINCE;
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        struct rec_account *a = &g->admins[i];
        uint8_t pk[SIG_PUBKEY_BYTES];
        derive_key(s->p.seed, "admin", i, s->admin_sk[i], pk);
        snprintf(a->id, sizeof(a->id), "%s", actor_ids[i]);
        snprintf(a->org, sizeof(a->org), "440000");
        a->class = CLASS_MANAGEMENT;
        a->post = (uint8_t)(POST_SYSADMIN + i);
        a->status = STATUS_ACTIVE;
        a->authorized = 1;
        memcpy(a->pubkey, pk, SIG_PUBKEY_BYTES);
        uint8_t b = (uint8_t)i;
        hash_tagged(a->person, "idledger/sim-person", &b, 1);
    }
    for (int i = 0; i < s->p.n; i++) {
        struct node *nd = &s->nodes[i];
        snprintf(g->validators[i].name, sizeof(g->validators[i].name), "v%d", i);
        memcpy(g->validators[i].pubkey, nd->pk, SIG_PUBKEY_BYTES);
        g->validators[i].power = 1;
    }
    g->n_validators = (size_t)s->p.n;
    g->policy.same_person_sys_sec = SAME_SCHOOLS;
    g->policy.review_interval_days = 182;
    /* The chain's identity: a function of the run's inputs. */
    uint8_t in[16];
    codec_be64_put(in, s->p.seed);
    codec_be64_put(in + 8, (uint64_t)s->p.n);
    hash_tagged(g->hash, "idledger/sim-genesis", in, sizeof(in));
}

/* ---- transactions ---- */

static void
tx_make(struct sim *s, int actor, uint64_t nonce, struct idl_bytes *raw)
{
    struct ledger_tx tx;
    if (actor == 0) {
        ledger_tx_init(&tx, s->g.chain_id, TX_ORG_ADD, actor_ids[0]);
        struct tx_org_add *b = &tx.body.org_add;
        snprintf(b->code, sizeof(b->code), "44%04u", (unsigned)(nonce % 10000));
        snprintf(b->name, sizeof(b->name), "city %" PRIu64, nonce);
        b->kind = ORG_KIND_CITY;
        snprintf(b->parent, sizeof(b->parent), "440000");
    } else {
        ledger_tx_init(&tx, s->g.chain_id, TX_REVIEW_RECORD, actor_ids[1]);
        snprintf(tx.body.review.org, sizeof(tx.body.review.org), "440000");
        snprintf(tx.body.review.note, sizeof(tx.body.review.note), "review %" PRIu64, nonce);
    }
    tx.nonce = nonce;
    tx.time = GENESIS_MS / 1000;
    memset(tx.basis, 0xb5, HASH_BYTES);
    IDL_ASSERT(ledger_tx_sign_aux(&tx, s->admin_sk[actor], NULL) == IDL_OK);
    IDL_ASSERT(ledger_tx_encode(&tx, raw) == IDL_OK);
    ledger_tx_free(&tx);
}

static int
actor_index(const char *id)
{
    for (int a = 0; a < ACTORS; a++)
        if (!strcmp(id, actor_ids[a]))
            return a;
    return -1;
}

/* ---- the pool ---- */

static bool
pool_has(const struct node *nd, const uint8_t txid[HASH_BYTES])
{
    for (size_t i = 0; i < nd->n_pool; i++)
        if (!memcmp(nd->pool[i].txid, txid, HASH_BYTES))
            return true;
    return false;
}

static void
pool_clear(struct node *nd)
{
    for (size_t i = 0; i < nd->n_pool; i++)
        free(nd->pool[i].raw.data);
    nd->n_pool = 0;
}

static void
pool_prune(struct node *nd)
{
    size_t k = 0;
    for (size_t i = 0; i < nd->n_pool; i++) {
        if (nd->pool[i].nonce <= nd->nonce[nd->pool[i].actor])
            free(nd->pool[i].raw.data);
        else
            nd->pool[k++] = nd->pool[i];
    }
    nd->n_pool = k;
}

/*
 * Is a pooled transaction ready for a block (its nonce is its actor's next)? Only then is
 * there work, as node/mempool.c counts it: a transaction behind a nonce gap starts no block.
 */
static bool
pool_ready(const struct node *nd)
{
    for (size_t i = 0; i < nd->n_pool; i++)
        if (nd->pool[i].nonce == nd->nonce[nd->pool[i].actor] + 1)
            return true;
    return false;
}

/* Admits a transaction as a node's pool does: decoded, its signature checked. */
static bool
pool_admit(struct node *nd, const uint8_t *raw, size_t len)
{
    struct ledger_tx tx;
    if (ledger_tx_decode(&tx, raw, len, ledger_chain_id(nd->l)) != IDL_OK)
        return false;
    bool have = pool_has(nd, tx.id);
    ledger_tx_free(&tx);
    if (have)
        return false;
    uint64_t next;
    char why[LEDGER_WHY_MAX];
    if (ledger_tx_admit(nd->l, raw, len, &tx, &next, why, sizeof(why)) != IDL_OK)
        return false;
    int a = actor_index(tx.actor);
    if (a < 0 || tx.nonce <= nd->nonce[a]) {
        ledger_tx_free(&tx);
        return false;
    }
    if (nd->n_pool == nd->cap_pool) {
        nd->cap_pool = nd->cap_pool ? nd->cap_pool * 2 : 32;
        nd->pool = realloc(nd->pool, nd->cap_pool * sizeof(*nd->pool));
        IDL_ASSERT(nd->pool);
    }
    size_t at = nd->n_pool;
    while (at > 0 && (nd->pool[at - 1].actor > a ||
                      (nd->pool[at - 1].actor == a && nd->pool[at - 1].nonce > tx.nonce)))
        at--;
    memmove(&nd->pool[at + 1], &nd->pool[at], (nd->n_pool - at) * sizeof(*nd->pool));
    struct pool_tx *p = &nd->pool[at];
    p->actor = (uint8_t)a;
    p->nonce = tx.nonce;
    memcpy(p->txid, tx.id, HASH_BYTES);
    p->raw.data = malloc(len);
    IDL_ASSERT(p->raw.data);
    memcpy(p->raw.data, raw, len);
    p->raw.len = len;
    nd->n_pool++;
    ledger_tx_free(&tx);
    return true;
}

/* ---- the network ---- */

static void
push_event(struct sim *s, struct event *e)
{
    e->seq = s->seq++;
    heap_push(&s->q, e);
}

static void
net_send(struct sim *s, int from, int to, const uint8_t *msg, size_t len)
{
    s->msgs++;
    if (s->blocked[from][to] || (!s->quiet && rng_chance(&s->rng, s->p.p_drop))) {
        s->dropped++;
        return;
    }
    int copies = 1 + (!s->quiet && rng_chance(&s->rng, s->p.p_dup));
    for (int c = 0; c < copies; c++) {
        uint64_t delay = s->p.lat_min + rng_below(&s->rng, (s->quiet ? 20 : s->p.lat_jit) + 1);
        if (!s->quiet && rng_chance(&s->rng, s->p.p_long))
            delay += rng_below(&s->rng, s->p.long_max);
        struct event e = {.at = s->now + delay, .kind = EV_DELIVER, .node = (int16_t)to,
                          .from = (int16_t)from, .len = len};
        e.data = malloc(len ? len : 1);
        IDL_ASSERT(e.data);
        memcpy(e.data, msg, len);
        push_event(s, &e);
    }
}

static void
route(struct sim *s, int from, int to, const uint8_t *msg, size_t len)
{
    if (to >= 0) {
        if (to < s->n_nodes && to != from)
            net_send(s, from, to, msg, len);
        return;
    }
    for (int j = 0; j < s->n_nodes; j++)
        if (j != from)
            net_send(s, from, j, msg, len);
}

/* ---- the checker ---- */

static void
node_hash_grow(struct node *nd, uint64_t h)
{
    if (h < nd->cap_h)
        return;
    size_t cap = nd->cap_h ? nd->cap_h : 64;
    while (cap <= h)
        cap *= 2;
    nd->bh = realloc(nd->bh, cap * HASH_BYTES);
    nd->sh = realloc(nd->sh, cap * HASH_BYTES);
    IDL_ASSERT(nd->bh && nd->sh);
    memset(nd->bh + nd->cap_h, 0, (cap - nd->cap_h) * HASH_BYTES);
    memset(nd->sh + nd->cap_h, 0, (cap - nd->cap_h) * HASH_BYTES);
    nd->cap_h = cap;
}

/* Rules 1 and 4: one block and one state per height across honest nodes. */
static void
check_height(struct sim *s, struct node *nd, uint64_t h, const uint8_t block[HASH_BYTES],
             const uint8_t state[HASH_BYTES])
{
    if (h >= s->cap_hs) {
        size_t cap = s->cap_hs ? s->cap_hs : 64;
        while (cap <= h)
            cap *= 2;
        s->hs = realloc(s->hs, cap * sizeof(*s->hs));
        IDL_ASSERT(s->hs);
        memset(s->hs + s->cap_hs, 0, (cap - s->cap_hs) * sizeof(*s->hs));
        s->cap_hs = cap;
    }
    struct hrec *r = &s->hs[h];
    char a[17], b[17];
    if (!r->set) {
        r->set = true;
        r->node = nd->idx;
        memcpy(r->block, block, HASH_BYTES);
        memcpy(r->state, state, HASH_BYTES);
        if (h > s->max_height)
            s->max_height = h;
    } else if (memcmp(r->block, block, HASH_BYTES) != 0) {
        hex8(a, r->block);
        hex8(b, block);
        fail(s, "agreement",
             "two blocks committed at height %" PRIu64 ": node %d has %s.., node %d has %s..", h,
             r->node, a, nd->idx, b);
    } else if (memcmp(r->state, state, HASH_BYTES) != 0) {
        hex8(a, r->state);
        hex8(b, state);
        fail(s, "state",
             "state hashes differ after height %" PRIu64 ": node %d has %s.., node %d has %s..", h,
             r->node, a, nd->idx, b);
    }
}

static bool
cert_ok(struct sim *s, uint64_t h, const struct ledger_block *b, const struct idl_bytes *cert,
        char *why, size_t why_len)
{
    if (!cert->len) {
        snprintf(why, why_len, "no certificate stored");
        return false;
    }
    uint8_t d[HASH_BYTES];
    hash_sha256(d, cert->data, cert->len);
    uint64_t a = codec_be64_get(d), k = codec_be64_get(d + 8) ^ h;
    if (map_get(&s->certs, a, k, false, NULL))
        return true;
    if (s->opt.no_cert_check)
        return true;
    struct ledger_commit c;
    idl_err rc = schema_decode_bytes(&ledger_commit_schema, &c, cert->data, cert->len);
    if (rc) {
        snprintf(why, why_len, "the certificate does not decode");
        return false;
    }
    rc = ledger_commit_verify(&c, s->g.chain_id, h, b->hash, s->g.validators, s->g.n_validators);
    schema_free(&ledger_commit_schema, &c);
    if (rc) {
        snprintf(why, why_len, "the certificate does not verify: %s", idl_strerror(rc));
        return false;
    }
    (void)map_get(&s->certs, a, k, true, NULL);
    return true;
}

/* Rule 2 over the blocks a node committed since the last check. */
static void
check_node(struct sim *s, struct node *nd)
{
    if (!nd->up || nd->byz || s->failed)
        return;
    struct ledger_tip tip;
    ledger_tip(nd->l, &tip);
    nd->tip = tip.height;
    char a[17], b[17];
    while (nd->checked < tip.height && !s->failed) {
        uint64_t h = nd->checked + 1;
        struct ledger_block blk;
        struct idl_bytes cert = {0};
        if (ledger_block_get(nd->l, h, &blk, &cert) != IDL_OK) {
            fail(s, "chain", "node %d: block %" PRIu64 " is not readable", nd->idx, h);
            return;
        }
        char why[128];
        if (blk.header.height != h)
            fail(s, "chain", "node %d: block %" PRIu64 " says height %" PRIu64, nd->idx, h,
                 blk.header.height);
        else if (memcmp(blk.header.prev_hash, nd->bh[h - 1], HASH_BYTES) != 0)
            fail(s, "chain", "node %d: block %" PRIu64 " does not link to block %" PRIu64,
                 nd->idx, h, h - 1);
        else if (memcmp(blk.header.app_hash, nd->sh[h - 1], HASH_BYTES) != 0)
            fail(s, "chain", "node %d: block %" PRIu64 " names another state than height %" PRIu64
                 "'s", nd->idx, h, h - 1);
        else if (h >= nd->cap_h || memcmp(blk.hash, nd->bh[h], HASH_BYTES) != 0) {
            hex8(a, blk.hash);
            hex8(b, h < nd->cap_h ? nd->bh[h] : blk.hash);
            fail(s, "chain", "node %d: stored block %" PRIu64 " is %s.., the engine reported %s..",
                 nd->idx, h, a, b);
        } else if (!cert_ok(s, h, &blk, &cert, why, sizeof(why)))
            fail(s, "chain", "node %d: block %" PRIu64 ": %s", nd->idx, h, why);
        ledger_block_free(&blk);
        free(cert.data);
        nd->checked = h;
    }
}

/* Rule 3: what an honest validator signs, (height, round, validator, type) -> hash. */
static void
check_own(struct sim *s, struct node *nd, const uint8_t *msg, size_t len)
{
    if (len < 2 || (msg[1] != MSG_VOTE && msg[1] != MSG_PROPOSAL))
        return;
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK) {
        fail(s, "double-sign", "node %d sent a %s that does not decode", nd->idx,
             msg_kind_name(msg[1]));
        return;
    }
    uint64_t h;
    uint32_t r;
    unsigned type, who;
    uint8_t hash[HASH_BYTES];
    if (m.kind == MSG_VOTE) {
        h = m.body.vote.height;
        r = m.body.vote.round;
        type = m.body.vote.type;
        who = m.body.vote.validator;
        memcpy(hash, m.body.vote.hash, HASH_BYTES);
    } else {
        h = m.body.proposal.height;
        r = m.body.proposal.round;
        type = 0;
        who = m.body.proposal.proposer;
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.proposal.block.data, m.body.proposal.block.len,
                                s->g.chain_id) != IDL_OK) {
            fail(s, "double-sign", "node %d proposed a block that does not decode", nd->idx);
            cons_msg_free(&m);
            return;
        }
        memcpy(hash, b.hash, HASH_BYTES);
        ledger_block_free(&b);
    }
    cons_msg_free(&m);
    if (who != (unsigned)nd->idx)
        return; /* another validator's message, relayed: not signed here */
    bool created;
    uint8_t *v = map_get(&s->votes, h, (uint64_t)r << 24 | (uint64_t)who << 8 | type, true,
                         &created);
    if (created) {
        memcpy(v, hash, HASH_BYTES);
        return;
    }
    if (memcmp(v, hash, HASH_BYTES) != 0) {
        char a[17], b[17];
        hex8(a, v);
        hex8(b, hash);
        fail(s, "double-sign",
             "honest validator %d signed two %s at height %" PRIu64 " round %u: %s.. and %s..",
             nd->idx, type == 0 ? "proposals" : type == VOTE_PREVOTE ? "prevotes" : "precommits",
             h, r, a, b);
    }
}

/* Every proposal seen on the wire: (height, round) -> up to two hashes, for equivocators. */
struct propinfo {
    uint8_t n, has_alt;
    uint8_t hash[1][HASH_BYTES];
    uint8_t alt[HASH_BYTES];
};
_Static_assert(sizeof(struct propinfo) <= 80, "fits a map value");

static void
note_proposal(struct sim *s, const uint8_t *msg, size_t len)
{
    struct cons_msg m;
    if (len < 2 || msg[1] != MSG_PROPOSAL || cons_msg_decode(&m, msg, len) != IDL_OK)
        return;
    struct ledger_block b;
    if (ledger_block_decode(&b, m.body.proposal.block.data, m.body.proposal.block.len,
                            s->g.chain_id) == IDL_OK) {
        struct propinfo *pi =
            (struct propinfo *)map_get(&s->props, m.body.proposal.height, m.body.proposal.round,
                                       true, NULL);
        if (pi->n == 0) {
            memcpy(pi->hash[0], b.hash, HASH_BYTES);
            pi->n = 1;
        }
        ledger_block_free(&b);
    }
    cons_msg_free(&m);
}

/* ---- Byzantine tampering ---- */

static void
byz_remember(struct node *nd, const uint8_t *msg, size_t len)
{
    struct idl_bytes *slot = &nd->seen[nd->seen_next];
    nd->seen_next = (nd->seen_next + 1) % REPLAY_MAX;
    if (nd->n_seen < REPLAY_MAX)
        nd->n_seen++;
    free(slot->data);
    slot->data = malloc(len ? len : 1);
    IDL_ASSERT(slot->data);
    memcpy(slot->data, msg, len);
    slot->len = len;
}

/* Which side of the equivocation a peer is on at (height, round). */
static bool
group_b(const struct sim *s, uint64_t h, uint32_t r, int peer)
{
    uint64_t x = s->p.seed ^ (h * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)r << 40);
    return (splitmix64(&x) >> (peer % 60)) & 1;
}

static void
encode_or_die(const struct cons_msg *m, struct idl_bytes *out)
{
    IDL_ASSERT(cons_msg_encode(m, out) == IDL_OK);
}

/* A second, different, validly signed proposal for the same (height, round). */
static struct alt *
byz_alt_proposal(struct sim *s, struct node *nd, const struct msg_proposal *p)
{
    for (size_t i = 0; i < ALTS_MAX; i++)
        if (nd->alts[i].msg.data && nd->alts[i].height == p->height &&
            nd->alts[i].round == p->round)
            return &nd->alts[i];
    struct ledger_tip tip;
    ledger_tip(nd->l, &tip);
    struct ledger_block orig;
    if (tip.height + 1 != p->height ||
        ledger_block_decode(&orig, p->block.data, p->block.len, s->g.chain_id) != IDL_OK)
        return NULL;
    uint64_t t = orig.header.time_ms + 1 + rng_below(&s->rng, 1000);
    ledger_block_free(&orig);
    struct ledger_exec_opts trust = {false, NULL, NULL};
    struct ledger_exec *ex;
    if (ledger_block_build(nd->l, NULL, 0, t, nd->pk, &trust, NULL, NULL, &ex) != IDL_OK)
        return NULL;
    struct alt *a = &nd->alts[nd->alt_next];
    nd->alt_next = (nd->alt_next + 1) % ALTS_MAX;
    free(a->msg.data);
    free(a->block.data);
    memset(a, 0, sizeof(*a));
    a->height = p->height;
    a->round = p->round;
    memcpy(a->hash, ledger_exec_block(ex)->hash, HASH_BYTES);
    IDL_ASSERT(ledger_block_encode(ledger_exec_block(ex), &a->block) == IDL_OK);
    ledger_exec_free(ex);
    struct cons_msg m = {.kind = MSG_PROPOSAL};
    struct msg_proposal *q = &m.body.proposal;
    q->height = p->height;
    q->round = p->round;
    q->valid_round = MSG_NO_ROUND;
    q->proposer = (uint16_t)nd->idx;
    q->block = a->block;
    uint8_t sighash[HASH_BYTES];
    cons_proposal_sighash(sighash, s->g.chain_id, q->height, q->round, q->valid_round, a->hash);
    IDL_ASSERT(sig_sign_aux(q->sig, sighash, nd->sk, NULL) == IDL_OK);
    encode_or_die(&m, &a->msg);
    struct propinfo *pi = (struct propinfo *)map_get(&s->props, p->height, p->round, true, NULL);
    memcpy(pi->alt, a->hash, HASH_BYTES);
    pi->has_alt = 1;
    return a;
}

/* A certificate made of the Byzantine validators' precommits only: never enough. */
static void
byz_fake_decided(struct sim *s, const struct alt *a, struct idl_bytes *out)
{
    struct ledger_commit_sig sigs[NODES_MAX];
    struct ledger_commit c = {.height = a->height, .round = a->round};
    memcpy(c.block_hash, a->hash, HASH_BYTES);
    uint8_t msg[HASH_BYTES];
    ledger_vote_sighash(msg, s->g.chain_id, VOTE_PRECOMMIT, a->height, a->round, a->hash);
    uint32_t n = 0;
    for (int i = 0; i < s->p.n; i++) {
        if (!s->nodes[i].byz)
            continue;
        sigs[n].validator = (uint16_t)i;
        IDL_ASSERT(sig_sign_aux(sigs[n].sig, msg, s->nodes[i].sk, NULL) == IDL_OK);
        n++;
    }
    c.sigs.items = sigs;
    c.sigs.count = n;
    struct idl_bytes cert;
    IDL_ASSERT(schema_encode_bytes(&ledger_commit_schema, &c, &cert) == IDL_OK);
    struct cons_msg m = {.kind = MSG_DECIDED};
    m.body.decided.block = a->block;
    m.body.decided.commit = cert;
    encode_or_die(&m, out);
    free(cert.data);
}

/* A second vote for the same (height, round, type), for another value, validly signed. */
static void
byz_alt_vote(struct sim *s, struct node *nd, const struct msg_vote *v, struct idl_bytes *out)
{
    static const uint8_t nil[HASH_BYTES];
    struct cons_msg m = {.kind = MSG_VOTE};
    m.body.vote = *v;
    uint8_t *y = m.body.vote.hash;
    const struct propinfo *pi =
        (const struct propinfo *)map_get(&s->props, v->height, v->round, false, NULL);
    if (pi && pi->has_alt && memcmp(pi->alt, v->hash, HASH_BYTES) != 0)
        memcpy(y, pi->alt, HASH_BYTES);
    else if (pi && pi->n && memcmp(pi->hash[0], v->hash, HASH_BYTES) != 0)
        memcpy(y, pi->hash[0], HASH_BYTES);
    else if (memcmp(v->hash, nil, HASH_BYTES) != 0)
        memset(y, 0, HASH_BYTES);
    else
        for (int i = 0; i < HASH_BYTES; i++)
            y[i] = (uint8_t)rng_next(&s->rng);
    uint8_t sighash[HASH_BYTES];
    ledger_vote_sighash(sighash, s->g.chain_id, v->type, v->height, v->round, y);
    IDL_ASSERT(sig_sign_aux(m.body.vote.sig, sighash, nd->sk, NULL) == IDL_OK);
    encode_or_die(&m, out);
}

/* A copy whose signature no longer verifies (or, for votes, claims another validator). */
static bool
byz_bad_copy(struct sim *s, struct node *nd, const struct cons_msg *orig, bool impersonate,
             struct idl_bytes *out)
{
    struct cons_msg m = *orig;
    if (m.kind == MSG_VOTE) {
        if (impersonate && s->p.n > 1) {
            unsigned other = (unsigned)rng_below(&s->rng, (uint64_t)s->p.n - 1);
            m.body.vote.validator = (uint16_t)(other >= (unsigned)nd->idx ? other + 1 : other);
        } else {
            m.body.vote.sig[rng_below(&s->rng, SIG_BYTES)] ^= (uint8_t)(1u << rng_below(&s->rng, 8));
        }
    } else if (m.kind == MSG_PROPOSAL) {
        m.body.proposal.sig[rng_below(&s->rng, SIG_BYTES)] ^= (uint8_t)(1u << rng_below(&s->rng, 8));
    } else {
        return false;
    }
    return cons_msg_encode(&m, out) == IDL_OK;
}

/* A fresh proposal for (height, round) of `block`, signed by the Byzantine node. */
static void
byz_sign_proposal(struct sim *s, struct node *nd, uint64_t height, uint32_t round,
                  const struct idl_bytes *block, const uint8_t hash[HASH_BYTES],
                  struct idl_bytes *out)
{
    struct cons_msg m = {.kind = MSG_PROPOSAL};
    struct msg_proposal *q = &m.body.proposal;
    q->height = height;
    q->round = round;
    q->valid_round = MSG_NO_ROUND;
    q->proposer = (uint16_t)nd->idx;
    q->block = *block;
    uint8_t sighash[HASH_BYTES];
    cons_proposal_sighash(sighash, s->g.chain_id, height, round, q->valid_round, hash);
    IDL_ASSERT(sig_sign_aux(q->sig, sighash, nd->sk, NULL) == IDL_OK);
    encode_or_die(&m, out);
}

/*
 * The flood: whenever it speaks at a height, in a round it has not flooded yet, a Byzantine
 * validator sends every honest peer FLOOD_N valid blocks, each signed as its proposal for
 * its next round as proposer at that height (this round, if it proposes in it), and one for
 * each of its two rounds after that. An engine that caches and executes every signed
 * proposal evicts from its small block cache the honest blocks it locked on or must commit.
 */
static void
byz_flood(struct sim *s, struct node *nd, uint64_t height, uint32_t round)
{
    struct ledger_tip tip;
    ledger_tip(nd->l, &tip);
    if (tip.height + 1 != height || (nd->flooded_h == height && nd->flooded_r == round))
        return;
    nd->flooded_h = height;
    nd->flooded_r = round;
    uint32_t n = (uint32_t)s->p.n, mine = round;
    while (cons_proposer(n, height, mine) != (unsigned)nd->idx)
        mine++;
    for (unsigned k = 0; k < FLOOD_N + 2; k++) {
        struct ledger_exec_opts trust = {false, NULL, NULL};
        struct ledger_exec *ex;
        uint64_t t = tip.time_ms + 1 + rng_below(&s->rng, 1000000);
        if (ledger_block_build(nd->l, NULL, 0, t, nd->pk, &trust, NULL, NULL, &ex) != IDL_OK)
            return;
        struct idl_bytes block, msg;
        IDL_ASSERT(ledger_block_encode(ledger_exec_block(ex), &block) == IDL_OK);
        uint32_t r = k < FLOOD_N ? mine : mine + n * (k - FLOOD_N + 1);
        byz_sign_proposal(s, nd, height, r, &block, ledger_exec_block(ex)->hash, &msg);
        ledger_exec_free(ex);
        for (int d = 0; d < s->n_nodes; d++)
            if (d != nd->idx && !s->nodes[d].byz)
                net_send(s, nd->idx, d, msg.data, msg.len);
        s->tampered++;
        free(block.data);
        free(msg.data);
    }
}

static void
byz_route(struct sim *s, struct node *nd, int to, const uint8_t *msg, size_t len)
{
    const struct params *p = &s->p;
    byz_remember(nd, msg, len);
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK) {
        route(s, nd->idx, to, msg, len);
        return;
    }
    if (m.kind == MSG_DECIDED && p->mute_sync) {
        cons_msg_free(&m);
        return; /* sync answers and announcements withheld */
    }
    struct idl_bytes lie = {0}, alt = {0}, fake = {0};
    const struct alt *ap = NULL;
    uint64_t h = 0;
    uint32_t r = 0;
    if ((m.kind == MSG_PROPOSAL || m.kind == MSG_VOTE) && rng_chance(&s->rng, p->p_flood))
        byz_flood(s, nd, m.kind == MSG_VOTE ? m.body.vote.height : m.body.proposal.height,
                  m.kind == MSG_VOTE ? m.body.vote.round : m.body.proposal.round);
    if (m.kind == MSG_STATUS && p->lie_status) {
        struct cons_msg l = m;
        l.body.status.height += 50;
        encode_or_die(&l, &lie);
        msg = lie.data;
        len = lie.len;
    } else if (m.kind == MSG_PROPOSAL && m.body.proposal.valid_round == MSG_NO_ROUND &&
               rng_chance(&s->rng, p->p_equiv_prop)) {
        ap = byz_alt_proposal(s, nd, &m.body.proposal);
        if (ap) {
            h = ap->height;
            r = ap->round;
            alt = ap->msg; /* owned by nd->alts */
            if (rng_chance(&s->rng, p->p_fake_decided))
                byz_fake_decided(s, ap, &fake);
        }
    } else if (m.kind == MSG_VOTE && rng_chance(&s->rng, p->p_equiv_vote)) {
        h = m.body.vote.height;
        r = m.body.vote.round;
        byz_alt_vote(s, nd, &m.body.vote, &alt);
    }
    for (int d = 0; d < s->n_nodes; d++) {
        if (d == nd->idx || (to >= 0 && d != to))
            continue;
        struct node *peer = &s->nodes[d];
        bool other = alt.data && !peer->byz && group_b(s, h, r, d);
        if (!peer->byz && (m.kind == MSG_VOTE || m.kind == MSG_PROPOSAL)) {
            struct idl_bytes bad;
            if (rng_chance(&s->rng, p->p_badsig) && byz_bad_copy(s, nd, &m, false, &bad)) {
                net_send(s, nd->idx, d, bad.data, bad.len);
                free(bad.data);
                s->tampered++;
            }
            if (m.kind == MSG_VOTE && rng_chance(&s->rng, p->p_impersonate) &&
                byz_bad_copy(s, nd, &m, true, &bad)) {
                net_send(s, nd->idx, d, bad.data, bad.len);
                free(bad.data);
                s->tampered++;
            }
        }
        if (!peer->byz && rng_chance(&s->rng, p->p_garble) && len > 2) {
            uint8_t *g = malloc(len);
            IDL_ASSERT(g);
            memcpy(g, msg, len);
            g[2 + rng_below(&s->rng, len - 2)] ^= (uint8_t)(1 + rng_below(&s->rng, 255));
            net_send(s, nd->idx, d, g, len);
            free(g);
            s->tampered++;
        }
        if (other) {
            if (fake.data)
                net_send(s, nd->idx, d, fake.data, fake.len);
            net_send(s, nd->idx, d, alt.data, alt.len);
            s->tampered++;
        } else {
            net_send(s, nd->idx, d, msg, len);
        }
    }
    if (m.kind == MSG_VOTE)
        free(alt.data);
    free(fake.data);
    free(lie.data);
    cons_msg_free(&m);
}

/* ---- the host ---- */

static uint64_t
host_now(void *arg)
{
    struct node *nd = arg;
    return (uint64_t)((int64_t)(BASE_MS + nd->sim->now) + nd->skew);
}

static void
outbox_push(struct node *nd, int to, const uint8_t *msg, size_t len)
{
    if (nd->n_out == nd->cap_out) {
        nd->cap_out = nd->cap_out ? nd->cap_out * 2 : 16;
        nd->out = realloc(nd->out, nd->cap_out * sizeof(*nd->out));
        IDL_ASSERT(nd->out);
    }
    struct outmsg *o = &nd->out[nd->n_out++];
    o->to = to;
    o->msg.data = malloc(len ? len : 1);
    IDL_ASSERT(o->msg.data);
    memcpy(o->msg.data, msg, len);
    o->msg.len = len;
}

static void
host_broadcast(void *arg, const uint8_t *msg, size_t len)
{
    outbox_push(arg, -1, msg, len);
}

static void
host_send(void *arg, uint32_t peer, const uint8_t *msg, size_t len)
{
    outbox_push(arg, (int)(peer % NODES_MAX), msg, len);
}

/* The id under which node i knows its current link to j. */
static uint32_t
link_id(const struct sim *s, int i, int j)
{
    return (uint32_t)j + NODES_MAX * s->conn[i][j];
}

static void
host_schedule(void *arg, uint64_t height, uint32_t round, unsigned step, uint32_t ms)
{
    struct node *nd = arg;
    struct event e = {.at = nd->sim->now + ms, .kind = EV_TIMER, .node = (int16_t)nd->idx,
                      .inc = nd->inc, .height = height, .round = round, .step = (uint8_t)step};
    push_event(nd->sim, &e);
}

/* An injected log failure: a random prefix of the records is durable, the call fails. */
static bool
io_fault(struct node *nd)
{
    struct sim *s = nd->sim;
    if (s->quiet || !rng_chance(&s->rng, s->p.p_io))
        return false;
    nd->io_fault = true;
    s->io_faults++;
    return true;
}

static idl_err
host_wal_append(void *arg, const struct idl_bytes *recs, size_t n)
{
    struct node *nd = arg;
    size_t keep = n;
    bool failed = io_fault(nd);
    if (failed)
        keep = (size_t)rng_below(&nd->sim->rng, n + 1);
    for (size_t i = 0; i < keep; i++) {
        if (nd->n_wal == nd->cap_wal) {
            nd->cap_wal = nd->cap_wal ? nd->cap_wal * 2 : 32;
            nd->wal = realloc(nd->wal, nd->cap_wal * sizeof(*nd->wal));
            IDL_ASSERT(nd->wal);
        }
        struct idl_bytes *w = &nd->wal[nd->n_wal++];
        w->data = malloc(recs[i].len ? recs[i].len : 1);
        IDL_ASSERT(w->data);
        memcpy(w->data, recs[i].data, recs[i].len);
        w->len = recs[i].len;
    }
    if (failed)
        trace(nd->sim, "node %d: injected log failure (%zu of %zu records durable)", nd->idx, keep,
              n);
    return failed ? IDL_ERR_IO : IDL_OK;
}

static void
wal_clear(struct node *nd)
{
    for (size_t i = 0; i < nd->n_wal; i++)
        free(nd->wal[i].data);
    nd->n_wal = 0;
}

static idl_err
host_wal_reset(void *arg)
{
    struct node *nd = arg;
    if (io_fault(nd)) {
        trace(nd->sim, "node %d: injected log reset failure", nd->idx);
        return IDL_ERR_IO;
    }
    wal_clear(nd);
    return IDL_OK;
}

static idl_err
host_sign(void *arg, const uint8_t msg[HASH_BYTES], uint8_t sig[SIG_BYTES])
{
    struct node *nd = arg;
    return sig_sign_aux(sig, msg, nd->sk, NULL);
}

/* Like mempool_select: the transactions of actors with a ready one, in pool order. */
static size_t
host_pool_take(void *arg, size_t max, struct idl_bytes **out)
{
    struct node *nd = arg;
    bool ready[ACTORS] = {false};
    for (size_t i = 0; i < nd->n_pool; i++)
        ready[nd->pool[i].actor] |= nd->pool[i].nonce == nd->nonce[nd->pool[i].actor] + 1;
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nd->n_pool && n < max; i++) {
        if (!ready[nd->pool[i].actor])
            continue;
        if (!*out) {
            *out = calloc(max, sizeof(**out));
            IDL_ASSERT(*out);
        }
        (*out)[n].data = malloc(nd->pool[i].raw.len);
        IDL_ASSERT((*out)[n].data);
        memcpy((*out)[n].data, nd->pool[i].raw.data, nd->pool[i].raw.len);
        (*out)[n++].len = nd->pool[i].raw.len;
    }
    return n;
}

static bool
host_preverified(void *arg, const uint8_t txid[HASH_BYTES])
{
    return pool_has(arg, txid);
}

static void
host_pool_drop(void *arg, const uint8_t txid[HASH_BYTES], idl_err code, const char *why)
{
    struct node *nd = arg;
    (void)why;
    if (code == IDL_ERR_NONCE)
        return;
    for (size_t i = 0; i < nd->n_pool; i++)
        if (!memcmp(nd->pool[i].txid, txid, HASH_BYTES)) {
            free(nd->pool[i].raw.data);
            memmove(&nd->pool[i], &nd->pool[i + 1], (nd->n_pool - i - 1) * sizeof(*nd->pool));
            nd->n_pool--;
            return;
        }
}

static void
host_committed(void *arg, const struct ledger_tx_result *res, uint32_t n, uint64_t height,
               uint64_t ms)
{
    struct node *nd = arg;
    struct sim *s = nd->sim;
    (void)ms;
    struct ledger_tip tip;
    ledger_tip(nd->l, &tip);
    if (tip.height != height)
        fail(s, "engine", "node %d: committed height %" PRIu64 " but the tip is %" PRIu64,
             nd->idx, height, tip.height);
    node_hash_grow(nd, height);
    memcpy(nd->bh[height], tip.block_hash, HASH_BYTES);
    memcpy(nd->sh[height], tip.state_hash, HASH_BYTES);
    nd->commits++;
    for (uint32_t i = 0; i < n; i++) {
        int a = actor_index(res[i].actor);
        if (a >= 0 && res[i].nonce > nd->nonce[a])
            nd->nonce[a] = res[i].nonce;
        if (a >= 0 && !nd->byz && res[i].nonce > s->cnonce[a])
            s->cnonce[a] = res[i].nonce;
    }
    pool_prune(nd);
    digest_mix(s, height);
    digest_bytes(s, tip.block_hash, HASH_BYTES);
    if (s->opt.verbose) {
        char a[17], b[17];
        hex8(a, tip.block_hash);
        hex8(b, tip.state_hash);
        trace(s, "node %d: committed height %" PRIu64 " block %s.. state %s.. (%u txs)", nd->idx,
              height, a, b, n);
    }
    if (!nd->byz)
        check_height(s, nd, height, tip.block_hash, tip.state_hash);
}

static void
host_txs_in(void *arg, uint32_t peer, const uint8_t *raw, size_t len)
{
    struct node *nd = arg;
    (void)peer;
    if (nd->validator)
        (void)pool_admit(nd, raw, len);
}

static const char *const engine_ev_names[] = {"committed", "refused", "round", "sync", "halt"};

static void
host_event(void *arg, enum engine_event ev, uint64_t height, uint32_t round, const char *detail)
{
    struct node *nd = arg;
    struct sim *s = nd->sim;
    if (ev == ENGINE_EV_REFUSED)
        s->refused++;
    trace(s, "node %d: %s h=%" PRIu64 " r=%u: %s", nd->idx, engine_ev_names[ev], height, round,
          detail);
    if (ev == ENGINE_EV_HALT && !nd->byz && !nd->io_fault)
        fail(s, "halt", "honest node %d halted at height %" PRIu64 ": %s", nd->idx, height,
             detail);
}

/* ---- nodes ---- */

static void after_call(struct sim *s, struct node *nd);

static void
flush_out(struct sim *s, struct node *nd)
{
    for (size_t i = 0; i < nd->n_out; i++) {
        struct outmsg *o = &nd->out[i];
        digest_bytes(s, o->msg.data, o->msg.len);
        if (!nd->byz && nd->validator)
            check_own(s, nd, o->msg.data, o->msg.len);
        note_proposal(s, o->msg.data, o->msg.len);
        if (nd->byz)
            byz_route(s, nd, o->to, o->msg.data, o->msg.len);
        else
            route(s, nd->idx, o->to, o->msg.data, o->msg.len);
        free(o->msg.data);
    }
    nd->n_out = 0;
}

static void
node_peer_event(struct sim *s, int i, int j, bool up)
{
    struct node *a = &s->nodes[i];
    if (!a->up)
        return;
    if (up)
        s->conn[i][j]++;
    engine_on_peer(a->e, link_id(s, i, j), s->nodes[j].pk, up, s->nodes[j].validator);
    after_call(s, a);
}

static void
node_crash(struct sim *s, struct node *nd, const char *why)
{
    if (!nd->up)
        return;
    trace(s, "node %d: crash (%s)", nd->idx, why);
    s->crashes++;
    engine_free(nd->e);
    ledger_close(nd->l);
    nd->e = NULL;
    nd->l = NULL;
    nd->up = false;
    nd->io_fault = false;
    nd->halt_kept = false;
    nd->inc++;
    pool_clear(nd);
    for (size_t i = 0; i < nd->n_out; i++)
        free(nd->out[i].msg.data);
    nd->n_out = 0;
    for (int j = 0; j < s->n_nodes; j++)
        if (j != nd->idx)
            node_peer_event(s, j, nd->idx, false);
}

static void
node_start(struct sim *s, struct node *nd)
{
    if (nd->up)
        return;
    char why[LEDGER_WHY_MAX] = "";
    if (ledger_open(&nd->l, nd->store, &s->g, why, sizeof(why)) != IDL_OK) {
        fail(s, "restart", "node %d: ledger_open: %s", nd->idx, why);
        return;
    }
    struct ledger_tip tip;
    ledger_tip(nd->l, &tip);
    if (tip.height == 0) {
        node_hash_grow(nd, 0);
        memcpy(nd->sh[0], tip.state_hash, HASH_BYTES);
    }
    nd->tip = tip.height;
    if (nd->checked > tip.height) {
        /* A power cut took blocks back: check them again when they come back. */
        nd->checked = tip.height;
        for (int a = 0; a < ACTORS; a++) {
            struct ledger_tx tx;
            uint64_t next;
            char why2[LEDGER_WHY_MAX];
            if (!s->cat[a].n)
                continue;
            idl_err rc = ledger_tx_admit(nd->l, s->cat[a].raw[0].data, s->cat[a].raw[0].len, &tx,
                                         &next, why2, sizeof(why2));
            if (!rc)
                ledger_tx_free(&tx);
            if (next)
                nd->nonce[a] = next - 1;
        }
    }
    struct cons_host host = {
        .arg = nd,
        .now_ms = host_now,
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
        .txs_in = host_txs_in,
        .event = host_event,
    };
    struct cons_engine_config cfg = {
        .self = nd->validator ? nd->idx : -1,
        .timeouts = s->p.to,
        .block_max_txs = BLOCK_MAX_TXS,
        .max_clock_drift_ms = MAX_DRIFT_MS,
    };
    if (engine_new(&nd->e, nd->l, &cfg, &host) != IDL_OK) {
        ledger_close(nd->l);
        nd->l = NULL;
        fail(s, "restart", "node %d: engine_new failed", nd->idx);
        return;
    }
    nd->up = true;
    nd->inc++;
    for (size_t i = 0; i < nd->n_wal; i++)
        engine_restore(nd->e, nd->wal[i].data, nd->wal[i].len);
    trace(s, "node %d: start at tip %" PRIu64 " with %zu log records", nd->idx, tip.height,
          nd->n_wal);
    engine_start(nd->e);
    after_call(s, nd);
    for (int j = 0; j < s->n_nodes && nd->up; j++) {
        if (j == nd->idx || !s->nodes[j].up)
            continue;
        /* A node's link to j is up unless what j sends it is cut off (partition_heal). */
        if (!s->blocked[j][nd->idx] || !s->p.link_down)
            node_peer_event(s, nd->idx, j, true);
        if (!s->blocked[nd->idx][j] || !s->p.link_down)
            node_peer_event(s, j, nd->idx, true);
    }
    struct event t = {.at = s->now + 1 + rng_below(&s->rng, TICK_MS), .kind = EV_TICK,
                      .node = (int16_t)nd->idx, .inc = nd->inc};
    push_event(s, &t);
}

/*
 * Whether an honest validator halted by a log failure stays up, halted, rather than crash
 * and restart: only while the Byzantine and the halted together are at most f, so the
 * others can still decide (and it must keep up with them by block sync).
 */
static bool
keep_halted(struct sim *s, const struct node *nd)
{
    int f = (s->p.n - 1) / 3, faulty = s->p.n_byz;
    for (int i = 0; i < s->n_nodes; i++)
        faulty += s->nodes[i].halt_kept;
    if (nd->byz || faulty + 1 > f || !rng_chance(&s->rng, s->p.p_keep_halted))
        return false;
    struct engine_status st;
    engine_status(nd->e, &st);
    return st.halted;
}

/* Carries out what an engine call left behind: messages, an injected crash, the checks. */
static void
after_call(struct sim *s, struct node *nd)
{
    if (!nd->up)
        return;
    if (pool_ready(nd) && nd->validator && !nd->io_fault)
        engine_on_work(nd->e);
    flush_out(s, nd);
    if (nd->io_fault && !nd->halt_kept && keep_halted(s, nd)) {
        nd->halt_kept = true;
        trace(s, "node %d: stays up, halted: it must follow committed blocks by sync", nd->idx);
    }
    if (nd->halt_kept) {
        struct engine_status st;
        engine_status(nd->e, &st);
        if (!st.halted)
            fail(s, "halt", "node %d: its engine halted but does not say so", nd->idx);
    } else if (nd->io_fault) {
        node_crash(s, nd, "log failure");
        struct event e = {.at = s->now + rng_range(&s->rng, 50, 2000), .kind = EV_RESTART,
                          .node = (int16_t)nd->idx, .inc = nd->inc};
        push_event(s, &e);
        return;
    }
    check_node(s, nd);
}

/* A client hands transactions to a node, which gossips them. */
static void
submit_to(struct sim *s, struct node *nd, const struct idl_bytes *txs, size_t n)
{
    struct idl_bytes fresh[16];
    size_t k = 0;
    for (size_t i = 0; i < n && k < 16; i++)
        if (pool_admit(nd, txs[i].data, txs[i].len))
            fresh[k++] = txs[i];
    if (!k)
        return;
    struct idl_bytes msg;
    if (engine_txs_message(fresh, k, &msg) == IDL_OK) {
        outbox_push(nd, -1, msg.data, msg.len);
        free(msg.data);
    }
    after_call(s, nd);
}

static struct node *
random_honest_validator(struct sim *s)
{
    int cand[NODES_MAX], n = 0;
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].up && s->nodes[i].validator && !s->nodes[i].byz)
            cand[n++] = i;
    return n ? &s->nodes[cand[rng_below(&s->rng, (uint64_t)n)]] : NULL;
}

static void
do_submit(struct sim *s)
{
    if (s->settling)
        return;
    int a = (int)rng_below(&s->rng, ACTORS);
    struct txcat *c = &s->cat[a];
    if (c->n < TXS_MAX) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->raw = realloc(c->raw, c->cap * sizeof(*c->raw));
            c->sent_at = realloc(c->sent_at, c->cap * sizeof(*c->sent_at));
            IDL_ASSERT(c->raw && c->sent_at);
        }
        tx_make(s, a, c->n + 1, &c->raw[c->n]);
        c->sent_at[c->n] = s->now;
        c->n++;
        struct node *nd = random_honest_validator(s);
        if (nd)
            submit_to(s, nd, &c->raw[c->n - 1], 1);
    }
    struct event e = {.at = s->now + rng_range(&s->rng, s->p.tx_ms / 2, s->p.tx_ms * 3 / 2),
                      .kind = EV_SUBMIT};
    push_event(s, &e);
}

static void
do_resubmit(struct sim *s)
{    if (s->settling)
        return;

    for (int a = 0; a < ACTORS; a++) {
        struct txcat *c = &s->cat[a];
        struct idl_bytes txs[8];
        size_t k = 0;
        for (uint64_t nonce = s->cnonce[a] + 1; nonce <= c->n && k < 8; nonce++) {
            if (s->now - c->sent_at[nonce - 1] < RESUBMIT_AGE_MS)
                break;
            c->sent_at[nonce - 1] = s->now;
            txs[k++] = c->raw[nonce - 1];
        }
        struct node *nd = k ? random_honest_validator(s) : NULL;
        if (nd)
            submit_to(s, nd, txs, k);
    }
    struct event e = {.at = s->now + RESUBMIT_MS, .kind = EV_RESUBMIT};
    push_event(s, &e);
}

/* ---- faults ---- */

static void
partition_heal(struct sim *s)
{
    bool was[NODES_MAX][NODES_MAX];
    memcpy(was, s->blocked, sizeof(was));
    memset(s->blocked, 0, sizeof(s->blocked));
    if (!s->p.link_down)
        return;
    for (int i = 0; i < s->n_nodes; i++)
        for (int j = 0; j < s->n_nodes; j++)
            if (was[i][j] && s->nodes[i].up)
                node_peer_event(s, j, i, true);
}

static void
do_partition(struct sim *s)
{
    partition_heal(s);
    int n = s->n_nodes;
    uint32_t side = 0;
    while (side == 0 || side == (1u << n) - 1)
        side = (uint32_t)rng_below(&s->rng, 1u << n);
    bool one_way = rng_chance(&s->rng, 0.2);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (((side >> i) & 1) != ((side >> j) & 1) && (!one_way || ((side >> i) & 1)))
                s->blocked[i][j] = true;
    s->part_id++;
    trace(s, "partition %u: side mask %#x%s", s->part_id, side, one_way ? " (one way)" : "");
    if (s->p.link_down)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (s->blocked[i][j])
                    node_peer_event(s, j, i, false);
    struct event e = {.at = s->now + rng_range(&s->rng, 200, 4000), .kind = EV_HEAL,
                      .round = s->part_id};
    push_event(s, &e);
}

static void
do_crash(struct sim *s)
{
    int cand[NODES_MAX], n = 0;
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].up && !s->nodes[i].byz)
            cand[n++] = i;
    if (!n)
        return;
    struct node *nd = &s->nodes[cand[rng_below(&s->rng, (uint64_t)n)]];
    bool power = rng_chance(&s->rng, s->p.p_power);
    node_crash(s, nd, power ? "power cut: unsynced writes lost" : "injected");
    if (power)
        cut_power(nd->store);
    struct event e = {.at = s->now + rng_range(&s->rng, 100, 3000), .kind = EV_RESTART,
                      .node = (int16_t)nd->idx, .inc = nd->inc};
    push_event(s, &e);
}

/*
 * Link churn: a random live link drops and comes back at once, so each end sees its peer
 * leave and return under a new id. Hundreds of these in a run take a node past any fixed
 * table of peers that never frees its entries.
 */
static void
do_churn(struct sim *s)
{
    int i = (int)rng_below(&s->rng, (uint64_t)s->n_nodes);
    int j = (int)rng_below(&s->rng, (uint64_t)s->n_nodes - 1);
    if (j >= i)
        j++;
    bool down = s->p.link_down && (s->blocked[i][j] || s->blocked[j][i]);
    if (s->nodes[i].up && s->nodes[j].up && !down) {
        node_peer_event(s, i, j, false);
        node_peer_event(s, j, i, false);
        node_peer_event(s, i, j, true);
        node_peer_event(s, j, i, true);
    }
    struct event e = {.at = s->now + rng_range(&s->rng, 1, 2 * (uint64_t)s->p.churn_ms),
                      .kind = EV_CHURN};
    push_event(s, &e);
}

static void
do_amnesia(struct sim *s, struct node *nd)
{
    node_crash(s, nd, "amnesia: its log is lost");
    wal_clear(nd);
    struct event e = {.at = s->now + rng_range(&s->rng, 10, 500), .kind = EV_RESTART,
                      .node = (int16_t)nd->idx, .inc = nd->inc};
    push_event(s, &e);
}

static void
do_replay(struct sim *s)
{
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->byz || !nd->up || !nd->n_seen || s->n_nodes < 2)
            continue;
        const struct idl_bytes *m = &nd->seen[rng_below(&s->rng, nd->n_seen)];
        int to = (int)rng_below(&s->rng, (uint64_t)s->n_nodes - 1);
        if (to >= i)
            to++;
        net_send(s, i, to, m->data, m->len);
        s->tampered++;
    }
    struct event e = {.at = s->now + s->p.replay_ms, .kind = EV_REPLAY};
    push_event(s, &e);
}

static bool
honest(const struct node *nd)
{
    return !nd->byz;
}

static void
do_quiet(struct sim *s)
{
    s->quiet = true;
    partition_heal(s);
    for (int i = 0; i < s->n_nodes; i++)
        node_start(s, &s->nodes[i]);
    uint64_t top = 0;
    for (int i = 0; i < s->n_nodes; i++)
        if (honest(&s->nodes[i]) && s->nodes[i].tip > top)
            top = s->nodes[i].tip;
    s->live_from = s->now;
    s->live_target = top + LIVE_K;
    trace(s, "quiet: faults stop; every honest node must reach height %" PRIu64 " by t=%" PRIu64,
          s->live_target, s->now + LIVE_BOUND_MS);
    struct event e = {.at = s->now + LIVE_BOUND_MS, .kind = EV_DEADLINE};
    push_event(s, &e);
}

/*
 * Liveness: every honest node reaches the target. Then the clients stop and the network
 * idles for SETTLE_MS, after which no honest node may say it is catching up: a peer that
 * lies about its tip (lie_status) must not keep it so for ever.
 */
static void
check_live(struct sim *s)
{
    if (!s->quiet || s->settling || s->done || s->failed)
        return;
    for (int i = 0; i < s->n_nodes; i++) {
        const struct node *nd = &s->nodes[i];
        if (honest(nd) && (!nd->up || nd->tip < s->live_target))
            return;
    }
    s->settling = true;
    for (int i = 0; i < s->n_nodes; i++)
        s->nodes[i].calm_at = s->now;
    trace(s, "live: clients stop; in %u ms no honest node may be catching up", SETTLE_MS);
    struct event e = {.at = s->now + SETTLE_MS, .kind = EV_SETTLED};
    push_event(s, &e);
}

static void
check_settled(struct sim *s)
{
    for (int i = 0; i < s->n_nodes && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        struct engine_status st;
        if (!honest(nd) || !nd->up)
            continue;
        engine_status(nd->e, &st);
        if (!st.catching_up)
            nd->calm_at = s->now;
        if (s->now - nd->calm_at > CALM_MS)
            fail(s, "catching-up",
                 "node %d has been catching up for %" PRIu64 " ms of idle time: tip %" PRIu64
                 ", best trusted peer claim %" PRIu64,
                 i, s->now - nd->calm_at, nd->tip, st.best_peer_height);
    }
    s->done = true;
}

/* ---- parameters ---- */

static void
choose_params(struct sim *s, uint64_t seed, const struct options *o)
{
    struct params *p = &s->p;
    struct rng *r = &s->rng;
    memset(p, 0, sizeof(*p));
    p->seed = seed;
    if (o->n)
        p->n = o->n;
    else {
        uint64_t x = rng_below(r, 100);
        p->n = x < 8 ? 1 : x < 11 ? 2 : x < 15 ? 3 : x < 70 ? 4 : x < 78 ? 5 : x < 82 ? 6 : 7;
    }
    int f = (p->n - 1) / 3;
    if (o->byz >= 0)
        p->n_byz = o->byz;
    else
        p->n_byz = f > 0 && rng_chance(r, 0.6) ? (int)rng_range(r, 1, (uint64_t)f) : 0;
    p->n_replicas = p->n > 1 && rng_chance(r, 0.25) ? 1 : 0;
    p->p_drop = rng_chance(r, 0.7) ? rng_unit(r) * 0.25 : 0;
    p->p_dup = rng_chance(r, 0.5) ? rng_unit(r) * 0.2 : 0;
    p->lat_min = (uint32_t)rng_range(r, 1, 20);
    p->lat_jit = (uint32_t)rng_range(r, 0, 80);
    p->p_long = rng_chance(r, 0.5) ? rng_unit(r) * 0.05 : 0;
    p->long_max = 3000;
    p->partitions = p->n > 1 ? (int)rng_range(r, 0, 3) : 0;
    p->link_down = rng_chance(r, 0.5);
    p->crashes = (int)rng_range(r, 0, 4);
    p->p_io = rng_chance(r, 0.3) ? 0.002 + rng_unit(r) * 0.02 : 0;
    p->fault_ms = (uint32_t)rng_range(r, 2000, 8000);
    p->tx_ms = (uint32_t)rng_range(r, 60, 400);
    p->skew_ms = rng_chance(r, 0.5) ? (uint32_t)rng_range(r, 0, 2000) : 0;
    p->to.propose_ms = (uint32_t)rng_range(r, 300, 1500);
    p->to.prevote_ms = (uint32_t)rng_range(r, 150, 800);
    p->to.precommit_ms = p->to.prevote_ms;
    p->to.delta_ms = (uint32_t)rng_range(r, 100, 600);
    if (p->n_byz) {
        p->p_equiv_vote = o->equivocate ? 1.0 : rng_unit(r);
        p->p_equiv_prop = o->equivocate ? 1.0 : rng_unit(r);
        p->p_badsig = rng_chance(r, 0.5) ? rng_unit(r) * 0.3 : 0;
        p->p_garble = rng_chance(r, 0.3) ? rng_unit(r) * 0.1 : 0;
        p->p_impersonate = rng_chance(r, 0.3) ? rng_unit(r) * 0.2 : 0;
        p->p_fake_decided = rng_chance(r, 0.5) ? rng_unit(r) : 0;
        p->replay_ms = rng_chance(r, 0.5) ? (uint32_t)rng_range(r, 50, 500) : 0;
        p->lie_status = rng_chance(r, 0.3);
        p->mute_sync = rng_chance(r, 0.3);
        p->amnesia = rng_chance(r, 0.4) ? (int)rng_range(r, 1, 2) : 0;
        /* Drawn last, so that adding it left every other parameter of a seed as it was. */
        p->p_flood = o->flood ? 1.0 : rng_chance(r, 0.3) ? rng_unit(r) : 0;
    }
    if (p->p_io > 0)
        p->p_keep_halted = rng_chance(r, 0.5) ? rng_unit(r) : 0;
    p->p_power = rng_chance(r, 0.5) ? rng_unit(r) : 0;
    if (p->n + p->n_replicas > 1)
        p->churn_ms = o->churn ? 5 : rng_chance(r, 0.2) ? (uint32_t)rng_range(r, 3, 15) : 0;
    snprintf(s->line, sizeof(s->line),
             "sim: seed=%" PRIu64 " n=%d byz=%d replicas=%d drop=%.3f dup=%.3f lat=%u+%u "
             "long=%.3f partitions=%d%s crashes=%d io=%.4f fault_ms=%u tx_ms=%u skew=%u "
             "timeouts=%u/%u/%u+%u equiv=%.2f/%.2f badsig=%.2f garble=%.2f imperson=%.2f "
             "fake_decided=%.2f replay_ms=%u lie=%d mute_sync=%d amnesia=%d flood=%.2f "
             "churn_ms=%u keep_halted=%.2f power=%.2f%s",
             seed, p->n, p->n_byz, p->n_replicas, p->p_drop, p->p_dup, p->lat_min, p->lat_jit,
             p->p_long, p->partitions, p->link_down ? "(links down)" : "", p->crashes, p->p_io,
             p->fault_ms, p->tx_ms, p->skew_ms, p->to.propose_ms, p->to.prevote_ms,
             p->to.precommit_ms, p->to.delta_ms, p->p_equiv_vote, p->p_equiv_prop, p->p_badsig,
             p->p_garble, p->p_impersonate, p->p_fake_decided, p->replay_ms, p->lie_status,
             p->mute_sync, p->amnesia, p->p_flood, p->churn_ms, p->p_keep_halted, p->p_power,
             o->no_cert_check ? " no-cert-check" : "");
}

/* ---- one run ---- */

struct result {
    bool failed;
    char rule[64];
    uint64_t digest, events, heights, sim_ms;
};

static void
sim_free(struct sim *s)
{
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        engine_free(nd->e);
        ledger_close(nd->l);
        store_close(nd->store);
        wal_clear(nd);
        free(nd->wal);
        pool_clear(nd);
        free(nd->pool);
        for (size_t k = 0; k < nd->n_out; k++)
            free(nd->out[k].msg.data);
        free(nd->out);
        free(nd->bh);
        free(nd->sh);
        for (size_t k = 0; k < REPLAY_MAX; k++)
            free(nd->seen[k].data);
        for (size_t k = 0; k < ALTS_MAX; k++) {
            free(nd->alts[k].msg.data);
            free(nd->alts[k].block.data);
        }
    }
    for (size_t i = 0; i < s->q.n; i++)
        free(s->q.v[i].data);
    free(s->q.v);
    for (int a = 0; a < ACTORS; a++) {
        for (size_t i = 0; i < s->cat[a].n; i++)
            free(s->cat[a].raw[i].data);
        free(s->cat[a].raw);
        free(s->cat[a].sent_at);
    }
    free(s->hs);
    map_free(&s->votes);
    map_free(&s->props);
    map_free(&s->certs);
    memset(s->admin_sk, 0, sizeof(s->admin_sk));
}

static void
dispatch(struct sim *s, struct event *e)
{
    struct node *nd = e->node >= 0 && e->node < s->n_nodes ? &s->nodes[e->node] : NULL;
    switch (e->kind) {
    case EV_DELIVER:
        if (!nd->up)
            break;
        s->delivered++;
        if (nd->byz)
            byz_remember(nd, e->data, e->len);
        engine_on_message(nd->e, link_id(s, e->node, e->from), e->data, e->len);
        after_call(s, nd);
        break;
    case EV_TIMER:
        if (!nd->up || nd->inc != e->inc)
            break;
        engine_on_timeout(nd->e, e->height, e->round, e->step);
        after_call(s, nd);
        break;
    case EV_TICK: {
        if (!nd->up || nd->inc != e->inc)
            break;
        engine_tick(nd->e);
        after_call(s, nd);
        if (s->settling && nd->up) {
            struct engine_status st;
            engine_status(nd->e, &st);
            if (!st.catching_up)
                nd->calm_at = s->now;
        }
        struct event t = {.at = s->now + TICK_MS, .kind = EV_TICK, .node = e->node, .inc = nd->inc};
        if (nd->up)
            push_event(s, &t);
        break;
    }
    case EV_SUBMIT:
        do_submit(s);
        break;
    case EV_RESUBMIT:
        do_resubmit(s);
        break;
    case EV_CRASH:
        if (!s->quiet)
            do_crash(s);
        break;
    case EV_RESTART:
        if (!nd->up && nd->inc == e->inc) {
            s->restarts++;
            node_start(s, nd);
        }
        break;
    case EV_AMNESIA:
        if (!s->quiet && nd->up)
            do_amnesia(s, nd);
        break;
    case EV_PARTITION:
        if (!s->quiet)
            do_partition(s);
        break;
    case EV_HEAL:
        if (e->round == s->part_id) {
            trace(s, "partition %u heals", s->part_id);
            partition_heal(s);
        }
        break;
    case EV_REPLAY:
        do_replay(s);
        break;
    case EV_QUIET:
        do_quiet(s);
        break;
    case EV_CHURN:
        if (!s->quiet)
            do_churn(s);
        break;
    case EV_SETTLED:
        check_settled(s);
        break;
    case EV_DEADLINE:
        if (!s->done && !s->settling) {
            char who[256] = "";
            size_t off = 0;
            for (int i = 0; i < s->n_nodes; i++)
                if (honest(&s->nodes[i]) && off < sizeof(who))
                    off += (size_t)snprintf(who + off, sizeof(who) - off, " node%d=%" PRIu64, i,
                                            s->nodes[i].tip);
            fail(s, "liveness",
                 "no honest progress to height %" PRIu64 " within %u ms of quiet (tips:%s)",
                 s->live_target, LIVE_BOUND_MS, who);
        }
        break;
    default:
        break;
    }
}

/* For the trace: the hash a vote names, the block a proposal carries. */
static void
verbose_detail(struct sim *s, const uint8_t *data, size_t len, char *out, size_t out_len)
{
    struct cons_msg m;
    if (cons_msg_decode(&m, data, len) != IDL_OK) {
        snprintf(out, out_len, " (does not decode)");
        return;
    }
    char a[17];
    if (m.kind == MSG_VOTE) {
        hex8(a, m.body.vote.hash);
        snprintf(out, out_len, " %s.. by %u", hash_is_zero(m.body.vote.hash) ? "nil" : a,
                 m.body.vote.validator);
    } else if (m.kind == MSG_PROPOSAL) {
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.proposal.block.data, m.body.proposal.block.len,
                                s->g.chain_id) == IDL_OK) {
            hex8(a, b.hash);
            snprintf(out, out_len, " block %s.. vr=%d txs=%u", a,
                     m.body.proposal.valid_round == MSG_NO_ROUND
                         ? -1
                         : (int)m.body.proposal.valid_round,
                     b.header.tx_count);
            ledger_block_free(&b);
        }
    } else if (m.kind == MSG_DECIDED) {
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.decided.block.data, m.body.decided.block.len,
                                s->g.chain_id) == IDL_OK) {
            hex8(a, b.hash);
            snprintf(out, out_len, " block %s.. at %" PRIu64, a, b.header.height);
            ledger_block_free(&b);
        }
    } else if (m.kind == MSG_SYNC_REQ) {
        snprintf(out, out_len, " from %" PRIu64, m.body.sync_req.from);
    }
    cons_msg_free(&m);
}

static void
run(uint64_t seed, const struct options *o, struct result *res)
{
    struct sim *s = calloc(1, sizeof(*s));
    IDL_ASSERT(s);
    s->opt = *o;
    rng_seed(&s->rng, seed);
    choose_params(s, seed, o);
    snprintf(current_line, sizeof(current_line), "%s\n", s->line);
    struct params *p = &s->p;
    s->n_nodes = p->n + p->n_replicas;
    s->digest = 0xcbf29ce484222325ull;
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        nd->sim = s;
        nd->idx = i;
        nd->validator = i < p->n;
        nd->byz = i < p->n && i >= p->n - p->n_byz; /* the last n_byz validators */
        derive_key(seed, "validator", i, nd->sk, nd->pk);
        nd->skew = p->skew_ms ? (int64_t)rng_below(&s->rng, 2 * (uint64_t)p->skew_ms + 1) -
                                    (int64_t)p->skew_ms
                              : 0;
        nd->store = cut_open();
    }
    make_genesis(s);
    if (o->verbose)
        printf("%s\n", s->line);
    for (int i = 0; i < s->n_nodes; i++)
        node_start(s, &s->nodes[i]);
    /* The fault phase's schedule, then the quiet phase. */
    struct event e = {.at = 1, .kind = EV_SUBMIT};
    push_event(s, &e);
    e = (struct event){.at = RESUBMIT_MS, .kind = EV_RESUBMIT};
    push_event(s, &e);
    for (int i = 0; i < p->partitions; i++) {
        e = (struct event){.at = rng_below(&s->rng, p->fault_ms), .kind = EV_PARTITION};
        push_event(s, &e);
    }
    for (int i = 0; i < p->crashes; i++) {
        e = (struct event){.at = rng_below(&s->rng, p->fault_ms), .kind = EV_CRASH};
        push_event(s, &e);
    }
    for (int i = 0; i < p->amnesia; i++) {
        int b = p->n - 1 - (int)rng_below(&s->rng, (uint64_t)p->n_byz);
        e = (struct event){.at = rng_below(&s->rng, p->fault_ms), .kind = EV_AMNESIA,
                           .node = (int16_t)b};
        push_event(s, &e);
    }
    if (p->replay_ms) {
        e = (struct event){.at = p->replay_ms, .kind = EV_REPLAY};
        push_event(s, &e);
    }
    if (p->churn_ms) {
        e = (struct event){.at = p->churn_ms, .kind = EV_CHURN};
        push_event(s, &e);
    }
    e = (struct event){.at = p->fault_ms, .kind = EV_QUIET};
    push_event(s, &e);

    while (!s->done && !s->failed && s->q.n) {
        struct event ev = heap_pop(&s->q);
        s->now = ev.at;
        s->n_events++;
        digest_mix(s, ev.at);
        digest_mix(s, (uint64_t)ev.kind << 16 | (uint16_t)ev.node);
        trace_record(s, &ev);
        if (o->verbose && ev.kind != EV_DELIVER && ev.kind != EV_TIMER && ev.kind != EV_TICK)
            trace(s, "event %s%s", ev_names[ev.kind],
                  ev.kind == EV_RESTART || ev.kind == EV_AMNESIA ? " (node below)" : "");
        else if (o->verbose && ev.kind == EV_DELIVER) {
            uint8_t k, vt;
            uint64_t h;
            uint32_t r;
            msg_peek(ev.data, ev.len, &k, &vt, &h, &r);
            char what[64] = "";
            verbose_detail(s, ev.data, ev.len, what, sizeof(what));
            trace(s, "deliver %d->%d %s%s h=%" PRIu64 " r=%u%s (%zu bytes)", ev.from, ev.node,
                  msg_kind_name(k),
                  k == MSG_VOTE ? (vt == VOTE_PREVOTE ? " prevote" : " precommit") : "", h, r,
                  what, ev.len);
        } else if (o->verbose && ev.kind == EV_TIMER)
            trace(s, "timeout node %d h=%" PRIu64 " r=%u step=%u", ev.node, ev.height, ev.round,
                  ev.step);
        dispatch(s, &ev);
        free(ev.data);
        check_live(s);
        if (s->n_events > EVENTS_MAX)
            fail(s, "runaway", "more than %d events", EVENTS_MAX);
    }
    if (!s->done && !s->failed)
        fail(s, "liveness", "the event queue ran dry");
    /* The final state, into the digest: every node's tip. */
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->up)
            continue;
        struct ledger_tip tip;
        ledger_tip(nd->l, &tip);
        digest_mix(s, tip.height);
        digest_bytes(s, tip.state_hash, HASH_BYTES);
    }
    res->failed = s->failed;
    snprintf(res->rule, sizeof(res->rule), "%s", s->rule);
    res->digest = s->digest;
    res->events = s->n_events;
    res->heights = s->max_height;
    res->sim_ms = s->now;
    if (o->verbose)
        printf("sim: seed=%" PRIu64 " %s: %" PRIu64 " heights, %" PRIu64 " events, %" PRIu64
                   " ms simulated, %" PRIu64 " messages (%" PRIu64 " dropped, %" PRIu64
                   " tampered), %" PRIu64 " refused, %" PRIu64 " crashes, %" PRIu64
                   " log faults, digest %016" PRIx64 "\n",
                   seed, s->failed ? "FAILED" : "ok", s->max_height, s->n_events, s->now, s->msgs,
                   s->dropped, s->tampered, s->refused, s->crashes, s->io_faults, s->digest);
    sim_free(s);
    free(s);
}

/* ---- main ---- */

static void
on_crash_signal(int sig)
{
    static const char msg[] = "sim: crashed while running:\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    w = write(2, current_line, strlen(current_line));
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void
on_sanitizer_death(void)
{
    static const char msg[] = "sim: sanitizer report; the run in progress, or the last:\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    w = write(2, current_line, strlen(current_line));
    (void)w;
}

static double
wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: sim [--seed S | --seeds N [--from S|random]] [--n N] [--byz B]\n"
            "           [--equivocate] [--flood] [--churn] [--no-cert-check] [--twice]\n"
            "           [--keep-going] [--verbose]\n"
            "  --seed S         one run, replayable exactly\n"
            "  --seeds N        N runs from --from (default 1); every 25th is run twice to\n"
            "                   check determinism\n"
            "  --n N            validators (default: chosen by the seed among 1..7, mostly 4)\n"
            "  --byz B          Byzantine validators (default: chosen by the seed, at most f)\n"
            "  --equivocate     Byzantine validators always equivocate\n"
            "  --flood          Byzantine proposers always flood their rounds with proposals\n"
            "  --churn          links reconnect every few ms in the fault phase (new peer ids)\n"
            "  --no-cert-check  do not verify stored certificates (broken-quorum demo)\n"
            "  --twice          run each seed twice and compare the digests\n"
            "  --keep-going     with --seeds: count failures instead of stopping\n"
            "  --verbose        trace every event\n");
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end)
        return false;
    *out = v;
    return true;
}

int
main(int argc, char **argv)
{
    struct options o = {.n = 0, .byz = -1};
    uint64_t seed = 0, count = 0, from = 1;
    bool single = false, twice = false, keep_going = false;
    uint64_t failures = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (!strcmp(a, "--seed") && v && parse_u64(v, &seed)) {
            single = true;
            i++;
        } else if (!strcmp(a, "--seeds") && v && parse_u64(v, &count)) {
            i++;
        } else if (!strcmp(a, "--from") && v && !strcmp(v, "random")) {
            from = (uint64_t)time(NULL) * 1000 + (uint64_t)getpid() % 1000;
            i++;
        } else if (!strcmp(a, "--from") && v && parse_u64(v, &from)) {
            i++;
        } else if (!strcmp(a, "--n") && v && parse_u64(v, &x) && x >= 1 && x <= 10) {
            o.n = (int)x;
            i++;
        } else if (!strcmp(a, "--byz") && v && parse_u64(v, &x) && x <= 10) {
            o.byz = (int)x;
            i++;
        } else if (!strcmp(a, "--equivocate")) {
            o.equivocate = true;
        } else if (!strcmp(a, "--flood")) {
            o.flood = true;
        } else if (!strcmp(a, "--churn")) {
            o.churn = true;
        } else if (!strcmp(a, "--no-cert-check")) {
            o.no_cert_check = true;
        } else if (!strcmp(a, "--keep-going")) {
            keep_going = true;
        } else if (!strcmp(a, "--twice")) {
            twice = true;
        } else if (!strcmp(a, "--verbose")) {
            o.verbose = true;
        } else {
            usage();
            return 2;
        }
    }
    if (!single && !count) {
        usage();
        return 2;
    }
    if (o.n && o.byz > (o.n - 1) / 3 && o.byz > 0)
        fprintf(stderr, "sim: warning: %d Byzantine of %d validators is more than f = %d\n",
                o.byz, o.n, (o.n - 1) / 3);
    if (o.n && o.byz > o.n) {
        fprintf(stderr, "sim: more Byzantine validators than validators\n");
        return 2;
    }
    /* The options that shape a run, to repeat in replay commands. */
    char opts[96] = "";
    size_t ol = 0;
    if (o.n)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --n %d", o.n);
    if (o.byz >= 0)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --byz %d", o.byz);
    if (o.equivocate)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --equivocate");
    if (o.flood)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --flood");
    if (o.churn)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --churn");
    if (o.no_cert_check)
        ol += (size_t)snprintf(opts + ol, sizeof(opts) - ol, " --no-cert-check");
    if (sig_init() != IDL_OK) {
        fprintf(stderr, "sim: cannot initialise signatures\n");
        return 1;
    }
    signal(SIGABRT, on_crash_signal);
    signal(SIGSEGV, on_crash_signal);
    signal(SIGBUS, on_crash_signal);
    signal(SIGFPE, on_crash_signal);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_sanitizer_death);

    if (single) {
        struct result r1, r2;
        struct options quiet = o;
        if (!o.verbose) {
            /* The one-line announcement of the run. */
            struct sim *tmp = calloc(1, sizeof(*tmp));
            IDL_ASSERT(tmp);
            rng_seed(&tmp->rng, seed);
            choose_params(tmp, seed, &o);
            printf("%s\n", tmp->line);
            free(tmp);
        }
        double t0 = wall_ms();
        run(seed, &o, &r1);
        double t1 = wall_ms();
        if (r1.failed) {
            printf("sim: replay with: sim --seed %" PRIu64 "%s --verbose\n", seed, opts);
            return 1;
        }
        printf("sim: seed %" PRIu64 " ok: %" PRIu64 " heights, %" PRIu64 " events, %" PRIu64
               " ms simulated, %.1f ms, digest %016" PRIx64 "\n",
               seed, r1.heights, r1.events, r1.sim_ms, t1 - t0, r1.digest);
        if (twice) {
            quiet.verbose = false;
            run(seed, &quiet, &r2);
            if (r2.failed || r2.digest != r1.digest || r2.events != r1.events) {
                printf("sim: NOT DETERMINISTIC: seed %" PRIu64 " gave digest %016" PRIx64
                       " then %016" PRIx64 "\n",
                       seed, r1.digest, r2.digest);
                return 1;
            }
            printf("sim: seed %" PRIu64 " replayed: same digest and event count\n", seed);
        }
        return 0;
    }

    printf("sim: %" PRIu64 " seeds from %" PRIu64 "%s\n", count, from, opts);
    fflush(stdout);
    double t0 = wall_ms(), worst = 0;
    uint64_t heights = 0, events = 0, det_checks = 0, worst_seed = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t sd = from + i;
        struct result r;
        double a = wall_ms();
        run(sd, &o, &r);
        double b = wall_ms();
        if (b - a > worst) {
            worst = b - a;
            worst_seed = sd;
        }
        if (r.failed) {
            printf("sim: seed %" PRIu64 " FAILED (%s); replay with: sim --seed %" PRIu64
                   "%s --verbose\n",
                   sd, r.rule, sd, opts);
            fflush(stdout);
            failures++;
            if (!keep_going)
                return 1;
            continue;
        }
        heights += r.heights;
        events += r.events;
        if (twice || i % 25 == 0) {
            struct result r2;
            run(sd, &o, &r2);
            det_checks++;
            if (r2.failed || r2.digest != r.digest || r2.events != r.events) {
                printf("sim: NOT DETERMINISTIC: seed %" PRIu64 " gave digest %016" PRIx64
                       " then %016" PRIx64 "\n",
                       sd, r.digest, r2.digest);
                return 1;
            }
        }
    }
    double total = wall_ms() - t0;
    if (failures) {
        printf("sim: %" PRIu64 " of %" PRIu64 " seeds FAILED\n", failures, count);
        return 1;
    }
    printf("sim: %" PRIu64 " seeds ok (%" PRIu64 "..%" PRIu64 "): %" PRIu64 " heights, %" PRIu64
           " events; %" PRIu64 " replayed identically; %.0f ms, %.1f ms per run, slowest %.0f ms "
           "(seed %" PRIu64 ")\n",
           count, from, from + count - 1, heights, events, det_checks, total,
           total / (double)(count + det_checks), worst, worst_seed);
    return 0;
}
