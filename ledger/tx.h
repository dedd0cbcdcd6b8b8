/*
 * Transactions: what management accounts sign.
 *
 * Wire format (version 1), all integers big-endian, strings u16-length-prefixed:
 *
 *   u8 version | chain_id | u16 type | actor | u64 nonce | u64 time | basis[32]
 *   | body (the schema of `type`, schema.h) | sig[64]
 *
 * `actor` is the signing account's id, `nonce` its next nonce (one more than the last it
 * used: a replayed or skipped nonce is refused), `time` the client's Unix time (recorded,
 * not trusted: the ledger's clock is the block time), `basis` the SHA-256 of the scanned
 * paper form behind the operation (zero if none).
 *
 * Two hashes identify a transaction:
 *   sighash = tagged("idledger/tx-sig", every byte before sig)   what the actor signs;
 *   txid    = tagged("idledger/txid", every byte including sig)  its name on the ledger.
 * The chain id is inside the signed bytes, so a transaction for one chain is void on any
 * other. The txid covers the signature, so a third party who alters a signature creates a
 * different (invalid) transaction rather than shadowing the real one.
 *
 * Ownership: a struct ledger_tx may hold heap members (certificates, lists); release it with
 * ledger_tx_free, which leaves it zeroed and reusable.
 */
#ifndef IDL_TX_H
#define IDL_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "schema.h"
#include "sig.h"

#define LEDGER_TX_VERSION 1
#define LEDGER_CHAIN_ID_MAX 32
#define LEDGER_ID_MAX 64        /* account ids, legacy account names */
#define LEDGER_CODE_MAX 32      /* organisation, business system and role codes */
#define LEDGER_ORG_DEPTH_MAX 16 /* levels of the organisation tree, the root included */
#define LEDGER_NAME_MAX 192     /* names in UTF-8 bytes (64 CJK characters) */
#define LEDGER_REASON_MAX 600   /* reasons and notes in UTF-8 bytes (200 CJK characters) */
#define LEDGER_SEAL_OVERHEAD 40 /* XChaCha20-Poly1305: 24-byte nonce + 16-byte tag */
#define LEDGER_PERSON_TEXT_MAX 256
#define LEDGER_SEALED_MAX (LEDGER_SEAL_OVERHEAD + LEDGER_PERSON_TEXT_MAX)
#define LEDGER_ROLES_MAX 32
#define LEDGER_BATCH_MAX 1000
#define LEDGER_TX_BYTES_MAX (1024 * 1024)

/* Domain enumerations; value 0 is always "none". Names are in tx.c. */
enum ledger_org_kind {
    ORG_KIND_NONE, ORG_KIND_PROVINCE, ORG_KIND_CITY, ORG_KIND_COUNTY, ORG_KIND_UNIVERSITY,
    ORG_KIND_SCHOOL, ORG_KIND_OTHER, ORG_KIND__COUNT
};
enum ledger_school_type {
    SCHOOL_NONE, SCHOOL_KINDERGARTEN, SCHOOL_PRIMARY, SCHOOL_MIDDLE, SCHOOL_VOCATIONAL,
    SCHOOL_NINE_YEAR, SCHOOL_TWELVE_YEAR, SCHOOL_SPECIAL, SCHOOL_OTHER, SCHOOL__COUNT
};
enum ledger_class { CLASS_NONE, CLASS_MANAGEMENT, CLASS_BUSINESS, CLASS__COUNT };
enum ledger_post { POST_NONE, POST_SYSADMIN, POST_SECADMIN, POST_AUDITOR, POST__COUNT };
enum ledger_person_field {
    PF_NONE, PF_NAME, PF_ID_NUMBER, PF_MOBILE, PF_EMAIL, PF_OFFICE_PHONE, PF_ADDRESS,
    PF_CERTIFICATE, /* a certificate's DER: sealed like a field, never in a person record */
    PF__COUNT
};
#define LEDGER_PERSON_FIELDS_MAX (PF_ADDRESS) /* fields a person record holds */
#define LEDGER_CERT_SEALED_MAX (8192 + LEDGER_SEAL_OVERHEAD)

enum ledger_tx_type {
    TX_NONE = 0,
    TX_ORG_ADD = 1,
    TX_ORG_DELEGATE = 2,
    TX_ACCOUNT_ADD = 3,
    TX_ACCOUNT_AUTHORIZE = 4,
    TX_ACCOUNT_UPDATE = 5,
    TX_ACCOUNT_DISABLE = 6,
    TX_ACCOUNT_RESTORE = 7,
    TX_ACCOUNT_LOCK = 8,
    TX_ACCOUNT_UNLOCK = 9,
    TX_ACCOUNT_RESET_PASSWORD = 10,
    TX_ACCOUNT_BIND_LEGACY = 11,
    TX_SYSTEM_ADD = 12,
    TX_GRANT_ADD = 13,
    TX_GRANT_REMOVE = 14,
    TX_REVIEW_RECORD = 15,
    TX_CERT_APPLY = 16,
    TX_CERT_APPROVE = 17,
    TX_CERT_MEDIUM = 18,
    TX_CERT_ANCHOR = 19,
    TX_CERT_FREEZE = 20,
    TX_CERT_UNFREEZE = 21,
    TX_CERT_REVOKE = 22,
    TX_ACCOUNT_BATCH_ADD = 23,
    TX_CERT_MEDIUM_RETURN = 24,
    TX_TYPE__COUNT
};

/* One personal-data field, sealed (person.h): nonce || ciphertext || tag. */
struct ledger_sealed {
    uint8_t field; /* enum ledger_person_field */
    struct idl_bytes data;
};

/*
 * A person as a transaction carries it: the document type, the keyed hash that indexes the
 * person (person.h), and sealed fields in strictly ascending field order.
 */
struct ledger_person {
    uint8_t doc_type; /* enum idnum_doc */
    uint8_t key[HASH_BYTES];
    struct schema_list fields; /* of struct ledger_sealed */
};

struct tx_org_add {
    char code[LEDGER_CODE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    uint8_t kind;        /* enum ledger_org_kind */
    char parent[LEDGER_CODE_MAX + 1];
    uint8_t school_type; /* enum ledger_school_type, for schools */
};

struct tx_org_delegate {
    char code[LEDGER_CODE_MAX + 1];
    uint8_t delegated; /* 1: business accounts of code are managed by its parent; 0: undo */
};

struct tx_account_add {
    char id[LEDGER_ID_MAX + 1];
    char org[LEDGER_CODE_MAX + 1];
    uint8_t class;                    /* enum ledger_class */
    uint8_t post;                     /* enum ledger_post; management accounts only */
    uint8_t pubkey[SIG_PUBKEY_BYTES]; /* signing key; required for management accounts */
    struct ledger_person person;
};

struct tx_account_ref {
    char id[LEDGER_ID_MAX + 1];
};

struct tx_account_update {
    char id[LEDGER_ID_MAX + 1];
    uint8_t post;              /* a management account's new post, or 0 to keep it */
    struct schema_list fields; /* of struct ledger_sealed: the fields that change */
};

struct tx_account_op {
    char id[LEDGER_ID_MAX + 1];
    char reason[LEDGER_REASON_MAX + 1];
};

struct tx_bind_legacy {
    char id[LEDGER_ID_MAX + 1];
    char system[LEDGER_CODE_MAX + 1];
    char legacy[LEDGER_ID_MAX + 1];
};

struct ledger_code {
    char code[LEDGER_CODE_MAX + 1];
};

struct tx_system_add {
    char code[LEDGER_CODE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    struct schema_list roles;         /* of struct ledger_code */
    struct schema_list cert_required; /* of struct ledger_code, a subset of roles */
};

struct tx_grant {
    char account[LEDGER_ID_MAX + 1];
    char system[LEDGER_CODE_MAX + 1];
    char role[LEDGER_CODE_MAX + 1];
};

struct tx_review {
    char org[LEDGER_CODE_MAX + 1];
    char note[LEDGER_REASON_MAX + 1];
};

/* Certificate application (申请数字证书) and its approval, by account. */
struct tx_cert_app {
    char account[LEDGER_ID_MAX + 1];
    char note[LEDGER_REASON_MAX + 1]; /* optional */
};

/*
 * A USB key medium handed on one level (电子证书派发记录) on its way to the applicant
 * `account`: to `to`, a management account of the next organisation down towards the
 * applicant's, or, when `to` is empty or the applicant, to the applicant itself.
 */
struct tx_cert_medium {
    char account[LEDGER_ID_MAX + 1];
    char medium[LEDGER_ID_MAX + 1]; /* the medium's serial number */
    char to[LEDGER_ID_MAX + 1];     /* optional: the receiver; default the applicant */
};

/*
 * A medium handed back by its holder `account` to the sysadmin who manages it: unused, or
 * carrying a revoked certificate. It can then be handed to another applicant.
 */
struct tx_cert_medium_return {
    char account[LEDGER_ID_MAX + 1];
    char medium[LEDGER_ID_MAX + 1];
    char reason[LEDGER_REASON_MAX + 1];
};

/*
 * Anchoring: the certificate's DER, sealed under the account's person key as field
 * PF_CERTIFICATE (a certificate names its holder), and its fingerprint, which the ledger
 * checks against the DER it opens.
 */
struct tx_cert_anchor {
    char account[LEDGER_ID_MAX + 1];
    uint8_t fingerprint[HASH_BYTES];
    char medium[LEDGER_ID_MAX + 1]; /* optional: must match the assigned medium */
    struct idl_bytes der;           /* sealed */
};

/* Freeze, unfreeze or revoke; the reason is kept in the certificate's history. */
struct tx_cert_op {
    uint8_t fingerprint[HASH_BYTES];
    char reason[LEDGER_REASON_MAX + 1];
};

/*
 * Many business accounts in one signed transaction (bulk onboarding). Each record is
 * applied or refused on its own: one bad record never blocks the others and never half-
 * applies. Records are account.add bodies.
 */
struct tx_batch {
    struct schema_list records; /* of struct tx_account_add, at most LEDGER_BATCH_MAX */
};

union ledger_tx_body {
    struct tx_org_add org_add;
    struct tx_org_delegate org_delegate;
    struct tx_account_add account_add;
    struct tx_account_ref account_ref;
    struct tx_account_update account_update;
    struct tx_account_op account_op;
    struct tx_bind_legacy bind_legacy;
    struct tx_system_add system_add;
    struct tx_grant grant;
    struct tx_review review;
    struct tx_cert_app cert_app;
    struct tx_cert_medium cert_medium;
    struct tx_cert_medium_return cert_medium_return;
    struct tx_cert_anchor cert_anchor;
    struct tx_cert_op cert_op;
    struct tx_batch batch;
};

struct ledger_tx {
    uint8_t version;
    char chain_id[LEDGER_CHAIN_ID_MAX + 1];
    uint16_t type; /* enum ledger_tx_type */
    char actor[LEDGER_ID_MAX + 1];
    uint64_t nonce;
    uint64_t time;
    uint8_t basis[HASH_BYTES];
    union ledger_tx_body body;
    uint8_t sig[SIG_BYTES];
    /* Derived, not encoded: set by ledger_tx_decode and ledger_tx_sign. */
    uint8_t id[HASH_BYTES];
    uint8_t sighash[HASH_BYTES];
};

/* Schemas shared with the state records (state.h). */
extern const struct schema ledger_person_schema;
extern const struct schema ledger_sealed_schema;
extern const struct schema ledger_code_schema;

/* Enumeration names ("city", "sysadmin", ...) for JSON, the CLI and messages. */
const char *ledger_org_kind_name(unsigned v);
const char *ledger_school_type_name(unsigned v);
const char *ledger_class_name(unsigned v);
const char *ledger_post_name(unsigned v);
const char *ledger_person_field_name(unsigned v);
/* Inverses: 0 if the name is unknown. */
unsigned ledger_org_kind_parse(const char *s);
unsigned ledger_school_type_parse(const char *s);
unsigned ledger_class_parse(const char *s);
unsigned ledger_post_parse(const char *s);

/* "org.add", "account.disable", ...; "" for an unknown type. */
const char *ledger_tx_type_name(unsigned type);
unsigned ledger_tx_type_parse(const char *name);
/* The body schema of a type, NULL if unknown. */
const struct schema *ledger_tx_body_schema(unsigned type);

/*
 * Initialises tx as an unsigned transaction of `type` (zeroed body) from actor, for chain.
 * The caller fills the body, nonce, time and basis, then signs.
 */
void ledger_tx_init(struct ledger_tx *tx, const char *chain_id, unsigned type, const char *actor);

/*
 * Validates every field (bounds, character sets, enums, sealed-field order; the free text
 * of certificate transactions, which the ledger keeps in the clear, must hold no run of 11
 * or more digits: see ledger_text_has_number). Returns IDL_OK or IDL_ERR_INVALID with a
 * sentence in why.
 */
IDL_MUST_USE idl_err ledger_tx_check(const struct ledger_tx *tx, char *why, size_t why_len);

/* Computes tx->sighash, signs it with sk, and computes tx->id. */
IDL_MUST_USE idl_err ledger_tx_sign(struct ledger_tx *tx, const uint8_t sk[SIG_SECKEY_BYTES]);
/* The same with sig_sign_aux's auxiliary randomness (NULL: reproducible signature). */
IDL_MUST_USE idl_err ledger_tx_sign_aux(struct ledger_tx *tx, const uint8_t sk[SIG_SECKEY_BYTES],
                                        const uint8_t *aux32);

/* Encodes a signed transaction (caller frees out->data). */
IDL_MUST_USE idl_err ledger_tx_encode(const struct ledger_tx *tx, struct idl_bytes *out);

/*
 * Decodes `len` bytes into tx, refusing: more than LEDGER_TX_BYTES_MAX (IDL_ERR_TOO_LARGE),
 * a version other than 1 (IDL_ERR_VERSION), a chain id other than `chain_id`
 * (IDL_ERR_CHAIN), anything truncated, out of bounds, invalid or followed by trailing bytes
 * (IDL_ERR_MALFORMED). Sets tx->id and tx->sighash. Does not check the signature, which
 * needs the actor's key from the state (ledger_tx_verify). On failure tx is freed.
 */
IDL_MUST_USE idl_err ledger_tx_decode(struct ledger_tx *tx, const uint8_t *data, size_t len,
                                      const char *chain_id);

/* True if tx->sig is the actor's signature of tx->sighash under pk. */
bool ledger_tx_verify(const struct ledger_tx *tx, const uint8_t pk[SIG_PUBKEY_BYTES]);

/*
 * What a management account signs to authenticate an API request (not a transaction):
 * tagged("idledger/api-request", chain id | method | uri | u64 time_ms), each text
 * followed by a NUL byte. api_request_sighash_body binds the request's body as well: when
 * body_len > 0 the body's SHA-256 follows the time (an empty body hashes as the plain
 * form, so a GET is signed the same either way).
 */
void api_request_sighash(uint8_t out[HASH_BYTES], const char *chain_id, const char *method,
                         const char *uri, uint64_t time_ms);
void api_request_sighash_body(uint8_t out[HASH_BYTES], const char *chain_id, const char *method,
                              const char *uri, uint64_t time_ms, const void *body,
                              size_t body_len);

/*
 * True if text holds a run of 11 or more digits (ASCII or full-width), single spaces and
 * hyphens between digits counted in: the shape of an ID or mobile number, which free text
 * kept in the clear must not carry.
 */
bool ledger_text_has_number(const char *text);

/* Releases heap members and zeroes tx. */
void ledger_tx_free(struct ledger_tx *tx);

/*
 * The account a transaction acts on (its target), for audit entries and indexes: the
 * account id, org code, system code or review org, depending on the type. Never NULL.
 */
const char *ledger_tx_target(const struct ledger_tx *tx);

#endif
