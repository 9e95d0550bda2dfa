// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// One auxiliary UDP socket of an `EndpointDriver` (NAT traversal: each socket gets its own
/// NAT mapping). Its datagrams go to the driver's one `TransportEndpoint`. Confined to the
/// driver's loop.
final class AuxiliarySocket: UDPDatagramSink {
    let index: Int
    weak var driver: EndpointDriver?
    var udp: UDPEndpoint?
    /// Closed before its bind completed.
    var discarded = false

    init(index: Int, driver: EndpointDriver) {
        self.index = index
        self.driver = driver
    }

    func udpEndpoint(_ endpoint: UDPEndpoint, received datagram: ByteBuffer, from address: NetAddress) {
        driver?.auxiliaryReceived(datagram, from: address, socket: index)
    }

    func udpEndpointReadBatchComplete(_ endpoint: UDPEndpoint) {
        driver?.requestStep()
    }

    func udpEndpoint(_ endpoint: UDPEndpoint, writabilityChanged writable: Bool) {}

    func udpEndpoint(_ endpoint: UDPEndpoint, sendFailed failure: SendFailure) {
        driver?.onSendFailure?(failure, index)
    }
}

extension EndpointDriver {
    /// Small buffers: an auxiliary socket carries punches and, at most, one session.
    static func auxiliaryConfiguration(host: String) -> UDPEndpoint.Configuration {
        var configuration = UDPEndpoint.Configuration()
        configuration.host = host
        configuration.port = 0
        configuration.socketBufferSize = 256 << 10
        configuration.vectorReadMessageCount = 4
        configuration.segmentationOffload = .disabled
        configuration.receiveOffload = .disabled
        return configuration
    }

    /// Opens `count` auxiliary sockets on the main socket's host; the future carries the
    /// indices of those that bound (>= 1, never reused). Sockets that fail to bind are skipped.
    package func openAuxiliarySockets(count: Int) -> EventLoopFuture<[Int]> {
        eventLoop.preconditionInEventLoop()
        var futures: [EventLoopFuture<Int?>] = []
        for _ in 0..<min(max(0, count), auxiliarySocketsAvailable) {
            let socket = AuxiliarySocket(index: nextAuxiliaryIndex, driver: self)
            nextAuxiliaryIndex += 1
            auxiliary[socket.index] = socket
            let bound = UDPEndpoint.bind(
                on: eventLoop, configuration: Self.auxiliaryConfiguration(host: mainHost), sink: socket
            )
            .assumeIsolated()
            .map { udp -> Int? in
                if socket.discarded {
                    _ = udp.close()
                    return nil
                }
                socket.udp = udp
                udp.sendFaultInjector = self.sendFaultInjector
                return socket.index
            }
            .recover { _ in
                self.auxiliary[socket.index] = nil
                return nil
            }
            futures.append(bound.nonisolated())
        }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { $0.compactMap { $0 } }
    }

    /// Closes the given auxiliary sockets and forgets routes through them.
    package func closeAuxiliarySockets(_ indices: [Int]) {
        eventLoop.preconditionInEventLoop()
        var closing = Set<Int>()
        for index in indices {
            guard let socket = auxiliary.removeValue(forKey: index) else { continue }
            closing.insert(index)
            socket.discarded = true
            if let udp = socket.udp { _ = udp.close() }
            socket.udp = nil
        }
        if !closing.isEmpty { routes = routes.filter { !closing.contains($0.value) } }
    }

    func closeAllAuxiliary() -> EventLoopFuture<Void> {
        let sockets = auxiliary.values
        auxiliary.removeAll()
        routes.removeAll()
        var futures: [EventLoopFuture<Void>] = []
        for socket in sockets {
            socket.discarded = true
            if let udp = socket.udp { futures.append(udp.close()) }
            socket.udp = nil
        }
        return EventLoopFuture.andAllComplete(futures, on: eventLoop)
    }

    /// The local address of auxiliary socket `index` (nil if closed or still binding).
    package func auxiliaryAddress(_ index: Int) -> SocketAddress? {
        auxiliary[index]?.udp?.localAddress
    }

    package var auxiliarySocketCount: Int { auxiliary.count }

    /// Bound on auxiliary sockets per driver (file descriptors; each birthday plan takes K).
    package static let maxAuxiliarySockets = 512

    /// How many more auxiliary sockets may open now.
    package var auxiliarySocketsAvailable: Int { max(0, Self.maxAuxiliarySockets - auxiliary.count) }

    /// The socket datagrams to `address` leave from: 0 main, else an auxiliary index.
    package func route(to address: NetAddress) -> Int {
        routes.isEmpty ? 0 : routes[address] ?? 0
    }

    /// Sends the next datagrams to `address` through `socket` (0: the main socket).
    package func setRoute(_ address: NetAddress, socket: Int) {
        eventLoop.preconditionInEventLoop()
        if socket == 0 || auxiliary[socket] == nil { routes[address] = nil } else { routes[address] = socket }
    }

    /// Sends one raw datagram (a punch) from `socket` (0 main); false if that socket is gone.
    @discardableResult
    package func send(_ datagram: ByteBuffer, to address: NetAddress, socket: Int) -> Bool {
        eventLoop.preconditionInEventLoop()
        let udp = socket == 0 ? self.udp : auxiliary[socket]?.udp
        guard let udp else { return false }
        udp.enqueue(datagram, to: address)
        udp.flush()
        return true
    }

    /// Auxiliary sockets whose index is among `indices` and that some route uses.
    package func auxiliarySocketsInUse() -> Set<Int> {
        Set(routes.values)
    }
}
