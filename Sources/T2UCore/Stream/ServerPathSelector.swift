// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Sans-IO choice between UDP and the TCP/TLS fallback stream for an agent's traffic to its
/// server (signaling and relay), in the happy-eyeballs manner of QUIC clients: UDP first; when
/// a datagram to the server stays unanswered for `openAfter`, a stream is opened in parallel;
/// once it is up (and UDP still silent) server traffic moves onto it. UDP keeps being probed
/// every `probeInterval`, and the first UDP answer moves traffic back and closes the stream.
/// Direct paths between peers are UDP whatever this says.
public struct ServerPathSelector: Sendable {
    public struct Config: Sendable {
        /// UDP silence after a send before the stream is tried.
        public var openAfter: Nanos = .milliseconds(1500)
        /// While on the stream: how often UDP is probed.
        public var probeInterval: Nanos = .seconds(5)
        /// Reconnect delay after a failed or lost stream; doubles up to `maxReconnectDelay`.
        public var reconnectDelay: Nanos = .seconds(1)
        public var maxReconnectDelay: Nanos = .seconds(30)
        public init() {}
    }

    public enum StreamState: Equatable, Sendable { case idle, connecting, up }

    /// What the shell must do now.
    public enum Action: Equatable, Sendable {
        case openStream
        case closeStream
        /// Send one UDP probe to the server (it answers even while we are on the stream).
        case probeUDP
    }

    public let config: Config
    public private(set) var stream: StreamState = .idle
    /// Server traffic goes over the stream (else UDP).
    public private(set) var carriesOverStream = false
    /// When a UDP datagram to the server was first left unanswered (nil: UDP answers).
    public private(set) var udpUnansweredSince: Instant?
    private var reconnectAt: Instant = .zero
    private var reconnectDelay: Nanos
    private var nextProbeAt: Instant = .distantFuture
    private var actions: [Action] = []

    public init(config: Config = Config()) {
        self.config = config
        self.reconnectDelay = config.reconnectDelay
    }

    /// A datagram went to the server over UDP.
    public mutating func sentOverUDP(now: Instant) {
        if udpUnansweredSince == nil { udpUnansweredSince = now }
    }

    /// A datagram came from the server over UDP: UDP works, the stream is not needed.
    public mutating func receivedOverUDP(now: Instant) {
        udpUnansweredSince = nil
        carriesOverStream = false
        nextProbeAt = .distantFuture
        reconnectDelay = config.reconnectDelay
        if stream != .idle {
            stream = .idle
            actions.append(.closeStream)
        }
    }

    /// The stream finished its upgrade.
    public mutating func streamUp(now: Instant) {
        guard stream == .connecting else { return }
        guard udpUnansweredSince != nil else {
            // UDP answered while the stream was connecting: it lost the race.
            stream = .idle
            actions.append(.closeStream)
            return
        }
        stream = .up
        carriesOverStream = true
        reconnectDelay = config.reconnectDelay
        nextProbeAt = now + config.probeInterval
    }

    /// The stream failed to open or was lost: UDP again until the next attempt.
    public mutating func streamDown(now: Instant) {
        guard stream != .idle else { return }
        stream = .idle
        carriesOverStream = false
        nextProbeAt = .distantFuture
        reconnectAt = now + reconnectDelay
        reconnectDelay = min(reconnectDelay * 2, config.maxReconnectDelay)
        // Sends over UDP resume now; the silence that opened the stream still counts.
    }

    public func nextDeadline() -> Instant? {
        var next: Instant? = nil
        if stream == .idle, let since = udpUnansweredSince {
            next = max(since + config.openAfter, reconnectAt)
        }
        if carriesOverStream { next = next.map { min($0, nextProbeAt) } ?? nextProbeAt }
        return next
    }

    public mutating func handleTimeout(now: Instant) {
        if stream == .idle, let since = udpUnansweredSince, now >= since + config.openAfter, now >= reconnectAt {
            stream = .connecting
            actions.append(.openStream)
        }
        if carriesOverStream, now >= nextProbeAt {
            nextProbeAt = now + config.probeInterval
            actions.append(.probeUDP)
        }
    }

    public mutating func pollAction() -> Action? {
        actions.isEmpty ? nil : actions.removeFirst()
    }
}
