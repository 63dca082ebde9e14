//! The engine against the published Noise test vectors (cacophony and snow's own, Curve25519
//! only; see `tests/data/README.md`): with every private key in the keyring it must read every
//! payload, and writing with the vector's ephemerals must reproduce every ciphertext byte.

mod common;

use adversary::engine::{Engine, Keyring, Premessages, Role};
use common::{unhex, unhex32, FixedRng};
use serde_json::Value;

fn field32(v: &Value, k: &str) -> Option<[u8; 32]> {
    v.get(k).and_then(Value::as_str).map(unhex32)
}

/// Runs one vector; returns an error describing the first mismatch.
fn check(v: &Value) -> Result<(), String> {
    let name = v["protocol_name"].as_str().ok_or("no name")?;
    let prologue = unhex(v["init_prologue"].as_str().unwrap_or(""));
    let psks: Vec<Option<[u8; 32]>> = v
        .get("init_psks")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|p| p.as_str().map(unhex32)).collect())
        .unwrap_or_default();
    let mut keys = Keyring::new();
    let i_static = field32(v, "init_static").map(|k| keys.add_private(k));
    let r_static = field32(v, "resp_static").map(|k| keys.add_private(k));
    let i_eph = field32(v, "init_ephemeral").ok_or("no init_ephemeral")?;
    let r_eph = field32(v, "resp_ephemeral");
    keys.add_private(i_eph);
    if let Some(e) = r_eph {
        keys.add_private(e);
    }
    let pre = Premessages {
        initiator_static: field32(v, "resp_remote_static"),
        responder_static: field32(v, "init_remote_static"),
    };
    let mut reader =
        Engine::with_psks(name, &prologue, &pre, &psks).map_err(|e| format!("new: {e}"))?;
    let mut writer = reader.clone();
    let one_way = reader.is_one_way();
    let messages = v["messages"].as_array().ok_or("no messages")?;
    for (i, m) in messages.iter().enumerate() {
        let payload = unhex(m["payload"].as_str().ok_or("payload")?);
        let ciphertext = unhex(m["ciphertext"].as_str().ok_or("ciphertext")?);
        let from = if one_way || i % 2 == 0 {
            Role::Initiator
        } else {
            Role::Responder
        };
        if !reader.handshake_finished() {
            assert_eq!(reader.next_handshake_sender(), Some(from));
        }
        let got = reader
            .read(from, &ciphertext, &keys)
            .map_err(|e| format!("read message {}: {e}", i + 1))?;
        if got.payload.as_deref() != Some(&payload[..]) {
            return Err(format!("message {}: payload {:?}", i + 1, got.blocked));
        }
        let (eph, stat) = match from {
            Role::Initiator => (i_eph, i_static),
            Role::Responder => (r_eph.unwrap_or([0; 32]), r_static),
        };
        let mut rng = FixedRng::new(&eph);
        let mut wkeys = keys.clone();
        let written = writer
            .write(from, &payload, stat, &mut wkeys, &mut rng)
            .map_err(|e| format!("write message {}: {e}", i + 1))?;
        if written != ciphertext {
            return Err(format!("message {}: written ciphertext differs", i + 1));
        }
    }
    if let Some(h) = v.get("handshake_hash").and_then(Value::as_str) {
        if reader.handshake_hash() != Some(unhex(h)) || writer.handshake_hash() != Some(unhex(h)) {
            return Err("handshake hash differs".into());
        }
    }
    if reader.blocked().is_some() {
        return Err(format!("blocked with every key: {:?}", reader.blocked()));
    }
    Ok(())
}

fn run_file(json: &str) -> (usize, usize) {
    let doc: Value = serde_json::from_str(json).expect("vector JSON");
    let vectors = doc["vectors"].as_array().expect("vectors");
    let mut passed = 0;
    let mut hashes = 0;
    let mut failures = Vec::new();
    for v in vectors {
        match check(v) {
            Ok(()) => {
                passed += 1;
                hashes += usize::from(v.get("handshake_hash").is_some());
            }
            Err(e) => failures.push(format!("{}: {e}", v["protocol_name"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures: {:#?}",
        failures.len(),
        &failures[..failures.len().min(20)]
    );
    assert_eq!(passed, vectors.len());
    (passed, hashes)
}

#[test]
fn cacophony_vectors_all_pass() {
    let (passed, hashes) = run_file(include_str!("data/cacophony.txt"));
    println!("cacophony: {passed} vectors passed ({hashes} with handshake hash checked)");
    assert_eq!(passed, 472);
    assert_eq!(hashes, 472);
}

#[test]
fn snow_vectors_all_pass() {
    let (passed, _) = run_file(include_str!("data/snow.txt"));
    println!("snow: {passed} vectors passed");
    assert_eq!(passed, 408);
}
