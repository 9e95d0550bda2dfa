import NIOCore
@testable import T2UCore

/// Shared helpers for the handshake, packet protection and fuzz suites.
enum HandshakeFixture {
    static let clientCID = ConnectionID(rawValue: 0x1111_2222_3333_4444)
    static let deviceCID = ConnectionID(rawValue: 0xAAAA_BBBB_CCCC_DDDD)

    static func identity(_ seed: UInt64) -> StaticIdentity { StaticIdentity.generate(SeededEntropy(seed: seed)) }

    /// Bytes as a ByteBuffer whose readerIndex is not 0 (junk in front), as the shell may hand them.
    static func buffer(_ bytes: [UInt8], junkPrefix: Int = 5) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + junkPrefix)
        buffer.writeBytes([UInt8](repeating: 0xEE, count: junkPrefix))
        buffer.writeBytes(bytes)
        buffer.moveReaderIndex(forwardBy: junkPrefix)
        return buffer
    }

    /// Seals `plaintext` behind a 3-byte header on one side and opens it on the other.
    static func transfer(
        _ plaintext: [UInt8], from sender: inout PacketProtection, to receiver: inout PacketProtection,
        packetNumber: UInt64
    ) throws(PacketProtectionError) -> [UInt8] {
        var packet = sealed(plaintext, by: &sender, packetNumber: packetNumber)
        packet.moveReaderIndex(forwardBy: 0)
        var opened = try receiver.open(packet: packet, headerLength: 3, packetNumber: packetNumber, keyPhase: sender.sendKeyPhase)
        return opened.readBytes(length: opened.readableBytes) ?? []
    }

    static func sealed(_ plaintext: [UInt8], by sender: inout PacketProtection, packetNumber: UInt64) -> ByteBuffer {
        var packet = buffer([0x04, 0x01, 0x02] + plaintext, junkPrefix: 7)
        sender.seal(packet: &packet, headerLength: 3, packetNumber: packetNumber)
        return packet
    }

    /// True when each side opens what the other sealed, in both directions.
    static func keysAgree(_ a: SessionKeys, _ b: SessionKeys) -> Bool {
        var pa = PacketProtection(keys: a)
        var pb = PacketProtection(keys: b)
        let message: [UInt8] = Array("hello through the tunnel".utf8)
        guard (try? transfer(message, from: &pa, to: &pb, packetNumber: 7)) == message,
              (try? transfer(message, from: &pb, to: &pa, packetNumber: 9)) == message
        else { return false }
        return true
    }
}
