/*
 * Unit tests of node/config.h: node_config_load reads a home's config.json, applies the
 * defaults and resolves relative paths against the home; it refuses, with a sentence that
 * names the option, an unknown option, a value of the wrong type, a log level, role or
 * api_auth outside their names, an address without a port, an open API off loopback, a
 * missing node_id, a duplicated member and a file that is not a JSON object. Every test
 * writes its config.json into its own mkdtemp directory under /tmp, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/config.h"

struct ct {
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    struct node_config cfg;
    char why[512];
};

static int
setup(void **state)
{
    struct ct *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/idl-config-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/config.json", t->dir);
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct ct *t = *state;
    unlink(t->path);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* Writes text as the home's config.json and loads it. */
static idl_err
load(struct ct *t, const char *text)
{
    FILE *f = fopen(t->path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    t->why[0] = '\0';
    return node_config_load(&t->cfg, t->dir, t->why, sizeof(t->why));
}

/* Loading text fails with IDL_ERR_INVALID and a reason containing `mentions`. */
static void
refused(struct ct *t, const char *text, const char *mentions)
{
    assert_int_equal(load(t, text), IDL_ERR_INVALID);
    if (!strstr(t->why, mentions))
        fail_msg("reason \"%s\" does not mention \"%s\"", t->why, mentions);
}

static void
test_minimal_config_gets_the_defaults(void **state)
{
    struct ct *t = *state;
    assert_int_equal(load(t, "{\"node_id\": \"node0\"}"), IDL_OK);
    assert_string_equal(t->cfg.node_id, "node0");
    assert_string_equal(t->cfg.role, "validator");
    assert_string_equal(t->cfg.api_listen, "127.0.0.1:7700");
    assert_string_equal(t->cfg.api_auth, "token");
    assert_string_equal(t->cfg.log_level, "info");
    assert_int_equal(t->cfg.block_max_txs, 5000);
    assert_int_equal(t->cfg.empty_blocks_ms, 0);
    assert_int_equal(t->cfg.n_peers, 0);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof(want), "%s/genesis.json", t->dir);
    assert_string_equal(t->cfg.genesis, want);
    snprintf(want, sizeof(want), "%s/data", t->dir);
    assert_string_equal(t->cfg.data_dir, want);
}

static void
test_every_option_is_read(void **state)
{
    struct ct *t = *state;
    assert_int_equal(load(t, "{\"node_id\": \"gz-1\", \"role\": \"replica\", \"api_listen\": "
                             "\"0.0.0.0:8000\", \"p2p_listen\": \"0.0.0.0:8001\", \"peers\": "
                             "[\"10.0.0.1:8001\", \"10.0.0.2:8001\"], \"genesis\": "
                             "\"/etc/idledger/genesis.json\", \"block_max_txs\": 10, "
                             "\"empty_blocks_ms\": 3000, \"log_level\": \"debug\"}"),
                     IDL_OK);
    assert_string_equal(t->cfg.role, "replica");
    assert_string_equal(t->cfg.api_listen, "0.0.0.0:8000");
    assert_int_equal(t->cfg.n_peers, 2);
    assert_string_equal(t->cfg.peers[1], "10.0.0.2:8001");
    assert_string_equal(t->cfg.genesis, "/etc/idledger/genesis.json"); /* absolute: kept */
    assert_int_equal(t->cfg.block_max_txs, 10);
    assert_int_equal(t->cfg.empty_blocks_ms, 3000);
    assert_string_equal(t->cfg.log_level, "debug");
}

static void
test_each_log_level_is_accepted(void **state)
{
    struct ct *t = *state;
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < 4; i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"node_id\": \"n\", \"log_level\": \"%s\"}", levels[i]);
        assert_int_equal(load(t, text), IDL_OK);
        assert_string_equal(t->cfg.log_level, levels[i]);
    }
}

static void
test_unknown_log_level_is_refused(void **state)
{
    struct ct *t = *state;
    refused(t, "{\"node_id\": \"n\", \"log_level\": \"loud\"}", "log_level");
    refused(t, "{\"node_id\": \"n\", \"log_level\": \"INFO\"}", "log_level");
    refused(t, "{\"node_id\": \"n\", \"log_level\": \"\"}", "log_level");
}

static void
test_unknown_option_is_refused_by_name(void **state)
{
    struct ct *t = *state;
    refused(t, "{\"node_id\": \"n\", \"log_levle\": \"info\"}", "unknown option log_levle");
    refused(t, "{\"node_id\": \"n\", \"peer\": [\"a:1\"]}", "unknown option peer");
}

static void
test_wrong_types_are_refused(void **state)
{
    struct ct *t = *state;
    refused(t, "{\"node_id\": \"n\", \"block_max_txs\": \"5000\"}", "block_max_txs");
    refused(t, "{\"node_id\": \"n\", \"block_max_txs\": -1}", "block_max_txs");
    refused(t, "{\"node_id\": \"n\", \"empty_blocks_ms\": 1.5}", "empty_blocks_ms");
    refused(t, "{\"node_id\": \"n\", \"timeout_vote_ms\": 4294967296}", "timeout_vote_ms");
    refused(t, "{\"node_id\": \"n\", \"api_listen\": 7700}", "api_listen");
    refused(t, "{\"node_id\": \"n\", \"log_level\": true}", "log_level");
    refused(t, "{\"node_id\": \"n\", \"peers\": \"a:1\"}", "peers");
    refused(t, "{\"node_id\": \"n\", \"peers\": [1]}", "peers[0]");
}

static void
test_values_outside_their_domain_are_refused(void **state)
{
    struct ct *t = *state;
    refused(t, "{\"node_id\": \"n\", \"role\": \"observer\"}", "role");
    refused(t, "{\"node_id\": \"n\", \"api_auth\": \"none\"}", "api_auth");
    refused(t, "{\"node_id\": \"n\", \"api_auth\": \"open\", \"api_listen\": \"0.0.0.0:7700\"}",
            "loopback");
    refused(t, "{\"node_id\": \"n\", \"api_listen\": \"127.0.0.1\"}", "host:port");
    refused(t, "{\"node_id\": \"n\", \"peers\": [\"10.0.0.1\"]}", "peers[0]");
    refused(t, "{\"node_id\": \"n\", \"block_max_txs\": 0}", "block_max_txs");
    refused(t, "{\"node_id\": \"node 0\"}", "node_id");
    /* Each number within its domain: out of it, a pool of 2^32 slots or a block a millisecond. */
    refused(t, "{\"node_id\": \"n\", \"mempool_max_txs\": 4294967295}",
            "mempool_max_txs must be an integer from 1 to 1000000");
    refused(t, "{\"node_id\": \"n\", \"block_max_txs\": 20001}", "block_max_txs");
    refused(t, "{\"node_id\": \"n\", \"timeout_propose_ms\": 0}", "timeout_propose_ms");
    refused(t, "{\"node_id\": \"n\", \"timeout_vote_ms\": 0}", "timeout_vote_ms");
    refused(t, "{\"node_id\": \"n\", \"timeout_delta_ms\": 60001}", "timeout_delta_ms");
    refused(t, "{\"node_id\": \"n\", \"empty_blocks_ms\": 1}", "empty_blocks_ms");
    /* Addresses: a port the system would pick, one past 65535, a repeat, ourselves. */
    refused(t, "{\"node_id\": \"n\", \"api_listen\": \"127.0.0.1:0\"}", "api_listen");
    refused(t, "{\"node_id\": \"n\", \"api_listen\": \":7700\"}", "api_listen");
    refused(t, "{\"node_id\": \"n\", \"peers\": [\"10.0.0.1:99999\"]}", "peers[0]");
    refused(t, "{\"node_id\": \"n\", \"peers\": [\"10.0.0.1:7701\", \"10.0.0.1:7701\"]}",
            "peers[1] repeats peers[0]");
    refused(t, "{\"node_id\": \"n\", \"peers\": [\"127.0.0.1:7701\"]}", "own p2p_listen");
}

static void
test_missing_node_id_and_broken_json_are_refused(void **state)
{
    struct ct *t = *state;
    refused(t, "{}", "node_id is required");
    refused(t, "{\"node_id\": \"n\", \"node_id\": \"m\"}", "not a JSON object");
    refused(t, "[\"node_id\"]", "not a JSON object");
    refused(t, "{\"node_id\": \"n\",}", "not a JSON object");
}

static void
test_missing_file_is_not_found(void **state)
{
    struct ct *t = *state;
    assert_int_equal(node_config_load(&t->cfg, t->dir, t->why, sizeof(t->why)),
                     IDL_ERR_NOT_FOUND);
    assert_non_null(strstr(t->why, "config.json"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_minimal_config_gets_the_defaults),
        T(test_every_option_is_read),
        T(test_each_log_level_is_accepted),
        T(test_unknown_log_level_is_refused),
        T(test_unknown_option_is_refused_by_name),
        T(test_wrong_types_are_refused),
        T(test_values_outside_their_domain_are_refused),
        T(test_missing_node_id_and_broken_json_are_refused),
        T(test_missing_file_is_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
