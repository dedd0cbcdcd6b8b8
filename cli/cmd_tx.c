/*
 * Commands that sign a transaction. Each fills a transaction body from its options
 * (refusing bad values with exit 2 before anything is signed) and hands it to cli_submit.
 * Personal data is checked here, then sealed by the node (POST /v1/persons/seal, a request
 * signed with the same --key: only a system administrator may have the node seal, or
 * learn whether a number is registered under another name), so the signed transaction
 * carries it only sealed.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ledger/codec.h"
#include "ledger/idnum.h"
#include "ledger/person.h"
#include "ledger/schema.h"

static const char *const person_opts[] = {"name", "id-number", "mobile", "email", "office-phone",
                                          "address"};

/* Option name -> API field name ("id-number" -> "id_number"). */
static void
api_name(const char *opt, char *out, size_t n)
{
    snprintf(out, n, "%s", opt);
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
}

/* Checks the person options locally and builds the seal request body. */
static int
person_request(struct cli *c, json_t *body, bool with_number)
{
    for (size_t i = 0; i < IDL_ARRAY_LEN(person_opts); i++) {
        const char *v = cli_get(c, person_opts[i]);
        if (!v)
            continue;
        char field[32];
        api_name(person_opts[i], field, sizeof(field));
        const char *why = NULL;
        if (!strcmp(field, "id_number")) {
            if (!with_number)
                return cli_usage(c, "the ID number identifies the person and cannot change");
            const char *doc_name = cli_get(c, "doc-type");
            enum idnum_doc doc = doc_name ? idnum_doc_parse(doc_name) : IDNUM_DOC_RESIDENT;
            char norm[IDNUM_NORM_MAX + 1];
            if (doc == IDNUM_DOC_NONE)
                return cli_usage(c, "--doc-type must be resident, passport, hkmo, taiwan or "
                                    "foreign-pr");
            if (idnum_normalize(norm, doc, v, &why) != IDL_OK)
                return cli_usage(c, "invalid --id-number: %s", why);
            if (doc_name)
                json_object_set_new(body, "doc_type", json_string(doc_name));
        } else if (person_field_check(person_field_parse(field), v, &why) != IDL_OK) {
            return cli_usage(c, "invalid --%s: %s", person_opts[i], why);
        }
        json_object_set_new(body, field, json_string(v));
    }
    return EXIT_OK_;
}

/* Fills a sealed-field list from the node's answer. */
static int
sealed_list(struct cli *c, json_t *fields, struct schema_list *out)
{
    size_t n = json_array_size(fields);
    struct ledger_sealed *s = n ? calloc(n, sizeof(*s)) : NULL;
    out->items = s;
    out->count = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *hex = json_string_value(json_object_get(f, "data"));
        size_t len = hex ? strlen(hex) / 2 : 0;
        s[i].field = (uint8_t)person_field_parse(json_string_value(json_object_get(f, "field")));
        s[i].data.data = malloc(len ? len : 1);
        s[i].data.len = len;
        out->count = (uint32_t)i + 1;
        if (!s[i].field || !len || codec_hex_decode(s[i].data.data, len, hex) != IDL_OK)
            return cli_fail(c, EXIT_REJECTED, "the node sealed the personal data badly");
    }
    return EXIT_OK_;
}

/* POST /v1/persons/seal, signed by --key; *person receives the "person" member. */
static int
seal(struct cli *c, json_t *body, json_t **person)
{
    json_t *reply = NULL;
    int rc = cli_signed_post(c, "/v1/persons/seal", body, &reply);
    if (rc)
        return rc;
    *person = json_incref(json_object_get(reply, "person"));
    json_decref(reply);
    return EXIT_OK_;
}

static int
enum_opt(struct cli *c, const char *opt, unsigned (*parse)(const char *), uint8_t *out,
         bool required, const char *choices)
{
    const char *v = cli_get(c, opt);
    *out = 0;
    if (!v)
        return required ? cli_usage(c, "--%s is required (%s)", opt, choices) : EXIT_OK_;
    *out = (uint8_t)parse(v);
    return *out ? EXIT_OK_ : cli_usage(c, "--%s must be one of: %s", opt, choices);
}

static int
cmd_org_add(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ORG_ADD, "");
    struct tx_org_add *b = &tx.body.org_add;
    int rc = cli_copy(c, b->code, sizeof(b->code), "code", true);
    if (!rc)
        rc = cli_copy(c, b->name, sizeof(b->name), "name", true);
    if (!rc)
        rc = cli_copy(c, b->parent, sizeof(b->parent), "parent", true);
    if (!rc)
        rc = enum_opt(c, "kind", ledger_org_kind_parse, &b->kind, true,
                      "city, county, university, school, other");
    if (!rc)
        rc = enum_opt(c, "school-type", ledger_school_type_parse, &b->school_type, false,
                      "kindergarten, primary, middle, vocational, nine-year, twelve-year, "
                      "special, other");
    if (!rc && b->kind == ORG_KIND_SCHOOL && !b->school_type)
        rc = cli_usage(c, "a school needs --school-type");
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_org_delegate(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ORG_DELEGATE, "");
    int rc = cli_copy(c, tx.body.org_delegate.code, sizeof(tx.body.org_delegate.code), "code",
                      true);
    tx.body.org_delegate.delegated = cli_get(c, "undo") ? 0 : 1;
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_account_add(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ACCOUNT_ADD, "");
    struct tx_account_add *b = &tx.body.account_add;
    int rc = cli_copy(c, b->id, sizeof(b->id), "id", true);
    if (!rc)
        rc = cli_copy(c, b->org, sizeof(b->org), "org", true);
    if (!rc)
        rc = enum_opt(c, "class", ledger_class_parse, &b->class, true, "management, business");
    if (!rc)
        rc = enum_opt(c, "post", ledger_post_parse, &b->post, b->class == CLASS_MANAGEMENT,
                      "sysadmin, secadmin, auditor");
    const char *pk = cli_get(c, "pubkey");
    if (!rc && b->class == CLASS_MANAGEMENT && !pk)
        rc = cli_usage(c, "a management account needs --pubkey (its holder's idledger key "
                          "show)");
    if (!rc && pk && codec_hex_decode(b->pubkey, SIG_PUBKEY_BYTES, pk) != IDL_OK)
        rc = cli_usage(c, "--pubkey must be 64 hex digits");
    if (!rc && (!cli_get(c, "name") || !cli_get(c, "id-number")))
        rc = cli_usage(c, "an account is real-name: --name and --id-number are required");
    /* The id before the personal data goes to the node: an id the ledger refuses (one that
     * holds a phone number, say) must not cost a sealing call, kept in the read audit. */
    if (!rc && !schema_id_valid(b->id, strlen(b->id), SCHEMA_NO_PII))
        rc = cli_usage(c, "--id: letters, digits, '.', '_' or '-', with no run of 11 digits "
                          "(a phone or ID number)");
    json_t *req = json_object(), *person = NULL;
    if (!rc)
        rc = person_request(c, req, true);
    if (!rc)
        rc = seal(c, req, &person);
    json_decref(req);
    if (!rc) {
        const char *doc = json_string_value(json_object_get(person, "doc_type"));
        b->person.doc_type = (uint8_t)idnum_doc_parse(doc ? doc : "");
        if (codec_hex_decode(b->person.key, HASH_BYTES,
                             json_string_value(json_object_get(person, "key"))) != IDL_OK)
            rc = cli_fail(c, EXIT_REJECTED, "the node answered without a person key");
    }
    if (!rc)
        rc = sealed_list(c, json_object_get(person, "fields"), &b->person.fields);
    json_decref(person);
    if (rc) {
        ledger_tx_free(&tx);
        return rc;
    }
    return cli_submit(c, &tx);
}

static int
cmd_account_update(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ACCOUNT_UPDATE, "");
    struct tx_account_update *b = &tx.body.account_update;
    int rc = cli_copy(c, b->id, sizeof(b->id), "id", true);
    if (!rc)
        rc = enum_opt(c, "post", ledger_post_parse, &b->post, false, "sysadmin, secadmin, auditor");
    json_t *req = json_object(), *person = NULL;
    if (!rc)
        rc = person_request(c, req, false);
    if (!rc && json_object_size(req) == 0 && !b->post)
        rc = cli_usage(c, "nothing to change: give --post or personal fields");
    if (!rc && json_object_size(req) > 0) {
        json_object_set_new(req, "account", json_string(b->id));
        rc = seal(c, req, &person);
        if (!rc)
            rc = sealed_list(c, json_object_get(person, "fields"), &b->fields);
    }
    json_decref(req);
    json_decref(person);
    if (rc) {
        ledger_tx_free(&tx);
        return rc;
    }
    return cli_submit(c, &tx);
}

static int
account_op(struct cli *c, unsigned type)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", type, "");
    int rc = cli_copy(c, tx.body.account_op.id, sizeof(tx.body.account_op.id), "id", true);
    if (!rc)
        rc = cli_copy(c, tx.body.account_op.reason, sizeof(tx.body.account_op.reason), "reason",
                      true);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_account_disable(struct cli *c)
{
    return account_op(c, TX_ACCOUNT_DISABLE);
}

static int
cmd_account_restore(struct cli *c)
{
    return account_op(c, TX_ACCOUNT_RESTORE);
}

static int
cmd_account_lock(struct cli *c)
{
    return account_op(c, TX_ACCOUNT_LOCK);
}

static int
cmd_account_unlock(struct cli *c)
{
    return account_op(c, TX_ACCOUNT_UNLOCK);
}

static int
cmd_account_reset(struct cli *c)
{
    return account_op(c, TX_ACCOUNT_RESET_PASSWORD);
}

static int
cmd_account_authorize(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ACCOUNT_AUTHORIZE, "");
    int rc = cli_copy(c, tx.body.account_ref.id, sizeof(tx.body.account_ref.id), "id", true);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_account_bind(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_ACCOUNT_BIND_LEGACY, "");
    struct tx_bind_legacy *b = &tx.body.bind_legacy;
    int rc = cli_copy(c, b->id, sizeof(b->id), "id", true);
    if (!rc)
        rc = cli_copy(c, b->system, sizeof(b->system), "system", true);
    if (!rc)
        rc = cli_copy(c, b->legacy, sizeof(b->legacy), "legacy-account", true);
    return rc ? rc : cli_submit(c, &tx);
}

/* Splits "a,b,c" into a list of codes. */
static int
code_list(struct cli *c, const char *opt, struct schema_list *out, bool required)
{
    const char *v = cli_get(c, opt);
    out->items = NULL;
    out->count = 0;
    if (!v)
        return required ? cli_usage(c, "--%s is required (comma-separated)", opt) : EXIT_OK_;
    struct ledger_code *codes = calloc(LEDGER_ROLES_MAX, sizeof(*codes));
    out->items = codes;
    char buf[LEDGER_ROLES_MAX * (LEDGER_CODE_MAX + 1)];
    snprintf(buf, sizeof(buf), "%s", v);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (out->count == LEDGER_ROLES_MAX || strlen(t) > LEDGER_CODE_MAX)
            return cli_usage(c, "--%s: at most %d codes of at most %d characters", opt,
                             LEDGER_ROLES_MAX, LEDGER_CODE_MAX);
        snprintf(codes[out->count++].code, LEDGER_CODE_MAX + 1, "%s", t);
    }
    return EXIT_OK_;
}

static int
cmd_system_add(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_SYSTEM_ADD, "");
    struct tx_system_add *b = &tx.body.system_add;
    int rc = cli_copy(c, b->code, sizeof(b->code), "code", true);
    if (!rc)
        rc = cli_copy(c, b->name, sizeof(b->name), "name", true);
    if (!rc)
        rc = code_list(c, "roles", &b->roles, true);
    if (!rc)
        rc = code_list(c, "cert-required", &b->cert_required, false);
    if (rc) {
        ledger_tx_free(&tx);
        return rc;
    }
    return cli_submit(c, &tx);
}

static int
grant(struct cli *c, unsigned type)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", type, "");
    struct tx_grant *b = &tx.body.grant;
    int rc = cli_copy(c, b->account, sizeof(b->account), "account", true);
    if (!rc)
        rc = cli_copy(c, b->system, sizeof(b->system), "system", true);
    if (!rc)
        rc = cli_copy(c, b->role, sizeof(b->role), "role", true);
    return rc ? rc : cli_submit(c, &tx);
}

static int
cmd_grant_add(struct cli *c)
{
    return grant(c, TX_GRANT_ADD);
}

static int
cmd_grant_remove(struct cli *c)
{
    return grant(c, TX_GRANT_REMOVE);
}

static int
cmd_review_record(struct cli *c)
{
    struct ledger_tx tx;
    ledger_tx_init(&tx, "", TX_REVIEW_RECORD, "");
    int rc = cli_copy(c, tx.body.review.org, sizeof(tx.body.review.org), "org", true);
    if (!rc)
        rc = cli_copy(c, tx.body.review.note, sizeof(tx.body.review.note), "note", true);
    if (!rc && !c->basis_path) /* the ledger refuses a review without its form */
        rc = cli_usage(c, "--basis FILE is required: the signed review record (核查记录) scan");
    return rc ? rc : cli_submit(c, &tx);
}

#define PERSON_OPTS "name=,id-number=,doc-type=,mobile=,email=,office-phone=,address="
#define SIGNED "Signs with --key (its account is looked up by public key, or give --as ID).\n"

const struct cli_command cli_tx_commands[] = {
    {"org add", "code=,name=,kind=,parent=,school-type=", 0, cmd_org_add,
     "--code C --name N --kind KIND --parent P [--school-type T]",
     "Adds organisation C under P. KIND: city, county, university, school, other; a school\n"
     "also needs T: kindergarten, primary, middle, vocational, nine-year, twelve-year,\n"
     "special, other. " SIGNED "Signed by the sysadmin of P.\n\n"
     "example:\n  idledger org add --code 440100 --name 广州市教育局 --kind city --parent 440000\n"},
    {"org delegate", "code=,undo", 0, cmd_org_delegate, "--code C [--undo]",
     "The business accounts of school C are managed by its parent's department (--undo ends\n"
     "that). Signed by the sysadmin of C's parent.\n\n"
     "example:\n  idledger org delegate --code 4401060001 --basis consent.pdf\n"},
    {"account add", "id=,org=,class=,post=,pubkey=," PERSON_OPTS, 0, cmd_account_add,
     "--id ID --org C --class management|business [--post POST --pubkey HEX] --name N "
     "--id-number X [--mobile M] [--email E] [--office-phone P] [--address A]",
     "Creates a real-name account. A management account (POST: sysadmin, secadmin, auditor)\n"
     "is created by the sysadmin of C's parent, with the holder's public key, and is pending\n"
     "until the secadmin of C's parent authorises it; a business account is created by the\n"
     "sysadmin of C. Management operations need --basis FILE, the scanned signed form.\n"
     "The personal data is checked here and sealed by the node; it never goes on the\n"
     "ledger in the clear.\n\n"
     "examples:\n"
     "  idledger account add --id gz-sys --org 440100 --class management --post sysadmin \\\n"
     "      --pubkey $(idledger key show --key gz-sys.key) --name 李明 \\\n"
     "      --id-number 11010519491231002X --mobile 13800000001 --basis form.pdf\n"
     "  idledger account add --id gz-t1 --org 440100 --class business --name 王芳 \\\n"
     "      --id-number 440106199003071234 --email wangfang@example.edu.cn\n"},
    {"account authorize", "id=", 0, cmd_account_authorize, "--id ID",
     "Authorises pending management account ID: it may sign from the next block on. Signed\n"
     "by the secadmin of the account's organisation's parent, with --basis FILE.\n\n"
     "example:\n  idledger account authorize --id gz-sys --basis form.pdf\n"},
    {"account update", "id=,post=," PERSON_OPTS, 0, cmd_account_update,
     "--id ID [--post POST] [--mobile M] [--email E] [--office-phone P] [--address A] "
     "[--name N]",
     "Records an information change (变更申请单). A new post sends a management account back\n"
     "to pending. Signed by the sysadmin who manages the account.\n\n"
     "example:\n  idledger account update --id gz-t1 --mobile 13900000002\n"},
    {"account disable", "id=,reason=", 0, cmd_account_disable, "--id ID --reason TEXT",
     "Disables an account (停用). Nothing is ever deleted: restore brings it back.\n\n"
     "example:\n  idledger account disable --id gz-t1 --reason 调离本单位\n"},
    {"account restore", "id=,reason=", 0, cmd_account_restore, "--id ID --reason TEXT",
     "Restores a disabled account (恢复).\n\nexample:\n"
     "  idledger account restore --id gz-t1 --reason 返岗\n"},
    {"account lock", "id=,reason=", 0, cmd_account_lock, "--id ID --reason TEXT",
     "Records that an account is locked.\n\nexample:\n"
     "  idledger account lock --id gz-t1 --reason 密码多次错误\n"},
    {"account unlock", "id=,reason=", 0, cmd_account_unlock, "--id ID --reason TEXT",
     "Unlocks a locked account (账号解锁).\n\nexample:\n"
     "  idledger account unlock --id gz-t1 --reason 本人申请\n"},
    {"account reset-password", "id=,reason=", 0, cmd_account_reset, "--id ID --reason TEXT",
     "Records a password reset (密码重置).\n\nexample:\n"
     "  idledger account reset-password --id gz-t1 --reason 本人申请\n"},
    {"account bind-legacy", "id=,system=,legacy-account=", 0, cmd_account_bind,
     "--id ID --system S --legacy-account L",
     "Real-name conversion (实名制转化): binds post account L of business system S to\n"
     "business account ID. Signed by the sysadmin of the account's organisation.\n\n"
     "example:\n  idledger account bind-legacy --id gz-t1 --system teacher --legacy-account gz0001_xxgl\n"},
    {"system add", "code=,name=,roles=,cert-required=", 0, cmd_system_add,
     "--code S --name N --roles R1,R2,... [--cert-required R,...]",
     "Registers business system S and its role catalogue. Signed by the root sysadmin.\n\n"
     "example:\n  idledger system add --code teacher --name 全国教师管理信息系统 \\\n"
     "      --roles query,manager,training,sysadmin,auditor --cert-required manager\n"},
    {"grant add", "account=,system=,role=", 0, cmd_grant_add, "--account ID --system S --role R",
     "Grants role R of system S to a business account. Signed by the secadmin of the\n"
     "account's organisation.\n\nexample:\n"
     "  idledger grant add --account gz-t1 --system teacher --role manager\n"},
    {"grant remove", "account=,system=,role=", 0, cmd_grant_remove,
     "--account ID --system S --role R",
     "Withdraws a role. Signed by the secadmin of the account's organisation.\n\nexample:\n"
     "  idledger grant remove --account gz-t1 --system teacher --role manager\n"},
    {"review record", "org=,note=", 0, cmd_review_record, "--org C --note TEXT --basis FILE",
     "Records the periodic access review (定期核查) of C, with the scan of its signed record\n"
     "(--basis, required). Signed by its sysadmin or secadmin. `idledger report review` lists\n"
     "what is due.\n\n"
     "example:\n  idledger review record --org 440100 --note 2026年下半年核查 --basis review.pdf\n"},
};
const size_t cli_tx_ncommands = IDL_ARRAY_LEN(cli_tx_commands);
