/*
 * Generated people, their sealing by a node, pre-signed transaction files and batch
 * submission, for the load generator.
 *
 * People are a function of their number, so runs are reproducible and two ranges never
 * share an ID number: person i has birth date 1960-01-01 + i/1000 days and sequence number
 * i%1000 (18,000,000 people before the dates pass 2009). Sealing goes through the node's
 * own POST /v1/persons/seal-batch, signed by the root's system administrator, as the
 * wallet's bulk import does: only nodes hold the chain secret, so the generator cannot
 * seal by itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/idnum.h"
#include "ledger/person.h"
#include "ledger/schema.h"
#include "ledger/sig.h"
#include "tests/bench/bench.h"

#define SEAL_CHUNK LEDGER_BATCH_MAX

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵",
                                       "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"};
static const char *const given[] = {"芳", "伟", "娜", "敏", "静", "丽", "强", "磊",
                                    "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
                                    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文"};

/* Civil date of `days` after 1960-01-01 (Howard Hinnant's days_from_civil, inverted). */
static void
civil_from_days(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days - 3653 + 719468; /* 1960-01-01 is 3653 days before 1970-01-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void
bench_person_make(struct bench_person *p, uint64_t i)
{
    int y, m, d;
    civil_from_days((int64_t)(i / 1000), &y, &m, &d);
    char first17[18];
    snprintf(first17, sizeof(first17), "440106%04d%02d%02d%03u", y, m, d, (unsigned)(i % 1000));
    snprintf(p->id_number, sizeof(p->id_number), "%.17s%c", first17, idnum_check_char(first17));
    snprintf(p->name, sizeof(p->name), "%s%s", surnames[i % IDL_ARRAY_LEN(surnames)],
             given[(i / IDL_ARRAY_LEN(surnames)) % IDL_ARRAY_LEN(given)]);
    snprintf(p->mobile, sizeof(p->mobile), "13%09llu", (unsigned long long)(i % 1000000000u));
    snprintf(p->email, sizeof(p->email), "t%llu@bench.example.edu.cn", (unsigned long long)i);
}

/* ---- transaction files ---- */

static const char txs_magic[8] = "IDLBTX1\n";

int
bench_txs_write(const char *path, const struct bench_tx *txs, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_raw(&w, txs_magic, sizeof(txs_magic));
    codec_put_u64(&w, n);
    for (size_t i = 0; i < n; i++) {
        codec_put_u32(&w, (uint32_t)txs[i].raw.len);
        codec_put_raw(&w, txs[i].raw.data, txs[i].raw.len);
    }
    struct idl_bytes out;
    int rc = codec_writer_finish(&w, &out) == IDL_OK ? 0 : -1;
    if (!rc && fwrite(out.data, 1, out.len, f) != out.len)
        rc = -1;
    if (!rc)
        free(out.data);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int
bench_txs_read(const char *path, struct bench_tx **txs, size_t *n)
{
    *txs = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
    int rc = data && fread(data, 1, (size_t)size, f) == (size_t)size ? 0 : -1;
    fclose(f);
    struct codec_reader r;
    codec_reader_init(&r, data, rc ? 0 : (size_t)size);
    char magic[8];
    codec_get_raw(&r, magic, sizeof(magic));
    uint64_t count = codec_get_u64(&r);
    if (rc || memcmp(magic, txs_magic, sizeof(magic)) != 0 || count > (uint64_t)size) {
        free(data);
        return -1;
    }
    struct bench_tx *t = calloc(count ? count : 1, sizeof(*t));
    for (uint64_t i = 0; t && i < count; i++) {
        uint32_t len = codec_get_u32(&r);
        const uint8_t *p = codec_get_view(&r, len);
        if (!p)
            break;
        t[i].raw.data = malloc(len);
        memcpy(t[i].raw.data, p, len);
        t[i].raw.len = len;
        hash_tagged(t[i].txid, "idledger/txid", p, len);
        *n = i + 1;
    }
    free(data);
    if (!t || *n != count) {
        bench_txs_free(t, *n);
        *n = 0;
        return -1;
    }
    *txs = t;
    return 0;
}

void
bench_txs_free(struct bench_tx *txs, size_t n)
{
    for (size_t i = 0; txs && i < n; i++)
        free(txs[i].raw.data);
    free(txs);
}

/* ---- sealing ---- */

static json_t *
person_json(uint64_t i)
{
    struct bench_person p;
    bench_person_make(&p, i);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id_number", p.id_number, "name", p.name,
                     "mobile", p.mobile, "email", p.email, "office_phone", "020-38000000",
                     "address", "广州市天河区天河路1号");
}

/* Fills one sealed person from the node's answer. */
static int
person_from_json(json_t *j, struct ledger_person *out)
{
    const char *doc = json_string_value(json_object_get(j, "doc_type"));
    const char *key = json_string_value(json_object_get(j, "key"));
    json_t *fields = json_object_get(j, "fields");
    size_t n = json_array_size(fields);
    memset(out, 0, sizeof(*out));
    out->doc_type = (uint8_t)idnum_doc_parse(doc ? doc : "");
    if (!out->doc_type || !key || codec_hex_decode(out->key, HASH_BYTES, key) != IDL_OK || !n)
        return -1;
    struct ledger_sealed *s = calloc(n, sizeof(*s));
    if (!s)
        return -1;
    out->fields.items = s;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *hex = json_string_value(json_object_get(f, "data"));
        size_t len = hex ? strlen(hex) / 2 : 0;
        s[i].field = (uint8_t)person_field_parse(json_string_value(json_object_get(f, "field")));
        s[i].data.data = malloc(len ? len : 1);
        s[i].data.len = len;
        out->fields.count = (uint32_t)i + 1;
        if (!s[i].field || !len || !s[i].data.data ||
            codec_hex_decode(s[i].data.data, len, hex) != IDL_OK)
            return -1;
    }
    return 0;
}

/* The Authorization header of a request signed by `by` (docs/API.md, signed requests). */
static int
sign_request(const struct bench_signer *by, const char *method, const char *path,
             const char *body, char *auth, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    uint8_t msg[HASH_BYTES], sig[SIG_BYTES];
    char pk[2 * SIG_PUBKEY_BYTES + 1], sighex[2 * SIG_BYTES + 1];
    api_request_sighash_body(msg, by->chain_id, method, path, ms, body, strlen(body));
    if (sig_sign(sig, msg, by->sk) != IDL_OK)
        return -1;
    codec_hex_encode(pk, by->pk, SIG_PUBKEY_BYTES);
    codec_hex_encode(sighex, sig, SIG_BYTES);
    int len = snprintf(auth, n, "IDL-Sig key=%s,time=%llu,sig=%s", pk, (unsigned long long)ms,
                       sighex);
    return len > 0 && (size_t)len < n ? 0 : -1;
}

static int
seal_chunk(struct bench_http *c, const struct bench_signer *by, uint64_t first, size_t n,
           struct ledger_person *out)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, person_json(first + i));
    json_t *body = json_pack("{s:o}", "persons", list), *reply = NULL;
    char *text = json_dumps(body, JSON_COMPACT), token_auth[sizeof(c->auth)];
    json_decref(body);
    int status = 0;
    memcpy(token_auth, c->auth, sizeof(token_auth));
    if (text && sign_request(by, "POST", "/v1/persons/seal-batch", text, c->auth,
                             sizeof(c->auth)) == 0) {
        const uint8_t *ans;
        size_t len;
        status = bench_http_call(c, "POST", "/v1/persons/seal-batch", text, strlen(text), &ans,
                                 &len);
        if (status > 0 && len)
            reply = json_loadb((const char *)ans, len, 0, NULL);
    }
    memcpy(c->auth, token_auth, sizeof(token_auth));
    free(text);
    json_t *results = json_object_get(reply, "results");
    int rc = status == 200 && json_array_size(results) == n ? 0 : -1;
    if (rc)
        fprintf(stderr, "loadgen: seal-batch answered %d\n", status);
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *r = json_array_get(results, i);
        json_t *person = json_object_get(r, "person");
        if (!person || json_is_true(json_object_get(r, "registered"))) {
            const char *m = json_string_value(
                json_object_get(json_object_get(r, "error"), "message"));
            fprintf(stderr, "loadgen: person %llu: %s\n", (unsigned long long)(first + i),
                    m ? m : "already registered (use another --first)");
            rc = -1;
        } else if (person_from_json(person, &out[i]) != 0) {
            fprintf(stderr, "loadgen: the node sealed person %llu badly\n",
                    (unsigned long long)(first + i));
            rc = -1;
        }
    }
    json_decref(reply);
    return rc;
}

int
bench_seal(struct bench_http *c, const struct bench_signer *by, uint64_t first, size_t n,
           struct ledger_person *persons)
{
    memset(persons, 0, n * sizeof(*persons));
    for (size_t done = 0; done < n; done += SEAL_CHUNK) {
        size_t k = n - done < SEAL_CHUNK ? n - done : SEAL_CHUNK;
        if (seal_chunk(c, by, first + done, k, persons + done) != 0)
            return -1;
    }
    return 0;
}

void
bench_persons_free(struct ledger_person *persons, size_t n)
{
    for (size_t i = 0; persons && i < n; i++)
        schema_free(&ledger_person_schema, &persons[i]);
}

int
bench_person_copy(struct ledger_person *dst, const struct ledger_person *src)
{
    memset(dst, 0, sizeof(*dst));
    return schema_copy(&ledger_person_schema, dst, src) == IDL_OK ? 0 : -1;
}

/* ---- submission ---- */

char *
bench_txs_body(const struct bench_tx *txs, size_t n, bool json, size_t *len)
{
    size_t cap = 16;
    for (size_t i = 0; i < n; i++)
        cap += (json ? 2 : 1) * txs[i].raw.len + 4;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    size_t off = json ? (size_t)snprintf(b, cap, "{\"txs\":[") : 0;
    for (size_t i = 0; i < n; i++) {
        if (json) {
            b[off++] = '"';
            codec_hex_encode(b + off, txs[i].raw.data, txs[i].raw.len);
            off += 2 * txs[i].raw.len;
            b[off++] = '"';
            if (i + 1 < n)
                b[off++] = ',';
        } else {
            codec_be32_put((uint8_t *)b + off, (uint32_t)txs[i].raw.len);
            memcpy(b + off + 4, txs[i].raw.data, txs[i].raw.len);
            off += 4 + txs[i].raw.len;
        }
    }
    if (json)
        off += (size_t)snprintf(b + off, cap - off, "]}");
    *len = off;
    return b;
}

int
bench_submit(struct bench_http *c, const char *body, size_t len, bool json, size_t n,
             size_t *accepted, size_t *unavailable, char *why, size_t why_len)
{
    const uint8_t *out;
    size_t out_len;
    *accepted = *unavailable = 0;
    why[0] = '\0';
    int status = bench_http_call_typed(c, "POST", "/v1/txs",
                                       json ? "application/json" : "application/octet-stream",
                                       body, len, &out, &out_len);
    if (status != 200) {
        snprintf(why, why_len, "POST /v1/txs answered %d: %.200s", status,
                 status ? (const char *)out : "unreachable");
        return status;
    }
    json_t *reply = json_loadb((const char *)out, out_len, 0, NULL);
    json_t *results = json_object_get(reply, "results");
    if (json_array_size(results) != n) {
        snprintf(why, why_len, "POST /v1/txs answered %zu results for %zu", 
                 json_array_size(results), n);
        json_decref(reply);
        return -1;
    }
    *accepted = (size_t)json_integer_value(json_object_get(reply, "accepted"));
    size_t i;
    json_t *r;
    json_array_foreach(results, i, r)
    {
        json_t *err = json_object_get(r, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        if (!code)
            continue;
        if (!strcmp(code, "unavailable"))
            (*unavailable)++;
        else if (!why[0])
            snprintf(why, why_len, "tx %zu refused: %s: %s", i, code,
                     json_string_value(json_object_get(err, "message")));
    }
    json_decref(reply);
    return status;
}

int
bench_wait_tx(struct bench_http *c, const uint8_t txid[HASH_BYTES], unsigned timeout_s,
              char *why, size_t why_len)
{
    char path[96];
    memcpy(path, "/v1/tx/", 7);
    codec_hex_encode(path + 7, txid, HASH_BYTES);
    uint64_t t0 = bench_now_us();
    while (bench_now_us() - t0 < (uint64_t)timeout_s * 1000000u) {
        json_t *reply = NULL;
        int status = bench_http_json(c, "GET", path, NULL, &reply);
        const char *state = json_string_value(json_object_get(reply, "state"));
        int done = status == 200 && state && strcmp(state, "pending") != 0;
        int ok = done && !strcmp(state, "committed");
        if (done && !ok)
            snprintf(why, why_len, "tx %s rejected: %s", path + 7,
                     json_string_value(json_object_get(reply, "reason")));
        json_decref(reply);
        if (done)
            return ok ? 0 : -1;
        bench_sleep_us(20000);
    }
    snprintf(why, why_len, "tx %s not committed within %u s", path + 7, timeout_s);
    return -1;
}
