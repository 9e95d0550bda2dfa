// swift-tools-version:6.1
// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import PackageDescription

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let nioConcurrency = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")
let configuration = Target.Dependency.product(name: "Configuration", package: "swift-configuration")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")

let package = Package(
    name: "t2u",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "T2UCore", targets: ["T2UCore"]),
        .library(name: "T2UNIO", targets: ["T2UNIO"]),
        .library(name: "T2UServer", targets: ["T2UServer"]),
        .library(name: "T2UDevice", targets: ["T2UDevice"]),
        .library(name: "T2UClient", targets: ["T2UClient"]),
        // The C ABI of the Libt2u manual (header in Sources/CT2U/include/t2u.h). Built as
        // libT2U.so with the soname libt2u.so; scripts/build-libt2u.sh installs it as libt2u.so
        // (a product named "t2u" would clash with the `t2u` command).
        .library(name: "T2U", type: .dynamic, targets: ["T2U"]),
        .executable(name: "t2u-server", targets: ["t2u-server"]),
        .executable(name: "t2usvr", targets: ["t2usvr"]),
        .executable(name: "t2u", targets: ["t2u"]),
        .executable(name: "t2u-bench", targets: ["t2u-bench"]),
        .executable(name: "t2u-impair", targets: ["t2u-impair"]),
        .executable(name: "t2u-delayline", targets: ["t2u-delayline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // No traits: the server reads its own key = value format through a custom provider.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // TLS only as camouflage for the TCP fallback (the t2u handshake authenticates the server).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // The build's version from git (scripts/version.sh through the VersionPlugin prebuild command).
        .target(name: "T2UVersion", plugins: ["VersionPlugin"]),
        .plugin(name: "VersionPlugin", capability: .buildTool()),
        // What the executables share on the command line (`--log-format`, LogFormatOption).
        .target(name: "T2UCommandLine", dependencies: ["T2UNIO", argumentParser, logging]),
        // Verified traffic through a mapped port: `t2u check`'s echo transfer and what the check
        // saw, `t2u demo`'s hashed send and sink, t2u-bench's TCP source, sink and ping-pong.
        .target(name: "T2UCheck", dependencies: ["T2UClient", nioCore, nioPosix, crypto]),
        // `t2u demo`'s run: an embedded server, a device agent and clients on loopback, transfers
        // verified at both ends.
        .target(
            name: "T2UDemo",
            dependencies: [
                "T2UCheck", "T2UClient", "T2UDevice", "T2UServer", "T2UCore", "T2UNIO", nioCore, nioPosix, logging,
            ]),
        // Sans-IO protocol core: bytes and time in, bytes, events and deadlines out.
        .target(name: "T2UCore", dependencies: ["CT2UAEAD", nioCore, crypto]),
        // Packet protection through the BoringSSL that swift-crypto links (see packet_aead.h).
        .target(name: "CT2UAEAD"),
        // Deterministic network simulator (virtual clock, seeded link models) for tests and benchmarks;
        // never linked into libt2u or the agents.
        .target(name: "T2USim", dependencies: ["T2UCore", nioCore]),
        // SwiftNIO shell: UDP endpoint, timers, TCP <-> stream bridge.
        .target(
            name: "T2UNIO",
            dependencies: ["T2UCore", nioCore, nioPosix, nioSSL, logging, serviceLifecycle, unixSignals]),
        // Server cloud: sans-IO registry/introductions/relay (ServerCore) and its NIO runner.
        .target(
            name: "T2UServer",
            dependencies: [
                "T2UCore", "T2UVersion", "T2UNIO", nioCore, nioPosix, nioConcurrency, nioHTTP1, nioSSL, x509, crypto,
                logging, postgres, prometheus, configuration, serviceLifecycle,
            ]),
        // Device agent logic (what t2usvr runs): registration, sessions, forwarding policy, LAN discovery.
        .target(name: "T2UDevice", dependencies: ["T2UCore", "T2UNIO", nioCore, nioPosix, logging, serviceLifecycle]),
        // Client SDK: the Swift async API behind libt2u and the t2u command.
        .target(name: "T2UClient", dependencies: ["T2UCore", "T2UNIO", nioCore, nioPosix, logging]),
        // The C header of the ABI.
        .target(name: "CT2U"),
        // @_cdecl exports of t2u_* over T2UClient.
        .target(
            name: "T2U", dependencies: ["CT2U", "T2UClient", "T2UCore", "T2UNIO", "T2UVersion", logging],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-soname=libt2u.so"], .when(platforms: [.linux]))]),
        .executableTarget(
            name: "t2usvr",
            dependencies: [
                "T2UVersion", "T2UCommandLine", "T2UDevice", "T2UCore", "T2UNIO", argumentParser, logging,
                serviceLifecycle,
            ]),
        .executableTarget(
            name: "t2u",
            dependencies: [
                "T2UVersion", "T2UCommandLine", "T2UCheck", "T2UDemo", "T2UClient", "T2UServer", "T2UCore", "T2UNIO",
                nioCore, nioPosix, argumentParser, logging,
            ]),
        .executableTarget(
            name: "t2u-server",
            dependencies: [
                "T2UVersion", "T2UCommandLine", "T2UServer", "T2UCore", "T2UNIO", argumentParser, logging, metrics,
                prometheus, serviceLifecycle,
            ]),
        .executableTarget(
            name: "t2u-bench",
            dependencies: [
                "T2UVersion", "T2UCommandLine", "T2UCheck", "T2UCore", "T2UNIO", "T2UClient", nioCore, nioConcurrency,
                nioPosix,
                argumentParser, logging,
            ]),
        // A UDP proxy that applies the simulator's link model to real traffic (lab and benchmarks only).
        .target(name: "T2UImpair", dependencies: ["T2UCore", "T2UNIO", "T2USim", nioCore, nioPosix, logging]),
        .executableTarget(
            name: "t2u-impair",
            dependencies: [
                "T2UVersion", "T2UCommandLine", "T2UImpair", "T2USim", "T2UCore", "T2UNIO", nioCore, nioPosix,
                argumentParser, logging,
            ]),
        // Delay/loss/rate line of the network lab: sans-IO queue (T2UDelayLine), TAP forwarder.
        .target(name: "T2UDelayLine", dependencies: ["T2UCore"]),
        .executableTarget(
            name: "t2u-delayline",
            dependencies: ["T2UVersion", "T2UCommandLine", "T2UDelayLine", argumentParser, logging]),
        // Waits for tests (Watched values, bounded polling); never in a product.
        .target(name: "T2UTestSupport"),
        .testTarget(name: "T2UTestSupportTests", dependencies: ["T2UTestSupport"]),
        .testTarget(
            name: "T2UCheckTests",
            dependencies: ["T2UCheck", "T2UClient", "T2UTestSupport", nioCore, nioEmbedded, crypto]),
        .testTarget(name: "T2UDelayLineTests", dependencies: ["T2UDelayLine"]),
        .testTarget(name: "T2UCoreTests", dependencies: ["T2UCore", nioCore, crypto]),
        .testTarget(name: "T2USimTests", dependencies: ["T2UCore", "T2USim", nioCore, crypto]),
        .testTarget(
            name: "T2UServerTests",
            dependencies: [
                "T2UServer", "T2UCore", "T2USim", "T2UNIO", "T2UTestSupport", nioCore, nioPosix, nioEmbedded, nioSSL,
                crypto, logging,
            ]),
        .testTarget(
            name: "T2UDeviceTests",
            dependencies: [
                "T2UDevice", "T2UServer", "T2UCore", "T2UNIO", "T2UTestSupport", nioCore, nioPosix, nioEmbedded,
                crypto, logging,
            ]),
        .testTarget(
            name: "T2UClientTests",
            dependencies: [
                "T2UClient", "T2UDevice", "T2UServer", "T2UCore", "T2UNIO", "T2UTestSupport", nioCore, nioPosix,
                nioEmbedded, nioSSL, logging, postgres,
            ]),
        .testTarget(
            name: "T2UImpairTests",
            dependencies: [
                "T2UImpair", "T2USim", "T2UCore", "T2UTestSupport", nioCore, nioPosix, nioEmbedded, logging,
            ]),
        .testTarget(
            name: "T2UNIOTests",
            dependencies: [
                "T2UCore", "T2UNIO", "T2UTestSupport", nioCore, nioPosix, nioEmbedded, logging, serviceLifecycle,
            ]),
    ]
)

// scripts/test.sh sets T2U_WARNINGS_AS_ERRORS=1: there a warning in our own targets fails the
// build. Not by default, so a newer compiler's new warning cannot break a user's build; not for
// dependencies (-Xswiftc -warnings-as-errors would reach them too, and swiftc refuses it next to
// the -suppress-warnings SwiftPM gives them).
if Context.environment["T2U_WARNINGS_AS_ERRORS"] == "1" {
    for target in package.targets where target.type != .plugin {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-warnings-as-errors"])]
    }
    // Our C targets. Not as cSettings on all: swiftc hands those to its Clang importer (-Xcc),
    // and the dependencies' C headers would be built with -Werror too.
    for target in package.targets where target.name == "CT2U" || target.name == "CT2UAEAD" {
        target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(["-Werror"])]
    }
}
