import Crypto
import NIOCore

/// One end-to-end encrypted, reliable, congestion-controlled connection over UDP datagrams,
/// carrying many independent streams. Sans-IO: the owner feeds datagrams and time in, and
/// takes datagrams, events and the next deadline out. Not thread-safe: one owner drives it.
///
/// API CONTRACT (bodies being written): shell and simulator code against these signatures.
public final class Connection {
    public enum State: Equatable, Sendable { case handshaking, established, closing, closed }

    public let role: Role
    public enum Role: Sendable { case initiator, responder }

    /// The ID peers write into packets addressed to us.
    public let localConnectionID: ConnectionID
    public private(set) var state: State = .handshaking
    /// Where we currently send (the validated path).
    public private(set) var peerAddress: NetAddress
    public private(set) var stats = ConnectionStats()

    /// Initiator: starts a handshake to `peerAddress`, pinned to the responder's static key.
    /// `password` is mixed into the handshake as a pre-shared key (nil: none).
    public init(
        config: TransportConfig,
        identity: StaticIdentity,
        remoteStaticKey: [UInt8],
        password: [UInt8]?,
        peerAddress: NetAddress,
        entropy: EntropySource,
        now: Instant
    ) {
        fatalError("not yet")
    }

    /// Feeds one datagram (starting with its `PacketType` byte) received from `address`.
    /// Unauthenticated or malformed input is dropped and counted, never thrown.
    public func receive(_ datagram: ByteBuffer, from address: NetAddress, now: Instant) {
        fatalError("not yet")
    }

    /// Writes the next datagram to send into `buffer` (cleared first) and returns its
    /// destination, or nil when nothing may be sent now (see `nextDeadline`).
    public func pollTransmit(now: Instant, into buffer: inout ByteBuffer) -> NetAddress? {
        fatalError("not yet")
    }

    /// When `handleTimeout` must next be called (loss detection, ack delay, pacing, keepalive,
    /// idle). nil when closed.
    public func nextDeadline() -> Instant? { fatalError("not yet") }

    public func handleTimeout(now: Instant) { fatalError("not yet") }

    public func pollEvent() -> ConnectionEvent? { fatalError("not yet") }

    // MARK: streams

    public func openStream() throws(StreamError) -> StreamID { fatalError("not yet") }

    /// Queues bytes; returns how many were accepted (less than offered when the send buffer is
    /// full: wait for `streamWritable`).
    public func write(_ data: ByteBuffer, to stream: StreamID) throws(StreamError) -> Int { fatalError("not yet") }

    /// Half-close: no more writes; the peer reads FIN after the data.
    public func finish(_ stream: StreamID) throws(StreamError) { fatalError("not yet") }

    public func read(_ stream: StreamID, maxBytes: Int) throws(StreamError) -> StreamRead { fatalError("not yet") }

    /// Aborts both directions (TCP reset).
    public func reset(_ stream: StreamID, errorCode: UInt64) { fatalError("not yet") }

    public func close(errorCode: UInt64, reason: String, now: Instant) { fatalError("not yet") }
}
