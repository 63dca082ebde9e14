//! The adversary's parser of Signal envelopes (format in `docs/signal.md`), written
//! independently of the `signal` crate. Never panics.

/// A parsed envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedEnvelope {
    /// Recipient address (always visible).
    pub recipient: u64,
    /// Sender address, `None` under sealed sender.
    pub sender: Option<u64>,
    /// Content (plain) or sealed body.
    pub body: Vec<u8>,
}

/// X3DH / PQXDH data of an initial message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialData {
    /// `IK_A`.
    pub identity: [u8; 32],
    /// `EK_A`.
    pub ephemeral: [u8; 32],
    /// Signed prekey id.
    pub signed_prekey_id: u32,
    /// One-time prekey id.
    pub one_time_prekey_id: Option<u32>,
    /// PQ prekey id and KEM ciphertext.
    pub pq: Option<(u32, Vec<u8>)>,
}

/// A ratchet message with a clear header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearMessage {
    /// The 40 header bytes (authenticated as AD).
    pub header: [u8; 40],
    /// Ratchet public key.
    pub dh: [u8; 32],
    /// PN.
    pub pn: u32,
    /// N.
    pub n: u32,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// A ratchet message with an encrypted header (Double Ratchet section 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedHeaderMessage {
    /// Nonce (12) ‖ encrypted header (40) ‖ tag (16): authenticated as AD.
    pub enc_header: Vec<u8>,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Length of an encrypted header: nonce, the 40 header bytes, tag.
pub const ENC_HEADER_LEN: usize = 12 + 40 + 16;

/// Parsed content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapturedContent {
    /// A ratchet message, with the initial data if it is a prekey message.
    Clear(Option<InitialData>, ClearMessage),
    /// A message with an encrypted header, with the initial data if it is a prekey message.
    EncryptedHeader(Option<InitialData>, EncryptedHeaderMessage),
}

/// A decrypted or clear 40-byte header: `dh (32) | pn u32 | n u32`.
pub fn parse_header(header: &[u8]) -> Option<([u8; 32], u32, u32)> {
    if header.len() != 40 {
        return None;
    }
    let mut r = R(header, 0);
    Some((r.key()?, r.u32()?, r.u32()?))
}

struct R<'a>(&'a [u8], usize);

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.0.get(self.1..self.1.checked_add(n)?)?;
        self.1 += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Some(u64::from_be_bytes(a))
    }
    fn key(&mut self) -> Option<[u8; 32]> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Some(a)
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = self.0.get(self.1..).unwrap_or_default();
        self.1 = self.0.len();
        s
    }
}

/// Parses an envelope: `0x31 | kind | recipient | [sender] | len u32 | body`.
pub fn parse_envelope(bytes: &[u8]) -> Option<CapturedEnvelope> {
    let mut r = R(bytes, 0);
    if r.u8()? != 0x31 {
        return None;
    }
    let kind = r.u8()?;
    let recipient = r.u64()?;
    let sender = match kind {
        1 => Some(r.u64()?),
        2 => None,
        _ => return None,
    };
    let len = r.u32()? as usize;
    let body = r.rest();
    (body.len() == len).then(|| CapturedEnvelope {
        recipient,
        sender,
        body: body.to_vec(),
    })
}

/// Parses a content.
pub fn parse_content(bytes: &[u8]) -> Option<CapturedContent> {
    let mut r = R(bytes, 0);
    let mut kind = r.u8()?;
    let mut initial = None;
    if kind == 1 {
        let identity = r.key()?;
        let ephemeral = r.key()?;
        let signed_prekey_id = r.u32()?;
        let one_time_prekey_id = match r.u8()? {
            0 => None,
            1 => Some(r.u32()?),
            _ => return None,
        };
        let pq = match r.u8()? {
            0 => None,
            1 => Some((r.u32()?, r.take(1568)?.to_vec())),
            _ => return None,
        };
        initial = Some(InitialData {
            identity,
            ephemeral,
            signed_prekey_id,
            one_time_prekey_id,
            pq,
        });
        kind = r.u8()?;
    }
    match kind {
        2 => {
            let mut header = [0u8; 40];
            header.copy_from_slice(r.take(40)?);
            let mut hr = R(&header, 0);
            let dh = hr.key()?;
            let pn = hr.u32()?;
            let n = hr.u32()?;
            let ciphertext = r.rest().to_vec();
            (ciphertext.len() >= 16).then_some(CapturedContent::Clear(
                initial,
                ClearMessage {
                    header,
                    dh,
                    pn,
                    n,
                    ciphertext,
                },
            ))
        }
        3 => {
            let enc_header = r.take(ENC_HEADER_LEN)?.to_vec();
            let ciphertext = r.rest().to_vec();
            (ciphertext.len() >= 16).then_some(CapturedContent::EncryptedHeader(
                initial,
                EncryptedHeaderMessage {
                    enc_header,
                    ciphertext,
                },
            ))
        }
        _ => None,
    }
}
