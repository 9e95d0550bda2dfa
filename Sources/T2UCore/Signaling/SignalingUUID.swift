/// The one rule for device UUIDs (docs/SECURITY.md §4): printable ASCII without spaces
/// (0x21-0x7E), 1-64 bytes. Nothing else is printed, stored or compared as a UUID.
public enum SignalingUUID {
    public static func isValid(_ uuid: String) -> Bool {
        let bytes = uuid.utf8
        return (1...SignalingLimits.maxUUIDLength).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
