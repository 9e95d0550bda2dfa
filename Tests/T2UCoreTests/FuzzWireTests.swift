// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// Bounded, seeded fuzzing of the wire decoders: random bytes and mutated valid encodings must
/// never crash, an error must not consume input, and every decoded value must re-encode to bytes
/// that decode to the same value. A failure message names the seed and iteration; rerun with the
/// same seed to reproduce.
@Suite struct FuzzWireTests {
    static let iterations = 20_000

    /// Valid frame sequences (a packet's plaintext) to mutate.
    static let frameCorpus: [[UInt8]] = {
        let frames = WireSamples.frames.filter { frame in
            if case .stream(let s) = frame { return s.data.readableBytes < 64 }  // keep inputs short
            if case .ack(let a) = frame { return a.ranges.count < 8 }
            return true
        }
        var corpus = frames.map { WireSamples.bytes($0) }
        let mutator = Mutator(seed: 0xC0FFEE)
        for _ in 0..<32 {  // a few multi-frame packets
            corpus.append((0..<3).flatMap { _ in WireSamples.bytes(mutator.element(of: frames)) })
        }
        return corpus
    }()

    /// Decodes frames until the input ends or an error; returns the first property violation.
    /// `decodedTypes` collects the type byte of each decoded frame (fuzzer coverage).
    static func checkFrameDecoding(_ bytes: [UInt8], decodedTypes: inout Set<UInt8>) -> String? {
        var buffer = ByteBuffer(bytes: bytes)
        while buffer.readableBytes > 0 {
            let before = buffer.readerIndex
            let frame: Frame
            do {
                frame = try FrameCodec.decode(from: &buffer)
            } catch {
                return buffer.readerIndex == before ? nil : "error \(error) consumed input"
            }
            guard buffer.readerIndex > before else { return "\(frame) consumed nothing" }
            var reencoded = ByteBuffer()
            FrameCodec.encode(frame, into: &reencoded)
            decodedTypes.insert(reencoded.getInteger(at: 0) ?? 0xFF)
            guard reencoded.readableBytes == FrameCodec.encodedLength(frame) else {
                return "\(frame): encodedLength \(FrameCodec.encodedLength(frame)) != \(reencoded.readableBytes)"
            }
            do {
                let again = try FrameCodec.decode(from: &reencoded)
                guard again == frame, reencoded.readableBytes == 0 else { return "\(frame) re-decoded as \(again)" }
            } catch {
                return "\(frame) re-encoded fails to decode: \(error)"
            }
        }
        return nil
    }

    /// A header that parses is canonical: writing it back gives the same 18 bytes.
    static func checkHeaderParsing(_ bytes: [UInt8]) -> String? {
        let buffer = ByteBuffer(bytes: bytes)
        guard let header = try? DataPacketHeader.parse(buffer) else { return nil }
        var written = ByteBuffer()
        header.write(into: &written)
        guard Array(written.readableBytesView) == Array(bytes.prefix(DataPacketHeader.length)) else {
            return "\(header) rewrites differently"
        }
        return nil
    }

    static func run(seed: UInt64, _ input: (Mutator) -> [UInt8], check: ([UInt8]) -> String?) {
        let mutator = Mutator(seed: seed)
        for iteration in 0..<iterations {
            let bytes = input(mutator)
            if let failure = check(bytes) {
                Issue.record("seed \(seed) iteration \(iteration) input \(bytes): \(failure)")
                return
            }
        }
    }

    static let typeBytes: Set<UInt8> = [
        0x00, 0x01, 0x02, 0x04, 0x08, 0x09, 0x10, 0x11, 0x12, 0x14, 0x15, 0x1a, 0x1b, 0x1c, 0x1e, 0x1f,
    ]

    @Test(arguments: [UInt64(1)])
    func framesFromRandomBytes(seed: UInt64) {
        // Sorted: a Set iterates in a different order in every process, and a fuzz run must repeat.
        let types = Self.typeBytes.sorted()
        var decodedTypes = Set<UInt8>()
        Self.run(
            seed: seed,
            { m in
                var bytes = m.randomBytes(maxLength: 48)
                // Mostly start with a known type so the random part reaches the field parsers.
                if !bytes.isEmpty, m.chance(3, in: 4) { bytes[0] = m.element(of: types) }
                return bytes
            }, check: { Self.checkFrameDecoding($0, decodedTypes: &decodedTypes) })
        #expect(decodedTypes == Self.typeBytes, "seed \(seed): fuzzer never decoded some frame types")
    }

    @Test(arguments: [UInt64(2)])
    func framesFromMutatedEncodings(seed: UInt64) {
        var decodedTypes = Set<UInt8>()
        Self.run(
            seed: seed,
            { m in
                m.mutate(m.element(of: Self.frameCorpus), donor: m.element(of: Self.frameCorpus))
            }, check: { Self.checkFrameDecoding($0, decodedTypes: &decodedTypes) })
        #expect(decodedTypes == Self.typeBytes, "seed \(seed): fuzzer never decoded some frame types")
    }

    /// A varint-range value whose encoding length is uniform over 1, 2, 4 and 8 bytes.
    static func randomVarInt(_ m: Mutator) -> UInt64 {
        let bits = [6, 14, 30, 62][m.int(below: 4)]
        return UInt64(m.int(below: Int.max)) & ((1 << UInt64(bits)) - 1)
    }

    static func randomFrame(_ m: Mutator) -> Frame {
        let v = { randomVarInt(m) }
        let id = { StreamID(rawValue: randomVarInt(m)) }
        switch m.int(below: 15) {
        case 0: return .padding(length: 1 + m.int(below: 40))
        case 1: return .ping
        case 2:
            var ranges: [ClosedRange<PacketNumber>] = []
            var upper = v()
            for _ in 0..<(1 + m.int(below: 12)) {
                let lower = upper - Swift.min(upper, m.chance(1, in: 2) ? UInt64(m.int(below: 5)) : v())
                ranges.append(lower...upper)
                guard lower >= 2 else { break }
                upper = lower - 2 - Swift.min(lower - 2, m.chance(1, in: 2) ? UInt64(m.int(below: 3)) : v())
            }
            return .ack(AckFrame(ackDelayMicros: v(), ranges: ranges))
        case 3:
            let data = m.randomBytes(maxLength: 40)
            let offset = Swift.min(v(), VarInt.max + 1 - UInt64(data.count))
            return WireSamples.stream(id: v(), offset: offset, data, fin: m.chance(1, in: 2))
        case 4: return .resetStream(id: id(), errorCode: v(), finalSize: v())
        case 5: return .maxData(v())
        case 6: return .maxStreamData(id: id(), maximum: v())
        case 7: return .maxStreams(v())
        case 8: return .dataBlocked(limit: v())
        case 9: return .streamDataBlocked(id: id(), limit: v())
        case 10: return .pathChallenge(UInt64(m.int(below: Int.max)) << 1 | UInt64(m.int(below: 2)))
        case 11: return .pathResponse(UInt64(m.int(below: Int.max)) << 1)
        case 12:
            return .keyUpdate(
                KeyUpdateFrame(isResponse: m.chance(1, in: 2), sequence: v(), publicKey: m.randomBytes(count: 32)))
        default:
            let scalars = (0..<m.int(below: 100)).map { _ in
                [Character("a"), "é", "✓", "🚀", "\u{0}"][m.int(below: 5)]
            }
            return .close(errorCode: v(), reason: String(scalars))
        }
    }

    /// Structure-aware: random valid frames (any field value) encode to `encodedLength` bytes
    /// and decode to themselves, also when packed several to a buffer.
    @Test(arguments: [UInt64(4)])
    func framesFromRandomValuesRoundTrip(seed: UInt64) {
        let m = Mutator(seed: seed)
        for iteration in 0..<Self.iterations {
            var frames = (0..<(1 + m.int(below: 3))).map { _ in Self.randomFrame(m) }
            // Adjacent padding merges on decode; keep at most one, last.
            frames.removeAll { if case .padding = $0 { true } else { false } }
            if m.chance(1, in: 8) { frames.append(.padding(length: 1 + m.int(below: 30))) }
            if case .close(let code, let reason)? = frames.last, reason.utf8.count > 255 {
                frames.removeLast()  // cut on encode by design; covered by unit tests
                frames.append(.close(errorCode: code, reason: ""))
            }
            var buffer = WireSamples.encode(frames)
            let expectedLength = frames.reduce(0) { $0 + FrameCodec.encodedLength($1) }
            var decoded: [Frame] = []
            do {
                while buffer.readableBytes > 0 { decoded.append(try FrameCodec.decode(from: &buffer)) }
            } catch {
                Issue.record("seed \(seed) iteration \(iteration): \(frames) failed to decode: \(error)")
                return
            }
            guard decoded == frames, WireSamples.encode(frames).readableBytes == expectedLength else {
                Issue.record("seed \(seed) iteration \(iteration): \(frames) decoded as \(decoded)")
                return
            }
        }
    }

    @Test(arguments: [UInt64(3)])
    func dataPacketHeaderFromRandomAndMutatedBytes(seed: UInt64) {
        var valid = ByteBuffer()
        DataPacketHeader(keyPhase: 1, destinationConnectionID: ConnectionID(rawValue: 0xABCD), packetNumber: 99)
            .write(into: &valid)
        let validBytes = Array(valid.readableBytesView) + [1, 2, 3]
        var parsed = 0
        Self.run(
            seed: seed,
            { m in
                m.chance(1, in: 4) ? m.randomBytes(maxLength: 24) : m.mutate(validBytes)
            },
            check: { bytes in
                if (try? DataPacketHeader.parse(ByteBuffer(bytes: bytes))) != nil { parsed += 1 }
                return Self.checkHeaderParsing(bytes)
            })
        // The mutated inputs must exercise the success path too, not only rejections.
        #expect(parsed > Self.iterations / 20, "seed \(seed): only \(parsed) inputs parsed")
    }

    @Test func mutatorIsDeterministicPerSeed() {
        let a = Mutator(seed: 77)
        let b = Mutator(seed: 77)
        let c = Mutator(seed: 78)
        let input: [UInt8] = Array(0..<32)
        let runA = (0..<50).map { _ in a.mutate(input, donor: [9, 9, 9]) }
        let runB = (0..<50).map { _ in b.mutate(input, donor: [9, 9, 9]) }
        let runC = (0..<50).map { _ in c.mutate(input, donor: [9, 9, 9]) }
        #expect(runA == runB)
        #expect(runA != runC)
        #expect(runA.contains { $0 != input })
    }
}
