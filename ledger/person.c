/*
 * Keyed indexing and sealing of personal data (see person.h for the scheme). The sealing
 * uses libsodium's XChaCha20-Poly1305-IETF: its 192-bit nonces are safe to draw at random
 * for every field ever sealed under one key.
 */
#include "person.h"

#include <sodium.h>
#include <string.h>

struct person_keys {
    uint8_t index[HASH_BYTES];
    uint8_t seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                       crypto_aead_xchacha20poly1305_ietf_ABYTES ==
                   LEDGER_SEAL_OVERHEAD,
               "sealed overhead matches the ledger's bound");

idl_err
person_keys_new(struct person_keys **out, const uint8_t secret[PERSON_SECRET_BYTES])
{
    *out = NULL;
    if (sodium_init() < 0)
        return IDL_ERR_CRYPTO;
    struct person_keys *k = sodium_malloc(sizeof(*k));
    if (!k)
        return IDL_ERR_NOMEM;
    static const char index_label[] = "idledger/person-index";
    static const char seal_label[] = "idledger/person-seal";
    hash_hmac_sha256(k->index, secret, PERSON_SECRET_BYTES, index_label, strlen(index_label));
    hash_hmac_sha256(k->seal, secret, PERSON_SECRET_BYTES, seal_label, strlen(seal_label));
    sodium_mprotect_readonly(k);
    *out = k;
    return IDL_OK;
}

void
person_keys_free(struct person_keys *k)
{
    /* sodium_free wipes the memory before releasing it. */
    if (k)
        sodium_free(k);
}

void
person_index(const struct person_keys *k, enum idnum_doc doc, const char *normalised,
             uint8_t out[HASH_BYTES])
{
    uint8_t buf[1 + IDNUM_NORM_MAX];
    size_t n = strnlen(normalised, IDNUM_NORM_MAX);
    buf[0] = (uint8_t)doc;
    memcpy(buf + 1, normalised, n);
    hash_hmac_sha256(out, k->index, sizeof(k->index), buf, 1 + n);
    sodium_memzero(buf, sizeof(buf));
}

/*
 * Random nonces, drawn from the system a few kilobytes at a time rather than one system
 * call per sealed field (a bulk import seals millions of fields). Per thread, so no lock;
 * the pool is wiped as it is used, and nonces need only be unpredictable and unique.
 */
static void
nonce_draw(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[4096];
    static _Thread_local size_t left;
    if (n > sizeof(pool)) {
        randombytes_buf(out, n);
        return;
    }
    if (left < n) {
        randombytes_buf(pool, sizeof(pool));
        left = sizeof(pool);
    }
    uint8_t *from = pool + sizeof(pool) - left;
    memcpy(out, from, n);
    sodium_memzero(from, n);
    left -= n;
}

static void
seal_ad(uint8_t ad[15 + HASH_BYTES + 1], const uint8_t key[HASH_BYTES], unsigned field)
{
    memcpy(ad, "idledger/person", 15);
    memcpy(ad + 15, key, HASH_BYTES);
    ad[15 + HASH_BYTES] = (uint8_t)field;
}

idl_err
person_seal_bytes(const struct person_keys *k, const uint8_t key[HASH_BYTES], unsigned field,
                  const uint8_t *data, size_t len, struct idl_bytes *out)
{
    memset(out, 0, sizeof(*out));
    if (len > 8192)
        return IDL_ERR_TOO_LARGE;
    const size_t npub = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    out->data = malloc(npub + len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    if (!out->data)
        return IDL_ERR_NOMEM;
    uint8_t ad[15 + HASH_BYTES + 1];
    seal_ad(ad, key, field);
    nonce_draw(out->data, npub);
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out->data + npub, &clen, data, len, ad,
                                               sizeof(ad), NULL, out->data, k->seal);
    out->len = npub + (size_t)clen;
    return IDL_OK;
}

idl_err
person_seal(const struct person_keys *k, const uint8_t key[HASH_BYTES], unsigned field,
            const char *text, struct idl_bytes *out)
{
    size_t n = strlen(text);
    if (n > LEDGER_PERSON_TEXT_MAX) {
        memset(out, 0, sizeof(*out));
        return IDL_ERR_TOO_LARGE;
    }
    return person_seal_bytes(k, key, field, (const uint8_t *)text, n, out);
}

idl_err
person_open(const struct person_keys *k, const uint8_t key[HASH_BYTES], unsigned field,
            const uint8_t *sealed, size_t sealed_len, char *out, size_t out_len)
{
    const size_t npub = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    const size_t abytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (out_len)
        out[0] = '\0';
    if (sealed_len < npub + abytes)
        return IDL_ERR_CRYPTO;
    if (sealed_len - npub - abytes + 1 > out_len)
        return IDL_ERR_TOO_LARGE;
    uint8_t ad[15 + HASH_BYTES + 1];
    seal_ad(ad, key, field);
    unsigned long long mlen;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &mlen, NULL, sealed + npub,
                                                   sealed_len - npub, ad, sizeof(ad), sealed,
                                                   k->seal) != 0) {
        sodium_memzero(out, out_len);
        return IDL_ERR_CRYPTO;
    }
    out[mlen] = '\0';
    return IDL_OK;
}

idl_err
person_name_is(const struct person_keys *k, const struct ledger_person *p, const char *name,
               bool *same)
{
    *same = true;
    const struct ledger_sealed *f = p->fields.items;
    for (uint32_t i = 0; i < p->fields.count; i++) {
        if (f[i].field != PF_NAME)
            continue;
        char text[LEDGER_PERSON_TEXT_MAX + 1];
        idl_err rc =
            person_open(k, p->key, PF_NAME, f[i].data.data, f[i].data.len, text, sizeof(text));
        if (rc == IDL_OK)
            *same = strcmp(text, name) == 0;
        sodium_memzero(text, sizeof(text));
        return rc;
    }
    return IDL_OK;
}

/* Length in bytes of the UTF-8 character starting at s. */
static size_t
utf8_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if (!s[i])
            return i;
    return n;
}

static size_t
utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s += utf8_len(s))
        n++;
    return n;
}

/* Writes the first `keep` characters of s, `stars` asterisks, then the last `tail`. */
static void
mask_chars(const char *s, size_t keep, size_t stars, size_t tail, char *out, size_t out_len)
{
    size_t total = utf8_count(s), o = 0;
    if (keep + tail > total)
        keep = tail = 0;
    const char *p = s;
    for (size_t i = 0;; i++) {
        /* The asterisks go before character `keep`, even when that is past the end. */
        if (i == keep)
            for (size_t k = 0; k < stars && o + 1 < out_len; k++)
                out[o++] = '*';
        if (i == total)
            break;
        size_t n = utf8_len(p);
        bool show = i < keep || i >= total - tail;
        if (show && o + n < out_len) {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o < out_len ? o : out_len - 1] = '\0';
}

void
person_mask(unsigned field, const char *text, char *out, size_t out_len)
{
    if (!out_len)
        return;
    size_t n = utf8_count(text);
    switch (field) {
    case PF_NAME:
        mask_chars(text, 1, n > 1 ? n - 1 : 1, 0, out, out_len);
        break;
    case PF_ID_NUMBER:
        mask_chars(text, 3, n > 5 ? n - 5 : 4, 2, out, out_len);
        break;
    case PF_MOBILE:
        mask_chars(text, 3, 4, n >= 11 ? 4 : 0, out, out_len);
        break;
    case PF_OFFICE_PHONE:
        mask_chars(text, 0, 4, n >= 4 ? 4 : 0, out, out_len);
        break;
    case PF_EMAIL: {
        const char *at = strchr(text, '@');
        if (!at || at == text) {
            mask_chars(text, 0, 3, 0, out, out_len);
            break;
        }
        snprintf(out, out_len, "%c***%s", text[0], at);
        break;
    }
    default:
        mask_chars(text, n > 6 ? 6 : 0, 4, 0, out, out_len);
        break;
    }
}

static bool
all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static idl_err
check_email(const char *s, const char **why)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    bool ok = at && at != s && !strchr(at + 1, '@') && n <= 254 && strchr(at + 1, '.') &&
              at[1] != '.' && s[n - 1] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             strchr("@.-_+", c);
    }
    *why = ok ? NULL : "e-mail address is not valid";
    return ok ? IDL_OK : IDL_ERR_INVALID;
}

static idl_err
check_phone(const char *s, const char **why)
{
    size_t n = strlen(s), digits = 0;
    bool ok = n >= 5 && n <= 20;
    for (size_t i = 0; ok && i < n; i++) {
        digits += s[i] >= '0' && s[i] <= '9';
        ok = (s[i] >= '0' && s[i] <= '9') || strchr("+-() ", s[i]);
    }
    ok = ok && digits >= 5;
    *why = ok ? NULL : "office phone must be 5 to 20 digits (with + - ( ) allowed)";
    return ok ? IDL_OK : IDL_ERR_INVALID;
}

/*
 * Whether valid UTF-8 text s holds an invisible format character: zero-width spaces and
 * joiners, the bidirectional controls (U+202E turns what follows around on screen), word
 * joiners and invisible operators, the byte-order mark, interlinear annotation marks. A
 * name or address made of them, or hiding them, reads as something else than it is.
 */
static bool
has_format_char(const char *str)
{
    for (const char *s = str; *s;) {
        size_t n = utf8_len(s);
        unsigned cp = n == 1 ? (unsigned char)*s : (unsigned char)*s & (0x7fu >> n);
        for (size_t k = 1; k < n; k++)
            cp = cp << 6 | ((unsigned char)s[k] & 0x3f);
        if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
            return true;
        s += n;
    }
    return false;
}

static idl_err
check_name(const char *s, const char **why)
{
    size_t n = strlen(s), chars = utf8_count(s);
    bool ok = n > 0 && chars <= 64 && schema_text_valid(s, n) && !strchr(s, '@') &&
              strspn(s, " ") < n && !has_format_char(s);
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] < '0' || s[i] > '9';
    *why = ok ? NULL : "name must be 1 to 64 characters, not all spaces, without digits or "
                       "invisible format characters";
    return ok ? IDL_OK : IDL_ERR_INVALID;
}

idl_err
person_field_check(unsigned field, const char *text, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    size_t n = strlen(text);
    switch (field) {
    case PF_NAME:
        return check_name(text, why);
    case PF_MOBILE:
        if (n == 11 && text[0] == '1' && text[1] >= '3' && all_digits(text, n))
            return IDL_OK;
        *why = "mobile number must be 11 digits starting with 13 to 19";
        return IDL_ERR_INVALID;
    case PF_EMAIL:
        return check_email(text, why);
    case PF_OFFICE_PHONE:
        return check_phone(text, why);
    case PF_ADDRESS:
        if (n > 0 && n <= LEDGER_PERSON_TEXT_MAX && schema_text_valid(text, n) &&
            !has_format_char(text))
            return IDL_OK;
        *why = "address must be 1 to 256 bytes of text without invisible format characters";
        return IDL_ERR_INVALID;
    default:
        *why = "not a checkable personal field";
        return IDL_ERR_INVALID;
    }
}

unsigned
person_field_parse(const char *name)
{
    for (unsigned f = 1; f < PF__COUNT; f++)
        if (strcmp(ledger_person_field_name(f), name) == 0)
            return f;
    return PF_NONE;
}

/* One sealed field of person `key`: opened, checked, wiped. */
static idl_err
field_verify(const struct person_keys *k, const uint8_t key[HASH_BYTES], enum idnum_doc doc,
             const struct ledger_sealed *f, const char **why)
{
    char text[LEDGER_PERSON_TEXT_MAX + 1];
    if (f->field == PF_NONE || f->field > LEDGER_PERSON_FIELDS_MAX) {
        *why = "that is not a field of a person record";
        return IDL_ERR_INVALID;
    }
    if (person_open(k, key, f->field, f->data.data, f->data.len, text, sizeof(text)) != IDL_OK) {
        *why = "it was not sealed for this person under this chain's key";
        return IDL_ERR_INVALID;
    }
    idl_err rc;
    if (f->field == PF_ID_NUMBER) {
        char norm[IDNUM_NORM_MAX + 1];
        uint8_t index[HASH_BYTES];
        rc = idnum_normalize(norm, doc, text, why);
        if (!rc && strcmp(norm, text) != 0) {
            *why = "the ID number is not sealed in its normalised form";
            rc = IDL_ERR_INVALID;
        }
        if (!rc) {
            person_index(k, doc, norm, index);
            if (sodium_memcmp(index, key, HASH_BYTES) != 0) {
                *why = "the person key is not the keyed hash of the sealed ID number";
                rc = IDL_ERR_INVALID;
            }
        }
        sodium_memzero(norm, sizeof(norm));
        sodium_memzero(index, sizeof(index));
    } else {
        rc = person_field_check(f->field, text, why);
    }
    sodium_memzero(text, sizeof(text));
    return rc;
}

idl_err
person_fields_verify(const struct person_keys *k, const uint8_t key[HASH_BYTES],
                     enum idnum_doc doc, const struct schema_list *fields, bool *has_number,
                     unsigned *field, const char **why)
{
    const char *dummy_why;
    unsigned dummy_field;
    if (!why)
        why = &dummy_why;
    if (!field)
        field = &dummy_field;
    *why = NULL;
    *field = PF_NONE;
    if (has_number)
        *has_number = false;
    const struct ledger_sealed *f = fields->items;
    for (uint32_t i = 0; i < fields->count; i++) {
        *field = f[i].field;
        idl_err rc = field_verify(k, key, doc, &f[i], why);
        if (rc)
            return rc;
        if (has_number && f[i].field == PF_ID_NUMBER)
            *has_number = true;
    }
    *field = PF_NONE;
    return IDL_OK;
}
