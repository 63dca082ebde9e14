//! Every decoder of `proto::wire` on arbitrary bytes: `Frame`, `AppPdu` (and the PDUs it wraps
//! on their own: `SmsPdu`, `TunnelPdu`, `OttEnvelope`, `CallPdu`), `MediaPdu`, `LiRecord` and
//! the IRI decoder `Iri`, and the nested payloads the adversary decodes (a DATA frame's
//! `AppPdu`, an IRI record's `Iri`). Decoding never panics; every value decoded re-encodes
//! without error, and since every format is canonical the encoding is exactly the input and
//! decodes back to the same value. The borrowing decoders (`FrameRef`, `AppPduRef` and each
//! PDU's, `LiRecordRef`) accept exactly what the owned ones accept, with the same error or an
//! equal value, whose strings and byte fields lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proto::wire::{
    AppPdu, AppPduRef, CallPdu, CallPduRef, Frame, FrameRef, Iri, LiKind, LiRecord, LiRecordRef,
    MediaPdu, OttEnvelope, OttEnvelopeRef, SmsPdu, SmsPduRef, TunnelPdu, TunnelPduRef, WireError,
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

/// Whether `part` lies inside `whole`.
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr_range(), whole.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

/// The borrowed decoder of one type against its owned twin on `bytes`; `fields` lists the
/// borrowed value's strings and byte fields, which must point into `bytes`.
fn same<'a, R: core::fmt::Debug + Copy, O: PartialEq + core::fmt::Debug>(
    what: &str,
    bytes: &'a [u8],
    borrowed: impl Fn(&'a [u8]) -> Result<R, WireError>,
    owned: impl Fn(&[u8]) -> Result<O, WireError>,
    into_owned: impl Fn(R) -> O,
    fields: impl Fn(&R) -> Vec<&'a [u8]>,
) {
    match (borrowed(bytes), owned(bytes)) {
        (Ok(r), Ok(o)) => {
            for f in fields(&r) {
                assert!(
                    inside(f, bytes),
                    "{what}: a borrowed field is not in the input"
                );
            }
            assert_eq!(into_owned(r), o, "{what}: borrowed and owned values differ");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{what}: the errors differ"),
        (r, o) => panic!("{what}: borrowed {r:?}, owned {o:?}"),
    }
}

fn pdu_fields<'a>(p: &AppPduRef<'a>) -> Vec<&'a [u8]> {
    match p {
        AppPduRef::Sms(s) => vec![s.from.as_bytes(), s.to.as_bytes(), s.text.as_bytes()],
        AppPduRef::Tunnel(t) => vec![t.noise],
        AppPduRef::Ott(e) => vec![
            e.from.as_bytes(),
            e.to.as_bytes(),
            e.protocol.as_bytes(),
            e.body,
        ],
        AppPduRef::Call(c) => vec![c.from.as_bytes(), c.to.as_bytes(), c.body],
    }
}

fn borrowed_agree(data: &[u8]) {
    same(
        "FrameRef",
        data,
        FrameRef::decode,
        Frame::decode,
        FrameRef::into_owned,
        |f| match f {
            FrameRef::Data { payload, .. } => vec![*payload],
            FrameRef::Ack { .. } => Vec::new(),
        },
    );
    same(
        "AppPduRef",
        data,
        AppPduRef::decode,
        AppPdu::decode,
        AppPduRef::into_owned,
        pdu_fields,
    );
    same(
        "SmsPduRef",
        data,
        SmsPduRef::decode,
        SmsPdu::decode,
        SmsPduRef::into_owned,
        |s| pdu_fields(&AppPduRef::Sms(*s)),
    );
    same(
        "TunnelPduRef",
        data,
        TunnelPduRef::decode,
        TunnelPdu::decode,
        TunnelPduRef::into_owned,
        |t| vec![t.noise],
    );
    same(
        "OttEnvelopeRef",
        data,
        OttEnvelopeRef::decode,
        OttEnvelope::decode,
        OttEnvelopeRef::into_owned,
        |e| pdu_fields(&AppPduRef::Ott(*e)),
    );
    same(
        "CallPduRef",
        data,
        CallPduRef::decode,
        CallPdu::decode,
        CallPduRef::into_owned,
        |c| pdu_fields(&AppPduRef::Call(*c)),
    );
    same(
        "LiRecordRef",
        data,
        LiRecordRef::decode,
        LiRecord::decode,
        LiRecordRef::into_owned,
        |r| vec![r.liid.as_bytes(), r.payload],
    );
}

fuzz_target!(|data: &[u8]| {
    borrowed_agree(data);
    if let Ok(FrameRef::Data { payload, .. }) = FrameRef::decode(data) {
        borrowed_agree(payload);
    }
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
