// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite struct NATBehaviorTests {
    static let lan = NetAddress(ipv4: (192, 0, 2, 10), port: 5000)

    @Test func classifiesFromTheTwoServerPorts() {
        let main = NetAddress(ipv4: (203, 0, 113, 5), port: 40_000)
        func observed(_ port: UInt16) -> NetAddress { NetAddress(ipv4: (203, 0, 113, 5), port: port) }
        #expect(NATBehavior.classify(main: Self.lan, observation: Self.lan, local: [Self.lan]) == .none)
        #expect(NATBehavior.classify(main: main, observation: main, local: [Self.lan]) == .endpointIndependent)
        #expect(
            NATBehavior.classify(main: main, observation: observed(40_001), local: [Self.lan])
                == .endpointDependent(delta: 1))
        #expect(
            NATBehavior.classify(main: main, observation: observed(39_998), local: []) == .endpointDependent(delta: -2))
        #expect(
            NATBehavior.classify(main: main, observation: observed(1100), local: [])
                == .endpointDependent(delta: 1100 - 40_000))
        #expect(NATBehavior.classify(main: nil, observation: main, local: []) == .unknown)
        #expect(NATBehavior.classify(main: main, observation: nil, local: []) == .unknown)
        // Different public IPs (a NAT pool): no conclusion.
        #expect(
            NATBehavior.classify(main: main, observation: NetAddress(ipv4: (203, 0, 113, 6), port: 40_000), local: [])
                == .unknown)
    }

    @Test func predictabilityFollowsTheDelta() {
        #expect(NATBehavior.endpointDependent(delta: 1).predictableDelta == 1)
        #expect(NATBehavior.endpointDependent(delta: -16).predictableDelta == -16)
        #expect(NATBehavior.endpointDependent(delta: 17).predictableDelta == nil)
        #expect(NATBehavior.endpointDependent(delta: 17).isRandomDependent)
        #expect(!NATBehavior.endpointDependent(delta: 2).isRandomDependent)
        #expect(!NATBehavior.endpointIndependent.isEndpointDependent)
        #expect(NATBehavior.none.isEndpointIndependent)
        #expect(!NATBehavior.unknown.isEndpointIndependent)
    }
}

@Suite struct NATSignalingCodecTests {
    @Test func anOlderSenderWithoutTheNATFieldParsesAsUnknown() throws {
        for message in SignalingSamples.messages
        where SignalingSamples.natTypes.contains(message.type) && !SignalingSamples.resumes(message)
            && !SignalingSamples.ordersPunches(message)
        {
            let bytes = SignalingSamples.bytes(message)
            let older = try SignalingSamples.parse(Array(bytes.dropLast(NATBehavior.wireLength)))
            var expected = message
            switch expected {
            case .keepalive(let id, let token, _): expected = .keepalive(requestID: id, token: token, nat: .unknown)
            case .connect(var m):
                m.nat = .unknown
                expected = .connect(m)
            case .connectResult(var m):
                m.deviceNAT = .unknown
                expected = .connectResult(m)
            case .introduce(var m):
                m.clientNAT = .unknown
                expected = .introduce(m)
            default: break
            }
            #expect(older == expected, "\(message)")
        }
        // A keepalive without it (zero padding) reads as unknown too.
        var padded = ByteBuffer()
        padded.writeMultipleIntegers(SignalingMessageType.keepalive.rawValue, UInt32(7), UInt64(99))
        padded.writeRepeatingByte(0, count: SignalingLimits.minPaddedRequest)
        #expect(try SignalingMessage.parse(padded) == .keepalive(requestID: 7, token: 99, nat: .unknown))
    }

    @Test func aPresentNATFieldIsParsedStrictly() {
        let message = SignalingMessage.connect(
            .init(
                requestID: 1, token: 2, uuid: "A", clientConnectionID: ConnectionID(rawValue: 3),
                candidates: [], nat: .endpointDependent(delta: -5)))
        var bytes = SignalingSamples.bytes(message)
        #expect(bytes.suffix(5) == [3, 0xFF, 0xFF, 0xFF, 0xFB])
        bytes[bytes.count - 5] = 9
        #expect(throws: SignalingParseError.invalid("nat")) { try SignalingSamples.parse(bytes) }
        #expect(throws: SignalingParseError.self) { try SignalingSamples.parse(Array(bytes.dropLast(2))) }
    }
}
