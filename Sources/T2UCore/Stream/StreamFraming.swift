// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// Datagrams carried over a byte stream (the TCP/TLS fallback): each is prefixed with its
/// length as 2 bytes big-endian, so the same datagrams the core exchanges over UDP cross a
/// stream unchanged.
package enum StreamFraming {
    /// Largest datagram a stream frame may carry. t2u datagrams stay below 1500 bytes; the
    /// margin keeps future larger packets working while bounding what a peer can make us hold.
    package static let defaultMaxFrame = 4096
    package static let prefixLength = 2

    /// Appends `datagram`'s readable bytes as one frame.
    package static func encode(_ datagram: ByteBuffer, into out: inout ByteBuffer) {
        precondition(datagram.readableBytes <= Int(UInt16.max), "datagram too large for a stream frame")
        out.writeInteger(UInt16(datagram.readableBytes))
        var copy = datagram
        out.writeBuffer(&copy)
    }
}

/// Splits a byte stream back into datagrams. Holds at most one partial frame (bounded by
/// `maxFrame` + prefix), so a peer can never make it buffer more.
package struct StreamDeframer: Sendable {
    package let maxFrame: Int
    private var pending: ByteBuffer?

    package init(maxFrame: Int = StreamFraming.defaultMaxFrame) {
        self.maxFrame = maxFrame
    }

    /// Bytes waiting for the rest of their frame.
    package var bufferedBytes: Int { pending?.readableBytes ?? 0 }

    /// Adds received bytes; calls `deliver` with each complete datagram (a slice valid for the
    /// call). Throws on the first invalid length prefix: the stream is then unusable.
    package mutating func feed(_ bytes: ByteBuffer, _ deliver: (ByteBuffer) -> Void) throws(StreamFrameError) {
        var input: ByteBuffer
        if var held = pending {
            pending = nil
            var incoming = bytes
            held.writeBuffer(&incoming)
            input = held
        } else {
            input = bytes
        }
        while let length = input.getInteger(at: input.readerIndex, as: UInt16.self) {
            let size = Int(length)
            guard size > 0 else { throw .emptyFrame }
            guard size <= maxFrame else { throw .frameTooLarge(length: size, limit: maxFrame) }
            guard input.readableBytes >= StreamFraming.prefixLength + size else { break }
            input.moveReaderIndex(forwardBy: StreamFraming.prefixLength)
            let datagram = input.readSlice(length: size)!
            deliver(datagram)
        }
        if input.readableBytes > 0 {
            // Copy the remainder: keeping a slice would pin the whole read buffer.
            var rest = ByteBufferAllocator().buffer(capacity: StreamFraming.prefixLength + maxFrame)
            rest.writeBuffer(&input)
            pending = rest
        }
    }
}
