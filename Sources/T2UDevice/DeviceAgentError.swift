/// Why a device agent cannot start. Descriptions say what is wrong and what to do.
public enum DeviceAgentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An `--allow` entry does not parse.
    case invalidAllowEntry(String, reason: String)
    /// The state file exists but does not hold a key.
    case corruptStateFile(path: String, problem: String)
    /// The state file cannot be read or created.
    case stateFileIO(path: String, operation: String, errno: Int32)
    case invalidOptions(String)
    case serverUnresolvable(String)
    case alreadyStarted
    case shutDown

    public var description: String {
        switch self {
        case .invalidAllowEntry(let entry, let reason):
            return "invalid --allow entry '\(entry)': \(reason)"
        case .corruptStateFile(let path, let problem):
            return "state file \(path) is corrupt (\(problem)); delete it to generate a new device key "
                + "(clients that pinned the old key must then be re-paired), or restore it from a backup"
        case .stateFileIO(let path, let operation, let code):
            return "cannot \(operation) state file \(path) (errno \(code))"
        case .invalidOptions(let text):
            return "invalid options: \(text)"
        case .serverUnresolvable(let host):
            return "cannot resolve server address '\(host)'"
        case .alreadyStarted:
            return "the device agent was already started"
        case .shutDown:
            return "the device agent was shut down"
        }
    }
}
