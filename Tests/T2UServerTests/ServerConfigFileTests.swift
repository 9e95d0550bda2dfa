// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UServer

/// The strict config file: what it accepts, and that every mistake is refused with the file,
/// the line and the fix, instead of being dropped (a dropped `key` ran the server open).
@Suite struct ServerConfigFileTests {
    static let path = "/etc/t2u-server.conf"

    static func parse(_ text: String) throws(ServerConfigFileError) -> ServerConfigFile {
        try ServerConfigFile(parsing: Array(text.utf8), path: path)
    }

    /// The error's one-line message, or nil when the text parses.
    static func message(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesKeyValueLines() throws {
        let file = try Self.parse(
            """
            # t2u-server settings
            port = 7100
            key-file=/etc/t2u/a=b.key
            \tbind\t=\t127.0.0.1\t

            relay=false
            relay-rate = 1.5e6
            """)
        #expect(file.integer("port") == 7100)
        #expect(file["key-file"] == "/etc/t2u/a=b.key")
        #expect(file["bind"] == "127.0.0.1")
        #expect(file.boolean("relay") == false)
        #expect(file.number("relay-rate") == 1_500_000)
        #expect(file["admin"] == nil)
        #expect(file.entries["relay"]?.line == 6)
    }

    /// The finding: with CRLF line ends the whole file was one comment and the key was dropped.
    @Test func crlfFileKeepsEverySetting() throws {
        let file = try Self.parse("# settings\r\nport = 7100\r\nkey-file = /etc/t2u/server.key\r\nrelay = false\r\n")
        #expect(file.integer("port") == 7100)
        #expect(file["key-file"] == "/etc/t2u/server.key")
        #expect(file.boolean("relay") == false)
        #expect(file.entries["key-file"]?.line == 3)
    }

    /// v1's shared secret `key` would now be a server running without the setting: refused.
    @Test func theV1SharedKeyIsRefusedWithWhatToDoInstead() throws {
        let message = try #require(Self.message("port=1\nkey=secret"))
        #expect(message.hasPrefix("\(Self.path):2:"))
        #expect(message.contains("key-file") && message.contains("--print-public-key") && !message.contains("secret\""))
    }

    @Test func byteOrderMarkAndMissingFinalNewlineAreFine() throws {
        let file = try ServerConfigFile(parsing: [0xEF, 0xBB, 0xBF] + Array("port=1".utf8), path: Self.path)
        #expect(file.integer("port") == 1)
    }

    /// The finding: port=99999 became 34463. Every out-of-range or malformed value is refused.
    @Test(arguments: [
        ("port = 99999", "a port number 1-65535"),
        ("port = 0", "a port number 1-65535"),
        ("port = -1", "a port number 1-65535"),
        ("observation-port = 7001x", "a port number 1-65535"),
        ("keepalive = 0", "a whole number 1-65535"),
        ("keepalive = 70000", "a whole number 1-65535"),
        ("presence-timeout = -5", "a whole number"),
        ("relay-rate = nan", "a number >= 1 (not NaN or infinite)"),
        ("relay-rate = inf", "a number >= 1 (not NaN or infinite)"),
        ("relay-rate = -100", "a number >= 1"),
        ("signaling-rate = 0", "a number >= 0.001"),
        ("signaling-burst = 0.5", "a number >= 1"),
        ("max-tracked-sources = 1.5", "a whole number"),
        ("relay = yes", "true or false"),
        ("admin-allow-remote = 1", "true or false"),
        ("log-level = verbose", "one of trace, debug"),
        ("advertise = example.com:7000", "IP:PORT or [IPv6]:PORT"),
        ("admin = 127.0.0.1:99999", "PORT, HOST:PORT"),
        ("database = mysql://x@y/z", "postgres://"),
        ("bind =", "a non-empty value"),
    ])
    func invalidValueNamesFileLineAndFix(line: String, fix: String) throws {
        let message = try #require(Self.message("# ok\n\(line)\n"))
        #expect(message.hasPrefix("\(Self.path):2: invalid "), "\(message)")
        #expect(message.contains("write \(fix)"), "\(message)")
        #expect(!message.contains("\n"))
    }

    @Test func portWithInlineCommentSaysCommentsGoOnTheirOwnLine() throws {
        let message = try #require(Self.message("port = 7000 # main port"))
        #expect(message.contains("comments go on their own line"))
    }

    @Test func secretsAreNotEchoedInErrors() throws {
        let message = try #require(Self.message("database = postgres://u:hunter2@db/t2u?sslmode=bogus\u{7}"))
        #expect(!message.contains("hunter2"))
    }

    @Test func unknownKeySuggestsTheClosestKnownKey() throws {
        #expect(
            Self.message("relay_rate = 100") == "\(Self.path):1: unknown key 'relay_rate'; did you mean relay-rate?")
        #expect(Self.message("prot=1")?.hasSuffix("did you mean port?") == true)
        #expect(Self.message("KeepAlive = 5")?.hasSuffix("did you mean keepalive?") == true)
        let far = try #require(Self.message("completely-unrelated = 1"))
        #expect(far.contains("known keys: admin, admin-allow-remote"), "\(far)")
    }

    @Test func lineWithoutEqualsIsAnError() {
        #expect(
            Self.message("port=1\r\nrelay\r\n")
                == "\(Self.path):2: 'relay' has no '='; write key = value, or start the line with # to make it a comment"
        )
    }

    @Test func duplicateKeyIsAnError() {
        #expect(
            Self.message("port=1\nbind=a\n\nport = 2")
                == "\(Self.path):4: port is already set on line 1; keep one of the two lines")
    }

    @Test func invalidUTF8IsAnError() {
        #expect(throws: ServerConfigFileError(path: Self.path, line: 0, problem: .notUTF8)) {
            try ServerConfigFile(parsing: [0x70, 0x6F, 0x72, 0x74, 0x3D, 0xFF], path: Self.path)
        }
    }

    @Test func controlCharactersInUntrustedTextAreEscaped() throws {
        let message = try #require(Self.message("po\u{1B}[2Jrt = 1"))
        #expect(!message.unicodeScalars.contains("\u{1B}"))
        #expect(message.contains("\\u{1B}"))
    }

    @Test func editDistance() {
        #expect(ServerConfigFile.editDistance("relay-rate", "relay-rate") == 0)
        #expect(ServerConfigFile.editDistance("kitten", "sitting") == 3)
        #expect(ServerConfigFile.editDistance("", "abc") == 3)
    }

    /// Seeded mutations of a valid file: the parser returns a file or a typed error, never
    /// crashes; an accepted file holds only known keys with values its schema accepts, and a
    /// rejection names a line that exists.
    @Test(arguments: [UInt64(11)])
    func fuzzedFilesParseOrFailCleanly(seed: UInt64) {
        let valid = Array(
            "# cfg\r\nport = 7000\nkey = abc\nrelay=false\nrelay-rate = 100000\nadmin = 9100\nlog-level=info\n".utf8)
        let mutator = Mutator(seed: seed)
        var accepted = 0
        var rejected = 0
        for iteration in 0..<20_000 {
            let input =
                mutator.chance(1, in: 8) ? mutator.randomBytes(maxLength: 64) : mutator.mutate(valid, donor: valid)
            let lineCount = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
            do {
                let file = try ServerConfigFile(parsing: input, path: "f")
                for (key, entry) in file.entries {
                    guard let kind = ServerConfigFile.schema[key], kind.accepts(entry.text) else {
                        Issue.record("seed \(seed) iteration \(iteration): accepted \(key)=\(entry.text)")
                        return
                    }
                }
                accepted += 1
            } catch {
                guard (0...lineCount).contains(error.line), !error.description.contains("\n") else {
                    Issue.record("seed \(seed) iteration \(iteration): \(error)")
                    return
                }
                rejected += 1
            }
        }
        #expect(accepted > 100 && rejected > 100, "accepted \(accepted) rejected \(rejected)")
    }
}

/// `--bind`: a comma-separated list of IP addresses, one socket each.
@Suite struct BindHostsTests {
    @Test func bindListsParseAndBadOnesSayWhatIsWrong() throws {
        #expect(try ServerListeners.hosts("0.0.0.0,::") == ["0.0.0.0", "::"])
        #expect(try ServerListeners.hosts(" 192.0.2.1 , [2001:db8::1], 192.0.2.1") == ["192.0.2.1", "2001:db8::1"])
        #expect(throws: ServerRunnerError.self) { try ServerListeners.hosts("example.com") }
        #expect(throws: ServerRunnerError.self) { try ServerListeners.hosts(" , ") }
        do {
            _ = try ServerListeners.hosts("0.0.0.0,localhost")
            Issue.record("a host name must be refused")
        } catch {
            #expect(
                "\(error)"
                    == "--bind '0.0.0.0,localhost': 'localhost' is not an IP address; give addresses separated by commas (0.0.0.0,::)"
            )
        }
    }
}
