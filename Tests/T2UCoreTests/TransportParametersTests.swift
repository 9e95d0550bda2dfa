// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

@Suite struct TransportParametersTests {
    @Test func roundTrip() throws {
        var config = TransportConfig()
        config.initialConnectionWindow = 3_000_000
        config.initialStreamWindow = 70_000
        config.maxConcurrentStreams = 17
        let parameters = TransportParameters(config: config)
        let decoded = try TransportParameters.decode(parameters.encoded())
        #expect(decoded == parameters)
        #expect(decoded.initialMaxStreams == 17)
    }

    @Test func truncatedOrGarbageIsATypedError() {
        let encoded = TransportParameters(config: TransportConfig()).encoded()
        for length in 0..<encoded.count {
            #expect(throws: WireError.self) { try TransportParameters.decode(Array(encoded.prefix(length))) }
        }
        let entropy = SeededEntropy(seed: 5)
        for _ in 0..<2000 {
            let bytes = entropy.bytes(Int(entropy.next(below: 48)))
            _ = try? TransportParameters.decode(bytes)
        }
    }
}
