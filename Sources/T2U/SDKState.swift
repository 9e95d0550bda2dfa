// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import CT2U
import Dispatch
import Logging
import Synchronization
import T2UClient
import T2UNIO

/// The C callbacks, copied out of the caller's struct (which may go away after the call).
struct CallbackCopy: Sendable {
    typealias Callback = @Sendable @convention(c) (UInt16, Int32) -> Void
    var onConnect: Callback?
    var onDisconnect: Callback?

    /// The one place a C pointer becomes Sendable: a C function pointer captures no state, and
    /// the manual lets any thread call the callbacks.
    init(onConnect: (@convention(c) (UInt16, Int32) -> Void)?, onDisconnect: (@convention(c) (UInt16, Int32) -> Void)?)
    {
        self.onConnect = onConnect.map { unsafeBitCast($0, to: Callback.self) }
        self.onDisconnect = onDisconnect.map { unsafeBitCast($0, to: Callback.self) }
    }
}

/// Everything libt2u keeps between calls. One instance per process (the C API is global).
final class SDKState: Sendable {
    static let shared = SDKState()

    struct Settings {
        var client: T2UClient?
        var callbacks: CallbackCopy?
        var portRange: ClosedRange<UInt16>?
        /// t2u_init refused a malformed svrkey: t2u_status() says -2 until an init succeeds.
        var serverKeyInvalid = false
        /// Where t2u_init connected (to restart on t2u_set_port_range after init).
        var initOptions: T2UClientOptions?
        /// Local ports mapped through this library.
        var ports: Set<UInt16> = []
    }

    let settings = Mutex(Settings())
    /// Serialises init, exit and restarts; ordinary calls only take `settings` briefly.
    let lifecycle = Mutex(())

    var client: T2UClient? { settings.withLock { $0.client } }

    /// Delivers an SDK event to the current C callbacks (read at delivery time: NULL removes).
    func deliver(_ event: T2UClientEvent) {
        guard let callbacks = settings.withLock({ $0.callbacks }) else { return }
        switch event {
        case .connected(let port, let millis):
            callbacks.onConnect?(port, Int32(clamping: max(0, millis)))
        case .disconnected(let port, let code):
            callbacks.onDisconnect?(port, code)
        case .pathChanged, .deviceKeyChanged:
            // No C callback: the path shows in t2u_port_status; a changed key as -6 in OnDisconnect
            // and the error log.
            break
        }
    }

    /// C callbacks run here, in order, off the SDK's event loop: a callback that calls back
    /// into libt2u (say t2u_port_status in OnConnect) then waits on the loop, not deadlocks it.
    private let callbackQueue = DispatchQueue(label: "t2u.callbacks")

    /// How long t2u_init waits for the SDK to bind and resolve the server.
    static let startTimeout: Double = 30

    /// Creates and starts a client with the handler installed. Caller holds `lifecycle`.
    func startClient(_ options: T2UClientOptions) -> T2UClient? {
        // A start that outlives the wait is shut down when it completes (nobody holds it).
        let start: @Sendable () async -> Result<T2UClient, any Error> = {
            do {
                return .success(try await T2UClient.onOwnThread(options: options))
            } catch {
                return .failure(error)
            }
        }
        let started = blockingWait(
            timeoutSeconds: Self.startTimeout,
            late: { if case .success(let late) = $0 { Task { await late.shutdown() } } }, start)
        let client: T2UClient
        switch started {
        case .success(let value):
            client = value
        case .failure(let error):
            // t2u_init returns nothing: the log is where a malformed known-devices file shows.
            Logger(label: "t2u.client").error("t2u_init failed: \(error)")
            return nil
        case nil:
            Logger(label: "t2u.client").error("t2u_init failed: the SDK did not start within \(Self.startTimeout) s")
            return nil
        }
        let queue = callbackQueue
        client.setEventHandler { event in queue.async { SDKState.shared.deliver(event) } }
        return client
    }
}

/// Discovery target override for tests and unicast-only networks (see Examples/c/README.md).
func applyEnvironment(to options: inout T2UClientOptions) {
    if let address = environment("T2U_DISCOVERY_ADDR"), !address.isEmpty {
        // The target replaces both groups (a unicast-only network, a test).
        options.discoveryAddress = address
        options.discoveryAddressIPv6 = nil
    }
    if let text = environment("T2U_DISCOVERY_PORT"), let port = UInt16(text), port > 0 {
        options.discoveryPort = port
    }
    // The TCP/TLS fallback, as the `t2u` commands have it: port 443 unless T2U_TCP_PORT says
    // otherwise (0 turns it off); tried only when the server does not answer over UDP.
    options.serverStream = ServerStreamOptions(port: 443)
    if let text = environment("T2U_TCP_PORT") {
        if let port = Int(text), (0...65535).contains(port) {
            options.serverStream = port == 0 ? nil : ServerStreamOptions(port: port)
        } else {
            options.serverStream = nil
            Logger(label: "t2u").error(
                "T2U_TCP_PORT must be a port 0...65535 (0: no TCP fallback); the TCP/TLS fallback stays off",
                metadata: ["T2U_TCP_PORT": "\(text)"])
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(validatingCString: value)
}
