// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import NIOPosix

/// Which UDP offloads this host's kernel offers. NIO probes once per process by opening a
/// socket and trying `UDP_SEGMENT` / `UDP_GRO`; the shell falls back to one datagram per
/// `sendmmsg` entry and plain `recvmmsg` when either is missing (macOS, old Linux, gVisor).
package struct UDPOffloadSupport: Sendable, Equatable, CustomStringConvertible {
    /// `UDP_SEGMENT` (GSO): one `sendmsg` carries many equal-size datagrams to one destination.
    package var segmentation: Bool
    /// `UDP_GRO`: the kernel hands us coalesced runs of datagrams with their segment size.
    package var receiveOffload: Bool

    package init(segmentation: Bool, receiveOffload: Bool) {
        self.segmentation = segmentation
        self.receiveOffload = receiveOffload
    }

    /// What the running kernel supports.
    package static let host = UDPOffloadSupport(
        segmentation: System.supportsUDPSegmentationOffload,
        receiveOffload: System.supportsUDPReceiveOffload
    )

    package static let none = UDPOffloadSupport(segmentation: false, receiveOffload: false)

    package var description: String { "gso=\(segmentation) gro=\(receiveOffload)" }
}

/// Whether an offload is used: `.auto` uses it when the kernel has it.
package enum OffloadMode: String, Sendable, CaseIterable {
    case auto
    case disabled

    func resolve(_ supported: Bool) -> Bool { self == .auto && supported }
}
