/*
 * The configuration file is parsed against one table of options (name, type, where it
 * goes, default), which is also what rejects unknown members.
 */
#include "config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ledger/block.h"
#include "ledger/file.h"
#include "ledger/schema.h"
#include "node/log.h"

enum opt_type { OPT_STR, OPT_PATH, OPT_U32, OPT_PEERS };

struct opt {
    const char *name;
    enum opt_type type;
    size_t offset;
    size_t size;
    const char *def; /* default (text, parsed like a value); NULL = required */
    uint32_t min, max; /* OPT_U32: the domain */
};

#define STR(n, f, d) {n, OPT_STR, offsetof(struct node_config, f), sizeof(((struct node_config *)0)->f), d}
#define PATHOPT(n, f, d) {n, OPT_PATH, offsetof(struct node_config, f), sizeof(((struct node_config *)0)->f), d}
#define U32(n, f, d, lo, hi) {n, OPT_U32, offsetof(struct node_config, f), sizeof(uint32_t), d, lo, hi}

static const struct opt opts[] = {
    STR("node_id", node_id, NULL),
    STR("role", role, "validator"),
    STR("api_listen", api_listen, "127.0.0.1:7700"),
    STR("api_auth", api_auth, "token"),
    STR("p2p_listen", p2p_listen, "127.0.0.1:7701"),
    {"peers", OPT_PEERS, 0, 0, ""},
    PATHOPT("genesis", genesis, "genesis.json"),
    PATHOPT("key", key, "node.key"),
    PATHOPT("key_passphrase_file", key_passphrase_file, ""),
    PATHOPT("data_dir", data_dir, "data"),
    U32("block_max_txs", block_max_txs, "5000", 1, LEDGER_BLOCK_TXS_MAX),
    U32("empty_blocks_ms", empty_blocks_ms, "0", 0, 86400000), /* 0: none; else >= 100 */
    U32("mempool_max_txs", mempool_max_txs, "100000", 1, 1000000),
    U32("timeout_propose_ms", timeout_propose_ms, "1000", 50, 60000),
    U32("timeout_vote_ms", timeout_vote_ms, "500", 50, 60000),
    U32("timeout_delta_ms", timeout_delta_ms, "500", 0, 60000),
    PATHOPT("tls_cert", tls_cert, ""),
    PATHOPT("tls_key", tls_key, ""),
    PATHOPT("tls_ca", tls_ca, ""),
    STR("log_level", log_level, "info"),
};

static idl_err
set_text(struct node_config *c, const struct opt *o, const char *v, char *why, size_t why_len)
{
    char *dst = (char *)c + o->offset;
    if (o->type == OPT_PATH && v[0] && v[0] != '/') {
        char home[PATH_MAX];
        memcpy(home, c->home, sizeof(home));
        if ((size_t)snprintf(dst, o->size, "%s/%s", home, v) >= o->size)
            goto too_long;
        return IDL_OK;
    }
    if ((size_t)snprintf(dst, o->size, "%s", v) >= o->size)
        goto too_long;
    return IDL_OK;
too_long:
    snprintf(why, why_len, "config: %s is too long", o->name);
    return IDL_ERR_INVALID;
}

static idl_err
set_opt(struct node_config *c, const struct opt *o, json_t *v, char *why, size_t why_len)
{
    if (o->type == OPT_U32) {
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (n < o->min || n > o->max) {
            snprintf(why, why_len, "config: %s must be an integer from %u to %u", o->name,
                     o->min, o->max);
            return IDL_ERR_INVALID;
        }
        *(uint32_t *)((char *)c + o->offset) = (uint32_t)n;
        return IDL_OK;
    }
    if (o->type == OPT_PEERS) {
        size_t i;
        json_t *p;
        if (!json_is_array(v) || json_array_size(v) > CONFIG_PEERS_MAX) {
            snprintf(why, why_len, "config: peers must be a list of at most %d addresses",
                     CONFIG_PEERS_MAX);
            return IDL_ERR_INVALID;
        }
        json_array_foreach(v, i, p)
        {
            const char *s = json_string_value(p);
            if (!s || strlen(s) >= CONFIG_ADDR_MAX) {
                snprintf(why, why_len, "config: peers[%zu] must be a host:port", i);
                return IDL_ERR_INVALID;
            }
            snprintf(c->peers[i], CONFIG_ADDR_MAX, "%s", s);
        }
        c->n_peers = (uint32_t)json_array_size(v);
        return IDL_OK;
    }
    if (!json_is_string(v)) {
        snprintf(why, why_len, "config: %s must be a string", o->name);
        return IDL_ERR_INVALID;
    }
    return set_text(c, o, json_string_value(v), why, why_len);
}

static idl_err
set_default(struct node_config *c, const struct opt *o, char *why, size_t why_len)
{
    if (o->type == OPT_PEERS)
        return IDL_OK;
    if (o->type == OPT_U32) {
        *(uint32_t *)((char *)c + o->offset) = (uint32_t)strtoul(o->def, NULL, 10);
        return IDL_OK;
    }
    return set_text(c, o, o->def, why, why_len);
}

/* "host:port" with a port of 1 to 65535 (0 would let the system pick one nobody knows). */
static bool
host_port_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
        return false;
    unsigned long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    return port >= 1 && port <= 65535;
}

static idl_err
check(const struct node_config *c, char *why, size_t why_len)
{
    if (!c->node_id[0] || !schema_id_valid(c->node_id, strlen(c->node_id), 0)) {
        snprintf(why, why_len, "config: node_id must be letters, digits, '.', '_' or '-'");
        return IDL_ERR_INVALID;
    }
    for (uint32_t i = 0; i < c->n_peers; i++) {
        if (!host_port_valid(c->peers[i])) {
            snprintf(why, why_len, "config: peers[%u] must be host:port (port 1 to 65535)", i);
            return IDL_ERR_INVALID;
        }
        if (!strcmp(c->peers[i], c->p2p_listen)) {
            snprintf(why, why_len, "config: peers[%u] is this node's own p2p_listen", i);
            return IDL_ERR_INVALID;
        }
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(c->peers[i], c->peers[k])) {
                snprintf(why, why_len, "config: peers[%u] repeats peers[%u]", i, k);
                return IDL_ERR_INVALID;
            }
    }
    if (strcmp(c->role, "validator") && strcmp(c->role, "replica")) {
        snprintf(why, why_len, "config: role must be validator or replica");
        return IDL_ERR_INVALID;
    }
    if (strcmp(c->api_auth, "token") && strcmp(c->api_auth, "open")) {
        snprintf(why, why_len, "config: api_auth must be token or open");
        return IDL_ERR_INVALID;
    }
    if (!strcmp(c->api_auth, "open") && !node_config_is_loopback(c->api_listen)) {
        snprintf(why, why_len,
                 "config: api_auth open is only allowed on a loopback address, not %s",
                 c->api_listen);
        return IDL_ERR_INVALID;
    }
    if (log_level_parse(c->log_level) < 0) {
        snprintf(why, why_len, "config: log_level must be debug, info, warn or error");
        return IDL_ERR_INVALID;
    }
    if (!host_port_valid(c->api_listen) || !host_port_valid(c->p2p_listen)) {
        snprintf(why, why_len,
                 "config: api_listen and p2p_listen must be host:port (port 1 to 65535)");
        return IDL_ERR_INVALID;
    }
    if (c->empty_blocks_ms && c->empty_blocks_ms < 100) {
        snprintf(why, why_len, "config: empty_blocks_ms must be 0 (none) or at least 100");
        return IDL_ERR_INVALID;
    }
    return IDL_OK;
}

idl_err
node_config_load(struct node_config *c, const char *home, char *why, size_t why_len)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->home, sizeof(c->home), "%s", home);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/config.json", home);
    struct idl_bytes text;
    idl_err rc = file_read_all(path, 1 << 20, &text);
    if (rc) {
        snprintf(why, why_len, "cannot read %s: %s", path, idl_strerror(rc));
        return rc;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)text.data, text.len, JSON_REJECT_DUPLICATES, &jerr);
    free(text.data);
    if (!json_is_object(root)) {
        if (root)
            snprintf(why, why_len, "%s: not a JSON object", path);
        else
            snprintf(why, why_len, "%s: not a JSON object (line %d: %s)", path, jerr.line,
                     jerr.text);
        json_decref(root);
        return IDL_ERR_INVALID;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t i;
        for (i = 0; i < IDL_ARRAY_LEN(opts) && strcmp(opts[i].name, key); i++)
            ;
        if (i == IDL_ARRAY_LEN(opts)) {
            snprintf(why, why_len, "config: unknown option %s", key);
            json_decref(root);
            return IDL_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < IDL_ARRAY_LEN(opts) && !rc; i++) {
        json_t *v = json_object_get(root, opts[i].name);
        if (v)
            rc = set_opt(c, &opts[i], v, why, why_len);
        else if (opts[i].def)
            rc = set_default(c, &opts[i], why, why_len);
        else {
            snprintf(why, why_len, "config: %s is required", opts[i].name);
            rc = IDL_ERR_INVALID;
        }
    }
    json_decref(root);
    return rc ? rc : check(c, why, why_len);
}

int
node_config_is_loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "localhost:", 10) == 0 ||
           strncmp(addr, "[::1]:", 6) == 0;
}
