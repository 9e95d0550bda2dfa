// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

#if canImport(Glibc)
import Glibc
#endif

/// The IPv4 default gateway of this host, from Linux's /proc/net/route (elsewhere: none, so
/// PCP and NAT-PMP are skipped and UPnP still searches).
package enum DefaultGateway {
    /// The first default route's gateway (lowest metric), nil when there is none.
    package static func ipv4() -> NetAddress.Host? {
        #if os(Linux)
        let fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 131_072 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return parse(routeTable: String(decoding: bytes, as: UTF8.self))
        #else
        return nil
        #endif
    }

    /// /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ..., addresses in
    /// hex in the kernel's (little-endian) byte order. Default route: destination and mask 0,
    /// flags RTF_UP|RTF_GATEWAY.
    static func parse(routeTable text: String) -> NetAddress.Host? {
        var best: (metric: Int, gateway: UInt32)?
        for line in text.split(separator: "\n").dropFirst().prefix(1024) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16),
                let gateway = UInt32(fields[2], radix: 16),
                let flags = UInt32(fields[3], radix: 16), let metric = Int(fields[6]),
                let mask = UInt32(fields[7], radix: 16),
                destination == 0, mask == 0, flags & 0x3 == 0x3, gateway != 0
            else { continue }
            if best == nil || metric < best!.metric { best = (metric, gateway.byteSwapped) }
        }
        return best.map { .v4($0.gateway) }
    }
}
