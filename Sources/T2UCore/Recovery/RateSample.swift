/// What one ACK tells the congestion controller: bytes acknowledged plus a delivery-rate sample
/// (draft-cheng-iccrg-delivery-rate-estimation) and the delivery round it belongs to.
public struct RateSample: Sendable {
    public var now: Instant
    /// Bytes of in-flight packets newly acknowledged by this ACK.
    public var ackedBytes: Int = 0
    /// Delivered bytes over `interval` / `interval`, in bytes per second; 0 when no valid sample.
    public var deliveryRate: Double = 0
    /// The sample was taken while the sender was application-limited: it may understate the path.
    public var isAppLimited: Bool = false
    public var interval: Nanos = .zero
    /// Bytes delivered during `interval`.
    public var delivered: Int = 0
    /// Bytes in flight before this ACK was processed, and after (acked and lost removed).
    public var priorInFlight: Int = 0
    public var bytesInFlight: Int = 0
    /// RTT sample from this ACK, if it produced one.
    public var rtt: Nanos?
    /// Send time of the most recently sent packet this ACK acknowledged.
    public var newestAckedSentTime: Instant = .zero
    /// This ACK began a new delivery round (one round trip of data).
    public var roundStart: Bool = false
    /// Delivery rounds elapsed since the connection started.
    public var roundCount: UInt64 = 0
    /// Total bytes delivered on the connection.
    public var totalDelivered: Int = 0

    public init(now: Instant) { self.now = now }
}

/// Windowed maximum over a sliding window of "time" units (rounds), tracking the best, second
/// and third best samples (Kathleen Nichols' algorithm, as in BBR). O(1) memory and update, and
/// no heap storage (it lives inside value-type controllers copied on every ACK).
struct WindowedMaxFilter: Sendable {
    private struct Entry: Sendable {
        var value: Double
        var time: UInt64
    }
    private var s0 = Entry(value: 0, time: 0)
    private var s1 = Entry(value: 0, time: 0)
    private var s2 = Entry(value: 0, time: 0)
    let window: UInt64

    init(window: UInt64) { self.window = window }

    var best: Double { s0.value }

    mutating func reset(_ value: Double, time: UInt64) {
        s0 = Entry(value: value, time: time)
        s1 = s0
        s2 = s0
    }

    mutating func update(_ value: Double, time: UInt64) {
        let new = Entry(value: value, time: time)
        if value >= s0.value || time &- s2.time > window {
            reset(value, time: time)
            return
        }
        if value >= s1.value {
            s1 = new
            s2 = new
        } else if value >= s2.value {
            s2 = new
        }
        // Expire the best if it fell out of the window; promote the runners-up.
        if time &- s0.time > window {
            s0 = s1
            s1 = s2
            s2 = new
            if time &- s0.time > window {
                s0 = s1
                s1 = s2
            }
        } else if s1.time == s0.time, time &- s1.time > window / 4 {
            s1 = new
            s2 = new
        } else if s2.time == s1.time, time &- s2.time > window / 2 {
            s2 = new
        }
    }
}
