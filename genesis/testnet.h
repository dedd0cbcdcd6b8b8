/*
 * A local network in one command: everything `idledger testnet` writes (CONTRACT.md, "A
 * local network in one command").
 *
 *   DIR/passphrase              the passphrase of every key below, and a newline (0600)
 *   DIR/genesis.json            chain id, now, the root organisation, its three management
 *                               accounts, validators node0..node{V-1} (power 1), the default
 *                               policy and a fresh chain secret (genesis.h)
 *   DIR/admins/sysadmin.key     root-sysadmin   \
 *   DIR/admins/secadmin.key     root-secadmin    } the root organisation's management keys
 *   DIR/admins/auditor.key      root-auditor    /
 *   DIR/nodeK/config.json       node K's configuration (node/config.h): API on
 *                               127.0.0.1:base+2K, peers on 127.0.0.1:base+2K+1, every other
 *                               node as a peer, paths relative to the node's home
 *   DIR/nodeK/node.key          node K's signing key
 *   DIR/nodeK/tokens.json       the hash of node K's API token for business system "devnet"
 *   DIR/nodeK/api-token         that token, and a newline (0600)
 *   DIR/README                  what each file is and how to start and use the network
 *
 * Nodes 0..V-1 are validators, V..V+R-1 replicas (their keys are not in the validator set).
 * Directories are mode 0700 and every file holding a secret 0600. The passphrase file is a
 * testnet convenience: a real network keeps no passphrase beside its keys.
 *
 * The three root administrators get random person keys (genesis.h): a testnet knows no real
 * people, and nothing personal is written anywhere.
 */
#ifndef IDL_GENESIS_TESTNET_H
#define IDL_GENESIS_TESTNET_H

#include <stddef.h>

#include "ledger/err.h"

#define TESTNET_PORT_DEFAULT     7700
#define TESTNET_CHAIN_ID_DEFAULT "dev"
#define TESTNET_ORG_CODE_DEFAULT "440000"
#define TESTNET_ORG_NAME_DEFAULT "广东省教育厅"
/* Each node lists every other one as a peer, and a config holds at most 64 peers. */
#define TESTNET_NODES_MAX 65
/* The business system whose token each node accepts. */
#define TESTNET_TOKEN_SYSTEM "devnet"

struct testnet_opts {
    const char *dir;      /* created (0700); refused (IDL_ERR_EXISTS) if it exists and is
                             not an empty directory */
    unsigned validators;  /* 1..LEDGER_VALIDATORS_MAX */
    unsigned replicas;    /* 0.., at most TESTNET_NODES_MAX nodes in all */
    unsigned base_port;   /* node K: API port base+2K, peer port base+2K+1; all < 65536 */
    const char *chain_id; /* NULL: TESTNET_CHAIN_ID_DEFAULT */
    const char *org_code; /* NULL: TESTNET_ORG_CODE_DEFAULT */
    const char *org_name; /* NULL: TESTNET_ORG_NAME_DEFAULT */
};

/* Sets o to the defaults: no directory, 1 validator, 0 replicas, port 7700, the names above. */
void testnet_defaults(struct testnet_opts *o);

/*
 * Writes the network described by o into o->dir. Every option is checked before anything
 * is written, so IDL_ERR_INVALID (bad count, port, chain id or organisation) and
 * IDL_ERR_EXISTS (the directory is not empty) leave the file system untouched. A failure
 * while writing (IDL_ERR_IO, IDL_ERR_NOMEM, IDL_ERR_CRYPTO) leaves the directory incomplete;
 * why says so. Each key costs one Argon2id derivation (about 0.1 to 0.3 s), so a network of
 * N nodes takes N+3 of them. Secrets are wiped from memory before it returns.
 */
IDL_MUST_USE idl_err testnet_write(const struct testnet_opts *o, char *why, size_t why_len);

#endif
