/*
 * The domain rules (DOMAIN.md §2-§4): what each transaction does to the state, and who may
 * sign it.
 *
 * rules_apply is the transition function for one authenticated transaction: the caller
 * (ledger.c) has already decoded it, found the actor, checked the signature and the nonce,
 * and opened a state layer. rules_apply either performs every write of the operation and
 * returns IDL_OK, or returns the reason it refuses and the caller drops the layer. It reads
 * nothing but the state and the context: no clock, no randomness, no I/O.
 *
 * Refusal codes: IDL_ERR_DENIED (wrong actor), IDL_ERR_NOT_FOUND, IDL_ERR_EXISTS,
 * IDL_ERR_STATE (target in the wrong state), IDL_ERR_POLICY (a chain policy or a rule on
 * people), IDL_ERR_INVALID (inconsistent fields).
 */
#ifndef IDL_RULES_H
#define IDL_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "state.h"
#include "tx.h"

#define RULES_WHY_MAX 256

struct person_keys;

struct rules_ctx {
    uint64_t height;
    uint32_t index;
    uint64_t time_ms; /* the block's time */
    const struct ledger_policy *policy;
    const char *root; /* code of the root organisation */
    /* Opens sealed personal data and certificates to check them: every node of a chain
     * holds the same keys. Without them, account.add, account.update and cert.anchor are
     * refused (IDL_ERR_UNAVAILABLE). */
    const struct person_keys *pkeys;
};

IDL_MUST_USE idl_err rules_apply(struct state *st, const struct rules_ctx *ctx,
                                 const struct ledger_tx *tx, const struct rec_account *actor,
                                 char *why, size_t why_len);

#endif
