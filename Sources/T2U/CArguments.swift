// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Untrusted C arguments in, bounded C output out.

/// A non-empty, valid UTF-8 C string, or nil (NULL, empty, not UTF-8, absurdly long).
func validString(_ pointer: UnsafePointer<CChar>?, maxBytes: Int = 4096) -> String? {
    guard let pointer else { return nil }
    // Bounded scan: never walk past maxBytes looking for the NUL.
    var length = 0
    while length <= maxBytes, pointer[length] != 0 { length += 1 }
    guard length > 0, length <= maxBytes else { return nil }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    return String(validating: bytes, as: UTF8.self)
}

/// Copies `text` into `buffer` (capacity `size` bytes including the NUL), truncated to fit at
/// a UTF-8 character boundary, always NUL-terminated. Returns false when it cannot write at all.
@discardableResult
func copyOut(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, size: Int) -> Bool {
    guard let buffer, size > 0 else { return false }
    var utf8 = Array(text.utf8)
    if utf8.count > size - 1 {
        var cut = size - 1
        // Do not split a multi-byte character: back off over continuation bytes.
        while cut > 0, utf8[cut] & 0xC0 == 0x80 { cut -= 1 }
        utf8.removeSubrange(cut...)
    }
    utf8.withUnsafeBufferPointer { source in
        if let base = source.baseAddress, !source.isEmpty {
            UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: source.count)
        }
    }
    buffer[utf8.count] = 0
    return true
}
