//! The 38 base handshake patterns of the Noise specification (revision 34), and psk modifiers.
//!
//! This is the adversary's own copy of public protocol knowledge, written from the specification
//! (§7.4 one-way, §7.5 fundamental, §7.6 deferred patterns, §9 psk modifiers), not borrowed from
//! snow: the test suite checks that it predicts, for every pattern snow supports, exactly the
//! message lengths snow writes and exactly which payloads snow encrypts.
//!
//! Messages alternate, initiator first: `messages[0]` is `->`, `messages[1]` is `<-`, and so on.

use crate::AdversaryError;

/// One token of a handshake pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    /// The sender's ephemeral public key, always in clear.
    E,
    /// The sender's static public key, encrypted if a cipher key is set.
    S,
    /// DH between both ephemerals.
    Ee,
    /// DH between the initiator's ephemeral and the responder's static.
    Es,
    /// DH between the initiator's static and the responder's ephemeral.
    Se,
    /// DH between both statics.
    Ss,
    /// Mix in a pre-shared key.
    Psk,
}

impl Token {
    /// The token as the specification writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Token::E => "e",
            Token::S => "s",
            Token::Ee => "ee",
            Token::Es => "es",
            Token::Se => "se",
            Token::Ss => "ss",
            Token::Psk => "psk",
        }
    }

    /// Whether the token is a Diffie-Hellman operation.
    pub fn is_dh(self) -> bool {
        matches!(self, Token::Ee | Token::Es | Token::Se | Token::Ss)
    }
}

/// A base handshake pattern: pre-messages and message tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern's name, e.g. `"XX"`.
    pub name: &'static str,
    /// Initiator's pre-message (`-> s` before `...`).
    pub initiator_pre: &'static [Token],
    /// Responder's pre-message (`<- s` before `...`).
    pub responder_pre: &'static [Token],
    /// The messages, initiator first, alternating.
    pub messages: &'static [&'static [Token]],
}

use Token::{Ee, Es, Se, Ss, E, S};

const NONE: &[Token] = &[];
const PRE_S: &[Token] = &[S];

macro_rules! pattern {
    ($name:literal, $ipre:expr, $rpre:expr, [$($msg:expr),+ $(,)?]) => {
        Pattern { name: $name, initiator_pre: $ipre, responder_pre: $rpre, messages: &[$(&$msg),+] }
    };
}

/// All 38 base patterns of Noise revision 34, in the specification's order.
pub const PATTERNS: [Pattern; 38] = [
    // §7.4 one-way
    pattern!("N", NONE, PRE_S, [[E, Es]]),
    pattern!("K", PRE_S, PRE_S, [[E, Es, Ss]]),
    pattern!("X", NONE, PRE_S, [[E, Es, S, Ss]]),
    // §7.5 interactive, fundamental
    pattern!("NN", NONE, NONE, [[E], [E, Ee]]),
    pattern!("NK", NONE, PRE_S, [[E, Es], [E, Ee]]),
    pattern!("NX", NONE, NONE, [[E], [E, Ee, S, Es]]),
    pattern!("KN", PRE_S, NONE, [[E], [E, Ee, Se]]),
    pattern!("KK", PRE_S, PRE_S, [[E, Es, Ss], [E, Ee, Se]]),
    pattern!("KX", PRE_S, NONE, [[E], [E, Ee, Se, S, Es]]),
    pattern!("XN", NONE, NONE, [[E], [E, Ee], [S, Se]]),
    pattern!("XK", NONE, PRE_S, [[E, Es], [E, Ee], [S, Se]]),
    pattern!("XX", NONE, NONE, [[E], [E, Ee, S, Es], [S, Se]]),
    pattern!("IN", NONE, NONE, [[E, S], [E, Ee, Se]]),
    pattern!("IK", NONE, PRE_S, [[E, Es, S, Ss], [E, Ee, Se]]),
    pattern!("IX", NONE, NONE, [[E, S], [E, Ee, Se, S, Es]]),
    // §7.6 interactive, deferred
    pattern!("NK1", NONE, PRE_S, [[E], [E, Ee, Es]]),
    pattern!("NX1", NONE, NONE, [[E], [E, Ee, S], [Es]]),
    pattern!("X1N", NONE, NONE, [[E], [E, Ee], [S], [Se]]),
    pattern!("X1K", NONE, PRE_S, [[E, Es], [E, Ee], [S], [Se]]),
    pattern!("XK1", NONE, PRE_S, [[E], [E, Ee, Es], [S, Se]]),
    pattern!("X1K1", NONE, PRE_S, [[E], [E, Ee, Es], [S], [Se]]),
    pattern!("X1X", NONE, NONE, [[E], [E, Ee, S, Es], [S], [Se]]),
    pattern!("XX1", NONE, NONE, [[E], [E, Ee, S], [Es, S, Se]]),
    pattern!("X1X1", NONE, NONE, [[E], [E, Ee, S], [Es, S], [Se]]),
    pattern!("K1N", PRE_S, NONE, [[E], [E, Ee], [Se]]),
    pattern!("K1K", PRE_S, PRE_S, [[E, Es], [E, Ee], [Se]]),
    pattern!("KK1", PRE_S, PRE_S, [[E], [E, Ee, Se, Es]]),
    pattern!("K1K1", PRE_S, PRE_S, [[E], [E, Ee, Es], [Se]]),
    pattern!("K1X", PRE_S, NONE, [[E], [E, Ee, S, Es], [Se]]),
    pattern!("KX1", PRE_S, NONE, [[E], [E, Ee, Se, S], [Es]]),
    pattern!("K1X1", PRE_S, NONE, [[E], [E, Ee, S], [Se, Es]]),
    pattern!("I1N", NONE, NONE, [[E, S], [E, Ee], [Se]]),
    pattern!("I1K", NONE, PRE_S, [[E, Es, S], [E, Ee], [Se]]),
    pattern!("IK1", NONE, PRE_S, [[E, S], [E, Ee, Se, Es]]),
    pattern!("I1K1", NONE, PRE_S, [[E, S], [E, Ee, Es], [Se]]),
    pattern!("I1X", NONE, NONE, [[E, S], [E, Ee, S, Es], [Se]]),
    pattern!("IX1", NONE, NONE, [[E, S], [E, Ee, Se, S], [Es]]),
    pattern!("I1X1", NONE, NONE, [[E, S], [E, Ee, S], [Se, Es]]),
];

/// The base pattern called `name` (exact, case-sensitive), if it is one of the 38.
pub fn base(name: &str) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|p| p.name == name)
}

/// A base pattern with its modifiers applied: the token lists a handshake actually runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModifiedPattern {
    /// The pattern part of the protocol name, e.g. `"XXpsk3"` or `"NNpsk0+psk2"`.
    pub name: String,
    /// The base pattern.
    pub base: &'static Pattern,
    /// The messages with `psk` tokens inserted.
    pub messages: Vec<Vec<Token>>,
    /// Whether any psk modifier is present (then every `e` token also keys the cipher, §9.2).
    pub psk_mode: bool,
}

/// Parses the pattern part of a protocol name (`"XX"`, `"XXpsk3"`, `"NNpsk0+psk2"`, `"X1X1"`)
/// and applies its psk modifiers per §9: `psk0` at the start of the first message, `pskN` at the
/// end of message `N`.
///
/// # Errors
/// [`AdversaryError::UnknownPattern`] for a base name not among the 38,
/// [`AdversaryError::UnsupportedModifier`] for a modifier other than `pskN`, and
/// [`AdversaryError::BadPskPosition`] for a `pskN` past the last message.
pub fn modified(pattern: &str) -> Result<ModifiedPattern, AdversaryError> {
    let split = pattern
        .find(|c: char| c.is_ascii_lowercase())
        .unwrap_or(pattern.len());
    let (base_name, mods) = pattern.split_at(split);
    let base = base(base_name).ok_or_else(|| AdversaryError::UnknownPattern {
        pattern: pattern.to_owned(),
    })?;
    let mut messages: Vec<Vec<Token>> = base.messages.iter().map(|m| m.to_vec()).collect();
    let mut psk_mode = false;
    if !mods.is_empty() {
        let mut seen = Vec::new();
        for m in mods.split('+') {
            if seen.contains(&m) {
                return Err(AdversaryError::UnsupportedModifier {
                    modifier: format!("{m} (repeated)"),
                });
            }
            seen.push(m);
            let position = m
                .strip_prefix("psk")
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| AdversaryError::UnsupportedModifier {
                    modifier: m.to_owned(),
                })?;
            let bad = || AdversaryError::BadPskPosition {
                pattern: pattern.to_owned(),
                position,
                messages: base.messages.len(),
            };
            if position == 0 {
                messages.first_mut().ok_or_else(bad)?.insert(0, Token::Psk);
            } else {
                messages
                    .get_mut(position - 1)
                    .ok_or_else(bad)?
                    .push(Token::Psk);
            }
            psk_mode = true;
        }
    }
    Ok(ModifiedPattern {
        name: pattern.to_owned(),
        base,
        messages,
        psk_mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_38_distinct_patterns() {
        let mut names: Vec<&str> = PATTERNS.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 38);
    }

    #[test]
    fn every_pattern_starts_with_the_initiator_ephemeral_and_sends_each_static_at_most_once() {
        for p in &PATTERNS {
            assert_eq!(p.messages[0][0], Token::E, "{}", p.name);
            for side in 0..2 {
                let statics = p
                    .messages
                    .iter()
                    .skip(side)
                    .step_by(2)
                    .flat_map(|m| m.iter())
                    .filter(|&&t| t == Token::S)
                    .count();
                let pre = if side == 0 {
                    p.initiator_pre
                } else {
                    p.responder_pre
                };
                assert!(statics + pre.len() <= 1, "{} side {side}", p.name);
            }
        }
    }

    #[test]
    fn psk_modifiers_insert_where_section_9_says() {
        let p = modified("NNpsk0+psk2").expect("valid");
        assert_eq!(
            p.messages,
            vec![vec![Token::Psk, E], vec![E, Ee, Token::Psk]]
        );
        assert!(p.psk_mode);
        let p = modified("XXpsk3").expect("valid");
        assert_eq!(p.messages[2], vec![S, Se, Token::Psk]);
        assert!(!modified("XX").expect("valid").psk_mode);
        assert_eq!(modified("X1X1").expect("valid").base.name, "X1X1");
    }

    #[test]
    fn bad_names_are_errors_not_panics() {
        assert!(matches!(
            modified("ZZ"),
            Err(AdversaryError::UnknownPattern { .. })
        ));
        assert!(matches!(
            modified("XXfallback"),
            Err(AdversaryError::UnsupportedModifier { .. })
        ));
        assert!(matches!(
            modified("NNpsk3"),
            Err(AdversaryError::BadPskPosition { position: 3, .. })
        ));
        assert!(modified("XXpsk").is_err());
        assert!(modified("XXpsk99999999999999999999999").is_err());
        assert!(modified("").is_err());
        assert!(modified("NN+").is_err());
        assert!(modified("NNpsk0+psk0").is_err());
    }
}
