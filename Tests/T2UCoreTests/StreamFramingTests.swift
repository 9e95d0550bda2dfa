// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// The TCP fallback's framing and upgrade head: datagrams survive any split of the stream,
/// and bad input is refused with the error that says why.
@Suite struct StreamFramingTests {
    static func frames(_ datagrams: [[UInt8]]) -> [UInt8] {
        var out = ByteBuffer()
        for datagram in datagrams { StreamFraming.encode(ByteBuffer(bytes: datagram), into: &out) }
        return Array(out.readableBytesView)
    }

    static func deframe(
        _ bytes: [UInt8], chunks: [Int], maxFrame: Int = StreamFraming.defaultMaxFrame
    ) throws(StreamFrameError) -> [[UInt8]] {
        var deframer = StreamDeframer(maxFrame: maxFrame)
        var out: [[UInt8]] = []
        var offset = 0
        var sizes = chunks.makeIterator()
        while offset < bytes.count {
            let size = min(max(1, sizes.next() ?? bytes.count), bytes.count - offset)
            try deframer.feed(ByteBuffer(bytes: bytes[offset..<offset + size])) {
                out.append(Array($0.readableBytesView))
            }
            offset += size
        }
        return out
    }

    @Test func lengthPrefixIsTwoBytesBigEndian() {
        #expect(Self.frames([[0xAA, 0xBB, 0xCC]]) == [0x00, 0x03, 0xAA, 0xBB, 0xCC])
        #expect(Self.frames([Array(repeating: 7, count: 300)]).prefix(2) == [0x01, 0x2C])
    }

    @Test func datagramsSurviveEverySplit() throws {
        let datagrams: [[UInt8]] = [[1], Array(0..<200), Array(repeating: 0xFF, count: 1400), [9, 9]]
        let bytes = Self.frames(datagrams)
        for chunk in [1, 2, 3, 7, 100, 1401, bytes.count] {
            #expect(
                try Self.deframe(bytes, chunks: Array(repeating: chunk, count: bytes.count)) == datagrams,
                "chunk \(chunk)")
        }
    }

    @Test func partialFrameIsHeldUntilComplete() throws {
        var deframer = StreamDeframer()
        var out: [[UInt8]] = []
        try deframer.feed(ByteBuffer(bytes: [0x00, 0x04, 1, 2])) { out.append(Array($0.readableBytesView)) }
        #expect(out.isEmpty)
        #expect(deframer.bufferedBytes == 4)
        try deframer.feed(ByteBuffer(bytes: [3, 4, 0x00])) { out.append(Array($0.readableBytesView)) }
        #expect(out == [[1, 2, 3, 4]])
        #expect(deframer.bufferedBytes == 1)
    }

    @Test func oversizedFrameIsRefusedBeforeItsBytesArrive() {
        var deframer = StreamDeframer(maxFrame: 1500)
        #expect(throws: StreamFrameError.frameTooLarge(length: 1501, limit: 1500)) {
            try deframer.feed(ByteBuffer(bytes: [0x05, 0xDD])) { _ in Issue.record("nothing may be delivered") }
        }
        #expect("\(StreamFrameError.frameTooLarge(length: 1501, limit: 1500))".contains("exceeds the limit of 1500"))
    }

    @Test func emptyFrameIsRefused() {
        var deframer = StreamDeframer()
        #expect(throws: StreamFrameError.emptyFrame) {
            try deframer.feed(ByteBuffer(bytes: [0x00, 0x01, 0x42, 0x00, 0x00])) { _ in }
        }
    }

    @Test func upgradeRequestIsAcceptedAndOthersAreNot() throws {
        let request = StreamUpgrade.request(host: "192.0.2.1")
        let length = try #require(try StreamUpgrade.headLength(request + [1, 2, 3]))
        #expect(length == request.count)
        try StreamUpgrade.checkRequest(request[..<length])
        #expect(try StreamUpgrade.headLength(request.dropLast()) == nil)

        let browser = Array("GET / HTTP/1.1\r\nHost: example\r\n\r\n".utf8)
        #expect(throws: StreamFrameError.unexpectedHead("GET / HTTP/1.1")) { try StreamUpgrade.checkRequest(browser) }
        let noUpgrade = Array("GET /t2u HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        #expect(throws: StreamFrameError.self) { try StreamUpgrade.checkRequest(noUpgrade) }
        let upperCase = Array("GET /t2u HTTP/1.1\r\nUPGRADE:  T2U \r\n\r\n".utf8)
        try StreamUpgrade.checkRequest(upperCase)
    }

    @Test func upgradeResponseMustBe101() throws {
        try StreamUpgrade.checkResponse(StreamUpgrade.switchingProtocols)
        #expect(throws: StreamFrameError.unexpectedHead("HTTP/1.1 404 Not Found")) {
            try StreamUpgrade.checkResponse(StreamUpgrade.notFound)
        }
    }

    @Test func endlessHeadIsRefused() {
        let garbage = [UInt8](repeating: 0x41, count: StreamUpgrade.maxHeadLength + 1)
        #expect(throws: StreamFrameError.headTooLarge(limit: StreamUpgrade.maxHeadLength)) {
            try StreamUpgrade.headLength(garbage)
        }
    }

    /// Random and mutated streams, fed in random chunks: never a crash, never a datagram larger
    /// than the limit or empty, never more held than one frame; valid prefixes deliver exactly
    /// the datagrams they encode.
    @Test func fuzzDeframer() {
        let mutator = Mutator(seed: 0x7C9_443)
        let corpus: [[UInt8]] = [
            Self.frames([[1, 2, 3], Array(0..<100)]), Self.frames([Array(repeating: 5, count: 1200)]),
            Self.frames((0..<20).map { [UInt8($0)] }),
        ]
        let maxFrame = 1500
        for iteration in 0..<5_000 {
            let input =
                mutator.chance(1, in: 4)
                ? mutator.randomBytes(maxLength: 3000)
                : mutator.mutate(mutator.element(of: corpus), donor: mutator.element(of: corpus))
            var deframer = StreamDeframer(maxFrame: maxFrame)
            var offset = 0
            var delivered = 0
            failed: while offset < input.count {
                let size = min(1 + mutator.int(below: 64), input.count - offset)
                do {
                    try deframer.feed(ByteBuffer(bytes: input[offset..<offset + size])) { datagram in
                        delivered += datagram.readableBytes
                        #expect(
                            datagram.readableBytes >= 1 && datagram.readableBytes <= maxFrame,
                            "seed iteration \(iteration)")
                    }
                } catch {
                    break failed
                }
                #expect(deframer.bufferedBytes <= maxFrame + StreamFraming.prefixLength, "iteration \(iteration)")
                offset += size
            }
            #expect(delivered <= input.count, "iteration \(iteration)")
        }
    }
}
