// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import Glibc
import Logging
import T2UCommandLine
import T2UDelayLine
import T2UVersion

@main
struct DelayLineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2u-delayline",
        abstract: "A transparent delay/loss/rate line between two TAP devices (for the network lab).",
        discussion: """
            Creates the taps --tap-a and --tap-b in the current network namespace and forwards Ethernet \
            frames between them, each direction through its own line: loss (seeded), a token bucket \
            with a queue limit, then delay plus jitter (never reordering). Move the taps where they \
            belong (ip link set NAME netns NS) after "ready" is printed; the process keeps them. \
            Each value is one figure for both directions, or a->b/b->a (e.g. --delay 20ms/5ms). \
            On SIGTERM or SIGINT prints its counters per direction and exits. "ready" and the \
            counters go to standard output; log lines (start, a tap that cannot be created) to \
            standard error in the --log-format.
            """,
        version: T2UVersion.string)

    @Option(help: "Name of tap A.") var tapA: String
    @Option(help: "Name of tap B.") var tapB: String
    @Option(help: "One-way delay (e.g. 20ms).") var delay = "0"
    @Option(help: "Uniform jitter around the delay (e.g. 2ms); order is kept.") var jitter = "0"
    @Option(help: "Random loss (e.g. 1%).") var loss = "0"
    @Option(help: "Rate limit (e.g. 50mbit); 0 = none.") var rate = "0"
    @Option(help: "Token bucket depth in bytes (k = 1024).") var burst = "16k"
    @Option(help: "Frames that may wait for the rate limit before tail drop.") var limit = "1000"
    @Option(help: "Loss/jitter seed (b->a uses seed + 1).") var seed: UInt64 = 1
    @Option(help: "Frames in flight per direction (ring slots of 2 KiB).") var capacity = 16384
    @Flag(help: "Only validate the options, then exit.") var check = false
    @OptionGroup var logging: LogFormatOption

    func configs() throws -> (DelayLine.Config, DelayLine.Config) {
        do {
            let d = try LineUnits.pair(delay, LineUnits.duration)
            let j = try LineUnits.pair(jitter, LineUnits.duration)
            let l = try LineUnits.pair(loss, LineUnits.lossPPM)
            let r = try LineUnits.pair(rate, LineUnits.rate)
            let b = try LineUnits.pair(burst, LineUnits.count)
            let q = try LineUnits.pair(limit, LineUnits.count)
            guard b.0 >= Forwarder.slotSize, b.1 >= Forwarder.slotSize else {
                throw ValidationError("--burst must hold a frame: at least \(Forwarder.slotSize) bytes")
            }
            return (
                DelayLine.Config(
                    delayNanos: d.0, jitterNanos: j.0, lossPPM: l.0, rateBitsPerSecond: r.0,
                    burstBytes: b.0, queueLimit: q.0, seed: seed),
                DelayLine.Config(
                    delayNanos: d.1, jitterNanos: j.1, lossPPM: l.1, rateBitsPerSecond: r.1,
                    burstBytes: b.1, queueLimit: q.1, seed: seed &+ 1)
            )
        } catch let error as LineUnits.Invalid {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        _ = try configs()
        guard (16...1 << 20).contains(capacity) else { throw ValidationError("--capacity must be 16...1048576") }
        guard tapA != tapB else { throw ValidationError("--tap-a and --tap-b must differ") }
    }

    func run() throws {
        let (aToB, bToA) = try configs()
        if check { return }
        logging.bootstrap(level: .info)
        let logger = Logger(label: "t2u.delayline")
        let a: TapDevice
        let b: TapDevice
        do {
            a = try TapDevice(name: tapA)
            b = try TapDevice(name: tapB)
        } catch let error as TapDevice.Failure {
            logger.error("\(error.description)")
            throw ExitCode.failure
        }
        var forwarder = Forwarder(a: a, b: b, aToB: aToB, bToA: bToA, capacity: capacity)
        logger.info(
            "forwarding between \(a.name) and \(b.name)",
            metadata: [
                "delay": "\(delay)", "jitter": "\(jitter)", "loss": "\(loss)", "rate": "\(rate)",
                "burst": "\(burst)", "limit": "\(limit)", "seed": "\(seed)",
            ])
        emit("ready \(a.name) \(b.name)\n")
        forwarder.run()
        emit(forwarder.report() + "\n")
    }
}

/// Straight to fd 1, unbuffered: the lab waits for "ready" on a pipe or file.
func emit(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
