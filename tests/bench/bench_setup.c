/*
 * Setting up a benchmark, none of it measured: signing actors, sealed people and files of
 * pre-signed transactions (`loadgen gen`), and grants for the verify benchmark
 * (`loadgen grant`).
 *
 * The transaction is the everyday one of DOMAIN.md: a real-name business account
 * (account.add, class business) with all six personal fields of the applicant template,
 * sealed by the node beforehand. Actor 0 is the root organisation's sysadmin creating
 * accounts at the root; with --actors K, actors 1..K-1 are the sysadmins of K-1 benchmark
 * cities (created, with their management accounts, by the root's sysadmin and authorised
 * by its secadmin), each creating accounts at its own city, so the load is not one actor's
 * nonce chain. Their keys are derived from their number, so a second run on the same chain
 * finds the same actors and does not set them up again.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"
#include "ledger/schema.h"
#include "tests/bench/bench.h"
#include "tests/bench/loadgen.h"
#include "wallet/key.h"

#define ACTORS_MAX 64
#define CHUNK      1000
/* Person numbers of the benchmark cities' sysadmins, far above any run's people. */
#define ACTOR_PERSON_BASE 17900000u

struct actor {
    char id[LEDGER_ID_MAX + 1];
    char org[LEDGER_CODE_MAX + 1];
    uint8_t *sk; /* sodium_malloc'd */
    uint8_t pk[SIG_PUBKEY_BYTES];
    uint64_t nonce; /* the next one */
};

struct setup {
    struct bench_http http;
    char chain[LEDGER_CHAIN_ID_MAX + 1];
    char root[LEDGER_CODE_MAX + 1];
    struct actor actors[ACTORS_MAX];
    size_t nactors;
    uint8_t basis[HASH_BYTES];
};

/* ---- keys and accounts ---- */

static int
load_admin(const struct bench_opts *o, const char *post, struct actor *a)
{
    char path[4096], pass[WALLET_PASSPHRASE_MAX], why[256];
    snprintf(path, sizeof(path), "%s/%s.key", o->admins, post);
    if (bench_read_line_file(o->passphrase_file, pass, sizeof(pass)) != 0) {
        fprintf(stderr, "loadgen: cannot read %s\n", o->passphrase_file);
        return -1;
    }
    struct wallet_key *k;
    idl_err rc = wallet_key_load(&k, path, pass, strlen(pass), why, sizeof(why));
    sodium_memzero(pass, sizeof(pass));
    if (rc) {
        fprintf(stderr, "loadgen: %s: %s\n", path, why);
        return -1;
    }
    a->sk = sodium_malloc(SIG_SECKEY_BYTES);
    if (!a->sk) {
        wallet_key_free(k);
        return -1;
    }
    memcpy(a->sk, k->sk, SIG_SECKEY_BYTES);
    memcpy(a->pk, k->pk, SIG_PUBKEY_BYTES);
    wallet_key_free(k);
    snprintf(a->id, sizeof(a->id), "root-%s", post);
    return 0;
}

/* Benchmark city j's sysadmin: a key derived from j (a test key, never a real one). */
static int
derive_actor(struct actor *a, unsigned j)
{
    char seed[64];
    snprintf(seed, sizeof(seed), "idledger-bench-actor-%u", j);
    a->sk = sodium_malloc(SIG_SECKEY_BYTES);
    if (!a->sk)
        return -1;
    hash_sha256(a->sk, seed, strlen(seed));
    snprintf(a->id, sizeof(a->id), "bench-sys-%02u", j);
    snprintf(a->org, sizeof(a->org), "4490%02u", j);
    return sig_pubkey_from_secret(a->pk, a->sk) == IDL_OK ? 0 : -1;
}

static void
actor_free(struct actor *a)
{
    if (a->sk)
        sodium_free(a->sk);
    a->sk = NULL;
}

static int
fetch_nonce(struct setup *s, struct actor *a)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/accounts/%s/nonce", a->id);
    json_t *reply;
    int status = bench_http_json(&s->http, "GET", path, NULL, &reply);
    a->nonce = (uint64_t)json_integer_value(json_object_get(reply, "next_nonce"));
    json_decref(reply);
    if (status != 200 || !a->nonce) {
        fprintf(stderr, "loadgen: GET %s answered %d\n", path, status);
        return -1;
    }
    return 0;
}

/* Signs tx as actor a with its next nonce and appends it to out[*n]. Frees tx. */
static int
sign_into(struct setup *s, struct actor *a, struct ledger_tx *tx, struct bench_tx *out)
{
    snprintf(tx->chain_id, sizeof(tx->chain_id), "%s", s->chain);
    snprintf(tx->actor, sizeof(tx->actor), "%s", a->id);
    tx->nonce = a->nonce++;
    tx->time = (uint64_t)time(NULL);
    char why[LEDGER_WHY_MAX];
    int rc = ledger_tx_check(tx, why, sizeof(why)) == IDL_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "loadgen: a setup transaction is invalid: %s\n", why);
    if (!rc && (ledger_tx_sign(tx, a->sk) != IDL_OK || ledger_tx_encode(tx, &out->raw) != IDL_OK))
        rc = -1;
    if (!rc)
        memcpy(out->txid, tx->id, HASH_BYTES);
    ledger_tx_free(tx);
    return rc;
}

/* Submits txs in one batch and waits for the last (each actor's are in nonce order). */
static int
submit_and_wait(struct setup *s, struct bench_tx *txs, size_t n)
{
    size_t len, accepted, unavailable;
    char why[512];
    char *body = bench_txs_body(txs, n, false, &len);
    int status = body ? bench_submit(&s->http, body, len, false, n, &accepted, &unavailable, why,
                                     sizeof(why))
                      : -1;
    free(body);
    int rc = status == 200 && accepted == n ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++)
        rc = bench_wait_tx(&s->http, txs[i].txid, 60, why, sizeof(why));
    if (rc)
        fprintf(stderr, "loadgen: setup failed: %s\n", why);
    bench_txs_free(txs, n);
    return rc;
}

/* Creates benchmark cities 1..k-1 and their sysadmins, unless the chain has them. */
static int
setup_cities(struct setup *s, struct actor *sys, struct actor *sec, size_t k)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/orgs/%s", s->actors[k - 1].org);
    if (bench_http_call(&s->http, "GET", path, NULL, 0, NULL, NULL) == 200)
        return 0; /* a previous run made them */
    struct ledger_person *people = calloc(k, sizeof(*people));
    struct bench_tx *adds = calloc(2 * k, sizeof(*adds)), *auths = calloc(k, sizeof(*auths));
    struct bench_signer by = {s->chain, sys->sk, sys->pk};
    int rc = people && adds && auths ? bench_seal(&s->http, &by, ACTOR_PERSON_BASE, k - 1, people)
                                     : -1;
    size_t na = 0, nz = 0;
    for (size_t j = 1; !rc && j < k; j++) {
        struct actor *a = &s->actors[j];
        struct ledger_tx tx;
        ledger_tx_init(&tx, s->chain, TX_ORG_ADD, sys->id);
        snprintf(tx.body.org_add.code, sizeof(tx.body.org_add.code), "%s", a->org);
        snprintf(tx.body.org_add.name, sizeof(tx.body.org_add.name), "基准测试市%02zu", j);
        snprintf(tx.body.org_add.parent, sizeof(tx.body.org_add.parent), "%s", s->root);
        tx.body.org_add.kind = ORG_KIND_CITY;
        rc = sign_into(s, sys, &tx, &adds[na++]);
        ledger_tx_init(&tx, s->chain, TX_ACCOUNT_ADD, sys->id);
        struct tx_account_add *b = &tx.body.account_add;
        snprintf(b->id, sizeof(b->id), "%s", a->id);
        snprintf(b->org, sizeof(b->org), "%s", a->org);
        b->class = CLASS_MANAGEMENT;
        b->post = POST_SYSADMIN;
        memcpy(b->pubkey, a->pk, SIG_PUBKEY_BYTES);
        memcpy(tx.basis, s->basis, HASH_BYTES);
        if (!rc && (rc = bench_person_copy(&b->person, &people[j - 1])) == 0)
            rc = sign_into(s, sys, &tx, &adds[na++]);
        else
            ledger_tx_free(&tx);
        ledger_tx_init(&tx, s->chain, TX_ACCOUNT_AUTHORIZE, sec->id);
        snprintf(tx.body.account_ref.id, sizeof(tx.body.account_ref.id), "%s", a->id);
        memcpy(tx.basis, s->basis, HASH_BYTES);
        if (!rc)
            rc = sign_into(s, sec, &tx, &auths[nz++]);
    }
    bench_persons_free(people, k - 1);
    free(people);
    if (!rc) {
        rc = submit_and_wait(s, adds, na);
        adds = NULL;
    }
    if (!rc) {
        rc = submit_and_wait(s, auths, nz);
        auths = NULL;
    }
    if (adds)
        bench_txs_free(adds, na);
    if (auths)
        bench_txs_free(auths, nz);
    return rc;
}

/* Opens the node, reads the chain id, loads the admin keys, makes the actors. */
static int
setup_open(struct setup *s, const struct bench_opts *o, size_t nactors, bool need_sec,
           struct actor *sec)
{
    char token[256] = "";
    memset(s, 0, sizeof(*s));
    if (o->token_file && bench_read_line_file(o->token_file, token, sizeof(token)) != 0)
        return -1;
    if (bench_http_init(&s->http, o->node, token) != 0)
        return -1;
    json_t *st;
    int status = bench_http_json(&s->http, "GET", "/v1/status", NULL, &st);
    snprintf(s->chain, sizeof(s->chain), "%s",
             status == 200 ? json_string_value(json_object_get(st, "chain_id")) : "");
    json_decref(st);
    if (status != 200) {
        fprintf(stderr, "loadgen: %s does not answer /v1/status (%d)\n", o->node, status);
        return -1;
    }
    snprintf(s->root, sizeof(s->root), "%s", o->org);
    hash_sha256(s->basis, "bench form", 10);
    if (nactors > ACTORS_MAX || nactors == 0)
        return -1;
    s->nactors = nactors;
    if (load_admin(o, "sysadmin", &s->actors[0]) != 0)
        return -1;
    snprintf(s->actors[0].org, sizeof(s->actors[0].org), "%s", s->root);
    for (size_t j = 1; j < nactors; j++)
        if (derive_actor(&s->actors[j], (unsigned)j) != 0)
            return -1;
    if (need_sec && load_admin(o, "secadmin", sec) != 0)
        return -1;
    return 0;
}

static void
setup_close(struct setup *s, struct actor *sec)
{
    for (size_t j = 0; j < s->nactors; j++)
        actor_free(&s->actors[j]);
    actor_free(sec);
    bench_http_close(&s->http);
}

/* ---- gen: a file of pre-signed account.add transactions ---- */

struct sign_job {
    struct setup *s;
    const struct ledger_person *people;
    struct bench_tx *out;
    uint64_t first;       /* person number of the run's transaction 0 */
    uint64_t done;        /* run number of the chunk's transaction 0 */
    const uint64_t *base; /* per actor: the nonce of its first transaction of the run */
    size_t from, to, stride;
    int rc;
};

/* Transaction t of the run (t = done + i): actor t % K, nonce base[actor] + t / K. */
static void *
sign_worker(void *arg)
{
    struct sign_job *j = arg;
    struct setup *s = j->s;
    for (size_t i = j->from; i < j->to && !j->rc; i += j->stride) {
        uint64_t t = j->done + i;
        size_t who = (size_t)(t % s->nactors);
        struct actor *a = &s->actors[who];
        struct ledger_tx tx;
        ledger_tx_init(&tx, s->chain, TX_ACCOUNT_ADD, a->id);
        struct tx_account_add *b = &tx.body.account_add;
        snprintf(b->id, sizeof(b->id), "bench-%llu", (unsigned long long)(j->first + t));
        snprintf(b->org, sizeof(b->org), "%s", a->org);
        b->class = CLASS_BUSINESS;
        tx.nonce = j->base[who] + t / s->nactors;
        tx.time = (uint64_t)time(NULL);
        if (bench_person_copy(&b->person, &j->people[i]) != 0 ||
            ledger_tx_sign(&tx, a->sk) != IDL_OK || ledger_tx_encode(&tx, &j->out[i].raw))
            j->rc = -1;
        memcpy(j->out[i].txid, tx.id, HASH_BYTES);
        ledger_tx_free(&tx);
    }
    return NULL;
}

static int
sign_chunk(struct setup *s, const struct ledger_person *people, size_t n, uint64_t first,
           uint64_t done, const uint64_t *base, struct bench_tx *out, unsigned threads)
{
    pthread_t t[16];
    struct sign_job jobs[16];
    if (threads > 16)
        threads = 16;
    if (threads == 0)
        threads = 1;
    for (unsigned k = 0; k < threads; k++) {
        jobs[k] = (struct sign_job){s, people, out, first, done, base, k, n, threads, 0};
        pthread_create(&t[k], NULL, sign_worker, &jobs[k]);
    }
    int rc = 0;
    for (unsigned k = 0; k < threads; k++) {
        pthread_join(t[k], NULL);
        rc |= jobs[k].rc;
    }
    return rc;
}

/* Appends n transactions to f in the bench_txs format's record layout. */
static int
write_records(FILE *f, const struct bench_tx *txs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t len[4] = {(uint8_t)(txs[i].raw.len >> 24), (uint8_t)(txs[i].raw.len >> 16),
                          (uint8_t)(txs[i].raw.len >> 8), (uint8_t)txs[i].raw.len};
        if (fwrite(len, 1, 4, f) != 4 ||
            fwrite(txs[i].raw.data, 1, txs[i].raw.len, f) != txs[i].raw.len)
            return -1;
    }
    return 0;
}

static int
gen_stream(struct setup *s, const struct bench_opts *o, FILE *f)
{
    uint64_t base[ACTORS_MAX];
    for (size_t j = 0; j < s->nactors; j++)
        base[j] = s->actors[j].nonce;
    struct ledger_person *people = calloc(CHUNK, sizeof(*people));
    struct bench_tx *txs = calloc(CHUNK, sizeof(*txs));
    int rc = people && txs ? 0 : -1;
    /* Actor 0 is the root's sysadmin, who may have the node seal. */
    struct bench_signer sealer = {s->chain, s->actors[0].sk, s->actors[0].pk};
    for (uint64_t done = 0; !rc && done < o->count; done += CHUNK) {
        size_t n = o->count - done < CHUNK ? (size_t)(o->count - done) : CHUNK;
        rc = bench_seal(&s->http, &sealer, o->first + done, n, people);
        if (!rc)
            rc = sign_chunk(s, people, n, o->first, done, base, txs, o->threads);
        if (!rc)
            rc = write_records(f, txs, n);
        bench_persons_free(people, n);
        for (size_t i = 0; i < n; i++) {
            free(txs[i].raw.data);
            txs[i].raw.data = NULL;
        }
        if (o->verbose && (done / CHUNK) % 100 == 99)
            fprintf(stderr, "loadgen: gen %llu of %llu\n", (unsigned long long)(done + n),
                    (unsigned long long)o->count);
    }
    free(people);
    free(txs);
    return rc;
}

int
loadgen_gen(const struct bench_opts *o)
{
    struct setup *s = calloc(1, sizeof(*s));
    struct actor sec = {0};
    int rc = s ? setup_open(s, o, o->actors, o->actors > 1, &sec) : -1;
    if (!rc && o->actors > 1 && (rc = fetch_nonce(s, &s->actors[0])) == 0 &&
        (rc = fetch_nonce(s, &sec)) == 0)
        rc = setup_cities(s, &s->actors[0], &sec, o->actors);
    for (size_t j = 0; !rc && j < s->nactors; j++)
        rc = fetch_nonce(s, &s->actors[j]);
    FILE *f = rc ? NULL : fopen(o->out, "wb");
    if (!rc && !f)
        rc = -1;
    if (!rc) {
        uint8_t head[16] = "IDLBTX1\n";
        for (int b = 0; b < 8; b++)
            head[8 + b] = (uint8_t)(o->count >> (56 - 8 * b));
        rc = fwrite(head, 1, sizeof(head), f) == sizeof(head) ? 0 : -1;
    }
    if (!rc)
        rc = gen_stream(s, o, f);
    if (f && fclose(f) != 0)
        rc = -1;
    if (!rc)
        printf("{\"generated\": %llu, \"actors\": %zu, \"first\": %llu}\n",
               (unsigned long long)o->count, s->nactors, (unsigned long long)o->first);
    if (s)
        setup_close(s, &sec);
    free(s);
    return rc;
}

/* ---- grant: the verify benchmark's grants ---- */

int
loadgen_grant(const struct bench_opts *o)
{
    struct setup *s = calloc(1, sizeof(*s));
    struct actor sec = {0};
    int rc = s ? setup_open(s, o, 1, true, &sec) : -1;
    if (!rc)
        rc = fetch_nonce(s, &sec);
    FILE *f = rc ? NULL : fopen(o->in, "r");
    struct bench_tx *txs = calloc(o->count ? o->count : 1, sizeof(*txs));
    size_t n = 0;
    char line[256];
    while (f && txs && !rc && n < o->count && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strlen(line) > LEDGER_ID_MAX)
            continue;
        struct ledger_tx tx;
        ledger_tx_init(&tx, s->chain, TX_GRANT_ADD, sec.id);
        memcpy(tx.body.grant.account, line, strlen(line) + 1);
        snprintf(tx.body.grant.system, sizeof(tx.body.grant.system), "%s", o->system);
        snprintf(tx.body.grant.role, sizeof(tx.body.grant.role), "%s", o->role);
        rc = sign_into(s, &sec, &tx, &txs[n++]);
    }
    if (f)
        fclose(f);
    if (!rc && (!f || !txs))
        rc = -1;
    for (size_t done = 0; !rc && done < n; done += CHUNK) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        struct bench_tx *part = calloc(k, sizeof(*part));
        if (!part) {
            rc = -1;
            break;
        }
        memcpy(part, txs + done, k * sizeof(*part));
        memset(txs + done, 0, k * sizeof(*part));
        rc = submit_and_wait(s, part, k);
    }
    bench_txs_free(txs, n);
    if (!rc)
        printf("{\"granted\": %zu, \"system\": \"%s\", \"role\": \"%s\"}\n", n, o->system, o->role);
    if (s)
        setup_close(s, &sec);
    free(s);
    return rc;
}

int
loadgen_hex(const struct bench_opts *o)
{
    struct bench_tx *txs;
    size_t n;
    if (bench_txs_read(o->in, &txs, &n) != 0) {
        fprintf(stderr, "loadgen hex: cannot read %s\n", o->in);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char *hex = malloc(2 * txs[i].raw.len + 1);
        if (hex) {
            codec_hex_encode(hex, txs[i].raw.data, txs[i].raw.len);
            puts(hex);
        }
        free(hex);
    }
    bench_txs_free(txs, n);
    return 0;
}
