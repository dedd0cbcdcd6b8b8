/*
 * The ledger: genesis, block execution and the commit point.
 *
 * Execution opens one state layer for the block. Each transaction is first authenticated
 * (decoded for this chain, actor found, signature, next nonce); one that is not makes a
 * proposed block invalid, or is dropped when building one. An authenticated transaction
 * uses its nonce whatever happens next, then runs the rules in a layer of its own that is
 * kept or dropped whole. Its result, its audit entries and, if refused, its reason go into
 * the block layer. At commit that layer becomes the block's write batch.
 */
#include "ledger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ledger {
    struct store *store;
    pthread_mutex_t lock; /* guards tip */
    struct ledger_tip tip;
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
    char root[LEDGER_CODE_MAX + 1];
    struct ledger_validator validators[LEDGER_VALIDATORS_MAX];
    size_t n_validators;
    struct ledger_policy policy; /* a deep copy: the ledger owns its lists */
    const struct person_keys *pkeys;
    uint8_t genesis_hash[HASH_BYTES];
};

struct ledger_exec {
    struct ledger_block block;
    struct ledger_tx_result *results;
    uint32_t n_results;
    struct state *st; /* the block layer, open */
    uint8_t state_hash[HASH_BYTES];
    uint64_t base_height;
};

SCHEMA_DEFINE_STATIC(tip_schema, struct ledger_tip, "tip",
                     SF_U64(struct ledger_tip, height, "height"),
                     SF_U64(struct ledger_tip, time_ms, "time_ms"),
                     SF_HASH(struct ledger_tip, block_hash, "block_hash", SCHEMA_OPTIONAL),
                     SF_HASH(struct ledger_tip, state_hash, "state_hash", 0));

static void
meta_key(struct state_key *k, const char *name)
{
    state_key_init(k, SP_META);
    state_key_str(k, name);
}

static void
height_key(struct state_key *k, enum state_space sp, uint64_t height)
{
    state_key_init(k, sp);
    state_key_u64(k, height);
}

__attribute__((format(printf, 4, 5))) static idl_err
fail(char *why, size_t why_len, idl_err rc, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ---- genesis ---- */

static idl_err
genesis_admin_put(struct state *st, const struct rec_account *admin, uint64_t time_ms)
{
    /* Genesis accounts are created, and last changed, at the genesis time. */
    struct rec_account copy = *admin, *a = &copy;
    a->created_time_ms = a->changed_time_ms = time_ms;
    struct state_key k;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, a->id);
    idl_err rc = state_put_rec(st, &k, &rec_account_schema, a);
    state_key_init(&k, SP_ACCOUNT_BY_ORG);
    state_key_str(&k, a->org);
    state_key_str(&k, a->id);
    if (!rc)
        rc = state_put(st, &k, "", 0);
    state_key_init(&k, SP_SLOT);
    state_key_str(&k, a->org);
    uint8_t post = a->post;
    state_key_raw(&k, &post, 1);
    if (!rc)
        rc = state_put(st, &k, a->id, strlen(a->id));
    state_key_init(&k, SP_PUBKEY);
    state_key_raw(&k, a->pubkey, SIG_PUBKEY_BYTES);
    if (!rc)
        rc = state_put(st, &k, a->id, strlen(a->id));
    /* Genesis knows the root admins' persons by key only; their data is entered later. */
    struct ledger_person p = {.doc_type = 1};
    memcpy(p.key, a->person, HASH_BYTES);
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, a->person, HASH_BYTES);
    bool exists = false;
    if (!rc)
        rc = state_has(st, &k, &exists);
    if (!rc && !exists)
        rc = state_put_rec(st, &k, &ledger_person_schema, &p);
    state_key_init(&k, SP_PERSON_ACCOUNT);
    state_key_raw(&k, a->person, HASH_BYTES);
    state_key_str(&k, a->id);
    if (!rc)
        rc = state_put(st, &k, "", 0);
    /* Active since genesis, for "was it active at time t". */
    struct rec_status log = {STATUS_ACTIVE, time_ms};
    state_key_init(&k, SP_STATUS_LOG);
    state_key_str(&k, a->id);
    state_key_u64(&k, 0);
    state_key_u32(&k, 0);
    if (!rc)
        rc = state_put_rec(st, &k, &rec_status_schema, &log);
    if (!rc)
        rc = state_count_move(st, a->org, a->class, STATUS_NONE, a->status);
    return rc;
}

/* The people and keys of the root's three posts: what rules.c checks for any other org. */
static idl_err
genesis_admins_check(const struct ledger_genesis *g, char *why, size_t why_len)
{
    const struct rec_account *a = g->admins;
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++)
        for (int j = 0; j < i; j++) {
            if (strcmp(a[i].id, a[j].id) == 0)
                return fail(why, why_len, IDL_ERR_INVALID,
                            "genesis: the root's %s and %s have the same account id %s",
                            ledger_post_name(a[j].post), ledger_post_name(a[i].post), a[i].id);
            if (memcmp(a[i].pubkey, a[j].pubkey, SIG_PUBKEY_BYTES) == 0)
                return fail(why, why_len, IDL_ERR_INVALID,
                            "genesis: the root's %s and %s have the same public key",
                            ledger_post_name(a[j].post), ledger_post_name(a[i].post));
        }
    if (!memcmp(a[2].person, a[0].person, HASH_BYTES) ||
        !memcmp(a[2].person, a[1].person, HASH_BYTES))
        return fail(why, why_len, IDL_ERR_POLICY,
                    "the root auditor must be a different person from its sysadmin and secadmin");
    /* The root is a province: "schools" does not cover it. */
    if (!memcmp(a[0].person, a[1].person, HASH_BYTES) &&
        g->policy.same_person_sys_sec != SAME_ALWAYS)
        return fail(why, why_len, IDL_ERR_POLICY,
                    "policy %s: the root's sysadmin and secadmin must be different people",
                    ledger_same_person_name(g->policy.same_person_sys_sec));
    return IDL_OK;
}

idl_err
ledger_genesis_check(const struct ledger_genesis *g, char *why, size_t why_len)
{
    if (!g->chain_id[0] || !schema_id_valid(g->chain_id, strlen(g->chain_id), 0))
        return fail(why, why_len, IDL_ERR_INVALID, "genesis chain id is not a valid id");
    if (g->n_validators == 0 || g->n_validators > LEDGER_VALIDATORS_MAX)
        return fail(why, why_len, IDL_ERR_INVALID, "genesis needs 1 to %d validators",
                    LEDGER_VALIDATORS_MAX);
    if (schema_check(&rec_org_schema, &g->root, why, why_len) ||
        schema_check(&ledger_policy_schema, &g->policy, why, why_len))
        return IDL_ERR_INVALID;
    for (int i = 0; i < LEDGER_ROOT_ADMINS; i++) {
        const struct rec_account *a = &g->admins[i];
        if (schema_check(&rec_account_schema, a, why, why_len))
            return IDL_ERR_INVALID;
        if (a->post != (unsigned)(POST_SYSADMIN + i) || strcmp(a->org, g->root.code) != 0 ||
            hash_is_zero(a->pubkey) || hash_is_zero(a->person))
            return fail(why, why_len, IDL_ERR_INVALID,
                        "genesis admins are the root's sysadmin, secadmin and auditor, each "
                        "with a key and a person");
    }
    idl_err rc = genesis_admins_check(g, why, why_len);
    if (rc)
        return rc;
    for (size_t i = 0; i < g->n_validators; i++)
        if (schema_check(&ledger_validator_schema, &g->validators[i], why, why_len) ||
            g->validators[i].power == 0 || g->validators[i].power > LEDGER_VALIDATOR_POWER_MAX)
            return fail(why, why_len, IDL_ERR_INVALID, "validator %zu is invalid", i);
    return IDL_OK;
}

static idl_err
genesis_write(struct ledger *l, const struct ledger_genesis *g)
{
    struct state *st;
    idl_err rc = state_new(&st, l->store);
    if (rc)
        return rc;
    rc = state_begin(st);
    struct state_key k;
    state_key_init(&k, SP_POLICY);
    if (!rc)
        rc = state_put_rec(st, &k, &ledger_policy_schema, &g->policy);
    for (size_t i = 0; !rc && i < g->n_validators; i++) {
        state_key_init(&k, SP_VALIDATORS);
        state_key_u32(&k, (uint32_t)i);
        rc = state_put_rec(st, &k, &ledger_validator_schema, &g->validators[i]);
    }
    state_key_init(&k, SP_ORG);
    state_key_str(&k, g->root.code);
    if (!rc)
        rc = state_put_rec(st, &k, &rec_org_schema, &g->root);
    for (int i = 0; !rc && i < LEDGER_ROOT_ADMINS; i++)
        rc = genesis_admin_put(st, &g->admins[i], g->time_ms);

    uint8_t digest[HASH_BYTES];
    if (!rc)
        rc = state_writes_digest(st, digest);
    struct ledger_tip tip = {.height = 0, .time_ms = g->time_ms};
    state_hash_next(tip.state_hash, g->hash, 0, digest);
    struct store_batch b;
    store_batch_init(&b);
    if (!rc)
        rc = state_take_batch(st, &b);
    struct idl_bytes enc = {0};
    if (!rc)
        rc = schema_encode_bytes(&tip_schema, &tip, &enc);
    meta_key(&k, "tip");
    if (!rc)
        rc = store_batch_put(&b, k.b, k.len, enc.data, enc.len);
    meta_key(&k, "genesis");
    if (!rc)
        rc = store_batch_put(&b, k.b, k.len, g->hash, HASH_BYTES);
    /* Commit point of genesis: the whole initial state in one synced batch. */
    if (!rc)
        rc = store_write(l->store, &b, true);
    if (!rc)
        l->tip = tip;
    free(enc.data);
    store_batch_free(&b);
    state_free(st);
    return rc;
}

static idl_err
tip_load(struct ledger *l)
{
    struct state_key k;
    meta_key(&k, "tip");
    struct idl_bytes v;
    idl_err rc = store_get(l->store, k.b, k.len, &v);
    if (rc)
        return rc == IDL_ERR_NOT_FOUND ? IDL_ERR_CORRUPT : rc;
    rc = schema_decode_bytes(&tip_schema, &l->tip, v.data, v.len);
    free(v.data);
    return rc ? IDL_ERR_CORRUPT : IDL_OK;
}

idl_err
ledger_open(struct ledger **out, struct store *store, const struct ledger_genesis *g, char *why,
            size_t why_len)
{
    *out = NULL;
    idl_err rc = sig_init();
    if (rc)
        return fail(why, why_len, rc, "cannot initialise signatures");
    rc = ledger_genesis_check(g, why, why_len);
    if (rc)
        return rc;
    struct ledger *l = calloc(1, sizeof(*l));
    if (!l)
        return IDL_ERR_NOMEM;
    l->store = store;
    pthread_mutex_init(&l->lock, NULL);
    snprintf(l->chain_id, sizeof(l->chain_id), "%s", g->chain_id);
    snprintf(l->root, sizeof(l->root), "%s", g->root.code);
    memcpy(l->validators, g->validators, g->n_validators * sizeof(g->validators[0]));
    l->n_validators = g->n_validators;
    l->pkeys = g->pkeys;
    if (schema_copy(&ledger_policy_schema, &l->policy, &g->policy) != IDL_OK) {
        pthread_mutex_destroy(&l->lock);
        free(l);
        return IDL_ERR_NOMEM;
    }
    memcpy(l->genesis_hash, g->hash, HASH_BYTES);

    struct state_key k;
    meta_key(&k, "genesis");
    struct idl_bytes v;
    rc = store_get(store, k.b, k.len, &v);
    if (rc == IDL_ERR_NOT_FOUND) {
        rc = genesis_write(l, g);
    } else if (rc == IDL_OK) {
        if (v.len != HASH_BYTES || memcmp(v.data, g->hash, HASH_BYTES) != 0)
            rc = fail(why, why_len, IDL_ERR_CHAIN,
                      "the data directory holds a chain with another genesis");
        free(v.data);
        if (!rc)
            rc = tip_load(l);
    }
    if (rc) {
        if (why && why_len && !why[0])
            snprintf(why, why_len, "cannot open the ledger: %s", idl_strerror(rc));
        ledger_close(l);
        return rc;
    }
    *out = l;
    return IDL_OK;
}

void
ledger_close(struct ledger *l)
{
    if (!l)
        return;
    schema_free(&ledger_policy_schema, &l->policy);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void
ledger_tip(struct ledger *l, struct ledger_tip *tip)
{
    pthread_mutex_lock(&l->lock);
    *tip = l->tip;
    pthread_mutex_unlock(&l->lock);
}

const char *
ledger_chain_id(const struct ledger *l)
{
    return l->chain_id;
}

const struct ledger_validator *
ledger_validators(const struct ledger *l, size_t *n)
{
    *n = l->n_validators;
    return l->validators;
}

const char *
ledger_root(const struct ledger *l)
{
    return l->root;
}

struct store *
ledger_store(struct ledger *l)
{
    return l->store;
}

/* ---- authentication ---- */

/*
 * Decodes and authenticates one transaction against st. On success tx and *actor are
 * filled; otherwise the code says why and tx is freed.
 */
static const struct ledger_exec_opts verify_all = {true, NULL, NULL};

/* Does opts require checking this transaction's signature? */
static bool
must_verify(const struct ledger_exec_opts *opts, const uint8_t txid[HASH_BYTES])
{
    if (!opts)
        return true;
    return opts->verify_sigs && !(opts->preverified && opts->preverified(opts->arg, txid));
}

static idl_err
tx_authenticate(struct ledger *l, struct state *st, const struct idl_bytes *raw,
                const struct ledger_exec_opts *opts, bool exact_nonce, struct ledger_tx *tx,
                struct rec_account *actor, uint64_t *last_nonce, char *why, size_t why_len)
{
    idl_err rc = ledger_tx_decode(tx, raw->data, raw->len, l->chain_id);
    if (rc)
        return fail(why, why_len, rc, "transaction does not decode: %s", idl_strerror(rc));
    rc = state_account_get(st, tx->actor, actor);
    if (rc == IDL_ERR_NOT_FOUND)
        rc = fail(why, why_len, rc, "unknown actor %s", tx->actor);
    else if (!rc && hash_is_zero(actor->pubkey))
        rc = fail(why, why_len, IDL_ERR_SIGNATURE, "%s has no signing key", tx->actor);
    /* The nonce before the signature: a replayed transaction (a peer can gossip every one
     * the chain holds) is refused for one read, not for a signature check of 30 µs. */
    if (!rc)
        rc = state_nonce_get(st, tx->actor, last_nonce);
    if (!rc && (exact_nonce ? tx->nonce != *last_nonce + 1 : tx->nonce <= *last_nonce))
        rc = fail(why, why_len, IDL_ERR_NONCE, "nonce %llu of %s is %s (next is %llu)",
                  (unsigned long long)tx->nonce, tx->actor,
                  tx->nonce <= *last_nonce ? "already used" : "out of order",
                  (unsigned long long)*last_nonce + 1);
    if (!rc && must_verify(opts, tx->id) && !ledger_tx_verify(tx, actor->pubkey))
        rc = fail(why, why_len, IDL_ERR_SIGNATURE, "signature is not %s's", tx->actor);
    if (rc)
        ledger_tx_free(tx);
    return rc;
}

idl_err
ledger_tx_admit_in(struct ledger *l, struct state *st, const uint8_t *raw, size_t len,
                   struct ledger_tx *tx, uint64_t *next_nonce, char *why, size_t why_len)
{
    struct rec_account actor;
    uint64_t last = 0;
    *next_nonce = 0;
    memset(tx, 0, sizeof(*tx));
    struct idl_bytes b = {(uint8_t *)(uintptr_t)raw, len};
    idl_err rc = tx_authenticate(l, st, &b, &verify_all, false, tx, &actor, &last, why, why_len);
    *next_nonce = last + 1;
    return rc;
}

idl_err
ledger_tx_admit(struct ledger *l, const uint8_t *raw, size_t len, struct ledger_tx *tx,
                uint64_t *next_nonce, char *why, size_t why_len)
{
    struct state *st;
    *next_nonce = 0;
    memset(tx, 0, sizeof(*tx));
    idl_err rc = state_new(&st, l->store);
    if (rc)
        return rc;
    rc = ledger_tx_admit_in(l, st, raw, len, tx, next_nonce, why, why_len);
    state_free(st);
    return rc;
}

/* ---- execution ---- */

static idl_err
audit_put(struct state *st, const struct ledger_tx *tx, const struct rec_account *actor,
          const struct rules_ctx *ctx, const struct ledger_tx_result *res)
{
    /* A batch that applied has one entry per record, written by the rules. */
    if (tx->type == TX_ACCOUNT_BATCH_ADD && res->status == TXS_COMMITTED)
        return IDL_OK;
    struct rec_audit e = {0};
    memcpy(e.txid, tx->id, HASH_BYTES);
    e.type = tx->type;
    snprintf(e.actor, sizeof(e.actor), "%s", tx->actor);
    snprintf(e.actor_org, sizeof(e.actor_org), "%s", actor->org);
    e.actor_post = actor->post;
    if (tx->type == TX_CERT_FREEZE || tx->type == TX_CERT_UNFREEZE || tx->type == TX_CERT_REVOKE)
        codec_hex_encode(e.target, tx->body.cert_op.fingerprint, HASH_BYTES);
    else
        snprintf(e.target, sizeof(e.target), "%s", ledger_tx_target(tx));
    memcpy(e.basis, tx->basis, HASH_BYTES);
    e.height = ctx->height;
    e.index = ctx->index;
    e.time_ms = ctx->time_ms;
    e.status = res->status;
    e.code = (uint8_t)res->code;
    return state_audit_put(st, actor->org, &e);
}

static idl_err
result_put(struct state *st, const struct rules_ctx *ctx, const struct ledger_tx_result *res)
{
    struct rec_tx t = {ctx->height, ctx->index, res->status, (uint8_t)res->code};
    struct state_key k;
    state_key_init(&k, SP_TX);
    state_key_raw(&k, res->txid, HASH_BYTES);
    idl_err rc = state_put_rec(st, &k, &rec_tx_schema, &t);
    if (!rc && res->status == TXS_REJECTED) {
        state_key_init(&k, SP_REASON);
        state_key_raw(&k, res->txid, HASH_BYTES);
        rc = state_put(st, &k, res->reason, strlen(res->reason));
    }
    return rc;
}

/*
 * Executes one transaction in the top layer of st. Returns IDL_OK once it is authenticated
 * (whether the rules accepted it or not: see res), or the authentication failure.
 */
static idl_err
exec_tx(struct ledger *l, struct state *st, const struct rules_ctx *ctx,
        const struct idl_bytes *raw, const struct ledger_exec_opts *opts,
        struct ledger_tx_result *res, char *why, size_t why_len)
{
    struct ledger_tx tx;
    struct rec_account actor;
    uint64_t last;
    memset(res, 0, sizeof(*res));
    idl_err rc = tx_authenticate(l, st, raw, opts, true, &tx, &actor, &last, why, why_len);
    if (rc)
        return rc;
    memcpy(res->txid, tx.id, HASH_BYTES);
    snprintf(res->actor, sizeof(res->actor), "%s", tx.actor);
    res->nonce = tx.nonce;
    res->type = tx.type;

    /* The nonce is used from here on, accepted or not, so a refused operation can never be
     * replayed later when it might succeed. */
    struct state_key k;
    state_key_init(&k, SP_NONCE);
    state_key_str(&k, tx.actor);
    uint8_t nb[8];
    codec_be64_put(nb, tx.nonce);
    rc = state_put(st, &k, nb, 8);

    if (!rc)
        rc = state_begin(st);
    if (!rc) {
        res->code = rules_apply(st, ctx, &tx, &actor, res->reason, sizeof(res->reason));
        if (res->code == IDL_OK) {
            res->status = TXS_COMMITTED;
            rc = state_commit(st);
        } else {
            res->status = TXS_REJECTED;
            state_rollback(st);
            /* Resource failures are ours, not the transaction's: never record them. */
            if (res->code == IDL_ERR_NOMEM || res->code == IDL_ERR_IO ||
                res->code == IDL_ERR_CORRUPT)
                rc = res->code;
        }
    }
    if (!rc)
        rc = result_put(st, ctx, res);
    if (!rc)
        rc = audit_put(st, &tx, &actor, ctx, res);
    ledger_tx_free(&tx);
    return rc;
}

static bool
is_validator(const struct ledger *l, const uint8_t pk[SIG_PUBKEY_BYTES])
{
    for (size_t i = 0; i < l->n_validators; i++)
        if (memcmp(l->validators[i].pubkey, pk, SIG_PUBKEY_BYTES) == 0)
            return true;
    return false;
}

static idl_err
header_check(struct ledger *l, const struct ledger_tip *tip, const struct ledger_block_header *h,
             char *why, size_t why_len)
{
    if (strcmp(h->chain_id, l->chain_id) != 0)
        return fail(why, why_len, IDL_ERR_CHAIN, "block is for chain %s", h->chain_id);
    if (h->height != tip->height + 1)
        return fail(why, why_len, IDL_ERR_INVALID, "block height %llu does not follow %llu",
                    (unsigned long long)h->height, (unsigned long long)tip->height);
    if (memcmp(h->prev_hash, tip->block_hash, HASH_BYTES) != 0)
        return fail(why, why_len, IDL_ERR_INVALID, "block does not extend the tip");
    if (memcmp(h->app_hash, tip->state_hash, HASH_BYTES) != 0)
        return fail(why, why_len, IDL_ERR_INVALID,
                    "block names a state hash that differs from ours at height %llu",
                    (unsigned long long)tip->height);
    if (h->time_ms < tip->time_ms)
        return fail(why, why_len, IDL_ERR_INVALID, "block time goes backwards");
    if (!is_validator(l, h->proposer))
        return fail(why, why_len, IDL_ERR_INVALID, "block proposer is not a validator");
    return IDL_OK;
}

static idl_err
exec_new(struct ledger *l, struct ledger_exec **out, uint32_t n)
{
    struct ledger_exec *ex = calloc(1, sizeof(*ex));
    *out = ex;
    if (!ex)
        return IDL_ERR_NOMEM;
    ex->results = calloc(n ? n : 1, sizeof(*ex->results));
    idl_err rc = ex->results ? state_new(&ex->st, l->store) : IDL_ERR_NOMEM;
    if (!rc)
        state_keep_reads(ex->st);
    if (!rc)
        rc = state_begin(ex->st);
    if (rc) {
        ledger_exec_free(ex);
        *out = NULL;
    }
    return rc;
}

static idl_err
exec_finish(struct ledger_exec *ex, const struct ledger_tip *tip)
{
    uint8_t digest[HASH_BYTES];
    idl_err rc = state_writes_digest(ex->st, digest);
    if (rc)
        return rc;
    state_hash_next(ex->state_hash, tip->state_hash, ex->block.header.height, digest);
    ex->base_height = tip->height;
    return IDL_OK;
}

idl_err
ledger_block_execute(struct ledger *l, const struct ledger_block *b,
                     const struct ledger_exec_opts *opts, struct ledger_exec **out, char *why,
                     size_t why_len)
{
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    *out = NULL;
    idl_err rc = header_check(l, &tip, &b->header, why, why_len);
    if (rc)
        return rc;
    struct ledger_exec *ex;
    rc = exec_new(l, &ex, b->header.tx_count);
    if (rc)
        return rc;
    rc = ledger_block_assemble(&ex->block, &b->header, b->txs, b->header.tx_count);
    if (!rc && memcmp(ex->block.hash, b->hash, HASH_BYTES) != 0)
        rc = fail(why, why_len, IDL_ERR_INVALID, "block hash does not match its contents");
    char txwhy[LEDGER_WHY_MAX];
    for (uint32_t i = 0; !rc && i < b->header.tx_count; i++) {
        struct rules_ctx ctx = {b->header.height, i,       b->header.time_ms,
                                &l->policy,       l->root, l->pkeys};
        rc = exec_tx(l, ex->st, &ctx, &b->txs[i], opts, &ex->results[i], txwhy, sizeof(txwhy));
        if (rc)
            fail(why, why_len, rc, "transaction %u: %s", i, txwhy);
        ex->n_results = i + 1;
    }
    if (!rc)
        rc = exec_finish(ex, &tip);
    if (rc) {
        ledger_exec_free(ex);
        return rc;
    }
    *out = ex;
    return IDL_OK;
}

idl_err
ledger_block_build(struct ledger *l, const struct idl_bytes *txs, uint32_t n, uint64_t time_ms,
                   const uint8_t proposer[SIG_PUBKEY_BYTES], const struct ledger_exec_opts *opts,
                   ledger_drop_fn on_drop, void *arg, struct ledger_exec **out)
{
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    *out = NULL;
    struct ledger_exec *ex;
    idl_err rc = exec_new(l, &ex, n);
    if (rc)
        return rc;
    struct idl_bytes *kept = calloc(n ? n : 1, sizeof(*kept));
    if (!kept) {
        ledger_exec_free(ex);
        return IDL_ERR_NOMEM;
    }
    struct ledger_block_header h = {.version = LEDGER_BLOCK_VERSION, .height = tip.height + 1};
    snprintf(h.chain_id, sizeof(h.chain_id), "%s", l->chain_id);
    h.time_ms = time_ms > tip.time_ms ? time_ms : tip.time_ms;
    memcpy(h.prev_hash, tip.block_hash, HASH_BYTES);
    memcpy(h.app_hash, tip.state_hash, HASH_BYTES);
    memcpy(h.proposer, proposer, SIG_PUBKEY_BYTES);

    size_t bytes = 256;
    uint32_t k = 0;
    char why[LEDGER_WHY_MAX];
    for (uint32_t i = 0; !rc && i < n; i++) {
        if (k == LEDGER_BLOCK_TXS_MAX || bytes + 4 + txs[i].len > LEDGER_BLOCK_BYTES_MAX)
            break; /* full: the rest wait for the next block */
        struct rules_ctx ctx = {h.height, k, h.time_ms, &l->policy, l->root, l->pkeys};
        rc = state_begin(ex->st);
        if (rc)
            break;
        idl_err trc = exec_tx(l, ex->st, &ctx, &txs[i], opts, &ex->results[k], why, sizeof(why));
        if (trc == IDL_ERR_NOMEM || trc == IDL_ERR_IO || trc == IDL_ERR_CORRUPT) {
            state_rollback(ex->st);
            rc = trc;
        } else if (trc) {
            state_rollback(ex->st);
            if (on_drop)
                on_drop(arg, i, trc, why);
        } else {
            rc = state_commit(ex->st);
            kept[k++] = txs[i];
            bytes += 4 + txs[i].len;
        }
    }
    ex->n_results = k;
    if (!rc)
        rc = ledger_block_assemble(&ex->block, &h, kept, k);
    free(kept);
    if (!rc)
        rc = exec_finish(ex, &tip);
    if (rc) {
        ledger_exec_free(ex);
        return rc;
    }
    *out = ex;
    return IDL_OK;
}

const struct ledger_block *
ledger_exec_block(const struct ledger_exec *ex)
{
    return &ex->block;
}

const struct ledger_tx_result *
ledger_exec_results(const struct ledger_exec *ex, uint32_t *n)
{
    *n = ex->n_results;
    return ex->results;
}

void
ledger_exec_state_hash(const struct ledger_exec *ex, uint8_t out[HASH_BYTES])
{
    memcpy(out, ex->state_hash, HASH_BYTES);
}

void
ledger_exec_free(struct ledger_exec *ex)
{
    if (!ex)
        return;
    ledger_block_free(&ex->block);
    free(ex->results);
    state_free(ex->st);
    free(ex);
}

idl_err
ledger_exec_commit(struct ledger *l, struct ledger_exec *ex, const struct idl_bytes *commit)
{
    return ledger_exec_commit_lazy(l, ex, commit, true);
}

idl_err
ledger_exec_commit_lazy(struct ledger *l, struct ledger_exec *ex, const struct idl_bytes *commit,
                        bool durable)
{
    struct ledger_tip tip;
    ledger_tip(l, &tip);
    if (tip.height != ex->base_height) {
        ledger_exec_free(ex);
        return IDL_ERR_STATE;
    }
    const struct ledger_block *b = &ex->block;
    struct ledger_tip next = {b->header.height, b->header.time_ms, {0}, {0}};
    memcpy(next.block_hash, b->hash, HASH_BYTES);
    memcpy(next.state_hash, ex->state_hash, HASH_BYTES);

    struct store_batch batch;
    store_batch_init(&batch);
    struct idl_bytes enc = {0}, tipenc = {0};
    idl_err rc = state_take_batch(ex->st, &batch);
    if (!rc)
        rc = ledger_block_encode(b, &enc);
    struct state_key k;
    height_key(&k, SP_BLOCK, next.height);
    if (!rc)
        rc = store_batch_put(&batch, k.b, k.len, enc.data, enc.len);
    height_key(&k, SP_COMMIT, next.height);
    if (!rc && commit && commit->len)
        rc = store_batch_put(&batch, k.b, k.len, commit->data, commit->len);
    state_key_init(&k, SP_BLOCK_HASH);
    state_key_raw(&k, b->hash, HASH_BYTES);
    uint8_t hb[8];
    codec_be64_put(hb, next.height);
    if (!rc)
        rc = store_batch_put(&batch, k.b, k.len, hb, 8);
    if (!rc)
        rc = schema_encode_bytes(&tip_schema, &next, &tipenc);
    meta_key(&k, "tip");
    if (!rc)
        rc = store_batch_put(&batch, k.b, k.len, tipenc.data, tipenc.len);
    /*
     * The commit point: the block, its certificate, its state changes and the new tip in
     * one batch, synced unless the caller can fetch the block again. A crash before this
     * leaves the previous tip intact; after it, the whole block is there.
     */
    if (!rc)
        rc = store_write(l->store, &batch, durable);
    if (!rc) {
        pthread_mutex_lock(&l->lock);
        l->tip = next;
        pthread_mutex_unlock(&l->lock);
    }
    free(enc.data);
    free(tipenc.data);
    store_batch_free(&batch);
    ledger_exec_free(ex);
    return rc;
}

idl_err
ledger_block_get(struct ledger *l, uint64_t height, struct ledger_block *b,
                 struct idl_bytes *commit)
{
    memset(b, 0, sizeof(*b));
    if (commit)
        memset(commit, 0, sizeof(*commit));
    struct state_key k;
    height_key(&k, SP_BLOCK, height);
    struct idl_bytes v;
    idl_err rc = store_get(l->store, k.b, k.len, &v);
    if (rc)
        return rc;
    rc = ledger_block_decode(b, v.data, v.len, l->chain_id);
    free(v.data);
    if (rc)
        return IDL_ERR_CORRUPT;
    if (commit) {
        height_key(&k, SP_COMMIT, height);
        rc = store_get(l->store, k.b, k.len, commit);
        if (rc == IDL_ERR_NOT_FOUND)
            rc = IDL_OK;
    }
    if (rc)
        ledger_block_free(b);
    return rc;
}
