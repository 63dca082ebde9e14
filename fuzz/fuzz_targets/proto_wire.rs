//! Every decoder of `proto::wire` on arbitrary bytes: `Frame`, `AppPdu` (and the PDUs it wraps
//! on their own: `SmsPdu`, `TunnelPdu`, `OttEnvelope`, `CallPdu`), `MediaPdu`, `LiRecord` and
//! the IRI decoder `Iri`, and the nested payloads the adversary decodes (a DATA frame's
//! `AppPdu`, an IRI record's `Iri`). Decoding never panics; every value decoded re-encodes
//! without error, and since every format is canonical the encoding is exactly the input and
//! decodes back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::wire::{
    AppPdu, CallPdu, Frame, Iri, LiKind, LiRecord, MediaPdu, OttEnvelope, SmsPdu, TunnelPdu,
    WireError,
};

/// Decodes `bytes` as one wire type; if it decodes, checks the canonical round trip.
fn check<T: PartialEq + core::fmt::Debug>(
    what: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, WireError>,
    encode: impl Fn(&T) -> Result<Vec<u8>, WireError>,
) -> Option<T> {
    let value = match decode(bytes) {
        Ok(v) => v,
        Err(e) => {
            let _ = e.to_string();
            return None;
        }
    };
    let encoded = match encode(&value) {
        Ok(b) => b,
        Err(e) => panic!("{what}: a decoded value does not re-encode: {e}: {value:?}"),
    };
    assert_eq!(encoded, bytes, "{what}: the encoding is not the input");
    match decode(&encoded) {
        Ok(again) => assert_eq!(again, value, "{what}: decode(encode(x)) != x"),
        Err(e) => panic!("{what}: its own encoding does not decode: {e}"),
    }
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    if let Some(Frame::Data { payload, .. }) = check("Frame", data, Frame::decode, Frame::to_bytes)
    {
        check("AppPdu in DATA", &payload, AppPdu::decode, AppPdu::to_bytes);
    }
    check("AppPdu", data, AppPdu::decode, AppPdu::to_bytes);
    check("SmsPdu", data, SmsPdu::decode, SmsPdu::to_bytes);
    check("TunnelPdu", data, TunnelPdu::decode, TunnelPdu::to_bytes);
    check(
        "OttEnvelope",
        data,
        OttEnvelope::decode,
        OttEnvelope::to_bytes,
    );
    check("CallPdu", data, CallPdu::decode, CallPdu::to_bytes);
    check("MediaPdu", data, MediaPdu::decode, MediaPdu::to_bytes);
    if let Some(rec) = check("LiRecord", data, LiRecord::decode, LiRecord::to_bytes) {
        if rec.kind == LiKind::Iri {
            check(
                "Iri in IRI record",
                &rec.payload,
                Iri::decode,
                Iri::to_bytes,
            );
        }
    }
    check("Iri", data, Iri::decode, Iri::to_bytes);
});
