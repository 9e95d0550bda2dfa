// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

/// What `t2u netcheck` (`NetCheck.run`) found about this network: per server UDP reachability,
/// latency and the address it saw; the NAT's mapping behaviour, hairpinning, the LAN's
/// port-mapping protocols and IPv6; and a verdict in words. Built from measurements only
/// (`make`), so tests feed it synthetic ones.
public struct NetCheckReport: Codable, Sendable, Equatable {
    public struct Server: Codable, Sendable, Equatable {
        /// "192.0.2.1:7000" / "[2001:db8::1]:7000".
        public var address: String
        /// "IPv4" or "IPv6".
        public var family: String
        /// The main port answered at least one PROBE.
        public var udpReachable: Bool
        public var probesSent: Int
        public var probesAnswered: Int
        /// Median round trip of the answered PROBEs (main port), ms.
        public var latencyMillis: Double?
        /// Our address as the main port saw it.
        public var mappedAddress: String?
        /// Our address as the observation port (main + 1) saw it; nil: it did not answer.
        public var observationMappedAddress: String?
        /// This server's reading of our NAT (main vs observation port).
        public var mapping: Mapping
        /// "matches", "differs" (the key the server stated is not --key), "not checked" (no
        /// --key) or "no answer" (HELLO unanswered).
        public var serverKey: String
        /// The TCP/TLS fallback on this server's host: "upgrade answered in 12 ms", or what
        /// failed ("connection refused", ...); nil: not checked.
        public var tcp: String?
    }

    /// The NAT's mapping behaviour (RFC 4787 §4.1).
    public enum Mapping: String, Codable, Sendable {
        /// No NAT, or one public port for every destination (cone).
        case endpointIndependent = "endpoint-independent"
        /// A new public port per destination (symmetric).
        case endpointDependent = "endpoint-dependent"
        case unknown
    }

    public var servers: [Server]
    /// Some server answered over UDP.
    public var udp: Bool
    /// false: a server saw one of our own addresses (no NAT); true: it saw another; nil: no
    /// server answered.
    public var behindNAT: Bool?
    public var mapping: Mapping
    /// For an endpoint-dependent NAT: "sequential (+1)" (predictable) or "random".
    public var portAllocation: String?
    /// The NAT's filtering behaviour (RFC 4787 §5), from the first server that measured it:
    /// "endpoint-independent or address-dependent" (an answer from a server port we never wrote
    /// to came in), "address-and-port-dependent" (it did not), or "not measured (why)".
    public var filtering: String
    /// A datagram from a second socket to our mapped address came back through the NAT; nil:
    /// not tested (no server answered).
    public var hairpinning: Bool?
    /// Whether the LAN was asked (PCP/NAT-PMP at the default gateway, UPnP-IGD by SSDP).
    public var portMappingChecked: Bool
    /// Protocols the LAN answered in: "PCP", "NAT-PMP", "UPnP-IGD".
    public var portMappingProtocols: [String]
    /// The mapping a protocol granted for the test (deleted again at the end), e.g.
    /// "203.0.113.1:40000 by UPnP-IGD for 60 s".
    public var portMappingGranted: String?
    /// Why the LAN was not asked (no IPv4 address, or turned off).
    public var portMappingNote: String?
    /// The host has a global IPv6 address (2000::/3).
    public var ipv6Global: Bool
    /// Some IPv6 server answered; nil: no IPv6 server address was given.
    public var ipv6ServerReachable: Bool?
    /// The TCP/TLS fallback in words: "port 443: answers on 192.0.2.1", "port 443: no server
    /// answers", or "not checked".
    public var tcp443: String
    /// Some server's TCP/TLS fallback answered the upgrade; nil: not checked.
    public var tcpFallback: Bool?
    /// This host's interface addresses (loopback excluded).
    public var localAddresses: [String]
    public var verdict: String

    /// What a port-mapping probe found.
    public struct PortMappingFacts: Sendable, Equatable {
        public var protocols: Set<GatewayProtocol>
        public var granted: GatewayMapping?
        public init(protocols: Set<GatewayProtocol>, granted: GatewayMapping? = nil) {
            self.protocols = protocols
            self.granted = granted
        }
    }

    /// What the TCP/TLS fallback check found: the port, and one outcome per server (in the
    /// order of the probe's servers).
    public struct TCPFacts: Sendable, Equatable {
        public var port: Int
        public var outcomes: [ServerStreamProbe.Outcome]
        public init(port: Int, outcomes: [ServerStreamProbe.Outcome]) {
            self.port = port
            self.outcomes = outcomes
        }
    }

    /// Builds the report from measurements. `local`: our socket addresses (interface address +
    /// the probing socket's port), a server seeing one means no NAT. `portMapping`: nil when not
    /// checked, with `portMappingNote` saying why. `expectedKey`: --key, if given. `tcp`: nil
    /// when the TCP/TLS fallback was not checked.
    public static func make(
        probe servers: [NetCheckProbe.ServerResult], hairpin: Bool?, local: [NetAddress],
        interfaces: [NetAddress.Host], portMapping: PortMappingFacts?, portMappingNote: String? = nil,
        expectedKey: [UInt8]? = nil, tcp: TCPFacts? = nil
    ) -> NetCheckReport {
        var rows = servers.map { result -> Server in
            let nat = NATBehavior.classify(main: result.main.mapped, observation: result.observed.mapped, local: local)
            let key: String
            switch (expectedKey, result.statedKey) {
            case (nil, _): key = "not checked"
            case (_, nil): key = "no answer"
            case (let expected?, let stated?): key = expected == stated ? "matches" : "differs"
            }
            return Server(
                address: "\(result.server)", family: result.server.isIPv6 ? "IPv6" : "IPv4",
                udpReachable: !result.main.rtts.isEmpty, probesSent: result.main.sent,
                probesAnswered: result.main.rtts.count,
                latencyMillis: result.main.medianRTT.map { ($0.milliseconds * 100).rounded() / 100 },
                mappedAddress: result.main.mapped.map { "\($0)" },
                observationMappedAddress: result.observed.mapped.map { "\($0)" },
                mapping: Mapping(nat), serverKey: key)
        }
        // The NAT as the first server that measured it (IPv4 first: IPv6 rarely has a NAT).
        let measured = servers.map {
            NATBehavior.classify(main: $0.main.mapped, observation: $0.observed.mapped, local: local)
        }
        let order = servers.indices.sorted { (servers[$0].server.isIPv6 ? 1 : 0) < (servers[$1].server.isIPv6 ? 1 : 0) }
        var nat = order.map { measured[$0] }.first { $0 != .unknown } ?? .unknown
        if nat == .unknown {
            // No observation port answered: two servers of one family are two destinations too.
            let mains = order.compactMap { servers[$0].main.mapped }
            if mains.count >= 2 { nat = NATBehavior.classify(main: mains[0], observation: mains[1], local: local) }
        }
        var portAllocation: String?
        if case .endpointDependent(let delta) = nat {
            portAllocation = nat.predictableDelta != nil ? "sequential (\(delta > 0 ? "+" : "")\(delta))" : "random"
        }
        // A NAT shows in one answer already: the main port saw an address that is not ours.
        let seen = order.lazy.compactMap { servers[$0].main.mapped }.first
        let behindNAT: Bool? = nat != .unknown ? nat != .none : seen.map { !local.contains($0) }
        let v6Servers = rows.filter { $0.family == "IPv6" }
        let verdicts = order.map { servers[$0].filtering.verdict }
        let filtering = verdicts.first { $0 == .portIndependent || $0 == .portDependent }
        var report = NetCheckReport(
            servers: rows, udp: rows.contains { $0.udpReachable },
            behindNAT: behindNAT, mapping: Mapping(nat), portAllocation: portAllocation,
            filtering: filteringWords(filtering, verdicts: verdicts),
            hairpinning: hairpin, portMappingChecked: portMapping != nil,
            portMappingProtocols: GatewayProtocol.allCases.filter { portMapping?.protocols.contains($0) == true }.map(
                \.rawValue),
            portMappingGranted: portMapping?.granted.map { "\($0)" }, portMappingNote: portMappingNote,
            ipv6Global: interfaces.contains { $0.isGlobalIPv6 },
            ipv6ServerReachable: v6Servers.isEmpty ? nil : v6Servers.contains { $0.udpReachable },
            tcp443: "not checked", tcpFallback: nil,
            localAddresses: interfaces.filter { !$0.isLoopback }.map {
                NetAddress(host: $0, port: 0).hostString
            },
            verdict: "")
        if let tcp {
            var answering: [String] = []
            for (index, outcome) in tcp.outcomes.enumerated() where index < rows.count {
                switch outcome {
                case .upgraded(let took):
                    rows[index].tcp = "upgrade answered in \(Int((took / .milliseconds(1)).rounded())) ms"
                    answering.append(servers[index].server.hostString)
                case .failed(let why):
                    rows[index].tcp = why
                }
            }
            report.servers = rows
            report.tcpFallback = !answering.isEmpty
            report.tcp443 =
                answering.isEmpty
                ? "port \(tcp.port): no server answers"
                : "port \(tcp.port): answers on \(answering.joined(separator: ", "))"
        }
        report.verdict = verdict(report, nat: nat, filtering: filtering, tcpPort: tcp?.port)
        return report
    }

    /// The measured verdict (the first server's that has one) in words; else why none was measured.
    static func filteringWords(
        _ measured: NetCheckProbe.FilteringResult.Verdict?,
        verdicts: [NetCheckProbe.FilteringResult.Verdict]
    ) -> String {
        if let measured {
            return measured == .portIndependent
                ? "endpoint-independent or address-dependent" : "address-and-port-dependent"
        }
        if verdicts.contains(.serverLacksTest) {
            return "not measured (the server answers only from the port probed: upgrade t2u-server)"
        }
        return "not measured (no server answered the test's probes)"
    }

    /// The closing sentence: what works, what the NAT means for direct links, what helps.
    static func verdict(
        _ r: NetCheckReport, nat: NATBehavior, filtering: NetCheckProbe.FilteringResult.Verdict? = nil,
        tcpPort: Int? = nil
    ) -> String {
        var parts: [String] = []
        guard r.udp else {
            switch (r.tcpFallback, tcpPort) {
            case (true?, let port?):
                parts.append("UDP to the server is blocked (or the server's UDP is down): no server answered over UDP")
                parts.append(
                    "the TCP/TLS fallback on port \(port) answers, so agents register and relay over it (no direct links while UDP is blocked)"
                )
            case (false?, let port?):
                parts.append("UDP to the server is blocked (or the server is down): no server answered over UDP")
                parts.append(
                    "the TCP/TLS fallback on port \(port) did not answer either, so t2u cannot register from here")
            default:
                parts.append(
                    "UDP to the server is blocked (or the server is down): no server answered over UDP, so t2u cannot register from here"
                )
                parts.append("TCP/TLS fallback not checked")
            }
            return parts.joined(separator: "; ")
        }
        let down = r.servers.filter { !$0.udpReachable }.map(\.address)
        parts.append(down.isEmpty ? "UDP works" : "UDP works (no answer from \(down.joined(separator: ", ")))")
        let mapped = !r.portMappingProtocols.isEmpty
        switch nat {
        case .none:
            parts.append(
                "no NAT (a server saw this host's own address): peers can reach it directly if no firewall drops them")
        case .endpointIndependent:
            let cone = "NAT maps one public port for all destinations (endpoint-independent, cone)"
            let viaPrediction =
                "direct links work with cone peers and, by prediction or birthday probing, with most symmetric ones"
            switch filtering {
            case .portIndependent?:
                parts.append(
                    "\(cone) and lets in any port of a host it wrote to: direct links work with cone peers and with symmetric ones"
                )
            case .portDependent?:
                parts.append(
                    "\(cone) but lets in only the exact address and port it wrote to (port-restricted): \(viaPrediction)"
                )
            default:
                parts.append("\(cone): \(viaPrediction)")
            }
        case .endpointDependent:
            let how = nat.predictableDelta != nil ? "sequential ports, predictable" : "random ports"
            let need =
                mapped
                ? "the port mapping this LAN offers makes it direct with symmetric peers too"
                : "a direct link needs the peer to be cone or a port mapping; with a symmetric peer the link is relayed"
            parts.append("NAT maps per destination (symmetric, \(how)): \(need)")
        case .unknown:
            parts.append("NAT mapping not measured (the observation port, main + 1, did not answer)")
        }
        if r.portMappingChecked {
            parts.append(
                mapped
                    ? "\(r.portMappingProtocols.joined(separator: ", ")) available on this LAN"
                    : r.portMappingNote.map { "no UPnP/NAT-PMP/PCP answered (\($0))" }
                        ?? "no UPnP/NAT-PMP/PCP on this LAN")
        }
        if r.hairpinning == false, r.behindNAT == true {
            parts.append("no hairpinning (peers behind this same NAT meet on the LAN, not through its public address)")
        }
        if r.ipv6ServerReachable == true {
            parts.append("IPv6 works")
        } else if r.ipv6ServerReachable == false {
            parts.append(
                r.ipv6Global ? "IPv6 address present but no server answered over IPv6" : "no global IPv6 address")
        }
        if let tcpPort, let fallback = r.tcpFallback {
            parts.append(
                fallback
                    ? "the TCP/TLS fallback on port \(tcpPort) answers (agents use it where UDP is blocked)"
                    : "no TCP/TLS fallback on port \(tcpPort) (agents on networks that block UDP could not register)")
        }
        return parts.joined(separator: "; ")
    }

    /// One line per fact, as `tailscale netcheck` prints them, then the verdict.
    public var lines: [String] {
        var out: [String] = []
        for s in servers {
            var words = "server \(s.address) (\(s.family)): "
            if s.udpReachable {
                words +=
                    "UDP reachable, latency \(s.latencyMillis.map { "\($0) ms" } ?? "?") (\(s.probesAnswered)/\(s.probesSent) probes), sees us as \(s.mappedAddress ?? "?")"
                words +=
                    s.observationMappedAddress.map { ", observation port sees \($0)" } ?? ", observation port silent"
            } else {
                words += "no UDP answer (\(s.probesSent) probes)"
            }
            if s.serverKey != "not checked" { words += ", server key \(s.serverKey)" }
            if let tcp = s.tcp { words += "; TCP/TLS fallback: \(tcp)" }
            out.append(words)
        }
        out.append("UDP: \(udp ? "yes" : "no")")
        out.append("NAT: \(behindNAT.map { $0 ? "yes" : "none" } ?? "unknown")")
        out.append(
            "mapping: \(mapping.rawValue)\(mapping == .endpointDependent ? " (symmetric)" : "")\(portAllocation.map { ", ports \($0)" } ?? "")"
        )
        out.append("filtering: \(filtering)")
        out.append("hairpinning: \(hairpinning.map { $0 ? "yes" : "no" } ?? "not tested")")
        if portMappingChecked {
            let found = portMappingProtocols.isEmpty ? "none" : portMappingProtocols.joined(separator: ", ")
            out.append("port mapping: \(found)\(portMappingGranted.map { " (granted \($0), deleted again)" } ?? "")")
        } else {
            out.append("port mapping: not checked\(portMappingNote.map { " (\($0))" } ?? "")")
        }
        let v6 =
            ipv6ServerReachable.map { $0 ? "a server answers over IPv6" : "no IPv6 server answered" }
            ?? "no IPv6 server given"
        out.append("IPv6: \(ipv6Global ? "global address" : "no global address"), \(v6)")
        out.append("tcp443: \(tcp443)")
        out.append("local addresses: \(localAddresses.isEmpty ? "none" : localAddresses.joined(separator: ", "))")
        out.append("verdict: \(verdict)")
        return out
    }
}

extension NetCheckReport.Mapping {
    init(_ nat: NATBehavior) {
        switch nat {
        case .none, .endpointIndependent: self = .endpointIndependent
        case .endpointDependent: self = .endpointDependent
        case .unknown: self = .unknown
        }
    }
}

extension NetAddress {
    var isIPv6: Bool {
        if case .v6 = host { return true }
        return false
    }
}

extension NetAddress.Host {
    /// Global unicast IPv6 (2000::/3).
    var isGlobalIPv6: Bool {
        if case .v6(let high, _) = self { return high >> 61 == 1 }
        return false
    }
}
