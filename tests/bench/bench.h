/*
 * The benchmark load generator (tests/bench/loadgen.c) and its parts: a keep-alive HTTP
 * client for the node's API, generated people and transactions, and time helpers.
 *
 * Conventions: pointers are never NULL unless stated; functions that can fail return 0 on
 * success and -1 on failure, with a sentence in the caller's `why` or on stderr. Nothing
 * here is part of the product: it drives real nodes from outside, through their API only,
 * and builds and signs transactions with the ledger library exactly as the wallet does.
 */
#ifndef IDL_BENCH_H
#define IDL_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/codec.h"
#include "ledger/hash.h"
#include "ledger/tx.h"

/* ---- time ---- */

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t bench_now_us(void);
void bench_sleep_us(uint64_t us);

/* ---- HTTP (bench_http.c) ---- */

#define BENCH_HOST_MAX 128

/*
 * One kept-alive HTTP/1.1 connection to a node's API. A call that finds the connection
 * closed by the server reconnects once. Not thread-safe: one per thread.
 */
struct bench_http {
    char host[BENCH_HOST_MAX];
    int port;
    int fd;                /* -1 when not connected */
    char auth[256];        /* "Bearer TOKEN", "IDL-Sig ..." (one signed call) or "" */
    uint8_t *buf;          /* the last response (headers and body) */
    size_t cap, len;
    size_t body_off;       /* offset of the body in buf */
};

/* Parses url ("http://HOST:PORT") into c; token may be NULL. Does not connect. */
int bench_http_init(struct bench_http *c, const char *url, const char *token);
void bench_http_close(struct bench_http *c);

/*
 * Sends one request and reads its answer. body may be NULL (no body). Returns the HTTP
 * status (0 if the node could not be reached); *out and *out_len (may be NULL) point into
 * c's buffer, valid until the next call on c.
 */
int bench_http_call(struct bench_http *c, const char *method, const char *path,
                    const void *body, size_t body_len, const uint8_t **out, size_t *out_len);
/* bench_http_call with a body of Content-Type `type` (bench_http_call sends JSON). */
int bench_http_call_typed(struct bench_http *c, const char *method, const char *path,
                          const char *type, const void *body, size_t body_len,
                          const uint8_t **out, size_t *out_len);

/* bench_http_call with the answer parsed as JSON (*reply NULL if it is not). */
int bench_http_json(struct bench_http *c, const char *method, const char *path, json_t *body,
                    json_t **reply);

/* Reads a whole small file (a token, a passphrase) into buf, without trailing blanks. */
int bench_read_line_file(const char *path, char *buf, size_t n);

/* ---- people and transactions (bench_gen.c) ---- */

/*
 * Person number `i` of a run: a distinct valid resident ID number for every i below
 * 18,000,000 (region, birth date and sequence number are functions of i), and a name,
 * mobile and e-mail address that pass the ledger's checks.
 */
struct bench_person {
    char id_number[19];
    char name[32];
    char mobile[12];
    char email[48];
};
void bench_person_make(struct bench_person *p, uint64_t i);

/* A pre-signed transaction: its encoding and id. */
struct bench_tx {
    struct idl_bytes raw;
    uint8_t txid[HASH_BYTES];
};

/* The file format of pre-signed transactions: "IDLBTX1\n", u64 count, then count times
 * (u32 length | bytes). */
int bench_txs_write(const char *path, const struct bench_tx *txs, size_t n);
int bench_txs_read(const char *path, struct bench_tx **txs, size_t *n);
void bench_txs_free(struct bench_tx *txs, size_t n);

/*
 * A system administrator who signs the sealing requests (only they may have a node seal):
 * the chain's id, and the account's secret (SIG_SECKEY_BYTES) and public key.
 */
struct bench_signer {
    const char *chain_id;
    const uint8_t *sk;
    const uint8_t *pk;
};

/*
 * Seals people [first, first + n) through POST /v1/persons/seal-batch (1000 a request),
 * each request signed by `by`, into persons[0..n) (ledger_person, fields heap-allocated:
 * free with bench_persons_free). Refuses a person the chain already holds.
 */
int bench_seal(struct bench_http *c, const struct bench_signer *by, uint64_t first, size_t n,
               struct ledger_person *persons);
void bench_persons_free(struct ledger_person *persons, size_t n);

/* Copies a sealed person (deep). */
int bench_person_copy(struct ledger_person *dst, const struct ledger_person *src);

/*
 * The body of POST /v1/txs for txs[0..n): binary frames (u32 big-endian length, bytes),
 * or with `json` the {"txs": [HEX, ...]} form. Caller frees.
 */
char *bench_txs_body(const struct bench_tx *txs, size_t n, bool json, size_t *len);

/*
 * Submits n transactions with POST /v1/txs in one request; *accepted counts those the
 * node admitted, and *unavailable those refused because its pool was full (to be sent
 * again). Returns the HTTP status.
 */
int bench_submit(struct bench_http *c, const char *body, size_t len, bool json, size_t n,
                 size_t *accepted, size_t *unavailable, char *why, size_t why_len);

/* Waits until GET /v1/tx/{txid} is committed; 0, or -1 if rejected or after timeout_s. */
int bench_wait_tx(struct bench_http *c, const uint8_t txid[HASH_BYTES], unsigned timeout_s,
                  char *why, size_t why_len);

#endif
