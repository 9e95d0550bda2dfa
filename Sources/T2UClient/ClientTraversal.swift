import T2UCore
import T2UNIO

/// Path discovery for one established session (client side). Confined to the SDK loop.
///
/// Minimal version: probes the device's reflexive address and its other candidates once each
/// (`Connection.probePath`). Validated paths arrive as the connection's `.pathValidated`
/// events; `PortMapping` selects among them.
final class ClientTraversal {
    private unowned let core: ClientCore
    private let connection: Connection
    private let uuid: String
    private let reflexive: NetAddress?
    private let connectResult: SignalingMessage.ConnectResult
    private var stopped = false

    init(core: ClientCore, connection: Connection, uuid: String, reflexive: NetAddress?,
         connectResult: SignalingMessage.ConnectResult) {
        self.core = core
        self.connection = connection
        self.uuid = uuid
        self.reflexive = reflexive
        self.connectResult = connectResult
    }

    /// Starts probing; validated paths arrive as the connection's `.pathValidated` events.
    func start() {
        guard !stopped else { return }
        var seen: Set<NetAddress> = []
        let now = EndpointDriver.now()
        for candidate in ([reflexive].compactMap { $0 } + connectResult.deviceCandidates) where seen.insert(candidate).inserted {
            connection.probePath(to: candidate, now: now)
        }
        core.driver.requestStep()
    }

    /// The path the selection settled on (for per-peer memory); nil = relay.
    func settled(on address: NetAddress?) {}

    /// Stops probing and releases what it opened (auxiliary sockets not carrying `keep`).
    func stop(keep: NetAddress?) {
        stopped = true
    }
}
