// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// The port mapping state machine on a virtual clock: each protocol alone, fallbacks, the races
/// between them, renewal, gateway restarts and removal.
@Suite struct GatewayMapperTests {
    typealias F = GatewayFixtures
    static let port: UInt16 = 4000

    static func mapper(gateway: NetAddress? = F.gateway, config: GatewayMapperConfig = .init()) -> GatewayMapper {
        GatewayMapper(
            internalPort: port, client: F.client, gateway: gateway, entropy: SeededEntropy(seed: 5), config: config)
    }

    static func gatewaySends(_ actions: [GatewayMapperAction]) -> [[UInt8]] {
        actions.compactMap { if case .sendToGateway(let bytes) = $0 { return bytes } else { return nil } }
    }

    static func http(_ actions: [GatewayMapperAction]) -> [(id: UInt64, request: String)] {
        actions.compactMap {
            if case .http(let id, _, let request) = $0 {
                return (id, String(decoding: request, as: UTF8.self))
            } else {
                return nil
            }
        }
    }

    static func mapped(_ actions: [GatewayMapperAction]) -> GatewayMapping? {
        actions.lazy.compactMap { if case .mapped(let m) = $0 { return m } else { return nil } }.first
    }

    /// Runs timers up to `until`, collecting every action.
    static func run(_ m: inout GatewayMapper, from: Instant, until: Instant) -> [GatewayMapperAction] {
        var out: [GatewayMapperAction] = []
        while let d = m.nextDeadline(), d <= until { out += m.poll(now: max(d, from)) }
        return out
    }

    @Test func pcpGrantsAndRenewsAtHalfLifetime() throws {
        var m = Self.mapper()
        let first = m.start(now: .zero)
        let pcp = Self.gatewaySends(first)
        #expect(pcp.count == 1 && pcp[0][0] == 2 && first.contains(.sendSSDP(SSDPMessage.search())))
        let granted = try m.receiveGateway(
            F.pcpMapResponse(to: pcp[0], lifetime: 120, epoch: 10), from: F.gateway, now: .zero + .milliseconds(3))
        #expect(
            Self.mapped(granted)
                == GatewayMapping(
                    via: .pcp, external: NetAddress(ipv4: (203, 0, 113, 2), port: 40_000), lifetimeSeconds: 120))
        // No more SSDP: PCP won. Renewal at 60 s, suggesting the granted port and address.
        #expect(m.nextDeadline() == .zero + .milliseconds(3) + .seconds(60))
        let renew = Self.gatewaySends(m.poll(now: .zero + .seconds(61)))
        #expect(
            renew.count == 1 && Array(renew[0][42..<44]) == [0x9C, 0x40]
                && Array(renew[0][56..<60]) == [203, 0, 113, 2])
        #expect(Array(renew[0][24..<36]) == Array(pcp[0][24..<36]), "same nonce")
        let renewed = try m.receiveGateway(
            F.pcpMapResponse(to: renew[0], lifetime: 120, epoch: 71), from: F.gateway, now: .zero + .seconds(61))
        #expect(Self.mapped(renewed) == nil, "same address: nothing new to offer")
        #expect(m.active?.via == .pcp)
        // Stop deletes it: lifetime 0, same nonce.
        let stop = Self.gatewaySends(m.stop())
        #expect(
            stop.count == 1 && Array(stop[0][4..<8]) == [0, 0, 0, 0]
                && Array(stop[0][24..<36]) == Array(pcp[0][24..<36]))
        #expect(m.nextDeadline() == nil)
    }

    @Test func natPMPGatewayAnswersPCPWithUnsupportedVersion() throws {
        var m = Self.mapper()
        _ = m.start(now: .zero)
        let switched = try m.receiveGateway(
            [0, 129, 0, 1, 0, 0, 0, 50], from: F.gateway, now: .zero + .milliseconds(2))
        let sends = Self.gatewaySends(switched)
        #expect(
            sends == [
                NATPMPMessage.externalAddressRequest(),
                NATPMPMessage.mapUDPRequest(internalPort: Self.port, suggestedExternalPort: Self.port, lifetime: 7200),
            ])
        #expect(
            Self.mapped(
                try m.receiveGateway(F.natPMPAddress(epoch: 50), from: F.gateway, now: .zero + .milliseconds(3))) == nil
        )
        let granted = try m.receiveGateway(
            F.natPMPMap(epoch: 50, internalPort: Self.port), from: F.gateway, now: .zero + .milliseconds(4))
        #expect(Self.mapped(granted)?.via == .natPMP && Self.mapped(granted)?.external.port == 40_001)
        #expect(
            Self.gatewaySends(m.stop()) == [
                NATPMPMessage.mapUDPRequest(internalPort: Self.port, suggestedExternalPort: 0, lifetime: 0)
            ])
    }

    @Test func silentPCPFallsBackToNATPMPOnTheRFCSchedule() {
        var m = Self.mapper()
        var sends: [(Instant, UInt8)] = Self.gatewaySends(m.start(now: .zero)).map { (.zero, $0[0]) }
        while let d = m.nextDeadline(), d < .zero + .seconds(20) {
            sends += Self.gatewaySends(m.poll(now: d)).map { (d, $0[0]) }
        }
        let pcp = sends.filter { $0.1 == 2 }.map { $0.0.nanoseconds / 1_000_000 }
        let natpmp = Set(sends.filter { $0.1 == 0 }.map { $0.0.nanoseconds / 1_000_000 }).sorted()
        #expect(pcp == [0, 250, 750])
        #expect(natpmp == [1750, 2000, 2500, 3500, 5500])
    }

    @Test func upnpGrantsWhenTheGatewayProtocolsAreSilent() throws {
        var m = Self.mapper()
        _ = m.start(now: .zero)
        let describe = Self.http(
            try m.receiveSSDP(
                F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero + .milliseconds(5)))
        #expect(describe.count == 1 && describe[0].request.hasPrefix("GET /rootDesc.xml HTTP/1.1"))
        let add = Self.http(
            m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description)), now: .zero + .milliseconds(10)))
        #expect(
            add.count == 1 && add[0].request.contains("#AddPortMapping")
                && add[0].request.contains("<NewExternalPort>4000<"))
        let address = Self.http(m.receiveHTTP(id: add[0].id, .success(F.addOK), now: .zero + .milliseconds(12)))
        #expect(address.count == 1 && address[0].request.contains("#GetExternalIPAddress"))
        let granted = m.receiveHTTP(id: address[0].id, .success(F.externalIP()), now: .zero + .milliseconds(14))
        #expect(
            Self.mapped(granted)
                == GatewayMapping(
                    via: .upnp, external: NetAddress(ipv4: (203, 0, 113, 2), port: 4000), lifetimeSeconds: 7200))
        // The PCP request already sent is taken back.
        #expect(
            Self.gatewaySends(granted).first?[0] == 2 && Array(Self.gatewaySends(granted)[0][4..<8]) == [0, 0, 0, 0])
        // Renewal re-adds; stop deletes.
        let renew = Self.http(m.poll(now: .zero + .seconds(3601)))
        #expect(renew.count == 1 && renew[0].request.contains("#AddPortMapping"))
        _ = m.receiveHTTP(id: renew[0].id, .success(F.addOK), now: .zero + .seconds(3601))
        let stop = Self.http(m.stop())
        #expect(
            stop.count == 1 && stop[0].request.contains("#DeletePortMapping")
                && stop[0].request.contains("<NewExternalPort>4000<"))
    }

    @Test func upnpConflictTriesAnotherPortAndPermanentLeaseOnly() throws {
        var m = Self.mapper(gateway: nil)
        _ = m.start(now: .zero)
        let describe = Self.http(
            try m.receiveSSDP(F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero))
        let add = Self.http(
            m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description, chunked: true)), now: .zero))
        let retry = Self.http(
            m.receiveHTTP(id: add[0].id, .success(F.fault(718, "ConflictInMappingEntry")), now: .zero))
        #expect(retry.count == 1 && !retry[0].request.contains("<NewExternalPort>4000<"))
        let permanent = Self.http(
            m.receiveHTTP(id: retry[0].id, .success(F.fault(725, "OnlyPermanentLeasesSupported")), now: .zero))
        #expect(permanent.count == 1 && permanent[0].request.contains("<NewLeaseDuration>0<"))
        let address = Self.http(m.receiveHTTP(id: permanent[0].id, .success(F.addOK), now: .zero))
        let granted = m.receiveHTTP(id: address[0].id, .success(F.externalIP()), now: .zero)
        #expect(Self.mapped(granted)?.lifetimeSeconds == 0)
        #expect(m.nextDeadline() == .zero + .seconds(1800), "a permanent lease is re-added now and then")
    }

    @Test func lateUPnPGrantAfterPCPWonIsDeleted() throws {
        var m = Self.mapper()
        let pcp = Self.gatewaySends(m.start(now: .zero))
        let describe = Self.http(
            try m.receiveSSDP(F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero))
        let add = Self.http(m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description)), now: .zero))
        #expect(
            Self.mapped(
                try m.receiveGateway(F.pcpMapResponse(to: pcp[0]), from: F.gateway, now: .zero + .milliseconds(1)))?.via
                == .pcp)
        let address = Self.http(m.receiveHTTP(id: add[0].id, .success(F.addOK), now: .zero + .milliseconds(2)))
        let late = m.receiveHTTP(id: address[0].id, .success(F.externalIP()), now: .zero + .milliseconds(3))
        #expect(Self.mapped(late) == nil && Self.http(late).first?.request.contains("#DeletePortMapping") == true)
        #expect(m.active?.via == .pcp)
    }

    @Test func latePCPGrantAfterUPnPWonIsDeleted() throws {
        var m = Self.mapper()
        let pcp = Self.gatewaySends(m.start(now: .zero))
        let describe = Self.http(
            try m.receiveSSDP(F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero))
        let add = Self.http(m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description)), now: .zero))
        let address = Self.http(m.receiveHTTP(id: add[0].id, .success(F.addOK), now: .zero))
        #expect(Self.mapped(m.receiveHTTP(id: address[0].id, .success(F.externalIP()), now: .zero))?.via == .upnp)
        let late = try m.receiveGateway(F.pcpMapResponse(to: pcp[0]), from: F.gateway, now: .zero + .milliseconds(5))
        #expect(Self.mapped(late) == nil)
        #expect(Self.gatewaySends(late).count == 1 && Array(Self.gatewaySends(late)[0][4..<8]) == [0, 0, 0, 0])
        #expect(m.active?.via == .upnp)
    }

    @Test func gatewayRestartSeenInTheEpochRemapsAtOnce() throws {
        var m = Self.mapper()
        let pcp = Self.gatewaySends(m.start(now: .zero))
        _ = try m.receiveGateway(F.pcpMapResponse(to: pcp[0], epoch: 1000), from: F.gateway, now: .zero)
        // 100 s later the gateway says its epoch is 5 s: it restarted and forgot the mapping.
        let remap = Self.gatewaySends(
            try m.receiveGateway(F.pcpAnnounce(epoch: 5), from: F.gateway, now: .zero + .seconds(100)))
        #expect(remap.count == 1 && Array(remap[0][4..<8]) != [0, 0, 0, 0])
        let regranted = try m.receiveGateway(
            F.pcpMapResponse(to: remap[0], epoch: 5, externalPort: 40_100), from: F.gateway, now: .zero + .seconds(100))
        #expect(Self.mapped(regranted)?.external.port == 40_100, "the new external port is offered")
        // An epoch that advances with the clock is no restart.
        #expect(
            Self.gatewaySends(
                try m.receiveGateway(F.pcpAnnounce(epoch: 55), from: F.gateway, now: .zero + .seconds(150))
            ).isEmpty)
    }

    @Test func nothingAnsweringIsReportedOnceAndRetriedLater() {
        var config = GatewayMapperConfig()
        config.retryAfterFailure = .seconds(300)
        var m = Self.mapper(config: config)
        var actions = m.start(now: .zero)
        actions += Self.run(&m, from: .zero, until: .zero + .seconds(60))
        let unavailable = actions.compactMap { if case .unavailable(let why) = $0 { return why } else { return nil } }
        #expect(unavailable.count == 1)
        #expect(unavailable.first?.contains("no answer to PCP nor NAT-PMP from 192.0.2.1") == true)
        #expect(unavailable.first?.contains("no UPnP IGD answered") == true)
        #expect(
            Self.gatewaySends(Self.run(&m, from: .zero + .seconds(60), until: .zero + .seconds(320))).first?[0] == 2,
            "a new round")
    }

    @Test func refusalsEndTheProtocolWithTheirReason() throws {
        var m = Self.mapper()
        let pcp = Self.gatewaySends(m.start(now: .zero))
        _ = try m.receiveGateway(F.pcpMapResponse(to: pcp[0], result: 2, lifetime: 0), from: F.gateway, now: .zero)
        let describe = Self.http(
            try m.receiveSSDP(F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero))
        let add = Self.http(m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description)), now: .zero))
        let out = m.receiveHTTP(id: add[0].id, .success(F.fault(606, "Action not authorized")), now: .zero)
        #expect(
            out == [
                .unavailable(
                    "PCP/NAT-PMP: PCP: not authorized; UPnP: AddPortMapping refused: UPnP error 606 Action not authorized"
                )
            ])
    }

    @Test func strangersAndStaleAnswersAreIgnored() throws {
        var m = Self.mapper()
        let pcp = Self.gatewaySends(m.start(now: .zero))
        #expect(throws: GatewayParseError.self) {
            try m.receiveGateway(
                F.pcpMapResponse(to: pcp[0]), from: NetAddress(ipv4: (192, 0, 2, 66), port: 5351), now: .zero)
        }
        var other = pcp[0]
        other[30] ^= 0xff  // another nonce
        #expect(throws: GatewayParseError.unexpected("PCP MAP response for another request")) {
            try m.receiveGateway(F.pcpMapResponse(to: other), from: F.gateway, now: .zero)
        }
        #expect(m.receiveHTTP(id: 99, .success(F.addOK), now: .zero).isEmpty)
        #expect(m.active == nil)
    }
}

/// What a one-shot probe (`t2u netcheck`) reads: the protocols that answered and when nothing
/// is pending any more.
@Suite struct GatewayMapperProbeTests {
    typealias F = GatewayFixtures

    static func shortConfig() -> GatewayMapperConfig {
        var config = GatewayMapperConfig()
        config.pcpAttempts = 2
        config.natPMPAttempts = 2
        config.ssdpAttempts = 2
        config.ssdpInterval = .milliseconds(600)
        return config
    }

    @Test func silentLANSettlesWithNothingAnswered() {
        var m = GatewayMapper(
            internalPort: 4000, client: F.client, gateway: F.gateway, entropy: SeededEntropy(seed: 5),
            config: Self.shortConfig())
        _ = m.start(now: .zero)
        #expect(!m.isSettled)
        var now = Instant.zero
        while !m.isSettled, let d = m.nextDeadline(), d < .zero + .seconds(5) {
            now = d
            _ = m.poll(now: d)
        }
        #expect(m.isSettled && m.answered.isEmpty)
        #expect(now <= .zero + .milliseconds(1500), "settled at \(now)")
    }

    @Test func natPMPAnswerToPCPCountsAsNATPMP() throws {
        var m = GatewayMapper(
            internalPort: 4000, client: F.client, gateway: F.gateway, entropy: SeededEntropy(seed: 5),
            config: Self.shortConfig())
        _ = m.start(now: .zero)
        _ = try m.receiveGateway([0, 129, 0, 1, 0, 0, 0, 50], from: F.gateway, now: .zero + .milliseconds(2))
        #expect(m.answered == [.natPMP])
        _ = try m.receiveGateway(F.natPMPAddress(epoch: 50), from: F.gateway, now: .zero + .milliseconds(3))
        _ = try m.receiveGateway(
            F.natPMPMap(epoch: 50, internalPort: 4000), from: F.gateway, now: .zero + .milliseconds(4))
        #expect(m.active?.via == .natPMP)
        #expect(m.isSettled, "an agent stops searching for UPnP once a gateway protocol granted")
        #expect(m.answered == [.natPMP])
    }

    @Test func diagnosisKeepsSearchingForUPnPAfterAGrant() throws {
        var config = Self.shortConfig()
        config.searchUPnPAfterGrant = true
        var m = GatewayMapper(
            internalPort: 4000, client: F.client, gateway: F.gateway, entropy: SeededEntropy(seed: 5), config: config)
        let request = GatewayMapperTests.gatewaySends(m.start(now: .zero))[0]
        _ = try m.receiveGateway(F.pcpMapResponse(to: request), from: F.gateway, now: .zero + .milliseconds(2))
        #expect(m.active?.via == .pcp && !m.isSettled, "the SSDP search goes on")
        let describe = GatewayMapperTests.http(
            try m.receiveSSDP(
                F.ssdpResponse(), from: NetAddress(ipv4: (192, 0, 2, 1), port: 1900), now: .zero + .milliseconds(5)))
        #expect(describe.count == 1)
        _ = m.receiveHTTP(id: describe[0].id, .success(F.http(body: F.description)), now: .zero + .milliseconds(6))
        #expect(m.answered == [.pcp, .upnp] && m.active?.via == .pcp)
    }

    @Test func pcpAnswerIsRecordedEvenWhenRefused() throws {
        var m = GatewayMapper(
            internalPort: 4000, client: F.client, gateway: F.gateway, entropy: SeededEntropy(seed: 5),
            config: Self.shortConfig())
        let request = GatewayMapperTests.gatewaySends(m.start(now: .zero))[0]
        _ = try m.receiveGateway(
            F.pcpMapResponse(to: request, result: 2), from: F.gateway, now: .zero + .milliseconds(2))
        #expect(m.answered == [.pcp] && m.active == nil)
    }
}
