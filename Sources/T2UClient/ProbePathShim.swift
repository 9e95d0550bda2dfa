import T2UCore

// TEMPORARY: stands in for `Connection.probePath(to:attempts:now:)` from the `paths` branch
// (authenticated PATH_CHALLENGE; results as `.pathValidated` / `.pathProbeFailed` events).
// Delete this file after `git merge main` brings the real one.
extension Connection {
    func probePath(to address: NetAddress, attempts: Int, now: Instant) {}
}
