// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UNIO

/// The way the SDK's traffic to the server takes now.
public enum ServerTransport: String, Sendable {
    case udp
    /// The TCP/TLS fallback (`T2UClientOptions.serverStream`): UDP to the server is unanswered.
    case tcp
}

extension T2UClient {
    /// `.tcp` while the TCP/TLS fallback carries registration, requests and relayed links.
    public func serverTransport() async -> ServerTransport {
        await onLoop { $0.driver.serverStream?.carriesServerTraffic == true ? ServerTransport.tcp : .udp } ?? .udp
    }
}
