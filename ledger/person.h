/*
 * Personal data: how a person's ID number and contact fields are kept off the ledger in
 * the clear.
 *
 * Two keys derive from the chain secret (genesis): the index key and the seal key, each
 * HMAC-SHA-256(secret, label). A person is indexed by
 *     person key = HMAC-SHA-256(index key, u8 document type | normalised number)
 * which is what makes "one identity per person" enforceable without the number itself.
 * Every other field (name, the number itself, mobile, e-mail, office phone, address) is
 * sealed with XChaCha20-Poly1305 under the seal key, a fresh random 24-byte nonce, and
 * additional data "idledger/person" | person key | field, so a sealed field cannot be moved
 * to another person or another field. Sealed form: nonce | ciphertext | tag.
 *
 * Only nodes hold the chain secret; they seal data at entry (the HTTP API) and open it to
 * answer a real-name check or to mask it for display. The keys live in sodium_malloc
 * memory, read-only once derived, and are wiped on release.
 */
#ifndef IDL_PERSON_H
#define IDL_PERSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "hash.h"
#include "idnum.h"
#include "tx.h"

#define PERSON_SECRET_BYTES 32

struct person_keys;

/* Derives both keys from the chain secret. IDL_ERR_NOMEM. */
IDL_MUST_USE idl_err person_keys_new(struct person_keys **out,
                                     const uint8_t secret[PERSON_SECRET_BYTES]);
void person_keys_free(struct person_keys *k);

/* The person key of a normalised document number (idnum_normalize). */
void person_index(const struct person_keys *k, enum idnum_doc doc, const char *normalised,
                  uint8_t out[HASH_BYTES]);

/*
 * Seals `text` (at most LEDGER_PERSON_TEXT_MAX bytes) as field `field` of person `key`.
 * out->data is malloc'd. IDL_ERR_TOO_LARGE, IDL_ERR_NOMEM.
 */
IDL_MUST_USE idl_err person_seal(const struct person_keys *k, const uint8_t key[HASH_BYTES],
                                 unsigned field, const char *text, struct idl_bytes *out);

/* The same for binary data (a certificate's DER): len bytes, at most 8192. */
IDL_MUST_USE idl_err person_seal_bytes(const struct person_keys *k, const uint8_t key[HASH_BYTES],
                                       unsigned field, const uint8_t *data, size_t len,
                                       struct idl_bytes *out);

/*
 * Opens a sealed field into out (NUL-terminated). IDL_ERR_CRYPTO if it was not sealed for
 * this person and field under this chain's key, IDL_ERR_TOO_LARGE if out is too small.
 */
IDL_MUST_USE idl_err person_open(const struct person_keys *k, const uint8_t key[HASH_BYTES],
                                 unsigned field, const uint8_t *sealed, size_t sealed_len,
                                 char *out, size_t out_len);

/*
 * Whether person p's sealed name is `name` (exact bytes). *same is true when p holds no
 * name to compare (nothing contradicts it). IDL_ERR_CRYPTO if p's name does not open under
 * this chain's key. The plaintext is wiped.
 */
IDL_MUST_USE idl_err person_name_is(const struct person_keys *k, const struct ledger_person *p,
                                    const char *name, bool *same);

/*
 * Checks a personal field before it is sealed: a name (1-64 characters, no digits, no
 * control characters), a mobile (11 digits starting 13-19), an e-mail (local@domain.tld),
 * an office phone (5-20 digits with + - ( ) and spaces), an address (1-256 bytes of text).
 * The ID number is checked by idnum_normalize. Returns IDL_OK or IDL_ERR_INVALID with a
 * static reason that never quotes the value.
 */
IDL_MUST_USE idl_err person_field_check(unsigned field, const char *text, const char **why);

/*
 * Checks sealed fields of person `key` as a transaction carries them, the way every node
 * must before it stores them: each field is one a person record holds, opens under this
 * chain's seal key for this person and field, and holds a valid value (person_field_check).
 * An ID number among them must be in normalised form for document type `doc` and index to
 * `key` (person_index): that is what makes a person key trustworthy, so that "one identity
 * per person" holds even against a transaction signed without the node's API. Each field
 * is opened once and its plaintext wiped. *has_number says whether an ID number was among
 * them (may be NULL).
 * Returns IDL_OK, or IDL_ERR_INVALID with *why a static reason that never quotes the data
 * and *field the field it concerns.
 */
IDL_MUST_USE idl_err person_fields_verify(const struct person_keys *k,
                                          const uint8_t key[HASH_BYTES], enum idnum_doc doc,
                                          const struct schema_list *fields, bool *has_number,
                                          unsigned *field, const char **why);

/* The field named "name", "mobile", "email", "office_phone", "address", "id_number"; 0. */
unsigned person_field_parse(const char *name);

/*
 * A display form of a field that identifies without disclosing: the surname of a name,
 * "138****5678" for a mobile, "z***@example.cn" for an e-mail, "440*************1X" for an
 * ID number, the last four digits of a phone, the first characters of an address.
 */
void person_mask(unsigned field, const char *text, char *out, size_t out_len);

#endif
