/*
 * Node life cycle, admission into the pool, and what follows a commit. Blocks are decided
 * by the consensus engine (node/bft.c); a single validator is the case n = 1.
 */
#include "node.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ledger/file.h"
#include "node/api.h"
#include "node/bft.h"
#include "node/log.h"

#include <jansson.h>

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
    if (n->bft) {
        bft_gossip(n->bft, raw, len); /* to the validators, wherever it entered */
        bft_work(n->bft);
    }
    return IDL_OK;
}

/* ---- after a commit ---- */

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

idl_err
node_start(struct node *n, char *why, size_t why_len)
{
    idl_err rc = api_start(&n->api, n, why, why_len);
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
    schema_free(&ledger_policy_schema, &n->genesis.policy);
    free(n);
}
