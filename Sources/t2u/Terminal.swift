import Dispatch
import Foundation

/// One status line that rewrites itself on a terminal and prints plain lines otherwise (logs, pipes).
struct StatusLine {
    let isTerminal = isatty(STDOUT_FILENO) == 1
    private var shown = false

    mutating func update(_ line: String) {
        if isTerminal {
            write("\r\u{1B}[K" + line)
            shown = true
        } else {
            write(line + "\n")
        }
    }

    /// A message on its own line, above the status line.
    mutating func note(_ message: String) {
        if isTerminal && shown {
            write("\r\u{1B}[K" + message + "\n")
            shown = false
        } else {
            write(message + "\n")
        }
    }

    /// Leaves the status line in place and moves to a fresh line.
    mutating func finish() {
        if isTerminal && shown { write("\n") }
        shown = false
    }

    private func write(_ text: String) {
        print(text, terminator: "")
        fflush(nil)
    }
}

nonisolated(unsafe) private var signalSources: [DispatchSourceSignal] = []

/// SIGINT and SIGTERM as a stream, caught from the moment this is called (install it first, so
/// an early Ctrl-C is not lost).
func terminationSignals() -> AsyncStream<Int32> {
    let (stream, continuation) = AsyncStream<Int32>.makeStream()
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield(sig) }
        source.resume()
        sources.append(source)
    }
    signalSources = sources  // installed once per process, for its lifetime
    return stream
}

/// Suspends until the first signal of `signals`; returns its number (SIGTERM if cancelled).
func firstSignal(_ signals: AsyncStream<Int32>) async -> Int32 {
    for await sig in signals { return sig }
    return SIGTERM
}

func printError(_ message: String) {
    fflush(nil)
    FileHandle.standardError.write(Data("t2u: \(message)\n".utf8))
}
