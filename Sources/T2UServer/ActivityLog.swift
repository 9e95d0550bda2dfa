// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import T2UCore

/// Writes what the core did (`ServerActivity`) and the datagrams it rejected to the log at
/// `info`. Rejections can come in floods: per reason, 5 a minute are written and the rest
/// counted; the next line written says how many were held back (`suppressed`).
struct ActivityLog {
    let logger: Logger
    private var rejections = RepeatLimiter<RejectReason>(burst: 5, window: .seconds(60))

    init(logger: Logger) {
        self.logger = logger
    }

    func write(_ activity: ServerActivity) {
        switch activity {
        case .registered(let role, let uuid, let address, let renewed):
            logger.info(
                "\(role) \(renewed ? "registered again" : "registered")",
                metadata: ["uuid": "\(uuid)", "address": "\(address)"])
        case .expired(let role, let uuid, let address):
            logger.info(
                "\(role) expired: no keepalive within the presence timeout",
                metadata: ["uuid": "\(uuid)", "address": "\(address)"])
        case .relayStarted(let session, let client, let device):
            logger.info(
                "relay session started",
                metadata: ["session": "\(String(session, radix: 16))", "client": "\(client)", "device": "\(device)"])
        case .relayEnded(let session, let client, let device, let bytes):
            logger.info(
                "relay session ended (idle)",
                metadata: [
                    "session": "\(String(session, radix: 16))", "client": "\(client)", "device": "\(device)",
                    "bytes": "\(bytes)",
                ])
        }
    }

    mutating func rejected(_ reason: RejectReason, from source: NetAddress, now: Instant) {
        let (log, suppressed) = rejections.admit(reason, now: now)
        guard log else { return }
        var metadata: Logger.Metadata = ["reason": "\(reason.rawValue)", "source": "\(source)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.info("datagram rejected", metadata: metadata)
    }
}
