// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Glibc

/// A TAP device of this process (IFF_TAP | IFF_NO_PI, non-blocking): Ethernet frames in and out
/// of one fd. It lives as long as the process (nothing makes it persistent), so moving it into
/// another namespace with `ip link set NAME netns ...` keeps it attached to this fd.
struct TapDevice {
    let name: String
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(name: String) throws {
        guard !name.isEmpty, name.utf8.count < 16,
            name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw Failure(description: "tap name '\(name)' must be 1-15 letters, digits, '-', '_' or '.'")
        }
        let fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw Failure(
                description: "open /dev/net/tun: \(String(cString: strerror(errno))) (needs root and the tun module)")
        }
        // struct ifreq: ifr_name[16], then ifr_flags (short); 40 bytes in all.
        var request = [UInt8](repeating: 0, count: 40)
        for (i, byte) in name.utf8.enumerated() { request[i] = byte }
        let flags: UInt16 = 0x0002 | 0x1000  // IFF_TAP | IFF_NO_PI
        request[16] = UInt8(flags & 0xff)
        request[17] = UInt8(flags >> 8)
        let tunsetiff: UInt = 0x4004_54ca  // _IOW('T', 202, int)
        let rc = request.withUnsafeMutableBytes { ioctl(fd, tunsetiff, $0.baseAddress!) }
        guard rc == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "TUNSETIFF \(name): \(why) (is the name taken in this namespace?)")
        }
        self.name = name
        self.fd = fd
    }
}
