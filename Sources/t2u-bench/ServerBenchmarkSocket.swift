// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

#if canImport(Glibc)
import Glibc

/// One UDP socket that speaks for many agents, each with its own source address in
/// 127.0.0.0/8: sends choose the source with IP_PKTINFO, and receives tell which agent a reply
/// is for by its destination address. The server then sees one address per agent, as with real
/// devices behind their own NATs, without one socket (and file descriptor) per agent. Linux only.
/// Scratch buffers live on each call's stack, so the socket holds no mutable state and any
/// thread may use it (a receive handler may send).
final class MultiplexedUDPSocket: Sendable {
    let fd: Int32
    let port: UInt16
    private static let controlBytes = 64
    private static let datagramBytes = 2048

    // <netinet/in.h> (Linux): IP_PKTINFO and struct in_pktinfo {int ifindex; in_addr spec_dst; in_addr addr}.
    private static let ipPktinfo: Int32 = 8
    private static let cmsgHeaderSize = 16  // cmsg_len(8) level(4) type(4)
    private static let pktinfoSize = 12

    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        var description: String {
            switch self {
            case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Binds 0.0.0.0:0 (so replies to any 127.x.y.z address at our port arrive here).
    init(receiveBufferBytes: Int32 = 32 << 20) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.system("socket", errno) }
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IP), Self.ipPktinfo, &on, socklen_t(MemoryLayout<Int32>.size))
        var size = receiveBufferBytes
        // SO_RCVBUFFORCE (root) passes rmem_max; fall back to SO_RCVBUF.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw Failure.system("bind", code)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    /// Sends `bytes` from `source` (IPv4, host order, in 127.0.0.0/8) to `destination`.
    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer, from source: UInt32, to destination: sockaddr_in) -> Bool {
        var destination = destination
        var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let controlLength = Self.cmsgHeaderSize + 16  // CMSG_SPACE(sizeof(in_pktinfo))
        return withUnsafeTemporaryAllocation(byteCount: Self.controlBytes, alignment: 8) { control in
            control.initializeMemory(as: UInt8.self, repeating: 0)
            control.storeBytes(of: UInt64(Self.cmsgHeaderSize + Self.pktinfoSize), toByteOffset: 0, as: UInt64.self)
            control.storeBytes(of: Int32(IPPROTO_IP), toByteOffset: 8, as: Int32.self)
            control.storeBytes(of: Self.ipPktinfo, toByteOffset: 12, as: Int32.self)
            // ipi_spec_dst
            control.storeBytes(of: source.bigEndian, toByteOffset: Self.cmsgHeaderSize + 4, as: UInt32.self)
            return withUnsafeMutablePointer(to: &destination) { name in
                withUnsafeMutablePointer(to: &iov) { iov in
                    var message = msghdr()
                    message.msg_name = UnsafeMutableRawPointer(name)
                    message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
                    message.msg_iov = iov
                    message.msg_iovlen = 1
                    message.msg_control = control.baseAddress
                    message.msg_controllen = controlLength
                    return sendmsg(fd, &message, 0) == bytes.count
                }
            }
        }
    }

    /// Receives one datagram without blocking; `body` gets its bytes and the address it was
    /// sent to (host order). Returns false when nothing is waiting.
    func receive(_ body: (UnsafeRawBufferPointer, UInt32) -> Void) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: Self.datagramBytes, alignment: 8) { buffer in
            withUnsafeTemporaryAllocation(byteCount: Self.controlBytes, alignment: 8) { control in
                var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
                return withUnsafeMutablePointer(to: &iov) { iov in
                    var message = msghdr()
                    message.msg_iov = iov
                    message.msg_iovlen = 1
                    message.msg_control = control.baseAddress
                    message.msg_controllen = control.count
                    let n = recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                    guard n >= 0 else { return false }
                    var destination: UInt32 = 0
                    var offset = 0
                    while offset + Self.cmsgHeaderSize <= Int(message.msg_controllen) {
                        let length = Int(control.load(fromByteOffset: offset, as: UInt64.self))
                        let level = control.load(fromByteOffset: offset + 8, as: Int32.self)
                        let type = control.load(fromByteOffset: offset + 12, as: Int32.self)
                        if level == Int32(IPPROTO_IP), type == Self.ipPktinfo,
                            length >= Self.cmsgHeaderSize + Self.pktinfoSize
                        {
                            destination = UInt32(
                                bigEndian: control.load(
                                    fromByteOffset: offset + Self.cmsgHeaderSize + 8, as: UInt32.self))
                        }
                        guard length > 0 else { break }
                        offset += (length + 7) & ~7
                    }
                    body(UnsafeRawBufferPointer(rebasing: buffer[..<n]), destination)
                    return true
                }
            }
        }
    }

    /// Waits up to `milliseconds` for something to read.
    func wait(milliseconds: Int32) {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
    }
}

/// 127.0.0.1:port as a sockaddr_in.
func loopbackSockaddr(host: UInt32 = 0x7F00_0001, port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = in_addr(s_addr: host.bigEndian)
    return address
}
#endif
