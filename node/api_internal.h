/*
 * What api.c (the framework) and api_handlers.c (the endpoints) share: the request as a
 * handler sees it, and the reply helpers. A handler reads r and sets exactly one reply with
 * api_reply or api_error; the framework sends it.
 */
#ifndef IDL_NODE_API_INTERNAL_H
#define IDL_NODE_API_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "node/node.h"
#include "node/readaudit.h"
#include "node/tokens.h"

/* The largest body of any route (the batch endpoints), and what every other route accepts.
 * A longer Content-Length is answered 413 before a byte of the body is read. */
#define API_BODY_MAX (16 * 1024 * 1024)
#define API_BODY_ROUTE_MAX (1024 * 1024)
/* How long a body may take to arrive once its headers have. */
#define API_BODY_TIMEOUT_MS 30000
#define API_SEGS_MAX 8
#define API_PARAMS_MAX 12
/*
 * The longest path part or parameter value, decoded: an account id (LEDGER_ID_MAX) or a
 * SHA-256 in hex. It also bounds the store keys a request can build, three such parts at
 * most (a grant: account, system, role), well under STATE_KEY_MAX.
 */
#define API_TEXT_MAX 64

struct api_param {
    char *name;
    char *value;
    int used; /* set by api_param; an unused parameter is an error */
};

struct api_req {
    struct node *n;
    const char *method;
    char *segs[API_SEGS_MAX]; /* decoded path segments */
    int nseg;
    struct api_param params[API_PARAMS_MAX];
    int nparams;
    const uint8_t *body;
    size_t body_len;
    bool body_binary; /* Content-Type: application/octet-stream */
    /* Who asks, for the read audit: the token's business system, or "account:ID" for a
     * signed request ("" on an open route or an open API). */
    char client[READAUDIT_CLIENT_MAX + 1];
    char signer[LEDGER_ID_MAX + 1];       /* management account behind a signed request */
    char signer_org[LEDGER_CODE_MAX + 1]; /* and its organisation */
    /* The reply. */
    int status;
    json_t *json;     /* owned; NULL if text is set */
    char *text;       /* owned plain-text body (metrics) */
    const char *content_type;
};

/* Sets a JSON reply (takes ownership of body). */
void api_reply(struct api_req *r, int status, json_t *body);
/* Sets a JSON reply already written as text (takes ownership of text; NULL: out of memory). */
void api_reply_text(struct api_req *r, int status, char *text);
/* Sets an error reply {"error": {"code", "message"}}. */
__attribute__((format(printf, 4, 5))) void api_error(struct api_req *r, int status,
                                                     const char *code, const char *fmt, ...);
/* Sets the error reply that fits err (status from api_status_of), with message why. */
void api_fail(struct api_req *r, idl_err err, const char *why);
/*
 * Makes s UTF-8 text, in place: each byte that does not begin a whole UTF-8 character (or
 * is a control character) becomes '?'. Text cut at a byte count ("%.64s", a fixed buffer)
 * may end in half a character, which JSON cannot carry and the read audit cannot keep.
 */
void api_text_scrub(char *s);
int api_status_of(idl_err err);

/* A decimal number, digits only, within 64 bits: 1 and *out, or 0 (out untouched). */
int api_parse_u64(const char *s, uint64_t *out);

/* The value of query parameter `name` (marks it used), or NULL. */
const char *api_param(struct api_req *r, const char *name);

/*
 * Parses the body as a JSON object whose members are all in `allowed` (NULL-terminated).
 * On failure sets a 400 reply and returns NULL.
 */
json_t *api_body_object(struct api_req *r, const char *const *allowed);
/* The same, and every member a string: a number or an object where text is meant is 400,
 * not taken for an absent member. */
json_t *api_body_strings(struct api_req *r, const char *const *allowed);

/* Lower-case hex of n bytes as a JSON string. */
json_t *api_hex(const uint8_t *p, size_t n);

/*
 * Records a read of account data (node/readaudit.h): about `account` (may be NULL), filed
 * under its organisation, or under `org` for reads about an organisation as a whole (an
 * audit log, a report), so that the organisation's auditor can list it.
 */
void api_read_audit(struct api_req *r, const char *endpoint, const char *account);
void api_read_audit_org(struct api_req *r, const char *endpoint, const char *account,
                        const char *org);

/* A certificate record as JSON (full: with issuer, masked subject, key, history). */
json_t *api_cert_json(struct api_req *r, const struct rec_cert *c, bool full);

/* The endpoints (api_handlers.c, api_certs.c). */
void api_h_cert_get(struct api_req *r);
void api_h_cert_application(struct api_req *r);
void api_h_cert_seal(struct api_req *r);
void api_h_verify_signature(struct api_req *r);
void api_h_realname(struct api_req *r);
void api_h_read_audit(struct api_req *r);
void api_h_report_business(struct api_req *r);
void api_h_report_review(struct api_req *r);
void api_h_report_audit(struct api_req *r);
void api_h_seal_batch(struct api_req *r);
void api_h_status(struct api_req *r);
void api_h_tx_post(struct api_req *r);
void api_h_txs_post(struct api_req *r);
void api_h_tx_get(struct api_req *r);
void api_h_account(struct api_req *r);
void api_h_nonce(struct api_req *r);
void api_h_key(struct api_req *r);
void api_h_verify(struct api_req *r);
void api_h_org(struct api_req *r);
void api_h_audit(struct api_req *r);
void api_h_block(struct api_req *r);
void api_h_seal(struct api_req *r);
void api_h_live(struct api_req *r);
void api_h_ready(struct api_req *r);
void api_h_metrics(struct api_req *r);

#endif
