/*
 * X.509 through OpenSSL 3. Parsing extracts what the ledger keeps; verification builds an
 * EVP_PKEY from the SubjectPublicKeyInfo and checks a signature with the digest that goes
 * with the key type. OpenSSL's errors stay here: callers get idl_err and a sentence.
 */
#include "cert.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "person.h"
#include "tx.h"

static const char *const key_names[] = {"", "rsa", "ecdsa", "sm2"};
_Static_assert(IDL_ARRAY_LEN(key_names) == CERT_KEY__COUNT, "key types named");

const char *
cert_key_name(unsigned k)
{
    return k < CERT_KEY__COUNT ? key_names[k] : "";
}

static int
fail(char *why, size_t why_len, const char *msg)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", msg);
    return 0;
}

static X509 *
der_to_x509(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) { /* trailing bytes: not one certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

static int
asn1_time(const ASN1_TIME *t, uint64_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    time_t s = timegm(&tm);
    if (s < 0)
        return 0;
    *out = (uint64_t)s;
    return 1;
}

static int
name_string(const X509_NAME *n, char *out, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return 0;
    /* RFC 2253 order and escaping, but UTF-8 kept as UTF-8. */
    int ok = X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0;
    char *data;
    long len = BIO_get_mem_data(b, &data);
    ok = ok && len >= 0 && (size_t)len <= cap - 1;
    if (ok) {
        memcpy(out, data, (size_t)len);
        out[len] = '\0';
        ok = schema_text_valid(out, (size_t)len);
    }
    BIO_free(b);
    return ok;
}

static int
key_kind(EVP_PKEY *pk, uint8_t *kind, char *why, size_t why_len)
{
    if (EVP_PKEY_is_a(pk, "SM2")) {
        *kind = CERT_KEY_SM2;
        return 1;
    }
    if (EVP_PKEY_is_a(pk, "RSA")) {
        if (EVP_PKEY_get_bits(pk) < 2048)
            return fail(why, why_len, "RSA keys need at least 2048 bits");
        *kind = CERT_KEY_RSA;
        return 1;
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        char curve[64] = "";
        size_t n = 0;
        EVP_PKEY_get_utf8_string_param(pk, "group", curve, sizeof(curve), &n);
        if (!strcmp(curve, "SM2")) {
            *kind = CERT_KEY_SM2;
            return 1;
        }
        if (strcmp(curve, "prime256v1") && strcmp(curve, "secp384r1"))
            return fail(why, why_len, "EC keys must be on P-256, P-384 or SM2");
        *kind = CERT_KEY_ECDSA;
        return 1;
    }
    return fail(why, why_len, "the key is not RSA, ECDSA or SM2");
}

static int
serial_hex(const X509 *x, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int ok = hex && strlen(hex) < cap;
    if (ok) {
        for (size_t i = 0; hex[i]; i++)
            out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
        out[strlen(hex)] = '\0';
    }
    OPENSSL_free(hex);
    BN_free(bn);
    return ok;
}

idl_err
cert_parse(struct cert_info *out, const uint8_t *der, size_t len, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (len == 0 || len > CERT_DER_MAX) {
        fail(why, why_len, "the certificate is empty or over 8192 bytes");
        return IDL_ERR_INVALID;
    }
    X509 *x = der_to_x509(der, len);
    if (!x) {
        fail(why, why_len, "not an X.509 certificate");
        return IDL_ERR_INVALID;
    }
    hash_sha256(out->fingerprint, der, len);
    out->is_ca = X509_check_ca(x) != 0;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    unsigned char *spki = NULL;
    int spki_len = pk ? i2d_PUBKEY(pk, &spki) : -1;
    int ok = pk && key_kind(pk, &out->key, why, why_len);
    ok = ok && (serial_hex(x, out->serial, sizeof(out->serial)) ||
                fail(why, why_len, "the serial number is over 20 bytes"));
    ok = ok && (name_string(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer)) ||
                fail(why, why_len, "the issuer name is too long or not UTF-8"));
    ok = ok && (name_string(X509_get_subject_name(x), out->subject, sizeof(out->subject)) ||
                fail(why, why_len, "the subject name is too long or not UTF-8"));
    ok = ok && ((asn1_time(X509_get0_notBefore(x), &out->not_before) &&
                 asn1_time(X509_get0_notAfter(x), &out->not_after)) ||
                fail(why, why_len, "the validity dates do not parse"));
    ok = ok && ((spki_len > 0 && spki_len <= CERT_SPKI_MAX) ||
                fail(why, why_len, "the public key is too large"));
    if (ok) {
        out->spki.data = malloc((size_t)spki_len);
        ok = out->spki.data != NULL;
        if (ok) {
            memcpy(out->spki.data, spki, (size_t)spki_len);
            out->spki.len = (size_t)spki_len;
        }
    }
    OPENSSL_free(spki);
    X509_free(x);
    if (!ok) {
        cert_info_free(out);
        return IDL_ERR_INVALID;
    }
    return IDL_OK;
}

void
cert_info_free(struct cert_info *ci)
{
    free(ci->spki.data);
    memset(ci, 0, sizeof(*ci));
}

/* Whether "-----BEGIN" occurs in data (PEM may follow text, as `openssl x509 -text` writes). */
static bool
looks_pem(const uint8_t *data, size_t len)
{
    static const char tag[] = "-----BEGIN";
    for (size_t i = 0; i + sizeof(tag) - 1 <= len; i++)
        if (!memcmp(data + i, tag, sizeof(tag) - 1))
            return true;
    return false;
}

idl_err
cert_to_der(const uint8_t *data, size_t len, struct idl_bytes *der)
{
    memset(der, 0, sizeof(*der));
    X509 *x = NULL;
    if (looks_pem(data, len)) {
        BIO *b = BIO_new_mem_buf(data, (int)len);
        x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        x = der_to_x509(data, len); /* one certificate, nothing after it */
    }
    if (!x)
        return IDL_ERR_INVALID;
    unsigned char *buf = NULL;
    int n = i2d_X509(x, &buf);
    X509_free(x);
    if (n <= 0)
        return IDL_ERR_INVALID;
    der->data = malloc((size_t)n);
    if (!der->data) {
        OPENSSL_free(buf);
        return IDL_ERR_NOMEM;
    }
    memcpy(der->data, buf, (size_t)n);
    der->len = (size_t)n;
    OPENSSL_free(buf);
    return IDL_OK;
}

bool
cert_signed_by(const uint8_t *der, size_t len, const uint8_t *ca_der, size_t ca_len)
{
    X509 *x = der_to_x509(der, len), *ca = der_to_x509(ca_der, ca_len);
    bool ok = false;
    if (x && ca && X509_check_issued(ca, x) == X509_V_OK) {
        EVP_PKEY *k = X509_get0_pubkey(ca);
        if (k && EVP_PKEY_is_a(k, "SM2")) {
            /* The certificate's signature was made with the standard ID: say so. */
            ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
            if (id && ASN1_OCTET_STRING_set(id, (const unsigned char *)CERT_SM2_ID,
                                            (int)strlen(CERT_SM2_ID)))
                X509_set0_distinguishing_id(x, id); /* x owns id from here */
            else
                ASN1_OCTET_STRING_free(id);
        }
        ok = k && X509_verify(x, k) == 1;
    }
    X509_free(x);
    X509_free(ca);
    return ok;
}

idl_err
cert_verify(const uint8_t *spki, size_t spki_len, const uint8_t *msg, size_t msg_len, bool digest,
            const uint8_t *sig, size_t sig_len)
{
    if (digest && msg_len != CERT_DIGEST_BYTES)
        return IDL_ERR_INVALID;
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!pk)
        return IDL_ERR_INVALID;
    bool sm2 = EVP_PKEY_is_a(pk, "SM2");
    const EVP_MD *md = sm2 ? EVP_sm3() : EVP_sha256();
    int ok = 0;
    if (!digest) {
        EVP_MD_CTX *mctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);
        if (mctx && pctx && sm2)
            EVP_PKEY_CTX_set1_id(pctx, CERT_SM2_ID, strlen(CERT_SM2_ID));
        if (mctx && pctx) {
            EVP_MD_CTX_set_pkey_ctx(mctx, pctx); /* mctx uses pctx; we still free pctx */
            ok = EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) == 1 &&
                 EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1;
        }
        EVP_MD_CTX_free(mctx);
        EVP_PKEY_CTX_free(pctx);
    } else {
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pk, NULL);
        ok = pctx && EVP_PKEY_verify_init(pctx) == 1 &&
             (sm2 || EVP_PKEY_CTX_set_signature_md(pctx, md) == 1) &&
             EVP_PKEY_verify(pctx, sig, sig_len, msg, msg_len) == 1;
        EVP_PKEY_CTX_free(pctx);
    }
    EVP_PKEY_free(pk);
    return ok ? IDL_OK : IDL_ERR_SIGNATURE;
}

/* Appends u16 length | bytes of a non-negative BIGNUM param of pk to the hash; 0 if absent. */
static int
key_id_param(EVP_MD_CTX *md, const EVP_PKEY *pk, const char *name)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, name, &bn) || BN_is_negative(bn) || BN_num_bytes(bn) > 1024) {
        BN_free(bn);
        return 0;
    }
    uint8_t buf[1024 + 2];
    int n = BN_bn2bin(bn, buf + 2);
    BN_free(bn);
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    return EVP_DigestUpdate(md, buf, (size_t)n + 2) == 1;
}

idl_err
cert_key_id(const uint8_t *spki, size_t spki_len, uint8_t out[HASH_BYTES])
{
    memset(out, 0, HASH_BYTES);
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = pk && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok && EVP_PKEY_is_a(pk, "RSA")) {
        ok = EVP_DigestUpdate(md, "rsa", 4) == 1 && key_id_param(md, pk, "n") &&
             key_id_param(md, pk, "e");
    } else if (ok && (EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_is_a(pk, "SM2"))) {
        /* The curve by name (an SM2 key is on the curve "SM2" whichever type names it),
         * then the affine coordinates, which no point encoding changes. */
        char curve[64] = "";
        size_t n = 0;
        ok = EVP_PKEY_get_utf8_string_param(pk, "group", curve, sizeof(curve), &n) == 1 &&
             EVP_DigestUpdate(md, "ec", 3) == 1 && EVP_DigestUpdate(md, curve, n + 1) == 1 &&
             key_id_param(md, pk, "qx") && key_id_param(md, pk, "qy");
    } else {
        ok = 0;
    }
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(md, out, &len) == 1 && len == HASH_BYTES;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    if (!ok)
        memset(out, 0, HASH_BYTES);
    return ok ? IDL_OK : IDL_ERR_INVALID;
}

/* Appends a masked or plain value to out. */
static void
append(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n + 1 > cap)
        n = cap - *o - 1;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
}

void
cert_mask_subject(const char *subject, char *out, size_t out_len)
{
    static const char *const plain[] = {"C", "ST", "L", "O", "OU"};
    if (!out_len)
        return;
    size_t o = 0;
    out[0] = '\0';
    const char *p = subject;
    while (*p && o + 1 < out_len) {
        /* One attribute: up to an unescaped ',' (next RDN) or '+' (next value of a
         * multi-valued RDN); RFC 2253 escapes with a backslash. */
        const char *end = p;
        while (*end && *end != ',' && *end != '+')
            end += (*end == '\\' && end[1]) ? 2 : 1;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) {
            append(out, out_len, &o, p, (size_t)(end - p));
        } else {
            bool keep = false;
            for (size_t i = 0; i < IDL_ARRAY_LEN(plain); i++)
                keep |= (size_t)(eq - p) == strlen(plain[i]) &&
                        !strncmp(p, plain[i], strlen(plain[i]));
            append(out, out_len, &o, p, (size_t)(eq - p) + 1);
            char value[CERT_DN_MAX + 1], masked[CERT_DN_MAX + 1];
            size_t vn = (size_t)(end - eq - 1) < CERT_DN_MAX ? (size_t)(end - eq - 1) : CERT_DN_MAX;
            memcpy(value, eq + 1, vn);
            value[vn] = '\0';
            if (keep)
                snprintf(masked, sizeof(masked), "%s", value);
            else
                person_mask(PF_NAME, value, masked, sizeof(masked));
            append(out, out_len, &o, masked, strlen(masked));
        }
        if (!*end)
            break;
        append(out, out_len, &o, end, 1); /* the separator found: ',' or '+' */
        p = end + 1;
    }
}

bool
cert_self_issued(const struct cert_info *ci)
{
    return strcmp(ci->issuer, ci->subject) == 0;
}
