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

/// Suspends until SIGINT or SIGTERM arrives; returns its number.
func waitForTerminationSignal() async -> Int32 {
    let (stream, continuation) = AsyncStream<Int32>.makeStream()
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield(sig) }
        source.resume()
        sources.append(source)
    }
    var received: Int32 = SIGTERM
    for await sig in stream {
        received = sig
        break
    }
    for source in sources { source.cancel() }
    return received
}

func printError(_ message: String) {
    fflush(nil)
    FileHandle.standardError.write(Data("t2u: \(message)\n".utf8))
}
