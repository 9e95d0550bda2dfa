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
    static func checkFrameDecoding(_ bytes: [UInt8]) -> String? {
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

    @Test(arguments: [UInt64(1)])
    func framesFromRandomBytes(seed: UInt64) {
        let typeBytes: [UInt8] = [0x00, 0x01, 0x02, 0x04, 0x08, 0x09, 0x10, 0x11, 0x12, 0x14, 0x15, 0x1a, 0x1b, 0x1c]
        Self.run(seed: seed, { m in
            var bytes = m.randomBytes(maxLength: 48)
            // Mostly start with a known type so the random part reaches the field parsers.
            if !bytes.isEmpty, m.chance(3, in: 4) { bytes[0] = m.element(of: typeBytes) }
            return bytes
        }, check: Self.checkFrameDecoding)
    }

    @Test(arguments: [UInt64(2)])
    func framesFromMutatedEncodings(seed: UInt64) {
        Self.run(seed: seed, { m in
            m.mutate(m.element(of: Self.frameCorpus), donor: m.element(of: Self.frameCorpus))
        }, check: Self.checkFrameDecoding)
    }

    @Test(arguments: [UInt64(3)])
    func dataPacketHeaderFromRandomAndMutatedBytes(seed: UInt64) {
        var valid = ByteBuffer()
        DataPacketHeader(keyPhase: 1, destinationConnectionID: ConnectionID(rawValue: 0xABCD), packetNumber: 99)
            .write(into: &valid)
        let validBytes = Array(valid.readableBytesView) + [1, 2, 3]
        var parsed = 0
        Self.run(seed: seed, { m in
            m.chance(1, in: 4) ? m.randomBytes(maxLength: 24) : m.mutate(validBytes)
        }, check: { bytes in
            if (try? DataPacketHeader.parse(ByteBuffer(bytes: bytes))) != nil { parsed += 1 }
            return Self.checkHeaderParsing(bytes)
        })
        // The mutated inputs must exercise the success path too, not only rejections.
        #expect(parsed > Self.iterations / 20, "seed \(seed): only \(parsed) inputs parsed")
    }

    @Test func mutatorIsDeterministicPerSeed() {
        let a = Mutator(seed: 77), b = Mutator(seed: 77), c = Mutator(seed: 78)
        let input: [UInt8] = Array(0..<32)
        let runA = (0..<50).map { _ in a.mutate(input, donor: [9, 9, 9]) }
        let runB = (0..<50).map { _ in b.mutate(input, donor: [9, 9, 9]) }
        let runC = (0..<50).map { _ in c.mutate(input, donor: [9, 9, 9]) }
        #expect(runA == runB)
        #expect(runA != runC)
        #expect(runA.contains { $0 != input })
    }
}
