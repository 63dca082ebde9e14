#!/usr/bin/env python3
"""Count what the packets of `wiretap run --out DIR` pcap files carry, by the ports and tags the
adversary's observation table dissects (BENCHMARKING.md, "Captures in arenas").

    python3 benches/pcap_frames.py DIR/*.pcap

Prints, over all files: packets; reliable-layer ACKs; DATA frames by application PDU (SMS,
tunnel, OTT envelope, call signalling) with the bytes of the PDU (a tunnel's: its Noise
message); LI records; media; other. Reads the nanosecond pcap `wiretap` writes (link type 228,
little-endian).
"""

import struct
import sys

FRAME_PORT, LI_PORT, MEDIA_PORT = 42420, 42421, 42422
TAGS = {0x10: "sms", 0x20: "tunnel", 0x30: "ott", 0x40: "call"}


def main(paths):
    count, size, total = {}, {}, 0
    for path in paths:
        data = open(path, "rb").read()
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack_from("<I", data, off + 8)[0]
            pkt = data[off + 16:off + 16 + incl]
            off += 16 + incl
            total += 1
            udp = pkt[(pkt[0] & 15) * 4:]
            ports = struct.unpack_from(">HH", udp, 0)
            payload = udp[8:]
            if FRAME_PORT in ports and len(payload) > 10 and payload[3] == 1:
                pdu = payload[10:]  # magic, version, type, seq, u16 length
                kind = TAGS.get(pdu[0], "other-pdu")
                n = struct.unpack_from(">H", pdu, 2)[0] if kind == "tunnel" else len(pdu)
                size[kind] = size.get(kind, 0) + n
            elif FRAME_PORT in ports:
                kind = "ack"
            elif LI_PORT in ports:
                kind = "li"
            elif MEDIA_PORT in ports:
                kind = "media"
            else:
                kind = "other"
            count[kind] = count.get(kind, 0) + 1
    print(f"{total} packets")
    for kind in sorted(count, key=lambda k: -count[k]):
        extra = f", {size[kind]} PDU bytes" if kind in size else ""
        print(f"  {kind:10} {count[kind]:>9}{extra}")


if __name__ == "__main__":
    main(sys.argv[1:])
