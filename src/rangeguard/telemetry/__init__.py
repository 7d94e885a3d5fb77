"""rangeguard.telemetry: CCSDS space packets over UDP, the real-time AFSS shell and the streamer.

See docs/telemetry.md for the packet layouts and the run-time policies.
"""

from rangeguard.telemetry.packets import (
    APID_DESTRUCT,
    APID_HEALTH,
    APID_HEARTBEAT,
    APID_NAV,
    APID_STATUS,
    APID_TERMINATE,
    DestructCommand,
    HealthPacket,
    HeartbeatPacket,
    NavPacket,
    PacketError,
    StatusPacket,
    TerminateCommand,
    decode_packet,
    encode_packet,
    encode_status,
)

__all__ = [
    "APID_DESTRUCT",
    "APID_HEALTH",
    "APID_HEARTBEAT",
    "APID_NAV",
    "APID_STATUS",
    "APID_TERMINATE",
    "DestructCommand",
    "HealthPacket",
    "HeartbeatPacket",
    "NavPacket",
    "PacketError",
    "StatusPacket",
    "TerminateCommand",
    "decode_packet",
    "encode_packet",
    "encode_status",
]
