// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sans-IO port mapping of one UDP port at the LAN's gateway: PCP (falling back to NAT-PMP) at
/// the default gateway and UPnP-IGD (SSDP, description, SOAP) in parallel; the first mapping
/// granted wins and any later grant by another protocol is deleted again. The winner is renewed
/// at half its lifetime and made again when the gateway's epoch shows it restarted (RFC 6886
/// §3.6, RFC 6887 §8.5); `stop` deletes it. When nothing grants a mapping the round is over
/// (`.unavailable`) and another starts after `config.retryAfterFailure`.
///
/// Drive it with `start`, the `receive*` calls and `poll(now:)` at `nextDeadline()`; each
/// returns the actions to carry out.
package struct GatewayMapper {
    package let internalPort: UInt16
    /// Our IPv4 address on the gateway's LAN (PCP client address, UPnP NewInternalClient).
    package let client: UInt32
    /// The default gateway's port 5351; nil: PCP and NAT-PMP are not tried.
    package let gateway: NetAddress?
    package let config: GatewayMapperConfig
    package private(set) var active: GatewayMapping?
    /// Protocols the LAN answered in (a PCP or NAT-PMP response of any result, an IGD whose
    /// description parsed), whether or not they granted: what `t2u netcheck` reports.
    package private(set) var answered: Set<GatewayProtocol> = []

    private let nonce: [UInt8]
    private let portSeed: UInt64
    private var gatewayTrack = GatewayTrack.idle
    private var upnpTrack = UPnPTrack.idle
    private var renewAt: Instant?
    private var expiresAt: Instant?
    private var retryAt: Instant?
    private var stopped = false
    private var nextHTTPID: UInt64 = 1
    /// Last epoch (seconds) the gateway stated and when.
    private var epoch: (seconds: UInt32, at: Instant)?

    private enum GatewayTrack {
        case idle
        /// attempt counts sends so far; `renewing` keeps the winner while it is renewed.
        case pcp(attempt: Int, next: Instant)
        case natPMP(attempt: Int, next: Instant, address: UInt32?, port: (external: UInt16, lifetime: UInt32)?)
        case failed(String)
    }

    private enum UPnPTrack {
        case idle
        case searching(attempt: Int, next: Instant)
        case describing(id: UInt64, location: IGDURL)
        case adding(id: UInt64, service: IGDService, port: UInt16, lease: UInt32, attempt: Int)
        case addressing(id: UInt64, service: IGDService, port: UInt16, lease: UInt32)
        /// Mapped (won or being deleted); `service` and `port` for renewal and deletion.
        case mapped(service: IGDService, port: UInt16, lease: UInt32)
        case renewing(id: UInt64, service: IGDService, port: UInt16, lease: UInt32)
        case failed(String)
    }

    package init(
        internalPort: UInt16, client: UInt32, gateway: NetAddress?, entropy: EntropySource,
        config: GatewayMapperConfig = .init()
    ) {
        self.internalPort = internalPort
        self.client = client
        self.gateway = gateway
        self.config = config
        nonce = entropy.bytes(PCPMessage.nonceLength)
        portSeed = entropy.nextUInt64()
    }

    // MARK: driving

    /// Starts a round: PCP at the gateway and the SSDP search at once.
    package mutating func start(now: Instant) -> [GatewayMapperAction] {
        guard !stopped else { return [] }
        var out: [GatewayMapperAction] = []
        retryAt = nil
        gatewayTrack = gateway == nil ? .failed("no default gateway") : .pcp(attempt: 0, next: now)
        upnpTrack = .searching(attempt: 0, next: now)
        out += poll(now: now)
        return out
    }

    package func nextDeadline() -> Instant? {
        guard !stopped else { return nil }
        var deadlines: [Instant] = [renewAt, expiresAt, retryAt].compactMap { $0 }
        switch gatewayTrack {
        case .pcp(_, let next), .natPMP(_, let next, _, _): deadlines.append(next)
        default: break
        }
        if case .searching(_, let next) = upnpTrack { deadlines.append(next) }
        return deadlines.min()
    }

    /// No request of this round is waiting for an answer (each protocol granted, failed or was
    /// never started): a one-shot probe (`t2u netcheck`) can stop here.
    package var isSettled: Bool {
        switch gatewayTrack {
        case .pcp, .natPMP: return false
        case .idle, .failed: break
        }
        switch upnpTrack {
        case .searching, .describing, .adding, .addressing, .renewing: return false
        case .idle, .mapped, .failed: return true
        }
    }

    package mutating func poll(now: Instant) -> [GatewayMapperAction] {
        guard !stopped else { return [] }
        var out: [GatewayMapperAction] = []
        if let expiresAt, now >= expiresAt, let lost = active {
            out += lose("\(lost.via.rawValue) mapping not renewed before it expired", now: now)
        }
        if let retryAt, now >= retryAt {
            out += start(now: now)
            return out
        }
        if let renewAt, now >= renewAt, let winner = active {
            self.renewAt = nil
            switch winner.via {
            case .pcp: gatewayTrack = .pcp(attempt: 0, next: now)
            case .natPMP: gatewayTrack = .natPMP(attempt: 0, next: now, address: nil, port: nil)
            case .upnp:
                if case .mapped(let service, let port, let lease) = upnpTrack {
                    let id = takeHTTPID()
                    upnpTrack = .renewing(id: id, service: service, port: port, lease: lease)
                    out.append(
                        .http(
                            id: id, to: service.controlURL.host,
                            request: IGDSOAP.addPortMapping(
                                service, externalPort: port, internalClient: client, internalPort: internalPort,
                                leaseSeconds: lease, label: config.label)))
                }
            }
        }
        out += pollGateway(now: now)
        out += pollSSDP(now: now)
        out += concludeIfNothingGranted(now: now)
        return out
    }

    /// Deletes the mapping (and any the gateway may have made for requests still unanswered).
    /// Nothing is emitted afterwards.
    package mutating func stop() -> [GatewayMapperAction] {
        guard !stopped else { return [] }
        stopped = true
        var out: [GatewayMapperAction] = []
        let gatewayAsked: GatewayProtocol? =
            switch gatewayTrack {
            case .pcp(let attempt, _) where attempt > 0: .pcp
            case .natPMP(let attempt, _, _, _) where attempt > 0: .natPMP
            default: active.map { $0.via == .upnp ? nil : $0.via } ?? nil
            }
        switch gatewayAsked {
        case .pcp: out.append(.sendToGateway(pcpRequest(lifetime: 0, suggested: nil)))
        case .natPMP:
            out.append(
                .sendToGateway(
                    NATPMPMessage.mapUDPRequest(internalPort: internalPort, suggestedExternalPort: 0, lifetime: 0)))
        default: break
        }
        switch upnpTrack {
        case .mapped(let service, let port, _), .renewing(_, let service, let port, _),
            .adding(_, let service, let port, _, _),
            .addressing(_, let service, let port, _):
            out.append(
                .http(
                    id: takeHTTPID(), to: service.controlURL.host,
                    request: IGDSOAP.deletePortMapping(service, externalPort: port)))
        default: break
        }
        active = nil
        return out
    }

    // MARK: input

    /// A datagram on the socket that talks to the gateway (PCP or NAT-PMP answer).
    package mutating func receiveGateway(
        _ bytes: [UInt8], from source: NetAddress, now: Instant
    ) throws(GatewayParseError) -> [GatewayMapperAction] {
        guard !stopped, let gateway, source.host == gateway.host, source.port == NATPMPMessage.port else {
            throw .unexpected("datagram from \(source), not the gateway")
        }
        guard let first = bytes.first else { throw .truncated("empty datagram") }
        if first == 0 {
            return try receiveNATPMP(NATPMPMessage.parse(bytes), now: now)
        }
        return try receivePCP(PCPMessage.parse(bytes), now: now)
    }

    /// A datagram on the SSDP socket (a search response).
    package mutating func receiveSSDP(
        _ bytes: [UInt8], from source: NetAddress, now: Instant
    ) throws(GatewayParseError) -> [GatewayMapperAction] {
        guard !stopped, case .searching = upnpTrack else { return [] }
        let location = try SSDPMessage.location(bytes, from: source.host)
        let id = takeHTTPID()
        upnpTrack = .describing(id: id, location: location)
        return [.http(id: id, to: location.host, request: IGDSOAP.descriptionRequest(location))]
    }

    /// The outcome of `.http(id:)`: the response bytes, or why there is none (refused, timeout).
    package mutating func receiveHTTP(
        id: UInt64, _ result: Result<[UInt8], GatewayHTTPFailure>, now: Instant
    ) -> [GatewayMapperAction] {
        guard !stopped else { return [] }
        var out: [GatewayMapperAction] = []
        let response: HTTPResponse?
        var why: String
        switch result {
        case .success(let bytes):
            do {
                response = try HTTPResponse.parse(bytes)
                why = ""
            } catch {
                response = nil
                why = "IGD answer: \(error)"
            }
        case .failure(let failure):
            response = nil
            why = "IGD: \(failure.reason)"
        }
        switch upnpTrack {
        case .describing(let current, let location) where current == id:
            guard let response else { return failUPnP(why, now: now) }
            guard response.status == 200 else {
                return failUPnP("IGD description: HTTP status \(response.status)", now: now)
            }
            do {
                let service = try IGDService.parse(description: response.body, location: location)
                answered.insert(.upnp)
                out += addPortMapping(service, port: internalPort, lease: config.lifetimeSeconds, attempt: 0)
            } catch {
                return failUPnP("IGD description: \(error)", now: now)
            }
        case .adding(let current, let service, let port, let lease, let attempt) where current == id:
            switch soapAnswer(response, why: &why) {
            case .ok?:
                let id = takeHTTPID()
                upnpTrack = .addressing(id: id, service: service, port: port, lease: lease)
                out.append(.http(id: id, to: service.controlURL.host, request: IGDSOAP.getExternalIPAddress(service)))
            case .fault(IGDSOAP.conflictInMappingEntry, _)? where attempt + 1 < config.upnpPortAttempts:
                out += addPortMapping(service, port: randomPort(attempt + 1), lease: lease, attempt: attempt + 1)
            case .fault(IGDSOAP.onlyPermanentLeasesSupported, _)? where lease != 0:
                out += addPortMapping(service, port: port, lease: 0, attempt: attempt)
            case .fault(let code, let words)?:
                return failUPnP("AddPortMapping refused: UPnP error \(code) \(words)", now: now)
            default:
                return failUPnP(why, now: now)
            }
        case .addressing(let current, let service, let port, let lease) where current == id:
            guard case .externalAddress(let address)? = soapAnswer(response, why: &why) else {
                out.append(
                    .http(
                        id: takeHTTPID(), to: service.controlURL.host,
                        request: IGDSOAP.deletePortMapping(service, externalPort: port)))
                upnpTrack = .failed(why.isEmpty ? "GetExternalIPAddress gave no address" : why)
                out += concludeIfNothingGranted(now: now)
                return out
            }
            upnpTrack = .mapped(service: service, port: port, lease: lease)
            if let winner = active, winner.via != .upnp {
                // Another protocol won first: take ours back.
                out.append(
                    .http(
                        id: takeHTTPID(), to: service.controlURL.host,
                        request: IGDSOAP.deletePortMapping(service, externalPort: port)))
                upnpTrack = .failed("\(winner.via.rawValue) granted first")
                return out
            }
            out += grant(
                GatewayMapping(
                    via: .upnp, external: NetAddress(host: .v4(address), port: port), lifetimeSeconds: lease), now: now)
        case .renewing(let current, let service, let port, let lease) where current == id:
            if case .ok? = soapAnswer(response, why: &why) {
                upnpTrack = .mapped(service: service, port: port, lease: lease)
                scheduleRenewal(lifetime: lease, now: now)
            } else {
                upnpTrack = .failed(why)
                out += lose("UPnP renewal failed: \(why.isEmpty ? "refused" : why)", now: now)
            }
        default:
            break  // a stale exchange (deletion, or one a newer round replaced)
        }
        return out
    }

    // MARK: gateway protocols

    private mutating func pollGateway(now: Instant) -> [GatewayMapperAction] {
        var out: [GatewayMapperAction] = []
        switch gatewayTrack {
        case .pcp(let attempt, let next) where now >= next:
            if attempt >= config.pcpAttempts && !gatewayRenewing {
                // No PCP answer at all: NAT-PMP (same port, older gateways). A renewal goes on
                // until the mapping expires.
                gatewayTrack = .natPMP(attempt: 0, next: now, address: nil, port: nil)
                return pollGateway(now: now)
            }
            out.append(
                .sendToGateway(
                    pcpRequest(lifetime: config.lifetimeSeconds, suggested: active?.via == .pcp ? active : nil)))
            gatewayTrack = .pcp(attempt: attempt + 1, next: now + backoff(attempt))
        case .natPMP(let attempt, let next, let address, let port) where now >= next:
            if attempt >= config.natPMPAttempts && !gatewayRenewing {
                gatewayTrack = .failed("no answer to PCP nor NAT-PMP from \(gateway.map { $0.hostString } ?? "?")")
                return []
            }
            if address == nil { out.append(.sendToGateway(NATPMPMessage.externalAddressRequest())) }
            if port == nil {
                let suggested = active?.via == .natPMP ? active!.external.port : internalPort
                out.append(
                    .sendToGateway(
                        NATPMPMessage.mapUDPRequest(
                            internalPort: internalPort, suggestedExternalPort: suggested,
                            lifetime: config.lifetimeSeconds)))
            }
            gatewayTrack = .natPMP(attempt: attempt + 1, next: now + backoff(attempt), address: address, port: port)
        default:
            break
        }
        return out
    }

    private var gatewayRenewing: Bool { active.map { $0.via != .upnp } ?? false }

    /// 250 ms doubling, at most 64 s apart (a renewal retries until the mapping expires).
    private func backoff(_ attempt: Int) -> Nanos { config.gatewayInitialTimeout * Int64(1 << Swift.min(attempt, 8)) }

    private func pcpRequest(lifetime: UInt32, suggested: GatewayMapping?) -> [UInt8] {
        var port = internalPort
        var address: UInt32 = 0
        if let suggested, case .v4(let v) = suggested.external.host {
            port = suggested.external.port
            address = v
        }
        return PCPMessage.mapRequest(
            client: client, nonce: nonce, internalPort: internalPort, suggestedExternalPort: port,
            suggestedExternalAddress: address, lifetime: lifetime)
    }

    private mutating func receivePCP(
        _ response: PCPMessage.Response, now: Instant
    ) throws(GatewayParseError) -> [GatewayMapperAction] {
        answered.insert(.pcp)
        switch response {
        case .announce(_, let seconds):
            return checkEpoch(seconds, now: now)
        case .map(let result, let lifetime, let seconds, let nonce, let port, let externalPort, let address):
            guard nonce == self.nonce, port == internalPort else {
                throw .unexpected("PCP MAP response for another request")
            }
            var out = checkEpoch(seconds, now: now)
            guard case .pcp = gatewayTrack else {
                if lifetime > 0, active?.via != .pcp, result == .success {
                    // Granted after another protocol won (a late answer): delete it.
                    out.append(.sendToGateway(pcpRequest(lifetime: 0, suggested: nil)))
                }
                return out
            }
            if result == .unsupportedVersion {
                gatewayTrack = .natPMP(attempt: 0, next: now, address: nil, port: nil)
                return out + pollGateway(now: now)
            }
            guard result == .success else {
                if result.isTransient { return out }  // retransmissions go on
                gatewayTrack = .failed("PCP: \(result)")
                if let winner = active, winner.via == .pcp { out += lose("PCP renewal refused: \(result)", now: now) }
                return out + concludeIfNothingGranted(now: now)
            }
            guard let address, address != 0, externalPort != 0, lifetime > 0 else {
                throw .invalid("PCP MAP success without an IPv4 external address, port and lifetime")
            }
            gatewayTrack = .idle
            return out
                + grantGateway(
                    GatewayMapping(
                        via: .pcp, external: NetAddress(host: .v4(address), port: externalPort),
                        lifetimeSeconds: Swift.min(lifetime, config.lifetimeSeconds)), now: now)
        }
    }

    private mutating func receiveNATPMP(
        _ response: NATPMPMessage.Response, now: Instant
    ) throws(GatewayParseError) -> [GatewayMapperAction] {
        answered.insert(.natPMP)  // a NAT-PMP answer to PCP too: the gateway speaks NAT-PMP
        switch (response, gatewayTrack) {
        case (.mapUDP(NATPMPMessage.unsupportedVersion, _, _, _, _), .pcp),
            (.externalAddress(NATPMPMessage.unsupportedVersion, _, _), .pcp):
            // A NAT-PMP gateway's answer to PCP (RFC 6887 §9).
            gatewayTrack = .natPMP(attempt: 0, next: now, address: nil, port: nil)
            return pollGateway(now: now)
        case (.externalAddress(let result, let seconds, let address), .natPMP(let attempt, let next, _, let port)):
            var out = checkEpoch(seconds, now: now)
            guard result == 0 else {
                return out
                    + failGateway("NAT-PMP external address: \(NATPMPMessage.describe(result: result))", now: now)
            }
            guard address != 0 else {
                return out + failGateway("NAT-PMP: the gateway has no external address yet", now: now)
            }
            gatewayTrack = .natPMP(attempt: attempt, next: next, address: address, port: port)
            out += completeNATPMP(now: now)
            return out
        case (
            .mapUDP(let result, let seconds, let port, let external, let lifetime),
            .natPMP(let attempt, let next, let address, _)
        ):
            var out = checkEpoch(seconds, now: now)
            guard port == internalPort else { throw .unexpected("NAT-PMP map response for port \(port)") }
            guard result == 0 else {
                return out + failGateway("NAT-PMP map: \(NATPMPMessage.describe(result: result))", now: now)
            }
            guard external != 0, lifetime > 0 else { throw .invalid("NAT-PMP map success without port and lifetime") }
            gatewayTrack = .natPMP(attempt: attempt, next: next, address: address, port: (external, lifetime))
            out += completeNATPMP(now: now)
            return out
        case (.externalAddress(_, let seconds, _), _), (.mapUDP(_, let seconds, _, _, _), _):
            var out = checkEpoch(seconds, now: now)
            if case .mapUDP(0, _, let port, let external, let lifetime) = response, port == internalPort, external != 0,
                lifetime > 0,
                active?.via != .natPMP
            {
                // A late grant after another protocol won: delete it.
                out.append(
                    .sendToGateway(
                        NATPMPMessage.mapUDPRequest(internalPort: internalPort, suggestedExternalPort: 0, lifetime: 0)))
            }
            return out
        }
    }

    private mutating func completeNATPMP(now: Instant) -> [GatewayMapperAction] {
        guard case .natPMP(_, _, let address?, let port?) = gatewayTrack else { return [] }
        gatewayTrack = .idle
        return grantGateway(
            GatewayMapping(
                via: .natPMP, external: NetAddress(host: .v4(address), port: port.external),
                lifetimeSeconds: Swift.min(port.lifetime, config.lifetimeSeconds)), now: now)
    }

    private mutating func failGateway(_ why: String, now: Instant) -> [GatewayMapperAction] {
        gatewayTrack = .failed(why)
        if let winner = active, winner.via != .upnp { return lose(why, now: now) }
        return concludeIfNothingGranted(now: now)
    }

    /// RFC 6886 §3.6 / RFC 6887 §8.5: the gateway's epoch must advance with our clock (7/8 of
    /// it, 2 s slack); less means it restarted and lost its mappings: map again at once.
    private mutating func checkEpoch(_ seconds: UInt32, now: Instant) -> [GatewayMapperAction] {
        defer { epoch = (seconds, now) }
        guard let previous = epoch else { return [] }
        let elapsed = Int64((now - previous.at).seconds)
        let expected = Int64(previous.seconds) + elapsed * 7 / 8
        guard Int64(seconds) + 2 < expected || seconds < previous.seconds else { return [] }
        // While a request is out its answer re-grants the mapping anyway.
        guard let winner = active, winner.via != .upnp, case .idle = gatewayTrack else { return [] }
        renewAt = nil
        switch winner.via {
        case .pcp: gatewayTrack = .pcp(attempt: 0, next: now)
        default: gatewayTrack = .natPMP(attempt: 0, next: now, address: nil, port: nil)
        }
        return pollGateway(now: now)
    }

    // MARK: UPnP

    private mutating func pollSSDP(now: Instant) -> [GatewayMapperAction] {
        guard case .searching(let attempt, let next) = upnpTrack, now >= next else { return [] }
        if attempt >= config.ssdpAttempts {
            upnpTrack = .failed("no UPnP IGD answered the SSDP search")
            return []
        }
        upnpTrack = .searching(attempt: attempt + 1, next: now + config.ssdpInterval)
        return [.sendSSDP(SSDPMessage.search())]
    }

    private mutating func addPortMapping(
        _ service: IGDService, port: UInt16, lease: UInt32, attempt: Int
    ) -> [GatewayMapperAction] {
        let id = takeHTTPID()
        upnpTrack = .adding(id: id, service: service, port: port, lease: lease, attempt: attempt)
        return [
            .http(
                id: id, to: service.controlURL.host,
                request: IGDSOAP.addPortMapping(
                    service, externalPort: port, internalClient: client, internalPort: internalPort,
                    leaseSeconds: lease, label: config.label))
        ]
    }

    private func soapAnswer(_ response: HTTPResponse?, why: inout String) -> IGDSOAP.Answer? {
        guard let response else { return nil }
        do {
            return try IGDSOAP.parse(response)
        } catch {
            why = "IGD SOAP answer: \(error)"
            return nil
        }
    }

    private mutating func failUPnP(_ why: String, now: Instant) -> [GatewayMapperAction] {
        upnpTrack = .failed(why)
        return concludeIfNothingGranted(now: now)
    }

    /// A port above 1023 for the `attempt`-th try after a conflict (splitmix64 of the seed).
    private func randomPort(_ attempt: Int) -> UInt16 {
        UInt16(1024 + SplitMix64.mix(portSeed &+ UInt64(attempt) &* SplitMix64.increment) % (65536 - 1024))
    }

    private mutating func takeHTTPID() -> UInt64 {
        defer { nextHTTPID += 1 }
        return nextHTTPID
    }

    // MARK: outcome

    private mutating func grantGateway(_ mapping: GatewayMapping, now: Instant) -> [GatewayMapperAction] {
        if let winner = active, winner.via == .upnp {
            // UPnP won first: take this one back.
            if mapping.via == .pcp { return [.sendToGateway(pcpRequest(lifetime: 0, suggested: nil))] }
            return [
                .sendToGateway(
                    NATPMPMessage.mapUDPRequest(internalPort: internalPort, suggestedExternalPort: 0, lifetime: 0))
            ]
        }
        return grant(mapping, now: now)
    }

    private mutating func grant(_ mapping: GatewayMapping, now: Instant) -> [GatewayMapperAction] {
        let changed = active?.external != mapping.external
        active = mapping
        retryAt = nil
        scheduleRenewal(lifetime: mapping.lifetimeSeconds, now: now)
        var out: [GatewayMapperAction] = changed ? [.mapped(mapping)] : []
        if mapping.via != .upnp, !config.searchUPnPAfterGrant, case .searching = upnpTrack {
            upnpTrack = .failed("\(mapping.via.rawValue) granted first")
        }
        if mapping.via == .upnp {
            switch gatewayTrack {
            case .pcp(let attempt, _) where attempt > 0:
                out.append(.sendToGateway(pcpRequest(lifetime: 0, suggested: nil)))
            case .natPMP(let attempt, _, _, _) where attempt > 0:
                out.append(
                    .sendToGateway(
                        NATPMPMessage.mapUDPRequest(internalPort: internalPort, suggestedExternalPort: 0, lifetime: 0)))
            default: break
            }
            gatewayTrack = .failed("UPnP granted first")
        }
        return out
    }

    private mutating func scheduleRenewal(lifetime: UInt32, now: Instant) {
        if lifetime == 0 {
            renewAt = now + config.permanentLeaseRenewal
            expiresAt = nil
        } else {
            renewAt = now + .seconds(Int64(lifetime)) / 2
            expiresAt = now + .seconds(Int64(lifetime))
        }
    }

    private mutating func lose(_ why: String, now: Instant) -> [GatewayMapperAction] {
        active = nil
        renewAt = nil
        expiresAt = nil
        return [.unmapped(why)] + start(now: now)
    }

    /// Both tracks over and nothing granted: say why, and schedule the next round.
    private mutating func concludeIfNothingGranted(now: Instant) -> [GatewayMapperAction] {
        guard active == nil, retryAt == nil, case .failed(let gatewayWhy) = gatewayTrack,
            case .failed(let upnpWhy) = upnpTrack
        else {
            return []
        }
        retryAt = now + config.retryAfterFailure
        return [.unavailable("PCP/NAT-PMP: \(gatewayWhy); UPnP: \(upnpWhy)")]
    }
}

/// Why an HTTP exchange with the IGD produced no response (from the shell).
package struct GatewayHTTPFailure: Error, Equatable, Sendable {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
}
