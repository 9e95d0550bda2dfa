// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Tunables of one transport connection. Defaults suit a WAN path between a phone/PC and a
/// camera; the benchmark and tests override what they measure.
public struct TransportConfig: Sendable {
    /// Largest UDP payload we send (1500-byte IP MTU minus IPv6 + UDP headers).
    public var maxDatagramSize: Int = 1452
    /// BBR-like by default: random loss on Wi-Fi and cellular last miles is not congestion, and
    /// a loss-based controller collapses there (lab at 5% loss: 1084 Mbit/s BBR-like vs 257
    /// CUBIC). Its inflight cap (about 2 BDP) keeps queues short; `.cubic` for TCP-like fairness.
    public var congestionControl: CongestionControlKind = .bbr
    /// A congestion controller of your own (`CongestionController`), used in place of
    /// `congestionControl`'s; nil: the built-in one.
    public var congestionControllerFactory: CongestionControllerFactory?
    /// Pace packets over the RTT instead of bursting the whole window.
    public var pacing: Bool = true

    /// Receive windows (flow-control credit) start at the initial sizes and double whenever
    /// the reader consumed half of one within two RTTs, or waited at a hole while the window
    /// filled behind it, up to the max: a long fat path gets the window its bandwidth-delay
    /// product needs, a slow reader never grows it. The maxima (64 MiB per stream, 128 MiB
    /// per connection) hold 1 Gbit/s x 200 ms (25 MB) two and a half times over: with loss a
    /// hole holds back what follows it for the round trips its repair takes. The connection
    /// window bounds the receive memory of one connection. Initial
    /// sizes of 1 and 2 MiB (were 256 KiB and 1 MiB): on a lossy long path the windows grow
    /// about once per repaired hole, and smaller ones held startup back for seconds.
    public var initialStreamWindow: Int = 1024 * 1024
    public var maxStreamWindow: Int = 64 * 1024 * 1024
    public var initialConnectionWindow: Int = 2 * 1024 * 1024
    public var maxConnectionWindow: Int = 128 * 1024 * 1024
    /// Bytes an application may queue on one stream at first (unacknowledged bytes count).
    /// The buffer then follows the congestion window (twice it, so the controller and not the
    /// buffer limits a long fat path), up to `maxStreamSendBuffer`.
    public var streamSendBuffer: Int = 1024 * 1024
    public var maxStreamSendBuffer: Int = 64 * 1024 * 1024
    /// Bound on the growth of all send buffers of one connection together (above
    /// `streamSendBuffer` each).
    public var maxConnectionSendBuffer: Int = 128 * 1024 * 1024
    public var maxConcurrentStreams: Int = 1024

    /// Acknowledge at the latest this long after an ack-eliciting packet arrives.
    public var maxAckDelay: Nanos = .milliseconds(5)
    /// PING after this long without sending, so NAT bindings stay open (conntrack: 30 s).
    public var keepaliveInterval: Nanos = .seconds(15)
    public var idleTimeout: Nanos = .seconds(60)
    /// Close with `.peerUnreachable` when packets awaiting an answer (data, keepalive PINGs)
    /// got nothing at all back for this long. Probes go out at least every
    /// `min(1 s, deadPeerTimeout / 4)` meanwhile, so a live peer on a lossy path gets chances.
    public var deadPeerTimeout: Nanos = .seconds(10)
    /// A path whose ack-eliciting packets got no answer for 3 PTOs, clamped to these bounds,
    /// has failed: the connection moves to its fallback (`Connection.setFallback`, the relay).
    public var minPathFailureTimeout: Nanos = .milliseconds(600)
    public var maxPathFailureTimeout: Nanos = .milliseconds(1500)
    public var handshakeTimeout: Nanos = .seconds(10)
    public var initialRtt: Nanos = .milliseconds(100)
    /// Rotate packet keys after this many packets or this long, whichever comes first.
    public var keyUpdatePackets: UInt64 = 1 << 22
    public var keyUpdateInterval: Nanos = .seconds(600)

    public init() {}
}

public enum CongestionControlKind: String, Sendable, CaseIterable {
    /// CUBIC with HyStart++: fair to TCP, backs off on loss.
    case cubic
    /// Model-based (BBR-like): paces at the measured bottleneck rate; random loss does not
    /// collapse the window. For lossy wireless and long links.
    case bbr
}
