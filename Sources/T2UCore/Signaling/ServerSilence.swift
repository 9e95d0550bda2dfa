// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The server has not answered our registration: how long and how often we tried, in the words
/// t2u and t2usvr both print, so an operator learns that the address, port or firewall is wrong
/// (not that "P2P failed").
public struct ServerSilence: Equatable, Sendable, CustomStringConvertible {
    /// The server we sent to.
    public var server: NetAddress
    /// Datagrams sent to it without any answer.
    public var tries: Int
    /// Since the first of them.
    public var elapsed: Nanos

    public init(server: NetAddress, tries: Int, elapsed: Nanos) {
        self.server = server
        self.tries = tries
        self.elapsed = elapsed
    }

    /// Seconds with one decimal ("3.5").
    public var seconds: String {
        let tenths = (elapsed.value + 50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    public var description: String {
        "no answer from server \(server) (\(tries) \(tries == 1 ? "try" : "tries") in \(seconds) s): check the address/port and that UDP is allowed"
    }
}
