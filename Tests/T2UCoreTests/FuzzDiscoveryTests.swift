// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// Bounded, seeded fuzzing of the discovery parsers (device gate, client reply check): random
/// and mutated datagrams never crash, never get a reply larger than themselves, never yield a
/// device line with a newline or a comma.
@Suite struct FuzzDiscoveryTests {
    static let iterations = 20_000
    static let lan = LocalSubnet(host: NetAddress(ipv4: (192, 168, 1, 10), port: 0).host, prefixLength: 24)
    static let source = NetAddress(ipv4: (192, 168, 1, 33), port: 50_000)

    static let corpus: [[UInt8]] = [
        SignalingMessage.search(requestID: 7, uuid: nil), .search(requestID: 7, uuid: "cam"),
        .search(requestID: 7, uuid: String(repeating: "x", count: 64)),
        .searchReply(requestID: 7, uuid: "cam", address: NetAddress(ipv4: (192, 168, 1, 10), port: 1)),
        .searchReply(
            requestID: 7, uuid: String(repeating: "y", count: 64), address: NetAddress(host: .v6(1, 2), port: 3)),
    ].map { message in
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func check(_ bytes: [UInt8], gate: inout DiscoveryGate) -> String? {
        let datagram = ByteBuffer(bytes: bytes)
        // Far apart in time so the rate limit never hides a reply decision.
        if case .reply(let reply) = gate.handle(
            datagram, from: source, subnets: [lan],
            replyAddress: { NetAddress(host: .v6(.max, .max), port: 1) },
            now: .zero + .seconds(Int64(bytes.count) * 1000))
        {
            if reply.readableBytes > bytes.count { return "reply \(reply.readableBytes) B to \(bytes.count) B" }
        }
        if let found = SearchReplyCheck.accept(datagram, requestID: 7, from: source, subnets: [lan]) {
            let line = "uuid=\(found.uuid),ip=\(found.ip)"
            if line.contains("\n") || line.contains("\r") || line.filter({ $0 == "," }).count != 1 {
                return "line \(line.debugDescription)"
            }
        }
        return nil
    }

    @Test(arguments: [UInt64(21), 22])
    func discoveryFromRandomAndMutatedBytes(seed: UInt64) {
        let m = Mutator(seed: seed)
        var gate = DiscoveryGate(uuid: "cam", now: .zero)
        for iteration in 0..<Self.iterations {
            var bytes: [UInt8]
            if m.chance(1, in: 3) {
                bytes = m.randomBytes(maxLength: 128)
                if !bytes.isEmpty, m.chance(3, in: 4) { bytes[0] = m.element(of: [0x2F, 0x30]) }
            } else {
                bytes = m.mutate(m.element(of: Self.corpus), donor: m.element(of: Self.corpus))
                // Reach the UUID check: printable bytes, newlines and commas in the string field.
                if bytes.count > 7, m.chance(1, in: 4) {
                    bytes[6 + m.int(below: bytes.count - 6)] = m.element(of: [0x0A, 0x2C, 0x0D, 0x20])
                }
            }
            if let failure = Self.check(bytes, gate: &gate) {
                Issue.record("seed \(seed) iteration \(iteration) input \(bytes): \(failure)")
                return
            }
        }
        #expect(gate.answered > 0, "the fuzzer never reached a reply")
    }
}
