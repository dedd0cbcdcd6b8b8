/*
 * certtwin: the twin of an ECDSA-issued certificate, for tests/integration/certs.sh.
 *
 *   certtwin CERT.der CA.der OUT.der
 *
 * An ECDSA signature (r, s) verifies as (r, n - s) too, n the order of the signer's curve.
 * certtwin writes CERT with its CA's signature so replaced: the same certificate (issuer,
 * serial, subject, key, the signed TBSCertificate byte for byte) under another DER, whose
 * SHA-256 fingerprint differs, and which still verifies under CA. It checks that before it
 * writes. Exit status 0 on success, 1 with a sentence on stderr otherwise.
 */
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static X509 *
read_der(const char *path)
{
    FILE *f = fopen(path, "rb");
    X509 *x = f ? d2i_X509_fp(f, NULL) : NULL;
    if (f)
        fclose(f);
    return x;
}

static int
fail(const char *msg)
{
    fprintf(stderr, "certtwin: %s\n", msg);
    return 1;
}

/* The twin signature: DER of (r, n - s) for the DER (r, s) in sig, n the CA's order. */
static unsigned char *
twin_sig(const ASN1_BIT_STRING *sig, EVP_PKEY *ca_key, int *len)
{
    const unsigned char *p = sig->data;
    ECDSA_SIG *orig = d2i_ECDSA_SIG(NULL, &p, sig->length);
    char curve[64] = "";
    size_t n = 0;
    EC_GROUP *group = NULL;
    if (EVP_PKEY_get_utf8_string_param(ca_key, "group", curve, sizeof(curve), &n) == 1)
        group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
    BIGNUM *r = orig ? BN_dup(ECDSA_SIG_get0_r(orig)) : NULL, *s = BN_new();
    ECDSA_SIG *twin = ECDSA_SIG_new();
    unsigned char *out = NULL;
    *len = 0;
    if (orig && group && r && s && twin &&
        BN_sub(s, EC_GROUP_get0_order(group), ECDSA_SIG_get0_s(orig)) == 1 &&
        ECDSA_SIG_set0(twin, r, s) == 1) {
        r = s = NULL; /* twin owns them */
        *len = i2d_ECDSA_SIG(twin, &out);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(twin);
    ECDSA_SIG_free(orig);
    EC_GROUP_free(group);
    return *len > 0 ? out : NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 4)
        return fail("usage: certtwin CERT.der CA.der OUT.der");
    X509 *x = read_der(argv[1]), *ca = read_der(argv[2]);
    if (!x || !ca)
        return fail("cannot read the certificates (DER)");
    EVP_PKEY *ca_key = X509_get0_pubkey(ca);
    if (!ca_key || !EVP_PKEY_is_a(ca_key, "EC"))
        return fail("the CA's key is not an EC key: only ECDSA signatures have twins");
    const ASN1_BIT_STRING *psig;
    const X509_ALGOR *palg;
    X509_get0_signature(&psig, &palg, x);
    int len;
    unsigned char *sig = twin_sig(psig, ca_key, &len);
    if (!sig)
        return fail("the certificate's signature is not an ECDSA (r, s)");
    /* x is ours: its signature is replaced in place; the TBSCertificate keeps its bytes. */
    ASN1_BIT_STRING *bits = (ASN1_BIT_STRING *)psig;
    if (ASN1_BIT_STRING_set(bits, sig, len) != 1)
        return fail("out of memory");
    bits->flags &= ~(long)0x07;
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    OPENSSL_free(sig);
    if (X509_verify(x, ca_key) != 1)
        return fail("the twin does not verify under the CA");
    FILE *out = fopen(argv[3], "wb");
    int ok = out && i2d_X509_fp(out, x) == 1;
    if (out && fclose(out) != 0)
        ok = 0;
    X509_free(x);
    X509_free(ca);
    return ok ? 0 : fail("cannot write the twin");
}
