/*
 * The endpoints of docs/API.md. Handlers read the committed store (through a struct state
 * with no layer open, or query_scan for ranges), build a JSON reply, and never hold a lock
 * across a store read. Personal data leaves this file only masked (person_mask), or not at
 * all.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "ledger/codec.h"
#include "ledger/idnum.h"
#include "ledger/query.h"
#include "node/api_internal.h"
#include "node/bft.h"
#include "node/jsonw.h"
#include "node/log.h"

#ifndef IDL_VERSION
#define IDL_VERSION "dev"
#endif

/* A state view over the committed store, or NULL with a 500 reply set. */
static struct state *
view(struct api_req *r)
{
    struct state *st;
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK) {
        api_error(r, 500, "nomem", "out of memory");
        return NULL;
    }
    return st;
}

static int
hex_arg(struct api_req *r, const char *s, uint8_t *out, size_t n, const char *what)
{
    if (codec_hex_decode(out, n, s) != IDL_OK) {
        api_error(r, 400, "malformed", "%s must be %zu bytes of hex", what, n);
        return 0;
    }
    return 1;
}

/* ---- chain ---- */

void
api_h_status(struct api_req *r)
{
    struct node *n = r->n;
    struct ledger_tip tip;
    ledger_tip(n->ledger, &tip);
    json_t *vals = json_array();
    for (size_t i = 0; i < n->genesis.n_validators; i++)
        json_array_append_new(vals,
                              json_pack("{s:s, s:o, s:I}", "name", n->genesis.validators[i].name,
                                        "pubkey", api_hex(n->genesis.validators[i].pubkey, 32),
                                        "power", (json_int_t)n->genesis.validators[i].power));
    api_reply(r, 200,
              json_pack("{s:s, s:I, s:s, s:s, s:o, s:b, s:b, s:o, s:o, s:I, s:{s:I}, s:s}", "chain_id",
                        n->genesis.chain_id, "height", (json_int_t)tip.height, "node_id",
                        n->cfg.node_id, "role", n->validator_index >= 0 ? "validator" : "replica",
                        "validators", vals, "catching_up", (int)atomic_load(&n->catching_up),
                        "halted", (int)node_consensus_halted(n),
                        "block_hash", api_hex(tip.block_hash, HASH_BYTES), "state_hash",
                        api_hex(tip.state_hash, HASH_BYTES), "time", (json_int_t)tip.time_ms,
                        "mempool", "txs", (json_int_t)mempool_count(n->pool), "version",
                        IDL_VERSION));
}

/* The bytes of one hex-encoded transaction into raw (to free), or the refusal into bad. */
static idl_err
hex_tx(const char *hex, struct idl_bytes *raw, struct node_admission *bad)
{
    size_t len = hex ? strlen(hex) : 0;
    memset(bad, 0, sizeof(*bad));
    if (!hex || len == 0 || len % 2 || len / 2 > LEDGER_TX_BYTES_MAX) {
        bad->rc = len / 2 > LEDGER_TX_BYTES_MAX ? IDL_ERR_TOO_LARGE : IDL_ERR_MALFORMED;
        snprintf(bad->why, sizeof(bad->why), "tx must be the hex of one encoded transaction");
        return bad->rc;
    }
    raw->data = malloc(len / 2);
    raw->len = len / 2;
    if (!raw->data) {
        bad->rc = IDL_ERR_NOMEM;
        snprintf(bad->why, sizeof(bad->why), "out of memory");
        return bad->rc;
    }
    if (codec_hex_decode(raw->data, raw->len, hex) != IDL_OK) {
        free(raw->data);
        raw->data = NULL;
        bad->rc = IDL_ERR_MALFORMED;
        snprintf(bad->why, sizeof(bad->why), "tx is not valid hex");
        return bad->rc;
    }
    return IDL_OK;
}

void
api_h_tx_post(struct api_req *r)
{
    static const char *const allowed[] = {"tx", NULL};
    json_t *body = api_body_object(r, allowed);
    if (!body)
        return;
    struct idl_bytes raw;
    struct node_admission a;
    if (hex_tx(json_string_value(json_object_get(body, "tx")), &raw, &a) == IDL_OK) {
        node_submit_many(r->n, &raw, 1, true, &a);
        free(raw.data);
    }
    json_decref(body);
    if (a.rc) {
        api_fail(r, a.rc, a.why);
        return;
    }
    api_reply(r, 202, json_pack("{s:o}", "txid", api_hex(a.txid, HASH_BYTES)));
}

/* The most transactions one POST /v1/txs may carry. */
#define API_TXS_MAX 10000

/*
 * The transactions of a binary body (Content-Type: application/octet-stream): each is
 * `u32 length (big-endian) | encoded transaction`, back to back. Entries point into the
 * body (nothing to free but the array). Returns the count, or sets a 400 reply and returns
 * SIZE_MAX. This is the bulk path (loaders, the benchmark): no JSON and no hex per
 * transaction.
 */
static size_t
txs_from_frames(struct api_req *r, struct idl_bytes **out)
{
    /* Two passes over the frames: count (and check), then point. */
    size_t count = 0;
    struct codec_reader rd;
    codec_reader_init(&rd, r->body, r->body_len);
    while (codec_reader_left(&rd) && count <= API_TXS_MAX) {
        uint32_t len = codec_get_u32(&rd);
        if (len == 0 || len > LEDGER_TX_BYTES_MAX || !codec_get_view(&rd, len))
            codec_reader_fail(&rd);
        if (rd.failed)
            break;
        count++;
    }
    if (codec_reader_finish(&rd) != IDL_OK || count > API_TXS_MAX) {
        api_error(r, 400, "malformed",
                  "the body must be at most %d transactions, each a u32 big-endian length "
                  "(1 to %d) and that many bytes",
                  API_TXS_MAX, LEDGER_TX_BYTES_MAX);
        return SIZE_MAX;
    }
    struct idl_bytes *raws = calloc(count ? count : 1, sizeof(*raws));
    if (!raws) {
        api_fail(r, IDL_ERR_NOMEM, "out of memory");
        return SIZE_MAX;
    }
    codec_reader_init(&rd, r->body, r->body_len);
    for (size_t i = 0; i < count; i++) {
        raws[i].len = codec_get_u32(&rd);
        raws[i].data = (uint8_t *)(uintptr_t)codec_get_view(&rd, raws[i].len);
    }
    *out = raws;
    return count;
}

/*
 * Admits raws[0..count) (entries refused before admission, e.g. bad hex, have slot 0 and
 * their refusal in pre[i]) and sets the reply: {"accepted", "results": [{"txid"} or
 * {"error"}]} in request order.
 */
static void
txs_admit_reply(struct api_req *r, const struct idl_bytes *raws, size_t n_raw,
                const struct node_admission *pre, const size_t *slot, size_t count)
{
    struct node_admission *done = calloc(n_raw ? n_raw : 1, sizeof(*done));
    if (done)
        node_submit_many(r->n, raws, n_raw, true, done);
    static const struct node_admission nomem = {IDL_ERR_NOMEM, {0}, "out of memory"};
    json_t *results = json_array();
    int accepted = 0;
    for (size_t i = 0; i < count; i++) {
        const struct node_admission *a = slot ? &pre[i] : NULL;
        if (!slot || slot[i])
            a = done ? &done[slot ? slot[i] - 1 : i] : &nomem;
        if (!a->rc) {
            accepted++;
            json_array_append_new(results,
                                  json_pack("{s:o}", "txid", api_hex(a->txid, HASH_BYTES)));
        } else {
            json_array_append_new(results, json_pack("{s:{s:s, s:s}}", "error", "code",
                                                     idl_errname(a->rc), "message", a->why));
        }
    }
    free(done);
    api_reply(r, 200, json_pack("{s:i, s:o}", "accepted", accepted, "results", results));
}

void
api_h_txs_post(struct api_req *r)
{
    if (r->body_binary) {
        struct idl_bytes *raws;
        size_t count = txs_from_frames(r, &raws);
        if (count == SIZE_MAX)
            return;
        txs_admit_reply(r, raws, count, NULL, NULL, count);
        free(raws);
        return;
    }
    static const char *const allowed[] = {"txs", NULL};
    json_t *body = api_body_object(r, allowed);
    if (!body)
        return;
    json_t *list = json_object_get(body, "txs");
    if (!json_is_array(list) || json_array_size(list) > API_TXS_MAX) {
        json_decref(body);
        api_error(r, 400, "malformed", "txs must be a list of at most %d hex transactions",
                  API_TXS_MAX);
        return;
    }
    /* Decode every entry first, so that the checks of the whole list run in parallel. */
    size_t count = json_array_size(list);
    struct idl_bytes *raws = calloc(count ? count : 1, sizeof(*raws));
    struct node_admission *adm = calloc(count ? count : 1, sizeof(*adm));
    size_t *slot = calloc(count ? count : 1, sizeof(*slot)); /* entry -> raws index + 1 */
    if (!raws || !adm || !slot) {
        free(raws);
        free(adm);
        free(slot);
        json_decref(body);
        api_fail(r, IDL_ERR_NOMEM, "out of memory");
        return;
    }
    size_t n_raw = 0, i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (hex_tx(json_string_value(e), &raws[n_raw], &adm[i]) == IDL_OK)
            slot[i] = ++n_raw;
    }
    json_decref(body);
    txs_admit_reply(r, raws, n_raw, adm, slot, count);
    for (i = 0; i < n_raw; i++)
        free(raws[i].data);
    free(raws);
    free(adm);
    free(slot);
}

/* The transaction at (height, index): type, actor and target, from its block. */
static void
tx_details(struct api_req *r, uint64_t height, uint32_t index, json_t *out)
{
    struct ledger_block b;
    if (ledger_block_get(r->n->ledger, height, &b, NULL) != IDL_OK)
        return;
    struct ledger_tx tx;
    if (index < b.header.tx_count && ledger_tx_decode(&tx, b.txs[index].data, b.txs[index].len,
                                                      r->n->genesis.chain_id) == IDL_OK) {
        json_object_set_new(out, "type", json_string(ledger_tx_type_name(tx.type)));
        json_object_set_new(out, "actor", json_string(tx.actor));
        bool cert_op =
            tx.type == TX_CERT_FREEZE || tx.type == TX_CERT_UNFREEZE || tx.type == TX_CERT_REVOKE;
        json_object_set_new(out, "target",
                            cert_op ? api_hex(tx.body.cert_op.fingerprint, 32)
                                    : json_string(ledger_tx_target(&tx)));
        ledger_tx_free(&tx);
    }
    ledger_block_free(&b);
}

/*
 * Records the read of a transaction's parties: an answer that names its actor (and its
 * target, when that is another account) tells who did what to whom, so each is filed
 * under its organisation like any other read of an account.
 */
static void
audit_tx_parties(struct api_req *r, const char *endpoint, json_t *tx)
{
    const char *actor = json_string_value(json_object_get(tx, "actor"));
    const char *target = json_string_value(json_object_get(tx, "target"));
    if (actor && actor[0])
        api_read_audit(r, endpoint, actor);
    if (!target || !target[0] || (actor && !strcmp(actor, target)))
        return;
    struct state *st;
    struct rec_account a;
    if (state_new(&st, ledger_store(r->n->ledger)) != IDL_OK)
        return;
    idl_err rc = state_account_get(st, target, &a); /* an organisation or a certificate */
    state_free(st);
    if (rc == IDL_OK)
        api_read_audit_org(r, endpoint, a.id, a.org);
}

/* The recorded reason of a refused transaction, or of record - 1 of a batch ("" if none). */
static void
reason_of(struct api_req *r, const uint8_t txid[HASH_BYTES], uint32_t record, char *out, size_t n)
{
    struct state_key k;
    state_key_init(&k, SP_REASON);
    state_key_raw(&k, txid, HASH_BYTES);
    if (record)
        state_key_u32(&k, record - 1);
    struct idl_bytes v;
    out[0] = '\0';
    if (store_get(ledger_store(r->n->ledger), k.b, k.len, &v) == IDL_OK) {
        snprintf(out, n, "%.*s", (int)v.len, (const char *)v.data);
        free(v.data);
    }
}

struct records {
    struct api_req *r;
    const uint8_t *txid;
    json_t *list;
    size_t prefix_len;
};

static int
collect_record(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct records *c = arg;
    struct rec_tx t;
    if (kl != c->prefix_len + 4 || schema_decode_bytes(&rec_tx_schema, &t, val, vl) != IDL_OK)
        return 0;
    uint32_t i = codec_be32_get(key + c->prefix_len);
    char reason[LEDGER_WHY_MAX];
    reason_of(c->r, c->txid, i + 1, reason, sizeof(reason));
    json_array_append_new(c->list,
                          json_pack("{s:i, s:s, s:s, s:s}", "record", (int)i, "state", "rejected",
                                    "code", idl_errname((idl_err)t.code), "reason", reason));
    return 0;
}

/* The refused records of a batch transaction (the others applied). */
static json_t *
refused_records(struct api_req *r, const uint8_t txid[HASH_BYTES])
{
    struct state_key k;
    state_key_init(&k, SP_RECORD);
    state_key_raw(&k, txid, HASH_BYTES);
    struct records c = {r, txid, json_array(), k.len};
    if (query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_record, &c) != IDL_OK) {
        json_decref(c.list);
        return json_null(); /* unknown, rather than a wrong empty list */
    }
    return c.list;
}

void
api_h_tx_get(struct api_req *r)
{
    uint8_t txid[HASH_BYTES];
    if (!hex_arg(r, r->segs[2], txid, HASH_BYTES, "txid"))
        return;
    /* The pool first, the ledger second: a block's transactions leave the pool only after
     * the block is written, so a transaction the pool no longer holds (or holds as dropped:
     * an admission that saw the new nonce first may drop one the block just used) is found
     * in the ledger if it committed. Asked the other way round, a commit between the two
     * lookups would answer "rejected" for a committed transaction. */
    char reason[LEDGER_WHY_MAX] = "";
    bool pending = mempool_has(r->n->pool, txid);
    bool dropped = !pending && mempool_dropped(r->n->pool, txid, reason);
    struct state *st = view(r);
    if (!st)
        return;
    struct state_key k;
    state_key_init(&k, SP_TX);
    state_key_raw(&k, txid, HASH_BYTES);
    struct rec_tx t;
    idl_err rc = state_get_rec(st, &k, &rec_tx_schema, &t);
    state_free(st);
    json_t *out = json_pack("{s:o}", "txid", api_hex(txid, HASH_BYTES));
    if (rc == IDL_OK) {
        reason[0] = '\0';
        if (t.status == TXS_REJECTED)
            reason_of(r, txid, 0, reason, sizeof(reason));
        json_object_set_new(out, "state", json_string(ledger_tx_status_name(t.status)));
        json_object_set_new(out, "height", json_integer((json_int_t)t.height));
        json_object_set_new(out, "index", json_integer(t.index));
        json_object_set_new(out, "reason", json_string(reason));
        if (t.status == TXS_REJECTED)
            json_object_set_new(out, "code", json_string(idl_errname((idl_err)t.code)));
        tx_details(r, t.height, t.index, out);
        json_object_set_new(out, "records", refused_records(r, txid));
        audit_tx_parties(r, "GET /v1/tx", out);
    } else if (rc == IDL_ERR_NOT_FOUND && pending) {
        json_object_set_new(out, "state", json_string("pending"));
        json_object_set_new(out, "height", json_null());
        json_object_set_new(out, "reason", json_string(""));
    } else if (rc == IDL_ERR_NOT_FOUND && dropped) {
        json_object_set_new(out, "state", json_string("rejected"));
        json_object_set_new(out, "height", json_null());
        json_object_set_new(out, "reason", json_string(reason));
    } else {
        json_decref(out);
        if (rc == IDL_ERR_NOT_FOUND)
            api_error(r, 404, "not_found", "no transaction %.64s on this node", r->segs[2]);
        else
            api_fail(r, rc, NULL);
        return;
    }
    api_reply(r, 200, out);
}

void
api_h_nonce(struct api_req *r)
{
    const char *id = r->segs[2];
    struct state *st = view(r);
    if (!st)
        return;
    uint64_t last = 0;
    struct rec_account a;
    idl_err rc = state_account_get(st, id, &a);
    if (!rc)
        rc = state_nonce_get(st, id, &last);
    state_free(st);
    if (rc) {
        api_fail(r, rc, rc == IDL_ERR_NOT_FOUND ? "no such account" : NULL);
        return;
    }
    uint64_t pooled = mempool_actor_nonce(r->n->pool, id);
    uint64_t next = (pooled > last ? pooled : last) + 1;
    api_read_audit_org(r, "GET /v1/accounts/nonce", a.id, a.org);
    api_reply(r, 200, json_pack("{s:s, s:I}", "account", id, "next_nonce", (json_int_t)next));
}

void
api_h_key(struct api_req *r)
{
    uint8_t pk[SIG_PUBKEY_BYTES];
    if (!hex_arg(r, r->segs[2], pk, SIG_PUBKEY_BYTES, "public key"))
        return;
    struct state_key k;
    state_key_init(&k, SP_PUBKEY);
    state_key_raw(&k, pk, SIG_PUBKEY_BYTES);
    struct idl_bytes v;
    idl_err rc = store_get(ledger_store(r->n->ledger), k.b, k.len, &v);
    if (rc) {
        api_fail(r, rc, rc == IDL_ERR_NOT_FOUND ? "no account has this public key" : NULL);
        return;
    }
    char id[LEDGER_ID_MAX + 1];
    snprintf(id, sizeof(id), "%.*s", (int)v.len, (const char *)v.data);
    free(v.data);
    api_read_audit(r, "GET /v1/keys", id);
    api_reply(r, 200, json_pack("{s:s, s:o}", "account", id, "pubkey", api_hex(pk, SIG_PUBKEY_BYTES)));
}

/* ---- identity ---- */

struct collect {
    json_t *list;
    size_t prefix_len;
};

static int
collect_grant(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct collect *c = arg;
    char system[LEDGER_CODE_MAX + 1], role[LEDGER_CODE_MAX + 1];
    size_t off = query_key_part(key, kl, c->prefix_len, system, sizeof(system));
    query_key_part(key, kl, off, role, sizeof(role));
    struct rec_grant g;
    json_int_t height = 0;
    if (schema_decode_bytes(&rec_grant_schema, &g, val, vl) == IDL_OK)
        height = (json_int_t)g.height;
    json_array_append_new(
        c->list, json_pack("{s:s, s:s, s:I}", "system", system, "role", role, "height", height));
    return 0;
}

static int
collect_legacy(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct collect *c = arg;
    char system[LEDGER_CODE_MAX + 1];
    query_key_part(key, kl, c->prefix_len, system, sizeof(system));
    json_array_append_new(
        c->list, json_pack("{s:s, s:s#}", "system", system, "account", (const char *)val, (int)vl));
    return 0;
}

static json_t *
scan_list(struct api_req *r, enum state_space sp, const char *id, query_fn fn)
{
    struct state_key k;
    state_key_init(&k, sp);
    state_key_str(&k, id);
    struct collect c = {json_array(), k.len};
    if (query_scan(ledger_store(r->n->ledger), &k, NULL, 0, fn, &c) != IDL_OK) {
        json_decref(c.list);
        return json_array();
    }
    return c.list;
}

/* The masked personal fields of a person. */
static json_t *
masked_person(struct api_req *r, struct state *st, const uint8_t key[HASH_BYTES])
{
    json_t *out = json_object();
    struct state_key k;
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, key, HASH_BYTES);
    struct ledger_person p;
    if (state_get_rec(st, &k, &ledger_person_schema, &p) != IDL_OK)
        return out;
    json_object_set_new(out, "doc_type", json_string(idnum_doc_name(p.doc_type)));
    const struct ledger_sealed *f = p.fields.items;
    for (uint32_t i = 0; i < p.fields.count; i++) {
        char text[LEDGER_PERSON_TEXT_MAX + 1], mask[LEDGER_PERSON_TEXT_MAX + 1];
        if (person_open(r->n->pkeys, key, f[i].field, f[i].data.data, f[i].data.len, text,
                        sizeof(text)) != IDL_OK)
            continue;
        person_mask(f[i].field, text, mask, sizeof(mask));
        sodium_memzero(text, sizeof(text));
        json_object_set_new(out, ledger_person_field_name(f[i].field), json_string(mask));
    }
    schema_free(&ledger_person_schema, &p);
    return out;
}

/* The certificates of an account, briefly. */
static json_t *
account_certs(struct api_req *r, struct state *st, const char *id)
{
    json_t *out = json_array();
    struct state_key k;
    state_key_init(&k, SP_CERTS_OF);
    state_key_str(&k, id);
    struct rec_fingerprints list;
    if (state_get_rec(st, &k, &rec_fingerprints_schema, &list) != IDL_OK)
        return out;
    const struct rec_fingerprint *fps = list.fps.items;
    for (uint32_t i = 0; i < list.fps.count; i++) {
        struct rec_cert c;
        state_key_init(&k, SP_CERT);
        state_key_raw(&k, fps[i].fp, HASH_BYTES);
        if (state_get_rec(st, &k, &rec_cert_schema, &c) == IDL_OK) {
            json_array_append_new(out, api_cert_json(r, &c, false));
            schema_free(&rec_cert_schema, &c);
        }
    }
    schema_free(&rec_fingerprints_schema, &list);
    return out;
}

void
api_h_account(struct api_req *r)
{
    const char *id = r->segs[2];
    struct state *st = view(r);
    if (!st)
        return;
    struct rec_account a;
    idl_err rc = state_account_get(st, id, &a);
    if (rc) {
        state_free(st);
        if (rc == IDL_ERR_NOT_FOUND)
            api_error(r, 404, "not_found", "no account %.64s", id);
        else
            api_fail(r, rc, NULL);
        return;
    }
    json_t *person = masked_person(r, st, a.person);
    json_t *certs = account_certs(r, st, a.id);
    state_free(st);
    api_read_audit(r, "GET /v1/accounts", a.id);
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I}", "id", a.id,
                            "org", a.org, "class", ledger_class_name(a.class), "post",
                            ledger_post_name(a.post), "status", ledger_status_name(a.status),
                            "grants", scan_list(r, SP_GRANT, a.id, collect_grant), "certs", certs,
                            "legacy", scan_list(r, SP_LEGACY_OF, a.id, collect_legacy), "person",
                            person, "created_height", (json_int_t)a.created_height,
                            "changed_height", (json_int_t)a.changed_height);
    if (!hash_is_zero(a.pubkey))
        json_object_set_new(out, "pubkey", api_hex(a.pubkey, SIG_PUBKEY_BYTES));
    api_reply(r, 200, out);
}

void
api_h_verify(struct api_req *r)
{
    const char *account = api_param(r, "account"), *system = api_param(r, "system");
    const char *role = api_param(r, "role"), *org = api_param(r, "org");
    if (!account || !system || !role) {
        api_error(r, 400, "malformed", "verify needs account, system and role");
        return;
    }
    struct state *st = view(r);
    if (!st)
        return;
    struct ledger_tip tip;
    ledger_tip(r->n->ledger, &tip);
    struct query_verdict v;
    idl_err rc = query_verify(st, account, system, role, org, node_now_ms() / 1000, &v);
    state_free(st);
    /* Filed under the account's organisation, which the verdict read already. */
    api_read_audit_org(r, "GET /v1/verify", account, rc ? NULL : v.org);
    if (rc) {
        api_fail(r, rc, NULL);
        return;
    }
    /* The API's most frequent answer, written without jansson (node/jsonw.h). */
    struct jsonw w;
    jsonw_init(&w);
    jsonw_bool(&w, "allowed", v.allowed);
    jsonw_str(&w, "reason", v.reason);
    jsonw_u64(&w, "height", tip.height);
    jsonw_str(&w, "account", account);
    jsonw_str(&w, "system", system);
    jsonw_str(&w, "role", role);
    api_reply_text(r, 200, jsonw_finish(&w));
}

struct children {
    struct api_req *r;
    struct state *st;
    json_t *list;
    size_t prefix_len;
};

static int
collect_child(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    (void)val, (void)vl;
    struct children *c = arg;
    char code[LEDGER_CODE_MAX + 1];
    query_key_part(key, kl, c->prefix_len, code, sizeof(code));
    struct rec_org o;
    if (state_org_get(c->st, code, &o) == IDL_OK)
        json_array_append_new(c->list, json_pack("{s:s, s:s, s:s}", "code", o.code, "name", o.name,
                                                 "kind", ledger_org_kind_name(o.kind)));
    return 0;
}

static json_t *
org_admins(struct state *st, const char *code)
{
    json_t *out = json_object();
    for (unsigned post = POST_SYSADMIN; post < POST__COUNT; post++) {
        struct state_key k;
        state_key_init(&k, SP_SLOT);
        state_key_str(&k, code);
        uint8_t p = (uint8_t)post;
        state_key_raw(&k, &p, 1);
        struct idl_bytes v;
        if (state_get(st, &k, &v) == IDL_OK) {
            json_object_set_new(out, ledger_post_name(post),
                                json_stringn((const char *)v.data, v.len));
            free(v.data);
        } else {
            json_object_set_new(out, ledger_post_name(post), json_null());
        }
    }
    return out;
}

void
api_h_org(struct api_req *r)
{
    const char *code = r->segs[2];
    struct state *st = view(r);
    if (!st)
        return;
    struct rec_org o;
    idl_err rc = state_org_get(st, code, &o);
    if (rc) {
        state_free(st);
        if (rc == IDL_ERR_NOT_FOUND)
            api_error(r, 404, "not_found", "no organisation %.64s", code);
        else
            api_fail(r, rc, NULL);
        return;
    }
    struct state_key k;
    state_key_init(&k, SP_ORG_CHILD);
    state_key_str(&k, code);
    struct children c = {r, st, json_array(), k.len};
    rc = query_scan(ledger_store(r->n->ledger), &k, NULL, 0, collect_child, &c);
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o}", "code", o.code, "name",
                            o.name, "kind", ledger_org_kind_name(o.kind), "school_type",
                            ledger_school_type_name(o.school_type), "parent",
                            o.parent[0] ? json_string(o.parent) : json_null(), "delegated",
                            (int)o.delegated, "children", c.list, "admins", org_admins(st, code));
    state_free(st);
    api_read_audit_org(r, "GET /v1/orgs", NULL, code); /* it names the admin accounts */
    api_reply(r, 200, out);
}

/* ---- audit ---- */

struct audit_scan {
    struct api_req *r;
    json_t *entries;
    const char *actor;  /* filter, or NULL */
    uint64_t to_height; /* 0: no bound */
    unsigned posts;     /* bit per post: only actors holding one of them then; 0: all */
    struct state *st;
    size_t limit;
    size_t count;
    char next[48];
};

static int
collect_audit(void *arg, const uint8_t *key, size_t kl, const uint8_t *val, size_t vl)
{
    struct audit_scan *s = arg;
    (void)key, (void)kl;
    struct rec_audit e;
    if (schema_decode_bytes(&rec_audit_schema, &e, val, vl) != IDL_OK)
        return 0;
    if (s->to_height && e.height > s->to_height)
        return 1;
    if (s->actor && strcmp(e.actor, s->actor) != 0)
        return 0;
    if (s->posts && !(s->posts & (1u << e.actor_post)))
        return 0;
    if (s->count == s->limit) {
        snprintf(s->next, sizeof(s->next), "%llu.%u.%u", (unsigned long long)e.height, e.index,
                 e.record);
        return 1;
    }
    char reason[LEDGER_WHY_MAX] = "";
    if (e.status == TXS_REJECTED)
        reason_of(s->r, e.txid, e.record, reason, sizeof(reason));
    json_array_append_new(
        s->entries,
        json_pack("{s:I, s:i, s:i, s:o, s:s, s:s, s:s, s:o, s:I, s:s, s:s}", "height",
                  (json_int_t)e.height, "index", (int)e.index, "record", (int)e.record, "txid",
                  api_hex(e.txid, HASH_BYTES), "type", ledger_tx_type_name(e.type), "actor",
                  e.actor, "target", e.target, "basis",
                  hash_is_zero(e.basis) ? json_null() : api_hex(e.basis, HASH_BYTES), "time",
                  (json_int_t)e.time_ms, "status", ledger_tx_status_name(e.status), "reason",
                  reason));
    s->count++;
    return 0;
}

/* An audit cursor "H.I" or "H.I.R" (height, index, record), I and R under 2^32. */
static int
cursor_parse(const char *s, uint64_t *height, uint64_t *idx, uint64_t *rec)
{
    char buf[72];
    size_t n = strlen(s);
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n + 1);
    char *i = strchr(buf, '.');
    if (!i)
        return 0;
    *i++ = '\0';
    char *x = strchr(i, '.');
    if (x)
        *x++ = '\0';
    *rec = 0;
    return api_parse_u64(buf, height) && api_parse_u64(i, idx) && (!x || api_parse_u64(x, rec)) &&
           *idx <= UINT32_MAX && *rec <= UINT32_MAX;
}

void
api_h_audit(struct api_req *r)
{
    const char *org = api_param(r, "org"), *actor = api_param(r, "actor");
    const char *since = api_param(r, "since_height"), *lim = api_param(r, "limit");
    const char *after = api_param(r, "after"), *to = api_param(r, "to_height");
    const char *posts = api_param(r, "posts");
    uint64_t to_height = 0;
    unsigned post_bits = 0;
    if (to && !api_parse_u64(to, &to_height)) {
        api_error(r, 400, "malformed", "to_height must be a height");
        return;
    }
    if (posts) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", posts);
        char *save = NULL;
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            unsigned post = ledger_post_parse(p);
            if (!post) {
                api_error(r, 400, "malformed", "posts lists sysadmin, secadmin, auditor");
                return;
            }
            post_bits |= 1u << post;
        }
    }
    uint64_t height = 0, limit = 100, idx = 0, rec = 0;
    if ((!org && !actor) || (since && !api_parse_u64(since, &height)) ||
        (lim && (!api_parse_u64(lim, &limit) || limit == 0 || limit > 1000))) {
        api_error(r, 400, "malformed",
                  "audit needs org or actor; since_height a height; limit 1 to 1000");
        return;
    }
    if (after && !cursor_parse(after, &height, &idx, &rec)) {
        api_error(r, 400, "malformed", "after must be a cursor from a previous answer");
        return;
    }
    struct state *st = view(r);
    if (!st)
        return;
    struct audit_scan s = {
        r, json_array(), org ? actor : NULL, to_height, post_bits, st, (size_t)limit, 0, ""};
    struct store *store = ledger_store(r->n->ledger);
    idl_err rc;
    if (org) {
        struct state_key prefix, from;
        state_key_init(&prefix, SP_AUDIT_ORG);
        state_key_str(&prefix, org);
        from = prefix;
        state_key_u64(&from, height);
        state_key_u32(&from, (uint32_t)idx);
        state_key_u32(&from, (uint32_t)rec);
        rc = query_scan(store, &prefix, &from, 0, collect_audit, &s);
    } else {
        rc = query_audit_by_actor(store, actor, height, (uint32_t)idx, (uint32_t)rec,
                                  collect_audit, &s);
    }
    state_free(st);
    api_read_audit_org(r, "GET /v1/audit", actor, org);
    if (rc) {
        json_decref(s.entries);
        api_fail(r, rc, NULL);
        return;
    }
    api_reply(r, 200,
              json_pack("{s:o, s:o}", "entries", s.entries, "next",
                        s.next[0] ? json_string(s.next) : json_null()));
}

/* ---- blocks ---- */

static json_t *
commit_json(const struct idl_bytes *cert)
{
    struct ledger_commit c;
    if (!cert->len || schema_decode_bytes(&ledger_commit_schema, &c, cert->data, cert->len))
        return json_null();
    json_t *sigs = json_array();
    const struct ledger_commit_sig *s = c.sigs.items;
    for (uint32_t i = 0; i < c.sigs.count; i++)
        json_array_append_new(sigs, json_pack("{s:i, s:o}", "validator", s[i].validator,
                                              "signature", api_hex(s[i].sig, SIG_BYTES)));
    json_t *out = json_pack("{s:i, s:o}", "round", (int)c.round, "signatures", sigs);
    schema_free(&ledger_commit_schema, &c);
    return out;
}

/*
 * A block's answer lists its transactions by id: opaque hashes that name nobody (who is
 * behind one is asked of GET /v1/tx, which is recorded). A refusal's reason does name
 * the actor ("gz-sec is the secadmin of 440100"), so each refused transaction in the
 * answer is recorded as a read of its actor.
 */
static void
audit_refused_actor(struct api_req *r, const struct ledger_block *b, uint32_t i)
{
    struct ledger_tx tx;
    if (ledger_tx_decode(&tx, b->txs[i].data, b->txs[i].len, r->n->genesis.chain_id) != IDL_OK)
        return;
    api_read_audit(r, "GET /v1/blocks", tx.actor);
    ledger_tx_free(&tx);
}

void
api_h_block(struct api_req *r)
{
    uint64_t height;
    if (!api_parse_u64(r->segs[2], &height)) {
        api_error(r, 400, "malformed", "height must be a number");
        return;
    }
    struct ledger_block b;
    struct idl_bytes cert;
    idl_err rc = ledger_block_get(r->n->ledger, height, &b, &cert);
    if (rc) {
        if (rc == IDL_ERR_NOT_FOUND)
            api_error(r, 404, "not_found", "no block at height %llu", (unsigned long long)height);
        else
            api_fail(r, rc, NULL);
        return;
    }
    struct state *st = view(r);
    json_t *txs = json_array(), *results = json_array();
    for (uint32_t i = 0; st && i < b.header.tx_count; i++) {
        json_array_append_new(txs, api_hex(b.txids[i], HASH_BYTES));
        struct state_key k;
        state_key_init(&k, SP_TX);
        state_key_raw(&k, b.txids[i], HASH_BYTES);
        struct rec_tx t;
        char reason[LEDGER_WHY_MAX] = "";
        if (state_get_rec(st, &k, &rec_tx_schema, &t) == IDL_OK && t.status == TXS_REJECTED) {
            reason_of(r, b.txids[i], 0, reason, sizeof(reason));
            audit_refused_actor(r, &b, i);
        }
        json_array_append_new(
            results, json_pack("{s:o, s:s, s:s}", "txid", api_hex(b.txids[i], HASH_BYTES), "state",
                               reason[0] ? "rejected" : "committed", "reason", reason));
    }
    state_free(st);
    json_t *out = json_pack(
        "{s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "height", (json_int_t)b.header.height,
        "hash", api_hex(b.hash, HASH_BYTES), "prev_hash", api_hex(b.header.prev_hash, HASH_BYTES),
        "app_hash", api_hex(b.header.app_hash, HASH_BYTES), "time", (json_int_t)b.header.time_ms,
        "proposer", api_hex(b.header.proposer, SIG_PUBKEY_BYTES), "txs", txs, "results", results,
        "commit", commit_json(&cert));
    free(cert.data);
    ledger_block_free(&b);
    api_reply(r, 200, out);
}

/* ---- personal data at entry ---- */

static int
seal_add(struct api_req *r, json_t *fields, const uint8_t key[HASH_BYTES], unsigned field,
         const char *text)
{
    struct idl_bytes sealed;
    if (person_seal(r->n->pkeys, key, field, text, &sealed) != IDL_OK) {
        api_error(r, 400, "invalid", "%s is too long", ledger_person_field_name(field));
        return 0;
    }
    char *hex = malloc(2 * sealed.len + 1);
    if (hex) {
        codec_hex_encode(hex, sealed.data, sealed.len);
        json_array_append_new(
            fields, json_pack("{s:s, s:s}", "field", ledger_person_field_name(field), "data", hex));
    }
    free(hex);
    free(sealed.data);
    return hex != NULL;
}

/*
 * Checks and seals the contact fields present in body, in field order, into `fields`.
 * Returns NULL, or why not (a static sentence: never the value).
 */
static const char *
seal_contacts(struct api_req *r, json_t *body, const uint8_t key[HASH_BYTES], json_t *fields,
              int with_name)
{
    for (unsigned f = PF_NAME; f <= LEDGER_PERSON_FIELDS_MAX; f++) {
        if (f == PF_ID_NUMBER || (f == PF_NAME && !with_name))
            continue;
        json_t *v = json_object_get(body, ledger_person_field_name(f));
        if (!v)
            continue;
        const char *text = json_string_value(v), *why = NULL;
        if (!text || person_field_check(f, text, &why) != IDL_OK)
            return why ? why : "personal fields must be strings";
        if (!seal_add(r, fields, key, f, text))
            return "a personal field is too long";
    }
    return NULL;
}

/* The registered name of a person matches `name`? (1 if nothing to compare.) */
static int
name_matches(struct api_req *r, const struct ledger_person *p, const char *name)
{
    bool same;
    /* A name that does not open contradicts nothing we can show. */
    return person_name_is(r->n->pkeys, p, name, &same) != IDL_OK || same;
}

/*
 * Seals a new person from body: validated, indexed, each field sealed. Returns the answer
 * object, or NULL with the HTTP status and a sentence (never quoting the data).
 */
static json_t *
seal_person(struct api_req *r, struct state *st, json_t *body, int *status, const char **err)
{
    *status = 400;
    const char *member;
    json_t *v;
    json_object_foreach(body, member, v)
    {
        if (!json_is_string(v)) {
            *err = "every field of a person is a string";
            return NULL;
        }
    }
    const char *doc_name = json_string_value(json_object_get(body, "doc_type"));
    enum idnum_doc doc = doc_name ? idnum_doc_parse(doc_name) : IDNUM_DOC_RESIDENT;
    const char *number = json_string_value(json_object_get(body, "id_number"));
    const char *name = json_string_value(json_object_get(body, "name"));
    char norm[IDNUM_NORM_MAX + 1];
    if (doc == IDNUM_DOC_NONE) {
        *err = "doc_type must be resident, passport, hkmo, taiwan or foreign-pr";
        return NULL;
    }
    if (!number || !name) {
        *err = "a new person needs id_number and name";
        return NULL;
    }
    if (idnum_normalize(norm, doc, number, err) != IDL_OK)
        return NULL;
    uint8_t key[HASH_BYTES];
    person_index(r->n->pkeys, doc, norm, key);
    struct state_key k;
    state_key_init(&k, SP_PERSON);
    state_key_raw(&k, key, HASH_BYTES);
    struct ledger_person existing;
    int registered = state_get_rec(st, &k, &ledger_person_schema, &existing) == IDL_OK;
    if (registered) {
        int same = name_matches(r, &existing, name);
        schema_free(&ledger_person_schema, &existing);
        if (!same) {
            sodium_memzero(norm, sizeof(norm));
            *status = 409;
            *err = "this ID number is registered under another name";
            return NULL;
        }
    }
    json_t *fields = json_array();
    *err = seal_contacts(r, body, key, fields, 1);
    if (!*err) {
        /* The name is fields[0] (field 1); the number is field 2: insert it after. */
        json_t *tmp = json_array();
        if (seal_add(r, tmp, key, PF_ID_NUMBER, norm))
            json_array_insert(fields, 1, json_array_get(tmp, 0));
        else
            *err = "the ID number cannot be sealed";
        json_decref(tmp);
    }
    sodium_memzero(norm, sizeof(norm));
    if (*err) {
        json_decref(fields);
        return NULL;
    }
    return json_pack("{s:{s:s, s:o, s:o}, s:b}", "person", "doc_type", idnum_doc_name(doc), "key",
                     api_hex(key, HASH_BYTES), "fields", fields, "registered", registered);
}

static void
seal_new(struct api_req *r, json_t *body)
{
    struct state *st = view(r);
    if (!st)
        return;
    int status;
    const char *err = NULL;
    json_t *out = seal_person(r, st, body, &status, &err);
    state_free(st);
    if (out)
        api_reply(r, 200, out);
    else
        api_error(r, status, status == 409 ? "exists" : "invalid", "%s", err);
}

/*
 * POST /v1/persons/seal-batch {"persons": [...]}: seal_new for up to 1000 people; each
 * answer is the person or its error, in order, so one bad row never fails the others.
 */
void
api_h_seal_batch(struct api_req *r)
{
    static const char *const allowed[] = {"persons", NULL};
    static const char *const person_fields[] = {"doc_type", "id_number",    "name",    "mobile",
                                                "email",    "office_phone", "address", NULL};
    json_t *body = api_body_object(r, allowed);
    if (!body)
        return;
    json_t *list = json_object_get(body, "persons");
    struct state *st = NULL;
    if (!json_is_array(list) || json_array_size(list) > LEDGER_BATCH_MAX) {
        api_error(r, 400, "malformed", "persons must be a list of at most %d people",
                  LEDGER_BATCH_MAX);
    } else if ((st = view(r)) != NULL) {
        json_t *results = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p)
        {
            int status = 400;
            const char *err = "each person must be an object";
            json_t *out = NULL;
            if (json_is_object(p)) {
                const char *key;
                json_t *v;
                err = NULL;
                json_object_foreach(p, key, v)
                {
                    int known = 0;
                    for (const char *const *a = person_fields; *a; a++)
                        known |= !strcmp(*a, key);
                    if (!known)
                        err = "unknown field in a person";
                }
                if (!err)
                    out = seal_person(r, st, p, &status, &err);
            }
            json_array_append_new(results, out ? out
                                               : json_pack("{s:{s:s, s:s}}", "error", "code",
                                                           status == 409 ? "exists" : "invalid",
                                                           "message", err));
        }
        state_free(st);
        api_reply(r, 200, json_pack("{s:o}", "results", results));
        api_read_audit_org(r, "POST /v1/persons/seal-batch", NULL, r->signer_org);
    }
    json_decref(body);
}

static void
seal_update(struct api_req *r, json_t *body, const char *id)
{
    if (json_object_get(body, "id_number") || json_object_get(body, "doc_type")) {
        api_error(r, 400, "invalid", "the ID number identifies the person and cannot change");
        return;
    }
    struct state *st = view(r);
    if (!st)
        return;
    struct rec_account a;
    idl_err rc = state_account_get(st, id, &a);
    state_free(st);
    if (rc) {
        api_fail(r, rc, rc == IDL_ERR_NOT_FOUND ? "no such account" : NULL);
        return;
    }
    json_t *fields = json_array();
    const char *err = seal_contacts(r, body, a.person, fields, 1);
    if (err) {
        json_decref(fields);
        api_error(r, 400, "invalid", "%s", err);
        return;
    }
    if (json_array_size(fields) == 0) {
        json_decref(fields);
        api_error(r, 400, "invalid", "nothing to change");
        return;
    }
    api_reply(r, 200,
              json_pack("{s:{s:o, s:o}, s:b}", "person", "key", api_hex(a.person, HASH_BYTES),
                        "fields", fields, "registered", 1));
}

void
api_h_seal(struct api_req *r)
{
    static const char *const allowed[] = {"account", "doc_type",     "id_number", "name", "mobile",
                                          "email",   "office_phone", "address",   NULL};
    json_t *body = api_body_strings(r, allowed);
    if (!body)
        return;
    const char *account = json_string_value(json_object_get(body, "account"));
    if (account)
        seal_update(r, body, account);
    else
        seal_new(r, body);
    /* Whatever the answer, even a refusal: "registered under another name" tells
     * something about a person, so every call is filed under the signer's organisation,
     * whose auditor audits its system administrator. */
    api_read_audit_org(r, "POST /v1/persons/seal", account, r->signer_org);
    json_decref(body);
}

/* ---- operations ---- */

void
api_h_live(struct api_req *r)
{
    api_reply(r, 200, json_pack("{s:s}", "status", "live"));
}

void
api_h_ready(struct api_req *r)
{
    if (atomic_load(&r->n->catching_up)) {
        api_error(r, 503, "unavailable", "catching up with the chain");
        return;
    }
    api_reply(r, 200, json_pack("{s:s}", "status", "ready"));
}

static void
metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{level="N"} value, or name{level="N",op="OP"} value, for every level. */
static void
metrics_per_level(FILE *f, const char *name, const char *op, const uint64_t value[STORE_LEVELS])
{
    for (int lv = 0; lv < STORE_LEVELS; lv++) {
        if (op)
            fprintf(f, "%s{level=\"%d\",op=\"%s\"} %llu\n", name, lv, op,
                    (unsigned long long)value[lv]);
        else
            fprintf(f, "%s{level=\"%d\"} %llu\n", name, lv, (unsigned long long)value[lv]);
    }
}

/* LevelDB's levels and compactions since the node started (struct store_stats). */
static void
metrics_store(FILE *f, struct store *store)
{
    struct store_stats st;
    if (store_stats(store, &st) != IDL_OK)
        return;
    uint64_t files[STORE_LEVELS], bytes[STORE_LEVELS], seconds[STORE_LEVELS];
    uint64_t read[STORE_LEVELS], written[STORE_LEVELS];
    for (int lv = 0; lv < STORE_LEVELS; lv++) {
        files[lv] = st.level[lv].files;
        bytes[lv] = st.level[lv].bytes;
        seconds[lv] = (uint64_t)(st.level[lv].compaction_seconds + 0.5);
        read[lv] = st.level[lv].read_bytes;
        written[lv] = st.level[lv].write_bytes;
    }
    metrics_family(f, "idledger_store_tables", "gauge", "LevelDB tables at each level.");
    metrics_per_level(f, "idledger_store_tables", NULL, files);
    metrics_family(f, "idledger_store_level_bytes", "gauge",
           "Bytes of LevelDB tables at each level (counted in whole MiB).");
    metrics_per_level(f, "idledger_store_level_bytes", NULL, bytes);
    metrics_family(f, "idledger_store_compaction_seconds_total", "counter",
           "Time LevelDB's compactions into each level took since the node started (whole "
           "seconds elapsed; a memtable written out counts at the level it lands in, 0 to 2).");
    metrics_per_level(f, "idledger_store_compaction_seconds_total", NULL, seconds);
    metrics_family(f, "idledger_store_compaction_bytes_total", "counter",
           "Bytes LevelDB's compactions into each level read and wrote since the node started "
           "(counted in whole MiB).");
    metrics_per_level(f, "idledger_store_compaction_bytes_total", "read", read);
    metrics_per_level(f, "idledger_store_compaction_bytes_total", "write", written);
    metrics_family(f, "idledger_store_memory_bytes", "gauge",
           "Memory held by LevelDB's memtables and block cache.");
    fprintf(f, "idledger_store_memory_bytes %llu\n", (unsigned long long)st.memory_bytes);
}

void
api_h_metrics(struct api_req *r)
{
    struct node_metrics *m = &r->n->metrics;
    struct ledger_tip tip;
    ledger_tip(r->n->ledger, &tip);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        api_error(r, 500, "nomem", "out of memory");
        return;
    }
    unsigned long long blocks = atomic_load(&m->blocks);
    fprintf(f,
            "# HELP idledger_height Height of the last committed block.\n"
            "# TYPE idledger_height gauge\nidledger_height %llu\n"
            "# HELP idledger_block_txs_total Transactions in committed blocks: applied, or "
            "recorded as refused by the ledger's rules.\n"
            "# TYPE idledger_block_txs_total counter\n"
            "idledger_block_txs_total{result=\"committed\"} %llu\n"
            "idledger_block_txs_total{result=\"rejected\"} %llu\n"
            "# HELP idledger_pool_txs_total Transactions offered to this node's pool: admitted, "
            "or refused at admission.\n"
            "# TYPE idledger_pool_txs_total counter\n"
            "idledger_pool_txs_total{result=\"admitted\"} %llu\n"
            "idledger_pool_txs_total{result=\"refused\"} %llu\n"
            "# HELP idledger_mempool_txs Transactions waiting in the pool.\n"
            "# TYPE idledger_mempool_txs gauge\nidledger_mempool_txs %zu\n"
            "# HELP idledger_block_commit_seconds Time to build and commit blocks.\n"
            "# TYPE idledger_block_commit_seconds summary\n"
            "idledger_block_commit_seconds_sum %.6f\nidledger_block_commit_seconds_count %llu\n"
            "# HELP idledger_http_requests_total HTTP requests by status class.\n"
            "# TYPE idledger_http_requests_total counter\n",
            (unsigned long long)tip.height, (unsigned long long)atomic_load(&m->txs_committed),
            (unsigned long long)atomic_load(&m->txs_rejected),
            (unsigned long long)atomic_load(&m->txs_admitted),
            (unsigned long long)atomic_load(&m->txs_refused), mempool_count(r->n->pool),
            atomic_load(&m->commit_us_sum) / 1e6, blocks);
    for (int c = 1; c < 6; c++)
        fprintf(f, "idledger_http_requests_total{code=\"%dxx\"} %llu\n", c,
                (unsigned long long)atomic_load(&m->http[c]));
    fprintf(f,
            "# HELP idledger_consensus_halted 1 if this validator stopped voting after a "
            "failed consensus-log write (it still follows committed blocks).\n"
            "# TYPE idledger_consensus_halted gauge\nidledger_consensus_halted %d\n",
            node_consensus_halted(r->n) ? 1 : 0);
    struct bft_info bi = {0};
    if (r->n->bft)
        bft_info(r->n->bft, &bi);
    fprintf(f,
            "# HELP idledger_consensus_equivocations_total Proposals or votes a validator sent "
            "that conflict with one it sent before for the same round: a faulty or malicious "
            "validator.\n"
            "# TYPE idledger_consensus_equivocations_total counter\n"
            "idledger_consensus_equivocations_total %llu\n",
            (unsigned long long)bi.equivocations);
    metrics_store(f, ledger_store(r->n->ledger));
    fclose(f);
    r->status = 200;
    r->text = text;
    r->content_type = "text/plain; version=0.0.4";
}
