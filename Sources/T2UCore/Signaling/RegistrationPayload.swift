// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// The plaintext of REGISTER's encrypted payload: who registers and how to reach it. Its sender's
/// key is not here: the server takes it from the handshake's authenticated static.
/// Layout: uuid(u8 len) extra(u16 len) candidates(count(1) addresses) nat(kind(1) delta(4))
/// certificate(u16 len, 0 = none) rotation(1: 0|1) [oldPublicKey(32) proof(32)].
package struct RegistrationPayload: Equatable, Sendable {
    package var uuid: String
    package var extra: [UInt8]
    package var candidates: [NetAddress]
    package var nat: NATBehavior
    package var certificate: [UInt8]?
    package var rotation: KeyRotationData?

    package init(
        uuid: String, extra: [UInt8], candidates: [NetAddress], nat: NATBehavior = .unknown,
        certificate: [UInt8]? = nil, rotation: KeyRotationData? = nil
    ) {
        self.uuid = uuid
        self.extra = extra
        self.candidates = candidates
        self.nat = nat
        self.certificate = certificate
        self.rotation = rotation
    }

    package func encoded() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        buffer.writeShortString(uuid)
        buffer.writeLongBytes(Array(extra.prefix(SignalingLimits.maxExtraLength)))
        buffer.writeSignalingAddresses(candidates)
        buffer.writeNAT(nat)
        buffer.writeLongBytes(Array((certificate ?? []).prefix(SignalingLimits.maxCertificateLength)))
        if let rotation {
            buffer.writeInteger(UInt8(1))
            buffer.writeBytes(rotation.oldPublicKey.prefix(SignalingLimits.publicKeyLength))
            buffer.writeBytes(rotation.proof.prefix(SignalingLimits.rotationLength - SignalingLimits.publicKeyLength))
        } else {
            buffer.writeInteger(UInt8(0))
        }
        return Array(buffer.readableBytesView)
    }

    /// Strict: every field present, nothing after the last one.
    package static func parse(_ bytes: [UInt8]) throws(SignalingParseError) -> RegistrationPayload {
        var r = SignalingReader(buffer: ByteBuffer(bytes: bytes))
        let uuid = try r.uuid("uuid")
        let extra = try r.longBytes("extra", maxLength: SignalingLimits.maxExtraLength)
        let candidates = try r.addresses("candidates")
        let kind = try r.u8("nat")
        guard let nat = NATBehavior(wireKind: kind, delta: Int32(bitPattern: try r.u32("nat delta"))) else {
            throw .invalid("nat")
        }
        let certificate = try r.longBytes("certificate", maxLength: SignalingLimits.maxCertificateLength)
        var rotation: KeyRotationData?
        if try r.bool("rotation flag") {
            let old = try r.bytes(SignalingLimits.publicKeyLength, "old key")
            rotation = KeyRotationData(
                oldPublicKey: old,
                proof: try r.bytes(SignalingLimits.rotationLength - SignalingLimits.publicKeyLength, "rotation proof"))
        }
        guard r.buffer.readableBytes == 0 else { throw .invalid("trailing bytes") }
        return RegistrationPayload(
            uuid: uuid, extra: extra, candidates: candidates, nat: nat,
            certificate: certificate.isEmpty ? nil : certificate, rotation: rotation)
    }
}
