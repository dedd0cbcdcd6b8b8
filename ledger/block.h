/*
 * Blocks, votes and commit certificates.
 *
 * Block wire format (version 1):
 *   header: u8 version | chain_id | u64 height | u64 time_ms | prev_hash[32] | app_hash[32]
 *           | tx_root[32] | proposer[32] | u32 tx_count
 *   body:   tx_count times (u32 length | encoded transaction)
 *
 * block hash = tagged("idledger/block", header bytes). The header commits to the body
 * through tx_root, the Merkle root (hash.h) of the transaction ids in block order, and
 * tx_count. app_hash is the state hash after block height-1 (after genesis for height 1),
 * so every block names the state it was built on and a node whose state diverged finds out
 * at the next block. prev_hash is zero at height 1.
 *
 * A vote signs tagged("idledger/vote", chain_id | u8 type | u64 height | u32 round |
 * block_hash). A commit certificate is the precommits for one block from validators holding
 * more than two thirds of the voting power; it is stored beside the block (not inside it,
 * so a block's hash does not depend on which precommits a node happened to collect).
 */
#ifndef IDL_BLOCK_H
#define IDL_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "schema.h"
#include "sig.h"
#include "tx.h"

#define LEDGER_BLOCK_VERSION 1
#define LEDGER_BLOCK_TXS_MAX 20000
#define LEDGER_BLOCK_BYTES_MAX (16 * 1024 * 1024)
#define LEDGER_VALIDATORS_MAX 64
#define LEDGER_VALIDATOR_NAME_MAX 32
/* Bounds every power sum far below overflow: 64 * 10^6 * 3 < 2^32. */
#define LEDGER_VALIDATOR_POWER_MAX 1000000

_Static_assert(LEDGER_TX_BYTES_MAX < LEDGER_BLOCK_BYTES_MAX, "a block holds the largest tx");

enum ledger_vote_type { VOTE_NONE = 0, VOTE_PREVOTE = 1, VOTE_PRECOMMIT = 2 };

struct ledger_block_header {
    uint8_t version;
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
    uint64_t height;
    uint64_t time_ms;
    uint8_t prev_hash[HASH_BYTES];
    uint8_t app_hash[HASH_BYTES];
    uint8_t tx_root[HASH_BYTES];
    uint8_t proposer[SIG_PUBKEY_BYTES];
    uint32_t tx_count;
};

struct ledger_block {
    struct ledger_block_header header;
    struct idl_bytes *txs; /* tx_count encoded transactions, heap */
    uint8_t (*txids)[HASH_BYTES]; /* derived: the id of each transaction */
    uint8_t hash[HASH_BYTES];     /* derived: the block hash */
};

struct ledger_validator {
    char name[LEDGER_VALIDATOR_NAME_MAX + 1];
    uint8_t pubkey[SIG_PUBKEY_BYTES];
    uint64_t power;
};

struct ledger_commit_sig {
    uint16_t validator; /* index in the validator set */
    uint8_t sig[SIG_BYTES];
};

struct ledger_commit {
    uint64_t height;
    uint32_t round;
    uint8_t block_hash[HASH_BYTES];
    struct schema_list sigs; /* of struct ledger_commit_sig, ascending validator index */
};

extern const struct schema ledger_commit_schema;
extern const struct schema ledger_validator_schema;

/*
 * Builds a block from encoded transactions (copied), computing tx ids, tx_root, tx_count
 * and the block hash. The caller fills every other header field first.
 */
IDL_MUST_USE idl_err ledger_block_assemble(struct ledger_block *b,
                                           const struct ledger_block_header *header,
                                           const struct idl_bytes *txs, uint32_t n);

IDL_MUST_USE idl_err ledger_block_encode(const struct ledger_block *b, struct idl_bytes *out);

/*
 * Decodes a block, refusing anything over the bounds, a wrong version or chain, a tx_root
 * or tx_count that does not match the body, and trailing bytes. Transactions are kept
 * encoded (the state machine decodes them). On failure b is freed.
 */
IDL_MUST_USE idl_err ledger_block_decode(struct ledger_block *b, const uint8_t *data, size_t len,
                                         const char *chain_id);

void ledger_block_free(struct ledger_block *b);

/* The hash of an encoded header (what is signed, through votes). */
void ledger_block_header_hash(uint8_t out[HASH_BYTES], const struct ledger_block_header *h);

/* What a validator signs to vote for block_hash (all zero for a nil vote). */
void ledger_vote_sighash(uint8_t out[HASH_BYTES], const char *chain_id, unsigned type,
                         uint64_t height, uint32_t round, const uint8_t block_hash[HASH_BYTES]);

/* Total voting power of a validator set. */
uint64_t ledger_validators_power(const struct ledger_validator *vals, size_t n);

/*
 * Checks that `c` certifies the block `block_hash` at `height`: every signature is a valid
 * precommit by a distinct validator of `vals` (indices strictly ascending), and together
 * they hold more than two thirds of the total power. Every power of `vals` must be at most
 * LEDGER_VALIDATOR_POWER_MAX (IDL_ERR_INVALID otherwise), so the sums cannot overflow.
 * Returns IDL_OK, IDL_ERR_INVALID (wrong height or hash, unknown or repeated validator,
 * not enough power) or IDL_ERR_SIGNATURE.
 */
IDL_MUST_USE idl_err ledger_commit_verify(const struct ledger_commit *c, const char *chain_id,
                                          uint64_t height, const uint8_t block_hash[HASH_BYTES],
                                          const struct ledger_validator *vals, size_t n);

#endif
