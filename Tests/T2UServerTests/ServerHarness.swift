import NIOCore
import T2UCore

@testable import T2UServer

/// Drives a `ServerCore` on a virtual clock with raw datagrams and collects what it sends.
final class ServerHarness {
    struct Output {
        var bytes: [UInt8]
        var transmit: ServerTransmit
        var message: SignalingMessage? { try? SignalingMessage.parse(ByteBuffer(bytes: bytes)) }
    }

    var now = Instant(nanoseconds: 1_000_000_000_000)
    let core: ServerCore
    let entropy = SeededEntropy(seed: 42)

    init(config: ServerConfig = ServerConfig(), registry: Registry = InMemoryRegistry()) {
        core = ServerCore(config: config, registry: registry, entropy: entropy, now: now)
    }

    @discardableResult
    func sendRaw(_ bytes: [UInt8], from source: NetAddress, on socket: ServerSocket = .main) -> [Output] {
        core.receive(ByteBuffer(bytes: bytes), from: source, on: socket, now: now)
        return drain()
    }

    @discardableResult
    func send(_ message: SignalingMessage, from source: NetAddress, on socket: ServerSocket = .main) -> [Output] {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return sendRaw(Array(buffer.readableBytesView), from: source, on: socket)
    }

    /// The single reply to `message`, parsed.
    func request(_ message: SignalingMessage, from source: NetAddress) -> SignalingMessage? {
        let out = send(message, from: source)
        guard out.count == 1, out[0].transmit.destination == source else { return nil }
        return out[0].message
    }

    @discardableResult
    func advance(by delta: Nanos) -> [Output] {
        let end = now + delta
        var out: [Output] = []
        while true {
            let deadline = core.nextDeadline() ?? .distantFuture
            if deadline > end { break }
            now = max(now, deadline)
            core.handleTimeout(now: now)
            out += drain()
        }
        now = end
        return out
    }

    func drain() -> [Output] {
        var out: [Output] = []
        while true {
            var buffer = ByteBuffer()
            guard let transmit = core.pollTransmit(now: now, into: &buffer) else { return out }
            out.append(Output(bytes: Array(buffer.readableBytesView), transmit: transmit))
        }
    }

    func cookie(for source: NetAddress, role: SignalingRole = .device) -> [UInt8]? {
        guard case .challenge(_, let cookie, _)? = request(.hello(requestID: 1, role: role), from: source) else { return nil }
        return cookie
    }

    /// HELLO + REGISTER; returns the REGISTER's reply.
    func register(_ role: SignalingRole, uuid: String, from source: NetAddress, key: String? = nil, publicKey: [UInt8]? = nil,
                  extra: [UInt8] = [], candidates: [NetAddress] = []) -> SignalingMessage? {
        guard let cookie = cookie(for: source, role: role) else { return nil }
        let publicKey = publicKey ?? [UInt8](repeating: role == .device ? 0xD0 : 0xC0, count: 32)
        let proof = key.map { SignalingProof.make(serverKey: $0, cookie: cookie, role: role, uuid: uuid, publicKey: publicKey) }
        return request(.register(.init(requestID: 2, role: role, uuid: uuid, publicKey: publicKey, extra: extra,
                                       candidates: candidates, cookie: cookie, proof: proof)), from: source)
    }

    /// Registers and returns the session token (nil on failure).
    func token(_ role: SignalingRole, uuid: String, from source: NetAddress, key: String? = nil, extra: [UInt8] = [],
               candidates: [NetAddress] = []) -> UInt64? {
        guard case .registered(_, _, _, let token)? = register(role, uuid: uuid, from: source, key: key, extra: extra,
                                                               candidates: candidates) else { return nil }
        return token
    }
}

enum Addr {
    static let device = NetAddress(ipv4: (198, 51, 100, 10), port: 50_000)
    static let deviceLAN = NetAddress(ipv4: (192, 168, 1, 20), port: 50_000)
    static let client = NetAddress(ipv4: (203, 0, 113, 5), port: 61_000)
    static let stranger = NetAddress(ipv4: (192, 0, 2, 99), port: 1234)
}

/// Transport packet shapes the relay routes (only the clear header matters to it).
enum TransportBytes {
    static func initiation(initiatorCID: UInt64, payload: Int = 100) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x01), initiatorCID)
        b.writeRepeatingByte(0x11, count: payload)
        return Array(b.readableBytesView)
    }

    static func response(initiatorCID: UInt64, responderCID: UInt64, payload: Int = 60) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x02), initiatorCID, responderCID)
        b.writeRepeatingByte(0x22, count: payload)
        return Array(b.readableBytesView)
    }

    static func data(destinationCID: UInt64, packetNumber: UInt64 = 1, payload: Int = 200) -> [UInt8] {
        var b = ByteBuffer()
        b.writeMultipleIntegers(UInt8(0x04), UInt8(0), destinationCID, packetNumber)
        b.writeRepeatingByte(0x44, count: payload)
        return Array(b.readableBytesView)
    }
}

/// Valid request shapes and a small seeded mutator for the server's abuse tests (the core's
/// fuller `Mutator` lives in T2UCoreTests, which this target cannot import).
enum ServerSamples {
    static let key = [UInt8](repeating: 0xAB, count: 32)
    static let cookie = [UInt8](repeating: 3, count: SignalingLimits.cookieLength)

    static func requests(token: UInt64) -> [[UInt8]] {
        let messages: [SignalingMessage] = [
            .hello(requestID: 1, role: .device),
            .probe(requestID: 2),
            .keepalive(requestID: 3, token: token),
            .keepalive(requestID: 3, token: 12345),
            .query(requestID: 4, token: token, uuid: "CAM-1"),
            .connect(.init(requestID: 5, token: token, uuid: "CAM-1", clientConnectionID: ConnectionID(rawValue: 5), candidates: [])),
            .register(.init(requestID: 6, role: .device, uuid: "CAM-2", publicKey: key, extra: [UInt8](repeating: 1, count: 300),
                            candidates: [], cookie: cookie, proof: nil)),
            .introduceAck(requestID: 7, token: token, sessionID: 1),
            .search(requestID: 8, uuid: nil),
            .pathReport(requestID: 9, token: token, sessionID: 1, path: .direct),
        ]
        return messages.map(bytes)
    }

    static func bytes(_ message: SignalingMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func mutate(_ input: [UInt8], _ entropy: SeededEntropy) -> [UInt8] {
        var bytes = input
        for _ in 0...entropy.next(below: 3) {
            let count = UInt64(bytes.count)
            switch entropy.next(below: 4) {
            case 0 where count > 0: bytes[Int(entropy.next(below: count))] ^= 1 << UInt8(entropy.next(below: 8))
            case 1 where count > 0: bytes.removeLast(Int(entropy.next(below: count + 1)))
            case 2 where count > 0: bytes[Int(entropy.next(below: count))] = UInt8(truncatingIfNeeded: entropy.nextUInt64())
            default: bytes += entropy.bytes(Int(entropy.next(below: 16)))
            }
        }
        return bytes
    }
}
