// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// One valid instance of every signaling message (IPv4 and IPv6, empty and full fields).
enum SignalingSamples {
    static let v4 = NetAddress(ipv4: (203, 0, 113, 7), port: 40_000)
    static let v6 = NetAddress(host: .v6(0x2001_0db8_0000_0001, 0x0000_0000_0000_0042), port: 7000)
    static let key = [UInt8](repeating: 0xAB, count: 32)
    static let cookie = Array(UInt8(0)..<20)

    static let messages: [SignalingMessage] = [
        .hello(requestID: 1, role: .device),
        .hello(requestID: .max, role: .client),
        .challenge(requestID: 2, cookie: cookie, serverPublicKey: key),
        .register(
            .init(
                requestID: 3, role: .device, cookie: cookie, ephemeral: key,
                encryptedStatic: [UInt8](repeating: 7, count: 48),
                encryptedPayload: [UInt8](repeating: 9, count: 60))),
        .register(
            .init(
                requestID: 4, role: .client, cookie: cookie, ephemeral: key,
                encryptedStatic: [UInt8](repeating: 7, count: 48),
                encryptedPayload: [UInt8](repeating: 1, count: SignalingLimits.tagLength))),
        .registered(requestID: 5, ephemeral: key, encryptedPayload: [UInt8](repeating: 5, count: 34)),
        .sealed(.init(channel: 0x0123_4567_89AB_CDEF, counter: 0, ciphertext: [UInt8](repeating: 3, count: 40))),
        .sealed(.init(channel: 1, counter: .max, ciphertext: [UInt8](repeating: 3, count: SignalingLimits.tagLength))),
        .error(requestID: 6, code: .serverKeyRejected),
        .error(requestID: 6, code: SignalingErrorCode(rawValue: 200)),
        .keepalive(requestID: 7, token: 99),
        .keepaliveAck(requestID: 8, observed: v4),
        .query(requestID: 9, token: 1, uuid: "CAM-~!#"),
        .queryResult(.init(requestID: 10, online: true, publicAddress: v4, publicKey: key, extra: [1, 2, 3])),
        .queryResult(.init(requestID: 10, online: false, publicAddress: nil, publicKey: [], extra: [])),
        .connect(
            .init(
                requestID: 11, token: 5, uuid: "CAM-0001", clientConnectionID: ConnectionID(rawValue: 0xFEED),
                candidates: [v4])),
        .connectResult(
            .init(
                requestID: 12, online: true, sessionID: 77, devicePublicKey: key, deviceCandidates: [v4, v6],
                relayAllowed: true)),
        .introduce(
            .init(
                requestID: 13, sessionID: 77, clientConnectionID: ConnectionID(rawValue: 0xFEED),
                clientPublicAddress: v6, clientCandidates: [v4], relayAllowed: false)),
        .introduceAck(requestID: 14, token: 5, sessionID: 77),
        .probe(requestID: 15),
        .probeFromOtherPort(requestID: 15),
        .probeResult(requestID: 16, observed: v4),
        .search(requestID: 17, uuid: nil),
        .search(requestID: 18, uuid: "CAM-0001"),
        .searchReply(requestID: 19, uuid: "CAM-0001", address: v4),
        // The appended NAT fields.
        .keepalive(requestID: 21, token: 99, nat: .endpointIndependent),
        .connect(
            .init(
                requestID: 22, token: 5, uuid: "CAM-0001", clientConnectionID: ConnectionID(rawValue: 1),
                candidates: [], nat: .endpointDependent(delta: 31_000))),
        .connectResult(
            .init(
                requestID: 23, online: true, sessionID: 78, devicePublicKey: key, deviceCandidates: [v6],
                relayAllowed: false, deviceNAT: .none)),
        .introduce(
            .init(
                requestID: 24, sessionID: 78, clientConnectionID: ConnectionID(rawValue: 1), clientPublicAddress: v4,
                clientCandidates: [], relayAllowed: true, clientNAT: .endpointDependent(delta: 1))),
        .pathReport(requestID: 25, token: 0x0123_4567_89AB_CDEF, sessionID: 77, path: .direct),
        .pathReport(requestID: 26, token: 1, sessionID: .max, path: .failed),
        .relayUnknown(requestID: 0, connectionID: ConnectionID(rawValue: 0xFEED)),
        .relayUnknown(requestID: 27, connectionID: ConnectionID(rawValue: .max)),
        // The appended resume field of CONNECT (after NAT).
        .connect(
            .init(
                requestID: 28, token: 5, uuid: "CAM-0001", clientConnectionID: ConnectionID(rawValue: 0xC1),
                candidates: [v4], nat: .endpointIndependent, resumeDeviceConnectionID: ConnectionID(rawValue: 0xDE))),
        .connect(
            .init(
                requestID: 29, token: 5, uuid: "CAM-0001", clientConnectionID: ConnectionID(rawValue: 0xC1),
                candidates: [], nat: .none, resumeDeviceConnectionID: ConnectionID(rawValue: 0xDE),
                resumeDeviceAddress: v6)),
        // The appended punch delays (after NAT; punch order).
        .connectResult(
            .init(
                requestID: 30, online: true, sessionID: 79, devicePublicKey: key, deviceCandidates: [v4],
                relayAllowed: true, deviceNAT: .endpointIndependent, punchDelay: .milliseconds(500))),
        .introduce(
            .init(
                requestID: 31, sessionID: 79, clientConnectionID: ConnectionID(rawValue: 2), clientPublicAddress: v4,
                clientCandidates: [v4], relayAllowed: true, clientNAT: .endpointIndependent,
                punchDelay: .milliseconds(2000))),
    ]

    /// A CONNECT_RESULT or INTRODUCE with a punch delay (appended after NAT).
    static func ordersPunches(_ message: SignalingMessage) -> Bool {
        switch message {
        case .connectResult(let m): m.punchDelay > .zero
        case .introduce(let m): m.punchDelay > .zero
        default: false
        }
    }

    /// Types whose last field is the appended NAT behaviour (cut there: an older sender).
    static let natTypes: Set<SignalingMessageType> = [.keepalive, .connect, .connectResult, .introduce]

    /// Types that end in an AEAD ciphertext taking the rest of the datagram (at least a tag).
    static let encryptedTypes: Set<SignalingMessageType> = [.register, .registered, .sealed]

    static func bytes(_ message: SignalingMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func parse(_ bytes: [UInt8]) throws(SignalingParseError) -> SignalingMessage {
        try SignalingMessage.parse(ByteBuffer(bytes: bytes))
    }

    static let paddedTypes: Set<SignalingMessageType> = [.hello, .probe, .search]

    /// A CONNECT with the resume field (appended after NAT).
    static func resumes(_ message: SignalingMessage) -> Bool {
        if case .connect(let m) = message { m.resumeDeviceConnectionID != nil } else { false }
    }
}

@Suite struct SignalingCodecTests {
    @Test func everyMessageTypeHasASample() {
        let covered = Set(SignalingSamples.messages.map(\.type))
        #expect(covered == Set(SignalingMessageType.allCases))
    }

    @Test func roundTripsEveryMessage() throws {
        for message in SignalingSamples.messages {
            let bytes = SignalingSamples.bytes(message)
            #expect(bytes.first == message.type.rawValue)
            #expect(SignalingMessageType.reservedRange.contains(bytes[0]))
            #expect(try SignalingSamples.parse(bytes) == message, "\(message)")
            #expect(message.requestID == (try SignalingSamples.parse(bytes)).requestID)
        }
    }

    @Test func unverifiedRequestsArePaddedAboveTheirReplies() {
        for message in SignalingSamples.messages where SignalingSamples.paddedTypes.contains(message.type) {
            #expect(SignalingSamples.bytes(message).count >= SignalingLimits.minPaddedRequest)
        }
        // The largest replies a server sends to an unverified source.
        let challenge = SignalingSamples.bytes(
            .challenge(requestID: 1, cookie: SignalingSamples.cookie, serverPublicKey: SignalingSamples.key))
        let probe = SignalingSamples.bytes(.probeResult(requestID: 1, observed: SignalingSamples.v6))
        #expect(challenge.count == 57)
        #expect(max(challenge.count, probe.count) <= SignalingLimits.minPaddedRequest)
        // A bare ERROR (bad cookie, unknown channel) is smaller than any REGISTER or SEALED.
        let error = SignalingSamples.bytes(.error(requestID: 1, code: .unknownSession))
        #expect(error.count < SignalingLimits.sealedHeaderLength + SignalingLimits.tagLength)
    }

    @Test func everyTruncationIsATypedError() {
        for message in SignalingSamples.messages where !SignalingSamples.paddedTypes.contains(message.type) {
            let bytes = SignalingSamples.bytes(message)
            var olderLayouts: Set<Int> = []
            if case .connect(let m) = message, m.resumeDeviceConnectionID != nil {
                // Each appended field may be absent: address, resume ID, NAT.
                let resumeEnd =
                    bytes.count
                    - (m.resumeDeviceAddress.map {
                        SignalingSamples.bytes(.probeResult(requestID: 0, observed: $0)).count - 5
                    } ?? 0)
                olderLayouts = [resumeEnd, resumeEnd - 8, resumeEnd - 8 - NATBehavior.wireLength]
            } else if SignalingSamples.ordersPunches(message) {
                olderLayouts = [bytes.count - 2, bytes.count - 2 - NATBehavior.wireLength]
            } else if SignalingSamples.natTypes.contains(message.type) {
                olderLayouts = [bytes.count - NATBehavior.wireLength]
            } else if SignalingSamples.encryptedTypes.contains(message.type) {
                // The ciphertext is the rest of the datagram: any cut leaving a tag parses (and fails to open).
                let ciphertext: Int
                switch message {
                case .register(let m): ciphertext = m.encryptedPayload.count
                case .registered(_, _, let payload): ciphertext = payload.count
                case .sealed(let m): ciphertext = m.ciphertext.count
                default: ciphertext = 0
                }
                olderLayouts = Set((bytes.count - ciphertext + SignalingLimits.tagLength)..<bytes.count)
            }
            for length in 0..<bytes.count where !olderLayouts.contains(length) {
                #expect(throws: SignalingParseError.self, "\(message) cut at \(length)") {
                    try SignalingSamples.parse(Array(bytes[..<length]))
                }
            }
        }
    }

    @Test func punchDelaysAreWrittenOnlyWhenSetAndCappedWhenRead() throws {
        // The example of docs/protocol/messages.md: no delay, the layout older agents know.
        let example = SignalingMessage.introduce(
            .init(
                requestID: 0x0A0B_0C0D, sessionID: 0x99AA_BBCC_DDEE_FF00,
                clientConnectionID: ConnectionID(rawValue: 0x0102_0304_0506_0708),
                clientPublicAddress: NetAddress(ipv4: (198, 51, 100, 7), port: 4000),
                clientCandidates: [NetAddress(ipv4: (192, 168, 1, 20), port: 4000)], relayAllowed: true,
                clientNAT: .endpointIndependent))
        let hex = "2b0a0b0c0d99aabbccddeeff0001020304050607080104c63364070fa00104c0a801140fa00200000000"
        #expect(SignalingSamples.bytes(example).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == hex)
        guard case .introduce(var ordered) = example else { return }
        ordered.punchDelay = .milliseconds(500)
        let bytes = SignalingSamples.bytes(.introduce(ordered))
        #expect(Array(bytes.suffix(2)) == [0x01, 0xF4] && bytes.count == hex.count / 2 + 2)
        var huge = bytes
        huge[huge.count - 2] = 0xFF
        huge[huge.count - 1] = 0xFF
        guard case .introduce(let capped) = try SignalingSamples.parse(huge) else { throw CancellationError() }
        #expect(capped.punchDelay == PunchOrder.maxWait)
    }

    @Test func probeFlagsLiveInTheFirstPaddingByte() throws {
        let plain = SignalingSamples.bytes(.probe(requestID: 7))
        let flagged = SignalingSamples.bytes(.probeFromOtherPort(requestID: 7))
        #expect(plain.count == SignalingLimits.minPaddedRequest && flagged.count == plain.count)
        #expect(flagged[5] == 0x01 && plain[5] == 0x00 && flagged[6...] == plain[6...])
        // Reserved bits change nothing; a PROBE cut right after its request ID has no flags.
        var reserved = plain
        reserved[5] = 0xFE
        #expect(try SignalingSamples.parse(reserved) == .probe(requestID: 7))
        reserved[5] = 0xFF
        #expect(try SignalingSamples.parse(reserved) == .probeFromOtherPort(requestID: 7))
        #expect(try SignalingSamples.parse(Array(plain[..<5])) == .probe(requestID: 7))
    }

    @Test func rejectsOutOfBoundsFields() {
        #expect(throws: SignalingParseError.unknownMessageType(0x5F)) {
            try SignalingSamples.parse([0x5F, 0, 0, 0, 1])
        }
        #expect(throws: SignalingParseError.invalid("role")) { try SignalingSamples.parse([0x20, 0, 0, 0, 1, 9]) }
        // uuid longer than 64 bytes
        var query = [UInt8]([0x27, 0, 0, 0, 1]) + [UInt8](repeating: 0, count: 8) + [65]
        query += [UInt8](repeating: 0x41, count: 65)
        #expect(throws: SignalingParseError.invalid("uuid")) { try SignalingSamples.parse(query) }
        // invalid UTF-8 uuid
        let badUTF8 = [UInt8]([0x27, 0, 0, 0, 1]) + [UInt8](repeating: 0, count: 8) + [2, 0xC3, 0x28]
        #expect(throws: SignalingParseError.invalid("uuid")) { try SignalingSamples.parse(badUTF8) }
        // UUIDs are printable ASCII without spaces: a space, a control byte, UTF-8 beyond ASCII.
        for uuid in [[0x41, 0x20, 0x42], [0x41, 0x0A], [0xC3, 0xA9], [0x7F]] as [[UInt8]] {
            let bytes = [UInt8]([0x27, 0, 0, 0, 1]) + [UInt8](repeating: 0, count: 8) + [UInt8(uuid.count)] + uuid
            #expect(throws: SignalingParseError.invalid("uuid")) { try SignalingSamples.parse(bytes) }
            let search = [UInt8]([0x2F, 0, 0, 0, 1, UInt8(uuid.count)]) + uuid
            #expect(throws: SignalingParseError.invalid("uuid")) { try SignalingSamples.parse(search) }
        }
        // An encrypted field shorter than its tag, or longer than the bound.
        #expect(throws: SignalingParseError.truncated("ciphertext")) {
            try SignalingSamples.parse([0x33] + [UInt8](repeating: 0, count: 16) + [UInt8](repeating: 1, count: 15))
        }
        #expect(throws: SignalingParseError.invalid("ciphertext")) {
            try SignalingSamples.parse(
                [0x33] + [UInt8](repeating: 0, count: 16)
                    + [UInt8](repeating: 1, count: SignalingLimits.maxEncryptedLength + 1))
        }
        // 9 candidates
        let connect = [UInt8]([0x29, 0, 0, 0, 1]) + [UInt8](repeating: 0, count: 16) + [1, 0x41, 9]
        #expect(throws: SignalingParseError.invalid("candidates")) { try SignalingSamples.parse(connect) }
        // path kinds outside 1...4
        for path in [UInt8(0), 5, 0xFF] {
            let report = [UInt8]([0x31, 0, 0, 0, 1]) + [UInt8](repeating: 0, count: 16) + [path]
            #expect(throws: SignalingParseError.invalid("path")) { try SignalingSamples.parse(report) }
        }
        // a resume naming connection ID 0
        var resume = SignalingSamples.bytes(
            .connect(
                .init(
                    requestID: 1, token: 1, uuid: "A", clientConnectionID: ConnectionID(rawValue: 1),
                    candidates: [], resumeDeviceConnectionID: ConnectionID(rawValue: 2))))
        resume.replaceSubrange((resume.count - 8)..., with: [UInt8](repeating: 0, count: 8))
        #expect(throws: SignalingParseError.invalid("resume cid")) { try SignalingSamples.parse(resume) }
        // address family 5
        #expect(throws: SignalingParseError.invalid("observed")) {
            try SignalingSamples.parse([0x26, 0, 0, 0, 1, 5, 1, 2, 3, 4, 0, 1])
        }
    }

    @Test func uuidRuleIsOneSharedValidator() {
        #expect(DeviceUUID.isValid("CAM-0001"))
        #expect(DeviceUUID.isValid(String(repeating: "~", count: 64)))
        #expect(!DeviceUUID.isValid(""))
        #expect(!DeviceUUID.isValid(String(repeating: "u", count: 65)))
        #expect(!DeviceUUID.isValid("a b"))
        #expect(!DeviceUUID.isValid("設備"))
        #expect(!DeviceUUID.isValid("a\u{7F}"))
    }
}

/// Seeded fuzzing of the signaling parser: no crash, typed errors only, and whatever parses
/// re-encodes to bytes that parse to the same message.
@Suite struct FuzzSignalingTests {
    static let iterations = 20_000

    @Test(arguments: [UInt64(0x5167_0001), 0x5167_0002])
    func mutatedMessagesNeverCrashAndRoundTrip(seed: UInt64) {
        let mutator = Mutator(seed: seed)
        let corpus = SignalingSamples.messages.map(SignalingSamples.bytes)
        var parsed = 0
        var parsedTypes = Set<SignalingMessageType>()
        for iteration in 0..<Self.iterations {
            let input =
                mutator.chance(1, in: 20)
                ? [mutator.element(of: Array(SignalingMessageType.reservedRange))] + mutator.randomBytes(maxLength: 80)
                : mutator.mutate(mutator.element(of: corpus), donor: mutator.element(of: corpus))
            let message: SignalingMessage
            do {
                message = try SignalingSamples.parse(input)
            } catch {
                continue
            }
            parsed += 1
            parsedTypes.insert(message.type)
            let again = try? SignalingSamples.parse(SignalingSamples.bytes(message))
            #expect(again == message, "seed \(seed) iteration \(iteration): \(input)")
            if again != message { return }
        }
        // The fuzzer exercised the decoders, not only their first check.
        #expect(parsed > Self.iterations / 20, "seed \(seed)")
        #expect(parsedTypes.count >= 12, "seed \(seed): \(parsedTypes)")
    }
}
