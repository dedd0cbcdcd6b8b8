/*
 * What the rule files (rules.c: organisations, accounts, grants, reviews; rules_cert.c:
 * certificates) share. Not part of the ledger's public interface.
 *
 * Every helper that can refuse writes the reason into r->why and returns the refusal code;
 * every helper returns IDL_OK when the operation may go on.
 */
#ifndef IDL_RULES_INTERNAL_H
#define IDL_RULES_INTERNAL_H

#include "rules.h"

/* Everything a handler needs, passed as one pointer. */
struct rules {
    struct state *st;
    const struct rules_ctx *ctx;
    const struct ledger_tx *tx;
    const struct rec_account *actor;
    char *why;
    size_t why_len;
};

__attribute__((format(printf, 3, 4))) idl_err rules_refuse(struct rules *r, idl_err code,
                                                           const char *fmt, ...);

void rules_key1(struct state_key *k, enum state_space sp, const char *a);
void rules_key2(struct state_key *k, enum state_space sp, const char *a, const char *b);
void rules_key3(struct state_key *k, enum state_space sp, const char *a, const char *b,
                const char *c);

IDL_MUST_USE idl_err rules_need_org(struct rules *r, const char *code, struct rec_org *org);
IDL_MUST_USE idl_err rules_need_account(struct rules *r, const char *id, struct rec_account *acct);
/* The actor must hold `post` at `org`; `what` completes "may ...". */
IDL_MUST_USE idl_err rules_need_admin(struct rules *r, unsigned post, const char *org,
                                      const char *what);
/* The organisation whose admins act for management / business accounts of org. */
const char *rules_mgmt_parent(const struct rec_org *org);
const char *rules_business_manager(const struct rec_org *org);
/* The org whose sysadmin manages acct. */
IDL_MUST_USE idl_err rules_manager_of(struct rules *r, const struct rec_account *acct,
                                      char out[LEDGER_CODE_MAX + 1]);
/* Loads account id and checks that the actor is the sysadmin who manages it. */
IDL_MUST_USE idl_err rules_need_managed_account(struct rules *r, const char *id, const char *what,
                                                struct rec_account *a);
IDL_MUST_USE idl_err rules_need_basis(struct rules *r, const char *what);
IDL_MUST_USE idl_err rules_not_self(struct rules *r, const char *target, const char *what);
/*
 * Writes an account; if its status differs from prev_status (STATUS_NONE for a new one),
 * also records the change in its status history (SP_STATUS_LOG), so that "was this account
 * active at time t" has an answer.
 */
IDL_MUST_USE idl_err rules_put_account(struct rules *r, struct rec_account *a,
                                       unsigned prev_status);
void rules_mark_changed(struct rules *r, struct rec_account *a);

/* ---- certificates (rules_cert.c) ---- */

IDL_MUST_USE idl_err rules_cert_apply(struct rules *r);
IDL_MUST_USE idl_err rules_cert_approve(struct rules *r);
IDL_MUST_USE idl_err rules_cert_medium(struct rules *r);
IDL_MUST_USE idl_err rules_cert_medium_return(struct rules *r);
IDL_MUST_USE idl_err rules_cert_anchor(struct rules *r);
IDL_MUST_USE idl_err rules_cert_status(struct rules *r);
/* Freezes every active certificate of an account (it was disabled). */
IDL_MUST_USE idl_err rules_certs_freeze_all(struct rules *r, const char *account);
/* Whether the account holds a certificate that is active and within its validity now. */
IDL_MUST_USE idl_err rules_has_valid_cert(struct rules *r, const char *account, bool *valid);

#endif
