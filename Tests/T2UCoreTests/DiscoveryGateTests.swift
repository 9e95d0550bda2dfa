// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import Testing

@testable import T2UCore

/// LAN discovery is not a reflector and cannot inject output (docs/SECURITY.md §4).
@Suite struct DiscoveryGateTests {
    static let lan = LocalSubnet(host: NetAddress(ipv4: (192, 0, 2, 10), port: 0).host, prefixLength: 24)
    static let neighbour = NetAddress(ipv4: (192, 0, 2, 33), port: 50_000)
    static let stranger = NetAddress(ipv4: (198, 51, 100, 9), port: 50_000)
    static let agentV4 = NetAddress(ipv4: (192, 0, 2, 10), port: 7_100)
    static let agentV6 = NetAddress(host: .v6(0xFE80_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF), port: 7_100)

    static func bytes(_ message: SignalingMessage) -> ByteBuffer {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return buffer
    }

    /// Every UUID length the protocol allows, both address families, the SEARCH for everyone
    /// and the SEARCH for that UUID: the reply is never larger than the request.
    @Test func reflectionFactorIsAtMostOneForEveryUUIDLength() throws {
        var worst = 0.0
        for length in 1...SignalingLimits.maxUUIDLength {
            let uuid = String(repeating: "U", count: length)
            for agent in [Self.agentV4, Self.agentV6] {
                for wanted in [nil, uuid] {
                    var gate = DiscoveryGate(uuid: uuid, now: .zero)
                    let request = Self.bytes(.search(requestID: 7, uuid: wanted))
                    #expect(request.readableBytes >= SignalingLimits.minSearchRequest)
                    guard
                        case .reply(let reply) = gate.handle(
                            request, from: Self.neighbour, subnets: [Self.lan],
                            replyAddress: { agent }, now: .zero)
                    else {
                        Issue.record("uuid length \(length) not answered")
                        continue
                    }
                    #expect(try SignalingMessage.parse(reply) == .searchReply(requestID: 7, uuid: uuid, address: agent))
                    worst = max(worst, Double(reply.readableBytes) / Double(request.readableBytes))
                }
            }
        }
        print(
            "discovery reflection factor, worst over UUID lengths 1...64 and IPv4/IPv6: \(String(format: "%.2f", worst)) (before: 3.7x, 12.8x with a long UUID)"
        )
        #expect(worst <= 1)
    }

    @Test func unpaddedSearchIsIgnored() {
        var gate = DiscoveryGate(uuid: "cam", now: .zero)
        // SEARCH as older clients sent it: type, request ID, 0 (10 bytes).
        var old = ByteBuffer()
        old.writeMultipleIntegers(SignalingMessageType.search.rawValue, UInt32(7), UInt8(0))
        #expect(
            gate.handle(old, from: Self.neighbour, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.unpadded))
        var padded = Self.bytes(.search(requestID: 7, uuid: nil))
        padded.moveWriterIndex(to: padded.writerIndex - 1)
        #expect(
            gate.handle(padded, from: Self.neighbour, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.unpadded))
        #expect(gate.answered == 0)
    }

    @Test func searchFromAnotherSubnetIsIgnored() {
        var gate = DiscoveryGate(uuid: "cam", now: .zero)
        let request = Self.bytes(.search(requestID: 7, uuid: nil))
        #expect(
            gate.handle(request, from: Self.stranger, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.offSubnet))
        let broadcast = NetAddress(ipv4: (192, 0, 2, 255), port: 9)
        #expect(
            gate.handle(request, from: broadcast, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.offSubnet))
        #expect(
            gate.handle(request, from: Self.neighbour, subnets: [], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.offSubnet))
        guard
            case .reply = gate.handle(
                request, from: Self.neighbour, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
        else {
            Issue.record("the same SEARCH from our LAN must be answered")
            return
        }
        let other = Self.bytes(.search(requestID: 8, uuid: "someone-else"))
        #expect(
            gate.handle(other, from: Self.neighbour, subnets: [Self.lan], replyAddress: { Self.agentV4 }, now: .zero)
                == .drop(.otherUUID))
    }

    /// 10,000 SEARCHes in one second from one source, then from 10,000 sources of our /24
    /// (spoofed): replies stay within the per-source and global buckets.
    @Test func rateLimitHoldsUnderAFlood() {
        var gate = DiscoveryGate(uuid: "cam", now: .zero)
        let request = Self.bytes(.search(requestID: 7, uuid: nil))
        var bytesIn = 0
        var bytesOut = 0
        for i in 0..<10_000 {
            bytesIn += request.readableBytes
            if case .reply(let reply) = gate.handle(
                request, from: Self.neighbour, subnets: [Self.lan], replyAddress: { Self.agentV4 },
                now: .zero + .microseconds(Int64(i) * 100))
            {
                bytesOut += reply.readableBytes
            }
        }
        let config = DiscoveryGate.Config()
        #expect(
            Double(gate.answered) <= config.perSourceBurst + config.perSourceRate * 1 + 1,
            "\(gate.answered) from one source")
        let fromOne = gate.answered
        var wide = ByteBuffer()
        for i in 0..<10_000 {
            wide = request
            let source = NetAddress(ipv4: (192, 0, 2, UInt8(1 + i % 254)), port: UInt16(1024 + i))
            _ = gate.handle(
                wide, from: source, subnets: [Self.lan], replyAddress: { Self.agentV4 },
                now: .zero + .seconds(1) + .microseconds(Int64(i) * 100))
        }
        let fromMany = gate.answered - fromOne
        #expect(Double(fromMany) <= config.globalBurst + config.globalRate * 1 + 1, "\(fromMany) from many sources")
        print(
            "discovery flood: 10000 SEARCH/s from one source -> \(fromOne) replies (\(bytesOut) B out for \(bytesIn) B in); from 254 LAN sources -> \(fromMany) replies; refused \(gate.refused)"
        )
    }

    // MARK: the client's side

    static func reply(_ uuid: String, id: UInt32 = 7, address: NetAddress = agentV4) -> ByteBuffer {
        bytes(.searchReply(requestID: id, uuid: uuid, address: address))
    }

    @Test func forgedRepliesProduceNoLine() {
        let check = { (datagram: ByteBuffer, source: NetAddress) in
            SearchReplyCheck.accept(datagram, requestID: 7, from: source, subnets: [Self.lan])
        }
        #expect(check(Self.reply("cam-1"), Self.neighbour) == .init(uuid: "cam-1", ip: "192.0.2.10"))
        #expect(check(Self.reply("cam\nuuid=evil,ip=6.6.6.6"), Self.neighbour) == nil, "newline in the UUID")
        #expect(check(Self.reply("cam,ip=6.6.6.6"), Self.neighbour) == nil, "comma in the UUID")
        #expect(check(Self.reply("cam 1"), Self.neighbour) == nil, "space")
        #expect(check(Self.reply("caméra"), Self.neighbour) == nil, "not ASCII")
        #expect(check(Self.reply("cam-1", id: 8), Self.neighbour) == nil, "another request")
        #expect(check(Self.reply("cam-1"), Self.stranger) == nil, "reply from another subnet")
        // A named address off our LAN is replaced by where the reply came from.
        #expect(
            check(Self.reply("cam-1", address: Self.stranger), Self.neighbour) == .init(uuid: "cam-1", ip: "192.0.2.33")
        )
        #expect(
            check(Self.reply("cam-1", address: NetAddress(ipv4: (0, 0, 0, 0), port: 1)), Self.neighbour)?.ip
                == "192.0.2.33")
    }

    @Test func uuidRule() {
        #expect(DeviceUUID.isValid("CAM-0001"))
        #expect(DeviceUUID.isValid(String(repeating: "~", count: 64)))
        #expect(!DeviceUUID.isValid(String(repeating: "a", count: 65)))
        #expect(!DeviceUUID.isValid(""))
        #expect(!DeviceUUID.isValid("a\u{7F}"))
        #expect(!DeviceUUID.isValid("a\u{0}b"))
    }
}
