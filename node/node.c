/*
 * Node life cycle, admission, and the single-validator engine.
 *
 * The engine loop sleeps until the pool changes (or, with empty_blocks_ms, until a block is
 * due), takes a block's worth of transactions from the pool, lets the ledger build and
 * execute the block, signs its commit certificate and commits it. Transactions the builder
 * drops for a nonce gap stay in the pool until their predecessor arrives (or they expire);
 * any other drop is remembered as a rejection with its reason.
 */
#include "node.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ledger/file.h"
#include "node/api.h"
#include "node/log.h"

#include <jansson.h>

#define POOL_MAX_AGE_MS (10 * 60 * 1000)

uint64_t
node_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
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
    n->genesis = g.ledger;
    rc = person_keys_new(&n->pkeys, g.chain_secret);
    genesis_wipe(&g); /* from here on only the derived keys exist, in guarded memory */
    if (rc)
        snprintf(why, why_len, "cannot derive the personal-data keys");
    return rc;
}

static idl_err
open_key(struct node *n, const char *passphrase, char *why, size_t why_len)
{
    idl_err rc = wallet_key_load(&n->key, n->cfg.key, passphrase, strlen(passphrase), why,
                                 why_len);
    if (rc)
        return rc;
    n->validator_index = find_validator(&n->genesis, n->key->pk);
    if (!strcmp(n->cfg.role, "validator") && n->validator_index < 0) {
        snprintf(why, why_len, "role is validator but this node's key is not in the genesis "
                               "validator set");
        return IDL_ERR_INVALID;
    }
    if (!strcmp(n->cfg.role, "replica"))
        n->validator_index = -1;
    return IDL_OK;
}

idl_err
node_open(struct node **out, const char *home, const char *passphrase, char *why,
          size_t why_len)
{
    struct node *n = calloc(1, sizeof(*n));
    *out = NULL;
    if (!n)
        return IDL_ERR_NOMEM;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->wake, NULL);
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

idl_err
node_submit(struct node *n, const uint8_t *raw, size_t len, uint8_t txid[HASH_BYTES], char *why,
            size_t why_len)
{
    memset(txid, 0, HASH_BYTES);
    struct ledger_tx tx;
    uint64_t next;
    idl_err rc = ledger_tx_admit(n->ledger, raw, len, &tx, &next, why, why_len);
    if (rc == IDL_OK || rc == IDL_ERR_SIGNATURE || rc == IDL_ERR_NONCE ||
        rc == IDL_ERR_NOT_FOUND)
        hash_tagged(txid, "idledger/txid", raw, len);
    if (rc) {
        atomic_fetch_add(&n->metrics.txs_refused, 1);
        return rc;
    }
    rc = mempool_add(n->pool, tx.id, tx.actor, tx.nonce, raw, len, node_now_ms());
    if (rc == IDL_ERR_EXISTS)
        snprintf(why, why_len, "transaction is already in the pool");
    else if (rc == IDL_ERR_UNAVAILABLE)
        snprintf(why, why_len, "the transaction pool is full; try again shortly");
    ledger_tx_free(&tx);
    if (rc) {
        atomic_fetch_add(&n->metrics.txs_refused, 1);
        return rc;
    }
    atomic_fetch_add(&n->metrics.txs_admitted, 1);
    pthread_mutex_lock(&n->lock);
    n->pool_generation++;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
    return IDL_OK;
}

/* ---- the single-validator engine ---- */

struct drops {
    struct node *n;
    const struct idl_bytes *candidates;
};

static void
on_drop(void *arg, uint32_t index, idl_err code, const char *why)
{
    struct drops *d = arg;
    /* A nonce gap waits for its predecessor; anything else can never succeed. */
    if (code == IDL_ERR_NONCE)
        return;
    uint8_t txid[HASH_BYTES];
    hash_tagged(txid, "idledger/txid", d->candidates[index].data, d->candidates[index].len);
    mempool_remove(d->n->pool, txid, why);
}

static void
commit_sign(struct node *n, const struct ledger_block *b, struct idl_bytes *out)
{
    struct ledger_commit c = {.height = b->header.height, .round = 0};
    struct ledger_commit_sig s = {.validator = (uint16_t)n->validator_index};
    memcpy(c.block_hash, b->hash, HASH_BYTES);
    uint8_t msg[HASH_BYTES];
    ledger_vote_sighash(msg, n->genesis.chain_id, VOTE_PRECOMMIT, c.height, 0, b->hash);
    IDL_ASSERT(sig_sign(s.sig, msg, n->key->sk) == IDL_OK);
    c.sigs.items = &s;
    c.sigs.count = 1;
    if (schema_encode_bytes(&ledger_commit_schema, &c, out) != IDL_OK)
        memset(out, 0, sizeof(*out));
}

void
node_committed(struct node *n, const struct ledger_tx_result *res, uint32_t count,
               uint64_t height, uint64_t us)
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

/* Makes and commits one block. Returns true if it committed one. */
static bool
produce(struct node *n, bool allow_empty)
{
    struct idl_bytes *txs = NULL;
    size_t count = mempool_select(n->pool, n->cfg.block_max_txs, LEDGER_BLOCK_BYTES_MAX - 4096,
                                  &txs);
    if (count == 0 && !allow_empty) {
        free(txs);
        return false;
    }
    uint64_t t0 = node_now_ms();
    struct timespec c0;
    clock_gettime(CLOCK_MONOTONIC, &c0);
    struct drops d = {n, txs};
    struct ledger_exec *ex = NULL;
    idl_err rc = ledger_block_build(n->ledger, txs, (uint32_t)count, t0,
                                    n->genesis.validators[n->validator_index].pubkey, 0, on_drop,
                                    &d, &ex);
    for (size_t i = 0; i < count; i++)
        free(txs[i].data);
    free(txs);
    if (rc) {
        log_error("cannot build a block", "{s:s}", "error", idl_strerror(rc));
        return false;
    }
    uint32_t nres;
    const struct ledger_tx_result *res = ledger_exec_results(ex, &nres);
    if (nres == 0 && !allow_empty) {
        ledger_exec_free(ex);
        return false;
    }
    /* Keep what the pool cleanup needs: the exec is consumed by the commit. */
    struct ledger_tx_result *copy = nres ? malloc(nres * sizeof(*copy)) : NULL;
    if (copy)
        memcpy(copy, res, nres * sizeof(*copy));
    uint64_t height = ledger_exec_block(ex)->header.height;
    struct idl_bytes cert;
    commit_sign(n, ledger_exec_block(ex), &cert);
    rc = ledger_exec_commit(n->ledger, ex, &cert);
    free(cert.data);
    if (rc) {
        log_error("cannot commit a block", "{s:I, s:s}", "height", (json_int_t)height, "error",
                  idl_strerror(rc));
        free(copy);
        return false;
    }
    struct timespec c1;
    clock_gettime(CLOCK_MONOTONIC, &c1);
    uint64_t us = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000 +
                  (uint64_t)((c1.tv_nsec - c0.tv_nsec) / 1000);
    node_committed(n, copy ? copy : res, copy ? nres : 0, height, us);
    free(copy);
    return true;
}

static void *
single_engine(void *arg)
{
    struct node *n = arg;
    uint64_t seen = (uint64_t)-1, last_block = node_now_ms();
    for (;;) {
        pthread_mutex_lock(&n->lock);
        while (!n->stopping && n->pool_generation == seen) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&n->wake, &n->lock, &until);
            if (n->cfg.empty_blocks_ms && node_now_ms() - last_block >= n->cfg.empty_blocks_ms)
                break;
        }
        bool stop = n->stopping;
        seen = n->pool_generation;
        pthread_mutex_unlock(&n->lock);
        if (stop)
            break;
        mempool_expire(n->pool, node_now_ms(), POOL_MAX_AGE_MS);
        bool due = n->cfg.empty_blocks_ms && node_now_ms() - last_block >= n->cfg.empty_blocks_ms;
        /* Keep committing while the pool holds work: one wake may cover many blocks. */
        while (!n->stopping && produce(n, due)) {
            last_block = node_now_ms();
            due = false;
        }
    }
    return NULL;
}

idl_err
node_start(struct node *n, char *why, size_t why_len)
{
    idl_err rc = api_start(&n->api, n, why, why_len);
    if (rc)
        return rc;
    if (n->validator_index >= 0 && n->genesis.n_validators == 1) {
        if (pthread_create(&n->engine, NULL, single_engine, n) != 0) {
            snprintf(why, why_len, "cannot start the engine thread");
            return IDL_ERR_NOMEM;
        }
        n->engine_started = true;
    } else {
        snprintf(why, why_len, "more than one validator needs the BFT engine");
        return IDL_ERR_UNAVAILABLE;
    }
    return IDL_OK;
}

void
node_stop(struct node *n)
{
    pthread_mutex_lock(&n->lock);
    n->stopping = true;
    pthread_cond_broadcast(&n->wake);
    pthread_mutex_unlock(&n->lock);
    if (n->engine_started)
        pthread_join(n->engine, NULL);
    n->engine_started = false;
    api_stop(n->api);
    n->api = NULL;
}

void
node_close(struct node *n)
{
    if (!n)
        return;
    mempool_free(n->pool);
    tokens_close(n->tokens);
    ledger_close(n->ledger);
    store_close(n->store);
    wallet_key_free(n->key);
    person_keys_free(n->pkeys);
    pthread_cond_destroy(&n->wake);
    pthread_mutex_destroy(&n->lock);
    free(n);
}
