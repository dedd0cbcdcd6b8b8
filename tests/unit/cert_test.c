/*
 * Education CA certificates (DOMAIN.md §3-§4): ledger/cert.c on real certificates, and the
 * certificate lifecycle of ledger/rules_cert.c on a real ledger (fixture.h).
 *
 * Every certificate is made at test time by the `openssl` command (OpenSSL 3.0) in a
 * temporary directory, in the group setup: an RSA-2048 CA; an impostor CA with the same
 * name and its own key (the "unrelated CA": only the signature tells them apart); an SM2 CA;
 * leaves under them (RSA, ECDSA P-256 and P-384, SM2 signed with the standard
 * distinguishing ID "1234567812345678"); certificates that must be refused (RSA-1024,
 * secp256k1); an expired and a not-yet-valid one (openssl ca -startdate/-enddate); a leaf
 * whose holder's name sits in a multi-valued RDN; an ECDSA P-256 CA and a leaf under it, whose
 * twin (the CA's signature s replaced by n - s) the test makes in C (make_twin); C_EC's key
 * certified again, as requested and with its point compressed. The expected facts (serial, issuer,
 * validity, SHA-256 fingerprint) come from `openssl x509`, not from the code under test.
 * Signatures over a message are made with `openssl dgst` (SM2 with -sigopt distid:...).
 *
 * The ledger tests move the fixture's block clock to the wall clock first: the fixture
 * starts in 2023 and the certificates are made today.
 *
 * Anchoring takes the DER sealed with person_seal_bytes as field PF_CERTIFICATE of the
 * holder's person key.
 */
#include <ftw.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "ledger/cert.h"
#include "ledger/query.h"

/* ---- certificates made by openssl ---- */

enum {
    C_RSACA, /* RSA-2048 CA "CN=RSA Root,O=Edu RSA CA,C=CN" */
    C_IMPCA, /* RSA-2048, the same name as C_RSACA, another key: an unrelated CA */
    C_SM2CA, /* SM2 CA, self-signed with the standard ID */
    C_RSA,   /* RSA-2048 leaf of 王芳 by C_RSACA, serial 0x1a2b3c4d5e */
    C_EC,    /* ECDSA P-256 leaf by C_RSACA */
    C_P384,  /* ECDSA P-384 leaf by C_RSACA */
    C_K1,    /* secp256k1 leaf by C_RSACA: refused */
    C_U1,    /* P-256 leaves by C_RSACA for a university's two managers */
    C_U2,
    C_OTHER,   /* P-256 leaf by C_IMPCA */
    C_R1024,   /* RSA-1024 leaf by C_RSACA: refused */
    C_MV,      /* P-256 leaf by C_RSACA, subject O=...+CN=王芳 (multi-valued RDN) */
    C_SM2,     /* SM2 leaf by C_SM2CA, signed with the standard ID, serial 0x0abc */
    C_EXPIRED, /* P-256 leaf by C_RSACA, valid 2020-2021 */
    C_FUTURE,  /* P-256 leaf by C_RSACA, valid 2040-2041 */
    C_ECCA,    /* ECDSA P-256 CA: its signatures are malleable (s -> n - s) */
    C_TW,      /* P-256 leaf by C_ECCA, serial 0x0201: the twin's original */
    C_SAMEKEY, /* C_EC's key again, by C_RSACA with serial 0x0110 */
    C_ECZ,     /* C_EC's key again, its point compressed in the SPKI, serial 0x0111 */
    C__COUNT
};

static const char *const cert_file[C__COUNT] = {
    "rsaca", "impca", "sm2ca", "rsa",     "ec",     "p384", "k1",      "u1",  "u2",
    "other", "r1024", "mv",    "sm2",     "expired", "future", "ecca", "tw", "samekey",
    "ecz",
};

struct tcert {
    struct idl_bytes der, pem;
    char serial[CERT_SERIAL_MAX + 8]; /* as `openssl x509 -serial` prints it */
    char issuer[CERT_DN_MAX + 1];     /* `openssl x509 -issuer -nameopt RFC2253,-esc_msb` */
    uint64_t nb, na;                  /* `-startdate`, `-enddate` through date(1) */
    uint8_t fp[HASH_BYTES];           /* `-fingerprint -sha256` */
};

static struct {
    char dir[64];
    struct tcert c[C__COUNT];
    struct idl_bytes msg, msg2;                /* messages signed by the leaves */
    struct idl_bytes sig_rsa, sig_ec, sig_sm2; /* over msg, by rsa, ec, sm2 (standard ID) */
    struct idl_bytes sig_sm2_noid;             /* over msg by sm2, with OpenSSL's default ID */
    struct idl_bytes sig_imp, sig_u1;          /* over msg by the impostor CA's key and by u1's */
    struct idl_bytes sig_tw;                   /* over msg by tw's key */
    struct idl_bytes rsa_text, chain;          /* `x509 -text` output; rsa.pem + rsaca.pem */
} T;

static const char gen_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "D=distid:1234567812345678\n"
    "cat > ca.cnf <<'EOF'\n"
    "[ ca ]\n"
    "default_ca = CA_default\n"
    "[ CA_default ]\n"
    "database = index.txt\n"
    "new_certs_dir = .\n"
    "serial = serial.txt\n"
    "default_md = sha256\n"
    "policy = pol\n"
    "unique_subject = no\n"
    "[ pol ]\n"
    "commonName = supplied\n"
    "EOF\n"
    ": > index.txt\n"
    "echo 1000 > serial.txt\n"
    /* Independent commands run in the background; waitall fails if one of them failed. */
    "pids=\n"
    "bg() { \"$@\" & pids=\"$pids $!\"; }\n"
    "waitall() { for p in $pids; do wait $p; done; pids=; }\n"
    "leaf() {\n"
    "  openssl req -new -newkey $2 -nodes -keyout $1.key -utf8 -subj \"$3\" -out $1.csr\n"
    "  openssl x509 -req -in $1.csr -CA $4.pem -CAkey $4.key -set_serial $5 -days 365 "
    "-sha256 -out $1.pem\n"
    "}\n"
    "sm2() {\n"
    "  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2ca.key\n"
    "  openssl req -x509 -new -key sm2ca.key -sm3 -sigopt $D "
    "-subj '/C=CN/O=Edu SM2 CA/CN=SM2 Root' -days 3650 -out sm2ca.pem\n"
    "  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out sm2.key\n"
    "  openssl req -new -key sm2.key -sm3 -sigopt $D -utf8 "
    "-subj '/C=CN/O=Test School/CN=张伟' -out sm2.csr\n"
    "  openssl x509 -req -in sm2.csr -CA sm2ca.pem -CAkey sm2ca.key -set_serial 0x0abc "
    "-days 365 -sm3 -sigopt $D -vfyopt $D -out sm2.pem\n"
    "}\n"
    "bg openssl req -x509 -newkey rsa:2048 -nodes -keyout rsaca.key "
    "-subj '/C=CN/O=Edu RSA CA/CN=RSA Root' -days 3650 -sha256 -out rsaca.pem\n"
    /* The impostor: the RSA CA's name, its own key. */
    "bg openssl req -x509 -newkey rsa:2048 -nodes -keyout impca.key "
    "-subj '/C=CN/O=Edu RSA CA/CN=RSA Root' -days 3650 -sha256 -out impca.pem\n"
    "bg sm2\n"
    "bg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecca.key "
    "-subj '/C=CN/O=Edu EC CA/CN=EC Root' -days 3650 -sha256 -out ecca.pem\n"
    "waitall\n"
    "bg leaf rsa rsa:2048 '/C=CN/O=Test School/CN=王芳/emailAddress=wangfang@example.cn' "
    "rsaca 0x1a2b3c4d5e\n"
    "bg leaf ec 'ec -pkeyopt ec_paramgen_curve:P-256' '/C=CN/O=Test School/CN=李雷' rsaca "
    "0x0102\n"
    "bg leaf p384 'ec -pkeyopt ec_paramgen_curve:P-384' /CN=p384 rsaca 0x0103\n"
    "bg leaf k1 'ec -pkeyopt ec_paramgen_curve:secp256k1' /CN=k1 rsaca 0x0104\n"
    "bg leaf u1 'ec -pkeyopt ec_paramgen_curve:P-256' /CN=u1 rsaca 0x0105\n"
    "bg leaf u2 'ec -pkeyopt ec_paramgen_curve:P-256' /CN=u2 rsaca 0x0106\n"
    "bg leaf other 'ec -pkeyopt ec_paramgen_curve:P-256' /CN=other impca 0x0107\n"
    "bg leaf r1024 rsa:1024 /CN=small rsaca 0x0108\n"
    "bg leaf tw 'ec -pkeyopt ec_paramgen_curve:P-256' '/C=CN/O=Test School/CN=韩梅梅' ecca "
    "0x0201\n"
    "waitall\n"
    /* C_EC's key in two more certificates: as requested, and with its point compressed. */
    "openssl x509 -req -in ec.csr -CA rsaca.pem -CAkey rsaca.key -set_serial 0x0110 -days 365 "
    "-sha256 -out samekey.pem\n"
    "openssl ec -in ec.key -pubout -conv_form compressed -out ecz.pub\n"
    "openssl x509 -new -force_pubkey ecz.pub -subj /CN=ecz -CA rsaca.pem -CAkey rsaca.key "
    "-set_serial 0x0111 -days 365 -sha256 -out ecz.pem\n"
    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout mv.key -utf8 "
    "-multivalue-rdn -subj '/C=CN/O=Guangzhou Primary School+CN=王芳' -out mv.csr\n"
    "openssl x509 -req -in mv.csr -CA rsaca.pem -CAkey rsaca.key -set_serial 0x0109 -days 365 "
    "-sha256 -out mv.pem\n"
    "for c in expired future; do\n"
    "  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $c.key "
    "-subj /CN=$c -out $c.csr\n"
    "done\n"
    "openssl ca -batch -config ca.cnf -cert rsaca.pem -keyfile rsaca.key -in expired.csr "
    "-out expired.pem -startdate 20200101000000Z -enddate 20210101000000Z -notext\n"
    "openssl ca -batch -config ca.cnf -cert rsaca.pem -keyfile rsaca.key -in future.csr "
    "-out future.pem -startdate 20400101000000Z -enddate 20410101000000Z -notext\n"
    "printf '%s' 'login challenge 2026' > msg.txt\n"
    "printf '%s' 'export teacher data' > msg2.txt\n"
    "bg openssl dgst -sha256 -sign rsa.key -out rsa.sig msg.txt\n"
    "bg openssl dgst -sha256 -sign ec.key -out ec.sig msg.txt\n"
    "bg openssl dgst -sm3 -sign sm2.key -sigopt $D -out sm2.sig msg.txt\n"
    "bg openssl dgst -sm3 -sign sm2.key -out sm2noid.sig msg.txt\n"
    "bg openssl dgst -sha256 -sign impca.key -out imp.sig msg.txt\n"
    "bg openssl dgst -sha256 -sign u1.key -out u1.sig msg.txt\n"
    "bg openssl dgst -sha256 -sign tw.key -out tw.sig msg.txt\n"
    "bg openssl x509 -in rsa.pem -out rsa.txt -text\n"
    "cat rsa.pem rsaca.pem > chain.pem\n"
    "for c in rsaca impca sm2ca rsa ec p384 k1 u1 u2 other r1024 mv sm2 expired future ecca tw "
    "samekey ecz; do\n"
    "  bg openssl x509 -in $c.pem -outform DER -out $c.der\n"
    "  bg openssl x509 -in $c.pem -noout -serial -issuer -nameopt RFC2253,-esc_msb "
    "-startdate -enddate -fingerprint -sha256 -out $c.facts\n"
    "done\n"
    "waitall\n"
    /* One fact a file: serial, issuer, validity in Unix seconds, fingerprint. */
    "for c in rsaca impca sm2ca rsa ec p384 k1 u1 u2 other r1024 mv sm2 expired future ecca tw "
    "samekey ecz; do\n"
    "  sed -n 's/^serial=//p' $c.facts > $c.serial\n"
    "  sed -n 's/^issuer=//p' $c.facts > $c.issuer\n"
    "  date -u -d \"$(sed -n 's/^notBefore=//p' $c.facts)\" +%s > $c.nb\n"
    "  date -u -d \"$(sed -n 's/^notAfter=//p' $c.facts)\" +%s > $c.na\n"
    "  sed -n 's/^.*Fingerprint=//p' $c.facts | tr -d : > $c.fp\n"
    "done\n";

static struct idl_bytes
read_file(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", T.dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    struct idl_bytes b = {malloc(65536), 0};
    assert_non_null(b.data);
    b.len = fread(b.data, 1, 65536, fp);
    fclose(fp);
    return b;
}

/* A one-line file, trailing whitespace removed. */
static void
read_line(const char *base, const char *ext, char *out, size_t cap)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.%s", base, ext);
    struct idl_bytes b = read_file(name);
    size_t n = b.len;
    while (n && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' '))
        n--;
    assert_true(n < cap);
    memcpy(out, b.data, n);
    out[n] = '\0';
    free(b.data);
}

static uint64_t
read_u64(const char *base, const char *ext)
{
    char s[32];
    read_line(base, ext, s, sizeof(s));
    return strtoull(s, NULL, 10);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int
group_setup(void **state)
{
    (void)state;
    snprintf(T.dir, sizeof(T.dir), "/tmp/idl-cert-XXXXXX");
    if (!mkdtemp(T.dir))
        return -1;
    char path[128], cmd[256];
    snprintf(path, sizeof(path), "%s/gen.sh", T.dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fputs(gen_script, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "sh %s/gen.sh %s > %s/gen.log 2>&1", T.dir, T.dir, T.dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s/gen.log >&2", T.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "making the certificates failed\n");
        return -1;
    }
    for (int i = 0; i < C__COUNT; i++) {
        struct tcert *c = &T.c[i];
        char name[64], hex[2 * HASH_BYTES + 1];
        snprintf(name, sizeof(name), "%s.der", cert_file[i]);
        c->der = read_file(name);
        snprintf(name, sizeof(name), "%s.pem", cert_file[i]);
        c->pem = read_file(name);
        read_line(cert_file[i], "serial", c->serial, sizeof(c->serial));
        read_line(cert_file[i], "issuer", c->issuer, sizeof(c->issuer));
        c->nb = read_u64(cert_file[i], "nb");
        c->na = read_u64(cert_file[i], "na");
        read_line(cert_file[i], "fp", hex, sizeof(hex));
        for (char *p = hex; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        if (codec_hex_decode(c->fp, HASH_BYTES, hex) != IDL_OK)
            return -1;
    }
    T.msg = read_file("msg.txt");
    T.msg2 = read_file("msg2.txt");
    T.sig_rsa = read_file("rsa.sig");
    T.sig_ec = read_file("ec.sig");
    T.sig_sm2 = read_file("sm2.sig");
    T.sig_sm2_noid = read_file("sm2noid.sig");
    T.sig_imp = read_file("imp.sig");
    T.sig_u1 = read_file("u1.sig");
    T.sig_tw = read_file("tw.sig");
    T.rsa_text = read_file("rsa.txt");
    T.chain = read_file("chain.pem");
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < C__COUNT; i++) {
        free(T.c[i].der.data);
        free(T.c[i].pem.data);
    }
    struct idl_bytes *all[] = {&T.msg,     &T.msg2,     &T.sig_rsa, &T.sig_ec,
                               &T.sig_sm2, &T.sig_sm2_noid, &T.sig_imp, &T.sig_u1,
                               &T.sig_tw,  &T.rsa_text, &T.chain};
    for (size_t i = 0; i < IDL_ARRAY_LEN(all); i++)
        free(all[i]->data);
    if (T.dir[0])
        nftw(T.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static const struct idl_bytes *
der(int c)
{
    return &T.c[c].der;
}

static void
parse_ok(int c, struct cert_info *ci)
{
    char why[200] = "";
    if (cert_parse(ci, der(c)->data, der(c)->len, why, sizeof(why)) != IDL_OK)
        fail_msg("cert_parse(%s): %s", cert_file[c], why);
}

static bool
contains(const void *hay, size_t hay_len, const void *needle, size_t needle_len)
{
    const uint8_t *h = hay;
    for (size_t i = 0; needle_len <= hay_len && i <= hay_len - needle_len; i++)
        if (memcmp(h + i, needle, needle_len) == 0)
            return true;
    return false;
}

static void
assert_has(const char *s, const char *needle)
{
    if (!strstr(s, needle))
        fail_msg("\"%s\" does not contain \"%s\"", s, needle);
}

static void
assert_lacks(const char *s, const char *needle)
{
    if (strstr(s, needle))
        fail_msg("\"%s\" contains \"%s\"", s, needle);
}

/* ---- cert_parse, cert_to_der ---- */

/* A certificate that names itself as its issuer: the CAs' roots; not a leaf. */
static void
self_issued_is_the_root_not_the_leaf(void **state)
{
    (void)state;
    static const struct {
        int c;
        bool self;
    } cases[] = {{C_RSACA, true}, {C_SM2CA, true}, {C_RSA, false}, {C_SM2, false}, {C_EC, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cert_info ci;
        parse_ok(cases[i].c, &ci);
        if (cert_self_issued(&ci) != cases[i].self)
            fail_msg("cert_self_issued(%s) is not %d", cert_file[cases[i].c], cases[i].self);
        cert_info_free(&ci);
    }
}


static void
parse_each_kind(void **state)
{
    (void)state;
    static const struct {
        int c;
        unsigned key;
    } kinds[] = {
        {C_RSACA, CERT_KEY_RSA},    {C_IMPCA, CERT_KEY_RSA},  {C_RSA, CERT_KEY_RSA},
        {C_EC, CERT_KEY_ECDSA},     {C_P384, CERT_KEY_ECDSA}, {C_OTHER, CERT_KEY_ECDSA},
        {C_SM2CA, CERT_KEY_SM2},    {C_SM2, CERT_KEY_SM2},    {C_EXPIRED, CERT_KEY_ECDSA},
        {C_FUTURE, CERT_KEY_ECDSA},
    };
    for (size_t i = 0; i < IDL_ARRAY_LEN(kinds); i++) {
        const struct tcert *t = &T.c[kinds[i].c];
        struct cert_info ci;
        parse_ok(kinds[i].c, &ci);
        assert_int_equal(ci.key, kinds[i].key);
        /* The serial as openssl prints it, in lower case. */
        char want[sizeof(t->serial)];
        for (size_t j = 0; j <= strlen(t->serial); j++)
            want[j] = (char)(t->serial[j] >= 'A' && t->serial[j] <= 'F' ? t->serial[j] - 'A' + 'a'
                                                                        : t->serial[j]);
        assert_string_equal(ci.serial, want);
        assert_string_equal(ci.issuer, t->issuer);
        assert_int_equal(ci.not_before, t->nb);
        assert_int_equal(ci.not_after, t->na);
        /* Fingerprint: SHA-256 of the DER, as openssl computes it and as we do. */
        uint8_t h[HASH_BYTES];
        hash_sha256(h, t->der.data, t->der.len);
        assert_memory_equal(ci.fingerprint, t->fp, HASH_BYTES);
        assert_memory_equal(ci.fingerprint, h, HASH_BYTES);
        /* The SubjectPublicKeyInfo is the certificate's key. */
        const unsigned char *p = t->der.data, *q = ci.spki.data;
        X509 *x = d2i_X509(NULL, &p, (long)t->der.len);
        EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)ci.spki.len);
        assert_non_null(x);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(x)), 1);
        EVP_PKEY_free(k);
        X509_free(x);
        assert_string_equal(cert_key_name(ci.key), kinds[i].key == CERT_KEY_RSA     ? "rsa"
                                                   : kinds[i].key == CERT_KEY_ECDSA ? "ecdsa"
                                                                                    : "sm2");
        cert_info_free(&ci);
        assert_null(ci.spki.data);
    }
    /* The facts spelled out, so that agreeing with openssl is not all that is checked. */
    struct cert_info ci;
    parse_ok(C_RSA, &ci);
    assert_string_equal(ci.serial, "1a2b3c4d5e");
    assert_string_equal(ci.issuer, "CN=RSA Root,O=Edu RSA CA,C=CN");
    assert_string_equal(ci.subject, "emailAddress=wangfang@example.cn,CN=王芳,O=Test School,C=CN");
    assert_int_equal(ci.not_after - ci.not_before, 365 * 86400);
    cert_info_free(&ci);
    parse_ok(C_SM2, &ci);
    assert_string_equal(ci.serial, "0abc");
    assert_string_equal(ci.issuer, "CN=SM2 Root,O=Edu SM2 CA,C=CN");
    cert_info_free(&ci);
    parse_ok(C_EXPIRED, &ci);
    assert_int_equal(ci.not_before, 1577836800); /* 2020-01-01T00:00:00Z */
    assert_int_equal(ci.not_after, 1609459200);  /* 2021-01-01T00:00:00Z */
    cert_info_free(&ci);
    parse_ok(C_FUTURE, &ci);
    assert_int_equal(ci.not_before, 2208988800); /* 2040-01-01T00:00:00Z: past 2038 */
    cert_info_free(&ci);
    assert_string_equal(cert_key_name(CERT_KEY__COUNT), "");
}

static void
to_der_pem_and_der(void **state)
{
    (void)state;
    for (int c = 0; c < C__COUNT; c++) {
        struct idl_bytes out;
        assert_int_equal(cert_to_der(T.c[c].pem.data, T.c[c].pem.len, &out), IDL_OK);
        assert_int_equal(out.len, T.c[c].der.len);
        assert_memory_equal(out.data, T.c[c].der.data, out.len);
        free(out.data);
        assert_int_equal(cert_to_der(T.c[c].der.data, T.c[c].der.len, &out), IDL_OK);
        assert_int_equal(out.len, T.c[c].der.len);
        assert_memory_equal(out.data, T.c[c].der.data, out.len);
        free(out.data);
    }
    /* PEM after text, as `openssl x509 -text` writes it; a chain gives its first. */
    struct idl_bytes out;
    assert_true(T.rsa_text.data[0] != '-');
    assert_int_equal(cert_to_der(T.rsa_text.data, T.rsa_text.len, &out), IDL_OK);
    assert_int_equal(out.len, der(C_RSA)->len);
    assert_memory_equal(out.data, der(C_RSA)->data, out.len);
    free(out.data);
    assert_int_equal(cert_to_der(T.chain.data, T.chain.len, &out), IDL_OK);
    assert_int_equal(out.len, der(C_RSA)->len);
    assert_memory_equal(out.data, der(C_RSA)->data, out.len);
    free(out.data);
    /* Neither PEM nor DER. */
    static const char garbage[] = "this is not a certificate";
    static const char bad_pem[] =
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(cert_to_der((const uint8_t *)garbage, strlen(garbage), &out), IDL_ERR_INVALID);
    assert_null(out.data);
    assert_int_equal(cert_to_der((const uint8_t *)bad_pem, strlen(bad_pem), &out), IDL_ERR_INVALID);
    assert_int_equal(cert_to_der(der(C_RSA)->data, der(C_RSA)->len / 2, &out), IDL_ERR_INVALID);
    assert_int_equal(cert_to_der(T.c[C_RSA].pem.data, 40, &out), IDL_ERR_INVALID);
}

static void
parse_refusals(void **state)
{
    (void)state;
    struct cert_info ci;
    char why[200];
    const struct idl_bytes *d = der(C_RSA);
    static const char garbage[] = "this is not a certificate";

    why[0] = '\0';
    assert_int_equal(cert_parse(&ci, (const uint8_t *)garbage, strlen(garbage), why, sizeof(why)),
                     IDL_ERR_INVALID);
    assert_has(why, "not an X.509");
    assert_null(ci.spki.data);
    assert_int_equal(cert_parse(&ci, d->data, 0, why, sizeof(why)), IDL_ERR_INVALID);
    /* Truncated anywhere. */
    const size_t cuts[] = {1, 4, 100, d->len / 2, d->len - 1};
    for (size_t i = 0; i < IDL_ARRAY_LEN(cuts); i++)
        assert_int_equal(cert_parse(&ci, d->data, cuts[i], why, sizeof(why)), IDL_ERR_INVALID);
    /* Trailing bytes: one zero byte, or a second certificate. */
    uint8_t *buf = calloc(1, CERT_DER_MAX + 2);
    assert_non_null(buf);
    memcpy(buf, d->data, d->len);
    assert_int_equal(cert_parse(&ci, buf, d->len + 1, why, sizeof(why)), IDL_ERR_INVALID);
    memcpy(buf + d->len, der(C_EC)->data, der(C_EC)->len);
    assert_int_equal(cert_parse(&ci, buf, d->len + der(C_EC)->len, why, sizeof(why)),
                     IDL_ERR_INVALID);
    /* Over 8192 bytes. */
    why[0] = '\0';
    assert_int_equal(cert_parse(&ci, buf, CERT_DER_MAX + 1, why, sizeof(why)), IDL_ERR_INVALID);
    assert_has(why, "8192");
    /* A tampered signature still parses (parsing is not verifying), a tampered tag not. */
    memcpy(buf, d->data, d->len);
    buf[d->len - 5] ^= 0x40;
    assert_int_equal(cert_parse(&ci, buf, d->len, why, sizeof(why)), IDL_OK);
    cert_info_free(&ci);
    buf[0] = 0x31;
    assert_int_equal(cert_parse(&ci, buf, d->len, why, sizeof(why)), IDL_ERR_INVALID);
    free(buf);
    /* Keys: RSA under 2048 bits, EC off the listed curves. */
    why[0] = '\0';
    assert_int_equal(cert_parse(&ci, der(C_R1024)->data, der(C_R1024)->len, why, sizeof(why)),
                     IDL_ERR_INVALID);
    assert_has(why, "2048");
    assert_null(ci.spki.data);
    why[0] = '\0';
    assert_int_equal(cert_parse(&ci, der(C_K1)->data, der(C_K1)->len, why, sizeof(why)),
                     IDL_ERR_INVALID);
    assert_has(why, "P-256");
    /* Reasons never carry the subject. */
    assert_lacks(why, "k1");
    /* NULL why is allowed. */
    assert_int_equal(cert_parse(&ci, der(C_R1024)->data, der(C_R1024)->len, NULL, 0),
                     IDL_ERR_INVALID);
}

/* ---- cert_signed_by ---- */

static bool
signed_by(int leaf, int ca)
{
    return cert_signed_by(der(leaf)->data, der(leaf)->len, der(ca)->data, der(ca)->len);
}

static void
signed_by_cases(void **state)
{
    (void)state;
    assert_true(signed_by(C_RSA, C_RSACA));
    assert_true(signed_by(C_EC, C_RSACA));
    assert_true(signed_by(C_P384, C_RSACA));
    assert_true(signed_by(C_EXPIRED, C_RSACA)); /* a signature, not a validity check */
    assert_true(signed_by(C_OTHER, C_IMPCA));
    assert_true(signed_by(C_RSACA, C_RSACA)); /* self-signed */
    /* The impostor has the RSA CA's name: only the signature tells them apart. */
    assert_string_equal(T.c[C_OTHER].issuer, T.c[C_RSA].issuer);
    assert_false(signed_by(C_RSA, C_IMPCA));
    assert_false(signed_by(C_OTHER, C_RSACA));
    assert_false(signed_by(C_RSA, C_SM2CA));
    assert_false(signed_by(C_SM2, C_RSACA));
    assert_false(signed_by(C_RSA, C_EC)); /* a leaf is no CA */
    assert_false(signed_by(C_RSACA, C_RSA));
    /* Damaged inputs. */
    const struct idl_bytes *d = der(C_RSA);
    assert_false(cert_signed_by(d->data, d->len - 1, der(C_RSACA)->data, der(C_RSACA)->len));
    assert_false(cert_signed_by(d->data, d->len, der(C_RSACA)->data, 10));
    uint8_t *copy = malloc(d->len);
    assert_non_null(copy);
    memcpy(copy, d->data, d->len);
    copy[d->len - 5] ^= 0x01; /* inside the signature */
    assert_false(cert_signed_by(copy, d->len, der(C_RSACA)->data, der(C_RSACA)->len));
    free(copy);
}

/*
 * The SM2 leaf was signed with the standard distinguishing ID. OpenSSL 3.0 verifies with
 * its default (empty) ID unless told otherwise: X509_verify fails then, and succeeds only
 * once the ID is set. cert_signed_by sets it, so it is true.
 */
static void
sm2_distinguishing_id_matters(void **state)
{
    (void)state;
    assert_true(signed_by(C_SM2, C_SM2CA));

    const unsigned char *p = der(C_SM2CA)->data;
    X509 *ca = d2i_X509(NULL, &p, (long)der(C_SM2CA)->len);
    assert_non_null(ca);
    EVP_PKEY *k = X509_get0_pubkey(ca);
    assert_non_null(k);
    assert_true(EVP_PKEY_is_a(k, "SM2"));

    static const char *const ids[] = {NULL, "1234567812345678", "1234567812345679"};
    static const int want[] = {0, 1, 0};
    for (size_t i = 0; i < IDL_ARRAY_LEN(ids); i++) {
        p = der(C_SM2)->data;
        X509 *x = d2i_X509(NULL, &p, (long)der(C_SM2)->len);
        assert_non_null(x);
        if (ids[i]) {
            ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
            assert_non_null(id);
            assert_int_equal(
                ASN1_OCTET_STRING_set(id, (const unsigned char *)ids[i], (int)strlen(ids[i])), 1);
            X509_set0_distinguishing_id(x, id);
        }
        int ok = X509_verify(x, k) == 1;
        if (ok != want[i])
            fail_msg("X509_verify with ID %s: %d, want %d", ids[i] ? ids[i] : "(none)", ok,
                     want[i]);
        X509_free(x);
    }
    ERR_clear_error();
    X509_free(ca);
}

/* ---- cert_verify ---- */

static idl_err
verify_with(int c, const struct idl_bytes *msg, bool digest, const struct idl_bytes *sig)
{
    struct cert_info ci;
    parse_ok(c, &ci);
    idl_err rc =
        cert_verify(ci.spki.data, ci.spki.len, msg->data, msg->len, digest, sig->data, sig->len);
    cert_info_free(&ci);
    return rc;
}

static void
verify_messages(void **state)
{
    (void)state;
    assert_int_equal(verify_with(C_RSA, &T.msg, false, &T.sig_rsa), IDL_OK);
    assert_int_equal(verify_with(C_EC, &T.msg, false, &T.sig_ec), IDL_OK);
    assert_int_equal(verify_with(C_SM2, &T.msg, false, &T.sig_sm2), IDL_OK);
    assert_int_equal(verify_with(C_U1, &T.msg, false, &T.sig_u1), IDL_OK);
}

static void
verify_refusals(void **state)
{
    (void)state;
    /* Another key: the impostor's RSA key, another EC key, another kind of key. */
    assert_int_equal(verify_with(C_RSA, &T.msg, false, &T.sig_imp), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_EC, &T.msg, false, &T.sig_u1), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_SM2, &T.msg, false, &T.sig_ec), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_EC, &T.msg, false, &T.sig_sm2), IDL_ERR_SIGNATURE);
    /* Another message. */
    assert_int_equal(verify_with(C_RSA, &T.msg2, false, &T.sig_rsa), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_EC, &T.msg2, false, &T.sig_ec), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_SM2, &T.msg2, false, &T.sig_sm2), IDL_ERR_SIGNATURE);
    /* An SM2 signature made with OpenSSL's default ID, not the standard one. */
    assert_int_equal(verify_with(C_SM2, &T.msg, false, &T.sig_sm2_noid), IDL_ERR_SIGNATURE);
    /* A flipped byte, at the start, the middle and the end of each signature. */
    const struct idl_bytes *sigs[] = {&T.sig_rsa, &T.sig_ec, &T.sig_sm2};
    const int certs[] = {C_RSA, C_EC, C_SM2};
    for (size_t i = 0; i < IDL_ARRAY_LEN(sigs); i++) {
        const size_t at[] = {0, sigs[i]->len / 2, sigs[i]->len - 1};
        for (size_t j = 0; j < IDL_ARRAY_LEN(at); j++) {
            struct idl_bytes s = {malloc(sigs[i]->len), sigs[i]->len};
            assert_non_null(s.data);
            memcpy(s.data, sigs[i]->data, s.len);
            s.data[at[j]] ^= 0x01;
            if (verify_with(certs[i], &T.msg, false, &s) != IDL_ERR_SIGNATURE)
                fail_msg("%s: signature with byte %zu flipped verifies", cert_file[certs[i]],
                         at[j]);
            free(s.data);
        }
        struct idl_bytes shorter = {sigs[i]->data, sigs[i]->len - 1};
        assert_int_equal(verify_with(certs[i], &T.msg, false, &shorter), IDL_ERR_SIGNATURE);
    }
    /* A key that is not a SubjectPublicKeyInfo. */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(cert_verify(junk, sizeof(junk), T.msg.data, T.msg.len, false, T.sig_rsa.data,
                                 T.sig_rsa.len),
                     IDL_ERR_INVALID);
}

/* e = SM3(Z | M), Z = SM3(ENTL | ID | a | b | xG | yG | xA | yA) (GM/T 0003.2). */
static void
sm2_e(const uint8_t *spki, size_t spki_len, const struct idl_bytes *msg, uint8_t e[32])
{
    static const char *const curve_hex[] = {
        "fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc", /* a */
        "28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93", /* b */
        "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7", /* xG */
        "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0", /* yG */
    };
    uint8_t buf[2 + 16 + 6 * 32];
    size_t n = 0;
    buf[n++] = 0x00;
    buf[n++] = 0x80; /* ENTL: 128 bits */
    memcpy(buf + n, CERT_SM2_ID, 16);
    n += 16;
    for (size_t i = 0; i < 4; i++, n += 32)
        assert_int_equal(codec_hex_decode(buf + n, 32, curve_hex[i]), IDL_OK);
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    assert_non_null(pk);
    uint8_t pub[65];
    size_t pub_len = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(pk, "pub", pub, sizeof(pub), &pub_len), 1);
    EVP_PKEY_free(pk);
    assert_int_equal(pub_len, 65);
    assert_int_equal(pub[0], 0x04);
    memcpy(buf + n, pub + 1, 64);
    n += 64;
    uint8_t zm[32 + 256];
    unsigned int len;
    assert_int_equal(EVP_Digest(buf, n, zm, &len, EVP_sm3(), NULL), 1);
    assert_true(msg->len <= 256);
    memcpy(zm + 32, msg->data, msg->len);
    assert_int_equal(EVP_Digest(zm, 32 + msg->len, e, &len, EVP_sm3(), NULL), 1);
}

static void
verify_digest_mode(void **state)
{
    (void)state;
    uint8_t d1[HASH_BYTES], d2[HASH_BYTES];
    hash_sha256(d1, T.msg.data, T.msg.len);
    hash_sha256(d2, T.msg2.data, T.msg2.len);
    struct idl_bytes dig = {d1, HASH_BYTES}, dig2 = {d2, HASH_BYTES};
    assert_int_equal(verify_with(C_RSA, &dig, true, &T.sig_rsa), IDL_OK);
    assert_int_equal(verify_with(C_EC, &dig, true, &T.sig_ec), IDL_OK);
    assert_int_equal(verify_with(C_RSA, &dig2, true, &T.sig_rsa), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_EC, &dig2, true, &T.sig_ec), IDL_ERR_SIGNATURE);
    assert_int_equal(verify_with(C_RSA, &dig, true, &T.sig_imp), IDL_ERR_SIGNATURE);
    /* The message itself is not its digest (nor 32 bytes long: refused as such). */
    assert_int_equal(verify_with(C_RSA, &T.msg, true, &T.sig_rsa), IDL_ERR_INVALID);
    assert_int_equal(verify_with(C_EC, &T.msg, true, &T.sig_ec), IDL_ERR_INVALID);

    /* SM2: the caller's e = SM3(Z | M), Z with the standard ID. */
    struct cert_info ci;
    parse_ok(C_SM2, &ci);
    uint8_t e[32];
    sm2_e(ci.spki.data, ci.spki.len, &T.msg, e);
    assert_int_equal(
        cert_verify(ci.spki.data, ci.spki.len, e, 32, true, T.sig_sm2.data, T.sig_sm2.len), IDL_OK);
    e[0] ^= 1;
    assert_int_equal(
        cert_verify(ci.spki.data, ci.spki.len, e, 32, true, T.sig_sm2.data, T.sig_sm2.len),
        IDL_ERR_SIGNATURE);
    sm2_e(ci.spki.data, ci.spki.len, &T.msg2, e);
    assert_int_equal(
        cert_verify(ci.spki.data, ci.spki.len, e, 32, true, T.sig_sm2.data, T.sig_sm2.len),
        IDL_ERR_SIGNATURE);
    cert_info_free(&ci);
}

/* A digest is 32 bytes, whatever the key: shorter, longer or empty ones are refused. */
static void
digest_length_checked(void)
{
    uint8_t d[2 * HASH_BYTES];
    hash_sha256(d, T.msg.data, T.msg.len);
    memcpy(d + HASH_BYTES, d, HASH_BYTES);
    static const size_t lens[] = {0, 1, 20, 31, 33, 48, 64};
    static const int certs[] = {C_RSA, C_EC, C_P384, C_SM2};
    const struct idl_bytes *sigs[] = {&T.sig_rsa, &T.sig_ec, &T.sig_ec, &T.sig_sm2};
    for (size_t c = 0; c < IDL_ARRAY_LEN(certs); c++)
        for (size_t i = 0; i < IDL_ARRAY_LEN(lens); i++) {
            struct idl_bytes dig = {d, lens[i]};
            if (verify_with(certs[c], &dig, true, sigs[c]) != IDL_ERR_INVALID)
                fail_msg("%s: a %zu-byte digest is not refused", cert_file[certs[c]], lens[i]);
        }
    /* ECDSA took a digest with bytes after the SHA-256 (OpenSSL truncated it): no more. */
    struct idl_bytes longer = {d, 2 * HASH_BYTES};
    assert_int_equal(verify_with(C_EC, &longer, true, &T.sig_ec), IDL_ERR_INVALID);
    struct idl_bytes exact = {d, HASH_BYTES};
    assert_int_equal(verify_with(C_EC, &exact, true, &T.sig_ec), IDL_OK);
}

/* ---- cert_key_id ---- */

static void
key_id_of(int c, uint8_t out[HASH_BYTES])
{
    struct cert_info ci;
    parse_ok(c, &ci);
    assert_int_equal(cert_key_id(ci.spki.data, ci.spki.len, out), IDL_OK);
    cert_info_free(&ci);
}

static void
key_id_cases(void **state)
{
    (void)state;
    digest_length_checked();
    uint8_t ec[HASH_BYTES], same[HASH_BYTES], ecz[HASH_BYTES], other[HASH_BYTES];
    key_id_of(C_EC, ec);
    key_id_of(C_SAMEKEY, same);
    key_id_of(C_ECZ, ecz);
    assert_memory_equal(ec, same, HASH_BYTES);
    /* The compressed point is another SPKI encoding of the same key. */
    struct cert_info a, b;
    parse_ok(C_EC, &a);
    parse_ok(C_ECZ, &b);
    assert_true(a.spki.len != b.spki.len || memcmp(a.spki.data, b.spki.data, a.spki.len) != 0);
    cert_info_free(&a);
    cert_info_free(&b);
    assert_memory_equal(ec, ecz, HASH_BYTES);
    /* Every other key differs, of every kind. */
    static const int others[] = {C_RSA, C_P384, C_SM2, C_U1, C_TW, C_RSACA, C_SM2CA, C_ECCA};
    uint8_t seen[IDL_ARRAY_LEN(others)][HASH_BYTES];
    for (size_t i = 0; i < IDL_ARRAY_LEN(others); i++) {
        key_id_of(others[i], other);
        assert_memory_not_equal(other, ec, HASH_BYTES);
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(other, seen[j], HASH_BYTES);
        memcpy(seen[i], other, HASH_BYTES);
    }
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(cert_key_id(junk, sizeof(junk), other), IDL_ERR_INVALID);
    assert_true(hash_is_zero(other));
}

/* ---- cert_mask_subject ---- */

static void
mask_subject(void **state)
{
    (void)state;
    char out[CERT_DN_MAX + 1];
    struct cert_info ci;
    parse_ok(C_RSA, &ci);
    cert_mask_subject(ci.subject, out, sizeof(out));
    assert_has(out, "CN=王*");
    assert_has(out, "O=Test School");
    assert_has(out, "C=CN");
    assert_has(out, "emailAddress=w*");
    assert_lacks(out, "王芳");
    assert_lacks(out, "wangfang@example.cn");
    assert_lacks(out, "@example.cn");
    assert_lacks(out, "wangfang");
    cert_info_free(&ci);

    cert_mask_subject("CN=王芳,OU=教务处,O=广州市第一中学,L=广州,ST=广东,C=CN", out, sizeof(out));
    assert_string_equal(out, "CN=王*,OU=教务处,O=广州市第一中学,L=广州,ST=广东,C=CN");
    cert_mask_subject("serialNumber=440106199001011234,CN=欧阳娜娜,O=X", out, sizeof(out));
    assert_lacks(out, "440106199001011234");
    assert_lacks(out, "阳娜娜");
    assert_has(out, "CN=欧***");
    assert_has(out, ",O=X");
    /* An escaped comma belongs to the value. */
    cert_mask_subject("CN=Wang\\, Fang,O=X", out, sizeof(out));
    assert_lacks(out, "Fang");
    assert_has(out, "CN=W*");
    assert_has(out, ",O=X");
    /* A prefix of a kept attribute's name is no kept attribute. */
    cert_mask_subject("CNX=abcdef,OUT=secret,O=school", out, sizeof(out));
    assert_lacks(out, "abcdef");
    assert_lacks(out, "secret");
    assert_has(out, "O=school");
    /* A short buffer: truncated, terminated. */
    char small[8];
    memset(small, 'x', sizeof(small));
    cert_mask_subject("CN=王芳,O=Test School,C=CN", small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    cert_mask_subject("", out, sizeof(out));
    assert_string_equal(out, "");
}

/*
 * A multi-valued RDN ("O=...+CN=name", RFC 2253 joins its values with '+') is masked value
 * by value: the holder's name after an organisational attribute is not shown in the clear.
 */
static void
test_mask_subject_multivalued_rdn(void **state)
{
    (void)state;
    struct cert_info ci;
    parse_ok(C_MV, &ci);
    assert_string_equal(ci.subject, "O=Guangzhou Primary School+CN=王芳,C=CN");
    char out[CERT_DN_MAX + 1];
    cert_mask_subject(ci.subject, out, sizeof(out));
    cert_info_free(&ci);
    assert_lacks(out, "王芳");
    assert_has(out, "O=Guangzhou Primary School");
    assert_has(out, "CN=王*");
}

/* ---- the ledger ---- */

#define SCHOOL "4401060001"
#define SYS    "tms" /* the teacher system, with a cert-required "manager" */

/* Registers business system `code`, roles as the teacher system's, `cert_role` requiring a
 * certificate. */
static idl_err
system_add_cert(struct fx *f, const char *code, const char *cert_role)
{
    static const char *const roles[] = {"query", "manager", "training", "sysadmin", "auditor"};
    struct ledger_tx tx;
    fx_tx(f, &tx, "root-sysadmin", TX_SYSTEM_ADD);
    struct tx_system_add *b = &tx.body.system_add;
    snprintf(b->code, sizeof(b->code), "%s", code);
    snprintf(b->name, sizeof(b->name), "全国教师管理信息系统");
    struct ledger_code *r = calloc(IDL_ARRAY_LEN(roles), sizeof(*r));
    struct ledger_code *cr = calloc(1, sizeof(*cr));
    assert_non_null(r);
    assert_non_null(cr);
    for (size_t i = 0; i < IDL_ARRAY_LEN(roles); i++)
        snprintf(r[i].code, sizeof(r[i].code), "%s", roles[i]);
    snprintf(cr->code, sizeof(cr->code), "%s", cert_role);
    b->roles.items = r;
    b->roles.count = IDL_ARRAY_LEN(roles);
    b->cert_required.items = cr;
    b->cert_required.count = 1;
    return fx_submit(f, &tx);
}

/* A fresh ledger with the block clock at the wall clock (certificates are made today). */
static void
open_now(struct fx *f)
{
    fx_open(f, NULL);
    f->time_ms = (uint64_t)time(NULL) * 1000;
}

/*
 * The school ledger: the fixture tree, system "tms" with "manager" cert-required, and two
 * business accounts of the school, t-wang and t-li.
 */
static int
setup_school(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    open_now(f);
    fx_tree(f);
    FX_OK(f, system_add_cert(f, SYS, "manager"));
    FX_OK(f, fx_business_add(f, "s-sys", "t-wang", SCHOOL, 1001));
    FX_OK(f, fx_business_add(f, "s-sys", "t-li", SCHOOL, 1002));
    *state = f;
    return 0;
}

static int
teardown_fx(void **state)
{
    fx_close(*state);
    free(*state);
    return 0;
}

static void
assert_why(struct fx *f, const char *needle)
{
    if (!strstr(f->why, needle))
        fail_msg("reason \"%s\" does not mention \"%s\"", f->why, needle);
}

static idl_err
app_tx(struct fx *f, const char *actor, unsigned type, const char *account)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    snprintf(tx.body.cert_app.account, sizeof(tx.body.cert_app.account), "%s", account);
    snprintf(tx.body.cert_app.note, sizeof(tx.body.cert_app.note), "申请数字证书");
    return fx_submit(f, &tx);
}

/* A handover of medium to `to` (NULL: the applicant) for account's application. */
static idl_err
medium_to(struct fx *f, const char *actor, const char *account, const char *medium,
          const char *to)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_CERT_MEDIUM);
    snprintf(tx.body.cert_medium.account, sizeof(tx.body.cert_medium.account), "%s", account);
    snprintf(tx.body.cert_medium.medium, sizeof(tx.body.cert_medium.medium), "%s", medium);
    snprintf(tx.body.cert_medium.to, sizeof(tx.body.cert_medium.to), "%s", to ? to : "");
    return fx_submit(f, &tx);
}

static idl_err
medium_tx(struct fx *f, const char *actor, const char *account, const char *medium)
{
    return medium_to(f, actor, account, medium, NULL);
}

static idl_err
medium_return(struct fx *f, const char *actor, const char *account, const char *medium)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_CERT_MEDIUM_RETURN);
    struct tx_cert_medium_return *b = &tx.body.cert_medium_return;
    snprintf(b->account, sizeof(b->account), "%s", account);
    snprintf(b->medium, sizeof(b->medium), "%s", medium);
    snprintf(b->reason, sizeof(b->reason), "介质上交");
    return fx_submit(f, &tx);
}

static void
person_of(struct fx *f, const char *id, uint8_t out[HASH_BYTES])
{
    struct state_key k;
    struct rec_account a;
    state_key_init(&k, SP_ACCOUNT);
    state_key_str(&k, id);
    assert_int_equal(fx_get(f, &k, &rec_account_schema, &a), IDL_OK);
    memcpy(out, a.person, HASH_BYTES);
}

/* Seals bytes as field `field` of a person, as a node does for a certificate's DER. */
static void
seal_bytes(struct fx *f, const uint8_t person[HASH_BYTES], unsigned field, const uint8_t *data,
           size_t len, struct idl_bytes *out)
{
    assert_int_equal(person_seal_bytes(f->pkeys, person, field, data, len, out), IDL_OK);
}

/*
 * Anchors certificate `c` for `account`, sealed for `seal_for`'s person as `field`, with
 * fingerprint `fp` (NULL: the certificate's own) and medium (NULL: none).
 */
static idl_err
anchor_full(struct fx *f, const char *actor, const char *account, int c, const char *seal_for,
            unsigned field, const uint8_t *fp, const char *medium)
{
    uint8_t person[HASH_BYTES];
    person_of(f, seal_for, person);
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_CERT_ANCHOR);
    struct tx_cert_anchor *b = &tx.body.cert_anchor;
    snprintf(b->account, sizeof(b->account), "%s", account);
    memcpy(b->fingerprint, fp ? fp : T.c[c].fp, HASH_BYTES);
    snprintf(b->medium, sizeof(b->medium), "%s", medium ? medium : "");
    seal_bytes(f, person, field, der(c)->data, der(c)->len, &b->der);
    return fx_submit(f, &tx);
}

static idl_err
anchor(struct fx *f, const char *actor, const char *account, int c)
{
    return anchor_full(f, actor, account, c, account, PF_CERTIFICATE, NULL, NULL);
}

static idl_err
cert_op(struct fx *f, const char *actor, unsigned type, int c)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, type);
    memcpy(tx.body.cert_op.fingerprint, T.c[c].fp, HASH_BYTES);
    snprintf(tx.body.cert_op.reason, sizeof(tx.body.cert_op.reason), "UKey 已交回");
    return fx_submit(f, &tx);
}

/* Apply and approve at every level of a school account: county, city, province. */
static void
school_approved(struct fx *f, const char *account)
{
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, account));
    FX_OK(f, app_tx(f, "k-sec", TX_CERT_APPROVE, account));
    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, account));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, account));
}

/* Hands a new medium (its serial from the block clock, so never reused) to account. */
static void
give_medium(struct fx *f, const char *actor, const char *account)
{
    char serial[32];
    snprintf(serial, sizeof(serial), "UK%llu", (unsigned long long)f->time_ms);
    FX_OK(f, medium_tx(f, actor, account, serial));
}

/* Approved, and a medium handed to the holder by the school's sysadmin. */
static void
school_ready(struct fx *f, const char *account)
{
    school_approved(f, account);
    give_medium(f, "s-sys", account);
}

static void
school_anchored(struct fx *f, const char *account, int c)
{
    school_ready(f, account);
    FX_OK(f, anchor(f, "s-sys", account, c));
}

static idl_err
get_app(struct fx *f, const char *account, struct rec_cert_app *app)
{
    struct state_key k;
    state_key_init(&k, SP_CERT_APP);
    state_key_str(&k, account);
    return fx_get(f, &k, &rec_cert_app_schema, app);
}

static void
get_cert(struct fx *f, int c, struct rec_cert *rc)
{
    struct state_key k;
    state_key_init(&k, SP_CERT);
    state_key_raw(&k, T.c[c].fp, HASH_BYTES);
    assert_int_equal(fx_get(f, &k, &rec_cert_schema, rc), IDL_OK);
}

static unsigned
cert_status(struct fx *f, int c)
{
    struct rec_cert rc;
    get_cert(f, c, &rc);
    unsigned s = rc.status;
    schema_free(&rec_cert_schema, &rc);
    return s;
}

static bool
cert_anchored(struct fx *f, int c)
{
    struct state_key k;
    struct rec_cert rc;
    state_key_init(&k, SP_CERT);
    state_key_raw(&k, T.c[c].fp, HASH_BYTES);
    if (fx_get(f, &k, &rec_cert_schema, &rc) != IDL_OK)
        return false;
    schema_free(&rec_cert_schema, &rc);
    return true;
}

struct events {
    struct rec_cert_event *out;
    size_t n, max;
};

static int
collect_event(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl;
    struct events *e = arg;
    if (e->n < e->max)
        assert_int_equal(schema_decode_bytes(&rec_cert_event_schema, &e->out[e->n], v, vl),
                         IDL_OK);
    e->n++;
    return 0;
}

/* The events (history) of certificate c, oldest first: how many, the first max in out. */
static size_t
cert_events(struct fx *f, int c, struct rec_cert_event *out, size_t max)
{
    struct state_key k;
    state_key_init(&k, SP_CERT_EVENT);
    state_key_raw(&k, T.c[c].fp, HASH_BYTES);
    struct events e = {out, 0, max};
    assert_int_equal(query_scan(ledger_store(f->ledger), &k, NULL, 0, collect_event, &e), IDL_OK);
    return e.n;
}

static uint64_t
now_s(struct fx *f)
{
    return f->time_ms / 1000;
}

/* query_verify of account for SYS/role at now; the reason goes to reason. */
static bool
verify_at(struct fx *f, const char *account, const char *role, uint64_t at_s, char *reason)
{
    struct state *st;
    struct query_verdict v;
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    assert_int_equal(query_verify(st, account, SYS, role, NULL, at_s, &v), IDL_OK);
    state_free(st);
    snprintf(reason, QUERY_REASON_MAX, "%s", v.reason);
    return v.allowed;
}

static void
expect_verify(struct fx *f, const char *account, const char *role, uint64_t at_s, bool allowed,
              const char *needle)
{
    char reason[QUERY_REASON_MAX];
    bool got = verify_at(f, account, role, at_s, reason);
    if (got != allowed || (needle && !strstr(reason, needle)))
        fail_msg("verify %s %s at %llu: %s (\"%s\"), want %s with \"%s\"", account, role,
                 (unsigned long long)at_s, got ? "allowed" : "refused", reason,
                 allowed ? "allowed" : "refused", needle ? needle : "");
}

/* person_seal_bytes seals a DER (binary, over 256 bytes) that person_open opens. */
static void
sealing_a_der(void **state)
{
    struct fx *f = *state;
    uint8_t person[HASH_BYTES], other[HASH_BYTES];
    person_of(f, "t-wang", person);
    person_of(f, "t-li", other);
    const struct idl_bytes *d = der(C_RSA);
    assert_true(d->len > LEDGER_PERSON_TEXT_MAX);
    assert_true(memchr(d->data, 0, d->len) != NULL); /* not text */
    struct idl_bytes sealed;
    seal_bytes(f, person, PF_CERTIFICATE, d->data, d->len, &sealed);
    assert_int_equal(sealed.len, d->len + LEDGER_SEAL_OVERHEAD);
    assert_false(contains(sealed.data, sealed.len, "王芳", strlen("王芳")));
    char *out = malloc(sealed.len);
    assert_non_null(out);
    assert_int_equal(
        person_open(f->pkeys, person, PF_CERTIFICATE, sealed.data, sealed.len, out, sealed.len),
        IDL_OK);
    assert_memory_equal(out, d->data, d->len);
    assert_int_equal(
        person_open(f->pkeys, person, PF_NAME, sealed.data, sealed.len, out, sealed.len),
        IDL_ERR_CRYPTO);
    assert_int_equal(
        person_open(f->pkeys, other, PF_CERTIFICATE, sealed.data, sealed.len, out, sealed.len),
        IDL_ERR_CRYPTO);
    free(out);
    free(sealed.data);
    uint8_t *big = calloc(1, CERT_DER_MAX + 1);
    assert_non_null(big);
    assert_int_equal(
        person_seal_bytes(f->pkeys, person, PF_CERTIFICATE, big, CERT_DER_MAX + 1, &sealed),
        IDL_ERR_TOO_LARGE);
    assert_null(sealed.data);
    free(big);
}

static void
apply_actors(void **state)
{
    struct fx *f = *state;
    struct rec_cert_app app;
    FX_EXPECT(f, app_tx(f, "o-sys", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED); /* other city */
    FX_EXPECT(f, app_tx(f, "s-sec", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED);
    assert_why(f, "only the sysadmin of " SCHOOL);
    FX_EXPECT(f, app_tx(f, "s-aud", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED);
    assert_why(f, "auditor");
    FX_EXPECT(f, app_tx(f, "k-sys", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED); /* parent's */
    FX_EXPECT(f, app_tx(f, "c-sys", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "root-sysadmin", TX_CERT_APPLY, "t-wang"), IDL_ERR_DENIED);
    assert_int_equal(get_app(f, "t-wang", &app), IDL_ERR_NOT_FOUND);
    FX_EXPECT(f, app_tx(f, "s-sys", TX_CERT_APPLY, "nobody"), IDL_ERR_NOT_FOUND);

    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"));
    assert_int_equal(get_app(f, "t-wang", &app), IDL_OK);
    assert_int_equal(app.status, APP_APPLIED);
    assert_int_equal(app.approvals.count, 0);
    assert_string_equal(app.note, "申请数字证书");
    assert_true(app.applied_height > 0);
    schema_free(&rec_cert_app_schema, &app);
    FX_EXPECT(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"), IDL_ERR_EXISTS);

    /* A disabled account applies for nothing. */
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-li"));
    FX_EXPECT(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-li"), IDL_ERR_STATE);
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t-li"));
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-li"));
}

static void
assert_approvals(struct fx *f, const char *account, unsigned status, size_t n,
                 const char *const *codes)
{
    struct rec_cert_app app;
    assert_int_equal(get_app(f, account, &app), IDL_OK);
    assert_int_equal(app.status, status);
    assert_int_equal(app.approvals.count, n);
    const struct ledger_code *c = app.approvals.items;
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c[i].code, codes[i]);
    schema_free(&rec_cert_app_schema, &app);
}

static void
approve_in_order(void **state)
{
    struct fx *f = *state;
    static const char *const chain[] = {"440106", "440100", FX_ROOT};
    FX_EXPECT(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"), IDL_ERR_STATE); /* no application */
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"));
    /* The county comes first: not the city, not the province, not the school itself. */
    FX_EXPECT(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    assert_why(f, "only the secadmin of 440106");
    FX_EXPECT(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "s-sec", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "s-sys", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    /* The county's secadmin, not its sysadmin or auditor; not another city's. */
    FX_EXPECT(f, app_tx(f, "k-sys", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "k-aud", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "o-sec", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    assert_approvals(f, "t-wang", APP_APPLIED, 0, chain);

    FX_OK(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"));
    assert_approvals(f, "t-wang", APP_APPLIED, 1, chain);
    FX_EXPECT(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED); /* again */
    FX_EXPECT(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    FX_EXPECT(f, app_tx(f, "c-sys", TX_CERT_APPROVE, "t-wang"), IDL_ERR_DENIED);
    /* Anchoring waits for the province. */
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);

    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "t-wang"));
    assert_approvals(f, "t-wang", APP_APPLIED, 2, chain);
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"));
    assert_approvals(f, "t-wang", APP_APPROVED, 3, chain);
    FX_EXPECT(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"), IDL_ERR_STATE);

    /* A county's own account: the city, then the province. */
    static const char *const county_chain[] = {"440100", FX_ROOT};
    FX_OK(f, fx_business_add(f, "k-sys", "k-teacher", "440106", 1003));
    FX_OK(f, app_tx(f, "k-sys", TX_CERT_APPLY, "k-teacher"));
    FX_EXPECT(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "k-teacher"), IDL_ERR_DENIED);
    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "k-teacher"));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "k-teacher"));
    assert_approvals(f, "k-teacher", APP_APPROVED, 2, county_chain);

    /* The province's own account: the province alone. */
    static const char *const root_chain[] = {FX_ROOT};
    FX_OK(f, fx_business_add(f, "root-sysadmin", "p-teacher", FX_ROOT, 1004));
    FX_OK(f, app_tx(f, "root-sysadmin", TX_CERT_APPLY, "p-teacher"));
    FX_EXPECT(f, app_tx(f, "root-sysadmin", TX_CERT_APPROVE, "p-teacher"), IDL_ERR_DENIED);
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "p-teacher"));
    assert_approvals(f, "p-teacher", APP_APPROVED, 1, root_chain);
}

/* Whether any key or value of the store holds `needle`. */
static bool
store_contains(struct fx *f, const void *needle, size_t n)
{
    struct store *s = ledger_store(f->ledger);
    struct store_iter *it = store_iter_new(s);
    assert_non_null(it);
    bool found = false;
    size_t kl, vl;
    for (store_iter_seek(s, it, (const uint8_t *)"", 0); !found && store_iter_valid(s, it);
         store_iter_next(s, it)) {
        const uint8_t *k = store_iter_key(s, it, &kl), *v = store_iter_value(s, it, &vl);
        found = contains(k, kl, needle, n) || contains(v, vl, needle, n);
    }
    store_iter_free(s, it);
    return found;
}

static unsigned
cert_at(struct fx *f, int cert, uint64_t t)
{
    unsigned s = 99;
    assert_int_equal(query_cert_status_at(ledger_store(f->ledger), T.c[cert].fp, t, &s), IDL_OK);
    return s;
}

/* The distribution record of account: how many lines, the first max in out. */
struct handovers {
    struct rec_handover *out;
    size_t n, max;
};

static int
collect_handover(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl;
    struct handovers *h = arg;
    if (h->n < h->max)
        assert_int_equal(schema_decode_bytes(&rec_handover_schema, &h->out[h->n], v, vl), IDL_OK);
    h->n++;
    return 0;
}

static size_t
records_of(struct fx *f, const char *account, struct rec_handover *out, size_t max)
{
    struct state_key k;
    state_key_init(&k, SP_DISTRIBUTION);
    state_key_str(&k, account);
    struct handovers h = {out, 0, max};
    assert_int_equal(query_scan(ledger_store(f->ledger), &k, NULL, 0, collect_handover, &h),
                     IDL_OK);
    return h.n;
}

static void
get_medium(struct fx *f, const char *serial, struct rec_medium *m)
{
    struct state_key k;
    state_key_init(&k, SP_MEDIUM);
    state_key_str(&k, serial);
    assert_int_equal(fx_get(f, &k, &rec_medium_schema, m), IDL_OK);
}

static void
assert_record(const struct rec_handover *h, uint32_t number, unsigned kind, const char *medium,
              const char *by, const char *by_org, const char *to, const char *to_org)
{
    assert_int_equal(h->number, number);
    assert_int_equal(h->kind, kind);
    assert_string_equal(h->medium, medium);
    assert_string_equal(h->by, by);
    assert_string_equal(h->by_org, by_org);
    assert_string_equal(h->to, to);
    assert_string_equal(h->to_org, to_org);
    assert_true(h->height > 0 && h->time_ms > 0);
}

/* The unit's sysadmin hands a medium to its holder: the one-step record. */
static void
medium_recorded(void **state)
{
    struct fx *f = *state;
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"));
    FX_EXPECT(f, medium_tx(f, "s-sys", "t-wang", "UK-0001"), IDL_ERR_STATE); /* not approved */
    FX_OK(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"));
    school_approved(f, "t-li");

    FX_EXPECT(f, medium_tx(f, "s-sec", "t-wang", "UK-0001"), IDL_ERR_DENIED);
    FX_EXPECT(f, medium_tx(f, "s-aud", "t-wang", "UK-0001"), IDL_ERR_DENIED);
    FX_EXPECT(f, medium_tx(f, "o-sys", "t-wang", "UK-0001"), IDL_ERR_DENIED);
    assert_why(f, "not on the way down");
    /* The county is on the way, but does not manage the school's accounts. */
    FX_EXPECT(f, medium_tx(f, "k-sys", "t-wang", "UK-0001"), IDL_ERR_DENIED);
    FX_OK(f, medium_tx(f, "s-sys", "t-wang", "UK-0001"));
    uint64_t handed = f->time_ms;
    struct rec_cert_app app;
    assert_int_equal(get_app(f, "t-wang", &app), IDL_OK);
    assert_string_equal(app.medium, "UK-0001");
    assert_int_equal(app.medium_time_ms, handed);
    assert_int_equal(app.records, 1);
    schema_free(&rec_cert_app_schema, &app);
    struct rec_handover h[4];
    assert_int_equal(records_of(f, "t-wang", h, 4), 1);
    assert_record(&h[0], 1, HANDOVER_GIVEN, "UK-0001", "s-sys", SCHOOL, "t-wang", SCHOOL);
    assert_int_equal(h[0].time_ms, handed);
    struct rec_medium m;
    get_medium(f, "UK-0001", &m);
    assert_int_equal(m.status, MEDIUM_HANDED);
    assert_string_equal(m.account, "t-wang");
    assert_string_equal(m.holder, "t-wang");
    /* One medium, one holder; one medium per application. */
    FX_EXPECT(f, medium_tx(f, "s-sys", "t-li", "UK-0001"), IDL_ERR_EXISTS);
    assert_why(f, "another account");
    FX_EXPECT(f, medium_tx(f, "s-sys", "t-wang", "UK-0001"), IDL_ERR_EXISTS);
    FX_EXPECT(f, medium_tx(f, "s-sys", "t-wang", "UK-0009"), IDL_ERR_EXISTS);
    assert_why(f, "one medium per application");
    FX_OK(f, medium_tx(f, "s-sys", "t-li", "UK-0002"));
    assert_int_equal(get_app(f, "t-li", &app), IDL_OK);
    assert_string_equal(app.medium, "UK-0002");
    schema_free(&rec_cert_app_schema, &app);

    FX_OK(f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, NULL, NULL));
    FX_OK(f, anchor_full(f, "s-sys", "t-li", C_EC, "t-li", PF_CERTIFICATE, NULL, "UK-0002"));
    struct rec_cert c;
    get_cert(f, C_RSA, &c);
    assert_string_equal(c.medium, "UK-0001");
    schema_free(&rec_cert_schema, &c);
    get_cert(f, C_EC, &c);
    assert_string_equal(c.medium, "UK-0002");
    schema_free(&rec_cert_schema, &c);
    get_medium(f, "UK-0002", &m);
    assert_int_equal(m.status, MEDIUM_IN_USE);
    assert_memory_equal(m.fingerprint, T.c[C_EC].fp, HASH_BYTES);
}

/*
 * The audit's finding: anchoring took any medium, or none. A certificate goes only on the
 * medium handed to its holder: no anchor before a medium, none naming another holder's.
 */
static void
medium_must_be_the_holders(void **state)
{
    struct fx *f = *state;
    school_approved(f, "t-wang");
    school_approved(f, "t-li");
    /* No medium handed yet: no anchoring, with or without a medium named. */
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);
    assert_why(f, "no medium has been handed to t-wang");
    FX_OK(f, medium_tx(f, "s-sys", "t-li", "UK-LI"));
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, NULL, "UK-LI"),
              IDL_ERR_EXISTS);
    assert_why(f, "medium UK-LI was handed to another account (t-li)");
    FX_OK(f, medium_tx(f, "s-sys", "t-wang", "UK-WANG"));
    /* t-li's medium on t-wang's certificate, and the other way round. */
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, NULL, "UK-LI"),
              IDL_ERR_INVALID);
    assert_why(f, "t-wang was handed medium UK-WANG, not UK-LI");
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-li", C_EC, "t-li", PF_CERTIFICATE, NULL, "UK-WANG"),
              IDL_ERR_INVALID);
    /* A medium never handed out. */
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-li", C_EC, "t-li", PF_CERTIFICATE, NULL, "UK-NONE"),
              IDL_ERR_INVALID);
    assert_false(cert_anchored(f, C_RSA));
    assert_false(cert_anchored(f, C_EC));
    FX_OK(f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, NULL, "UK-WANG"));
    FX_OK(f, anchor(f, "s-sys", "t-li", C_EC)); /* the medium named or not: the holder's */
    struct rec_cert c;
    get_cert(f, C_EC, &c);
    assert_string_equal(c.medium, "UK-LI");
    schema_free(&rec_cert_schema, &c);

    /* In one step (the contract's `cert anchor --medium`): a medium new to the ledger,
     * named at anchoring, is handed to the holder first, by its manager, on the record. */
    FX_OK(f, fx_business_add(f, "s-sys", "t-zhao", SCHOOL, 1003));
    school_approved(f, "t-zhao");
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-zhao", C_U1, "t-zhao", PF_CERTIFICATE, NULL, "UK-LI"),
              IDL_ERR_EXISTS); /* not someone else's */
    FX_EXPECT(f, anchor_full(f, "k-sys", "t-zhao", C_U1, "t-zhao", PF_CERTIFICATE, NULL, "UK-ZHAO"),
              IDL_ERR_DENIED);
    FX_OK(f, anchor_full(f, "s-sys", "t-zhao", C_U1, "t-zhao", PF_CERTIFICATE, NULL, "UK-ZHAO"));
    get_cert(f, C_U1, &c);
    assert_string_equal(c.medium, "UK-ZHAO");
    schema_free(&rec_cert_schema, &c);
    struct rec_handover h[2];
    assert_int_equal(records_of(f, "t-zhao", h, 2), 1);
    assert_record(&h[0], 1, HANDOVER_GIVEN, "UK-ZHAO", "s-sys", SCHOOL, "t-zhao", SCHOOL);
    struct rec_medium m;
    get_medium(f, "UK-ZHAO", &m);
    assert_int_equal(m.status, MEDIUM_IN_USE);
    /* A refused one-step anchoring hands nothing over. */
    FX_OK(f, fx_business_add(f, "s-sys", "t-qian", SCHOOL, 1004));
    school_approved(f, "t-qian");
    FX_EXPECT(f, anchor_full(f, "s-sys", "t-qian", C_EXPIRED, "t-qian", PF_CERTIFICATE, NULL,
                             "UK-QIAN"),
              IDL_ERR_POLICY);
    assert_int_equal(records_of(f, "t-qian", h, 2), 0);
    struct state_key k;
    state_key_init(&k, SP_MEDIUM);
    state_key_str(&k, "UK-QIAN");
    assert_int_equal(fx_get(f, &k, &rec_medium_schema, &m), IDL_ERR_NOT_FOUND);
}

/*
 * Level by level (逐级派发): the province hands a medium to the city, the city to the
 * county, the county to the school, the school's sysadmin to the holder; each step is a
 * line of the record, and only the unit holding the medium hands it on.
 */
static void
medium_down_the_levels(void **state)
{
    struct fx *f = *state;
    const char *uk = "UK2026000777";
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"));
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "c-sec"), IDL_ERR_STATE);
    FX_OK(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"));

    /* Down one level at a time, towards the holder's unit, by a sysadmin. */
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "k-sec"), IDL_ERR_DENIED);
    assert_why(f, "one level at a time");
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "o-sec"), IDL_ERR_DENIED);
    assert_why(f, "not on the way down");
    FX_EXPECT(f, medium_to(f, "root-secadmin", "t-wang", uk, "c-sec"), IDL_ERR_DENIED);
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "t-li"), IDL_ERR_STATE);
    assert_why(f, "not an active management account");
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "nobody"), IDL_ERR_NOT_FOUND);
    FX_OK(f, medium_to(f, "root-sysadmin", "t-wang", uk, "c-sec"));
    struct rec_medium m;
    get_medium(f, uk, &m);
    assert_int_equal(m.status, MEDIUM_IN_TRANSIT);
    assert_string_equal(m.holder, "c-sec");
    assert_string_equal(m.holder_org, "440100");
    /* Not anchorable on the way. */
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);
    /* The province gave it away: only the city's sysadmin hands it on now. */
    FX_EXPECT(f, medium_to(f, "root-sysadmin", "t-wang", uk, "c-sys"), IDL_ERR_DENIED);
    FX_EXPECT(f, medium_to(f, "c-sec", "t-wang", uk, "k-sec"), IDL_ERR_DENIED);
    FX_EXPECT(f, medium_to(f, "s-sys", "t-wang", uk, NULL), IDL_ERR_DENIED);
    /* Nor straight to the holder: the city does not manage the school's accounts. */
    FX_EXPECT(f, medium_to(f, "c-sys", "t-wang", uk, NULL), IDL_ERR_DENIED);
    /* Nor to another applicant while on its way to t-wang. */
    school_approved(f, "t-li");
    FX_EXPECT(f, medium_to(f, "c-sys", "t-li", uk, "k-sec"), IDL_ERR_EXISTS);
    FX_OK(f, medium_to(f, "c-sys", "t-wang", uk, "k-sys"));
    FX_OK(f, medium_to(f, "k-sys", "t-wang", uk, "s-sec"));
    FX_EXPECT(f, medium_to(f, "k-sys", "t-wang", uk, NULL), IDL_ERR_DENIED);
    FX_OK(f, medium_to(f, "s-sys", "t-wang", uk, "t-wang")); /* --to the holder: the last step */
    get_medium(f, uk, &m);
    assert_int_equal(m.status, MEDIUM_HANDED);
    assert_string_equal(m.holder, "t-wang");

    struct rec_handover h[8];
    assert_int_equal(records_of(f, "t-wang", h, 8), 4);
    assert_record(&h[0], 1, HANDOVER_GIVEN, uk, "root-sysadmin", FX_ROOT, "c-sec", "440100");
    assert_record(&h[1], 2, HANDOVER_GIVEN, uk, "c-sys", "440100", "k-sys", "440106");
    assert_record(&h[2], 3, HANDOVER_GIVEN, uk, "k-sys", "440106", "s-sec", SCHOOL);
    assert_record(&h[3], 4, HANDOVER_GIVEN, uk, "s-sys", SCHOOL, "t-wang", SCHOOL);
    for (int i = 1; i < 4; i++)
        assert_true(h[i].time_ms > h[i - 1].time_ms);
    /* Refusals wrote no line; t-li has none. */
    assert_int_equal(records_of(f, "t-li", h, 8), 0);
    FX_OK(f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, NULL, uk));
    /* No personal data in the record: it names accounts; the store holds no name. */
    assert_false(store_contains(f, "王芳", strlen("王芳")));
}

/*
 * A medium comes back (DOMAIN §4: keys are handed in): unused at any time, or once its
 * certificate is revoked; then it goes to another applicant, with the lines to show it.
 */
static void
medium_returned_and_reissued(void **state)
{
    struct fx *f = *state;
    school_approved(f, "t-wang");
    school_approved(f, "t-li");
    FX_EXPECT(f, medium_return(f, "s-sys", "t-wang", "UK-A"), IDL_ERR_NOT_FOUND);
    FX_OK(f, medium_tx(f, "s-sys", "t-wang", "UK-A"));
    /* A faulty key: back unused; t-wang may be handed another. */
    FX_EXPECT(f, medium_return(f, "s-sys", "t-li", "UK-A"), IDL_ERR_STATE); /* not t-li's */
    FX_EXPECT(f, medium_return(f, "s-sec", "t-wang", "UK-A"), IDL_ERR_DENIED);
    FX_OK(f, medium_return(f, "s-sys", "t-wang", "UK-A"));
    struct rec_cert_app app;
    assert_int_equal(get_app(f, "t-wang", &app), IDL_OK);
    assert_string_equal(app.medium, "");
    schema_free(&rec_cert_app_schema, &app);
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);
    FX_EXPECT(f, medium_return(f, "s-sys", "t-wang", "UK-A"), IDL_ERR_STATE); /* twice */
    FX_OK(f, medium_tx(f, "s-sys", "t-wang", "UK-B"));
    FX_OK(f, anchor(f, "s-sys", "t-wang", C_RSA));

    /* UK-B carries an active, then frozen certificate: it stays with its holder. */
    FX_EXPECT(f, medium_return(f, "s-sys", "t-wang", "UK-B"), IDL_ERR_STATE);
    assert_why(f, "revoke it first");
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-wang")); /* the key handed in */
    FX_EXPECT(f, medium_return(f, "s-sys", "t-wang", "UK-B"), IDL_ERR_STATE);
    assert_why(f, "frozen");
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_RSA));
    FX_OK(f, medium_return(f, "s-sys", "t-wang", "UK-B")); /* a disabled holder's key too */
    struct rec_medium m;
    get_medium(f, "UK-B", &m);
    assert_int_equal(m.status, MEDIUM_RETURNED);
    assert_string_equal(m.holder, "s-sys");
    assert_string_equal(m.account, "");
    /* The returned blank key goes to t-li, by the unit that took it back, and carries
     * t-li's certificate; the revoked one stays revoked and t-wang's. */
    FX_EXPECT(f, medium_tx(f, "k-sys", "t-li", "UK-B"), IDL_ERR_DENIED);
    FX_OK(f, medium_tx(f, "s-sys", "t-li", "UK-B"));
    FX_OK(f, anchor(f, "s-sys", "t-li", C_EC));
    assert_int_equal(cert_status(f, C_RSA), CERT_REVOKED);

    struct rec_handover h[8];
    assert_int_equal(records_of(f, "t-wang", h, 8), 4);
    assert_record(&h[0], 1, HANDOVER_GIVEN, "UK-A", "s-sys", SCHOOL, "t-wang", SCHOOL);
    assert_record(&h[1], 2, HANDOVER_RETURNED, "UK-A", "s-sys", SCHOOL, "t-wang", SCHOOL);
    assert_string_equal(h[1].note, "介质上交");
    assert_record(&h[2], 3, HANDOVER_GIVEN, "UK-B", "s-sys", SCHOOL, "t-wang", SCHOOL);
    assert_record(&h[3], 4, HANDOVER_RETURNED, "UK-B", "s-sys", SCHOOL, "t-wang", SCHOOL);
    assert_int_equal(records_of(f, "t-li", h, 8), 1);
    assert_record(&h[0], 1, HANDOVER_GIVEN, "UK-B", "s-sys", SCHOOL, "t-li", SCHOOL);

    /* A new application of t-wang numbers its records on. */
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t-wang"));
    school_approved(f, "t-wang");
    FX_OK(f, medium_tx(f, "s-sys", "t-wang", "UK-C"));
    assert_int_equal(records_of(f, "t-wang", h, 8), 5);
    assert_int_equal(h[4].number, 5);
    assert_true(h[4].applied_height > h[0].applied_height);
}

static void
anchor_rules(void **state)
{
    struct fx *f = *state;
    school_ready(f, "t-wang");
    school_ready(f, "t-li");

    FX_EXPECT(f, anchor(f, "s-sec", "t-wang", C_RSA), IDL_ERR_DENIED);
    FX_EXPECT(f, anchor(f, "s-aud", "t-wang", C_RSA), IDL_ERR_DENIED);
    FX_EXPECT(f, anchor(f, "o-sys", "t-wang", C_RSA), IDL_ERR_DENIED);
    FX_EXPECT(f, anchor(f, "k-sys", "t-wang", C_RSA), IDL_ERR_DENIED);
    /* The fingerprint names another certificate. */
    FX_EXPECT(
        f, anchor_full(f, "s-sys", "t-wang", C_RSA, "t-wang", PF_CERTIFICATE, T.c[C_EC].fp, NULL),
        IDL_ERR_INVALID);
    assert_why(f, "fingerprint");
    /*
     * A DER sealed for another person, as another field, or not sealed at all is refused
     * too: test_anchor_bad_seal, in a child process (see there).
     */
    /* Certificates the ledger does not take. */
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_EXPIRED), IDL_ERR_POLICY);
    assert_why(f, "expired");
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_FUTURE), IDL_ERR_POLICY);
    assert_why(f, "not valid yet");
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_R1024), IDL_ERR_INVALID);
    assert_why(f, "2048");
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_K1), IDL_ERR_INVALID);
    /* None of that changed anything. */
    struct rec_cert_app app;
    assert_int_equal(get_app(f, "t-wang", &app), IDL_OK);
    assert_int_equal(app.status, APP_APPROVED);
    schema_free(&rec_cert_app_schema, &app);
    assert_false(cert_anchored(f, C_RSA));
    assert_false(cert_anchored(f, C_EXPIRED));

    FX_OK(f, anchor(f, "s-sys", "t-wang", C_RSA));
    uint64_t anchored_ms = f->time_ms;
    /* Twice: the account's application is used up, and the certificate is taken. */
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_RSA), IDL_ERR_STATE);
    FX_EXPECT(f, anchor(f, "s-sys", "t-li", C_RSA), IDL_ERR_EXISTS);
    assert_why(f, "already anchored");

    struct rec_cert c;
    get_cert(f, C_RSA, &c);
    assert_memory_equal(c.fingerprint, T.c[C_RSA].fp, HASH_BYTES);
    assert_string_equal(c.account, "t-wang");
    assert_string_equal(c.serial, "1a2b3c4d5e");
    assert_string_equal(c.issuer, T.c[C_RSA].issuer);
    assert_int_equal(c.not_before, T.c[C_RSA].nb);
    assert_int_equal(c.not_after, T.c[C_RSA].na);
    assert_int_equal(c.status, CERT_ACTIVE);
    assert_int_equal(c.key, CERT_KEY_RSA);
    assert_true(c.anchored_height > 0);
    assert_int_equal(c.events, 1);
    struct rec_cert_event h[4];
    assert_int_equal(cert_events(f, C_RSA, h, 4), 1);
    assert_int_equal(h[0].status, CERT_ACTIVE);
    assert_int_equal(h[0].time_ms, anchored_ms);
    assert_int_equal(h[0].height, c.anchored_height);
    assert_string_equal(h[0].actor, "s-sys");
    struct cert_info ci;
    parse_ok(C_RSA, &ci);
    assert_int_equal(c.spki.len, ci.spki.len);
    assert_memory_equal(c.spki.data, ci.spki.data, ci.spki.len);
    cert_info_free(&ci);
    /* The DER is kept sealed: no name, no e-mail, no DER in the clear; the chain opens it. */
    assert_int_equal(c.der.len, der(C_RSA)->len + LEDGER_SEAL_OVERHEAD);
    assert_false(contains(c.der.data, c.der.len, "王芳", strlen("王芳")));
    assert_false(contains(c.der.data, c.der.len, "wangfang", 8));
    assert_false(contains(c.der.data, c.der.len, der(C_RSA)->data, 64));
    assert_true(contains(der(C_RSA)->data, der(C_RSA)->len, "王芳", strlen("王芳")));
    uint8_t person[HASH_BYTES];
    person_of(f, "t-wang", person);
    char *opened = malloc(c.der.len);
    assert_non_null(opened);
    assert_int_equal(
        person_open(f->pkeys, person, PF_CERTIFICATE, c.der.data, c.der.len, opened, c.der.len),
        IDL_OK);
    assert_memory_equal(opened, der(C_RSA)->data, der(C_RSA)->len);
    free(opened);
    schema_free(&rec_cert_schema, &c);
    assert_int_equal(get_app(f, "t-wang", &app), IDL_OK);
    assert_int_equal(app.status, APP_ANCHORED);
    schema_free(&rec_cert_app_schema, &app);
    /* The certificates of t-wang list it. */
    struct state_key k;
    struct rec_fingerprints fps;
    state_key_init(&k, SP_CERTS_OF);
    state_key_str(&k, "t-wang");
    assert_int_equal(fx_get(f, &k, &rec_fingerprints_schema, &fps), IDL_OK);
    assert_int_equal(fps.fps.count, 1);
    assert_memory_equal(((struct rec_fingerprint *)fps.fps.items)[0].fp, T.c[C_RSA].fp, HASH_BYTES);
    schema_free(&rec_fingerprints_schema, &fps);
    /* Nowhere in the store, blocks included, are the holder's name or e-mail in the clear. */
    assert_false(store_contains(f, "王芳", strlen("王芳")));
    assert_false(store_contains(f, "wangfang", 8));
    /* This chain lists no CA: the unrelated CA's certificate is anchored too. */
    FX_OK(f, anchor(f, "s-sys", "t-li", C_OTHER));
    /* A disabled account anchors nothing. */
    FX_OK(f, app_tx(f, "s-sys", TX_CERT_APPLY, "t-wang"));
    FX_OK(f, app_tx(f, "k-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "c-sec", TX_CERT_APPROVE, "t-wang"));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "t-wang"));
    give_medium(f, "s-sys", "t-wang");
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-wang"));
    FX_EXPECT(f, anchor(f, "s-sys", "t-wang", C_EC), IDL_ERR_STATE);
}

/*
 * The twin of an ECDSA-signed certificate: the same certificate with its CA's signature
 * (r, s) replaced by (r, n - s), n the order of the CA's curve. Both verify; the DER, and
 * so the fingerprint, differ. The signed part (TBSCertificate) is untouched: OpenSSL keeps
 * its original encoding and re-encodes only the outer SEQUENCE and the signature.
 */
static struct idl_bytes
make_twin(int leaf, int ca)
{
    const unsigned char *p = der(leaf)->data;
    X509 *x = d2i_X509(NULL, &p, (long)der(leaf)->len);
    p = der(ca)->data;
    X509 *cax = d2i_X509(NULL, &p, (long)der(ca)->len);
    assert_non_null(x);
    assert_non_null(cax);
    const ASN1_BIT_STRING *psig;
    const X509_ALGOR *palg;
    X509_get0_signature(&psig, &palg, x);
    p = psig->data;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, psig->length);
    assert_non_null(sig);
    char curve[64] = "";
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_utf8_string_param(X509_get0_pubkey(cax), "group", curve,
                                                    sizeof(curve), &n),
                     1);
    EC_GROUP *group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
    assert_non_null(group);
    BIGNUM *r = BN_dup(ECDSA_SIG_get0_r(sig)), *s2 = BN_new();
    assert_non_null(r);
    assert_non_null(s2);
    assert_int_equal(BN_sub(s2, EC_GROUP_get0_order(group), ECDSA_SIG_get0_s(sig)), 1);
    ECDSA_SIG *twin = ECDSA_SIG_new();
    assert_non_null(twin);
    assert_int_equal(ECDSA_SIG_set0(twin, r, s2), 1);
    unsigned char *enc = NULL;
    int enc_len = i2d_ECDSA_SIG(twin, &enc);
    assert_true(enc_len > 0);
    ASN1_BIT_STRING *bits = (ASN1_BIT_STRING *)psig; /* a test's licence: x is ours */
    assert_int_equal(ASN1_BIT_STRING_set(bits, enc, enc_len), 1);
    bits->flags &= ~(long)0x07; /* no unused bits in the last byte */
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    unsigned char *out = NULL;
    int out_len = i2d_X509(x, &out);
    assert_true(out_len > 0);
    struct idl_bytes b = {malloc((size_t)out_len), (size_t)out_len};
    assert_non_null(b.data);
    memcpy(b.data, out, (size_t)out_len);
    OPENSSL_free(out);
    OPENSSL_free(enc);
    ECDSA_SIG_free(twin);
    ECDSA_SIG_free(sig);
    EC_GROUP_free(group);
    X509_free(cax);
    X509_free(x);
    return b;
}

/* Anchors `der` (any DER, e.g. a twin) for account, with its own fingerprint. */
static idl_err
anchor_der(struct fx *f, const char *actor, const char *account, const struct idl_bytes *d)
{
    uint8_t person[HASH_BYTES];
    person_of(f, account, person);
    struct ledger_tx tx;
    fx_tx(f, &tx, actor, TX_CERT_ANCHOR);
    struct tx_cert_anchor *b = &tx.body.cert_anchor;
    snprintf(b->account, sizeof(b->account), "%s", account);
    hash_sha256(b->fingerprint, d->data, d->len);
    seal_bytes(f, person, PF_CERTIFICATE, d->data, d->len, &b->der);
    return fx_submit(f, &tx);
}

/*
 * The audit's finding: the twin of an anchored ECDSA-issued certificate (s -> n - s) is
 * the same certificate under another fingerprint. Anchored to another account it made a
 * signature by the first holder verify as "signed by" the other, and it outlived the
 * first's revocation. The ledger refuses it, before and after the revocation, on a chain
 * that lists the CA as well as on one that lists none.
 */
static void
twin_is_refused(void **state)
{
    struct fx *f = *state;
    struct idl_bytes twin = make_twin(C_TW, C_ECCA);
    uint8_t twin_fp[HASH_BYTES];
    hash_sha256(twin_fp, twin.data, twin.len);
    /* A real twin: another fingerprint, the same facts, and its CA's signature verifies. */
    assert_memory_not_equal(twin_fp, T.c[C_TW].fp, HASH_BYTES);
    assert_true(signed_by(C_TW, C_ECCA));
    assert_true(cert_signed_by(twin.data, twin.len, der(C_ECCA)->data, der(C_ECCA)->len));
    struct cert_info a, b;
    parse_ok(C_TW, &a);
    assert_int_equal(cert_parse(&b, twin.data, twin.len, NULL, 0), IDL_OK);
    assert_string_equal(a.serial, b.serial);
    assert_string_equal(a.issuer, b.issuer);
    assert_int_equal(a.spki.len, b.spki.len);
    assert_memory_equal(a.spki.data, b.spki.data, a.spki.len);
    /* The key signs for whoever its certificate names: the twin's key is the original's. */
    assert_int_equal(cert_verify(b.spki.data, b.spki.len, T.msg.data, T.msg.len, false,
                                 T.sig_tw.data, T.sig_tw.len),
                     IDL_OK);
    cert_info_free(&a);
    cert_info_free(&b);

    school_anchored(f, "t-wang", C_TW);
    school_ready(f, "t-li");
    FX_EXPECT(f, anchor_der(f, "s-sys", "t-li", &twin), IDL_ERR_EXISTS);
    assert_why(f, "this issuer with serial 0201 is already anchored");
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_TW));
    FX_EXPECT(f, anchor_der(f, "s-sys", "t-li", &twin), IDL_ERR_EXISTS);
    /* Nor to the first holder again, on a new application. */
    school_ready(f, "t-wang");
    FX_EXPECT(f, anchor_der(f, "s-sys", "t-wang", &twin), IDL_ERR_EXISTS);
    struct state_key k;
    struct rec_cert c;
    state_key_init(&k, SP_CERT);
    state_key_raw(&k, twin_fp, HASH_BYTES);
    assert_int_equal(fx_get(f, &k, &rec_cert_schema, &c), IDL_ERR_NOT_FOUND);
    free(twin.data);
}

/*
 * A public key is anchored once: a second certificate for C_EC's key (a re-issue, or the
 * same key with its point compressed) would make the key's signatures name two accounts.
 */
static void
same_key_is_refused(void **state)
{
    struct fx *f = *state;
    school_anchored(f, "t-wang", C_EC);
    school_ready(f, "t-li");
    FX_EXPECT(f, anchor(f, "s-sys", "t-li", C_SAMEKEY), IDL_ERR_EXISTS);
    assert_why(f, "this public key is already anchored");
    FX_EXPECT(f, anchor(f, "s-sys", "t-li", C_ECZ), IDL_ERR_EXISTS);
    assert_why(f, "this public key is already anchored");
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_EC));
    FX_EXPECT(f, anchor(f, "s-sys", "t-li", C_SAMEKEY), IDL_ERR_EXISTS);
    FX_OK(f, anchor(f, "s-sys", "t-li", C_U1)); /* another key is fine */
}

/*
 * Every status change is kept: after more changes than the old 64-entry history held, the
 * status at the anchoring and at each earlier change is still answered rightly.
 */
static void
history_kept_whole(void **state)
{
    struct fx *f = *state;
    school_anchored(f, "t-wang", C_RSA);
    uint64_t anchored = f->time_ms;
    uint64_t frozen_first = 0;
    for (int i = 0; i < 40; i++) {
        FX_OK(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA));
        if (!i)
            frozen_first = f->time_ms;
        FX_OK(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA));
    }
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_RSA));
    struct rec_cert c;
    get_cert(f, C_RSA, &c);
    assert_int_equal(c.events, 82);
    schema_free(&rec_cert_schema, &c);
    assert_int_equal(cert_events(f, C_RSA, NULL, 0), 82);
    assert_int_equal(cert_at(f, C_RSA, anchored - 1), CERT_NONE);
    assert_int_equal(cert_at(f, C_RSA, anchored), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, frozen_first - 1), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, frozen_first), CERT_FROZEN);
    assert_int_equal(cert_at(f, C_RSA, frozen_first + 1000), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, f->time_ms - 1), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, f->time_ms), CERT_REVOKED);
}

/*
 * Free text that the ledger keeps in the clear (a certificate's history, application notes,
 * a medium's return) may not carry an ID or mobile number: the transaction is refused
 * before it is signed, and a node refuses its bytes.
 */
static void
cert_text_screened(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "13800138000",          "调离 440106199003071231", "手机 138 0013 8000",
        "138-0013-8000 已交回", "１３８００１３８０００",
    };
    static const char *const good[] = {"介质上交", "2026-01-15 调离", "UK2026000101 已交回",
                                       "1380013800", "138 0013 800"};
    for (size_t i = 0; i < IDL_ARRAY_LEN(bad); i++)
        if (!ledger_text_has_number(bad[i]))
            fail_msg("\"%s\" passes the screen", bad[i]);
    for (size_t i = 0; i < IDL_ARRAY_LEN(good); i++)
        if (ledger_text_has_number(good[i]))
            fail_msg("\"%s\" fails the screen", good[i]);

    static const unsigned types[] = {TX_CERT_FREEZE, TX_CERT_UNFREEZE, TX_CERT_REVOKE,
                                     TX_CERT_APPLY, TX_CERT_MEDIUM_RETURN};
    for (size_t i = 0; i < IDL_ARRAY_LEN(types); i++) {
        struct ledger_tx tx;
        fx_tx(f, &tx, "s-sys", types[i]);
        static const char text[] = "调离 13800138000";
        if (types[i] == TX_CERT_APPLY) {
            snprintf(tx.body.cert_app.account, sizeof(tx.body.cert_app.account), "t-wang");
            snprintf(tx.body.cert_app.note, sizeof(tx.body.cert_app.note), "%s", text);
        } else if (types[i] == TX_CERT_MEDIUM_RETURN) {
            struct tx_cert_medium_return *b = &tx.body.cert_medium_return;
            snprintf(b->account, sizeof(b->account), "t-wang");
            snprintf(b->medium, sizeof(b->medium), "UK1");
            snprintf(b->reason, sizeof(b->reason), "%s", text);
        } else {
            memset(tx.body.cert_op.fingerprint, 0x11, HASH_BYTES);
            snprintf(tx.body.cert_op.reason, sizeof(tx.body.cert_op.reason), "%s", text);
        }
        char why[LEDGER_WHY_MAX] = "";
        assert_int_equal(ledger_tx_check(&tx, why, sizeof(why)), IDL_ERR_INVALID);
        assert_has(why, "11 or more digits");
        assert_lacks(why, "13800138000");
        ledger_tx_free(&tx);
    }
    /* The bytes of a transaction whose reason became a mobile number: refused on decode. */
    struct ledger_tx tx;
    fx_tx(f, &tx, "s-sys", TX_CERT_FREEZE);
    memcpy(tx.body.cert_op.fingerprint, T.c[C_RSA].fp, HASH_BYTES);
    snprintf(tx.body.cert_op.reason, sizeof(tx.body.cert_op.reason), "ABCDEFGHIJK");
    struct fx_actor *a = fx_actor(f, "s-sys");
    assert_int_equal(ledger_tx_sign(&tx, a->key->sk), IDL_OK);
    struct idl_bytes raw;
    assert_int_equal(ledger_tx_encode(&tx, &raw), IDL_OK);
    ledger_tx_free(&tx);
    assert_int_equal(ledger_tx_decode(&tx, raw.data, raw.len, f->g.ledger.chain_id), IDL_OK);
    ledger_tx_free(&tx);
    uint8_t *at = NULL;
    for (size_t i = 0; i + 11 <= raw.len && !at; i++)
        if (!memcmp(raw.data + i, "ABCDEFGHIJK", 11))
            at = raw.data + i;
    assert_non_null(at);
    memcpy(at, "13800138000", 11);
    assert_int_equal(ledger_tx_decode(&tx, raw.data, raw.len, f->g.ledger.chain_id),
                     IDL_ERR_MALFORMED);
    free(raw.data);
}

/*
 * A DER that person_open refuses (sealed for another person, as another field, or not
 * sealed) is refused cleanly. This once freed an uninitialised struct cert_info, so that
 * one cert.anchor could crash every validator; the regression test dirties the stack
 * before each submission so that such a bug shows, not hides.
 *
 * The three refusals run in a child process (this binary with --bad-seal-child, on a
 * memory store), with the stack dirtied before each submission, so that the crash shows
 * as a failure here instead of killing the suite.
 */
static void __attribute__((noinline)) dirty_stack(uint8_t pattern)
{
    volatile uint8_t junk[64 * 1024];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = pattern;
}

static idl_err
anchor_raw(struct fx *f, const char *account, struct idl_bytes sealed, uint8_t pattern)
{
    struct ledger_tx tx;
    fx_tx(f, &tx, "root-sysadmin", TX_CERT_ANCHOR);
    snprintf(tx.body.cert_anchor.account, sizeof(tx.body.cert_anchor.account), "%s", account);
    memset(tx.body.cert_anchor.fingerprint, 0x11, HASH_BYTES);
    tx.body.cert_anchor.der = sealed;
    dirty_stack(pattern);
    return fx_submit(f, &tx);
}

static void
bad_seal_child(void **state)
{
    (void)state;
    struct fx fx, *f = &fx;
    struct fx_options opt = {.memory_store = true};
    fx_open(f, &opt);
    rmdir(f->dir); /* unused by a memory store; nothing left behind if this crashes */
    FX_OK(f, fx_business_add(f, "root-sysadmin", "p-1", FX_ROOT, 3000));
    FX_OK(f, app_tx(f, "root-sysadmin", TX_CERT_APPLY, "p-1"));
    FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, "p-1"));
    FX_OK(f, medium_tx(f, "root-sysadmin", "p-1", "UK-p1"));
    uint8_t plain[400], mine[HASH_BYTES], other[HASH_BYTES];
    memset(plain, 0x30, sizeof(plain));
    person_of(f, "p-1", mine);
    person_of(f, "root-secadmin", other);
    static const uint8_t patterns[] = {0x41, 0x5a, 0xff};
    for (size_t i = 0; i < IDL_ARRAY_LEN(patterns); i++) {
        struct idl_bytes b;
        seal_bytes(f, other, PF_CERTIFICATE, plain, sizeof(plain), &b);
        FX_EXPECT(f, anchor_raw(f, "p-1", b, patterns[i]), IDL_ERR_INVALID);
        assert_why(f, "not sealed for p-1");
        seal_bytes(f, mine, PF_NAME, plain, sizeof(plain), &b);
        FX_EXPECT(f, anchor_raw(f, "p-1", b, patterns[i]), IDL_ERR_INVALID);
        b.data = malloc(sizeof(plain));
        assert_non_null(b.data);
        memcpy(b.data, plain, sizeof(plain));
        b.len = sizeof(plain);
        FX_EXPECT(f, anchor_raw(f, "p-1", b, patterns[i]), IDL_ERR_INVALID);
    }
    struct rec_cert_app app;
    assert_int_equal(get_app(f, "p-1", &app), IDL_OK);
    assert_int_equal(app.status, APP_APPROVED);
    schema_free(&rec_cert_app_schema, &app);
    fx_close(f);
}

static void
test_anchor_bad_seal(void **state)
{
    (void)state;
    char log[128];
    snprintf(log, sizeof(log), "%s/child.log", T.dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* /proc/self/exe: this very binary, even if a rebuild has replaced the file. */
        FILE *out = freopen(log, "w", stdout);
        if (!out || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        /* A crash is the finding: no leak report after it. */
        char opts[512];
        const char *asan = getenv("ASAN_OPTIONS");
        snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        char *const args[] = {"cert_test", "--bad-seal-child", NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "tail -n 20 %s >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "(no child log)\n");
        fail_msg("cert.anchor of a badly sealed DER: the child failed (wait status %d; its "
                 "log above: a crash shows as an exception or a sanitizer report)",
                 st);
    }
}

static void
grant_requires_cert(void **state)
{
    struct fx *f = *state;
    /* The system's cert-required roles must be its roles. */
    FX_EXPECT(f, system_add_cert(f, "tms2", "director"), IDL_ERR_INVALID);

    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"), IDL_ERR_POLICY);
    assert_why(f, "certificate");
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "query")); /* needs none */
    /* The fixture's own teacher system requires none either. */
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", "teacher", "manager"));

    school_anchored(f, "t-wang", C_RSA);
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"));
    expect_verify(f, "t-wang", "manager", now_s(f), true, "ok");
    /* One information manager per school, even one holding a certificate. */
    school_anchored(f, "t-li", C_EC);
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-li", SYS, "manager"), IDL_ERR_POLICY);
    assert_why(f, "one per organisation");
    expect_verify(f, "t-li", "manager", now_s(f), false, "does not hold");
    /* The post freed, the other takes it. */
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t-wang", SYS, "manager"));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-li", SYS, "manager"));
    /* A frozen certificate is no valid certificate. */
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t-li", SYS, "manager"));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"), IDL_ERR_POLICY);
    assert_why(f, "no valid one");
}

static void
grant_university_two_managers(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_org_add(f, "root-sysadmin", "10558", ORG_KIND_UNIVERSITY, FX_ROOT, 0));
    FX_OK(f, fx_mgmt_add(f, "root-sysadmin", "u-sys", "10558", POST_SYSADMIN, 600));
    FX_OK(f, fx_mgmt_add(f, "root-sysadmin", "u-sec", "10558", POST_SECADMIN, 601));
    FX_OK(f, fx_authorize(f, "root-secadmin", "u-sys"));
    FX_OK(f, fx_authorize(f, "root-secadmin", "u-sec"));
    const char *ids[] = {"u-t1", "u-t2"};
    const int certs[] = {C_U1, C_U2};
    for (int i = 0; i < 2; i++) {
        FX_OK(f, fx_business_add(f, "u-sys", ids[i], "10558", 1010 + (unsigned)i));
        FX_OK(f, app_tx(f, "u-sys", TX_CERT_APPLY, ids[i]));
        /* A university hangs under the province: the province alone approves. */
        FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, ids[i]));
        give_medium(f, "u-sys", ids[i]);
        FX_OK(f, anchor(f, "u-sys", ids[i], certs[i]));
    }
    FX_OK(f, fx_grant(f, "u-sec", TX_GRANT_ADD, "u-t1", SYS, "manager"));
    FX_OK(f, fx_grant(f, "u-sec", TX_GRANT_ADD, "u-t2", SYS, "manager"));
    expect_verify(f, "u-t1", "manager", now_s(f), true, "ok");
    expect_verify(f, "u-t2", "manager", now_s(f), true, "ok");
    /* Still one at a school. */
    school_anchored(f, "t-wang", C_RSA);
    school_anchored(f, "t-li", C_EC);
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-li", SYS, "manager"), IDL_ERR_POLICY);
}

static void
verify_follows_cert_status(void **state)
{
    struct fx *f = *state;
    school_anchored(f, "t-wang", C_RSA);
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "query"));
    expect_verify(f, "t-wang", "manager", now_s(f), true, "ok");

    FX_EXPECT(f, cert_op(f, "s-sec", TX_CERT_FREEZE, C_RSA), IDL_ERR_DENIED);
    FX_EXPECT(f, cert_op(f, "k-sys", TX_CERT_FREEZE, C_RSA), IDL_ERR_DENIED);
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA), IDL_ERR_STATE);  /* not frozen */
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_EC), IDL_ERR_NOT_FOUND); /* not anchored */
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA));
    assert_int_equal(cert_status(f, C_RSA), CERT_FROZEN);
    expect_verify(f, "t-wang", "manager", now_s(f), false, "frozen");
    expect_verify(f, "t-wang", "query", now_s(f), true, "ok"); /* needs no certificate */
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA), IDL_ERR_STATE);

    FX_OK(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA));
    assert_int_equal(cert_status(f, C_RSA), CERT_ACTIVE);
    expect_verify(f, "t-wang", "manager", now_s(f), true, "ok");

    /* Validity at the time asked. */
    const struct tcert *t = &T.c[C_RSA];
    expect_verify(f, "t-wang", "manager", t->na - 1, true, "ok");
    expect_verify(f, "t-wang", "manager", t->na, false, "expired");
    expect_verify(f, "t-wang", "manager", t->na + 86400 * 400, false, "expired");
    expect_verify(f, "t-wang", "manager", t->nb, true, "ok");
    expect_verify(f, "t-wang", "manager", t->nb - 1, false, "not valid yet");

    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_RSA));
    assert_int_equal(cert_status(f, C_RSA), CERT_REVOKED);
    expect_verify(f, "t-wang", "manager", now_s(f), false, "revoked");
    /* Revocation is final. */
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA), IDL_ERR_STATE);
    assert_why(f, "final");
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA), IDL_ERR_STATE);
    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_RSA), IDL_ERR_STATE);
    assert_int_equal(cert_status(f, C_RSA), CERT_REVOKED);

    /* The history: each change with who made it and why (cert_op's reason). */
    static const unsigned want[] = {CERT_ACTIVE, CERT_FROZEN, CERT_ACTIVE, CERT_REVOKED};
    struct rec_cert_event h[8];
    assert_int_equal(cert_events(f, C_RSA, h, 8), IDL_ARRAY_LEN(want));
    for (size_t i = 0; i < IDL_ARRAY_LEN(want); i++) {
        assert_int_equal(h[i].status, want[i]);
        assert_string_equal(h[i].actor, "s-sys");
        assert_string_equal(h[i].reason, i ? "UKey 已交回" : "");
        if (i)
            assert_true(h[i].time_ms > h[i - 1].time_ms);
    }

    /* query_cert_valid says why. */
    struct state *st;
    bool valid = true;
    char why[QUERY_REASON_MAX];
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    assert_int_equal(query_cert_valid(st, "t-li", now_s(f), &valid, why, sizeof(why)), IDL_OK);
    assert_false(valid);
    assert_has(why, "holds no education CA certificate");
    assert_int_equal(query_cert_valid(st, "t-wang", now_s(f), &valid, why, sizeof(why)), IDL_OK);
    assert_false(valid);
    assert_has(why, "revoked");
    state_free(st);
}

static void
disable_freezes(void **state)
{
    struct fx *f = *state;
    school_anchored(f, "t-wang", C_RSA);
    /* A second certificate, revoked before the account is disabled. */
    school_anchored(f, "t-wang", C_EC);
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_REVOKE, C_EC));
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"));
    expect_verify(f, "t-wang", "manager", now_s(f), true, "ok");

    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-wang"));
    uint64_t disabled_ms = f->time_ms;
    assert_int_equal(cert_status(f, C_RSA), CERT_FROZEN);
    assert_int_equal(cert_status(f, C_EC), CERT_REVOKED); /* revoked stays revoked */
    struct rec_cert_event h[4];
    assert_int_equal(cert_events(f, C_RSA, h, 4), 2);
    assert_int_equal(h[1].time_ms, disabled_ms);
    assert_int_equal(h[1].status, CERT_FROZEN);
    assert_string_equal(h[1].actor, "s-sys");
    assert_string_equal(h[1].reason, "the account was disabled");
    expect_verify(f, "t-wang", "manager", now_s(f), false, "disabled");

    FX_EXPECT(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA), IDL_ERR_STATE);
    assert_why(f, "disabled");
    assert_int_equal(cert_status(f, C_RSA), CERT_FROZEN);

    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t-wang"));
    assert_int_equal(cert_status(f, C_RSA), CERT_FROZEN); /* the key comes back separately */
    expect_verify(f, "t-wang", "manager", now_s(f), false, "certificate"); /* frozen, revoked */
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA));
    assert_int_equal(cert_status(f, C_RSA), CERT_ACTIVE);
    expect_verify(f, "t-wang", "manager", now_s(f), true, "ok");

    /* The block clock past not_after: the ledger sees the certificate expired. */
    f->time_ms = (T.c[C_RSA].na + 10) * 1000;
    FX_OK(f, fx_grant(f, "s-sec", TX_GRANT_REMOVE, "t-wang", SYS, "manager"));
    FX_EXPECT(f, fx_grant(f, "s-sec", TX_GRANT_ADD, "t-wang", SYS, "manager"), IDL_ERR_POLICY);
    expect_verify(f, "t-wang", "query", now_s(f), false, "does not hold");
}

/*
 * A chain whose genesis lists the CAs that may issue: the fixture's genesis with
 * cert_issuer_required and cert_issuers set, on a fresh directory (the store of the first
 * genesis is removed before any block, so the ledger opens on the new one).
 */
static void
open_with_issuers(struct fx *f, const int *cas, size_t n)
{
    fx_open(f, NULL);
    fx_shut(f);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    struct ledger_policy *p = &f->g.ledger.policy;
    struct ledger_ca *list = calloc(n, sizeof(*list));
    assert_non_null(list);
    for (size_t i = 0; i < n; i++) {
        list[i].der.data = malloc(der(cas[i])->len);
        assert_non_null(list[i].der.data);
        memcpy(list[i].der.data, der(cas[i])->data, der(cas[i])->len);
        list[i].der.len = der(cas[i])->len;
    }
    p->cert_issuers.items = list;
    p->cert_issuers.count = (uint32_t)n;
    p->cert_issuer_required = 1;
    genesis_compute_hash(&f->g);
    fx_reopen(f);
    f->time_ms = (uint64_t)time(NULL) * 1000;
}

static void
issuer_policy(void **state)
{
    (void)state;
    struct fx fx, *f = &fx;
    static const int cas[] = {C_SM2CA, C_RSACA};
    open_with_issuers(f, cas, IDL_ARRAY_LEN(cas));
    struct state *st;
    struct ledger_policy pol;
    assert_int_equal(state_new(&st, ledger_store(f->ledger)), IDL_OK);
    assert_int_equal(state_policy_get(st, &pol), IDL_OK);
    state_free(st);
    assert_int_equal(pol.cert_issuer_required, 1);
    assert_int_equal(pol.cert_issuers.count, 2);
    schema_free(&ledger_policy_schema, &pol);

    /* Accounts of the province: the province alone approves them. */
    const char *ids[] = {"p-1", "p-2", "p-3", "p-4"};
    for (unsigned i = 0; i < IDL_ARRAY_LEN(ids); i++) {
        FX_OK(f, fx_business_add(f, "root-sysadmin", ids[i], FX_ROOT, 2000 + i));
        FX_OK(f, app_tx(f, "root-sysadmin", TX_CERT_APPLY, ids[i]));
        FX_OK(f, app_tx(f, "root-secadmin", TX_CERT_APPROVE, ids[i]));
        give_medium(f, "root-sysadmin", ids[i]);
    }
    FX_OK(f, anchor(f, "root-sysadmin", "p-1", C_SM2)); /* SM2, by the SM2 CA with the ID */
    FX_OK(f, anchor(f, "root-sysadmin", "p-2", C_RSA));
    /* The impostor bears the RSA CA's name, not its key. */
    FX_EXPECT(f, anchor(f, "root-sysadmin", "p-3", C_OTHER), IDL_ERR_POLICY);
    assert_why(f, "not issued by a CA of this chain");
    /* A CA certificate is never a personal one: not the impostor's, not even a listed CA's,
     * though the latter would pass the issuer check by signing itself. */
    FX_EXPECT(f, anchor(f, "root-sysadmin", "p-3", C_IMPCA), IDL_ERR_INVALID);
    assert_why(f, "CA certificate");
    FX_EXPECT(f, anchor(f, "root-sysadmin", "p-3", C_RSACA), IDL_ERR_INVALID);
    assert_why(f, "CA certificate");
    assert_false(cert_anchored(f, C_OTHER));
    FX_OK(f, anchor(f, "root-sysadmin", "p-3", C_EC));
    /* Issuer checks come on top of the others: an expired one from a listed CA. */
    FX_EXPECT(f, anchor(f, "root-sysadmin", "p-4", C_EXPIRED), IDL_ERR_POLICY);
    assert_why(f, "expired");
    struct rec_cert c;
    get_cert(f, C_SM2, &c);
    assert_int_equal(c.key, CERT_KEY_SM2);
    assert_string_equal(c.account, "p-1");
    assert_string_equal(c.serial, "0abc");
    assert_string_equal(c.issuer, "CN=SM2 Root,O=Edu SM2 CA,C=CN");
    schema_free(&rec_cert_schema, &c);
    /* The same chain reopens (the policy is part of its identity). */
    fx_reopen(f);
    FX_OK(f, fx_business_add(f, "root-sysadmin", "p-5", FX_ROOT, 2010));
    fx_close(f);
}

static unsigned
status_at(struct fx *f, const char *id, uint64_t t)
{
    unsigned s = 99;
    assert_int_equal(query_status_at(ledger_store(f->ledger), id, t, &s), IDL_OK);
    return s;
}

static void
status_at_times(void **state)
{
    struct fx *f = *state;
    FX_OK(f, fx_business_add(f, "s-sys", "t-wang2", SCHOOL, 1005)); /* a name t-wang prefixes */
    uint64_t created2 = f->time_ms;
    school_anchored(f, "t-wang", C_RSA);
    uint64_t anchored = f->time_ms;
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_FREEZE, C_RSA));
    uint64_t frozen = f->time_ms;
    FX_OK(f, cert_op(f, "s-sys", TX_CERT_UNFREEZE, C_RSA));
    uint64_t unfrozen = f->time_ms;
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-wang"));
    uint64_t disabled = f->time_ms;
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_RESTORE, "t-wang"));
    uint64_t restored = f->time_ms;
    FX_OK(f, fx_account_op(f, "s-sys", TX_ACCOUNT_DISABLE, "t-wang2"));
    uint64_t disabled2 = f->time_ms;

    assert_int_equal(status_at(f, "t-wang", 0), STATUS_NONE);
    assert_int_equal(status_at(f, "t-wang", anchored), STATUS_ACTIVE);
    assert_int_equal(status_at(f, "t-wang", disabled - 1), STATUS_ACTIVE);
    assert_int_equal(status_at(f, "t-wang", disabled), STATUS_DISABLED);
    assert_int_equal(status_at(f, "t-wang", restored - 1), STATUS_DISABLED);
    assert_int_equal(status_at(f, "t-wang", restored), STATUS_ACTIVE);
    assert_int_equal(status_at(f, "t-wang", UINT64_MAX), STATUS_ACTIVE); /* t-wang2 not mixed in */
    assert_int_equal(status_at(f, "t-wang2", created2 - 1), STATUS_NONE);
    assert_int_equal(status_at(f, "t-wang2", created2), STATUS_ACTIVE);
    assert_int_equal(status_at(f, "t-wang2", disabled2), STATUS_DISABLED);
    assert_int_equal(status_at(f, "nobody", UINT64_MAX), STATUS_NONE);

    assert_int_equal(cert_at(f, C_RSA, anchored - 1), CERT_NONE);
    assert_int_equal(cert_at(f, C_RSA, anchored), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, frozen - 1), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, frozen), CERT_FROZEN);
    assert_int_equal(cert_at(f, C_RSA, unfrozen - 1), CERT_FROZEN);
    assert_int_equal(cert_at(f, C_RSA, unfrozen), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, disabled - 1), CERT_ACTIVE);
    assert_int_equal(cert_at(f, C_RSA, disabled), CERT_FROZEN); /* the disable froze it */
    assert_int_equal(cert_at(f, C_RSA, restored), CERT_FROZEN); /* and restoring did not thaw */
    assert_int_equal(cert_at(f, C_RSA, UINT64_MAX), CERT_FROZEN);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bad-seal-child") == 0) {
        const struct CMUnitTest child[] = {cmocka_unit_test(bad_seal_child)};
        return cmocka_run_group_tests(child, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_each_kind),
        cmocka_unit_test(self_issued_is_the_root_not_the_leaf),
        cmocka_unit_test(to_der_pem_and_der),
        cmocka_unit_test(parse_refusals),
        cmocka_unit_test(signed_by_cases),
        cmocka_unit_test(sm2_distinguishing_id_matters),
        cmocka_unit_test(verify_messages),
        cmocka_unit_test(verify_refusals),
        cmocka_unit_test(verify_digest_mode),
        cmocka_unit_test(key_id_cases),
        cmocka_unit_test(mask_subject),
        cmocka_unit_test(test_mask_subject_multivalued_rdn),
#define L(fn) cmocka_unit_test_setup_teardown(fn, setup_school, teardown_fx)
        L(sealing_a_der),
        L(apply_actors),
        L(approve_in_order),
        L(medium_recorded),
        L(medium_must_be_the_holders),
        L(medium_down_the_levels),
        L(medium_returned_and_reissued),
        L(anchor_rules),
        L(twin_is_refused),
        L(same_key_is_refused),
        L(history_kept_whole),
        L(cert_text_screened),
        cmocka_unit_test(test_anchor_bad_seal),
        L(grant_requires_cert),
        L(grant_university_two_managers),
        L(verify_follows_cert_status),
        L(disable_freezes),
        cmocka_unit_test(issuer_policy),
        L(status_at_times),
#undef L
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
