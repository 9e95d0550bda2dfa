// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

extension ServerCore {
    /// PATH_REPORT from the client of a session: counted once per session into the punch-outcome
    /// table, keyed by both parties' NAT behaviours. Never answered (fire-and-forget), so a
    /// spoofed or stale report costs the sender a datagram and us a counter increment.
    func handlePathReport(token: UInt64, sessionID: UInt64, path: SignalingPathKind, request: Request, now: Instant) {
        guard let client = verifiedRecord(token: token, request: request, now: now, replyOnFailure: false) else {
            return
        }
        guard let session = sessions[sessionID], session.clientUUID == client.uuid else {
            return reject(.relayUnknownSession)
        }
        guard !session.pathReported else { return }
        session.pathReported = true
        punchOrders.record(client: session.clientUUID, device: session.deviceUUID, path: path)
        let device = registry.lookup(role: .device, uuid: session.deviceUUID)
        let outcome = PunchOutcome(
            clientNAT: natLabel(for: client), deviceNAT: device.map(natLabel(for:)) ?? "unknown", path: path)
        counters.pathReports &+= 1
        counters.punchOutcomes[outcome, default: 0] &+= 1
    }

    /// The metrics label of an agent's NAT behaviour (`client_nat`, `device_nat`): five values,
    /// so the punch-outcome table stays small (the port delta itself is not a label).
    func natLabel(for record: PresenceRecord) -> String {
        switch record.nat {
        case .unknown: "unknown"
        case .none: "none"
        case .endpointIndependent: "endpoint_independent"
        case .endpointDependent(let delta):
            delta.magnitude <= NATBehavior.maxPredictableDelta.magnitude
                ? "endpoint_dependent_sequential" : "endpoint_dependent_random"
        }
    }
}
