//! An honest party of the experiments: snow, plus the three behaviours snow leaves to its
//! caller (experiment note, "Honest behaviour"):
//!
//! - **strict alternation**: enforced by the driver ([`crate::harness`]), which lets a party
//!   write only when every earlier message addressed to it has been read;
//! - **drop on any error**: the first failed read or write kills the party for good;
//! - **pinning**: a remote static received in a message must equal the directory key of the
//!   intended peer; a pre-message static is configured up front.
//!
//! Unlike `proto::noise::NoiseSession` (which carries application data and leaves handshake
//! payloads empty), every message here carries the payload the experiment chooses, handshake
//! messages included: each payload is a marker the scorer looks for.

use snow::{HandshakeState, TransportState};

use crate::Role;

/// Largest Noise message.
const MAX_MESSAGE: usize = 65_535;

enum Phase {
    Handshake(Box<HandshakeState>),
    Transport(Box<TransportState>),
    Dead,
}

/// How to build one honest party.
pub(crate) struct HonestConfig<'a> {
    pub protocol: &'a str,
    pub role: Role,
    pub prologue: &'a [u8],
    /// This party's static private key, if the pattern gives it one.
    pub local_private: Option<&'a [u8; 32]>,
    /// The peer's directory key: configured as the pre-message if the pattern has one,
    /// otherwise used to pin a transmitted static.
    pub peer_directory_key: Option<[u8; 32]>,
    /// Whether the pattern pre-shares the peer's static with this party.
    pub peer_premessage: bool,
    pub psk: Option<&'a [u8; 32]>,
    pub psk_positions: &'a [u8],
    pub rng_seed: [u8; 32],
}

/// One honest party.
pub(crate) struct Honest {
    phase: Phase,
    /// Directory key to compare a transmitted remote static with.
    pin: Option<[u8; 32]>,
    /// The remote static already checked (pre-message or pinned).
    remote_known: bool,
    /// Why the party died, if it did.
    death: Option<String>,
}

impl Honest {
    pub(crate) fn new(cfg: &HonestConfig<'_>) -> Result<Honest, String> {
        let params: snow::params::NoiseParams = cfg
            .protocol
            .parse()
            .map_err(|e| format!("snow rejects `{}`: {e}", cfg.protocol))?;
        let peer_key = cfg.peer_directory_key;
        let mut b = snow::Builder::with_resolver(params, proto::crypto::resolver(cfg.rng_seed))
            .prologue(cfg.prologue)
            .map_err(|e| e.to_string())?;
        if let Some(k) = cfg.local_private {
            b = b.local_private_key(&k[..]).map_err(|e| e.to_string())?;
        }
        if cfg.peer_premessage {
            let k = peer_key
                .as_ref()
                .ok_or("the pattern pre-shares the peer's static but the directory has none")?;
            b = b.remote_public_key(k).map_err(|e| e.to_string())?;
        }
        if let Some(psk) = cfg.psk {
            for n in cfg.psk_positions {
                b = b.psk(*n, psk).map_err(|e| e.to_string())?;
            }
        }
        let hs = match cfg.role {
            Role::Initiator => b.build_initiator(),
            Role::Responder => b.build_responder(),
        }
        .map_err(|e| e.to_string())?;
        Ok(Honest {
            phase: Phase::Handshake(Box::new(hs)),
            pin: if cfg.peer_premessage {
                None
            } else {
                cfg.peer_directory_key
            },
            remote_known: cfg.peer_premessage,
            death: None,
        })
    }

    /// Why the party died, if it did.
    pub(crate) fn death(&self) -> Option<&str> {
        self.death.as_deref()
    }

    fn die(&mut self, why: String) -> String {
        self.phase = Phase::Dead;
        self.death = Some(why.clone());
        why
    }

    /// Writes the next message with `payload`.
    pub(crate) fn write(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let r = match &mut self.phase {
            Phase::Dead => return Err("dead".into()),
            Phase::Handshake(hs) => hs.write_message(payload, &mut buf),
            Phase::Transport(ts) => ts.write_message(payload, &mut buf),
        };
        match r {
            Ok(n) => {
                buf.truncate(n);
                self.advance()?;
                Ok(buf)
            }
            Err(e) => Err(self.die(format!("could not write: {e}"))),
        }
    }

    /// Reads the next message; returns its payload. Any failure kills the party.
    pub(crate) fn read(&mut self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let r = match &mut self.phase {
            Phase::Dead => return Err("dead".into()),
            Phase::Handshake(hs) => hs.read_message(message, &mut buf),
            Phase::Transport(ts) => ts.read_message(message, &mut buf),
        };
        let n = match r {
            Ok(n) => n,
            Err(e) => return Err(self.die(format!("rejected the message: {e}"))),
        };
        buf.truncate(n);
        if let Phase::Handshake(hs) = &self.phase {
            if !self.remote_known {
                if let Some(rs) = hs.get_remote_static() {
                    self.remote_known = true;
                    if let Some(pin) = self.pin {
                        if rs != &pin[..] {
                            return Err(self.die(
                                "pinning check: the received static is not the peer's directory key"
                                    .into(),
                            ));
                        }
                    }
                }
            }
        }
        self.advance()?;
        Ok(buf)
    }

    fn advance(&mut self) -> Result<(), String> {
        let finished = matches!(&self.phase, Phase::Handshake(hs) if hs.is_handshake_finished());
        if finished {
            let Phase::Handshake(hs) = std::mem::replace(&mut self.phase, Phase::Dead) else {
                return Ok(());
            };
            match hs.into_transport_mode() {
                Ok(ts) => self.phase = Phase::Transport(Box::new(ts)),
                Err(e) => return Err(self.die(format!("could not enter transport mode: {e}"))),
            }
        }
        Ok(())
    }
}
