/*
 * Node life cycle, admission into the pool, and what follows a commit. Blocks are decided
 * by the consensus engine (node/bft.c); a single validator is the case n = 1.
 */
#include "node.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger/file.h"
#include "node/api.h"
#include "node/bft.h"
#include "node/log.h"
#include "node/readaudit.h"

#include <jansson.h>

/* How far ahead of the clock a genesis_time may be (clocks of the province's machines). */
#define GENESIS_AHEAD_MAX_MS (60 * 60 * 1000)

uint64_t
node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
node_consensus_halted(struct node *n)
{
    return atomic_load(&n->consensus_halted);
}

uint64_t
node_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
find_validator(const struct ledger_genesis *g, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < g->n_validators; i++)
        if (memcmp(g->validators[i].pubkey, pk, SIG_PUBKEY_BYTES) == 0)
            return (int)i;
    return -1;
}

static idl_err
open_genesis(struct node *n, char *why, size_t why_len)
{
    struct genesis g;
    idl_err rc = genesis_load(&g, n->cfg.genesis, why, why_len);
    if (rc)
        return rc;
    /* A block's time is at least its parent's: a chain begun in the future keeps that time,
     * and audit times and certificate validity would be judged by it. */
    if (g.ledger.time_ms > node_now_ms() + GENESIS_AHEAD_MAX_MS) {
        genesis_wipe(&g);
        snprintf(why, why_len, "genesis %s: genesis_time is more than an hour ahead of this "
                 "machine's clock", n->cfg.genesis);
        return IDL_ERR_INVALID;
    }
    struct stat st;
    if (stat(n->cfg.genesis, &st) == 0 && (st.st_mode & 077))
        log_warn("genesis file readable by other users", "{s:s, s:s}", "path", n->cfg.genesis,
                 "hint", "it holds the chain secret: chmod 600");
    n->genesis = g.ledger;
    n->genesis.policy = (struct ledger_policy){0};
    rc = schema_copy(&ledger_policy_schema, &n->genesis.policy, &g.ledger.policy);
    if (!rc)
        rc = person_keys_new(&n->pkeys, g.chain_secret);
    genesis_wipe(&g); /* from here on only the derived keys exist, in guarded memory */
    if (rc)
        snprintf(why, why_len, "cannot derive the personal-data keys");
    n->genesis.pkeys = n->pkeys;
    return rc;
}

static idl_err
open_key(struct node *n, const char *passphrase, char *why, size_t why_len)
{
    idl_err rc = wallet_key_load(&n->key, n->cfg.key, passphrase, strlen(passphrase), why, why_len);
    if (rc)
        return rc;
    n->validator_index = find_validator(&n->genesis, n->key->pk);
    if (!strcmp(n->cfg.role, "validator") && n->validator_index < 0) {
        snprintf(why, why_len,
                 "role is validator but this node's key is not in the genesis "
                 "validator set");
        return IDL_ERR_INVALID;
    }
    if (!strcmp(n->cfg.role, "replica"))
        n->validator_index = -1;
    return IDL_OK;
}

idl_err
node_open(struct node **out, const char *home, const char *passphrase, char *why, size_t why_len)
{
    struct node *n = calloc(1, sizeof(*n));
    *out = NULL;
    if (!n)
        return IDL_ERR_NOMEM;
    idl_err rc = node_config_load(&n->cfg, home, why, why_len);
    if (!rc)
        rc = open_genesis(n, why, why_len);
    if (!rc)
        rc = open_key(n, passphrase, why, why_len);
    if (!rc && (rc = file_mkdirs(n->cfg.data_dir, 0700)) != IDL_OK)
        snprintf(why, why_len, "cannot create data directory %s", n->cfg.data_dir);
    if (!rc)
        rc = store_leveldb_open(&n->store, n->cfg.data_dir, why, why_len);
    if (!rc)
        rc = ledger_open(&n->ledger, n->store, &n->genesis, why, why_len);
    if (!rc && (rc = tokens_open(&n->tokens, home)) != IDL_OK)
        snprintf(why, why_len, "cannot read %s/tokens.json: %s", home, idl_strerror(rc));
    if (!rc && (rc = mempool_new(&n->pool, n->cfg.mempool_max_txs)) != IDL_OK)
        snprintf(why, why_len, "cannot allocate the transaction pool");
    n->open_api = !strcmp(n->cfg.api_auth, "open");
    if (rc) {
        node_close(n);
        return rc;
    }
    *out = n;
    return IDL_OK;
}

/* ---- admission ---- */

/* What the pool needs of an admitted transaction. */
struct admitted {
    char actor[LEDGER_ID_MAX + 1];
    uint64_t nonce;
    uint64_t next;   /* the actor's next nonce on the ledger */
    uint32_t weight; /* what it costs a block: 1, or a batch's record count */
};

/*
 * The checks that need no lock: decode, signature, nonce against the committed state, read
 * through st (the worker's, kept for one request: see admit_worker).
 */
static void
admit_check(struct node *n, struct state *st, const struct idl_bytes *raw,
            struct node_admission *out, struct admitted *a)
{
    struct ledger_tx tx;
    uint64_t next;
    memset(out->txid, 0, HASH_BYTES);
    out->why[0] = '\0';
    /* Pooled already (gossip comes back, pools are sent again): no signature check. */
    uint8_t id[HASH_BYTES];
    hash_tagged(id, "idledger/txid", raw->data, raw->len);
    if (mempool_has(n->pool, id)) {
        memcpy(out->txid, id, HASH_BYTES);
        out->rc = IDL_ERR_EXISTS;
        snprintf(out->why, sizeof(out->why), "transaction is already in the pool");
        return;
    }
    out->rc = st ? ledger_tx_admit_in(n->ledger, st, raw->data, raw->len, &tx, &next, out->why,
                                      sizeof(out->why))
                 : ledger_tx_admit(n->ledger, raw->data, raw->len, &tx, &next, out->why,
                                   sizeof(out->why));
    if (out->rc == IDL_OK || out->rc == IDL_ERR_SIGNATURE || out->rc == IDL_ERR_NONCE ||
        out->rc == IDL_ERR_NOT_FOUND)
        memcpy(out->txid, id, HASH_BYTES);
    if (out->rc)
        return;
    snprintf(a->actor, sizeof(a->actor), "%s", tx.actor);
    a->nonce = tx.nonce;
    a->next = next;
    a->weight = tx.type == TX_ACCOUNT_BATCH_ADD ? (uint32_t)tx.body.batch.records.count : 1;
    ledger_tx_free(&tx);
}

/* Into the pool, after admit_check passed. */
static void
admit_pool(struct node *n, const struct idl_bytes *raw, const struct admitted *a, bool gossip,
           struct node_admission *out)
{
    out->rc = mempool_add(n->pool, out->txid, a->actor, a->nonce, a->next, a->weight, raw->data,
                          raw->len, node_mono_ms(), out->why, sizeof(out->why));
    if (out->rc == IDL_ERR_EXISTS)
        snprintf(out->why, sizeof(out->why), "transaction is already in the pool");
    else if (out->rc == IDL_ERR_UNAVAILABLE)
        snprintf(out->why, sizeof(out->why), "the transaction pool is full; try again shortly");
    if (!out->rc && gossip && n->bft)
        bft_gossip(n->bft, raw->data, raw->len); /* to the validators, wherever it entered */
}

idl_err
node_submit(struct node *n, const uint8_t *raw, size_t len, uint8_t txid[HASH_BYTES], char *why,
            size_t why_len)
{
    struct node_admission res;
    struct idl_bytes b = {(uint8_t *)(uintptr_t)raw, len};
    node_submit_many(n, &b, 1, true, &res);
    memcpy(txid, res.txid, HASH_BYTES);
    if (res.rc)
        snprintf(why, why_len, "%s", res.why);
    return res.rc;
}

/* Below this many transactions the checks run on the calling thread alone. */
#define ADMIT_PARALLEL_MIN 64
#define ADMIT_THREADS_MAX  8
#define ADMIT_CHUNK        16

struct admit_job {
    struct node *n;
    const struct idl_bytes *raws;
    struct node_admission *out;
    struct admitted *a;
    size_t count;
    atomic_size_t next;
};

/*
 * Checks chunks of the job until none is left. The worker's state keeps what it read (a
 * request's transactions mostly share a few actors): it may answer for the committed state
 * of a block or two ago, which is fine for admission, because execution checks every
 * transaction again against the state it runs on.
 */
static void *
admit_worker(void *arg)
{
    struct admit_job *j = arg;
    struct state *st = NULL;
    if (state_new(&st, ledger_store(j->n->ledger)) == IDL_OK)
        state_keep_reads(st);
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, ADMIT_CHUNK);
        if (i >= j->count)
            break;
        size_t end = i + ADMIT_CHUNK < j->count ? i + ADMIT_CHUNK : j->count;
        for (; i < end; i++)
            admit_check(j->n, st, &j->raws[i], &j->out[i], &j->a[i]);
    }
    state_free(st);
    return NULL;
}

void
node_submit_many(struct node *n, const struct idl_bytes *raws, size_t count, bool gossip,
                 struct node_admission *out)
{
    struct admitted one, *a = count > 1 ? calloc(count, sizeof(*a)) : &one;
    if (!a) {
        for (size_t i = 0; i < count; i++) {
            out[i].rc = IDL_ERR_NOMEM;
            snprintf(out[i].why, sizeof(out[i].why), "out of memory");
        }
        return;
    }
    struct admit_job job = {n, raws, out, a, count, 0};
    pthread_t th[ADMIT_THREADS_MAX];
    size_t started = 0;
    if (count >= ADMIT_PARALLEL_MIN) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t want = cores > 1 ? (size_t)cores - 1 : 0;
        if (want > ADMIT_THREADS_MAX)
            want = ADMIT_THREADS_MAX;
        while (started < want && pthread_create(&th[started], NULL, admit_worker, &job) == 0)
            started++;
    }
    admit_worker(&job);
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    size_t added = 0;
    for (size_t i = 0; i < count; i++) {
        if (!out[i].rc)
            admit_pool(n, &raws[i], &a[i], gossip, &out[i]);
        if (out[i].rc) {
            atomic_fetch_add(&n->metrics.txs_refused, 1);
        } else {
            atomic_fetch_add(&n->metrics.txs_admitted, 1);
            added++;
        }
    }
    if (a != &one)
        free(a);
    if (added && n->bft)
        bft_work(n->bft);
}

/* ---- after a commit ---- */

void
node_committed(struct node *n, const struct ledger_tx_result *res, uint32_t count, uint64_t height,
               uint64_t us)
{
    struct mempool_used *used = count ? calloc(count, sizeof(*used)) : NULL;
    uint32_t rejected = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (used) {
            memcpy(used[i].txid, res[i].txid, HASH_BYTES);
            snprintf(used[i].actor, sizeof(used[i].actor), "%s", res[i].actor);
            used[i].nonce = res[i].nonce;
        }
        if (res[i].status == TXS_REJECTED) {
            rejected++;
            char id[HASH_HEX_BYTES];
            codec_hex_encode(id, res[i].txid, HASH_BYTES);
            log_info("transaction refused", "{s:s, s:s, s:s, s:s, s:s}", "txid", id, "type",
                     ledger_tx_type_name(res[i].type), "actor", res[i].actor, "code",
                     idl_errname(res[i].code), "reason", res[i].reason);
        }
    }
    if (used)
        mempool_committed(n->pool, used, count);
    free(used);
    atomic_fetch_add(&n->metrics.blocks, 1);
    atomic_fetch_add(&n->metrics.txs_committed, count - rejected);
    atomic_fetch_add(&n->metrics.txs_rejected, rejected);
    atomic_fetch_add(&n->metrics.commit_us_sum, us);
    log_info("block committed", "{s:I, s:i, s:i, s:f}", "height", (json_int_t)height, "txs",
             (int)count, "refused", (int)rejected, "ms", us / 1000.0);
}

idl_err
node_start(struct node *n, char *why, size_t why_len)
{
    idl_err rc = readaudit_open(&n->readaudit, n->store);
    if (rc)
        snprintf(why, why_len, "cannot start the read-audit log: %s", idl_strerror(rc));
    if (!rc)
        rc = api_start(&n->api, n, why, why_len);
    if (!rc)
        rc = bft_start(&n->bft, n, why, why_len);
    return rc;
}

void
node_stop(struct node *n)
{
    /* Consensus first: it finishes the block it is committing, then nothing writes. */
    bft_stop(n->bft);
    n->bft = NULL;
    api_stop(n->api);
    n->api = NULL;
    readaudit_close(n->readaudit); /* after the API: no read comes in any more */
    n->readaudit = NULL;
}

void
node_close(struct node *n)
{
    if (!n)
        return;
    readaudit_close(n->readaudit); /* if node_start failed after opening it */
    mempool_free(n->pool);
    tokens_close(n->tokens);
    ledger_close(n->ledger);
    store_close(n->store);
    wallet_key_free(n->key);
    person_keys_free(n->pkeys);
    schema_free(&ledger_policy_schema, &n->genesis.policy);
    free(n);
}
