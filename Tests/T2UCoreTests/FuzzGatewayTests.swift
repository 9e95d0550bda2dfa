// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// Bounded, seeded fuzzing of the port mapping parsers and state machine: answers from the LAN
/// (PCP, NAT-PMP, SSDP, HTTP, XML) never crash them, and a granted mapping always names a
/// non-zero IPv4 address and port.
@Suite struct FuzzGatewayTests {
    typealias F = GatewayFixtures
    static let iterations = 10_000
    /// Each mapper step carries several answers and timers.
    static let mapperIterations = 4_000

    static let request = PCPMessage.mapRequest(
        client: F.client, nonce: [UInt8](1...12), internalPort: 4000,
        suggestedExternalPort: 0, suggestedExternalAddress: 0, lifetime: 60)
    static let datagrams: [[UInt8]] = [
        F.pcpMapResponse(to: request), F.pcpAnnounce(epoch: 9), F.natPMPAddress(), F.natPMPMap(internalPort: 4000),
        [0, 129, 0, 1, 0, 0, 0, 5],
    ]
    static let texts: [[UInt8]] = [
        F.ssdpResponse(), F.http(body: F.description), F.http(body: F.description, chunked: true), F.addOK,
        F.externalIP(),
        F.fault(718, "ConflictInMappingEntry"),
    ]

    @Test(arguments: [UInt64(31), 32])
    func parsersSurviveRandomAndMutatedInput(seed: UInt64) throws {
        let m = Mutator(seed: seed)
        let location = try IGDURL(parsing: F.location)
        for _ in 0..<Self.iterations {
            let binary =
                m.chance(1, in: 4)
                ? m.randomBytes(maxLength: 80)
                : m.mutate(m.element(of: Self.datagrams), donor: m.element(of: Self.datagrams))
            _ = try? PCPMessage.parse(binary)
            _ = try? NATPMPMessage.parse(binary)
            var text = m.mutate(m.element(of: Self.texts), donor: m.element(of: Self.texts))
            if m.chance(1, in: 4) {
                // Structure-aware: angle brackets, CRLFs, colons and entities where bytes were.
                for _ in 0..<4 where !text.isEmpty {
                    text[m.int(below: text.count)] = m.element(of: Array("<>/:&;\r\n0 ".utf8))
                }
            }
            _ = try? SSDPMessage.location(text, from: F.gateway.host)
            if let response = try? HTTPResponse.parse(text) {
                _ = try? IGDSOAP.parse(response)
                _ = try? IGDService.parse(description: response.body, location: location)
            }
            _ = try? IGDService.parse(description: text, location: location)
            _ = try? IGDURL(parsing: String(decoding: text.prefix(120), as: UTF8.self))
        }
    }

    @Test(arguments: [UInt64(41), 42])
    func mapperSurvivesHostileAnswers(seed: UInt64) {
        let m = Mutator(seed: seed)
        var mapper = GatewayMapper(
            internalPort: 4000, client: F.client, gateway: F.gateway, entropy: SeededEntropy(seed: seed))
        var now = Instant.zero
        var actions = mapper.start(now: now)
        var grants = 0
        for _ in 0..<Self.mapperIterations {
            now += .milliseconds(Int64(m.int(below: 400)))
            var replies: [[UInt8]] = []
            var httpIDs: [UInt64] = []
            for action in actions {
                switch action {
                case .sendToGateway(let bytes) where bytes.count == 60:
                    replies.append(
                        m.chance(1, in: 2) ? F.pcpMapResponse(to: bytes) : m.mutate(F.pcpMapResponse(to: bytes)))
                case .http(let id, _, _): httpIDs.append(id)
                case .mapped(let mapping):
                    grants += 1
                    if case .v4(let v) = mapping.external.host {
                        #expect(v != 0)
                    } else {
                        Issue.record("not IPv4: \(mapping)")
                    }
                    #expect(mapping.external.port != 0)
                default: break
                }
            }
            actions = []
            for reply in replies { actions += (try? mapper.receiveGateway(reply, from: F.gateway, now: now)) ?? [] }
            actions +=
                (try? mapper.receiveGateway(m.mutate(m.element(of: Self.datagrams)), from: F.gateway, now: now)) ?? []
            actions += (try? mapper.receiveSSDP(m.mutate(F.ssdpResponse()), from: F.gateway, now: now)) ?? []
            for id in httpIDs {
                let body =
                    m.chance(1, in: 3)
                    ? m.element(of: Self.texts) : m.mutate(m.element(of: Self.texts), donor: m.element(of: Self.texts))
                actions += mapper.receiveHTTP(
                    id: id, m.chance(1, in: 8) ? .failure(GatewayHTTPFailure("timeout")) : .success(body), now: now)
            }
            actions += mapper.poll(now: now)
        }
        #expect(grants > 0, "the fuzzer never reached a grant")
        _ = mapper.stop()
    }
}
