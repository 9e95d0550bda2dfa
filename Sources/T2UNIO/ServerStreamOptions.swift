// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// The agent's TCP/TLS fallback to its server (used only when UDP to the server goes
/// unanswered): where it connects and when it switches.
public struct ServerStreamOptions: Sendable {
    /// The server's TCP port (`tcp-port` on the server; 443 where it is deployed as documented).
    public var port: Int
    /// TLS server name to send (SNI) and the HTTP Host header; nil: the server's IP address
    /// as Host and no SNI. Only camouflage: the server is authenticated by t2u's own handshake.
    public var serverName: String?
    public var selector = ServerPathSelector.Config()
    /// Largest datagram accepted from the stream.
    public var maxFrame = StreamFraming.defaultMaxFrame

    public init(port: Int, serverName: String? = nil) {
        self.port = port
        self.serverName = serverName
    }
}
