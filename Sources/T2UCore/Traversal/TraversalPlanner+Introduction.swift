// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension TraversalPlanner {
    /// The device's plan for one INTRODUCE, confined to `PunchScope` (docs/SECURITY.md §4):
    /// the client's observed address (its reflexive address, also the base of predicted and
    /// birthday ports), the client candidates on one of `subnets` and its global IPv6
    /// candidates (at most `PunchScope.maxGlobalIPv6`). `dropped` lists the
    /// candidates left out, for the caller to count. The plan starts after the introduction's
    /// punch delay (`PunchOrder`: the client sends first this time).
    package static func device(
        introduction intro: SignalingMessage.Introduce, localNAT: NATBehavior, subnets: [LocalSubnet],
        entropy: EntropySource, now: Instant, config: TraversalConfig = .init()
    ) -> (planner: TraversalPlanner, scope: PunchScope, dropped: [NetAddress]) {
        let scope = PunchScope(
            observed: intro.clientPublicAddress, subnets: subnets, candidates: intro.clientCandidates)
        let (kept, dropped) = scope.partition(intro.clientCandidates.filter { $0 != intro.clientPublicAddress })
        let peer = TraversalPeer(nat: intro.clientNAT, reflexive: intro.clientPublicAddress, candidates: kept)
        let planner = TraversalPlanner(
            role: .device, localNAT: localNAT, peer: peer, sessionID: intro.sessionID,
            entropy: entropy, now: now + intro.punchDelay, config: config)
        return (planner, scope, dropped)
    }
}

extension TraversalPlanner {
    /// The client's plan for one CONNECT result, confined the way the device's is: the
    /// device's reflexive address (`reflexive`, else its first candidate), its candidates on one
    /// of `subnets` (any other LAN address cannot be the device's, only someone else's) and its
    /// global IPv6 candidates. `scope` is nil when no device address is known (then no punch is
    /// answered). The plan starts after the result's punch delay (`PunchOrder`).
    package static func client(
        connectResult result: SignalingMessage.ConnectResult, reflexive: NetAddress?, localNAT: NATBehavior,
        subnets: [LocalSubnet], entropy: EntropySource, now: Instant, config: TraversalConfig = .init(),
        remembered: TraversalStrategy? = nil
    ) -> (planner: TraversalPlanner, scope: PunchScope?) {
        let deviceReflexive = reflexive ?? result.deviceCandidates.first
        let scope = deviceReflexive.map {
            PunchScope(observed: $0, subnets: subnets, candidates: result.deviceCandidates)
        }
        let others = result.deviceCandidates.filter { $0 != deviceReflexive }
        let candidates = scope?.partition(others).kept ?? others
        let peer = TraversalPeer(nat: result.deviceNAT, reflexive: deviceReflexive, candidates: candidates)
        let planner = TraversalPlanner(
            role: .client, localNAT: localNAT, peer: peer, sessionID: result.sessionID, entropy: entropy,
            now: now + result.punchDelay, config: config, remembered: remembered)
        return (planner, scope)
    }
}
