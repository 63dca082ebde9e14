//! The fixed part of one pattern's experiments: protocol name, message sequence, the honest
//! parties' long-term keys (registered in a public directory), the psk, and the markers.
//!
//! Markers are fresh random 32-byte payloads, one per sequence position for the honest sender
//! and another for the attacker; the scorer looks for them, the attacker never sees them except
//! by decrypting.

use adversary::noise::patterns::{modified, Token};
use proto::keys::StaticKeypair;
use rand_core::RngCore;
use simcore::SeedTree;
use zeroize::Zeroizing;

use crate::{MatrixError, Role};

/// Handshake or transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Handshake,
    Transport,
}

/// One position of the message sequence.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub from: Role,
    pub kind: Kind,
    /// The tokens (without the hfs tokens); empty for transport.
    pub tokens: Vec<Token>,
    /// The tokens as the specification writes them, hfs tokens included (`"e, ee, ekem1"`).
    pub display: String,
}

/// Everything fixed for one pattern.
pub(crate) struct Setup {
    pub seed: u64,
    pub pattern: String,
    pub protocol: String,
    pub prologue: Vec<u8>,
    pub sequence: Vec<Step>,
    pub one_way: bool,
    statics: [Option<StaticKeypair>; 2],
    premessage: [bool; 2],
    pub psk: Option<[u8; 32]>,
    pub psk_positions: Vec<u8>,
    pub markers: Vec<[u8; 32]>,
    pub attacker_markers: Vec<[u8; 32]>,
    /// The attacker's own registered static key pair (identity-hiding probes).
    pub attacker_static: StaticKeypair,
    /// A key pair of nobody in these runs: the false candidate of identity-hiding checks.
    pub stranger: StaticKeypair,
    /// What the attacker puts where it does not know a pre-shared static (a key of nobody's).
    pub unknown: StaticKeypair,
}

fn idx(role: Role) -> usize {
    usize::from(role == Role::Responder)
}

/// The full protocol name the matrix runs for a pattern name: 25519, ChaChaPoly, BLAKE2s;
/// `hfs` patterns add Kyber1024. A full protocol name is accepted as is.
pub fn protocol_name(pattern: &str) -> String {
    if pattern.starts_with("Noise_") {
        return pattern.to_owned();
    }
    let dh = if pattern.contains("hfs") {
        "25519+Kyber1024"
    } else {
        "25519"
    };
    format!("Noise_{pattern}_{dh}_ChaChaPoly_BLAKE2s")
}

/// What the attacker knows before any attack: the protocol, the prologue, who sends which
/// message, the public key directory, and its own payloads. Private keys and the honest
/// markers stay in [`Setup`]; the attacker in [`crate::harness`] gets only this.
#[derive(Clone, Debug)]
pub(crate) struct PublicInfo {
    pub protocol: String,
    pub prologue: Vec<u8>,
    pub senders: Vec<Role>,
    directory: [Option<[u8; 32]>; 2],
    premessage: [Option<[u8; 32]>; 2],
    pub attacker_markers: Vec<[u8; 32]>,
}

impl PublicInfo {
    /// The directory key of `role`.
    pub(crate) fn directory_key(&self, role: Role) -> Option<[u8; 32]> {
        self.directory[idx(role)]
    }

    /// `role`'s static if the pattern pre-shares it (its directory key).
    pub(crate) fn premessage_key(&self, role: Role) -> Option<[u8; 32]> {
        self.premessage[idx(role)]
    }
}

/// Shows the hfs tokens where snow 0.10 puts them: `e1` after the first DH of the first
/// message with an `e` (right after that `e` if the message has no DH), `ekem1` right after the
/// first `ee`.
fn hfs_display(sequence: &mut [Step]) {
    let names =
        |s: &Step| -> Vec<String> { s.tokens.iter().map(|t| t.as_str().to_owned()).collect() };
    let mut lists: Vec<Vec<String>> = sequence.iter().map(names).collect();
    if let Some((i, e)) = sequence
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.tokens.iter().position(|t| *t == Token::E).map(|e| (i, e)))
    {
        let at = sequence[i]
            .tokens
            .iter()
            .position(|t| t.is_dh())
            .map_or(e + 1, |d| d + 1);
        lists[i].insert(at, "e1".into());
    }
    if let Some((i, ee)) = sequence.iter().enumerate().find_map(|(i, s)| {
        s.tokens
            .iter()
            .position(|t| *t == Token::Ee)
            .map(|p| (i, p))
    }) {
        // Shift by one if e1 was inserted before it in the same message.
        let shift = usize::from(
            lists[i]
                .iter()
                .position(|t| t == "e1")
                .is_some_and(|p| p <= ee),
        );
        lists[i].insert(ee + 1 + shift, "ekem1".into());
    }
    for (s, l) in sequence.iter_mut().zip(lists) {
        s.display = l.join(", ");
    }
}

impl Setup {
    pub(crate) fn new(pattern: &str, seed: u64) -> Result<Setup, MatrixError> {
        let protocol = protocol_name(pattern);
        let params: snow::params::NoiseParams =
            protocol.parse().map_err(|e| MatrixError::Pattern {
                pattern: pattern.to_owned(),
                reason: format!("snow does not parse `{protocol}`: {e}"),
            })?;
        if params.dh != snow::params::DHChoice::Curve25519 {
            return Err(MatrixError::Pattern {
                pattern: pattern.to_owned(),
                reason: "only 25519 is supported".into(),
            });
        }
        if params.handshake.is_fallback() {
            return Err(MatrixError::Pattern {
                pattern: pattern.to_owned(),
                reason: "the fallback modifier changes roles mid-handshake; the experiments do not define it".into(),
            });
        }
        let name = protocol.split('_').nth(1).unwrap_or_default().to_owned();
        // The adversary's table knows psk modifiers; hfs adds `e1` and `ekem1` (shown only).
        let hfs = params.handshake.is_hfs();
        let table_name = if hfs {
            name.replacen("hfs", "", 1)
                .replace("++", "+")
                .trim_end_matches('+')
                .to_owned()
        } else {
            name.clone()
        };
        let table = modified(&table_name).map_err(|e| MatrixError::Pattern {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        let hp = params.handshake.pattern;
        let one_way = hp.is_oneway();
        let mut sequence: Vec<Step> = table
            .messages
            .iter()
            .enumerate()
            .map(|(i, tokens)| Step {
                from: if i % 2 == 0 {
                    Role::Initiator
                } else {
                    Role::Responder
                },
                kind: Kind::Handshake,
                tokens: tokens.clone(),
                display: adversary::noise::token_list(tokens),
            })
            .collect();
        if hfs {
            hfs_display(&mut sequence);
        }
        if one_way {
            sequence.push(Step {
                from: Role::Initiator,
                kind: Kind::Transport,
                tokens: Vec::new(),
                display: String::new(),
            });
        } else {
            // First transport message by the party that received the last handshake message.
            let last = sequence.last().map(|s| s.from).unwrap_or(Role::Initiator);
            let first = crate::harness::peer(last);
            for from in [first, crate::harness::peer(first)] {
                sequence.push(Step {
                    from,
                    kind: Kind::Transport,
                    tokens: Vec::new(),
                    display: String::new(),
                });
            }
        }
        let psk_positions = proto::noise::psk_positions(&params);

        let seeds = SeedTree::new(seed).child("matrix").child(&name);
        let statics = [
            hp.needs_local_static_key(true)
                .then(|| StaticKeypair::generate(seeds.child("static/initiator").key())),
            hp.needs_local_static_key(false)
                .then(|| StaticKeypair::generate(seeds.child("static/responder").key())),
        ];
        let premessage = [
            hp.need_known_remote_pubkey(false),
            hp.need_known_remote_pubkey(true),
        ];
        let psk = (!psk_positions.is_empty()).then(|| seeds.child("psk").key());
        let mut rng = seeds.stream("markers");
        let mut draw = |n: usize| {
            (0..n)
                .map(|_| {
                    let mut m = [0u8; 32];
                    rng.fill_bytes(&mut m);
                    m
                })
                .collect::<Vec<_>>()
        };
        let markers = draw(sequence.len());
        let attacker_markers = draw(sequence.len());
        Ok(Setup {
            seed,
            pattern: name,
            protocol,
            prologue: b"wiretap matrix".to_vec(),
            sequence,
            one_way,
            statics,
            premessage,
            psk,
            psk_positions,
            markers,
            attacker_markers,
            attacker_static: StaticKeypair::generate(seeds.child("static/attacker").key()),
            stranger: StaticKeypair::generate(seeds.child("static/stranger").key()),
            unknown: StaticKeypair::generate(seeds.child("static/unknown").key()),
        })
    }

    /// What the attacker may know.
    pub(crate) fn public(&self) -> PublicInfo {
        PublicInfo {
            protocol: self.protocol.clone(),
            prologue: self.prologue.clone(),
            senders: self.sequence.iter().map(|s| s.from).collect(),
            directory: [
                self.directory_key(Role::Initiator),
                self.directory_key(Role::Responder),
            ],
            premessage: [
                self.premessage_key(Role::Initiator),
                self.premessage_key(Role::Responder),
            ],
            attacker_markers: self.attacker_markers.clone(),
        }
    }

    /// The directory key of `role`, if the pattern gives it a static.
    pub(crate) fn directory_key(&self, role: Role) -> Option<[u8; 32]> {
        self.statics[idx(role)].as_ref().map(|k| k.public)
    }

    /// `role`'s static private key, if it has one.
    pub(crate) fn private_key(&self, role: Role) -> Option<&[u8; 32]> {
        self.statics[idx(role)]
            .as_ref()
            .map(|k| -> &[u8; 32] { &k.private })
    }

    /// A copy of `role`'s private key, for a keyring.
    pub(crate) fn private_copy(&self, role: Role) -> Option<Zeroizing<[u8; 32]>> {
        self.private_key(role).map(|k| Zeroizing::new(*k))
    }

    /// `role`'s static public key if the pattern pre-shares it with the peer.
    pub(crate) fn premessage_key(&self, role: Role) -> Option<[u8; 32]> {
        if self.premessage[idx(role)] {
            self.directory_key(role)
        } else {
            None
        }
    }

    /// Whether `role`'s static is pre-shared (not transmitted).
    pub(crate) fn is_premessage(&self, role: Role) -> bool {
        self.premessage[idx(role)]
    }

    /// Whether `role`'s static travels in an `s` token, and in which message (0-based position).
    pub(crate) fn transmits_static(&self, role: Role) -> Option<usize> {
        self.sequence
            .iter()
            .position(|s| s.from == role && s.tokens.contains(&Token::S))
    }

    /// The same set-up with `role`'s static replaced by `key` (identity-hiding probes, where
    /// the honest party's peer is the attacker's own registered identity).
    pub(crate) fn with_static(&self, role: Role, key: &StaticKeypair) -> Setup {
        let mut statics = self.statics.clone();
        statics[idx(role)] = Some(key.clone());
        Setup {
            seed: self.seed,
            pattern: self.pattern.clone(),
            protocol: self.protocol.clone(),
            prologue: self.prologue.clone(),
            sequence: self.sequence.clone(),
            one_way: self.one_way,
            statics,
            premessage: self.premessage,
            psk: self.psk,
            psk_positions: self.psk_positions.clone(),
            markers: self.markers.clone(),
            attacker_markers: self.attacker_markers.clone(),
            attacker_static: self.attacker_static.clone(),
            stranger: self.stranger.clone(),
            unknown: self.unknown.clone(),
        }
    }

    /// Whether the pattern uses a psk.
    pub(crate) fn has_psk(&self) -> bool {
        self.psk.is_some()
    }
}
