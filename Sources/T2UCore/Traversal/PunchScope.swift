/// Where a device may send unauthenticated punches for one introduction (docs/SECURITY.md §4):
/// the client's address as the server observed it (any port of that IP: predicted and
/// birthday ports), and client candidates that are unicast hosts on one of the device's own
/// subnets. Everything else a CONNECT names is dropped, so a client cannot make the device
/// send to an address of its choosing.
public struct PunchScope: Sendable {
    /// INTRODUCE's `clientPublicAddress`: the server saw the client there.
    public let observed: NetAddress
    public let subnets: [LocalSubnet]

    public init(observed: NetAddress, subnets: [LocalSubnet]) {
        self.observed = observed
        self.subnets = subnets
    }

    public func allows(_ destination: NetAddress) -> Bool {
        destination.host == observed.host || subnets.containsUnicast(destination.host)
    }

    /// The candidates the device may punch, and those it drops.
    public func partition(_ candidates: [NetAddress]) -> (kept: [NetAddress], dropped: [NetAddress]) {
        var kept: [NetAddress] = []
        var dropped: [NetAddress] = []
        for candidate in candidates {
            if allows(candidate) { kept.append(candidate) } else { dropped.append(candidate) }
        }
        return (kept, dropped)
    }
}
