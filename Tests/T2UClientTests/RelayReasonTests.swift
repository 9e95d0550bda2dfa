import T2UCore
import Testing

@testable import T2UClient

/// "Why is this link relayed?" in words, from the client's facts.
@Suite struct RelayReasonTests {
    static func facts(local: NATBehavior = .endpointIndependent, peer: NATBehavior = .endpointIndependent, candidates: Int = 2,
                      directDisabled: Bool = false, remembered: Bool = false,
                      discovery: RelayFacts.Discovery = .ended(tried: 4)) -> RelayFacts {
        RelayFacts(directDisabled: directDisabled, localNAT: local, peerNAT: peer, peerCandidates: candidates,
                   rememberedRelay: remembered, discovery: discovery)
    }

    @Test func eachFactHasItsWords() {
        #expect(Self.facts(directDisabled: true).reason == "direct disabled by option (relay only)")
        #expect(Self.facts(candidates: 0).reason == "peer has no candidates (the server gave no address of the device)")
        #expect(Self.facts(local: .endpointDependent(delta: 3000), peer: .endpointDependent(delta: -977)).reason
            == "both sides symmetric NAT (ours random, the device's random) and no port mapping: no direct path beyond the LAN")
        #expect(Self.facts(remembered: true).reason.hasPrefix("direct failed with this device a few minutes ago"))
        #expect(Self.facts(discovery: .notStarted).reason == "direct path search not started yet")
        #expect(Self.facts(discovery: .running(tried: 1)).reason == "searching a direct path (1 candidate tried so far)")
        #expect(Self.facts(local: .endpointDependent(delta: 1), discovery: .ended(tried: 6)).reason
            == "punching timed out after 6 candidates (ours sequential(1), the device's endpoint-independent): UDP between the peers is blocked or filtered")
    }

    @Test func optionWinsOverNATs() {
        // The option is the reason even where the NATs would also rule direct out.
        let f = Self.facts(local: .endpointDependent(delta: 3000), peer: .endpointDependent(delta: 500), directDisabled: true)
        #expect(f.reason == "direct disabled by option (relay only)")
        // Random x sequential: the planner rules direct out too (birthday needs a cone side).
        #expect(Self.facts(local: .endpointDependent(delta: 2), peer: .endpointDependent(delta: 900)).reason.hasPrefix("both sides symmetric NAT"))
        // Sequential x sequential: prediction may work, so the reason is the punching outcome.
        #expect(Self.facts(local: .endpointDependent(delta: 2), peer: .endpointDependent(delta: 1)).reason.hasPrefix("punching timed out after 4 candidates"))
    }
}
