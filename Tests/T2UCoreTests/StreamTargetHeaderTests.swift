// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

@Suite("StreamTargetHeader")
struct StreamTargetHeaderTests {
    static let samples: [StreamTargetHeader] = [
        .deviceSelf(port: 554),
        StreamTargetHeader(host: .address(.v4(0xC633_6405)), port: 80),  // 198.51.100.5
        StreamTargetHeader(host: .address(.v6(0x2001_0DB8_0000_0000, 0x0000_0000_0000_0001)), port: 65535),
        StreamTargetHeader(host: .address(.v4(0)), port: 1),
    ]

    static func bytes(_ header: StreamTargetHeader) -> [UInt8] {
        var buffer = header.encoded()
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    @Test("round trip: length, exact consumption, trailing payload left alone", arguments: samples)
    func roundTrip(header: StreamTargetHeader) throws {
        var buffer = ByteBuffer()
        let written = header.encode(into: &buffer)
        #expect(written == header.encodedLength)
        #expect((StreamTargetHeader.minEncodedLength...StreamTargetHeader.maxEncodedLength).contains(written))
        buffer.writeBytes([0xDE, 0xAD])
        #expect(try StreamTargetHeader.parse(&buffer) == .complete(header))
        #expect(buffer.readableBytes == 2)
    }

    @Test("wire layout of an IPv4 target")
    func layout() {
        let header = StreamTargetHeader(host: .address(.v4(0xCB00_7105)), port: 8080)
        #expect(Self.bytes(header) == [0xA1, 0x00, 4, 203, 0, 113, 5, 0x1F, 0x90])
        #expect(Self.bytes(.deviceSelf(port: 80)) == [0xA1, 0x00, 0, 0x00, 0x50])
    }

    @Test("every truncation is incomplete, untouched, and asks for no more than what is missing", arguments: samples)
    func truncation(header: StreamTargetHeader) throws {
        let full = Self.bytes(header)
        for length in 0..<full.count {
            var buffer = ByteBuffer(bytes: full[..<length])
            let result = try StreamTargetHeader.parse(&buffer)
            guard case .incomplete(let missing) = result else {
                Issue.record("prefix \(length) of \(full.count) parsed as \(result)")
                continue
            }
            #expect(missing > 0)
            #expect(length + missing <= full.count, "prefix \(length) asks for \(missing)")
            if length >= 3 { #expect(length + missing == full.count, "exact once the host type is known") }
            #expect(buffer.readableBytes == length)
        }
    }

    @Test("reading exactly `missing` bytes at a time never reads past the header", arguments: samples)
    func incrementalReads(header: StreamTargetHeader) throws {
        var stream = ByteBuffer(bytes: Self.bytes(header) + [1, 2, 3])
        var collected = ByteBuffer()
        var rounds = 0
        while true {
            rounds += 1
            switch try StreamTargetHeader.parse(&collected) {
            case .complete(let parsed):
                #expect(parsed == header)
                #expect(stream.readableBytes == 3, "payload after the header stays in the stream")
                #expect(rounds <= 4)
                return
            case .incomplete(let missing):
                guard var chunk = stream.readSlice(length: missing) else {
                    Issue.record("asked for \(missing), only \(stream.readableBytes) left")
                    return
                }
                collected.writeBuffer(&chunk)
            }
        }
    }

    @Test(
        "malformed headers throw typed errors",
        arguments: [
            ([0x41, 0, 0, 0, 80], StreamTargetHeaderError.badMagic(0x41)),
            ([0xA2, 0, 0, 0, 80], .unsupportedVersion(2)),
            ([0xA1, 0x80, 0, 0, 80], .unknownFlags(0x80)),
            ([0xA1, 0, 5, 0, 80], .unknownHostType(5)),
            ([0xA1, 0, 0, 0, 0], .zeroPort),
            ([0xA1, 0, 4, 10, 0, 0, 1, 0, 0], .zeroPort),
            ([0xA7], .unsupportedVersion(7)),  // rejected before the rest arrives
        ] as [([UInt8], StreamTargetHeaderError)])
    func malformed(bytes: [UInt8], expected: StreamTargetHeaderError) {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: expected) { try StreamTargetHeader.parse(&buffer) }
    }

    @Test("reply round trip for every status; truncation; unknown status", arguments: StreamTargetReply.Status.allCases)
    func reply(status: StreamTargetReply.Status) throws {
        var buffer = StreamTargetReply(status: status).encoded()
        #expect(buffer.readableBytes == StreamTargetReply.encodedLength)
        var first = buffer.getSlice(at: buffer.readerIndex, length: 1)!
        #expect(try StreamTargetReply.parse(&first) == .incomplete(missing: 1))
        var empty = ByteBuffer()
        #expect(try StreamTargetReply.parse(&empty) == .incomplete(missing: 2))
        buffer.writeInteger(UInt8(0x55))
        #expect(try StreamTargetReply.parse(&buffer) == .complete(StreamTargetReply(status: status)))
        #expect(buffer.readableBytes == 1)
    }

    @Test("malformed replies")
    func malformedReply() {
        var unknown = ByteBuffer(bytes: [0xA1, 0x7F])
        #expect(throws: StreamTargetHeaderError.unknownStatus(0x7F)) { try StreamTargetReply.parse(&unknown) }
        var magic = ByteBuffer(bytes: [0x00, 0x00])
        #expect(throws: StreamTargetHeaderError.badMagic(0)) { try StreamTargetReply.parse(&magic) }
    }

    @Test("fuzz: mutated headers and replies never crash; what parses re-encodes to the bytes consumed")
    func fuzz() throws {
        let seed: UInt64 = 0x7A26_E7
        let mutator = Mutator(seed: seed)
        let corpus = Self.samples.map(Self.bytes) + [[0xA1, 0x00], [0xA1, 0x02]]
        var completes = 0
        for iteration in 0..<30_000 {
            let input = mutator.mutate(mutator.element(of: corpus), donor: mutator.element(of: corpus))
            var buffer = ByteBuffer(bytes: input)
            do {
                switch try StreamTargetHeader.parse(&buffer) {
                case .complete(let header):
                    completes += 1
                    let consumed = input.count - buffer.readableBytes
                    #expect(Self.bytes(header) == Array(input[..<consumed]), "seed \(seed) iteration \(iteration)")
                case .incomplete(let missing):
                    #expect(missing > 0 && buffer.readableBytes == input.count, "seed \(seed) iteration \(iteration)")
                    #expect(
                        input.count + missing <= StreamTargetHeader.maxEncodedLength,
                        "seed \(seed) iteration \(iteration)")
                }
            } catch {
                #expect(buffer.readableBytes == input.count, "seed \(seed) iteration \(iteration)")
            }
            var reply = ByteBuffer(bytes: input)
            if case .complete(let parsed) = try? StreamTargetReply.parse(&reply) {
                #expect(
                    Array(input.prefix(2)) == [0xA1, parsed.status.rawValue], "seed \(seed) iteration \(iteration)")
            }
        }
        #expect(completes > 1000, "the mutator should keep many inputs valid, seed \(seed)")
    }
}
