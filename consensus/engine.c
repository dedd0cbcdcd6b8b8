/*
 * The consensus engine (see engine.h).
 *
 * Blocks under decision live in a cache keyed by block hash: the raw block, whether it is
 * valid, and its execution against the tip (a ledger_exec), so a block is executed once
 * when proposed and committed from that execution when decided. Only the first validly
 * signed proposal of each round is executed and cached (a second one is its proposer's
 * equivocation), and a block the core may still need is never evicted (cache_needed). If a
 * decided block is missing all the same, block sync fetches it. The cache, the buffered
 * messages of the next height and the core's state are reset at each height.
 *
 * Write-ahead log records: [1, encoded PROPOSAL or VOTE message] for each of our own
 * messages, [2, lock record] for each change of the locked or valid value, with the valid
 * block's bytes so that it can be proposed again after a restart, and after it [3, encoded
 * VOTE message] for each prevote that made the value valid (its proof: a re-proposal is
 * accepted only by a node that holds it, so a restarted proposer must still have it).
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/store.h"

#define CACHE_MAX        8 /* blocks kept that the core no longer needs (see cache_add) */
#define PROPOSAL_AHEAD   1 /* proposals of rounds further ahead wait for their resend */
/*
 * What peers can make the engine hold for later is bounded by count and by bytes, per peer
 * and in total (a block is up to 16 MiB): messages of the next height (only signed ones,
 * one proposal per round) and certified blocks of later heights (certificate checked, one
 * per height, at most PENDING_AHEAD ahead). Past a bound a message is dropped: proposals and
 * votes are sent again, and block sync brings the blocks.
 */
#define FUTURE_MAX            1024
#define FUTURE_BYTES_MAX      (2u * LEDGER_BLOCK_BYTES_MAX + (4u << 20))
#define FUTURE_PEER_BYTES_MAX (LEDGER_BLOCK_BYTES_MAX + (2u << 20))
#define PENDING_MAX           CONS_SYNC_BLOCKS_MAX
#define PENDING_AHEAD         CONS_SYNC_BLOCKS_MAX
#define PENDING_BYTES_MAX     (4u * LEDGER_BLOCK_BYTES_MAX)
#define PENDING_PEER_BYTES_MAX (CONS_SYNC_REPLY_BYTES + LEDGER_BLOCK_BYTES_MAX)
_Static_assert(FUTURE_BYTES_MAX + PENDING_BYTES_MAX <= ENGINE_HELD_BYTES_MAX, "engine.h's bound");
#define MARKS_MAX        64  /* keys of struck or bad peers remembered across reconnects */
#define OWN_MSGS_MAX     8
#define SYNC_TIMEOUT_MS  5000
#define SYNC_BACKOFF_MAX 6 /* a struck peer is asked again after 5 s << min(strikes, 6) */
#define RESTORED_POL_MAX (4 * LEDGER_VALIDATORS_MAX)

enum wal_kind { WAL_MSG = 1, WAL_LOCK = 2, WAL_POL = 3 };

struct cached {
    uint8_t hash[HASH_BYTES];
    struct idl_bytes raw;   /* encoded block */
    struct ledger_exec *ex; /* executed against the tip, or NULL */
    bool checked, valid;
};

/* A connected peer: an entry lives from its link's up to its down. */
struct peer {
    uint32_t id; /* the link's id: a reconnect is a new id (node/p2p.h) */
    uint8_t key[SIG_PUBKEY_BYTES];
    bool validator, bad;
    uint64_t height;   /* the highest tip it claimed (not proven until its blocks arrive) */
    uint32_t strikes;  /* sync requests it left unanswered since it last sent a block */
    uint64_t retry_ms; /* with strikes: not asked again before then (host clock) */
};

/* What a reconnect must not wash away: a peer's strikes and bad mark, by its key. */
struct mark {
    uint8_t key[SIG_PUBKEY_BYTES];
    bool bad;
    uint32_t strikes;
};

struct held {
    uint32_t peer;
    uint64_t height; /* the height the message is about */
    uint32_t round;  /* a proposal's round */
    bool proposal;
    struct idl_bytes msg;
};

/* Messages held for later, within a count and byte budgets (see FUTURE_MAX). */
struct held_list {
    struct held *v; /* max of them */
    size_t n, max;
    size_t bytes, bytes_max, peer_bytes_max;
};

struct engine {
    struct ledger *l;
    /* Log records and messages of the event being handled, until flush(). */
    struct idl_bytes *out_recs, *out_msgs;
    size_t n_recs, n_msgs, cap_recs, cap_msgs;
    struct cons_engine_config cfg;
    struct cons_host host;
    const struct ledger_validator *vals;
    size_t n_vals;
    struct cons *core;
    uint64_t height;
    bool started, halted;
    bool tip_lazy; /* the tip was committed lazily (catching up): not yet on stable storage */
    char halt_why[96]; /* the first reason */
    uint32_t halted_ticks;
    struct cached **cache; /* oldest first; entries never move in memory */
    size_t n_cache, cap_cache;
    /* Decided, but the block is not in the cache: it comes by block sync (or a proposal). */
    bool awaiting;
    uint32_t awaited_round;
    uint8_t awaited[HASH_BYTES];
    struct idl_bytes own[OWN_MSGS_MAX]; /* our latest proposal and votes at this height */
    size_t n_own;
    struct held_list future;  /* signed messages of height + 1 */
    struct held_list pending; /* certified DECIDED of heights above height */
    struct peer peers[ENGINE_PEERS_MAX];
    size_t n_peers;
    struct mark marks[MARKS_MAX]; /* a ring: the oldest mark goes first */
    size_t n_marks, mark_next;
    bool syncing;
    uint32_t sync_peer;
    uint64_t sync_from, sync_to, sync_deadline;
    uint64_t sync_bytes; /* block and certificate bytes of the reply received so far */
    uint64_t sync_got;   /* blocks of the reply applied so far */
    bool restored;
    struct cons_proposal restored_props[OWN_MSGS_MAX]; /* our proposals before the restart */
    size_t n_restored_props;
    int32_t valid_round; /* the core's valid value (-1: none), whose proof we spread */
    uint8_t valid_hash[HASH_BYTES];
    struct idl_bytes *restored_pol; /* that proof, from the log, until engine_start */
    size_t n_restored_pol;
    uint64_t refused, equivocations;
};

static void
event(struct engine *e, enum engine_event ev, const char *fmt, ...)
{
    if (!e->host.event)
        return;
    char detail[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    e->host.event(e->host.arg, ev, e->height, e->core ? cons_round(e->core) : 0, detail);
}

static void
refuse(struct engine *e, uint32_t peer, const char *what, const char *why)
{
    e->refused++;
    event(e, ENGINE_EV_REFUSED, "%s from peer %u: %s", what, peer, why);
}

/* ---- peers ---- */

/* The engine's clock for timeouts: monotonic where the host has one. */
static uint64_t
clock_ms(const struct engine *e)
{
    return e->host.mono_ms ? e->host.mono_ms(e->host.arg) : e->host.now_ms(e->host.arg);
}

static struct peer *
peer_get(struct engine *e, uint32_t id)
{
    for (size_t i = 0; i < e->n_peers; i++)
        if (e->peers[i].id == id)
            return &e->peers[i];
    return NULL;
}

static struct mark *
mark_find(struct engine *e, const uint8_t key[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < e->n_marks; i++)
        if (!memcmp(e->marks[i].key, key, SIG_PUBKEY_BYTES))
            return &e->marks[i];
    return NULL;
}

/* When a strike is forgiven: later for each strike, up to 5 s << SYNC_BACKOFF_MAX. */
static uint64_t
retry_after(const struct engine *e, uint32_t strikes)
{
    uint32_t k = strikes < SYNC_BACKOFF_MAX ? strikes : SYNC_BACKOFF_MAX;
    return clock_ms(e) + ((uint64_t)SYNC_TIMEOUT_MS << k);
}

/*
 * A link came up: a new entry, with the strikes and bad mark its key earned before (a
 * reconnect is not a fresh chance). NULL if the table is full.
 */
static struct peer *
peer_add(struct engine *e, uint32_t id, const uint8_t key[SIG_PUBKEY_BYTES], bool validator)
{
    struct peer *p = peer_get(e, id);
    if (!p) {
        if (e->n_peers == ENGINE_PEERS_MAX)
            return NULL;
        p = &e->peers[e->n_peers++];
    }
    memset(p, 0, sizeof(*p));
    p->id = id;
    memcpy(p->key, key, SIG_PUBKEY_BYTES);
    p->validator = validator;
    const struct mark *m = mark_find(e, key);
    if (m) {
        p->bad = m->bad;
        p->strikes = m->strikes;
        p->retry_ms = m->strikes ? retry_after(e, m->strikes) : 0;
    }
    return p;
}

/* A link went down: its entry goes, what it earned stays with its key. */
static void
peer_remove(struct engine *e, uint32_t id)
{
    struct peer *p = peer_get(e, id);
    if (!p)
        return;
    struct mark *m = mark_find(e, p->key);
    if (!m && (p->bad || p->strikes)) {
        m = &e->marks[e->mark_next];
        e->mark_next = (e->mark_next + 1) % MARKS_MAX;
        if (e->n_marks < MARKS_MAX)
            e->n_marks++;
    }
    if (m) {
        memcpy(m->key, p->key, SIG_PUBKEY_BYTES);
        m->bad = p->bad;
        m->strikes = p->strikes;
    }
    *p = e->peers[--e->n_peers];
}

/*
 * Claims are cheap, so a peer's counts only while it has no strikes (it answered the last
 * time it was asked, or was never asked) and is not bad: a peer that lies about its tip and
 * never answers cannot keep this node "catching up" for ever.
 */
static bool
claim_trusted(const struct peer *p)
{
    return !p->bad && p->strikes == 0;
}

/* The highest tip claimed by a peer whose claims count, 0 if none. */
static uint64_t
best_peer_height(const struct engine *e)
{
    uint64_t h = 0;
    for (size_t i = 0; i < e->n_peers; i++)
        if (claim_trusted(&e->peers[i]) && e->peers[i].height > h)
            h = e->peers[i].height;
    return h;
}

/* A peer that may be asked for blocks now: not bad, and any strike's backoff is over. */
static bool
peer_askable(const struct engine *e, const struct peer *p, uint64_t now)
{
    (void)e;
    return !p->bad && (p->strikes == 0 || now >= p->retry_ms);
}

/* ---- small helpers ---- */

static idl_err
send_msg(struct engine *e, const struct cons_msg *m, int peer /* -1 = broadcast */)
{
    struct idl_bytes enc;
    idl_err rc = cons_msg_encode(m, &enc);
    if (rc)
        return rc;
    if (peer < 0)
        e->host.broadcast(e->host.arg, enc.data, enc.len);
    else
        e->host.send(e->host.arg, (uint32_t)peer, enc.data, enc.len);
    free(enc.data);
    return IDL_OK;
}

/*
 * Going on without the log would risk signing twice: stop deciding instead, for good (a
 * restart replays what the log holds and cuts a torn tail). Block sync goes on: it signs
 * nothing, and keeps the node's ledger and answers current.
 */
static void
halt(struct engine *e, const char *why)
{
    if (!e->halted)
        snprintf(e->halt_why, sizeof(e->halt_why), "%s", why);
    e->halted = true;
    event(e, ENGINE_EV_HALT, "%s; following committed blocks by block sync only", why);
}

static idl_err
queue(struct idl_bytes **list, size_t *n, size_t *cap, const uint8_t *a, size_t alen,
      const uint8_t *b, size_t blen)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct idl_bytes *p = realloc(*list, c * sizeof(*p));
        if (!p)
            return IDL_ERR_NOMEM;
        *list = p;
        *cap = c;
    }
    uint8_t *d = malloc(alen + blen ? alen + blen : 1);
    if (!d)
        return IDL_ERR_NOMEM;
    memcpy(d, a, alen);
    if (blen)
        memcpy(d + alen, b, blen);
    (*list)[(*n)++] = (struct idl_bytes){d, alen + blen};
    return IDL_OK;
}

/* Queues a log record: kind byte, then body. */
static idl_err
wal_write(struct engine *e, uint8_t kind, const uint8_t *body, size_t len)
{
    return queue(&e->out_recs, &e->n_recs, &e->cap_recs, &kind, 1, body, len);
}

/*
 * Makes the queued records durable (one sync), then sends the queued messages. This order
 * is the write-ahead rule: a vote or proposal leaves only once the log holds it.
 */
static void
flush(struct engine *e)
{
    /*
     * What we sign builds on the tip, so the tip must survive a power cut as the log does:
     * else a restart below it would come back to this height with its records ignored as
     * those of a later height, and sign again. One sync of the store makes every lazy
     * commit durable (LevelDB's log is written in order).
     */
    if (e->n_recs && e->tip_lazy) {
        struct store_batch none;
        store_batch_init(&none);
        if (store_write(ledger_store(e->l), &none, true) != IDL_OK) {
            halt(e, "cannot sync the ledger under the consensus log");
            for (size_t i = 0; i < e->n_recs; i++)
                free(e->out_recs[i].data);
            e->n_recs = 0;
            for (size_t i = 0; i < e->n_msgs; i++)
                free(e->out_msgs[i].data);
            e->n_msgs = 0;
            return;
        }
        e->tip_lazy = false;
    }
    if (e->n_recs && e->host.wal_append(e->host.arg, e->out_recs, e->n_recs) != IDL_OK) {
        halt(e, "cannot write the consensus log");
        for (size_t i = 0; i < e->n_msgs; i++)
            free(e->out_msgs[i].data); /* never sent: the log does not hold them */
        e->n_msgs = 0;
    }
    for (size_t i = 0; i < e->n_recs; i++)
        free(e->out_recs[i].data);
    e->n_recs = 0;
    for (size_t i = 0; i < e->n_msgs; i++) {
        e->host.broadcast(e->host.arg, e->out_msgs[i].data, e->out_msgs[i].len);
        free(e->out_msgs[i].data);
    }
    e->n_msgs = 0;
}

static void
own_remember(struct engine *e, const struct idl_bytes *msg)
{
    if (e->n_own == OWN_MSGS_MAX) {
        free(e->own[0].data);
        memmove(&e->own[0], &e->own[1], (OWN_MSGS_MAX - 1) * sizeof(e->own[0]));
        e->n_own--;
    }
    uint8_t *copy = malloc(msg->len);
    if (!copy)
        return;
    memcpy(copy, msg->data, msg->len);
    e->own[e->n_own++] = (struct idl_bytes){copy, msg->len};
}

/* Queues our own message: into the log, then out (at the next flush). */
static idl_err
publish(struct engine *e, const struct cons_msg *m)
{
    struct idl_bytes enc;
    idl_err rc = cons_msg_encode(m, &enc);
    if (!rc)
        rc = wal_write(e, WAL_MSG, enc.data, enc.len);
    if (!rc)
        rc = queue(&e->out_msgs, &e->n_msgs, &e->cap_msgs, enc.data, enc.len, NULL, 0);
    if (rc) {
        free(enc.data);
        halt(e, "out of memory for the consensus log");
        return rc;
    }
    own_remember(e, &enc);
    free(enc.data);
    return IDL_OK;
}

/*
 * The proof of our valid value: the prevotes that made it valid, as VOTE messages (at most
 * one per validator; the caller frees each). None if we have no valid value.
 */
static size_t
pol_messages(struct engine *e, struct idl_bytes out[LEDGER_VALIDATORS_MAX])
{
    if (!e->core || e->valid_round < 0)
        return 0;
    struct cons_vote v[LEDGER_VALIDATORS_MAX];
    size_t n =
        cons_prevotes(e->core, (uint32_t)e->valid_round, e->valid_hash, v, LEDGER_VALIDATORS_MAX);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct cons_msg m = {.kind = MSG_VOTE};
        cons_vote_to_msg(&m.body.vote, &v[i]);
        if (cons_msg_encode(&m, &out[k]) == IDL_OK)
            k++;
    }
    return k;
}

/*
 * Sends the proof of our valid value to every peer: with a re-proposal, and on each tick
 * while we hold one, so that a node that missed those prevotes (they belong to a round
 * that is over) can still accept the value when it is proposed again. Queued behind the
 * event's log records when `queued`, else sent at once.
 */
static void
pol_send(struct engine *e, bool queued)
{
    struct idl_bytes pol[LEDGER_VALIDATORS_MAX];
    size_t n = pol_messages(e, pol);
    for (size_t i = 0; i < n; i++) {
        if (!queued)
            e->host.broadcast(e->host.arg, pol[i].data, pol[i].len);
        else if (queue(&e->out_msgs, &e->n_msgs, &e->cap_msgs, pol[i].data, pol[i].len, NULL, 0) !=
                 IDL_OK)
            halt(e, "out of memory for outgoing messages");
        free(pol[i].data);
    }
}

/* ---- the block cache ---- */

static struct cached *
cache_find(struct engine *e, const uint8_t hash[HASH_BYTES])
{
    for (size_t i = 0; i < e->n_cache; i++)
        if (!memcmp(e->cache[i]->hash, hash, HASH_BYTES))
            return e->cache[i];
    return NULL;
}

static void
cached_free(struct cached *c)
{
    ledger_exec_free(c->ex);
    free(c->raw.data);
    free(c);
}

/*
 * May the block still be needed at this height? The core's locked and valid values, the
 * proposals of this round and later ones, the values we voted for (cons_holds), and the
 * decided block we wait for. Such a block is never evicted: a Byzantine proposer once
 * flushed the honest block out of every node's cache by sending more signed blocks than it
 * held, and the height could neither commit nor propose its valid value again.
 */
static bool
cache_needed(const struct engine *e, const struct cached *c)
{
    if (e->awaiting && !memcmp(c->hash, e->awaited, HASH_BYTES))
        return true;
    return e->core && cons_holds(e->core, c->hash);
}

/*
 * Adds a block (raw copied), first evicting the oldest blocks no longer needed while the
 * cache holds CACHE_MAX or more. Needed blocks stay, so the cache may grow past CACHE_MAX,
 * but only by blocks the core holds: one proposal per round at most (on_proposal admits no
 * second one), the values we voted for, the lock. NULL if out of memory.
 */
static struct cached *
cache_add(struct engine *e, const uint8_t hash[HASH_BYTES], const uint8_t *raw, size_t len)
{
    struct cached *c = cache_find(e, hash);
    if (c)
        return c;
    for (size_t i = 0; i < e->n_cache && e->n_cache >= CACHE_MAX;) {
        if (cache_needed(e, e->cache[i])) {
            i++;
            continue;
        }
        cached_free(e->cache[i]);
        memmove(&e->cache[i], &e->cache[i + 1], (e->n_cache - i - 1) * sizeof(e->cache[0]));
        e->n_cache--;
    }
    if (e->n_cache == e->cap_cache) {
        size_t cap = e->cap_cache ? e->cap_cache * 2 : CACHE_MAX;
        struct cached **p = realloc(e->cache, cap * sizeof(*p));
        if (!p)
            return NULL;
        e->cache = p;
        e->cap_cache = cap;
    }
    c = calloc(1, sizeof(*c));
    uint8_t *copy = malloc(len ? len : 1);
    if (!c || !copy) {
        free(c);
        free(copy);
        return NULL;
    }
    memcpy(copy, raw, len);
    c->raw = (struct idl_bytes){copy, len};
    memcpy(c->hash, hash, HASH_BYTES);
    e->cache[e->n_cache++] = c;
    return c;
}

static void
cache_clear(struct engine *e)
{
    for (size_t i = 0; i < e->n_cache; i++)
        cached_free(e->cache[i]);
    e->n_cache = 0;
}

static bool
preverified(void *arg, const uint8_t txid[HASH_BYTES])
{
    struct engine *e = arg;
    return e->host.preverified && e->host.preverified(e->host.arg, txid);
}

/* The index of a validator's public key in the set, or -1. */
static int
validator_index(const struct engine *e, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < e->n_vals; i++)
        if (!memcmp(e->vals[i].pubkey, pk, SIG_PUBKEY_BYTES))
            return (int)i;
    return -1;
}

/*
 * Checks and executes a proposed block once: decoded for this chain and height, built by
 * a validator, timed no later than our clock allows, and valid on the ledger (every
 * signature checked except those our pool already checked). The verdict is the block's
 * alone, whichever round it is proposed in: a block built in one round may be proposed
 * again in a later one by another validator (its valid value). Whether its builder may
 * propose it fresh in a given round is on_proposal's question.
 */
static void
cache_check(struct engine *e, struct cached *c)
{
    if (c->checked)
        return;
    c->checked = true;
    struct ledger_block b;
    char why[LEDGER_WHY_MAX] = "";
    if (ledger_block_decode(&b, c->raw.data, c->raw.len, ledger_chain_id(e->l)) != IDL_OK)
        return;
    bool ok = b.header.height == e->height && validator_index(e, b.header.proposer) >= 0 &&
              b.header.time_ms <= e->host.now_ms(e->host.arg) + e->cfg.max_clock_drift_ms;
    struct ledger_exec_opts opts = {true, preverified, e};
    if (ok && ledger_block_execute(e->l, &b, &opts, &c->ex, why, sizeof(why)) == IDL_OK)
        c->valid = true;
    else if (ok)
        event(e, ENGINE_EV_REFUSED, "invalid proposed block: %s", why);
    ledger_block_free(&b);
}

/* ---- committing ---- */

static void start_height(struct engine *e);
static void maybe_sync(struct engine *e, bool urgent);

/*
 * Commits the block `hash` with certificate `cert` (encoded). The block comes from the
 * cache (executed there if it was not yet). Returns IDL_OK, or an error if the block is
 * unknown or does not apply.
 */
/* Commits a cached block; durable false for one fetched while catching up (see
 * ledger_exec_commit_lazy): the last block of each sync request is durable, and so all
 * before it. */
static idl_err
commit(struct engine *e, const uint8_t hash[HASH_BYTES], const struct idl_bytes *cert,
       const char *how, bool durable)
{
    struct cached *c = cache_find(e, hash);
    if (!c)
        return IDL_ERR_NOT_FOUND;
    uint64_t t0 = clock_ms(e);
    char why[LEDGER_WHY_MAX] = "";
    if (!c->ex) {
        struct ledger_block b;
        idl_err rc = ledger_block_decode(&b, c->raw.data, c->raw.len, ledger_chain_id(e->l));
        /* The certificate vouches for the block: signatures need no second check. */
        struct ledger_exec_opts trust = {false, NULL, NULL};
        if (!rc)
            rc = ledger_block_execute(e->l, &b, &trust, &c->ex, why, sizeof(why));
        ledger_block_free(&b);
        if (rc) {
            event(e, ENGINE_EV_HALT, "a certified block does not apply: %s", why);
            return rc;
        }
    }
    uint32_t n;
    const struct ledger_tx_result *res = ledger_exec_results(c->ex, &n);
    struct ledger_tx_result *copy = n ? malloc(n * sizeof(*copy)) : NULL;
    if (copy)
        memcpy(copy, res, n * sizeof(*copy));
    struct ledger_exec *ex = c->ex;
    c->ex = NULL;
    idl_err rc = ledger_exec_commit_lazy(e->l, ex, cert, durable);
    if (rc) {
        free(copy);
        halt(e, "cannot commit a decided block to the store");
        return rc;
    }
    e->tip_lazy = !durable;
    uint64_t ms = clock_ms(e) - t0;
    event(e, ENGINE_EV_COMMITTED, "%s, %u transactions", how, n);
    if (e->host.committed)
        e->host.committed(e->host.arg, copy ? copy : res, copy ? n : 0, e->height, ms);
    free(copy);
    /*
     * The log of a height may go only once the ledger holds the height durably: after a
     * lazy commit (catching up) a power cut could take the ledger back below a height
     * whose votes the log no longer held, and the restarted node could vote again.
     */
    if (durable && e->host.wal_reset && e->host.wal_reset(e->host.arg) != IDL_OK)
        halt(e, "cannot reset the consensus log");
    return IDL_OK;
}

static void
announce(struct engine *e, const struct idl_bytes *raw, const struct idl_bytes *cert,
         bool to_followers)
{
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    struct cons_msg m = {.kind = MSG_STATUS};
    m.body.status.height = tip.height;
    memcpy(m.body.status.tip, tip.block_hash, HASH_BYTES);
    m.body.status.voting = e->cfg.self >= 0;
    (void)send_msg(e, &m, -1);
    if (!to_followers || !raw)
        return;
    /* Replicas follow committed blocks: the decided round's proposer sends them. */
    struct cons_msg d = {.kind = MSG_DECIDED};
    d.body.decided.block = *raw;
    d.body.decided.commit = *cert;
    for (size_t i = 0; i < e->n_peers; i++)
        if (!e->peers[i].validator)
            (void)send_msg(e, &d, (int)e->peers[i].id);
}

/* The core decided: commit with the certificate it collected, then move on. */
static void
decided(struct engine *e, uint32_t round, const uint8_t hash[HASH_BYTES])
{
    /* Our precommit (a single validator decides in the same event) goes out first. */
    flush(e);
    if (!cache_find(e, hash)) {
        /* Peers that hold the block commit it and say so (STATUS): block sync then brings
         * it with its certificate, as to any node that fell behind. */
        if (!e->awaiting) {
            char hex[17];
            codec_hex_encode(hex, hash, 8);
            event(e, ENGINE_EV_SYNC, "decided block %s.. is not here: fetching it from peers",
                  hex);
        }
        e->awaiting = true;
        e->awaited_round = round;
        memcpy(e->awaited, hash, HASH_BYTES);
        maybe_sync(e, true);
        return;
    }
    struct ledger_commit cert;
    struct idl_bytes enc = {0};
    idl_err rc = cons_certificate(e->core, round, hash, &cert);
    if (!rc) {
        rc = schema_encode_bytes(&ledger_commit_schema, &cert, &enc);
        schema_free(&ledger_commit_schema, &cert);
    }
    struct cached *c = cache_find(e, hash);
    struct idl_bytes raw = {0};
    if (!rc && c) {
        raw.data = malloc(c->raw.len);
        if (raw.data) {
            memcpy(raw.data, c->raw.data, c->raw.len);
            raw.len = c->raw.len;
        }
    }
    if (!rc)
        rc = commit(e, hash, &enc, "decided", true);
    if (!rc) {
        bool proposer =
            e->cfg.self >= 0 && cons_proposer(e->n_vals, e->height, round) == (unsigned)e->cfg.self;
        announce(e, raw.data ? &raw : NULL, &enc, proposer);
        start_height(e);
    }
    free(raw.data);
    free(enc.data);
}

/* ---- carrying out the core's actions ---- */

static void
act_propose(struct engine *e, const struct cons_action *a)
{
    static const uint8_t zero[HASH_BYTES];
    struct cached *c = NULL;
    if (memcmp(a->hash, zero, HASH_BYTES) != 0) {
        c = cache_find(e, a->hash); /* our valid value, proposed again */
        if (!c) {
            /* Not proposing is always safe: the round times out and moves on. */
            event(e, ENGINE_EV_REFUSED, "cannot propose the valid value again: its block is "
                                        "not here");
            return;
        }
    } else {
        struct idl_bytes *txs = NULL;
        size_t n = e->host.pool_take(e->host.arg, e->cfg.block_max_txs, &txs);
        struct ledger_exec_opts pooled = {false, NULL, NULL};
        struct ledger_exec *ex = NULL;
        idl_err rc = ledger_block_build(e->l, txs, (uint32_t)n, e->host.now_ms(e->host.arg),
                                        e->vals[e->cfg.self].pubkey, &pooled, NULL, NULL, &ex);
        for (size_t i = 0; i < n; i++)
            free(txs[i].data);
        free(txs);
        struct idl_bytes raw = {0};
        if (!rc)
            rc = ledger_block_encode(ledger_exec_block(ex), &raw);
        if (!rc)
            c = cache_add(e, ledger_exec_block(ex)->hash, raw.data, raw.len);
        free(raw.data);
        if (!c) {
            ledger_exec_free(ex);
            event(e, ENGINE_EV_REFUSED, "cannot build a proposal");
            return;
        }
        c->ex = ex;
        c->checked = c->valid = true;
    }
    if (a->valid_round >= 0)
        pol_send(e, true); /* the re-proposal's justification, ahead of it */
    struct cons_msg m = {.kind = MSG_PROPOSAL};
    struct msg_proposal *p = &m.body.proposal;
    p->height = a->height;
    p->round = a->round;
    p->valid_round = a->valid_round < 0 ? MSG_NO_ROUND : (uint32_t)a->valid_round;
    p->proposer = (uint16_t)e->cfg.self;
    p->block = c->raw;
    uint8_t sighash[HASH_BYTES];
    cons_proposal_sighash(sighash, ledger_chain_id(e->l), p->height, p->round, p->valid_round,
                          c->hash);
    if (e->host.sign(e->host.arg, sighash, p->sig) != IDL_OK || publish(e, &m) != IDL_OK)
        return;
    struct cons_proposal own = {a->height, a->round, a->valid_round, {0}, true};
    memcpy(own.hash, c->hash, HASH_BYTES);
    cons_on_proposal(e->core, &own);
}

static void
act_vote(struct engine *e, const struct cons_action *a)
{
    struct cons_vote v = {.type = a->vote_type,
                          .height = a->height,
                          .round = a->round,
                          .validator = (uint16_t)e->cfg.self};
    memcpy(v.hash, a->hash, HASH_BYTES);
    uint8_t sighash[HASH_BYTES];
    ledger_vote_sighash(sighash, ledger_chain_id(e->l), v.type, v.height, v.round, v.hash);
    struct cons_msg m = {.kind = MSG_VOTE};
    if (e->host.sign(e->host.arg, sighash, v.sig) != IDL_OK) {
        halt(e, "cannot sign a vote");
        return;
    }
    cons_vote_to_msg(&m.body.vote, &v);
    if (publish(e, &m) != IDL_OK)
        return;
    cons_on_vote(e->core, &v);
}

static void
act_lock(struct engine *e, const struct cons_action *a)
{
    struct cached *c = a->valid_round_lock >= 0 ? cache_find(e, a->valid_hash) : NULL;
    size_t raw_len = c ? c->raw.len : 0;
    size_t len = 8 + 4 + HASH_BYTES + 4 + HASH_BYTES + 4 + raw_len;
    uint8_t *buf = malloc(len);
    if (!buf) {
        halt(e, "out of memory for the consensus log");
        return;
    }
    codec_be64_put(buf, a->height);
    codec_be32_put(buf + 8, (uint32_t)a->locked_round);
    memcpy(buf + 12, a->locked_hash, HASH_BYTES);
    codec_be32_put(buf + 44, (uint32_t)a->valid_round_lock);
    memcpy(buf + 48, a->valid_hash, HASH_BYTES);
    codec_be32_put(buf + 80, (uint32_t)raw_len);
    if (raw_len)
        memcpy(buf + 84, c->raw.data, raw_len);
    if (wal_write(e, WAL_LOCK, buf, len) != IDL_OK)
        halt(e, "cannot write the consensus log");
    free(buf);
    e->valid_round = a->valid_round_lock;
    memcpy(e->valid_hash, a->valid_hash, HASH_BYTES);
    struct idl_bytes pol[LEDGER_VALIDATORS_MAX];
    size_t n = pol_messages(e, pol);
    for (size_t i = 0; i < n; i++) {
        if (!e->halted && wal_write(e, WAL_POL, pol[i].data, pol[i].len) != IDL_OK)
            halt(e, "cannot write the consensus log");
        free(pol[i].data);
    }
}

/* Carries out the core's actions until it has none left (feedback may create more). */
static void
run_actions(struct engine *e)
{
    for (int rounds = 0; rounds < 64 && !e->halted; rounds++) {
        size_t n;
        const struct cons_action *acts = cons_actions(e->core, &n);
        if (n == 0)
            return;
        struct cons_action *copy = malloc(n * sizeof(*copy));
        IDL_ASSERT(copy);
        memcpy(copy, acts, n * sizeof(*copy));
        cons_actions_clear(e->core);
        uint64_t height = e->height;
        for (size_t i = 0; i < n && !e->halted && e->height == height; i++) {
            const struct cons_action *a = &copy[i];
            switch (a->kind) {
            case CONS_ACT_PROPOSE:
                act_propose(e, a);
                break;
            case CONS_ACT_VOTE:
                act_vote(e, a);
                break;
            case CONS_ACT_LOCK:
                act_lock(e, a);
                break;
            case CONS_ACT_TIMEOUT:
                if (a->step == CONS_STEP_PROPOSE)
                    event(e, ENGINE_EV_ROUND, "round %u", a->round);
                e->host.schedule(e->host.arg, a->height, a->round, a->step, a->ms);
                break;
            case CONS_ACT_DECIDE:
                decided(e, a->round, a->hash);
                break;
            }
        }
        free(copy);
        flush(e);
    }
}

/* ---- heights ---- */

static idl_err
held_init(struct held_list *l, size_t max, size_t bytes_max, size_t peer_bytes_max)
{
    *l = (struct held_list){calloc(max, sizeof(struct held)), 0, max, 0, bytes_max,
                            peer_bytes_max};
    return l->v ? IDL_OK : IDL_ERR_NOMEM;
}

/* Takes entry i out of the list (its message is the caller's now, or freed with free_it). */
static struct held
held_take(struct held_list *l, size_t i, bool free_it)
{
    struct held h = l->v[i];
    l->bytes -= h.msg.len;
    l->v[i] = l->v[--l->n];
    if (free_it) {
        free(h.msg.data);
        h.msg.data = NULL;
    }
    return h;
}

static void
held_clear(struct held_list *l)
{
    while (l->n)
        (void)held_take(l, l->n - 1, true);
}

/*
 * Holds a copy of msg from peer, unless that would pass the list's count, its total bytes
 * or the peer's share of them. True if held.
 */
static bool
held_add(struct held_list *l, const struct held *h, const uint8_t *msg, size_t len)
{
    if (l->n == l->max || len > l->bytes_max - l->bytes)
        return false;
    size_t mine = len;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].peer == h->peer)
            mine += l->v[i].msg.len;
    if (mine > l->peer_bytes_max)
        return false;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return false;
    memcpy(copy, msg, len);
    l->v[l->n] = *h;
    l->v[l->n++].msg = (struct idl_bytes){copy, len};
    l->bytes += len;
    return true;
}

static void
restored_pol_clear(struct engine *e)
{
    for (size_t i = 0; i < e->n_restored_pol; i++)
        free(e->restored_pol[i].data);
    free(e->restored_pol);
    e->restored_pol = NULL;
    e->n_restored_pol = 0;
}

static void
start_height(struct engine *e)
{
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    cache_clear(e);
    e->awaiting = false;
    for (size_t i = 0; i < e->n_own; i++)
        free(e->own[i].data);
    e->n_own = 0;
    e->valid_round = -1;
    restored_pol_clear(e);
    e->height = tip.height + 1;
    if (e->core) {
        e->equivocations += cons_equivocations(e->core); /* the count goes on across heights */
        cons_start_height(e->core, e->height);
    }
    /* Held blocks of heights now committed (we decided them ourselves) are of no use. */
    for (size_t i = 0; i < e->pending.n;) {
        if (e->pending.v[i].height < e->height)
            (void)held_take(&e->pending, i, true);
        else
            i++;
    }
    /* Messages of this height that arrived while we finished the last one. */
    size_t n = e->future.n;
    struct held *f = n ? malloc(n * sizeof(*f)) : NULL;
    if (f)
        memcpy(f, e->future.v, n * sizeof(*f));
    else
        held_clear(&e->future);
    e->future.n = 0;
    e->future.bytes = 0;
    for (size_t i = 0; f && i < n; i++) {
        engine_on_message(e, f[i].peer, f[i].msg.data, f[i].msg.len);
        free(f[i].msg.data);
    }
    free(f);
}

/*
 * Takes the held certified block of the height being decided, if one arrived early, and
 * drops those of heights already committed (by consensus, or from another peer).
 */
static bool
pending_take(struct engine *e, struct held *out)
{
    bool found = false;
    for (size_t i = 0; i < e->pending.n;) {
        const struct held *h = &e->pending.v[i];
        if (h->height > e->height || (found && h->height == e->height)) {
            i++;
        } else if (h->height == e->height) {
            *out = held_take(&e->pending, i, false);
            found = true;
        } else {
            (void)held_take(&e->pending, i, true);
        }
    }
    return found;
}

/* ---- block sync ---- */

/*
 * Asks a peer that claims to be ahead for the blocks we lack. Claims are cheap (a STATUS
 * says anything), so a peer that leaves a request unanswered for SYNC_TIMEOUT_MS earns a
 * strike: its claims stop counting (claim_trusted), and it is asked again only after a
 * backoff that doubles with each strike. The next request goes to the askable peer ahead
 * with the fewest strikes, then the highest claim: a liar that claims a far tip and never
 * answers cannot hold a lagging node back. A block of its clears a peer's strikes.
 */
/*
 * Ends a sync request whose time is up, with a strike for its peer if not one block came
 * (whether or not another is needed now: a request left open would keep this node
 * "catching up"). True if no request is open any more.
 */
static bool
sync_expire(struct engine *e, uint64_t now)
{
    if (!e->syncing)
        return true;
    if (now < e->sync_deadline)
        return false;
    /* Blocks decided here meanwhile do not count: only what the peer sent. */
    struct peer *slow = peer_get(e, e->sync_peer);
    if (e->sync_got == 0 && slow && slow->strikes < UINT32_MAX) {
        slow->strikes++;
        slow->retry_ms = retry_after(e, slow->strikes);
    }
    e->syncing = false;
    return true;
}

static void
request_sync(struct engine *e)
{
    uint64_t now = clock_ms(e);
    if (!sync_expire(e, now))
        return;
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    struct peer *best = NULL;
    for (size_t i = 0; i < e->n_peers; i++) {
        struct peer *p = &e->peers[i];
        if (!peer_askable(e, p, now) || p->height <= tip.height)
            continue;
        if (!best || p->strikes < best->strikes ||
            (p->strikes == best->strikes && p->height > best->height))
            best = p;
    }
    if (!best)
        return;
    struct cons_msg m = {.kind = MSG_SYNC_REQ};
    m.body.sync_req.from = tip.height + 1;
    m.body.sync_req.max = CONS_SYNC_BLOCKS_MAX;
    if (send_msg(e, &m, (int)best->id) != IDL_OK)
        return;
    e->syncing = true;
    e->sync_peer = best->id;
    e->sync_from = tip.height + 1;
    e->sync_to = tip.height + CONS_SYNC_BLOCKS_MAX < best->height
                     ? tip.height + CONS_SYNC_BLOCKS_MAX
                     : best->height;
    e->sync_deadline = now + SYNC_TIMEOUT_MS;
    e->sync_bytes = 0;
    e->sync_got = 0;
    event(e, ENGINE_EV_SYNC, "asking peer %u for blocks %llu.. (it has %llu)", best->id,
          (unsigned long long)(tip.height + 1), (unsigned long long)best->height);
}

/*
 * Asks for blocks if a peer that may be asked is ahead: at once if it is at least two
 * blocks ahead (urgent or not), and if only one, when `urgent` (a periodic check), since
 * that block is most likely being decided here right now.
 */
static void
maybe_sync(struct engine *e, bool urgent)
{
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    uint64_t now = clock_ms(e), best = 0;
    for (size_t i = 0; i < e->n_peers; i++)
        if (peer_askable(e, &e->peers[i], now) && e->peers[i].height > best)
            best = e->peers[i].height;
    if (best >= tip.height + 2 || (urgent && best > tip.height))
        request_sync(e);
}

size_t
engine_serve_sync(struct ledger *l, const struct cons_host *host, uint32_t peer,
                  const struct msg_sync_req *req)
{
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    uint64_t last = req->from + (req->max < CONS_SYNC_BLOCKS_MAX ? req->max : CONS_SYNC_BLOCKS_MAX);
    size_t bytes = 0; /* counted as the asker counts them: block and certificate */
    for (uint64_t h = req->from;
         h > 0 && h < last && h <= tip.height && bytes < CONS_SYNC_REPLY_BYTES; h++) {
        struct ledger_block b;
        struct idl_bytes cert;
        if (ledger_block_get(l, h, &b, &cert) != IDL_OK)
            return bytes;
        struct idl_bytes raw;
        idl_err rc = ledger_block_encode(&b, &raw);
        ledger_block_free(&b);
        if (rc || !cert.len) {
            free(cert.data);
            free(raw.data);
            return bytes;
        }
        struct cons_msg m = {.kind = MSG_DECIDED};
        m.body.decided.block = raw;
        m.body.decided.commit = cert;
        struct idl_bytes enc;
        if (cons_msg_encode(&m, &enc) == IDL_OK) {
            host->send(host->arg, peer, enc.data, enc.len);
            bytes += raw.len + cert.len;
            free(enc.data);
        }
        free(raw.data);
        free(cert.data);
    }
    return bytes;
}

/*
 * A committed block with its certificate, from a sync reply or an announcement: checked
 * against the validator set and applied if it is the next one; a later one is held until
 * its predecessors arrive. Returns true if it committed the block.
 */
static bool
decided_apply(struct engine *e, uint32_t peer, const struct msg_decided *d)
{
    struct peer *p = peer_get(e, peer);
    if (p && p->bad)
        return false;
    struct ledger_block b;
    if (ledger_block_decode(&b, d->block.data, d->block.len, ledger_chain_id(e->l)) != IDL_OK) {
        refuse(e, peer, "committed block", "it does not decode");
        if (p)
            p->bad = true;
        return false;
    }
    uint64_t h = b.header.height;
    /* Committed here already, or so far ahead that block sync will bring it in turn. */
    if (h < e->height || h > e->height + PENDING_AHEAD) {
        ledger_block_free(&b);
        return false;
    }
    struct ledger_commit cert;
    idl_err rc = schema_decode_bytes(&ledger_commit_schema, &cert, d->commit.data, d->commit.len);
    if (!rc) {
        rc = ledger_commit_verify(&cert, ledger_chain_id(e->l), h, b.hash, e->vals, e->n_vals);
        schema_free(&ledger_commit_schema, &cert);
    }
    if (rc) {
        ledger_block_free(&b);
        refuse(e, peer, "committed block", "its certificate does not verify");
        if (p)
            p->bad = true;
        if (e->syncing && e->sync_peer == peer)
            e->syncing = false;
        return false;
    }
    if (p && h > p->height)
        p->height = h; /* proven, by the certificate */
    if (h > e->height) {
        /* Held until its predecessors arrive: one per height, within the byte budgets. */
        bool have = false;
        for (size_t i = 0; i < e->pending.n && !have; i++)
            have = e->pending.v[i].height == h;
        struct cons_msg m = {.kind = MSG_DECIDED};
        m.body.decided = *d;
        struct idl_bytes enc;
        if (!have && cons_msg_encode(&m, &enc) == IDL_OK) {
            struct held hd = {.peer = peer, .height = h};
            (void)held_add(&e->pending, &hd, enc.data, enc.len);
            free(enc.data);
        }
        ledger_block_free(&b);
        return false;
    }
    bool more = e->syncing && e->sync_peer == peer && h < e->sync_to;
    struct cached *c = cache_add(e, b.hash, d->block.data, d->block.len);
    ledger_block_free(&b);
    if (!c || commit(e, c->hash, &d->commit, "certified by peers", !more) != IDL_OK)
        return false;
    if (p)
        p->strikes = 0;
    if (e->syncing && e->sync_peer == peer)
        e->sync_got++;
    start_height(e);
    return true;
}

static void
on_decided_msg(struct engine *e, uint32_t peer, const struct msg_decided *d)
{
    /* A reply ends at CONS_SYNC_REPLY_BYTES (msg.h): then the next request can go out. */
    bool reply_full = false;
    if (e->syncing && e->sync_peer == peer) {
        e->sync_bytes += d->block.len + d->commit.len;
        reply_full = e->sync_bytes >= CONS_SYNC_REPLY_BYTES;
    }
    bool applied = decided_apply(e, peer, d);
    /* Apply, in a loop rather than by recursion, the held blocks that now follow. */
    struct held next;
    while (applied && pending_take(e, &next)) {
        struct cons_msg m;
        applied = false;
        if (cons_msg_decode(&m, next.msg.data, next.msg.len) == IDL_OK) {
            applied = decided_apply(e, next.peer, &m.body.decided);
            cons_msg_free(&m);
        }
        free(next.msg.data);
    }
    if (e->syncing && (e->height > e->sync_to || reply_full))
        e->syncing = false;
    maybe_sync(e, true);
}

/* ---- consensus messages ---- */

/* Is this a vote with a valid signature of a validator of the set? */
static bool
vote_authentic(const struct engine *e, const struct msg_vote *m)
{
    uint8_t sighash[HASH_BYTES];
    if (m->validator >= e->n_vals)
        return false;
    ledger_vote_sighash(sighash, ledger_chain_id(e->l), m->type, m->height, m->round, m->hash);
    return sig_verify(m->sig, sighash, e->vals[m->validator].pubkey);
}

/*
 * Is this proposal signed by its round's proposer? Sets the block's hash and the index of
 * the validator that built it (-1: none). Refuses (and counts) what fails.
 */
static bool
proposal_authentic(struct engine *e, uint32_t peer, const struct msg_proposal *p,
                   uint8_t hash[HASH_BYTES], int *builder)
{
    if (p->proposer != cons_proposer(e->n_vals, p->height, p->round)) {
        refuse(e, peer, "proposal", "not from the round's proposer");
        return false;
    }
    struct ledger_block b;
    if (ledger_block_decode(&b, p->block.data, p->block.len, ledger_chain_id(e->l)) != IDL_OK) {
        refuse(e, peer, "proposal", "its block does not decode");
        return false;
    }
    memcpy(hash, b.hash, HASH_BYTES);
    *builder = validator_index(e, b.header.proposer);
    ledger_block_free(&b);
    uint8_t sighash[HASH_BYTES];
    cons_proposal_sighash(sighash, ledger_chain_id(e->l), p->height, p->round, p->valid_round,
                          hash);
    if (!sig_verify(p->sig, sighash, e->vals[p->proposer].pubkey)) {
        refuse(e, peer, "proposal", "bad signature");
        return false;
    }
    return true;
}

/*
 * A proposal of the height being decided. Everything that costs nothing is checked before
 * the block is executed or even kept: the round's proposer, the round (far ahead waits for
 * the resend), the signature, and that the core has no proposal for the round yet. A
 * second, different, validly signed proposal of a round is its proposer's equivocation:
 * counted, never executed, never cached (the first one stands, as in the core).
 */
static void
on_proposal(struct engine *e, uint32_t peer, const struct msg_proposal *p)
{
    bool fresh = p->valid_round == MSG_NO_ROUND;
    if (!fresh && p->valid_round >= p->round) {
        refuse(e, peer, "proposal", "its valid round is not before its round");
        return;
    }
    bool done = cons_step_of(e->core) == CONS_STEP_DECIDED;
    if ((done && !e->awaiting) ||
        (!done && (uint64_t)p->round > (uint64_t)cons_round(e->core) + PROPOSAL_AHEAD))
        return;
    uint8_t hash[HASH_BYTES];
    int builder;
    if (!proposal_authentic(e, peer, p, hash, &builder))
        return;
    if (done) {
        /* The block we decided and lack: commit it now. */
        if (!memcmp(hash, e->awaited, HASH_BYTES) &&
            cache_add(e, hash, p->block.data, p->block.len))
            decided(e, e->awaited_round, e->awaited);
        return;
    }
    struct cons_proposal first;
    if (cons_proposal_of(e->core, p->round, &first)) {
        if (memcmp(first.hash, hash, HASH_BYTES) != 0 ||
            first.valid_round != (fresh ? -1 : (int32_t)p->valid_round)) {
            e->equivocations++;
            refuse(e, peer, "proposal", "its proposer already proposed another in this round");
        }
        return;
    }
    struct cached *c = cache_add(e, hash, p->block.data, p->block.len);
    if (!c)
        return;
    cache_check(e, c);
    /* A fresh block must be the round proposer's own; a re-proposed one is from earlier. */
    struct cons_proposal cp = {p->height,
                               p->round,
                               fresh ? -1 : (int32_t)p->valid_round,
                               {0},
                               c->valid && (!fresh || builder == (int)p->proposer)};
    memcpy(cp.hash, hash, HASH_BYTES);
    cons_on_proposal(e->core, &cp);
}

static void
on_vote(struct engine *e, uint32_t peer, const struct msg_vote *m)
{
    if (!vote_authentic(e, m)) {
        refuse(e, peer, "vote", m->validator >= e->n_vals ? "unknown validator" : "bad signature");
        return;
    }
    struct cons_vote v;
    cons_vote_from_msg(&v, m);
    cons_on_vote(e->core, &v);
}

static void
on_status(struct engine *e, uint32_t peer, const struct msg_status *s)
{
    struct peer *p = peer_get(e, peer);
    if (!p)
        return;
    if (s->height > p->height)
        p->height = s->height;
    maybe_sync(e, e->awaiting);
}

static void
on_txs(struct engine *e, uint32_t peer, const struct msg_txs *t)
{
    if (!e->host.txs_in)
        return;
    const struct msg_tx *tx = t->txs.items;
    for (uint32_t i = 0; i < t->txs.count; i++)
        e->host.txs_in(e->host.arg, peer, tx[i].raw.data, tx[i].raw.len);
}

/*
 * A proposal or vote of a later height than ours. Those of the next height are held for
 * when we get there (checked again then), if signed: votes by a validator, proposals by
 * their round's proposer, one per round within the round window, and within the byte
 * budgets. A validator's signed vote at height h says that h - 1 was decided: the peer
 * that sent it can give us that block, so we may sync. Unsigned claims do not count.
 */
static void
on_future(struct engine *e, uint32_t peer, const struct cons_msg *m, const uint8_t *msg, size_t len)
{
    bool vote = m->kind == MSG_VOTE;
    uint64_t h = vote ? m->body.vote.height : m->body.proposal.height;
    if (vote && !vote_authentic(e, &m->body.vote)) {
        refuse(e, peer, "vote", "bad signature");
        return;
    }
    if (h == e->height + 1) {
        struct held hd = {.peer = peer, .height = h, .proposal = !vote};
        bool keep = true;
        if (!vote) {
            const struct msg_proposal *q = &m->body.proposal;
            uint8_t hash[HASH_BYTES];
            int builder;
            hd.round = q->round;
            keep = q->round <= CONS_ROUND_WINDOW && proposal_authentic(e, peer, q, hash, &builder);
            for (size_t i = 0; keep && i < e->future.n; i++)
                keep = !(e->future.v[i].proposal && e->future.v[i].round == q->round);
        }
        if (keep)
            (void)held_add(&e->future, &hd, msg, len);
    }
    struct peer *p = vote ? peer_get(e, peer) : NULL;
    if (p && h - 1 > p->height)
        p->height = h - 1;
    maybe_sync(e, false);
}

/* The height a consensus message is about (0 if it has none). */
static uint64_t
msg_height(const struct cons_msg *m)
{
    return m->kind == MSG_PROPOSAL ? m->body.proposal.height
           : m->kind == MSG_VOTE   ? m->body.vote.height
                                   : 0;
}

void
engine_on_message(struct engine *e, uint32_t peer, const uint8_t *msg, size_t len)
{
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK) {
        refuse(e, peer, "message", "it does not decode");
        return;
    }
    uint64_t h = msg_height(&m);
    if (h && (!e->core || !e->started || e->halted)) {
        /* Replicas do not take part; a validator not started yet drops it (it is resent);
         * a halted one follows committed blocks only. */
    } else if (h && h > e->height) {
        on_future(e, peer, &m, msg, len);
    } else if (h == e->height && m.kind == MSG_PROPOSAL) {
        on_proposal(e, peer, &m.body.proposal);
    } else if (h == e->height && m.kind == MSG_VOTE) {
        on_vote(e, peer, &m.body.vote);
    } else if (m.kind == MSG_DECIDED) {
        on_decided_msg(e, peer, &m.body.decided);
    } else if (m.kind == MSG_SYNC_REQ) {
        (void)engine_serve_sync(e->l, &e->host, peer, &m.body.sync_req);
    } else if (m.kind == MSG_STATUS) {
        on_status(e, peer, &m.body.status);
    } else if (m.kind == MSG_TXS) {
        on_txs(e, peer, &m.body.txs);
    }
    cons_msg_free(&m);
    if (e->core)
        run_actions(e);
}

void
engine_on_timeout(struct engine *e, uint64_t height, uint32_t round, unsigned step)
{
    if (e->halted || !e->core || !e->started)
        return;
    cons_on_timeout(e->core, height, round, step);
    run_actions(e);
}

void
engine_on_work(struct engine *e)
{
    if (e->halted || !e->core || !e->started)
        return;
    cons_kick(e->core);
    run_actions(e);
}

void
engine_on_peer(struct engine *e, uint32_t peer, const uint8_t key[SIG_PUBKEY_BYTES], bool up,
               bool is_validator)
{
    if (!up) {
        if (e->syncing && e->sync_peer == peer)
            e->syncing = false;
        peer_remove(e, peer);
        return;
    }
    if (!peer_add(e, peer, key, is_validator)) {
        event(e, ENGINE_EV_REFUSED, "peer %u ignored: %d peers already connected", peer,
              ENGINE_PEERS_MAX);
        return;
    }
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    struct cons_msg m = {.kind = MSG_STATUS};
    m.body.status.height = tip.height;
    memcpy(m.body.status.tip, tip.block_hash, HASH_BYTES);
    m.body.status.voting = e->cfg.self >= 0;
    (void)send_msg(e, &m, (int)peer);
}

void
engine_tick(struct engine *e)
{
    struct ledger_tip tip;
    ledger_tip(e->l, &tip);
    if (e->halted) {
        /* Not our messages again: after a failed log write they may not be in the log. */
        if (e->halted_ticks++ % 60 == 0)
            event(e, ENGINE_EV_HALT, "still halted (%s): restart the node once that is mended",
                  e->halt_why);
    } else {
        /* Our latest messages again: peers that lost them (a dropped link) catch up. */
        for (size_t i = 0; i < e->n_own; i++)
            e->host.broadcast(e->host.arg, e->own[i].data, e->own[i].len);
        pol_send(e, false);
    }
    struct cons_msg m = {.kind = MSG_STATUS};
    m.body.status.height = tip.height;
    memcpy(m.body.status.tip, tip.block_hash, HASH_BYTES);
    m.body.status.voting = e->cfg.self >= 0;
    (void)send_msg(e, &m, -1);
    (void)sync_expire(e, clock_ms(e));
    maybe_sync(e, true);
}

/* ---- restore and start ---- */

static void
restore_lock(struct engine *e, const uint8_t *b, size_t len)
{
    if (len < 84 || codec_be64_get(b) != e->height)
        return;
    uint32_t raw_len = codec_be32_get(b + 80);
    if (raw_len != len - 84)
        return;
    int32_t lr = (int32_t)codec_be32_get(b + 8), vr = (int32_t)codec_be32_get(b + 44);
    cons_restore_lock(e->core, lr, b + 12, vr, b + 48);
    e->valid_round = vr;
    memcpy(e->valid_hash, b + 48, HASH_BYTES);
    if (raw_len) {
        /* We locked it because it was valid and 2f+1 prevoted it: no need to check again. */
        struct cached *c = cache_add(e, b + 48, b + 84, raw_len);
        if (c)
            c->checked = c->valid = true;
    }
    e->restored = true;
}

/* A prevote of our valid value's proof: kept to be counted again once we start. */
static void
restore_pol(struct engine *e, const uint8_t *msg, size_t len)
{
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK)
        return;
    bool ours =
        m.kind == MSG_VOTE && m.body.vote.height == e->height && m.body.vote.type == VOTE_PREVOTE;
    cons_msg_free(&m);
    if (!ours || e->n_restored_pol == RESTORED_POL_MAX)
        return;
    if (!e->restored_pol) {
        e->restored_pol = calloc(RESTORED_POL_MAX, sizeof(*e->restored_pol));
        if (!e->restored_pol)
            return;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, msg, len);
    e->restored_pol[e->n_restored_pol++] = (struct idl_bytes){copy, len};
}

void
engine_restore(struct engine *e, const uint8_t *rec, size_t len)
{
    if (!e->core || len < 2)
        return;
    if (rec[0] == WAL_LOCK) {
        restore_lock(e, rec + 1, len - 1);
        return;
    }
    if (rec[0] == WAL_POL) {
        restore_pol(e, rec + 1, len - 1);
        return;
    }
    struct cons_msg m;
    if (rec[0] != WAL_MSG || cons_msg_decode(&m, rec + 1, len - 1) != IDL_OK)
        return;
    if (m.kind == MSG_VOTE && m.body.vote.height == e->height &&
        m.body.vote.validator == e->cfg.self) {
        struct cons_vote v;
        cons_vote_from_msg(&v, &m.body.vote);
        cons_restore_vote(e->core, &v);
        struct idl_bytes raw = {(uint8_t *)(uintptr_t)rec + 1, len - 1};
        own_remember(e, &raw);
        e->restored = true;
    } else if (m.kind == MSG_PROPOSAL && m.body.proposal.height == e->height &&
               m.body.proposal.proposer == e->cfg.self) {
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.proposal.block.data, m.body.proposal.block.len,
                                ledger_chain_id(e->l)) == IDL_OK) {
            struct cached *c =
                cache_add(e, b.hash, m.body.proposal.block.data, m.body.proposal.block.len);
            if (c)
                c->checked = c->valid = true; /* we built it, before the restart */
        } else {
            cons_msg_free(&m);
            return;
        }
        cons_restore_proposal(e->core, m.body.proposal.round);
        if (e->n_restored_props < OWN_MSGS_MAX) {
            struct cons_proposal *rp = &e->restored_props[e->n_restored_props++];
            rp->height = e->height;
            rp->round = m.body.proposal.round;
            rp->valid_round = m.body.proposal.valid_round == MSG_NO_ROUND
                                  ? -1
                                  : (int32_t)m.body.proposal.valid_round;
            memcpy(rp->hash, b.hash, HASH_BYTES);
            rp->valid = true;
        }
        struct idl_bytes raw = {(uint8_t *)(uintptr_t)rec + 1, len - 1};
        own_remember(e, &raw);
        e->restored = true;
        ledger_block_free(&b);
    }
    cons_msg_free(&m);
}

void
engine_start(struct engine *e)
{
    e->started = true;
    if (e->restored && e->core) {
        /* We were in the middle of this height: resume, and say again what we said. */
        for (size_t i = 0; i < e->n_own; i++)
            e->host.broadcast(e->host.arg, e->own[i].data, e->own[i].len);
        cons_kick(e->core);
        /* The proof of our valid value, which we may have to propose again. */
        for (size_t i = 0; i < e->n_restored_pol; i++) {
            struct cons_msg m;
            if (cons_msg_decode(&m, e->restored_pol[i].data, e->restored_pol[i].len) != IDL_OK)
                continue;
            struct cons_vote v;
            cons_vote_from_msg(&v, &m.body.vote);
            cons_on_vote(e->core, &v);
            cons_msg_free(&m);
        }
        restored_pol_clear(e);
        /* Our own proposals count for us as they count for the peers we sent them to. */
        for (size_t i = 0; i < e->n_restored_props; i++)
            cons_on_proposal(e->core, &e->restored_props[i]);
        run_actions(e);
    }
}

idl_err
engine_new(struct engine **out, struct ledger *l, const struct cons_engine_config *cfg,
           const struct cons_host *host)
{
    *out = NULL;
    struct engine *e = calloc(1, sizeof(*e));
    if (!e)
        return IDL_ERR_NOMEM;
    e->l = l;
    e->cfg = *cfg;
    e->host = *host;
    e->vals = ledger_validators(l, &e->n_vals);
    e->valid_round = -1;
    if (held_init(&e->future, FUTURE_MAX, FUTURE_BYTES_MAX, FUTURE_PEER_BYTES_MAX) ||
        held_init(&e->pending, PENDING_MAX, PENDING_BYTES_MAX, PENDING_PEER_BYTES_MAX)) {
        engine_free(e);
        return IDL_ERR_NOMEM;
    }
    if (cfg->self >= 0) {
        struct cons_config cc = {e->vals, e->n_vals, cfg->self, cfg->timeouts};
        idl_err rc = cons_new(&e->core, &cc);
        if (rc) {
            engine_free(e);
            return rc;
        }
    }
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    e->height = tip.height + 1;
    if (e->core)
        cons_start_height(e->core, e->height);
    *out = e;
    return IDL_OK;
}

void
engine_free(struct engine *e)
{
    if (!e)
        return;
    cache_clear(e);
    free(e->cache);
    for (size_t i = 0; i < e->n_own; i++)
        free(e->own[i].data);
    held_clear(&e->future);
    held_clear(&e->pending);
    free(e->future.v);
    free(e->pending.v);
    restored_pol_clear(e);
    for (size_t i = 0; i < e->n_recs; i++)
        free(e->out_recs[i].data);
    for (size_t i = 0; i < e->n_msgs; i++)
        free(e->out_msgs[i].data);
    free(e->out_recs);
    free(e->out_msgs);
    cons_free(e->core);
    free(e);
}

void
engine_status(const struct engine *e, struct engine_status *st)
{
    memset(st, 0, sizeof(*st));
    st->height = e->height;
    st->round = e->core ? cons_round(e->core) : 0;
    st->step = e->core ? cons_step_of(e->core) : 0;
    st->best_peer_height = best_peer_height(e);
    const struct peer *sp = e->syncing ? peer_get((struct engine *)e, e->sync_peer) : NULL;
    st->catching_up = st->best_peer_height >= e->height + 1 || (sp && claim_trusted(sp));
    st->refused = e->refused;
    st->halted = e->halted;
    st->held = e->future.n + e->pending.n;
    st->held_bytes = e->future.bytes + e->pending.bytes;
    st->equivocations = e->equivocations + (e->core ? cons_equivocations(e->core) : 0);
}

idl_err
engine_txs_message(const struct idl_bytes *txs, size_t n, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    if (n == 0 || n > CONS_TXS_MAX)
        return IDL_ERR_INVALID;
    struct msg_tx *items = calloc(n, sizeof(*items));
    if (!items)
        return IDL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        items[i].raw = txs[i];
    struct cons_msg m = {.kind = MSG_TXS};
    m.body.txs.txs.items = items;
    m.body.txs.txs.count = (uint32_t)n;
    idl_err rc = cons_msg_encode(&m, out);
    free(items);
    return rc;
}
