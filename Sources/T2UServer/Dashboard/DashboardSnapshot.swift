// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

/// What the operator's dashboard (`GET /dashboard`) shows: the `/status` figures plus bounded
/// lists of devices, sessions and (with `--database`) servers. Taken on the core's event loop,
/// rendered anywhere (`DashboardPage`). Every string in it may come from an agent.
package struct DashboardSnapshot: Sendable, Equatable {
    /// One registered device (or client) as the operator sees it.
    package struct Agent: Sendable, Equatable {
        package var uuid: String
        /// `ServerCore.natLabel(for:)`.
        package var nat: String
        package var address: String
        /// The agent's extra parameters (t2usvr `--extra`), raw.
        package var extra: [UInt8]
        package var secondsSinceSeen: Double
        package var homeServerID: String

        package init(
            uuid: String, nat: String, address: String, extra: [UInt8], secondsSinceSeen: Double, homeServerID: String
        ) {
            self.uuid = uuid
            self.nat = nat
            self.address = address
            self.extra = extra
            self.secondsSinceSeen = secondsSinceSeen
            self.homeServerID = homeServerID
        }
    }

    /// One connect session between a client and a device.
    package struct Session: Sendable, Equatable {
        package var clientUUID: String
        package var deviceUUID: String
        /// Whether the relay forwarded any packet of it, and how many bytes.
        package var relayed: Bool
        package var relayedBytes: UInt64
        package var secondsIdle: Double
        /// The device's home server when it is another one (the session goes through it).
        package var peerServerID: String?

        package init(
            clientUUID: String, deviceUUID: String, relayed: Bool, relayedBytes: UInt64, secondsIdle: Double,
            peerServerID: String? = nil
        ) {
            self.clientUUID = clientUUID
            self.deviceUUID = deviceUUID
            self.relayed = relayed
            self.relayedBytes = relayedBytes
            self.secondsIdle = secondsIdle
            self.peerServerID = peerServerID
        }
    }

    /// One server sharing the database, with the agents homed on it as this server knows them.
    package struct Server: Sendable, Equatable {
        package var id: String
        package var advertise: String
        package var devices: Int
        package var clients: Int
        package var isThisServer: Bool

        package init(id: String, advertise: String, devices: Int, clients: Int, isThisServer: Bool) {
            self.id = id
            self.advertise = advertise
            self.devices = devices
            self.clients = clients
            self.isThisServer = isThisServer
        }
    }

    package var status: ServerStatus
    /// Devices in UUID order, at most `deviceLimit` of `devicesListed` known (other servers'
    /// devices included with `--database`).
    package var devices: [Agent]
    package var devicesListed: Int
    /// Sessions, most relayed bytes first, at most `sessionLimit` of `status.gauges.sessions`.
    package var sessions: [Session]
    /// nil without `--database` (one server, no list).
    package var servers: [Server]?
    package var relayAllowed: Bool
    /// The per-session relay budget (`relay-rate`).
    package var relayBytesPerSecond: Double

    package static let deviceLimit = 100
    package static let sessionLimit = 50

    package init(
        status: ServerStatus, devices: [Agent] = [], devicesListed: Int? = nil, sessions: [Session] = [],
        servers: [Server]? = nil, relayAllowed: Bool = true, relayBytesPerSecond: Double = 125_000_000
    ) {
        self.status = status
        self.devices = devices
        self.devicesListed = devicesListed ?? devices.count
        self.sessions = sessions
        self.servers = servers
        self.relayAllowed = relayAllowed
        self.relayBytesPerSecond = relayBytesPerSecond
    }
}

extension ServerCore {
    /// The dashboard's view of the core now. O(registrations + sessions): per page view only.
    package func dashboard(now: Instant, uptimeSeconds: Double) -> DashboardSnapshot {
        let status = ServerStatus(
            serverID: config.serverID, uptimeSeconds: uptimeSeconds, counters: counters, gauges: gauges)
        var devices: [DashboardSnapshot.Agent] = []
        var listed = 0
        var homes: [String: (devices: Int, clients: Int)] = [:]
        registry.forEachRecord { record in
            if record.role == .device {
                homes[record.homeServerID, default: (0, 0)].devices += 1
            } else {
                homes[record.homeServerID, default: (0, 0)].clients += 1
            }
            guard record.role == .device else { return }
            listed += 1
            // Most devices fall after the last one kept: skip them before building a row.
            if devices.count == DashboardSnapshot.deviceLimit, let last = devices.last, record.uuid >= last.uuid {
                return
            }
            let row = DashboardSnapshot.Agent(
                uuid: record.uuid, nat: natLabel(for: record), address: record.address.description, extra: record.extra,
                secondsSinceSeen: Self.seconds(now - record.lastSeen), homeServerID: record.homeServerID)
            devices.insert(row, keepingFirst: DashboardSnapshot.deviceLimit) { $0.uuid < $1.uuid }
        }
        var busiest: [Session] = []
        for session in sessions.values {
            busiest.insert(session, keepingFirst: DashboardSnapshot.sessionLimit) {
                ($0.relayedBytes, $1.id) > ($1.relayedBytes, $0.id)
            }
        }
        let sessionRows = busiest.map {
            DashboardSnapshot.Session(
                clientUUID: $0.clientUUID, deviceUUID: $0.deviceUUID, relayed: $0.relayed,
                relayedBytes: $0.relayedBytes, secondsIdle: Self.seconds(now - $0.lastActivity),
                peerServerID: $0.peerServerID)
        }
        var servers: [DashboardSnapshot.Server]?
        if let shared = registry as? PostgresRegistry {
            var ids = Set(shared.servers.keys)
            ids.insert(config.serverID)
            servers = ids.sorted().map { id in
                let advertise =
                    shared.servers[id].map(\.description)
                    ?? (id == config.serverID ? config.advertiseAddress?.description : nil) ?? "unknown"
                return DashboardSnapshot.Server(
                    id: id, advertise: advertise, devices: homes[id]?.devices ?? 0,
                    clients: homes[id]?.clients ?? 0, isThisServer: id == config.serverID)
            }
        }
        return DashboardSnapshot(
            status: status, devices: devices, devicesListed: listed,
            sessions: sessionRows, servers: servers, relayAllowed: config.relayAllowed,
            relayBytesPerSecond: config.relayBytesPerSecond)
    }

    private static func seconds(_ nanos: Nanos) -> Double { max(0, Double(nanos.value) / 1e9) }
}

extension Array {
    /// Inserts `element` in `precedes` order, keeping only the first `limit` elements: the first
    /// few of many without sorting them all.
    fileprivate mutating func insert(
        _ element: Element, keepingFirst limit: Int, by precedes: (Element, Element) -> Bool
    ) {
        if count >= limit {
            guard let last, precedes(element, last) else { return }
            removeLast()
        }
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if precedes(element, self[mid]) { high = mid } else { low = mid + 1 }
        }
        insert(element, at: low)
    }
}
