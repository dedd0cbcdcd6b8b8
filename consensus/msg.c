/*
 * Message encoding, on the same schema machinery as transactions and blocks: one table
 * per kind, strict decoding, canonical encoding.
 */
#include "msg.h"

#include <string.h>

SCHEMA_DEFINE_STATIC(proposal_schema, struct msg_proposal, "proposal",
                     SF_U64(struct msg_proposal, height, "height"),
                     SF_U32(struct msg_proposal, round, "round"),
                     SF_U32(struct msg_proposal, valid_round, "valid_round"),
                     SF_U16(struct msg_proposal, proposer, "proposer"),
                     SF_BYTES(struct msg_proposal, block, "block", 0, LEDGER_BLOCK_BYTES_MAX),
                     SF_FIXED(struct msg_proposal, sig, "sig"));

SCHEMA_DEFINE_STATIC(vote_schema, struct msg_vote, "vote", SF_U8(struct msg_vote, type, "type"),
                     SF_U64(struct msg_vote, height, "height"),
                     SF_U32(struct msg_vote, round, "round"),
                     SF_HASH(struct msg_vote, hash, "hash", SCHEMA_OPTIONAL),
                     SF_U16(struct msg_vote, validator, "validator"),
                     SF_FIXED(struct msg_vote, sig, "sig"));

SCHEMA_DEFINE_STATIC(decided_schema, struct msg_decided, "decided",
                     SF_BYTES(struct msg_decided, block, "block", 0, LEDGER_BLOCK_BYTES_MAX),
                     SF_BYTES(struct msg_decided, commit, "commit", 0, 8192));

SCHEMA_DEFINE_STATIC(sync_req_schema, struct msg_sync_req, "sync_req",
                     SF_U64(struct msg_sync_req, from, "from"),
                     SF_U32(struct msg_sync_req, max, "max"));

SCHEMA_DEFINE_STATIC(status_schema, struct msg_status, "status",
                     SF_U64(struct msg_status, height, "height"),
                     SF_HASH(struct msg_status, tip, "tip", SCHEMA_OPTIONAL),
                     SF_BOOL(struct msg_status, voting, "voting"));

SCHEMA_DEFINE_STATIC(tx_schema, struct msg_tx, "tx",
                     SF_BYTES(struct msg_tx, raw, "raw", 0, LEDGER_TX_BYTES_MAX));

SCHEMA_DEFINE_STATIC(txs_schema, struct msg_txs, "txs",
                     SF_LIST(struct msg_txs, txs, "txs", 0, CONS_TXS_MAX, &tx_schema));

static const struct schema *const kinds[MSG__COUNT] = {
    [MSG_PROPOSAL] = &proposal_schema, [MSG_VOTE] = &vote_schema,
    [MSG_DECIDED] = &decided_schema,   [MSG_SYNC_REQ] = &sync_req_schema,
    [MSG_STATUS] = &status_schema,     [MSG_TXS] = &txs_schema,
};

idl_err
cons_msg_encode(const struct cons_msg *m, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    if (m->kind == 0 || m->kind >= MSG__COUNT)
        return IDL_ERR_INVALID;
    const struct schema *s = kinds[m->kind];
    if (schema_check(s, &m->body, NULL, 0) != IDL_OK)
        return IDL_ERR_INVALID;
    struct codec_writer w;
    codec_writer_init(&w);
    codec_put_u8(&w, CONS_MSG_VERSION);
    codec_put_u8(&w, m->kind);
    schema_encode(s, &m->body, &w);
    return codec_writer_finish(&w, out);
}

idl_err
cons_msg_decode(struct cons_msg *m, const uint8_t *data, size_t len)
{
    memset(m, 0, sizeof(*m));
    if (len < 2)
        return IDL_ERR_MALFORMED;
    if (data[0] != CONS_MSG_VERSION)
        return IDL_ERR_VERSION;
    if (data[1] == 0 || data[1] >= MSG__COUNT)
        return IDL_ERR_MALFORMED;
    m->kind = data[1];
    idl_err rc = schema_decode_bytes(kinds[m->kind], &m->body, data + 2, len - 2);
    if (rc)
        m->kind = 0;
    if (!rc && m->kind == MSG_VOTE &&
        m->body.vote.type != VOTE_PREVOTE && m->body.vote.type != VOTE_PRECOMMIT) {
        m->kind = 0;
        rc = IDL_ERR_MALFORMED;
    }
    return rc;
}

void
cons_msg_free(struct cons_msg *m)
{
    if (m->kind > 0 && m->kind < MSG__COUNT)
        schema_free(kinds[m->kind], &m->body);
    memset(m, 0, sizeof(*m));
}

void
cons_proposal_sighash(uint8_t out[HASH_BYTES], const char *chain_id, uint64_t height,
                      uint32_t round, uint32_t valid_round, const uint8_t block_hash[HASH_BYTES])
{
    struct hash_ctx ctx;
    uint8_t buf[2 + 8 + 4 + 4];
    size_t n = strlen(chain_id);
    IDL_ASSERT(n <= LEDGER_CHAIN_ID_MAX);
    hash_tagged_init(&ctx, "idledger/proposal");
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    hash_update(&ctx, buf, 2);
    hash_update(&ctx, chain_id, n);
    codec_be64_put(buf, height);
    codec_be32_put(buf + 8, round);
    codec_be32_put(buf + 12, valid_round);
    hash_update(&ctx, buf, 16);
    hash_update(&ctx, block_hash, HASH_BYTES);
    hash_final(&ctx, out);
}

void
cons_vote_from_msg(struct cons_vote *v, const struct msg_vote *m)
{
    memset(v, 0, sizeof(*v));
    v->type = m->type;
    v->height = m->height;
    v->round = m->round;
    memcpy(v->hash, m->hash, HASH_BYTES);
    v->validator = m->validator;
    memcpy(v->sig, m->sig, SIG_BYTES);
}

void
cons_vote_to_msg(struct msg_vote *m, const struct cons_vote *v)
{
    memset(m, 0, sizeof(*m));
    m->type = v->type;
    m->height = v->height;
    m->round = v->round;
    memcpy(m->hash, v->hash, HASH_BYTES);
    m->validator = v->validator;
    memcpy(m->sig, v->sig, SIG_BYTES);
}
