/*
 * Education CA certificates: parsing X.509 (PEM or DER; RSA, ECDSA and SM2 keys) and
 * checking signatures, on OpenSSL.
 *
 * SM2: OpenSSL 3.0 defaults to an empty distinguishing ID, while Chinese CAs and USB keys
 * sign with the standard one, "1234567812345678" (GM/T 0009). Every SM2 verification here
 * sets it, both for a certificate's own signature (cert_signed_by) and for signatures made
 * with an SM2 key (cert_verify, with SM3).
 *
 * A certificate is personal data: its subject names the holder and may carry an e-mail or
 * an ID number. The ledger keeps the DER sealed (person.h) and stores in the clear only
 * what identifies the certificate, not the person: fingerprint, serial, issuer, validity
 * and public key.
 */
#ifndef IDL_CERT_H
#define IDL_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "hash.h"

#define CERT_DER_MAX 8192
#define CERT_DN_MAX 400
#define CERT_SERIAL_MAX 64 /* hex digits (RFC 5280: at most 20 octets) */
#define CERT_SPKI_MAX 1200
#define CERT_SM2_ID "1234567812345678"
#define CERT_DIGEST_BYTES 32 /* SHA-256 for RSA and ECDSA; SM3's e for SM2 */

enum cert_key { CERT_KEY_NONE, CERT_KEY_RSA, CERT_KEY_ECDSA, CERT_KEY_SM2, CERT_KEY__COUNT };

struct cert_info {
    uint8_t fingerprint[HASH_BYTES]; /* SHA-256 of the DER */
    char serial[CERT_SERIAL_MAX + 1];  /* lower-case hex */
    char issuer[CERT_DN_MAX + 1];      /* RFC 2253, UTF-8 */
    char subject[CERT_DN_MAX + 1];     /* personal: never stored or logged in the clear */
    uint64_t not_before, not_after;    /* Unix seconds */
    uint8_t key;                       /* enum cert_key */
    bool is_ca;                        /* basicConstraints CA:TRUE */
    struct idl_bytes spki;             /* DER SubjectPublicKeyInfo, malloc'd */
};

/*
 * Parses a DER certificate. IDL_ERR_INVALID with a reason (no personal data) if it does
 * not parse, is too large, or has a key type other than RSA (>= 2048 bits), EC P-256/P-384
 * or SM2. Free with cert_info_free.
 */
IDL_MUST_USE idl_err cert_parse(struct cert_info *out, const uint8_t *der, size_t len,
                                char *why, size_t why_len);
void cert_info_free(struct cert_info *ci);

/*
 * PEM (first certificate) or DER content to DER. IDL_ERR_INVALID if neither, or if DER
 * input has bytes after the certificate.
 */
IDL_MUST_USE idl_err cert_to_der(const uint8_t *data, size_t len, struct idl_bytes *der);

/* True if the certificate's signature verifies under the CA certificate's key. */
bool cert_signed_by(const uint8_t *der, size_t len, const uint8_t *ca_der, size_t ca_len);

/*
 * Checks sig, a signature by the key of spki over msg (digest false: the message itself,
 * hashed here with SHA-256, or SM3 for SM2) or over a digest the caller computed (digest
 * true: SHA-256 for RSA and ECDSA; for SM2 the SM3 digest e = SM3(Z | message)), which is
 * exactly CERT_DIGEST_BYTES long: ECDSA would otherwise take any length, and OpenSSL
 * truncates a long one, so that a "digest" that is no SHA-256 could verify.
 * RSA signatures are PKCS#1 v1.5; ECDSA and SM2 signatures are DER (r, s).
 * IDL_OK if valid, IDL_ERR_SIGNATURE if not, IDL_ERR_INVALID if the key is unusable or a
 * digest has the wrong length.
 */
IDL_MUST_USE idl_err cert_verify(const uint8_t *spki, size_t spki_len, const uint8_t *msg,
                                 size_t msg_len, bool digest, const uint8_t *sig, size_t sig_len);

const char *cert_key_name(unsigned k);

/*
 * The identity of the public key in spki, independent of how the SubjectPublicKeyInfo
 * encodes it: SHA-256 over the key type's numbers (RSA: n and e; EC and SM2: the curve and
 * the point's coordinates), so an EC key written with a compressed point is the same key
 * as written uncompressed. IDL_ERR_INVALID if spki is no RSA, EC or SM2 key.
 */
IDL_MUST_USE idl_err cert_key_id(const uint8_t *spki, size_t spki_len, uint8_t out[HASH_BYTES]);

/*
 * The subject for display: organisational attributes (C, ST, L, O, OU) as they are, every
 * other value masked like a name ("CN=王*"), multi-valued parts ("O=...+CN=...") included.
 */
void cert_mask_subject(const char *subject, char *out, size_t out_len);

/*
 * Whether the certificate names itself as its issuer. A personal certificate of this kind
 * is not issued by a CA, and its issuer, kept and shown in the clear, would be the
 * holder's own name (and often ID number).
 */
bool cert_self_issued(const struct cert_info *ci);

#endif
