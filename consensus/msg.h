/*
 * Consensus messages: what validators and replicas send each other over peer links.
 *
 * Every message is: u8 version (1) | u8 kind | body, the body being the schema of its kind
 * (ledger/schema.h), decoded strictly: unknown versions or kinds, bounds and trailing bytes
 * are refused. Kinds:
 *   PROPOSAL  height, round, valid round (-1 = none), proposer index, the block, and the
 *             proposer's signature of tagged("idledger/proposal", chain id | height | round
 *             | valid round | block hash);
 *   VOTE      type, height, round, block hash (zero = nil), validator index, signature of
 *             ledger_vote_sighash (the same bytes a commit certificate is checked against);
 *   DECIDED   a committed block and its commit certificate: announcements and sync replies;
 *   SYNC_REQ  "send me the committed blocks from height H on (at most N)": answered with
 *             DECIDED messages, in height order, ending at N blocks, at the server's tip,
 *             or after the block that brings the reply's block and certificate bytes to
 *             CONS_SYNC_REPLY_BYTES, whichever comes first (so the asker, counting the
 *             same bytes, knows when a reply is complete and asks for the next);
 *   STATUS    the sender's tip height and hash, and whether it votes;
 *   TXS       transactions to add to the receiver's pool (gossip from where they entered).
 */
#ifndef IDL_CONS_MSG_H
#define IDL_CONS_MSG_H

#include <stdint.h>

#include "consensus/core.h"
#include "ledger/block.h"
#include "ledger/codec.h"
#include "ledger/schema.h"

#define CONS_MSG_VERSION      1
#define CONS_SYNC_BLOCKS_MAX  512
#define CONS_SYNC_REPLY_BYTES (16u << 20)
#define CONS_TXS_MAX          10000

enum cons_msg_kind {
    MSG_PROPOSAL = 1,
    MSG_VOTE = 2,
    MSG_DECIDED = 3,
    MSG_SYNC_REQ = 4,
    MSG_STATUS = 5,
    MSG_TXS = 6,
    MSG__COUNT
};

struct msg_proposal {
    uint64_t height;
    uint32_t round;
    uint32_t valid_round; /* MSG_NO_ROUND for none (the core's -1) */
    uint16_t proposer;
    struct idl_bytes block;
    uint8_t sig[SIG_BYTES];
};
#define MSG_NO_ROUND UINT32_MAX

struct msg_vote {
    uint8_t type;
    uint64_t height;
    uint32_t round;
    uint8_t hash[HASH_BYTES];
    uint16_t validator;
    uint8_t sig[SIG_BYTES];
};

struct msg_decided {
    struct idl_bytes block;
    struct idl_bytes commit;
};

struct msg_sync_req {
    uint64_t from;
    uint32_t max;
};

struct msg_status {
    uint64_t height;
    uint8_t tip[HASH_BYTES];
    uint8_t voting;
};

struct msg_tx {
    struct idl_bytes raw;
};

struct msg_txs {
    struct schema_list txs; /* of struct msg_tx */
};

union cons_msg_body {
    struct msg_proposal proposal;
    struct msg_vote vote;
    struct msg_decided decided;
    struct msg_sync_req sync_req;
    struct msg_status status;
    struct msg_txs txs;
};

struct cons_msg {
    uint8_t kind;
    union cons_msg_body body;
};

/* Encodes m (caller frees out->data). */
IDL_MUST_USE idl_err cons_msg_encode(const struct cons_msg *m, struct idl_bytes *out);
/* Decodes strictly into m (free with cons_msg_free). IDL_ERR_VERSION, IDL_ERR_MALFORMED. */
IDL_MUST_USE idl_err cons_msg_decode(struct cons_msg *m, const uint8_t *data, size_t len);
void cons_msg_free(struct cons_msg *m);

/* What a proposer signs. */
void cons_proposal_sighash(uint8_t out[HASH_BYTES], const char *chain_id, uint64_t height,
                           uint32_t round, uint32_t valid_round,
                           const uint8_t block_hash[HASH_BYTES]);

/* The vote as the core sees it (hash, type, indices, signature). */
void cons_vote_from_msg(struct cons_vote *v, const struct msg_vote *m);
void cons_vote_to_msg(struct msg_vote *m, const struct cons_vote *v);

#endif
