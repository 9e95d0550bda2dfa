import T2UCore
import T2UNIO
import Testing

@Suite struct LocalAddressesTests {
    /// The loopback interface's netmask is read (127.0.0.1/8), and every IPv4 interface address
    /// is inside its own subnet: the scope the device punches and answers discovery in.
    @Test func subnetsCarryTheInterfacesNetmasks() {
        let subnets = LocalAddresses.subnets()
        let loopback = NetAddress(ipv4: (127, 0, 0, 1), port: 0).host
        #expect(subnets.contains(LocalSubnet(host: loopback, prefixLength: 8)), "\(subnets)")
        #expect(subnets.containsUnicast(NetAddress(ipv4: (127, 0, 0, 9), port: 0).host))
        for interface in LocalAddresses.ipv4Interfaces() {
            #expect(subnets.contains { $0.contains(interface.address) }, "\(interface.address) outside \(subnets)")
        }
        #expect(!subnets.containsUnicast(NetAddress(ipv4: (198, 51, 100, 1), port: 0).host), "TEST-NET-2 is on no host's LAN")
    }
}
