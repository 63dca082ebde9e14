//! The wire encoding (see `docs/signal.md`): [`Envelope`] (what the server and the carrier
//! see), [`Content`] (a prekey message or a ratchet message), [`Header`] and the inner
//! [`Frame`]. All integers are big-endian. Decoding checks every length and never panics.

use crate::crypto::{KEM_CIPHERTEXT_LEN, NONCE_LEN, TAG_LEN};
use crate::error::{Result, SignalError};

/// First byte of every envelope.
pub const VERSION: u8 = 0x31;
/// Envelope kind: the sender's address is in the clear.
pub const KIND_PLAIN: u8 = 1;
/// Envelope kind: sealed sender.
pub const KIND_SEALED: u8 = 2;
/// Content type: prekey (initial) message.
pub const CONTENT_PREKEY: u8 = 1;
/// Content type: ratchet message with a clear header.
pub const CONTENT_RATCHET: u8 = 2;
/// Content type: ratchet message with an encrypted header.
pub const CONTENT_RATCHET_HE: u8 = 3;
/// Bytes of an encoded [`Header`].
pub const HEADER_LEN: usize = 40;
/// Bytes of an encrypted header: nonce, header, tag.
pub const ENC_HEADER_LEN: usize = NONCE_LEN + HEADER_LEN + TAG_LEN;
/// Bytes of the sealed-sender prefix: ephemeral key and encrypted sender identity key.
pub const SEALED_PREFIX_LEN: usize = 32 + 32 + TAG_LEN;

/// Reads fields off a byte slice, naming the field and offset of any shortfall.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn err(&self, field: &'static str) -> SignalError {
        SignalError::Decode {
            offset: self.pos,
            field,
        }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err(field))?;
        let s = self.buf.get(self.pos..end).ok_or_else(|| self.err(field))?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4, field)?);
        Ok(u32::from_be_bytes(b))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_be_bytes(b))
    }

    pub(crate) fn key(&mut self, field: &'static str) -> Result<[u8; 32]> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32, field)?);
        Ok(b)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }
}

/// The outer envelope, as relayed by the server and seen by the carrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The recipient device's address.
    pub recipient: u64,
    /// The sender's address; `None` for sealed sender (the sender is inside `body`).
    pub sender: Option<u64>,
    /// Plain: an encoded [`Content`]. Sealed: ephemeral key (32), encrypted sender identity
    /// key (48), encrypted (sender address || content) (16 + ...).
    pub body: Vec<u8>,
}

impl Envelope {
    /// `VERSION | kind | recipient u64 | [sender u64 if plain] | body_len u32 | body`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(26 + self.body.len());
        out.push(VERSION);
        match self.sender {
            Some(sender) => {
                out.push(KIND_PLAIN);
                out.extend_from_slice(&self.recipient.to_be_bytes());
                out.extend_from_slice(&sender.to_be_bytes());
            }
            None => {
                out.push(KIND_SEALED);
                out.extend_from_slice(&self.recipient.to_be_bytes());
            }
        }
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes an envelope; the length field must match the remaining bytes exactly.
    pub fn decode(bytes: &[u8]) -> Result<Envelope> {
        let mut r = Reader::new(bytes);
        if r.u8("version")? != VERSION {
            return Err(SignalError::Decode {
                offset: 0,
                field: "version",
            });
        }
        let kind = r.u8("kind")?;
        let recipient = r.u64("recipient")?;
        let sender = match kind {
            KIND_PLAIN => Some(r.u64("sender")?),
            KIND_SEALED => None,
            _ => {
                return Err(SignalError::Decode {
                    offset: 1,
                    field: "kind",
                })
            }
        };
        let len_at = r.offset();
        let len = r.u32("body length")? as usize;
        let body = r.rest();
        if body.len() != len {
            return Err(SignalError::Decode {
                offset: len_at,
                field: "body length",
            });
        }
        if sender.is_none() && body.len() < SEALED_PREFIX_LEN + TAG_LEN + 8 {
            return Err(SignalError::Decode {
                offset: len_at + 4,
                field: "sealed body",
            });
        }
        Ok(Envelope {
            recipient,
            sender,
            body: body.to_vec(),
        })
    }
}

/// A Double Ratchet header: `(DH ratchet public key, PN, N)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The sender's current ratchet public key.
    pub dh: [u8; 32],
    /// Length of the sender's previous sending chain.
    pub pn: u32,
    /// Message number in the current sending chain.
    pub n: u32,
}

impl Header {
    /// `dh (32) | pn u32 | n u32`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..32].copy_from_slice(&self.dh);
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..].copy_from_slice(&self.n.to_be_bytes());
        out
    }

    /// Decodes exactly [`HEADER_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Result<Header> {
        if bytes.len() != HEADER_LEN {
            return Err(SignalError::Decode {
                offset: 0,
                field: "header",
            });
        }
        let mut r = Reader::new(bytes);
        Ok(Header {
            dh: r.key("header dh")?,
            pn: r.u32("header pn")?,
            n: r.u32("header n")?,
        })
    }
}

/// A Double Ratchet message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RatchetMessage {
    /// Clear header.
    Plain {
        /// The header (also authenticated as associated data).
        header: Header,
        /// AES-256-GCM ciphertext and tag.
        ciphertext: Vec<u8>,
    },
    /// Encrypted header (Double Ratchet section 4).
    HeaderEncrypted {
        /// nonce || encrypted header || tag ([`ENC_HEADER_LEN`] bytes).
        enc_header: Vec<u8>,
        /// AES-256-GCM ciphertext and tag.
        ciphertext: Vec<u8>,
    },
}

impl RatchetMessage {
    /// Encodes with its content type byte.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            RatchetMessage::Plain { header, ciphertext } => {
                let mut out = vec![CONTENT_RATCHET];
                out.extend_from_slice(&header.encode());
                out.extend_from_slice(ciphertext);
                out
            }
            RatchetMessage::HeaderEncrypted {
                enc_header,
                ciphertext,
            } => {
                let mut out = vec![CONTENT_RATCHET_HE];
                out.extend_from_slice(enc_header);
                out.extend_from_slice(ciphertext);
                out
            }
        }
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<RatchetMessage> {
        let kind = r.u8("ratchet message type")?;
        let msg = match kind {
            CONTENT_RATCHET => {
                let header = Header::decode(r.take(HEADER_LEN, "header")?)?;
                RatchetMessage::Plain {
                    header,
                    ciphertext: Vec::new(),
                }
            }
            CONTENT_RATCHET_HE => RatchetMessage::HeaderEncrypted {
                enc_header: r.take(ENC_HEADER_LEN, "encrypted header")?.to_vec(),
                ciphertext: Vec::new(),
            },
            _ => {
                return Err(SignalError::Decode {
                    offset: r.offset() - 1,
                    field: "ratchet message type",
                })
            }
        };
        let at = r.offset();
        let rest = r.rest();
        if rest.len() < TAG_LEN {
            return Err(SignalError::Decode {
                offset: at,
                field: "ciphertext",
            });
        }
        Ok(match msg {
            RatchetMessage::Plain { header, .. } => RatchetMessage::Plain {
                header,
                ciphertext: rest.to_vec(),
            },
            RatchetMessage::HeaderEncrypted { enc_header, .. } => RatchetMessage::HeaderEncrypted {
                enc_header,
                ciphertext: rest.to_vec(),
            },
        })
    }
}

/// The X3DH / PQXDH part of an initial message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyHeader {
    /// The initiator's identity key `IK_A`.
    pub identity: [u8; 32],
    /// The initiator's ephemeral key `EK_A`.
    pub ephemeral: [u8; 32],
    /// Identifier of the responder's signed prekey used.
    pub signed_prekey_id: u32,
    /// Identifier of the responder's one-time prekey used, if any.
    pub one_time_prekey_id: Option<u32>,
    /// PQXDH: identifier of the PQ prekey and the ML-KEM-1024 ciphertext.
    pub pq: Option<(u32, Vec<u8>)>,
}

/// What a (plain or unsealed) envelope carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// An initial message: the X3DH/PQXDH data and the first ratchet message(s); the
    /// initiator sends prekey messages until it hears from the responder.
    PreKey {
        /// X3DH / PQXDH data.
        prekey: PreKeyHeader,
        /// The ratchet message.
        message: RatchetMessage,
    },
    /// A ratchet message.
    Ratchet(RatchetMessage),
}

impl Content {
    /// Encodes: `1 | IK_A | EK_A | spk_id | opk? | pq? | ratchet message` or a ratchet
    /// message (`2 | header | ct`, `3 | enc_header | ct`).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Content::Ratchet(m) => m.encode(),
            Content::PreKey { prekey, message } => {
                let mut out = vec![CONTENT_PREKEY];
                out.extend_from_slice(&prekey.identity);
                out.extend_from_slice(&prekey.ephemeral);
                out.extend_from_slice(&prekey.signed_prekey_id.to_be_bytes());
                match prekey.one_time_prekey_id {
                    Some(id) => {
                        out.push(1);
                        out.extend_from_slice(&id.to_be_bytes());
                    }
                    None => out.push(0),
                }
                match &prekey.pq {
                    Some((id, ct)) => {
                        out.push(1);
                        out.extend_from_slice(&id.to_be_bytes());
                        out.extend_from_slice(ct);
                    }
                    None => out.push(0),
                }
                out.extend_from_slice(&message.encode());
                out
            }
        }
    }

    /// Decodes a content; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Content> {
        let mut r = Reader::new(bytes);
        match bytes.first() {
            Some(&CONTENT_PREKEY) => {
                r.u8("content type")?;
                let identity = r.key("identity key")?;
                let ephemeral = r.key("ephemeral key")?;
                let signed_prekey_id = r.u32("signed prekey id")?;
                let one_time_prekey_id = match r.u8("one-time prekey flag")? {
                    0 => None,
                    1 => Some(r.u32("one-time prekey id")?),
                    _ => {
                        return Err(SignalError::Decode {
                            offset: r.offset() - 1,
                            field: "one-time prekey flag",
                        })
                    }
                };
                let pq = match r.u8("pq flag")? {
                    0 => None,
                    1 => {
                        let id = r.u32("pq prekey id")?;
                        let ct = r.take(KEM_CIPHERTEXT_LEN, "kem ciphertext")?.to_vec();
                        Some((id, ct))
                    }
                    _ => {
                        return Err(SignalError::Decode {
                            offset: r.offset() - 1,
                            field: "pq flag",
                        })
                    }
                };
                let message = RatchetMessage::decode_from(&mut r)?;
                Ok(Content::PreKey {
                    prekey: PreKeyHeader {
                        identity,
                        ephemeral,
                        signed_prekey_id,
                        one_time_prekey_id,
                        pq,
                    },
                    message,
                })
            }
            _ => Ok(Content::Ratchet(RatchetMessage::decode_from(&mut r)?)),
        }
    }
}

/// The plaintext inside a ratchet message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `1 | id u64 | body`: an application message.
    Data {
        /// The sender's message id.
        id: u64,
        /// The application plaintext.
        body: Vec<u8>,
    },
    /// `2 | id u64`: delivery receipt for the peer's message `id`.
    Receipt {
        /// The id of the message delivered.
        id: u64,
    },
}

impl Frame {
    /// Encodes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::Data { id, body } => {
                let mut out = Vec::with_capacity(9 + body.len());
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(body);
                out
            }
            Frame::Receipt { id } => {
                let mut out = vec![2];
                out.extend_from_slice(&id.to_be_bytes());
                out
            }
        }
    }

    /// Decodes; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Frame> {
        let mut r = Reader::new(bytes);
        match r.u8("frame type")? {
            1 => {
                let id = r.u64("message id")?;
                Ok(Frame::Data {
                    id,
                    body: r.rest().to_vec(),
                })
            }
            2 => {
                let id = r.u64("receipt id")?;
                if !r.rest().is_empty() {
                    return Err(SignalError::Decode {
                        offset: 9,
                        field: "receipt",
                    });
                }
                Ok(Frame::Receipt { id })
            }
            _ => Err(SignalError::Decode {
                offset: 0,
                field: "frame type",
            }),
        }
    }
}
