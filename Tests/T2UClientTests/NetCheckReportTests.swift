// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import T2UCore
import Testing

@testable import T2UClient

/// The netcheck report and its verdict from synthetic measurements (no network).
@Suite struct NetCheckReportTests {
    static let server = NetAddress(ipv4: (192, 0, 2, 10), port: 7000)
    static let observation = NetAddress(ipv4: (192, 0, 2, 10), port: 7001)
    static let lan: NetAddress.Host = .v4(0xC633_6402)  // 198.51.100.2

    static func answered(main: UInt16, observed: UInt16?, rtts: [Int64] = [12, 10, 30]) -> NetCheckProbe.ServerResult {
        let publicHost: NetAddress.Host = .v4(0xCB00_7105)  // 203.0.113.5
        return NetCheckProbe.ServerResult(
            server: server, observation: observation,
            main: .init(
                rtts: rtts.map { .milliseconds($0) }, mapped: NetAddress(host: publicHost, port: main), sent: 3),
            observed: .init(
                rtts: observed == nil ? [] : [.milliseconds(11)],
                mapped: observed.map { NetAddress(host: publicHost, port: $0) }, sent: 3))
    }

    static func make(
        _ results: [NetCheckProbe.ServerResult], hairpin: Bool? = false,
        mapping: NetCheckReport.PortMappingFacts? = .init(protocols: []),
        interfaces: [NetAddress.Host] = [lan]
    ) -> NetCheckReport {
        NetCheckReport.make(
            probe: results, hairpin: hairpin, local: interfaces.map { NetAddress(host: $0, port: 5555) },
            interfaces: interfaces, portMapping: mapping)
    }

    @Test func symmetricNATWithoutPortMapping() {
        let r = Self.make([Self.answered(main: 40_000, observed: 52_113)])
        #expect(r.udp && r.behindNAT == true && r.mapping == .endpointDependent && r.portAllocation == "random")
        #expect(r.servers[0].latencyMillis == 12 && r.servers[0].probesAnswered == 3)
        #expect(r.servers[0].mappedAddress == "203.0.113.5:40000")
        #expect(
            r.verdict
                == "UDP works; NAT maps per destination (symmetric, random ports): a direct link needs the peer to be cone or a port mapping; with a symmetric peer the link is relayed; no UPnP/NAT-PMP/PCP on this LAN; no hairpinning (peers behind this same NAT meet on the LAN, not through its public address)"
        )
        #expect(r.lines.contains("mapping: endpoint-dependent (symmetric), ports random"))
        #expect(r.lines.contains("port mapping: none"))
        #expect(r.tcp443 == "not checked" && r.tcpFallback == nil)
    }

    @Test func sequentialSymmetricWithUPnPSaysTheMappingHelps() {
        let granted = GatewayMapping(
            via: .upnp, external: NetAddress(ipv4: (203, 0, 113, 5), port: 41_000), lifetimeSeconds: 60)
        let r = Self.make(
            [Self.answered(main: 40_000, observed: 40_001)], mapping: .init(protocols: [.upnp, .pcp], granted: granted))
        #expect(r.portAllocation == "sequential (+1)")
        #expect(r.portMappingProtocols == ["PCP", "UPnP-IGD"])
        #expect(
            r.verdict.contains(
                "NAT maps per destination (symmetric, sequential ports, predictable): the port mapping this LAN offers makes it direct with symmetric peers too"
            ))
        #expect(r.verdict.contains("PCP, UPnP-IGD available on this LAN"))
        #expect(
            r.lines.contains(
                "port mapping: PCP, UPnP-IGD (granted 203.0.113.5:41000 by UPnP-IGD for 60 s, deleted again)"))
    }

    @Test func filteringFromTheFirstServerThatMeasuredIt() {
        func server(_ filtering: (control: Int, otherPort: Int, fromProbed: Int)) -> NetCheckProbe.ServerResult {
            var s = Self.answered(main: 40_000, observed: 40_000)
            s.filtering = .init()
            s.filtering.controlSent = 3
            s.filtering.otherPortSent = 3
            s.filtering.controlAnswered = filtering.control
            s.filtering.otherPortAnswered = filtering.otherPort
            s.filtering.answeredFromProbedPort = filtering.fromProbed
            return s
        }
        let restricted = Self.make([server((3, 0, 0))])
        #expect(restricted.filtering == "address-and-port-dependent")
        #expect(restricted.lines.contains("filtering: address-and-port-dependent"))
        #expect(
            restricted.verdict.contains("but lets in only the exact address and port it wrote to (port-restricted)"))
        let open = Self.make([server((3, 1, 0))])
        #expect(open.filtering == "endpoint-independent or address-dependent")
        #expect(
            open.verdict.contains(
                "lets in any port of a host it wrote to: direct links work with cone peers and with symmetric ones"))
        // An older server first, a measuring one second: the measurement wins.
        #expect(Self.make([server((3, 0, 3)), server((2, 0, 0))]).filtering == "address-and-port-dependent")
        #expect(
            Self.make([server((3, 0, 3))]).filtering
                == "not measured (the server answers only from the port probed: upgrade t2u-server)")
        let silent = Self.make([server((0, 0, 0))])
        #expect(silent.filtering == "not measured (no server answered the test's probes)")
        #expect(
            silent.verdict.contains(
                "direct links work with cone peers and, by prediction or birthday probing, with most symmetric ones"))
    }

    @Test func coneNATAndNoNAT() {
        let cone = Self.make([Self.answered(main: 40_000, observed: 40_000)], hairpin: true)
        #expect(cone.mapping == .endpointIndependent && cone.behindNAT == true && cone.hairpinning == true)
        #expect(
            cone.verdict.hasPrefix(
                "UDP works; NAT maps one public port for all destinations (endpoint-independent, cone)"))
        #expect(!cone.verdict.contains("hairpinning"))
        // The server saw our own address: no NAT, and mapping trivially endpoint-independent.
        let publicHost: NetAddress.Host = .v4(0xCB00_7105)
        let open = Self.make([Self.answered(main: 5555, observed: 5555)], interfaces: [publicHost])
        #expect(open.behindNAT == false && open.mapping == .endpointIndependent)
        #expect(open.verdict.contains("no NAT"))
        #expect(open.lines.contains("NAT: none"))
    }

    @Test func udpBlockedSaysSoAndNothingElse() {
        let silent = NetCheckProbe.ServerResult(
            server: Self.server, observation: Self.observation,
            main: .init(sent: 3), observed: .init(sent: 3))
        let r = Self.make([silent], hairpin: nil, mapping: nil)
        #expect(!r.udp && r.mapping == .unknown && r.behindNAT == nil && r.hairpinning == nil && !r.portMappingChecked)
        #expect(
            r.verdict
                == "UDP to the server is blocked (or the server is down): no server answered over UDP, so t2u cannot register from here; TCP/TLS fallback not checked"
        )
        #expect(r.lines.contains("server 192.0.2.10:7000 (IPv4): no UDP answer (3 probes)"))
        #expect(r.lines.contains("hairpinning: not tested"))
    }

    @Test func observationPortSilentLeavesMappingUnknown() {
        let r = Self.make([Self.answered(main: 40_000, observed: nil)])
        #expect(r.udp && r.mapping == .unknown && r.behindNAT == true, "the main port alone saw a public address")
        #expect(r.verdict.contains("NAT mapping not measured"))
    }

    @Test func twoServersMeasureTheMappingWhenObservationPortsAreSilent() {
        var other = Self.answered(main: 40_003, observed: nil)
        other.server = NetAddress(ipv4: (192, 0, 2, 11), port: 7000)
        let r = Self.make([Self.answered(main: 40_000, observed: nil), other])
        #expect(r.mapping == .endpointDependent && r.portAllocation == "sequential (+3)")
        #expect(r.servers.map(\.mapping) == [.unknown, .unknown], "each server alone could not tell")
    }

    @Test func ipv6FactsAndServerKey() throws {
        let v6Server = NetAddress(host: .v6(0x2001_0db8_0000_0000, 1), port: 7000)
        let v6 = NetCheckProbe.ServerResult(
            server: v6Server, observation: nil, main: .init(sent: 3), statedKey: [UInt8](repeating: 1, count: 32))
        var v4 = Self.answered(main: 40_000, observed: 40_000)
        v4.statedKey = [UInt8](repeating: 2, count: 32)
        let global: NetAddress.Host = .v6(0x2001_0db8_0001_0000, 2)
        let r = NetCheckReport.make(
            probe: [v4, v6], hairpin: true, local: [], interfaces: [Self.lan, global], portMapping: nil,
            portMappingNote: "turned off", expectedKey: [UInt8](repeating: 2, count: 32))
        #expect(r.ipv6Global && r.ipv6ServerReachable == false)
        #expect(r.servers.map(\.family) == ["IPv4", "IPv6"] && r.servers.map(\.serverKey) == ["matches", "differs"])
        #expect(r.verdict.hasSuffix("IPv6 address present but no server answered over IPv6"))
        #expect(r.lines.contains("port mapping: not checked (turned off)"))
        #expect(r.localAddresses == ["198.51.100.2", "2001:db8:1::2"])
        // One JSON object that decodes to the same report.
        let data = try JSONEncoder().encode(r)
        #expect(try JSONDecoder().decode(NetCheckReport.self, from: data) == r)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(object?["mapping"] as? String == "endpoint-independent" && object?["tcp443"] != nil)
    }

    @Test func theTCPFallbackInEachServerRowAndTheVerdict() {
        let silent = NetCheckProbe.ServerResult(
            server: Self.server, observation: Self.observation, main: .init(sent: 3))
        let tcp = NetCheckReport.TCPFacts(port: 443, outcomes: [.upgraded(.milliseconds(12))])
        let blocked = NetCheckReport.make(
            probe: [silent], hairpin: nil, local: [], interfaces: [Self.lan], portMapping: nil, tcp: tcp)
        #expect(blocked.tcpFallback == true && blocked.servers.first?.tcp == "upgrade answered in 12 ms")
        #expect(blocked.tcp443 == "port 443: answers on 192.0.2.10")
        #expect(
            blocked.verdict.hasSuffix(
                "the TCP/TLS fallback on port 443 answers, so agents register and relay over it (no direct links while UDP is blocked)"
            ))
        #expect(blocked.lines.first?.hasSuffix("; TCP/TLS fallback: upgrade answered in 12 ms") == true)

        let works = NetCheckReport.make(
            probe: [Self.answered(main: 40_000, observed: 40_000)], hairpin: true, local: [],
            interfaces: [Self.lan], portMapping: nil,
            tcp: .init(port: 443, outcomes: [.failed("connection refused")]))
        #expect(works.tcpFallback == false && works.tcp443 == "port 443: no server answers")
        #expect(
            works.verdict.hasSuffix(
                "no TCP/TLS fallback on port 443 (agents on networks that block UDP could not register)"))

        let unchecked = NetCheckReport.make(
            probe: [silent], hairpin: nil, local: [], interfaces: [Self.lan], portMapping: nil)
        #expect(
            unchecked.tcpFallback == nil && unchecked.tcp443 == "not checked" && unchecked.servers.first?.tcp == nil)
        #expect(unchecked.verdict.hasSuffix("TCP/TLS fallback not checked"))
    }
}
