//! An independent Noise transcript engine: the adversary's own implementation of the Noise key
//! schedule (specification revision 34), driven by the keys it holds rather than by a role.
//!
//! snow is built for the two honest parties; the attacker is neither. It watches a transcript
//! and holds some set of private keys ([`Keyring`]): stolen device keys, a server's static key,
//! the ephemerals it generated itself while impersonating someone, or a "quantum" oracle
//! ([`DhOracle`]). A DH between public keys `A` and `B` succeeds iff it holds the private key of
//! either (X25519(a, B) = X25519(b, A)) or the oracle answers. [`Engine::read`] absorbs the
//! messages in order and returns each payload it can derive; when it cannot, it says exactly
//! which DH, psk or KEM secret was missing ([`Blocked`]), and keeps tracking the transcript
//! (ephemerals, the handshake hash while it does not depend on a secret). [`Engine::write`] plays
//! either party. The engine is cheap and `Clone`: to finish a derivation when keys are revealed
//! later, re-run the transcript with the bigger keyring.
//!
//! Supported: every name snow 0.10 parses with 25519 — the 38 base patterns, `pskN` modifiers
//! (where every `e` token also calls `MixKey`, §9.2), and the `hfs` modifier with
//! `25519+Kyber1024` exactly as snow 0.10 places its `e1`/`ekem1` tokens (`e1` after the first
//! message's first DH, or after its `e` if it has none; `ekem1` right after the first `ee`).
//! "Kyber1024" is served by ML-KEM-1024 as in `proto::crypto`. Hashes SHA256, SHA512, BLAKE2s,
//! BLAKE2b; ciphers ChaChaPoly and AESGCM; transport after `Split` with `c1` initiator to
//! responder, `c2` back (one-way patterns: `c1` only), empty associated data.
//!
//! Messages are numbered from 1 over the whole transcript in errors and [`Blocked`].
//! Like an honest party, the engine is unusable after an error inside a message (a bad tag, a
//! low-order point, a failed write): clone it first to retry.

mod error;
mod keyring;
pub mod primitives;

pub use error::{Blocked, EngineError};
pub use keyring::{DhOracle, Keyring};

use keyring::Dh;
use primitives::{CipherFn, HashFn};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::noise::patterns::{self, Token};

/// Bytes of an AEAD tag.
const TAG: usize = 16;
/// Bytes of an X25519 public key.
const DHLEN: usize = 32;
/// Bytes of an ML-KEM-1024 public key and of its ciphertext.
pub const KEM_LEN: usize = 1568;
/// Noise's maximum message length.
const MAX_MESSAGE: usize = 65_535;

/// A party of the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Role {
    /// Sends the first message.
    Initiator,
    /// Answers.
    Responder,
}

impl Role {
    fn idx(self) -> usize {
        match self {
            Role::Initiator => 0,
            Role::Responder => 1,
        }
    }
}

/// The static public keys the pattern's pre-messages need (from a key directory, say).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Premessages {
    /// The initiator's static public key (`K`, `I`... patterns with `-> s` before `...`).
    pub initiator_static: Option<[u8; 32]>,
    /// The responder's static public key (`N`, `K`, `X`, `NK`, `IK`... patterns).
    pub responder_static: Option<[u8; 32]>,
}

/// What reading one message gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The plaintext payload, or `None` if its key could not be derived (`blocked` says why).
    pub payload: Option<Vec<u8>>,
    /// Static public keys this message revealed (in clear, or decrypted).
    pub statics_learned: Vec<(Role, [u8; 32])>,
    /// Why the payload is `None`: the reason if derivation stopped in this message,
    /// [`Blocked::EarlierBlock`] if it had stopped before.
    pub blocked: Option<Blocked>,
}

/// One token as the engine runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    E,
    S,
    Dh(Token),
    /// A psk token; the index of its modifier in the name.
    Psk(usize),
    E1,
    Ekem1,
}

/// The SymmetricState (§5.2) with the CipherState (§5.1) inside; any part may be unknown to
/// the attacker (`None`) once derivation is blocked.
#[derive(Clone)]
struct Sym {
    hash: HashFn,
    cipher: CipherFn,
    ck: Option<Zeroizing<Vec<u8>>>,
    h: Option<Vec<u8>>,
    has_key: bool,
    k: Option<Zeroizing<[u8; 32]>>,
    n: u64,
}

/// A cipher key was needed but is unknown.
struct Unknown;

fn key32(bytes: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    let n = bytes.len().min(32);
    k[..n].copy_from_slice(&bytes[..n]);
    k
}

fn arr32(bytes: &[u8]) -> [u8; 32] {
    let mut a = [0u8; 32];
    let n = bytes.len().min(32);
    a[..n].copy_from_slice(&bytes[..n]);
    a
}

impl Sym {
    fn new(hash: HashFn, cipher: CipherFn, name: &str) -> Sym {
        let h = if name.len() <= hash.hash_len() {
            let mut h = name.as_bytes().to_vec();
            h.resize(hash.hash_len(), 0);
            h
        } else {
            hash.hash(&[name.as_bytes()])
        };
        Sym {
            hash,
            cipher,
            ck: Some(Zeroizing::new(h.clone())),
            h: Some(h),
            has_key: false,
            k: None,
            n: 0,
        }
    }

    fn mix_hash(&mut self, data: &[u8]) {
        if let Some(h) = &self.h {
            self.h = Some(self.hash.hash(&[h, data]));
        }
    }

    fn mix_key(&mut self, ikm: Option<&[u8]>) {
        self.has_key = true;
        self.n = 0;
        match (&self.ck, ikm) {
            (Some(ck), Some(ikm)) => {
                let [ck, k] = self.hash.hkdf2(ck, ikm);
                self.ck = Some(ck);
                self.k = Some(key32(&k));
            }
            _ => {
                self.ck = None;
                self.k = None;
            }
        }
    }

    fn mix_key_and_hash(&mut self, ikm: Option<&[u8]>) {
        self.has_key = true;
        self.n = 0;
        match (&self.ck, ikm) {
            (Some(ck), Some(ikm)) => {
                let [ck, th, k] = self.hash.hkdf(ck, ikm);
                self.ck = Some(ck);
                self.mix_hash(&th[..self.hash.hash_len()]);
                self.k = Some(key32(&k));
            }
            _ => {
                self.ck = None;
                self.k = None;
                self.h = None;
            }
        }
    }

    fn next_nonce(&mut self, message: usize) -> Result<u64, EngineError> {
        if self.n == u64::MAX {
            return Err(EngineError::NonceExhausted { message });
        }
        let n = self.n;
        self.n += 1;
        Ok(n)
    }

    fn encrypt_and_hash(
        &mut self,
        pt: &[u8],
        message: usize,
    ) -> Result<Result<Vec<u8>, Unknown>, EngineError> {
        let out = if !self.has_key {
            pt.to_vec()
        } else {
            let (Some(k), Some(h)) = (self.k.clone(), self.h.clone()) else {
                return Ok(Err(Unknown));
            };
            let n = self.next_nonce(message)?;
            self.cipher
                .encrypt(&k, n, &h, pt)
                .ok_or(EngineError::TooLong {
                    message,
                    len: pt.len(),
                })?
        };
        self.mix_hash(&out);
        Ok(Ok(out))
    }

    fn decrypt_and_hash(
        &mut self,
        ct: &[u8],
        message: usize,
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        let out = if !self.has_key {
            Some(ct.to_vec())
        } else if let (Some(k), Some(h)) = (&self.k, &self.h) {
            let n = self.n;
            let pt = self
                .cipher
                .decrypt(k, n, h, ct)
                .ok_or(EngineError::BadTag { message, what })?;
            self.next_nonce(message)?;
            Some(pt)
        } else {
            None
        };
        self.mix_hash(ct);
        Ok(out)
    }

    fn split(&self) -> [CipherState; 2] {
        match &self.ck {
            Some(ck) => {
                let [k1, k2] = self.hash.hkdf2(ck, &[]);
                [
                    CipherState {
                        k: Some(key32(&k1)),
                        n: 0,
                    },
                    CipherState {
                        k: Some(key32(&k2)),
                        n: 0,
                    },
                ]
            }
            None => [CipherState { k: None, n: 0 }, CipherState { k: None, n: 0 }],
        }
    }
}

/// A transport CipherState; `k` unknown if derivation was blocked.
#[derive(Clone)]
struct CipherState {
    k: Option<Zeroizing<[u8; 32]>>,
    n: u64,
}

/// A parsed protocol name.
struct Parsed {
    messages: Vec<Vec<Tok>>,
    initiator_pre: bool,
    responder_pre: bool,
    psk_count: usize,
    psk_mode: bool,
    one_way: bool,
    hash: HashFn,
    cipher: CipherFn,
}

fn parse(name: &str) -> Result<Parsed, EngineError> {
    let bad = |why: &str| EngineError::Protocol(format!("{name:?}: {why}"));
    let parts: Vec<&str> = name.split('_').collect();
    let [noise, pattern, dh, cipher, hash] = parts[..] else {
        return Err(bad("expected Noise_<pattern>_<dh>_<cipher>_<hash>"));
    };
    if noise != "Noise" {
        return Err(bad("does not start with Noise_"));
    }
    let kem = match dh {
        "25519" => false,
        "25519+Kyber1024" => true,
        _ => return Err(bad("only 25519 (optionally +Kyber1024) is supported")),
    };
    let cipher = CipherFn::parse(cipher).ok_or_else(|| bad("unknown cipher"))?;
    let hash = HashFn::parse(hash).ok_or_else(|| bad("unknown hash"))?;
    let split = pattern
        .find(|c: char| c.is_ascii_lowercase())
        .unwrap_or(pattern.len());
    let (base, mods) = pattern.split_at(split);
    let mut hfs = false;
    let mut psk_mods: Vec<&str> = Vec::new();
    if !mods.is_empty() {
        for m in mods.split('+') {
            if m == "hfs" {
                if hfs {
                    return Err(bad("hfs repeated"));
                }
                hfs = true;
            } else {
                psk_mods.push(m);
            }
        }
    }
    let modified = patterns::modified(&format!("{base}{}", psk_mods.join("+")))
        .map_err(|e| bad(&e.to_string()))?;
    let positions: Vec<usize> = psk_mods
        .iter()
        .filter_map(|m| m.strip_prefix("psk").and_then(|n| n.parse().ok()))
        .collect();
    if hfs != kem {
        return Err(bad("the hfs modifier and a +Kyber1024 KEM go together"));
    }
    let one_way = modified.base.messages.len() == 1;
    if hfs && one_way {
        return Err(bad("hfs cannot modify a one-way pattern"));
    }
    let mut messages = Vec::new();
    for (mi, msg) in modified.messages.iter().enumerate() {
        let mut out = Vec::new();
        for (ti, &t) in msg.iter().enumerate() {
            out.push(match t {
                Token::E => Tok::E,
                Token::S => Tok::S,
                Token::Psk => {
                    let position = if mi == 0 && ti == 0 { 0 } else { mi + 1 };
                    let i = positions
                        .iter()
                        .position(|&p| p == position)
                        .ok_or_else(|| bad("psk position"))?;
                    Tok::Psk(i)
                }
                dh => Tok::Dh(dh),
            });
        }
        messages.push(out);
    }
    if hfs {
        // As snow 0.10's apply_hfs_modifier: e1 after the first DH of the first message with
        // an `e` (after that `e` if the message has no DH); ekem1 right after the first `ee`.
        for msg in &mut messages {
            if let Some(e) = msg.iter().position(|t| *t == Tok::E) {
                let at = msg
                    .iter()
                    .position(|t| matches!(t, Tok::Dh(_)))
                    .map_or(e + 1, |d| d + 1);
                msg.insert(at, Tok::E1);
                break;
            }
        }
        for msg in &mut messages {
            if let Some(ee) = msg.iter().position(|t| *t == Tok::Dh(Token::Ee)) {
                msg.insert(ee + 1, Tok::Ekem1);
                break;
            }
        }
    }
    Ok(Parsed {
        messages,
        initiator_pre: !modified.base.initiator_pre.is_empty(),
        responder_pre: !modified.base.responder_pre.is_empty(),
        psk_count: positions.len(),
        psk_mode: modified.psk_mode,
        one_way,
        hash,
        cipher,
    })
}

/// The Noise state of one transcript as the attacker can reconstruct it. See the
/// [module documentation](self).
#[derive(Clone)]
pub struct Engine {
    name: String,
    messages: Vec<Vec<Tok>>,
    psk_mode: bool,
    one_way: bool,
    psks: Vec<Option<Zeroizing<[u8; 32]>>>,
    sym: Sym,
    index: usize,
    statics: [Option<[u8; 32]>; 2],
    ephemerals: [Option<[u8; 32]>; 2],
    kem_public: Option<Vec<u8>>,
    blocked: Option<Blocked>,
    transport: Option<[CipherState; 2]>,
    failed: bool,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("protocol", &self.name)
            .field("message_index", &self.index)
            .field("blocked", &self.blocked)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

fn role_of(index: usize) -> Role {
    if index.is_multiple_of(2) {
        Role::Initiator
    } else {
        Role::Responder
    }
}

fn take<'a>(
    rest: &mut &'a [u8],
    n: usize,
    message: usize,
    total: usize,
) -> Result<&'a [u8], EngineError> {
    if rest.len() < n {
        return Err(EngineError::Truncated {
            message,
            need: total - rest.len() + n,
            got: total,
        });
    }
    let (field, tail) = rest.split_at(n);
    *rest = tail;
    Ok(field)
}

/// ML-KEM-1024 keypair from `d || z` (FIPS 203 `KeyGen_internal`): (public, secret), encoded.
/// The primitive is `proto::crypto`'s (one wrapper of the ml-kem crate, seed halves zeroized);
/// the engine's independence from snow is in the Noise logic, not in FIPS 203.
fn kem_keypair(d_z: &[u8; 64]) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
    let k = proto::crypto::KemKeypair::from_seed(d_z);
    (k.public.clone(), k.secret.clone())
}

use proto::crypto::{kem_decapsulate, kem_encapsulate};

impl Engine {
    /// An engine for `protocol` (any name snow 0.10 parses with 25519, including deferred, psk
    /// and `hfs` + `Kyber1024` patterns). `psk`, if given, serves every psk token; `None` in a
    /// psk pattern makes the first psk token block.
    ///
    /// # Errors
    /// [`EngineError::Protocol`] for an unsupported or malformed name,
    /// [`EngineError::MissingPremessage`] if the pattern has a pre-message whose key `pre`
    /// lacks.
    pub fn new(
        protocol: &str,
        prologue: &[u8],
        pre: &Premessages,
        psk: Option<[u8; 32]>,
    ) -> Result<Engine, EngineError> {
        let count = parse(protocol)?.psk_count;
        Engine::with_psks(protocol, prologue, pre, &vec![psk; count])
    }

    /// Like [`Engine::new`] with one key per psk modifier, in the order the name lists them
    /// (`NNpsk0+psk2`: the psk0 key, then the psk2 key), as the Noise test vectors give them.
    ///
    /// # Errors
    /// As [`Engine::new`], and [`EngineError::PskCount`] if `psks` does not have one entry per
    /// psk modifier.
    pub fn with_psks(
        protocol: &str,
        prologue: &[u8],
        pre: &Premessages,
        psks: &[Option<[u8; 32]>],
    ) -> Result<Engine, EngineError> {
        let p = parse(protocol)?;
        if psks.len() != p.psk_count {
            return Err(EngineError::PskCount {
                expected: p.psk_count,
                got: psks.len(),
            });
        }
        let mut sym = Sym::new(p.hash, p.cipher, protocol);
        sym.mix_hash(prologue);
        let mut statics = [None, None];
        if p.initiator_pre {
            let s = pre
                .initiator_static
                .ok_or(EngineError::MissingPremessage(Role::Initiator))?;
            sym.mix_hash(&s);
            statics[0] = Some(s);
        }
        if p.responder_pre {
            let s = pre
                .responder_static
                .ok_or(EngineError::MissingPremessage(Role::Responder))?;
            sym.mix_hash(&s);
            statics[1] = Some(s);
        }
        Ok(Engine {
            name: protocol.to_owned(),
            messages: p.messages,
            psk_mode: p.psk_mode,
            one_way: p.one_way,
            psks: psks.iter().map(|k| k.map(Zeroizing::new)).collect(),
            sym,
            index: 0,
            statics,
            ephemerals: [None, None],
            kem_public: None,
            blocked: None,
            transport: None,
            failed: false,
        })
    }

    /// The protocol name.
    pub fn protocol(&self) -> &str {
        &self.name
    }

    /// Messages absorbed or written so far.
    pub fn message_index(&self) -> usize {
        self.index
    }

    /// The number of handshake messages of the pattern.
    pub fn handshake_len(&self) -> usize {
        self.messages.len()
    }

    /// Whether every handshake message has been absorbed or written.
    pub fn handshake_finished(&self) -> bool {
        self.index >= self.messages.len()
    }

    /// Who sends the next handshake message, or `None` once the handshake is over.
    pub fn next_handshake_sender(&self) -> Option<Role> {
        (!self.handshake_finished()).then(|| role_of(self.index))
    }

    /// Whether the pattern is one-way (`N`, `K`, `X`): only the initiator sends.
    pub fn is_one_way(&self) -> bool {
        self.one_way
    }

    /// (initiator's, responder's) static public keys known so far: from pre-messages, `s`
    /// tokens in clear or decrypted, or sent by the engine itself.
    pub fn remote_statics(&self) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
        (self.statics[0], self.statics[1])
    }

    /// (initiator's, responder's) ephemeral public keys seen so far (always in clear).
    pub fn ephemerals(&self) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
        (self.ephemerals[0], self.ephemerals[1])
    }

    /// The first reason key derivation stopped, if it did.
    pub fn blocked(&self) -> Option<&Blocked> {
        self.blocked.as_ref()
    }

    /// The handshake hash `h` once the handshake is finished, if known. It depends on no secret
    /// (only on public keys and ciphertexts) unless a psk token was mixed in while derivation
    /// was blocked or with an unknown psk.
    pub fn handshake_hash(&self) -> Option<Vec<u8>> {
        if self.handshake_finished() {
            self.sym.h.clone()
        } else {
            None
        }
    }

    /// The transport keys after Split, if derived: `[c1, c2]` = [initiator to responder,
    /// responder to initiator].
    pub fn transport_keys(&self) -> Option<[Zeroizing<[u8; 32]>; 2]> {
        let [c1, c2] = self.transport.as_ref()?;
        Some([c1.k.clone()?, c2.k.clone()?])
    }

    fn block(&mut self, b: Blocked) {
        if self.blocked.is_none() {
            self.blocked = Some(b);
        }
    }

    fn stopped(&self) -> Blocked {
        self.blocked.clone().unwrap_or(Blocked::EarlierBlock)
    }

    /// The minimum length of handshake message `tokens` with an empty payload.
    fn min_len(&self, tokens: &[Tok]) -> usize {
        let mut has_key = self.sym.has_key;
        let tag = |k: bool| if k { TAG } else { 0 };
        let mut len = 0;
        for t in tokens {
            match t {
                Tok::E => {
                    len += DHLEN;
                    has_key |= self.psk_mode;
                }
                Tok::S => len += DHLEN + tag(has_key),
                Tok::E1 => len += KEM_LEN + tag(has_key),
                Tok::Ekem1 => {
                    len += KEM_LEN + tag(has_key);
                    has_key = true;
                }
                Tok::Dh(_) | Tok::Psk(_) => has_key = true,
            }
        }
        len + tag(has_key)
    }

    /// The public keys of a DH token, initiator's side first.
    fn dh_publics(&self, t: Token) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
        let [si, sr] = self.statics;
        let [ei, er] = self.ephemerals;
        match t {
            Token::Ee => (ei, er),
            Token::Es => (ei, sr),
            Token::Se => (si, er),
            _ => (si, sr),
        }
    }

    /// Mixes DH token `t` with whatever `keys` allows.
    fn mix_dh(&mut self, t: Token, keys: &Keyring, message: usize) -> Result<(), EngineError> {
        if self.sym.ck.is_none() {
            self.sym.mix_key(None);
            return Ok(());
        }
        let (Some(a), Some(b)) = self.dh_publics(t) else {
            self.block(Blocked::EarlierBlock);
            self.sym.mix_key(None);
            return Ok(());
        };
        match keys.dh(&a, &b) {
            Dh::Shared(s) => self.sym.mix_key(Some(&s[..])),
            Dh::Missing => {
                self.block(Blocked::MissingDh {
                    message,
                    token: t.as_str(),
                    publics: (a, b),
                });
                self.sym.mix_key(None);
            }
            Dh::LowOrder => return Err(EngineError::LowOrderPoint { message }),
        }
        Ok(())
    }

    fn mix_psk(&mut self, i: usize, message: usize) {
        let psk = self.psks.get(i).cloned().flatten();
        if psk.is_none() && self.sym.ck.is_some() {
            self.block(Blocked::MissingPsk { message });
        }
        self.sym.mix_key_and_hash(psk.as_ref().map(|k| &k[..]));
    }

    /// Absorbs the next message: handshake messages in pattern order (`from` must be the
    /// pattern's sender), then transport messages in each direction's order.
    ///
    /// # Errors
    /// [`EngineError::WrongTurn`], [`EngineError::Truncated`] and [`EngineError::TooLong`]
    /// leave the engine as it was; [`EngineError::BadTag`], [`EngineError::LowOrderPoint`] and
    /// the other errors inside a message make it [`EngineError::Unusable`].
    pub fn read(
        &mut self,
        from: Role,
        message: &[u8],
        keys: &Keyring,
    ) -> Result<ReadOutcome, EngineError> {
        if self.failed {
            return Err(EngineError::Unusable);
        }
        let number = self.index + 1;
        if message.len() > MAX_MESSAGE {
            return Err(EngineError::TooLong {
                message: number,
                len: message.len(),
            });
        }
        let result = if self.handshake_finished() {
            self.read_transport(from, message, number)
        } else {
            let expected = role_of(self.index);
            if from != expected {
                return Err(EngineError::WrongTurn {
                    message: number,
                    expected,
                    got: from,
                });
            }
            let tokens = self.messages[self.index].clone();
            let need = self.min_len(&tokens);
            if message.len() < need {
                return Err(EngineError::Truncated {
                    message: number,
                    need,
                    got: message.len(),
                });
            }
            self.read_handshake(&tokens, from, message, keys, number)
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_handshake(
        &mut self,
        tokens: &[Tok],
        sender: Role,
        message: &[u8],
        keys: &Keyring,
        number: usize,
    ) -> Result<ReadOutcome, EngineError> {
        let was_blocked = self.blocked.is_some();
        let total = message.len();
        let mut rest = message;
        let mut statics_learned = Vec::new();
        let tag = |k: bool| if k { TAG } else { 0 };
        for &t in tokens {
            match t {
                Tok::E => {
                    let e = arr32(take(&mut rest, DHLEN, number, total)?);
                    self.ephemerals[sender.idx()] = Some(e);
                    self.sym.mix_hash(&e);
                    if self.psk_mode {
                        self.sym.mix_key(self.sym.ck.is_some().then_some(&e[..]));
                    }
                }
                Tok::S => {
                    let field = take(&mut rest, DHLEN + tag(self.sym.has_key), number, total)?;
                    if let Some(s) = self.sym.decrypt_and_hash(field, number, "static")? {
                        let s = arr32(&s);
                        self.statics[sender.idx()] = Some(s);
                        statics_learned.push((sender, s));
                    }
                }
                Tok::E1 => {
                    let field = take(&mut rest, KEM_LEN + tag(self.sym.has_key), number, total)?;
                    self.kem_public = self.sym.decrypt_and_hash(field, number, "e1")?;
                }
                Tok::Ekem1 => {
                    let field = take(&mut rest, KEM_LEN + tag(self.sym.has_key), number, total)?;
                    let ct = self.sym.decrypt_and_hash(field, number, "ekem1")?;
                    let mut ss = None;
                    if self.sym.ck.is_some() {
                        let secret = self
                            .kem_public
                            .as_deref()
                            .and_then(|pk| keys.kem_secret(pk));
                        match (ct, secret) {
                            (Some(ct), Some(sk)) => {
                                ss = Some(kem_decapsulate(sk, &ct).ok_or(EngineError::Kem {
                                    message: number,
                                    what: "decapsulation key",
                                })?);
                            }
                            _ => self.block(Blocked::MissingKemSecret { message: number }),
                        }
                    }
                    self.sym.mix_key(ss.as_ref().map(|s| &s[..]));
                }
                Tok::Dh(d) => self.mix_dh(d, keys, number)?,
                Tok::Psk(i) => self.mix_psk(i, number),
            }
        }
        let payload = self.sym.decrypt_and_hash(rest, number, "payload")?;
        self.finish_message();
        let blocked = payload
            .is_none()
            .then(|| match (&self.blocked, was_blocked) {
                (Some(b), false) => b.clone(),
                _ => Blocked::EarlierBlock,
            });
        Ok(ReadOutcome {
            payload,
            statics_learned,
            blocked,
        })
    }

    fn finish_message(&mut self) {
        self.index += 1;
        if self.index == self.messages.len() {
            self.transport = Some(self.sym.split());
        }
    }

    /// The transport cipher state for a message from `from`.
    fn direction(&self, from: Role, number: usize) -> Result<usize, EngineError> {
        if self.one_way && from == Role::Responder {
            return Err(EngineError::WrongTurn {
                message: number,
                expected: Role::Initiator,
                got: from,
            });
        }
        Ok(from.idx())
    }

    fn read_transport(
        &mut self,
        from: Role,
        message: &[u8],
        number: usize,
    ) -> Result<ReadOutcome, EngineError> {
        let dir = self.direction(from, number)?;
        if message.len() < TAG {
            return Err(EngineError::Truncated {
                message: number,
                need: TAG,
                got: message.len(),
            });
        }
        let cipher = self.sym.cipher;
        let Some(cs) = self.transport.as_mut().map(|t| &mut t[dir]) else {
            return Err(EngineError::Unusable);
        };
        if cs.n == u64::MAX {
            return Err(EngineError::NonceExhausted { message: number });
        }
        let payload =
            match &cs.k {
                Some(k) => Some(cipher.decrypt(k, cs.n, &[], message).ok_or(
                    EngineError::BadTag {
                        message: number,
                        what: "payload",
                    },
                )?),
                None => None,
            };
        cs.n += 1;
        self.index += 1;
        Ok(ReadOutcome {
            blocked: payload.is_none().then_some(Blocked::EarlierBlock),
            payload,
            statics_learned: Vec::new(),
        })
    }

    /// Writes the next message as `from` (the attacker playing that party). Ephemerals (X25519
    /// and ML-KEM) come from `rng` and their private keys are added to `keys`; an `s` token sends
    /// `local_static` (a public key; its private key may or may not be in `keys`); every DH uses
    /// whichever private key `keys` holds.
    ///
    /// # Errors
    /// [`EngineError::Blocked`] if a key cannot be derived, [`EngineError::MissingLocalStatic`],
    /// [`EngineError::WrongTurn`] (the engine stays usable), [`EngineError::LowOrderPoint`];
    /// after any error but `WrongTurn` the engine is unusable.
    pub fn write(
        &mut self,
        from: Role,
        payload: &[u8],
        local_static: Option<[u8; 32]>,
        keys: &mut Keyring,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
    ) -> Result<Vec<u8>, EngineError> {
        if self.failed {
            return Err(EngineError::Unusable);
        }
        let number = self.index + 1;
        let result = if self.handshake_finished() {
            let dir = self.direction(from, number)?;
            self.write_transport(dir, payload, number)
        } else {
            let expected = role_of(self.index);
            if from != expected {
                return Err(EngineError::WrongTurn {
                    message: number,
                    expected,
                    got: from,
                });
            }
            self.write_handshake(from, payload, local_static, keys, rng, number)
        };
        let result = result.and_then(|out| {
            if out.len() > MAX_MESSAGE {
                Err(EngineError::TooLong {
                    message: number,
                    len: out.len(),
                })
            } else {
                Ok(out)
            }
        });
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn write_transport(
        &mut self,
        dir: usize,
        payload: &[u8],
        number: usize,
    ) -> Result<Vec<u8>, EngineError> {
        let stopped = self.stopped();
        let cipher = self.sym.cipher;
        let cs = self
            .transport
            .as_mut()
            .map(|t| &mut t[dir])
            .ok_or(EngineError::Unusable)?;
        let k = cs.k.clone().ok_or(EngineError::Blocked(stopped))?;
        if cs.n == u64::MAX {
            return Err(EngineError::NonceExhausted { message: number });
        }
        let out = cipher
            .encrypt(&k, cs.n, &[], payload)
            .ok_or(EngineError::TooLong {
                message: number,
                len: payload.len(),
            })?;
        cs.n += 1;
        self.index += 1;
        Ok(out)
    }

    fn encrypt(&mut self, pt: &[u8], number: usize) -> Result<Vec<u8>, EngineError> {
        match self.sym.encrypt_and_hash(pt, number)? {
            Ok(out) => Ok(out),
            Err(Unknown) => Err(EngineError::Blocked(self.stopped())),
        }
    }

    fn write_handshake(
        &mut self,
        sender: Role,
        payload: &[u8],
        local_static: Option<[u8; 32]>,
        keys: &mut Keyring,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng),
        number: usize,
    ) -> Result<Vec<u8>, EngineError> {
        let tokens = self.messages[self.index].clone();
        let mut out = Vec::new();
        for t in tokens {
            match t {
                Tok::E => {
                    let mut private = Zeroizing::new([0u8; 32]);
                    rng.fill_bytes(&mut private[..]);
                    let e = keys.add_private(*private);
                    out.extend_from_slice(&e);
                    self.ephemerals[sender.idx()] = Some(e);
                    self.sym.mix_hash(&e);
                    if self.psk_mode {
                        self.sym.mix_key(self.sym.ck.is_some().then_some(&e[..]));
                    }
                }
                Tok::S => {
                    let s =
                        local_static.ok_or(EngineError::MissingLocalStatic { message: number })?;
                    let field = self.encrypt(&s, number)?;
                    out.extend_from_slice(&field);
                    self.statics[sender.idx()] = Some(s);
                }
                Tok::E1 => {
                    let mut d_z = Zeroizing::new([0u8; 64]);
                    rng.fill_bytes(&mut d_z[..]);
                    let (public, secret) = kem_keypair(&d_z);
                    keys.add_kem_secret(public.clone(), secret.to_vec());
                    let field = self.encrypt(&public, number)?;
                    out.extend_from_slice(&field);
                    self.kem_public = Some(public);
                }
                Tok::Ekem1 => {
                    let public = self
                        .kem_public
                        .clone()
                        .ok_or(EngineError::Blocked(self.stopped()))?;
                    let mut m = Zeroizing::new([0u8; 32]);
                    rng.fill_bytes(&mut m[..]);
                    let (ct, ss) = kem_encapsulate(&public, &m).ok_or(EngineError::Kem {
                        message: number,
                        what: "e1 public key",
                    })?;
                    let field = self.encrypt(&ct, number)?;
                    out.extend_from_slice(&field);
                    if self.sym.ck.is_none() {
                        return Err(EngineError::Blocked(self.stopped()));
                    }
                    self.sym.mix_key(Some(&ss[..]));
                }
                Tok::Dh(d) => {
                    self.mix_dh(d, keys, number)?;
                    if self.sym.ck.is_none() {
                        return Err(EngineError::Blocked(self.stopped()));
                    }
                }
                Tok::Psk(i) => {
                    self.mix_psk(i, number);
                    if self.sym.ck.is_none() {
                        return Err(EngineError::Blocked(self.stopped()));
                    }
                }
            }
        }
        let field = self.encrypt(payload, number)?;
        out.extend_from_slice(&field);
        self.finish_message();
        Ok(out)
    }
}

/// Decrypts one transport message with a key stolen from a device's session state: `nonce` is
/// the message's position in its direction (0 for the first). Errors carry message number 0
/// (the engine's transcript numbering does not apply).
///
/// # Errors
/// [`EngineError::Protocol`] for a cipher other than `"ChaChaPoly"` or `"AESGCM"`,
/// [`EngineError::NonceExhausted`] for nonce 2^64-1 (reserved), [`EngineError::BadTag`] if the
/// tag does not verify.
pub fn transport_decrypt(
    protocol_cipher: &str,
    key: &[u8; 32],
    nonce: u64,
    ciphertext: &[u8],
) -> Result<Vec<u8>, EngineError> {
    let cipher = CipherFn::parse(protocol_cipher)
        .ok_or_else(|| EngineError::Protocol(format!("unknown cipher {protocol_cipher:?}")))?;
    if nonce == u64::MAX {
        return Err(EngineError::NonceExhausted { message: 0 });
    }
    cipher
        .decrypt(key, nonce, &[], ciphertext)
        .ok_or(EngineError::BadTag {
            message: 0,
            what: "payload",
        })
}
