// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The shared database's schema, created or migrated when a server starts (under an advisory
/// lock, so servers starting together do not race). Each step runs once, in order; the
/// version reached is kept in `t2u_schema`.
enum PostgresSchema {
    /// Arbitrary key of the advisory lock that serializes migrations.
    static let lockKey: Int64 = 0x7432_7573_6368_656d
    /// Channel of presence changes: JSON {"op", "role", "uuid", "home"} sealed under the cluster
    /// key (sent by the servers themselves since migration 2); the row is then read.
    static let presenceChannel = "t2u_presence"
    /// Channel of binding changes: JSON {"op": "bind"|"release", "uuid"} sealed under the cluster
    /// key; the row is then read and its MAC checked.
    static let bindingsChannel = "t2u_bindings"

    /// One list of statements per version (the extended protocol runs one statement at a time).
    static let migrations: [[String]] = [
        // 1: presence, servers, and a trigger that announces every change except keepalives.
        [
            """
            CREATE TABLE t2u_servers (
                server_id text PRIMARY KEY,
                advertise text NOT NULL,
                last_seen timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE t2u_presence (
                role smallint NOT NULL,
                uuid text NOT NULL,
                home_server text NOT NULL,
                address text NOT NULL,
                public_key bytea NOT NULL,
                extra bytea NOT NULL,
                candidates text NOT NULL DEFAULT '',
                nat smallint,
                last_seen timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (role, uuid)
            )
            """,
            "CREATE INDEX t2u_presence_last_seen ON t2u_presence (last_seen)",
            "CREATE INDEX t2u_presence_home ON t2u_presence (home_server)",
            """
            CREATE FUNCTION t2u_presence_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE r record;
            BEGIN
                IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
                IF TG_OP = 'UPDATE' AND NEW.home_server = OLD.home_server AND NEW.address = OLD.address
                   AND NEW.public_key = OLD.public_key AND NEW.extra = OLD.extra AND NEW.candidates = OLD.candidates
                   AND NEW.nat IS NOT DISTINCT FROM OLD.nat THEN
                    RETURN NULL;
                END IF;
                PERFORM pg_notify('t2u_presence', json_build_object(
                    'op', lower(TG_OP), 'role', r.role, 'uuid', r.uuid, 'home', r.home_server)::text);
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER t2u_presence_notify AFTER INSERT OR UPDATE OR DELETE ON t2u_presence
                FOR EACH ROW EXECUTE FUNCTION t2u_presence_notify()
            """,
        ],
        // 2: UUID -> device key bindings (rows MACed under the cluster key); presence changes are
        // announced by the servers, sealed under the cluster key, instead of by a trigger any
        // database role could imitate with an unauthenticated pg_notify.
        [
            """
            CREATE TABLE t2u_device_bindings (
                uuid text PRIMARY KEY,
                public_key bytea NOT NULL,
                bound_at timestamptz NOT NULL DEFAULT now(),
                mac bytea NOT NULL
            )
            """,
            "DROP TRIGGER t2u_presence_notify ON t2u_presence",
            // Presence rows carry a MAC under the cluster key too: the device key a server vouches
            // for to clients must not come from a row another database role wrote.
            "ALTER TABLE t2u_presence ADD COLUMN mac bytea NOT NULL DEFAULT ''::bytea",
            "DROP FUNCTION t2u_presence_notify()",
        ],
        // 3: server rows carry a MAC under the cluster key: the advertised address is where the
        // others relay a server's sessions. Rows written before it have an empty MAC and are
        // ignored until their server announces itself again (every heartbeat).
        [
            "ALTER TABLE t2u_servers ADD COLUMN mac bytea NOT NULL DEFAULT ''::bytea"
        ],
    ]

    /// The LISTEN channel of one server's peer introductions: a name PostgreSQL accepts whatever
    /// the server ID's characters (FNV-1a of the ID).
    static func peerChannel(serverID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in serverID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "t2u_server_" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
