/*
 * Genesis files: the document every node of a chain starts from.
 *
 *   {"chain_id": "dev",
 *    "genesis_time": "2026-11-23T00:00:00Z",
 *    "root": {"code": "440000", "name": "广东省教育厅"},
 *    "admins": {"sysadmin": {"id": "root-sysadmin", "pubkey": HEX, "person": HEX}, ...
 *               "secadmin": {...}, "auditor": {...}},
 *    "validators": [{"name": "node0", "pubkey": HEX, "power": 1}, ...],
 *    "policy": {"same_person_sys_sec": "never"|"schools"|"always",
 *               "mgmt_business_roles": false, "review_interval_days": 182,
 *               "cert_issuer_required": false,          optional
 *               "cert_issuers": [HEX DER of a CA, ...]}, optional
 *    "chain_secret": HEX}
 *
 * `person` is the person key (person.h) of each root administrator; `chain_secret` (32
 * bytes) keys the person index and the sealing of personal data, so the file is written
 * with mode 0600 and must be distributed to the chain's nodes only. Parsing is strict:
 * unknown members, missing members and out-of-range values are refused with a sentence
 * saying which.
 *
 * The genesis hash, the chain's identity, is tagged("idledger/genesis", canonical binary
 * of every field above); reformatting the JSON does not change it.
 */
#ifndef IDL_GENESIS_H
#define IDL_GENESIS_H

#include "ledger/err.h"
#include "ledger/ledger.h"
#include "ledger/person.h"

#define GENESIS_FILE_MAX (256 * 1024)

struct genesis {
    struct ledger_genesis ledger;
    uint8_t chain_secret[PERSON_SECRET_BYTES];
};

/* Parses JSON text and computes the hash. On failure g is wiped and why says what. */
IDL_MUST_USE idl_err genesis_parse(struct genesis *g, const char *text, size_t len, char *why,
                                   size_t why_len);
IDL_MUST_USE idl_err genesis_load(struct genesis *g, const char *path, char *why, size_t why_len);

/* The JSON text of g (caller frees). NULL on allocation failure. */
char *genesis_to_json(const struct genesis *g);
/* Writes g atomically with mode 0600. */
IDL_MUST_USE idl_err genesis_save(const struct genesis *g, const char *path);

/* Computes g->ledger.hash from the other fields. */
void genesis_compute_hash(struct genesis *g);

/* Default policies: DOMAIN.md §3 as Guangdong (seed 000) sets them. */
void genesis_policy_default(struct ledger_policy *p);

/* Releases the policy's lists and wipes everything, the chain secret included. */
void genesis_wipe(struct genesis *g);

#endif
