/*
 * The load generator's commands and their options (see the usage text in loadgen.c).
 * Every command prints its result as one JSON object on stdout and returns 0, or prints
 * why on stderr and returns -1.
 */
#ifndef IDL_BENCH_LOADGEN_H
#define IDL_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stdint.h>

struct bench_opts {
    const char *node;            /* API base URL of the node to drive */
    const char *token_file;      /* the node's api-token file */
    const char *admins;          /* testnet admins/ directory (sysadmin.key, secadmin.key) */
    const char *passphrase_file; /* testnet passphrase */
    const char *org;             /* root organisation code */
    const char *in, *out;
    const char *system, *role;   /* grant */
    const char *unit;            /* csv: the unit column */
    uint64_t count, first;
    unsigned actors, threads, conns;
    unsigned batch, window;
    double rate, seconds;
    bool verbose;
    bool json;    /* submit as {"txs": [HEX, ...]} instead of binary frames */
    bool one_key; /* sig: every message under one key (its parse kept by sig_verify) */
};

int loadgen_sig(const struct bench_opts *o);
int loadgen_gen(const struct bench_opts *o);
int loadgen_grant(const struct bench_opts *o);
int loadgen_csv(const struct bench_opts *o);
/* hex --in F: prints each transaction of a gen file as one line of hex (for tests). */
int loadgen_hex(const struct bench_opts *o);
int loadgen_submit(const struct bench_opts *o);
int loadgen_latency(const struct bench_opts *o);

#endif
