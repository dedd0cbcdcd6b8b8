/*
 * The ledger's state: typed records in key spaces of one store, read and written through
 * layered write overlays.
 *
 * A `struct state` reads the committed store and buffers every write in memory, in up to
 * STATE_DEPTH_MAX nested layers: the block, the transaction inside it, and a batch record
 * inside the transaction. state_begin opens a layer; state_commit folds it into the one
 * below; state_rollback drops it. That is how a refused transaction (or batch record)
 * changes nothing: its writes die with its layer. Nothing reaches the store until the
 * block's layer is turned into a write batch (state_take_batch), which the ledger writes
 * atomically together with the block.
 *
 * The state hash after block h is
 *   tagged("idledger/state", hash after h-1 | u64 h | writes digest)
 * where the writes digest hashes the block's writes sorted by key (state_writes_digest).
 * Two nodes that applied the same blocks the same way have the same hash at every height;
 * one differing write anywhere changes every later hash.
 *
 * Key spaces are one prefix byte each (enum state_space); text parts of a key are followed
 * by a NUL separator (ids cannot contain NUL), integers are big-endian so they sort.
 * SP_REASON holds the human-readable reasons of refused transactions: recorded and served,
 * but outside the writes digest, so rewording a message never forks the chain.
 *
 * Thread safety: a state belongs to one thread. Records returned by the getters are owned
 * by the caller (release with schema_free when the schema has heap members).
 */
#ifndef IDL_STATE_H
#define IDL_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "err.h"
#include "hash.h"
#include "store.h"
#include "tx.h"

#define STATE_DEPTH_MAX 4
#define STATE_KEY_MAX   256

enum state_space {
    SP_META = 'm',           /* ledger metadata: tip, genesis (not state) */
    SP_BLOCK = 'b',          /* height -> encoded block (not state) */
    SP_COMMIT = 'C',         /* height -> commit certificate (not state) */
    SP_BLOCK_HASH = 'h',     /* block hash -> height (not state) */
    SP_TX = 't',             /* txid -> struct rec_tx */
    SP_REASON = 'W',         /* txid -> reason text (outside the digest) */
    SP_POLICY = 'z',         /* -> struct ledger_policy */
    SP_VALIDATORS = 'V',     /* u16 index -> struct ledger_validator */
    SP_ORG = 'o',            /* code -> struct rec_org */
    SP_ORG_CHILD = 'c',      /* parent, code -> "" */
    SP_ACCOUNT = 'a',        /* id -> struct rec_account */
    SP_ACCOUNT_BY_ORG = 'A', /* org, id -> "" */
    SP_NONCE = 'n',          /* id -> u64 last nonce used */
    SP_PUBKEY = 'k',         /* pubkey -> account id */
    SP_SLOT = 'P',           /* org, post -> id of the account holding that post */
    SP_PERSON = 'p',         /* person key -> struct ledger_person */
    SP_PERSON_ACCOUNT = 'q', /* person key, id -> "" */
    SP_SYSTEM = 's',         /* code -> struct tx_system_add (its body schema) */
    SP_GRANT = 'g',          /* account, system, role -> struct rec_grant */
    SP_ROLE_COUNT = 'r',     /* org, system, role -> u32 holders */
    SP_LEGACY = 'l',         /* system, legacy account -> account id */
    SP_LEGACY_OF = 'L',      /* account, system -> legacy account */
    SP_AUDIT_ORG = 'u',      /* actor's org, u64 height, u32 index, u32 record -> rec_audit */
    SP_AUDIT_ACTOR = 'U',    /* actor, u64 height, u32 index, u32 record -> actor's org */
    SP_REVIEW = 'v',         /* org -> struct rec_review */
    SP_CERT_APP = 'y',       /* account -> struct rec_cert_app */
    SP_CERT = 'x',           /* fingerprint -> struct rec_cert */
    SP_CERTS_OF = 'X',       /* account -> struct rec_fingerprints */
    SP_CERT_EVENT = 'E',     /* fingerprint, u32 seq -> struct rec_cert_event */
    SP_CERT_ISSUED = 'I',    /* SHA-256 of issuer, serial -> fingerprint (never deleted) */
    SP_CERT_KEY = 'J',       /* cert_key_id of the public key -> fingerprint (never deleted) */
    SP_MEDIUM = 'M',         /* medium serial -> struct rec_medium */
    SP_DISTRIBUTION = 'D',   /* account, u32 number -> struct rec_handover */
    SP_STATUS_LOG = 'S',     /* account, u64 height, u32 index -> struct rec_status */
    SP_COUNTS = 'K',         /* org -> struct rec_counts */
    SP_RECORD = 'Q',         /* txid, u32 record -> struct rec_tx: a refused batch record */
};

enum ledger_account_status {
    STATUS_NONE,
    STATUS_PENDING,
    STATUS_ACTIVE,
    STATUS_DISABLED,
    STATUS_LOCKED,
    STATUS__COUNT
};

enum ledger_same_person { SAME_NEVER = 1, SAME_SCHOOLS = 2, SAME_ALWAYS = 3, SAME__COUNT };

enum ledger_tx_status { TXS_NONE, TXS_COMMITTED, TXS_REJECTED, TXS__COUNT };

enum ledger_cert_status { CERT_NONE, CERT_ACTIVE, CERT_FROZEN, CERT_REVOKED, CERT__COUNT };
enum ledger_app_status { APP_NONE, APP_APPLIED, APP_APPROVED, APP_ANCHORED, APP__COUNT };
/*
 * Where a USB key medium is: on its way down the levels to its holder, with its holder, in
 * use (a certificate was anchored on it), or handed back to the holder's unit (returned).
 */
enum ledger_medium_status {
    MEDIUM_NONE,
    MEDIUM_IN_TRANSIT,
    MEDIUM_HANDED,
    MEDIUM_IN_USE,
    MEDIUM_RETURNED,
    MEDIUM__COUNT
};
enum ledger_handover_kind { HANDOVER_NONE, HANDOVER_GIVEN, HANDOVER_RETURNED, HANDOVER__COUNT };

#define LEDGER_CERTS_PER_ACCOUNT 16
#define LEDGER_CERT_ISSUERS_MAX  16

/* A CA certificate (DER) that may issue the education certificates of this chain. */
struct ledger_ca {
    struct idl_bytes der;
};

/* Chain policies, set by genesis (DOMAIN.md §3 "policy" rows). */
struct ledger_policy {
    uint8_t same_person_sys_sec; /* enum ledger_same_person */
    uint8_t mgmt_business_roles; /* 1: a management account may hold business roles */
    uint32_t review_interval_days;
    uint8_t cert_issuer_required;    /* 1: only certificates issued by cert_issuers */
    struct schema_list cert_issuers; /* of struct ledger_ca */
};

struct rec_org {
    char code[LEDGER_CODE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    uint8_t kind;
    char parent[LEDGER_CODE_MAX + 1]; /* empty for the root */
    uint8_t school_type;
    uint8_t delegated;
    uint64_t created_height;
};

struct rec_account {
    char id[LEDGER_ID_MAX + 1];
    char org[LEDGER_CODE_MAX + 1];
    uint8_t class;
    uint8_t post;
    uint8_t status;     /* enum ledger_account_status */
    uint8_t authorized; /* a management account that its parent's secadmin authorised */
    uint8_t pubkey[SIG_PUBKEY_BYTES];
    uint8_t person[HASH_BYTES];
    uint64_t created_height;
    uint64_t created_time_ms;
    uint64_t changed_height; /* last change of status, post or personal data */
    uint64_t changed_time_ms;
};

/* Accounts of an organisation by class and status (reports read these, not the accounts). */
struct rec_counts {
    uint64_t business[STATUS__COUNT];
    uint64_t management[STATUS__COUNT];
};

struct rec_grant {
    char actor[LEDGER_ID_MAX + 1];
    uint64_t height;
    uint64_t time_ms;
    uint8_t basis[HASH_BYTES];
};

struct rec_tx {
    uint64_t height;
    uint32_t index;
    uint8_t status; /* enum ledger_tx_status */
    uint8_t code;   /* idl_err: why it was refused */
};

struct rec_audit {
    uint8_t txid[HASH_BYTES];
    uint16_t type;
    char actor[LEDGER_ID_MAX + 1];
    /* Where the actor stood when the operation was applied: its post may change later, and
     * an audit of what a sysadmin did must still find what it did as sysadmin. */
    char actor_org[LEDGER_CODE_MAX + 1];
    uint8_t actor_post; /* enum ledger_post; 0 for a business account's refused attempt */
    char target[LEDGER_ID_MAX + 1];
    uint8_t basis[HASH_BYTES];
    uint64_t height;
    uint32_t index;
    uint32_t record; /* 0, or 1 + the record's position in a batch */
    uint64_t time_ms;
    uint8_t status; /* enum ledger_tx_status */
    uint8_t code;
};

/*
 * A certificate application (申请数字证书) of an account: its approvals level by level and
 * the medium handed to the holder. A new application (after the last one was anchored)
 * replaces it; the distribution records of every application stay (SP_DISTRIBUTION),
 * numbered per account, and `records` counts them across applications.
 */
struct rec_cert_app {
    uint8_t status;                 /* enum ledger_app_status */
    struct schema_list approvals;   /* of struct ledger_code: organisations that approved */
    char medium[LEDGER_ID_MAX + 1]; /* the USB key medium handed to the holder, "" if none */
    uint64_t applied_height;
    uint64_t medium_time_ms;        /* when the holder received it */
    char note[LEDGER_REASON_MAX + 1];
    uint32_t records;               /* distribution records of the account, all applications */
};

/* A USB key medium (UKey, 介质), by serial. Never deleted. */
struct rec_medium {
    uint8_t status;                  /* enum ledger_medium_status */
    char account[LEDGER_ID_MAX + 1]; /* the applicant it goes to; "" once returned */
    uint64_t applied_height;         /* of that account's application */
    char holder[LEDGER_ID_MAX + 1];  /* the account that has it now */
    char holder_org[LEDGER_CODE_MAX + 1];
    uint8_t fingerprint[HASH_BYTES]; /* the certificate anchored on it (MEDIUM_IN_USE) */
    uint64_t time_ms;                /* of the last movement */
};

/*
 * One line of the distribution record (电子证书派发记录单, DOMAIN.md §4-§5): medium `medium`
 * went from `by` (a sysadmin of by_org) to `to` (of to_org), or, for a return, back from
 * its holder `to` to `by`. The receiver's name and mobile are those of its person record,
 * sealed there: the record names the account, never copies personal data.
 */
struct rec_handover {
    uint32_t number;                 /* 1, 2, ... per account */
    uint64_t applied_height;         /* the application it belongs to */
    uint8_t kind;                    /* enum ledger_handover_kind */
    char medium[LEDGER_ID_MAX + 1];
    char to[LEDGER_ID_MAX + 1];
    char to_org[LEDGER_CODE_MAX + 1];
    char by[LEDGER_ID_MAX + 1];
    char by_org[LEDGER_CODE_MAX + 1];
    uint64_t height;
    uint64_t time_ms;
    char note[LEDGER_REASON_MAX + 1]; /* a return's reason */
};

/*
 * One status change of a certificate (its anchoring first), kept under its own key
 * (SP_CERT_EVENT, never dropped), with who made it and why.
 */
struct rec_cert_event {
    uint64_t time_ms;
    uint64_t height;
    uint8_t status;                    /* enum ledger_cert_status from that time on */
    char actor[LEDGER_ID_MAX + 1];
    char reason[LEDGER_REASON_MAX + 1]; /* screened: no run of 11 or more digits */
};

struct rec_cert {
    uint8_t fingerprint[HASH_BYTES];
    char account[LEDGER_ID_MAX + 1];
    uint8_t status;
    char serial[65];
    char issuer[401];
    uint64_t not_before, not_after; /* Unix seconds */
    uint8_t key;                    /* enum cert_key */
    struct idl_bytes spki;
    struct idl_bytes der; /* sealed, as anchored */
    char medium[LEDGER_ID_MAX + 1];
    uint64_t anchored_height;
    uint32_t events; /* status changes in SP_CERT_EVENT, the anchoring included */
};

struct rec_fingerprint {
    uint8_t fp[HASH_BYTES];
};

struct rec_fingerprints {
    struct schema_list fps; /* of struct rec_fingerprint */
};

struct rec_status {
    uint8_t status; /* enum ledger_account_status from time_ms on */
    uint64_t time_ms;
};

struct rec_review {
    char actor[LEDGER_ID_MAX + 1];
    uint64_t height;
    uint64_t time_ms;
    uint8_t basis[HASH_BYTES];
    char note[LEDGER_REASON_MAX + 1];
};

extern const struct schema ledger_policy_schema;
extern const struct schema rec_org_schema;
extern const struct schema rec_account_schema;
extern const struct schema rec_grant_schema;
extern const struct schema rec_tx_schema;
extern const struct schema rec_audit_schema;
extern const struct schema rec_review_schema;
extern const struct schema rec_cert_app_schema;
extern const struct schema rec_cert_schema;
extern const struct schema rec_cert_event_schema;
extern const struct schema rec_medium_schema;
extern const struct schema rec_handover_schema;
extern const struct schema rec_fingerprints_schema;
extern const struct schema rec_status_schema;
extern const struct schema rec_counts_schema;
extern const struct schema ledger_ca_schema;

const char *ledger_status_name(unsigned v);
const char *ledger_same_person_name(unsigned v);
unsigned ledger_same_person_parse(const char *s);
const char *ledger_tx_status_name(unsigned v);
const char *ledger_cert_status_name(unsigned v);
const char *ledger_app_status_name(unsigned v);
const char *ledger_medium_status_name(unsigned v);
const char *ledger_handover_kind_name(unsigned v);

/* A key under construction. */
struct state_key {
    uint8_t b[STATE_KEY_MAX];
    size_t len;
};

void state_key_init(struct state_key *k, enum state_space space);
/* Appends s and a NUL separator. */
void state_key_str(struct state_key *k, const char *s);
void state_key_raw(struct state_key *k, const void *p, size_t n);
void state_key_u64(struct state_key *k, uint64_t v);
void state_key_u32(struct state_key *k, uint32_t v);

struct state;

/* A state over `store` with no layers open. */
IDL_MUST_USE idl_err state_new(struct state **out, struct store *store);
/*
 * Makes st keep what the store answers (absences too) for the rest of its life: for a
 * block's execution, whose transactions read the same actor, nonce and organisation again
 * and again while the store does not change under it. A short query gains nothing by it.
 */
void state_keep_reads(struct state *st);
void state_free(struct state *st);

/* Opens a layer; IDL_ERR_NOMEM, or an assertion past STATE_DEPTH_MAX. */
IDL_MUST_USE idl_err state_begin(struct state *st);
/* Folds the top layer into the one below (the bottom layer cannot be committed). */
IDL_MUST_USE idl_err state_commit(struct state *st);
/* Drops the top layer and everything written in it. */
void state_rollback(struct state *st);
int state_depth(const struct state *st);

/* Reads the newest value of key through the layers, then the store. IDL_ERR_NOT_FOUND. */
IDL_MUST_USE idl_err state_get(struct state *st, const struct state_key *k, struct idl_bytes *v);
IDL_MUST_USE idl_err state_has(struct state *st, const struct state_key *k, bool *found);
/* Writes into the top layer (at least one must be open). */
IDL_MUST_USE idl_err state_put(struct state *st, const struct state_key *k, const void *v,
                               size_t n);
IDL_MUST_USE idl_err state_del(struct state *st, const struct state_key *k);

/* Typed records: decode/encode with the record's schema. */
IDL_MUST_USE idl_err state_get_rec(struct state *st, const struct state_key *k,
                                   const struct schema *s, void *rec);
IDL_MUST_USE idl_err state_put_rec(struct state *st, const struct state_key *k,
                                   const struct schema *s, const void *rec);

/* Digest of the bottom layer's writes, sorted by key, SP_REASON excluded. */
IDL_MUST_USE idl_err state_writes_digest(struct state *st, uint8_t out[HASH_BYTES]);
/* The state hash after block `height`, given the previous one and the writes digest. */
void state_hash_next(uint8_t out[HASH_BYTES], const uint8_t prev[HASH_BYTES], uint64_t height,
                     const uint8_t digest[HASH_BYTES]);

/*
 * Moves the bottom layer's writes into b (appending) and leaves the state with no layers.
 * Only valid with exactly one layer open.
 */
IDL_MUST_USE idl_err state_take_batch(struct state *st, struct store_batch *b);

/*
 * Writes an audit entry under the actor's organisation and under the actor, keyed by
 * (height, index, record) so entries sort in chain order.
 */
IDL_MUST_USE idl_err state_audit_put(struct state *st, const char *actor_org,
                                     const struct rec_audit *e);

/* Counts an account moving from status `from` to `to` (STATUS_NONE: created). */
IDL_MUST_USE idl_err state_count_move(struct state *st, const char *org, unsigned class,
                                      unsigned from, unsigned to);

/*
 * Convenience getters for the common records (IDL_ERR_NOT_FOUND if absent, and for an id or
 * code longer than any can be, which may come from outside).
 */
IDL_MUST_USE idl_err state_org_get(struct state *st, const char *code, struct rec_org *org);
IDL_MUST_USE idl_err state_account_get(struct state *st, const char *id, struct rec_account *acct);
IDL_MUST_USE idl_err state_policy_get(struct state *st, struct ledger_policy *p);
/* The last nonce id used (0 if none). */
IDL_MUST_USE idl_err state_nonce_get(struct state *st, const char *id, uint64_t *nonce);

#endif
