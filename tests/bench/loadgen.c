/*
 * loadgen: the load generator of `make bench` (tests/bench/run.sh drives it).
 *
 *   loadgen sig     [--seconds S] [--threads T] [--one-key]   BIP-340 verifications/s
 *   loadgen gen     --node URL --token-file F --admins DIR --passphrase-file F
 *                   --count N [--first I] [--actors K] [--threads T] --out FILE
 *   loadgen submit  --node URL --in FILE [--batch B] [--conns C] [--window W]
 *   loadgen latency --node URL --token-file F --in FILE --rate R [--seconds S]
 *   loadgen grant   --node URL --token-file F --admins DIR --passphrase-file F
 *                   --in ACCOUNTS --count M --system S --role R
 *   loadgen csv     --count N [--first I] --unit CODE --out FILE
 *
 * The bound (`sig`) verifies signatures made beforehand over random messages with random
 * keys, exactly what a node does per transaction (ledger/sig.h), on T threads at once, and
 * reports the rate of each thread and the sum. With --one-key every message is under one key,
 * whose parsed form sig_verify keeps: what one actor's transactions cost. Everything else drives real nodes through
 * their HTTP API; see bench_setup.c (setup) and bench_load.c (the measured runs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/sig.h"
#include "tests/bench/bench.h"
#include "tests/bench/loadgen.h"

#define SIG_SET 4096
#define THREADS_MAX 64

/* ---- sig: the signature bound ---- */

struct sig_set {
    uint8_t msg[SIG_SET][32];
    uint8_t pk[SIG_SET][SIG_PUBKEY_BYTES];
    uint8_t sig[SIG_SET][SIG_BYTES];
};

struct sig_job {
    const struct sig_set *set;
    uint64_t until_us;
    uint64_t done, bad;
    double seconds;
};

static void *
sig_worker(void *arg)
{
    struct sig_job *j = arg;
    uint64_t t0 = bench_now_us(), now = t0;
    size_t i = 0;
    while (now < j->until_us) {
        /* 64 at a time between clock reads. */
        for (int k = 0; k < 64; k++, i = (i + 1) % SIG_SET) {
            if (!sig_verify(j->set->sig[i], j->set->msg[i], j->set->pk[i]))
                j->bad++;
            j->done++;
        }
        now = bench_now_us();
    }
    j->seconds = (double)(now - t0) / 1e6;
    return NULL;
}

/*
 * Random messages under a random key each (as on a busy ledger with many actors), or with
 * one_key all under one key: one actor's transactions, whose parsed key sig_verify keeps.
 */
static int
sig_make_set(struct sig_set *set, bool one_key)
{
    uint8_t sk[SIG_SECKEY_BYTES];
    for (size_t i = 0; i < SIG_SET; i++) {
        if (i == 0 || !one_key) {
            if (sig_keypair_generate(sk, set->pk[i]) != IDL_OK)
                return -1;
        } else {
            memcpy(set->pk[i], set->pk[0], SIG_PUBKEY_BYTES);
        }
        for (size_t b = 0; b < 32; b++)
            set->msg[i][b] = (uint8_t)rand();
        if (sig_sign(set->sig[i], set->msg[i], sk) != IDL_OK)
            return -1;
    }
    return 0;
}

int
loadgen_sig(const struct bench_opts *o)
{
    struct sig_set *set = malloc(sizeof(*set));
    unsigned n = o->threads ? o->threads : 1;
    if (n > THREADS_MAX)
        n = THREADS_MAX;
    if (!set || sig_init() != IDL_OK || sig_make_set(set, o->one_key) != 0) {
        free(set);
        fprintf(stderr, "loadgen: cannot make the signature set\n");
        return -1;
    }
    pthread_t t[THREADS_MAX];
    struct sig_job jobs[THREADS_MAX];
    uint64_t until = bench_now_us() + (uint64_t)(o->seconds * 1e6);
    for (unsigned k = 0; k < n; k++) {
        jobs[k] = (struct sig_job){set, until, 0, 0, 0};
        pthread_create(&t[k], NULL, sig_worker, &jobs[k]);
    }
    double total = 0;
    uint64_t bad = 0;
    printf("{\"threads\": %u, \"per_thread\": [", n);
    for (unsigned k = 0; k < n; k++) {
        pthread_join(t[k], NULL);
        double rate = jobs[k].seconds > 0 ? (double)jobs[k].done / jobs[k].seconds : 0;
        total += rate;
        bad += jobs[k].bad;
        printf("%s%.0f", k ? ", " : "", rate);
    }
    printf("], \"rate\": %.0f, \"seconds\": %.2f, \"invalid\": %llu}\n", total, o->seconds,
           (unsigned long long)bad);
    free(set);
    return bad ? -1 : 0;
}

/* ---- csv: an applicant spreadsheet for `idledger import` ---- */

int
loadgen_csv(const struct bench_opts *o)
{
    FILE *f = fopen(o->out, "w");
    if (!f)
        return -1;
    fprintf(f, "unit,name,id number,office phone,e-mail,mobile,school type,user type,address\n");
    for (uint64_t i = 0; i < o->count; i++) {
        struct bench_person p;
        bench_person_make(&p, o->first + i);
        fprintf(f, "%s,%s,%s,020-38000000,%s,%s,,信息查询员,广州市天河区天河路1号\n", o->unit,
                p.name, p.id_number, p.email, p.mobile);
    }
    if (fclose(f) != 0)
        return -1;
    printf("{\"rows\": %llu, \"first\": %llu}\n", (unsigned long long)o->count,
           (unsigned long long)o->first);
    return 0;
}

/* ---- options ---- */

static const char usage[] =
    "usage: loadgen sig|gen|submit|latency|grant|csv|hex [--node URL] [--token-file F]\n"
    "       [--admins DIR] [--passphrase-file F] [--org CODE] [--in F] [--out F]\n"
    "       [--count N] [--first I] [--actors K] [--threads T] [--batch B] [--conns C]\n"
    "       [--window W] [--rate R] [--seconds S] [--system S] [--role R] [--unit CODE]\n"
    "       [--verbose] [--json] [--one-key]   (see tests/bench/loadgen.c)\n";

static int
parse_opt(struct bench_opts *o, const char *name, const char *v)
{
    struct {
        const char *name;
        const char **s;
    } strs[] = {{"node", &o->node},       {"token-file", &o->token_file},
                {"admins", &o->admins},   {"passphrase-file", &o->passphrase_file},
                {"org", &o->org},         {"in", &o->in},
                {"out", &o->out},         {"system", &o->system},
                {"role", &o->role},       {"unit", &o->unit}};
    for (size_t i = 0; i < IDL_ARRAY_LEN(strs); i++)
        if (!strcmp(name, strs[i].name)) {
            *strs[i].s = v;
            return 0;
        }
    char *end;
    double d = strtod(v, &end);
    if (*end || d < 0)
        return -1;
    if (!strcmp(name, "count"))
        o->count = (uint64_t)d;
    else if (!strcmp(name, "first"))
        o->first = (uint64_t)d;
    else if (!strcmp(name, "actors"))
        o->actors = (unsigned)d;
    else if (!strcmp(name, "threads"))
        o->threads = (unsigned)d;
    else if (!strcmp(name, "batch"))
        o->batch = (unsigned)d;
    else if (!strcmp(name, "conns"))
        o->conns = (unsigned)d;
    else if (!strcmp(name, "window"))
        o->window = (unsigned)d;
    else if (!strcmp(name, "rate"))
        o->rate = d;
    else if (!strcmp(name, "seconds"))
        o->seconds = d;
    else
        return -1;
    return 0;
}

/* Each command's required options, by name. */
static int
need(const struct bench_opts *o, const char *cmd)
{
    const char *missing = NULL;
    if (strcmp(cmd, "sig") && strcmp(cmd, "csv") && strcmp(cmd, "hex") && !o->node)
        missing = "--node";
    else if ((!strcmp(cmd, "gen") || !strcmp(cmd, "grant")) &&
             (!o->admins || !o->passphrase_file || !o->token_file))
        missing = "--admins, --passphrase-file and --token-file";
    else if ((!strcmp(cmd, "gen") || !strcmp(cmd, "csv")) && (!o->out || !o->count))
        missing = "--out and --count";
    else if ((!strcmp(cmd, "submit") || !strcmp(cmd, "latency") || !strcmp(cmd, "grant") ||
              !strcmp(cmd, "hex")) &&
             !o->in)
        missing = "--in";
    else if (!strcmp(cmd, "latency") && o->rate <= 0)
        missing = "--rate";
    else if (!strcmp(cmd, "csv") && !o->unit)
        missing = "--unit";
    if (missing)
        fprintf(stderr, "loadgen %s needs %s\n%s", cmd, missing, usage);
    return missing ? -1 : 0;
}

int
main(int argc, char **argv)
{
    struct bench_opts o = {.org = "440000", .actors = 1, .threads = 2, .conns = 1,
                           .batch = 10000, .window = 50000, .seconds = 3, .system = "teacher",
                           .role = "query", .count = 0};
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool *flag = !strcmp(a, "--verbose") ? &o.verbose
                     : !strcmp(a, "--json")  ? &o.json
                     : !strcmp(a, "--one-key") ? &o.one_key
                                               : NULL;
        if (flag) {
            *flag = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc || parse_opt(&o, a + 2, argv[i + 1])) {
            fprintf(stderr, "loadgen: bad option %s\n%s", a, usage);
            return 2;
        }
        i++;
    }
    static const struct {
        const char *name;
        int (*fn)(const struct bench_opts *);
    } cmds[] = {{"sig", loadgen_sig},         {"gen", loadgen_gen},
                {"submit", loadgen_submit},   {"latency", loadgen_latency},
                {"grant", loadgen_grant},     {"csv", loadgen_csv},
                {"hex", loadgen_hex}};
    for (size_t i = 0; i < IDL_ARRAY_LEN(cmds); i++)
        if (!strcmp(argv[1], cmds[i].name)) {
            if (need(&o, argv[1]) != 0)
                return 2;
            return cmds[i].fn(&o) == 0 ? 0 : 1;
        }
    fprintf(stderr, "loadgen: unknown command %s\n%s", argv[1], usage);
    return 2;
}
