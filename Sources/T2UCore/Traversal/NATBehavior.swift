// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// How an agent's NAT maps its one UDP socket, learned from two server ports: the main port
/// (REGISTERED / KEEPALIVE_ACK `observed`) and the observation port (PROBE_RESULT), both reached
/// from the same socket. It decides which traversal strategies can work (see `TraversalPlanner`).
package enum NATBehavior: Hashable, Sendable, CustomStringConvertible {
    /// Not measured (no observation port, probe failed, or an old peer).
    case unknown
    /// No NAT: the server saw one of our own addresses.
    case none
    /// Same public port toward every destination (full cone, port-preserving masquerade):
    /// the reflexive address is reachable by everyone our filter lets in.
    case endpointIndependent
    /// A new mapping per destination; `delta` is the observation port's public port minus the
    /// main port's (wrapping). A small delta means a sequential allocator (ports predictable);
    /// anything else is treated as random.
    case endpointDependent(delta: Int32)

    /// Largest |delta| still read as a sequential allocator (other flows may take ports between
    /// our two mappings). A random allocator lands here with probability ~ 2*16/64512.
    package static let maxPredictableDelta: Int32 = 16

    /// From the two observations: `main` from the server's main port, `observation` from its
    /// second port, `local` our own socket addresses (a match means no NAT).
    package static func classify(main: NetAddress?, observation: NetAddress?, local: [NetAddress]) -> NATBehavior {
        guard let main, let observation, main.host == observation.host else { return .unknown }
        if local.contains(main) { return .none }
        if main.port == observation.port { return .endpointIndependent }
        let delta = Int32(truncatingIfNeeded: Int(observation.port) - Int(main.port))
        return .endpointDependent(delta: delta)
    }

    package var isEndpointDependent: Bool {
        if case .endpointDependent = self { return true }
        return false
    }

    /// The port step between consecutive mappings, when the allocator looks sequential.
    package var predictableDelta: Int32? {
        guard case .endpointDependent(let delta) = self, delta != 0, abs(delta) <= Self.maxPredictableDelta else {
            return nil
        }
        return delta
    }

    /// Endpoint-dependent with no usable pattern: only birthday probing can meet it.
    package var isRandomDependent: Bool { isEndpointDependent && predictableDelta == nil }

    /// Reachable at a single public port for every peer (none or endpoint-independent).
    package var isEndpointIndependent: Bool { self == .none || self == .endpointIndependent }

    package var description: String {
        switch self {
        case .unknown: return "unknown"
        case .none: return "none"
        case .endpointIndependent: return "endpoint-independent"
        case .endpointDependent(let delta): return predictableDelta != nil ? "sequential(\(delta))" : "random"
        }
    }

    // MARK: wire form: kind(1) delta(i32, 0 unless endpoint-dependent)

    static let wireLength = 5

    var wireKind: UInt8 {
        switch self {
        case .unknown: return 0
        case .none: return 1
        case .endpointIndependent: return 2
        case .endpointDependent: return 3
        }
    }

    var wireDelta: Int32 {
        if case .endpointDependent(let delta) = self { return delta }
        return 0
    }

    init?(wireKind: UInt8, delta: Int32) {
        switch wireKind {
        case 0: self = .unknown
        case 1: self = .none
        case 2: self = .endpointIndependent
        case 3: self = .endpointDependent(delta: delta)
        default: return nil
        }
    }
}
