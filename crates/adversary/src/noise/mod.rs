//! What a passive observer can read from a Noise handshake message, knowing only its protocol
//! name (which OTT envelopes carry in clear) and the public specification.
//!
//! [`Protocol::parse`] turns `"Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s"` into token lists
//! ([`patterns`]); [`Protocol::read_message`] walks the tokens of one message over its bytes,
//! tracking whether a cipher key is set (after any DH or `psk` token, and in a psk handshake after
//! every `e` token, since §9.2 makes `e` call `MixKey`). A static key sent while no key is set is
//! in clear; a payload reached while no key is set *is* the plaintext.

pub mod patterns;

use patterns::{ModifiedPattern, Token};

use crate::AdversaryError;

/// Bytes of an AEAD tag (ChaChaPoly and AESGCM alike).
pub const TAG_LEN: usize = 16;

/// A parsed Noise protocol name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// The full name, as given.
    pub name: String,
    /// The pattern with modifiers applied.
    pub pattern: ModifiedPattern,
    /// Bytes of a DH public key (32 for 25519).
    pub dh_len: usize,
}

/// What one handshake message reveals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageReading<'a> {
    /// Static public keys sent in clear in this message (the sender's identity).
    pub clear_statics: Vec<&'a [u8]>,
    /// The payload, or why it is sealed.
    pub payload: Payload<'a>,
}

/// The payload of a handshake message as a passive observer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// No cipher key was set: these bytes are the plaintext payload.
    Clear(&'a [u8]),
    /// Encrypted; `after` lists the key-mixing tokens so far (`ee`, `es`, ..., `psk`, and `e`
    /// in psk mode), in order.
    Encrypted {
        /// Key-mixing operations that happened before the payload.
        after: Vec<Token>,
    },
}

impl Protocol {
    /// Parses a full protocol name, `Noise_<pattern>_<dh>_<cipher>_<hash>`.
    ///
    /// # Errors
    /// [`AdversaryError::BadProtocolName`] if the name does not have that shape, the pattern
    /// errors of [`patterns::modified`], [`AdversaryError::UnsupportedDh`] for anything but
    /// 25519 (snow has no Curve448), and [`AdversaryError::UnsupportedPrimitive`] for an unknown
    /// cipher or hash.
    pub fn parse(name: &str) -> Result<Protocol, AdversaryError> {
        let bad = || AdversaryError::BadProtocolName {
            name: name.to_owned(),
        };
        let mut parts = name.split('_');
        let (Some("Noise"), Some(pattern), Some(dh), Some(cipher), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let pattern = patterns::modified(pattern)?;
        let dh_len = match dh {
            "25519" => 32,
            _ => return Err(AdversaryError::UnsupportedDh { dh: dh.to_owned() }),
        };
        if !matches!(cipher, "ChaChaPoly" | "AESGCM") {
            return Err(AdversaryError::UnsupportedPrimitive {
                primitive: cipher.to_owned(),
            });
        }
        if !matches!(hash, "BLAKE2s" | "BLAKE2b" | "SHA256" | "SHA512") {
            return Err(AdversaryError::UnsupportedPrimitive {
                primitive: hash.to_owned(),
            });
        }
        Ok(Protocol {
            name: name.to_owned(),
            pattern,
            dh_len,
        })
    }

    /// The number of handshake messages.
    pub fn message_count(&self) -> usize {
        self.pattern.messages.len()
    }

    /// Walks messages `1..=index` (1-based), calling `visit(token, key_set_before_token)` for
    /// each token of message `index`; returns whether a key is set when its payload is reached,
    /// and the key-mixing tokens so far. `None` if `index` is outside the pattern.
    fn walk(&self, index: usize, mut visit: impl FnMut(Token, bool)) -> Option<(bool, Vec<Token>)> {
        if index == 0 || index > self.message_count() {
            return None;
        }
        let mut key = false;
        let mut mixed = Vec::new();
        for (i, message) in self.pattern.messages.iter().take(index).enumerate() {
            for &t in message {
                if i + 1 == index {
                    visit(t, key);
                }
                let mixes =
                    t.is_dh() || t == Token::Psk || (t == Token::E && self.pattern.psk_mode);
                if mixes {
                    key = true;
                    mixed.push(t);
                }
            }
        }
        Some((key, mixed))
    }

    /// The length snow writes for handshake message `index` (1-based) with a `payload_len`-byte
    /// payload, or `None` if `index` is outside the pattern.
    pub fn message_len(&self, index: usize, payload_len: usize) -> Option<usize> {
        let mut len = 0;
        let dh = self.dh_len;
        let (key, _) = self.walk(index, |t, key| match t {
            Token::E => len += dh,
            Token::S => len += dh + if key { TAG_LEN } else { 0 },
            _ => {}
        })?;
        Some(len + payload_len + if key { TAG_LEN } else { 0 })
    }

    /// Whether the payload of message `index` is encrypted, or `None` if `index` is outside the
    /// pattern.
    pub fn payload_encrypted(&self, index: usize) -> Option<bool> {
        self.walk(index, |_, _| {}).map(|(key, _)| key)
    }

    /// The DH tokens of the whole handshake, each once, in order of first use, followed by
    /// `psk` if the handshake mixes a pre-shared key: the keys a transport message depends on.
    pub fn transport_dependencies(&self) -> Vec<Token> {
        let mut out: Vec<Token> = Vec::new();
        for &t in self.pattern.messages.iter().flatten() {
            if (t.is_dh() || t == Token::Psk) && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// Reads handshake message `index` (1-based) from `body` as a passive observer.
    ///
    /// # Errors
    /// [`AdversaryError::MessageIndex`] if `index` is outside the pattern,
    /// [`AdversaryError::ShortHandshakeMessage`] if `body` is shorter than the pattern requires.
    pub fn read_message<'a>(
        &self,
        index: usize,
        body: &'a [u8],
    ) -> Result<MessageReading<'a>, AdversaryError> {
        let mut tokens = Vec::new();
        let (key, after) = self
            .walk(index, |t, key| tokens.push((t, key)))
            .ok_or_else(|| AdversaryError::MessageIndex {
                protocol: self.name.clone(),
                index,
                messages: self.message_count(),
            })?;
        let short = || AdversaryError::ShortHandshakeMessage {
            protocol: self.name.clone(),
            index,
            len: body.len(),
            // message_len cannot fail here: walk just accepted `index`.
            needed: self.message_len(index, 0).unwrap_or(0),
        };
        let mut rest = body;
        let mut clear_statics = Vec::new();
        for (t, key_before) in tokens {
            let n = match t {
                Token::E => self.dh_len,
                Token::S if key_before => self.dh_len + TAG_LEN,
                Token::S => self.dh_len,
                _ => continue,
            };
            if rest.len() < n {
                return Err(short());
            }
            let (field, tail) = rest.split_at(n);
            if t == Token::S && !key_before {
                clear_statics.push(field);
            }
            rest = tail;
        }
        let payload = if key {
            if rest.len() < TAG_LEN {
                return Err(short());
            }
            Payload::Encrypted { after }
        } else {
            Payload::Clear(rest)
        };
        Ok(MessageReading {
            clear_statics,
            payload,
        })
    }
}

/// Joins tokens as `"ee, es"`.
pub fn token_list(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Protocol {
        Protocol::parse(name).expect("valid name")
    }

    #[test]
    fn xx_lengths_by_hand() {
        let xx = p("Noise_XX_25519_ChaChaPoly_BLAKE2s");
        assert_eq!(xx.message_len(1, 0), Some(32));
        assert_eq!(xx.message_len(2, 0), Some(32 + 48 + 16));
        assert_eq!(xx.message_len(3, 5), Some(48 + 5 + 16));
        assert_eq!(xx.message_len(4, 0), None);
        assert_eq!(xx.payload_encrypted(1), Some(false));
        assert_eq!(xx.payload_encrypted(2), Some(true));
        assert_eq!(token_list(&xx.transport_dependencies()), "ee, es, se");
    }

    #[test]
    fn psk_mode_keys_the_cipher_at_the_first_ephemeral() {
        let nn = p("Noise_NNpsk2_25519_ChaChaPoly_SHA256");
        assert_eq!(nn.message_len(1, 0), Some(32 + 16));
        assert_eq!(nn.payload_encrypted(1), Some(true));
    }

    #[test]
    fn clear_static_and_payload_are_split_out() {
        let ix = p("Noise_IX_25519_ChaChaPoly_BLAKE2s");
        let mut body = vec![1u8; 32];
        body.extend_from_slice(&[2u8; 32]);
        body.extend_from_slice(b"hello");
        let r = ix.read_message(1, &body).expect("well formed");
        assert_eq!(r.clear_statics, vec![&[2u8; 32][..]]);
        assert_eq!(r.payload, Payload::Clear(b"hello"));
        assert!(matches!(
            ix.read_message(1, &body[..40]),
            Err(AdversaryError::ShortHandshakeMessage { needed: 64, .. })
        ));
        assert!(matches!(
            ix.read_message(3, &body),
            Err(AdversaryError::MessageIndex { .. })
        ));
    }

    #[test]
    fn names_outside_what_snow_speaks_are_refused() {
        assert!(matches!(
            Protocol::parse("Noise_XX_448_ChaChaPoly_BLAKE2s"),
            Err(AdversaryError::UnsupportedDh { .. })
        ));
        assert!(matches!(
            Protocol::parse("Noise_XX_25519_Rot13_BLAKE2s"),
            Err(AdversaryError::UnsupportedPrimitive { .. })
        ));
        assert!(matches!(
            Protocol::parse("Noise_XX_25519_ChaChaPoly"),
            Err(AdversaryError::BadProtocolName { .. })
        ));
        assert!(matches!(
            Protocol::parse("Noise_QQ_25519_ChaChaPoly_BLAKE2s"),
            Err(AdversaryError::UnknownPattern { .. })
        ));
    }
}
