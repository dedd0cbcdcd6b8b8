/*
 * Commands that need no ledger: keys, and writing a local test network.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "genesis/testnet.h"
#include "ledger/block.h"
#include "ledger/codec.h"

static int
cmd_key_new(struct cli *c)
{
    const char *out = cli_get(c, "out");
    if (!out)
        return cli_usage(c, "--out FILE is required");
    if (access(out, F_OK) == 0)
        return cli_usage(c, "%s exists; a key file is never overwritten", out);
    char *pass = sodium_malloc(WALLET_PASSPHRASE_MAX), *again = sodium_malloc(WALLET_PASSPHRASE_MAX);
    int rc = pass && again ? EXIT_OK_ : cli_fail(c, EXIT_USAGE, "out of memory");
    if (!rc)
        rc = cli_passphrase(c, pass, WALLET_PASSPHRASE_MAX, "new passphrase: ");
    if (!rc && !c->passphrase_file && !getenv("IDLEDGER_PASSPHRASE")) {
        rc = cli_passphrase(c, again, WALLET_PASSPHRASE_MAX, "again: ");
        if (!rc && strcmp(pass, again) != 0)
            rc = cli_usage(c, "the passphrases differ");
    }
    if (!rc && strlen(pass) < 8)
        rc = cli_usage(c, "a passphrase needs at least 8 characters");
    struct wallet_key *k = NULL;
    if (!rc && wallet_key_generate(&k) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "cannot generate a key");
    idl_err err = IDL_OK;
    if (!rc && (err = wallet_key_save(k, out, pass, strlen(pass))) != IDL_OK)
        rc = cli_fail(c, EXIT_USAGE, "cannot write %s: %s", out, idl_strerror(err));
    if (!rc) {
        char hex[2 * SIG_PUBKEY_BYTES + 1];
        codec_hex_encode(hex, k->pk, SIG_PUBKEY_BYTES);
        if (c->json)
            cli_print_json_new(json_pack("{s:s, s:s}", "pubkey", hex, "file", out));
        else
            printf("%s\n", hex);
    }
    wallet_key_free(k);
    if (pass)
        sodium_free(pass);
    if (again)
        sodium_free(again);
    return rc;
}

static int
cmd_key_show(struct cli *c)
{
    const char *path = cli_get(c, "key-file") ? cli_get(c, "key-file") : c->key_path;
    if (!path)
        return cli_usage(c, "give --key FILE");
    uint8_t pk[SIG_PUBKEY_BYTES];
    char why[512];
    if (wallet_key_pubkey(path, pk, why, sizeof(why)) != IDL_OK)
        return cli_fail(c, EXIT_USAGE, "%s", why);
    char hex[2 * SIG_PUBKEY_BYTES + 1];
    codec_hex_encode(hex, pk, SIG_PUBKEY_BYTES);
    if (c->json)
        cli_print_json_new(json_pack("{s:s}", "pubkey", hex));
    else
        printf("%s\n", hex);
    return EXIT_OK_;
}

static int
uint_opt(struct cli *c, const char *name, unsigned *out, unsigned max)
{
    const char *v = cli_get(c, name);
    if (!v)
        return EXIT_OK_;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n > max)
        return cli_usage(c, "--%s must be a number up to %u", name, max);
    *out = (unsigned)n;
    return EXIT_OK_;
}

static int
cmd_testnet(struct cli *c)
{
    struct testnet_opts o;
    testnet_defaults(&o);
    o.dir = cli_get(c, "dir");
    if (!o.dir)
        return cli_usage(c, "--dir DIR is required");
    int rc = uint_opt(c, "validators", &o.validators, LEDGER_VALIDATORS_MAX);
    if (!rc)
        rc = uint_opt(c, "replicas", &o.replicas, 64);
    if (!rc)
        rc = uint_opt(c, "base-port", &o.base_port, 65535);
    if (rc)
        return rc;
    if (o.validators == 0)
        return cli_usage(c, "--validators must be at least 1");
    if (cli_get(c, "chain-id"))
        o.chain_id = cli_get(c, "chain-id");
    if (cli_get(c, "org-code"))
        o.org_code = cli_get(c, "org-code");
    if (cli_get(c, "org-name"))
        o.org_name = cli_get(c, "org-name");
    /* The default name belongs to the default code: another root is named by its user. */
    if (strcmp(o.org_code, TESTNET_ORG_CODE_DEFAULT) != 0 && !cli_get(c, "org-name"))
        return cli_usage(c, "--org-code %s needs --org-name (the root organisation's name)",
                         o.org_code);
    char why[512];
    if (testnet_write(&o, why, sizeof(why)) != IDL_OK)
        return cli_fail(c, EXIT_USAGE, "%s", why);
    if (c->json) {
        cli_print_json_new(json_pack("{s:s, s:i, s:i, s:i}", "dir", o.dir, "validators",
                                     (int)o.validators, "replicas", (int)o.replicas, "base_port",
                                     (int)o.base_port));
        return EXIT_OK_;
    }
    printf("wrote a %u-validator%s network to %s (chain %s, root %s %s)\n", o.validators,
           o.replicas ? " + replica" : "", o.dir, o.chain_id, o.org_code, o.org_name);
    for (unsigned k = 0; k < o.validators + o.replicas; k++)
        printf("  idledgerd --home %s/node%u   # API http://127.0.0.1:%u\n", o.dir, k,
               o.base_port + 2 * k);
    printf("admins: %s/admins/{sysadmin,secadmin,auditor}.key, passphrase in %s/passphrase\n",
           o.dir, o.dir);
    return EXIT_OK_;
}

const struct cli_command cli_misc_commands[] = {
    {"key new", "out=", 0, cmd_key_new, "--out FILE",
     "Writes a new encrypted signing key (Argon2id + XChaCha20-Poly1305, mode 0600) and\n"
     "prints its public key. Never overwrites a file.\n\nexample:\n"
     "  idledger key new --out gz-sys.key\n"},
    {"key show", "key-file=", 0, cmd_key_show, "--key FILE",
     "Prints the public key of a key file (no passphrase needed).\n\nexample:\n"
     "  idledger key show --key gz-sys.key\n"},
    {"testnet", "dir=,validators=,replicas=,base-port=,chain-id=,org-code=,org-name=", 0,
     cmd_testnet,
     "--dir DIR [--validators N] [--replicas M] [--base-port P] [--chain-id ID] "
     "[--org-code CODE --org-name NAME]",
     "Writes a ready local network: genesis, one home per node (config, key, API token),\n"
     "the root organisation's three admin keys and their passphrase (a testnet\n"
     "convenience only). Node K serves its API on port P+2K and peers on P+2K+1.\n"
     "Defaults: 1 validator, 0 replicas, port 7700, chain dev, root 440000 广东省教育厅;\n"
     "another --org-code needs its --org-name.\n\n"
     "examples:\n  idledger testnet --dir devnet --validators 4 --replicas 1\n"
     "  idledger testnet --dir gx --org-code 450000 --org-name 广西壮族自治区教育厅\n"},
};
const size_t cli_misc_ncommands = IDL_ARRAY_LEN(cli_misc_commands);
