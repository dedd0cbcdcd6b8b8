/*
 * evilpeer: a peer that serves tampered blocks, for tests/integration/bft.sh.
 *
 *   evilpeer --genesis FILE --honest HOST:PORT --victim HOST:PORT --listen HOST:PORT
 *            --mode block|cert|mute|spam|equivocate|hog [--seconds N] [--reconnect]
 *            [--key FILE --passphrase-file FILE]
 *
 * It fetches the committed blocks with their certificates from an honest node over the
 * real peer protocol (node/p2p.c, consensus/msg.h), then connects to the victim, claims a
 * height far ahead so that the victim asks it for blocks, and answers every sync request
 * with those blocks tampered: in mode "cert" a certificate signature has one bit flipped;
 * in mode "block" a block's time is changed, so its hash no longer matches the signed
 * certificate. Heights beyond what it fetched get the last block renumbered. A correct
 * victim refuses them all and syncs from honest peers instead. In mode "mute" it claims the
 * far tip and never answers at all: the victim must stop believing it ("catching up"
 * clears). In mode "spam" it claims nothing and sends 300 sync requests for the whole
 * chain at once, then counts the replies (each begins with block 1): the victim must
 * answer only a few. With --reconnect it drops its link to the victim halfway and dials
 * again (a new link, the same key), and counts the sync requests it gets after that: a
 * victim that marked it bad must not ask it again. In mode "equivocate" it opens the
 * validator key --key (a testnet's nodeK/node.key, under --passphrase-file) and, for
 * --seconds, prevotes in that validator's name for a block nobody proposed at the victim's
 * next height, round 0: the validator itself prevotes the real block (or nil) there, so the
 * victim holds two conflicting prevotes of one validator and must count an equivocation.
 * Its own link key stays a fresh one: under the validator's key the victim would take it
 * for the validator's link and drop the real one. In mode "hog" (tests/integration/
 * sync_serve.sh) it runs the p2p handshake with the victim itself, on a plain socket with a
 * small receive buffer, asks for the whole chain ten times a second for --seconds without
 * reading anything, and then reads and counts the replies the victim queued meanwhile.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "consensus/msg.h"
#include "genesis/genesis.h"
#include "node/p2p.h"
#include "wallet/key.h"

#define BLOCKS_MAX 4096

static struct {
    pthread_mutex_t lock;
    struct idl_bytes blocks[BLOCKS_MAX]; /* DECIDED messages from the honest node, by height */
    uint64_t top;
    const char *mode;
    uint8_t genesis_hash[HASH_BYTES];
    uint32_t honest_peer, victim_peer;
    bool honest_up, victim_up;
    unsigned served;
    bool reconnected;
    unsigned asked_after; /* sync requests after the reconnect */
    unsigned answers;     /* spam: replies to our requests (blocks of height 1) */
    /* equivocate: the highest tip the victim announced, and whether it announced one */
    uint64_t victim_height;
    bool victim_status;
    char chain[LEDGER_CHAIN_ID_MAX + 1];
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct p2p *net;

static void
tamper(struct cons_msg *m)
{
    if (!strcmp(ev.mode, "cert")) {
        struct ledger_commit c;
        if (schema_decode_bytes(&ledger_commit_schema, &c, m->body.decided.commit.data,
                                m->body.decided.commit.len) == IDL_OK) {
            ((struct ledger_commit_sig *)c.sigs.items)[0].sig[7] ^= 0x10;
            free(m->body.decided.commit.data);
            if (schema_encode_bytes(&ledger_commit_schema, &c, &m->body.decided.commit))
                m->body.decided.commit = (struct idl_bytes){0};
            schema_free(&ledger_commit_schema, &c);
        }
    } else {
        /* The header's time sits after version, chain id and height: shift it by 1 ms. */
        uint8_t *b = m->body.decided.block.data;
        size_t off = 1 + 2 + ((size_t)b[1] << 8 | b[2]) + 8;
        b[off + 7] ^= 1;
    }
}

/*
 * A block for height h, tampered. Up to the fetched top it is the honest block; beyond it
 * (the victim synced from honest peers first and now asks us for what we claimed to
 * have) it is the top block renumbered to h, with the top block's certificate.
 */
static bool
forge(uint64_t h, struct cons_msg *m)
{
    uint64_t src = h <= ev.top ? h : ev.top;
    if (src >= BLOCKS_MAX || !ev.blocks[src].data ||
        cons_msg_decode(m, ev.blocks[src].data, ev.blocks[src].len) != IDL_OK)
        return false;
    if (h != src) {
        struct ledger_block b;
        struct idl_bytes raw;
        if (ledger_block_decode(&b, m->body.decided.block.data, m->body.decided.block.len,
                                ev.chain) != IDL_OK) {
            cons_msg_free(m);
            return false;
        }
        b.header.height = h;
        idl_err rc = ledger_block_encode(&b, &raw);
        ledger_block_free(&b);
        if (rc) {
            cons_msg_free(m);
            return false;
        }
        free(m->body.decided.block.data);
        m->body.decided.block = raw;
    }
    tamper(m);
    return true;
}

static void
serve(uint32_t peer, const struct msg_sync_req *req)
{
    pthread_mutex_lock(&ev.lock);
    for (uint64_t h = req->from; h > 0 && h < req->from + req->max && h < req->from + 64; h++) {
        struct cons_msg m;
        if (!forge(h, &m))
            continue;
        struct idl_bytes out;
        if (cons_msg_encode(&m, &out) == IDL_OK) {
            p2p_send(net, peer, out.data, out.len);
            free(out.data);
            ev.served++;
        }
        cons_msg_free(&m);
    }
    pthread_mutex_unlock(&ev.lock);
}

static void
on_recv(void *arg, uint32_t peer, const uint8_t pk[SIG_PUBKEY_BYTES], const uint8_t *msg,
        size_t len)
{
    (void)arg, (void)pk;
    struct cons_msg m;
    if (cons_msg_decode(&m, msg, len) != IDL_OK)
        return;
    if (m.kind == MSG_DECIDED && peer == ev.victim_peer && !strcmp(ev.mode, "spam")) {
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.decided.block.data, m.body.decided.block.len,
                                ev.chain) == IDL_OK) {
            pthread_mutex_lock(&ev.lock);
            ev.answers += b.header.height == 1;
            pthread_mutex_unlock(&ev.lock);
            ledger_block_free(&b);
        }
    } else if (m.kind == MSG_DECIDED && peer == ev.honest_peer) {
        struct ledger_block b;
        if (ledger_block_decode(&b, m.body.decided.block.data, m.body.decided.block.len,
                                ev.chain) == IDL_OK) {
            pthread_mutex_lock(&ev.lock);
            if (b.header.height < BLOCKS_MAX && !ev.blocks[b.header.height].data) {
                ev.blocks[b.header.height].data = malloc(len);
                memcpy(ev.blocks[b.header.height].data, msg, len);
                ev.blocks[b.header.height].len = len;
                if (b.header.height > ev.top)
                    ev.top = b.header.height;
            }
            pthread_mutex_unlock(&ev.lock);
            ledger_block_free(&b);
        }
    } else if (m.kind == MSG_STATUS && peer == ev.victim_peer) {
        pthread_mutex_lock(&ev.lock);
        if (ev.victim_up && m.body.status.height > ev.victim_height)
            ev.victim_height = m.body.status.height;
        ev.victim_status |= ev.victim_up;
        pthread_mutex_unlock(&ev.lock);
    } else if (m.kind == MSG_SYNC_REQ && peer == ev.victim_peer) {
        pthread_mutex_lock(&ev.lock);
        ev.asked_after += ev.reconnected;
        pthread_mutex_unlock(&ev.lock);
        if (strcmp(ev.mode, "mute") != 0 && strcmp(ev.mode, "spam") != 0)
            serve(peer, &m.body.sync_req);
    }
    cons_msg_free(&m);
}

static void
on_peer(void *arg, uint32_t peer, const uint8_t pk[SIG_PUBKEY_BYTES], bool up)
{
    (void)arg, (void)pk;
    pthread_mutex_lock(&ev.lock);
    /* The first peer up is the honest node (dialled first); the second the victim. */
    if (up && !ev.honest_up) {
        ev.honest_peer = peer;
        ev.honest_up = true;
    } else if (up && peer != ev.honest_peer) {
        ev.victim_peer = peer;
        ev.victim_up = true;
    }
    pthread_mutex_unlock(&ev.lock);
}

static void
send_to(uint32_t peer, const struct cons_msg *m)
{
    struct idl_bytes out;
    if (cons_msg_encode(m, &out) == IDL_OK) {
        p2p_send(net, peer, out.data, out.len);
        free(out.data);
    }
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The validator key to equivocate with, and its index in the genesis (-1: not a validator). */
static int
signer_load(struct wallet_key **out, const char *path, const char *pass_file,
            const struct ledger_genesis *g)
{
    char pass[WALLET_PASSPHRASE_MAX], why[256];
    size_t n = 0;
    idl_err rc =
        wallet_passphrase_read(pass_file, NULL, NULL, pass, sizeof(pass), why, sizeof(why));
    if (!rc)
        rc = wallet_key_load(out, path, pass, strlen(pass), why, sizeof(why));
    sodium_memzero(pass, sizeof(pass));
    if (rc) {
        fprintf(stderr, "evilpeer: %s: %s\n", path, why);
        return -1;
    }
    while (n < g->n_validators && memcmp(g->validators[n].pubkey, (*out)->pk, SIG_PUBKEY_BYTES))
        n++;
    if (n == g->n_validators) {
        fprintf(stderr, "evilpeer: %s is not a validator's key\n", path);
        wallet_key_free(*out);
        *out = NULL;
        return -1;
    }
    return (int)n;
}

/* Sends the victim validator `index`'s prevote (signed with signer) for a block nobody
 * proposed, at height, round 0; always the same hash. False if it could not be signed. */
static bool
prevote_conflicting(const struct wallet_key *signer, uint16_t index, uint64_t height)
{
    struct cons_msg m = {.kind = MSG_VOTE};
    struct msg_vote *v = &m.body.vote;
    v->type = VOTE_PREVOTE;
    v->height = height;
    v->round = 0;
    memset(v->hash, 0xee, HASH_BYTES);
    v->validator = index;
    uint8_t sighash[HASH_BYTES];
    ledger_vote_sighash(sighash, ev.chain, v->type, v->height, v->round, v->hash);
    if (sig_sign(v->sig, sighash, signer->sk) != IDL_OK)
        return false;
    send_to(ev.victim_peer, &m);
    return true;
}

/*
 * Every 200 ms for `seconds`, the conflicting prevote at the victim's next height. A repeat
 * is no new equivocation (the same hash): the victim counts one for each height where the
 * validator's real prevote met ours. Says on stdout when the first is sent (a test may make
 * the victim's next block from then on). Returns the number of heights voted at.
 */
static unsigned
equivocate(const struct wallet_key *signer, uint16_t index, unsigned seconds)
{
    unsigned heights = 0;
    uint64_t last = 0;
    for (unsigned t = 0; t < seconds * 5; t++) {
        pthread_mutex_lock(&ev.lock);
        bool ready = ev.victim_up && ev.victim_status;
        uint64_t next = ev.victim_height + 1;
        pthread_mutex_unlock(&ev.lock);
        if (ready && prevote_conflicting(signer, index, next)) {
            if (!last) {
                printf("evilpeer: equivocating as validator %u from height %llu\n", (unsigned)index,
                       (unsigned long long)next);
                fflush(stdout);
            }
            heights += next != last;
            last = next;
        }
        sleep_ms(200);
    }
    return heights;
}

/* ---- hog: a link that asks for the chain and reads nothing ---- */

static bool
fd_write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* False at EOF, on an error, or when nothing came for the socket's receive timeout. */
static bool
fd_read_all(int fd, uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = read(fd, buf, len);
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* A link of our own to the victim: its socket and the session keys of node/p2p.h. */
struct hog_link {
    int fd;
    uint8_t rx_key[crypto_kx_SESSIONKEYBYTES], tx_key[crypto_kx_SESSIONKEYBYTES];
    uint64_t rx_seq, tx_seq; /* the nonces: frames so far each way */
};

/* The AEAD nonce of frame seq: 4 zero bytes, then seq (node/p2p.h). */
static void
hog_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t seq)
{
    memset(nonce, 0, 4);
    codec_be64_put(nonce + 4, seq);
}

/*
 * A TCP connection to addr ("host:port", numeric) with a 4 KiB receive buffer, through the
 * p2p handshake of node/p2p.h under key, as the dialler (crypto_kx's client). The node's
 * AUTH is read, not checked: it is the node under test. False if any step failed.
 */
static bool
hog_connect(struct hog_link *l, const char *addr, const struct wallet_key *key)
{
    char host[P2P_ADDR_MAX];
    snprintf(host, sizeof(host), "%s", addr);
    char *colon = strrchr(host, ':');
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!colon)
        return false;
    *colon = '\0';
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    *l = (struct hog_link){.fd = socket(AF_INET, SOCK_STREAM, 0)};
    if (l->fd < 0)
        return false;
    /* Before connect, so the window the node sees stays that small. */
    int small = 4096;
    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    uint8_t hello[P2P_HELLO_FIXED_BYTES], peer[P2P_HELLO_FIXED_BYTES + P2P_ADDR_MAX];
    uint8_t *eph_pk = hello + 4 + 2 + HASH_BYTES + SIG_PUBKEY_BYTES,
            eph_sk[crypto_kx_SECRETKEYBYTES];
    const uint8_t *peer_eph = peer + 4 + 2 + HASH_BYTES + SIG_PUBKEY_BYTES;
    memcpy(hello, P2P_MAGIC, 4);
    hello[4] = P2P_VERSION >> 8;
    hello[5] = P2P_VERSION & 0xff;
    memcpy(hello + 6, ev.genesis_hash, HASH_BYTES);
    memcpy(hello + 6 + HASH_BYTES, key->pk, SIG_PUBKEY_BYTES);
    crypto_kx_keypair(eph_pk, eph_sk);
    hello[P2P_HELLO_FIXED_BYTES - 1] = 0; /* no listen address */
    bool ok = inet_pton(AF_INET, host, &sa.sin_addr) == 1 &&
              connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
              fd_write_all(l->fd, hello, sizeof(hello)) &&
              fd_read_all(l->fd, peer, P2P_HELLO_FIXED_BYTES) &&
              peer[P2P_HELLO_FIXED_BYTES - 1] < P2P_ADDR_MAX &&
              fd_read_all(l->fd, peer + P2P_HELLO_FIXED_BYTES, peer[P2P_HELLO_FIXED_BYTES - 1]) &&
              crypto_kx_client_session_keys(l->rx_key, l->tx_key, eph_pk, eph_sk, peer_eph) == 0;
    sodium_memzero(eph_sk, sizeof(eph_sk));
    if (ok) {
        /* AUTH: our role (we dialled), our HELLO, then the node's, signed. */
        size_t peer_len = P2P_HELLO_FIXED_BYTES + peer[P2P_HELLO_FIXED_BYTES - 1];
        uint8_t pre[1 + sizeof(hello) + sizeof(peer)], h[HASH_BYTES], auth[SIG_BYTES];
        pre[0] = P2P_ROLE_DIALLER;
        memcpy(pre + 1, hello, sizeof(hello));
        memcpy(pre + 1 + sizeof(hello), peer, peer_len);
        hash_tagged(h, P2P_AUTH_TAG, pre, 1 + sizeof(hello) + peer_len);
        ok = sig_sign(auth, h, key->sk) == IDL_OK && fd_write_all(l->fd, auth, sizeof(auth)) &&
             fd_read_all(l->fd, auth, sizeof(auth));
    }
    if (!ok)
        close(l->fd);
    return ok;
}

/* Seals msg (len bytes) as the next frame and sends it. False if the link failed. */
static bool
hog_send(struct hog_link *l, const uint8_t *msg, size_t len)
{
    uint8_t *wire = malloc(4 + len + P2P_TAG_BYTES);
    uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    if (!wire)
        return false;
    codec_be32_put(wire, (uint32_t)(len + P2P_TAG_BYTES));
    hog_nonce(nonce, l->tx_seq++);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(wire + 4, wire + 4 + len, NULL, msg, len,
                                                       wire, 4, NULL, nonce, l->tx_key);
    bool ok = fd_write_all(l->fd, wire, 4 + len + P2P_TAG_BYTES);
    free(wire);
    return ok;
}

/*
 * The next frame, opened (caller frees; *len its length), or NULL at EOF, on an error, a
 * frame that does not open, or when nothing came for the socket's receive timeout. *wire
 * gets its bytes on the wire.
 */
static uint8_t *
hog_recv(struct hog_link *l, size_t *len, size_t *wire)
{
    uint8_t hdr[4], nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    if (!fd_read_all(l->fd, hdr, sizeof(hdr)))
        return NULL;
    uint32_t body = codec_be32_get(hdr);
    uint8_t *buf =
        body >= P2P_TAG_BYTES && body <= P2P_FRAME_MAX + P2P_TAG_BYTES ? malloc(body) : NULL;
    if (!buf || !fd_read_all(l->fd, buf, body)) {
        free(buf);
        return NULL;
    }
    *len = body - P2P_TAG_BYTES;
    *wire = sizeof(hdr) + body;
    hog_nonce(nonce, l->rx_seq++);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, *len, buf + *len, hdr,
                                                           sizeof(hdr), nonce, l->rx_key) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static uint64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Reads frames until no sync reply has come for quiet_ms (the node's status frames, sent
 * every second, go on), or the link ends: *replies gets the number of sync replies (each
 * begins with block 1) and *bytes their frames' bytes on the wire.
 */
static void
hog_drain(struct hog_link *l, unsigned quiet_ms, unsigned *replies, size_t *bytes)
{
    struct timeval tv = {quiet_ms / 1000, (long)(quiet_ms % 1000) * 1000};
    int big = 4 << 20;
    setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    *replies = 0;
    *bytes = 0;
    size_t len, wire;
    uint8_t *frame;
    for (uint64_t last = mono_ms();
         mono_ms() - last < quiet_ms && (frame = hog_recv(l, &len, &wire)) != NULL;) {
        struct cons_msg m;
        if (cons_msg_decode(&m, frame, len) == IDL_OK) {
            struct ledger_block b;
            if (m.kind == MSG_DECIDED &&
                ledger_block_decode(&b, m.body.decided.block.data, m.body.decided.block.len,
                                    ev.chain) == IDL_OK) {
                *replies += b.header.height == 1;
                *bytes += wire;
                last = mono_ms();
                ledger_block_free(&b);
            }
            cons_msg_free(&m);
        }
        free(frame);
    }
}

/*
 * Asks the victim for the whole chain every 100 ms for `seconds` (half the rate a peer may
 * ask at: bft.c's SERVE_REQS_PER_S), on a link it does not read; then, 2 s after the last
 * request, reads what the victim queued for it. 0, or 1 if the link failed.
 */
static int
hog(const char *victim, const struct wallet_key *key, unsigned seconds)
{
    struct hog_link l;
    if (!hog_connect(&l, victim, key)) {
        fprintf(stderr, "evilpeer: no p2p handshake with %s\n", victim);
        return 1;
    }
    printf("evilpeer: linked to %s, reading nothing\n", victim);
    fflush(stdout);
    struct cons_msg rq = {.kind = MSG_SYNC_REQ};
    rq.body.sync_req.from = 1;
    rq.body.sync_req.max = CONS_SYNC_BLOCKS_MAX;
    struct idl_bytes out;
    if (cons_msg_encode(&rq, &out) != IDL_OK) {
        close(l.fd);
        return 1;
    }
    unsigned sent = 0;
    for (; sent < seconds * 10 && hog_send(&l, out.data, out.len); sent++)
        sleep_ms(100);
    free(out.data);
    sleep_ms(2000);
    unsigned replies;
    size_t bytes;
    hog_drain(&l, 3000, &replies, &bytes);
    close(l.fd);
    sodium_memzero(&l, sizeof(l));
    printf("evilpeer: answered %u of %u sync requests, %zu bytes\n", replies, sent, bytes);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *gpath = NULL, *honest = NULL, *victim = NULL, *listen = NULL;
    const char *key_path = NULL, *pass_file = NULL;
    unsigned seconds = 20;
    bool reconnect = false;
    ev.mode = "cert";
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--reconnect")) {
            reconnect = true;
            continue;
        }
        if (!strcmp(argv[i], "--genesis"))
            gpath = v;
        else if (!strcmp(argv[i], "--honest"))
            honest = v;
        else if (!strcmp(argv[i], "--victim"))
            victim = v;
        else if (!strcmp(argv[i], "--listen"))
            listen = v;
        else if (!strcmp(argv[i], "--mode"))
            ev.mode = v;
        else if (!strcmp(argv[i], "--seconds"))
            seconds = (unsigned)atoi(v);
        else if (!strcmp(argv[i], "--key"))
            key_path = v;
        else if (!strcmp(argv[i], "--passphrase-file"))
            pass_file = v;
        i++;
    }
    bool equivocating = !strcmp(ev.mode, "equivocate");
    if (!gpath || !honest || !victim || !listen || (equivocating && (!key_path || !pass_file))) {
        fprintf(stderr, "usage: evilpeer --genesis F --honest H:P --victim H:P --listen H:P "
                        "--mode block|cert|mute|spam|equivocate|hog [--seconds N] [--reconnect] "
                        "[--key F --passphrase-file F]\n");
        return 2;
    }
    struct genesis g;
    char why[256];
    if (genesis_load(&g, gpath, why, sizeof(why)) != IDL_OK) {
        fprintf(stderr, "evilpeer: %s\n", why);
        return 1;
    }
    memcpy(ev.genesis_hash, g.ledger.hash, HASH_BYTES);
    snprintf(ev.chain, sizeof(ev.chain), "%s", g.ledger.chain_id);
    struct wallet_key *signer = NULL;
    int index = equivocating ? signer_load(&signer, key_path, pass_file, &g.ledger) : 0;
    if (index < 0) {
        genesis_wipe(&g);
        return 1;
    }
    struct wallet_key *key;
    if (wallet_key_generate(&key) != IDL_OK)
        return 1;
    const char *peers[1] = {honest};
    struct p2p_config cfg = {listen, peers, 1, ev.genesis_hash, key, "", "", ""};
    if (p2p_start(&net, &cfg, on_recv, on_peer, NULL, why, sizeof(why)) != IDL_OK) {
        fprintf(stderr, "evilpeer: %s\n", why);
        return 1;
    }
    /* 1. Fetch the honest chain. */
    for (int t = 0; t < 100 && !ev.honest_up; t++)
        sleep_ms(50);
    struct cons_msg req = {.kind = MSG_SYNC_REQ};
    req.body.sync_req.from = 1;
    req.body.sync_req.max = CONS_SYNC_BLOCKS_MAX;
    send_to(ev.honest_peer, &req);
    for (int t = 0; t < 60 && ev.top == 0; t++)
        sleep_ms(50);
    sleep_ms(300);
    printf("evilpeer: fetched %llu blocks\n", (unsigned long long)ev.top);
    fflush(stdout);
    /* 2. Reach the victim by restarting with it as the peer to dial. */
    p2p_stop(net);
    if (!strcmp(ev.mode, "hog")) {
        int rc = hog(victim, key, seconds);
        wallet_key_free(key);
        genesis_wipe(&g);
        return rc;
    }
    ev.honest_up = true; /* from now on every peer that comes up is the victim */
    ev.honest_peer = UINT32_MAX;
    peers[0] = victim;
    if (p2p_start(&net, &cfg, on_recv, on_peer, NULL, why, sizeof(why)) != IDL_OK) {
        fprintf(stderr, "evilpeer: %s\n", why);
        return 1;
    }
    if (!strcmp(ev.mode, "spam")) {
        /* 3'. Ask for the whole chain 300 times at once; count the replies. */
        for (int t = 0; t < 100 && !ev.victim_up; t++)
            sleep_ms(50);
        struct cons_msg rq = {.kind = MSG_SYNC_REQ};
        rq.body.sync_req.from = 1;
        rq.body.sync_req.max = CONS_SYNC_BLOCKS_MAX;
        for (int k = 0; k < 300; k++)
            send_to(ev.victim_peer, &rq);
        sleep_ms(2000);
        printf("evilpeer: answered %u of 300 sync requests\n", ev.answers);
        p2p_stop(net);
        wallet_key_free(key);
        genesis_wipe(&g);
        return 0;
    }
    if (equivocating) {
        /* 3''. Prevote in the validator's name against what it prevotes itself. */
        unsigned heights = equivocate(signer, (uint16_t)index, seconds);
        printf("evilpeer: sent conflicting prevotes at %u heights\n", heights);
        p2p_stop(net);
        wallet_key_free(signer);
        wallet_key_free(key);
        genesis_wipe(&g);
        return 0;
    }
    /* 3. Claim to be far ahead, again and again, until the time is up. */
    for (unsigned t = 0; t < seconds * 2; t++) {
        if (reconnect && t == seconds) {
            /* A new link under the same key: a victim must remember what we did. */
            p2p_stop(net);
            ev.victim_up = false;
            if (p2p_start(&net, &cfg, on_recv, on_peer, NULL, why, sizeof(why)) != IDL_OK) {
                fprintf(stderr, "evilpeer: %s\n", why);
                return 1;
            }
            pthread_mutex_lock(&ev.lock);
            ev.reconnected = true;
            pthread_mutex_unlock(&ev.lock);
        }
        if (ev.victim_up) {
            struct cons_msg st = {.kind = MSG_STATUS};
            st.body.status.height = ev.top + 1000;
            send_to(ev.victim_peer, &st);
        }
        sleep_ms(500);
    }
    printf("evilpeer: served %u tampered blocks\n", ev.served);
    if (reconnect)
        printf("evilpeer: asked %u times after reconnecting\n", ev.asked_after);
    p2p_stop(net);
    wallet_key_free(key);
    genesis_wipe(&g);
    return 0;
}
