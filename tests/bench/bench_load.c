/*
 * The measured runs: throughput (`loadgen submit`) and commit latency (`loadgen latency`).
 *
 * Throughput: pre-signed transactions go to POST /v1/txs in batches on C connections, no
 * more than --window of them admitted and not yet committed (the pool holds 100,000 by
 * default; the window keeps the generator from filling it and measuring refusals). A
 * poller reads the node's /metrics every 10 ms; the run lasts from the first submission to
 * the poll that sees the last transaction committed (or refused by the rules: each counts,
 * and refusals are reported, as a benchmark that commits refusals proves nothing).
 *
 * Latency: an open loop at a constant rate. Every 10 ms the transactions now due are sent
 * in one batch, each stamped with the time its request started; a poller reads
 * /v1/status every 5 ms and, for each new height, the block's transaction ids
 * (GET /v1/blocks/{h}), stamping each with the time its height was first seen. The latency
 * of a transaction is the difference. Transactions are never sent late to make up for a
 * slow node: the schedule is kept, and how far sending fell behind it is reported.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench.h"
#include "tests/bench/loadgen.h"

#define CONNS_MAX 16
#define STALL_US  (120u * 1000000u) /* no progress for this long ends a run */

/* ---- /metrics ---- */

struct metrics {
    uint64_t committed, rejected, admitted, refused, height, mempool;
};

/* The value of the sample line that starts with `name` (HELP lines name it too). */
static uint64_t
metric(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p; p = strchr(p, '\n')) {
        p += *p == '\n';
        if (!strncmp(p, name, n))
            return strtoull(p + n, NULL, 10);
    }
    return 0;
}

static int
metrics_read(struct bench_http *c, struct metrics *m)
{
    const uint8_t *out;
    size_t len;
    if (bench_http_call(c, "GET", "/metrics", NULL, 0, &out, &len) != 200)
        return -1;
    const char *t = (const char *)out; /* NUL-terminated by the client's buffer */
    m->committed = metric(t, "idledger_block_txs_total{result=\"committed\"} ");
    m->rejected = metric(t, "idledger_block_txs_total{result=\"rejected\"} ");
    m->admitted = metric(t, "idledger_pool_txs_total{result=\"admitted\"} ");
    m->refused = metric(t, "idledger_pool_txs_total{result=\"refused\"} ");
    m->height = metric(t, "idledger_height ");
    m->mempool = metric(t, "idledger_mempool_txs ");
    return 0;
}

/* ---- throughput ---- */

struct run {
    const struct bench_opts *o;
    const struct bench_tx *txs;
    size_t n;
    atomic_size_t sent, accepted, unavailable, refused;
    atomic_uint_fast64_t done; /* committed + rejected since the start, from the poller */
    atomic_uint_fast64_t first_us, last_submit_us;
    atomic_bool senders_done, stop;
    char why[512];
    pthread_mutex_t why_lock;
};

struct lane {
    struct run *r;
    unsigned index; /* this sender's connection number */
};

/*
 * Sender `index` of C takes the transactions of the actors a with a % C == index (gen
 * writes transaction t as actor t % K), in file order: each actor's transactions reach the
 * node in nonce order, on one connection.
 */
static void *
sender(void *arg)
{
    struct lane *lane = arg;
    struct run *r = lane->r;
    const struct bench_opts *o = r->o;
    unsigned conns = o->conns, actors = o->actors ? o->actors : 1;
    struct bench_http c;
    struct bench_tx *batch = calloc(o->batch, sizeof(*batch));
    if (!batch || bench_http_init(&c, o->node, NULL) != 0) {
        free(batch);
        return NULL;
    }
    size_t t = 0;
    while (!atomic_load(&r->stop)) {
        size_t k = 0;
        for (; t < r->n && k < o->batch; t++)
            if ((t % actors) % conns == lane->index)
                batch[k++] = r->txs[t];
        if (!k)
            break;
        size_t blen;
        char *body = bench_txs_body(batch, k, o->json, &blen);
        /* Flow control: admitted but not committed stays under the window. */
        while (atomic_load(&r->sent) + k > atomic_load(&r->done) + o->window &&
               !atomic_load(&r->stop))
            bench_sleep_us(1000);
        uint64_t zero = 0, now = bench_now_us();
        atomic_compare_exchange_strong(&r->first_us, &zero, now);
        atomic_fetch_add(&r->sent, k);
        size_t acc, unav;
        char why[512];
        int status =
            body ? bench_submit(&c, body, blen, o->json, k, &acc, &unav, why, sizeof(why)) : 0;
        free(body);
        atomic_store(&r->last_submit_us, bench_now_us());
        if (status != 200)
            acc = unav = 0;
        atomic_fetch_add(&r->accepted, acc);
        atomic_fetch_add(&r->unavailable, unav);
        atomic_fetch_add(&r->refused, k - acc - unav);
        /* What was not admitted will never commit: take it out of the window. */
        atomic_fetch_sub(&r->sent, k - acc);
        if (why[0] || status != 200) {
            pthread_mutex_lock(&r->why_lock);
            if (!r->why[0])
                snprintf(r->why, sizeof(r->why), "%s", why[0] ? why : "submission failed");
            pthread_mutex_unlock(&r->why_lock);
        }
    }
    free(batch);
    bench_http_close(&c);
    return NULL;
}

/* Polls /metrics until every accepted transaction is done; returns the time it saw that. */
static uint64_t
poll_done(struct run *r, struct bench_http *c, const struct metrics *m0, struct metrics *last)
{
    uint64_t last_progress = bench_now_us(), prev = 0;
    for (;;) {
        struct metrics m;
        uint64_t now = bench_now_us();
        if (metrics_read(c, &m) == 0) {
            uint64_t done = (m.committed - m0->committed) + (m.rejected - m0->rejected);
            atomic_store(&r->done, done);
            *last = m;
            if (done != prev)
                last_progress = now;
            prev = done;
            if (atomic_load(&r->senders_done) && done >= atomic_load(&r->accepted))
                return now;
        }
        if (now - last_progress > STALL_US) {
            atomic_store(&r->stop, true);
            return 0;
        }
        bench_sleep_us(10000);
    }
}

struct poll_arg {
    struct run *r;
    struct bench_http *c;
    const struct metrics *m0;
    struct metrics last;
    uint64_t end_us;
};

static void *
poller(void *arg)
{
    struct poll_arg *p = arg;
    p->end_us = poll_done(p->r, p->c, p->m0, &p->last);
    return NULL;
}

int
loadgen_submit(const struct bench_opts *o)
{
    struct run *r = calloc(1, sizeof(*r));
    struct bench_http mc;
    struct metrics m0;
    if (!r || bench_txs_read(o->in, (struct bench_tx **)&r->txs, &r->n) != 0 ||
        bench_http_init(&mc, o->node, NULL) != 0 || metrics_read(&mc, &m0) != 0) {
        fprintf(stderr, "loadgen: cannot read %s or reach %s\n", o->in, o->node);
        free(r);
        return -1;
    }
    r->o = o;
    pthread_mutex_init(&r->why_lock, NULL);
    unsigned conns = o->conns;
    if (conns < 1 || conns > CONNS_MAX || conns > (o->actors ? o->actors : 1)) {
        fprintf(stderr, "loadgen: --conns must be 1 to %d and at most --actors\n", CONNS_MAX);
        free(r);
        return -1;
    }
    struct poll_arg pa = {r, &mc, &m0, m0, 0};
    pthread_t pt, st[CONNS_MAX];
    struct lane lanes[CONNS_MAX];
    pthread_create(&pt, NULL, poller, &pa);
    for (unsigned k = 0; k < conns; k++) {
        lanes[k] = (struct lane){r, k};
        pthread_create(&st[k], NULL, sender, &lanes[k]);
    }
    for (unsigned k = 0; k < conns; k++)
        pthread_join(st[k], NULL);
    atomic_store(&r->senders_done, true);
    pthread_join(pt, NULL);
    uint64_t t0 = atomic_load(&r->first_us), t1 = pa.end_us;
    double secs = t1 > t0 ? (double)(t1 - t0) / 1e6 : 0;
    double sub = (double)(atomic_load(&r->last_submit_us) - t0) / 1e6;
    size_t acc = atomic_load(&r->accepted);
    uint64_t committed = pa.last.committed - m0.committed;
    uint64_t rejected = pa.last.rejected - m0.rejected;
    printf("{\"txs\": %zu, \"accepted\": %zu, \"committed\": %llu, \"rejected\": %llu, "
           "\"unavailable\": %zu, \"refused\": %zu, \"seconds\": %.3f, \"tps\": %.1f, "
           "\"submit_seconds\": %.3f, \"admit_tps\": %.1f, \"blocks\": %llu, "
           "\"batch\": %u, \"conns\": %u, \"actors\": %u, \"window\": %u, \"complete\": %s, "
           "\"why\": \"%s\"}\n",
           r->n, acc, (unsigned long long)committed, (unsigned long long)rejected,
           (size_t)atomic_load(&r->unavailable), (size_t)atomic_load(&r->refused), secs,
           secs > 0 ? (double)committed / secs : 0, sub, sub > 0 ? (double)r->n / sub : 0,
           (unsigned long long)(pa.last.height - m0.height), o->batch, conns, o->actors, o->window,
           t1 && acc == r->n && rejected == 0 ? "true" : "false", r->why);
    bench_http_close(&mc);
    bench_txs_free((struct bench_tx *)r->txs, r->n);
    pthread_mutex_destroy(&r->why_lock);
    int rc = t1 && acc == r->n ? 0 : -1;
    free(r);
    return rc;
}

/* ---- latency ---- */

struct lat {
    const struct bench_tx *txs;
    size_t n;
    uint64_t *sent_us, *seen_us;
    size_t *index; /* txid -> position + 1, open addressing */
    size_t mask;
    atomic_size_t nsent, nseen;
    atomic_bool sending_done, stop;
    uint64_t blocks, block_txs;
    const struct bench_opts *o;
};

static size_t *
lat_slot(struct lat *l, const uint8_t txid[HASH_BYTES])
{
    uint64_t h;
    memcpy(&h, txid, sizeof(h));
    for (size_t i = h & l->mask;; i = (i + 1) & l->mask)
        if (!l->index[i] || !memcmp(l->txs[l->index[i] - 1].txid, txid, HASH_BYTES))
            return &l->index[i];
}

/* Stamps the transactions of block h as seen at `at`. */
static int
lat_block(struct lat *l, struct bench_http *c, uint64_t h, uint64_t at)
{
    char path[64];
    snprintf(path, sizeof(path), "/v1/blocks/%llu", (unsigned long long)h);
    json_t *b;
    if (bench_http_json(c, "GET", path, NULL, &b) != 200) {
        json_decref(b);
        return -1;
    }
    json_t *txs = json_object_get(b, "txs"), *t;
    size_t i;
    l->blocks++;
    json_array_foreach(txs, i, t)
    {
        uint8_t id[HASH_BYTES];
        const char *hex = json_string_value(t);
        l->block_txs++;
        if (!hex || codec_hex_decode(id, HASH_BYTES, hex) != IDL_OK)
            continue;
        size_t *s = lat_slot(l, id);
        if (*s && !l->seen_us[*s - 1]) {
            l->seen_us[*s - 1] = at;
            atomic_fetch_add(&l->nseen, 1);
        }
    }
    json_decref(b);
    return 0;
}

static void *
lat_poller(void *arg)
{
    struct lat *l = arg;
    struct bench_http c;
    char token[256] = "";
    if (l->o->token_file)
        bench_read_line_file(l->o->token_file, token, sizeof(token));
    if (bench_http_init(&c, l->o->node, token) != 0)
        return NULL;
    json_t *st;
    uint64_t top = 0, done_at = 0;
    if (bench_http_json(&c, "GET", "/v1/status", NULL, &st) == 200)
        top = (uint64_t)json_integer_value(json_object_get(st, "height"));
    json_decref(st);
    while (!atomic_load(&l->stop)) {
        uint64_t now = bench_now_us();
        if (bench_http_json(&c, "GET", "/v1/status", NULL, &st) == 200) {
            uint64_t h = (uint64_t)json_integer_value(json_object_get(st, "height"));
            for (; top < h; top++)
                lat_block(l, &c, top + 1, now);
        }
        json_decref(st);
        if (atomic_load(&l->nseen) >= l->n)
            break;
        if (atomic_load(&l->sending_done) && !done_at)
            done_at = now;
        if (done_at && now - done_at > 60u * 1000000u)
            break; /* what is not seen by now is reported as lost */
        bench_sleep_us(5000);
    }
    bench_http_close(&c);
    return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sends on schedule; returns the largest lag behind the schedule (us). */
static uint64_t
lat_send(struct lat *l, double rate)
{
    struct bench_http c;
    uint64_t lag_max = 0;
    if (bench_http_init(&c, l->o->node, NULL) != 0)
        return 0;
    uint64_t t0 = bench_now_us(), tick = t0;
    size_t sent = 0;
    while (sent < l->n) {
        tick += 10000;
        uint64_t now = bench_now_us();
        if (tick > now)
            bench_sleep_us(tick - now);
        now = bench_now_us();
        /* Transaction i is due at t0 + i / rate. */
        size_t due = (size_t)(rate * (double)(now - t0) / 1e6) + 1;
        if (due > l->n)
            due = l->n;
        if (due <= sent)
            continue;
        uint64_t sched = t0 + (uint64_t)((double)sent * 1e6 / rate);
        if (now - sched > lag_max)
            lag_max = now - sched;
        size_t blen, acc, unav;
        char why[512];
        char *body = bench_txs_body(l->txs + sent, due - sent, l->o->json, &blen);
        for (size_t i = sent; i < due; i++)
            l->sent_us[i] = now;
        if (!body ||
            bench_submit(&c, body, blen, l->o->json, due - sent, &acc, &unav, why, sizeof(why)) !=
                200 ||
            acc != due - sent)
            fprintf(stderr, "loadgen: latency: %s\n", body ? why : "out of memory");
        free(body);
        sent = due;
        atomic_store(&l->nsent, sent);
    }
    bench_http_close(&c);
    return lag_max;
}

int
loadgen_latency(const struct bench_opts *o)
{
    struct lat *l = calloc(1, sizeof(*l));
    struct bench_tx *txs;
    size_t n;
    if (!l || bench_txs_read(o->in, &txs, &n) != 0) {
        fprintf(stderr, "loadgen: cannot read %s\n", o->in);
        free(l);
        return -1;
    }
    size_t want = o->seconds > 0 ? (size_t)(o->rate * o->seconds) : n;
    l->o = o;
    l->txs = txs;
    l->n = want < n ? want : n;
    size_t cap = 1;
    while (cap < 2 * l->n + 16)
        cap *= 2;
    l->mask = cap - 1;
    l->index = calloc(cap, sizeof(*l->index));
    l->sent_us = calloc(l->n ? l->n : 1, sizeof(uint64_t));
    l->seen_us = calloc(l->n ? l->n : 1, sizeof(uint64_t));
    uint64_t *lat = calloc(l->n ? l->n : 1, sizeof(uint64_t));
    int rc = l->index && l->sent_us && l->seen_us && lat ? 0 : -1;
    for (size_t i = 0; !rc && i < l->n; i++)
        *lat_slot(l, txs[i].txid) = i + 1;
    pthread_t pt;
    uint64_t lag = 0, t0 = bench_now_us();
    if (!rc) {
        pthread_create(&pt, NULL, lat_poller, l);
        lag = lat_send(l, o->rate);
        atomic_store(&l->sending_done, true);
        pthread_join(pt, NULL);
    }
    double run_s = (double)(bench_now_us() - t0) / 1e6;
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; !rc && i < l->n; i++)
        if (l->seen_us[i] && l->sent_us[i]) {
            lat[k] = l->seen_us[i] > l->sent_us[i] ? l->seen_us[i] - l->sent_us[i] : 0;
            sum += (double)lat[k++];
        }
    qsort(lat, k, sizeof(*lat), cmp_u64);
#define PCT(p) (k ? (double)lat[(size_t)((double)(k - 1) * (p))] / 1000.0 : 0)
    if (!rc)
        printf("{\"rate\": %.1f, \"txs\": %zu, \"committed_seen\": %zu, \"lost\": %zu, "
               "\"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, "
               "\"mean_ms\": %.1f, \"blocks\": %llu, \"txs_per_block\": %.1f, "
               "\"send_lag_max_ms\": %.1f, \"run_seconds\": %.2f}\n",
               o->rate, l->n, k, l->n - k, PCT(0.50), PCT(0.90), PCT(0.99), PCT(1.0),
               k ? sum / (double)k / 1000.0 : 0, (unsigned long long)l->blocks,
               l->blocks ? (double)l->block_txs / (double)l->blocks : 0, (double)lag / 1000.0,
               run_s);
#undef PCT
    free(lat);
    free(l->index);
    free(l->sent_us);
    free(l->seen_us);
    bench_txs_free(txs, n);
    rc = rc || k < l->n ? -1 : 0;
    free(l);
    return rc;
}
