#!/usr/bin/env python3
"""Known-answer values for crates/signal/tests/kat.rs, computed independently of the Rust code
with Python's `cryptography` package (pip install cryptography; run: python3 kat.py).

Inputs are fixed byte ranges; the constructions follow docs/signal.md:
  KDF_RK(rk, dh)  = HKDF-SHA256(salt=rk, ikm=dh, info="WiretapRatchet", L=64) -> rk' || ck
  KDF_RK_HE       = the same with L=96 -> rk' || ck || nhk
  KDF_CK(ck)      = HMAC-SHA256(ck, 0x02) || HMAC-SHA256(ck, 0x01)
  X3DH KDF(km)    = HKDF-SHA256(salt=0^32, ikm=0xFF^32 || km, info, L=32)
  ENCRYPT(mk,p,a) = AES-256-GCM(key=okm[:32], nonce=okm[32:44], p, a) with
                    okm = HKDF-SHA256(salt=0^32, ikm=mk, info="WiretapMessageKeys", L=44)
  X25519          = RFC 7748 (for the X3DH DHs from fixed private keys)
"""
import hmac, hashlib
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization

def hkdf(salt, ikm, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)

def rng(a, n):
    return bytes((a + i) & 0xFF for i in range(n))

rk, dh, ck, mk = rng(0x00, 32), rng(0x20, 32), rng(0x40, 32), rng(0xA0, 32)
out = hkdf(rk, dh, b"WiretapRatchet", 64)
print("KDF_RK rk", out[:32].hex()); print("KDF_RK ck", out[32:].hex())
out = hkdf(rk, dh, b"WiretapRatchet", 96)
print("KDF_RK_HE nhk", out[64:].hex())
print("KDF_CK ck", hmac.new(ck, b"\x02", hashlib.sha256).hexdigest())
print("KDF_CK mk", hmac.new(ck, b"\x01", hashlib.sha256).hexdigest())
km = rng(0x60, 128)
print("X3DH SK", hkdf(b"\x00" * 32, b"\xff" * 32 + km, b"Wiretap_X3DH_CURVE25519_SHA-256", 32).hex())
okm = hkdf(b"\x00" * 32, mk, b"WiretapMessageKeys", 44)
ad = rng(0xC0, 66)
print("ENCRYPT", AESGCM(okm[:32]).encrypt(okm[32:44], b"wiretap known answer", ad).hex())

# Full X3DH from fixed private keys (IK_A, EK_A, IK_B, SPK_B, OPK_B).
def priv(b):
    return X25519PrivateKey.from_private_bytes(bytes([b]) * 32)
def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
ik_a, ek_a, ik_b, spk_b, opk_b = priv(1), priv(2), priv(3), priv(4), priv(5)
dh1 = ik_a.exchange(spk_b.public_key()); dh2 = ek_a.exchange(ik_b.public_key())
dh3 = ek_a.exchange(spk_b.public_key()); dh4 = ek_a.exchange(opk_b.public_key())
info = b"Wiretap_X3DH_CURVE25519_SHA-256"
print("X3DH full SK (with OPK)", hkdf(b"\x00" * 32, b"\xff" * 32 + dh1 + dh2 + dh3 + dh4, info, 32).hex())
print("X3DH full SK (no OPK)", hkdf(b"\x00" * 32, b"\xff" * 32 + dh1 + dh2 + dh3, info, 32).hex())
print("AD", (b"\x05" + pub(ik_a) + b"\x05" + pub(ik_b)).hex())
