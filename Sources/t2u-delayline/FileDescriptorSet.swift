// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Glibc

/// FD_SET / FD_ISSET for select (the C macros are not imported): a bit per descriptor in the
/// words of fd_set.
enum FileDescriptorSet {
    static func insert(_ fd: Int32, into set: inout fd_set) {
        precondition(fd >= 0 && fd < 1024, "fd_set holds descriptors 0...1023")
        withUnsafeMutableBytes(of: &set) { raw in
            let words = raw.bindMemory(to: Int.self)
            words[Int(fd) / Int.bitWidth] |= 1 << (Int(fd) % Int.bitWidth)
        }
    }

    static func contains(_ fd: Int32, in set: fd_set) -> Bool {
        withUnsafeBytes(of: set) { raw in
            let words = raw.bindMemory(to: Int.self)
            return words[Int(fd) / Int.bitWidth] & (1 << (Int(fd) % Int.bitWidth)) != 0
        }
    }
}
