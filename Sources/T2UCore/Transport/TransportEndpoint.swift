import NIOCore

/// All transport connections of one UDP socket: routes datagrams by connection ID, accepts
/// handshakes as responder, and multiplexes transmissions. Sans-IO like `Connection`.
///
/// API CONTRACT (bodies being written).
public final class TransportEndpoint {
    public struct Options: Sendable {
        public var config: TransportConfig
        public var identity: StaticIdentity
        /// Accept incoming handshakes (device side). The password, if any, is required of peers.
        public var acceptIncoming: Bool
        public var password: [UInt8]?
        public init(config: TransportConfig, identity: StaticIdentity, acceptIncoming: Bool, password: [UInt8]? = nil) {
            self.config = config
            self.identity = identity
            self.acceptIncoming = acceptIncoming
            self.password = password
        }
    }

    public init(options: Options, entropy: EntropySource) { fatalError("not yet") }

    /// Starts a connection as initiator.
    public func connect(to address: NetAddress, remoteStaticKey: [UInt8], password: [UInt8]?, now: Instant) -> Connection {
        fatalError("not yet")
    }

    /// Routes a datagram; returns the connection it belonged to (nil: dropped, or a reply such
    /// as a rejection was queued). New incoming connections are reported by `pollAccepted`.
    @discardableResult
    public func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) -> Connection? {
        fatalError("not yet")
    }

    public func pollAccepted() -> Connection? { fatalError("not yet") }

    /// Next datagram of any connection (fair round robin), or nil.
    public func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? { fatalError("not yet") }

    public func nextDeadline() -> Instant? { fatalError("not yet") }

    public func handleTimeout(now: Instant) { fatalError("not yet") }

    public var connections: [Connection] { fatalError("not yet") }
}
