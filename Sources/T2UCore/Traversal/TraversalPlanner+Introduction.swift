// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

extension TraversalPlanner {
    /// The device's plan for one INTRODUCE, confined to `PunchScope` (docs/SECURITY.md §4):
    /// the client's observed address (its reflexive address, also the base of predicted and
    /// birthday ports), the client candidates on one of `subnets` and its global IPv6
    /// candidates (at most `PunchScope.maxGlobalIPv6`). `dropped` lists the
    /// candidates left out, for the caller to count. The plan starts after the introduction's
    /// punch delay (`PunchOrder`: the client sends first this time).
    public static func device(
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
