import NIOCore
import T2UCore
import T2UNIO
import Testing

struct AddressConversionTests {
    @Test func addressConversionRoundTrips() throws {
        let v4 = NetAddress(ipv4: (192, 0, 2, 33), port: 4433)
        let socket4 = SocketAddress(v4)
        #expect(socket4.ipAddress == "192.0.2.33" && socket4.port == 4433)
        #expect(NetAddress(socket4) == v4)
        let v6 = try SocketAddress(ipAddress: "2001:db8::1:2", port: 9)
        let net6 = try #require(NetAddress(v6))
        #expect(net6.host == .v6(0x2001_0db8_0000_0000, 0x0000_0000_0001_0002))
        #expect(SocketAddress(net6) == v6)
    }
}
