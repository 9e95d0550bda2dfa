import NIOCore
import T2UCore

/// The host's own IPv4 addresses: LAN candidates for registration and the address a discovery
/// reply names. Shared by both agents (device registration, client CONNECT).
public enum LocalAddresses {
    public struct Interface {
        public var address: NetAddress.Host
        public var index: Int
        public var device: NIONetworkDevice
    }

    /// Up interfaces with an IPv4 address (loopback included), in system order.
    public static func ipv4Interfaces() -> [Interface] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var result: [Interface] = []
        for device in devices {
            guard let address = device.address, case .v4 = address, let net = NetAddress(address) else { continue }
            result.append(Interface(address: net.host, index: device.interfaceIndex, device: device))
        }
        return result
    }

    /// The subnet of every up interface address, IPv4 and IPv6 (loopback included): address
    /// plus the prefix length of its netmask. Scope of punches and LAN discovery.
    public static func subnets() -> [LocalSubnet] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var result: [LocalSubnet] = []
        for device in devices {
            guard let address = device.address.flatMap(NetAddress.init) else { continue }
            let subnet: LocalSubnet
            if let mask = device.netmask.flatMap(NetAddress.init) {
                subnet = LocalSubnet(host: address.host, netmask: mask.host)
            } else {
                subnet = LocalSubnet(host: address.host, prefixLength: Int.max)  // no mask: the host alone
            }
            if !result.contains(subnet) { result.append(subnet) }
        }
        return result
    }

    public static func isLoopback(_ host: NetAddress.Host) -> Bool {
        switch host {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    public static func isUnspecifiedOrMulticast(_ host: NetAddress.Host) -> Bool {
        switch host {
        case .v4(let value): return value == 0 || value >> 28 == 0xE
        case .v6(let high, let low): return (high == 0 && low == 0) || high >> 56 == 0xFF
        }
    }

    /// LAN candidates for `port`: non-loopback IPv4 addresses, plus 127.0.0.1 when the server
    /// itself is on loopback (tests, or a server on the same host).
    public static func candidates(port: UInt16, includeLoopback: Bool) -> [NetAddress] {
        var result: [NetAddress] = []
        if includeLoopback { result.append(NetAddress(ipv4: (127, 0, 0, 1), port: port)) }
        for interface in ipv4Interfaces() where !isLoopback(interface.address) {
            let candidate = NetAddress(host: interface.address, port: port)
            if !result.contains(candidate) { result.append(candidate) }
        }
        return Array(result.prefix(SignalingLimits.maxCandidates))
    }
}
