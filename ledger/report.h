/*
 * Reports over the committed state (DOMAIN.md §5 and the periodic review of §3): the
 * business-account roll-up in the shape of the seeds' tables (附件5, 附件6) and the list of
 * accounts an organisation must review.
 *
 * Conventions:
 *   - Each report is a pure function of one snapshot of the store and its arguments: every
 *     read goes through a single store iterator, so a block committed while a report runs
 *     is either wholly in it or wholly absent. "Now" is an argument (the node passes its
 *     tip's block time); nothing here reads a clock.
 *   - Pointers are never NULL. A report is written into *out, which the caller owns and
 *     releases with the matching _free function, also after a failed call (out is zeroed
 *     first, so freeing it is always safe).
 *   - Returns: IDL_OK; IDL_ERR_NOT_FOUND if the organisation does not exist;
 *     IDL_ERR_TOO_LARGE past REPORT_ORGS_MAX organisations or REPORT_ACCOUNTS_MAX accounts;
 *     IDL_ERR_NOMEM; IDL_ERR_CORRUPT if a stored record does not decode.
 *   - The output is plain C data: no JSON. node/api_reports.c renders it.
 */
#ifndef IDL_REPORT_H
#define IDL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "state.h"
#include "store.h"

#define REPORT_ORGS_MAX     100000     /* organisations one roll-up visits */
#define REPORT_ACCOUNTS_MAX 1000000    /* accounts one review examines */
#define REPORT_NONE         UINT32_MAX /* "no such organisation in the report", as an index */
#define REPORT_AUDIT_MAX    100000     /* entries one audit report answers at most */

/* Business accounts by status. total is the sum of by_status. */
struct report_tally {
    uint64_t total;
    uint64_t by_status[STATUS__COUNT]; /* [STATUS_NONE] is always 0 */
};

/*
 * One organisation of the reported subtree. Units are in depth-first order, a parent before
 * its children: first the units it runs itself (schools, universities, other units), then
 * the bureaus below it (cities, counties), each group in code order. That is the order of
 * the rows of the seeds' tables, with each level's own units together.
 */
struct report_unit {
    char code[LEDGER_CODE_MAX + 1];
    char name[LEDGER_NAME_MAX + 1];
    uint8_t kind;    /* enum ledger_org_kind */
    uint32_t parent; /* index in units; REPORT_NONE for the reported organisation */
    /*
     * The city and the county the unit lies in, as indices in units (a city or county is in
     * itself), REPORT_NONE if none within the subtree: universities, province-run units and
     * the province have no city; city-run schools have a city and no county. A report
     * starting below a city does not look above its own organisation.
     */
    uint32_t city, county;
    /*
     * True if the unit is a row of the table: every school, university and other unit, and
     * a bureau (province, city, county) that has business accounts of its own (本级).
     */
    bool row;
    struct report_tally own;  /* business accounts of this organisation */
    struct report_tally tree; /* of this organisation and everything below it */
};

/* Holders of one business-system role in the subtree. */
struct report_role {
    char system[LEDGER_CODE_MAX + 1];
    char role[LEDGER_CODE_MAX + 1];
    uint64_t count;
};

struct report_business {
    struct report_unit *units; /* units[0] is the reported organisation */
    size_t n_units;
    /* Rows outside any city of the subtree: the province's own, universities, province-run
     * schools (and everything, for a report that starts below a city). */
    struct report_tally outside_cities;
    bool any_outside_cities;   /* at least one row lies outside every city */
    struct report_role *roles; /* sorted by system, then role */
    size_t n_roles;
};

/*
 * The business accounts of organisation `org` and every organisation below it, counted per
 * organisation and rolled up county -> city -> province (units[0].tree is the total).
 *
 * Reads the per-organisation counters the ledger keeps (SP_COUNTS) and the holders of each
 * role (SP_ROLE_COUNT), walking the organisation tree (SP_ORG_CHILD); it does not scan the
 * accounts. Role counts are grants held, whatever the holder's status: a disabled account
 * keeps its grants on the ledger (they no longer verify), and so it is counted.
 */
IDL_MUST_USE idl_err report_business(struct store *s, const char *org, struct report_business *out);
void report_business_free(struct report_business *r);

/* Why an account is due for review. */
enum report_due_why {
    REPORT_DUE_CHANGED = 1,  /* changed (created, status, post, grants, personal data, ...)
                              * since the last review */
    REPORT_DUE_INTERVAL = 2, /* neither reviewed nor created within the interval */
};

/* What changed, for REPORT_DUE_CHANGED (bits of report_due.changes). */
enum report_change {
    REPORT_CHANGE_CREATED = 1u << 0,  /* account.add, account.batch-add */
    REPORT_CHANGE_POST = 1u << 1,     /* account.update with a new post */
    REPORT_CHANGE_STATUS = 1u << 2,   /* authorised, disabled, restored, locked, unlocked */
    REPORT_CHANGE_GRANT = 1u << 3,    /* grant.add, grant.remove */
    REPORT_CHANGE_CONTACT = 1u << 4,  /* account.update of personal data */
    REPORT_CHANGE_PASSWORD = 1u << 5, /* account.reset-password */
    REPORT_CHANGE_LEGACY = 1u << 6,   /* account.bind-legacy (real-name conversion) */
    REPORT_CHANGE__ALL = (1u << 7) - 1,
};

/* The English name of one change bit ("created", "post", "status", "grant", "contact",
 * "password", "legacy"), or "" for anything else. */
const char *report_change_name(unsigned bit);

struct report_due {
    char account[LEDGER_ID_MAX + 1];
    char org[LEDGER_CODE_MAX + 1];
    uint8_t class;   /* enum ledger_class */
    uint8_t post;    /* enum ledger_post */
    uint8_t status;  /* enum ledger_account_status; never STATUS_DISABLED */
    uint8_t why;     /* enum report_due_why */
    uint8_t changes; /* REPORT_DUE_CHANGED: bits of enum report_change, from the audit
                      * log; 0 if no entry names the change */
    uint64_t changed_height;
    uint64_t since_ms; /* the later of its creation and the last review */
};

struct report_review {
    char org[LEDGER_CODE_MAX + 1];
    struct rec_review last; /* the last review recorded; all zero if none */
    uint32_t interval_days; /* the chain's policy */
    uint64_t now_ms;        /* as given */
    struct report_due *due; /* in the order of the scan: org's accounts by id, then each
                             * delegating child's (children in code order) */
    size_t n_due;
};

/*
 * The accounts organisation `org` must review at time now_ms (DOMAIN.md §3, 定期核查): its
 * own accounts, management and business, and the accounts of each direct child that
 * delegated its business users to it. Disabled accounts are left out: their access is
 * already withdrawn. An account is due when
 *   - org has recorded a review (last.height > 0) and the account changed at its height
 *     or later (REPORT_DUE_CHANGED: the ledger keeps the height of an account's last
 *     change, not its place in the block, so a change in the review's own block is listed
 *     whether it came before or after the review); what changed is read from the audit
 *     entries (SP_AUDIT_ORG) of the organisations whose administrators change these
 *     accounts (org, its parent, its delegating children) from that height on, and for
 *     account.update from the transaction itself (its block), or else
 *   - the later of its creation and the last review is interval_days or more before now_ms
 *     (REPORT_DUE_INTERVAL).
 * Recording a review (review.record) therefore clears every account it lists (but those
 * changed in the same block), until the next change or the next interval.
 */
IDL_MUST_USE idl_err report_review(struct store *s, const char *org, uint64_t now_ms,
                                   struct report_review *out);
void report_review_free(struct report_review *r);

/* ---- audit export ---- */

/* One operation of the audit export: the audit entry, its actor's post, why it failed. */
struct report_audit_entry {
    struct rec_audit e;
    uint8_t post; /* enum ledger_post: the actor's post when it acted */
    char *reason; /* malloc'd: the recorded reason of a refused operation; NULL if applied */
};

/* Where an audit report resumes: the key of the next entry (height, index, record). */
struct report_audit_cursor {
    uint64_t height;
    uint32_t index, record;
};

struct report_audit {
    char org[LEDGER_CODE_MAX + 1];
    struct report_audit_entry *entries; /* in chain order */
    size_t n;
    bool more;                       /* entries remain in the range past the last one */
    struct report_audit_cursor next; /* if more: where they start */
};

/*
 * The operations of org's sysadmin and secadmin (DOMAIN.md §3: what the auditor audits),
 * applied or refused, at heights from_height to to_height (both included; to_height 0: no
 * bound), starting at the entry `after` names (NULL: from the start of the range), at most
 * limit of them (1 to REPORT_AUDIT_MAX). Reads the audit entries filed under org
 * (SP_AUDIT_ORG), which hold the actor's post when it acted, and the reasons of refusals
 * (SP_REASON).
 * Returns IDL_ERR_NOT_FOUND if org does not exist, IDL_ERR_INVALID for a limit out of its
 * bounds, or the errors of the conventions above.
 */
IDL_MUST_USE idl_err report_audit(struct store *s, const char *org, uint64_t from_height,
                                  uint64_t to_height, const struct report_audit_cursor *after,
                                  size_t limit, struct report_audit *out);
void report_audit_free(struct report_audit *r);

/*
 * Writes why d is due at now_ms as one English sentence fragment ("changed after the last
 * review: grant, contact (last at height 12)", "not reviewed for 183 days") into out
 * (truncated to out_len).
 */
void report_due_reason(const struct report_due *d, uint64_t now_ms, char *out, size_t out_len);

/*
 * Writes s as a CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break)
 * and then a comma, or a line break after the last. A field a spreadsheet would take for a
 * formula (=, +, -, @, a tab or a carriage return first: an organisation named
 * =HYPERLINK(...) would run on the reader's machine) starts with an apostrophe, which
 * spreadsheets show as text.
 */
void report_csv_field(FILE *f, const char *s, bool last);

#endif
