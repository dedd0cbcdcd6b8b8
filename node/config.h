/*
 * Node configuration: HOME/config.json.
 *
 *   {"node_id": "node0",                 required; names the node in logs and /v1/status
 *    "role": "validator",                "validator" (votes) or "replica" (follows)
 *    "api_listen": "127.0.0.1:7700",     HTTP API address
 *    "api_auth": "token",                "token" (business systems need a token) or
 *                                        "open" (only allowed on a loopback address)
 *    "p2p_listen": "127.0.0.1:7701",     peer address (NNG, TCP or TLS)
 *    "peers": ["127.0.0.1:7703"],        peer addresses to dial
 *    "genesis": "../genesis.json",       paths are relative to HOME
 *    "key": "node.key",                  the node's encrypted signing key
 *    "key_passphrase_file": "../passphrase",  or $IDLEDGERD_PASSPHRASE
 *    "data_dir": "data",                 LevelDB and the consensus log
 *    "block_max_txs": 5000,              transactions per block at most (a batch counts
 *                                        as its records)
 *    "empty_blocks_ms": 0,               0: no block without transactions; else the
 *                                        longest time between blocks
 *    "mempool_max_txs": 100000,
 *    "timeout_propose_ms": 1000,         consensus timeouts for round 0; each later round
 *    "timeout_vote_ms": 500,             adds "timeout_delta_ms"
 *    "timeout_delta_ms": 500,
 *    "tls_cert": "", "tls_key": "", "tls_ca": "",   PEM files: peer links use TLS when set
 *    "log_level": "info"}                "debug", "info", "warn" or "error"
 *
 * Unknown members are refused with their name, and a value of the wrong type or outside
 * its domain (a log level, a role, an address without a port) with a sentence naming the
 * option, so a misspelt option never silently falls back to its default.
 */
#ifndef IDL_NODE_CONFIG_H
#define IDL_NODE_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "ledger/err.h"

#define CONFIG_ADDR_MAX 128
#define CONFIG_PEERS_MAX 64

struct node_config {
    char home[PATH_MAX];
    char node_id[33];
    char role[16];
    char api_listen[CONFIG_ADDR_MAX];
    char api_auth[16];
    char p2p_listen[CONFIG_ADDR_MAX];
    char peers[CONFIG_PEERS_MAX][CONFIG_ADDR_MAX];
    uint32_t n_peers;
    char genesis[PATH_MAX];
    char key[PATH_MAX];
    char key_passphrase_file[PATH_MAX];
    char data_dir[PATH_MAX];
    uint32_t block_max_txs;
    uint32_t empty_blocks_ms;
    uint32_t mempool_max_txs;
    uint32_t timeout_propose_ms;
    uint32_t timeout_vote_ms;
    uint32_t timeout_delta_ms;
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    char tls_ca[PATH_MAX];
    char log_level[8];
};

/*
 * Reads HOME/config.json into c, applies defaults and resolves paths against HOME.
 * IDL_ERR_NOT_FOUND, IDL_ERR_INVALID with a sentence in why.
 */
IDL_MUST_USE idl_err node_config_load(struct node_config *c, const char *home, char *why,
                                      size_t why_len);

/* True if an "host:port" address is on a loopback interface. */
int node_config_is_loopback(const char *addr);

#endif
