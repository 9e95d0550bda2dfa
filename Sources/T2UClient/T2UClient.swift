import T2UCore

/// The client SDK: connects to the server cloud in the background, maps devices' TCP ports to
/// local ports over P2P links (direct, LAN or relayed), keeps them up with retries, and reports
/// status, rates and events. Thread safe; every method may be called from any thread/task.
///
/// API CONTRACT (bodies being written).
public final class T2UClient: Sendable {
    /// Starts the SDK: binds its UDP socket and registers with the server in the background.
    public init(options: T2UClientOptions) throws { fatalError("not yet") }

    /// `OnConnect`/`OnDisconnect`, in order.
    public var events: AsyncStream<T2UClientEvent> { fatalError("not yet") }
    /// The same events delivered on an SDK thread (the C callbacks); nil removes it. Must not block.
    public func setEventHandler(_ handler: (@Sendable (T2UClientEvent) -> Void)?) { fatalError("not yet") }

    public func status() async -> ServerConnectionStatus { fatalError("not yet") }
    public func query(_ uuid: String) async throws(T2UClientError) -> DeviceInfo { fatalError("not yet") }
    /// Opens the local port at once (throws `.localPortUnavailable`) and builds the link in the
    /// background. Returns the local port.
    public func addPort(_ request: PortMappingRequest) async throws(T2UClientError) -> UInt16 { fatalError("not yet") }
    /// Closes the local port and every connection through it (no-op for an unknown port).
    public func deletePort(_ localPort: UInt16) async { fatalError("not yet") }
    public func portStatus(_ localPort: UInt16) async -> (PortStatus, PathInfo?) { fatalError("not yet") }
    /// Rates of one port, or of all ports for 0; nil for an unknown port.
    public func rate(_ localPort: UInt16) async -> RateInfo? { fatalError("not yet") }
    /// LAN discovery: devices that answered within `timeout`.
    public func search(timeout: Nanos) async throws(T2UClientError) -> [DiscoveredDevice] { fatalError("not yet") }
    /// Closes every port and link, stops the threads; the object is unusable afterwards.
    public func shutdown() async { fatalError("not yet") }
}
