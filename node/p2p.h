/*
 * Peer links: authenticated, encrypted, length-framed byte streams between nodes, on NNG's
 * stream API (TCP, or TLS when the node is configured with certificates).
 *
 * A node listens on its p2p address and dials each configured peer, reconnecting with
 * backoff. Every new connection runs a handshake before any frame is delivered:
 *   1. each side sends HELLO: magic "IDLP", version, genesis hash, its node public key, a
 *      fresh X25519 key of its own for this connection (its "ephemeral" key), and its
 *      listen address. Each side derives two session keys from the two ephemeral keys
 *      (libsodium's crypto_kx; the dialler is the client), one for each direction;
 *   2. each side answers AUTH: a BIP-340 signature, by its node key, of its role (dialler
 *      or listener) and both HELLOs as they were sent, the dialler's first.
 * A peer on another chain (genesis hash differs), with a bad signature, or presenting our
 * own key is disconnected. Two connections to the same peer (both dialled each other): the
 * one dialled by the node with the smaller public key is kept, the other closed.
 *
 * After the handshake a connection carries frames, each sealed with ChaCha20-Poly1305
 * under the sender's session key: u32 big-endian length of the sealed body, then the
 * ciphertext and its 16-byte tag. The nonce counts the frames sent in that direction
 * (4 zero bytes, then the count as u64 big-endian), and the length is the associated data.
 * A frame that does not open (altered, replayed, reordered, or sealed by anyone else)
 * closes the connection. Payloads are at most P2P_FRAME_MAX bytes (a larger announced
 * length closes the connection) and opaque here: consensus/msg.h gives them meaning.
 *
 * Why both: the signature over both HELLOs proves that the node key's holder took part in
 * this very key exchange, with this peer, on this side of it, and the session keys are
 * known to the two ends only. Someone relaying two handshakes (to speak on one link under
 * the key of the node on the other) gets links whose frames he can neither read nor write:
 * he can pass them on, or cut the link, as anyone on the path can. A handshake sent back
 * to its sender, or one node's AUTH passed to another, does not verify.
 *
 * Delivery is reliable and ordered per connection while it lives. Sends never block: each
 * peer has a bounded send queue (P2P_QUEUE_BYTES_MAX); a peer that cannot keep up is
 * disconnected rather than silently losing frames, and catches up by block sync when it
 * reconnects.
 *
 * Anyone who knows the genesis hash can make a key and connect, so what strangers may hold
 * is bounded apart from what the network needs. A connection we dialled (a configured
 * peer) and one from a reserved key (the validators) are "privileged": always let in, up
 * to P2P_LINKS_MAX links in all. Other inbound connections get at most inbound_max
 * (P2P_PEERS_MAX) places once authenticated. Inbound handshakes (the key is not known yet)
 * get as many places, at most P2P_HANDSHAKES_PER_HOST from one address, and the oldest
 * gives way when all are taken. Large frames from unprivileged peers share
 * P2P_RX_SHARED_BYTES_MAX bytes of buffers and must arrive within P2P_FRAME_GRACE_MS plus a
 * second per P2P_FRAME_MIN_RATE bytes, and what those peers send is read at
 * P2P_RX_SHARED_RATE in all (a stranger sending faster waits on TCP, at no cost to us).
 * Refusals are logged at most LOG_BURST lines a second.
 *
 * Mutual TLS with a CA (below) adds a gate in front: strangers cannot connect at all.
 *
 * Callbacks run on NNG's threads, possibly concurrently for different peers; they must not
 * block. After p2p_stop returns no callback is running or will run.
 */
#ifndef IDL_NODE_P2P_H
#define IDL_NODE_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/err.h"
#include "ledger/hash.h"
#include "ledger/sig.h"
#include "wallet/key.h"

#define P2P_FRAME_MAX           (40u * 1024 * 1024)
#define P2P_QUEUE_BYTES_MAX     (256u * 1024 * 1024)
#define P2P_PEERS_MAX           128                 /* inbound, unprivileged (see above) */
#define P2P_LINKS_MAX           (2 * P2P_PEERS_MAX) /* authenticated connections in all */
#define P2P_RX_SHARED_BYTES_MAX (64u << 20) /* large frames being read from unprivileged peers */
#define P2P_FRAME_GRACE_MS      5000
#define P2P_FRAME_MIN_RATE      (256u * 1024) /* bytes a second */
#define P2P_RX_SHARED_RATE      (16u << 20) /* bytes a second read from unprivileged peers, in all */
#define P2P_HANDSHAKES_PER_HOST 8           /* inbound handshakes at once from one address */

/*
 * The rest of this header spells out what the paragraphs above leave open; it adds to the
 * contract and changes none of it.
 *
 * Wire format of the handshake (integers big-endian; neither message is length-framed nor
 * sealed):
 *   HELLO: "IDLP" | u16 version (P2P_VERSION) | genesis hash (32) | public key (32)
 *          | ephemeral X25519 key (32) | u8 n | listen address (n bytes, printable ASCII,
 *          n < P2P_ADDR_MAX)
 *   AUTH:  the 64-byte BIP-340 signature, by the HELLO's key, of hash_tagged(P2P_AUTH_TAG,
 *          role | the dialler's HELLO | the listener's HELLO), role being P2P_ROLE_DIALLER
 *          or P2P_ROLE_LISTENER: the signer's side of the connection.
 * Each side sends HELLO as soon as the connection opens and AUTH once it has checked the
 * peer's HELLO; sealed frames follow AUTH directly. A connection whose handshake has not
 * finished P2P_HANDSHAKE_TIMEOUT_MS after it opened is closed. An empty frame (a sealed
 * body of the tag alone) is valid and is delivered as one on_recv call with len 0.
 *
 * Two connections to the same key in the same direction (a peer that reconnected before its
 * old connection was seen to close): the newer one is kept. A HELLO that presents our own
 * key is answered; the connection is taken for a dial to ourselves (and that address is not
 * dialled again) only once the peer's AUTH proves it, so a stranger cannot stop a dialler
 * by claiming our key.
 *
 * Callback order: for one peer id, on_peer(up) comes first, then its frames in the order
 * they were sent, then on_peer(down). For one public key, up and down alternate: when a
 * connection replaces another to the same key, the new one is announced only after the old
 * one's down, so at most one connection per key is up at any time. A peer may close at any
 * moment, even while its on_peer(up) runs; p2p_send to it then returns false. Callbacks may
 * call p2p_broadcast, p2p_send and p2p_peers, never p2p_stop. Once p2p_stop has begun, no new
 * callback is started, not even on_peer(down) for the connections it closes; one already
 * under way finishes, and p2p_stop waits for it.
 *
 * TLS: when tls_cert and tls_key are set, peers speak TLS ("tls+tcp://"); with tls_ca also
 * set, both sides require a certificate signed by that CA (mutual TLS). Host names in
 * certificates are not checked: peers are authenticated by node key in the handshake, and
 * the CA decides who may open a connection at all. Frames are sealed inside TLS as well.
 */
#define P2P_MAGIC                "IDLP"
#define P2P_VERSION              2
#define P2P_EPHEMERAL_BYTES      32 /* an X25519 public key */
#define P2P_TAG_BYTES            16 /* a sealed frame's Poly1305 tag */
#define P2P_HELLO_FIXED_BYTES    (4 + 2 + HASH_BYTES + SIG_PUBKEY_BYTES + P2P_EPHEMERAL_BYTES + 1)
#define P2P_AUTH_TAG             "idledger/p2p-auth"
#define P2P_ADDR_MAX             64 /* "host:port", NUL included: the bound of every address here */
#define P2P_HELLO_MAX            (P2P_HELLO_FIXED_BYTES + P2P_ADDR_MAX - 1)
#define P2P_ROLE_DIALLER         'D'
#define P2P_ROLE_LISTENER        'L'
#define P2P_HANDSHAKE_TIMEOUT_MS 5000
#define P2P_BACKOFF_MIN_MS       100 /* redial delay after a success; doubles per failure */
#define P2P_BACKOFF_MAX_MS       5000

struct p2p;

struct p2p_config {
    const char *listen;       /* "host:port" */
    const char *const *peers; /* "host:port" to dial */
    size_t n_peers;
    const uint8_t *genesis_hash;  /* HASH_BYTES */
    const struct wallet_key *key; /* the node's identity (borrowed for the p2p's life) */
    const char *tls_cert;         /* PEM files; all empty or NULL: plain TCP */
    const char *tls_key;
    const char *tls_ca;
    const uint8_t (*reserved)[SIG_PUBKEY_BYTES]; /* keys always let in (the validators) */
    size_t n_reserved;
    size_t inbound_max; /* unprivileged inbound places; 0 for P2P_PEERS_MAX */
};

struct p2p_peer_info {
    uint32_t id; /* stable while the connection lives */
    uint8_t pubkey[SIG_PUBKEY_BYTES];
    char addr[64]; /* outbound: the address dialled; inbound: the remote socket address */
    bool outbound;
    char listen_addr[P2P_ADDR_MAX]; /* the listen address in the peer's HELLO (unverified) */
};

/* A frame from an authenticated peer. msg is valid during the call only. */
typedef void (*p2p_recv_fn)(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES],
                            const uint8_t *msg, size_t len);
/* A peer finished its handshake (up) or its connection closed (down). */
typedef void (*p2p_peer_fn)(void *arg, uint32_t peer, const uint8_t pubkey[SIG_PUBKEY_BYTES],
                            bool up);

/*
 * Starts listening and dialling. Reasons go to why. Addresses are "host:port" shorter than
 * P2P_ADDR_MAX; at most P2P_PEERS_MAX peers to dial, and as many reserved keys.
 * IDL_ERR_INVALID (bad address or TLS files), IDL_ERR_IO (cannot listen), IDL_ERR_NOMEM,
 * IDL_ERR_CRYPTO. On success the caller stops and frees it with p2p_stop.
 */
IDL_MUST_USE idl_err p2p_start(struct p2p **out, const struct p2p_config *cfg, p2p_recv_fn on_recv,
                               p2p_peer_fn on_peer, void *arg, char *why, size_t why_len);
/*
 * Closes every connection and the listener and waits for callbacks in progress.
 * Then frees p: no call to p2p_broadcast, p2p_send or p2p_peers may run concurrently with
 * p2p_stop or after it (stop the threads that make them first). NULL is a no-op.
 */
void p2p_stop(struct p2p *p);

/*
 * Queues msg (copied) for every authenticated peer. len is at most P2P_FRAME_MAX (a larger
 * one is a bug of the caller: asserted); msg may be NULL when len is 0.
 */
void p2p_broadcast(struct p2p *p, const uint8_t *msg, size_t len);
/* Queues msg (copied) for one peer. False if that peer is not connected. Bounds as above. */
bool p2p_send(struct p2p *p, uint32_t peer, const uint8_t *msg, size_t len);

/* Fills out with up to max connected peers; returns how many. */
size_t p2p_peers(struct p2p *p, struct p2p_peer_info *out, size_t max);

/* Whether peer's link is privileged (we dialled it, or its key is reserved); false if gone. */
bool p2p_privileged(struct p2p *p, uint32_t peer);

/*
 * Bytes queued to peer and not yet sent (0 if it is not connected); *total (may be NULL)
 * gets the sum over every connection, where a broadcast frame counts once per queue.
 */
size_t p2p_queued(struct p2p *p, uint32_t peer, size_t *total);

#endif
