//! [`NkTunnel`]: the carrier-encrypted radio hop and the client↔OTT-server tunnel,
//! `Noise_NK_25519_ChaChaPoly_BLAKE2s` with the gateway (or server) as responder holding the
//! static key its subscribers know in advance.
//!
//! A thin wrapper over [`NoiseSession`]: it only translates between [`NoiseMessage`] and the
//! wire's [`TunnelPdu`] (whose handshake messages carry no index: in NK the initiator writes
//! message 1 and the responder message 2) and filters the session's events down to plaintexts.
//! The initiator writes handshake message 1 (empty payload) as soon as it is created, so the
//! tunnel is up before data flows; PDUs sent meanwhile wait for the handshake.

use simcore::Timestamp;

use crate::error::ProtoError;
use crate::keys::StaticKeypair;
use crate::noise::{NoiseConfig, NoiseKind, NoiseMessage, NoiseSession, SessionEvent};
use crate::wire::TunnelPdu;

/// The Noise protocol of every tunnel.
pub const TUNNEL_PROTOCOL: &str = "Noise_NK_25519_ChaChaPoly_BLAKE2s";

/// One end of an NK tunnel.
#[derive(Debug)]
pub struct NkTunnel {
    session: NoiseSession,
}

impl NkTunnel {
    /// The subscriber (or app) end, which knows the gateway's public key; handshake message 1
    /// is ready in [`poll_transmit`](Self::poll_transmit) on return.
    ///
    /// # Errors
    /// Only if snow cannot build the handshake ([`ProtoError::Snow`]).
    pub fn initiator(server_public: [u8; 32], rng_seed: [u8; 32]) -> Result<Self, ProtoError> {
        let mut session = NoiseSession::new(NoiseConfig {
            protocol: TUNNEL_PROTOCOL.to_owned(),
            initiator: true,
            local_static: None,
            remote_static: Some(server_public),
            expected_remote_static: None,
            psk: None,
            prologue: Vec::new(),
            early_data: crate::noise::EarlyData::Off,
            rng_seed,
        })?;
        session.start(Timestamp::ZERO)?;
        Ok(NkTunnel { session })
    }

    /// The gateway (or server) end, holding the static keypair.
    ///
    /// # Errors
    /// Only if snow cannot build the handshake ([`ProtoError::Snow`]).
    pub fn responder(server: &StaticKeypair, rng_seed: [u8; 32]) -> Result<Self, ProtoError> {
        let session = NoiseSession::new(NoiseConfig {
            protocol: TUNNEL_PROTOCOL.to_owned(),
            initiator: false,
            local_static: Some(server.clone()),
            remote_static: None,
            expected_remote_static: None,
            psk: None,
            prologue: Vec::new(),
            early_data: crate::noise::EarlyData::Off,
            rng_seed,
        })?;
        Ok(NkTunnel { session })
    }

    /// Queues a PDU (an encoded `AppPdu`) for the other end.
    ///
    /// # Errors
    /// As [`NoiseSession::send`].
    pub fn send(&mut self, now: Timestamp, pdu: Vec<u8>) -> Result<(), ProtoError> {
        self.session.send(now, pdu)
    }

    /// Feeds a tunnel PDU from the other end. Any error kills the tunnel.
    ///
    /// # Errors
    /// As [`NoiseSession::handle_message`].
    pub fn handle_pdu(&mut self, now: Timestamp, pdu: &TunnelPdu) -> Result<(), ProtoError> {
        let index = match pdu.kind {
            NoiseKind::Handshake if self.session.is_initiator() => 2,
            NoiseKind::Handshake => 1,
            NoiseKind::Transport => 0,
        };
        self.session.handle_message(
            now,
            &NoiseMessage {
                kind: pdu.kind,
                index,
                bytes: pdu.noise.clone(),
            },
        )
    }

    /// The next tunnel PDU for the other end.
    pub fn poll_transmit(&mut self) -> Option<TunnelPdu> {
        self.session.poll_transmit().map(|m| TunnelPdu {
            kind: m.kind,
            noise: m.bytes,
        })
    }

    /// The next PDU received through the tunnel, in order.
    pub fn poll_received(&mut self) -> Option<Vec<u8>> {
        while let Some(event) = self.session.poll_event() {
            if let SessionEvent::Received(pdu) = event {
                return Some(pdu);
            }
        }
        None
    }

    /// Whether the handshake has completed and the tunnel is alive.
    pub fn is_established(&self) -> bool {
        self.session.is_established()
    }

    /// Whether an error killed the tunnel.
    pub fn is_dead(&self) -> bool {
        self.session.is_dead()
    }
}
