#!/usr/bin/env python3
# Independent computation of the golden vectors pinned in tx_test.c and block_test.c:
# hashlib for the tagged hashes, a pure-Python BIP-340 (checked against its test vector 0)
# for the signature. Run: python3 tests/unit/golden.py
import hashlib, struct
def sha(b): return hashlib.sha256(b).digest()
def tagged(tag, m):
    t = sha(tag.encode()); return sha(t + t + m)
def s16(s): b = s.encode(); return struct.pack('>H', len(b)) + b
golden = (b'\x01' + s16('golden') + struct.pack('>H', 1) + s16('root-sysadmin') +
          struct.pack('>Q', 1) + struct.pack('>Q', 1700000000) + b'\x11' * 32 +
          s16('440100') + s16('广州市教育局') + b'\x02' + s16('440000') + b'\x00' + b'\x22' * 64)
assert len(golden) == 176
unsigned = golden[:-64]
print('txid    ', tagged('idledger/txid', golden).hex())
print('sighash ', tagged('idledger/tx-sig', unsigned).hex())

# BIP-340 (reference algorithm)
p = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
def padd(P, Q):
    if P is None: return Q
    if Q is None: return P
    if P[0] == Q[0] and P[1] != Q[1]: return None
    if P == Q: lam = 3 * P[0] * P[0] * pow(2 * P[1], p - 2, p) % p
    else: lam = (Q[1] - P[1]) * pow(Q[0] - P[0], p - 2, p) % p
    x = (lam * lam - P[0] - Q[0]) % p
    return (x, (lam * (P[0] - x) - P[1]) % p)
def pmul(P, k):
    R = None
    for i in range(256):
        if (k >> i) & 1: R = padd(R, P)
        P = padd(P, P)
    return R
i2b = lambda x: x.to_bytes(32, 'big')
b2i = lambda b: int.from_bytes(b, 'big')
def sign(msg, sk, aux):
    d0 = b2i(sk); P = pmul(G, d0); d = d0 if P[1] % 2 == 0 else n - d0
    t = bytes(a ^ b for a, b in zip(i2b(d), tagged('BIP0340/aux', aux)))
    k0 = b2i(tagged('BIP0340/nonce', t + i2b(P[0]) + msg)) % n
    R = pmul(G, k0); k = k0 if R[1] % 2 == 0 else n - k0
    e = b2i(tagged('BIP0340/challenge', i2b(R[0]) + i2b(P[0]) + msg)) % n
    return i2b(R[0]) + i2b((k + e * d) % n), i2b(P[0])
# Check the implementation against BIP-340 test vector 0 first.
v0, _ = sign(b'\0' * 32, i2b(3), b'\0' * 32)
assert v0.hex().upper() == ('E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215'
                            '25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0'), v0.hex()
sk = bytes(range(1, 33)); aux = b'\x5a' * 32
sig, pk = sign(tagged('idledger/tx-sig', unsigned), sk, aux)
print('pubkey  ', pk.hex())
print('sig     ', sig.hex())
print('txid(signed)', tagged('idledger/txid', unsigned + sig).hex())

leaf = lambda x: tagged('idledger/merkle-leaf', x)
node = lambda l, r: tagged('idledger/merkle-node', l + r)
A, B, C = b'\xaa' * 32, b'\xbb' * 32, b'\xcc' * 32
root = node(node(leaf(A), leaf(B)), leaf(C))
print('tx_root ', root.hex())
hdr = (b'\x01' + s16('golden') + struct.pack('>Q', 7) + struct.pack('>Q', 1700000000123) +
       b'\x01' * 32 + b'\x02' * 32 + root + pk + struct.pack('>I', 3))
print('block   ', tagged('idledger/block', hdr).hex())
